/*
 * rules.h - the rule table: every rule id a report can name, once.
 *
 * Owns each rule's stable id, the RFC section it cites, the exact sentence it
 * enforces and that sentence's level, its severity, the one-line description
 * docs/rules.md shows and its message templates. docs/rules.md is generated
 * from this table (`smtpconform rules --markdown`). Does not decide when a
 * rule is broken: check.c and session.c do, naming rules by enum rule_id.
 */
#ifndef SMTPCONFORM_RULES_H
#define SMTPCONFORM_RULES_H

#include <stdio.h>

#include "smtp_limits.h"

/* A limit's value as a string literal, for the message templates. */
#define RULE_STR_(x) #x
#define RULE_STR(x) RULE_STR_(x)

/* error fails the step; warn fails it only with --strict; note never does:
 * a session-wide habit (rule_habit_tag) seen in a scenario that does not
 * test it is listed as a finding and changes no verdict. */
enum severity { SEV_ERROR = 0, SEV_WARN = 1, SEV_NOTE = 2 };

enum rule_id {
	RULE_NONE = -1, /* no rule (a flag no rule maps, an id not in the table) */
	RULE_SYNTAX_CODE = 0,
	RULE_SYNTAX_SEPARATOR,
	RULE_SYNTAX_MULTILINE_CODE,
	RULE_SYNTAX_BARE_LF,
	RULE_SYNTAX_BARE_CR,
	RULE_SYNTAX_LINE_TOO_LONG,
	RULE_SYNTAX_CONTROL_CHAR,
	RULE_SYNTAX_8BIT_TEXT,
	RULE_SYNTAX_TOO_MANY_LINES,
	RULE_SYNTAX_UNSOLICITED,
	RULE_ENHANCED_MISSING,
	RULE_ENHANCED_CLASS,
	RULE_EHLO_KEYWORD_SYNTAX,
	RULE_TLS_HANDSHAKE,
	RULE_TLS_CERT_UNTRUSTED,
	RULE_STARTTLS_INJECTION,
	RULE_AUTH_CHALLENGE,
	RULE_AUTH_SERVER_SIGNATURE,
	RULE_MATRIX_NOT_ALLOWED,
	RULE_MATRIX_NONSTANDARD,
	RULE_EXPECT_CODE,
	RULE_EXPECT_TEXT,
	RULE_EXPECT_REGEX_LIMIT,
	RULE_EXPECT_CLOSE,
	RULE_TIMEOUT,
	RULE_CONNECTION_CLOSED,
	RULE_CONNECTION_RESET,
	RULE_SEQUENCE_AFTER_554,
	/* The protocol model (model.c, fixtures/model/outcomes.tsv). */
	RULE_COMMAND_MINIMUM,
	RULE_EHLO_ADVERTISED_REFUSED,
	RULE_POSTMASTER_REFUSED,
	RULE_RSET_REPLY,
	RULE_QUIT_REPLY,
	RULE_SEQUENCE_ACCEPTED,
	RULE_SEQUENCE_BAD_503,
	RULE_SEQUENCE_ANY_TIME,
	RULE_TRANSACTION_RESET,
	RULE_ARGUMENT_VALID_REFUSED,
	RULE_LIMITS_WITHIN_REFUSED,
	RULE_MAIL_REFUSED_KEEPS_STATE,
	RULE_SIZE_EXCEEDED,
	RULE_SIZE_WITHIN_REFUSED,
	RULE_AUTH_SEQUENCE,
	RULE_AUTH_CANCEL,
	RULE_AUTH_BASE64,
	RULE_STARTTLS_READVERTISED,
	RULE_CLOSED_WITHOUT_421,
	RULE_PARAMETER_NOT_555,
	RULE_LINES_TRAILING_SPACE,
	RULE_VERIFY_DISABLED,
	/* Line ends and the end of data (model.c, after the settle wait). */
	RULE_SMUGGLING_EARLY_END,
	RULE_LINES_BARE_LF_TERMINATOR,
	RULE_LINES_BARE_CR_TERMINATOR,
	RULE_SMTPUTF8_NON_ASCII_REPLY,
	RULE_SMTPUTF8_VRFY_PARAMETER,
	RULE_AUTH_ADVERTISED_538,
	RULE_ARGUMENT_NOT_TAKEN,
	RULE_COUNT
};

/* The key word of the sentence a rule enforces (RFC 2119; RFC 2034 writes
 * it lower-case). A grammar (ABNF) production counts as MUST. */
enum rule_level {
	LEVEL_MUST,
	LEVEL_SHOULD,
	LEVEL_MAY,
	LEVEL_SCENARIO, /* the scenario's own level: header (expect.code, expect.text) */
};

/* What a rule judges. report_html.c colours its grid cell from it. */
enum rule_category {
	RULE_CAT_SYNTAX,    /* the reply's bytes (syntax.*) */
	RULE_CAT_MATRIX,    /* the reply code against the allowed-code matrix */
	RULE_CAT_EXPECT,    /* the scenario's expectation */
	RULE_CAT_EXTENSION, /* an extension's rules: ENHANCEDSTATUSCODES, EHLO, TLS, AUTH */
	RULE_CAT_SESSION,   /* the connection: timeouts, closes, sequence */
};

struct rule {
	enum rule_id rule; /* its own index in rules[] */
	const char *id;    /* stable id in every report: "syntax.code" */
	enum rule_category category;
	const char *ref;         /* what a violation cites unless the caller names the
	                              exact row ("RFC 5321 4.2") */
	const char *doc_ref;     /* reference column of docs/rules.md; NULL: ref */
	const char *source;      /* where sentence is, when not in ref; NULL: ref */
	const char *sentence;    /* the RFC text enforced, quoted exactly; NULL for
	                              LEVEL_SCENARIO rules */
	enum rule_level level;   /* the key word of sentence */
	enum severity severity;  /* error fails the step; warn only with --strict */
	const char *description; /* one line for docs/rules.md (Markdown) */
	const char *message;     /* the violation message template (printf) */
};

/*
 * Message templates. Call sites pass them as the format, so the compiler
 * checks every argument; the table's message is the first of a rule's.
 */
#define RULE_MSG_SYNTAX_CODE "reply code is not 3 digits with the first 2-5 and the second 0-5"
#define RULE_MSG_SYNTAX_SEPARATOR "reply code not followed by SP, '-' or the end of the line"
#define RULE_MSG_SYNTAX_MULTILINE_CODE "lines of one multiline reply carry different codes"
#define RULE_MSG_SYNTAX_BARE_LF "line ended by LF without CR"
#define RULE_MSG_SYNTAX_BARE_CR "CR not followed by LF inside a line"
#define RULE_MSG_SYNTAX_LINE_TOO_LONG \
	"reply line longer than " RULE_STR(REPLY_LINE_MAX) " octets including CRLF"
#define RULE_MSG_SYNTAX_CONTROL_CHAR "NUL or other control character in reply text"
#define RULE_MSG_SYNTAX_8BIT_TEXT "octet above 127 in reply text"
#define RULE_MSG_SYNTAX_TOO_MANY_LINES \
	"reply has more than " RULE_STR(REPLY_LINES_MAX) " lines (harness limit)"
#define RULE_MSG_SYNTAX_UNSOLICITED "data after the reply to %s, before the next command: '%s'"
#define RULE_MSG_SYNTAX_UNSOLICITED_STARTTLS "plaintext data after the 220 to STARTTLS: '%s'"
#define RULE_MSG_ENHANCED_MISSING                                                             \
	"ENHANCEDSTATUSCODES was advertised, but the %03d reply to %s does not start with a " \
	"status code (class.subject.detail, RFC 3463)"
#define RULE_MSG_ENHANCED_MISSING_LINE \
	"line %zu of the %03d reply does not repeat the status code %.*s"
#define RULE_MSG_ENHANCED_CLASS "status code class %c does not match the reply code %03d"
#define RULE_MSG_EHLO_KEYWORD_SYNTAX "EHLO line %zu '%s' is not ehlo-keyword *(SP ehlo-param)"
#define RULE_MSG_TLS_HANDSHAKE "TLS handshake failed: %s"
#define RULE_MSG_TLS_CERT_UNTRUSTED                                                 \
	"the server's certificate did not verify: %s; the handshake was abandoned " \
	"(--tls-verify require; --ca-file FILE names the CA that issued it)"
#define RULE_MSG_TLS_HANDSHAKE_TIMEOUT "the TLS handshake did not complete within %lld s"
#define RULE_MSG_STARTTLS_INJECTION \
	"%zu command(s) sent in plaintext after STARTTLS were answered after the handshake: '%s'"
#define RULE_MSG_AUTH "%s" /* sasl.c's description of what is wrong */
#define RULE_MSG_MATRIX_NOT_ALLOWED \
	"%d is not an allowed reply to %s under profile %s (allowed: %s)"
#define RULE_MSG_MATRIX_NONSTANDARD "%s answered %d: allowed only as a non-standard answer (%s)"
#define RULE_MSG_EXPECT_CODE "expected %s, got %03d"
#define RULE_MSG_EXPECT_CODE_UNREADABLE "expected %s, got a reply without a readable code"
#define RULE_MSG_EXPECT_TEXT "reply text does not match /%s/"
#define RULE_MSG_EXPECT_REGEX_LIMIT "%s"
#define RULE_MSG_EXPECT_CLOSE "expected the server to close the connection after %s, got '%s'"
#define RULE_MSG_EXPECT_CLOSE_OPEN "the server did not close the connection within %lld s after %s"
#define RULE_MSG_TIMEOUT "no whole reply to %s within %d s; received: '%s'"
#define RULE_MSG_TIMEOUT_SENDING "the server read none of our data for %lld s"
#define RULE_MSG_TIMEOUT_BUDGET \
	"the scenario's time budget of %d s ran out waiting for the reply to %s; received: '%s'"
#define RULE_MSG_TIMEOUT_BUDGET_SENDING \
	"the scenario's time budget of %d s ran out while sending to the server"
#define RULE_MSG_CONNECTION_CLOSED \
	"server closed the connection before a whole reply to %s; received: '%s'"
#define RULE_MSG_CONNECTION_RESET \
	"connection reset (%s) while waiting for the reply to %s; received: '%s'"
#define RULE_MSG_SEQUENCE_AFTER_554                                                               \
	"the server greeted with 554 (no service): %s should get 503 (bad sequence of commands) " \
	"until QUIT, got %03d"
#define RULE_MSG_MODEL "%s got %03d %s: %s"
#define RULE_MSG_ENHANCED_MISSING_NO_EHLO                                                         \
	"the server advertises ENHANCEDSTATUSCODES (capability probe), but the %03d reply to %s " \
	"in this session without that EHLO does not start with a status code (RFC 2034 4: "       \
	"\"regardless of whether or not EHLO is employed\")"
#define RULE_MSG_STARTTLS_READVERTISED "the EHLO reply after the TLS handshake lists STARTTLS again"
#define RULE_MSG_SMUGGLING_EARLY_END                                                             \
	"the server ended the message data at %s (not <CRLF>.<CRLF>): %s after its %03d to the " \
	"end of data: %s"
#define RULE_MSG_LINES_BARE_TERMINATOR \
	"the server ended a command line at a bare %s: %zu more reply(ies) to the one line %s: %s"
#define RULE_MSG_SMTPUTF8_NON_ASCII_REPLY                                                       \
	"octet above 127 in the reply text of a server that advertised SMTPUTF8 (RFC 6531 "     \
	"allows UTF-8 only in 251/551 after MAIL ... SMTPUTF8 and in replies to VRFY/EXPN ... " \
	"SMTPUTF8)"
#define RULE_MSG_CLOSED_WITHOUT_421 \
	"the server closed the connection after its %03d reply to %s, without a 421"

/* The table, indexed by enum rule_id. */
extern const struct rule rules[RULE_COUNT];

/* The rule of an enum value; NULL for RULE_NONE or out of range. */
const struct rule *rule_get(enum rule_id id);
/* The rule with this id string ("syntax.code"); NULL when the table has none
 * (an id from an older or newer report read back from JSON). */
const struct rule *rule_by_id(const char *id);
/*
 * A session-wide habit (no enhanced status codes): the tag of the scenarios
 * that test it, e.g. "enhancedstatuscodes"; in a scenario without that tag
 * whose ref: does not cite the rule's RFC, a violation of it is a note
 * (result.h, step_note_habits). NULL: the rule is not a habit.
 */
const char *rule_habit_tag(enum rule_id id);
/* "MUST", "SHOULD", "MAY", "scenario". */
const char *rule_level_name(enum rule_level level);

/* Writes docs/rules.md: its prose, the table, the sentences. */
void rules_print_markdown(FILE *out);

#endif
