/*
 * load_report.c - what a load run measured (struct load_stats, load.h):
 * building it up, its text, Markdown and JSON reports, reading the JSON
 * back and merging several runs (`smtpconform merge` on load reports).
 *
 * The JSON keeps each latency histogram whole (sparse: [counter, count]
 * pairs with the layout's parameters), so runs from several machines merge
 * into the histogram of all their sessions. Owns nothing of running.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "load.h"
#include "report.h"

/* The JSON report's "kind" and the version of its layout. */
#define LOAD_JSON_KIND "smtpconform-load"
#define LOAD_JSON_VERSION 1

/* Percentiles every report shows, in this order. */
static const double shown_pcts[] = { 50, 90, 99, 99.9 };
static const char *const shown_names[] = { "p50", "p90", "p99", "p99.9" };
#define NSHOWN (sizeof(shown_pcts) / sizeof(shown_pcts[0]))

/* Commands in protocol order; others follow in the order first seen. */
static const char *const command_order[] = { "CONNECT", "EHLO", "HELO", "STARTTLS", "AUTH",
	                                     "MAIL",    "RCPT", "DATA", "BDAT",     "DATA-END",
	                                     "RSET",    "NOOP", "VRFY", "QUIT" };

void load_stats_init(struct load_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->session_hist = xmalloc(sizeof(*st->session_hist));
	hist_init(st->session_hist);
}

void load_stats_free(struct load_stats *st)
{
	free(st->tool_version);
	free(st->target);
	free(st->profile);
	free(st->started);
	for (size_t i = 0; i < st->nscenarios; i++)
		free(st->scenarios[i]);
	free(st->scenarios);
	free(st->session_hist);
	for (size_t i = 0; i < st->ncommands; i++) {
		free(st->commands[i].name);
		free(st->commands[i].hist);
	}
	free(st->commands);
	for (size_t i = 0; i < st->nfindings; i++) {
		struct load_finding *f = &st->findings[i];
		for (size_t k = 0; k < f->nexamples; k++) {
			free(f->examples[k].scenario);
			free(f->examples[k].message);
			free(f->examples[k].transcript);
		}
		free(f->examples);
		free(f->rule);
		free(f->ref);
	}
	free(st->findings);
	for (size_t i = 0; i < st->nerrors; i++) {
		free(st->errors[i].name);
		free(st->errors[i].example);
	}
	free(st->errors);
	memset(st, 0, sizeof(*st));
}

static int command_rank(const char *name)
{
	for (size_t i = 0; i < sizeof(command_order) / sizeof(command_order[0]); i++)
		if (strcmp(name, command_order[i]) == 0)
			return (int)i;
	return (int)(sizeof(command_order) / sizeof(command_order[0]));
}

struct hist *load_command_hist(struct load_stats *st, const char *name)
{
	for (size_t i = 0; i < st->ncommands; i++)
		if (strcmp(st->commands[i].name, name) == 0)
			return st->commands[i].hist;
	if (st->ncommands >= LOAD_COMMANDS_MAX && strcmp(name, "OTHER") != 0)
		return load_command_hist(st, "OTHER");
	st->commands = xrealloc(st->commands, (st->ncommands + 1) * sizeof(*st->commands));
	/* Kept in protocol order: insert before the first that ranks later. */
	int rank = command_rank(name);
	size_t at = st->ncommands;
	while (at > 0 && command_rank(st->commands[at - 1].name) > rank)
		at--;
	memmove(&st->commands[at + 1], &st->commands[at],
	        (st->ncommands - at) * sizeof(*st->commands));
	st->ncommands++;
	st->commands[at].name = xstrdup(name);
	st->commands[at].hist = xmalloc(sizeof(struct hist));
	hist_init(st->commands[at].hist);
	return st->commands[at].hist;
}

struct load_finding *load_finding_of(struct load_stats *st, const char *rule, enum severity sev,
                                     const char *ref)
{
	for (size_t i = 0; i < st->nfindings; i++)
		if (strcmp(st->findings[i].rule, rule) == 0)
			return &st->findings[i];
	if (st->nfindings >= LOAD_RULES_MAX && strcmp(rule, "other") != 0)
		return load_finding_of(st, "other", sev, NULL);
	st->findings = xrealloc(st->findings, (st->nfindings + 1) * sizeof(*st->findings));
	struct load_finding *f = &st->findings[st->nfindings++];
	memset(f, 0, sizeof(*f));
	f->rule = xstrdup(rule);
	f->severity = sev;
	f->ref = ref ? xstrdup(ref) : NULL;
	f->examples = xcalloc(LOAD_EXAMPLES_PER_RULE, sizeof(*f->examples));
	return f;
}

static struct load_error *error_of(struct load_stats *st, const char *name)
{
	for (size_t i = 0; i < st->nerrors; i++)
		if (strcmp(st->errors[i].name, name) == 0)
			return &st->errors[i];
	st->errors = xrealloc(st->errors, (st->nerrors + 1) * sizeof(*st->errors));
	struct load_error *e = &st->errors[st->nerrors++];
	memset(e, 0, sizeof(*e));
	e->name = xstrdup(name);
	return e;
}

void load_count_error(struct load_stats *st, const char *name, const char *reason)
{
	struct load_error *e = error_of(st, name);
	e->count++;
	if (!e->example)
		e->example = xstrdup(reason);
}

int load_exit_code(const struct load_stats *st)
{
	if (st->fail)
		return 1;
	if (st->error || st->interrupted || st->sessions == 0)
		return 3;
	return 0;
}

/* Findings in report order: errors before warnings, then by count. */
static int finding_cmp(const void *a, const void *b)
{
	const struct load_finding *x = *(const struct load_finding *const *)a;
	const struct load_finding *y = *(const struct load_finding *const *)b;
	if (x->severity != y->severity)
		return x->severity == SEV_ERROR ? -1 : 1;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return strcmp(x->rule, y->rule);
}

static const struct load_finding **sorted_findings(const struct load_stats *st)
{
	const struct load_finding **v = xcalloc(st->nfindings + 1, sizeof(*v));
	for (size_t i = 0; i < st->nfindings; i++)
		v[i] = &st->findings[i];
	qsort(v, st->nfindings, sizeof(*v), finding_cmp);
	return v;
}

static const char *verdict_word(const struct load_stats *st)
{
	switch (load_exit_code(st)) {
	case 0: return "PASS";
	case 1: return "FAIL";
	default: return "ERROR";
	}
}

/* "0.123" milliseconds from microseconds. */
static void ms(struct buf *b, int64_t us)
{
	buf_printf(b, "%.3f", (double)us / 1000.0);
}

/* The latency table, columns aligned (text) or as a Markdown table. */
static void latency_table(const struct load_stats *st, int markdown, struct buf *out)
{
	if (markdown)
		buf_puts(out, "| command | count | min | p50 | p90 | p99 | p99.9 | max |\n"
		              "|---|---:|---:|---:|---:|---:|---:|---:|\n");
	else
		buf_printf(out, "  %-10s %9s %9s %9s %9s %9s %9s %9s\n", "ms", "count", "min",
		           "p50", "p90", "p99", "p99.9", "max");
	for (size_t i = 0; i <= st->ncommands; i++) {
		const char *name = i < st->ncommands ? st->commands[i].name : "session";
		const struct hist *h = i < st->ncommands ? st->commands[i].hist : st->session_hist;
		if (h->count == 0)
			continue;
		struct buf cells[NSHOWN + 2];
		memset(cells, 0, sizeof(cells));
		ms(&cells[0], h->min);
		for (size_t k = 0; k < NSHOWN; k++)
			ms(&cells[k + 1], hist_percentile(h, shown_pcts[k]));
		ms(&cells[NSHOWN + 1], h->max);
		if (markdown)
			buf_printf(out, "| %s | %llu |", name, (unsigned long long)h->count);
		else
			buf_printf(out, "  %-10s %9llu", name, (unsigned long long)h->count);
		for (size_t k = 0; k < NSHOWN + 2; k++) {
			buf_printf(out, markdown ? " %s |" : " %9s", cells[k].data);
			buf_free(&cells[k]);
		}
		buf_puts(out, "\n");
	}
}

static void header_line(const struct load_stats *st, struct buf *out)
{
	buf_printf(out,
	           "%llu sessions (%llu pass, %llu fail, %llu error) in %.3f s, concurrency %d "
	           "(%llu reached)",
	           (unsigned long long)st->sessions, (unsigned long long)st->pass,
	           (unsigned long long)st->fail, (unsigned long long)st->error,
	           (double)st->duration_ms / 1000.0, st->concurrency,
	           (unsigned long long)st->peak_concurrency);
	if (st->runs > 1)
		buf_printf(out, ", %llu runs merged", (unsigned long long)st->runs);
}

void load_render_text(const struct load_stats *st, struct buf *out)
{
	buf_printf(out, "smtpconform load %s against %s (profile %s%s)\n",
	           st->started ? st->started : "", st->target ? st->target : "",
	           st->profile ? st->profile : "", st->strict ? ", strict" : "");
	header_line(st, out);
	buf_printf(out, "\n%.1f sessions/s, %.1f messages/s (%llu messages accepted)%s\n",
	           st->sessions_per_s, st->messages_per_s, (unsigned long long)st->messages,
	           st->interrupted ? ", interrupted" : "");
	if (st->peak_rss_kib && st->peak_concurrency)
		buf_printf(out, "peak memory %llu KiB (%.1f KiB per session open at once)\n",
		           (unsigned long long)st->peak_rss_kib,
		           (double)st->peak_rss_kib / (double)st->peak_concurrency);
	buf_puts(out, "\n");
	buf_puts(
	    out,
	    "latency, from sending a command (CONNECT: from connecting) to its whole reply:\n");
	latency_table(st, 0, out);
	buf_puts(out, "\nfindings:");
	if (st->nfindings == 0)
		buf_puts(out, " none\n");
	else
		buf_puts(out, "\n");
	const struct load_finding **v = sorted_findings(st);
	for (size_t i = 0; i < st->nfindings; i++) {
		const struct load_finding *f = v[i];
		buf_printf(out, "  %s [%s%s%s]: %llu in %llu sessions\n", f->rule,
		           severity_name(f->severity), f->ref ? ", " : "", f->ref ? f->ref : "",
		           (unsigned long long)f->count, (unsigned long long)f->sessions);
		if (f->nexamples) {
			const struct load_example *ex = &f->examples[0];
			buf_printf(out, "    e.g. %s: %s\n", ex->scenario, ex->message);
			for (const char *l = ex->transcript; *l;) {
				size_t len = strcspn(l, "\n");
				buf_printf(out, "      %.*s\n", (int)len, l);
				l += len + (l[len] == '\n');
			}
		}
	}
	free(v);
	if (st->nerrors) {
		buf_puts(out, "\nconnection errors:\n");
		for (size_t i = 0; i < st->nerrors; i++)
			buf_printf(out, "  %s: %llu (e.g. %s)\n", st->errors[i].name,
			           (unsigned long long)st->errors[i].count, st->errors[i].example);
	}
	buf_printf(out, "\n%s: ", verdict_word(st));
	header_line(st, out);
	buf_puts(out, "\n");
}

void load_render_md(const struct load_stats *st, struct buf *out)
{
	buf_printf(out, "## smtpconform load: %s against `%s`\n\n", verdict_word(st),
	           st->target ? st->target : "");
	header_line(st, out);
	buf_printf(out, ".\n**%.1f sessions/s, %.1f messages/s**%s.\n\n", st->sessions_per_s,
	           st->messages_per_s, st->interrupted ? " (interrupted)" : "");
	buf_puts(out, "Latency in ms, from sending a command (CONNECT: from connecting) to its "
	              "whole reply:\n\n");
	latency_table(st, 1, out);
	buf_puts(out, "\n### Findings\n\n");
	if (st->nfindings == 0)
		buf_puts(out, "None.\n");
	const struct load_finding **v = sorted_findings(st);
	struct buf scratch = { 0 };
	for (size_t i = 0; i < st->nfindings; i++) {
		const struct load_finding *f = v[i];
		buf_printf(out, "- `%s` (%s%s%s): %llu in %llu sessions", f->rule,
		           severity_name(f->severity), f->ref ? ", " : "", f->ref ? f->ref : "",
		           (unsigned long long)f->count, (unsigned long long)f->sessions);
		if (f->nexamples) {
			const struct load_example *ex = &f->examples[0];
			buf_printf(out, "; e.g. `%s`: %s\n\n  ```\n", ex->scenario,
			           report_clean(ex->message, &scratch));
			for (const char *l = ex->transcript; *l;) {
				size_t len = strcspn(l, "\n");
				buf_printf(out, "  %.*s\n", (int)len, l);
				l += len + (l[len] == '\n');
			}
			buf_puts(out, "  ```\n");
			buf_reset(&scratch);
		} else {
			buf_puts(out, "\n");
		}
	}
	buf_free(&scratch);
	free(v);
	if (st->nerrors) {
		buf_puts(out, "\n### Connection errors\n\n");
		for (size_t i = 0; i < st->nerrors; i++)
			buf_printf(out, "- %s: %llu\n", st->errors[i].name,
			           (unsigned long long)st->errors[i].count);
	}
}

/* ------------------------------------------------------------ JSON */

static json_t *hist_json(const struct hist *h)
{
	json_t *o = json_object();
	json_object_set_new(o, "count", json_integer((json_int_t)h->count));
	json_object_set_new(o, "min_us", json_integer(h->min));
	json_object_set_new(o, "max_us", json_integer(h->max));
	for (size_t k = 0; k < NSHOWN; k++) {
		char key[32];
		snprintf(key, sizeof(key), "%s_us", shown_names[k]);
		json_object_set_new(o, key, json_integer(hist_percentile(h, shown_pcts[k])));
	}
	json_t *counts = json_array();
	for (size_t i = 0; i < HIST_COUNTS; i++)
		if (h->counts[i])
			json_array_append_new(
			    counts, json_pack("[II]", (json_int_t)i, (json_int_t)h->counts[i]));
	json_object_set_new(o, "histogram",
	                    json_pack("{s:s,s:i,s:i,s:o}", "layout", "log-linear",
	                              "sub_bucket_bits", HIST_SUB_BITS, "max_bits", HIST_MAX_BITS,
	                              "counts", counts));
	return o;
}

void load_render_json(const struct load_stats *st, struct buf *out)
{
	json_t *root = json_object();
	json_object_set_new(root, "kind", json_string(LOAD_JSON_KIND));
	json_object_set_new(root, "format_version", json_integer(LOAD_JSON_VERSION));
	json_object_set_new(root, "tool",
	                    json_pack("{s:s,s:s}", "name", "smtpconform", "version",
	                              st->tool_version ? st->tool_version : ""));
	json_object_set_new(root, "target", json_string(st->target ? st->target : ""));
	json_object_set_new(root, "profile", json_string(st->profile ? st->profile : ""));
	json_object_set_new(root, "started", json_string(st->started ? st->started : ""));
	json_object_set_new(root, "strict", json_boolean(st->strict));
	json_object_set_new(root, "interrupted", json_boolean(st->interrupted));
	json_object_set_new(root, "runs", json_integer((json_int_t)st->runs));
	json_object_set_new(root, "duration_ms", json_integer(st->duration_ms));
	json_object_set_new(root, "concurrency", json_integer(st->concurrency));
	json_object_set_new(root, "peak_concurrency",
	                    json_integer((json_int_t)st->peak_concurrency));
	json_object_set_new(root, "peak_rss_kib", json_integer((json_int_t)st->peak_rss_kib));
	json_t *ids = json_array();
	for (size_t i = 0; i < st->nscenarios; i++)
		json_array_append_new(ids, json_string(st->scenarios[i]));
	json_object_set_new(root, "scenarios", ids);
	json_object_set_new(root, "sessions",
	                    json_pack("{s:I,s:I,s:I,s:I,s:I}", "total", (json_int_t)st->sessions,
	                              "pass", (json_int_t)st->pass, "warn", (json_int_t)st->warn,
	                              "fail", (json_int_t)st->fail, "error",
	                              (json_int_t)st->error));
	json_object_set_new(root, "messages", json_integer((json_int_t)st->messages));
	json_object_set_new(root, "sessions_per_s", json_real(st->sessions_per_s));
	json_object_set_new(root, "messages_per_s", json_real(st->messages_per_s));
	json_object_set_new(root, "session_latency", hist_json(st->session_hist));
	json_t *cmds = json_object();
	for (size_t i = 0; i < st->ncommands; i++)
		json_object_set_new(cmds, st->commands[i].name, hist_json(st->commands[i].hist));
	json_object_set_new(root, "latency", cmds);
	json_t *finds = json_array();
	const struct load_finding **v = sorted_findings(st);
	for (size_t i = 0; i < st->nfindings; i++) {
		const struct load_finding *f = v[i];
		json_t *exs = json_array();
		for (size_t k = 0; k < f->nexamples; k++)
			json_array_append_new(exs, json_pack("{s:s,s:s,s:s}", "scenario",
			                                     f->examples[k].scenario, "message",
			                                     f->examples[k].message, "transcript",
			                                     f->examples[k].transcript));
		json_t *fo = json_pack("{s:s,s:s,s:I,s:I,s:o}", "rule", f->rule, "severity",
		                       severity_name(f->severity), "count", (json_int_t)f->count,
		                       "sessions", (json_int_t)f->sessions, "examples", exs);
		if (f->ref)
			json_object_set_new(fo, "ref", json_string(f->ref));
		json_array_append_new(finds, fo);
	}
	free(v);
	json_object_set_new(root, "findings", finds);
	json_t *errs = json_array();
	for (size_t i = 0; i < st->nerrors; i++)
		json_array_append_new(errs, json_pack("{s:s,s:I,s:s}", "errno", st->errors[i].name,
		                                      "count", (json_int_t)st->errors[i].count,
		                                      "example", st->errors[i].example));
	json_object_set_new(root, "connection_errors", errs);
	char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (!text)
		BUG("json_dumps failed");
	buf_puts(out, text);
	buf_puts(out, "\n");
	free(text);
	json_decref(root);
}

int load_json_is_load(const char *text, size_t len)
{
	json_t *root = json_loadb(text, len, 0, NULL);
	const char *kind = json_string_value(json_object_get(root, "kind"));
	int is = kind && strcmp(kind, LOAD_JSON_KIND) == 0;
	json_decref(root);
	return is;
}

/* Reading: the first error is kept and names the field. */
struct reader {
	const char *name;
	char *err;
	size_t errlen;
	int failed;
};

static void bad(struct reader *rd, const char *field, const char *what)
{
	if (rd->failed++)
		return;
	snprintf(rd->err, rd->errlen, "%s: %s: %s", rd->name, field, what);
}

static uint64_t get_count(struct reader *rd, json_t *o, const char *key, const char *field)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		bad(rd, field, "expected a non-negative integer");
		return 0;
	}
	return (uint64_t)json_integer_value(v);
}

static char *get_string(struct reader *rd, json_t *o, const char *key, const char *field)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_string(v)) {
		bad(rd, field, "expected a string");
		return xstrdup("");
	}
	return xstrdup(json_string_value(v));
}

static double get_real(struct reader *rd, json_t *o, const char *key, const char *field)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_number(v) || json_number_value(v) < 0) {
		bad(rd, field, "expected a non-negative number");
		return 0;
	}
	return json_number_value(v);
}

/* A histogram from its sparse JSON form; its layout must be this build's. */
static void hist_read(struct reader *rd, json_t *o, const char *field, struct hist *h)
{
	hist_init(h);
	json_t *hj = json_object_get(o, "histogram");
	json_t *counts = json_object_get(hj, "counts");
	if (!json_is_array(counts) ||
	    json_integer_value(json_object_get(hj, "sub_bucket_bits")) != HIST_SUB_BITS ||
	    json_integer_value(json_object_get(hj, "max_bits")) != HIST_MAX_BITS) {
		bad(rd, field,
		    "histogram missing, or of another layout (sub_bucket_bits, max_bits)");
		return;
	}
	size_t i;
	json_t *pair;
	json_array_foreach(counts, i, pair)
	{
		json_int_t idx = json_integer_value(json_array_get(pair, 0));
		json_int_t n = json_integer_value(json_array_get(pair, 1));
		if (!json_is_array(pair) || idx < 0 || (size_t)idx >= HIST_COUNTS || n < 0) {
			bad(rd, field, "histogram counter out of range");
			return;
		}
		h->counts[idx] += (uint64_t)n;
		h->count += (uint64_t)n;
	}
	if (h->count != get_count(rd, o, "count", field))
		bad(rd, field, "count is not the sum of the histogram's counters");
	h->min = (int64_t)get_count(rd, o, "min_us", field);
	h->max = (int64_t)get_count(rd, o, "max_us", field);
}

int load_json_read(const char *name, const char *text, size_t len, struct load_stats *out,
                   char *err, size_t errlen)
{
	struct reader rd = { .name = name, .err = err, .errlen = errlen };
	json_error_t jerr;
	load_stats_init(out);
	json_t *root = json_loadb(text, len, 0, &jerr);
	if (!root) {
		snprintf(err, errlen, "%s: line %d: %s", name, jerr.line, jerr.text);
		return -1;
	}
	const char *kind = json_string_value(json_object_get(root, "kind"));
	if (!kind || strcmp(kind, LOAD_JSON_KIND) != 0)
		bad(&rd, "kind", "not a load report");
	if (json_integer_value(json_object_get(root, "format_version")) != LOAD_JSON_VERSION)
		bad(&rd, "format_version", "a version this build does not read");
	out->tool_version =
	    get_string(&rd, json_object_get(root, "tool"), "version", "tool.version");
	out->target = get_string(&rd, root, "target", "target");
	out->profile = get_string(&rd, root, "profile", "profile");
	out->started = get_string(&rd, root, "started", "started");
	out->strict = json_is_true(json_object_get(root, "strict"));
	out->interrupted = json_is_true(json_object_get(root, "interrupted"));
	out->runs = get_count(&rd, root, "runs", "runs");
	out->duration_ms = (int64_t)get_count(&rd, root, "duration_ms", "duration_ms");
	out->concurrency = (int)get_count(&rd, root, "concurrency", "concurrency");
	out->peak_concurrency = get_count(&rd, root, "peak_concurrency", "peak_concurrency");
	out->peak_rss_kib = get_count(&rd, root, "peak_rss_kib", "peak_rss_kib");
	json_t *ids = json_object_get(root, "scenarios");
	size_t i;
	json_t *v;
	out->scenarios = xcalloc(json_array_size(ids) + 1, sizeof(char *));
	json_array_foreach(ids, i, v) out->scenarios[out->nscenarios++] =
	    xstrdup(json_is_string(v) ? json_string_value(v) : "");
	json_t *s = json_object_get(root, "sessions");
	out->sessions = get_count(&rd, s, "total", "sessions.total");
	out->pass = get_count(&rd, s, "pass", "sessions.pass");
	out->warn = get_count(&rd, s, "warn", "sessions.warn");
	out->fail = get_count(&rd, s, "fail", "sessions.fail");
	out->error = get_count(&rd, s, "error", "sessions.error");
	out->messages = get_count(&rd, root, "messages", "messages");
	out->sessions_per_s = get_real(&rd, root, "sessions_per_s", "sessions_per_s");
	out->messages_per_s = get_real(&rd, root, "messages_per_s", "messages_per_s");
	hist_read(&rd, json_object_get(root, "session_latency"), "session_latency",
	          out->session_hist);
	const char *key;
	json_object_foreach(json_object_get(root, "latency"), key, v)
	{
		char field[96];
		snprintf(field, sizeof(field), "latency.%s", key);
		struct hist h;
		hist_read(&rd, v, field, &h);
		hist_merge(load_command_hist(out, key), &h);
	}
	json_array_foreach(json_object_get(root, "findings"), i, v)
	{
		char field[64];
		snprintf(field, sizeof(field), "findings[%zu]", i);
		char *rule = get_string(&rd, v, "rule", field);
		const char *sev = json_string_value(json_object_get(v, "severity"));
		const char *ref = json_string_value(json_object_get(v, "ref"));
		struct load_finding *f = load_finding_of(
		    out, rule, sev && strcmp(sev, "warn") == 0 ? SEV_WARN : SEV_ERROR, ref);
		free(rule);
		f->count += get_count(&rd, v, "count", field);
		f->sessions += get_count(&rd, v, "sessions", field);
		size_t k;
		json_t *ex;
		json_array_foreach(json_object_get(v, "examples"), k, ex)
		{
			if (f->nexamples >= LOAD_EXAMPLES_PER_RULE)
				break;
			struct load_example *e = &f->examples[f->nexamples++];
			e->scenario = get_string(&rd, ex, "scenario", field);
			e->message = get_string(&rd, ex, "message", field);
			e->transcript = get_string(&rd, ex, "transcript", field);
		}
	}
	json_array_foreach(json_object_get(root, "connection_errors"), i, v)
	{
		char *n = get_string(&rd, v, "errno", "connection_errors");
		char *ex = get_string(&rd, v, "example", "connection_errors");
		struct load_error *e = error_of(out, n);
		e->count += get_count(&rd, v, "count", "connection_errors");
		if (!e->example)
			e->example = ex;
		else
			free(ex);
		free(n);
	}
	json_decref(root);
	if (rd.failed) {
		load_stats_free(out);
		return -1;
	}
	return 0;
}

void load_stats_merge(struct load_stats *into, const struct load_stats *from)
{
	if (!into->target) {
		into->tool_version = xstrdup(from->tool_version ? from->tool_version : "");
		into->target = xstrdup(from->target ? from->target : "");
		into->profile = xstrdup(from->profile ? from->profile : "");
		into->started = xstrdup(from->started ? from->started : "");
		into->strict = from->strict;
	} else if (from->started && strcmp(from->started, into->started) < 0) {
		free(into->started);
		into->started = xstrdup(from->started);
	}
	for (size_t i = 0; i < from->nscenarios; i++) {
		size_t k = 0;
		while (k < into->nscenarios && strcmp(into->scenarios[k], from->scenarios[i]) != 0)
			k++;
		if (k < into->nscenarios)
			continue;
		into->scenarios =
		    xrealloc(into->scenarios, (into->nscenarios + 1) * sizeof(char *));
		into->scenarios[into->nscenarios++] = xstrdup(from->scenarios[i]);
	}
	into->runs += from->runs;
	into->interrupted |= from->interrupted;
	if (from->duration_ms > into->duration_ms)
		into->duration_ms = from->duration_ms;
	into->concurrency += from->concurrency;
	into->peak_concurrency += from->peak_concurrency;
	if (from->peak_rss_kib > into->peak_rss_kib)
		into->peak_rss_kib = from->peak_rss_kib;
	into->sessions += from->sessions;
	into->pass += from->pass;
	into->warn += from->warn;
	into->fail += from->fail;
	into->error += from->error;
	into->messages += from->messages;
	into->sessions_per_s += from->sessions_per_s;
	into->messages_per_s += from->messages_per_s;
	hist_merge(into->session_hist, from->session_hist);
	for (size_t i = 0; i < from->ncommands; i++)
		hist_merge(load_command_hist(into, from->commands[i].name), from->commands[i].hist);
	for (size_t i = 0; i < from->nfindings; i++) {
		const struct load_finding *ff = &from->findings[i];
		struct load_finding *f = load_finding_of(into, ff->rule, ff->severity, ff->ref);
		f->count += ff->count;
		f->sessions += ff->sessions;
		for (size_t k = 0; k < ff->nexamples && f->nexamples < LOAD_EXAMPLES_PER_RULE;
		     k++) {
			struct load_example *e = &f->examples[f->nexamples++];
			e->scenario = xstrdup(ff->examples[k].scenario);
			e->message = xstrdup(ff->examples[k].message);
			e->transcript = xstrdup(ff->examples[k].transcript);
		}
	}
	for (size_t i = 0; i < from->nerrors; i++) {
		struct load_error *e = error_of(into, from->errors[i].name);
		e->count += from->errors[i].count;
		if (!e->example)
			e->example =
			    xstrdup(from->errors[i].example ? from->errors[i].example : "");
	}
}

int load_report_write(const struct load_stats *st, const struct report_spec *spec)
{
	struct buf b = { 0 };
	int rc = 0;
	if (spec->format == REPORT_JSON)
		load_render_json(st, &b);
	else if (spec->format == REPORT_MD)
		load_render_md(st, &b);
	else
		load_render_text(st, &b);
	if (!spec->path) {
		fwrite(b.data ? b.data : "", 1, b.len, stdout);
		fflush(stdout);
	} else if (file_write_atomic(spec->path, b.data ? b.data : "", b.len) < 0) {
		fprintf(stderr, "smtpconform: cannot write %s: %s\n", spec->path, strerror(errno));
		rc = -1;
	}
	buf_free(&b);
	return rc;
}

/* ------------------------------------------------------------ merge */

/* The files and --report specs of `merge`'s argv (argv[0] is "merge"). */
static void merge_args(int argc, char **argv, char ***files_out, size_t *nfiles_out,
                       struct report_spec **specs_out, size_t *nspecs_out, char *err, size_t errlen,
                       int *bad_out)
{
	char **files = xcalloc((size_t)argc + 1, sizeof(char *));
	struct report_spec *specs = NULL;
	size_t nfiles = 0, nspecs = 0;
	*bad_out = 0;
	for (int i = 1; i < argc; i++) {
		const char *val = NULL;
		if (strcmp(argv[i], "--report") == 0 && i + 1 < argc)
			val = argv[++i];
		else if (strncmp(argv[i], "--report=", 9) == 0)
			val = argv[i] + 9;
		if (val) {
			specs = xrealloc(specs, (nspecs + 1) * sizeof(*specs));
			if (report_parse_spec(val, &specs[nspecs], err, errlen) < 0) {
				*bad_out = 1;
				break;
			}
			nspecs++;
			continue;
		}
		files[nfiles++] = argv[i];
	}
	*files_out = files;
	*nfiles_out = nfiles;
	*specs_out = specs;
	*nspecs_out = nspecs;
}

int load_merge_wanted(int argc, char **argv)
{
	char **files;
	size_t nfiles, nspecs;
	struct report_spec *specs;
	char err[256];
	int bad;
	merge_args(argc, argv, &files, &nfiles, &specs, &nspecs, err, sizeof(err), &bad);
	int wanted = 0;
	struct buf text = { 0 };
	if (nfiles > 0 && report_read_file(files[0], &text, err, sizeof(err)) == 0)
		wanted = load_json_is_load(text.data, text.len);
	buf_free(&text);
	for (size_t i = 0; i < nspecs; i++)
		report_spec_free(&specs[i]);
	free(specs);
	free(files);
	return wanted;
}

int load_merge_main(int argc, char **argv)
{
	char **files;
	size_t nfiles, nspecs;
	struct report_spec *specs;
	char err[1024];
	int bad, code = 0;
	merge_args(argc, argv, &files, &nfiles, &specs, &nspecs, err, sizeof(err), &bad);
	if (bad) {
		fprintf(stderr, "smtpconform merge: --report: %s\n", err);
		code = 2;
		goto out;
	}
	for (size_t i = 0; i < nspecs; i++)
		if (specs[i].format != REPORT_TEXT && specs[i].format != REPORT_JSON &&
		    specs[i].format != REPORT_MD) {
			fprintf(stderr,
			        "smtpconform merge: load reports merge into text, md or json\n");
			code = 2;
			goto out;
		}
	struct load_stats merged;
	load_stats_init(&merged);
	for (size_t i = 0; i < nfiles && code == 0; i++) {
		struct buf text = { 0 };
		struct load_stats one;
		if (report_read_file(files[i], &text, err, sizeof(err)) < 0 ||
		    load_json_read(files[i], text.data, text.len, &one, err, sizeof(err)) < 0) {
			fprintf(stderr, "smtpconform merge: %s\n", err);
			code = 2;
		} else {
			load_stats_merge(&merged, &one);
			load_stats_free(&one);
		}
		buf_free(&text);
	}
	if (code == 0) {
		code = load_exit_code(&merged);
		for (size_t i = 0; i < (nspecs ? nspecs : 1); i++) {
			struct report_spec json = { .format = REPORT_JSON, .path = NULL };
			if (load_report_write(&merged, nspecs ? &specs[i] : &json) < 0)
				code = 2;
		}
	}
	load_stats_free(&merged);
out:
	for (size_t i = 0; i < nspecs; i++)
		report_spec_free(&specs[i]);
	free(specs);
	free(files);
	return code;
}
