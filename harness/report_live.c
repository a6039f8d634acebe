/*
 * report_live.c - the streamed text report and the progress line. See
 * report_live.h.
 *
 * The progress line lives on standard error and is redrawn after each
 * scenario; it is erased ("\r" and erase-in-line) before a result line goes
 * out, so the two never mix when both streams are one terminal. Its width
 * follows the terminal (TIOCGWINSZ, then $COLUMNS, then 80 columns).
 */
#include "report_live.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "report.h"
#include "util.h"

/* Columns assumed when the terminal does not say. */
#define LIVE_DEFAULT_COLUMNS 80
/* Cells of the progress bar, shown when the line has room for it. */
#define LIVE_BAR_CELLS 20
#define LIVE_BAR_MIN_COLUMNS 60

int report_live_color(const char *when, int fd)
{
	const char *no_color = getenv("NO_COLOR");

	if (strcmp(when, "always") == 0)
		return 1;
	if (strcmp(when, "never") == 0)
		return 0;
	if (strcmp(when, "auto") != 0)
		return -1;
	return isatty(fd) && !(no_color && *no_color);
}

void report_live_init(struct report_live *l, FILE *out, int color, int progress)
{
	memset(l, 0, sizeof(*l));
	l->out = out;
	l->color = color;
	l->progress = progress;
}

static int term_columns(void)
{
	struct winsize ws;
	const char *env = getenv("COLUMNS");

	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	if (env && atoi(env) > 0)
		return atoi(env);
	return LIVE_DEFAULT_COLUMNS;
}

static void progress_clear(struct report_live *l)
{
	if (!l->progress_on)
		return;
	fputs("\r\033[K", stderr);
	fflush(stderr);
	l->progress_on = 0;
}

/* "[#####...............] 37/218  2 failed  core.noop.basic", cut to the
 * terminal's width less one column (no line wrap). */
static void progress_draw(struct report_live *l, const char *id, size_t done, size_t total,
                          size_t failed)
{
	struct buf line = { 0 }, scratch = { 0 };
	int columns = term_columns();

	if (columns >= LIVE_BAR_MIN_COLUMNS && total > 0) {
		size_t filled = done * LIVE_BAR_CELLS / total;

		buf_puts(&line, "[");
		for (size_t i = 0; i < LIVE_BAR_CELLS; i++)
			buf_puts(&line, i < filled ? "#" : ".");
		buf_puts(&line, "] ");
	}
	buf_printf(&line, "%zu/%zu", done, total);
	if (failed)
		buf_printf(&line, "  %zu failed", failed);
	buf_puts(&line, "  ");
	buf_puts(&line, report_clean(id, &scratch));
	buf_free(&scratch);
	size_t keep = report_cut(line.data, columns > 1 ? (size_t)columns - 1 : 1);
	fputs("\r\033[K", stderr);
	fwrite(line.data, 1, keep, stderr);
	fflush(stderr);
	l->progress_on = 1;
	buf_free(&line);
}

static void put(struct report_live *l, const struct buf *b)
{
	if (!l->out || !b->data)
		return;
	progress_clear(l);
	if (fwrite(b->data, 1, b->len, l->out) != b->len || fflush(l->out) != 0)
		l->failed = errno ? errno : EIO;
}

void report_live_head(struct report_live *l, const struct run_result *run)
{
	struct buf b = { 0 };

	report_text_head(run, &b);
	buf_puts(&b, "\n");
	put(l, &b);
	buf_free(&b);
	l->head_done = 1;
}

void report_live_scenario(void *arg, const struct scenario_result *sr, size_t done, size_t total,
                          size_t failed)
{
	struct report_live *l = arg;
	struct buf b = { 0 };

	if (l->out && l->head_done) {
		report_text_scenario_line(sr, l->color, &b);
		put(l, &b);
		buf_free(&b);
	}
	if (l->progress)
		progress_draw(l, sr->id ? sr->id : "", done, total, failed);
}

int report_live_end(struct report_live *l, const struct run_result *run)
{
	struct buf b = { 0 };

	progress_clear(l);
	if (!l->out)
		return 0;
	if (!l->head_done)
		report_text_head(run, &b);
	report_text_tail(run, l->color, &b);
	put(l, &b);
	buf_free(&b);
	if (l->failed) {
		errno = l->failed;
		return -1;
	}
	return 0;
}
