/* test_stop_signals.c: a stop signal (SIGTERM, SIGINT, SIGHUP, SIGQUIT)
 * ends our daemon at whatever point of its life it arrives: before the
 * sandbox, while it unshares and forks, in the sandboxed child before and
 * after pivot_root, while it waits for the frontend and while it serves.
 *
 * Each try starts the daemon in its own process group and sends one
 * signal, to the daemon or to its whole group, at one point: after a delay
 * spread over the whole start-up, after a delay spread over the time from
 * the socket's appearance (inotify) to readiness (that is the sandbox
 * entry), as soon as it logs that it waits for a connection, or once a
 * client has connected and been served; one try in eight starts it with
 * the stop signals blocked, as a careless launcher would. It then asserts
 * that:
 *   - the daemon exits within VFS_STOP_WAIT_MS (default 3000 ms) and no
 *     member of its process group outlives it;
 *   - it ended by that signal (or with 128 + the signal, or 0 in the
 *     /dev/fuse mode, which catches the signal to unmount);
 *   - the socket directory holds nothing but the socket (the one the
 *     daemon created, which it leaves, see vhost_user.h) and a socket of
 *     someone else's that was there before; no temporary name;
 *   - in the /dev/fuse mode, the mount point is no longer mounted.
 *
 * Sandbox modes: namespace (the default, most tries), chroot and none
 * (root only), and --fuse-mount (root and /dev/fuse only).
 *
 * And one stop of the /dev/fuse mode with its mount kept busy by an open
 * file and a blocked lock request: detaching the mount does not end the
 * connection then, so the daemon must wake its workers out of their read
 * and out of the lock wait itself.
 *
 * Usage: test-stop-signals [TRIES]; or VFS_STOP_TRIES (default 300).
 * VFS_STOP_SEED picks another spread of tries; VFS_TEST_VERBOSE prints
 * each try. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "virtiofs_client.h"

#define SOCK_NAME	"vfs.sock"
#define FOREIGN_NAME	"foreign.sock"
#define ERR_KEEP	4096

static const int stop_signals[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT };
#define NR_STOP (sizeof(stop_signals) / sizeof(stop_signals[0]))

enum mode { M_NAMESPACE, M_CHROOT, M_NONE, M_FUSE, NR_MODES };
static const char *const mode_names[] = { "namespace", "chroot", "none", "fuse" };

enum trigger { T_DELAY, T_SOCKET_DELAY, T_READY, T_SERVING, NR_TRIGGERS };
static const char *const trigger_names[] = { "delay", "socket+delay", "ready", "serving" };

struct try {
	enum mode mode;
	enum trigger trigger;
	int sig;
	bool to_group;
	bool launcher_blocks;	/* execs the daemon with the stop signals blocked */
	bool remote_locks;	/* -o posix_lock: the daemon takes the locks */
	unsigned frac_ppm;	/* where in the stage the delay falls */
};

/* One daemon under test and what the test has seen of it. */
struct watch {
	pid_t pid;
	int pidfd, err_fd, ino_fd;
	bool exited, sock_seen, ready;
	ino_t sock_ino;
	int64_t spawned_us, sock_us, ready_us, signalled_us;
	char err[ERR_KEEP];
	size_t err_len;
};

enum until { UNTIL_TIME, UNTIL_SOCKET, UNTIL_READY, UNTIL_EXIT };

/* The last durations seen of a start-up stage; delays are spread over
 * their median, which one slow start does not stretch. */
struct samples {
	int64_t v[64];
	unsigned n, next;
};

static struct {
	char share[300], sockdir[300], sock[320], foreign[320], mnt[300];
	ino_t foreign_ino;
	bool available[NR_MODES];
	struct samples startup[NR_MODES];	/* spawn to ready */
	struct samples entry[NR_MODES];		/* socket to ready: the sandbox entry */
	int64_t wait_ms;
	bool verbose;
} cfg;

static struct {
	unsigned tries, per_mode[NR_MODES], per_trigger[NR_TRIGGERS];
	unsigned left_running, outlived, bad_status, early_exit, stray, foreign_gone;
	unsigned mounts_left, other;
} stats;

/* The daemon under test, killed if the test itself is stopped. */
static volatile pid_t live_group;

static void on_stop(int sig)
{
	if (live_group > 0)
		kill(-live_group, SIGKILL);
	signal(sig, SIG_DFL);
	raise(sig);
}

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void samples_add(struct samples *s, int64_t v)
{
	s->v[s->next] = v;
	s->next = (s->next + 1) % (sizeof(s->v) / sizeof(s->v[0]));
	if (s->n < sizeof(s->v) / sizeof(s->v[0]))
		s->n++;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static int64_t samples_median(const struct samples *s)
{
	int64_t sorted[sizeof(s->v) / sizeof(s->v[0])];

	if (!s->n)
		return 0;
	memcpy(sorted, s->v, s->n * sizeof(sorted[0]));
	qsort(sorted, s->n, sizeof(sorted[0]), cmp_i64);
	return sorted[s->n / 2];
}

/* A delay at frac_ppm of 1.3 times the stage's usual length. */
static int64_t spread(const struct samples *s, unsigned frac_ppm)
{
	return samples_median(s) * 13 / 10 * frac_ppm / 1000000;
}

/* xorshift64*: a reproducible spread of tries for a given seed. */
static uint64_t rng_state;

static uint32_t rng_next(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 2685821657736338717ull) >> 32);
}

static void err_append(struct watch *w, const char *buf, size_t len)
{
	if (len > sizeof(w->err) - 1 - w->err_len)
		len = sizeof(w->err) - 1 - w->err_len;
	memcpy(w->err + w->err_len, buf, len);
	w->err_len += len;
	w->err[w->err_len] = '\0';
}

static void stderr_drain(struct watch *w, enum mode mode)
{
	const char *marker = mode == M_FUSE ? "through /dev/fuse"
					    : "waiting for a vhost-user connection";
	char buf[4096];
	ssize_t n = read(w->err_fd, buf, sizeof(buf));

	if (n <= 0) {
		/* every holder of the write end is gone */
		if (n == 0 || errno != EAGAIN) {
			close(w->err_fd);
			w->err_fd = -1;
		}
		return;
	}
	err_append(w, buf, (size_t)n);
	if (!w->ready && strstr(w->err, marker)) {
		w->ready = true;
		w->ready_us = now_us();
	}
}

static void inotify_drain(struct watch *w)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n = read(w->ino_fd, buf, sizeof(buf));

	for (ssize_t off = 0; n > 0 && off < n;) {
		const struct inotify_event *ev = (const void *)(buf + off);
		struct stat st;

		if (ev->len && !strcmp(ev->name, SOCK_NAME) && !w->sock_seen &&
		    lstat(cfg.sock, &st) == 0) {
			w->sock_seen = true;
			w->sock_ino = st.st_ino;
			w->sock_us = now_us();
		}
		off += (ssize_t)(sizeof(*ev) + ev->len);
	}
}

/* Waits, on the daemon's exit, its stderr and the socket directory, until
 * 'until' holds. Returns 0 then, -ESRCH when the daemon exited first, or
 * -ETIMEDOUT at the deadline (which is the goal for UNTIL_TIME). */
static int watch_until(struct watch *w, enum mode mode, enum until until, int64_t deadline)
{
	for (;;) {
		if ((until == UNTIL_SOCKET && w->sock_seen) || (until == UNTIL_READY && w->ready) ||
		    (until == UNTIL_EXIT && w->exited))
			return 0;
		if (w->exited)
			return -ESRCH;
		int64_t left = deadline - now_us();
		if (left <= 0)
			return until == UNTIL_TIME ? 0 : -ETIMEDOUT;
		struct pollfd pfd[3] = {
			{ .fd = w->pidfd, .events = POLLIN },
			{ .fd = w->err_fd, .events = POLLIN },
			{ .fd = w->ino_fd, .events = POLLIN },
		};
		struct timespec ts = { left / 1000000, (left % 1000000) * 1000 };
		if (ppoll(pfd, 3, &ts, NULL) < 0 && errno != EINTR)
			return -errno;
		if (pfd[1].revents)
			stderr_drain(w, mode);
		if (pfd[2].revents)
			inotify_drain(w);
		if (pfd[0].revents)
			w->exited = true;
	}
}

static void daemon_exec(const struct try *t, int err_fd)
{
	char sockarg[400], dirarg[400], mntarg[400], sandbox[64];
	const char *argv[12];
	struct rlimit no_core = { 0, 0 };
	sigset_t none;
	unsigned n = 0;
	int null = open("/dev/null", O_RDWR);

	setpgid(0, 0);
	/* As a service manager starts it: nothing blocked or ignored, and a
	 * SIGQUIT dumps no core here. Or as a careless launcher would, with
	 * the stop signals left blocked (the mask survives exec). */
	sigemptyset(&none);
	if (t->launcher_blocks)
		for (unsigned i = 0; i < NR_STOP; i++)
			sigaddset(&none, stop_signals[i]);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (unsigned i = 0; i < NR_STOP; i++)
		signal(stop_signals[i], SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	setrlimit(RLIMIT_CORE, &no_core);
	dup2(null, STDIN_FILENO);
	dup2(null, STDOUT_FILENO);
	dup2(err_fd, STDERR_FILENO);

	snprintf(dirarg, sizeof(dirarg), "--shared-dir=%s", cfg.share);
	argv[n++] = OUR_DAEMON_PATH;
	argv[n++] = dirarg;
	argv[n++] = "--log-level=info";
	if (t->mode == M_FUSE) {
		snprintf(mntarg, sizeof(mntarg), "--fuse-mount=%s", cfg.mnt);
		argv[n++] = mntarg;
		if (t->remote_locks)
			argv[n++] = "-oposix_lock";
	} else {
		snprintf(sockarg, sizeof(sockarg), "--socket-path=%s", cfg.sock);
		snprintf(sandbox, sizeof(sandbox), "--sandbox=%s", mode_names[t->mode]);
		argv[n++] = sockarg;
		argv[n++] = sandbox;
	}
	argv[n] = NULL;
	execv(argv[0], (char **)argv);
	_exit(127);
}

static int watch_start(struct watch *w, const struct try *t)
{
	int err_pipe[2];

	memset(w, 0, sizeof(*w));
	w->pidfd = w->err_fd = w->ino_fd = -1;
	if (pipe2(err_pipe, O_CLOEXEC) < 0)
		return -errno;
	w->err_fd = err_pipe[0];
	fcntl(w->err_fd, F_SETFL, O_NONBLOCK);
	w->ino_fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (w->ino_fd < 0 || inotify_add_watch(w->ino_fd, cfg.sockdir, IN_MOVED_TO | IN_CREATE) < 0)
		return -errno;
	w->spawned_us = now_us();
	w->pid = fork();
	if (w->pid < 0)
		return -errno;
	if (w->pid == 0)
		daemon_exec(t, err_pipe[1]);
	close(err_pipe[1]);
	setpgid(w->pid, w->pid);	/* no race with the child's own call */
	live_group = w->pid;
	w->pidfd = (int)syscall(SYS_pidfd_open, w->pid, 0);
	return w->pidfd < 0 ? -errno : 0;
}

static void watch_close(struct watch *w)
{
	if (w->pidfd >= 0)
		close(w->pidfd);
	if (w->err_fd >= 0)
		close(w->err_fd);
	if (w->ino_fd >= 0)
		close(w->ino_fd);
}

/* Gets the daemon to the try's point and sends the signal. A client that
 * connected is left for the caller to close once the daemon is gone. */
static int reach_and_signal(struct watch *w, const struct try *t, struct vfs_client **client)
{
	int64_t deadline = w->spawned_us + 10 * 1000000;
	int ret = 0;

	switch (t->trigger) {
	case T_DELAY:
		ret = watch_until(w, t->mode, UNTIL_TIME,
				  w->spawned_us + spread(&cfg.startup[t->mode], t->frac_ppm));
		break;
	case T_SOCKET_DELAY:
		ret = watch_until(w, t->mode, UNTIL_SOCKET, deadline);
		if (ret == 0)
			ret = watch_until(w, t->mode, UNTIL_TIME,
					  w->sock_us + spread(&cfg.entry[t->mode], t->frac_ppm));
		break;
	case T_READY:
	case T_SERVING:
		ret = watch_until(w, t->mode, UNTIL_READY, deadline);
		break;
	default:
		break;
	}
	if (ret == 0 && t->trigger == T_SERVING && t->mode != M_FUSE) {
		struct vfs_client_options opts = { .timeout_ms = 5000, .no_destroy = true };
		struct fuse_attr_out attr;

		*client = vfs_client_open(cfg.sock, &opts, &ret);
		if (*client)
			ret = vfs_getattr(*client, FUSE_ROOT_ID, VFS_NO_FH, &attr);
		if (ret)
			fprintf(stderr, "  serving: %s\n", strerror(-ret));
	}
	if (ret)
		return ret;
	w->signalled_us = now_us();
	return kill(t->to_group ? -w->pid : w->pid, t->sig) < 0 ? -errno : 0;
}

static void group_print(pid_t pgid)
{
	DIR *proc = opendir("/proc");
	struct dirent *de;

	while (proc && (de = readdir(proc))) {
		char path[300], line[512];
		FILE *f;
		int pid = atoi(de->d_name);

		if (pid <= 0 || getpgid(pid) != pgid)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/status", pid);
		f = fopen(path, "re");
		fprintf(stderr, "    pid %d:", pid);
		while (f && fgets(line, sizeof(line), f)) {
			if (!strncmp(line, "State:", 6) || !strncmp(line, "NSpid:", 6) ||
			    !strncmp(line, "SigCgt:", 7) || !strncmp(line, "SigBlk:", 7) ||
			    !strncmp(line, "SigPnd:", 7) || !strncmp(line, "ShdPnd:", 7)) {
				line[strcspn(line, "\n")] = '\0';
				fprintf(stderr, " %s;", line);
			}
		}
		if (f)
			fclose(f);
		fputc('\n', stderr);
	}
	if (proc)
		closedir(proc);
}

/* Bounded poll: is every member of the group gone? We are a subreaper,
 * so orphans come to us and are reaped here. */
static bool group_gone(pid_t pgid, int64_t deadline)
{
	const struct timespec tick = { 0, 1000 * 1000 };

	for (;;) {
		while (waitpid(-pgid, NULL, WNOHANG) > 0)
			;
		if (kill(-pgid, 0) < 0 && errno == ESRCH)
			return true;
		if (now_us() >= deadline)
			return false;
		nanosleep(&tick, NULL);
	}
}

static void group_kill(pid_t pgid)
{
	kill(-pgid, SIGKILL);
	group_gone(pgid, now_us() + 5 * 1000000);
}

static bool status_is_stop(int status, const struct try *t)
{
	if (WIFSIGNALED(status))
		return WTERMSIG(status) == t->sig;
	if (!WIFEXITED(status))
		return false;
	if (t->mode == M_FUSE && WEXITSTATUS(status) == 0)
		return true;
	return WEXITSTATUS(status) == 128 + t->sig;
}

static void status_text(int status, char *buf, size_t len)
{
	if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d", WTERMSIG(status));
	else
		snprintf(buf, len, "exit status %d", WEXITSTATUS(status));
}

/* Only the daemon's socket, and the foreign one untouched. */
static int sockdir_check(const struct watch *w)
{
	DIR *dir = opendir(cfg.sockdir);
	struct dirent *de;
	bool foreign = false;
	int problems = 0;

	if (!dir)
		return 1;
	while ((de = readdir(dir))) {
		struct stat st;
		char path[700];

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", cfg.sockdir, de->d_name);
		if (lstat(path, &st) < 0)
			continue;
		if (!strcmp(de->d_name, FOREIGN_NAME) && st.st_ino == cfg.foreign_ino) {
			foreign = true;
		} else if (!strcmp(de->d_name, SOCK_NAME) && S_ISSOCK(st.st_mode) &&
			   (!w->sock_seen || st.st_ino == w->sock_ino)) {
			continue;
		} else {
			fprintf(stderr, "  stray file left: %s\n", de->d_name);
			/* reported once: the next tries start clean */
			unlink(path);
			stats.stray++;
			problems++;
		}
	}
	closedir(dir);
	if (!foreign) {
		fprintf(stderr, "  the foreign socket %s is gone\n", FOREIGN_NAME);
		stats.foreign_gone++;
		problems++;
	}
	return problems;
}

static bool mounted(const char *path)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096], point[4096];
	bool found = false;

	while (f && !found && fgets(line, sizeof(line), f))
		found = sscanf(line, "%*s %*s %*s %*s %4095s", point) == 1 && !strcmp(point, path);
	if (f)
		fclose(f);
	return found;
}

static void try_describe(const struct try *t, const struct watch *w)
{
	fprintf(stderr, "  try: --sandbox=%s, %s, %s to the %s%s", mode_names[t->mode],
		trigger_names[t->trigger], strsignal(t->sig), t->to_group ? "group" : "daemon",
		t->launcher_blocks ? ", started with it blocked" : "");
	if (w->signalled_us)
		fprintf(stderr, ", sent %" PRId64 " us after start", w->signalled_us - w->spawned_us);
	if (w->sock_seen)
		fprintf(stderr, " (socket at %" PRId64 " us)", w->sock_us - w->spawned_us);
	if (w->ready)
		fprintf(stderr, " (ready at %" PRId64 " us)", w->ready_us - w->spawned_us);
	fprintf(stderr, "\n  daemon's stderr:\n%s\n", w->err);
}

/* Runs one try; returns the number of failed assertions. */
static int try_run(const struct try *t)
{
	struct vfs_client *client = NULL;
	struct watch w;
	int status = 0, problems = 0;
	char text[64];

	stats.tries++;
	stats.per_mode[t->mode]++;
	stats.per_trigger[t->trigger]++;
	unlink(cfg.sock);
	int ret = watch_start(&w, t);
	if (ret == 0)
		ret = reach_and_signal(&w, t, &client);
	if (ret) {
		fprintf(stderr, "  FAIL: %s before the signal: %s\n",
			ret == -ESRCH ? "the daemon exited" : "could not get there",
			strerror(-ret));
		stats.early_exit += ret == -ESRCH;
		stats.other += ret != -ESRCH;
		problems++;
	} else if (watch_until(&w, t->mode, UNTIL_EXIT, now_us() + cfg.wait_ms * 1000) < 0) {
		fprintf(stderr, "  FAIL: still running %" PRId64 " ms after the signal:\n",
			cfg.wait_ms);
		group_print(w.pid);
		stats.left_running++;
		problems++;
	}
	if (problems && w.pid > 0)
		group_kill(w.pid);
	if (w.pid > 0)
		waitpid(w.pid, &status, 0);
	if (!problems && !group_gone(w.pid, now_us() + 2 * 1000000)) {
		fprintf(stderr, "  FAIL: the daemon exited, members of its group did not:\n");
		group_print(w.pid);
		group_kill(w.pid);
		stats.outlived++;
		problems++;
	}
	if (!problems && !status_is_stop(status, t)) {
		status_text(status, text, sizeof(text));
		fprintf(stderr, "  FAIL: the daemon ended with %s, not by %s\n", text,
			strsignal(t->sig));
		stats.bad_status++;
		problems++;
	}
	vfs_client_close(client);
	if (t->mode == M_FUSE && mounted(cfg.mnt)) {
		fprintf(stderr, "  FAIL: %s is still mounted\n", cfg.mnt);
		umount2(cfg.mnt, MNT_DETACH);
		stats.mounts_left++;
		problems++;
	}
	problems += sockdir_check(&w);
	if (problems || cfg.verbose)
		try_describe(t, &w);
	/* a start-up the signal did not cut short */
	if (!problems && w.ready && w.ready_us <= w.signalled_us) {
		samples_add(&cfg.startup[t->mode], w.ready_us - w.spawned_us);
		if (w.sock_seen)
			samples_add(&cfg.entry[t->mode], w.ready_us - w.sock_us);
	}
	live_group = 0;
	watch_close(&w);
	return problems;
}

static bool fuse_usable(void)
{
	int fd;

	if (geteuid() != 0)
		return false;
	fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* A socket of someone else's next to ours: the daemon must leave it. */
static int foreign_socket_make(void)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct stat st;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (strlen(cfg.foreign) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	memcpy(addr.sun_path, cfg.foreign, strlen(cfg.foreign) + 1);
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    lstat(cfg.foreign, &st) < 0)
		return -errno;
	close(fd);
	cfg.foreign_ino = st.st_ino;
	return 0;
}

static int setup(void)
{
	const char *tmp = t_tmpdir();

	snprintf(cfg.share, sizeof(cfg.share), "%s/share", tmp);
	snprintf(cfg.sockdir, sizeof(cfg.sockdir), "%s/sock", tmp);
	snprintf(cfg.mnt, sizeof(cfg.mnt), "%s/mnt", tmp);
	snprintf(cfg.sock, sizeof(cfg.sock), "%s/%s", cfg.sockdir, SOCK_NAME);
	snprintf(cfg.foreign, sizeof(cfg.foreign), "%s/%s", cfg.sockdir, FOREIGN_NAME);
	if (mkdir(cfg.share, 0755) < 0 || mkdir(cfg.sockdir, 0755) < 0 ||
	    mkdir(cfg.mnt, 0755) < 0)
		return -errno;
	/* orphans of the daemon's come to us, to be seen and reaped */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		return -errno;
	for (unsigned i = 0; i < NR_STOP; i++)
		signal(stop_signals[i], on_stop);
	signal(SIGPIPE, SIG_IGN);
	cfg.available[M_NAMESPACE] = true;
	cfg.available[M_CHROOT] = geteuid() == 0;
	cfg.available[M_NONE] = true;
	cfg.available[M_FUSE] = fuse_usable();
	return foreign_socket_make();
}

/* A few tries per mode at the ready point measure how long start-up
 * takes, which the delays are spread over. */
static void calibrate(void)
{
	for (int m = 0; m < NR_MODES; m++) {
		if (!cfg.available[m]) {
			printf("skip --%s: needs root%s\n", m == M_FUSE ? "fuse-mount" : mode_names[m],
			       m == M_FUSE ? " and /dev/fuse" : "");
			continue;
		}
		for (unsigned i = 0; i < 3; i++) {
			struct try t = { .mode = m, .trigger = T_READY, .sig = stop_signals[i] };

			CHECK(try_run(&t) == 0, "calibration try %u of --sandbox=%s", i,
			      mode_names[m]);
		}
	}
}

/* Most tries hit the namespace sandbox's entry, where signals were lost. */
static struct try try_pick(void)
{
	static const enum mode modes[] = { M_NAMESPACE, M_NAMESPACE, M_NAMESPACE, M_NAMESPACE,
					   M_NAMESPACE, M_NAMESPACE, M_CHROOT, M_NONE,
					   M_FUSE, M_FUSE };
	static const enum trigger triggers[] = { T_DELAY, T_DELAY, T_DELAY, T_SOCKET_DELAY,
						 T_SOCKET_DELAY, T_SOCKET_DELAY, T_SOCKET_DELAY,
						 T_SOCKET_DELAY, T_READY, T_SERVING };
	struct try t = {
		.mode = modes[rng_next() % (sizeof(modes) / sizeof(modes[0]))],
		.trigger = triggers[rng_next() % (sizeof(triggers) / sizeof(triggers[0]))],
		.sig = stop_signals[rng_next() % NR_STOP],
		.to_group = rng_next() & 1,
		.launcher_blocks = rng_next() % 8 == 0,
		.frac_ppm = rng_next() % 1000000,
	};

	if (!cfg.available[t.mode])
		t.mode = M_NAMESPACE;
	if (t.mode == M_FUSE && t.trigger == T_SOCKET_DELAY)
		t.trigger = T_DELAY;
	/* one in five right as the socket appears: the reported case */
	if (t.trigger == T_SOCKET_DELAY && t.frac_ppm < 200000)
		t.frac_ppm = 0;
	return t;
}

static unsigned total_tries(int argc, char **argv)
{
	const char *s = argc > 1 ? argv[1] : getenv("VFS_STOP_TRIES");
	long n = s ? strtol(s, NULL, 10) : 300;

	return n > 0 ? (unsigned)n : 300;
}

static unsigned tries_wanted;

static void test_stop_at_every_point(void)
{
	int64_t start = now_us();
	unsigned failed_tries = 0;

	calibrate();
	while (stats.tries < tries_wanted) {
		struct try t = try_pick();

		if (try_run(&t)) {
			failed_tries++;
			CHECK(0, "try %u failed (see above)", stats.tries);
		}
		/* a broken daemon would take wait_ms per try: enough seen */
		if (failed_tries >= 10) {
			fprintf(stderr, "  stopping after %u failed tries\n", failed_tries);
			break;
		}
	}
	printf("%u tries in %.1f s: namespace %u, chroot %u, none %u, fuse %u; "
	       "delay %u, socket+delay %u, ready %u, serving %u\n", stats.tries,
	       (double)(now_us() - start) / 1e6, stats.per_mode[M_NAMESPACE],
	       stats.per_mode[M_CHROOT], stats.per_mode[M_NONE], stats.per_mode[M_FUSE],
	       stats.per_trigger[T_DELAY], stats.per_trigger[T_SOCKET_DELAY],
	       stats.per_trigger[T_READY], stats.per_trigger[T_SERVING]);
	printf("%u of %u tries left running; group outlived the daemon %u, wrong end %u, "
	       "exited before the signal %u, stray files %u, foreign socket gone %u, "
	       "mounts left %u, other %u\n", stats.left_running, stats.tries, stats.outlived,
	       stats.bad_status, stats.early_exit, stats.stray, stats.foreign_gone,
	       stats.mounts_left, stats.other);
	printf("start-up (median): namespace %" PRId64 " us (sandbox entry %" PRId64
	       " us), none %" PRId64 " us\n", samples_median(&cfg.startup[M_NAMESPACE]),
	       samples_median(&cfg.entry[M_NAMESPACE]), samples_median(&cfg.startup[M_NONE]));
	CHECK(stats.tries >= tries_wanted, "only %u of %u tries ran", stats.tries, tries_wanted);
}

/* ---- a stop while the mount is busy ---- */

/* Whether /proc/locks shows a lock request blocked on the host file host
 * (not on the mount's inode: the kernel keeps a caller's locks there when
 * the daemon does not take them): the daemon's wait for a caller. */
static bool host_lock_waiting(const struct stat *host)
{
	FILE *f = fopen("/proc/locks", "re");
	char line[512], needle[64];
	bool found = false;

	snprintf(needle, sizeof(needle), " %02x:%02x:%lu ", major(host->st_dev),
		 minor(host->st_dev), (unsigned long)host->st_ino);
	while (f && !found && fgets(line, sizeof(line), f))
		found = strstr(line, "->") && strstr(line, needle);
	if (f)
		fclose(f);
	return found;
}

static int ofd_write_lock(int fd, bool wait)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

	return fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl) < 0 ? -errno : 0;
}

/* A caller on the mount whose lock request waits in the daemon; its
 * answer, a negative errno or 0, is the thread's result. */
static void *lock_waiter(void *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);
	intptr_t ret = fd < 0 ? -errno : ofd_write_lock(fd, true);

	if (fd >= 0)
		close(fd);
	return (void *)ret;
}

/* Waits, bounded, for the thread; returns false if it is still blocked. */
static bool thread_join_within(pthread_t thread, int64_t ms, void **result)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return pthread_timedjoin_np(thread, result, &ts) == 0;
}

/* An open file keeps the detached mount's connection up, so the workers
 * never read ENODEV: one waits for a request, the other serves a lock
 * request blocked behind the open file's lock. The daemon must still end
 * within its 2 s grace plus the usual wait, unmounted, with no sanitizer
 * report, and the blocked caller must get an error (the kernel restarts
 * a lock request answered EINTR, so it may be the aborted connection's). */
static void test_stop_with_mount_busy(void)
{
	const struct try t = { .mode = M_FUSE, .trigger = T_READY, .sig = SIGTERM,
			       .remote_locks = true };
	char path[400], log[400];
	struct watch w;
	struct stat st;
	pthread_t waiter;
	bool waiter_started = false;
	void *waiter_ret = NULL;
	int status = -1, fd = -1;

	snprintf(path, sizeof(path), "%s/busy", cfg.mnt);
	CHECK_OK(watch_start(&w, &t));
	CHECK_OK(watch_until(&w, t.mode, UNTIL_READY, now_us() + 10 * 1000000));
	if (w.ready) {
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		CHECK(fd >= 0, "open %s: %s", path, strerror(errno));
	}
	if (fd >= 0) {
		CHECK_OK(ofd_write_lock(fd, false));
		CHECK(stat(t_host(cfg.share, "busy"), &st) == 0, "stat: %s", strerror(errno));
		waiter_started = pthread_create(&waiter, NULL, lock_waiter, path) == 0;
		CHECK(waiter_started, "pthread_create");
	}
	if (waiter_started) {
		int64_t deadline = now_us() + 10 * 1000000;
		const struct timespec tick = { 0, 1000 * 1000 };

		while (!host_lock_waiting(&st) && now_us() < deadline)
			nanosleep(&tick, NULL);
		CHECK(host_lock_waiting(&st), "no lock request of the daemon's is waiting");
		w.signalled_us = now_us();
		CHECK(kill(w.pid, SIGTERM) == 0, "kill: %s", strerror(errno));
		CHECK_OK(watch_until(&w, t.mode, UNTIL_EXIT,
				     now_us() + (2000 + cfg.wait_ms) * 1000));
	}
	if (!w.exited) {
		fprintf(stderr, "  the daemon is still running:\n");
		group_print(w.pid);
		group_kill(w.pid);
	}
	if (waitpid(w.pid, &status, 0) == w.pid)
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "the daemon ended with status %#x", status);
	CHECK(group_gone(w.pid, now_us() + 2 * 1000000), "members of its group outlived it");
	if (waiter_started) {
		bool joined = thread_join_within(waiter, 5000, &waiter_ret);

		CHECK(joined, "the blocked lock request was never answered");
		if (joined)
			CHECK((intptr_t)waiter_ret < 0, "the lock was granted past the holder's");
	}
	if (fd >= 0)
		close(fd);
	if (mounted(cfg.mnt)) {
		CHECK(0, "%s is still mounted", cfg.mnt);
		umount2(cfg.mnt, MNT_DETACH);
	}
	snprintf(log, sizeof(log), "%s/busy-stop.log", t_tmpdir());
	FILE *f = fopen(log, "we");
	if (f) {
		fwrite(w.err, 1, w.err_len, f);
		fclose(f);
	}
	CHECK(!t_sanitizer_report(log), "the daemon's stderr holds a sanitizer report:\n%s", w.err);
	live_group = 0;
	watch_close(&w);
}

int main(int argc, char **argv)
{
	const char *seed = getenv("VFS_STOP_SEED");
	const char *wait = getenv("VFS_STOP_WAIT_MS");

	tries_wanted = total_tries(argc, argv);
	rng_state = seed ? strtoull(seed, NULL, 0) : 0x5eed5eed5eedull;
	if (!rng_state)
		rng_state = 1;
	cfg.wait_ms = wait ? strtol(wait, NULL, 10) : 3000;
	cfg.verbose = getenv("VFS_TEST_VERBOSE") != NULL;
	printf("%u tries, seed %#" PRIx64 ", %" PRId64 " ms to stop\n", tries_wanted,
	       rng_state, cfg.wait_ms);
	fflush(stdout);
	int err = setup();
	if (err) {
		fprintf(stderr, "setup: %s\n", strerror(-err));
		return 1;
	}
	t_run("stop_at_every_point", test_stop_at_every_point);
	if (cfg.available[M_FUSE])
		t_run("stop_with_mount_busy", test_stop_with_mount_busy);
	else
		printf("skip stop_with_mount_busy: needs root and /dev/fuse\n");
	return t_finish();
}
