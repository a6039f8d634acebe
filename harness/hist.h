/*
 * hist.h - a latency histogram in HdrHistogram's log-linear design.
 *
 * Owns recording values (microseconds), percentiles, merging two
 * histograms, and the sparse form a JSON report keeps. Memory is fixed
 * (HIST_COUNTS counters, whatever is recorded); every value is kept to
 * within 1/HIST_SUB_HALF of itself (under 1%), min and max exactly. Two
 * histograms merge by adding counters: the merge is the histogram of the
 * union. Does not know what is timed (load.c) or how it is printed.
 */
#ifndef SMTPCONFORM_HIST_H
#define SMTPCONFORM_HIST_H

#include <stddef.h>
#include <stdint.h>

#include "smtp_limits.h"

#define HIST_SUB_HALF (1 << (HIST_SUB_BITS - 1))
/* Buckets from 2^HIST_SUB_BITS up to 2^HIST_MAX_BITS, plus the linear one. */
#define HIST_COUNTS ((HIST_MAX_BITS - HIST_SUB_BITS + 2) * HIST_SUB_HALF)
/* The largest value kept as itself; larger ones count in the last bucket
 * (max still says what they were). */
#define HIST_VALUE_MAX ((INT64_C(1) << HIST_MAX_BITS) - 1)

struct hist {
	uint64_t count;   /* values recorded */
	int64_t min, max; /* exact; 0 when count is 0 */
	uint64_t counts[HIST_COUNTS];
};

void hist_init(struct hist *h);
/* Records one value; a negative one counts as 0. */
void hist_record(struct hist *h, int64_t value);
/* Adds every value of from into into. */
void hist_merge(struct hist *into, const struct hist *from);
/*
 * The value at percentile p (0 < p <= 100) as HdrHistogram reports it: the
 * highest value equivalent to the nearest-rank sample, clamped to [min,
 * max]. 0 for an empty histogram.
 */
int64_t hist_percentile(const struct hist *h, double p);

/* The counter a value goes into, and back: the lowest and highest value
 * that counter holds (what the JSON form and tests need). */
size_t hist_index(int64_t value);
int64_t hist_lowest(size_t index);
int64_t hist_highest(size_t index);

#endif
