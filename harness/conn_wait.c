/*
 * conn_wait.c - poll()-based waits on one connection. See conn_wait.h.
 */
#include "conn_wait.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "tls.h"
#include "util.h"

int conn_wait_fd(int fd, short events, int64_t deadline, volatile sig_atomic_t *stop)
{
	for (;;) {
		if (stop && *stop)
			return CONN_WAIT_INTERRUPTED;
		int timeout = -1;
		if (deadline >= 0) {
			int64_t left = deadline - clock_ms();
			if (left <= 0)
				return CONN_WAIT_TIMEOUT;
			timeout = left > 1000000 ? 1000000 : (int)left;
		}
		struct pollfd p = { .fd = fd, .events = events };
		int n = poll(&p, 1, timeout);
		if (n > 0)
			return 1;
		if (n < 0 && errno != EINTR)
			return 1; /* let the read or write report the error */
	}
}

static short want_events(const struct conn *c)
{
	short ev = 0;
	if (c->want & CONN_WANT_READ)
		ev |= POLLIN;
	if (c->want & CONN_WANT_WRITE)
		ev |= POLLOUT;
	return ev ? ev : POLLIN;
}

int conn_wait_connect(struct conn *c, const struct target *t, int timeout_s, char *err,
                      size_t errlen)
{
	/* conn_connect_start moves on to the next resolved address at each call
	 * and fails when none is left. */
	char last[512] = "";
	for (;;) {
		int r = conn_connect_start(c, t, err, errlen);
		if (r == 1)
			return 0;
		if (r < 0) {
			if (*last) /* a better reason than "no address left" */
				snprintf(err, errlen, "%s", last);
			return -1;
		}
		int64_t deadline = clock_ms() + (int64_t)timeout_s * 1000;
		char why[256];
		if (conn_wait_fd(c->fd, POLLOUT, deadline, NULL) != 1)
			snprintf(why, sizeof(why), "timed out after %d s", timeout_s);
		else if (conn_connect_finish(c, why, sizeof(why)) == 0)
			return 0;
		conn_close(c);
		snprintf(last, sizeof(last), "cannot connect to %s: %s", t->display, why);
	}
}

int conn_wait_write(struct conn *c, const void *buf, size_t len, int64_t deadline,
                    volatile sig_atomic_t *stop, char *err, size_t errlen)
{
	const char *p = buf;
	while (len > 0) {
		long n = c->ops->write(c, p, len);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n != CONN_AGAIN) {
			snprintf(err, errlen, "write: %s",
			         c->error ? strerror(c->error) : "connection closed");
			return -1;
		}
		int w = conn_wait_fd(c->fd, want_events(c), deadline, stop);
		if (w != 1) {
			snprintf(err, errlen, "write: %s",
			         w == CONN_WAIT_TIMEOUT ? "timed out" : "interrupted");
			return -1;
		}
	}
	return 0;
}

long conn_wait_read(struct conn *c, void *buf, size_t len, int64_t deadline,
                    volatile sig_atomic_t *stop, char *err, size_t errlen)
{
	for (;;) {
		/* Read first: TLS may hold decrypted bytes the socket does not show. */
		long n = c->ops->read(c, buf, len);
		if (n >= 0)
			return n;
		if (n != CONN_AGAIN) {
			snprintf(err, errlen, "read: %s", c->error ? strerror(c->error) : "error");
			return CONN_ERROR;
		}
		int w = conn_wait_fd(c->fd, want_events(c), deadline, stop);
		if (w != 1)
			return w;
	}
}

int conn_wait_tls(struct conn *c, int64_t deadline, volatile sig_atomic_t *stop, char *err,
                  size_t errlen)
{
	if (tls_attach(c, err, errlen) < 0)
		return -1;
	for (;;) {
		int r = tls_handshake(c, err, errlen);
		if (r == 1)
			return 0;
		if (r < 0)
			return -1;
		int w = conn_wait_fd(c->fd, want_events(c), deadline, stop);
		if (w != 1) {
			snprintf(err, errlen, "TLS handshake %s",
			         w == CONN_WAIT_TIMEOUT ? "timed out" : "interrupted");
			return -1;
		}
	}
}
