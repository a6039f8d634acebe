/*
 * live.h - judging replies one at a time as a live session goes by (the
 * interactive shell, the recording proxy), and what such a session knows.
 *
 * Owns: struct live_state (what the client side has seen: greeting, EHLO,
 * keywords, TLS, AUTH, transaction, DATA) and its updates, one reply's
 * judgement in that context through check.h (syntax, matrix, EHLO keyword
 * syntax, enhanced status codes once advertised), and the one-line verdict
 * people read. Does not own I/O or the judgement rules themselves; the
 * protocol model of the scenario engine may later replace live_state.
 */
#ifndef SMTPCONFORM_LIVE_H
#define SMTPCONFORM_LIVE_H

#include <stdio.h>

#include "command.h"
#include "model.h"
#include "reply.h"
#include "result.h"
#include "util.h"

struct live_state {
	int greeting_code; /* code of the greeting, -1 before (or unreadable) */
	char hello[5];     /* "EHLO" or "HELO" once accepted, "" before / after STARTTLS */
	char **keywords;   /* EHLO keyword lines (text after the code), as received */
	size_t nkeywords;
	int enhanced_codes; /* EHLO listed ENHANCEDSTATUSCODES: replies must carry them */
	int tls_active;     /* STARTTLS (or implicit TLS) handshake done */
	char *tls_protocol; /* "TLSv1.3", or NULL */
	char *tls_cipher;
	int tls_verified;   /* the certificate chain and name verified */
	int auth_done;      /* AUTH answered 235 */
	int mail_accepted;  /* MAIL answered 2xx; cleared by RSET, EHLO, DATA-END */
	int rcpts_accepted; /* RCPT answered 2xx in this transaction */
	int in_data;        /* DATA answered 354: lines are message content until "." */
	int quit;           /* QUIT answered */
	int closed;         /* the server closed the connection */
	struct model model; /* the protocol model run uses (model.h): judges each reply
	                          in its state, as run does */
};

void live_state_init(struct live_state *ls);
void live_state_free(struct live_state *ls);
/* After a TLS handshake: RFC 3207 4.2, the client forgets what it knew
 * about the server (EHLO, keywords, AUTH, transaction). */
void live_state_tls_started(struct live_state *ls, const char *protocol, const char *cipher,
                            int verified);

/* The verb live_judge() takes for a reply nothing asked for: the matrix's
 * row for any command. */
#define LIVE_ANY_COMMAND "*"

/*
 * Judges reply r as the answer to verb (as sent, upper-cased: command.h
 * names it; "CONNECT" for the greeting, "DATA-END" after the end of data,
 * LIVE_ANY_COMMAND for none) under profile, fills st (its command is set
 * here) and updates ls from it.
 */
void live_judge(struct live_state *ls, const char *profile, int strict, const char *verb,
                const char *sent_escaped, const struct reply *r, struct step_result *st);

/* The verb of a command line, upper-cased, at most outlen-1 bytes ("" if none). */
void live_verb(const char *line, size_t len, char *out, size_t outlen);

/*
 * "ok", or "FAIL"/"WARN" then each finding as "rule [level, RFC section]
 * message" separated by "; ". color: wrap in ANSI colours.
 */
void live_verdict_line(const struct step_result *st, int color, struct buf *out);

/* RFC 5321 4.5.3.2: seconds a client waits for the reply to cmd
 * (CMD_CONNECT for the greeting, CMD_DATA_END, CMD_UNKNOWN for another). */
int live_reply_timeout_s(enum command cmd);

/* What the state says, a few lines for people. */
void live_state_print(const struct live_state *ls, FILE *out);

/* The mechanisms listed on the EHLO AUTH line (space separated), or NULL. */
const char *live_auth_mechanisms(const struct live_state *ls);

#endif
