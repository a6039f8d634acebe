/*
 * io.c - the I/O layer under a session. See io.h.
 *
 * Three libevent events per connection (read, write, the timer) and one
 * function that sets their interest from the layer's own state
 * (update_interest). Each dispatcher does the I/O, tells the owner one
 * semantic event, then sets the interest again: the owner never sees a
 * descriptor, a WANT_READ or an event.
 */
#include "io.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "util.h"

const struct io_backend io_backend_socket = {
	.connect_start = conn_connect_start,
	.connect_finish = conn_connect_finish,
	.tls_attach = tls_attach,
	.tls_handshake = tls_handshake,
	.tls_info = tls_info_get,
	.ready = NULL,
};

static void on_read(evutil_socket_t fd, short what, void *arg);
static void on_write(evutil_socket_t fd, short what, void *arg);
static void on_timer(evutil_socket_t fd, short what, void *arg);

void io_init(struct io *io, struct event_base *base, const struct io_backend *backend,
             void (*cb)(struct io *, enum io_event, void *), void *arg)
{
	/* All but inbuf, which is only ever read below inlen: a session slot
	 * reused thousands of times (load) is not rewritten 16 KiB each time,
	 * and pages of it no reply reached are never made resident. */
	size_t rest = offsetof(struct io, inbuf) + sizeof(io->inbuf);
	memset(io, 0, offsetof(struct io, inbuf));
	memset((char *)io + rest, 0, sizeof(*io) - rest);
	io->base = base;
	io->backend = backend ? backend : &io_backend_socket;
	io->cb = cb;
	io->arg = arg;
	io->phase = IO_PHASE_CLOSED;
	conn_init(&io->conn);
	io->ev_timer = evtimer_new(base, on_timer, io);
	if (!io->ev_timer)
		BUG("evtimer_new failed");
	io->phase_started_ms = clock_ms();
}

static void tell(struct io *io, enum io_event ev)
{
	io->cb(io, ev, io->arg);
}

/* Sets read and write interest from the layer's state. For a transport
 * without a descriptor, interest that could make progress now is made
 * active at once (nothing else would wake it). */
static void update_interest(struct io *io)
{
	if (io->phase == IO_PHASE_CLOSED || !io->ev_read)
		return;
	int want_read = !io->eof && io->inlen < sizeof(io->inbuf) && !io->read_paused &&
	                io->phase != IO_PHASE_CONNECTING &&
	                (io->phase != IO_PHASE_HANDSHAKE || (io->conn.want & CONN_WANT_READ));
	int want_write = io->phase == IO_PHASE_CONNECTING || io->out_off < io->out.len ||
	                 (io->conn.want & CONN_WANT_WRITE);
	if (want_read != io->reading_armed) {
		if (want_read)
			event_add(io->ev_read, NULL);
		else
			event_del(io->ev_read);
		io->reading_armed = want_read;
	}
	if (want_write != io->writing_armed) {
		if (want_write)
			event_add(io->ev_write, NULL);
		else
			event_del(io->ev_write);
		io->writing_armed = want_write;
	}
	if (io->conn.fd < 0 && io->backend->ready) {
		if (want_read && io->backend->ready(&io->conn, CONN_WANT_READ))
			event_active(io->ev_read, EV_READ, 0);
		if (want_write && io->backend->ready(&io->conn, CONN_WANT_WRITE))
			event_active(io->ev_write, EV_WRITE, 0);
	}
}

static void free_events(struct io *io)
{
	if (io->ev_read)
		event_free(io->ev_read);
	if (io->ev_write)
		event_free(io->ev_write);
	io->ev_read = io->ev_write = NULL;
	io->reading_armed = io->writing_armed = 0;
}

void io_reset_on_close(struct io *io)
{
	if (io->backend == &io_backend_socket && !io->tls)
		conn_reset_on_close(&io->conn);
}

void io_close(struct io *io)
{
	free_events(io);
	if (io->ev_timer) {
		event_free(io->ev_timer);
		io->ev_timer = NULL;
	}
	conn_close(&io->conn);
	io->phase = IO_PHASE_CLOSED;
	io->tls = 0;
	buf_free(&io->out);
	io->out_off = 0;
}

/* ---- deadlines ---- */

static void timer_in_ms(struct io *io, int64_t ms)
{
	if (ms < 0)
		ms = 0;
	struct timeval tv = { .tv_sec = (time_t)(ms / 1000),
		              .tv_usec = (suseconds_t)(ms % 1000) * 1000 };
	evtimer_add(io->ev_timer, &tv);
}

void io_set_budget(struct io *io, int64_t deadline_ms)
{
	io->budget_deadline_ms = deadline_ms;
}

void io_set_deadline(struct io *io, int seconds)
{
	int64_t deadline = clock_ms() + (int64_t)seconds * 1000;
	if (io->budget_deadline_ms && io->budget_deadline_ms < deadline)
		deadline = io->budget_deadline_ms;
	io->deadline_ms = deadline;
	io->phase_started_ms = clock_ms();
	timer_in_ms(io, deadline - clock_ms());
}

void io_clear_deadline(struct io *io)
{
	if (io->ev_timer)
		evtimer_del(io->ev_timer);
	io->deadline_ms = 0;
}

void io_set_timer_ms(struct io *io, int ms)
{
	timer_in_ms(io, ms);
}

int io_budget_spent(const struct io *io)
{
	return io->budget_deadline_ms && io->deadline_ms >= io->budget_deadline_ms;
}

long long io_waited_s(const struct io *io)
{
	return (long long)((clock_ms() - io->phase_started_ms + 500) / 1000);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct io *io = arg;
	io->drained = 0;
	tell(io, IO_TIMEOUT);
}

/* ---- connecting ---- */

/* Starts the next connection attempt; its events belong to its descriptor. */
static int connect_next(struct io *io, char *err, size_t errlen)
{
	free_events(io);
	int rc = io->backend->connect_start(&io->conn, io->target, err, errlen);
	if (rc < 0) {
		io->error = io->conn.error;
		io->phase = IO_PHASE_CLOSED;
		return -1;
	}
	io->ev_read = event_new(io->base, io->conn.fd, EV_READ | EV_PERSIST, on_read, io);
	io->ev_write = event_new(io->base, io->conn.fd, EV_WRITE | EV_PERSIST, on_write, io);
	if (!io->ev_read || !io->ev_write)
		BUG("event_new failed");
	if (rc == 1) {
		io->phase = IO_PHASE_OPEN;
		io_clear_deadline(io);
		update_interest(io);
		return 1;
	}
	io->phase = IO_PHASE_CONNECTING;
	io_set_deadline(io, io->connect_timeout_s);
	update_interest(io);
	return 0;
}

int io_connect(struct io *io, const struct target *t, int timeout_s, char *err, size_t errlen)
{
	io->target = t;
	io->connect_timeout_s = timeout_s;
	return connect_next(io, err, errlen);
}

/* The TCP handshake ended (writability): connected, or the next address. */
static void finish_connect(struct io *io)
{
	if (io->backend->connect_finish(&io->conn, io->errmsg, sizeof(io->errmsg)) == 0) {
		io->phase = IO_PHASE_OPEN;
		io_clear_deadline(io);
		update_interest(io);
		tell(io, IO_CONNECTED);
		return;
	}
	if (io->conn.error == ECONNRESET || io->conn.error == EPIPE) {
		/* The handshake was done (a refusal is ECONNREFUSED) and the
		 * server reset the connection before we looked: the server was
		 * reached, the first reply reports the reset. */
		io->eof = 1;
		io->error = io->conn.error;
		io->phase = IO_PHASE_OPEN;
		io_clear_deadline(io);
		update_interest(io);
		tell(io, IO_CONNECTED);
		return;
	}
	int rc = connect_next(io, io->errmsg, sizeof(io->errmsg));
	if (rc == 1)
		tell(io, IO_CONNECTED);
	else if (rc < 0)
		tell(io, IO_CONNECT_FAILED);
}

/* ---- TLS ---- */

static void drive_handshake(struct io *io)
{
	int rc = io->backend->tls_handshake(&io->conn, io->errmsg, sizeof(io->errmsg));
	if (rc == 0) {
		update_interest(io);
		return;
	}
	io->phase = IO_PHASE_OPEN;
	io->conn.want = 0;
	update_interest(io);
	tell(io, rc == 1                         ? IO_TLS_READY
	         : rc == TLS_HANDSHAKE_UNTRUSTED ? IO_TLS_UNTRUSTED
	                                         : IO_TLS_FAILED);
}

int io_start_tls(struct io *io, char *err, size_t errlen)
{
	if (io->backend->tls_attach(&io->conn, err, errlen) < 0)
		return -1;
	io->tls = 1;
	io->phase = IO_PHASE_HANDSHAKE;
	drive_handshake(io);
	return 0;
}

void io_tls_info(const struct io *io, struct tls_info *info)
{
	io->backend->tls_info(&io->conn, info);
}

int io_is_tls(const struct io *io)
{
	return io->tls;
}

int io_is_open(const struct io *io)
{
	return io->phase != IO_PHASE_CLOSED;
}

/* ---- input ---- */

void io_fill(struct io *io)
{
	if (io->phase != IO_PHASE_OPEN || io->drained)
		return;
	while (!io->eof && io->inlen < sizeof(io->inbuf)) {
		size_t room = sizeof(io->inbuf) - io->inlen;
		long n = io->conn.ops->read(&io->conn, io->inbuf + io->inlen, room);
		if (n > 0) {
			io->inlen += (size_t)n;
			/* A short read on a socket drained it: the next bytes (or
			 * end of file) come with the next readiness, so no read is
			 * spent on EAGAIN. TLS may hold decrypted bytes back. */
			if ((size_t)n < room && io->conn.ops == &conn_plain_ops) {
				io->drained = 1;
				return;
			}
			continue;
		}
		if (n == CONN_AGAIN)
			return;
		io->eof = 1;
		if (n == CONN_ERROR)
			io->error = io->conn.error ? io->conn.error : EIO;
	}
}

const uint8_t *io_data(const struct io *io)
{
	return io->inbuf;
}

size_t io_datalen(const struct io *io)
{
	return io->inlen;
}

void io_drop(struct io *io, size_t n)
{
	if (n > io->inlen)
		n = io->inlen;
	memmove(io->inbuf, io->inbuf + n, io->inlen - n);
	io->inlen -= n;
}

int io_eof(const struct io *io)
{
	return io->eof;
}

int io_errno(const struct io *io)
{
	return io->error;
}

const char *io_errmsg(const struct io *io)
{
	return io->errmsg;
}

void io_pause_read(struct io *io, int paused)
{
	io->read_paused = paused;
	update_interest(io);
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct io *io = arg;
	io->drained = 0;
	if (io->phase == IO_PHASE_HANDSHAKE) {
		drive_handshake(io);
		return;
	}
	io_fill(io);
	tell(io, !io->eof ? IO_INPUT : io->error ? IO_ERROR : IO_EOF);
	update_interest(io);
}

/* ---- output ---- */

/* Writes until done or the transport would block. 1: all out (or the server
 * went away while we were sending); *progressed_out when bytes moved. */
static int write_out(struct io *io, int *progressed_out)
{
	while (io->out_off < io->out.len) {
		long n = io->conn.ops->write(&io->conn, io->out.data + io->out_off,
		                             io->out.len - io->out_off);
		if (n > 0) {
			io->out_off += (size_t)n;
			*progressed_out = 1;
			continue;
		}
		if (n == CONN_AGAIN)
			return 0;
		/* The server went away while we were sending: whatever it said
		 * before closing is read when the next reply is expected. A
		 * reset seen here is not seen again by the read. */
		if (io->conn.error == ECONNRESET && !io->error)
			io->error = ECONNRESET;
		io->out_off = io->out.len;
	}
	buf_reset(&io->out);
	io->out_off = 0;
	return 1;
}

int io_send(struct io *io, struct buf *out, int timeout_s)
{
	int progressed = 0;
	buf_free(&io->out);
	io->out = *out;
	memset(out, 0, sizeof(*out));
	io->out_off = 0;
	io->write_timeout_s = timeout_s;
	/* Written at once when the socket takes it: no wait for writability,
	 * no event churn (a session's groups are small). */
	if (io->phase == IO_PHASE_OPEN && write_out(io, &progressed)) {
		update_interest(io); /* no syscall unless the interest changes */
		return 1;
	}
	io_set_deadline(io, timeout_s);
	update_interest(io);
	return 0;
}

int io_sending(const struct io *io)
{
	return io->out_off < io->out.len;
}

/* Writes what io_send() gave until it would block; IO_DRAINED when all is
 * out (or the server went away while we were sending). */
static void flush(struct io *io)
{
	int progressed = 0;
	if (!write_out(io, &progressed)) {
		/* RFC 5321 4.5.3.2.5 times each data block, not the whole
		 * message: a write that made progress starts the deadline
		 * again (the scenario's budget still bounds the total). */
		if (progressed)
			io_set_deadline(io, io->write_timeout_s);
		update_interest(io);
		return;
	}
	io_clear_deadline(io);
	update_interest(io);
	tell(io, IO_DRAINED);
}

static void on_write(evutil_socket_t fd, short what, void *arg)
{
	struct io *io = arg;
	io->drained = 0;
	switch (io->phase) {
	case IO_PHASE_CONNECTING: finish_connect(io); return;
	case IO_PHASE_HANDSHAKE: drive_handshake(io); return;
	case IO_PHASE_OPEN:
		if (io->out_off < io->out.len) {
			flush(io);
			return;
		}
		/* A TLS read that needs to write first (renegotiation). */
		on_read(fd, what, arg);
		return;
	case IO_PHASE_CLOSED: return;
	}
}
