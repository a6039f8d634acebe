/*
 * io.h - the I/O layer under a session: one connection on one libevent loop.
 *
 * Owns: connecting (every resolved address in turn), the transport (plain,
 * then TLS on the same socket; WANT_READ/WANT_WRITE become event interest
 * here), the input buffer, the output being flushed, the one timer (reply
 * deadlines, capped by the scenario's budget; short waits), and the event
 * interest. It tells its owner what happened through one callback with a
 * semantic event (enum io_event). Does not own anything SMTP: no reply
 * parsing, no steps, no verdicts (session.c). Shaped after OpenSMTPD's
 * ioev.h; the connection and TLS calls go through struct io_backend, the
 * seam the unit tests replace with a fake server (tests/unit/test_session.c).
 */
#ifndef SMTPCONFORM_IO_H
#define SMTPCONFORM_IO_H

#include <event2/event.h>
#include <stddef.h>
#include <stdint.h>

#include "conn.h"
#include "smtp_limits.h"
#include "tls.h"
#include "util.h"

/* What the owner is told. Each is delivered from the event loop (or from
 * io_connect/io_start_tls when it happens at once); the owner may call any
 * io_* function from its callback, io_close included. */
enum io_event {
	IO_CONNECTED,      /* the connection is up (it may already be at end of file) */
	IO_CONNECT_FAILED, /* no address could be reached: io_errmsg(), io_errno() */
	IO_INPUT,          /* bytes arrived in the input buffer */
	IO_EOF,            /* the server closed; the input buffer may still hold bytes */
	IO_ERROR,          /* a read failed (reset): io_errno(); bytes may remain too */
	IO_DRAINED,        /* everything io_send() was given is written (or the server
	                      went away while it was: the next read says how) */
	IO_TLS_READY,      /* the TLS handshake is done */
	IO_TLS_FAILED,     /* the TLS handshake failed: io_errmsg() */
	IO_TLS_UNTRUSTED,  /* --tls-verify require and the certificate did not verify:
	                      io_errmsg() is OpenSSL's verify error alone */
	IO_TIMEOUT,        /* the deadline or the short timer ran out */
};

/* How the layer reaches a server: conn.c and tls.c for real (io_backend_socket),
 * or a test's fake. The transport's reads and writes are conn.ops's. */
struct io_backend {
	/* conn_connect_start(): 1 connected, 0 in progress, -1 failed */
	int (*connect_start)(struct conn *c, const struct target *t, char *err, size_t errlen);
	/* conn_connect_finish(): 0 connected, -1 failed (c->error) */
	int (*connect_finish)(struct conn *c, char *err, size_t errlen);
	int (*tls_attach)(struct conn *c, char *err, size_t errlen);
	/* 1 done, 0 would block (c->want), -1 failed */
	int (*tls_handshake)(struct conn *c, char *err, size_t errlen);
	void (*tls_info)(const struct conn *c, struct tls_info *info);
	/* For a transport without a descriptor (a test's fake): 1 when a read
	 * (CONN_WANT_READ) or a write (CONN_WANT_WRITE) would make progress now.
	 * NULL for sockets: their readiness comes from the event loop. */
	int (*ready)(const struct conn *c, int want);
};

extern const struct io_backend io_backend_socket;

enum io_phase {
	IO_PHASE_CLOSED,     /* no connection (before io_connect, after io_close) */
	IO_PHASE_CONNECTING, /* TCP handshake under way */
	IO_PHASE_OPEN,       /* bytes move */
	IO_PHASE_HANDSHAKE,  /* TLS handshake under way */
};

struct io {
	struct event_base *base;
	const struct io_backend *backend;
	void (*cb)(struct io *io, enum io_event ev, void *arg);
	void *arg;

	enum io_phase phase;
	const struct target *target; /* for the next address after a failure */
	struct conn conn;
	struct event *ev_read, *ev_write, *ev_timer;
	int reading_armed, writing_armed;
	int read_paused; /* io_pause_read(): no read interest */
	int tls;         /* TLS attached to this connection */

	uint8_t inbuf[SESSION_INBUF_SIZE]; /* received, not yet consumed (io_init()
	                                      leaves its bytes: read below inlen only) */
	size_t inlen;
	int eof;     /* the server closed (or reset) */
	int error;   /* errno of a failed read, 0 for a clean EOF */
	int drained; /* a short read in this event callback emptied
	                                    the socket: io_fill() does not read again
	                                    until the next readiness (load: fewer
	                                    syscalls; TLS may hold bytes back, so only
	                                    plain sockets) */

	struct buf out;      /* being written */
	size_t out_off;      /* bytes of out already written */
	int write_timeout_s; /* restarted by each write making progress */

	int64_t phase_started_ms;   /* when the current deadline was armed */
	int64_t deadline_ms;        /* 0: none armed */
	int64_t budget_deadline_ms; /* no deadline goes past it; 0: none */
	int connect_timeout_s;
	char errmsg[512]; /* why connecting or the handshake failed */
};

/* Sets io up on base (backend NULL: sockets); nothing is connected yet. */
void io_init(struct io *io, struct event_base *base, const struct io_backend *backend,
             void (*cb)(struct io *, enum io_event, void *), void *arg);
/* Frees the connection, events and buffers; io_init() again to reuse. Idempotent. */
void io_close(struct io *io);
/* io_close() will reset a plain socket connection (conn_reset_on_close());
 * nothing for TLS or a test's backend. */
void io_reset_on_close(struct io *io);

/* Connects to t, trying each address in turn under timeout_s each. 1:
 * connected now (no IO_CONNECTED follows); 0: in progress (IO_CONNECTED or
 * IO_CONNECT_FAILED, or IO_TIMEOUT, follows); -1: failed now, with err. */
int io_connect(struct io *io, const struct target *t, int timeout_s, char *err, size_t errlen);
/* Starts TLS on the connection and drives the handshake: IO_TLS_READY or
 * IO_TLS_FAILED follows (maybe before this returns). -1 with err when TLS
 * cannot even be set up (no callback then). */
int io_start_tls(struct io *io, char *err, size_t errlen);
void io_tls_info(const struct io *io, struct tls_info *info);
int io_is_tls(const struct io *io);
int io_is_open(const struct io *io);

/* Takes out's bytes (out is left empty) and writes what the transport takes
 * at once. 1: all of it is gone (or the server went away: the next read says
 * how), nothing follows. 0: the rest waits for the socket under a deadline
 * of timeout_s that each write making progress starts again: IO_DRAINED or
 * IO_TIMEOUT follows. */
int io_send(struct io *io, struct buf *out, int timeout_s);
int io_sending(const struct io *io);

/* Reads whatever the transport has now into the input buffer, without
 * telling the owner (it asked). Notes end of file and errors. */
void io_fill(struct io *io);
const uint8_t *io_data(const struct io *io);
size_t io_datalen(const struct io *io);
/* Consumes n bytes from the front of the input buffer. */
void io_drop(struct io *io, size_t n);
int io_eof(const struct io *io);
int io_errno(const struct io *io);
const char *io_errmsg(const struct io *io);
/* 1: stop reading (bytes stay with the transport) until io_pause_read(io, 0). */
void io_pause_read(struct io *io, int paused);

/* The deadline: now + seconds, never past the budget. IO_TIMEOUT when it
 * passes. io_set_budget(): the end of the whole budget (ms, clock_ms()). */
void io_set_budget(struct io *io, int64_t deadline_ms);
void io_set_deadline(struct io *io, int seconds);
void io_clear_deadline(struct io *io);
/* A short wait (linger, grace) that is not a deadline: IO_TIMEOUT after ms. */
void io_set_timer_ms(struct io *io, int ms);
/* 1 when the deadline armed is the budget's end, not the step's own. */
int io_budget_spent(const struct io *io);
/* Whole seconds since the deadline was armed (rounded). */
long long io_waited_s(const struct io *io);

#endif
