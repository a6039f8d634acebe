/*
 * test_matrix.c - unit tests of harness/matrix.c over the generated table.
 *
 * Checks the lookups of every command of both profiles, the "*" and UNKNOWN
 * fallbacks, warn rows, case-insensitive verbs, the allowed-set string, the
 * command reference and the printed table. The RFC facts themselves live in
 * fixtures/matrix/; the spot checks below pin the ones the harness relies on.
 */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>

#include "matrix.h"

enum want { NOT_ALLOWED, ALLOWED, WARN };

struct spot {
	const char *profile, *command;
	int code;
	enum want want;
};

static const struct spot spots[] = {
	/* rfc5321: the base commands */
	{ "rfc5321", "CONNECT", 220, ALLOWED },
	{ "rfc5321", "CONNECT", 554, ALLOWED },
	{ "rfc5321", "CONNECT", 421, ALLOWED },
	{ "rfc5321", "CONNECT", 521, ALLOWED },
	{ "rfc5321", "CONNECT", 250, NOT_ALLOWED },
	{ "rfc5321", "CONNECT", 500, NOT_ALLOWED }, /* "*" does not apply to the greeting */
	{ "rfc5321", "CONNECT", 501, NOT_ALLOWED },
	{ "rfc5321", "EHLO", 250, ALLOWED },
	{ "rfc5321", "EHLO", 504, ALLOWED },
	{ "rfc5321", "EHLO", 550, ALLOWED },
	{ "rfc5321", "EHLO", 502, WARN },
	{ "rfc5321", "EHLO", 500, ALLOWED },
	{ "rfc5321", "EHLO", 530, NOT_ALLOWED },
	{ "rfc5321", "EHLO", 221, NOT_ALLOWED },
	{ "rfc5321", "HELO", 250, ALLOWED },
	{ "rfc5321", "HELO", 502, NOT_ALLOWED },
	{ "rfc5321", "HELO", 530, ALLOWED },
	{ "rfc5321", "MAIL", 250, ALLOWED },
	{ "rfc5321", "MAIL", 555, ALLOWED },
	{ "rfc5321", "MAIL", 455, ALLOWED },
	{ "rfc5321", "MAIL", 552, ALLOWED },
	{ "rfc5321", "MAIL", 452, ALLOWED },
	{ "rfc5321", "MAIL", 530, ALLOWED },
	{ "rfc5321", "MAIL", 450, WARN },
	{ "rfc5321", "MAIL", 251, NOT_ALLOWED },
	{ "rfc5321", "MAIL", 354, NOT_ALLOWED },
	{ "rfc5321", "RCPT", 250, ALLOWED },
	{ "rfc5321", "RCPT", 251, ALLOWED },
	{ "rfc5321", "RCPT", 551, ALLOWED },
	{ "rfc5321", "RCPT", 556, ALLOWED },
	{ "rfc5321", "RCPT", 521, WARN },
	{ "rfc5321", "RCPT", 252, NOT_ALLOWED },
	{ "rfc5321", "DATA", 354, ALLOWED },
	{ "rfc5321", "DATA", 503, ALLOWED },
	{ "rfc5321", "DATA", 554, ALLOWED },
	{ "rfc5321", "DATA", 552, ALLOWED },
	{ "rfc5321", "DATA", 355, WARN },
	{ "rfc5321", "DATA", 250, NOT_ALLOWED },
	{ "rfc5321", "DATA", 451, NOT_ALLOWED },
	{ "rfc5321", "DATA-END", 250, ALLOWED },
	{ "rfc5321", "DATA-END", 450, ALLOWED },
	{ "rfc5321", "DATA-END", 421, ALLOWED },
	{ "rfc5321", "DATA-END", 354, NOT_ALLOWED },
	{ "rfc5321", "DATA-END", 500, NOT_ALLOWED }, /* "*" does not apply after the data */
	{ "rfc5321", "DATA-END", 503, NOT_ALLOWED },
	{ "rfc5321", "RSET", 250, ALLOWED },
	{ "rfc5321", "RSET", 501, ALLOWED },
	{ "rfc5321", "RSET", 251, NOT_ALLOWED },
	{ "rfc5321", "RSET", 550, NOT_ALLOWED },
	{ "rfc5321", "VRFY", 250, ALLOWED },
	{ "rfc5321", "VRFY", 252, ALLOWED },
	{ "rfc5321", "VRFY", 502, ALLOWED },
	{ "rfc5321", "VRFY", 354, NOT_ALLOWED },
	{ "rfc5321", "VRFY", 221, NOT_ALLOWED },
	{ "rfc5321", "EXPN", 250, ALLOWED },
	{ "rfc5321", "EXPN", 252, ALLOWED },
	{ "rfc5321", "EXPN", 500, ALLOWED },
	{ "rfc5321", "EXPN", 553, NOT_ALLOWED },
	{ "rfc5321", "HELP", 211, ALLOWED },
	{ "rfc5321", "HELP", 214, ALLOWED },
	{ "rfc5321", "HELP", 250, NOT_ALLOWED },
	{ "rfc5321", "NOOP", 250, ALLOWED },
	{ "rfc5321", "NOOP", 200, WARN },
	{ "rfc5321", "NOOP", 251, NOT_ALLOWED },
	{ "rfc5321", "NOOP", 502, NOT_ALLOWED }, /* NOOP is required (4.5.1) */
	{ "rfc5321", "NOOP", 530, NOT_ALLOWED }, /* RFC 3207 and RFC 4954 exempt NOOP */
	{ "rfc5321", "QUIT", 221, ALLOWED },
	{ "rfc5321", "QUIT", 421, ALLOWED },
	{ "rfc5321", "QUIT", 250, NOT_ALLOWED },
	{ "rfc5321", "QUIT", 503, NOT_ALLOWED },
	{ "rfc5321", "QUIT", 554, NOT_ALLOWED },
	{ "rfc5321", "QUIT", 530, NOT_ALLOWED },
	/* rfc5321: the extension commands */
	{ "rfc5321", "STARTTLS", 220, ALLOWED },
	{ "rfc5321", "STARTTLS", 454, ALLOWED },
	{ "rfc5321", "STARTTLS", 501, ALLOWED },
	{ "rfc5321", "STARTTLS", 530, WARN },
	{ "rfc5321", "STARTTLS", 250, NOT_ALLOWED },
	{ "rfc5321", "AUTH", 334, ALLOWED },
	{ "rfc5321", "AUTH", 235, ALLOWED },
	{ "rfc5321", "AUTH", 535, ALLOWED },
	{ "rfc5321", "AUTH", 534, ALLOWED },
	{ "rfc5321", "AUTH", 432, ALLOWED },
	{ "rfc5321", "AUTH", 454, ALLOWED },
	{ "rfc5321", "AUTH", 503, ALLOWED },
	{ "rfc5321", "AUTH", 504, ALLOWED },
	{ "rfc5321", "AUTH", 538, WARN },
	{ "rfc5321", "AUTH", 250, NOT_ALLOWED },
	{ "rfc5321", "AUTH", 354, NOT_ALLOWED },
	{ "rfc5321", "BDAT", 250, ALLOWED },
	{ "rfc5321", "BDAT", 503, ALLOWED },
	{ "rfc5321", "BDAT", 552, ALLOWED },
	{ "rfc5321", "BDAT", 354, NOT_ALLOWED },
	{ "rfc5321", "ETRN", 250, ALLOWED },
	{ "rfc5321", "ETRN", 253, ALLOWED },
	{ "rfc5321", "ETRN", 458, ALLOWED },
	{ "rfc5321", "ETRN", 459, ALLOWED },
	{ "rfc5321", "ETRN", 354, NOT_ALLOWED },
	{ "rfc5321", "ATRN", 250, ALLOWED },
	{ "rfc5321", "ATRN", 453, ALLOWED },
	{ "rfc5321", "ATRN", 530, ALLOWED },
	{ "rfc5321", "ATRN", 251, NOT_ALLOWED },
	/* rfc5321: verbs it does not define */
	{ "rfc5321", "UNKNOWN", 500, ALLOWED },
	{ "rfc5321", "UNKNOWN", 502, ALLOWED },
	{ "rfc5321", "XYZZY", 500, ALLOWED },
	{ "rfc5321", "XYZZY", 502, ALLOWED },
	{ "rfc5321", "XYZZY", 421, ALLOWED },
	{ "rfc5321", "XYZZY", 250, NOT_ALLOWED },
	{ "rfc5321", "TURN", 250, NOT_ALLOWED },
	{ "rfc5321", "TURN", 502, ALLOWED },
	{ "rfc5321", "SEND", 250, NOT_ALLOWED },
	/* rfc821 */
	{ "rfc821", "CONNECT", 220, ALLOWED },
	{ "rfc821", "CONNECT", 421, ALLOWED },
	{ "rfc821", "CONNECT", 554, NOT_ALLOWED },
	{ "rfc821", "HELO", 250, ALLOWED },
	{ "rfc821", "HELO", 504, ALLOWED },
	{ "rfc821", "HELO", 550, NOT_ALLOWED },
	{ "rfc821", "MAIL", 250, ALLOWED },
	{ "rfc821", "MAIL", 552, ALLOWED },
	{ "rfc821", "MAIL", 550, NOT_ALLOWED },
	{ "rfc821", "MAIL", 555, NOT_ALLOWED },
	{ "rfc821", "RCPT", 251, ALLOWED },
	{ "rfc821", "RCPT", 503, ALLOWED },
	{ "rfc821", "RCPT", 555, NOT_ALLOWED },
	{ "rfc821", "DATA", 354, ALLOWED },
	{ "rfc821", "DATA", 451, ALLOWED },
	{ "rfc821", "DATA", 250, NOT_ALLOWED },
	{ "rfc821", "DATA-END", 250, ALLOWED },
	{ "rfc821", "DATA-END", 552, ALLOWED },
	{ "rfc821", "DATA-END", 550, NOT_ALLOWED },
	{ "rfc821", "RSET", 250, ALLOWED },
	{ "rfc821", "RSET", 504, ALLOWED },
	{ "rfc821", "RSET", 503, NOT_ALLOWED },
	{ "rfc821", "SEND", 250, ALLOWED },
	{ "rfc821", "SEND", 502, ALLOWED },
	{ "rfc821", "SEND", 251, NOT_ALLOWED },
	{ "rfc821", "SOML", 250, ALLOWED },
	{ "rfc821", "SOML", 452, ALLOWED },
	{ "rfc821", "SOML", 550, NOT_ALLOWED },
	{ "rfc821", "SAML", 250, ALLOWED },
	{ "rfc821", "SAML", 451, ALLOWED },
	{ "rfc821", "SAML", 553, NOT_ALLOWED },
	{ "rfc821", "VRFY", 251, ALLOWED },
	{ "rfc821", "VRFY", 553, ALLOWED },
	{ "rfc821", "VRFY", 252, WARN }, /* 252 arrived with RFC 2821: allowed, flagged */
	{ "rfc821", "EXPN", 250, ALLOWED },
	{ "rfc821", "EXPN", 550, ALLOWED },
	{ "rfc821", "EXPN", 251, NOT_ALLOWED },
	{ "rfc821", "HELP", 211, ALLOWED },
	{ "rfc821", "HELP", 214, ALLOWED },
	{ "rfc821", "HELP", 250, NOT_ALLOWED },
	{ "rfc821", "NOOP", 250, ALLOWED },
	{ "rfc821", "NOOP", 200, WARN },
	{ "rfc821", "NOOP", 501, NOT_ALLOWED },
	{ "rfc821", "NOOP", 251, NOT_ALLOWED },
	{ "rfc821", "QUIT", 221, ALLOWED },
	{ "rfc821", "QUIT", 421, ALLOWED }, /* "*" */
	{ "rfc821", "QUIT", 250, NOT_ALLOWED },
	{ "rfc821", "QUIT", 501, NOT_ALLOWED },
	{ "rfc821", "TURN", 250, ALLOWED },
	{ "rfc821", "TURN", 502, ALLOWED },
	{ "rfc821", "TURN", 503, ALLOWED },
	{ "rfc821", "TURN", 421, ALLOWED },
	{ "rfc821", "TURN", 501, NOT_ALLOWED },
	{ "rfc821", "UNKNOWN", 500, ALLOWED },
	{ "rfc821", "EHLO", 500, ALLOWED },
	{ "rfc821", "EHLO", 502, ALLOWED },
	{ "rfc821", "EHLO", 250, NOT_ALLOWED },
	{ "rfc821", "STARTTLS", 220, NOT_ALLOWED },
};

static const char *want_name(enum want w)
{
	return w == ALLOWED ? "allowed" : w == WARN ? "warn" : "not allowed";
}

static void test_spot_checks(void **state)
{
	(void)state;
	int failures = 0;
	for (size_t i = 0; i < sizeof(spots) / sizeof(spots[0]); i++) {
		const struct spot *s = &spots[i];
		const struct matrix_row *row = matrix_lookup(s->profile, s->command, s->code);
		enum want got = !row ? NOT_ALLOWED : row->severity == MATRIX_WARN ? WARN : ALLOWED;
		if (got != s->want) {
			print_error("%s %s %d: want %s, got %s\n", s->profile, s->command, s->code,
			            want_name(s->want), want_name(got));
			failures++;
		}
		if (row)
			assert_int_equal(row->code, s->code);
	}
	assert_int_equal(failures, 0);
}

static void test_profiles(void **state)
{
	(void)state;
	const char *const *p = matrix_profiles();
	assert_non_null(p);
	assert_non_null(p[0]);
	assert_string_equal(p[0], "rfc5321"); /* the default comes first */
	assert_non_null(p[1]);
	assert_string_equal(p[1], "rfc821");
	assert_null(p[2]);
	assert_true(matrix_profile_known("rfc5321"));
	assert_true(matrix_profile_known("rfc821"));
	assert_false(matrix_profile_known("rfc2821"));
	assert_false(matrix_profile_known(""));
	assert_false(matrix_profile_known(NULL));
	assert_null(matrix_lookup("rfc2821", "NOOP", 250));
	assert_null(matrix_lookup(NULL, "NOOP", 250));
}

static void test_commands_known(void **state)
{
	(void)state;
	static const char *const rfc5321[] = { "*",    "CONNECT", "EHLO",     "HELO", "MAIL",
		                               "RCPT", "DATA",    "DATA-END", "RSET", "VRFY",
		                               "EXPN", "HELP",    "NOOP",     "QUIT", "STARTTLS",
		                               "AUTH", "BDAT",    "ETRN",     "ATRN", "UNKNOWN" };
	static const char *const rfc821[] = { "*",    "CONNECT",  "HELO",   "MAIL", "RCPT",
		                              "DATA", "DATA-END", "RSET",   "SEND", "SOML",
		                              "SAML", "VRFY",     "EXPN",   "HELP", "NOOP",
		                              "QUIT", "TURN",     "UNKNOWN" };
	for (size_t i = 0; i < sizeof(rfc5321) / sizeof(rfc5321[0]); i++)
		assert_true(matrix_command_known("rfc5321", rfc5321[i]));
	for (size_t i = 0; i < sizeof(rfc821) / sizeof(rfc821[0]); i++)
		assert_true(matrix_command_known("rfc821", rfc821[i]));
	assert_false(matrix_command_known("rfc5321", "TURN"));
	assert_false(matrix_command_known("rfc5321", "SEND"));
	assert_false(matrix_command_known("rfc5321", "XYZZY"));
	assert_false(matrix_command_known("rfc821", "EHLO"));
	assert_false(matrix_command_known("rfc821", "STARTTLS"));
	assert_false(matrix_command_known("rfc2821", "NOOP"));
	assert_false(matrix_command_known("rfc5321", NULL));
}

/* Every row is what a lookup of its own (profile, command, code) returns, in any case. */
static void test_every_row_found(void **state)
{
	(void)state;
	assert_true(matrix_rows_len > 0);
	for (size_t i = 0; i < matrix_rows_len; i++) {
		const struct matrix_row *r = &matrix_rows[i];
		assert_ptr_equal(matrix_lookup(r->profile, r->command, r->code), r);
		char lower[64];
		size_t n = strlen(r->command);
		assert_true(n < sizeof(lower));
		for (size_t j = 0; j <= n; j++)
			lower[j] = (char)(r->command[j] >= 'A' && r->command[j] <= 'Z'
			                      ? r->command[j] + ('a' - 'A')
			                      : r->command[j]);
		assert_ptr_equal(matrix_lookup(r->profile, lower, r->code), r);
	}
}

/* What the harness needs of every row: a code, a class that fits it, a ref, a note for warns. */
static void test_row_fields(void **state)
{
	(void)state;
	for (size_t i = 0; i < matrix_rows_len; i++) {
		const struct matrix_row *r = &matrix_rows[i];
		assert_in_range(r->code, 200, 559);
		assert_non_null(strchr("SIFE", r->reply_class));
		char digit = (char)('0' + r->code / 100);
		switch (r->reply_class) {
		case 'S': assert_int_equal(digit, '2'); break;
		case 'I': assert_int_equal(digit, '3'); break;
		default: assert_true(digit == '4' || digit == '5'); break;
		}
		assert_true(r->severity == MATRIX_ERROR || r->severity == MATRIX_WARN);
		assert_non_null(r->ref);
		assert_true(strncmp(r->ref, "RFC ", 4) == 0);
		assert_non_null(r->note);
		if (r->severity == MATRIX_WARN)
			assert_true(r->note[0] != '\0'); /* check.c shows it in the warning */
	}
}

static void test_star_fallback(void **state)
{
	(void)state;
	const struct matrix_row *r = matrix_lookup("rfc5321", "NOOP", 421);
	assert_non_null(r);
	assert_string_equal(r->command, "*");
	r = matrix_lookup("rfc5321", "QUIT", 501);
	assert_non_null(r);
	assert_string_equal(r->command, "*");
	r = matrix_lookup("rfc821", "QUIT", 421);
	assert_non_null(r);
	assert_string_equal(r->command, "*");
	/* A command's own row wins over "*". */
	r = matrix_lookup("rfc821", "HELO", 421);
	assert_non_null(r);
	assert_string_equal(r->command, "HELO");
	r = matrix_lookup("rfc5321", "CONNECT", 421);
	assert_non_null(r);
	assert_string_equal(r->command, "CONNECT");
	/* "*" is not a pseudo-command's fallback. */
	assert_null(matrix_lookup("rfc5321", "CONNECT", 500));
	assert_null(matrix_lookup("rfc5321", "DATA-END", 501));
	assert_null(matrix_lookup("rfc821", "DATA-END", 500));
	/* The "*" rows themselves. */
	r = matrix_lookup("rfc5321", "*", 500);
	assert_non_null(r);
	assert_string_equal(r->command, "*");
	assert_null(matrix_lookup("rfc821", "*", 500));
}

static void test_unknown(void **state)
{
	(void)state;
	const struct matrix_row *r = matrix_lookup("rfc5321", "XYZZY", 502);
	assert_non_null(r);
	assert_string_equal(r->command, "UNKNOWN");
	r = matrix_lookup("rfc5321", "xyzzy", 500);
	assert_non_null(r);
	assert_string_equal(r->command, "UNKNOWN");
	r = matrix_lookup("rfc821", "EHLO", 502);
	assert_non_null(r);
	assert_string_equal(r->command, "UNKNOWN");
	r = matrix_lookup("rfc5321", "XYZZY", 421);
	assert_non_null(r);
	assert_string_equal(r->command, "*");
	assert_null(matrix_lookup("rfc5321", "XYZZY", 250));
	/* Odd verbs are UNKNOWN, never a crash. */
	const char *odd[] = { "",
		              "NOOP ",
		              " NOOP",
		              "NOOPX",
		              "N",
		              "DATA_END",
		              "AVERYLONGVERBTHATISLONGERTHANANYNAMEINTHEMATRIXATALL",
		              "\xff\x80" };
	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		assert_false(matrix_command_known("rfc5321", odd[i]));
		r = matrix_lookup("rfc5321", odd[i], 502);
		assert_non_null(r);
		assert_string_equal(r->command, "UNKNOWN");
		assert_null(matrix_lookup("rfc5321", odd[i], 250));
	}
	r = matrix_lookup("rfc5321", NULL, 500);
	assert_non_null(r);
	assert_string_equal(r->command, "UNKNOWN");
}

static void test_case_insensitive(void **state)
{
	(void)state;
	const char *spellings[] = { "NOOP", "noop", "Noop", "nOoP" };
	for (size_t i = 0; i < sizeof(spellings) / sizeof(spellings[0]); i++) {
		const struct matrix_row *r = matrix_lookup("rfc5321", spellings[i], 250);
		assert_non_null(r);
		assert_string_equal(r->command, "NOOP"); /* stored upper-case */
		assert_true(matrix_command_known("rfc5321", spellings[i]));
		assert_null(matrix_lookup("rfc5321", spellings[i], 251));
	}
	assert_non_null(matrix_lookup("rfc5321", "data-end", 250));
	assert_null(matrix_lookup("rfc5321", "data-end", 500));
	assert_non_null(matrix_lookup("rfc5321", "StartTLS", 220));
	assert_non_null(matrix_lookup("rfc821", "turn", 250));
}

static void test_allowed_set(void **state)
{
	(void)state;
	char buf[512];
	static const struct {
		const char *profile, *command, *set;
	} sets[] = {
		{ "rfc5321", "NOOP", "200, 250, 421, 500, 501, 503, 554" },
		{ "rfc5321", "noop", "200, 250, 421, 500, 501, 503, 554" },
		{ "rfc5321", "QUIT", "221, 421, 500, 501" },
		{ "rfc5321", "RSET", "250, 421, 500, 501, 503, 530, 554" },
		{ "rfc5321", "CONNECT", "220, 421, 521, 554" },
		{ "rfc5321", "DATA-END", "250, 421, 450, 451, 452, 550, 552, 554" },
		{ "rfc5321", "XYZZY", "421, 500, 501, 502, 503, 530, 554" },
		{ "rfc5321", "*", "421, 500, 501" },
		{ "rfc821", "NOOP", "200, 250, 421, 500" },
		{ "rfc821", "QUIT", "221, 421, 500" },
		{ "rfc821", "TURN", "250, 421, 500, 502, 503" },
		{ "rfc821", "CONNECT", "220, 421" },
		{ "rfc2821", "NOOP", "" },
	};
	for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
		memset(buf, 'x', sizeof(buf));
		matrix_allowed_set(sets[i].profile, sets[i].command, buf, sizeof(buf));
		assert_string_equal(buf, sets[i].set);
	}
	/* Whole codes only, always terminated. */
	matrix_allowed_set("rfc5321", "QUIT", buf, 10);
	assert_string_equal(buf, "221, 421");
	matrix_allowed_set("rfc5321", "QUIT", buf, 4);
	assert_string_equal(buf, "221");
	matrix_allowed_set("rfc5321", "QUIT", buf, 3);
	assert_string_equal(buf, "");
	buf[0] = 'x';
	matrix_allowed_set("rfc5321", "QUIT", buf, 1);
	assert_int_equal(buf[0], '\0');
	matrix_allowed_set("rfc5321", "QUIT", NULL, 0); /* no crash */
}

/* The set string and lookups agree for every command of every profile. */
static void test_allowed_set_matches_lookup(void **state)
{
	(void)state;
	char buf[1024], expect[1024];
	for (size_t i = 0; i < matrix_rows_len; i++) {
		const struct matrix_row *r = &matrix_rows[i];
		size_t len = 0;
		expect[0] = '\0';
		for (int code = 200; code <= 599; code++) {
			if (!matrix_lookup(r->profile, r->command, code))
				continue;
			int n = snprintf(expect + len, sizeof(expect) - len, "%s%d",
			                 len ? ", " : "", code);
			assert_true(n > 0 && (size_t)n < sizeof(expect) - len);
			len += (size_t)n;
		}
		matrix_allowed_set(r->profile, r->command, buf, sizeof(buf));
		assert_string_equal(buf, expect);
	}
}

static void test_command_ref(void **state)
{
	(void)state;
	assert_string_equal(matrix_command_ref("rfc5321", "MAIL"), "RFC 5321 4.3.2");
	assert_string_equal(matrix_command_ref("rfc5321", "mail"), "RFC 5321 4.3.2");
	assert_string_equal(matrix_command_ref("rfc5321", "CONNECT"), "RFC 5321 4.3.2");
	assert_string_equal(matrix_command_ref("rfc5321", "STARTTLS"), "RFC 3207 4");
	assert_string_equal(matrix_command_ref("rfc5321", "XYZZY"), "RFC 5321 4.2.4");
	assert_string_equal(matrix_command_ref("rfc821", "MAIL"), "RFC 821 4.3");
	assert_string_equal(matrix_command_ref("rfc821", "TURN"), "RFC 821 4.3");
	assert_string_equal(matrix_command_ref("rfc2821", "MAIL"), "");
	for (size_t i = 0; i < matrix_rows_len; i++)
		assert_true(matrix_command_ref(matrix_rows[i].profile, matrix_rows[i].command)[0] !=
		            '\0');
}

static char *print_to_string(const char *profile)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	assert_non_null(f);
	matrix_print(f, profile);
	assert_int_equal(fclose(f), 0);
	assert_non_null(text);
	return text;
}

static size_t count(const char *haystack, const char *needle)
{
	size_t n = 0;
	for (const char *p = strstr(haystack, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

static void test_print(void **state)
{
	(void)state;
	char *text = print_to_string("rfc5321");
	assert_int_equal(count(text, "any command (*)"), 1);
	assert_int_equal(count(text, "\nNOOP\n"), 1);
	assert_int_equal(count(text, "\nCONNECT: the greeting\n"), 1);
	assert_int_equal(count(text, "\nUNKNOWN: a verb"), 1);
	assert_non_null(strstr(text, " 200~"));   /* the warn mark */
	assert_non_null(strstr(text, "RFC 876")); /* and its ref */
	assert_non_null(strstr(text, "\nAUTH\n"));
	assert_null(strstr(text, "\nTURN\n"));
	/* "*" rows are shown once, not repeated under every command */
	const char *noop = strstr(text, "\nNOOP\n");
	const char *noop_end = strstr(noop + 1, "\n\n");
	assert_non_null(noop_end);
	for (const char *p = strstr(noop, " 421"); p; p = strstr(p + 1, " 421"))
		assert_true(p > noop_end);
	assert_true(strstr(text, "any command (*)") < strstr(text, "\nCONNECT"));
	free(text);

	text = print_to_string("rfc821");
	assert_int_equal(count(text, "any command (*)"), 1);
	assert_non_null(strstr(text, "\nTURN\n"));
	assert_non_null(strstr(text, "\nSAML\n"));
	assert_null(strstr(text, "\nAUTH\n"));
	free(text);

	text = print_to_string("rfc2821");
	assert_non_null(strstr(text, "no matrix rows"));
	free(text);
}

/* A run may do millions of lookups: make sure they stay cheap (no allocation, no scan). */
static void test_many_lookups(void **state)
{
	(void)state;
	unsigned long found = 0;
	for (int round = 0; round < 2000; round++)
		for (int code = 200; code <= 599; code++)
			found +=
			    matrix_lookup("rfc5321", (round & 1) ? "rcpt" : "XYZZY", code) != NULL;
	assert_int_equal(found, 1000ul * (19 + 7));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_profiles),
		cmocka_unit_test(test_commands_known),
		cmocka_unit_test(test_spot_checks),
		cmocka_unit_test(test_every_row_found),
		cmocka_unit_test(test_row_fields),
		cmocka_unit_test(test_star_fallback),
		cmocka_unit_test(test_unknown),
		cmocka_unit_test(test_case_insensitive),
		cmocka_unit_test(test_allowed_set),
		cmocka_unit_test(test_allowed_set_matches_lookup),
		cmocka_unit_test(test_command_ref),
		cmocka_unit_test(test_print),
		cmocka_unit_test(test_many_lookups),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
