/*
 * credentials.h - where an AUTH password comes from: an environment
 * variable or the first line of a file, never the command line.
 *
 * Owns loading it and registering it (and its encodings) for redaction.
 * Shared by run, shell and record. Does not own SASL (sasl.h).
 */
#ifndef SMTPCONFORM_CREDENTIALS_H
#define SMTPCONFORM_CREDENTIALS_H

#include <stddef.h>

/* Where the password is: file wins when set, else the variable env. */
struct auth_args {
	const char *user;
	const char *env;  /* environment variable holding the password */
	const char *file; /* or a file whose first line is the password */
};

/* The password (caller frees), registered for redaction; NULL with a message. */
char *credentials_load_password(const struct auth_args *a, char *err, size_t errlen);

#endif
