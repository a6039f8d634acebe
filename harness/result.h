/*
 * result.h - the result model every report is rendered from.
 *
 * Owns: verdicts, violations, step/scenario/run results and their _free().
 * The session engine fills it; reporters only read it. All strings are
 * valid UTF-8 without control characters (wire bytes go through text_escape).
 */
#ifndef SMTPCONFORM_RESULT_H
#define SMTPCONFORM_RESULT_H

#include <stddef.h>
#include <stdint.h>

#include "rules.h"

enum verdict {
	VERDICT_PASS = 0,
	VERDICT_WARN, /* steps only: a warn-severity violation, no error */
	VERDICT_FAIL,
	VERDICT_SKIP,         /* scenarios only: a requirement was not met */
	VERDICT_ERROR,        /* scenarios only: the harness could not run it */
	VERDICT_INCONCLUSIVE, /* a setup step did not get what it needed (or a 421
	                         came): nothing was tested; on a scenario and on
	                         the setup step that decided it (TTCN-3 inconc) */
};
const char *verdict_name(enum verdict v); /* "pass", "warn", ... */

const char *severity_name(enum severity s); /* "error", "warn", "note" */

struct violation {
	char *rule;      /* stable rule id: "matrix.not-allowed" (rules.c, docs/rules.md) */
	enum rule_id id; /* its row in the rule table; RULE_NONE for an id this
	                    version does not know (a report read back) */
	enum severity severity;
	char *message; /* one line for people; names the allowed set where relevant */
	char *ref;     /* "RFC 5321 4.3.2" */
};

struct step_result {
	int line;             /* line of the S: in the scenario file */
	char *file;           /* file of that line (differs for @include) */
	char *sent;           /* escaped bytes sent for the command answered, "" for the greeting */
	char *command;        /* "NOOP", "CONNECT", "DATA-END", ... */
	char *expect;         /* the expectation as written: "250|251", "close" */
	int has_reply;        /* 0: no reply (timeout, closed, or close expected) */
	int code;             /* code of the first line, -1 if unreadable */
	char *enhanced_code;  /* "5.1.1": the RFC 3463 status code (class.subject.detail)
	                        that starts the first line's text, NULL for none;
	                        recorded whether or not ENHANCEDSTATUSCODES was listed */
	unsigned reply_flags; /* enum reply_flag bits (reply.h): the syntax findings of
	                        the reply, or of what arrived of one given up on
	                        (names: step_flag_name) */
	char **lines;         /* escaped reply lines without the line end */
	size_t nlines;        /* lines kept */
	size_t lines_total;   /* lines received, may exceed nlines */
	enum verdict verdict; /* pass, warn, fail, or inconclusive (a setup step) */
	int setup;            /* the step is setup: from an @include, or before @test */
	struct violation *violations;
	size_t nviolations;
};

struct scenario_result {
	char *id, *file, *title, *ref, *level;
	char **tags;
	size_t ntags;
	enum verdict verdict; /* pass, fail, skip, error or inconclusive */
	char *reason;         /* why skipped, errored or inconclusive; NULL otherwise */
	int64_t duration_ms;
	struct step_result *steps;
	size_t nsteps;
	char *transcript; /* "C: ...\nS: ...\n" escaped wire log, may be "" */
	int waived;       /* a fail that a --baseline waiver covers: not counted as a fail */
	char *waiver;     /* the waiver's reason, when waived */
	struct {
		char *protocol; /* "TLSv1.3" as OpenSSL names it; NULL: no TLS */
		char *cipher;
		char *subject;      /* peer certificate subject, or NULL */
		int verified;       /* 1: chain and name verified */
		char *verify_error; /* why the certificate did not verify (OpenSSL's
		                     verify error string), or NULL: it did, or
		                     verification is off. Set also when the handshake
		                     was abandoned for it (--tls-verify require) */
	} tls;
};

struct run_summary {
	size_t total, pass, fail, skip, error;
	size_t inconclusive; /* nothing tested: a setup step or a precondition */
	size_t waived;       /* fails covered by a --baseline waiver (not in fail) */
};

struct run_result {
	char *tool_name; /* "smtpconform" */
	char *tool_version;
	char *target; /* as given with --target */
	char *profile;
	char *started; /* ISO 8601 UTC, "2026-11-23T04:32:22Z" */
	int64_t duration_ms;
	int strict;
	int interrupted;      /* 1 when SIGINT/SIGTERM cut the run short */
	char *tls_mode;       /* "none", "starttls" (a scenario step) or "implicit" */
	int tls_verify;       /* enum tls_verify (tls.h): 0 off (the reports say so),
	                         1 on (an untrusted certificate is a header note,
	                         tls.certificate-untrusted), 2 require (a failure) */
	char *greeting;       /* capability probe: escaped greeting, or NULL */
	char **ehlo_keywords; /* capability probe: EHLO keyword lines, or NULL */
	size_t nehlo_keywords;
	int tls_probed;           /* the probe upgraded with STARTTLS */
	char **ehlo_keywords_tls; /* EHLO keyword lines after STARTTLS, or NULL */
	size_t nehlo_keywords_tls;
	char **preconditions; /* what the probe found missing, one line each with
	                         its hint ("RCPT TO:<{rcpt}> refused ..."), or NULL */
	size_t npreconditions;
	char *baseline;       /* --baseline FILE, or NULL */
	char **stale_waivers; /* waivers that matched nothing, described */
	size_t nstale_waivers;
	struct run_summary summary;
	struct scenario_result *scenarios;
	size_t nscenarios;
};

struct scenario;
/* Fills r's header (id, file, title, ref, level, tags) from the scenario;
 * the rest of r is zeroed. Every scenario result starts here. */
void scenario_result_init(struct scenario_result *r, const struct scenario *sc);

/* Appends a violation of rule to a step: its id and severity from the rule
 * table; ref NULL cites the rule's ref (a matrix row names its own). */
void step_add_violation(struct step_result *st, enum rule_id rule, const char *ref, const char *fmt,
                        ...) __attribute__((format(printf, 4, 5)));
/* Appends a violation as recorded (a report read back: the id may be one
 * this version's table does not know). Copies the strings. */
void step_add_finding(struct step_result *st, const char *rule, enum severity sev, const char *ref,
                      const char *message);
/*
 * The scenario's verdict once its steps ran: fail when a step failed, but
 * inconclusive when the first failed step is a setup step whose reply was
 * not the one expected, or got a 421 the step did not expect (RFC 5321 3.8:
 * the server may close any session), or a 530 to a command RFC 4954 6 lets
 * a server refuse so until the client authenticates (the matrix of profile
 * allows 530 for it): that step's verdict becomes
 * inconclusive too, and *reason_out (caller frees) names the step, the
 * reply and what was not tested. rcpt and sender are the {rcpt} and
 * {sender} values, for the hint. Returns verdict unchanged otherwise.
 */
enum verdict scenario_judge(struct scenario_result *r, enum verdict verdict, const char *profile,
                            const char *rcpt, const char *sender, char **reason_out);
/* The name of one enum reply_flag bit in reports: its rule id without
 * "syntax." ("bare-lf"); NULL for a bit no rule maps. step_flag_from_name():
 * the bit of a name, 0 for a name this version does not know. */
const char *step_flag_name(unsigned flag);
unsigned step_flag_from_name(const char *name);
/*
 * A session-wide habit (rule_habit_tag(), e.g. no enhanced status codes) is
 * judged in every scenario but fails only those that test it: in a
 * scenario sr that does not (not that tag, and a ref: that does not
 * cite the rule's RFC), each of st's violations of it becomes a note, and
 * st's verdict is computed again. step_tests_habit(): 1 when sr tests r.
 */
int step_tests_habit(const struct rule *r, const struct scenario_result *sr);
void step_note_habits(struct step_result *st, const struct scenario_result *sr, int strict);
/* 1 when st has a violation that is not a note. */
int step_has_warning(const struct step_result *st);
/* Step verdict from its violations: fail if any error (or any warn when
 * strict); notes change nothing. */
enum verdict step_verdict(const struct step_result *st, int strict);
void run_summarize(struct run_result *run);
void step_result_free(struct step_result *st);
void scenario_result_free(struct scenario_result *sr);
void run_result_free(struct run_result *run);

#endif
