/* seccomp_filter.c: the allow list, read off the syscalls src/ makes
 * (directly or through glibc) while serving. */
#include "sandbox/seccomp_filter.h"

#include <errno.h>
#include <linux/fuse.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "util/log.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Allowed whatever their arguments. */
static const int allowed[] = {
	/* fd I/O: virtqueue buffers, /dev/fuse, eventfds, the log */
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
	SCMP_SYS(pread64), SCMP_SYS(pwrite64), SCMP_SYS(preadv), SCMP_SYS(pwritev),
	SCMP_SYS(preadv2), SCMP_SYS(pwritev2), SCMP_SYS(lseek), SCMP_SYS(close),
	SCMP_SYS(dup), SCMP_SYS(dup2), SCMP_SYS(dup3), SCMP_SYS(fcntl),
	/* the passthrough's file-system calls, all relative to O_PATH fds */
	SCMP_SYS(openat), SCMP_SYS(openat2), SCMP_SYS(newfstatat), SCMP_SYS(fstat),
	SCMP_SYS(statx), SCMP_SYS(getdents64), SCMP_SYS(readlinkat),
	SCMP_SYS(mkdirat), SCMP_SYS(mknodat), SCMP_SYS(symlinkat),
	SCMP_SYS(unlinkat), SCMP_SYS(renameat), SCMP_SYS(renameat2),
	SCMP_SYS(linkat), SCMP_SYS(fchmod), SCMP_SYS(fchmodat),
	SCMP_SYS(fchown), SCMP_SYS(fchownat), SCMP_SYS(utimensat),
	SCMP_SYS(ftruncate), SCMP_SYS(fallocate), SCMP_SYS(copy_file_range),
	SCMP_SYS(fsync), SCMP_SYS(fdatasync), SCMP_SYS(syncfs), SCMP_SYS(flock),
	SCMP_SYS(statfs), SCMP_SYS(fstatfs), SCMP_SYS(faccessat),
	SCMP_SYS(faccessat2), SCMP_SYS(fchdir), SCMP_SYS(umask),
	SCMP_SYS(getxattr), SCMP_SYS(setxattr), SCMP_SYS(listxattr),
	SCMP_SYS(removexattr), SCMP_SYS(lgetxattr), SCMP_SYS(lsetxattr),
	SCMP_SYS(llistxattr), SCMP_SYS(lremovexattr), SCMP_SYS(fgetxattr),
	SCMP_SYS(fsetxattr), SCMP_SYS(flistxattr), SCMP_SYS(fremovexattr),
	/* per-request credentials (credentials.c; setres[ug]id filtered below) */
	SCMP_SYS(setgroups), SCMP_SYS(capget), SCMP_SYS(capset),
	SCMP_SYS(getuid), SCMP_SYS(geteuid), SCMP_SYS(getgid), SCMP_SYS(getegid),
	SCMP_SYS(getresuid), SCMP_SYS(getresgid),
	/* vhost-user: the VMM's socket, guest memory, kick/call eventfds */
	SCMP_SYS(accept4), SCMP_SYS(recvmsg), SCMP_SYS(sendmsg),
	SCMP_SYS(recvfrom), SCMP_SYS(sendto), SCMP_SYS(shutdown),
	SCMP_SYS(getsockopt), SCMP_SYS(mmap), SCMP_SYS(munmap),
	SCMP_SYS(mprotect), SCMP_SYS(mremap), SCMP_SYS(madvise), SCMP_SYS(brk),
	SCMP_SYS(eventfd2), SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(pselect6),
	SCMP_SYS(epoll_create1), SCMP_SYS(epoll_ctl), SCMP_SYS(epoll_wait),
	SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_pwait2),
	/* threads (clone is filtered below), locks, signals, time */
	SCMP_SYS(futex), SCMP_SYS(set_robust_list), SCMP_SYS(rseq),
	SCMP_SYS(set_tid_address), SCMP_SYS(sched_yield),
	SCMP_SYS(sched_getaffinity), SCMP_SYS(gettid), SCMP_SYS(getpid),
	SCMP_SYS(getppid), SCMP_SYS(tgkill), SCMP_SYS(rt_sigreturn),
	SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigaction), SCMP_SYS(sigaltstack),
	SCMP_SYS(restart_syscall), SCMP_SYS(exit), SCMP_SYS(exit_group),
	SCMP_SYS(clock_gettime), SCMP_SYS(clock_getres), SCMP_SYS(gettimeofday),
	SCMP_SYS(nanosleep), SCMP_SYS(clock_nanosleep), SCMP_SYS(getrandom),
	SCMP_SYS(getrlimit),
};

/* ioctl reaches every driver: only cloning a /dev/fuse fd, and the
 * tcgetattr() stdio makes for isatty(); never TIOCSTI on a host tty. */
static const unsigned long allowed_ioctls[] = { FUSE_DEV_IOC_CLONE, TCGETS };

static int rule_add(scmp_filter_ctx ctx, int nr, unsigned count, const struct scmp_arg_cmp *cmp)
{
	int ret;

	/* names this architecture lacks resolve to negative pseudo numbers */
	if (nr < 0)
		return 0;
	ret = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, count, cmp);
	if (ret < 0) {
		char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);

		log_error("seccomp: cannot allow %s: %s", name ? name : "?", strerror(-ret));
		free(name);
	}
	return ret;
}

static int rules_add_plain(scmp_filter_ctx ctx)
{
	for (size_t i = 0; i < ARRAY_SIZE(allowed); i++) {
		int ret = rule_add(ctx, allowed[i], 0, NULL);

		if (ret < 0)
			return ret;
	}
	return 0;
}

static int rules_add_filtered(scmp_filter_ctx ctx, bool syslog, bool file_handles)
{
	/* threads only: CLONE_THREAD set and no new namespace; fork is out */
	const uint64_t clone_mask = CLONE_THREAD | CLONE_NEWNS | CLONE_NEWCGROUP |
		CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID |
		CLONE_NEWNET | CLONE_NEWTIME;
	struct scmp_arg_cmp cmp;
	int ret;

	cmp = SCMP_A0(SCMP_CMP_MASKED_EQ, clone_mask, CLONE_THREAD);
	ret = rule_add(ctx, SCMP_SYS(clone), 1, &cmp);
	/* clone3 passes its flags in memory, out of the filter's sight; ENOSYS
	 * makes glibc fall back to clone */
	if (!ret)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	/* credentials.c unshares the fs attributes to get a per-thread cwd */
	cmp = SCMP_A0(SCMP_CMP_EQ, CLONE_FS);
	if (!ret)
		ret = rule_add(ctx, SCMP_SYS(unshare), 1, &cmp);
	/* a request acts as its caller through the effective ids alone: the
	 * real and saved ids (-1: unchanged) keep the way back to the daemon */
	{
		struct scmp_arg_cmp keep[2] = {
			SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffffUL, 0xffffffffUL),
			SCMP_A2(SCMP_CMP_MASKED_EQ, 0xffffffffUL, 0xffffffffUL),
		};

		if (!ret)
			ret = rule_add(ctx, SCMP_SYS(setresuid), 2, keep);
		if (!ret)
			ret = rule_add(ctx, SCMP_SYS(setresgid), 2, keep);
	}
	/* getrlimit, never setrlimit: the new-limit pointer must be NULL */
	cmp = SCMP_A2(SCMP_CMP_EQ, 0);
	if (!ret)
		ret = rule_add(ctx, SCMP_SYS(prlimit64), 1, &cmp);
	for (size_t i = 0; !ret && i < ARRAY_SIZE(allowed_ioctls); i++) {
		cmp = SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffUL, allowed_ioctls[i]);
		ret = rule_add(ctx, SCMP_SYS(ioctl), 1, &cmp);
	}
	/* name_to_handle_at only names an fd we hold (or a path under one,
	 * inside the sandbox): the inode table with --inode-file-handles, and
	 * live migration, whose source sends handles (file-handles mode,
	 * --migration-verify-handles) and whose destination compares them.
	 * open_by_handle_at can reach any file of the file system: only for
	 * --inode-file-handles and a --migration-mode=file-handles destination. */
	if (!ret)
		ret = rule_add(ctx, SCMP_SYS(name_to_handle_at), 0, NULL);
	if (!ret && file_handles)
		ret = rule_add(ctx, SCMP_SYS(open_by_handle_at), 0, NULL);
	if (ret || !syslog)
		return ret;
	/* glibc reconnects to /dev/log after syslogd restarts (it cannot
	 * reach the path from the sandbox, but must not die trying) */
	cmp = SCMP_A0(SCMP_CMP_EQ, AF_UNIX);
	ret = rule_add(ctx, SCMP_SYS(socket), 1, &cmp);
	if (!ret)
		ret = rule_add(ctx, SCMP_SYS(connect), 0, NULL);
	return ret;
}

/* Async-signal-safe: tell which syscall was refused, then die of SIGSYS. */
static void sigsys_handler(int sig, siginfo_t *info, void *context)
{
	char text[64] = "virtiofsd: seccomp refused syscall ";
	size_t len = strlen(text);
	char digits[12];
	int n = 0;
	unsigned nr = (unsigned)info->si_syscall;

	do {
		digits[n++] = (char)('0' + nr % 10);
		nr /= 10;
	} while (nr && n < (int)sizeof(digits));
	while (n)
		text[len++] = digits[--n];
	text[len++] = '\n';
	if (write(STDERR_FILENO, text, len) < 0) {
		/* nothing left to report it with */
	}
	signal(SIGSYS, SIG_DFL);
	raise(SIGSYS);
}

static int trap_handler_install(void)
{
	struct sigaction sa = { .sa_sigaction = sigsys_handler, .sa_flags = SA_SIGINFO };

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0)
		return -errno;
	return 0;
}

static uint32_t default_action(int kind)
{
	switch (kind) {
	case SECCOMP_KIND_KILL: return SCMP_ACT_KILL_PROCESS;
	case SECCOMP_KIND_LOG: return SCMP_ACT_LOG;
	default: return SCMP_ACT_TRAP;
	}
}

int seccomp_install(int kind, bool syslog, bool file_handles)
{
	scmp_filter_ctx ctx;
	int ret;

	if (kind == SECCOMP_KIND_NONE)
		return 0;
#ifdef __SANITIZE_ADDRESS__
	/* LeakSanitizer's exit-time check ptraces the process from a forked
	 * helper and reads /proc: both are refused here */
	log_warn("seccomp: sanitizer build: run with ASAN_OPTIONS=detect_leaks=0");
#endif
	if (kind != SECCOMP_KIND_KILL && kind != SECCOMP_KIND_LOG && kind != SECCOMP_KIND_TRAP) {
		log_error("seccomp: unknown action %d", kind);
		return -EINVAL;
	}
	if (kind == SECCOMP_KIND_TRAP) {
		ret = trap_handler_install();
		if (ret < 0) {
			log_error("seccomp: SIGSYS handler: %s", strerror(-ret));
			return ret;
		}
	}
	ctx = seccomp_init(default_action(kind));
	if (!ctx) {
		log_error("seccomp: cannot create a filter");
		return -ENOMEM;
	}
	/* workers may exist already; each thread needs the filter */
	ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (!ret)
		ret = rules_add_plain(ctx);
	if (!ret)
		ret = rules_add_filtered(ctx, syslog, file_handles);
	if (!ret) {
		ret = seccomp_load(ctx);
		if (ret < 0)
			log_error("seccomp: loading the filter: %s", strerror(-ret));
	}
	seccomp_release(ctx);
	return ret < 0 ? ret : (ret > 0 ? -ESRCH : 0);
}
