/*
 * findings.h - one finding per cause: the violations of a run grouped across
 * scenarios, for the reports that list distinct findings first.
 *
 * Owns the grouping key (rule, command, reply code, normalized reply and
 * message text; for expect.* also the expectation, the scenario's level and
 * reference), the finding's level, RFC section and sentence, and its hint.
 * Does not judge anything (check.c, session.c) and does not change a
 * verdict: a finding only points back at the scenarios and steps it came
 * from. All strings are borrowed from the run (or the rule and hint tables);
 * the run must outlive the findings.
 */
#ifndef SMTPCONFORM_FINDINGS_H
#define SMTPCONFORM_FINDINGS_H

#include <stddef.h>

#include "hints.h"
#include "result.h"
#include "util.h"

struct finding {
	const char *rule;         /* rule id, "enhancedstatuscodes.missing" */
	const char *command;      /* command of the step, "" when it has none */
	int code;                 /* reply code of the example, -1: no readable reply */
	const char *level;        /* "MUST", "SHOULD", "MAY" (expect.*: the scenario's) */
	const char *ref;          /* the RFC section (expect.*: the scenario's ref:) */
	const char *sentence;     /* the RFC sentence from the rule table; NULL for expect.* */
	const char *sentence_ref; /* where the sentence is ("RFC 2034 4"), when sentence */
	const char *title;        /* expect.*: the example scenario's title; else NULL */
	enum severity severity;   /* the strongest of its occurrences */
	int failing;              /* it failed a scenario that no waiver covers */
	int waived;               /* it failed only scenarios a waiver covers */
	size_t example;           /* index of the first scenario with it, in the run */
	const struct step_result *step;    /* its step there */
	const struct violation *violation; /* its violation there */
	const struct hint *hint;           /* a known cause, or NULL */
	size_t *scenarios;                 /* indexes into run->scenarios, ascending, each once */
	size_t nscenarios;
};

struct findings {
	struct finding *list; /* failing first, then by level (MUST first), then by
	                         how many scenarios, then by first appearance */
	size_t n;
	size_t nfailing; /* how many of list are failing */
};

/* Groups every violation of every scenario of run. Free with findings_free(). */
void findings_build(const struct run_result *run, struct findings *out);
void findings_free(struct findings *f);
/* 1 when the finding at list index i came (also) from scenario index sc. */
int findings_has_scenario(const struct finding *f, size_t sc);
/* "FAIL" (failed a scenario), "WAIVED" (failed only waived ones), "WARN",
 * or "NOTE" (only notes: a session-wide habit where it is not tested). */
const char *findings_label(const struct finding *f);
/* 0 MUST, 1 SHOULD, 2 MAY, 3 anything else (the order reports sort by). */
int findings_level_rank(const char *level);

/*
 * One violation, explained. findings_level(): the level of the sentence it
 * enforces (expect.* and a rule this version does not know: the scenario's
 * level:, "-" when empty). findings_ref(): its RFC section (expect.*: the
 * scenario's ref:). findings_sentence(): the rule table's sentence, or NULL.
 */
const char *findings_level(const struct scenario_result *sr, const struct violation *v);
const char *findings_ref(const struct scenario_result *sr, const struct violation *v);
const char *findings_sentence(const struct violation *v);

/*
 * The grouping form of a reply or message text: ASCII lower case, addresses
 * (<...>, [...], words with @) as "<addr>"/"[addr]"/"addr", host names as
 * "host", queue ids (letters and digits, 6 or more) as "id", other numbers as
 * "n" (an enhanced status code d.d.d stays), white space folded. Appends to out.
 */
void findings_normalize(const char *text, struct buf *out);

#endif
