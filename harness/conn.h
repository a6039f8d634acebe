/*
 * conn.h - where the target is and how bytes move to and from it.
 *
 * Owns: parsing --target (HOST[:PORT], [v6]:PORT, unix:/path, exec:COMMAND),
 * resolving it once per run, starting non-blocking connections, and the
 * transport table that moves bytes (plain sockets here; TLS plugs in as
 * another struct transport_ops on the same fd, so STARTTLS is a swap).
 * Does not own the event loop or anything SMTP.
 */
#ifndef SMTPCONFORM_CONN_H
#define SMTPCONFORM_CONN_H

#include <stddef.h>
#include <sys/types.h>

enum target_kind {
	TARGET_TCP,  /* host and port, IPv4, IPv6 or a name */
	TARGET_UNIX, /* unix:/path/to/socket */
	TARGET_EXEC, /* exec:COMMAND - a program speaking SMTP on stdin/stdout */
};

struct target {
	enum target_kind kind;
	char *display;          /* as the user gave it, for reports */
	char *host;             /* TCP: host without brackets */
	char *port;             /* TCP: service, default "25" */
	char *path;             /* UNIX: socket path */
	char *command;          /* EXEC: shell command */
	struct addrinfo *addrs; /* TCP: resolved by target_resolve() */
};

/* Parses a --target value. Returns 0, or -1 with a message. */
int target_parse(const char *arg, struct target *out, char *err, size_t errlen);
/* Resolves a TCP target once for the whole run. -1 with a message on failure. */
int target_resolve(struct target *t, char *err, size_t errlen);
void target_free(struct target *t);

/* Result of a transport read or write that did not move bytes. */
#define CONN_EOF 0
#define CONN_AGAIN (-2) /* would block; conn.want says on what */
#define CONN_ERROR (-1) /* errno-style code in conn.error */

/* Interest a transport needs before it can make progress. */
enum conn_want { CONN_WANT_READ = 1, CONN_WANT_WRITE = 2 };

struct conn;
struct transport_ops {
	const char *name; /* "plain", "tls" */
	/* >0 bytes, CONN_EOF, CONN_AGAIN or CONN_ERROR */
	long (*read)(struct conn *c, void *buf, size_t len);
	long (*write)(struct conn *c, const void *buf, size_t len);
	void (*shutdown)(struct conn *c); /* transport-level close, before close(fd) */
};

struct conn {
	int fd;                          /* -1 when closed */
	const struct transport_ops *ops; /* current transport (plain until STARTTLS) */
	void *transport;                 /* transport state (TLS session), or NULL */
	int want;                        /* enum conn_want bits after CONN_AGAIN */
	int error;                       /* errno after CONN_ERROR */
	pid_t child;                     /* EXEC: the program, or -1 */
	size_t addr_index;               /* TCP: which resolved address is being tried */
};

extern const struct transport_ops conn_plain_ops;

/*
 * Starts connecting to t (non-blocking). Returns 1 when connected at once
 * (unix, exec), 0 when in progress (wait for writability, then call
 * conn_connect_finish), or -1 with a message. On -1 for TCP, call again: it
 * moves on to the next resolved address until they run out. On -1 with
 * c->error EMFILE or ENFILE no descriptor was free: try again later.
 */
int conn_connect_start(struct conn *c, const struct target *t, char *err, size_t errlen);
/* After writability: 0 connected, -1 failed (message in err). */
int conn_connect_finish(struct conn *c, char *err, size_t errlen);
/* Closes the transport and fd; ends an exec child's process group (SIGTERM,
 * EXEC_TERM_GRACE_MS, SIGKILL) and reaps it. Idempotent. */
void conn_close(struct conn *c);
/* The next conn_close() resets the connection (SO_LINGER 0: a RST, and no
 * TIME_WAIT left on this side) instead of closing it in order. Unsent bytes
 * are dropped: only once nothing is left to say. Plain transport only. */
void conn_reset_on_close(struct conn *c);
/* Resets to the aborting state: SO_LINGER 0 is not used; plain close. */
void conn_init(struct conn *c);

#endif
