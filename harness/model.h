/*
 * model.h - the protocol model: what the harness sent and what the server
 * accepted (greeting, EHLO/HELO and its keywords, TLS, AUTH, the mail
 * transaction), and what the RFCs require of the next reply in that state.
 *
 * Owns the session state as the server should see it and the findings that
 * follow from it: the expected outcome of (state, command, argument) comes
 * from fixtures/model/outcomes.tsv (generated into outcome_data.c, first
 * firing row wins); ENHANCEDSTATUSCODES without EHLO, STARTTLS after TLS
 * and the connection close are judged here in code. Does not read the wire
 * (session.c feeds it one judged reply at a time) and does not parse
 * arguments (argument.c).
 */
#ifndef SMTPCONFORM_MODEL_H
#define SMTPCONFORM_MODEL_H

#include <stddef.h>

#include "command.h"
#include "reply.h"
#include "result.h"
#include "util.h"

enum model_state {
	MODEL_CONNECTED, /* no greeting yet */
	MODEL_GREETED,   /* 220 greeting, no EHLO/HELO accepted yet */
	MODEL_IDLE,      /* EHLO/HELO accepted, no transaction open */
	MODEL_MAIL,      /* MAIL accepted, no RCPT accepted yet */
	MODEL_RCPT,      /* MAIL and at least one RCPT accepted */
	MODEL_REFUSED,   /* 554 greeting: RFC 5321 3.1 rules (sequence.after-554) */
	MODEL_UNKNOWN,   /* the model cannot tell (a BDAT refused, a command
	                    accepted out of sequence): nothing is judged on state */
	MODEL_CLOSED,    /* 221 or 421 given */
	MODEL_STATE_COUNT
};

/* What an observation's argument is (bits; an outcome row lists the bits it
 * needs). */
enum model_argf {
	ARGF_NONE = 1u << 0,           /* no argument (trailing spaces ignored) */
	ARGF_WELLFORMED = 1u << 1,     /* valid for the command, within the limits and
	                               the 512-octet line, parameters advertised */
	ARGF_POSTMASTER = 1u << 2,     /* RCPT to <Postmaster> or postmaster@{domain} */
	ARGF_ADVERTISED = 1u << 3,     /* the verb's keyword (or the AUTH mechanism)
	                               is in the session's EHLO reply */
	ARGF_AFTER_RESET = 1u << 4,    /* EHLO/HELO/RSET reset an open transaction and
	                               no MAIL was accepted since */
	ARGF_CANCEL = 1u << 5,         /* "*" answering a 334 */
	ARGF_BAD_BASE64 = 1u << 6,     /* a SASL response that is not base64 */
	ARGF_AGAIN = 1u << 7,          /* AUTH after a successful AUTH */
	ARGF_SIZE_OVER = 1u << 8,      /* SIZE= above the advertised maximum */
	ARGF_SIZE_STICKY = 1u << 9,    /* no SIZE=, right after a MAIL whose SIZE= got 552 */
	ARGF_UNKNOWN_PARAM = 1u << 10, /* a valid path with a parameter keyword no RFC
	                                  defines or the EHLO did not advertise */
	ARGF_SIZE_WITHIN = 1u << 11,   /* SIZE= at most the advertised maximum (n > 0) */
	ARGF_TRAILING_WS = 1u << 12,   /* none or well-formed but for trailing white
	                                  space, which RFC 5321 4.1.1 only says receivers
	                                  SHOULD tolerate (the line is then neither) */
	ARGF_UTF8_PARAM = 1u << 13,    /* VRFY/EXPN String SP "SMTPUTF8" after an EHLO
	                                  that listed SMTPUTF8 (RFC 6531 3.7.4.2) */
	ARGF_WITHIN_LIMITS = 1u << 14, /* EHLO, HELO, MAIL, RCPT, NOOP, HELP: the line, the
	                                  path, local-part and domain within the RFC 5321
	                                  4.5.3.1 limits, no SIZE= above the advertised
	                                  maximum */
	ARGF_ARGUMENT = 1u << 15,      /* DATA, RSET, QUIT, STARTTLS with an argument: they
	                             take none (RFC 5321 4.1.1, RFC 3207 4) */
};

/* What a reply's text must name for an outcome row to fire ("~cause"):
 * the server's own words for why it refused (model.c has the words). */
enum model_cause {
	MODEL_CAUSE_NONE = 0, /* the code alone decides */
	MODEL_CAUSE_TOO_LONG, /* "too long", "length", "longer than" */
	MODEL_CAUSE_SIZE,     /* "size", "too big", "too large" */
	MODEL_CAUSE_DISABLED, /* "disabled", "prohibited", "prohibition" */
};

/* EHLO keywords the model follows (bits). */
enum model_kw {
	KW_PIPELINING = 1u << 0,
	KW_SIZE = 1u << 1,
	KW_8BITMIME = 1u << 2,
	KW_SMTPUTF8 = 1u << 3,
	KW_DSN = 1u << 4,
	KW_ENHANCED = 1u << 5,
	KW_STARTTLS = 1u << 6,
	KW_AUTH = 1u << 7,
	KW_CHUNKING = 1u << 8,
	KW_VRFY = 1u << 9,
	KW_EXPN = 1u << 10,
	KW_HELP = 1u << 11,
	KW_ETRN = 1u << 12,
	KW_ATRN = 1u << 13,
	KW_BINARYMIME = 1u << 14,
};

#define MODEL_MECHS_MAX 256

struct model {
	enum model_state state;
	int identified; /* EHLO or HELO accepted since the greeting/TLS */
	unsigned kw;    /* enum model_kw of the last accepted EHLO (0 after HELO/TLS) */
	unsigned long long size_max; /* SIZE n of that EHLO; 0: none or no limit */
	char mechs[MODEL_MECHS_MAX]; /* AUTH mechanisms of that EHLO, " A B " upper-case */
	int tls;                     /* a STARTTLS handshake happened (220 to STARTTLS) */
	int authed;                  /* AUTH got 235 */
	int in_auth;                 /* AUTH got 334: the next reply answers a SASL response */
	int in_data;                 /* DATA got 354: the next reply ends the data */
	int size_refused;            /* the last MAIL declared SIZE= and got 552 */
	int reset_open;              /* ARGF_AFTER_RESET */
	enum command reset_by;       /* the command that did that reset */
	int last_code;               /* the last reply's code, -1 before any */
	enum command last_cmd;
	/* From the run, set once by model_init(). */
	char domain[256];   /* the served domain (--var domain), "" if unknown */
	int probe_enhanced; /* the capability probe's EHLO listed ENHANCEDSTATUSCODES */
};

/* One row of fixtures/model/outcomes.tsv (outcome_data.c). */
struct outcome_row {
	unsigned states;         /* 1u << enum model_state */
	unsigned long long cmds; /* 1ull << enum command */
	unsigned argf;           /* every bit needed; 0: any argument */
	int negate;              /* 1: a finding unless the code is listed */
	int codes[6];            /* exact codes, 0-terminated */
	unsigned classes;        /* 1u << first digit: "2xx" */
	const char *rule;        /* rule id (rules.c) */
	const char *message;     /* why, in words */
	int line;                /* line in the TSV */
	enum model_cause cause;  /* the reply's text must also name this */
};
extern const struct outcome_row outcome_rows[];
extern const size_t outcome_rows_len;

/* A fresh model. domain may be NULL. */
void model_init(struct model *m, const char *domain, int probe_enhanced);

/* The argument bits of (cmd, argument) in m's state (argument: what follows
 * the verb, leading SP included, no CRLF). For tests and model_observe(). */
unsigned model_classify(const struct model *m, enum command cmd, const char *argument, size_t len);

/*
 * Judges reply r to cmd (with argument, as in model_classify) in m's state:
 * adds the first firing outcome row's finding, and the model's own checks,
 * to st; then moves m to the state after the reply. Sets st->verdict with
 * step_verdict(st, strict) when it adds anything.
 */
void model_observe(struct model *m, enum command cmd, const char *argument, size_t len,
                   const struct reply *r, int strict, struct step_result *st);

/* The same from what session.c holds: the verb name ("DATA-END") and the
 * escaped bytes sent (text_escape: the first line is the command). */
void model_observe_sent(struct model *m, const char *verb, const char *sent_escaped,
                        const struct reply *r, int strict, struct step_result *st);

/*
 * The server closed the connection. last: the step of the last reply judged
 * (the close is reported where it happened: after that reply), or NULL.
 * Adds connection.closed-without-421 to last unless the last reply was 221
 * to QUIT or a 421 (RFC 5321 3.8), and sets its verdict. Returns 1 when it
 * added that finding.
 */
int model_observe_close(struct model *m, struct step_result *last, int strict);

/*
 * The settle wait (docs/model.md). model_settles(): 1 when the reply to verb
 * (with sent_escaped, as in model_observe_sent) is one after which a
 * server that took a bare CR or LF for a line end would send more: the end
 * of message data (DATA-END, a BDAT chunk), or a single command line
 * holding a bare CR or LF. The session then waits --settle-ms for more
 * replies or a close before it sends anything else.
 */
int model_settles(const char *verb, const char *sent_escaped);

/*
 * What arrived in the settle wait after the reply judged on st: extra[0..n)
 * and closed (the server closed the connection). Adds
 * smuggling.early-end-of-data (the data held a smuggling sequence),
 * lines.bare-lf-terminator or lines.bare-cr-terminator to st and sets its
 * verdict. Returns 1 when it judged the bytes (they answer the one line or
 * message the harness sent), 0 when they are not its to judge: nothing
 * arrived, a 421 came first (RFC 5321 3.8), or nothing sent could explain
 * them (syntax.unsolicited then says so).
 */
int model_observe_settle(struct model *m, const char *verb, const char *sent_escaped,
                         const uint8_t *extra, size_t n, int closed, int strict,
                         struct step_result *st);

/* The first sequence in content[0..n) that a lax server might take for
 * the end of the data (a "." next to a bare CR, a bare LF or a NUL, or
 * CRLF "." CRLF before the very end), escaped into out ("\n.\r\n").
 * 1 when there is one. */
int model_smuggling_sequence(const uint8_t *content, size_t n, struct buf *out);

/* "before EHLO/HELO", "with no transaction open", ... for messages. */
const char *model_state_phrase(enum model_state st);

#endif
