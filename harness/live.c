/*
 * live.c - a live session's state and one reply's judgement. See live.h.
 */
#include "live.h"

#include <ctype.h>
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

static void update_state(struct live_state *ls, const char *verb, const struct reply *r)
{
	int ok = r->code >= 200 && r->code < 300;
	if (strcmp(verb, "CONNECT") == 0) {
		ls->greeting_code = r->code;
	} else if (strcmp(verb, "EHLO") == 0 || strcmp(verb, "HELO") == 0) {
		if (r->code == 250) {
			memcpy(ls->hello, verb, 5);
			reset_transaction(ls);
			if (verb[0] == 'E')
				keep_keywords(ls, r);
			else
				forget_keywords(ls);
		}
	} else if (strcmp(verb, "MAIL") == 0) {
		if (ok) {
			ls->mail_accepted = 1;
			ls->rcpts_accepted = 0;
		}
	} else if (strcmp(verb, "RCPT") == 0) {
		if (ok)
			ls->rcpts_accepted++;
	} else if (strcmp(verb, "DATA") == 0) {
		ls->in_data = r->code >= 300 && r->code < 400;
	} else if (strcmp(verb, "DATA-END") == 0 || strcmp(verb, "RSET") == 0) {
		if (verb[0] == 'R' ? ok : 1)
			reset_transaction(ls);
	} else if (strcmp(verb, "AUTH") == 0) {
		if (r->code == 235)
			ls->auth_done = 1;
	} else if (strcmp(verb, "QUIT") == 0) {
		ls->quit = 1;
	}
}

void live_judge(struct live_state *ls, const char *profile, int strict, const char *verb,
                const char *sent_escaped, const struct reply *r, struct step_result *st)
{
	free(st->command);
	st->command = xstrdup(verb);
	check_reply(profile, verb, r, NULL, strict, st);
	int is_hello = strcmp(verb, "EHLO") == 0 || strcmp(verb, "HELO") == 0;
	if (strcmp(verb, "EHLO") == 0 && r->code == 250)
		check_ehlo_keywords(r, strict, st);
	else if (ls->enhanced_codes && !is_hello && strcmp(verb, "CONNECT") != 0)
		check_enhanced_status(r, strict, st);
	/* The protocol model, as in run; not for a reply nothing asked for, nor
	 * for what answers a SASL exchange whose text is not kept (sent NULL). */
	if (sent_escaped && strcmp(verb, "*") != 0)
		model_observe_sent(&ls->model, verb, sent_escaped, r, strict, st);
	update_state(ls, verb, r);
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
		buf_printf(out, "%s %s [%s, %s] %s", i ? ";" : "", v->rule, severity_name(v->severity),
		           v->ref, v->message);
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
		fprintf(out, "tls: %s %s, certificate %s\n", ls->tls_protocol ? ls->tls_protocol : "?",
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
		fprintf(out, "connection: %s\n", ls->closed ? "closed by the server" : "QUIT answered");
}

int live_reply_timeout_s(const char *verb)
{
	return command_get(command_from_name(verb))->timeout_s; /* command.c's table, as run */
}
