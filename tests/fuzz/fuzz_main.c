/*
 * fuzz_main.c - replays saved inputs through a libFuzzer harness without
 * libFuzzer: linked with tests/fuzz/fuzz_<target>.c by an ordinary compiler
 * (gcc or clang, with or without sanitizers), it calls
 * LLVMFuzzerInitialize() when the harness has one, then
 * LLVMFuzzerTestOneInput() once per file named on the command line, or per
 * file under a directory named there (recursively). `make unit` runs it over
 * the seed corpus and tests/fuzz/regressions/<target>/, so every crash input
 * ever found stays a regression test. A crash is the harness's abort/trap.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util.h"

/* Inputs bigger than this are not fuzz inputs (libFuzzer's -max_len is far below). */
#define FUZZ_REPLAY_INPUT_MAX (16u << 20)

int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay(const char *path, size_t *count)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		perror(path);
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		DIR *dir = opendir(path);
		if (!dir) {
			perror(path);
			return -1;
		}
		int rc = 0;
		struct dirent *e;
		while (rc == 0 && (e = readdir(dir)) != NULL) {
			if (e->d_name[0] == '.')
				continue; /* ".", "..", .gitignore */
			char *sub = xasprintf("%s/%s", path, e->d_name);
			rc = replay(sub, count);
			free(sub);
		}
		closedir(dir);
		return rc;
	}
	struct buf input = { 0 };
	if (file_read_all(path, FUZZ_REPLAY_INPUT_MAX, &input) != 0) {
		perror(path);
		return -1;
	}
	LLVMFuzzerTestOneInput((const uint8_t *)(input.data ? input.data : ""), input.len);
	buf_free(&input);
	(*count)++;
	return 0;
}

int main(int argc, char **argv)
{
	size_t count = 0;
	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++)
		if (replay(argv[i], &count) != 0)
			return 1;
	printf("%s: %zu inputs replayed, no crash\n", argv[0], count);
	return 0;
}
