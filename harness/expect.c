/*
 * expect.c - the expectation of an S: line: its grammar and its matcher.
 *
 * Owns parsing "250|251", "2xx", "*", "503!", "5xx|close" and "~ /regex/"
 * into struct expect, matching a reply code against it, and the PCRE2 regex
 * with its resource limits. Does not read files (scenario_parse.c calls
 * expect_parse for each S: line) nor decide a verdict (check.c does).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "expect.h"
#include "result.h"
#include "rules.h"
#include "scenario_internal.h"
#include "smtp_limits.h"
#include "util.h"

/* ---- regular expressions (PCRE2) ---- */

int expect_regex_compile(struct expect *e, const char *src, char *msg, size_t msglen)
{
	int code;
	PCRE2_SIZE offset;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)src, PCRE2_ZERO_TERMINATED,
	                               PCRE2_DOTALL | PCRE2_DOLLAR_ENDONLY, &code, &offset, NULL);
	if (!re) {
		PCRE2_UCHAR why[256];
		pcre2_get_error_message(code, why, sizeof(why));
		snprintf(msg, msglen, "bad regex /%s/: %s at offset %zu", src, (const char *)why,
		         (size_t)offset);
		return -1;
	}
	e->regex = re;
	e->regex_src = xstrdup(src);
	return 0;
}

/* One match context for the process: the limits never change. */
static pcre2_match_context *regex_limits(void)
{
	static pcre2_match_context *ctx;
	if (!ctx) {
		ctx = pcre2_match_context_create(NULL);
		if (!ctx)
			BUG("pcre2_match_context_create failed");
		pcre2_set_match_limit(ctx, REGEX_MATCH_LIMIT);
		pcre2_set_depth_limit(ctx, REGEX_DEPTH_LIMIT);
		pcre2_set_heap_limit(ctx, REGEX_HEAP_LIMIT_KIB);
	}
	return ctx;
}

int expect_regex_match(const struct expect *e, const char *text, size_t len, char *msg,
                       size_t msglen)
{
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(e->regex, NULL);
	if (!md)
		BUG("pcre2_match_data_create_from_pattern failed");
	int rc = pcre2_match(e->regex, (PCRE2_SPTR)text, len, 0, 0, md, regex_limits());
	pcre2_match_data_free(md);
	if (rc >= 0)
		return 1;
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	PCRE2_UCHAR why[256];
	pcre2_get_error_message(rc, why, sizeof(why));
	snprintf(msg, msglen,
	         "regex /%s/ gave up on this reply: %s (limits: %d steps, depth %d, "
	         "%d KiB; simplify the regex, e.g. without backreferences)",
	         e->regex_src, (const char *)why, REGEX_MATCH_LIMIT, REGEX_DEPTH_LIMIT,
	         REGEX_HEAP_LIMIT_KIB);
	return -1;
}

void expect_regex_free(struct expect *e)
{
	pcre2_code_free(e->regex);
	free(e->regex_src);
	e->regex = NULL;
	e->regex_src = NULL;
}

void expect_free(struct expect *e)
{
	expect_regex_free(e);
	free(e->source);
	memset(e, 0, sizeof(*e));
}

/*
 * Parses an expectation (already trimmed, not "close" alone):
 *   codes [ "~" "/" regex "/" ]     codes = "*" / alt *("|" alt)
 *   alt = code / "close"            code = %x32-35 2(DIGIT / "x")
 * Returns 0, or -1 with a message (no path) in msg.
 */
int expect_parse(const char *text, struct expect *e, char *msg, size_t msglen)
{
	const char *c = text;
	memset(e, 0, sizeof(*e));
	if (*c == '*') {
		e->any = 1;
		c++;
	} else {
		for (;;) {
			while (is_space(*c))
				c++;
			const char *tok = c;
			while (*c && !is_space(*c) && *c != '|' && *c != '~')
				c++;
			size_t len = (size_t)(c - tok);
			if (len == 5 && strncasecmp(tok, "close", 5) == 0) {
				e->close_ok = 1;
				while (is_space(*c))
					c++;
				if (*c != '|')
					break;
				c++;
				continue;
			}
			/* "503!": this answer is acceptable and ends the scenario. */
			int ends = len == 4 && tok[3] == '!';
			if (ends)
				len = 3;
			int ok = len == 3 && tok[0] >= '2' && tok[0] <= '5';
			for (size_t i = 1; ok && i < 3; i++)
				ok = is_digit(tok[i]) || tok[i] == 'x' || tok[i] == 'X';
			if (!ok) {
				snprintf(msg, msglen,
				         "bad reply code \"%.*s\" in expectation \"%s\" (expected "
				         "a code "
				         "such as 250, 25x or 2xx, 503! to end the scenario there, "
				         "alternatives "
				         "joined by |, *, or close)",
				         (int)len, tok, text);
				return -1;
			}
			if (e->nalts == EXPECT_ALTS_MAX) {
				snprintf(msg, msglen,
				         "more than %d alternatives in expectation \"%s\"",
				         EXPECT_ALTS_MAX, text);
				return -1;
			}
			for (size_t i = 0; i < 3; i++)
				e->alts[e->nalts][i] = tok[i] == 'X' ? 'x' : tok[i];
			e->alts[e->nalts][3] = '\0';
			e->alt_ends[e->nalts] = (char)ends;
			e->nalts++;
			while (is_space(*c))
				c++;
			if (*c != '|')
				break;
			c++;
		}
	}
	if (!e->any && e->nalts == 0) {
		snprintf(msg, msglen,
		         "expectation \"%s\" has no reply code; to expect only a close, "
		         "write S: close",
		         text);
		return -1;
	}
	while (is_space(*c))
		c++;
	if (*c == '\0')
		return 0;
	if (*c != '~') {
		snprintf(msg, msglen,
		         "unexpected \"%s\" in expectation \"%s\" (expected ~ /regex/)", c, text);
		return -1;
	}
	c++;
	while (is_space(*c))
		c++;
	const char *last = strrchr(c, '/');
	if (*c != '/' || last == c) {
		snprintf(msg, msglen, "expected /regex/ after ~ in expectation \"%s\"", text);
		return -1;
	}
	if (last[1] != '\0') {
		snprintf(msg, msglen, "unexpected \"%s\" after the regex in expectation \"%s\"",
		         last + 1, text);
		return -1;
	}
	if (last == c + 1) {
		snprintf(msg, msglen, "empty regex in expectation \"%s\"", text);
		return -1;
	}
	char *src = xstrndup(c + 1, (size_t)(last - c - 1));
	int rc = expect_regex_compile(e, src, msg, msglen);
	free(src);
	return rc;
}

/* Index of the first alternative that code matches, or -1 ('*' aside). */
static int matching_alt(const struct expect *e, int code)
{
	if (code < 0 || code > 999)
		return -1;
	char digits[3];
	code_digits(code, digits);
	for (size_t a = 0; a < e->nalts; a++) {
		size_t i = 0;
		while (i < 3 && (e->alts[a][i] == 'x' || e->alts[a][i] == digits[i]))
			i++;
		if (i == 3)
			return (int)a;
	}
	return -1;
}

int expect_code_ends(const struct expect *e, int code)
{
	if (e->any)
		return 0;
	int a = matching_alt(e, code);
	return a >= 0 && e->alt_ends[a]; /* the first alternative that matches decides */
}

int expect_code_matches(const struct expect *e, int code)
{
	return e->any || matching_alt(e, code) >= 0;
}

int expect_apply_level(struct step_result *st, const char *level, int strict)
{
	/* A setup step's unmet expectation is no finding of the scenario's
	 * level: nothing was tested yet (scenario_judge: inconclusive). */
	if (st->setup || !level ||
	    (strcasecmp(level, "SHOULD") != 0 && strcasecmp(level, "MAY") != 0))
		return 0;
	int changed = 0;
	for (size_t i = 0; i < st->nviolations; i++) {
		const struct rule *r = rule_by_id(st->violations[i].rule);
		if (r && r->level == LEVEL_SCENARIO && st->violations[i].severity != SEV_WARN) {
			st->violations[i].severity = SEV_WARN;
			changed = 1;
		}
	}
	if (changed)
		st->verdict = step_verdict(st, strict);
	return changed;
}
