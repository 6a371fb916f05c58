/* test_idmap.c: our daemon's user and group ids, seen through the
 * user-space driver and on the host.
 *
 * "translate" (a root daemon): --translate-uid and --translate-gid, each
 * rule type, both ways. Host owners come back as guest ids in every reply
 * that carries attributes (LOOKUP, GETATTR, READDIRPLUS, STATX, CREATE,
 * MKDIR, MKNOD, SYMLINK, SETATTR), a request runs as the host identity
 * of its caller (uid, gid and the FUSE_CREATE_SUPP_GROUP group), chown
 * takes guest ids, ids inside POSIX ACL and security.capability values
 * are translated, and forbid-guest refuses. Where the host kernel decides
 * (a create's owner, ACCESS) the same request through a daemon without
 * the option gets the other answer, so each check can fail.
 *
 * "unprivileged": the daemon run as a plain user (VFS_TEST_UNPRIV_USER,
 * default the user with uid 1000, with /etc/subuid and /etc/subgid ranges;
 * see scripts/unpriv-user.sh) with --uid-map/--gid-map: it is root of its
 * user namespace over the mapped ids and acts as the guest's users
 * there, never as a host id outside them. Skipped (status 77) when that
 * user, its ranges or newuidmap are missing. */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fuse/fuse_kernel.h"
#include "harness.h"
#include "vfs_internal.h"
#include "virtiofs_client.h"

static char share[300];
static char base_args[512];

/* ---------------------------------------------------------------- */
/* sessions */

static struct vfs_client *session(struct daemon *d, const char *extra)
{
	struct vfs_client_options o = { .request_queues = 1, .timeout_ms = 5000 };
	char args[1500];
	int err;

	snprintf(args, sizeof(args), "%s %s", base_args, extra ? extra : "");
	setenv("VFS_TEST_DAEMON_ARGS", args, 1);
	err = daemon_start(d, share);
	setenv("VFS_TEST_DAEMON_ARGS", base_args, 1);
	if (err) {
		CHECK(0, "daemon_start (%s): %s", args, strerror(-err));
		return NULL;
	}
	struct vfs_client *c = vfs_client_open(d->sock, &o, &err);
	CHECK(c != NULL, "vfs_client_open (%s): %s", args, strerror(-err));
	if (!c)
		daemon_stop(d);
	return c;
}

static void session_end(struct daemon *d, struct vfs_client *c)
{
	vfs_client_close(c);
	daemon_stop(d);
}

static void as(struct vfs_client *c, uint32_t uid, uint32_t gid)
{
	c->uid = uid;
	c->gid = gid;
}

/* ---------------------------------------------------------------- */
/* the host side */

static const char *host(const char *name)
{
	return t_host(share, name);
}

static void host_file(const char *name, uid_t uid, gid_t gid, mode_t mode)
{
	int fd;

	unlink(host(name));
	fd = open(host(name), O_WRONLY | O_CREAT | O_TRUNC, mode);
	CHECK(fd >= 0 && write(fd, "data\n", 5) == 5, "host create %s: %s", name, strerror(errno));
	if (fd >= 0) {
		CHECK(fchown(fd, uid, gid) == 0 && fchmod(fd, mode) == 0, "host chown %s", name);
		close(fd);
	}
}

static void host_dir(const char *name, uid_t uid, gid_t gid, mode_t mode)
{
	rmdir(host(name));
	CHECK(mkdir(host(name), 0700) == 0 && chown(host(name), uid, gid) == 0 &&
	      chmod(host(name), mode) == 0, "host mkdir %s: %s", name, strerror(errno));
}

/* "uid:gid" of a host path, "-" when it does not exist. */
static const char *host_owner(const char *name)
{
	static char buf[4][40];
	static unsigned n;
	char *p = buf[n++ % 4];
	struct stat st;

	if (lstat(host(name), &st) < 0)
		return "-";
	snprintf(p, sizeof(buf[0]), "%u:%u", (unsigned)st.st_uid, (unsigned)st.st_gid);
	return p;
}

static const char *ids(uint32_t uid, uint32_t gid)
{
	static char buf[4][40];
	static unsigned n;
	char *p = buf[n++ % 4];

	snprintf(p, sizeof(buf[0]), "%u:%u", uid, gid);
	return p;
}

#define CHECK_OWNER(what, got, want) \
	CHECK(strcmp((got), (want)) == 0, "%s: owner %s, want %s", (what), (got), (want))

/* ---------------------------------------------------------------- */
/* requests */

static uint64_t lookup(struct vfs_client *c, const char *name, struct fuse_attr *attr)
{
	struct fuse_entry_out e;
	int err = vfs_lookup(c, FUSE_ROOT_ID, name, &e);

	CHECK(err == 0, "LOOKUP %s: %s", name, strerror(-err));
	if (err)
		return 0;
	if (attr)
		*attr = e.attr;
	return e.nodeid;
}

static const char *getattr_owner(struct vfs_client *c, uint64_t node)
{
	struct fuse_attr_out out;
	int err = vfs_getattr(c, node, VFS_NO_FH, &out);

	CHECK(err == 0, "GETATTR: %s", strerror(-err));
	return err ? "error" : ids(out.attr.uid, out.attr.gid);
}

static const char *statx_owner(struct vfs_client *c, uint64_t node)
{
	struct {
		struct fuse_in_header ih;
		struct vfsd_fuse_statx_in in;
	} req = { .in = { .sx_mask = STATX_BASIC_STATS } };
	struct {
		struct fuse_out_header oh;
		struct vfsd_fuse_statx_out out;
	} rep;
	ssize_t n;

	vfs_msg_init(c, &req, VFSD_FUSE_STATX, node, sizeof(req.in));
	n = vfs_raw(c, 1, &req, sizeof(req), &rep, sizeof(rep));
	CHECK(n == (ssize_t)sizeof(rep) && rep.oh.error == 0, "STATX: used %zd error %d", n,
	      n >= (ssize_t)sizeof(rep.oh) ? rep.oh.error : 0);
	if (n != (ssize_t)sizeof(rep) || rep.oh.error)
		return "error";
	return ids(rep.out.stat.uid, rep.out.stat.gid);
}

/* The owner READDIRPLUS of the root gives name. */
static const char *readdirplus_owner(struct vfs_client *c, const char *name)
{
	static char found[40];
	struct fuse_open_out oo;
	char buf[16384];
	int err = vfs_opendir(c, FUSE_ROOT_ID, O_RDONLY, &oo);
	uint64_t off = 0;

	strcpy(found, "absent");
	CHECK(err == 0, "OPENDIR: %s", strerror(-err));
	if (err)
		return found;
	for (;;) {
		ssize_t len = vfs_readdirplus(c, FUSE_ROOT_ID, oo.fh, off, buf, sizeof(buf));
		const struct fuse_dirent *de;
		const struct fuse_entry_out *e;
		size_t pos = 0;

		CHECK(len >= 0, "READDIRPLUS: %s", strerror((int)-len));
		if (len <= 0)
			break;
		while (vfs_dirent_next(buf, (size_t)len, &pos, true, &de, &e) == 1) {
			off = de->off;
			if (e->nodeid && strcmp(de->name, ".") && strcmp(de->name, ".."))
				vfs_forget(c, e->nodeid, 1);
			if (de->namelen == strlen(name) && !memcmp(de->name, name, de->namelen))
				snprintf(found, sizeof(found), "%u:%u", e->attr.uid, e->attr.gid);
		}
	}
	vfs_releasedir(c, FUSE_ROOT_ID, oo.fh, O_RDONLY);
	return found;
}

static int chown_node(struct vfs_client *c, uint64_t node, uint32_t uid, uint32_t gid,
		      struct fuse_attr *attr)
{
	struct fuse_setattr_in in = { .valid = FATTR_UID | FATTR_GID, .uid = uid, .gid = gid };
	struct fuse_attr_out out;
	int err = vfs_setattr(c, node, &in, &out);

	if (err == 0 && attr)
		*attr = out.attr;
	return err;
}

/* CREATE with the FUSE_CREATE_SUPP_GROUP extension, as Linux 6.4 sends it
 * when the caller is in the parent directory's group. */
struct supp_ext {
	struct fuse_ext_header h;
	uint32_t nr_groups;
	uint32_t groups[1];
};

static int create_with_group(struct vfs_client *c, const char *name, mode_t mode,
			     uint32_t group, struct fuse_attr *attr)
{
	struct {
		struct fuse_in_header ih;
		struct fuse_create_in in;
		char name[64];
	} __attribute__((packed)) head = { .in = { .flags = O_RDWR, .mode = S_IFREG | mode } };
	struct supp_ext ext = { .h = { .size = sizeof(ext), .type = VFS_FUSE_EXT_GROUPS },
				.nr_groups = 1, .groups = { group } };
	uint8_t req[sizeof(head) + 8 + sizeof(ext)];
	struct {
		struct fuse_out_header oh;
		struct fuse_entry_out e;
		struct fuse_open_out o;
	} rep;
	size_t nlen = strlen(name) + 1, args = sizeof(head.in) + nlen, pad, len;
	ssize_t n;

	memcpy(head.name, name, nlen);
	/* the extension starts 8-aligned after the arguments */
	pad = (8 - (sizeof(head.ih) + args) % 8) % 8;
	len = vfs_msg_init(c, &head, FUSE_CREATE, FUSE_ROOT_ID, args + pad + sizeof(ext));
	head.ih.total_extlen = sizeof(ext) / 8;
	memcpy(req, &head, sizeof(head.ih) + args);
	memset(req + sizeof(head.ih) + args, 0, pad);
	memcpy(req + sizeof(head.ih) + args + pad, &ext, sizeof(ext));
	n = vfs_raw(c, 1, req, len, &rep, sizeof(rep));
	if (n < (ssize_t)sizeof(rep.oh))
		return -EIO;
	if (rep.oh.error)
		return rep.oh.error;
	if (attr)
		*attr = rep.e.attr;
	vfs_release(c, rep.e.nodeid, rep.o.fh, O_RDWR);
	return 0;
}

static bool supp_group_negotiated(struct vfs_client *c)
{
	const struct fuse_init_out *io = vfs_client_init_out(c);

	return (io->flags & FUSE_INIT_EXT) &&
	       (((uint64_t)io->flags2 << 32) & FUSE_CREATE_SUPP_GROUP);
}

/* ---------------------------------------------------------------- */
/* --translate-uid / --translate-gid (a root daemon) */

#define TRANSLATE \
	"--translate-uid=map:1000:5000:10 --translate-gid=map:100:7000:10 " \
	"--translate-uid=squash-host:6000:99:100 --translate-gid=squash-host:6000:98:100 " \
	"--translate-uid=squash-guest:2000:6500:100 --translate-gid=squash-guest:200:6500:100 " \
	"--translate-uid=guest:3000:6700:10 --translate-uid=host:6800:3500:10 " \
	"--translate-uid=forbid-guest:4000:10 --translate-gid=forbid-guest:400:10"

/* Host owners as the guest sees them, in every reply with attributes. */
static void test_owners_in_replies(void)
{
	static const struct {
		const char *name;
		uid_t uid;
		gid_t gid;
		const char *guest;	/* with TRANSLATE */
	} files[] = {
		{ "own-map", 5003, 7004, "1003:104" },		/* map */
		{ "own-none", 4321, 4322, "4321:4322" },	/* no rule: as it is */
		{ "own-squash", 6050, 6099, "99:98" },		/* squash-host */
		{ "own-host", 6805, 7000, "3505:100" },		/* host: */
		{ "own-guestonly", 6703, 0, "6703:0" },		/* guest: says nothing back */
	};
	struct fuse_attr attr;
	struct daemon d;
	struct vfs_client *c;

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		host_file(files[i].name, files[i].uid, files[i].gid, 0644);
	c = session(&d, TRANSLATE);
	if (!c)
		return;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		const char *want = files[i].guest;
		uint64_t node = lookup(c, files[i].name, &attr);

		CHECK_OWNER("LOOKUP", ids(attr.uid, attr.gid), want);
		CHECK_OWNER("GETATTR", getattr_owner(c, node), want);
		CHECK_OWNER("STATX", statx_owner(c, node), want);
		CHECK_OWNER("READDIRPLUS", readdirplus_owner(c, files[i].name), want);
		vfs_forget(c, node, 1);
	}
	session_end(&d, c);

	/* without the options the host's ids: what the test tells apart */
	c = session(&d, NULL);
	if (!c)
		return;
	lookup(c, "own-map", &attr);
	CHECK_OWNER("LOOKUP without --translate-*", ids(attr.uid, attr.gid), "5003:7004");
	session_end(&d, c);
}

/* A request creates as its caller's host identity, and the reply shows
 * the new inode's owner as the guest's again. */
static void test_creates_as_host_identity(void)
{
	static const struct {
		uint32_t uid, gid;
		const char *host;	/* the new file's host owner */
		const char *reply;	/* the owner the reply shows */
	} callers[] = {
		{ 1003, 105, "5003:7005", "1003:105" },		/* map */
		{ 4321, 4322, "4321:4322", "4321:4322" },	/* no rule */
		{ 2042, 242, "6500:6500", "6500:6500" },	/* squash-guest (no way back) */
		{ 3004, 0, "6704:0", "6704:0" },		/* guest: (no way back) */
	};
	struct fuse_entry_out e;
	struct fuse_open_out oo;
	struct daemon d;
	struct vfs_client *c;
	char name[64];
	int err;

	host_dir("cr", 0, 0, 0777);
	c = session(&d, TRANSLATE);
	if (!c)
		return;
	uint64_t dir = lookup(c, "cr", NULL);

	for (size_t i = 0; i < sizeof(callers) / sizeof(callers[0]); i++) {
		const char *want = callers[i].host, *reply = callers[i].reply;

		as(c, callers[i].uid, callers[i].gid);
		snprintf(name, sizeof(name), "file%zu", i);
		err = vfs_create(c, dir, name, O_RDWR, S_IFREG | 0644, 0, &e, &oo);
		CHECK(err == 0, "CREATE as %u: %s", callers[i].uid, strerror(-err));
		if (err == 0) {
			vfs_release(c, e.nodeid, oo.fh, O_RDWR);
			CHECK_OWNER("CREATE reply", ids(e.attr.uid, e.attr.gid), reply);
		}
		snprintf(name, sizeof(name), "cr/file%zu", i);
		CHECK_OWNER("CREATE on the host", host_owner(name), want);

		snprintf(name, sizeof(name), "dir%zu", i);
		err = vfs_mkdir(c, dir, name, 0755, 0, &e);
		CHECK(err == 0, "MKDIR: %s", strerror(-err));
		CHECK(err || strcmp(ids(e.attr.uid, e.attr.gid), reply) == 0, "MKDIR reply %u:%u",
		      e.attr.uid, e.attr.gid);
		snprintf(name, sizeof(name), "cr/dir%zu", i);
		CHECK_OWNER("MKDIR on the host", host_owner(name), want);

		snprintf(name, sizeof(name), "fifo%zu", i);
		err = vfs_mknod(c, dir, name, S_IFIFO | 0644, 0, 0, &e);
		CHECK(err == 0, "MKNOD: %s", strerror(-err));
		CHECK(err || strcmp(ids(e.attr.uid, e.attr.gid), reply) == 0, "MKNOD reply %u:%u",
		      e.attr.uid, e.attr.gid);
		snprintf(name, sizeof(name), "cr/fifo%zu", i);
		CHECK_OWNER("MKNOD on the host", host_owner(name), want);

		snprintf(name, sizeof(name), "link%zu", i);
		err = vfs_symlink(c, dir, name, "target", &e);
		CHECK(err == 0, "SYMLINK: %s", strerror(-err));
		CHECK(err || strcmp(ids(e.attr.uid, e.attr.gid), reply) == 0, "SYMLINK reply %u:%u",
		      e.attr.uid, e.attr.gid);
		snprintf(name, sizeof(name), "cr/link%zu", i);
		CHECK_OWNER("SYMLINK on the host", host_owner(name), want);
	}
	session_end(&d, c);

	/* the same caller without the options creates as itself */
	c = session(&d, NULL);
	if (!c)
		return;
	dir = lookup(c, "cr", NULL);
	as(c, 1003, 105);
	err = vfs_mkdir(c, dir, "plain", 0755, 0, &e);
	CHECK(err == 0, "MKDIR: %s", strerror(-err));
	CHECK_OWNER("MKDIR without --translate-*", host_owner("cr/plain"), "1003:105");
	session_end(&d, c);
}

/* SETATTR's uid and gid are the guest's: the host's are set. */
static void test_chown(void)
{
	struct fuse_attr attr;
	struct daemon d;
	struct vfs_client *c;
	int err;

	host_file("ch", 0, 0, 0644);
	c = session(&d, TRANSLATE);
	if (!c)
		return;
	uint64_t node = lookup(c, "ch", NULL);

	err = chown_node(c, node, 1005, 105, &attr);
	CHECK(err == 0, "SETATTR uid/gid: %s", strerror(-err));
	CHECK_OWNER("chown on the host", host_owner("ch"), "5005:7005");
	CHECK_OWNER("SETATTR reply", ids(attr.uid, attr.gid), "1005:105");
	err = chown_node(c, node, 4321, 4322, &attr);
	CHECK(err == 0, "SETATTR to unmapped ids: %s", strerror(-err));
	CHECK_OWNER("chown to unmapped ids", host_owner("ch"), "4321:4322");
	err = chown_node(c, node, 2050, 250, &attr);
	CHECK(err == 0, "SETATTR into squash-guest: %s", strerror(-err));
	CHECK_OWNER("chown into squash-guest", host_owner("ch"), "6500:6500");
	/* only the uid */
	struct fuse_setattr_in in = { .valid = FATTR_UID, .uid = 1009 };
	struct fuse_attr_out out;

	err = vfs_setattr(c, node, &in, &out);
	CHECK(err == 0, "SETATTR uid: %s", strerror(-err));
	CHECK_OWNER("chown uid only", host_owner("ch"), "5009:6500");
	vfs_forget(c, node, 1);
	session_end(&d, c);
}

/* forbid-guest: no request acts as such an id, and no file gets one;
 * reading as one works (nothing is created nor given). */
static void test_forbid_guest(void)
{
	struct fuse_entry_out e;
	struct fuse_open_out oo;
	struct daemon d;
	struct vfs_client *c;
	char buf[16];
	int err;

	host_dir("fb", 0, 0, 0777);
	host_file("fb-file", 5001, 7001, 0666);
	c = session(&d, TRANSLATE);
	if (!c)
		return;
	uint64_t dir = lookup(c, "fb", NULL);
	uint64_t file = lookup(c, "fb-file", NULL);

	as(c, 4003, 100);
	err = vfs_mkdir(c, dir, "by-uid", 0755, 0, &e);
	CHECK(err == -EPERM, "MKDIR as a forbidden uid: %s", strerror(-err));
	err = vfs_create(c, dir, "by-uid", O_RDWR, S_IFREG | 0644, 0, &e, &oo);
	CHECK(err == -EPERM, "CREATE as a forbidden uid: %s", strerror(-err));
	CHECK_OWNER("nothing created", host_owner("fb/by-uid"), "-");
	as(c, 1001, 409);
	err = vfs_mknod(c, dir, "by-gid", S_IFIFO | 0644, 0, 0, &e);
	CHECK(err == -EPERM, "MKNOD as a forbidden gid: %s", strerror(-err));
	CHECK_OWNER("nothing created", host_owner("fb/by-gid"), "-");
	err = vfs_unlink(c, FUSE_ROOT_ID, "fb-file");
	CHECK(err == -EPERM, "UNLINK as a forbidden gid: %s", strerror(-err));
	/* a forbidden supplementary group */
	as(c, 1001, 101);
	if (supp_group_negotiated(c)) {
		err = create_with_group(c, "supp", 0644, 405, NULL);
		CHECK(err == -EPERM, "CREATE with a forbidden supplementary group: %s",
		      strerror(-err));
		CHECK_OWNER("nothing created", host_owner("supp"), "-");
	}
	/* reading and writing create nothing and give no id */
	as(c, 4003, 403);
	err = vfs_open(c, file, O_RDWR, &oo);
	CHECK(err == 0, "OPEN as a forbidden uid: %s", strerror(-err));
	if (err == 0) {
		CHECK(vfs_read(c, file, oo.fh, 0, buf, sizeof(buf)) == 5, "READ");
		CHECK(vfs_write(c, file, oo.fh, 0, "DATA", 4, 0) == 4, "WRITE with a forbidden gid");
		vfs_release(c, file, oo.fh, O_RDWR);
	}
	CHECK_OWNER("GETATTR", getattr_owner(c, file), "1001:101");
	/* root gives no file a forbidden id */
	as(c, 0, 0);
	err = chown_node(c, file, 4009, 101, NULL);
	CHECK(err == -EPERM, "chown to a forbidden uid: %s", strerror(-err));
	err = chown_node(c, file, 1001, 400, NULL);
	CHECK(err == -EPERM, "chgrp to a forbidden gid: %s", strerror(-err));
	CHECK_OWNER("owner unchanged", host_owner("fb-file"), "5001:7001");
	vfs_forget(c, dir, 1);
	vfs_forget(c, file, 1);
	session_end(&d, c);
}

/* The FUSE_CREATE_SUPP_GROUP group is a guest gid too: the member of a
 * setgid directory's group keeps S_ISGID because its group is the host
 * group of the directory. */
static void test_supp_group(void)
{
	struct fuse_attr attr;
	struct daemon d;
	struct vfs_client *c;
	struct stat st;
	int err;

	/* create_with_group creates in the root: a setgid root, then */
	CHECK(chown(share, 0, 7004) == 0 && chmod(share, 02777) == 0, "setgid root");
	c = session(&d, TRANSLATE);
	if (!c)
		return;
	CHECK(supp_group_negotiated(c), "FUSE_CREATE_SUPP_GROUP not negotiated");
	as(c, 1001, 101);
	err = create_with_group(c, "sg-member", 02755, 104, &attr);
	CHECK(err == 0, "CREATE as a member: %s", strerror(-err));
	CHECK(stat(host("sg-member"), &st) == 0 && (st.st_mode & 07777) == 02755 &&
	      st.st_gid == 7004, "a member's file: mode 0%o gid %u, want 02755 7004",
	      st.st_mode & 07777, st.st_gid);
	CHECK(err || attr.gid == 104, "the reply's gid %u, want 104", attr.gid);
	/* the same group unmapped (105 is host 7005): not a member */
	err = create_with_group(c, "sg-other", 02755, 105, NULL);
	CHECK(err == 0, "CREATE as a non-member: %s", strerror(-err));
	CHECK(stat(host("sg-other"), &st) == 0 && (st.st_mode & 07777) == 0755,
	      "a non-member's file: mode 0%o, want 0755", st.st_mode & 07777);
	session_end(&d, c);

	/* without the options, group 104 is no member of host group 7004 */
	c = session(&d, NULL);
	if (c) {
		as(c, 1001, 101);
		err = create_with_group(c, "sg-plain", 02755, 104, NULL);
		CHECK(err == 0, "CREATE: %s", strerror(-err));
		CHECK(stat(host("sg-plain"), &st) == 0 && (st.st_mode & 07777) == 0755,
		      "without --translate-gid: mode 0%o, want 0755", st.st_mode & 07777);
		session_end(&d, c);
	}
	CHECK(chown(share, 0, 0) == 0 && chmod(share, 0777) == 0, "root back");
}

/* ACCESS runs as the caller's host identity. */
static void test_access(void)
{
	struct daemon d;
	struct vfs_client *c;
	int err;

	host_file("acc", 5001, 7001, 0600);
	c = session(&d, TRANSLATE);
	if (!c)
		return;
	uint64_t node = lookup(c, "acc", NULL);

	as(c, 1001, 101);
	err = vfs_access(c, node, R_OK | W_OK);
	CHECK(err == 0, "ACCESS as the owner's guest uid: %s", strerror(-err));
	as(c, 1002, 101);
	err = vfs_access(c, node, R_OK);
	CHECK(err == -EACCES, "ACCESS as another uid: %s", strerror(-err));
	vfs_forget(c, node, 1);
	session_end(&d, c);
	c = session(&d, NULL);
	if (!c)
		return;
	node = lookup(c, "acc", NULL);
	as(c, 1001, 101);
	err = vfs_access(c, node, R_OK);
	CHECK(err == -EACCES, "ACCESS as 1001 without --translate-uid: %s", strerror(-err));
	vfs_forget(c, node, 1);
	session_end(&d, c);
}

/* ---- ids inside xattr values ---- */

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);	/* little-endian hosts only, as the kernel's format */
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

/* user::rw- user:U:rw- group::r-- group:G:r-- mask::rw- other::--- */
static size_t acl_value(uint8_t *v, uint32_t uid, uint32_t gid)
{
	static const uint16_t tags[] = { 0x01, 0x02, 0x04, 0x08, 0x10, 0x20 };
	static const uint16_t perms[] = { 6, 6, 4, 4, 6, 0 };

	put32(v, 2);
	for (int i = 0; i < 6; i++) {
		uint8_t *e = v + 4 + 8 * i;

		memcpy(e, &tags[i], 2);
		memcpy(e + 2, &perms[i], 2);
		put32(e + 4, tags[i] == 0x02 ? uid : tags[i] == 0x08 ? gid : 0xffffffffu);
	}
	return 4 + 6 * 8;
}

static void acl_ids(const uint8_t *v, size_t size, uint32_t *uid, uint32_t *gid)
{
	*uid = *gid = 0xffffffffu;
	for (size_t off = 4; off + 8 <= size; off += 8) {
		uint16_t tag;

		memcpy(&tag, v + off, 2);
		if (tag == 0x02)
			*uid = get32(v + off + 4);
		if (tag == 0x08)
			*gid = get32(v + off + 4);
	}
}

static void test_acl_ids(const char *extra)
{
	char args[1500];
	uint8_t v[64], got[64];
	uint32_t uid, gid;
	struct daemon d;
	struct vfs_client *c;
	ssize_t n;
	size_t size;
	int err;

	host_file("acl", 0, 0, 0644);
	/* the host file system must take ACLs at all */
	size = acl_value(v, 5002, 7002);
	if (setxattr(host("acl"), "system.posix_acl_access", v, size, 0) < 0) {
		printf("SKIP acl: %s takes no ACL (%s)\n", share, strerror(errno));
		return;
	}
	snprintf(args, sizeof(args), "%s %s", TRANSLATE, extra);
	c = session(&d, args);
	if (!c)
		return;
	uint64_t node = lookup(c, "acl", NULL);

	/* the host's entries read as the guest's */
	n = vfs_getxattr(c, node, "system.posix_acl_access", got, sizeof(got));
	CHECK(n == (ssize_t)size, "GETXATTR: %zd", n);
	acl_ids(got, n > 0 ? (size_t)n : 0, &uid, &gid);
	CHECK(uid == 1002 && gid == 102, "GETXATTR: ACL ids %u:%u, want 1002:102", uid, gid);
	n = vfs_getxattr(c, node, "system.posix_acl_access", NULL, 0);
	CHECK(n == (ssize_t)size, "GETXATTR size: %zd", n);
	/* the guest's entries are stored as the host's */
	size = acl_value(v, 1007, 107);
	err = vfs_setxattr(c, node, "system.posix_acl_access", v, size, 0);
	CHECK(err == 0, "SETXATTR ACL: %s", strerror(-err));
	n = getxattr(host("acl"), "system.posix_acl_access", got, sizeof(got));
	acl_ids(got, n > 0 ? (size_t)n : 0, &uid, &gid);
	CHECK(uid == 5007 && gid == 7007, "host ACL ids %u:%u, want 5007:7007", uid, gid);
	/* default ACLs too */
	size = acl_value(v, 1008, 108);
	err = vfs_setxattr(c, FUSE_ROOT_ID, "system.posix_acl_default", v, size, 0);
	CHECK(err == 0, "SETXATTR default ACL: %s", strerror(-err));
	n = getxattr(share, "system.posix_acl_default", got, sizeof(got));
	acl_ids(got, n > 0 ? (size_t)n : 0, &uid, &gid);
	CHECK(uid == 5008 && gid == 7008, "host default ACL ids %u:%u, want 5008:7008", uid, gid);
	CHECK(removexattr(share, "system.posix_acl_default") == 0, "host removexattr");
	/* a forbidden id refuses the whole value */
	size = acl_value(v, 4001, 107);
	err = vfs_setxattr(c, node, "system.posix_acl_access", v, size, 0);
	CHECK(err == -EPERM, "SETXATTR ACL with a forbidden uid: %s", strerror(-err));
	size = acl_value(v, 1007, 401);
	err = vfs_setxattr(c, node, "system.posix_acl_access", v, size, 0);
	CHECK(err == -EPERM, "SETXATTR ACL with a forbidden gid: %s", strerror(-err));
	n = getxattr(host("acl"), "system.posix_acl_access", got, sizeof(got));
	acl_ids(got, n > 0 ? (size_t)n : 0, &uid, &gid);
	CHECK(uid == 5007 && gid == 7007, "host ACL changed to %u:%u", uid, gid);
	/* a malformed one as the kernel answers it */
	err = vfs_setxattr(c, node, "system.posix_acl_access", v, 7, 0);
	CHECK(err == -EINVAL, "SETXATTR of a 7-byte ACL: %s", strerror(-err));
	vfs_forget(c, node, 1);
	session_end(&d, c);
}

static void test_acl(void)
{
	test_acl_ids("");
}

/* Unlike the Rust virtiofsd, --posix-acl goes with --translate-*. */
static void test_acl_posix_acl(void)
{
	test_acl_ids("--posix-acl");
}

/* security.capability revision 3 names the uid of its namespace's root. */
static void test_caps_rootid(void)
{
	uint8_t v[24] = { 0 }, got[32];
	struct daemon d;
	struct vfs_client *c;
	ssize_t n;
	int err;

	host_file("caps", 0, 0, 0755);
	c = session(&d, TRANSLATE);
	if (!c)
		return;
	uint64_t node = lookup(c, "caps", NULL);

	put32(v, 0x03000000u | 1);	/* VFS_CAP_REVISION_3, effective */
	put32(v + 4, 1u << 10);		/* CAP_NET_BIND_SERVICE */
	put32(v + 20, 1006);
	err = vfs_setxattr(c, node, "security.capability", v, sizeof(v), 0);
	CHECK(err == 0, "SETXATTR security.capability v3: %s", strerror(-err));
	n = getxattr(host("caps"), "security.capability", got, sizeof(got));
	CHECK(n == 24 && get32(got + 20) == 5006, "host rootid %u (%zd bytes), want 5006",
	      n == 24 ? get32(got + 20) : 0, n);
	n = vfs_getxattr(c, node, "security.capability", got, sizeof(got));
	CHECK(n == 24 && get32(got + 20) == 1006, "GETXATTR rootid %u, want 1006",
	      n == 24 ? get32(got + 20) : 0);
	put32(v + 20, 4005);
	err = vfs_setxattr(c, node, "security.capability", v, sizeof(v), 0);
	CHECK(err == -EPERM, "a forbidden rootid: %s", strerror(-err));
	vfs_forget(c, node, 1);
	session_end(&d, c);
}

/* ---------------------------------------------------------------- */
/* unprivileged: --uid-map / --gid-map */

static struct {
	uid_t uid;
	gid_t gid;
	unsigned sub_uid, sub_uid_count;
	unsigned sub_gid, sub_gid_count;
} U;

/* The first range of name (or its uid) in /etc/subuid or /etc/subgid. */
static bool sub_range(const char *file, const char *name, unsigned id, unsigned *start,
		      unsigned *count)
{
	char line[256], who[128], idstr[16];
	FILE *f = fopen(file, "re");
	bool found = false;

	if (!f)
		return false;
	snprintf(idstr, sizeof(idstr), "%u", id);
	while (!found && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%127[^:]:%u:%u", who, start, count) == 3 &&
		    (!strcmp(who, name) || !strcmp(who, idstr)))
			found = true;
	}
	fclose(f);
	return found;
}

static bool unpriv_setup(void)
{
	const char *name = getenv("VFS_TEST_UNPRIV_USER");
	char as[40];
	struct passwd *pw;

	pw = name && *name ? getpwnam(name) : getpwuid(1000);
	if (!pw || pw->pw_uid == 0) {
		printf("SKIP unprivileged: no user %s (scripts/unpriv-user.sh makes uid 1000's)\n",
		       name && *name ? name : "with uid 1000");
		return false;
	}
	name = pw->pw_name;
	U.uid = pw->pw_uid;
	U.gid = pw->pw_gid;
	if (!sub_range("/etc/subuid", name, U.uid, &U.sub_uid, &U.sub_uid_count) ||
	    !sub_range("/etc/subgid", name, U.uid, &U.sub_gid, &U.sub_gid_count) ||
	    U.sub_uid_count < 10000 || U.sub_gid_count < 10000) {
		printf("SKIP unprivileged: %s has no /etc/subuid and /etc/subgid ranges of 10000 "
		       "ids or more\n", name);
		return false;
	}
	if (access("/usr/bin/newuidmap", X_OK) < 0 && access("/bin/newuidmap", X_OK) < 0) {
		printf("SKIP unprivileged: no newuidmap (the uidmap package)\n");
		return false;
	}
	snprintf(as, sizeof(as), "%u:%u", (unsigned)U.uid, (unsigned)U.gid);
	setenv("VFS_TEST_DAEMON_AS", as, 1);
	/* the sockets and the share are the user's */
	CHECK(chown(t_tmpdir(), U.uid, U.gid) == 0 && chmod(t_tmpdir(), 0755) == 0, "chown %s",
	      t_tmpdir());
	CHECK(chown(share, U.uid, U.gid) == 0 && chmod(share, 0755) == 0, "chown %s", share);
	return true;
}

/* The namespace's ids: 0 is the user, 1.. its subordinate ids. */
static uint32_t host_uid(uint32_t ns)
{
	return ns == 0 ? U.uid : U.sub_uid + ns - 1;
}

static uint32_t host_gid(uint32_t ns)
{
	return ns == 0 ? U.gid : U.sub_gid + ns - 1;
}

static struct vfs_client *unpriv_session(struct daemon *d, const char *extra)
{
	char args[1024];

	snprintf(args, sizeof(args),
		 "--uid-map=:0:%u:1: --uid-map=:1:%u:%u: --gid-map=:0:%u:1: --gid-map=:1:%u:%u: %s",
		 (unsigned)U.uid, U.sub_uid, U.sub_uid_count, (unsigned)U.gid, U.sub_gid,
		 U.sub_gid_count, extra ? extra : "");
	return session(d, args);
}

/* Whether pid runs with real, effective and saved ids uid:gid as the host
 * sees them (/proc/PID/status from outside its namespace). */
static bool runs_as(pid_t pid, uid_t uid, gid_t gid)
{
	char path[64], line[256];
	unsigned u[3] = { 0 }, g[3] = { 0 };
	int found = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (found < 2 && fgets(line, sizeof(line), f)) {
		found += sscanf(line, "Uid: %u %u %u", &u[0], &u[1], &u[2]) == 3;
		found += sscanf(line, "Gid: %u %u %u", &g[0], &g[1], &g[2]) == 3;
	}
	fclose(f);
	return found == 2 && u[0] == uid && u[1] == uid && u[2] == uid && g[0] == gid &&
	       g[1] == gid && g[2] == gid;
}

static void test_unprivileged(void)
{
	struct fuse_entry_out e;
	struct fuse_open_out oo;
	struct fuse_attr attr;
	struct daemon d;
	struct vfs_client *c;
	char want[40];
	int err;

	host_dir("up", U.uid, U.gid, 0777);
	/* a file of a host id outside the namespace's map */
	host_file("up-root", 0, 0, 0644);
	c = unpriv_session(&d, NULL);
	if (!c)
		return;
	CHECK(runs_as(d.pid, U.uid, U.gid), "the daemon (pid %d) does not run as %u:%u",
	      (int)d.pid, (unsigned)U.uid, (unsigned)U.gid);
	uint64_t dir = lookup(c, "up", &attr);

	/* the user's own files are root's in the namespace */
	CHECK_OWNER("the user's directory", ids(attr.uid, attr.gid), "0:0");
	lookup(c, "up-root", &attr);
	CHECK_OWNER("a host id outside the map", ids(attr.uid, attr.gid), "65534:65534");

	/* guest root creates as the user */
	as(c, 0, 0);
	err = vfs_mkdir(c, dir, "by-root", 0755, 0, &e);
	CHECK(err == 0, "MKDIR as root: %s", strerror(-err));
	CHECK_OWNER("guest root's directory", host_owner("up/by-root"), ids(U.uid, U.gid));
	/* a guest user creates as its subordinate id */
	as(c, 1000, 1000);
	err = vfs_create(c, dir, "by-1000", O_RDWR, S_IFREG | 0644, 0, &e, &oo);
	CHECK(err == 0, "CREATE as 1000: %s", strerror(-err));
	if (err == 0) {
		vfs_release(c, e.nodeid, oo.fh, O_RDWR);
		CHECK_OWNER("CREATE reply", ids(e.attr.uid, e.attr.gid), "1000:1000");
	}
	snprintf(want, sizeof(want), "%u:%u", host_uid(1000), host_gid(1000));
	CHECK_OWNER("uid 1000's file", host_owner("up/by-1000"), want);
	/* guest root gives a file to any mapped id */
	as(c, 0, 0);
	err = chown_node(c, e.nodeid, 1234, 5678, &attr);
	CHECK(err == 0, "chown 1234:5678: %s", strerror(-err));
	CHECK_OWNER("SETATTR reply", ids(attr.uid, attr.gid), "1234:5678");
	snprintf(want, sizeof(want), "%u:%u", host_uid(1234), host_gid(5678));
	CHECK_OWNER("chown on the host", host_owner("up/by-1000"), want);
	/* ...never to a host id outside its ranges, nor acts as one */
	err = chown_node(c, e.nodeid, U.sub_uid_count + 10, 0, NULL);
	CHECK(err < 0, "chown to an unmapped id succeeded");
	CHECK_OWNER("owner unchanged", host_owner("up/by-1000"), want);
	as(c, U.sub_uid_count + 10, 0);
	err = vfs_mkdir(c, dir, "by-unmapped", 0755, 0, &e);
	CHECK(err < 0, "MKDIR as an unmapped uid succeeded");
	CHECK_OWNER("nothing created", host_owner("up/by-unmapped"), "-");
	vfs_forget(c, dir, 1);
	session_end(&d, c);
}

/* Supplementary groups work in the namespace (setgroups is allowed with
 * /etc/subgid): a member of a setgid directory's group keeps S_ISGID. */
static void test_unprivileged_setgid(void)
{
	struct daemon d;
	struct vfs_client *c;
	struct stat st;
	int err;

	CHECK(chown(share, U.uid, host_gid(4242)) == 0 && chmod(share, 02777) == 0,
	      "setgid share");
	c = unpriv_session(&d, NULL);
	if (!c)
		return;
	CHECK(supp_group_negotiated(c), "FUSE_CREATE_SUPP_GROUP not negotiated");
	as(c, 1000, 1000);
	err = create_with_group(c, "sgm", 02755, 4242, NULL);
	CHECK(err == 0, "CREATE as a member: %s", strerror(-err));
	CHECK(stat(host("sgm"), &st) == 0 && (st.st_mode & 07777) == 02755 &&
	      st.st_gid == host_gid(4242), "a member's file: mode 0%o gid %u",
	      st.st_mode & 07777, st.st_gid);
	err = create_with_group(c, "sgo", 02755, 4243, NULL);
	CHECK(err == 0, "CREATE as a non-member: %s", strerror(-err));
	CHECK(stat(host("sgo"), &st) == 0 && (st.st_mode & 07777) == 0755,
	      "a non-member's file: mode 0%o", st.st_mode & 07777);
	session_end(&d, c);
	CHECK(chown(share, U.uid, U.gid) == 0 && chmod(share, 0755) == 0, "share back");
}

/* A map without the user's own ids: the daemon still becomes root of its
 * namespace (the first subordinate ids on the host), and guest root
 * creates as that, not as the user. (The user's own files are then
 * another's to it: the share and the way to it must be open to others.) */
static void test_unprivileged_without_self(void)
{
	struct fuse_entry_out e;
	struct daemon d;
	struct vfs_client *c;
	char args[256], want[40];
	int err;

	host_dir("ups", U.uid, U.gid, 0777);
	snprintf(args, sizeof(args), "--uid-map=:0:%u:%u: --gid-map=:0:%u:%u:", U.sub_uid,
		 U.sub_uid_count, U.sub_gid, U.sub_gid_count);
	c = session(&d, args);
	if (!c)
		return;
	uint64_t dir = lookup(c, "ups", NULL);

	/* root of the namespace: its 0:0, the host's first subordinate ids */
	CHECK(runs_as(d.pid, U.sub_uid, U.sub_gid), "the daemon (pid %d) does not run as %u:%u",
	      (int)d.pid, U.sub_uid, U.sub_gid);
	as(c, 0, 0);
	err = vfs_mkdir(c, dir, "by-root", 0755, 0, &e);
	CHECK(err == 0, "MKDIR as root: %s", strerror(-err));
	snprintf(want, sizeof(want), "%u:%u", U.sub_uid, U.sub_gid);
	CHECK_OWNER("guest root's directory", host_owner("ups/by-root"), want);
	CHECK(err || (e.attr.uid == 0 && e.attr.gid == 0), "reply %u:%u", e.attr.uid, e.attr.gid);
	vfs_forget(c, dir, 1);
	session_end(&d, c);
}

/* The groups the user started the daemon with are not the guest's: a
 * guest user gets no access through them (CVE-2022-0358 in a user
 * namespace). 4321 is outside every map. */
static void test_unprivileged_own_groups(void)
{
	struct fuse_entry_out e;
	struct fuse_open_out oo;
	struct daemon d;
	struct vfs_client *c;
	char daemon_as[48];
	int err;

	host_dir("grp", 0, 4321, 0770);
	snprintf(daemon_as, sizeof(daemon_as), "%u:%u:4321", (unsigned)U.uid, (unsigned)U.gid);
	setenv("VFS_TEST_DAEMON_AS", daemon_as, 1);
	c = unpriv_session(&d, NULL);
	snprintf(daemon_as, sizeof(daemon_as), "%u:%u", (unsigned)U.uid, (unsigned)U.gid);
	setenv("VFS_TEST_DAEMON_AS", daemon_as, 1);
	if (!c)
		return;
	uint64_t dir = lookup(c, "grp", NULL);

	as(c, 1000, 1000);
	err = vfs_create(c, dir, "f", O_RDWR, S_IFREG | 0644, 0, &e, &oo);
	CHECK(err == -EACCES, "CREATE through the daemon's own group: %s", strerror(-err));
	if (err == 0)
		vfs_release(c, e.nodeid, oo.fh, O_RDWR);
	CHECK_OWNER("nothing created", host_owner("grp/f"), "-");
	vfs_forget(c, dir, 1);
	session_end(&d, c);
}

/* What a user namespace cannot give: open_by_handle_at needs
 * CAP_DAC_READ_SEARCH in the initial namespace, so mandatory file handles
 * stop the start and prefer falls back to O_PATH fds. */
static void test_unprivileged_file_handles(void)
{
	struct daemon d;
	struct vfs_client *c;
	char args[1024];
	int err;

	snprintf(args, sizeof(args),
		 "%s --uid-map=:0:%u:1: --uid-map=:1:%u:%u: --gid-map=:0:%u:1: "
		 "--gid-map=:1:%u:%u: --inode-file-handles=mandatory", base_args, (unsigned)U.uid,
		 U.sub_uid, U.sub_uid_count, (unsigned)U.gid, U.sub_gid, U.sub_gid_count);
	setenv("VFS_TEST_DAEMON_ARGS", args, 1);
	printf("(a daemon that refuses to start is expected next)\n");
	err = daemon_start(&d, share);
	setenv("VFS_TEST_DAEMON_ARGS", base_args, 1);
	/* it listens before it is confined: then it exits, unserved */
	if (err == 0) {
		int status = 0;

		CHECK(waitpid(d.pid, &status, 0) == d.pid && WIFEXITED(status) &&
		      WEXITSTATUS(status) != 0, "--inode-file-handles=mandatory unprivileged: "
		      "the daemon did not fail (status %#x)", status);
		d.pid = 0;
		daemon_stop(&d);
	} else {
		CHECK(err == -ECHILD, "daemon_start: %s", strerror(-err));
	}
	c = unpriv_session(&d, "--inode-file-handles=prefer");
	if (!c)
		return;
	lookup(c, "up", NULL);
	session_end(&d, c);
}

/* --translate-uid on top: guest ids to the namespace's, which the user
 * namespace takes to the host's. */
static void test_unprivileged_translate(void)
{
	struct fuse_entry_out e;
	struct daemon d;
	struct vfs_client *c;
	char want[40];
	int err;

	host_dir("upt", U.uid, U.gid, 0777);
	c = unpriv_session(&d, "--translate-uid=map:1000:2000:10 --translate-gid=map:1000:2000:10");
	if (!c)
		return;
	uint64_t dir = lookup(c, "upt", NULL);

	as(c, 1001, 1001);
	err = vfs_mkdir(c, dir, "d", 0755, 0, &e);
	CHECK(err == 0, "MKDIR: %s", strerror(-err));
	CHECK(err || (e.attr.uid == 1001 && e.attr.gid == 1001), "reply %u:%u", e.attr.uid,
	      e.attr.gid);
	snprintf(want, sizeof(want), "%u:%u", host_uid(2001), host_gid(2001));
	CHECK_OWNER("on the host", host_owner("upt/d"), want);
	vfs_forget(c, dir, 1);
	session_end(&d, c);
}

int main(int argc, char **argv)
{
	const char *args = getenv("VFS_TEST_DAEMON_ARGS");
	bool unpriv = argc > 1 && !strcmp(argv[1], "unprivileged");

	snprintf(base_args, sizeof(base_args), "%s", args ? args : "");
	snprintf(share, sizeof(share), "%s/share", t_tmpdir());
	if (mkdir(share, 0777) < 0 || chmod(share, 0777) < 0) {
		perror(share);
		return 1;
	}
	if (unpriv) {
		if (!unpriv_setup())
			return t_finish() ? 1 : 77;
		t_run("unprivileged", test_unprivileged);
		t_run("unprivileged_setgid", test_unprivileged_setgid);
		t_run("unprivileged_translate", test_unprivileged_translate);
		t_run("unprivileged_without_self", test_unprivileged_without_self);
		t_run("unprivileged_own_groups", test_unprivileged_own_groups);
		t_run("unprivileged_file_handles", test_unprivileged_file_handles);
		return t_finish();
	}
	t_run("owners_in_replies", test_owners_in_replies);
	t_run("creates_as_host_identity", test_creates_as_host_identity);
	t_run("chown", test_chown);
	t_run("forbid_guest", test_forbid_guest);
	t_run("supp_group", test_supp_group);
	t_run("access", test_access);
	t_run("acl", test_acl);
	t_run("acl_posix_acl", test_acl_posix_acl);
	t_run("caps_rootid", test_caps_rootid);
	return t_finish();
}
