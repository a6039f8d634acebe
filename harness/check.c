/*
 * check.c - one reply's verdict: syntax flags, matrix row, expectation.
 * See check.h. Rules are named from the rule table (rules.h).
 */
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "matrix.h"
#include "util.h"

char *check_reply_text(const struct reply *r)
{
	struct buf b = { 0 };
	for (size_t i = 0; i < r->nkept; i++) {
		if (i)
			buf_puts(&b, "\n");
		text_escape(&b, r->kept[i].text, r->kept[i].text_len);
	}
	return buf_steal(&b);
}

static char *kept_line_escaped(const struct reply_kept_line *l)
{
	struct buf b = { 0 };
	if (l->code >= 0) {
		char digits[3];
		code_digits(l->code, digits);
		buf_append(&b, digits, 3);
	}
	if (l->separator)
		text_escape(&b, &l->separator, 1);
	text_escape(&b, l->text, l->text_len);
	return buf_steal(&b);
}

static size_t enhanced_code_len(const uint8_t *t, size_t n, char *class_out);

static void copy_reply(const struct reply *r, struct step_result *st)
{
	char cls;
	size_t len;

	st->has_reply = 1;
	st->code = r->code;
	st->reply_flags = r->flags;
	len = r->nkept ? enhanced_code_len(r->kept[0].text, r->kept[0].text_len, &cls) : 0;
	free(st->enhanced_code);
	st->enhanced_code = len ? xstrndup((const char *)r->kept[0].text, len) : NULL;
	st->lines_total = r->nlines;
	st->nlines = r->nkept;
	st->lines = xcalloc(r->nkept ? r->nkept : 1, sizeof(char *));
	for (size_t i = 0; i < r->nkept; i++) {
		st->lines[i] = kept_line_escaped(&r->kept[i]);
		redact(st->lines[i]); /* a server echoing a secret never puts it in a record */
	}
}

void check_syntax_flags(unsigned flags, struct step_result *st)
{
	st->reply_flags |= flags;
	for (unsigned bit = 0; bit < REPLY_FLAG_COUNT; bit++) {
		unsigned flag = 1u << bit;
		if (!(flags & flag))
			continue;
		step_add_violation(st, reply_flag_rule(flag), NULL, "%s",
		                   rule_get(reply_flag_rule(flag))->message);
	}
}

static void check_matrix(const char *profile, const char *command, const struct reply *r,
                         struct step_result *st)
{
	if (r->code < 200 || r->code > 599)
		return; /* syntax.code already says it; the matrix has nothing to add */
	const struct matrix_row *row = matrix_lookup(profile, command, r->code);
	if (row && row->severity == MATRIX_WARN) {
		step_add_violation(st, RULE_MATRIX_NONSTANDARD, row->ref,
		                   RULE_MSG_MATRIX_NONSTANDARD, command, r->code,
		                   row->note && *row->note ? row->note : row->ref);
		return;
	}
	if (row)
		return;
	char allowed[512];
	matrix_allowed_set(profile, command, allowed, sizeof(allowed));
	step_add_violation(st, RULE_MATRIX_NOT_ALLOWED, matrix_command_ref(profile, command),
	                   RULE_MSG_MATRIX_NOT_ALLOWED, r->code, command, profile, allowed);
}

static void check_expect(const struct expect *e, const struct reply *r, struct step_result *st)
{
	if (!e)
		return;
	if (!e->any && !expect_code_matches(e, r->code)) {
		if (r->code >= 0)
			step_add_violation(st, RULE_EXPECT_CODE, NULL, RULE_MSG_EXPECT_CODE,
			                   e->source, r->code);
		else
			step_add_violation(st, RULE_EXPECT_CODE, NULL,
			                   RULE_MSG_EXPECT_CODE_UNREADABLE, e->source);
	}
	if (e->regex_src) {
		char *text = check_reply_text(r);
		char why[512];
		int rc = expect_regex_match(e, text, strlen(text), why, sizeof(why));
		if (rc == 0)
			step_add_violation(st, RULE_EXPECT_TEXT, NULL, RULE_MSG_EXPECT_TEXT,
			                   e->regex_src);
		else if (rc < 0)
			step_add_violation(st, RULE_EXPECT_REGEX_LIMIT, NULL,
			                   RULE_MSG_EXPECT_REGEX_LIMIT, why);
		free(text);
	}
}

void check_reply(const char *profile, const char *command, const struct reply *r,
                 const struct expect *e, int strict, struct step_result *st)
{
	copy_reply(r, st);
	check_syntax_flags(r->flags, st);
	check_matrix(profile, command, r, st);
	check_expect(e, r, st);
	st->verdict = step_verdict(st, strict);
}

/* Length of "class.subject.detail" at the start of text, or 0 when absent. */
static size_t enhanced_code_len(const uint8_t *t, size_t n, char *class_out)
{
	size_t i = 0;
	if (n < 5 || (t[0] != '2' && t[0] != '4' && t[0] != '5') || t[1] != '.')
		return 0;
	*class_out = (char)t[0];
	i = 2;
	for (int part = 0; part < 2; part++) {
		size_t start = i;
		while (i < n && i - start < 4 && t[i] >= '0' && t[i] <= '9')
			i++;
		if (i == start || i - start > 3)
			return 0;
		if (part == 0) {
			if (i >= n || t[i] != '.')
				return 0;
			i++;
		}
	}
	/* The code is followed by SP, or ends the line. */
	if (i < n && t[i] != ' ')
		return 0;
	return i;
}

void check_enhanced_status(const struct reply *r, int strict, struct step_result *st)
{
	int first = r->code / 100;
	if (r->code < 200 || first == 3 || first > 5 || r->nkept == 0)
		return;
	const struct reply_kept_line *l0 = &r->kept[0];
	char cls = 0;
	size_t len0 = enhanced_code_len(l0->text, l0->text_len, &cls);
	if (!len0) {
		step_add_violation(st, RULE_ENHANCED_MISSING, NULL, RULE_MSG_ENHANCED_MISSING,
		                   r->code, st->command ? st->command : "?");
		st->verdict = step_verdict(st, strict);
		return;
	}
	if (cls - '0' != first)
		step_add_violation(st, RULE_ENHANCED_CLASS, NULL, RULE_MSG_ENHANCED_CLASS, cls,
		                   r->code);
	for (size_t i = 1; i < r->nkept; i++) {
		const struct reply_kept_line *l = &r->kept[i];
		char c2 = 0;
		size_t len = enhanced_code_len(l->text, l->text_len, &c2);
		if (len != len0 || memcmp(l->text, l0->text, len0) != 0) {
			step_add_violation(st, RULE_ENHANCED_MISSING, NULL,
			                   RULE_MSG_ENHANCED_MISSING_LINE, i + 1, r->code,
			                   (int)len0, (const char *)l0->text);
			break;
		}
	}
	st->verdict = step_verdict(st, strict);
}

static int is_alnum(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

void check_ehlo_keywords(const struct reply *r, int strict, struct step_result *st)
{
	if (r->code != 250)
		return;
	for (size_t i = 1; i < r->nkept; i++) {
		const uint8_t *t = r->kept[i].text;
		size_t n = r->kept[i].text_len, k = 0;
		int ok = n > 0 && is_alnum(t[0]);
		while (ok && k < n && t[k] != ' ') {
			ok = is_alnum(t[k]) || t[k] == '-';
			k++;
		}
		/* Parameters: SP-separated runs of %d33-126. */
		while (ok && k < n) {
			if (t[k] != ' ' || k + 1 >= n || t[k + 1] == ' ') {
				ok = 0;
				break;
			}
			k++;
			while (k < n && t[k] != ' ') {
				ok = t[k] >= 33 && t[k] <= 126;
				if (!ok)
					break;
				k++;
			}
		}
		if (!ok) {
			char *line = text_escape_dup(t, n);
			step_add_violation(st, RULE_EHLO_KEYWORD_SYNTAX, NULL,
			                   RULE_MSG_EHLO_KEYWORD_SYNTAX, i + 1, line);
			free(line);
		}
	}
	st->verdict = step_verdict(st, strict);
}

int check_ehlo_lists(const struct reply *r, const char *keyword)
{
	size_t kn = strlen(keyword);
	if (r->code != 250)
		return 0;
	for (size_t i = 1; i < r->nkept; i++) {
		const struct reply_kept_line *l = &r->kept[i];
		if (l->text_len >= kn && strncasecmp((const char *)l->text, keyword, kn) == 0 &&
		    (l->text_len == kn || l->text[kn] == ' '))
			return 1;
	}
	return 0;
}
