/* The guest cannot exhaust the daemon's fds or memory (CVE-2020-10717):
 * the inode table and the open handles (lock owners' files included) are
 * capped, the caps give -ENFILE / -EMFILE and the daemon recovers when
 * the guest forgets or releases; real EMFILE from the kernel leaves no
 * partial state; FORGET floods take constant memory. Runs as root. */
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "passthrough/passthrough_internal.h"

/* The FUSE server's dirent encoder, which the library calls: accept all. */
int fs_dir_filler_add(struct fs_dir_filler *filler, const char *name, size_t name_len,
		      uint64_t ino, uint32_t type, uint64_t next_offset,
		      const struct fuse_entry_out *entry)
{
	size_t *count = (size_t *)filler;

	(void)name, (void)name_len, (void)ino, (void)type, (void)next_offset, (void)entry;
	(*count)++;
	return 0;
}

size_t fs_dir_filler_space(const struct fs_dir_filler *filler)
{
	(void)filler;
	return 4096;
}

static const struct fs_ops *ops = &passthrough_ops;
static const struct fs_ctx root_ctx = { .uid = 0, .gid = 0, .pid = 1, .unique = 1 };

#define NFILES 64

struct fixture {
	char root[PATH_MAX];
	struct passthrough *fs;
};

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static struct passthrough *start(const char *dir, uint64_t inode_limit, uint64_t handle_limit)
{
	struct passthrough_config cfg = {
		.shared_dir = dir,
		.cache = CACHE_AUTO,
		.xattr = true,
		.posix_lock = true,
		.flock = true,
		.readdirplus = true,
		.inode_limit = inode_limit,
		.handle_limit = handle_limit,
	};
	struct fs_init init = { .proto_minor = 38, .kernel_flags = ~0ULL };
	int err = 0;
	struct passthrough *fs = passthrough_new(&cfg, &err);

	if (fs && ops->init(fs, &init) != 0) {
		passthrough_free(fs);
		fs = NULL;
	}
	return fs;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char path[PATH_MAX + 16];
	int i;

	assert_non_null(f);
	snprintf(f->root, sizeof(f->root), "%s/pt-limits-XXXXXX", base);
	assert_non_null(mkdtemp(f->root));
	for (i = 0; i < NFILES; i++) {
		int fd;

		snprintf(path, sizeof(path), "%s/f%d", f->root, i);
		fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
		assert_true(fd >= 0);
		close(fd);
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	passthrough_free(f->fs);
	nftw(f->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static int count_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static long vm_rss_kib(void)
{
	char line[256];
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

static int lookup_file(struct passthrough *fs, int i, uint64_t *nodeid)
{
	struct fuse_entry_out e;
	char name[32];
	int ret;

	snprintf(name, sizeof(name), "f%d", i);
	ret = ops->lookup(fs, &root_ctx, FUSE_ROOT_ID, name, &e);
	if (ret == 0)
		*nodeid = e.nodeid;
	return ret;
}

/* ---- inode limit ---- */

static void test_lookup_flood_enfile_then_recovers(void **state)
{
	struct fixture *f = *state;
	uint64_t ids[NFILES] = { 0 }, id;
	struct fuse_entry_out e;
	struct fuse_open_out o;
	char path[PATH_MAX + 16];
	int i, ok = 0, fds;

	/* the root and 15 more */
	f->fs = start(f->root, 16, 16);
	assert_non_null(f->fs);
	fds = count_open_fds();
	for (i = 0; i < NFILES; i++) {
		int ret = lookup_file(f->fs, i, &ids[i]);

		if (ret == 0) {
			ok++;
		} else {
			assert_int_equal(ret, -ENFILE);
			ids[i] = 0;
		}
	}
	assert_int_equal(ok, 15);
	assert_int_equal(inode_table_count(&f->fs->inodes), 16);
	/* no fd kept for the refused ones */
	assert_int_equal(count_open_fds(), fds + 15);
	/* known names still resolve at the limit, and "." too */
	assert_int_equal(lookup_file(f->fs, 0, &id), 0);
	assert_int_equal(id, ids[0]);
	assert_int_equal(ops->lookup(f->fs, &root_ctx, FUSE_ROOT_ID, ".", &e), 0);
	/* creating ops refuse before creating anything on the host */
	assert_int_equal(ops->mkdir(f->fs, &root_ctx, FUSE_ROOT_ID, "d", 0755, 0, &e), -ENFILE);
	snprintf(path, sizeof(path), "%s/d", f->root);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(ops->symlink(f->fs, &root_ctx, FUSE_ROOT_ID, "s", "t", &e), -ENFILE);
	assert_int_equal(ops->mknod(f->fs, &root_ctx, FUSE_ROOT_ID, "n", S_IFREG | 0644, 0, 0, &e),
			 -ENFILE);
	assert_int_equal(ops->create(f->fs, &root_ctx, FUSE_ROOT_ID, "c", S_IFREG | 0644,
				     O_RDWR, 0, 0, &e, &o), -ENFILE);
	snprintf(path, sizeof(path), "%s/c", f->root);
	assert_int_equal(access(path, F_OK), -1);

	/* the guest forgets: room again */
	ops->forget(f->fs, ids[0], 2);
	ops->forget(f->fs, ids[1], 1);
	assert_int_equal(lookup_file(f->fs, NFILES - 1, &id), 0);
	assert_int_equal(ops->mkdir(f->fs, &root_ctx, FUSE_ROOT_ID, "d", 0755, 0, &e), 0);
	assert_int_equal(lookup_file(f->fs, NFILES - 2, &id), -ENFILE);
	for (i = 0; i < NFILES; i++)
		if (ids[i])
			ops->forget(f->fs, ids[i], 1);
	ok = 0;
	for (i = 0; i < NFILES; i++)
		ok += lookup_file(f->fs, i, &id) == 0;
	/* the root, "d" and f63 stay; 13 more fit */
	assert_int_equal(inode_table_count(&f->fs->inodes), 16);
}

/* ---- handle limit ---- */

static void test_open_flood_emfile_then_recovers(void **state)
{
	struct fixture *f = *state;
	uint64_t id, fhs[NFILES];
	struct fuse_entry_out e;
	struct fuse_open_out o;
	char path[PATH_MAX + 16];
	int i, n = 0, fds, ret;

	f->fs = start(f->root, 1000, 8);
	assert_non_null(f->fs);
	assert_int_equal(lookup_file(f->fs, 0, &id), 0);
	fds = count_open_fds();
	for (i = 0; i < NFILES; i++) {
		ret = ops->open(f->fs, &root_ctx, id, O_RDONLY, 0, &o);
		if (ret == 0)
			fhs[n++] = o.fh;
		else
			assert_int_equal(ret, -EMFILE);
	}
	assert_int_equal(n, 8);
	assert_int_equal(count_open_fds(), fds + 8);
	assert_int_equal(ops->opendir(f->fs, &root_ctx, FUSE_ROOT_ID, 0, &o), -EMFILE);
	assert_int_equal(ops->create(f->fs, &root_ctx, FUSE_ROOT_ID, "c", S_IFREG | 0644,
				     O_RDWR, 0, 0, &e, &o), -EMFILE);
	assert_int_equal(ops->tmpfile(f->fs, &root_ctx, FUSE_ROOT_ID, S_IFREG | 0644, O_RDWR, 0,
				      &e, &o), -EMFILE);
	snprintf(path, sizeof(path), "%s/c", f->root);
	assert_int_equal(access(path, F_OK), -1);
	/* what is open keeps working */
	assert_int_equal(ops->fsync(f->fs, &root_ctx, id, fhs[0], false), 0);

	/* RELEASE makes room */
	assert_int_equal(ops->release(f->fs, &root_ctx, id, fhs[0], 0, 0, 0), 0);
	assert_int_equal(ops->release(f->fs, &root_ctx, id, fhs[1], 0, 0, 0), 0);
	assert_int_equal(ops->opendir(f->fs, &root_ctx, FUSE_ROOT_ID, 0, &o), 0);
	assert_int_equal(ops->releasedir(f->fs, &root_ctx, FUSE_ROOT_ID, o.fh), 0);
	assert_int_equal(ops->create(f->fs, &root_ctx, FUSE_ROOT_ID, "c", S_IFREG | 0644,
				     O_RDWR, 0, 0, &e, &o), 0);
	assert_int_equal(ops->release(f->fs, &root_ctx, e.nodeid, o.fh, 0, 0, 0), 0);
	ops->forget(f->fs, e.nodeid, 1);
	assert_int_equal(ops->open(f->fs, &root_ctx, id, O_RDONLY, 0, &o), 0);
	for (i = 2; i < n; i++)
		assert_int_equal(ops->release(f->fs, &root_ctx, id, fhs[i], 0, 0, 0), 0);
	assert_int_equal(ops->release(f->fs, &root_ctx, id, o.fh, 0, 0, 0), 0);
	assert_int_equal(count_open_fds(), fds);
	assert_int_equal(handle_table_count(&f->fs->handles), 0);
	assert_int_equal(f->fs->handles.charged, 0);
}

/* Every POSIX lock owner costs an fd: the owners are charged to the
 * handle limit, so a million owners get -EMFILE, not our fds. */
static void test_lock_owner_flood(void **state)
{
	struct fixture *f = *state;
	struct fuse_file_lock lk = { .start = 0, .end = 0, .type = F_RDLCK, .pid = 7 };
	struct fuse_open_out o;
	uint64_t id, owner;
	int fds, granted = 0, ret;

	f->fs = start(f->root, 1000, 16);
	assert_non_null(f->fs);
	assert_int_equal(lookup_file(f->fs, 0, &id), 0);
	assert_int_equal(ops->open(f->fs, &root_ctx, id, O_RDWR, 0, &o), 0);
	fds = count_open_fds();
	for (owner = 1; owner <= 10000; owner++) {
		lk.start = lk.end = owner;
		ret = ops->setlk(f->fs, &root_ctx, id, o.fh, owner, &lk, false, false);
		if (ret == 0)
			granted++;
		else
			assert_int_equal(ret, -EMFILE);
	}
	/* one handle and 15 owners */
	assert_int_equal(granted, 15);
	assert_int_equal(count_open_fds(), fds + 15);
	/* unlocking as an unknown owner needs no file */
	lk.type = F_UNLCK;
	assert_int_equal(ops->setlk(f->fs, &root_ctx, id, o.fh, 99999, &lk, false, false), 0);
	/* GETLK of an owner without a file opens nothing */
	lk.type = F_WRLCK;
	lk.start = 1;
	lk.end = 1;
	assert_int_equal(ops->getlk(f->fs, &root_ctx, id, o.fh, 99999, &lk), 0);
	assert_int_equal(lk.type, F_RDLCK);
	assert_int_equal(ops->open(f->fs, &root_ctx, id, O_RDONLY, 0, &(struct fuse_open_out){ 0 }),
			 -EMFILE);

	/* an owner's close (FLUSH) gives its file back */
	assert_int_equal(ops->flush(f->fs, &root_ctx, id, o.fh, 1), 0);
	lk = (struct fuse_file_lock){ .start = 20000, .end = 20000, .type = F_WRLCK };
	assert_int_equal(ops->setlk(f->fs, &root_ctx, id, o.fh, 20000, &lk, false, false), 0);
	/* RELEASE drops every owner whose last lock went through the handle */
	assert_int_equal(ops->release(f->fs, &root_ctx, id, o.fh, 0, 0, 0), 0);
	assert_int_equal(count_open_fds(), fds - 1);
	assert_int_equal(f->fs->handles.charged, 0);
}

/* A forget of the inode frees its owners' files and their charge. */
static void test_lock_owners_freed_with_inode(void **state)
{
	struct fixture *f = *state;
	struct fuse_file_lock lk = { .start = 0, .end = 0, .type = F_RDLCK };
	struct fuse_open_out o;
	uint64_t id, owner;

	f->fs = start(f->root, 1000, 4);
	assert_non_null(f->fs);
	assert_int_equal(lookup_file(f->fs, 0, &id), 0);
	assert_int_equal(ops->open(f->fs, &root_ctx, id, O_RDWR, 0, &o), 0);
	for (owner = 1; owner <= 3; owner++)
		assert_int_equal(ops->setlk(f->fs, &root_ctx, id, o.fh, owner, &lk, false, false), 0);
	/* the guest lost track: no FLUSH; RELEASE without posix_lock negotiated */
	f->fs->posix_lock = false;
	assert_int_equal(ops->release(f->fs, &root_ctx, id, o.fh, 0, 0, 0), 0);
	assert_int_equal(f->fs->handles.charged, 3);
	ops->forget(f->fs, id, 1);
	assert_int_equal(f->fs->handles.charged, 0);
}

/* ---- FORGET flood ---- */

static void test_forget_flood_constant_memory(void **state)
{
	struct fixture *f = *state;
	long before, after;
	uint64_t i, id;

	f->fs = start(f->root, 0, 0);
	assert_non_null(f->fs);
	assert_int_equal(lookup_file(f->fs, 0, &id), 0);
	for (i = 0; i < 1000; i++)
		ops->forget(f->fs, id + 1 + i, 1);
	before = vm_rss_kib();
	assert_true(before > 0);
	for (i = 0; i < 1000000; i++) {
		/* unknown ids: fresh ones, huge ones, the never-used 0 */
		uint64_t nodeid = i % 3 == 0 ? id + 1 + i : i % 3 == 1 ? ~i : 0;

		ops->forget(f->fs, nodeid, UINT64_MAX - i);
	}
	after = vm_rss_kib();
	assert_true(after - before < 512);
	/* the known inode and the root are untouched */
	assert_int_equal(inode_table_count(&f->fs->inodes), 2);
	assert_int_equal(lookup_file(f->fs, 0, &i), 0);
	assert_int_equal(i, id);
	/* and forgetting the root never frees it */
	ops->forget(f->fs, FUSE_ROOT_ID, UINT64_MAX);
	assert_non_null(f->fs->inodes.root);
	assert_int_equal(inode_table_count(&f->fs->inodes), 2);
}

/* ---- open directories keep no buffers ---- */

static void test_open_dirs_hold_no_buffers(void **state)
{
#if defined(__SANITIZE_ADDRESS__)
	(void)state;
	skip();	/* ASan's quarantine keeps freed buffers resident */
#else
	struct fixture *f = *state;
	uint64_t fhs[512];
	long before, after;
	int i;

	f->fs = start(f->root, 0, 4096);
	assert_non_null(f->fs);
	before = vm_rss_kib();
	for (i = 0; i < 512; i++) {
		struct fuse_open_out o;
		size_t count = 0;

		assert_int_equal(ops->opendir(f->fs, &root_ctx, FUSE_ROOT_ID, 0, &o), 0);
		fhs[i] = o.fh;
		assert_int_equal(ops->readdir(f->fs, &root_ctx, FUSE_ROOT_ID, o.fh, 0, false,
					      (struct fs_dir_filler *)&count), 0);
		assert_int_equal(count, NFILES + 2);
	}
	after = vm_rss_kib();
	/* 32 KiB kept per directory would be 16 MiB */
	assert_true(after - before < 4096);
	for (i = 0; i < 512; i++)
		assert_int_equal(ops->releasedir(f->fs, &root_ctx, FUSE_ROOT_ID, fhs[i]), 0);
#endif
}

/* ---- xattr sizes ---- */

static void test_xattr_bounds(void **state)
{
	struct fixture *f = *state;
	static char big[256 * 1024];
	uint64_t id;

	f->fs = start(f->root, 0, 0);
	assert_non_null(f->fs);
	assert_int_equal(lookup_file(f->fs, 0, &id), 0);
	assert_int_equal(ops->setxattr(f->fs, &root_ctx, id, "user.big", big, 64 * 1024 + 1, 0, 0),
			 -E2BIG);
	assert_int_equal(ops->setxattr(f->fs, &root_ctx, id, "user.a", "v", 1, 0, 0), 0);
	/* a huge buffer from the guest is used up to 64 KiB only */
	assert_int_equal(ops->getxattr(f->fs, &root_ctx, id, "user.a", big, sizeof(big)), 1);
	assert_true(ops->listxattr(f->fs, &root_ctx, id, big, sizeof(big)) > 0);
	assert_true(ops->listxattr(f->fs, &(struct fs_ctx){ .uid = 1000 }, id, big, sizeof(big)) >
		    0);
}

/* ---- defaults from RLIMIT_NOFILE ---- */

static void test_limits_from_rlimit(void **state)
{
	uint64_t in, h;

	(void)state;
	passthrough_limits_from_rlimit(1024, &in, &h);
	assert_int_equal(in, 672);	/* (1024 - 128) * 3/4 */
	assert_int_equal(h, 224);
	passthrough_limits_from_rlimit(1048576, &in, &h);
	assert_int_equal(in + h, 1048576 - 4096);
	assert_int_equal(in, (1048576 - 4096) / 4 * 3);
	passthrough_limits_from_rlimit(64, &in, &h);
	assert_int_equal(in + h, 32);
	passthrough_limits_from_rlimit(3, &in, &h);
	assert_true(in >= 1 && h >= 1);
	passthrough_limits_from_rlimit(0, &in, &h);
	assert_true(in >= 1 && h >= 1);
	passthrough_limits_from_rlimit(UINT64_MAX, &in, &h);
	assert_true(in + h <= (1ULL << 31));
}

/* Runs fn in a child with RLIMIT_NOFILE at nofile; the child's exit
 * status is the number of failed checks (or a signal: a crash). */
#define CHILD_CHECK(cond)                                                                   \
	do {                                                                                \
		if (!(cond)) {                                                              \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			failures++;                                                         \
		}                                                                           \
	} while (0)

static int child_default_limits(const char *root)
{
	struct fuse_file_lock lk = { .type = F_RDLCK };
	struct passthrough *fs = start(root, 0, 0);
	uint64_t il = 0, hl = 0, ids[NFILES], fh0 = 0;
	int failures = 0, i, ok = 0, enfile = 0, emfile = 0, other = 0, ret;
	struct fuse_open_out o;

	CHILD_CHECK(fs != NULL);
	if (!fs)
		return failures;
	passthrough_get_limits(fs, &il, &hl);
	CHILD_CHECK(il == 24 && hl == 8);	/* half of 64 reserved: 3/4 and 1/4 */
	for (i = 0; i < NFILES; i++) {
		ret = lookup_file(fs, i, &ids[i]);
		ok += ret == 0;
		enfile += ret == -ENFILE;
		if (ret)
			ids[i] = 0;
	}
	CHILD_CHECK(ok == 23 && enfile == NFILES - 23);
	for (i = 0; i < 20; i++) {
		ret = ops->open(fs, &root_ctx, ids[0], O_RDWR, 0, &o);
		if (ret == 0 && !fh0)
			fh0 = o.fh;
		ok += ret == 0;
		emfile += ret == -EMFILE;
	}
	CHILD_CHECK(emfile == 12);
	for (i = 1; i < 100; i++) {
		ret = ops->setlk(fs, &root_ctx, ids[0], fh0, (uint64_t)i, &lk, false, false);
		other += ret != 0 && ret != -EMFILE;
	}
	CHILD_CHECK(other == 0);
	CHILD_CHECK(count_open_fds() < 64);
	for (i = 0; i < NFILES; i++)
		if (ids[i])
			ops->forget(fs, ids[i], 1);
	/* open handles hold their own fds, not the inode */
	CHILD_CHECK(inode_table_count(&fs->inodes) == 1);
	passthrough_free(fs);
	return failures;
}

/* Limits set past what the rlimit allows: the kernel's EMFILE comes back
 * as an error, nothing is left half-made, and the daemon recovers. */
static int child_kernel_emfile(const char *root)
{
	struct passthrough *fs = start(root, 100000, 100000);
	uint64_t ids[NFILES], id;
	int failures = 0, i, ok = 0, emfile = 0, ret;
	size_t count_at_full;
	struct fuse_entry_out e;
	struct fuse_open_out o;

	CHILD_CHECK(fs != NULL);
	if (!fs)
		return failures;
	for (i = 0; i < NFILES; i++) {
		ret = lookup_file(fs, i, &ids[i]);
		ok += ret == 0;
		emfile += ret == -EMFILE;
		if (ret)
			ids[i] = 0;
	}
	CHILD_CHECK(ok > 0 && emfile > 0 && ok + emfile == NFILES);
	count_at_full = inode_table_count(&fs->inodes);
	CHILD_CHECK(count_at_full == (size_t)ok + 1);
	/* every fd-taking op fails cleanly */
	CHILD_CHECK(ops->open(fs, &root_ctx, ids[0], O_RDONLY, 0, &o) == -EMFILE);
	CHILD_CHECK(ops->opendir(fs, &root_ctx, FUSE_ROOT_ID, 0, &o) == -EMFILE);
	CHILD_CHECK(ops->create(fs, &root_ctx, FUSE_ROOT_ID, "c", S_IFREG | 0644, O_RDWR, 0, 0,
				&e, &o) == -EMFILE);
	/* mkdirat needs no fd: the directory is made, the lookup fails; the
	 * guest sees the error and finds "d" on its next lookup */
	CHILD_CHECK(ops->mkdir(fs, &root_ctx, FUSE_ROOT_ID, "d", 0755, 0, &e) == -EMFILE);
	CHILD_CHECK(inode_table_count(&fs->inodes) == count_at_full);
	CHILD_CHECK(handle_table_count(&fs->handles) == 0);
	CHILD_CHECK(fs->handles.charged == 0);
	/* forgets give fds back: lookups and opens work again */
	for (i = 0; i < 8; i++)
		if (ids[i])
			ops->forget(fs, ids[i], 1);
	CHILD_CHECK(lookup_file(fs, NFILES - 1, &id) == 0);
	CHILD_CHECK(ops->open(fs, &root_ctx, id, O_RDONLY, 0, &o) == 0);
	CHILD_CHECK(ops->release(fs, &root_ctx, id, o.fh, 0, 0, 0) == 0);
	passthrough_free(fs);
	return failures;
}

/* More owners of one inode than its list may hold: ENOLCK, cleanly. */
static int child_owners_per_inode(const char *root)
{
	struct fuse_file_lock lk = { .type = F_RDLCK };
	struct passthrough *fs = start(root, 100, 6000);
	int failures = 0, granted = 0, enolck = 0, ret;
	struct fuse_open_out o;
	uint64_t id = 0, owner;

	CHILD_CHECK(fs != NULL);
	if (!fs)
		return failures;
	CHILD_CHECK(lookup_file(fs, 0, &id) == 0);
	CHILD_CHECK(ops->open(fs, &root_ctx, id, O_RDWR, 0, &o) == 0);
	for (owner = 1; owner <= 4200; owner++) {
		lk.start = lk.end = owner;
		ret = ops->setlk(fs, &root_ctx, id, o.fh, owner, &lk, false, false);
		granted += ret == 0;
		enolck += ret == -ENOLCK;
	}
	CHILD_CHECK(granted == 4096 && enolck == 4200 - 4096);
	CHILD_CHECK(fs->handles.charged == 4097);
	CHILD_CHECK(ops->flush(fs, &root_ctx, id, o.fh, 5) == 0);
	lk.start = lk.end = 5000;
	CHILD_CHECK(ops->setlk(fs, &root_ctx, id, o.fh, 5000, &lk, false, false) == 0);
	CHILD_CHECK(ops->release(fs, &root_ctx, id, o.fh, 0, 0, 0) == 0);
	CHILD_CHECK(fs->handles.charged == 0);
	passthrough_free(fs);
	return failures;
}

static void run_in_child(const char *root, rlim_t nofile, int (*fn)(const char *root))
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit rl = { .rlim_cur = nofile, .rlim_max = nofile };
		int fd;

		/* a compact fd table: close what cmocka or the parent left */
		for (fd = 3; fd < 1024; fd++)
			close(fd);
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			_exit(100);
		_exit(fn(root));
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_low_rlimit_default_limits(void **state)
{
	struct fixture *f = *state;

	run_in_child(f->root, 64, child_default_limits);
}

static void test_low_rlimit_kernel_emfile(void **state)
{
	struct fixture *f = *state;

	run_in_child(f->root, 40, child_kernel_emfile);
}

static void test_lock_owners_per_inode(void **state)
{
	struct fixture *f = *state;

	run_in_child(f->root, 8192, child_owners_per_inode);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_limits_from_rlimit),
		cmocka_unit_test_setup_teardown(test_lookup_flood_enfile_then_recovers, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_open_flood_emfile_then_recovers, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_lock_owner_flood, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_owners_freed_with_inode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_owners_per_inode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forget_flood_constant_memory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_dirs_hold_no_buffers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_xattr_bounds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_low_rlimit_default_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_low_rlimit_kernel_emfile, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
