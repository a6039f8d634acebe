/*
 * report_text.c - the default report, for people reading a terminal.
 *
 * The distinct findings first (findings.c: each with its level, rule, RFC
 * section and sentence, command and reply, hint and the scenarios it
 * affects), then one line per scenario with the failing (and warning) steps
 * with their violations and reply lines under it, then the failed scenarios
 * again with their findings' numbers, then the summary line. Its parts are
 * also what the streamed report on standard output prints as the run goes
 * (report_live.c): the head, one line per scenario, and the tail. Colours
 * only when asked (color argument); does not write anywhere (report.c and
 * report_live.c do).
 */
#include <stdlib.h>
#include <string.h>

#include "findings.h"
#include "report.h"

/* Reply lines a finding shows of its example, and bytes of its command. */
#define TEXT_FINDING_LINES 3
#define TEXT_FINDING_SENT_MAX 160

/*
 * Appends a model string. The model promises valid UTF-8 without control
 * characters; a string that breaks the promise goes through text_escape()
 * whole so no raw control byte ever reaches a terminal. text_escape() keeps
 * clean text as it is except for doubling backslashes, so the string was
 * clean exactly when escaping added one byte per backslash and nothing else.
 */
static void put_text(struct buf *out, const char *s)
{
	struct buf scratch = { 0 };

	if (!s)
		return;
	buf_puts(out, report_clean(s, &scratch));
	buf_free(&scratch);
}

static int has_text(const char *s)
{
	return s && *s;
}

/* ANSI SGR colours of the labels (ECMA-48), used only when asked. */
#define TEXT_SGR_RESET "\033[0m"

static const char *label_sgr(const char *label)
{
	if (strcmp(label, "PASS") == 0)
		return "\033[32m"; /* green */
	if (strcmp(label, "FAIL") == 0)
		return "\033[1;31m"; /* bold red */
	if (strcmp(label, "WARN") == 0)
		return "\033[33m"; /* yellow */
	if (strcmp(label, "ERROR") == 0)
		return "\033[1;35m"; /* bold magenta */
	return "\033[36m";           /* SKIP, WAIVED: cyan */
}

/* label padded to width, coloured when color is set. */
static void put_label(struct buf *out, const char *label, int width, int color)
{
	int pad = width - (int)strlen(label);

	if (color)
		buf_printf(out, "%s%s%s", label_sgr(label), label, TEXT_SGR_RESET);
	else
		buf_puts(out, label);
	if (pad > 0)
		buf_printf(out, "%*s", pad, "");
}

/* The scenario's label: its verdict, or WARN for a pass with warnings. */
static const char *scenario_label(const struct scenario_result *sr)
{
	switch (sr->verdict) {
	case VERDICT_PASS:
	case VERDICT_WARN:
		for (size_t i = 0; i < sr->nsteps; i++)
			if (sr->steps[i].verdict == VERDICT_WARN || step_has_warning(&sr->steps[i]))
				return "WARN";
		return "PASS";
	case VERDICT_FAIL: return sr->waived ? "WAIVED" : "FAIL";
	case VERDICT_SKIP: return "SKIP";
	case VERDICT_ERROR: return "ERROR";
	case VERDICT_INCONCLUSIVE: return "INCONCLUSIVE";
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
		else if (v->severity == SEV_NOTE)
			buf_puts(out, "note: ");
		put_text(out, v->message);
		buf_puts(out, " (");
		put_text(out, findings_level(sr, v));
		buf_puts(out, ", ");
		put_text(out, findings_ref(sr, v));
		buf_puts(out, ")\n");
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

/* "FAIL  core.noop.basic  NOOP gets 250  (5 ms)": the first line of a
 * scenario's block. */
static void render_scenario_line(struct buf *out, const struct scenario_result *sr, int color)
{
	put_label(out, scenario_label(sr), 5, color);
	buf_puts(out, " ");
	put_text(out, has_text(sr->id) ? sr->id : "?");
	if (has_text(sr->title)) {
		buf_puts(out, "  ");
		put_text(out, sr->title);
	}
	buf_printf(out, "  (%lld ms)\n", (long long)sr->duration_ms);
}

static void render_scenario(struct buf *out, const struct scenario_result *sr, int color)
{
	render_scenario_line(out, sr, color);

	if (has_text(sr->reason)) {
		if (sr->verdict == VERDICT_SKIP)
			buf_puts(out, "  skipped: ");
		else if (sr->verdict == VERDICT_ERROR)
			buf_puts(out, "  error: ");
		else if (sr->verdict == VERDICT_INCONCLUSIVE)
			buf_puts(out, "  inconclusive: ");
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
	/* Failing steps, and the steps behind a WARN or a note. */
	for (size_t k = 0; k < sr->nsteps; k++)
		if (sr->steps[k].verdict != VERDICT_PASS || sr->steps[k].nviolations > 0)
			render_step(out, sr, k);
}

void report_text_scenario_line(const struct scenario_result *sr, int color, struct buf *out)
{
	render_scenario_line(out, sr, color);
	if (has_text(sr->reason) && (sr->verdict == VERDICT_SKIP || sr->verdict == VERDICT_ERROR)) {
		/* One line: the reason goes on it (a failure's detail comes at the end). */
		out->len--;
		out->data[out->len] = '\0';
		buf_puts(out, sr->verdict == VERDICT_SKIP ? "  skipped: " : "  error: ");
		put_text(out, sr->reason);
		buf_puts(out, "\n");
	}
}

/*
 * "1. FAIL  MUST  enhancedstatuscodes.missing  RCPT -> 550  (3 scenarios)"
 * then the message, the RFC section and sentence, what was sent, the reply,
 * the hint and the scenarios.
 */
static void render_finding(struct buf *out, const struct run_result *run, const struct finding *f,
                           size_t number, int color)
{
	const struct step_result *st = f->step;

	buf_printf(out, "%zu. ", number);
	put_label(out, findings_label(f), 6, color);
	buf_printf(out, " %-6s ", f->level);
	put_text(out, f->rule);
	buf_puts(out, "  ");
	put_text(out, has_text(f->command) ? f->command : "greeting");
	if (f->code >= 0)
		buf_printf(out, " -> %d", f->code);
	else
		buf_puts(out, " -> no reply");
	buf_printf(out, "  (%zu scenario%s)\n", f->nscenarios, f->nscenarios == 1 ? "" : "s");
	buf_puts(out, "   ");
	put_text(out, f->violation->message);
	buf_puts(out, "\n   rfc: ");
	put_text(out, f->ref);
	if (f->sentence) {
		buf_puts(out, " -- ");
		if (f->sentence_ref && strcmp(f->sentence_ref, f->ref) != 0) {
			put_text(out, f->sentence_ref);
			buf_puts(out, ": ");
		}
		buf_puts(out, "\"");
		put_text(out, f->sentence);
		buf_puts(out, "\"");
	} else if (f->title) {
		buf_puts(out, " -- scenario: ");
		put_text(out, f->title);
	}
	buf_puts(out, "\n");
	if (has_text(st->sent)) {
		size_t len = strlen(st->sent);

		buf_puts(out, "   sent: '");
		if (len > TEXT_FINDING_SENT_MAX) {
			char *cut = xstrndup(st->sent, report_cut(st->sent, TEXT_FINDING_SENT_MAX));

			put_text(out, cut);
			buf_printf(out, "...' (%zu bytes)\n", len);
			free(cut);
		} else {
			put_text(out, st->sent);
			buf_puts(out, "'\n");
		}
	}
	for (size_t i = 0; st->has_reply && i < st->nlines && i < TEXT_FINDING_LINES; i++) {
		buf_puts(out, "   S: ");
		put_text(out, st->lines[i]);
		buf_puts(out, "\n");
	}
	if (st->has_reply && st->lines_total > TEXT_FINDING_LINES)
		buf_printf(out, "   S: ... (%zu more lines)\n",
		           st->lines_total - TEXT_FINDING_LINES);
	if (f->hint) {
		buf_printf(out, "   likely fix (%s): ", hint_kind_name(f->hint->kind));
		put_text(out, f->hint->text);
		buf_puts(out, "\n");
	}
	buf_puts(out, "   scenarios: ");
	for (size_t i = 0; i < f->nscenarios; i++) {
		const struct scenario_result *sr = &run->scenarios[f->scenarios[i]];

		if (i)
			buf_puts(out, ", ");
		put_text(out, has_text(sr->id) ? sr->id : "?");
	}
	buf_puts(out, "\n");
}

static void render_findings(struct buf *out, const struct run_result *run,
                            const struct findings *fs, int color)
{
	if (fs->n == 0)
		return;
	buf_printf(out, "Findings: %zu distinct, %zu failing\n\n", fs->n, fs->nfailing);
	for (size_t i = 0; i < fs->n; i++) {
		render_finding(out, run, &fs->list[i], i + 1, color);
		buf_puts(out, "\n");
	}
}

/* The failed and errored scenarios again, each with its findings' numbers. */
static void render_recap(struct buf *out, const struct run_result *run, const struct findings *fs)
{
	size_t nbad = 0;

	for (size_t i = 0; i < run->nscenarios; i++) {
		const struct scenario_result *sr = &run->scenarios[i];
		int first = 1;

		if ((sr->verdict != VERDICT_FAIL && sr->verdict != VERDICT_ERROR) || sr->waived)
			continue;
		if (nbad++ == 0)
			buf_puts(out, "\nFailed:\n");
		buf_puts(out, "  - ");
		put_text(out, has_text(sr->id) ? sr->id : "?");
		if (sr->verdict == VERDICT_ERROR) {
			buf_puts(out, ": error: ");
			put_text(out, has_text(sr->reason) ? sr->reason : "harness error");
			buf_puts(out, "\n");
			continue;
		}
		for (size_t k = 0; k < fs->n; k++) {
			if (!fs->list[k].failing || !findings_has_scenario(&fs->list[k], i))
				continue;
			buf_printf(out, "%s%zu", first ? ": finding " : ", ", k + 1);
			first = 0;
		}
		buf_puts(out, "\n");
	}
	nbad = 0;
	for (size_t i = 0; i < run->nscenarios; i++) {
		const struct scenario_result *sr = &run->scenarios[i];

		if (sr->verdict != VERDICT_INCONCLUSIVE)
			continue;
		if (nbad++ == 0)
			buf_puts(out, "\nInconclusive (nothing tested):\n");
		buf_puts(out, "  - ");
		put_text(out, has_text(sr->id) ? sr->id : "?");
		buf_puts(out, ": ");
		put_text(out, has_text(sr->reason) ? sr->reason : "a setup step failed");
		buf_puts(out, "\n");
	}
}

/* Every scenario errored for one and the same reason (the target cannot
 * be reached, or never greeted). */
static int one_error_for_all(const struct run_result *run)
{
	if (run->nscenarios < 2)
		return 0;
	for (size_t i = 0; i < run->nscenarios; i++) {
		const struct scenario_result *sr = &run->scenarios[i];
		if (sr->verdict != VERDICT_ERROR || !has_text(sr->reason) ||
		    strcmp(sr->reason, run->scenarios[0].reason) != 0)
			return 0;
	}
	return 1;
}

void report_text_head(const struct run_result *run, struct buf *out)
{
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
	for (size_t i = 0; i < run->npreconditions; i++) {
		buf_puts(out, "precondition: ");
		put_text(out, run->preconditions[i]);
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
}

/* The TLS line: what the scenarios negotiated and whether it was verified. */
static void render_tls(struct buf *out, const struct run_result *run)
{
	const struct scenario_result *first = NULL;

	if (!report_used_tls(run))
		return;
	for (size_t i = 0; i < run->nscenarios && !first; i++)
		if (run->scenarios[i].tls.protocol)
			first = &run->scenarios[i];
	buf_printf(out, "tls: %s, certificate verification %s",
	           run->tls_mode ? run->tls_mode : "starttls", report_tls_verify_name(run));
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
	char *untrusted = report_tls_untrusted_line(run);

	if (untrusted) {
		put_text(out, untrusted);
		buf_puts(out, "\n");
		free(untrusted);
	}
}

static void render_summary(struct buf *out, const struct run_result *run)
{
	const struct run_summary *sum = &run->summary;

	buf_printf(out, "\n%zu scenarios: %zu passed, %zu failed, %zu skipped, %zu errors",
	           sum->total, sum->pass, sum->fail, sum->skip, sum->error);
	if (sum->inconclusive)
		buf_printf(out, ", %zu inconclusive", sum->inconclusive);
	buf_printf(out, " (%lld ms)\n", (long long)run->duration_ms);
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

/* A scenario whose block the streamed report repeats at the end. */
static int needs_detail(const struct scenario_result *sr)
{
	return strcmp(scenario_label(sr), "PASS") != 0 && sr->verdict != VERDICT_SKIP;
}

/* Everything after the head: the TLS line, the findings, the scenarios'
 * blocks (all, or only those that did not pass cleanly), the recap, the
 * summary. */
static void render_body(const struct run_result *run, int only_detail, int color, struct buf *out)
{
	struct findings fs;

	if (only_detail)
		buf_puts(out, "\n"); /* after the streamed lines */
	render_tls(out, run);
	if (!only_detail || report_used_tls(run))
		buf_puts(out, "\n");
	findings_build(run, &fs);
	render_findings(out, run, &fs, color);
	if (one_error_for_all(run)) {
		/* An unreachable target: one cause, said once. */
		buf_printf(out, "ERROR all %zu scenarios: ", run->nscenarios);
		put_text(out, run->scenarios[0].reason);
		buf_puts(out, "\n");
	} else {
		for (size_t i = 0; i < run->nscenarios; i++)
			if (!only_detail || needs_detail(&run->scenarios[i]))
				render_scenario(out, &run->scenarios[i], color);
		render_recap(out, run, &fs);
	}
	findings_free(&fs);
	render_summary(out, run);
}

void report_text_tail(const struct run_result *run, int color, struct buf *out)
{
	size_t start = out->len, o = start;

	render_body(run, 1, color, out);
	/* A part that printed nothing leaves two blank lines: keep one. */
	for (size_t i = start; i < out->len; i++)
		if (!(out->data[i] == '\n' && o - start >= 2 && out->data[o - 1] == '\n' &&
		      out->data[o - 2] == '\n'))
			out->data[o++] = out->data[i];
	out->len = o;
	out->data[o] = '\0';
}

void report_render_text(const struct run_result *run, struct buf *out)
{
	report_text_head(run, out);
	render_body(run, 0, 0, out);
}
