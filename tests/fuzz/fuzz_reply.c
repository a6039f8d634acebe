/*
 * fuzz_reply.c - libFuzzer harness for the reply reader (harness/reply.c).
 *
 * The first two input bytes seed how the rest arrives; the rest is what a
 * server sends. It is read reply after reply twice: once from one buffer,
 * once the way the session does (a fixed SESSION_INBUF_SIZE window filled by
 * chunks of pseudo-random size, its unused tail poisoned under ASan). Both
 * must agree exactly, every result must keep the reader's invariants, and
 * the first line's flags must be those of the octet-by-octet reference
 * (reply_reference.h).
 * Build and run: see tests/fuzz/README.md.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_limits.h"
#include "reply.h"
#include "reply_reference.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#endif
#endif
#ifndef POISON
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

/* Replies compared per input: enough to cover pipelined groups, and bounded
 * so that one input stays quick. */
#define FUZZ_REPLIES_MAX 64

/* What one reply came to, in a form two runs can compare. */
struct outcome {
	long consumed; /* bytes of the reply, or -1 when abandoned */
	int complete;
	int code;
	unsigned flags;
	size_t nlines;
	size_t nkept;
	uint64_t kept_hash; /* FNV-1a over the kept lines */
};

static struct reply reply; /* large: not on the stack */

#define CHECK(cond)                       \
	do {                              \
		if (!(cond))              \
			__builtin_trap(); \
	} while (0)

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= b[i];
		h *= 1099511628211u;
	}
	return h;
}

/* Invariants of a finished feed, then its summary. */
static struct outcome summarize(const struct reply *r, long consumed)
{
	struct outcome o = { consumed, r->complete,          r->code, r->flags, r->nlines,
		             r->nkept, 14695981039346656037u };
	unsigned bit;
	size_t i;

	CHECK(r->nkept <= REPLY_LINES_KEEP);
	CHECK(r->nkept == (r->nlines < REPLY_LINES_KEEP ? r->nlines : REPLY_LINES_KEEP));
	CHECK(r->nlines <= REPLY_LINES_MAX);
	CHECK(r->complete == 0 || r->complete == 1);
	CHECK(r->code == -1 || (r->code >= 0 && r->code <= 999));
	CHECK(r->flags < (1u << REPLY_FLAG_COUNT));
	if (r->flags & REPLY_F_TOO_MANY_LINES)
		CHECK(consumed == -1 && r->nlines == REPLY_LINES_MAX);
	if (consumed == -1)
		CHECK(!r->complete &&
		      (r->flags & (REPLY_F_TOO_MANY_LINES | REPLY_F_LINE_TOO_LONG)));
	if (r->complete) {
		CHECK(r->nlines > 0);
		if (r->nlines <= REPLY_LINES_KEEP)
			CHECK(r->kept[r->nkept - 1].separator != '-');
	}
	for (bit = 1; bit < (1u << REPLY_FLAG_COUNT); bit <<= 1)
		if (r->flags & bit)
			CHECK(reply_flag_rule(bit) != RULE_NONE);
	for (i = 0; i < r->nkept; i++) {
		const struct reply_kept_line *k = &r->kept[i];
		CHECK(k->text_len <= REPLY_TEXT_KEEP);
		CHECK(k->code == -1 || (k->code >= 0 && k->code <= 999));
		o.kept_hash = fnv(o.kept_hash, &k->code, sizeof k->code);
		o.kept_hash = fnv(o.kept_hash, &k->separator, 1);
		o.kept_hash = fnv(o.kept_hash, &k->text_len, sizeof k->text_len);
		o.kept_hash = fnv(o.kept_hash, k->text, k->text_len);
	}
	return o;
}

static int same_outcome(const struct outcome *a, const struct outcome *b)
{
	return a->consumed == b->consumed && a->complete == b->complete && a->code == b->code &&
	       a->flags == b->flags && a->nlines == b->nlines && a->nkept == b->nkept &&
	       a->kept_hash == b->kept_hash;
}

/* reply_parse_line() on its own, at the start of the input. */
static void check_one_line(const uint8_t *buf, size_t len)
{
	struct reply_line line;
	enum reply_parse_result res = reply_parse_line(buf, len, &line);
	size_t scan = len < REPLY_LINE_HARD_MAX ? len : REPLY_LINE_HARD_MAX;
	size_t want_consumed = 0;
	unsigned want_flags = 0;

	/* The word-at-a-time classifier agrees with the octet-by-octet reading. */
	CHECK(res == reply_reference_line(buf, len, &want_consumed, &want_flags));
	if (res != REPLY_PARSE_INCOMPLETE) {
		CHECK(line.consumed == want_consumed);
		CHECK((line.flags & ~(unsigned)(REPLY_F_CODE | REPLY_F_SEPARATOR)) == want_flags);
	}

	switch (res) {
	case REPLY_PARSE_INCOMPLETE:
		CHECK(len < REPLY_LINE_HARD_MAX);
		CHECK(len == 0 || memchr(buf, '\n', len) == NULL);
		break;
	case REPLY_PARSE_LINE:
		CHECK(line.consumed >= 1 && line.consumed <= scan);
		CHECK(buf[line.consumed - 1] == '\n');
		CHECK(memchr(buf, '\n', line.consumed - 1) == NULL);
		CHECK(line.text >= buf && line.text + line.text_len <= buf + line.consumed);
		CHECK(!(line.flags & REPLY_F_LINE_TOO_LONG) == (line.consumed <= REPLY_LINE_MAX));
		break;
	case REPLY_PARSE_OVERLONG:
		CHECK(len >= REPLY_LINE_HARD_MAX);
		CHECK(memchr(buf, '\n', REPLY_LINE_HARD_MAX) == NULL);
		CHECK(line.flags & REPLY_F_LINE_TOO_LONG);
		break;
	default: CHECK(0);
	}
}

/* Everything in one buffer, reply after reply. Returns how many outcomes. */
static size_t read_at_once(const uint8_t *in, size_t len, struct outcome *out)
{
	size_t pos = 0, count = 0;
	long n;

	while (count < FUZZ_REPLIES_MAX) {
		reply_init(&reply);
		n = reply_feed(&reply, in + pos, len - pos);
		CHECK(n <= (long)(len - pos));
		out[count++] = summarize(&reply, n);
		if (n < 0 || !reply.complete || pos + (size_t)n == len)
			break;
		pos += (size_t)n;
	}
	return count;
}

/* Chunk sizes: mostly tiny, sometimes a line or two, sometimes a lot. */
static size_t next_chunk(uint32_t *seed)
{
	uint32_t r;

	*seed = *seed * 1103515245u + 12345u;
	r = *seed >> 8;
	switch (r & 3) {
	case 0:
	case 1: return 1 + (r >> 2) % 8;
	case 2: return 1 + (r >> 2) % 700;
	default: return 1 + (r >> 2) % (2 * REPLY_LINE_HARD_MAX);
	}
}

/* The session's way: a fixed window, bytes arriving in chunks. */
static size_t read_in_chunks(const uint8_t *in, size_t len, uint32_t seed,
                             const struct outcome *want, size_t nwant)
{
	static uint8_t window[SESSION_INBUF_SIZE];
	size_t arrived = 0, filled = 0, count = 0, add;
	long n, total = 0;
	struct outcome got;

	POISON(window, sizeof window);
	reply_init(&reply);
	while (count < nwant) {
		n = reply_feed(&reply, window, filled);
		if (n >= 0) {
			CHECK((size_t)n <= filled);
			memmove(window, window + n, filled - (size_t)n);
			filled -= (size_t)n;
			POISON(window + filled, sizeof window - filled);
			total += n;
		}
		if (n < 0 || reply.complete || (arrived == len && filled < sizeof window)) {
			/* This reply is over, or no byte will come to finish it. */
			got = summarize(&reply, n < 0 ? -1 : total);
			CHECK(same_outcome(&got, &want[count]));
			count++;
			if (n < 0 || !reply.complete || (arrived == len && filled == 0))
				break;
			reply_init(&reply);
			total = 0;
			continue;
		}
		/* A full window always holds a line or the hard cap. */
		CHECK(filled < sizeof window);
		add = next_chunk(&seed);
		if (add > len - arrived)
			add = len - arrived;
		if (add > sizeof window - filled)
			add = sizeof window - filled;
		UNPOISON(window + filled, add);
		memcpy(window + filled, in + arrived, add);
		filled += add;
		arrived += add;
	}
	UNPOISON(window, sizeof window);
	return count;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct outcome once[FUZZ_REPLIES_MAX];
	uint32_t seed = 0;
	size_t nonce, nchunked;

	if (size >= 2) {
		seed = (uint32_t)data[0] << 8 | data[1];
		data += 2;
		size -= 2;
	}
	check_one_line(data, size);
	nonce = read_at_once(data, size, once);
	nchunked = read_in_chunks(data, size, seed, once, nonce);
	CHECK(nchunked == nonce);
	return 0;
}
