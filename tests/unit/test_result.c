/*
 * test_result.c - scenario_judge(): when a failed step makes its scenario
 * inconclusive (a setup step whose code was not the one expected, a 421, a
 * 530 the matrix allows, also where the expectation was only a SHOULD) and
 * when it stays a failure or a pass with a warning; the reason it gives.
 *
 * Table-driven: each case is one scenario with one step.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "result.h"
#include "unit.h"
#include "util.h"

struct judge_case {
	const char *name;
	int setup;           /* the step is a setup step */
	const char *command; /* "RCPT" */
	const char *sent;    /* "RCPT TO:<x@y>" */
	int code;            /* -1: no reply */
	enum rule_id rule;   /* the step's violation */
	enum verdict want;
	const char *reason; /* a piece the reason must hold, or NULL for none */
	int warn; /* the unmet expectation is SHOULD/MAY: a warning, the scenario passed */
};

static const struct judge_case cases[] = {
	{ "setup RCPT refused", 1, "RCPT", "RCPT TO:<pm@x.example>", 550, RULE_EXPECT_CODE,
	  VERDICT_INCONCLUSIVE,
	  "setup: RCPT TO:<pm@x.example> refused (550 no); not tested: the title; "
	  "set --var rcpt=<a deliverable mailbox>",
	  0 },
	{ "setup MAIL 451", 1, "MAIL", "MAIL FROM:<s@y.example>", 451, RULE_EXPECT_CODE,
	  VERDICT_INCONCLUSIVE, "a temporary refusal", 0 },
	{ "setup greeting 554", 1, "CONNECT", "", 554, RULE_EXPECT_CODE, VERDICT_INCONCLUSIVE,
	  "setup: the greeting was 554 no", 0 },
	{ "tested RCPT refused", 0, "RCPT", "RCPT TO:<pm@x.example>", 550, RULE_EXPECT_CODE,
	  VERDICT_FAIL, NULL, 0 },
	{ "421 anywhere", 0, "NOOP", "NOOP", 421, RULE_EXPECT_CODE, VERDICT_INCONCLUSIVE,
	  "session: NOOP answered with 421 (421 no): the server ended the session (RFC 5321 3.8)",
	  0 },
	{ "530 to MAIL", 0, "MAIL", "MAIL FROM:<>", 530, RULE_EXPECT_CODE, VERDICT_INCONCLUSIVE,
	  "wants authentication", 0 },
	{ "530 to NOOP", 0, "NOOP", "NOOP", 530, RULE_EXPECT_CODE, VERDICT_FAIL, NULL, 0 },
	{ "setup step without reply", 1, "RCPT", "RCPT TO:<pm@x.example>", -1, RULE_TIMEOUT,
	  VERDICT_FAIL, NULL, 0 },
	{ "setup code met, matrix says no", 1, "EHLO", "EHLO c", 250, RULE_MATRIX_NOT_ALLOWED,
	  VERDICT_FAIL, NULL, 0 },
	{ "setup NOOP argument refused", 1, "NOOP", "NOOP x", 500, RULE_EXPECT_CODE,
	  VERDICT_INCONCLUSIVE, "refuses a NOOP argument, which RFC 5321 4.1.1.9", 0 },
	/* a SHOULD scenario: its unmet expectation is a warning, unless the
	 * reply says the server wants authentication or ended the session */
	{ "SHOULD step, 530 to VRFY", 0, "VRFY", "VRFY pm", 530, RULE_EXPECT_CODE,
	  VERDICT_INCONCLUSIVE, "VRFY pm answered with 530", 1 },
	{ "SHOULD step, 421 to NOOP", 0, "NOOP", "NOOP", 421, RULE_EXPECT_CODE,
	  VERDICT_INCONCLUSIVE, "the server ended the session", 1 },
	{ "SHOULD step, 500 to EXPN", 0, "EXPN", "EXPN pm", 500, RULE_EXPECT_CODE, VERDICT_PASS,
	  NULL, 1 },
	{ "SHOULD step, 530 to NOOP", 0, "NOOP", "NOOP x", 530, RULE_EXPECT_CODE, VERDICT_PASS,
	  NULL, 1 },
	{ "SHOULD setup step, 530", 1, "MAIL", "MAIL FROM:<>", 530, RULE_EXPECT_CODE, VERDICT_PASS,
	  NULL, 1 },
};

static void build(struct scenario_result *r, const struct judge_case *c)
{
	memset(r, 0, sizeof(*r));
	r->id = xstrdup("unit.judge");
	r->title = xstrdup("the title");
	r->nsteps = 1;
	r->steps = xcalloc(1, sizeof(*r->steps));
	struct step_result *st = &r->steps[0];
	st->file = xstrdup("x.smtp");
	st->sent = xstrdup(c->sent);
	st->command = xstrdup(c->command);
	st->expect = xstrdup("250");
	st->setup = c->setup;
	st->code = c->code;
	st->has_reply = c->code >= 0;
	if (st->has_reply) {
		st->lines = xcalloc(1, sizeof(char *));
		st->lines[0] = xasprintf("%03d no", c->code);
		st->nlines = st->lines_total = 1;
	}
	step_add_violation(st, c->rule, NULL, "unit");
	st->verdict = VERDICT_FAIL;
	if (c->warn) {
		st->violations[0].severity = SEV_WARN;
		st->verdict = VERDICT_WARN;
	}
}

static void test_judge(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct judge_case *c = &cases[i];
		struct scenario_result r;
		char *reason = NULL;
		build(&r, c);
		enum verdict got =
		    scenario_judge(&r, c->warn ? VERDICT_PASS : VERDICT_FAIL, "rfc5321",
		                   "pm@x.example", "s@y.example", &reason);
		if (got != c->want)
			fail_msg("%s: verdict %s, want %s", c->name, verdict_name(got),
			         verdict_name(c->want));
		if (c->reason && (!reason || !strstr(reason, c->reason)))
			fail_msg("%s: reason \"%s\" lacks \"%s\"", c->name,
			         reason ? reason : "(none)", c->reason);
		if (!c->reason && reason)
			fail_msg("%s: unexpected reason \"%s\"", c->name, reason);
		/* the deciding step is marked too: findings do not count it */
		assert_int_equal(r.steps[0].verdict, got == VERDICT_INCONCLUSIVE
		                                         ? VERDICT_INCONCLUSIVE
		                                     : c->warn ? VERDICT_WARN
		                                               : VERDICT_FAIL);
		free(reason);
		scenario_result_free(&r);
	}
}

/* A pass stays a pass; an error stays an error, whatever the steps. */
static void test_judge_keeps_pass_and_error(void **state)
{
	(void)state;
	struct scenario_result r;
	char *reason = NULL;
	build(&r, &cases[0]);
	r.steps[0].verdict = VERDICT_PASS;
	assert_int_equal(scenario_judge(&r, VERDICT_PASS, "rfc5321", NULL, NULL, &reason),
	                 VERDICT_PASS);
	assert_null(reason);
	r.steps[0].verdict = VERDICT_FAIL;
	assert_int_equal(scenario_judge(&r, VERDICT_ERROR, "rfc5321", NULL, NULL, &reason),
	                 VERDICT_ERROR);
	assert_null(reason);
	scenario_result_free(&r);
}

/* A long command is cut in the reason. */
static void test_judge_cuts_long_commands(void **state)
{
	(void)state;
	struct judge_case c = cases[4];
	char *longcmd = xcalloc(1, 5001);
	memset(longcmd, 'y', 5000);
	c.sent = longcmd;
	struct scenario_result r;
	char *reason = NULL;
	build(&r, &c);
	assert_int_equal(scenario_judge(&r, VERDICT_FAIL, "rfc5321", NULL, NULL, &reason),
	                 VERDICT_INCONCLUSIVE);
	assert_non_null(strstr(reason, "... (5000 octets) answered with 421"));
	assert_true(strlen(reason) < 600);
	free(reason);
	free(longcmd);
	scenario_result_free(&r);
}

static void test_run_summary_counts_inconclusive(void **state)
{
	(void)state;
	struct run_result run;
	memset(&run, 0, sizeof(run));
	run.nscenarios = 3;
	run.scenarios = xcalloc(3, sizeof(*run.scenarios));
	run.scenarios[0].verdict = VERDICT_INCONCLUSIVE;
	run.scenarios[1].verdict = VERDICT_PASS;
	run.scenarios[2].verdict = VERDICT_INCONCLUSIVE;
	run_summarize(&run);
	assert_int_equal(run.summary.inconclusive, 2);
	assert_int_equal(run.summary.pass, 1);
	assert_string_equal(verdict_name(VERDICT_INCONCLUSIVE), "inconclusive");
	free(run.scenarios);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_judge),
		cmocka_unit_test(test_judge_keeps_pass_and_error),
		cmocka_unit_test(test_judge_cuts_long_commands),
		cmocka_unit_test(test_run_summary_counts_inconclusive),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
