/*
 * report_text.c - the default report, for people reading a terminal.
 *
 * One line per scenario, the failing (and warning) steps with their
 * violations and reply lines under it, then the summary line. Does not
 * colour anything and does not write anywhere (report.c does).
 */
#include <string.h>

#include "report.h"

/*
 * Appends a model string. The model promises valid UTF-8 without control
 * characters; a string that breaks the promise goes through text_escape()
 * whole so no raw control byte ever reaches a terminal. text_escape() keeps
 * clean text as it is except for doubling backslashes, so the string was
 * clean exactly when escaping added one byte per backslash and nothing else.
 */
static void put_text(struct buf *out, const char *s)
{
	struct buf scratch = {0};

	if (!s)
		return;
	buf_puts(out, report_clean(s, &scratch));
	buf_free(&scratch);
}

static int has_text(const char *s)
{
	return s && *s;
}

/* The scenario's label: its verdict, or WARN for a pass with warnings. */
static const char *scenario_label(const struct scenario_result *sr)
{
	switch (sr->verdict) {
	case VERDICT_PASS:
	case VERDICT_WARN:
		for (size_t i = 0; i < sr->nsteps; i++)
			if (sr->steps[i].verdict == VERDICT_WARN ||
			    sr->steps[i].nviolations > 0)
				return "WARN";
		return "PASS";
	case VERDICT_FAIL: return sr->waived ? "WAIVED" : "FAIL";
	case VERDICT_SKIP: return "SKIP";
	case VERDICT_ERROR: return "ERROR";
	}
	BUG("unknown verdict");
}

/* "  step 3/5 file:12: sent 'RCPT TO:<a@b>' expected 250|251 got 550" */
static void render_step(struct buf *out, const struct scenario_result *sr, size_t k)
{
	const struct step_result *st = &sr->steps[k];

	buf_printf(out, "  step %zu/%zu ", k + 1, sr->nsteps);
	put_text(out, has_text(st->file) ? st->file : sr->file);
	buf_printf(out, ":%d: ", st->line);
	if (has_text(st->sent)) {
		buf_puts(out, "sent '");
		put_text(out, st->sent);
		buf_puts(out, "'");
	} else {
		put_text(out, has_text(st->command) ? st->command : "greeting");
	}
	buf_puts(out, " expected ");
	put_text(out, has_text(st->expect) ? st->expect : "?");
	if (!st->has_reply)
		buf_puts(out, " got no reply");
	else if (st->code < 0)
		buf_puts(out, " got an unreadable reply");
	else
		buf_printf(out, " got %d", st->code);
	buf_puts(out, "\n");

	for (size_t i = 0; i < st->nviolations; i++) {
		const struct violation *v = &st->violations[i];

		buf_puts(out, "    [");
		put_text(out, v->rule);
		buf_puts(out, "] ");
		if (v->severity == SEV_WARN)
			buf_puts(out, "warning: ");
		put_text(out, v->message);
		if (has_text(v->ref)) {
			buf_puts(out, " (");
			put_text(out, v->ref);
			buf_puts(out, ")");
		}
		buf_puts(out, "\n");
	}
	if (!st->has_reply)
		return;
	for (size_t i = 0; i < st->nlines; i++) {
		buf_puts(out, "    S: ");
		put_text(out, st->lines[i]);
		buf_puts(out, "\n");
	}
	if (st->lines_total > st->nlines)
		buf_printf(out, "    S: ... (%zu more lines not kept)\n",
		           st->lines_total - st->nlines);
}

static void render_scenario(struct buf *out, const struct scenario_result *sr)
{
	buf_printf(out, "%-5s ", scenario_label(sr));
	put_text(out, has_text(sr->id) ? sr->id : "?");
	if (has_text(sr->title)) {
		buf_puts(out, "  ");
		put_text(out, sr->title);
	}
	buf_printf(out, "  (%lld ms)\n", (long long)sr->duration_ms);

	if (has_text(sr->reason)) {
		if (sr->verdict == VERDICT_SKIP)
			buf_puts(out, "  skipped: ");
		else if (sr->verdict == VERDICT_ERROR)
			buf_puts(out, "  error: ");
		else
			buf_puts(out, "  reason: ");
		put_text(out, sr->reason);
		buf_puts(out, "\n");
	}
	if (sr->waived) {
		buf_puts(out, "  waived: ");
		put_text(out, sr->waiver);
		buf_puts(out, "\n");
	}
	if (sr->verdict == VERDICT_SKIP || sr->verdict == VERDICT_ERROR)
		return;
	/* Failing steps, and the steps behind a WARN. */
	for (size_t k = 0; k < sr->nsteps; k++)
		if (sr->steps[k].verdict != VERDICT_PASS || sr->steps[k].nviolations > 0)
			render_step(out, sr, k);
}

void report_render_text(const struct run_result *run, struct buf *out)
{
	const struct run_summary *sum = &run->summary;

	put_text(out, has_text(run->tool_name) ? run->tool_name : "smtpconform");
	if (has_text(run->tool_version)) {
		buf_puts(out, " ");
		put_text(out, run->tool_version);
	}
	if (has_text(run->target)) {
		buf_puts(out, ": target ");
		put_text(out, run->target);
	}
	if (has_text(run->profile)) {
		buf_puts(out, ", profile ");
		put_text(out, run->profile);
	}
	if (run->strict)
		buf_puts(out, ", strict");
	buf_puts(out, "\n");
	if (run->greeting) {
		buf_puts(out, "greeting: ");
		put_text(out, run->greeting);
		buf_puts(out, "\n");
	}
	if (run->tls_probed) {
		buf_puts(out, "ehlo keywords after STARTTLS:");
		for (size_t i = 0; i < run->nehlo_keywords_tls; i++) {
			buf_puts(out, i ? ", " : " ");
			put_text(out, run->ehlo_keywords_tls[i]);
		}
		buf_puts(out, "\n");
	}
	if (report_used_tls(run)) {
		const struct scenario_result *first = NULL;
		for (size_t i = 0; i < run->nscenarios && !first; i++)
			if (run->scenarios[i].tls.protocol)
				first = &run->scenarios[i];
		buf_printf(out, "tls: %s, certificate verification %s", run->tls_mode ? run->tls_mode : "starttls",
		           run->tls_verify ? "on" : "OFF (--tls-verify=off)");
		if (first) {
			buf_puts(out, "; ");
			put_text(out, first->tls.protocol);
			buf_puts(out, " ");
			put_text(out, first->tls.cipher);
			if (first->tls.subject) {
				buf_puts(out, ", peer ");
				put_text(out, first->tls.subject);
			}
		}
		buf_puts(out, "\n");
	}
	buf_puts(out, "\n");

	for (size_t i = 0; i < run->nscenarios; i++)
		render_scenario(out, &run->scenarios[i]);

	buf_printf(out, "\n%zu scenarios: %zu passed, %zu failed, %zu skipped, %zu errors (%lld ms)\n",
	           sum->total, sum->pass, sum->fail, sum->skip, sum->error,
	           (long long)run->duration_ms);
	if (run->baseline) {
		buf_printf(out, "baseline %s: %zu known deviation%s waived\n", run->baseline,
		           sum->waived, sum->waived == 1 ? "" : "s");
		for (size_t i = 0; i < run->nstale_waivers; i++) {
			buf_puts(out, "  stale waiver: ");
			put_text(out, run->stale_waivers[i]);
			buf_puts(out, "\n");
		}
	}
	if (run->interrupted)
		buf_puts(out, "run interrupted: results are partial\n");
}
