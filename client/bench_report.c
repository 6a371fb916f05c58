/* bench_report.c: one result of `virtiofs-client bench` as a line of
 * text on stdout and, with --json, one JSON object appended to a file. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_internal.h"

void result_print(const struct bench *b, enum wl w, unsigned depth,
			 struct stats *st)
{
	double ops_s = st->secs > 0 ? (double)st->ops / st->secs : 0;
	double mib_s = st->secs > 0 ? (double)st->bytes / MIB / st->secs : 0;
	double cpu_op = st->cpu_us >= 0 && st->ops ? st->cpu_us / (double)st->ops : -1;
	double p50, p99;
	FILE *f;

	qsort(st->lat, st->nlat, sizeof(*st->lat), cmp_u64);
	p50 = pct_us(st, 50);
	p99 = pct_us(st, 99);
	printf("%-8s %-12s d=%-3u q=%u %-8s %10.0f ops/s %8.1f MiB/s "
	       "p50 %8.1f us p99 %8.1f us cpu %7.2f us/op%s",
	       b->label, wl_names[w], depth, b->native ? 0 : b->queues,
	       b->placement, ops_s, mib_s, p50, p99, cpu_op,
	       st->errors ? "" : "\n");
	if (st->errors)
		printf(" ERRORS %" PRIu64 "\n", st->errors);
	fflush(stdout);
	if (!b->json)
		return;
	f = fopen(b->json, "a");
	if (!f) {
		fprintf(stderr, PROG ": %s: %s\n", b->json, strerror(errno));
		return;
	}
	fprintf(f, "{\"daemon\":\"%s\",\"workload\":\"%s\",\"depth\":%u,"
		"\"queues\":%u,\"placement\":\"%s\",\"round\":%d,"
		"\"ops\":%" PRIu64 ",\"units\":%" PRIu64 ",\"bytes\":%" PRIu64 ","
		"\"secs\":%.6f,\"ops_s\":%.3f,\"mib_s\":%.3f,\"p50_us\":%.3f,"
		"\"p99_us\":%.3f,\"cpu_us\":%.1f,\"cpu_us_op\":%.4f,"
		"\"errors\":%" PRIu64 "}\n",
		b->label, wl_names[w], depth, b->native ? 0 : b->queues,
		b->placement, b->round, st->ops, st->units, st->bytes, st->secs,
		ops_s, mib_s, p50, p99, st->cpu_us, cpu_op, st->errors);
	fclose(f);
}
