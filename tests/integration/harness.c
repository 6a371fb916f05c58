/* harness.c: see harness.h. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

int t_failed_checks;
static int passed, failed;
static char tmpdir[160];
static pid_t live_daemon;       /* killed on any exit */

static void cleanup_daemon(void)
{
	if (live_daemon > 0) {
		kill(-live_daemon, SIGKILL);
		waitpid(live_daemon, NULL, 0);
		live_daemon = 0;
	}
}

static void on_signal(int sig)
{
	if (live_daemon > 0)
		kill(-live_daemon, SIGKILL);
	signal(sig, SIG_DFL);
	raise(sig);
}

const char *t_tmpdir(void)
{
	if (tmpdir[0])
		return tmpdir;
	snprintf(tmpdir, sizeof(tmpdir), "%s/vfs-it-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		exit(1);
	}
	atexit(cleanup_daemon);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGPIPE, SIG_IGN);
	return tmpdir;
}

const char *t_host(const char *share, const char *name)
{
	static char buf[4][512];
	static unsigned n;
	char *p = buf[n++ % 4];

	snprintf(p, sizeof(buf[0]), "%s/%s", share, name);
	return p;
}

static unsigned split_args(char *s, char **argv, unsigned max)
{
	unsigned n = 0;
	char *tok, *save;

	for (tok = strtok_r(s, " ", &save); tok && n < max;
	     tok = strtok_r(NULL, " ", &save))
		argv[n++] = tok;
	return n;
}

/* "ours", an absolute path, or one relative to the current directory or
 * to the source tree (meson runs tests from the build directory, and
 * people write build/src/daemon/virtiofsd). */
static char *daemon_path(const char *which)
{
	static char buf[1024];

	if (!strcmp(which, "ours"))
		return (char *)OUR_DAEMON_PATH;
	if (which[0] == '/' || access(which, X_OK) == 0)
		return (char *)which;
	snprintf(buf, sizeof(buf), "%s/%s", VFS_SOURCE_ROOT, which);
	return buf;
}

static void daemon_exec(struct daemon *d)
{
	const char *which = getenv("VFS_TEST_DAEMON");
	char *extra = getenv("VFS_TEST_DAEMON_ARGS");
	char sockarg[300], srcarg[600], *argv[40];
	unsigned n = 0;
	int nul;

	if (!which || !*which || !strcmp(which, "qemu")) {
		argv[n++] = "/usr/lib/qemu/virtiofsd";
		snprintf(sockarg, sizeof(sockarg), "--socket-path=%s", d->sock);
		snprintf(srcarg, sizeof(srcarg), "source=%s", d->dir);
		argv[n++] = sockarg;
		argv[n++] = "-o";
		argv[n++] = srcarg;
		argv[n++] = "-o";
		argv[n++] = "cache=auto";
		argv[n++] = "-o";
		argv[n++] = "xattr";
		/* Its seccomp filter kills it when a thread pool is used. */
		argv[n++] = "--thread-pool-size=0";
	} else {
		argv[n++] = daemon_path(which);
		snprintf(sockarg, sizeof(sockarg), "--socket-path=%s", d->sock);
		snprintf(srcarg, sizeof(srcarg), "--shared-dir=%s", d->dir);
		argv[n++] = sockarg;
		argv[n++] = srcarg;
		argv[n++] = "--cache=auto";
		argv[n++] = "--xattr";
	}
	if (extra)
		n += split_args(strdup(extra), argv + n, 30);
	/* Its own process group: QEMU's daemon forks a sandboxed child that
	 * does the work, and both must go when we kill the daemon. */
	setpgid(0, 0);
	argv[n] = NULL;
	/* Keep the daemon's chatter out of the test's output unless asked. */
	if (!getenv("VFS_TEST_VERBOSE")) {
		nul = open("/dev/null", O_WRONLY);
		dup2(nul, STDOUT_FILENO);
		dup2(nul, STDERR_FILENO);
	}
	execv(argv[0], argv);
	_exit(127);
}

static bool sock_ready(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;

	/* Only check that it exists: connecting would use up QEMU's
	 * daemon, which serves a single connection. */
	(void)sa;
	return stat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

int daemon_start(struct daemon *d, const char *dir)
{
	static unsigned seq;
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int i, status;

	memset(d, 0, sizeof(*d));
	d->dir = dir;
	snprintf(d->sock, sizeof(d->sock), "%s/vfs-%u.sock", t_tmpdir(), seq++);
	unlink(d->sock);
	d->pid = fork();
	if (d->pid < 0)
		return -errno;
	if (d->pid == 0)
		daemon_exec(d);
	setpgid(d->pid, d->pid);        /* no race with the child's own call */
	live_daemon = d->pid;
	for (i = 0; i < 1000; i++) {           /* at most ~10 s */
		if (sock_ready(d->sock))
			return 0;
		if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
			live_daemon = 0;
			d->pid = 0;
			fprintf(stderr, "daemon exited early (status %#x)\n", status);
			return -ECHILD;
		}
		nanosleep(&ts, NULL);
	}
	daemon_stop(d);
	return -ETIMEDOUT;
}

void daemon_stop(struct daemon *d)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int i;

	if (d->pid <= 0)
		return;
	/* QEMU's daemon exits by itself after the frontend disconnects;
	 * give it a moment, then insist. */
	for (i = 0; i < 100; i++) {
		if (waitpid(d->pid, NULL, WNOHANG) == d->pid)
			goto out;
		nanosleep(&ts, NULL);
	}
	kill(-d->pid, SIGTERM);
	for (i = 0; i < 100; i++) {
		if (waitpid(d->pid, NULL, WNOHANG) == d->pid)
			goto out;
		nanosleep(&ts, NULL);
	}
	kill(-d->pid, SIGKILL);
	waitpid(d->pid, NULL, 0);
out:
	if (live_daemon == d->pid)
		live_daemon = 0;
	d->pid = 0;
	unlink(d->sock);
}

void t_run(const char *name, void (*fn)(void))
{
	int before = t_failed_checks;

	fprintf(stderr, "-- %s\n", name);
	fn();
	if (t_failed_checks == before) {
		passed++;
		printf("PASS %s\n", name);
	} else {
		failed++;
		printf("FAIL %s\n", name);
	}
	fflush(stdout);
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(path);
	return unlink(path);
}

int t_finish(void)
{
	cleanup_daemon();
	if (tmpdir[0] && !getenv("VFS_TEST_KEEP"))
		nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
