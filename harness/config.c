/*
 * config.c - target profile files: "key = value" lines. See config.h and
 * docs/targets.md. Values are taken as written (no quoting); ${NAME} is
 * replaced by the environment variable NAME, so secrets stay out of files.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_limits.h"
#include "util.h"

/* A key in the caller's list: "name" exactly, or "prefix.NAME" for any
 * "prefix.x" (var.NAME). */
static int key_is_prefix(const char *known, size_t *prefix_len)
{
	const char *dot = strrchr(known, '.');
	if (!dot || strcmp(dot, ".NAME") != 0)
		return 0;
	*prefix_len = (size_t)(dot - known) + 1;
	return 1;
}

static int key_known(const char *const *keys, const char *key)
{
	for (const char *const *k = keys; *k; k++) {
		size_t n;
		if (key_is_prefix(*k, &n) ? strncmp(*k, key, n) == 0 && key[n]
		                          : strcmp(*k, key) == 0)
			return 1;
	}
	return 0;
}

/* 1 when key starts with a prefix of keys (its NAME part keeps its case). */
static int key_prefixed(const char *const *keys, const char *key)
{
	for (const char *const *k = keys; *k; k++) {
		size_t n;
		if (key_is_prefix(*k, &n) && strncmp(*k, key, n) == 0)
			return 1;
	}
	return 0;
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = 0;
	return s;
}

/* Replaces ${NAME} with the environment; -1 when NAME is unset. */
static int expand_env(const char *value, struct buf *out, char *missing, size_t missing_len)
{
	const char *p = value;
	while (*p) {
		if (p[0] == '$' && p[1] == '{') {
			const char *end = strchr(p + 2, '}');
			if (end) {
				char name[128];
				size_t n = (size_t)(end - p - 2);
				if (n >= sizeof(name))
					n = sizeof(name) - 1;
				memcpy(name, p + 2, n);
				name[n] = 0;
				const char *v = getenv(name);
				if (!v) {
					snprintf(missing, missing_len, "%s", name);
					return -1;
				}
				buf_puts(out, v);
				p = end + 1;
				continue;
			}
		}
		buf_append(out, p, 1);
		p++;
	}
	return 0;
}

int config_load(const char *path, const char *const *keys, struct config *out, char *err,
                size_t errlen)
{
	memset(out, 0, sizeof(*out));
	struct buf text = { 0 };
	if (file_read_all(path, SCENARIO_FILE_MAX, &text) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		buf_free(&text);
		return -1;
	}
	out->path = xstrdup(path);
	int lineno = 0;
	char *data = text.data ? text.data : (char *)"";
	char *line = data;
	while (line && *line) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = 0;
		lineno++;
		char *s = trim(line);
		line = nl ? nl + 1 : NULL;
		if (!*s || *s == '#')
			continue;
		char *eq = strchr(s, '=');
		if (!eq) {
			snprintf(err, errlen, "%s:%d: expected 'key = value'", path, lineno);
			goto fail;
		}
		*eq = 0;
		char *key = trim(s);
		char *value = trim(eq + 1);
		if (!key_prefixed(keys, key))
			for (char *k = key; *k; k++)
				*k = (char)tolower((unsigned char)*k);
		if (!key_known(keys, key)) {
			struct buf known = { 0 };
			for (const char *const *k = keys; *k; k++)
				buf_printf(&known, "%s%s", k == keys ? "" : ", ", *k);
			snprintf(err, errlen, "%s:%d: unknown key '%s' (known: %s)", path, lineno,
			         key, known.data ? known.data : "");
			buf_free(&known);
			goto fail;
		}
		struct buf v = { 0 };
		char missing[128];
		if (expand_env(value, &v, missing, sizeof(missing)) < 0) {
			snprintf(err, errlen, "%s:%d: environment variable %s is not set", path,
			         lineno, missing);
			buf_free(&v);
			goto fail;
		}
		out->entries = xrealloc(out->entries, (out->n + 1) * sizeof(*out->entries));
		out->entries[out->n].key = xstrdup(key);
		out->entries[out->n].value = buf_steal(&v);
		out->entries[out->n].line = lineno;
		out->n++;
	}
	buf_free(&text);
	return 0;
fail:
	buf_free(&text);
	config_free(out);
	return -1;
}

const char *config_get(const struct config *c, const char *key)
{
	const char *v = NULL;
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->entries[i].key, key) == 0)
			v = c->entries[i].value;
	return v;
}

void config_free(struct config *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->entries[i].key);
		free(c->entries[i].value);
	}
	free(c->entries);
	free(c->path);
	memset(c, 0, sizeof(*c));
}
