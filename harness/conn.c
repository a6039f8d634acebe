/*
 * conn.c - target parsing, resolution, non-blocking connects, and the plain
 * transport. See conn.h. TLS lives in its own file and only adds a
 * struct transport_ops.
 */
#include "conn.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "smtp_limits.h"
#include "util.h"

#define DEFAULT_SMTP_PORT "25"

int target_parse(const char *arg, struct target *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (!arg || !*arg) {
		snprintf(
		    err, errlen,
		    "empty --target; give HOST[:PORT], [IPv6]:PORT, unix:PATH or exec:COMMAND");
		return -1;
	}
	out->display = xstrdup(arg);
	if (strncmp(arg, "unix:", 5) == 0) {
		out->kind = TARGET_UNIX;
		if (!arg[5] || strlen(arg + 5) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
			snprintf(err, errlen, "--target %s: unix socket path is empty or too long",
			         arg);
			goto fail;
		}
		out->path = xstrdup(arg + 5);
		return 0;
	}
	if (strncmp(arg, "exec:", 5) == 0) {
		out->kind = TARGET_EXEC;
		if (!arg[5]) {
			snprintf(err, errlen,
			         "--target exec: needs a command, e.g. exec:'sendmail -bs'");
			goto fail;
		}
		out->command = xstrdup(arg + 5);
		return 0;
	}
	out->kind = TARGET_TCP;
	const char *port = NULL;
	if (arg[0] == '[') {
		const char *close = strchr(arg, ']');
		if (!close || close == arg + 1) {
			snprintf(err, errlen,
			         "--target %s: unterminated '[' (IPv6 form is [::1]:2525)", arg);
			goto fail;
		}
		out->host = xstrndup(arg + 1, (size_t)(close - arg - 1));
		if (close[1] == ':')
			port = close + 2;
		else if (close[1]) {
			snprintf(err, errlen, "--target %s: expected ':PORT' after ']'", arg);
			goto fail;
		}
	} else {
		const char *colon = strchr(arg, ':');
		if (colon && strchr(colon + 1, ':')) {
			snprintf(err, errlen,
			         "--target %s: put an IPv6 address in brackets, e.g. [::1]:2525",
			         arg);
			goto fail;
		}
		if (colon) {
			out->host = xstrndup(arg, (size_t)(colon - arg));
			port = colon + 1;
		} else {
			out->host = xstrdup(arg);
		}
	}
	if (!*out->host) {
		snprintf(err, errlen, "--target %s: empty host", arg);
		goto fail;
	}
	if (port) {
		char *end;
		long p = strtol(port, &end, 10);
		if (!*port || *end || p < 1 || p > 65535) {
			snprintf(err, errlen, "--target %s: port must be 1-65535", arg);
			goto fail;
		}
	}
	out->port = xstrdup(port ? port : DEFAULT_SMTP_PORT);
	return 0;
fail:
	target_free(out);
	return -1;
}

int target_resolve(struct target *t, char *err, size_t errlen)
{
	if (t->kind != TARGET_TCP || t->addrs)
		return 0;
	struct addrinfo hints;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	int rc = getaddrinfo(t->host, t->port, &hints, &t->addrs);
	if (rc != 0) {
		snprintf(err, errlen, "cannot resolve %s: %s", t->host, gai_strerror(rc));
		t->addrs = NULL;
		return -1;
	}
	return 0;
}

void target_free(struct target *t)
{
	free(t->display);
	free(t->host);
	free(t->port);
	free(t->path);
	free(t->command);
	if (t->addrs)
		freeaddrinfo(t->addrs);
	memset(t, 0, sizeof(*t));
}

static long plain_read(struct conn *c, void *buf, size_t len)
{
	c->want = 0;
	ssize_t n = read(c->fd, buf, len);
	if (n > 0)
		return (long)n;
	if (n == 0)
		return CONN_EOF;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
		c->want = CONN_WANT_READ;
		return CONN_AGAIN;
	}
	c->error = errno;
	return CONN_ERROR;
}

static long plain_write(struct conn *c, const void *buf, size_t len)
{
	c->want = 0;
	ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);
	if (n < 0 && errno == ENOTSOCK)
		n = write(c->fd, buf, len);
	if (n >= 0)
		return (long)n;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
		c->want = CONN_WANT_WRITE;
		return CONN_AGAIN;
	}
	c->error = errno;
	return CONN_ERROR;
}

static void plain_shutdown(struct conn *c)
{
	(void)c;
}

const struct transport_ops conn_plain_ops = {
	.name = "plain",
	.read = plain_read,
	.write = plain_write,
	.shutdown = plain_shutdown,
};

void conn_init(struct conn *c)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->child = -1;
	c->ops = &conn_plain_ops;
}

static int set_nonblocking(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -1;
	return fcntl(fd, F_SETFD, FD_CLOEXEC);
}

static int connect_exec(struct conn *c, const struct target *t, char *err, size_t errlen)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) {
		c->error = errno;
		snprintf(err, errlen, "exec:%s: socketpair: %s", t->command, strerror(errno));
		return -1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "exec:%s: fork: %s", t->command, strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		/* Its own process group, so that conn_close() ends whatever the
		 * command started too (a shell's children, a pipeline). */
		setpgid(0, 0);
		close(sv[0]);
		if (dup2(sv[1], 0) < 0 || dup2(sv[1], 1) < 0)
			_exit(127);
		if (sv[1] > 1)
			close(sv[1]);
		execl("/bin/sh", "sh", "-c", t->command, (char *)NULL);
		_exit(127);
	}
	setpgid(pid, pid); /* also here: no race with the child's own call */
	close(sv[1]);
	c->fd = sv[0];
	c->child = pid;
	if (set_nonblocking(c->fd) < 0) {
		snprintf(err, errlen, "exec:%s: %s", t->command, strerror(errno));
		conn_close(c);
		return -1;
	}
	return 1;
}

static int connect_unix(struct conn *c, const struct target *t, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, t->path, strlen(t->path));
	c->fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (c->fd < 0)
		c->error = errno;
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    set_nonblocking(c->fd) < 0) {
		snprintf(err, errlen, "cannot connect to unix:%s: %s", t->path, strerror(errno));
		conn_close(c);
		return -1;
	}
	return 1;
}

int conn_connect_start(struct conn *c, const struct target *t, char *err, size_t errlen)
{
	if (t->kind == TARGET_EXEC)
		return connect_exec(c, t, err, errlen);
	if (t->kind == TARGET_UNIX)
		return connect_unix(c, t, err, errlen);
	if (c->fd >= 0)
		conn_close(c);
	size_t i = 0;
	int attempted = 0;
	for (struct addrinfo *ai = t->addrs; ai; ai = ai->ai_next, i++) {
		if (i < c->addr_index)
			continue;
		c->addr_index = i + 1;
		attempted = 1;
		c->fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
		if (c->fd < 0 && (errno == EMFILE || errno == ENFILE)) {
			c->error = errno; /* out of descriptors: no other address helps */
			snprintf(err, errlen, "socket: %s", strerror(errno));
			return -1;
		}
		if (c->fd < 0 || set_nonblocking(c->fd) < 0) {
			snprintf(err, errlen, "socket: %s", strerror(errno));
			conn_close(c);
			continue;
		}
		if (connect(c->fd, ai->ai_addr, ai->ai_addrlen) == 0)
			return 1;
		if (errno == EINPROGRESS)
			return 0;
		snprintf(err, errlen, "cannot connect to %s: %s", t->display, strerror(errno));
		conn_close(c);
	}
	/* Called again after the last address failed in conn_connect_finish():
	 * its error (ECONNREFUSED, ...) is what the user needs to read. */
	if (!attempted && c->error)
		snprintf(err, errlen, "cannot connect to %s: %s", t->display, strerror(c->error));
	else if (!attempted)
		snprintf(err, errlen, "cannot connect to %s: no address left to try", t->display);
	return -1;
}

int conn_connect_finish(struct conn *c, char *err, size_t errlen)
{
	int soerr = 0;
	socklen_t len = sizeof(soerr);
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
		soerr = errno;
	if (soerr) {
		snprintf(err, errlen, "%s", strerror(soerr));
		c->error = soerr;
		return -1;
	}
	return 0;
}

void conn_reset_on_close(struct conn *c)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	if (c->fd >= 0 && c->ops == &conn_plain_ops)
		(void)setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
}

void conn_close(struct conn *c)
{
	if (c->fd >= 0) {
		if (c->ops && c->ops->shutdown)
			c->ops->shutdown(c);
		close(c->fd);
		c->fd = -1;
	}
	c->ops = &conn_plain_ops;
	if (c->child > 0) {
		/* The program's whole process group ends with the connection:
		 * SIGTERM, a short grace, then SIGKILL, so that nothing it started
		 * is left behind and a program ignoring SIGTERM cannot hold us. */
		int status;
		pid_t group = c->child;
		int reaped = waitpid(c->child, &status, WNOHANG) == c->child;
		if (kill(-group, SIGTERM) == 0 && !reaped) {
			struct timespec tick = { .tv_sec = 0, .tv_nsec = 10 * 1000 * 1000 };
			for (int waited = 0; waited < EXEC_TERM_GRACE_MS && !reaped; waited += 10) {
				nanosleep(&tick, NULL);
				reaped = waitpid(c->child, &status, WNOHANG) == c->child;
			}
		}
		kill(-group, SIGKILL);
		if (!reaped)
			waitpid(c->child, &status, 0);
		c->child = -1;
	}
}
