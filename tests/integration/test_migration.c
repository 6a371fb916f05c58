/* test_migration.c: live migration between two of our daemons with the
 * user-space client as the vhost-user frontend, as QEMU drives it: dirty
 * logging, rings stopped, the device state saved from daemon A and loaded
 * into daemon B, and the same FUSE session going on on B with the same
 * node ids and file handles. Also the hard cases: a file renamed or
 * deleted on the host, a destination that refuses (the source goes on),
 * hostile streams, file-handles mode, and migrating back.
 *
 * With "--bench N" it prints the size and time of one transfer with N
 * inodes looked up instead of testing. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "virtiofs_client.h"

static char share[300];
static const char *base_args;

static int start(struct daemon *d, const char *extra)
{
	char args[512];

	snprintf(args, sizeof(args), "%s %s", base_args ? base_args : "", extra ? extra : "");
	setenv("VFS_TEST_DAEMON_ARGS", args, 1);
	return daemon_start(d, share);
}

static void host_put(const char *name, const char *text)
{
	int fd = open(t_host(share, name), O_WRONLY | O_CREAT | O_TRUNC, 0644);

	CHECK(fd >= 0, "create %s: %s", name, strerror(errno));
	if (fd >= 0) {
		CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text), "write %s", name);
		close(fd);
	}
}

static char *host_get(const char *name)
{
	static char buf[4096];
	int fd = open(t_host(share, name), O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static void fresh_share(void)
{
	char cmd[700];

	snprintf(share, sizeof(share), "%s/share", t_tmpdir());
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' && mkdir -p '%s/d'", share, share);
	CHECK(system(cmd) == 0, "%s", cmd);
}

/* What the guest holds across the migration. */
struct held {
	uint64_t dir, file, other, dir_fh, file_fh, other_fh;
};

static void hold(struct vfs_client *c, struct held *h)
{
	struct fuse_entry_out e;
	struct fuse_open_out o;

	CHECK_OK(vfs_lookup(c, FUSE_ROOT_ID, "d", &e));
	h->dir = e.nodeid;
	CHECK_OK(vfs_create(c, h->dir, "f", O_RDWR, 0644, 0, &e, &o));
	h->file = e.nodeid;
	h->file_fh = o.fh;
	CHECK_OK(vfs_write(c, h->file, h->file_fh, 0, "before;", 7, 0));
	host_put("d/g", "host file");
	CHECK_OK(vfs_lookup(c, h->dir, "g", &e));
	h->other = e.nodeid;
	CHECK_OK(vfs_open(c, h->other, O_RDONLY, &o));
	h->other_fh = o.fh;
	CHECK_OK(vfs_opendir(c, h->dir, O_RDONLY, &o));
	h->dir_fh = o.fh;
}

/* VFS_TEST_PACKED=1: packed rings (the dirty log of used descriptors). */
static struct vfs_client *open_client(struct daemon *d)
{
	const char *p = getenv("VFS_TEST_PACKED");
	struct vfs_client_options o = { .packed = p && *p && strcmp(p, "0") };
	int err = 0;
	struct vfs_client *c = vfs_client_open(d->sock, &o, &err);

	CHECK(c, "client on %s: %s", d->sock, strerror(-err));
	return c;
}

/* Suspend, save from the current backend, load into dst. */
static int migrate(struct vfs_client *c, struct daemon *dst, size_t *len)
{
	void *data = NULL;
	size_t n = 0;
	int err = vfs_client_suspend(c);

	if (!err)
		err = vfs_client_save_state(c, &data, &n);
	if (!err)
		err = vfs_client_migrate(c, dst->sock, data, n);
	free(data);
	if (len)
		*len = n;
	return err;
}

static bool dir_lists(struct vfs_client *c, uint64_t dir, uint64_t fh, const char *want)
{
	char buf[8192];
	ssize_t n = vfs_readdir(c, dir, fh, 0, buf, sizeof(buf));
	const struct fuse_dirent *de;
	size_t pos = 0;

	while (n > 0 && vfs_dirent_next(buf, (size_t)n, &pos, false, &de, NULL) == 1)
		if (de->namelen == strlen(want) && !memcmp(de->name, want, de->namelen))
			return true;
	return false;
}

/* The main scenario: files open for reading and writing, a directory
 * open, lookups held; dirty logging while the guest runs; the session
 * goes on on B with the same ids. */
static void test_migrate_session(void)
{
	struct daemon a, b;
	struct vfs_client *c;
	struct held h;
	struct fuse_entry_out e;
	struct fuse_attr_out at;
	char buf[64];
	size_t len = 0;

	fresh_share();
	if (start(&a, NULL) || start(&b, NULL))
		return;
	c = open_client(&a);
	if (!c)
		goto out;
	hold(c, &h);
	/* A migration starts: logging on, the guest still running. */
	CHECK_OK(vfs_client_log_start(c));
	vfs_client_log_count(c, true);
	CHECK_OK(vfs_read(c, h.other, h.other_fh, 0, buf, sizeof(buf)));
	CHECK(vfs_client_log_count(c, false) > 0, "a read left no dirty page");
	CHECK(vfs_client_log_test(c, vfs_client_used_ring(c, 1)), "used ring page not logged");
	CHECK_OK(vfs_write(c, h.file, h.file_fh, 7, "during;", 7, 0));

	CHECK_OK(migrate(c, &b, &len));
	CHECK(len > 0, "empty state");
	/* On B: the same fhs and node ids, no new INIT. */
	CHECK_OK(vfs_write(c, h.file, h.file_fh, 14, "after;", 6, 0));
	CHECK_OK(vfs_fsync(c, h.file, h.file_fh, false));
	CHECK(!strcmp(host_get("d/f"), "before;during;after;"), "host has '%s'",
	      host_get("d/f"));
	memset(buf, 0, sizeof(buf));
	CHECK(vfs_read(c, h.other, h.other_fh, 0, buf, sizeof(buf)) == 9 &&
	      !strcmp(buf, "host file"), "read on B: '%s'", buf);
	CHECK_OK(vfs_getattr(c, h.file, VFS_NO_FH, &at));
	CHECK(dir_lists(c, h.dir, h.dir_fh, "f"), "directory handle does not list f");
	CHECK_OK(vfs_lookup(c, h.dir, "f", &e));
	CHECK(e.nodeid == h.file, "f is node %llu on B, %llu on A", (unsigned long long)e.nodeid,
	      (unsigned long long)h.file);
	CHECK_OK(vfs_lookup(c, FUSE_ROOT_ID, "d", &e));
	CHECK(e.nodeid == h.dir, "d changed its node id");
	/* New ids on B are new. */
	host_put("new", "x");
	CHECK_OK(vfs_lookup(c, FUSE_ROOT_ID, "new", &e));
	CHECK(e.nodeid > h.other && e.nodeid != h.file, "node id %llu reused",
	      (unsigned long long)e.nodeid);
	CHECK_OK(vfs_release(c, h.file, h.file_fh, O_RDWR));
	CHECK_OK(vfs_releasedir(c, h.dir, h.dir_fh, 0));
	vfs_client_close(c);
out:
	daemon_stop(&a);
	daemon_stop(&b);
}

/* A file renamed on the host during the migration: found where it is now. */
static void test_renamed_on_host(void)
{
	struct daemon a, b;
	struct vfs_client *c;
	struct held h;
	struct fuse_entry_out e;
	char buf[64] = { 0 };
	char from[400], to[400];

	fresh_share();
	if (start(&a, NULL) || start(&b, NULL))
		return;
	c = open_client(&a);
	if (!c)
		goto out;
	hold(c, &h);
	CHECK_OK(vfs_client_suspend(c));
	snprintf(from, sizeof(from), "%s", t_host(share, "d/g"));
	snprintf(to, sizeof(to), "%s", t_host(share, "moved-g"));
	CHECK(rename(from, to) == 0, "rename: %s", strerror(errno));
	CHECK_OK(migrate(c, &b, NULL));
	CHECK(vfs_read(c, h.other, h.other_fh, 0, buf, sizeof(buf)) == 9, "read renamed file");
	CHECK_OK(vfs_lookup(c, FUSE_ROOT_ID, "moved-g", &e));
	CHECK(e.nodeid == h.other, "renamed file is node %llu, was %llu",
	      (unsigned long long)e.nodeid, (unsigned long long)h.other);
	vfs_client_close(c);
out:
	daemon_stop(&a);
	daemon_stop(&b);
}

/* A file deleted on the host while the guest holds it open. abort: the
 * destination refuses, the source goes on; guest-error: the rest goes
 * over and that file gives EIO. */
static void deleted_on_host(bool guest_error)
{
	struct daemon a, b;
	struct vfs_client *c;
	struct held h;
	char buf[64] = { 0 };
	int err;

	fresh_share();
	if (start(&a, NULL) ||
	    start(&b, guest_error ? "--migration-on-error=guest-error" : NULL))
		return;
	c = open_client(&a);
	if (!c)
		goto out;
	hold(c, &h);
	CHECK(unlink(t_host(share, "d/g")) == 0, "unlink");
	err = migrate(c, &b, NULL);
	if (!guest_error) {
		CHECK(err < 0, "the destination took a state with a lost file");
		/* The source goes on with everything, the deleted file too. */
		CHECK_OK(vfs_client_resume(c));
		CHECK(vfs_read(c, h.other, h.other_fh, 0, buf, sizeof(buf)) == 9,
		      "source lost the open file");
		CHECK_OK(vfs_write(c, h.file, h.file_fh, 7, "still-a;", 8, 0));
		CHECK(!strcmp(host_get("d/f"), "before;still-a;"), "host has '%s'",
		      host_get("d/f"));
	} else {
		CHECK_OK(err);
		CHECK(vfs_read(c, h.other, h.other_fh, 0, buf, sizeof(buf)) == -EIO,
		      "lost file's handle is not EIO");
		CHECK(vfs_getattr(c, h.other, VFS_NO_FH, &(struct fuse_attr_out){ 0 }) == -EIO,
		      "lost inode is not EIO");
		CHECK_OK(vfs_write(c, h.file, h.file_fh, 7, "on-b;", 5, 0));
		CHECK(!strcmp(host_get("d/f"), "before;on-b;"), "host has '%s'", host_get("d/f"));
	}
	vfs_client_close(c);
out:
	daemon_stop(&a);
	daemon_stop(&b);
}

static void test_deleted_abort(void)
{
	deleted_on_host(false);
}

static void test_deleted_guest_error(void)
{
	deleted_on_host(true);
}

/* A name the guest looked up is removed on the host while another link
 * to the file is left: /proc/self/fd then says "d/f (deleted)", and a
 * file of that very name may exist. The source resolves such a path
 * again and sends the inode as lost rather than let B open the decoy. */
static void test_removed_name(void)
{
	struct daemon a, b;
	struct vfs_client *c;
	struct fuse_entry_out e;
	struct fuse_attr_out attr;
	uint64_t f;

	fresh_share();
	host_put("d/f", "linked\n");
	if (start(&a, NULL) || start(&b, "--migration-on-error=guest-error"))
		return;
	c = open_client(&a);
	if (!c)
		goto out;
	CHECK_OK(vfs_lookup(c, FUSE_ROOT_ID, "d", &e));
	CHECK_OK(vfs_lookup(c, e.nodeid, "f", &e));
	f = e.nodeid;
	CHECK(link(t_host(share, "d/f"), t_host(share, "d/g")) == 0, "link");
	CHECK(unlink(t_host(share, "d/f")) == 0, "unlink");
	host_put("d/f (deleted)", "decoy\n");
	CHECK_OK(migrate(c, &b, NULL));
	CHECK(vfs_getattr(c, f, VFS_NO_FH, &attr) == -EIO,
	      "B serves the inode whose name was removed (as the decoy?)");
	vfs_client_close(c);
out:
	daemon_stop(&a);
	daemon_stop(&b);
}

/* file-handles mode: even a deleted, open file goes over. A destination
 * not started in that mode does not open handles at all. */
static void test_file_handles(void)
{
	struct daemon a, b, refuse;
	struct vfs_client *c;
	struct held h;
	char buf[64] = { 0 };
	void *data = NULL;
	size_t n = 0;

	if (geteuid() != 0)
		return;	/* open_by_handle_at needs CAP_DAC_READ_SEARCH */
	fresh_share();
	if (start(&a, "--migration-mode=file-handles") || start(&refuse, NULL) ||
	    start(&b, "--migration-mode=file-handles"))
		return;
	c = open_client(&a);
	if (!c)
		goto out;
	hold(c, &h);
	CHECK(unlink(t_host(share, "d/g")) == 0, "unlink");
	CHECK_OK(vfs_client_suspend(c));
	CHECK_OK(vfs_client_save_state(c, &data, &n));
	CHECK(vfs_client_migrate(c, refuse.sock, data, n) < 0,
	      "a find-paths daemon opened file handles");
	CHECK_OK(vfs_client_migrate(c, b.sock, data, n));
	CHECK(vfs_read(c, h.other, h.other_fh, 0, buf, sizeof(buf)) == 9,
	      "deleted file not migrated by handle");
	CHECK_OK(vfs_write(c, h.file, h.file_fh, 7, "fh;", 3, 0));
	CHECK(!strcmp(host_get("d/f"), "before;fh;"), "host has '%s'", host_get("d/f"));
	free(data);
	vfs_client_close(c);
out:
	daemon_stop(&a);
	daemon_stop(&refuse);
	daemon_stop(&b);
}

/* A -> B -> A': there and back again, on fresh daemons. */
static void test_migrate_back(void)
{
	struct daemon a, b, a2;
	struct vfs_client *c;
	struct held h;
	struct fuse_entry_out e;

	fresh_share();
	if (start(&a, "--migration-verify-handles --migration-confirm-paths") ||
	    start(&b, "--migration-verify-handles") || start(&a2, NULL))
		return;
	c = open_client(&a);
	if (!c)
		goto out;
	hold(c, &h);
	CHECK_OK(migrate(c, &b, NULL));
	CHECK_OK(vfs_write(c, h.file, h.file_fh, 7, "b;", 2, 0));
	CHECK_OK(migrate(c, &a2, NULL));
	CHECK_OK(vfs_write(c, h.file, h.file_fh, 9, "a2;", 3, 0));
	CHECK(!strcmp(host_get("d/f"), "before;b;a2;"), "host has '%s'", host_get("d/f"));
	CHECK_OK(vfs_lookup(c, h.dir, "g", &e));
	CHECK(e.nodeid == h.other, "g changed its node id");
	vfs_client_close(c);
out:
	daemon_stop(&a);
	daemon_stop(&b);
	daemon_stop(&a2);
}

static bool log_has(const struct daemon *d, const char *text)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "grep -qF '%s' '%s'", text, d->log);
	return d->log[0] && system(cmd) == 0;
}

/* POSIX lock owners go over with their pid; the locks themselves cannot
 * be taken again while the source still holds them (docs/migration.md),
 * and are the owner's to take again. */
static void test_locks(void)
{
	struct daemon a, b;
	struct vfs_client *c;
	struct held h;
	struct fuse_file_lock lk = { .start = 0, .end = 9, .type = F_WRLCK, .pid = 1234 }, out;

	fresh_share();
	if (start(&a, "-o posix_lock") || start(&b, "-o posix_lock"))
		return;
	c = open_client(&a);
	if (!c)
		goto out;
	hold(c, &h);
	CHECK_OK(vfs_setlk(c, h.file, h.file_fh, 77, &lk, false));
	CHECK_OK(migrate(c, &b, NULL));
	if (b.log[0])
		CHECK(log_has(&b, "1 lock owners (0 ranges taken again, 1 not)"),
		      "B does not report the lock owner it rebuilt");
	/* the source has let go now: the owner takes its lock again */
	CHECK_OK(vfs_setlk(c, h.file, h.file_fh, 77, &lk, false));
	CHECK_OK(vfs_getlk(c, h.file, h.file_fh, 88, &lk, &out));
	CHECK(out.type == F_WRLCK && out.pid == 1234, "another owner sees type %u pid %u",
	      out.type, out.pid);
	vfs_client_close(c);
out:
	daemon_stop(&a);
	daemon_stop(&b);
}

/* One destination per try: a refused load fails the migration, and the
 * frontend then drops that daemon, which must exit cleanly. */
static int try_load(struct vfs_client *c, const void *data, size_t n)
{
	struct daemon b;
	int err = start(&b, NULL);

	if (!err)
		err = vfs_client_migrate(c, b.sock, data, n);
	else
		err = 1;	/* counts as taken: the check fails */
	if (err >= 0)
		return err;
	daemon_stop(&b);
	return err;
}

/* Damaged streams are refused, and the source goes on. */
static void test_hostile_streams(void)
{
	struct daemon a, b;
	struct vfs_client *c;
	struct held h;
	void *data = NULL;
	size_t n = 0;
	unsigned char *bad;

	fresh_share();
	if (start(&a, NULL))
		return;
	c = open_client(&a);
	if (!c)
		goto out;
	hold(c, &h);
	CHECK_OK(vfs_client_suspend(c));
	CHECK_OK(vfs_client_save_state(c, &data, &n));
	bad = malloc(n + 16);
	if (bad && data) {
		size_t cuts[] = { 0, 1, 8, 16, n / 2, n - 1 };

		for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++)
			CHECK(try_load(c, data, cuts[i]) < 0, "truncated to %zu taken", cuts[i]);
		for (size_t off = 0; off < n; off += n / 5 + 1) {
			memcpy(bad, data, n);
			bad[off] ^= 0x40;
			CHECK(try_load(c, bad, n) < 0, "flipped byte %zu taken", off);
		}
		memcpy(bad, data, n);
		memcpy(bad + n, "trailing garbage", 16);
		CHECK(try_load(c, bad, n + 16) < 0, "trailing bytes taken");
		/* The source still serves the guest. */
		CHECK_OK(vfs_client_resume(c));
		CHECK_OK(vfs_write(c, h.file, h.file_fh, 7, "src;", 4, 0));
		CHECK_OK(vfs_client_suspend(c));
		free(data);
		data = NULL;
		CHECK_OK(vfs_client_save_state(c, &data, &n));
		/* and the real state goes over */
		if (!start(&b, NULL)) {
			CHECK_OK(vfs_client_migrate(c, b.sock, data, n));
			CHECK_OK(vfs_write(c, h.file, h.file_fh, 11, "ok;", 3, 0));
			CHECK(!strcmp(host_get("d/f"), "before;src;ok;"), "host has '%s'",
			      host_get("d/f"));
			vfs_client_close(c);
			c = NULL;
			daemon_stop(&b);
		}
	}
	free(bad);
	free(data);
	vfs_client_close(c);
out:
	daemon_stop(&a);
}

/* With --inode-file-handles the table keeps only a bounded cache of fds
 * (here about 330, from --rlimit-nofile=512): most of the 1500 inodes
 * have none when the source describes them, and the destination holds
 * them by handle too. Every node id answers on B, with its own file. */
static void test_uncached_inodes(void)
{
	enum { N = 1500 };
	static uint64_t ids[N];
	struct daemon a, b;
	struct vfs_client *c;
	struct fuse_entry_out e;
	struct fuse_attr_out attr;
	char name[64];
	uint64_t dir;
	unsigned bad = 0;

	if (!strstr(base_args, "--inode-file-handles=") ||
	    strstr(base_args, "--inode-file-handles=never"))
		return;	/* without handles every inode holds an fd: the other tests */
	fresh_share();
	for (unsigned i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "d/u%u", i);
		close(open(t_host(share, name), O_WRONLY | O_CREAT, 0644));
	}
	if (start(&a, "--rlimit-nofile=512") || start(&b, "--rlimit-nofile=512"))
		return;
	c = open_client(&a);
	if (!c)
		goto out;
	CHECK_OK(vfs_lookup(c, FUSE_ROOT_ID, "d", &e));
	dir = e.nodeid;
	for (unsigned i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "u%u", i);
		CHECK_OK(vfs_lookup(c, dir, name, &e));
		ids[i] = e.nodeid;
	}
	CHECK_OK(migrate(c, &b, NULL));
	for (unsigned i = 0; i < N; i++) {
		struct stat st;

		snprintf(name, sizeof(name), "d/u%u", i);
		if (vfs_getattr(c, ids[i], 0, &attr) || stat(t_host(share, name), &st) ||
		    attr.attr.ino != st.st_ino)
			bad++;
	}
	CHECK(bad == 0, "%u of %u node ids do not answer on B as their file", bad, (unsigned)N);
	vfs_client_close(c);
out:
	daemon_stop(&a);
	daemon_stop(&b);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Size and time of one transfer with n inodes looked up (and 100 open). */
static int bench(unsigned n)
{
	struct daemon a, b;
	struct vfs_client *c;
	struct fuse_entry_out e;
	struct fuse_open_out o;
	char name[128], dir[32];
	double t0, t1, t2, t3;
	void *data = NULL;
	size_t len = 0;
	int err;

	fresh_share();
	for (unsigned i = 0; i < n; i++) {
		snprintf(dir, sizeof(dir), "d%u", i / 1000);
		snprintf(name, sizeof(name), "%s/file-%u", dir, i);
		if (i % 1000 == 0)
			mkdir(t_host(share, dir), 0755);
		close(open(t_host(share, name), O_WRONLY | O_CREAT, 0644));
	}
	if (start(&a, NULL) || start(&b, NULL))
		return 1;
	c = open_client(&a);
	if (!c)
		return 1;
	for (unsigned i = 0; i < n; i++) {
		uint64_t parent;

		snprintf(dir, sizeof(dir), "d%u", i / 1000);
		snprintf(name, sizeof(name), "file-%u", i);
		CHECK_OK(vfs_lookup(c, FUSE_ROOT_ID, dir, &e));
		parent = e.nodeid;
		CHECK_OK(vfs_lookup(c, parent, name, &e));
		if (i < 100)
			CHECK_OK(vfs_open(c, e.nodeid, O_RDWR, &o));
	}
	t0 = now_s();
	err = vfs_client_suspend(c);
	t1 = now_s();
	if (!err)
		err = vfs_client_save_state(c, &data, &len);
	t2 = now_s();
	if (!err)
		err = vfs_client_migrate(c, b.sock, data, len);
	t3 = now_s();
	printf("migration-bench: %u inodes: %zu bytes (%.1f bytes/inode), stop %.1f ms, "
	       "save %.1f ms, load + restart %.1f ms: %s\n",
	       n, len, n ? (double)len / n : 0.0, (t1 - t0) * 1e3, (t2 - t1) * 1e3,
	       (t3 - t2) * 1e3, err ? strerror(-err) : "ok");
	free(data);
	vfs_client_close(c);
	daemon_stop(&a);
	daemon_stop(&b);
	return err ? 1 : 0;
}

int main(int argc, char **argv)
{
	base_args = getenv("VFS_TEST_DAEMON_ARGS");
	base_args = base_args ? strdup(base_args) : "";
	setenv("VFS_TEST_DAEMON", "ours", 0);
	if (argc == 3 && !strcmp(argv[1], "--bench"))
		return bench((unsigned)strtoul(argv[2], NULL, 10)) || t_finish();
	t_run("migrate_session", test_migrate_session);
	t_run("renamed_on_host", test_renamed_on_host);
	t_run("deleted_abort", test_deleted_abort);
	t_run("deleted_guest_error", test_deleted_guest_error);
	t_run("removed_name", test_removed_name);
	t_run("file_handles", test_file_handles);
	t_run("migrate_back", test_migrate_back);
	t_run("hostile_streams", test_hostile_streams);
	t_run("locks", test_locks);
	t_run("uncached_inodes", test_uncached_inodes);
	return t_finish();
}
