/* test_client.c: drive a vhost-user-fs daemon through libvirtiofs-client
 * and compare every effect with the host directory it serves. argv[1] is
 * the virtiofs-client executable for the CLI tests. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <signal.h>
#include <time.h>
#include <poll.h>
#include <unistd.h>

#include "harness.h"
#include "vfs_internal.h"
#include "virtiofs_client.h"

static struct vfs_client *C;
static struct daemon D;
static char share[300];
static const char *cli_path;

/* VFS_TEST_PACKED=1 runs every session on packed rings. */
static bool packed_run(void)
{
	const char *p = getenv("VFS_TEST_PACKED");

	return p && *p && strcmp(p, "0");
}

static int session_open(const struct vfs_client_options *o)
{
	struct vfs_client_options opts = { 0 };
	int err = daemon_start(&D, share);

	if (err)
		return err;
	if (o)
		opts = *o;
	opts.packed = packed_run();
	C = vfs_client_open(D.sock, &opts, &err);
	if (C && packed_run() && !(vfs_client_features(C) & (1ull << 34)))
		err = -ENOTSUP;
	if (!C)
		daemon_stop(&D);
	return err;
}

static void session_close(void)
{
	vfs_client_close(C);
	C = NULL;
	daemon_stop(&D);
}

static void host_write(const char *name, const void *data, size_t len,
		       mode_t mode)
{
	int fd = open(t_host(share, name), O_WRONLY | O_CREAT | O_TRUNC, mode);

	if (fd < 0 || write(fd, data, len) != (ssize_t)len)
		abort();
	fchmod(fd, mode);
	close(fd);
}

static void *rand_bytes(size_t len)
{
	unsigned char *p = malloc(len);
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (unsigned char)(rand() >> 7);
	return p;
}

/* Every attribute the daemon reports must be the host's. */
static void attr_compare(const struct fuse_attr *a, const char *host)
{
	struct stat st;

	if (lstat(host, &st) < 0) {
		CHECK(0, "lstat %s: %s", host, strerror(errno));
		return;
	}
	CHECK(a->ino == st.st_ino, "%s ino %llu vs %llu", host,
	      (unsigned long long)a->ino, (unsigned long long)st.st_ino);
	CHECK(a->mode == st.st_mode, "%s mode %o vs %o", host, a->mode, st.st_mode);
	CHECK(a->nlink == st.st_nlink, "%s nlink %u vs %lu", host, a->nlink,
	      (unsigned long)st.st_nlink);
	CHECK(a->uid == st.st_uid && a->gid == st.st_gid, "%s owner %u:%u vs %u:%u",
	      host, a->uid, a->gid, st.st_uid, st.st_gid);
	CHECK(a->size == (uint64_t)st.st_size, "%s size %llu vs %lld", host,
	      (unsigned long long)a->size, (long long)st.st_size);
	CHECK(a->mtime == (uint64_t)st.st_mtim.tv_sec &&
	      a->mtimensec == (uint32_t)st.st_mtim.tv_nsec, "%s mtime", host);
	CHECK(a->ctime == (uint64_t)st.st_ctim.tv_sec &&
	      a->ctimensec == (uint32_t)st.st_ctim.tv_nsec, "%s ctime", host);
	CHECK(a->blocks == (uint64_t)st.st_blocks, "%s blocks", host);
}

static uint64_t lookup_ok(uint64_t parent, const char *name,
			  struct fuse_entry_out *e)
{
	int err = vfs_lookup(C, parent, name, e);

	CHECK(err == 0 && e->nodeid, "lookup %s: %d", name, err);
	return err ? 0 : e->nodeid;
}

/* ENOENT, or a negative entry (nodeid 0), which Linux also accepts. */
static bool lookup_absent(uint64_t parent, const char *name)
{
	struct fuse_entry_out e;
	int err = vfs_lookup(C, parent, name, &e);

	return err == -ENOENT || (err == 0 && e.nodeid == 0);
}

/* ---- library tests ---- */

static void test_init(void)
{
	const struct fuse_init_out *io = vfs_client_init_out(C);

	CHECK(io->major == 7 && io->minor >= 27, "version %u.%u", io->major,
	      io->minor);
	CHECK(vfs_client_max_io(C) >= 4096, "max_io %zu", vfs_client_max_io(C));
	CHECK(vfs_client_features(C) & (1ull << 32), "VERSION_1 not negotiated");
}

static void test_lookup_getattr(void)
{
	struct fuse_entry_out e;
	struct fuse_attr_out ao;
	uint64_t n;
	int err;

	host_write("plain", "0123456789", 10, 0640);
	n = lookup_ok(FUSE_ROOT_ID, "plain", &e);
	attr_compare(&e.attr, t_host(share, "plain"));
	CHECK_OK(vfs_getattr(C, n, VFS_NO_FH, &ao));
	attr_compare(&ao.attr, t_host(share, "plain"));
	CHECK_OK(vfs_getattr(C, FUSE_ROOT_ID, VFS_NO_FH, &ao));
	attr_compare(&ao.attr, share);
	CHECK(lookup_absent(FUSE_ROOT_ID, "missing"), "missing");
	err = vfs_access(C, n, R_OK | W_OK);
	CHECK(err == 0 || err == -ENOSYS, "access %d", err);
	vfs_put(C, n);
}

static void test_create_write_read(void)
{
	size_t len = 3 * 1024 * 1024 + 123, off, max = vfs_client_max_io(C);
	unsigned char *data = rand_bytes(len), *back = malloc(len);
	struct fuse_entry_out e;
	struct fuse_open_out oo;
	struct fuse_attr_out ao;
	int err, fd;

	err = vfs_create(C, FUSE_ROOT_ID, "new.bin", O_RDWR | O_EXCL,
			 S_IFREG | 0644, 022, &e, &oo);
	CHECK(err == 0, "create %d", err);
	if (err)
		goto out;
	for (off = 0; off < len;) {
		size_t n = len - off < max ? len - off : max;
		ssize_t w = vfs_write(C, e.nodeid, oo.fh, off, data + off, n, 0);

		CHECK(w > 0, "write at %zu: %zd", off, w);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	CHECK_OK(vfs_fsync(C, e.nodeid, oo.fh, false));
	CHECK_OK(vfs_flush(C, e.nodeid, oo.fh, 0));
	/* Host sees exactly what we wrote. */
	fd = open(t_host(share, "new.bin"), O_RDONLY);
	CHECK(fd >= 0 && read(fd, back, len) == (ssize_t)len &&
	      !memcmp(back, data, len), "host content differs");
	if (fd >= 0)
		close(fd);
	/* And reading back through the daemon gives it too. */
	memset(back, 0, len);
	for (off = 0; off < len;) {
		ssize_t r = vfs_read(C, e.nodeid, oo.fh, off, back + off, len - off);

		CHECK(r > 0, "read at %zu: %zd", off, r);
		if (r <= 0)
			break;
		off += (size_t)r;
	}
	CHECK(!memcmp(back, data, len), "read-back differs");
	CHECK(vfs_read(C, e.nodeid, oo.fh, len, back, 100) == 0, "read at EOF");
	CHECK_OK(vfs_getattr(C, e.nodeid, oo.fh, &ao));
	attr_compare(&ao.attr, t_host(share, "new.bin"));
	CHECK_OK(vfs_release(C, e.nodeid, oo.fh, O_RDWR));
	CHECK(vfs_create(C, FUSE_ROOT_ID, "new.bin", O_RDWR | O_EXCL | O_CREAT,
			 S_IFREG | 0644, 022, &e, &oo) == -EEXIST, "O_EXCL");
	vfs_put(C, e.nodeid);
out:
	free(data);
	free(back);
}

static bool name_in(const char *const *names, unsigned n, const char *s,
		    size_t len)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (strlen(names[i]) == len && !memcmp(names[i], s, len))
			return true;
	return false;
}

static void readdir_check(uint64_t dir, const char *hostdir, bool plus,
			  const char *const *names, unsigned n)
{
	static char buf[32768];
	const struct fuse_entry_out *e;
	const struct fuse_dirent *d;
	struct fuse_open_out oo;
	unsigned seen = 0, dots = 0;
	uint64_t off = 0;
	ssize_t len;
	int r;

	CHECK_OK(vfs_opendir(C, dir, O_RDONLY, &oo));
	/* Small reads so that continuing from an offset is exercised. */
	while ((len = (plus ? vfs_readdirplus : vfs_readdir)(C, dir, oo.fh, off,
							     buf, 512)) > 0) {
		size_t pos = 0;

		while ((r = vfs_dirent_next(buf, (size_t)len, &pos, plus, &d, &e)) == 1) {
			char name[300];

			off = d->off;
			snprintf(name, sizeof(name), "%.*s", (int)d->namelen, d->name);
			if (!strcmp(name, ".") || !strcmp(name, "..")) {
				dots++;
				continue;
			}
			CHECK(name_in(names, n, d->name, d->namelen), "extra %s", name);
			seen++;
			if (plus && e->nodeid) {
				attr_compare(&e->attr, t_host(hostdir, name));
				vfs_put(C, e->nodeid);
			}
		}
		CHECK(r == 0, "malformed dirent buffer");
	}
	CHECK(len == 0, "readdir %zd", len);
	CHECK(seen == n && dots == 2, "saw %u of %u (dots %u)", seen, n, dots);
	CHECK_OK(vfs_fsyncdir(C, dir, oo.fh, false));
	CHECK_OK(vfs_releasedir(C, dir, oo.fh, 0));
}

static void test_mkdir_readdir(void)
{
	static const char *const names[] = {
		"f0", "f1", "a-rather-long-file-name-to-fill-buffers-0123456789",
		"f3", "f4", "f5", "f6", "f7", "f8", "f9", "d", "l",
	};
	char hostdir[400];
	struct fuse_entry_out e;
	struct stat st;
	unsigned i;
	uint64_t dir;

	CHECK_OK(vfs_mkdir(C, FUSE_ROOT_ID, "sub", S_IFDIR | 0750, 022, &e));
	dir = e.nodeid;
	snprintf(hostdir, sizeof(hostdir), "%s/sub", share);
	CHECK(stat(hostdir, &st) == 0 && S_ISDIR(st.st_mode) &&
	      (st.st_mode & 07777) == 0750, "host mkdir mode %o", st.st_mode);
	attr_compare(&e.attr, hostdir);
	for (i = 0; i < 10; i++)
		host_write(t_host("sub", names[i]) , "x", 1, 0644);
	CHECK(mkdir(t_host(hostdir, "d"), 0700) == 0, "host mkdir");
	CHECK(symlink("f0", t_host(hostdir, "l")) == 0, "host symlink");
	readdir_check(dir, hostdir, false, names, 12);
	readdir_check(dir, hostdir, true, names, 12);
	CHECK(vfs_mkdir(C, FUSE_ROOT_ID, "sub", S_IFDIR | 0755, 022, &e) == -EEXIST,
	      "mkdir twice");
	vfs_put(C, dir);
}

static void test_rename_link(void)
{
	struct fuse_entry_out e, l, x;
	struct stat st;
	uint64_t n;

	host_write("r1", "abc", 3, 0644);
	host_write("r2", "defg", 4, 0644);
	n = lookup_ok(FUSE_ROOT_ID, "r1", &e);
	CHECK_OK(vfs_rename(C, FUSE_ROOT_ID, "r1", FUSE_ROOT_ID, "r1b", 0));
	CHECK(access(t_host(share, "r1"), F_OK) < 0 &&
	      stat(t_host(share, "r1b"), &st) == 0 && st.st_ino == e.attr.ino,
	      "host rename");
	lookup_ok(FUSE_ROOT_ID, "r2", &x);
	CHECK(vfs_rename2(C, FUSE_ROOT_ID, "r1b", FUSE_ROOT_ID, "r2",
			  RENAME_NOREPLACE) == -EEXIST, "RENAME_NOREPLACE");
	CHECK_OK(vfs_rename2(C, FUSE_ROOT_ID, "r1b", FUSE_ROOT_ID, "r2",
			     RENAME_EXCHANGE));
	CHECK(stat(t_host(share, "r2"), &st) == 0 && st.st_size == 3,
	      "exchange: r2 has r1's data");
	/* link: the new name is the same inode, two links on both sides */
	CHECK_OK(vfs_link(C, n, FUSE_ROOT_ID, "hard", &l));
	CHECK(l.nodeid == n && l.attr.nlink == 2, "link nodeid/nlink %u",
	      l.attr.nlink);
	attr_compare(&l.attr, t_host(share, "hard"));
	CHECK(stat(t_host(share, "hard"), &st) == 0 && st.st_ino == e.attr.ino &&
	      st.st_nlink == 2, "host link");
	vfs_put(C, n);
	vfs_put(C, n);
	vfs_put(C, x.nodeid);
}

static void test_symlink(void)
{
	char buf[256], host[256];
	struct fuse_entry_out e;
	ssize_t n;

	CHECK_OK(vfs_symlink(C, FUSE_ROOT_ID, "sym", "some/where/else", &e));
	n = readlink(t_host(share, "sym"), host, sizeof(host) - 1);
	CHECK(n == 15 && !memcmp(host, "some/where/else", 15), "host readlink");
	attr_compare(&e.attr, t_host(share, "sym"));
	n = vfs_readlink(C, e.nodeid, buf, sizeof(buf));
	CHECK(n == 15 && !strcmp(buf, "some/where/else"), "readlink %zd", n);
	vfs_put(C, e.nodeid);
}

static void test_setattr(void)
{
	struct fuse_setattr_in in = { 0 };
	struct fuse_entry_out e;
	struct fuse_attr_out ao;
	struct stat st;
	uint64_t n;

	host_write("sa", "0123456789abcdef", 16, 0644);
	n = lookup_ok(FUSE_ROOT_ID, "sa", &e);
	in.valid = FATTR_MODE;
	in.mode = S_IFREG | 0600;
	CHECK_OK(vfs_setattr(C, n, &in, &ao));
	CHECK(stat(t_host(share, "sa"), &st) == 0 && (st.st_mode & 07777) == 0600,
	      "chmod %o", st.st_mode);
	attr_compare(&ao.attr, t_host(share, "sa"));
	memset(&in, 0, sizeof(in));
	in.valid = FATTR_SIZE;
	in.size = 5;
	CHECK_OK(vfs_setattr(C, n, &in, &ao));
	CHECK(stat(t_host(share, "sa"), &st) == 0 && st.st_size == 5, "truncate");
	attr_compare(&ao.attr, t_host(share, "sa"));
	memset(&in, 0, sizeof(in));
	in.valid = FATTR_ATIME | FATTR_MTIME;
	in.atime = 1000000000;
	in.atimensec = 123;
	in.mtime = 1200000000;
	in.mtimensec = 456789;
	CHECK_OK(vfs_setattr(C, n, &in, &ao));
	CHECK(stat(t_host(share, "sa"), &st) == 0 &&
	      st.st_atim.tv_sec == 1000000000 && st.st_atim.tv_nsec == 123 &&
	      st.st_mtim.tv_sec == 1200000000 && st.st_mtim.tv_nsec == 456789,
	      "utimens");
	attr_compare(&ao.attr, t_host(share, "sa"));
	memset(&in, 0, sizeof(in));
	in.valid = FATTR_UID | FATTR_GID;
	in.uid = 1234;
	in.gid = 5678;
	CHECK_OK(vfs_setattr(C, n, &in, &ao));
	CHECK(stat(t_host(share, "sa"), &st) == 0 && st.st_uid == 1234 &&
	      st.st_gid == 5678, "chown %u:%u", st.st_uid, st.st_gid);
	attr_compare(&ao.attr, t_host(share, "sa"));
	vfs_put(C, n);
}

static void test_xattr(void)
{
	char buf[256], host[64];
	struct fuse_entry_out e;
	ssize_t n;
	uint64_t node;
	bool found = false;
	size_t pos;

	host_write("xa", "", 0, 0644);
	node = lookup_ok(FUSE_ROOT_ID, "xa", &e);
	CHECK_OK(vfs_setxattr(C, node, "user.color", "blue", 4, 0));
	n = getxattr(t_host(share, "xa"), "user.color", host, sizeof(host));
	CHECK(n == 4 && !memcmp(host, "blue", 4), "host getxattr %zd", n);
	CHECK(vfs_setxattr(C, node, "user.color", "red", 3, XATTR_CREATE) == -EEXIST,
	      "XATTR_CREATE");
	CHECK(vfs_getxattr(C, node, "user.color", NULL, 0) == 4, "size query");
	n = vfs_getxattr(C, node, "user.color", buf, sizeof(buf));
	CHECK(n == 4 && !memcmp(buf, "blue", 4), "getxattr %zd", n);
	CHECK(vfs_getxattr(C, node, "user.color", buf, 2) == -ERANGE, "ERANGE");
	CHECK(setxattr(t_host(share, "xa"), "user.other", "1", 1, 0) == 0, "host set");
	n = vfs_listxattr(C, node, buf, sizeof(buf));
	CHECK(n == vfs_listxattr(C, node, NULL, 0), "list size query");
	for (pos = 0; n > 0 && pos < (size_t)n; pos += strlen(buf + pos) + 1)
		found |= !strcmp(buf + pos, "user.other");
	CHECK(found, "listxattr lacks user.other");
	CHECK_OK(vfs_removexattr(C, node, "user.color"));
	CHECK(getxattr(t_host(share, "xa"), "user.color", host, sizeof(host)) < 0 &&
	      errno == ENODATA, "host still has it");
	CHECK(vfs_getxattr(C, node, "user.color", buf, sizeof(buf)) == -ENODATA,
	      "ENODATA");
	vfs_put(C, node);
}

static void test_unlink_rmdir(void)
{
	struct fuse_entry_out e, d;

	host_write("gone", "x", 1, 0644);
	CHECK(mkdir(t_host(share, "gonedir"), 0755) == 0, "host mkdir");
	/* Hold the references across the removal, as a dentry would. */
	lookup_ok(FUSE_ROOT_ID, "gone", &e);
	lookup_ok(FUSE_ROOT_ID, "gonedir", &d);
	CHECK_OK(vfs_unlink(C, FUSE_ROOT_ID, "gone"));
	CHECK_OK(vfs_rmdir(C, FUSE_ROOT_ID, "gonedir"));
	CHECK(access(t_host(share, "gone"), F_OK) < 0 &&
	      access(t_host(share, "gonedir"), F_OK) < 0, "still on host");
	CHECK(lookup_absent(FUSE_ROOT_ID, "gone"), "lookup gone");
	vfs_put(C, e.nodeid);
	vfs_put(C, d.nodeid);
	lookup_ok(FUSE_ROOT_ID, "sub", &d);
	CHECK(vfs_rmdir(C, FUSE_ROOT_ID, "sub") == -ENOTEMPTY, "rmdir non-empty");
	vfs_put(C, d.nodeid);
}

static void test_statfs(void)
{
	struct fuse_kstatfs st;
	struct statvfs hv;

	CHECK_OK(vfs_statfs(C, FUSE_ROOT_ID, &st));
	CHECK(statvfs(share, &hv) == 0, "host statvfs");
	CHECK(st.blocks == hv.f_blocks && st.bsize == hv.f_bsize &&
	      st.files == hv.f_files && st.namelen == hv.f_namemax,
	      "statfs %llu/%u vs %llu/%lu", (unsigned long long)st.blocks,
	      st.bsize, (unsigned long long)hv.f_blocks, hv.f_bsize);
}

static void test_file_misc(void)
{
	struct fuse_file_lock lk = { .start = 0, .end = 99, .type = F_WRLCK,
				     .pid = (uint32_t)getpid() }, out;
	struct fuse_entry_out e, e2;
	struct fuse_open_out oo, oo2;
	uint64_t pos = 0;
	ssize_t n;
	int err;

	CHECK_OK(vfs_create(C, FUSE_ROOT_ID, "misc", O_RDWR, S_IFREG | 0644, 0,
			    &e, &oo));
	err = vfs_fallocate(C, e.nodeid, oo.fh, 0, 65536, 0);
	CHECK(err == 0 || err == -EOPNOTSUPP, "fallocate %d", err);
	CHECK(vfs_write(C, e.nodeid, oo.fh, 100000, "tail", 4, 0) == 4, "write");
	err = vfs_lseek(C, e.nodeid, oo.fh, 70000, SEEK_DATA, &pos);
	CHECK(err == -ENOSYS || (err == 0 && pos >= 65536 && pos <= 100000),
	      "lseek %d %llu", err, (unsigned long long)pos);
	err = vfs_getlk(C, e.nodeid, oo.fh, 42, &lk, &out);
	CHECK(err == 0 || err == -ENOSYS, "getlk %d", err);
	if (!err)
		CHECK(out.type == F_UNLCK, "getlk type %u", out.type);
	err = vfs_setlk(C, e.nodeid, oo.fh, 42, &lk, false);
	CHECK(err == 0 || err == -ENOSYS, "setlk %d", err);
	CHECK_OK(vfs_create(C, FUSE_ROOT_ID, "misc2", O_RDWR, S_IFREG | 0644, 0,
			    &e2, &oo2));
	n = vfs_copy_file_range(C, e.nodeid, oo.fh, 100000, e2.nodeid, oo2.fh,
				0, 4, 0);
	CHECK(n == 4 || n == -ENOSYS || n == -EOPNOTSUPP, "copy_file_range %zd", n);
	CHECK_OK(vfs_release(C, e2.nodeid, oo2.fh, O_RDWR));
	CHECK_OK(vfs_release(C, e.nodeid, oo.fh, O_RDWR));
	err = vfs_syncfs(C);
	CHECK(err == 0 || err == -ENOSYS, "syncfs %d", err);
	err = vfs_tmpfile(C, FUSE_ROOT_ID, O_RDWR, S_IFREG | 0600, 0, &e2, &oo2);
	CHECK(err == 0 || err == -ENOSYS || err == -EOPNOTSUPP, "tmpfile %d", err);
	if (!err) {
		vfs_release(C, e2.nodeid, oo2.fh, O_RDWR);
		vfs_put(C, e2.nodeid);
	}
	err = vfs_open(C, e.nodeid, O_RDONLY, &oo);
	CHECK(err == 0, "open %d", err);
	if (!err)
		vfs_release(C, e.nodeid, oo.fh, O_RDONLY);
	vfs_put(C, e.nodeid);
}

static void test_forget_resolve(void)
{
	struct fuse_forget_one items[2];
	struct fuse_entry_out e;
	struct fuse_attr a;
	uint64_t n1, n2;

	CHECK_OK(vfs_resolve(C, "/sub/f1", &n1, &a));
	attr_compare(&a, t_host(share, "sub/f1"));
	CHECK(vfs_resolve(C, "/sub/nope/x", &n2, &a) == -ENOENT, "resolve ENOENT");
	n2 = lookup_ok(FUSE_ROOT_ID, "sub", &e);
	items[0] = (struct fuse_forget_one){ .nodeid = n1, .nlookup = 1 };
	items[1] = (struct fuse_forget_one){ .nodeid = n2, .nlookup = 1 };
	CHECK_OK(vfs_batch_forget(C, items, 2));
	/* The daemon must still answer after forgetting. */
	CHECK_OK(vfs_resolve(C, "/sub/./f3", &n1, &a));
	vfs_put(C, n1);
}

static void test_raw_async(void)
{
	struct {
		struct fuse_in_header ih;
		struct fuse_getattr_in in;
	} req = {
		.ih = { .len = sizeof(req), .opcode = FUSE_GETATTR,
			.nodeid = FUSE_ROOT_ID },
	};
	struct fuse_out_header *oh;
	unsigned char reply[256];
	ssize_t n;
	long ok;

	/* An opcode nobody knows: a well-formed ENOSYS reply. */
	req.ih.opcode = 9999;
	req.ih.unique = vfs_next_unique(C);
	n = vfs_raw(C, 1, &req, sizeof(req), reply, sizeof(reply));
	oh = (struct fuse_out_header *)reply;
	CHECK(n == sizeof(*oh) && oh->error == -ENOSYS &&
	      oh->unique == req.ih.unique, "raw unknown opcode: %zd %d", n,
	      oh->error);
	req.ih.opcode = FUSE_GETATTR;
	req.ih.unique = vfs_next_unique(C);
	n = vfs_raw(C, 1, &req, sizeof(req), reply, sizeof(reply));
	CHECK(n == sizeof(*oh) + sizeof(struct fuse_attr_out) && oh->error == 0,
	      "raw getattr %zd", n);
	ok = vfs_run_inflight(C, 1, &req, sizeof(req), 256, 2000, 48);
	CHECK(ok == 2000, "inflight: %ld of 2000", ok);
	CHECK(vfs_async_pending(C) == 0, "pending %u", vfs_async_pending(C));
	/* Requests must have landed in every memfd region by now. */
	for (unsigned i = 0; i < C->mem.nr; i++)
		CHECK(C->mem.allocs[i] > 0, "region %u never used", i);
}

/* Hand-made descriptors through the internal hooks: a GETATTR whose
 * header is cut mid-field over three readable descriptors and whose
 * reply buffer is split into two writable ones. A daemon must gather and
 * scatter across descriptor boundaries. */
static bool raw_used(struct vring_queue *q, uint16_t *id, uint32_t *len, unsigned skip)
{
	struct vring_used_elem ue;

	if (q->packed)
		return vq_praw_pop_used(q, skip, id, len);
	if (!vq_raw_pop_used(q, &ue))
		return false;
	*id = (uint16_t)ue.id;
	*len = ue.len;
	return true;
}

/* The same five descriptors as one packed chain: consecutive ring
 * descriptors, the buffer id in the last one. */
static void raw_ring_chain(struct vring_queue *q, uint8_t *buf, const uint32_t *cut,
			   uint16_t *id)
{
	uint8_t *p = buf;
	unsigned i;

	if (!q->packed) {
		for (i = 0; i < 5; i++)
			CHECK(vq_desc_alloc(q, &id[i]) == 0, "desc alloc");
		for (i = 0; i < 5; p += cut[i], i++)
			vq_raw_desc(q, id[i], mem_gpa(&C->mem, p), cut[i],
				    (i < 4 ? VRING_DESC_F_NEXT : 0) |
				    (i >= 3 ? VRING_DESC_F_WRITE : 0),
				    i < 4 ? id[i + 1] : 0);
		CHECK_OK(vq_raw_publish(q, id[0]));
		return;
	}
	CHECK(vq_pid_alloc(q, &id[0]) == 0, "id alloc");
	for (i = 0; i < 5; p += cut[i], i++)
		vq_praw_desc(q, i, mem_gpa(&C->mem, p), cut[i], i < 4 ? 0xffff : id[0],
			     (i < 4 ? VRING_DESC_F_NEXT : 0) | (i >= 3 ? VRING_DESC_F_WRITE : 0),
			     true);
	CHECK_OK(vq_praw_publish(q, 5));
}

static void test_raw_ring(void)
{
	struct vring_queue *q = &C->queues[1];
	struct fuse_in_header ih = {
		.len = sizeof(ih) + sizeof(struct fuse_getattr_in),
		.opcode = FUSE_GETATTR, .unique = vfs_next_unique(C),
		.nodeid = FUSE_ROOT_ID,
	};
	static const uint32_t cut[5] = { 7, 33, 16, 20, 256 };
	struct fuse_out_header oh;
	struct fuse_attr_out ao;
	uint16_t id[5], uid = 0;
	uint32_t ulen = 0;
	uint8_t *buf = mem_alloc(&C->mem, 4096);
	struct pollfd pfd = { .fd = q->call_fd, .events = POLLIN };
	unsigned i, tries;
	bool got = false;

	CHECK(buf != NULL, "mem_alloc");
	if (!buf)
		return;
	memcpy(buf, &ih, sizeof(ih));   /* getattr_in stays zeroed */
	raw_ring_chain(q, buf, cut, id);
	/* Bounded: at most ~10 s of calls that bring nothing. */
	for (tries = 0; tries < 1000 && !got; tries++) {
		uint64_t v;

		got = raw_used(q, &uid, &ulen, 5);
		if (!got && poll(&pfd, 1, 10) == 1)
			(void)!read(q->call_fd, &v, sizeof(v));
	}
	CHECK(got && uid == id[0], "no used element");
	CHECK(got && ulen == sizeof(oh) + sizeof(ao), "used len %u", ulen);
	memcpy(&oh, buf + 56, sizeof(oh));
	memcpy(&ao, buf + 56 + sizeof(oh), sizeof(ao));
	CHECK(oh.unique == ih.unique && oh.error == 0, "reply %d", oh.error);
	attr_compare(&ao.attr, share);
	if (q->packed)
		vq_pid_free(q, id[0]);
	for (i = 0; !q->packed && i < 5; i++)
		vq_desc_free(q, id[i]);
	mem_free(&C->mem, buf, 4096);
}

/* Same core operations with SET_MEM_TABLE, plain descriptor chains, no
 * event index, two regions and a small ring. */
static void test_legacy_layout(void)
{
	struct vfs_client_options o = {
		.no_mem_slots = true, .no_indirect = true, .no_event_idx = true,
		.mem_regions = 2, .queue_size = 64, .mem_size = 16 << 20,
	};
	size_t len = 600 * 1024;
	unsigned char *data = rand_bytes(len), *back = calloc(1, len);
	struct fuse_entry_out e;
	struct fuse_open_out oo;
	size_t off;
	int err = session_open(&o);
	long ok;

	CHECK(err == 0, "open: %d", err);
	if (err)
		goto out;
	CHECK(!(vfs_client_features(C) & (1ull << 28 | 1ull << 29)),
	      "features %llx", (unsigned long long)vfs_client_features(C));
	CHECK_OK(vfs_create(C, FUSE_ROOT_ID, "legacy", O_RDWR, S_IFREG | 0644,
			    0, &e, &oo));
	for (off = 0; off < len;) {
		ssize_t w = vfs_write(C, e.nodeid, oo.fh, off, data + off, len - off, 0);

		CHECK(w > 0, "write %zd", w);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	for (off = 0; off < len;) {
		ssize_t r = vfs_read(C, e.nodeid, oo.fh, off, back + off, len - off);

		CHECK(r > 0, "read %zd", r);
		if (r <= 0)
			break;
		off += (size_t)r;
	}
	CHECK(!memcmp(data, back, len), "legacy read-back differs");
	vfs_release(C, e.nodeid, oo.fh, O_RDWR);
	vfs_put(C, e.nodeid);
	{
		struct {
			struct fuse_in_header ih;
			struct fuse_getattr_in in;
		} req = { .ih = { .len = sizeof(req), .opcode = FUSE_GETATTR,
				  .nodeid = FUSE_ROOT_ID } };

		/* Deeper than the ring: exercises waiting for free slots. */
		ok = vfs_run_inflight(C, 1, &req, sizeof(req), 256, 1000, 64);
		CHECK(ok == 1000, "inflight %ld", ok);
	}
	session_close();
out:
	free(data);
	free(back);
}

/* A daemon that dies must turn into errors, not hangs. */
static void test_daemon_death(void)
{
	struct vfs_client_options o = { .timeout_ms = 20000 };
	struct fuse_attr_out ao;
	struct timespec t0, t1;
	int i, err = session_open(&o);

	CHECK(err == 0, "open: %d", err);
	if (err)
		return;
	CHECK_OK(vfs_getattr(C, FUSE_ROOT_ID, VFS_NO_FH, &ao));
	kill(-D.pid, SIGKILL);          /* the daemon and its sandbox child */
	waitpid(D.pid, NULL, 0);
	D.pid = 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* A request racing with the kill may still be served. */
	for (i = 0; i < 3; i++) {
		err = vfs_getattr(C, FUSE_ROOT_ID, VFS_NO_FH, &ao);
		if (err)
			break;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK(err < 0, "getattr after death: %d", err);
	CHECK(t1.tv_sec - t0.tv_sec < 5, "took %ld s", (long)(t1.tv_sec - t0.tv_sec));
	session_close();
}

/* ---- CLI tests ---- */

static int cli_run(const char *out, const char *err, const char *const *args)
{
	const char *argv[16];
	unsigned n = 0;
	int status;
	pid_t pid;

	if (daemon_start(&D, share))
		return -1;
	argv[n++] = cli_path;
	argv[n++] = "--socket";
	argv[n++] = D.sock;
	while (*args && n < 15)
		argv[n++] = *args++;
	argv[n] = NULL;
	pid = fork();
	if (pid == 0) {
		int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		dup2(fo, STDOUT_FILENO);
		dup2(fe, STDERR_FILENO);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	waitpid(pid, &status, 0);
	daemon_stop(&D);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static char *slurp(const char *path, size_t *len)
{
	static char buf[1 << 20];
	int fd = open(path, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

	if (fd >= 0)
		close(fd);
	n = n < 0 ? 0 : n;
	buf[n] = '\0';
	if (len)
		*len = (size_t)n;
	return buf;
}

static void test_cli(void)
{
	char out[400], err[400], local[400], local2[400];
	size_t len = 300000, n;
	unsigned char *data = rand_bytes(len);
	int fd, rc;
	char *s;

	snprintf(out, sizeof(out), "%s/cli.out", t_tmpdir());
	snprintf(err, sizeof(err), "%s/cli.err", t_tmpdir());
	snprintf(local, sizeof(local), "%s/cli.local", t_tmpdir());
	snprintf(local2, sizeof(local2), "%s/cli.local2", t_tmpdir());
	CHECK(mkdir(t_host(share, "clidir"), 0755) == 0, "host mkdir");
	host_write("clidir/alpha", "hello, world\n", 13, 0644);
	host_write("clidir/beta", "", 0, 0600);

	rc = cli_run(out, err, (const char *const[]){ "ls", "/clidir", NULL });
	s = slurp(out, NULL);
	CHECK(rc == 0 && strstr(s, "alpha\n") && strstr(s, "beta\n") &&
	      !strstr(s, "\n.\n"), "ls: rc %d out '%s'", rc, s);
	rc = cli_run(out, err, (const char *const[]){ "ls", "-l", "/clidir", NULL });
	s = slurp(out, NULL);
	CHECK(rc == 0 && strstr(s, "-rw------- ") && strstr(s, " 13 "),
	      "ls -l: rc %d out '%s'", rc, s);
	rc = cli_run(out, err, (const char *const[]){ "cat", "/clidir/alpha", NULL });
	s = slurp(out, NULL);
	CHECK(rc == 0 && !strcmp(s, "hello, world\n"), "cat: rc %d '%s'", rc, s);

	fd = open(local, O_WRONLY | O_CREAT | O_TRUNC, 0640);
	CHECK(fd >= 0 && write(fd, data, len) == (ssize_t)len, "local file");
	close(fd);
	rc = cli_run(out, err, (const char *const[]){ "put", local, "/clidir/up", NULL });
	CHECK(rc == 0, "put rc %d: %s", rc, slurp(err, NULL));
	s = slurp(t_host(share, "clidir/up"), &n);
	CHECK(n == len && !memcmp(s, data, len), "put content (%zu bytes)", n);
	rc = cli_run(out, err, (const char *const[]){ "get", "/clidir/up", local2, NULL });
	s = slurp(local2, &n);
	CHECK(rc == 0 && n == len && !memcmp(s, data, len), "get roundtrip");

	rc = cli_run(out, err, (const char *const[]){ "cat", "/nope", NULL });
	s = slurp(err, NULL);
	CHECK(rc != 0 && !strcmp(s, "virtiofs-client: /nope: No such file or directory\n"),
	      "missing: rc %d err '%s'", rc, s);
	rc = cli_run(out, err, (const char *const[]){ "mkdir", "/clidir/m", NULL });
	CHECK(rc == 0 && access(t_host(share, "clidir/m"), F_OK) == 0, "mkdir");
	rc = cli_run(out, err, (const char *const[]){ "mv", "/clidir/m", "/clidir/m2", NULL });
	CHECK(rc == 0 && access(t_host(share, "clidir/m2"), F_OK) == 0, "mv");
	rc = cli_run(out, err, (const char *const[]){ "rm", "/clidir/m2", NULL });
	CHECK(rc == 0 && access(t_host(share, "clidir/m2"), F_OK) < 0, "rm dir");
	rc = cli_run(out, err, (const char *const[]){ "rm", "/clidir/up", NULL });
	CHECK(rc == 0 && access(t_host(share, "clidir/up"), F_OK) < 0, "rm file");
	rc = cli_run(out, err, (const char *const[]){ "tree", "/clidir", NULL });
	s = slurp(out, NULL);
	CHECK(rc == 0 && strstr(s, "    alpha\n"), "tree: '%s'", s);
	rc = cli_run(out, err, (const char *const[]){ "stat", "/clidir/alpha", NULL });
	s = slurp(out, NULL);
	CHECK(rc == 0 && strstr(s, "Size: 13"), "stat: '%s'", s);
	rc = cli_run(out, err, (const char *const[]){ "df", NULL });
	CHECK(rc == 0, "df rc %d", rc);
	free(data);
}

/* ---- bench tests ---- */

/* Run `virtiofs-client bench ARGS` (after "--socket SOCK" of a fresh
 * daemon on dir when dir is given), stdout and stderr to files. */
static int bench_run(const char *dir, const char *out, const char *err,
		     const char *const *args)
{
	const char *argv[40];
	unsigned n = 0;
	int status;
	pid_t pid;

	if (dir && daemon_start(&D, dir))
		return -1;
	argv[n++] = cli_path;
	argv[n++] = "bench";
	if (dir) {
		argv[n++] = "--socket";
		argv[n++] = D.sock;
		argv[n++] = "--pid";
		argv[n++] = NULL;       /* below */
		if (packed_run())
			argv[n++] = "--packed";
	}
	while (*args && n < 39)
		argv[n++] = *args++;
	argv[n] = NULL;
	pid = fork();
	if (pid == 0) {
		char pidbuf[32];
		int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (dir) {
			snprintf(pidbuf, sizeof(pidbuf), "%ld", (long)D.pid);
			argv[5] = pidbuf;
		}
		dup2(fo, STDOUT_FILENO);
		dup2(fe, STDERR_FILENO);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	waitpid(pid, &status, 0);
	if (dir)
		daemon_stop(&D);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static unsigned count_lines(const char *s, const char *needle)
{
	unsigned n = 0;

	while ((s = strstr(s, needle))) {
		n++;
		s++;
	}
	return n;
}

static void test_bench_options(void)
{
	static const char *const bad[][6] = {
		{ "--native", "/", "--scale", "all", NULL },
		{ "--setup", "/nonexistent", "--scale", "bogus", NULL },
		{ "--setup", "/nonexistent", "--scale", "", NULL },
		{ "--setup", "/nonexistent", "--scale-steps", "0", NULL },
		{ "--setup", "/nonexistent", "--scale-steps", "10,x", NULL },
		{ "--setup", "/nonexistent", "--scale-steps", "10,", NULL },
		{ "--setup", "/nonexistent", "--scale-steps", "-5", NULL },
		{ "--setup", "/nonexistent", "--scale-steps", "10000000", NULL },
		{ "--setup", "/nonexistent", "--handle-steps", "1,2,3,4,5,6,7,8,9", NULL },
		{ "--setup", "/nonexistent", "--scale-cap", "0", NULL },
		{ "--setup", "/nonexistent", "--scale-cap", "5s", NULL },
		{ "--setup", "/nonexistent", "--workloads", "lookup,nosuch", NULL },
	};
	char out[400], err[400];
	unsigned i;
	int rc;

	snprintf(out, sizeof(out), "%s/bench.out", t_tmpdir());
	snprintf(err, sizeof(err), "%s/bench.err", t_tmpdir());
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rc = bench_run(NULL, out, err, bad[i]);
		CHECK(rc == 2, "bench %s %s %s %s: rc %d, not 2", bad[i][0], bad[i][1],
		      bad[i][2], bad[i][3], rc);
	}
	rc = bench_run(NULL, out, err, (const char *const[]){
		"--setup", "/nonexistent", "--scale", "inodes,list",
		"--scale-steps", "5,9999999", "--handle-steps", "7", "--scale-cap", "0.5",
		"--help", NULL });
	CHECK(rc == 0, "good scale options: rc %d: %s", rc, slurp(err, NULL));
}

static void test_bench(void)
{
	char out[400], err[400], json[400], dir[400], path[500];
	struct stat st;
	char *s;
	int rc;

	snprintf(out, sizeof(out), "%s/bench.out", t_tmpdir());
	snprintf(err, sizeof(err), "%s/bench.err", t_tmpdir());
	snprintf(json, sizeof(json), "%s/bench.json", t_tmpdir());
	snprintf(dir, sizeof(dir), "%s/benchshare", t_tmpdir());
	CHECK(mkdir(dir, 0755) == 0, "mkdir %s", dir);

	/* Every workload, two depths, the share made through the daemon. */
	rc = bench_run(dir, out, err, (const char *const[]){
		"--depth", "1,4", "--time", "0.05", "--file-size", "8M",
		"--lookup-files", "20", "--dir-entries", "30", "--label", "t",
		"--json", json, NULL });
	s = slurp(out, NULL);
	CHECK(rc == 0 && !strstr(s, "ERRORS"), "bench: rc %d out '%s' err '%s'", rc, s,
	      slurp(err, NULL));
	s = slurp(json, NULL);
	CHECK(count_lines(s, "{\"daemon\":\"t\"") == 18 &&
	      count_lines(s, "\"errors\":0}") == 18, "bench json: '%s'", s);
	CHECK(strstr(s, "\"workload\":\"getattr\"") && strstr(s, "\"workload\":\"create\"") &&
	      strstr(s, "\"workload\":\"readdir\""), "bench json workloads: '%s'", s);
	/* create's files were removed, and its directories with them */
	rc = bench_run(NULL, out, err, (const char *const[]){ "--native", dir,
		"--depth", "1", "--time", "0.05", "--file-size", "8M",
		"--lookup-files", "20", "--workloads", "getattr,lookup,create,readdir", NULL });
	s = slurp(out, NULL);
	CHECK(rc == 0 && count_lines(s, "native ") == 4 && !strstr(s, "ERRORS"),
	      "bench --native: rc %d out '%s' err '%s'", rc, s, slurp(err, NULL));
	{
		char cmd[600];

		snprintf(cmd, sizeof(cmd), "ls '%s' | grep -q -e '^sf\\.' -e '^nsf\\.'", dir);
		CHECK(system(cmd) != 0, "create left a directory in %s", dir);
	}

	/* --scale: the tree, then each part, small. */
	rc = bench_run(NULL, out, err, (const char *const[]){ "--setup", dir,
		"--scale", "all", "--scale-steps", "40,300", "--handle-steps", "10,50", NULL });
	snprintf(path, sizeof(path), "%s/sc/n/n0000299", dir);
	CHECK(rc == 0 && stat(path, &st) == 0, "setup --scale: rc %d", rc);
	snprintf(path, sizeof(path), "%s/sc/d40/e0000039", dir);
	CHECK(stat(path, &st) == 0, "setup --scale: no %s", path);
	rc = bench_run(dir, out, err, (const char *const[]){ "--scale", "all",
		"--scale-steps", "40,300", "--handle-steps", "10,50", "--time", "0.05",
		"--label", "t", NULL });
	s = slurp(out, NULL);
	CHECK(rc == 0, "bench --scale: rc %d out '%s' err '%s'", rc, s, slurp(err, NULL));
	CHECK(count_lines(s, "inodes   grow         size      300 reached      300") == 1 &&
	      count_lines(s, "inodes   hold ") == 2 &&
	      count_lines(s, "handles  open         size       50 reached       50") == 1 &&
	      count_lines(s, "list     readdirplus  size      300 reached      300") == 1 &&
	      count_lines(s, "list     readdir      size       40 reached       40") == 1 &&
	      !strstr(s, "stopped"), "bench --scale out '%s'", s);
}

int main(int argc, char **argv)
{
	const char *which = getenv("VFS_TEST_DAEMON");
	int err;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if ((!which || !*which || !strcmp(which, "qemu")) &&
	    access("/usr/lib/qemu/virtiofsd", X_OK) < 0) {
		printf("SKIP: /usr/lib/qemu/virtiofsd not installed\n");
		return 77;
	}
	cli_path = argc > 1 ? argv[1] : NULL;
	srand(12345);
	snprintf(share, sizeof(share), "%s/share", t_tmpdir());
	if (mkdir(share, 0755) < 0)
		return 1;
	err = session_open(NULL);
	if (err) {
		printf("cannot start a session: %s\n0 passed, 1 failed\n",
		       strerror(-err));
		t_finish();
		return 1;
	}
	t_run("init", test_init);
	t_run("lookup_getattr", test_lookup_getattr);
	t_run("create_write_read", test_create_write_read);
	t_run("mkdir_readdir", test_mkdir_readdir);
	t_run("rename_link", test_rename_link);
	t_run("symlink_readlink", test_symlink);
	t_run("setattr", test_setattr);
	t_run("xattr", test_xattr);
	t_run("unlink_rmdir", test_unlink_rmdir);
	t_run("statfs", test_statfs);
	t_run("file_misc", test_file_misc);
	t_run("forget_resolve", test_forget_resolve);
	t_run("raw_async", test_raw_async);
	t_run("raw_ring", test_raw_ring);
	session_close();
	t_run("legacy_layout", test_legacy_layout);
	t_run("daemon_death", test_daemon_death);
	if (cli_path) {
		t_run("cli", test_cli);
		t_run("bench_options", test_bench_options);
		t_run("bench", test_bench);
	}
	return t_finish();
}
