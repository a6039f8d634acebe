/*
 * tls.h - the TLS transport on OpenSSL: a struct transport_ops that a
 * connection switches to, on the same socket, for STARTTLS (RFC 3207) or
 * right after connecting for implicit TLS (RFC 8314).
 *
 * Owns: the client SSL_CTX (verification, CA file, minimum version), the
 * non-blocking handshake (WANT_READ/WANT_WRITE become conn.want), SNI, and
 * what a report shows of a session (protocol, cipher, peer subject).
 * Does not own the event loop or any SMTP step.
 */
#ifndef SMTPCONFORM_TLS_H
#define SMTPCONFORM_TLS_H

#include <stddef.h>

#include "conn.h"

/* --tls-verify: what a certificate that does not verify means. */
enum tls_verify {
	TLS_VERIFY_OFF = 0,     /* not checked at all (lab servers; reports say so) */
	TLS_VERIFY_ON = 1,      /* checked and recorded; the handshake goes on (default):
	                           trust is the tester's decision (RFC 3207 4.1) */
	TLS_VERIFY_REQUIRE = 2, /* checked; the handshake is abandoned, a failure */
};

struct tls_options {
	int verify;              /* enum tls_verify */
	const char *ca_file;     /* PEM bundle, NULL: the system's default paths */
	const char *min_version; /* "TLSv1.2" (default), "TLSv1.3", "TLSv1", "TLSv1.1" */
	const char *sni;         /* server name to send and verify, NULL: none */
};

/* What a report shows of one TLS session. Strings are owned. */
struct tls_info {
	char *protocol; /* as OpenSSL names it: "TLSv1.3" */
	char *cipher;   /* "TLS_AES_256_GCM_SHA384" */
	char *subject;  /* peer certificate subject, one line */
	char *issuer;
	int verified;       /* 1 when the chain and name verified */
	char *verify_error; /* why not (OpenSSL's verify error string), or NULL;
	                       NULL too when verification is off */
};

/* Checks and keeps the run's TLS options (the context itself is built on
 * the first handshake). 0, or -1 with a message. Call once. */
int tls_setup(const struct tls_options *o, char *err, size_t errlen);
void tls_teardown(void);

/* Starts TLS on c's socket: c->ops becomes the TLS transport. 0 or -1. */
int tls_attach(struct conn *c, char *err, size_t errlen);

/*
 * Advances the handshake. 1: done (under TLS_VERIFY_ON also when the
 * certificate did not verify: tls_info_get() says why); 0: would block
 * (c->want says on what); -1: failed, with OpenSSL's reason in err;
 * TLS_HANDSHAKE_UNTRUSTED: under TLS_VERIFY_REQUIRE the certificate did not
 * verify, with the verify error string alone in err.
 */
#define TLS_HANDSHAKE_UNTRUSTED (-2)
int tls_handshake(struct conn *c, char *err, size_t errlen);

/* Fills info for an established session (all NULL when c is not TLS). */
void tls_info_get(const struct conn *c, struct tls_info *info);
void tls_info_free(struct tls_info *info);

/* 1 when the version name is one tls_options.min_version accepts. */
int tls_version_known(const char *name);

#endif
