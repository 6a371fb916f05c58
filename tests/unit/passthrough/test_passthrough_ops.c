/* Direct tests of passthrough_ops against a temporary host directory, no
 * FUSE server: every result is checked against what the host shows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <linux/falloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "passthrough/passthrough_internal.h"

/* ---- a recording stand-in for the FUSE server's dirent encoder ---- */

struct filler_entry {
	char name[NAME_MAX + 1];
	uint64_t ino;
	uint32_t type;
	uint64_t off;
	struct fuse_entry_out entry;
	bool has_entry;
};

struct fs_dir_filler {
	struct filler_entry *entries;
	size_t count;
	size_t cap;
};

int fs_dir_filler_add(struct fs_dir_filler *filler, const char *name, size_t name_len,
		      uint64_t ino, uint32_t type, uint64_t next_offset,
		      const struct fuse_entry_out *entry)
{
	struct filler_entry *e;

	if (filler->count == filler->cap)
		return 1;
	e = &filler->entries[filler->count++];
	assert_true(name_len <= NAME_MAX);
	memcpy(e->name, name, name_len);
	e->name[name_len] = '\0';
	e->ino = ino;
	e->type = type;
	e->off = next_offset;
	e->has_entry = entry != NULL;
	if (entry)
		e->entry = *entry;
	return 0;
}

/* Like a 4 KiB READDIRPLUS reply: small enough that a large directory
 * takes many getdents64 calls and many requests. */
size_t fs_dir_filler_space(const struct fs_dir_filler *filler)
{
	return (filler->cap - filler->count) * 160;
}

/* ---- fixture ---- */

struct fixture {
	char root[PATH_MAX];
	struct passthrough *fs;
	struct fs_ctx ctx;
};

static const struct fs_ops *ops = &passthrough_ops;

/* The whole suite also runs with inodes held by file handle
 * (VFSD_TEST_FILE_HANDLES=prefer|mandatory), and with an fd cache of
 * VFSD_TEST_FD_CACHE entries: 1 makes nearly every request reopen its
 * inode by handle. */
static enum inode_file_handles test_file_handles(void)
{
	const char *m = getenv("VFSD_TEST_FILE_HANDLES");

	if (m && !strcmp(m, "prefer"))
		return INODE_FILE_HANDLES_PREFER;
	if (m && !strcmp(m, "mandatory"))
		return INODE_FILE_HANDLES_MANDATORY;
	return INODE_FILE_HANDLES_NEVER;
}

static struct passthrough_config default_config(const char *dir)
{
	const char *cache = getenv("VFSD_TEST_FD_CACHE");

	return (struct passthrough_config){
		.shared_dir = dir,
		.cache = CACHE_AUTO,
		.xattr = true,
		.posix_lock = true,
		.flock = true,
		.killpriv_v2 = true,
		.readdirplus = true,
		.file_handles = test_file_handles(),
		.fd_cache_limit = cache ? strtoull(cache, NULL, 10) : 0,
	};
}

static struct passthrough *fs_start(const struct passthrough_config *cfg)
{
	struct fs_init init = { .proto_minor = 38, .kernel_flags = ~0ULL };
	int err = 0;
	struct passthrough *fs = passthrough_new(cfg, &err);

	assert_non_null(fs);
	assert_int_equal(ops->init(fs, &init), 0);
	return fs;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct passthrough_config cfg;
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";

	snprintf(f->root, sizeof(f->root), "%s/pt-test-XXXXXX", base);
	assert_non_null(mkdtemp(f->root));
	/* other users (fsuid 1234) create entries here too */
	assert_int_equal(chmod(f->root, 0777), 0);
	cfg = default_config(f->root);
	f->fs = fs_start(&cfg);
	f->ctx = (struct fs_ctx){ .uid = 0, .gid = 0, .pid = 1, .unique = 1 };
	*state = f;
	return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	passthrough_free(f->fs);
	nftw(f->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static const char *host(struct fixture *f, const char *name)
{
	static char path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/%s", f->root, name);
	return path;
}

static struct stat host_stat(struct fixture *f, const char *name)
{
	struct stat st;

	assert_int_equal(lstat(host(f, name), &st), 0);
	return st;
}

static void host_write(struct fixture *f, const char *name, const char *data)
{
	FILE *fp = fopen(host(f, name), "w");

	assert_non_null(fp);
	fputs(data, fp);
	fclose(fp);
}

static char *host_read(struct fixture *f, const char *name)
{
	static char buf[4096];
	FILE *fp = fopen(host(f, name), "r");
	size_t n;

	assert_non_null(fp);
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

static uint64_t lookup(struct fixture *f, uint64_t parent, const char *name)
{
	struct fuse_entry_out e;

	assert_int_equal(ops->lookup(f->fs, &f->ctx, parent, name, &e), 0);
	return e.nodeid;
}

static uint64_t open_file(struct fixture *f, uint64_t nodeid, uint32_t flags)
{
	struct fuse_open_out o;

	assert_int_equal(ops->open(f->fs, &f->ctx, nodeid, flags, 0, &o), 0);
	return o.fh;
}

static uint64_t create_file(struct fixture *f, const char *name, uint32_t mode, uint64_t *nodeid)
{
	struct fuse_entry_out e;
	struct fuse_open_out o;

	assert_int_equal(
		ops->create(f->fs, &f->ctx, FUSE_ROOT_ID, name, mode, O_RDWR, 0, 0, &e, &o), 0);
	if (nodeid)
		*nodeid = e.nodeid;
	return o.fh;
}

static ssize_t write_str(struct fixture *f, uint64_t fh, uint64_t off, const char *s,
			 uint32_t flags)
{
	struct iovec iov = { .iov_base = (void *)s, .iov_len = strlen(s) };

	return ops->write(f->fs, &f->ctx, 0, fh, off, iov.iov_len, flags, &iov, 1);
}

static void assert_attr_matches(const struct fuse_attr *a, const struct stat *st)
{
	assert_int_equal(a->ino, st->st_ino);
	assert_int_equal(a->size, st->st_size);
	assert_int_equal(a->mode, st->st_mode);
	assert_int_equal(a->nlink, st->st_nlink);
	assert_int_equal(a->uid, st->st_uid);
	assert_int_equal(a->gid, st->st_gid);
	assert_int_equal(a->blocks, st->st_blocks);
	assert_int_equal(a->mtime, st->st_mtim.tv_sec);
	assert_int_equal(a->mtimensec, st->st_mtim.tv_nsec);
	assert_int_equal(a->atime, st->st_atim.tv_sec);
	assert_int_equal(a->ctime, st->st_ctim.tv_sec);
	assert_int_equal(a->blksize, st->st_blksize);
}

/* ---- tests ---- */

static void test_lookup_getattr(void **state)
{
	struct fixture *f = *state;
	struct fuse_entry_out e;
	struct fuse_attr_out a;
	struct stat st;
	uint64_t sub;

	host_write(f, "file", "twelve bytes");
	assert_int_equal(ops->lookup(f->fs, &f->ctx, FUSE_ROOT_ID, "file", &e), 0);
	st = host_stat(f, "file");
	assert_true(e.nodeid > FUSE_ROOT_ID);
	assert_int_equal(e.generation, 0);
	assert_int_equal(e.entry_valid, 1);	/* cache=auto */
	assert_int_equal(e.attr_valid, 1);
	assert_attr_matches(&e.attr, &st);
	assert_int_equal(ops->getattr(f->fs, &f->ctx, e.nodeid, false, 0, &a), 0);
	assert_attr_matches(&a.attr, &st);
	assert_int_equal(a.attr_valid, 1);

	/* the same file again: same nodeid, one more lookup */
	assert_int_equal(lookup(f, FUSE_ROOT_ID, "file"), e.nodeid);
	assert_int_equal(ops->lookup(f->fs, &f->ctx, FUSE_ROOT_ID, "missing", &e), -ENOENT);
	assert_int_equal(ops->lookup(f->fs, &f->ctx, 999999, ".", &e), -EBADF);
	assert_int_equal(ops->lookup(f->fs, &f->ctx, lookup(f, 1, "file"), ".", &e), -ENOTDIR);

	/* "." and ".." at the root are the root */
	assert_int_equal(lookup(f, FUSE_ROOT_ID, "."), FUSE_ROOT_ID);
	assert_int_equal(lookup(f, FUSE_ROOT_ID, ".."), FUSE_ROOT_ID);
	assert_int_equal(mkdir(host(f, "sub"), 0755), 0);
	sub = lookup(f, FUSE_ROOT_ID, "sub");
	assert_int_equal(lookup(f, sub, ".."), FUSE_ROOT_ID);
	assert_int_equal(lookup(f, sub, "."), sub);
	{
		struct pt_inode *inode = inode_table_get(&f->fs->inodes, sub);

		assert_int_equal(inode->nlookup, 2);	/* "sub" and "." */
		inode_table_put(&f->fs->inodes, inode);
	}
	assert_int_equal(ops->lookup(f->fs, &f->ctx, sub, "..", &e), 0);
	assert_int_equal(e.attr.ino, host_stat(f, "").st_ino);
}

/* STATX: what statx(2) on the host says, birth time included when the
 * host file system keeps one; no host device numbers. */
static void test_statx_btime(void **state)
{
	struct fixture *f = *state;
	struct vfsd_fuse_statx_out out;
	struct statx hst;
	uint64_t id;

	host_write(f, "b", "born");
	id = lookup(f, 1, "b");
	assert_int_equal(statx(AT_FDCWD, host(f, "b"), AT_SYMLINK_NOFOLLOW,
			       STATX_BASIC_STATS | STATX_BTIME, &hst), 0);
	assert_int_equal(ops->statx(f->fs, &f->ctx, id, false, 0, 0,
				    STATX_BASIC_STATS | STATX_BTIME, &out), 0);
	assert_int_equal(out.stat.mask & STATX_BASIC_STATS, STATX_BASIC_STATS);
	assert_int_equal(out.stat.mask & STATX_BTIME, hst.stx_mask & STATX_BTIME);
	if (hst.stx_mask & STATX_BTIME) {
		assert_int_equal(out.stat.btime.tv_sec, hst.stx_btime.tv_sec);
		assert_int_equal(out.stat.btime.tv_nsec, hst.stx_btime.tv_nsec);
	}
	assert_int_equal(out.stat.ino, hst.stx_ino);
	assert_int_equal(out.stat.size, 4);
	assert_int_equal(out.stat.mode, hst.stx_mode);
	assert_int_equal(out.stat.mtime.tv_nsec, hst.stx_mtime.tv_nsec);
	assert_int_equal(out.stat.dev_major, 0);
	assert_int_equal(out.stat.dev_minor, 0);
	assert_int_equal(ops->statx(f->fs, &f->ctx, 9999, false, 0, 0, STATX_BASIC_STATS, &out),
			 -EBADF);
}

static void test_unknown_ids(void **state)
{
	struct fixture *f = *state;
	struct fuse_attr_out a;
	struct fuse_entry_out e;
	struct fuse_open_out o;
	struct fs_dir_filler filler = { 0 };
	char buf[16];
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	uint64_t dirfh, fh;

	assert_int_equal(ops->getattr(f->fs, &f->ctx, 999, false, 0, &a), -EBADF);
	assert_int_equal(ops->lookup(f->fs, &f->ctx, 0, "x", &e), -EBADF);
	assert_int_equal(ops->open(f->fs, &f->ctx, 12345, O_RDONLY, 0, &o), -EBADF);
	ops->forget(f->fs, 999, 1);
	assert_int_equal(ops->read(f->fs, &f->ctx, 1, 999, 0, sizeof(buf), &iov, 1), -EBADF);
	assert_int_equal(write_str(f, 999, 0, "x", 0), -EBADF);
	assert_int_equal(ops->release(f->fs, &f->ctx, 1, 999, 0, 0, 0), -EBADF);

	/* a dir handle is not a file handle and the other way round */
	assert_int_equal(ops->opendir(f->fs, &f->ctx, FUSE_ROOT_ID, 0, &o), 0);
	dirfh = o.fh;
	fh = create_file(f, "f", 0644, NULL);
	assert_int_equal(ops->read(f->fs, &f->ctx, 1, dirfh, 0, sizeof(buf), &iov, 1), -EBADF);
	assert_int_equal(ops->readdir(f->fs, &f->ctx, FUSE_ROOT_ID, fh, 0, false, &filler), -EBADF);
	assert_int_equal(ops->release(f->fs, &f->ctx, 1, fh, 0, 0, 0), 0);
	assert_int_equal(ops->release(f->fs, &f->ctx, 1, fh, 0, 0, 0), -EBADF);
	assert_int_equal(ops->releasedir(f->fs, &f->ctx, 1, dirfh), 0);
	assert_int_equal(ops->releasedir(f->fs, &f->ctx, 1, dirfh), -EBADF);
}

static void test_create_write_read(void **state)
{
	struct fixture *f = *state;
	char buf[64] = { 0 };
	struct iovec iov[2] = { { buf, 3 }, { buf + 3, 60 } };
	uint64_t id, fh = create_file(f, "f", 0640, &id);
	struct stat st = host_stat(f, "f");

	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(write_str(f, fh, 0, "hello world", 0), 11);
	assert_string_equal(host_read(f, "f"), "hello world");
	assert_int_equal(ops->read(f->fs, &f->ctx, id, fh, 0, 63, iov, 2), 11);
	assert_memory_equal(buf, "hello world", 11);
	assert_int_equal(ops->read(f->fs, &f->ctx, id, fh, 6, 63, iov, 2), 5);
	assert_memory_equal(buf, "world", 5);
	assert_int_equal(ops->flush(f->fs, &f->ctx, id, fh, 0), 0);
	assert_int_equal(ops->fsync(f->fs, &f->ctx, id, fh, true), 0);
	assert_int_equal(ops->release(f->fs, &f->ctx, id, fh, 0, 0, 0), 0);

	/* O_EXCL create of an existing name fails; without it, it opens */
	{
		struct fuse_entry_out e;
		struct fuse_open_out o;

		assert_int_equal(ops->create(f->fs, &f->ctx, 1, "f", 0644, O_RDWR | O_EXCL, 0, 0,
					     &e, &o), -EEXIST);
		assert_int_equal(ops->create(f->fs, &f->ctx, 1, "f", 0644, O_RDWR, 0, 0, &e, &o),
				 0);
		assert_int_equal(e.nodeid, id);
		assert_int_equal(ops->release(f->fs, &f->ctx, id, o.fh, 0, 0, 0), 0);
	}
}

static void test_large_offset_and_append(void **state)
{
	struct fixture *f = *state;
	uint64_t id, fh = create_file(f, "big", 0644, &id);
	uint64_t off = 5ULL << 30;	/* past 4 GiB, sparse */

	assert_int_equal(write_str(f, fh, off, "end", 0), 3);
	assert_int_equal(host_stat(f, "big").st_size, (off_t)off + 3);
	assert_int_equal(ops->release(f->fs, &f->ctx, id, fh, 0, 0, 0), 0);

	/* O_APPEND without writeback: the host appends whatever the offset */
	host_write(f, "log", "a");
	fh = open_file(f, lookup(f, 1, "log"), O_WRONLY | O_APPEND);
	assert_int_equal(write_str(f, fh, 0, "b", 0), 1);
	assert_int_equal(write_str(f, fh, 0, "c", 0), 1);
	assert_string_equal(host_read(f, "log"), "abc");
}

static void test_unlinked_open_file(void **state)
{
	struct fixture *f = *state;
	char buf[8] = { 0 };
	struct iovec iov = { buf, sizeof(buf) };
	uint64_t id, fh = create_file(f, "gone", 0644, &id);
	struct fuse_attr_out a;

	assert_int_equal(ops->unlink(f->fs, &f->ctx, 1, "gone"), 0);
	assert_int_equal(access(host(f, "gone"), F_OK), -1);
	assert_int_equal(write_str(f, fh, 0, "still", 0), 5);
	assert_int_equal(ops->read(f->fs, &f->ctx, id, fh, 0, 8, &iov, 1), 5);
	assert_memory_equal(buf, "still", 5);
	assert_int_equal(ops->getattr(f->fs, &f->ctx, id, false, 0, &a), 0);
	assert_int_equal(a.attr.nlink, 0);
	assert_int_equal(a.attr.size, 5);
}

static void test_setattr(void **state)
{
	struct fixture *f = *state;
	struct fuse_attr_out a;
	struct fuse_setattr_in in = { 0 };
	struct timespec before;
	struct stat st, st0;
	uint64_t id, fh;

	host_write(f, "f", "0123456789");
	id = lookup(f, 1, "f");

	in.valid = FATTR_MODE;
	in.mode = S_IFREG | 0604;
	assert_int_equal(ops->setattr(f->fs, &f->ctx, id, &in, &a), 0);
	st = host_stat(f, "f");
	assert_int_equal(st.st_mode & 07777, 0604);
	assert_attr_matches(&a.attr, &st);

	in = (struct fuse_setattr_in){ .valid = FATTR_UID | FATTR_GID, .uid = 1000, .gid = 2000 };
	assert_int_equal(ops->setattr(f->fs, &f->ctx, id, &in, &a), 0);
	st = host_stat(f, "f");
	assert_int_equal(st.st_uid, 1000);
	assert_int_equal(st.st_gid, 2000);
	in = (struct fuse_setattr_in){ .valid = FATTR_GID, .gid = 3000 };
	assert_int_equal(ops->setattr(f->fs, &f->ctx, id, &in, &a), 0);
	st = host_stat(f, "f");
	assert_int_equal(st.st_uid, 1000);
	assert_int_equal(st.st_gid, 3000);

	in = (struct fuse_setattr_in){ .valid = FATTR_SIZE, .size = 4 };
	assert_int_equal(ops->setattr(f->fs, &f->ctx, id, &in, &a), 0);
	assert_string_equal(host_read(f, "f"), "0123");
	assert_int_equal(a.attr.size, 4);
	fh = open_file(f, id, O_RDWR);
	in = (struct fuse_setattr_in){ .valid = FATTR_SIZE | FATTR_FH, .size = 100, .fh = fh };
	assert_int_equal(ops->setattr(f->fs, &f->ctx, id, &in, &a), 0);
	assert_int_equal(host_stat(f, "f").st_size, 100);
	in.fh = 4242;
	assert_int_equal(ops->setattr(f->fs, &f->ctx, id, &in, &a), -EBADF);

	/* atime set, mtime left alone (UTIME_OMIT) */
	st0 = host_stat(f, "f");
	in = (struct fuse_setattr_in){ .valid = FATTR_ATIME, .atime = 1000, .atimensec = 5 };
	assert_int_equal(ops->setattr(f->fs, &f->ctx, id, &in, &a), 0);
	st = host_stat(f, "f");
	assert_int_equal(st.st_atim.tv_sec, 1000);
	assert_int_equal(st.st_atim.tv_nsec, 5);
	assert_int_equal(st.st_mtim.tv_sec, st0.st_mtim.tv_sec);
	assert_int_equal(st.st_mtim.tv_nsec, st0.st_mtim.tv_nsec);
	assert_int_equal(a.attr.atime, 1000);
	in.atimensec = 1000000000;
	assert_int_equal(ops->setattr(f->fs, &f->ctx, id, &in, &a), -EINVAL);

	/* mtime set to a value, then to now; atime stays */
	in = (struct fuse_setattr_in){ .valid = FATTR_MTIME, .mtime = 2000 };
	assert_int_equal(ops->setattr(f->fs, &f->ctx, id, &in, &a), 0);
	assert_int_equal(host_stat(f, "f").st_mtim.tv_sec, 2000);
	clock_gettime(CLOCK_REALTIME, &before);
	in = (struct fuse_setattr_in){ .valid = FATTR_MTIME | FATTR_MTIME_NOW };
	assert_int_equal(ops->setattr(f->fs, &f->ctx, id, &in, &a), 0);
	st = host_stat(f, "f");
	assert_true(st.st_mtim.tv_sec >= before.tv_sec - 1);
	assert_int_equal(st.st_atim.tv_sec, 1000);
	assert_int_equal(a.attr.mtime, st.st_mtim.tv_sec);

	/* chmod of a symlink is refused, not passed to its target */
	assert_int_equal(symlink("f", host(f, "sl")), 0);
	in = (struct fuse_setattr_in){ .valid = FATTR_MODE, .mode = 0777 };
	assert_int_equal(ops->setattr(f->fs, &f->ctx, lookup(f, 1, "sl"), &in, &a), -EOPNOTSUPP);
	assert_int_equal(host_stat(f, "f").st_mode & 07777, 0604);
}

static void test_mkdir_rmdir_unlink(void **state)
{
	struct fixture *f = *state;
	struct fuse_entry_out e;
	struct stat st;
	uint64_t d;

	assert_int_equal(ops->mkdir(f->fs, &f->ctx, 1, "d", 0750, 0, &e), 0);
	d = e.nodeid;
	st = host_stat(f, "d");
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0750);
	assert_attr_matches(&e.attr, &st);
	assert_int_equal(ops->mkdir(f->fs, &f->ctx, 1, "d", 0750, 0, &e), -EEXIST);
	host_write(f, "d/x", "x");
	assert_int_equal(ops->rmdir(f->fs, &f->ctx, 1, "d"), -ENOTEMPTY);
	assert_int_equal(ops->unlink(f->fs, &f->ctx, d, "x"), 0);
	assert_int_equal(access(host(f, "d/x"), F_OK), -1);
	assert_int_equal(ops->unlink(f->fs, &f->ctx, d, "x"), -ENOENT);
	assert_int_equal(ops->unlink(f->fs, &f->ctx, 1, "d"), -EISDIR);
	assert_int_equal(ops->rmdir(f->fs, &f->ctx, 1, "d"), 0);
	assert_int_equal(access(host(f, "d"), F_OK), -1);
	/* the guest still holds d: creating in it fails like on the host */
	assert_int_equal(ops->mkdir(f->fs, &f->ctx, d, "y", 0755, 0, &e), -ENOENT);
	assert_int_equal(ops->rmdir(f->fs, &f->ctx, 1, ".."), -ENOTEMPTY);
	assert_int_equal(ops->rmdir(f->fs, &f->ctx, 1, "."), -EINVAL);
}

static void test_rename(void **state)
{
	struct fixture *f = *state;
	struct stat sa, sb;
	uint64_t d;

	host_write(f, "a", "AAA");
	host_write(f, "b", "BBB");
	assert_int_equal(ops->rename(f->fs, &f->ctx, 1, "a", 1, "b", RENAME_NOREPLACE), -EEXIST);
	assert_string_equal(host_read(f, "a"), "AAA");
	sa = host_stat(f, "a");
	sb = host_stat(f, "b");
	assert_int_equal(ops->rename(f->fs, &f->ctx, 1, "a", 1, "b", RENAME_EXCHANGE), 0);
	assert_string_equal(host_read(f, "a"), "BBB");
	assert_string_equal(host_read(f, "b"), "AAA");
	assert_int_equal(host_stat(f, "a").st_ino, sb.st_ino);
	assert_int_equal(host_stat(f, "b").st_ino, sa.st_ino);
	assert_int_equal(ops->rename(f->fs, &f->ctx, 1, "a", 1, "c", RENAME_NOREPLACE), 0);
	assert_int_equal(access(host(f, "a"), F_OK), -1);
	assert_string_equal(host_read(f, "c"), "BBB");
	assert_int_equal(mkdir(host(f, "dir"), 0755), 0);
	d = lookup(f, 1, "dir");
	assert_int_equal(ops->rename(f->fs, &f->ctx, 1, "c", d, "moved", 0), 0);
	assert_string_equal(host_read(f, "dir/moved"), "BBB");
	assert_int_equal(ops->rename(f->fs, &f->ctx, 1, "b", d, "moved", 0), 0);
	assert_string_equal(host_read(f, "dir/moved"), "AAA");
	assert_int_equal(ops->rename(f->fs, &f->ctx, 1, "nope", 1, "x", 0), -ENOENT);
	assert_int_equal(ops->rename(f->fs, &f->ctx, 1, "dir", 1, "x", 0x100), -EINVAL);
}

static void test_link_symlink_readlink(void **state)
{
	struct fixture *f = *state;
	struct fuse_entry_out e;
	char buf[64];
	struct stat st;
	uint64_t id;
	int n;

	host_write(f, "f", "data");
	id = lookup(f, 1, "f");
	assert_int_equal(ops->link(f->fs, &f->ctx, id, 1, "g", &e), 0);
	st = host_stat(f, "g");
	assert_int_equal(e.nodeid, id);
	assert_int_equal(st.st_nlink, 2);
	assert_int_equal(host_stat(f, "f").st_ino, st.st_ino);
	assert_int_equal(e.attr.nlink, 2);
	assert_int_equal(ops->link(f->fs, &f->ctx, id, 1, "g", &e), -EEXIST);

	/* as a non-root caller the AT_EMPTY_PATH link falls back to /proc;
	 * the caller owns the file (the host's protected_hardlinks) */
	assert_int_equal(chown(host(f, "f"), 1234, 1234), 0);
	f->ctx.uid = 1234;
	f->ctx.gid = 1234;
	assert_int_equal(ops->link(f->fs, &f->ctx, id, 1, "h", &e), 0);
	assert_int_equal(host_stat(f, "h").st_nlink, 3);
	f->ctx.uid = f->ctx.gid = 0;

	assert_int_equal(ops->symlink(f->fs, &f->ctx, 1, "s", "some/target/../path", &e), 0);
	st = host_stat(f, "s");
	assert_true(S_ISLNK(st.st_mode));
	assert_attr_matches(&e.attr, &st);
	n = ops->readlink(f->fs, &f->ctx, e.nodeid, buf, sizeof(buf));
	assert_int_equal(n, strlen("some/target/../path"));
	assert_memory_equal(buf, "some/target/../path", n);
	n = (int)readlink(host(f, "s"), buf, sizeof(buf));
	assert_memory_equal(buf, "some/target/../path", n);
	assert_int_equal(ops->readlink(f->fs, &f->ctx, id, buf, sizeof(buf)), -EINVAL);
	/* a symlink is not opened, and not followed by lookup */
	{
		struct fuse_open_out o;

		assert_int_equal(ops->open(f->fs, &f->ctx, e.nodeid, O_RDONLY, 0, &o), -ELOOP);
	}
}

static void test_mknod_special(void **state)
{
	struct fixture *f = *state;
	struct fuse_entry_out e;
	struct fuse_open_out o;
	struct stat st;

	assert_int_equal(ops->mknod(f->fs, &f->ctx, 1, "fifo", S_IFIFO | 0640, 0, 0, &e), 0);
	st = host_stat(f, "fifo");
	assert_true(S_ISFIFO(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_attr_matches(&e.attr, &st);
	/* never opened on the host: the guest kernel serves FIFOs */
	assert_int_equal(ops->open(f->fs, &f->ctx, e.nodeid, O_RDONLY | O_NONBLOCK, 0, &o), -ENXIO);
	assert_int_equal(ops->open(f->fs, &f->ctx, e.nodeid, O_WRONLY, 0, &o), -ENXIO);

	/* rdev 1:3 (null) in and out in new_encode_dev format */
	assert_int_equal(ops->mknod(f->fs, &f->ctx, 1, "null", S_IFCHR | 0600, 0x103, 0, &e), 0);
	st = host_stat(f, "null");
	assert_true(S_ISCHR(st.st_mode));
	assert_int_equal(major(st.st_rdev), 1);
	assert_int_equal(minor(st.st_rdev), 3);
	assert_int_equal(e.attr.rdev, 0x103);
	assert_int_equal(ops->open(f->fs, &f->ctx, e.nodeid, O_RDWR, 0, &o), -ENXIO);
	/* a large minor: 8:300 -> (300 & 0xff) | 8 << 8 | (300 & ~0xff) << 12 */
	assert_int_equal(ops->mknod(f->fs, &f->ctx, 1, "blk", S_IFBLK | 0600,
				    (300 & 0xff) | (8 << 8) | ((300 & ~0xff) << 12), 0, &e), 0);
	st = host_stat(f, "blk");
	assert_int_equal(major(st.st_rdev), 8);
	assert_int_equal(minor(st.st_rdev), 300);
	assert_int_equal(e.attr.rdev, (300 & 0xff) | (8 << 8) | ((300 & ~0xff) << 12));
	assert_int_equal(ops->mknod(f->fs, &f->ctx, 1, "reg", S_IFREG | 0644, 0, 0, &e), 0);
	assert_true(S_ISREG(host_stat(f, "reg").st_mode));
	assert_int_equal(ops->mknod(f->fs, &f->ctx, 1, "bad", S_IFDIR | 0644, 0, 0, &e), -EINVAL);
	/* CREATE of an existing FIFO name must not open it either */
	assert_int_equal(ops->create(f->fs, &f->ctx, 1, "fifo", 0644, O_RDWR, 0, 0, &e, &o),
			 -ENXIO);
}

static void test_xattr(void **state)
{
	struct fixture *f = *state;
	char buf[256];
	uint64_t id, fifo;
	struct fuse_entry_out e;
	ssize_t n;

	host_write(f, "f", "x");
	id = lookup(f, 1, "f");
	assert_int_equal(ops->setxattr(f->fs, &f->ctx, id, "user.a", "v1", 2, 0, 0), 0);
	n = getxattr(host(f, "f"), "user.a", buf, sizeof(buf));
	assert_int_equal(n, 2);
	assert_memory_equal(buf, "v1", 2);
	assert_int_equal(ops->setxattr(f->fs, &f->ctx, id, "user.a", "v2", 2, XATTR_CREATE, 0),
			 -EEXIST);
	assert_int_equal(ops->setxattr(f->fs, &f->ctx, id, "user.b", "v2", 2, XATTR_REPLACE, 0),
			 -ENODATA);
	assert_int_equal(ops->setxattr(f->fs, &f->ctx, id, "user.b", "long", 4, 0, 0), 0);
	assert_int_equal(ops->getxattr(f->fs, &f->ctx, id, "user.a", NULL, 0), 2);
	assert_int_equal(ops->getxattr(f->fs, &f->ctx, id, "user.b", buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "long", 4);
	assert_int_equal(ops->getxattr(f->fs, &f->ctx, id, "user.b", buf, 2), -ERANGE);
	assert_int_equal(ops->getxattr(f->fs, &f->ctx, id, "user.none", buf, sizeof(buf)),
			 -ENODATA);
	n = ops->listxattr(f->fs, &f->ctx, id, buf, sizeof(buf));
	assert_int_equal(n, listxattr(host(f, "f"), buf + 128, 128));
	assert_int_equal(ops->listxattr(f->fs, &f->ctx, id, NULL, 0), n);
	assert_true(memmem(buf, n, "user.a\0", 7) != NULL);
	assert_true(memmem(buf, n, "user.b\0", 7) != NULL);
	assert_int_equal(ops->removexattr(f->fs, &f->ctx, id, "user.a"), 0);
	assert_int_equal(getxattr(host(f, "f"), "user.a", buf, sizeof(buf)), -1);
	assert_int_equal(errno, ENODATA);
	assert_int_equal(ops->removexattr(f->fs, &f->ctx, id, "user.a"), -ENODATA);

	/* directories, and FIFOs reached without opening them */
	assert_int_equal(ops->setxattr(f->fs, &f->ctx, 1, "user.d", "dv", 2, 0, 0), 0);
	assert_int_equal(getxattr(f->root, "user.d", buf, sizeof(buf)), 2);
	assert_int_equal(ops->mknod(f->fs, &f->ctx, 1, "p", S_IFIFO | 0644, 0, 0, &e), 0);
	fifo = e.nodeid;
	assert_int_equal(ops->setxattr(f->fs, &f->ctx, fifo, "trusted.t", "tv", 2, 0, 0), 0);
	assert_int_equal(lgetxattr(host(f, "p"), "trusted.t", buf, sizeof(buf)), 2);
	assert_int_equal(ops->getxattr(f->fs, &f->ctx, fifo, "trusted.t", buf, sizeof(buf)), 2);
	/* a symlink's own xattrs, not its target's */
	assert_int_equal(symlink("f", host(f, "sl")), 0);
	assert_int_equal(ops->setxattr(f->fs, &f->ctx, lookup(f, 1, "sl"), "trusted.l", "lv", 2, 0,
				       0), 0);
	assert_int_equal(lgetxattr(host(f, "sl"), "trusted.l", buf, sizeof(buf)), 2);
	assert_int_equal(getxattr(host(f, "f"), "trusted.l", buf, sizeof(buf)), -1);
	assert_int_equal(ops->getxattr(f->fs, &f->ctx, 999, "user.b", buf, sizeof(buf)), -EBADF);
}

static void test_xattr_disabled(void **state)
{
	struct fixture *f = *state;
	struct passthrough_config cfg = default_config(f->root);
	struct passthrough *fs;
	char buf[16];

	cfg.xattr = false;
	fs = fs_start(&cfg);
	assert_int_equal(ops->setxattr(fs, &f->ctx, 1, "user.a", "v", 1, 0, 0), -ENOSYS);
	assert_int_equal(ops->getxattr(fs, &f->ctx, 1, "user.a", buf, sizeof(buf)), -ENOSYS);
	assert_int_equal(ops->listxattr(fs, &f->ctx, 1, buf, sizeof(buf)), -ENOSYS);
	assert_int_equal(ops->removexattr(fs, &f->ctx, 1, "user.a"), -ENOSYS);
	passthrough_free(fs);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reads the whole directory in replies of at most cap entries, following
 * next_offset as the guest does. Returns the entries, sorted by name. */
static size_t readdir_all(struct fixture *f, uint64_t dir, bool plus, size_t cap,
			  struct filler_entry *all, size_t max)
{
	struct fs_dir_filler filler = { .entries = malloc(cap * sizeof(*filler.entries)),
					.cap = cap };
	struct fuse_open_out o;
	uint64_t off = 0;
	size_t total = 0, i;

	assert_int_equal(ops->opendir(f->fs, &f->ctx, dir, 0, &o), 0);
	for (;;) {
		filler.count = 0;
		assert_int_equal(ops->readdir(f->fs, &f->ctx, dir, o.fh, off, plus, &filler), 0);
		if (!filler.count)
			break;
		for (i = 0; i < filler.count; i++) {
			assert_true(total < max);
			all[total++] = filler.entries[i];
		}
		off = filler.entries[filler.count - 1].off;
	}
	assert_int_equal(ops->releasedir(f->fs, &f->ctx, dir, o.fh), 0);
	free(filler.entries);
	return total;
}

static void test_readdir_many(void **state)
{
	struct fixture *f = *state;
	enum { N = 1000 };
	static struct filler_entry all[N + 10];
	static char *names[N + 10];
	char name[NAME_MAX + 8];
	size_t n, i;

	assert_int_equal(mkdir(host(f, "d"), 0755), 0);
	for (i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "d/entry-%04zu", i);
		host_write(f, name, "");
	}
	n = readdir_all(f, lookup(f, 1, "d"), false, 7, all, N + 10);
	assert_int_equal(n, N + 2);
	for (i = 0; i < n; i++) {
		struct stat st;

		names[i] = all[i].name;
		assert_false(all[i].has_entry);
		if (pt_name_is_dots(all[i].name))
			continue;
		snprintf(name, sizeof(name), "d/%.255s", all[i].name);
		st = host_stat(f, name);
		assert_int_equal(all[i].ino, st.st_ino);
		assert_int_equal(all[i].type, DT_REG);
	}
	qsort(names, n, sizeof(*names), cmp_str);
	assert_string_equal(names[0], ".");
	assert_string_equal(names[1], "..");
	for (i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "entry-%04zu", i);
		assert_string_equal(names[i + 2], name);	/* each once */
	}
}

/* One READDIR of at most cap entries from off into out; the count. */
static size_t readdir_once(struct fixture *f, uint64_t dir, uint64_t fh, uint64_t off, size_t cap,
			   struct filler_entry *out)
{
	struct fs_dir_filler filler = { .entries = out, .cap = cap };

	assert_int_equal(ops->readdir(f->fs, &f->ctx, dir, fh, off, false, &filler), 0);
	return filler.count;
}

/* The entries read past a reply are kept for the READDIR that continues
 * there; any other offset (going back, rewinding) reads the directory
 * again, and the memory goes with the handle. */
static void test_readdir_read_ahead(void **state)
{
	struct fixture *f = *state;
	struct passthrough *fs = f->fs;
	struct filler_entry a[7], b[7], again[7], after[7];
	struct fuse_open_out o;
	uint64_t dir;
	char name[32];
	size_t i, n;

	assert_int_equal(mkdir(host(f, "d"), 0755), 0);
	for (i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "d/e%03zu", i);
		host_write(f, name, "");
	}
	dir = lookup(f, 1, "d");
	assert_int_equal(ops->opendir(fs, &f->ctx, dir, 0, &o), 0);
	assert_int_equal(readdir_once(f, dir, o.fh, 0, 7, a), 7);
	/* more was read than 7 entries: it is kept, and charged */
	assert_true(fs->handles.dir_ahead_bytes > 0);
	assert_int_equal(readdir_once(f, dir, o.fh, a[6].off, 7, b), 7);
	/* back to after a[2]: the same sequence as the first time */
	assert_int_equal(readdir_once(f, dir, o.fh, a[2].off, 7, again), 7);
	for (i = 0; i < 7; i++)
		assert_string_equal(again[i].name, i < 4 ? a[i + 3].name : b[i - 4].name);
	/* and on from there, still in sequence */
	assert_int_equal(readdir_once(f, dir, o.fh, again[6].off, 7, after), 7);
	for (i = 0; i < 4; i++)
		assert_string_equal(after[i].name, b[i + 3].name);
	/* a name created since is seen after a rewind */
	host_write(f, "d/new", "");
	n = 0;
	for (uint64_t off = 0;;) {
		struct filler_entry part[7];
		size_t got = readdir_once(f, dir, o.fh, off, 7, part);

		if (!got)
			break;
		for (i = 0; i < got; i++)
			n += !strcmp(part[i].name, "new");
		off = part[got - 1].off;
	}
	assert_int_equal(n, 1);
	assert_int_equal(ops->releasedir(fs, &f->ctx, dir, o.fh), 0);
	assert_int_equal(fs->handles.dir_ahead_bytes, 0);
}

/* All directories' read-ahead together stays within the budget. */
static void test_readdir_ahead_budget(void **state)
{
	(void)state;
	struct handle_table table;

	assert_int_equal(handle_table_init(&table), 0);
	assert_true(handle_table_charge_ahead(&table, HANDLE_DIR_AHEAD_BUDGET - 10));
	assert_false(handle_table_charge_ahead(&table, 11));
	assert_true(handle_table_charge_ahead(&table, 10));
	assert_false(handle_table_charge_ahead(&table, 1));
	handle_table_uncharge_ahead(&table, HANDLE_DIR_AHEAD_BUDGET);
	assert_int_equal(table.dir_ahead_bytes, 0);
	handle_table_destroy(&table);
}

static void test_readdirplus_nlookup(void **state)
{
	struct fixture *f = *state;
	enum { N = 10 };
	struct filler_entry all[N + 3];
	struct passthrough *fs = f->fs;
	char name[32];
	size_t n, i;

	for (i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "f%zu", i);
		host_write(f, name, "");
	}
	assert_int_equal(mkdir(host(f, "sub"), 0700), 0);
	/* reply room for 3: every call has a lookup that did not fit */
	n = readdir_all(f, 1, true, 3, all, N + 3);
	assert_int_equal(n, N + 3);
	assert_int_equal(inode_table_count(&fs->inodes), 1 + N + 1);
	for (i = 0; i < n; i++) {
		struct pt_inode *inode;
		struct stat st;

		assert_true(all[i].has_entry);
		if (pt_name_is_dots(all[i].name)) {
			assert_int_equal(all[i].entry.nodeid, 0);
			continue;
		}
		st = host_stat(f, all[i].name);
		assert_attr_matches(&all[i].entry.attr, &st);
		inode = inode_table_get(&fs->inodes, all[i].entry.nodeid);
		assert_non_null(inode);
		assert_int_equal(inode->nlookup, 1);	/* exactly the one sent */
		inode_table_put(&fs->inodes, inode);
		ops->forget(fs, all[i].entry.nodeid, 1);
	}
	assert_int_equal(inode_table_count(&fs->inodes), 1);
}

static void test_lseek_sparse_fallocate(void **state)
{
	struct fixture *f = *state;
	uint64_t id, fh = create_file(f, "sparse", 0644, &id), res;
	char block[4096];
	struct iovec iov = { block, sizeof(block) };
	struct stat st;
	int hfd;

	memset(block, 'x', sizeof(block));
	assert_int_equal(ops->write(f->fs, &f->ctx, id, fh, 1 << 20, sizeof(block), 0, &iov, 1),
			 sizeof(block));
	hfd = open(host(f, "sparse"), O_RDONLY);
	assert_true(hfd >= 0);
	assert_int_equal(ops->lseek(f->fs, &f->ctx, id, fh, 0, SEEK_DATA, &res), 0);
	assert_int_equal(res, lseek(hfd, 0, SEEK_DATA));
	assert_int_equal(res, 1 << 20);
	assert_int_equal(ops->lseek(f->fs, &f->ctx, id, fh, 1 << 20, SEEK_HOLE, &res), 0);
	assert_int_equal(res, lseek(hfd, 1 << 20, SEEK_HOLE));
	assert_int_equal(res, (1 << 20) + 4096);
	assert_int_equal(ops->lseek(f->fs, &f->ctx, id, fh, 0, SEEK_HOLE, &res), 0);
	assert_int_equal(res, 0);
	assert_int_equal(ops->lseek(f->fs, &f->ctx, id, fh, (1 << 20) + 4096, SEEK_DATA, &res),
			 -ENXIO);
	assert_int_equal(ops->lseek(f->fs, &f->ctx, id, fh, 0, SEEK_END, &res), 0);
	assert_int_equal(res, (1 << 20) + 4096);
	assert_int_equal(ops->lseek(f->fs, &f->ctx, id, fh, 0, 99, &res), -EINVAL);

	/* allocate past EOF, then punch the data out */
	assert_int_equal(ops->fallocate(f->fs, &f->ctx, id, fh, 0, 2 << 20, 0), 0);
	st = host_stat(f, "sparse");
	assert_int_equal(st.st_size, 2 << 20);
	assert_true(st.st_blocks >= (2 << 20) / 512);
	assert_int_equal(ops->fallocate(f->fs, &f->ctx, id, fh, 0, 1 << 20,
					FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE), 0);
	st = host_stat(f, "sparse");
	assert_int_equal(st.st_size, 2 << 20);
	assert_true(st.st_blocks <= (1 << 20) / 512 + 64);
	assert_int_equal(ops->lseek(f->fs, &f->ctx, id, fh, 0, SEEK_DATA, &res), 0);
	assert_int_equal(res, lseek(hfd, 0, SEEK_DATA));
	close(hfd);
}

static void test_copy_file_range_statfs(void **state)
{
	struct fixture *f = *state;
	uint64_t a, b, fa, fb;
	struct fuse_kstatfs kst;
	struct statvfs sv;

	fa = create_file(f, "src", 0644, &a);
	fb = create_file(f, "dst", 0644, &b);
	assert_int_equal(write_str(f, fa, 0, "0123456789", 0), 10);
	assert_int_equal(ops->copy_file_range(f->fs, &f->ctx, a, fa, 2, b, fb, 1, 5, 0), 5);
	assert_memory_equal(host_read(f, "dst"), "\0" "23456", 6);
	assert_int_equal(ops->copy_file_range(f->fs, &f->ctx, a, fa, 2, b, 777, 1, 5, 0), -EBADF);

	assert_int_equal(ops->statfs(f->fs, &f->ctx, 1, &kst), 0);
	assert_int_equal(statvfs(f->root, &sv), 0);
	assert_int_equal(kst.blocks, sv.f_blocks);
	assert_int_equal(kst.bsize, sv.f_bsize);
	assert_int_equal(kst.frsize, sv.f_frsize);
	assert_int_equal(kst.namelen, sv.f_namemax);
	assert_int_equal(kst.files, sv.f_files);
	assert_int_equal(ops->syncfs(f->fs, &f->ctx, 1), 0);
	assert_int_equal(ops->syncfs(f->fs, &f->ctx, a), 0);
}

static void sigusr1_noop(int sig)
{
}

struct lock_thread {
	struct fixture *f;
	uint64_t nodeid;
	uint64_t fh;
	bool flock;
	int ret;
};

static void *lock_wait(void *arg)
{
	struct lock_thread *t = arg;
	struct fs_ctx ctx = { .unique = 77 };
	struct fuse_file_lock lk = { .start = 0, .end = INT64_MAX, .type = F_WRLCK };

	t->ret = ops->setlk(t->f->fs, &ctx, t->nodeid, t->fh, 2, &lk, true, t->flock);
	return NULL;
}

static bool waiter_registered(struct passthrough *fs)
{
	bool yes;

	pthread_mutex_lock(&fs->waiters_lock);
	yes = fs->waiters != NULL;
	pthread_mutex_unlock(&fs->waiters_lock);
	return yes;
}

/* A blocked SETLKW returns -EINTR on INTERRUPT. */
static void check_interrupt(struct fixture *f, uint64_t nodeid, uint64_t fh, bool flock)
{
	struct sigaction sa = { .sa_handler = sigusr1_noop };	/* no SA_RESTART */
	struct lock_thread t = { .f = f, .nodeid = nodeid, .fh = fh, .flock = flock, .ret = 1 };
	pthread_t th;
	int i;

	sigaction(SIGUSR1, &sa, NULL);
	assert_int_equal(pthread_create(&th, NULL, lock_wait, &t), 0);
	for (i = 0; i < 1000 && !waiter_registered(f->fs); i++)
		usleep(1000);
	usleep(50000);	/* let it enter the blocking call */
	ops->interrupt(f->fs, 76);	/* someone else's request: no effect */
	ops->interrupt(f->fs, 77);
	pthread_join(th, NULL);
	assert_int_equal(t.ret, -EINTR);
	assert_false(waiter_registered(f->fs));
}

static void test_posix_locks(void **state)
{
	struct fixture *f = *state;
	uint64_t id, fh1, fh2;
	struct fuse_file_lock lk = { .start = 10, .end = 19, .type = F_WRLCK };
	struct fuse_file_lock q;

	fh1 = create_file(f, "l", 0644, &id);
	fh2 = open_file(f, id, O_RDWR);
	assert_int_equal(ops->setlk(f->fs, &f->ctx, id, fh1, 1, &lk, false, false), 0);
	assert_int_equal(ops->setlk(f->fs, &f->ctx, id, fh2, 2, &lk, false, false), -EAGAIN);
	q = (struct fuse_file_lock){ .start = 0, .end = INT64_MAX, .type = F_RDLCK };
	assert_int_equal(ops->getlk(f->fs, &f->ctx, id, fh2, 2, &q), 0);
	assert_int_equal(q.type, F_WRLCK);
	assert_int_equal(q.start, 10);
	assert_int_equal(q.end, 19);
	/* no conflict outside the range, and with itself */
	q = (struct fuse_file_lock){ .start = 20, .end = 30, .type = F_WRLCK };
	assert_int_equal(ops->getlk(f->fs, &f->ctx, id, fh2, 2, &q), 0);
	assert_int_equal(q.type, F_UNLCK);
	assert_int_equal(ops->setlk(f->fs, &f->ctx, id, fh2, 2, &q, false, false), 0);
	check_interrupt(f, id, fh2, false);
	/* FLUSH drops the handle's POSIX locks */
	assert_int_equal(ops->flush(f->fs, &f->ctx, id, fh1, 1), 0);
	assert_int_equal(ops->setlk(f->fs, &f->ctx, id, fh2, 2, &lk, false, false), 0);
	lk.end = 5;	/* end before start */
	assert_int_equal(ops->setlk(f->fs, &f->ctx, id, fh2, 2, &lk, false, false), -EINVAL);
}

/* POSIX locks belong to the lock owner, not to the open file: two owners
 * sharing one handle (fork after open) conflict, GETLK names the holder's
 * pid, unlocking part of a range splits it, and FLUSH by the owner through
 * any handle drops all its locks on the file. */
static void test_posix_lock_owners(void **state)
{
	struct fixture *f = *state;
	uint64_t id, fh1, fh2;
	struct fuse_file_lock rd = { .start = 0, .end = 99, .type = F_RDLCK, .pid = 4242 };
	struct fuse_file_lock wr = { .start = 0, .end = 99, .type = F_WRLCK, .pid = 4343 };
	struct fuse_file_lock un = { .start = 40, .end = 59, .type = F_UNLCK, .pid = 4242 };
	struct fuse_file_lock q;

	fh1 = create_file(f, "po", 0644, &id);
	fh2 = open_file(f, id, O_RDWR);
	/* owner 1 and owner 2 on the same handle */
	assert_int_equal(ops->setlk(f->fs, &f->ctx, id, fh1, 1, &rd, false, false), 0);
	assert_int_equal(ops->setlk(f->fs, &f->ctx, id, fh1, 2, &wr, false, false), -EAGAIN);
	/* read locks coexist, a write lock of the holder itself converts */
	rd.pid = 4343;
	assert_int_equal(ops->setlk(f->fs, &f->ctx, id, fh1, 2, &rd, false, false), 0);
	rd.pid = 4242;
	q = (struct fuse_file_lock){ .start = 0, .end = 9, .type = F_WRLCK };
	assert_int_equal(ops->getlk(f->fs, &f->ctx, id, fh1, 3, &q), 0);
	assert_int_equal(q.type, F_RDLCK);
	assert_true(q.pid == 4242 || q.pid == 4343);
	un.start = 0;
	un.end = INT64_MAX;
	assert_int_equal(ops->setlk(f->fs, &f->ctx, id, fh1, 2, &un, false, false), 0);
	/* GETLK reports the conflicting owner's pid, and not its own locks */
	q = (struct fuse_file_lock){ .start = 0, .end = 9, .type = F_WRLCK };
	assert_int_equal(ops->getlk(f->fs, &f->ctx, id, fh2, 2, &q), 0);
	assert_int_equal(q.type, F_RDLCK);
	assert_int_equal(q.start, 0);
	assert_int_equal(q.end, 99);
	assert_int_equal(q.pid, 4242);
	q = (struct fuse_file_lock){ .start = 0, .end = 9, .type = F_WRLCK };
	assert_int_equal(ops->getlk(f->fs, &f->ctx, id, fh2, 1, &q), 0);
	assert_int_equal(q.type, F_UNLCK);
	/* a write lock in the middle of its own read lock: converts, splits */
	wr = (struct fuse_file_lock){ .start = 40, .end = 59, .type = F_WRLCK, .pid = 4242 };
	assert_int_equal(ops->setlk(f->fs, &f->ctx, id, fh1, 1, &wr, false, false), 0);
	un = (struct fuse_file_lock){ .start = 40, .end = 59, .type = F_UNLCK, .pid = 4242 };
	assert_int_equal(ops->setlk(f->fs, &f->ctx, id, fh1, 1, &un, false, false), 0);
	wr = (struct fuse_file_lock){ .start = 40, .end = 59, .type = F_WRLCK, .pid = 4343 };
	assert_int_equal(ops->setlk(f->fs, &f->ctx, id, fh2, 2, &wr, false, false), 0);
	wr.start = wr.end = 5;
	assert_int_equal(ops->setlk(f->fs, &f->ctx, id, fh2, 2, &wr, false, false), -EAGAIN);
	wr.start = wr.end = 95;
	assert_int_equal(ops->setlk(f->fs, &f->ctx, id, fh2, 2, &wr, false, false), -EAGAIN);
	/* the owner closes another handle of the file: its locks go */
	assert_int_equal(ops->flush(f->fs, &f->ctx, id, fh2, 1), 0);
	wr = (struct fuse_file_lock){ .start = 0, .end = INT64_MAX, .type = F_WRLCK, .pid = 1 };
	assert_int_equal(ops->setlk(f->fs, &f->ctx, id, fh1, 3, &wr, false, false), -EAGAIN);
	assert_int_equal(ops->flush(f->fs, &f->ctx, id, fh1, 2), 0);
	assert_int_equal(ops->setlk(f->fs, &f->ctx, id, fh1, 3, &wr, false, false), 0);
	/* an owner that never locked unlocks nothing, successfully */
	un.start = 0;
	assert_int_equal(ops->setlk(f->fs, &f->ctx, id, fh1, 9, &un, false, false), 0);
	/* an OFD lock's owner is the guest's open file: no FLUSH ever names
	 * it, RELEASE of its handle drops its locks */
	assert_int_equal(ops->release(f->fs, &f->ctx, id, fh1, 0, 0, 0), 0);
	assert_int_equal(ops->setlk(f->fs, &f->ctx, id, fh2, 4, &wr, false, false), 0);
	assert_int_equal(ops->release(f->fs, &f->ctx, id, fh2, 0, 0, 0), 0);
}

/* trusted.* is hidden from, and refused to, unprivileged callers. */
static void test_xattr_trusted_unpriv(void **state)
{
	struct fixture *f = *state;
	char buf[256];
	uint64_t id;
	ssize_t n;

	host_write(f, "t", "x");
	assert_int_equal(setxattr(host(f, "t"), "trusted.t", "tv", 2, 0), 0);
	assert_int_equal(setxattr(host(f, "t"), "user.u", "uv", 2, 0), 0);
	assert_int_equal(setxattr(host(f, "t"), "trusted.z", "zv", 2, 0), 0);
	id = lookup(f, 1, "t");
	f->ctx.uid = 1000;
	f->ctx.gid = 1000;
	n = ops->listxattr(f->fs, &f->ctx, id, buf, sizeof(buf));
	assert_true(n > 0);
	assert_null(memmem(buf, (size_t)n, "trusted.", 8));
	assert_non_null(memmem(buf, (size_t)n, "user.u\0", 7));
	assert_int_equal(ops->listxattr(f->fs, &f->ctx, id, NULL, 0), n);
	assert_int_equal(ops->listxattr(f->fs, &f->ctx, id, buf, (size_t)n - 1), -ERANGE);
	assert_int_equal(ops->getxattr(f->fs, &f->ctx, id, "trusted.t", buf, sizeof(buf)),
			 -ENODATA);
	assert_int_equal(ops->setxattr(f->fs, &f->ctx, id, "trusted.x", "1", 1, 0, 0), -EPERM);
	assert_int_equal(ops->removexattr(f->fs, &f->ctx, id, "trusted.t"), -EPERM);
	f->ctx.uid = f->ctx.gid = 0;
	n = ops->listxattr(f->fs, &f->ctx, id, buf, sizeof(buf));
	assert_non_null(memmem(buf, (size_t)n, "trusted.t\0", 10));
	assert_int_equal(ops->getxattr(f->fs, &f->ctx, id, "trusted.t", buf, sizeof(buf)), 2);
}

/* S_ISGID on a new file is the host's decision for the caller's identity
 * (CVE-2022-0358): a caller outside the file's group loses it, and the
 * supplementary group the guest vouches for (FUSE_CREATE_SUPP_GROUP)
 * makes it a member. The daemon never puts the bit back itself. */
static void test_create_sgid_needs_group(void **state)
{
	struct fixture *f = *state;
	static const gid_t shared = 3000;
	struct fuse_entry_out e;
	struct fuse_open_out o;

	assert_int_equal(mkdir(host(f, "g"), 0777), 0);
	assert_int_equal(chown(host(f, "g"), 0, shared), 0);
	assert_int_equal(chmod(host(f, "g"), 03777), 0);
	f->ctx.uid = 1000;
	f->ctx.gid = 1000;
	assert_int_equal(ops->create(f->fs, &f->ctx, lookup(f, 1, "g"), "c", 02755, O_RDWR, 0, 0,
				     &e, &o), 0);
	assert_int_equal(e.attr.mode & 07777, 0755);
	assert_int_equal(host_stat(f, "g/c").st_mode & 07777, 0755);
	assert_int_equal(host_stat(f, "g/c").st_gid, shared);
	assert_int_equal(ops->mknod(f->fs, &f->ctx, lookup(f, 1, "g"), "n", S_IFREG | 02750, 0, 0,
				    &e), 0);
	assert_int_equal(host_stat(f, "g/n").st_mode & 07777, 0750);
	assert_int_equal(ops->tmpfile(f->fs, &f->ctx, lookup(f, 1, "g"), 02755, O_RDWR, 0, &e, &o),
			 0);
	assert_int_equal(e.attr.mode & 07777, 0755);
	/* a directory takes S_ISGID from its parent, whoever makes it */
	assert_int_equal(ops->mkdir(f->fs, &f->ctx, lookup(f, 1, "g"), "s", 0755, 0, &e), 0);
	assert_int_equal(host_stat(f, "g/s").st_mode & 07777, 02755);

	/* a member through the group the guest sent keeps it */
	f->ctx.groups = &shared;
	f->ctx.ngroups = 1;
	assert_int_equal(ops->create(f->fs, &f->ctx, lookup(f, 1, "g"), "m", 02755, O_RDWR, 0, 0,
				     &e, &o), 0);
	assert_int_equal(host_stat(f, "g/m").st_mode & 07777, 02755);
	assert_int_equal(ops->mknod(f->fs, &f->ctx, lookup(f, 1, "g"), "mn", S_IFREG | 02750, 0, 0,
				    &e), 0);
	assert_int_equal(host_stat(f, "g/mn").st_mode & 07777, 02750);
	/* the group lasts for that request only */
	f->ctx.groups = NULL;
	f->ctx.ngroups = 0;
	assert_int_equal(ops->create(f->fs, &f->ctx, lookup(f, 1, "g"), "x", 02755, O_RDWR, 0, 0,
				     &e, &o), 0);
	assert_int_equal(host_stat(f, "g/x").st_mode & 07777, 0755);
}

/* FUSE_OPEN_KILL_SUIDGID: an O_TRUNC open clears setuid/setgid. */
static void test_open_kill_suidgid(void **state)
{
	struct fixture *f = *state;
	struct fuse_entry_out e;
	struct fuse_open_out o;
	uint64_t id;

	host_write(f, "s", "data");
	assert_int_equal(chmod(host(f, "s"), 06777), 0);
	id = lookup(f, 1, "s");
	/* without the flag, or without O_TRUNC: kept */
	assert_int_equal(ops->open(f->fs, &f->ctx, id, O_WRONLY | O_TRUNC, 0, &o), 0);
	assert_int_equal(host_stat(f, "s").st_mode & 07777, 06777);
	assert_int_equal(ops->open(f->fs, &f->ctx, id, O_WRONLY, FUSE_OPEN_KILL_SUIDGID, &o), 0);
	assert_int_equal(host_stat(f, "s").st_mode & 07777, 06777);
	assert_int_equal(
		ops->open(f->fs, &f->ctx, id, O_WRONLY | O_TRUNC, FUSE_OPEN_KILL_SUIDGID, &o), 0);
	assert_int_equal(host_stat(f, "s").st_mode & 07777, 0777);
	/* CREATE of an existing file with O_TRUNC */
	assert_int_equal(chmod(host(f, "s"), 06777), 0);
	assert_int_equal(ops->create(f->fs, &f->ctx, 1, "s", 0644, O_WRONLY | O_TRUNC, 0,
				     FUSE_OPEN_KILL_SUIDGID, &e, &o), 0);
	assert_int_equal(host_stat(f, "s").st_mode & 07777, 0777);
	assert_int_equal(host_stat(f, "s").st_size, 0);
	/* CAP_FSETID is back: a plain truncate by root keeps the bits */
	assert_int_equal(chmod(host(f, "s"), 06777), 0);
	assert_int_equal(ops->open(f->fs, &f->ctx, id, O_WRONLY | O_TRUNC, 0, &o), 0);
	assert_int_equal(host_stat(f, "s").st_mode & 07777, 06777);
}

/* FUSE_SETXATTR_ACL_KILL_SGID: setting the access ACL clears S_ISGID. */
static void test_setxattr_acl_kill_sgid(void **state)
{
	struct fixture *f = *state;
	/* raw posix_acl xattr: version 2, USER_OBJ rwx, GROUP_OBJ r-x, OTHER --- */
	const uint32_t acl[] = { 2, 0x01 | (7u << 16), 0xffffffffu, 0x04 | (5u << 16),
				 0xffffffffu, 0x20, 0xffffffffu };
	uint64_t id;

	host_write(f, "a", "x");
	assert_int_equal(chown(host(f, "a"), 1000, 3000), 0);
	assert_int_equal(chmod(host(f, "a"), 02770), 0);
	id = lookup(f, 1, "a");
	assert_int_equal(ops->setxattr(f->fs, &f->ctx, id, "system.posix_acl_access", acl,
				       sizeof(acl), 0, 0), 0);
	assert_int_equal(host_stat(f, "a").st_mode & 07777, 02750);
	f->ctx.uid = 1000;
	f->ctx.gid = 1000;
	assert_int_equal(ops->setxattr(f->fs, &f->ctx, id, "system.posix_acl_access", acl,
				       sizeof(acl), 0, FUSE_SETXATTR_ACL_KILL_SGID), 0);
	assert_int_equal(host_stat(f, "a").st_mode & 07777, 0750);
	/* other names: no effect */
	assert_int_equal(chmod(host(f, "a"), 02770), 0);
	assert_int_equal(ops->setxattr(f->fs, &f->ctx, id, "user.x", "1", 1, 0,
				       FUSE_SETXATTR_ACL_KILL_SGID), 0);
	assert_int_equal(host_stat(f, "a").st_mode & 07777, 02770);
}

static void test_flock(void **state)
{
	struct fixture *f = *state;
	uint64_t id, fh1, fh2;
	struct fuse_file_lock ex = { .type = F_WRLCK }, sh = { .type = F_RDLCK };

	fh1 = create_file(f, "fl", 0644, &id);
	fh2 = open_file(f, id, O_RDONLY);
	assert_int_equal(ops->setlk(f->fs, &f->ctx, id, fh1, 1, &ex, false, true), 0);
	assert_int_equal(ops->setlk(f->fs, &f->ctx, id, fh2, 2, &sh, false, true), -EAGAIN);
	check_interrupt(f, id, fh2, true);
	assert_int_equal(ops->release(f->fs, &f->ctx, id, fh1, 0, FUSE_RELEASE_FLOCK_UNLOCK, 1), 0);
	assert_int_equal(ops->setlk(f->fs, &f->ctx, id, fh2, 2, &sh, false, true), 0);
}

static void test_kill_suid_on_write(void **state)
{
	struct fixture *f = *state;
	uint64_t id, fh;

	host_write(f, "s", "x");
	assert_int_equal(chmod(host(f, "s"), 06755), 0);
	id = lookup(f, 1, "s");
	fh = open_file(f, id, O_WRONLY);
	/* root keeps the bits on a plain write, as on the host */
	assert_int_equal(write_str(f, fh, 0, "a", 0), 1);
	assert_int_equal(host_stat(f, "s").st_mode & 07777, 06755);
	assert_int_equal(write_str(f, fh, 0, "b", FUSE_WRITE_KILL_SUIDGID), 1);
	assert_int_equal(host_stat(f, "s").st_mode & 07777, 0755);
	assert_string_equal(host_read(f, "s"), "b");

	/* setgid without group-exec is not a privilege: it stays */
	assert_int_equal(chmod(host(f, "s"), 06745), 0);
	assert_int_equal(write_str(f, fh, 0, "c", FUSE_WRITE_KILL_SUIDGID), 1);
	assert_int_equal(host_stat(f, "s").st_mode & 07777, 02745);
	/* CAP_FSETID came back after the write */
	assert_int_equal(chmod(host(f, "s"), 06755), 0);
	assert_int_equal(write_str(f, fh, 0, "d", 0), 1);
	assert_int_equal(host_stat(f, "s").st_mode & 07777, 06755);
}

/* Linux 6.2 and later clear setgid without group execute for a writer
 * outside the file's group (setattr_should_drop_sgid); earlier kernels
 * kept it for everyone. */
static bool kernel_drops_sgid_nox(void)
{
	struct utsname u;
	unsigned major = 0, minor = 0;

	return uname(&u) == 0 && sscanf(u.release, "%u.%u", &major, &minor) == 2 &&
	       (major > 6 || (major == 6 && minor >= 2));
}

/* Whether a write clears setgid without group execute depends on the
 * writer's group: the caller's, not the daemon's (gid 0), on writes and
 * O_TRUNC opens through fds the daemon holds. */
static void test_kill_sgid_nox_by_callers_group(void **state)
{
	struct fixture *f = *state;
	mode_t other_after = kernel_drops_sgid_nox() ? 0767 : 02767;
	struct fuse_open_out o;
	uint64_t other, own, id;

	host_write(f, "other", "x");
	host_write(f, "own", "x");
	assert_int_equal(chown(host(f, "own"), 0, 1000), 0);
	assert_int_equal(chmod(host(f, "other"), 02767), 0);
	assert_int_equal(chmod(host(f, "own"), 02767), 0);
	other = lookup(f, 1, "other");
	own = lookup(f, 1, "own");
	f->ctx.uid = 1000;
	f->ctx.gid = 1000;
	assert_int_equal(write_str(f, open_file(f, other, O_WRONLY), 0, "a", 0), 1);
	assert_int_equal(host_stat(f, "other").st_mode & 07777, other_after);
	assert_int_equal(write_str(f, open_file(f, own, O_WRONLY), 0, "a", 0), 1);
	assert_int_equal(host_stat(f, "own").st_mode & 07777, 02767);

	assert_int_equal(chmod(host(f, "other"), 02767), 0);
	assert_int_equal(ops->open(f->fs, &f->ctx, other, O_WRONLY | O_TRUNC, 0, &o), 0);
	assert_int_equal(host_stat(f, "other").st_mode & 07777, other_after);
	assert_int_equal(ops->open(f->fs, &f->ctx, own, O_WRONLY | O_TRUNC, 0, &o), 0);
	assert_int_equal(host_stat(f, "own").st_mode & 07777, 02767);

	/* the daemon's own gid is back: root's new file is root's group */
	f->ctx.uid = 0;
	f->ctx.gid = 0;
	create_file(f, "after", 0644, &id);
	assert_int_equal(host_stat(f, "after").st_gid, 0);
}

static void test_kill_suid_on_chown_truncate(void **state)
{
	struct fixture *f = *state;
	struct fuse_setattr_in in;
	struct fuse_attr_out a;
	uint64_t id;

	host_write(f, "s", "xyz");
	assert_int_equal(chmod(host(f, "s"), 06755), 0);
	id = lookup(f, 1, "s");
	in = (struct fuse_setattr_in){ .valid = FATTR_UID, .uid = 1000 };
	assert_int_equal(ops->setattr(f->fs, &f->ctx, id, &in, &a), 0);
	assert_int_equal(host_stat(f, "s").st_mode & 07777, 0755);
	assert_int_equal(host_stat(f, "s").st_uid, 1000);
	assert_int_equal(a.attr.mode & 07777, 0755);

	assert_int_equal(chmod(host(f, "s"), 04755), 0);
	in = (struct fuse_setattr_in){ .valid = FATTR_SIZE, .size = 1 };
	assert_int_equal(ops->setattr(f->fs, &f->ctx, id, &in, &a), 0);
	assert_int_equal(host_stat(f, "s").st_mode & 07777, 04755);
	in = (struct fuse_setattr_in){ .valid = FATTR_SIZE | FATTR_KILL_SUIDGID, .size = 0 };
	assert_int_equal(ops->setattr(f->fs, &f->ctx, id, &in, &a), 0);
	assert_int_equal(host_stat(f, "s").st_mode & 07777, 0755);
	assert_int_equal(host_stat(f, "s").st_size, 0);
}

static void test_create_as_caller(void **state)
{
	struct fixture *f = *state;
	struct fuse_entry_out e;
	struct fuse_open_out o;
	struct stat st;
	const char *names[] = { "c", "d", "n", "l" };
	size_t i;

	f->ctx.uid = 1234;
	f->ctx.gid = 5678;
	assert_int_equal(ops->create(f->fs, &f->ctx, 1, "c", 0600, O_RDWR, 0, 0, &e, &o), 0);
	assert_int_equal(e.attr.uid, 1234);
	assert_int_equal(e.attr.gid, 5678);
	assert_int_equal(ops->mkdir(f->fs, &f->ctx, 1, "d", 0700, 0, &e), 0);
	assert_int_equal(ops->mknod(f->fs, &f->ctx, 1, "n", S_IFIFO | 0600, 0, 0, &e), 0);
	assert_int_equal(ops->symlink(f->fs, &f->ctx, 1, "l", "c", &e), 0);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		st = host_stat(f, names[i]);
		assert_int_equal(st.st_uid, 1234);
		assert_int_equal(st.st_gid, 5678);
	}
	/* a device node needs CAP_MKNOD, which a non-root fsuid lacks */
	assert_int_equal(ops->mknod(f->fs, &f->ctx, 1, "dev", S_IFCHR | 0600, 0x103, 0, &e),
			 -EPERM);
	/* and the thread is root again afterwards */
	assert_int_equal(syscall(SYS_setfsuid, -1), 0);
	assert_int_equal(syscall(SYS_setfsgid, -1), 0);
	host_write(f, "root-owned", "");
	assert_int_equal(host_stat(f, "root-owned").st_uid, 0);

	/* tmpfile: owned by the caller, without a name, linkable */
	assert_int_equal(ops->tmpfile(f->fs, &f->ctx, 1, 0640, O_RDWR, 0, &e, &o), 0);
	assert_int_equal(e.attr.uid, 1234);
	assert_int_equal(e.attr.nlink, 0);
	assert_int_equal(write_str(f, o.fh, 0, "tmp", 0), 3);
	f->ctx.uid = f->ctx.gid = 0;
	assert_int_equal(ops->link(f->fs, &f->ctx, e.nodeid, 1, "was-tmp", &e), 0);
	assert_string_equal(host_read(f, "was-tmp"), "tmp");
	assert_int_equal(host_stat(f, "was-tmp").st_uid, 1234);
	/* O_TMPFILE | O_EXCL: never linkable */
	assert_int_equal(ops->tmpfile(f->fs, &f->ctx, 1, 0640, O_RDWR | O_EXCL, 0, &e, &o), 0);
	assert_int_equal(ops->link(f->fs, &f->ctx, e.nodeid, 1, "excl", &e), -ENOENT);
}

static void test_submount_flag(void **state)
{
	struct fixture *f = *state;
	struct passthrough_config cfg = default_config(f->root);
	struct fuse_entry_out e;
	char other[PATH_MAX + 8];
	struct passthrough *fs;

	snprintf(other, sizeof(other), "%s-other", f->root);
	assert_int_equal(mkdir(other, 0755), 0);
	assert_int_equal(mkdir(host(f, "mnt"), 0755), 0);
	assert_int_equal(mkdir(host(f, "plain"), 0755), 0);
	if (mount(other, host(f, "mnt"), NULL, MS_BIND, NULL) < 0) {
		rmdir(other);
		skip();	/* no mount rights here */
	}
	cfg.announce_submounts = true;
	fs = fs_start(&cfg);
	assert_int_equal(ops->lookup(fs, &f->ctx, 1, "mnt", &e), 0);
	assert_int_equal(e.attr.flags & FUSE_ATTR_SUBMOUNT, FUSE_ATTR_SUBMOUNT);
	assert_int_equal(ops->lookup(fs, &f->ctx, 1, "plain", &e), 0);
	assert_int_equal(e.attr.flags, 0);
	passthrough_free(fs);
	/* not announced: no flag */
	assert_int_equal(ops->lookup(f->fs, &f->ctx, 1, "mnt", &e), 0);
	assert_int_equal(e.attr.flags, 0);
	assert_int_equal(umount2(host(f, "mnt"), MNT_DETACH), 0);
	rmdir(other);
}

struct creator {
	struct fixture *f;
	unsigned int index;
	int failures;
};

enum { CREATORS = 4, CREATES = 50 };

static void *creator_run(void *arg)
{
	struct creator *c = arg;
	struct fs_ctx ctx = { .uid = 1000 + c->index, .gid = 2000 + c->index };
	struct fs_ctx root_ctx = { 0 };
	struct passthrough *fs = c->f->fs;
	int i;

	for (i = 0; i < CREATES; i++) {
		struct fuse_entry_out e, e2;
		struct fuse_open_out o;
		struct fuse_attr_out a;
		char name[32];

		snprintf(name, sizeof(name), "t%u-%d", c->index, i);
		/* odd threads create as a user, even ones as root: the
		 * identity of one must never leak into the other */
		if (ops->create(fs, (c->index & 1) ? &ctx : &root_ctx, 1, name, 0644, O_RDWR, 0,
				0, &e, &o) ||
		    ops->lookup(fs, &root_ctx, 1, name, &e2) || e2.nodeid != e.nodeid ||
		    ops->getattr(fs, &root_ctx, e.nodeid, false, 0, &a) ||
		    a.attr.uid != ((c->index & 1) ? ctx.uid : 0) ||
		    ops->release(fs, &root_ctx, e.nodeid, o.fh, 0, 0, 0))
			c->failures++;
		ops->forget(fs, e.nodeid, 2);
	}
	return NULL;
}

static void test_concurrent_ops(void **state)
{
	struct fixture *f = *state;
	struct creator c[CREATORS];
	pthread_t th[CREATORS];
	unsigned int i;
	int n;

	for (i = 0; i < CREATORS; i++) {
		c[i] = (struct creator){ .f = f, .index = i };
		assert_int_equal(pthread_create(&th[i], NULL, creator_run, &c[i]), 0);
	}
	for (i = 0; i < CREATORS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(c[i].failures, 0);
	}
	for (i = 0; i < CREATORS; i++) {
		for (n = 0; n < CREATES; n++) {
			char name[32];

			snprintf(name, sizeof(name), "t%u-%d", i, n);
			assert_int_equal(host_stat(f, name).st_uid, (i & 1) ? 1000 + i : 0);
			assert_int_equal(host_stat(f, name).st_gid, (i & 1) ? 2000 + i : 0);
		}
	}
	assert_int_equal(inode_table_count(&f->fs->inodes), 1);
	assert_int_equal(handle_table_count(&f->fs->handles), 0);
}

static void test_access_fsyncdir(void **state)
{
	struct fixture *f = *state;
	struct fs_ctx user = { .uid = 1234, .gid = 1234 };
	struct fuse_open_out o;
	uint64_t id;

	host_write(f, "f", "");
	assert_int_equal(chmod(host(f, "f"), 0600), 0);
	id = lookup(f, 1, "f");
	assert_int_equal(ops->access(f->fs, &f->ctx, id, R_OK | W_OK), 0);
	assert_int_equal(ops->access(f->fs, &user, id, F_OK), 0);
	assert_int_equal(ops->access(f->fs, &user, id, R_OK), -EACCES);
	assert_int_equal(chown(host(f, "f"), 1234, 1234), 0);
	assert_int_equal(ops->access(f->fs, &user, id, R_OK | W_OK), 0);
	assert_int_equal(ops->access(f->fs, &user, id, X_OK), -EACCES);
	assert_int_equal(ops->access(f->fs, &user, 4711, R_OK), -EBADF);
	assert_int_equal(syscall(SYS_setfsuid, -1), 0);

	assert_int_equal(ops->opendir(f->fs, &f->ctx, 1, 0, &o), 0);
	assert_int_equal(ops->fsyncdir(f->fs, &f->ctx, 1, o.fh, false), 0);
	assert_int_equal(ops->fsyncdir(f->fs, &f->ctx, 1, o.fh, true), 0);
	assert_int_equal(ops->fsyncdir(f->fs, &f->ctx, 1, o.fh + 100, true), -EBADF);
	assert_int_equal(ops->opendir(f->fs, &f->ctx, id, 0, &o), -ENOTDIR);
}

static void test_umask_dont_mask(void **state)
{
	struct fixture *f = *state;
	struct fuse_entry_out e;
	struct fs_init init = { .kernel_flags = ~0ULL };
	struct passthrough_config cfg = default_config(f->root);
	struct passthrough *fs;

	/* without FUSE_DONT_MASK the mode is used as given */
	assert_int_equal(ops->mkdir(f->fs, &f->ctx, 1, "m1", 0777, 022, &e), 0);
	assert_int_equal(host_stat(f, "m1").st_mode & 0777, 0777);
	cfg.posix_acl = true;
	fs = passthrough_new(&cfg, NULL);
	assert_non_null(fs);
	assert_int_equal(ops->init(fs, &init), 0);
	assert_true(init.want_flags & FUSE_DONT_MASK);
	assert_int_equal(ops->mkdir(fs, &f->ctx, 1, "m2", 0777, 027, &e), 0);
	assert_int_equal(host_stat(f, "m2").st_mode & 0777, 0750);
	passthrough_free(fs);
}

static void test_init_flags(void **state)
{
	struct fixture *f = *state;
	struct passthrough_config cfg = default_config(f->root);
	struct fs_init init = { .kernel_flags = ~0ULL };
	struct passthrough *fs;
	uint64_t want;

	cfg.writeback = true;
	cfg.announce_submounts = true;
	fs = passthrough_new(&cfg, NULL);
	assert_int_equal(ops->init(fs, &init), 0);
	want = init.want_flags;
	assert_true(want & FUSE_DO_READDIRPLUS);
	assert_true(want & FUSE_READDIRPLUS_AUTO);
	assert_true(want & FUSE_WRITEBACK_CACHE);
	assert_true(want & FUSE_POSIX_LOCKS);
	assert_true(want & FUSE_FLOCK_LOCKS);
	assert_true(want & FUSE_SUBMOUNTS);
	assert_true(want & FUSE_HANDLE_KILLPRIV_V2);
	assert_true(want & FUSE_EXPORT_SUPPORT);
	assert_true(want & FUSE_SETXATTR_EXT);
	assert_false(want & FUSE_POSIX_ACL);
	assert_false(want & FUSE_ATOMIC_O_TRUNC);
	assert_false(want & FUSE_DIRECT_IO_ALLOW_MMAP);
	/* a root daemon acts as the caller: it takes the creator's group */
	assert_int_equal(!!(want & FUSE_CREATE_SUPP_GROUP), geteuid() == 0);
	passthrough_free(fs);
	cfg.allow_mmap = true;
	fs = passthrough_new(&cfg, NULL);
	init = (struct fs_init){ .kernel_flags = ~0ULL };
	assert_int_equal(ops->init(fs, &init), 0);
	assert_true(init.want_flags & FUSE_DIRECT_IO_ALLOW_MMAP);
	/* only what the guest offers */
	init = (struct fs_init){ .kernel_flags = FUSE_POSIX_LOCKS | FUSE_ASYNC_READ };
	assert_int_equal(ops->init(fs, &init), 0);
	assert_int_equal(init.want_flags, FUSE_POSIX_LOCKS | FUSE_ASYNC_READ);
	passthrough_free(fs);
}

static void test_cache_modes_writeback(void **state)
{
	struct fixture *f = *state;
	struct passthrough_config cfg = default_config(f->root);
	struct fs_init init = { .kernel_flags = ~0ULL };
	struct fuse_entry_out e;
	struct fuse_open_out o;
	struct pt_handle *h;
	struct passthrough *fs;
	uint64_t id;

	host_write(f, "f", "x");
	id = lookup(f, 1, "f");
	assert_int_equal(ops->open(f->fs, &f->ctx, id, O_RDONLY, 0, &o), 0);
	assert_int_equal(o.open_flags, 0);	/* auto */

	cfg.cache = CACHE_NEVER;
	fs = fs_start(&cfg);
	assert_int_equal(ops->lookup(fs, &f->ctx, 1, "f", &e), 0);
	assert_int_equal(e.entry_valid, 0);
	assert_int_equal(e.attr_valid, 0);
	assert_int_equal(ops->open(fs, &f->ctx, e.nodeid, O_RDONLY | O_DIRECT, 0, &o), 0);
	assert_int_equal(o.open_flags, FOPEN_DIRECT_IO);
	h = handle_table_get(&fs->handles, o.fh, HANDLE_FILE);
	assert_false(fcntl(h->fd, F_GETFL) & O_DIRECT);	/* stripped */
	handle_table_put(&fs->handles, h);
	passthrough_free(fs);

	cfg.cache = CACHE_ALWAYS;
	cfg.writeback = true;
	cfg.allow_direct_io = true;
	fs = passthrough_new(&cfg, NULL);
	assert_int_equal(ops->init(fs, &init), 0);
	assert_int_equal(ops->lookup(fs, &f->ctx, 1, "f", &e), 0);
	assert_int_equal(e.entry_valid, 86400);
	assert_int_equal(ops->open(fs, &f->ctx, e.nodeid, O_WRONLY | O_APPEND | O_DIRECT, 0, &o),
			 0);
	assert_int_equal(o.open_flags, FOPEN_KEEP_CACHE);
	h = handle_table_get(&fs->handles, o.fh, HANDLE_FILE);
	/* writeback: write-only becomes read-write, appends are the guest's */
	assert_int_equal(fcntl(h->fd, F_GETFL) & (O_ACCMODE | O_APPEND | O_DIRECT),
			 O_RDWR | O_DIRECT);
	handle_table_put(&fs->handles, h);
	assert_int_equal(ops->opendir(fs, &f->ctx, 1, 0, &o), 0);
	assert_int_equal(o.open_flags, FOPEN_CACHE_DIR | FOPEN_KEEP_CACHE);
	passthrough_free(fs);

	cfg.cache = CACHE_METADATA;
	fs = fs_start(&cfg);
	assert_int_equal(ops->lookup(fs, &f->ctx, 1, "f", &e), 0);
	assert_int_equal(e.attr_valid, 86400);
	assert_int_equal(ops->open(fs, &f->ctx, e.nodeid, O_RDONLY, 0, &o), 0);
	assert_int_equal(o.open_flags, FOPEN_DIRECT_IO);
	passthrough_free(fs);
}

static void test_new_errors(void **state)
{
	struct fixture *f = *state;
	struct passthrough_config cfg = default_config("/nonexistent/dir");
	int err = 0;

	assert_null(passthrough_new(&cfg, &err));
	assert_int_equal(err, -ENOENT);
	host_write(f, "file", "");
	cfg.shared_dir = host(f, "file");
	assert_null(passthrough_new(&cfg, &err));
	assert_int_equal(err, -ENOTDIR);
}

static void test_fd_exhaustion(void **state)
{
	struct fixture *f = *state;
	struct fuse_entry_out e;
	struct rlimit old, low;
	int ret = 0, i;

	host_write(f, "f", "");
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = 64;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	/* distinct inodes, each keeping an O_PATH fd: runs out cleanly */
	for (i = 0; i < 100 && ret == 0; i++) {
		char name[16];
		struct fuse_open_out o;

		snprintf(name, sizeof(name), "n%d", i);
		ret = ops->create(f->fs, &f->ctx, 1, name, 0644, O_RDWR, 0, 0, &e, &o);
	}
	assert_int_equal(ret, -EMFILE);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	assert_int_equal(ops->lookup(f->fs, &f->ctx, 1, "f", &e), 0);
}

/* --security-label: the context the guest sends with a create lands on
 * the new inode, under its --xattrmap name; one that cannot be set (a
 * user.* name on a FIFO or symlink, a name the map refuses) fails the
 * create and leaves nothing behind, as with the Rust virtiofsd. */
static struct passthrough *label_fs(struct fixture *f, const char *map_text,
				    struct xattr_map **map)
{
	struct passthrough_config cfg = default_config(f->root);
	char why[256];

	*map = NULL;
	if (map_text) {
		*map = xattr_map_parse(map_text, why, sizeof(why));
		assert_non_null(*map);
	}
	cfg.security_label = true;
	cfg.xattrmap = *map;
	return fs_start(&cfg);
}

static const char LABEL[] = "system_u:object_r:svirt_t:s0";

static bool host_label(struct fixture *f, const char *name, const char *xname)
{
	char buf[64];
	ssize_t n = lgetxattr(host(f, name), xname, buf, sizeof(buf));

	return n == sizeof(LABEL) - 1 && !memcmp(buf, LABEL, (size_t)n);
}

static bool host_exists(struct fixture *f, const char *name)
{
	struct stat st;

	return lstat(host(f, name), &st) == 0;
}

static void test_security_label(void **state)
{
	struct fixture *f = *state;
	const struct fs_secctx sc = { .name = "security.selinux", .value = LABEL,
				      .size = sizeof(LABEL) - 1 };
	struct fs_ctx ctx = f->ctx;
	struct fuse_entry_out e;
	struct fuse_open_out o;
	struct xattr_map *map;
	struct passthrough *fs = label_fs(f, ":map:security.selinux:user.virtiofs.:", &map);
	const char *mapped = "user.virtiofs.security.selinux";
	char buf[64];

	ctx.secctx = &sc;
	assert_int_equal(ops->create(fs, &ctx, 1, "file", S_IFREG | 0644, O_RDWR, 0, 0, &e, &o), 0);
	assert_true(host_label(f, "file", mapped));
	assert_false(host_label(f, "file", "security.selinux"));
	/* the guest reads it back under its own name */
	assert_int_equal(ops->getxattr(fs, &ctx, e.nodeid, "security.selinux", buf, sizeof(buf)),
			 sizeof(LABEL) - 1);
	assert_int_equal(ops->mkdir(fs, &ctx, 1, "dir", 0755, 0, &e), 0);
	assert_true(host_label(f, "dir", mapped));
	assert_int_equal(ops->mknod(fs, &ctx, 1, "reg", S_IFREG | 0600, 0, 0, &e), 0);
	assert_true(host_label(f, "reg", mapped));
	/* user.* names exist on regular files and directories only */
	assert_int_equal(ops->mknod(fs, &ctx, 1, "fifo", S_IFIFO | 0600, 0, 0, &e), -EPERM);
	assert_false(host_exists(f, "fifo"));
	assert_int_equal(ops->symlink(fs, &ctx, 1, "link", "file", &e), -EPERM);
	assert_false(host_exists(f, "link"));
	assert_int_equal(ops->tmpfile(fs, &ctx, 1, S_IFREG | 0600, O_RDWR, 0, &e, &o), 0);
	assert_int_equal(ops->getxattr(fs, &ctx, e.nodeid, "security.selinux", buf, sizeof(buf)),
			 sizeof(LABEL) - 1);
	/* a caller other than root: the label is still set, by the daemon */
	ctx.uid = ctx.gid = 1234;
	assert_int_equal(ops->mkdir(fs, &ctx, 1, "users", 0755, 0, &e), 0);
	assert_true(host_label(f, "users", mapped));
	assert_int_equal(host_stat(f, "users").st_uid, 1234);
	/* no context (a guest without an LSM that labels): nothing set */
	ctx.secctx = NULL;
	assert_int_equal(ops->mkdir(fs, &ctx, 1, "plain", 0755, 0, &e), 0);
	assert_int_equal(lgetxattr(host(f, "plain"), mapped, NULL, 0), -1);
	passthrough_free(fs);
	xattr_map_free(map);

	/* the map refuses the name: no create at all */
	fs = label_fs(f, ":bad:all:security.:security.: :ok:all:::", &map);
	ctx = f->ctx;
	ctx.secctx = &sc;
	assert_int_equal(ops->mkdir(fs, &ctx, 1, "refused", 0755, 0, &e), -EPERM);
	assert_false(host_exists(f, "refused"));
	assert_int_equal(ops->create(fs, &ctx, 1, "refused", S_IFREG | 0644, O_RDWR, 0, 0, &e, &o),
			 -EPERM);
	assert_false(host_exists(f, "refused"));
	passthrough_free(fs);
	xattr_map_free(map);

	/* unmapped: security.selinux itself, on any kind of inode (root
	 * with CAP_SYS_ADMIN on a host without SELinux) */
	fs = label_fs(f, NULL, &map);
	assert_int_equal(ops->symlink(fs, &ctx, 1, "link2", "file", &e), 0);
	assert_true(host_label(f, "link2", "security.selinux"));
	assert_int_equal(ops->mknod(fs, &ctx, 1, "fifo2", S_IFIFO | 0600, 0, 0, &e), 0);
	assert_true(host_label(f, "fifo2", "security.selinux"));
	passthrough_free(fs);
}

/* A guest that cannot send contexts gets no mount with --security-label. */
static void test_security_label_init(void **state)
{
	struct fixture *f = *state;
	struct passthrough_config cfg = default_config(f->root);
	struct fs_init init = { .proto_minor = 38, .kernel_flags = ~0ULL };
	struct passthrough *fs;
	int err;

	cfg.security_label = true;
	fs = passthrough_new(&cfg, &err);
	assert_non_null(fs);
	assert_int_equal(ops->init(fs, &init), 0);
	assert_true(init.want_flags & FUSE_SECURITY_CTX);
	init = (struct fs_init){ .proto_minor = 38, .kernel_flags = ~0ULL & ~FUSE_SECURITY_CTX };
	assert_int_equal(ops->init(fs, &init), -EPROTO);
	init = (struct fs_init){ .proto_minor = 37, .kernel_flags = ~0ULL };
	assert_int_equal(ops->init(fs, &init), -EPROTO);
	passthrough_free(fs);
	/* and without the option it is never asked for */
	init = (struct fs_init){ .proto_minor = 38, .kernel_flags = ~0ULL };
	assert_int_equal(ops->init(f->fs, &init), 0);
	assert_false(init.want_flags & FUSE_SECURITY_CTX);
}

int main(void)
{
	/* chown, mknod of devices, fsuid switching and trusted.* need root */
	if (geteuid() != 0) {
		fprintf(stderr, "not root: skipping\n");
		return 77;
	}
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_lookup_getattr),
		T(test_statx_btime),
		T(test_unknown_ids),
		T(test_create_write_read),
		T(test_large_offset_and_append),
		T(test_unlinked_open_file),
		T(test_setattr),
		T(test_mkdir_rmdir_unlink),
		T(test_rename),
		T(test_link_symlink_readlink),
		T(test_mknod_special),
		T(test_xattr),
		T(test_xattr_disabled),
		T(test_readdir_many),
		T(test_readdirplus_nlookup),
		T(test_readdir_read_ahead),
		cmocka_unit_test(test_readdir_ahead_budget),
		T(test_lseek_sparse_fallocate),
		T(test_copy_file_range_statfs),
		T(test_posix_locks),
		T(test_posix_lock_owners),
		T(test_xattr_trusted_unpriv),
		T(test_create_sgid_needs_group),
		T(test_open_kill_suidgid),
		T(test_setxattr_acl_kill_sgid),
		T(test_flock),
		T(test_kill_suid_on_write),
		T(test_kill_sgid_nox_by_callers_group),
		T(test_kill_suid_on_chown_truncate),
		T(test_create_as_caller),
		T(test_concurrent_ops),
		T(test_access_fsyncdir),
		T(test_umask_dont_mask),
		T(test_submount_flag),
		T(test_init_flags),
		T(test_cache_modes_writeback),
		T(test_new_errors),
		T(test_fd_exhaustion),
		T(test_security_label),
		T(test_security_label_init),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
