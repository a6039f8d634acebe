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
 *
 * Speed (make bench, issue 15: at least 1 GB/s on EHLO replies): a line is
 * looked at 8 octets at a time (word_needs_attention), octet by octet only
 * where a word holds a CR, LF, control or 8-bit octet; reply_init() does not
 * clear the kept lines. tests/fuzz/reply_reference.h is the same reading
 * octet by octet; the unit tests and the fuzzer hold the two together.
 */
#include "reply.h"

#include <string.h>

#include "util.h"

static int is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

/*
 * What each octet means to textstring (RFC 5321 4.2: HT / %d32-126): the flag
 * it raises, 0 when it is plain text, BYTE_LF for the line end. CR is listed
 * as a bare CR; scan_line() drops it when LF follows.
 */
#define BYTE_LF (1u << 15) /* not a reply flag: the line ends here */
#define B_C REPLY_F_CONTROL
#define B_H REPLY_F_8BIT
#define ROW_TEXT 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
#define ROW_CTL B_C, B_C, B_C, B_C, B_C, B_C, B_C, B_C, B_C, B_C, B_C, B_C, B_C, B_C, B_C, B_C
#define ROW_8BIT B_H, B_H, B_H, B_H, B_H, B_H, B_H, B_H, B_H, B_H, B_H, B_H, B_H, B_H, B_H, B_H
static const uint16_t byte_class[256] = {
	/* 0x00 */ B_C,
	B_C,
	B_C,
	B_C,
	B_C,
	B_C,
	B_C,
	B_C,
	B_C,
	0 /* HT */,
	BYTE_LF,
	B_C,
	B_C,
	REPLY_F_BARE_CR,
	B_C,
	B_C,
	/* 0x10 */ ROW_CTL,
	/* 0x20 */ ROW_TEXT,
	ROW_TEXT,
	ROW_TEXT,
	ROW_TEXT,
	ROW_TEXT,
	/* 0x70 */ 0,
	0,
	0,
	0,
	0,
	0,
	0,
	0,
	0,
	0,
	0,
	0,
	0,
	0,
	0,
	B_C /* DEL */,
	/* 0x80 */ ROW_8BIT,
	ROW_8BIT,
	ROW_8BIT,
	ROW_8BIT,
	ROW_8BIT,
	ROW_8BIT,
	ROW_8BIT,
	ROW_8BIT,
};
#undef B_C
#undef B_H
#undef ROW_TEXT
#undef ROW_CTL
#undef ROW_8BIT

/* A word of 8 octets with each octet set to b. */
#define WORD_OF(b) (UINT64_C(0x0101010101010101) * (b))

/*
 * Nonzero when one of the 8 octets in w may need attention: below 0x20 (LF,
 * CR, HT and the controls), 0x7f, or 0x80 and above. It may say so of a word
 * that holds only text (a borrow can carry into the next octet), never the
 * other way round; such a word is then looked at octet by octet.
 */
static uint64_t word_needs_attention(uint64_t w)
{
	uint64_t del = w ^ WORD_OF(0x7f); /* 0 where the octet is DEL */

	return ((w - WORD_OF(0x20)) | (del - WORD_OF(0x01)) | w) & WORD_OF(0x80);
}

/* Offset of the first octet flagged in a word_needs_attention() mask: its
 * lowest flag is exact (a borrow only runs upwards, from an octet that needs
 * attention itself). Elsewhere than little-endian, 0: the octets are then
 * looked at one by one, which is slower and as right. */
static size_t first_flagged_octet(uint64_t mask)
{
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return (size_t)__builtin_ctzll(mask) / 8;
#else
	(void)mask;
	return 0;
#endif
}

/*
 * Finds the first LF in buf[0..scan) and the flags of the octets before it:
 * 8 octets at a time while they are plain text, the class table for the
 * others. A CR is a bare CR when an octet other than LF follows it within
 * scan; the last octet of scan is not judged as one (LF may follow beyond).
 * Returns the offset of the LF, or scan when there is none.
 */
static size_t scan_line(const uint8_t *buf, size_t scan, unsigned *flags_out)
{
	unsigned flags = 0, cls;
	size_t i = 0;
	uint64_t w, mask;

	while (i < scan) {
		if (scan - i >= sizeof w) {
			memcpy(&w, buf + i, sizeof w);
			mask = word_needs_attention(w);
			if (mask == 0) {
				i += sizeof w;
				continue;
			}
			i += first_flagged_octet(mask);
		}
		cls = byte_class[buf[i]];
		if (cls == BYTE_LF)
			break;
		if (cls == REPLY_F_BARE_CR && i + 1 < scan && buf[i + 1] == '\n') {
			i++; /* CRLF, the usual line end */
			break;
		}
		if (cls != REPLY_F_BARE_CR || i + 1 < scan)
			flags |= cls;
		i++;
	}
	*flags_out = flags;
	return i;
}

/* The value of the 3 digits at p; a first digit outside 2-5 or a second
 * above 5 is flagged in *flags (the value is kept: "199" is 199). */
static int three_digit_code(const uint8_t *p, unsigned *flags)
{
	if (p[0] < '2' || p[0] > '5' || p[1] > '5')
		*flags |= REPLY_F_CODE;
	return (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
}

/*
 * Fills code, separator and text from the line's content (no line end), and
 * ORs the code and separator findings into line->flags.
 */
static void parse_content(const uint8_t *p, size_t n, struct reply_line *line)
{
	size_t digits = 0, sep_at;

	if (n >= 4 && is_digit(p[0]) && is_digit(p[1]) && is_digit(p[2]) &&
	    (p[3] == ' ' || p[3] == '-')) {
		/* The usual line, "250-..." or "250 ...": as below, sooner. */
		line->code = three_digit_code(p, &line->flags);
		line->separator = (char)p[3];
		line->text = p + 4;
		line->text_len = n - 4;
		return;
	}
	while (digits < n && is_digit(p[digits]))
		digits++;

	line->code = -1;
	line->separator = 0;
	line->text = p;
	line->text_len = n;

	if (digits == 3) {
		line->code = three_digit_code(p, &line->flags);
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

static inline enum reply_parse_result parse_line(const uint8_t *buf, size_t len,
                                                 struct reply_line *line_out)
{
	size_t scan = len < REPLY_LINE_HARD_MAX ? len : REPLY_LINE_HARD_MAX;
	unsigned flags;
	size_t lf = scan_line(buf, scan, &flags);
	size_t content = lf;
	enum reply_parse_result res = REPLY_PARSE_LINE;

	if (lf < scan) {
		line_out->consumed = lf + 1;
		if (content > 0 && buf[content - 1] == '\r')
			content--;
		else
			flags |= REPLY_F_BARE_LF;
		if (line_out->consumed > REPLY_LINE_MAX)
			flags |= REPLY_F_LINE_TOO_LONG;
	} else if (len < REPLY_LINE_HARD_MAX) {
		memset(line_out, 0, sizeof *line_out);
		return REPLY_PARSE_INCOMPLETE;
	} else {
		/*
		 * Beyond the header's promise, *line_out describes the first
		 * REPLY_LINE_HARD_MAX bytes, so a report can show them. A CR as
		 * the last of them may yet be followed by LF: it is not judged.
		 */
		line_out->consumed = REPLY_LINE_HARD_MAX;
		flags |= REPLY_F_LINE_TOO_LONG;
		res = REPLY_PARSE_OVERLONG;
	}
	line_out->flags = flags;
	parse_content(buf, content, line_out); /* sets the other fields */
	return res;
}

enum reply_parse_result reply_parse_line(const uint8_t *buf, size_t len,
                                         struct reply_line *line_out)
{
	return parse_line(buf, len, line_out);
}

void reply_init(struct reply *r)
{
	/* Not kept[]: 64 KiB to clear per reply would cost more than reading it. */
	r->code = -1;
	r->flags = 0;
	r->nlines = 0;
	r->nkept = 0;
	r->complete = 0;
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
	keep = line->text_len;
	if (keep > REPLY_TEXT_KEEP)
		keep = redact_cut(line->text, keep, REPLY_TEXT_KEEP);
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
		res = parse_line(buf + used, len - used, &line);
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
