/* test_sandbox.c: after sandbox_enter, "/" is the shared directory and
 * nothing else; the returned proc_self_fd still reopens inodes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cap-ng.h>
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/capabilities.h"
#include "sandbox/sandbox.h"
#include "sandbox_test_util.h"

static const int stop_signals[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT };

struct case_arg {
	char dir[256];
	int kind;
	int keep_fd;		/* kept across sandbox_enter, -1 for none */
	int stray_fd;		/* the read end; the test reads it */
	int high_fd;		/* a stray copy sandbox_enter must close */
	int exit_code;		/* what the sandboxed process ends with */
	bool wait_for_signal;
	bool ignore_sigchld;	/* as a careless caller might */
	uid_t run_as;		/* 0: stay root */
};

static int root_has_exactly_a_and_sub(void)
{
	DIR *dir = opendir("/");
	struct dirent *de;
	int seen = 0;

	CHILD_CHECK(dir != NULL);
	while ((de = readdir(dir))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (!strcmp(de->d_name, "a"))
			seen |= 1;
		else if (!strcmp(de->d_name, "sub"))
			seen |= 2;
		else
			seen |= 4;
	}
	closedir(dir);
	CHILD_CHECK(seen == 3);
	return 0;
}

/* "/a" reopened through proc_self_fd reads the file's content. */
static int reopen_works(int proc_self_fd)
{
	char name[16], buf[8] = { 0 };
	int path_fd = open("/a", O_PATH | O_CLOEXEC);
	int fd;

	CHILD_CHECK(path_fd >= 0);
	snprintf(name, sizeof(name), "%d", path_fd);
	fd = openat(proc_self_fd, name, O_RDONLY | O_CLOEXEC);
	CHILD_CHECK(fd >= 0);
	CHILD_CHECK(read(fd, buf, sizeof(buf)) == 5 && !memcmp(buf, "hello", 5));
	close(fd);
	close(path_fd);
	return 0;
}

static int root_is_confined(void)
{
	struct stat root, dotdot, sub_dotdot;

	CHILD_CHECK(access("/etc/passwd", F_OK) < 0 && errno == ENOENT);
	CHILD_CHECK(access("/proc", F_OK) < 0 && errno == ENOENT);
	CHILD_CHECK(stat("/", &root) == 0 && stat("/..", &dotdot) == 0);
	CHILD_CHECK(root.st_ino == dotdot.st_ino && root.st_dev == dotdot.st_dev);
	CHILD_CHECK(stat("/sub/../..", &sub_dotdot) == 0 && sub_dotdot.st_ino == root.st_ino);
	CHILD_CHECK(chdir("/sub/../../..") == 0 && access("a", F_OK) == 0);
	return 0;
}

static int inside_checks(struct case_arg *c, int proc_self_fd)
{
	int ret;

	CHILD_CHECK(proc_self_fd >= 0);
	/* a number nothing reopens by chance */
	CHILD_CHECK(fcntl(c->high_fd, F_GETFD) < 0 && errno == EBADF);
	CHILD_CHECK(fcntl(c->keep_fd, F_GETFD) >= 0);
	ret = root_has_exactly_a_and_sub();
	if (!ret)
		ret = root_is_confined();
	if (!ret)
		ret = reopen_works(proc_self_fd);
	if (ret || c->kind != SANDBOX_KIND_NAMESPACE)
		return ret;
	CHILD_CHECK(getpid() == 1);
	/* the kept proc must not lead back to the host (or to /proc/sys) */
	CHILD_CHECK(faccessat(proc_self_fd, "../../../etc/passwd", F_OK, 0) < 0);
	CHILD_CHECK(faccessat(proc_self_fd, "../../sys", F_OK, 0) < 0);
	return 0;
}

static int drop_to(uid_t uid)
{
	if (setgroups(0, NULL) < 0 || setresgid(uid, uid, uid) < 0 || setresuid(uid, uid, uid) < 0)
		return -1;
	/* as a daemon started by that user would be: /proc/self is ours */
	return prctl(PR_SET_DUMPABLE, 1);
}

static int sandboxed_child(void *opaque)
{
	struct case_arg *c = opaque;
	struct sandbox_config config = {
		.kind = c->kind, .shared_dir = c->dir,
		.keep_fds = &c->keep_fd, .keep_count = 1,
	};
	int proc_self_fd, ret;

	if (c->run_as && drop_to(c->run_as) < 0)
		return 2;
	/* whatever the runner inherited (a shell's background job ignores
	 * SIGINT and SIGQUIT): the cases below mean the default */
	for (unsigned i = 0; i < sizeof(stop_signals) / sizeof(stop_signals[0]); i++)
		signal(stop_signals[i], SIG_DFL);
	if (c->ignore_sigchld)
		signal(SIGCHLD, SIG_IGN);
	c->high_fd = fcntl(c->stray_fd, F_DUPFD, 200);
	CHILD_CHECK(c->high_fd >= 200);
	ret = sandbox_enter(&config, &proc_self_fd);
	if (ret == -EPERM && c->run_as)
		return CHILD_SKIP;	/* unprivileged user namespaces are off */
	CHILD_CHECK(ret == 0);
	if (c->wait_for_signal) {
		CHILD_CHECK(write(c->keep_fd, "r", 1) == 1);
		for (;;)
			pause();
	}
	ret = inside_checks(c, proc_self_fd);
	if (!ret && c->run_as) {
		/* all capabilities over our user namespace: reduce them too */
		CHILD_CHECK(capabilities_drop(NULL) == 0);
		capng_clear(CAPNG_SELECT_ALL);
		CHILD_CHECK(capng_get_caps_process() == 0);
		CHILD_CHECK(!capng_have_capability(CAPNG_EFFECTIVE, CAP_SYS_ADMIN));
		CHILD_CHECK(capng_have_capability(CAPNG_EFFECTIVE, CAP_CHOWN));
	}
	return ret ? ret : c->exit_code;
}

static void require_root(void)
{
	if (geteuid() != 0)
		skip();
}

static int case_setup(void **state)
{
	struct case_arg *c = calloc(1, sizeof(*c));
	int fds[2];

	assert_non_null(c);
	assert_int_equal(test_dir_make(c->dir, sizeof(c->dir)), 0);
	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	c->stray_fd = fds[0];
	c->keep_fd = fds[1];
	*state = c;
	return 0;
}

static int case_teardown(void **state)
{
	struct case_arg *c = *state;

	close(c->stray_fd);
	close(c->keep_fd);
	test_dir_remove(c->dir);
	free(c);
	return 0;
}

static void assert_exited(int status, int code)
{
	if (WIFEXITED(status) && WEXITSTATUS(status) == CHILD_SKIP)
		skip();
	if (!WIFEXITED(status))
		fail_msg("child died of signal %d", WIFSIGNALED(status) ? WTERMSIG(status) : -1);
	assert_int_equal(WEXITSTATUS(status), code);
}

static void test_namespace_confines(void **state)
{
	struct case_arg *c = *state;

	require_root();
	c->kind = SANDBOX_KIND_NAMESPACE;
	assert_exited(child_run(sandboxed_child, c), 0);
}

/* The waiting parent reports the sandboxed child's exit code as its own. */
static void test_namespace_forwards_exit_code(void **state)
{
	struct case_arg *c = *state;

	require_root();
	c->kind = SANDBOX_KIND_NAMESPACE;
	c->exit_code = 7;
	assert_exited(child_run(sandboxed_child, c), 7);
}

/* SIGTERM to the parent reaches pid 1 of the namespace (which would ignore
 * it without a handler) and the parent then dies of SIGTERM itself. */
static void test_namespace_forwards_sigterm(void **state)
{
	struct case_arg *c = *state;
	char ready;
	int pid, status;

	require_root();
	c->kind = SANDBOX_KIND_NAMESPACE;
	c->wait_for_signal = true;
	pid = child_start(sandboxed_child, c);
	assert_true(pid > 0);
	assert_int_equal(read(c->stray_fd, &ready, 1), 1);
	assert_int_equal(kill(pid, SIGTERM), 0);
	status = child_wait(pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGTERM);
}

/* Each stop signal the parent gets ends pid 1 of the namespace, and the
 * parent ends as the child did: by the same signal, or with 128 + the
 * signal for SIGQUIT, whose re-raise would dump the parent's core. */
static void test_namespace_forwards_each_stop_signal(void **state)
{
	struct case_arg *c = *state;

	require_root();
	c->kind = SANDBOX_KIND_NAMESPACE;
	c->wait_for_signal = true;
	for (unsigned i = 0; i < sizeof(stop_signals) / sizeof(stop_signals[0]); i++) {
		int sig = stop_signals[i];
		char ready;
		int pid, status;

		pid = child_start(sandboxed_child, c);
		assert_true(pid > 0);
		assert_int_equal(read(c->stray_fd, &ready, 1), 1);
		assert_int_equal(kill(pid, sig), 0);
		status = child_wait(pid);
		if (sig == SIGQUIT) {
			assert_true(WIFEXITED(status));
			assert_int_equal(WEXITSTATUS(status), 128 + SIGQUIT);
		} else {
			assert_true(WIFSIGNALED(status));
			assert_int_equal(WTERMSIG(status), sig);
		}
	}
}

/* A caller that ignores SIGCHLD would have the child reaped behind the
 * waiting parent's back; the parent still reports the child's exit code. */
static void test_namespace_sigchld_ignored_by_caller(void **state)
{
	struct case_arg *c = *state;

	require_root();
	c->kind = SANDBOX_KIND_NAMESPACE;
	c->ignore_sigchld = true;
	c->exit_code = 7;
	assert_exited(child_run(sandboxed_child, c), 7);
}

/* As an ordinary user the same happens inside a user namespace. */
static void test_namespace_unprivileged(void **state)
{
	struct case_arg *c = *state;

	require_root();
	c->kind = SANDBOX_KIND_NAMESPACE;
	c->run_as = 65534;
	assert_exited(child_run(sandboxed_child, c), 0);
}

static void test_chroot_confines(void **state)
{
	struct case_arg *c = *state;

	require_root();
	c->kind = SANDBOX_KIND_CHROOT;
	assert_exited(child_run(sandboxed_child, c), 0);
}

static int none_child(void *opaque)
{
	struct sandbox_config config = { .kind = SANDBOX_KIND_NONE };
	int proc_self_fd, stray = *(int *)opaque;

	CHILD_CHECK(sandbox_enter(&config, &proc_self_fd) == 0 && proc_self_fd >= 0);
	CHILD_CHECK(access("/proc/self", F_OK) == 0);
	CHILD_CHECK(fcntl(stray, F_GETFD) >= 0);	/* none mode closes nothing */
	return 0;
}

static void test_none_changes_nothing(void **state)
{
	struct case_arg *c = *state;

	assert_exited(child_run(none_child, &c->stray_fd), 0);
}

static int relative_child(void *opaque)
{
	struct sandbox_config config = { .kind = SANDBOX_KIND_CHROOT, .shared_dir = "tmp" };
	int proc_self_fd;

	CHILD_CHECK(sandbox_enter(&config, &proc_self_fd) == -EINVAL && proc_self_fd == -1);
	return 0;
}

static void test_relative_dir_refused(void **state)
{
	assert_exited(child_run(relative_child, NULL), 0);
}

static void *blocked_thread(void *arg)
{
	char c;

	return read(*(int *)arg, &c, 1) < 0 ? NULL : arg;
}

/* A fork would copy only the calling thread: refuse, and change nothing. */
static int threaded_child(void *opaque)
{
	struct case_arg *c = opaque;
	struct sandbox_config config = { .kind = SANDBOX_KIND_NAMESPACE, .shared_dir = c->dir };
	int proc_self_fd, block[2];
	pthread_t tid;

	CHILD_CHECK(pipe(block) == 0);
	CHILD_CHECK(pthread_create(&tid, NULL, blocked_thread, &block[0]) == 0);
	CHILD_CHECK(sandbox_enter(&config, &proc_self_fd) == -EBUSY);
	CHILD_CHECK(fcntl(c->stray_fd, F_GETFD) >= 0 && access("/proc/self", F_OK) == 0);
	config.kind = 42;
	CHILD_CHECK(sandbox_enter(&config, &proc_self_fd) == -EINVAL);
	CHILD_CHECK(fcntl(c->stray_fd, F_GETFD) >= 0);
	close(block[1]);
	CHILD_CHECK(pthread_join(tid, NULL) == 0);
	return 0;
}

static void test_threaded_or_unknown_refused(void **state)
{
	assert_exited(child_run(threaded_child, *state), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_namespace_confines, case_setup, case_teardown),
		cmocka_unit_test_setup_teardown(test_namespace_forwards_exit_code, case_setup, case_teardown),
		cmocka_unit_test_setup_teardown(test_namespace_forwards_sigterm, case_setup, case_teardown),
		cmocka_unit_test_setup_teardown(test_namespace_forwards_each_stop_signal, case_setup,
						case_teardown),
		cmocka_unit_test_setup_teardown(test_namespace_sigchld_ignored_by_caller, case_setup,
						case_teardown),
		cmocka_unit_test_setup_teardown(test_namespace_unprivileged, case_setup, case_teardown),
		cmocka_unit_test_setup_teardown(test_chroot_confines, case_setup, case_teardown),
		cmocka_unit_test_setup_teardown(test_none_changes_nothing, case_setup, case_teardown),
		cmocka_unit_test(test_relative_dir_refused),
		cmocka_unit_test_setup_teardown(test_threaded_or_unknown_refused, case_setup, case_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
