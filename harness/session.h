/*
 * session.h - one scenario on one connection, and the engine that runs many
 * of them at once on one event loop (libevent).
 *
 * Owns: the session state machine (connect, send pipelined groups, read
 * replies under a deadline, wait for close), the capability probe, the
 * scheduler (-j), signals and progress. Moving bytes, TLS, deadlines and
 * event interest are the I/O layer's (io.h); judging a reply is check.c's;
 * rendering results is report.c's.
 */
#ifndef SMTPCONFORM_SESSION_H
#define SMTPCONFORM_SESSION_H

#include <stddef.h>

#include "conn.h"
#include "result.h"
#include "scenario.h"
#include "vars.h"

struct engine_options {
	const struct target *target;
	const char *profile; /* matrix profile */
	const struct vars *vars;
	int timeout_s;          /* --timeout; 0 = RFC 5321 4.5.3.2 defaults */
	int probe_timeout_s;    /* --probe-timeout: the probe's deadline for the
	                            connection and each reply (the greeting first) */
	int scenario_timeout_s; /* --scenario-timeout: the whole scenario's budget in
	                            seconds, whatever the server sends; 0: none */
	int strict;             /* warnings fail */
	int settle_ms;          /* --settle-ms: wait after an end of data or a bare-CR/LF
	                            line for replies a lax server adds; 0: no wait */
	int jobs;               /* scenarios at once, >= 1 */
	int verbose;            /* 1: transcripts on stderr; 2: state traces too */
	/* Called as each scenario ends (skipped ones too), in the order they
	 * end: done of total have, failed of them failed. NULL: nothing. The
	 * streamed text report and the progress line (report_live.h). */
	void (*on_result)(void *arg, const struct scenario_result *r, size_t done, size_t total,
	                  size_t failed);
	void *on_result_arg;
	int tls_implicit;          /* 1: TLS from the first byte (RFC 8314); tls_setup() done */
	int tls_ready;             /* 1: tls_setup() done, STARTTLS may upgrade */
	const char *auth_user;     /* --auth-user, NULL: AUTH scenarios are skipped */
	const char *auth_password; /* never recorded anywhere (redact_register'd) */
	/* load: a session whose last reply is QUIT's 221 closes with a reset, as
	 * smtp-source does: no TIME_WAIT is left here, whose ports a long run at
	 * hundreds of sessions a second would otherwise run out of. */
	int reset_after_quit;
	/* load: a step failed only by RFC rules (the reply the script expected
	 * came) does not end the session: the finding is counted and the load
	 * goes on. A missed expectation still ends it (the script was written
	 * for the reply that did not come). */
	int go_on_after_findings;
};

/* What the capability probe learnt before the run: the greeting, the EHLO
 * keywords, and whether the envelope the scenarios use holds. */
struct probe {
	int reached;          /* 1 when a connection was made */
	char *error;          /* why the run cannot go on (unreachable, no
	                         greeting), or NULL */
	char *greeting;       /* escaped greeting lines joined by "\n", or NULL */
	int greeting_code;    /* code of the greeting, -1 if none */
	int ehlo_code;        /* code of the EHLO reply, -1 if none */
	int mail_code;        /* MAIL FROM:<{sender}>, -1 if not tried */
	int rcpt_code;        /* RCPT TO:<{rcpt}>, -1 if not tried */
	int relay_code;       /* RCPT TO:<{relay_rcpt}>, -1 if not tried */
	char *mail_refused;   /* {sender} refused: "MAIL FROM:<x> refused (530 ...)", or NULL */
	char *rcpt_refused;   /* {rcpt} refused: "RCPT TO:<x> refused (550 ...)", or NULL */
	int relay_trusted;    /* {relay_rcpt} accepted: the server relays for us */
	char **preconditions; /* one line each, with its hint, for the reports */
	size_t npreconditions;
	char **keywords; /* EHLO keyword lines ("SIZE 10240000"), upper-case verb */
	size_t nkeywords;
	int tls_probed;      /* 1: STARTTLS was offered, a second probe upgraded */
	char **keywords_tls; /* EHLO keyword lines after STARTTLS (RFC 3207 4.2) */
	size_t nkeywords_tls;
};

/* Catches SIGINT/SIGTERM for the whole run: outside the event loops they
 * only set a flag (a report being written is finished, never left as a
 * temporary file); the loops end their sessions. engine_interrupted(): the
 * signal caught so far, or 0. engine_probe() and engine_run() start nothing
 * once a signal was caught. */
void engine_signals_install(void);
int engine_interrupted(void);

/* Raises the soft RLIMIT_NOFILE to the hard limit; returns jobs, or fewer
 * when even that leaves too few descriptors, with a one-line notice. */
int engine_cap_jobs(int jobs, char *notice, size_t noticelen);

/* Connects once (deadline o->probe_timeout_s), reads the greeting, sends
 * EHLO {client}, then MAIL FROM:<{sender}>, RCPT TO:<{rcpt}>, RCPT
 * TO:<{relay_rcpt}>, RSET and QUIT, each chosen from the reply before; when
 * STARTTLS is offered, connects again to record the EHLO keywords after TLS.
 * out->error: the target cannot be reached or never greeted. */
void engine_probe(const struct engine_options *o, struct probe *out);
/* Why sc cannot run against the server p probed (as run skips it), or
 * NULL: a requires: keyword p did not see, a when: variable o does not set,
 * or an A: step without credentials. The reason is allocated. */
char *engine_skip_reason(const struct engine_options *o, const struct probe *p,
                         const struct scenario *sc);
void probe_free(struct probe *p);
/* Sets the variables a probe gives (size_max: the n of the EHLO's `SIZE n`,
 * n > 0) unless v already has them (--var). */
void probe_set_vars(const struct probe *p, struct vars *v);
/* 1 when keyword (case-insensitive) is the first word of an EHLO line. */
int probe_has_keyword(const struct probe *p, const char *keyword);

/*
 * Runs every scenario (skipping those whose requires the probe did not see)
 * and fills results[i] for scenarios[i]. Returns 0, or the signal number that
 * interrupted the run (results of scenarios not run say so).
 */
int engine_run(const struct engine_options *o, struct scenario *const *scenarios, size_t n,
               const struct probe *probe, struct scenario_result *results);

#endif
