/*
 * report.c - "--report FORMAT[:PATH]" parsing and writing a rendered report
 * to standard output or, atomically, to a file.
 *
 * The formats themselves live in report_text.c, report_json.c,
 * report_junit.c, report_tap.c, report_html.c and report_md.c; this file
 * only dispatches to them.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "report.h"
#include "findings.h"
#include "tls.h"

static const struct {
	const char *name;
	enum report_format format;
	void (*render)(const struct run_result *run, struct buf *out);
} report_formats[] = {
	{ "text", REPORT_TEXT, report_render_text },    { "json", REPORT_JSON, report_render_json },
	{ "junit", REPORT_JUNIT, report_render_junit }, { "tap", REPORT_TAP, report_render_tap },
	{ "html", REPORT_HTML, report_render_html },    { "md", REPORT_MD, report_render_md },
};
#define REPORT_NFORMATS (sizeof(report_formats) / sizeof(report_formats[0]))
#define REPORT_FORMAT_LIST "text, json, junit, tap, html, md"

int report_parse_spec(const char *arg, struct report_spec *out, char *err, size_t errlen)
{
	const char *colon;
	size_t namelen;

	out->format = REPORT_TEXT;
	out->path = NULL;
	if (!arg) {
		snprintf(err, errlen, "missing report format (expected %s)", REPORT_FORMAT_LIST);
		return -1;
	}
	colon = strchr(arg, ':');
	namelen = colon ? (size_t)(colon - arg) : strlen(arg);
	for (size_t i = 0; i < REPORT_NFORMATS; i++) {
		if (strlen(report_formats[i].name) != namelen ||
		    memcmp(report_formats[i].name, arg, namelen) != 0)
			continue;
		if (colon && colon[1] == '\0') {
			snprintf(err, errlen, "report '%s': empty path after ':'", arg);
			return -1;
		}
		out->format = report_formats[i].format;
		/* "FORMAT:-" is standard output, like no path at all. */
		if (colon && strcmp(colon + 1, "-") != 0)
			out->path = xstrdup(colon + 1);
		return 0;
	}
	snprintf(err, errlen, "unknown report format '%.*s' (expected %s)",
	         (int)(namelen > 64 ? 64 : namelen), arg, REPORT_FORMAT_LIST);
	return -1;
}

void report_spec_free(struct report_spec *spec)
{
	if (!spec)
		return;
	free(spec->path);
	spec->path = NULL;
}

static const char *format_name(enum report_format format)
{
	for (size_t i = 0; i < REPORT_NFORMATS; i++)
		if (report_formats[i].format == format)
			return report_formats[i].name;
	BUG("unknown report format");
}

/* path with its directory resolved (symbolic links, "." and ".."), so two
 * spellings of one file compare equal; path itself when that fails. */
static char *canonical_path(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir =
	    slash ? xstrndup(path, slash == path ? 1 : (size_t)(slash - path)) : xstrdup(".");
	char resolved[PATH_MAX];
	char *out = realpath(dir, resolved) ? xasprintf("%s/%s", resolved, slash ? slash + 1 : path)
	                                    : xstrdup(path);
	free(dir);
	return out;
}

/* Two report files that would overwrite each other. Files written in place
 * (/dev/stdout, a pipe) are not compared: nothing is replaced there. */
static int same_file(const char *a, const char *b)
{
	struct stat sa, sb;
	int a_exists = stat(a, &sa) == 0, b_exists = stat(b, &sb) == 0;
	if ((a_exists && !S_ISREG(sa.st_mode)) || (b_exists && !S_ISREG(sb.st_mode)))
		return 0;
	if (a_exists && b_exists)
		return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
	char *ca = canonical_path(a), *cb = canonical_path(b);
	int same = strcmp(ca, cb) == 0;
	free(ca);
	free(cb);
	return same;
}

int report_check_specs(const struct report_spec *specs, size_t n, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		const char *path = specs[i].path;
		if (!path)
			continue;
		for (size_t k = 0; k < i; k++) {
			if (specs[k].path && same_file(specs[k].path, path)) {
				snprintf(err, errlen,
				         "--report %s:%s and --report %s:%s name the same file",
				         format_name(specs[k].format), specs[k].path,
				         format_name(specs[i].format), path);
				return -1;
			}
		}
		if (file_check_writable(path) < 0) {
			snprintf(err, errlen, "--report %s:%s: cannot write there: %s",
			         format_name(specs[i].format), path, strerror(errno));
			return -1;
		}
	}
	return 0;
}

static int write_stdout(const char *data, size_t len, char *err, size_t errlen)
{
	errno = 0;
	if (fwrite(data, 1, len, stdout) != len || fflush(stdout) != 0 || ferror(stdout)) {
		snprintf(err, errlen, "standard output: %s", strerror(errno ? errno : EIO));
		return -1;
	}
	return 0;
}

int report_write(const struct run_result *run, const struct report_spec *spec, char *err,
                 size_t errlen)
{
	struct buf out = { 0 };
	int rc = -1;
	size_t i;

	for (i = 0; i < REPORT_NFORMATS; i++)
		if (report_formats[i].format == spec->format)
			break;
	if (i == REPORT_NFORMATS)
		BUG("unknown report format");
	report_formats[i].render(run, &out);

	if (!spec->path) {
		rc = write_stdout(out.data ? out.data : "", out.len, err, errlen);
		goto out;
	}
	if (file_write_atomic(spec->path, out.data ? out.data : "", out.len) != 0) {
		snprintf(err, errlen, "%s: %s", spec->path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	buf_free(&out);
	return rc;
}

int report_write_compare(const struct run_result *runs, const char *const *labels, size_t n,
                         const struct report_spec *spec, char *err, size_t errlen)
{
	struct buf out = { 0 };
	int rc = -1;

	if (spec->format == REPORT_HTML)
		report_render_compare_html(runs, labels, n, &out);
	else if (spec->format == REPORT_MD)
		report_render_compare_md(runs, labels, n, &out);
	else {
		snprintf(err, errlen, "%s: several runs side by side render as html or md only",
		         format_name(spec->format));
		return -1;
	}
	if (!spec->path)
		rc = write_stdout(out.data ? out.data : "", out.len, err, errlen);
	else if (file_write_atomic(spec->path, out.data ? out.data : "", out.len) != 0)
		snprintf(err, errlen, "%s: %s", spec->path, strerror(errno));
	else
		rc = 0;
	buf_free(&out);
	return rc;
}

int report_exit_code(const struct run_result *run)
{
	if (run->summary.fail > 0)
		return 1;
	if (run->summary.error > 0 || run->interrupted)
		return 3;
	if (run->summary.inconclusive > 0)
		return 4;
	return 0;
}

/* ", 2 warnings, 1 note": the findings that fail nothing, by severity. */
static void put_unfailing(const struct findings *fs, struct buf *out)
{
	size_t nwarn = 0, nnote = 0;

	for (size_t i = 0; i < fs->n; i++) {
		const struct finding *f = &fs->list[i];

		if (f->failing || f->waived)
			continue;
		if (f->severity == SEV_NOTE)
			nnote++;
		else
			nwarn++;
	}
	if (nwarn > 0)
		buf_printf(out, ", %zu warning%s", nwarn, nwarn == 1 ? "" : "s");
	if (nnote > 0)
		buf_printf(out, ", %zu note%s", nnote, nnote == 1 ? "" : "s");
}

void report_verdict_line(const struct run_result *run, const struct findings *fs, struct buf *out)
{
	const struct run_summary *sum = &run->summary;

	switch (report_exit_code(run)) {
	case 1:
		buf_printf(out, "FAIL: %zu of %zu scenarios failed, %zu distinct finding%s",
		           sum->fail, sum->total, fs->nfailing, fs->nfailing == 1 ? "" : "s");
		put_unfailing(fs, out);
		break;
	case 3:
		if (sum->error > 0)
			buf_printf(out, "ERROR: %zu of %zu scenarios could not be run", sum->error,
			           sum->total);
		else
			buf_puts(out, "ERROR: the run was interrupted");
		break;
	case 4:
		buf_printf(out,
		           "INCONCLUSIVE: nothing failed, but %zu of %zu scenarios tested nothing "
		           "(a setup step or a precondition did not hold), %zu passed",
		           sum->inconclusive, sum->total, sum->pass);
		put_unfailing(fs, out);
		break;
	default:
		buf_printf(out, "PASS: %zu of %zu scenarios passed, %zu skipped", sum->pass,
		           sum->total, sum->skip);
		put_unfailing(fs, out);
		break;
	}
	if (sum->waived > 0)
		buf_printf(out, " (%zu known deviation%s waived)", sum->waived,
		           sum->waived == 1 ? "" : "s");
	if (run->interrupted && sum->error > 0)
		buf_puts(out, "; interrupted");
}

int report_used_tls(const struct run_result *run)
{
	if (run->tls_mode)
		return 1;
	for (size_t i = 0; i < run->nscenarios; i++)
		if (run->scenarios[i].tls.protocol || run->scenarios[i].tls.verify_error)
			return 1;
	return 0;
}

const char *report_tls_verify_name(const struct run_result *run)
{
	switch (run->tls_verify) {
	case TLS_VERIFY_OFF: return "OFF (--tls-verify=off)";
	case TLS_VERIFY_REQUIRE: return "required (--tls-verify=require)";
	default: return "on";
	}
}

const char *report_tls_untrusted(const struct run_result *run)
{
	if (run->tls_verify == TLS_VERIFY_OFF)
		return NULL;
	for (size_t i = 0; i < run->nscenarios; i++)
		if (run->scenarios[i].tls.verify_error)
			return run->scenarios[i].tls.verify_error;
	return NULL;
}

char *report_tls_untrusted_line(const struct run_result *run)
{
	const struct rule *r = rule_get(RULE_TLS_CERT_UNTRUSTED);
	const char *cause = report_tls_untrusted(run);
	struct buf line = { 0 };
	struct buf *out = &line;

	if (!cause)
		return NULL;
	buf_printf(out, "%s (%s, %s): the server's certificate did not verify: %s. ", r->id,
	           rule_level_name(r->level), r->ref, cause);
	if (run->tls_verify == TLS_VERIFY_REQUIRE)
		buf_puts(out,
		         "With --tls-verify require the handshake was abandoned and the TLS "
		         "scenarios failed on it. Fix: --ca-file FILE (the CA that issued it), or "
		         "--tls-verify on to test the protocol over the unverified handshake.");
	else
		buf_puts(out,
		         "Trust is the tester's decision, not a protocol requirement: the TLS "
		         "scenarios ran over the unverified handshake and judge the protocol "
		         "only. Fix: --ca-file FILE (the CA that issued it), or --tls-verify off "
		         "for a lab server; --tls-verify require makes it a failure.");
	return buf_steal(&line);
}

const char *report_clean(const char *s, struct buf *scratch)
{
	if (!s)
		return "";
	size_t len = strlen(s), backslashes = 0;
	for (size_t i = 0; i < len; i++)
		if (s[i] == '\\')
			backslashes++;
	buf_reset(scratch);
	text_escape(scratch, s, len);
	if (scratch->len == len + backslashes)
		return s;
	return scratch->data;
}

size_t report_cut(const char *s, size_t max)
{
	size_t len = strlen(s), cut = max;

	if (len <= max)
		return len;
	while (cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80)
		cut--;
	return cut;
}

const struct violation *report_first_violation(const struct scenario_result *sr)
{
	const struct violation *any = NULL;

	for (size_t k = 0; k < sr->nsteps; k++) {
		const struct step_result *st = &sr->steps[k];

		if (st->nviolations == 0)
			continue;
		if (!any)
			any = &st->violations[0];
		if (st->verdict != VERDICT_FAIL)
			continue;
		for (size_t i = 0; i < st->nviolations; i++)
			if (st->violations[i].severity == SEV_ERROR)
				return &st->violations[i];
		return &st->violations[0];
	}
	return any;
}
