/*
 * util.h - memory wrappers, a growable byte buffer and text escaping.
 *
 * Owns: the one out-of-memory path (fatal), struct buf, the escaping that
 * turns wire bytes (control bytes, invalid UTF-8) into printable, valid UTF-8
 * text for every report, and the registry of secrets kept out of every
 * record. Does not own: I/O, parsing.
 */
#ifndef SMTPCONFORM_UTIL_H
#define SMTPCONFORM_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
/* An impossible state: print where and abort. */
#define BUG(msg) util_bug(__func__, __FILE__, __LINE__, (msg))
void util_bug(const char *func, const char *file, int line, const char *msg)
    __attribute__((noreturn));

/* A growable byte buffer, always NUL-terminated (the NUL is not counted). */
struct buf {
	char *data; /* NULL until the first append */
	size_t len; /* bytes used, excluding the terminating NUL */
	size_t cap; /* bytes allocated */
};
void buf_append(struct buf *b, const void *bytes, size_t n);
void buf_puts(struct buf *b, const char *s);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_reset(struct buf *b);
/* Hands the data over to the caller (never NULL) and empties the buffer. */
char *buf_steal(struct buf *b);
void buf_free(struct buf *b);
/* The three digits of a reply code 0..999 ("%03d" without printf: judged
 * replies in load are many). */
void code_digits(int code, char out[3]);

/*
 * Appends bytes as printable, valid UTF-8 text: printable ASCII and valid
 * UTF-8 sequences as they are, a backslash as "\\", CR LF TAB as "\r" "\n"
 * "\t", every other byte (controls, DEL, invalid UTF-8) as "\xNN".
 * The result contains no control characters and is safe in JSON and XML.
 */
void text_escape(struct buf *out, const void *bytes, size_t n);
/* Same, returning a new string. */
char *text_escape_dup(const void *bytes, size_t n);

/*
 * Makes a message (NUL-terminated, in a buffer of size bytes) safe to print
 * on a terminal, in place: control bytes, DEL, C1 controls, invalid UTF-8
 * and the Unicode bidirectional controls (U+061C, U+200E, U+200F,
 * U+202A..U+202E, U+2066..U+2069, which can reorder what a terminal shows)
 * become "\xNN" per byte, TAB CR LF "\t" "\r" "\n"; printable text and
 * backslashes stay as they are (the message may already hold escapes). Cut
 * to fit size, never inside an escape.
 */
void text_sanitize(char *msg, size_t size);

/*
 * Parses C escapes (\r \n \t \0 \\ \" \xNN) in src[0..n) into out.
 * Returns 0, or -1 with a message in err_out (caller-sized) on a bad escape.
 */
int text_unescape(struct buf *out, const char *src, size_t n, char *err_out, size_t err_len);

/* Monotonic clock in milliseconds, and in microseconds (latencies). */
int64_t clock_ms(void);
int64_t clock_us(void);
/* Now as ISO 8601 UTC, "2026-11-23T04:32:22Z" (caller frees). */
char *clock_iso8601_utc(void);

/*
 * Writes data to path atomically: a temporary file in the same directory,
 * fsync, then rename. Returns 0, or -1 with errno set.
 */
int file_write_atomic(const char *path, const void *data, size_t len);

/*
 * Whether file_write_atomic(path) can succeed, tried before any work: path
 * is not a directory, and a temporary file can be created (and is removed)
 * beside it; a non-regular file (/dev/stdout, a pipe) must be writable.
 * Returns 0, or -1 with errno. Leaves nothing behind.
 */
int file_check_writable(const char *path);

/* Reads a whole file, at most max bytes; -1 with errno (EFBIG if larger). */
int file_read_all(const char *path, size_t max, struct buf *out);

/*
 * Secrets that must never reach a record (reports, transcripts, logs).
 * redact_register() adds a secret and its encodings: as is, escaped as
 * text_escape() shows it, hex (both cases), base64 alone and the part of
 * base64 that depends only on the secret wherever it sits in a longer blob.
 * redact_register_text() adds one form as is (a SASL blob built elsewhere).
 * Registered once per run, before sessions (not thread-safe).
 *
 * redact() masks, in place, every byte of s that is part of a piece of
 * REDACT_PIECE_MIN or more characters of any form, and every whole
 * occurrence of a standalone form shorter than that: each masked run becomes
 * "<redacted>", or as many '*' when shorter (the result is never longer).
 *
 * redact_cut() is where to cut bytes[0..n) to keep at most max bytes: max,
 * or less so that the cut never splits a secret piece (what is kept holds a
 * whole piece, redacted later, or none of it).
 */
void redact_register(const void *secret, size_t n);
void redact_register_text(const char *form);
void redact(char *s);
size_t redact_cut(const void *bytes, size_t n, size_t max);
/* Forgets every registered secret (unit tests). */
void redact_reset(void);

#endif
