/*
 * config.h - target profiles (targets/NAME.conf): the settings one server
 * needs, so that `smtpconform run -c targets/postfix.conf` is all a user types.
 *
 * Owns the file format (key = value lines, '#' comments) and its errors
 * (path:line: message). The caller names the keys and applies the settings
 * (run_options.c: the option table); options given on the command line win.
 */
#ifndef SMTPCONFORM_CONFIG_H
#define SMTPCONFORM_CONFIG_H

#include <stddef.h>

struct config_entry {
	char *key; /* one of the caller's keys: "target", "var.domain", ... */
	char *value;
	int line;
};

struct config {
	char *path;
	struct config_entry *entries;
	size_t n;
};

/*
 * Loads the file; every key must be one of keys (NULL-terminated; an entry
 * "prefix.NAME" admits any "prefix.x", whose x keeps its case; other keys are
 * lower-cased). 0, or -1 with "path:line: message" (an unknown key lists keys).
 */
int config_load(const char *path, const char *const *keys, struct config *out, char *err,
                size_t errlen);
/* The last value of key, or NULL. */
const char *config_get(const struct config *c, const char *key);
void config_free(struct config *c);

#endif
