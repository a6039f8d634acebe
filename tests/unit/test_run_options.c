/*
 * test_run_options.c - unit tests of harness/run_options.c: one table and
 * one check per option for the command line and target profiles, the
 * profile keys the table allows, and the --help lines generated from it.
 */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "run_options.h"
#include "util.h"

/* Writes text to a temporary profile; returns its path (static buffer). */
static const char *write_profile(const char *text)
{
	static char path[] = "/tmp/smtpconform-profile-XXXXXX";
	strcpy(path, "/tmp/smtpconform-profile-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

/* A bad value gives the same reason from argv and from a profile: the
 * check exists once. */
static void test_same_check_for_both_sources(void **state)
{
	(void)state;
	static const struct {
		const char *name, *value, *why;
	} cases[] = {
		{ "tls", "starttls", "expected none or implicit (STARTTLS is a scenario step)" },
		{ "tls-verify", "maybe", "expected on, off or require" },
		{ "tls-min-version", "TLSv9", "expected TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3" },
		{ "timeout", "soon", "expected a whole number from 1 to 86400" },
		{ "jobs", "0", "expected a whole number from 1 to 256" },
		{ "report", "nope", NULL },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct run_option *row = run_option_named(cases[i].name);
		assert_non_null(row);
		assert_true(row->flags & RUN_OPT_IN_PROFILE);
		struct run_options ro;
		char argv_err[1024], file_err[2048], label[64];
		run_options_init(&ro);
		snprintf(label, sizeof(label), "--%s", cases[i].name);
		assert_int_equal(run_option_apply(&ro, row, cases[i].value, label,
		                                  RUN_OPT_FROM_ARGV, argv_err, sizeof(argv_err)),
		                 -1);
		run_options_free(&ro);

		char text[256];
		snprintf(text, sizeof(text), "# a profile\n%s = %s\n", cases[i].name,
		         cases[i].value);
		const char *path = write_profile(text);
		run_options_init(&ro);
		assert_int_equal(run_options_load_profile(&ro, path, file_err, sizeof(file_err)),
		                 -1);
		run_options_free(&ro);
		unlink(path);

		/* "--tls starttls: why" and "PATH:2: tls starttls: why" */
		const char *argv_why = argv_err + strlen(label);
		char prefix[PATH_MAX + 64];
		snprintf(prefix, sizeof(prefix), "%s:2: %s", path, cases[i].name);
		assert_int_equal(strncmp(file_err, prefix, strlen(prefix)), 0);
		assert_string_equal(file_err + strlen(prefix), argv_why);
		if (cases[i].why)
			assert_non_null(strstr(argv_err, cases[i].why));
	}
}

/* A profile sets what the command line sets; the command line's --report
 * replaces the profile's. */
static void test_profile_then_argv(void **state)
{
	(void)state;
	const char *path = write_profile("target = mx.example:2525\nstrict = 1\njobs = 4\n"
	                                 "var.Domain = example.org\nreport = json:a.json\n"
	                                 "tls-verify = off\nauth-password-file = /dev/null\n");
	struct run_options ro;
	char err[1024];
	run_options_init(&ro);
	assert_int_equal(run_options_load_profile(&ro, path, err, sizeof(err)), 0);
	unlink(path);
	assert_string_equal(ro.target_arg, "mx.example:2525");
	assert_int_equal(ro.engine.strict, 1);
	assert_int_equal(ro.engine.jobs, 4);
	assert_int_equal(ro.tls.verify, 0);
	assert_string_equal(ro.auth.file, "/dev/null");
	assert_null(ro.auth.env);
	assert_int_equal(ro.nspecs, 1);
	assert_int_equal(ro.profile_specs, 1);
	assert_int_equal(run_option_apply(&ro, run_option_named("report"), "md:b.md", "--report",
	                                  RUN_OPT_FROM_ARGV, err, sizeof(err)),
	                 0);
	assert_int_equal(ro.nspecs, 1);
	assert_int_equal(ro.profile_specs, 0);
	assert_int_equal(run_option_apply(&ro, run_option_named("strict"), NULL, "--strict",
	                                  RUN_OPT_FROM_ARGV, err, sizeof(err)),
	                 0);
	run_options_free(&ro);
}

/* The keys a profile may hold are exactly the rows marked for it, and the
 * unknown-key message lists them all. */
static void test_profile_keys_come_from_the_table(void **state)
{
	(void)state;
	const char *const *keys = run_options_profile_keys();
	size_t nkeys = 0;
	while (keys[nkeys])
		nkeys++;
	size_t nrows = 0;
	for (const struct run_option *r = run_options; r->name; r++)
		nrows += (r->flags & RUN_OPT_IN_PROFILE) != 0;
	assert_int_equal(nkeys, nrows);
	assert_string_equal(keys[nkeys - 1], "var.NAME");

	const char *path = write_profile("bogus = 1\n");
	struct run_options ro;
	char err[2048];
	run_options_init(&ro);
	assert_int_equal(run_options_load_profile(&ro, path, err, sizeof(err)), -1);
	run_options_free(&ro);
	unlink(path);
	for (size_t i = 0; i < nkeys; i++) {
		char item[64];
		snprintf(item, sizeof(item), " %s%s", keys[i], i + 1 < nkeys ? "," : ")");
		if (!strstr(err, item))
			print_error("key %s missing from: %s\n", keys[i], err);
		assert_non_null(strstr(err, item));
	}
}

/* --help shows every row that has help text, with its argument. */
static void test_usage_lists_every_row(void **state)
{
	(void)state;
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	assert_non_null(out);
	run_options_usage(out, 0);
	fclose(out);
	for (const struct run_option *r = run_options; r->name; r++) {
		if (!r->help)
			continue;
		char head[96];
		snprintf(head, sizeof(head), "--%s%s%s", r->name, r->arg ? " " : "",
		         r->arg ? r->arg : "");
		if (!strstr(text, head))
			print_error("%s missing from --help\n", head);
		assert_non_null(strstr(text, head));
	}
	assert_non_null(strstr(text, "  -c, --config FILE        a target profile"));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_check_for_both_sources),
		cmocka_unit_test(test_profile_then_argv),
		cmocka_unit_test(test_profile_keys_come_from_the_table),
		cmocka_unit_test(test_usage_lists_every_row),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
