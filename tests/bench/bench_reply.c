/*
 * bench_reply.c - throughput of the reply reader: feeds a buffer of
 * pipelined replies (single-line and EHLO-sized multiline) through
 * reply_feed() the way a session does, and prints MB/s and replies/s.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reply.h"
#include "util.h"

#define BENCH_BYTES (64u << 20)

int main(void)
{
	static const char sample[] =
	    "250-postfix.smtpconform.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
	    "250-VRFY\r\n250-ETRN\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n"
	    "250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n"
	    "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n"
	    "250 2.0.0 Ok: queued as 4XyZ\r\n221 2.0.0 Bye\r\n";
	size_t n = sizeof(sample) - 1;
	size_t copies = BENCH_BYTES / n;
	uint8_t *buf = xmalloc(copies * n);
	for (size_t i = 0; i < copies; i++)
		memcpy(buf + i * n, sample, n);
	struct reply *r = xmalloc(sizeof(*r));
	size_t total = copies * n, off = 0, replies = 0;
	int64_t t0 = clock_ms();
	while (off < total) {
		reply_init(r);
		long used = reply_feed(r, buf + off, total - off);
		if (used <= 0 || !r->complete) {
			fprintf(stderr, "bench_reply: parse stopped at %zu\n", off);
			return 1;
		}
		off += (size_t)used;
		replies++;
	}
	int64_t ms = clock_ms() - t0;
	if (ms == 0)
		ms = 1;
	printf("reply reader: %zu MiB, %zu replies in %lld ms: %.0f MiB/s, %.2f M replies/s\n",
	       total >> 20, replies, (long long)ms, (double)(total >> 20) * 1000.0 / (double)ms,
	       (double)replies / 1000.0 / (double)ms);
	free(buf);
	free(r);
	return 0;
}
