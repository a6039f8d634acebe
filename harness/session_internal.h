/*
 * session_internal.h - struct session, shared by session.c (the state
 * machine of one connection) and engine.c (the scheduler), and the unit
 * tests that drive a session over a fake io_backend. Not for other modules:
 * they use session.h.
 */
#ifndef SMTPCONFORM_SESSION_INTERNAL_H
#define SMTPCONFORM_SESSION_INTERNAL_H

#include <event2/event.h>
#include <stdint.h>

#include "io.h"
#include "smtp_limits.h"
#include "model.h"
#include "reply.h"
#include "sasl.h"
#include "session.h"
#include "util.h"

/* Longest verb kept for matrix lookups ("STARTTLS", "DATA-END"). */
#define VERB_MAX 32

enum session_state {
	SESSION_IDLE,        /* connected, between steps */
	SESSION_CONNECTING,  /* TCP handshake under way */
	SESSION_WRITING,     /* flushing a pipelined group */
	SESSION_READING,     /* reading one reply for an S: step */
	SESSION_AWAIT_CLOSE, /* S: close: waiting for end of file */
	SESSION_HANDSHAKE,   /* TLS handshake (after 220 to STARTTLS, or implicit TLS) */
	SESSION_TLS_GRACE,   /* after STARTTLS with commands pipelined behind it:
	                        waiting briefly for replies a vulnerable server sends */
	SESSION_LINGER,      /* a step failed: waiting briefly for a close to judge;
	                        or, with settling set, the settle wait after an end
	                        of data or a bare-CR/LF line (model_settles) */
	SESSION_DONE,        /* result filled, resources released */
};

/* A command sent whose reply has not been read yet. */
struct pending {
	char verb[VERB_MAX]; /* matrix command: verb, DATA-END, CONNECT */
	char *sent;          /* escaped bytes sent, owned */
};

struct session {
	struct event_base *base;
	const struct engine_options *opts;
	const struct scenario *scenario;
	struct scenario_result *result; /* filled in place, owned by the caller */
	int keep_going;                 /* 1: do not stop at a failed step (probe) */
	void (*on_done)(struct session *s);
	/* Called with each whole reply of an S: step before the next step runs:
	 * the probe appends its next command here (a step list that grows). */
	void (*on_reply)(struct session *s, const struct reply *reply);
	void *owner;                      /* the engine */
	const struct io_backend *backend; /* NULL: sockets; a test's fake server */
	/* load.c: called with each complete reply once it is judged (not for
	 * 334 challenges); NULL for run. group_sent_us: when the group that
	 * reply answers was sent (clock_us), the connect's start for the
	 * greeting: the reply's latency is the time since. */
	void (*on_judged)(struct session *s, const struct step_result *st);
	int64_t group_sent_us;

	enum session_state state;
	struct io io; /* the connection: socket, TLS, input, deadline */

	size_t pc;           /* next step of scenario->steps */
	struct buf out;      /* the pipelined group being queued (io_send takes it) */
	struct reply *reply; /* reply being read (heap: it is large) */
	/* load.c: its slot's reply storage, used instead of allocating one at
	 * session_start() and kept at session_release(): a 64 KiB malloc and
	 * free a session cost a heap consolidation each. NULL: allocated. */
	struct reply *reply_spare;

	struct pending *queue; /* commands sent, replies not yet read */
	size_t nqueue, qhead, capqueue;
	struct pending answering; /* command the current reply answers */
	int sent_any;             /* anything sent on this connection */
	int settling;             /* SESSION_LINGER is the settle wait: it goes on
	                                    with the scenario afterwards */
	int enhanced_codes;       /* the last EHLO reply listed ENHANCEDSTATUSCODES */
	struct model model;       /* the protocol model (engine.c inits it) */
	size_t injected;          /* commands sent after STARTTLS in its group,
	                                    discarded at the handshake (RFC 3207 4.2) */
	size_t starttls_index;    /* result index of the 220 that started TLS */
	const struct step *auth;  /* the A: step whose exchange is under way, or NULL */
	struct sasl sasl;         /* its state (holds the password: never recorded) */
	char *auth_password;      /* the password used (wrong on purpose for "wrong") */
	enum {
		DATA_NONE,     /* the last reply did not answer DATA */
		DATA_ACCEPTED, /* DATA just got 3xx: the next R:/D: is content */
		DATA_REFUSED,  /* DATA just got no 3xx: content is not sent */
	} data_state;

	int64_t started_ms;
	int budget_s; /* that budget in seconds (0: none) */
	struct buf transcript;
	char *error_reason;
	int unreachable; /* could not connect at all */
	int no_fd;       /* ended because no descriptor was free
	                                    (EMFILE/ENFILE): to be started again */
};

/* Zeroes s before its fields are set for session_start(), all but the I/O
 * layer's input buffer (see io_init()): a reused slot is not rewritten
 * 16 KiB at a time. */
void session_clear(struct session *s);
void session_start(struct session *s);
void session_abort(struct session *s, const char *reason);
void session_release(struct session *s);

#endif
