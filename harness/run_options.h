/*
 * run_options.h - the options of `smtpconform run`: one table for the command
 * line and for target profiles (targets/NAME.conf), like curl's aliases[].
 *
 * Owns each option's spelling (long name, short letter), whether it takes an
 * argument, whether a target profile may set it (under its long name), its
 * --help text, and the one check and effect of a value (run_option_apply),
 * whichever source the value came from. Does not read argv (main.c) or parse
 * the profile's syntax (config.c), and runs nothing.
 */
#ifndef SMTPCONFORM_RUN_OPTIONS_H
#define SMTPCONFORM_RUN_OPTIONS_H

#include <getopt.h>
#include <stddef.h>
#include <stdio.h>

#include "config.h"
#include "report.h"
#include "select.h"
#include "session.h"
#include "tls.h"
#include "vars.h"

enum run_option_id {
	RUN_OPT_CONFIG,
	RUN_OPT_TARGET,
	RUN_OPT_VAR,
	RUN_OPT_PROFILE,
	RUN_OPT_TIMEOUT,
	RUN_OPT_SCENARIO_TIMEOUT,
	RUN_OPT_SETTLE_MS,
	RUN_OPT_PROBE_TIMEOUT,
	RUN_OPT_STRICT,
	RUN_OPT_JOBS,
	RUN_OPT_BASELINE,
	RUN_OPT_SHARD,
	RUN_OPT_RERUN_FAILED,
	RUN_OPT_TAG,
	RUN_OPT_LEVEL,
	RUN_OPT_ID,
	RUN_OPT_RFC,
	RUN_OPT_REQUIRES,
	RUN_OPT_SCENARIOS_DIR,
	RUN_OPT_REPORT,
	RUN_OPT_TLS,
	RUN_OPT_TLS_VERIFY,
	RUN_OPT_CA_FILE,
	RUN_OPT_TLS_MIN_VERSION,
	RUN_OPT_SNI,
	RUN_OPT_AUTH_USER,
	RUN_OPT_AUTH_PASSWORD_ENV,
	RUN_OPT_AUTH_PASSWORD_FILE,
	RUN_OPT_VERBOSE,
	RUN_OPT_QUIET,
	RUN_OPT_COLOR,
	RUN_OPT_HELP,
};

/* Where a row applies, besides `run`'s command line. */
enum run_option_flags {
	RUN_OPT_IN_PROFILE = 1, /* a target profile may set it, under its long name */
	RUN_OPT_SELECTS = 2,    /* a selection option: `list` takes it too */
};

struct run_option {
	enum run_option_id id;
	const char *name; /* long name: --name, and the profile key */
	char short_name;  /* -x, or 0 */
	const char *arg;  /* the argument as --help names it; NULL: takes none */
	unsigned flags;   /* enum run_option_flags */
	const char *help; /* --help text; a '\n' starts an indented line; NULL: not shown */
};

/* The rows, in --help order; the last has name NULL. */
extern const struct run_option run_options[];

#include "credentials.h" /* struct auth_args: where the AUTH password comes from */

/* Everything the options of a run set. Strings point into argv or into the
 * target profile, which lives as long as this. */
struct run_options {
	const char *target_arg;
	struct engine_options engine; /* profile, timeout_s, strict, jobs, verbose */
	int quiet;                    /* -q: no text report on stdout, no progress line */
	const char *color;            /* --color: "auto" (default), "always" or "never" */
	struct vars vars;
	struct report_spec *specs;
	size_t nspecs;
	size_t profile_specs; /* specs[0..profile_specs) came from the profile:
	                                 a --report on the command line replaces them */
	struct tls_options tls;
	const char *tls_mode; /* "none" or "implicit" */
	struct auth_args auth;
	int shard_k, shard_n; /* --shard K/N; 0/0: everything */
	const char *baseline_path;
	const char *rerun_json;
	struct select_filter filter;
	const char *dir_opt;   /* --scenarios-dir */
	struct config profile; /* the target profile (-c), or empty */
};

enum run_option_source {
	RUN_OPT_FROM_ARGV,
	RUN_OPT_FROM_PROFILE,
};

/* The target when neither -t nor a profile names one. */
#define RUN_DEFAULT_TARGET "localhost:25"

/* Defaults: RUN_DEFAULT_TARGET, MATRIX_DEFAULT_PROFILE, 1 job, TLS verify on. */
void run_options_init(struct run_options *ro);
void run_options_free(struct run_options *ro);

/* The row of a long name, or NULL. */
const struct run_option *run_option_named(const char *name);
/* The row getopt_long returned val for (see run_options_getopt), or NULL. */
const struct run_option *run_option_of_val(int val);

/*
 * Checks value and records it in ro: the one place each option's meaning
 * lives. label names the value in messages: "--tls", "-j", or
 * "targets/x.conf:3: tls". Returns 0, or -1 with "LABEL VALUE: why" in err.
 * RUN_OPT_CONFIG and RUN_OPT_HELP are the caller's (they do nothing here).
 */
int run_option_apply(struct run_options *ro, const struct run_option *row, const char *value,
                     const char *label, enum run_option_source src, char *err, size_t errlen);

/* The keys a target profile may hold, NULL-terminated, "var.NAME" last. */
const char *const *run_options_profile_keys(void);

/*
 * Loads the target profile at path and applies each of its settings, in
 * order. 0, or -1 with "path:line: message" in err.
 */
int run_options_load_profile(struct run_options *ro, const char *path, char *err, size_t errlen);

/*
 * getopt_long's tables for the rows whose flags include need (0: every row),
 * then the nextra extra rows: *longopts_out is malloc'd (free it), shortopts
 * a caller-sized buffer. Table rows get val 256 + their index.
 */
void run_options_getopt(unsigned need, const struct option *extra, size_t nextra,
                        struct option **longopts_out, char *shortopts, size_t shortlen);

/* The --help lines of the rows whose flags include need (0: every row). */
void run_options_usage(FILE *out, unsigned need);

#endif
