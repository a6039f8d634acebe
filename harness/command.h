/*
 * command.h - the commands the harness sends, as data: one enum and one
 * table (verb, RFC 5321 4.5.3.2 timeout class, matrix row, argument).
 *
 * Owns every comparison of a verb string: other modules name commands by
 * enum command. Besides verbs, the table holds the pseudo-commands the
 * matrix and the reports use: CONNECT (the greeting), DATA-END (the reply
 * after <CRLF>.<CRLF>) and UNKNOWN (a verb no row defines). Does not send
 * anything and does not judge replies (matrix.c, check.c).
 */
#ifndef SMTPCONFORM_COMMAND_H
#define SMTPCONFORM_COMMAND_H

#include <stddef.h>

enum command {
	CMD_CONNECT, /* pseudo: the greeting */
	CMD_HELO,
	CMD_EHLO,
	CMD_MAIL,
	CMD_RCPT,
	CMD_DATA,
	CMD_DATA_END, /* pseudo: the reply after <CRLF>.<CRLF> */
	CMD_BDAT,
	CMD_RSET,
	CMD_VRFY,
	CMD_EXPN,
	CMD_HELP,
	CMD_NOOP,
	CMD_QUIT,
	CMD_STARTTLS,
	CMD_AUTH,
	CMD_ETRN,
	CMD_ATRN,
	CMD_TURN,    /* RFC 821 */
	CMD_SEND,    /* RFC 821 */
	CMD_SOML,    /* RFC 821 */
	CMD_SAML,    /* RFC 821 */
	CMD_UNKNOWN, /* pseudo: any other verb */
	CMD_COUNT
};

enum command_arg {
	ARG_NONE,     /* "DATA" CRLF */
	ARG_OPTIONAL, /* "HELP" [ SP String ] CRLF */
	ARG_REQUIRED, /* "MAIL FROM:" Reverse-path */
};

struct command_info {
	enum command cmd;        /* its own index */
	const char *name;        /* "MAIL", or the pseudo-command's name */
	int pseudo;              /* 1: not a verb a client sends (CONNECT, DATA-END, UNKNOWN) */
	int timeout_s;           /* TIMEOUT_*_S: how long its reply may take */
	const char *timeout_ref; /* the section of RFC 5321 4.5.3.2 giving it, or "" */
	const char *matrix_row;  /* its rows in the allowed-code matrix */
	enum command_arg arg;    /* takes an argument (RFC 5321 4.1.1, RFC 821 4.1.1) */
};

/* The row of a command. Aborts on a value outside the enum. */
const struct command_info *command_get(enum command c);
/* "MAIL", "CONNECT", "DATA-END", "UNKNOWN". */
const char *command_name(enum command c);
/*
 * The command a line sends: its first word (up to SP, HT, CR, LF, ':' or len),
 * case-insensitive. CMD_UNKNOWN for a word that is no verb of the table,
 * pseudo-commands included ("CONNECT example.com:443" is not a greeting).
 */
enum command command_from_line(const char *line, size_t len);
/*
 * The command a name stands for, pseudo-commands included (a step result's
 * command, a matrix row name), case-insensitive; CMD_UNKNOWN for another.
 */
enum command command_from_name(const char *name);
/* 1 when name (a step result's command, "NOOP") names c. */
int command_is(const char *name, enum command c);

#endif
