/*
 * test_hist.c - unit tests of harness/hist.c (the log-linear latency
 * histogram) and of the load report's JSON round trip (load_report.c):
 * percentiles against a sorted array, every counter's value range, merge
 * equal to the histogram of the union, bounded memory, and a load report
 * read back and merged with itself (counts add, histograms add).
 */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>

#include "hist.h"
#include "load.h"
#include "report.h"

/* Seeded values spread over six decades, log-uniform: what latencies in
 * microseconds look like (5 us .. 5 s), plus a few exact small ones. */
static uint64_t rng_state;
static uint64_t rng(void)
{
	rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
	return rng_state >> 33;
}
static int64_t sample(void)
{
	int decade = (int)(rng() % 7);
	int64_t v = 5;
	for (int i = 0; i < decade; i++)
		v *= 10;
	return v + (int64_t)(rng() % (uint64_t)(v * 9));
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static void test_percentiles_match_sorted_array(void **state)
{
	(void)state;
	static const double pcts[] = { 0.1, 1, 10, 25, 50, 75, 90, 99, 99.9, 99.99, 100 };
	static const size_t sizes[] = { 1, 2, 7, 100, 1000, 20011 };
	for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
		size_t n = sizes[si];
		rng_state = 42 + n;
		int64_t *v = malloc(n * sizeof(*v));
		struct hist *h = malloc(sizeof(*h));
		hist_init(h);
		for (size_t i = 0; i < n; i++) {
			v[i] = sample();
			hist_record(h, v[i]);
		}
		qsort(v, n, sizeof(*v), cmp64);
		assert_int_equal(h->count, n);
		assert_int_equal(h->min, v[0]);
		assert_int_equal(h->max, v[n - 1]);
		for (size_t k = 0; k < sizeof(pcts) / sizeof(pcts[0]); k++) {
			/* Nearest rank: the ceil(p/100 n)-th smallest value. */
			double exact_rank = pcts[k] / 100.0 * (double)n;
			size_t rank = (size_t)exact_rank;
			if ((double)rank < exact_rank)
				rank++;
			if (rank < 1)
				rank = 1;
			int64_t want = v[rank - 1];
			int64_t got = hist_percentile(h, pcts[k]);
			/* The counter's highest value, never below the sample and
			 * within 1/128 of it. */
			assert_in_range(got, want, want + want / 128 + 1);
		}
		free(v);
		free(h);
	}
}

static void test_counter_ranges(void **state)
{
	(void)state;
	rng_state = 7;
	for (int i = 0; i < 100000; i++) {
		int64_t v = i < 1000 ? i : sample();
		size_t idx = hist_index(v);
		assert_true(idx < HIST_COUNTS);
		assert_in_range(v, hist_lowest(idx), hist_highest(idx));
		int64_t width = hist_highest(idx) - hist_lowest(idx) + 1;
		assert_true(width == 1 || width <= hist_lowest(idx) / 127);
	}
	/* Counters are contiguous: each starts right after the one before. */
	for (size_t i = 1; i < HIST_COUNTS; i++)
		assert_int_equal(hist_lowest(i), hist_highest(i - 1) + 1);
}

static void test_merge_is_histogram_of_union(void **state)
{
	(void)state;
	struct hist *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b)), *all = malloc(sizeof(*all));
	hist_init(a);
	hist_init(b);
	hist_init(all);
	rng_state = 99;
	for (int i = 0; i < 5000; i++) {
		int64_t v = sample();
		hist_record(i % 3 ? a : b, v);
		hist_record(all, v);
	}
	hist_merge(a, b);
	assert_int_equal(a->count, all->count);
	assert_int_equal(a->min, all->min);
	assert_int_equal(a->max, all->max);
	assert_memory_equal(a->counts, all->counts, sizeof(all->counts));
	/* Merging an empty histogram changes nothing; into an empty one copies. */
	struct hist *empty = malloc(sizeof(*empty));
	hist_init(empty);
	hist_merge(a, empty);
	assert_memory_equal(a, all, sizeof(*all));
	hist_merge(empty, all);
	assert_memory_equal(empty, all, sizeof(*all));
	free(a);
	free(b);
	free(all);
	free(empty);
}

static void test_bounded_memory(void **state)
{
	(void)state;
	/* Fixed size whatever is recorded: no allocation, no growth. */
	assert_true(sizeof(struct hist) <= 32 * 1024);
	struct hist *h = malloc(sizeof(*h));
	hist_init(h);
	assert_int_equal(hist_percentile(h, 99), 0);
	hist_record(h, -5);
	hist_record(h, INT64_MAX);
	hist_record(h, HIST_VALUE_MAX + 1);
	for (int i = 0; i < 1000000; i++)
		hist_record(h, i);
	assert_int_equal(hist_index(INT64_MAX), HIST_COUNTS - 1);
	assert_int_equal(hist_index(-1), 0);
	assert_int_equal(h->min, 0);
	assert_int_equal(h->max, INT64_MAX);
	assert_int_equal(hist_percentile(h, 100), HIST_VALUE_MAX); /* clamped to the last counter */
	free(h);
}

/* A load report read back equals what was written; merged with itself,
 * every count doubles. */
static void test_load_json_round_trip_and_merge(void **state)
{
	(void)state;
	struct load_stats st;
	load_stats_init(&st);
	st.target = xstrdup("127.0.0.1:25");
	st.tool_version = xstrdup("1");
	st.profile = xstrdup("rfc5321");
	st.started = xstrdup("2026-12-03T00:00:00Z");
	st.runs = 1;
	st.concurrency = 4;
	st.peak_concurrency = 4;
	st.sessions = 10;
	st.pass = 7;
	st.fail = 2;
	st.error = 1;
	st.messages = 9;
	st.sessions_per_s = 100;
	for (int i = 1; i <= 10; i++) {
		hist_record(load_command_hist(&st, "RCPT"), i * 100);
		hist_record(load_command_hist(&st, "CONNECT"), i * 10);
		hist_record(st.session_hist, i * 1000);
	}
	struct load_finding *f =
	    load_finding_of(&st, "syntax.bare-lf", SEV_ERROR, "RFC 5321 2.3.8");
	f->count = 3;
	f->sessions = 2;
	f->examples[0].scenario = xstrdup("a.b");
	f->examples[0].message = xstrdup("bare LF");
	f->examples[0].transcript = xstrdup("S: 220\n");
	f->nexamples = 1;
	load_count_error(&st, "ECONNREFUSED", "refused");
	/* CONNECT sorts before RCPT whatever the order of first use. */
	assert_string_equal(st.commands[0].name, "CONNECT");

	struct buf json = { 0 };
	load_render_json(&st, &json);
	assert_true(load_json_is_load(json.data, json.len));
	struct load_stats back;
	char err[256];
	assert_int_equal(load_json_read("t.json", json.data, json.len, &back, err, sizeof(err)), 0);
	assert_int_equal(back.sessions, 10);
	assert_int_equal(back.fail, 2);
	assert_int_equal(back.ncommands, 2);
	assert_memory_equal(back.commands[1].hist, st.commands[1].hist, sizeof(struct hist));
	assert_memory_equal(back.session_hist, st.session_hist, sizeof(struct hist));
	assert_int_equal(load_exit_code(&back), 1);

	struct load_stats merged;
	load_stats_init(&merged);
	load_stats_merge(&merged, &back);
	load_stats_merge(&merged, &st);
	assert_int_equal(merged.runs, 2);
	assert_int_equal(merged.sessions, 20);
	assert_int_equal(merged.messages, 18);
	assert_int_equal(merged.findings[0].count, 6);
	assert_int_equal(merged.findings[0].nexamples, 2);
	assert_int_equal(merged.errors[0].count, 2);
	assert_int_equal(merged.commands[1].hist->count, 20);
	assert_int_equal(hist_percentile(merged.commands[1].hist, 50),
	                 hist_percentile(st.commands[1].hist, 50));

	/* A report of another kind, or a histogram of another layout, is
	 * refused (and the failed read frees what it had read). */
	load_stats_free(&back);
	const char *run_json = "{\"tool\": {}, \"scenarios\": []}";
	assert_false(load_json_is_load(run_json, strlen(run_json)));
	char *other = strstr(json.data, "\"sub_bucket_bits\": 8");
	assert_non_null(other);
	other[strlen("\"sub_bucket_bits\": ")] = '7';
	assert_int_equal(load_json_read("t.json", json.data, json.len, &back, err, sizeof(err)),
	                 -1);
	assert_non_null(strstr(err, "layout"));

	buf_free(&json);
	load_stats_free(&merged);
	load_stats_free(&st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_percentiles_match_sorted_array),
		cmocka_unit_test(test_counter_ranges),
		cmocka_unit_test(test_merge_is_histogram_of_union),
		cmocka_unit_test(test_bounded_memory),
		cmocka_unit_test(test_load_json_round_trip_and_merge),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
