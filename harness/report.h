/*
 * report.h - rendering a run_result into text, JSON, JUnit XML, TAP 14, HTML
 * and Markdown, and writing reports atomically.
 *
 * Owns the formats' wording and layout. Every format is a pure function of
 * the result model into a buffer; report_write() puts the buffer on stdout or
 * into a file (temporary file, then rename). Does not run anything.
 */
#ifndef SMTPCONFORM_REPORT_H
#define SMTPCONFORM_REPORT_H

#include <stddef.h>

#include "result.h"
#include "util.h"

enum report_format { REPORT_TEXT, REPORT_JSON, REPORT_JUNIT, REPORT_TAP, REPORT_HTML, REPORT_MD };

struct report_spec {
	enum report_format format;
	char *path; /* NULL: standard output */
};

/*
 * Helpers the renderers share. report_clean(): s itself when it keeps the
 * model's promise (valid UTF-8, no control bytes), else s text_escape()d
 * whole into scratch (freed by the caller); "" for NULL. text_escape() only
 * doubles backslashes in clean text, so s was clean exactly when that is
 * all it did. report_first_violation(): the first violation that made the
 * scenario fail, else the first at all, or NULL.
 */
const char *report_clean(const char *s, struct buf *scratch);
/* How many bytes of s to keep to cut it to at most max bytes without
 * splitting a UTF-8 sequence (strlen(s) when it is not longer). */
size_t report_cut(const char *s, size_t max);
const struct violation *report_first_violation(const struct scenario_result *sr);

/* The run's verdict as the exit code `run` gives it: 1 when a scenario
 * failed (waived ones aside), else 3 when one errored or the run was cut
 * short, else 4 when one was inconclusive, else 0. `report --from` and
 * `merge` exit with it. */
int report_exit_code(const struct run_result *run);
struct findings;
/* One line for people: "FAIL: 7 of 28 scenarios failed, 2 distinct findings,
 * 1 warning", "PASS: 20 of 28 scenarios passed, 8 skipped, 2 warnings",
 * "ERROR: ..." (no trailing newline). Findings counted by what they do:
 * failing ones after FAIL, then warnings and notes (waived ones are in the
 * waived count). */
void report_verdict_line(const struct run_result *run, const struct findings *fs, struct buf *out);

/* 1 when the run used TLS: implicit mode, or a scenario upgraded with
 * STARTTLS (or tried to: a certificate --tls-verify require refused). */
int report_used_tls(const struct run_result *run);
/* "on", "OFF (--tls-verify=off)" or "required (--tls-verify=require)". */
const char *report_tls_verify_name(const struct run_result *run);

/*
 * tls.certificate-untrusted, reported once in every format's header: the
 * cause of the first certificate that did not verify (OpenSSL's verify
 * error string), or NULL when every one did or verification was off.
 * report_tls_untrusted_line(): the one line each format shows, with the
 * rule, its level and RFC section, the cause, what it meant for the run and
 * the fix (malloc'd, no trailing newline; the caller escapes it for its
 * format), or NULL when there is no such certificate.
 */
const char *report_tls_untrusted(const struct run_result *run);
char *report_tls_untrusted_line(const struct run_result *run);

/* "FORMAT[:PATH]". Returns 0, or -1 with a message naming the formats. */
int report_parse_spec(const char *arg, struct report_spec *out, char *err, size_t errlen);
void report_spec_free(struct report_spec *spec);

void report_render_text(const struct run_result *run, struct buf *out);
/*
 * The text report's parts, for the report streamed as the run goes
 * (report_live.h). head: the tool, target, greeting (what the probe knows).
 * scenario_line: one line for a scenario that ended (a skip's or error's
 * reason on it). tail: the TLS line, the findings, the blocks of the
 * scenarios that did not pass cleanly, the recap and the summary. color: ANSI
 * colours on the verdict labels.
 */
void report_text_head(const struct run_result *run, struct buf *out);
void report_text_scenario_line(const struct scenario_result *sr, int color, struct buf *out);
void report_text_tail(const struct run_result *run, int color, struct buf *out);
void report_render_json(const struct run_result *run, struct buf *out);
void report_render_junit(const struct run_result *run, struct buf *out);
void report_render_tap(const struct run_result *run, struct buf *out);
/* One self-contained HTML5 page (inline CSS/SVG, no script, no URL). */
void report_render_html(const struct run_result *run, struct buf *out);
/* s HTML-escaped (after report_clean()), for every HTML renderer; NULL: nothing. */
void report_put_html(struct buf *out, const char *s);
/* Several saved runs side by side (report_compare.c): labels[k] names
 * runs[k]'s column. HTML is one self-contained page; Markdown a table per
 * RFC and level. */
void report_render_compare_html(const struct run_result *runs, const char *const *labels, size_t n,
                                struct buf *out);
void report_render_compare_md(const struct run_result *runs, const char *const *labels, size_t n,
                              struct buf *out);

/* Renders runs side by side (html or md only; another format is an error
 * naming it) and writes it as report_write() does. 0, or -1 with a message. */
int report_write_compare(const struct run_result *runs, const char *const *labels, size_t n,
                         const struct report_spec *spec, char *err, size_t errlen);

/* A short Markdown summary (at most ~60 lines) for a PR or ticket. */
void report_render_md(const struct run_result *run, struct buf *out);

/* Reads a JSON report back into the model (report_load.c). 0, or -1 with
 * "path: reason". The caller frees out with run_result_free(). */
int report_load_json(const char *path, struct run_result *out, char *err, size_t errlen);
/* Reads a JSON report or waiver file, at most REPORT_FILE_MAX bytes, into
 * text (NUL-terminated). 0, or -1 with "path: reason" (text freed). */
int report_read_file(const char *path, struct buf *text, char *err, size_t errlen);
/* The same from text[0..len) already read; name is the file messages name.
 * A field of the wrong type or range is an error naming it, e.g.
 * "RUN.json: scenarios[3].steps[2].code: expected an integer, got a string". */
int report_load_json_text(const char *name, const char *text, size_t len, struct run_result *out,
                          char *err, size_t errlen);

/*
 * Checks, before any work, that every report can be written: no two specs
 * name one file (the second would overwrite the first), no path is a
 * directory or in a directory that cannot take a new file. Leaves nothing
 * behind. Returns 0, or -1 with a message naming the --report.
 */
int report_check_specs(const struct report_spec *specs, size_t n, char *err, size_t errlen);

/* Renders and writes. Returns 0, or -1 with "path: reason" in err. */
int report_write(const struct run_result *run, const struct report_spec *spec, char *err,
                 size_t errlen);

#endif
