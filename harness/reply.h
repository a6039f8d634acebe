/*
 * reply.h - the SMTP reply reader (RFC 5321 section 4.2).
 *
 * A pure, bounded parser over bytes. reply_parse_line() looks at one line;
 * struct reply accumulates the lines of one reply (single or multiline) and
 * the syntax violations found. Nothing here allocates, reads a socket or
 * knows about commands or the matrix: the session engine feeds it bytes and
 * the verdict code (check.c) turns its flags into violations.
 */
#ifndef SMTPCONFORM_REPLY_H
#define SMTPCONFORM_REPLY_H

#include <stddef.h>
#include <stdint.h>

#include "rules.h"
#include "smtp_limits.h"

/* Syntax findings, a bit each. Each maps to one rule (reply_flag_rule). */
enum reply_flag {
	REPLY_F_CODE = 1u << 0,           /* syntax.code: not 3 digits, 1st 2-5, 2nd 0-5 */
	REPLY_F_SEPARATOR = 1u << 1,      /* syntax.separator: not SP, '-' or end of line */
	REPLY_F_MULTILINE_CODE = 1u << 2, /* syntax.multiline-code: lines change code */
	REPLY_F_BARE_LF = 1u << 3,        /* syntax.bare-lf: LF without CR (2.3.8) */
	REPLY_F_BARE_CR = 1u << 4,        /* syntax.bare-cr: CR not followed by LF */
	REPLY_F_LINE_TOO_LONG = 1u << 5,  /* syntax.line-too-long: > 512 octets (4.5.3.1.5) */
	REPLY_F_CONTROL = 1u << 6,        /* syntax.control-char: NUL or other control in text */
	REPLY_F_8BIT = 1u << 7,           /* syntax.8bit-text: octet > 127 in text */
	REPLY_F_TOO_MANY_LINES = 1u << 8, /* syntax.too-many-lines: > REPLY_LINES_MAX lines */
};
#define REPLY_FLAG_COUNT 9

/* One parsed line, pointing into the caller's buffer. */
struct reply_line {
	int code;            /* 0..999 when exactly 3 digits start the line, else -1 */
	char separator;      /* ' ', '-', or 0 when the line ends after the code;
	                         any other byte is kept here and flagged */
	const uint8_t *text; /* after the separator, excluding the line end */
	size_t text_len;
	size_t consumed; /* bytes of the line including its line end */
	unsigned flags;  /* enum reply_flag bits found on this line */
};

enum reply_parse_result {
	REPLY_PARSE_INCOMPLETE = 0, /* no line end yet, and under the hard cap */
	REPLY_PARSE_LINE = 1,       /* *line_out is filled */
	REPLY_PARSE_OVERLONG = -1,  /* REPLY_LINE_HARD_MAX bytes and no LF */
};

/*
 * Parses one line at the start of buf[0..len). A line ends at LF (CRLF, or a
 * bare LF which is flagged). Reads nothing past buf + len.
 */
enum reply_parse_result reply_parse_line(const uint8_t *buf, size_t len,
                                         struct reply_line *line_out);

/* A kept line of a reply: code, separator and text copied out. */
struct reply_kept_line {
	int code;
	char separator;
	uint16_t text_len;
	uint8_t text[REPLY_TEXT_KEEP];
};

/* One reply being accumulated. reply_init() it before the first line; it
 * resets the counts and leaves kept[] as it was: kept[i] for i >= nkept
 * holds nothing meaningful. */
struct reply {
	int code;       /* code of the first line; -1 if unreadable */
	unsigned flags; /* union of line flags plus reply-level flags */
	size_t nlines;  /* lines seen, including those not kept */
	size_t nkept;   /* lines in kept[] (at most REPLY_LINES_KEEP) */
	int complete;   /* the last line (no '-') has been seen */
	struct reply_kept_line kept[REPLY_LINES_KEEP];
};

void reply_init(struct reply *r);

/*
 * Feeds as many whole lines as buf[0..len) holds into r, stopping after the
 * reply's last line. Returns bytes consumed (>= 0); r->complete tells whether
 * the reply ended. Returns -1 when the reply must be abandoned: a line past
 * REPLY_LINE_HARD_MAX without LF, or more than REPLY_LINES_MAX lines (the
 * flag is set in r->flags either way).
 * A line is "last" when its separator is not '-'.
 */
long reply_feed(struct reply *r, const uint8_t *buf, size_t len);

/* The rule one flag bit breaks (RULE_SYNTAX_BARE_LF), or RULE_NONE. Its id,
 * reference and message are in the rule table (rules.h). */
enum rule_id reply_flag_rule(unsigned flag);

#endif
