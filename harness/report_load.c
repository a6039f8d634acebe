/*
 * report_load.c - reads a JSON report (report_json.c's format) back into
 * the result model, so every format can be rendered again from it
 * (`smtpconform report --from`), shards can be merged (`merge`) and runs
 * compared (`diff`). Owns nothing else; the schema is docs/reports.md.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "report.h"
#include "smtp_limits.h"

/* Report files are bounded like scenario files, with room for big runs. */
#define REPORT_FILE_MAX (256u << 20)

static char *str_or(json_t *obj, const char *key, const char *fallback)
{
	json_t *v = json_object_get(obj, key);
	if (json_is_string(v))
		return xstrdup(json_string_value(v));
	return fallback ? xstrdup(fallback) : NULL;
}

static char **strv(json_t *arr, size_t *n_out)
{
	*n_out = 0;
	size_t n = json_is_array(arr) ? json_array_size(arr) : 0;
	char **v = xcalloc(n ? n : 1, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		json_t *s = json_array_get(arr, i);
		v[(*n_out)++] = xstrdup(json_is_string(s) ? json_string_value(s) : "");
	}
	return v;
}

static enum verdict verdict_of(json_t *v)
{
	static const char *const names[] = {"pass", "warn", "fail", "skip", "error"};
	const char *s = json_is_string(v) ? json_string_value(v) : "";
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i]) == 0)
			return (enum verdict)i;
	return VERDICT_ERROR;
}

static void load_step(json_t *j, struct step_result *st)
{
	memset(st, 0, sizeof(*st));
	st->line = (int)json_integer_value(json_object_get(j, "line"));
	st->file = str_or(j, "file", "");
	st->sent = str_or(j, "sent", "");
	st->command = str_or(j, "command", "");
	st->expect = str_or(j, "expect", "");
	st->code = -1;
	json_t *reply = json_object_get(j, "reply");
	if (json_is_object(reply)) {
		st->has_reply = 1;
		st->code = (int)json_integer_value(json_object_get(reply, "code"));
		st->lines = strv(json_object_get(reply, "lines"), &st->nlines);
		json_t *total = json_object_get(reply, "lines_total");
		st->lines_total = json_is_integer(total) ? (size_t)json_integer_value(total) : st->nlines;
	}
	st->verdict = verdict_of(json_object_get(j, "verdict"));
	json_t *vs = json_object_get(j, "violations");
	size_t n = json_is_array(vs) ? json_array_size(vs) : 0;
	for (size_t i = 0; i < n; i++) {
		json_t *v = json_array_get(vs, i);
		const char *sev = json_string_value(json_object_get(v, "severity"));
		char *msg = str_or(v, "message", "");
		char *rule = str_or(v, "rule", "");
		char *ref = str_or(v, "ref", "");
		step_add_finding(st, rule, sev && strcmp(sev, "warn") == 0 ? SEV_WARN : SEV_ERROR, ref,
		                 msg);
		free(msg);
		free(rule);
		free(ref);
	}
}

static void load_scenario(json_t *j, struct scenario_result *sr)
{
	memset(sr, 0, sizeof(*sr));
	sr->id = str_or(j, "id", "");
	sr->file = str_or(j, "file", "");
	sr->title = str_or(j, "title", "");
	sr->ref = str_or(j, "ref", "");
	sr->level = str_or(j, "level", "");
	sr->tags = strv(json_object_get(j, "tags"), &sr->ntags);
	json_t *verdict = json_object_get(j, "verdict");
	if (json_is_string(verdict) && strcmp(json_string_value(verdict), "waived") == 0) {
		sr->verdict = VERDICT_FAIL;
		sr->waived = 1;
		sr->waiver = str_or(j, "waiver", "");
	} else {
		sr->verdict = verdict_of(verdict);
	}
	sr->reason = str_or(j, "reason", NULL);
	sr->duration_ms = json_integer_value(json_object_get(j, "duration_ms"));
	sr->transcript = str_or(j, "transcript", "");
	json_t *tls = json_object_get(j, "tls");
	if (json_is_object(tls)) {
		sr->tls.protocol = str_or(tls, "protocol", "");
		sr->tls.cipher = str_or(tls, "cipher", "");
		sr->tls.subject = str_or(tls, "subject", NULL);
		sr->tls.verified = json_is_true(json_object_get(tls, "verified"));
	}
	json_t *steps = json_object_get(j, "steps");
	size_t n = json_is_array(steps) ? json_array_size(steps) : 0;
	sr->steps = xcalloc(n ? n : 1, sizeof(*sr->steps));
	for (size_t i = 0; i < n; i++)
		load_step(json_array_get(steps, i), &sr->steps[sr->nsteps++]);
}

int report_load_json(const char *path, struct run_result *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	struct buf text = {0};
	if (file_read_all(path, REPORT_FILE_MAX, &text) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		buf_free(&text);
		return -1;
	}
	json_error_t jerr;
	json_t *root = json_loadb(text.data ? text.data : "", text.len, 0, &jerr);
	buf_free(&text);
	if (!root) {
		snprintf(err, errlen, "%s:%d: not a JSON report: %s", path, jerr.line, jerr.text);
		return -1;
	}
	json_t *tool = json_object_get(root, "tool");
	json_t *scenarios = json_object_get(root, "scenarios");
	if (!json_is_object(root) || !json_is_object(tool) || !json_is_array(scenarios) ||
	    !json_is_string(json_object_get(tool, "name")) ||
	    strcmp(json_string_value(json_object_get(tool, "name")), "smtpconform") != 0) {
		snprintf(err, errlen, "%s: not an smtpconform JSON report (no tool.name, scenarios)", path);
		json_decref(root);
		return -1;
	}
	out->tool_name = xstrdup("smtpconform");
	out->tool_version = str_or(tool, "version", "");
	out->target = str_or(root, "target", "");
	out->profile = str_or(root, "profile", "");
	out->started = str_or(root, "started", "");
	out->duration_ms = json_integer_value(json_object_get(root, "duration_ms"));
	out->strict = json_is_true(json_object_get(root, "strict"));
	out->interrupted = json_is_true(json_object_get(root, "interrupted"));
	json_t *tls = json_object_get(root, "tls");
	out->tls_verify = 1;
	if (json_is_object(tls)) {
		char *mode = str_or(tls, "mode", NULL);
		if (mode && strcmp(mode, "implicit") == 0)
			out->tls_mode = mode;
		else
			free(mode);
		out->tls_verify = json_is_true(json_object_get(tls, "verify"));
	}
	json_t *bl = json_object_get(root, "baseline");
	if (json_is_object(bl)) {
		out->baseline = str_or(bl, "file", "");
		out->stale_waivers = strv(json_object_get(bl, "stale"), &out->nstale_waivers);
	}
	json_t *probe = json_object_get(root, "probe");
	if (json_is_object(probe)) {
		out->greeting = str_or(probe, "greeting", NULL);
		out->ehlo_keywords = strv(json_object_get(probe, "ehlo_keywords"), &out->nehlo_keywords);
		json_t *after = json_object_get(probe, "ehlo_keywords_after_tls");
		if (json_is_array(after)) {
			out->tls_probed = 1;
			out->ehlo_keywords_tls = strv(after, &out->nehlo_keywords_tls);
		}
	}
	size_t n = json_array_size(scenarios);
	out->scenarios = xcalloc(n ? n : 1, sizeof(*out->scenarios));
	for (size_t i = 0; i < n; i++)
		load_scenario(json_array_get(scenarios, i), &out->scenarios[out->nscenarios++]);
	json_decref(root);
	run_summarize(out);
	return 0;
}
