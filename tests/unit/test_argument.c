/*
 * test_argument.c - the argument model: RFC 5321 4.1.2 paths, domains,
 * address literals and quoted local-parts, the 4.5.3.1 limits, MAIL/RCPT
 * parameters, SIZE values, base64 and SASL mechanism names. Every input sits
 * right before an unreadable page (unit.h), so an over-read crashes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#include "argument.h"

static enum argument_status path_guarded(const char *s, int null_ok, int pm_ok, int utf8,
                                         struct path_info *out)
{
	struct guarded g;
	size_t n = strlen(s);
	const char *p = (const char *)guarded_copy(&g, s, n);
	enum argument_status st = argument_path(p, n, null_ok, pm_ok, utf8, out);
	guarded_free(&g);
	return st;
}

static void test_paths(void **state)
{
	static const struct {
		const char *path;
		int null_ok, pm_ok, utf8;
		enum argument_status want;
		int postmaster, quoted, literal, has_domain;
	} cases[] = {
		{ "<user@example.com>", 0, 0, 0, ARGUMENT_OK, 0, 0, 0, 1 },
		{ "<>", 1, 0, 0, ARGUMENT_OK, 0, 0, 0, 0 },
		{ "<>", 0, 0, 0, ARGUMENT_SYNTAX, 0, 0, 0, 0 },
		{ "<Postmaster>", 0, 1, 0, ARGUMENT_OK, 1, 0, 0, 0 },
		{ "<pOsTmAsTeR>", 0, 1, 0, ARGUMENT_OK, 1, 0, 0, 0 },
		{ "<Postmaster>", 0, 0, 0, ARGUMENT_SYNTAX, 0, 0, 0, 0 },
		{ "<postmaster@example.com>", 0, 1, 0, ARGUMENT_OK, 1, 0, 0, 1 },
		{ "<\"postmaster\"@example.com>", 0, 1, 0, ARGUMENT_OK, 1, 1, 0, 1 },
		{ "<\"post\\master\"@example.com>", 0, 1, 0, ARGUMENT_OK, 1, 1, 0, 1 },
		{ "<\"john doe\"@example.com>", 0, 0, 0, ARGUMENT_OK, 0, 1, 0, 1 },
		{ "<\"a\\\"b\"@example.com>", 0, 0, 0, ARGUMENT_OK, 0, 1, 0, 1 },
		{ "<\"unterminated@example.com>", 0, 0, 0, ARGUMENT_SYNTAX, 0, 0, 0, 0 },
		{ "<a.b.c@example.com>", 0, 0, 0, ARGUMENT_OK, 0, 0, 0, 1 },
		{ "<a..b@example.com>", 0, 0, 0, ARGUMENT_SYNTAX, 0, 0, 0, 0 },
		{ "<.a@example.com>", 0, 0, 0, ARGUMENT_SYNTAX, 0, 0, 0, 0 },
		{ "<a.@example.com>", 0, 0, 0, ARGUMENT_SYNTAX, 0, 0, 0, 0 },
		{ "<a+tag=x/y@example.com>", 0, 0, 0, ARGUMENT_OK, 0, 0, 0, 1 },
		{ "<user@[127.0.0.1]>", 0, 0, 0, ARGUMENT_OK, 0, 0, 1, 1 },
		{ "<user@[256.0.0.1]>", 0, 0, 0, ARGUMENT_SYNTAX, 0, 0, 0, 0 },
		{ "<user@[1.2.3]>", 0, 0, 0, ARGUMENT_SYNTAX, 0, 0, 0, 0 },
		{ "<user@[IPv6:::1]>", 0, 0, 0, ARGUMENT_OK, 0, 0, 1, 1 },
		{ "<user@[IPv6:2001:db8::1]>", 0, 0, 0, ARGUMENT_OK, 0, 0, 1, 1 },
		{ "<user@[IPv6:zz::1]>", 0, 0, 0, ARGUMENT_SYNTAX, 0, 0, 0, 0 },
		{ "<user@[x-tag:some-thing]>", 0, 0, 0, ARGUMENT_OK, 0, 0, 1, 1 },
		{ "<user@[]>", 0, 0, 0, ARGUMENT_SYNTAX, 0, 0, 0, 0 },
		{ "<@a.example,@b.example:user@c.example>", 0, 0, 0, ARGUMENT_OK, 0, 0, 0, 1 },
		{ "<@a.example:user@c.example>", 0, 0, 0, ARGUMENT_OK, 0, 0, 0, 1 },
		{ "<@a.example,b.example:user@c.example>", 0, 0, 0, ARGUMENT_SYNTAX, 0, 0, 0, 0 },
		{ "<@:user@c.example>", 0, 0, 0, ARGUMENT_SYNTAX, 0, 0, 0, 0 },
		{ "user@example.com", 0, 0, 0, ARGUMENT_SYNTAX, 0, 0, 0, 0 },
		{ "<user@example.com", 0, 0, 0, ARGUMENT_SYNTAX, 0, 0, 0, 0 },
		{ "<user>", 0, 0, 0, ARGUMENT_SYNTAX, 0, 0, 0, 0 },
		{ "<user@>", 0, 0, 0, ARGUMENT_SYNTAX, 0, 0, 0, 0 },
		{ "<user@-example.com>", 0, 0, 0, ARGUMENT_SYNTAX, 0, 0, 0, 0 },
		{ "<user@example-.com>", 0, 0, 0, ARGUMENT_SYNTAX, 0, 0, 0, 0 },
		{ "<user@example..com>", 0, 0, 0, ARGUMENT_SYNTAX, 0, 0, 0, 0 },
		{ "<user@example.com.>", 0, 0, 0, ARGUMENT_SYNTAX, 0, 0, 0, 0 },
		{ "<us er@example.com>", 0, 0, 0, ARGUMENT_SYNTAX, 0, 0, 0, 0 },
		{ "<j\xc3\xb6rg@example.com>", 0, 0, 0, ARGUMENT_SYNTAX, 0, 0, 0, 0 },
		{ "<j\xc3\xb6rg@example.com>", 0, 0, 1, ARGUMENT_OK, 0, 0, 0, 1 },
		{ "<user@b\xc3\xbc"
		  "cher.example>",
		  0, 0, 1, ARGUMENT_OK, 0, 0, 0, 1 },
		{ "", 0, 0, 0, ARGUMENT_SYNTAX, 0, 0, 0, 0 },
		{ "<", 0, 0, 0, ARGUMENT_SYNTAX, 0, 0, 0, 0 },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct path_info info;
		enum argument_status st = path_guarded(cases[i].path, cases[i].null_ok,
		                                       cases[i].pm_ok, cases[i].utf8, &info);
		if (st != cases[i].want)
			fail_msg("%s: status %d, want %d", cases[i].path, st, cases[i].want);
		if (st == ARGUMENT_SYNTAX)
			continue;
		if (info.postmaster != cases[i].postmaster || info.quoted != cases[i].quoted ||
		    info.address_literal != cases[i].literal ||
		    info.has_domain != cases[i].has_domain)
			fail_msg("%s: postmaster %d quoted %d literal %d domain %d", cases[i].path,
			         info.postmaster, info.quoted, info.address_literal,
			         info.has_domain);
	}
}

/* RFC 5321 4.5.3.1: 64 octets of local-part, 255 of domain, 256 of path
 * are within the limits; one more is valid syntax past a limit. */
static void test_limits(void **state)
{
	char local[80], dom[300], path[400];
	(void)state;
	memset(local, 'a', 64);
	local[64] = 0;
	snprintf(path, sizeof(path), "<%s@example.com>", local);
	assert_int_equal(path_guarded(path, 0, 0, 0, NULL), ARGUMENT_OK);
	memset(local, 'a', 65);
	local[65] = 0;
	snprintf(path, sizeof(path), "<%s@example.com>", local);
	assert_int_equal(path_guarded(path, 0, 0, 0, NULL), ARGUMENT_TOO_LONG);

	/* A path of exactly 256 octets: "<" + 64 + "@" + 189 + ">". */
	memset(local, 'b', 64);
	local[64] = 0;
	size_t dl = 256 - 3 - 64;
	for (size_t i = 0; i < dl; i++)
		dom[i] = (i % 10 == 9) ? '.' : 'd';
	dom[dl] = 0;
	snprintf(path, sizeof(path), "<%s@%s>", local, dom);
	assert_int_equal(strlen(path), 256);
	assert_int_equal(path_guarded(path, 0, 0, 0, NULL), ARGUMENT_OK);
	snprintf(path, sizeof(path), "<%s@%se>", local, dom);
	assert_int_equal(strlen(path), 257);
	assert_int_equal(path_guarded(path, 0, 0, 0, NULL), ARGUMENT_TOO_LONG);

	/* A domain of 255 octets is within 4.5.3.1.2, 256 is not. */
	for (size_t i = 0; i < 255; i++)
		dom[i] = (i % 10 == 9) ? '.' : 'd';
	dom[255] = 0;
	assert_int_equal(argument_domain(dom, 255, 0, 0), ARGUMENT_OK);
	dom[255] = 'd';
	dom[256] = 0;
	assert_int_equal(argument_domain(dom, 256, 0, 0), ARGUMENT_TOO_LONG);

	/* A label of 63 octets is within RFC 1035 2.3.4, 64 is not. */
	memset(dom, 'l', 64);
	memcpy(dom + 64, ".test", 6);
	assert_int_equal(argument_domain(dom + 1, 68, 0, 0), ARGUMENT_OK);
	assert_int_equal(argument_domain(dom, 69, 0, 0), ARGUMENT_TOO_LONG);
	snprintf(path, sizeof(path), "<u@%s>", dom);
	assert_int_equal(path_guarded(path, 0, 0, 0, NULL), ARGUMENT_TOO_LONG);
}

static void test_domains(void **state)
{
	static const struct {
		const char *d;
		int literal_ok;
		enum argument_status want;
	} cases[] = {
		{ "example.com", 0, ARGUMENT_OK }, { "a", 0, ARGUMENT_OK },
		{ "1.example", 0, ARGUMENT_OK },   { "smtpconform.example", 0, ARGUMENT_OK },
		{ "[127.0.0.1]", 1, ARGUMENT_OK }, { "[127.0.0.1]", 0, ARGUMENT_SYNTAX },
		{ "[IPv6:::1]", 1, ARGUMENT_OK },  { "", 0, ARGUMENT_SYNTAX },
		{ "-a", 0, ARGUMENT_SYNTAX },      { "a_b", 0, ARGUMENT_SYNTAX },
		{ "a b", 0, ARGUMENT_SYNTAX },     { ".", 0, ARGUMENT_SYNTAX },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct guarded g;
		size_t n = strlen(cases[i].d);
		const char *p = (const char *)guarded_copy(&g, cases[i].d, n);
		enum argument_status st = argument_domain(p, n, cases[i].literal_ok, 0);
		guarded_free(&g);
		if (st != cases[i].want)
			fail_msg("%s: status %d, want %d", cases[i].d, st, cases[i].want);
	}
}

static void test_mail_rcpt(void **state)
{
	static const struct {
		const char *arg;
		int rcpt;
		enum argument_status want;
		size_t nparams;
	} cases[] = {
		{ " FROM:<a@example.com>", 0, ARGUMENT_OK, 0 },
		{ " from:<a@example.com>", 0, ARGUMENT_OK, 0 },
		{ " FROM:<>", 0, ARGUMENT_OK, 0 },
		{ " FROM:<a@example.com> SIZE=1000", 0, ARGUMENT_OK, 1 },
		{ " FROM:<a@example.com> SIZE=1000 BODY=8BITMIME", 0, ARGUMENT_OK, 2 },
		{ " FROM:<a@example.com> SMTPUTF8", 0, ARGUMENT_OK, 1 },
		{ " FROM:<a@example.com> SIZE=", 0, ARGUMENT_SYNTAX, 0 },
		{ " FROM:<a@example.com>  SIZE=1", 0, ARGUMENT_SYNTAX, 0 },
		{ " FROM:<a@example.com> =1", 0, ARGUMENT_SYNTAX, 0 },
		{ " FROM:<a@example.com> SIZE=a=b", 0, ARGUMENT_SYNTAX, 0 },
		{ " FROM:<a@example.com>x", 0, ARGUMENT_SYNTAX, 0 },
		{ " FROM: <a@example.com>", 0, ARGUMENT_SYNTAX, 0 },
		{ " FROM:a@example.com", 0, ARGUMENT_SYNTAX, 0 },
		{ " FROM:", 0, ARGUMENT_SYNTAX, 0 },
		{ "", 0, ARGUMENT_SYNTAX, 0 },
		{ " TO:<a@example.com>", 0, ARGUMENT_SYNTAX, 0 },
		{ " TO:<a@example.com>", 1, ARGUMENT_OK, 0 },
		{ " TO:<Postmaster>", 1, ARGUMENT_OK, 0 },
		{ " TO:<>", 1, ARGUMENT_SYNTAX, 0 },
		{ " TO:<\"a>b\"@example.com>", 1, ARGUMENT_OK, 0 },
		{ " TO:<a@example.com> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a@example.com", 1,
		  ARGUMENT_OK, 2 },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct guarded g;
		struct mail_rcpt_info info;
		size_t n = strlen(cases[i].arg);
		const char *p = (const char *)guarded_copy(&g, cases[i].arg, n);
		enum argument_status st = argument_mail_rcpt(p, n, cases[i].rcpt, 0, &info);
		if (st != cases[i].want)
			fail_msg("'%s': status %d, want %d", cases[i].arg, st, cases[i].want);
		if (st != ARGUMENT_SYNTAX && info.nparams != cases[i].nparams)
			fail_msg("'%s': %zu parameters, want %zu", cases[i].arg, info.nparams,
			         cases[i].nparams);
		guarded_free(&g);
	}
	struct mail_rcpt_info info;
	const char *a = " FROM:<a@example.com> size=42 BODY=7BIT";
	assert_int_equal(argument_mail_rcpt(a, strlen(a), 0, 0, &info), ARGUMENT_OK);
	const struct esmtp_param *p = argument_param(&info, "SIZE");
	assert_non_null(p);
	assert_int_equal(p->value_len, 2);
	assert_memory_equal(p->value, "42", 2);
	assert_null(argument_param(&info, "SMTPUTF8"));
	/* More parameters than ARG_PARAMS_MAX: refused, never overflowed. */
	char many[1024] = " FROM:<a@example.com>";
	for (int i = 0; i <= ARG_PARAMS_MAX; i++)
		strcat(many, " X=1");
	assert_int_equal(argument_mail_rcpt(many, strlen(many), 0, 0, &info), ARGUMENT_SYNTAX);
}

static void test_size_base64_mech(void **state)
{
	unsigned long long v = 0;
	(void)state;
	assert_int_equal(argument_size_value("0", 1, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(argument_size_value("36700160", 8, &v), 0);
	assert_int_equal(v, 36700160ULL);
	assert_int_equal(argument_size_value("99999999999999999999", 20, &v), 0);
	assert_true(v == ~0ULL); /* saturates */
	assert_int_equal(argument_size_value("123456789012345678901", 21, &v), -1);
	assert_int_equal(argument_size_value("smtpconform", 11, &v), -1);
	assert_int_equal(argument_size_value("", 0, &v), -1);
	assert_int_equal(argument_size_value("-1", 2, &v), -1);

	assert_true(argument_is_base64("dGVzdA==", 8));
	assert_true(argument_is_base64("dGVzdDE=", 8));
	assert_true(argument_is_base64("dGVzdDEy", 8));
	assert_true(argument_is_base64("=", 1));
	assert_false(argument_is_base64("dGVzdA=", 7));
	assert_false(argument_is_base64("dG=zdA==", 8));
	assert_false(argument_is_base64("!!!!", 4));
	assert_false(argument_is_base64("", 0));
	assert_false(argument_is_base64("d===", 4));

	assert_true(argument_is_sasl_mech("PLAIN", 5));
	assert_true(argument_is_sasl_mech("SCRAM-SHA-256", 13));
	assert_true(argument_is_sasl_mech("X_Y", 3));
	assert_false(argument_is_sasl_mech("", 0));
	assert_false(argument_is_sasl_mech("A B", 3));
	assert_false(argument_is_sasl_mech("ABCDEFGHIJKLMNOPQRSTU", 21));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_domains),
		cmocka_unit_test(test_mail_rcpt),
		cmocka_unit_test(test_size_base64_mech),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
