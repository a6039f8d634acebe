/*
 * hist.c - the log-linear latency histogram (hist.h): HdrHistogram's
 * bucket layout with a unit of one, HIST_SUB_BITS bits of sub-buckets.
 * Owns the index arithmetic and percentiles; allocates nothing.
 */
#include <string.h>

#include "hist.h"

void hist_init(struct hist *h)
{
	memset(h, 0, sizeof(*h));
}

/* Bucket b holds values [2^(b+SUB_BITS-1), 2^(b+SUB_BITS)) for b >= 1 in
 * steps of 2^b; bucket 0 holds [0, 2^SUB_BITS) in steps of 1. */
size_t hist_index(int64_t value)
{
	if (value < 0)
		value = 0;
	if (value > HIST_VALUE_MAX)
		value = HIST_VALUE_MAX;
	uint64_t v = (uint64_t)value;
	int pow2ceiling = 64 - __builtin_clzll(v | ((1u << HIST_SUB_BITS) - 1));
	int bucket = pow2ceiling - HIST_SUB_BITS;
	size_t sub = (size_t)(v >> bucket);
	return ((size_t)(bucket + 1) << (HIST_SUB_BITS - 1)) + sub - HIST_SUB_HALF;
}

/* Bucket and sub-bucket of a counter. */
static void index_split(size_t index, int *bucket_out, size_t *sub_out)
{
	int bucket = (int)(index >> (HIST_SUB_BITS - 1)) - 1;
	size_t sub = (index & (HIST_SUB_HALF - 1)) + HIST_SUB_HALF;
	if (bucket < 0) {
		sub -= HIST_SUB_HALF;
		bucket = 0;
	}
	*bucket_out = bucket;
	*sub_out = sub;
}

int64_t hist_lowest(size_t index)
{
	int bucket;
	size_t sub;
	index_split(index, &bucket, &sub);
	return (int64_t)sub << bucket;
}

int64_t hist_highest(size_t index)
{
	int bucket;
	size_t sub;
	index_split(index, &bucket, &sub);
	return ((int64_t)(sub + 1) << bucket) - 1;
}

void hist_record(struct hist *h, int64_t value)
{
	if (value < 0)
		value = 0;
	h->counts[hist_index(value)]++;
	if (h->count == 0 || value < h->min)
		h->min = value;
	if (h->count == 0 || value > h->max)
		h->max = value;
	h->count++;
}

void hist_merge(struct hist *into, const struct hist *from)
{
	if (from->count == 0)
		return;
	for (size_t i = 0; i < HIST_COUNTS; i++)
		into->counts[i] += from->counts[i];
	if (into->count == 0 || from->min < into->min)
		into->min = from->min;
	if (into->count == 0 || from->max > into->max)
		into->max = from->max;
	into->count += from->count;
}

int64_t hist_percentile(const struct hist *h, double p)
{
	if (h->count == 0)
		return 0;
	if (p > 100)
		p = 100;
	/* Nearest rank: the smallest sample with at least p% at or below it. */
	double exact = p / 100.0 * (double)h->count;
	uint64_t rank = (uint64_t)exact;
	if ((double)rank < exact)
		rank++;
	if (rank < 1)
		rank = 1;
	uint64_t seen = 0;
	for (size_t i = 0; i < HIST_COUNTS; i++) {
		seen += h->counts[i];
		if (seen >= rank) {
			int64_t v = hist_highest(i);
			if (v > h->max)
				v = h->max;
			if (v < h->min)
				v = h->min;
			return v;
		}
	}
	return h->max;
}
