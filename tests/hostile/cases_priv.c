/* cases_priv.c: an unprivileged guest caller gets exactly what a local
 * caller of the same identity gets on the host, never more because the
 * daemon is root (CVE-2022-0358 and its relatives).
 *
 * Each case builds the same starting state twice in the share, under
 * local/ and guest/. The operation then runs (a) in a forked child that
 * becomes uid 1000, gid 1000 with no supplementary groups (or the ones a
 * case names) and works on local/ with plain system calls, and (b) through
 * the daemon with requests carrying uid 1000 / gid 1000 on guest/. The
 * outcomes must be equal: the same error (0 or -E...) and the same type,
 * mode, uid, gid and existence of the entries involved. So the expected
 * result is the host kernel's, not written down here; a few absolute
 * facts of the kernel's rules are asserted besides, so that a case cannot
 * pass with both sides wrong.
 *
 * Permission bits on unlink, rename, setattr and setxattr are the guest's
 * to check (virtio-fs mounts with default_permissions): no case expects
 * EACCES from plain write permission on those. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "hostile_util.h"

#define USER_UID 1000
#define USER_GID 1000
#define OTHER_UID 1001	/* another user, owner of files in sticky dirs */
#define GRP 4242	/* a group the user is not in (unless a case says so) */
#define GRP2 5555

static struct rawmsg M;
static struct rawreply R;

/* ---------------------------------------------------------------- */
/* who asks */

struct who {
	uid_t uid;
	gid_t gid;
	/* supplementary groups: the local child's, and the guest's
	 * FUSE_CREATE_SUPP_GROUP extension on creating requests */
	unsigned ngroups;
	gid_t groups[2];
};

static const struct who USER = { USER_UID, USER_GID, 0, { 0 } };
static const struct who ROOT = { 0, 0, 0, { 0 } };
static const struct who MEMBER = { USER_UID, USER_GID, 1, { GRP } };
static const struct who OTHER_MEMBER = { USER_UID, USER_GID, 1, { GRP2 } };

/* ---------------------------------------------------------------- */
/* the operations, done alike on both sides */

enum op_kind {
	OP_CREATE,
	OP_MKNOD,
	OP_MKDIR,
	OP_TMPFILE,	/* path: the directory */
	OP_CHMOD,
	OP_CHOWN,	/* uid/gid (uid_t)-1: unchanged */
	OP_UTIMES,	/* explicit times */
	OP_TRUNCATE,	/* to 0, by name (no handle) */
	OP_OPEN_TRUNC,	/* open O_WRONLY | O_TRUNC */
	OP_WRITE,	/* open O_WRONLY, write 5 bytes at 0 */
	OP_COPY,	/* copy_file_range 5 bytes from path to path2 */
	OP_FALLOCATE,	/* open O_WRONLY, allocate 8 KiB at 0 */
	OP_SETXATTR,
	OP_LINK,	/* new name path2 for path */
	OP_UNLINK,
	OP_RMDIR,
	OP_RENAME,	/* path to path2 */
};

static const char *const op_names[] = {
	[OP_CREATE] = "CREATE", [OP_MKNOD] = "MKNOD", [OP_MKDIR] = "MKDIR",
	[OP_TMPFILE] = "TMPFILE", [OP_CHMOD] = "SETATTR(mode)",
	[OP_CHOWN] = "SETATTR(uid/gid)", [OP_UTIMES] = "SETATTR(times)",
	[OP_TRUNCATE] = "SETATTR(size)", [OP_OPEN_TRUNC] = "OPEN(O_TRUNC)",
	[OP_WRITE] = "WRITE", [OP_COPY] = "COPY_FILE_RANGE", [OP_FALLOCATE] = "FALLOCATE",
	[OP_SETXATTR] = "SETXATTR", [OP_LINK] = "LINK",
	[OP_UNLINK] = "UNLINK", [OP_RMDIR] = "RMDIR", [OP_RENAME] = "RENAME",
};

struct op {
	enum op_kind kind;
	const char *path;
	const char *path2;
	mode_t mode;		/* with the file type for MKNOD */
	unsigned major, minor;
	uid_t uid;
	gid_t gid;
	const char *name;	/* SETXATTR */
	const void *value;
	size_t size;
};

#define TIMES_SEC 1000000000LL	/* explicit times: 2001-09-09 */

/* ---------------------------------------------------------------- */
/* the host side */

static const char *side_path(const char *side, const char *rel)
{
	static char buf[4][700];
	static unsigned n;
	char *p = buf[n++ % 4];

	snprintf(p, sizeof(buf[0]), "%s/%s%s%s", H.share, side, *rel ? "/" : "", rel);
	return p;
}

/* rel on both sides: a directory or a file holding "data\n", owned by
 * uid:gid with mode (set after the chown, which would clear setuid). */
static void hmk(const char *rel, mode_t mode, uid_t uid, gid_t gid)
{
	static const char *const sides[] = { "local", "guest" };

	for (unsigned i = 0; i < 2; i++) {
		const char *p = side_path(sides[i], rel);

		if (S_ISDIR(mode)) {
			CHECK(mkdir(p, 0700) == 0, "mkdir %s: %s", p, strerror(errno));
		} else {
			int fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);

			CHECK(fd >= 0 && write(fd, "data\n", 5) == 5, "create %s: %s", p,
			      strerror(errno));
			if (fd >= 0)
				close(fd);
		}
		CHECK(lchown(p, uid, gid) == 0, "chown %s: %s", p, strerror(errno));
		CHECK(chmod(p, mode & 07777) == 0, "chmod %s: %s", p, strerror(errno));
	}
}

static void sides(void)
{
	CHECK(mkdir(side_path("local", ""), 0755) == 0, "mkdir local: %s", strerror(errno));
	CHECK(mkdir(side_path("guest", ""), 0755) == 0, "mkdir guest: %s", strerror(errno));
}

/* What there is at a path, for comparing and printing. */
struct ent {
	bool exists;
	unsigned mode;	/* type and 07777 */
	unsigned uid, gid;
};

static struct ent ent_of(const char *side, const char *rel)
{
	struct stat st;
	struct ent e = { 0 };

	if (lstat(side_path(side, rel), &st) == 0)
		e = (struct ent){ true, st.st_mode & (S_IFMT | 07777), st.st_uid, st.st_gid };
	return e;
}

static bool ent_eq(struct ent a, struct ent b)
{
	return a.exists == b.exists &&
	       (!a.exists || (a.mode == b.mode && a.uid == b.uid && a.gid == b.gid));
}

static const char *ent_str(struct ent e)
{
	static char buf[4][64];
	static unsigned n;
	char *p = buf[n++ % 4];

	if (!e.exists)
		snprintf(p, sizeof(buf[0]), "absent");
	else
		snprintf(p, sizeof(buf[0]), "mode %07o uid %u gid %u", e.mode, e.uid, e.gid);
	return p;
}

static const char *err_str(int err)
{
	static char buf[4][64];
	static unsigned n;
	char *p = buf[n++ % 4];

	if (err == 0)
		snprintf(p, sizeof(buf[0]), "0");
	else
		snprintf(p, sizeof(buf[0]), "%d (%s)", err, strerror(-err));
	return p;
}

/* ---------------------------------------------------------------- */
/* (a) locally, as the caller would be on the host */

static int do_local(const struct op *o, struct stat *st)
{
	struct timespec ts[2] = { { TIMES_SEC, 0 }, { TIMES_SEC, 0 } };
	int fd, fd2, ret = 0;

	switch (o->kind) {
	case OP_CREATE:
		fd = open(o->path, O_CREAT | O_EXCL | O_RDWR, o->mode);
		if (fd < 0)
			return -errno;
		close(fd);
		return 0;
	case OP_MKNOD:
		ret = mknod(o->path, o->mode, makedev(o->major, o->minor));
		break;
	case OP_MKDIR:
		ret = mkdir(o->path, o->mode);
		break;
	case OP_TMPFILE:
		fd = open(o->path, O_TMPFILE | O_RDWR, o->mode);
		if (fd < 0)
			return -errno;
		ret = fstat(fd, st);
		close(fd);
		break;
	case OP_CHMOD:
		ret = fchmodat(AT_FDCWD, o->path, o->mode, 0);
		break;
	case OP_CHOWN:
		ret = fchownat(AT_FDCWD, o->path, o->uid, o->gid, AT_SYMLINK_NOFOLLOW);
		break;
	case OP_UTIMES:
		ret = utimensat(AT_FDCWD, o->path, ts, AT_SYMLINK_NOFOLLOW);
		break;
	case OP_TRUNCATE:
		ret = truncate(o->path, 0);
		break;
	case OP_OPEN_TRUNC:
		fd = open(o->path, O_WRONLY | O_TRUNC);
		if (fd < 0)
			return -errno;
		close(fd);
		return 0;
	case OP_WRITE:
	case OP_FALLOCATE:
		fd = open(o->path, O_WRONLY);
		if (fd < 0)
			return -errno;
		if (o->kind == OP_WRITE)
			ret = pwrite(fd, "hello", 5, 0) == 5 ? 0 : -1;
		else
			ret = fallocate(fd, 0, 0, 8192);
		if (ret < 0)
			ret = -errno;
		close(fd);
		return ret;
	case OP_COPY:
		fd = open(o->path, O_RDONLY);
		if (fd < 0)
			return -errno;
		fd2 = open(o->path2, O_WRONLY);
		if (fd2 < 0) {
			ret = -errno;
			close(fd);
			return ret;
		}
		ret = copy_file_range(fd, NULL, fd2, NULL, 5, 0) < 0 ? -errno : 0;
		close(fd);
		close(fd2);
		return ret;
	case OP_SETXATTR:
		ret = lsetxattr(o->path, o->name, o->value, o->size, 0);
		break;
	case OP_LINK:
		ret = linkat(AT_FDCWD, o->path, AT_FDCWD, o->path2, 0);
		break;
	case OP_UNLINK:
		ret = unlink(o->path);
		break;
	case OP_RMDIR:
		ret = rmdir(o->path);
		break;
	case OP_RENAME:
		ret = rename(o->path, o->path2);
		break;
	}
	return ret < 0 ? -errno : 0;
}

struct local_result {
	int ret;
	int setup_err;	/* the child could not become the caller */
	struct stat st;
};

/* Runs o in a child that works in local/ as w: supplementary groups,
 * then gid, then uid, all three ids each (so no way back), umask 0 (the
 * guest sends modes with its umask applied). */
static int run_local(const struct who *w, const struct op *o, struct stat *st)
{
	struct local_result *res = mmap(NULL, sizeof(*res), PROT_READ | PROT_WRITE,
					MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int dirfd = open(side_path("local", ""), O_PATH | O_DIRECTORY | O_CLOEXEC);
	int status = -1, ret;
	pid_t pid;

	if (res == MAP_FAILED || dirfd < 0) {
		CHECK(0, "local setup: %s", strerror(errno));
		if (dirfd >= 0)
			close(dirfd);
		return -EIO;
	}
	memset(res, 0, sizeof(*res));
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		/* the side's directory as cwd, entered as root: its ancestors
		 * (the suite's 0700 tmp dir) are no business of the caller */
		if (fchdir(dirfd) < 0)
			res->setup_err = errno;
		else if (w->uid != 0 &&
			 (setgroups(w->ngroups, w->groups) < 0 ||
			  setresgid(w->gid, w->gid, w->gid) < 0 ||
			  setresuid(w->uid, w->uid, w->uid) < 0))
			res->setup_err = errno;
		else if (w->uid != 0 && (geteuid() != w->uid || getegid() != w->gid))
			res->setup_err = EPERM;
		if (res->setup_err)
			_exit(1);
		umask(0);
		res->ret = do_local(o, &res->st);
		_exit(0);
	}
	close(dirfd);
	if (pid > 0)
		waitpid(pid, &status, 0);
	CHECK(pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "local child: status %#x, setup error %s", status, strerror(res->setup_err));
	ret = (pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0) ? res->ret : -EIO;
	if (st)
		*st = res->st;
	munmap(res, sizeof(*res));
	return ret;
}

/* ---------------------------------------------------------------- */
/* (b) through the daemon, as the guest would send it */

static void as_caller(const struct who *w)
{
	H.c->uid = w->uid;
	H.c->gid = w->gid;
}

static void as_runner(void)
{
	H.c->uid = getuid();
	H.c->gid = getgid();
}

/* The node of guest/rel (a lookup reference is kept: never forgotten). */
static uint64_t gnode(const char *rel, struct fuse_attr *attr)
{
	char p[600];
	uint64_t node = 0;
	struct fuse_attr a;
	int err;

	snprintf(p, sizeof(p), "/guest%s%s", *rel ? "/" : "", rel);
	err = vfs_resolve(H.c, p, &node, attr ? attr : &a);
	CHECK(err == 0, "LOOKUP %s: %s", p, err_str(err));
	return err ? 0 : node;
}

/* LOOKUP of guest/rel where Linux has a dentry before the request
 * (the entry to remove or rename, a rename's target): a daemon may
 * know only names looked up. A missing one is fine. */
static void glookup(const char *rel)
{
	char p[600];
	uint64_t node;
	struct fuse_attr a;

	snprintf(p, sizeof(p), "/guest/%s", rel);
	(void)vfs_resolve(H.c, p, &node, &a);
}

/* The parent's node of guest/rel, and the last component in *name. */
static uint64_t gparent(const char *rel, const char **name)
{
	const char *slash = strrchr(rel, '/');
	char dir[600];

	if (!slash) {
		*name = rel;
		return gnode("", NULL);
	}
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - rel), rel);
	*name = slash + 1;
	return gnode(dir, NULL);
}

/* The extension FUSE_CREATE_SUPP_GROUP adds to a creating request, as
 * Linux lays it out after the last argument. */
struct supp_ext {
	struct fuse_ext_header h;
	uint32_t nr_groups;
	uint32_t groups[3];	/* room for two and the padding */
};

/* CREATE, MKNOD, MKDIR or TMPFILE, raw: with w's supplementary groups in
 * the extension when it has any. */
static int guest_make(const struct who *w, const struct op *o, struct fuse_attr *attr)
{
	const char *name = "tmpfile";
	uint64_t parent = o->kind == OP_TMPFILE ? gnode(o->path, NULL) : gparent(o->path, &name);
	size_t cap = sizeof(struct fuse_out_header) + sizeof(struct fuse_entry_out) +
		     sizeof(struct fuse_open_out);

	if (!parent)
		return -EIO;
	switch (o->kind) {
	case OP_CREATE:
	case OP_TMPFILE: {
		struct fuse_create_in in = { .flags = O_RDWR, .mode = S_IFREG | o->mode };

		msg_build(&M, o->kind == OP_CREATE ? FUSE_CREATE : FUSE_TMPFILE, parent, &in,
			  sizeof(in));
		msg_append_str(&M, name);
		break;
	}
	case OP_MKNOD: {
		/* rdev as new_encode_dev() */
		struct fuse_mknod_in in = {
			.mode = o->mode,
			.rdev = (o->minor & 0xff) | (o->major << 8) | ((o->minor & ~0xffu) << 12),
		};

		msg_build(&M, FUSE_MKNOD, parent, &in, sizeof(in));
		msg_append_str(&M, name);
		break;
	}
	case OP_MKDIR:
	default: {
		struct fuse_mkdir_in in = { .mode = o->mode };

		msg_build(&M, FUSE_MKDIR, parent, &in, sizeof(in));
		msg_append_str(&M, name);
		break;
	}
	}
	if (w->ngroups) {
		struct supp_ext ext = {
			.h = { .size = 8 + 4 + 4 * w->ngroups, .type = VFS_FUSE_EXT_GROUPS },
			.nr_groups = w->ngroups,
		};

		memcpy(ext.groups, w->groups, w->ngroups * sizeof(ext.groups[0]));
		ext.h.size = (ext.h.size + 7) & ~7u;
		msg_append(&M, &ext, ext.h.size);
		msg_hdr(&M)->total_extlen = (uint16_t)(ext.h.size / 8);
	}
	raw_send(&M, HQ, cap, &R);
	if (R.used < (ssize_t)sizeof(R.oh) || R.oh.unique != M.unique) {
		CHECK(0, "%s: no reply (used %zd)", op_names[o->kind], R.used);
		return -EIO;
	}
	if (R.oh.error)
		return R.oh.error;
	if ((size_t)R.used < sizeof(R.oh) + sizeof(struct fuse_entry_out)) {
		CHECK(0, "%s: short reply %zd", op_names[o->kind], R.used);
		return -EIO;
	}
	struct fuse_entry_out e;
	memcpy(&e, R.data, sizeof(e));
	if (attr)
		*attr = e.attr;
	if (o->kind == OP_CREATE || o->kind == OP_TMPFILE) {
		struct fuse_open_out op;

		memcpy(&op, R.data + sizeof(e), sizeof(op));
		vfs_release(H.c, e.nodeid, op.fh, 0);
	}
	return 0;
}

static int guest_open(uint64_t node, uint32_t flags, uint64_t *fh)
{
	struct fuse_open_out o = { 0 };
	int err = vfs_open(H.c, node, flags, &o);

	*fh = o.fh;
	return err;
}

static int do_guest(const struct who *w, const struct op *o, struct fuse_attr *attr)
{
	struct fuse_setattr_in in = { 0 };
	struct fuse_attr_out ao;
	struct fuse_entry_out e;
	struct fuse_attr a;
	const char *name, *name2;
	uint64_t node, node2, fh, fh2;
	ssize_t n;
	int err;

	switch (o->kind) {
	case OP_CREATE:
	case OP_MKNOD:
	case OP_MKDIR:
	case OP_TMPFILE:
		return guest_make(w, o, attr);
	case OP_CHMOD:
	case OP_CHOWN:
	case OP_UTIMES:
	case OP_TRUNCATE:
		node = gnode(o->path, &a);
		if (!node)
			return -EIO;
		if (o->kind == OP_CHMOD) {
			in.valid = FATTR_MODE;
			/* as Linux sends it: with the file type */
			in.mode = (a.mode & S_IFMT) | o->mode;
		} else if (o->kind == OP_CHOWN) {
			in.valid = (o->uid != (uid_t)-1 ? FATTR_UID : 0) |
				   (o->gid != (gid_t)-1 ? FATTR_GID : 0);
			in.uid = o->uid;
			in.gid = o->gid;
		} else if (o->kind == OP_UTIMES) {
			in.valid = FATTR_ATIME | FATTR_MTIME;
			in.atime = in.mtime = TIMES_SEC;
		} else {
			/* no FATTR_KILL_SUIDGID: the daemon must not rely on it */
			in.valid = FATTR_SIZE;
			in.size = 0;
		}
		return vfs_setattr(H.c, node, &in, &ao);
	case OP_OPEN_TRUNC:
		node = gnode(o->path, NULL);
		if (!node)
			return -EIO;
		/* no FUSE_OPEN_KILL_SUIDGID */
		err = guest_open(node, O_WRONLY | O_TRUNC, &fh);
		if (err == 0)
			vfs_release(H.c, node, fh, 0);
		return err;
	case OP_WRITE:
	case OP_FALLOCATE:
		node = gnode(o->path, NULL);
		if (!node)
			return -EIO;
		err = guest_open(node, O_WRONLY, &fh);
		if (err)
			return err;
		if (o->kind == OP_WRITE) {
			/* no FUSE_WRITE_KILL_SUIDGID */
			n = vfs_write(H.c, node, fh, 0, "hello", 5, 0);
			err = n < 0 ? (int)n : n == 5 ? 0 : -EIO;
		} else {
			err = vfs_fallocate(H.c, node, fh, 0, 8192, 0);
		}
		vfs_release(H.c, node, fh, 0);
		return err;
	case OP_COPY:
		node = gnode(o->path, NULL);
		node2 = gnode(o->path2, NULL);
		if (!node || !node2)
			return -EIO;
		err = guest_open(node, O_RDONLY, &fh);
		if (err)
			return err;
		err = guest_open(node2, O_WRONLY, &fh2);
		if (err == 0) {
			n = vfs_copy_file_range(H.c, node, fh, 0, node2, fh2, 0, 5, 0);
			err = n < 0 ? (int)n : 0;
			vfs_release(H.c, node2, fh2, 0);
		}
		vfs_release(H.c, node, fh, 0);
		return err;
	case OP_SETXATTR:
		node = gnode(o->path, NULL);
		return node ? vfs_setxattr(H.c, node, o->name, o->value, o->size, 0) : -EIO;
	case OP_LINK:
		node = gnode(o->path, NULL);
		node2 = gparent(o->path2, &name2);
		if (!node || !node2)
			return -EIO;
		return vfs_link(H.c, node, node2, name2, &e);
	case OP_UNLINK:
	case OP_RMDIR:
		glookup(o->path);
		node = gparent(o->path, &name);
		if (!node)
			return -EIO;
		return o->kind == OP_UNLINK ? vfs_unlink(H.c, node, name) :
					      vfs_rmdir(H.c, node, name);
	case OP_RENAME:
		glookup(o->path);
		glookup(o->path2);
		node = gparent(o->path, &name);
		node2 = gparent(o->path2, &name2);
		if (!node || !node2)
			return -EIO;
		return vfs_rename(H.c, node, name, node2, name2, 0);
	}
	return -EINVAL;
}

static int run_guest(const struct who *w, const struct op *o, struct fuse_attr *attr)
{
	int err;

	as_caller(w);
	err = do_guest(w, o, attr);
	as_runner();
	return err;
}

/* ---------------------------------------------------------------- */
/* both, and the comparison */

struct outcome {
	int local, guest;		/* 0 or -errno */
	struct ent local_new, guest_new; /* TMPFILE: the new inode */
};

/* Runs o on both sides as w; the same error and the same state of every
 * entry named in ents (NULL-terminated) on both, else both are printed. */
static struct outcome both_(int line, const struct who *w, const struct op *o,
			    const char *const *ents)
{
	struct outcome out = { 0 };
	struct stat st;
	struct fuse_attr ga = { 0 };
	char what[300];
	bool ok;

	snprintf(what, sizeof(what), "line %d: %s %s%s%s as uid %u gid %u%s", line,
		 op_names[o->kind], o->path, o->path2 ? " -> " : "", o->path2 ? o->path2 : "",
		 w->uid, w->gid, w->ngroups ? " (+1 supplementary group)" : "");
	out.local = run_local(w, o, &st);
	out.guest = run_guest(w, o, &ga);
	ok = out.local == out.guest;
	if (o->kind == OP_TMPFILE) {
		if (out.local == 0)
			out.local_new = (struct ent){ true, st.st_mode & (S_IFMT | 07777),
						      st.st_uid, st.st_gid };
		if (out.guest == 0)
			out.guest_new = (struct ent){ true, ga.mode & (S_IFMT | 07777), ga.uid,
						      ga.gid };
		ok = ok && ent_eq(out.local_new, out.guest_new);
	}
	for (unsigned i = 0; ents[i]; i++)
		ok = ok && ent_eq(ent_of("local", ents[i]), ent_of("guest", ents[i]));
	CHECK(ok, "%s: the guest got other than the local caller", what);
	if (!ok) {
		fprintf(stderr, "    result: local %s, guest %s\n", err_str(out.local),
			err_str(out.guest));
		if (o->kind == OP_TMPFILE)
			fprintf(stderr, "    new inode: local %s, guest %s\n",
				ent_str(out.local_new), ent_str(out.guest_new));
		for (unsigned i = 0; ents[i]; i++)
			fprintf(stderr, "    %s: local %s, guest %s\n", ents[i],
				ent_str(ent_of("local", ents[i])),
				ent_str(ent_of("guest", ents[i])));
	}
	return out;
}

#define BOTH(w, o, ...) both_(__LINE__, (w), (o), (const char *const[]){ __VA_ARGS__, NULL })

/* Absolute facts: what the kernel's rule says, on both sides. */
#define EXPECT_RESULT(out, want)                                                     \
	CHECK((out).local == (want) && (out).guest == (want),                         \
	      "result: local %s, guest %s; the kernel's rule: %s", err_str((out).local),  \
	      err_str((out).guest), err_str(want))

static void expect_ent_(int line, const char *rel, struct ent want)
{
	struct ent l = ent_of("local", rel), g = ent_of("guest", rel);

	CHECK(ent_eq(l, want) && ent_eq(g, want),
	      "line %d: %s: local %s, guest %s; the kernel's rule: %s", line, rel, ent_str(l),
	      ent_str(g), ent_str(want));
}

#define EXPECT_ENT(rel, mode, uid, gid) \
	expect_ent_(__LINE__, (rel), (struct ent){ true, (mode), (uid), (gid) })
#define EXPECT_ABSENT(rel) expect_ent_(__LINE__, (rel), (struct ent){ 0 })

/* ---------------------------------------------------------------- */
/* creating in a setgid directory (CVE-2022-0358) */

static void sgid_dir(void)
{
	sides();
	hmk("d", S_IFDIR | 03777, 0, GRP);
}

static void create_sgid_nonmember(void)
{
	struct outcome o;

	sgid_dir();
	o = BOTH(&USER, (&(struct op){ OP_CREATE, "d/f", .mode = 02755 }), "d/f");
	EXPECT_RESULT(o, 0);
	EXPECT_ENT("d/f", S_IFREG | 0755, USER_UID, GRP);
	o = BOTH(&USER, (&(struct op){ OP_MKNOD, "d/n", .mode = S_IFREG | 02755 }), "d/n");
	EXPECT_RESULT(o, 0);
	EXPECT_ENT("d/n", S_IFREG | 0755, USER_UID, GRP);
	/* a directory takes S_ISGID from its parent, member or not */
	o = BOTH(&USER, (&(struct op){ OP_MKDIR, "d/sub", .mode = 0755 }), "d/sub");
	EXPECT_RESULT(o, 0);
	EXPECT_ENT("d/sub", S_IFDIR | 02755, USER_UID, GRP);
	/* S_ISGID without group execute is not stripped (the kernel's
	 * mode_strip_sgid): whatever the host does, the same */
	BOTH(&USER, (&(struct op){ OP_CREATE, "d/nox", .mode = 02745 }), "d/nox");
	ALIVE();
}

static bool supp_group_negotiated(void)
{
	const struct fuse_init_out *io = vfs_client_init_out(H.c);

	return (io->flags & FUSE_INIT_EXT) &&
	       (((uint64_t)io->flags2 << 32) & FUSE_CREATE_SUPP_GROUP);
}

static void create_sgid_member_with_supp_group(void)
{
	struct outcome o;

	/* a root daemon takes it: it can act with the caller's groups */
	CHECK(supp_group_negotiated(), "FUSE_CREATE_SUPP_GROUP not negotiated (flags %#x %#x)",
	      vfs_client_init_out(H.c)->flags, vfs_client_init_out(H.c)->flags2);
	sgid_dir();
	o = BOTH(&MEMBER, (&(struct op){ OP_CREATE, "d/f", .mode = 02755 }), "d/f");
	EXPECT_RESULT(o, 0);
	EXPECT_ENT("d/f", S_IFREG | 02755, USER_UID, GRP);
	o = BOTH(&MEMBER, (&(struct op){ OP_MKNOD, "d/n", .mode = S_IFREG | 02755 }), "d/n");
	EXPECT_RESULT(o, 0);
	EXPECT_ENT("d/n", S_IFREG | 02755, USER_UID, GRP);
	o = BOTH(&MEMBER, (&(struct op){ OP_MKDIR, "d/sub", .mode = 0755 }), "d/sub");
	EXPECT_RESULT(o, 0);
	EXPECT_ENT("d/sub", S_IFDIR | 02755, USER_UID, GRP);
	o = BOTH(&MEMBER, (&(struct op){ OP_TMPFILE, "d", .mode = 02755 }), "d");
	EXPECT_RESULT(o, 0);
	CHECK(o.guest_new.mode == (S_IFREG | 02755), "TMPFILE as a member: %s",
	      ent_str(o.guest_new));
	/* the group sent is the one used: another group does not count */
	o = BOTH(&OTHER_MEMBER, (&(struct op){ OP_CREATE, "d/g", .mode = 02755 }), "d/g");
	EXPECT_RESULT(o, 0);
	EXPECT_ENT("d/g", S_IFREG | 0755, USER_UID, GRP);
	ALIVE();
}

static void tmpfile_sgid_nonmember(void)
{
	struct outcome o;

	sgid_dir();
	o = BOTH(&USER, (&(struct op){ OP_TMPFILE, "d", .mode = 02755 }), "d");
	EXPECT_RESULT(o, 0);
	CHECK(ent_eq(o.local_new, (struct ent){ true, S_IFREG | 0755, USER_UID, GRP }) &&
	      ent_eq(o.guest_new, (struct ent){ true, S_IFREG | 0755, USER_UID, GRP }),
	      "TMPFILE 02755 by a non-member: local %s, guest %s; the kernel's rule: mode "
	      "0100755 uid %u gid %u", ent_str(o.local_new), ent_str(o.guest_new), USER_UID,
	      GRP);
	ALIVE();
}

static void mknod_device(void)
{
	struct outcome o;

	sides();
	hmk("d", S_IFDIR | 0777, 0, 0);
	o = BOTH(&USER, (&(struct op){ OP_MKNOD, "d/null", .mode = S_IFCHR | 0666, .major = 1,
				       .minor = 3 }), "d/null");
	EXPECT_RESULT(o, -EPERM);
	EXPECT_ABSENT("d/null");
	o = BOTH(&USER, (&(struct op){ OP_MKNOD, "d/loop", .mode = S_IFBLK | 0660, .major = 7,
				       .minor = 0 }), "d/loop");
	EXPECT_RESULT(o, -EPERM);
	EXPECT_ABSENT("d/loop");
	/* what the caller may make, it gets */
	o = BOTH(&USER, (&(struct op){ OP_MKNOD, "d/fifo", .mode = S_IFIFO | 0640 }), "d/fifo");
	EXPECT_RESULT(o, 0);
	EXPECT_ENT("d/fifo", S_IFIFO | 0640, USER_UID, USER_GID);
	ALIVE();
}

/* ---------------------------------------------------------------- */
/* SETATTR: ownership rules */

static void setattr_chmod_not_owner(void)
{
	struct outcome o;

	sides();
	hmk("d", S_IFDIR | 0777, 0, 0);
	hmk("d/f", S_IFREG | 0644, 0, 0);
	o = BOTH(&USER, (&(struct op){ OP_CHMOD, "d/f", .mode = 0777 }), "d/f");
	EXPECT_RESULT(o, -EPERM);
	EXPECT_ENT("d/f", S_IFREG | 0644, 0, 0);
	ALIVE();
}

/* A chmod that only clears setuid/setgid is still a chmod: only the
 * owner's. (The daemon negotiates FUSE_HANDLE_KILLPRIV, so a guest never
 * sends it to kill the bits after a write.) */
static void setattr_clear_suid_not_owner(void)
{
	struct outcome o;

	sides();
	hmk("d", S_IFDIR | 0777, 0, 0);
	hmk("d/s", S_IFREG | 04755, 0, 0);
	hmk("d/g", S_IFREG | 06755, 0, 0);
	o = BOTH(&USER, (&(struct op){ OP_CHMOD, "d/s", .mode = 0755 }), "d/s");
	EXPECT_RESULT(o, -EPERM);
	EXPECT_ENT("d/s", S_IFREG | 04755, 0, 0);
	o = BOTH(&USER, (&(struct op){ OP_CHMOD, "d/g", .mode = 0755 }), "d/g");
	EXPECT_RESULT(o, -EPERM);
	EXPECT_ENT("d/g", S_IFREG | 06755, 0, 0);
	ALIVE();
}

static void setattr_chmod_sgid_nonmember(void)
{
	struct outcome o;

	sides();
	hmk("d", S_IFDIR | 0777, 0, 0);
	hmk("d/f", S_IFREG | 0755, USER_UID, GRP);
	hmk("d/u", S_IFREG | 0755, USER_UID, GRP);
	o = BOTH(&USER, (&(struct op){ OP_CHMOD, "d/f", .mode = 02755 }), "d/f");
	EXPECT_RESULT(o, 0);
	EXPECT_ENT("d/f", S_IFREG | 0755, USER_UID, GRP);
	/* the owner may set setuid */
	o = BOTH(&USER, (&(struct op){ OP_CHMOD, "d/u", .mode = 04755 }), "d/u");
	EXPECT_RESULT(o, 0);
	EXPECT_ENT("d/u", S_IFREG | 04755, USER_UID, GRP);
	ALIVE();
}

static void setattr_chown_to_root(void)
{
	struct outcome o;

	sides();
	hmk("d", S_IFDIR | 0777, 0, 0);
	hmk("d/f", S_IFREG | 0644, USER_UID, USER_GID);
	o = BOTH(&USER, (&(struct op){ OP_CHOWN, "d/f", .uid = 0, .gid = (gid_t)-1 }), "d/f");
	EXPECT_RESULT(o, -EPERM);
	EXPECT_ENT("d/f", S_IFREG | 0644, USER_UID, USER_GID);
	/* to itself: allowed */
	o = BOTH(&USER, (&(struct op){ OP_CHOWN, "d/f", .uid = USER_UID, .gid = (gid_t)-1 }),
		 "d/f");
	EXPECT_RESULT(o, 0);
	ALIVE();
}

static void setattr_chgrp_nonmember(void)
{
	struct outcome o;

	sides();
	hmk("d", S_IFDIR | 0777, 0, 0);
	hmk("d/f", S_IFREG | 0644, USER_UID, USER_GID);
	o = BOTH(&USER, (&(struct op){ OP_CHOWN, "d/f", .uid = (uid_t)-1, .gid = GRP }), "d/f");
	EXPECT_RESULT(o, -EPERM);
	EXPECT_ENT("d/f", S_IFREG | 0644, USER_UID, USER_GID);
	ALIVE();
}

static void setattr_chgrp_own_group_clears_suid(void)
{
	struct outcome o;

	sides();
	hmk("d", S_IFDIR | 0777, 0, 0);
	hmk("d/f", S_IFREG | 06755, USER_UID, GRP);
	o = BOTH(&USER, (&(struct op){ OP_CHOWN, "d/f", .uid = (uid_t)-1, .gid = USER_GID }),
		 "d/f");
	EXPECT_RESULT(o, 0);
	EXPECT_ENT("d/f", S_IFREG | 0755, USER_UID, USER_GID);
	ALIVE();
}

static void setattr_utimes_not_owner(void)
{
	struct outcome o;

	sides();
	hmk("d", S_IFDIR | 0777, 0, 0);
	hmk("d/f", S_IFREG | 0666, 0, 0);
	hmk("d/mine", S_IFREG | 0644, USER_UID, USER_GID);
	o = BOTH(&USER, (&(struct op){ OP_UTIMES, "d/f" }), "d/f");
	EXPECT_RESULT(o, -EPERM);
	o = BOTH(&USER, (&(struct op){ OP_UTIMES, "d/mine" }), "d/mine");
	EXPECT_RESULT(o, 0);
	/* and the times stayed or changed alike */
	struct stat l, g;
	CHECK(stat(side_path("local", "d/f"), &l) == 0 && stat(side_path("guest", "d/f"), &g) == 0 &&
	      l.st_mtime != TIMES_SEC && g.st_mtime != TIMES_SEC, "d/f's mtime was set");
	CHECK(stat(side_path("local", "d/mine"), &l) == 0 &&
	      stat(side_path("guest", "d/mine"), &g) == 0 && l.st_mtime == TIMES_SEC &&
	      g.st_mtime == TIMES_SEC, "d/mine's mtime: local %lld guest %lld",
	      (long long)l.st_mtime, (long long)g.st_mtime);
	ALIVE();
}

/* ---------------------------------------------------------------- */
/* kill-priv: data written for a caller without CAP_FSETID */

/* Setgid without group execute: the kernel clears it on a write by a
 * caller outside the file's group only (setattr_should_drop_sgid, Linux
 * 6.2 and later; earlier kernels kept it for everyone), and the group
 * that counts is the caller's, not the daemon's: compared, not asserted. */
static void kill_sgid_nox(enum op_kind kind)
{
	hmk("d/nox_other", S_IFREG | 02767, 0, 0);
	hmk("d/nox_own", S_IFREG | 02767, 0, USER_GID);
	if (kind == OP_COPY) {
		BOTH(&USER, (&(struct op){ kind, "d/src", "d/nox_other" }), "d/nox_other");
		BOTH(&USER, (&(struct op){ kind, "d/src", "d/nox_own" }), "d/nox_own");
	} else {
		BOTH(&USER, (&(struct op){ kind, "d/nox_other" }), "d/nox_other");
		BOTH(&USER, (&(struct op){ kind, "d/nox_own" }), "d/nox_own");
	}
}

static void kill_dir(void)
{
	sides();
	hmk("d", S_IFDIR | 0777, 0, 0);
	hmk("d/src", S_IFREG | 0644, USER_UID, USER_GID);
}

static void truncate_kills_suid(void)
{
	struct outcome o;

	kill_dir();
	hmk("d/f", S_IFREG | 06777, 0, 0);
	hmk("d/t", S_IFREG | 06777, 0, 0);
	hmk("d/r", S_IFREG | 06777, 0, 0);
	o = BOTH(&USER, (&(struct op){ OP_TRUNCATE, "d/f" }), "d/f");
	EXPECT_RESULT(o, 0);
	EXPECT_ENT("d/f", S_IFREG | 0777, 0, 0);
	o = BOTH(&USER, (&(struct op){ OP_OPEN_TRUNC, "d/t" }), "d/t");
	EXPECT_RESULT(o, 0);
	EXPECT_ENT("d/t", S_IFREG | 0777, 0, 0);
	/* root keeps them (CAP_FSETID) */
	o = BOTH(&ROOT, (&(struct op){ OP_TRUNCATE, "d/r" }), "d/r");
	EXPECT_RESULT(o, 0);
	EXPECT_ENT("d/r", S_IFREG | 06777, 0, 0);
	o = BOTH(&ROOT, (&(struct op){ OP_OPEN_TRUNC, "d/r" }), "d/r");
	EXPECT_RESULT(o, 0);
	EXPECT_ENT("d/r", S_IFREG | 06777, 0, 0);
	kill_sgid_nox(OP_TRUNCATE);
	ALIVE();
}

static void open_trunc_kills_sgid_nox(void)
{
	kill_dir();
	kill_sgid_nox(OP_OPEN_TRUNC);
	ALIVE();
}

static void write_kills_suid(void)
{
	struct outcome o;

	kill_dir();
	hmk("d/u", S_IFREG | 04777, 0, 0);
	hmk("d/g", S_IFREG | 02777, 0, 0);
	o = BOTH(&USER, (&(struct op){ OP_WRITE, "d/u" }), "d/u");
	EXPECT_RESULT(o, 0);
	EXPECT_ENT("d/u", S_IFREG | 0777, 0, 0);
	o = BOTH(&USER, (&(struct op){ OP_WRITE, "d/g" }), "d/g");
	EXPECT_RESULT(o, 0);
	EXPECT_ENT("d/g", S_IFREG | 0777, 0, 0);
	kill_sgid_nox(OP_WRITE);
	ALIVE();
}

static void copy_file_range_kills_suid(void)
{
	struct outcome o;

	kill_dir();
	hmk("d/dst", S_IFREG | 04777, 0, 0);
	o = BOTH(&USER, (&(struct op){ OP_COPY, "d/src", "d/dst" }), "d/src", "d/dst");
	EXPECT_RESULT(o, 0);
	EXPECT_ENT("d/dst", S_IFREG | 0777, 0, 0);
	kill_sgid_nox(OP_COPY);
	ALIVE();
}

/* The file system decides whether an allocation clears them (ext4 and
 * xfs do): compared only. */
static void fallocate_kills_suid(void)
{
	struct outcome o;

	kill_dir();
	hmk("d/f", S_IFREG | 04777, 0, 0);
	hmk("d/g", S_IFREG | 02777, 0, 0);
	o = BOTH(&USER, (&(struct op){ OP_FALLOCATE, "d/f" }), "d/f");
	EXPECT_RESULT(o, 0);
	o = BOTH(&USER, (&(struct op){ OP_FALLOCATE, "d/g" }), "d/g");
	EXPECT_RESULT(o, 0);
	kill_sgid_nox(OP_FALLOCATE);
	ALIVE();
}

static void write_root_keeps_suid(void)
{
	struct outcome o;

	sides();
	hmk("d", S_IFDIR | 0777, 0, 0);
	hmk("d/a", S_IFREG | 04777, 0, 0);
	hmk("d/b", S_IFREG | 04777, 0, 0);
	hmk("d/c", S_IFREG | 06777, USER_UID, USER_GID);
	/* a user's write first: the daemon's rights must come back after */
	o = BOTH(&USER, (&(struct op){ OP_WRITE, "d/a" }), "d/a");
	EXPECT_RESULT(o, 0);
	EXPECT_ENT("d/a", S_IFREG | 0777, 0, 0);
	o = BOTH(&ROOT, (&(struct op){ OP_WRITE, "d/b" }), "d/b");
	EXPECT_RESULT(o, 0);
	EXPECT_ENT("d/b", S_IFREG | 04777, 0, 0);
	o = BOTH(&ROOT, (&(struct op){ OP_WRITE, "d/c" }), "d/c");
	EXPECT_RESULT(o, 0);
	EXPECT_ENT("d/c", S_IFREG | 06777, USER_UID, USER_GID);
	o = BOTH(&ROOT, (&(struct op){ OP_FALLOCATE, "d/c" }), "d/c");
	EXPECT_RESULT(o, 0);
	EXPECT_ENT("d/c", S_IFREG | 06777, USER_UID, USER_GID);
	ALIVE();
}

/* ---------------------------------------------------------------- */
/* SETXATTR: ACLs, security.capability, trusted.* */

/* <linux/posix_acl_xattr.h>, written out: version 2, then entries in
 * the order USER_OBJ, GROUP_OBJ, OTHER for a minimal ACL. */
struct acl_entry {
	uint16_t tag, perm;
	uint32_t id;
};
struct acl_minimal {
	uint32_t version;
	struct acl_entry e[3];
};

static struct acl_minimal acl_of_mode(mode_t mode)
{
	return (struct acl_minimal){
		.version = 2,
		.e = {
			{ 0x01, (mode >> 6) & 7, UINT32_MAX },	/* ACL_USER_OBJ */
			{ 0x04, (mode >> 3) & 7, UINT32_MAX },	/* ACL_GROUP_OBJ */
			{ 0x20, mode & 7, UINT32_MAX },		/* ACL_OTHER */
		},
	};
}

/* lgetxattr's answer on one side: the size, or -errno. */
static ssize_t xattr_len(const char *side, const char *rel, const char *name)
{
	ssize_t n = lgetxattr(side_path(side, rel), name, NULL, 0);

	return n < 0 ? -errno : n;
}

static void expect_no_xattr(const char *rel, const char *name)
{
	ssize_t l = xattr_len("local", rel, name), g = xattr_len("guest", rel, name);

	CHECK(l == -ENODATA && g == -ENODATA, "%s %s: local %zd, guest %zd, want -ENODATA", rel,
	      name, l, g);
}

static void setxattr_acl_not_owner(void)
{
	struct acl_minimal acl = acl_of_mode(0777);
	struct outcome o;

	sides();
	hmk("d", S_IFDIR | 0777, 0, 0);
	hmk("d/f", S_IFREG | 0644, 0, 0);
	o = BOTH(&USER, (&(struct op){ OP_SETXATTR, "d/f", .name = "system.posix_acl_access",
				       .value = &acl, .size = sizeof(acl) }), "d/f");
	EXPECT_RESULT(o, -EPERM);
	EXPECT_ENT("d/f", S_IFREG | 0644, 0, 0);
	ALIVE();
}

static void setxattr_acl_sgid_nonmember(void)
{
	struct acl_minimal acl = acl_of_mode(0775);
	struct outcome o;

	sides();
	hmk("d", S_IFDIR | 0777, 0, 0);
	hmk("d/f", S_IFREG | 02775, USER_UID, GRP);
	/* the guest does not say FUSE_SETXATTR_ACL_KILL_SGID: the host's
	 * rule must clear S_ISGID for the non-member all the same */
	o = BOTH(&USER, (&(struct op){ OP_SETXATTR, "d/f", .name = "system.posix_acl_access",
				       .value = &acl, .size = sizeof(acl) }), "d/f");
	EXPECT_RESULT(o, 0);
	EXPECT_ENT("d/f", S_IFREG | 0775, USER_UID, GRP);
	ALIVE();
}

static void setxattr_security_capability(void)
{
	/* struct vfs_cap_data, revision 2, effective: CAP_NET_RAW (13) */
	const uint32_t cap[5] = { 0x02000000 | 1, 1u << 13, 0, 0, 0 };
	struct outcome o;

	sides();
	hmk("d", S_IFDIR | 0777, 0, 0);
	hmk("d/f", S_IFREG | 0755, USER_UID, USER_GID);
	o = BOTH(&USER, (&(struct op){ OP_SETXATTR, "d/f", .name = "security.capability",
				       .value = cap, .size = sizeof(cap) }), "d/f");
	EXPECT_RESULT(o, -EPERM);
	expect_no_xattr("d/f", "security.capability");
	ALIVE();
}

static void setxattr_trusted(void)
{
	struct outcome o;

	sides();
	hmk("d", S_IFDIR | 0777, 0, 0);
	hmk("d/f", S_IFREG | 0644, USER_UID, USER_GID);
	o = BOTH(&USER, (&(struct op){ OP_SETXATTR, "d/f", .name = "trusted.x", .value = "1",
				       .size = 1 }), "d/f");
	EXPECT_RESULT(o, -EPERM);
	expect_no_xattr("d/f", "trusted.x");
	ALIVE();
}

/* ---------------------------------------------------------------- */
/* LINK: fs.protected_hardlinks */

static int protected_hardlinks(void)
{
	FILE *f = fopen("/proc/sys/fs/protected_hardlinks", "r");
	int v = -1;

	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = -1;
		fclose(f);
	}
	CHECK(v == 0 || v == 1, "fs.protected_hardlinks: %d", v);
	return v;
}

static void link_suid_root_file(void)
{
	int want = protected_hardlinks() == 1 ? -EPERM : 0;
	struct outcome o;

	sides();
	hmk("d", S_IFDIR | 0777, 0, 0);
	hmk("f", S_IFREG | 04755, 0, 0);
	hmk("mine", S_IFREG | 04755, USER_UID, USER_GID);
	o = BOTH(&USER, (&(struct op){ OP_LINK, "f", "d/l" }), "f", "d/l");
	EXPECT_RESULT(o, want);
	if (want)
		EXPECT_ABSENT("d/l");
	/* the owner may link it */
	o = BOTH(&USER, (&(struct op){ OP_LINK, "mine", "d/m" }), "mine", "d/m");
	EXPECT_RESULT(o, 0);
	ALIVE();
}

static void link_unreadable_other_file(void)
{
	int want = protected_hardlinks() == 1 ? -EPERM : 0;
	struct outcome o;

	sides();
	hmk("d", S_IFDIR | 0777, 0, 0);
	hmk("f", S_IFREG | 0600, 0, 0);
	hmk("rw", S_IFREG | 0666, 0, 0);
	o = BOTH(&USER, (&(struct op){ OP_LINK, "f", "d/l" }), "f", "d/l");
	EXPECT_RESULT(o, want);
	if (want)
		EXPECT_ABSENT("d/l");
	/* readable and writable for the caller: a safe source */
	o = BOTH(&USER, (&(struct op){ OP_LINK, "rw", "d/rw" }), "rw", "d/rw");
	EXPECT_RESULT(o, 0);
	ALIVE();
}

/* ---------------------------------------------------------------- */
/* sticky directories */

/* s: root's sticky dir; o: the user's sticky dir; n: root's, not sticky.
 * Each holds entries of the other user, s also the user's own. */
static void sticky_dirs(bool dirs)
{
	mode_t m = dirs ? S_IFDIR | 0755 : S_IFREG | 0644;

	sides();
	hmk("s", S_IFDIR | 01777, 0, 0);
	hmk("o", S_IFDIR | 01777, USER_UID, USER_GID);
	hmk("n", S_IFDIR | 0777, 0, 0);
	hmk("s/other", m, OTHER_UID, OTHER_UID);
	hmk("s/mine", m, USER_UID, USER_GID);
	hmk("o/other", m, OTHER_UID, OTHER_UID);
	hmk("n/other", m, OTHER_UID, OTHER_UID);
}

static void unlink_sticky_other(void)
{
	struct outcome o;

	sticky_dirs(false);
	o = BOTH(&USER, (&(struct op){ OP_UNLINK, "s/other" }), "s/other");
	EXPECT_RESULT(o, -EPERM);
	EXPECT_ENT("s/other", S_IFREG | 0644, OTHER_UID, OTHER_UID);
	/* one's own file; the directory's owner; no sticky bit */
	o = BOTH(&USER, (&(struct op){ OP_UNLINK, "s/mine" }), "s/mine");
	EXPECT_RESULT(o, 0);
	o = BOTH(&USER, (&(struct op){ OP_UNLINK, "o/other" }), "o/other");
	EXPECT_RESULT(o, 0);
	o = BOTH(&USER, (&(struct op){ OP_UNLINK, "n/other" }), "n/other");
	EXPECT_RESULT(o, 0);
	ALIVE();
}

static void rename_sticky_other(void)
{
	struct outcome o;

	sticky_dirs(false);
	o = BOTH(&USER, (&(struct op){ OP_RENAME, "s/other", "s/x" }), "s/other", "s/x");
	EXPECT_RESULT(o, -EPERM);
	o = BOTH(&USER, (&(struct op){ OP_RENAME, "s/other", "n/x" }), "s/other", "n/x");
	EXPECT_RESULT(o, -EPERM);
	/* one's own file over another's */
	o = BOTH(&USER, (&(struct op){ OP_RENAME, "s/mine", "s/other" }), "s/mine", "s/other");
	EXPECT_RESULT(o, -EPERM);
	EXPECT_ENT("s/other", S_IFREG | 0644, OTHER_UID, OTHER_UID);
	EXPECT_ENT("s/mine", S_IFREG | 0644, USER_UID, USER_GID);
	/* allowed: one's own file, the directory's owner */
	o = BOTH(&USER, (&(struct op){ OP_RENAME, "s/mine", "s/mine2" }), "s/mine", "s/mine2");
	EXPECT_RESULT(o, 0);
	o = BOTH(&USER, (&(struct op){ OP_RENAME, "o/other", "o/y" }), "o/other", "o/y");
	EXPECT_RESULT(o, 0);
	ALIVE();
}

static void rmdir_sticky_other(void)
{
	struct outcome o;

	sticky_dirs(true);
	o = BOTH(&USER, (&(struct op){ OP_RMDIR, "s/other" }), "s/other");
	EXPECT_RESULT(o, -EPERM);
	EXPECT_ENT("s/other", S_IFDIR | 0755, OTHER_UID, OTHER_UID);
	o = BOTH(&USER, (&(struct op){ OP_RMDIR, "s/mine" }), "s/mine");
	EXPECT_RESULT(o, 0);
	o = BOTH(&USER, (&(struct op){ OP_RMDIR, "o/other" }), "o/other");
	EXPECT_RESULT(o, 0);
	ALIVE();
}

#define ACL_ARGS "-o posix_acl"

const struct hcase priv_cases[] = {
	{ "priv/create_sgid_nonmember_CVE-2022-0358", create_sgid_nonmember },
	{ "priv/create_sgid_member_with_supp_group", create_sgid_member_with_supp_group },
	{ "priv/tmpfile_sgid_nonmember", tmpfile_sgid_nonmember },
	{ "priv/mknod_device", mknod_device },
	{ "priv/setattr_chmod_not_owner", setattr_chmod_not_owner },
	{ "priv/setattr_chmod_sgid_nonmember", setattr_chmod_sgid_nonmember },
	{ "priv/setattr_clear_suid_not_owner", setattr_clear_suid_not_owner },
	{ "priv/setattr_chown_to_root", setattr_chown_to_root },
	{ "priv/setattr_chgrp_nonmember", setattr_chgrp_nonmember },
	{ "priv/setattr_chgrp_own_group_clears_suid", setattr_chgrp_own_group_clears_suid },
	{ "priv/setattr_utimes_not_owner", setattr_utimes_not_owner },
	{ "priv/truncate_kills_suid", truncate_kills_suid },
	{ "priv/open_trunc_kills_sgid_nox", open_trunc_kills_sgid_nox },
	{ "priv/write_kills_suid", write_kills_suid },
	{ "priv/copy_file_range_kills_suid", copy_file_range_kills_suid },
	{ "priv/fallocate_kills_suid", fallocate_kills_suid },
	{ "priv/write_root_keeps_suid", write_root_keeps_suid },
	{ "priv/setxattr_acl_not_owner", setxattr_acl_not_owner, .extra_args = ACL_ARGS },
	{ "priv/setxattr_acl_sgid_nonmember", setxattr_acl_sgid_nonmember,
	  .extra_args = ACL_ARGS },
	{ "priv/setxattr_security_capability", setxattr_security_capability,
	  .extra_args = ACL_ARGS },
	{ "priv/setxattr_trusted", setxattr_trusted, .extra_args = ACL_ARGS },
	{ "priv/link_suid_root_file", link_suid_root_file },
	{ "priv/link_unreadable_other_file", link_unreadable_other_file },
	{ "priv/unlink_sticky_other", unlink_sticky_other },
	{ "priv/rename_sticky_other", rename_sticky_other },
	{ "priv/rmdir_sticky_other", rmdir_sticky_other },
};
const unsigned n_priv_cases = sizeof(priv_cases) / sizeof(priv_cases[0]);
