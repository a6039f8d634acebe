/*
 * expect.h - the expectation of an S: line ("250|251", "2xx", "*", "503!",
 * "5xx|close", each with an optional "~ /regex/") and its matcher.
 *
 * Owns the grammar and the code and regex matching. Does not decide a
 * verdict: check.c calls the matchers.
 */
#ifndef SMTPCONFORM_EXPECT_H
#define SMTPCONFORM_EXPECT_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stddef.h>

#define EXPECT_ALTS_MAX 16

struct expect {
	int any;                        /* "*": anything the matrix allows */
	int close_ok;                   /* "close" among the alternatives ("5xx|close"): the
	                                    server may close instead; the scenario then ends */
	size_t nalts;                   /* alternatives, "250|251|2xx" */
	char alts[EXPECT_ALTS_MAX][4];  /* 3 chars each, a digit or 'x' */
	char alt_ends[EXPECT_ALTS_MAX]; /* "503!": matching it ends the scenario (a pass) */
	char *regex_src;                /* "~ /re/" source, NULL when absent */
	pcre2_code *regex;              /* compiled (PCRE2, expect_regex_compile); iff regex_src */
	char *source;                   /* the expectation as written, for reports */
};

/*
 * Parses an expectation (already trimmed, not "close" alone):
 *   codes [ "~" "/" regex "/" ]     codes = "*" / alt *("|" alt)
 *   alt = code / "close"            code = %x32-35 2(DIGIT / "x")
 * Returns 0, or -1 with a message (no path) in msg. e->source is left to
 * the caller. expect_free() releases everything and zeroes e.
 */
int expect_parse(const char *text, struct expect *e, char *msg, size_t msglen);
void expect_free(struct expect *e);

/*
 * Matches a reply code against an expectation's code part (not its regex):
 * 1 when it matches. A "*" expectation matches every code.
 */
int expect_code_matches(const struct expect *e, int code);
/* 1 when the first alternative code matches is marked '!' (ends the scenario). */
int expect_code_ends(const struct expect *e, int code);

/*
 * The "~ /regex/" of an expectation: PCRE2 (Perl syntax, POSIX classes such
 * as [[:cntrl:]] inside brackets), case-sensitive, bytes (no UTF mode), with
 * PCRE2_DOTALL and PCRE2_DOLLAR_ENDONLY so that "." matches a line break and
 * "^" / "$" anchor the whole text, as POSIX REG_EXTENDED did.
 * expect_regex_compile() sets e->regex_src and e->regex; 0, or -1 with
 * "bad regex /src/: why" in msg. expect_regex_match() matches text[0..len)
 * under REGEX_MATCH_LIMIT, REGEX_DEPTH_LIMIT and REGEX_HEAP_LIMIT_KIB, so
 * no pattern can run long: 1 match, 0 no match, -1 with a message when a
 * limit was hit (no verdict on the text). expect_regex_free() releases both.
 */
int expect_regex_compile(struct expect *e, const char *src, char *msg, size_t msglen);
int expect_regex_match(const struct expect *e, const char *text, size_t len, char *msg,
                       size_t msglen);
void expect_regex_free(struct expect *e);

struct step_result;
/*
 * The scenario's level decides the strength of its own expectations: a
 * finding of a rule whose level is the scenario's (expect.code,
 * expect.text, expect.regex-limit) is a warning in a SHOULD or MAY
 * scenario, so it fails only under --strict; every other rule keeps the
 * level of the RFC sentence it enforces. Downgrades st's findings and
 * recomputes its verdict. level: the scenario's level: header, or NULL.
 * Returns 1 when it downgraded one: the expectation was missed, and the
 * steps after it, written for the expected reply, would judge nonsense, so
 * the scenario ends there (unless the step fails anyway).
 */
int expect_apply_level(struct step_result *st, const char *level, int strict);

#endif
