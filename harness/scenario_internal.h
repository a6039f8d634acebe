/*
 * scenario_internal.h - what the scenario modules share (scenario_parse.c,
 * scenario_files.c, scenario_lint.c, expect.c): ASCII character classes that
 * ignore the locale, string lists, and the file-level calls the parser makes.
 * Not for other modules: they use scenario.h.
 */
#ifndef SMTPCONFORM_SCENARIO_INTERNAL_H
#define SMTPCONFORM_SCENARIO_INTERNAL_H

#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "scenario.h"
#include "util.h"

/* A file on the include chain, or a directory on a walk, to detect cycles. */
struct file_identity {
	dev_t dev;
	ino_t ino;
};

static inline int is_space(char c)
{
	return c == ' ' || c == '\t';
}

static inline int is_alpha(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static inline int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static inline char to_upper(char c)
{
	return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

static inline int str_ieq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (to_upper(*a) != to_upper(*b))
			return 0;
	return *a == *b;
}

/* Trims spaces and tabs at both ends, in place; returns the new start. */
static inline char *trim(char *s)
{
	while (is_space(*s))
		s++;
	size_t n = strlen(s);
	while (n > 0 && is_space(s[n - 1]))
		s[--n] = '\0';
	return s;
}

static inline void list_push(char ***list, size_t *n, char *item)
{
	*list = xrealloc(*list, (*n + 1) * sizeof(**list));
	(*list)[(*n)++] = item;
}

static inline void list_free(char **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

/*
 * scenario_files.c: @include NAME as written in the file from: the path
 * found (malloc'd), or NULL with "cannot include NAME: not found in ..." in
 * msg (no path:line).
 */
char *scenario_include_find(const char *from, const char *name, char *msg, size_t msglen);
/* scenario_files.c: "scenarios/core/noop.smtp" under "scenarios" -> "core.noop" (malloc'd). */
char *scenario_id_from_path(const char *path, const char *root);
/* scenario_lint.c: 0, or -1 with "path:line: message" when s cannot mean what it says. */
int scenario_lint(const struct scenario *s, char *err, size_t errlen);

#endif
