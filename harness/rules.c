/*
 * rules.c - the rule table (see rules.h) and docs/rules.md, printed from it.
 *
 * The only file that spells a rule id. Every sentence is quoted from the RFC
 * it names, whitespace folded; where the RFC section a violation cites holds
 * no key word, `source` names the section the sentence comes from.
 */
#include "rules.h"

#include <string.h>

/* The sentence most syntax and connection rules enforce. */
#define ONE_REPLY "Every command MUST generate exactly one reply."
#define LINE_TERMINATOR                                                                     \
	"Conforming implementations MUST NOT recognize or generate any other character or " \
	"character sequence as a line terminator."
/* RFC 5321 4.3.1: what a code means is not the server's to change. */
#define CODE_MEANING                                                                              \
	"A receiver MAY substitute text in the replies, but the meanings and actions implied by " \
	"the code numbers and by the specific command reply sequence MUST be preserved."
#define TEXTSTRING "textstring = 1*(%d09 / %d32-126) ; HT, SP, Printable US-ASCII"

/* One block per rule, laid out by hand. */
/* clang-format off */
const struct rule rules[RULE_COUNT] = {
	[RULE_SYNTAX_CODE] = {
		RULE_SYNTAX_CODE, "syntax.code", RULE_CAT_SYNTAX, "RFC 5321 4.2", NULL, NULL,
		"In the absence of extensions negotiated with the client, SMTP servers MUST NOT send "
		"reply codes whose first digits are other than 2, 3, 4, or 5.",
		LEVEL_MUST, SEV_ERROR,
		"the reply code is not three digits with a first digit 2-5 and a second digit 0-5 "
		"(`1xx`, `6xx`, `260`, `25`, `2500`, `2a0`)",
		RULE_MSG_SYNTAX_CODE },
	[RULE_SYNTAX_SEPARATOR] = {
		RULE_SYNTAX_SEPARATOR, "syntax.separator", RULE_CAT_SYNTAX, "RFC 5321 4.2", NULL, NULL,
		"Reply-line = *( Reply-code \"-\" [ textstring ] CRLF ) "
		"Reply-code [ SP textstring ] CRLF",
		LEVEL_MUST, SEV_ERROR,
		"the byte after the code is not SP, `-` or the end of the line",
		RULE_MSG_SYNTAX_SEPARATOR },
	[RULE_SYNTAX_MULTILINE_CODE] = {
		RULE_SYNTAX_MULTILINE_CODE, "syntax.multiline-code", RULE_CAT_SYNTAX, "RFC 5321 4.2.1",
		NULL, NULL,
		"In a multiline reply, the reply code on each of the lines MUST be the same.",
		LEVEL_MUST, SEV_ERROR,
		"the lines of one multiline reply carry different codes",
		RULE_MSG_SYNTAX_MULTILINE_CODE },
	[RULE_SYNTAX_BARE_LF] = {
		RULE_SYNTAX_BARE_LF, "syntax.bare-lf", RULE_CAT_SYNTAX, "RFC 5321 2.3.8", NULL, NULL,
		LINE_TERMINATOR, LEVEL_MUST, SEV_ERROR,
		"a reply line ends in LF without CR",
		RULE_MSG_SYNTAX_BARE_LF },
	[RULE_SYNTAX_BARE_CR] = {
		RULE_SYNTAX_BARE_CR, "syntax.bare-cr", RULE_CAT_SYNTAX, "RFC 5321 2.3.8", NULL, NULL,
		LINE_TERMINATOR, LEVEL_MUST, SEV_ERROR,
		"a CR inside a reply line that is not followed by LF",
		RULE_MSG_SYNTAX_BARE_CR },
	[RULE_SYNTAX_LINE_TOO_LONG] = {
		RULE_SYNTAX_LINE_TOO_LONG, "syntax.line-too-long", RULE_CAT_SYNTAX, "RFC 5321 4.5.3.1.5",
		NULL, "RFC 5321 4.5.3.1",
		"Objects larger than these sizes SHOULD be avoided when possible.",
		LEVEL_SHOULD, SEV_WARN,
		"a reply line is longer than 512 octets including CRLF; past 4096 octets without LF "
		"the reply is abandoned",
		RULE_MSG_SYNTAX_LINE_TOO_LONG },
	[RULE_SYNTAX_CONTROL_CHAR] = {
		RULE_SYNTAX_CONTROL_CHAR, "syntax.control-char", RULE_CAT_SYNTAX,
		"RFC 5321 4.2 (textstring)", NULL, NULL,
		TEXTSTRING, LEVEL_MUST, SEV_ERROR,
		"NUL or another control byte (other than HT) in the reply text",
		RULE_MSG_SYNTAX_CONTROL_CHAR },
	[RULE_SYNTAX_8BIT_TEXT] = {
		RULE_SYNTAX_8BIT_TEXT, "syntax.8bit-text", RULE_CAT_SYNTAX, "RFC 5321 4.2 (textstring)",
		NULL, NULL,
		TEXTSTRING, LEVEL_MUST, SEV_ERROR,
		"an octet above 127 in the reply text",
		RULE_MSG_SYNTAX_8BIT_TEXT },
	[RULE_SYNTAX_TOO_MANY_LINES] = {
		RULE_SYNTAX_TOO_MANY_LINES, "syntax.too-many-lines", RULE_CAT_SYNTAX, "RFC 5321 4.2.1",
		NULL, NULL,
		"The reply text may be longer than a single line; in these cases the complete text "
		"must be marked so the SMTP client knows when it can stop reading the reply.",
		LEVEL_MUST, SEV_ERROR,
		"a reply of more than 1000 lines; the reply is abandoned",
		RULE_MSG_SYNTAX_TOO_MANY_LINES },
	[RULE_SYNTAX_UNSOLICITED] = {
		RULE_SYNTAX_UNSOLICITED, "syntax.unsolicited", RULE_CAT_SYNTAX, "RFC 5321 4.2",
		"RFC 5321 4.2, 3.8", NULL,
		ONE_REPLY, LEVEL_MUST, SEV_ERROR,
		"bytes arrived after a reply, before the next command was sent or after the "
		"scenario's last reply (one reply per command); an unsolicited `421` is allowed",
		RULE_MSG_SYNTAX_UNSOLICITED },
	[RULE_ENHANCED_MISSING] = {
		RULE_ENHANCED_MISSING, "enhancedstatuscodes.missing", RULE_CAT_EXTENSION, "RFC 2034 3",
		"RFC 2034 3, RFC 3463 2", "RFC 2034 4",
		"These codes must appear in all 2xx, 4xx, and 5xx response lines other than initial "
		"greeting and any response to HELO or EHLO.",
		LEVEL_MUST, SEV_ERROR,
		"the EHLO reply listed ENHANCEDSTATUSCODES, and a later 2xx/4xx/5xx reply (not to "
		"EHLO or HELO) does not start with `class.subject.detail SP`, or a line of a "
		"multiline reply does not repeat it. A session-wide habit: it fails the scenarios "
		"that test ENHANCEDSTATUSCODES (tag `enhancedstatuscodes`, or a `ref:` citing RFC "
		"2034); in every other scenario it is a `note`, listed with the findings, failing "
		"nothing",
		RULE_MSG_ENHANCED_MISSING },
	[RULE_ENHANCED_CLASS] = {
		RULE_ENHANCED_CLASS, "enhancedstatuscodes.class", RULE_CAT_EXTENSION, "RFC 3463 2",
		NULL, "RFC 2034 4",
		"All status codes returned by the server must agree with the primary response code, "
		"that is, a 2xx response must incorporate a 2.X.X code, a 4xx response must "
		"incorporate a 4.X.X code, and a 5xx response must incorporate a 5.X.X code.",
		LEVEL_MUST, SEV_ERROR,
		"the status code's class differs from the reply code's first digit (`550 4.7.1`); a "
		"session-wide habit like `enhancedstatuscodes.missing` (a `note` outside the "
		"scenarios that test it)",
		RULE_MSG_ENHANCED_CLASS },
	[RULE_EHLO_KEYWORD_SYNTAX] = {
		RULE_EHLO_KEYWORD_SYNTAX, "ehlo.keyword-syntax", RULE_CAT_EXTENSION, "RFC 5321 4.1.1.1",
		NULL, NULL,
		"ehlo-line = ehlo-keyword *( SP ehlo-param ) ehlo-keyword = (ALPHA / DIGIT) "
		"*(ALPHA / DIGIT / \"-\") ehlo-param = 1*(%d33-126)",
		LEVEL_MUST, SEV_ERROR,
		"a line after the first of a 250 EHLO reply is not `ehlo-keyword *(SP ehlo-param)` "
		"(keyword: letters, digits, `-`, starting with a letter or digit; e.g. `AUTH=PLAIN` "
		"is not a keyword)",
		RULE_MSG_EHLO_KEYWORD_SYNTAX },
	[RULE_TLS_HANDSHAKE] = {
		RULE_TLS_HANDSHAKE, "tls.handshake", RULE_CAT_EXTENSION, "RFC 3207 4",
		"RFC 3207 4, RFC 8314 3.3", NULL,
		"After receiving a 220 response to a STARTTLS command, the client MUST start the TLS "
		"negotiation",
		LEVEL_MUST, SEV_ERROR,
		"the TLS handshake after a 220 to STARTTLS, or at connect with `--tls implicit`, "
		"failed (OpenSSL's reason, e.g. certificate verification, wrong version number for a "
		"server sending garbage) or did not finish within the deadline",
		RULE_MSG_TLS_HANDSHAKE },
	[RULE_TLS_CERT_UNTRUSTED] = {
		RULE_TLS_CERT_UNTRUSTED, "tls.certificate-untrusted", RULE_CAT_EXTENSION,
		"RFC 3207 4.1", NULL, NULL,
		"The SMTP client and server may decide to move ahead even if the TLS negotiation ended "
		"with no authentication and/or no privacy because most SMTP services are performed "
		"with no authentication and no privacy, but some SMTP clients or servers may want to "
		"continue only if a particular level of authentication and/or privacy was achieved.",
		LEVEL_MAY, SEV_ERROR,
		"the server's certificate did not verify (chain or name; OpenSSL's reason, e.g. "
		"self-signed certificate). Trust is the tester's decision (4.1: \"The decision of "
		"whether or not to believe the authenticity of the other party in a TLS negotiation "
		"is a local matter\"), not a protocol requirement: by default (`--tls-verify on`) it is reported once, in the header of "
		"every report, with the cause and the fix (`--ca-file FILE`, or `--tls-verify off` "
		"for a lab server), and the STARTTLS scenarios run over the unverified handshake. "
		"Only with `--tls-verify require` is it a violation: the handshake is abandoned and "
		"the step that got the 220 to STARTTLS (or the greeting, `--tls implicit`) fails",
		RULE_MSG_TLS_CERT_UNTRUSTED },
	[RULE_STARTTLS_INJECTION] = {
		RULE_STARTTLS_INJECTION, "starttls.injection", RULE_CAT_EXTENSION, "RFC 3207 4.2", NULL,
		NULL,
		"The server MUST discard any knowledge obtained from the client, such as the argument "
		"to the EHLO command, which was not obtained from the TLS negotiation itself.",
		LEVEL_MUST, SEV_ERROR,
		"commands pipelined after `STARTTLS` in the same packet were answered after the "
		"handshake: the server kept plaintext input across the TLS boundary (CVE-2011-0411 "
		"class). The harness waits 300 ms after the handshake for such replies",
		RULE_MSG_STARTTLS_INJECTION },
	[RULE_AUTH_CHALLENGE] = {
		RULE_AUTH_CHALLENGE, "auth.challenge", RULE_CAT_EXTENSION, "RFC 4954 4",
		"RFC 4954 4, RFC 5802 5", NULL,
		"A server challenge is sent as a 334 reply with the text part containing the [BASE64] "
		"encoded string supplied by the SASL mechanism. This challenge MUST NOT contain any "
		"text other than the BASE64 encoded challenge.",
		LEVEL_MUST, SEV_ERROR,
		"a 334 challenge during an `A:` exchange is not valid base64, or not what the "
		"mechanism expects (a SCRAM server-first-message without r=, s=, i=, or with a nonce "
		"that does not extend ours); or one 334 more than the mechanism has (PLAIN 1, LOGIN "
		"2, CRAM-MD5 1, SCRAM-SHA-256 2; a 334 after `*`): the exchange is given up, so an "
		"endless 334 cannot hold the harness",
		RULE_MSG_AUTH },
	[RULE_AUTH_SERVER_SIGNATURE] = {
		RULE_AUTH_SERVER_SIGNATURE, "auth.server-signature", RULE_CAT_EXTENSION, "RFC 5802 5",
		NULL, NULL,
		"The client then authenticates the server by computing the ServerSignature and "
		"comparing it to the value sent by the server. If the two are different, the client "
		"MUST consider the authentication exchange to be unsuccessful, and it might have to "
		"drop the connection.",
		LEVEL_MUST, SEV_ERROR,
		"SCRAM-SHA-256: the server's final message does not carry the signature that proves "
		"it knows the password",
		RULE_MSG_AUTH },
	[RULE_MATRIX_NOT_ALLOWED] = {
		RULE_MATRIX_NOT_ALLOWED, "matrix.not-allowed", RULE_CAT_MATRIX, "RFC 5321 4.3.2",
		"the command's row, e.g. RFC 5321 4.3.2", "RFC 5321 4.3.1",
		"The table below lists alternative success and failure replies for each command. "
		"These SHOULD be strictly adhered to.",
		LEVEL_SHOULD, SEV_ERROR,
		"the code is not in the allowed-code matrix for this command under the profile; the "
		"message lists the allowed set",
		RULE_MSG_MATRIX_NOT_ALLOWED },
	[RULE_MATRIX_NONSTANDARD] = {
		RULE_MATRIX_NONSTANDARD, "matrix.nonstandard", RULE_CAT_MATRIX, "RFC 5321 4.3.2",
		"the row's reference", "RFC 5321 4.2",
		"An SMTP server SHOULD send only the reply codes listed in this document.",
		LEVEL_SHOULD, SEV_WARN,
		"the code is allowed only as a non-standard but common answer (NOOP -> 200, RFC 876)",
		RULE_MSG_MATRIX_NONSTANDARD },
	[RULE_EXPECT_CODE] = {
		RULE_EXPECT_CODE, "expect.code", RULE_CAT_EXPECT, "scenario", NULL, NULL,
		NULL, LEVEL_SCENARIO, SEV_ERROR,
		"the code does not match the scenario's `S:` expectation",
		RULE_MSG_EXPECT_CODE },
	[RULE_EXPECT_TEXT] = {
		RULE_EXPECT_TEXT, "expect.text", RULE_CAT_EXPECT, "scenario", NULL, NULL,
		NULL, LEVEL_SCENARIO, SEV_ERROR,
		"the reply text does not match the expectation's `~ /regex/`",
		RULE_MSG_EXPECT_TEXT },
	[RULE_EXPECT_REGEX_LIMIT] = {
		RULE_EXPECT_REGEX_LIMIT, "expect.regex-limit", RULE_CAT_EXPECT, "scenario", NULL, NULL,
		NULL, LEVEL_SCENARIO, SEV_ERROR,
		"matching the expectation's `~ /regex/` hit a PCRE2 limit (match steps, depth or heap, "
		"`harness/smtp_limits.h`): the regex backtracks too much to give a verdict on this reply. "
		"A scenario problem, reported instead of a pass; see "
		"[scenario-format.md](scenario-format.md#s-expectations)",
		RULE_MSG_EXPECT_REGEX_LIMIT },
	[RULE_EXPECT_CLOSE] = {
		RULE_EXPECT_CLOSE, "expect.close", RULE_CAT_EXPECT, "RFC 5321 4.1.1.10", NULL, NULL,
		"This command specifies that the receiver MUST send a \"221 OK\" reply, and then close "
		"the transmission channel.",
		LEVEL_MUST, SEV_ERROR,
		"`S: close`: the server sent data, or kept the connection open past the close timeout",
		RULE_MSG_EXPECT_CLOSE },
	[RULE_TIMEOUT] = {
		RULE_TIMEOUT, "timeout", RULE_CAT_SESSION, "RFC 5321 4.5.3.2", NULL, "RFC 5321 4.2",
		ONE_REPLY, LEVEL_MUST, SEV_ERROR,
		"no whole reply within the deadline (RFC 5321 4.5.3.2 defaults or `--timeout`); the "
		"deadline bounds the whole reply, so a server dripping bytes cannot hold the harness. "
		"Also: a write that made no progress within the deadline (4.5.3.2.5), and the "
		"scenario's whole budget (`--scenario-timeout`, default 3600 s, or a shorter "
		"`timeout:` header) used up: the message then says \"the scenario's time budget of "
		"N s ran out\"",
		RULE_MSG_TIMEOUT },
	[RULE_CONNECTION_CLOSED] = {
		RULE_CONNECTION_CLOSED, "connection.closed", RULE_CAT_SESSION, "RFC 5321 4.2", NULL, NULL,
		ONE_REPLY, LEVEL_MUST, SEV_ERROR,
		"the server closed the connection before a whole reply",
		RULE_MSG_CONNECTION_CLOSED },
	[RULE_CONNECTION_RESET] = {
		RULE_CONNECTION_RESET, "connection.reset", RULE_CAT_SESSION, "RFC 5321 4.2", NULL, NULL,
		ONE_REPLY, LEVEL_MUST, SEV_ERROR,
		"the connection was reset while a reply was awaited (also right after the TCP "
		"handshake, before the greeting, and while a message was being sent)",
		RULE_MSG_CONNECTION_RESET },
	[RULE_SEQUENCE_AFTER_554] = {
		RULE_SEQUENCE_AFTER_554, "sequence.after-554", RULE_CAT_SESSION, "RFC 5321 3.1", NULL,
		NULL,
		"A server taking this approach MUST still wait for the client to send a QUIT (see "
		"Section 4.1.1.10) before closing the connection and SHOULD respond to any "
		"intervening commands with \"503 bad sequence of commands\".",
		LEVEL_SHOULD, SEV_ERROR,
		"the server greeted with 554 (RFC 5321 3.1: no service), and a command other than "
		"QUIT got something else than 503 (or 421, 3.8). A session rule: it judges every "
		"reply after a 554 greeting, whatever the scenario expects. 3.1 says SHOULD; like "
		"every SHOULD the suite checks (the 4.3.1 table, `core.unknown.verb`) it fails the "
		"step, and the scenario's `level:` carries the strength (`core.greeting.refused` is "
		"`SHOULD`)",
		RULE_MSG_SEQUENCE_AFTER_554 },
	[RULE_COMMAND_MINIMUM] = {
		RULE_COMMAND_MINIMUM, "command.minimum", RULE_CAT_SESSION, "RFC 5321 4.5.1",
		"RFC 5321 4.5.1, 7.3", NULL,
		"The following commands MUST be supported to conform to this specification: EHLO "
		"HELO MAIL RCPT DATA RSET NOOP QUIT VRFY",
		LEVEL_MUST, SEV_ERROR,
		"one of the nine commands every server must implement, with a well-formed argument, "
		"got 500 or 502 (not implemented). A site that disables VRFY answers 252 (7.3: "
		"\"the SMTP server MUST return a 252 response\")",
		RULE_MSG_MODEL },
	[RULE_EHLO_ADVERTISED_REFUSED] = {
		RULE_EHLO_ADVERTISED_REFUSED, "ehlo.advertised-refused", RULE_CAT_EXTENSION,
		"RFC 5321 4.2.4", NULL, NULL,
		"Extended SMTP systems MUST NOT list capabilities in response to EHLO for which they "
		"will return 502 (or 500) replies.",
		LEVEL_MUST, SEV_ERROR,
		"a command whose keyword the session's EHLO reply listed (VRFY, EXPN, HELP, also "
		"with an argument, ETRN, STARTTLS, BDAT for CHUNKING, AUTH with a listed mechanism) "
		"got 500 or 502",
		RULE_MSG_MODEL },
	[RULE_POSTMASTER_REFUSED] = {
		RULE_POSTMASTER_REFUSED, "postmaster.refused", RULE_CAT_SESSION, "RFC 5321 4.5.1", NULL,
		NULL,
		"The requirement to accept mail for postmaster implies that RCPT commands that specify "
		"a mailbox for postmaster at any of the domains for which the SMTP server provides mail "
		"service, as well as the special case of \"RCPT TO:<Postmaster>\" (with no domain "
		"specification), MUST be supported.",
		LEVEL_MUST, SEV_ERROR,
		"`RCPT TO:<Postmaster>`, or postmaster at the `domain` variable, in an open "
		"transaction, got 500, 501, 550, 551 or 553 (refused as unknown or as syntax). Often "
		"the installation, not the software: an alias table is missing",
		RULE_MSG_MODEL },
	[RULE_RSET_REPLY] = {
		RULE_RSET_REPLY, "rset.reply", RULE_CAT_SESSION, "RFC 5321 4.1.1.5", NULL, NULL,
		"The receiver MUST send a \"250 OK\" reply to a RSET command with no arguments.",
		LEVEL_MUST, SEV_ERROR,
		"RSET without an argument got something else than 250 (or 421), at any point of the "
		"session, before EHLO too",
		RULE_MSG_MODEL },
	[RULE_QUIT_REPLY] = {
		RULE_QUIT_REPLY, "quit.reply", RULE_CAT_SESSION, "RFC 5321 4.1.1.10", NULL, NULL,
		"This command specifies that the receiver MUST send a \"221 OK\" reply, and then close "
		"the transmission channel.",
		LEVEL_MUST, SEV_ERROR,
		"QUIT without an argument got something else than 221 (or 421)",
		RULE_MSG_MODEL },
	[RULE_SEQUENCE_ACCEPTED] = {
		RULE_SEQUENCE_ACCEPTED, "sequence.accepted", RULE_CAT_SESSION, "RFC 5321 4.1.4", NULL,
		NULL,
		"If the commands in a transaction are out of order to the degree that they cannot be "
		"processed by the server, a 503 failure reply MUST be returned and the SMTP server MUST "
		"stay in the same state.",
		LEVEL_MUST, SEV_ERROR,
		"a command out of sequence was accepted: RCPT without an accepted MAIL, DATA without "
		"an accepted RCPT got 354, MAIL inside an open transaction got 250, AUTH inside a "
		"transaction",
		RULE_MSG_MODEL },
	[RULE_SEQUENCE_BAD_503] = {
		RULE_SEQUENCE_BAD_503, "sequence.bad-503", RULE_CAT_SESSION, "RFC 5321 4.3.1", NULL, NULL,
		CODE_MEANING, LEVEL_MUST, SEV_ERROR,
		"503 (bad sequence of commands) to a command that was in sequence: MAIL after "
		"EHLO/HELO with no transaction open, RCPT after an accepted MAIL, DATA after an "
		"accepted RCPT, a well-formed parameter error",
		RULE_MSG_MODEL },
	[RULE_SEQUENCE_ANY_TIME] = {
		RULE_SEQUENCE_ANY_TIME, "sequence.any-time", RULE_CAT_SESSION, "RFC 5321 4.1.4", NULL,
		NULL,
		"SMTP servers SHOULD process these normally (that is, not return a 503 code) even if "
		"no EHLO command has yet been received",
		LEVEL_SHOULD, SEV_WARN,
		"NOOP, HELP, EXPN or VRFY before EHLO/HELO got 503 (4.1.4: they \"can be used at any "
		"time during a session\")",
		RULE_MSG_MODEL },
	[RULE_TRANSACTION_RESET] = {
		RULE_TRANSACTION_RESET, "transaction.reset", RULE_CAT_SESSION, "RFC 5321 4.1.4", NULL,
		NULL,
		"If it is issued after the session begins and the EHLO command is acceptable to the "
		"SMTP server, the SMTP server MUST clear all buffers and reset the state exactly as if "
		"a RSET command had been issued.",
		LEVEL_MUST, SEV_ERROR,
		"after EHLO, HELO or RSET was accepted inside a transaction, the server still acted "
		"on the old transaction: a RCPT or DATA accepted, or a new MAIL refused with 503",
		RULE_MSG_MODEL },
	[RULE_ARGUMENT_VALID_REFUSED] = {
		RULE_ARGUMENT_VALID_REFUSED, "argument.valid-refused", RULE_CAT_SESSION, "RFC 5321 4.3.1",
		"RFC 5321 4.1.2, 4.5.3.1, 4.3.1", NULL,
		CODE_MEANING, LEVEL_MUST, SEV_ERROR,
		"a MAIL or RCPT whose path is valid RFC 5321 4.1.2 syntax within the 4.5.3.1 limits "
		"(local-part 64, domain 255, path 256 octets; quoted local-parts included) and whose "
		"parameters are all advertised got 500 or 501 (syntax error). Address literals are "
		"left out: accepting them is policy",
		RULE_MSG_MODEL },
	[RULE_LIMITS_WITHIN_REFUSED] = {
		RULE_LIMITS_WITHIN_REFUSED, "limits.within-refused", RULE_CAT_SESSION,
		"RFC 5321 4.5.3.1", "RFC 5321 4.5.3.1, 4.3.2", NULL,
		"Every implementation MUST be able to receive objects of at least these sizes.",
		LEVEL_MUST, SEV_ERROR,
		"an EHLO, HELO, MAIL, RCPT, NOOP or HELP that is well-formed, whose line is at most "
		"512 octets with its CRLF and whose path, local-part and domain are within the "
		"4.5.3.1 limits (256, 64, 255 octets; every domain label within 63) got a 5xx whose "
		"text says it is too long (\"too long\", \"length\", \"longer than\", outside an "
		"echoed `<path>`): 4.3.2, \"producing a \"command too long\" message for a command "
		"line shorter than 512 characters would violate the provisions of Section "
		"4.5.3.1.4\". Without such words the code stays policy (550, 553: no finding)",
		RULE_MSG_MODEL },
	[RULE_MAIL_REFUSED_KEEPS_STATE] = {
		RULE_MAIL_REFUSED_KEEPS_STATE, "mail.refused-keeps-state", RULE_CAT_SESSION,
		"RFC 5321 4.1.4", NULL, NULL,
		"If the transaction beginning command argument is not acceptable, a 501 failure reply "
		"MUST be returned and the SMTP server MUST stay in the same state.",
		LEVEL_MUST, SEV_ERROR,
		"a MAIL without its FROM:<path> got 500 (\"command unrecognized\") or was accepted, "
		"instead of 501; or a MAIL without SIZE got 552 right after a MAIL whose SIZE= was "
		"refused: the server kept the size the refused command declared",
		RULE_MSG_MODEL },
	[RULE_SIZE_EXCEEDED] = {
		RULE_SIZE_EXCEEDED, "size.exceeds-limit", RULE_CAT_EXTENSION, "RFC 1870 7",
		"RFC 1870 6.1, 7", NULL,
		"Such a server must accept the extended MAIL command and return a 552 reply code if "
		"the client's declared size exceeds its fixed size limit",
		LEVEL_MUST, SEV_ERROR,
		"a MAIL whose SIZE= exceeds the maximum the EHLO reply's `SIZE n` advertised (n > 0) "
		"was accepted, or refused with a 5xx other than 552 whose text names the size "
		"(\"size\", \"too big\", \"too large\"; Haraka's `550 Message too big!`). 6.1 says "
		"\"A server may respond to the extended MAIL command with any of the error codes "
		"defined in [1] for the MAIL command\" (RFC 821): those codes say why by their own "
		"meaning (550 mailbox unavailable, 553 mailbox name not allowed), and a 550 without "
		"words stays policy. When the server's own text says it refused for the declared "
		"size, the refusal is the one 6.1 (2) describes (\"If the indicated size is larger "
		"than the server's fixed maximum message size, the server responds with code "
		"\"552 message size exceeds fixed maximium message size\"\") and 7 requires "
		"(\"must ... return a 552 reply code\"); 452 (6.1 (1), storage lacking now) and 552 "
		"are no finding",
		RULE_MSG_MODEL },
	[RULE_SIZE_WITHIN_REFUSED] = {
		RULE_SIZE_WITHIN_REFUSED, "size.within-limit-refused", RULE_CAT_EXTENSION,
		"RFC 1870 6.1", "RFC 1870 4, 6.1", NULL,
		"Upon receipt of an extended MAIL command containing a SIZE parameter, a server "
		"should determine whether the declared message size exceeds its fixed maximum "
		"message size.",
		LEVEL_SHOULD, SEV_WARN,
		"a MAIL whose SIZE= is at most the maximum the EHLO reply's `SIZE n` advertised "
		"(n > 0; SIZE=n itself included) got 552, the code 6.1 (2) gives when \"the "
		"indicated size is larger than the server's fixed maximum message size\" (section 4: "
		"the advertised number \"indicates the size of the largest message that the server is "
		"willing to accept\"). A warning, not a failure: 6.1 also lets the extended MAIL get "
		"any RFC 821 MAIL error, 552 (exceeded storage allocation) among them",
		RULE_MSG_MODEL },
	[RULE_AUTH_SEQUENCE] = {
		RULE_AUTH_SEQUENCE, "auth.sequence", RULE_CAT_EXTENSION, "RFC 4954 4", NULL, NULL,
		"After a successful AUTH command completes, a server MUST reject any further AUTH "
		"commands with a 503 reply. The AUTH command is not permitted during a mail "
		"transaction. An AUTH command issued during a mail transaction MUST be rejected with "
		"a 503 reply.",
		LEVEL_MUST, SEV_ERROR,
		"AUTH after a successful AUTH, or inside a mail transaction, got something else than "
		"503",
		RULE_MSG_MODEL },
	[RULE_AUTH_CANCEL] = {
		RULE_AUTH_CANCEL, "auth.cancel", RULE_CAT_EXTENSION, "RFC 4954 4", NULL, NULL,
		"If the server receives such a response, it MUST reject the AUTH command by sending a "
		"501 reply.",
		LEVEL_MUST, SEV_ERROR,
		"the client cancelled an AUTH exchange with `*` after a 334, and the reply was not 501",
		RULE_MSG_MODEL },
	[RULE_AUTH_BASE64] = {
		RULE_AUTH_BASE64, "auth.bad-base64", RULE_CAT_EXTENSION, "RFC 4954 4", NULL, NULL,
		"If the server cannot [BASE64] decode any client response, it MUST reject the AUTH "
		"command with a 501 reply (and an enhanced status code of 5.5.2).",
		LEVEL_MUST, SEV_ERROR,
		"an initial response or a response to a 334 that is not base64 got something else "
		"than 501",
		RULE_MSG_MODEL },
	[RULE_STARTTLS_READVERTISED] = {
		RULE_STARTTLS_READVERTISED, "starttls.advertised-after-tls", RULE_CAT_EXTENSION,
		"RFC 3207 4.2", NULL, NULL,
		"A server MUST NOT return the STARTTLS extension in response to an EHLO command "
		"received after a TLS handshake has completed.",
		LEVEL_MUST, SEV_ERROR,
		"the EHLO reply after the STARTTLS handshake lists STARTTLS",
		RULE_MSG_STARTTLS_READVERTISED },
	[RULE_CLOSED_WITHOUT_421] = {
		RULE_CLOSED_WITHOUT_421, "connection.closed-without-421", RULE_CAT_SESSION,
		"RFC 5321 3.8", NULL, NULL,
		"An SMTP server MUST NOT intentionally close the connection under normal operational "
		"circumstances (see Section 7.8) except: After receiving a QUIT command and responding "
		"with a 221 reply. After detecting the need to shut down the SMTP service and "
		"returning a 421 response code.",
		LEVEL_MUST, SEV_ERROR,
		"the server closed the connection after a reply other than 221 to QUIT or 421, or "
		"instead of a reply (the finding goes on the last reply before the close)",
		RULE_MSG_CLOSED_WITHOUT_421 },
	[RULE_PARAMETER_NOT_555] = {
		RULE_PARAMETER_NOT_555, "parameter.not-555", RULE_CAT_SESSION, "RFC 5321 4.1.1.11",
		NULL, "RFC 5321 4.3.1",
		"The table below lists alternative success and failure replies for each command. "
		"These SHOULD be strictly adhered to.",
		LEVEL_SHOULD, SEV_WARN,
		"a MAIL or RCPT parameter the session's EHLO did not advertise (or no RFC defines) got "
		"501, not the 555 of 4.1.1.11 (\"If the server SMTP does not recognize or cannot "
		"implement one or more of the parameters ... it will return code 555\": no key word, "
		"so a warning)",
		RULE_MSG_MODEL },
	[RULE_LINES_TRAILING_SPACE] = {
		RULE_LINES_TRAILING_SPACE, "lines.trailing-space-refused", RULE_CAT_SESSION,
		"RFC 5321 4.1.1", NULL, NULL,
		"In the interest of improved interoperability, SMTP receivers SHOULD tolerate trailing "
		"white space before the terminating <CRLF>.",
		LEVEL_SHOULD, SEV_WARN,
		"a command that is valid once the spaces or tabs before its CRLF are taken away (no "
		"argument, or a valid one) got 500 or 501. Only a SHOULD: such a line is never judged "
		"by the MUST rules about commands without an argument or with a valid one",
		RULE_MSG_MODEL },
	[RULE_VERIFY_DISABLED] = {
		RULE_VERIFY_DISABLED, "verify.disabled-not-252", RULE_CAT_SESSION, "RFC 5321 7.3",
		"RFC 5321 7.3, 3.5.2", NULL,
		"If a site disables these commands for security reasons, the SMTP server MUST return a "
		"252 response, rather than a code that could be confused with successful or "
		"unsuccessful verification.",
		LEVEL_MUST, SEV_ERROR,
		"a VRFY or EXPN with an argument got a 5xx whose text says the command is disabled "
		"(\"disabled\", \"prohibited\", \"prohibition\", outside an echoed `<path>`): a "
		"site that disables them answers 252. A refusal that does not say so stays a "
		"verification result or policy (550: no finding); VRFY's 500 and 502 are "
		"`command.minimum`'s",
		RULE_MSG_MODEL },
	[RULE_SMUGGLING_EARLY_END] = {
		RULE_SMUGGLING_EARLY_END, "smuggling.early-end-of-data", RULE_CAT_SESSION,
		"RFC 5321 4.1.1.4", "RFC 5321 2.3.8, 4.1.1.4", NULL,
		"The custom of accepting lines ending only in <LF>, as a concession to non-conforming "
		"behavior on the part of some UNIX systems, has proven to cause more interoperability "
		"problems than it solves, and SMTP server systems MUST NOT do this, even in the name of "
		"improved robustness. In particular, the sequence \"<LF>.<LF>\" (bare line feeds, "
		"without carriage returns) MUST NOT be treated as equivalent to <CRLF>.<CRLF> as the "
		"end of mail data indication.",
		LEVEL_MUST, SEV_ERROR,
		"the message data (DATA, or a BDAT chunk) held a sequence other than `<CRLF>.<CRLF>` "
		"that looks like its end (`\\n.\\n`, `\\r\\n.\\r`, `\\r\\n\\x00.\\r\\n`, ...), "
		"and within the settle wait after the end-of-data reply (`--settle-ms`, default 300) "
		"more replies came or the server closed: it ended the data there and read the rest as "
		"commands. The message names the sequence and says whether the smuggled command got a "
		"2xx (exploitable) or the data only ended early. A 421 and a close are not a finding "
		"(RFC 5321 3.8)",
		RULE_MSG_SMUGGLING_EARLY_END },
	[RULE_LINES_BARE_LF_TERMINATOR] = {
		RULE_LINES_BARE_LF_TERMINATOR, "lines.bare-lf-terminator", RULE_CAT_SESSION,
		"RFC 5321 2.3.8", "RFC 5321 2.3.8, 4.2", NULL,
		LINE_TERMINATOR, LEVEL_MUST, SEV_ERROR,
		"a command line holding a bare LF (`NOOP<LF>XSENTINEL<CRLF>`) got more than one reply "
		"within the settle wait: the server ended the command at the LF. The extra replies are "
		"named on that line's step, never read as the reply to the next command",
		RULE_MSG_LINES_BARE_TERMINATOR },
	[RULE_LINES_BARE_CR_TERMINATOR] = {
		RULE_LINES_BARE_CR_TERMINATOR, "lines.bare-cr-terminator", RULE_CAT_SESSION,
		"RFC 5321 2.3.8", "RFC 5321 2.3.8, 4.2", NULL,
		LINE_TERMINATOR, LEVEL_MUST, SEV_ERROR,
		"the same for a bare CR (`NOOP<CR>XSENTINEL<CRLF>`)",
		RULE_MSG_LINES_BARE_TERMINATOR },
	[RULE_SMTPUTF8_NON_ASCII_REPLY] = {
		RULE_SMTPUTF8_NON_ASCII_REPLY, "smtputf8.non-ascii-reply", RULE_CAT_EXTENSION,
		"RFC 6531 3.7.4.2", NULL, NULL,
		"SMTPUTF8-aware SMTP servers MUST NOT include non-ASCII characters in replies except "
		"in the limited cases specifically permitted in this section.",
		LEVEL_MUST, SEV_ERROR,
		"a server whose EHLO reply listed SMTPUTF8 put an octet above 127 in a reply's text "
		"(instead of `syntax.8bit-text`, which cites RFC 5321 4.2); replies to VRFY or EXPN "
		"with the SMTPUTF8 parameter and 251/551 to RCPT after a MAIL with SMTPUTF8 may "
		"(RFC 6531 3.7.4.1, 3.7.4.2)",
		RULE_MSG_SMTPUTF8_NON_ASCII_REPLY },
	[RULE_SMTPUTF8_VRFY_PARAMETER] = {
		RULE_SMTPUTF8_VRFY_PARAMETER, "smtputf8.vrfy-parameter", RULE_CAT_EXTENSION,
		"RFC 6531 3.1", "RFC 6531 3.1, 3.7.4.2", NULL,
		"If an SMTP server includes SMTPUTF8 in its EHLO response, it MUST be fully compliant "
		"with this version of this specification. [...] One OPTIONAL parameter, SMTPUTF8, is "
		"added to the VERIFY (VRFY) and EXPAND (EXPN) commands.",
		LEVEL_MUST, SEV_ERROR,
		"a VRFY or EXPN with the SMTPUTF8 parameter (`VRFY postmaster SMTPUTF8`, the 3.7.4.2 "
		"syntax) got 501 or 555 from a server whose EHLO reply listed SMTPUTF8: the parameter "
		"was refused as a syntax error. 500 to VRFY is `command.minimum`; 500 or 502 to EXPN "
		"(not implemented) and 252, 550 or 553 (policy) are no finding",
		RULE_MSG_MODEL },
	[RULE_AUTH_ADVERTISED_538] = {
		RULE_AUTH_ADVERTISED_538, "auth.advertised-538", RULE_CAT_EXTENSION, "RFC 4954 6",
		NULL, NULL,
		"Note that this response code is documented here for historical purposes only. "
		"Modern implementations SHOULD NOT advertise mechanisms that are not permitted due to "
		"lack of encryption, unless an encryption layer of sufficient strength is currently "
		"being employed.",
		LEVEL_SHOULD, SEV_WARN,
		"AUTH with a mechanism the last EHLO reply listed got 538 (\"Encryption required for "
		"requested authentication mechanism\"): the server offered a mechanism it does not "
		"permit on this connection. 500 or 502 to it is `ehlo.advertised-refused` (MUST)",
		RULE_MSG_MODEL },
	[RULE_ARGUMENT_NOT_TAKEN] = {
		RULE_ARGUMENT_NOT_TAKEN, "argument.not-taken", RULE_CAT_SESSION, "RFC 5321 4.1.1",
		"RFC 5321 4.1.1, 4.3.2; RFC 3207 4", NULL,
		"Several commands (RSET, DATA, QUIT) are specified as not permitting parameters. In "
		"the absence of specific extensions offered by the server and accepted by the client, "
		"clients MUST NOT send such parameters and servers SHOULD reject commands containing "
		"them as having invalid syntax.",
		LEVEL_SHOULD, SEV_WARN,
		"DATA, RSET, QUIT or STARTTLS with an argument (`RSET x`) was carried out (2xx, 3xx) "
		"or refused with 500 instead of 501 (4.3.2: such commands \"SHOULD return a 501 "
		"message if arguments are supplied\"; RFC 3207 4 lists \"501 Syntax error (no "
		"parameters allowed)\" for STARTTLS). DATA out of sequence is `sequence.accepted`",
		RULE_MSG_MODEL },
};
/* clang-format on */

const struct rule *rule_get(enum rule_id id)
{
	if ((int)id < 0 || id >= RULE_COUNT)
		return NULL;
	return &rules[id];
}

const struct rule *rule_by_id(const char *id)
{
	if (!id)
		return NULL;
	for (int i = 0; i < RULE_COUNT; i++)
		if (strcmp(rules[i].id, id) == 0)
			return &rules[i];
	return NULL;
}

const char *rule_habit_tag(enum rule_id id)
{
	switch (id) {
	case RULE_ENHANCED_MISSING:
	case RULE_ENHANCED_CLASS: return "enhancedstatuscodes";
	default: return NULL;
	}
}

const char *rule_level_name(enum rule_level level)
{
	switch (level) {
	case LEVEL_MUST: return "MUST";
	case LEVEL_SHOULD: return "SHOULD";
	case LEVEL_MAY: return "MAY";
	case LEVEL_SCENARIO: return "scenario";
	}
	return "?";
}

/* docs/rules.md around the table: kept here so the file has one source. */
static const char rules_md_head[] =
    "<!-- Generated by `smtpconform rules --markdown` from harness/rules.c; "
    "`make rules-doc` rewrites it. -->\n"
    "# Rule ids\n"
    "\n"
    "Every violation in every report names one of these ids. They are stable:\n"
    "tools and baselines may match on them. A step fails when it has a violation\n"
    "of severity `error` (or `warn` with `--strict`); the first failed step ends\n"
    "its scenario.\n"
    "\n"
    "`level` is the key word of the RFC sentence the rule enforces (quoted below\n"
    "the table): `MUST`, `SHOULD` or `MAY` as RFC 2119 writes them (RFC 1870, RFC\n"
    "2034 and RFC 5321 4.2.1 write a lower-case \"must\", counted as `MUST`); a rule that\n"
    "enforces a grammar (ABNF) production counts as `MUST`; `scenario` rules take\n"
    "their strength from the scenario's `level:` header. Severity is separate: a\n"
    "SHOULD rule may still fail a step (see `sequence.after-554`). A session-wide\n"
    "habit (`error (note)`) fails only the scenarios that test it; elsewhere its\n"
    "violations have severity `note`: listed with the findings, failing nothing.\n"
    "\n";

static const char rules_md_foot[] =
    "\n"
    "A reply given up on (`timeout`, `connection.closed`, `connection.reset`)\n"
    "also gets the `syntax.*` violations of what did arrive: the flags of its\n"
    "whole lines, and `syntax.bare-cr` for a CR that nothing followed (a server\n"
    "ending its lines with CR alone never completes a reply; this says why).\n"
    "\n"
    "A scenario whose connection could not be made (refused, DNS, connect\n"
    "timeout) has the verdict `error` with the reason, not a rule: the server\n"
    "did not violate anything, the harness could not test it. A scenario whose\n"
    "`requires:` keywords the server does not advertise is `skip`.\n"
    "\n"
    "The commands the matrix knows, besides verbs: `CONNECT` (the greeting),\n"
    "`DATA-END` (the reply after `<CRLF>.<CRLF>`), `UNKNOWN` (a verb the profile\n"
    "does not define). See docs/matrix.md and `smtpconform matrix`.\n";

void rules_print_markdown(FILE *out)
{
	fputs(rules_md_head, out);
	fputs("| rule | level | severity | what it means | reference |\n", out);
	fputs("|---|---|---|---|---|\n", out);
	for (int i = 0; i < RULE_COUNT; i++) {
		const struct rule *r = &rules[i];
		fprintf(out, "| `%s` | %s | %s | %s | %s |\n", r->id, rule_level_name(r->level),
		        rule_habit_tag(r->rule)   ? "error (note)"
		        : r->severity == SEV_WARN ? "warn"
		                                  : "error",
		        r->description, r->doc_ref ? r->doc_ref : r->ref);
	}
	fputs(rules_md_foot, out);
	fputs("\n## The sentences\n\n"
	      "What each rule enforces, quoted from the RFC (whitespace folded).\n\n",
	      out);
	for (int i = 0; i < RULE_COUNT; i++) {
		const struct rule *r = &rules[i];
		if (!r->sentence)
			continue;
		fprintf(out, "- `%s` (%s, %s): \"%s\"\n", r->id, r->source ? r->source : r->ref,
		        rule_level_name(r->level), r->sentence);
	}
}
