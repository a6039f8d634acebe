/*
 * test_rules.c - the rule table: every rule complete, ids unique and found
 * again by rule_by_id, each sentence carrying its level's key word, the ids,
 * references and severities reports have always shown, and docs/rules.md
 * exactly what `smtpconform rules --markdown` prints.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "unit.h"

#include "rules.h"
#include "util.h"

static void test_every_rule_complete(void **state)
{
	(void)state;
	for (int i = 0; i < RULE_COUNT; i++) {
		const struct rule *r = &rules[i];
		assert_int_equal(r->rule, i);
		assert_ptr_equal(rule_get((enum rule_id)i), r);
		assert_non_null(r->id);
		assert_true(r->id[0] != '\0');
		assert_non_null(r->ref);
		assert_non_null(r->description);
		assert_true(strlen(r->description) > 10);
		assert_non_null(r->message);
		assert_true(r->message[0] != '\0');
		assert_true(r->severity == SEV_ERROR || r->severity == SEV_WARN);
		/* Markdown table cells: no pipe, no line break. */
		assert_null(strchr(r->description, '|'));
		assert_null(strchr(r->description, '\n'));
		if (strcmp(r->ref, "scenario") == 0) {
			assert_int_equal(r->level, LEVEL_SCENARIO);
			assert_null(r->sentence);
			continue;
		}
		assert_int_equal(strncmp(r->ref, "RFC ", 4), 0);
		assert_non_null(r->sentence);
		assert_true(r->level == LEVEL_MUST || r->level == LEVEL_SHOULD ||
		            r->level == LEVEL_MAY);
		/* The level is the sentence's key word, or MUST for a grammar
		 * production ("name = ..."). */
		const char *word = rule_level_name(r->level);
		int grammar = strstr(r->sentence, " = ") != NULL;
		if (grammar) {
			assert_int_equal(r->level, LEVEL_MUST);
		} else {
			int found = 0;
			for (const char *p = r->sentence; *p && !found; p++)
				found = strncasecmp(p, word, strlen(word)) == 0;
			if (!found)
				fail_msg("%s: level %s is not in its sentence", r->id, word);
		}
	}
}

static void test_ids_unique_and_found(void **state)
{
	(void)state;
	for (int i = 0; i < RULE_COUNT; i++) {
		for (int j = i + 1; j < RULE_COUNT; j++)
			if (strcmp(rules[i].id, rules[j].id) == 0)
				fail_msg("rule id %s twice", rules[i].id);
		assert_ptr_equal(rule_by_id(rules[i].id), &rules[i]);
	}
	assert_null(rule_by_id("session.no-reply")); /* from an older report */
	assert_null(rule_by_id(""));
	assert_null(rule_by_id(NULL));
	assert_null(rule_get(RULE_NONE));
	assert_null(rule_get(RULE_COUNT));
}

/* What reports have shown since before the table: id, the ref a violation
 * cites by default, severity, category. Changing one changes reports. */
static void test_ids_refs_severities_pinned(void **state)
{
	static const struct {
		enum rule_id rule;
		const char *id, *ref;
		enum severity sev;
		enum rule_category cat;
	} cases[] = {
		{ RULE_SYNTAX_CODE, "syntax.code", "RFC 5321 4.2", SEV_ERROR, RULE_CAT_SYNTAX },
		{ RULE_SYNTAX_SEPARATOR, "syntax.separator", "RFC 5321 4.2", SEV_ERROR,
		  RULE_CAT_SYNTAX },
		{ RULE_SYNTAX_MULTILINE_CODE, "syntax.multiline-code", "RFC 5321 4.2.1", SEV_ERROR,
		  RULE_CAT_SYNTAX },
		{ RULE_SYNTAX_BARE_LF, "syntax.bare-lf", "RFC 5321 2.3.8", SEV_ERROR,
		  RULE_CAT_SYNTAX },
		{ RULE_SYNTAX_BARE_CR, "syntax.bare-cr", "RFC 5321 2.3.8", SEV_ERROR,
		  RULE_CAT_SYNTAX },
		{ RULE_SYNTAX_LINE_TOO_LONG, "syntax.line-too-long", "RFC 5321 4.5.3.1.5", SEV_WARN,
		  RULE_CAT_SYNTAX },
		{ RULE_SYNTAX_CONTROL_CHAR, "syntax.control-char", "RFC 5321 4.2 (textstring)",
		  SEV_ERROR, RULE_CAT_SYNTAX },
		{ RULE_SYNTAX_8BIT_TEXT, "syntax.8bit-text", "RFC 5321 4.2 (textstring)", SEV_ERROR,
		  RULE_CAT_SYNTAX },
		{ RULE_SYNTAX_TOO_MANY_LINES, "syntax.too-many-lines", "RFC 5321 4.2.1", SEV_ERROR,
		  RULE_CAT_SYNTAX },
		{ RULE_SYNTAX_UNSOLICITED, "syntax.unsolicited", "RFC 5321 4.2", SEV_ERROR,
		  RULE_CAT_SYNTAX },
		{ RULE_ENHANCED_MISSING, "enhancedstatuscodes.missing", "RFC 2034 3", SEV_ERROR,
		  RULE_CAT_EXTENSION },
		{ RULE_ENHANCED_CLASS, "enhancedstatuscodes.class", "RFC 3463 2", SEV_ERROR,
		  RULE_CAT_EXTENSION },
		{ RULE_EHLO_KEYWORD_SYNTAX, "ehlo.keyword-syntax", "RFC 5321 4.1.1.1", SEV_ERROR,
		  RULE_CAT_EXTENSION },
		{ RULE_TLS_HANDSHAKE, "tls.handshake", "RFC 3207 4", SEV_ERROR,
		  RULE_CAT_EXTENSION },
		{ RULE_TLS_CERT_UNTRUSTED, "tls.certificate-untrusted", "RFC 3207 4.1", SEV_ERROR,
		  RULE_CAT_EXTENSION },
		{ RULE_STARTTLS_INJECTION, "starttls.injection", "RFC 3207 4.2", SEV_ERROR,
		  RULE_CAT_EXTENSION },
		{ RULE_AUTH_CHALLENGE, "auth.challenge", "RFC 4954 4", SEV_ERROR,
		  RULE_CAT_EXTENSION },
		{ RULE_AUTH_SERVER_SIGNATURE, "auth.server-signature", "RFC 5802 5", SEV_ERROR,
		  RULE_CAT_EXTENSION },
		{ RULE_MATRIX_NOT_ALLOWED, "matrix.not-allowed", "RFC 5321 4.3.2", SEV_ERROR,
		  RULE_CAT_MATRIX },
		{ RULE_MATRIX_NONSTANDARD, "matrix.nonstandard", "RFC 5321 4.3.2", SEV_WARN,
		  RULE_CAT_MATRIX },
		{ RULE_EXPECT_CODE, "expect.code", "scenario", SEV_ERROR, RULE_CAT_EXPECT },
		{ RULE_EXPECT_TEXT, "expect.text", "scenario", SEV_ERROR, RULE_CAT_EXPECT },
		{ RULE_EXPECT_REGEX_LIMIT, "expect.regex-limit", "scenario", SEV_ERROR,
		  RULE_CAT_EXPECT },
		{ RULE_EXPECT_CLOSE, "expect.close", "RFC 5321 4.1.1.10", SEV_ERROR,
		  RULE_CAT_EXPECT },
		{ RULE_TIMEOUT, "timeout", "RFC 5321 4.5.3.2", SEV_ERROR, RULE_CAT_SESSION },
		{ RULE_CONNECTION_CLOSED, "connection.closed", "RFC 5321 4.2", SEV_ERROR,
		  RULE_CAT_SESSION },
		{ RULE_CONNECTION_RESET, "connection.reset", "RFC 5321 4.2", SEV_ERROR,
		  RULE_CAT_SESSION },
		{ RULE_SEQUENCE_AFTER_554, "sequence.after-554", "RFC 5321 3.1", SEV_ERROR,
		  RULE_CAT_SESSION },
		{ RULE_COMMAND_MINIMUM, "command.minimum", "RFC 5321 4.5.1", SEV_ERROR,
		  RULE_CAT_SESSION },
		{ RULE_EHLO_ADVERTISED_REFUSED, "ehlo.advertised-refused", "RFC 5321 4.2.4",
		  SEV_ERROR, RULE_CAT_EXTENSION },
		{ RULE_POSTMASTER_REFUSED, "postmaster.refused", "RFC 5321 4.5.1", SEV_ERROR,
		  RULE_CAT_SESSION },
		{ RULE_RSET_REPLY, "rset.reply", "RFC 5321 4.1.1.5", SEV_ERROR, RULE_CAT_SESSION },
		{ RULE_QUIT_REPLY, "quit.reply", "RFC 5321 4.1.1.10", SEV_ERROR, RULE_CAT_SESSION },
		{ RULE_SEQUENCE_ACCEPTED, "sequence.accepted", "RFC 5321 4.1.4", SEV_ERROR,
		  RULE_CAT_SESSION },
		{ RULE_SEQUENCE_BAD_503, "sequence.bad-503", "RFC 5321 4.3.1", SEV_ERROR,
		  RULE_CAT_SESSION },
		{ RULE_SEQUENCE_ANY_TIME, "sequence.any-time", "RFC 5321 4.1.4", SEV_WARN,
		  RULE_CAT_SESSION },
		{ RULE_TRANSACTION_RESET, "transaction.reset", "RFC 5321 4.1.4", SEV_ERROR,
		  RULE_CAT_SESSION },
		{ RULE_ARGUMENT_VALID_REFUSED, "argument.valid-refused", "RFC 5321 4.3.1",
		  SEV_ERROR, RULE_CAT_SESSION },
		{ RULE_LIMITS_WITHIN_REFUSED, "limits.within-refused", "RFC 5321 4.5.3.1",
		  SEV_ERROR, RULE_CAT_SESSION },
		{ RULE_MAIL_REFUSED_KEEPS_STATE, "mail.refused-keeps-state", "RFC 5321 4.1.4",
		  SEV_ERROR, RULE_CAT_SESSION },
		{ RULE_SIZE_EXCEEDED, "size.exceeds-limit", "RFC 1870 7", SEV_ERROR,
		  RULE_CAT_EXTENSION },
		{ RULE_VERIFY_DISABLED, "verify.disabled-not-252", "RFC 5321 7.3", SEV_ERROR,
		  RULE_CAT_SESSION },
		{ RULE_SIZE_WITHIN_REFUSED, "size.within-limit-refused", "RFC 1870 6.1", SEV_WARN,
		  RULE_CAT_EXTENSION },
		{ RULE_AUTH_SEQUENCE, "auth.sequence", "RFC 4954 4", SEV_ERROR,
		  RULE_CAT_EXTENSION },
		{ RULE_AUTH_CANCEL, "auth.cancel", "RFC 4954 4", SEV_ERROR, RULE_CAT_EXTENSION },
		{ RULE_AUTH_BASE64, "auth.bad-base64", "RFC 4954 4", SEV_ERROR,
		  RULE_CAT_EXTENSION },
		{ RULE_STARTTLS_READVERTISED, "starttls.advertised-after-tls", "RFC 3207 4.2",
		  SEV_ERROR, RULE_CAT_EXTENSION },
		{ RULE_CLOSED_WITHOUT_421, "connection.closed-without-421", "RFC 5321 3.8",
		  SEV_ERROR, RULE_CAT_SESSION },
		{ RULE_PARAMETER_NOT_555, "parameter.not-555", "RFC 5321 4.1.1.11", SEV_WARN,
		  RULE_CAT_SESSION },
		{ RULE_LINES_TRAILING_SPACE, "lines.trailing-space-refused", "RFC 5321 4.1.1",
		  SEV_WARN, RULE_CAT_SESSION },
		{ RULE_SMUGGLING_EARLY_END, "smuggling.early-end-of-data", "RFC 5321 4.1.1.4",
		  SEV_ERROR, RULE_CAT_SESSION },
		{ RULE_LINES_BARE_LF_TERMINATOR, "lines.bare-lf-terminator", "RFC 5321 2.3.8",
		  SEV_ERROR, RULE_CAT_SESSION },
		{ RULE_LINES_BARE_CR_TERMINATOR, "lines.bare-cr-terminator", "RFC 5321 2.3.8",
		  SEV_ERROR, RULE_CAT_SESSION },
		{ RULE_SMTPUTF8_NON_ASCII_REPLY, "smtputf8.non-ascii-reply", "RFC 6531 3.7.4.2",
		  SEV_ERROR, RULE_CAT_EXTENSION },
		{ RULE_SMTPUTF8_VRFY_PARAMETER, "smtputf8.vrfy-parameter", "RFC 6531 3.1",
		  SEV_ERROR, RULE_CAT_EXTENSION },
		{ RULE_AUTH_ADVERTISED_538, "auth.advertised-538", "RFC 4954 6", SEV_WARN,
		  RULE_CAT_EXTENSION },
		{ RULE_ARGUMENT_NOT_TAKEN, "argument.not-taken", "RFC 5321 4.1.1", SEV_WARN,
		  RULE_CAT_SESSION },
	};
	(void)state;
	assert_int_equal(sizeof(cases) / sizeof(cases[0]), RULE_COUNT);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct rule *r = rule_get(cases[i].rule);
		assert_non_null(r);
		assert_string_equal(r->id, cases[i].id);
		assert_string_equal(r->ref, cases[i].ref);
		assert_int_equal(r->severity, cases[i].sev);
		assert_int_equal(r->category, cases[i].cat);
	}
}

/* docs/rules.md is generated: `make rules-doc` after a change to rules.c. */
static void test_docs_rules_md_current(void **state)
{
	char *expected = NULL;
	size_t expected_len = 0;
	struct buf doc = { 0 };
	(void)state;
	FILE *out = open_memstream(&expected, &expected_len);
	assert_non_null(out);
	rules_print_markdown(out);
	fclose(out);
	if (file_read_all("../../docs/rules.md", 1u << 20, &doc) < 0)
		fail_msg("cannot read docs/rules.md (the test runs in tests/unit)");
	if (doc.len != expected_len || memcmp(doc.data, expected, doc.len) != 0)
		fail_msg("docs/rules.md is stale: run `make rules-doc` (it differs from "
		         "`smtpconform rules --markdown`)");
	buf_free(&doc);
	free(expected);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_rule_complete),
		cmocka_unit_test(test_ids_unique_and_found),
		cmocka_unit_test(test_ids_refs_severities_pinned),
		cmocka_unit_test(test_docs_rules_md_current),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
