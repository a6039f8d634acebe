/*
 * reply.c - the SMTP reply reader (RFC 5321 section 4.2).
 *
 * Pure and bounded: looks at (buf, len), never past buf + len and never more
 * than REPLY_LINE_HARD_MAX bytes for one line, allocates nothing. Records every
 * syntax violation as a flag and never fails on one; only a line without LF
 * past the hard cap, or a reply with too many lines, is abandoned.
 * Does not know commands, the matrix or sockets.
 *
 * How a line is cut up (decided once, here):
 *   - the line ends at the first LF; "CRLF" is right, a bare LF is flagged;
 *     every CR before that final CRLF is a bare CR;
 *   - the code is the run of digits that starts the line. Exactly 3 digits
 *     give the code (flagged when the 1st is not 2-5 or the 2nd not 0-5, the
 *     value is kept: "199" is code 199). A run of 1-2 or 4+ digits ("25 ok",
 *     "2500 ok") is a code of the wrong length: code -1, flagged syntax.code,
 *     and the byte after the run is still read as the separator when it is
 *     SP, '-' or the line end. A line that does not start that way has no
 *     readable code: code -1, syntax.code, and the whole line is its text;
 *   - after a 3-digit code, SP, '-' or the line end are separators; any other
 *     byte is kept as the separator and flagged syntax.separator;
 *   - every byte of the line but its final CRLF is checked: CR (bare CR),
 *     other controls but TAB (control-char), octets >= 0x80 (8bit-text).
 * The text kept of a long line is cut where no registered secret is split
 * (util.c's redact_cut), so a record holds a secret whole or not at all.
 */
#include "reply.h"

#include <string.h>

#include "util.h"

static int is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

/* Flags for bytes that textstring (HT / %d32-126) does not allow. */
static unsigned text_byte_flags(const uint8_t *p, size_t n)
{
	unsigned flags = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] >= 0x80)
			flags |= REPLY_F_8BIT;
		else if (p[i] == '\r')
			flags |= REPLY_F_BARE_CR;
		else if ((p[i] < 0x20 && p[i] != '\t') || p[i] == 0x7f)
			flags |= REPLY_F_CONTROL;
	}
	return flags;
}

/* Fills code, separator and text from the line's content (no line end). */
static void parse_content(const uint8_t *p, size_t n, struct reply_line *line)
{
	size_t digits = 0, sep_at;

	while (digits < n && is_digit(p[digits]))
		digits++;

	line->code = -1;
	line->separator = 0;
	line->text = p;
	line->text_len = n;

	if (digits == 3) {
		line->code = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
		if (p[0] < '2' || p[0] > '5' || p[1] > '5')
			line->flags |= REPLY_F_CODE;
		if (n > 3 && p[3] != ' ' && p[3] != '-')
			line->flags |= REPLY_F_SEPARATOR;
		sep_at = 3;
	} else {
		line->flags |= REPLY_F_CODE;
		if (digits == 0 || (digits < n && p[digits] != ' ' && p[digits] != '-'))
			return; /* no readable code: the whole line is text */
		sep_at = digits;
	}
	if (sep_at < n) {
		line->separator = (char)p[sep_at];
		line->text = p + sep_at + 1;
		line->text_len = n - sep_at - 1;
	} else {
		line->text = p + n;
		line->text_len = 0;
	}
}

enum reply_parse_result reply_parse_line(const uint8_t *buf, size_t len,
                                         struct reply_line *line_out)
{
	size_t scan = len < REPLY_LINE_HARD_MAX ? len : REPLY_LINE_HARD_MAX;
	const uint8_t *lf = scan ? memchr(buf, '\n', scan) : NULL;
	size_t content;

	memset(line_out, 0, sizeof *line_out);
	if (lf == NULL) {
		if (len < REPLY_LINE_HARD_MAX)
			return REPLY_PARSE_INCOMPLETE;
		/*
		 * Beyond the header's promise, *line_out describes the first
		 * REPLY_LINE_HARD_MAX bytes, so a report can show them. A CR as
		 * the last of them may yet be followed by LF: it is not judged.
		 */
		line_out->consumed = REPLY_LINE_HARD_MAX;
		line_out->flags = REPLY_F_LINE_TOO_LONG;
		line_out->flags |= text_byte_flags(buf, REPLY_LINE_HARD_MAX - 1);
		line_out->flags |= text_byte_flags(buf + REPLY_LINE_HARD_MAX - 1, 1) &
		                   ~(unsigned)REPLY_F_BARE_CR;
		parse_content(buf, REPLY_LINE_HARD_MAX, line_out);
		return REPLY_PARSE_OVERLONG;
	}
	line_out->consumed = (size_t)(lf - buf) + 1;
	content = line_out->consumed - 1;
	if (content > 0 && buf[content - 1] == '\r')
		content--;
	else
		line_out->flags |= REPLY_F_BARE_LF;
	if (line_out->consumed > REPLY_LINE_MAX)
		line_out->flags |= REPLY_F_LINE_TOO_LONG;
	line_out->flags |= text_byte_flags(buf, content);
	parse_content(buf, content, line_out);
	return REPLY_PARSE_LINE;
}

void reply_init(struct reply *r)
{
	memset(r, 0, sizeof *r);
	r->code = -1;
}

/* Adds one parsed line to the reply. */
static void reply_add_line(struct reply *r, const struct reply_line *line)
{
	struct reply_kept_line *kept;
	size_t keep;

	if (r->nlines == 0)
		r->code = line->code;
	else if (line->code != r->code)
		r->flags |= REPLY_F_MULTILINE_CODE;
	r->flags |= line->flags;
	r->nlines++;
	if (r->nkept >= REPLY_LINES_KEEP)
		return;
	kept = &r->kept[r->nkept++];
	keep = redact_cut(line->text, line->text_len, REPLY_TEXT_KEEP);
	kept->code = line->code;
	kept->separator = line->separator;
	kept->text_len = (uint16_t)keep;
	memcpy(kept->text, line->text, keep);
}

long reply_feed(struct reply *r, const uint8_t *buf, size_t len)
{
	struct reply_line line;
	enum reply_parse_result res;
	size_t used = 0;

	if (r->flags & REPLY_F_TOO_MANY_LINES)
		return -1;
	if (len == 0)
		return 0; /* buf may be NULL: no pointer arithmetic on it */
	while (!r->complete) {
		res = reply_parse_line(buf + used, len - used, &line);
		if (res == REPLY_PARSE_INCOMPLETE)
			break;
		reply_add_line(r, &line);
		if (res == REPLY_PARSE_OVERLONG)
			return -1;
		used += line.consumed;
		if (line.separator != '-') {
			r->complete = 1;
		} else if (r->nlines >= REPLY_LINES_MAX) {
			/* Line REPLY_LINES_MAX promises one more: abandon now. */
			r->flags |= REPLY_F_TOO_MANY_LINES;
			return -1;
		}
	}
	return (long)used;
}

/* The rule each flag breaks, in bit order. */
static const struct {
	unsigned flag;
	enum rule_id rule;
} flag_info[REPLY_FLAG_COUNT] = {
	{ REPLY_F_CODE, RULE_SYNTAX_CODE },
	{ REPLY_F_SEPARATOR, RULE_SYNTAX_SEPARATOR },
	{ REPLY_F_MULTILINE_CODE, RULE_SYNTAX_MULTILINE_CODE },
	{ REPLY_F_BARE_LF, RULE_SYNTAX_BARE_LF },
	{ REPLY_F_BARE_CR, RULE_SYNTAX_BARE_CR },
	{ REPLY_F_LINE_TOO_LONG, RULE_SYNTAX_LINE_TOO_LONG },
	{ REPLY_F_CONTROL, RULE_SYNTAX_CONTROL_CHAR },
	{ REPLY_F_8BIT, RULE_SYNTAX_8BIT_TEXT },
	{ REPLY_F_TOO_MANY_LINES, RULE_SYNTAX_TOO_MANY_LINES },
};

enum rule_id reply_flag_rule(unsigned flag)
{
	int i;

	for (i = 0; i < REPLY_FLAG_COUNT; i++)
		if (flag_info[i].flag == flag)
			return flag_info[i].rule;
	return RULE_NONE;
}
