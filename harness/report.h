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
/* One line for people: "FAIL: 7 of 28 scenarios failed (2 distinct findings)",
 * "PASS: ...", "ERROR: ..." (no trailing newline). */
void report_verdict_line(const struct run_result *run, size_t nfindings, struct buf *out);

/* 1 when the run used TLS: implicit mode, or a scenario upgraded with STARTTLS. */
int report_used_tls(const struct run_result *run);

/* "FORMAT[:PATH]". Returns 0, or -1 with a message naming the formats. */
int report_parse_spec(const char *arg, struct report_spec *out, char *err, size_t errlen);
void report_spec_free(struct report_spec *spec);

void report_render_text(const struct run_result *run, struct buf *out);
void report_render_json(const struct run_result *run, struct buf *out);
void report_render_junit(const struct run_result *run, struct buf *out);
void report_render_tap(const struct run_result *run, struct buf *out);
/* One self-contained HTML5 page (inline CSS/SVG, no script, no URL). */
void report_render_html(const struct run_result *run, struct buf *out);
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
int report_write(const struct run_result *run, const struct report_spec *spec,
                 char *err, size_t errlen);

#endif
