/*
 * model.c - the protocol model (see model.h): classify what was sent, judge
 * the reply with the first firing row of outcomes.tsv, then move the state.
 */
#include "model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "argument.h"
#include "check.h"
#include "smtp_limits.h"
#include "util.h"

void model_init(struct model *m, const char *domain, int probe_enhanced)
{
	memset(m, 0, sizeof(*m));
	m->state = MODEL_CONNECTED;
	m->last_code = -1;
	m->last_cmd = CMD_CONNECT;
	m->reset_by = CMD_RSET;
	snprintf(m->domain, sizeof(m->domain), "%s", domain ? domain : "");
	m->probe_enhanced = probe_enhanced;
}

const char *model_state_phrase(enum model_state st)
{
	switch (st) {
	case MODEL_CONNECTED: return "before the greeting";
	case MODEL_GREETED: return "before EHLO/HELO";
	case MODEL_IDLE: return "with no transaction open";
	case MODEL_MAIL: return "after MAIL was accepted";
	case MODEL_RCPT: return "after RCPT was accepted";
	case MODEL_REFUSED: return "after a 554 greeting";
	case MODEL_UNKNOWN: return "in a state the model cannot tell";
	case MODEL_CLOSED: return "after 221 or 421";
	case MODEL_STATE_COUNT: break;
	}
	BUG("not a model state");
}

/* The argument without trailing spaces (RFC 5321 4.1.1: SHOULD tolerate;
 * model_classify marks such a line ARGF_TRAILING_WS). */
static size_t trim_len(const char *a, size_t len)
{
	while (len && (a[len - 1] == ' ' || a[len - 1] == '\t'))
		len--;
	return len;
}

/* 1 when a VRFY/EXPN argument a[0..n) (without trailing blanks) is
 * SP String SP "SMTPUTF8" (RFC 6531 3.7.4.2), the parameter in any case. */
static int smtputf8_param(const char *a, size_t n)
{
	static const char param[] = " SMTPUTF8";
	size_t k = sizeof(param) - 1;
	return n > k + 1 && a[0] == ' ' && a[1] != ' ' && a[n - k - 1] != ' ' &&
	       strncasecmp(a + n - k, param, k) == 0;
}

/* 1 when the space-separated word w[0..n) is in m->mechs. */
static int mech_listed(const struct model *m, const char *w, size_t n)
{
	const char *p = m->mechs;
	while (*p) {
		while (*p == ' ')
			p++;
		size_t k = strcspn(p, " ");
		if (k == n && k && strncasecmp(p, w, n) == 0)
			return 1;
		p += k;
	}
	return 0;
}

static unsigned keyword_of(enum command cmd)
{
	switch (cmd) {
	case CMD_VRFY: return KW_VRFY;
	case CMD_EXPN: return KW_EXPN;
	case CMD_HELP: return KW_HELP;
	case CMD_ETRN: return KW_ETRN;
	case CMD_ATRN: return KW_ATRN;
	case CMD_STARTTLS: return KW_STARTTLS;
	case CMD_BDAT: return KW_CHUNKING;
	case CMD_AUTH: return KW_AUTH;
	default: return 0;
	}
}

/* RFC 3461 4.1: "NEVER" / 1#( "SUCCESS" / "FAILURE" / "DELAY" ). */
static int notify_valid(const char *v, size_t n)
{
	if (n == 5 && strncasecmp(v, "NEVER", 5) == 0)
		return 1;
	size_t i = 0;
	while (i < n) {
		size_t k = i;
		while (k < n && v[k] != ',')
			k++;
		if (!((k - i == 7 && (strncasecmp(v + i, "SUCCESS", 7) == 0 ||
		                      strncasecmp(v + i, "FAILURE", 7) == 0)) ||
		      (k - i == 5 && strncasecmp(v + i, "DELAY", 5) == 0)))
			return 0;
		if (k < n && k + 1 == n)
			return 0;
		i = k + 1;
	}
	return n > 0;
}

/* 1 when every parameter keyword is one the session's EHLO advertised (its
 * value may still be wrong). */
static int param_keywords_known(const struct model *m, const struct mail_rcpt_info *info, int rcpt)
{
	static const struct {
		const char *kw;
		int rcpt;
		unsigned bit;
	} known[] = {
		{ "SIZE", 0, KW_SIZE },         { "BODY", 0, KW_8BITMIME | KW_BINARYMIME },
		{ "SMTPUTF8", 0, KW_SMTPUTF8 }, { "RET", 0, KW_DSN },
		{ "ENVID", 0, KW_DSN },         { "AUTH", 0, KW_AUTH },
		{ "NOTIFY", 1, KW_DSN },        { "ORCPT", 1, KW_DSN },
	};
	for (size_t i = 0; i < info->nparams; i++) {
		int ok = 0;
		for (size_t j = 0; j < sizeof(known) / sizeof(known[0]) && !ok; j++)
			ok = known[j].rcpt == rcpt && (m->kw & known[j].bit) &&
			     info->params[i].keyword_len == strlen(known[j].kw) &&
			     strncasecmp(info->params[i].keyword, known[j].kw,
			                 info->params[i].keyword_len) == 0;
		if (!ok)
			return 0;
	}
	return 1;
}

/* Every parameter of a MAIL or RCPT is one the session's EHLO advertised,
 * with a value its RFC allows (RFC 1870, 6152, 6531, 3461, 4954). */
static int params_advertised(const struct model *m, const struct mail_rcpt_info *info, int rcpt)
{
	for (size_t i = 0; i < info->nparams; i++) {
		const struct esmtp_param *p = &info->params[i];
		char kw[16];
		unsigned long long size;
		if (p->keyword_len >= sizeof(kw))
			return 0;
		memcpy(kw, p->keyword, p->keyword_len);
		kw[p->keyword_len] = 0;
		if (!rcpt && strcasecmp(kw, "SIZE") == 0 && (m->kw & KW_SIZE) &&
		    argument_size_value(p->value, p->value_len, &size) == 0)
			continue;
		if (!rcpt && strcasecmp(kw, "BODY") == 0 && p->value &&
		    ((p->value_len == 4 && strncasecmp(p->value, "7BIT", 4) == 0 &&
		      (m->kw & (KW_8BITMIME | KW_BINARYMIME))) ||
		     (p->value_len == 8 && strncasecmp(p->value, "8BITMIME", 8) == 0 &&
		      (m->kw & KW_8BITMIME))))
			continue;
		if (!rcpt && strcasecmp(kw, "SMTPUTF8") == 0 && !p->value && (m->kw & KW_SMTPUTF8))
			continue;
		if (!rcpt && strcasecmp(kw, "RET") == 0 && p->value && (m->kw & KW_DSN) &&
		    ((p->value_len == 4 && strncasecmp(p->value, "FULL", 4) == 0) ||
		     (p->value_len == 3 && strncasecmp(p->value, "HDRS", 3) == 0)))
			continue;
		if (!rcpt && strcasecmp(kw, "ENVID") == 0 && p->value && (m->kw & KW_DSN))
			continue;
		if (rcpt && strcasecmp(kw, "NOTIFY") == 0 && p->value && (m->kw & KW_DSN) &&
		    notify_valid(p->value, p->value_len))
			continue;
		if (rcpt && strcasecmp(kw, "ORCPT") == 0 && p->value && (m->kw & KW_DSN))
			continue;
		return 0;
	}
	return 1;
}

static unsigned classify_path(const struct model *m, enum command cmd, const char *a, size_t n)
{
	struct mail_rcpt_info info;
	int rcpt = cmd == CMD_RCPT;
	int utf8 = (m->kw & KW_SMTPUTF8) != 0;
	unsigned f = 0;
	if (argument_mail_rcpt(a, n, rcpt, utf8, &info) != ARGUMENT_OK)
		return 0;
	/* Address literals are left to policy (RFC 5321 has no MUST to
	 * accept them); so is UTF-8 outside an SMTPUTF8 transaction. */
	if (!info.path.address_literal && !info.path.source_route &&
	    params_advertised(m, &info, rcpt))
		f |= ARGF_WELLFORMED;
	if (!param_keywords_known(m, &info, rcpt))
		f |= ARGF_UNKNOWN_PARAM;
	if (rcpt && info.path.postmaster &&
	    (!info.path.has_domain ||
	     (m->domain[0] && info.path.domain_len == strlen(m->domain) &&
	      strncasecmp(info.path.domain, m->domain, info.path.domain_len) == 0)))
		f |= ARGF_POSTMASTER;
	if (!rcpt) {
		const struct esmtp_param *size = argument_param(&info, "SIZE");
		unsigned long long v;
		if (size && m->size_max &&
		    argument_size_value(size->value, size->value_len, &v) == 0)
			f |= v > m->size_max ? ARGF_SIZE_OVER : ARGF_SIZE_WITHIN;
		if (!size && m->size_refused)
			f |= ARGF_SIZE_STICKY;
	}
	if (!(f & ARGF_SIZE_OVER))
		f |= ARGF_WITHIN_LIMITS; /* the path parsed within the limits */
	return f;
}

/* AUTH mechanism [SP initial-response]. */
static unsigned classify_auth(const struct model *m, const char *a, size_t n)
{
	unsigned f = m->authed ? ARGF_AGAIN : 0;
	if (n < 2 || a[0] != ' ')
		return f;
	a++;
	n--;
	size_t k = 0;
	while (k < n && a[k] != ' ')
		k++;
	if (!argument_is_sasl_mech(a, k))
		return f;
	f |= ARGF_WELLFORMED;
	if ((m->kw & KW_AUTH) && mech_listed(m, a, k))
		f |= ARGF_ADVERTISED;
	/* An initial response the harness redacted starts with '<': not
	 * base64 either way, and not ours to judge. */
	if (k < n && a[k + 1] != '<' && !argument_is_base64(a + k + 1, n - k - 1))
		f |= ARGF_BAD_BASE64;
	return f;
}

unsigned model_classify(const struct model *m, enum command cmd, const char *a, size_t len)
{
	size_t n = trim_len(a, len);
	unsigned f = 0;
	if (m->in_auth) {
		/* A SASL response line answering a 334. */
		if (n == 1 && a[0] == '*')
			return ARGF_CANCEL;
		if (n && a[0] != '<' && !argument_is_base64(a, n))
			return ARGF_BAD_BASE64;
		return 0;
	}
	if (n == 0)
		f |= ARGF_NONE;
	if (m->reset_open)
		f |= ARGF_AFTER_RESET;
	/* The whole line: verb + argument + CRLF within 4.5.3.1.4. */
	int line_ok = strlen(command_name(cmd)) + len + 2 <= COMMAND_LINE_MAX;
	switch (cmd) {
	case CMD_EHLO:
	case CMD_HELO:
		if (n > 1 && a[0] == ' ' && argument_domain(a + 1, n - 1, 1, 0) == ARGUMENT_OK)
			f |= ARGF_WELLFORMED | ARGF_WITHIN_LIMITS;
		break;
	case CMD_MAIL:
	case CMD_RCPT: f |= classify_path(m, cmd, a, n); break;
	case CMD_VRFY:
	case CMD_EXPN:
	case CMD_ETRN:
		if (n > 1 && a[0] == ' ' && a[1] != ' ')
			f |= ARGF_WELLFORMED;
		break;
	case CMD_HELP:
	case CMD_NOOP:
	case CMD_ATRN:
		if (n == 0 || (n > 1 && a[0] == ' '))
			f |= ARGF_WELLFORMED | (cmd != CMD_ATRN ? ARGF_WITHIN_LIMITS : 0);
		break;
	case CMD_AUTH: f |= classify_auth(m, a, n); break;
	case CMD_BDAT: {
		/* "BDAT" SP chunk-size [SP end-marker] (RFC 3030 2). */
		size_t k = 1;
		while (k < n && a[k] >= '0' && a[k] <= '9')
			k++;
		if (n > 1 && a[0] == ' ' && k > 1 &&
		    (k == n || (n - k == 5 && strncasecmp(a + k, " LAST", 5) == 0)))
			f |= ARGF_WELLFORMED;
		break;
	}
	default:
		if (n == 0)
			f |= ARGF_WELLFORMED;
		else if (cmd == CMD_DATA || cmd == CMD_RSET || cmd == CMD_QUIT ||
		         cmd == CMD_STARTTLS)
			f |= ARGF_ARGUMENT;
		break;
	}
	if (!line_ok)
		f &= ~(unsigned)(ARGF_WELLFORMED | ARGF_WITHIN_LIMITS);
	unsigned kw = keyword_of(cmd);
	if (cmd != CMD_AUTH && kw && (m->kw & kw) && (f & ARGF_WELLFORMED))
		f |= ARGF_ADVERTISED;
	/* "DATA " is not "DATA": the MUST rows about a command without an
	 * argument or with a valid one do not apply, the SHOULD row does. */
	if (n < len && (f & (ARGF_NONE | ARGF_WELLFORMED)))
		f = (f & ~(unsigned)(ARGF_NONE | ARGF_WELLFORMED | ARGF_ADVERTISED)) |
		    ARGF_TRAILING_WS;
	if ((cmd == CMD_VRFY || cmd == CMD_EXPN) && (f & ARGF_WELLFORMED) &&
	    (m->kw & KW_SMTPUTF8) && smtputf8_param(a, n))
		f |= ARGF_UTF8_PARAM;
	return f;
}

/* The words of each cause (enum model_cause), lower-case. A reply names a
 * cause when one of them stands in its text as whole words (not "lengthy",
 * not "SIZE=", an echoed parameter) outside any "<...>" (an echoed path may
 * hold any word). Few, plain words on purpose: a refusal whose text does
 * not say why stays policy. "exceeded" is left out: quotas and rates are
 * exceeded too. */
static const char *const cause_words[][4] = {
	[MODEL_CAUSE_TOO_LONG] = { "too long", "length", "longer than", NULL },
	[MODEL_CAUSE_SIZE] = { "size", "too big", "too large", NULL },
	[MODEL_CAUSE_DISABLED] = { "disabled", "prohibited", "prohibition", NULL },
};

static int word_byte(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '=' || c >= 0x80;
}

static int text_names(const uint8_t *t, size_t n, const char *word)
{
	size_t k = strlen(word);
	for (size_t i = 0; i < n; i++) {
		if (t[i] == '<') {
			const uint8_t *close = memchr(t + i, '>', n - i);
			if (close) {
				i = (size_t)(close - t);
				continue;
			}
		}
		if (i + k <= n && (i == 0 || !word_byte(t[i - 1])) &&
		    strncasecmp((const char *)t + i, word, k) == 0 &&
		    (i + k == n || !word_byte(t[i + k])))
			return 1;
	}
	return 0;
}

/* 1 when the text of r names cause (any line). */
static int reply_names_cause(const struct reply *r, enum model_cause cause)
{
	for (size_t l = 0; l < r->nkept; l++)
		for (size_t w = 0; cause_words[cause][w]; w++)
			if (text_names(r->kept[l].text, r->kept[l].text_len, cause_words[cause][w]))
				return 1;
	return 0;
}

static int row_fires(const struct outcome_row *row, const struct reply *r)
{
	int code = r->code;
	int listed = (row->classes >> (code / 100)) & 1u;
	for (size_t i = 0;
	     !listed && i < sizeof(row->codes) / sizeof(row->codes[0]) && row->codes[i]; i++)
		listed = row->codes[i] == code;
	if (row->negate ? listed : !listed)
		return 0;
	return row->cause == MODEL_CAUSE_NONE || reply_names_cause(r, row->cause);
}

/* RFC 2034 4: a server that advertises ENHANCEDSTATUSCODES attaches the
 * codes "regardless of whether or not EHLO is employed". Judged here when
 * this session's own EHLO did not list it (check.c judges the rest). */
static void check_enhanced_without_ehlo(const struct model *m, enum command cmd,
                                        const struct reply *r, int strict, struct step_result *st)
{
	if (!m->probe_enhanced || (m->kw & KW_ENHANCED) || cmd == CMD_CONNECT || cmd == CMD_EHLO ||
	    cmd == CMD_HELO || m->state == MODEL_REFUSED)
		return;
	struct step_result scratch;
	memset(&scratch, 0, sizeof(scratch));
	scratch.command = st->command;
	check_enhanced_status(r, strict, &scratch);
	for (size_t i = 0; i < scratch.nviolations; i++) {
		const struct violation *v = &scratch.violations[i];
		if (strcmp(v->rule, rule_get(RULE_ENHANCED_MISSING)->id) == 0 && i == 0)
			step_add_violation(st, RULE_ENHANCED_MISSING, "RFC 2034 4",
			                   RULE_MSG_ENHANCED_MISSING_NO_EHLO, r->code,
			                   command_name(cmd));
		else
			step_add_violation(st, rule_by_id(v->rule)->rule, v->ref, "%s", v->message);
	}
	scratch.command = NULL;
	step_result_free(&scratch);
}

/* RFC 6531 3.7.4.2: under SMTPUTF8, UTF-8 in a reply breaks that RFC's
 * sentence, not only RFC 5321's textstring: check.c's syntax.8bit-text
 * becomes smtputf8.non-ascii-reply, and goes where 3.7.4.2 allows UTF-8
 * (VRFY and EXPN with the SMTPUTF8 parameter). */
static void check_utf8_reply(const struct model *m, enum command cmd, const char *a, size_t len,
                             struct step_result *st)
{
	if (!(m->kw & KW_SMTPUTF8))
		return;
	const char *id = rule_get(RULE_SYNTAX_8BIT_TEXT)->id;
	int allowed = (cmd == CMD_VRFY || cmd == CMD_EXPN) && smtputf8_param(a, trim_len(a, len));
	for (size_t i = 0; i < st->nviolations; i++) {
		struct violation *v = &st->violations[i];
		if (strcmp(v->rule, id) != 0)
			continue;
		const struct rule *r = rule_get(RULE_SMTPUTF8_NON_ASCII_REPLY);
		free(v->rule);
		free(v->ref);
		free(v->message);
		if (allowed) {
			memmove(v, v + 1, (st->nviolations - i - 1) * sizeof(*v));
			st->nviolations--;
			return;
		}
		v->rule = xstrdup(r->id);
		v->ref = xstrdup(r->ref);
		v->message = xstrdup(RULE_MSG_SMTPUTF8_NON_ASCII_REPLY);
		v->severity = r->severity;
		return;
	}
}

static void forget_keywords(struct model *m)
{
	m->kw = 0;
	m->size_max = 0;
	m->mechs[0] = 0;
}

static void parse_ehlo(struct model *m, const struct reply *r, struct step_result *st)
{
	forget_keywords(m);
	static const struct {
		const char *name;
		unsigned bit;
	} known[] = {
		{ "PIPELINING", KW_PIPELINING },
		{ "SIZE", KW_SIZE },
		{ "8BITMIME", KW_8BITMIME },
		{ "SMTPUTF8", KW_SMTPUTF8 },
		{ "DSN", KW_DSN },
		{ "ENHANCEDSTATUSCODES", KW_ENHANCED },
		{ "STARTTLS", KW_STARTTLS },
		{ "AUTH", KW_AUTH },
		{ "CHUNKING", KW_CHUNKING },
		{ "VRFY", KW_VRFY },
		{ "EXPN", KW_EXPN },
		{ "HELP", KW_HELP },
		{ "ETRN", KW_ETRN },
		{ "ATRN", KW_ATRN },
		{ "BINARYMIME", KW_BINARYMIME },
	};
	for (size_t i = 1; i < r->nkept; i++) {
		const char *t = (const char *)r->kept[i].text;
		size_t n = r->kept[i].text_len, k = 0;
		while (k < n && t[k] != ' ')
			k++;
		for (size_t j = 0; j < sizeof(known) / sizeof(known[0]); j++) {
			if (strlen(known[j].name) != k || strncasecmp(t, known[j].name, k) != 0)
				continue;
			m->kw |= known[j].bit;
			if (known[j].bit == KW_SIZE && k < n) {
				unsigned long long v;
				size_t e = k + 1;
				while (e < n && t[e] != ' ')
					e++;
				if (argument_size_value(t + k + 1, e - k - 1, &v) == 0)
					m->size_max = v;
			}
			if (known[j].bit == KW_AUTH && k < n) {
				size_t len =
				    n - k < sizeof(m->mechs) - 2 ? n - k : sizeof(m->mechs) - 2;
				memcpy(m->mechs, t + k, len);
				m->mechs[len] = ' ';
				m->mechs[len + 1] = 0;
			}
		}
	}
	if (m->tls && (m->kw & KW_STARTTLS))
		step_add_violation(st, RULE_STARTTLS_READVERTISED, NULL,
		                   RULE_MSG_STARTTLS_READVERTISED);
}

static void reset_transaction(struct model *m, enum command by)
{
	m->reset_open = m->state == MODEL_MAIL || m->state == MODEL_RCPT;
	m->reset_by = by;
	m->size_refused = 0;
	m->state = m->identified ? MODEL_IDLE : MODEL_GREETED;
}

/* The state after reply code to cmd (argument bits f). */
static void transition(struct model *m, enum command cmd, const char *a, size_t len, unsigned f,
                       int code, const struct reply *r, struct step_result *st)
{
	int ok = code >= 200 && code < 300;
	if (code == 421) {
		m->state = MODEL_CLOSED;
		return;
	}
	if (m->in_auth) {
		m->in_auth = code == 334;
		if (code == 235)
			m->authed = 1;
		return;
	}
	if (m->in_data) {
		m->in_data = 0;
		if (m->state == MODEL_RCPT) {
			reset_transaction(m, CMD_DATA_END);
			m->reset_open = 0; /* the transaction ended, nothing was cut short */
		}
		return;
	}
	switch (cmd) {
	case CMD_CONNECT:
		m->state = code == 220   ? MODEL_GREETED
		           : code == 554 ? MODEL_REFUSED
		                         : MODEL_UNKNOWN;
		break;
	case CMD_EHLO:
	case CMD_HELO:
		if (!ok || m->state == MODEL_REFUSED || m->state == MODEL_CLOSED)
			break;
		m->identified = 1;
		if (cmd == CMD_EHLO)
			parse_ehlo(m, r, st);
		else
			forget_keywords(m); /* HELO: a session without extensions */
		reset_transaction(m, cmd);
		break;
	case CMD_RSET:
		if (code == 250 && m->state != MODEL_REFUSED && m->state != MODEL_CLOSED &&
		    m->state != MODEL_CONNECTED)
			reset_transaction(m, cmd);
		break;
	case CMD_MAIL: {
		struct mail_rcpt_info info;
		int sized =
		    argument_mail_rcpt(a, trim_len(a, len), 0, 1, &info) != ARGUMENT_SYNTAX &&
		    argument_param(&info, "SIZE");
		if (ok) {
			m->state = m->state == MODEL_IDLE || m->state == MODEL_GREETED
			               ? MODEL_MAIL
			               : MODEL_UNKNOWN;
			m->reset_open = 0;
			m->size_refused = 0;
		} else if (code == 552 && sized) {
			m->size_refused = 1;
		}
		break;
	}
	case CMD_RCPT:
		if (ok)
			m->state = m->state == MODEL_MAIL || m->state == MODEL_RCPT ? MODEL_RCPT
			                                                            : MODEL_UNKNOWN;
		break;
	case CMD_DATA:
		if (code == 354) {
			m->in_data = 1;
			if (m->state != MODEL_RCPT)
				m->state = MODEL_UNKNOWN;
		}
		break;
	case CMD_BDAT:
		if (ok && trim_len(a, len) >= 5 &&
		    strncasecmp(a + trim_len(a, len) - 4, "LAST", 4) == 0) {
			reset_transaction(m, CMD_BDAT);
			m->reset_open = 0;
		} else {
			/* Between chunks (DATA is now out of sequence), or after a
			 * refused chunk (RFC 3030 2: the transaction failed): the
			 * model does not judge on state until the next reset. */
			m->state = MODEL_UNKNOWN;
		}
		break;
	case CMD_QUIT:
		if (code == 221)
			m->state = MODEL_CLOSED;
		break;
	case CMD_STARTTLS:
		if (code == 220) {
			/* RFC 3207 4.2: both sides forget what came before. */
			m->tls = 1;
			m->identified = 0;
			m->authed = 0;
			forget_keywords(m);
			m->reset_open = 0;
			m->size_refused = 0;
			m->state = MODEL_GREETED;
		}
		break;
	case CMD_AUTH:
		if (code == 334)
			m->in_auth = 1;
		else if (code == 235)
			m->authed = 1;
		break;
	default: break;
	}
	(void)f;
}

void model_observe(struct model *m, enum command cmd, const char *argument, size_t len,
                   const struct reply *r, int strict, struct step_result *st)
{
	size_t before = st->nviolations;
	int code = r->code;
	if (m->in_data)
		cmd = CMD_DATA_END;
	int response = m->in_auth; /* a SASL response line, not a command */
	if (response)
		cmd = CMD_AUTH;
	unsigned f = cmd == CMD_DATA_END ? 0 : model_classify(m, cmd, argument, len);
	if (code >= 200 && code <= 599 && code != 421 && m->state < MODEL_STATE_COUNT) {
		for (size_t i = 0; i < outcome_rows_len; i++) {
			const struct outcome_row *row = &outcome_rows[i];
			if (!(row->states & (1u << m->state)) || !(row->cmds & (1ull << cmd)) ||
			    (row->argf & f) != row->argf)
				continue;
			if (response && !(row->argf & (ARGF_CANCEL | ARGF_BAD_BASE64)))
				continue;
			if (!row_fires(row, r))
				continue;
			const struct rule *rule = rule_by_id(row->rule);
			if (!rule)
				BUG("outcomes.tsv names a rule the table does not have");
			step_add_violation(st, rule->rule, NULL, RULE_MSG_MODEL, command_name(cmd),
			                   code, model_state_phrase(m->state), row->message);
			break;
		}
		check_enhanced_without_ehlo(m, cmd, r, strict, st);
	}
	size_t had = st->nviolations;
	check_utf8_reply(m, cmd, argument, len, st);
	if (st->nviolations != had)
		st->verdict = step_verdict(st, strict);
	transition(m, cmd, argument, len, f, code, r, st);
	m->last_code = code;
	m->last_cmd = cmd;
	if (st->nviolations != before)
		st->verdict = step_verdict(st, strict);
}

void model_observe_sent(struct model *m, const char *verb, const char *sent_escaped,
                        const struct reply *r, int strict, struct step_result *st)
{
	struct buf line = { 0 };
	enum command cmd = command_from_name(verb);
	const char *sent = sent_escaped ? sent_escaped : "";
	if (text_unescape(&line, sent, strlen(sent), NULL, 0) < 0)
		buf_reset(&line);
	const char *l = line.data ? line.data : "";
	size_t n = line.len, end = 0;
	/* The first command only (an R: step may carry several): up to the
	 * first CRLF; a bare CR or LF stays in the argument, which then is
	 * no well-formed argument. */
	while (end < n && !(l[end] == '\r' && end + 1 < n && l[end + 1] == '\n'))
		end++;
	size_t verb_len = 0;
	if (cmd != CMD_CONNECT && cmd != CMD_DATA_END && !m->in_auth)
		while (verb_len < end && !strchr(" \t:\r\n", l[verb_len]))
			verb_len++;
	/* "MAIL FROM:" keeps its " FROM:" in the argument (argument.h). */
	model_observe(m, cmd, l + verb_len, end - verb_len, r, strict, st);
	buf_free(&line);
}

int model_observe_close(struct model *m, struct step_result *last, int strict)
{
	int closing = m->state == MODEL_CLOSED;
	m->state = MODEL_CLOSED;
	if (!last || closing || m->last_code < 0)
		return 0;
	step_add_violation(last, RULE_CLOSED_WITHOUT_421, NULL, RULE_MSG_CLOSED_WITHOUT_421,
	                   m->last_code, command_name(m->last_cmd));
	last->verdict = step_verdict(last, strict);
	return 1;
}

/* The most bytes either side of the "." a smuggling sequence spans
 * ("\r\r\n" before, "\x00\r\n" or " \r\n" after). */
#define SMUGGLE_SIDE_MAX 4

static int line_end_byte(uint8_t c)
{
	return c == '\r' || c == '\n' || c == 0;
}

/* chunk: content is a BDAT chunk, whose start may follow a line end in
 * the chunk before (a server joining chunks would see it there). */
static int smuggling_sequence(const uint8_t *c, size_t n, int chunk, struct buf *out)
{
	for (size_t i = 0; i < n; i++) {
		if (c[i] != '.')
			continue;
		size_t j = i, k = i + 1;
		while (j > 0 && i - j < SMUGGLE_SIDE_MAX && line_end_byte(c[j - 1]))
			j--;
		while (k < n && k - i - 1 < SMUGGLE_SIDE_MAX &&
		       (line_end_byte(c[k]) || c[k] == ' '))
			k++;
		int before =
		    memchr(c + j, '\r', i - j) || memchr(c + j, '\n', i - j) || (chunk && j == 0);
		int after =
		    memchr(c + i + 1, '\r', k - i - 1) || memchr(c + i + 1, '\n', k - i - 1);
		if (!before || !after)
			continue;
		/* The real end of the data: CRLF "." CRLF as the last bytes. */
		if (k == n && i - j == 2 && k - i - 1 == 2 && memcmp(c + j, "\r\n.\r\n", 5) == 0)
			continue;
		/* A dot-stuffed line ("..") is not one: its first "." is
		 * followed by "." and never gets here. */
		if (j == 0 && chunk && i == 0)
			buf_puts(out, "(chunk start)");
		text_escape(out, c + j, k - j);
		return 1;
	}
	return 0;
}

int model_smuggling_sequence(const uint8_t *content, size_t n, struct buf *out)
{
	return smuggling_sequence(content, n, 0, out);
}

/* What the harness sent for this reply, unescaped; for BDAT the chunk
 * (after the command line's CRLF). */
static void sent_bytes(const char *sent_escaped, struct buf *out)
{
	const char *sent = sent_escaped ? sent_escaped : "";
	if (text_unescape(out, sent, strlen(sent), NULL, 0) < 0)
		buf_reset(out);
}

/* The bare line end inside the first line of l[0..n): '\n', '\r' or 0. */
static char bare_terminator(const char *l, size_t n)
{
	size_t end = n;
	if (end >= 2 && l[end - 2] == '\r' && l[end - 1] == '\n')
		end -= 2;
	for (size_t i = 0; i < end; i++) {
		if (l[i] == '\n')
			return '\n';
		if (l[i] == '\r')
			return i + 1 < end && l[i + 1] == '\n' ? 0 : '\r';
	}
	return 0;
}

int model_settles(const char *verb, const char *sent_escaped)
{
	enum command cmd = command_from_name(verb);
	if (cmd == CMD_DATA_END || cmd == CMD_BDAT)
		return 1;
	struct buf line = { 0 };
	sent_bytes(sent_escaped, &line);
	int bare = line.data && bare_terminator(line.data, line.len);
	buf_free(&line);
	return bare;
}

/* The replies in extra[0..n): their count, "250 2.1.0 Ok; 500 ..." into
 * shown, and the first one's code (-1 when none is whole). */
static size_t extra_replies(const uint8_t *extra, size_t n, struct buf *shown, int *first_code)
{
	struct reply *r = xmalloc(sizeof(*r));
	size_t count = 0, off = 0;
	*first_code = -1;
	while (off < n) {
		reply_init(r);
		long used = reply_feed(r, extra + off, n - off);
		if (used <= 0 || !r->complete)
			break;
		if (count == 0)
			*first_code = r->code;
		count++;
		off += (size_t)used;
	}
	free(r);
	text_escape(shown, extra, n < SMUGGLE_SHOWN_MAX ? n : SMUGGLE_SHOWN_MAX);
	if (n > SMUGGLE_SHOWN_MAX)
		buf_printf(shown, "...(%zu bytes in all)", n);
	if (off < n && count == 0)
		count = 1; /* a part of a reply is still one */
	return count;
}

int model_observe_settle(struct model *m, const char *verb, const char *sent_escaped,
                         const uint8_t *extra, size_t n, int closed, int strict,
                         struct step_result *st)
{
	if (n == 0 && !closed)
		return 0;
	if (n >= 3 && memcmp(extra, "421", 3) == 0)
		return 0; /* RFC 5321 3.8: a shutdown, not an answer to what was sent */
	if (st->has_reply && st->code == 421)
		return 0; /* the reply itself was the shutdown: a close may follow (3.8) */
	enum command cmd = command_from_name(verb);
	struct buf sent = { 0 }, seq = { 0 }, shown = { 0 }, what = { 0 };
	int judged = 0, first = -1;
	sent_bytes(sent_escaped, &sent);
	const uint8_t *content = (const uint8_t *)(sent.data ? sent.data : "");
	size_t len = sent.len;
	if (cmd == CMD_BDAT) {
		const uint8_t *crlf = memchr(content, '\n', len);
		size_t skip = crlf ? (size_t)(crlf - content) + 1 : len;
		content += skip;
		len -= skip;
	}
	size_t count = n ? extra_replies(extra, n, &shown, &first) : 0;
	if (count)
		buf_printf(&what, "%zu more reply(ies) '%s'", count, shown.data);
	if (closed)
		buf_printf(&what, "%sa close", count ? " and " : "");
	if (cmd == CMD_DATA_END || cmd == CMD_BDAT) {
		if (!smuggling_sequence(content, len, cmd == CMD_BDAT, &seq))
			goto out;
		const char *verdict =
		    first >= 200 && first < 300
		        ? "the command after the sequence was executed (its reply is a 2xx): "
		          "commands hidden in message data are run (SMTP smuggling, exploitable)"
		        : "the server ended the data early and read the rest as commands "
		          "(RFC 5321 4.1.1.4), though no smuggled command got a 2xx";
		step_add_violation(st, RULE_SMUGGLING_EARLY_END, NULL, RULE_MSG_SMUGGLING_EARLY_END,
		                   seq.data, what.data, st->code, verdict);
		judged = 1;
	} else if (count) {
		char bare = bare_terminator((const char *)sent.data, sent.len);
		if (!bare)
			goto out;
		step_add_violation(st,
		                   bare == '\n' ? RULE_LINES_BARE_LF_TERMINATOR
		                                : RULE_LINES_BARE_CR_TERMINATOR,
		                   NULL, RULE_MSG_LINES_BARE_TERMINATOR, bare == '\n' ? "LF" : "CR",
		                   count, command_name(cmd), shown.data);
		judged = 1;
	}
	if (judged) {
		/* What follows answers nothing the model can place. */
		m->state = closed ? MODEL_CLOSED : MODEL_UNKNOWN;
		st->verdict = step_verdict(st, strict);
	}
out:
	buf_free(&sent);
	buf_free(&seq);
	buf_free(&shown);
	buf_free(&what);
	return judged;
}
