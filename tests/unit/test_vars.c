/*
 * test_vars.c - scenario variables: defaults, --var, {name} expansion.
 *
 * Expansion input is placed right before an unreadable page (guarded_copy),
 * so reading past len crashes: vars_expand must honour len, not a NUL.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#include "smtp_limits.h"
#include "util.h"
#include "vars.h"

#define ERR_MAX 512

/* Expands text (not NUL-terminated) and returns 0 or -1; out gets the text or message. */
static int expand(const struct vars *v, const char *text, char *out, size_t outlen)
{
	struct guarded g;
	size_t len = strlen(text);
	const char *copy = (const char *)guarded_copy(&g, text, len);
	struct buf b = { 0 };
	char err[ERR_MAX] = "";
	int rc = vars_expand(v, copy, len, &b, err, sizeof(err));
	snprintf(out, outlen, "%s", rc == 0 ? (b.data ? b.data : "") : err);
	buf_free(&b);
	guarded_free(&g);
	return rc;
}

static void test_defaults(void **state)
{
	(void)state;
	struct vars v;
	char out[ERR_MAX];
	memset(&v, 0xAA, sizeof(v)); /* vars_init_defaults takes uninitialised storage */
	vars_init_defaults(&v);
	assert_int_equal(v.n, 6);
	assert_string_equal(vars_get(&v, "domain"), "localhost");
	assert_string_equal(vars_get(&v, "client"), "smtpconform.example");
	assert_string_equal(vars_get(&v, "sender"), "conform@smtpconform.example");
	assert_string_equal(vars_get(&v, "rcpt"), "postmaster@{domain}");
	assert_string_equal(vars_get(&v, "foreign_domain"), "example.net");
	assert_string_equal(vars_get(&v, "relay_rcpt"), "relay-test@{foreign_domain}");
	assert_null(vars_get(&v, "nope"));
	assert_null(vars_get(&v, "Domain")); /* names are case-sensitive */
	assert_int_equal(expand(&v, "RCPT TO:<{rcpt}>", out, sizeof(out)), 0);
	assert_string_equal(out, "RCPT TO:<postmaster@localhost>");
	/* --var domain=x changes rcpt, which is expanded on use. */
	char err[ERR_MAX];
	assert_int_equal(vars_set_arg(&v, "domain=example.org", err, sizeof(err)), 0);
	assert_int_equal(expand(&v, "RCPT TO:<{rcpt}>", out, sizeof(out)), 0);
	assert_string_equal(out, "RCPT TO:<postmaster@example.org>");
	assert_int_equal(v.n, 6);
	vars_free(&v);
	assert_int_equal(v.n, 0);
	assert_null(v.names);
	assert_null(v.values);
}

static void test_set_arg(void **state)
{
	(void)state;
	struct vars v;
	char err[ERR_MAX];
	vars_init_defaults(&v);
	static const struct {
		const char *arg;
		int rc;
		const char *name;  /* for rc == 0 */
		const char *value; /* for rc == 0, or the message for rc == -1 */
	} cases[] = {
		{ "user=alice", 0, "user", "alice" },
		{ "user=bob", 0, "user", "bob" },
		{ "a.b-c_D9=x", 0, "a.b-c_D9", "x" },
		{ "empty=", 0, "empty", "" },
		{ "eq=a=b", 0, "eq", "a=b" },
		{ "sp=  spaced  ", 0, "sp", "  spaced  " },
		{ "client=mx.example", 0, "client", "mx.example" },
		{ "user", -1, NULL, "--var user: expected NAME=VALUE" },
		{ "", -1, NULL, "--var : expected NAME=VALUE" },
		{ "=x", -1, NULL,
		  "--var =x: invalid variable name \"\" (use letters, digits, '_', '.', '-')" },
		{ "a b=x", -1, NULL,
		  "--var a b=x: invalid variable name \"a b\" (use letters, digits, '_', '.', "
		  "'-')" },
		{ "{a}=x", -1, NULL,
		  "--var {a}=x: invalid variable name \"{a}\" (use letters, digits, '_', '.', "
		  "'-')" },
		{ "a/b=x", -1, NULL,
		  "--var a/b=x: invalid variable name \"a/b\" (use letters, digits, '_', '.', "
		  "'-')" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		int rc = vars_set_arg(&v, cases[i].arg, err, sizeof(err));
		assert_int_equal(rc, cases[i].rc);
		if (rc == 0)
			assert_string_equal(vars_get(&v, cases[i].name), cases[i].value);
		else
			assert_string_equal(err, cases[i].value);
	}
	assert_int_equal(v.n, 6 + 5); /* user, a.b-c_D9, empty, eq, sp; client replaced */
	vars_free(&v);
}

static void test_set_arg_limit(void **state)
{
	(void)state;
	struct vars v;
	char err[ERR_MAX], arg[64];
	vars_init_defaults(&v);
	for (size_t i = v.n; i < SCENARIO_VARS_MAX; i++) {
		snprintf(arg, sizeof(arg), "v%zu=%zu", i, i);
		assert_int_equal(vars_set_arg(&v, arg, err, sizeof(err)), 0);
	}
	assert_int_equal(v.n, SCENARIO_VARS_MAX);
	assert_int_equal(vars_set_arg(&v, "one.more=x", err, sizeof(err)), -1);
	char expected[ERR_MAX];
	snprintf(expected, sizeof(expected), "--var one.more=x: too many variables (at most %d)",
	         SCENARIO_VARS_MAX);
	assert_string_equal(err, expected);
	/* Replacing an existing one is still fine at the limit. */
	assert_int_equal(vars_set_arg(&v, "domain=x", err, sizeof(err)), 0);
	vars_free(&v);
}

static void test_expand(void **state)
{
	(void)state;
	struct vars v;
	char out[ERR_MAX];
	vars_init_defaults(&v);
	vars_set(&v, "a", "A");
	vars_set(&v, "b", "[{a}{a}]");
	vars_set(&v, "brace", "x{{y");
	vars_set(&v, "empty", "");
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "", "" },
		{ "NOOP", "NOOP" },
		{ "{a}", "A" },
		{ "{a}{a}", "AA" },
		{ "x{a}y{a}z", "xAyAz" },
		{ "{b}", "[AA]" },
		{ "{{", "{" },
		{ "{{a}", "{a}" },
		{ "{{{a}", "{A" },
		{ "}", "}" },
		{ "a}}", "a}}" },
		{ "{brace}", "x{y" },
		{ "<{empty}>", "<>" },
		{ "HELO {client}", "HELO smtpconform.example" },
		{ "MAIL FROM:<{sender}>", "MAIL FROM:<conform@smtpconform.example>" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(expand(&v, cases[i].in, out, sizeof(out)), 0);
		assert_string_equal(out, cases[i].out);
	}
	vars_free(&v);
}

static void test_expand_errors(void **state)
{
	(void)state;
	struct vars v;
	char out[ERR_MAX];
	vars_init_defaults(&v);
	vars_set(&v, "self", "x{self}");
	vars_set(&v, "ping", "{pong}");
	vars_set(&v, "pong", "<{ping}>");
	vars_set(&v, "broken", "a{b");
	vars_set(&v, "uses.missing", "{missing}");
	vars_set(&v, "outer", "<{uses.missing}>");
	static const struct {
		const char *in, *err;
	} cases[] = {
		{ "{nope}", "unknown variable {nope} (define it with --var nope=VALUE)" },
		{ "HELO {client} {x.y}",
		  "unknown variable {x.y} (define it with --var x.y=VALUE)" },
		{ "{", "unterminated { (write {{ for a literal {)" },
		{ "abc{client", "unterminated { (write {{ for a literal {)" },
		{ "{{{", "unterminated { (write {{ for a literal {)" },
		{ "{}", "invalid variable name {} (use letters, digits, '_', '.', '-'; "
		        "write {{ for a literal {)" },
		{ "{a b}", "invalid variable name {a b} (use letters, digits, '_', '.', '-'; "
		           "write {{ for a literal {)" },
		{ "{a{b}", "invalid variable name {a{b} (use letters, digits, '_', '.', '-'; "
		           "write {{ for a literal {)" },
		{ "{self}", "variable cycle: {self} -> {self}" },
		{ "{ping}", "variable cycle: {ping} -> {pong} -> {ping}" },
		{ "{pong}", "variable cycle: {pong} -> {ping} -> {pong}" },
		{ "{broken}",
		  "in the value of {broken}: unterminated { (write {{ for a literal {)" },
		{ "{uses.missing}", "in the value of {uses.missing}: unknown variable {missing} "
		                    "(define it with --var missing=VALUE)" },
		{ "{outer}", "in the value of {uses.missing}: unknown variable {missing} "
		             "(define it with --var missing=VALUE)" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(expand(&v, cases[i].in, out, sizeof(out)), -1);
		assert_string_equal(out, cases[i].err);
	}
	vars_free(&v);
}

static void test_expand_depth(void **state)
{
	(void)state;
	struct vars v;
	char out[ERR_MAX], name[16], value[32];
	vars_init_defaults(&v);
	/* d0 -> d1 -> ... -> d40 = "end": no cycle, but deeper than the limit. */
	for (int i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "d%d", i);
		snprintf(value, sizeof(value), "{d%d}", i + 1);
		vars_set(&v, name, value);
	}
	vars_set(&v, "d40", "end");
	assert_int_equal(expand(&v, "{d0}", out, sizeof(out)), -1);
	assert_non_null(strstr(out, "values nest deeper than"));
	/* A short chain is fine. */
	assert_int_equal(expand(&v, "{d35}", out, sizeof(out)), 0);
	assert_string_equal(out, "end");
	vars_free(&v);
}

static void test_expand_len_bound(void **state)
{
	(void)state;
	struct vars v;
	struct buf b = { 0 };
	char err[ERR_MAX];
	vars_init_defaults(&v);
	/* Only the first 8 bytes count: "{domain}" and not what follows. */
	const char *text = "{domain}{nope}";
	assert_int_equal(vars_expand(&v, text, 8, &b, err, sizeof(err)), 0);
	assert_string_equal(b.data, "localhost");
	/* "{dom" alone is unterminated even though "ain}" follows in memory. */
	buf_reset(&b);
	assert_int_equal(vars_expand(&v, text, 4, &b, err, sizeof(err)), -1);
	assert_string_equal(err, "unterminated { (write {{ for a literal {)");
	/* Appends to what the buffer holds. */
	buf_reset(&b);
	buf_puts(&b, ">");
	assert_int_equal(vars_expand(&v, "{client}", 8, &b, err, sizeof(err)), 0);
	assert_string_equal(b.data, ">smtpconform.example");
	buf_free(&b);
	vars_free(&v);
}

/* Values that repeat other values multiply: the expansion stops at
 * VARS_EXPANDED_MAX bytes or VARS_REFS_MAX references, whichever comes
 * first, instead of running out of memory (ten levels of ten is 10^10). */
static void test_expand_fanout_bound(void **state)
{
	(void)state;
	struct vars v;
	char name[16];
	struct buf value = { 0 }, b = { 0 };
	char err[ERR_MAX];
	vars_init_defaults(&v);
	for (int fill = 0; fill < 2; fill++) {
		/* fill: v0 = 100 bytes (the size bound trips); else v0 = "" (no
		 * output at all: the reference bound trips). */
		buf_reset(&value);
		for (int i = 0; fill && i < 100; i++)
			buf_puts(&value, "x");
		vars_set(&v, "v0", value.data ? value.data : "");
		for (int level = 1; level < 10; level++) {
			buf_reset(&value);
			for (int k = 0; k < 10; k++)
				buf_printf(&value, "{v%d}", level - 1);
			snprintf(name, sizeof(name), "v%d", level);
			vars_set(&v, name, value.data);
		}
		buf_reset(&b);
		assert_int_equal(vars_expand(&v, "{v9}", 4, &b, err, sizeof(err)), -1);
		assert_non_null(strstr(err, fill ? "longer than" : "references"));
		assert_true(b.len <= VARS_EXPANDED_MAX + 100);
		/* Small fan-outs are fine: 10 * 10 * 100 bytes. */
		buf_reset(&b);
		assert_int_equal(vars_expand(&v, "{v2}", 4, &b, err, sizeof(err)), 0);
		assert_int_equal(b.len, fill ? 10000 : 0);
	}
	buf_free(&value);
	buf_free(&b);
	vars_free(&v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),         cmocka_unit_test(test_set_arg),
		cmocka_unit_test(test_set_arg_limit),    cmocka_unit_test(test_expand),
		cmocka_unit_test(test_expand_errors),    cmocka_unit_test(test_expand_depth),
		cmocka_unit_test(test_expand_len_bound), cmocka_unit_test(test_expand_fanout_bound),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
