/*
 * test_util.c - unit tests of harness/util.c.
 *
 * text_escape (tables of controls, valid and invalid UTF-8, and a seeded
 * round trip through text_unescape), text_unescape errors, struct buf,
 * xasprintf, clock_ms, file_write_atomic and file_read_all.
 */
#include "unit.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#include "smtp_limits.h"
#include "util.h"

#define IN(s) (s), (sizeof(s) - 1)

/* ----------------------------------------------------------- text_escape */

struct escape_case {
	const char *name;
	const char *in;
	size_t len;
	const char *out;
};

static const struct escape_case escape_cases[] = {
	{ "empty", IN(""), "" },
	{ "printable ascii", IN("250 OK ~!@#$%^&*()_+{}|:\"<>?`-=[];',./"),
	  "250 OK ~!@#$%^&*()_+{}|:\"<>?`-=[];',./" },
	{ "backslash", IN("a\\b"), "a\\\\b" },
	{ "cr lf tab", IN("\r\n\t"), "\\r\\n\\t" },
	{ "nul", IN("a\0b"), "a\\x00b" },
	{ "controls", IN("\x01\x1b\x1f\x7f"), "\\x01\\x1b\\x1f\\x7f" },
	{ "looks like an escape", IN("\\x41"), "\\\\x41" },
	{ "2-byte utf-8", IN("caf\xc3\xa9"), "caf\xc3\xa9" },
	{ "3-byte utf-8", IN("\xe2\x82\xac 5"), "\xe2\x82\xac 5" },
	{ "4-byte utf-8", IN("\xf0\x9f\x98\x80"), "\xf0\x9f\x98\x80" },
	{ "last code point", IN("\xf4\x8f\xbf\xbf"), "\xf4\x8f\xbf\xbf" },
	{ "before surrogates", IN("\xed\x9f\xbf"), "\xed\x9f\xbf" },
	{ "after surrogates", IN("\xee\x80\x80"), "\xee\x80\x80" },
	{ "replacement char", IN("\xef\xbf\xbd"), "\xef\xbf\xbd" },
	{ "lone continuation", IN("\x80"), "\\x80" },
	{ "lone lead", IN("\xc3"), "\\xc3" },
	{ "truncated 3-byte",
	  IN("\xe2\x82"
	     "A"),
	  "\\xe2\\x82A" },
	{ "truncated 4-byte at end", IN("\xf0\x9f\x98"), "\\xf0\\x9f\\x98" },
	{ "overlong /", IN("\xc0\xaf"), "\\xc0\\xaf" },
	{ "overlong 2-byte", IN("\xc1\xbf"), "\\xc1\\xbf" },
	{ "overlong 3-byte", IN("\xe0\x80\xaf"), "\\xe0\\x80\\xaf" },
	{ "overlong 4-byte", IN("\xf0\x80\x80\xaf"), "\\xf0\\x80\\x80\\xaf" },
	{ "surrogate", IN("\xed\xa0\x80"), "\\xed\\xa0\\x80" },
	{ "above U+10FFFF", IN("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80" },
	{ "f5 lead", IN("\xf5\x80\x80\x80"), "\\xf5\\x80\\x80\\x80" },
	{ "ff", IN("\xff\xfe"), "\\xff\\xfe" },
	{ "latin-1", IN("caf\xe9!"), "caf\\xe9!" },
	{ "C1 control", IN("\xc2\x85"), "\\xc2\\x85" },
	{ "U+00A0 is not C1", IN("\xc2\xa0"), "\xc2\xa0" },
	{ "U+FFFE", IN("\xef\xbf\xbe"), "\\xef\\xbf\\xbe" },
	{ "U+FFFF", IN("\xef\xbf\xbf"), "\\xef\\xbf\\xbf" },
	{ "valid after invalid", IN("\xff\xc3\xa9"), "\\xff\xc3\xa9" },
};

static void test_escape_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof escape_cases / sizeof escape_cases[0]; i++) {
		const struct escape_case *c = &escape_cases[i];
		struct buf b = { 0 };
		char *dup;

		text_escape(&b, c->in, c->len);
		if (strcmp(b.data, c->out) != 0)
			print_error("case \"%s\"\n", c->name);
		assert_string_equal(b.data, c->out);
		assert_int_equal(b.len, strlen(c->out));
		buf_free(&b);
		dup = text_escape_dup(c->in, c->len);
		assert_string_equal(dup, c->out);
		free(dup);
	}
}

/* Appends to what the buffer holds. */
static void test_escape_appends(void **state)
{
	struct buf b = { 0 };

	(void)state;
	buf_puts(&b, "S: ");
	text_escape(&b, "250\r\n", 5);
	assert_string_equal(b.data, "S: 250\\r\\n");
	buf_free(&b);
}

/* A tiny deterministic generator, so every run tests the same bytes. */
static uint32_t rng_next(uint64_t *s)
{
	*s = *s * 6364136223846793005u + 1442695040888963407u; /* Knuth's MMIX LCG */
	return (uint32_t)(*s >> 32);
}

/*
 * Any bytes: the escape has no control byte and no DEL, and text_unescape
 * gives the bytes back.
 */
static void test_escape_round_trip(void **state)
{
	static const uint8_t pool[] = { 0x00, 0x09, 0x0a, 0x0d, 0x1b, 0x20, 'a',  '\\',
		                        '"',  0x7f, 0x80, 0x9f, 0xa0, 0xbf, 0xc2, 0xc3,
		                        0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff };
	uint64_t seed = 20240611;
	uint8_t in[64];
	struct buf esc = { 0 }, back = { 0 };
	char err[128];
	size_t round, i, n;

	(void)state;
	for (round = 0; round < 20000; round++) {
		n = rng_next(&seed) % sizeof in;
		for (i = 0; i < n; i++) {
			uint32_t r = rng_next(&seed);
			in[i] = r & 0x100 ? pool[(r >> 9) % sizeof pool] : (uint8_t)r;
		}
		buf_reset(&esc);
		buf_reset(&back);
		text_escape(&esc, in, n);
		for (i = 0; i < esc.len; i++) {
			uint8_t c = (uint8_t)esc.data[i];
			if (c < 0x20 || c == 0x7f)
				fail_msg("round %zu: control byte 0x%02x in the escape", round, c);
		}
		if (text_unescape(&back, esc.data, esc.len, err, sizeof err) != 0)
			fail_msg("round %zu: %s", round, err);
		assert_int_equal(back.len, n);
		assert_memory_equal(back.data, in, n);
	}
	buf_free(&esc);
	buf_free(&back);
}

/* --------------------------------------------------------- text_unescape */

static void test_unescape_good(void **state)
{
	static const char src[] = "a\\r\\n\\t\\0\\\\\\\"\\x41\\xfF\\x00z";
	static const char want[] = "a\r\n\t\0\\\"A\xff\0z";
	struct buf b = { 0 };
	char err[128] = "untouched";

	(void)state;
	assert_int_equal(text_unescape(&b, src, sizeof src - 1, err, sizeof err), 0);
	assert_int_equal(b.len, sizeof want - 1);
	assert_memory_equal(b.data, want, sizeof want - 1);
	assert_int_equal(b.data[b.len], '\0');
	assert_string_equal(err, "untouched");
	/* Only n bytes are read; raw bytes pass through. */
	buf_reset(&b);
	assert_int_equal(text_unescape(&b, "ab\\q", 2, err, sizeof err), 0);
	assert_string_equal(b.data, "ab");
	buf_reset(&b);
	assert_int_equal(text_unescape(&b, "caf\xc3\xa9\x01", 6, err, sizeof err), 0);
	assert_string_equal(b.data, "caf\xc3\xa9\x01");
	buf_free(&b);
}

static void test_unescape_errors(void **state)
{
	static const struct {
		const char *src;
		const char *names; /* the error message contains this */
	} cases[] = {
		{ "ab\\q", "\"\\\\q\" at offset 2" }, { "\\a", "\"\\\\a\" at offset 0" },
		{ "\\x4", "\"\\\\x4\" at offset 0" }, { "x\\x4g", "\"\\\\x4g\" at offset 1" },
		{ "\\xg1", "\"\\\\xg1\"" },           { "\\x", "\"\\\\x\"" },
		{ "end\\", "\"\\\\\" at offset 3" },  { "\\\x01", "\"\\\\\\x01\"" },
		{ "\\\xc3\xa9", "\"\\\\\\xc3\"" },
	};
	struct buf b = { 0 };
	char err[160];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		buf_reset(&b);
		buf_puts(&b, "kept");
		err[0] = '\0';
		assert_int_equal(
		    text_unescape(&b, cases[i].src, strlen(cases[i].src), err, sizeof err), -1);
		if (strstr(err, cases[i].names) == NULL)
			fail_msg("\"%s\" does not contain \"%s\"", err, cases[i].names);
		/* The buffer is as it was. */
		assert_string_equal(b.data, "kept");
		assert_int_equal(b.len, 4);
	}
	/* No room for a message is fine. */
	assert_int_equal(text_unescape(&b, "\\q", 2, NULL, 0), -1);
	/* A short message buffer is cut, not overrun. */
	assert_int_equal(text_unescape(&b, "\\q", 2, err, 8), -1);
	assert_int_equal(strlen(err), 7);
	buf_free(&b);
}

/* ------------------------------------------------------------------- buf */

static void test_buf(void **state)
{
	struct buf b = { 0 };
	char *s;
	size_t i;

	(void)state;
	assert_null(b.data);
	buf_append(&b, "", 0);
	assert_non_null(b.data);
	assert_string_equal(b.data, "");
	buf_append(&b, "ab\0c", 4);
	assert_int_equal(b.len, 4);
	assert_memory_equal(b.data, "ab\0c\0", 5);
	buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.data, "");
	for (i = 0; i < 1000; i++)
		buf_puts(&b, "0123456789");
	assert_int_equal(b.len, 10000);
	assert_true(b.cap > b.len);
	assert_int_equal(b.data[b.len], '\0');
	buf_reset(&b);
	buf_printf(&b, "%d-%s", 42, "x");
	buf_printf(&b, "%0300d", 7); /* more than the room left */
	assert_int_equal(b.len, 4 + 300);
	assert_memory_equal(b.data, "42-x000", 7);
	assert_int_equal(b.data[b.len - 1], '7');
	assert_int_equal(b.data[b.len], '\0');
	s = buf_steal(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	assert_int_equal(strlen(s), 304);
	free(s);
	/* Stealing an empty buffer still gives a string. */
	s = buf_steal(&b);
	assert_non_null(s);
	assert_string_equal(s, "");
	free(s);
	buf_free(&b);
	buf_free(&b); /* twice is harmless */
}

static void test_xalloc(void **state)
{
	char *s;

	(void)state;
	s = xasprintf("%s %d %c", "250", 7, 'x');
	assert_string_equal(s, "250 7 x");
	free(s);
	s = xasprintf("%s", "");
	assert_string_equal(s, "");
	free(s);
	s = xstrndup("abcdef", 3);
	assert_string_equal(s, "abc");
	free(s);
	s = xstrndup("ab", 10);
	assert_string_equal(s, "ab");
	free(s);
	s = xstrdup("x");
	assert_string_equal(s, "x");
	free(s);
	free(xmalloc(0));
	free(xcalloc(0, 8));
	s = xrealloc(NULL, 16);
	s = xrealloc(s, 0);
	free(s);
}

static void test_clock(void **state)
{
	struct timespec pause = { 0, 20 * 1000 * 1000 };
	int64_t a, b;

	(void)state;
	a = clock_ms();
	nanosleep(&pause, NULL);
	b = clock_ms();
	assert_true(a >= 0);
	assert_true(b - a >= 19);
	assert_true(b - a < 10000);
}

/* ----------------------------------------------------------------- files */

static char tmpdir[64];

static int make_tmpdir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/smtpconform-test-util.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;
	char path[512];

	(void)state;
	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", tmpdir, e->d_name);
		if (remove(path) != 0)
			rmdir(path);
	}
	closedir(d);
	return rmdir(tmpdir);
}

/* The names in tmpdir, sorted, joined by spaces. */
static char *dir_listing(void)
{
	struct dirent **names;
	struct buf b = { 0 };
	int n, i;

	n = scandir(tmpdir, &names, NULL, alphasort);
	assert_true(n >= 0);
	for (i = 0; i < n; i++) {
		if (names[i]->d_name[0] != '.')
			buf_printf(&b, "%s%s", b.len ? " " : "", names[i]->d_name);
		free(names[i]);
	}
	free(names);
	return buf_steal(&b);
}

static void test_file_write_atomic(void **state)
{
	char path[256], *listing;
	struct buf got = { 0 };
	struct stat st;
	static const char report[] = "{\"verdict\": \"pass\"}\n\0binary";
	mode_t old_umask;
	int cwd;

	(void)state;
	snprintf(path, sizeof path, "%s/report.json", tmpdir);
	old_umask = umask(077);
	assert_int_equal(file_write_atomic(path, report, sizeof report - 1), 0);
	umask(old_umask);
	assert_int_equal(file_read_all(path, 1024, &got), 0);
	assert_int_equal(got.len, sizeof report - 1);
	assert_memory_equal(got.data, report, sizeof report - 1);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	listing = dir_listing();
	assert_string_equal(listing, "report.json");
	free(listing);

	/* Replacing with shorter content leaves exactly the new bytes. */
	assert_int_equal(file_write_atomic(path, "ok\n", 3), 0);
	buf_reset(&got);
	assert_int_equal(file_read_all(path, 1024, &got), 0);
	assert_string_equal(got.data, "ok\n");
	/* An empty file. */
	assert_int_equal(file_write_atomic(path, "", 0), 0);
	buf_reset(&got);
	assert_int_equal(file_read_all(path, 1024, &got), 0);
	assert_int_equal(got.len, 0);
	assert_string_equal(got.data, "");
	buf_free(&got);

	/* "-" is a file name like any other here (relative: the temp file is in "."). */
	cwd = open(".", O_RDONLY | O_DIRECTORY);
	assert_true(cwd >= 0);
	assert_int_equal(chdir(tmpdir), 0);
	assert_int_equal(file_write_atomic("-", "dash", 4), 0);
	assert_int_equal(fchdir(cwd), 0);
	close(cwd);
	listing = dir_listing();
	assert_string_equal(listing, "- report.json");
	free(listing);
}

static void test_file_write_atomic_errors(void **state)
{
	char path[256], *listing;

	(void)state;
	/* The directory does not exist: nothing is created. */
	snprintf(path, sizeof path, "%s/missing/report.json", tmpdir);
	errno = 0;
	assert_int_equal(file_write_atomic(path, "x", 1), -1);
	assert_int_equal(errno, ENOENT);

	/* rename() fails (the target is a directory): the temporary file goes. */
	snprintf(path, sizeof path, "%s/adir", tmpdir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof path, "%s/adir/inner", tmpdir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof path, "%s/adir", tmpdir);
	errno = 0;
	assert_int_equal(file_write_atomic(path, "x", 1), -1);
	assert_true(errno == EISDIR || errno == ENOTEMPTY || errno == EEXIST);
	listing = dir_listing();
	assert_null(strstr(listing, ".tmp"));
	free(listing);
	snprintf(path, sizeof path, "%s/adir/inner", tmpdir);
	assert_int_equal(rmdir(path), 0);
	snprintf(path, sizeof path, "%s/adir", tmpdir);
	assert_int_equal(rmdir(path), 0);
}

static void test_file_read_all(void **state)
{
	char path[256];
	struct buf b = { 0 };

	(void)state;
	snprintf(path, sizeof path, "%s/ten", tmpdir);
	assert_int_equal(file_write_atomic(path, "0123456789", 10), 0);

	assert_int_equal(file_read_all(path, 10, &b), 0); /* exactly max */
	assert_string_equal(b.data, "0123456789");
	buf_reset(&b);
	buf_puts(&b, "before");
	errno = 0;
	assert_int_equal(file_read_all(path, 9, &b), -1);
	assert_int_equal(errno, EFBIG);
	assert_string_equal(b.data, "before"); /* untouched on error */
	errno = 0;
	assert_int_equal(file_read_all(path, 0, &b), -1);
	assert_int_equal(errno, EFBIG);
	/* It appends. */
	assert_int_equal(file_read_all(path, SIZE_MAX, &b), 0);
	assert_string_equal(b.data, "before0123456789");

	snprintf(path, sizeof path, "%s/none", tmpdir);
	errno = 0;
	assert_int_equal(file_read_all(path, 10, &b), -1);
	assert_int_equal(errno, ENOENT);
	/* Not a regular file: read until EOF all the same. */
	buf_reset(&b);
	assert_int_equal(file_read_all("/dev/null", 10, &b), 0);
	assert_int_equal(b.len, 0);
	buf_free(&b);
}

/* A report to /dev/null or /dev/stdout must not replace the device node. */
static void test_file_write_atomic_device(void **state)
{
	(void)state;
	struct stat st;
	assert_int_equal(file_write_atomic("/dev/null", "x\n", 2), 0);
	assert_int_equal(stat("/dev/null", &st), 0);
	assert_true(S_ISCHR(st.st_mode));
}

/* Messages about scenario files: terminal escapes, C1 controls, invalid
 * UTF-8 and BiDi controls are escaped; text and backslashes stay. */
static void test_sanitize(void **state)
{
	(void)state;
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "a.smtp:3: unknown line", "a.smtp:3: unknown line" },
		{ "x:1: \x1b[31mred\x1b[0m", "x:1: \\x1b[31mred\\x1b[0m" },
		{ "x:1: a\u202eb \u2066c\u2069 \u200fd \xd8\x9c",
		  "x:1: a\\xe2\\x80\\xaeb \\xe2\\x81\\xa6c\\xe2\\x81\\xa9 \\xe2\\x80\\x8fd "
		  "\\xd8\\x9c" },
		{ "x:1: caf\xc3\xa9 \\x41 \xff \xc2\x9b",
		  "x:1: caf\xc3\xa9 \\x41 \\xff \\xc2\\x9b" },
		{ "tab\there\r\n", "tab\\there\\r\\n" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char msg[256];
		snprintf(msg, sizeof(msg), "%s", cases[i].in);
		text_sanitize(msg, sizeof(msg));
		assert_string_equal(msg, cases[i].out);
	}
	/* Cut to fit, never inside an escape. */
	char small[10] = "ab\x1b\x1b"
	                 "cd";
	text_sanitize(small, sizeof(small));
	assert_string_equal(small, "ab\\x1b");
}

/* Secrets never reach a record, in clear, escaped, base64 or hex. */
static void test_redact(void **state)
{
	(void)state;
	static const char secret[] = "Tr0ub4dor&3-secret";
	redact_reset();
	redact_register(secret, strlen(secret));
	char s1[] = "250 ok Tr0ub4dor&3-secret and VHIwdWI0ZG9yJjMtc2VjcmV0 and "
	            "5472307562346, 54723075623464f722633 2d736563726574";
	redact(s1);
	assert_null(strstr(s1, "Tr0ub4dor"));
	assert_null(strstr(s1, "VHIwdWI0ZG9yJjMtc2VjcmV0"));
	/* base64 of "\0conform\0" + secret, as AUTH PLAIN sends it */
	char s2[] = "AGNvbmZvcm0AVHIwdWI0ZG9yJjMtc2VjcmV0";
	redact(s2);
	assert_null(strstr(s2, "VHIwdWI0ZG9yJjMtc2VjcmV0"));
	char s3[] =
	    "hex 547230756234646f7226332d736563726574 HEX 547230756234646F7226332D736563726574";
	redact(s3);
	assert_null(strstr(s3, "547230756234646f7226332d736563726574"));
	assert_null(strstr(s3, "547230756234646F7226332D736563726574"));
	char s4[] = "nothing to hide here";
	redact(s4);
	assert_string_equal(s4, "nothing to hide here");
	redact_reset();
}

/* Base64 (standard, padded) for the tests, independent of util.c's. */
static char *test_b64(const unsigned char *p, size_t n)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = calloc(4 * ((n + 2) / 3) + 1, 1);
	size_t w = 0;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) |
		             (i + 2 < n ? p[i + 2] : 0);
		out[w++] = a[v >> 18 & 63];
		out[w++] = a[v >> 12 & 63];
		out[w++] = i + 1 < n ? a[v >> 6 & 63] : '=';
		out[w++] = i + 2 < n ? a[v & 63] : '=';
	}
	return out;
}

/* Every piece of 6 or more characters of form, at every offset inside
 * surrounding text, is gone after redact(); so is form itself. */
static void assert_pieces_redacted(const char *form)
{
	size_t len = strlen(form);
	for (size_t i = 0; i < len; i++) {
		for (size_t j = i + (len < REDACT_PIECE_MIN ? len : REDACT_PIECE_MIN); j <= len;
		     j++) {
			if (j - i < REDACT_PIECE_MIN && !(i == 0 && j == len))
				continue;
			char *piece = strndup(form + i, j - i);
			char *s =
			    xasprintf("535 %.*s%s%s rest", (int)(j % 7), "@@@@@@@", piece, "!");
			redact(s);
			if (strstr(s, piece) != NULL)
				fail_msg("piece \"%s\" of \"%s\" survived: \"%s\"", piece, form, s);
			free(s);
			free(piece);
		}
	}
}

/* Each encoding of a password, whole and in every 6-character piece: clear,
 * hex, base64 alone and inside a longer blob at each alignment; short
 * passwords (under 4 and under 6 bytes) too. */
static void test_redact_every_piece(void **state)
{
	(void)state;
	static const char *const passwords[] = { "Jo;Km-Zn{Lo?", "Jo;Km-Zn", "Jo;K", "Jo;",
		                                 "Jo;Km-Zn{Lo?Jo;Km-Zn{Lo?xx" };
	for (size_t k = 0; k < sizeof(passwords) / sizeof(passwords[0]); k++) {
		const char *pw = passwords[k];
		size_t n = strlen(pw);
		redact_reset();
		redact_register(pw, n);
		assert_pieces_redacted(pw);
		char hex[128] = "", hexu[128] = "";
		for (size_t i = 0; i < n; i++) {
			snprintf(hex + 2 * i, 3, "%02x", (unsigned char)pw[i]);
			snprintf(hexu + 2 * i, 3, "%02X", (unsigned char)pw[i]);
		}
		assert_pieces_redacted(hex);
		assert_pieces_redacted(hexu);
		char *b64 = test_b64((const unsigned char *)pw, n);
		assert_pieces_redacted(b64);
		free(b64);
		/* Inside a blob, at each alignment: the characters that depend on
		 * the password alone never survive as a 6-character piece. */
		for (size_t shift = 1; shift < 3; shift++) {
			unsigned char blob[64] = { 0 };
			memcpy(blob + shift, pw, n);
			char *enc = test_b64(blob, shift + n);
			size_t first = (8 * shift + 5) / 6, end = 8 * (shift + n) / 6;
			if (end >= first + REDACT_PIECE_MIN) {
				char *pure = strndup(enc + first, end - first);
				assert_pieces_redacted(pure);
				free(pure);
			}
			free(enc);
		}
	}
	/* Text without the secret is left alone. */
	char clean[] = "250 Jo ok Km Zn";
	redact(clean);
	assert_string_equal(clean, "250 Jo ok Km Zn");
	redact_reset();
}

/* A cut never splits a secret: it moves before the piece that straddles it. */
static void test_redact_cut(void **state)
{
	(void)state;
	static const char pw[] = "Jo;Km-Zn{Lo?";
	redact_reset();
	char line[64];
	snprintf(line, sizeof(line), "0123456789%sabcdef", pw);
	assert_int_equal(redact_cut(line, strlen(line), 14), 14); /* nothing registered */
	redact_register(pw, strlen(pw));
	for (size_t max = 11; max < 10 + strlen(pw); max++)
		assert_int_equal(redact_cut(line, strlen(line), max), 10);
	assert_int_equal(redact_cut(line, strlen(line), 10), 10);
	assert_int_equal(redact_cut(line, strlen(line), 22), 22); /* right after it */
	assert_int_equal(redact_cut(line, strlen(line), 5), 5);
	assert_int_equal(redact_cut(line, strlen(line), 100), strlen(line));
	/* Short password: its whole occurrences count too. */
	redact_reset();
	redact_register("Jo;", 3);
	assert_int_equal(redact_cut("xxJo;yy", 7, 3), 2);
	assert_int_equal(redact_cut("xxJo;yy", 7, 4), 2);
	assert_int_equal(redact_cut("xxJo;yy", 7, 5), 5);
	redact_reset();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_table),
		cmocka_unit_test(test_escape_appends),
		cmocka_unit_test(test_escape_round_trip),
		cmocka_unit_test(test_unescape_good),
		cmocka_unit_test(test_unescape_errors),
		cmocka_unit_test(test_buf),
		cmocka_unit_test(test_xalloc),
		cmocka_unit_test(test_clock),
		cmocka_unit_test(test_file_write_atomic_device),
		cmocka_unit_test(test_sanitize),
		cmocka_unit_test(test_redact),
		cmocka_unit_test(test_redact_every_piece),
		cmocka_unit_test(test_redact_cut),
		cmocka_unit_test(test_file_write_atomic),
		cmocka_unit_test(test_file_write_atomic_errors),
		cmocka_unit_test(test_file_read_all),
	};

	return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
