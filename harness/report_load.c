/*
 * report_load.c - reads a JSON report (report_json.c's format) back into
 * the result model, so every format can be rendered again from it
 * (`smtpconform report --from`), shards can be merged (`merge`), runs
 * compared (`diff`) and a run used as a `--baseline`. Owns the checks that
 * a report's fields have the types and ranges of the schema
 * (docs/reports.md): a field of the wrong type is an error naming it
 * ("RUN.json: scenarios[3].steps[2].code: expected an integer, got a
 * string"); a missing or null optional field takes its default. Strings are
 * made to keep the model's promise (result.h): text that is not clean goes
 * through text_escape(). Owns nothing else.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "report.h"
#include "tls.h"
#include "smtp_limits.h"

/* One load: where messages go, and whether a field was already wrong. */
struct load {
	const char *name; /* the file, as messages name it */
	char *err;
	size_t errlen;
	int failed; /* the first error is kept */
	struct buf scratch;
};

/* Where a value is, for messages: "scenarios[3].steps[2]". */
#define WHERE_MAX 128

static void where_fmt(char *out, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void where_fmt(char *out, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(out, n, fmt, ap); /* a long place is cut, never overrun */
	va_end(ap);
}

static const char *kind_of(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a real number";
	case JSON_TRUE: return "true";
	case JSON_FALSE: return "false";
	case JSON_NULL: return "null";
	}
	return "something else";
}

static void wrong(struct load *l, const char *where, const char *key, const char *expected,
                  const char *got)
{
	if (l->failed)
		return;
	l->failed = 1;
	snprintf(l->err, l->errlen, "%s: %s%s%s: expected %s, got %s", l->name, where,
	         *where && key ? "." : "", key ? key : "", expected, got);
}

/* obj[key], or NULL when it is missing or null. */
static json_t *field(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	return json_is_null(v) ? NULL : v;
}

/* A model string from JSON text: as it is when clean, else escaped. */
static char *clean_dup(struct load *l, const char *s)
{
	return xstrdup(report_clean(s, &l->scratch));
}

static char *get_str(struct load *l, json_t *obj, const char *where, const char *key,
                     const char *fallback)
{
	json_t *v = field(obj, key);
	if (v && !json_is_string(v))
		wrong(l, where, key, "a string", kind_of(v));
	if (!json_is_string(v))
		return fallback ? xstrdup(fallback) : NULL;
	return clean_dup(l, json_string_value(v));
}

/* The transcript keeps its line ends; each line is cleaned on its own. */
static char *get_transcript(struct load *l, json_t *obj, const char *where)
{
	json_t *v = field(obj, "transcript");
	if (v && !json_is_string(v))
		wrong(l, where, "transcript", "a string", kind_of(v));
	const char *p = json_is_string(v) ? json_string_value(v) : "";
	struct buf out = { 0 };
	buf_puts(&out, "");
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		char *line = xstrndup(p, n);
		buf_puts(&out, report_clean(line, &l->scratch));
		free(line);
		if (!nl)
			break;
		buf_puts(&out, "\n");
		p = nl + 1;
	}
	return buf_steal(&out);
}

static int64_t get_int(struct load *l, json_t *obj, const char *where, const char *key, int64_t min,
                       int64_t max, int64_t fallback)
{
	json_t *v = field(obj, key);
	if (!v)
		return fallback;
	if (!json_is_integer(v)) {
		wrong(l, where, key, "an integer", kind_of(v));
		return fallback;
	}
	json_int_t n = json_integer_value(v);
	if (n < min || n > max) {
		char expected[64], got[32];
		snprintf(expected, sizeof(expected), "an integer from %lld to %lld", (long long)min,
		         (long long)max);
		snprintf(got, sizeof(got), "%lld", (long long)n);
		wrong(l, where, key, expected, got);
		return fallback;
	}
	return (int64_t)n;
}

static int get_bool(struct load *l, json_t *obj, const char *where, const char *key, int fallback)
{
	json_t *v = field(obj, key);
	if (!v)
		return fallback;
	if (!json_is_boolean(v)) {
		wrong(l, where, key, "true or false", kind_of(v));
		return fallback;
	}
	return json_is_true(v);
}

/* obj[key] when it is of the type (json_is_object or json_is_array), else NULL. */
static json_t *get_typed(struct load *l, json_t *obj, const char *where, const char *key,
                         int (*is)(const json_t *), const char *expected)
{
	json_t *v = field(obj, key);
	if (v && !is(v)) {
		wrong(l, where, key, expected, kind_of(v));
		return NULL;
	}
	return v;
}

static int is_object(const json_t *v)
{
	return json_is_object(v);
}

static int is_array(const json_t *v)
{
	return json_is_array(v);
}

/* An array of strings; a missing one is empty. */
static char **get_strv(struct load *l, json_t *obj, const char *where, const char *key,
                       size_t *n_out)
{
	json_t *arr = get_typed(l, obj, where, key, is_array, "an array of strings");
	size_t n = arr ? json_array_size(arr) : 0;
	char **v = xcalloc(n ? n : 1, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		json_t *s = json_array_get(arr, i);
		if (!json_is_string(s)) {
			char elem[WHERE_MAX];
			where_fmt(elem, sizeof(elem), "%s%s%s[%zu]", where, *where ? "." : "", key,
			          i);
			wrong(l, elem, NULL, "a string", kind_of(s));
		}
		v[i] = json_is_string(s) ? clean_dup(l, json_string_value(s)) : xstrdup("");
	}
	*n_out = n;
	return v;
}

/* One of names[0..n), or -1 (after saying so) when it is none of them. */
static int get_enum(struct load *l, json_t *obj, const char *where, const char *key,
                    const char *const *names, size_t n, const char *expected, int fallback)
{
	json_t *v = field(obj, key);
	if (!v)
		return fallback;
	if (json_is_string(v)) {
		for (size_t i = 0; i < n; i++)
			if (strcmp(json_string_value(v), names[i]) == 0)
				return (int)i;
	}
	char got[64];
	if (json_is_string(v))
		snprintf(got, sizeof(got), "\"%.40s\"",
		         report_clean(json_string_value(v), &l->scratch));
	else
		snprintf(got, sizeof(got), "%s", kind_of(v));
	wrong(l, where, key, expected, got);
	return fallback;
}

/* Indexed by enum verdict; "waived" (scenarios only) is a fail a waiver covers. */
static const char *const verdict_names[] = { "pass",  "warn",         "fail",  "skip",
	                                     "error", "inconclusive", "waived" };
#define VERDICT_WAIVED_INDEX 6
#define VERDICT_EXPECTED \
	"one of \"pass\", \"warn\", \"fail\", \"skip\", \"error\", \"inconclusive\""

static void load_step(struct load *l, json_t *j, const char *where, struct step_result *st)
{
	static const char *const severities[] = { "error", "warn", "note" };
	memset(st, 0, sizeof(*st));
	st->code = -1;
	st->verdict = VERDICT_PASS;
	if (!json_is_object(j)) {
		wrong(l, where, NULL, "an object", kind_of(j));
		st->file = xstrdup("");
		st->sent = xstrdup("");
		st->command = xstrdup("");
		st->expect = xstrdup("");
		return;
	}
	st->line = (int)get_int(l, j, where, "line", 0, INT_MAX, 0);
	st->file = get_str(l, j, where, "file", "");
	st->sent = get_str(l, j, where, "sent", "");
	st->command = get_str(l, j, where, "command", "");
	st->expect = get_str(l, j, where, "expect", "");
	char sub[WHERE_MAX];
	where_fmt(sub, sizeof(sub), "%s.reply", where);
	json_t *reply = get_typed(l, j, where, "reply", is_object, "an object or null");
	if (reply) {
		st->has_reply = 1;
		st->code = (int)get_int(l, reply, sub, "code", -1, 999, -1);
		st->enhanced_code = get_str(l, reply, sub, "enhanced_code", NULL);
		size_t nflags = 0;
		char **flags = get_strv(l, reply, sub, "flags", &nflags);
		for (size_t i = 0; i < nflags; i++) {
			st->reply_flags |=
			    step_flag_from_name(flags[i]); /* a newer name: ignored */
			free(flags[i]);
		}
		free(flags);
		st->lines = get_strv(l, reply, sub, "lines", &st->nlines);
		st->lines_total = (size_t)get_int(l, reply, sub, "lines_total", (int64_t)st->nlines,
		                                  INT_MAX, (int64_t)st->nlines);
	}
	st->verdict = (enum verdict)get_enum(l, j, where, "verdict", verdict_names,
	                                     VERDICT_WAIVED_INDEX, VERDICT_EXPECTED, VERDICT_PASS);
	st->setup = get_bool(l, j, where, "setup", 0);
	json_t *vs = get_typed(l, j, where, "violations", is_array, "an array");
	size_t n = vs ? json_array_size(vs) : 0;
	for (size_t i = 0; i < n; i++) {
		json_t *v = json_array_get(vs, i);
		where_fmt(sub, sizeof(sub), "%s.violations[%zu]", where, i);
		if (!json_is_object(v)) {
			wrong(l, sub, NULL, "an object", kind_of(v));
			continue;
		}
		int sev = get_enum(l, v, sub, "severity", severities, 3,
		                   "\"error\", \"warn\" or \"note\"", SEV_ERROR);
		char *msg = get_str(l, v, sub, "message", "");
		char *rule = get_str(l, v, sub, "rule", "");
		char *ref = get_str(l, v, sub, "ref", "");
		step_add_finding(st, rule, (enum severity)sev, ref, msg);
		free(msg);
		free(rule);
		free(ref);
	}
}

static void load_scenario(struct load *l, json_t *j, const char *where, struct scenario_result *sr)
{
	memset(sr, 0, sizeof(*sr));
	if (!json_is_object(j)) {
		wrong(l, where, NULL, "an object", kind_of(j));
		j = NULL; /* every field below takes its default */
	}
	sr->id = get_str(l, j, where, "id", "");
	if (j && !*sr->id && !l->failed)
		wrong(l, where, "id", "a scenario id", "none");
	sr->file = get_str(l, j, where, "file", "");
	sr->title = get_str(l, j, where, "title", "");
	sr->ref = get_str(l, j, where, "ref", "");
	sr->level = get_str(l, j, where, "level", "");
	sr->tags = get_strv(l, j, where, "tags", &sr->ntags);
	int verdict = get_enum(l, j, where, "verdict", verdict_names, VERDICT_WAIVED_INDEX + 1,
	                       VERDICT_EXPECTED " or \"waived\"", VERDICT_ERROR);
	if (verdict == VERDICT_WAIVED_INDEX) {
		sr->verdict = VERDICT_FAIL;
		sr->waived = 1;
		sr->waiver = get_str(l, j, where, "waiver", "");
	} else {
		sr->verdict = (enum verdict)verdict;
	}
	sr->reason = get_str(l, j, where, "reason", NULL);
	sr->duration_ms = get_int(l, j, where, "duration_ms", 0, INT64_MAX, 0);
	sr->transcript = get_transcript(l, j, where);
	char sub[WHERE_MAX];
	where_fmt(sub, sizeof(sub), "%s.tls", where);
	json_t *tls = get_typed(l, j, where, "tls", is_object, "an object");
	if (tls) {
		sr->tls.protocol = get_str(l, tls, sub, "protocol", "");
		sr->tls.cipher = get_str(l, tls, sub, "cipher", "");
		sr->tls.subject = get_str(l, tls, sub, "subject", NULL);
		sr->tls.verified = get_bool(l, tls, sub, "verified", 0);
		sr->tls.verify_error = get_str(l, tls, sub, "verify_error", NULL);
		if (!*sr->tls.protocol && sr->tls.verify_error) {
			free(sr->tls.protocol); /* a handshake --tls-verify require abandoned */
			free(sr->tls.cipher);
			sr->tls.protocol = sr->tls.cipher = NULL;
		}
	}
	json_t *steps = get_typed(l, j, where, "steps", is_array, "an array");
	size_t n = steps ? json_array_size(steps) : 0;
	sr->steps = xcalloc(n ? n : 1, sizeof(*sr->steps));
	for (size_t i = 0; i < n; i++) {
		where_fmt(sub, sizeof(sub), "%s.steps[%zu]", where, i);
		load_step(l, json_array_get(steps, i), sub, &sr->steps[sr->nsteps++]);
	}
}

static void load_run(struct load *l, json_t *root, json_t *tool, json_t *scenarios,
                     struct run_result *out)
{
	out->tool_name = xstrdup("smtpconform");
	out->tool_version = get_str(l, tool, "tool", "version", "");
	out->target = get_str(l, root, "", "target", "");
	out->profile = get_str(l, root, "", "profile", "");
	out->started = get_str(l, root, "", "started", "");
	out->duration_ms = get_int(l, root, "", "duration_ms", 0, INT64_MAX, 0);
	out->strict = get_bool(l, root, "", "strict", 0);
	out->interrupted = get_bool(l, root, "", "interrupted", 0);
	out->tls_verify = 1;
	json_t *tls = get_typed(l, root, "", "tls", is_object, "an object");
	if (tls) {
		char *mode = get_str(l, tls, "tls", "mode", NULL);
		if (mode && strcmp(mode, "implicit") == 0)
			out->tls_mode = mode;
		else
			free(mode);
		out->tls_verify = get_bool(l, tls, "tls", "verify", 0);
		if (get_bool(l, tls, "tls", "require", 0))
			out->tls_verify = TLS_VERIFY_REQUIRE;
	}
	json_t *bl = get_typed(l, root, "", "baseline", is_object, "an object");
	if (bl) {
		out->baseline = get_str(l, bl, "baseline", "file", "");
		out->stale_waivers = get_strv(l, bl, "baseline", "stale", &out->nstale_waivers);
	}
	json_t *probe = get_typed(l, root, "", "probe", is_object, "an object");
	if (probe) {
		out->greeting = get_str(l, probe, "probe", "greeting", NULL);
		out->ehlo_keywords =
		    get_strv(l, probe, "probe", "ehlo_keywords", &out->nehlo_keywords);
		if (field(probe, "preconditions"))
			out->preconditions =
			    get_strv(l, probe, "probe", "preconditions", &out->npreconditions);
		if (get_typed(l, probe, "probe", "ehlo_keywords_after_tls", is_array, "an array")) {
			out->tls_probed = 1;
			out->ehlo_keywords_tls = get_strv(
			    l, probe, "probe", "ehlo_keywords_after_tls", &out->nehlo_keywords_tls);
		}
	}
	size_t n = json_array_size(scenarios);
	out->scenarios = xcalloc(n ? n : 1, sizeof(*out->scenarios));
	for (size_t i = 0; i < n; i++) {
		char where[WHERE_MAX];
		where_fmt(where, sizeof(where), "scenarios[%zu]", i);
		load_scenario(l, json_array_get(scenarios, i), where,
		              &out->scenarios[out->nscenarios++]);
	}
}

static int compare_ids(const void *a, const void *b)
{
	const struct scenario_result *const *x = a, *const *y = b;
	return strcmp((*x)->id, (*y)->id);
}

/* Scenario ids are what merge, diff and baselines match on: one each. */
static void check_unique_ids(struct load *l, const struct run_result *run)
{
	if (l->failed || run->nscenarios < 2)
		return;
	const struct scenario_result **byid = xcalloc(run->nscenarios, sizeof(*byid));
	for (size_t i = 0; i < run->nscenarios; i++)
		byid[i] = &run->scenarios[i];
	qsort(byid, run->nscenarios, sizeof(*byid), compare_ids); /* n log n, for big files */
	for (size_t i = 1; i < run->nscenarios; i++) {
		if (strcmp(byid[i - 1]->id, byid[i]->id) != 0)
			continue;
		size_t first = (size_t)(byid[i - 1] - run->scenarios);
		size_t second = (size_t)(byid[i] - run->scenarios);
		char where[WHERE_MAX], got[WHERE_MAX + 64];
		where_fmt(where, sizeof(where), "scenarios[%zu]", first > second ? first : second);
		where_fmt(got, sizeof(got), "\"%.60s\" again (also scenarios[%zu])",
		          report_clean(byid[i]->id, &l->scratch), first < second ? first : second);
		wrong(l, where, "id", "an id no other scenario has", got);
		break;
	}
	free(byid);
}

int report_load_json_text(const char *name, const char *text, size_t len, struct run_result *out,
                          char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	json_error_t jerr;
	json_t *root = json_loadb(text, len, 0, &jerr);
	if (!root) {
		snprintf(err, errlen, "%s:%d: not a JSON report: %s", name, jerr.line, jerr.text);
		return -1;
	}
	json_t *tool = json_object_get(root, "tool");
	json_t *scenarios = json_object_get(root, "scenarios");
	if (!json_is_object(root) || !json_is_object(tool) || !json_is_array(scenarios) ||
	    !json_is_string(json_object_get(tool, "name")) ||
	    strcmp(json_string_value(json_object_get(tool, "name")), "smtpconform") != 0) {
		snprintf(err, errlen,
		         "%s: not an smtpconform JSON report (no tool.name, scenarios)", name);
		json_decref(root);
		return -1;
	}
	struct load l = { .name = name, .err = err, .errlen = errlen };
	load_run(&l, root, tool, scenarios, out);
	check_unique_ids(&l, out);
	json_decref(root);
	buf_free(&l.scratch);
	if (l.failed) {
		run_result_free(out);
		return -1;
	}
	run_summarize(out);
	return 0;
}

int report_read_file(const char *path, struct buf *text, char *err, size_t errlen)
{
	if (file_read_all(path, REPORT_FILE_MAX, text) == 0)
		return 0; /* text->data is set, even for an empty file */
	snprintf(err, errlen, "%s: %s", path, strerror(errno));
	buf_free(text);
	return -1;
}

int report_load_json(const char *path, struct run_result *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	struct buf text = { 0 };
	if (report_read_file(path, &text, err, errlen) < 0)
		return -1;
	int rc = report_load_json_text(path, text.data, text.len, out, err, errlen);
	buf_free(&text);
	return rc;
}
