/* fuzz_fuse_server.c: arbitrary FUSE requests through fuse_server_handle()
 * into the REAL passthrough file system on a scratch directory.
 *
 * Once per process a parent directory is made (under $FUZZ_TMPDIR, else
 * /dev/shm when it is tmpfs, else /tmp) holding outside_file, outside_dir/
 * and shared/; only shared/ is exported. Before every input shared/ is
 * emptied and refilled (files, a directory, a FIFO, symlinks pointing out of
 * it) and a fresh passthrough + server are created and INIT'ed, so every
 * input is reproducible on its own.
 *
 * Input: u8 passthrough config bits (posix_acl's bit also gives an
 * SELinux --xattrmap and, with minor 38, --security-label; writeback's and
 * allow_direct_io's together --readonly); u8 INIT minor choice; then requests,
 * each { u8 control; u16 reply space; u16 length L; (in pieces - 1) u16
 * split points; (out pieces - 1) u16 split points; L request bytes }.
 * control: bits 0-1 in pieces - 1, bits 2-3 out pieces - 1 (3 means 70
 * pieces cut at points drawn from one u16 seed), bit 4 "fix the
 * header" (len = L, total_extlen = 0 unless bit 7), bit 5 run as uid/gid 0,
 * bit 6 reply space & 0xff (tiny replies), bit 7 keep extensions. SETLKW is sent as SETLK (a blocking lock
 * wait in a single-threaded fuzzer is a hang by construction).
 *
 * Every request and reply piece is its own exact-size heap block, so ASan
 * reports any byte read or written past them. Checked after each request:
 * returned length <= reply space; a reply is at least a header, its len
 * equals the returned length, unique matches, error is 0 or a negative
 * errno and comes with no payload; no-reply opcodes return 0; nothing is
 * written past the returned length; the thread's fsuid/fsgid are back to
 * 0. SETUPMAPPING and REMOVEMAPPING reach a DAX window whose fake
 * frontend really mmaps each fd into a reserved range and checks what a
 * VMM would: inside the window, aligned, never over a live mapping, an
 * unmap only of what was mapped, an fd mmap accepts for the rights asked.
 * After each input: no fd leaked, no memory leaked (LSan), and nothing
 * outside shared/ changed (entries of the parent, outside_dir's entries,
 * outside_file's content, mode, owner, size, times, links and xattrs). */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <linux/capability.h>
#include <linux/fuse.h>
#include <linux/magic.h>

#include "fuzz_common.h"
#include "fuse/dax_window.h"
#include "fuse/fuse_server.h"
#include "passthrough/passthrough.h"

#define MAX_PIECES	70	/* more than the handlers' 64-entry stack arrays */
#define FILE_SIZE_LIMIT	(16u << 20)

static char parent[256], shared[300];
/* The passthrough leaves a serving thread's cwd on the shared directory
 * (xattr calls fchdir into /proc/self/fd and back, after unsharing
 * CLONE_FS): libFuzzer's own relative paths need the original one back. */
static int saved_cwd = -1;

struct outside_snapshot {
	char names[512];     /* sorted entry names of parent, then of outside_dir */
	struct stat st[4];   /* parent, outside_file, outside_dir, shared's parent link */
	char content[64];
	ssize_t content_len;
	char xattrs[256];
	ssize_t xattrs_len;
};

static struct outside_snapshot baseline;

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list_names(const char *dir, char *out, size_t out_size)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char *names[64];
	unsigned n = 0, i;

	FUZZ_CHECK(d, "opendir %s: %s", dir, strerror(errno));
	while ((e = readdir(d)) && n < 64)
		names[n++] = strdup(e->d_name);
	closedir(d);
	qsort(names, n, sizeof(names[0]), name_cmp);
	for (i = 0; i < n; i++) {
		size_t len = strlen(out);

		snprintf(out + len, out_size - len, "%s/", names[i]);
		free(names[i]);
	}
	strncat(out, "|", out_size - strlen(out) - 1);
}

static void snapshot(struct outside_snapshot *s)
{
	char path[400];
	int fd;

	memset(s, 0, sizeof(*s));
	list_names(parent, s->names, sizeof(s->names));
	snprintf(path, sizeof(path), "%s/outside_dir", parent);
	list_names(path, s->names, sizeof(s->names));
	FUZZ_CHECK(lstat(parent, &s->st[0]) == 0, "lstat parent");
	snprintf(path, sizeof(path), "%s/outside_file", parent);
	FUZZ_CHECK(lstat(path, &s->st[1]) == 0, "lstat outside_file: %s", strerror(errno));
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	FUZZ_CHECK(fd >= 0, "open outside_file: %s", strerror(errno));
	s->content_len = read(fd, s->content, sizeof(s->content));
	close(fd);
	s->xattrs_len = llistxattr(path, s->xattrs, sizeof(s->xattrs));
	snprintf(path, sizeof(path), "%s/outside_dir", parent);
	FUZZ_CHECK(lstat(path, &s->st[2]) == 0, "lstat outside_dir: %s", strerror(errno));
	FUZZ_CHECK(lstat(shared, &s->st[3]) == 0, "lstat shared: %s", strerror(errno));
}

static bool stat_same(const struct stat *a, const struct stat *b, bool times)
{
	return a->st_ino == b->st_ino && a->st_mode == b->st_mode && a->st_uid == b->st_uid &&
	       a->st_gid == b->st_gid && a->st_nlink == b->st_nlink &&
	       (!times || (a->st_size == b->st_size &&
			   a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
			   a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
			   a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
			   a->st_ctim.tv_nsec == b->st_ctim.tv_nsec));
}

static void check_outside(void)
{
	struct outside_snapshot now;

	snapshot(&now);
	FUZZ_CHECK(strcmp(now.names, baseline.names) == 0,
		   "entries outside the shared dir changed: '%s' -> '%s'", baseline.names,
		   now.names);
	/* the parent's times move when shared/ is refilled; its identity must not */
	FUZZ_CHECK(stat_same(&now.st[0], &baseline.st[0], false), "parent dir changed");
	FUZZ_CHECK(stat_same(&now.st[1], &baseline.st[1], true), "outside_file metadata changed");
	FUZZ_CHECK(stat_same(&now.st[2], &baseline.st[2], true), "outside_dir changed");
	FUZZ_CHECK(now.st[3].st_ino == baseline.st[3].st_ino, "shared dir replaced");
	FUZZ_CHECK(now.content_len == baseline.content_len &&
		   memcmp(now.content, baseline.content, (size_t)now.content_len) == 0,
		   "outside_file content changed");
	FUZZ_CHECK(now.xattrs_len == baseline.xattrs_len &&
		   (now.xattrs_len <= 0 ||
		    memcmp(now.xattrs, baseline.xattrs, (size_t)now.xattrs_len) == 0),
		   "outside_file xattrs changed");
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	if (ftw->level == 0)
		return 0; /* keep shared/ itself */
	if (remove(path) < 0 && errno != ENOENT) {
		/* a directory left without search or write permission */
		chmod(path, 0700);
		remove(path);
	}
	return 0;
}

static void write_file(const char *name, const char *content, size_t len, mode_t mode)
{
	char path[400];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", shared, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	FUZZ_CHECK(fd >= 0, "create %s: %s", path, strerror(errno));
	FUZZ_CHECK(write(fd, content, len) == (ssize_t)len, "write %s", path);
	close(fd);
}

static void refill_shared(void)
{
	char path[400], target[400], big[8192];

	/* the guest may have taken away our own permissions on shared/ */
	chmod(shared, 0755);
	nftw(shared, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	FUZZ_CHECK(chown(shared, 0, 0) == 0 && chmod(shared, 0755) == 0, "reset shared/");
	memset(big, 'x', sizeof(big));
	write_file("file1", "hello world\n", 12, 0644);
	snprintf(path, sizeof(path), "%s/dir1", shared);
	FUZZ_CHECK(mkdir(path, 0755) == 0, "mkdir dir1: %s", strerror(errno));
	write_file("dir1/file2", big, sizeof(big), 0600);
	snprintf(path, sizeof(path), "%s/fifo", shared);
	FUZZ_CHECK(mkfifo(path, 0644) == 0, "mkfifo");
	snprintf(path, sizeof(path), "%s/escape_abs", shared);
	snprintf(target, sizeof(target), "%s/outside_file", parent);
	FUZZ_CHECK(symlink(target, path) == 0, "symlink");
	snprintf(path, sizeof(path), "%s/escape_rel", shared);
	FUZZ_CHECK(symlink("../outside_file", path) == 0, "symlink");
	snprintf(path, sizeof(path), "%s/escape_dir", shared);
	FUZZ_CHECK(symlink("../outside_dir", path) == 0, "symlink");
	snprintf(path, sizeof(path), "%s/dir1/up", shared);
	FUZZ_CHECK(symlink("../..", path) == 0, "symlink");
}

static void cleanup_parent(void)
{
	/* shared/ first, then the rest (nftw removes depth-first) */
	if (parent[0]) {
		chmod(shared, 0755);
		nftw(parent, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
		rmdir(parent);
	}
}

static const char *pick_tmpdir(void)
{
	const char *env = getenv("FUZZ_TMPDIR");
	struct statfs sfs;

	if (env && *env)
		return env;
	if (statfs("/dev/shm", &sfs) == 0 && sfs.f_type == TMPFS_MAGIC &&
	    access("/dev/shm", W_OK) == 0)
		return "/dev/shm";
	return "/tmp";
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The map --security-label is used with: security.selinux as a user.* name */
static struct xattr_map *selinux_map;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct rlimit fsize = { FILE_SIZE_LIMIT, FILE_SIZE_LIMIT };
	char why[128];
	char path[400];
	int fd;

	fuzz_log_setup();
	saved_cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	FUZZ_CHECK(saved_cwd >= 0, "open cwd");
	/* Bound what WRITE / FALLOCATE / SETATTR size / COPY_FILE_RANGE may
	 * allocate: EFBIG instead of filling the disk. */
	signal(SIGXFSZ, SIG_IGN);
	setrlimit(RLIMIT_FSIZE, &fsize);
	umask(022);

	snprintf(parent, sizeof(parent), "%s/vfsd-fuzz-XXXXXX", pick_tmpdir());
	FUZZ_CHECK(mkdtemp(parent), "mkdtemp %s: %s", parent, strerror(errno));
	chmod(parent, 0755);
	atexit(cleanup_parent);
	snprintf(shared, sizeof(shared), "%s/shared", parent);
	FUZZ_CHECK(mkdir(shared, 0755) == 0, "mkdir shared");
	snprintf(path, sizeof(path), "%s/outside_dir", parent);
	FUZZ_CHECK(mkdir(path, 0755) == 0, "mkdir outside_dir");
	snprintf(path, sizeof(path), "%s/outside_file", parent);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	FUZZ_CHECK(fd >= 0 && write(fd, "outside: must not change\n", 25) == 25, "outside_file");
	close(fd);
	refill_shared();
	snapshot(&baseline);
	selinux_map = xattr_map_parse(":map:security.selinux:user.virtiofs.:", why, sizeof(why));
	FUZZ_CHECK(selinux_map, "xattr map: %s", why);
	return 0;
}

/* ---- requests ---- */

struct pieces {
	struct iovec iov[MAX_PIECES];
	unsigned count;
	size_t total;
};

/* Cut len bytes (copied from src, or filled with fill) into count exact
 * heap blocks at the given split points. */
static void pieces_make(struct pieces *p, const uint8_t *src, size_t len, unsigned count,
			const uint16_t *splits, int fill)
{
	size_t cuts[MAX_PIECES + 1], t;
	unsigned i, j;

	cuts[0] = 0;
	for (i = 1; i < count; i++)
		cuts[i] = len ? splits[i - 1] % (len + 1) : 0;
	cuts[count] = len;
	/* sort the inner cuts */
	for (i = 1; i < count; i++)
		for (j = i + 1; j < count; j++)
			if (cuts[j] < cuts[i]) {
				t = cuts[i];
				cuts[i] = cuts[j];
				cuts[j] = t;
			}
	p->count = count;
	p->total = len;
	for (i = 0; i < count; i++) {
		size_t n = cuts[i + 1] - cuts[i];
		/* malloc(0) may return NULL; a 0-length iovec still needs a base */
		uint8_t *b = malloc(n ? n : 1);

		if (!b)
			abort();
		if (src)
			memcpy(b, src + cuts[i], n);
		else
			memset(b, fill, n);
		p->iov[i].iov_base = b;
		p->iov[i].iov_len = n;
	}
}

static void pieces_free(struct pieces *p)
{
	unsigned i;

	for (i = 0; i < p->count; i++)
		free(p->iov[i].iov_base);
}

static void pieces_read(const struct pieces *p, size_t off, void *dst, size_t len)
{
	unsigned i;
	uint8_t *d = dst;

	for (i = 0; i < p->count && len; i++) {
		size_t l = p->iov[i].iov_len;

		if (off >= l) {
			off -= l;
			continue;
		}
		size_t n = l - off < len ? l - off : len;

		memcpy(d, (uint8_t *)p->iov[i].iov_base + off, n);
		d += n;
		len -= n;
		off = 0;
	}
}

static bool no_reply_opcode(uint32_t op)
{
	return op == FUSE_FORGET || op == FUSE_BATCH_FORGET || op == FUSE_INTERRUPT ||
	       op == FUSE_NOTIFY_REPLY;
}

static bool cap_bits(int cap, bool permitted)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data) < 0)
		return false;
	return (permitted ? data[cap / 32].permitted : data[cap / 32].effective) &
	       (1u << (cap % 32));
}

static bool cap_effective_has(int cap)
{
	return cap_bits(cap, false);
}

static bool cap_permitted_has(int cap)
{
	return cap_bits(cap, true);
}

/* After every request the thread is the daemon again: ids, no
 * supplementary group left from a create, and (checked loosely, since a
 * write may leave CAP_FSETID off until the next root caller) the rest of
 * its capabilities. */
static void check_creds(void)
{
	long fsuid = syscall(SYS_setfsuid, -1), fsgid = syscall(SYS_setfsgid, -1);
	uid_t ruid, euid, suid;
	gid_t rgid, egid, sgid;
	int ngroups = getgroups(0, NULL);

	FUZZ_CHECK(fsuid == 0 && fsgid == 0, "thread identity not restored: fsuid %ld fsgid %ld",
		   fsuid, fsgid);
	FUZZ_CHECK(getresuid(&ruid, &euid, &suid) == 0 && getresgid(&rgid, &egid, &sgid) == 0 &&
		   euid == 0 && egid == 0, "effective ids not restored: %u %u", (unsigned)euid,
		   (unsigned)egid);
	FUZZ_CHECK(ngroups == 0, "%d supplementary groups left behind", ngroups);
	FUZZ_CHECK(cap_effective_has(CAP_CHOWN) == cap_permitted_has(CAP_CHOWN),
		   "CAP_CHOWN not back in the effective set");
}

/* Serve one request; returns the reply header (zeroed when none). */
static size_t serve(struct fuse_server *server, const uint8_t *req, size_t len,
		    unsigned in_count, const uint16_t *in_splits, size_t out_len,
		    unsigned out_count, const uint16_t *out_splits, struct fuse_out_header *oh)
{
	struct pieces in, out;
	struct fuse_in_header ih = { 0 };
	bool has_hdr = len >= sizeof(ih);
	size_t ret, i;

	if (has_hdr)
		memcpy(&ih, req, sizeof(ih));
	pieces_make(&in, req, len, in_count, in_splits, 0);
	pieces_make(&out, NULL, out_len, out_count, out_splits, 0xcc);
	(void)fuse_request_may_block(in.iov, in.count);
	ret = fuse_server_handle(server, in.iov, in.count, out.iov, out.count);
	check_creds();

	FUZZ_CHECK(ret <= out_len, "reply of %zu bytes in %zu bytes of space (opcode %u)", ret,
		   out_len, ih.opcode);
	memset(oh, 0, sizeof(*oh));
	if (ret) {
		uint8_t tail[64];

		FUZZ_CHECK(ret >= sizeof(*oh), "reply of %zu bytes: shorter than a header", ret);
		pieces_read(&out, 0, oh, sizeof(*oh));
		FUZZ_CHECK(oh->len == ret, "reply header len %u, returned %zu (opcode %u)", oh->len,
			   ret, ih.opcode);
		FUZZ_CHECK(oh->unique == ih.unique, "reply unique %llu for request %llu",
			   (unsigned long long)oh->unique, (unsigned long long)ih.unique);
		FUZZ_CHECK(oh->error <= 0 && oh->error > -4096, "reply error %d", oh->error);
		FUZZ_CHECK(oh->error == 0 || ret == sizeof(*oh),
			   "error reply %d carries %zu payload bytes (opcode %u)", oh->error,
			   ret - sizeof(*oh), ih.opcode);
		FUZZ_CHECK(!has_hdr || !no_reply_opcode(ih.opcode),
			   "opcode %u takes no reply but got %zu bytes", ih.opcode, ret);
		/* nothing written past the reply */
		for (i = ret; i < out_len; i += sizeof(tail)) {
			size_t n = out_len - i < sizeof(tail) ? out_len - i : sizeof(tail), k;

			pieces_read(&out, i, tail, n);
			for (k = 0; k < n; k++)
				FUZZ_CHECK(tail[k] == 0xcc,
					   "byte %zu of the reply space written past the %zu-byte reply "
					   "(opcode %u)", i + k, ret, ih.opcode);
		}
	}
	pieces_free(&in);
	pieces_free(&out);
	return ret;
}

/* count in 1..4; 4 becomes MAX_PIECES pieces at pseudo-random points. */
static void read_splits(struct fuzz_in *in, unsigned *count, uint16_t *splits)
{
	unsigned i;

	if (*count == 4) {
		uint32_t x = fuzz_u16(in) | 1u;

		*count = MAX_PIECES;
		for (i = 0; i + 1 < *count; i++) {
			x = x * 1103515245u + 12345u;
			/* many small cuts near the start, where headers are */
			splits[i] = (uint16_t)((x >> 16) % ((i & 1) ? 256 : 65536));
		}
		return;
	}
	for (i = 0; i + 1 < *count; i++)
		splits[i] = fuzz_u16(in);
}

/* ---- the fake frontend's DAX window ---- */

#define FAKE_WINDOW (8u << 20)
#define FAKE_PAGES (FAKE_WINDOW / 4096)
#define FAKE_MAX_MAPPINGS 16

static uint8_t *fake_base;
static bool fake_live[FAKE_PAGES];

static uint64_t fake_window_size(void *opaque)
{
	return FAKE_WINDOW;
}

static int fake_map(void *opaque, int fd, uint64_t fd_offset, uint64_t win_offset,
		    uint64_t len, bool writable)
{
	FUZZ_CHECK(len && !(win_offset & 4095) && !(len & 4095) && !(fd_offset & 4095) &&
		   len <= FAKE_WINDOW && win_offset <= FAKE_WINDOW - len,
		   "map [%#llx, +%#llx) of a %u-byte window",
		   (unsigned long long)win_offset, (unsigned long long)len, FAKE_WINDOW);
	for (uint64_t p = win_offset / 4096; p < (win_offset + len) / 4096; p++) {
		FUZZ_CHECK(!fake_live[p], "map over a live mapping at page %llu",
			   (unsigned long long)p);
		fake_live[p] = true;
	}
	void *m = mmap(fake_base + win_offset, len, PROT_READ | (writable ? PROT_WRITE : 0),
		       MAP_SHARED | MAP_FIXED, fd, (off_t)fd_offset);
	FUZZ_CHECK(m != MAP_FAILED, "mmap of the fd the daemon vouched for: %s (writable %d)",
		   strerror(errno), writable);
	return 0;
}

static int fake_unmap(void *opaque, uint64_t win_offset, uint64_t len)
{
	FUZZ_CHECK(len && len <= FAKE_WINDOW && win_offset <= FAKE_WINDOW - len,
		   "unmap outside the window");
	for (uint64_t p = win_offset / 4096; p < (win_offset + len) / 4096; p++) {
		FUZZ_CHECK(fake_live[p], "unmap of page %llu never mapped",
			   (unsigned long long)p);
		fake_live[p] = false;
	}
	void *m = mmap(fake_base + win_offset, len, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
	FUZZ_CHECK(m != MAP_FAILED, "unmap: %s", strerror(errno));
	return 0;
}

static const struct dax_backend fake_backend = {
	fake_window_size, fake_map, fake_unmap, NULL,
};

static const uint32_t init_minors[] = { 38, 36, 31, 28, 23, 22, 12, 5 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size, 0 };
	uint8_t cfg_bits = fuzz_u8(&in), minor_pick = fuzz_u8(&in);
	uint32_t minor = init_minors[minor_pick % 8];
	struct passthrough_config cfg = {
		.shared_dir = shared,
		.cache = (enum cache_mode)(cfg_bits & 3),
		.xattr = cfg_bits & 4,
		.posix_acl = cfg_bits & 8,
		.writeback = cfg_bits & 16,
		.readdirplus = !(cfg_bits & 32),
		.posix_lock = !(cfg_bits & 64),
		.flock = !(cfg_bits & 64),
		.killpriv_v2 = cfg_bits & 128,
		.announce_submounts = cfg_bits & 128,
		.allow_direct_io = cfg_bits & 1,
		.xattrmap = (cfg_bits & 8) ? selinux_map : NULL,
		.security_label = (cfg_bits & 8) && minor >= 38,
		.readonly = (cfg_bits & 17) == 17,
	};
	struct fuse_server_config scfg = { 0 };
	struct fuse_server *server;
	struct passthrough *fs;
	struct fuse_out_header oh;
	int err = 0, fds_before;
	uint64_t unique = 1;
	unsigned requests = 0;

	/* libFuzzer installs its own SIGXFSZ handler after Initialize
	 * (-handle_xfsz): writes past RLIMIT_FSIZE must just fail with EFBIG. */
	signal(SIGXFSZ, SIG_IGN);
	refill_shared();
	fds_before = fuzz_count_fds();
	fs = passthrough_new(&cfg, &err);
	FUZZ_CHECK(fs, "passthrough_new: %d", err);
	if (!fake_base) {
		fake_base = mmap(NULL, FAKE_WINDOW, PROT_NONE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		FUZZ_CHECK(fake_base != MAP_FAILED, "reserving the window");
	}
	struct dax_window *dax = dax_window_new(FAKE_MAX_MAPPINGS);
	FUZZ_CHECK(dax, "dax_window_new");
	dax_window_attach(dax, &fake_backend);
	scfg.fs = fs;
	scfg.ops = passthrough_fs_ops(fs);
	scfg.dax = dax;
	server = fuse_server_new(&scfg);
	FUZZ_CHECK(server, "fuse_server_new");

	{ /* a valid INIT first */
		struct {
			struct fuse_in_header h;
			struct fuse_init_in i;
		} init = { 0 };
		init.h.len = sizeof(init);
		init.h.opcode = FUSE_INIT;
		init.h.unique = unique++;
		init.i.major = FUSE_KERNEL_VERSION;
		init.i.minor = minor;
		init.i.max_readahead = 1u << 20;
		init.i.flags = 0xffffffffu;
		init.i.flags2 = 0xffffffffu;
		serve(server, (const uint8_t *)&init, sizeof(init), 1, NULL, 4096, 1, NULL, &oh);
		FUZZ_CHECK(oh.error == 0 && oh.len > sizeof(oh), "INIT (minor %u) failed: %d", minor,
			   oh.error);
	}

	while (fuzz_left(&in) >= 5 && requests++ < 256) {
		uint8_t control = fuzz_u8(&in);
		size_t out_len = fuzz_u16(&in), len = fuzz_u16(&in);
		unsigned in_count = 1 + (control & 3), out_count = 1 + ((control >> 2) & 3);
		uint16_t in_splits[MAX_PIECES], out_splits[MAX_PIECES];
		const uint8_t *body;
		uint8_t *req;

		read_splits(&in, &in_count, in_splits);
		read_splits(&in, &out_count, out_splits);
		if (control & 0x40)
			out_len &= 0xff;
		len = fuzz_take(&in, &body, len);
		req = malloc(len ? len : 1);
		if (!req)
			abort();
		memcpy(req, body, len);
		if (len >= sizeof(struct fuse_in_header)) {
			struct fuse_in_header *h = (struct fuse_in_header *)req;

			if (h->opcode == FUSE_SETLKW)
				h->opcode = FUSE_SETLK;
			if (control & 0x10) {
				/* bit 7: keep some extension bytes at the end
				 * (FUSE_CREATE_SUPP_GROUP is negotiated) */
				h->len = (uint32_t)len;
				h->total_extlen = (control & 0x80) ?
					(uint16_t)(h->total_extlen % (len / 8 + 1)) : 0;
			}
			if (control & 0x20) {
				h->uid = 0;
				h->gid = 0;
			}
		}
		serve(server, req, len, in_count, in_splits, out_len, out_count, out_splits, &oh);
		free(req);
	}

	fuse_server_free(server);
	dax_window_reset(dax);
	for (unsigned p = 0; p < FAKE_PAGES; p++)
		FUZZ_CHECK(!fake_live[p], "page %u still mapped after the reset", p);
	dax_window_free(dax);
	passthrough_free(fs);
	FUZZ_CHECK(fuzz_count_fds() == fds_before, "fd leak: %d open before, %d after",
		   fds_before, fuzz_count_fds());
	FUZZ_CHECK(fchdir(saved_cwd) == 0, "fchdir back");
	check_outside();
	return 0;
}
