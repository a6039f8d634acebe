/*
 * sasl.h - client side of the SASL mechanisms AUTH (RFC 4954) scenarios use:
 * PLAIN (RFC 4616), LOGIN, CRAM-MD5 (RFC 2195), SCRAM-SHA-256 (RFC 7677).
 *
 * Owns: the exchange state of one AUTH, computing each response from the
 * server's challenge, and checking SCRAM's server signature. Pure apart from
 * OpenSSL's crypto and a random nonce; no I/O. Responses hold secrets: the
 * caller sends them and never records them.
 */
#ifndef SMTPCONFORM_SASL_H
#define SMTPCONFORM_SASL_H

#include <stddef.h>

#include "util.h"

/* What an "A: ... wrong" step appends to the password (a 535 test). */
#define SASL_WRONG_PASSWORD_SUFFIX "-wrong-smtpconform"

enum sasl_mech { SASL_PLAIN, SASL_LOGIN, SASL_CRAM_MD5, SASL_SCRAM_SHA_256 };

struct sasl {
	enum sasl_mech mech;
	const char *user;
	const char *password;
	int round;                          /* challenges answered so far */
	char cnonce[32];                    /* SCRAM client nonce (base64 text) */
	struct buf client_first_bare;       /* SCRAM */
	unsigned char server_signature[32]; /* SCRAM: expected v= */
	int server_signature_set;
};

/* "PLAIN" etc. (case-insensitive) -> mechanism; -1 if not supported. */
int sasl_mech_parse(const char *name);
const char *sasl_mech_name(enum sasl_mech m);

/* Starts an exchange. nonce: NULL for a random one (tests pass a fixed one). */
void sasl_init(struct sasl *s, enum sasl_mech m, const char *user, const char *password,
               const char *nonce);
void sasl_free(struct sasl *s);

/*
 * The initial response (base64) for "AUTH MECH <ir>", appended to out.
 * Returns 1 when the mechanism has one (PLAIN, SCRAM), 0 when it starts with
 * a challenge (LOGIN, CRAM-MD5).
 */
int sasl_initial(struct sasl *s, struct buf *out);

/* What sasl_respond() found wrong, so the caller names the rule without
 * reading the message. */
enum sasl_error {
	SASL_ERR_CHALLENGE = -1, /* the challenge is malformed (auth.challenge) */
	SASL_ERR_SIGNATURE = -2, /* SCRAM: the server signature does not verify */
};

/*
 * The most 334 challenges mechanism m has: PLAIN 1 (the empty challenge when
 * no initial response was sent), LOGIN 2 (user name, password), CRAM-MD5 1,
 * SCRAM-SHA-256 2 (server-first, server-final), not counting SCRAM's empty
 * challenge when no initial response was sent. A server asking for more
 * would keep the exchange going forever.
 */
int sasl_challenges_max(enum sasl_mech m);

/*
 * The response (base64, or "" for an empty line) to a 334 challenge whose
 * text is challenge_b64. Returns 0, or an enum sasl_error with a message:
 * SASL_ERR_CHALLENGE when the challenge is malformed (a SCRAM final message
 * without v= included) or is one more than sasl_challenges_max(),
 * SASL_ERR_SIGNATURE when SCRAM's v= is wrong.
 */
int sasl_respond(struct sasl *s, const char *challenge_b64, struct buf *out, char *err,
                 size_t errlen);

/*
 * Registers for redaction (util.h) the password, its encodings and every
 * blob an exchange sends that carries it: PLAIN's base64("\0user\0pass")
 * and LOGIN's base64(pass), for the password and for the wrong one.
 */
void sasl_redact_register(const char *user, const char *password);

/* Base64 helpers (standard alphabet, padded). decode: -1 on bad input. */
void sasl_b64_encode(const void *data, size_t n, struct buf *out);
int sasl_b64_decode(const char *text, struct buf *out);

#endif
