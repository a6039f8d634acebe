/*
 * hints.c - the known-hints table (see hints.h).
 *
 * Each entry says whether a finding usually comes from a setting of this
 * installation or from the server software, and what to change. The first
 * matching entry wins, so the narrow entries come first. Settings named here
 * are the servers' own parameter names (Postfix postconf(5), Exim spec
 * chapter 14, OpenSMTPD smtpd.conf(5)); the verdict audit of December 2026
 * (Postfix 3.7, Exim 4.96, OpenSMTPD 6.8, aiosmtpd 1.4) found each case.
 */
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "hints.h"

/* A RULE_NONE-terminated list of rules. */
#define RULES(...) ((const enum rule_id[]){ __VA_ARGS__, RULE_NONE })
/* The smuggling findings: the model's own rules, and what a server that
 * ends the data early looks like to the older checks. */
#define SMUGGLING_RULES RULES(RULE_SMUGGLING_EARLY_END, RULE_SYNTAX_UNSOLICITED)
#define BARE_LF_RULES                                                       \
	RULES(RULE_LINES_BARE_LF_TERMINATOR, RULE_LINES_BARE_CR_TERMINATOR, \
	      RULE_SYNTAX_UNSOLICITED, RULE_EXPECT_CODE, RULE_MATRIX_NOT_ALLOWED)
#define ANY HINT_ANY_COMMAND
#define POSTFIX_BARE_NEWLINE                                                               \
	"Postfix: set smtpd_forbid_bare_newline = normalize (the default from 3.9; older " \
	"releases with the CVE-2023-51764 fix need it set): a bare LF ends a line or the " \
	"message data (SMTP smuggling)"

static const struct hint hints[] = {
	/* Setup steps that fail for a reason of the installation. */
	{ RULES(RULE_EXPECT_CODE), NULL, CMD_RCPT, 550, "Invalid recipient", NULL, HINT_SETTING,
	  "OpenSMTPD: the recipient does not resolve; add the aliases table to the action "
	  "(action \"local\" ... alias <aliases>) so postmaster is delivered, or run with "
	  "--var rcpt=<a deliverable mailbox>" },
	{ RULES(RULE_EXPECT_CODE), NULL, CMD_RCPT, 0, "domain literals not allowed", NULL,
	  HINT_SETTING,
	  "Exim: address literals are refused by policy; allow_domain_literals = true accepts "
	  "them" },
	{ RULES(RULE_EXPECT_CODE, RULE_EXPECT_TEXT),
	  "relay.|esmtp.enhancedstatuscodes.refusal|esmtp.pipelining.mixed-results", CMD_RCPT, 250,
	  NULL, NULL, HINT_SETTING,
	  "the server relays for this client, which it trusts by address (Postfix: mynetworks "
	  "and permit_mynetworks; Exim: relay_from_hosts): run from an address outside the "
	  "trusted networks" },
	{ RULES(RULE_TLS_HANDSHAKE), NULL, ANY, 0, "certificate", NULL, HINT_SETTING,
	  "this client does not trust the server's certificate (self-signed?): a trust decision "
	  "(RFC 3207 4.1), not a protocol fault; pass --ca-file, or --tls-verify off for a lab "
	  "server" },
	{ NULL, NULL, CMD_AUTH, 538, NULL, NULL, HINT_SETTING,
	  "538 comes before the mechanism is checked: the server requires TLS for AUTH "
	  "(aiosmtpd: auth_require_tls); RFC 4954 4 wants 504 for an unknown mechanism" },
	/* Bare LF, in commands and at the end of data. */
	{ SMUGGLING_RULES, "smuggling.", ANY, 0, NULL, "Postfix", HINT_SETTING,
	  POSTFIX_BARE_NEWLINE },
	{ BARE_LF_RULES, "rfc5321.lines.bare-lf", ANY, 0, NULL, "Postfix", HINT_SETTING,
	  POSTFIX_BARE_NEWLINE },
	{ SMUGGLING_RULES, "smuggling.", ANY, 0, NULL, NULL, HINT_SOFTWARE,
	  "the server ends the message data at a sequence other than <CRLF>.<CRLF> (SMTP "
	  "smuggling): update to a release with the fix (Exim 4.97.1, Sendmail 8.18.1, "
	  "Postfix smtpd_forbid_bare_newline)" },
	/* Postfix's deliberate close on a forbidden command (after the bare LF
	 * entries: a smuggled command's reply ends with the same close). */
	{ NULL, NULL, ANY, 0, "I can break rules", NULL, HINT_SETTING,
	  "Postfix: smtpd_forbidden_commands lists this command (default CONNECT GET POST "
	  "and non-letters); Postfix then answers 221 and closes on purpose" },
	/* A disabled VRFY or EXPN answered otherwise than 252 (RFC 5321 7.3). */
	{ RULES(RULE_COMMAND_MINIMUM), NULL, CMD_VRFY, 502, "disabled", "Postfix", HINT_SETTING,
	  "Postfix: disable_vrfy_command = yes answers VRFY with 502; RFC 5321 4.5.1 requires "
	  "VRFY, and 7.3 wants 252 from a site that disables it: set disable_vrfy_command = no "
	  "(the default)" },
	{ RULES(RULE_VERIFY_DISABLED), NULL, CMD_EXPN, 550, "Administrative prohibition", NULL,
	  HINT_SOFTWARE,
	  "Exim: EXPN is refused unless acl_smtp_expn accepts it, and an ACL refusal is a 5xx, "
	  "never the 252 RFC 5321 7.3 wants; only enabling EXPN (acl_smtp_expn, for trusted "
	  "hosts) avoids it" },
	{ RULES(RULE_VERIFY_DISABLED), NULL, ANY, 0, NULL, NULL, HINT_SOFTWARE,
	  "the server answers a VRFY or EXPN it has disabled with a refusal where RFC 5321 7.3 "
	  "wants 252; enabling the command avoids it, keeping it disabled needs a software "
	  "change" },
	/* Software limits no setting changes. */
	{ RULES(RULE_ENHANCED_MISSING), NULL, ANY, 0, NULL, NULL, HINT_SOFTWARE,
	  "the software leaves the enhanced status code off this reply although it advertises "
	  "ENHANCEDSTATUSCODES; no common setting adds it" },
};
#define HINTS_COUNT (sizeof(hints) / sizeof(hints[0]))

/* s contains needle, ignoring ASCII case. */
static int contains_nocase(const char *s, const char *needle)
{
	size_t n = strlen(needle);

	if (!s)
		return 0;
	for (; *s; s++)
		if (strncasecmp(s, needle, n) == 0)
			return 1;
	return n == 0;
}

/* value starts with one of the '|'-separated prefixes of list; a NULL list
 * matches anything. */
static int has_prefix_in(const char *list, const char *value)
{
	const char *p = list;

	if (!list)
		return 1;
	if (!value)
		return 0;
	while (*p) {
		const char *bar = strchr(p, '|');
		size_t n = bar ? (size_t)(bar - p) : strlen(p);

		if (strncmp(value, p, n) == 0)
			return 1;
		p += n;
		if (*p == '|')
			p++;
	}
	return 0;
}

/* rule is in the RULE_NONE-terminated list; a NULL list matches anything. */
static int rule_in(const enum rule_id *list, enum rule_id rule)
{
	if (!list)
		return 1;
	for (; *list != RULE_NONE; list++)
		if (*list == rule)
			return 1;
	return 0;
}

/* The query with its rule and command looked up once. */
struct lookup {
	const struct hint_query *q;
	enum rule_id rule;    /* RULE_NONE: no rule, or one the table lacks */
	enum command command; /* HINT_ANY_COMMAND when the query names none */
};

static int matches(const struct hint *h, const struct lookup *l)
{
	const struct hint_query *q = l->q;

	if (!rule_in(h->rules, l->rule) || !has_prefix_in(h->scenario, q->scenario))
		return 0;
	if (h->command != HINT_ANY_COMMAND && h->command != l->command)
		return 0;
	if (h->code != 0 && h->code != q->code)
		return 0;
	if (h->reply && !contains_nocase(q->reply, h->reply))
		return 0;
	if (h->product && !contains_nocase(q->greeting, h->product) &&
	    !contains_nocase(q->reply, h->product))
		return 0;
	return 1;
}

const struct hint *hint_find(const struct hint_query *q)
{
	const struct rule *rule = rule_by_id(q->rule);
	struct lookup l = { q, rule ? rule->rule : RULE_NONE,
		            q->command ? command_from_name(q->command) : HINT_ANY_COMMAND };

	for (size_t i = 0; i < HINTS_COUNT; i++)
		if (matches(&hints[i], &l))
			return &hints[i];
	return NULL;
}

const char *hint_kind_name(enum hint_kind kind)
{
	return kind == HINT_SETTING ? "setting" : "software";
}
