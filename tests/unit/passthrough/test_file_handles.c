/* --inode-file-handles: inodes held by file handle, the fd cache, the
 * fallback to O_PATH fds (prefer) and its refusal (mandatory), files
 * deleted under a handle (ESTALE), and the limits. name_to_handle_at and
 * open_by_handle_at are interposed below so that a test can make them
 * fail like a file system without handles, or a daemon without
 * CAP_DAC_READ_SEARCH. Runs as root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "passthrough/passthrough_internal.h"

/* ---- interposed handle calls ---- */

static int n2h_errno;	/* name_to_handle_at fails with this when set */
static unsigned long n2h_calls;
static int obh_errno;	/* open_by_handle_at likewise */
static unsigned long obh_calls;

int name_to_handle_at(int dirfd, const char *path, struct file_handle *handle, int *mnt_id,
		      int flags)
{
	__atomic_add_fetch(&n2h_calls, 1, __ATOMIC_RELAXED);
	if (__atomic_load_n(&n2h_errno, __ATOMIC_RELAXED)) {
		errno = n2h_errno;
		return -1;
	}
	return (int)syscall(SYS_name_to_handle_at, dirfd, path, handle, mnt_id, flags);
}

int open_by_handle_at(int mount_fd, struct file_handle *handle, int flags)
{
	__atomic_add_fetch(&obh_calls, 1, __ATOMIC_RELAXED);
	if (__atomic_load_n(&obh_errno, __ATOMIC_RELAXED)) {
		errno = obh_errno;
		return -1;
	}
	return (int)syscall(SYS_open_by_handle_at, mount_fd, handle, flags);
}

/* ---- the FUSE server's dirent encoder, which the library calls ---- */

int fs_dir_filler_add(struct fs_dir_filler *filler, const char *name, size_t name_len,
		      uint64_t ino, uint32_t type, uint64_t next_offset,
		      const struct fuse_entry_out *entry)
{
	(void)filler, (void)name, (void)name_len, (void)ino, (void)type, (void)next_offset;
	(void)entry;
	return 0;
}

size_t fs_dir_filler_space(const struct fs_dir_filler *filler)
{
	(void)filler;
	return 4096;
}

/* ---- fixture ---- */

static const struct fs_ops *ops = &passthrough_ops;
static const struct fs_ctx root_ctx = { .uid = 0, .gid = 0, .pid = 1, .unique = 1 };

#define NFILES 64

struct fixture {
	char root[PATH_MAX];
	struct passthrough *fs;
};

static char path_buf[PATH_MAX + 64];

static const char *host(struct fixture *f, const char *name)
{
	snprintf(path_buf, sizeof(path_buf), "%s/%s", f->root, name);
	return path_buf;
}

static void host_file(struct fixture *f, const char *name)
{
	int fd = open(host(f, name), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);

	assert_true(fd >= 0);
	close(fd);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

struct start_args {
	enum inode_file_handles mode;
	uint64_t cache;
	uint64_t inode_limit;
	uint64_t handle_limit;
};

static struct passthrough *start_err(struct fixture *f, const struct start_args *a, int *err)
{
	struct passthrough_config cfg = {
		.shared_dir = f->root,
		.cache = CACHE_AUTO,
		.xattr = true,
		.readdirplus = true,
		.file_handles = a->mode,
		.fd_cache_limit = a->cache,
		.inode_limit = a->inode_limit,
		.handle_limit = a->handle_limit,
	};
	struct fs_init init = { .proto_minor = 38, .kernel_flags = ~0ULL };
	struct passthrough *fs = passthrough_new(&cfg, err);

	if (fs)
		assert_int_equal(ops->init(fs, &init), 0);
	return fs;
}

static struct passthrough *start(struct fixture *f, enum inode_file_handles mode, uint64_t cache)
{
	struct start_args a = { .mode = mode, .cache = cache };
	int err = 0;
	struct passthrough *fs = start_err(f, &a, &err);

	assert_non_null(fs);
	return fs;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char name[32];
	int i;

	assert_non_null(f);
	snprintf(f->root, sizeof(f->root), "%s/pt-fh-XXXXXX", base);
	assert_non_null(mkdtemp(f->root));
	for (i = 0; i < NFILES; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		host_file(f, name);
	}
	n2h_errno = obh_errno = 0;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	passthrough_free(f->fs);
	n2h_errno = obh_errno = 0;
	nftw(f->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static int count_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static int lookup(struct passthrough *fs, uint64_t parent, const char *name, uint64_t *nodeid)
{
	struct fuse_entry_out e;
	int ret = ops->lookup(fs, &root_ctx, parent, name, &e);

	if (ret == 0 && nodeid)
		*nodeid = e.nodeid;
	return ret;
}

static uint64_t lookup_ok(struct passthrough *fs, uint64_t parent, const char *name)
{
	uint64_t id = 0;

	assert_int_equal(lookup(fs, parent, name, &id), 0);
	return id;
}

static uint64_t lookup_file(struct passthrough *fs, int i)
{
	char name[32];

	snprintf(name, sizeof(name), "f%d", i);
	return lookup_ok(fs, FUSE_ROOT_ID, name);
}

static int getattr(struct passthrough *fs, uint64_t nodeid)
{
	struct fuse_attr_out a;

	return ops->getattr(fs, &root_ctx, nodeid, false, 0, &a);
}

/* Whether nodeid is held by handle. */
static bool by_handle(struct passthrough *fs, uint64_t nodeid)
{
	struct pt_inode *inode = inode_table_get(&fs->inodes, nodeid);
	bool ret;

	assert_non_null(inode);
	ret = inode->mount != NULL;
	inode_table_put(&fs->inodes, inode);
	return ret;
}

/* ---- holding inodes ---- */

/* Every file held by handle; fds bounded by the cache, not the inodes;
 * each file answers GETATTR with its own attributes. */
static void test_mandatory_holds_handles_not_fds(void **state)
{
	struct fixture *f = *state;
	uint64_t ids[NFILES], hits, misses;
	size_t cached;
	int i, fds;

	f->fs = start(f, INODE_FILE_HANDLES_MANDATORY, 4);
	fds = count_open_fds();
	for (i = 0; i < NFILES; i++) {
		ids[i] = lookup_file(f->fs, i);
		assert_true(by_handle(f->fs, ids[i]));
	}
	assert_int_equal(inode_table_count(&f->fs->inodes), NFILES + 1);
	/* the root's own fd and at most 4 cached ones */
	assert_true(count_open_fds() <= fds + 4);
	assert_int_equal(inode_table_fds(&f->fs->inodes), 1 + 4);
	for (i = 0; i < NFILES; i++) {
		struct fuse_attr_out a;
		struct stat st;
		char name[32];

		snprintf(name, sizeof(name), "f%d", i);
		assert_int_equal(stat(host(f, name), &st), 0);
		assert_int_equal(ops->getattr(f->fs, &root_ctx, ids[i], false, 0, &a), 0);
		assert_int_equal(a.attr.ino, st.st_ino);
	}
	assert_true(count_open_fds() <= fds + 4);
	inode_table_cache_stats(&f->fs->inodes, &hits, &misses, &cached);
	assert_int_equal(cached, 4);
	/* the last 4 lookups' fds were cached; the rest were reopened */
	assert_true(misses >= NFILES - 4);
	/* a hot inode hits */
	assert_int_equal(getattr(f->fs, ids[0]), 0);
	assert_int_equal(getattr(f->fs, ids[0]), 0);
	inode_table_cache_stats(&f->fs->inodes, &hits, &misses, &cached);
	assert_true(hits >= 1);
	/* forgetting closes the cached fds with the inodes */
	for (i = 0; i < NFILES; i++)
		ops->forget(f->fs, ids[i], 1);
	assert_int_equal(inode_table_count(&f->fs->inodes), 1);
	assert_int_equal(inode_table_fds(&f->fs->inodes), 1);
	assert_int_equal(count_open_fds(), fds);
}

/* The same file looked up twice is one inode; its handle is its identity. */
static void test_same_file_same_inode(void **state)
{
	struct fixture *f = *state;
	uint64_t a, b, c;

	f->fs = start(f, INODE_FILE_HANDLES_MANDATORY, 1);
	a = lookup_file(f->fs, 0);
	lookup_file(f->fs, 1);	/* evicts f0's fd */
	b = lookup_file(f->fs, 0);
	assert_int_equal(a, b);
	/* a hot inode (its fd cached) is found by its key, no handle made */
	{
		unsigned long before = n2h_calls;

		assert_int_equal(lookup_file(f->fs, 0), a);
		assert_int_equal(n2h_calls, before);
		lookup_file(f->fs, 1);	/* evicts: the next one needs the handle */
		assert_int_equal(lookup_file(f->fs, 0), a);
		assert_int_equal(n2h_calls, before + 2);
	}
	/* a hard link is the same inode too */
	{
		char from[PATH_MAX + 64];

		snprintf(from, sizeof(from), "%s", host(f, "f0"));
		assert_int_equal(link(from, host(f, "hard")), 0);
	}
	c = lookup_ok(f->fs, FUSE_ROOT_ID, "hard");
	assert_int_equal(a, c);
}

/* An fd a request is using is never closed by another request's
 * eviction, and an fd that did not fit the cache is the request's own. */
static void test_fd_in_use_survives_eviction(void **state)
{
	struct fixture *f = *state;
	struct pt_inode *inode;
	int fd, fd2, i;
	struct stat st;

	f->fs = start(f, INODE_FILE_HANDLES_MANDATORY, 2);
	inode = inode_table_get(&f->fs->inodes, lookup_file(f->fs, 0));
	assert_non_null(inode);
	fd = pt_inode_fd(f->fs, inode);
	assert_true(fd >= 0);
	for (i = 1; i < NFILES; i++)
		assert_int_equal(getattr(f->fs, lookup_file(f->fs, i)), 0);
	/* still open, still f0 */
	assert_int_equal(fstatat(fd, "", &st, AT_EMPTY_PATH), 0);
	{
		struct stat want;

		assert_int_equal(stat(host(f, "f0"), &want), 0);
		assert_int_equal(st.st_ino, want.st_ino);
	}
	/* a second user shares it */
	fd2 = pt_inode_fd(f->fs, inode);
	assert_int_equal(fd2, fd);
	pt_inode_fd_put(f->fs, inode, fd2);
	pt_inode_fd_put(f->fs, inode, fd);
	pt_inode_put(f->fs, inode);
}

/* ---- deleted files ---- */

static void test_deleted_file_estale(void **state)
{
	struct fixture *f = *state;
	uint64_t a, d, x;
	struct fuse_entry_out e;
	struct fuse_open_out o;

	f->fs = start(f, INODE_FILE_HANDLES_MANDATORY, 1);
	a = lookup_file(f->fs, 0);
	assert_int_equal(mkdir(host(f, "d"), 0755), 0);
	d = lookup_ok(f->fs, FUSE_ROOT_ID, "d");
	lookup_file(f->fs, 1);	/* the cache (1 fd) now holds f1's */
	assert_int_equal(unlink(host(f, "f0")), 0);
	assert_int_equal(rmdir(host(f, "d")), 0);
	/* the file is gone: the guest re-walks its path on ESTALE */
	assert_int_equal(getattr(f->fs, a), -ESTALE);
	assert_int_equal(ops->open(f->fs, &root_ctx, a, O_RDONLY, 0, &o), -ESTALE);
	/* a name in a removed directory: ENOENT, as on a local fs */
	assert_int_equal(lookup(f->fs, d, "x", &x), -ENOENT);
	assert_int_equal(ops->mkdir(f->fs, &root_ctx, d, "y", 0755, 0, &e), -ENOENT);
	assert_int_equal(ops->unlink(f->fs, &root_ctx, d, "x"), -ENOENT);
	/* the rest serves */
	assert_int_equal(getattr(f->fs, lookup_file(f->fs, 2)), 0);
	ops->forget(f->fs, a, 1);
	ops->forget(f->fs, d, 1);
}

/* A file the guest holds open stays reachable after a host unlink: the
 * open file pins the inode, so its handle still opens. */
static void test_unlinked_open_file_still_served(void **state)
{
	struct fixture *f = *state;
	struct fuse_open_out o;
	uint64_t a;

	f->fs = start(f, INODE_FILE_HANDLES_MANDATORY, 1);
	a = lookup_file(f->fs, 0);
	assert_int_equal(ops->open(f->fs, &root_ctx, a, O_RDWR, 0, &o), 0);
	lookup_file(f->fs, 1);	/* evicts f0's fd */
	assert_int_equal(unlink(host(f, "f0")), 0);
	assert_int_equal(getattr(f->fs, a), 0);
	assert_int_equal(ops->release(f->fs, &root_ctx, a, o.fh, O_RDWR, 0, 0), 0);
}

/* ---- where there is no handle ---- */

static void test_prefer_falls_back_per_lookup(void **state)
{
	struct fixture *f = *state;
	uint64_t a, b;
	int fds;

	f->fs = start(f, INODE_FILE_HANDLES_PREFER, 1);
	fds = count_open_fds();
	a = lookup_file(f->fs, 0);
	assert_true(by_handle(f->fs, a));
	/* a file system without handles, as far as the passthrough sees */
	n2h_errno = EOPNOTSUPP;
	b = lookup_file(f->fs, 1);
	assert_false(by_handle(f->fs, b));
	assert_int_equal(getattr(f->fs, b), 0);
	/* and creating there holds an fd too */
	{
		struct fuse_entry_out e;

		assert_int_equal(ops->mkdir(f->fs, &root_ctx, FUSE_ROOT_ID, "nd", 0755, 0, &e), 0);
		assert_false(by_handle(f->fs, e.nodeid));
		ops->forget(f->fs, e.nodeid, 1);
	}
	n2h_errno = 0;
	/* f1's own fd plus f0's cached one (its lookup put it in the cache) */
	assert_int_equal(count_open_fds(), fds + 2);
	ops->forget(f->fs, b, 1);
	assert_int_equal(count_open_fds(), fds + 1);
	ops->forget(f->fs, a, 1);
}

static void test_mandatory_refuses_lookup_without_handle(void **state)
{
	struct fixture *f = *state;
	uint64_t id;
	struct fuse_entry_out e;
	int fds;

	f->fs = start(f, INODE_FILE_HANDLES_MANDATORY, 1);
	fds = count_open_fds();
	n2h_errno = EOPNOTSUPP;
	assert_int_equal(lookup(f->fs, FUSE_ROOT_ID, "f0", &id), -EOPNOTSUPP);
	assert_int_equal(inode_table_count(&f->fs->inodes), 1);
	/* the handle too large for MAX_HANDLE_SZ: the same */
	n2h_errno = EOVERFLOW;
	assert_int_equal(lookup(f->fs, FUSE_ROOT_ID, "f0", &id), -EOPNOTSUPP);
	n2h_errno = 0;
	/* no fd left behind */
	assert_int_equal(count_open_fds(), fds);
	assert_int_equal(ops->lookup(f->fs, &root_ctx, FUSE_ROOT_ID, "f0", &e), 0);
	ops->forget(f->fs, e.nodeid, 1);
}

/* At start: MANDATORY on a directory without handles, or without the
 * right to open them, does not start; PREFER starts on fds. */
static void test_start_without_handles(void **state)
{
	struct fixture *f = *state;
	struct start_args mandatory = { .mode = INODE_FILE_HANDLES_MANDATORY };
	struct start_args prefer = { .mode = INODE_FILE_HANDLES_PREFER };
	int err = 0, fds = count_open_fds();
	uint64_t id;

	n2h_errno = EOPNOTSUPP;
	assert_null(start_err(f, &mandatory, &err));
	assert_int_equal(err, -EOPNOTSUPP);
	n2h_errno = 0;
	obh_errno = EPERM;	/* no CAP_DAC_READ_SEARCH */
	assert_null(start_err(f, &mandatory, &err));
	assert_int_equal(err, -EPERM);
	assert_int_equal(count_open_fds(), fds);
	f->fs = start_err(f, &prefer, &err);
	assert_non_null(f->fs);
	/* handles cannot be opened at all: every inode holds an fd */
	assert_int_equal(f->fs->file_handles, INODE_FILE_HANDLES_NEVER);
	id = lookup_file(f->fs, 0);
	assert_false(by_handle(f->fs, id));
	obh_errno = 0;
	assert_int_equal(getattr(f->fs, id), 0);
}

/* A real file system without file handles (ramfs) inside the share. */
static void test_ramfs_submount(void **state)
{
	struct fixture *f = *state;
	uint64_t mnt, in, out;
	struct fuse_entry_out e;
	struct passthrough *fs;
	int fd;

	assert_int_equal(mkdir(host(f, "ram"), 0755), 0);
	if (mount("ramfs", host(f, "ram"), "ramfs", 0, NULL) < 0)
		skip();	/* no mount rights here */
	fd = open(host(f, "ram/inside"), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	close(fd);

	fs = start(f, INODE_FILE_HANDLES_PREFER, 4);
	mnt = lookup_ok(fs, FUSE_ROOT_ID, "ram");
	assert_false(by_handle(fs, mnt));
	in = lookup_ok(fs, mnt, "inside");
	assert_false(by_handle(fs, in));
	assert_int_equal(getattr(fs, in), 0);
	out = lookup_file(fs, 0);
	assert_true(by_handle(fs, out));
	assert_int_equal(ops->mkdir(fs, &root_ctx, mnt, "newdir", 0755, 0, &e), 0);
	assert_false(by_handle(fs, e.nodeid));
	passthrough_free(fs);

	fs = start(f, INODE_FILE_HANDLES_MANDATORY, 4);
	assert_int_equal(lookup(fs, FUSE_ROOT_ID, "ram", &mnt), -EOPNOTSUPP);
	assert_true(by_handle(fs, lookup_file(fs, 0)));
	passthrough_free(fs);
	assert_int_equal(umount2(host(f, "ram"), MNT_DETACH), 0);
}

/* A bind mount of another directory: its own mount fd, opened from the
 * mount's root directory, closed when its last inode goes. */
static void test_submount_gets_own_mount_fd(void **state)
{
	struct fixture *f = *state;
	char other[PATH_MAX + 8];
	uint64_t mnt, in;
	size_t mounts;
	int fd;

	snprintf(other, sizeof(other), "%s-other", f->root);
	assert_int_equal(mkdir(other, 0755), 0);
	assert_int_equal(mkdir(host(f, "mnt"), 0755), 0);
	if (mount(other, host(f, "mnt"), NULL, MS_BIND, NULL) < 0) {
		rmdir(other);
		skip();
	}
	fd = open(host(f, "mnt/inside"), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	close(fd);
	f->fs = start(f, INODE_FILE_HANDLES_MANDATORY, 1);
	mounts = mount_table_count(&f->fs->inodes.mounts);
	assert_int_equal(mounts, 1);
	mnt = lookup_ok(f->fs, FUSE_ROOT_ID, "mnt");
	assert_true(by_handle(f->fs, mnt));
	assert_int_equal(mount_table_count(&f->fs->inodes.mounts), 2);
	in = lookup_ok(f->fs, mnt, "inside");
	lookup_file(f->fs, 0);	/* evicts */
	assert_int_equal(getattr(f->fs, in), 0);
	assert_int_equal(getattr(f->fs, mnt), 0);
	ops->forget(f->fs, in, 1);
	ops->forget(f->fs, mnt, 1);
	/* nothing held on it: the host can unmount it cleanly */
	assert_int_equal(mount_table_count(&f->fs->inodes.mounts), 1);
	assert_int_equal(umount(host(f, "mnt")), 0);
	rmdir(other);
}

/* A file bind-mounted over a file of the share (as containers do with
 * /etc/resolv.conf): the mount's root is a regular file, which is the
 * mount fd then. */
static void test_file_bind_mount(void **state)
{
	struct fixture *f = *state;
	char other[PATH_MAX + 8];
	uint64_t id;
	int fd;

	snprintf(other, sizeof(other), "%s-file", f->root);
	fd = open(other, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "bound", 5), 5);
	close(fd);
	if (mount(other, host(f, "f0"), NULL, MS_BIND, NULL) < 0) {
		unlink(other);
		skip();
	}
	f->fs = start(f, INODE_FILE_HANDLES_MANDATORY, 1);
	id = lookup_ok(f->fs, FUSE_ROOT_ID, "f0");
	assert_true(by_handle(f->fs, id));
	assert_int_equal(mount_table_count(&f->fs->inodes.mounts), 2);
	lookup_file(f->fs, 1);	/* evicts */
	{
		struct fuse_attr_out a;

		assert_int_equal(ops->getattr(f->fs, &root_ctx, id, false, 0, &a), 0);
		assert_int_equal(a.attr.size, 5);
	}
	ops->forget(f->fs, id, 1);
	assert_int_equal(mount_table_count(&f->fs->inodes.mounts), 1);
	assert_int_equal(umount(host(f, "f0")), 0);
	unlink(other);
}

/* ---- limits ---- */

/* With handles the inode cap is memory-based: far more inodes than the
 * fds the daemon may hold. */
static void test_limits_with_handles(void **state)
{
	struct fixture *f = *state;
	uint64_t di, dh;

	passthrough_limits_from_rlimit(1024, &di, &dh);
	/* 24 GiB: millions, never fewer than the fd-based cap */
	assert_true(passthrough_handle_inode_limit(24ULL << 30, di) > 1000000);
	assert_int_equal(passthrough_handle_inode_limit(0, di), di);
	f->fs = start(f, INODE_FILE_HANDLES_MANDATORY, 0);
	assert_true(f->fs->inodes.limit > f->fs->inodes.fd_limit);
	assert_true(f->fs->inodes.cache_limit <= f->fs->inodes.fd_limit);
}

static void test_explicit_inode_limit_enfile(void **state)
{
	struct fixture *f = *state;
	struct start_args a = { .mode = INODE_FILE_HANDLES_MANDATORY, .cache = 4,
				.inode_limit = 8, .handle_limit = 8 };
	struct fuse_entry_out e;
	uint64_t id;
	int i, ok = 0, err = 0;

	f->fs = start_err(f, &a, &err);
	assert_non_null(f->fs);
	for (i = 0; i < NFILES; i++) {
		char name[32];
		int ret;

		snprintf(name, sizeof(name), "f%d", i);
		ret = lookup(f->fs, FUSE_ROOT_ID, name, &id);
		assert_true(ret == 0 || ret == -ENFILE);
		ok += ret == 0;
	}
	assert_int_equal(ok, 7);
	assert_int_equal(ops->mkdir(f->fs, &root_ctx, FUSE_ROOT_ID, "d", 0755, 0, &e), -ENFILE);
	assert_int_equal(access(host(f, "d"), F_OK), -1);
}

/* PREFER: inodes that fell back to an fd share the fd budget with the
 * cache; the cache gives way, then ENFILE. */
static void test_prefer_fd_inodes_bounded(void **state)
{
	struct fixture *f = *state;
	uint64_t id;
	int i, ok = 0, fds;

	f->fs = start(f, INODE_FILE_HANDLES_PREFER, 4);
	f->fs->inodes.fd_limit = 8;	/* the root and 7 more fds */
	fds = count_open_fds();
	for (i = 0; i < 4; i++)
		lookup_file(f->fs, i);	/* 4 cached */
	assert_int_equal(inode_table_fds(&f->fs->inodes), 5);
	n2h_errno = EOPNOTSUPP;
	for (i = 4; i < NFILES; i++) {
		char name[32];
		int ret;

		snprintf(name, sizeof(name), "f%d", i);
		ret = lookup(f->fs, FUSE_ROOT_ID, name, &id);
		assert_true(ret == 0 || ret == -ENFILE);
		ok += ret == 0;
	}
	n2h_errno = 0;
	assert_int_equal(ok, 7);
	assert_int_equal(inode_table_fds(&f->fs->inodes), 8);
	assert_true(count_open_fds() <= fds + 7);
	/* the handle-held ones still answer, reopened by handle */
	assert_int_equal(getattr(f->fs, lookup_file(f->fs, 0)), 0);
}

/* ---- threads ---- */

struct worker {
	struct fixture *f;
	unsigned seed;
	int failures;
};

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	int i;

	for (i = 0; i < 2000; i++) {
		int n = (int)(rand_r(&w->seed) % NFILES);
		uint64_t id;
		char name[32];

		snprintf(name, sizeof(name), "f%d", n);
		if (lookup(w->f->fs, FUSE_ROOT_ID, name, &id) != 0) {
			w->failures++;
			continue;
		}
		if (getattr(w->f->fs, id) != 0)
			w->failures++;
		ops->forget(w->f->fs, id, 1);
	}
	return NULL;
}

/* Lookups, GETATTRs and FORGETs from 4 threads on a 3-fd cache: no fd
 * closed under a user, none leaked (and ThreadSanitizer sees the rest). */
static void test_threads_small_cache(void **state)
{
	struct fixture *f = *state;
	struct worker w[4];
	pthread_t t[4];
	int i, fds;

	f->fs = start(f, INODE_FILE_HANDLES_MANDATORY, 3);
	fds = count_open_fds();
	for (i = 0; i < 4; i++) {
		w[i] = (struct worker){ .f = f, .seed = (unsigned)i + 1 };
		assert_int_equal(pthread_create(&t[i], NULL, worker_run, &w[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(w[i].failures, 0);
	}
	assert_int_equal(inode_table_count(&f->fs->inodes), 1);
	assert_int_equal(count_open_fds(), fds);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_mandatory_holds_handles_not_fds),
		T(test_same_file_same_inode),
		T(test_fd_in_use_survives_eviction),
		T(test_deleted_file_estale),
		T(test_unlinked_open_file_still_served),
		T(test_prefer_falls_back_per_lookup),
		T(test_mandatory_refuses_lookup_without_handle),
		T(test_start_without_handles),
		T(test_ramfs_submount),
		T(test_submount_gets_own_mount_fd),
		T(test_file_bind_mount),
		T(test_limits_with_handles),
		T(test_explicit_inode_limit_enfile),
		T(test_prefer_fd_inodes_bounded),
		T(test_threads_small_cache),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
