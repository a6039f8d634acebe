/*
 * report_tap.c - the TAP report: one test point per scenario, a YAML
 * diagnostic block (2-space indent, double-quoted strings) under failures,
 * errors and passes with warnings.
 *
 * Emits only what TAP 13 and TAP 14 share, so prove and TAP 14 harnesses
 * both read it. Does not write anywhere (report.c does).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "findings.h"
#include "report.h"

/*
 * The version line. TAP 14 harnesses accept "TAP version 13" streams, but
 * Test::Harness before 3.48 (Debian 12's prove) reports "TAP version 14"
 * as a parse error, and nothing here needs a TAP 14 feature.
 */
#define TAP_VERSION_LINE "TAP version 13"

/*
 * A model string made safe: as it is when it is valid UTF-8 without control
 * characters (what the model promises), else all of it through
 * text_escape(). text_escape() only doubles backslashes in clean text, so
 * the string was clean exactly when that is all it did.
 */
static void clean_text(struct buf *out, const char *s)
{
	struct buf scratch = { 0 };

	if (!s)
		return;
	buf_puts(out, report_clean(s, &scratch));
	buf_free(&scratch);
}

/* Description and directive text: "\" and "#" escaped (TAP 14). */
static void put_desc(struct buf *out, const char *s)
{
	struct buf clean = { 0 };

	clean_text(&clean, s);
	for (size_t i = 0; i < clean.len; i++) {
		if (clean.data[i] == '\\' || clean.data[i] == '#')
			buf_puts(out, "\\");
		buf_append(out, &clean.data[i], 1);
	}
	buf_free(&clean);
}

/*
 * A YAML double-quoted string. In a list item, TAP::Parser's YAMLish reader
 * takes `- "C: x"` for a one-key map (its test is /^- \S+\s*:\s/), so there
 * every colon it could reach that way is written "\x3a", which any YAML
 * reader decodes back to ':'. It can reach colons until an ASCII space has
 * been followed by ASCII non-space (bytes >= 0x80 may be either to Perl).
 */
static void yaml_quoted(struct buf *out, const char *value, int list_item)
{
	struct buf clean = { 0 };
	int guard = list_item, seen_space = 0;

	clean_text(&clean, value ? value : "");
	buf_puts(out, "\"");
	for (size_t i = 0; i < clean.len; i++) {
		unsigned char c = (unsigned char)clean.data[i];

		if (guard && c == ':') {
			buf_puts(out, "\\x3a");
			if (seen_space)
				guard = 0;
			continue;
		}
		if (guard && c == ' ')
			seen_space = 1;
		else if (guard && seen_space && c < 0x80)
			guard = 0;
		if (c == '\\' || c == '"')
			buf_puts(out, "\\");
		buf_append(out, &clean.data[i], 1);
	}
	buf_puts(out, "\"");
	buf_free(&clean);
}

/* `<indent>key: "value"`, or `key: ~` for NULL. */
static void yaml_str(struct buf *out, int indent, const char *key, const char *value)
{
	buf_printf(out, "%*s%s: ", indent, "", key);
	if (value)
		yaml_quoted(out, value, 0);
	else
		buf_puts(out, "~");
	buf_puts(out, "\n");
}

static void yaml_item(struct buf *out, int indent, const char *value)
{
	buf_printf(out, "%*s- ", indent, "");
	yaml_quoted(out, value, 1);
	buf_puts(out, "\n");
}

static void yaml_int(struct buf *out, int indent, const char *key, long long value)
{
	buf_printf(out, "%*s%s: %lld\n", indent, "", key, value);
}

/* The steps with violations: where, what was sent, the reply, then each violation. */
static void yaml_steps(struct buf *out, const struct scenario_result *sr)
{
	buf_puts(out, "  steps:\n");
	for (size_t k = 0; k < sr->nsteps; k++) {
		const struct step_result *st = &sr->steps[k];
		char step[64];

		if (st->nviolations == 0)
			continue;
		snprintf(step, sizeof(step), "%zu/%zu", k + 1, sr->nsteps);
		yaml_str(out, 4, "- step", step);
		yaml_str(out, 6, "verdict", verdict_name(st->verdict));
		yaml_str(out, 6, "file", st->file ? st->file : sr->file);
		yaml_int(out, 6, "line", st->line);
		yaml_str(out, 6, "command", st->command);
		yaml_str(out, 6, "sent", st->sent);
		yaml_str(out, 6, "expect", st->expect);
		if (!st->has_reply) {
			buf_puts(out, "      reply: ~\n");
		} else {
			buf_puts(out, "      reply:\n");
			yaml_int(out, 8, "code", st->code);
			yaml_int(out, 8, "lines_total", (long long)st->lines_total);
			if (st->nlines == 0)
				buf_puts(out, "        lines: []\n");
			else
				buf_puts(out, "        lines:\n");
			for (size_t l = 0; l < st->nlines; l++)
				yaml_item(out, 10, st->lines[l]);
		}
		buf_puts(out, "      violations:\n");
		for (size_t i = 0; i < st->nviolations; i++) {
			const struct violation *v = &st->violations[i];

			yaml_str(out, 8, "- rule", v->rule);
			yaml_str(out, 10, "severity", severity_name(v->severity));
			yaml_str(out, 10, "level", findings_level(sr, v));
			yaml_str(out, 10, "message", v->message);
			yaml_str(out, 10, "ref", findings_ref(sr, v));
			if (findings_sentence(v))
				yaml_str(out, 10, "sentence", findings_sentence(v));
		}
	}
}

/*
 * The transcript, one list item per line: `- C: "EHLO x"` for the usual
 * "C: ", "S: ", "D: " lines (one capital letter, colon, space), a plain
 * string for anything else ("-- timeout").
 */
static void yaml_transcript(struct buf *out, const char *transcript)
{
	const char *line = transcript;

	if (!transcript || !*transcript)
		return;
	buf_puts(out, "  transcript:\n");
	while (*line) {
		const char *nl = strchr(line, '\n');
		size_t n = nl ? (size_t)(nl - line) : strlen(line);
		char *text = xstrndup(line, n);

		if (n >= 3 && text[0] >= 'A' && text[0] <= 'Z' && text[1] == ':' &&
		    text[2] == ' ') {
			buf_printf(out, "    - %c: ", text[0]);
			yaml_quoted(out, text + 3, 0);
			buf_puts(out, "\n");
		} else {
			yaml_item(out, 4, text);
		}
		free(text);
		line += n + (nl ? 1 : 0);
	}
}

static int has_violations(const struct scenario_result *sr)
{
	for (size_t k = 0; k < sr->nsteps; k++)
		if (sr->steps[k].nviolations > 0)
			return 1;
	return 0;
}

static void render_test_point(struct buf *out, size_t n, const struct scenario_result *sr)
{
	int ok = sr->verdict == VERDICT_PASS || sr->verdict == VERDICT_WARN ||
	         sr->verdict == VERDICT_SKIP || sr->verdict == VERDICT_INCONCLUSIVE;
	const struct violation *first = NULL;
	char *message = NULL;

	buf_printf(out, "%sok %zu - ", ok ? "" : "not ", n);
	put_desc(out, sr->id ? sr->id : "?");
	if (sr->title && *sr->title) {
		buf_puts(out, " ");
		put_desc(out, sr->title);
	}
	if (sr->waived) {
		/* TODO: a known failure, expected to fail (TAP's directive for it). */
		buf_puts(out, " # TODO waived: ");
		put_desc(out, sr->waiver ? sr->waiver : "");
	}
	if (sr->verdict == VERDICT_SKIP) {
		buf_puts(out, " # SKIP");
		if (sr->reason && *sr->reason) {
			buf_puts(out, " ");
			put_desc(out, sr->reason);
		}
	}
	if (sr->verdict == VERDICT_INCONCLUSIVE) {
		/* Nothing tested: a skip with the cause (TAP has no inconclusive). */
		buf_puts(out, " # SKIP inconclusive: ");
		put_desc(out, sr->reason ? sr->reason : "a setup step failed");
	}
	buf_puts(out, "\n");

	if (sr->verdict == VERDICT_SKIP || sr->verdict == VERDICT_INCONCLUSIVE ||
	    ((sr->verdict == VERDICT_PASS || sr->verdict == VERDICT_WARN) && !has_violations(sr)))
		return;

	if (sr->verdict == VERDICT_ERROR) {
		message = xstrdup(sr->reason ? sr->reason : "harness error");
	} else {
		first = report_first_violation(sr);
		if (first)
			message = xasprintf("%s (%s, %s): %s", first->rule ? first->rule : "",
			                    findings_level(sr, first), findings_ref(sr, first),
			                    first->message ? first->message : "");
		else
			message = xstrdup(sr->reason ? sr->reason : "scenario failed");
	}
	buf_puts(out, "  ---\n");
	yaml_str(out, 2, "message", message);
	yaml_str(out, 2, "severity",
	         sr->verdict == VERDICT_FAIL    ? "fail"
	         : sr->verdict == VERDICT_ERROR ? "error"
	                                        : "warn");
	yaml_str(out, 2, "id", sr->id);
	yaml_str(out, 2, "file", sr->file);
	yaml_int(out, 2, "duration_ms", (long long)sr->duration_ms);
	if (has_violations(sr))
		yaml_steps(out, sr);
	if (sr->verdict != VERDICT_PASS && sr->verdict != VERDICT_WARN)
		yaml_transcript(out, sr->transcript);
	buf_puts(out, "  ...\n");
	free(message);
}

void report_render_tap(const struct run_result *run, struct buf *out)
{
	const struct run_summary *sum = &run->summary;

	buf_puts(out, TAP_VERSION_LINE "\n");
	buf_puts(out, "# ");
	clean_text(out, run->tool_name ? run->tool_name : "smtpconform");
	if (run->tool_version) {
		buf_puts(out, " ");
		clean_text(out, run->tool_version);
	}
	if (run->target) {
		buf_puts(out, ": target ");
		clean_text(out, run->target);
	}
	if (run->profile) {
		buf_puts(out, ", profile ");
		clean_text(out, run->profile);
	}
	if (run->strict)
		buf_puts(out, ", strict");
	buf_puts(out, "\n");
	char *untrusted = report_tls_untrusted_line(run);

	if (untrusted) {
		buf_puts(out, "# ");
		clean_text(out, untrusted);
		buf_puts(out, "\n");
		free(untrusted);
	}
	for (size_t i = 0; i < run->npreconditions; i++) {
		buf_puts(out, "# precondition: ");
		clean_text(out, run->preconditions[i]);
		buf_puts(out, "\n");
	}

	if (run->nscenarios == 0)
		buf_puts(out, "1..0 # SKIP no scenarios\n");
	else
		buf_printf(out, "1..%zu\n", run->nscenarios);
	for (size_t i = 0; i < run->nscenarios; i++)
		render_test_point(out, i + 1, &run->scenarios[i]);

	buf_printf(out, "# %zu scenarios: %zu passed, %zu failed, %zu skipped, %zu errors",
	           sum->total, sum->pass, sum->fail, sum->skip, sum->error);
	if (sum->inconclusive)
		buf_printf(out, ", %zu inconclusive", sum->inconclusive);
	buf_printf(out, " (%lld ms)\n", (long long)run->duration_ms);
	/* A partial run must not look like a complete, green one. */
	if (run->interrupted)
		buf_puts(out, "Bail out! run interrupted: results are partial\n");
}
