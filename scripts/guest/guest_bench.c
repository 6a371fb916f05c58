/* guest_bench.c: the timed loops of scripts/bench-guest.sh, run INSIDE a
 * test guest. Built static on the host (gcc -static) by bench-guest.sh;
 * the tools guest runs it from the host's root over 9p.
 *
 * Usage (in the guest):
 *   guest_bench [-t SECS] create DIR N   open(O_CREAT|O_EXCL) + close of
 *                                        DIR/f00000 .. f<N-1>
 *   guest_bench [-t SECS] stat DIR N     fstatat() each of them (each must be
 *                                        an empty regular file)
 *   guest_bench [-t SECS] unlink DIR N   unlinkat() each of them
 *   guest_bench [-t SECS] time OUT CMD [ARG...]
 *                                        run CMD with stdout to OUT (e.g.
 *                                        /dev/null), stderr inherited
 *   guest_bench drop-caches              sync(), then 3 > /proc/sys/vm/drop_caches
 *
 * Each command but drop-caches prints one line, `seconds S` (CLOCK_MONOTONIC,
 * around the loop or around fork..wait of CMD, so the helper's own start is
 * not counted), and exits 0; on any failed call it prints
 * `FAIL: what: strerror` on stderr and exits 1 (time: also when CMD fails).
 * -t bounds the command: past SECS it fails with `FAIL: ... timed out`
 * (CMD is killed). The bound is here so that the guest script need not exec
 * timeout(1) from the host's root, whose caches drop-caches empties.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t timed_out;

static void on_alarm(int sig)
{
	(void)sig;
	timed_out = 1;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int fail(const char *what, const char *arg)
{
	fprintf(stderr, "FAIL: %s %s: %s\n", what, arg, strerror(errno));
	return 1;
}

static void name_of(char *buf, size_t len, long i)
{
	snprintf(buf, len, "f%05ld", i);
}

enum loop_op { OP_CREATE, OP_STAT, OP_UNLINK };

static int run_loop(enum loop_op op, const char *dir, long n)
{
	char name[32];
	struct stat st;
	double t0, t1;
	int dfd, fd;
	long i;

	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return fail("open", dir);
	t0 = now();
	for (i = 0; i < n; i++) {
		if (timed_out) {
			fprintf(stderr, "FAIL: timed out after %ld of %ld\n", i, n);
			return 1;
		}
		name_of(name, sizeof(name), i);
		switch (op) {
		case OP_CREATE:
			fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
			if (fd < 0)
				return fail("create", name);
			if (close(fd) != 0)
				return fail("close", name);
			break;
		case OP_STAT:
			if (fstatat(dfd, name, &st, 0) != 0)
				return fail("stat", name);
			if (!S_ISREG(st.st_mode) || st.st_size != 0) {
				errno = EINVAL;
				return fail("stat: not an empty regular file:", name);
			}
			break;
		case OP_UNLINK:
			if (unlinkat(dfd, name, 0) != 0)
				return fail("unlink", name);
			break;
		}
	}
	t1 = now();
	close(dfd);
	printf("seconds %.6f\n", t1 - t0);
	return 0;
}

static int run_timed(const char *out, char **argv)
{
	double t0, t1;
	pid_t pid;
	int status, fd;

	t0 = now();
	pid = fork();
	if (pid < 0)
		return fail("fork", argv[0]);
	if (pid == 0) {
		fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0) {
			fail("open", out);
			_exit(127);
		}
		execvp(argv[0], argv);
		fail("exec", argv[0]);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return fail("waitpid", argv[0]);
		if (timed_out) {
			kill(pid, SIGKILL);
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			fprintf(stderr, "FAIL: %s: timed out\n", argv[0]);
			return 1;
		}
	}
	t1 = now();
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "FAIL: %s: %s %d\n", argv[0],
			WIFEXITED(status) ? "exit status" : "signal",
			WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		return 1;
	}
	printf("seconds %.6f\n", t1 - t0);
	return 0;
}

static int drop_caches(void)
{
	int fd;

	sync();
	fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return fail("open", "/proc/sys/vm/drop_caches");
	if (write(fd, "3\n", 2) != 2) {
		close(fd);
		return fail("write", "/proc/sys/vm/drop_caches");
	}
	close(fd);
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: guest_bench [-t SECS] create|stat|unlink DIR N\n"
			"       guest_bench [-t SECS] time OUT CMD [ARG...]\n"
			"       guest_bench drop-caches\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	char *end;
	long n;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 3 && strcmp(argv[1], "-t") == 0) {
		errno = 0;
		n = strtol(argv[2], &end, 10);
		if (errno || *end || n <= 0 || n > 86400)
			return usage();
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_alarm; /* no SA_RESTART: waitpid sees EINTR */
		sigaction(SIGALRM, &sa, NULL);
		alarm((unsigned int)n);
		argc -= 2;
		argv += 2;
	}
	if (argc == 2 && strcmp(argv[1], "drop-caches") == 0)
		return drop_caches();
	if (argc >= 4 && strcmp(argv[1], "time") == 0)
		return run_timed(argv[2], argv + 3);
	if (argc != 4)
		return usage();
	errno = 0;
	n = strtol(argv[3], &end, 10);
	if (errno || *end || n < 0 || n > 99999)
		return usage();
	if (strcmp(argv[1], "create") == 0)
		return run_loop(OP_CREATE, argv[2], n);
	if (strcmp(argv[1], "stat") == 0)
		return run_loop(OP_STAT, argv[2], n);
	if (strcmp(argv[1], "unlink") == 0)
		return run_loop(OP_UNLINK, argv[2], n);
	return usage();
}
