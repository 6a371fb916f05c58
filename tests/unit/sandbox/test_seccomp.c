/* test_seccomp.c: the filter lets the daemon's syscalls through and stops
 * the ones that leave the sandbox, per action. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "sandbox/seccomp_filter.h"
#include "sandbox_test_util.h"

static char scratch[256];

static void *thread_main(void *arg)
{
	/* what a worker does first: its own fs attributes, then acting as a
	 * caller (effective ids only) and back */
	gid_t group = getegid();

	if (unshare(CLONE_FS) < 0 ||
	    syscall(SYS_setgroups, 1, &group) < 0 || syscall(SYS_setgroups, 0, NULL) < 0 ||
	    syscall(SYS_setresgid, (gid_t)-1, getegid(), (gid_t)-1) < 0 ||
	    syscall(SYS_setresuid, (uid_t)-1, geteuid(), (uid_t)-1) < 0)
		return NULL;
	return arg;
}

/* A cross-section of what the daemon does while serving. */
static int allowed_calls(void)
{
	char buf[8] = { 0 };
	struct iovec iov = { .iov_base = buf, .iov_len = 5 };
	struct stat st;
	struct rlimit lim;
	pthread_t tid;
	static int token;
	void *res = NULL;
	int dir = open(scratch, O_PATH | O_DIRECTORY | O_CLOEXEC);
	int fd;

	CHILD_CHECK(dir >= 0);
	fd = openat(dir, "a", O_RDWR | O_CLOEXEC);
	CHILD_CHECK(fd >= 0);
	CHILD_CHECK(preadv(fd, &iov, 1, 0) == 5 && !memcmp(buf, "hello", 5));
	CHILD_CHECK(pwrite(fd, "hello", 5, 0) == 5 && fsync(fd) == 0);
	CHILD_CHECK(fstat(fd, &st) == 0 && st.st_size == 5);
	CHILD_CHECK(fstatat(dir, "sub", &st, AT_SYMLINK_NOFOLLOW) == 0);
	CHILD_CHECK(mkdirat(dir, "new", 0700) == 0 && unlinkat(dir, "new", AT_REMOVEDIR) == 0);
	CHILD_CHECK(getrlimit(RLIMIT_NOFILE, &lim) == 0);
	CHILD_CHECK(ioctl(fd, TCGETS, buf) < 0 && errno == ENOTTY);
	CHILD_CHECK(pthread_create(&tid, NULL, thread_main, &token) == 0);
	CHILD_CHECK(pthread_join(tid, &res) == 0 && res == &token);
	free(malloc(1 << 20));
	close(fd);
	close(dir);
	return 0;
}

struct filter_case {
	int kind;
	int (*forbidden)(void);	/* NULL: only the allowed calls */
	bool file_handles;	/* --inode-file-handles other than never */
	int (*extra)(void);	/* more calls that must be allowed, or NULL */
};

static int filtered_child(void *opaque)
{
	struct filter_case *fc = opaque;
	int ret;

	CHILD_CHECK(seccomp_install(fc->kind, false, fc->file_handles) == 0);
	ret = allowed_calls();
	if (!ret && fc->extra)
		ret = fc->extra();
	if (ret || !fc->forbidden)
		return ret;
	fc->forbidden();
	return 0;	/* only the log action gets here */
}

static int do_ptrace(void)
{
	return (int)ptrace(PTRACE_PEEKDATA, getppid(), NULL, NULL);
}

static int do_mount(void)
{
	return mount("none", "/nonexistent-vfsd", "tmpfs", 0, NULL);
}

static int do_execve(void)
{
	char *argv[] = { "true", NULL };

	return execve("/nonexistent-vfsd", argv, argv + 1);
}

static int do_fork(void)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	return pid;
}

static int do_unshare_mount_ns(void)
{
	return unshare(CLONE_NEWNS);
}

static int do_setrlimit(void)
{
	struct rlimit lim;

	getrlimit(RLIMIT_NOFILE, &lim);
	return setrlimit(RLIMIT_NOFILE, &lim);
}

static int do_tiocsti(void)
{
	char c = 'x';

	return ioctl(0, TIOCSTI, &c);
}

static int do_open_by_handle(void)
{
	return (int)syscall(SYS_open_by_handle_at, -1, NULL, 0);
}

/* What a migration source or destination does without file handles on:
 * name an fd it holds (--migration-verify-handles). */
static int name_calls(void)
{
	union {
		struct file_handle h;
		unsigned char buf[sizeof(struct file_handle) + MAX_HANDLE_SZ];
	} u;
	int fd = open(scratch, O_PATH | O_DIRECTORY | O_CLOEXEC);
	int mnt;

	CHILD_CHECK(fd >= 0);
	u.h.handle_bytes = MAX_HANDLE_SZ;
	CHILD_CHECK(name_to_handle_at(fd, "", &u.h, &mnt, AT_EMPTY_PATH) == 0 ||
		    errno == EOPNOTSUPP);
	close(fd);
	return 0;
}

/* What the inode table does with --inode-file-handles: a handle of an
 * O_PATH fd, opened again on an fd of its mount. */
static int handle_calls(void)
{
	union {
		struct file_handle h;
		unsigned char buf[sizeof(struct file_handle) + MAX_HANDLE_SZ];
	} u;
	int dir = open(scratch, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int fd, mnt;

	CHILD_CHECK(dir >= 0);
	fd = openat(dir, "a", O_PATH | O_NOFOLLOW | O_CLOEXEC);
	CHILD_CHECK(fd >= 0);
	u.h.handle_bytes = MAX_HANDLE_SZ;
	CHILD_CHECK(name_to_handle_at(fd, "", &u.h, &mnt, AT_EMPTY_PATH) == 0);
	close(fd);
	fd = open_by_handle_at(dir, &u.h, O_PATH | O_CLOEXEC);
	/* without CAP_DAC_READ_SEARCH the kernel refuses; the filter did not */
	CHILD_CHECK(fd >= 0 || errno == EPERM);
	if (fd >= 0)
		close(fd);
	close(dir);
	return 0;
}

static int do_chroot(void)
{
	return chroot("/");
}

/* Changing the real or saved uid would end the way back to the daemon's
 * own identity (or make it permanent). */
static int do_setresuid_real(void)
{
	return (int)syscall(SYS_setresuid, geteuid(), (uid_t)-1, (uid_t)-1);
}

static int do_setresgid_saved(void)
{
	return (int)syscall(SYS_setresgid, (gid_t)-1, (gid_t)-1, getegid());
}

static void expect_sigsys(int kind, int (*forbidden)(void))
{
	struct filter_case fc = { .kind = kind, .forbidden = forbidden };
	int status = child_run(filtered_child, &fc);

	if (WIFEXITED(status))
		fail_msg("child exited with %d instead of dying of SIGSYS", WEXITSTATUS(status));
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGSYS);
}

static void expect_handles_sigsys(int (*forbidden)(void))
{
	struct filter_case fc = { .kind = SECCOMP_KIND_KILL, .forbidden = forbidden,
				  .file_handles = true, .extra = handle_calls };
	int status = child_run(filtered_child, &fc);

	if (WIFEXITED(status))
		fail_msg("child exited with %d instead of dying of SIGSYS", WEXITSTATUS(status));
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGSYS);
}

static void expect_exit_0(int kind, int (*forbidden)(void))
{
	struct filter_case fc = { .kind = kind, .forbidden = forbidden };
	int status = child_run(filtered_child, &fc);

	if (WIFSIGNALED(status))
		fail_msg("child died of signal %d", WTERMSIG(status));
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_allowed_calls_work(void **state)
{
	expect_exit_0(SECCOMP_KIND_KILL, NULL);
}

static void test_kill_stops_escapes(void **state)
{
	int (*const escapes[])(void) = {
		do_ptrace, do_mount, do_execve, do_fork, do_unshare_mount_ns,
		do_setrlimit, do_tiocsti, do_open_by_handle, do_chroot,
		do_setresuid_real, do_setresgid_saved,
	};

	for (size_t i = 0; i < sizeof(escapes) / sizeof(escapes[0]); i++) {
		print_message("escape %zu\n", i);
		expect_sigsys(SECCOMP_KIND_KILL, escapes[i]);
	}
}

/* --inode-file-handles (or a file-handles migration destination) lets
 * open_by_handle_at through: the handle calls work, everything else stays
 * refused. name_to_handle_at, which names only what we hold, is allowed
 * either way (live migration). */
static void test_file_handles_allowed_only_when_on(void **state)
{
	struct filter_case fc = { .kind = SECCOMP_KIND_KILL, .file_handles = true,
				  .extra = handle_calls };
	int status = child_run(filtered_child, &fc);

	if (WIFSIGNALED(status))
		fail_msg("child died of signal %d", WTERMSIG(status));
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	expect_handles_sigsys(do_mount);
	expect_handles_sigsys(do_ptrace);
	expect_handles_sigsys(do_execve);
	/* and off, open_by_handle_at kills, name_to_handle_at does not */
	fc.file_handles = false;
	status = child_run(filtered_child, &fc);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGSYS);
	fc.extra = name_calls;
	status = child_run(filtered_child, &fc);
	if (WIFSIGNALED(status))
		fail_msg("name_to_handle_at: child died of signal %d", WTERMSIG(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_trap_kills_with_sigsys(void **state)
{
	expect_sigsys(SECCOMP_KIND_TRAP, do_execve);
	expect_sigsys(SECCOMP_KIND_TRAP, do_ptrace);
}

static void test_log_lets_through(void **state)
{
	expect_exit_0(SECCOMP_KIND_LOG, do_mount);
}

static void test_none_installs_nothing(void **state)
{
	expect_exit_0(SECCOMP_KIND_NONE, do_unshare_mount_ns);
}

static int bad_kind_child(void *opaque)
{
	CHILD_CHECK(seccomp_install(42, false, false) == -EINVAL);
	return 0;
}

static void test_unknown_kind_refused(void **state)
{
	int status = child_run(bad_kind_child, NULL);

	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static int group_setup(void **state)
{
	return test_dir_make(scratch, sizeof(scratch));
}

static int group_teardown(void **state)
{
	test_dir_remove(scratch);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allowed_calls_work),
		cmocka_unit_test(test_kill_stops_escapes),
		cmocka_unit_test(test_file_handles_allowed_only_when_on),
		cmocka_unit_test(test_trap_kills_with_sigsys),
		cmocka_unit_test(test_log_lets_through),
		cmocka_unit_test(test_none_installs_nothing),
		cmocka_unit_test(test_unknown_kind_refused),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
