/*
 * diff.c - comparing two runs (`smtpconform diff OLD.json NEW.json`) and
 * joining shards (`smtpconform merge`). Works on the result model only;
 * loading is report_load.c's, the CLI is main.c's.
 */
#include "diff.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct scenario_result *find(const struct run_result *r, const char *id)
{
	for (size_t i = 0; i < r->nscenarios; i++)
		if (strcmp(r->scenarios[i].id, id) == 0)
			return &r->scenarios[i];
	return NULL;
}

static int failing(enum verdict v)
{
	return v == VERDICT_FAIL || v == VERDICT_ERROR;
}

/* The first error violation of a scenario as "rule on COMMAND", or "". */
static void first_violation(const struct scenario_result *sc, char *out, size_t n)
{
	out[0] = 0;
	for (size_t i = 0; i < sc->nsteps; i++)
		for (size_t k = 0; k < sc->steps[i].nviolations; k++)
			if (sc->steps[i].violations[k].severity == SEV_ERROR) {
				snprintf(out, n, "%s on %s", sc->steps[i].violations[k].rule,
				         sc->steps[i].command);
				return;
			}
	if (sc->reason)
		snprintf(out, n, "%s", sc->reason);
}

/* The first step whose reply code differs, described; 0 when none. */
static int code_change(const struct scenario_result *a, const struct scenario_result *b, char *out,
                       size_t n)
{
	size_t m = a->nsteps < b->nsteps ? a->nsteps : b->nsteps;
	for (size_t i = 0; i < m; i++) {
		if (a->steps[i].code != b->steps[i].code) {
			snprintf(out, n, "step %zu (%s): %03d -> %03d", i + 1, b->steps[i].command,
			         a->steps[i].code, b->steps[i].code);
			return 1;
		}
	}
	return 0;
}

int diff_runs(const struct run_result *old, const struct run_result *new_run, int markdown,
              struct buf *out)
{
	struct buf regressed = { 0 }, fixed = { 0 }, changed = { 0 }, untested = { 0 },
	           added = { 0 }, removed = { 0 };
	size_t nreg = 0, nfix = 0, nchg = 0, nunt = 0, nadd = 0, nrem = 0;
	const char *item = markdown ? "- " : "  ";
	char why[512], code[256];
	for (size_t i = 0; i < new_run->nscenarios; i++) {
		const struct scenario_result *b = &new_run->scenarios[i];
		const struct scenario_result *a = find(old, b->id);
		if (!a) {
			nadd++;
			buf_printf(&added, "%s%s (%s)\n", item, b->id, verdict_name(b->verdict));
			if (failing(b->verdict)) {
				first_violation(b, why, sizeof(why));
				nreg++;
				buf_printf(&regressed, "%s%s: new scenario, %s: %s\n", item, b->id,
				           verdict_name(b->verdict), why);
			}
			continue;
		}
		if (b->verdict == VERDICT_INCONCLUSIVE && a->verdict != VERDICT_INCONCLUSIVE) {
			/* Neither fixed nor failing: the new run could not test it
			 * (a setup step or a precondition did not hold). */
			nunt++;
			buf_printf(&untested, "%s%s: %s -> %s: %s\n", item, b->id,
			           verdict_name(a->verdict), verdict_name(b->verdict),
			           b->reason ? b->reason : "no reason given");
		} else if (!failing(a->verdict) && failing(b->verdict)) {
			first_violation(b, why, sizeof(why));
			nreg++;
			buf_printf(&regressed, "%s%s: %s -> %s: %s\n", item, b->id,
			           verdict_name(a->verdict), verdict_name(b->verdict), why);
		} else if (failing(a->verdict) && !failing(b->verdict)) {
			nfix++;
			buf_printf(&fixed, "%s%s: %s -> %s\n", item, b->id,
			           verdict_name(a->verdict), verdict_name(b->verdict));
		} else if (a->verdict != b->verdict) {
			nchg++;
			buf_printf(&changed, "%s%s: %s -> %s\n", item, b->id,
			           verdict_name(a->verdict), verdict_name(b->verdict));
		} else if (code_change(a, b, code, sizeof(code))) {
			nchg++;
			buf_printf(&changed, "%s%s: %s\n", item, b->id, code);
		}
	}
	for (size_t i = 0; i < old->nscenarios; i++)
		if (!find(new_run, old->scenarios[i].id)) {
			nrem++;
			buf_printf(&removed, "%s%s (was %s)\n", item, old->scenarios[i].id,
			           verdict_name(old->scenarios[i].verdict));
		}
	const char *h = markdown ? "### " : "";
	if (markdown)
		buf_printf(out, "## smtpconform diff: %s -> %s\n\n", old->target, new_run->target);
	else
		buf_printf(out, "smtpconform diff: %s (%s) -> %s (%s)\n", old->target, old->started,
		           new_run->target, new_run->started);
	buf_printf(out,
	           "%zu regressed, %zu fixed, %zu changed, %zu no longer tested, %zu added, "
	           "%zu removed\n",
	           nreg, nfix, nchg, nunt, nadd, nrem);
	const struct {
		const char *title;
		struct buf *b;
		size_t n;
	} parts[] = { { "Started failing", &regressed, nreg },
		      { "Fixed", &fixed, nfix },
		      { "Changed verdict or reply code", &changed, nchg },
		      { "No longer tested (now inconclusive)", &untested, nunt },
		      { "New scenarios", &added, nadd },
		      { "Removed scenarios", &removed, nrem } };
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		if (!parts[i].n)
			continue;
		buf_printf(out, "\n%s%s (%zu)%s\n%s", h, parts[i].title, parts[i].n,
		           markdown ? "\n" : ":", parts[i].b->data);
	}
	buf_free(&regressed);
	buf_free(&fixed);
	buf_free(&changed);
	buf_free(&untested);
	buf_free(&added);
	buf_free(&removed);
	return nreg > 0 ? 1 : nunt > 0 ? 4 : 0;
}

int merge_runs(struct run_result *runs, size_t n, struct run_result *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (n == 0) {
		snprintf(err, errlen, "nothing to merge");
		return -1;
	}
	size_t total = 0;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(runs[i].profile, runs[0].profile) != 0 ||
		    strcmp(runs[i].target, runs[0].target) != 0) {
			snprintf(
			    err, errlen,
			    "shard %zu ran %s with profile %s, shard 1 %s with %s: not one run",
			    i + 1, runs[i].target, runs[i].profile, runs[0].target,
			    runs[0].profile);
			return -1;
		}
		for (size_t k = 0; k < runs[i].nscenarios; k++)
			for (size_t j = 0; j < i; j++)
				if (find(&runs[j], runs[i].scenarios[k].id)) {
					snprintf(err, errlen,
					         "scenario %s is in shard %zu and shard %zu",
					         runs[i].scenarios[k].id, j + 1, i + 1);
					return -1;
				}
		total += runs[i].nscenarios;
	}
	/* Take everything from the shards: the model moves, nothing is copied. */
	*out = runs[0];
	out->scenarios = xcalloc(total ? total : 1, sizeof(*out->scenarios));
	out->nscenarios = 0;
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < runs[i].nscenarios; k++)
			out->scenarios[out->nscenarios++] = runs[i].scenarios[k];
		free(runs[i].scenarios);
		runs[i].scenarios = NULL;
		runs[i].nscenarios = 0;
		if (i == 0)
			continue;
		if (runs[i].duration_ms > out->duration_ms)
			out->duration_ms = runs[i].duration_ms; /* shards run side by side */
		if (strcmp(runs[i].started, out->started) < 0) {
			free(out->started);
			out->started = xstrdup(runs[i].started);
		}
		out->interrupted |= runs[i].interrupted;
		run_result_free(&runs[i]);
	}
	memset(&runs[0], 0, sizeof(runs[0]));
	run_summarize(out);
	return 0;
}

unsigned shard_of(const char *id, unsigned nshards)
{
	/* FNV-1a: a scenario stays in its shard when others come and go. */
	uint32_t h = 2166136261u;
	for (const unsigned char *p = (const unsigned char *)id; *p; p++) {
		h ^= *p;
		h *= 16777619u;
	}
	return h % nshards;
}
