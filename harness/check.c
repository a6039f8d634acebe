/*
 * check.c - one reply's verdict: syntax flags, matrix row, expectation.
 * See check.h. Rule ids are documented in docs/rules.md.
 */
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "matrix.h"
#include "util.h"

char *check_reply_text(const struct reply *r)
{
	struct buf b = {0};
	for (size_t i = 0; i < r->nkept; i++) {
		if (i)
			buf_puts(&b, "\n");
		text_escape(&b, r->kept[i].text, r->kept[i].text_len);
	}
	return buf_steal(&b);
}

static char *kept_line_escaped(const struct reply_kept_line *l)
{
	struct buf b = {0};
	if (l->code >= 0)
		buf_printf(&b, "%03d", l->code);
	if (l->separator)
		text_escape(&b, &l->separator, 1);
	text_escape(&b, l->text, l->text_len);
	return buf_steal(&b);
}

static void copy_reply(const struct reply *r, struct step_result *st)
{
	st->has_reply = 1;
	st->code = r->code;
	st->lines_total = r->nlines;
	st->nlines = r->nkept;
	st->lines = xcalloc(r->nkept ? r->nkept : 1, sizeof(char *));
	for (size_t i = 0; i < r->nkept; i++)
		st->lines[i] = kept_line_escaped(&r->kept[i]);
}

static void check_syntax(const struct reply *r, struct step_result *st)
{
	for (unsigned bit = 0; bit < REPLY_FLAG_COUNT; bit++) {
		unsigned flag = 1u << bit;
		if (!(r->flags & flag))
			continue;
		step_add_violation(st, reply_flag_rule(flag), SEV_ERROR, reply_flag_ref(flag), "%s",
		                   reply_flag_message(flag));
	}
}

static void check_matrix(const char *profile, const char *command, const struct reply *r,
                         struct step_result *st)
{
	if (r->code < 200 || r->code > 599)
		return; /* syntax.code already says it; the matrix has nothing to add */
	const struct matrix_row *row = matrix_lookup(profile, command, r->code);
	if (row && row->severity == MATRIX_WARN) {
		step_add_violation(st, "matrix.nonstandard", SEV_WARN, row->ref,
		                   "%s answered %d: allowed only as a non-standard answer (%s)", command,
		                   r->code, row->note && *row->note ? row->note : row->ref);
		return;
	}
	if (row)
		return;
	char allowed[512];
	matrix_allowed_set(profile, command, allowed, sizeof(allowed));
	step_add_violation(st, "matrix.not-allowed", SEV_ERROR, matrix_command_ref(profile, command),
	                   "%d is not an allowed reply to %s under profile %s (allowed: %s)", r->code,
	                   command, profile, allowed);
}

static void check_expect(const struct expect *e, const struct reply *r, struct step_result *st)
{
	if (!e)
		return;
	if (!e->any && !expect_code_matches(e, r->code)) {
		if (r->code >= 0)
			step_add_violation(st, "expect.code", SEV_ERROR, "scenario", "expected %s, got %03d",
			                   e->source, r->code);
		else
			step_add_violation(st, "expect.code", SEV_ERROR, "scenario",
			                   "expected %s, got a reply without a readable code", e->source);
	}
	if (e->regex_src) {
		char *text = check_reply_text(r);
		if (regexec(&e->regex, text, 0, NULL, 0) != 0)
			step_add_violation(st, "expect.text", SEV_ERROR, "scenario",
			                   "reply text does not match /%s/", e->regex_src);
		free(text);
	}
}

void check_reply(const char *profile, const char *command, const struct reply *r,
                 const struct expect *e, int strict, struct step_result *st)
{
	copy_reply(r, st);
	check_syntax(r, st);
	check_matrix(profile, command, r, st);
	check_expect(e, r, st);
	st->verdict = step_verdict(st, strict);
}
