/*
 * fuzz_scenario.c - libFuzzer harness for the scenario parser.
 *
 * Each input is written to <tmpdir>/input.smtp and loaded with
 * scenario_load(), then checked with scenario_check_vars() and freed.
 * <tmpdir>/_lib/ holds two library files so @include is reachable. Seeds:
 * scenarios/core, scenarios/_lib and tests/unit/scenarios/{good,bad}.
 * Build and run: `make fuzz` (tests/fuzz/README.md). Linked with
 * tests/fuzz/fuzz_main.c instead of libFuzzer, it replays saved inputs
 * (`make unit` does, over the seeds and tests/fuzz/regressions/scenario/).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sasl.h"
#include "scenario.h"
#include "util.h"
#include "vars.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_dir[] = "/tmp/smtpconform-fuzz-XXXXXX";
static char *input_path;
static char *lib_dir;
static char *lib_files[2];

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (!f) {
		perror(path);
		abort();
	}
	if (len && fwrite(data, 1, len, f) != len)
		abort();
	if (fclose(f) != 0)
		abort();
}

static void cleanup(void)
{
	unlink(input_path);
	for (size_t i = 0; i < 2; i++)
		unlink(lib_files[i]);
	rmdir(lib_dir);
	rmdir(fuzz_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (!mkdtemp(fuzz_dir)) {
		perror("mkdtemp");
		abort();
	}
	input_path = xasprintf("%s/input.smtp", fuzz_dir);
	lib_dir = xasprintf("%s/_lib", fuzz_dir);
	if (mkdir(lib_dir, 0700) != 0)
		abort();
	lib_files[0] = xasprintf("%s/greeting.smtp", lib_dir);
	lib_files[1] = xasprintf("%s/ehlo.smtp", lib_dir);
	write_file(lib_files[0], "S: 220\n", 7);
	write_file(lib_files[1], "@include greeting.smtp\nC: EHLO {client}\nS: 250\n", 46);
	atexit(cleanup);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scenario *s = NULL;
	char err[1024];

	write_file(input_path, data, size);
	if (scenario_load(input_path, fuzz_dir, &s, err, sizeof(err)) != 0) {
		/* Every error names a place. */
		if (s != NULL || strncmp(err, fuzz_dir, strlen(fuzz_dir)) != 0)
			abort();
		return 0;
	}
	if (s->nsteps == 0 || s->nfiles == 0 || !s->id || !s->title || !s->ref || !s->level)
		abort();
	for (size_t i = 0; i < s->nsteps; i++) {
		const struct step *st = &s->steps[i];
		int known = 0;
		for (size_t f = 0; f < s->nfiles; f++)
			known |= st->file == s->files[f];
		if (!known || st->line < 1)
			abort();
		if (st->kind == STEP_EXPECT) {
			if (!st->expect.source || (!st->expect.any && st->expect.nalts == 0) ||
			    st->expect.nalts > EXPECT_ALTS_MAX)
				abort();
			for (int code = 200; code < 600; code += 37)
				(void)expect_code_matches(&st->expect, code);
		}
		/* An A: step names a mechanism the SASL client knows. */
		if (st->kind == STEP_AUTH && (!st->text || sasl_mech_parse(st->text) < 0))
			abort();
		if (st->kind > STEP_KIND_LAST || (st->kind == STEP_DATA && st->ndata == 0) ||
		    (st->kind == STEP_RAW && st->text_len == 0) ||
		    (st->kind == STEP_CMD && st->text_len != strlen(st->text)))
			abort();
	}
	struct vars v;
	vars_init_defaults(&v);
	(void)scenario_check_vars(s, &v, err, sizeof(err));
	vars_free(&v);
	scenario_free(s);
	return 0;
}
