/*
 * config.h - target profiles (targets/NAME.conf): the settings one server
 * needs, so that `smtpconform run -c targets/postfix.conf` is all a user types.
 *
 * Owns the file format (key = value lines, '#' comments) and its errors
 * (path:line: message). The caller applies the settings; options given on the
 * command line win over the file.
 */
#ifndef SMTPCONFORM_CONFIG_H
#define SMTPCONFORM_CONFIG_H

#include <stddef.h>

struct config_entry {
	char *key;   /* "target", "profile", "timeout", "jobs", "strict", "report", "var.NAME" */
	char *value;
	int line;
};

struct config {
	char *path;
	struct config_entry *entries;
	size_t n;
};

/* Loads and validates keys. 0, or -1 with "path:line: message". */
int config_load(const char *path, struct config *out, char *err, size_t errlen);
/* The last value of key, or NULL. */
const char *config_get(const struct config *c, const char *key);
void config_free(struct config *c);

#endif
