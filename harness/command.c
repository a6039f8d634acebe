/*
 * command.c - the command table (see command.h) and the only place a verb
 * string is compared.
 */
#include "command.h"

#include <string.h>
#include <strings.h>

#include "smtp_limits.h"
#include "util.h"

static const struct command_info commands[CMD_COUNT] = {
	[CMD_CONNECT] = { CMD_CONNECT, "CONNECT", 1, TIMEOUT_GREETING_S, "RFC 5321 4.5.3.2.1",
	                  "CONNECT", ARG_NONE },
	[CMD_HELO] = { CMD_HELO, "HELO", 0, TIMEOUT_OTHER_S, "", "HELO", ARG_REQUIRED },
	[CMD_EHLO] = { CMD_EHLO, "EHLO", 0, TIMEOUT_OTHER_S, "", "EHLO", ARG_REQUIRED },
	[CMD_MAIL] = { CMD_MAIL, "MAIL", 0, TIMEOUT_MAIL_S, "RFC 5321 4.5.3.2.2", "MAIL",
	               ARG_REQUIRED },
	[CMD_RCPT] = { CMD_RCPT, "RCPT", 0, TIMEOUT_RCPT_S, "RFC 5321 4.5.3.2.3", "RCPT",
	               ARG_REQUIRED },
	[CMD_DATA] = { CMD_DATA, "DATA", 0, TIMEOUT_DATA_INIT_S, "RFC 5321 4.5.3.2.4", "DATA",
	               ARG_NONE },
	[CMD_DATA_END] = { CMD_DATA_END, "DATA-END", 1, TIMEOUT_DATA_END_S, "RFC 5321 4.5.3.2.6",
	                   "DATA-END", ARG_NONE },
	[CMD_BDAT] = { CMD_BDAT, "BDAT", 0, TIMEOUT_OTHER_S, "", "BDAT", ARG_REQUIRED },
	[CMD_RSET] = { CMD_RSET, "RSET", 0, TIMEOUT_OTHER_S, "", "RSET", ARG_NONE },
	[CMD_VRFY] = { CMD_VRFY, "VRFY", 0, TIMEOUT_OTHER_S, "", "VRFY", ARG_REQUIRED },
	[CMD_EXPN] = { CMD_EXPN, "EXPN", 0, TIMEOUT_OTHER_S, "", "EXPN", ARG_REQUIRED },
	[CMD_HELP] = { CMD_HELP, "HELP", 0, TIMEOUT_OTHER_S, "", "HELP", ARG_OPTIONAL },
	[CMD_NOOP] = { CMD_NOOP, "NOOP", 0, TIMEOUT_OTHER_S, "", "NOOP", ARG_OPTIONAL },
	[CMD_QUIT] = { CMD_QUIT, "QUIT", 0, TIMEOUT_OTHER_S, "", "QUIT", ARG_NONE },
	[CMD_STARTTLS] = { CMD_STARTTLS, "STARTTLS", 0, TIMEOUT_OTHER_S, "", "STARTTLS", ARG_NONE },
	[CMD_AUTH] = { CMD_AUTH, "AUTH", 0, TIMEOUT_OTHER_S, "", "AUTH", ARG_REQUIRED },
	[CMD_ETRN] = { CMD_ETRN, "ETRN", 0, TIMEOUT_OTHER_S, "", "ETRN", ARG_REQUIRED },
	[CMD_ATRN] = { CMD_ATRN, "ATRN", 0, TIMEOUT_OTHER_S, "", "ATRN", ARG_OPTIONAL },
	[CMD_TURN] = { CMD_TURN, "TURN", 0, TIMEOUT_OTHER_S, "", "TURN", ARG_NONE },
	[CMD_SEND] = { CMD_SEND, "SEND", 0, TIMEOUT_OTHER_S, "", "SEND", ARG_REQUIRED },
	[CMD_SOML] = { CMD_SOML, "SOML", 0, TIMEOUT_OTHER_S, "", "SOML", ARG_REQUIRED },
	[CMD_SAML] = { CMD_SAML, "SAML", 0, TIMEOUT_OTHER_S, "", "SAML", ARG_REQUIRED },
	[CMD_UNKNOWN] = { CMD_UNKNOWN, "UNKNOWN", 1, TIMEOUT_OTHER_S, "", "UNKNOWN", ARG_OPTIONAL },
};

const struct command_info *command_get(enum command c)
{
	if ((int)c < 0 || c >= CMD_COUNT)
		BUG("not a command");
	return &commands[c];
}

const char *command_name(enum command c)
{
	return command_get(c)->name;
}

/* The command whose name is name[0..len), case-insensitive; pseudo ones
 * only when pseudo_ok. CMD_UNKNOWN when none. */
static enum command lookup(const char *name, size_t len, int pseudo_ok)
{
	if (len == 0)
		return CMD_UNKNOWN;
	/* The names are upper case: their first letter rules out the rest of
	 * the table cheaply (several lookups a reply judged). */
	char first = name[0] >= 'a' && name[0] <= 'z' ? (char)(name[0] - 'a' + 'A') : name[0];
	for (int i = 0; i < CMD_COUNT; i++) {
		const struct command_info *c = &commands[i];
		if (c->name[0] == first && (!c->pseudo || pseudo_ok) && strlen(c->name) == len &&
		    strncasecmp(c->name, name, len) == 0)
			return c->cmd;
	}
	return CMD_UNKNOWN;
}

enum command command_from_line(const char *line, size_t len)
{
	size_t n = 0;
	if (!line)
		return CMD_UNKNOWN;
	while (n < len && line[n] && line[n] != ' ' && line[n] != '\t' && line[n] != '\r' &&
	       line[n] != '\n' && line[n] != ':')
		n++;
	return lookup(line, n, 0);
}

enum command command_from_name(const char *name)
{
	return name ? lookup(name, strlen(name), 1) : CMD_UNKNOWN;
}

int command_is(const char *name, enum command c)
{
	/* One comparison, not a walk of the table: this runs several times
	 * for every reply judged. A name no entry has is CMD_UNKNOWN. */
	if (c != CMD_UNKNOWN)
		return name && strcasecmp(name, command_get(c)->name) == 0;
	return command_from_name(name) == c;
}
