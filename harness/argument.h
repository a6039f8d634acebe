/*
 * argument.h - the argument model: is a command's argument valid RFC 5321
 * 4.1.2 syntax (path, mailbox, domain, address literal, quoted local-part),
 * within the 4.5.3.1 limits, and which MAIL/RCPT parameters it carries.
 *
 * Pure and bounded: every parser reads (s, len) and nothing past it, needs
 * no NUL, allocates nothing. Does not judge replies (model.c does) and does
 * not know what the server advertised (the caller passes what matters).
 */
#ifndef SMTPCONFORM_ARGUMENT_H
#define SMTPCONFORM_ARGUMENT_H

#include <stddef.h>

/* RFC 5321 4.5.3.1.1-3 (octets). */
#define ARG_LOCAL_PART_MAX 64
#define ARG_DOMAIN_MAX 255
#define ARG_PATH_MAX 256
/* RFC 1035 2.3.4: octets of a domain label (RFC 5321 2.3.5: DNS names). */
#define ARG_LABEL_MAX 63
/* Parameters of one MAIL or RCPT kept by argument_mail_rcpt(). */
#define ARG_PARAMS_MAX 16

enum argument_status {
	ARGUMENT_OK = 0,   /* valid syntax within the limits */
	ARGUMENT_TOO_LONG, /* valid syntax, but past a 4.5.3.1 limit */
	ARGUMENT_SYNTAX,   /* not the RFC 5321 4.1.2 grammar */
};

/* What a path holds (pointers into the parsed text). */
struct path_info {
	int null_path;       /* "<>" */
	int postmaster;      /* local-part "postmaster" (any case, quoted or not) */
	int has_domain;      /* 0: "<Postmaster>" alone */
	int address_literal; /* the domain is "[...]" */
	int quoted;          /* the local-part is a Quoted-string */
	int source_route;    /* "<@a,@b:user@c>" (A-d-l, 4.1.2: to be ignored) */
	int utf8;            /* octets above 127 (RFC 6531) */
	size_t local_len;    /* octets of the local-part (quotes included) */
	size_t domain_len;
	size_t path_len;    /* octets from "<" to ">" included */
	const char *domain; /* the domain (or literal), domain_len octets */
};

struct esmtp_param {
	const char *keyword; /* keyword_len octets, as sent */
	size_t keyword_len;
	const char *value; /* NULL: no "=value" */
	size_t value_len;
};

struct mail_rcpt_info {
	struct path_info path;
	struct esmtp_param params[ARG_PARAMS_MAX];
	size_t nparams; /* kept; more are a syntax error for the model */
};

/*
 * Domain = sub-domain *("." sub-domain), sub-domain = Let-dig [Ldh-str]
 * (utf8: U-labels too, RFC 6531); or, when literal_ok, an address-literal
 * "[" IPv4 / "IPv6:" IPv6 / tag ":" dcontent "]". TOO_LONG past 255 octets
 * or with a label past 63.
 */
enum argument_status argument_domain(const char *s, size_t len, int literal_ok, int utf8);

/*
 * A whole path: "<" [ A-d-l ":" ] Mailbox ">", or "<>" when null_ok, or
 * "<Postmaster>" when postmaster_ok (RCPT). utf8 allows RFC 6531 UTF-8 in
 * the local-part and domain. Fills out when not NULL (also on TOO_LONG).
 */
enum argument_status argument_path(const char *s, size_t len, int null_ok, int postmaster_ok,
                                   int utf8, struct path_info *out);

/*
 * The argument of MAIL ("FROM:" Reverse-path [SP Mail-parameters]) or RCPT
 * ("TO:" Forward-path [SP Rcpt-parameters]): arg is what follows the verb,
 * its leading SP included (" FROM:<a@b> SIZE=10"). The worst status of the
 * path and the parameters (esmtp-keyword ["=" esmtp-value]).
 */
enum argument_status argument_mail_rcpt(const char *arg, size_t len, int is_rcpt, int utf8,
                                        struct mail_rcpt_info *out);

/* The parameter keyword (case-insensitive) in info, or NULL. */
const struct esmtp_param *argument_param(const struct mail_rcpt_info *info, const char *keyword);

/* size-value ::= 1*20DIGIT (RFC 1870 3): 0 and *out set, or -1. */
int argument_size_value(const char *s, size_t len, unsigned long long *out);

/* A SASL response or initial response: "=" (empty) or strict base64
 * (RFC 4954 4: pad only at the end, nothing outside the alphabet). 1 or 0. */
int argument_is_base64(const char *s, size_t len);

/* sasl-mech = 1*20(UPPER-ALPHA / DIGIT / "-" / "_") (RFC 4422 3.1),
 * case-insensitive here as servers compare it. 1 or 0. */
int argument_is_sasl_mech(const char *s, size_t len);

#endif
