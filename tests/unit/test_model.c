/*
 * test_model.c - the protocol model: short transcripts (command line sent,
 * reply received) fed to model_observe_sent(), with the one finding each
 * reply must get (or none); every rule of outcomes.tsv and of model.c is
 * exercised, with a conformant reply next to each faulty one. Also: every
 * row of outcomes.tsv names a rule of the table whose level is MUST or
 * SHOULD, and SHOULD rules are warnings.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#include "command.h"
#include "expect.h"
#include "model.h"
#include "reply.h"
#include "result.h"
#include "rules.h"
#include "util.h"

/* One exchange: the line sent ("" for the greeting), the reply (lines
 * joined by "\r\n", no final CRLF), the rule the reply must get or NULL. */
struct exchange {
	const char *sent;
	const char *reply;
	const char *rule;
};

#define GREETING                                      \
	{                                             \
		"", "220 mx.example.test ESMTP", NULL \
	}
#define EHLO_ALL                                                                 \
	{                                                                        \
		"EHLO client.example",                                           \
		    "250-mx.example.test\r\n250-PIPELINING\r\n250-SIZE 1000\r\n" \
		    "250-ENHANCEDSTATUSCODES\r\n250-AUTH PLAIN "                 \
		    "LOGIN\r\n250-VRFY\r\n250-HELP\r\n250-DSN\r\n"               \
		    "250-CHUNKING\r\n250 STARTTLS",                              \
		    NULL                                                         \
	}
#define END                      \
	{                        \
		NULL, NULL, NULL \
	}

static void parse_reply(const char *text, struct reply *r)
{
	struct buf b = { 0 };
	buf_puts(&b, text);
	buf_puts(&b, "\r\n");
	reply_init(r);
	long used = reply_feed(r, (const uint8_t *)b.data, b.len);
	assert_true(used > 0);
	assert_true(r->complete);
	buf_free(&b);
}

/* The verb a line sends, as session.c names it. */
static const char *verb_of(const char *line, int in_data)
{
	if (in_data)
		return command_name(CMD_DATA_END);
	if (!*line)
		return command_name(CMD_CONNECT);
	return command_name(command_from_line(line, strlen(line)));
}

static void run(const char *name, const struct exchange *x, int probe_enhanced)
{
	struct model m;
	struct reply *r = xmalloc(sizeof(*r));
	model_init(&m, "example.test", probe_enhanced);
	for (size_t i = 0; x[i].sent; i++) {
		struct step_result st;
		memset(&st, 0, sizeof(st));
		parse_reply(x[i].reply, r);
		const char *verb = verb_of(x[i].sent, m.in_data);
		st.command = xstrdup(verb);
		char *sent = text_escape_dup(x[i].sent, strlen(x[i].sent));
		model_observe_sent(&m, verb, sent, r, 0, &st);
		free(sent);
		if (x[i].rule) {
			if (st.nviolations != 1 || strcmp(st.violations[0].rule, x[i].rule) != 0)
				fail_msg("%s, step %zu (%s -> %.20s): want one %s, got %zu "
				         "finding(s)%s%s",
				         name, i, x[i].sent, x[i].reply, x[i].rule, st.nviolations,
				         st.nviolations ? ", first " : "",
				         st.nviolations ? st.violations[0].rule : "");
			const struct rule *rule = rule_by_id(x[i].rule);
			assert_int_equal(st.verdict,
			                 rule->severity == SEV_WARN ? VERDICT_WARN : VERDICT_FAIL);
		} else if (st.nviolations) {
			fail_msg("%s, step %zu (%s -> %.20s): unexpected %s: %s", name, i,
			         x[i].sent, x[i].reply, st.violations[0].rule,
			         st.violations[0].message);
		}
		step_result_free(&st);
	}
	free(r);
}

static void test_rset_quit(void **state)
{
	(void)state;
	const struct exchange ok[] = { GREETING,
		                       { "RSET", "250 2.0.0 OK", NULL },
		                       EHLO_ALL,
		                       { "RSET", "250 2.0.0 OK", NULL },
		                       { "RSET extra", "501 5.5.4 no arguments", NULL },
		                       { "NOOP", "421 4.3.2 shutting down", NULL },
		                       END };
	run("rset ok", ok, 0);
	const struct exchange before[] = { GREETING,
		                           { "RSET", "503 5.5.1 EHLO first", "rset.reply" },
		                           END };
	run("rset before ehlo", before, 0);
	const struct exchange quit[] = {
		GREETING, EHLO_ALL, { "QUIT", "250 2.0.0 bye", "quit.reply" }, END
	};
	run("quit 250", quit, 0);
	const struct exchange quit_ok[] = {
		GREETING, EHLO_ALL, { "QUIT", "221 2.0.0 bye", NULL }, END
	};
	run("quit 221", quit_ok, 0);
}

static void test_minimum_and_advertised(void **state)
{
	(void)state;
	const struct exchange vrfy[] = {
		GREETING,
		EHLO_ALL,
		{ "VRFY postmaster", "252 2.0.0 cannot verify", NULL },
		{ "VRFY postmaster", "500 5.5.1 Command unrecognized", "command.minimum" },
		{ "VRFY postmaster", "502 5.5.1 not implemented", "command.minimum" },
		{ "NOOP", "500 5.5.1 what", "command.minimum" },
		{ "NOOP", "250 2.0.0 OK", NULL },
		{ "DATA", "502 5.5.1 no", "command.minimum" },
		{ "HELP MAIL", "500 5.5.4 no arguments", "ehlo.advertised-refused" },
		{ "HELP MAIL", "214 2.0.0 MAIL FROM:<path>", NULL },
		{ "STARTTLS", "502 5.5.1 no", "ehlo.advertised-refused" },
		{ "AUTH PLAIN", "502 5.5.1 no", "ehlo.advertised-refused" },
		{ "AUTH X-UNKNOWN", "504 5.5.4 unknown mechanism", NULL },
		{ "EXPN list", "502 5.5.1 not advertised: fine", NULL },
		END
	};
	run("minimum", vrfy, 0);
	/* A HELO session: nothing advertised, a bad argument is not judged,
	 * but a MAIL without its argument gets 501, not 500 (4.1.4); a second
	 * HELO or EHLO is in sequence (no 503); "RSET " with a trailing space
	 * may be refused (only a SHOULD finding), never a MUST one. */
	const struct exchange helo[] = {
		GREETING,
		{ "HELO client.example", "250 mx", NULL },
		{ "HELP MAIL", "500 5.5.4 no arguments", NULL },
		{ "VRFY", "500 5.5.2 syntax: VRFY address", NULL },
		{ "MAIL", "500 5.5.2 syntax", "mail.refused-keeps-state" },
		{ "MAIL", "501 5.5.2 syntax", NULL },
		{ "MAIL", "250 sender <> OK", "mail.refused-keeps-state" },
		{ "RSET", "250 2.0.0 ok", NULL },
		{ "HELO client.example", "503 5.5.1 Already identified", "sequence.bad-503" },
		{ "EHLO", "503 5.5.1 Already identified", "sequence.bad-503" },
		{ "RSET ", "500 5.5.4 no arguments", "lines.trailing-space-refused" },
		{ "DATA\t", "501 5.5.4 no arguments", "lines.trailing-space-refused" },
		END
	};
	run("helo", helo, 0);
}

static void test_sequence(void **state)
{
	(void)state;
	const struct exchange x[] = { GREETING,
		                      EHLO_ALL,
		                      { "RCPT TO:<a@example.test>", "250 2.1.5 OK",
		                        "sequence.accepted" },
		                      END };
	run("rcpt before mail", x, 0);
	const struct exchange y[] = { GREETING,
		                      EHLO_ALL,
		                      { "RCPT TO:<a@example.test>", "503 5.5.1 need MAIL", NULL },
		                      { "DATA", "503 5.5.1 need RCPT", NULL },
		                      { "DATA", "354 go ahead", "sequence.accepted" },
		                      END };
	run("data before rcpt", y, 0);
	const struct exchange z[] = { GREETING,
		                      EHLO_ALL,
		                      { "MAIL FROM:<a@example.test>", "503 5.5.1 nested",
		                        "sequence.bad-503" },
		                      END };
	run("503 to mail", z, 0);
	const struct exchange w[] = { GREETING,
		                      EHLO_ALL,
		                      { "MAIL FROM:<a@example.test>", "250 2.1.0 OK", NULL },
		                      { "MAIL FROM:<b@example.test>", "250 2.1.0 OK",
		                        "sequence.accepted" },
		                      END };
	run("nested mail", w, 0);
	const struct exchange v[] = {
		GREETING,
		EHLO_ALL,
		{ "MAIL FROM:<a@example.test>", "250 2.1.0 OK", NULL },
		{ "RCPT TO:<b@example.test>", "503 5.5.1 what", "sequence.bad-503" },
		{ "RCPT TO:<b@example.test>", "250 2.1.5 OK", NULL },
		{ "DATA", "503 5.5.1 what", "sequence.bad-503" },
		{ "DATA", "354 go", NULL },
		{ ".", "250 2.0.0 queued", NULL },
		{ "RCPT TO:<b@example.test>", "250 2.1.5 OK", "sequence.accepted" },
		END
	};
	run("transaction", v, 0);
	const struct exchange any[] = { GREETING,
		                        { "NOOP", "503 5.5.1 EHLO first", "sequence.any-time" },
		                        { "HELP", "214 2.0.0 help", NULL },
		                        END };
	run("noop before ehlo", any, 0);
}

static void test_reset(void **state)
{
	(void)state;
	const struct exchange x[] = { GREETING,
		                      EHLO_ALL,
		                      { "MAIL FROM:<a@example.test>", "250 2.1.0 OK", NULL },
		                      { "EHLO client.example", "250 mx", NULL },
		                      { "RCPT TO:<b@example.test>", "250 2.1.5 OK",
		                        "transaction.reset" },
		                      END };
	run("ehlo resets", x, 0);
	const struct exchange y[] = { GREETING,
		                      EHLO_ALL,
		                      { "MAIL FROM:<a@example.test>", "250 2.1.0 OK", NULL },
		                      { "RSET", "250 2.0.0 OK", NULL },
		                      { "MAIL FROM:<a@example.test>", "503 5.5.1 nested MAIL",
		                        "transaction.reset" },
		                      END };
	run("rset resets", y, 0);
	const struct exchange z[] = { GREETING,
		                      { "HELO client.example", "250 mx", NULL },
		                      { "MAIL FROM:<a@example.test>", "250 2.1.0 OK", NULL },
		                      { "HELO client.example", "250 mx", NULL },
		                      { "MAIL FROM:<a@example.test>", "250 2.1.0 OK", NULL },
		                      { "RCPT TO:<b@example.test>", "250 2.1.5 OK", NULL },
		                      END };
	run("helo resets, server agrees", z, 0);
}

static void test_postmaster_and_arguments(void **state)
{
	(void)state;
	const struct exchange x[] = {
		GREETING,
		EHLO_ALL,
		{ "MAIL FROM:<a@example.test>", "250 2.1.0 OK", NULL },
		{ "RCPT TO:<Postmaster>", "550 5.1.1 unknown", "postmaster.refused" },
		{ "RCPT TO:<postmaster@EXAMPLE.test>", "550 5.1.1 unknown", "postmaster.refused" },
		{ "RCPT TO:<\"postmaster\"@example.test>", "501 5.1.3 syntax",
		  "postmaster.refused" },
		{ "RCPT TO:<postmaster@other.example>", "550 5.7.1 relaying denied", NULL },
		{ "RCPT TO:<Postmaster>", "452 4.2.2 full", NULL },
		{ "RCPT TO:<\"john doe\"@example.test>", "501 5.1.3 syntax",
		  "argument.valid-refused" },
		{ "RCPT TO:<user@[127.0.0.1]>", "501 5.1.3 literals not allowed", NULL },
		{ "RCPT TO: <user@example.test>", "501 5.1.3 space", NULL },
		{ "RCPT TO:<user@example.test> NOTIFY=NEVER,SUCCESS", "501 5.5.4 bad NOTIFY",
		  NULL },
		{ "RCPT TO:<user@example.test> XSMTPCONFORM=1", "555 5.5.4 unknown", NULL },
		{ "RCPT TO:<user@example.test> XSMTPCONFORM=1", "501 5.5.4 unknown",
		  "parameter.not-555" },
		{ "RCPT TO:<user@example.test> XSMTPCONFORM=1", "503 5.5.4 Unsupported option",
		  "sequence.bad-503" },
		END
	};
	run("postmaster", x, 0);
	char line[600];
	char local[70];
	memset(local, 'l', 64);
	local[64] = 0;
	snprintf(line, sizeof(line), "MAIL FROM:<%s@example.test>", local);
	const struct exchange y[] = {
		GREETING, EHLO_ALL, { line, "501 5.1.7 too long", "argument.valid-refused" }, END
	};
	run("local-part 64", y, 0);
	memset(local, 'l', 65);
	local[65] = 0;
	snprintf(line, sizeof(line), "MAIL FROM:<%s@example.test>", local);
	const struct exchange z[] = {
		GREETING, EHLO_ALL, { line, "501 5.1.7 too long", NULL }, END
	};
	run("local-part 65", z, 0);
}

static void test_size(void **state)
{
	(void)state;
	const struct exchange x[] = { GREETING,
		                      EHLO_ALL,
		                      { "MAIL FROM:<a@example.test> SIZE=2000", "250 2.1.0 OK",
		                        "size.exceeds-limit" },
		                      END };
	run("size over", x, 0);
	const struct exchange y[] = {
		GREETING,
		EHLO_ALL,
		{ "MAIL FROM:<a@example.test> SIZE=2000", "552 5.3.4 too big", NULL },
		{ "MAIL FROM:<a@example.test>", "552 5.3.4 too big", "mail.refused-keeps-state" },
		{ "RSET", "250 2.0.0 OK", NULL },
		{ "MAIL FROM:<a@example.test>", "250 2.1.0 OK", NULL },
		END
	};
	run("size sticks", y, 0);
	const struct exchange z[] = {
		GREETING,
		EHLO_ALL,
		{ "MAIL FROM:<a@example.test> SIZE=999", "250 2.1.0 OK", NULL },
		{ "RSET", "250 2.0.0 OK", NULL },
		{ "MAIL FROM:<a@example.test> SIZE=smtpconform", "250 2.1.0 OK", NULL },
		END
	};
	run("size within, size invalid accepted", z, 0);
}

static void test_auth(void **state)
{
	(void)state;
	const struct exchange x[] = {
		GREETING,
		EHLO_ALL,
		{ "AUTH PLAIN", "334 ", NULL },
		{ "*", "535 5.7.8 failed", "auth.cancel" },
		{ "AUTH PLAIN", "334 ", NULL },
		{ "*", "501 5.0.0 cancelled", NULL },
		{ "AUTH PLAIN !!!notbase64", "535 5.7.8 failed", "auth.bad-base64" },
		{ "AUTH PLAIN", "334 ", NULL },
		{ "%%%", "535 5.7.8 failed", "auth.bad-base64" },
		{ "AUTH PLAIN AHVzZXIAcGFzcw==", "235 2.7.0 OK", NULL },
		{ "AUTH PLAIN AHVzZXIAcGFzcw==", "235 2.7.0 OK", "auth.sequence" },
		{ "AUTH PLAIN AHVzZXIAcGFzcw==", "503 5.5.1 already", NULL },
		END
	};
	run("auth", x, 0);
	const struct exchange y[] = { GREETING,
		                      EHLO_ALL,
		                      { "MAIL FROM:<a@example.test>", "250 2.1.0 OK", NULL },
		                      { "AUTH PLAIN AHVzZXIAcGFzcw==", "535 5.7.8 failed",
		                        "auth.sequence" },
		                      END };
	run("auth in transaction", y, 0);
}

static void test_tls_and_enhanced(void **state)
{
	(void)state;
	const struct exchange x[] = { GREETING,
		                      EHLO_ALL,
		                      { "MAIL FROM:<a@example.test>", "250 2.1.0 OK", NULL },
		                      { "STARTTLS", "220 2.0.0 go", NULL },
		                      /* After the handshake: a new session, no transaction. */
		                      { "RCPT TO:<a@example.test>", "503 5.5.1 EHLO first", NULL },
		                      { "EHLO client.example",
		                        "250-mx\r\n250-SIZE 1000\r\n250 STARTTLS",
		                        "starttls.advertised-after-tls" },
		                      END };
	run("starttls", x, 0);
	/* RFC 2034 4: codes without EHLO too, when the server advertises them. */
	const struct exchange y[] = {
		GREETING,
		{ "HELO client.example", "250 mx", NULL },
		{ "MAIL FROM:<a@example.test>", "250 OK", "enhancedstatuscodes.missing" },
		{ "RCPT TO:<a@example.test>", "250 2.1.5 OK", NULL },
		{ "RCPT TO:<b@example.test>", "250 4.1.5 OK", "enhancedstatuscodes.class" },
		{ "DATA", "354 go", NULL },
		END
	};
	run("helo session, probe saw ENHANCEDSTATUSCODES", y, 1);
	run("helo session, probe did not",
	    (const struct exchange[]){ GREETING,
	                               { "HELO client.example", "250 mx", NULL },
	                               { "MAIL FROM:<a@example.test>", "250 OK", NULL },
	                               END },
	    0);
}

static void test_close(void **state)
{
	struct model m;
	struct reply *r = xmalloc(sizeof(*r));
	struct step_result st;
	(void)state;
	static const struct {
		const char *sent, *reply;
		int finding;
	} cases[] = {
		{ "QUIT", "221 2.0.0 bye", 0 },
		{ "NOOP", "421 4.3.2 closing", 0 },
		{ "BDAT", "521 5.5.4 Syntax: BDAT count [LAST]", 1 },
		{ "GET / HTTP/1.0", "221 2.7.0 Error: I can break rules, too. Goodbye.", 1 },
		{ "NOOP", "500 5.0.0 Command line too long", 1 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		model_init(&m, NULL, 0);
		memset(&st, 0, sizeof(st));
		parse_reply("220 mx", r);
		model_observe_sent(&m, "CONNECT", "", r, 0, &st);
		parse_reply(cases[i].reply, r);
		const char *verb =
		    command_name(command_from_line(cases[i].sent, strlen(cases[i].sent)));
		model_observe_sent(&m, verb, cases[i].sent, r, 0, &st);
		size_t before = st.nviolations;
		model_observe_close(&m, &st, 0);
		assert_int_equal(st.nviolations - before, cases[i].finding);
		if (cases[i].finding) {
			assert_string_equal(st.violations[before].rule,
			                    "connection.closed-without-421");
			assert_int_equal(st.verdict, VERDICT_FAIL);
		}
		/* A second close (EOF seen twice) adds nothing. */
		model_observe_close(&m, &st, 0);
		assert_int_equal(st.nviolations - before, cases[i].finding);
		step_result_free(&st);
	}
	/* No reply yet: nothing to attach to. */
	model_init(&m, NULL, 0);
	memset(&st, 0, sizeof(st));
	model_observe_close(&m, &st, 0);
	assert_int_equal(st.nviolations, 0);
	free(r);
}

/* Every row names a rule of the table; a SHOULD rule is a warning and a
 * MUST rule an error (levels decide verdicts). */
static void test_rows_and_levels(void **state)
{
	(void)state;
	assert_true(outcome_rows_len > 10);
	for (size_t i = 0; i < outcome_rows_len; i++) {
		const struct rule *r = rule_by_id(outcome_rows[i].rule);
		if (!r)
			fail_msg("outcomes.tsv:%d: no rule %s", outcome_rows[i].line,
			         outcome_rows[i].rule);
		assert_true(r->level == LEVEL_MUST || r->level == LEVEL_SHOULD);
		assert_int_equal(r->severity, r->level == LEVEL_SHOULD ? SEV_WARN : SEV_ERROR);
		assert_non_null(r->sentence);
		assert_true(outcome_rows[i].states != 0 && outcome_rows[i].cmds != 0);
	}
	for (int i = RULE_COMMAND_MINIMUM; i < RULE_COUNT; i++) {
		const struct rule *r = rule_get((enum rule_id)i);
		assert_int_equal(r->severity, r->level == LEVEL_SHOULD ? SEV_WARN : SEV_ERROR);
	}
}

/* The classification alone: what the rows match on. */
static void test_classify(void **state)
{
	struct model m;
	(void)state;
	model_init(&m, "example.test", 0);
	m.state = MODEL_IDLE;
	m.kw = KW_SIZE | KW_DSN | KW_VRFY;
	m.size_max = 1000;
	assert_true(model_classify(&m, CMD_RSET, "", 0) & ARGF_NONE);
	assert_false(model_classify(&m, CMD_RSET, "  ", 2) & ARGF_NONE);
	assert_true(model_classify(&m, CMD_RSET, "  ", 2) & ARGF_TRAILING_WS);
	assert_false(model_classify(&m, CMD_MAIL, " FROM:<a@b> ", 12) & ARGF_WELLFORMED);
	assert_true(model_classify(&m, CMD_MAIL, " FROM:<a@b> ", 12) & ARGF_TRAILING_WS);
	assert_false(model_classify(&m, CMD_MAIL, " FROM:<a@b>", 11) & ARGF_TRAILING_WS);
	assert_false(model_classify(&m, CMD_RSET, " x", 2) & ARGF_NONE);
	assert_true(model_classify(&m, CMD_VRFY, " user", 5) & ARGF_ADVERTISED);
	assert_false(model_classify(&m, CMD_VRFY, "", 0) & ARGF_WELLFORMED);
	assert_true(model_classify(&m, CMD_MAIL, " FROM:<a@b> SIZE=1001", 21) & ARGF_SIZE_OVER);
	assert_false(model_classify(&m, CMD_MAIL, " FROM:<a@b> SIZE=1000", 21) & ARGF_SIZE_OVER);
	assert_false(model_classify(&m, CMD_MAIL, " FROM:<a@b> BODY=8BITMIME", 25) &
	             ARGF_WELLFORMED);
	assert_true(model_classify(&m, CMD_RCPT, " TO:<Postmaster>", 16) & ARGF_POSTMASTER);
	assert_false(model_classify(&m, CMD_RCPT, " TO:<postmaster@x.example>", 26) &
	             ARGF_POSTMASTER);
	/* A line over 512 octets is not well-formed, whatever its argument. */
	char longarg[520];
	memset(longarg, 'x', sizeof(longarg));
	longarg[0] = ' ';
	assert_false(model_classify(&m, CMD_NOOP, longarg, 507) & ARGF_WELLFORMED);
	assert_true(model_classify(&m, CMD_NOOP, longarg, 506) & ARGF_WELLFORMED);
	/* within-limits (limits.within-refused): the 512-octet line, no SIZE=
	 * over the maximum, no label past 63 octets; not for VRFY's string. */
	assert_true(model_classify(&m, CMD_NOOP, longarg, 506) & ARGF_WITHIN_LIMITS);
	assert_false(model_classify(&m, CMD_NOOP, longarg, 507) & ARGF_WITHIN_LIMITS);
	assert_true(model_classify(&m, CMD_MAIL, " FROM:<a@b> SIZE=1000", 21) & ARGF_WITHIN_LIMITS);
	assert_false(model_classify(&m, CMD_MAIL, " FROM:<a@b> SIZE=1001", 21) &
	             ARGF_WITHIN_LIMITS);
	assert_false(model_classify(&m, CMD_VRFY, " user", 5) & ARGF_WITHIN_LIMITS);
	char ehlo[80] = " ";
	memset(ehlo + 1, 'l', 64);
	memcpy(ehlo + 65, ".test", 6);
	assert_false(model_classify(&m, CMD_EHLO, ehlo, 70) & ARGF_WELLFORMED);
	ehlo[1] = ' '; /* the same with a label of 63 octets */
	assert_true(model_classify(&m, CMD_EHLO, ehlo + 1, 69) & ARGF_WITHIN_LIMITS);
}

/* The end-of-data lookalikes the smuggling scenarios send, and text that
 * holds none. */
static void test_smuggling_sequence(void **state)
{
	(void)state;
	static const struct {
		const char *content;
		size_t len;
		const char *seq; /* escaped, NULL: none */
	} cases[] = {
		{ "a\n.\nMAIL\r\n.\r\n", sizeof("a\n.\nMAIL\r\n.\r\n") - 1, "\\n.\\n" },
		{ "a\r\n.\nMAIL\r\n.\r\n", sizeof("a\r\n.\nMAIL\r\n.\r\n") - 1, "\\r\\n.\\n" },
		{ "a\r\n\0.\r\nMAIL\r\n.\r\n", sizeof("a\r\n\0.\r\nMAIL\r\n.\r\n") - 1,
		  "\\r\\n\\x00.\\r\\n" },
		{ "a\r\n.\0\r\nMAIL\r\n.\r\n", sizeof("a\r\n.\0\r\nMAIL\r\n.\r\n") - 1,
		  "\\r\\n.\\x00\\r\\n" },
		{ "a\r\r\n.\r\r\nMAIL\r\n.\r\n", sizeof("a\r\r\n.\r\r\nMAIL\r\n.\r\n") - 1,
		  "\\r\\r\\n.\\r\\r\\n" },
		{ "a\r\n. \r\nMAIL\r\n.\r\n", sizeof("a\r\n. \r\nMAIL\r\n.\r\n") - 1,
		  "\\r\\n. \\r\\n" },
		{ "a\r.\rMAIL\r\n.\r\n", sizeof("a\r.\rMAIL\r\n.\r\n") - 1, "\\r.\\r" },
		{ "a\r\n..\r\nb\r\n.\r\n", sizeof("a\r\n..\r\nb\r\n.\r\n") - 1,
		  NULL }, /* a dot-stuffed line */
		{ "a.b\r\nc.\r\n.\r\n", sizeof("a.b\r\nc.\r\n.\r\n") - 1,
		  NULL },                                         /* dots inside lines */
		{ "a\r\n.\r\n", sizeof("a\r\n.\r\n") - 1, NULL }, /* the real end only */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf out = { 0 };
		int found =
		    model_smuggling_sequence((const uint8_t *)cases[i].content, cases[i].len, &out);
		if (!cases[i].seq) {
			assert_int_equal(found, 0);
		} else {
			assert_int_equal(found, 1);
			assert_string_equal(out.data, cases[i].seq);
		}
		buf_free(&out);
	}
}

/* What arrives in the settle wait after an end of data or a bare-LF line. */
static void test_settle(void **state)
{
	(void)state;
	struct model m;
	struct step_result st;
	const char *mail = "250 2.1.0 Ok\r\n500 5.5.2 Error\r\n";
	const char *sent = "X\\r\\n\\r\\nbody\\n.\\nMAIL FROM:<a@b.example>\\r\\nrest\\r\\n.\\r\\n";
	static const struct {
		const char *verb, *sent, *extra;
		int closed;
		const char *rule;     /* NULL: not judged (returns 0) */
		const char *contains; /* in the message */
	} cases[] = {
		{ "DATA-END",
		  "X\\r\\n\\r\\nbody\\n.\\nMAIL FROM:<a@b.example>\\r\\nrest\\r\\n.\\r\\n",
		  "250 2.1.0 Ok\r\n500 5.5.2 Error\r\n", 0, "smuggling.early-end-of-data",
		  "exploitable" },
		{ "DATA-END", "X\\r\\n\\r\\nbody\\n.\\nNOOP\\r\\nrest\\r\\n.\\r\\n", "", 1,
		  "smuggling.early-end-of-data", "ended the data early" },
		{ "DATA-END", "X\\r\\n\\r\\nbody\\n.\\nNOOP\\r\\nrest\\r\\n.\\r\\n",
		  "500 5.5.1 Pipelining not supported\r\n", 1, "smuggling.early-end-of-data",
		  "no smuggled command got a 2xx" },
		/* A 421 is a shutdown (RFC 5321 3.8), not an answer. */
		{ "DATA-END", "X\\r\\n\\r\\nbody\\n.\\nNOOP\\r\\nrest\\r\\n.\\r\\n",
		  "421 4.5.0 Bare LF\r\n", 1, NULL, NULL },
		/* No lookalike sent: not the model's to judge. */
		{ "DATA-END", "X\\r\\n\\r\\nbody\\r\\n.\\r\\n", "250 Ok\r\n", 0, NULL, NULL },
		{ "BDAT", "BDAT 20 LAST\\r\\n.\\nMAIL FROM:<a@b>\\r\\n", "250 Ok\r\n", 0,
		  "smuggling.early-end-of-data", "(chunk start)" },
		{ "NOOP", "NOOP\\nXSENTINEL", "500 5.5.2 XSENTINEL unknown\r\n", 0,
		  "lines.bare-lf-terminator", "XSENTINEL" },
		{ "NOOP", "NOOP\\rXSENTINEL", "500 5.5.2 XSENTINEL unknown\r\n", 0,
		  "lines.bare-cr-terminator", "bare CR" },
		/* A close alone after a bare-LF line is connection.closed's. */
		{ "NOOP", "NOOP\\nXSENTINEL", "", 1, NULL, NULL },
		{ "NOOP", "NOOP", "250 Ok\r\n", 0, NULL, NULL },
	};
	(void)mail;
	(void)sent;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		model_init(&m, "example.test", 0);
		memset(&st, 0, sizeof(st));
		st.code = 250;
		int judged = model_observe_settle(&m, cases[i].verb, cases[i].sent,
		                                  (const uint8_t *)cases[i].extra,
		                                  strlen(cases[i].extra), cases[i].closed, 0, &st);
		if (!cases[i].rule) {
			assert_int_equal(judged, 0);
			assert_int_equal(st.nviolations, 0);
		} else {
			assert_int_equal(judged, 1);
			assert_int_equal(st.nviolations, 1);
			assert_string_equal(st.violations[0].rule, cases[i].rule);
			assert_non_null(strstr(st.violations[0].message, cases[i].contains));
			assert_int_equal(st.verdict, VERDICT_FAIL);
		}
		step_result_free(&st);
	}
	assert_int_equal(model_settles("DATA-END", "x"), 1);
	assert_int_equal(model_settles("BDAT", "BDAT 1\\r\\nx"), 1);
	assert_int_equal(model_settles("NOOP", "NOOP\\nNOOP\\r\\n"), 1);
	assert_int_equal(model_settles("NOOP", "NOOP"), 0);
	assert_int_equal(model_settles("MAIL", "MAIL FROM:<a@b>\\r\\nRCPT TO:<c@d>\\r\\n"), 0);
}

/* Under SMTPUTF8, UTF-8 in a reply cites RFC 6531 3.7.4.2, and VRFY with
 * the SMTPUTF8 parameter may use it. */
static void test_utf8_reply(void **state)
{
	(void)state;
	static const struct {
		const char *sent;
		const char *rule; /* what syntax.8bit-text becomes; NULL: dropped */
	} cases[] = {
		{ "NOOP", "smtputf8.non-ascii-reply" },
		{ "VRFY j\xc3\xb6rg SMTPUTF8", NULL },
		{ "VRFY j\xc3\xb6rg", "smtputf8.non-ascii-reply" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct model m;
		struct reply *r = xmalloc(sizeof(*r));
		struct step_result st;
		model_init(&m, "example.test", 0);
		memset(&st, 0, sizeof(st));
		parse_reply("220 mx.example.test", r);
		model_observe_sent(&m, "CONNECT", "", r, 0, &st);
		parse_reply("250-mx.example.test\r\n250-8BITMIME\r\n250 SMTPUTF8", r);
		model_observe_sent(&m, "EHLO", "EHLO c.example", r, 0, &st);
		assert_int_equal(st.nviolations, 0);
		parse_reply("250 2.0.0 caf\xc3\xa9", r);
		step_add_violation(&st, RULE_SYNTAX_8BIT_TEXT, NULL, "%s",
		                   RULE_MSG_SYNTAX_8BIT_TEXT);
		model_observe_sent(&m, verb_of(cases[i].sent, 0), cases[i].sent, r, 0, &st);
		if (cases[i].rule) {
			assert_int_equal(st.nviolations, 1);
			assert_string_equal(st.violations[0].rule, cases[i].rule);
			assert_string_equal(st.violations[0].ref, "RFC 6531 3.7.4.2");
		} else {
			assert_int_equal(st.nviolations, 0);
		}
		step_result_free(&st);
		free(r);
	}
	/* Without SMTPUTF8 it stays syntax.8bit-text. */
	struct model m;
	struct reply *r = xmalloc(sizeof(*r));
	struct step_result st;
	model_init(&m, "example.test", 0);
	memset(&st, 0, sizeof(st));
	parse_reply("250 2.0.0 caf\xc3\xa9", r);
	step_add_violation(&st, RULE_SYNTAX_8BIT_TEXT, NULL, "%s", RULE_MSG_SYNTAX_8BIT_TEXT);
	model_observe_sent(&m, "NOOP", "NOOP", r, 0, &st);
	assert_string_equal(st.violations[0].rule, "syntax.8bit-text");
	step_result_free(&st);
	free(r);
}

/* RFC 6531 3.1 (6): after an EHLO listing SMTPUTF8, VRFY and EXPN take the
 * SMTPUTF8 parameter; a syntax error to it is the one finding (500 to VRFY
 * stays command.minimum's, EXPN may be unimplemented or refused by policy). */
static void test_smtputf8_vrfy_parameter(void **state)
{
	(void)state;
	const struct exchange ehlo_utf8 = { "EHLO client.example",
		                            "250-mx.example.test\r\n250-8BITMIME\r\n250 SMTPUTF8",
		                            NULL };
	const struct exchange x[] = {
		GREETING,
		ehlo_utf8,
		{ "VRFY postmaster SMTPUTF8", "501 5.5.4 malformed local part",
		  "smtputf8.vrfy-parameter" },
		{ "VRFY postmaster smtputf8", "555 5.5.4 unknown parameter",
		  "smtputf8.vrfy-parameter" },
		{ "VRFY postmaster SMTPUTF8", "252 2.1.5 cannot verify", NULL },
		{ "VRFY postmaster SMTPUTF8", "500 5.5.1 unrecognized", "command.minimum" },
		{ "VRFY postmaster SMTPUTF8", "502 5.5.1 not implemented", "command.minimum" },
		{ "EXPN list SMTPUTF8", "501 5.5.4 malformed", "smtputf8.vrfy-parameter" },
		{ "EXPN list SMTPUTF8", "500 5.5.1 unrecognized", NULL },
		{ "EXPN list SMTPUTF8", "502 5.5.1 not implemented", NULL },
		{ "EXPN list SMTPUTF8", "550 5.7.1 not allowed", NULL },
		{ "VRFY SMTPUTF8", "501 5.5.4 no such user", NULL },
		{ "VRFY postmaster", "501 5.5.4 syntax", NULL },
		{ "VRFY postmaster SMTPUTF8 ", "501 5.5.4 syntax", "lines.trailing-space-refused" },
		{ "HELO client.example", "250 mx", NULL },
		{ "VRFY postmaster SMTPUTF8", "501 5.5.4 malformed local part", NULL },
		END
	};
	run("smtputf8 vrfy parameter", x, 0);
	const struct exchange y[] = { GREETING,
		                      EHLO_ALL,
		                      { "VRFY postmaster SMTPUTF8",
		                        "501 5.5.4 SMTPUTF8 not advertised", NULL },
		                      END };
	run("vrfy parameter without smtputf8", y, 0);
	struct model m;
	model_init(&m, "example.test", 0);
	m.state = MODEL_IDLE;
	m.kw = KW_SMTPUTF8;
	assert_true(model_classify(&m, CMD_VRFY, " a SMTPUTF8", 11) & ARGF_UTF8_PARAM);
	assert_true(model_classify(&m, CMD_EXPN, " a sMtPuTf8", 11) & ARGF_UTF8_PARAM);
	assert_false(model_classify(&m, CMD_VRFY, " SMTPUTF8", 9) & ARGF_UTF8_PARAM);
	assert_false(model_classify(&m, CMD_VRFY, " a  SMTPUTF8", 12) & ARGF_UTF8_PARAM);
	assert_false(model_classify(&m, CMD_VRFY, " aSMTPUTF8", 10) & ARGF_UTF8_PARAM);
	assert_false(model_classify(&m, CMD_ETRN, " a SMTPUTF8", 11) & ARGF_UTF8_PARAM);
	m.kw = 0;
	assert_false(model_classify(&m, CMD_VRFY, " a SMTPUTF8", 11) & ARGF_UTF8_PARAM);
}

/* A scenario's own expectation is as strong as its level: header. */
static void test_scenario_level(void **state)
{
	(void)state;
	static const struct {
		const char *level;
		int strict;
		enum verdict verdict;
	} cases[] = {
		{ "MUST", 0, VERDICT_FAIL }, { "", 0, VERDICT_FAIL },
		{ NULL, 0, VERDICT_FAIL },   { "SHOULD", 0, VERDICT_WARN },
		{ "MAY", 0, VERDICT_WARN },  { "SHOULD", 1, VERDICT_FAIL },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct step_result st;
		memset(&st, 0, sizeof(st));
		step_add_violation(&st, RULE_EXPECT_CODE, NULL, RULE_MSG_EXPECT_CODE, "250", 550);
		st.verdict = step_verdict(&st, cases[i].strict);
		expect_apply_level(&st, cases[i].level, cases[i].strict);
		assert_int_equal(st.verdict, cases[i].verdict);
		step_result_free(&st);
	}
	/* A rule with its own level keeps it in a SHOULD scenario. */
	struct step_result st;
	memset(&st, 0, sizeof(st));
	step_add_violation(&st, RULE_RSET_REPLY, NULL, "%s", "x");
	step_add_violation(&st, RULE_EXPECT_CODE, NULL, RULE_MSG_EXPECT_CODE, "250", 550);
	expect_apply_level(&st, "SHOULD", 0);
	assert_int_equal(st.violations[0].severity, SEV_ERROR);
	assert_int_equal(st.violations[1].severity, SEV_WARN);
	step_result_free(&st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rset_quit),
		cmocka_unit_test(test_minimum_and_advertised),
		cmocka_unit_test(test_sequence),
		cmocka_unit_test(test_reset),
		cmocka_unit_test(test_postmaster_and_arguments),
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_auth),
		cmocka_unit_test(test_tls_and_enhanced),
		cmocka_unit_test(test_close),
		cmocka_unit_test(test_rows_and_levels),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_smuggling_sequence),
		cmocka_unit_test(test_settle),
		cmocka_unit_test(test_utf8_reply),
		cmocka_unit_test(test_smtputf8_vrfy_parameter),
		cmocka_unit_test(test_scenario_level),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
