/* test_options.c: what each of our daemon's behaviour options does, seen
 * through the user-space driver: every test starts a daemon with the
 * option (and, where it proves something, one without it) and checks the
 * difference on the wire and on the host. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "vfs_internal.h"
#include "virtiofs_client.h"

static char share[300];
/* The confinement this run uses (meson's VFS_TEST_DAEMON_ARGS). */
static char base_args[512];

/* A daemon with base_args plus extra, and a client on it. */
static struct vfs_client *session_with(struct daemon *d, const char *extra,
				       struct vfs_client_options o)
{
	char args[1024];
	int err;

	snprintf(args, sizeof(args), "%s %s", base_args, extra ? extra : "");
	setenv("VFS_TEST_DAEMON_ARGS", args, 1);
	err = daemon_start(d, share);
	setenv("VFS_TEST_DAEMON_ARGS", base_args, 1);
	if (err) {
		CHECK(0, "daemon_start (%s): %s", args, strerror(-err));
		return NULL;
	}
	if (!o.timeout_ms)
		o.timeout_ms = 5000;
	struct vfs_client *c = vfs_client_open(d->sock, &o, &err);
	CHECK(c != NULL, "vfs_client_open (%s): %s", args, strerror(-err));
	if (!c)
		daemon_stop(d);
	return c;
}

static struct vfs_client *session(struct daemon *d, const char *extra)
{
	return session_with(d, extra, (struct vfs_client_options){ .request_queues = 1 });
}

static void session_end(struct daemon *d, struct vfs_client *c)
{
	vfs_client_close(c);
	daemon_stop(d);
}

static void host_file(const char *name, const char *content, mode_t mode)
{
	const char *p = t_host(share, name);
	int fd;

	unlink(p);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);
	CHECK(fd >= 0 && write(fd, content, strlen(content)) == (ssize_t)strlen(content),
	      "host create %s: %s", p, strerror(errno));
	if (fd >= 0) {
		fchmod(fd, mode);
		close(fd);
	}
}

static uint64_t lookup(struct vfs_client *c, const char *name)
{
	struct fuse_entry_out e;
	int err = vfs_lookup(c, FUSE_ROOT_ID, name, &e);

	CHECK(err == 0, "LOOKUP %s: %s", name, strerror(-err));
	return err ? 0 : e.nodeid;
}

/* ---------------------------------------------------------------- */
/* --preserve-noatime */

#define OLD_ATIME 1000000000	/* 2001: relatime updates anything older than a day */

/* The host's atime of name after the guest opens it with flags and reads
 * it through a daemon started with extra. */
static time_t atime_after_read(const char *extra, const char *name, uint32_t flags)
{
	struct timespec times[2] = { { .tv_sec = OLD_ATIME }, { .tv_nsec = UTIME_OMIT } };
	struct fuse_open_out oo;
	struct daemon d;
	struct stat st;
	char buf[16];

	host_file(name, "some data\n", 0644);
	CHECK(utimensat(AT_FDCWD, t_host(share, name), times, 0) == 0, "utimensat");
	struct vfs_client *c = session(&d, extra);
	if (!c)
		return -1;
	uint64_t node = lookup(c, name);
	int err = vfs_open(c, node, flags, &oo);
	CHECK(err == 0, "OPEN %#x: %s", flags, strerror(-err));
	if (err == 0) {
		CHECK(vfs_read(c, node, oo.fh, 0, buf, sizeof(buf)) == 10, "READ");
		vfs_release(c, node, oo.fh, flags);
	}
	session_end(&d, c);
	CHECK(stat(t_host(share, name), &st) == 0, "stat");
	return st.st_atime;
}

static void test_preserve_noatime(void)
{
	/* This host file system must move atime on a read at all. */
	if (atime_after_read("--preserve-noatime", "na-control", O_RDONLY) == OLD_ATIME) {
		printf("SKIP preserve_noatime: %s does not update atime on reads\n", share);
		return;
	}
	time_t kept = atime_after_read("--preserve-noatime", "na-kept", O_RDONLY | O_NOATIME);
	CHECK(kept == OLD_ATIME, "--preserve-noatime: O_NOATIME read moved atime to %lld",
	      (long long)kept);
	/* The default, as the Rust virtiofsd: O_NOATIME is dropped. */
	time_t dropped = atime_after_read(NULL, "na-dropped", O_RDONLY | O_NOATIME);
	CHECK(dropped != OLD_ATIME, "without --preserve-noatime the O_NOATIME read kept atime");
}

int main(void)
{
	const char *b = getenv("VFS_TEST_DAEMON_ARGS");

	snprintf(base_args, sizeof(base_args), "%s", b ? b : "");
	snprintf(share, sizeof(share), "%s/share", t_tmpdir());
	mkdir(share, 0777);
	t_run("preserve_noatime", test_preserve_noatime);
	return t_finish();
}
