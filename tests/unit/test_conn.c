/*
 * test_conn.c - --target parsing: every accepted form and every error.
 */
#include <stdio.h>
#include <string.h>

#include "unit.h"

#include "conn.h"

struct ok_case {
	const char *arg;
	enum target_kind kind;
	const char *host, *port, *path, *command;
};

static const struct ok_case ok_cases[] = {
	{ "127.0.0.1:2525", TARGET_TCP, "127.0.0.1", "2525", NULL, NULL },
	{ "127.0.0.1", TARGET_TCP, "127.0.0.1", "25", NULL, NULL },
	{ "[::1]:2525", TARGET_TCP, "::1", "2525", NULL, NULL },
	{ "[::1]", TARGET_TCP, "::1", "25", NULL, NULL },
	{ "mx.example.org:587", TARGET_TCP, "mx.example.org", "587", NULL, NULL },
	{ "unix:/run/smtp.sock", TARGET_UNIX, NULL, NULL, "/run/smtp.sock", NULL },
	{ "exec:sendmail -bs", TARGET_EXEC, NULL, NULL, NULL, "sendmail -bs" },
};

static void check_str(const char *got, const char *want)
{
	if (!want)
		assert_null(got);
	else
		assert_string_equal(got, want);
}

static void test_ok(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(ok_cases) / sizeof(ok_cases[0]); i++) {
		struct target t;
		char err[256] = "";
		if (target_parse(ok_cases[i].arg, &t, err, sizeof(err)) != 0)
			fail_msg("%s: %s", ok_cases[i].arg, err);
		assert_int_equal(t.kind, ok_cases[i].kind);
		check_str(t.host, ok_cases[i].host);
		check_str(t.port, ok_cases[i].port);
		check_str(t.path, ok_cases[i].path);
		check_str(t.command, ok_cases[i].command);
		assert_string_equal(t.display, ok_cases[i].arg);
		target_free(&t);
	}
}

static const char *const bad_cases[][2] = {
	{ "", "empty" },
	{ "::1:25", "brackets" },
	{ "[::1", "unterminated" },
	{ "[::1]x", "expected ':PORT'" },
	{ "host:0", "port must be" },
	{ "host:65536", "port must be" },
	{ "host:25x", "port must be" },
	{ ":25", "empty host" },
	{ "exec:", "needs a command" },
	{ "unix:", "unix socket path" },
};

static void test_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		struct target t;
		char err[256] = "";
		assert_int_equal(target_parse(bad_cases[i][0], &t, err, sizeof(err)), -1);
		if (!strstr(err, bad_cases[i][1]))
			fail_msg("'%s': message '%s' lacks '%s'", bad_cases[i][0], err,
			         bad_cases[i][1]);
	}
}

static void test_resolve_loopback(void **state)
{
	(void)state;
	struct target t;
	char err[256];
	assert_int_equal(target_parse("127.0.0.1:2525", &t, err, sizeof(err)), 0);
	assert_int_equal(target_resolve(&t, err, sizeof(err)), 0);
	assert_non_null(t.addrs);
	target_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ok),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_resolve_loopback),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
