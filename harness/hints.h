/*
 * hints.h - known causes of findings, as data: which findings usually come
 * from a server's setting and which from its software, with one line that
 * says what to change.
 *
 * Owns the hints table and its matching. Does not judge replies (check.c,
 * session.c) and does not group findings (findings.c): it only answers
 * "is there a known hint for this finding?".
 */
#ifndef SMTPCONFORM_HINTS_H
#define SMTPCONFORM_HINTS_H

#include "command.h"
#include "rules.h"

enum hint_kind {
	HINT_SETTING,  /* the installation's configuration causes it */
	HINT_SOFTWARE, /* the server software does it; a setting does not help */
};

/* A hint's command when any command will do. */
#define HINT_ANY_COMMAND CMD_COUNT

struct hint {
	const enum rule_id *rules; /* the rules the finding may name, RULE_NONE after the
	                              last; NULL: any rule */
	const char *scenario;      /* '|'-separated prefixes of the scenario id; NULL: any */
	enum command command;      /* the command answered; HINT_ANY_COMMAND: any */
	int code;                  /* reply code; 0: any */
	const char *reply;   /* substring of the reply or message, case-insensitive; NULL: any */
	const char *product; /* substring of the greeting or the reply, case-insensitive
	                         ("Postfix"); NULL: any server */
	enum hint_kind kind;
	const char *text; /* one line for people */
};

/* What a finding looks like to the table, as a report has it (rule id and
 * command as strings); NULL strings match only NULL-any. */
struct hint_query {
	const char *rule, *scenario, *command;
	int code;
	const char *reply;    /* the example's reply lines and message, joined */
	const char *greeting; /* the run's greeting, or NULL */
};

/* The first hint that matches, or NULL. */
const struct hint *hint_find(const struct hint_query *q);
/* "setting" or "software". */
const char *hint_kind_name(enum hint_kind kind);

#endif
