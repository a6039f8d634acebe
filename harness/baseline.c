/*
 * baseline.c - waivers and baselines. See baseline.h and docs/baselines.md.
 */
#include "baseline.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "util.h"

static void add(struct baseline *b, enum waiver_kind kind, const char *target, const char *reason,
                const char *until, int line)
{
	b->waivers = xrealloc(b->waivers, (b->n + 1) * sizeof(*b->waivers));
	struct waiver *w = &b->waivers[b->n++];
	memset(w, 0, sizeof(*w));
	w->kind = kind;
	w->target = xstrdup(target);
	w->reason = xstrdup(reason);
	w->until = until ? xstrdup(until) : NULL;
	w->line = line;
}

/* "YYYY-MM-DD" naming a real day of the Gregorian calendar. */
static int is_date(const char *s)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return 0;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && !isdigit((unsigned char)s[i]))
			return 0;
	int year = atoi(s), month = atoi(s + 5), day = atoi(s + 8);
	int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
	if (month < 1 || month > 12 || day < 1)
		return 0;
	return day <= days[month - 1] + (month == 2 && leap);
}

/* "KIND TARGET [until YYYY-MM-DD] -- REASON" */
static int parse_line(struct baseline *b, char *line, int lineno, char *err, size_t errlen)
{
	char *sep = strstr(line, " -- ");
	if (!sep) {
		snprintf(err, errlen,
		         "%s:%d: expected 'scenario ID [until YYYY-MM-DD] -- reason' or "
		         "'rule RULE-ID [until YYYY-MM-DD] -- reason'",
		         b->path, lineno);
		return -1;
	}
	*sep = 0;
	char *reason = sep + 4;
	while (*reason == ' ')
		reason++;
	if (!*reason) {
		snprintf(err, errlen, "%s:%d: a waiver needs a reason after --", b->path, lineno);
		return -1;
	}
	char *save = NULL;
	char *kind = strtok_r(line, " \t", &save);
	char *target = strtok_r(NULL, " \t", &save);
	char *kw = strtok_r(NULL, " \t", &save);
	char *date = kw ? strtok_r(NULL, " \t", &save) : NULL;
	char *extra = strtok_r(NULL, " \t", &save);
	enum waiver_kind k;
	if (kind && strcmp(kind, "scenario") == 0)
		k = WAIVE_SCENARIO;
	else if (kind && strcmp(kind, "rule") == 0)
		k = WAIVE_RULE;
	else {
		snprintf(err, errlen, "%s:%d: unknown waiver kind '%s' (scenario or rule)", b->path,
		         lineno, kind ? kind : "");
		return -1;
	}
	if (!target || extra || (kw && (strcmp(kw, "until") != 0 || !date))) {
		snprintf(err, errlen, "%s:%d: expected '%s ID [until YYYY-MM-DD] -- reason'",
		         b->path, lineno, kind);
		return -1;
	}
	if (date && !is_date(date)) {
		snprintf(err, errlen, "%s:%d: until %s: not a calendar date (expected YYYY-MM-DD)",
		         b->path, lineno, date);
		return -1;
	}
	add(b, k, target, reason, date, lineno);
	return 0;
}

static const char *first_error_rule(const struct scenario_result *sc)
{
	for (size_t i = 0; i < sc->nsteps; i++)
		for (size_t k = 0; k < sc->steps[i].nviolations; k++)
			if (sc->steps[i].violations[k].severity == SEV_ERROR)
				return sc->steps[i].violations[k].rule;
	return NULL;
}

int baseline_parse(const char *path, char *text, size_t len, struct baseline *out, char *err,
                   size_t errlen)
{
	memset(out, 0, sizeof(*out));
	out->path = xstrdup(path);
	const char *p = text;
	while (p < text + len && isspace((unsigned char)*p))
		p++;
	if (p < text + len && *p == '{') {
		/* A previous JSON report: its failures are the known deviations. */
		struct run_result prev;
		if (report_load_json_text(path, text, len, &prev, err, errlen) < 0) {
			baseline_free(out);
			return -1;
		}
		for (size_t i = 0; i < prev.nscenarios; i++) {
			const struct scenario_result *sc = &prev.scenarios[i];
			if (sc->verdict != VERDICT_FAIL && !sc->waived)
				continue;
			const char *rule = first_error_rule(sc);
			char *why = xasprintf("failed in the baseline run %s%s%s", path,
			                      rule ? ": " : "", rule ? rule : "");
			add(out, WAIVE_SCENARIO, sc->id, why, NULL, 0);
			free(why);
		}
		run_result_free(&prev);
		return 0;
	}
	int lineno = 0;
	char *line = len ? text : (char *)"";
	while (line && *line) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = 0;
		lineno++;
		char *s = line;
		line = nl ? nl + 1 : NULL;
		while (*s == ' ' || *s == '\t')
			s++;
		size_t n = strlen(s);
		while (n && (s[n - 1] == '\r' || s[n - 1] == ' '))
			s[--n] = 0;
		if (!*s || *s == '#')
			continue;
		if (parse_line(out, s, lineno, err, errlen) < 0) {
			baseline_free(out);
			return -1;
		}
	}
	return 0;
}

int baseline_load(const char *path, struct baseline *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	struct buf text = { 0 };
	if (report_read_file(path, &text, err, errlen) < 0)
		return -1;
	int rc = baseline_parse(path, text.data, text.len, out, err, errlen);
	buf_free(&text);
	return rc;
}

static int expired(const struct waiver *w, const char *today)
{
	return w->until && strcmp(today, w->until) > 0;
}

/* A waiver of this kind whose target (an fnmatch(3) glob: "relay.*") matches and
 * that applies today, or NULL. */
static struct waiver *find(struct baseline *b, enum waiver_kind kind, const char *target,
                           const char *today, int *expired_out)
{
	for (size_t i = 0; i < b->n; i++) {
		struct waiver *w = &b->waivers[i];
		if (w->kind != kind || fnmatch(w->target, target, 0) != 0)
			continue;
		if (expired(w, today)) {
			*expired_out = 1;
			continue;
		}
		return w;
	}
	return NULL;
}

void baseline_apply(struct baseline *b, struct run_result *run, const char *today)
{
	/* A run loaded from JSON may carry an earlier baseline: this one replaces it. */
	free(run->baseline);
	run->baseline = xstrdup(b->path);
	for (size_t i = 0; i < run->nstale_waivers; i++)
		free(run->stale_waivers[i]);
	free(run->stale_waivers);
	run->stale_waivers = NULL;
	run->nstale_waivers = 0;
	for (size_t i = 0; i < run->nscenarios; i++) {
		struct scenario_result *sc = &run->scenarios[i];
		if (sc->verdict != VERDICT_FAIL)
			continue;
		int was_expired = 0;
		struct waiver *w = find(b, WAIVE_SCENARIO, sc->id, today, &was_expired);
		if (!w) {
			/* Rule waivers: every error rule of the scenario must be waived. */
			struct waiver *last = NULL;
			int all = 1, any = 0;
			for (size_t k = 0; k < sc->nsteps && all; k++)
				for (size_t v = 0; v < sc->steps[k].nviolations && all; v++) {
					const struct violation *vi = &sc->steps[k].violations[v];
					if (vi->severity != SEV_ERROR)
						continue;
					any = 1;
					struct waiver *rw =
					    find(b, WAIVE_RULE, vi->rule, today, &was_expired);
					if (!rw)
						all = 0;
					else
						last = rw;
				}
			if (any && all) {
				w = last;
				for (size_t k = 0; k < sc->nsteps; k++)
					for (size_t v = 0; v < sc->steps[k].nviolations; v++) {
						int e = 0;
						struct waiver *rw = find(
						    b, WAIVE_RULE, sc->steps[k].violations[v].rule,
						    today, &e);
						if (rw)
							rw->used = 1;
					}
			}
		}
		if (w) {
			w->used = 1;
			sc->waived = 1;
			free(sc->waiver);
			sc->waiver = xstrdup(w->reason);
		}
	}
	for (size_t i = 0; i < b->n; i++) {
		const struct waiver *w = &b->waivers[i];
		if (w->used)
			continue;
		char *desc =
		    xasprintf("%s %s%s%s: %s", w->kind == WAIVE_SCENARIO ? "scenario" : "rule",
		              w->target, w->until ? " until " : "", w->until ? w->until : "",
		              expired(w, today) ? "expired, waives nothing" : "matches nothing");
		run->stale_waivers =
		    xrealloc(run->stale_waivers, (run->nstale_waivers + 1) * sizeof(char *));
		run->stale_waivers[run->nstale_waivers++] = desc;
	}
	run_summarize(run);
}

void baseline_free(struct baseline *b)
{
	for (size_t i = 0; i < b->n; i++) {
		free(b->waivers[i].target);
		free(b->waivers[i].reason);
		free(b->waivers[i].until);
	}
	free(b->waivers);
	free(b->path);
	memset(b, 0, sizeof(*b));
}
