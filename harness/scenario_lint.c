/*
 * scenario_lint.c - rules for scenarios that parse but cannot mean what they
 * say (a step after S: close, D: without DATA, a last step nothing checks).
 *
 * Owns those rules and their messages (path:line: message). Does not read
 * files (scenario_parse.c runs the lint after loading).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "command.h"
#include "scenario_internal.h"

static int lint_fail(char *err, size_t errlen, const char *path, int line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int lint_fail(char *err, size_t errlen, const char *path, int line, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "%s:%d: %s", path, line, msg);
	return -1;
}

/*
 * Rules for scenarios that cannot mean what they say:
 *  - "S: close" is the last step;
 *  - a D: block follows a "C: DATA" (or an R: line, whose bytes may hold it),
 *    with only S: lines between;
 *  - the last step is not a C:, R: or D: whose reply nothing checks.
 */
int scenario_lint(const struct scenario *s, char *err, size_t errlen)
{
	for (size_t i = 0; i < s->nsteps; i++) {
		const struct step *st = &s->steps[i];
		if (st->kind == STEP_CLOSE && i + 1 < s->nsteps)
			return lint_fail(
			    err, errlen, st->file, st->line,
			    "\"S: close\" must be the last step (the server has closed the "
			    "connection; the next step is at %s:%d)",
			    s->steps[i + 1].file, s->steps[i + 1].line);
		if (st->kind == STEP_DATA) {
			size_t j = i;
			while (j > 0 && s->steps[j - 1].kind == STEP_EXPECT)
				j--;
			const struct step *sent = j > 0 ? &s->steps[j - 1] : NULL;
			if (!sent ||
			    !(sent->kind == STEP_RAW ||
			      (sent->kind == STEP_CMD &&
			       command_from_line(sent->text, strlen(sent->text)) == CMD_DATA)))
				return lint_fail(
				    err, errlen, st->file, st->line,
				    "D: block without a \"C: DATA\" before it (message content "
				    "follows DATA and its 354 reply)");
		}
	}
	const struct step *last = &s->steps[s->nsteps - 1];
	if (last->kind == STEP_CMD || last->kind == STEP_RAW || last->kind == STEP_DATA ||
	    last->kind == STEP_AUTH)
		return lint_fail(
		    err, errlen, last->file, last->line,
		    "the scenario ends with a %s line whose reply nothing checks (add S: "
		    "<code>, S: * or S: close)",
		    last->kind == STEP_CMD    ? "C:"
		    : last->kind == STEP_RAW  ? "R:"
		    : last->kind == STEP_AUTH ? "A:"
		                              : "D:");
	return 0;
}
