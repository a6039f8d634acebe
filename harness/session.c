/*
 * session.c - the session state machine: one scenario on one connection.
 *
 * A session walks its scenario's steps: C:, R: and D: steps are queued into
 * one output buffer (a pipelined group); an S: step flushes the group, then
 * reads one whole reply under a deadline and hands it to check_reply(); an
 * S: close waits for the server to close. The first failed step ends the
 * scenario. It runs on the semantic events of the I/O layer (io.c: bytes
 * in, drained, TLS ready, timeout, end of file) and does no socket, TLS or
 * event I/O itself. Scheduling many sessions is engine.c's job.
 */
#include "session_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "command.h"
#include "io.h"
#include "tls.h"

#include <openssl/crypto.h>
#include "smtp_limits.h"
#include "util.h"

/* Bytes of a D: block shown in a step's "sent" field. */
#define SENT_DATA_SHOWN 256

static const char *state_name(enum session_state st)
{
	switch (st) {
	case SESSION_IDLE: return "idle";
	case SESSION_CONNECTING: return "connecting";
	case SESSION_WRITING: return "writing";
	case SESSION_READING: return "reading";
	case SESSION_AWAIT_CLOSE: return "await-close";
	case SESSION_HANDSHAKE: return "handshake";
	case SESSION_TLS_GRACE: return "tls-grace";
	case SESSION_LINGER: return "linger";
	case SESSION_DONE: return "done";
	}
	return "?";
}

static void set_state(struct session *s, enum session_state next)
{
	if (s->opts->verbose >= 2)
		fprintf(stderr, "[%s] %s -> %s\n", s->scenario->id, state_name(s->state),
		        state_name(next));
	s->state = next;
}

/* "98,234,112": a byte count people can read. */
static void format_count(size_t n, char *out, size_t outlen)
{
	char digits[32];
	int len = snprintf(digits, sizeof(digits), "%zu", n);
	size_t o = 0;
	for (int i = 0; i < len && o + 2 < outlen; i++) {
		if (i > 0 && (len - i) % 3 == 0)
			out[o++] = ',';
		out[o++] = digits[i];
	}
	out[o] = 0;
}

/* Escapes at most SENT_BYTES_KEEP of n sent bytes into b, and names the
 * count of those left out: the record of a step stays small whatever was
 * sent (a D: body of 100 MB, a huge variable). */
static void escape_kept(struct buf *b, const void *bytes, size_t n)
{
	text_escape(b, bytes, n < SENT_BYTES_KEEP ? n : SENT_BYTES_KEEP);
	if (n > SENT_BYTES_KEEP) {
		char count[40];
		format_count(n - SENT_BYTES_KEEP, count, sizeof(count));
		buf_printf(b, " ... [%s bytes not kept]", count);
	}
}

static char *escape_kept_dup(const void *bytes, size_t n)
{
	struct buf b = { 0 };
	escape_kept(&b, bytes, n);
	return buf_steal(&b);
}

/* Ends a transcript line begun at start, a secret in it redacted. */
static void transcript_end(struct session *s, size_t start)
{
	buf_puts(&s->transcript, "\n");
	redact(s->transcript.data + start);
	s->transcript.len = start + strlen(s->transcript.data + start);
}

static void transcript(struct session *s, const char *prefix, const void *bytes, size_t n)
{
	size_t start = s->transcript.len;
	buf_puts(&s->transcript, prefix);
	escape_kept(&s->transcript, bytes, n);
	transcript_end(s, start);
}

/* The same line from what escape_kept_dup() made of the bytes: a command
 * is escaped once for its pending entry and its transcript line. */
static void transcript_escaped(struct session *s, const char *prefix, const char *escaped)
{
	size_t start = s->transcript.len;
	buf_puts(&s->transcript, prefix);
	buf_puts(&s->transcript, escaped);
	transcript_end(s, start);
}

/* Timeout in seconds for the reply to a command (RFC 5321 4.5.3.2). */
static int reply_timeout_s(const struct session *s, const char *verb)
{
	if (s->opts->timeout_s > 0)
		return s->opts->timeout_s;
	return command_get(command_from_name(verb))->timeout_s;
}

/* Timeout in seconds for one write to make progress (RFC 5321 4.5.3.2.5). */
static int write_timeout_s(const struct session *s)
{
	return s->opts->timeout_s > 0 ? s->opts->timeout_s : TIMEOUT_DATA_BLOCK_S;
}

/* Arms the deadline: now + seconds, but never past the scenario's deadline
 * (the I/O layer caps it). */
static void arm_deadline(struct session *s, int seconds)
{
	io_set_deadline(&s->io, seconds);
}

static void disarm_deadline(struct session *s)
{
	io_clear_deadline(&s->io);
}

/* A new step result for the current S: step, answering the head command. */
static struct step_result *new_step(struct session *s, const struct step *step)
{
	struct scenario_result *r = s->result;
	/* Room doubles from 8 (nsteps 0, 8, 16, ...: full), not one realloc a
	 * step: session.c alone appends to a session's result. */
	size_t n = r->nsteps;
	if (n == 0 || (n >= 8 && (n & (n - 1)) == 0))
		r->steps = xrealloc(r->steps, (n ? 2 * n : 8) * sizeof(*r->steps));
	struct step_result *st = &r->steps[r->nsteps++];
	memset(st, 0, sizeof(*st));
	st->line = step->line;
	st->file = xstrdup(step->file);
	st->setup = step->setup;
	st->code = -1;
	st->command = xstrdup(s->answering.verb);
	st->sent = xstrdup(s->answering.sent ? s->answering.sent : "");
	st->expect =
	    xstrdup(step->kind == STEP_CLOSE                           ? "close"
	            : step->kind == STEP_EXPECT && step->expect.source ? step->expect.source
	                                                               : "");
	return st;
}

static void finish(struct session *s, enum verdict verdict, const char *reason);

/* Ends the scenario with a failed step carrying one violation, then one
 * syntax violation per flag in syntax_flags (what arrived of a reply that
 * was given up on; 0 for none). */
static void fail_step_flags(struct session *s, unsigned syntax_flags, enum rule_id rule,
                            const char *ref, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void fail_step_flags(struct session *s, unsigned syntax_flags, enum rule_id rule,
                            const char *ref, const char *fmt, ...)
{
	const struct step *step = &s->scenario->steps[s->pc];
	struct step_result *st = new_step(s, step);
	va_list ap;
	va_start(ap, fmt);
	char *msg = xvasprintf(fmt, ap); /* whole: redacted before any cut */
	va_end(ap);
	step_add_violation(st, rule, ref, "%s", msg);
	free(msg);
	check_syntax_flags(syntax_flags, st);
	st->verdict = VERDICT_FAIL;
	finish(s, VERDICT_FAIL, NULL);
}

#define fail_step(s, ...) fail_step_flags((s), 0, __VA_ARGS__)

/* Syntax flags of a reply that will not be completed (deadline, close,
 * reset): those of its whole lines, and a bare CR in the unterminated rest.
 * Nothing more will arrive, so a CR at the very end is not followed by LF
 * either: a server ending its lines with CR alone never ends a reply, and
 * this names why. */
static unsigned partial_flags(const struct session *s)
{
	unsigned flags = s->reply ? s->reply->flags : 0;
	const uint8_t *in = io_data(&s->io);
	size_t inlen = io_datalen(&s->io);
	for (size_t i = 0; i < inlen; i++)
		if (in[i] == '\r' && (i + 1 == inlen || in[i + 1] != '\n'))
			flags |= REPLY_F_BARE_CR;
	return flags;
}

/* How much of inbuf a message or the transcript quotes: REPLY_PARTIAL_SHOWN
 * bytes, cut where no secret is split. */
static size_t partial_shown(const struct session *s)
{
	return redact_cut(io_data(&s->io), io_datalen(&s->io), REPLY_PARTIAL_SHOWN);
}

/* What has arrived of an unfinished reply, escaped, for messages. */
static char *partial_reply(const struct session *s)
{
	struct buf b = { 0 };
	for (size_t i = 0; i < s->reply->nkept; i++) {
		if (s->reply->kept[i].code >= 0)
			buf_printf(&b, "%03d", s->reply->kept[i].code);
		if (s->reply->kept[i].separator)
			text_escape(&b, &s->reply->kept[i].separator, 1);
		text_escape(&b, s->reply->kept[i].text, s->reply->kept[i].text_len);
		buf_puts(&b, "\\r\\n");
	}
	size_t shown = partial_shown(s);
	text_escape(&b, io_data(&s->io), shown);
	if (shown < io_datalen(&s->io))
		buf_printf(&b, "...(+%zu bytes)", io_datalen(&s->io) - shown);
	return buf_steal(&b);
}

static void pending_push(struct session *s, const char *verb, char *sent_escaped)
{
	if (s->nqueue == s->capqueue) {
		s->capqueue = s->capqueue ? s->capqueue * 2 : 8;
		s->queue = xrealloc(s->queue, s->capqueue * sizeof(*s->queue));
	}
	struct pending *p = &s->queue[s->nqueue++];
	size_t len = strnlen(verb, sizeof(p->verb) - 1);
	memcpy(p->verb, verb, len);
	p->verb[len] = 0;
	p->sent = sent_escaped;
}

/* Takes the head of the queue as the command the next reply answers. */
static void pending_pop(struct session *s)
{
	if (s->qhead < s->nqueue) {
		free(s->answering.sent);
		s->answering = s->queue[s->qhead];
		s->queue[s->qhead].sent = NULL;
		s->qhead++;
		return;
	}
	/* Nothing queued: the greeting if nothing was sent, else the last
	 * command again (an R: step may carry several commands). */
	if (!s->sent_any)
		snprintf(s->answering.verb, sizeof(s->answering.verb), "%s",
		         command_name(CMD_CONNECT));
}

/* The verb of a command line: its first word, upper-cased (VERB_MAX cut). */
static void verb_of(const char *line, size_t len, char *out, size_t outlen)
{
	size_t i = 0;
	while (i < len && i + 1 < outlen && line[i] != ' ' && line[i] != '\r' && line[i] != '\n' &&
	       line[i] != '\t' && line[i] != ':') {
		out[i] = (char)toupper((unsigned char)line[i]);
		i++;
	}
	out[i] = 0;
	if (i == 0)
		snprintf(out, outlen, "%s", command_name(CMD_UNKNOWN));
}

/* Queues one C:, R: or D: step into the output buffer. 0, or -1 on a
 * variable error (scenario error). */
static int queue_step(struct session *s, const struct step *step)
{
	char err[512];
	struct buf line = { 0 };
	char verb[VERB_MAX];
	char *escaped;
	switch (step->kind) {
	case STEP_CMD:
		if (vars_expand(s->opts->vars, step->text, step->text_len, &line, err,
		                sizeof(err)) < 0)
			goto bad_var;
		verb_of(line.data ? line.data : "", line.len, verb, sizeof(verb));
		buf_append(&s->out, line.data ? line.data : "", line.len);
		buf_append(&s->out, "\r\n", 2);
		escaped = escape_kept_dup(line.data ? line.data : "", line.len);
		transcript_escaped(s, "C: ", escaped);
		pending_push(s, verb, escaped);
		break;
	case STEP_RAW:
		/* Raw bytes right after DATA got 354 are message content: their
		 * reply is the end-of-data reply. */
		if (s->data_state == DATA_ACCEPTED)
			snprintf(verb, sizeof(verb), "%s", command_name(CMD_DATA_END));
		else
			verb_of(step->text, step->text_len, verb, sizeof(verb));
		buf_append(&s->out, step->text, step->text_len);
		escaped = escape_kept_dup(step->text, step->text_len);
		transcript_escaped(s, "R: ", escaped);
		pending_push(s, verb, escaped);
		break;
	case STEP_DATA: {
		size_t start = s->out.len;
		size_t shown = 0, not_kept = 0; /* content bytes in the transcript, and not */
		for (size_t i = 0; i < step->ndata; i++) {
			buf_reset(&line);
			const char *d = step->data_lines[i];
			if (vars_expand(s->opts->vars, d, strlen(d), &line, err, sizeof(err)) < 0)
				goto bad_var;
			/* RFC 5321 4.5.2: a line starting with '.' gets one more. */
			if (line.len && line.data[0] == '.')
				buf_append(&s->out, ".", 1);
			buf_append(&s->out, line.data ? line.data : "", line.len);
			buf_append(&s->out, "\r\n", 2);
			if (shown < SENT_BYTES_KEEP) {
				transcript(s, "D: ", line.data ? line.data : "", line.len);
				shown += line.len + 2;
			} else {
				not_kept += line.len + 2;
			}
		}
		if (not_kept) {
			char count[40];
			format_count(not_kept, count, sizeof(count));
			buf_printf(&s->transcript, "D: ... [%s bytes not kept]\n", count);
		}
		buf_append(&s->out, ".\r\n", 3);
		transcript(s, "C: ", ".", 1);
		size_t n = s->out.len - start;
		struct buf sent = { 0 };
		text_escape(&sent, s->out.data + start, n < SENT_DATA_SHOWN ? n : SENT_DATA_SHOWN);
		if (n > SENT_DATA_SHOWN)
			buf_printf(&sent, "...(%zu bytes in all)", n);
		pending_push(s, command_name(CMD_DATA_END), buf_steal(&sent));
		break;
	}
	case STEP_AUTH: {
		/* The exchange's bytes hold secrets: the records say what was
		 * done, never what was sent. */
		enum sasl_mech mech = (enum sasl_mech)sasl_mech_parse(step->text);
		free(s->auth_password);
		s->auth_password =
		    xasprintf("%s%s", s->opts->auth_password ? s->opts->auth_password : "",
		              step->auth_wrong ? SASL_WRONG_PASSWORD_SUFFIX : "");
		sasl_free(&s->sasl);
		sasl_init(&s->sasl, mech, s->opts->auth_user ? s->opts->auth_user : "",
		          s->auth_password, NULL);
		s->auth = step;
		buf_printf(&s->out, "AUTH %s", step->text);
		struct buf ir = { 0 };
		int has_ir = !step->auth_noir && !step->auth_cancel && sasl_initial(&s->sasl, &ir);
		if (has_ir) {
			buf_puts(&s->out, " ");
			buf_append(&s->out, ir.data, ir.len);
			OPENSSL_cleanse(ir.data, ir.len);
		}
		buf_free(&ir);
		buf_puts(&s->out, "\r\n");
		char *shown = xasprintf("AUTH %s%s", step->text,
		                        has_ir ? " <initial response redacted>" : "");
		transcript(s, "C: ", shown, strlen(shown));
		pending_push(s, command_name(CMD_AUTH), shown);
		break;
	}
	default: BUG("not a sending step");
	}
	buf_free(&line);
	return 0;
bad_var:
	buf_free(&line);
	s->error_reason = xasprintf("%s:%d: %s", step->file, step->line, err);
	text_sanitize(s->error_reason, strlen(s->error_reason) + 1);
	return -1;
}

static void advance(struct session *s);

/* RFC 5321 3.1: a server that greets with 554 "MUST still wait for the
 * client to send a QUIT ... and SHOULD respond to any intervening commands
 * with "503 bad sequence of commands"". A session-level rule: the matrix has
 * no state, and its rows for most verbs allow 250. 421 stays allowed (the
 * server may shut down at any time, 3.8); QUIT's reply is the matrix's. */
static void check_after_554(struct session *s, struct step_result *st)
{
	const struct scenario_result *r = s->result;
	if (!st->has_reply || st->code < 0 || st->code == 503 || st->code == 421 ||
	    command_is(st->command, CMD_CONNECT) || command_is(st->command, CMD_QUIT))
		return;
	const struct step_result *greeting = NULL;
	for (size_t i = 0; i + 1 < r->nsteps && !greeting; i++)
		if (command_is(r->steps[i].command, CMD_CONNECT))
			greeting = &r->steps[i];
	if (!greeting || !greeting->has_reply || greeting->code != 554)
		return;
	step_add_violation(st, RULE_SEQUENCE_AFTER_554, NULL, RULE_MSG_SEQUENCE_AFTER_554,
	                   st->command, st->code);
	st->verdict = step_verdict(st, s->opts->strict);
}

static void start_tls(struct session *s, size_t step_index);

/* Checks that depend on what this session has seen: EHLO keyword syntax
 * and ENHANCEDSTATUSCODES once advertised. Also tracks DATA's outcome. */
static void session_checks(struct session *s, struct step_result *st)
{
	const char *verb = s->answering.verb;
	int is_ehlo = command_is(verb, CMD_EHLO), is_helo = command_is(verb, CMD_HELO);
	if (is_ehlo && s->reply->code == 250) {
		check_ehlo_keywords(s->reply, s->opts->strict, st);
		s->enhanced_codes = check_ehlo_lists(s->reply, "ENHANCEDSTATUSCODES");
	} else if (is_helo && s->reply->code == 250) {
		s->enhanced_codes = 0; /* HELO starts a session without extensions */
	} else if (s->enhanced_codes && !is_ehlo && !is_helo && !command_is(verb, CMD_CONNECT)) {
		check_enhanced_status(s->reply, s->opts->strict, st);
	}
	if (command_is(verb, CMD_DATA))
		s->data_state =
		    s->reply->code >= 300 && s->reply->code < 400 ? DATA_ACCEPTED : DATA_REFUSED;
	else
		s->data_state = DATA_NONE;
	model_observe_sent(&s->model, verb, s->answering.sent, s->reply, s->opts->strict, st);
	step_note_habits(st, s->result, s->opts->strict); /* fail only where tested */
}

/* The server closed: RFC 5321 3.8 judges the last reply before the close. */
static int observe_close(struct session *s)
{
	struct scenario_result *r = s->result;
	return model_observe_close(&s->model, r->nsteps ? &r->steps[r->nsteps - 1] : NULL,
	                           s->opts->strict);
}

/* The settle wait is over (its time, or a close): the model judges what
 * came, and the scenario goes on unless that failed the step. */
static void end_settle(struct session *s)
{
	struct step_result *st = &s->result->steps[s->result->nsteps - 1];
	s->settling = 0;
	io_clear_deadline(&s->io);
	if (model_observe_settle(&s->model, s->answering.verb, s->answering.sent, io_data(&s->io),
	                         io_datalen(&s->io), io_eof(&s->io) && !io_errno(&s->io),
	                         s->opts->strict, st)) {
		if (io_datalen(&s->io))
			transcript(s, "S: ", io_data(&s->io), partial_shown(s));
		if (io_eof(&s->io))
			buf_puts(&s->transcript, "-- connection closed\n");
		io_drop(&s->io, io_datalen(&s->io));
		if (st->verdict == VERDICT_FAIL) {
			finish(s, VERDICT_FAIL, NULL);
			return;
		}
	} else if (io_eof(&s->io) && !io_errno(&s->io) && io_datalen(&s->io) == 0 &&
	           s->pc < s->scenario->nsteps && observe_close(s)) {
		/* A close in the wait, after the step's reply and nothing else,
		 * with steps still to send: judged on that reply (3.8), as after
		 * a failed step, not left for the next command to meet as
		 * connection.closed. After the last step the harness would close
		 * too: no scenario judges what comes after its end. */
		buf_puts(&s->transcript, "-- connection closed\n");
		finish(s, VERDICT_FAIL, NULL);
		return;
	}
	set_state(s, SESSION_IDLE);
	advance(s);
}

/* The close linger is over: what came after the failed step's reply is
 * judged like a settle wait's (a failed end of data can still show
 * smuggling), else a close right after that reply is RFC 5321 3.8's. */
static void end_linger(struct session *s)
{
	struct scenario_result *r = s->result;
	struct step_result *last = r->nsteps ? &r->steps[r->nsteps - 1] : NULL;
	int closed = io_eof(&s->io) && !io_errno(&s->io);
	if (last && model_settles(s->answering.verb, s->answering.sent) &&
	    model_observe_settle(&s->model, s->answering.verb, s->answering.sent, io_data(&s->io),
	                         io_datalen(&s->io), closed, s->opts->strict, last)) {
		if (io_datalen(&s->io))
			transcript(s, "S: ", io_data(&s->io), partial_shown(s));
	} else {
		/* More replies than the last one judged: the close follows one
		 * of them, not the last judged reply, so it is not attributed. */
		if (io_datalen(&s->io) > 0)
			s->model.state = MODEL_CLOSED;
		if (closed)
			observe_close(s);
	}
	io_drop(&s->io, io_datalen(&s->io));
	finish(s, VERDICT_FAIL, NULL);
}

/* A step failed: the scenario ends, but a server that closes right after
 * its reply is still judged (RFC 5321 3.8), so read until end of file or
 * CLOSE_LINGER_MS, then finish. With s->settling, the same wait (for
 * settle_ms) after an end of data or a bare-CR/LF line, then end_settle(). */
static void linger(struct session *s)
{
	io_fill(&s->io);
	if (io_eof(&s->io) || !io_is_open(&s->io) || (!s->settling && s->keep_going) ||
	    io_datalen(&s->io) == SESSION_INBUF_SIZE) {
		if (s->settling)
			end_settle(s);
		else
			end_linger(s);
		return;
	}
	if (s->state != SESSION_LINGER) {
		set_state(s, SESSION_LINGER);
		io_set_timer_ms(&s->io, s->settling ? s->opts->settle_ms : CLOSE_LINGER_MS);
	}
}

/* Whether a failed step ends the session: always in run; in load only when
 * the scenario's own expectation failed (go_on_after_findings). */
static int ends_session(const struct session *s, const struct step_result *st)
{
	if (!s->opts->go_on_after_findings)
		return 1;
	for (size_t i = 0; i < st->nviolations; i++) {
		const struct rule *r = rule_by_id(st->violations[i].rule);
		if (!r || r->category == RULE_CAT_EXPECT || r->category == RULE_CAT_SESSION)
			return 1;
	}
	return 0;
}

/* A 334 during an A: step: judge it, answer it, and read the next reply
 * for the same S: step. 0 when the exchange goes on. */
static int auth_continue(struct session *s, const struct step *step)
{
	struct step_result *st = new_step(s, step);
	free(st->expect);
	st->expect = xstrdup("334 (SASL challenge)");
	check_reply(s->opts->profile, command_name(CMD_AUTH), s->reply, NULL, s->opts->strict, st);
	session_checks(s, st);
	for (size_t i = 0; i < st->nlines; i++) {
		buf_puts(&s->transcript, "S: ");
		buf_puts(&s->transcript, st->lines[i]);
		buf_puts(&s->transcript, "\n");
	}
	if (st->verdict == VERDICT_FAIL && !s->keep_going) {
		finish(s, VERDICT_FAIL, NULL);
		return -1;
	}
	struct buf resp = { 0 };
	char err[512];
	int rc = SASL_ERR_CHALLENGE;
	if (s->auth->auth_cancel && ++s->sasl.round > 1) {
		/* "*" got another challenge instead of 501 (RFC 4954 4). */
		snprintf(err, sizeof(err),
		         "challenge %d after the client cancelled with \"*\"; the "
		         "exchange is given up",
		         s->sasl.round);
		goto bad_challenge;
	}
	if (s->auth->auth_cancel) {
		buf_puts(&resp, "*");
	} else {
		char *challenge = s->reply->nkept ? xstrndup((const char *)s->reply->kept[0].text,
		                                             s->reply->kept[0].text_len)
		                                  : xstrdup("");
		/* The challenge is the text after "334 ", trimmed. */
		char *c = challenge;
		while (*c == ' ')
			c++;
		size_t cl = strlen(c);
		while (cl && c[cl - 1] == ' ')
			c[--cl] = 0;
		rc = sasl_respond(&s->sasl, c, &resp, err, sizeof(err));
		free(challenge);
		if (rc < 0)
			goto bad_challenge;
	}
	buf_append(&s->out, resp.data ? resp.data : "", resp.len);
	buf_puts(&s->out, "\r\n");
	if (resp.data)
		OPENSSL_cleanse(resp.data, resp.len);
	buf_free(&resp);
	transcript(s, "C: ", s->auth->auth_cancel ? "*" : "<SASL response redacted>",
	           s->auth->auth_cancel ? 1 : 24);
	free(s->answering.sent);
	s->answering.sent = xstrdup(s->auth->auth_cancel ? "*" : "<SASL response redacted>");
	disarm_deadline(s);
	set_state(s, SESSION_IDLE);
	advance(s); /* flushes the response, then reads again for this S: step */
	return 0;
bad_challenge:
	step_add_violation(
	    st, rc == SASL_ERR_SIGNATURE ? RULE_AUTH_SERVER_SIGNATURE : RULE_AUTH_CHALLENGE, NULL,
	    RULE_MSG_AUTH, err);
	st->verdict = VERDICT_FAIL;
	buf_free(&resp);
	finish(s, VERDICT_FAIL, NULL);
	return -1;
}

static void complete_reply(struct session *s)
{
	const struct step *step = &s->scenario->steps[s->pc];
	disarm_deadline(s);
	if (s->auth && s->reply->code == 334 && command_is(s->answering.verb, CMD_AUTH)) {
		auth_continue(s, step);
		return;
	}
	if (command_is(s->answering.verb, CMD_AUTH)) {
		s->auth = NULL; /* the exchange is over */
		sasl_free(&s->sasl);
		memset(&s->sasl, 0, sizeof(s->sasl));
	}
	struct step_result *st = new_step(s, step);
	check_reply(s->opts->profile, s->answering.verb, s->reply, &step->expect, s->opts->strict,
	            st);
	check_after_554(s, st);
	session_checks(s, st);
	int missed = expect_apply_level(st, s->scenario->level, s->opts->strict);
	if (s->on_judged)
		s->on_judged(s, st); /* load.c: the reply's latency, once judged */
	for (size_t i = 0; i < st->nlines; i++) {
		buf_puts(&s->transcript, "S: ");
		buf_puts(&s->transcript, st->lines[i]);
		buf_puts(&s->transcript, "\n");
	}
	if (st->lines_total > st->nlines)
		buf_printf(&s->transcript, "S: ...(%zu more lines)\n",
		           st->lines_total - st->nlines);
	if (st->verdict == VERDICT_FAIL && !s->keep_going && ends_session(s, st)) {
		linger(s);
		return;
	}
	if (missed && !s->keep_going) {
		/* A SHOULD scenario's expectation missed: a warning, and what
		 * follows was written for the expected reply. */
		buf_puts(&s->transcript,
		         "-- scenario ends here: its SHOULD/MAY expectation was not met\n");
		finish(s, VERDICT_PASS, NULL);
		return;
	}
	if (step->kind == STEP_EXPECT && expect_code_ends(&step->expect, s->reply->code)) {
		/* "S: 220|503!": an allowed answer after which nothing more can be
		 * tested in this scenario. */
		buf_printf(&s->transcript, "-- scenario ends here: %03d is an allowed answer\n",
		           s->reply->code);
		finish(s, VERDICT_PASS, NULL);
		return;
	}
	if (s->on_reply)
		s->on_reply(s, s->reply); /* may grow the step list: step is stale */
	s->pc++;
	if (s->opts->settle_ms > 0 && !s->keep_going && s->qhead >= s->nqueue &&
	    (s->pc >= s->scenario->nsteps || (s->scenario->steps[s->pc].kind != STEP_EXPECT &&
	                                      s->scenario->steps[s->pc].kind != STEP_CLOSE)) &&
	    model_settles(s->answering.verb, s->answering.sent)) {
		s->settling = 1;
		linger(s);
		return;
	}
	if (command_is(s->answering.verb, CMD_STARTTLS) && s->reply->code == 220 &&
	    !io_is_tls(&s->io) && s->opts->tls_ready) {
		start_tls(s, s->result->nsteps - 1);
		return;
	}
	advance(s);
}

/* Feeds inbuf to the reply reader; acts when the reply is whole or dead. */
static void try_reply(struct session *s)
{
	long used = reply_feed(s->reply, io_data(&s->io), io_datalen(&s->io));
	if (used < 0) {
		/* Abandoned (overlong line, too many lines): judge what we have. */
		const struct step *step = &s->scenario->steps[s->pc];
		disarm_deadline(s);
		struct step_result *st = new_step(s, step);
		check_reply(s->opts->profile, s->answering.verb, s->reply, NULL, s->opts->strict,
		            st);
		st->verdict = VERDICT_FAIL;
		transcript(s, "S: ", io_data(&s->io), partial_shown(s));
		buf_puts(&s->transcript, "-- reply abandoned\n");
		finish(s, VERDICT_FAIL, NULL);
		return;
	}
	if (used > 0)
		io_drop(&s->io, (size_t)used);
	if (s->reply->complete) {
		complete_reply(s);
		return;
	}
	int eof = io_eof(&s->io), read_error = io_errno(&s->io);
	size_t inlen = io_datalen(&s->io);
	if (eof && inlen == 0 && s->reply->nlines == 0 &&
	    s->scenario->steps[s->pc].expect.close_ok) {
		/* "S: 5xx|close": closing is one of the answers allowed; nothing
		 * after it can run, so the scenario ends here. */
		disarm_deadline(s);
		observe_close(s);
		struct step_result *st = new_step(s, &s->scenario->steps[s->pc]);
		st->verdict = VERDICT_PASS;
		buf_puts(&s->transcript, "-- closed by server (allowed here)\n");
		finish(s, VERDICT_PASS, NULL);
		return;
	}
	if (eof) {
		/* A close between replies, not inside one: judged on the reply
		 * before it (3.8); the command left unanswered is its consequence,
		 * not a second finding (one cause, one finding). But a close right
		 * after QUIT answers QUIT: its finding is the missing 221. */
		int judged = 0;
		if (inlen == 0 && s->reply->nlines == 0)
			judged = command_is(s->answering.verb, CMD_QUIT)
			             ? model_observe_close(&s->model, NULL, s->opts->strict)
			             : observe_close(s);
		if (judged && !read_error) {
			buf_puts(&s->transcript, "-- connection closed\n");
			finish(s, VERDICT_FAIL, NULL);
			return;
		}
		char *partial = partial_reply(s);
		buf_printf(&s->transcript, "-- connection %s\n", read_error ? "reset" : "closed");
		unsigned flags = partial_flags(s);
		if (read_error)
			fail_step_flags(s, flags, RULE_CONNECTION_RESET, NULL,
			                RULE_MSG_CONNECTION_RESET, strerror(read_error),
			                s->answering.verb, partial);
		else
			fail_step_flags(s, flags, RULE_CONNECTION_CLOSED, NULL,
			                RULE_MSG_CONNECTION_CLOSED, s->answering.verb, partial);
		free(partial);
	}
}

/* Bytes before we send a new group, with every command answered: a reply
 * nobody asked for (RFC 5321 4.2: exactly one reply per command). A 421 is
 * the one unsolicited reply allowed (RFC 5321 3.8). */
static void check_unsolicited(struct session *s)
{
	const uint8_t *in = io_data(&s->io);
	size_t inlen = io_datalen(&s->io);
	if (s->qhead < s->nqueue || inlen == 0 || s->result->nsteps == 0)
		return;
	if (inlen >= 3 && memcmp(in, "421", 3) == 0)
		return;
	struct step_result *last = &s->result->steps[s->result->nsteps - 1];
	struct buf b = { 0 };
	text_escape(&b, in, partial_shown(s));
	step_add_violation(last, RULE_SYNTAX_UNSOLICITED, NULL, RULE_MSG_SYNTAX_UNSOLICITED,
	                   last->command, b.data ? b.data : "");
	buf_free(&b);
	transcript(s, "S: ", in, partial_shown(s));
	last->verdict = step_verdict(last, s->opts->strict);
	io_drop(&s->io, inlen);
	if (last->verdict == VERDICT_FAIL && !s->keep_going)
		finish(s, VERDICT_FAIL, NULL);
}

/* S: close: anything but end of file is a violation. */
static void check_close(struct session *s)
{
	if (io_datalen(&s->io) > 0) {
		char *got = text_escape_dup(io_data(&s->io), partial_shown(s));
		transcript(s, "S: ", io_data(&s->io), partial_shown(s));
		fail_step(s, RULE_EXPECT_CLOSE, NULL, RULE_MSG_EXPECT_CLOSE, s->answering.verb,
		          got);
		free(got);
		return;
	}
	if (!io_eof(&s->io))
		return;
	buf_puts(&s->transcript, "-- closed by server\n");
	disarm_deadline(s);
	observe_close(s);
	struct step_result *st = new_step(s, &s->scenario->steps[s->pc]);
	st->verdict = VERDICT_PASS;
	s->pc++;
	advance(s);
}

static void begin_expect(struct session *s, const struct step *step)
{
	pending_pop(s);
	if (step->kind == STEP_CLOSE) {
		set_state(s, SESSION_AWAIT_CLOSE);
		arm_deadline(s, s->opts->timeout_s > 0 && s->opts->timeout_s < TIMEOUT_CLOSE_S
		                    ? s->opts->timeout_s
		                    : TIMEOUT_CLOSE_S);
		check_close(s);
		return;
	}
	reply_init(s->reply);
	set_state(s, SESSION_READING);
	arm_deadline(s, reply_timeout_s(s, s->answering.verb));
	try_reply(s);
}

/* Records what a report shows of the TLS session (first handshake only). */
static void record_tls(struct session *s)
{
	struct tls_info info;
	io_tls_info(&s->io, &info);
	struct scenario_result *r = s->result;
	if (!r->tls.protocol) {
		r->tls.protocol = info.protocol;
		r->tls.cipher = info.cipher;
		r->tls.subject = info.subject;
		redact(r->tls.subject); /* the server's certificate names itself */
		r->tls.verified = info.verified;
		r->tls.verify_error = info.verify_error; /* tls.certificate-untrusted */
		info.protocol = info.cipher = info.subject = info.verify_error = NULL;
	}
	buf_printf(&s->transcript, "-- TLS established: %s, %s%s%s\n", r->tls.protocol,
	           r->tls.cipher, r->tls.subject ? ", peer " : "",
	           r->tls.subject ? r->tls.subject : "");
	tls_info_free(&info);
}

/* The handshake is done: the server must forget what it knew (RFC 3207
 * 4.2), and so does the session: EHLO keywords, commands sent before. */
static void tls_established(struct session *s)
{
	disarm_deadline(s);
	record_tls(s);
	s->enhanced_codes = 0;
	s->data_state = DATA_NONE;
	s->injected = 0;
	for (size_t i = s->qhead; i < s->nqueue; i++) {
		free(s->queue[i].sent);
		s->queue[i].sent = NULL;
		s->injected++;
	}
	s->qhead = s->nqueue;
	if (s->injected) {
		/* Replies to those commands, from a server that kept them across
		 * the handshake (CVE-2011-0411), arrive right away: wait briefly. */
		set_state(s, SESSION_TLS_GRACE);
		io_pause_read(&s->io, 1);
		io_set_timer_ms(&s->io, STARTTLS_INJECTION_GRACE_MS);
		return;
	}
	set_state(s, SESSION_IDLE);
	advance(s);
}

/* Points pc at the step a handshake failure belongs to: the S: that took
 * the 220 to STARTTLS (already passed), or the greeting's S: (implicit). */
static void tls_failure_step(struct session *s)
{
	if (s->starttls_index != (size_t)-1 && s->pc > 0)
		s->pc--;
	if (s->pc >= s->scenario->nsteps)
		s->pc = s->scenario->nsteps - 1;
}

/* The handshake failed: the violation goes on the step that got the 220 to
 * STARTTLS (it shows that reply; a new step would say "no reply"), or on
 * the greeting's S: with implicit TLS (RFC 8314 3.3). */
static void handshake_failed(struct session *s, enum rule_id rule, const char *msg)
{
	if (s->starttls_index != (size_t)-1 && s->starttls_index < s->result->nsteps) {
		struct step_result *st = &s->result->steps[s->starttls_index];
		step_add_violation(st, rule, NULL, "%s", msg);
		st->verdict = VERDICT_FAIL;
		finish(s, VERDICT_FAIL, NULL);
		return;
	}
	tls_failure_step(s);
	fail_step(s, rule, rule == RULE_TLS_HANDSHAKE ? "RFC 8314 3.3" : NULL, "%s", msg);
}

/* The I/O layer reports the handshake failed, with OpenSSL's reason;
 * untrusted: --tls-verify require refused the certificate. */
static void tls_failed(struct session *s, const char *err, int untrusted)
{
	buf_printf(&s->transcript, "-- TLS handshake failed: %s\n", err);
	if (untrusted) {
		if (!s->result->tls.verify_error)
			s->result->tls.verify_error = xstrdup(err);
		char *msg = xasprintf(RULE_MSG_TLS_CERT_UNTRUSTED, err);
		handshake_failed(s, RULE_TLS_CERT_UNTRUSTED, msg);
		free(msg);
		return;
	}
	char *msg = xasprintf(RULE_MSG_TLS_HANDSHAKE, err);
	handshake_failed(s, RULE_TLS_HANDSHAKE, msg);
	free(msg);
}

/* Starts TLS on the connection. step_index: the result of the 220 to
 * STARTTLS, or (size_t)-1 for implicit TLS. */
static void start_tls(struct session *s, size_t step_index)
{
	char err[512];
	s->starttls_index = step_index;
	if (step_index != (size_t)-1 && io_datalen(&s->io) > 0) {
		/* The server spoke in plaintext after its 220 (RFC 3207 4: the
		 * client begins the handshake next). */
		struct step_result *st = &s->result->steps[step_index];
		char *got = text_escape_dup(io_data(&s->io), partial_shown(s));
		step_add_violation(st, RULE_SYNTAX_UNSOLICITED, "RFC 3207 4",
		                   RULE_MSG_SYNTAX_UNSOLICITED_STARTTLS, got);
		free(got);
		st->verdict = step_verdict(st, s->opts->strict);
		io_drop(&s->io, io_datalen(&s->io));
		if (st->verdict == VERDICT_FAIL && !s->keep_going) {
			finish(s, VERDICT_FAIL, NULL);
			return;
		}
	}
	if (step_index == (size_t)-1)
		snprintf(s->answering.verb, sizeof(s->answering.verb), "%s",
		         command_name(CMD_CONNECT));
	set_state(s, SESSION_HANDSHAKE);
	arm_deadline(s, s->opts->timeout_s > 0 ? s->opts->timeout_s : TIMEOUT_OTHER_S);
	if (io_start_tls(&s->io, err, sizeof(err)) < 0)
		finish(s, VERDICT_ERROR, err); /* else IO_TLS_READY or IO_TLS_FAILED */
}

/* The grace period after a handshake that discarded pipelined commands. */
static void end_tls_grace(struct session *s)
{
	io_fill(&s->io);
	if (io_datalen(&s->io) > 0 && s->starttls_index != (size_t)-1) {
		struct step_result *st = &s->result->steps[s->starttls_index];
		char *got = text_escape_dup(io_data(&s->io), partial_shown(s));
		transcript(s, "S: ", io_data(&s->io), partial_shown(s));
		step_add_violation(st, RULE_STARTTLS_INJECTION, NULL, RULE_MSG_STARTTLS_INJECTION,
		                   s->injected, got);
		free(got);
		st->verdict = VERDICT_FAIL;
		io_drop(&s->io, io_datalen(&s->io));
		finish(s, VERDICT_FAIL, NULL);
		return;
	}
	set_state(s, SESSION_IDLE);
	io_pause_read(&s->io, 0);
	advance(s);
}

/* A script written against another server (a plain transcript with S: *)
 * can go on where this server's state leaves nothing to send: after 221 to
 * QUIT the session is over; after 354, a C: line would be message content.
 * Why the rest cannot run, or NULL. */
static const char *script_ends_here(const struct session *s, const struct step *step)
{
	if (s->model.last_cmd == CMD_QUIT && s->model.last_code == 221)
		return "the server ended the session (221 to QUIT)";
	if (step->kind == STEP_CMD && s->data_state == DATA_ACCEPTED)
		return "the server accepted DATA (354) where the script goes on with a command";
	return NULL;
}

static void advance(struct session *s)
{
	const struct scenario *sc = s->scenario;
	while (s->state != SESSION_DONE && s->pc < sc->nsteps) {
		const struct step *step = &sc->steps[s->pc];
		if (step->kind == STEP_CMD || step->kind == STEP_RAW || step->kind == STEP_DATA ||
		    step->kind == STEP_AUTH) {
			if (s->out.len == 0) {
				/* A new group, before its commands are queued: every
				 * command sent so far has had its reply, so bytes that
				 * are here already answer nothing. */
				io_fill(&s->io);
				check_unsolicited(s);
				if (s->state == SESSION_DONE)
					return;
			}
			if ((step->kind == STEP_RAW || step->kind == STEP_DATA) &&
			    s->data_state == DATA_REFUSED) {
				/* DATA was refused: its content is not sent, and the S:
				 * for the end-of-data reply has nothing to read (RFC 5321
				 * 3.3 lets a server refuse DATA or fail it after 354). */
				buf_printf(&s->transcript,
				           "-- message content not sent: DATA was refused\n");
				s->data_state = DATA_NONE;
				s->pc++;
				if (s->pc < sc->nsteps && sc->steps[s->pc].kind == STEP_EXPECT)
					s->pc++;
				continue;
			}
			const char *ends = s->out.len == 0 ? script_ends_here(s, step) : NULL;
			if (ends) {
				size_t left = 0;
				for (size_t k = s->pc; k < sc->nsteps; k++)
					left += sc->steps[k].kind != STEP_EXPECT;
				char *why =
				    xasprintf("%s: the %zu step(s) after it not run", ends, left);
				buf_printf(&s->transcript, "-- %s\n", why);
				finish(s, VERDICT_PASS, why);
				free(why);
				return;
			}
			if (queue_step(s, step) < 0) {
				finish(s, VERDICT_ERROR, s->error_reason);
				return;
			}
			s->data_state = DATA_NONE;
			s->pc++;
			continue;
		}
		if (s->out.len > 0) {
			s->sent_any = 1;
			s->group_sent_us = clock_us();
			set_state(s, SESSION_WRITING);
			if (io_send(&s->io, &s->out, write_timeout_s(s))) {
				set_state(s, SESSION_IDLE); /* written at once */
				continue;
			}
			return; /* IO_DRAINED continues */
		}
		begin_expect(s, step);
		return;
	}
	if (s->state == SESSION_DONE)
		return;
	/* After the last step: what has already arrived answers nothing either. */
	io_fill(&s->io);
	check_unsolicited(s);
	if (s->state != SESSION_DONE)
		finish(s, VERDICT_PASS, NULL);
}

/* The deadline or a short wait ran out: what that means depends on what
 * the session was waiting for. */
static void on_timer(struct session *s)
{
	long long waited = io_waited_s(&s->io);
	switch (s->state) {
	case SESSION_CONNECTING:
		finish(s, VERDICT_ERROR, "timed out connecting to the target");
		return;
	case SESSION_WRITING:
		buf_puts(&s->transcript, "-- timeout sending\n");
		if (io_budget_spent(&s->io))
			fail_step(s, RULE_TIMEOUT, NULL, RULE_MSG_TIMEOUT_BUDGET_SENDING,
			          s->budget_s);
		else
			fail_step(s, RULE_TIMEOUT, "RFC 5321 4.5.3.2.5", RULE_MSG_TIMEOUT_SENDING,
			          waited);
		return;
	case SESSION_READING: {
		char *partial = partial_reply(s);
		buf_puts(&s->transcript, "-- timeout\n");
		if (io_budget_spent(&s->io))
			fail_step_flags(s, partial_flags(s), RULE_TIMEOUT, NULL,
			                RULE_MSG_TIMEOUT_BUDGET, s->budget_s, s->answering.verb,
			                partial);
		else
			fail_step_flags(s, partial_flags(s), RULE_TIMEOUT, NULL, RULE_MSG_TIMEOUT,
			                s->answering.verb, reply_timeout_s(s, s->answering.verb),
			                partial);
		free(partial);
		return;
	}
	case SESSION_HANDSHAKE: {
		buf_puts(&s->transcript, "-- TLS handshake timeout\n");
		char *msg = xasprintf(RULE_MSG_TLS_HANDSHAKE_TIMEOUT, (long long)waited);
		handshake_failed(s, RULE_TLS_HANDSHAKE, msg);
		free(msg);
		return;
	}
	case SESSION_TLS_GRACE: end_tls_grace(s); return;
	case SESSION_LINGER:
		if (s->settling)
			end_settle(s);
		else
			end_linger(s);
		return;
	case SESSION_AWAIT_CLOSE:
		buf_puts(&s->transcript, "-- still open\n");
		fail_step(s, RULE_EXPECT_CLOSE, NULL, RULE_MSG_EXPECT_CLOSE_OPEN, waited,
		          s->answering.verb);
		return;
	default: return;
	}
}

static void session_connected(struct session *s)
{
	disarm_deadline(s);
	set_state(s, SESSION_IDLE);
	if (s->opts->tls_implicit && !io_eof(&s->io)) {
		start_tls(s, (size_t)-1); /* RFC 8314: TLS before the greeting */
		return;
	}
	advance(s);
}

/* No address could be reached, or no descriptor was free. */
static void connect_failed(struct session *s, const char *err)
{
	int e = io_errno(&s->io);
	if (e == EMFILE || e == ENFILE) {
		/* Out of descriptors: not the server's fault nor a verdict; the
		 * scheduler starts this scenario again when a session ends. */
		s->no_fd = 1;
		finish(s, VERDICT_ERROR, err);
		return;
	}
	s->unreachable = 1;
	finish(s, VERDICT_ERROR, err);
}

/* The I/O layer's events: the one way the network reaches the script. */
static void on_io(struct io *io, enum io_event ev, void *arg)
{
	struct session *s = arg;
	if (s->state == SESSION_DONE)
		return;
	switch (ev) {
	case IO_CONNECTED: session_connected(s); return;
	case IO_CONNECT_FAILED: connect_failed(s, io_errmsg(io)); return;
	case IO_INPUT:
	case IO_EOF:
	case IO_ERROR:
		/* Bytes arrived, or the server closed (io_eof(), io_errno()): the
		 * step waiting for them goes on; in other states they wait. */
		if (s->state == SESSION_READING)
			try_reply(s);
		else if (s->state == SESSION_AWAIT_CLOSE)
			check_close(s);
		else if (s->state == SESSION_LINGER)
			linger(s);
		return;
	case IO_DRAINED:
		set_state(s, SESSION_IDLE);
		advance(s);
		return;
	case IO_TLS_READY: tls_established(s); return;
	case IO_TLS_FAILED:
	case IO_TLS_UNTRUSTED: tls_failed(s, io_errmsg(io), ev == IO_TLS_UNTRUSTED); return;
	case IO_TIMEOUT: on_timer(s); return;
	}
}

static void session_connect(struct session *s)
{
	char err[512] = "";
	int rc = io_connect(&s->io, s->opts->target,
	                    s->opts->timeout_s > 0 ? s->opts->timeout_s : TIMEOUT_CONNECT_S, err,
	                    sizeof(err));
	if (rc < 0) {
		connect_failed(s, err);
		return;
	}
	if (rc == 1) {
		session_connected(s);
		return;
	}
	set_state(s, SESSION_CONNECTING); /* IO_CONNECTED or IO_CONNECT_FAILED follows */
}

void session_clear(struct session *s)
{
	size_t in = offsetof(struct session, io) + offsetof(struct io, inbuf);
	size_t rest = in + sizeof(s->io.inbuf);
	memset(s, 0, in);
	memset((char *)s + rest, 0, sizeof(*s) - rest);
}

void session_start(struct session *s)
{
	s->started_ms = clock_ms();
	s->group_sent_us = clock_us(); /* the greeting's latency runs from here */
	s->reply = s->reply_spare ? s->reply_spare : xmalloc(sizeof(*s->reply));
	io_init(&s->io, s->base, s->backend, on_io, s);
	/* The whole scenario's budget: --scenario-timeout, or the scenario's
	 * own timeout: header when that is shorter. No reply re-arms it. */
	s->budget_s = s->opts->scenario_timeout_s;
	if (s->scenario->timeout_s > 0 &&
	    (s->budget_s <= 0 || s->scenario->timeout_s < s->budget_s))
		s->budget_s = s->scenario->timeout_s;
	if (s->budget_s > 0)
		io_set_budget(&s->io, s->started_ms + (int64_t)s->budget_s * 1000);
	s->state = SESSION_IDLE;
	session_connect(s);
}

static void finish(struct session *s, enum verdict verdict, const char *reason)
{
	if (s->state == SESSION_DONE)
		return;
	set_state(s, SESSION_DONE);
	struct scenario_result *r = s->result;
	if (verdict != VERDICT_ERROR)
		for (size_t i = 0; i < r->nsteps; i++)
			if (r->steps[i].verdict == VERDICT_FAIL)
				verdict = VERDICT_FAIL;
	char *inconclusive = NULL;
	char *rcpt = vars_value(s->opts->vars, "rcpt"),
	     *sender = vars_value(s->opts->vars, "sender");
	r->verdict = scenario_judge(r, verdict, s->opts->profile, rcpt, sender, &inconclusive);
	free(rcpt);
	free(sender);
	if (inconclusive) {
		free(r->reason);
		r->reason = inconclusive;
		buf_printf(&s->transcript, "-- inconclusive: %s\n", inconclusive);
	}
	if (reason && !r->reason) {
		r->reason = xstrdup(reason);
		redact(r->reason); /* TLS errors quote what the server sent */
	}
	r->duration_ms = clock_ms() - s->started_ms;
	r->transcript = buf_steal(&s->transcript);
	const struct step_result *last = r->nsteps ? &r->steps[r->nsteps - 1] : NULL;
	if (s->opts->reset_after_quit && last && last->has_reply && last->code == 221 &&
	    command_is(last->command, CMD_QUIT))
		io_reset_on_close(&s->io);
	session_release(s);
	if (s->on_done)
		s->on_done(s);
}

void session_abort(struct session *s, const char *reason)
{
	finish(s, VERDICT_ERROR, reason);
}

/* Frees the connection (the I/O layer) and the script's state; the result
 * stays. Safe to call twice. */
void session_release(struct session *s)
{
	io_close(&s->io);
	for (size_t i = s->qhead; i < s->nqueue; i++)
		free(s->queue[i].sent);
	free(s->queue);
	s->queue = NULL;
	s->nqueue = s->qhead = s->capqueue = 0;
	free(s->answering.sent);
	s->answering.sent = NULL;
	if (s->reply != s->reply_spare)
		free(s->reply);
	s->reply = NULL;
	sasl_free(&s->sasl);
	memset(&s->sasl, 0, sizeof(s->sasl));
	if (s->auth_password) {
		OPENSSL_cleanse(s->auth_password, strlen(s->auth_password));
		free(s->auth_password);
		s->auth_password = NULL;
	}
	s->auth = NULL;
	buf_free(&s->out);
	buf_free(&s->transcript);
	free(s->error_reason);
	s->error_reason = NULL;
}
