/*
 * test_sasl.c - SASL client responses against the RFCs' own examples:
 * CRAM-MD5 (RFC 2195 section 2), SCRAM-SHA-256 (RFC 7677 section 3),
 * PLAIN (RFC 4616) and LOGIN.
 */
#include <stdio.h>
#include <string.h>

#include "unit.h"

#include "sasl.h"

static char *decoded(const char *b64)
{
	static char out[512];
	struct buf b = {0};
	assert_int_equal(sasl_b64_decode(b64, &b), 0);
	assert_true(b.len < sizeof(out));
	memcpy(out, b.data ? b.data : "", b.len);
	out[b.len] = 0;
	buf_free(&b);
	return out;
}

static char *encoded(const char *text)
{
	static char out[512];
	struct buf b = {0};
	sasl_b64_encode(text, strlen(text), &b);
	snprintf(out, sizeof(out), "%s", b.data);
	buf_free(&b);
	return out;
}

static void test_cram_md5_rfc2195(void **state)
{
	(void)state;
	struct sasl s;
	sasl_init(&s, SASL_CRAM_MD5, "tim", "tanstaaftanstaaf", NULL);
	struct buf out = {0};
	char err[256];
	assert_int_equal(sasl_initial(&s, &out), 0);
	assert_int_equal(sasl_respond(&s, encoded("<1896.697170952@postoffice.reston.mci.net>"), &out,
	                              err, sizeof(err)), 0);
	assert_string_equal(decoded(out.data), "tim b913a602c7eda7a495b4e6e7334d3890");
	buf_free(&out);
	sasl_free(&s);
}

static void test_scram_sha256_rfc7677(void **state)
{
	(void)state;
	struct sasl s;
	sasl_init(&s, SASL_SCRAM_SHA_256, "user", "pencil", "rOprNGfwEbeRWgbNEkqO");
	struct buf out = {0};
	char err[256] = "";
	assert_int_equal(sasl_initial(&s, &out), 1);
	assert_string_equal(decoded(out.data), "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
	buf_reset(&out);
	const char *server_first = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
	                           "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
	assert_int_equal(sasl_respond(&s, encoded(server_first), &out, err, sizeof(err)), 0);
	assert_string_equal(decoded(out.data),
	                    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
	                    "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
	buf_reset(&out);
	assert_int_equal(sasl_respond(&s, encoded("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="),
	                              &out, err, sizeof(err)), 0);
	assert_int_equal(out.len, 0);
	buf_free(&out);
	sasl_free(&s);
}

static void test_scram_bad_server_signature(void **state)
{
	(void)state;
	struct sasl s;
	sasl_init(&s, SASL_SCRAM_SHA_256, "user", "pencil", "rOprNGfwEbeRWgbNEkqO");
	struct buf out = {0};
	char err[256] = "";
	sasl_initial(&s, &out);
	const char *server_first = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
	                           "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
	assert_int_equal(sasl_respond(&s, encoded(server_first), &out, err, sizeof(err)), 0);
	assert_int_equal(sasl_respond(&s, encoded("v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="),
	                              &out, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "server signature"));
	/* A server nonce that does not extend ours is refused. */
	sasl_free(&s);
	sasl_init(&s, SASL_SCRAM_SHA_256, "user", "pencil", "abc");
	sasl_initial(&s, &out);
	assert_int_equal(sasl_respond(&s, encoded("r=xyz,s=AAAA,i=1"), &out, err, sizeof(err)), -1);
	buf_free(&out);
	sasl_free(&s);
}

static void test_plain_and_login(void **state)
{
	(void)state;
	struct sasl s;
	struct buf out = {0};
	char err[256];
	sasl_init(&s, SASL_PLAIN, "conform", "s3cret", NULL);
	assert_int_equal(sasl_initial(&s, &out), 1);
	assert_string_equal(out.data, "AGNvbmZvcm0AczNjcmV0"); /* "\0conform\0s3cret" */
	sasl_free(&s);
	buf_reset(&out);
	sasl_init(&s, SASL_LOGIN, "conform", "s3cret", NULL);
	assert_int_equal(sasl_initial(&s, &out), 0);
	assert_int_equal(sasl_respond(&s, "VXNlcm5hbWU6", &out, err, sizeof(err)), 0);
	assert_string_equal(decoded(out.data), "conform");
	buf_reset(&out);
	assert_int_equal(sasl_respond(&s, "UGFzc3dvcmQ6", &out, err, sizeof(err)), 0);
	assert_string_equal(decoded(out.data), "s3cret");
	assert_int_equal(sasl_respond(&s, "not base64!", &out, err, sizeof(err)), -1);
	buf_free(&out);
	sasl_free(&s);
	assert_int_equal(sasl_mech_parse("scram-sha-256"), SASL_SCRAM_SHA_256);
	assert_int_equal(sasl_mech_parse("GSSAPI"), -1);
}

/* A server that answers every response with another 334 would keep the
 * exchange going forever: each mechanism answers its own challenges, then
 * refuses (issue 9, item 1). */
static void test_challenges_are_bounded(void **state)
{
	(void)state;
	static const struct {
		enum sasl_mech mech;
		int ir;       /* the initial response was sent */
		int answered; /* challenges answered before the refusal */
	} cases[] = {
	    {SASL_PLAIN, 0, 1},
	    {SASL_PLAIN, 1, 1},
	    {SASL_LOGIN, 0, 2},
	    {SASL_CRAM_MD5, 0, 1},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sasl s;
		struct buf out = {0};
		char err[256] = "";
		sasl_init(&s, cases[i].mech, "conform", "s3cret", "abc");
		if (cases[i].ir)
			sasl_initial(&s, &out);
		int k;
		for (k = 0; k < 1000; k++) {
			buf_reset(&out);
			if (sasl_respond(&s, "UGFzc3dvcmQ6", &out, err, sizeof(err)) < 0)
				break;
		}
		assert_int_equal(k, cases[i].answered);
		assert_int_equal(k, sasl_challenges_max(cases[i].mech));
		assert_non_null(strstr(err, "at most"));
		buf_free(&out);
		sasl_free(&s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cram_md5_rfc2195),
	    cmocka_unit_test(test_scram_sha256_rfc7677),
	    cmocka_unit_test(test_scram_bad_server_signature),
	    cmocka_unit_test(test_plain_and_login),
	    cmocka_unit_test(test_challenges_are_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
