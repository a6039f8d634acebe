/*
 * test_session.c - a real struct session over a fake server, below the
 * socket: the I/O layer (io.c) runs as it does on the wire, but its
 * io_backend is a script of server bytes (no socket, no server, no clock:
 * when nothing else can happen the test lets the armed timer fire). Each
 * test feeds one fault and asserts the rule id it must raise and the step
 * and scenario verdicts: every rule that session.c, check.c, reply.c and
 * model.c decide during a session has one test here.
 */
#include <errno.h>
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
	char *(*dynamic)(size_t k);  /* when set and not NULL: turn k (heap) */
	const char *after_tls;       /* sent when the handshake succeeds */
	int tls_result;              /* the handshake: 1 done, -1 fails, 0 never ends */
	int stall_writes;            /* no write makes progress */
	int connect_async;           /* connecting takes a round of the loop */

	struct buf in;               /* server bytes the client has not read */
	size_t in_off;
	int closing, resetting;      /* after in: end of file, or ECONNRESET */
	int handshaking;
	size_t writes;
	struct buf written;          /* every byte the client sent */
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

static const struct transport_ops fake_plain_ops = {"fake", fake_read, fake_write, fake_shutdown};
static const struct transport_ops fake_tls_ops = {"fake-tls", fake_read, fake_write, fake_shutdown};

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
static struct session *current;  /* for dynamic turns (the SASL nonce) */
static int64_t timer_left_ms;    /* what the last timer fired early had left */

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

/* Runs the scenario steps (text of a .smtp file) against the fake server
 * into r; the caller frees r with scenario_result_free(). */
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

/* Runs steps and asserts that rule is raised on a step of the command
 * given, with that step's verdict and the scenario's. */
static void expect_finding(const char *steps, const char *rule, const char *command,
                           enum verdict step_verdict_want, enum verdict scenario_verdict_want)
{
	struct scenario_result r;
	run(steps, &r);
	const struct step_result *st = step_with(&r, rule);
	if (!st || strcmp(st->command, command) != 0 || st->verdict != step_verdict_want ||
	    r.verdict != scenario_verdict_want) {
		print_result(&r);
		fail_msg("want %s on %s (step %s, scenario %s)", rule, command,
		         verdict_name(step_verdict_want), verdict_name(scenario_verdict_want));
	}
	scenario_result_free(&r);
}

static void expect_fail(const char *steps, const char *rule, const char *command)
{
	expect_finding(steps, rule, command, VERDICT_FAIL, VERDICT_FAIL);
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

/* ---- a clean session, and the layer's own paths ---- */

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

static void test_clean_session_async_connect(void **state)
{
	(void)state;
	fake.connect_async = 1;
	fake.turns[0] = GREET;
	fake.turns[1] = "221 bye\r\n" CLOSE;
	expect_pass("S: 220\nC: QUIT\nS: 221\nS: close\n");
}

static void test_clean_starttls(void **state)
{
	(void)state;
	fake.turns[0] = GREET;
	fake.turns[1] = "250-mx\r\n250 STARTTLS\r\n";
	fake.turns[2] = "220 go ahead\r\n";
	fake.turns[3] = "250 mx\r\n";
	expect_pass(EHLO_STEPS "C: STARTTLS\nS: 220\nC: EHLO {client}\nS: 250\n");
}

/* ---- reply syntax (reply.c flags, judged by check.c) ---- */

static void test_syntax_code(void **state)
{
	(void)state;
	fake.turns[0] = "620 mx\r\n";
	expect_fail("S: 220\n", "syntax.code", "CONNECT");
}

static void test_syntax_separator(void **state)
{
	(void)state;
	fake.turns[0] = "220_mx\r\n";
	expect_fail("S: 220\n", "syntax.separator", "CONNECT");
}

static void test_syntax_multiline_code(void **state)
{
	(void)state;
	fake.turns[0] = "220-mx\r\n221 mx\r\n";
	expect_fail("S: 220\n", "syntax.multiline-code", "CONNECT");
}

static void test_syntax_bare_lf(void **state)
{
	(void)state;
	fake.turns[0] = "220 mx\n";
	expect_fail("S: 220\n", "syntax.bare-lf", "CONNECT");
}

static void test_syntax_bare_cr(void **state)
{
	(void)state;
	fake.turns[0] = "220 m\rx\r\n";
	expect_fail("S: 220\n", "syntax.bare-cr", "CONNECT");
}

/* A server ending lines with CR alone never ends its reply: the deadline
 * names the bare CR of what arrived. */
static void test_syntax_bare_cr_unterminated(void **state)
{
	(void)state;
	fake.turns[0] = "220 mx\r";
	struct scenario_result r;
	run("S: 220\n", &r);
	assert_non_null(step_with(&r, "timeout"));
	assert_non_null(step_with(&r, "syntax.bare-cr"));
	assert_int_equal(r.verdict, VERDICT_FAIL);
	scenario_result_free(&r);
}

static void test_syntax_line_too_long(void **state)
{
	(void)state;
	static char line[700];
	memcpy(line, "220 ", 4);
	memset(line + 4, 'x', 600);
	memcpy(line + 604, "\r\n", 3);
	fake.turns[0] = line;
	expect_fail("S: 220\n", "syntax.line-too-long", "CONNECT");
}

static void test_syntax_control_char(void **state)
{
	(void)state;
	fake.turns[0] = "220 m\002x\r\n"; /* \001 marks CLOSE and RESET here */
	expect_fail("S: 220\n", "syntax.control-char", "CONNECT");
}

static void test_syntax_8bit_text(void **state)
{
	(void)state;
	fake.turns[0] = "220 m\xe9x\r\n";
	expect_fail("S: 220\n", "syntax.8bit-text", "CONNECT");
}

/* More lines than REPLY_LINES_MAX: the reader gives the reply up. */
static void test_syntax_too_many_lines(void **state)
{
	(void)state;
	struct buf b = {0};
	for (int i = 0; i < REPLY_LINES_MAX + 10; i++)
		buf_puts(&b, "220-x\r\n");
	buf_puts(&b, "220 x\r\n");
	fake.turns[0] = b.data;
	expect_fail("S: 220\n", "syntax.too-many-lines", "CONNECT");
	buf_free(&b);
}

/* Bytes nobody asked for, found when the next group is about to go. */
static void test_syntax_unsolicited(void **state)
{
	(void)state;
	fake.turns[0] = GREET "250 surprise\r\n";
	fake.turns[1] = "250 ok\r\n";
	expect_fail("S: 220\nC: NOOP\nS: 250\n", "syntax.unsolicited", "CONNECT");
}

/* A 421 is the one unsolicited reply allowed (RFC 5321 3.8). */
static void test_unsolicited_421_allowed(void **state)
{
	(void)state;
	fake.turns[0] = GREET "421 shutting down\r\n" CLOSE;
	struct scenario_result r;
	run("S: 220\nC: NOOP\nS: 250\n", &r);
	assert_null(step_with(&r, "syntax.unsolicited"));
	scenario_result_free(&r);
}

/* RFC 3207 4: plaintext after the 220 to STARTTLS. */
static void test_syntax_unsolicited_after_starttls(void **state)
{
	(void)state;
	fake.turns[0] = GREET;
	fake.turns[1] = "250-mx\r\n250 STARTTLS\r\n";
	fake.turns[2] = "220 go ahead\r\n250 plaintext\r\n";
	fake.turns[3] = "250 mx\r\n";
	expect_fail(EHLO_STEPS "C: STARTTLS\nS: 220\nC: EHLO {client}\nS: 250\n", "syntax.unsolicited",
	            "STARTTLS");
}

/* ---- extensions: ENHANCEDSTATUSCODES, EHLO, TLS, AUTH ---- */

#define EHLO_ENHANCED "250-mx\r\n250 ENHANCEDSTATUSCODES\r\n"

static void test_enhanced_missing(void **state)
{
	(void)state;
	fake.turns[0] = GREET;
	fake.turns[1] = EHLO_ENHANCED;
	fake.turns[2] = "250 ok\r\n";
	expect_fail(EHLO_STEPS "C: NOOP\nS: 250\n", "enhancedstatuscodes.missing", "NOOP");
}

static void test_enhanced_class(void **state)
{
	(void)state;
	fake.turns[0] = GREET;
	fake.turns[1] = EHLO_ENHANCED;
	fake.turns[2] = "250 5.0.0 ok\r\n";
	expect_fail(EHLO_STEPS "C: NOOP\nS: 250\n", "enhancedstatuscodes.class", "NOOP");
}

static void test_ehlo_keyword_syntax(void **state)
{
	(void)state;
	fake.turns[0] = GREET;
	fake.turns[1] = "250-mx\r\n250 -BAD_KEYWORD\r\n";
	expect_finding(EHLO_STEPS, "ehlo.keyword-syntax", "EHLO", VERDICT_FAIL, VERDICT_FAIL);
}

#define STARTTLS_STEPS EHLO_STEPS "C: STARTTLS\nS: 220\nC: EHLO {client}\nS: 250\n"

static void test_tls_handshake_failed(void **state)
{
	(void)state;
	fake.turns[0] = GREET;
	fake.turns[1] = "250-mx\r\n250 STARTTLS\r\n";
	fake.turns[2] = "220 go ahead\r\n";
	fake.tls_result = -1;
	expect_fail(STARTTLS_STEPS, "tls.handshake", "STARTTLS");
}

static void test_tls_handshake_timeout(void **state)
{
	(void)state;
	fake.turns[0] = GREET;
	fake.turns[1] = "250-mx\r\n250 STARTTLS\r\n";
	fake.turns[2] = "220 go ahead\r\n";
	fake.tls_result = 0;
	expect_fail(STARTTLS_STEPS, "tls.handshake", "STARTTLS");
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

/* CVE-2011-0411: replies to commands pipelined behind STARTTLS arrive
 * inside TLS. */
static void test_starttls_injection(void **state)
{
	(void)state;
	fake.turns[0] = GREET;
	fake.turns[1] = "250-mx\r\n250 STARTTLS\r\n";
	fake.turns[2] = "220 go ahead\r\n";
	fake.after_tls = "250 injected\r\n";
	expect_fail(EHLO_STEPS "C: STARTTLS\nC: NOOP\nS: 220\nC: EHLO {client}\nS: 250\n",
	            "starttls.injection", "STARTTLS");
}

static void test_starttls_readvertised(void **state)
{
	(void)state;
	fake.turns[0] = GREET;
	fake.turns[1] = "250-mx\r\n250 STARTTLS\r\n";
	fake.turns[2] = "220 go ahead\r\n";
	fake.turns[3] = "250-mx\r\n250 STARTTLS\r\n";
	expect_finding(STARTTLS_STEPS, "starttls.advertised-after-tls", "EHLO", VERDICT_FAIL,
	               VERDICT_FAIL);
}

#define EHLO_AUTH "250-mx\r\n250 AUTH PLAIN LOGIN SCRAM-SHA-256\r\n"

/* LOGIN has two challenges (user name, password): a third would keep the
 * exchange going forever. */
static void test_auth_challenge(void **state)
{
	(void)state;
	fake.turns[0] = GREET;
	fake.turns[1] = EHLO_AUTH;
	fake.turns[2] = "334 VXNlcm5hbWU6\r\n";
	fake.turns[3] = "334 UGFzc3dvcmQ6\r\n";
	fake.turns[4] = "334 UGFzc3dvcmQ6\r\n";
	expect_fail(EHLO_STEPS "A: LOGIN\nS: 235\n", "auth.challenge", "AUTH");
}

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
		char *first = xasprintf("r=%sserver,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
		                        current->sasl.cnonce);
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

static void test_auth_sequence(void **state)
{
	(void)state;
	fake.turns[0] = GREET;
	fake.turns[1] = EHLO_AUTH;
	fake.turns[2] = "235 ok\r\n";
	fake.turns[3] = "235 ok again\r\n";
	expect_fail(EHLO_STEPS "A: PLAIN\nS: 235\nA: PLAIN\nS: 503\n", "auth.sequence", "AUTH");
}

static void test_auth_cancel(void **state)
{
	(void)state;
	fake.turns[0] = GREET;
	fake.turns[1] = EHLO_AUTH;
	fake.turns[2] = "334 \r\n";
	fake.turns[3] = "235 ok\r\n";
	expect_fail(EHLO_STEPS "A: PLAIN cancel\nS: 501\n", "auth.cancel", "AUTH");
}

static void test_auth_bad_base64(void **state)
{
	(void)state;
	fake.turns[0] = GREET;
	fake.turns[1] = EHLO_AUTH;
	fake.turns[2] = "334 \r\n";
	fake.turns[3] = "235 ok\r\n";
	/* The step is named by the line sent (a SASL response has no verb). */
	expect_fail(EHLO_STEPS "C: AUTH PLAIN\nS: 334\nC: !!not-base64!!\nS: 501\n",
	            "auth.bad-base64", "!!NOT-BASE64!!");
}

/* ---- the matrix and the scenario's expectation ---- */

static void test_matrix_not_allowed(void **state)
{
	(void)state;
	fake.turns[0] = GREET;
	fake.turns[1] = "354 go on\r\n";
	expect_fail("S: 220\nC: NOOP\nS: *\n", "matrix.not-allowed", "NOOP");
}

static void test_matrix_nonstandard(void **state)
{
	(void)state;
	fake.turns[0] = GREET;
	fake.turns[1] = "200 ok\r\n";
	expect_finding("S: 220\nC: NOOP\nS: 2xx\n", "matrix.nonstandard", "NOOP", VERDICT_WARN,
	               VERDICT_PASS);
}

static void test_expect_code(void **state)
{
	(void)state;
	fake.turns[0] = "554 go away\r\n";
	expect_fail("S: 220\n", "expect.code", "CONNECT");
}

static void test_expect_text(void **state)
{
	(void)state;
	fake.turns[0] = GREET;
	expect_fail("S: 220 ~ /Postfix/\n", "expect.text", "CONNECT");
}

static void test_expect_regex_limit(void **state)
{
	(void)state;
	static char line[1100];
	memcpy(line, "220 ", 4);
	memset(line + 4, 'a', 300);
	memcpy(line + 304, "xc\r\n", 5);
	fake.turns[0] = line;
	expect_fail("S: 220 ~ /^(a|aa)*(a|aa)*(a|aa)*\\1\\2\\3c$/\n", "expect.regex-limit", "CONNECT");
}

/* "S: close" and the server sends bytes instead. */
static void test_expect_close_bytes(void **state)
{
	(void)state;
	fake.turns[0] = GREET;
	fake.turns[1] = "221 bye\r\n250 more\r\n";
	expect_fail("S: 220\nC: QUIT\nS: 221\nS: close\n", "expect.close", "QUIT");
}

/* "S: close" and the server stays open until the deadline. */
static void test_expect_close_open(void **state)
{
	(void)state;
	fake.turns[0] = GREET;
	fake.turns[1] = "221 bye\r\n";
	expect_fail("S: 220\nC: QUIT\nS: 221\nS: close\n", "expect.close", "QUIT");
}

/* ---- the connection: deadlines, closes, resets ---- */

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
	assert_true(timer_left_ms > 290 * 1000 && timer_left_ms <= 300 * 1000);
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

static void test_connection_closed(void **state)
{
	(void)state;
	fake.turns[0] = GREET;
	fake.turns[1] = "250 o" CLOSE;
	expect_fail("S: 220\nC: NOOP\nS: 250\n", "connection.closed", "NOOP");
}

static void test_connection_reset(void **state)
{
	(void)state;
	fake.turns[0] = GREET;
	fake.turns[1] = RESET;
	expect_fail("S: 220\nC: NOOP\nS: 250\n", "connection.reset", "NOOP");
}

/* A close after a 250 (not a 221 or 421) is judged on that reply. */
static void test_closed_without_421(void **state)
{
	(void)state;
	fake.turns[0] = GREET;
	fake.turns[1] = "250 ok\r\n" CLOSE;
	expect_fail("S: 220\nC: NOOP\nS: 250\nC: NOOP\nS: 250\n", "connection.closed-without-421",
	            "NOOP");
}

/* "S: 5xx|close": closing is allowed, the scenario ends there. */
static void test_close_allowed(void **state)
{
	(void)state;
	fake.turns[0] = GREET;
	fake.turns[1] = "221 bye\r\n" CLOSE;
	expect_pass("S: 220\nC: QUIT\nS: 221\nC: NOOP\nS: 5xx|close\n");
}

/* After a failed step the session lingers: a close right after it is
 * still judged (RFC 5321 3.8). */
static void test_linger_judges_close(void **state)
{
	(void)state;
	fake.turns[0] = GREET;
	fake.turns[1] = "250 ok\r\n" CLOSE;
	struct scenario_result r;
	run("S: 220\nC: NOOP\nS: 251\n", &r);
	assert_non_null(step_with(&r, "expect.code"));
	assert_non_null(step_with(&r, "connection.closed-without-421"));
	scenario_result_free(&r);
}

static void test_sequence_after_554(void **state)
{
	(void)state;
	fake.turns[0] = "554 no service\r\n";
	fake.turns[1] = "250 ok\r\n";
	expect_fail("S: 554\nC: EHLO {client}\nS: *\n", "sequence.after-554", "EHLO");
}

/* ---- the protocol model (model.c, fixtures/model/outcomes.tsv) ---- */

static void test_command_minimum(void **state)
{
	(void)state;
	fake.turns[0] = GREET;
	fake.turns[1] = "500 what\r\n";
	expect_fail("S: 220\nC: NOOP\nS: *\n", "command.minimum", "NOOP");
}

static void test_ehlo_advertised_refused(void **state)
{
	(void)state;
	fake.turns[0] = GREET;
	fake.turns[1] = "250-mx\r\n250 HELP\r\n";
	fake.turns[2] = "502 no\r\n";
	expect_fail(EHLO_STEPS "C: HELP\nS: *\n", "ehlo.advertised-refused", "HELP");
}

static void test_postmaster_refused(void **state)
{
	(void)state;
	fake.turns[0] = GREET;
	fake.turns[1] = EHLO_REPLY;
	fake.turns[2] = "250 ok\r\n";
	fake.turns[3] = "550 no\r\n";
	expect_fail(EHLO_STEPS "C: MAIL FROM:<a@example.org>\nS: 250\nC: RCPT TO:<postmaster@{domain}>\n"
	            "S: *\n",
	            "postmaster.refused", "RCPT");
}

static void test_rset_reply(void **state)
{
	(void)state;
	fake.turns[0] = GREET;
	fake.turns[1] = EHLO_REPLY;
	fake.turns[2] = "502 no\r\n";
	expect_fail(EHLO_STEPS "C: RSET\nS: *\n", "rset.reply", "RSET");
}

static void test_quit_reply(void **state)
{
	(void)state;
	fake.turns[0] = GREET;
	fake.turns[1] = "250 ok\r\n";
	expect_fail("S: 220\nC: QUIT\nS: *\n", "quit.reply", "QUIT");
}

static void test_sequence_accepted(void **state)
{
	(void)state;
	fake.turns[0] = GREET;
	fake.turns[1] = EHLO_REPLY;
	fake.turns[2] = "250 ok\r\n";
	expect_fail(EHLO_STEPS "C: RCPT TO:<a@example.org>\nS: *\n", "sequence.accepted", "RCPT");
}

static void test_sequence_bad_503(void **state)
{
	(void)state;
	fake.turns[0] = GREET;
	fake.turns[1] = EHLO_REPLY;
	fake.turns[2] = "503 bad sequence\r\n";
	expect_fail(EHLO_STEPS "C: MAIL FROM:<a@example.org>\nS: *\n", "sequence.bad-503", "MAIL");
}

static void test_sequence_any_time(void **state)
{
	(void)state;
	fake.turns[0] = GREET;
	fake.turns[1] = "503 say hello first\r\n";
	expect_finding("S: 220\nC: NOOP\nS: *\n", "sequence.any-time", "NOOP", VERDICT_WARN,
	               VERDICT_PASS);
}

static void test_transaction_reset(void **state)
{
	(void)state;
	fake.turns[0] = GREET;
	fake.turns[1] = EHLO_REPLY;
	fake.turns[2] = "250 ok\r\n";
	fake.turns[3] = "250 ok\r\n";
	fake.turns[4] = "250 ok\r\n";
	expect_fail(EHLO_STEPS "C: MAIL FROM:<a@example.org>\nS: 250\nC: RSET\nS: 250\n"
	            "C: RCPT TO:<b@example.org>\nS: *\n",
	            "transaction.reset", "RCPT");
}

static void test_argument_valid_refused(void **state)
{
	(void)state;
	fake.turns[0] = GREET;
	fake.turns[1] = EHLO_REPLY;
	fake.turns[2] = "501 syntax\r\n";
	expect_fail(EHLO_STEPS "C: MAIL FROM:<a@example.org>\nS: *\n", "argument.valid-refused",
	            "MAIL");
}

static void test_mail_refused_keeps_state(void **state)
{
	(void)state;
	fake.turns[0] = GREET;
	fake.turns[1] = EHLO_REPLY;
	fake.turns[2] = "552 too big\r\n";
	fake.turns[3] = "552 too big\r\n";
	expect_fail(EHLO_STEPS "C: MAIL FROM:<a@example.org> SIZE=5000\nS: 552\n"
	            "C: MAIL FROM:<a@example.org>\nS: *\n",
	            "mail.refused-keeps-state", "MAIL");
}

static void test_size_exceeded(void **state)
{
	(void)state;
	fake.turns[0] = GREET;
	fake.turns[1] = EHLO_REPLY;
	fake.turns[2] = "250 ok\r\n";
	expect_fail(EHLO_STEPS "C: MAIL FROM:<a@example.org> SIZE=5000\nS: *\n", "size.exceeds-limit",
	            "MAIL");
}

static void test_parameter_not_555(void **state)
{
	(void)state;
	fake.turns[0] = GREET;
	fake.turns[1] = EHLO_REPLY;
	fake.turns[2] = "501 unknown parameter\r\n";
	expect_finding(EHLO_STEPS "C: MAIL FROM:<a@example.org> XFOO=1\nS: *\n", "parameter.not-555",
	               "MAIL", VERDICT_WARN, VERDICT_PASS);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	    T(test_clean_session),
	    T(test_clean_session_async_connect),
	    T(test_clean_starttls),
	    T(test_syntax_code),
	    T(test_syntax_separator),
	    T(test_syntax_multiline_code),
	    T(test_syntax_bare_lf),
	    T(test_syntax_bare_cr),
	    T(test_syntax_bare_cr_unterminated),
	    T(test_syntax_line_too_long),
	    T(test_syntax_control_char),
	    T(test_syntax_8bit_text),
	    T(test_syntax_too_many_lines),
	    T(test_syntax_unsolicited),
	    T(test_unsolicited_421_allowed),
	    T(test_syntax_unsolicited_after_starttls),
	    T(test_enhanced_missing),
	    T(test_enhanced_class),
	    T(test_ehlo_keyword_syntax),
	    T(test_tls_handshake_failed),
	    T(test_tls_handshake_timeout),
	    T(test_tls_handshake_implicit),
	    T(test_starttls_injection),
	    T(test_starttls_readvertised),
	    T(test_auth_challenge),
	    T(test_auth_server_signature),
	    T(test_auth_clean_plain),
	    T(test_auth_sequence),
	    T(test_auth_cancel),
	    T(test_auth_bad_base64),
	    T(test_matrix_not_allowed),
	    T(test_matrix_nonstandard),
	    T(test_expect_code),
	    T(test_expect_text),
	    T(test_expect_regex_limit),
	    T(test_expect_close_bytes),
	    T(test_expect_close_open),
	    T(test_timeout_reply),
	    T(test_timeout_budget),
	    T(test_timeout_sending),
	    T(test_connection_closed),
	    T(test_connection_reset),
	    T(test_closed_without_421),
	    T(test_close_allowed),
	    T(test_linger_judges_close),
	    T(test_sequence_after_554),
	    T(test_command_minimum),
	    T(test_ehlo_advertised_refused),
	    T(test_postmaster_refused),
	    T(test_rset_reply),
	    T(test_quit_reply),
	    T(test_sequence_accepted),
	    T(test_sequence_bad_503),
	    T(test_sequence_any_time),
	    T(test_transaction_reset),
	    T(test_argument_valid_refused),
	    T(test_mail_refused_keeps_state),
	    T(test_size_exceeded),
	    T(test_parameter_not_555),
	    T(test_data_end),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
