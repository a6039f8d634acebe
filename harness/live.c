/*
 * live.c - a live session's state and one reply's judgement. See live.h.
 */
#include "live.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "check.h"
#include "command.h"
#include "smtp_limits.h"

void live_state_init(struct live_state *ls)
{
	memset(ls, 0, sizeof(*ls));
	ls->greeting_code = -1;
	model_init(&ls->model, NULL, 0);
}

static void forget_keywords(struct live_state *ls)
{
	for (size_t i = 0; i < ls->nkeywords; i++)
		free(ls->keywords[i]);
	free(ls->keywords);
	ls->keywords = NULL;
	ls->nkeywords = 0;
	ls->enhanced_codes = 0;
}

void live_state_free(struct live_state *ls)
{
	forget_keywords(ls);
	free(ls->tls_protocol);
	free(ls->tls_cipher);
	live_state_init(ls);
}

static void reset_transaction(struct live_state *ls)
{
	ls->mail_accepted = 0;
	ls->rcpts_accepted = 0;
	ls->in_data = 0;
}

void live_state_tls_started(struct live_state *ls, const char *protocol, const char *cipher,
                            int verified)
{
	forget_keywords(ls);
	ls->hello[0] = 0;
	ls->auth_done = 0;
	reset_transaction(ls);
	free(ls->tls_protocol);
	free(ls->tls_cipher);
	ls->tls_active = 1;
	ls->tls_protocol = protocol ? xstrdup(protocol) : NULL;
	ls->tls_cipher = cipher ? xstrdup(cipher) : NULL;
	ls->tls_verified = verified;
}

void live_verb(const char *line, size_t len, char *out, size_t outlen)
{
	size_t i = 0, k = 0;
	while (i < len && line[i] == ' ')
		i++;
	while (i < len && line[i] != ' ' && line[i] != '\r' && line[i] != '\n' && k + 1 < outlen)
		out[k++] = (char)toupper((unsigned char)line[i++]);
	out[k] = 0;
}

static void keep_keywords(struct live_state *ls, const struct reply *r)
{
	forget_keywords(ls);
	ls->keywords = xcalloc(r->nkept ? r->nkept : 1, sizeof(char *));
	for (size_t i = 1; i < r->nkept; i++)
		ls->keywords[ls->nkeywords++] =
		    text_escape_dup(r->kept[i].text, r->kept[i].text_len);
	ls->enhanced_codes = check_ehlo_lists(r, "ENHANCEDSTATUSCODES");
}

static void update_state(struct live_state *ls, enum command cmd, const struct reply *r)
{
	int ok = r->code >= 200 && r->code < 300;
	switch (cmd) {
	case CMD_CONNECT: ls->greeting_code = r->code; break;
	case CMD_EHLO:
	case CMD_HELO:
		if (r->code == 250) {
			snprintf(ls->hello, sizeof(ls->hello), "%s", command_name(cmd));
			reset_transaction(ls);
			if (cmd == CMD_EHLO)
				keep_keywords(ls, r);
			else
				forget_keywords(ls);
		}
		break;
	case CMD_MAIL:
		if (ok) {
			ls->mail_accepted = 1;
			ls->rcpts_accepted = 0;
		}
		break;
	case CMD_RCPT:
		if (ok)
			ls->rcpts_accepted++;
		break;
	case CMD_DATA: ls->in_data = r->code >= 300 && r->code < 400; break;
	case CMD_DATA_END: reset_transaction(ls); break;
	case CMD_RSET:
		if (ok)
			reset_transaction(ls);
		break;
	case CMD_AUTH:
		if (r->code == 235)
			ls->auth_done = 1;
		break;
	case CMD_QUIT: ls->quit = 1; break;
	default: break;
	}
}

void live_judge(struct live_state *ls, const char *profile, int strict, const char *verb,
                const char *sent_escaped, const struct reply *r, struct step_result *st)
{
	enum command cmd = command_from_name(verb);
	int any = strcmp(verb, LIVE_ANY_COMMAND) == 0;
	free(st->command);
	st->command = xstrdup(verb);
	check_reply(profile, verb, r, NULL, strict, st);
	if (cmd == CMD_EHLO && r->code == 250)
		check_ehlo_keywords(r, strict, st);
	else if (ls->enhanced_codes && cmd != CMD_EHLO && cmd != CMD_HELO && cmd != CMD_CONNECT)
		check_enhanced_status(r, strict, st);
	/* The protocol model, as in run; not for a reply nothing asked for, nor
	 * for what answers a SASL exchange whose text is not kept (sent NULL). */
	if (sent_escaped && !any)
		model_observe_sent(&ls->model, verb, sent_escaped, r, strict, st);
	update_state(ls, cmd, r);
}

void live_verdict_line(const struct step_result *st, int color, struct buf *out)
{
	const char *on = "", *off = color ? "\033[0m" : "";
	if (st->verdict == VERDICT_PASS && st->nviolations == 0) {
		buf_printf(out, "%sok%s", color ? "\033[32m" : "", off);
		return;
	}
	int fail = st->verdict == VERDICT_FAIL;
	if (color)
		on = fail ? "\033[1;31m" : "\033[33m";
	buf_printf(out, "%s%s%s", on, fail ? "FAIL" : "WARN", off);
	for (size_t i = 0; i < st->nviolations; i++) {
		const struct violation *v = &st->violations[i];
		buf_printf(out, "%s %s [%s, %s] %s", i ? ";" : "", v->rule,
		           severity_name(v->severity), v->ref, v->message);
	}
}

const char *live_auth_mechanisms(const struct live_state *ls)
{
	for (size_t i = 0; i < ls->nkeywords; i++)
		if (strncasecmp(ls->keywords[i], "AUTH ", 5) == 0)
			return ls->keywords[i] + 5;
	return NULL;
}

void live_state_print(const struct live_state *ls, FILE *out)
{
	fprintf(out, "greeting: ");
	if (ls->greeting_code >= 0)
		fprintf(out, "%03d\n", ls->greeting_code);
	else
		fprintf(out, "none\n");
	fprintf(out, "hello: %s\n", ls->hello[0] ? ls->hello : "not yet");
	fprintf(out, "keywords:");
	for (size_t i = 0; i < ls->nkeywords; i++)
		fprintf(out, "%s %s", i ? "," : "", ls->keywords[i]);
	fprintf(out, "%s\n", ls->nkeywords ? "" : " none");
	fprintf(out, "enhanced status codes: %s\n", ls->enhanced_codes ? "required" : "no");
	if (ls->tls_active)
		fprintf(out, "tls: %s %s, certificate %s\n",
		        ls->tls_protocol ? ls->tls_protocol : "?",
		        ls->tls_cipher ? ls->tls_cipher : "?",
		        ls->tls_verified ? "verified" : "NOT verified");
	else
		fprintf(out, "tls: no\n");
	fprintf(out, "auth: %s\n", ls->auth_done ? "done" : "no");
	fprintf(out, "transaction: %s, %d recipient%s accepted\n",
	        ls->mail_accepted ? "MAIL accepted" : "no MAIL", ls->rcpts_accepted,
	        ls->rcpts_accepted == 1 ? "" : "s");
	fprintf(out, "in DATA: %s\n", ls->in_data ? "yes (lines are content until \".\")" : "no");
	if (ls->quit || ls->closed)
		fprintf(out, "connection: %s\n",
		        ls->closed ? "closed by the server" : "QUIT answered");
}

int live_reply_timeout_s(enum command cmd)
{
	return command_get(cmd)->timeout_s; /* command.c's table, as run */
}
