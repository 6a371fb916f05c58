/* bench_native.c: the workloads of `virtiofs-client bench` as plain
 * syscalls on a host directory (--native): the limit a passthrough
 * daemon can approach. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "bench_internal.h"

static double self_cpu_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

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
	uint64_t created;       /* create: files c<idx>-0 .. left to remove */
};

#define NLAT(expr) do {                                           \
		uint64_t t_ = now_ns();                           \
		if ((expr) < 0) { t->st.errors++; break; }        \
		lat_add(&t->st, now_ns() - t_);                   \
	} while (0)

static void native_readdir(struct nthread *t, char *buf, bool plus)
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
			if (!plus)
				t->st.ops++;
			else if (fstatat(fd, d->name, &st, AT_SYMLINK_NOFOLLOW) < 0)
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
		if (n->wl == WL_REREAD) {
			uint64_t hot = n->fsize < REREAD_HOT ? n->fsize : REREAD_HOT;

			if (hot < MIB)
				break;
			i = atomic_fetch_add(&n->seq, 1);
			NLAT(pread(n->bigfd, buf, MIB, (off_t)((i % (hot / MIB)) * MIB)));
			t->st.ops++;
			t->st.bytes += MIB;
			continue;
		}
		switch (n->wl) {
		case WL_LOOKUP:
			i = atomic_fetch_add(&n->seq, 1);
			snprintf(name, sizeof(name), "f%05u",
				 (unsigned)(i % n->b->lookup_files));
			NLAT(fstatat(n->lkfd, name, &st, AT_SYMLINK_NOFOLLOW));
			t->st.ops++;
			break;
		case WL_GETATTR:
			i = atomic_fetch_add(&n->seq, 1);
			NLAT(fstat(n->pathfds[i % n->b->lookup_files], &st));
			t->st.ops++;
			break;
		case WL_CREATE: {
			int fd = -1;

			snprintf(name, sizeof(name), "%s/c%u-%" PRIu64, n->sfdir,
				 t->idx, t->created);
			NLAT(fd = openat(n->root, name, O_WRONLY | O_CREAT | O_EXCL |
					 O_CLOEXEC, 0644));
			if (fd < 0)
				break;
			close(fd);
			t->created++;
			t->st.ops++;
			t->st.units++;
			break;
		}
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
		case WL_READDIRPLUS:
		case WL_READDIR:
			native_readdir(t, buf, n->wl == WL_READDIRPLUS);
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
	double cpu0;
	int err = 0;

	if (!th)
		return -ENOMEM;
	memset(&n->st, 0, sizeof(n->st));
	n->wl = w;
	n->depth = depth;
	atomic_store(&n->seq, 0);
	if (w == WL_SMALL || w == WL_CREATE) {
		snprintf(n->sfdir, sizeof(n->sfdir), "nsf.%d.%d.%u", (int)getpid(),
			 n->b->round, depth);
		if (mkdirat(n->root, n->sfdir, 0755) < 0 && errno != EEXIST) {
			free(th);
			return -errno;
		}
	}
	if (w == WL_SEQWRITE || w == WL_SEQREAD || w == WL_RANDREAD || w == WL_REREAD) {
		n->bigfd = openat(n->root, "big", (w == WL_SEQWRITE ? O_WRONLY : O_RDONLY) |
				  O_CLOEXEC);
		if (n->bigfd < 0) {
			free(th);
			return -errno;
		}
	}
	cpu0 = self_cpu_us();
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
	/* The syscalls' CPU: this process's, all threads. */
	n->st.cpu_us = self_cpu_us() - cpu0;
	for (i = 0; i < started && w == WL_CREATE; i++) {
		uint64_t k;

		for (k = 0; k < th[i].created; k++) {
			char name[128];

			snprintf(name, sizeof(name), "%s/c%u-%" PRIu64, n->sfdir, i, k);
			unlinkat(n->root, name, 0);
		}
	}
	if (w == WL_SEQWRITE || w == WL_SEQREAD || w == WL_RANDREAD || w == WL_REREAD)
		close(n->bigfd);
	if (w == WL_SMALL || w == WL_CREATE)
		unlinkat(n->root, n->sfdir, AT_REMOVEDIR);
	if (!err)
		result_print(n->b, w, depth, &n->st);
	free(n->st.lat);
	free(th);
	return err;
}

int run_native(struct bench *b)
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
