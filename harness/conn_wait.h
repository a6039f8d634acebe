/*
 * conn_wait.h - waiting on one struct conn with poll(), for the commands
 * that drive a single connection in the foreground (shell, record).
 *
 * Owns: connecting with a deadline, writing everything, reading some bytes
 * or running a TLS handshake under a deadline that a signal flag can cut
 * short (Ctrl-C in the shell). Does not own the transports (conn.h, tls.h)
 * or anything SMTP; the scenario engine keeps its own event loop.
 */
#ifndef SMTPCONFORM_CONN_WAIT_H
#define SMTPCONFORM_CONN_WAIT_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "conn.h"

/* Results besides a byte count: CONN_EOF (0), CONN_ERROR (-1) and these. */
#define CONN_WAIT_TIMEOUT (-3)
#define CONN_WAIT_INTERRUPTED (-4)

/*
 * Waits for fd to become ready for events (POLLIN/POLLOUT) until deadline
 * (clock_ms() value; <0: no deadline). 1 ready, CONN_WAIT_TIMEOUT, or
 * CONN_WAIT_INTERRUPTED when *stop (may be NULL) became non-zero.
 */
int conn_wait_fd(int fd, short events, int64_t deadline, volatile sig_atomic_t *stop);

/* Connects to t (every resolved address in turn). 0, or -1 with a message. */
int conn_wait_connect(struct conn *c, const struct target *t, int timeout_s, char *err,
                      size_t errlen);

/* Writes all of buf. 0, or -1 with a message (also on timeout or stop). */
int conn_wait_write(struct conn *c, const void *buf, size_t len, int64_t deadline,
                    volatile sig_atomic_t *stop, char *err, size_t errlen);

/*
 * Reads at most len bytes: >0 bytes, CONN_EOF, CONN_ERROR (message in err),
 * CONN_WAIT_TIMEOUT or CONN_WAIT_INTERRUPTED.
 */
long conn_wait_read(struct conn *c, void *buf, size_t len, int64_t deadline,
                    volatile sig_atomic_t *stop, char *err, size_t errlen);

/* Attaches TLS to c and completes the handshake. 0, or -1 with a message. */
int conn_wait_tls(struct conn *c, int64_t deadline, volatile sig_atomic_t *stop, char *err,
                  size_t errlen);

#endif
