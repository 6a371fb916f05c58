/* main.c: the virtiofsd command line: parse options, prepare the process,
 * then serve one VMM over vhost-user (or the host's /dev/fuse). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "daemon/options.h"
#include "passthrough/credentials.h"
#include "util/log.h"

/* Worker threads blocked in a lock wait are interrupted with SIGUSR1: its
 * handler does nothing, and without SA_RESTART the wait returns EINTR. */
static void wakeup_handler(int sig)
{
}

/* Set by SIGINT/SIGTERM; the /dev/fuse transport polls it to unmount. */
static volatile sig_atomic_t stop_requested;

static void stop_handler(int sig)
{
	stop_requested = 1;
}

/* Only the /dev/fuse mode catches SIGINT/SIGTERM: it must unmount before
 * exiting. Under vhost-user the default action (exit) is what VMMs expect. */
static int catch_stop_signals(void)
{
	struct sigaction sa = { .sa_handler = stop_handler };
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0)
		return -errno;
	return 0;
}

static int install_signal_handlers(void)
{
	struct sigaction sa = { .sa_handler = wakeup_handler };
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL) < 0)
		return -errno;

	/* A VMM that goes away mid-reply must not kill us with SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	return 0;
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
	log_warn("cannot raise the open file limit to %llu: %s", (unsigned long long)want,
		 strerror(err));
	return 0;
}

static int prepare_process(const struct options *opts)
{
	if (opts->fuse_mount && catch_stop_signals() < 0)
		return -errno;
	/* The guest applied its umask already; ours must not mask again. */
	umask(0);
	int err = install_signal_handlers();
	if (err)
		return err;
	err = raise_fd_limit(opts);
	if (err)
		return err;
	/* Our own supplementary groups would otherwise grant every request
	 * their access (CVE-2022-0358). */
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

static int serve_vhost_user(struct daemon *d, const struct options *opts)
{
	int listen_fd = open_listen_socket(opts);
	if (listen_fd < 0) {
		log_error("socket %s: %s", opts->socket_path ? opts->socket_path : "(fd)",
			  strerror(-listen_fd));
		return listen_fd;
	}
	if (opts->socket_path)
		log_info("waiting for a vhost-user connection on %s", opts->socket_path);
	int ret = daemon_serve_vhost_user(d, listen_fd);
	close(listen_fd);
	return ret;
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
	struct daemon d;
	if (prepare_process(&opts) < 0 || daemon_init(&d, &opts) < 0)
		goto out;
	int ret = opts.fuse_mount ? daemon_serve_fuse_dev(&d, &stop_requested) : serve_vhost_user(&d, &opts);
	status = ret == 0 ? 0 : 1;
	daemon_fini(&d);
out:
	options_free(&opts);
	return status;
}
