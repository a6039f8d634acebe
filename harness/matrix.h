/*
 * matrix.h - the allowed-code matrix: which reply codes each command may get.
 *
 * The rows are data: the TSV files in fixtures/matrix/, turned into build/gen/matrix_data.c
 * by fixtures/gen_matrix.py at build time. This module only looks rows up and
 * prints them. Commands that are not verbs: "CONNECT" (the greeting),
 * "DATA-END" (the reply after <CRLF>.<CRLF>), "*" (rows any command may get)
 * and "UNKNOWN" (a verb the profile does not define).
 */
#ifndef SMTPCONFORM_MATRIX_H
#define SMTPCONFORM_MATRIX_H

#include <stddef.h>
#include <stdio.h>

enum matrix_severity {
	MATRIX_ERROR = 0, /* a conforming answer (the row exists) - or its absence is an error */
	MATRIX_WARN = 1,  /* non-standard but common (NOOP -> 200, RFC 876) */
};

struct matrix_row {
	const char *profile;           /* "rfc5321", "rfc821" */
	const char *command;           /* upper-case verb, or CONNECT, DATA-END, *, UNKNOWN */
	int code;                      /* 200..559 */
	char reply_class;              /* 'S' success, 'I' intermediate, 'F' failure, 'E' error */
	enum matrix_severity severity; /* MATRIX_WARN: allowed but flagged */
	const char *ref;               /* "RFC 5321 4.3.2" */
	const char *note;              /* free text from the TSV, may be "" */
};

/* The profile a run, `smtpconform matrix` and the HTML grid use unless told. */
#define MATRIX_DEFAULT_PROFILE "rfc5321"

/* Generated: every row of every profile, in TSV order. */
extern const struct matrix_row matrix_rows[];
extern const size_t matrix_rows_len;

/* 1 if the profile has rows. */
int matrix_profile_known(const char *profile);
/* NULL-terminated list of profile names, in TSV order (static storage). */
const char *const *matrix_profiles(void);
/* 1 if the profile has rows for this command (not counting "*"). */
int matrix_command_known(const char *profile, const char *command);

/*
 * The row allowing code for command under profile: the command's own rows
 * first, then "*" rows. An unknown command is looked up as "UNKNOWN".
 * NULL when the code is not allowed.
 */
const struct matrix_row *matrix_lookup(const char *profile, const char *command, int code);

/*
 * Writes the allowed codes for command (own rows and "*" rows, sorted,
 * no duplicates) as "250, 251, 421, 500" into out (caller-sized).
 */
void matrix_allowed_set(const char *profile, const char *command, char *out, size_t outlen);

/* The reference to cite for a command's table ("RFC 5321 4.3.2"). */
const char *matrix_command_ref(const char *profile, const char *command);

/* Prints the table a person reads, one block per command. */
void matrix_print(FILE *out, const char *profile);

#endif
