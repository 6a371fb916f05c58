/* test_dax.c: the DAX window end to end, our daemon and the client as
 * frontend, in both flavours (--dax=shmem and --dax=fs-map):
 * - every byte read or written through the window equals the host's,
 *   for a file larger than the window (ranges reclaimed) and for writes
 *   made on either side;
 * - hostile SETUPMAPPING / REMOVEMAPPING (offsets, overlaps, beyond the
 *   window, directories, FIFOs, handles opened the wrong way, past the
 *   cap, never-mapped ranges) each get an error and the daemon serves on,
 *   and the frontend is never asked to map outside its window;
 * - a file truncated or replaced on the host under a live mapping: the
 *   frontend faults (SIGBUS) past the new end, and the daemon reports
 *   the new size and maps nothing past it. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "virtiofs_client.h"

#define MIB (1ull << 20)
/* Four 2 MiB ranges: a 21 MiB file needs most of them reclaimed. */
#define WINDOW (8 * MIB)
#define BIG_SIZE (21 * MIB + 1234)

static char share[300];
static char base_args[512];
static const char *flavour = "shmem";

static struct vfs_client *session(struct daemon *d, const char *extra)
{
	char args[1024];
	int err;

	snprintf(args, sizeof(args), "%s --dax=%s --dax-window=8M %s", base_args, flavour,
		 extra ? extra : "");
	setenv("VFS_TEST_DAEMON_ARGS", args, 1);
	err = daemon_start(d, share);
	setenv("VFS_TEST_DAEMON_ARGS", base_args, 1);
	if (err) {
		CHECK(0, "daemon_start (%s): %s", args, strerror(-err));
		return NULL;
	}
	struct vfs_client_options o = { .timeout_ms = 10000, .dax_window = WINDOW };
	struct vfs_client *c = vfs_client_open(d->sock, &o, &err);
	CHECK(c != NULL, "vfs_client_open (%s): %s", args, strerror(-err));
	if (!c) {
		daemon_stop(d);
		return NULL;
	}
	CHECK(vfs_dax_enabled(c), "INIT with a window grants FUSE_MAP_ALIGNMENT");
	CHECK(vfs_client_init_out(c)->map_alignment == 12, "map_alignment %u",
	      vfs_client_init_out(c)->map_alignment);
	return c;
}

static void session_end(struct daemon *d, struct vfs_client *c)
{
	struct vfs_dax_stats st;

	vfs_dax_stats(c, &st);
	CHECK(st.backend_refused == 0, "the daemon asked to map outside the window %llu times",
	      (unsigned long long)st.backend_refused);
	vfs_client_close(c);
	daemon_stop(d);
}

static uint8_t *pattern(size_t size, unsigned seed)
{
	uint8_t *p = malloc(size);

	if (!p)
		abort();
	srand(seed);
	for (size_t i = 0; i < size; i++)
		p[i] = (uint8_t)rand();
	return p;
}

static void host_write_file(const char *name, const void *data, size_t size)
{
	const char *p = t_host(share, name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	CHECK(fd >= 0 && write(fd, data, size) == (ssize_t)size, "host write %s: %s", p,
	      strerror(errno));
	if (fd >= 0)
		close(fd);
}

static uint8_t *host_read_file(const char *name, size_t size)
{
	uint8_t *buf = malloc(size + 1);
	int fd = open(t_host(share, name), O_RDONLY);

	if (!buf)
		abort();
	CHECK(fd >= 0 && read(fd, buf, size + 1) == (ssize_t)size, "host read %s", name);
	if (fd >= 0)
		close(fd);
	return buf;
}

static uint64_t open_file(struct vfs_client *c, const char *name, uint32_t flags,
			  uint64_t *fh, uint64_t *size)
{
	struct fuse_entry_out e;
	struct fuse_open_out oo = { 0 };
	int err = vfs_lookup(c, FUSE_ROOT_ID, name, &e);

	CHECK(err == 0, "lookup %s: %s", name, strerror(-err));
	err = vfs_open(c, e.nodeid, flags, &oo);
	CHECK(err == 0, "open %s: %s", name, strerror(-err));
	*fh = oo.fh;
	if (size)
		*size = e.attr.size;
	return e.nodeid;
}

/* Whole file in odd-sized pieces, so that reads cross range edges. */
static void read_all_compare(struct vfs_client *c, uint64_t node, uint64_t fh,
			     uint64_t size, const uint8_t *want)
{
	uint8_t *got = malloc(size + 1);
	uint64_t off = 0;

	if (!got)
		abort();
	while (off < size) {
		ssize_t n = vfs_dax_read(c, node, fh, size, off, got + off, MIB + 4097);

		CHECK(n > 0, "dax read at %llu: %zd", (unsigned long long)off, n);
		if (n <= 0)
			break;
		off += (uint64_t)n;
	}
	CHECK(off == size && memcmp(got, want, size) == 0, "window bytes differ from host's");
	CHECK(vfs_dax_read(c, node, fh, size, size, got, 10) == 0, "read at EOF");
	free(got);
}

static void test_big_file_byte_exact(void)
{
	struct daemon d;
	struct vfs_client *c = session(&d, NULL);
	uint8_t *data = pattern(BIG_SIZE, 1);
	struct vfs_dax_stats st;
	uint64_t fh, size;

	if (!c) {
		free(data);
		return;
	}
	host_write_file("big", data, BIG_SIZE);
	uint64_t node = open_file(c, "big", O_RDWR, &fh, &size);

	CHECK(size == BIG_SIZE, "size %llu", (unsigned long long)size);
	read_all_compare(c, node, fh, size, data);
	vfs_dax_stats(&*c, &st);
	CHECK(st.setupmapping >= 11 && st.removemapping >= 7,
	      "a file larger than the window: %llu set up, %llu removed",
	      (unsigned long long)st.setupmapping, (unsigned long long)st.removemapping);
	CHECK(st.backend_maps == st.setupmapping, "%llu maps for %llu SETUPMAPPING",
	      (unsigned long long)st.backend_maps, (unsigned long long)st.setupmapping);

	/* writes through the window, across range edges, then on the host */
	static const struct { uint64_t off; size_t len; } w[] = {
		{ 0, 10 }, { 2 * MIB - 5, 10 }, { 7 * MIB + 3, 3 * MIB }, { BIG_SIZE - 1, 1 },
		{ 20 * MIB, MIB + 1234 },
	};
	for (unsigned i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
		uint8_t *p = pattern(w[i].len, 100 + i);
		ssize_t n = vfs_dax_write(c, node, fh, &size, w[i].off, p, w[i].len);

		CHECK(n == (ssize_t)w[i].len, "dax write %u: %zd", i, n);
		memcpy(data + w[i].off, p, w[i].len);
		free(p);
	}
	uint8_t *host = host_read_file("big", BIG_SIZE);

	CHECK(memcmp(host, data, BIG_SIZE) == 0, "host bytes differ from the window writes");
	free(host);
	int hfd = open(t_host(share, "big"), O_WRONLY);

	CHECK(hfd >= 0 && pwrite(hfd, "host!", 5, 3 * MIB) == 5, "host pwrite");
	memcpy(data + 3 * MIB, "host!", 5);
	if (hfd >= 0)
		close(hfd);
	read_all_compare(c, node, fh, size, data);

	/* an extending write goes through the queue and grows the file */
	uint8_t tail[5000];

	memset(tail, 0x5a, sizeof(tail));
	CHECK(vfs_dax_write(c, node, fh, &size, size, tail, sizeof(tail)) == sizeof(tail),
	      "extending write");
	struct stat hs;

	CHECK(stat(t_host(share, "big"), &hs) == 0 && (uint64_t)hs.st_size == size &&
	      size == BIG_SIZE + sizeof(tail), "host size %lld", (long long)hs.st_size);
	CHECK_OK(vfs_dax_drop(c, 0));
	CHECK_OK(vfs_release(c, node, fh, O_RDWR));
	vfs_put(c, node);
	free(data);
	session_end(&d, c);
}

static int setup_one(struct vfs_client *c, uint64_t node, uint64_t fh, uint64_t foff,
		     uint64_t len, uint64_t flags, uint64_t moff)
{
	return vfs_setupmapping(c, node, fh, foff, len, flags, moff);
}

#define RD FUSE_SETUPMAPPING_FLAG_READ
#define WR (FUSE_SETUPMAPPING_FLAG_READ | FUSE_SETUPMAPPING_FLAG_WRITE)

static void test_hostile(void)
{
	struct daemon d;
	struct vfs_client *c = session(&d, "--dax-max-mappings=6");
	uint8_t *data = pattern(4 * MIB, 2);
	uint64_t fh, fh_ro, fh_wo, fh_none, size;
	struct fuse_entry_out e;
	struct fuse_open_out oo;

	if (!c) {
		free(data);
		return;
	}
	host_write_file("h", data, 4 * MIB);
	uint64_t node = open_file(c, "h", O_RDWR, &fh, &size);

	open_file(c, "h", O_RDONLY, &fh_ro, NULL);
	open_file(c, "h", O_WRONLY, &fh_wo, NULL);
	/* Linux's access mode 3 (O_ACCMODE): neither read nor write */
	open_file(c, "h", O_ACCMODE, &fh_none, NULL);
	/* offsets: beyond the window, straddling its end, unaligned in the
	 * window or the file, empty, wrapping, past the end of the file */
	CHECK(setup_one(c, node, fh, 0, 2 * MIB, RD, WINDOW) == -EINVAL, "beyond the window");
	CHECK(setup_one(c, node, fh, 0, 2 * MIB, RD, WINDOW - MIB) == -EINVAL, "straddles");
	CHECK(setup_one(c, node, fh, 0, 16 * MIB, RD, 0) == -EINVAL, "more than the window");
	CHECK(setup_one(c, node, fh, 0, 4096, RD, 100) == -EINVAL, "unaligned window offset");
	CHECK(setup_one(c, node, fh, 0, 100, RD, 0) == -EINVAL, "unaligned length");
	CHECK(setup_one(c, node, fh, 100, 4096, RD, 0) == -EINVAL, "unaligned file offset");
	CHECK(setup_one(c, node, fh, 0, 0, RD, 0) == -EINVAL, "empty");
	CHECK(setup_one(c, node, fh, UINT64_MAX & ~4095ull, 8192, RD, 0) == -EINVAL, "wraps");
	CHECK(setup_one(c, node, fh, 4 * MIB, 4096, RD, 0) == -EINVAL, "past EOF");
	CHECK(setup_one(c, node, fh, 0, 4096, 1u << 9, 0) == -EINVAL, "unknown flags");
	/* handles: unknown, read-only mapped writable, write-only */
	CHECK(setup_one(c, node, 99999, 0, 4096, RD, 0) == -EBADF, "unknown fh");
	CHECK(setup_one(c, node, fh_ro, 0, 4096, WR, 0) == -EACCES, "read-only mapped writable");
	CHECK(setup_one(c, node, fh_wo, 0, 4096, RD, 0) == -EACCES, "write-only mapped");
	CHECK(setup_one(c, node, fh_none, 0, 4096, RD, 0) == -EACCES, "access mode 3 mapped");
	CHECK(setup_one(c, node, fh_ro, 0, 4096, RD, 0) == 0, "read-only mapped for reading");
	/* a directory's handle, and a FIFO (which does not even open) */
	CHECK(mkdir(t_host(share, "hd"), 0755) == 0 || errno == EEXIST, "mkdir");
	CHECK_OK(vfs_lookup(c, FUSE_ROOT_ID, "hd", &e));
	CHECK_OK(vfs_opendir(c, e.nodeid, O_RDONLY, &oo));
	CHECK(setup_one(c, e.nodeid, oo.fh, 0, 4096, RD, 8192) == -EBADF, "a directory");
	CHECK_OK(vfs_releasedir(c, e.nodeid, oo.fh, 0));
	vfs_put(c, e.nodeid);
	unlink(t_host(share, "hf"));
	CHECK(mkfifo(t_host(share, "hf"), 0644) == 0, "mkfifo");
	CHECK_OK(vfs_lookup(c, FUSE_ROOT_ID, "hf", &e));
	CHECK(vfs_open(c, e.nodeid, O_RDWR | O_NONBLOCK, &oo) < 0, "a FIFO opens");
	CHECK(setup_one(c, e.nodeid, fh + 1000, 0, 4096, RD, 8192) == -EBADF, "a FIFO");
	vfs_put(c, e.nodeid);
	/* overlaps: part of [0, 4K) mapped above; the same range replaces */
	CHECK(setup_one(c, node, fh, 0, 8192, RD, 0) == -EINVAL, "overlap from the start");
	CHECK(setup_one(c, node, fh, 0, 2 * MIB, WR, 2 * MIB) == 0, "a range");
	CHECK(setup_one(c, node, fh, 0, 4096, RD, 3 * MIB) == -EINVAL, "inside a range");
	CHECK(setup_one(c, node, fh, 0, 4 * MIB, RD, MIB) == -EINVAL, "around a range");
	CHECK(setup_one(c, node, fh, 2 * MIB, 2 * MIB, WR, 2 * MIB) == 0, "the same range");
	/* the cap (6): two live, four more fit, the seventh does not */
	for (uint64_t i = 0; i < 4; i++)
		CHECK(setup_one(c, node, fh, 0, 4096, RD, 4 * MIB + i * 4096) == 0, "map %llu",
		      (unsigned long long)i);
	CHECK(setup_one(c, node, fh, 0, 4096, RD, 6 * MIB) == -ENOSPC, "over the cap");
	/* REMOVEMAPPING: never mapped, part of one, a count that lies */
	struct fuse_removemapping_one one = { .moffset = 6 * MIB, .len = 4096 };

	CHECK(vfs_removemapping(c, node, &one, 1) == -EINVAL, "never mapped");
	one = (struct fuse_removemapping_one){ .moffset = 2 * MIB, .len = 4096 };
	CHECK(vfs_removemapping(c, node, &one, 1) == -EINVAL, "part of a range");
	CHECK(vfs_removemapping(c, node, &one, 0) == -EINVAL, "count 0");
	one = (struct fuse_removemapping_one){ .moffset = 2 * MIB, .len = 2 * MIB };
	CHECK(vfs_removemapping(c, node, &one, 1) == 0, "remove the range");
	CHECK(vfs_removemapping(c, node, &one, 1) == -EINVAL, "twice");
	/* after all that: the daemon serves, the window still reads true */
	char buf[16];

	CHECK(vfs_read(c, node, fh, 0, buf, sizeof(buf)) == sizeof(buf) &&
	      memcmp(buf, data, sizeof(buf)) == 0, "a READ after the hostile requests");
	CHECK_OK(vfs_release(c, node, fh_ro, O_RDONLY));
	CHECK_OK(vfs_release(c, node, fh_wo, O_WRONLY));
	CHECK_OK(vfs_release(c, node, fh_none, O_ACCMODE));
	CHECK_OK(vfs_release(c, node, fh, O_RDWR));
	vfs_put(c, node);
	free(data);
	session_end(&d, c);
}

static void on_sigbus(int sig)
{
	_exit(100 + sig);
}

/* Touch one byte of the window in a child: how did it end? */
static int touch_in_child(volatile const uint8_t *addr)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		struct sigaction sa = { .sa_handler = on_sigbus };

		sigaction(SIGBUS, &sa, NULL);
		(void)addr[0];
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	if (WIFSIGNALED(status))
		return 100 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

static void test_host_truncate_and_replace(void)
{
	struct daemon d;
	struct vfs_client *c = session(&d, NULL);
	uint8_t *data = pattern(4 * MIB, 3);
	uint8_t buf[8192];
	struct fuse_attr_out ao;
	uint64_t fh, size;

	if (!c) {
		free(data);
		return;
	}
	host_write_file("t", data, 4 * MIB);
	uint64_t node = open_file(c, "t", O_RDONLY, &fh, &size);

	CHECK(vfs_dax_read(c, node, fh, size, 0, buf, sizeof(buf)) == sizeof(buf), "map");
	CHECK(vfs_dax_read(c, node, fh, size, 3 * MIB, buf, 1) == 1, "map the second range");
	volatile const uint8_t *tail = vfs_dax_address(c, node, 3 * MIB);

	CHECK(tail != NULL, "mapped");
	/* truncated on the host under the mapping */
	CHECK(truncate(t_host(share, "t"), 4096) == 0, "truncate");
	if (tail)
		CHECK(touch_in_child(tail) == 100 + SIGBUS, "a load past the new end faults");
	/* the daemon tells the truth: the new size, no mapping past it */
	CHECK_OK(vfs_getattr(c, node, fh, &ao));
	CHECK(ao.attr.size == 4096, "size %llu after truncation",
	      (unsigned long long)ao.attr.size);
	CHECK(vfs_setupmapping(c, node, fh, 2 * MIB, 2 * MIB, RD, 6 * MIB) == -EINVAL,
	      "SETUPMAPPING past the new end");
	CHECK(vfs_dax_read(c, node, fh, ao.attr.size, 0, buf, sizeof(buf)) == 4096 &&
	      memcmp(buf, data, 4096) == 0, "what is left reads true");
	CHECK_OK(vfs_dax_drop(c, node));
	CHECK_OK(vfs_release(c, node, fh, O_RDONLY));

	/* replaced on the host (rename over it): an open mapping keeps the
	 * old file's pages; a new lookup finds the new file */
	host_write_file("t", data, 4 * MIB);
	node = open_file(c, "t", O_RDONLY, &fh, &size);
	CHECK(vfs_dax_read(c, node, fh, size, 0, buf, 16) == 16, "map the old file");
	uint8_t *other = pattern(MIB, 4);

	host_write_file("t.new", other, MIB);
	CHECK(rename(t_host(share, "t.new"), t_host(share, "t")) == 0, "rename");
	CHECK(vfs_dax_read(c, node, fh, size, 0, buf, 16) == 16 && memcmp(buf, data, 16) == 0,
	      "the old mapping still shows the old file");
	struct fuse_entry_out e;

	CHECK_OK(vfs_lookup(c, FUSE_ROOT_ID, "t", &e));
	CHECK(e.nodeid != node && e.attr.size == MIB, "the new file has its own inode");
	struct fuse_open_out oo;

	CHECK_OK(vfs_open(c, e.nodeid, O_RDONLY, &oo));
	CHECK(vfs_dax_read(c, e.nodeid, oo.fh, e.attr.size, 0, buf, 16) == 16 &&
	      memcmp(buf, other, 16) == 0, "the new file reads new");
	CHECK_OK(vfs_release(c, e.nodeid, oo.fh, O_RDONLY));
	vfs_put(c, e.nodeid);
	CHECK_OK(vfs_release(c, node, fh, O_RDONLY));
	vfs_put(c, node);
	vfs_put(c, node);
	free(other);
	free(data);
	session_end(&d, c);
}

/* Many SETUPMAPPING and REMOVEMAPPING at once on two request queues
 * (each served by its own threads): the window's table and the backend
 * channel stay in step, so the frontend ends with nothing mapped and
 * never saw a request outside the window or over a live mapping. */
static size_t build_setup(struct vfs_client *c, void *buf, uint64_t node, uint64_t fh,
			  uint64_t moff)
{
	struct fuse_setupmapping_in in = {
		.fh = fh, .foffset = 0, .len = 4096, .flags = RD, .moffset = moff,
	};
	size_t len = vfs_msg_init(c, buf, FUSE_SETUPMAPPING, node, sizeof(in));

	memcpy((char *)buf + sizeof(struct fuse_in_header), &in, sizeof(in));
	return len;
}

static size_t build_remove(struct vfs_client *c, void *buf, uint64_t node, uint64_t moff)
{
	struct {
		struct fuse_removemapping_in in;
		struct fuse_removemapping_one one;
	} __attribute__((packed)) body = { { .count = 1 }, { .moffset = moff, .len = 4096 } };
	size_t len = vfs_msg_init(c, buf, FUSE_REMOVEMAPPING, node, sizeof(body));

	memcpy((char *)buf + sizeof(struct fuse_in_header), &body, sizeof(body));
	return len;
}

/* Submit n requests built by the caller, reap them all; how many got 0. */
static int run_batch(struct vfs_client *c, uint8_t (*reqs)[128], const size_t *lens, int n)
{
	struct vfs_async *done[64];
	int ok = 0, got = 0, err;

	for (int i = 0; i < n; i++) {
		struct vfs_async *a = vfs_async_submit(c, 1 + (i & 1), reqs[i], lens[i],
						       sizeof(struct fuse_out_header), NULL, &err);

		CHECK(a != NULL, "submit: %s", strerror(-err));
		if (!a)
			return -1;
	}
	while (got < n) {
		int r = vfs_async_reap(c, done, 64, 10000);

		CHECK(r > 0, "reap: %d", r);
		if (r <= 0)
			return -1;
		for (int i = 0; i < r; i++) {
			size_t used;
			const struct fuse_out_header *oh = vfs_async_reply(done[i], &used);

			ok += used >= sizeof(*oh) && oh->error == 0;
			vfs_async_free(c, done[i]);
		}
		got += r;
	}
	return ok;
}

static void test_concurrent(void)
{
	struct daemon d;
	char args[1024];
	int err;

	snprintf(args, sizeof(args), "%s --dax=%s --dax-window=8M", base_args, flavour);
	setenv("VFS_TEST_DAEMON_ARGS", args, 1);
	err = daemon_start(&d, share);
	setenv("VFS_TEST_DAEMON_ARGS", base_args, 1);
	if (err) {
		CHECK(0, "daemon_start: %s", strerror(-err));
		return;
	}
	struct vfs_client_options o = { .timeout_ms = 10000, .dax_window = WINDOW,
					.request_queues = 2 };
	struct vfs_client *c = vfs_client_open(d.sock, &o, &err);

	CHECK(c != NULL, "open: %s", strerror(-err));
	if (!c) {
		daemon_stop(&d);
		return;
	}
	uint8_t *data = pattern(MIB, 5);
	uint8_t (*reqs)[128] = calloc(64, 128);
	size_t lens[64];
	uint64_t fh;

	host_write_file("conc", data, MIB);
	uint64_t node = open_file(c, "conc", O_RDONLY, &fh, NULL);

	for (int round = 0; round < 20; round++) {
		/* 48 distinct ranges, and one range asked for 16 times */
		for (int i = 0; i < 64; i++)
			lens[i] = build_setup(c, reqs[i], node, fh,
					      (uint64_t)(i < 48 ? i : 100) * 4096);
		CHECK(run_batch(c, reqs, lens, 64) == 64, "round %d: every SETUPMAPPING", round);
		/* each once, and the repeated one twice: one of those fails */
		for (int i = 0; i < 50; i++)
			lens[i] = build_remove(c, reqs[i], node, (uint64_t)(i < 48 ? i : 100) * 4096);
		CHECK(run_batch(c, reqs, lens, 50) == 49, "round %d: REMOVEMAPPING", round);
	}
	struct vfs_dax_stats st;

	vfs_dax_stats(c, &st);
	CHECK(st.backend_maps == st.backend_unmaps, "%llu maps, %llu unmaps: all gone",
	      (unsigned long long)st.backend_maps, (unsigned long long)st.backend_unmaps);
	CHECK_OK(vfs_release(c, node, fh, O_RDONLY));
	vfs_put(c, node);
	free(reqs);
	free(data);
	session_end(&d, c);
}

/* Without --dax, or a frontend without a window: no alignment, ENOSYS. */
static void test_no_window(void)
{
	struct daemon d;
	struct vfs_client_options o = { .timeout_ms = 10000 };
	int err;

	setenv("VFS_TEST_DAEMON_ARGS", base_args, 1);
	if (daemon_start(&d, share)) {
		CHECK(0, "daemon_start");
		return;
	}
	struct vfs_client *c = vfs_client_open(d.sock, &o, &err);

	CHECK(c != NULL, "open: %s", strerror(-err));
	if (c) {
		CHECK(!(vfs_client_init_out(c)->flags & FUSE_MAP_ALIGNMENT), "no alignment");
		CHECK(vfs_setupmapping(c, FUSE_ROOT_ID, 0, 0, 4096, RD, 0) == -ENOSYS, "ENOSYS");
		vfs_client_close(c);
	}
	daemon_stop(&d);
	/* --dax, but this frontend has no window */
	char args[700];

	snprintf(args, sizeof(args), "%s --dax=%s", base_args, flavour);
	setenv("VFS_TEST_DAEMON_ARGS", args, 1);
	err = daemon_start(&d, share);
	setenv("VFS_TEST_DAEMON_ARGS", base_args, 1);
	if (err) {
		CHECK(0, "daemon_start");
		return;
	}
	c = vfs_client_open(d.sock, &o, &err);
	if (c) {
		CHECK(!(vfs_client_init_out(c)->flags & FUSE_MAP_ALIGNMENT), "no alignment");
		CHECK(vfs_setupmapping(c, FUSE_ROOT_ID, 0, 0, 4096, RD, 0) == -ENOSYS, "ENOSYS");
		vfs_client_close(c);
	}
	daemon_stop(&d);
}

int main(int argc, char **argv)
{
	const char *b = getenv("VFS_TEST_DAEMON_ARGS");
	const char *which = getenv("VFS_TEST_DAEMON");

	if (!which || strcmp(which, "ours") != 0) {
		printf("these tests are for our daemon only (VFS_TEST_DAEMON=ours)\n");
		return 77;
	}
	if (argc > 1)
		flavour = argv[1];	/* shmem or fs-map */
	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(base_args, sizeof(base_args), "%s", b ? b : "");
	snprintf(share, sizeof(share), "%s/share", t_tmpdir());
	mkdir(share, 0777);
	t_run("big_file_byte_exact", test_big_file_byte_exact);
	t_run("hostile", test_hostile);
	t_run("host_truncate_and_replace", test_host_truncate_and_replace);
	t_run("concurrent", test_concurrent);
	t_run("no_window", test_no_window);
	return t_finish();
}
