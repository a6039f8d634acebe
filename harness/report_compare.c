/*
 * report_compare.c - several saved runs side by side: the cross-server
 * table (`smtpconform report --from A.json --from B.json --report html:T`).
 *
 * Owns the comparison's layout in HTML and Markdown: one column per run
 * (its label and target), a summary per run (verdict counts; failed
 * findings by level), every scenario grouped by RFC and level with one
 * cell per run linking to the finding that decided it, and per run the
 * distinct findings (findings.c) with level, rule, RFC section, command and
 * reply. Renders only what the runs recorded: judges nothing again. Does
 * not read files (main.c loads the runs) nor write them (report.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "findings.h"
#include "report.h"

/* One scenario id and where it is in each run (SIZE_MAX: not in that run). */
struct row {
	const char *id;
	const struct scenario_result *first; /* its header, from the first run that has it */
	size_t *at;                          /* index into runs[k].scenarios, per run */
};

/* "RFC 5321" from "RFC 5321 4.1.1.1, RFC 1870 6"; "" when ref names none. */
static void ref_rfc(const char *ref, char *out, size_t outlen)
{
	const char *p = ref ? strstr(ref, "RFC ") : NULL;
	size_t n = 0;

	if (!p) {
		snprintf(out, outlen, "%s", "(no RFC)");
		return;
	}
	n = 4;
	while (p[n] >= '0' && p[n] <= '9')
		n++;
	snprintf(out, outlen, "%.*s", (int)n, p);
}

static long rfc_number(const char *rfc)
{
	return strncmp(rfc, "RFC ", 4) == 0 ? strtol(rfc + 4, NULL, 10) : 1000000;
}

static int level_rank(const char *level)
{
	return findings_level_rank(level ? level : "");
}

static int cmp_row(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	char rx[32], ry[32];

	ref_rfc(x->first->ref, rx, sizeof(rx));
	ref_rfc(y->first->ref, ry, sizeof(ry));
	long nx = rfc_number(rx), ny = rfc_number(ry);
	if (nx != ny)
		return nx < ny ? -1 : 1;
	int lx = level_rank(x->first->level), ly = level_rank(y->first->level);
	if (lx != ly)
		return lx - ly;
	return strcmp(x->id, y->id);
}

/* Every scenario id of every run, once, sorted by RFC, level and id. */
static struct row *collect_rows(const struct run_result *runs, size_t nruns, size_t *nrows_out)
{
	struct row *rows = NULL;
	size_t nrows = 0;

	for (size_t k = 0; k < nruns; k++) {
		for (size_t i = 0; i < runs[k].nscenarios; i++) {
			const struct scenario_result *sr = &runs[k].scenarios[i];
			size_t r;
			for (r = 0; r < nrows; r++)
				if (strcmp(rows[r].id, sr->id) == 0)
					break;
			if (r == nrows) {
				rows = xrealloc(rows, (nrows + 1) * sizeof(*rows));
				rows[r].id = sr->id;
				rows[r].first = sr;
				rows[r].at = xmalloc(nruns * sizeof(size_t));
				for (size_t j = 0; j < nruns; j++)
					rows[r].at[j] = SIZE_MAX;
				nrows++;
			}
			if (rows[r].at[k] == SIZE_MAX)
				rows[r].at[k] = i;
		}
	}
	if (nrows)
		qsort(rows, nrows, sizeof(*rows), cmp_row);
	*nrows_out = nrows;
	return rows;
}

static void free_rows(struct row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(rows[i].at);
	free(rows);
}

/* The finding of run findings f that decided scenario sc (its first failing
 * one, else its first), or SIZE_MAX. */
static size_t deciding_finding(const struct findings *f, size_t sc)
{
	size_t any = SIZE_MAX;

	for (size_t i = 0; i < f->n; i++) {
		if (!findings_has_scenario(&f->list[i], sc))
			continue;
		if (f->list[i].failing)
			return i;
		if (any == SIZE_MAX)
			any = i;
	}
	return any;
}

/* What each run's column shows: its label, target and findings. */
struct column {
	const char *label;
	const struct run_result *run;
	struct findings findings;
	size_t must_failed, should_failed, may_failed;
};

static void columns_build(const struct run_result *runs, const char *const *labels, size_t n,
                          struct column *cols)
{
	for (size_t k = 0; k < n; k++) {
		cols[k].label = labels[k];
		cols[k].run = &runs[k];
		findings_build(&runs[k], &cols[k].findings);
		cols[k].must_failed = cols[k].should_failed = cols[k].may_failed = 0;
		for (size_t i = 0; i < cols[k].findings.n; i++) {
			const struct finding *f = &cols[k].findings.list[i];
			if (!f->failing)
				continue;
			int rank = level_rank(f->level);
			if (rank == 0 || rank == 3)
				cols[k].must_failed++;
			else if (rank == 1)
				cols[k].should_failed++;
			else
				cols[k].may_failed++;
		}
	}
}

static void columns_free(struct column *cols, size_t n)
{
	for (size_t k = 0; k < n; k++)
		findings_free(&cols[k].findings);
}

static size_t count_verdict(const struct run_result *run, enum verdict v)
{
	size_t c = 0;

	for (size_t i = 0; i < run->nscenarios; i++)
		if (run->scenarios[i].verdict == v &&
		    !(v == VERDICT_FAIL && run->scenarios[i].waived))
			c++;
	return c;
}

/* 1 when h opens a new group (RFC and level), whose name goes to group. */
static int next_group(const struct scenario_result *h, char *group, size_t len)
{
	char rfc[32], cur[96];

	ref_rfc(h->ref, rfc, sizeof(rfc));
	snprintf(cur, sizeof(cur), "%s %s", rfc, h->level && *h->level ? h->level : "");
	if (strcmp(cur, group) == 0)
		return 0;
	snprintf(group, len, "%s", cur);
	return 1;
}

/* Both forms' input: the columns and the rows. */
struct table {
	struct column *cols;
	size_t n;
	struct row *rows;
	size_t nrows;
};

static void table_open(struct table *t, const struct run_result *runs, const char *const *labels,
                       size_t n)
{
	t->cols = xcalloc(n ? n : 1, sizeof(*t->cols));
	t->n = n;
	t->rows = collect_rows(runs, n, &t->nrows);
	columns_build(runs, labels, n, t->cols);
}

static void table_close(struct table *t)
{
	free_rows(t->rows, t->nrows);
	columns_free(t->cols, t->n);
	free(t->cols);
}

/* ---------------------------------------------------------------- HTML */

static const char compare_css[] =
    "body{font:15px/1.45 system-ui,sans-serif;margin:1.5em auto;max-width:80em;padding:0 1em;"
    "color:#1b1b1b}\n"
    "h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em}\n"
    "table{border-collapse:collapse;margin:.6em 0}\n"
    "th,td{border:1px solid #ccc;padding:.25em .5em;vertical-align:top;text-align:left}\n"
    "th{background:#f3f3f3}\n"
    "td.c{text-align:center;min-width:4em}\n"
    "td.pass{background:#e6f4ea}td.fail{background:#fbe3e3;font-weight:600}\n"
    "td.skip,td.none{background:#f6f6f6;color:#666}td.error{background:#fff1d6}\n"
    "td.inconclusive{background:#fff8cc}td.warn{background:#fff1d6}\n"
    "td.c a{color:inherit;text-decoration:none;display:block}\n"
    "td.c a:hover{text-decoration:underline}\n"
    "tr.group th{background:#e8eef7;text-align:left}\n"
    "th.sc{font-weight:normal;background:#fafafa}th.sc small{color:#555}\n"
    "code{font:13px ui-monospace,monospace}\n"
    ".finding{margin:.5em 0 .9em;padding:.4em .7em;border-left:4px solid #c33}\n"
    ".finding.warn{border-color:#c90}\n"
    ".scroll{overflow-x:auto}\n";

static void put_col_head(struct buf *out, const struct column *c)
{
	buf_puts(out, "<th scope=\"col\">");
	report_put_html(out, c->label);
	if (c->run->target && *c->run->target) {
		buf_puts(out, "<br><small>");
		report_put_html(out, c->run->target);
		buf_puts(out, "</small>");
	}
	buf_puts(out, "</th>");
}

static void html_summary(struct buf *out, const struct column *cols, size_t n)
{
	static const struct {
		const char *name;
		int verdict; /* -1: a findings count */
	} lines[] = {
		{ "scenarios", -2 },      { "pass", VERDICT_PASS },   { "fail", VERDICT_FAIL },
		{ "skip", VERDICT_SKIP }, { "error", VERDICT_ERROR },
	};

	buf_puts(out, "<h2 id=\"summary\">Summary per run</h2>\n<div class=\"scroll\"><table>"
	              "<thead><tr><th></th>");
	for (size_t k = 0; k < n; k++)
		put_col_head(out, &cols[k]);
	buf_puts(out, "</tr></thead><tbody>\n");
	for (size_t l = 0; l < sizeof(lines) / sizeof(lines[0]); l++) {
		buf_printf(out, "<tr><th scope=\"row\">%s</th>", lines[l].name);
		for (size_t k = 0; k < n; k++) {
			size_t v = lines[l].verdict == -2
			               ? cols[k].run->nscenarios
			               : count_verdict(cols[k].run, (enum verdict)lines[l].verdict);
			buf_printf(out, "<td class=\"c\">%zu</td>", v);
		}
		buf_puts(out, "</tr>\n");
	}
	buf_puts(out, "<tr><th scope=\"row\">distinct failing findings: MUST / SHOULD / MAY</th>");
	for (size_t k = 0; k < n; k++)
		buf_printf(out, "<td class=\"c\">%zu / %zu / %zu</td>", cols[k].must_failed,
		           cols[k].should_failed, cols[k].may_failed);
	buf_puts(out, "</tr>\n<tr><th scope=\"row\">started</th>");
	for (size_t k = 0; k < n; k++) {
		buf_puts(out, "<td class=\"c\">");
		report_put_html(out, cols[k].run->started ? cols[k].run->started : "");
		buf_puts(out, "</td>");
	}
	buf_puts(out, "</tr>\n</tbody></table></div>\n");
}

static void html_cell(struct buf *out, const struct column *c, size_t col, size_t sc)
{
	if (sc == SIZE_MAX) {
		buf_puts(out, "<td class=\"c none\">&ndash;</td>");
		return;
	}
	const struct scenario_result *sr = &c->run->scenarios[sc];
	const char *v = sr->waived ? "waived" : verdict_name(sr->verdict);
	size_t f = sr->verdict == VERDICT_PASS ? SIZE_MAX : deciding_finding(&c->findings, sc);
	buf_printf(out, "<td class=\"c %s\">", verdict_name(sr->verdict));
	if (f != SIZE_MAX) {
		const struct finding *fd = &c->findings.list[f];
		buf_printf(out, "<a href=\"#r%zu-f%zu\" title=\"", col, f);
		report_put_html(out, fd->level ? fd->level : "");
		buf_puts(out, " ");
		report_put_html(out, fd->rule);
		buf_puts(out, ": ");
		report_put_html(out, fd->violation->message);
		buf_printf(out, "\">%s</a>", v);
	} else if (sr->reason && *sr->reason) {
		buf_puts(out, "<span title=\"");
		report_put_html(out, sr->reason);
		buf_printf(out, "\">%s</span>", v);
	} else {
		buf_puts(out, v);
	}
	buf_puts(out, "</td>");
}

static void html_grid(struct buf *out, const struct column *cols, size_t n, const struct row *rows,
                      size_t nrows)
{
	char group[96] = "";

	buf_puts(out, "<h2 id=\"scenarios\">Scenarios by RFC and level</h2>\n<div class=\"scroll\">"
	              "<table><thead><tr><th scope=\"col\">scenario</th>");
	for (size_t k = 0; k < n; k++)
		put_col_head(out, &cols[k]);
	buf_puts(out, "</tr></thead><tbody>\n");
	for (size_t r = 0; r < nrows; r++) {
		const struct scenario_result *h = rows[r].first;
		if (next_group(h, group, sizeof(group))) {
			buf_printf(out, "<tr class=\"group\"><th colspan=\"%zu\">", n + 1);
			report_put_html(out, group);
			buf_puts(out, "</th></tr>\n");
		}
		buf_puts(out, "<tr><th scope=\"row\" class=\"sc\"><code>");
		report_put_html(out, h->id);
		buf_puts(out, "</code> <small>");
		report_put_html(out, h->ref ? h->ref : "");
		buf_puts(out, "</small></th>");
		for (size_t k = 0; k < n; k++)
			html_cell(out, &cols[k], k, rows[r].at[k]);
		buf_puts(out, "</tr>\n");
	}
	buf_puts(out, "</tbody></table></div>\n");
}

static void html_findings(struct buf *out, const struct column *c, size_t col)
{
	buf_printf(out, "<h2 id=\"r%zu\">", col);
	report_put_html(out, c->label);
	buf_printf(out, ": %zu distinct findings</h2>\n", c->findings.n);
	for (size_t i = 0; i < c->findings.n; i++) {
		const struct finding *f = &c->findings.list[i];
		const struct scenario_result *ex = &c->run->scenarios[f->example];
		buf_printf(out, "<div class=\"finding%s\" id=\"r%zu-f%zu\"><b>%s</b> ",
		           f->failing ? "" : " warn", col, i, findings_label(f));
		report_put_html(out, f->level ? f->level : "");
		buf_puts(out, " <code>");
		report_put_html(out, f->rule);
		buf_puts(out, "</code> (");
		report_put_html(out, f->ref && *f->ref ? f->ref : "no RFC section recorded");
		buf_puts(out, "): ");
		report_put_html(out, f->violation->message);
		if (f->sentence) {
			buf_puts(out, "<br><q>");
			report_put_html(out, f->sentence);
			buf_puts(out, "</q>");
		}
		if (f->step && f->step->sent && *f->step->sent) {
			buf_puts(out, "<br>sent <code>");
			report_put_html(out, f->step->sent);
			buf_puts(out, "</code>");
		}
		if (f->step && f->step->nlines) {
			buf_puts(out, "<br>reply <code>");
			report_put_html(out, f->step->lines[0]);
			buf_puts(out, "</code>");
		}
		buf_printf(out, "<br><small>%zu scenario%s, e.g. <code>", f->nscenarios,
		           f->nscenarios == 1 ? "" : "s");
		report_put_html(out, ex->id);
		buf_puts(out, "</code></small></div>\n");
	}
}

void report_render_compare_html(const struct run_result *runs, const char *const *labels, size_t n,
                                struct buf *out)
{
	struct table t;
	table_open(&t, runs, labels, n);

	buf_puts(out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	              "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
	              "<title>SMTP conformance side by side</title><style>");
	buf_puts(out, compare_css);
	buf_printf(out,
	           "</style></head><body>\n<h1>SMTP conformance: %zu runs side by side</h1>\n"
	           "<p>Each column is one saved run (<code>smtpconform report --from</code>); "
	           "a cell links to the finding that decided it, and its tooltip names the "
	           "level, the rule and the message. &ndash;: the run did not include the "
	           "scenario.</p>\n",
	           n);
	html_summary(out, t.cols, n);
	html_grid(out, t.cols, n, t.rows, t.nrows);
	for (size_t k = 0; k < n; k++)
		html_findings(out, &t.cols[k], k);
	buf_puts(out, "</body></html>\n");
	table_close(&t);
}

/* ------------------------------------------------------------ Markdown */

/* Appends s with the characters that would break a table cell escaped. */
static void md_cell(struct buf *out, const char *s)
{
	struct buf scratch = { 0 };
	const char *clean = report_clean(s, &scratch);

	for (const char *p = clean; *p; p++) {
		if (*p == '|' || *p == '\\' || *p == '`' || *p == '*' || *p == '_' || *p == '<')
			buf_append(out, "\\", 1);
		buf_append(out, p, 1);
	}
	buf_free(&scratch);
}

/* A table's head: first column's title, then one column per run. */
static void md_head(struct buf *out, const char *first, const struct column *cols, size_t n)
{
	buf_printf(out, "| %s |", first);
	for (size_t k = 0; k < n; k++) {
		buf_puts(out, " ");
		md_cell(out, cols[k].label);
		buf_puts(out, " |");
	}
	buf_puts(out, "\n|---|");
	for (size_t k = 0; k < n; k++)
		buf_puts(out, "---|");
	buf_puts(out, "\n");
}

void report_render_compare_md(const struct run_result *runs, const char *const *labels, size_t n,
                              struct buf *out)
{
	struct table t;
	table_open(&t, runs, labels, n);
	struct column *cols = t.cols;
	const struct row *rows = t.rows;
	size_t nrows = t.nrows;
	char group[96] = "";

	buf_printf(out, "# SMTP conformance: %zu runs side by side\n\n", n);
	md_head(out, "", cols, n);
	buf_puts(out, "| pass / fail / skip / error |");
	for (size_t k = 0; k < n; k++)
		buf_printf(out, " %zu / %zu / %zu / %zu |",
		           count_verdict(cols[k].run, VERDICT_PASS),
		           count_verdict(cols[k].run, VERDICT_FAIL),
		           count_verdict(cols[k].run, VERDICT_SKIP),
		           count_verdict(cols[k].run, VERDICT_ERROR));
	buf_puts(out, "\n| failing findings MUST / SHOULD / MAY |");
	for (size_t k = 0; k < n; k++)
		buf_printf(out, " %zu / %zu / %zu |", cols[k].must_failed, cols[k].should_failed,
		           cols[k].may_failed);
	buf_puts(out, "\n\n");
	for (size_t r = 0; r < nrows; r++) {
		const struct scenario_result *h = rows[r].first;
		if (next_group(h, group, sizeof(group))) {
			buf_puts(out, "\n### ");
			md_cell(out, group);
			buf_puts(out, "\n\n");
			md_head(out, "scenario", cols, n);
		}
		buf_puts(out, "| ");
		md_cell(out, h->id);
		buf_puts(out, " |");
		for (size_t k = 0; k < n; k++) {
			size_t sc = rows[r].at[k];
			if (sc == SIZE_MAX) {
				buf_puts(out, " - |");
				continue;
			}
			const struct scenario_result *sr = &cols[k].run->scenarios[sc];
			size_t f = sr->verdict == VERDICT_PASS
			               ? SIZE_MAX
			               : deciding_finding(&cols[k].findings, sc);
			buf_printf(out, " %s", sr->waived ? "waived" : verdict_name(sr->verdict));
			if (f != SIZE_MAX) {
				buf_puts(out, " (");
				md_cell(out, cols[k].findings.list[f].rule);
				buf_puts(out, ")");
			}
			buf_puts(out, " |");
		}
		buf_puts(out, "\n");
	}
	table_close(&t);
}
