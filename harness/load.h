/*
 * load.h - `smtpconform load`: the scenarios round-robin as many sessions,
 * every reply judged as `run` judges it, the results folded into
 * aggregates as they end (docs/load.md).
 *
 * Owns struct load_stats (what a load run measured: counts, per-command
 * latency histograms, findings by rule with a few example transcripts,
 * connection errors by errno), its reports (text, Markdown, JSON), reading
 * that JSON back and merging several (`merge`). The sessions themselves
 * are session.c's; judging is check.c's and model.c's.
 */
#ifndef SMTPCONFORM_LOAD_H
#define SMTPCONFORM_LOAD_H

#include <stddef.h>
#include <stdint.h>

#include "hist.h"
#include "rules.h"
#include "util.h"

/* A failure kept whole: the first LOAD_EXAMPLES_PER_RULE of each rule. */
struct load_example {
	char *scenario;   /* scenario id */
	char *message;    /* the finding's message */
	char *transcript; /* the session's escaped wire log */
};

struct load_finding {
	char *rule; /* rule id, "timeout", "matrix.not-allowed" */
	enum severity severity;
	char *ref;         /* "RFC 5321 4.2" */
	uint64_t count;    /* violations */
	uint64_t sessions; /* sessions with at least one */
	struct load_example *examples;
	size_t nexamples; /* at most LOAD_EXAMPLES_PER_RULE */
};

/* Latency of the replies to one command (CONNECT: connect to greeting). */
struct load_command {
	char *name;        /* "CONNECT", "EHLO", "DATA-END", "OTHER" */
	struct hist *hist; /* microseconds */
};

/* Sessions that ended without a verdict: connection errors, by errno name. */
struct load_error {
	char *name; /* "ECONNREFUSED", "ETIMEDOUT", "other" */
	uint64_t count;
	char *example; /* the first reason given */
};

struct load_stats {
	char *tool_version;
	char *target;
	char *profile;
	char *started;             /* ISO 8601 UTC */
	int64_t duration_ms;       /* wall time (merged: the longest run) */
	int concurrency;           /* -c (merged: the sum) */
	uint64_t peak_concurrency; /* most sessions open at once (merged: the sum) */
	uint64_t peak_rss_kib;     /* the harness's peak resident memory (VmHWM;
	                              merged: the largest), 0: unknown */
	uint64_t runs;             /* load runs in these figures (merge adds) */
	int interrupted;
	int strict;
	char **scenarios; /* scenario ids run */
	size_t nscenarios;
	uint64_t sessions, pass, fail, error, warn;
	uint64_t messages;     /* end of data answered 2xx */
	double sessions_per_s; /* merged: the sum (runs side by side) */
	double messages_per_s;
	struct hist *session_hist; /* whole session, connect to end */
	struct load_command *commands;
	size_t ncommands;
	struct load_finding *findings;
	size_t nfindings;
	struct load_error *errors;
	size_t nerrors;
};

/* argv[0] is "load". Returns the exit code (0, 1 a finding failed, 2 usage,
 * 3 unreachable or sessions errored, 128+signal). */
int load_main(int argc, char **argv);

void load_stats_init(struct load_stats *st);
void load_stats_free(struct load_stats *st);
/* The histogram of command name, made on first use (LOAD_COMMANDS_MAX
 * names, then "OTHER"). */
struct hist *load_command_hist(struct load_stats *st, const char *name);
/* The finding of rule, made on first use (LOAD_RULES_MAX, then "other"). */
struct load_finding *load_finding_of(struct load_stats *st, const char *rule, enum severity sev,
                                     const char *ref);
/* Counts one session that ended without a verdict, errno name given. */
void load_count_error(struct load_stats *st, const char *name, const char *reason);

void load_render_text(const struct load_stats *st, struct buf *out);
void load_render_md(const struct load_stats *st, struct buf *out);
void load_render_json(const struct load_stats *st, struct buf *out);
struct report_spec;
/* Renders st in spec's format (text, md or json) to its file (atomically)
 * or standard output. 0, or -1 after printing why. */
int load_report_write(const struct load_stats *st, const struct report_spec *spec);
/* The exit code the figures give: 1 a session failed, 3 one errored or the
 * run was cut short (interrupted), else 0. */
int load_exit_code(const struct load_stats *st);

/* 1 when the JSON text is a load report (its "kind"). */
int load_json_is_load(const char *text, size_t len);
/* Reads a load report back. 0, or -1 with "name: reason". */
int load_json_read(const char *name, const char *text, size_t len, struct load_stats *out,
                   char *err, size_t errlen);
/* Adds from into into: counts, histograms, findings (examples up to the
 * limit), errors; rates add up (runs side by side). */
void load_stats_merge(struct load_stats *into, const struct load_stats *from);

/* `merge` with load reports: argv as for merge (files, --report). 1 when
 * argv's first file is a load report (then load_merge_main handles it). */
int load_merge_wanted(int argc, char **argv);
int load_merge_main(int argc, char **argv);

#endif
