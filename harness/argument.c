/*
 * argument.c - RFC 5321 4.1.2 argument syntax and 4.5.3.1 limits (see
 * argument.h). Every function reads s[0..len) only.
 */
#include "argument.h"

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

static int is_alpha(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static int is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int is_let_dig(unsigned char c, int utf8)
{
	return is_alpha(c) || is_digit(c) || (utf8 && c >= 0x80);
}

/* atext (RFC 5322 3.2.3), plus UTF8-non-ascii under RFC 6531. */
static int is_atext(unsigned char c, int utf8)
{
	return is_alpha(c) || is_digit(c) || (c && strchr("!#$%&'*+-/=?^_`{|}~", c)) ||
	       (utf8 && c >= 0x80);
}

static enum argument_status worst(enum argument_status a, enum argument_status b)
{
	return a > b ? a : b;
}

/* Snum 3("." Snum), Snum = 1*3DIGIT with a value 0-255. */
static int ipv4_literal(const char *s, size_t len)
{
	size_t i = 0;
	for (int part = 0; part < 4; part++) {
		size_t start = i;
		unsigned value = 0;
		while (i < len && is_digit((unsigned char)s[i]) && i - start < 3)
			value = value * 10 + (unsigned)(s[i++] - '0');
		if (i == start || value > 255)
			return 0;
		if (part < 3) {
			if (i >= len || s[i] != '.')
				return 0;
			i++;
		}
	}
	return i == len;
}

/* "IPv6:" IPv6-addr: the forms of 4.1.3 are those inet_pton accepts. */
static int ipv6_literal(const char *s, size_t len)
{
	char buf[64];
	unsigned char addr[16];
	if (len < 5 || strncasecmp(s, "IPv6:", 5) != 0 || len - 5 >= sizeof(buf) || len == 5)
		return 0;
	memcpy(buf, s + 5, len - 5);
	buf[len - 5] = 0;
	return inet_pton(AF_INET6, buf, addr) == 1;
}

/* Standardized-tag ":" 1*dcontent, dcontent = %d33-90 / %d94-126. */
static int general_literal(const char *s, size_t len)
{
	size_t i = 0;
	while (i < len &&
	       (is_alpha((unsigned char)s[i]) || is_digit((unsigned char)s[i]) || s[i] == '-'))
		i++;
	if (i == 0 || s[i - 1] == '-' || i >= len || s[i] != ':' || i + 1 == len)
		return 0;
	for (i++; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!((c >= 33 && c <= 90) || (c >= 94 && c <= 126)))
			return 0;
	}
	return 1;
}

static int address_literal(const char *s, size_t len)
{
	if (len < 3 || s[0] != '[' || s[len - 1] != ']')
		return 0;
	s++;
	len -= 2;
	if (len && is_digit((unsigned char)s[0]) && ipv4_literal(s, len))
		return 1;
	if (len >= 5 && strncasecmp(s, "IPv6:", 5) == 0)
		return ipv6_literal(s, len);
	return general_literal(s, len);
}

enum argument_status argument_domain(const char *s, size_t len, int literal_ok, int utf8)
{
	if (len == 0)
		return ARGUMENT_SYNTAX;
	if (s[0] == '[') {
		if (!literal_ok || !address_literal(s, len))
			return ARGUMENT_SYNTAX;
		return len > ARG_DOMAIN_MAX ? ARGUMENT_TOO_LONG : ARGUMENT_OK;
	}
	size_t i = 0;
	int long_label = 0;
	while (i < len) {
		/* sub-domain = Let-dig [Ldh-str]: no "-" first or last. */
		size_t start = i;
		while (i < len && (is_let_dig((unsigned char)s[i], utf8) || s[i] == '-'))
			i++;
		if (i == start || s[start] == '-' || s[i - 1] == '-')
			return ARGUMENT_SYNTAX;
		long_label |= i - start > ARG_LABEL_MAX;
		if (i == len)
			break;
		if (s[i] != '.' || i + 1 == len)
			return ARGUMENT_SYNTAX;
		i++;
	}
	return len > ARG_DOMAIN_MAX || long_label ? ARGUMENT_TOO_LONG : ARGUMENT_OK;
}

/* Length of a Quoted-string at s (both quotes), or 0. */
static size_t quoted_string(const char *s, size_t len, int utf8)
{
	if (len < 2 || s[0] != '"')
		return 0;
	for (size_t i = 1; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"')
			return i + 1;
		if (c == '\\') {
			/* quoted-pairSMTP = %d92 %d32-126 */
			if (i + 1 >= len || (unsigned char)s[i + 1] < 32 ||
			    (unsigned char)s[i + 1] > 126)
				return 0;
			i++;
			continue;
		}
		/* qtextSMTP = %d32-33 / %d35-91 / %d93-126 */
		if (!((c >= 32 && c <= 126) || (utf8 && c >= 0x80)))
			return 0;
	}
	return 0;
}

/* Length of a Dot-string at s (up to the first octet that cannot continue
 * it), or 0 when it is not one. */
static size_t dot_string(const char *s, size_t len, int utf8)
{
	size_t i = 0;
	for (;;) {
		size_t start = i;
		while (i < len && is_atext((unsigned char)s[i], utf8))
			i++;
		if (i == start)
			return 0;
		if (i < len && s[i] == '.') {
			i++;
			continue;
		}
		return i;
	}
}

/* 1 when the local-part s[0..len) means "postmaster" (quoted forms are
 * equivalent, 4.1.2; the name is case-insensitive, 4.5.1). */
static int is_postmaster(const char *s, size_t len)
{
	static const char name[] = "postmaster";
	size_t k = 0;
	int quoted = len >= 2 && s[0] == '"';
	size_t i = quoted ? 1 : 0, end = quoted ? len - 1 : len;
	for (; i < end; i++) {
		char c = s[i];
		if (quoted && c == '\\')
			c = s[++i];
		if (k >= sizeof(name) - 1 || (c | 0x20) != name[k])
			return 0;
		k++;
	}
	return k == sizeof(name) - 1;
}

enum argument_status argument_path(const char *s, size_t len, int null_ok, int postmaster_ok,
                                   int utf8, struct path_info *out)
{
	struct path_info info;
	enum argument_status st = ARGUMENT_OK;
	memset(&info, 0, sizeof(info));
	if (out)
		memset(out, 0, sizeof(*out));
	if (len < 2 || s[0] != '<' || s[len - 1] != '>')
		return ARGUMENT_SYNTAX;
	info.path_len = len;
	if (len == 2) {
		if (!null_ok)
			return ARGUMENT_SYNTAX;
		info.null_path = 1;
		goto done;
	}
	const char *p = s + 1;
	size_t n = len - 2;
	if (postmaster_ok && n == 10 && is_postmaster(p, n)) {
		info.postmaster = 1;
		info.local_len = n;
		goto done;
	}
	if (p[0] == '@') {
		/* A-d-l ":" : the source route, parsed and then ignored. */
		size_t i = 0; /* at an "@" */
		for (;;) {
			size_t start = i + 1;
			i = start;
			while (i < n && p[i] != ',' && p[i] != ':')
				i++;
			if (i >= n ||
			    argument_domain(p + start, i - start, 1, utf8) == ARGUMENT_SYNTAX)
				return ARGUMENT_SYNTAX;
			if (p[i] == ':')
				break;
			if (i + 1 >= n || p[i + 1] != '@')
				return ARGUMENT_SYNTAX;
			i++;
		}
		info.source_route = 1;
		p += i + 1;
		n -= i + 1;
	}
	size_t local = p[0] == '"' ? quoted_string(p, n, utf8) : dot_string(p, n, utf8);
	if (local == 0 || local >= n || p[local] != '@')
		return ARGUMENT_SYNTAX;
	info.quoted = p[0] == '"';
	info.local_len = local;
	info.postmaster = is_postmaster(p, local);
	info.domain = p + local + 1;
	info.domain_len = n - local - 1;
	info.has_domain = 1;
	info.address_literal = info.domain_len && info.domain[0] == '[';
	st = argument_domain(info.domain, info.domain_len, 1, utf8);
	if (st == ARGUMENT_SYNTAX)
		return ARGUMENT_SYNTAX;
	if (info.local_len > ARG_LOCAL_PART_MAX)
		st = ARGUMENT_TOO_LONG;
done:
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80)
			info.utf8 = 1;
	if (info.path_len > ARG_PATH_MAX)
		st = ARGUMENT_TOO_LONG;
	if (out)
		*out = info;
	return st;
}

/* esmtp-keyword ["=" esmtp-value]: keyword = (ALPHA / DIGIT) *(ALPHA /
 * DIGIT / "-"), value = 1*(%d33-60 / %d62-126) (RFC 6531: UTF-8 too). */
static int esmtp_param(const char *s, size_t len, int utf8, struct esmtp_param *out)
{
	size_t i = 0;
	while (i < len && (is_alpha((unsigned char)s[i]) || is_digit((unsigned char)s[i]) ||
	                   (i > 0 && s[i] == '-')))
		i++;
	if (i == 0)
		return 0;
	out->keyword = s;
	out->keyword_len = i;
	out->value = NULL;
	out->value_len = 0;
	if (i == len)
		return 1;
	if (s[i] != '=' || i + 1 == len)
		return 0;
	for (size_t k = i + 1; k < len; k++) {
		unsigned char c = (unsigned char)s[k];
		if (!((c >= 33 && c <= 60) || (c >= 62 && c <= 126) || (utf8 && c >= 0x80)))
			return 0;
	}
	out->value = s + i + 1;
	out->value_len = len - i - 1;
	return 1;
}

enum argument_status argument_mail_rcpt(const char *arg, size_t len, int is_rcpt, int utf8,
                                        struct mail_rcpt_info *out)
{
	const char *word = is_rcpt ? " TO:" : " FROM:";
	size_t wl = strlen(word);
	memset(out, 0, sizeof(*out));
	if (len < wl || strncasecmp(arg, word, wl) != 0)
		return ARGUMENT_SYNTAX;
	const char *p = arg + wl;
	size_t n = len - wl;
	/* The path ends at the first ">" outside a quoted local-part. */
	size_t end = 0;
	int in_quote = 0;
	for (; end < n; end++) {
		if (in_quote && p[end] == '\\') {
			end++;
			continue;
		}
		if (p[end] == '"')
			in_quote = !in_quote;
		else if (!in_quote && p[end] == '>')
			break;
	}
	if (end == n)
		return ARGUMENT_SYNTAX;
	enum argument_status st = argument_path(p, end + 1, !is_rcpt, is_rcpt, utf8, &out->path);
	if (st == ARGUMENT_SYNTAX)
		return st;
	size_t i = end + 1;
	while (i < n) {
		if (p[i] != ' ' || i + 1 == n)
			return ARGUMENT_SYNTAX;
		size_t start = ++i;
		while (i < n && p[i] != ' ')
			i++;
		struct esmtp_param param;
		if (!esmtp_param(p + start, i - start, utf8, &param))
			return ARGUMENT_SYNTAX;
		if (out->nparams == ARG_PARAMS_MAX)
			return ARGUMENT_SYNTAX;
		out->params[out->nparams++] = param;
	}
	return worst(st, ARGUMENT_OK);
}

const struct esmtp_param *argument_param(const struct mail_rcpt_info *info, const char *keyword)
{
	size_t kl = strlen(keyword);
	for (size_t i = 0; i < info->nparams; i++)
		if (info->params[i].keyword_len == kl &&
		    strncasecmp(info->params[i].keyword, keyword, kl) == 0)
			return &info->params[i];
	return NULL;
}

int argument_size_value(const char *s, size_t len, unsigned long long *out)
{
	unsigned long long v = 0;
	if (!s || len == 0 || len > 20)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (!is_digit((unsigned char)s[i]))
			return -1;
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (~0ULL - d) / 10)
			v = ~0ULL; /* 20 digits may exceed 2^64: saturate */
		else
			v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int argument_is_base64(const char *s, size_t len)
{
	if (len == 1 && s[0] == '=')
		return 1;
	if (len == 0 || len % 4 != 0)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (is_alpha(c) || is_digit(c) || c == '+' || c == '/')
			continue;
		/* "=" only in the last two positions, and only at the end. */
		if (c == '=' && i >= len - 2 && (i == len - 1 || s[len - 1] == '='))
			continue;
		return 0;
	}
	return 1;
}

int argument_is_sasl_mech(const char *s, size_t len)
{
	if (len == 0 || len > 20)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!(is_alpha(c) || is_digit(c) || c == '-' || c == '_'))
			return 0;
	}
	return 1;
}
