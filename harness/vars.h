/*
 * vars.h - scenario variables: {name} expansion in C: and D: lines.
 *
 * Owns the defaults (client, sender, rcpt, domain) and --var overrides.
 * Does not own scenario parsing; the parser calls vars_expand().
 */
#ifndef SMTPCONFORM_VARS_H
#define SMTPCONFORM_VARS_H

#include <stddef.h>

#include "util.h"

struct vars {
	size_t n;
	char **names;
	char **values;
};

/* Fills the defaults: domain=localhost, client=smtpconform.example,
 * sender=conform@smtpconform.example, rcpt=postmaster@{domain},
 * foreign_domain=example.net, relay_rcpt=relay-test@{foreign_domain}. */
void vars_init_defaults(struct vars *v);
/* "name=value": adds or replaces. Returns 0, or -1 with a message. */
int vars_set_arg(struct vars *v, const char *arg, char *err, size_t errlen);
void vars_set(struct vars *v, const char *name, const char *value);
/* NULL when not defined. Values may themselves hold {name}: expanded on use. */
const char *vars_get(const struct vars *v, const char *name);
/*
 * Expands {name} in text[0..len) into out; "{{" is a literal "{". Returns 0,
 * or -1 with "unknown variable {x} (define it with --var x=VALUE)" or
 * "unterminated {" in err.
 */
int vars_expand(const struct vars *v, const char *text, size_t len, struct buf *out, char *err,
                size_t errlen);
/* The value of name with its own {name}s expanded (caller frees), or NULL
 * when it is not defined or does not expand. */
char *vars_value(const struct vars *v, const char *name);
void vars_free(struct vars *v);

#endif
