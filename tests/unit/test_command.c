/*
 * test_command.c - the command table: verbs recognised case-insensitively
 * from a line's first word, pseudo-commands only by name, the RFC 5321
 * 4.5.3.2 timeout classes, and a command for every matrix row.
 */
#include <stdio.h>
#include <string.h>

#include "unit.h"

#include "command.h"
#include "matrix.h"
#include "smtp_limits.h"

static void test_table_complete(void **state)
{
	(void)state;
	for (int i = 0; i < CMD_COUNT; i++) {
		const struct command_info *c = command_get((enum command)i);
		assert_int_equal(c->cmd, i);
		assert_non_null(c->name);
		assert_non_null(c->matrix_row);
		assert_non_null(c->timeout_ref);
		assert_true(c->timeout_s > 0);
		assert_string_equal(command_name((enum command)i), c->name);
		assert_int_equal(command_from_name(c->name), i);
		for (int j = i + 1; j < CMD_COUNT; j++)
			assert_true(strcmp(c->name, command_get((enum command)j)->name) != 0);
		/* Pseudo-commands are exactly CONNECT, DATA-END and UNKNOWN. */
		assert_int_equal(c->pseudo,
		                 i == CMD_CONNECT || i == CMD_DATA_END || i == CMD_UNKNOWN);
	}
}

static void test_from_line(void **state)
{
	static const struct {
		const char *line;
		enum command expected;
	} cases[] = {
		{ "MAIL FROM:<a@example.org>", CMD_MAIL },
		{ "mail from:<>", CMD_MAIL },
		{ "MAIL:", CMD_MAIL },
		{ "Rcpt TO:<postmaster>", CMD_RCPT },
		{ "DATA", CMD_DATA },
		{ "data\r\n", CMD_DATA },
		{ "DATA extra", CMD_DATA },
		{ "DATAX", CMD_UNKNOWN },
		{ "DAT", CMD_UNKNOWN },
		{ "EHLO\tclient.example", CMD_EHLO },
		{ "helo x", CMD_HELO },
		{ "StartTLS", CMD_STARTTLS },
		{ "AUTH PLAIN AGZvbwBiYXI=", CMD_AUTH },
		{ "BDAT 10 LAST", CMD_BDAT },
		{ "noop", CMD_NOOP },
		{ "QUIT", CMD_QUIT },
		{ "ETRN @example.org", CMD_ETRN },
		{ "XYZZY", CMD_UNKNOWN },
		{ "", CMD_UNKNOWN },
		{ " NOOP", CMD_UNKNOWN },
		/* Pseudo-commands are never the verb of a line. */
		{ "CONNECT example.org:443 HTTP/1.1", CMD_UNKNOWN },
		{ "DATA-END", CMD_UNKNOWN },
		{ "UNKNOWN", CMD_UNKNOWN },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct guarded g;
		size_t len = strlen(cases[i].line);
		/* No NUL after the line: only len bounds the scan. */
		const char *line = (const char *)guarded_copy(&g, cases[i].line, len);
		if (command_from_line(line, len) != cases[i].expected)
			fail_msg("'%s': got %s, expected %s", cases[i].line,
			         command_name(command_from_line(line, len)),
			         command_name(cases[i].expected));
		guarded_free(&g);
	}
	/* len cuts the word: "QUIT" seen as "QU". */
	assert_int_equal(command_from_line("QUIT", 2), CMD_UNKNOWN);
	assert_int_equal(command_from_line(NULL, 0), CMD_UNKNOWN);
}

static void test_from_name(void **state)
{
	(void)state;
	assert_int_equal(command_from_name("CONNECT"), CMD_CONNECT);
	assert_int_equal(command_from_name("DATA-END"), CMD_DATA_END);
	assert_int_equal(command_from_name("noop"), CMD_NOOP);
	assert_int_equal(command_from_name("XYZZY"), CMD_UNKNOWN);
	assert_int_equal(command_from_name(NULL), CMD_UNKNOWN);
	/* What live.c, the shell and the recorder look up besides verbs: the
	 * matrix's any-command row (a reply nothing asked for) and the name of
	 * an empty line are no command. */
	assert_int_equal(command_from_name("*"), CMD_UNKNOWN);
	assert_int_equal(command_from_name("UNKNOWN"), CMD_UNKNOWN);
	assert_int_equal(command_from_name("STARTTLS"), CMD_STARTTLS);
	assert_true(command_is("DATA-END", CMD_DATA_END));
	assert_true(command_is("QUIT", CMD_QUIT));
	assert_false(command_is("QUIT", CMD_DATA));
	assert_false(command_is("DATA", CMD_DATA_END));
	assert_true(command_is("GET", CMD_UNKNOWN));
}

/* RFC 5321 4.5.3.2: the reply deadline of each command class. */
static void test_timeout_classes(void **state)
{
	static const struct {
		enum command cmd;
		int seconds;
	} cases[] = {
		{ CMD_CONNECT, TIMEOUT_GREETING_S },  { CMD_MAIL, TIMEOUT_MAIL_S },
		{ CMD_RCPT, TIMEOUT_RCPT_S },         { CMD_DATA, TIMEOUT_DATA_INIT_S },
		{ CMD_DATA_END, TIMEOUT_DATA_END_S }, { CMD_EHLO, TIMEOUT_OTHER_S },
		{ CMD_NOOP, TIMEOUT_OTHER_S },        { CMD_BDAT, TIMEOUT_OTHER_S },
		{ CMD_UNKNOWN, TIMEOUT_OTHER_S },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(command_get(cases[i].cmd)->timeout_s, cases[i].seconds);
	assert_int_equal(TIMEOUT_DATA_INIT_S, 120);
	assert_int_equal(TIMEOUT_DATA_END_S, 600);
	assert_string_equal(command_get(CMD_DATA_END)->timeout_ref, "RFC 5321 4.5.3.2.6");
}

/* Every command the matrix has rows for is in the table, under its row name. */
static void test_matrix_rows_known(void **state)
{
	(void)state;
	for (size_t i = 0; i < matrix_rows_len; i++) {
		const char *name = matrix_rows[i].command;
		if (strcmp(name, "*") == 0)
			continue;
		enum command c = command_from_name(name);
		if (c == CMD_UNKNOWN && strcmp(name, command_name(CMD_UNKNOWN)) != 0)
			fail_msg("matrix row %s has no command in the table", name);
		assert_string_equal(command_get(c)->matrix_row, name);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_complete),    cmocka_unit_test(test_from_line),
		cmocka_unit_test(test_from_name),         cmocka_unit_test(test_timeout_classes),
		cmocka_unit_test(test_matrix_rows_known),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
