/*
 * engine.c - runs many sessions on one libevent loop: the capability probe,
 * the -j scheduler, SIGINT/SIGTERM, the descriptor limit, and telling the
 * caller as each scenario ends (engine_options.on_result). The state
 * machine of one connection is session.c's.
 *
 * The scheduler never starts a session from a session's end: the end only
 * activates an event, so scenarios that fail at once cannot recurse. One
 * struct session per -j slot, reused; a scenario keeps only its result.
 */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <unistd.h>

#include "matrix.h"
#include "session_internal.h"

struct engine {
	struct event_base *base;
	const struct engine_options *opts;
	struct scenario *const *scenarios;
	struct scenario_result *results;
	struct session *slots; /* one per -j slot; base NULL: free */
	size_t *slot_index;    /* scenario each busy slot runs */
	size_t nslots;
	size_t n, next, running, done, failed;
	size_t *again; /* scenarios to start again (no descriptor was free) */
	size_t nagain, capagain;
	int fd_starved;         /* a start found no descriptor: wait for an end */
	int fd_retries;         /* retries in a row with nothing running */
	struct event *ev_start; /* start_next() from the loop, never from an end */
	struct event *ev_retry; /* start_next() after FD_RETRY_MS */
	int signal;             /* signal that interrupted the run, or 0 */
	const struct probe *probe;
};

/* A signal that came outside an event loop (loading scenarios, writing
 * reports, between the probe and the run); the loops record theirs too. */
static volatile sig_atomic_t pending_signal;

static void on_signal_flag(int sig)
{
	if (!pending_signal)
		pending_signal = sig;
}

void engine_signals_install(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal_flag;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

int engine_interrupted(void)
{
	return pending_signal;
}

int engine_cap_jobs(int jobs, char *notice, size_t noticelen)
{
	notice[0] = 0;
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return jobs;
	if (rl.rlim_cur < rl.rlim_max) {
		struct rlimit raised = rl;
		raised.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
			rl = raised;
	}
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= (rlim_t)jobs + FD_RESERVE)
		return jobs;
	int cap = rl.rlim_cur > FD_RESERVE ? (int)(rl.rlim_cur - FD_RESERVE) : 1;
	snprintf(notice, noticelen,
	         "-j %d capped to %d: the descriptor limit (RLIMIT_NOFILE) is %llu", jobs, cap,
	         (unsigned long long)rl.rlim_cur);
	return cap;
}

static void progress(struct engine *e, const struct scenario_result *r)
{
	if (e->opts->on_result)
		e->opts->on_result(e->opts->on_result_arg, r, e->done, e->n, e->failed);
}

/* Scenario i goes back to the queue: no descriptor was free to run it. */
static void start_again(struct engine *e, size_t i)
{
	scenario_result_free(&e->results[i]);
	memset(&e->results[i], 0, sizeof(e->results[i]));
	if (e->nagain == e->capagain) {
		e->capagain = e->capagain ? e->capagain * 2 : 16;
		e->again = xrealloc(e->again, e->capagain * sizeof(*e->again));
	}
	e->again[e->nagain++] = i;
	e->fd_starved = 1;
	if (e->running > 0) {
		e->fd_retries = 0;
		return; /* the next end starts it */
	}
	if (++e->fd_retries > FD_RETRY_MAX) {
		/* Nothing runs, so nothing will free a descriptor. */
		e->nagain--;
		scenario_result_init(&e->results[i], e->scenarios[i]);
		e->results[i].verdict = VERDICT_ERROR;
		e->results[i].reason =
		    xasprintf("no file descriptor free (EMFILE/ENFILE) for %d ms "
		              "with no other scenario running",
		              FD_RETRY_MS * FD_RETRY_MAX);
		e->results[i].transcript = xstrdup("");
		e->done++;
		progress(e, &e->results[i]);
		e->fd_starved = 0;
		event_active(e->ev_start, EV_TIMEOUT, 0);
		return;
	}
	struct timeval tv = { .tv_sec = 0, .tv_usec = FD_RETRY_MS * 1000 };
	evtimer_add(e->ev_retry, &tv);
}

static void on_session_done(struct session *s)
{
	struct engine *e = s->owner;
	size_t slot = (size_t)(s - e->slots);
	size_t i = e->slot_index[slot];
	e->running--;
	s->base = NULL; /* the slot is free; reused only from start_next */
	if (s->no_fd && !e->signal) {
		start_again(e, i);
	} else {
		e->done++;
		e->fd_retries = 0;
		if (s->result->verdict == VERDICT_FAIL)
			e->failed++;
		if (e->opts->verbose && s->result->transcript)
			fprintf(stderr, "== %s (%s)\n%s", s->result->id,
			        verdict_name(s->result->verdict), s->result->transcript);
		progress(e, s->result);
		if (!e->signal)
			event_active(e->ev_start, EV_TIMEOUT, 0);
	}
	if (e->running == 0 && ((e->next >= e->n && e->nagain == 0) || e->signal))
		event_base_loopbreak(e->base);
}

/* The first requires keyword the probe did not see, or NULL. */
static const char *missing_requirement(const struct probe *p, const struct scenario *sc)
{
	for (size_t i = 0; i < sc->nrequires; i++)
		if (!p || !probe_has_keyword(p, sc->requires[i]))
	return sc->requires[i];
	return NULL;
}

/* Variables the probe sets (docs/scenario-format.md) and, for a `when:`
 * naming one, why a server leaves it unset. */
static const struct probe_var {
	const char *name;
	const char *unset;
} probe_vars[] = {
	{ "size_max", "the server advertises no SIZE maximum (no `SIZE n` with n > 0 in its EHLO "
	              "reply)" },
};

void probe_set_vars(const struct probe *p, struct vars *v)
{
	for (size_t i = 0; i < p->nkeywords; i++) {
		const char *kw = p->keywords[i];
		if (strncasecmp(kw, "SIZE ", 5) != 0 || vars_get(v, "size_max"))
			continue;
		/* RFC 1870 3: size-param ::= [1*DIGIT]; 0 is "no fixed maximum". */
		size_t n = strspn(kw + 5, "0123456789");
		if (n > 0 && n <= 20 && kw[5 + n] == 0 && strspn(kw + 5, "0") < n)
			vars_set(v, "size_max", kw + 5);
	}
}

static const char *probe_var_unset(const char *name)
{
	for (size_t i = 0; i < sizeof(probe_vars) / sizeof(probe_vars[0]); i++)
		if (strcmp(probe_vars[i].name, name) == 0)
			return probe_vars[i].unset;
	return NULL;
}

char *engine_skip_reason(const struct engine_options *o, const struct probe *p,
                         const struct scenario *sc)
{
	const char *missing = missing_requirement(p, sc);
	if (missing) {
		if (p && p->ehlo_code >= 0)
			return xasprintf("the server does not advertise %s", missing);
		return xasprintf("requires %s, but the capability probe got no EHLO reply",
		                 missing);
	}
	if (sc->when && !vars_get(o->vars, sc->when)) {
		const char *unset = probe_var_unset(sc->when);
		if (unset)
			return xasprintf("%s (header when: %s)", unset, sc->when);
		return xasprintf("runs only when the server is configured so: pass --var %s=1 "
		                 "(header when: %s)",
		                 sc->when, sc->when);
	}
	for (size_t k = 0; k < sc->nsteps; k++)
		if (sc->steps[k].kind == STEP_AUTH && !o->auth_user)
			return xstrdup(
			    "AUTH scenario: no credentials given (--auth-user, and the password "
			    "in SMTPCONFORM_PASSWORD)");
	return NULL;
}

static int has_tag(const struct scenario *sc, const char *tag)
{
	for (size_t i = 0; i < sc->ntags; i++)
		if (strcasecmp(sc->tags[i], tag) == 0)
			return 1;
	return 0;
}

static int is_sending(const struct step *st)
{
	return st->kind == STEP_CMD || st->kind == STEP_RAW || st->kind == STEP_DATA ||
	       st->kind == STEP_AUTH;
}

/* 1 when an S: of the scenario expects code, and not 250, for a C: step
 * that names the variable (sender 1: {sender}, 0: {rcpt}): the scenario
 * tests that very refusal. The S: lines take the sending steps' replies in
 * order, as the session does with a pipelined group. */
static int expects_reply(const struct scenario *sc, int sender, int code)
{
	size_t next = 0; /* the oldest sending step not answered yet */
	for (size_t k = 0; k < sc->nsteps; k++) {
		const struct step *st = &sc->steps[k];
		if (st->kind != STEP_EXPECT)
			continue;
		while (next < k && !is_sending(&sc->steps[next]))
			next++;
		if (next >= k)
			continue; /* nothing pending: the greeting */
		const struct step *c = &sc->steps[next++];
		/* it wants the refusal, not just tolerates it beside a 250 */
		if (!st->expect.any && (sender ? c->uses_sender : c->uses_rcpt) &&
		    expect_code_matches(&st->expect, code) &&
		    !expect_code_matches(&st->expect, 250))
			return 1;
	}
	return 0;
}

/* Why a scenario cannot test anything against this server, known before it
 * runs from what the probe found, or NULL: it sends MAIL FROM:<{sender}>,
 * which the server refused (and does not authenticate first: no A: step,
 * nor expects that very refusal);
 * or it sends mail to {rcpt}, which
 * the server refused (unless it tests the postmaster mailbox itself: tag
 * postmaster, RFC 5321 4.5.1), or it needs a relay refused by a server that
 * relays for this client. */
static char *precondition_reason(const struct engine *e, const struct scenario *sc)
{
	int rcpt = 0, relay = 0, refusal = 0, sender = 0, auth = 0;
	if (!e->probe)
		return NULL;
	for (size_t k = 0; k < sc->nsteps; k++) {
		const struct step *st = &sc->steps[k];
		rcpt |= st->uses_rcpt;
		sender |= st->uses_sender;
		auth |= st->kind == STEP_AUTH;
		relay |= st->uses_relay;
		refusal |= st->kind == STEP_EXPECT && !st->expect.any &&
		           !expect_code_matches(&st->expect, 250) &&
		           (expect_code_matches(&st->expect, 550) ||
		            expect_code_matches(&st->expect, 554) ||
		            expect_code_matches(&st->expect, 450));
	}
	/* A relay scenario names a foreign recipient ({relay_rcpt}, or an
	 * address literal) and expects it refused. */
	relay |= has_tag(sc, "relay") && refusal;
	const char *what = *sc->title ? sc->title : sc->id;
	if (sender && !auth && e->probe->mail_refused && !expects_reply(sc, 1, e->probe->mail_code))
		return xasprintf("precondition: %s to the capability probe; not tested: %s; "
		                 "set --var sender=<an address the server accepts mail from>, or "
		                 "authenticate (the server may want AUTH first)",
		                 e->probe->mail_refused, what);
	if (rcpt && e->probe->rcpt_refused && !has_tag(sc, "postmaster") &&
	    !expects_reply(sc, 0, e->probe->rcpt_code))
		return xasprintf("precondition: %s to the capability probe; not tested: %s; "
		                 "set --var rcpt=<a deliverable mailbox>",
		                 e->probe->rcpt_refused, what);
	if (relay && e->probe->relay_trusted)
		return xasprintf(
		    "precondition: the server accepted the relay recipient {relay_rcpt} "
		    "from this client: it treats this client as trusted (for example "
		    "Postfix mynetworks, or loopback); not tested: %s; run from an "
		    "outside address",
		    what);
	return NULL;
}

/* Starts scenarios while a slot is free. Called from engine_run and from
 * the loop (ev_start, ev_retry), never from a session's end: a session that
 * ends at once returns here, and the loop goes on without recursion. */
static void start_next(struct engine *e)
{
	e->fd_starved = 0;
	while (!e->signal && !e->fd_starved && (e->nagain > 0 || e->next < e->n) &&
	       e->running < e->nslots) {
		size_t i;
		if (e->nagain > 0) {
			i = e->again[--e->nagain];
		} else {
			i = e->next++;
		}
		const struct scenario *sc = e->scenarios[i];
		struct scenario_result *r = &e->results[i];
		scenario_result_init(r, sc);
		enum verdict v = VERDICT_SKIP;
		char *reason = engine_skip_reason(e->opts, e->probe, sc);
		if (!reason) {
			reason = precondition_reason(e, sc);
			v = VERDICT_INCONCLUSIVE;
		}
		if (reason) {
			r->verdict = v;
			r->transcript = xstrdup("");
			r->reason = reason;
			e->done++;
			progress(e, r);
			continue;
		}
		size_t slot = 0;
		while (e->slots[slot].base)
			slot++;
		struct session *s = &e->slots[slot];
		e->slot_index[slot] = i;
		session_clear(s);
		s->base = e->base;
		s->opts = e->opts;
		s->scenario = sc;
		s->result = r;
		s->owner = e;
		s->on_done = on_session_done;
		model_init(&s->model, vars_get(e->opts->vars, "domain"),
		           e->probe && probe_has_keyword(e->probe, "ENHANCEDSTATUSCODES"));
		e->running++;
		session_start(s);
	}
	if (e->running == 0 && e->nagain == 0 && (e->next >= e->n || e->signal))
		event_base_loopbreak(e->base);
}

static void on_start(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	start_next(arg);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	struct engine *e = arg;
	if (!e->signal)
		e->signal = (int)sig;
	if (!pending_signal)
		pending_signal = (int)sig;
	for (size_t k = 0; k < e->nslots; k++)
		if (e->slots[k].base && e->slots[k].state != SESSION_DONE)
			session_abort(&e->slots[k], "run interrupted while this scenario ran");
	event_base_loopbreak(e->base);
}

static void mark_not_run(struct engine *e, size_t i)
{
	struct scenario_result *r = &e->results[i];
	scenario_result_init(r, e->scenarios[i]);
	r->verdict = VERDICT_ERROR;
	r->reason = xstrdup("not run: the run was interrupted");
	r->transcript = xstrdup("");
}

int engine_run(const struct engine_options *o, struct scenario *const *scenarios, size_t n,
               const struct probe *probe, struct scenario_result *results)
{
	struct engine e;
	memset(&e, 0, sizeof(e));
	e.opts = o;
	e.scenarios = scenarios;
	e.results = results;
	e.n = n;
	e.probe = probe;
	e.base = event_base_new();
	if (!e.base)
		BUG("event_base_new failed");
	e.nslots = (size_t)(o->jobs > 0 ? o->jobs : 1);
	e.slots = xcalloc(e.nslots, sizeof(*e.slots));
	e.slot_index = xcalloc(e.nslots, sizeof(*e.slot_index));
	e.ev_start = event_new(e.base, -1, 0, on_start, &e);
	e.ev_retry = evtimer_new(e.base, on_start, &e);
	struct event *sigint = evsignal_new(e.base, SIGINT, on_signal, &e);
	struct event *sigterm = evsignal_new(e.base, SIGTERM, on_signal, &e);
	if (!e.ev_start || !e.ev_retry || !sigint || !sigterm)
		BUG("event_new failed");
	event_add(sigint, NULL);
	event_add(sigterm, NULL);
	e.signal = pending_signal; /* interrupted before the run began */

	start_next(&e);
	if (e.running > 0 || e.nagain > 0 || (e.next < e.n && !e.signal))
		event_base_dispatch(e.base);

	/* Not run: waiting for a descriptor, or never started. */
	for (size_t k = 0; k < e.nagain; k++)
		mark_not_run(&e, e.again[k]);
	for (size_t i = e.next; i < n; i++)
		mark_not_run(&e, i);
	event_free(sigint);
	event_free(sigterm);
	event_free(e.ev_start);
	event_free(e.ev_retry);
	free(e.slots);
	free(e.slot_index);
	free(e.again);
	event_base_free(e.base);
	return e.signal;
}

/*
 * The capability probe: a small SMTP client whose next command is chosen
 * from the last reply (code and parsed lines), run on a session whose step
 * list grows one command and one "S: *" at a time.
 */
enum probe_state {
	PROBE_GREETING, /* waiting for the 220 */
	PROBE_EHLO,
	PROBE_MAIL,  /* MAIL FROM:<{sender}> */
	PROBE_RCPT,  /* RCPT TO:<{rcpt}> */
	PROBE_RELAY, /* RCPT TO:<{relay_rcpt}>: does the server relay for us? */
	PROBE_RSET,
	PROBE_STARTTLS, /* second connection: upgrade, then EHLO again */
	PROBE_EHLO_TLS,
	PROBE_QUIT,
	PROBE_DONE,
};

struct probe_client {
	struct scenario *sc; /* the growing script the session runs */
	enum probe_state state;
	int tls_pass; /* 1: the connection that upgrades with STARTTLS */
	int relay;    /* {relay_rcpt} is set: try it */
	struct probe *out;
};

/* Appends "C: cmd" (NULL: none) and an "S: *" that accepts any reply. */
static void probe_push(struct scenario *sc, const char *cmd)
{
	size_t n = cmd ? 2 : 1;
	sc->steps = xrealloc(sc->steps, (sc->nsteps + n) * sizeof(*sc->steps));
	memset(&sc->steps[sc->nsteps], 0, n * sizeof(*sc->steps));
	for (size_t i = 0; i < n; i++) {
		struct step *st = &sc->steps[sc->nsteps];
		st->file = sc->files[0];
		st->line = (int)sc->nsteps + 1;
		if (cmd && i == 0) {
			st->kind = STEP_CMD;
			st->text = xstrdup(cmd);
			st->text_len = strlen(cmd);
		} else {
			st->kind = STEP_EXPECT;
			st->expect.any = 1;
			st->expect.source = xstrdup("*");
		}
		sc->nsteps++;
	}
}

static struct scenario *probe_scenario(void)
{
	struct scenario *sc = xcalloc(1, sizeof(*sc));
	sc->id = xstrdup("probe");
	sc->path = xstrdup("(probe)");
	sc->nfiles = 1;
	sc->files = xcalloc(1, sizeof(char *));
	sc->files[0] = xstrdup("(probe)");
	probe_push(sc, NULL); /* the greeting */
	return sc;
}

/* The keyword lines of a 250 EHLO reply (the lines after the first), from
 * the parsed lines, escaped for the reports. */
static char **reply_keywords(const struct reply *r, size_t *n_out)
{
	*n_out = 0;
	if (r->code != 250 || r->nkept < 2)
		return NULL;
	char **kws = xcalloc(r->nkept, sizeof(char *));
	for (size_t i = 1; i < r->nkept; i++) {
		kws[(*n_out)++] = text_escape_dup(r->kept[i].text, r->kept[i].text_len);
	}
	return kws;
}

static void strv_push(char ***v, size_t *n, char *s)
{
	*v = xrealloc(*v, (*n + 1) * sizeof(char *));
	(*v)[(*n)++] = s;
}

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* The transition function: the reply to the state's command decides the
 * next state and its command. */
static void probe_on_reply(struct session *s, const struct reply *r)
{
	struct probe_client *pc = s->owner;
	struct probe *out = pc->out;
	int ok = r->code >= 200 && r->code < 300;
	enum probe_state next = PROBE_QUIT;
	const char *cmd = "QUIT";

	switch (pc->state) {
	case PROBE_GREETING:
		if (!pc->tls_pass)
			out->greeting_code = r->code;
		if (r->code == 220) {
			next = PROBE_EHLO;
			cmd = "EHLO {client}";
		}
		break;
	case PROBE_EHLO:
		if (pc->tls_pass) {
			if (r->code == 250) {
				next = PROBE_STARTTLS;
				cmd = "STARTTLS";
			}
			break;
		}
		out->ehlo_code = r->code;
		out->keywords = reply_keywords(r, &out->nkeywords);
		if (r->code == 250) {
			next = PROBE_MAIL;
			cmd = "MAIL FROM:<{sender}>";
		}
		break;
	case PROBE_MAIL:
		out->mail_code = r->code;
		next = ok ? PROBE_RCPT : PROBE_RSET;
		cmd = ok ? "RCPT TO:<{rcpt}>" : "RSET";
		break;
	case PROBE_RCPT:
		out->rcpt_code = r->code;
		next = pc->relay ? PROBE_RELAY : PROBE_RSET;
		cmd = pc->relay ? "RCPT TO:<{relay_rcpt}>" : "RSET";
		break;
	case PROBE_RELAY:
		out->relay_code = r->code;
		next = PROBE_RSET;
		cmd = "RSET";
		break;
	case PROBE_STARTTLS:
		if (r->code == 220) {
			/* the session upgrades on this 220 before it sends the EHLO */
			next = PROBE_EHLO_TLS;
			cmd = "EHLO {client}";
		}
		break;
	case PROBE_EHLO_TLS:
		strv_free(out->keywords_tls, out->nkeywords_tls);
		out->keywords_tls = reply_keywords(r, &out->nkeywords_tls);
		out->tls_probed = r->code == 250;
		break;
	case PROBE_RSET: break;
	case PROBE_QUIT:
	case PROBE_DONE:
		next = PROBE_DONE;
		cmd = NULL;
		break;
	}
	pc->state = next;
	if (cmd)
		probe_push(pc->sc, cmd);
}

static void on_probe_done(struct session *s)
{
	event_base_loopbreak(s->base);
}

/* SIGINT/SIGTERM during the probe: end it; the run then writes its reports
 * with every scenario not run. */
static void on_probe_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	struct session *s = arg;
	if (!pending_signal)
		pending_signal = (int)sig;
	if (s->state != SESSION_DONE)
		session_abort(s, "run interrupted during the capability probe");
	event_base_loopbreak(s->base);
}

/* The greeting's deadline passed without a whole greeting (not a close, a
 * reset or a failed TLS handshake: those the scenarios judge). The caller
 * also checks that no byte of it is waiting (a greeting dripping in, or
 * ending its lines with CR alone, is one the scenarios judge too). */
static int greeting_timed_out(const struct step_result *st)
{
	if (st->has_reply)
		return 0;
	for (size_t i = 0; i < st->nviolations; i++)
		if (strcmp(st->violations[i].rule, rule_get(RULE_TIMEOUT)->id) == 0)
			return 1;
	return 0;
}

/* Runs one probe connection; fills r (caller frees). Returns 1 if reached,
 * else 0 with *error_out (caller frees) saying why. */
static int probe_run(const struct engine_options *o, int tls_pass, struct probe *out,
                     struct scenario_result *r, char **error_out)
{
	struct probe_client pc = {
		.sc = probe_scenario(),
		.state = PROBE_GREETING,
		.tls_pass = tls_pass,
		.relay = vars_get(o->vars, "relay_rcpt") != NULL,
		.out = out,
	};
	struct engine_options po = *o;
	po.on_result = NULL;
	po.verbose = o->verbose >= 2 ? o->verbose : 0;
	po.strict = 0;
	po.timeout_s = o->probe_timeout_s > 0 ? o->probe_timeout_s : PROBE_TIMEOUT_DEFAULT_S;
	struct event_base *base = event_base_new();
	if (!base)
		BUG("event_base_new failed");
	scenario_result_init(r, pc.sc);
	struct session s;
	memset(&s, 0, sizeof(s));
	s.base = base;
	s.opts = &po;
	s.scenario = pc.sc;
	s.result = r;
	s.keep_going = 1;
	s.owner = &pc;
	s.on_done = on_probe_done;
	s.on_reply = probe_on_reply;
	struct event *sigint = evsignal_new(base, SIGINT, on_probe_signal, &s);
	struct event *sigterm = evsignal_new(base, SIGTERM, on_probe_signal, &s);
	if (!sigint || !sigterm)
		BUG("evsignal_new failed");
	event_add(sigint, NULL);
	event_add(sigterm, NULL);
	if (pending_signal)
		s.state = SESSION_DONE; /* interrupted before: do not connect */
	else
		session_start(&s);
	if (s.state != SESSION_DONE)
		event_base_dispatch(base);
	int reached = !s.unreachable && !s.no_fd;
	if (!reached && error_out)
		*error_out = xstrdup(r->reason ? r->reason : "cannot connect");
	if (reached && !pending_signal && r->verdict == VERDICT_ERROR && r->nsteps == 0 &&
	    error_out) {
		/* connect timed out: nothing answers there */
		*error_out = xasprintf("cannot connect to %s: %s within %d s", o->target->display,
		                       r->reason ? r->reason : "no connection", po.timeout_s);
		reached = 0;
	} else if (reached && !pending_signal && r->nsteps >= 1 &&
	           greeting_timed_out(&r->steps[0]) && io_datalen(&s.io) == 0 && error_out) {
		/* RFC 5321 3.1: a server that accepts and says nothing serves
		 * nobody; every scenario would wait for it in vain. */
		*error_out =
		    xasprintf("no greeting from %s within %d s", o->target->display, po.timeout_s);
		reached = 0;
	}
	event_free(sigint);
	event_free(sigterm);
	scenario_free(pc.sc);
	event_base_free(base);
	return reached;
}

/* A refusal of the probe's envelope command cmd: a precondition line with
 * what follows (allowed: the matrix lists the code for the command). A 5xx holds for every scenario: returns "CMD refused
 * (REPLY)" for the scenarios' reasons (caller frees). A 4xx may pass
 * (greylisting): the scenarios run, and a setup step that gets it is
 * inconclusive then; returns NULL, as for an acceptance. */
static char *envelope_refusal(struct probe *out, int code, const char *cmd, const char *reply,
                              const char *consequence, int allowed)
{
	if (code < 400)
		return NULL;
	if (!allowed) {
		/* Not a refusal the RFCs list for the command: a finding the
		 * scenarios make, not a precondition that spares them. */
		strv_push(&out->preconditions, &out->npreconditions,
		          xasprintf("%s got %d (%s), not a reply the RFCs allow for it: the "
		                    "scenarios run and judge it",
		                    cmd, code, reply ? reply : ""));
		return NULL;
	}
	char *refused =
	    xasprintf("%s refused%s (%s)", cmd, code < 500 ? " for now" : "", reply ? reply : "");
	strv_push(&out->preconditions, &out->npreconditions,
	          xasprintf("%s: %s", refused,
	                    code < 500 ? "greylisting or a rate limit? scenarios whose setup "
	                                 "gets it are inconclusive; run again later"
	                               : consequence));
	if (code < 500) {
		free(refused);
		return NULL;
	}
	return refused;
}

/* The probe's findings about the envelope, as report lines with hints. */
static void probe_preconditions(const struct engine_options *o, struct probe *out,
                                const struct scenario_result *r)
{
	/* The reply of a command, escaped, from the probe's own step results. */
	const char *mail_reply = NULL, *rcpt_reply = NULL, *relay_reply = NULL;
	for (size_t i = 0; i < r->nsteps; i++) {
		const struct step_result *st = &r->steps[i];
		const char *line = st->has_reply && st->nlines ? st->lines[0] : "";
		if (command_is(st->command, CMD_MAIL))
			mail_reply = line;
		else if (command_is(st->command, CMD_RCPT) && !rcpt_reply)
			rcpt_reply = line;
		else if (command_is(st->command, CMD_RCPT))
			relay_reply = line;
	}
	char *sender = vars_value(o->vars, "sender");
	char *rcpt = vars_value(o->vars, "rcpt");
	char *relay = vars_value(o->vars, "relay_rcpt");
	struct buf b = { 0 };
	char *mail = xasprintf("MAIL FROM:<%s>", sender ? sender : "");
	char *to = xasprintf("RCPT TO:<%s>", rcpt ? rcpt : "");
	out->mail_refused =
	    envelope_refusal(out, out->mail_code, mail, mail_reply,
	                     "the scenarios that use {sender} without "
	                     "authenticating are inconclusive; set --var "
	                     "sender=<an address the server accepts mail from>, "
	                     "or the server wants authentication first "
	                     "(--auth-user)",
	                     matrix_lookup(o->profile, "MAIL", out->mail_code) != NULL);
	out->rcpt_refused =
	    envelope_refusal(out, out->rcpt_code, to, rcpt_reply,
	                     "the scenarios that use {rcpt} are inconclusive; "
	                     "set --var rcpt=<a deliverable mailbox>",
	                     matrix_lookup(o->profile, "RCPT", out->rcpt_code) != NULL);
	free(mail);
	free(to);
	if (out->relay_code >= 200 && out->relay_code < 300) {
		out->relay_trusted = 1;
		buf_printf(&b,
		           "RCPT TO:<%s> accepted (%s): the server treats this client as "
		           "trusted (for example Postfix mynetworks, or loopback), so the relay "
		           "scenarios are inconclusive; run from an outside address",
		           relay ? relay : "", relay_reply ? relay_reply : "");
		strv_push(&out->preconditions, &out->npreconditions, buf_steal(&b));
	}
	free(sender);
	free(rcpt);
	free(relay);
}

void engine_probe(const struct engine_options *o, struct probe *out)
{
	memset(out, 0, sizeof(*out));
	out->greeting_code = out->ehlo_code = -1;
	out->mail_code = out->rcpt_code = out->relay_code = -1;
	struct scenario_result r;
	out->reached = probe_run(o, 0, out, &r, &out->error);
	if (r.nsteps >= 1 && r.steps[0].has_reply) {
		struct buf g = { 0 };
		for (size_t i = 0; i < r.steps[0].nlines; i++)
			buf_printf(&g, "%s%s", i ? "\n" : "", r.steps[0].lines[i]);
		out->greeting = buf_steal(&g);
	}
	if (out->reached)
		probe_preconditions(o, out, &r);
	scenario_result_free(&r);
	/* RFC 3207 4.2: what the server offers after TLS is recorded apart. */
	if (out->reached && !pending_signal && o->tls_ready && !o->tls_implicit &&
	    probe_has_keyword(out, "STARTTLS")) {
		probe_run(o, 1, out, &r, NULL);
		scenario_result_free(&r);
	}
}

/* 1 when word (case-insensitive) is one of the space-separated words of list. */
static int has_word(const char *list, const char *word)
{
	size_t n = strlen(word);
	for (const char *w = list; w && *w;) {
		while (*w == ' ')
			w++;
		size_t len = strcspn(w, " ");
		if (len == n && strncasecmp(w, word, n) == 0)
			return 1;
		w += len;
	}
	return 0;
}

int probe_has_keyword(const struct probe *p, const char *keyword)
{
	/* "AUTH=LOGIN": the AUTH line lists LOGIN among its parameters. */
	const char *eq = strchr(keyword, '=');
	size_t n = eq ? (size_t)(eq - keyword) : strlen(keyword);
	for (size_t i = 0; i < p->nkeywords; i++) {
		const char *kw = p->keywords[i];
		if (strncasecmp(kw, keyword, n) != 0 ||
		    (kw[n] != 0 && kw[n] != ' ' && kw[n] != '='))
			continue;
		if (!eq || (kw[n] && has_word(kw + n + 1, eq + 1)))
			return 1;
	}
	return 0;
}

void probe_free(struct probe *p)
{
	free(p->error);
	free(p->mail_refused);
	free(p->rcpt_refused);
	strv_free(p->preconditions, p->npreconditions);
	free(p->greeting);
	for (size_t i = 0; i < p->nkeywords; i++)
		free(p->keywords[i]);
	free(p->keywords);
	for (size_t i = 0; i < p->nkeywords_tls; i++)
		free(p->keywords_tls[i]);
	free(p->keywords_tls);
	memset(p, 0, sizeof(*p));
}
