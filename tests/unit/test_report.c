/*
 * test_report.c - the result model and the four report formats.
 *
 * Builds a run by hand (pass, fail with violations, skip, error, pass with
 * a warning) whose server text holds escaped NULs, raw invalid UTF-8, raw
 * control bytes, markup and quotes, renders every format and checks it:
 * JSON parses back, JUnit validates against ../shared's junit-10.xsd, TAP
 * parses with TAP::Parser, text has its lines. Run from tests/unit.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "reply.h"
#include "report.h"
#include "unit.h"

#define JUNIT_XSD "../../../shared/schemas/junit-10.xsd"

/* A reply line breaking every promise the model makes. */
#define HOSTILE_LINE                          \
	"550 5.1.1 bad\\x00byte \xff raw\x01" \
	"ctl\x1b[31m"
/* Valid UTF-8 with raw control bytes only (jansson escapes those itself). */
#define CONTROL_LINE "550 5.1.1 bell\x07 and tab\tend"
#define MARKUP_LINE "550-5.1.1 <&> \"double\" 'single' caf\xc3\xa9"

/* ------------------------------------------------------------ the model */

static char **strv(size_t n, ...)
{
	char **v = xcalloc(n, sizeof(*v));
	va_list ap;

	va_start(ap, n);
	for (size_t i = 0; i < n; i++)
		v[i] = xstrdup(va_arg(ap, const char *));
	va_end(ap);
	return v;
}

static void set_step(struct step_result *st, int line, const char *sent, const char *command,
                     const char *expect, int code)
{
	st->line = line;
	st->file = xstrdup("scenarios/core/sample.smtp");
	st->sent = xstrdup(sent);
	st->command = xstrdup(command);
	st->expect = xstrdup(expect);
	st->has_reply = code != 0;
	st->code = code;
	st->verdict = VERDICT_PASS;
}

static void set_scenario(struct scenario_result *sr, const char *id, const char *title,
                         enum verdict verdict, int64_t duration_ms, size_t nsteps)
{
	sr->id = xstrdup(id);
	sr->file = xstrdup("scenarios/core/sample.smtp");
	sr->title = xstrdup(title);
	sr->ref = xstrdup("RFC 5321 4.1.1");
	sr->level = xstrdup("MUST");
	sr->tags = strv(2, "core", "smoke");
	sr->ntags = 2;
	sr->verdict = verdict;
	sr->duration_ms = duration_ms;
	sr->steps = xcalloc(nsteps, sizeof(*sr->steps));
	sr->nsteps = nsteps;
	sr->transcript = xstrdup("");
}

static void greeting_step(struct step_result *st)
{
	set_step(st, 1, "", "CONNECT", "220", 220);
	st->lines = strv(1, "220 mx.example ESMTP");
	st->nlines = st->lines_total = 1;
}

static struct run_result *build_run(int interrupted)
{
	struct run_result *run = xcalloc(1, sizeof(*run));
	struct scenario_result *sr;
	struct step_result *st;

	run->tool_name = xstrdup("smtpconform");
	run->tool_version = xstrdup("0.1.0");
	run->target = xstrdup("127.0.0.1:2525");
	run->profile = xstrdup("rfc5321");
	run->started = xstrdup("2026-11-23T04:32:22Z");
	run->duration_ms = 1234;
	run->interrupted = interrupted;
	run->greeting = xstrdup("220 mx.example ESMTP \xff<&>");
	run->ehlo_keywords = strv(3, "PIPELINING", "SIZE 10240000", "8BITMIME");
	run->nehlo_keywords = 3;
	run->nscenarios = 5;
	run->scenarios = xcalloc(run->nscenarios, sizeof(*run->scenarios));

	/* 1: a plain pass, with a '#' and a backslash for TAP's escaping. */
	sr = &run->scenarios[0];
	set_scenario(sr, "core.noop.basic", "NOOP gets 250 #1 a\\b", VERDICT_PASS, 12, 2);
	greeting_step(&sr->steps[0]);
	st = &sr->steps[1];
	set_step(st, 4, "NOOP", "NOOP", "250", 250);
	st->lines = strv(1, "250 2.0.0 OK");
	st->nlines = st->lines_total = 1;

	/* 2: a failure: a hostile multiline reply, then no reply at all. */
	sr = &run->scenarios[1];
	set_scenario(sr, "core.rcpt.unknown", "RCPT for an unknown user", VERDICT_FAIL, 40, 3);
	greeting_step(&sr->steps[0]);
	st = &sr->steps[1];
	set_step(st, 7, "RCPT TO:<nobody@example.org>", "RCPT", "250|251", 550);
	st->enhanced_code = xstrdup("5.1.1");
	st->reply_flags = REPLY_F_CONTROL | REPLY_F_8BIT;
	st->lines = strv(3, MARKUP_LINE, HOSTILE_LINE, CONTROL_LINE);
	st->nlines = 3;
	st->lines_total = 5;
	step_add_finding(st, "syntax.control-char", SEV_WARN, "RFC 5321 4.2",
	                 "reply line 2 holds control bytes");
	step_add_violation(st, RULE_MATRIX_NOT_ALLOWED, "RFC 5321 4.3.2",
	                   "%d is not allowed after %s (allowed: 250|251)", 550, "RCPT");
	st->verdict = step_verdict(st, 0);
	st = &sr->steps[2];
	set_step(st, 9, "QUIT", "QUIT", "221", 0);
	step_add_finding(st, "session.no-reply", SEV_ERROR, "RFC 5321 4.5.3.2", "no reply to QUIT");
	st->verdict = step_verdict(st, 0);
	free(sr->transcript);
	sr->transcript = xstrdup("S: 220 mx.example ESMTP\nC: RCPT TO:<nobody@example.org>\n"
	                         "S: " MARKUP_LINE "\nS: " HOSTILE_LINE "\nD: Subject: x\nC: QUIT\n"
	                         "-- timeout\ntimeout: no reply\n");

	/* 3: skipped. */
	sr = &run->scenarios[2];
	set_scenario(sr, "core.starttls.basic", "STARTTLS upgrade", VERDICT_SKIP, 0, 0);
	sr->reason = xstrdup("requires STARTTLS <&> \"x\" #y");

	/* 4: a harness error. */
	sr = &run->scenarios[3];
	set_scenario(sr, "core.data.big", "DATA of 10 MB", VERDICT_ERROR, 3, 0);
	sr->reason = xstrdup("connect: Connection refused \xfe");
	free(sr->transcript);
	sr->transcript = xstrdup("C: (connect)\n");

	/* 5: a pass with a warning; an id without a dot. */
	sr = &run->scenarios[4];
	set_scenario(sr, "ehlosize", "EHLO SIZE", VERDICT_PASS, 8, 1);
	st = &sr->steps[0];
	set_step(st, 2, "EHLO client.example", "EHLO", "250", 250);
	st->lines = strv(3, "250-mx.example", "250-AUTH: PLAIN", "250 SIZE");
	st->nlines = st->lines_total = 3;
	step_add_finding(st, "ehlo.size-no-value", SEV_WARN, "RFC 1870 4", "SIZE without a value");
	st->verdict = step_verdict(st, 0);

	run_summarize(run);
	return run;
}

static void free_run(struct run_result *run)
{
	run_result_free(run);
	free(run);
}

static char *render(void (*fn)(const struct run_result *, struct buf *),
                    const struct run_result *run)
{
	struct buf out = { 0 };

	fn(run, &out);
	return buf_steal(&out);
}

/* No control byte but LF (and TAB where allowed), no invalid UTF-8. */
static void assert_clean_output(const char *s, int allow_tab)
{
	struct buf escaped = { 0 };
	size_t len = strlen(s), expected = len;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\n' || (allow_tab && c == '\t'))
			continue;
		if (c < 0x20 || c == 0x7f)
			fail_msg("control byte 0x%02x at offset %zu", c, i);
	}
	/* text_escape() leaves valid text alone but for \\, \n and \t. */
	for (size_t i = 0; i < len; i++)
		if (s[i] == '\\' || s[i] == '\n' || s[i] == '\t')
			expected++;
	text_escape(&escaped, s, len);
	assert_int_equal(escaped.len, expected);
	buf_free(&escaped);
}

static char *line_of(const char *s, const char *prefix)
{
	const char *p = s;

	while (p && *p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);

		if (strncmp(p, prefix, strlen(prefix)) == 0)
			return xstrndup(p, n);
		p = nl ? nl + 1 : NULL;
	}
	fail_msg("no line starting with \"%s\" in:\n%s", prefix, s);
	return NULL;
}

static void assert_line(const char *s, const char *expected)
{
	char *line = line_of(s, expected);

	assert_string_equal(line, expected);
	free(line);
}

static char *make_tmpdir(void)
{
	char *dir = xstrdup("/tmp/test_report.XXXXXX");

	assert_non_null(mkdtemp(dir));
	return dir;
}

static void write_file(const char *path, const char *data)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, strlen(data), f), strlen(data));
	assert_int_equal(fclose(f), 0);
}

static size_t dir_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	assert_non_null(d);
	for (e = readdir(d); e != NULL; e = readdir(d))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void remove_tree(char *dir)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);

	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(dir);
}

static int have_program(const char *name)
{
	char *cmd = xasprintf("command -v %s >/dev/null 2>&1", name);
	int rc = system(cmd);

	free(cmd);
	return rc == 0;
}

/* --------------------------------------------------------------- result */

static void test_result_names(void **state)
{
	(void)state;
	assert_string_equal(verdict_name(VERDICT_PASS), "pass");
	assert_string_equal(verdict_name(VERDICT_WARN), "warn");
	assert_string_equal(verdict_name(VERDICT_FAIL), "fail");
	assert_string_equal(verdict_name(VERDICT_SKIP), "skip");
	assert_string_equal(verdict_name(VERDICT_ERROR), "error");
	assert_string_equal(severity_name(SEV_ERROR), "error");
	assert_string_equal(severity_name(SEV_WARN), "warn");
}

static void test_result_step_verdict(void **state)
{
	static const struct {
		int nwarn, nerror, strict;
		enum verdict expected;
	} cases[] = {
		{ 0, 0, 0, VERDICT_PASS }, { 0, 0, 1, VERDICT_PASS }, { 1, 0, 0, VERDICT_WARN },
		{ 2, 0, 1, VERDICT_FAIL }, { 0, 1, 0, VERDICT_FAIL }, { 1, 1, 0, VERDICT_FAIL },
		{ 1, 1, 1, VERDICT_FAIL },
	};
	(void)state;

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct step_result st = { 0 };

		for (int i = 0; i < cases[c].nwarn; i++)
			step_add_violation(&st, RULE_MATRIX_NONSTANDARD, "RFC 1", "warn %d", i);
		for (int i = 0; i < cases[c].nerror; i++)
			step_add_violation(&st, RULE_EXPECT_CODE, NULL, "error %d", i);
		assert_int_equal(st.nviolations, (size_t)(cases[c].nwarn + cases[c].nerror));
		assert_int_equal(step_verdict(&st, cases[c].strict), cases[c].expected);
		step_result_free(&st);
		assert_null(st.violations);
	}
}

static void test_result_add_violation(void **state)
{
	struct step_result st = { 0 };
	char big[3000];
	(void)state;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	step_add_violation(&st, RULE_MATRIX_NOT_ALLOWED, "RFC 5321 4.3.2",
	                   "%d is not allowed after %s", 551, "RCPT");
	step_add_finding(&st, "long.message", SEV_WARN, NULL, big);
	/* No ref: the rule's; id and severity always the table's. */
	step_add_violation(&st, RULE_MATRIX_NONSTANDARD, NULL, "%s", "200");
	assert_int_equal(st.nviolations, 3);
	assert_string_equal(st.violations[2].rule, "matrix.nonstandard");
	assert_int_equal(st.violations[2].severity, SEV_WARN);
	assert_string_equal(st.violations[2].ref, rule_get(RULE_MATRIX_NONSTANDARD)->ref);
	assert_int_equal(st.violations[1].severity, SEV_WARN);
	assert_string_equal(st.violations[0].rule, "matrix.not-allowed");
	assert_int_equal(st.violations[0].severity, SEV_ERROR);
	assert_string_equal(st.violations[0].message, "551 is not allowed after RCPT");
	assert_string_equal(st.violations[0].ref, "RFC 5321 4.3.2");
	assert_string_equal(st.violations[1].message, big);
	assert_string_equal(st.violations[1].ref, "");
	step_result_free(&st);
}

static void test_result_summary_and_free(void **state)
{
	struct run_result *run = build_run(0);
	struct run_result empty = { 0 };
	(void)state;

	assert_int_equal(run->summary.total, 5);
	assert_int_equal(run->summary.pass, 2);
	assert_int_equal(run->summary.fail, 1);
	assert_int_equal(run->summary.skip, 1);
	assert_int_equal(run->summary.error, 1);
	assert_int_equal(run->scenarios[1].steps[1].verdict, VERDICT_FAIL);
	assert_int_equal(run->scenarios[4].steps[0].verdict, VERDICT_WARN);
	free_run(run);

	run_summarize(&empty);
	assert_int_equal(empty.summary.total, 0);
	run_result_free(&empty);
	run_result_free(NULL);
	scenario_result_free(NULL);
	step_result_free(NULL);
}

/* ----------------------------------------------------------------- JSON */

static json_t *get(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	if (!v)
		fail_msg("missing JSON key \"%s\"", key);
	return v;
}

static void test_json(void **state)
{
	struct run_result *run = build_run(0);
	char *text = render(report_render_json, run);
	json_error_t error;
	json_t *root, *probe, *summary, *scenarios, *sc, *step, *reply, *lines, *v;
	const char *hostile;
	(void)state;

	assert_true(strlen(text) > 0 && text[strlen(text) - 1] == '\n');
	assert_clean_output(text, 0);
	root = json_loads(text, 0, &error);
	if (!root)
		fail_msg("JSON does not parse: %s at line %d", error.text, error.line);

	assert_string_equal(json_string_value(get(get(root, "tool"), "name")), "smtpconform");
	assert_string_equal(json_string_value(get(get(root, "tool"), "version")), "0.1.0");
	assert_string_equal(json_string_value(get(root, "target")), "127.0.0.1:2525");
	assert_string_equal(json_string_value(get(root, "profile")), "rfc5321");
	assert_true(json_is_false(get(root, "strict")));
	assert_true(json_is_false(get(root, "interrupted")));
	assert_string_equal(json_string_value(get(root, "started")), "2026-11-23T04:32:22Z");
	assert_int_equal(json_integer_value(get(root, "duration_ms")), 1234);

	probe = get(root, "probe");
	assert_string_equal(json_string_value(get(probe, "greeting")),
	                    "220 mx.example ESMTP \\xff<&>");
	assert_int_equal(json_array_size(get(probe, "ehlo_keywords")), 3);
	assert_string_equal(json_string_value(json_array_get(get(probe, "ehlo_keywords"), 1)),
	                    "SIZE 10240000");

	summary = get(root, "summary");
	assert_int_equal(json_integer_value(get(summary, "total")), 5);
	assert_int_equal(json_integer_value(get(summary, "pass")), 2);
	assert_int_equal(json_integer_value(get(summary, "fail")), 1);
	assert_int_equal(json_integer_value(get(summary, "skip")), 1);
	assert_int_equal(json_integer_value(get(summary, "error")), 1);

	scenarios = get(root, "scenarios");
	assert_int_equal(json_array_size(scenarios), 5);
	sc = json_array_get(scenarios, 0);
	assert_string_equal(json_string_value(get(sc, "id")), "core.noop.basic");
	assert_string_equal(json_string_value(get(sc, "verdict")), "pass");
	assert_null(json_object_get(sc, "reason"));
	assert_int_equal(json_array_size(get(sc, "tags")), 2);
	assert_string_equal(json_string_value(get(sc, "level")), "MUST");
	assert_string_equal(json_string_value(get(sc, "transcript")), "");

	sc = json_array_get(scenarios, 1);
	assert_string_equal(json_string_value(get(sc, "verdict")), "fail");
	assert_int_equal(json_integer_value(get(sc, "duration_ms")), 40);
	assert_int_equal(json_array_size(get(sc, "steps")), 3);
	step = json_array_get(get(sc, "steps"), 1);
	assert_int_equal(json_integer_value(get(step, "line")), 7);
	assert_string_equal(json_string_value(get(step, "sent")), "RCPT TO:<nobody@example.org>");
	assert_string_equal(json_string_value(get(step, "command")), "RCPT");
	assert_string_equal(json_string_value(get(step, "expect")), "250|251");
	assert_string_equal(json_string_value(get(step, "verdict")), "fail");
	reply = get(step, "reply");
	assert_int_equal(json_integer_value(get(reply, "code")), 550);
	assert_int_equal(json_integer_value(get(reply, "lines_total")), 5);
	assert_string_equal(json_string_value(get(reply, "enhanced_code")), "5.1.1");
	assert_int_equal(json_array_size(get(reply, "flags")), 2);
	assert_string_equal(json_string_value(json_array_get(get(reply, "flags"), 0)),
	                    "control-char");
	assert_string_equal(json_string_value(json_array_get(get(reply, "flags"), 1)), "8bit-text");
	lines = get(reply, "lines");
	assert_int_equal(json_array_size(lines), 3);
	assert_string_equal(json_string_value(json_array_get(lines, 0)), MARKUP_LINE);
	/* Invalid UTF-8: the whole string went through text_escape(). */
	hostile = json_string_value(json_array_get(lines, 1));
	assert_non_null(hostile);
	assert_non_null(strstr(hostile, "\\xff"));
	assert_non_null(strstr(hostile, "raw\\x01ctl\\x1b[31m"));
	assert_null(strchr(hostile, '\x01'));
	/* Valid UTF-8 with controls: jansson escaped them, they read back. */
	assert_string_equal(json_string_value(json_array_get(lines, 2)), CONTROL_LINE);
	assert_int_equal(json_array_size(get(step, "violations")), 2);
	v = json_array_get(get(step, "violations"), 1);
	assert_string_equal(json_string_value(get(v, "rule")), "matrix.not-allowed");
	assert_string_equal(json_string_value(get(v, "severity")), "error");
	assert_string_equal(json_string_value(get(v, "message")),
	                    "550 is not allowed after RCPT (allowed: 250|251)");
	assert_string_equal(json_string_value(get(v, "ref")), "RFC 5321 4.3.2");
	assert_string_equal(json_string_value(get(v, "level")), "SHOULD");
	assert_non_null(strstr(json_string_value(get(v, "sentence")), "strictly adhered to"));
	v = json_array_get(get(step, "violations"), 0);
	assert_string_equal(json_string_value(get(v, "level")), "MUST");
	assert_non_null(strstr(json_string_value(get(v, "sentence")), "textstring"));
	step = json_array_get(get(sc, "steps"), 2);
	/* A rule this version does not know: the scenario's level, no sentence. */
	v = json_array_get(get(step, "violations"), 0);
	assert_string_equal(json_string_value(get(v, "rule")), "session.no-reply");
	assert_string_equal(json_string_value(get(v, "level")), "MUST");
	assert_true(json_is_null(get(v, "sentence")));
	assert_true(json_is_null(get(step, "reply")));

	/* The distinct findings, failing first, each with level and RFC section. */
	json_t *findings = get(root, "findings");
	assert_true(json_array_size(findings) >= 2);
	json_t *f0 = json_array_get(findings, 0);
	assert_string_equal(json_string_value(get(f0, "verdict")), "fail");
	for (size_t i = 0; i < json_array_size(findings); i++) {
		json_t *f = json_array_get(findings, i);

		assert_true(json_string_length(get(f, "level")) > 0);
		assert_true(json_string_length(get(f, "ref")) > 0);
		assert_true(json_array_size(get(f, "scenarios")) > 0);
	}

	sc = json_array_get(scenarios, 2);
	assert_string_equal(json_string_value(get(sc, "verdict")), "skip");
	assert_string_equal(json_string_value(get(sc, "reason")), "requires STARTTLS <&> \"x\" #y");
	sc = json_array_get(scenarios, 3);
	assert_string_equal(json_string_value(get(sc, "verdict")), "error");
	assert_string_equal(json_string_value(get(sc, "reason")),
	                    "connect: Connection refused \\xfe");
	sc = json_array_get(scenarios, 4);
	step = json_array_get(get(sc, "steps"), 0);
	assert_string_equal(json_string_value(get(step, "verdict")), "warn");

	json_decref(root);
	free(text);
	free_run(run);
}

/* The structured reply and the TLS trust note survive `report --from`:
 * report_load.c reads back what report_json.c writes. */
static void test_json_round_trip_structured(void **state)
{
	struct run_result *run = build_run(0);
	struct run_result back;
	char err[512];
	char *text;
	(void)state;

	run->tls_verify = 1;
	run->scenarios[0].tls.verify_error = xstrdup("self-signed certificate");
	text = render(report_render_json, run);
	if (report_load_json_text("t.json", text, strlen(text), &back, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	const struct step_result *st = &back.scenarios[1].steps[1];
	assert_string_equal(st->enhanced_code, "5.1.1");
	assert_int_equal(st->reply_flags, REPLY_F_CONTROL | REPLY_F_8BIT);
	assert_null(back.scenarios[0].steps[1].enhanced_code);
	assert_int_equal(back.scenarios[0].steps[1].reply_flags, 0);
	/* Known rules are resolved once, at load: reporters need no string match. */
	assert_int_equal(st->violations[1].id, RULE_MATRIX_NOT_ALLOWED);
	assert_int_equal(back.scenarios[1].steps[2].violations[0].id, RULE_NONE);
	assert_string_equal(report_tls_untrusted(&back), "self-signed certificate");
	assert_null(back.scenarios[0].tls.protocol);
	char *again = render(report_render_json, &back);
	assert_non_null(strstr(again, "\"enhanced_code\": \"5.1.1\",\n"));
	assert_non_null(strstr(again, "\"control-char\",\n"));
	assert_non_null(strstr(again, "\"verify_error\": \"self-signed certificate\""));
	free(again);
	free(text);
	run_result_free(&back);
	free_run(run);
}

static void test_json_optional_fields(void **state)
{
	struct run_result run = { 0 };
	struct scenario_result sr = { 0 };
	char *text;
	json_t *root, *sc;
	(void)state;

	/* Everything NULL: no probe, nulls for strings, still valid. */
	run.scenarios = &sr;
	run.nscenarios = 1;
	run.strict = 1;
	run.interrupted = 1;
	run_summarize(&run);
	text = render(report_render_json, &run);
	root = json_loads(text, 0, NULL);
	assert_non_null(root);
	assert_null(json_object_get(root, "probe"));
	assert_true(json_is_true(get(root, "strict")));
	assert_true(json_is_true(get(root, "interrupted")));
	assert_true(json_is_null(get(root, "target")));
	sc = json_array_get(get(root, "scenarios"), 0);
	assert_true(json_is_null(get(sc, "id")));
	assert_true(json_is_null(get(sc, "transcript")));
	assert_int_equal(json_array_size(get(sc, "steps")), 0);
	json_decref(root);
	free(text);

	/* Every other format copes with the same empty scenario. */
	free(render(report_render_text, &run));
	free(render(report_render_tap, &run));
	free(render(report_render_junit, &run));
}

/* ---------------------------------------------------------------- JUnit */

static void xmllint_checks(const char *path, int interrupted)
{
	char *cmd;
	FILE *p;
	char count[32] = "";

	if (!have_program("xmllint")) {
		print_message("skipped: xmllint absent\n");
		return;
	}
	cmd = xasprintf("xmllint --noout '%s'", path);
	assert_int_equal(system(cmd), 0);
	free(cmd);

	cmd = xasprintf("xmllint --xpath 'count(//testcase)' '%s'", path);
	p = popen(cmd, "r");
	assert_non_null(p);
	assert_non_null(fgets(count, sizeof(count), p));
	assert_int_equal(pclose(p), 0);
	count[strcspn(count, "\n")] = '\0';
	assert_string_equal(count, interrupted ? "1" : "5");
	free(cmd);
}

static void junit_case(int interrupted)
{
	struct run_result *run = build_run(interrupted);
	char *xml, *dir, *path, *cmd;

	if (interrupted) {
		/* Only the first scenario ran. */
		for (size_t i = 1; i < run->nscenarios; i++)
			scenario_result_free(&run->scenarios[i]);
		run->nscenarios = 1;
		run_summarize(run);
	}
	xml = render(report_render_junit, run);
	assert_clean_output(xml, 1);
	dir = make_tmpdir();
	path = xasprintf("%s/junit.xml", dir);
	write_file(path, xml);
	xmllint_checks(path, interrupted);

	if (!interrupted) {
		assert_non_null(strstr(xml,
		                       "<testsuite name=\"smtpconform\" tests=\"5\" "
		                       "failures=\"1\" errors=\"1\" skipped=\"1\" time=\"1.234\" "
		                       "timestamp=\"2026-11-23T04:32:22Z\">"));
		assert_non_null(strstr(xml,
		                       "<testcase classname=\"core.noop\" name=\"core.noop.basic\""
		                       " time=\"0.012\"/>"));
		assert_non_null(
		    strstr(xml, "<testcase classname=\"smtpconform\" name=\"ehlosize\""));
		/* The failing violation's level and RFC section, in the message and the body. */
		assert_non_null(strstr(xml,
		                       "<failure message=\"matrix.not-allowed (SHOULD, RFC 5321 "
		                       "4.3.2): 550 is not allowed after RCPT (allowed: 250|251)\" "
		                       "type=\"matrix.not-allowed\">"));
		assert_non_null(strstr(xml,
		                       "  violation: matrix.not-allowed (error, SHOULD, RFC 5321 "
		                       "4.3.2)\n"));
		assert_non_null(
		    strstr(xml, "    RFC: \"The table below lists alternative success"));
		assert_non_null(strstr(xml, "step 2/3 scenarios/core/sample.smtp:7\n"));
		assert_non_null(strstr(xml, "step 3/3 scenarios/core/sample.smtp:9\n"));
		assert_non_null(
		    strstr(xml, "550-5.1.1 &lt;&amp;&gt; &quot;double&quot; &apos;single&apos;"
		                " caf\xc3\xa9"));
		assert_non_null(strstr(xml, "bad\\x00byte \\xff raw\\x01ctl\\x1b[31m"));
		assert_non_null(strstr(xml, "bell\\x07 and tab\tend"));
		assert_non_null(strstr(xml, "<skipped message=\"requires STARTTLS &lt;&amp;&gt; "
		                            "&quot;x&quot; #y\"/>"));
		assert_non_null(strstr(xml, "<error message=\"connect: Connection refused \\xfe\""
		                            " type=\"error\">"));
		assert_non_null(strstr(xml, "<system-out>"));
		assert_non_null(strstr(xml, "<property name=\"probe.greeting\" "
		                            "value=\"220 mx.example ESMTP \\xff&lt;&amp;&gt;\"/>"));
		assert_null(strstr(xml, "run interrupted"));
	} else {
		assert_non_null(strstr(xml, "run interrupted: results are partial"));
	}

	if (access(JUNIT_XSD, R_OK) != 0) {
		free(path);
		remove_tree(dir);
		free(xml);
		free_run(run);
		print_message("skipped: ../shared absent\n");
		skip();
	}
	cmd = xasprintf("xmllint --noout --schema '%s' '%s'", JUNIT_XSD, path);
	assert_int_equal(system(cmd), 0);
	free(cmd);

	free(path);
	remove_tree(dir);
	free(xml);
	free_run(run);
}

static void test_junit(void **state)
{
	(void)state;
	junit_case(0);
}

static void test_junit_interrupted(void **state)
{
	(void)state;
	junit_case(1);
}

/* ------------------------------------------------------------------ TAP */

/*
 * TAP::Parser: no parse errors, 2 failed, 1 skipped, 3 YAML blocks, and
 * the guarded colons read back as colons.
 */
static void tap_parser_check(const char *tap)
{
	static const char script[] =
	    "use TAP::Parser;\n"
	    "local $/;\n"
	    "open my $f, '<', $ARGV[0] or die;\n"
	    "my $p = TAP::Parser->new({ tap => scalar <$f> });\n"
	    "my ($yaml, %by_id) = (0);\n"
	    "while (my $r = $p->next) {\n"
	    "  next unless $r->is_yaml;\n"
	    "  $yaml++;\n"
	    "  $by_id{$r->data->{id}} = $r->data;\n"
	    "}\n"
	    "my @e = $p->parse_errors;\n"
	    "print STDERR \"parse error: $_\\n\" for @e;\n"
	    "my @f = $p->failed;\n"
	    "my @s = $p->skipped;\n"
	    "my $warn = $by_id{ehlosize}{steps}[0]{reply}{lines}[1] // '';\n"
	    "my $t = $by_id{'core.rcpt.unknown'}{transcript} // [];\n"
	    "print STDERR \"AUTH line: $warn\\n\" if $warn ne '250-AUTH: PLAIN';\n"
	    "exit(!@e && @f == 2 && @s == 1 && $yaml == 3 && $p->tests_run == 5\n"
	    "     && $warn eq '250-AUTH: PLAIN' && $t->[1]{C} eq 'RCPT TO:<nobody@example.org>'\n"
	    "     && $t->[-4]{D} eq 'Subject: x' && $t->[-2] eq '-- timeout'\n"
	    "     && $t->[-1] eq 'timeout: no reply' ? 0 : 1);\n";
	char *dir, *path, *script_path, *cmd;

	if (!have_program("perl") || system("perl -MTAP::Parser -e 1 2>/dev/null") != 0) {
		print_message("skipped: perl TAP::Parser absent\n");
		return;
	}
	dir = make_tmpdir();
	path = xasprintf("%s/r.tap", dir);
	script_path = xasprintf("%s/check.pl", dir);
	write_file(path, tap);
	write_file(script_path, script);
	cmd = xasprintf("perl '%s' '%s'", script_path, path);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(script_path);
	free(path);
	remove_tree(dir);
}

static void test_tap(void **state)
{
	struct run_result *run = build_run(0);
	char *tap = render(report_render_tap, run);
	const char *head;
	(void)state;

	assert_clean_output(tap, 0);
	head =
	    "TAP version 13\n# smtpconform 0.1.0: target 127.0.0.1:2525, profile rfc5321\n1..5\n";
	assert_int_equal(strncmp(tap, head, strlen(head)), 0);
	assert_line(tap, "ok 1 - core.noop.basic NOOP gets 250 \\#1 a\\\\b");
	assert_line(tap, "not ok 2 - core.rcpt.unknown RCPT for an unknown user");
	assert_line(tap, "ok 3 - core.starttls.basic STARTTLS upgrade # SKIP requires STARTTLS"
	                 " <&> \"x\" \\#y");
	assert_line(tap, "not ok 4 - core.data.big DATA of 10 MB");
	assert_line(tap, "ok 5 - ehlosize EHLO SIZE");
	assert_line(tap, "  message: \"matrix.not-allowed (SHOULD, RFC 5321 4.3.2): 550 is not "
	                 "allowed after RCPT (allowed: 250|251)\"");
	assert_line(tap, "  message: \"connect: Connection refused \\\\xfe\"");
	assert_line(tap, "  severity: \"fail\"");
	assert_line(tap, "    - step: \"2/3\"");
	assert_line(tap, "      verdict: \"fail\"");
	assert_line(tap, "      line: 7");
	assert_line(tap, "      sent: \"RCPT TO:<nobody@example.org>\"");
	assert_line(tap, "      expect: \"250|251\"");
	assert_line(tap, "        code: 550");
	assert_line(tap, "        lines_total: 5");
	assert_line(tap, "        - rule: \"matrix.not-allowed\"");
	assert_line(tap, "          severity: \"error\"");
	assert_line(tap, "          ref: \"RFC 5321 4.3.2\"");
	assert_line(tap, "          level: \"SHOULD\"");
	assert_line(tap,
	            "          sentence: \"The table below lists alternative success and "
	            "failure replies for each command. These SHOULD be strictly adhered to.\"");
	assert_line(tap, "      reply: ~");
	assert_line(tap, "          - \"550-5.1.1 <&> \\\"double\\\" 'single' caf\xc3\xa9\"");
	/* Cleaned (backslash doubled, bytes escaped), then YAML-escaped. */
	assert_line(
	    tap, "          - \"550 5.1.1 bad\\\\\\\\x00byte \\\\xff raw\\\\x01ctl\\\\x1b[31m\"");
	/* A list item YAMLish would take for a map: its colon is \x3a. */
	assert_line(tap, "          - \"250-AUTH\\x3a PLAIN\"");
	assert_line(tap, "    - C: \"RCPT TO:<nobody@example.org>\"");
	assert_line(tap, "    - D: \"Subject: x\"");
	assert_line(tap, "    - \"-- timeout\"");
	assert_line(tap, "    - \"timeout\\x3a no reply\"");
	assert_line(tap, "# 5 scenarios: 2 passed, 1 failed, 1 skipped, 1 errors (1234 ms)");
	assert_null(strstr(tap, "Bail out!"));
	tap_parser_check(tap);
	free(tap);
	free_run(run);

	run = build_run(1);
	tap = render(report_render_tap, run);
	assert_line(tap, "Bail out! run interrupted: results are partial");
	free(tap);
	free_run(run);
}

static void test_tap_empty(void **state)
{
	struct run_result run = { 0 };
	char *tap = render(report_render_tap, &run);
	(void)state;

	assert_line(tap, "1..0 # SKIP no scenarios");
	free(tap);
}

/* ----------------------------------------------------------------- text */

static void test_text(void **state)
{
	struct run_result *run = build_run(0);
	char *text = render(report_render_text, run);
	const char *last;
	(void)state;

	assert_clean_output(text, 0);
	assert_line(text, "smtpconform 0.1.0: target 127.0.0.1:2525, profile rfc5321");
	assert_line(text, "greeting: 220 mx.example ESMTP \\xff<&>");
	assert_line(text, "PASS  core.noop.basic  NOOP gets 250 #1 a\\b  (12 ms)");
	assert_line(text, "FAIL  core.rcpt.unknown  RCPT for an unknown user  (40 ms)");
	assert_line(text,
	            "  step 2/3 scenarios/core/sample.smtp:7: sent 'RCPT TO:<nobody@example.org>'"
	            " expected 250|251 got 550");
	assert_line(text, "    [syntax.control-char] warning: reply line 2 holds control bytes"
	                  " (MUST, RFC 5321 4.2)");
	assert_line(text,
	            "    [matrix.not-allowed] 550 is not allowed after RCPT (allowed: 250|251)"
	            " (SHOULD, RFC 5321 4.3.2)");
	assert_line(text, "    S: " MARKUP_LINE);
	assert_line(text, "    S: 550 5.1.1 bad\\\\x00byte \\xff raw\\x01ctl\\x1b[31m");
	assert_line(text, "    S: 550 5.1.1 bell\\x07 and tab\\tend");
	assert_line(text, "    S: ... (2 more lines not kept)");
	assert_line(
	    text, "  step 3/3 scenarios/core/sample.smtp:9: sent 'QUIT' expected 221 got no reply");
	assert_line(text, "    [session.no-reply] no reply to QUIT (MUST, RFC 5321 4.5.3.2)");
	/* the distinct findings first, each with level and RFC section; the failures again */
	assert_line(text, "Findings: 4 distinct, 2 failing");
	assert_line(text, "1. FAIL   MUST   session.no-reply  QUIT -> no reply  (1 scenario)");
	assert_line(text, "2. FAIL   SHOULD matrix.not-allowed  RCPT -> 550  (1 scenario)");
	assert_line(text,
	            "   rfc: RFC 5321 4.3.2 -- RFC 5321 4.3.1: \"The table below lists alternative "
	            "success and failure replies for each command. These SHOULD be strictly "
	            "adhered to.\"");
	assert_line(text, "   sent: 'RCPT TO:<nobody@example.org>'");
	assert_line(text, "   scenarios: core.rcpt.unknown");
	assert_true(strstr(text, "Findings:") < strstr(text, "PASS  core.noop.basic"));
	assert_line(text, "Failed:");
	assert_line(text, "  - core.rcpt.unknown: finding 1, 2");
	assert_line(text, "  - core.data.big: error: connect: Connection refused \\xfe");
	assert_line(text, "SKIP  core.starttls.basic  STARTTLS upgrade  (0 ms)");
	assert_line(text, "  skipped: requires STARTTLS <&> \"x\" #y");
	assert_line(text, "ERROR core.data.big  DATA of 10 MB  (3 ms)");
	assert_line(text, "  error: connect: Connection refused \\xfe");
	assert_line(text, "WARN  ehlosize  EHLO SIZE  (8 ms)");
	assert_line(text,
	            "    [ehlo.size-no-value] warning: SIZE without a value (MUST, RFC 1870 4)");
	/* The greeting step passed: it is not listed. */
	assert_null(strstr(text, "step 1/3"));
	last = strrchr(text, '\n');
	assert_non_null(last);
	assert_int_equal(last[1], '\0');
	while (last > text && last[-1] != '\n')
		last--;
	assert_string_equal(last,
	                    "5 scenarios: 2 passed, 1 failed, 1 skipped, 1 errors (1234 ms)\n");
	free(text);
	free_run(run);

	run = build_run(1);
	text = render(report_render_text, run);
	assert_non_null(strstr(text, "1 errors (1234 ms)\nrun interrupted: results are partial\n"));
	free(text);
	free_run(run);
}

/* --------------------------------------------------------- spec, write */

static void test_parse_spec(void **state)
{
	static const struct {
		const char *arg;
		int rc;
		enum report_format format;
		const char *path; /* expected path, or a word the error must hold */
	} cases[] = {
		{ "text", 0, REPORT_TEXT, NULL },
		{ "json:out/r.json", 0, REPORT_JSON, "out/r.json" },
		{ "junit:/tmp/a:b.xml", 0, REPORT_JUNIT, "/tmp/a:b.xml" },
		{ "tap:-", 0, REPORT_TAP, NULL },
		{ "tap", 0, REPORT_TAP, NULL },
		{ "xml:r.xml", -1, REPORT_TEXT, "unknown report format 'xml'" },
		{ "JSON", -1, REPORT_TEXT, "unknown report format" },
		{ "", -1, REPORT_TEXT, "unknown report format ''" },
		{ ":r.json", -1, REPORT_TEXT, "unknown report format" },
		{ "jsonx", -1, REPORT_TEXT, "unknown report format 'jsonx'" },
		{ "json:", -1, REPORT_TEXT, "empty path" },
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct report_spec spec;
		char err[256] = "";
		int rc = report_parse_spec(cases[i].arg, &spec, err, sizeof(err));

		assert_int_equal(rc, cases[i].rc);
		if (rc == 0) {
			assert_int_equal(spec.format, cases[i].format);
			if (cases[i].path)
				assert_string_equal(spec.path, cases[i].path);
			else
				assert_null(spec.path);
			report_spec_free(&spec);
			continue;
		}
		assert_null(spec.path);
		assert_non_null(strstr(err, cases[i].path));
		if (strstr(err, "unknown"))
			assert_non_null(strstr(err, "text, json, junit, tap"));
	}
	report_spec_free(NULL);
}

static void test_write_file(void **state)
{
	struct run_result *run = build_run(0);
	char *dir = make_tmpdir();
	char *path = xasprintf("%s/r.json", dir);
	char *bad = xasprintf("%s/missing/r.json", dir);
	char *arg = xasprintf("json:%s", path);
	char *expected = render(report_render_json, run);
	struct report_spec spec;
	struct buf got = { 0 };
	char err[512] = "";
	(void)state;

	assert_int_equal(report_parse_spec(arg, &spec, err, sizeof(err)), 0);
	/* Twice: the second replaces the first. */
	write_file(path, "old contents");
	assert_int_equal(report_write(run, &spec, err, sizeof(err)), 0);
	assert_int_equal(report_write(run, &spec, err, sizeof(err)), 0);
	assert_int_equal(file_read_all(path, 1 << 20, &got), 0);
	assert_string_equal(got.data, expected);
	/* No temporary file left behind. */
	assert_int_equal(dir_entries(dir), 1);
	report_spec_free(&spec);

	spec.format = REPORT_TAP;
	spec.path = bad;
	assert_int_equal(report_write(run, &spec, err, sizeof(err)), -1);
	assert_int_equal(strncmp(err, bad, strlen(bad)), 0);
	assert_non_null(strstr(err, ": No such file or directory"));
	assert_int_equal(dir_entries(dir), 1);

	/* The rename fails (a directory is in the way): the temporary goes. */
	free(bad);
	bad = xasprintf("%s/sub", dir);
	assert_int_equal(mkdir(bad, 0755), 0);
	spec.path = bad;
	assert_int_equal(report_write(run, &spec, err, sizeof(err)), -1);
	assert_int_equal(strncmp(err, bad, strlen(bad)), 0);
	assert_int_equal(dir_entries(dir), 2);

	buf_free(&got);
	free(expected);
	free(arg);
	free(bad);
	free(path);
	remove_tree(dir);
	free_run(run);
}

static void test_write_stdout(void **state)
{
	struct run_result *run = build_run(0);
	char *dir = make_tmpdir();
	char *path = xasprintf("%s/stdout.txt", dir);
	char *expected = render(report_render_text, run);
	struct report_spec spec = { REPORT_TEXT, NULL };
	struct buf got = { 0 };
	char err[256] = "";
	int saved, fd, rc;
	(void)state;

	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	assert_true(saved >= 0);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_true(dup2(fd, STDOUT_FILENO) >= 0);
	close(fd);
	rc = report_write(run, &spec, err, sizeof(err));
	fflush(stdout);
	assert_true(dup2(saved, STDOUT_FILENO) >= 0);
	close(saved);

	assert_int_equal(rc, 0);
	assert_int_equal(file_read_all(path, 1 << 20, &got), 0);
	assert_string_equal(got.data, expected);

	buf_free(&got);
	free(expected);
	free(path);
	remove_tree(dir);
	free_run(run);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_result_names),
		cmocka_unit_test(test_result_step_verdict),
		cmocka_unit_test(test_result_add_violation),
		cmocka_unit_test(test_result_summary_and_free),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_json_optional_fields),
		cmocka_unit_test(test_json_round_trip_structured),
		cmocka_unit_test(test_junit),
		cmocka_unit_test(test_junit_interrupted),
		cmocka_unit_test(test_tap),
		cmocka_unit_test(test_tap_empty),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_parse_spec),
		cmocka_unit_test(test_write_file),
		cmocka_unit_test(test_write_stdout),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
