/*
 * test_findings.c - grouping violations into distinct findings, the text
 * normalization behind the grouping key, and the hints table.
 *
 * Table-driven: each case is a small hand-built run (scenarios, one step
 * each, one or two violations) and the findings it must give.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "findings.h"
#include "hints.h"
#include "unit.h"

/* ------------------------------------------------------------ normalize */

static void test_normalize(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "Invalid recipient: <postmaster@a.example>", "invalid recipient: <addr>" },
		{ "Invalid recipient: <root@b.example>", "invalid recipient: <addr>" },
		{ "5.1.1 <x@y> unknown", "5.1.1 <addr> unknown" },
		{ "2.0.0 Ok: queued as 4F2A1B3C9D", "2.0.0 ok: queued as id" },
		{ "2.0.0 Ok: queued as 1rA2b3-000abc-Xy", "2.0.0 ok: queued as id" },
		{ "mx.test.example ESMTP Postfix", "host esmtp postfix" },
		{ "domain literals not allowed [127.0.0.1]", "domain literals not allowed [addr]" },
		{ "message size 10240000 exceeds", "message size n exceeds" },
		{ "  spaced \t out  ", "spaced out" },
		{ "Error: I can break rules, too. Goodbye.",
		  "error: i can break rules, too. goodbye." },
		{ "user jörg@example.com", "user addr" },
		{ "250 is not an allowed reply to NOOP (allowed: 250)",
		  "n is not an allowed reply to noop (allowed: n)" },
		{ "address 192.0.2.1 refused", "address n refused" },
		{ "<unclosed bracket", "<unclosed bracket" },
		{ "", "" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf out = { 0 };

		findings_normalize(cases[i].in, &out);
		assert_string_equal(out.data ? out.data : "", cases[i].out);
		buf_free(&out);
	}
}

/* ------------------------------------------------------------ grouping */

/* One scenario with one step and up to two violations. */
struct sc_case {
	const char *id, *level, *ref;
	enum verdict verdict;
	int waived;
	const char *command, *expect;
	int code;         /* 0: no reply */
	const char *line; /* the reply's one line */
	struct {
		const char *rule; /* NULL: none */
		enum severity sev;
		const char *ref; /* NULL: "scenario" */
		const char *message;
	} v[2];
};

static struct run_result *build(const struct sc_case *cases, size_t n, const char *greeting)
{
	struct run_result *run = xcalloc(1, sizeof(*run));

	run->greeting = greeting ? xstrdup(greeting) : NULL;
	run->scenarios = xcalloc(n, sizeof(*run->scenarios));
	run->nscenarios = n;
	for (size_t i = 0; i < n; i++) {
		const struct sc_case *c = &cases[i];
		struct scenario_result *sr = &run->scenarios[i];
		struct step_result *st;

		sr->id = xstrdup(c->id);
		sr->title = xasprintf("title of %s", c->id);
		sr->level = xstrdup(c->level);
		sr->ref = xstrdup(c->ref);
		sr->verdict = c->verdict;
		sr->waived = c->waived;
		sr->steps = xcalloc(1, sizeof(*sr->steps));
		sr->nsteps = 1;
		st = &sr->steps[0];
		st->command = xstrdup(c->command);
		st->expect = xstrdup(c->expect);
		st->sent = xstrdup(c->command);
		st->has_reply = c->code != 0;
		st->code = c->code;
		if (c->line) {
			st->lines = xcalloc(1, sizeof(*st->lines));
			st->lines[0] = xstrdup(c->line);
			st->nlines = st->lines_total = 1;
		}
		for (size_t j = 0; j < 2; j++)
			if (c->v[j].rule)
				step_add_finding(st, c->v[j].rule, c->v[j].sev,
				                 c->v[j].ref ? c->v[j].ref : "scenario",
				                 c->v[j].message);
		st->verdict = c->verdict == VERDICT_FAIL ? VERDICT_FAIL
		              : st->nviolations          ? VERDICT_WARN
		                                         : VERDICT_PASS;
	}
	return run;
}

#define ESC_MSG(code, cmd)                                                                \
	"ENHANCEDSTATUSCODES was advertised, but the " code " reply to " cmd " does not " \
	"start with a status code (class.subject.detail, RFC 3463)"

/* An OpenSMTPD-like run: the same habit in several scenarios. */
static const struct sc_case habit[] = {
	{ "core.rcpt.basic",
	  "MUST",
	  "RFC 5321 4.5.1",
	  VERDICT_FAIL,
	  0,
	  "RCPT",
	  "250|251",
	  550,
	  "550 Invalid recipient: <postmaster@a.example>",
	  { { "expect.code", SEV_ERROR, NULL, "expected 250|251, got 550" },
	    { "enhancedstatuscodes.missing", SEV_ERROR, "RFC 2034 3", ESC_MSG("550", "RCPT") } } },
	{ "smuggling.lf-dot-lf",
	  "MUST",
	  "RFC 5321 4.5.1",
	  VERDICT_FAIL,
	  0,
	  "RCPT",
	  "250|251",
	  550,
	  "550 Invalid recipient: <postmaster@b.example>",
	  { { "expect.code", SEV_ERROR, NULL, "expected 250|251, got 550" },
	    { "enhancedstatuscodes.missing", SEV_ERROR, "RFC 2034 3", ESC_MSG("550", "RCPT") } } },
	{ "relay.foreign",
	  "MUST",
	  "RFC 5321 7.9",
	  VERDICT_FAIL,
	  0,
	  "RCPT",
	  "550",
	  550,
	  "550 Invalid recipient: <relay@example.net>",
	  { { "enhancedstatuscodes.missing", SEV_ERROR, "RFC 2034 3", ESC_MSG("550", "RCPT") },
	    { NULL, 0, NULL, NULL } } },
	{ "esmtp.session",
	  "MUST",
	  "RFC 2034 3",
	  VERDICT_FAIL,
	  0,
	  "MAIL",
	  "250",
	  250,
	  "250 Ok",
	  { { "enhancedstatuscodes.missing", SEV_ERROR, "RFC 2034 3", ESC_MSG("250", "MAIL") },
	    { NULL, 0, NULL, NULL } } },
	{ "core.noop.basic",
	  "SHOULD",
	  "RFC 5321 4.1.1.9",
	  VERDICT_PASS,
	  0,
	  "NOOP",
	  "250",
	  200,
	  "200 nothing",
	  { { "matrix.nonstandard", SEV_WARN, "RFC 876",
	      "NOOP answered 200: allowed only as a "
	      "non-standard answer (RFC 876)" },
	    { NULL, 0, NULL, NULL } } },
	{ "core.ok",
	  "MUST",
	  "RFC 5321 4.1.1.9",
	  VERDICT_PASS,
	  0,
	  "NOOP",
	  "250",
	  250,
	  "250 ok",
	  { { NULL, 0, NULL, NULL }, { NULL, 0, NULL, NULL } } },
	{ "rfc5321.waived",
	  "SHOULD",
	  "RFC 5321 4.3.2",
	  VERDICT_FAIL,
	  1,
	  "QUIT",
	  "501",
	  221,
	  "221 bye",
	  { { "expect.code", SEV_ERROR, NULL, "expected 501, got 221" },
	    { NULL, 0, NULL, NULL } } },
};

/* What each finding of habit[] must be, in report order. */
static const struct {
	const char *rule, *command;
	int code;
	const char *level, *ref;
	int failing, waived, has_sentence;
	const char *scenarios; /* ids, comma-separated */
	const char *hint;      /* "setting"/"software", NULL: none */
} habit_expected[] = {
	{ "enhancedstatuscodes.missing", "RCPT", 550, "MUST", "RFC 2034 3", 1, 0, 1,
	  "core.rcpt.basic,smuggling.lf-dot-lf,relay.foreign", "software" },
	{ "expect.code", "RCPT", 550, "MUST", "RFC 5321 4.5.1", 1, 0, 0,
	  "core.rcpt.basic,smuggling.lf-dot-lf", "setting" },
	{ "enhancedstatuscodes.missing", "MAIL", 250, "MUST", "RFC 2034 3", 1, 0, 1,
	  "esmtp.session", "software" },
	{ "matrix.nonstandard", "NOOP", 200, "SHOULD", "RFC 876", 0, 0, 1, "core.noop.basic",
	  NULL },
	{ "expect.code", "QUIT", 221, "SHOULD", "RFC 5321 4.3.2", 0, 1, 0, "rfc5321.waived", NULL },
};

static void scenario_ids(const struct run_result *run, const struct finding *f, struct buf *out)
{
	for (size_t i = 0; i < f->nscenarios; i++) {
		if (i)
			buf_puts(out, ",");
		buf_puts(out, run->scenarios[f->scenarios[i]].id);
	}
}

static void test_group_habit(void **state)
{
	size_t n = sizeof(habit) / sizeof(habit[0]);
	struct run_result *run = build(habit, n, "220 osmtpd.example ESMTP OpenSMTPD");
	struct findings fs;

	(void)state;
	findings_build(run, &fs);
	assert_int_equal(fs.n, sizeof(habit_expected) / sizeof(habit_expected[0]));
	assert_int_equal(fs.nfailing, 3);
	for (size_t i = 0; i < fs.n; i++) {
		const struct finding *f = &fs.list[i];
		struct buf ids = { 0 };

		scenario_ids(run, f, &ids);
		assert_string_equal(f->rule, habit_expected[i].rule);
		assert_string_equal(f->command, habit_expected[i].command);
		assert_int_equal(f->code, habit_expected[i].code);
		assert_string_equal(f->level, habit_expected[i].level);
		assert_string_equal(f->ref, habit_expected[i].ref);
		assert_int_equal(f->failing, habit_expected[i].failing);
		assert_int_equal(f->waived, habit_expected[i].waived);
		assert_int_equal(f->sentence != NULL, habit_expected[i].has_sentence);
		/* expect.* explain themselves with the scenario's title instead. */
		assert_int_equal(f->title != NULL, !habit_expected[i].has_sentence);
		assert_string_equal(ids.data, habit_expected[i].scenarios);
		if (habit_expected[i].hint) {
			assert_non_null(f->hint);
			assert_string_equal(hint_kind_name(f->hint->kind), habit_expected[i].hint);
		} else {
			assert_null(f->hint);
		}
		buf_free(&ids);
	}
	findings_free(&fs);
	run_result_free(run);
	free(run);
}

/* expect.code beside a rule that judges the same code (matrix, model row)
 * is one finding; beside a weaker rule, or one about another part of the
 * reply (enhanced codes), it stays its own. */
static const struct sc_case folded[] = {
	{ "core.noop.basic",
	  "MUST",
	  "RFC 5321 4.1.1.9",
	  VERDICT_FAIL,
	  0,
	  "NOOP",
	  "250",
	  251,
	  "251 2.0.0 OK",
	  { { "matrix.not-allowed", SEV_ERROR, "RFC 5321 4.3.2", "NOOP answered 251" },
	    { "expect.code", SEV_ERROR, NULL, "expected 250, got 251" } } },
	{ "esmtp.size.at-limit",
	  "SHOULD",
	  "RFC 1870 4, 6.1",
	  VERDICT_PASS,
	  0,
	  "MAIL",
	  "250",
	  552,
	  "552 5.3.4 too big",
	  { { "expect.code", SEV_WARN, NULL, "expected 250, got 552" },
	    { "size.within-limit-refused", SEV_WARN, "RFC 1870 6.1", "MAIL got 552" } } },
	{ "core.noop.nonstandard",
	  "MUST",
	  "RFC 5321 4.1.1.9",
	  VERDICT_FAIL,
	  0,
	  "NOOP",
	  "250",
	  200,
	  "200 2.0.0 OK",
	  { { "matrix.nonstandard", SEV_WARN, "RFC 876", "NOOP answered 200" },
	    { "expect.code", SEV_ERROR, NULL, "expected 250, got 200" } } },
};

static void test_expect_code_folded(void **state)
{
	struct run_result *run = build(folded, sizeof(folded) / sizeof(folded[0]), NULL);
	struct findings fs;
	static const char *const want[] = { "matrix.not-allowed", "expect.code",
		                            "size.within-limit-refused", "matrix.nonstandard" };

	(void)state;
	findings_build(run, &fs);
	assert_int_equal(fs.n, 4);
	for (size_t i = 0; i < fs.n; i++) {
		int known = 0;
		for (size_t k = 0; k < 4; k++)
			known |= strcmp(fs.list[i].rule, want[k]) == 0;
		assert_true(known);
		/* The one expect.code left is the NOOP 200 one (warn beside error). */
		if (strcmp(fs.list[i].rule, "expect.code") == 0)
			assert_int_equal(fs.list[i].code, 200);
	}
	findings_free(&fs);
	run_result_free(run);
	free(run);
}

/* A model row's finding in two states is one finding: the key leaves out
 * the state phrase of "VRFY got 500 <state>: <row message>". */
static const struct sc_case two_states[] = {
	{ "rfc5321.vrfy.before-ehlo",
	  "MUST",
	  "RFC 5321 4.5.1",
	  VERDICT_FAIL,
	  0,
	  "VRFY",
	  "*",
	  500,
	  "500 5.5.1 Command unrecognized",
	  { { "command.minimum", SEV_ERROR, "RFC 5321 4.5.1",
	      "VRFY got 500 before EHLO/HELO: the command must be implemented" },
	    { NULL, 0, NULL, NULL } } },
	{ "core.vrfy.basic",
	  "MUST",
	  "RFC 5321 4.5.1",
	  VERDICT_FAIL,
	  0,
	  "VRFY",
	  "*",
	  500,
	  "500 5.5.1 Command unrecognized",
	  { { "command.minimum", SEV_ERROR, "RFC 5321 4.5.1",
	      "VRFY got 500 with no transaction open: the command must be implemented" },
	    { NULL, 0, NULL, NULL } } },
};

#define SMUGGLED(seq, verdict)                                                                 \
	"the server ended the message data at " seq " (not <CRLF>.<CRLF>): 1 more reply(ies) " \
	"'250 2.1.0 Ok' after its 250 to the end of data: " verdict
#define EXPLOITABLE "the command after the sequence was executed (its reply is a 2xx): run"

/* One lax end-of-data parser met by several sequences is one finding; an
 * early end whose smuggled command got no 2xx is another. */
static const struct sc_case sequences[] = {
	{ "smuggling.lf-dot-lf",
	  "MUST",
	  "RFC 5321 4.1.1.4",
	  VERDICT_FAIL,
	  0,
	  "DATA-END",
	  "*",
	  250,
	  "250 2.0.0 Ok: queued as 1",
	  { { "smuggling.early-end-of-data", SEV_ERROR, "RFC 5321 4.1.1.4",
	      SMUGGLED("\\n.\\n", EXPLOITABLE) },
	    { NULL, 0, NULL, NULL } } },
	{ "smuggling.crlf-dot-lf",
	  "MUST",
	  "RFC 5321 4.1.1.4",
	  VERDICT_FAIL,
	  0,
	  "DATA-END",
	  "*",
	  250,
	  "250 2.0.0 Ok: queued as 2",
	  { { "smuggling.early-end-of-data", SEV_ERROR, "RFC 5321 4.1.1.4",
	      SMUGGLED("\\r\\n.\\n", EXPLOITABLE) },
	    { NULL, 0, NULL, NULL } } },
	{ "smuggling.cr-dot-cr",
	  "MUST",
	  "RFC 5321 4.1.1.4",
	  VERDICT_FAIL,
	  0,
	  "DATA-END",
	  "*",
	  250,
	  "250 2.0.0 Ok: queued as 3",
	  { { "smuggling.early-end-of-data", SEV_ERROR, "RFC 5321 4.1.1.4",
	      SMUGGLED("\\r.\\r", "the server ended the data early, no smuggled 2xx") },
	    { NULL, 0, NULL, NULL } } },
};

static void test_model_states_one_finding(void **state)
{
	struct run_result *run = build(two_states, 2, NULL);
	struct findings fs;

	(void)state;
	findings_build(run, &fs);
	assert_int_equal(fs.n, 1);
	assert_int_equal(fs.list[0].nscenarios, 2);
	findings_free(&fs);
	run_result_free(run);
	free(run);

	run = build(sequences, 3, NULL);
	findings_build(run, &fs);
	assert_int_equal(fs.n, 2);
	assert_int_equal(fs.list[0].nscenarios + fs.list[1].nscenarios, 3);
	assert_true(fs.list[0].nscenarios == 2 || fs.list[1].nscenarios == 2);
	findings_free(&fs);
	run_result_free(run);
	free(run);
}

/* The silence after a 421 (a step with no reply that scenario_judge marked
 * inconclusive) is the scenario's reason, not a finding. */
static const struct sc_case after_421[] = {
	{ "smuggling.cr-dot-cr",
	  "MUST",
	  "RFC 5321 4.1.1.4",
	  VERDICT_FAIL,
	  0,
	  "QUIT",
	  "*",
	  0,
	  NULL,
	  { { "connection.closed", SEV_ERROR, "RFC 5321 4.2",
	      "server closed the connection before a whole reply to QUIT" },
	    { NULL, 0, NULL, NULL } } },
};

static void test_silence_after_421_no_finding(void **state)
{
	struct run_result *run = build(after_421, 1, NULL);
	struct findings fs;

	(void)state;
	findings_build(run, &fs);
	assert_int_equal(fs.n, 1); /* judged as it stands: a failure */
	findings_free(&fs);
	run->scenarios[0].verdict = VERDICT_INCONCLUSIVE;
	run->scenarios[0].steps[0].verdict = VERDICT_INCONCLUSIVE;
	findings_build(run, &fs);
	assert_int_equal(fs.n, 0);
	findings_free(&fs);
	run_result_free(run);
	free(run);
}

/* Same text, but another rule, command or code: never one finding. */
static const struct sc_case distinct[] = {
	{ "a",
	  "MUST",
	  "RFC 1",
	  VERDICT_FAIL,
	  0,
	  "NOOP",
	  "250",
	  251,
	  "251 x",
	  { { "matrix.not-allowed", SEV_ERROR, "RFC 5321 4.3.2", "same words" },
	    { "syntax.code", SEV_ERROR, "RFC 5321 4.2", "same words" } } },
	{ "b",
	  "MUST",
	  "RFC 1",
	  VERDICT_FAIL,
	  0,
	  "RSET",
	  "250",
	  251,
	  "251 x",
	  { { "matrix.not-allowed", SEV_ERROR, "RFC 5321 4.3.2", "same words" },
	    { NULL, 0, NULL, NULL } } },
	{ "c",
	  "MUST",
	  "RFC 1",
	  VERDICT_FAIL,
	  0,
	  "NOOP",
	  "250",
	  252,
	  "252 x",
	  { { "matrix.not-allowed", SEV_ERROR, "RFC 5321 4.3.2", "same words" },
	    { NULL, 0, NULL, NULL } } },
	/* expect.code in scenarios of another level: one finding, the stronger level. */
	{ "e",
	  "SHOULD",
	  "RFC 4",
	  VERDICT_FAIL,
	  0,
	  "QUIT",
	  "501",
	  221,
	  "221 x",
	  { { "expect.code", SEV_ERROR, NULL, "expected 501, got 221" },
	    { NULL, 0, NULL, NULL } } },
	{ "d",
	  "MUST",
	  "RFC 2",
	  VERDICT_FAIL,
	  0,
	  "QUIT",
	  "501",
	  221,
	  "221 x",
	  { { "expect.code", SEV_ERROR, NULL, "expected 501, got 221" },
	    { NULL, 0, NULL, NULL } } },
	/* No reply at all. */
	{ "f",
	  "MUST",
	  "RFC 3",
	  VERDICT_FAIL,
	  0,
	  "NOOP",
	  "250",
	  0,
	  NULL,
	  { { "timeout", SEV_ERROR, "RFC 5321 4.5.3.2",
	      "no whole reply to NOOP within 2 s; "
	      "received: ''" },
	    { NULL, 0, NULL, NULL } } },
	{ "g",
	  "MUST",
	  "RFC 3",
	  VERDICT_FAIL,
	  0,
	  "NOOP",
	  "250",
	  0,
	  NULL,
	  { { "timeout", SEV_ERROR, "RFC 5321 4.5.3.2",
	      "no whole reply to NOOP within 5 s; "
	      "received: ''" },
	    { NULL, 0, NULL, NULL } } },
};

static void test_never_merge(void **state)
{
	struct run_result *run = build(distinct, sizeof(distinct) / sizeof(distinct[0]), NULL);
	struct findings fs;

	(void)state;
	findings_build(run, &fs);
	/* a(2) b c, d+e as one, and f+g as one (only the waited seconds differ). */
	assert_int_equal(fs.n, 6);
	assert_int_equal(fs.nfailing, 6);
	for (size_t i = 0; i < fs.n; i++)
		if (strcmp(fs.list[i].rule, "timeout") == 0) {
			assert_int_equal(fs.list[i].nscenarios, 2);
			assert_int_equal(fs.list[i].code, -1);
		} else if (strcmp(fs.list[i].rule, "expect.code") == 0) {
			assert_int_equal(fs.list[i].nscenarios, 2);
			assert_string_equal(fs.list[i].level, "MUST");
			assert_string_equal(fs.list[i].ref, "RFC 2");
		} else {
			assert_int_equal(fs.list[i].nscenarios, 1);
		}
	findings_free(&fs);
	run_result_free(run);
	free(run);
}

static void test_empty(void **state)
{
	struct run_result run = { 0 };
	struct findings fs;

	(void)state;
	findings_build(&run, &fs);
	assert_int_equal(fs.n, 0);
	assert_null(fs.list);
	findings_free(&fs);
}

/* ------------------------------------------------------------ hints */

static void test_hints(void **state)
{
	static const struct {
		struct hint_query q;
		const char *kind;     /* NULL: no hint */
		const char *contains; /* in the hint's text */
	} cases[] = {
		{ { "syntax.unsolicited", "smuggling.lf-dot-lf", "DATA-END", 250, "250 2.0.0 Ok",
		    "220 mx ESMTP Postfix (Debian/GNU)" },
		  "setting",
		  "smtpd_forbid_bare_newline" },
		/* Postfix closes after the smuggled command: the bare LF is the cause. */
		{ { "syntax.unsolicited", "smuggling.crlf-dot-lf", "DATA-END", 250,
		    "250 2.0.0 Ok: queued as 4F6DFA721A8 | data after the reply to DATA-END, "
		    "before "
		    "the next command: '250 2.1.0 Ok\\r\\n221 2.7.0 Error: I can break rules, too. "
		    "Goodbye.\\r\\n'",
		    "220 mx ESMTP Postfix" },
		  "setting",
		  "smtpd_forbid_bare_newline" },
		{ { "syntax.unsolicited", "smuggling.lf-dot-lf", "DATA-END", 250, "250 OK",
		    "220 mx ESMTP Exim 4.96" },
		  "software",
		  "smuggling" },
		{ { "syntax.unsolicited", "rfc5321.lines.bare-lf-command", "NOOP", 250,
		    "250 2.0.0 Ok", "220 mx ESMTP Postfix" },
		  "setting",
		  "smtpd_forbid_bare_newline" },
		{ { "expect.code", "rfc5321.unknown.http-request", "UNKNOWN", 221,
		    "221 2.7.0 Error: I can break rules, too. Goodbye.", NULL },
		  "setting",
		  "smtpd_forbidden_commands" },
		{ { "expect.code", "relay.foreign-rcpt-refused", "RCPT", 250, "250 2.1.5 Ok",
		    NULL },
		  "setting",
		  "mynetworks" },
		{ { "expect.code", "relay.foreign-rcpt-refused", "RCPT", 550, "550 denied", NULL },
		  NULL,
		  NULL },
		{ { "expect.code", "rfc5321.rcpt.address-literal", "RCPT", 501,
		    "501 <postmaster@[127.0.0.1]>: domain literals not allowed", NULL },
		  "setting",
		  "allow_domain_literals" },
		{ { "expect.code", "core.rcpt.basic", "RCPT", 550,
		    "550 Invalid recipient: <postmaster@x>", NULL },
		  "setting",
		  "alias <aliases>" },
		{ { "enhancedstatuscodes.missing", "core.rcpt.basic", "RCPT", 550,
		    "550 Invalid recipient: <postmaster@x>", NULL },
		  "software",
		  "ENHANCEDSTATUSCODES" },
		{ { "tls.handshake", "tls.starttls.basic", "STARTTLS", 220,
		    "TLS handshake failed: certificate verification failed: self-signed "
		    "certificate",
		    NULL },
		  "setting",
		  "--tls-verify off" },
		{ { "matrix.not-allowed", "core.noop.basic", "NOOP", 251, "251 odd", NULL },
		  NULL,
		  NULL },
		{ { "command.minimum", "core.vrfy.basic", "VRFY", 502,
		    "502 5.5.1 VRFY command is disabled", "220 mx ESMTP Postfix (Debian/GNU)" },
		  "setting",
		  "disable_vrfy_command = no" },
		{ { "command.minimum", "core.vrfy.basic", "VRFY", 502, "502 not implemented",
		    "220 mx ESMTP Postfix" },
		  NULL,
		  NULL },
		{ { "verify.disabled-not-252", "rfc5321.expn.supported", "EXPN", 550,
		    "550 Administrative prohibition", "220 mx ESMTP Exim 4.96" },
		  "software",
		  "acl_smtp_expn" },
		{ { "verify.disabled-not-252", "core.vrfy.basic", "VRFY", 550,
		    "550 5.7.1 VRFY disabled", NULL },
		  "software",
		  "7.3 wants 252" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct hint *h = hint_find(&cases[i].q);

		if (!cases[i].kind) {
			assert_null(h);
			continue;
		}
		assert_non_null(h);
		assert_string_equal(hint_kind_name(h->kind), cases[i].kind);
		assert_non_null(strstr(h->text, cases[i].contains));
	}
}

/* Issue 12 item 5: a session-wide habit fails only the scenarios that test
 * it (tag enhancedstatuscodes, or a ref: citing RFC 2034 / RFC 3463); in
 * the others it is a note, and a finding of notes only is NOTE, even with
 * --strict. */
static void test_habit_notes(void **state)
{
	static const struct sc_case cases[] = {
		{ "core.rset.basic",
		  "MUST",
		  "RFC 5321 4.1.1.5",
		  VERDICT_FAIL,
		  0,
		  "RSET",
		  "250",
		  250,
		  "250 OK",
		  { { "enhancedstatuscodes.missing", SEV_ERROR, "RFC 2034 3",
		      ESC_MSG("250", "RSET") },
		    { NULL, 0, NULL, NULL } } },
		{ "x.by-ref",
		  "MUST",
		  "RFC 2034 4; RFC 3463 2",
		  VERDICT_FAIL,
		  0,
		  "RSET",
		  "250",
		  250,
		  "250 OK",
		  { { "enhancedstatuscodes.missing", SEV_ERROR, "RFC 2034 3",
		      ESC_MSG("250", "RSET") },
		    { NULL, 0, NULL, NULL } } },
		{ "x.rfc20345",
		  "MUST",
		  "RFC 20345 1",
		  VERDICT_FAIL,
		  0,
		  "RSET",
		  "250",
		  250,
		  "250 OK",
		  { { "enhancedstatuscodes.missing", SEV_ERROR, "RFC 2034 3",
		      ESC_MSG("250", "RSET") },
		    { NULL, 0, NULL, NULL } } },
	};
	struct run_result *run = build(cases, 3, NULL);
	struct findings fs;
	(void)state;

	for (int strict = 0; strict < 2; strict++) {
		run->strict = strict;
		for (size_t i = 0; i < run->nscenarios; i++) {
			struct scenario_result *sr = &run->scenarios[i];

			sr->steps[0].violations[0].severity = SEV_ERROR;
			sr->steps[0].verdict = VERDICT_FAIL;
			step_note_habits(&sr->steps[0], sr, strict);
		}
		/* Not tested by its tags or ref (RFC 20345 is not RFC 2034): a note. */
		assert_int_equal(run->scenarios[0].steps[0].violations[0].severity, SEV_NOTE);
		assert_int_equal(run->scenarios[0].steps[0].verdict, VERDICT_PASS);
		assert_int_equal(run->scenarios[2].steps[0].violations[0].severity, SEV_NOTE);
		/* Tested (its ref cites RFC 2034): still an error. */
		assert_int_equal(run->scenarios[1].steps[0].violations[0].severity, SEV_ERROR);
		assert_int_equal(run->scenarios[1].steps[0].verdict, VERDICT_FAIL);
		findings_build(run, &fs);
		assert_int_equal(fs.n, 1);
		assert_int_equal(fs.list[0].nscenarios, 3);
		assert_string_equal(findings_label(&fs.list[0]), "FAIL");
		findings_free(&fs);
	}
	/* Where no scenario tests it, the finding is only notes. */
	run->scenarios[1].steps[0].violations[0].severity = SEV_NOTE;
	run->scenarios[1].steps[0].verdict = VERDICT_PASS;
	findings_build(run, &fs);
	assert_int_equal(fs.nfailing, 0);
	assert_string_equal(findings_label(&fs.list[0]), "NOTE");
	assert_int_equal(fs.list[0].severity, SEV_NOTE);
	findings_free(&fs);
	/* A tag says so too. */
	struct scenario_result *sr = &run->scenarios[0];
	sr->tags = xcalloc(1, sizeof(*sr->tags));
	sr->tags[0] = xstrdup("EnhancedStatusCodes");
	sr->ntags = 1;
	assert_true(step_tests_habit(rule_get(RULE_ENHANCED_MISSING), sr));
	assert_false(step_tests_habit(rule_get(RULE_ENHANCED_MISSING), &run->scenarios[2]));
	run_result_free(run);
	free(run);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalize),
		cmocka_unit_test(test_group_habit),
		cmocka_unit_test(test_habit_notes),
		cmocka_unit_test(test_never_merge),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_hints),
		cmocka_unit_test(test_expect_code_folded),
		cmocka_unit_test(test_model_states_one_finding),
		cmocka_unit_test(test_silence_after_421_no_finding),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
