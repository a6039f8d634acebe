/*
 * select.h - choosing scenarios: the filters of `list` and `run` (--tag,
 * --level, --id GLOB, --rfc, --requires, --rerun-failed), the catalogue
 * `list` prints, and `--shard auto` from the CI's environment.
 *
 * Owns the filter set and its matching rules. Does not load scenarios,
 * parse the command line or run anything.
 */
#ifndef SMTPCONFORM_SELECT_H
#define SMTPCONFORM_SELECT_H

#include <stddef.h>
#include <stdio.h>

#include "scenario.h"

enum select_key {
	SELECT_TAG,      /* a tag the scenario carries (exact, case-insensitive) */
	SELECT_LEVEL,    /* MUST, SHOULD, MAY (case-insensitive) */
	SELECT_ID,       /* an fnmatch(3) glob over the id: "smuggling.*" */
	SELECT_RFC,      /* an RFC number the ref cites: "5321", "RFC 5321", "rfc5321" */
	SELECT_REQUIRES, /* an EHLO keyword the scenario requires: "AUTH" also matches AUTH=PLAIN */
	SELECT_KEYS,
};

/*
 * Values of one key are alternatives (OR); different keys must all match
 * (AND). An empty filter matches everything.
 */
struct select_filter {
	char **values[SELECT_KEYS];
	size_t nvalues[SELECT_KEYS];
	int has_only; /* --rerun-failed given: only the ids in only[] */
	char **only;
	size_t nonly;
};

void select_add(struct select_filter *f, enum select_key key, const char *value);
/* 1 when the filter restricts anything. */
int select_active(const struct select_filter *f);
/* 1 when sc passes the filter. */
int select_matches(const struct select_filter *f, const struct scenario *sc);
/*
 * Adds the ids that failed (verdict fail or error, not waived) in a saved
 * JSON report to the filter's only[] set. Returns the number of such ids,
 * or -1 with a message in err.
 */
int select_load_failed(struct select_filter *f, const char *run_json, char *err, size_t errlen);
/* Keeps the scenarios the filter selects (in order), frees the others; returns how many. */
size_t select_apply(const struct select_filter *f, struct scenario **scs, size_t n);
void select_free(struct select_filter *f);

enum catalogue_format {
	CATALOGUE_TEXT, /* an aligned table: id, level, ref, tags, title */
	CATALOGUE_JSON, /* an array of {id, file, level, ref, tags, requires, title} */
	CATALOGUE_IDS,  /* one id a line (shell completion, scripts) */
	CATALOGUE_TAGS, /* every tag once, sorted, one a line */
};
/* "text", "json", "ids", "tags" -> 0 and *out; -1 when unknown. */
int select_catalogue_format(const char *name, enum catalogue_format *out);
/* The catalogue of the scenarios, in their order. */
void select_print_catalogue(FILE *out, struct scenario *const *scs, size_t n,
                            enum catalogue_format format);

/*
 * --shard auto: the node index and total of the CI, from the environment:
 * SMTPCONFORM_SHARD_INDEX and _TOTAL (1-based), GitLab's
 * CI_NODE_INDEX and CI_NODE_TOTAL (1-based), or a Kubernetes indexed Job's
 * JOB_COMPLETION_INDEX (0-based) with JOB_COMPLETIONS (the total, set by the
 * Job spec). Sets *k_out and *n_out to 1-based K of N; 1/1 when no CI variable is
 * set. Returns 0, or -1 with a message naming the variable in err.
 */
int select_shard_from_env(int *k_out, int *n_out, char *err, size_t errlen);

#endif
