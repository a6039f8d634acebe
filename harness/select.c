/*
 * select.c - choosing scenarios for `list` and `run`: tag, level, id glob,
 * RFC and required-keyword filters, the ids that failed in a saved run
 * (--rerun-failed), the catalogue `list` prints, and --shard auto.
 *
 * Owns the matching rules (docs in README.md "Selecting scenarios"). Does not
 * load scenarios or parse options; main.c does.
 */
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "report.h"
#include "result.h"
#include "select.h"
#include "smtp_limits.h"
#include "util.h"

void select_add(struct select_filter *f, enum select_key key, const char *value)
{
	f->values[key] = xrealloc(f->values[key], (f->nvalues[key] + 1) * sizeof(char *));
	f->values[key][f->nvalues[key]++] = xstrdup(value);
}

int select_active(const struct select_filter *f)
{
	for (int k = 0; k < SELECT_KEYS; k++)
		if (f->nvalues[k])
			return 1;
	return f->has_only;
}

/* "5321", "RFC 5321", "rfc5321" -> "5321"; NULL when no digits follow. */
static const char *rfc_number(const char *s)
{
	if (strncasecmp(s, "rfc", 3) == 0)
		s += 3;
	while (*s == ' ' || *s == '-')
		s++;
	return isdigit((unsigned char)*s) ? s : NULL;
}

/* ref cites "RFC <number>" (the number not followed by another digit). */
static int ref_cites(const char *ref, const char *number)
{
	size_t n = strlen(number);
	for (const char *p = ref; *p; p++) {
		if (strncasecmp(p, "rfc", 3) != 0)
			continue;
		const char *num = rfc_number(p);
		if (num && strncmp(num, number, n) == 0 && !isdigit((unsigned char)num[n]))
			return 1;
	}
	return 0;
}

static int matches_value(enum select_key key, const char *value, const struct scenario *sc)
{
	switch (key) {
	case SELECT_TAG:
		for (size_t i = 0; i < sc->ntags; i++)
			if (strcasecmp(sc->tags[i], value) == 0)
				return 1;
		return 0;
	case SELECT_LEVEL: return sc->level && strcasecmp(sc->level, value) == 0;
	case SELECT_ID: return fnmatch(value, sc->id, 0) == 0;
	case SELECT_RFC: {
		const char *number = rfc_number(value);
		return number && sc->ref && ref_cites(sc->ref, number);
	}
	case SELECT_REQUIRES: {
		size_t n = strlen(value);
		for (size_t i = 0; i < sc->nrequires; i++)
			if (strcasecmp(sc->requires[i], value) == 0 ||
			    (strncasecmp(sc->requires[i], value, n) == 0 &&
			     sc->requires[i][n] == '='))
				return 1;
		return 0;
	}
	case SELECT_KEYS: break;
	}
	BUG("unknown select key");
}

int select_matches(const struct select_filter *f, const struct scenario *sc)
{
	for (int k = 0; k < SELECT_KEYS; k++) {
		if (!f->nvalues[k])
			continue;
		int any = 0;
		for (size_t i = 0; i < f->nvalues[k] && !any; i++)
			any = matches_value((enum select_key)k, f->values[k][i], sc);
		if (!any)
			return 0;
	}
	if (f->has_only) {
		for (size_t i = 0; i < f->nonly; i++)
			if (strcmp(f->only[i], sc->id) == 0)
				return 1;
		return 0;
	}
	return 1;
}

int select_load_failed(struct select_filter *f, const char *run_json, char *err, size_t errlen)
{
	struct run_result run;
	if (report_load_json(run_json, &run, err, errlen) < 0)
		return -1;
	int count = 0;
	f->has_only = 1;
	for (size_t i = 0; i < run.nscenarios; i++) {
		const struct scenario_result *r = &run.scenarios[i];
		if (r->waived || (r->verdict != VERDICT_FAIL && r->verdict != VERDICT_ERROR))
			continue;
		f->only = xrealloc(f->only, (f->nonly + 1) * sizeof(char *));
		f->only[f->nonly++] = xstrdup(r->id);
		count++;
	}
	run_result_free(&run);
	return count;
}

size_t select_apply(const struct select_filter *f, struct scenario **scs, size_t n)
{
	size_t kept = 0;
	for (size_t i = 0; i < n; i++) {
		if (select_matches(f, scs[i]))
			scs[kept++] = scs[i];
		else
			scenario_free(scs[i]);
	}
	return kept;
}

void select_free(struct select_filter *f)
{
	for (int k = 0; k < SELECT_KEYS; k++) {
		for (size_t i = 0; i < f->nvalues[k]; i++)
			free(f->values[k][i]);
		free(f->values[k]);
	}
	for (size_t i = 0; i < f->nonly; i++)
		free(f->only[i]);
	free(f->only);
	memset(f, 0, sizeof(*f));
}

/* ------------------------------------------------------------ catalogue */

/* A JSON string of s; invalid UTF-8 is escaped first. */
static json_t *jstring(const char *s)
{
	json_t *j = json_string(s ? s : "");
	if (!j) {
		char *esc = text_escape_dup(s, strlen(s));
		j = json_string(esc);
		free(esc);
	}
	if (!j)
		BUG("json_string failed");
	return j;
}

static json_t *jstrings(char *const *v, size_t n)
{
	json_t *a = json_array();
	if (!a)
		BUG("json_array failed");
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, jstring(v[i]));
	return a;
}

static char *joined(char *const *v, size_t n, const char *sep)
{
	struct buf b = { 0 };
	for (size_t i = 0; i < n; i++)
		buf_printf(&b, "%s%s", i ? sep : "", v[i]);
	return buf_steal(&b);
}

int select_catalogue_format(const char *name, enum catalogue_format *out)
{
	static const char *const names[] = { "text", "json", "ids", "tags" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i]) == 0) {
			*out = (enum catalogue_format)i;
			return 0;
		}
	return -1;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void print_tags(FILE *out, struct scenario *const *scs, size_t n)
{
	size_t count = 0;
	for (size_t i = 0; i < n; i++)
		count += scs[i]->ntags;
	char **all = xcalloc(count ? count : 1, sizeof(char *));
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		for (size_t t = 0; t < scs[i]->ntags; t++)
			all[k++] = scs[i]->tags[t];
	qsort(all, count, sizeof(char *), cmp_str);
	for (size_t i = 0; i < count; i++)
		if (i == 0 || strcmp(all[i], all[i - 1]) != 0)
			fprintf(out, "%s\n", all[i]);
	free(all);
}

void select_print_catalogue(FILE *out, struct scenario *const *scs, size_t n,
                            enum catalogue_format format)
{
	if (format == CATALOGUE_IDS) {
		for (size_t i = 0; i < n; i++)
			fprintf(out, "%s\n", scs[i]->id);
		return;
	}
	if (format == CATALOGUE_TAGS) {
		print_tags(out, scs, n);
		return;
	}
	if (format == CATALOGUE_JSON) {
		json_t *arr = json_array();
		if (!arr)
			BUG("json_array failed");
		for (size_t i = 0; i < n; i++) {
			const struct scenario *sc = scs[i];
			json_t *o = json_object();
			if (!o)
				BUG("json_object failed");
			json_object_set_new(o, "id", jstring(sc->id));
			json_object_set_new(o, "file", jstring(sc->path));
			json_object_set_new(o, "level", jstring(sc->level));
			json_object_set_new(o, "ref", jstring(sc->ref));
			json_object_set_new(o, "tags", jstrings(sc->tags, sc->ntags));
			json_object_set_new(o, "requires", jstrings(sc->requires, sc->nrequires));
			json_object_set_new(o, "title", jstring(sc->title));
			json_array_append_new(arr, o);
		}
		char *text = json_dumps(arr, JSON_INDENT(2));
		if (!text)
			BUG("json_dumps failed");
		fprintf(out, "%s\n", text);
		free(text);
		json_decref(arr);
		return;
	}
	int wid = 2, wlevel = 5, wref = 3, wtags = 4;
	char **tags = xcalloc(n ? n : 1, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		tags[i] = joined(scs[i]->tags, scs[i]->ntags, ",");
		int l;
		if ((l = (int)strlen(scs[i]->id)) > wid)
			wid = l;
		if ((l = (int)strlen(scs[i]->level ? scs[i]->level : "")) > wlevel)
			wlevel = l;
		if ((l = (int)strlen(scs[i]->ref ? scs[i]->ref : "")) > wref)
			wref = l;
		if ((l = (int)strlen(tags[i])) > wtags)
			wtags = l;
	}
	fprintf(out, "%-*s  %-*s  %-*s  %-*s  %s\n", wid, "ID", wlevel, "LEVEL", wref, "REF", wtags,
	        "TAGS", "TITLE");
	for (size_t i = 0; i < n; i++) {
		const struct scenario *sc = scs[i];
		fprintf(out, "%-*s  %-*s  %-*s  %-*s  %s\n", wid, sc->id, wlevel,
		        sc->level ? sc->level : "", wref, sc->ref ? sc->ref : "", wtags, tags[i],
		        sc->title ? sc->title : "");
		free(tags[i]);
	}
	free(tags);
}

/* ---------------------------------------------------------- --shard auto */

/* A whole number from lo to hi in the variable name; -1 with err otherwise. */
static int env_int(const char *name, int lo, int hi, int *out, char *err, size_t errlen)
{
	const char *v = getenv(name);
	char *end;
	errno = 0;
	long n = v ? strtol(v, &end, 10) : 0;
	if (!v || errno || !*v || *end || n < lo || n > hi) {
		snprintf(err, errlen, "--shard auto: %s=%s: expected a whole number from %d to %d",
		         name, v ? v : "(unset)", lo, hi);
		return -1;
	}
	*out = (int)n;
	return 0;
}

int select_shard_from_env(int *k_out, int *n_out, char *err, size_t errlen)
{
	/* Index variable, total variable, 1 when the index is 0-based. */
	static const struct {
		const char *index, *total;
		int zero_based;
	} sources[] = {
		{ "SMTPCONFORM_SHARD_INDEX", "SMTPCONFORM_SHARD_TOTAL", 0 },
		{ "CI_NODE_INDEX", "CI_NODE_TOTAL", 0 },          /* GitLab CI parallel: */
		{ "JOB_COMPLETION_INDEX", "JOB_COMPLETIONS", 1 }, /* Kubernetes indexed Job */
	};
	for (size_t i = 0; i < sizeof(sources) / sizeof(sources[0]); i++) {
		if (!getenv(sources[i].index) && !getenv(sources[i].total))
			continue;
		int total, index;
		if (env_int(sources[i].total, 1, SHARD_MAX, &total, err, errlen) < 0)
			return -1;
		int base = sources[i].zero_based ? 0 : 1;
		if (env_int(sources[i].index, base, total - 1 + base, &index, err, errlen) < 0)
			return -1;
		*k_out = index - base + 1;
		*n_out = total;
		return 0;
	}
	*k_out = 1;
	*n_out = 1;
	return 0;
}
