/*
 * fuzz_json.c - libFuzzer harness for everything that reads a JSON report
 * back: report_load_json_text() (report --from, merge, diff, --baseline),
 * then every renderer, diff_runs(), merge_runs() and baseline_parse() /
 * baseline_apply() over what loaded. The same bytes also go to the waiver
 * file parser. Invariants: a refused input's message names the file; a
 * loaded run renders in all six formats; its JSON loads again and renders
 * to the same bytes (a fixpoint); a run compared with itself has nothing
 * regressed. A broken invariant calls __builtin_trap().
 * Build and run: `make fuzz` (tests/fuzz/README.md); seeds in corpus/json/.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "baseline.h"
#include "diff.h"
#include "report.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NAME "fuzz.json"

#define CHECK(cond)                       \
	do {                              \
		if (!(cond))              \
			__builtin_trap(); \
	} while (0)

static void render_all(const struct run_result *run)
{
	static void (*const render[])(const struct run_result *, struct buf *) = {
		report_render_text, report_render_json, report_render_junit,
		report_render_tap,  report_render_html, report_render_md,
	};
	for (size_t i = 0; i < sizeof(render) / sizeof(render[0]); i++) {
		struct buf out = { 0 };
		render[i](run, &out);
		CHECK(out.len > 0 && strlen(out.data) == out.len); /* text, no NUL */
		buf_free(&out);
	}
}

/* The JSON of a loaded run loads again and renders to the same bytes. */
static void check_fixpoint(const struct run_result *run)
{
	struct buf first = { 0 }, second = { 0 };
	struct run_result again;
	char err[1024];
	report_render_json(run, &first);
	CHECK(report_load_json_text(NAME, first.data, first.len, &again, err, sizeof(err)) == 0);
	report_render_json(&again, &second);
	CHECK(first.len == second.len && memcmp(first.data, second.data, first.len) == 0);
	run_result_free(&again);
	buf_free(&first);
	buf_free(&second);
}

/* Waivers from the same bytes, applied to the run when one loaded. */
static void check_baseline(const uint8_t *data, size_t size, struct run_result *run)
{
	char *text = xmalloc(size + 1);
	char err[1024];
	struct baseline b;
	memcpy(text, data, size);
	text[size] = '\0';
	if (baseline_parse(NAME, text, size, &b, err, sizeof(err)) == 0) {
		if (run) {
			baseline_apply(&b, run, "2026-01-01");
			render_all(run);
		}
		baseline_free(&b);
	} else {
		CHECK(strncmp(err, NAME, strlen(NAME)) == 0);
	}
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run_result run, merged;
	char err[1024];
	if (report_load_json_text(NAME, (const char *)data, size, &run, err, sizeof(err)) != 0) {
		CHECK(strncmp(err, NAME, strlen(NAME)) == 0);
		check_baseline(data, size, NULL);
		return 0;
	}
	render_all(&run);
	check_fixpoint(&run);
	for (int markdown = 0; markdown <= 1; markdown++) {
		struct buf out = { 0 };
		CHECK(diff_runs(&run, &run, markdown, &out) == 0);
		buf_free(&out);
	}
	check_baseline(data, size, &run);
	memset(&merged, 0, sizeof(merged));
	if (merge_runs(&run, 1, &merged, err, sizeof(err)) == 0)
		render_all(&merged);
	run_result_free(&merged);
	run_result_free(&run);
	return 0;
}
