/*
 * report_md.c - a short Markdown summary to paste into a pull request or a
 * release ticket: the verdict line, target, profile, version, the totals
 * line, the distinct findings (findings.c: level, rule, command and reply
 * code, RFC section with its sentence quoted, hint, scenarios), a table of
 * the failed (and errored) scenarios with their findings' numbers, the skips
 * grouped by reason.
 *
 * Bounded whatever the run size (about 60 lines): long lists end
 * in "... and N more", long free texts are cut (never an RFC sentence).
 * Model strings are escaped for Markdown and HTML (GitHub renders inline
 * HTML). Does not write anywhere.
 */
#include <stdlib.h>
#include <string.h>

#include "findings.h"
#include "report.h"
#include "tls.h"

#define MD_MAX_FINDINGS 12
#define MD_MAX_FAIL_ROWS 20
#define MD_MAX_SKIP_GROUPS 6
#define MD_MAX_IDS 3        /* scenario ids a finding names before "and N more" */
#define MD_MAX_SENTENCE 600 /* bytes of an RFC sentence: longer than any in rules.c */
#define MD_MAX_TEXT 120     /* bytes of one free-text field */

/*
 * Appends s (cut to max bytes at a UTF-8 boundary, "..." added) with HTML's
 * five characters as entities and Markdown's inline punctuation
 * backslash-escaped, so it is plain text in a paragraph, a list item or a
 * table cell. A string breaking the model's promise is text_escape()d first.
 */
static void put_md(struct buf *out, const char *s, size_t max)
{
	struct buf escaped = { 0 };
	size_t len, backslashes = 0, cut;
	const char *p;

	if (!s)
		return;
	len = strlen(s);
	for (size_t i = 0; i < len; i++)
		if (s[i] == '\\')
			backslashes++;
	text_escape(&escaped, s, len);
	p = escaped.len == len + backslashes ? s : escaped.data;
	len = escaped.len == len + backslashes ? len : escaped.len;
	cut = report_cut(p, max);
	for (size_t i = 0; i < cut; i++) {
		switch (p[i]) {
		case '&': buf_puts(out, "&amp;"); break;
		case '<': buf_puts(out, "&lt;"); break;
		case '>': buf_puts(out, "&gt;"); break;
		case '"': buf_puts(out, "&quot;"); break;
		case '\'': buf_puts(out, "&#39;"); break;
		case '\\':
		case '`':
		case '*':
		case '_':
		case '[':
		case ']':
		case '|':
		case '~':
		case '#': buf_printf(out, "\\%c", p[i]); break;
		default: buf_append(out, &p[i], 1);
		}
	}
	if (cut < len)
		buf_puts(out, "...");
	buf_free(&escaped);
}

static int has_text(const char *s)
{
	return s && *s;
}

/* The first error violation of the failing step (else the first at all). */
static void first_violation(const struct scenario_result *sr, const struct violation **vp,
                            const struct step_result **stp)
{
	*vp = NULL;
	*stp = NULL;
	for (int pass = 0; pass < 2; pass++)
		for (size_t k = 0; k < sr->nsteps; k++) {
			const struct step_result *st = &sr->steps[k];

			for (size_t i = 0; i < st->nviolations; i++) {
				if (pass == 0 && (st->verdict != VERDICT_FAIL ||
				                  st->violations[i].severity != SEV_ERROR))
					continue;
				*vp = &st->violations[i];
				*stp = st;
				return;
			}
		}
}

/* "RFC 5321 4.3.2 -- RFC 5321 4.3.1: &quot;sentence&quot;", or the scenario's title. */
static void put_rfc(struct buf *out, const struct finding *f)
{
	put_md(out, f->ref, MD_MAX_TEXT);
	if (f->sentence) {
		buf_puts(out, " &#8212; ");
		if (f->sentence_ref && strcmp(f->sentence_ref, f->ref) != 0) {
			put_md(out, f->sentence_ref, MD_MAX_TEXT);
			buf_puts(out, ": ");
		}
		buf_puts(out, "&quot;");
		put_md(out, f->sentence, MD_MAX_SENTENCE);
		buf_puts(out, "&quot;");
	} else if (f->title) {
		buf_puts(out, " &#8212; scenario: ");
		put_md(out, f->title, MD_MAX_TEXT);
	}
}

static void render_findings(struct buf *out, const struct run_result *run,
                            const struct findings *fs)
{
	size_t shown = fs->n < MD_MAX_FINDINGS ? fs->n : MD_MAX_FINDINGS;

	if (fs->n == 0)
		return;
	buf_printf(out, "### Findings (%zu distinct, %zu failing)\n\n", fs->n, fs->nfailing);
	buf_puts(out, "| # | verdict | level | rule | command | RFC | scenarios | likely fix |\n"
	              "|---|---|---|---|---|---|---|---|\n");
	for (size_t i = 0; i < shown; i++) {
		const struct finding *f = &fs->list[i];

		buf_printf(out, "| %zu | %s | ", i + 1, findings_label(f));
		put_md(out, f->level, MD_MAX_TEXT);
		buf_puts(out, " | ");
		put_md(out, f->rule, MD_MAX_TEXT);
		buf_puts(out, " | ");
		put_md(out, has_text(f->command) ? f->command : "-", MD_MAX_TEXT);
		if (f->code >= 0)
			buf_printf(out, " &#8594; %d", f->code);
		buf_puts(out, " | ");
		put_rfc(out, f);
		buf_printf(out, " | %zu: ", f->nscenarios);
		for (size_t k = 0; k < f->nscenarios && k < MD_MAX_IDS; k++) {
			if (k)
				buf_puts(out, ", ");
			put_md(out, run->scenarios[f->scenarios[k]].id, MD_MAX_TEXT);
		}
		if (f->nscenarios > MD_MAX_IDS)
			buf_printf(out, " and %zu more", f->nscenarios - MD_MAX_IDS);
		buf_puts(out, " | ");
		if (f->hint) {
			buf_printf(out, "%s: ", hint_kind_name(f->hint->kind));
			put_md(out, f->hint->text, MD_MAX_SENTENCE);
		} else {
			buf_puts(out, "-");
		}
		buf_puts(out, " |\n");
	}
	if (fs->n > shown)
		buf_printf(out,
		           "\n... and %zu more findings (the text, HTML and JSON reports list "
		           "them all)\n",
		           fs->n - shown);
	buf_puts(out, "\n");
}

/* The level of the strongest failing finding of scenario i: a finding
 * carries the level of the RFC sentence it enforces (a MUST finding fails a
 * SHOULD scenario as a MUST, NOOP's 251 is 4.3.1's SHOULD in a MUST
 * scenario), as in the findings table; NULL when no finding says. */
static const char *failed_level(const struct findings *fs, size_t i)
{
	const char *best = NULL;
	for (size_t k = 0; k < fs->n; k++) {
		const char *lv = fs->list[k].level;
		if (fs->list[k].failing && lv && findings_level_rank(lv) < 3 &&
		    findings_has_scenario(&fs->list[k], i) &&
		    (!best || findings_level_rank(lv) < findings_level_rank(best)))
			best = lv;
	}
	return best;
}

static void render_failures(struct buf *out, const struct run_result *run,
                            const struct findings *fs)
{
	size_t nbad = 0, shown = 0;

	for (size_t i = 0; i < run->nscenarios; i++)
		if (run->scenarios[i].verdict == VERDICT_FAIL ||
		    run->scenarios[i].verdict == VERDICT_ERROR)
			nbad++;
	if (nbad == 0) {
		buf_puts(out, "No failures.\n");
		return;
	}
	buf_printf(out, "### Failures (%zu)\n\n", nbad);
	buf_puts(out, "| scenario | level | findings | first violation | command | ref |\n"
	              "|---|---|---|---|---|---|\n");
	for (size_t i = 0; i < run->nscenarios && shown < MD_MAX_FAIL_ROWS; i++) {
		const struct scenario_result *sr = &run->scenarios[i];
		const struct violation *v;
		const struct step_result *st;
		int first = 1;

		if (sr->verdict != VERDICT_FAIL && sr->verdict != VERDICT_ERROR)
			continue;
		shown++;
		buf_puts(out, "| ");
		put_md(out, has_text(sr->id) ? sr->id : "?", MD_MAX_TEXT);
		if (sr->waived)
			buf_puts(out, " (waived)");
		buf_puts(out, " | ");
		const char *level = failed_level(fs, i);
		if (!level)
			level = has_text(sr->level) ? sr->level : "-";
		put_md(out, level, MD_MAX_TEXT);
		buf_puts(out, " | ");
		for (size_t k = 0; k < fs->n; k++) {
			if (!findings_has_scenario(&fs->list[k], i) ||
			    (!fs->list[k].failing && !fs->list[k].waived))
				continue;
			buf_printf(out, "%s%zu", first ? "" : ", ", k + 1);
			first = 0;
		}
		if (first)
			buf_puts(out, "-");
		buf_puts(out, " | ");
		first_violation(sr, &v, &st);
		if (sr->verdict == VERDICT_ERROR) {
			buf_puts(out, "error: ");
			put_md(out, has_text(sr->reason) ? sr->reason : "harness error",
			       MD_MAX_TEXT);
			buf_puts(out, " | - | ");
		} else if (v) {
			put_md(out, has_text(v->rule) ? v->rule : "?", MD_MAX_TEXT);
			buf_puts(out, " | ");
			put_md(out, has_text(st->command) ? st->command : "-", MD_MAX_TEXT);
			if (st->has_reply && st->code >= 0)
				buf_printf(out, " &#8594; %d", st->code);
			buf_puts(out, " | ");
		} else {
			buf_puts(out, "- | - | ");
		}
		put_md(out,
		       v                   ? findings_ref(sr, v)
		       : has_text(sr->ref) ? sr->ref
		                           : "-",
		       MD_MAX_TEXT);
		buf_puts(out, " |\n");
	}
	if (nbad > shown)
		buf_printf(out, "\n... and %zu more\n", nbad - shown);
}

/* The skipped (or inconclusive) scenarios, grouped by reason. */
static void render_reasons(struct buf *out, const struct run_result *run, enum verdict which,
                           const char *title, size_t count)
{
	const char **reasons;
	size_t *counts, ngroups = 0, shown;

	if (count == 0)
		return;
	reasons = xcalloc(run->nscenarios, sizeof(*reasons));
	counts = xcalloc(run->nscenarios, sizeof(*counts));
	for (size_t i = 0; i < run->nscenarios; i++) {
		const struct scenario_result *sr = &run->scenarios[i];
		const char *r = has_text(sr->reason) ? sr->reason : "no reason given";
		size_t g;

		if (sr->verdict != which)
			continue;
		for (g = 0; g < ngroups && strcmp(reasons[g], r) != 0; g++)
			;
		if (g == ngroups)
			reasons[ngroups++] = r;
		counts[g]++;
	}
	buf_printf(out, "\n### %s (%zu)\n\n", title, count);
	shown = ngroups < MD_MAX_SKIP_GROUPS ? ngroups : MD_MAX_SKIP_GROUPS;
	for (size_t g = 0; g < shown; g++) {
		buf_printf(out, "- %zu scenario%s: ", counts[g], counts[g] == 1 ? "" : "s");
		put_md(out, reasons[g], MD_MAX_TEXT);
		buf_puts(out, "\n");
	}
	if (ngroups > shown)
		buf_printf(out, "- ... and %zu more reasons\n", ngroups - shown);
	free(reasons);
	free(counts);
}

void report_render_md(const struct run_result *run, struct buf *out)
{
	const struct run_summary *sum = &run->summary;
	struct findings fs;
	struct buf verdict = { 0 };

	findings_build(run, &fs);
	report_verdict_line(run, &fs, &verdict);
	buf_puts(out, "## SMTP conformance: ");
	put_md(out, has_text(run->target) ? run->target : "unknown target", MD_MAX_TEXT);
	buf_puts(out, "\n\n**");
	put_md(out, verdict.data, MD_MAX_SENTENCE);
	buf_puts(out, "**\n\n- Target: ");
	buf_free(&verdict);
	put_md(out, has_text(run->target) ? run->target : "-", MD_MAX_TEXT);
	buf_puts(out, "\n- Profile: ");
	put_md(out, has_text(run->profile) ? run->profile : "-", MD_MAX_TEXT);
	if (run->strict)
		buf_puts(out, " (strict)");
	buf_puts(out, "\n- Version: ");
	put_md(out, has_text(run->tool_name) ? run->tool_name : "smtpconform", MD_MAX_TEXT);
	buf_puts(out, " ");
	put_md(out, has_text(run->tool_version) ? run->tool_version : "?", MD_MAX_TEXT);
	if (has_text(run->started)) {
		buf_puts(out, "\n- Started: ");
		put_md(out, run->started, MD_MAX_TEXT);
	}
	if (report_used_tls(run)) {
		buf_puts(out, "\n- TLS: ");
		put_md(out, run->tls_mode ? run->tls_mode : "starttls", MD_MAX_TEXT);
		buf_puts(out, run->tls_verify == TLS_VERIFY_REQUIRE
		                  ? ", certificate verification required"
		              : run->tls_verify ? ", certificate verification on"
		                                : ", **certificate verification OFF**");
		char *untrusted = report_tls_untrusted_line(run);

		if (untrusted) {
			buf_puts(out, "\n- **");
			put_md(out, untrusted, MD_MAX_SENTENCE);
			buf_puts(out, "**");
			free(untrusted);
		}
	}
	for (size_t i = 0; i < run->npreconditions; i++) {
		buf_puts(out, "\n- Precondition: ");
		put_md(out, run->preconditions[i], MD_MAX_SENTENCE);
	}
	buf_printf(out, "\n\n**%zu scenarios: %zu passed, %zu failed, %zu skipped, %zu errors",
	           sum->total, sum->pass, sum->fail, sum->skip, sum->error);
	if (sum->inconclusive)
		buf_printf(out, ", %zu inconclusive", sum->inconclusive);
	buf_printf(out, "** (%lld ms)\n\n", (long long)run->duration_ms);
	if (run->interrupted)
		buf_puts(out, "**Run interrupted: results are partial.**\n\n");
	render_findings(out, run, &fs);
	render_failures(out, run, &fs);
	render_reasons(out, run, VERDICT_INCONCLUSIVE, "Inconclusive: nothing tested",
	               sum->inconclusive);
	render_reasons(out, run, VERDICT_SKIP, "Skipped", sum->skip);
	findings_free(&fs);
}
