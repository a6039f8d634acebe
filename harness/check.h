/*
 * check.h - judging one reply against the three references: the reply
 * syntax (RFC 5321 4.2), the allowed-code matrix for the command, and the
 * scenario's expectation.
 *
 * Pure: fills a step_result from a parsed reply; no I/O. The session engine
 * decides what happens next (a failed step ends the scenario).
 */
#ifndef SMTPCONFORM_CHECK_H
#define SMTPCONFORM_CHECK_H

#include "reply.h"
#include "result.h"
#include "scenario.h"

/*
 * Copies the reply into st (code, escaped lines) and adds every violation:
 * each syntax flag, matrix.not-allowed / matrix.nonstandard for command under
 * profile, expect.code and expect.text for e (NULL: no expectation).
 * Sets st->verdict with step_verdict(st, strict).
 */
void check_reply(const char *profile, const char *command, const struct reply *r,
                 const struct expect *e, int strict, struct step_result *st);

/* The reply's text lines (after code and separator), escaped, joined by '\n':
 * what an expectation's "~ /regex/" is matched against. Caller frees. */
char *check_reply_text(const struct reply *r);

#endif
