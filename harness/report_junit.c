/*
 * report_junit.c - the JUnit XML report for CI servers: one <testsuite>,
 * one <testcase> per scenario, valid against Jenkins' junit-10.xsd.
 *
 * Owns XML escaping: markup characters become entities and anything XML 1.0
 * does not allow (control bytes, invalid UTF-8, U+FFFE/U+FFFF) becomes
 * "\xNN" text. Does not write anywhere (report.c does).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "findings.h"
#include "report.h"
#include "tls.h"

enum xml_context { XML_TEXT, XML_ATTR };

/*
 * Length of the UTF-8 sequence at s (1-4) with its code point in *cp_out,
 * or 0 when it is not a valid, shortest-form, non-surrogate sequence.
 */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp_out)
{
	size_t len;
	uint32_t cp, min;

	if (s[0] < 0x80) {
		*cp_out = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2;
		cp = s[0] & 0x1fu;
		min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3;
		cp = s[0] & 0x0fu;
		min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4;
		cp = s[0] & 0x07u;
		min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3fu);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	*cp_out = cp;
	return len;
}

/* XML 1.0 Char, minus the C0/C1 controls and DEL we never want to show raw. */
static int xml_char_ok(uint32_t cp)
{
	if (cp == 0x9 || cp == 0xa || cp == 0xd)
		return 1;
	if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0))
		return 0;
	return cp != 0xfffe && cp != 0xffff;
}

static void xml_put_n(struct buf *out, const char *str, size_t n, enum xml_context ctx)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < n) {
		uint32_t cp = 0;
		size_t len = utf8_decode(s + i, n - i, &cp);

		if (len == 0 || !xml_char_ok(cp)) {
			/* One byte at a time, so a bad sequence shows all its bytes. */
			size_t bad = len ? len : 1;

			for (size_t k = 0; k < bad; k++)
				buf_printf(out, "\\x%02x", (unsigned)s[i + k]);
			i += bad;
			continue;
		}
		switch (cp) {
		case '&': buf_puts(out, "&amp;"); break;
		case '<': buf_puts(out, "&lt;"); break;
		case '>': buf_puts(out, "&gt;"); break;
		case '"': buf_puts(out, "&quot;"); break;
		case '\'': buf_puts(out, "&apos;"); break;
		case '\r': buf_puts(out, "&#13;"); break;
		/* Attribute-value normalization would turn these into spaces. */
		case '\n': buf_puts(out, ctx == XML_ATTR ? "&#10;" : "\n"); break;
		case '\t': buf_puts(out, ctx == XML_ATTR ? "&#9;" : "\t"); break;
		default: buf_append(out, s + i, len); break;
		}
		i += len;
	}
}

static void xml_put(struct buf *out, const char *s, enum xml_context ctx)
{
	if (s)
		xml_put_n(out, s, strlen(s), ctx);
}

/* ` name="value"`, nothing when value is NULL. */
static void xml_attr(struct buf *out, const char *name, const char *value)
{
	if (!value)
		return;
	buf_printf(out, " %s=\"", name);
	xml_put(out, value, XML_ATTR);
	buf_puts(out, "\"");
}

/* Milliseconds as seconds with three decimals: "12.345". */
static void put_seconds(struct buf *out, int64_t ms)
{
	if (ms < 0)
		ms = 0;
	buf_printf(out, "%lld.%03lld", (long long)(ms / 1000), (long long)(ms % 1000));
}

static const char *or_empty(const char *s)
{
	return s ? s : "";
}

/*
 * Every step with a violation, in plain text: step k/N, file:line, the
 * command sent, the expectation, the reply lines, then each violation.
 */
static void put_violations(struct buf *out, const struct scenario_result *sr)
{
	for (size_t k = 0; k < sr->nsteps; k++) {
		const struct step_result *st = &sr->steps[k];

		if (st->nviolations == 0)
			continue;
		buf_printf(out, "step %zu/%zu ", k + 1, sr->nsteps);
		xml_put(out, st->file ? st->file : sr->file, XML_TEXT);
		buf_printf(out, ":%d\n  command: ", st->line);
		xml_put(out, or_empty(st->command), XML_TEXT);
		buf_puts(out, "\n  sent: ");
		xml_put(out, or_empty(st->sent), XML_TEXT);
		buf_puts(out, "\n  expected: ");
		xml_put(out, or_empty(st->expect), XML_TEXT);
		if (!st->has_reply) {
			buf_puts(out, "\n  reply: none\n");
		} else {
			buf_printf(out, "\n  reply: code %d, %zu line(s)\n", st->code,
			           st->lines_total);
			for (size_t i = 0; i < st->nlines; i++) {
				buf_puts(out, "    ");
				xml_put(out, st->lines[i], XML_TEXT);
				buf_puts(out, "\n");
			}
			if (st->lines_total > st->nlines)
				buf_printf(out, "    ... (%zu more lines not kept)\n",
				           st->lines_total - st->nlines);
		}
		for (size_t i = 0; i < st->nviolations; i++) {
			const struct violation *v = &st->violations[i];

			const char *sentence = findings_sentence(v);

			buf_puts(out, "  violation: ");
			xml_put(out, or_empty(v->rule), XML_TEXT);
			buf_printf(out, " (%s, ", severity_name(v->severity));
			xml_put(out, findings_level(sr, v), XML_TEXT);
			buf_puts(out, ", ");
			xml_put(out, findings_ref(sr, v), XML_TEXT);
			buf_puts(out, ")\n    ");
			xml_put(out, or_empty(v->message), XML_TEXT);
			buf_puts(out, "\n");
			if (sentence) {
				buf_puts(out, "    RFC: \"");
				xml_put(out, sentence, XML_TEXT);
				buf_puts(out, "\"\n");
			}
		}
	}
}

static void put_transcript(struct buf *out, const struct scenario_result *sr)
{
	if (!sr->transcript || !*sr->transcript)
		return;
	buf_puts(out, "transcript:\n");
	xml_put(out, sr->transcript, XML_TEXT);
	if (sr->transcript[strlen(sr->transcript) - 1] != '\n')
		buf_puts(out, "\n");
}

static int has_violations(const struct scenario_result *sr)
{
	for (size_t k = 0; k < sr->nsteps; k++)
		if (sr->steps[k].nviolations > 0)
			return 1;
	return 0;
}

static void render_testcase(struct buf *out, const struct scenario_result *sr)
{
	const char *id = sr->id ? sr->id : "";
	const char *dot = strrchr(id, '.');
	char *classname = dot ? xstrndup(id, (size_t)(dot - id)) : xstrdup("smtpconform");
	int has_transcript = sr->transcript && *sr->transcript;
	/* Warnings of a pass go to <system-out>, with the transcript. */
	int has_output = has_transcript || (sr->verdict != VERDICT_FAIL && has_violations(sr));

	buf_puts(out, "  <testcase");
	xml_attr(out, "classname", classname);
	xml_attr(out, "name", id);
	buf_puts(out, " time=\"");
	put_seconds(out, sr->duration_ms);
	free(classname);
	if (!has_output && (sr->verdict == VERDICT_PASS || sr->verdict == VERDICT_WARN)) {
		buf_puts(out, "\"/>\n");
		return;
	}
	buf_puts(out, "\">\n");

	if (sr->waived) {
		/* A known deviation: not a failure of this run. */
		char *message = xasprintf("waived: %s", or_empty(sr->waiver));
		buf_puts(out, "    <skipped");
		xml_attr(out, "message", message);
		buf_puts(out, "/>\n");
		free(message);
	} else
		switch (sr->verdict) {
		case VERDICT_FAIL: {
			const struct violation *v = report_first_violation(sr);
			char *message = v ? xasprintf("%s (%s, %s): %s", or_empty(v->rule),
			                              findings_level(sr, v), findings_ref(sr, v),
			                              or_empty(v->message))
			                  : xstrdup(sr->reason ? sr->reason : "scenario failed");

			buf_puts(out, "    <failure");
			xml_attr(out, "message", message);
			xml_attr(out, "type", v ? or_empty(v->rule) : "fail");
			buf_puts(out, ">");
			put_violations(out, sr);
			if (has_violations(sr) && has_transcript)
				buf_puts(out, "\n");
			put_transcript(out, sr);
			buf_puts(out, "</failure>\n");
			free(message);
			break;
		}
		case VERDICT_ERROR:
			buf_puts(out, "    <error");
			xml_attr(out, "message", sr->reason ? sr->reason : "harness error");
			xml_attr(out, "type", "error");
			buf_puts(out, ">");
			put_transcript(out, sr);
			buf_puts(out, "</error>\n");
			break;
		case VERDICT_SKIP:
			buf_puts(out, "    <skipped");
			xml_attr(out, "message", sr->reason);
			buf_puts(out, "/>\n");
			break;
		case VERDICT_INCONCLUSIVE: {
			/* Nothing was tested: JUnit has no such state, and a skip with
		 * the cause is what a CI dashboard shows best. */
			char *message = xasprintf("inconclusive: %s", or_empty(sr->reason));
			buf_puts(out, "    <skipped");
			xml_attr(out, "message", message);
			buf_puts(out, "/>\n");
			free(message);
			break;
		}
		case VERDICT_PASS:
		case VERDICT_WARN: break;
		}

	if (has_output) {
		buf_puts(out, "    <system-out>");
		if (sr->verdict != VERDICT_FAIL && has_violations(sr)) {
			put_violations(out, sr);
			if (has_transcript)
				buf_puts(out, "\n");
		}
		put_transcript(out, sr);
		buf_puts(out, "</system-out>\n");
	}
	buf_puts(out, "  </testcase>\n");
}

static void property(struct buf *out, const char *name, const char *value)
{
	buf_puts(out, "    <property");
	xml_attr(out, "name", name);
	xml_attr(out, "value", or_empty(value));
	buf_puts(out, "/>\n");
}

void report_render_junit(const struct run_result *run, struct buf *out)
{
	const struct run_summary *sum = &run->summary;

	buf_puts(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	buf_printf(out,
	           "<testsuite name=\"smtpconform\" tests=\"%zu\" failures=\"%zu\""
	           " errors=\"%zu\" skipped=\"%zu\" time=\"",
	           sum->total, sum->fail, sum->error, sum->skip + sum->waived + sum->inconclusive);
	put_seconds(out, run->duration_ms);
	buf_puts(out, "\"");
	xml_attr(out, "timestamp", run->started);
	buf_puts(out, ">\n");

	buf_puts(out, "  <properties>\n");
	property(out, "tool.name", run->tool_name);
	property(out, "tool.version", run->tool_version);
	property(out, "target", run->target);
	property(out, "profile", run->profile);
	property(out, "strict", run->strict ? "true" : "false");
	property(out, "interrupted", run->interrupted ? "true" : "false");
	if (report_used_tls(run)) {
		property(out, "tls.mode", run->tls_mode ? run->tls_mode : "starttls");
		property(out, "tls.verify",
		         run->tls_verify == TLS_VERIFY_REQUIRE ? "require"
		         : run->tls_verify                     ? "on"
		                                               : "off");
		char *untrusted = report_tls_untrusted_line(run);

		if (untrusted)
			property(out, "tls.untrusted", untrusted);
		free(untrusted);
		for (size_t i = 0; i < run->nscenarios; i++)
			if (run->scenarios[i].tls.protocol) {
				property(out, "tls.protocol", run->scenarios[i].tls.protocol);
				property(out, "tls.cipher", run->scenarios[i].tls.cipher);
				if (run->scenarios[i].tls.subject)
					property(out, "tls.subject", run->scenarios[i].tls.subject);
				break;
			}
	}
	if (run->greeting) {
		property(out, "probe.greeting", run->greeting);
		for (size_t i = 0; i < run->nehlo_keywords; i++)
			property(out, "probe.ehlo_keyword", run->ehlo_keywords[i]);
	}
	for (size_t i = 0; i < run->npreconditions; i++)
		property(out, "probe.precondition", run->preconditions[i]);
	buf_puts(out, "  </properties>\n");

	for (size_t i = 0; i < run->nscenarios; i++)
		render_testcase(out, &run->scenarios[i]);

	if (run->interrupted)
		buf_puts(out,
		         "  <system-out>run interrupted: results are partial\n</system-out>\n");
	buf_puts(out, "</testsuite>\n");
}
