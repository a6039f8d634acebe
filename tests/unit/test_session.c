/*
 * test_session.c - a real struct session over a fake server, below the
 * socket: the I/O layer (io.c) runs as it does on the wire, but its
 * io_backend is a script of server bytes (no socket, no server, no clock:
 * when nothing else can happen the test lets the armed timer fire). Each
 * case feeds one fault and asserts the rule id it must raise and the step
 * and scenario verdicts: every rule that session.c, check.c, reply.c and
 * model.c decide during a session has one case, most as a file of
 * cases/ (scenario, server bytes and expected findings in one file,
 * cases/README.md), the rest as functions here.
 */
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "unit.h"

#include "io.h"
#include "result.h"
#include "scenario.h"
#include "session_internal.h"
#include "vars.h"

/* ---- the fake server ---- */

/* Ends a turn: after its bytes the server closes, or resets. */
#define CLOSE "\001close"
#define RESET "\001reset"
#define TURNS_MAX 16

struct fake_server {
	/* turns[0] is sent on connect, turns[k] after the client's k-th write
	 * (one pipelined group, or one SASL response); NULL: nothing. */
	const char *turns[TURNS_MAX];
	char *(*dynamic)(size_t k); /* when set and not NULL: turn k (heap) */
	const char *after_tls;      /* sent when the handshake succeeds */
	int tls_result;             /* the handshake: 1 done, -1 fails, 0 never ends,
	                                TLS_HANDSHAKE_UNTRUSTED: refused under require */
	int stall_writes;           /* no write makes progress */
	int connect_async;          /* connecting takes a round of the loop */

	struct buf in; /* server bytes the client has not read */
	size_t in_off;
	int closing, resetting; /* after in: end of file, or ECONNRESET */
	int handshaking;
	size_t writes;
	struct buf written; /* every byte the client sent */
};

static struct fake_server fake;

static void fake_send(const char *turn)
{
	if (!turn)
		return;
	const char *mark = strchr(turn, '\001');
	buf_append(&fake.in, turn, mark ? (size_t)(mark - turn) : strlen(turn));
	if (mark && strcmp(mark, CLOSE) == 0)
		fake.closing = 1;
	if (mark && strcmp(mark, RESET) == 0)
		fake.resetting = 1;
}

static long fake_read(struct conn *c, void *buf, size_t len)
{
	c->want = 0;
	size_t left = fake.in.len - fake.in_off;
	if (left > 0) {
		size_t n = left < len ? left : len;
		memcpy(buf, fake.in.data + fake.in_off, n);
		fake.in_off += n;
		return (long)n;
	}
	if (fake.resetting) {
		c->error = ECONNRESET;
		return CONN_ERROR;
	}
	if (fake.closing)
		return CONN_EOF;
	c->want = CONN_WANT_READ;
	return CONN_AGAIN;
}

static long fake_write(struct conn *c, const void *buf, size_t len)
{
	c->want = 0;
	if (fake.stall_writes || fake.closing || fake.resetting) {
		if (fake.stall_writes) {
			c->want = CONN_WANT_WRITE;
			return CONN_AGAIN;
		}
		c->error = fake.resetting ? ECONNRESET : EPIPE;
		return CONN_ERROR;
	}
	buf_append(&fake.written, buf, len);
	size_t k = ++fake.writes;
	char *made = fake.dynamic ? fake.dynamic(k) : NULL;
	if (made) {
		fake_send(made);
		free(made);
	} else if (k < TURNS_MAX) {
		fake_send(fake.turns[k]);
	}
	return (long)len;
}

static void fake_shutdown(struct conn *c)
{
	(void)c;
}

static const struct transport_ops fake_plain_ops = { "fake", fake_read, fake_write, fake_shutdown };
static const struct transport_ops fake_tls_ops = { "fake-tls", fake_read, fake_write,
	                                           fake_shutdown };

static int fake_connect_start(struct conn *c, const struct target *t, char *err, size_t errlen)
{
	(void)t;
	(void)err;
	(void)errlen;
	c->fd = -1;
	c->ops = &fake_plain_ops;
	fake_send(fake.turns[0]);
	return fake.connect_async ? 0 : 1;
}

static int fake_connect_finish(struct conn *c, char *err, size_t errlen)
{
	(void)c;
	(void)err;
	(void)errlen;
	return 0;
}

static int fake_tls_attach(struct conn *c, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	c->ops = &fake_tls_ops;
	fake.handshaking = 1;
	return 0;
}

static int fake_tls_handshake(struct conn *c, char *err, size_t errlen)
{
	c->want = 0;
	if (fake.tls_result == 0) {
		c->want = CONN_WANT_READ;
		return 0;
	}
	fake.handshaking = 0;
	if (fake.tls_result == TLS_HANDSHAKE_UNTRUSTED) {
		/* --tls-verify require and a certificate that does not verify */
		snprintf(err, errlen, "self-signed certificate");
		return TLS_HANDSHAKE_UNTRUSTED;
	}
	if (fake.tls_result < 0) {
		snprintf(err, errlen, "certificate verification failed: fake");
		return -1;
	}
	fake_send(fake.after_tls);
	return 1;
}

static void fake_tls_info(const struct conn *c, struct tls_info *info)
{
	memset(info, 0, sizeof(*info));
	if (c->ops != &fake_tls_ops)
		return;
	info->protocol = xstrdup("TLSv1.3");
	info->cipher = xstrdup("FAKE_CIPHER");
}

static int fake_ready(const struct conn *c, int want)
{
	(void)c;
	if (want == CONN_WANT_WRITE)
		return !fake.stall_writes;
	if (fake.handshaking)
		return fake.tls_result != 0;
	return fake.in_off < fake.in.len || fake.closing || fake.resetting;
}

static const struct io_backend fake_backend = {
	.connect_start = fake_connect_start,
	.connect_finish = fake_connect_finish,
	.tls_attach = fake_tls_attach,
	.tls_handshake = fake_tls_handshake,
	.tls_info = fake_tls_info,
	.ready = fake_ready,
};

/* ---- running one scenario ---- */

static struct engine_options opts;
static struct vars vars;
static struct session *current; /* for dynamic turns (the SASL nonce) */
static int64_t timer_left_ms;   /* what the last timer fired early had left */

static void reset_fake(void)
{
	buf_free(&fake.in);
	buf_free(&fake.written);
	memset(&fake, 0, sizeof(fake));
	fake.tls_result = 1;
}

static int setup(void **state)
{
	(void)state;
	reset_fake();
	memset(&opts, 0, sizeof(opts));
	vars_init_defaults(&vars);
	opts.profile = "rfc5321";
	opts.vars = &vars;
	opts.jobs = 1;
	opts.tls_ready = 1;
	opts.auth_user = "user";
	opts.auth_password = "pencil";
	opts.settle_ms = SETTLE_MS_DEFAULT; /* as run: the wait after an end of data */
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	reset_fake();
	vars_free(&vars);
	return 0;
}

static void on_done(struct session *s)
{
	(void)s;
}

/* Runs scenario sc against the fake server into r (the caller frees r with
 * scenario_result_free()); frees sc. */
static void run_scenario(struct scenario *sc, struct scenario_result *r)
{
	scenario_result_init(r, sc);

	struct event_base *base = event_base_new();
	assert_non_null(base);
	struct session *s = calloc(1, sizeof(*s));
	assert_non_null(s);
	s->base = base;
	s->opts = &opts;
	s->scenario = sc;
	s->result = r;
	s->on_done = on_done;
	s->backend = &fake_backend;
	model_init(&s->model, vars_get(&vars, "domain"), 0);
	current = s;
	session_start(s);
	/* Runs what can run; when nothing can, time passes: the armed timer
	 * (a deadline or a short wait) fires. A session with nothing to wait
	 * for and no timer armed would hang on the wire: a failure here. */
	for (int rounds = 0; s->state != SESSION_DONE; rounds++) {
		assert_true(rounds < 100000);
		if (event_base_get_num_events(base, EVENT_BASE_COUNT_ACTIVE) > 0) {
			event_base_loop(base, EVLOOP_NONBLOCK | EVLOOP_ONCE);
			continue;
		}
		struct timeval when, now;
		assert_non_null(s->io.ev_timer);
		assert_true(evtimer_pending(s->io.ev_timer, &when));
		event_base_gettimeofday_cached(base, &now);
		timer_left_ms = ((int64_t)when.tv_sec - now.tv_sec) * 1000 +
		                ((int64_t)when.tv_usec - now.tv_usec) / 1000;
		event_active(s->io.ev_timer, EV_TIMEOUT, 0);
	}
	current = NULL;
	free(s);
	event_base_free(base);
	scenario_free(sc);
}

static void run_file(const char *path, struct scenario_result *r)
{
	struct scenario *sc = NULL;
	char err[512];
	if (scenario_load(path, NULL, &sc, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	run_scenario(sc, r);
}

/* Runs the scenario steps (text of a .smtp file). */
static void run(const char *steps, struct scenario_result *r)
{
	char path[] = "/tmp/smtpconform-session-XXXXXX.smtp";
	int fd = mkstemps(path, 5);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, steps, strlen(steps)), (ssize_t)strlen(steps));
	close(fd);
	struct scenario *sc = NULL;
	char err[512];
	int rc = scenario_load(path, NULL, &sc, err, sizeof(err));
	unlink(path);
	if (rc < 0)
		fail_msg("%s", err);
	run_scenario(sc, r);
}

/* The step holding rule id, or NULL. */
static const struct step_result *step_with(const struct scenario_result *r, const char *rule)
{
	for (size_t i = 0; i < r->nsteps; i++)
		for (size_t k = 0; k < r->steps[i].nviolations; k++)
			if (strcmp(r->steps[i].violations[k].rule, rule) == 0)
				return &r->steps[i];
	return NULL;
}

static void print_result(const struct scenario_result *r)
{
	fprintf(stderr, "scenario %s: %s (%s)\n", r->id, verdict_name(r->verdict),
	        r->reason ? r->reason : "");
	for (size_t i = 0; i < r->nsteps; i++) {
		fprintf(stderr, "  step %s -> %d %s:", r->steps[i].command, r->steps[i].code,
		        verdict_name(r->steps[i].verdict));
		for (size_t k = 0; k < r->steps[i].nviolations; k++)
			fprintf(stderr, " %s", r->steps[i].violations[k].rule);
		fprintf(stderr, "\n");
	}
	fprintf(stderr, "%s", r->transcript ? r->transcript : "");
}

/* Runs steps and asserts that rule is raised on a failed step of the
 * command given, and that the scenario fails. */
static void expect_fail(const char *steps, const char *rule, const char *command)
{
	struct scenario_result r;
	run(steps, &r);
	const struct step_result *st = step_with(&r, rule);
	if (!st || strcmp(st->command, command) != 0 || st->verdict != VERDICT_FAIL ||
	    r.verdict != VERDICT_FAIL) {
		print_result(&r);
		fail_msg("want %s on a failed %s step, the scenario failed", rule, command);
	}
	scenario_result_free(&r);
}

/* Runs steps and asserts that no step has a violation and the scenario passes. */
static void expect_pass(const char *steps)
{
	struct scenario_result r;
	run(steps, &r);
	int clean = r.verdict == VERDICT_PASS;
	for (size_t i = 0; i < r.nsteps; i++)
		clean = clean && r.steps[i].nviolations == 0;
	if (!clean) {
		print_result(&r);
		fail_msg("want a clean pass");
	}
	scenario_result_free(&r);
}

#define GREET "220 mx.example.test ESMTP\r\n"
#define EHLO_STEPS "S: 220\nC: EHLO {client}\nS: 250\n"
#define EHLO_REPLY "250-mx.example.test\r\n250-PIPELINING\r\n250 SIZE 1000\r\n"

/* ---- what a case file cannot say: bytes written, generated replies,
 * references and deadlines. The rules' cases are the files in cases/. ---- */

static void test_clean_session(void **state)
{
	(void)state;
	fake.turns[0] = GREET;
	fake.turns[1] = EHLO_REPLY;
	fake.turns[2] = "250 2.0.0 ok\r\n250 ok\r\n";
	fake.turns[3] = "221 bye\r\n" CLOSE;
	expect_pass(EHLO_STEPS "C: NOOP\nC: RSET\nS: 250\nS: 250\nC: QUIT\nS: 221\nS: close\n");
	/* One write per pipelined group, in order. */
	assert_int_equal(fake.writes, 3);
	assert_non_null(strstr(fake.written.data, "NOOP\r\nRSET\r\n"));
}

/* More lines than REPLY_LINES_MAX: the reader gives the reply up. */
static void test_syntax_too_many_lines(void **state)
{
	(void)state;
	struct buf b = { 0 };
	for (int i = 0; i < REPLY_LINES_MAX + 10; i++)
		buf_puts(&b, "220-x\r\n");
	buf_puts(&b, "220 x\r\n");
	fake.turns[0] = b.data;
	expect_fail("S: 220\n", "syntax.too-many-lines", "CONNECT");
	buf_free(&b);
}

/* Implicit TLS (RFC 8314): the failure belongs to the greeting's step. */
static void test_tls_handshake_implicit(void **state)
{
	(void)state;
	opts.tls_implicit = 1;
	fake.turns[0] = GREET;
	fake.tls_result = -1;
	struct scenario_result r;
	run("S: 220\n", &r);
	const struct step_result *st = step_with(&r, "tls.handshake");
	assert_non_null(st);
	assert_string_equal(st->command, "CONNECT");
	assert_string_equal(st->violations[0].ref, "RFC 8314 3.3");
	assert_int_equal(r.verdict, VERDICT_FAIL);
	scenario_result_free(&r);
}

#define EHLO_AUTH "250-mx\r\n250 AUTH PLAIN LOGIN SCRAM-SHA-256\r\n"

static char *base64(const char *text)
{
	char *out = calloc(1, 4 * strlen(text) / 3 + 8);
	assert_non_null(out);
	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)text, (int)strlen(text));
	return out;
}

/* SCRAM-SHA-256: a server-first extending the client's nonce, then a
 * server-final whose v= is wrong. */
static char *scram_turn(size_t k)
{
	if (k == 2) {
		char *first =
		    xasprintf("r=%sserver,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", current->sasl.cnonce);
		char *b = base64(first);
		char *turn = xasprintf("334 %s\r\n", b);
		free(first);
		free(b);
		return turn;
	}
	if (k == 3) {
		char *b = base64("v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
		char *turn = xasprintf("334 %s\r\n", b);
		free(b);
		return turn;
	}
	return NULL;
}

static void test_auth_server_signature(void **state)
{
	(void)state;
	fake.turns[0] = GREET;
	fake.turns[1] = EHLO_AUTH;
	fake.dynamic = scram_turn;
	expect_fail(EHLO_STEPS "A: SCRAM-SHA-256\nS: 235\n", "auth.server-signature", "AUTH");
}

static void test_auth_clean_plain(void **state)
{
	(void)state;
	fake.turns[0] = GREET;
	fake.turns[1] = EHLO_AUTH;
	fake.turns[2] = "235 ok\r\n";
	expect_pass(EHLO_STEPS "A: PLAIN\nS: 235\n");
	/* The password went out in the exchange, never into a record. */
	assert_non_null(strstr(fake.written.data, "AUTH PLAIN AHVzZXIAcGVuY2ls"));
}

static void test_timeout_reply(void **state)
{
	(void)state;
	fake.turns[0] = GREET;
	struct scenario_result r;
	run("S: 220\nC: NOOP\nS: 250\n", &r);
	const struct step_result *st = step_with(&r, "timeout");
	assert_non_null(st);
	assert_string_equal(st->command, "NOOP");
	assert_int_equal(st->verdict, VERDICT_FAIL);
	assert_int_equal(r.verdict, VERDICT_FAIL);
	/* The reply deadline of command.c's table for NOOP (RFC 5321 4.5.3.2.7). */
	assert_non_null(strstr(st->violations[0].message, "300 s"));
	/* libevent times its timers on a coarse monotonic clock mapped to the
	 * time of day: a few milliseconds over 300 s happen (1 run in 100). */
	assert_true(timer_left_ms > 290 * 1000 && timer_left_ms <= 300 * 1000 + 50);
	scenario_result_free(&r);
}

/* --scenario-timeout caps the deadline: the message names the budget. */
static void test_timeout_budget(void **state)
{
	(void)state;
	opts.scenario_timeout_s = 7;
	fake.turns[0] = GREET;
	struct scenario_result r;
	run("S: 220\nC: NOOP\nS: 250\n", &r);
	const struct step_result *st = step_with(&r, "timeout");
	assert_non_null(st);
	assert_non_null(strstr(st->violations[0].message, "7 s"));
	assert_true(timer_left_ms <= 7 * 1000); /* the deadline was capped */
	assert_int_equal(r.verdict, VERDICT_FAIL);
	scenario_result_free(&r);
}

static void test_timeout_sending(void **state)
{
	(void)state;
	fake.turns[0] = GREET;
	fake.stall_writes = 1;
	struct scenario_result r;
	run("S: 220\nC: NOOP\nS: 250\n", &r);
	const struct step_result *st = step_with(&r, "timeout");
	assert_non_null(st);
	assert_string_equal(st->violations[0].ref, "RFC 5321 4.5.3.2.5");
	assert_int_equal(r.verdict, VERDICT_FAIL);
	scenario_result_free(&r);
}

/* Message content after 354 answers nothing until the end of data. */
static void test_data_end(void **state)
{
	(void)state;
	fake.turns[0] = GREET;
	fake.turns[1] = EHLO_REPLY;
	fake.turns[2] = "250 ok\r\n250 ok\r\n354 go\r\n";
	fake.turns[3] = "250 queued\r\n";
	expect_pass(EHLO_STEPS "C: MAIL FROM:<a@example.org>\nC: RCPT TO:<b@example.org>\nC: DATA\n"
	                       "S: 250\nS: 250\nS: 354\nD: Subject: t\nD:\nD: .dot\nS: 250\n");
	assert_non_null(strstr(fake.written.data, "\r\n..dot\r\n.\r\n"));
}

/* ---- case files: one fault in one file (tests/unit/cases/README.md) ---- */

static enum verdict verdict_named(const char *name, const char *where)
{
	static const enum verdict all[] = { VERDICT_PASS, VERDICT_WARN,  VERDICT_FAIL,
		                            VERDICT_SKIP, VERDICT_ERROR, VERDICT_INCONCLUSIVE };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (strcmp(verdict_name(all[i]), name) == 0)
			return all[i];
	fail_msg("%s: unknown verdict '%s'", where, name);
	return VERDICT_ERROR;
}

/* Case turns: heap copies, the CLOSE or RESET marker appended. */
static char *case_turns[TURNS_MAX + 1];

static void free_case_turns(void)
{
	for (size_t i = 0; i <= TURNS_MAX; i++) {
		free(case_turns[i]);
		case_turns[i] = NULL;
	}
}

/* "ESCAPED TEXT [<close>|<reset>]" -> bytes with the marker. */
static char *case_bytes(const char *text, const char *where)
{
	size_t n = strlen(text);
	const char *mark = "";
	if (n >= 7 && strcmp(text + n - 7, "<close>") == 0) {
		mark = CLOSE;
		n -= 7;
	} else if (n >= 7 && strcmp(text + n - 7, "<reset>") == 0) {
		mark = RESET;
		n -= 7;
	}
	while (n > 0 && text[n - 1] == ' ')
		n--;
	struct buf b = { 0 };
	char err[128];
	if (text_unescape(&b, text, n, err, sizeof(err)) < 0)
		fail_msg("%s: %s", where, err);
	buf_puts(&b, mark);
	return buf_steal(&b);
}

static int is_expectation(const char *d)
{
	return strcmp(d, "finding") == 0 || strcmp(d, "no-finding") == 0 ||
	       strcmp(d, "verdict") == 0 || strcmp(d, "clean") == 0;
}

/* A directive that sets the fake server or the options up. */
static void case_setup_line(const char *d, const char *arg, const char *where, size_t *nturns)
{
	if (is_expectation(d))
		return;
	if (strcmp(d, "server") == 0) {
		if (*nturns >= TURNS_MAX)
			fail_msg("%s: more than %d server turns", where, TURNS_MAX);
		case_turns[*nturns] = case_bytes(arg, where);
		fake.turns[*nturns] = case_turns[*nturns];
		(*nturns)++;
	} else if (strcmp(d, "after-tls") == 0) {
		case_turns[TURNS_MAX] = case_bytes(arg, where);
		fake.after_tls = case_turns[TURNS_MAX];
	} else if (strcmp(d, "tls") == 0) {
		fake.tls_result = strcmp(arg, "fail") == 0        ? -1
		                  : strcmp(arg, "stall") == 0     ? 0
		                  : strcmp(arg, "untrusted") == 0 ? TLS_HANDSHAKE_UNTRUSTED
		                                                  : 1;
	} else if (strcmp(d, "stall-writes") == 0) {
		fake.stall_writes = 1;
	} else if (strcmp(d, "connect-async") == 0) {
		fake.connect_async = 1;
	} else if (strcmp(d, "option") == 0) {
		if (strcmp(arg, "tls-implicit") == 0)
			opts.tls_implicit = 1;
		else if (strcmp(arg, "strict") == 0)
			opts.strict = 1;
		else if (strncmp(arg, "scenario-timeout=", 17) == 0)
			opts.scenario_timeout_s = atoi(arg + 17);
		else if (strncmp(arg, "settle-ms=", 10) == 0)
			opts.settle_ms = atoi(arg + 10);
		else
			fail_msg("%s: unknown option '%s'", where, arg);
	} else {
		fail_msg("%s: unknown directive '%s'", where, d);
	}
}

/* An expectation: "finding COMMAND RULE VERDICT", "no-finding RULE",
 * "verdict VERDICT" (the scenario's), "clean". 0 when it holds. */
static int case_check_line(const char *d, const char *arg, const char *where,
                           const struct scenario_result *r)
{
	char a[64] = "", b[64] = "", c[64] = "";
	sscanf(arg, "%63s %63s %63s", a, b, c);
	if (strcmp(d, "finding") == 0) {
		enum verdict want = verdict_named(c, where);
		for (size_t i = 0; i < r->nsteps; i++)
			for (size_t k = 0; k < r->steps[i].nviolations; k++)
				if (strcmp(r->steps[i].violations[k].rule, b) == 0 &&
				    strcmp(r->steps[i].command, a) == 0 &&
				    r->steps[i].verdict == want)
					return 0;
		fprintf(stderr, "%s: no step %s with %s and verdict %s\n", where, a, b, c);
		return -1;
	}
	if (strcmp(d, "no-finding") == 0 && step_with(r, a)) {
		fprintf(stderr, "%s: %s was raised\n", where, a);
		return -1;
	}
	if (strcmp(d, "verdict") == 0 && r->verdict != verdict_named(a, where)) {
		fprintf(stderr, "%s: scenario verdict %s, want %s\n", where,
		        verdict_name(r->verdict), a);
		return -1;
	}
	if (strcmp(d, "clean") == 0) {
		int clean = r->verdict == VERDICT_PASS;
		for (size_t i = 0; i < r->nsteps; i++)
			clean = clean && r->steps[i].nviolations == 0;
		if (!clean) {
			fprintf(stderr, "%s: not a clean pass\n", where);
			return -1;
		}
	}
	return 0;
}

/* Goes through the "#! directive argument" lines of a case: without r,
 * sets the fake server and the options up; with r, returns the number of
 * expectations r does not meet. */
static int case_each(const char *path, const char *text, const struct scenario_result *r,
                     size_t *nturns)
{
	int failed = 0, lineno = 0;
	for (const char *l = text; *l;) {
		const char *end = strchr(l, '\n');
		size_t len = end ? (size_t)(end - l) : strlen(l);
		lineno++;
		if (len > 3 && strncmp(l, "#! ", 3) == 0) {
			char *line = xstrndup(l + 3, len - 3);
			char *arg = line + strcspn(line, " ");
			if (*arg)
				*arg++ = 0;
			char *where = xasprintf("%s:%d", path, lineno);
			if (!r)
				case_setup_line(line, arg, where, nturns);
			else if (is_expectation(line))
				failed += case_check_line(line, arg, where, r) != 0;
			free(where);
			free(line);
		}
		l += len + (end ? 1 : 0);
	}
	return failed;
}

static void run_case(void **state)
{
	const char *path = *state;
	struct buf text = { 0 };
	if (file_read_all(path, 1 << 20, &text) < 0)
		fail_msg("%s: cannot read", path);
	size_t nturns = 0;
	case_each(path, text.data, NULL, &nturns);
	struct scenario_result r;
	run_file(path, &r);
	int failed = case_each(path, text.data, &r, &nturns);
	if (failed)
		print_result(&r);
	scenario_result_free(&r);
	buf_free(&text);
	free_case_turns();
	if (failed)
		fail_msg("%s: %d expectation(s) not met", path, failed);
}

/* Rules whose test is a function above (what a case file cannot say). */
static const char *const rules_tested_by_functions[] = {
	"syntax.too-many-lines", /* test_syntax_too_many_lines: 65 lines built */
	"auth.server-signature", /* test_auth_server_signature: SCRAM's nonce */
};

/* 1 when a "#! finding COMMAND RULE VERDICT" line of some case names id. */
static int case_names_rule(const glob_t *cases, const char *id)
{
	for (size_t i = 0; i < cases->gl_pathc; i++) {
		FILE *f = fopen(cases->gl_pathv[i], "r");
		char line[4096], cmd[64], rule[128];
		int found = 0;
		assert_non_null(f);
		while (!found && fgets(line, sizeof(line), f))
			found = sscanf(line, "#! finding %63s %127s", cmd, rule) == 2 &&
			        strcmp(rule, id) == 0;
		fclose(f);
		if (found)
			return 1;
	}
	return 0;
}

/* Every rule of the table is tested below the socket: a case file holds a
 * finding of it, or a function above does (issue 11: every rule has unit
 * tests). A new rule without one fails here, naming it. */
static void test_every_rule_has_a_case(void **state)
{
	(void)state;
	glob_t cases;
	assert_int_equal(glob("cases/*.smtp", 0, NULL, &cases), 0);
	int missing = 0;
	for (int r = 0; r < RULE_COUNT; r++) {
		const char *id = rule_get((enum rule_id)r)->id;
		int by_function = 0;
		for (size_t k = 0; k < sizeof(rules_tested_by_functions) / sizeof(char *); k++)
			by_function |= strcmp(rules_tested_by_functions[k], id) == 0;
		if (!by_function && !case_names_rule(&cases, id)) {
			fprintf(stderr, "rule %s: no '#! finding' of it in cases/*.smtp\n", id);
			missing++;
		}
	}
	globfree(&cases);
	assert_int_equal(missing, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_clean_session),
		T(test_syntax_too_many_lines),
		T(test_tls_handshake_implicit),
		T(test_auth_server_signature),
		T(test_auth_clean_plain),
		T(test_timeout_reply),
		T(test_timeout_budget),
		T(test_timeout_sending),
		T(test_data_end),
		cmocka_unit_test(test_every_rule_has_a_case),
#undef T
	};
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	/* Then every case file, one cmocka test each. */
	glob_t cases;
	if (glob("cases/*.smtp", 0, NULL, &cases) != 0) {
		fprintf(stderr, "no case files in cases/ (run from tests/unit)\n");
		return 1;
	}
	struct CMUnitTest *each = xcalloc(cases.gl_pathc, sizeof(*each));
	for (size_t i = 0; i < cases.gl_pathc; i++) {
		each[i].name = cases.gl_pathv[i];
		each[i].test_func = run_case;
		each[i].setup_func = setup;
		each[i].teardown_func = teardown;
		each[i].initial_state = cases.gl_pathv[i];
	}
	failed += _cmocka_run_group_tests("cases", each, cases.gl_pathc, NULL, NULL);
	free(each);
	globfree(&cases);
	return failed;
}
