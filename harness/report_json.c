/*
 * report_json.c - the machine-readable report: the whole result model as
 * one JSON document (docs/reports.md has the schema field by field).
 *
 * Built with jansson, keys in a fixed order, two-space indent, trailing
 * newline. Does not write anywhere (report.c does).
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "findings.h"
#include "report.h"
#include "tls.h"

/*
 * A JSON string for a model string, null for NULL. The model promises valid
 * UTF-8; jansson refuses anything else, and then the bytes go through
 * text_escape() so the report stays valid instead of losing the field.
 */
static json_t *jstr(const char *s)
{
	json_t *j;
	char *escaped;

	if (!s)
		return json_null();
	j = json_stringn(s, strlen(s));
	if (j)
		return j;
	escaped = text_escape_dup(s, strlen(s));
	j = json_stringn_nocheck(escaped, strlen(escaped));
	free(escaped);
	if (!j)
		BUG("json_stringn_nocheck failed");
	return j;
}

static json_t *jint(int64_t n)
{
	json_t *j = json_integer((json_int_t)n);

	if (!j)
		BUG("json_integer failed");
	return j;
}

static json_t *jobj(void)
{
	json_t *j = json_object();

	if (!j)
		BUG("json_object failed");
	return j;
}

static json_t *jarr(void)
{
	json_t *j = json_array();

	if (!j)
		BUG("json_array failed");
	return j;
}

/* Sets a key the code names (never the peer); takes the value's reference. */
static void set(json_t *obj, const char *key, json_t *value)
{
	if (json_object_set_new(obj, key, value) != 0)
		BUG("json_object_set_new failed");
}

static void push(json_t *arr, json_t *value)
{
	if (json_array_append_new(arr, value) != 0)
		BUG("json_array_append_new failed");
}

static json_t *strv(char *const *v, size_t n)
{
	json_t *arr = jarr();

	for (size_t i = 0; i < n; i++)
		push(arr, jstr(v[i]));
	return arr;
}

/* The reply's syntax flags by name ("bare-lf"), in bit order. */
static json_t *flags_json(unsigned flags)
{
	json_t *arr = jarr();

	for (unsigned bit = 0; bit < 8 * sizeof(flags); bit++) {
		const char *name = (flags & (1u << bit)) ? step_flag_name(1u << bit) : NULL;

		if (name)
			push(arr, jstr(name));
	}
	return arr;
}

static json_t *step_json(const struct scenario_result *sr, const struct step_result *st)
{
	json_t *step = jobj();
	json_t *violations = jarr();

	set(step, "line", jint(st->line));
	set(step, "file", jstr(st->file));
	set(step, "sent", jstr(st->sent));
	set(step, "command", jstr(st->command));
	set(step, "expect", jstr(st->expect));
	if (st->has_reply) {
		json_t *reply = jobj();

		set(reply, "code", jint(st->code));
		set(reply, "enhanced_code", jstr(st->enhanced_code));
		set(reply, "flags", flags_json(st->reply_flags));
		set(reply, "lines", strv(st->lines, st->nlines));
		set(reply, "lines_total", jint((int64_t)st->lines_total));
		set(step, "reply", reply);
	} else {
		set(step, "reply", json_null());
	}
	set(step, "verdict", jstr(verdict_name(st->verdict)));
	if (st->setup)
		set(step, "setup", json_true());
	for (size_t i = 0; i < st->nviolations; i++) {
		const struct violation *v = &st->violations[i];
		json_t *vj = jobj();

		set(vj, "rule", jstr(v->rule));
		set(vj, "severity", jstr(severity_name(v->severity)));
		set(vj, "message", jstr(v->message));
		set(vj, "ref", jstr(findings_ref(sr, v))); /* expect.*: the scenario's ref: */
		set(vj, "level", jstr(findings_level(sr, v)));
		set(vj, "sentence", jstr(findings_sentence(v)));
		push(violations, vj);
	}
	set(step, "violations", violations);
	return step;
}

static json_t *scenario_json(const struct scenario_result *sr)
{
	json_t *sc = jobj();
	json_t *steps = jarr();

	set(sc, "id", jstr(sr->id));
	set(sc, "file", jstr(sr->file));
	set(sc, "title", jstr(sr->title));
	set(sc, "ref", jstr(sr->ref));
	set(sc, "level", jstr(sr->level));
	set(sc, "tags", strv(sr->tags, sr->ntags));
	set(sc, "verdict", jstr(sr->waived ? "waived" : verdict_name(sr->verdict)));
	if (sr->reason)
		set(sc, "reason", jstr(sr->reason));
	if (sr->waived)
		set(sc, "waiver", jstr(sr->waiver));
	set(sc, "duration_ms", jint(sr->duration_ms));
	for (size_t i = 0; i < sr->nsteps; i++)
		push(steps, step_json(sr, &sr->steps[i]));
	set(sc, "steps", steps);
	if (sr->tls.protocol || sr->tls.verify_error) {
		json_t *tls = jobj();

		set(tls, "protocol", jstr(sr->tls.protocol));
		set(tls, "cipher", jstr(sr->tls.cipher));
		set(tls, "subject", sr->tls.subject ? jstr(sr->tls.subject) : json_null());
		set(tls, "verified", json_boolean(sr->tls.verified));
		if (sr->tls.verify_error)
			set(tls, "verify_error", jstr(sr->tls.verify_error));
		set(sc, "tls", tls);
	}
	set(sc, "transcript", jstr(sr->transcript));
	return sc;
}

/* The distinct findings (findings.c), failing first. */
static json_t *findings_json(const struct run_result *run)
{
	struct findings fs;
	json_t *arr = jarr();

	findings_build(run, &fs);
	for (size_t i = 0; i < fs.n; i++) {
		const struct finding *f = &fs.list[i];
		json_t *fj = jobj(), *ids = jarr();

		set(fj, "verdict",
		    jstr(f->failing                ? "fail"
		         : f->waived               ? "waived"
		         : f->severity == SEV_NOTE ? "note"
		                                   : "warn"));
		set(fj, "rule", jstr(f->rule));
		set(fj, "level", jstr(f->level));
		set(fj, "severity", jstr(severity_name(f->severity)));
		set(fj, "ref", jstr(f->ref));
		set(fj, "sentence", jstr(f->sentence));
		set(fj, "sentence_ref", jstr(f->sentence_ref));
		set(fj, "title", jstr(f->title));
		set(fj, "command", jstr(f->command));
		set(fj, "code", f->code >= 0 ? jint(f->code) : json_null());
		set(fj, "message", jstr(f->violation->message));
		set(fj, "sent", jstr(f->step->sent));
		set(fj, "reply",
		    f->step->has_reply ? strv(f->step->lines, f->step->nlines) : json_null());
		if (f->hint) {
			json_t *hj = jobj();

			set(hj, "kind", jstr(hint_kind_name(f->hint->kind)));
			set(hj, "text", jstr(f->hint->text));
			set(fj, "hint", hj);
		} else {
			set(fj, "hint", json_null());
		}
		for (size_t k = 0; k < f->nscenarios; k++)
			push(ids, jstr(run->scenarios[f->scenarios[k]].id));
		set(fj, "scenarios", ids);
		push(arr, fj);
	}
	findings_free(&fs);
	return arr;
}

static int append_to_buf(const char *bytes, size_t n, void *data)
{
	buf_append(data, bytes, n);
	return 0;
}

void report_render_json(const struct run_result *run, struct buf *out)
{
	json_t *root = jobj();
	json_t *tool = jobj();
	json_t *summary = jobj();
	json_t *scenarios = jarr();

	set(tool, "name", jstr(run->tool_name));
	set(tool, "version", jstr(run->tool_version));
	set(root, "tool", tool);
	set(root, "target", jstr(run->target));
	set(root, "profile", jstr(run->profile));
	set(root, "strict", json_boolean(run->strict));
	set(root, "started", jstr(run->started));
	set(root, "duration_ms", jint(run->duration_ms));
	set(root, "interrupted", json_boolean(run->interrupted));
	if (report_used_tls(run)) {
		json_t *tls = jobj();

		set(tls, "mode", jstr(run->tls_mode ? run->tls_mode : "starttls"));
		set(tls, "verify", json_boolean(run->tls_verify));
		if (run->tls_verify == TLS_VERIFY_REQUIRE)
			set(tls, "require", json_true());
		if (report_tls_untrusted(run)) {
			const struct rule *r = rule_get(RULE_TLS_CERT_UNTRUSTED);
			json_t *u = jobj();
			char *line = report_tls_untrusted_line(run);

			set(u, "rule", jstr(r->id));
			set(u, "level", jstr(rule_level_name(r->level)));
			set(u, "ref", jstr(r->ref));
			set(u, "sentence", jstr(r->sentence));
			set(u, "cause", jstr(report_tls_untrusted(run)));
			set(u, "failing", json_boolean(run->tls_verify == TLS_VERIFY_REQUIRE));
			set(u, "message", jstr(line));
			set(tls, "untrusted", u);
			free(line);
		}
		set(root, "tls", tls);
	}
	if (run->greeting) {
		json_t *probe = jobj();

		set(probe, "greeting", jstr(run->greeting));
		set(probe, "ehlo_keywords", strv(run->ehlo_keywords, run->nehlo_keywords));
		if (run->tls_probed)
			set(probe, "ehlo_keywords_after_tls",
			    strv(run->ehlo_keywords_tls, run->nehlo_keywords_tls));
		if (run->npreconditions)
			set(probe, "preconditions", strv(run->preconditions, run->npreconditions));
		set(root, "probe", probe);
	}
	set(summary, "total", jint((int64_t)run->summary.total));
	set(summary, "pass", jint((int64_t)run->summary.pass));
	set(summary, "fail", jint((int64_t)run->summary.fail));
	set(summary, "skip", jint((int64_t)run->summary.skip));
	set(summary, "error", jint((int64_t)run->summary.error));
	set(summary, "inconclusive", jint((int64_t)run->summary.inconclusive));
	if (run->baseline) {
		json_t *bl = jobj();

		set(summary, "waived", jint((int64_t)run->summary.waived));
		set(bl, "file", jstr(run->baseline));
		set(bl, "stale", strv(run->stale_waivers, run->nstale_waivers));
		set(root, "baseline", bl);
	}
	set(root, "summary", summary);
	set(root, "findings", findings_json(run));
	for (size_t i = 0; i < run->nscenarios; i++)
		push(scenarios, scenario_json(&run->scenarios[i]));
	set(root, "scenarios", scenarios);

	if (json_dump_callback(root, append_to_buf, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0)
		BUG("json_dump_callback failed");
	buf_puts(out, "\n");
	json_decref(root);
}
