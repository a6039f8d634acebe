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
 * Copies the reply into st (code, enhanced status code, syntax flags,
 * escaped lines) and adds every violation:
 * each syntax flag, matrix.not-allowed / matrix.nonstandard for command under
 * profile, expect.code and expect.text for e (NULL: no expectation).
 * Sets st->verdict with step_verdict(st, strict).
 */
void check_reply(const char *profile, const char *command, const struct reply *r,
                 const struct expect *e, int strict, struct step_result *st);

/* One syntax violation per enum reply_flag bit set in flags (the flags of
 * a reply, or of what arrived of one given up on); the bits are kept in
 * st->reply_flags too. */
void check_syntax_flags(unsigned flags, struct step_result *st);

/* The reply's text lines (after code and separator), escaped, joined by '\n':
 * what an expectation's "~ /regex/" is matched against. Caller frees. */
char *check_reply_text(const struct reply *r);

/*
 * RFC 2034 (ENHANCEDSTATUSCODES), once the EHLO reply listed it: every line
 * of a 2xx, 4xx or 5xx reply starts with class.subject.detail SP (RFC 3463
 * 2: class 2, 4 or 5, subject and detail of 1-3 digits), the same on every
 * line, and the class equals the reply's first digit. Rule ids
 * enhancedstatuscodes.missing and enhancedstatuscodes.class.
 */
void check_enhanced_status(const struct reply *r, int strict, struct step_result *st);

/*
 * RFC 5321 4.1.1.1: the lines after the first of a 250 EHLO reply are
 * ehlo-keyword *(SP ehlo-param), keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT
 * / "-"), param = 1*(%d33-126). Rule id ehlo.keyword-syntax.
 */
void check_ehlo_keywords(const struct reply *r, int strict, struct step_result *st);

/* 1 when a 250 EHLO reply lists keyword (case-insensitive). */
int check_ehlo_lists(const struct reply *r, const char *keyword);

#endif
