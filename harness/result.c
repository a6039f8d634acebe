/*
 * result.c - verdict and severity names, a scenario result's header, violations,
 * step verdicts, the run summary and the _free() of every result object.
 *
 * Does not decide what is a violation (matrix, session) and does not render
 * anything (report_*.c).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "reply.h"
#include "command.h"
#include "matrix.h"
#include "result.h"
#include "scenario.h"
#include "smtp_limits.h"
#include "util.h"

const char *verdict_name(enum verdict v)
{
	switch (v) {
	case VERDICT_PASS: return "pass";
	case VERDICT_WARN: return "warn";
	case VERDICT_FAIL: return "fail";
	case VERDICT_SKIP: return "skip";
	case VERDICT_ERROR: return "error";
	case VERDICT_INCONCLUSIVE: return "inconclusive";
	}
	BUG("unknown verdict");
}

void scenario_result_init(struct scenario_result *r, const struct scenario *sc)
{
	memset(r, 0, sizeof(*r));
	r->id = xstrdup(sc->id);
	r->file = xstrdup(sc->path);
	r->title = xstrdup(sc->title ? sc->title : "");
	r->ref = xstrdup(sc->ref ? sc->ref : "");
	r->level = xstrdup(sc->level ? sc->level : "");
	r->ntags = sc->ntags;
	r->tags = xcalloc(sc->ntags ? sc->ntags : 1, sizeof(char *));
	for (size_t i = 0; i < sc->ntags; i++)
		r->tags[i] = xstrdup(sc->tags[i]);
}

const char *severity_name(enum severity s)
{
	switch (s) {
	case SEV_ERROR: return "error";
	case SEV_WARN: return "warn";
	case SEV_NOTE: return "note";
	}
	BUG("unknown severity");
}

/* A new violation at the end of st's list, its strings unset. */
static struct violation *new_violation(struct step_result *st)
{
	st->violations = xrealloc(st->violations, (st->nviolations + 1) * sizeof(*st->violations));
	return &st->violations[st->nviolations++];
}

void step_add_violation(struct step_result *st, enum rule_id rule, const char *ref, const char *fmt,
                        ...)
{
	const struct rule *r = rule_get(rule);
	struct violation *v;
	va_list ap;

	if (!r)
		BUG("violation of no rule");
	v = new_violation(st);
	v->rule = xstrdup(r->id);
	v->id = rule;
	v->severity = r->severity;
	v->ref = xstrdup(ref ? ref : r->ref);
	va_start(ap, fmt);
	v->message = xvasprintf(fmt, ap);
	va_end(ap);
	redact(v->message); /* messages quote server text */
}

void step_add_finding(struct step_result *st, const char *rule, enum severity sev, const char *ref,
                      const char *message)
{
	struct violation *v = new_violation(st);

	const struct rule *r = rule_by_id(rule);

	v->rule = xstrdup(rule ? rule : "");
	v->id = r ? r->rule : RULE_NONE;
	v->severity = sev;
	v->ref = xstrdup(ref ? ref : "");
	v->message = xstrdup(message ? message : "");
	redact(v->message);
}

/* "RFC 2034 4" cites RFC 2034: ref holds "RFC 2034" as a whole number. */
static int ref_cites(const char *ref, const char *cited)
{
	size_t n = strcspn(cited + 4, " ") + 4; /* "RFC NNNN" */

	for (const char *p = ref ? strstr(ref, "RFC ") : NULL; p; p = strstr(p + 1, "RFC "))
		if (strncmp(p, cited, n) == 0 && !(p[n] >= '0' && p[n] <= '9'))
			return 1;
	return 0;
}

int step_tests_habit(const struct rule *r, const struct scenario_result *sr)
{
	for (size_t i = 0; i < sr->ntags; i++)
		if (rule_habit_tag(r->rule) &&
		    strcasecmp(sr->tags[i], rule_habit_tag(r->rule)) == 0)
			return 1;
	return ref_cites(sr->ref, r->ref) || (r->source && ref_cites(sr->ref, r->source));
}

void step_note_habits(struct step_result *st, const struct scenario_result *sr, int strict)
{
	int changed = 0;

	for (size_t i = 0; i < st->nviolations; i++) {
		struct violation *v = &st->violations[i];
		const struct rule *r = rule_get(v->id);

		if (!r || !rule_habit_tag(r->rule) || v->severity == SEV_NOTE ||
		    step_tests_habit(r, sr))
			continue;
		v->severity = SEV_NOTE;
		changed = 1;
	}
	if (changed)
		st->verdict = step_verdict(st, strict);
}

#define FLAG_RULE_PREFIX "syntax."

const char *step_flag_name(unsigned flag)
{
	const struct rule *r = rule_get(reply_flag_rule(flag));

	if (!r)
		return NULL;
	if (strncmp(r->id, FLAG_RULE_PREFIX, strlen(FLAG_RULE_PREFIX)) == 0)
		return r->id + strlen(FLAG_RULE_PREFIX);
	return r->id;
}

unsigned step_flag_from_name(const char *name)
{
	for (unsigned bit = 0; bit < REPLY_FLAG_COUNT; bit++) {
		const char *known = step_flag_name(1u << bit);

		if (known && name && strcmp(known, name) == 0)
			return 1u << bit;
	}
	return 0;
}

int step_has_warning(const struct step_result *st)
{
	for (size_t i = 0; i < st->nviolations; i++)
		if (st->violations[i].severity != SEV_NOTE)
			return 1;
	return 0;
}

enum verdict step_verdict(const struct step_result *st, int strict)
{
	int warned = 0;

	for (size_t i = 0; i < st->nviolations; i++) {
		if (st->violations[i].severity == SEV_ERROR)
			return VERDICT_FAIL;
		if (st->violations[i].severity == SEV_WARN)
			warned = 1;
	}
	if (warned)
		return strict ? VERDICT_FAIL : VERDICT_WARN;
	return VERDICT_PASS;
}

/* The step's code was not one its expectation allows: the expect.code
 * violation (its severity says whether the expectation was a SHOULD or MAY
 * one, a warning), or NULL. */
static const struct violation *unmet_expectation(const struct step_result *st)
{
	for (size_t i = 0; i < st->nviolations; i++)
		if (strcmp(st->violations[i].rule, rule_get(RULE_EXPECT_CODE)->id) == 0)
			return &st->violations[i];
	return NULL;
}

/* The command as sent, without its line end, cut for one line:
 * "RCPT TO:<x@y>". */
static char *sent_command(const struct step_result *st)
{
	size_t n = strlen(st->sent);
	if (n >= 4 && strcmp(st->sent + n - 4, "\\r\\n") == 0)
		n -= 4;
	if (n <= INCONCLUSIVE_COMMAND_SHOWN)
		return xstrndup(st->sent, n);
	char *head = xstrndup(st->sent, INCONCLUSIVE_COMMAND_SHOWN);
	char *cut = xasprintf("%s... (%zu octets)", head, n);
	free(head);
	return cut;
}

/* RFC 4954 6: "530 Authentication required ... SHOULD be returned by any
 * command other than AUTH, EHLO, HELO, NOOP, RSET, or QUIT when server
 * policy requires authentication": a policy, not the reply under test,
 * where the matrix allows it for the command. */
static int auth_required(const struct step_result *st, const char *profile)
{
	return st->code == 530 && profile && matrix_lookup(profile, st->command, 530) != NULL;
}

/* What the user can change so that the setup step gets what it needs. */
static const char *setup_hint(const struct step_result *st, const char *rcpt, const char *sender)
{
	if (st->code >= 400 && st->code < 500)
		return "a temporary refusal (greylisting, a rate limit, a server shutting down): "
		       "run again later";
	if (command_is(st->command, CMD_RCPT) && rcpt && *rcpt && strstr(st->sent, rcpt))
		return "set --var rcpt=<a deliverable mailbox>";
	if (command_is(st->command, CMD_MAIL) && sender && *sender && strstr(st->sent, sender))
		return "set --var sender=<an address the server accepts mail from>";
	if (command_is(st->command, CMD_CONNECT))
		return "the server does not serve this client: run from an address it accepts";
	if (command_is(st->command, CMD_EHLO) || command_is(st->command, CMD_HELO))
		return "set --var client=<a name the server accepts>";
	if (st->code == 530)
		return "the server wants authentication first (RFC 4954 6): run with --auth-user";
	if (command_is(st->command, CMD_NOOP))
		return "the server refuses a NOOP argument, which RFC 5321 4.1.1.9 says it SHOULD "
		       "ignore (core.noop.argument reports that); this test needs it taken";
	if (command_is(st->command, CMD_MAIL))
		return "the server refuses mail from this client (authentication or policy)";
	return "see the reply";
}

enum verdict scenario_judge(struct scenario_result *r, enum verdict verdict, const char *profile,
                            const char *rcpt, const char *sender, char **reason_out)
{
	*reason_out = NULL;
	if (verdict == VERDICT_ERROR || verdict == VERDICT_SKIP)
		return verdict;
	struct step_result *st = NULL;
	size_t at = 0;
	for (size_t i = 0; i < r->nsteps && !st; i++)
		if (r->steps[i].verdict == VERDICT_FAIL)
			st = &r->steps[at = i];
	/* A SHOULD or MAY expectation unmet with a 421, or with a 530 the
	 * matrix allows, is no warning about the server either: the session
	 * ended, or the server wants authentication first, and the scenario
	 * (which ends at an unmet expectation) tested nothing. */
	for (size_t i = 0; i < r->nsteps && !st; i++) {
		struct step_result *w = &r->steps[i];
		const struct violation *unmet = unmet_expectation(w);
		if (!w->setup && w->has_reply && unmet && unmet->severity == SEV_WARN &&
		    (w->code == 421 || auth_required(w, profile)))
			st = &r->steps[at = i];
	}
	if (!st)
		return verdict;
	struct step_result *after = NULL;
	if (at > 0 && !st->setup && !st->has_reply && r->steps[at - 1].has_reply &&
	    r->steps[at - 1].code == 421) {
		/* The step before got a 421 its "S:" allowed (a "*"), and this
		 * one no reply: the server closed or fell silent as RFC 5321 3.8
		 * lets it after a 421; the 421 decides, not the silence. */
		after = st;
		st = &r->steps[at - 1];
	} else if (!st->has_reply || !unmet_expectation(st) ||
	           (!st->setup && st->code != 421 && !auth_required(st, profile))) {
		return VERDICT_FAIL;
	}
	char *cmd = sent_command(st);
	const char *first = st->nlines > 0 ? st->lines[0] : "";
	const char *what = *r->title ? r->title : r->id;
	if (!st->setup && st->code == 530)
		*reason_out =
		    xasprintf("session: %s answered with 530 (%s): the server wants "
		              "authentication (or TLS) first (RFC 4954 6, RFC 3207 4); not "
		              "tested: %s; run with --auth-user, or from a client the server "
		              "serves without it",
		              cmd, first, what);
	else if (!st->setup)
		/* RFC 5321 3.8: 421 may end any session; this one ended the test. */
		*reason_out = xasprintf(
		    "session: %s answered with 421 (%s): the server ended the "
		    "session (RFC 5321 3.8); not tested: %s; run again, unless "
		    "the server does this to this input by policy",
		    command_is(st->command, CMD_CONNECT) ? "the connection" : cmd, first, what);
	else if (command_is(st->command, CMD_CONNECT))
		*reason_out = xasprintf("setup: the greeting was %s; not tested: %s; %s", first,
		                        what, setup_hint(st, rcpt, sender));
	else
		*reason_out = xasprintf("setup: %s refused (%s); not tested: %s; %s", cmd, first,
		                        what, setup_hint(st, rcpt, sender));
	free(cmd);
	st->verdict = VERDICT_INCONCLUSIVE;
	if (after)
		after->verdict = VERDICT_INCONCLUSIVE;
	return VERDICT_INCONCLUSIVE;
}

void run_summarize(struct run_result *run)
{
	struct run_summary sum = { 0 };

	for (size_t i = 0; i < run->nscenarios; i++) {
		switch (run->scenarios[i].verdict) {
		case VERDICT_PASS:
		case VERDICT_WARN: /* not a scenario verdict; a pass with warnings */
			sum.pass++;
			break;
		case VERDICT_FAIL:
			if (run->scenarios[i].waived)
				sum.waived++;
			else
				sum.fail++;
			break;
		case VERDICT_SKIP: sum.skip++; break;
		case VERDICT_ERROR: sum.error++; break;
		case VERDICT_INCONCLUSIVE: sum.inconclusive++; break;
		}
	}
	sum.total = run->nscenarios;
	run->summary = sum;
}

static void strv_free(char **v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void step_result_free(struct step_result *st)
{
	if (!st)
		return;
	free(st->file);
	free(st->sent);
	free(st->command);
	free(st->expect);
	free(st->enhanced_code);
	st->enhanced_code = NULL;
	strv_free(st->lines, st->nlines);
	for (size_t i = 0; i < st->nviolations; i++) {
		free(st->violations[i].rule);
		free(st->violations[i].message);
		free(st->violations[i].ref);
	}
	free(st->violations);
	st->file = st->sent = st->command = st->expect = NULL;
	st->lines = NULL;
	st->nlines = 0;
	st->violations = NULL;
	st->nviolations = 0;
}

void scenario_result_free(struct scenario_result *sr)
{
	if (!sr)
		return;
	free(sr->waiver);
	sr->waiver = NULL;
	free(sr->tls.protocol);
	free(sr->tls.cipher);
	free(sr->tls.subject);
	free(sr->tls.verify_error);
	memset(&sr->tls, 0, sizeof(sr->tls));
	free(sr->id);
	free(sr->file);
	free(sr->title);
	free(sr->ref);
	free(sr->level);
	strv_free(sr->tags, sr->ntags);
	free(sr->reason);
	if (sr->steps) {
		for (size_t i = 0; i < sr->nsteps; i++)
			step_result_free(&sr->steps[i]);
		free(sr->steps);
	}
	free(sr->transcript);
	sr->id = sr->file = sr->title = sr->ref = sr->level = NULL;
	sr->tags = NULL;
	sr->ntags = 0;
	sr->reason = NULL;
	sr->steps = NULL;
	sr->nsteps = 0;
	sr->transcript = NULL;
}

void run_result_free(struct run_result *run)
{
	if (!run)
		return;
	free(run->tls_mode);
	run->tls_mode = NULL;
	free(run->baseline);
	run->baseline = NULL;
	strv_free(run->preconditions, run->npreconditions);
	run->preconditions = NULL;
	run->npreconditions = 0;
	strv_free(run->stale_waivers, run->nstale_waivers);
	run->stale_waivers = NULL;
	run->nstale_waivers = 0;
	free(run->tool_name);
	free(run->tool_version);
	free(run->target);
	free(run->profile);
	free(run->started);
	free(run->greeting);
	strv_free(run->ehlo_keywords, run->nehlo_keywords);
	strv_free(run->ehlo_keywords_tls, run->nehlo_keywords_tls);
	run->ehlo_keywords_tls = NULL;
	run->nehlo_keywords_tls = 0;
	if (run->scenarios) {
		for (size_t i = 0; i < run->nscenarios; i++)
			scenario_result_free(&run->scenarios[i]);
		free(run->scenarios);
	}
	run->tool_name = run->tool_version = run->target = run->profile = NULL;
	run->started = run->greeting = NULL;
	run->ehlo_keywords = NULL;
	run->nehlo_keywords = 0;
	run->scenarios = NULL;
	run->nscenarios = 0;
}
