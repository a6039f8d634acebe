/*
 * report_live.h - the text report as the run goes: its head once the probe
 * is done, one line per scenario as it ends, a progress line on a terminal,
 * and at the end the findings, the failures again and the summary.
 *
 * Owns where and how the streamed report is printed (the stream, colour,
 * the progress line's width and clearing it before any other output). The
 * wording is report_text.c's; does not decide whether the report is
 * wanted (main.c does) and runs nothing.
 */
#ifndef SMTPCONFORM_REPORT_LIVE_H
#define SMTPCONFORM_REPORT_LIVE_H

#include <stddef.h>
#include <stdio.h>

#include "result.h"

struct report_live {
	FILE *out;       /* the streamed text report, or NULL: none */
	int color;       /* ANSI colours on its labels */
	int progress;    /* a progress line on standard error (a terminal) */
	int progress_on; /* it is on screen now: cleared before anything else prints */
	int head_done;   /* the head was printed */
	int failed;      /* a write to out failed */
};

/* What --color=WHEN means for a stream on descriptor fd: "always", "never",
 * or "auto" (a terminal, and NO_COLOR unset or empty; https://no-color.org).
 * -1 for an unknown WHEN. */
int report_live_color(const char *when, int fd);

void report_live_init(struct report_live *l, FILE *out, int color, int progress);
/* The head: tool, target, profile, greeting (after the probe). */
void report_live_head(struct report_live *l, const struct run_result *run);
/* A scenario ended: done of total have, failed of them failed. Matches
 * engine_options.on_result (arg is the struct report_live). */
void report_live_scenario(void *arg, const struct scenario_result *sr, size_t done, size_t total,
                          size_t failed);
/* Clears the progress line and prints the tail (the head too when it was
 * not printed). 0, or -1 with errno when the stream could not be written. */
int report_live_end(struct report_live *l, const struct run_result *run);

#endif
