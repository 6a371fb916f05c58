/* bench_internal.h: what the files of `virtiofs-client bench` share: the
 * options (struct bench), one result's figures (struct stats), the
 * workloads' names, and the small helpers. Not an API.
 *
 * bench.c           options, usage, bench_main
 * bench_stats.c     clock, latency samples, percentiles
 * bench_proc.c      the daemon process seen from /proc (CPU time, worker)
 * bench_report.c    one result as a line of text and a JSON object
 * bench_engine.c    the FUSE engine: slots, rings, requests in flight
 * bench_workloads.c the FUSE workloads and the run against a daemon
 * bench_native.c    the same workloads as plain syscalls
 * bench_setup.c     the share's files, made on the host */
#ifndef VFS_BENCH_INTERNAL_H
#define VFS_BENCH_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROG "virtiofs-client bench"
#define MIB (1024u * 1024u)
#define PAGE 4096u
#define MAX_DEPTH 256
#define MAX_QUEUES 16
#define FORGET_BATCH 64
#define MAX_STEPS 8
#define MAX_SCALE 9999999u      /* names n0000000.. have 7 digits */

/* reread: 1 MiB reads over and over of a hot part of big (REREAD_HOT),
 * against a daemon only (queue or DAX window); not in the default set. */
enum wl { WL_GETATTR, WL_LOOKUP, WL_CREATE, WL_SMALL, WL_READDIRPLUS,
	  WL_READDIR, WL_SEQREAD, WL_SEQWRITE, WL_RANDREAD, WL_REREAD, WL_COUNT };

#define WL_DEFAULT_MASK (((1u << WL_COUNT) - 1) & ~(1u << WL_REREAD))
/* The hot part reread reads: what a 64 MiB window holds. */
#define REREAD_HOT (64ull * MIB)

extern const char *const wl_names[WL_COUNT];

struct bench {
	const char *socket, *native, *setup, *json, *label, *placement;
	unsigned queues;
	unsigned depths[16], ndepths;
	unsigned wl_mask;
	uint64_t file_size;
	double secs;
	int cpu;
	long pid;
	int round;
	unsigned lookup_files, dir_entries;
	uint64_t max_io;        /* cap on READ/WRITE request size, 0 = none */
	bool verbose;
	bool packed;            /* packed rings (VIRTIO_F_RING_PACKED) */
	uint64_t dax_window;    /* --dax SIZE: file I/O through a DAX window */
	/* --scale (bench_scale.c) */
	unsigned scale_parts;   /* SCALE_* */
	unsigned scale_steps[MAX_STEPS], nscale_steps;
	unsigned handle_steps[MAX_STEPS], nhandle_steps;
	double scale_cap;       /* seconds a grow or list phase may take */
};

#define SCALE_INODES 1u
#define SCALE_HANDLES 2u
#define SCALE_LIST 4u

struct stats {
	uint64_t ops, bytes, errors, units;
	uint64_t *lat;          /* ns */
	size_t nlat, cap;
	double secs;
	double cpu_us;          /* daemon CPU over the run, <0 unknown */
};

/* bench_stats.c */
uint64_t now_ns(void);
int lat_add(struct stats *st, uint64_t ns);
int cmp_u64(const void *a, const void *b);
double pct_us(struct stats *st, unsigned pct);

/* bench_proc.c */
/* CPU time (user+system) of a process in microseconds, <0 when unknown. */
double proc_cpu_us(long pid);
/* Its resident memory and the anonymous part of it, in KiB: 0 or -1. */
int proc_rss_kib(long pid, uint64_t *rss, uint64_t *anon);
/* The process that serves: pid's child when it forked one (QEMU's and
 * the Rust daemon's sandboxes), else pid. */
long worker_pid(long pid);

/* bench_report.c */
void result_print(const struct bench *b, enum wl w, unsigned depth,
		  struct stats *st);

/* bench_workloads.c, bench_native.c, bench_setup.c */
int run_fuse(struct bench *b);
/* bench_dax.c: seqread, seqwrite, randread and reread through a DAX window */
int run_dax(struct bench *b);
int run_native(struct bench *b);
int run_setup(struct bench *b);
/* bench_scale.c: --scale against a daemon; the sc/ tree in dfd (--setup) */
int run_scale(struct bench *b);
int scale_setup(struct bench *b, int dfd);
/* The files in sc/n: the largest step of either list. */
unsigned scale_tree_size(const struct bench *b);

static inline uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

static inline bool is_dot(const char *n, size_t len)
{
	return (len == 1 && n[0] == '.') ||
	       (len == 2 && n[0] == '.' && n[1] == '.');
}

#endif
