/* sandbox.c: namespaces + pivot_root, or chroot, around the shared dir. */
#include "sandbox/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "sandbox/capabilities.h"
#include "util/log.h"

#define KEEP_MAX 64

/* Signals a VMM or a terminal sends to stop us; the parent passes them on. */
static const int forwarded_signals[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT };

#define NR_FORWARDED (sizeof(forwarded_signals) / sizeof(forwarded_signals[0]))

static int log_errno(const char *what, const char *arg)
{
	int err = errno;

	log_error("sandbox: %s%s%s: %s", what, arg ? " " : "", arg ? arg : "", strerror(err));
	return -err;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

static void close_span(int first, int last)
{
	if (first > last)
		return;
	if (syscall(SYS_close_range, (unsigned)first, (unsigned)last, 0) == 0)
		return;
	/* before Linux 5.9; the fd table is small at this point */
	if (last > 65535)
		last = 65535;
	for (int fd = first; fd <= last; fd++)
		close(fd);
}

/* An inherited fd of a host directory would let a compromised daemon
 * openat() its way out, so everything not asked for goes. */
static void fds_close_others(const struct sandbox_config *config)
{
	int keep[KEEP_MAX];
	unsigned n = config->keep_count;
	int next = 3;

	if (n)
		memcpy(keep, config->keep_fds, n * sizeof(int));
	qsort(keep, n, sizeof(int), cmp_int);
	for (unsigned i = 0; i < n; i++) {
		if (keep[i] < next)
			continue;
		close_span(next, keep[i] - 1);
		next = keep[i] + 1;
	}
	close_span(next, ~0U >> 1);
}

/* glibc connects to /dev/log lazily; once the host's /dev/log is out of
 * reach it never could, so connect now (after the stray fds are gone). */
static void syslog_connect_now(void)
{
	openlog("virtiofsd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

/* unshare(CLONE_NEWUSER) fails with threads, but CLONE_NEWPID and the
 * fork would not: a forked copy of a threaded process is broken. The
 * nlink of /proc/self/task is 2 + the number of threads. */
static int process_check_single_threaded(void)
{
	struct stat st;

	if (stat("/proc/self/task", &st) < 0)
		return log_errno("stat", "/proc/self/task");
	if (st.st_nlink > 3) {
		log_error("sandbox: must be entered before any thread is started");
		return -EBUSY;
	}
	return 0;
}

static int file_write(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t len = (ssize_t)strlen(text);
	int ret = 0;

	if (fd < 0)
		return log_errno("open", path);
	if (write(fd, text, (size_t)len) != len)
		ret = log_errno("write", path);
	close(fd);
	return ret;
}

/* ---- the user namespace of a daemon that is not root ----
 *
 * Without --uid-map/--gid-map it maps only our own uid and gid, as
 * themselves: the capabilities the sandbox needs, over nothing but our
 * own files, and no way to act as anyone else. With them, newuidmap(1)
 * and newgidmap(1) (setuid root, from the uidmap package) write the
 * ranges /etc/subuid and /etc/subgid grant the user; where 0 is mapped
 * the daemon becomes root of the namespace and acts as the guest's users
 * over the mapped ids, as a root daemon does over all of them. Both
 * tools must run outside the namespace (inside it, their setuid bit
 * means nothing), so a helper forked before the unshare runs them for
 * us, as the Rust virtiofsd does. */

static void map_line(char *buf, size_t size, const struct sandbox_id_range *r)
{
	snprintf(buf, size, "%u %u %u\n", r->inside, r->outside, r->count);
}

/* In the helper: writes /proc/PID/{uid,gid}_map with the tool (ranges
 * given) or directly (our own id alone, which needs no privilege; for
 * gids only once setgroups is denied). Returns 0 or -1 (said on stderr). */
static int helper_write_map(pid_t pid, bool uid, const struct sandbox_id_range *ranges,
			    unsigned count, unsigned self)
{
	const char *tool = uid ? "newuidmap" : "newgidmap";
	char path[64], line[64];

	if (count == 0) {
		struct sandbox_id_range r = { self, self, 1 };

		if (!uid) {
			snprintf(path, sizeof(path), "/proc/%d/setgroups", (int)pid);
			if (file_write(path, "deny\n") < 0)
				return -1;
		}
		snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, uid ? "uid_map" : "gid_map");
		map_line(line, sizeof(line), &r);
		return file_write(path, line) < 0 ? -1 : 0;
	}

	/* "newuidmap PID inside outside count ...", each number its own word */
	static char words[1 + SANDBOX_ID_RANGES_MAX * 3][12];
	static char *argv[2 + SANDBOX_ID_RANGES_MAX * 3 + 1];
	unsigned n = 0;
	int status;
	pid_t child;

	if (count > SANDBOX_ID_RANGES_MAX)
		return -1;
	snprintf(words[n++], sizeof(words[0]), "%d", (int)pid);
	for (unsigned i = 0; i < count; i++) {
		snprintf(words[n++], sizeof(words[0]), "%u", ranges[i].inside);
		snprintf(words[n++], sizeof(words[0]), "%u", ranges[i].outside);
		snprintf(words[n++], sizeof(words[0]), "%u", ranges[i].count);
	}
	argv[0] = (char *)tool;
	for (unsigned i = 0; i < n; i++)
		argv[1 + i] = words[i];
	argv[1 + n] = NULL;
	child = fork();
	if (child < 0) {
		log_errno("fork", tool);
		return -1;
	}
	if (child == 0) {
		execvp(tool, argv);
		log_error("sandbox: cannot run %s: %s (install the uidmap package)", tool,
			  strerror(errno));
		_exit(127);
	}
	while (waitpid(child, &status, 0) < 0) {
		if (errno != EINTR) {
			log_errno("waitpid", tool);
			return -1;
		}
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		log_error("sandbox: %s failed (status %d): are the ranges of --%s-map in the "
			  "user's /etc/sub%s?", tool, WIFEXITED(status) ? WEXITSTATUS(status) : -1,
			  uid ? "uid" : "gid", uid ? "uid" : "gid");
		return -1;
	}
	return 0;
}

/* The helper: waits until the daemon has unshared, maps it, answers with
 * one byte (0: mapped) and exits. The daemon's death closes the pipe. */
static __attribute__((noreturn)) void helper_main(const struct sandbox_config *config,
						  pid_t daemon_pid, int go_fd, int done_fd,
						  uid_t uid, gid_t gid)
{
	char c, ok;

	close_span(3, go_fd - 1);
	close_span(go_fd + 1, done_fd - 1);
	close_span(done_fd + 1, ~0U >> 1);
	if (read(go_fd, &c, 1) != 1)
		_exit(1);
	ok = helper_write_map(daemon_pid, true, config->uid_ranges, config->uid_count, uid) == 0 &&
	     helper_write_map(daemon_pid, false, config->gid_ranges, config->gid_count, gid) == 0
		     ? 0 : 1;
	if (write(done_fd, &ok, 1) != 1)
		_exit(1);
	_exit(0);
}

static bool ranges_map_zero(const struct sandbox_id_range *ranges, unsigned count)
{
	for (unsigned i = 0; i < count; i++)
		if (ranges[i].inside == 0)
			return true;
	return false;
}

static unsigned ranges_ids(const struct sandbox_id_range *ranges, unsigned count)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < count; i++)
		n += ranges[i].count;
	return n > UINT32_MAX ? UINT32_MAX : (unsigned)n;
}

/* Once mapped: root of the namespace where 0 is mapped, and none of the
 * user's supplementary groups, which would otherwise give each guest
 * user their access (CVE-2022-0358, as for a root daemon). */
static int userns_settle(const struct sandbox_config *config)
{
	bool root_uid = ranges_map_zero(config->uid_ranges, config->uid_count);
	bool root_gid = ranges_map_zero(config->gid_ranges, config->gid_count);

	if (root_gid && setresgid(0, 0, 0) < 0)
		return log_errno("setresgid", "(0 in the user namespace)");
	if (root_uid && setresuid(0, 0, 0) < 0)
		return log_errno("setresuid", "(0 in the user namespace)");
	if (setgroups(0, NULL) == 0)
		return 0;
	/* denied (a map without /etc/subgid): harmless while the daemon
	 * can act as nobody but itself */
	if (errno == EPERM && (!root_uid || ranges_ids(config->uid_ranges, config->uid_count) < 2))
		return 0;
	return log_errno("setgroups", "(dropping the user's supplementary groups in the user "
			 "namespace; map gids with --gid-map from /etc/subgid)");
}

/* unshare(flags | CLONE_NEWUSER) and get mapped by the helper. */
static int userns_unshare(const struct sandbox_config *config, int flags, const char *what)
{
	uid_t uid = geteuid();
	gid_t gid = getegid();
	pid_t self = getpid(), helper;
	int go[2], done[2], ret = 0;
	char ok = 1;

	if (pipe2(go, O_CLOEXEC) < 0)
		return log_errno("pipe2", NULL);
	if (pipe2(done, O_CLOEXEC) < 0) {
		ret = log_errno("pipe2", NULL);
		close(go[0]);
		close(go[1]);
		return ret;
	}
	helper = fork();
	if (helper < 0) {
		ret = log_errno("fork", "(id map helper)");
		goto out;
	}
	if (helper == 0) {
		close(go[1]);
		close(done[0]);
		helper_main(config, self, go[0], done[1], uid, gid);
	}
	close(go[0]);
	go[0] = -1;
	close(done[1]);
	done[1] = -1;
	if (unshare(flags | CLONE_NEWUSER) < 0) {
		ret = log_errno("unshare", what);
		goto reap;	/* closing go ends the helper */
	}
	if (write(go[1], "g", 1) != 1 || read(done[0], &ok, 1) != 1 || ok != 0) {
		log_error("sandbox: the user namespace could not be mapped");
		ret = -EPERM;
	}
reap:
	close(go[1]);
	go[1] = -1;
	/* ECHILD: a caller that ignores SIGCHLD has it reaped already */
	while (waitpid(helper, NULL, 0) < 0 && errno == EINTR)
		;
	if (ret == 0)
		ret = userns_settle(config);
out:
	for (int i = 0; i < 2; i++) {
		if (go[i] >= 0)
			close(go[i]);
		if (done[i] >= 0)
			close(done[i]);
	}
	return ret;
}

static int namespaces_unshare(const struct sandbox_config *config)
{
	int flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC;

	/* as root the init user namespace stays: root's files stay root's */
	if (geteuid() != 0)
		return userns_unshare(config, flags, "(user, mount, pid, net, ipc namespaces)");
	if (unshare(flags) < 0)
		return log_errno("unshare", "(mount, pid, net, ipc namespaces)");
	return 0;
}

/* Pid 1 of a namespace ignores signals it has no handler for, even from
 * the parent; exit as the default action would (the parent re-raises). */
static void exit_handler(int sig)
{
	_exit(128 + sig);
}

/* The stop signals to pass on. One the caller ignores (nohup, a shell's
 * background job) stays ignored on both sides, as without the sandbox. */
static void forwarded_set_fill(sigset_t *set)
{
	sigemptyset(set);
	for (size_t i = 0; i < NR_FORWARDED; i++) {
		struct sigaction sa;

		if (sigaction(forwarded_signals[i], NULL, &sa) == 0 && sa.sa_handler == SIG_IGN)
			continue;
		sigaddset(set, forwarded_signals[i]);
	}
}

/* In pid 1 of the namespace the stop signals left at the default get
 * exit_handler, as pid 1 would ignore them; a caller's handler stays. */
static void pid1_handlers_install(const sigset_t *forwarded)
{
	for (size_t i = 0; i < NR_FORWARDED; i++) {
		struct sigaction sa = { .sa_handler = exit_handler };
		struct sigaction cur;
		int sig = forwarded_signals[i];

		if (!sigismember(forwarded, sig) || sigaction(sig, NULL, &cur) < 0 ||
		    cur.sa_handler != SIG_DFL)
			continue;
		sigemptyset(&sa.sa_mask);
		sigaction(sig, &sa, NULL);
	}
}

/* Ends the parent as the child ended. Re-raising a core-dumping signal
 * would dump the idle parent as well, so those become an exit code. */
static __attribute__((noreturn)) void parent_exit_like(int sig)
{
	sigset_t set;

	if (sig != SIGTERM && sig != SIGINT && sig != SIGHUP && sig != SIGKILL)
		_exit(128 + sig);
	signal(sig, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	raise(sig);
	_exit(128 + sig);
}

/* The parent only waits: it keeps no capabilities, passes stop signals on
 * and reports the child's end as its own. The signals stay blocked and are
 * taken here one by one, with no handler: the child is reaped only by this
 * loop, so a signal is never passed to a pid that may have been reused. */
static __attribute__((noreturn)) void parent_wait(pid_t child, const sigset_t *forwarded)
{
	sigset_t wait_set = *forwarded;
	int status, last = 0;

	sigaddset(&wait_set, SIGCHLD);
	if (capabilities_clear() < 0)
		log_warn("sandbox: the waiting parent keeps its capabilities");
	for (;;) {
		pid_t ret = waitpid(child, &status, WNOHANG);
		int sig;

		if (ret == child)
			break;
		if (ret < 0 && errno != EINTR) {
			log_error("sandbox: waitpid: %s", strerror(errno));
			_exit(1);
		}
		/* SIGCHLD has been held since before the fork: no end is missed */
		sig = sigwaitinfo(&wait_set, NULL);
		if (sig > 0 && sig != SIGCHLD) {
			last = sig;
			kill(child, sig);
		}
	}
	if (WIFEXITED(status)) {
		int code = WEXITSTATUS(status);

		if (last && code == 128 + last)
			parent_exit_like(last);
		_exit(code);
	}
	parent_exit_like(WTERMSIG(status));
}

/* The child must not outlive a parent killed with SIGKILL; the pipe tells
 * whether the parent died before the death signal was armed. */
static int child_bind_to_parent(int alive_fd)
{
	struct pollfd pfd = { .fd = alive_fd, .events = POLLIN };
	int ret = 0;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) {
		ret = log_errno("prctl", "(PR_SET_PDEATHSIG)");
	} else if (poll(&pfd, 1, 0) != 0) {
		log_error("sandbox: the parent died during start-up");
		ret = -ESRCH;
	}
	close(alive_fd);
	return ret;
}

/* Forks into the new pid namespace: the parent never returns. The stop
 * signals are held from before the fork until each side has its own way
 * of taking them: one that comes in between stays pending rather than
 * reaching the other side's handler (the child once inherited the
 * parent's forwarding handler and lost the signal in it). */
static int pid_namespace_fork(void)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL }, caller_chld;
	sigset_t forwarded, held, caller_mask;
	int alive[2];
	pid_t pid;

	if (pipe2(alive, O_CLOEXEC) < 0)
		return log_errno("pipe2", NULL);
	forwarded_set_fill(&forwarded);
	held = forwarded;
	sigaddset(&held, SIGCHLD);
	sigprocmask(SIG_BLOCK, &held, &caller_mask);
	/* an ignored SIGCHLD would reap the child behind the parent's back */
	sigemptyset(&dfl.sa_mask);
	sigaction(SIGCHLD, &dfl, &caller_chld);
	pid = fork();
	if (pid < 0) {
		int err = log_errno("fork", NULL);

		sigaction(SIGCHLD, &caller_chld, NULL);
		sigprocmask(SIG_SETMASK, &caller_mask, NULL);
		close(alive[0]);
		close(alive[1]);
		return err;
	}
	if (pid > 0) {
		close(alive[0]);
		parent_wait(pid, &forwarded);
	}
	close(alive[1]);
	sigaction(SIGCHLD, &caller_chld, NULL);
	pid1_handlers_install(&forwarded);
	/* a signal the parent passed on meanwhile is delivered now */
	sigprocmask(SIG_SETMASK, &caller_mask, NULL);
	return child_bind_to_parent(alive[0]);
}

/* A proc of our own pid namespace; "subset=pid" (Linux 5.8) leaves out
 * /proc/sys and the like, which the kept fd could otherwise reach. */
static int proc_mount(void)
{
	unsigned long flags = MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME;

	if (mount("proc", "/proc", "proc", flags, "subset=pid") == 0)
		return 0;
	if (errno == EINVAL && mount("proc", "/proc", "proc", flags, NULL) == 0)
		return 0;
	return log_errno("mount", "/proc");
}

static int proc_self_fd_open(int *proc_self_fd)
{
	*proc_self_fd = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (*proc_self_fd < 0)
		return log_errno("open", "/proc/self/fd");
	return 0;
}

/* pivot_root(".", ".") stacks the old root on top of the new one; the
 * lazy unmount then drops it and every host mount beneath it. */
static int root_pivot(const char *shared_dir)
{
	if (mount(shared_dir, shared_dir, NULL, MS_BIND | MS_REC, NULL) < 0)
		return log_errno("bind mount", shared_dir);
	if (chdir(shared_dir) < 0)
		return log_errno("chdir", shared_dir);
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return log_errno("pivot_root", shared_dir);
	if (umount2(".", MNT_DETACH) < 0)
		return log_errno("umount", "(old root)");
	if (chdir("/") < 0)
		return log_errno("chdir", "/");
	return 0;
}

static int mounts_setup(const char *shared_dir, int *proc_self_fd)
{
	int ret;

	/* host mounts still reach us, ours never reach the host */
	if (mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL) < 0)
		return log_errno("mount", "(make / a slave)");
	ret = proc_mount();
	if (ret < 0)
		return ret;
	ret = proc_self_fd_open(proc_self_fd);
	if (ret < 0)
		return ret;
	ret = root_pivot(shared_dir);
	if (ret < 0) {
		close(*proc_self_fd);
		*proc_self_fd = -1;
	}
	return ret;
}

static int sandbox_enter_namespace(const struct sandbox_config *config, int *proc_self_fd)
{
	int ret = namespaces_unshare(config);

	if (ret < 0)
		return ret;
	ret = pid_namespace_fork();
	if (ret < 0)
		return ret;
	return mounts_setup(config->shared_dir, proc_self_fd);
}

/* Weaker than namespaces: /proc/self/fd stays the host's proc, whose ".."
 * leads to the host's "/" for code that can choose its own paths. A
 * daemon that is not root gets CAP_SYS_CHROOT from a user namespace of
 * its own (mapped as in namespace mode) and nothing else new. */
static int sandbox_enter_chroot(const struct sandbox_config *config, int *proc_self_fd)
{
	int ret = geteuid() != 0 ? userns_unshare(config, 0, "(user namespace)") : 0;

	if (ret == 0)
		ret = proc_self_fd_open(proc_self_fd);
	if (ret < 0)
		return ret;
	if (chdir(config->shared_dir) < 0)
		ret = log_errno("chdir", config->shared_dir);
	else if (chroot(".") < 0)
		ret = log_errno("chroot", config->shared_dir);
	else if (chdir("/") < 0)
		ret = log_errno("chdir", "/");
	if (ret < 0) {
		close(*proc_self_fd);
		*proc_self_fd = -1;
	}
	return ret;
}

int sandbox_enter(const struct sandbox_config *config, int *proc_self_fd)
{
	int ret;

	*proc_self_fd = -1;
	if (config->kind == SANDBOX_KIND_NONE)
		return proc_self_fd_open(proc_self_fd);
	if (config->kind != SANDBOX_KIND_NAMESPACE && config->kind != SANDBOX_KIND_CHROOT) {
		log_error("sandbox: unknown mode %d", config->kind);
		return -EINVAL;
	}
	if (!config->shared_dir || config->shared_dir[0] != '/') {
		log_error("sandbox: the shared directory must be an absolute path");
		return -EINVAL;
	}
	if (config->keep_count > KEEP_MAX) {
		log_error("sandbox: more than %d fds to keep", KEEP_MAX);
		return -EINVAL;
	}
	if ((config->uid_count || config->gid_count) && geteuid() == 0) {
		log_error("sandbox: --uid-map and --gid-map are for a daemon that is not root "
			  "(a root daemon can act as every id; see --translate-uid)");
		return -EINVAL;
	}
	/* checked before anything changes, so a refusal has no side effect;
	 * unshare(CLONE_NEWUSER) also wants a single thread */
	if (config->kind == SANDBOX_KIND_NAMESPACE || geteuid() != 0) {
		ret = process_check_single_threaded();
		if (ret < 0)
			return ret;
	}
	if (config->syslog)
		closelog();
	fds_close_others(config);
	if (config->syslog)
		syslog_connect_now();
	if (config->kind == SANDBOX_KIND_NAMESPACE)
		return sandbox_enter_namespace(config, proc_self_fd);
	return sandbox_enter_chroot(config, proc_self_fd);
}
