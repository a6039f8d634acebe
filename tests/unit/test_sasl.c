/*
 * test_sasl.c - SASL client responses against the RFCs' own examples:
 * CRAM-MD5 (RFC 2195 section 2), SCRAM-SHA-256 (RFC 7677 section 3),
 * PLAIN (RFC 4616) and LOGIN.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#include "sasl.h"

static char *decoded(const char *b64)
{
	static char out[512];
	struct buf b = { 0 };
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
	struct buf b = { 0 };
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
	struct buf out = { 0 };
	char err[256];
	assert_int_equal(sasl_initial(&s, &out), 0);
	assert_int_equal(sasl_respond(&s, encoded("<1896.697170952@postoffice.reston.mci.net>"),
	                              &out, err, sizeof(err)),
	                 0);
	assert_string_equal(decoded(out.data), "tim b913a602c7eda7a495b4e6e7334d3890");
	buf_free(&out);
	sasl_free(&s);
}

static void test_scram_sha256_rfc7677(void **state)
{
	(void)state;
	struct sasl s;
	sasl_init(&s, SASL_SCRAM_SHA_256, "user", "pencil", "rOprNGfwEbeRWgbNEkqO");
	struct buf out = { 0 };
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
	                              &out, err, sizeof(err)),
	                 0);
	assert_int_equal(out.len, 0);
	buf_free(&out);
	sasl_free(&s);
}

static void test_scram_bad_server_signature(void **state)
{
	(void)state;
	struct sasl s;
	sasl_init(&s, SASL_SCRAM_SHA_256, "user", "pencil", "rOprNGfwEbeRWgbNEkqO");
	struct buf out = { 0 };
	char err[256] = "";
	sasl_initial(&s, &out);
	const char *server_first = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
	                           "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
	assert_int_equal(sasl_respond(&s, encoded(server_first), &out, err, sizeof(err)), 0);
	assert_int_equal(sasl_respond(&s, encoded("v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="),
	                              &out, err, sizeof(err)),
	                 SASL_ERR_SIGNATURE);
	assert_non_null(strstr(err, "server signature"));
	/* A server nonce that does not extend ours is refused. */
	sasl_free(&s);
	sasl_init(&s, SASL_SCRAM_SHA_256, "user", "pencil", "abc");
	sasl_initial(&s, &out);
	assert_int_equal(sasl_respond(&s, encoded("r=xyz,s=AAAA,i=1"), &out, err, sizeof(err)), -1);
	buf_free(&out);
	sasl_free(&s);
}

/* The caller names the rule from the error kind, never from the message:
 * a server-final-message with e= (whatever its text) is a bad challenge,
 * a wrong v= a bad signature. */
static void test_scram_error_kinds(void **state)
{
	static const struct {
		const char *server_final;
		int expected;
	} cases[] = {
		{ "v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=", SASL_ERR_SIGNATURE },
		{ "v=not base64!", SASL_ERR_SIGNATURE },
		{ "e=invalid-proof", SASL_ERR_CHALLENGE },
		{ "e=server-signature-unavailable", SASL_ERR_CHALLENGE },
		{ "x=no v at all", SASL_ERR_CHALLENGE },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sasl s;
		struct buf out = { 0 };
		char err[256] = "";
		sasl_init(&s, SASL_SCRAM_SHA_256, "user", "pencil", "rOprNGfwEbeRWgbNEkqO");
		sasl_initial(&s, &out);
		assert_int_equal(
		    sasl_respond(&s,
		                 encoded("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)"
		                         "hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"),
		                 &out, err, sizeof(err)),
		    0);
		assert_int_equal(
		    sasl_respond(&s, encoded(cases[i].server_final), &out, err, sizeof(err)),
		    cases[i].expected);
		assert_true(err[0] != '\0');
		buf_free(&out);
		sasl_free(&s);
	}
	/* A challenge that is not base64 at all. */
	struct sasl s;
	struct buf out = { 0 };
	char err[256] = "";
	sasl_init(&s, SASL_LOGIN, "user", "pencil", NULL);
	assert_int_equal(sasl_respond(&s, "not base64!", &out, err, sizeof(err)),
	                 SASL_ERR_CHALLENGE);
	buf_free(&out);
	sasl_free(&s);
}

static void test_plain_and_login(void **state)
{
	(void)state;
	struct sasl s;
	struct buf out = { 0 };
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
		{ SASL_PLAIN, 0, 1 },
		{ SASL_PLAIN, 1, 1 },
		{ SASL_LOGIN, 0, 2 },
		{ SASL_CRAM_MD5, 0, 1 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sasl s;
		struct buf out = { 0 };
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

/* Every 6-character piece of what PLAIN and LOGIN send (for the right and
 * the wrong password) is masked; short passwords included (up to 8 bytes the
 * PLAIN blob used to survive). */
static void test_redact_blobs(void **state)
{
	(void)state;
	static const char *const passwords[] = { "Jo;", "Jo;Km-Zn", "Jo;Km-Zn{Lo?" };
	for (size_t k = 0; k < sizeof(passwords) / sizeof(passwords[0]); k++) {
		redact_reset();
		sasl_redact_register("conform", passwords[k]);
		for (int wrong = 0; wrong < 2; wrong++) {
			char *pw = xasprintf("%s%s", passwords[k],
			                     wrong ? SASL_WRONG_PASSWORD_SUFFIX : "");
			struct sasl s;
			struct buf plain = { 0 }, login = { 0 };
			char err[256];
			sasl_init(&s, SASL_PLAIN, "conform", pw, NULL);
			assert_int_equal(sasl_initial(&s, &plain), 1);
			sasl_free(&s);
			sasl_init(&s, SASL_LOGIN, "conform", pw, NULL);
			assert_int_equal(sasl_respond(&s, "VXNlcm5hbWU6", &login, err, sizeof(err)),
			                 0);
			buf_reset(&login);
			assert_int_equal(sasl_respond(&s, "UGFzc3dvcmQ6", &login, err, sizeof(err)),
			                 0);
			sasl_free(&s);
			const char *blobs[] = { plain.data, login.data };
			for (size_t b = 0; b < 2; b++) {
				size_t len = strlen(blobs[b]);
				for (size_t i = 0; i + 6 <= len; i++) {
					char piece[7];
					snprintf(piece, sizeof(piece), "%.6s", blobs[b] + i);
					char *text = xasprintf("535 echo %s!", piece);
					redact(text);
					if (strstr(text, piece))
						fail_msg("piece %zu of \"%s\" survived: \"%s\"", i,
						         blobs[b], text);
					free(text);
				}
			}
			buf_free(&plain);
			buf_free(&login);
			free(pw);
		}
	}
	redact_reset();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cram_md5_rfc2195),
		cmocka_unit_test(test_scram_sha256_rfc7677),
		cmocka_unit_test(test_scram_bad_server_signature),
		cmocka_unit_test(test_scram_error_kinds),
		cmocka_unit_test(test_plain_and_login),
		cmocka_unit_test(test_challenges_are_bounded),
		cmocka_unit_test(test_redact_blobs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
