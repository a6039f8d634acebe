/*
 * unit.h - shared helpers for the cmocka unit tests.
 *
 * guarded_copy() places bytes right before an unreadable page, so a parser
 * that reads one byte too far crashes at once (picohttpparser's trick).
 */
#ifndef SMTPCONFORM_UNIT_H
#define SMTPCONFORM_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

struct guarded {
	uint8_t *map; /* start of the mapping */
	size_t maplen;
	uint8_t *data; /* the copy; data + len is the first unreadable byte */
};

static inline uint8_t *guarded_copy(struct guarded *g, const void *bytes, size_t len)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t pages = (len + page - 1) / page + 1;
	g->maplen = pages * page;
	g->map = mmap(NULL, g->maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(g->map != MAP_FAILED);
	assert_int_equal(mprotect(g->map + (pages - 1) * page, page, PROT_NONE), 0);
	g->data = g->map + (pages - 1) * page - len;
	if (len)
		memcpy(g->data, bytes, len);
	return g->data;
}

static inline void guarded_free(struct guarded *g)
{
	munmap(g->map, g->maplen);
}

#endif
