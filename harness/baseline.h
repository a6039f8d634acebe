/*
 * baseline.h - known deviations: waivers from a waiver file or from a
 * previous JSON report (--baseline FILE). A failing scenario a waiver covers
 * is reported as waived, not as a failure; a waiver that matches nothing is
 * reported as stale, one past its expiry date as expired (it waives nothing).
 * The file format is in docs/baselines.md.
 */
#ifndef SMTPCONFORM_BASELINE_H
#define SMTPCONFORM_BASELINE_H

#include <stddef.h>

#include "result.h"

enum waiver_kind { WAIVE_SCENARIO, WAIVE_RULE };

struct waiver {
	enum waiver_kind kind;
	char *target; /* scenario id, or rule id */
	char *reason;
	char *until; /* "YYYY-MM-DD", a real calendar day, or NULL: last day it applies */
	int line;    /* in the waiver file, 0 for a JSON baseline */
	int used;
};

struct baseline {
	char *path;
	struct waiver *waivers;
	size_t n;
};

/* Loads a waiver file or a JSON report. 0, or -1 with "path:line: message". */
int baseline_load(const char *path, struct baseline *out, char *err, size_t errlen);
/* The same from text[0..len) already read (NUL-terminated at len; the waiver
 * lines are cut in place). path is the name messages and waivers give. */
int baseline_parse(const char *path, char *text, size_t len, struct baseline *out, char *err,
                   size_t errlen);

/*
 * Marks the run's failing scenarios that a waiver covers (a scenario waiver
 * by id; rule waivers when every error-severity rule of the scenario is
 * waived), records stale and expired waivers in run, and re-summarizes.
 * today: "YYYY-MM-DD".
 */
void baseline_apply(struct baseline *b, struct run_result *run, const char *today);
void baseline_free(struct baseline *b);

#endif
