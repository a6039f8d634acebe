/*
 * report_html.c - one self-contained HTML5 page for people: header with the
 * run's verdict, a summary by level and by RFC (sorted) with an inline SVG
 * bar, the distinct findings (findings.c: level, rule, RFC section with its
 * sentence quoted, command and reply, hint, links to the scenarios), the
 * capability probe and TLS, the observed command x reply-code grid coloured
 * against the matrix (each cell links to the scenarios behind it), and every
 * scenario (passes collapsed, failures with the steps that broke a rule
 * highlighted).
 *
 * Inline CSS and SVG only: no script, no external resource, no URL at all,
 * so the file works offline and prints (see @media print). Every model
 * string is HTML-escaped. Does not write anywhere (report.c does).
 */
#include <stdlib.h>
#include <string.h>

#include "findings.h"
#include "matrix.h"
#include "report.h"
#include "tls.h"

#define HTML_SENT_MAX 300 /* bytes of a finding's command shown */

/* ------------------------------------------------------------ escaping */

static void html_escape_n(struct buf *out, const char *s, size_t len)
{
	size_t start = 0;

	for (size_t i = 0; i < len; i++) {
		const char *ent;

		switch (s[i]) {
		case '&': ent = "&amp;"; break;
		case '<': ent = "&lt;"; break;
		case '>': ent = "&gt;"; break;
		case '"': ent = "&quot;"; break;
		case '\'': ent = "&#39;"; break;
		default: continue;
		}
		buf_append(out, s + start, i - start);
		buf_puts(out, ent);
		start = i + 1;
	}
	buf_append(out, s + start, len - start);
}

/*
 * Appends a model string HTML-escaped. Like the text report, a string that
 * breaks the model's promise (control bytes, invalid UTF-8) goes through
 * text_escape() whole first, so no raw control byte reaches the page.
 */
static void put_html(struct buf *out, const char *s)
{
	struct buf scratch = { 0 };

	if (!s)
		return;
	const char *clean = report_clean(s, &scratch);
	html_escape_n(out, clean, strlen(clean));
	buf_free(&scratch);
}

void report_put_html(struct buf *out, const char *s)
{
	put_html(out, s);
}

static int has_text(const char *s)
{
	return s && *s;
}

static void put_or(struct buf *out, const char *s, const char *fallback)
{
	put_html(out, has_text(s) ? s : fallback);
}

/* ------------------------------------------------------------ tallies */

struct tally {
	char name[32];
	size_t total, pass, fail, skip, error;
};

static void tally_add(struct tally *t, enum verdict v)
{
	t->total++;
	switch (v) {
	case VERDICT_PASS:
	case VERDICT_WARN: t->pass++; break;
	case VERDICT_FAIL: t->fail++; break;
	case VERDICT_SKIP:
	case VERDICT_INCONCLUSIVE: t->skip++; break; /* not tested either */
	case VERDICT_ERROR: t->error++; break;
	}
}

/* "RFC 5321" from "RFC 5321 4.3.2, RFC 1870 4"; "" when there is none. */
static void first_rfc(const char *ref, char *out, size_t outlen)
{
	const char *p = ref;

	out[0] = '\0';
	while (p && (p = strstr(p, "RFC")) != NULL) {
		const char *d = p + 3;
		size_t n = 0;

		while (*d == ' ')
			d++;
		while (d[n] >= '0' && d[n] <= '9' && n < 6)
			n++;
		if (n > 0) {
			snprintf(out, outlen, "RFC %.*s", (int)n, d);
			return;
		}
		p += 3;
	}
}

/* The scenario passed but a step carries a (warn) violation. */
static int has_warning(const struct scenario_result *sr)
{
	for (size_t i = 0; i < sr->nsteps; i++)
		if (step_has_warning(&sr->steps[i]) || sr->steps[i].verdict == VERDICT_WARN)
			return 1;
	return 0;
}

static const char *label_of(const struct scenario_result *sr)
{
	switch (sr->verdict) {
	case VERDICT_PASS:
	case VERDICT_WARN: return has_warning(sr) ? "WARN" : "PASS";
	case VERDICT_FAIL: return "FAIL";
	case VERDICT_SKIP: return "SKIP";
	case VERDICT_ERROR: return "ERROR";
	case VERDICT_INCONCLUSIVE: return "INCONCLUSIVE";
	}
	BUG("unknown verdict");
}

static const char *class_of(const struct scenario_result *sr)
{
	switch (sr->verdict) {
	case VERDICT_PASS:
	case VERDICT_WARN: return has_warning(sr) ? "warn" : "pass";
	case VERDICT_FAIL: return "fail";
	case VERDICT_SKIP: return "skip";
	case VERDICT_ERROR: return "error";
	case VERDICT_INCONCLUSIVE: return "skip";
	}
	BUG("unknown verdict");
}

/* A stacked bar of pass/fail/skip/error, as inline SVG (no xmlns needed). */
static void svg_bar(struct buf *out, const struct tally *t, int height, const char *label)
{
	static const struct {
		const char *cls, *name;
	} parts[] = {
		{ "pass", "passed" },
		{ "fail", "failed" },
		{ "skip", "skipped" },
		{ "error", "errors" },
	};
	size_t counts[4] = { t->pass, t->fail, t->skip, t->error };
	double x = 0.0;

	buf_printf(out,
	           "<svg class=\"bar\" viewBox=\"0 0 1000 %d\" preserveAspectRatio=\"none\" "
	           "height=\"%d\" role=\"img\" aria-label=\"",
	           height, height);
	put_html(out, label);
	buf_puts(out, "\">");
	if (t->total == 0) {
		buf_printf(out,
		           "<rect class=\"empty\" x=\"0\" y=\"0\" width=\"1000\" height=\"%d\"/>",
		           height);
	}
	for (size_t i = 0; i < 4 && t->total > 0; i++) {
		double w;

		if (counts[i] == 0)
			continue;
		w = 1000.0 * (double)counts[i] / (double)t->total;
		buf_printf(out,
		           "<rect class=\"%s\" x=\"%.2f\" y=\"0\" width=\"%.2f\" height=\"%d\">"
		           "<title>%zu %s</title></rect>",
		           parts[i].cls, x, w, height, counts[i], parts[i].name);
		x += w;
	}
	buf_puts(out, "</svg>");
}

static void tally_row(struct buf *out, const struct tally *t)
{
	buf_puts(out, "<tr><th scope=\"row\">");
	put_html(out, t->name);
	buf_printf(out,
	           "</th><td class=\"num\">%zu</td><td class=\"num pass-t\">%zu</td>"
	           "<td class=\"num fail-t\">%zu</td><td class=\"num\">%zu</td>"
	           "<td class=\"num\">%zu</td><td class=\"barcell\">",
	           t->total, t->pass, t->fail, t->skip, t->error);
	svg_bar(out, t, 12, t->name);
	buf_puts(out, "</td></tr>\n");
}

static void tally_table(struct buf *out, const char *caption, const char *first_col,
                        const struct tally *rows, size_t n)
{
	buf_puts(out, "<table class=\"tally\"><caption>");
	buf_puts(out, caption);
	buf_puts(out, "</caption>\n<thead><tr><th scope=\"col\">");
	buf_puts(out, first_col);
	buf_puts(out,
	         "</th><th scope=\"col\">total</th><th scope=\"col\">passed</th>"
	         "<th scope=\"col\">failed</th><th scope=\"col\">skipped</th>"
	         "<th scope=\"col\">errors</th><th scope=\"col\"></th></tr></thead>\n<tbody>\n");
	for (size_t i = 0; i < n; i++)
		tally_row(out, &rows[i]);
	buf_puts(out, "</tbody></table>\n");
}

/* "RFC 821" < "RFC 1870" < "RFC 5321" < "no RFC". */
static int cmp_rfc(const void *a, const void *b)
{
	const struct tally *x = a, *y = b;
	long nx = strncmp(x->name, "RFC ", 4) == 0 ? strtol(x->name + 4, NULL, 10) : -1;
	long ny = strncmp(y->name, "RFC ", 4) == 0 ? strtol(y->name + 4, NULL, 10) : -1;

	if (nx < 0 || ny < 0)
		return (nx < 0) - (ny < 0);
	return (nx > ny) - (nx < ny);
}

static void render_summary(struct buf *out, const struct run_result *run)
{
	static const char *const levels[] = { "MUST", "SHOULD", "MAY" };
	struct tally all = { .name = "all" };
	struct tally lv[4] = {
		{ .name = "MUST" }, { .name = "SHOULD" }, { .name = "MAY" }, { .name = "other" }
	};
	struct tally *rfc = xcalloc(run->nscenarios + 1, sizeof(*rfc));
	size_t nrfc = 0, nlv = 3;

	for (size_t i = 0; i < run->nscenarios; i++) {
		const struct scenario_result *sr = &run->scenarios[i];
		size_t l = 3, r;
		char name[32];

		tally_add(&all, sr->verdict);
		for (size_t k = 0; k < 3; k++)
			if (sr->level && strcmp(sr->level, levels[k]) == 0)
				l = k;
		tally_add(&lv[l], sr->verdict);

		first_rfc(sr->ref, name, sizeof(name));
		if (!name[0])
			snprintf(name, sizeof(name), "no RFC");
		for (r = 0; r < nrfc; r++)
			if (strcmp(rfc[r].name, name) == 0)
				break;
		if (r == nrfc) {
			snprintf(rfc[r].name, sizeof(rfc[r].name), "%s", name);
			nrfc++;
		}
		tally_add(&rfc[r], sr->verdict);
	}
	if (lv[3].total > 0)
		nlv = 4;
	qsort(rfc, nrfc, sizeof(*rfc), cmp_rfc);

	buf_puts(out, "<section id=\"summary\">\n<h2>Summary</h2>\n");
	buf_printf(out,
	           "<p class=\"totals\"><strong>%zu scenarios</strong>: "
	           "<span class=\"pass-t\">%zu passed</span>, "
	           "<span class=\"fail-t\">%zu failed</span>, %zu skipped, %zu errors",
	           run->summary.total, run->summary.pass, run->summary.fail, run->summary.skip,
	           run->summary.error);
	if (run->summary.inconclusive)
		buf_printf(out,
		           ", %zu inconclusive (counted with the skipped below: nothing tested)",
		           run->summary.inconclusive);
	buf_printf(out, " (%lld ms)</p>\n", (long long)run->duration_ms);
	all.total = run->summary.total;
	all.pass = run->summary.pass;
	all.fail = run->summary.fail;
	all.skip = run->summary.skip + run->summary.inconclusive;
	all.error = run->summary.error;
	svg_bar(out, &all, 28, "summary of all scenarios");
	buf_puts(out, "<p class=\"legend\"><span class=\"sw pass\"></span> passed "
	              "<span class=\"sw fail\"></span> failed "
	              "<span class=\"sw skip\"></span> skipped "
	              "<span class=\"sw error\"></span> errors</p>\n");
	buf_puts(out, "<div class=\"cols\">\n");
	tally_table(out,
	            "By scenario level (the <code>level:</code> header; each finding has its "
	            "own, under Findings)",
	            "level", lv, nlv);
	tally_table(out, "By RFC (first RFC the scenario cites, in RFC order)", "RFC", rfc, nrfc);
	buf_puts(out, "</div>\n</section>\n");
	free(rfc);
}

/* ------------------------------------------------------------ findings */

/* The RFC section, then the sentence quoted (or the scenario's title). */
static void put_rfc_sentence(struct buf *out, const char *ref, const char *sentence,
                             const char *sentence_ref, const char *title)
{
	buf_puts(out, "<p class=\"rfc\"><cite>");
	put_html(out, ref);
	buf_puts(out, "</cite>");
	if (!sentence && title) {
		buf_puts(out, " &#8212; scenario: ");
		put_html(out, title);
	}
	buf_puts(out, "</p>\n");
	if (!sentence)
		return;
	buf_puts(out, "<blockquote class=\"sentence\">&#8220;");
	put_html(out, sentence);
	buf_puts(out, "&#8221;");
	if (sentence_ref && strcmp(sentence_ref, ref) != 0) {
		buf_puts(out, " &#8212; <cite>");
		put_html(out, sentence_ref);
		buf_puts(out, "</cite>");
	}
	buf_puts(out, "</blockquote>\n");
}

static void render_finding(struct buf *out, const struct run_result *run, const struct finding *f,
                           size_t number)
{
	const struct step_result *st = f->step;
	const char *label = findings_label(f);
	const char *cls = f->failing                             ? "fail"
	                  : f->waived || f->severity == SEV_NOTE ? "skip"
	                                                         : "warn";

	buf_printf(out,
	           "<li class=\"finding %s\" id=\"f-%zu\"><p class=\"fhead\">"
	           "<span class=\"badge %s\">%s</span> <strong>",
	           cls, number, cls, label);
	put_html(out, f->level);
	buf_puts(out, "</strong> <code class=\"rule\">");
	put_html(out, f->rule);
	buf_puts(out, "</code> <code>");
	put_or(out, f->command, "greeting");
	buf_puts(out, "</code>");
	if (f->code >= 0)
		buf_printf(out, " &#8594; %d", f->code);
	else
		buf_puts(out, " &#8594; no reply");
	buf_printf(out, " <span class=\"meta\">%zu scenario%s</span></p>\n<p>", f->nscenarios,
	           f->nscenarios == 1 ? "" : "s");
	put_html(out, f->violation->message);
	buf_puts(out, "</p>\n");
	put_rfc_sentence(out, f->ref, f->sentence, f->sentence_ref, f->title);
	if (has_text(st->sent)) {
		size_t keep = report_cut(st->sent, HTML_SENT_MAX);
		char *sent = xstrndup(st->sent, keep);

		buf_puts(out, "<pre class=\"c\">C: ");
		put_html(out, sent);
		if (keep < strlen(st->sent))
			buf_printf(out, "... (%zu bytes)", strlen(st->sent));
		buf_puts(out, "</pre>\n");
		free(sent);
	}
	if (st->has_reply && st->nlines > 0) {
		buf_puts(out, "<pre class=\"s\">");
		for (size_t i = 0; i < st->nlines; i++) {
			buf_puts(out, i ? "\nS: " : "S: ");
			put_html(out, st->lines[i]);
		}
		buf_puts(out, "</pre>\n");
	}
	if (f->hint) {
		buf_printf(out, "<p class=\"hint\"><strong>Likely fix (%s)</strong>: ",
		           hint_kind_name(f->hint->kind));
		put_html(out, f->hint->text);
		buf_puts(out, "</p>\n");
	}
	buf_puts(out, "<p class=\"affects\">Scenarios: ");
	for (size_t i = 0; i < f->nscenarios; i++) {
		buf_printf(out, "%s<a href=\"#sc-%zu\">", i ? ", " : "", f->scenarios[i] + 1);
		put_or(out, run->scenarios[f->scenarios[i]].id, "?");
		buf_puts(out, "</a>");
	}
	buf_puts(out, "</p></li>\n");
}

static void render_findings(struct buf *out, const struct run_result *run,
                            const struct findings *fs)
{
	buf_puts(out, "<section id=\"findings\">\n");
	buf_printf(out, "<h2>Findings (%zu distinct, %zu failing)</h2>\n", fs->n, fs->nfailing);
	if (fs->n == 0) {
		buf_puts(out, "<p><em>no findings</em></p>\n</section>\n");
		return;
	}
	buf_puts(
	    out,
	    "<p class=\"legend\">One entry per cause: the same rule, command, reply "
	    "code and reply text across scenarios. Failing findings first, then by level.</p>\n"
	    "<ol class=\"findings\">\n");
	for (size_t i = 0; i < fs->n; i++)
		render_finding(out, run, &fs->list[i], i + 1);
	buf_puts(out, "</ol>\n</section>\n");
}

/* ------------------------------------------------------------ probe, TLS */

static void put_keywords(struct buf *out, char *const *kw, size_t n)
{
	if (n == 0) {
		buf_puts(out, "<em>none</em>");
		return;
	}
	buf_puts(out, "<ul class=\"kw\">");
	for (size_t i = 0; i < n; i++) {
		buf_puts(out, "<li><code>");
		put_html(out, kw[i]);
		buf_puts(out, "</code></li>");
	}
	buf_puts(out, "</ul>");
}

static void render_server(struct buf *out, const struct run_result *run)
{
	size_t ntls = 0;

	buf_puts(out, "<section id=\"server\">\n<h2>Server</h2>\n<dl class=\"facts\">\n");
	buf_puts(out, "<dt>Greeting</dt><dd>");
	if (run->greeting) {
		buf_puts(out, "<code>");
		put_html(out, run->greeting);
		buf_puts(out, "</code>");
	} else {
		buf_puts(out, "<em>no capability probe</em>");
	}
	buf_puts(out, "</dd>\n");
	for (size_t i = 0; i < run->npreconditions; i++) {
		buf_puts(out, "<dt>Precondition</dt><dd>");
		put_html(out, run->preconditions[i]);
		buf_puts(out, "</dd>\n");
	}
	if (run->greeting) {
		buf_puts(out, "<dt>EHLO keywords</dt><dd>");
		put_keywords(out, run->ehlo_keywords, run->nehlo_keywords);
		buf_puts(out, "</dd>\n");
		if (run->tls_probed) {
			buf_puts(out, "<dt>EHLO keywords after STARTTLS</dt><dd>");
			put_keywords(out, run->ehlo_keywords_tls, run->nehlo_keywords_tls);
			buf_puts(out, "</dd>\n");
		}
	}
	buf_puts(out, "<dt>TLS</dt><dd>");
	if (!report_used_tls(run)) {
		buf_puts(out, "not used");
	} else {
		put_html(out, run->tls_mode ? run->tls_mode : "starttls");
		if (run->tls_verify == TLS_VERIFY_REQUIRE)
			buf_puts(out, ", certificate verification required");
		else if (run->tls_verify)
			buf_puts(out, ", certificate verification on");
		else
			buf_puts(out, " <span class=\"alert\">certificate verification was OFF "
			              "(--tls-verify=off): the peer was not authenticated</span>");
	}
	buf_puts(out, "</dd>\n</dl>\n");

	for (size_t i = 0; i < run->nscenarios; i++)
		if (run->scenarios[i].tls.protocol)
			ntls++;
	if (ntls > 0) {
		buf_printf(out,
		           "<details class=\"tls\"%s><summary>TLS sessions "
		           "(%zu scenarios)</summary>\n<table class=\"list\"><thead><tr>"
		           "<th>scenario</th><th>protocol</th><th>cipher</th><th>peer subject</th>"
		           "<th>verified</th></tr></thead><tbody>\n",
		           ntls <= 12 ? " open" : "", ntls);
		for (size_t i = 0; i < run->nscenarios; i++) {
			const struct scenario_result *sr = &run->scenarios[i];

			if (!sr->tls.protocol)
				continue;
			buf_puts(out, "<tr><td><code>");
			put_or(out, sr->id, "?");
			buf_puts(out, "</code></td><td>");
			put_html(out, sr->tls.protocol);
			buf_puts(out, "</td><td>");
			put_html(out, sr->tls.cipher);
			buf_puts(out, "</td><td>");
			if (sr->tls.subject)
				put_html(out, sr->tls.subject);
			else
				buf_puts(out, "<em>none</em>");
			buf_puts(out, "</td><td>");
			if (sr->tls.verified) {
				buf_puts(out, "yes");
			} else if (!run->tls_verify) {
				buf_puts(out, "<span class=\"alert\">no (verification off)</span>");
			} else {
				buf_puts(out, "<span class=\"alert\">no");
				if (sr->tls.verify_error) {
					buf_puts(out, ": ");
					put_html(out, sr->tls.verify_error);
				}
				buf_puts(out, "</span>");
			}
			buf_puts(out, "</td></tr>\n");
		}
		buf_puts(out, "</tbody></table></details>\n");
	}
	buf_puts(out, "</section>\n");
}

/* ------------------------------------------------------------ the grid */

enum cell { CELL_NONE = 0, CELL_OK, CELL_WARN, CELL_BAD };
static const char *const cell_class[] = { "none", "ok", "warn", "bad" };

/*
 * How one observed reply stands, from what the run recorded: a finding
 * about the reply itself (its syntax, its code against the matrix) colours
 * the cell by its recorded severity; other findings (expectation, session)
 * say nothing about the command x code pair. Nothing is judged again here.
 */
static enum cell step_cell(const struct step_result *st)
{
	int warn = 0;

	for (size_t i = 0; i < st->nviolations; i++) {
		const struct violation *v = &st->violations[i];
		const struct rule *r = rule_get(v->id);

		if (!r || (r->category != RULE_CAT_SYNTAX && r->category != RULE_CAT_MATRIX))
			continue;
		if (v->severity == SEV_ERROR)
			return CELL_BAD;
		warn = 1;
	}
	return warn ? CELL_WARN : CELL_OK;
}

static int in_grid(const struct step_result *st)
{
	return st->has_reply && st->code >= 0 && has_text(st->command);
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* Each flagged cell's scenarios, as links: the targets of the cells' links. */
static void render_cell_index(struct buf *out, const struct run_result *run,
                              const char *const *cmds, size_t ncmds, const int *codes,
                              size_t ncodes, const enum cell *cls)
{
	int any = 0;

	for (size_t r = 0; r < ncmds; r++)
		for (size_t c = 0; c < ncodes; c++) {
			size_t nlinks = 0;

			if (cls[r * ncodes + c] == CELL_NONE || cls[r * ncodes + c] == CELL_OK)
				continue;
			if (!any++)
				buf_puts(out, "<dl class=\"cells\">\n");
			buf_printf(out, "<dt id=\"cell-%zu-%zu\"><code>", r + 1, c + 1);
			put_html(out, cmds[r]);
			buf_printf(out, "</code> &#8594; %d</dt><dd>", codes[c]);
			for (size_t i = 0; i < run->nscenarios; i++) {
				const struct scenario_result *sr = &run->scenarios[i];
				int hit = 0;

				for (size_t k = 0; k < sr->nsteps && !hit; k++)
					hit = in_grid(&sr->steps[k]) &&
					      sr->steps[k].code == codes[c] &&
					      strcmp(sr->steps[k].command, cmds[r]) == 0;
				if (!hit)
					continue;
				buf_printf(out, "%s<a href=\"#sc-%zu\">", nlinks++ ? ", " : "",
				           i + 1);
				put_or(out, sr->id, "?");
				buf_puts(out, "</a>");
			}
			buf_puts(out, "</dd>\n");
		}
	if (any)
		buf_puts(out, "</dl>\n");
}

static void render_grid(struct buf *out, const struct run_result *run)
{
	const char *profile = has_text(run->profile) ? run->profile : MATRIX_DEFAULT_PROFILE;
	size_t nsteps = 0, ncmds = 0, ncodes = 0;
	const char **cmds;
	int *codes;
	size_t *count, *first;
	enum cell *cls;

	for (size_t i = 0; i < run->nscenarios; i++)
		nsteps += run->scenarios[i].nsteps;

	buf_puts(out, "<section id=\"grid\">\n<h2>Commands &#215; reply codes observed</h2>\n");
	if (nsteps == 0) {
		buf_puts(out, "<p><em>no replies observed</em></p>\n</section>\n");
		return;
	}
	cmds = xcalloc(nsteps, sizeof(*cmds));
	codes = xcalloc(nsteps, sizeof(*codes));
	for (size_t i = 0; i < run->nscenarios; i++) {
		const struct scenario_result *sr = &run->scenarios[i];

		for (size_t k = 0; k < sr->nsteps; k++) {
			const struct step_result *st = &sr->steps[k];
			size_t j;

			if (!in_grid(st))
				continue;
			for (j = 0; j < ncmds && strcmp(cmds[j], st->command) != 0; j++)
				;
			if (j == ncmds)
				cmds[ncmds++] = st->command;
			for (j = 0; j < ncodes && codes[j] != st->code; j++)
				;
			if (j == ncodes)
				codes[ncodes++] = st->code;
		}
	}
	if (ncmds == 0) {
		buf_puts(out, "<p><em>no replies observed</em></p>\n</section>\n");
		free(cmds);
		free(codes);
		return;
	}
	qsort(codes, ncodes, sizeof(*codes), cmp_int);
	count = xcalloc(ncmds * ncodes, sizeof(*count));
	cls = xcalloc(ncmds * ncodes, sizeof(*cls));
	first = xcalloc(ncmds * ncodes, sizeof(*first));
	for (size_t i = 0; i < run->nscenarios; i++) {
		const struct scenario_result *sr = &run->scenarios[i];

		for (size_t k = 0; k < sr->nsteps; k++) {
			const struct step_result *st = &sr->steps[k];
			size_t r = 0, c = 0;
			enum cell e;

			if (!in_grid(st))
				continue;
			while (strcmp(cmds[r], st->command) != 0)
				r++;
			while (codes[c] != st->code)
				c++;
			e = step_cell(st);
			if (count[r * ncodes + c] == 0)
				first[r * ncodes + c] = i;
			count[r * ncodes + c]++;
			if (e > cls[r * ncodes + c])
				cls[r * ncodes + c] = e;
		}
	}

	buf_puts(out, "<p class=\"legend\">Profile <code>");
	put_html(out, profile);
	buf_puts(out,
	         "</code>. Each cell counts the replies seen and links to the scenario "
	         "behind it (a flagged cell: to the list of its scenarios below the grid). "
	         "<span class=\"sw ok\"></span> allowed "
	         "<span class=\"sw warn\"></span> warning (non-standard, "
	         "<code>matrix.nonstandard</code>) "
	         "<span class=\"sw bad\"></span> violation (<code>matrix.not-allowed</code> or "
	         "<code>syntax.*</code>)</p>\n");
	buf_puts(out, "<div class=\"scroll\"><table class=\"grid\">\n<thead><tr><th scope=\"col\">"
	              "command</th>");
	for (size_t c = 0; c < ncodes; c++)
		buf_printf(out, "<th scope=\"col\">%d</th>", codes[c]);
	buf_puts(out, "</tr></thead>\n<tbody>\n");
	for (size_t r = 0; r < ncmds; r++) {
		buf_puts(out, "<tr><th scope=\"row\">");
		put_html(out, cmds[r]);
		buf_puts(out, "</th>");
		for (size_t c = 0; c < ncodes; c++) {
			size_t n = count[r * ncodes + c];
			enum cell e = cls[r * ncodes + c];

			if (n == 0) {
				buf_puts(out, "<td class=\"cell none\"></td>");
				continue;
			}
			buf_printf(out, "<td class=\"cell %s\" data-cell=\"", cell_class[e]);
			put_html(out, cmds[r]);
			buf_printf(out, " %d\" title=\"", codes[c]);
			put_html(out, cmds[r]);
			buf_printf(out, " &#8594; %d: %zu, %s\">", codes[c], n,
			           e == CELL_OK     ? "allowed"
			           : e == CELL_WARN ? "warning"
			                            : "violation");
			if (e == CELL_OK)
				buf_printf(out, "<a href=\"#sc-%zu\">", first[r * ncodes + c] + 1);
			else
				buf_printf(out, "<a href=\"#cell-%zu-%zu\">", r + 1, c + 1);
			buf_printf(out, "%zu%s</a></td>", n,
			           e == CELL_OK     ? ""
			           : e == CELL_WARN ? " !"
			                            : " &#10007;");
		}
		buf_puts(out, "</tr>\n");
	}
	buf_puts(out, "</tbody></table></div>\n");
	render_cell_index(out, run, cmds, ncmds, codes, ncodes, cls);
	buf_puts(out, "</section>\n");
	free(cmds);
	free(codes);
	free(count);
	free(cls);
	free(first);
}

/* ------------------------------------------------------------ scenarios */

static int step_flagged(const struct step_result *st)
{
	return st->verdict != VERDICT_PASS || step_has_warning(st);
}

static void render_violations(struct buf *out, const struct scenario_result *sr,
                              const struct step_result *st)
{
	if (st->nviolations == 0)
		return;
	buf_puts(out, "<ul class=\"viol\">");
	for (size_t i = 0; i < st->nviolations; i++) {
		const struct violation *v = &st->violations[i];

		buf_printf(out, "<li class=\"%s\"><code class=\"rule\">",
		           v->severity == SEV_NOTE   ? "note"
		           : v->severity == SEV_WARN ? "warn"
		                                     : "bad");
		put_or(out, v->rule, "?");
		buf_puts(out, "</code> ");
		if (v->severity == SEV_WARN)
			buf_puts(out, "<strong>warning</strong>: ");
		else if (v->severity == SEV_NOTE)
			buf_puts(out, "<strong>note</strong>: ");
		put_html(out, v->message);
		buf_puts(out, " &#8212; <cite>");
		put_html(out, findings_ref(sr, v));
		buf_puts(out, "</cite> <span class=\"meta\">(");
		put_html(out, findings_level(sr, v));
		buf_puts(out, ")</span>");
		if (findings_sentence(v)) {
			buf_puts(out, "<br><q class=\"sentence\">");
			put_html(out, findings_sentence(v));
			buf_puts(out, "</q>");
		}
		buf_puts(out, "</li>");
	}
	buf_puts(out, "</ul>\n");
}

/* The steps as a dialogue, the flagged ones highlighted with their rules. */
static void render_steps(struct buf *out, const struct scenario_result *sr)
{
	buf_puts(out, "<div class=\"transcript\">\n");
	for (size_t k = 0; k < sr->nsteps; k++) {
		const struct step_result *st = &sr->steps[k];
		const char *sclass = st->verdict == VERDICT_FAIL ? "bad"
		                     : step_flagged(st)          ? "warn"
		                                                 : "ok";

		buf_printf(out, "<div class=\"step %s\"><div class=\"where\">step %zu/%zu &#183; ",
		           sclass, k + 1, sr->nsteps);
		put_or(out, st->file, has_text(sr->file) ? sr->file : "?");
		buf_printf(out, ":%d &#183; expected <code>", st->line);
		put_or(out, st->expect, "?");
		buf_puts(out, "</code></div>\n");
		if (has_text(st->sent)) {
			buf_puts(out, "<pre class=\"c\">C: ");
			put_html(out, st->sent);
			buf_puts(out, "</pre>\n");
		} else {
			buf_puts(out, "<pre class=\"c\">");
			put_or(out, st->command, "(connect)");
			buf_puts(out, "</pre>\n");
		}
		if (!st->has_reply) {
			buf_puts(out, "<pre class=\"s none\">(no reply)</pre>\n");
		} else {
			buf_printf(out, "<pre class=\"s%s\">", step_flagged(st) ? " hl" : "");
			for (size_t i = 0; i < st->nlines; i++) {
				buf_puts(out, i ? "\nS: " : "S: ");
				put_html(out, st->lines[i]);
			}
			if (st->lines_total > st->nlines)
				buf_printf(out, "\nS: ... (%zu more lines not kept)",
				           st->lines_total - st->nlines);
			buf_puts(out, "</pre>\n");
		}
		render_violations(out, sr, st);
		buf_puts(out, "</div>\n");
	}
	buf_puts(out, "</div>\n");
}

/* Is this transcript line ("S: ...") one of a flagged step's reply lines? */
static int line_flagged(const struct scenario_result *sr, const char *line, size_t len)
{
	if (len < 3 || memcmp(line, "S: ", 3) != 0)
		return 0;
	for (size_t k = 0; k < sr->nsteps; k++) {
		const struct step_result *st = &sr->steps[k];

		if (!step_flagged(st))
			continue;
		for (size_t i = 0; i < st->nlines; i++)
			if (st->lines[i] && strlen(st->lines[i]) == len - 3 &&
			    memcmp(st->lines[i], line + 3, len - 3) == 0)
				return 1;
	}
	return 0;
}

static void render_transcript(struct buf *out, const struct scenario_result *sr, int open)
{
	const char *p = sr->transcript;

	if (!has_text(p))
		return;
	buf_printf(out,
	           "<details class=\"wire\"%s><summary>Wire transcript</summary>"
	           "<pre class=\"wire\">",
	           open ? " open" : "");
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char *line = xstrndup(p, len);
		int hl = line_flagged(sr, line, len);

		if (hl)
			buf_puts(out, "<mark>");
		put_html(out, line);
		if (hl)
			buf_puts(out, "</mark>");
		buf_puts(out, "\n");
		free(line);
		p += len;
		if (*p == '\n')
			p++;
	}
	buf_puts(out, "</pre></details>\n");
}

static void render_scenario(struct buf *out, const struct scenario_result *sr, size_t idx)
{
	const char *cls = class_of(sr);
	int bad = sr->verdict == VERDICT_FAIL || sr->verdict == VERDICT_ERROR;

	buf_printf(out,
	           "<details class=\"scenario %s\" id=\"sc-%zu\"%s><summary>"
	           "<span class=\"badge %s\">%s</span> <code class=\"id\">",
	           cls, idx + 1, bad ? " open" : "", cls, label_of(sr));
	put_or(out, sr->id, "?");
	buf_puts(out, "</code> ");
	put_html(out, sr->title);
	buf_puts(out, " <span class=\"meta\">");
	if (has_text(sr->level)) {
		put_html(out, sr->level);
		buf_puts(out, " &#183; ");
	}
	if (has_text(sr->ref)) {
		buf_puts(out, "<cite>");
		put_html(out, sr->ref);
		buf_puts(out, "</cite> &#183; ");
	}
	buf_printf(out, "%lld ms</span></summary>\n<div class=\"body\">\n",
	           (long long)sr->duration_ms);
	buf_puts(out, "<p class=\"meta\">");
	put_or(out, sr->file, "?");
	for (size_t i = 0; i < sr->ntags; i++) {
		buf_puts(out, i ? ", " : " &#183; tags: ");
		put_html(out, sr->tags[i]);
	}
	buf_puts(out, "</p>\n");
	if (has_text(sr->reason)) {
		buf_printf(out, "<p class=\"reason %s\">%s: ", cls,
		           sr->verdict == VERDICT_SKIP           ? "skipped"
		           : sr->verdict == VERDICT_ERROR        ? "error"
		           : sr->verdict == VERDICT_INCONCLUSIVE ? "inconclusive"
		                                                 : "reason");
		put_html(out, sr->reason);
		buf_puts(out, "</p>\n");
	}
	if (sr->nsteps > 0)
		render_steps(out, sr);
	render_transcript(out, sr, 0);
	buf_puts(out, "</div></details>\n");
}

static void render_scenarios(struct buf *out, const struct run_result *run)
{
	size_t nbad = 0;

	buf_puts(out, "<section id=\"scenarios\">\n<h2>Scenarios</h2>\n");
	for (size_t i = 0; i < run->nscenarios; i++) {
		const struct scenario_result *sr = &run->scenarios[i];

		if (sr->verdict != VERDICT_FAIL && sr->verdict != VERDICT_ERROR)
			continue;
		if (nbad++ == 0)
			buf_puts(out,
			         "<nav class=\"failures\"><strong>Failures and errors:</strong> ");
		else
			buf_puts(out, ", ");
		buf_printf(out, "<a href=\"#sc-%zu\">", i + 1);
		put_or(out, sr->id, "?");
		buf_puts(out, "</a>");
	}
	if (nbad > 0)
		buf_puts(out, "</nav>\n");
	if (run->nscenarios == 0)
		buf_puts(out, "<p><em>no scenarios</em></p>\n");
	for (size_t i = 0; i < run->nscenarios; i++)
		render_scenario(out, &run->scenarios[i], i);
	buf_puts(out, "</section>\n");
}

/* ------------------------------------------------------------ the page */

static const char html_css[] =
    ":root{--ok:#1f883d;--okbg:#dafbe1;--warn:#9a6700;--warnbg:#fff1c2;--bad:#cf222e;"
    "--badbg:#ffe1e1;--skip:#6e7781;--skipbg:#eaeef2;--err:#8250df;--errbg:#f0e6ff;"
    "--fg:#1f2328;--muted:#59636e;--line:#d0d7de}\n"
    "*{box-sizing:border-box}\n"
    "body{font:15px/1.45 system-ui,-apple-system,\"Segoe UI\",Roboto,sans-serif;color:var(--fg);"
    "margin:0 auto;padding:1.2em 1.5em 3em;max-width:1200px}\n"
    "h1{font-size:1.6em;margin:.2em 0}h2{font-size:1.25em;border-bottom:1px solid var(--line);"
    "padding-bottom:.2em;margin-top:1.6em}\n"
    "code,pre{font-family:ui-monospace,\"DejaVu Sans "
    "Mono\",Menlo,Consolas,monospace;font-size:.9em}\n"
    "pre{margin:0;white-space:pre-wrap;word-break:break-all}\n"
    ".sub,.meta{color:var(--muted)}.meta{font-size:.9em}\n"
    ".banner{padding:.6em 1em;border-radius:6px;background:var(--badbg);color:var(--bad);"
    "font-weight:600}\n"
    ".alert{color:var(--bad);font-weight:600}\n"
    ".pass-t{color:var(--ok)}.fail-t{color:var(--bad)}\n"
    "svg.bar{width:100%;display:block;border-radius:4px}\n"
    "td.barcell svg.bar{width:160px}\n"
    "rect.pass{fill:var(--ok)}rect.fail{fill:var(--bad)}rect.skip{fill:#afb8c1}"
    "rect.error{fill:var(--err)}rect.empty{fill:var(--skipbg)}\n"
    ".legend{font-size:.9em;color:var(--muted)}\n"
    ".sw{display:inline-block;width:.9em;height:.9em;border-radius:2px;vertical-align:-.1em;"
    "margin-left:.6em}\n"
    ".sw.pass,.sw.ok{background:var(--ok)}.sw.fail,.sw.bad{background:var(--bad)}"
    ".sw.skip{background:#afb8c1}.sw.error{background:var(--err)}.sw.warn{background:#d4a72c}\n"
    ".cols{display:flex;flex-wrap:wrap;gap:2em}\n"
    "table{border-collapse:collapse;margin:.6em 0}\n"
    "caption{text-align:left;font-weight:600;padding-bottom:.3em}\n"
    "th,td{border:1px solid var(--line);padding:.25em .6em;text-align:left;vertical-align:top}\n"
    "thead th{background:#f6f8fa}\n"
    "td.num{text-align:right;font-variant-numeric:tabular-nums}\n"
    "dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.3em 1.2em}\n"
    "dl.facts dt{font-weight:600}dl.facts dd{margin:0}\n"
    "ul.kw{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:.3em .5em}\n"
    "ul.kw li code{background:#f6f8fa;border:1px solid var(--line);border-radius:4px;"
    "padding:0 .35em}\n"
    ".scroll{overflow-x:auto}\n"
    "table.grid td.cell{text-align:center;min-width:3.2em;font-variant-numeric:tabular-nums}\n"
    "td.cell.ok{background:var(--okbg);color:var(--ok)}"
    "td.cell.warn{background:var(--warnbg);color:var(--warn);font-weight:600}"
    "td.cell.bad{background:var(--badbg);color:var(--bad);font-weight:700}\n"
    "details.scenario{border:1px solid var(--line);border-left-width:5px;border-radius:6px;"
    "margin:.35em 0;padding:.2em .7em}\n"
    "details.scenario>summary{cursor:pointer;padding:.2em 0}\n"
    "details.scenario.pass{border-left-color:var(--ok)}details.scenario.warn{border-left-color:#"
    "d4a72c}"
    "details.scenario.fail{border-left-color:var(--bad)}details.scenario.skip{border-left-color:#"
    "afb8c1}"
    "details.scenario.error{border-left-color:var(--err)}\n"
    ".badge{display:inline-block;min-width:3.6em;text-align:center;font-size:.8em;font-weight:700;"
    "border-radius:3px;padding:0 .3em}\n"
    ".badge.pass{background:var(--okbg);color:var(--ok)}.badge.warn{background:var(--warnbg);"
    "color:var(--warn)}.badge.fail{background:var(--badbg);color:var(--bad)}"
    ".badge.skip{background:var(--skipbg);color:var(--skip)}.badge.error{background:var(--errbg);"
    "color:var(--err)}\n"
    ".reason.skip{color:var(--skip)}.reason.error{color:var(--err);font-weight:600}\n"
    ".transcript{margin:.4em 0}\n"
    ".step{border-left:3px solid var(--line);padding:.1em .6em;margin:.3em 0}\n"
    ".step.bad{border-left-color:var(--bad);background:#fff8f8}"
    ".step.warn{border-left-color:#d4a72c;background:#fffcf0}\n"
    ".step .where{font-size:.8em;color:var(--muted)}\n"
    "pre.c{color:#0550ae}pre.s.hl{background:var(--badbg);outline:1px solid var(--bad);"
    "padding:.1em .3em}.step.warn pre.s.hl{background:var(--warnbg);outline-color:#d4a72c}\n"
    "pre.s.none{color:var(--muted);font-style:italic}\n"
    "ul.viol{margin:.3em 0;padding-left:1.2em}ul.viol li.bad code.rule{color:var(--bad)}"
    "ul.viol li.warn code.rule{color:var(--warn)}ul.viol li.note code.rule{color:#57606a}\n"
    "cite{font-style:normal;color:var(--muted)}\n"
    "pre.wire{background:#f6f8fa;padding:.5em;border-radius:4px}\n"
    "mark{background:var(--badbg);color:var(--bad)}\n"
    "nav.failures{margin:.5em 0}nav.failures a{color:var(--bad)}\n"
    "footer{margin-top:2.5em;font-size:.85em;color:var(--muted)}\n"
    ".verdict{font-size:1.15em;font-weight:700;padding:.5em .9em;border-radius:6px;"
    "border-left:6px solid}.verdict.pass{background:var(--okbg);color:var(--ok)}"
    ".verdict.fail{background:var(--badbg);color:var(--bad)}"
    ".verdict.error{background:var(--errbg);color:var(--err)}\n"
    "ol.findings{padding-left:1.6em}li.finding{border:1px solid var(--line);border-left-width:5px;"
    "border-radius:6px;margin:.5em 0;padding:.1em "
    ".8em}li.finding.fail{border-left-color:var(--bad)}"
    "li.finding.warn{border-left-color:#d4a72c}li.finding.skip{border-left-color:#afb8c1}"
    "li.finding p{margin:.3em 0}\n"
    "q.sentence{color:var(--muted);font-style:italic;font-size:.9em}\n"
    "blockquote.sentence{margin:.3em 0 .3em 1em;padding:.1em .7em;border-left:3px solid "
    "var(--line);"
    "color:var(--muted);font-style:italic}\n"
    ".hint{background:#f6f8fa;padding:.2em .5em;border-radius:4px}\n"
    "table.grid td.cell a{color:inherit;text-decoration:none;display:block}"
    "table.grid td.cell a:hover{text-decoration:underline}\n"
    "dl.cells dt{font-weight:600;margin-top:.4em}dl.cells dd{margin-left:1.2em}\n"
    "@media print{body{max-width:none;padding:0;font-size:11pt}"
    "*{-webkit-print-color-adjust:exact;print-color-adjust:exact}"
    "details.scenario,.step,table,tr{break-inside:avoid}"
    "h2{break-after:avoid}details>summary{list-style:none}"
    "details.scenario>summary::-webkit-details-marker{display:none}"
    ".scroll{overflow:visible}nav.failures a{text-decoration:none}"
    "@page{margin:14mm}}\n";

void report_render_html(const struct run_result *run, struct buf *out)
{
	const char *tool = has_text(run->tool_name) ? run->tool_name : "smtpconform";
	struct findings fs;
	struct buf verdict = { 0 };
	int code;

	buf_puts(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	              "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	              "<title>SMTP conformance: ");
	put_or(out, run->target, "unknown target");
	buf_puts(out, "</title>\n<style>\n");
	buf_puts(out, html_css);
	buf_puts(out, "</style>\n</head>\n<body>\n<header>\n<h1>SMTP conformance report: ");
	put_or(out, run->target, "unknown target");
	buf_puts(out, "</h1>\n<p class=\"sub\">profile <code>");
	put_or(out, run->profile, MATRIX_DEFAULT_PROFILE);
	buf_puts(out, "</code>");
	if (run->strict)
		buf_puts(out, " (strict: warnings fail)");
	buf_puts(out, " &#183; ");
	put_html(out, tool);
	buf_puts(out, " ");
	put_or(out, run->tool_version, "?");
	if (has_text(run->started)) {
		buf_puts(out, " &#183; started ");
		put_html(out, run->started);
	}
	buf_printf(out, " &#183; %lld ms</p>\n", (long long)run->duration_ms);
	findings_build(run, &fs);
	report_verdict_line(run, &fs, &verdict);
	code = report_exit_code(run);
	buf_printf(out, "<p class=\"verdict %s\">",
	           code == 0   ? "pass"
	           : code == 1 ? "fail"
	                       : "error");
	put_html(out, verdict.data);
	buf_puts(out, "</p>\n");
	buf_free(&verdict);
	if (run->interrupted)
		buf_puts(out, "<p class=\"banner\">Run interrupted: results are partial.</p>\n");
	if (report_used_tls(run) && !run->tls_verify)
		buf_puts(out, "<p class=\"banner\">TLS certificate verification was off "
		              "(--tls-verify=off).</p>\n");
	char *untrusted = report_tls_untrusted_line(run);

	if (untrusted) {
		buf_puts(out, "<p class=\"banner\" id=\"tls-untrusted\">");
		put_html(out, untrusted);
		buf_puts(out, "</p>\n");
		free(untrusted);
	}
	buf_puts(out, "</header>\n");

	render_summary(out, run);
	render_findings(out, run, &fs);
	findings_free(&fs);
	render_server(out, run);
	render_grid(out, run);
	render_scenarios(out, run);

	buf_puts(out, "<footer>Generated by ");
	put_html(out, tool);
	buf_puts(out, " ");
	put_or(out, run->tool_version, "?");
	buf_puts(out, " from the same result model as the JSON report. Self-contained: "
	              "no scripts, no external resources.</footer>\n</body>\n</html>\n");
}
