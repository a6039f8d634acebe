/*
 * engine.c - runs many sessions on one libevent loop: the capability probe,
 * the -j scheduler, SIGINT/SIGTERM, and the progress line on a terminal.
 * The state machine of one connection is session.c's.
 */
#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "session_internal.h"

struct engine {
	struct event_base *base;
	const struct engine_options *opts;
	struct scenario *const *scenarios;
	struct scenario_result *results;
	struct session *sessions;   /* one per scenario, allocated lazily */
	size_t n, next, running, done, failed;
	int signal;                 /* signal that interrupted the run, or 0 */
	const struct probe *probe;
};

static void fill_result_header(struct scenario_result *r, const struct scenario *sc)
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

static void progress(struct engine *e, const char *id)
{
	if (!e->opts->progress)
		return;
	fprintf(stderr, "\r\033[K[%zu/%zu] %zu failed  %s", e->done, e->n, e->failed, id);
	fflush(stderr);
}

static void start_next(struct engine *e);

static void on_session_done(struct session *s)
{
	struct engine *e = s->owner;
	e->running--;
	e->done++;
	if (s->result->verdict == VERDICT_FAIL)
		e->failed++;
	if (e->opts->verbose && s->result->transcript)
		fprintf(stderr, "== %s (%s)\n%s", s->result->id, verdict_name(s->result->verdict),
		        s->result->transcript);
	progress(e, s->result->id);
	if (!e->signal)
		start_next(e);
	if (e->running == 0 && (e->next >= e->n || e->signal))
		event_base_loopbreak(e->base);
}

/* The first requires keyword the probe did not see, or NULL. */
static const char *missing_requirement(const struct engine *e, const struct scenario *sc)
{
	for (size_t i = 0; i < sc->nrequires; i++)
		if (!e->probe || !probe_has_keyword(e->probe, sc->requires[i]))
			return sc->requires[i];
	return NULL;
}

/* Why a scenario cannot run against this server, or NULL: a requires:
 * keyword the probe did not see, a when: variable not set, or an A: step
 * without credentials. */
static char *skip_reason(const struct engine *e, const struct scenario *sc)
{
	const char *missing = missing_requirement(e, sc);
	if (missing) {
		if (e->probe && e->probe->ehlo_code >= 0)
			return xasprintf("the server does not advertise %s", missing);
		return xasprintf("requires %s, but the capability probe got no EHLO reply", missing);
	}
	if (sc->when && !vars_get(e->opts->vars, sc->when))
		return xasprintf("runs only when the server is configured so: pass --var %s=1 "
		                 "(header when: %s)",
		                 sc->when, sc->when);
	for (size_t k = 0; k < sc->nsteps; k++)
		if (sc->steps[k].kind == STEP_AUTH && !e->opts->auth_user)
			return xstrdup("AUTH scenario: no credentials given (--auth-user, and the password "
			               "in SMTPCONFORM_PASSWORD)");
	return NULL;
}

static void start_next(struct engine *e)
{
	while (!e->signal && e->next < e->n && e->running < (size_t)e->opts->jobs) {
		size_t i = e->next++;
		const struct scenario *sc = e->scenarios[i];
		struct scenario_result *r = &e->results[i];
		fill_result_header(r, sc);
		char *reason = skip_reason(e, sc);
		if (reason) {
			r->verdict = VERDICT_SKIP;
			r->transcript = xstrdup("");
			r->reason = reason;
			e->done++;
			progress(e, sc->id);
			continue;
		}
		struct session *s = &e->sessions[i];
		memset(s, 0, sizeof(*s));
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
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	struct engine *e = arg;
	if (!e->signal)
		e->signal = (int)sig;
	for (size_t i = 0; i < e->next; i++)
		if (e->sessions[i].base && e->sessions[i].state != SESSION_DONE)
			session_abort(&e->sessions[i], "run interrupted while this scenario ran");
	event_base_loopbreak(e->base);
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
	e.sessions = xcalloc(n ? n : 1, sizeof(*e.sessions));
	struct event *sigint = evsignal_new(e.base, SIGINT, on_signal, &e);
	struct event *sigterm = evsignal_new(e.base, SIGTERM, on_signal, &e);
	event_add(sigint, NULL);
	event_add(sigterm, NULL);

	start_next(&e);
	if (e.running > 0)
		event_base_dispatch(e.base);

	for (size_t i = e.next; i < n; i++) {
		fill_result_header(&results[i], scenarios[i]);
		results[i].verdict = VERDICT_ERROR;
		results[i].reason = xstrdup("not run: the run was interrupted");
		results[i].transcript = xstrdup("");
	}
	if (o->progress)
		fprintf(stderr, "\r\033[K");
	event_free(sigint);
	event_free(sigterm);
	free(e.sessions);
	event_base_free(e.base);
	return e.signal;
}

/* A probe scenario: cmds[i] NULL is an S: that accepts anything. */
static struct scenario *probe_scenario(const char *const *cmds, size_t n)
{
	struct scenario *sc = xcalloc(1, sizeof(*sc));
	sc->id = xstrdup("probe");
	sc->path = xstrdup("(probe)");
	sc->nfiles = 1;
	sc->files = xcalloc(1, sizeof(char *));
	sc->files[0] = xstrdup("(probe)");
	sc->nsteps = n;
	sc->steps = xcalloc(sc->nsteps, sizeof(*sc->steps));
	for (size_t i = 0; i < sc->nsteps; i++) {
		struct step *st = &sc->steps[i];
		st->file = sc->files[0];
		st->line = (int)i + 1;
		if (cmds[i]) {
			st->kind = STEP_CMD;
			st->text = xstrdup(cmds[i]);
			st->text_len = strlen(cmds[i]);
		} else {
			st->kind = STEP_EXPECT;
			st->expect.any = 1;
			st->expect.source = xstrdup("*");
		}
	}
	return sc;
}

/* Runs one probe scenario; fills r (caller frees). Returns 1 if reached. */
static int probe_run(const struct engine_options *o, const char *const *cmds, size_t n,
                     struct scenario_result *r, char **error_out)
{
	struct scenario *sc = probe_scenario(cmds, n);
	struct engine_options po = *o;
	po.progress = 0;
	po.verbose = o->verbose >= 2 ? o->verbose : 0;
	po.strict = 0;
	struct engine e;
	memset(&e, 0, sizeof(e));
	e.opts = &po;
	e.base = event_base_new();
	if (!e.base)
		BUG("event_base_new failed");
	fill_result_header(r, sc);
	struct session s;
	memset(&s, 0, sizeof(s));
	s.base = e.base;
	s.opts = &po;
	s.scenario = sc;
	s.result = r;
	s.keep_going = 1;
	s.owner = &e;
	e.n = 1;
	e.next = 1;
	e.running = 1;
	e.sessions = &s;
	s.on_done = on_session_done;
	session_start(&s);
	if (s.state != SESSION_DONE)
		event_base_dispatch(e.base);
	if (s.unreachable && error_out)
		*error_out = xstrdup(r->reason ? r->reason : "cannot connect");
	scenario_free(sc);
	event_base_free(e.base);
	return !s.unreachable;
}

/* The keyword lines of a 250 EHLO reply (the lines after the first). */
static char **ehlo_keywords(const struct step_result *st, size_t *n_out)
{
	*n_out = 0;
	if (st->code != 250 || st->nlines < 2)
		return NULL;
	char **kws = xcalloc(st->nlines, sizeof(char *));
	for (size_t i = 1; i < st->nlines; i++) {
		const char *kw = st->lines[i];
		kw += strlen(kw) >= 4 ? 4 : strlen(kw);
		kws[(*n_out)++] = xstrdup(kw);
	}
	return kws;
}

void engine_probe(const struct engine_options *o, struct probe *out)
{
	static const char *const plain[] = {NULL, "EHLO {client}", NULL, "QUIT", NULL};
	static const char *const tls[] = {NULL, "EHLO {client}", NULL, "STARTTLS", NULL,
	                                  "EHLO {client}", NULL, "QUIT", NULL};
	memset(out, 0, sizeof(*out));
	out->ehlo_code = -1;
	struct scenario_result r;
	out->reached = probe_run(o, plain, sizeof(plain) / sizeof(plain[0]), &r, &out->error);
	if (r.nsteps >= 1 && r.steps[0].has_reply) {
		struct buf g = {0};
		for (size_t i = 0; i < r.steps[0].nlines; i++)
			buf_printf(&g, "%s%s", i ? "\n" : "", r.steps[0].lines[i]);
		out->greeting = buf_steal(&g);
	}
	if (r.nsteps >= 2 && r.steps[1].has_reply) {
		out->ehlo_code = r.steps[1].code;
		out->keywords = ehlo_keywords(&r.steps[1], &out->nkeywords);
	}
	scenario_result_free(&r);
	/* RFC 3207 4.2: what the server offers after TLS is recorded apart. */
	if (out->reached && o->tls_ready && !o->tls_implicit && probe_has_keyword(out, "STARTTLS")) {
		probe_run(o, tls, sizeof(tls) / sizeof(tls[0]), &r, NULL);
		if (r.nsteps >= 4 && r.steps[2].code == 220 && r.steps[3].has_reply) {
			out->keywords_tls = ehlo_keywords(&r.steps[3], &out->nkeywords_tls);
			out->tls_probed = 1;
		}
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
		if (strncasecmp(kw, keyword, n) != 0 || (kw[n] != 0 && kw[n] != ' ' && kw[n] != '='))
			continue;
		if (!eq || (kw[n] && has_word(kw + n + 1, eq + 1)))
			return 1;
	}
	return 0;
}

void probe_free(struct probe *p)
{
	free(p->error);
	free(p->greeting);
	for (size_t i = 0; i < p->nkeywords; i++)
		free(p->keywords[i]);
	free(p->keywords);
	for (size_t i = 0; i < p->nkeywords_tls; i++)
		free(p->keywords_tls[i]);
	free(p->keywords_tls);
	memset(p, 0, sizeof(*p));
}
