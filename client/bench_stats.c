/* bench_stats.c: the clock and latency samples of `virtiofs-client bench`. */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "bench_internal.h"

const char *const wl_names[WL_COUNT] = {
	"getattr", "lookup", "create", "smallfile", "readdirplus", "readdir",
	"seqread", "seqwrite", "randread", "reread",
};

uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

int lat_add(struct stats *st, uint64_t ns)
{
	if (st->nlat == st->cap) {
		size_t cap = st->cap ? st->cap * 2 : 65536;
		uint64_t *p = realloc(st->lat, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		st->lat = p;
		st->cap = cap;
	}
	st->lat[st->nlat++] = ns;
	return 0;
}

int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

double pct_us(struct stats *st, unsigned pct)
{
	size_t i;

	if (!st->nlat)
		return -1;
	i = st->nlat * pct / 100;
	if (i >= st->nlat)
		i = st->nlat - 1;
	return (double)st->lat[i] / 1000.0;
}
