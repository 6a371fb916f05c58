/* cases_opts.c: what the daemon's options promise against a hostile
 * guest. --readonly: every writing opcode, sent raw with valid arguments
 * against existing and new names, gets EROFS and the share is the same,
 * byte for byte and attribute for attribute, before and after. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/falloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "hostile_util.h"

static struct rawmsg M;
static struct rawreply R;

/* ---------------------------------------------------------------- */
/* the share, described in full */

static char *snap;
static size_t snap_len, snap_cap;
static size_t snap_root;

static void snap_add(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void snap_add(const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	if (snap_len + (size_t)n + 1 > snap_cap) {
		snap_cap = (snap_cap + (size_t)n + 1) * 2;
		snap = realloc(snap, snap_cap);
	}
	memcpy(snap + snap_len, line, (size_t)n + 1);
	snap_len += (size_t)n;
}

static uint64_t fnv(const void *p, size_t len, uint64_t h)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < len; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h;
}

/* Everything a writing request could change: type, mode, owner, size,
 * mtime and ctime (any attribute change moves ctime), content, symlink
 * target, and every xattr with its value. atime is left out: reads may
 * move it. */
static int snap_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	char list[4096], target[512];
	uint64_t h = 0xcbf29ce484222325ULL;
	ssize_t n;

	(void)flag;
	(void)ftw;
	if (S_ISREG(st->st_mode)) {
		char buf[4096];
		int fd = open(path, O_RDONLY | O_NOATIME);

		if (fd < 0)
			fd = open(path, O_RDONLY);
		while (fd >= 0 && (n = read(fd, buf, sizeof(buf))) > 0)
			h = fnv(buf, (size_t)n, h);
		if (fd >= 0)
			close(fd);
	} else if (S_ISLNK(st->st_mode)) {
		n = readlink(path, target, sizeof(target));
		if (n > 0)
			h = fnv(target, (size_t)n, h);
	}
	n = llistxattr(path, list, sizeof(list));
	for (ssize_t i = 0; i < n; i += (ssize_t)strlen(list + i) + 1) {
		char value[512];
		ssize_t v = lgetxattr(path, list + i, value, sizeof(value));

		h = fnv(list + i, strlen(list + i) + 1, h);
		if (v > 0)
			h = fnv(value, (size_t)v, h);
	}
	snap_add("%s %o %u:%u %lld m%lld.%09ld c%lld.%09ld h%016llx\n", path + snap_root,
		 (unsigned)st->st_mode, (unsigned)st->st_uid, (unsigned)st->st_gid,
		 (long long)st->st_size, (long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec,
		 (long long)st->st_ctim.tv_sec, st->st_ctim.tv_nsec, (unsigned long long)h);
	return 0;
}

static char *share_snapshot(void)
{
	snap = NULL;
	snap_len = snap_cap = 0;
	snap_root = strlen(H.share);
	nftw(H.share, snap_one, 16, FTW_PHYS);
	return snap ? snap : strdup("");
}

/* ---------------------------------------------------------------- */
/* --readonly */

static uint64_t lookup_id(const char *name)
{
	struct fuse_entry_out e;
	int err = vfs_lookup(H.c, FUSE_ROOT_ID, name, &e);

	CHECK(err == 0, "LOOKUP %s: %s", name, strerror(-err));
	return err ? 0 : e.nodeid;
}

/* m was built by the caller; it must get exactly EROFS. */
static void expect_erofs(const char *what)
{
	raw_send(&M, HQ, 4096, &R);
	CHECK(refused(&M, &R, EROFS), "%s: used %zd error %d, want -EROFS", what, R.used,
	      R.oh.error);
}

static void ro_create(const char *what, const char *name, uint32_t flags)
{
	struct fuse_create_in in = { .flags = flags, .mode = S_IFREG | 0644 };

	msg_build(&M, FUSE_CREATE, FUSE_ROOT_ID, &in, sizeof(in));
	msg_append_str(&M, name);
	expect_erofs(what);
}

static void ro_open(const char *what, uint64_t node, uint32_t flags)
{
	struct fuse_open_in in = { .flags = flags };

	msg_build(&M, FUSE_OPEN, node, &in, sizeof(in));
	expect_erofs(what);
}

static void ro_setattr(const char *what, uint64_t node, struct fuse_setattr_in in)
{
	msg_build(&M, FUSE_SETATTR, node, &in, sizeof(in));
	expect_erofs(what);
}

static void readonly_sweep(void)
{
	struct fuse_open_out oo;
	char *before, *after;
	char buf[64];

	host_write("f", "file content\n");
	host_write("g", "other file\n");
	CHECK(setxattr(t_host(H.share, "f"), "user.k", "v", 1, 0) == 0, "host setxattr");
	CHECK(mkdir(t_host(H.share, "d"), 0755) == 0, "host mkdir d");
	CHECK(mkdir(t_host(H.share, "e"), 0755) == 0, "host mkdir e");
	host_write("d/inner", "inner\n");
	CHECK(symlink("f", t_host(H.share, "l")) == 0, "host symlink");
	CHECK(chmod(t_host(H.share, "f"), 04755) == 0, "host chmod");
	before = share_snapshot();

	uint64_t f = lookup_id("f"), g = lookup_id("g"), d = lookup_id("d");
	uint64_t e = lookup_id("e"), l = lookup_id("l");

	/* reading still works, and a read-only handle is what the data
	 * requests below are given */
	int err = vfs_open(H.c, f, O_RDONLY, &oo);
	CHECK(err == 0, "OPEN O_RDONLY: %s", strerror(-err));
	uint64_t fh = oo.fh;
	CHECK(vfs_read(H.c, f, fh, 0, buf, sizeof(buf)) == 13, "READ");
	CHECK(vfs_getxattr(H.c, f, "user.k", buf, sizeof(buf)) == 1, "GETXATTR");
	CHECK(vfs_access(H.c, f, R_OK) == 0, "ACCESS R_OK");
	{
		struct fuse_entry_out ce;
		struct fuse_open_out co;

		/* O_CREAT of a name that exists, read-only: opened, as on a
		 * read-only mount */
		err = vfs_create(H.c, FUSE_ROOT_ID, "g", O_RDONLY, S_IFREG | 0644, 0, &ce, &co);
		CHECK(err == 0, "CREATE of an existing name, O_RDONLY: %s", strerror(-err));
		if (err == 0) {
			CHECK(ce.nodeid == g, "CREATE opened another inode");
			vfs_release(H.c, ce.nodeid, co.fh, O_RDONLY);
			vfs_forget(H.c, ce.nodeid, 1);
		}
	}

	/* creating */
	ro_create("CREATE new O_WRONLY", "n", O_CREAT | O_WRONLY);
	ro_create("CREATE new O_RDONLY", "n", O_CREAT | O_RDONLY);
	ro_create("CREATE existing O_RDWR", "f", O_CREAT | O_RDWR);
	ro_create("CREATE existing O_TRUNC", "f", O_CREAT | O_RDONLY | O_TRUNC);
	ro_create("CREATE existing O_EXCL", "f", O_CREAT | O_EXCL | O_RDONLY);
	{
		struct fuse_mknod_in in = { .mode = S_IFREG | 0644 };

		msg_build(&M, FUSE_MKNOD, FUSE_ROOT_ID, &in, sizeof(in));
		msg_append_str(&M, "n");
		expect_erofs("MKNOD regular");
		in.mode = S_IFIFO | 0644;
		msg_build(&M, FUSE_MKNOD, FUSE_ROOT_ID, &in, sizeof(in));
		msg_append_str(&M, "n");
		expect_erofs("MKNOD fifo");
	}
	{
		struct fuse_mkdir_in in = { .mode = 0755 };

		msg_build(&M, FUSE_MKDIR, FUSE_ROOT_ID, &in, sizeof(in));
		msg_append_str(&M, "n");
		expect_erofs("MKDIR");
	}
	msg_build(&M, FUSE_SYMLINK, FUSE_ROOT_ID, NULL, 0);
	msg_append_str(&M, "n");
	msg_append_str(&M, "f");
	expect_erofs("SYMLINK");
	{
		struct fuse_link_in in = { .oldnodeid = f };

		msg_build(&M, FUSE_LINK, FUSE_ROOT_ID, &in, sizeof(in));
		msg_append_str(&M, "n");
		expect_erofs("LINK");
	}
	{
		struct fuse_create_in in = { .flags = O_RDWR, .mode = S_IFREG | 0600 };

		msg_build(&M, FUSE_TMPFILE, FUSE_ROOT_ID, &in, sizeof(in));
		msg_append_str(&M, "/");
		expect_erofs("TMPFILE");
	}

	/* removing and renaming */
	msg_build(&M, FUSE_UNLINK, FUSE_ROOT_ID, NULL, 0);
	msg_append_str(&M, "f");
	expect_erofs("UNLINK file");
	msg_build(&M, FUSE_UNLINK, FUSE_ROOT_ID, NULL, 0);
	msg_append_str(&M, "l");
	expect_erofs("UNLINK symlink");
	msg_build(&M, FUSE_RMDIR, FUSE_ROOT_ID, NULL, 0);
	msg_append_str(&M, "e");
	expect_erofs("RMDIR");
	{
		struct fuse_rename_in in = { .newdir = d };

		msg_build(&M, FUSE_RENAME, FUSE_ROOT_ID, &in, sizeof(in));
		msg_append_str(&M, "f");
		msg_append_str(&M, "moved");
		expect_erofs("RENAME");
	}
	for (uint32_t fl = 0; fl <= RENAME_EXCHANGE; fl++) {
		struct fuse_rename2_in in = { .newdir = FUSE_ROOT_ID, .flags = fl };

		msg_build(&M, FUSE_RENAME2, FUSE_ROOT_ID, &in, sizeof(in));
		msg_append_str(&M, "f");
		msg_append_str(&M, "g");
		expect_erofs(fl == RENAME_EXCHANGE ? "RENAME2 exchange" : "RENAME2");
	}

	/* attributes */
	ro_setattr("SETATTR mode", f, (struct fuse_setattr_in){ .valid = FATTR_MODE, .mode = 0644 });
	ro_setattr("SETATTR mode, symlink", l,
		   (struct fuse_setattr_in){ .valid = FATTR_MODE, .mode = 0777 });
	ro_setattr("SETATTR uid/gid", f,
		   (struct fuse_setattr_in){ .valid = FATTR_UID | FATTR_GID, .uid = 1, .gid = 1 });
	ro_setattr("SETATTR size", f, (struct fuse_setattr_in){ .valid = FATTR_SIZE, .size = 0 });
	ro_setattr("SETATTR size with a handle", f,
		   (struct fuse_setattr_in){ .valid = FATTR_SIZE | FATTR_FH, .fh = fh, .size = 1 });
	ro_setattr("SETATTR times", e,
		   (struct fuse_setattr_in){ .valid = FATTR_ATIME | FATTR_MTIME, .atime = 1,
					     .mtime = 1 });
	ro_setattr("SETATTR times now", d,
		   (struct fuse_setattr_in){ .valid = FATTR_ATIME_NOW | FATTR_MTIME_NOW });
	ro_setattr("SETATTR kill suid", f,
		   (struct fuse_setattr_in){ .valid = FATTR_MODE | FATTR_KILL_SUIDGID,
					     .mode = 0755 });

	/* xattrs */
	{
		struct fuse_setxattr_in in = { .size = 2 };

		msg_build(&M, FUSE_SETXATTR, f, &in, sizeof(in));
		msg_append_str(&M, "user.k");
		msg_append(&M, "ww", 2);
		expect_erofs("SETXATTR replace");
		msg_build(&M, FUSE_SETXATTR, d, &in, sizeof(in));
		msg_append_str(&M, "user.new");
		msg_append(&M, "ww", 2);
		expect_erofs("SETXATTR new");
	}
	msg_build(&M, FUSE_REMOVEXATTR, f, NULL, 0);
	msg_append_str(&M, "user.k");
	expect_erofs("REMOVEXATTR");

	/* data, through the read-only handle */
	{
		struct fuse_write_in in = { .fh = fh, .offset = 0, .size = 4 };

		msg_build(&M, FUSE_WRITE, f, &in, sizeof(in));
		msg_append(&M, "XXXX", 4);
		expect_erofs("WRITE");
	}
	{
		struct fuse_fallocate_in in = { .fh = fh, .offset = 0, .length = 1 << 20 };

		msg_build(&M, FUSE_FALLOCATE, f, &in, sizeof(in));
		expect_erofs("FALLOCATE");
		in.mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
		msg_build(&M, FUSE_FALLOCATE, f, &in, sizeof(in));
		expect_erofs("FALLOCATE punch hole");
	}
	{
		struct fuse_copy_file_range_in in = { .fh_in = fh, .off_in = 0, .nodeid_out = f,
						      .fh_out = fh, .off_out = 4, .len = 4 };

		msg_build(&M, FUSE_COPY_FILE_RANGE, f, &in, sizeof(in));
		expect_erofs("COPY_FILE_RANGE");
	}

	/* opens that could write */
	ro_open("OPEN O_WRONLY", f, O_WRONLY);
	ro_open("OPEN O_RDWR", f, O_RDWR);
	ro_open("OPEN O_RDONLY | O_TRUNC", f, O_RDONLY | O_TRUNC);
	ro_open("OPEN O_WRONLY | O_TRUNC", f, O_WRONLY | O_TRUNC);
	ro_open("OPEN O_RDONLY | O_CREAT", g, O_RDONLY | O_CREAT);
	ro_open("OPEN O_RDWR, directory", d, O_RDWR | O_DIRECTORY);
	{
		struct fuse_access_in in = { .mask = W_OK };

		msg_build(&M, FUSE_ACCESS, f, &in, sizeof(in));
		expect_erofs("ACCESS W_OK");
	}

	vfs_release(H.c, f, fh, O_RDONLY);
	ALIVE();
	after = share_snapshot();
	CHECK(!strcmp(before, after), "the share changed:\nbefore:\n%s\nafter:\n%s", before, after);
	free(before);
	free(after);
}

const struct hcase opts_cases[] = {
	{ "opts/readonly_sweep", readonly_sweep, .extra_args = "--readonly" },
};
const unsigned n_opts_cases = sizeof(opts_cases) / sizeof(opts_cases[0]);
