/*
 * sasl.c - SASL client mechanisms for AUTH scenarios. See sasl.h.
 */
#include "sasl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#define SCRAM_KEY_LEN 32 /* SHA-256 */

static const char *const mech_names[] = { "PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-256" };
/* sasl_challenges_max(), in the order of enum sasl_mech. */
static const int mech_challenges[] = { 1, 2, 1, 2 };

int sasl_mech_parse(const char *name)
{
	for (size_t i = 0; i < sizeof(mech_names) / sizeof(mech_names[0]); i++)
		if (strcasecmp(name, mech_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *sasl_mech_name(enum sasl_mech m)
{
	return mech_names[m];
}

int sasl_challenges_max(enum sasl_mech m)
{
	return mech_challenges[m];
}

void sasl_b64_encode(const void *data, size_t n, struct buf *out)
{
	size_t need = 4 * ((n + 2) / 3) + 1;
	unsigned char *tmp = xmalloc(need);
	int len = EVP_EncodeBlock(tmp, data, (int)n);
	buf_append(out, tmp, (size_t)len);
	free(tmp);
}

int sasl_b64_decode(const char *text, struct buf *out)
{
	size_t n = strlen(text);
	if (n % 4)
		return -1;
	if (n == 0)
		return 0;
	unsigned char *tmp = xmalloc(n);
	int len = EVP_DecodeBlock(tmp, (const unsigned char *)text, (int)n);
	if (len < 0) {
		free(tmp);
		return -1;
	}
	/* EVP_DecodeBlock counts padding as zero bytes. */
	if (n >= 1 && text[n - 1] == '=')
		len--;
	if (n >= 2 && text[n - 2] == '=')
		len--;
	buf_append(out, tmp, (size_t)len);
	free(tmp);
	return 0;
}

void sasl_init(struct sasl *s, enum sasl_mech m, const char *user, const char *password,
               const char *nonce)
{
	memset(s, 0, sizeof(*s));
	s->mech = m;
	s->user = user;
	s->password = password;
	if (nonce) {
		snprintf(s->cnonce, sizeof(s->cnonce), "%s", nonce);
	} else {
		unsigned char raw[18];
		if (RAND_bytes(raw, sizeof(raw)) != 1)
			BUG("RAND_bytes failed");
		struct buf b = { 0 };
		sasl_b64_encode(raw, sizeof(raw), &b);
		snprintf(s->cnonce, sizeof(s->cnonce), "%s", b.data);
		buf_free(&b);
	}
}

void sasl_free(struct sasl *s)
{
	buf_free(&s->client_first_bare);
	OPENSSL_cleanse(s->server_signature, sizeof(s->server_signature));
}

/* RFC 5802 5.1: saslname escapes ',' and '='. */
static void scram_name(const char *user, struct buf *out)
{
	for (const char *p = user; *p; p++) {
		if (*p == ',')
			buf_puts(out, "=2C");
		else if (*p == '=')
			buf_puts(out, "=3D");
		else
			buf_append(out, p, 1);
	}
}

int sasl_initial(struct sasl *s, struct buf *out)
{
	struct buf raw = { 0 };
	switch (s->mech) {
	case SASL_PLAIN:
		buf_append(&raw, "", 1);
		buf_puts(&raw, s->user);
		buf_append(&raw, "", 1);
		buf_puts(&raw, s->password);
		break;
	case SASL_SCRAM_SHA_256:
		buf_reset(&s->client_first_bare);
		buf_puts(&s->client_first_bare, "n=");
		scram_name(s->user, &s->client_first_bare);
		buf_printf(&s->client_first_bare, ",r=%s", s->cnonce);
		buf_puts(&raw, "n,,");
		buf_append(&raw, s->client_first_bare.data, s->client_first_bare.len);
		break;
	default: return 0;
	}
	sasl_b64_encode(raw.data, raw.len, out);
	OPENSSL_cleanse(raw.data, raw.len);
	buf_free(&raw);
	s->round = 0;
	return 1;
}

static void hmac_sha256(const void *key, size_t keylen, const void *data, size_t n,
                        unsigned char out[SCRAM_KEY_LEN])
{
	unsigned int len = SCRAM_KEY_LEN;
	HMAC(EVP_sha256(), key, (int)keylen, data, n, out, &len);
}

/* The value of "k=" in a SCRAM attribute list, or NULL. */
static const char *scram_attr(const char *msg, char k, size_t *len_out)
{
	const char *p = msg;
	while (p && *p) {
		if (p[0] == k && p[1] == '=') {
			const char *end = strchr(p, ',');
			*len_out = end ? (size_t)(end - p - 2) : strlen(p + 2);
			return p + 2;
		}
		p = strchr(p, ',');
		if (p)
			p++;
	}
	return NULL;
}

static int scram_final(struct sasl *s, const char *server_first, struct buf *out, char *err,
                       size_t errlen)
{
	size_t nlen, slen, ilen;
	const char *nonce = scram_attr(server_first, 'r', &nlen);
	const char *salt64 = scram_attr(server_first, 's', &slen);
	const char *iter = scram_attr(server_first, 'i', &ilen);
	if (!nonce || !salt64 || !iter) {
		snprintf(err, errlen, "SCRAM server-first-message lacks r=, s= or i=");
		return -1;
	}
	if (nlen < strlen(s->cnonce) || strncmp(nonce, s->cnonce, strlen(s->cnonce)) != 0) {
		snprintf(err, errlen, "SCRAM server nonce does not start with the client nonce");
		return -1;
	}
	char itbuf[16];
	snprintf(itbuf, sizeof(itbuf), "%.*s", (int)(ilen < 15 ? ilen : 15), iter);
	long iterations = strtol(itbuf, NULL, 10);
	if (iterations < 1 || iterations > 10000000) {
		snprintf(err, errlen, "SCRAM iteration count %s is out of range", itbuf);
		return -1;
	}
	char *salt_text = xstrndup(salt64, slen);
	struct buf salt = { 0 };
	int bad = sasl_b64_decode(salt_text, &salt);
	free(salt_text);
	if (bad < 0) {
		buf_free(&salt);
		snprintf(err, errlen, "SCRAM salt is not base64");
		return -1;
	}
	unsigned char salted[SCRAM_KEY_LEN], client_key[SCRAM_KEY_LEN], stored_key[SCRAM_KEY_LEN];
	unsigned char client_sig[SCRAM_KEY_LEN], proof[SCRAM_KEY_LEN], server_key[SCRAM_KEY_LEN];
	PKCS5_PBKDF2_HMAC(s->password, (int)strlen(s->password), (unsigned char *)salt.data,
	                  (int)salt.len, (int)iterations, EVP_sha256(), SCRAM_KEY_LEN, salted);
	buf_free(&salt);
	hmac_sha256(salted, SCRAM_KEY_LEN, "Client Key", 10, client_key);
	SHA256(client_key, SCRAM_KEY_LEN, stored_key);

	struct buf without_proof = { 0 }, auth_message = { 0 };
	buf_printf(&without_proof, "c=biws,r=%.*s", (int)nlen, nonce);
	buf_append(&auth_message, s->client_first_bare.data, s->client_first_bare.len);
	buf_printf(&auth_message, ",%s,", server_first);
	buf_append(&auth_message, without_proof.data, without_proof.len);
	hmac_sha256(stored_key, SCRAM_KEY_LEN, auth_message.data, auth_message.len, client_sig);
	for (size_t i = 0; i < SCRAM_KEY_LEN; i++)
		proof[i] = client_key[i] ^ client_sig[i];
	hmac_sha256(salted, SCRAM_KEY_LEN, "Server Key", 10, server_key);
	hmac_sha256(server_key, SCRAM_KEY_LEN, auth_message.data, auth_message.len,
	            s->server_signature);
	s->server_signature_set = 1;

	struct buf final = { 0 };
	buf_append(&final, without_proof.data, without_proof.len);
	buf_puts(&final, ",p=");
	sasl_b64_encode(proof, SCRAM_KEY_LEN, &final);
	sasl_b64_encode(final.data, final.len, out);

	OPENSSL_cleanse(salted, sizeof(salted));
	OPENSSL_cleanse(client_key, sizeof(client_key));
	OPENSSL_cleanse(proof, sizeof(proof));
	buf_free(&final);
	buf_free(&without_proof);
	buf_free(&auth_message);
	return 0;
}

static int scram_verify(struct sasl *s, const char *server_final, char *err, size_t errlen)
{
	size_t vlen;
	const char *v = scram_attr(server_final, 'v', &vlen);
	if (!v) {
		size_t elen;
		const char *e = scram_attr(server_final, 'e', &elen);
		snprintf(err, errlen, "SCRAM server-final-message %s%.*s",
		         e ? "reports an error: " : "lacks v=", e ? (int)elen : 0, e ? e : "");
		return -1;
	}
	char *text = xstrndup(v, vlen);
	struct buf sig = { 0 };
	int bad = sasl_b64_decode(text, &sig);
	free(text);
	int ok = !bad && s->server_signature_set && sig.len == SCRAM_KEY_LEN &&
	         CRYPTO_memcmp(sig.data, s->server_signature, SCRAM_KEY_LEN) == 0;
	buf_free(&sig);
	if (!ok) {
		snprintf(err, errlen,
		         "SCRAM server signature does not verify: the server does not "
		         "know the password (RFC 5802 5)");
		return SASL_ERR_SIGNATURE;
	}
	return 0;
}

/* PLAIN's and LOGIN's blobs for one password. */
static void register_blobs(const char *user, const char *password)
{
	struct buf raw = { 0 }, b64 = { 0 };
	buf_append(&raw, "", 1);
	buf_puts(&raw, user);
	buf_append(&raw, "", 1);
	buf_puts(&raw, password);
	sasl_b64_encode(raw.data, raw.len, &b64);
	redact_register_text(b64.data);
	buf_reset(&b64);
	sasl_b64_encode(password, strlen(password), &b64);
	redact_register_text(b64.data);
	OPENSSL_cleanse(raw.data, raw.len);
	OPENSSL_cleanse(b64.data, b64.len);
	buf_free(&raw);
	buf_free(&b64);
}

void sasl_redact_register(const char *user, const char *password)
{
	redact_register(password, strlen(password));
	register_blobs(user ? user : "", password);
	char *wrong = xasprintf("%s%s", password, SASL_WRONG_PASSWORD_SUFFIX);
	register_blobs(user ? user : "", wrong);
	OPENSSL_cleanse(wrong, strlen(wrong));
	free(wrong);
}

int sasl_respond(struct sasl *s, const char *challenge_b64, struct buf *out, char *err,
                 size_t errlen)
{
	struct buf challenge = { 0 };
	if (sasl_b64_decode(challenge_b64, &challenge) < 0) {
		snprintf(err, errlen, "the 334 challenge is not base64 (RFC 4954 4)");
		buf_free(&challenge);
		return -1;
	}
	int rc = 0;
	s->round++;
	if (s->round > sasl_challenges_max(s->mech)) {
		snprintf(err, errlen, "challenge %d: %s has at most %d; the exchange is given up",
		         s->round, mech_names[s->mech], sasl_challenges_max(s->mech));
		buf_free(&challenge);
		return SASL_ERR_CHALLENGE;
	}
	switch (s->mech) {
	case SASL_PLAIN:
		/* A 334 after "AUTH PLAIN" without an initial response. */
		if (s->round == 1) {
			sasl_initial(s, out);
			s->round = 1; /* sasl_initial() starts the count again */
		}
		break;
	case SASL_LOGIN:
		/* "Username:" then "Password:" (draft-murchison-sasl-login). */
		if (s->round == 1)
			sasl_b64_encode(s->user, strlen(s->user), out);
		else
			sasl_b64_encode(s->password, strlen(s->password), out);
		break;
	case SASL_CRAM_MD5: {
		unsigned char mac[EVP_MAX_MD_SIZE];
		unsigned int maclen = 0;
		HMAC(EVP_md5(), s->password, (int)strlen(s->password),
		     (unsigned char *)(challenge.data ? challenge.data : ""), challenge.len, mac,
		     &maclen);
		struct buf resp = { 0 };
		buf_puts(&resp, s->user);
		buf_puts(&resp, " ");
		for (unsigned int i = 0; i < maclen; i++)
			buf_printf(&resp, "%02x", mac[i]);
		sasl_b64_encode(resp.data, resp.len, out);
		buf_free(&resp);
		break;
	}
	case SASL_SCRAM_SHA_256:
		if (s->round == 1 && s->client_first_bare.len == 0) {
			/* No initial response was sent: the first 334 is empty. */
			sasl_initial(s, out);
			s->round = 0;
		} else if (!s->server_signature_set) {
			rc = scram_final(s, challenge.data ? challenge.data : "", out, err, errlen);
		} else {
			rc = scram_verify(s, challenge.data ? challenge.data : "", err, errlen);
		}
		break;
	}
	buf_free(&challenge);
	return rc;
}
