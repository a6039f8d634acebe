/*
 * bench_reply.c - throughput of the reply reader (harness/reply.c): feeds
 * pipelined replies through reply_init() + reply_feed(), reply after reply,
 * the way a session does, and prints GB/s (10^9 bytes/s) and replies/s.
 *
 * Two inputs: multiline EHLO replies (the figure issue 15 asks for, at least
 * 1 GB/s) and a transaction's single-line replies. Each is read from a window
 * of SESSION_INBUF_SIZE bytes, which is what a session parses after a read
 * (warm in the cache), over and over; the EHLO replies also once from a
 * 64 MiB buffer (cold: memory bandwidth included). Best of BENCH_ROUNDS.
 * A figure, never an assertion: the machine may be busy.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "reply.h"
#include "smtp_limits.h"
#include "util.h"

#define BENCH_BYTES (256u << 20) /* read per round */
#define BENCH_COLD_BYTES (64u << 20)
#define BENCH_ROUNDS 5

static const char ehlo_replies[] =
    "250-postfix.smtpconform.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
    "250-VRFY\r\n250-ETRN\r\n250-STARTTLS\r\n250-AUTH PLAIN LOGIN\r\n"
    "250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n"
    "250-mx.google.com at your service, [192.0.2.1]\r\n250-SIZE 157286400\r\n"
    "250-8BITMIME\r\n250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250-PIPELINING\r\n"
    "250-CHUNKING\r\n250 SMTPUTF8\r\n";

static const char transaction_replies[] =
    "220 mx.smtpconform.test ESMTP Postfix\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
    "354 End data with <CR><LF>.<CR><LF>\r\n250 2.0.0 Ok: queued as 4XyZ\r\n"
    "221 2.0.0 Bye\r\n";

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* buf filled with whole copies of wire, as many as fit in size. */
static size_t fill(uint8_t *buf, size_t size, const char *wire)
{
	size_t n = strlen(wire), used = 0;

	while (used + n <= size) {
		memcpy(buf + used, wire, n);
		used += n;
	}
	return used;
}

/* Reads buf[0..len) reply after reply; returns the replies, 0 on a stop. */
static size_t read_replies(struct reply *r, const uint8_t *buf, size_t len)
{
	size_t off = 0, replies = 0;

	while (off < len) {
		reply_init(r);
		long used = reply_feed(r, buf + off, len - off);
		if (used <= 0 || !r->complete) {
			fprintf(stderr, "bench_reply: parse stopped at %zu\n", off);
			return 0;
		}
		off += (size_t)used;
		replies++;
	}
	return replies;
}

/* Best of BENCH_ROUNDS over `passes` reads of buf[0..len); prints one line. */
static int bench(struct reply *r, const char *what, const uint8_t *buf, size_t len, size_t passes)
{
	double best = 0;
	size_t replies = 0;

	for (int round = 0; round < BENCH_ROUNDS; round++) {
		double t0 = now_s(), dt;
		replies = 0;
		for (size_t i = 0; i < passes; i++) {
			size_t n = read_replies(r, buf, len);
			if (n == 0)
				return -1;
			replies += n;
		}
		dt = now_s() - t0;
		if (round == 0 || dt < best)
			best = dt;
	}
	if (best <= 0)
		best = 1e-9;
	printf("reply reader, %s: %.2f GB/s (%.0f MiB in %.0f ms, %.1f M replies/s)\n", what,
	       (double)len * (double)passes / best / 1e9, (double)len * (double)passes / (1 << 20),
	       best * 1000, (double)replies / best / 1e6);
	return 0;
}

int main(void)
{
	uint8_t window[SESSION_INBUF_SIZE];
	uint8_t *cold = xmalloc(BENCH_COLD_BYTES);
	struct reply *r = xmalloc(sizeof(*r));
	size_t len;
	int rc = 0;

	len = fill(window, sizeof window, ehlo_replies);
	rc |= bench(r, "multiline EHLO replies", window, len, BENCH_BYTES / len);
	len = fill(cold, BENCH_COLD_BYTES, ehlo_replies);
	rc |= bench(r, "multiline EHLO replies, 64 MiB cold", cold, len, 1);
	len = fill(window, sizeof window, transaction_replies);
	rc |= bench(r, "single-line transaction replies", window, len, BENCH_BYTES / len);
	free(cold);
	free(r);
	return rc ? 1 : 0;
}
