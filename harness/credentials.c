/*
 * credentials.c - the AUTH password from the environment or a file.
 * See credentials.h.
 */
#include "credentials.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sasl.h"
#include "util.h"

char *credentials_load_password(const struct auth_args *a, char *err, size_t errlen)
{
	char *pw = NULL;
	if (a->file) {
		struct buf b = { 0 };
		if (file_read_all(a->file, 4096, &b) < 0) {
			snprintf(err, errlen, "--auth-password-file %s: %s", a->file,
			         strerror(errno));
			buf_free(&b);
			return NULL;
		}
		pw = buf_steal(&b);
		pw[strcspn(pw, "\r\n")] = 0;
	} else {
		const char *v = getenv(a->env);
		if (!v) {
			snprintf(err, errlen,
			         "--auth-user needs a password: set %s (or use --auth-password-env "
			         "NAME or "
			         "--auth-password-file PATH)",
			         a->env);
			return NULL;
		}
		pw = xstrdup(v);
	}
	if (!*pw) {
		snprintf(err, errlen, "the AUTH password is empty");
		free(pw);
		return NULL;
	}
	sasl_redact_register(a->user, pw);
	return pw;
}
