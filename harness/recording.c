/*
 * recording.c - steps of a live session as scenario text. See recording.h.
 */
#include "recording.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scenario.h"
#include "smtp_limits.h"

void recording_init(struct recording *rec)
{
	memset(rec, 0, sizeof(*rec));
}

void recording_free(struct recording *rec)
{
	buf_free(&rec->steps);
	recording_init(rec);
}

/* Ends a D: block: the next step is not content. */
static void end_data(struct recording *rec)
{
	rec->in_data = 0;
}

/* Appends "PREFIX text\n" with the secret registry applied to text. */
static void put_line(struct recording *rec, const char *prefix, const char *text)
{
	char *copy = xstrdup(text);
	redact(copy);
	buf_puts(&rec->steps, prefix);
	buf_puts(&rec->steps, copy);
	buf_puts(&rec->steps, "\n");
	free(copy);
}

/* 1 when the bytes can stand on a scenario line as they are. */
static int line_safe(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			return 0;
	}
	return len < SCENARIO_LINE_MAX - 8;
}

/* s with every '{' doubled: variables are not expanded in recorded text. */
static char *brace_escape(const char *s, size_t len)
{
	struct buf b = { 0 };
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '{')
			buf_puts(&b, "{");
		buf_append(&b, &s[i], 1);
	}
	return buf_steal(&b);
}

void recording_raw(struct recording *rec, const void *bytes, size_t len)
{
	end_data(rec);
	if (len == 0)
		return; /* R: "" is not a step */
	struct buf b = { 0 };
	buf_puts(&b, "\"");
	const unsigned char *p = bytes;
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '"')
			buf_puts(&b, "\\\"");
		else if (p[i] == '\\')
			buf_puts(&b, "\\\\");
		else if (p[i] == '\r')
			buf_puts(&b, "\\r");
		else if (p[i] == '\n')
			buf_puts(&b, "\\n");
		else if (p[i] == '\t')
			buf_puts(&b, "\\t");
		else if (p[i] < 0x20 || p[i] >= 0x7f)
			buf_printf(&b, "\\x%02x", p[i]);
		else
			buf_append(&b, &p[i], 1);
	}
	buf_puts(&b, "\"");
	put_line(rec, "R: ", b.data);
	buf_free(&b);
	rec->nsteps++;
	rec->unanswered++;
}

void recording_command(struct recording *rec, const char *line, size_t len)
{
	end_data(rec);
	if (!line_safe(line, len)) {
		struct buf b = { 0 };
		buf_append(&b, line, len);
		buf_puts(&b, "\r\n");
		recording_raw(rec, b.data, b.len);
		buf_free(&b);
		return;
	}
	char *text = brace_escape(line, len);
	put_line(rec, len ? "C: " : "C:", text);
	free(text);
	rec->nsteps++;
	rec->unanswered++;
}

void recording_data_line(struct recording *rec, const char *line, size_t len)
{
	if (!rec->in_data) {
		rec->nsteps++;
		rec->unanswered++;
	}
	rec->in_data = 1;
	if (len == 0) {
		buf_puts(&rec->steps, "D:\n");
		return;
	}
	/* A content line cannot carry control bytes in a scenario file; they
	 * are written escaped, and a comment says so. */
	if (!line_safe(line, len)) {
		char *esc = text_escape_dup(line, len);
		char *text = brace_escape(esc, strlen(esc));
		put_line(rec, "D: ", text);
		free(text);
		free(esc);
		return;
	}
	char *text = brace_escape(line, len);
	put_line(rec, "D: ", text);
	free(text);
}

void recording_auth(struct recording *rec, const char *mech, int noir)
{
	end_data(rec);
	buf_printf(&rec->steps, "A: %s%s\n", mech, noir ? " noir" : "");
	rec->nsteps++;
	rec->unanswered++;
}

void recording_reply(struct recording *rec, int code)
{
	end_data(rec);
	if (code >= 200 && code <= 599 && code % 100 <= 59)
		buf_printf(&rec->steps, "S: %03d\n", code);
	else
		buf_printf(&rec->steps,
		           "# the reply had no valid code (%d): any allowed reply\nS: *\n", code);
	rec->nsteps++;
	if (rec->unanswered > 0)
		rec->unanswered--;
}

void recording_close(struct recording *rec)
{
	end_data(rec);
	buf_puts(&rec->steps, "S: close\n");
	rec->nsteps++;
	rec->unanswered = 0;
}

void recording_comment(struct recording *rec, const char *text)
{
	end_data(rec);
	put_line(rec, "# ", text);
}

/* "recorded.NAME" from the file's base name, in the id alphabet. */
static char *id_from_path(const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	size_t n = strlen(base);
	if (n > 5 && strcmp(base + n - 5, ".smtp") == 0)
		n -= 5;
	struct buf b = { 0 };
	buf_puts(&b, "recorded.");
	for (size_t i = 0; i < n; i++) {
		char c = base[i];
		if (!isalnum((unsigned char)c) && c != '.' && c != '_' && c != '-')
			c = '-';
		buf_append(&b, &c, 1);
	}
	if (n == 0)
		buf_puts(&b, "session");
	return buf_steal(&b);
}

int recording_save(const struct recording *rec, const char *path, const char *tool,
                   const char *target, char *err, size_t errlen)
{
	char date[32];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", &tm);
	char *id = id_from_path(path);
	struct buf out = { 0 };
	char *safe_target = text_escape_dup(target, strlen(target));
	buf_printf(&out, "# Recorded by %s from %s on %s.\n", tool, safe_target, date);
	buf_printf(&out, "id: %s\n", id);
	buf_printf(&out, "title: session recorded by %s\n", tool);
	buf_puts(&out, "tags: recorded\n");
	if (rec->steps.len)
		buf_append(&out, rec->steps.data, rec->steps.len);
	if (rec->unanswered)
		buf_printf(&out, "# %zu of the commands above got no reply during the session\n",
		           rec->unanswered);
	for (size_t i = 0; i < rec->unanswered; i++)
		buf_puts(&out, "S: *\n");
	free(safe_target);
	free(id);
	int rc = 0;
	if (file_write_atomic(path, out.data, out.len) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		rc = -1;
	} else {
		struct scenario *sc = NULL;
		char lint[1024];
		if (scenario_load(path, NULL, &sc, lint, sizeof(lint)) < 0) {
			snprintf(err, errlen, "written, but it does not lint: %s", lint);
			rc = -1;
		}
		scenario_free(sc);
	}
	buf_free(&out);
	return rc;
}
