/* main.c: the virtiofsd command line: parse options, prepare the process,
 * then serve one VMM over vhost-user (or the host's /dev/fuse). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "daemon/options.h"
#include "passthrough/credentials.h"
#include "sandbox/capabilities.h"
#include "sandbox/sandbox.h"
#include "sandbox/seccomp_filter.h"
#include "util/log.h"

/* Worker threads blocked in a lock wait are interrupted with SIGUSR1: its
 * handler does nothing, and without SA_RESTART the wait returns EINTR. */
static void wakeup_handler(int sig)
{
}

/* What a VMM, a service manager or a terminal sends to stop us. */
static const int stop_signals[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT };

#define NR_STOP_SIGNALS (sizeof(stop_signals) / sizeof(stop_signals[0]))

/* Set by a stop signal; the /dev/fuse transport polls it to unmount. */
static volatile sig_atomic_t stop_requested;

static void stop_handler(int sig)
{
	stop_requested = 1;
}

/* Only the /dev/fuse mode catches the stop signals: it must unmount before
 * exiting. Under vhost-user the default action (exit) is what VMMs expect;
 * the sandbox makes pid 1 of its namespace behave the same. A stop signal
 * the caller ignores (nohup) stays ignored in every mode. */
static int catch_stop_signals(void)
{
	for (size_t i = 0; i < NR_STOP_SIGNALS; i++) {
		struct sigaction sa = { .sa_handler = stop_handler }, old;

		sigemptyset(&sa.sa_mask);
		if (sigaction(stop_signals[i], NULL, &old) < 0)
			return -errno;
		if (old.sa_handler == SIG_IGN)
			continue;
		if (sigaction(stop_signals[i], &sa, NULL) < 0)
			return -errno;
	}
	return 0;
}

static int install_signal_handlers(void)
{
	struct sigaction sa = { .sa_handler = wakeup_handler };
	sigset_t unblock;

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL) < 0)
		return -errno;

	/* A VMM that goes away mid-reply must not kill us with SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);

	/* The signal mask survives exec: a launcher that left these blocked
	 * would have us deaf to a stop, and workers to their wake-up. */
	sigemptyset(&unblock);
	sigaddset(&unblock, SIGUSR1);
	for (size_t i = 0; i < NR_STOP_SIGNALS; i++)
		sigaddset(&unblock, stop_signals[i]);
	return sigprocmask(SIG_UNBLOCK, &unblock, NULL) < 0 ? -errno : 0;
}

static uint64_t read_nr_open(void)
{
	FILE *f = fopen("/proc/sys/fs/nr_open", "re");
	unsigned long long value = 0;
	if (f) {
		if (fscanf(f, "%llu", &value) != 1)
			value = 0;
		fclose(f);
	}
	return value;
}

/* Like the Rust virtiofsd: raise the fd limit to fs.nr_open unless told
 * otherwise (0 leaves it alone); every inode the guest looks up holds an fd. */
static int raise_fd_limit(const struct options *opts)
{
	uint64_t want = opts->rlimit_nofile_set ? opts->rlimit_nofile : read_nr_open();
	if (want == 0)
		return 0;
	struct rlimit limit = { .rlim_cur = want, .rlim_max = want };
	if (setrlimit(RLIMIT_NOFILE, &limit) == 0)
		return 0;
	int err = errno;
	if (opts->rlimit_nofile_set) {
		log_error("--rlimit-nofile=%llu: %s", (unsigned long long)want, strerror(err));
		return -err;
	}
	/* Without CAP_SYS_RESOURCE the hard limit is as far as we may go. */
	if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
		limit.rlim_cur = limit.rlim_max;
		setrlimit(RLIMIT_NOFILE, &limit);
	}
	if (getrlimit(RLIMIT_NOFILE, &limit) < 0)
		limit.rlim_cur = 0;
	log_warn("cannot raise the open file limit to %llu (%s): it is %llu, which bounds the "
		 "inodes and files the guest can hold", (unsigned long long)want, strerror(err),
		 (unsigned long long)limit.rlim_cur);
	return 0;
}

static int prepare_process(const struct options *opts)
{
	int err = opts->fuse_mount ? catch_stop_signals() : 0;
	if (err)
		return err;
	/* The guest applied its umask already; ours must not mask again. */
	umask(0);
	err = install_signal_handlers();
	if (err)
		return err;
	err = raise_fd_limit(opts);
	if (err)
		return err;
	/* Our own supplementary groups would otherwise grant every request
	 * their access (CVE-2022-0358). A daemon that is not root may not
	 * drop them here and acts as nobody but itself here; in the user
	 * namespace of its sandbox, where it may act as others, the sandbox
	 * drops them. */
	if (geteuid() != 0)
		return 0;
	err = credentials_drop_supplementary_groups();
	if (err) {
		log_error("dropping supplementary groups: %s", strerror(-err));
		return err;
	}
	return 0;
}

static int open_listen_socket(const struct options *opts)
{
	if (opts->fd < 0)
		return vhost_user_listen(opts->socket_path, opts->socket_group);
	struct stat st;
	if (fstat(opts->fd, &st) < 0 || !S_ISSOCK(st.st_mode)) {
		log_error("--fd=%d is not an open socket", opts->fd);
		return -EBADF;
	}
	return opts->fd;
}

static int serve_vhost_user(struct daemon *d, const struct options *opts, int listen_fd)
{
	if (opts->socket_path)
		log_info("waiting for a vhost-user connection on %s", opts->socket_path);
	int ret = daemon_serve_vhost_user(d, listen_fd);
	close(listen_fd);
	return ret;
}

static int sandbox_kind(enum sandbox_mode mode)
{
	switch (mode) {
	case SANDBOX_NAMESPACE: return SANDBOX_KIND_NAMESPACE;
	case SANDBOX_CHROOT: return SANDBOX_KIND_CHROOT;
	case SANDBOX_NONE: break;
	}
	return SANDBOX_KIND_NONE;
}

static int seccomp_kind(enum seccomp_mode mode)
{
	switch (mode) {
	case SECCOMP_KILL: return SECCOMP_KIND_KILL;
	case SECCOMP_LOG: return SECCOMP_KIND_LOG;
	case SECCOMP_TRAP: return SECCOMP_KIND_TRAP;
	case SECCOMP_NONE: break;
	}
	return SECCOMP_KIND_NONE;
}

/* --daemonize: the first process ends as the daemon did, a signal
 * included (re-raised, as the sandbox's waiting parent does). */
static __attribute__((noreturn)) void exit_like(int status)
{
	sigset_t sig;

	if (WIFEXITED(status))
		_exit(WEXITSTATUS(status) ? WEXITSTATUS(status) : 1);
	signal(WTERMSIG(status), SIG_DFL);
	sigemptyset(&sig);
	sigaddset(&sig, WTERMSIG(status));
	sigprocmask(SIG_UNBLOCK, &sig, NULL);
	raise(WTERMSIG(status));
	_exit(128 + WTERMSIG(status));
}

/* The first process waits for one byte from the daemon, which comes once
 * it serves (daemon_notify_ready), and exits 0. Until then it passes the
 * stop signals on (held since before the fork, so none is lost), and if
 * the daemon ends first, it ends as the daemon did. */
static __attribute__((noreturn)) void daemonize_wait(pid_t child, int ready,
						    const sigset_t *held)
{
	struct pollfd fds[2] = { { .fd = ready, .events = POLLIN } };
	int status = 0;

	fds[1].fd = signalfd(-1, held, SFD_CLOEXEC);
	fds[1].events = POLLIN;
	for (;;) {
		struct signalfd_siginfo si;
		ssize_t n;
		char c;

		if (poll(fds, fds[1].fd >= 0 ? 2 : 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (fds[0].revents) {
			do {
				n = read(ready, &c, 1);
			} while (n < 0 && errno == EINTR);
			if (n == 1)
				_exit(0);
			break;	/* every copy of the write end is gone: it ended */
		}
		if (fds[1].fd >= 0 && (fds[1].revents & POLLIN) &&
		    read(fds[1].fd, &si, sizeof(si)) == (ssize_t)sizeof(si) &&
		    si.ssi_signo != SIGCHLD)
			kill(child, (int)si.ssi_signo);
	}
	while (waitpid(child, &status, 0) < 0) {
		if (errno != EINTR)
			_exit(1);
	}
	exit_like(status);
}

static int redirect(int fd, const char *path, int flags)
{
	int new = open(path, flags | O_CLOEXEC);

	if (new < 0)
		return -errno;
	if (new != fd && dup3(new, fd, 0) < 0) {
		int err = -errno;

		close(new);
		return err;
	}
	if (new != fd)
		close(new);
	return 0;
}

/* Like QEMU's virtiofsd without -f: fork once the socket listens, a new
 * session without a terminal, cwd "/", stdin and stdout on /dev/null;
 * stderr too when logging to syslog, else it keeps where the caller
 * pointed our log. The first process stays until we are ready to serve
 * (after the sandbox, capabilities and seccomp, which can still fail),
 * so that a caller can connect as soon as it has exited 0. The child
 * returns, with *ready_fd the pipe to write to then. */
static int daemonize(const struct options *opts, int *ready_fd)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL }, caller_chld;
	sigset_t held, caller_mask;
	int pipefd[2], err;
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		err = -errno;
		log_error("--daemonize: pipe: %s", strerror(-err));
		return err;
	}
	sigemptyset(&held);
	for (size_t i = 0; i < NR_STOP_SIGNALS; i++)
		sigaddset(&held, stop_signals[i]);
	sigaddset(&held, SIGCHLD);
	sigprocmask(SIG_BLOCK, &held, &caller_mask);
	/* an ignored SIGCHLD would reap the daemon behind the waiter's back */
	sigemptyset(&dfl.sa_mask);
	sigaction(SIGCHLD, &dfl, &caller_chld);
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		err = -errno;
		log_error("--daemonize: fork: %s", strerror(-err));
		sigaction(SIGCHLD, &caller_chld, NULL);
		sigprocmask(SIG_SETMASK, &caller_mask, NULL);
		close(pipefd[0]);
		close(pipefd[1]);
		return err;
	}
	if (pid > 0) {
		close(pipefd[1]);
		daemonize_wait(pid, pipefd[0], &held);
	}
	/* a stop signal passed on meanwhile is delivered now */
	sigaction(SIGCHLD, &caller_chld, NULL);
	sigprocmask(SIG_SETMASK, &caller_mask, NULL);
	close(pipefd[0]);
	*ready_fd = pipefd[1];
	if (setsid() < 0) {
		err = -errno;
		log_error("--daemonize: setsid: %s", strerror(-err));
		return err;
	}
	if (chdir("/") < 0) {
		err = -errno;
		log_error("--daemonize: chdir /: %s", strerror(-err));
		return err;
	}
	err = redirect(STDIN_FILENO, "/dev/null", O_RDONLY);
	if (!err)
		err = redirect(STDOUT_FILENO, "/dev/null", O_WRONLY);
	if (!err && opts->syslog)
		err = redirect(STDERR_FILENO, "/dev/null", O_WRONLY);
	if (err)
		log_error("--daemonize: stdio on /dev/null: %s", strerror(-err));
	return err;
}

/* Paths the daemon uses after daemonize()'s chdir("/"). */
static int make_path_absolute(const char *what, char **path)
{
	char *absolute = realpath(*path, NULL);

	if (!absolute) {
		int err = -errno;

		log_error("%s %s: %s", what, *path, strerror(-err));
		return err;
	}
	free(*path);
	*path = absolute;
	return 0;
}

/* Order matters: the listen socket is opened on the host's paths, the
 * sandbox then makes the shared directory "/" (forking into a new pid
 * namespace, so no thread may exist yet), capabilities are dropped, and
 * the seccomp filter goes on last, once everything that needs more than
 * serving requests is done. */
static int confine(struct options *opts, int listen_fd, int ready_fd, int *proc_self_fd)
{
	int keep[2], nkeep = 0;

	*proc_self_fd = -1;
	int err = capabilities_validate(opts->modcaps);
	if (err < 0)
		return err;
	/* The sandbox wants an absolute path to bind-mount; podman passes "." */
	if (opts->sandbox != SANDBOX_NONE) {
		err = make_path_absolute("shared directory", &opts->shared_dir);
		if (err < 0)
			return err;
	}
	if (listen_fd >= 0)
		keep[nkeep++] = listen_fd;
	if (ready_fd >= 0)
		keep[nkeep++] = ready_fd;
	struct sandbox_config config = {
		.kind = sandbox_kind(opts->sandbox),
		.shared_dir = opts->shared_dir,
		.keep_fds = keep,
		.keep_count = (unsigned)nkeep,
		.syslog = opts->syslog,
		.uid_ranges = opts->uid_ranges,
		.uid_count = opts->uid_range_count,
		.gid_ranges = opts->gid_ranges,
		.gid_count = opts->gid_range_count,
	};
	err = sandbox_enter(&config, proc_self_fd);
	if (err < 0)
		return err;
	if (opts->sandbox != SANDBOX_NONE)
		return capabilities_drop(opts->modcaps);
	return 0;
}

int main(int argc, char **argv)
{
	struct options opts;
	char err_text[512];
	if (options_parse(argc, argv, &opts, err_text, sizeof(err_text)) < 0) {
		fprintf(stderr, "virtiofsd: %s\n", err_text);
		return 1;
	}
	if (opts.show_help) {
		fputs(options_usage(), stdout);
		options_free(&opts);
		return 0;
	}
	if (opts.show_version) {
		printf("virtiofsd %s\n", VIRTIOFSD_VERSION);
		options_free(&opts);
		return 0;
	}
	if (opts.print_capabilities) {
		fputs(options_capabilities_json(), stdout);
		options_free(&opts);
		return 0;
	}

	log_init(opts.log_level, opts.syslog);
	int status = 1;
	int listen_fd = -1;
	int ready_fd = -1;
	int proc_self_fd;
	struct daemon d;
	if (prepare_process(&opts) < 0)
		goto out;
	if (!opts.fuse_mount) {
		listen_fd = open_listen_socket(&opts);
		if (listen_fd < 0) {
			log_error("socket %s: %s", opts.socket_path ? opts.socket_path : "(fd)",
				  strerror(-listen_fd));
			goto out;
		}
	}
	if (opts.daemonize) {
		if (make_path_absolute("shared directory", &opts.shared_dir) < 0 ||
		    (opts.fuse_mount && make_path_absolute("--fuse-mount", &opts.fuse_mount) < 0))
			goto out;
		if (daemonize(&opts, &ready_fd) < 0)
			goto out;
	}
	if (confine(&opts, listen_fd, ready_fd, &proc_self_fd) < 0)
		goto out;
	if (daemon_init(&d, &opts, proc_self_fd) < 0)
		goto out;
	d.ready_fd = ready_fd;
	ready_fd = -1;
	if (seccomp_install(seccomp_kind(opts.seccomp), opts.syslog,
			    opts.inode_file_handles != INODE_FILE_HANDLES_NEVER ||
			    opts.migration_mode == MIGRATION_FILE_HANDLES) < 0)
		goto out_fini;
	int ret = opts.fuse_mount ? daemon_serve_fuse_dev(&d, &stop_requested)
				  : serve_vhost_user(&d, &opts, listen_fd);
	status = ret == 0 ? 0 : 1;
out_fini:
	if (d.ready_fd >= 0)
		close(d.ready_fd);
	daemon_fini(&d);
out:
	if (ready_fd >= 0)
		close(ready_fd);
	options_free(&opts);
	return status;
}
