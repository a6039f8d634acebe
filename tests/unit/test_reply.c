/*
 * test_reply.c - unit tests of the reply reader (harness/reply.c).
 *
 * Table-driven: single lines for reply_parse_line(), whole replies for
 * reply_feed(). Every input sits right before an unreadable page, and every
 * reply is also fed split in two at each offset and byte by byte, which must
 * give the same result as one feed.
 */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>

#include "smtp_limits.h"
#include "reply.h"
#include "util.h"
#include "../fuzz/reply_reference.h"

/* A string literal as (bytes, length), embedded NULs included. */
#define IN(s) (s), (sizeof(s) - 1)

/* Fails with the case name and both values. */
#define EXPECT_EQ(name, what, got, want)                                                           \
	do {                                                                                       \
		long long got_ = (long long)(got), want_ = (long long)(want);                      \
		if (got_ != want_) {                                                               \
			print_error("%s: %s: got %lld, want %lld\n", (name), (what), got_, want_); \
			fail();                                                                    \
		}                                                                                  \
	} while (0)

#define EXPECT_FLAGS(name, got, want)                                       \
	do {                                                                \
		unsigned got_ = (got), want_ = (want);                      \
		if (got_ != want_) {                                        \
			char g_[256], w_[256];                              \
			print_error("%s: flags: got %s, want %s\n", (name), \
			            flag_names(got_, g_, sizeof g_),        \
			            flag_names(want_, w_, sizeof w_));      \
			fail();                                             \
		}                                                           \
	} while (0)

#define EXPECT_STR(name, what, got, want)                                                      \
	do {                                                                                   \
		if (strcmp((got), (want)) != 0) {                                              \
			print_error("%s: %s:\n  got  \"%s\"\n  want \"%s\"\n", (name), (what), \
			            (got), (want));                                            \
			fail();                                                                \
		}                                                                              \
	} while (0)

#define F_CODE REPLY_F_CODE
#define F_SEP REPLY_F_SEPARATOR
#define F_MLC REPLY_F_MULTILINE_CODE
#define F_LF REPLY_F_BARE_LF
#define F_CR REPLY_F_BARE_CR
#define F_LONG REPLY_F_LINE_TOO_LONG
#define F_CTL REPLY_F_CONTROL
#define F_8BIT REPLY_F_8BIT
#define F_MANY REPLY_F_TOO_MANY_LINES

/* The rule ids of a flag set, "a|b", or "none". */
static const char *flag_names(unsigned flags, char *out, size_t outlen)
{
	size_t used = 0;
	unsigned bit;

	out[0] = '\0';
	for (bit = 1; bit != 0; bit <<= 1) {
		const struct rule *rule;
		if (!(flags & bit))
			continue;
		rule = rule_get(reply_flag_rule(bit));
		used += (size_t)snprintf(out + used, outlen - used, "%s%s", used ? "|" : "",
		                         rule ? rule->id : "?");
		if (used >= outlen)
			break;
	}
	if (flags == 0)
		snprintf(out, outlen, "none");
	return out;
}

/* The kept lines as "<code><separator><escaped text>", one per line. */
static char *render_kept(const struct reply *r)
{
	struct buf b = { 0 };
	size_t i;

	for (i = 0; i < r->nkept; i++) {
		const struct reply_kept_line *k = &r->kept[i];
		if (i)
			buf_puts(&b, "\n");
		buf_printf(&b, "%d", k->code);
		if (k->separator)
			text_escape(&b, &k->separator, 1);
		text_escape(&b, k->text, k->text_len);
	}
	return buf_steal(&b);
}

/* ------------------------------------------------------ reply_parse_line */

struct line_case {
	const char *name;
	const char *in;
	size_t len;
	enum reply_parse_result res;
	int code;
	char separator;
	const char *text; /* escaped */
	size_t consumed;
	unsigned flags;
};

static const struct line_case line_cases[] = {
	{ "text", IN("250 ok\r\n"), REPLY_PARSE_LINE, 250, ' ', "ok", 8, 0 },
	{ "bare code", IN("250\r\n"), REPLY_PARSE_LINE, 250, 0, "", 5, 0 },
	{ "bare code, SP", IN("250 \r\n"), REPLY_PARSE_LINE, 250, ' ', "", 6, 0 },
	{ "continuation", IN("250-first\r\n"), REPLY_PARSE_LINE, 250, '-', "first", 11, 0 },
	{ "empty continuation", IN("250-\r\n"), REPLY_PARSE_LINE, 250, '-', "", 6, 0 },
	{ "one line of two", IN("250-a\r\n250 b\r\n"), REPLY_PARSE_LINE, 250, '-', "a", 7, 0 },
	{ "text with digits", IN("250 234 x\r\n"), REPLY_PARSE_LINE, 250, ' ', "234 x", 11, 0 },
	{ "lowest code", IN("200 x\r\n"), REPLY_PARSE_LINE, 200, ' ', "x", 7, 0 },
	{ "highest code", IN("559 x\r\n"), REPLY_PARSE_LINE, 559, ' ', "x", 7, 0 },
	{ "code 199", IN("199 x\r\n"), REPLY_PARSE_LINE, 199, ' ', "x", 7, F_CODE },
	{ "code 099", IN("099 x\r\n"), REPLY_PARSE_LINE, 99, ' ', "x", 7, F_CODE },
	{ "code 600", IN("600 x\r\n"), REPLY_PARSE_LINE, 600, ' ', "x", 7, F_CODE },
	{ "code 260", IN("260 x\r\n"), REPLY_PARSE_LINE, 260, ' ', "x", 7, F_CODE },
	{ "code 569", IN("569 x\r\n"), REPLY_PARSE_LINE, 569, ' ', "x", 7, F_CODE },
	{ "2-digit code", IN("25 ok\r\n"), REPLY_PARSE_LINE, -1, ' ', "ok", 7, F_CODE },
	{ "2-digit bare", IN("25\r\n"), REPLY_PARSE_LINE, -1, 0, "", 4, F_CODE },
	{ "4-digit code", IN("2500 ok\r\n"), REPLY_PARSE_LINE, -1, ' ', "ok", 9, F_CODE },
	{ "4-digit continuation", IN("2500-ok\r\n"), REPLY_PARSE_LINE, -1, '-', "ok", 9, F_CODE },
	{ "digits then letter", IN("2x0 ok\r\n"), REPLY_PARSE_LINE, -1, 0, "2x0 ok", 8, F_CODE },
	{ "no code", IN("hello\r\n"), REPLY_PARSE_LINE, -1, 0, "hello", 7, F_CODE },
	{ "no code, dash", IN("-250 x\r\n"), REPLY_PARSE_LINE, -1, 0, "-250 x", 8, F_CODE },
	{ "empty line", IN("\r\n"), REPLY_PARSE_LINE, -1, 0, "", 2, F_CODE },
	{ "bad separator", IN("250x ok\r\n"), REPLY_PARSE_LINE, 250, 'x', " ok", 9, F_SEP },
	{ "tab separator", IN("250\tok\r\n"), REPLY_PARSE_LINE, 250, '\t', "ok", 8, F_SEP },
	{ "bare lf", IN("250 ok\n"), REPLY_PARSE_LINE, 250, ' ', "ok", 7, F_LF },
	{ "bare lf, bare code", IN("250\n"), REPLY_PARSE_LINE, 250, 0, "", 4, F_LF },
	{ "lone lf", IN("\n"), REPLY_PARSE_LINE, -1, 0, "", 1, F_CODE | F_LF },
	{ "bare cr in text", IN("250 o\rk\r\n"), REPLY_PARSE_LINE, 250, ' ', "o\\rk", 9, F_CR },
	{ "cr cr lf", IN("250 ok\r\r\n"), REPLY_PARSE_LINE, 250, ' ', "ok\\r", 9, F_CR },
	{ "cr as separator", IN("250\r\r\n"), REPLY_PARSE_LINE, 250, '\r', "", 6, F_SEP | F_CR },
	{ "nul", IN("250 a\0b\r\n"), REPLY_PARSE_LINE, 250, ' ', "a\\x00b", 9, F_CTL },
	{ "escape char", IN("250 \x1b[0m\r\n"), REPLY_PARSE_LINE, 250, ' ', "\\x1b[0m", 10, F_CTL },
	{ "del", IN("250 a\x7f\r\n"), REPLY_PARSE_LINE, 250, ' ', "a\\x7f", 8, F_CTL },
	{ "tab in text", IN("250 a\tb\r\n"), REPLY_PARSE_LINE, 250, ' ', "a\\tb", 9, 0 },
	{ "utf-8 text", IN("250 caf\xc3\xa9\r\n"), REPLY_PARSE_LINE, 250, ' ', "caf\xc3\xa9", 11,
	  F_8BIT },
	{ "latin-1 text", IN("250 caf\xe9\r\n"), REPLY_PARSE_LINE, 250, ' ', "caf\\xe9", 10,
	  F_8BIT },
	{ "nul in code",
	  IN("\0"
	     "50 x\r\n"),
	  REPLY_PARSE_LINE, -1, 0, "\\x0050 x", 7, F_CODE | F_CTL },
	{ "every finding", IN("2x\0\xff\r.\n"), REPLY_PARSE_LINE, -1, 0, "2x\\x00\\xff\\r.", 7,
	  F_CODE | F_LF | F_CR | F_CTL | F_8BIT },
	{ "no line end", IN("250 ok"), REPLY_PARSE_INCOMPLETE, 0, 0, "", 0, 0 },
	{ "only cr", IN("250 ok\r"), REPLY_PARSE_INCOMPLETE, 0, 0, "", 0, 0 },
	{ "nothing", IN(""), REPLY_PARSE_INCOMPLETE, 0, 0, "", 0, 0 },
};

static void check_line(const char *name, const uint8_t *in, size_t len,
                       enum reply_parse_result want_res, int want_code, char want_sep,
                       const char *want_text, size_t want_consumed, unsigned want_flags)
{
	struct guarded g;
	struct reply_line line;
	enum reply_parse_result res;
	const uint8_t *data = guarded_copy(&g, in, len);
	char *text;

	res = reply_parse_line(data, len, &line);
	EXPECT_EQ(name, "result", res, want_res);
	if (res == REPLY_PARSE_INCOMPLETE) {
		guarded_free(&g);
		return;
	}
	EXPECT_EQ(name, "code", line.code, want_code);
	EXPECT_EQ(name, "separator", line.separator, want_sep);
	EXPECT_EQ(name, "consumed", line.consumed, want_consumed);
	EXPECT_FLAGS(name, line.flags, want_flags);
	/* The text points into the input, within the consumed bytes. */
	assert_true(line.text >= data && line.text + line.text_len <= data + line.consumed);
	text = text_escape_dup(line.text, line.text_len);
	EXPECT_STR(name, "text", text, want_text);
	free(text);
	guarded_free(&g);
}

static void test_parse_line_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof line_cases / sizeof line_cases[0]; i++) {
		const struct line_case *c = &line_cases[i];
		check_line(c->name, (const uint8_t *)c->in, c->len, c->res, c->code, c->separator,
		           c->text, c->consumed, c->flags);
	}
}

/* "250 " then fill 'x', then the line end: a line of exactly `total` octets. */
static uint8_t *make_line(size_t total, const char *end, size_t *len_out)
{
	size_t endlen = strlen(end), i;
	uint8_t *p = malloc(total);

	assert_non_null(p);
	assert_true(total >= 4 + endlen);
	memcpy(p, "250 ", 4);
	for (i = 4; i < total - endlen; i++)
		p[i] = 'x';
	memcpy(p + total - endlen, end, endlen);
	*len_out = total;
	return p;
}

static void test_parse_line_length(void **state)
{
	static const struct {
		const char *name;
		size_t total;
		const char *end;
		unsigned flags;
	} cases[] = {
		{ "511 octets", REPLY_LINE_MAX - 1, "\r\n", 0 },
		{ "512 octets", REPLY_LINE_MAX, "\r\n", 0 },
		{ "513 octets", REPLY_LINE_MAX + 1, "\r\n", F_LONG },
		{ "512 octets, bare lf", REPLY_LINE_MAX, "\n", F_LF },
		{ "513 octets, bare lf", REPLY_LINE_MAX + 1, "\n", F_LF | F_LONG },
		{ "hard max, crlf", REPLY_LINE_HARD_MAX, "\r\n", F_LONG },
		{ "hard max, bare lf", REPLY_LINE_HARD_MAX, "\n", F_LONG | F_LF },
	};
	size_t i, len;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		uint8_t *p = make_line(cases[i].total, cases[i].end, &len);
		char *want = xmalloc(len);
		size_t textlen = len - 4 - strlen(cases[i].end);
		memset(want, 'x', textlen);
		want[textlen] = '\0';
		check_line(cases[i].name, p, len, REPLY_PARSE_LINE, 250, ' ', want, len,
		           cases[i].flags);
		free(want);
		free(p);
	}
}

/* No LF: incomplete below the hard cap, overlong at it, whatever follows. */
static void test_parse_line_hard_cap(void **state)
{
	size_t big = REPLY_LINE_HARD_MAX * 3, len;
	uint8_t *p = malloc(big);
	struct guarded g;
	struct reply_line line;
	const uint8_t *data;

	(void)state;
	assert_non_null(p);
	memset(p, 'x', big);
	memcpy(p, "250 ", 4);
	for (len = REPLY_LINE_HARD_MAX - 2; len <= REPLY_LINE_HARD_MAX + 2; len++) {
		data = guarded_copy(&g, p, len);
		if (len < REPLY_LINE_HARD_MAX) {
			EXPECT_EQ("below the cap", "result", reply_parse_line(data, len, &line),
			          REPLY_PARSE_INCOMPLETE);
		} else {
			EXPECT_EQ("at the cap", "result", reply_parse_line(data, len, &line),
			          REPLY_PARSE_OVERLONG);
			EXPECT_EQ("at the cap", "consumed", line.consumed, REPLY_LINE_HARD_MAX);
			EXPECT_EQ("at the cap", "code", line.code, 250);
			EXPECT_EQ("at the cap", "text_len", line.text_len, REPLY_LINE_HARD_MAX - 4);
			EXPECT_FLAGS("at the cap", line.flags, F_LONG);
		}
		guarded_free(&g);
	}
	/* An LF just past the cap does not count: the line is still overlong. */
	p[REPLY_LINE_HARD_MAX] = '\n';
	data = guarded_copy(&g, p, REPLY_LINE_HARD_MAX + 1);
	EXPECT_EQ("lf past the cap", "result",
	          reply_parse_line(data, REPLY_LINE_HARD_MAX + 1, &line), REPLY_PARSE_OVERLONG);
	guarded_free(&g);
	/* A CR as the last byte under the cap might precede an LF: not judged. */
	p[REPLY_LINE_HARD_MAX - 1] = '\r';
	data = guarded_copy(&g, p, REPLY_LINE_HARD_MAX);
	EXPECT_EQ("cr at the cap", "result", reply_parse_line(data, REPLY_LINE_HARD_MAX, &line),
	          REPLY_PARSE_OVERLONG);
	EXPECT_FLAGS("cr at the cap", line.flags, F_LONG);
	guarded_free(&g);
	/* Whatever the bytes, it is never more than the cap. */
	memset(p, '\0', big);
	data = guarded_copy(&g, p, big);
	EXPECT_EQ("nul bytes", "result", reply_parse_line(data, big, &line), REPLY_PARSE_OVERLONG);
	EXPECT_EQ("nul bytes", "consumed", line.consumed, REPLY_LINE_HARD_MAX);
	EXPECT_FLAGS("nul bytes", line.flags, F_LONG | F_CTL | F_CODE);
	guarded_free(&g);
	free(p);
}

/* ------------------------------------------------------------ reply_feed */

/* Results of feeding one reply; large, so they live here, not on the stack. */
static struct reply once, chunked;

/*
 * Feeds in[0..len) the way the session does: bytes arrive at the offsets in
 * cuts[] (then at len); after each arrival the unconsumed bytes, copied
 * before an unreadable page, are fed. Returns -1 or the bytes consumed.
 */
static long feed_arrivals(struct reply *r, const uint8_t *in, size_t len, const size_t *cuts,
                          size_t ncuts)
{
	size_t used = 0, arrived, i;
	struct guarded g;
	long n;

	reply_init(r);
	for (i = 0; i <= ncuts && !r->complete; i++) {
		arrived = i < ncuts ? cuts[i] : len;
		n = reply_feed(r, guarded_copy(&g, in + used, arrived - used), arrived - used);
		guarded_free(&g);
		if (n < 0)
			return -1;
		assert_true((size_t)n <= arrived - used);
		used += (size_t)n;
	}
	return (long)used;
}

static void expect_same_reply(const char *name, const char *how, const struct reply *got,
                              const struct reply *want)
{
	char *g, *w;

	if (got->code != want->code || got->flags != want->flags || got->nlines != want->nlines ||
	    got->nkept != want->nkept || got->complete != want->complete)
		print_error("%s: fed %s differs from one feed\n", name, how);
	EXPECT_EQ(name, "code", got->code, want->code);
	EXPECT_FLAGS(name, got->flags, want->flags);
	EXPECT_EQ(name, "nlines", got->nlines, want->nlines);
	EXPECT_EQ(name, "nkept", got->nkept, want->nkept);
	EXPECT_EQ(name, "complete", got->complete, want->complete);
	g = render_kept(got);
	w = render_kept(want);
	EXPECT_STR(name, how, g, w);
	free(g);
	free(w);
}

/* One feed, then every split in two (all, or a sample for long inputs), then byte by byte. */
static long feed_every_way(const char *name, const uint8_t *in, size_t len)
{
	size_t k, step = len <= 1024 ? 1 : 61;
	size_t *bytes;
	long ret, n;
	char how[64];

	ret = feed_arrivals(&once, in, len, NULL, 0);
	for (k = 0; k <= len; k += (k < 8 || k + 8 >= len) ? 1 : step) {
		n = feed_arrivals(&chunked, in, len, &k, 1);
		snprintf(how, sizeof how, "split at %zu", k);
		if (n != ret)
			print_error("%s: %s\n", name, how);
		EXPECT_EQ(name, "consumed", n, ret);
		expect_same_reply(name, how, &chunked, &once);
	}
	bytes = xcalloc(len ? len : 1, sizeof *bytes);
	for (k = 0; k < len; k++)
		bytes[k] = k;
	n = feed_arrivals(&chunked, in, len, bytes, len);
	free(bytes);
	EXPECT_EQ(name, "consumed byte by byte", n, ret);
	expect_same_reply(name, "byte by byte", &chunked, &once);
	return ret;
}

struct feed_case {
	const char *name;
	const char *in;
	size_t len;
	long ret; /* bytes consumed, or -1 */
	int complete;
	int code;
	unsigned flags;
	size_t nlines;
	const char *lines; /* kept lines as render_kept() shows them */
};

static const struct feed_case feed_cases[] = {
	{ "single", IN("250 ok\r\n"), 8, 1, 250, 0, 1, "250 ok" },
	{ "bare code", IN("250\r\n"), 5, 1, 250, 0, 1, "250" },
	{ "bare code, SP", IN("250 \r\n"), 6, 1, 250, 0, 1, "250 " },
	{ "multiline", IN("250-mx.example.org\r\n250-PIPELINING\r\n250 SIZE 10240000\r\n"), 55, 1,
	  250, 0, 3, "250-mx.example.org\n250-PIPELINING\n250 SIZE 10240000" },
	{ "multiline, bare last", IN("250-a\r\n250\r\n"), 12, 1, 250, 0, 2, "250-a\n250" },
	{ "multiline, text like a code", IN("250-a\r\n250-234 b\r\n250 c\r\n"), 25, 1, 250, 0, 3,
	  "250-a\n250-234 b\n250 c" },
	{ "greeting", IN("220 mx.example.org ESMTP\r\n"), 26, 1, 220, 0, 1,
	  "220 mx.example.org ESMTP" },
	{ "code changes", IN("250-a\r\n251 b\r\n"), 14, 1, 250, F_MLC, 2, "250-a\n251 b" },
	{ "code changes twice", IN("250-a\r\n550-b\r\n250 c\r\n"), 21, 1, 250, F_MLC, 3,
	  "250-a\n550-b\n250 c" },
	{ "short code in multiline", IN("250-a\r\n25 b\r\n"), 13, 1, 250, F_MLC | F_CODE, 2,
	  "250-a\n-1 b" },
	{ "garbage ends multiline", IN("250-a\r\nxyz\r\n"), 12, 1, 250, F_MLC | F_CODE, 2,
	  "250-a\n-1xyz" },
	{ "incomplete reply", IN("250-a\r\n250-b"), 7, 0, 250, 0, 1, "250-a" },
	{ "incomplete line", IN("250 o"), 0, 0, -1, 0, 0, "" },
	{ "only cr", IN("250 ok\r"), 0, 0, -1, 0, 0, "" },
	{ "nothing", IN(""), 0, 0, -1, 0, 0, "" },
	{ "next reply not consumed", IN("250 ok\r\n220 next\r\n"), 8, 1, 250, 0, 1, "250 ok" },
	{ "next reply after multiline", IN("250-a\r\n250 b\r\n354 go\r\n"), 14, 1, 250, 0, 2,
	  "250-a\n250 b" },
	{ "partial next reply", IN("250 ok\r\n22"), 8, 1, 250, 0, 1, "250 ok" },
	{ "bare lf", IN("250-a\n250 b\r\n"), 13, 1, 250, F_LF, 2, "250-a\n250 b" },
	{ "bare lf everywhere", IN("250-a\n250 b\n"), 12, 1, 250, F_LF, 2, "250-a\n250 b" },
	{ "bare cr", IN("250 a\rb\r\n"), 9, 1, 250, F_CR, 1, "250 a\\rb" },
	{ "code 199", IN("199 x\r\n"), 7, 1, 199, F_CODE, 1, "199 x" },
	{ "code 260", IN("260 x\r\n"), 7, 1, 260, F_CODE, 1, "260 x" },
	{ "code 600", IN("600 x\r\n"), 7, 1, 600, F_CODE, 1, "600 x" },
	{ "2-digit code", IN("25 ok\r\n"), 7, 1, -1, F_CODE, 1, "-1 ok" },
	{ "4-digit code", IN("2500 ok\r\n"), 9, 1, -1, F_CODE, 1, "-1 ok" },
	{ "4-digit multiline", IN("2500-a\r\n2500 b\r\n"), 16, 1, -1, F_CODE, 2, "-1-a\n-1 b" },
	{ "no code", IN("hello\r\n"), 7, 1, -1, F_CODE, 1, "-1hello" },
	{ "bad separator", IN("250x ok\r\n"), 9, 1, 250, F_SEP, 1, "250x ok" },
	{ "tab separator", IN("250\tok\r\n"), 8, 1, 250, F_SEP, 1, "250\\tok" },
	{ "nul", IN("250 a\0b\r\n"), 9, 1, 250, F_CTL, 1, "250 a\\x00b" },
	{ "del", IN("250 a\x7f\r\n"), 8, 1, 250, F_CTL, 1, "250 a\\x7f" },
	{ "tab in text", IN("250 a\tb\r\n"), 9, 1, 250, 0, 1, "250 a\\tb" },
	{ "8bit", IN("250 caf\xc3\xa9\r\n"), 11, 1, 250, F_8BIT, 1, "250 caf\xc3\xa9" },
	{ "empty line", IN("\r\n"), 2, 1, -1, F_CODE, 1, "-1" },
	{ "lone lf", IN("\n"), 1, 1, -1, F_CODE | F_LF, 1, "-1" },
	{ "findings add up", IN("250-a\0\r\n251-\xff\n250x\r\n"), 20, 1, 250,
	  F_CTL | F_MLC | F_8BIT | F_LF | F_SEP, 3, "250-a\\x00\n251-\\xff\n250x" },
};

static void check_feed(const char *name, const uint8_t *in, size_t len, long want_ret,
                       int want_complete, int want_code, unsigned want_flags, size_t want_nlines,
                       const char *want_lines)
{
	long ret = feed_every_way(name, in, len);
	char *lines;

	EXPECT_EQ(name, "returned", ret, want_ret);
	EXPECT_EQ(name, "complete", once.complete, want_complete);
	EXPECT_EQ(name, "code", once.code, want_code);
	EXPECT_FLAGS(name, once.flags, want_flags);
	EXPECT_EQ(name, "nlines", once.nlines, want_nlines);
	lines = render_kept(&once);
	EXPECT_STR(name, "kept lines", lines, want_lines);
	free(lines);
}

static void test_feed_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof feed_cases / sizeof feed_cases[0]; i++) {
		const struct feed_case *c = &feed_cases[i];
		check_feed(c->name, (const uint8_t *)c->in, c->len, c->ret, c->complete, c->code,
		           c->flags, c->nlines, c->lines);
	}
}

/* A complete reply takes no more bytes; the rest starts the next reply. */
static void test_feed_stops_after_last_line(void **state)
{
	static const char wire[] = "250-a\r\n250 b\r\n354 go\r\n";
	struct guarded g;
	const uint8_t *data = guarded_copy(&g, wire, sizeof wire - 1);
	long n, m;

	(void)state;
	reply_init(&once);
	n = reply_feed(&once, data, sizeof wire - 1);
	assert_int_equal(n, 14);
	assert_int_equal(once.complete, 1);
	assert_int_equal(reply_feed(&once, data + n, sizeof wire - 1 - (size_t)n), 0);
	reply_init(&once);
	m = reply_feed(&once, data + n, sizeof wire - 1 - (size_t)n);
	assert_int_equal(m, 8);
	assert_int_equal(once.code, 354);
	assert_int_equal(once.complete, 1);
	guarded_free(&g);
}

static void test_feed_line_lengths(void **state)
{
	static const struct {
		const char *name;
		size_t total;
		unsigned flags;
	} cases[] = {
		{ "512-octet line", REPLY_LINE_MAX, 0 },
		{ "513-octet line", REPLY_LINE_MAX + 1, F_LONG },
		{ "hard-max line", REPLY_LINE_HARD_MAX, F_LONG },
	};
	size_t i, len;
	char *want;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		uint8_t *p = make_line(cases[i].total, "\r\n", &len);
		size_t keep = len - 6 < REPLY_TEXT_KEEP ? len - 6 : REPLY_TEXT_KEEP;
		want = xmalloc(len);
		memcpy(want, p, 4 + keep); /* "250 " and the kept text */
		want[4 + keep] = '\0';
		check_feed(cases[i].name, p, len, (long)len, 1, 250, cases[i].flags, 1, want);
		free(want);
		free(p);
	}
}

/* Text longer than REPLY_TEXT_KEEP is cut in the kept line, but fully checked. */
static void test_feed_text_keep(void **state)
{
	size_t textlen = REPLY_TEXT_KEEP + 10, len = 4 + textlen + 2;
	uint8_t *p = malloc(len);
	struct guarded g;

	(void)state;
	assert_non_null(p);
	assert_true(len < REPLY_LINE_HARD_MAX);
	memcpy(p, "250 ", 4);
	memset(p + 4, 'k', textlen);
	p[4 + textlen - 1] = '\x01'; /* past the kept part, still flagged */
	memcpy(p + 4 + textlen, "\r\n", 2);
	reply_init(&once);
	assert_int_equal(reply_feed(&once, guarded_copy(&g, p, len), len), (long)len);
	guarded_free(&g);
	assert_int_equal(once.complete, 1);
	assert_int_equal(once.kept[0].text_len, REPLY_TEXT_KEEP);
	assert_memory_equal(once.kept[0].text, p + 4, REPLY_TEXT_KEEP);
	EXPECT_FLAGS("long text", once.flags, F_CTL | (len > REPLY_LINE_MAX ? F_LONG : 0));
	free(p);
}

/* A registered secret straddling the REPLY_TEXT_KEEP cut is not split: the
 * kept text stops before it, whatever its offset. */
static void test_feed_text_keep_secret(void **state)
{
	static const char pw[] = "Jo;Km-Zn{Lo?";
	(void)state;
	redact_reset();
	redact_register(pw, strlen(pw));
	for (size_t k = 1; k < strlen(pw); k++) {
		char line[REPLY_TEXT_KEEP + 64];
		size_t pad = REPLY_TEXT_KEEP - k;
		memcpy(line, "535 ", 4);
		memset(line + 4, 'x', pad);
		memcpy(line + 4 + pad, pw, strlen(pw));
		memcpy(line + 4 + pad + strlen(pw), "\r\n", 2);
		size_t len = 4 + pad + strlen(pw) + 2;
		reply_init(&once);
		assert_int_equal(reply_feed(&once, (const uint8_t *)line, len), (long)len);
		assert_int_equal(once.kept[0].text_len, pad);
	}
	redact_reset();
}

/* No LF within the hard cap: abandoned, however the bytes arrive. */
static void test_feed_overlong(void **state)
{
	size_t big = REPLY_LINE_HARD_MAX + 100;
	uint8_t *p = malloc(big);
	uint8_t *window;
	size_t filled = 0, fed_total = 0;
	long n;

	(void)state;
	assert_non_null(p);
	memset(p, 'x', big);
	memcpy(p, "250-", 4);

	/* Just under the cap: nothing to consume yet. */
	check_feed("under the cap", p, REPLY_LINE_HARD_MAX - 1, 0, 0, -1, 0, 0, "");
	/* At the cap, and past it. */
	n = feed_every_way("at the cap", p, REPLY_LINE_HARD_MAX);
	assert_int_equal(n, -1);
	EXPECT_FLAGS("at the cap", once.flags, F_LONG);
	assert_int_equal(once.complete, 0);
	assert_int_equal(once.nlines, 1);
	assert_int_equal(once.code, 250);
	assert_int_equal(once.kept[0].text_len, REPLY_LINE_HARD_MAX - 4 < REPLY_TEXT_KEEP
	                                            ? REPLY_LINE_HARD_MAX - 4
	                                            : REPLY_TEXT_KEEP);
	n = feed_every_way("past the cap", p, big);
	assert_int_equal(n, -1);
	EXPECT_FLAGS("past the cap", once.flags, F_LONG);

	/* After a good first line, the overlong second line is still caught. */
	memcpy(p, "250-a\r\n250-", 11);
	n = feed_every_way("second line overlong", p, big);
	assert_int_equal(n, -1);
	EXPECT_FLAGS("second line overlong", once.flags, F_LONG);
	assert_int_equal(once.nlines, 2);

	/* A server that sends 10 MB without LF meets a fixed-size window. */
	window = malloc(SESSION_INBUF_SIZE);
	assert_non_null(window);
	reply_init(&once);
	n = 0;
	while (fed_total < 10u * 1024 * 1024) {
		size_t add =
		    SESSION_INBUF_SIZE - filled < 1000 ? SESSION_INBUF_SIZE - filled : 1000;
		memset(window + filled, 'y', add);
		filled += add;
		fed_total += add;
		n = reply_feed(&once, window, filled);
		if (n < 0)
			break;
		memmove(window, window + n, filled - (size_t)n);
		filled -= (size_t)n;
	}
	assert_int_equal(n, -1);
	assert_true(fed_total <= REPLY_LINE_HARD_MAX + 1000);
	EXPECT_FLAGS("endless line", once.flags, F_LONG | F_CODE);
	free(window);
	free(p);
}

static void test_feed_line_count(void **state)
{
	static const char more[] = "250-line\r\n", last[] = "250 last\r\n";
	size_t linelen = sizeof more - 1, total = REPLY_LINES_MAX * linelen, i;
	uint8_t *p = malloc(total);
	struct guarded g;
	long n;

	(void)state;
	assert_non_null(p);
	/* Exactly REPLY_LINES_MAX lines are fine. */
	for (i = 0; i + 1 < REPLY_LINES_MAX; i++)
		memcpy(p + i * linelen, more, linelen);
	memcpy(p + i * linelen, last, linelen);
	reply_init(&once);
	n = reply_feed(&once, guarded_copy(&g, p, total), total);
	guarded_free(&g);
	assert_int_equal(n, (long)total);
	assert_int_equal(once.complete, 1);
	assert_int_equal(once.nlines, REPLY_LINES_MAX);
	assert_int_equal(once.nkept, REPLY_LINES_KEEP);
	EXPECT_FLAGS("max lines", once.flags, 0);
	/* Kept lines are the first ones; the text of the rest is dropped. */
	assert_int_equal(once.kept[REPLY_LINES_KEEP - 1].separator, '-');
	assert_memory_equal(once.kept[0].text, "line", 4);

	/* One more line than that is abandoned at line REPLY_LINES_MAX. */
	memcpy(p + i * linelen, more, linelen);
	reply_init(&once);
	n = reply_feed(&once, guarded_copy(&g, p, total), total);
	guarded_free(&g);
	assert_int_equal(n, -1);
	EXPECT_FLAGS("max lines + 1", once.flags, F_MANY);
	assert_int_equal(once.nlines, REPLY_LINES_MAX);
	assert_int_equal(once.complete, 0);
	/* It stays abandoned. */
	assert_int_equal(reply_feed(&once, (const uint8_t *)last, linelen), -1);
	free(p);
}

/*
 * A 100000-line reply, streamed through a fixed window the size of the
 * session's input buffer: abandoned after REPLY_LINES_MAX lines, having read
 * no more than the window beyond them. The reader allocates nothing, so
 * memory is the window plus struct reply, whatever the server sends.
 */
static void test_feed_100000_lines(void **state)
{
	static const char more[] = "250-x\r\n", last[] = "250 end\r\n";
	size_t nlines = 100000, produced = 0, filled = 0, bytes_in = 0;
	uint8_t *window = malloc(SESSION_INBUF_SIZE);
	long n = 0;

	(void)state;
	assert_non_null(window);
	reply_init(&once);
	while (produced < nlines) {
		/* The server writes whole lines while there is room. */
		while (produced < nlines && filled + sizeof last <= SESSION_INBUF_SIZE) {
			const char *l = produced + 1 == nlines ? last : more;
			size_t ll = strlen(l);
			memcpy(window + filled, l, ll);
			filled += ll;
			bytes_in += ll;
			produced++;
		}
		n = reply_feed(&once, window, filled);
		if (n < 0)
			break;
		memmove(window, window + n, filled - (size_t)n);
		filled -= (size_t)n;
	}
	assert_int_equal(n, -1);
	EXPECT_FLAGS("100000 lines", once.flags, F_MANY);
	assert_int_equal(once.nlines, REPLY_LINES_MAX);
	assert_int_equal(once.nkept, REPLY_LINES_KEEP);
	assert_true(produced < REPLY_LINES_MAX + SESSION_INBUF_SIZE / (sizeof more - 1) + 1);
	assert_true(bytes_in <= REPLY_LINES_MAX * (sizeof more - 1) + SESSION_INBUF_SIZE);
	free(window);
}

/* Inputs that end where a line would go on: reads must stop at the page. */
static void test_guarded_boundaries(void **state)
{
	static const struct {
		const char *in;
		enum reply_parse_result first_line;
		long fed;
	} cases[] = {
		{ "2", REPLY_PARSE_INCOMPLETE, 0 },
		{ "25", REPLY_PARSE_INCOMPLETE, 0 },
		{ "250", REPLY_PARSE_INCOMPLETE, 0 },
		{ "250 ", REPLY_PARSE_INCOMPLETE, 0 },
		{ "250\r", REPLY_PARSE_INCOMPLETE, 0 },
		{ "250-a\r\n250", REPLY_PARSE_LINE, 7 },
		{ "250-a\r\n250-b\r", REPLY_PARSE_LINE, 7 },
	};
	struct guarded g;
	struct reply_line line;
	const uint8_t *data;
	size_t i, len;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		len = strlen(cases[i].in);
		data = guarded_copy(&g, cases[i].in, len);
		EXPECT_EQ(cases[i].in, "result", reply_parse_line(data, len, &line),
		          cases[i].first_line);
		reply_init(&once);
		EXPECT_EQ(cases[i].in, "fed", reply_feed(&once, data, len), cases[i].fed);
		EXPECT_EQ(cases[i].in, "complete", once.complete, 0);
		guarded_free(&g);
	}
}

/*
 * Every octet value at every offset of the first 24 of a line (across the
 * 8-octet words the reader looks at), right before the line end or followed
 * by text, with CRLF, a bare LF or no line end yet, the line's last byte
 * against an unreadable page: the reader says what the octet-by-octet
 * reference (tests/fuzz/reply_reference.h) says.
 */
static void test_every_octet_everywhere(void **state)
{
	static const char *const ends[] = { "\r\n", "\n", "" };
	uint8_t line[REPLY_LINE_HARD_MAX]; /* 30 octets used; the size keeps gcc quiet */
	struct guarded g;
	struct reply_line got;
	char name[64];

	(void)state;
	for (unsigned octet = 0; octet < 256; octet++) {
		for (size_t at = 4; at < 24; at++) {
			for (size_t after = 0; after <= 5; after += 5) {
				for (size_t e = 0; e < sizeof ends / sizeof ends[0]; e++) {
					size_t len = at, want_consumed = 0;
					unsigned want_flags = 0;
					enum reply_parse_result want;

					memcpy(line, "250 ", 4);
					memset(line + 4, 'x', at - 4);
					line[len++] = (uint8_t)octet;
					memset(line + len, 'y', after);
					len += after;
					memcpy(line + len, ends[e], strlen(ends[e]));
					len += strlen(ends[e]);
					want = reply_reference_line(line, len, &want_consumed,
					                            &want_flags);
					snprintf(name, sizeof name,
					         "octet 0x%02x at %zu, %zu after, end %zu", octet,
					         at, after, e);
					EXPECT_EQ(name, "result",
					          reply_parse_line(guarded_copy(&g, line, len), len,
					                           &got),
					          want);
					guarded_free(&g);
					if (want != REPLY_PARSE_LINE)
						continue;
					EXPECT_EQ(name, "consumed", got.consumed, want_consumed);
					EXPECT_FLAGS(name, got.flags, want_flags);
					EXPECT_EQ(name, "code", got.code, 250);
				}
			}
		}
	}
}

/* Nothing to read: no pointer arithmetic on a NULL buffer. */
static void test_empty_input(void **state)
{
	struct reply_line line;

	(void)state;
	assert_int_equal(reply_parse_line(NULL, 0, &line), REPLY_PARSE_INCOMPLETE);
	reply_init(&once);
	assert_int_equal(reply_feed(&once, NULL, 0), 0);
	assert_int_equal(once.complete, 0);
	assert_int_equal(once.nlines, 0);
	assert_int_equal(once.code, -1);
}

static void test_flag_names(void **state)
{
	static const struct {
		unsigned flag;
		const char *rule, *ref;
	} cases[] = {
		{ F_CODE, "syntax.code", "RFC 5321 4.2" },
		{ F_SEP, "syntax.separator", "RFC 5321 4.2" },
		{ F_MLC, "syntax.multiline-code", "RFC 5321 4.2.1" },
		{ F_LF, "syntax.bare-lf", "RFC 5321 2.3.8" },
		{ F_CR, "syntax.bare-cr", "RFC 5321 2.3.8" },
		{ F_LONG, "syntax.line-too-long", "RFC 5321 4.5.3.1.5" },
		{ F_CTL, "syntax.control-char", "RFC 5321 4.2 (textstring)" },
		{ F_8BIT, "syntax.8bit-text", "RFC 5321 4.2 (textstring)" },
		{ F_MANY, "syntax.too-many-lines", "RFC 5321 4.2.1" },
	};
	unsigned all = 0;
	size_t i;

	(void)state;
	assert_int_equal(sizeof cases / sizeof cases[0], REPLY_FLAG_COUNT);
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct rule *r = rule_get(reply_flag_rule(cases[i].flag));
		assert_non_null(r);
		assert_string_equal(r->id, cases[i].rule);
		assert_string_equal(r->ref, cases[i].ref);
		assert_int_equal(r->category, RULE_CAT_SYNTAX);
		assert_non_null(r->message);
		all |= cases[i].flag;
	}
	assert_int_equal(all, (1u << REPLY_FLAG_COUNT) - 1);
	assert_int_equal(reply_flag_rule(0), RULE_NONE);
	assert_int_equal(reply_flag_rule(F_CODE | F_SEP), RULE_NONE);
	assert_int_equal(reply_flag_rule(1u << REPLY_FLAG_COUNT), RULE_NONE);
	assert_int_equal(reply_flag_rule(1u << 31), RULE_NONE);
	assert_string_equal(rule_get(reply_flag_rule(F_LONG))->message,
	                    "reply line longer than 512 octets including CRLF");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_line_table),
		cmocka_unit_test(test_parse_line_length),
		cmocka_unit_test(test_parse_line_hard_cap),
		cmocka_unit_test(test_feed_table),
		cmocka_unit_test(test_feed_stops_after_last_line),
		cmocka_unit_test(test_feed_line_lengths),
		cmocka_unit_test(test_feed_text_keep),
		cmocka_unit_test(test_feed_text_keep_secret),
		cmocka_unit_test(test_feed_overlong),
		cmocka_unit_test(test_feed_line_count),
		cmocka_unit_test(test_feed_100000_lines),
		cmocka_unit_test(test_guarded_boundaries),
		cmocka_unit_test(test_every_octet_everywhere),
		cmocka_unit_test(test_empty_input),
		cmocka_unit_test(test_flag_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
