/* bench.c: `virtiofs-client bench`, a benchmark of one vhost-user-fs
 * daemon (or of plain syscalls on a host directory, --native).
 *
 * Requests are laid out as Linux lays them out (in header, one descriptor
 * per argument, data cut at 4 KiB; out header, one per reply argument,
 * data pages; FORGETs in one descriptor on the hiprio queue). To keep
 * the client's own cost out of the figures the bench drives the rings
 * itself (vfs_internal.h): every in-flight slot owns fixed guest buffers,
 * nothing is copied or allocated per request but the indirect table.
 *
 * Workloads (ops are what ops/s, latency and CPU/op count):
 *   lookup       LOOKUP and GETATTR alternating over 1000 files (op = request)
 *   smallfile    CREATE, WRITE 4 KiB, RELEASE, UNLINK (+FORGET, not counted)
 *                in a fresh directory (op = request)
 *   readdirplus  OPENDIR, READDIRPLUS (4 KiB buffers, as Linux) to the end,
 *                RELEASEDIR, BATCH_FORGET of the entries (op = entry;
 *                latency is per READDIRPLUS request; a pass still going
 *                when the time is up stops early)
 *   seqread      1 MiB READs over the whole file once (op = MiB; requests
 *                are smaller when the daemon caps max_write/max_pages)
 *   seqwrite     1 MiB WRITEs over the whole file once (op = MiB)
 *   randread     4 KiB READs at random offsets (op = request)
 * --native runs them as syscalls (stat/fstat; open, pwrite, close, unlink;
 * getdents64 + fstatat; pread/pwrite) on min(depth, CPUs) threads.
 * Depth d: d independent slots (chains for smallfile and readdirplus).
 * Requests go round robin over the request queues, on split rings, or on
 * packed rings with --packed (the same daemon, the other ring layout).
 *
 * The share must hold /lk (files f00000..), /rd (entries e00000..) and
 * /big; `--setup DIR` creates them on the host, otherwise the bench
 * creates missing ones through the daemon (unmeasured). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "vfs_internal.h"

#define PROG "virtiofs-client bench"
#define MIB (1024u * 1024u)
#define PAGE 4096u
#define MAX_DEPTH 256
#define MAX_QUEUES 16
#define FORGET_BATCH 64

enum wl { WL_LOOKUP, WL_SMALL, WL_READDIR, WL_SEQREAD, WL_SEQWRITE,
	  WL_RANDREAD, WL_COUNT };

static const char *const wl_names[WL_COUNT] = {
	"lookup", "smallfile", "readdirplus", "seqread", "seqwrite", "randread",
};

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
};

struct stats {
	uint64_t ops, bytes, errors, units;
	uint64_t *lat;          /* ns */
	size_t nlat, cap;
	double secs;
	double cpu_us;          /* daemon CPU over the run, <0 unknown */
};

/* ---- helpers ---- */

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static int lat_add(struct stats *st, uint64_t ns)
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

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double pct_us(struct stats *st, unsigned pct)
{
	size_t i;

	if (!st->nlat)
		return -1;
	i = st->nlat * pct / 100;
	if (i >= st->nlat)
		i = st->nlat - 1;
	return (double)st->lat[i] / 1000.0;
}

/* utime+stime of a process in microseconds, <0 when unknown. */
static double proc_cpu_us(long pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut = 0, stt = 0;
	ssize_t n;
	int fd, i;

	if (pid <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (!p)
		return -1;
	p++;
	/* after ')': state is field 3, utime 14, stime 15 */
	for (i = 3; i <= 15 && p; i++) {
		while (*p == ' ')
			p++;
		if (i == 14)
			ut = strtoul(p, NULL, 10);
		else if (i == 15)
			stt = strtoul(p, NULL, 10);
		p = strchr(p, ' ');
	}
	return (double)(ut + stt) * 1e6 / (double)sysconf(_SC_CLK_TCK);
}

/* QEMU's virtiofsd forks its worker into new namespaces once a frontend
 * has connected: measure that child when there is one. */
static long worker_pid(long pid)
{
	char path[64], buf[256];
	ssize_t n;
	long child;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/task/%ld/children", pid, pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return pid;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return pid;
	buf[n] = '\0';
	child = strtol(buf, NULL, 10);
	return child > 0 ? child : pid;
}

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

static bool is_dot(const char *n, size_t len)
{
	return (len == 1 && n[0] == '.') ||
	       (len == 2 && n[0] == '.' && n[1] == '.');
}

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || v <= 0)
		return -EINVAL;
	switch (*end) {
	case 'k': case 'K': v *= 1024; end++; break;
	case 'm': case 'M': v *= MIB; end++; break;
	case 'g': case 'G': v *= 1024.0 * MIB; end++; break;
	default: break;
	}
	if (*end)
		return -EINVAL;
	*out = (uint64_t)v;
	return 0;
}

/* ---- result output ---- */

static void result_print(const struct bench *b, enum wl w, unsigned depth,
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

/* ---- the FUSE engine ---- */

/* Per-slot control area in guest memory. */
#define CTRL_SIZE 8192u
#define O_IH 0u
#define O_ARG 64u
#define O_NAME 512u
#define O_OH 1024u
#define O_R1 1088u
#define O_R2 1280u
#define O_FORGET 2048u
#define O_PAGE 4096u

struct slot {
	unsigned idx;
	uint8_t *g;             /* CTRL_SIZE bytes */
	uint8_t *data;          /* data buffer */
	unsigned state;
	bool timed;
	uint64_t t0;
	uint64_t nodeid, fh, off, k;
	uint64_t *nodes;        /* readdirplus: lookups to forget */
	size_t nn, ncap, nsent;
	char name[64];
};

struct fengine;

struct fwl {
	/* Start a unit on an idle slot: 1 issued, 0 nothing left, <0 error. */
	int (*start)(struct fengine *e, struct slot *s);
	/* A request of the slot completed: 1 issued the next, 0 unit done. */
	int (*step)(struct fengine *e, struct slot *s, uint32_t used);
};

struct fengine {
	struct bench *b;
	struct vfs_client *c;
	unsigned nq;
	unsigned rr;
	unsigned depth;
	struct slot slots[MAX_DEPTH];
	size_t data_size;
	bool kick[MAX_QUEUES + 1];
	uint64_t deadline;
	uint64_t seq, limit;
	struct stats st;
	/* workload state */
	uint64_t dirnode;
	uint64_t *fnodes;
	uint64_t *counts;
	unsigned nfiles;
	uint64_t fh;
	uint64_t fsize;
	size_t chunk;
	uint64_t rnd;
	enum wl wl;
};

struct rq {
	uint32_t opcode;
	uint64_t nodeid;
	const void *arg;
	size_t arglen;
	const char *name;
	const uint8_t *in_data;
	size_t in_len;
	size_t r1, r2;
	uint8_t *out_data;
	size_t out_len;
	bool timed;
};

static bool time_up(struct fengine *e)
{
	return now_ns() >= e->deadline;
}

static unsigned next_queue(struct fengine *e)
{
	e->rr = e->rr % e->nq + 1;
	return e->rr;
}

static void add_seg(struct vfs_seg *sg, unsigned *n, void *p, size_t len,
		    bool write)
{
	sg[*n].hva = p;
	sg[*n].len = (uint32_t)len;
	sg[*n].write = write;
	(*n)++;
}

static void add_pages(struct vfs_seg *sg, unsigned *n, uint8_t *p,
		      size_t len, bool write)
{
	size_t off;

	for (off = 0; off < len; off += PAGE)
		add_seg(sg, n, p + off, len - off < PAGE ? len - off : PAGE, write);
}

static int slot_add(struct fengine *e, struct slot *s, unsigned q,
		    struct vfs_seg *sg, unsigned n, bool timed)
{
	int ret = vq_add(&e->c->queues[q], sg, n, s);

	if (ret < 0)
		return ret;
	e->kick[q] = true;
	s->timed = timed;
	s->t0 = timed ? now_ns() : 0;
	return 1;
}

static int slot_send(struct fengine *e, struct slot *s, const struct rq *r)
{
	struct vfs_seg sg[MIB / PAGE + 8];
	size_t namelen = r->name ? strlen(r->name) + 1 : 0;
	unsigned n = 0;

	vfs_msg_init(e->c, s->g + O_IH, r->opcode, r->nodeid,
		     r->arglen + namelen + r->in_len);
	add_seg(sg, &n, s->g + O_IH, sizeof(struct fuse_in_header), false);
	if (r->arglen) {
		memcpy(s->g + O_ARG, r->arg, r->arglen);
		add_seg(sg, &n, s->g + O_ARG, r->arglen, false);
	}
	if (namelen) {
		memcpy(s->g + O_NAME, r->name, namelen);
		add_seg(sg, &n, s->g + O_NAME, namelen, false);
	}
	if (r->in_len)
		add_pages(sg, &n, (uint8_t *)r->in_data, r->in_len, false);
	add_seg(sg, &n, s->g + O_OH, sizeof(struct fuse_out_header), true);
	if (r->r1)
		add_seg(sg, &n, s->g + O_R1, r->r1, true);
	if (r->r2)
		add_seg(sg, &n, s->g + O_R2, r->r2, true);
	if (r->out_len)
		add_pages(sg, &n, r->out_data, r->out_len, true);
	return slot_add(e, s, next_queue(e), sg, n, r->timed);
}

/* FORGET / BATCH_FORGET: one device-readable descriptor on hiprio. */
static int slot_forget(struct fengine *e, struct slot *s, uint64_t nodeid,
		       const uint64_t *batch, size_t count)
{
	uint8_t *p = s->g + O_FORGET;
	struct vfs_seg sg;
	unsigned n = 0;
	size_t len, i;

	if (!batch) {
		struct fuse_forget_in in = { .nlookup = 1 };

		len = vfs_msg_init(e->c, p, FUSE_FORGET, nodeid, sizeof(in));
		memcpy(p + sizeof(struct fuse_in_header), &in, sizeof(in));
	} else {
		struct fuse_batch_forget_in in = { .count = (uint32_t)count };
		struct fuse_forget_one one = { .nlookup = 1 };
		uint8_t *q = p + sizeof(struct fuse_in_header) + sizeof(in);

		len = vfs_msg_init(e->c, p, FUSE_BATCH_FORGET, 0,
				   sizeof(in) + count * sizeof(one));
		memcpy(p + sizeof(struct fuse_in_header), &in, sizeof(in));
		for (i = 0; i < count; i++) {
			one.nodeid = batch[i];
			memcpy(q + i * sizeof(one), &one, sizeof(one));
		}
	}
	add_seg(&sg, &n, p, len, false);
	return slot_add(e, s, 0, &sg, n, false);
}

static const struct fuse_out_header *slot_oh(const struct slot *s)
{
	return (const struct fuse_out_header *)(s->g + O_OH);
}

/* Reply error of the request that completed, counting failures. */
static int slot_err(struct fengine *e, struct slot *s, uint32_t used)
{
	const struct fuse_out_header *oh = slot_oh(s);

	if (used < sizeof(*oh) || oh->error) {
		e->st.errors++;
		if (e->b->verbose)
			fprintf(stderr, PROG ": %s: error %d (used %u)\n",
				wl_names[e->wl], oh->error, used);
		return oh->error ? oh->error : -EIO;
	}
	return 0;
}

/* lookup: LOOKUP and GETATTR alternating. */
static int lk_start(struct fengine *e, struct slot *s)
{
	uint64_t i;

	if (time_up(e))
		return 0;
	i = e->seq++;
	s->k = (i / 2) % e->nfiles;
	s->state = (unsigned)(i % 2);
	if (s->state == 0) {
		struct rq r = { .opcode = FUSE_LOOKUP, .nodeid = e->dirnode,
				.name = s->name, .r1 = sizeof(struct fuse_entry_out),
				.timed = true };

		snprintf(s->name, sizeof(s->name), "f%05u", (unsigned)s->k);
		return slot_send(e, s, &r);
	} else {
		struct fuse_getattr_in in = { 0 };
		struct rq r = { .opcode = FUSE_GETATTR, .nodeid = e->fnodes[s->k],
				.arg = &in, .arglen = sizeof(in),
				.r1 = sizeof(struct fuse_attr_out), .timed = true };

		return slot_send(e, s, &r);
	}
}

static int lk_step(struct fengine *e, struct slot *s, uint32_t used)
{
	if (slot_err(e, s, used))
		return 0;
	e->st.ops++;
	e->st.units++;
	if (s->state == 0)
		e->counts[s->k]++;
	return 0;
}

/* smallfile: CREATE, WRITE 4 KiB, RELEASE, UNLINK, FORGET. */
static int sf_start(struct fengine *e, struct slot *s)
{
	struct fuse_create_in in = {
		.flags = O_WRONLY | O_CREAT | O_EXCL, .mode = S_IFREG | 0644,
		.umask = 022,
	};
	struct rq r = { .opcode = FUSE_CREATE, .nodeid = e->dirnode,
			.arg = &in, .arglen = sizeof(in), .name = s->name,
			.r1 = sizeof(struct fuse_entry_out),
			.r2 = sizeof(struct fuse_open_out), .timed = true };

	if (time_up(e))
		return 0;
	snprintf(s->name, sizeof(s->name), "s%u-%" PRIu64, s->idx, e->seq++);
	s->state = 0;
	return slot_send(e, s, &r);
}

static int sf_step(struct fengine *e, struct slot *s, uint32_t used)
{
	int err = s->state < 4 ? slot_err(e, s, used) : 0;

	if (!err && s->state < 4)
		e->st.ops++;
	switch (s->state) {
	case 0: {
		struct fuse_entry_out eo;
		struct fuse_open_out oo;
		struct fuse_write_in in = { .size = PAGE, .flags = O_WRONLY };
		struct rq r = { .opcode = FUSE_WRITE, .arg = &in,
				.arglen = sizeof(in), .in_data = s->data,
				.in_len = PAGE, .r1 = sizeof(struct fuse_write_out),
				.timed = true };

		if (err)
			return 0;
		memcpy(&eo, s->g + O_R1, sizeof(eo));
		memcpy(&oo, s->g + O_R2, sizeof(oo));
		s->nodeid = eo.nodeid;
		s->fh = oo.fh;
		in.fh = s->fh;
		r.nodeid = s->nodeid;
		s->state = 1;
		return slot_send(e, s, &r);
	}
	case 1: {
		struct fuse_release_in in = { .fh = s->fh, .flags = O_WRONLY };
		struct rq r = { .opcode = FUSE_RELEASE, .nodeid = s->nodeid,
				.arg = &in, .arglen = sizeof(in), .timed = true };

		if (!err)
			e->st.bytes += PAGE;
		s->state = 2;
		return slot_send(e, s, &r);
	}
	case 2: {
		struct rq r = { .opcode = FUSE_UNLINK, .nodeid = e->dirnode,
				.name = s->name, .timed = true };

		s->state = 3;
		return slot_send(e, s, &r);
	}
	case 3:
		s->state = 4;
		return slot_forget(e, s, s->nodeid, NULL, 0);
	default:
		e->st.units++;
		return 0;
	}
}

/* readdirplus: one pass over the directory per unit. */
static int rd_readdir(struct fengine *e, struct slot *s)
{
	struct fuse_read_in in = { .fh = s->fh, .offset = s->off, .size = PAGE,
				   .flags = O_RDONLY | O_DIRECTORY };
	struct rq r = { .opcode = FUSE_READDIRPLUS, .nodeid = e->dirnode,
			.arg = &in, .arglen = sizeof(in),
			.out_data = s->g + O_PAGE, .out_len = PAGE, .timed = true };

	s->state = 1;
	return slot_send(e, s, &r);
}

static int rd_start(struct fengine *e, struct slot *s)
{
	struct fuse_open_in in = { .flags = O_RDONLY | O_DIRECTORY };
	struct rq r = { .opcode = FUSE_OPENDIR, .nodeid = e->dirnode,
			.arg = &in, .arglen = sizeof(in),
			.r1 = sizeof(struct fuse_open_out) };

	if (time_up(e))
		return 0;
	s->state = 0;
	s->nn = s->nsent = 0;
	s->off = 0;
	return slot_send(e, s, &r);
}

static int rd_forget_next(struct fengine *e, struct slot *s)
{
	size_t n = s->nn - s->nsent;

	if (n == 0) {
		e->st.units++;
		return 0;
	}
	if (n > FORGET_BATCH)
		n = FORGET_BATCH;
	s->state = 3;
	s->nsent += n;
	return slot_forget(e, s, 0, s->nodes + s->nsent - n, n);
}

static int rd_release(struct fengine *e, struct slot *s)
{
	struct fuse_release_in in = { .fh = s->fh, .flags = O_RDONLY };
	struct rq r = { .opcode = FUSE_RELEASEDIR, .nodeid = e->dirnode,
			.arg = &in, .arglen = sizeof(in) };

	s->state = 2;
	return slot_send(e, s, &r);
}

static int rd_step(struct fengine *e, struct slot *s, uint32_t used)
{
	const struct fuse_out_header *oh = slot_oh(s);
	const struct fuse_dirent *d;
	const struct fuse_entry_out *eo;
	size_t pos = 0, len;
	int ret;

	switch (s->state) {
	case 0: {
		struct fuse_open_out oo;

		if (slot_err(e, s, used))
			return 0;
		memcpy(&oo, s->g + O_R1, sizeof(oo));
		s->fh = oo.fh;
		return rd_readdir(e, s);
	}
	case 1:
		if (slot_err(e, s, used))
			return rd_release(e, s);
		len = oh->len - sizeof(*oh);
		if (len == 0 || len > PAGE)
			return rd_release(e, s);
		while ((ret = vfs_dirent_next(s->g + O_PAGE, len, &pos, true,
					      &d, &eo)) == 1) {
			s->off = d->off;
			if (is_dot(d->name, d->namelen))
				continue;
			e->st.ops++;
			if (!eo->nodeid)
				continue;
			if (s->nn == s->ncap) {
				size_t cap = s->ncap ? s->ncap * 2 : 16384;
				uint64_t *p = realloc(s->nodes, cap * sizeof(*p));

				if (!p)
					return -ENOMEM;
				s->nodes = p;
				s->ncap = cap;
			}
			s->nodes[s->nn++] = eo->nodeid;
		}
		if (ret < 0) {
			e->st.errors++;
			return rd_release(e, s);
		}
		/* Out of time: stop the pass early, as a reader that stops
		 * before the end would (RELEASEDIR and FORGETs still run). */
		if (time_up(e))
			return rd_release(e, s);
		return rd_readdir(e, s);
	case 2:
		slot_err(e, s, used);
		return rd_forget_next(e, s);
	default:
		return rd_forget_next(e, s);
	}
}

/* seqread / seqwrite / randread */
static int io_start(struct fengine *e, struct slot *s)
{
	bool rnd = e->wl == WL_RANDREAD;
	size_t size = rnd ? PAGE : e->chunk;
	uint64_t off;

	if (rnd) {
		if (time_up(e))
			return 0;
		off = (xorshift(&e->rnd) % (e->fsize / PAGE)) * PAGE;
	} else {
		if (e->seq >= e->limit)
			return 0;
		off = e->seq++ * e->chunk;
	}
	if (e->wl == WL_SEQWRITE) {
		struct fuse_write_in in = { .fh = e->fh, .offset = off,
					    .size = (uint32_t)size,
					    .flags = O_WRONLY };
		struct rq r = { .opcode = FUSE_WRITE, .nodeid = e->dirnode,
				.arg = &in, .arglen = sizeof(in),
				.in_data = s->data, .in_len = size,
				.r1 = sizeof(struct fuse_write_out), .timed = true };

		return slot_send(e, s, &r);
	} else {
		struct fuse_read_in in = { .fh = e->fh, .offset = off,
					   .size = (uint32_t)size,
					   .flags = O_RDONLY };
		struct rq r = { .opcode = FUSE_READ, .nodeid = e->dirnode,
				.arg = &in, .arglen = sizeof(in),
				.out_data = s->data, .out_len = size, .timed = true };

		return slot_send(e, s, &r);
	}
}

static int io_step(struct fengine *e, struct slot *s, uint32_t used)
{
	const struct fuse_out_header *oh = slot_oh(s);

	if (slot_err(e, s, used))
		return 0;
	e->st.units++;
	if (e->wl == WL_RANDREAD)
		e->st.ops++;
	if (e->wl == WL_SEQWRITE) {
		struct fuse_write_out wo;

		memcpy(&wo, s->g + O_R1, sizeof(wo));
		e->st.bytes += wo.size;
	} else {
		e->st.bytes += oh->len - sizeof(*oh);
	}
	if (e->wl != WL_RANDREAD)
		e->st.ops = e->st.bytes / MIB;
	return 0;
}

static const struct fwl fwls[WL_COUNT] = {
	[WL_LOOKUP] = { lk_start, lk_step },
	[WL_SMALL] = { sf_start, sf_step },
	[WL_READDIR] = { rd_start, rd_step },
	[WL_SEQREAD] = { io_start, io_step },
	[WL_SEQWRITE] = { io_start, io_step },
	[WL_RANDREAD] = { io_start, io_step },
};

static int kick_all(struct fengine *e)
{
	unsigned q;
	int err;

	for (q = 0; q <= e->nq; q++) {
		if (!e->kick[q])
			continue;
		e->kick[q] = false;
		err = vq_kick(&e->c->queues[q]);
		if (err)
			return err;
	}
	return 0;
}

static int wait_calls(struct fengine *e)
{
	struct pollfd pfd[MAX_QUEUES + 2];
	unsigned q, n = 0;
	int ret;

	for (q = 0; q <= e->nq; q++) {
		if (vq_enable_cb(&e->c->queues[q]))
			return 0;
	}
	pfd[n].fd = e->c->fe.sock;
	pfd[n++].events = POLLRDHUP;
	for (q = 0; q <= e->nq; q++) {
		pfd[n].fd = e->c->queues[q].call_fd;
		pfd[n++].events = POLLIN;
	}
	ret = poll(pfd, n, 30000);
	if (ret < 0)
		return errno == EINTR ? 0 : -errno;
	if (ret == 0)
		return -ETIMEDOUT;
	if (pfd[0].revents & (POLLRDHUP | POLLHUP | POLLERR))
		return -ENOTCONN;
	for (q = 1; q < n; q++) {
		uint64_t v;

		if (pfd[q].revents & POLLIN)
			(void)!read(pfd[q].fd, &v, sizeof(v));
	}
	return 0;
}

static int f_run(struct fengine *e)
{
	const struct fwl *w = &fwls[e->wl];
	unsigned i, busy = 0, q;
	uint64_t t0;
	double cpu0, cpu1;
	int ret;

	cpu0 = proc_cpu_us(e->b->pid);
	t0 = now_ns();
	e->deadline = t0 + (uint64_t)(e->b->secs * 1e9);
	for (i = 0; i < e->depth; i++) {
		ret = w->start(e, &e->slots[i]);
		if (ret < 0)
			return ret;
		busy += (unsigned)ret;
	}
	while (busy) {
		unsigned got = 0;

		ret = kick_all(e);
		if (ret)
			return ret;
		for (q = 0; q <= e->nq; q++) {
			struct vring_queue *vq = &e->c->queues[q];
			uint32_t used;
			void *t;

			while ((t = vq_get_used(vq, &used))) {
				struct slot *s = t;

				if (t == (void *)-1)
					return -EIO;
				got++;
				if (s->timed) {
					ret = lat_add(&e->st, now_ns() - s->t0);
					if (ret)
						return ret;
				}
				ret = w->step(e, s, used);
				if (ret == 0)
					ret = w->start(e, s);
				if (ret < 0)
					return ret;
				if (ret == 0)
					busy--;
			}
		}
		if (got || !busy)
			continue;
		ret = kick_all(e);
		if (ret)
			return ret;
		ret = wait_calls(e);
		if (ret)
			return ret;
	}
	e->st.secs = (double)(now_ns() - t0) / 1e9;
	cpu1 = proc_cpu_us(e->b->pid);
	e->st.cpu_us = cpu0 >= 0 && cpu1 >= 0 ? cpu1 - cpu0 : -1;
	return 0;
}

/* ---- unmeasured preparation through the daemon ---- */

static int fuse_touch(struct vfs_client *c, uint64_t dir, const char *name,
		      const void *data, uint64_t size)
{
	struct fuse_entry_out eo;
	struct fuse_open_out oo;
	uint64_t off;
	int err;

	err = vfs_create(c, dir, name, O_WRONLY | O_CREAT | O_TRUNC, S_IFREG | 0644,
			 022, &eo, &oo);
	if (err)
		return err;
	for (off = 0; off < size && !err; off += MIB) {
		size_t n = size - off < MIB ? (size_t)(size - off) : MIB;
		ssize_t w = vfs_write(c, eo.nodeid, oo.fh, off, data, n, 0);

		err = w < 0 ? (int)w : 0;
	}
	vfs_release(c, eo.nodeid, oo.fh, O_WRONLY);
	vfs_put(c, eo.nodeid);
	return err;
}

/* Look name up in the root, creating it (and its contents) if absent. */
static int fuse_prepare(struct fengine *e, const char *name, enum wl w,
			uint64_t *nodeid, struct fuse_attr *attr)
{
	struct vfs_client *c = e->c;
	struct fuse_entry_out eo;
	char path[32];
	unsigned i, n;
	int err;

	snprintf(path, sizeof(path), "/%s", name);
	err = vfs_resolve(c, path, nodeid, attr);
	if (err != -ENOENT)
		return err;
	fprintf(stderr, PROG ": creating /%s through the daemon\n", name);
	if (w == WL_SEQREAD) {
		uint8_t *buf = malloc(MIB);

		if (!buf)
			return -ENOMEM;
		memset(buf, 0x5a, MIB);
		err = fuse_touch(c, FUSE_ROOT_ID, name, buf, e->b->file_size);
		free(buf);
	} else {
		err = vfs_mkdir(c, FUSE_ROOT_ID, name, 0755, 022, &eo);
		n = w == WL_LOOKUP ? e->b->lookup_files : e->b->dir_entries;
		for (i = 0; i < n && !err; i++) {
			char fn[16];

			snprintf(fn, sizeof(fn), "%c%05u", w == WL_LOOKUP ? 'f' : 'e', i);
			err = fuse_touch(c, eo.nodeid, fn, NULL, 0);
		}
		if (!err)
			vfs_put(c, eo.nodeid);
	}
	if (err)
		return err;
	return vfs_resolve(c, path, nodeid, attr);
}

static int lk_pre(struct fengine *e)
{
	struct fuse_attr a;
	unsigned i;
	int err;

	err = fuse_prepare(e, "lk", WL_LOOKUP, &e->dirnode, &a);
	if (err)
		return err;
	e->nfiles = e->b->lookup_files;
	e->fnodes = calloc(e->nfiles, sizeof(*e->fnodes));
	e->counts = calloc(e->nfiles, sizeof(*e->counts));
	if (!e->fnodes || !e->counts)
		return -ENOMEM;
	for (i = 0; i < e->nfiles; i++) {
		struct fuse_entry_out eo;
		char fn[16];

		snprintf(fn, sizeof(fn), "f%05u", i);
		err = vfs_lookup(e->c, e->dirnode, fn, &eo);
		if (err)
			return err;
		e->fnodes[i] = eo.nodeid;
		e->counts[i] = 1;
	}
	return 0;
}

static void lk_post(struct fengine *e)
{
	struct fuse_forget_one items[FORGET_BATCH];
	unsigned i, n = 0;

	for (i = 0; i < e->nfiles; i++) {
		if (!e->fnodes[i])
			continue;
		items[n].nodeid = e->fnodes[i];
		items[n++].nlookup = e->counts[i];
		if (n == FORGET_BATCH || i + 1 == e->nfiles) {
			vfs_batch_forget(e->c, items, n);
			n = 0;
		}
	}
	if (n)
		vfs_batch_forget(e->c, items, n);
	free(e->fnodes);
	free(e->counts);
	e->fnodes = NULL;
	e->counts = NULL;
}

static int f_workload(struct fengine *e, enum wl w, unsigned depth)
{
	struct vfs_client *c = e->c;
	struct fuse_attr a;
	struct fuse_open_out oo;
	char dname[64];
	unsigned i;
	int err = 0, err2;
	bool opened = false;

	memset(&e->st, 0, sizeof(e->st));
	e->wl = w;
	e->depth = depth;
	e->seq = 0;
	e->rr = 0;
	e->rnd = 0x9e3779b97f4a7c15ull ^ (uint64_t)depth;
	e->data_size = (w == WL_SEQREAD || w == WL_SEQWRITE) ? e->chunk : PAGE;
	for (i = 0; i < depth; i++) {
		struct slot *s = &e->slots[i];

		memset(s, 0, sizeof(*s));
		s->idx = i;
		s->g = mem_alloc(&c->mem, CTRL_SIZE);
		s->data = mem_alloc(&c->mem, e->data_size);
		if (!s->g || !s->data) {
			err = -ENOMEM;
			goto out;
		}
		memset(s->data, 0xa5, e->data_size);
	}
	switch (w) {
	case WL_LOOKUP:
		err = lk_pre(e);
		break;
	case WL_SMALL:
		snprintf(dname, sizeof(dname), "sf.%d.%d.%u.%ld", (int)getpid(),
			 e->b->round, depth, (long)(now_ns() % 1000000));
		{
			struct fuse_entry_out eo;

			err = vfs_mkdir(c, FUSE_ROOT_ID, dname, 0755, 022, &eo);
			e->dirnode = eo.nodeid;
		}
		break;
	case WL_READDIR:
		err = fuse_prepare(e, "rd", WL_READDIR, &e->dirnode, &a);
		break;
	default:
		err = fuse_prepare(e, "big", WL_SEQREAD, &e->dirnode, &a);
		if (err)
			break;
		e->fsize = a.size < e->b->file_size ? a.size : e->b->file_size;
		e->limit = e->fsize / e->chunk;
		if (e->fsize < PAGE) {
			err = -EINVAL;
			break;
		}
		err = vfs_open(c, e->dirnode, w == WL_SEQWRITE ? O_WRONLY : O_RDONLY, &oo);
		e->fh = oo.fh;
		opened = !err;
		break;
	}
	if (!err)
		err = f_run(e);
	if (!err)
		result_print(e->b, w, depth, &e->st);
	if (w == WL_LOOKUP && e->fnodes)
		lk_post(e);
	if (opened)
		vfs_release(c, e->dirnode, e->fh, w == WL_SEQWRITE ? O_WRONLY : O_RDONLY);
	if (w == WL_SMALL && e->dirnode) {
		err2 = vfs_rmdir(c, FUSE_ROOT_ID, dname);
		if (err2 && !err)
			fprintf(stderr, PROG ": rmdir %s: %s\n", dname, strerror(-err2));
	}
	if (e->dirnode)
		vfs_put(c, e->dirnode);
	e->dirnode = 0;
out:
	for (i = 0; i < depth; i++) {
		struct slot *s = &e->slots[i];

		if (s->g)
			mem_free(&c->mem, s->g, CTRL_SIZE);
		if (s->data)
			mem_free(&c->mem, s->data, e->data_size);
		free(s->nodes);
		memset(s, 0, sizeof(*s));
	}
	free(e->st.lat);
	e->st.lat = NULL;
	if (err)
		fprintf(stderr, PROG ": %s at depth %u: %s\n", wl_names[w], depth,
			strerror(-err));
	return err;
}

static unsigned max_depth(const struct bench *b)
{
	unsigned i, m = 1;

	for (i = 0; i < b->ndepths; i++)
		if (b->depths[i] > m)
			m = b->depths[i];
	return m;
}

static int run_fuse(struct bench *b)
{
	struct vfs_client_options o = { 0 };
	struct fengine *e;
	struct vfs_client *c;
	unsigned i, d;
	int err = 0, rc = 0;

	o.request_queues = b->queues;
	o.packed = b->packed;
	o.mem_size = (size_t)max_depth(b) * (MIB + 2 * CTRL_SIZE) + 64 * MIB;
	o.verbose = false;
	c = vfs_client_open(b->socket, &o, &err);
	if (!c) {
		fprintf(stderr, PROG ": %s: %s\n", b->socket, strerror(-err));
		return 1;
	}
	if (vfs_client_request_queues(c) != b->queues) {
		fprintf(stderr, PROG ": daemon gave %u request queues, not %u\n",
			vfs_client_request_queues(c), b->queues);
		vfs_client_close(c);
		return 1;
	}
	if (b->pid > 0) {
		long w = worker_pid(b->pid);

		if (w != b->pid)
			fprintf(stderr, PROG ": measuring CPU of %ld, child of %ld\n",
				w, b->pid);
		b->pid = w;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		vfs_client_close(c);
		return 1;
	}
	e->b = b;
	e->c = c;
	e->nq = b->queues;
	e->chunk = vfs_client_max_io(c) < MIB ? vfs_client_max_io(c) : MIB;
	if (b->max_io && b->max_io < e->chunk)
		e->chunk = b->max_io;
	{
		const struct fuse_init_out *io = vfs_client_init_out(c);

		fprintf(stderr, PROG ": %s: %s rings, FUSE %u.%u flags %#" PRIx64 " max_write %u "
			"max_pages %u: %zu KiB per READ/WRITE\n", b->label,
			b->packed ? "packed" : "split", io->major,
			io->minor, (uint64_t)io->flags | (uint64_t)io->flags2 << 32,
			io->max_write, io->max_pages, e->chunk / 1024);
	}
	if (!(vfs_client_init_out(c)->flags & FUSE_DO_READDIRPLUS))
		fprintf(stderr, PROG ": daemon did not enable READDIRPLUS\n");
	for (i = 0; i < WL_COUNT; i++) {
		if (!(b->wl_mask & (1u << i)))
			continue;
		for (d = 0; d < b->ndepths; d++) {
			err = f_workload(e, (enum wl)i, b->depths[d]);
			if (err)
				rc = 1;
			if (err == -ENOTCONN || err == -ETIMEDOUT || err == -EIO)
				goto out;
		}
	}
out:
	free(e);
	vfs_client_close(c);
	return rc;
}

/* ---- native: the same workloads as plain syscalls, depth = threads ---- */

struct native {
	struct bench *b;
	enum wl wl;
	unsigned depth;
	int root, lkfd;
	int *pathfds;
	int bigfd;
	char sfdir[64];
	uint64_t fsize, limit, deadline;
	atomic_uint_fast64_t seq;
	pthread_mutex_t lock;
	struct stats st;
	int err;
};

struct nthread {
	struct native *n;
	unsigned idx;
	pthread_t tid;
	struct stats st;
};

#define NLAT(expr) do {                                           \
		uint64_t t_ = now_ns();                           \
		if ((expr) < 0) { t->st.errors++; break; }        \
		lat_add(&t->st, now_ns() - t_);                   \
	} while (0)

static void native_readdir(struct nthread *t, char *buf)
{
	struct native *n = t->n;
	int fd = openat(n->root, "rd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	long got;

	if (fd < 0) {
		t->st.errors++;
		return;
	}
	for (;;) {
		uint64_t t0 = now_ns();
		long pos;

		got = syscall(SYS_getdents64, fd, buf, PAGE);
		lat_add(&t->st, now_ns() - t0);
		if (got <= 0)
			break;
		for (pos = 0; pos < got;) {
			struct {
				uint64_t ino;
				int64_t off;
				unsigned short reclen;
				unsigned char type;
				char name[];
			} *d = (void *)(buf + pos);
			struct stat st;

			pos += d->reclen;
			if (is_dot(d->name, strlen(d->name)))
				continue;
			if (fstatat(fd, d->name, &st, AT_SYMLINK_NOFOLLOW) < 0)
				t->st.errors++;
			else
				t->st.ops++;
		}
	}
	if (got < 0)
		t->st.errors++;
	close(fd);
	t->st.units++;
}

static void *native_thread(void *arg)
{
	struct nthread *t = arg;
	struct native *n = t->n;
	uint64_t rnd = 0x9e3779b97f4a7c15ull * (t->idx + 1), i, off;
	char name[128];
	char *buf = aligned_alloc(PAGE, MIB);
	struct stat st;

	if (!buf)
		return NULL;
	memset(buf, 0xa5, MIB);
	for (;;) {
		if (n->wl == WL_SEQREAD || n->wl == WL_SEQWRITE) {
			i = atomic_fetch_add(&n->seq, 1);
			if (i >= n->limit)
				break;
			off = i * MIB;
			if (n->wl == WL_SEQREAD)
				NLAT(pread(n->bigfd, buf, MIB, (off_t)off));
			else
				NLAT(pwrite(n->bigfd, buf, MIB, (off_t)off));
			t->st.ops++;
			t->st.bytes += MIB;
			continue;
		}
		if (now_ns() >= n->deadline)
			break;
		switch (n->wl) {
		case WL_LOOKUP:
			i = atomic_fetch_add(&n->seq, 1);
			if (i % 2 == 0) {
				snprintf(name, sizeof(name), "f%05u",
					 (unsigned)((i / 2) % n->b->lookup_files));
				NLAT(fstatat(n->lkfd, name, &st, AT_SYMLINK_NOFOLLOW));
			} else {
				NLAT(fstat(n->pathfds[(i / 2) % n->b->lookup_files], &st));
			}
			t->st.ops++;
			break;
		case WL_SMALL: {
			int fd = -1, dfd;

			i = atomic_fetch_add(&n->seq, 1);
			snprintf(name, sizeof(name), "%s/t%u-%" PRIu64, n->sfdir,
				 t->idx, i);
			dfd = n->root;
			NLAT(fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL |
					 O_CLOEXEC, 0644));
			if (fd < 0)
				break;
			NLAT(pwrite(fd, buf, PAGE, 0));
			NLAT(close(fd));
			NLAT(unlinkat(dfd, name, 0));
			t->st.ops += 4;
			t->st.bytes += PAGE;
			t->st.units++;
			break;
		}
		case WL_READDIR:
			native_readdir(t, buf);
			break;
		case WL_RANDREAD:
			off = (xorshift(&rnd) % (n->fsize / PAGE)) * PAGE;
			NLAT(pread(n->bigfd, buf, PAGE, (off_t)off));
			t->st.ops++;
			t->st.bytes += PAGE;
			break;
		default:
			break;
		}
	}
	free(buf);
	return NULL;
}

static int native_workload(struct native *n, enum wl w, unsigned depth)
{
	/* Syscalls do not queue: concurrency beyond the CPUs only adds
	 * scheduling noise, so "depth" is min(depth, online CPUs) threads. */
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned nthr = ncpu > 0 && (unsigned long)ncpu < depth ? (unsigned)ncpu : depth;
	struct nthread *th = calloc(nthr, sizeof(*th));
	unsigned i, started = 0;
	uint64_t t0;
	int err = 0;

	if (!th)
		return -ENOMEM;
	memset(&n->st, 0, sizeof(n->st));
	n->wl = w;
	n->depth = depth;
	atomic_store(&n->seq, 0);
	if (w == WL_SMALL) {
		snprintf(n->sfdir, sizeof(n->sfdir), "nsf.%d.%d.%u", (int)getpid(),
			 n->b->round, depth);
		if (mkdirat(n->root, n->sfdir, 0755) < 0 && errno != EEXIST) {
			free(th);
			return -errno;
		}
	}
	if (w == WL_SEQWRITE || w == WL_SEQREAD || w == WL_RANDREAD) {
		n->bigfd = openat(n->root, "big", (w == WL_SEQWRITE ? O_WRONLY : O_RDONLY) |
				  O_CLOEXEC);
		if (n->bigfd < 0) {
			free(th);
			return -errno;
		}
	}
	t0 = now_ns();
	n->deadline = t0 + (uint64_t)(n->b->secs * 1e9);
	for (i = 0; i < nthr; i++) {
		th[i].n = n;
		th[i].idx = i;
		if (pthread_create(&th[i].tid, NULL, native_thread, &th[i])) {
			err = -EAGAIN;
			break;
		}
		started++;
	}
	for (i = 0; i < started; i++) {
		struct stats *s = &th[i].st;
		size_t k;

		pthread_join(th[i].tid, NULL);
		n->st.ops += s->ops;
		n->st.bytes += s->bytes;
		n->st.errors += s->errors;
		n->st.units += s->units;
		for (k = 0; k < s->nlat; k++)
			lat_add(&n->st, s->lat[k]);
		free(s->lat);
	}
	n->st.secs = (double)(now_ns() - t0) / 1e9;
	n->st.cpu_us = -1;
	if (w == WL_SEQWRITE || w == WL_SEQREAD || w == WL_RANDREAD)
		close(n->bigfd);
	if (w == WL_SMALL)
		unlinkat(n->root, n->sfdir, AT_REMOVEDIR);
	if (!err)
		result_print(n->b, w, depth, &n->st);
	free(n->st.lat);
	free(th);
	return err;
}

static int run_native(struct bench *b)
{
	struct native n = { .b = b };
	struct stat st;
	unsigned i, d;
	int rc = 0, err;

	n.root = open(b->native, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (n.root < 0) {
		fprintf(stderr, PROG ": %s: %s\n", b->native, strerror(errno));
		return 1;
	}
	n.lkfd = openat(n.root, "lk", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (n.lkfd < 0 || fstatat(n.root, "big", &st, 0) < 0) {
		fprintf(stderr, PROG ": %s: run --setup first\n", b->native);
		return 1;
	}
	n.fsize = (uint64_t)st.st_size < b->file_size ? (uint64_t)st.st_size : b->file_size;
	n.limit = n.fsize / MIB;
	n.pathfds = calloc(b->lookup_files, sizeof(int));
	if (!n.pathfds)
		return 1;
	for (i = 0; i < b->lookup_files; i++) {
		char name[16];

		snprintf(name, sizeof(name), "f%05u", i);
		n.pathfds[i] = openat(n.lkfd, name, O_PATH | O_CLOEXEC);
		if (n.pathfds[i] < 0) {
			fprintf(stderr, PROG ": %s/lk/%s: %s\n", b->native, name,
				strerror(errno));
			return 1;
		}
	}
	for (i = 0; i < WL_COUNT; i++) {
		if (!(b->wl_mask & (1u << i)))
			continue;
		for (d = 0; d < b->ndepths; d++) {
			err = native_workload(&n, (enum wl)i, b->depths[d]);
			if (err) {
				fprintf(stderr, PROG ": native %s: %s\n", wl_names[i],
					strerror(-err));
				rc = 1;
			}
		}
	}
	for (i = 0; i < b->lookup_files; i++)
		close(n.pathfds[i]);
	free(n.pathfds);
	close(n.lkfd);
	close(n.root);
	return rc;
}

/* ---- host-side setup ---- */

static int setup_files(int dfd, const char *sub, char prefix, unsigned count)
{
	unsigned i;
	int fd, d;

	if (mkdirat(dfd, sub, 0755) < 0 && errno != EEXIST)
		return -errno;
	d = openat(dfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d < 0)
		return -errno;
	for (i = 0; i < count; i++) {
		char name[16];

		snprintf(name, sizeof(name), "%c%05u", prefix, i);
		fd = openat(d, name, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0) {
			close(d);
			return -errno;
		}
		close(fd);
	}
	close(d);
	return 0;
}

static int run_setup(struct bench *b)
{
	struct stat st;
	uint64_t off;
	char *buf;
	int dfd, fd, err;

	dfd = open(b->setup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		fprintf(stderr, PROG ": %s: %s\n", b->setup, strerror(errno));
		return 1;
	}
	err = setup_files(dfd, "lk", 'f', b->lookup_files);
	if (!err)
		err = setup_files(dfd, "rd", 'e', b->dir_entries);
	if (err) {
		fprintf(stderr, PROG ": setup: %s\n", strerror(-err));
		close(dfd);
		return 1;
	}
	if (fstatat(dfd, "big", &st, 0) == 0 && (uint64_t)st.st_size == b->file_size) {
		close(dfd);
		return 0;
	}
	fd = openat(dfd, "big", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	buf = malloc(MIB);
	if (fd < 0 || !buf) {
		fprintf(stderr, PROG ": setup big: %s\n", strerror(errno));
		close(dfd);
		return 1;
	}
	for (off = 0; off < b->file_size; off += MIB) {
		size_t n = b->file_size - off < MIB ? (size_t)(b->file_size - off) : MIB;

		memset(buf, (int)(0x30 + (off / MIB) % 64), n);
		if (pwrite(fd, buf, n, (off_t)off) != (ssize_t)n) {
			fprintf(stderr, PROG ": setup big: %s\n", strerror(errno));
			close(fd);
			close(dfd);
			free(buf);
			return 1;
		}
	}
	free(buf);
	close(fd);
	close(dfd);
	return 0;
}

/* ---- options ---- */

static void usage(FILE *f)
{
	fprintf(f,
"usage: virtiofs-client bench (--socket PATH | --native DIR | --setup DIR) [options]\n"
"  --socket PATH        benchmark the running daemon listening on PATH\n"
"  --native DIR         the same workloads as plain syscalls on DIR (depth = threads)\n"
"  --setup DIR          create lk/ (files), rd/ (entries) and big in DIR, then exit\n"
"  --queues N           request queues (default 1)\n"
"  --depth LIST         requests in flight, e.g. 1,16,64 (default)\n"
"  --workloads LIST     lookup,smallfile,readdirplus,seqread,seqwrite,randread (default all)\n"
"  --file-size SIZE     size of big (default 1G; quick 256M)\n"
"  --time SECS          duration of the time-bound workloads (default 1; quick 0.3)\n"
"  --quick              smaller sizes and shorter runs\n"
"  --cpu N              pin the client to CPU N\n"
"  --pid PID            daemon process whose CPU time is measured (its child\n"
"                       if it has forked one after the connection, as QEMU's)\n"
"  --json FILE          append one JSON object per result to FILE\n"
"  --label NAME --placement NAME --round N   labels for the output\n"
"  --max-io SIZE        cap READ/WRITE requests at SIZE (a multiple of 4 KiB)\n"
"  --packed             packed virtqueues (VIRTIO_F_RING_PACKED) instead of split\n"
"  --lookup-files N (1000) --dir-entries N (10000)  --verbose\n");
}

static int parse_list(const char *s, struct bench *b, bool depths)
{
	char *dup = strdup(s), *tok, *save = NULL;
	int err = 0;

	if (!dup)
		return -ENOMEM;
	if (depths)
		b->ndepths = 0;
	else
		b->wl_mask = 0;
	for (tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (depths) {
			unsigned long v = strtoul(tok, NULL, 10);

			if (v == 0 || v > MAX_DEPTH || b->ndepths == 16) {
				err = -EINVAL;
				break;
			}
			b->depths[b->ndepths++] = (unsigned)v;
		} else {
			unsigned i;

			for (i = 0; i < WL_COUNT; i++)
				if (!strcmp(tok, wl_names[i]))
					break;
			if (i == WL_COUNT) {
				err = -EINVAL;
				break;
			}
			b->wl_mask |= 1u << i;
		}
	}
	free(dup);
	return err;
}

int bench_main(int argc, char **argv)
{
	enum { O_QUEUES = 256, O_DEPTH, O_WL, O_FSIZE, O_TIME, O_QUICK, O_CPU,
	       O_PID, O_JSON, O_LABEL, O_PLACE, O_ROUND, O_LKF, O_DIRE, O_NATIVE,
	       O_SETUP, O_VERB, O_MAXIO, O_PACKED };
	static const struct option lopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "native", required_argument, NULL, O_NATIVE },
		{ "setup", required_argument, NULL, O_SETUP },
		{ "queues", required_argument, NULL, O_QUEUES },
		{ "depth", required_argument, NULL, O_DEPTH },
		{ "workloads", required_argument, NULL, O_WL },
		{ "file-size", required_argument, NULL, O_FSIZE },
		{ "time", required_argument, NULL, O_TIME },
		{ "quick", no_argument, NULL, O_QUICK },
		{ "cpu", required_argument, NULL, O_CPU },
		{ "pid", required_argument, NULL, O_PID },
		{ "json", required_argument, NULL, O_JSON },
		{ "label", required_argument, NULL, O_LABEL },
		{ "placement", required_argument, NULL, O_PLACE },
		{ "round", required_argument, NULL, O_ROUND },
		{ "lookup-files", required_argument, NULL, O_LKF },
		{ "dir-entries", required_argument, NULL, O_DIRE },
		{ "verbose", no_argument, NULL, O_VERB },
		{ "max-io", required_argument, NULL, O_MAXIO },
		{ "packed", no_argument, NULL, O_PACKED },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct bench b = {
		.queues = 1, .depths = { 1, 16, 64 }, .ndepths = 3,
		.wl_mask = (1u << WL_COUNT) - 1, .secs = -1, .cpu = -1,
		.lookup_files = 1000, .dir_entries = 10000,
	};
	bool quick = false, fsize_set = false;
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "s:h", lopts, NULL)) != -1) {
		switch (opt) {
		case 's': b.socket = optarg; break;
		case O_NATIVE: b.native = optarg; break;
		case O_SETUP: b.setup = optarg; break;
		case O_QUEUES:
			b.queues = (unsigned)strtoul(optarg, NULL, 10);
			if (b.queues == 0 || b.queues > MAX_QUEUES) {
				fprintf(stderr, PROG ": bad --queues\n");
				return 2;
			}
			break;
		case O_DEPTH:
			if (parse_list(optarg, &b, true)) {
				fprintf(stderr, PROG ": bad --depth '%s'\n", optarg);
				return 2;
			}
			break;
		case O_WL:
			if (parse_list(optarg, &b, false)) {
				fprintf(stderr, PROG ": bad --workloads '%s'\n", optarg);
				return 2;
			}
			break;
		case O_FSIZE:
			if (parse_size(optarg, &b.file_size)) {
				fprintf(stderr, PROG ": bad --file-size '%s'\n", optarg);
				return 2;
			}
			fsize_set = true;
			break;
		case O_TIME: b.secs = strtod(optarg, NULL); break;
		case O_QUICK: quick = true; break;
		case O_CPU: b.cpu = atoi(optarg); break;
		case O_PID: b.pid = strtol(optarg, NULL, 10); break;
		case O_JSON: b.json = optarg; break;
		case O_LABEL: b.label = optarg; break;
		case O_PLACE: b.placement = optarg; break;
		case O_ROUND: b.round = atoi(optarg); break;
		case O_LKF: b.lookup_files = (unsigned)strtoul(optarg, NULL, 10); break;
		case O_DIRE: b.dir_entries = (unsigned)strtoul(optarg, NULL, 10); break;
		case O_VERB: b.verbose = true; break;
		case O_PACKED: b.packed = true; break;
		case O_MAXIO:
			if (parse_size(optarg, &b.max_io) || b.max_io % PAGE) {
				fprintf(stderr, PROG ": bad --max-io '%s'\n", optarg);
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!!b.socket + !!b.native + !!b.setup != 1 || optind != argc ||
	    b.lookup_files == 0 || b.lookup_files > 99999 || b.dir_entries > 99999) {
		usage(stderr);
		return 2;
	}
	if (!fsize_set)
		b.file_size = quick ? 256ull * MIB : 1024ull * MIB;
	if (b.secs <= 0)
		b.secs = quick ? 0.3 : 1.0;
	if (!b.label)
		b.label = b.native ? "native" : "daemon";
	if (!b.placement)
		b.placement = b.cpu >= 0 ? "pinned" : "unpinned";
	if (b.cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(b.cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set) < 0) {
			fprintf(stderr, PROG ": cpu %d: %s\n", b.cpu, strerror(errno));
			return 1;
		}
	}
	if (b.setup)
		return run_setup(&b);
	if (b.native)
		return run_native(&b);
	return run_fuse(&b);
}
