/*
 * test_report_html.c - the HTML and Markdown reports.
 *
 * Builds a run by hand (like test_report.c) whose server text is hostile
 * markup, renders both formats and checks: everything is escaped, the HTML
 * fetches nothing (no URL, no script), the command x code grid has the
 * right cells and colours, failures show their rule and reference, and the
 * Markdown stays short however big the run. Run from tests/unit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "report.h"
#include "unit.h"

#define EVIL "<script>alert(\"x\" & 'y')</script>"

static char **strv(size_t n, ...)
{
	char **v = xcalloc(n, sizeof(*v));
	va_list ap;

	va_start(ap, n);
	for (size_t i = 0; i < n; i++)
		v[i] = xstrdup(va_arg(ap, const char *));
	va_end(ap);
	return v;
}

static void set_step(struct step_result *st, int line, const char *sent, const char *command,
                     const char *expect, int code, const char *reply)
{
	st->line = line;
	st->file = xstrdup("scenarios/core/sample.smtp");
	st->sent = xstrdup(sent);
	st->command = xstrdup(command);
	st->expect = xstrdup(expect);
	st->has_reply = code != 0;
	st->code = code;
	st->verdict = VERDICT_PASS;
	if (reply) {
		st->lines = strv(1, reply);
		st->nlines = st->lines_total = 1;
	}
}

static void set_scenario(struct scenario_result *sr, const char *id, const char *level,
                         const char *ref, enum verdict verdict, size_t nsteps)
{
	sr->id = xstrdup(id);
	sr->file = xstrdup("scenarios/core/sample.smtp");
	sr->title = xstrdup("title " EVIL);
	sr->ref = xstrdup(ref);
	sr->level = xstrdup(level);
	sr->tags = strv(1, "core");
	sr->ntags = 1;
	sr->verdict = verdict;
	sr->duration_ms = 5;
	sr->steps = nsteps ? xcalloc(nsteps, sizeof(*sr->steps)) : NULL;
	sr->nsteps = nsteps;
	sr->transcript = xstrdup("");
}

static void greeting(struct step_result *st)
{
	set_step(st, 1, "", "CONNECT", "220", 220, "220 mx.example " EVIL);
}

/*
 * 1 pass (CONNECT 220, EHLO 250), 2 fail (RCPT 550 matrix.not-allowed),
 * 3 pass with warning (NOOP 200 matrix.nonstandard), 4 fail (MAIL 250 with
 * syntax.bare-lf), 5 pass with QUIT 250 and no violation recorded (not in
 * the matrix, but the grid renders what the run recorded: allowed), 6 skip,
 * 7 error, 8 fail with no reply (no cell).
 */
static struct run_result *build_run(void)
{
	struct run_result *run = xcalloc(1, sizeof(*run));
	struct scenario_result *sr;
	struct step_result *st;

	run->tool_name = xstrdup("smtpconform");
	run->tool_version = xstrdup("0.1.0");
	run->target = xstrdup("127.0.0.1:2525");
	run->profile = xstrdup("rfc5321");
	run->started = xstrdup("2026-11-23T04:32:22Z");
	run->duration_ms = 99;
	run->tls_mode = xstrdup("starttls");
	run->tls_verify = 0;
	run->greeting = xstrdup("220 mx.example " EVIL);
	run->ehlo_keywords = strv(2, "PIPELINING", "X-EVIL " EVIL);
	run->nehlo_keywords = 2;
	run->tls_probed = 1;
	run->ehlo_keywords_tls = strv(1, "AUTH PLAIN");
	run->nehlo_keywords_tls = 1;
	run->nscenarios = 8;
	run->scenarios = xcalloc(run->nscenarios, sizeof(*run->scenarios));

	sr = &run->scenarios[0];
	set_scenario(sr, "core.ehlo.basic", "MUST", "RFC 5321 4.1.1.1", VERDICT_PASS, 2);
	greeting(&sr->steps[0]);
	set_step(&sr->steps[1], 3, "EHLO c.example", "EHLO", "250", 250, "250 ok");
	sr->tls.protocol = xstrdup("TLSv1.3");
	sr->tls.cipher = xstrdup("TLS_AES_256_GCM_SHA384");
	sr->tls.subject = xstrdup("CN=mx.example " EVIL);
	sr->tls.verified = 0;

	sr = &run->scenarios[1];
	set_scenario(sr, "core.rcpt.unknown", "MUST", "RFC 5321 4.3.2", VERDICT_FAIL, 3);
	greeting(&sr->steps[0]);
	set_step(&sr->steps[1], 3, "EHLO c.example", "EHLO", "250", 250, "250 ok");
	st = &sr->steps[2];
	set_step(st, 7, "RCPT TO:<a@b>", "RCPT", "250|251", 550, "550 no " EVIL);
	step_add_violation(st, RULE_MATRIX_NOT_ALLOWED, "RFC 5321 4.3.2",
	                   "550 is not allowed after RCPT " EVIL);
	st->verdict = step_verdict(st, 0);
	free(sr->transcript);
	sr->transcript =
	    xstrdup("S: 220 mx.example " EVIL "\nC: RCPT TO:<a@b>\nS: 550 no " EVIL "\n");

	sr = &run->scenarios[2];
	set_scenario(sr, "core.noop.basic", "SHOULD", "RFC 5321 4.1.1.9", VERDICT_PASS, 1);
	st = &sr->steps[0];
	set_step(st, 4, "NOOP", "NOOP", "250", 200, "200 ok");
	step_add_violation(st, RULE_MATRIX_NONSTANDARD, "RFC 876", "200 is a non-standard answer");
	st->verdict = step_verdict(st, 0);

	sr = &run->scenarios[3];
	set_scenario(sr, "core.mail.bare-lf", "MUST", "RFC 5321 2.3.8", VERDICT_FAIL, 1);
	st = &sr->steps[0];
	set_step(st, 5, "MAIL FROM:<>", "MAIL", "250", 250, "250 ok");
	step_add_violation(st, RULE_SYNTAX_BARE_LF, "RFC 5321 2.3.8", "reply line ends in LF");
	st->verdict = step_verdict(st, 0);

	sr = &run->scenarios[4];
	set_scenario(sr, "core.quit.basic", "MAY", "RFC 5321 4.1.1.10", VERDICT_PASS, 1);
	set_step(&sr->steps[0], 9, "QUIT", "QUIT", "221|250", 250, "250 bye");

	sr = &run->scenarios[5];
	set_scenario(sr, "core.starttls.basic", "MUST", "RFC 3207 4", VERDICT_SKIP, 0);
	sr->reason = xstrdup("requires STARTTLS " EVIL);

	sr = &run->scenarios[6];
	set_scenario(sr, "core.data.big", "MUST", "RFC 5321 4.5.3.1", VERDICT_ERROR, 0);
	sr->reason = xstrdup("connect: refused " EVIL);

	sr = &run->scenarios[7];
	set_scenario(sr, "core.vrfy.timeout", "SHOULD", "no reference", VERDICT_FAIL, 1);
	st = &sr->steps[0];
	set_step(st, 2, "VRFY x", "VRFY", "252", 0, NULL);
	step_add_violation(st, RULE_TIMEOUT, "RFC 5321 4.5.3.2", "no reply");
	st->verdict = step_verdict(st, 0);

	run_summarize(run);
	return run;
}

static void free_run(struct run_result *run)
{
	run_result_free(run);
	free(run);
}

static char *render(void (*fn)(const struct run_result *, struct buf *),
                    const struct run_result *run)
{
	struct buf out = { 0 };

	fn(run, &out);
	return buf_steal(&out);
}

static int contains_ci(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	for (const char *p = hay; *p; p++)
		if (strncasecmp(p, needle, n) == 0)
			return 1;
	return 0;
}

static void assert_contains(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("output lacks '%s'", needle);
}

static void assert_lacks(const char *hay, const char *needle)
{
	if (contains_ci(hay, needle))
		fail_msg("output contains '%s'", needle);
}

/* The grid cell for "CMD CODE": its class, and its count (the text). */
static void assert_cell(const char *html, const char *cell, const char *cls, int count)
{
	char needle[128], *p;

	snprintf(needle, sizeof(needle), "data-cell=\"%s\"", cell);
	p = strstr(html, needle);
	if (!p)
		fail_msg("no grid cell %s", cell);
	if (strstr(p + 1, needle))
		fail_msg("grid cell %s twice", cell);
	snprintf(needle, sizeof(needle), "<td class=\"cell %s\" data-cell=\"%s\"", cls, cell);
	if (!strstr(html, needle))
		fail_msg("grid cell %s is not '%s'", cell, cls);
	p = strchr(strstr(html, needle), '>');
	assert_non_null(p);
	/* The count is the text of the cell's link to its scenarios. */
	if (strncmp(p + 1, "<a href=\"#", 10) != 0)
		fail_msg("grid cell %s has no link", cell);
	p = strchr(p + 1, '>');
	assert_non_null(p);
	assert_int_equal(atoi(p + 1), count);
}

static void test_html_escapes(void **state)
{
	struct run_result *run = build_run();
	char *html = render(report_render_html, run);

	(void)state;
	assert_true(strncmp(html, "<!DOCTYPE html>", 15) == 0);
	assert_lacks(html, "<script");
	assert_lacks(html, "</script");
	assert_contains(html,
	                "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;");
	/* raw quotes only inside our own markup: never next to the server's text */
	assert_lacks(html, "alert(\"");
	assert_lacks(html, "& 'y'");
	for (const char *p = html; *p; p++)
		assert_true((unsigned char)*p >= 0x20 || *p == '\n');
	free(html);
	free_run(run);
}

static void test_html_no_fetch(void **state)
{
	struct run_result *run = build_run();
	char *html = render(report_render_html, run);

	(void)state;
	assert_lacks(html, "http://");
	assert_lacks(html, "https://");
	assert_lacks(html, "src=");
	assert_lacks(html, "<link");
	assert_lacks(html, "@import");
	assert_lacks(html, "url(");
	assert_lacks(html, "javascript:");
	assert_contains(html, "<style>");
	assert_contains(html, "@media print");
	assert_contains(html, "<svg");
	free(html);
	free_run(run);
}

static void test_html_grid(void **state)
{
	struct run_result *run = build_run();
	char *html = render(report_render_html, run);

	(void)state;
	assert_cell(html, "CONNECT 220", "ok", 2);
	assert_cell(html, "EHLO 250", "ok", 2);
	assert_cell(html, "RCPT 550", "bad", 1);
	assert_cell(html, "NOOP 200", "warn", 1);
	assert_cell(html, "MAIL 250", "bad", 1);
	/* Issue 10 item 4: the grid does not judge again (the old step_cell
	 * looked the matrix up a second time and made this cell red). */
	assert_cell(html, "QUIT 250", "ok", 1);
	/* a step without a reply makes no cell, its command no row */
	assert_lacks(html, "data-cell=\"VRFY");
	assert_lacks(html, "<th scope=\"row\">VRFY</th>");
	/* no cell for a pair never seen */
	assert_lacks(html, "data-cell=\"RCPT 250\"");
	/* an allowed cell links to its first scenario; a flagged one to the list of its
	 * scenarios under the grid, which links to each */
	assert_contains(html, "data-cell=\"CONNECT 220\" title=\"CONNECT &#8594; 220: 2, allowed\">"
	                      "<a href=\"#sc-1\">2</a>");
	assert_contains(html, "data-cell=\"RCPT 550\" title=\"RCPT &#8594; 550: 1, violation\">"
	                      "<a href=\"#cell-3-");
	assert_contains(html, "<dt id=\"cell-3-");
	assert_contains(html, "<code>RCPT</code> &#8594; 550</dt><dd><a href=\"#sc-2\">"
	                      "core.rcpt.unknown</a></dd>");
	free(html);
	free_run(run);
}

static void test_html_content(void **state)
{
	struct run_result *run = build_run();
	char *html = render(report_render_html, run);

	(void)state;
	/* header, probe, TLS */
	assert_contains(html, "127.0.0.1:2525");
	assert_contains(html, "rfc5321");
	assert_contains(html, "0.1.0");
	assert_contains(html, "<code>PIPELINING</code>");
	assert_contains(html, "EHLO keywords after STARTTLS");
	assert_contains(html, "<code>AUTH PLAIN</code>");
	assert_contains(html, "TLSv1.3");
	assert_contains(html, "TLS_AES_256_GCM_SHA384");
	assert_contains(html, "verification was OFF");
	/* summary by level and by RFC */
	assert_contains(html, "<th scope=\"row\">MUST</th><td class=\"num\">5</td>"
	                      "<td class=\"num pass-t\">1</td><td class=\"num fail-t\">2</td>"
	                      "<td class=\"num\">1</td><td class=\"num\">1</td>");
	assert_contains(html, "<th scope=\"row\">SHOULD</th><td class=\"num\">2</td>"
	                      "<td class=\"num pass-t\">1</td><td class=\"num fail-t\">1</td>");
	assert_contains(html, "<th scope=\"row\">MAY</th><td class=\"num\">1</td>");
	assert_contains(html, "<th scope=\"row\">RFC 5321</th><td class=\"num\">6</td>");
	assert_contains(html, "<th scope=\"row\">RFC 3207</th><td class=\"num\">1</td>");
	assert_contains(html, "<th scope=\"row\">no RFC</th><td class=\"num\">1</td>");
	/* the by-RFC table in RFC order, "no RFC" last */
	assert_true(strstr(html, "<th scope=\"row\">RFC 3207</th>") <
	            strstr(html, "<th scope=\"row\">RFC 5321</th>"));
	assert_true(strstr(html, "<th scope=\"row\">RFC 5321</th>") <
	            strstr(html, "<th scope=\"row\">no RFC</th>"));
	/* the verdict line at the top, the findings before the scenarios */
	assert_contains(html, "<p class=\"verdict fail\">FAIL: 3 of 8 scenarios failed, "
	                      "3 distinct findings, 1 warning</p>");
	assert_true(strstr(html, "<p class=\"verdict") < strstr(html, "<section id=\"summary\">"));
	assert_contains(html, "<h2>Findings (4 distinct, 3 failing)</h2>");
	assert_true(strstr(html, "<section id=\"findings\">") <
	            strstr(html, "<section id=\"scenarios\">"));
	assert_contains(html, "<li class=\"finding fail\" id=\"f-1\"><p class=\"fhead\">"
	                      "<span class=\"badge fail\">FAIL</span> <strong>MUST</strong> "
	                      "<code class=\"rule\">syntax.bare-lf</code> <code>MAIL</code> "
	                      "&#8594; 250");
	/* the RFC sentence quoted, in the finding and under the violation */
	assert_contains(html, "<blockquote class=\"sentence\">&#8220;Conforming implementations "
	                      "MUST NOT recognize");
	assert_contains(html, "<q class=\"sentence\">The table below lists alternative success");
	assert_contains(html, "<p class=\"affects\">Scenarios: <a href=\"#sc-2\">"
	                      "core.rcpt.unknown</a></p>");
	/* failures: open, highlighted reply, rule, message, citation */
	assert_contains(html, "<details class=\"scenario fail\" id=\"sc-2\" open>");
	assert_contains(html, "<details class=\"scenario pass\" id=\"sc-1\"><summary>");
	assert_contains(html, "<details class=\"scenario warn\" id=\"sc-3\"><summary>");
	assert_contains(html, "<pre class=\"s hl\">S: 550 no &lt;script&gt;");
	assert_contains(html, "<code class=\"rule\">matrix.not-allowed</code> 550 is not allowed "
	                      "after RCPT &lt;script&gt;");
	assert_contains(html, "<cite>RFC 5321 4.3.2</cite>");
	assert_contains(html, "<mark>S: 550 no &lt;script&gt;");
	assert_contains(html, "(no reply)");
	assert_contains(html, "skipped: requires STARTTLS &lt;script&gt;");
	assert_contains(html, "error: connect: refused &lt;script&gt;");
	assert_contains(html, "<a href=\"#sc-2\">core.rcpt.unknown</a>");
	free(html);
	free_run(run);
}

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (*s == '\n')
			n++;
	return n;
}

static void test_md_small(void **state)
{
	struct run_result *run = build_run();
	char *md = render(report_render_md, run);

	(void)state;
	assert_lacks(md, "<script");
	assert_contains(md, "&lt;script&gt;");
	assert_lacks(md, "http://");
	assert_contains(md, "- Target: 127.0.0.1:2525");
	assert_contains(md, "- Profile: rfc5321");
	assert_contains(md, "- Version: smtpconform 0.1.0");
	assert_contains(md, "**8 scenarios: 3 passed, 3 failed, 1 skipped, 1 errors**");
	{
		const char *head =
		    "## SMTP conformance: 127.0.0.1:2525\n\n**FAIL: 3 of 8 scenarios "
		    "failed, 3 distinct findings, 1 warning**\n";
		assert_true(strncmp(md, head, strlen(head)) == 0);
	}
	assert_contains(md, "### Findings (4 distinct, 3 failing)");
	assert_contains(md,
	                "| 1 | FAIL | MUST | syntax.bare-lf | MAIL &#8594; 250 | RFC 5321 2.3.8 "
	                "&#8212; &quot;Conforming implementations MUST NOT recognize or generate "
	                "any other character or character sequence as a line terminator.&quot; | "
	                "1: core.mail.bare-lf | - |");
	assert_contains(md, "| 4 | WARN | SHOULD | matrix.nonstandard | NOOP &#8594; 200 |");
	/* the level of the finding that failed it (4.3.1's SHOULD), not the
	 * scenario's MUST: the same level the findings table gives it */
	assert_contains(
	    md, "| core.rcpt.unknown | SHOULD | 3 | matrix.not-allowed | RCPT &#8594; 550 | "
	        "RFC 5321 4.3.2 |");
	assert_contains(md, "| core.mail.bare-lf | MUST | 1 | syntax.bare-lf | MAIL &#8594; 250 | "
	                    "RFC 5321 2.3.8 |");
	assert_contains(md, "| core.vrfy.timeout | MUST | 2 | timeout | VRFY | RFC 5321 4.5.3.2 |");
	assert_contains(md, "error: connect: refused &lt;script&gt;");
	assert_contains(md, "- 1 scenario: requires STARTTLS &lt;script&gt;alert(&quot;x&quot; "
	                    "&amp; &#39;y&#39;)&lt;/script&gt;");
	assert_contains(md, "certificate verification OFF");
	assert_true(count_lines(md) <= 60);
	free(md);
	free_run(run);
}

/* A huge run: many failures, many distinct skip reasons, pipes in text. */
static void test_md_bounded(void **state)
{
	struct run_result *run = xcalloc(1, sizeof(*run));
	char id[64], *md;

	(void)state;
	run->tool_name = xstrdup("smtpconform");
	run->tool_version = xstrdup("0.1.0");
	run->target = xstrdup("mx|example");
	run->profile = xstrdup("rfc5321");
	run->nscenarios = 500;
	run->scenarios = xcalloc(run->nscenarios, sizeof(*run->scenarios));
	for (size_t i = 0; i < run->nscenarios; i++) {
		struct scenario_result *sr = &run->scenarios[i];

		snprintf(id, sizeof(id), "gen.%zu", i);
		if (i % 2 == 0) {
			set_scenario(sr, id, "MUST", "RFC 5321 4.3.2", VERDICT_FAIL, 1);
			set_step(&sr->steps[0], 3, "NOOP", "NOOP", "250", 251, "251 x|y");
			step_add_violation(&sr->steps[0], RULE_MATRIX_NOT_ALLOWED, "RFC 5321 4.3.2",
			                   "no | pipes");
			sr->steps[0].verdict = step_verdict(&sr->steps[0], 0);
		} else {
			char reason[160];

			set_scenario(sr, id, "MAY", "RFC 5321", VERDICT_SKIP, 0);
			/* i is odd: i % 40 takes 20 values, 20 reasons */
			snprintf(
			    reason, sizeof(reason), "requires X-%zu | %s", i % 40,
			    "a very long reason that goes on and on and on and on and on and on");
			sr->reason = xstrdup(reason);
		}
	}
	run_summarize(run);
	md = render(report_render_md, run);
	assert_true(count_lines(md) <= 60);
	assert_contains(md, "... and 230 more");
	assert_contains(md, "... and 14 more reasons");
	/* 250 failures of one cause: one finding */
	assert_contains(md, "### Findings (1 distinct, 1 failing)");
	assert_contains(md, "250: gen.0, gen.2, gen.4 and 247 more");
	assert_contains(md, "mx\\|example");
	assert_lacks(md, "x|y");
	free(md);

	/* the HTML of the same run renders and keeps one row per command */
	md = render(report_render_html, run);
	assert_cell(md, "NOOP 251", "bad", 250);
	free(md);
	free_run(run);
}

/* expect.* violations cite "scenario": the Markdown ref column shows the
 * scenario's ref: instead, and the finding its level. */
static void test_md_ref_of_expect(void **state)
{
	struct run_result *run = xcalloc(1, sizeof(*run));
	struct scenario_result *sr;
	char *md;

	(void)state;
	run->target = xstrdup("mx.example:25");
	run->nscenarios = 1;
	run->scenarios = xcalloc(1, sizeof(*run->scenarios));
	sr = &run->scenarios[0];
	set_scenario(sr, "core.noop.basic", "MUST", "RFC 5321 4.1.1.9", VERDICT_FAIL, 1);
	set_step(&sr->steps[0], 4, "NOOP", "NOOP", "250", 251, "251 odd");
	step_add_violation(&sr->steps[0], RULE_EXPECT_CODE, NULL, RULE_MSG_EXPECT_CODE, "250", 251);
	sr->steps[0].verdict = step_verdict(&sr->steps[0], 0);
	run_summarize(run);
	md = render(report_render_md, run);
	assert_contains(md, "| core.noop.basic | MUST | 1 | expect.code | NOOP &#8594; 251 | "
	                    "RFC 5321 4.1.1.9 |");
	assert_contains(md, "| 1 | FAIL | MUST | expect.code | NOOP &#8594; 251 | RFC 5321 4.1.1.9 "
	                    "&#8212; scenario: title");
	assert_lacks(md, "| scenario |\n");
	free(md);
	free_run(run);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_html_escapes),     cmocka_unit_test(test_html_no_fetch),
		cmocka_unit_test(test_html_grid),        cmocka_unit_test(test_html_content),
		cmocka_unit_test(test_md_small),         cmocka_unit_test(test_md_bounded),
		cmocka_unit_test(test_md_ref_of_expect),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
