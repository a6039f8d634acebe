/*
 * diff.h - comparing runs, merging shards, choosing a scenario's shard.
 * Pure functions over the result model (result.h).
 */
#ifndef SMTPCONFORM_DIFF_H
#define SMTPCONFORM_DIFF_H

#include <stddef.h>
#include <stdint.h>

#include "result.h"
#include "util.h"

/*
 * Writes what started failing, what got fixed, what changed verdict or
 * reply code, what the new run could not test (now inconclusive), and
 * scenarios added or removed, as text or Markdown.
 * Returns 1 when something regressed (a scenario that did not fail now
 * fails or errors, or a new scenario fails), else 4 when a scenario that
 * was tested is now inconclusive (a failure may hide there: it is not
 * "fixed"), else 0.
 */
int diff_runs(const struct run_result *old, const struct run_result *new_run, int markdown,
              struct buf *out);

/*
 * Joins shard results of one run into out, taking ownership of what the
 * shards hold (they are left empty). -1 with a message when the shards do
 * not belong together (target, profile) or share a scenario id.
 */
int merge_runs(struct run_result *runs, size_t n, struct run_result *out, char *err, size_t errlen);

/* The shard (0..nshards-1) a scenario id belongs to: stable across suite changes. */
unsigned shard_of(const char *id, unsigned nshards);

#endif
