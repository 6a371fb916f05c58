/* harness.c: see harness.h. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

int t_failed_checks;
static int passed, failed;
static int checks_in_tests;     /* failed checks counted by t_run */
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

/* VFS_TEST_DAEMON_AS=UID:GID[:GROUP]: the daemon runs as that user, with
 * GROUP as its one supplementary group or none (as setpriv --clear-groups
 * would start it). */
static void daemon_become_user(void)
{
	const char *as = getenv("VFS_TEST_DAEMON_AS");
	unsigned uid, gid, group;
	gid_t groups[1];
	int n;

	if (!as || !*as)
		return;
	n = sscanf(as, "%u:%u:%u", &uid, &gid, &group);
	groups[0] = n == 3 ? group : 0;
	if (n < 2 || setgroups(n == 3 ? 1 : 0, groups) < 0 || setresgid(gid, gid, gid) < 0 ||
	    setresuid(uid, uid, uid) < 0) {
		fprintf(stderr, "VFS_TEST_DAEMON_AS=%s: %s\n", as, strerror(errno));
		_exit(126);
	}
}

static void daemon_exec(struct daemon *d)
{
	const char *which = getenv("VFS_TEST_DAEMON");
	char *extra = getenv("VFS_TEST_DAEMON_ARGS");
	char sockarg[300], srcarg[600], *argv[40];
	unsigned n = 0;
	int out, exe;

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
	/* Keep the daemon's chatter out of the test's output, in a log that
	 * daemon_stop reads for sanitizer reports. */
	if (d->log[0]) {
		out = open(d->log, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
		if (out < 0)
			_exit(126);
		dup2(out, STDOUT_FILENO);
		dup2(out, STDERR_FILENO);
	}
	/* Opened while still root: a user the daemon runs as may not be
	 * able to reach a build tree under a private directory (/root). */
	exe = open(argv[0], O_PATH | O_CLOEXEC);
	if (exe < 0)
		_exit(127);
	daemon_become_user();
	syscall(SYS_execveat, exe, "", argv, environ, AT_EMPTY_PATH);
	_exit(127);
}

bool t_sanitizer_report(const char *path)
{
	static const char *const marks[] = {
		"WARNING: ThreadSanitizer", "ThreadSanitizer: reported", "FATAL: ThreadSanitizer",
		"ERROR: AddressSanitizer", "ERROR: LeakSanitizer", ": runtime error: ",
		"SUMMARY: UndefinedBehaviorSanitizer",
	};
	char buf[8192];
	size_t keep = 64, have = 0;
	bool found = false;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	/* Chunks overlap by a little, so a mark cut in two is still found. */
	while (!found && (n = read(fd, buf + have, sizeof(buf) - 1 - have)) > 0) {
		have += (size_t)n;
		buf[have] = 0;
		for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]) && !found; i++)
			found = memmem(buf, have, marks[i], strlen(marks[i])) != NULL;
		if (have > keep) {
			memmove(buf, buf + have - keep, keep);
			have = keep;
		}
	}
	close(fd);
	return found;
}

static void print_file(const char *path, size_t max)
{
	char buf[4096];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t done = 0;
	ssize_t n;

	if (fd < 0)
		return;
	fprintf(stderr, "  --- %s ---\n", path);
	fflush(stderr);
	while (done < max && (n = read(fd, buf, sizeof(buf))) > 0) {
		if (write(STDERR_FILENO, buf, (size_t)n) < 0)
			break;
		done += (size_t)n;
	}
	close(fd);
	fprintf(stderr, "  --- end of %s ---\n", path);
}

/* A sanitizer's report in the daemon's log fails the test. The log is
 * renamed once read, so t_finish only looks at the ones never read. */
static void daemon_check_log(struct daemon *d)
{
	char checked[300];

	if (!d->log[0])
		return;
	if (t_sanitizer_report(d->log)) {
		CHECK(0, "the daemon's log holds a sanitizer report");
		print_file(d->log, 64 * 1024);
	}
	snprintf(checked, sizeof(checked), "%s.checked", d->log);
	rename(d->log, checked);
	d->log[0] = 0;
}

/* The exit code TSAN_OPTIONS gives a daemon that reported (exitcode=66,
 * TSan's default): nothing else in the daemon exits with it. */
#define SANITIZER_EXIT 66

static void daemon_check_status(int status)
{
	CHECK(!(WIFEXITED(status) && WEXITSTATUS(status) == SANITIZER_EXIT),
	      "the daemon exited with status %d: a sanitizer report", SANITIZER_EXIT);
}

/* Whether a socket bound at path (in our network namespace) is not yet
 * listening: QEMU's daemon binds, then listens, and a connection in
 * between is refused. /proc/net/unix shows each socket's bind path and
 * its listening flag (__SO_ACCEPTCON). Ours listens before it renames the
 * socket into place, so the final path has no entry of its own. */
static bool sock_bound_not_listening(const char *path)
{
	enum { SO_ACCEPTCON_FLAG = 0x10000 };
	char line[PATH_MAX + 128];
	bool waiting = false;
	FILE *f = fopen("/proc/net/unix", "re");

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		unsigned long flags;
		char bound[PATH_MAX];

		if (sscanf(line, "%*s %*s %*s %lx %*s %*s %*s %4095s", &flags, bound) != 2)
			continue;
		if (!strcmp(bound, path) && !(flags & SO_ACCEPTCON_FLAG))
			waiting = true;
	}
	fclose(f);
	return waiting;
}

static bool sock_ready(const char *path)
{
	struct stat st;

	/* Never connect to find out: that would use up QEMU's daemon,
	 * which serves a single connection. */
	return stat(path, &st) == 0 && S_ISSOCK(st.st_mode) && !sock_bound_not_listening(path);
}

int daemon_start(struct daemon *d, const char *dir)
{
	static unsigned seq;
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int i, status;

	memset(d, 0, sizeof(*d));
	d->dir = dir;
	snprintf(d->sock, sizeof(d->sock), "%s/vfs-%u.sock", t_tmpdir(), seq);
	if (!getenv("VFS_TEST_VERBOSE"))
		snprintf(d->log, sizeof(d->log), "%s/daemon-%u.log", t_tmpdir(), seq);
	seq++;
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
			daemon_check_status(status);
			if (d->log[0])
				print_file(d->log, 16 * 1024);
			daemon_check_log(d);
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
	int i, status;

	if (d->pid <= 0)
		goto check;
	/* Our daemon and QEMU's exit by themselves after the frontend
	 * disconnects; give them a moment, then insist. */
	for (i = 0; i < 100; i++) {
		if (waitpid(d->pid, &status, WNOHANG) == d->pid)
			goto reaped;
		nanosleep(&ts, NULL);
	}
	kill(-d->pid, SIGTERM);
	for (i = 0; i < 100; i++) {
		if (waitpid(d->pid, &status, WNOHANG) == d->pid)
			goto reaped;
		nanosleep(&ts, NULL);
	}
	kill(-d->pid, SIGKILL);
	waitpid(d->pid, &status, 0);
reaped:
	daemon_check_status(status);
	if (live_daemon == d->pid)
		live_daemon = 0;
	d->pid = 0;
	unlink(d->sock);
check:
	daemon_check_log(d);
}

void t_run(const char *name, void (*fn)(void))
{
	int before = t_failed_checks;

	fprintf(stderr, "-- %s\n", name);
	fn();
	checks_in_tests += t_failed_checks - before;
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

/* Daemon logs daemon_stop never read (a daemon left to cleanup_daemon). */
static int unread_log(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	const char *base = path + ftw->base;
	size_t len = strlen(base);

	(void)st;
	if (flag == FTW_F && !strncmp(base, "daemon-", 7) && len > 4 &&
	    !strcmp(base + len - 4, ".log") && t_sanitizer_report(path)) {
		t_failed_checks++;
		fprintf(stderr, "  FAIL: a sanitizer report in %s\n", path);
		print_file(path, 64 * 1024);
	}
	return 0;
}

int t_finish(void)
{
	cleanup_daemon();
	if (tmpdir[0])
		nftw(tmpdir, unread_log, 16, FTW_PHYS);
	if (t_failed_checks > checks_in_tests) {
		failed++;
		printf("FAIL (outside any test: %d failed checks)\n",
		       t_failed_checks - checks_in_tests);
	}
	if (tmpdir[0] && !getenv("VFS_TEST_KEEP"))
		nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
