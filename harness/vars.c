/*
 * vars.c - scenario variables: defaults, --var NAME=VALUE, {name} expansion.
 *
 * Owns the name/value table and the expansion rules: "{name}" is replaced by
 * the value of name, itself expanded (so rcpt=postmaster@{domain} follows
 * --var domain=x), "{{" is a literal "{". Does not know about scenario files;
 * scenario_parse.c adds path:line to the messages written here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "smtp_limits.h"
#include "util.h"
#include "vars.h"

/* Values expanding values: deeper than this is reported (a cycle is
 * reported as such before the limit is reached). */
#ifndef VARS_EXPAND_DEPTH
#define VARS_EXPAND_DEPTH 16
#endif

static int name_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '-';
}

static int name_valid(const char *name, size_t len)
{
	if (len == 0)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!name_char(name[i]))
			return 0;
	return 1;
}

static ssize_t vars_find(const struct vars *v, const char *name, size_t len)
{
	for (size_t i = 0; i < v->n; i++)
		if (strlen(v->names[i]) == len && memcmp(v->names[i], name, len) == 0)
			return (ssize_t)i;
	return -1;
}

void vars_init_defaults(struct vars *v)
{
	memset(v, 0, sizeof(*v));
	vars_set(v, "domain", "localhost");
	vars_set(v, "client", "smtpconform.example");
	vars_set(v, "sender", "conform@smtpconform.example");
	vars_set(v, "rcpt", "postmaster@{domain}");
	/* A domain the server does not serve (RFC 2606 reserves example.net),
	 * for relay-control scenarios. */
	vars_set(v, "foreign_domain", "example.net");
	vars_set(v, "relay_rcpt", "relay-test@{foreign_domain}");
}

void vars_set(struct vars *v, const char *name, const char *value)
{
	ssize_t i = vars_find(v, name, strlen(name));
	if (i >= 0) {
		free(v->values[i]);
		v->values[i] = xstrdup(value);
		return;
	}
	v->names = xrealloc(v->names, (v->n + 1) * sizeof(*v->names));
	v->values = xrealloc(v->values, (v->n + 1) * sizeof(*v->values));
	v->names[v->n] = xstrdup(name);
	v->values[v->n] = xstrdup(value);
	v->n++;
}

int vars_set_arg(struct vars *v, const char *arg, char *err, size_t errlen)
{
	const char *eq = strchr(arg, '=');
	if (!eq) {
		snprintf(err, errlen, "--var %s: expected NAME=VALUE", arg);
		return -1;
	}
	size_t len = (size_t)(eq - arg);
	if (!name_valid(arg, len)) {
		snprintf(
		    err, errlen,
		    "--var %s: invalid variable name \"%.*s\" (use letters, digits, '_', '.', '-')",
		    arg, (int)len, arg);
		return -1;
	}
	if (vars_find(v, arg, len) < 0 && v->n >= SCENARIO_VARS_MAX) {
		snprintf(err, errlen, "--var %s: too many variables (at most %d)", arg,
		         SCENARIO_VARS_MAX);
		return -1;
	}
	char *name = xstrndup(arg, len);
	vars_set(v, name, eq + 1);
	free(name);
	return 0;
}

const char *vars_get(const struct vars *v, const char *name)
{
	ssize_t i = vars_find(v, name, strlen(name));
	return i >= 0 ? v->values[i] : NULL;
}

/* The chain of variables being expanded, outermost first, and what the
 * whole expansion has cost so far (VARS_EXPANDED_MAX, VARS_REFS_MAX). */
struct expansion {
	const char *names[VARS_EXPAND_DEPTH];
	size_t depth;
	size_t start; /* out->len when the expansion began */
	size_t refs;  /* {name} references followed */
};

/* -1 with a message once the expansion is too large or too costly. */
static int expansion_bounded(const struct expansion *x, const struct buf *out, char *err,
                             size_t errlen)
{
	if (out->len - x->start > VARS_EXPANDED_MAX) {
		snprintf(err, errlen,
		         "variable expansion longer than %d bytes (values that repeat "
		         "other variables multiply)",
		         VARS_EXPANDED_MAX);
		return -1;
	}
	if (x->refs > VARS_REFS_MAX) {
		snprintf(err, errlen,
		         "variable expansion follows more than %d {name} references "
		         "(values that repeat other variables multiply)",
		         VARS_REFS_MAX);
		return -1;
	}
	return 0;
}

static void chain_describe(const struct expansion *x, const char *last, size_t last_len, char *err,
                           size_t errlen)
{
	struct buf b = { 0 };
	for (size_t i = 0; i < x->depth; i++)
		buf_printf(&b, "{%s} -> ", x->names[i]);
	buf_printf(&b, "{%.*s}", (int)last_len, last);
	snprintf(err, errlen, "variable cycle: %s", b.data);
	buf_free(&b);
}

static int expand(const struct vars *v, const char *text, size_t len, struct buf *out,
                  struct expansion *x, char *err, size_t errlen)
{
	size_t i = 0;
	while (i < len) {
		const char *open = memchr(text + i, '{', len - i);
		if (!open) {
			buf_append(out, text + i, len - i);
			break;
		}
		size_t at = (size_t)(open - text);
		buf_append(out, text + i, at - i);
		if (expansion_bounded(x, out, err, errlen) < 0)
			return -1;
		if (at + 1 < len && text[at + 1] == '{') {
			buf_append(out, "{", 1);
			i = at + 2;
			continue;
		}
		const char *close = memchr(text + at + 1, '}', len - at - 1);
		if (!close) {
			snprintf(err, errlen, "unterminated { (write {{ for a literal {)");
			return -1;
		}
		const char *name = text + at + 1;
		size_t nlen = (size_t)(close - name);
		if (!name_valid(name, nlen)) {
			snprintf(
			    err, errlen,
			    "invalid variable name {%.*s} (use letters, digits, '_', '.', '-'; "
			    "write {{ for a literal {)",
			    (int)nlen, name);
			return -1;
		}
		ssize_t k = vars_find(v, name, nlen);
		if (k < 0) {
			snprintf(err, errlen,
			         "unknown variable {%.*s} (define it with --var %.*s=VALUE)",
			         (int)nlen, name, (int)nlen, name);
			return -1;
		}
		for (size_t d = 0; d < x->depth; d++) {
			if (strcmp(x->names[d], v->names[k]) == 0) {
				chain_describe(x, name, nlen, err, errlen);
				return -1;
			}
		}
		if (x->depth == VARS_EXPAND_DEPTH) {
			snprintf(err, errlen, "variable {%.*s}: values nest deeper than %d",
			         (int)nlen, name, VARS_EXPAND_DEPTH);
			return -1;
		}
		x->refs++;
		x->names[x->depth++] = v->names[k];
		int rc = expand(v, v->values[k], strlen(v->values[k]), out, x, err, errlen);
		x->depth--;
		if (rc < 0) {
			/* Name the innermost variable whose value is broken (cycle
			 * and depth messages already name the chain). */
			if (strncmp(err, "variable ", 9) != 0 &&
			    strncmp(err, "in the value", 12) != 0) {
				char *why = xstrdup(err);
				snprintf(err, errlen, "in the value of {%s}: %s", v->names[k], why);
				free(why);
			}
			return -1;
		}
		i = (size_t)(close - text) + 1;
	}
	return expansion_bounded(x, out, err, errlen);
}

int vars_expand(const struct vars *v, const char *text, size_t len, struct buf *out, char *err,
                size_t errlen)
{
	struct expansion x = { .depth = 0, .start = out->len };
	return expand(v, text, len, out, &x, err, errlen);
}

void vars_free(struct vars *v)
{
	for (size_t i = 0; i < v->n; i++) {
		free(v->names[i]);
		free(v->values[i]);
	}
	free(v->names);
	free(v->values);
	memset(v, 0, sizeof(*v));
}

char *vars_value(const struct vars *v, const char *name)
{
	const char *raw = v ? vars_get(v, name) : NULL;
	struct buf out = { 0 };
	char err[256];
	if (!raw)
		return NULL;
	if (vars_expand(v, raw, strlen(raw), &out, err, sizeof(err)) < 0) {
		buf_free(&out);
		return NULL;
	}
	return out.data ? buf_steal(&out) : xstrdup("");
}
