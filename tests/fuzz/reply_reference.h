/*
 * reply_reference.h - the reply reader's line flags, octet by octet: the
 * plain reading of RFC 5321 4.2 and 2.3.8 that harness/reply.c's
 * word-at-a-time classifier must agree with. Used by the reply fuzzer and
 * tests/unit/test_reply.c; not by the harness. Does not judge the code or
 * the separator (REPLY_F_CODE, REPLY_F_SEPARATOR): mask those off.
 *
 * The line ends at the first LF within REPLY_LINE_HARD_MAX octets; the CR
 * just before it belongs to the line end, every other CR is bare (but for
 * the last octet under the cap of an overlong line: LF may follow it); HT is
 * text, other controls and DEL are control-char, 0x80 and up 8bit-text.
 */
#ifndef SMTPCONFORM_REPLY_REFERENCE_H
#define SMTPCONFORM_REPLY_REFERENCE_H

#include <stdint.h>
#include <string.h>

#include "reply.h"
#include "smtp_limits.h"

static inline unsigned reply_reference_octets(const uint8_t *p, size_t n)
{
	unsigned flags = 0;

	for (size_t i = 0; i < n; i++) {
		if (p[i] >= 0x80)
			flags |= REPLY_F_8BIT;
		else if (p[i] == '\r')
			flags |= REPLY_F_BARE_CR;
		else if ((p[i] < 0x20 && p[i] != '\t') || p[i] == 0x7f)
			flags |= REPLY_F_CONTROL;
	}
	return flags;
}

/* What reply_parse_line() returns for buf[0..len), with the bytes consumed
 * and the flags but code and separator. */
static inline enum reply_parse_result
reply_reference_line(const uint8_t *buf, size_t len, size_t *consumed_out, unsigned *flags_out)
{
	size_t scan = len < REPLY_LINE_HARD_MAX ? len : REPLY_LINE_HARD_MAX;
	const uint8_t *lf = scan ? memchr(buf, '\n', scan) : NULL;
	size_t content;
	unsigned flags = 0;

	if (lf == NULL) {
		if (len < REPLY_LINE_HARD_MAX)
			return REPLY_PARSE_INCOMPLETE;
		*consumed_out = REPLY_LINE_HARD_MAX;
		*flags_out = REPLY_F_LINE_TOO_LONG |
		             reply_reference_octets(buf, REPLY_LINE_HARD_MAX - 1) |
		             (reply_reference_octets(buf + REPLY_LINE_HARD_MAX - 1, 1) &
		              ~(unsigned)REPLY_F_BARE_CR);
		return REPLY_PARSE_OVERLONG;
	}
	content = (size_t)(lf - buf);
	*consumed_out = content + 1;
	if (content > 0 && buf[content - 1] == '\r')
		content--;
	else
		flags |= REPLY_F_BARE_LF;
	if (*consumed_out > REPLY_LINE_MAX)
		flags |= REPLY_F_LINE_TOO_LONG;
	*flags_out = flags | reply_reference_octets(buf, content);
	return REPLY_PARSE_LINE;
}

#endif
