/*
 * record.c - the recording proxy. See record.h and docs/shell.md.
 *
 * Sessions are served one at a time (others wait in the listen backlog):
 * poll() on the client and the server socket, every byte relayed as it
 * comes. The client's bytes are followed line by line in command mode
 * (a queue of verbs owed a reply, as pipelining allows), as content after
 * a 354 (until CRLF.CRLF), as a chunk after BDAT, and as SASL responses
 * after a 334 to AUTH (never recorded). The server's bytes go through the
 * reply parser; each whole reply is judged against the verb at the head of
 * the queue.
 */
#include "record.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "command.h"
#include "conn_wait.h"
#include "live.h"
#include "matrix.h"
#include "recording.h"
#include "reply.h"
#include "report.h"
#include "result.h"
#include "sasl.h"
#include "smtp_limits.h"
#include "util.h"

#ifndef SMTPCONFORM_VERSION
#define SMTPCONFORM_VERSION "0.0.0"
#endif

enum record_exit { RECORD_PASS = 0, RECORD_FAIL = 1, RECORD_USAGE = 2, RECORD_UNREACHABLE = 3 };

/* Replies owed at once in one session. */
#define RECORD_PENDING_MAX 1024
/* A client line in command mode longer than this is relayed without
 * waiting for its line end (and recorded as raw bytes). */
#define RECORD_COMMAND_HOLD_MAX (8 * COMMAND_LINE_MAX)
/* BDAT chunks larger than this are relayed but not recorded. */
#define RECORD_BDAT_KEEP_MAX (1 << 20)
#define RECORD_READ_CHUNK 16384

/* What the recorder answers to STARTTLS instead of relaying it. */
#define RECORD_STARTTLS_REPLY                                                             \
	"454 4.7.0 TLS not available through the smtpconform recorder (it relays in the " \
	"clear; see docs/shell.md)\r\n"
struct owed {
	char verb[16];    /* as the client sent it, upper-cased */
	enum command cmd; /* what command.c makes of verb */
	int local;        /* a STARTTLS the recorder answers itself */
	char *sent;       /* escaped command for the report, secrets never */
};

enum client_mode { MODE_COMMAND, MODE_DATA, MODE_BDAT };

struct record_opts {
	const char *profile;
	int strict;
	int timeout_s;
	int verbose;
};

struct relay {
	const struct record_opts *o;
	int index; /* session number, from 1 */
	struct conn client, server;
	int client_eof, server_eof;
	struct buf cbuf; /* client bytes not yet followed */
	enum client_mode mode;
	int hold;          /* after DATA: wait for its reply before following on */
	int sasl_expected; /* the last AUTH reply was 334: the next line is a response */
	int skip_auth;     /* an AUTH exchange the scenario cannot carry: not recorded */
	struct buf dline;  /* content line being collected (MODE_DATA) */
	size_t bdat_left;  /* chunk octets still to come (MODE_BDAT) */
	struct buf bdat;   /* the BDAT line and its chunk, for the recording */
	int bdat_keep;
	struct buf sbuf; /* server bytes not yet part of a whole reply */
	size_t sparsed;
	struct reply reply;
	int desync; /* the reply stream could not be parsed: judging stops */
	struct owed pending[RECORD_PENDING_MAX];
	size_t npending;
	struct live_state ls;
	struct recording rec;
	struct scenario_result *result;
	size_t findings; /* violations printed */
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static void record_usage_error(const char *msg, const char *arg)
{
	fprintf(stderr, "smtpconform record: %s%s%s\nTry 'smtpconform record --help'.\n", msg,
	        arg ? " " : "", arg ? arg : "");
	exit(RECORD_USAGE);
}

/* A reply is owed to verb; NULL when the queue is full. */
static struct owed *owe(struct relay *r, const char *verb, const char *sent, size_t sent_len)
{
	if (r->npending == RECORD_PENDING_MAX) {
		r->desync = 1; /* a client this far ahead: stop judging, keep relaying */
		return NULL;
	}
	struct owed *w = &r->pending[r->npending++];
	snprintf(w->verb, sizeof(w->verb), "%s", verb[0] ? verb : command_name(CMD_UNKNOWN));
	w->cmd = command_from_name(w->verb);
	w->local = 0;
	w->sent = text_escape_dup(sent, sent_len);
	redact(w->sent);
	return w;
}

static void owed_pop(struct relay *r)
{
	if (r->npending == 0)
		return;
	free(r->pending[0].sent);
	memmove(&r->pending[0], &r->pending[1], (r->npending - 1) * sizeof(r->pending[0]));
	r->npending--;
}

static int to_client(struct relay *r, const void *bytes, size_t len)
{
	char err[256];
	if (r->client.fd < 0 || len == 0)
		return 0;
	if (conn_wait_write(&r->client, bytes, len, clock_ms() + TIMEOUT_OTHER_S * 1000, NULL, err,
	                    sizeof(err)) < 0) {
		r->client_eof = 1;
		return -1;
	}
	return 0;
}

static int to_server(struct relay *r, const void *bytes, size_t len)
{
	char err[256];
	if (r->server.fd < 0 || len == 0)
		return 0;
	if (conn_wait_write(&r->server, bytes, len, clock_ms() + TIMEOUT_OTHER_S * 1000, NULL, err,
	                    sizeof(err)) < 0) {
		fprintf(stderr, "smtpconform record: [%d] server: %s\n", r->index, err);
		r->server_eof = 1;
		return -1;
	}
	return 0;
}

/* Answers the STARTTLS at the head of the queue, if it is there. */
static void answer_local(struct relay *r)
{
	while (r->npending > 0 && r->pending[0].local) {
		to_client(r, RECORD_STARTTLS_REPLY, strlen(RECORD_STARTTLS_REPLY));
		owed_pop(r);
	}
}

static struct step_result *new_step(struct relay *r)
{
	struct scenario_result *sr = r->result;
	sr->steps = xrealloc(sr->steps, (sr->nsteps + 1) * sizeof(*sr->steps));
	struct step_result *st = &sr->steps[sr->nsteps++];
	memset(st, 0, sizeof(*st));
	return st;
}

static void follow_client(struct relay *r);

/* A whole reply is in sbuf[0..sparsed). */
static void server_reply(struct relay *r)
{
	const char *verb = r->npending ? r->pending[0].verb : LIVE_ANY_COMMAND;
	enum command cmd = r->npending ? r->pending[0].cmd : CMD_UNKNOWN;
	struct step_result *st = new_step(r);
	st->file = xstrdup(r->result->file);
	st->sent = xstrdup(r->npending ? r->pending[0].sent : "");
	st->expect = xstrdup("*");
	/* SASL responses are never kept: the model does not see them */
	live_judge(&r->ls, r->o->profile, r->o->strict, verb, cmd == CMD_AUTH ? NULL : st->sent,
	           &r->reply, st);
	int code = r->reply.code;
	if (st->nviolations > 0 || r->o->verbose) {
		struct buf line = { 0 };
		live_verdict_line(st, 0, &line);
		printf("[%d] %s -> %03d: %s\n", r->index, verb, code < 0 ? 0 : code, line.data);
		fflush(stdout);
		buf_free(&line);
		r->findings += st->nviolations;
	}
	int is_auth = cmd == CMD_AUTH;
	if (is_auth)
		r->sasl_expected = code == 334;
	if (!(is_auth && code == 334)) {
		if (r->skip_auth && is_auth)
			r->skip_auth = 0;
		else
			recording_reply(&r->rec, code);
	}
	if (cmd == CMD_DATA && code >= 300 && code < 400) {
		r->mode = MODE_DATA;
		buf_reset(&r->dline);
	}
	if (cmd == CMD_DATA)
		r->hold = 0;
	owed_pop(r);
	answer_local(r);
	memmove(r->sbuf.data, r->sbuf.data + r->sparsed, r->sbuf.len - r->sparsed);
	r->sbuf.len -= r->sparsed;
	r->sparsed = 0;
	reply_init(&r->reply);
	if (!r->hold && r->cbuf.len)
		follow_client(r);
}

static void follow_server(struct relay *r, const char *bytes, size_t len)
{
	if (r->desync)
		return;
	buf_append(&r->sbuf, bytes, len);
	while (r->sbuf.len > r->sparsed) {
		long n = reply_feed(&r->reply, (const uint8_t *)r->sbuf.data + r->sparsed,
		                    r->sbuf.len - r->sparsed);
		if (n < 0) {
			r->sparsed = r->sbuf.len;
			server_reply(r);
			fprintf(stderr,
			        "smtpconform record: [%d] the reply stream cannot be followed any "
			        "more; relaying without judging\n",
			        r->index);
			r->desync = 1;
			return;
		}
		r->sparsed += (size_t)n;
		if (!r->reply.complete)
			return;
		server_reply(r);
	}
}

/* One content line (without its line end) after 354; "." ends the data. */
static void content_line(struct relay *r, const char *line, size_t len)
{
	if (len == 1 && line[0] == '.') {
		r->mode = MODE_COMMAND;
		if (r->rec.in_data == 0)
			recording_data_line(&r->rec, "", 0);
		owe(r, command_name(CMD_DATA_END), "<CRLF>.<CRLF>", 13);
		return;
	}
	if (len > 0 && line[0] == '.')
		recording_data_line(&r->rec, line + 1, len - 1); /* undo the stuffing */
	else
		recording_data_line(&r->rec, line, len);
}

/* The BDAT line and its chunk went through: one R: step. */
static void bdat_done(struct relay *r)
{
	if (r->bdat_keep)
		recording_raw(&r->rec, r->bdat.data, r->bdat.len);
	else
		recording_comment(&r->rec, "a BDAT chunk too large to record was sent here");
	buf_reset(&r->bdat);
	r->mode = MODE_COMMAND;
}

/* STARTTLS: answered 454 here, never relayed. */
static void command_starttls(struct relay *r, const char *verb, const char *line, size_t n)
{
	fprintf(stderr,
	        "smtpconform record: [%d] the client sent STARTTLS: answered 454 4.7.0 by the "
	        "recorder, not relayed (TLS would hide the session from it; the client goes on "
	        "in the clear or gives up). See docs/shell.md.\n",
	        r->index);
	recording_comment(&r->rec, "the client's STARTTLS was answered 454 by the recorder");
	struct owed *w = owe(r, verb, line, n);
	if (w)
		w->local = 1;
	answer_local(r);
}

/* AUTH MECH [initial-response] (line[0..n), no line end): recorded as an A:
 * step when the scenario format can replay it, never with its response. */
static void command_auth(struct relay *r, const char *verb, const char *line, size_t n)
{
	char mech[32];
	const char *p = line;
	while (p < line + n && *p == ' ')
		p++;
	p += 4;
	while (p < line + n && *p == ' ')
		p++;
	live_verb(p, (size_t)(line + n - p), mech, sizeof(mech));
	const char *after = p + strlen(mech);
	while (after < line + n && *after == ' ')
		after++;
	int has_ir = after < line + n;
	int m = sasl_mech_parse(mech);
	if (m < 0 || (has_ir && (m == SASL_LOGIN || m == SASL_CRAM_MD5))) {
		recording_comment(&r->rec,
		                  "an AUTH exchange the scenario format cannot replay with "
		                  "the run's credentials was left out");
		r->skip_auth = 1;
	} else {
		recording_auth(&r->rec, sasl_mech_name((enum sasl_mech)m),
		               !has_ir && (m == SASL_PLAIN || m == SASL_SCRAM_SHA_256));
	}
	struct buf sent = { 0 };
	buf_printf(&sent, "AUTH %s%s", mech, has_ir ? " <initial response redacted>" : "");
	owe(r, verb, sent.data, sent.len);
	buf_free(&sent);
}

/* BDAT SIZE: the chunk follows (MODE_BDAT). 0 when no size follows the
 * verb: an ordinary command line then. */
static int command_bdat(struct relay *r, const char *verb, const char *line, size_t len, size_t n)
{
	char *end;
	const char *p = line;
	while (*p == ' ')
		p++;
	unsigned long long size = strtoull(p + 4, &end, 10);
	if (end == p + 4)
		return 0;
	r->mode = MODE_BDAT;
	r->bdat_left = (size_t)size;
	buf_reset(&r->bdat);
	buf_append(&r->bdat, line, len);
	r->bdat_keep = size <= RECORD_BDAT_KEEP_MAX;
	owe(r, verb, line, n);
	if (r->bdat_left == 0)
		bdat_done(r);
	return 1;
}

/* A command line (bytes up to and including LF). 0: relay it; 1: the
 * recorder answers it itself (STARTTLS). */
static int command(struct relay *r, const char *line, size_t len)
{
	size_t n = len;
	if (n > 0 && line[n - 1] == '\n')
		n--;
	if (n > 0 && line[n - 1] == '\r')
		n--;
	char verb[16];
	live_verb(line, n, verb, sizeof(verb));
	enum command cmd = command_from_name(verb);
	if (r->sasl_expected) {
		r->sasl_expected = 0;
		owe(r, command_name(CMD_AUTH), "<SASL response redacted>", 24);
		return 0;
	}
	if (cmd == CMD_STARTTLS) {
		command_starttls(r, verb, line, n);
		return 1;
	}
	if (cmd == CMD_AUTH) {
		command_auth(r, verb, line, n);
		return 0;
	}
	if (cmd == CMD_BDAT && command_bdat(r, verb, line, len, n))
		return 0;
	if (len == n)
		recording_raw(&r->rec, line, len); /* no line end (too long to hold) */
	else if (len == n + 2)
		recording_command(&r->rec, line, n);
	else
		recording_raw(&r->rec, line, len); /* a bare LF ends it */
	owe(r, verb, line, n);
	if (cmd == CMD_DATA)
		r->hold = 1;
	return 0;
}

/* Follows and relays the client bytes in cbuf, as far as the mode allows. */
static void follow_client(struct relay *r)
{
	size_t off = 0;
	while (off < r->cbuf.len && !r->hold && !r->server_eof) {
		const char *p = r->cbuf.data + off;
		size_t left = r->cbuf.len - off;
		if (r->mode == MODE_BDAT) {
			size_t take = left < r->bdat_left ? left : r->bdat_left;
			to_server(r, p, take);
			if (r->bdat_keep)
				buf_append(&r->bdat, p, take);
			r->bdat_left -= take;
			off += take;
			if (r->bdat_left == 0)
				bdat_done(r);
			continue;
		}
		if (r->mode == MODE_DATA) {
			/* relay everything up to the end of the current line, follow it */
			const char *nl = memchr(p, '\n', left);
			size_t take = nl ? (size_t)(nl - p) + 1 : left;
			to_server(r, p, take);
			buf_append(&r->dline, p, take);
			off += take;
			if (nl) {
				size_t n = r->dline.len - 1;
				if (n > 0 && r->dline.data[n - 1] == '\r')
					n--;
				content_line(r, r->dline.data, n);
				buf_reset(&r->dline);
			}
			continue;
		}
		const char *nl = memchr(p, '\n', left);
		if (!nl && left < RECORD_COMMAND_HOLD_MAX)
			break; /* wait for the line end */
		size_t take = nl ? (size_t)(nl - p) + 1 : left;
		if (command(r, p, take) == 0)
			to_server(r, p, take);
		off += take;
	}
	memmove(r->cbuf.data, r->cbuf.data + off, r->cbuf.len - off);
	r->cbuf.len -= off;
	if (r->cbuf.data)
		r->cbuf.data[r->cbuf.len] = 0;
}

static int64_t now_deadline(int seconds)
{
	return clock_ms() + (int64_t)seconds * 1000;
}

/* Relays one session until both sides are done. */
static void relay_run(struct relay *r)
{
	char chunk[RECORD_READ_CHUNK];
	int64_t close_deadline = -1;
	owe(r, command_name(CMD_CONNECT), "", 0);
	while (!r->server_eof && !stop_signal) {
		struct pollfd p[2] = {
			{ .fd = r->client_eof ? -1 : r->client.fd, .events = POLLIN },
			{ .fd = r->server.fd, .events = POLLIN },
		};
		int timeout = -1;
		if (close_deadline >= 0) {
			int64_t left = close_deadline - clock_ms();
			if (left <= 0)
				break;
			timeout = (int)left;
		}
		int n = poll(p, 2, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents) {
			long k = r->server.ops->read(&r->server, chunk, sizeof(chunk));
			if (k > 0) {
				to_client(r, chunk, (size_t)k);
				follow_server(r, chunk, (size_t)k);
			} else if (k != CONN_AGAIN) {
				r->server_eof = 1;
				/* "S: close" replays only when the server closes by itself:
				 * before the client did, or after answering QUIT */
				if (!r->desync && (!r->client_eof || r->ls.quit))
					recording_close(&r->rec);
			}
		}
		if (p[0].revents && !r->client_eof) {
			long k = r->client.ops->read(&r->client, chunk, sizeof(chunk));
			if (k > 0) {
				buf_append(&r->cbuf, chunk, (size_t)k);
				if (!r->hold)
					follow_client(r);
			} else if (k != CONN_AGAIN) {
				/* the client is done: let the server finish and close */
				r->client_eof = 1;
				shutdown(r->server.fd, SHUT_WR);
				close_deadline = now_deadline(TIMEOUT_CLOSE_S);
			}
		}
	}
}

/* ------------------------------------------------------------------ */

static int listen_on(const char *arg, char *err, size_t errlen)
{
	char host[256];
	const char *colon = strrchr(arg, ':');
	if (!colon || colon == arg) {
		snprintf(err, errlen, "--listen %s: expected HOST:PORT", arg);
		return -1;
	}
	size_t hl = (size_t)(colon - arg);
	if (arg[0] == '[' && hl >= 2 && arg[hl - 1] == ']') {
		arg++;
		hl -= 2;
	}
	if (hl >= sizeof(host)) {
		snprintf(err, errlen, "--listen: host name too long");
		return -1;
	}
	memcpy(host, arg, hl);
	host[hl] = 0;
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
		                  .ai_socktype = SOCK_STREAM,
		                  .ai_flags = AI_PASSIVE };
	struct addrinfo *ai = NULL;
	int e = getaddrinfo(host, colon + 1, &hints, &ai);
	if (e) {
		snprintf(err, errlen, "--listen %s: %s", arg, gai_strerror(e));
		return -1;
	}
	int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
	int one = 1;
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 16) < 0) {
		snprintf(err, errlen, "--listen: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char h[NI_MAXHOST], port[NI_MAXSERV];
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0 &&
	    getnameinfo((struct sockaddr *)&ss, sl, h, sizeof(h), port, sizeof(port),
	                NI_NUMERICHOST | NI_NUMERICSERV) == 0) {
		printf("listening on %s %s\n", h, port);
		fflush(stdout);
	}
	return fd;
}

/* Where session k goes: FILE, or DIR/session-NNN.smtp. */
static char *session_path(const char *out, int is_dir, int k)
{
	if (!is_dir)
		return xstrdup(out);
	size_t n = strlen(out);
	return xasprintf("%s%ssession-%03d.smtp", out, n && out[n - 1] == '/' ? "" : "/", k);
}

static char *iso_now(void)
{
	char s[32];
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return xstrdup(s);
}

static const char record_usage[] =
    "usage: smtpconform record --listen HOST:PORT -t TARGET -o FILE.smtp|DIR/ [options]\n"
    "\n"
    "A recording proxy: clients connect to HOST:PORT, every byte is relayed to and\n"
    "from TARGET, every server reply is judged on the way (findings are printed), and\n"
    "each session is written as a scenario. STARTTLS is answered 454 by the recorder\n"
    "(TLS cannot be relayed and recorded). docs/shell.md.\n"
    "\n"
    "  -l, --listen HOST:PORT   where clients connect (port 0: any free port, printed)\n"
    "  -t, --target TARGET      HOST[:PORT], [IPv6]:PORT, unix:/path or exec:COMMAND\n"
    "  -o, --output PATH        FILE.smtp: one session; DIR/ (ends in /): one file per\n"
    "                           session, session-001.smtp, ...\n"
    "      --sessions N         stop after N sessions (default 1 with FILE, else until\n"
    "                           SIGINT/SIGTERM)\n"
    "      --report FMT[:PATH]  reports of the judged replies (repeatable; default\n"
    "                           json:FILE.json, or json:DIR/record.json)\n"
    "      --profile P          matrix profile: rfc5321 (default) or rfc821\n"
    "      --strict             warnings count as failures\n"
    "      --timeout SECONDS    connect timeout for the target (default 30)\n"
    "  -v, --verbose            print every judged reply, not only findings\n";

/* What the command line asks for. */
struct record_args {
	struct record_opts o;
	const char *listen_arg, *target_arg, *out;
	int is_dir;        /* out ends in '/': one file per session */
	long max_sessions; /* 0: until a signal */
	struct report_spec *specs;
	size_t nspecs;
};

/* getopt_long over argv into a; a usage error exits. 1: --help was printed. */
static int parse_args(int argc, char **argv, struct record_args *a)
{
	enum { OPT_SESSIONS = 256, OPT_REPORT, OPT_PROFILE, OPT_STRICT, OPT_TIMEOUT };
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "target", required_argument, NULL, 't' },
		{ "output", required_argument, NULL, 'o' },
		{ "sessions", required_argument, NULL, OPT_SESSIONS },
		{ "report", required_argument, NULL, OPT_REPORT },
		{ "profile", required_argument, NULL, OPT_PROFILE },
		{ "strict", no_argument, NULL, OPT_STRICT },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char err[1024];
	int c;
	memset(a, 0, sizeof(*a));
	a->o.profile = "rfc5321";
	a->o.timeout_s = TIMEOUT_CONNECT_S;
	a->max_sessions = -1;
	while ((c = getopt_long(argc, argv, "l:t:o:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'l': a->listen_arg = optarg; break;
		case 't': a->target_arg = optarg; break;
		case 'o': a->out = optarg; break;
		case OPT_SESSIONS: {
			char *end;
			a->max_sessions = strtol(optarg, &end, 10);
			if (!*optarg || *end || a->max_sessions < 1)
				record_usage_error("--sessions: expected a positive number, got",
				                   optarg);
			break;
		}
		case OPT_REPORT:
			a->specs = xrealloc(a->specs, (a->nspecs + 1) * sizeof(*a->specs));
			if (report_parse_spec(optarg, &a->specs[a->nspecs], err, sizeof(err)) < 0)
				record_usage_error(err, NULL);
			a->nspecs++;
			break;
		case OPT_PROFILE: a->o.profile = optarg; break;
		case OPT_STRICT: a->o.strict = 1; break;
		case OPT_TIMEOUT: {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (!*optarg || *end || v < 1 || v > 3600)
				record_usage_error("--timeout: expected 1 to 3600 seconds, got",
				                   optarg);
			a->o.timeout_s = (int)v;
			break;
		}
		case 'v': a->o.verbose = 1; break;
		case 'h': fputs(record_usage, stdout); return 1;
		default: record_usage_error("unknown option", NULL);
		}
	}
	if (optind < argc)
		record_usage_error("unexpected argument", argv[optind]);
	return 0;
}

/* The checks across options, the output directory, and the defaults that
 * depend on -o; a usage error exits. */
static void check_args(struct record_args *a)
{
	char err[1024];
	if (!a->listen_arg || !a->target_arg || !a->out)
		record_usage_error("--listen, -t and -o are required", NULL);
	if (!matrix_profile_known(a->o.profile))
		record_usage_error("unknown profile", a->o.profile);
	size_t outlen = strlen(a->out);
	a->is_dir = outlen > 0 && a->out[outlen - 1] == '/';
	if (!a->is_dir && (outlen < 6 || strcmp(a->out + outlen - 5, ".smtp") != 0))
		record_usage_error("-o: expected FILE.smtp or DIR/, got", a->out);
	if (a->is_dir && mkdir(a->out, 0777) < 0 && errno != EEXIST)
		record_usage_error(strerror(errno), a->out);
	if (a->max_sessions < 0)
		a->max_sessions = a->is_dir ? 0 : 1;
	if (a->nspecs == 0) {
		char *spec = a->is_dir ? xasprintf("json:%srecord.json", a->out)
		                       : xasprintf("json:%.*s.json", (int)(outlen - 5), a->out);
		a->specs = xcalloc(1, sizeof(*a->specs));
		report_parse_spec(spec, &a->specs[0], err, sizeof(err));
		a->nspecs = 1;
		free(spec);
	}
}

static void catch_stop_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* The run every session's result joins. */
static void run_start(struct run_result *run, const struct record_args *a,
                      const struct target *target)
{
	memset(run, 0, sizeof(*run));
	run->tool_name = xstrdup("smtpconform");
	run->tool_version = xstrdup(SMTPCONFORM_VERSION);
	run->target = xstrdup(target->display);
	run->profile = xstrdup(a->o.profile);
	run->started = iso_now();
	run->strict = a->o.strict;
	run->tls_verify = 1;
}

/* A relay for session k on the accepted client descriptor cfd. */
static struct relay *relay_new(const struct record_opts *o, int k, int cfd)
{
	struct relay *r = xcalloc(1, sizeof(*r));
	r->o = o;
	r->index = k;
	conn_init(&r->client);
	conn_init(&r->server);
	r->client.fd = cfd;
	int fl = fcntl(cfd, F_GETFL);
	if (fl >= 0)
		fcntl(cfd, F_SETFL, fl | O_NONBLOCK);
	live_state_init(&r->ls);
	recording_init(&r->rec);
	reply_init(&r->reply);
	return r;
}

static void relay_free(struct relay *r)
{
	conn_close(&r->server);
	conn_close(&r->client);
	for (size_t i = 0; i < r->npending; i++)
		free(r->pending[i].sent);
	buf_free(&r->cbuf);
	buf_free(&r->dline);
	buf_free(&r->bdat);
	buf_free(&r->sbuf);
	live_state_free(&r->ls);
	recording_free(&r->rec);
	free(r);
}

/* Relays session k into a new scenario result of run, then writes its
 * scenario to path. Returns its verdict. */
static enum verdict relay_session(struct run_result *run, struct relay *r, const char *path,
                                  const char *target_display)
{
	char err[1024];
	int k = r->index;
	run->scenarios = xrealloc(run->scenarios, (run->nscenarios + 1) * sizeof(*run->scenarios));
	struct scenario_result *sr = &run->scenarios[run->nscenarios++];
	memset(sr, 0, sizeof(*sr));
	sr->file = xstrdup(path);
	r->result = sr;
	int64_t s0 = clock_ms();
	printf("[%d] client connected; relaying to %s\n", k, target_display);
	relay_run(r);
	sr->duration_ms = clock_ms() - s0;
	sr->id = xasprintf("recorded.session-%03d", k);
	sr->title = xasprintf("session %d recorded through smtpconform record", k);
	sr->ref = xstrdup("");
	sr->level = xstrdup("");
	sr->tags = xcalloc(1, sizeof(char *));
	sr->transcript = xstrdup("");
	sr->verdict = VERDICT_PASS;
	for (size_t i = 0; i < sr->nsteps; i++)
		if (sr->steps[i].verdict == VERDICT_FAIL)
			sr->verdict = VERDICT_FAIL;
	if (recording_save(&r->rec, path, "smtpconform record", target_display, err, sizeof(err)) <
	    0)
		fprintf(stderr, "smtpconform record: [%d] %s\n", k, err);
	printf("[%d] session ended: %zu replies judged, %zu finding%s; wrote %s\n", k, sr->nsteps,
	       r->findings, r->findings == 1 ? "" : "s", path);
	return sr->verdict;
}

/* Accepts and serves sessions until max_sessions or a signal; returns
 * the exit code so far. */
static int serve(int lfd, const struct record_args *a, struct target *target,
                 struct run_result *run)
{
	char err[1024];
	int code = RECORD_PASS;
	for (int k = 1; a->max_sessions == 0 || k <= a->max_sessions; k++) {
		if (conn_wait_fd(lfd, POLLIN, -1, &stop_signal) != 1)
			break;
		int cfd = accept(lfd, NULL, NULL);
		if (cfd < 0) {
			k--;
			continue;
		}
		struct relay *r = relay_new(&a->o, k, cfd);
		char *path = session_path(a->out, a->is_dir, k);
		if (conn_wait_connect(&r->server, target, a->o.timeout_s, err, sizeof(err)) < 0) {
			fprintf(stderr, "smtpconform record: [%d] %s\n", k, err);
			const char *msg =
			    "421 4.3.0 smtpconform record: the target is unreachable\r\n";
			if (write(cfd, msg, strlen(msg)) < 0) {
				/* the client is gone too */
			}
			code = RECORD_UNREACHABLE;
		} else if (relay_session(run, r, path, target->display) == VERDICT_FAIL &&
		           code == RECORD_PASS) {
			code = RECORD_FAIL;
		}
		relay_free(r);
		free(path);
		if (stop_signal)
			break;
	}
	return code;
}

int record_main(int argc, char **argv)
{
	struct record_args a;
	struct target target;
	struct run_result run;
	char err[1024];

	if (parse_args(argc, argv, &a))
		return RECORD_PASS;
	check_args(&a);
	if (target_parse(a.target_arg, &target, err, sizeof(err)) < 0)
		record_usage_error(err, NULL);
	if (target_resolve(&target, err, sizeof(err)) < 0) {
		fprintf(stderr, "smtpconform record: %s\n", err);
		target_free(&target);
		return RECORD_UNREACHABLE;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	int lfd = listen_on(a.listen_arg, err, sizeof(err));
	if (lfd < 0)
		record_usage_error(err, NULL);
	catch_stop_signals();
	run_start(&run, &a, &target);
	int64_t t0 = clock_ms();
	int code = serve(lfd, &a, &target, &run);
	close(lfd);
	run.duration_ms = clock_ms() - t0;
	run.interrupted = stop_signal != 0 && a.max_sessions != 0;
	run_summarize(&run);
	for (size_t i = 0; i < a.nspecs; i++) {
		if (report_write(&run, &a.specs[i], err, sizeof(err)) < 0) {
			fprintf(stderr, "smtpconform record: %s\n", err);
			code = RECORD_USAGE;
		}
		report_spec_free(&a.specs[i]);
	}
	free(a.specs);
	run_result_free(&run);
	target_free(&target);
	return code;
}
