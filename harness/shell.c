/*
 * shell.c - the interactive shell. See shell.h and docs/shell.md.
 *
 * One connection, driven in the foreground: a line is read (libedit on a
 * terminal, plain lines from a pipe), sent with CRLF, and every reply owed
 * is read under its deadline, printed as received and judged (live.h).
 * Replies are owed in order (a queue of verbs), so a reply that Ctrl-C
 * stopped waiting for is shown, and judged against the right command,
 * before the next one. What was sent and received goes into a recording
 * for .save.
 */
#include "shell.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <editline/readline.h>

#include "conn_wait.h"
#include "credentials.h"
#include "command.h"
#include "live.h"
#include "matrix.h"
#include "recording.h"
#include "run_options.h"
#include "reply.h"
#include "sasl.h"
#include "smtp_limits.h"
#include "tls.h"
#include "util.h"

#define SHELL_PROMPT "smtp> "
/* Replies that may be owed at once (commands sent, reply not yet read). */
#define SHELL_PENDING_MAX 256
/* Bytes read from the connection at a time. */
#define SHELL_READ_CHUNK 4096
/* A .data file is at most this large. */
#define SHELL_DATA_FILE_MAX (64 << 20)

enum shell_exit { SHELL_OK = 0, SHELL_USAGE = 2, SHELL_UNREACHABLE = 3 };

struct shell {
	const char *target_arg; /* -t */
	const char *profile;
	int strict;
	int timeout_s;   /* --timeout, 0: RFC 5321 4.5.3.2 per command */
	int color;       /* ANSI colours on the verdict line */
	int interactive; /* stdin is a terminal: libedit */
	struct target target;
	struct conn conn;
	int connected;       /* conn is open (not closed by either side) */
	struct buf in;       /* bytes read and not yet part of a whole reply */
	size_t parsed;       /* in[0..parsed) belong to the reply being read */
	struct reply *reply; /* the reply being read (kept across Ctrl-C) */
	struct {
		char verb[16];        /* the command whose reply is owed, as sent */
		enum command cmd;     /* what command.c makes of verb */
		char *sent;           /* what was sent, escaped (owned); NULL when not
		                                 kept (SASL responses: credentials) */
	} pending[SHELL_PENDING_MAX]; /* oldest first */
	size_t npending;
	struct live_state ls;
	struct recording rec;
	struct auth_args auth;
	char *password; /* loaded at start with --auth-user, never shown */
	int typed_auth; /* a hand-typed AUTH exchange is going on: not recorded */
	int typed_auth_noted;
	int last_code;   /* code of the last reply handled */
	char *last_text; /* its first line's text, as received (a 334 challenge) */
};

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
}

static void info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void info(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("* ", stdout);
	vprintf(fmt, ap);
	fputs("\n", stdout);
	va_end(ap);
	fflush(stdout);
}

/* --timeout for every reply, else RFC 5321 4.5.3.2 per command. */
static int reply_timeout(const struct shell *sh, enum command cmd)
{
	return sh->timeout_s > 0 ? sh->timeout_s : live_reply_timeout_s(cmd);
}

/* A reply is owed to verb; sent (bytes, len) is kept for the protocol model,
 * or NULL (a SASL response is never kept). */
static void pending_push_sent(struct shell *sh, const char *verb, const char *sent, size_t len)
{
	if (sh->npending == SHELL_PENDING_MAX) {
		info("more than %d replies owed: the oldest is forgotten", SHELL_PENDING_MAX);
		free(sh->pending[0].sent);
		memmove(&sh->pending[0], &sh->pending[1],
		        sizeof(sh->pending[0]) * (SHELL_PENDING_MAX - 1));
		sh->npending--;
	}
	snprintf(sh->pending[sh->npending].verb, sizeof(sh->pending[0].verb), "%s",
	         verb[0] ? verb : command_name(CMD_UNKNOWN));
	sh->pending[sh->npending].cmd = command_from_name(sh->pending[sh->npending].verb);
	sh->pending[sh->npending++].sent = sent ? text_escape_dup(sent, len) : NULL;
}

/* A command without an argument worth keeping: its name is what was sent. */
static void pending_push(struct shell *sh, enum command cmd)
{
	pending_push_sent(sh, command_name(cmd), cmd == CMD_AUTH ? NULL : "", 0);
}

static void pending_pop(struct shell *sh)
{
	if (sh->npending == 0)
		return;
	free(sh->pending[0].sent);
	memmove(&sh->pending[0], &sh->pending[1], sizeof(sh->pending[0]) * (sh->npending - 1));
	sh->npending--;
}

static void pending_clear(struct shell *sh)
{
	while (sh->npending > 0)
		pending_pop(sh);
}

/* Prints the bytes of a reply as received: one line each, escaped, CRLF
 * removed (a bare LF shows as \n at the end of its line). */
static void print_raw_reply(const uint8_t *p, size_t n)
{
	size_t start = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && p[i] != '\n')
			continue;
		size_t end = i < n ? i + 1 : n;
		if (end == start)
			break;
		size_t len = end - start;
		if (len >= 2 && p[end - 2] == '\r' && p[end - 1] == '\n')
			len -= 2;
		char *line = text_escape_dup(p + start, len);
		redact(line);
		printf("%s\n", line);
		free(line);
		start = end;
	}
}

static void connection_lost(struct shell *sh, const char *why)
{
	info("%s", why);
	conn_close(&sh->conn);
	sh->connected = 0;
	sh->ls.closed = 1;
	pending_clear(sh);
	buf_reset(&sh->in);
	sh->parsed = 0;
	if (!sh->typed_auth)
		recording_close(&sh->rec);
}

static void print_tls(const struct conn *c, struct live_state *ls)
{
	struct tls_info ti;
	tls_info_get(c, &ti);
	info("TLS up: %s %s", ti.protocol ? ti.protocol : "?", ti.cipher ? ti.cipher : "?");
	info("certificate: subject %s", ti.subject ? ti.subject : "(none)");
	info("certificate: issuer %s", ti.issuer ? ti.issuer : "(none)");
	if (ti.verified)
		info("certificate: verified (chain and name)");
	else
		info("certificate: NOT verified%s%s",
		     ti.verify_error ? ": " : " (--tls-verify off)",
		     ti.verify_error ? ti.verify_error : "");
	live_state_tls_started(ls, ti.protocol, ti.cipher, ti.verified);
	tls_info_free(&ti);
}

/* After a 2xx to STARTTLS: the handshake on the same socket (RFC 3207). */
static void start_tls(struct shell *sh)
{
	if (sh->in.len > sh->parsed) {
		info("warning: %zu bytes came after the STARTTLS reply, in the clear; discarded "
		     "(RFC 3207 5: a client must not take them as replies under TLS)",
		     sh->in.len - sh->parsed);
		sh->in.len = sh->parsed;
	}
	if (sh->npending > 0) {
		info("warning: %zu commands sent after STARTTLS are discarded", sh->npending);
		pending_clear(sh);
	}
	char err[512];
	int64_t deadline = clock_ms() + (int64_t)reply_timeout(sh, CMD_STARTTLS) * 1000;
	if (conn_wait_tls(&sh->conn, deadline, &interrupted, err, sizeof(err)) < 0) {
		interrupted = 0;
		connection_lost(sh, err);
		return;
	}
	print_tls(&sh->conn, &sh->ls);
}

/* A whole reply is in in[0..parsed): print, judge, record, act on it. */
static void reply_done(struct shell *sh)
{
	int unsolicited = sh->npending == 0;
	char verb[16];
	snprintf(verb, sizeof(verb), "%s", unsolicited ? LIVE_ANY_COMMAND : sh->pending[0].verb);
	enum command cmd = unsolicited ? CMD_UNKNOWN : sh->pending[0].cmd;
	char *sent = unsolicited ? NULL : sh->pending[0].sent;
	if (!unsolicited)
		sh->pending[0].sent = NULL; /* ours now */
	pending_pop(sh);
	print_raw_reply((const uint8_t *)sh->in.data, sh->parsed);
	struct step_result st;
	memset(&st, 0, sizeof(st));
	if (unsolicited)
		info("a reply nothing asked for (judged as a reply to any command)");
	live_judge(&sh->ls, sh->profile, sh->strict, verb, sent, sh->reply, &st);
	free(sent);
	struct buf line = { 0 };
	live_verdict_line(&st, sh->color, &line);
	printf("=> %s\n", line.data);
	fflush(stdout);
	buf_free(&line);
	int code = sh->reply->code;
	sh->last_code = code;
	free(sh->last_text);
	sh->last_text = sh->reply->nkept ? xstrndup((const char *)sh->reply->kept[0].text,
	                                            sh->reply->kept[0].text_len)
	                                 : xstrdup("");
	step_result_free(&st);
	/* consume the reply's bytes */
	memmove(sh->in.data, sh->in.data + sh->parsed, sh->in.len - sh->parsed);
	sh->in.len -= sh->parsed;
	sh->in.data[sh->in.len] = 0;
	sh->parsed = 0;
	reply_init(sh->reply);

	int is_auth = cmd == CMD_AUTH;
	if (sh->typed_auth) {
		if (!(is_auth && code == 334))
			sh->typed_auth = 0;
	} else if (!(is_auth && code == 334)) {
		recording_reply(&sh->rec, code);
	}
	if (cmd == CMD_STARTTLS && code >= 200 && code < 300)
		start_tls(sh);
}

enum wait_result { WAIT_REPLY = 1, WAIT_INTERRUPTED = 0, WAIT_LOST = -1 };

/* Reads until one whole reply is there, and handles it. */
static enum wait_result wait_one(struct shell *sh)
{
	const char *verb = sh->npending ? sh->pending[0].verb : "UNSOLICITED";
	enum command cmd = sh->npending ? sh->pending[0].cmd : CMD_UNKNOWN;
	int64_t deadline = clock_ms() + (int64_t)reply_timeout(sh, cmd) * 1000;
	for (;;) {
		if (sh->in.len > sh->parsed) {
			long n = reply_feed(sh->reply, (const uint8_t *)sh->in.data + sh->parsed,
			                    sh->in.len - sh->parsed);
			if (n < 0) {
				/* abandoned (no line end, or too many lines): judge what came */
				sh->parsed = sh->in.len;
				reply_done(sh);
				return WAIT_REPLY;
			}
			sh->parsed += (size_t)n;
			if (sh->reply->complete) {
				reply_done(sh);
				return WAIT_REPLY;
			}
		}
		char chunk[SHELL_READ_CHUNK], err[256];
		long n = conn_wait_read(&sh->conn, chunk, sizeof(chunk), deadline, &interrupted,
		                        err, sizeof(err));
		if (n > 0) {
			buf_append(&sh->in, chunk, (size_t)n);
			continue;
		}
		if (n == CONN_WAIT_INTERRUPTED) {
			interrupted = 0;
			printf("\n");
			info("interrupted: no longer waiting for the reply to %s (the session "
			     "stays open; "
			     "the reply is shown when it comes, before the next one)",
			     verb);
			return WAIT_INTERRUPTED;
		}
		if (sh->in.len > 0)
			print_raw_reply((const uint8_t *)sh->in.data, sh->in.len);
		if (n == CONN_WAIT_TIMEOUT) {
			char why[128];
			snprintf(why, sizeof(why),
			         "timeout: no whole reply to %s within %d s; closing", verb,
			         reply_timeout(sh, cmd));
			connection_lost(sh, why);
		} else if (n == CONN_EOF) {
			connection_lost(sh, sh->in.len
			                        ? "the server closed the connection in mid-reply"
			                        : "the server closed the connection");
		} else {
			connection_lost(sh, err);
		}
		return WAIT_LOST;
	}
}

/* Reads every reply owed. */
static enum wait_result wait_all(struct shell *sh)
{
	while (sh->connected && sh->npending > 0) {
		enum wait_result w = wait_one(sh);
		if (w != WAIT_REPLY)
			return w;
	}
	return sh->connected ? WAIT_REPLY : WAIT_LOST;
}

/* After a 221 to QUIT: the server should close (RFC 5321 4.1.1.10). */
static void wait_close(struct shell *sh)
{
	char chunk[SHELL_READ_CHUNK], err[256];
	int64_t deadline = clock_ms() + TIMEOUT_CLOSE_S * 1000;
	for (;;) {
		long n = conn_wait_read(&sh->conn, chunk, sizeof(chunk), deadline, &interrupted,
		                        err, sizeof(err));
		if (n > 0) {
			buf_append(&sh->in, chunk, (size_t)n);
			info("%ld bytes after the reply to QUIT", n);
			continue;
		}
		if (n == CONN_EOF || n == CONN_ERROR) {
			connection_lost(sh, "the server closed the connection");
			return;
		}
		interrupted = 0;
		info("the server has not closed the connection after QUIT");
		return;
	}
}

static int send_bytes(struct shell *sh, const void *bytes, size_t len)
{
	char err[256];
	int64_t deadline = clock_ms() + (int64_t)TIMEOUT_OTHER_S * 1000;
	if (conn_wait_write(&sh->conn, bytes, len, deadline, &interrupted, err, sizeof(err)) < 0) {
		interrupted = 0;
		connection_lost(sh, err);
		return -1;
	}
	return 0;
}

static int need_connection(const struct shell *sh)
{
	if (sh->connected)
		return 1;
	info("not connected (the connection is closed): .save FILE or .quit");
	return 0;
}

/* Sends line + CRLF (a command, or content in DATA). */
static int send_line(struct shell *sh, const char *line, size_t len)
{
	struct buf b = { 0 };
	buf_append(&b, line, len);
	buf_puts(&b, "\r\n");
	int rc = send_bytes(sh, b.data, b.len);
	buf_free(&b);
	return rc;
}

static void after_replies(struct shell *sh)
{
	if (sh->connected && sh->ls.quit && sh->npending == 0)
		wait_close(sh);
}

/* A line typed while the server waits for message content (after 354). */
static void content_line(struct shell *sh, const char *line, size_t len)
{
	if (send_line(sh, line, len) < 0)
		return;
	if (len == 1 && line[0] == '.') {
		sh->ls.in_data = 0;
		pending_push(sh, CMD_DATA_END);
		wait_all(sh);
		return;
	}
	/* what the user typed is on the wire: a leading dot was doubled by them */
	if (len > 1 && line[0] == '.')
		recording_data_line(&sh->rec, line + 1, len - 1);
	else
		recording_data_line(&sh->rec, line, len);
}

static void command_line(struct shell *sh, const char *line, size_t len)
{
	if (!need_connection(sh))
		return;
	if (sh->ls.in_data) {
		content_line(sh, line, len);
		return;
	}
	char verb[16];
	live_verb(line, len, verb, sizeof(verb));
	if (sh->typed_auth) {
		/* an answer to a 334: a SASL response, never recorded */
		snprintf(verb, sizeof(verb), "%s", command_name(CMD_AUTH));
	} else if (command_from_name(verb) == CMD_AUTH) {
		sh->typed_auth = 1;
		if (!sh->typed_auth_noted)
			recording_comment(&sh->rec,
			                  "a hand-typed AUTH exchange was left out (it carries "
			                  "credentials); .auth MECH records it as an A: step");
		sh->typed_auth_noted = 1;
		info("AUTH typed by hand is not recorded (it carries credentials); .auth MECH is");
	} else {
		recording_command(&sh->rec, line, len);
	}
	if (send_line(sh, line, len) < 0)
		return;
	/* a hand-typed AUTH exchange carries credentials: not kept */
	pending_push_sent(sh, verb, sh->typed_auth ? NULL : line, len);
	wait_all(sh);
	after_replies(sh);
}

/* .raw "bytes": C escapes, sent as they are; a reply is owed per line end. */
static void meta_raw(struct shell *sh, const char *arg)
{
	size_t n = strlen(arg);
	if (n < 2 || arg[0] != '"' || arg[n - 1] != '"') {
		info(".raw needs one double-quoted string: .raw \"NOOP\\r\\n\"");
		return;
	}
	struct buf bytes = { 0 };
	char err[256];
	if (text_unescape(&bytes, arg + 1, n - 2, err, sizeof(err)) < 0 || bytes.len == 0) {
		info(".raw: %s", bytes.len == 0 && !*err ? "nothing to send" : err);
		buf_free(&bytes);
		return;
	}
	if (!need_connection(sh)) {
		buf_free(&bytes);
		return;
	}
	recording_raw(&sh->rec, bytes.data, bytes.len);
	if (send_bytes(sh, bytes.data, bytes.len) == 0) {
		size_t start = 0;
		for (size_t i = 0; i < bytes.len; i++) {
			if (bytes.data[i] != '\n')
				continue;
			char verb[16];
			live_verb(bytes.data + start, i - start, verb, sizeof(verb));
			if (sh->ls.in_data)
				pending_push(sh, CMD_DATA_END);
			else
				pending_push_sent(sh, verb, bytes.data + start, i + 1 - start);
			start = i + 1;
		}
		if (sh->npending == 0)
			info("no line end sent: no reply is awaited");
		wait_all(sh);
		after_replies(sh);
	}
	buf_free(&bytes);
}

/* .data FILE: DATA (unless a 354 came already), the file dot-stuffed, ".". */
static void meta_data(struct shell *sh, const char *path)
{
	if (!*path) {
		info(".data needs a FILE");
		return;
	}
	struct buf file = { 0 };
	if (file_read_all(path, SHELL_DATA_FILE_MAX, &file) < 0) {
		info(".data %s: %s", path, strerror(errno));
		buf_free(&file);
		return;
	}
	if (!need_connection(sh)) {
		buf_free(&file);
		return;
	}
	if (!sh->ls.in_data) {
		recording_command(&sh->rec, "DATA", 4);
		if (send_line(sh, "DATA", 4) < 0)
			goto out;
		pending_push(sh, CMD_DATA);
		if (wait_all(sh) != WAIT_REPLY || !sh->ls.in_data) {
			if (sh->connected)
				info("no 354: the message is not sent");
			goto out;
		}
	}
	struct buf wire = { 0 };
	size_t start = 0, lines = 0;
	while (start < file.len) {
		const char *nl = memchr(file.data + start, '\n', file.len - start);
		size_t end = nl ? (size_t)(nl - file.data) : file.len;
		size_t len = end - start;
		if (len > 0 && file.data[start + len - 1] == '\r')
			len--;
		const char *line = file.data + start;
		if (len > 0 && line[0] == '.')
			buf_puts(&wire, "."); /* RFC 5321 4.5.2 */
		buf_append(&wire, line, len);
		buf_puts(&wire, "\r\n");
		recording_data_line(&sh->rec, line, len);
		lines++;
		start = nl ? end + 1 : file.len;
	}
	if (lines == 0)
		recording_data_line(&sh->rec, "", 0);
	buf_puts(&wire, ".\r\n");
	sh->ls.in_data = 0;
	info("sent %zu content lines from %s, then \".\"", lines, path);
	if (send_bytes(sh, wire.data, wire.len) == 0) {
		pending_push(sh, CMD_DATA_END);
		wait_all(sh);
	}
	buf_free(&wire);
out:
	buf_free(&file);
}

/* .auth MECH: the whole SASL exchange with the run's credentials. */
static void meta_auth(struct shell *sh, const char *arg)
{
	char mech_name[32];
	live_verb(arg, strlen(arg), mech_name, sizeof(mech_name));
	int m = sasl_mech_parse(mech_name);
	if (!*mech_name || m < 0) {
		info(".auth MECH: PLAIN, LOGIN, CRAM-MD5 or SCRAM-SHA-256");
		return;
	}
	if (!sh->password) {
		info(".auth needs credentials: start the shell with --auth-user USER and the "
		     "password "
		     "in %s (or --auth-password-env NAME, --auth-password-file PATH); it is never "
		     "typed",
		     sh->auth.env ? sh->auth.env : "SMTPCONFORM_PASSWORD");
		return;
	}
	if (!need_connection(sh) || wait_all(sh) != WAIT_REPLY)
		return;
	struct sasl s;
	sasl_init(&s, (enum sasl_mech)m, sh->auth.user, sh->password, NULL);
	struct buf ir = { 0 }, line = { 0 };
	int has_ir = sasl_initial(&s, &ir);
	buf_printf(&line, "AUTH %s", sasl_mech_name((enum sasl_mech)m));
	if (has_ir)
		buf_printf(&line, " %s", ir.len ? ir.data : "=");
	printf("AUTH %s%s\n", sasl_mech_name((enum sasl_mech)m),
	       has_ir ? " <initial response not shown>" : "");
	recording_auth(&sh->rec, sasl_mech_name((enum sasl_mech)m), 0);
	int rc = send_bytes(sh, line.data, line.len) == 0 ? send_bytes(sh, "\r\n", 2) : -1;
	while (rc == 0) {
		pending_push(sh, CMD_AUTH);
		if (wait_one(sh) != WAIT_REPLY)
			break;
		if (sh->ls.auth_done || sh->last_code != 334)
			break;
		struct buf resp = { 0 };
		char err[256];
		if (sasl_respond(&s, sh->last_text ? sh->last_text : "", &resp, err, sizeof(err)) <
		    0) {
			info(".auth: %s; cancelling with \"*\"", err);
			buf_reset(&resp);
			buf_puts(&resp, "*");
		}
		printf("<SASL response not shown>\n");
		buf_puts(&resp, "\r\n");
		rc = send_bytes(sh, resp.data, resp.len);
		buf_free(&resp);
	}
	buf_free(&ir);
	buf_free(&line);
	sasl_free(&s);
}

/* .starttls: STARTTLS, and the handshake after a 2xx (reply_done). */
static void meta_starttls(struct shell *sh)
{
	if (sh->ls.tls_active)
		info("TLS is already active; sending STARTTLS anyway (expect 503)");
	command_line(sh, "STARTTLS", 8);
}

static void meta_state(const struct shell *sh)
{
	live_state_print(&sh->ls, stdout);
	printf("replies owed:");
	for (size_t i = 0; i < sh->npending; i++)
		printf(" %s", sh->pending[i].verb);
	printf("%s\n", sh->npending ? "" : " none");
	printf("recorded steps: %zu\n", sh->rec.nsteps);
	fflush(stdout);
}

static void meta_save(struct shell *sh, const char *path)
{
	size_t n = strlen(path);
	if (n < 6 || strcmp(path + n - 5, ".smtp") != 0) {
		info(".save needs a FILE.smtp");
		return;
	}
	char err[1200];
	if (recording_save(&sh->rec, path, "smtpconform shell", sh->target.display, err,
	                   sizeof(err)) < 0) {
		info(".save: %s", err);
		return;
	}
	info("saved %s: %zu steps, lint-clean (smtpconform run %s%s)", path, sh->rec.nsteps,
	     sh->ls.auth_done ? "--auth-user USER " : "", path);
}

static const char help_text[] =
    "Type SMTP commands; each is sent with CRLF and its reply is judged.\n"
    "After a 354, lines are message content until a line with a single \".\".\n"
    "  .starttls          STARTTLS, then the TLS handshake; shows the certificate\n"
    "  .auth MECH         AUTH with --auth-user and the password from the environment\n"
    "                     (PLAIN, LOGIN, CRAM-MD5, SCRAM-SHA-256); never shown or recorded\n"
    "  .raw \"BYTES\"       send bytes as they are (C escapes: \\r \\n \\t \\xNN \\\\ \\\")\n"
    "  .data FILE         DATA, then FILE as message content (dot-stuffed), then \".\"\n"
    "  .state             what the shell knows about the session\n"
    "  .save FILE.smtp    the session so far as a scenario (smtpconform run FILE.smtp)\n"
    "  .help              this text\n"
    "  .quit              leave (Ctrl-D too); Ctrl-C stops waiting for a reply\n";

/* 1 when the shell should end. */
static int meta_command(struct shell *sh, const char *line)
{
	char name[16];
	size_t k = 0;
	const char *p = line;
	while (*p && *p != ' ' && k + 1 < sizeof(name))
		name[k++] = *p++;
	name[k] = 0;
	while (*p == ' ')
		p++;
	char *arg = xstrdup(p);
	size_t an = strlen(arg);
	while (an > 0 && (arg[an - 1] == ' ' || arg[an - 1] == '\t'))
		arg[--an] = 0;
	int quit = 0;
	if (strcmp(name, ".quit") == 0 || strcmp(name, ".exit") == 0)
		quit = 1;
	else if (strcmp(name, ".help") == 0)
		fputs(help_text, stdout);
	else if (strcmp(name, ".state") == 0)
		meta_state(sh);
	else if (strcmp(name, ".save") == 0)
		meta_save(sh, arg);
	else if (strcmp(name, ".raw") == 0)
		meta_raw(sh, arg);
	else if (strcmp(name, ".data") == 0)
		meta_data(sh, arg);
	else if (strcmp(name, ".auth") == 0)
		meta_auth(sh, arg);
	else if (strcmp(name, ".starttls") == 0)
		meta_starttls(sh);
	else
		info("unknown meta-command %s (.help lists them)", name);
	free(arg);
	fflush(stdout);
	return quit;
}

/* ------------------------------------------------------------------ */
/* Completion: verbs and meta-commands first, then after EHLO the keywords
 * advertised, and after AUTH / .auth the mechanisms. */

static struct shell *completing;
static char **candidates;
static size_t ncandidates;

static void candidates_clear(void)
{
	for (size_t i = 0; i < ncandidates; i++)
		free(candidates[i]);
	free(candidates);
	candidates = NULL;
	ncandidates = 0;
}

static void candidate_add(const char *word, size_t len)
{
	for (size_t i = 0; i < ncandidates; i++)
		if (strlen(candidates[i]) == len && strncasecmp(candidates[i], word, len) == 0)
			return;
	candidates = xrealloc(candidates, (ncandidates + 1) * sizeof(char *));
	candidates[ncandidates++] = xstrndup(word, len);
}

static char *candidate_next(const char *text, int state)
{
	static size_t i;
	if (state == 0)
		i = 0;
	size_t n = strlen(text);
	while (i < ncandidates) {
		const char *c = candidates[i++];
		if (strncasecmp(c, text, n) == 0)
			return strdup(c); /* libedit frees it */
	}
	return NULL;
}

static const char *const shell_verbs[] = {
	"EHLO", "HELO",  "MAIL FROM:<", "RCPT TO:<", "DATA",  "RSET",  "NOOP",      "QUIT",
	"VRFY", "EXPN",  "HELP",        "STARTTLS",  "AUTH",  "BDAT",  ".starttls", ".auth",
	".raw", ".data", ".state",      ".save",     ".help", ".quit", NULL,
};

/* The line's first word is cmd's verb (and a word follows: completion is
 * past it). */
static int first_verb_is(const char *line, enum command cmd)
{
	char verb[16];
	live_verb(line, strlen(line), verb, sizeof(verb));
	return command_from_name(verb) == cmd;
}

static char **shell_complete(const char *text, int start, int end)
{
	(void)end;
	candidates_clear();
	rl_attempted_completion_over = 1;
	const struct live_state *ls = &completing->ls;
	const char *line = rl_line_buffer ? rl_line_buffer : "";
	int first_word = 1;
	for (int i = 0; i < start && line[i]; i++)
		if (line[i] != ' ')
			first_word = 0;
	const char *buf = line;
	while (*buf == ' ')
		buf++;
	if (first_word) {
		for (const char *const *v = shell_verbs; *v; v++)
			candidate_add(*v, strlen(*v));
		for (size_t i = 0; i < ls->nkeywords; i++)
			candidate_add(ls->keywords[i], strcspn(ls->keywords[i], " "));
	} else if (first_verb_is(buf, CMD_AUTH) || strncasecmp(buf, ".auth ", 6) == 0) {
		const char *mechs = live_auth_mechanisms(ls);
		while (mechs && *mechs) {
			size_t n = strcspn(mechs, " ");
			if (n)
				candidate_add(mechs, n);
			mechs += n;
			while (*mechs == ' ')
				mechs++;
		}
	} else if (strncmp(buf, ".data ", 6) == 0 || strncmp(buf, ".save ", 6) == 0) {
		rl_attempted_completion_over = 0; /* file names */
		return NULL;
	}
	if (ncandidates == 0)
		return NULL;
	return rl_completion_matches(text, candidate_next);
}

/* ------------------------------------------------------------------ */

static const char shell_usage[] =
    "usage: smtpconform shell -t TARGET [options]\n"
    "\n"
    "An interactive SMTP session: each line is sent with CRLF, each reply is printed\n"
    "and judged (reply syntax, allowed-code matrix, EHLO keywords, enhanced status\n"
    "codes). Meta-commands start with '.': .help lists them. docs/shell.md.\n"
    "\n"
    "  -t, --target TARGET      HOST[:PORT], [IPv6]:PORT, unix:/path or exec:COMMAND\n"
    "      --profile P          matrix profile: rfc5321 (default) or rfc821\n"
    "      --strict             warnings count as failures\n"
    "      --timeout SECONDS    deadline for each reply (default: RFC 5321 4.5.3.2)\n"
    "      --tls MODE           none (default; .starttls upgrades) or implicit\n"
    "      --tls-verify on|off  verify the server certificate and name (default on)\n"
    "      --ca-file FILE       CA bundle (PEM)\n"
    "      --tls-min-version V  TLSv1, TLSv1.1, TLSv1.2 (default) or TLSv1.3\n"
    "      --sni NAME           server name to send and verify\n"
    "      --auth-user USER     credentials for .auth; the password comes from\n"
    "                           SMTPCONFORM_PASSWORD (or --auth-password-env NAME,\n"
    "                           --auth-password-file PATH), never typed\n"
    "      --color WHEN         auto (default: on a terminal, unless NO_COLOR), always, never\n";

static void shell_usage_error(const char *msg, const char *arg)
{
	fprintf(stderr, "smtpconform shell: %s%s%s\nTry 'smtpconform shell --help'.\n", msg,
	        arg ? " " : "", arg ? arg : "");
	exit(SHELL_USAGE);
}

/* Reads one line: libedit on a terminal, else stdin echoed after the prompt.
 * NULL at end of input. Caller frees. */
static char *read_command(const struct shell *sh)
{
	if (sh->interactive) {
		for (;;) {
			/* Ctrl-C at the prompt: a fresh line. One that came just
			 * before readline() (the terminal already dropped the typed
			 * line) counts too, or its line would wait forever. */
			if (interrupted) {
				interrupted = 0;
				printf("\n");
			}
			char *line = readline(SHELL_PROMPT);
			if (line || !interrupted)
				return line;
		}
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t n = getline(&line, &cap, stdin);
	if (n < 0) {
		free(line);
		return NULL;
	}
	if (n > 0 && line[n - 1] == '\n')
		line[--n] = 0;
	if (n > 0 && line[n - 1] == '\r')
		line[--n] = 0;
	printf("%s%s\n", SHELL_PROMPT, line);
	return line;
}

static int connect_and_greet(struct shell *sh, int implicit)
{
	char err[512];
	if (conn_wait_connect(&sh->conn, &sh->target, TIMEOUT_CONNECT_S, err, sizeof(err)) < 0) {
		fprintf(stderr, "smtpconform shell: %s\n", err);
		return -1;
	}
	sh->connected = 1;
	info("connected to %s", sh->target.display);
	if (implicit) {
		int64_t deadline = clock_ms() + (int64_t)TIMEOUT_GREETING_S * 1000;
		if (conn_wait_tls(&sh->conn, deadline, &interrupted, err, sizeof(err)) < 0) {
			fprintf(stderr, "smtpconform shell: %s\n", err);
			return -1;
		}
		print_tls(&sh->conn, &sh->ls);
	}
	pending_push(sh, CMD_CONNECT);
	wait_all(sh);
	return 0;
}

/*
 * The options the shell shares with run (--profile, --strict, --timeout,
 * --tls-verify, --ca-file, --tls-min-version, --sni, --auth-*): run_options.c's
 * table checks and applies them, with run's messages. getopt_long gives their
 * rows this val.
 */
#define OPT_AS_RUN 256
#define OPT_COLOR 257
#define OPT_TLS 258 /* run's check names scenario steps: the shell says its own */

/* argv into sh and tls; *tls_mode and *color as given (checked later). Usage errors exit;
 * 1: --help was printed. */
static int shell_parse_args(int argc, char **argv, struct shell *sh, struct tls_options *tls,
                            const char **tls_mode, const char **color)
{
	static const struct option longopts[] = {
		{ "target", required_argument, NULL, 't' },
		{ "profile", required_argument, NULL, OPT_AS_RUN },
		{ "strict", no_argument, NULL, OPT_AS_RUN },
		{ "timeout", required_argument, NULL, OPT_AS_RUN },
		{ "tls", required_argument, NULL, OPT_TLS },
		{ "tls-verify", required_argument, NULL, OPT_AS_RUN },
		{ "ca-file", required_argument, NULL, OPT_AS_RUN },
		{ "tls-min-version", required_argument, NULL, OPT_AS_RUN },
		{ "sni", required_argument, NULL, OPT_AS_RUN },
		{ "auth-user", required_argument, NULL, OPT_AS_RUN },
		{ "auth-password-env", required_argument, NULL, OPT_AS_RUN },
		{ "auth-password-file", required_argument, NULL, OPT_AS_RUN },
		{ "color", required_argument, NULL, OPT_COLOR },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct run_options ro;
	char label[64], err[1024];
	int c, idx = 0, help = 0;
	run_options_init(&ro);
	while (!help && (c = getopt_long(argc, argv, "t:h", longopts, &idx)) != -1) {
		switch (c) {
		case 't': sh->target_arg = optarg; break;
		case OPT_AS_RUN:
			snprintf(label, sizeof(label), "--%s", longopts[idx].name);
			if (run_option_apply(&ro, run_option_named(longopts[idx].name), optarg,
			                     label, RUN_OPT_FROM_ARGV, err, sizeof(err)) < 0)
				shell_usage_error(err, NULL);
			break;
		case OPT_COLOR: *color = optarg; break;
		case OPT_TLS: *tls_mode = optarg; break;
		case 'h':
			fputs(shell_usage, stdout);
			help = 1;
			break;
		default: shell_usage_error("unknown option", NULL);
		}
	}
	sh->profile = ro.engine.profile;
	sh->strict = ro.engine.strict;
	sh->timeout_s = ro.engine.timeout_s;
	sh->auth = ro.auth;
	*tls = ro.tls;
	run_options_free(&ro); /* what is kept points into argv or at literals */
	return help;
}

int shell_main(int argc, char **argv)
{
	struct shell *sh = xcalloc(1, sizeof(*sh));
	const char *tls_mode = "none", *color = "auto";
	struct tls_options tls;
	if (shell_parse_args(argc, argv, sh, &tls, &tls_mode, &color)) {
		free(sh);
		return SHELL_OK;
	}
	if (optind < argc)
		shell_usage_error("unexpected argument", argv[optind]);
	if (!sh->target_arg)
		shell_usage_error("-t TARGET is required", NULL);
	if (!matrix_profile_known(sh->profile))
		shell_usage_error("unknown profile", sh->profile);
	if (strcmp(tls_mode, "none") != 0 && strcmp(tls_mode, "implicit") != 0)
		shell_usage_error("--tls: expected none or implicit, got", tls_mode);
	if (strcmp(color, "auto") != 0 && strcmp(color, "always") != 0 &&
	    strcmp(color, "never") != 0)
		shell_usage_error("--color: expected auto, always or never, got", color);
	char err[1024];
	if (target_parse(sh->target_arg, &sh->target, err, sizeof(err)) < 0)
		shell_usage_error(err, NULL);
	if (!tls.sni && sh->target.kind == TARGET_TCP &&
	    strspn(sh->target.host, "0123456789.") != strlen(sh->target.host) &&
	    !strchr(sh->target.host, ':'))
		tls.sni = sh->target.host;
	if (tls_setup(&tls, err, sizeof(err)) < 0)
		shell_usage_error(err, NULL);
	if (sh->auth.user) {
		sh->password = credentials_load_password(&sh->auth, err, sizeof(err));
		if (!sh->password)
			shell_usage_error(err, NULL);
	}
	sh->interactive = isatty(STDIN_FILENO);
	sh->color = strcmp(color, "always") == 0 ||
	            (strcmp(color, "auto") == 0 && isatty(STDOUT_FILENO) && !getenv("NO_COLOR"));
	setvbuf(stdout, NULL, _IOLBF, 0);
	sh->reply = xmalloc(sizeof(*sh->reply));
	reply_init(sh->reply);
	conn_init(&sh->conn);
	live_state_init(&sh->ls);
	recording_init(&sh->rec);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigint;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL); /* no SA_RESTART: poll() returns EINTR */

	int rc = SHELL_OK;
	if (target_resolve(&sh->target, err, sizeof(err)) < 0) {
		fprintf(stderr, "smtpconform shell: %s\n", err);
		rc = SHELL_UNREACHABLE;
	} else if (connect_and_greet(sh, strcmp(tls_mode, "implicit") == 0) < 0) {
		rc = SHELL_UNREACHABLE;
	} else {
		if (sh->interactive) {
			completing = sh;
			rl_attempted_completion_function = shell_complete;
			using_history();
			info("type SMTP commands; .help for meta-commands, Ctrl-D or .quit to "
			     "leave");
		}
		char *line;
		while ((line = read_command(sh)) != NULL) {
			size_t n = strlen(line);
			int quit = 0;
			if (n > 0 && sh->interactive)
				add_history(line);
			if (line[0] == '.' && !sh->ls.in_data)
				quit = meta_command(sh, line);
			else if (n > 0 || sh->ls.in_data)
				command_line(sh, line, n);
			free(line);
			if (quit)
				break;
		}
		if (!line && sh->interactive)
			printf("\n");
	}
	candidates_clear();
	conn_close(&sh->conn);
	pending_clear(sh);
	live_state_free(&sh->ls);
	recording_free(&sh->rec);
	buf_free(&sh->in);
	free(sh->reply);
	free(sh->last_text);
	free(sh->password);
	target_free(&sh->target);
	tls_teardown();
	free(sh);
	return rc;
}
