/* cases_opts.c: what the daemon's options promise against a hostile
 * guest. --readonly: every writing opcode, sent raw with valid arguments
 * against existing and new names, gets EROFS and the share is the same,
 * byte for byte and attribute for attribute, before and after. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
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

/* ---------------------------------------------------------------- */
/* --xattrmap */

/* The host's value of name on rel, "" when it has none. */
static const char *host_xattr(const char *rel, const char *name)
{
	static char buf[4][256];
	static unsigned n;
	char *p = buf[n++ % 4];
	ssize_t len = lgetxattr(t_host(H.share, rel), name, p, sizeof(buf[0]) - 1);

	p[len > 0 ? len : 0] = 0;
	return p;
}

static bool host_has(const char *rel, const char *name)
{
	return lgetxattr(t_host(H.share, rel), name, NULL, 0) >= 0;
}

static void host_set(const char *rel, const char *name, const char *value)
{
	CHECK(lsetxattr(t_host(H.share, rel), name, value, strlen(value), 0) == 0,
	      "host setxattr %s %s: %s", rel, name, strerror(errno));
}

/* The guest's listing of node, as uid: names joined by spaces. */
static const char *guest_list(uint64_t node, uint32_t uid)
{
	static char out[4096];
	char buf[4096];
	uint32_t saved = H.c->uid;
	ssize_t n, size;

	H.c->uid = uid;
	size = vfs_listxattr(H.c, node, NULL, 0);
	n = vfs_listxattr(H.c, node, buf, sizeof(buf));
	H.c->uid = saved;
	out[0] = 0;
	if (n < 0 || size != n) {
		snprintf(out, sizeof(out), "(error %zd, size %zd)", n, size);
		return out;
	}
	for (ssize_t i = 0; i < n; i += (ssize_t)strlen(buf + i) + 1) {
		if (out[0])
			strcat(out, " ");
		strcat(out, buf + i);
	}
	return out;
}

static ssize_t guest_get(uint64_t node, uint32_t uid, const char *name, char *buf, size_t size)
{
	uint32_t saved = H.c->uid;
	ssize_t n;

	H.c->uid = uid;
	n = vfs_getxattr(H.c, node, name, buf, size);
	H.c->uid = saved;
	if (n >= 0 && (size_t)n < size)
		buf[n] = 0;
	return n;
}

static int guest_set(uint64_t node, uint32_t uid, const char *name, const char *value)
{
	uint32_t saved = H.c->uid, saved_gid = H.c->gid;
	int err;

	H.c->uid = uid;
	H.c->gid = uid;
	err = vfs_setxattr(H.c, node, name, value, strlen(value), 0);
	H.c->uid = saved;
	H.c->gid = saved_gid;
	return err;
}

static int guest_remove(uint64_t node, uint32_t uid, const char *name)
{
	uint32_t saved = H.c->uid;
	int err;

	H.c->uid = uid;
	err = vfs_removexattr(H.c, node, name);
	H.c->uid = saved;
	return err;
}

#define USER 1000

/* :map::user.virtiofs.: — every guest name under user.virtiofs., and
 * nothing the host set itself reachable or visible. */
static void xattrmap_prefix_all(void)
{
	char buf[256];

	host_write("f", "data\n");
	CHECK(chmod(t_host(H.share, "f"), 0666) == 0, "chmod");
	host_set("f", "user.plain", "host");
	host_set("f", "trusted.t", "host");
	host_set("f", "security.s", "host");
	host_set("f", "user.virtiofs.user.g", "guest's");
	host_set("f", "user.virtiofs.", "nothing after the prefix");
	uint64_t f = lookup_id("f");

	CHECK(!strcmp(guest_list(f, 0), "user.g"), "root's listing: %s", guest_list(f, 0));
	CHECK(!strcmp(guest_list(f, USER), "user.g"), "user's listing: %s", guest_list(f, USER));
	CHECK(guest_get(f, 0, "user.g", buf, sizeof(buf)) == 7 && !strcmp(buf, "guest's"),
	      "user.g");
	CHECK(guest_get(f, 0, "user.plain", buf, sizeof(buf)) == -ENODATA, "host's user.plain");
	CHECK(guest_get(f, 0, "trusted.t", buf, sizeof(buf)) == -ENODATA, "host's trusted.t");
	CHECK(guest_get(f, 0, "security.s", buf, sizeof(buf)) == -ENODATA, "host's security.s");
	CHECK(guest_remove(f, 0, "trusted.t") == -ENODATA, "REMOVEXATTR trusted.t");
	CHECK(guest_remove(f, 0, "user.plain") == -ENODATA, "REMOVEXATTR user.plain");

	/* the guest's own writes land under the prefix, whatever the name */
	CHECK(guest_set(f, 0, "user.plain", "guest") == 0, "SETXATTR user.plain");
	CHECK(!strcmp(host_xattr("f", "user.plain"), "host"), "the host's user.plain changed");
	CHECK(!strcmp(host_xattr("f", "user.virtiofs.user.plain"), "guest"), "not prefixed");
	CHECK(guest_set(f, USER, "user.virtiofs.foo", "x") == 0, "SETXATTR user.virtiofs.foo");
	CHECK(!host_has("f", "user.virtiofs.foo"), "a guest reached the unprefixed host name");
	CHECK(host_has("f", "user.virtiofs.user.virtiofs.foo"), "double prefix missing");
	CHECK(guest_set(f, 0, "trusted.overlay.opaque", "y") == 0, "SETXATTR trusted.* as root");
	CHECK(!host_has("f", "trusted.overlay.opaque") &&
	      host_has("f", "user.virtiofs.trusted.overlay.opaque"), "trusted.* not prefixed");

	/* a caller other than root gets no more from a mapped name than from
	 * the host's own: no trusted.* or security.*, even as user.* */
	CHECK(guest_set(f, USER, "trusted.x", "z") == -EPERM, "a user set mapped trusted.*");
	CHECK(guest_set(f, USER, "security.selinux", "z") == -EPERM,
	      "a user set mapped security.*");
	CHECK(guest_remove(f, USER, "trusted.overlay.opaque") == -EPERM,
	      "a user removed mapped trusted.*");
	CHECK(guest_get(f, USER, "trusted.overlay.opaque", buf, sizeof(buf)) == -ENODATA,
	      "a user read mapped trusted.*");
	CHECK(!strstr(guest_list(f, USER), "trusted."), "a user's listing shows trusted.*: %s",
	      guest_list(f, USER));
	CHECK(strstr(guest_list(f, 0), "trusted.overlay.opaque"), "root's listing: %s",
	      guest_list(f, 0));

	/* the host's names are all still there, untouched */
	CHECK(!strcmp(host_xattr("f", "trusted.t"), "host") &&
	      !strcmp(host_xattr("f", "security.s"), "host"), "host xattrs changed");

	/* a guest name that no longer fits once prefixed */
	{
		char name[XATTR_NAME_MAX + 1];

		memset(name, 'n', sizeof(name));
		memcpy(name, "user.", 5);
		name[XATTR_NAME_MAX - 5] = 0;
		CHECK(guest_set(f, 0, name, "v") == -ERANGE, "an overlong mapped name");
	}
	ALIVE();
}

/* /map/trusted./user.virtiofs./ — only trusted.* moved; the guest cannot
 * touch the target prefix, nor see the host's trusted.*. */
static void xattrmap_one_namespace(void)
{
	char buf[256];

	host_write("f", "data\n");
	host_set("f", "trusted.host", "host");
	host_set("f", "user.virtiofs.trusted.t", "guest's");
	host_set("f", "user.virtiofs.junk", "host");
	host_set("f", "user.plain", "both");
	uint64_t f = lookup_id("f");

	CHECK(!strcmp(guest_list(f, 0), "user.plain trusted.t") ||
	      !strcmp(guest_list(f, 0), "trusted.t user.plain"), "root's listing: %s",
	      guest_list(f, 0));
	CHECK(!strstr(guest_list(f, 0), "junk") && !strstr(guest_list(f, 0), "trusted.host"),
	      "root's listing shows hidden names: %s", guest_list(f, 0));
	CHECK(!strcmp(guest_list(f, USER), "user.plain"), "user's listing: %s",
	      guest_list(f, USER));
	CHECK(guest_get(f, 0, "trusted.t", buf, sizeof(buf)) == 7, "trusted.t");
	CHECK(guest_get(f, 0, "trusted.host", buf, sizeof(buf)) == -ENODATA, "host's trusted.*");
	CHECK(guest_get(f, 0, "user.virtiofs.junk", buf, sizeof(buf)) == -ENODATA,
	      "the target prefix read directly");
	CHECK(guest_get(f, 0, "user.virtiofs.trusted.t", buf, sizeof(buf)) == -ENODATA,
	      "the target prefix read directly");
	CHECK(guest_set(f, 0, "user.virtiofs.trusted.t", "forged") == -EPERM,
	      "the target prefix set directly");
	CHECK(guest_remove(f, 0, "user.virtiofs.junk") == -EPERM, "the target prefix removed");
	CHECK(guest_get(f, USER, "trusted.t", buf, sizeof(buf)) == -ENODATA,
	      "a user read trusted.*");
	CHECK(!strcmp(host_xattr("f", "user.virtiofs.trusted.t"), "guest's") &&
	      !strcmp(host_xattr("f", "user.virtiofs.junk"), "host") &&
	      !strcmp(host_xattr("f", "trusted.host"), "host"), "host xattrs changed");
	ALIVE();
}

/* Rules that forget to keep the guest off the prefix's target, the
 * documentation's warning: a user cannot forge trusted.* through it. */
static void xattrmap_forged_names(void)
{
	char buf[256];

	host_write("f", "data\n");
	CHECK(chmod(t_host(H.share, "f"), 0666) == 0, "chmod");
	uint64_t f = lookup_id("f");

	CHECK(guest_set(f, USER, "user.virtiofs.trusted.evil", "x") == -EPERM,
	      "a user set user.virtiofs.trusted.evil");
	CHECK(!host_has("f", "user.virtiofs.trusted.evil"), "it is on the host");
	CHECK(guest_get(f, 0, "trusted.evil", buf, sizeof(buf)) == -ENODATA, "forged trusted.*");
	CHECK(guest_set(f, USER, "user.fine", "x") == 0, "an ordinary user.* name");
	CHECK(guest_set(f, 0, "trusted.real", "x") == 0 &&
	      host_has("f", "user.virtiofs.trusted.real"), "root's trusted.*");
	ALIVE();
}

static void xattrmap_unsupported(void)
{
	char buf[256];

	host_write("f", "data\n");
	host_set("f", "security.selinux", "system_u:object_r:host_t:s0");
	host_set("f", "user.u", "u");
	uint64_t f = lookup_id("f");

	CHECK(guest_get(f, 0, "security.selinux", buf, sizeof(buf)) == -EOPNOTSUPP, "GETXATTR");
	CHECK(guest_set(f, 0, "security.selinux", "x") == -EOPNOTSUPP, "SETXATTR");
	CHECK(guest_remove(f, 0, "security.selinux") == -EOPNOTSUPP, "REMOVEXATTR");
	CHECK(!strcmp(guest_list(f, 0), "user.u"), "listing: %s", guest_list(f, 0));
	CHECK(!strcmp(host_xattr("f", "security.selinux"), "system_u:object_r:host_t:s0"),
	      "the host's label changed");
	ALIVE();
}

/* A remapped security.capability is the daemon's to drop where the host
 * kernel drops the real one: write, truncate, chown, allocation, copy
 * into, O_TRUNC open (CVE-2021-20263). */
static void xattrmap_caps_killed(void)
{
	static const char caps_name[] = "user.virtiofs.security.capability";
	struct fuse_open_out oo;
	struct fuse_attr_out ao;
	struct fuse_setattr_in sa;
	int err;

	host_write("f", "0123456789");
	host_write("src", "abcdef");
	uint64_t f = lookup_id("f"), src = lookup_id("src");
	err = vfs_open(H.c, f, O_RDWR, &oo);
	CHECK(err == 0, "OPEN: %s", strerror(-err));
	uint64_t fh = oo.fh;
	err = vfs_open(H.c, src, O_RDONLY, &oo);
	CHECK(err == 0, "OPEN src: %s", strerror(-err));
	uint64_t src_fh = oo.fh;

#define ARM() do {                                                                 \
		CHECK(guest_set(f, 0, "security.capability", "caps") == 0, "set caps"); \
		CHECK(host_has("f", caps_name), "not on the host as %s", caps_name);    \
	} while (0)

	ARM();
	CHECK(vfs_write(H.c, f, fh, 0, "x", 1, 0) == 1, "WRITE");
	CHECK(!host_has("f", caps_name), "WRITE kept the remapped capability");
	ARM();
	sa = (struct fuse_setattr_in){ .valid = FATTR_SIZE, .size = 8 };
	CHECK_OK(vfs_setattr(H.c, f, &sa, &ao));
	CHECK(!host_has("f", caps_name), "truncate kept it");
	ARM();
	sa = (struct fuse_setattr_in){ .valid = FATTR_UID | FATTR_GID, .uid = 0, .gid = 0 };
	CHECK_OK(vfs_setattr(H.c, f, &sa, &ao));
	CHECK(!host_has("f", caps_name), "chown kept it");
	ARM();
	CHECK_OK(vfs_fallocate(H.c, f, fh, 0, 16, 0));
	CHECK(!host_has("f", caps_name), "FALLOCATE kept it");
	ARM();
	CHECK(vfs_copy_file_range(H.c, src, src_fh, 0, f, fh, 0, 3, 0) == 3, "COPY_FILE_RANGE");
	CHECK(!host_has("f", caps_name), "COPY_FILE_RANGE kept it");
	ARM();
	{
		struct fuse_open_in in = { .flags = O_WRONLY | O_TRUNC };

		msg_build(&M, FUSE_OPEN, f, &in, sizeof(in));
		raw_send(&M, HQ, 4096, &R);
		CHECK(answered_ok(&M, &R), "OPEN O_TRUNC: %d", R.oh.error);
		if (answered_ok(&M, &R))
			vfs_release(H.c, f, ((struct fuse_open_out *)(void *)R.data)->fh, O_WRONLY);
	}
	CHECK(!host_has("f", caps_name), "O_TRUNC kept it");
	/* a read or a chmod keep it, as on the host */
	ARM();
	char buf[4];
	CHECK(vfs_read(H.c, f, fh, 0, buf, sizeof(buf)) >= 0, "READ");
	sa = (struct fuse_setattr_in){ .valid = FATTR_MODE, .mode = S_IFREG | 0600 };
	CHECK_OK(vfs_setattr(H.c, f, &sa, &ao));
	CHECK(host_has("f", caps_name), "READ or chmod dropped it");
#undef ARM
	vfs_release(H.c, f, fh, O_RDWR);
	vfs_release(H.c, src, src_fh, O_RDONLY);
	ALIVE();
}

/* ---------------------------------------------------------------- */
/* --security-label: malformed contexts create nothing */

static const char SEL_LABEL[] = "system_u:object_r:container_file_t:s0";

/* M = MKDIR (or MKNOD of a FIFO) of name with ext appended as its
 * extension (total_extlen set). */
static void msg_create_ext(uint32_t opcode, const char *name, const void *ext, size_t len)
{
	if (opcode == FUSE_MKNOD) {
		struct fuse_mknod_in in = { .mode = S_IFIFO | 0644 };

		msg_build(&M, FUSE_MKNOD, FUSE_ROOT_ID, &in, sizeof(in));
	} else {
		struct fuse_mkdir_in in = { .mode = 0755 };

		msg_build(&M, opcode, FUSE_ROOT_ID, &in, sizeof(in));
	}
	msg_append_str(&M, name);
	msg_append(&M, ext, len);
	msg_hdr(&M)->total_extlen = (uint16_t)(len / 8);
}

/* A context record: header (nr), fuse_secctx (size), name, value, to 8. */
static size_t ctx_record(uint8_t *buf, uint32_t nr, uint32_t size, const char *name,
			 const void *value, size_t value_len, size_t extra)
{
	struct fuse_secctx_header h = { .nr_secctx = nr };
	struct fuse_secctx sc = { .size = size };
	size_t body = nr ? ((sizeof(sc) + strlen(name) + 1 + value_len + 7) & ~(size_t)7) : 0;

	h.size = (uint32_t)(sizeof(h) + body + extra);
	memset(buf, 0, h.size);
	memcpy(buf, &h, sizeof(h));
	if (nr) {
		memcpy(buf + 8, &sc, sizeof(sc));
		memcpy(buf + 16, name, strlen(name) + 1);
		memcpy(buf + 16 + strlen(name) + 1, value, value_len);
	}
	return h.size;
}

static void secctx_malformed(void)
{
	uint8_t ext[1024];
	size_t len;
	int err;

	err = vfs_init(H.c, VFS_DEFAULT_INIT_FLAGS | FUSE_SECURITY_CTX, &H.c->init);
	CHECK(err == 0 && (H.c->init.flags2 & (FUSE_SECURITY_CTX >> 32)),
	      "INIT with FUSE_SECURITY_CTX: %d %#x", err, H.c->init.flags2);
	H.c->inited = true;

	/* well-formed: made, and labelled under the mapped name */
	len = ctx_record(ext, 1, sizeof(SEL_LABEL) - 1, "security.selinux", SEL_LABEL,
			 sizeof(SEL_LABEL) - 1, 0);
	msg_create_ext(FUSE_MKDIR, "good", ext, len);
	raw_send(&M, HQ, 4096, &R);
	CHECK(answered_ok(&M, &R), "a well-formed context: %d", R.oh.error);
	CHECK(lgetxattr(t_host(H.share, "good"), "user.virtiofs.security.selinux", NULL, 0) ==
	      sizeof(SEL_LABEL) - 1, "the label is not on the host");

	struct {
		const char *what;
		uint32_t nr, size;
		const char *name;
		size_t extra;
		int corrupt;	/* 1: name without NUL to the end */
	} bad[] = {
		{ "two contexts", 2, sizeof(SEL_LABEL) - 1, "security.selinux", 0, 0 },
		{ "31 contexts", 31, sizeof(SEL_LABEL) - 1, "security.selinux", 0, 0 },
		{ "size 0", 1, 0, "security.selinux", 0, 0 },
		{ "size past the extension", 1, 500, "security.selinux", 0, 0 },
		{ "size past 64 KiB", 1, 0x10001, "security.selinux", 0, 0 },
		{ "size 4 GiB", 1, 0xffffffffu, "security.selinux", 0, 0 },
		{ "bytes past the padding", 1, sizeof(SEL_LABEL) - 1, "security.selinux", 8, 0 },
		{ "an empty name", 1, sizeof(SEL_LABEL) - 1, "", 0, 0 },
		{ "a name without its NUL", 1, sizeof(SEL_LABEL) - 1, "security.selinux", 0, 1 },
		{ "no context but bytes", 0, 0, NULL, 16, 0 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char name[32];

		snprintf(name, sizeof(name), "bad%zu", i);
		len = ctx_record(ext, bad[i].nr, bad[i].size, bad[i].name ? bad[i].name : "",
				 SEL_LABEL, bad[i].nr ? sizeof(SEL_LABEL) - 1 : 0, bad[i].extra);
		if (bad[i].nr > 1)	/* the record of one, the count of more */
			((struct fuse_secctx_header *)(void *)ext)->nr_secctx = bad[i].nr;
		if (bad[i].corrupt)
			memset(ext + 16, 'n', len - 16);
		msg_create_ext(FUSE_MKDIR, name, ext, len);
		raw_send(&M, HQ, 4096, &R);
		CHECK(refused(&M, &R, EINVAL), "%s: used %zd error %d", bad[i].what, R.used,
		      R.oh.error);
		CHECK(!host_exists(t_host(H.share, name)), "%s: %s was made",
		      bad[i].what, name);
	}
	/* sent twice */
	len = ctx_record(ext, 1, sizeof(SEL_LABEL) - 1, "security.selinux", SEL_LABEL,
			 sizeof(SEL_LABEL) - 1, 0);
	len += ctx_record(ext + len, 0, 0, "", NULL, 0, 0);
	msg_create_ext(FUSE_MKDIR, "twice", ext, len);
	raw_send(&M, HQ, 4096, &R);
	EXPECT_REFUSED(&M, &R, EINVAL);
	CHECK(!host_exists(t_host(H.share, "twice")), "twice: made");
	/* a label that cannot be stored (user.* on a FIFO): nothing stays */
	len = ctx_record(ext, 1, sizeof(SEL_LABEL) - 1, "security.selinux", SEL_LABEL,
			 sizeof(SEL_LABEL) - 1, 0);
	msg_create_ext(FUSE_MKNOD, "fifo", ext, len);
	raw_send(&M, HQ, 4096, &R);
	EXPECT_REFUSED(&M, &R, EPERM);
	CHECK(!host_exists(t_host(H.share, "fifo")), "the unlabelled FIFO stayed");
	ALIVE();
}

const struct hcase opts_cases[] = {
	{ "opts/readonly_sweep", readonly_sweep, .extra_args = "--readonly" },
	{ "opts/xattrmap_prefix_all", xattrmap_prefix_all,
	  .extra_args = "--xattrmap=:map::user.virtiofs.:" },
	{ "opts/xattrmap_one_namespace", xattrmap_one_namespace,
	  .extra_args = "--xattrmap=/map/trusted./user.virtiofs./" },
	{ "opts/xattrmap_forged_names", xattrmap_forged_names,
	  .extra_args = "--xattrmap=:prefix:all:trusted.:user.virtiofs.::ok:all:::" },
	{ "opts/xattrmap_unsupported", xattrmap_unsupported,
	  .extra_args = "--xattrmap=/unsupported/all/security.selinux/security.selinux//ok/all///" },
	{ "opts/xattrmap_caps_killed", xattrmap_caps_killed,
	  .extra_args = "--xattrmap=:map::user.virtiofs.:" },
	{ "opts/secctx_malformed", secctx_malformed, .no_init = true,
	  .extra_args = "--security-label --xattrmap=:map:security.selinux:user.virtiofs.:" },
};
const unsigned n_opts_cases = sizeof(opts_cases) / sizeof(opts_cases[0]);
