/* cases_fs.c: escapes through names and the file system: absolute names
 * (the CVE-2026-47243 class), "..", symlinks planted in the share,
 * special files, fd exhaustion, and a directory moved out of the share. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "hostile_util.h"


/* Absolute names aimed at the parent dir (scanned), /tmp and /. */
static const char *abs_name(unsigned k, const char *tag)
{
	switch (k) {
	case 0:
		return target_path("%s/escaped-%s", H.parent, tag);
	case 1:
		return target_path("/tmp/vfs-hostile-%d-%s", (int)getpid(), tag);
	default:
		return target_path("/vfs-hostile-%d-%s", (int)getpid(), tag);
	}
}

static void abs_symlink(void)
{
	for (unsigned k = 0; k < 3; k++) {
		const char *n = abs_name(k, "symlink");
		struct fuse_entry_out e;
		int err = vfs_symlink(H.c, FUSE_ROOT_ID, n, "/etc/passwd", &e);
		CHECK(err < 0, "absolute SYMLINK name %s accepted", n);
		ALIVE();
	}
}

static void abs_mknod(void)
{
	for (unsigned k = 0; k < 3; k++) {
		const char *n = abs_name(k, "mknod");
		struct fuse_entry_out e;
		int err = vfs_mknod(H.c, FUSE_ROOT_ID, n, S_IFREG | 0644, 0, 0, &e);
		CHECK(err < 0, "absolute MKNOD name %s accepted", n);
		ALIVE();
	}
}

static void abs_mkdir(void)
{
	for (unsigned k = 0; k < 3; k++) {
		const char *n = abs_name(k, "mkdir");
		struct fuse_entry_out e;
		int err = vfs_mkdir(H.c, FUSE_ROOT_ID, n, 0755, 0, &e);
		CHECK(err < 0, "absolute MKDIR name %s accepted", n);
		ALIVE();
	}
}

static void abs_create(void)
{
	for (unsigned k = 0; k < 3; k++) {
		const char *n = abs_name(k, "create");
		struct fuse_entry_out e;
		struct fuse_open_out o;
		int err = vfs_create(H.c, FUSE_ROOT_ID, n, O_RDWR, S_IFREG | 0644, 0, &e, &o);
		CHECK(err < 0, "absolute CREATE name %s accepted", n);
		ALIVE();
	}
}

static uint64_t make_file(const char *name)
{
	struct fuse_entry_out e;
	struct fuse_open_out o;
	int err = vfs_create(H.c, FUSE_ROOT_ID, name, O_RDWR, S_IFREG | 0644, 0, &e, &o);

	CHECK(err == 0, "create %s: %d", name, err);
	return e.nodeid;
}

static void abs_link(void)
{
	uint64_t node = make_file("f");

	for (unsigned k = 0; k < 3; k++) {
		const char *n = abs_name(k, "link");
		struct fuse_entry_out e;
		int err = vfs_link(H.c, node, FUSE_ROOT_ID, n, &e);
		CHECK(err < 0, "absolute LINK name %s accepted", n);
		ALIVE();
	}
}

static void abs_rename(void)
{
	make_file("f");
	for (unsigned k = 0; k < 3; k++) {
		const char *n = abs_name(k, "rename");
		int err = vfs_rename(H.c, FUSE_ROOT_ID, "f", FUSE_ROOT_ID, n, 0);
		CHECK(err < 0, "absolute RENAME target %s accepted", n);
		err = vfs_rename2(H.c, FUSE_ROOT_ID, "f", FUSE_ROOT_ID, n, RENAME_NOREPLACE);
		CHECK(err < 0, "absolute RENAME2 target %s accepted", n);
		ALIVE();
	}
	/* And an absolute source: renaming the host's sentinel in. */
	char src[600];
	snprintf(src, sizeof(src), "%s/sentinel", H.parent);
	int err = vfs_rename(H.c, FUSE_ROOT_ID, src, FUSE_ROOT_ID, "stolen", 0);
	CHECK(err < 0, "absolute RENAME source accepted");
	CHECK(host_exists(src), "sentinel moved");
	ALIVE();
}

static void abs_unlink_rmdir(void)
{
	char p[600];

	snprintf(p, sizeof(p), "%s/sentinel", H.parent);
	CHECK(vfs_unlink(H.c, FUSE_ROOT_ID, p) < 0, "absolute UNLINK accepted");
	CHECK(vfs_rmdir(H.c, FUSE_ROOT_ID, H.parent) < 0, "absolute RMDIR accepted");
	CHECK(host_exists(p), "sentinel unlinked");
	struct fuse_entry_out e;
	CHECK(vfs_lookup(H.c, FUSE_ROOT_ID, "/etc", &e) < 0, "absolute LOOKUP accepted");
	ALIVE();
}

static void slash_names_everywhere(void)
{
	struct fuse_entry_out e;
	struct fuse_open_out o;
	const char *n = "../escaped-slash";

	target_path("%s/escaped-slash", H.parent);
	CHECK(vfs_symlink(H.c, FUSE_ROOT_ID, n, "x", &e) < 0, "SYMLINK ../ accepted");
	CHECK(vfs_mkdir(H.c, FUSE_ROOT_ID, n, 0755, 0, &e) < 0, "MKDIR ../ accepted");
	CHECK(vfs_mknod(H.c, FUSE_ROOT_ID, n, S_IFREG | 0644, 0, 0, &e) < 0, "MKNOD ../");
	CHECK(vfs_create(H.c, FUSE_ROOT_ID, n, O_RDWR, S_IFREG | 0644, 0, &e, &o) < 0,
	      "CREATE ../ accepted");
	ALIVE();
}

static void dotdot_lookup_root(void)
{
	struct fuse_entry_out e;
	struct fuse_attr_out root;

	CHECK_OK(vfs_getattr(H.c, FUSE_ROOT_ID, VFS_NO_FH, &root));
	int err = vfs_lookup(H.c, FUSE_ROOT_ID, "..", &e);
	CHECK(err < 0 || e.attr.ino == root.attr.ino, ".. of the root is not the root (ino %llu)",
	      (unsigned long long)e.attr.ino);
	if (err == 0) {
		/* And the parent's sentinel is not reachable from there. */
		struct fuse_entry_out s;
		CHECK(vfs_lookup(H.c, e.nodeid, "sentinel", &s) < 0, "sentinel reached via ..");
	}
	ALIVE();
}

static void dotdot_from_subdir(void)
{
	struct fuse_entry_out d, up, up2, s;
	struct fuse_attr_out root;

	CHECK_OK(vfs_getattr(H.c, FUSE_ROOT_ID, VFS_NO_FH, &root));
	CHECK_OK(vfs_mkdir(H.c, FUSE_ROOT_ID, "d", 0755, 0, &d));
	if (vfs_lookup(H.c, d.nodeid, "..", &up) == 0) {
		CHECK(up.attr.ino == root.attr.ino, "d/.. is not the root");
		if (vfs_lookup(H.c, up.nodeid, "..", &up2) == 0)
			CHECK(up2.attr.ino == root.attr.ino, "d/../.. is not the root");
	}
	CHECK(vfs_lookup(H.c, up.nodeid, "sentinel", &s) < 0, "sentinel reached");
	ALIVE();
}

static void dotdot_create_remove(void)
{
	struct fuse_entry_out e;
	struct fuse_open_out o;

	CHECK(vfs_mkdir(H.c, FUSE_ROOT_ID, "..", 0755, 0, &e) < 0, "MKDIR .. accepted");
	CHECK(vfs_create(H.c, FUSE_ROOT_ID, "..", O_RDWR, S_IFREG | 0644, 0, &e, &o) < 0,
	      "CREATE .. accepted");
	CHECK(vfs_symlink(H.c, FUSE_ROOT_ID, "..", "x", &e) < 0, "SYMLINK .. accepted");
	CHECK(vfs_rmdir(H.c, FUSE_ROOT_ID, "..") < 0, "RMDIR .. accepted");
	CHECK(vfs_rmdir(H.c, FUSE_ROOT_ID, ".") < 0, "RMDIR . accepted");
	CHECK(vfs_unlink(H.c, FUSE_ROOT_ID, "..") < 0, "UNLINK .. accepted");
	make_file("f");
	CHECK(vfs_rename(H.c, FUSE_ROOT_ID, "f", FUSE_ROOT_ID, "..", 0) < 0,
	      "RENAME to .. accepted");
	CHECK(vfs_rename(H.c, FUSE_ROOT_ID, "..", FUSE_ROOT_ID, "g", 0) < 0,
	      "RENAME of .. accepted");
	uint64_t node = make_file("h");
	CHECK(vfs_link(H.c, node, FUSE_ROOT_ID, "..", &e) < 0, "LINK to .. accepted");
	ALIVE();
}

/* ---- symlinks planted in the share ---- */

static uint64_t plant_link(const char *name, const char *target)
{
	struct fuse_entry_out e;

	if (symlink(target, t_host(H.share, name)) < 0)
		CHECK(0, "symlink: %s", strerror(errno));
	int err = vfs_lookup(H.c, FUSE_ROOT_ID, name, &e);
	CHECK(err == 0 && S_ISLNK(e.attr.mode), "LOOKUP %s: %d mode %o", name, err, e.attr.mode);
	return err ? 0 : e.nodeid;
}

static void symlink_etc_lookup_through(void)
{
	uint64_t link = plant_link("etc", "/etc");
	struct fuse_entry_out e;

	int err = vfs_lookup(H.c, link, "passwd", &e);
	CHECK(err == -ENOTDIR || err == -ELOOP || err == -EBADF || err == -EINVAL ||
	      err == -ENOENT, "LOOKUP through a symlink to /etc: %d", err);
	CHECK(err < 0, "reached /etc/passwd through a symlink");
	struct fuse_open_out o;
	err = vfs_opendir(H.c, link, O_RDONLY, &o);
	if (err == 0) {
		char buf[4096];
		ssize_t n = vfs_readdir(H.c, link, o.fh, 0, buf, sizeof(buf));
		size_t pos = 0;
		const struct fuse_dirent *de;
		while (n > 0 && vfs_dirent_next(buf, (size_t)n, &pos, false, &de, NULL) == 1)
			CHECK(de->namelen != 6 || memcmp(de->name, "passwd", 6),
			      "listed /etc through a symlink");
	}
	ALIVE();
}

static bool reads_passwd(uint64_t node, uint64_t fh)
{
	char buf[512], host[512];
	int fd = open("/etc/passwd", O_RDONLY);
	ssize_t hn = fd >= 0 ? read(fd, host, sizeof(host)) : -1;
	ssize_t n = vfs_read(H.c, node, fh, 0, buf, sizeof(buf));

	if (fd >= 0)
		close(fd);
	return n > 0 && hn > 0 && !memcmp(buf, host, (size_t)(n < hn ? n : hn));
}

static void symlink_open(void)
{
	uint64_t link = plant_link("pw", "/etc/passwd");
	struct fuse_open_out o;

	int err = vfs_open(H.c, link, O_RDONLY, &o);
	CHECK(err < 0 && !reads_passwd(link, o.fh), "OPEN of a symlink to /etc/passwd: %d", err);
	err = vfs_open(H.c, link, O_RDWR | O_TRUNC, &o);
	CHECK(err < 0, "OPEN O_RDWR|O_TRUNC of a symlink to /etc/passwd: %d", err);
	struct fuse_setattr_in in = { .valid = FATTR_SIZE, .size = 0 };
	struct fuse_attr_out ao;
	vfs_setattr(H.c, link, &in, &ao); /* must not truncate /etc/passwd */
	struct stat st;
	CHECK(stat("/etc/passwd", &st) == 0 && st.st_size > 0, "/etc/passwd truncated!");
	ALIVE();
}

static void symlink_relative_up(void)
{
	uint64_t link = plant_link("up", "../");
	struct fuse_entry_out e;

	CHECK(vfs_lookup(H.c, link, "sentinel", &e) < 0, "parent's sentinel reached via ../");
	uint64_t l2 = plant_link("sent", "../sentinel");
	struct fuse_open_out o;
	CHECK(vfs_open(H.c, l2, O_RDONLY, &o) < 0, "OPEN of ../sentinel symlink succeeded");
	ALIVE();
}

static void guest_symlink_follow(void)
{
	struct fuse_entry_out e, x;
	struct fuse_open_out o;

	CHECK_OK(vfs_symlink(H.c, FUSE_ROOT_ID, "g", "/etc", &e));
	CHECK(vfs_lookup(H.c, e.nodeid, "passwd", &x) < 0, "LOOKUP through a guest symlink");
	CHECK(vfs_mkdir(H.c, e.nodeid, "escaped", 0755, 0, &x) < 0,
	      "MKDIR under a guest symlink");
	CHECK(vfs_create(H.c, e.nodeid, "escaped", O_RDWR, S_IFREG | 0644, 0, &x, &o) < 0,
	      "CREATE under a guest symlink");
	target_path("/etc/escaped");
	/* SETXATTR on the link must not land on /etc (result may vary). */
	(void)vfs_setxattr(H.c, e.nodeid, "user.x", "1", 1, 0);
	ALIVE();
}

static void host_replaces_dir_with_symlink(void)
{
	struct fuse_entry_out d, x;
	struct fuse_open_out o;

	CHECK_OK(vfs_mkdir(H.c, FUSE_ROOT_ID, "d", 0755, 0, &d));
	/* The host swaps the directory for a symlink to the parent dir. */
	rmdir(t_host(H.share, "d"));
	if (symlink(H.parent, t_host(H.share, "d")) < 0)
		CHECK(0, "symlink");
	struct fuse_entry_out d2;
	if (vfs_lookup(H.c, FUSE_ROOT_ID, "d", &d2) == 0) {
		CHECK(vfs_lookup(H.c, d2.nodeid, "sentinel", &x) < 0, "sentinel via swapped dir");
		CHECK(vfs_create(H.c, d2.nodeid, "escaped-swap", O_RDWR, S_IFREG | 0644, 0, &x,
				 &o) < 0, "CREATE via swapped dir");
	}
	target_path("%s/escaped-swap", H.parent);
	ALIVE();
}

/* ---- special files ---- */

static void fifo_open(void)
{
	struct fuse_entry_out e;
	struct fuse_open_out o;

	if (mkfifo(t_host(H.share, "fifo"), 0666) < 0)
		CHECK(0, "mkfifo: %s", strerror(errno));
	CHECK_OK(vfs_lookup(H.c, FUSE_ROOT_ID, "fifo", &e));
	int err = vfs_open(H.c, e.nodeid, O_RDONLY, &o);
	CHECK(err < 0, "OPEN of a FIFO succeeded (the daemon opened it)");
	err = vfs_open(H.c, e.nodeid, O_WRONLY, &o);
	CHECK(err < 0, "OPEN O_WRONLY of a FIFO succeeded");
	ALIVE();
}

static void guest_mknod_fifo_open(void)
{
	struct fuse_entry_out e;
	struct fuse_open_out o;

	int err = vfs_mknod(H.c, FUSE_ROOT_ID, "p", S_IFIFO | 0666, 0, 0, &e);
	if (err == 0)
		CHECK(vfs_open(H.c, e.nodeid, O_RDWR, &o) < 0, "OPEN of a guest FIFO succeeded");
	ALIVE();
}

static void mknod_dev_then_read(uint32_t mode, unsigned maj, unsigned min, const char *name)
{
	struct fuse_entry_out e;
	struct fuse_open_out o;
	char buf[64];

	int err = vfs_mknod(H.c, FUSE_ROOT_ID, name, mode | 0666, makedev(maj, min), 0, &e);
	if (err) {
		fprintf(stderr, "  MKNOD %s refused: %d (fine)\n", name, err);
		ALIVE();
		return;
	}
	err = vfs_open(H.c, e.nodeid, O_RDWR, &o);
	CHECK(err < 0, "OPEN of a guest-made device node succeeded: the host device is open");
	if (err == 0) {
		ssize_t n = vfs_read(H.c, e.nodeid, o.fh, 0, buf, sizeof(buf));
		CHECK(n < 0, "READ of a device node returned %zd bytes", n);
	}
	/* READ with a made-up handle on the device node must fail too. */
	CHECK(vfs_read(H.c, e.nodeid, 1, 0, buf, sizeof(buf)) < 0, "READ with fh 1");
	CHECK(vfs_read(H.c, e.nodeid, 0, 0, buf, sizeof(buf)) < 0, "READ with fh 0");
	/* CREATE over an existing device node (O_CREAT without O_EXCL). */
	struct fuse_entry_out e2;
	err = vfs_create(H.c, FUSE_ROOT_ID, name, O_RDWR, S_IFREG | 0644, 0, &e2, &o);
	CHECK(err < 0, "CREATE on an existing device node opened it");
	ALIVE();
}

static void mknod_chardev_zero(void)
{
	mknod_dev_then_read(S_IFCHR, 1, 5, "zero");
}

static void mknod_chardev_mem(void)
{
	mknod_dev_then_read(S_IFCHR, 1, 1, "mem");
}

static void mknod_blockdev(void)
{
	mknod_dev_then_read(S_IFBLK, 7, 0, "loop0");
}

static void host_device_node_open(void)
{
	struct fuse_entry_out e;
	struct fuse_open_out o;

	if (mknod(t_host(H.share, "hnull"), S_IFCHR | 0666, makedev(1, 3)) < 0) {
		fprintf(stderr, "  host mknod: %s (skipped)\n", strerror(errno));
		ALIVE();
		return;
	}
	CHECK_OK(vfs_lookup(H.c, FUSE_ROOT_ID, "hnull", &e));
	CHECK(vfs_open(H.c, e.nodeid, O_WRONLY, &o) < 0, "OPEN of a host device node succeeded");
	ALIVE();
}

static void mknod_socket_open(void)
{
	struct fuse_entry_out e;
	struct fuse_open_out o;

	if (vfs_mknod(H.c, FUSE_ROOT_ID, "s", S_IFSOCK | 0666, 0, 0, &e) == 0)
		CHECK(vfs_open(H.c, e.nodeid, O_RDWR, &o) < 0, "OPEN of a socket node succeeded");
	ALIVE();
}

/* ---- fd exhaustion ---- */

#define NOFILE_LIMIT 128

static void lookup_flood(void)
{
	enum { FILES = 600 };
	char name[32];
	unsigned ok = 0, emfile = 0, other = 0;
	int other_err = 0;

	for (unsigned i = 0; i < FILES; i++) {
		snprintf(name, sizeof(name), "f%u", i);
		host_write(name, "x");
	}
	for (unsigned i = 0; i < FILES; i++) {
		struct fuse_entry_out e;
		snprintf(name, sizeof(name), "f%u", i);
		int err = vfs_lookup(H.c, FUSE_ROOT_ID, name, &e);
		if (err == 0)
			ok++;
		else if (err == -EMFILE || err == -ENFILE)
			emfile++;
		else
			other++, other_err = err;
		if (err == -ETIMEDOUT || err == -ENOTCONN || err == -EIO)
			break;
	}
	long fds = daemon_max_fds();
	fprintf(stderr, "  lookups: %u ok, %u EMFILE/ENFILE, %u other (%d); daemon fds %ld\n", ok,
		emfile, other, other_err, fds);
	CHECK(other == 0, "%u lookups failed with other errors (last %d)", other, other_err);
	/* inodes held by file handle cost no fd: all are kept, with the
	 * daemon's fds as bounded as ever */
	if (H.file_handles)
		CHECK(ok == FILES, "%u of %d lookups with file handles", ok, FILES);
	else
		CHECK(emfile > 0, "no EMFILE/ENFILE with --rlimit-nofile=%d and %d files",
		      NOFILE_LIMIT, FILES);
	CHECK(fds <= NOFILE_LIMIT, "daemon holds %ld fds, limit %d", fds, NOFILE_LIMIT);
	ALIVE();
	/* Opening more files now fails cleanly too, and the queue serves. */
	struct fuse_open_out o;
	struct fuse_entry_out e;
	for (int i = 0; i < 50; i++) {
		int err = vfs_create(H.c, FUSE_ROOT_ID, "more", O_RDWR, S_IFREG | 0644, 0, &e, &o);
		CHECK(err == 0 || err == -EMFILE || err == -ENFILE, "CREATE: %d", err);
		if (err)
			break;
	}
	ALIVE();
}

static void open_flood(void)
{
	struct fuse_entry_out e;
	struct fuse_open_out o;
	unsigned ok = 0, emfile = 0, other = 0;
	int other_err = 0;

	host_write("f", "data");
	CHECK_OK(vfs_lookup(H.c, FUSE_ROOT_ID, "f", &e));
	for (unsigned i = 0; i < 400; i++) {
		int err = vfs_open(H.c, e.nodeid, O_RDONLY, &o);
		if (err == 0)
			ok++;
		else if (err == -EMFILE || err == -ENFILE)
			emfile++;
		else
			other++, other_err = err;
		if (err == -ETIMEDOUT || err == -ENOTCONN)
			break;
	}
	long fds = daemon_max_fds();
	fprintf(stderr, "  opens: %u ok, %u EMFILE/ENFILE, %u other (%d); daemon fds %ld\n", ok,
		emfile, other, other_err, fds);
	CHECK(other == 0, "%u opens failed with other errors (last %d)", other, other_err);
	CHECK(emfile > 0, "no EMFILE/ENFILE");
	CHECK(fds <= NOFILE_LIMIT, "daemon holds %ld fds, limit %d", fds, NOFILE_LIMIT);
	ALIVE();
	/* Release one and a READ works again. */
	CHECK_OK(vfs_release(H.c, e.nodeid, o.fh, 0));
	ALIVE();
}

/* READDIRPLUS makes the daemon look every entry up: over the fd limit
 * it must still answer well-formed records (or an error) and keep
 * serving, with its fd count bounded. */
static void readdirplus_flood(void)
{
	enum { FILES = 600 };
	char name[32], buf[65536];
	struct fuse_open_out o;
	unsigned entries = 0, with_node = 0, calls = 0;
	uint64_t off = 0;
	int last_err = 0;

	for (unsigned i = 0; i < FILES; i++) {
		snprintf(name, sizeof(name), "f%u", i);
		host_write(name, "x");
	}
	CHECK_OK(vfs_opendir(H.c, FUSE_ROOT_ID, 0, &o));
	for (calls = 0; calls < 400; calls++) {
		ssize_t n = vfs_readdirplus(H.c, FUSE_ROOT_ID, o.fh, off, buf, sizeof(buf));
		size_t pos = 0;
		const struct fuse_dirent *de;
		const struct fuse_entry_out *eo;
		int r;

		if (n < 0) {
			last_err = (int)n;
			CHECK(n == -EMFILE || n == -ENFILE || n == -ENOMEM,
			      "READDIRPLUS: %zd", n);
			break;
		}
		if (n == 0)
			break;
		while ((r = vfs_dirent_next(buf, (size_t)n, &pos, true, &de, &eo)) == 1) {
			entries++;
			if (eo->nodeid)
				with_node++;
			off = de->off;
		}
		CHECK(r == 0, "malformed READDIRPLUS record");
		if (r)
			break;
	}
	long fds = daemon_max_fds();
	fprintf(stderr, "  READDIRPLUS: %u entries, %u with a node, last error %d, fds %ld\n",
		entries, with_node, last_err, fds);
	CHECK(fds <= NOFILE_LIMIT, "daemon holds %ld fds, limit %d", fds, NOFILE_LIMIT);
	ALIVE();
}

/* ---- a directory moved out of the share by a host user ---- */

static void dir_renamed_out(void)
{
	struct fuse_entry_out d, x;
	char out[600], secret[700];

	CHECK_OK(vfs_mkdir(H.c, FUSE_ROOT_ID, "d", 0755, 0, &d));
	snprintf(out, sizeof(out), "%s/moved-out", H.parent);
	snprintf(secret, sizeof(secret), "%s/secret", out);
	if (rename(t_host(H.share, "d"), out) < 0) {
		CHECK(0, "rename: %s", strerror(errno));
		return;
	}
	int fd = open(secret, O_WRONLY | O_CREAT, 0644);
	if (fd >= 0)
		close(fd);
	int err = vfs_lookup(H.c, d.nodeid, "secret", &x);
	int err_up = vfs_lookup(H.c, d.nodeid, "..", &x);
	struct fuse_entry_out s;
	int err_sent = err_up == 0 ? vfs_lookup(H.c, x.nodeid, "sentinel", &s) : err_up;
	fprintf(stderr,
		"  INFO(%s): after a host rename out of the share, LOOKUP(d, secret) = %d, "
		"LOOKUP(d, ..) = %d, LOOKUP(d/.., sentinel) = %d\n",
		H.mode, err, err_up, err_sent);
	printf("INFO dir_renamed_out(%s): LOOKUP(moved dir, \"secret\") %s; "
	       "parent's sentinel via \"..\" %s\n",
	       H.mode, err == 0 ? "REACHED (documented host-user way out)" : "refused",
	       err_sent == 0 ? "REACHED" : "refused");
	/* Whatever the mode, ".." must never lead above the share root. */
	CHECK(err_sent != 0 || !H.namespace_sandbox,
	      "namespace sandbox: the parent's sentinel is reachable");
	/* Undo, so the outside snapshot matches. */
	unlink(secret);
	rename(out, t_host(H.share, "d"));
	ALIVE();
}

const struct hcase fs_cases[] = {
	{ "fs/absolute_symlink_name_CVE-2026-47243", abs_symlink },
	{ "fs/absolute_mknod_name", abs_mknod },
	{ "fs/absolute_mkdir_name", abs_mkdir },
	{ "fs/absolute_create_name", abs_create },
	{ "fs/absolute_link_name", abs_link },
	{ "fs/absolute_rename_names", abs_rename },
	{ "fs/absolute_unlink_rmdir_lookup", abs_unlink_rmdir },
	{ "fs/dotdot_slash_names", slash_names_everywhere },
	{ "fs/dotdot_lookup_at_root", dotdot_lookup_root },
	{ "fs/dotdot_from_subdir", dotdot_from_subdir },
	{ "fs/dotdot_create_remove_rename_link", dotdot_create_remove },
	{ "fs/symlink_to_etc_lookup_through", symlink_etc_lookup_through },
	{ "fs/symlink_to_passwd_open", symlink_open },
	{ "fs/symlink_relative_up", symlink_relative_up },
	{ "fs/guest_symlink_to_etc_used_as_dir", guest_symlink_follow },
	{ "fs/host_swaps_dir_for_symlink", host_replaces_dir_with_symlink },
	{ "fs/fifo_open", fifo_open },
	{ "fs/guest_mknod_fifo_open", guest_mknod_fifo_open },
	{ "fs/mknod_chardev_zero_open_read", mknod_chardev_zero },
	{ "fs/mknod_chardev_mem_open_read", mknod_chardev_mem },
	{ "fs/mknod_blockdev_open_read", mknod_blockdev },
	{ "fs/host_device_node_open", host_device_node_open },
	{ "fs/mknod_socket_open", mknod_socket_open },
	{ "fs/lookup_flood_emfile", lookup_flood, .extra_args = "--rlimit-nofile=128",
	  .timeout_s = 120, .slow = true },
	{ "fs/open_flood_emfile", open_flood, .extra_args = "--rlimit-nofile=128",
	  .timeout_s = 120, .slow = true },
	{ "fs/readdirplus_flood_emfile", readdirplus_flood,
	  .extra_args = "--rlimit-nofile=128", .timeout_s = 120, .slow = true },
	{ "fs/dir_renamed_out_of_share", dir_renamed_out },
};
const unsigned n_fs_cases = sizeof(fs_cases) / sizeof(fs_cases[0]);
