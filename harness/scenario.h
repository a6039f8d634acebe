/*
 * scenario.h - scenario files (scenarios/.../NAME.smtp): parsing and discovery.
 *
 * Owns the in-memory form of a scenario: headers and an ordered list of steps
 * (C:, R:, D: blocks, S: expectations, S: close), with @include expanded.
 * Every error names path:line. Does not connect, expand variables at load
 * time, or judge replies; see docs/scenario-format.md for the format.
 * Implemented by scenario_parse.c (loading, headers), scenario_files.c
 * (@include lookup, directory walk, ids), scenario_lint.c and expect.c.
 */
#ifndef SMTPCONFORM_SCENARIO_H
#define SMTPCONFORM_SCENARIO_H

#include <stddef.h>

#include "expect.h"
#include "vars.h"

enum step_kind {
	STEP_CMD,    /* C: a command line; CRLF is appended when sent */
	STEP_RAW,    /* R: "bytes" sent as they are (escapes decoded) */
	STEP_DATA,   /* a block of D: lines: dot-stuffed, CRLF each, then ".\r\n" */
	STEP_EXPECT, /* S: one whole reply, matched against expect */
	STEP_CLOSE,  /* S: close - the server closes the connection */
	STEP_AUTH,   /* A: MECH [noir] [wrong] [cancel] - a whole SASL exchange (RFC 4954)
	                with the run's credentials; the next S: takes the final reply */
};
/* The last step kind: a new kind goes before this line and becomes it. */
#define STEP_KIND_LAST STEP_AUTH

struct step {
	enum step_kind kind;
	const char *file; /* file the line came from (owned by scenario.files) */
	int line;         /* 1-based line number; first D: line for a DATA block */
	char *text;       /* C: unexpanded line; R: decoded bytes (text_len);
	                       A: the mechanism, upper-case */
	size_t text_len;
	char **data_lines; /* D: lines, unexpanded, not yet dot-stuffed */
	size_t ndata;
	struct expect expect; /* STEP_EXPECT only */
	int auth_noir;        /* A: no initial response: AUTH MECH, then answer the 334 */
	int auth_wrong;       /* A: a wrong password (a 535 test) */
	int auth_cancel;      /* A: answer the first 334 with "*" (RFC 4954 4: 501) */
	int setup;            /* setup, not the test: from an @include before the
	                       scenario's own first step, or above its @test line.
	                       A setup reply other than the one expected makes the
	                       scenario inconclusive (docs/scenario-format.md) */
	int uses_rcpt;        /* C: text names {rcpt} */
	int uses_sender;      /* C: text names {sender} */
	int uses_relay;       /* C: text names {relay_rcpt} or {foreign_domain} */
};

struct scenario {
	char *path;  /* as given */
	char *id;    /* header "id", or derived from the path */
	char *title; /* header "title", or "" */
	char *ref;   /* header "ref", or "" */
	char *level; /* "MUST", "SHOULD", "MAY", or "" */
	char **tags; /* header "tags", comma or space separated */
	size_t ntags;
	char **requires; /* EHLO keywords, upper-cased */
	size_t nrequires;
	int timeout_s; /* header "timeout", 0 when absent */
	char *when;    /* header "when": run only if this variable is set, or NULL */
	struct step *steps;
	size_t nsteps;
	char **files; /* path of the file and of each included file */
	size_t nfiles;
};

/*
 * Loads one scenario. root is the directory the id is derived relative to
 * ("scenarios/core/noop.smtp" under "scenarios" -> "core.noop"), or NULL to
 * use the file's base name. Returns 0, or -1 with "path:line: message" in err.
 */
int scenario_load(const char *path, const char *root, struct scenario **out, char *err,
                  size_t errlen);
void scenario_free(struct scenario *s);

/*
 * The bundled suite's directory: @include looks in its _lib/ after the
 * directories of the including file, so scenarios kept anywhere can reuse the
 * bundled openings. NULL forgets it.
 */
void scenario_set_library(const char *dir);
/*
 * Rewrites the paths of s (its file and every included file) that lie under
 * the directory from into the same path under to: reports show
 * "scenarios/core/noop.smtp" rather than where the suite is installed.
 */
void scenario_rebase_paths(struct scenario *s, const char *from, const char *to);

/*
 * Checks that every {name} in the scenario's C: and D: lines is defined in v.
 * Returns 0, or -1 with "path:line: unknown variable {x} ..." in err.
 */
int scenario_check_vars(const struct scenario *s, const struct vars *v, char *err, size_t errlen);

/*
 * The headers a scenario may start with, in the order the docs list them:
 * "id", "title", ..., then NULL. Messages that list headers are built from it.
 */
const char *const *scenario_header_names(void);

/* A list of scenario file paths with the root each was found under. */
struct scenario_list {
	size_t n;
	char **paths;
	char **roots; /* directory argument the file was found under, or NULL */
};
/*
 * Expands FILE and DIR arguments: a directory is walked recursively for
 * *.smtp files, skipping names that start with '_' or '.' (libraries of
 * @include files). Sorted within each directory argument. Returns 0, or -1
 * with "path: message" in err.
 */
int scenario_collect(char *const *args, size_t nargs, struct scenario_list *out, char *err,
                     size_t errlen);
void scenario_list_free(struct scenario_list *l);

/*
 * Collects and loads every scenario args name (scenario_collect), checks
 * their variables against vars (NULL: not checked) and that no two share an
 * id. Prints each error on stderr ("path:line: ..."); -1 when there was any
 * (nothing is returned then), else 0 with the scenarios in *out (each
 * scenario_free()d and the array freed by the caller). `run`, `list`,
 * `check` and `load` load their scenarios this way.
 */
int scenario_load_all(char *const *args, size_t nargs, const struct vars *vars,
                      struct scenario ***out, size_t *n_out);

#endif
