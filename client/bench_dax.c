/* bench_dax.c: the large-I/O workloads through a DAX window (--dax SIZE),
 * as a Linux guest with -o dax=always does them: 1 MiB sequential reads
 * and writes over big, 4 KiB random reads, and 1 MiB re-reads of its hot
 * first part. One thread, one operation at a time (depth 1): a load or
 * store through the window is a memcpy, with a SETUPMAPPING (and, when
 * the window is full, a REMOVEMAPPING) where a 2 MiB range is not mapped
 * yet. Printed and logged like every other result, daemon label and all. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_internal.h"
#include "virtiofs_client.h"

struct dax_run {
	struct bench *b;
	struct vfs_client *c;
	uint64_t node, fh, fsize;
	uint8_t *buf;
};

static bool dax_time_up(const struct dax_run *r, uint64_t t0)
{
	return now_ns() - t0 >= (uint64_t)(r->b->secs * 1e9);
}

/* One operation at offset off of size bytes, timed. */
static int dax_op(struct dax_run *r, enum wl w, uint64_t off, size_t size, struct stats *st)
{
	uint64_t t = now_ns();
	ssize_t n = w == WL_SEQWRITE ?
		vfs_dax_write(r->c, r->node, r->fh, &r->fsize, off, r->buf, size) :
		vfs_dax_read(r->c, r->node, r->fh, r->fsize, off, r->buf, size);

	if (n != (ssize_t)size) {
		st->errors++;
		return n < 0 ? (int)n : -EIO;
	}
	lat_add(st, now_ns() - t);
	st->bytes += size;
	st->units++;
	st->ops = w == WL_RANDREAD ? st->ops + 1 : st->bytes / MIB;
	return 0;
}

static int dax_workload(struct dax_run *r, enum wl w)
{
	struct stats st = { 0 };
	uint64_t hot = r->fsize < REREAD_HOT ? r->fsize : REREAD_HOT;
	uint64_t rnd = 0x9e3779b97f4a7c15ull, i, t0;
	double cpu0, cpu1;
	int err = 0;

	/* reread measures a hot window: one unmeasured pass maps it */
	if (w == WL_REREAD)
		for (i = 0; i + MIB <= hot && !err; i += MIB)
			err = vfs_dax_read(r->c, r->node, r->fh, r->fsize, i, r->buf, MIB) ==
			      (ssize_t)MIB ? 0 : -EIO;
	cpu0 = proc_cpu_us(r->b->pid);
	t0 = now_ns();
	for (i = 0; !err; i++) {
		if (w == WL_SEQREAD || w == WL_SEQWRITE) {
			if ((i + 1) * MIB > r->fsize)
				break;
			err = dax_op(r, w, i * MIB, MIB, &st);
		} else if (w == WL_RANDREAD) {
			if (dax_time_up(r, t0))
				break;
			err = dax_op(r, w, (xorshift(&rnd) % (r->fsize / PAGE)) * PAGE, PAGE, &st);
		} else {
			if (dax_time_up(r, t0) || hot < MIB)
				break;
			err = dax_op(r, w, (i % (hot / MIB)) * MIB, MIB, &st);
		}
	}
	st.secs = (double)(now_ns() - t0) / 1e9;
	cpu1 = proc_cpu_us(r->b->pid);
	st.cpu_us = cpu0 >= 0 && cpu1 >= 0 ? cpu1 - cpu0 : -1;
	if (!err)
		result_print(r->b, w, 1, &st);
	else
		fprintf(stderr, PROG ": dax %s: %s\n", wl_names[w], strerror(-err));
	free(st.lat);
	return err;
}

int run_dax(struct bench *b)
{
	struct vfs_client_options o = { .dax_window = b->dax_window };
	struct dax_run r = { .b = b };
	struct fuse_open_out oo;
	struct fuse_attr a;
	struct vfs_dax_stats ds;
	int err, rc = 0;

	if (b->pid > 0)
		b->pid = worker_pid(b->pid);
	r.c = vfs_client_open(b->socket, &o, &err);
	if (!r.c) {
		fprintf(stderr, PROG ": %s: %s\n", b->socket, strerror(-err));
		return 1;
	}
	if (!vfs_dax_enabled(r.c)) {
		fprintf(stderr, PROG ": the daemon maps nothing (start it with --dax)\n");
		vfs_client_close(r.c);
		return 1;
	}
	/* big comes from --setup (scripts/bench.sh makes it on the host) */
	err = vfs_resolve(r.c, "/big", &r.node, &a);
	if (!err)
		err = vfs_open(r.c, r.node, O_RDWR, &oo);
	r.buf = aligned_alloc(PAGE, MIB);
	if (err || !r.buf || a.size < MIB) {
		fprintf(stderr, PROG ": /big: %s\n", err ? strerror(-err) : "missing or small");
		free(r.buf);
		vfs_client_close(r.c);
		return 1;
	}
	memset(r.buf, 0x5a, MIB);
	r.fh = oo.fh;
	r.fsize = a.size < b->file_size ? a.size : b->file_size;
	for (unsigned i = 0; i < WL_COUNT; i++) {
		if (!(b->wl_mask & (1u << i)))
			continue;
		if (i != WL_SEQREAD && i != WL_SEQWRITE && i != WL_RANDREAD && i != WL_REREAD) {
			fprintf(stderr, PROG ": --dax: %s runs on the queues only\n", wl_names[i]);
			continue;
		}
		if (dax_workload(&r, (enum wl)i))
			rc = 1;
	}
	vfs_dax_stats(r.c, &ds);
	fprintf(stderr, PROG ": dax window %llu MiB: SETUPMAPPING %llu, REMOVEMAPPING %llu\n",
		(unsigned long long)(vfs_dax_window_size(r.c) / MIB),
		(unsigned long long)ds.setupmapping, (unsigned long long)ds.removemapping);
	vfs_dax_drop(r.c, 0);
	vfs_release(r.c, r.node, r.fh, O_RDWR);
	vfs_put(r.c, r.node);
	free(r.buf);
	vfs_client_close(r.c);
	return rc;
}
