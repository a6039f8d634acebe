/*
 * tls.c - OpenSSL client transport. See tls.h.
 *
 * One SSL_CTX per run; one SSL per connection, kept in conn.transport.
 * Reads and writes map SSL_ERROR_WANT_READ/WANT_WRITE onto CONN_AGAIN with
 * conn.want set, so the event interest of the I/O layer (io.c; conn_wait.c
 * for the shell) follows the handshake and renegotiation without knowing
 * about TLS. The session above them sees no TLS call at all.
 */
#include "tls.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "util.h"

static SSL_CTX *client_ctx;
static char *sni_name;

static const struct {
	const char *name;
	int version;
} versions[] = {
	{ "TLSv1", TLS1_VERSION },
	{ "TLSv1.1", TLS1_1_VERSION },
	{ "TLSv1.2", TLS1_2_VERSION },
	{ "TLSv1.3", TLS1_3_VERSION },
};

int tls_version_known(const char *name)
{
	for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++)
		if (strcmp(versions[i].name, name) == 0)
			return 1;
	return 0;
}

/* The newest OpenSSL error as text, or fallback; clears the queue. */
static void openssl_reason(char *out, size_t outlen, const char *fallback)
{
	unsigned long e = ERR_get_error();
	if (e)
		ERR_error_string_n(e, out, outlen);
	else
		snprintf(out, outlen, "%s", fallback);
	ERR_clear_error();
}

/* The options tls_setup() accepted; the context is built on first use. */
static struct {
	int configured;
	int verify;
	char *ca_file;
	int min_version;
} settings;

int tls_setup(const struct tls_options *o, char *err, size_t errlen)
{
	const char *minv = o->min_version ? o->min_version : "TLSv1.2";
	int version = 0;
	for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++)
		if (strcmp(versions[i].name, minv) == 0)
			version = versions[i].version;
	if (!version) {
		snprintf(err, errlen,
		         "unknown minimum TLS version '%s' (TLSv1, TLSv1.1, TLSv1.2, TLSv1.3)",
		         minv);
		return -1;
	}
	if (o->verify != TLS_VERIFY_OFF && o->ca_file && access(o->ca_file, R_OK) != 0) {
		snprintf(err, errlen, "CA file %s: %s", o->ca_file, strerror(errno));
		return -1;
	}
	settings.configured = 1;
	settings.verify = o->verify;
	free(settings.ca_file);
	settings.ca_file = o->ca_file ? xstrdup(o->ca_file) : NULL;
	settings.min_version = version;
	free(sni_name);
	sni_name = o->sni ? xstrdup(o->sni) : NULL;
	return 0;
}

/*
 * Builds the client context on first use: loading the system's CA store
 * costs ~40 ms of CPU, which a run that never speaks TLS must not pay.
 */
static int ensure_ctx(char *err, size_t errlen)
{
	if (client_ctx)
		return 0;
	if (!settings.configured) {
		snprintf(err, errlen, "TLS is not set up");
		return -1;
	}
	client_ctx = SSL_CTX_new(TLS_client_method());
	if (!client_ctx) {
		openssl_reason(err, errlen, "cannot create a TLS context");
		return -1;
	}
	SSL_CTX_set_min_proto_version(client_ctx, settings.min_version);
	if (settings.verify != TLS_VERIFY_OFF) {
		/* SSL_VERIFY_NONE still checks the chain and records the result
		 * (SSL_get_verify_result); only `require` abandons the handshake. */
		SSL_CTX_set_verify(client_ctx,
		                   settings.verify == TLS_VERIFY_REQUIRE ? SSL_VERIFY_PEER
		                                                         : SSL_VERIFY_NONE,
		                   NULL);
		int ok = settings.ca_file
		             ? SSL_CTX_load_verify_locations(client_ctx, settings.ca_file, NULL)
		             : SSL_CTX_set_default_verify_paths(client_ctx);
		if (!ok) {
			char why[256];
			openssl_reason(why, sizeof(why), "cannot load");
			snprintf(err, errlen, "CA file %s: %s",
			         settings.ca_file ? settings.ca_file : "(default)", why);
			SSL_CTX_free(client_ctx);
			client_ctx = NULL;
			return -1;
		}
	} else {
		SSL_CTX_set_verify(client_ctx, SSL_VERIFY_NONE, NULL);
	}
	return 0;
}

void tls_teardown(void)
{
	SSL_CTX_free(client_ctx);
	client_ctx = NULL;
	free(settings.ca_file);
	memset(&settings, 0, sizeof(settings));
	free(sni_name);
	sni_name = NULL;
}

static long map_result(struct conn *c, SSL *ssl, int n)
{
	if (n > 0)
		return n;
	switch (SSL_get_error(ssl, n)) {
	case SSL_ERROR_WANT_READ: c->want = CONN_WANT_READ; return CONN_AGAIN;
	case SSL_ERROR_WANT_WRITE: c->want = CONN_WANT_WRITE; return CONN_AGAIN;
	case SSL_ERROR_ZERO_RETURN: return CONN_EOF;
	case SSL_ERROR_SYSCALL:
		c->error = errno ? errno : ECONNRESET;
		ERR_clear_error();
		return errno ? CONN_ERROR : CONN_EOF;
	default:
		c->error = EPROTO;
		ERR_clear_error();
		return CONN_ERROR;
	}
}

static long tls_read(struct conn *c, void *buf, size_t len)
{
	SSL *ssl = c->transport;
	c->want = 0;
	int n = SSL_read(ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
	return map_result(c, ssl, n);
}

static long tls_write(struct conn *c, const void *buf, size_t len)
{
	SSL *ssl = c->transport;
	c->want = 0;
	int n = SSL_write(ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
	return map_result(c, ssl, n);
}

static void tls_shutdown(struct conn *c)
{
	SSL *ssl = c->transport;
	if (!ssl)
		return;
	/* One close_notify, never waiting for the peer's. */
	if (SSL_is_init_finished(ssl))
		SSL_shutdown(ssl);
	SSL_free(ssl);
	c->transport = NULL;
	ERR_clear_error();
}

static const struct transport_ops tls_ops = {
	.name = "tls",
	.read = tls_read,
	.write = tls_write,
	.shutdown = tls_shutdown,
};

int tls_attach(struct conn *c, char *err, size_t errlen)
{
	if (ensure_ctx(err, errlen) < 0)
		return -1;
	SSL *ssl = SSL_new(client_ctx);
	if (!ssl || !SSL_set_fd(ssl, c->fd)) {
		openssl_reason(err, errlen, "cannot create a TLS session");
		SSL_free(ssl);
		return -1;
	}
	if (sni_name) {
		SSL_set_tlsext_host_name(ssl, sni_name);
		if (settings.verify != TLS_VERIFY_OFF)
			SSL_set1_host(ssl, sni_name);
	}
	SSL_set_connect_state(ssl);
	c->transport = ssl;
	c->ops = &tls_ops;
	return 0;
}

int tls_handshake(struct conn *c, char *err, size_t errlen)
{
	SSL *ssl = c->transport;
	c->want = 0;
	int n = SSL_do_handshake(ssl);
	if (n == 1)
		return 1;
	int e = SSL_get_error(ssl, n);
	if (e == SSL_ERROR_WANT_READ) {
		c->want = CONN_WANT_READ;
		return 0;
	}
	if (e == SSL_ERROR_WANT_WRITE) {
		c->want = CONN_WANT_WRITE;
		return 0;
	}
	long vr = SSL_get_verify_result(ssl);
	if (vr != X509_V_OK && settings.verify == TLS_VERIFY_REQUIRE) {
		snprintf(err, errlen, "%s", X509_verify_cert_error_string(vr));
		ERR_clear_error();
		return TLS_HANDSHAKE_UNTRUSTED;
	}
	if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
		snprintf(err, errlen, "%s during the TLS handshake",
		         errno ? strerror(errno) : "the server closed the connection");
		return -1;
	}
	openssl_reason(err, errlen, "TLS handshake failed");
	return -1;
}

static char *name_oneline(X509_NAME *name)
{
	if (!name)
		return NULL;
	char *s = X509_NAME_oneline(name, NULL, 0);
	if (!s)
		return NULL;
	char *out = text_escape_dup(s, strlen(s));
	OPENSSL_free(s);
	return out;
}

void tls_info_get(const struct conn *c, struct tls_info *info)
{
	memset(info, 0, sizeof(*info));
	if (c->ops != &tls_ops || !c->transport)
		return;
	SSL *ssl = c->transport;
	info->protocol = xstrdup(SSL_get_version(ssl));
	const char *cipher = SSL_get_cipher_name(ssl);
	info->cipher = xstrdup(cipher ? cipher : "");
	X509 *peer = SSL_get1_peer_certificate(ssl);
	if (peer) {
		info->subject = name_oneline(X509_get_subject_name(peer));
		info->issuer = name_oneline(X509_get_issuer_name(peer));
		X509_free(peer);
	}
	long vr = SSL_get_verify_result(ssl);
	info->verified = settings.verify != TLS_VERIFY_OFF && vr == X509_V_OK;
	if (vr != X509_V_OK && settings.verify != TLS_VERIFY_OFF)
		info->verify_error = xstrdup(X509_verify_cert_error_string(vr));
}

void tls_info_free(struct tls_info *info)
{
	free(info->protocol);
	free(info->cipher);
	free(info->subject);
	free(info->issuer);
	free(info->verify_error);
	memset(info, 0, sizeof(*info));
}
