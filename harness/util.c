/*
 * util.c - memory wrappers, struct buf, text escaping, clock and file helpers,
 * the redaction of secrets.
 *
 * Owns the one out-of-memory exit, the escaping of wire bytes into printable
 * UTF-8 for reports (and its inverse for scenario files), the atomic file
 * write used for reports and the registry of secret forms every record is
 * masked against. Does not own any protocol logic (SASL blobs: sasl.c).
 */
#include "util.h"

#include "smtp_limits.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

/* First allocation of a struct buf. */
#define BUF_INITIAL_CAP 64
/* Bytes read at a time by file_read_all. */
#define FILE_READ_CHUNK 65536

/* The one out-of-memory path: a message and a clean exit, no abort/core. */
static void __attribute__((noreturn)) oom(void)
{
	static const char msg[] = "smtpconform: out of memory\n";
	ssize_t ignored = write(STDERR_FILENO, msg, sizeof msg - 1);
	(void)ignored;
	exit(EX_SOFTWARE);
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (p == NULL)
		oom();
	return p;
}

void *xcalloc(size_t nmemb, size_t size)
{
	void *p;

	if (nmemb == 0 || size == 0)
		nmemb = size = 1;
	p = calloc(nmemb, size);
	if (p == NULL)
		oom();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (q == NULL)
		oom();
	return q;
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = xmalloc(len + 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *xvasprintf(const char *fmt, va_list ap)
{
	va_list count_ap;
	size_t size;
	char *s;
	int n;

	va_copy(count_ap, ap);
	n = vsnprintf(NULL, 0, fmt, count_ap);
	va_end(count_ap);
	if (n < 0)
		BUG("vsnprintf failed");
	size = (size_t)n + 1;
	s = xmalloc(size);
	n = vsnprintf(s, size, fmt, ap);
	if (n < 0 || (size_t)n >= size)
		BUG("vsnprintf changed its mind");
	return s;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	return s;
}

void util_bug(const char *func, const char *file, int line, const char *msg)
{
	fprintf(stderr, "smtpconform: BUG in %s() at %s:%d: %s\n", func, file, line,
	        msg ? msg : "impossible state");
	fflush(stderr);
	abort();
}

/* ------------------------------------------------------------------ buf */

/* Makes room for n more bytes plus the terminating NUL. */
static void buf_reserve(struct buf *b, size_t n)
{
	size_t need, cap;

	if (n > SIZE_MAX - b->len - 1)
		oom();
	need = b->len + n + 1;
	if (b->data != NULL && need <= b->cap)
		return;
	cap = b->cap ? b->cap : BUF_INITIAL_CAP;
	while (cap < need) {
		if (cap > SIZE_MAX / 2) {
			cap = need;
			break;
		}
		cap *= 2;
	}
	b->data = xrealloc(b->data, cap);
	b->cap = cap;
	b->data[b->len] = '\0';
}

void buf_append(struct buf *b, const void *bytes, size_t n)
{
	buf_reserve(b, n);
	if (n)
		memcpy(b->data + b->len, bytes, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void buf_puts(struct buf *b, const char *s)
{
	buf_append(b, s, strlen(s));
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	buf_reserve(b, 0);
	va_start(ap, fmt);
	n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		BUG("vsnprintf failed");
	if ((size_t)n >= b->cap - b->len) {
		buf_reserve(b, (size_t)n);
		va_start(ap, fmt);
		n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0 || (size_t)n >= b->cap - b->len)
			BUG("vsnprintf changed its mind");
	}
	b->len += (size_t)n;
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

char *buf_steal(struct buf *b)
{
	char *data = b->data;

	if (data == NULL)
		data = xstrdup("");
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	return data;
}

void code_digits(int code, char out[3])
{
	out[0] = (char)('0' + code / 100 % 10);
	out[1] = (char)('0' + code / 10 % 10);
	out[2] = (char)('0' + code % 10);
}

void buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

/* ------------------------------------------------------------- escaping */

/*
 * Length of the well-formed UTF-8 sequence of 2-4 bytes at p (RFC 3629
 * section 4: no overlongs, no surrogates, nothing above U+10FFFF), or 0.
 */
static size_t utf8_sequence_len(const uint8_t *p, size_t n)
{
	uint8_t lo = 0x80, hi = 0xbf;
	size_t len, i;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4;
	else
		return 0;
	if (p[0] == 0xe0)
		lo = 0xa0; /* overlong below U+0800 */
	else if (p[0] == 0xed)
		hi = 0x9f; /* surrogates U+D800..U+DFFF */
	else if (p[0] == 0xf0)
		lo = 0x90; /* overlong below U+10000 */
	else if (p[0] == 0xf4)
		hi = 0x8f; /* above U+10FFFF */
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return len;
}

/*
 * Valid UTF-8 that the header still promises to keep out: the C1 controls
 * U+0080..U+009F and the XML 1.0 non-characters U+FFFE and U+FFFF.
 */
static int utf8_is_unsafe(const uint8_t *p, size_t len)
{
	if (len == 2 && p[0] == 0xc2 && p[1] <= 0x9f)
		return 1;
	if (len == 3 && p[0] == 0xef && p[1] == 0xbf && (p[2] == 0xbe || p[2] == 0xbf))
		return 1;
	return 0;
}

static void escape_byte(struct buf *out, uint8_t c)
{
	static const char hex[] = "0123456789abcdef";
	char esc[4] = { '\\', 'x', hex[c >> 4], hex[c & 0x0f] };

	buf_append(out, esc, sizeof esc);
}

void text_escape(struct buf *out, const void *bytes, size_t n)
{
	const uint8_t *p = bytes;
	size_t i = 0, run, seq;

	buf_reserve(out, n);
	while (i < n) {
		/* Copy the longest run of bytes that stay as they are. */
		run = i;
		while (run < n && p[run] >= 0x20 && p[run] <= 0x7e && p[run] != '\\')
			run++;
		if (run > i) {
			buf_append(out, p + i, run - i);
			i = run;
			continue;
		}
		switch (p[i]) {
		case '\\':
			buf_append(out, "\\\\", 2);
			i++;
			continue;
		case '\r':
			buf_append(out, "\\r", 2);
			i++;
			continue;
		case '\n':
			buf_append(out, "\\n", 2);
			i++;
			continue;
		case '\t':
			buf_append(out, "\\t", 2);
			i++;
			continue;
		default: break;
		}
		seq = p[i] >= 0x80 ? utf8_sequence_len(p + i, n - i) : 0;
		if (seq && !utf8_is_unsafe(p + i, seq)) {
			buf_append(out, p + i, seq);
			i += seq;
		} else if (seq) {
			for (run = 0; run < seq; run++)
				escape_byte(out, p[i + run]);
			i += seq;
		} else {
			escape_byte(out, p[i]);
			i++;
		}
	}
}

char *text_escape_dup(const void *bytes, size_t n)
{
	struct buf b = { 0 };

	text_escape(&b, bytes, n);
	return buf_steal(&b);
}

/* Unicode bidirectional formatting characters (UAX #9): ALM U+061C, LRM
 * U+200E, RLM U+200F, LRE..RLO U+202A..U+202E, LRI..PDI U+2066..U+2069. */
static int utf8_is_bidi(const uint8_t *p, size_t len)
{
	if (len == 2)
		return p[0] == 0xd8 && p[1] == 0x9c;
	if (len != 3 || p[0] != 0xe2)
		return 0;
	if (p[1] == 0x80)
		return p[2] == 0x8e || p[2] == 0x8f || (p[2] >= 0xaa && p[2] <= 0xae);
	return p[1] == 0x81 && p[2] >= 0xa6 && p[2] <= 0xa9;
}

/* 1 when cutting s at offset at would split a "\xNN" escape. */
static int escape_straddles(const char *s, size_t at)
{
	for (size_t k = 1; k <= 3 && k <= at; k++)
		if (s[at - k] == '\\' && s[at - k + 1] == 'x')
			return 1;
	return 0;
}

void text_sanitize(char *msg, size_t size)
{
	const uint8_t *p = (const uint8_t *)msg;
	size_t n = strnlen(msg, size), i = 0, seq;
	struct buf out = { 0 };

	if (size == 0)
		return;
	while (i < n) {
		if (p[i] >= 0x20 && p[i] <= 0x7e) {
			buf_append(&out, p + i, 1);
			i++;
			continue;
		}
		if (p[i] == '\t' || p[i] == '\r' || p[i] == '\n') {
			buf_puts(&out, p[i] == '\t' ? "\\t" : p[i] == '\r' ? "\\r" : "\\n");
			i++;
			continue;
		}
		seq = p[i] >= 0x80 ? utf8_sequence_len(p + i, n - i) : 0;
		if (seq && !utf8_is_unsafe(p + i, seq) && !utf8_is_bidi(p + i, seq)) {
			buf_append(&out, p + i, seq);
			i += seq;
			continue;
		}
		for (size_t k = 0; k < (seq ? seq : 1); k++)
			escape_byte(&out, p[i + k]);
		i += seq ? seq : 1;
	}
	if (out.len == n) {
		buf_free(&out);
		return; /* nothing to escape */
	}
	/* Cut to fit, outside any "\xNN" and any UTF-8 sequence. */
	size_t keep = out.len < size ? out.len : size - 1;
	while (keep > 0 && keep < out.len &&
	       ((((uint8_t)out.data[keep] & 0xc0) == 0x80) || escape_straddles(out.data, keep)))
		keep--;
	memcpy(msg, out.data, keep);
	msg[keep] = '\0';
	buf_free(&out);
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Writes "bad escape "<escaped src[at..at+n)>" at offset N: why" to err_out. */
static void unescape_error(char *err_out, size_t err_len, const char *src, size_t at, size_t n,
                           const char *why)
{
	char *shown;

	if (err_out == NULL || err_len == 0)
		return;
	shown = text_escape_dup(src + at, n);
	snprintf(err_out, err_len, "bad escape \"%s\" at offset %zu: %s", shown, at, why);
	free(shown);
}

int text_unescape(struct buf *out, const char *src, size_t n, char *err_out, size_t err_len)
{
	size_t start_len = out->len;
	size_t i = 0;
	int hi, lo;
	char c;

	buf_reserve(out, n);
	while (i < n) {
		if (src[i] != '\\') {
			/* The run up to the next backslash, in one copy. */
			const char *bs = memchr(src + i, '\\', n - i);
			size_t run = bs ? (size_t)(bs - src) - i : n - i;
			buf_append(out, src + i, run);
			i += run;
			continue;
		}
		if (i + 1 >= n) {
			unescape_error(err_out, err_len, src, i, 1, "backslash at end of text");
			goto fail;
		}
		switch (src[i + 1]) {
		case 'r': c = '\r'; break;
		case 'n': c = '\n'; break;
		case 't': c = '\t'; break;
		case '0': c = '\0'; break;
		case '\\': c = '\\'; break;
		case '"': c = '"'; break;
		case 'x':
			hi = i + 2 < n ? hex_value(src[i + 2]) : -1;
			lo = i + 3 < n ? hex_value(src[i + 3]) : -1;
			if (hi < 0 || lo < 0) {
				unescape_error(err_out, err_len, src, i, n - i < 4 ? n - i : 4,
				               "\\x needs exactly two hex digits");
				goto fail;
			}
			c = (char)(hi << 4 | lo);
			buf_append(out, &c, 1);
			i += 4;
			continue;
		default:
			unescape_error(err_out, err_len, src, i, 2,
			               "known escapes are \\r \\n \\t \\0 \\\\ \\\" \\xNN");
			goto fail;
		}
		buf_append(out, &c, 1);
		i += 2;
	}
	return 0;
fail:
	out->len = start_len;
	out->data[out->len] = '\0';
	return -1;
}

/* ---------------------------------------------------------- clock, files */

int64_t clock_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		BUG("clock_gettime(CLOCK_MONOTONIC) failed");
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *clock_iso8601_utc(void)
{
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	char s[32];
	strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return xstrdup(s);
}

int64_t clock_us(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		BUG("clock_gettime(CLOCK_MONOTONIC) failed");
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Best effort: makes the rename itself durable. */
static void fsync_parent_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int fd;

	if (slash == NULL)
		dir = xstrdup(".");
	else if (slash == path)
		dir = xstrdup("/");
	else
		dir = xstrndup(path, (size_t)(slash - path));
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
	free(dir);
}

/* A device, FIFO or socket (/dev/stdout, /dev/null, a pipe) is written in
 * place: renaming a file over it would replace the device node. */
static int write_in_place(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = write_all(fd, data, len);
	int saved_errno = errno;
	if (close(fd) != 0 && rc == 0)
		return -1;
	errno = saved_errno;
	return rc;
}

int file_write_atomic(const char *path, const void *data, size_t len)
{
	struct stat st;
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
		return write_in_place(path, data, len);
	char *tmp = xasprintf("%s.tmpXXXXXX", path);
	int fd, saved_errno, rc = -1;

	fd = mkstemp(tmp);
	if (fd < 0) {
		saved_errno = errno;
		free(tmp);
		errno = saved_errno;
		return -1;
	}
	if (write_all(fd, data, len) != 0)
		goto out;
	if (fsync(fd) != 0)
		goto out;
	if (fchmod(fd, 0644) != 0)
		goto out;
	if (close(fd) != 0) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0)
		goto out;
	fsync_parent_dir(path);
	rc = 0;
out:
	saved_errno = errno;
	if (fd >= 0)
		close(fd);
	if (rc != 0)
		unlink(tmp);
	free(tmp);
	errno = saved_errno;
	return rc;
}

int file_check_writable(const char *path)
{
	struct stat st;
	if (stat(path, &st) == 0) {
		if (S_ISDIR(st.st_mode)) {
			errno = EISDIR;
			return -1;
		}
		/* Not a regular file (/dev/stdout, a pipe): written in place. */
		if (!S_ISREG(st.st_mode))
			return access(path, W_OK);
	}
	/* What file_write_atomic() needs first: a temporary file beside it. */
	char *tmp = xasprintf("%s.tmpXXXXXX", path);
	int fd = mkstemp(tmp);
	int saved_errno = errno;
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	free(tmp);
	errno = saved_errno;
	return fd >= 0 ? 0 : -1;
}

int file_read_all(const char *path, size_t max, struct buf *out)
{
	size_t start_len = out->len, got, want;
	int fd, saved_errno, rc = -1;
	ssize_t n;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	buf_append(out, "", 0);
	for (;;) {
		/* Read at most one byte past max: enough to tell "too big". */
		got = out->len - start_len;
		want = max - got < FILE_READ_CHUNK ? max - got + 1 : FILE_READ_CHUNK;
		buf_reserve(out, want);
		n = read(fd, out->data + out->len, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto out;
		if (n == 0)
			break;
		out->len += (size_t)n;
		out->data[out->len] = '\0';
		if (out->len - start_len > max) {
			errno = EFBIG;
			goto out;
		}
	}
	rc = 0;
out:
	saved_errno = errno;
	close(fd);
	if (rc != 0) {
		out->len = start_len;
		out->data[out->len] = '\0';
	}
	errno = saved_errno;
	return rc;
}

/* ------------------------------------------------------------ redaction */

/* One registered form of a secret. standalone: the form is sent or shown on
 * its own (the password, its hex, its base64, a SASL blob), so even when
 * shorter than a piece it is masked wherever it occurs whole; a fragment
 * (base64 of the secret inside a longer blob) only lends its pieces. */
struct redact_form {
	char *text;
	size_t len;
	int standalone;
};
static struct redact_form redact_forms[REDACT_FORMS_MAX];
static size_t redact_nforms;
/* Every REDACT_PIECE_MIN-byte window of every form, packed big-endian into
 * an integer, sorted and unique: one bsearch tells whether bytes at an
 * offset start a piece. */
static uint64_t *redact_pieces;
static size_t redact_npieces;

static uint64_t piece_key(const unsigned char *p)
{
	uint64_t k = 0;
	for (size_t i = 0; i < REDACT_PIECE_MIN; i++)
		k = k << 8 | p[i];
	return k;
}

static int piece_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Takes ownership of text. */
static void redact_add(char *text, size_t len, int standalone)
{
	if (len == 0 || (!standalone && len < REDACT_PIECE_MIN)) {
		free(text);
		return;
	}
	for (size_t i = 0; i < redact_nforms; i++) {
		if (redact_forms[i].len == len && memcmp(redact_forms[i].text, text, len) == 0) {
			redact_forms[i].standalone |= standalone;
			free(text);
			return;
		}
	}
	if (redact_nforms == REDACT_FORMS_MAX)
		BUG("more secret forms than REDACT_FORMS_MAX");
	redact_forms[redact_nforms++] = (struct redact_form){ text, len, standalone };
	if (len < REDACT_PIECE_MIN)
		return;
	size_t add = len - REDACT_PIECE_MIN + 1;
	redact_pieces = xrealloc(redact_pieces, (redact_npieces + add) * sizeof(*redact_pieces));
	for (size_t i = 0; i < add; i++)
		redact_pieces[redact_npieces++] = piece_key((const unsigned char *)text + i);
	qsort(redact_pieces, redact_npieces, sizeof(*redact_pieces), piece_cmp);
	size_t w = 0;
	for (size_t i = 0; i < redact_npieces; i++)
		if (w == 0 || redact_pieces[w - 1] != redact_pieces[i])
			redact_pieces[w++] = redact_pieces[i];
	redact_npieces = w;
}

/* Base64 (standard alphabet, padded) of n bytes. */
static void base64_encode(struct buf *out, const unsigned char *p, size_t n)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) |
		             (i + 2 < n ? p[i + 2] : 0);
		char q[4] = { b64[(v >> 18) & 63], b64[(v >> 12) & 63],
			      i + 1 < n ? b64[(v >> 6) & 63] : '=', i + 2 < n ? b64[v & 63] : '=' };
		buf_append(out, q, 4);
	}
}

void redact_register(const void *secret, size_t n)
{
	const unsigned char *p = secret;
	if (n == 0)
		return;
	redact_add(xstrndup(secret, n), strnlen(secret, n), 1);
	char *escaped = text_escape_dup(secret, n);
	redact_add(escaped, strlen(escaped), 1);
	struct buf hex = { 0 }, hexu = { 0 }, enc = { 0 };
	for (size_t i = 0; i < n; i++) {
		buf_printf(&hex, "%02x", p[i]);
		buf_printf(&hexu, "%02X", p[i]);
	}
	redact_add(hex.data, hex.len, 1);
	redact_add(hexu.data, hexu.len, 1);
	/* Base64 of the secret alone (LOGIN's answer), then of the secret
	 * starting at byte 1 or 2 of a 3-byte group inside a longer blob (as in
	 * PLAIN's "\0user\0pass"): character j covers bits [6j, 6j+6) and
	 * depends on the secret alone when those bits lie inside it. */
	for (size_t shift = 0; shift < 3; shift++) {
		unsigned char *tmp = xcalloc(n + shift, 1);
		memcpy(tmp + shift, p, n);
		buf_reset(&enc);
		base64_encode(&enc, tmp, n + shift);
		free(tmp);
		if (shift == 0) {
			redact_add(xstrndup(enc.data, enc.len), enc.len, 1);
			continue;
		}
		size_t first = (8 * shift + 5) / 6, end = 8 * (shift + n) / 6;
		if (end > first)
			redact_add(xstrndup(enc.data + first, end - first), end - first, 0);
	}
	buf_free(&enc);
}

void redact_register_text(const char *form)
{
	redact_add(xstrdup(form), strlen(form), 1);
}

void redact_reset(void)
{
	for (size_t i = 0; i < redact_nforms; i++)
		free(redact_forms[i].text);
	redact_nforms = 0;
	free(redact_pieces);
	redact_pieces = NULL;
	redact_npieces = 0;
}

/* 1 when the REDACT_PIECE_MIN bytes at p are a piece of a form. */
static int starts_piece(const unsigned char *p)
{
	uint64_t k = piece_key(p);
	return bsearch(&k, redact_pieces, redact_npieces, sizeof(k), piece_cmp) != NULL;
}

/* 1 when byte at of s[0..n) belongs to a secret piece or a short form. */
static int redact_masked(const unsigned char *s, size_t n, size_t at)
{
	size_t from = at >= REDACT_PIECE_MIN - 1 ? at - (REDACT_PIECE_MIN - 1) : 0;
	for (size_t i = from; i <= at && i + REDACT_PIECE_MIN <= n; i++)
		if (starts_piece(s + i))
			return 1;
	for (size_t k = 0; k < redact_nforms; k++) {
		const struct redact_form *f = &redact_forms[k];
		if (!f->standalone || f->len >= REDACT_PIECE_MIN)
			continue;
		size_t lo = at >= f->len - 1 ? at - (f->len - 1) : 0;
		for (size_t i = lo; i <= at && i + f->len <= n; i++)
			if (memcmp(s + i, f->text, f->len) == 0)
				return 1;
	}
	return 0;
}

/* Marks in mask[0..n) every byte of s that belongs to a secret piece or a
 * whole short form. Returns 1 when any is marked. */
static int redact_mask(const unsigned char *s, size_t n, unsigned char *mask)
{
	int any = 0;
	memset(mask, 0, n);
	for (size_t i = 0; i + REDACT_PIECE_MIN <= n; i++) {
		if (starts_piece(s + i)) {
			memset(mask + i, 1, REDACT_PIECE_MIN);
			any = 1;
		}
	}
	for (size_t k = 0; k < redact_nforms; k++) {
		const struct redact_form *f = &redact_forms[k];
		if (!f->standalone || f->len >= REDACT_PIECE_MIN)
			continue;
		for (size_t i = 0; i + f->len <= n; i++) {
			if (memcmp(s + i, f->text, f->len) == 0) {
				memset(mask + i, 1, f->len);
				any = 1;
			}
		}
	}
	return any;
}

void redact(char *s)
{
	static const char mark[] = "<redacted>";
	if (!s || redact_nforms == 0)
		return;
	size_t n = strlen(s);
	unsigned char *mask = xmalloc(n);
	if (!redact_mask((const unsigned char *)s, n, mask)) {
		free(mask);
		return;
	}
	size_t r = 0, w = 0;
	while (r < n) {
		if (!mask[r]) {
			s[w++] = s[r++];
			continue;
		}
		size_t run = 0;
		while (r + run < n && mask[r + run])
			run++;
		/* "<redacted>" where it fits, else as many '*': never longer. */
		if (run >= sizeof(mark) - 1) {
			memcpy(s + w, mark, sizeof(mark) - 1);
			w += sizeof(mark) - 1;
		} else {
			memset(s + w, '*', run);
			w += run;
		}
		r += run;
	}
	s[w] = '\0';
	free(mask);
}

size_t redact_cut(const void *bytes, size_t n, size_t max)
{
	const unsigned char *s = bytes;
	if (max >= n)
		return n;
	if (redact_nforms == 0)
		return max;
	size_t cut = max;
	while (cut > 0 && redact_masked(s, n, cut - 1) && redact_masked(s, n, cut))
		cut--;
	return cut;
}
