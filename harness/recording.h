/*
 * recording.h - a live session written down as a scenario file
 * (docs/scenario-format.md), for `smtpconform shell`'s .save and
 * `smtpconform record`.
 *
 * Owns: turning what was sent and received into steps (C:, R:, D:, A:,
 * S: CODE, S: close), escaping so the file sends the same bytes again
 * ({ as {{, control bytes as R: escapes), leaving secrets out (an AUTH
 * exchange is an A: step; redact() on every line), and writing the file
 * atomically, linted by scenario_load. Does not own I/O with the server.
 */
#ifndef SMTPCONFORM_RECORDING_H
#define SMTPCONFORM_RECORDING_H

#include <stddef.h>

#include "util.h"

struct recording {
	struct buf steps;  /* the step lines so far, each ending in '\n' */
	size_t nsteps;     /* C:/R:/D:-block/A:/S: steps written */
	int in_data;       /* inside a D: block */
	size_t unanswered; /* steps sent whose reply is not recorded yet */
};

void recording_init(struct recording *rec);
void recording_free(struct recording *rec);

/* A command line as sent, without its CRLF: C:, or R: when the bytes
 * cannot be a C: line (control bytes, a bare CR or LF). */
void recording_command(struct recording *rec, const char *line, size_t len);
/* Bytes sent as they are (R: "..."), e.g. from the shell's .raw. */
void recording_raw(struct recording *rec, const void *bytes, size_t len);
/* One content line of a message as it should arrive (not dot-stuffed). */
void recording_data_line(struct recording *rec, const char *line, size_t len);
/* A whole AUTH exchange with the run's credentials: A: MECH [noir]. */
void recording_auth(struct recording *rec, const char *mech, int noir);
/* The reply code received: S: CODE (S: * for a code no expectation can name). */
void recording_reply(struct recording *rec, int code);
/* S: close */
void recording_close(struct recording *rec);
/* "# text" */
void recording_comment(struct recording *rec, const char *text);

/*
 * Writes header lines (id from the file name, title, a comment naming
 * target and date) and the steps to path, atomically, then loads the file
 * back with scenario_load. 0, or -1 with a message.
 */
int recording_save(const struct recording *rec, const char *path, const char *tool,
                   const char *target, char *err, size_t errlen);

#endif
