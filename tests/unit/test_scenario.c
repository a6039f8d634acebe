/*
 * test_scenario.c - scenario file parser, @include, lint, ids and discovery.
 *
 * Runs from tests/unit: inputs are in scenarios/good/ and scenarios/bad/.
 * Every file in scenarios/bad/ starts with "# error: <the exact message>";
 * test_bad_files loads each and compares. Inputs too large or too odd for
 * the tree (NUL bytes, 1 MiB files) are written to a temporary directory.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "unit.h"

#include "smtp_limits.h"
#include "scenario.h"
#include "util.h"
#include "vars.h"

#define ERR_MAX 2048

static struct scenario *load_ok(const char *path, const char *root)
{
	char err[ERR_MAX] = "";
	struct scenario *s = NULL;
	int rc = scenario_load(path, root, &s, err, sizeof(err));
	if (rc != 0)
		print_error("unexpected error: %s\n", err);
	assert_int_equal(rc, 0);
	assert_non_null(s);
	return s;
}

static void assert_load_error(const char *path, const char *expected)
{
	char err[ERR_MAX] = "";
	struct scenario *s = (struct scenario *)&err; /* must be reset to NULL */
	assert_int_equal(scenario_load(path, NULL, &s, err, sizeof(err)), -1);
	assert_null(s);
	assert_string_equal(err, expected);
}

static int regex_matches(const struct expect *e, const char *text)
{
	char msg[256];
	return expect_regex_match(e, text, strlen(text), msg, sizeof(msg)) == 1;
}

/* ---- every line kind and header ---- */

static void test_all_kinds(void **state)
{
	(void)state;
	struct scenario *s = load_ok("scenarios/good/all-kinds.smtp", "scenarios/good");
	const char *f = "scenarios/good/all-kinds.smtp";

	assert_string_equal(s->path, f);
	assert_string_equal(s->id, "unit.all-kinds");
	assert_string_equal(s->title, "A title with  inner spaces");
	assert_string_equal(s->ref, "RFC 5321 4.1.1");
	assert_string_equal(s->level, "SHOULD");
	assert_int_equal(s->ntags, 4);
	assert_string_equal(s->tags[0], "alpha");
	assert_string_equal(s->tags[1], "beta");
	assert_string_equal(s->tags[2], "gamma");
	assert_string_equal(s->tags[3], "delta");
	assert_int_equal(s->nrequires, 3);
	assert_string_equal(s->requires[0], "PIPELINING");
	assert_string_equal(s->requires[1], "8BITMIME");
	assert_string_equal(s->requires[2], "SIZE");
	assert_int_equal(s->timeout_s, 42);
	assert_int_equal(s->nfiles, 1);
	assert_string_equal(s->files[0], f);

	static const struct {
		enum step_kind kind;
		int line;
		const char *text; /* C: text, or S: source */
	} want[] = {
		{ STEP_EXPECT, 10, "220" },
		{ STEP_CMD, 11, "EHLO {client}" },
		{ STEP_EXPECT, 12, "250|251 ~ /^[a-z]+/" },
		{ STEP_CMD, 13, " NOOP" },
		{ STEP_EXPECT, 14, "2xx" },
		{ STEP_CMD, 15, "" },
		{ STEP_EXPECT, 16, "25x" },
		{ STEP_CMD, 17, "NOOP  " },
		{ STEP_EXPECT, 18, "*" },
		{ STEP_RAW, 19, NULL },
		{ STEP_EXPECT, 20, "* ~ /a\\/b/" },
		{ STEP_CMD, 22, "DATA" },
		{ STEP_EXPECT, 23, "354" },
		{ STEP_DATA, 24, NULL },
		{ STEP_EXPECT, 29, "250" },
		{ STEP_CMD, 30, "QUIT" },
		{ STEP_EXPECT, 31, "221" },
		{ STEP_CLOSE, 32, "close" },
	};
	assert_int_equal(s->nsteps, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < s->nsteps; i++) {
		const struct step *st = &s->steps[i];
		assert_int_equal(st->kind, want[i].kind);
		assert_int_equal(st->line, want[i].line);
		assert_ptr_equal(st->file, s->files[0]);
		if (st->kind == STEP_CMD) {
			assert_string_equal(st->text, want[i].text);
			assert_int_equal(st->text_len, strlen(want[i].text));
		}
		if (st->kind == STEP_EXPECT || st->kind == STEP_CLOSE)
			assert_string_equal(st->expect.source, want[i].text);
	}

	/* S: 250|251 ~ /^[a-z]+/ */
	const struct expect *e = &s->steps[2].expect;
	assert_false(e->any);
	assert_int_equal(e->nalts, 2);
	assert_string_equal(e->alts[0], "250");
	assert_string_equal(e->alts[1], "251");
	assert_string_equal(e->regex_src, "^[a-z]+");
	assert_true(regex_matches(e, "mx.example.com"));
	assert_false(regex_matches(e, "Mx"));
	/* S: 2xx, S: 25x, S: * */
	assert_string_equal(s->steps[4].expect.alts[0], "2xx");
	assert_null(s->steps[4].expect.regex_src);
	assert_string_equal(s->steps[6].expect.alts[0], "25x");
	assert_true(s->steps[8].expect.any);
	assert_int_equal(s->steps[8].expect.nalts, 0);
	/* S: * ~ /a\/b/: delimited by the first and last '/' */
	assert_true(s->steps[10].expect.any);
	assert_string_equal(s->steps[10].expect.regex_src, "a\\/b");
	assert_true(regex_matches(&s->steps[10].expect, "x a/b y"));

	/* R: "A\r\n\t\0\\\"\x41\x7e" */
	const struct step *raw = &s->steps[9];
	assert_int_equal(raw->text_len, 9);
	assert_memory_equal(raw->text, "A\r\n\t\0\\\"A~", 9);

	/* The D: block: one step, unexpanded, not dot-stuffed. */
	const struct step *data = &s->steps[13];
	assert_null(data->text);
	assert_int_equal(data->ndata, 5);
	assert_string_equal(data->data_lines[0], "Subject: {{literal}} {sender}");
	assert_string_equal(data->data_lines[1], "");
	assert_string_equal(data->data_lines[2], ".leading dot");
	assert_string_equal(data->data_lines[3], ".no separator space");
	assert_string_equal(data->data_lines[4], " two spaces");

	scenario_free(s);
}

static void test_steps_only_defaults(void **state)
{
	(void)state;
	struct scenario *s = load_ok("scenarios/good/steps-only.smtp", NULL);
	assert_string_equal(s->id, "steps-only");
	assert_string_equal(s->title, "");
	assert_string_equal(s->ref, "");
	assert_string_equal(s->level, "");
	assert_int_equal(s->ntags, 0);
	assert_null(s->tags);
	assert_int_equal(s->nrequires, 0);
	assert_int_equal(s->timeout_s, 0);
	assert_int_equal(s->nsteps, 3);
	scenario_free(s);
}

static void test_crlf_and_no_final_newline(void **state)
{
	(void)state;
	struct scenario *s = load_ok("scenarios/good/crlf.smtp", NULL);
	assert_string_equal(s->id, "unit.crlf");
	assert_int_equal(s->nsteps, 7);
	assert_string_equal(s->steps[1].text, "NOOP");
	assert_int_equal(s->steps[1].text_len, 4);
	assert_int_equal(s->steps[5].kind, STEP_DATA);
	assert_int_equal(s->steps[5].ndata, 2);
	assert_string_equal(s->steps[5].data_lines[0], "line one");
	assert_string_equal(s->steps[5].data_lines[1], "");
	assert_string_equal(s->steps[6].expect.source, "250");
	assert_int_equal(s->steps[6].line, 10);
	scenario_free(s);
}

static void test_byte_order_mark(void **state)
{
	(void)state;
	struct scenario *s = load_ok("scenarios/good/bom.smtp", NULL);
	assert_string_equal(s->id, "unit.bom");
	scenario_free(s);
}

static void test_pipelined_group(void **state)
{
	(void)state;
	struct scenario *s = load_ok("scenarios/good/pipelined.smtp", NULL);
	static const enum step_kind kinds[] = {
		STEP_EXPECT, STEP_CMD,  STEP_CMD, STEP_CMD,    STEP_EXPECT, STEP_EXPECT,
		STEP_EXPECT, STEP_DATA, STEP_CMD, STEP_EXPECT, STEP_EXPECT,
	};
	assert_int_equal(s->nsteps, sizeof(kinds) / sizeof(kinds[0]));
	for (size_t i = 0; i < s->nsteps; i++)
		assert_int_equal(s->steps[i].kind, kinds[i]);
	scenario_free(s);
}

/* ---- expectations ---- */

static void test_expect_code_matches(void **state)
{
	(void)state;
	struct expect e;
	static const struct {
		const char *alts[3];
		int code;
		int match;
	} cases[] = {
		{ { "250" }, 250, 1 },        { { "250" }, 251, 0 }, { { "250", "251" }, 251, 1 },
		{ { "250", "251" }, 252, 0 }, { { "2xx" }, 200, 1 }, { { "2xx" }, 299, 1 },
		{ { "2xx" }, 300, 0 },        { { "25x" }, 259, 1 }, { { "25x" }, 260, 0 },
		{ { "5x3" }, 503, 1 },        { { "5x3" }, 553, 1 }, { { "5x3" }, 550, 0 },
		{ { "500", "5xx" }, 554, 1 }, { { "250" }, -1, 0 },  { { "250" }, 1250, 0 },
		{ { "2xx" }, 20, 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&e, 0, sizeof(e));
		for (size_t a = 0; a < 3 && cases[i].alts[a]; a++)
			memcpy(e.alts[e.nalts++], cases[i].alts[a], 4);
		assert_int_equal(expect_code_matches(&e, cases[i].code), cases[i].match);
	}
	memset(&e, 0, sizeof(e));
	e.any = 1;
	assert_true(expect_code_matches(&e, 250));
	assert_true(expect_code_matches(&e, 999));
	assert_true(expect_code_matches(&e, -1));
}

static void test_expect_forms(void **state)
{
	(void)state;
	/* Expectations as written on an S: line -> parsed alternatives. */
	static const struct {
		const char *line;
		int any;
		const char *alts;  /* joined by ',' */
		const char *regex; /* NULL when absent */
		const char *source;
	} cases[] = {
		{ "S: 250", 0, "250", NULL, "250" },
		{ "S:250", 0, "250", NULL, "250" },
		{ "S:   250   ", 0, "250", NULL, "250" },
		{ "S: 250|251|252", 0, "250,251,252", NULL, "250|251|252" },
		{ "S: 250 | 251", 0, "250,251", NULL, "250 | 251" },
		{ "S: 2XX", 0, "2xx", NULL, "2XX" },
		{ "S: 4xx|5xx", 0, "4xx,5xx", NULL, "4xx|5xx" },
		{ "S: 250|251|252|253|254|255|256|257|258|259|260|261|262|263|264|265", 0,
		  "250,251,252,253,254,255,256,257,258,259,260,261,262,263,264,265", NULL,
		  "250|251|252|253|254|255|256|257|258|259|260|261|262|263|264|265" },
		{ "S: *", 1, "", NULL, "*" },
		{ "S: *~/x/", 1, "", "x", "*~/x/" },
		{ "S: 220 ~ /ESMTP/", 0, "220", "ESMTP", "220 ~ /ESMTP/" },
		{ "S: 250~/a b/", 0, "250", "a b", "250~/a b/" },
		{ "S: 250 ~ /^250[ -]PIPELINING$/", 0, "250", "^250[ -]PIPELINING$",
		  "250 ~ /^250[ -]PIPELINING$/" },
		{ "S: 250 ~ /a/b/c/", 0, "250", "a/b/c", "250 ~ /a/b/c/" },
	};
	char dir[] = "/tmp/smtpconform-test-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char *path = xasprintf("%s/expect.smtp", dir);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		FILE *f = fopen(path, "w");
		assert_non_null(f);
		fprintf(f, "%s\n", cases[i].line);
		fclose(f);
		struct scenario *s = load_ok(path, NULL);
		const struct expect *e = &s->steps[0].expect;
		assert_int_equal(s->steps[0].kind, STEP_EXPECT);
		assert_int_equal(e->any, cases[i].any);
		struct buf joined = { 0 };
		for (size_t a = 0; a < e->nalts; a++)
			buf_printf(&joined, "%s%s", a ? "," : "", e->alts[a]);
		assert_string_equal(joined.data ? joined.data : "", cases[i].alts);
		buf_free(&joined);
		if (cases[i].regex)
			assert_string_equal(e->regex_src, cases[i].regex);
		else
			assert_null(e->regex_src);
		assert_string_equal(e->source, cases[i].source);
		scenario_free(s);
	}
	/* "close" in any case is STEP_CLOSE */
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("S: 221\nS: CLOSE\n", f);
	fclose(f);
	struct scenario *s = load_ok(path, NULL);
	assert_int_equal(s->steps[1].kind, STEP_CLOSE);
	assert_string_equal(s->steps[1].expect.source, "CLOSE");
	scenario_free(s);
	unlink(path);
	rmdir(dir);
	free(path);
}

/* ---- setup steps ---- */

/* The opening @include and the steps above @test are setup; a later
 * @include is not; {rcpt} is noted on the step that names it. */
static void test_setup_steps(void **state)
{
	(void)state;
	struct scenario *s = load_ok("scenarios/good/setup.smtp", NULL);
	assert_int_equal(s->nsteps, 12);
	for (size_t i = 0; i < 7; i++)
		assert_int_equal(s->steps[i].setup, 1);
	for (size_t i = 7; i < 12; i++)
		assert_int_equal(s->steps[i].setup, 0);
	assert_int_equal(s->steps[5].uses_rcpt, 1);
	assert_int_equal(s->steps[3].uses_rcpt, 0);
	scenario_free(s);
	/* Without @test only the opening include is setup. */
	s = load_ok("scenarios/good/include-sibling.smtp", NULL);
	assert_int_equal(s->steps[0].setup, 1);
	assert_int_equal(s->steps[2].setup, 1);
	assert_int_equal(s->steps[3].setup, 0);
	scenario_free(s);
}

/* ---- @include ---- */

static void test_include_sibling(void **state)
{
	(void)state;
	struct scenario *s = load_ok("scenarios/good/include-sibling.smtp", NULL);
	assert_int_equal(s->nfiles, 2);
	assert_string_equal(s->files[0], "scenarios/good/include-sibling.smtp");
	assert_string_equal(s->files[1], "scenarios/good/helper.inc");
	assert_int_equal(s->nsteps, 5);
	assert_ptr_equal(s->steps[0].file, s->files[1]);
	assert_int_equal(s->steps[0].line, 2);
	assert_string_equal(s->steps[1].text, "HELO {client}");
	assert_int_equal(s->steps[1].line, 3);
	assert_ptr_equal(s->steps[3].file, s->files[0]);
	assert_int_equal(s->steps[3].line, 3);
	scenario_free(s);
}

static void test_include_lib_walks_up(void **state)
{
	(void)state;
	/* a/b/deep.smtp includes base.smtp: not in a/b/, not in a/b/_lib/, not
	 * in a/_lib/, found in tree/_lib/; base.smtp includes greet.smtp beside it. */
	struct scenario *s = load_ok("scenarios/good/tree/a/b/deep.smtp", "scenarios/good/tree");
	assert_string_equal(s->id, "a.b.deep");
	assert_int_equal(s->nfiles, 3);
	assert_string_equal(s->files[0], "scenarios/good/tree/a/b/deep.smtp");
	assert_string_equal(s->files[1], "scenarios/good/tree/_lib/base.smtp");
	assert_string_equal(s->files[2], "scenarios/good/tree/_lib/greet.smtp");
	static const struct {
		enum step_kind kind;
		size_t file;
		int line;
	} want[] = {
		{ STEP_EXPECT, 2, 1 }, { STEP_CMD, 1, 3 },    { STEP_EXPECT, 1, 4 },
		{ STEP_CMD, 0, 3 },    { STEP_EXPECT, 0, 4 },
	};
	assert_int_equal(s->nsteps, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < s->nsteps; i++) {
		assert_int_equal(s->steps[i].kind, want[i].kind);
		assert_ptr_equal(s->steps[i].file, s->files[want[i].file]);
		assert_int_equal(s->steps[i].line, want[i].line);
	}
	scenario_free(s);
}

static void test_include_same_file_twice(void **state)
{
	(void)state;
	char dir[] = "/tmp/smtpconform-test-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char *lib = xasprintf("%s/_lib", dir);
	assert_int_equal(mkdir(lib, 0700), 0);
	char *inc = xasprintf("%s/_lib/noop.smtp", dir);
	char *path = xasprintf("%s/twice.smtp", dir);
	FILE *f = fopen(inc, "w");
	fputs("C: NOOP\nS: 250\n", f);
	fclose(f);
	f = fopen(path, "w");
	fputs("S: 220\n@include noop.smtp\n@include noop.smtp\n", f);
	fclose(f);
	struct scenario *s = load_ok(path, dir);
	assert_string_equal(s->id, "twice");
	assert_int_equal(s->nsteps, 5);
	assert_int_equal(s->nfiles, 2); /* each file once */
	assert_ptr_equal(s->steps[1].file, s->steps[3].file);
	scenario_free(s);
	unlink(inc);
	unlink(path);
	rmdir(lib);
	rmdir(dir);
	free(lib);
	free(inc);
	free(path);
}

/* Includes that fan out (each level includes the next ten times) and a
 * scenario of too many steps fail with path:line, before expanding. */
static void test_include_fanout_bound(void **state)
{
	(void)state;
	char dir[] = "/tmp/smtpconform-test-XXXXXX";
	char err[1024];
	struct scenario *s = NULL;
	assert_non_null(mkdtemp(dir));
	char *lib = xasprintf("%s/_lib", dir);
	assert_int_equal(mkdir(lib, 0700), 0);
	for (int level = 1; level <= 8; level++) {
		char *inc = xasprintf("%s/l%d.smtp", lib, level);
		FILE *f = fopen(inc, "w");
		assert_non_null(f);
		for (int k = 0; level < 8 && k < 10; k++)
			fprintf(f, "@include l%d.smtp\n", level + 1);
		if (level == 8)
			fputs("C: NOOP\n", f);
		fclose(f);
		free(inc);
	}
	char *path = xasprintf("%s/bomb.smtp", dir);
	FILE *f = fopen(path, "w");
	fputs("S: 220\n@include l1.smtp\n", f);
	fclose(f);
	assert_int_equal(scenario_load(path, dir, &s, err, sizeof(err)), -1);
	assert_null(s);
	char *want = xasprintf("%s/l7.smtp:", lib);
	assert_ptr_equal(strstr(err, want), err);
	assert_non_null(strstr(err, "more than 256 @include lines"));
	free(want);
	/* Steps: one file with one step too many. */
	f = fopen(path, "w");
	for (int i = 0; i <= SCENARIO_STEPS_MAX; i++)
		fputs("C: NOOP\n", f);
	fclose(f);
	assert_int_equal(scenario_load(path, dir, &s, err, sizeof(err)), -1);
	want = xasprintf("%s:%d: more than %d steps", path, SCENARIO_STEPS_MAX + 1,
	                 SCENARIO_STEPS_MAX);
	assert_string_equal(strstr(err, path), err);
	assert_non_null(strstr(err, want));
	free(want);
	for (int level = 1; level <= 8; level++) {
		char *inc = xasprintf("%s/l%d.smtp", lib, level);
		unlink(inc);
		free(inc);
	}
	unlink(path);
	rmdir(lib);
	rmdir(dir);
	free(lib);
	free(path);
}

/* ---- ids ---- */

static void test_id_from_path(void **state)
{
	(void)state;
	static const struct {
		const char *path, *root, *id;
	} cases[] = {
		{ "scenarios/good/tree/a/b/deep.smtp", "scenarios/good/tree", "a.b.deep" },
		{ "scenarios/good/tree/a/b/deep.smtp", "scenarios/good/tree/", "a.b.deep" },
		{ "scenarios/good/tree/a/b/deep.smtp", "scenarios/good/tree//", "a.b.deep" },
		{ "scenarios/good/tree/a/b/deep.smtp", "scenarios/good", "tree.a.b.deep" },
		{ "scenarios/good/tree/a/b/deep.smtp", "./scenarios/good/tree", "a.b.deep" },
		{ "./scenarios/good/tree/a/b/deep.smtp", "scenarios/good/tree", "a.b.deep" },
		{ "scenarios/good/tree//a/b/deep.smtp", "scenarios/good/tree", "a.b.deep" },
		{ "scenarios/good/tree/a/b/deep.smtp", NULL, "deep" },
		{ "scenarios/good/tree/a/b/deep.smtp", "scenarios/bad", "deep" },
		{ "scenarios/good/tree/top.smtp", "scenarios/good/tree", "top" },
		{ "scenarios/good/helper.inc", NULL, "helper.inc" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct scenario *s = load_ok(cases[i].path, cases[i].root);
		assert_string_equal(s->id, cases[i].id);
		scenario_free(s);
	}
	/* The header wins over the path. */
	struct scenario *s = load_ok("scenarios/good/all-kinds.smtp", "scenarios");
	assert_string_equal(s->id, "unit.all-kinds");
	scenario_free(s);
}

static void test_core_suite_ids(void **state)
{
	(void)state;
	/* The shipped suite loads and every scenario has the headers it needs. */
	char *args[] = { "../../scenarios" };
	struct scenario_list l;
	char err[ERR_MAX];
	assert_int_equal(scenario_collect(args, 1, &l, err, sizeof(err)), 0);
	assert_true(l.n >= 20);
	for (size_t i = 0; i < l.n; i++) {
		struct scenario *s = load_ok(l.paths[i], l.roots[i]);
		assert_true(strncmp(s->id, "core.", 5) == 0 || strchr(s->id, '.'));
		assert_true(strlen(s->title) > 0);
		assert_true(strlen(s->ref) > 0);
		assert_true(strlen(s->level) > 0);
		assert_true(s->ntags > 0);
		struct vars v;
		vars_init_defaults(&v);
		if (scenario_check_vars(s, &v, err, sizeof(err)) != 0)
			print_error("%s\n", err);
		assert_int_equal(scenario_check_vars(s, &v, err, sizeof(err)), 0);
		vars_free(&v);
		scenario_free(s);
	}
	scenario_list_free(&l);
}

/* ---- variables ---- */

static void test_check_vars(void **state)
{
	(void)state;
	struct scenario *s = load_ok("scenarios/good/vars.smtp", NULL);
	struct vars v;
	char err[ERR_MAX];
	vars_init_defaults(&v);
	/* The third D: line of the block, exactly. */
	assert_int_equal(scenario_check_vars(s, &v, err, sizeof(err)), -1);
	assert_string_equal(err, "scenarios/good/vars.smtp:11: unknown variable {custom} "
	                         "(define it with --var custom=VALUE)");
	vars_set(&v, "custom", "x");
	assert_int_equal(scenario_check_vars(s, &v, err, sizeof(err)), -1);
	assert_string_equal(err, "scenarios/good/vars.smtp:13: unknown variable {verb} "
	                         "(define it with --var verb=VALUE)");
	vars_set(&v, "verb", "NOOP");
	assert_int_equal(scenario_check_vars(s, &v, err, sizeof(err)), 0);
	/* A value that is itself broken is reported where it is used. */
	vars_set(&v, "custom", "{nope}");
	assert_int_equal(scenario_check_vars(s, &v, err, sizeof(err)), -1);
	assert_string_equal(err, "scenarios/good/vars.smtp:11: in the value of {custom}: unknown "
	                         "variable {nope} (define it with --var nope=VALUE)");
	vars_free(&v);
	scenario_free(s);
}

/* ---- errors ---- */

/* Every file in scenarios/bad/ names its own error on its first line. */
static void test_bad_files(void **state)
{
	(void)state;
	char *args[] = { "scenarios/bad" };
	struct scenario_list l;
	char err[ERR_MAX];
	assert_int_equal(scenario_collect(args, 1, &l, err, sizeof(err)), 0);
	assert_true(l.n >= 60);
	for (size_t i = 0; i < l.n; i++) {
		struct buf text = { 0 };
		assert_int_equal(file_read_all(l.paths[i], SCENARIO_FILE_MAX, &text), 0);
		const char *prefix = "# error: ";
		assert_non_null(text.data);
		if (strncmp(text.data, prefix, strlen(prefix)) != 0)
			fail_msg("%s: first line is not \"# error: ...\"", l.paths[i]);
		char *expected = text.data + strlen(prefix);
		expected[strcspn(expected, "\n")] = '\0';
		struct scenario *s = NULL;
		int rc = scenario_load(l.paths[i], l.roots[i], &s, err, sizeof(err));
		if (rc != -1 || strcmp(err, expected) != 0)
			fail_msg("%s\n  expected: %s\n  got (%d): %s", l.paths[i], expected, rc,
			         rc ? err : "no error");
		assert_null(s);
		buf_free(&text);
	}
	scenario_list_free(&l);
}

static char *write_temp(const char *dir, const char *name, const void *bytes, size_t len)
{
	char *path = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(bytes, 1, len, f), len);
	fclose(f);
	return path;
}

static void test_generated_errors(void **state)
{
	(void)state;
	char dir[] = "/tmp/smtpconform-test-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char expected[ERR_MAX];
	struct buf b = { 0 };

	/* A line of exactly SCENARIO_LINE_MAX bytes is fine; one more is not. */
	buf_puts(&b, "S: 220\nC: ");
	for (size_t i = 0; i < SCENARIO_LINE_MAX - 3; i++)
		buf_append(&b, "x", 1);
	buf_puts(&b, "\r\nS: 250\n");
	char *ok = write_temp(dir, "max.smtp", b.data, b.len);
	struct scenario *s = load_ok(ok, NULL);
	assert_int_equal(s->steps[1].text_len, SCENARIO_LINE_MAX - 3);
	scenario_free(s);
	buf_reset(&b);
	buf_puts(&b, "S: 220\nC: ");
	for (size_t i = 0; i < SCENARIO_LINE_MAX - 2; i++)
		buf_append(&b, "x", 1);
	buf_puts(&b, "\nS: 250\n");
	char *longer = write_temp(dir, "long.smtp", b.data, b.len);
	snprintf(expected, sizeof(expected), "%s:2: line longer than %d bytes", longer,
	         SCENARIO_LINE_MAX);
	assert_load_error(longer, expected);

	/* A NUL byte. */
	char *nul = write_temp(dir, "nul.smtp", "S: 220\nC: NO\0OP\nS: 250\n", 22);
	snprintf(expected, sizeof(expected), "%s:2: NUL byte in line", nul);
	assert_load_error(nul, expected);

	/* A file over SCENARIO_FILE_MAX, directly and through @include. */
	buf_reset(&b);
	while (b.len <= SCENARIO_FILE_MAX)
		buf_puts(&b, "# padding padding padding padding padding padding padding\n");
	char *big = write_temp(dir, "big.smtp", b.data, b.len);
	snprintf(expected, sizeof(expected), "%s: file larger than %d bytes", big,
	         SCENARIO_FILE_MAX);
	assert_load_error(big, expected);
	char *inc = write_temp(dir, "inc.smtp", "S: 220\n@include big.smtp\n", 25);
	snprintf(expected, sizeof(expected),
	         "%s:2: cannot include big.smtp: %s: file larger than %d bytes", inc, big,
	         SCENARIO_FILE_MAX);
	assert_load_error(inc, expected);

	/* Missing, and a directory. */
	char *missing = xasprintf("%s/missing.smtp", dir);
	snprintf(expected, sizeof(expected), "%s: No such file or directory", missing);
	assert_load_error(missing, expected);
	snprintf(expected, sizeof(expected), "%s: is a directory", dir);
	assert_load_error(dir, expected);

	/* Bad escapes in R: (the detail after "R: " is text_unescape's). */
	static const char *const bad_raw[] = {
		"S: 220\nR: \"NOOP\\q\"\nS: 250\n",
		"S: 220\nR: \"\\xZZ\"\nS: 250\n",
		"S: 220\nR: \"\\x4\"\nS: 250\n",
	};
	for (size_t i = 0; i < sizeof(bad_raw) / sizeof(bad_raw[0]); i++) {
		char *raw = write_temp(dir, "raw.smtp", bad_raw[i], strlen(bad_raw[i]));
		char err[ERR_MAX];
		s = NULL;
		assert_int_equal(scenario_load(raw, NULL, &s, err, sizeof(err)), -1);
		snprintf(expected, sizeof(expected), "%s:2: R: bad escape", raw);
		if (strncmp(err, expected, strlen(expected)) != 0)
			fail_msg("expected \"%s...\", got \"%s\"", expected, err);
		unlink(raw);
		free(raw);
	}

	/* A small err buffer is truncated, never overrun. */
	char small[8];
	s = NULL;
	assert_int_equal(scenario_load(missing, NULL, &s, small, sizeof(small)), -1);
	assert_int_equal(strlen(small), sizeof(small) - 1);

	unlink(ok);
	unlink(longer);
	unlink(nul);
	unlink(big);
	unlink(inc);
	rmdir(dir);
	free(ok);
	free(longer);
	free(nul);
	free(big);
	free(inc);
	free(missing);
	buf_free(&b);
}

/* ---- discovery ---- */

static void test_collect(void **state)
{
	(void)state;
	char err[ERR_MAX];
	struct scenario_list l;
	char *args[] = { "scenarios/good/tree", "scenarios/good/helper.inc",
		         "scenarios/good/tree/" };
	assert_int_equal(scenario_collect(args, 3, &l, err, sizeof(err)), 0);
	static const struct {
		const char *path, *root;
	} want[] = {
		{ "scenarios/good/tree/a/Zed.smtp", "scenarios/good/tree" },
		{ "scenarios/good/tree/a/b/deep.smtp", "scenarios/good/tree" },
		{ "scenarios/good/tree/a/one.smtp", "scenarios/good/tree" },
		{ "scenarios/good/tree/top.smtp", "scenarios/good/tree" },
		{ "scenarios/good/helper.inc", NULL },
		{ "scenarios/good/tree/a/Zed.smtp", "scenarios/good/tree/" },
		{ "scenarios/good/tree/a/b/deep.smtp", "scenarios/good/tree/" },
		{ "scenarios/good/tree/a/one.smtp", "scenarios/good/tree/" },
		{ "scenarios/good/tree/top.smtp", "scenarios/good/tree/" },
	};
	assert_int_equal(l.n, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < l.n; i++) {
		assert_string_equal(l.paths[i], want[i].path);
		if (want[i].root)
			assert_string_equal(l.roots[i], want[i].root);
		else
			assert_null(l.roots[i]);
	}
	scenario_list_free(&l);
	assert_int_equal(l.n, 0);
	assert_null(l.paths);

	char *missing[] = { "scenarios/good/tree", "scenarios/no-such-dir" };
	assert_int_equal(scenario_collect(missing, 2, &l, err, sizeof(err)), -1);
	assert_string_equal(err, "scenarios/no-such-dir: No such file or directory");
	assert_int_equal(l.n, 0);
	assert_null(l.paths);

	char *devnull[] = { "/dev/null" };
	assert_int_equal(scenario_collect(devnull, 1, &l, err, sizeof(err)), -1);
	assert_string_equal(err, "/dev/null: not a file or directory");

	assert_int_equal(scenario_collect(NULL, 0, &l, err, sizeof(err)), 0);
	assert_int_equal(l.n, 0);
}

static void test_collect_symlink_loop(void **state)
{
	(void)state;
	char dir[] = "/tmp/smtpconform-test-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char *sub = xasprintf("%s/sub", dir);
	char *loop = xasprintf("%s/sub/loop", dir);
	char *file = xasprintf("%s/sub/x.smtp", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	assert_int_equal(symlink("..", loop), 0);
	FILE *f = fopen(file, "w");
	fputs("S: 220\n", f);
	fclose(f);
	char *args[] = { dir };
	struct scenario_list l;
	char err[ERR_MAX];
	assert_int_equal(scenario_collect(args, 1, &l, err, sizeof(err)), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.paths[0], file);
	scenario_list_free(&l);
	unlink(file);
	unlink(loop);
	rmdir(sub);
	rmdir(dir);
	free(sub);
	free(loop);
	free(file);
}

/* "S: 220|503!" - an alternative that ends the scenario; "close" too. */
/* The "unknown header" message is built from the header table: it names
 * every header a scenario may have (it once forgot "when"), in order. */
static void test_unknown_header_lists_the_table(void **state)
{
	(void)state;
	char err[ERR_MAX] = "";
	struct scenario *s = NULL;
	assert_int_equal(
	    scenario_load("scenarios/bad/unknown-header.smtp", NULL, &s, err, sizeof(err)), -1);
	const char *known = strstr(err, "(known: ");
	assert_non_null(known);
	size_t n = 0;
	const char *at = known;
	for (const char *const *h = scenario_header_names(); *h; h++, n++) {
		char item[64];
		snprintf(item, sizeof(item), "%s%s", n ? ", " : "(known: ", *h);
		const char *found = strstr(at, item);
		if (!found)
			print_error("header \"%s\" missing from: %s\n", *h, err);
		assert_non_null(found);
		at = found + strlen(item);
	}
	assert_string_equal(at, ")");
	assert_true(n >= 8); /* id, title, ref, level, tags, requires, timeout, when */
}

static void test_ending_alternatives(void **state)
{
	(void)state;
	char path[] = "/tmp/smtpconform-ends-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	static const char text[] = "S: 220\nC: STARTTLS\nS: 220|5x3!|close\nC: QUIT\nS: 221\n";
	assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)(sizeof(text) - 1));
	close(fd);
	struct scenario *sc = NULL;
	char err[512];
	assert_int_equal(scenario_load(path, NULL, &sc, err, sizeof(err)), 0);
	const struct expect *e = &sc->steps[2].expect;
	assert_int_equal(e->nalts, 2);
	assert_true(e->close_ok);
	assert_true(expect_code_matches(e, 220));
	assert_false(expect_code_ends(e, 220));
	assert_true(expect_code_matches(e, 503));
	assert_true(expect_code_ends(e, 503));
	assert_false(expect_code_matches(e, 504));
	assert_false(expect_code_ends(e, 504));
	scenario_free(sc);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_kinds),
		cmocka_unit_test(test_steps_only_defaults),
		cmocka_unit_test(test_crlf_and_no_final_newline),
		cmocka_unit_test(test_byte_order_mark),
		cmocka_unit_test(test_pipelined_group),
		cmocka_unit_test(test_expect_code_matches),
		cmocka_unit_test(test_expect_forms),
		cmocka_unit_test(test_setup_steps),
		cmocka_unit_test(test_include_sibling),
		cmocka_unit_test(test_include_lib_walks_up),
		cmocka_unit_test(test_include_same_file_twice),
		cmocka_unit_test(test_include_fanout_bound),
		cmocka_unit_test(test_id_from_path),
		cmocka_unit_test(test_core_suite_ids),
		cmocka_unit_test(test_check_vars),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_generated_errors),
		cmocka_unit_test(test_collect),
		cmocka_unit_test(test_collect_symlink_loop),
		cmocka_unit_test(test_ending_alternatives),
		cmocka_unit_test(test_unknown_header_lists_the_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
