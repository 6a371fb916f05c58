/* test_options.c: what each of our daemon's behaviour options does, seen
 * through the user-space driver: every test starts a daemon with the
 * option (and, where it proves something, one without it) and checks the
 * difference on the wire and on the host. */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "vfs_internal.h"
#include "virtiofs_client.h"

static char share[300];
/* The confinement this run uses (meson's VFS_TEST_DAEMON_ARGS). */
static char base_args[512];

/* A daemon with base_args plus extra, and a client on it. */
static struct vfs_client *session_with(struct daemon *d, const char *extra,
				       struct vfs_client_options o)
{
	char args[1024];
	int err;

	snprintf(args, sizeof(args), "%s %s", base_args, extra ? extra : "");
	setenv("VFS_TEST_DAEMON_ARGS", args, 1);
	err = daemon_start(d, share);
	setenv("VFS_TEST_DAEMON_ARGS", base_args, 1);
	if (err) {
		CHECK(0, "daemon_start (%s): %s", args, strerror(-err));
		return NULL;
	}
	if (!o.timeout_ms)
		o.timeout_ms = 5000;
	struct vfs_client *c = vfs_client_open(d->sock, &o, &err);
	CHECK(c != NULL, "vfs_client_open (%s): %s", args, strerror(-err));
	if (!c)
		daemon_stop(d);
	return c;
}

static struct vfs_client *session(struct daemon *d, const char *extra)
{
	return session_with(d, extra, (struct vfs_client_options){ .request_queues = 1 });
}

static void session_end(struct daemon *d, struct vfs_client *c)
{
	vfs_client_close(c);
	daemon_stop(d);
}

static void host_file(const char *name, const char *content, mode_t mode)
{
	const char *p = t_host(share, name);
	int fd;

	unlink(p);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);
	CHECK(fd >= 0 && write(fd, content, strlen(content)) == (ssize_t)strlen(content),
	      "host create %s: %s", p, strerror(errno));
	if (fd >= 0) {
		fchmod(fd, mode);
		close(fd);
	}
}

static uint64_t lookup(struct vfs_client *c, const char *name)
{
	struct fuse_entry_out e;
	int err = vfs_lookup(c, FUSE_ROOT_ID, name, &e);

	CHECK(err == 0, "LOOKUP %s: %s", name, strerror(-err));
	return err ? 0 : e.nodeid;
}

/* ---------------------------------------------------------------- */
/* --preserve-noatime */

#define OLD_ATIME 1000000000	/* 2001: relatime updates anything older than a day */

/* The host's atime of name after the guest opens it with flags and reads
 * it through a daemon started with extra. */
static time_t atime_after_read(const char *extra, const char *name, uint32_t flags)
{
	struct timespec times[2] = { { .tv_sec = OLD_ATIME }, { .tv_nsec = UTIME_OMIT } };
	struct fuse_open_out oo;
	struct daemon d;
	struct stat st;
	char buf[16];

	host_file(name, "some data\n", 0644);
	CHECK(utimensat(AT_FDCWD, t_host(share, name), times, 0) == 0, "utimensat");
	struct vfs_client *c = session(&d, extra);
	if (!c)
		return -1;
	uint64_t node = lookup(c, name);
	int err = vfs_open(c, node, flags, &oo);
	CHECK(err == 0, "OPEN %#x: %s", flags, strerror(-err));
	if (err == 0) {
		CHECK(vfs_read(c, node, oo.fh, 0, buf, sizeof(buf)) == 10, "READ");
		vfs_release(c, node, oo.fh, flags);
	}
	session_end(&d, c);
	CHECK(stat(t_host(share, name), &st) == 0, "stat");
	return st.st_atime;
}

static void test_preserve_noatime(void)
{
	/* This host file system must move atime on a read at all. */
	if (atime_after_read("--preserve-noatime", "na-control", O_RDONLY) == OLD_ATIME) {
		printf("SKIP preserve_noatime: %s does not update atime on reads\n", share);
		return;
	}
	time_t kept = atime_after_read("--preserve-noatime", "na-kept", O_RDONLY | O_NOATIME);
	CHECK(kept == OLD_ATIME, "--preserve-noatime: O_NOATIME read moved atime to %lld",
	      (long long)kept);
	/* The default, as the Rust virtiofsd: O_NOATIME is dropped. */
	time_t dropped = atime_after_read(NULL, "na-dropped", O_RDONLY | O_NOATIME);
	CHECK(dropped != OLD_ATIME, "without --preserve-noatime the O_NOATIME read kept atime");
}

/* ---------------------------------------------------------------- */
/* --killpriv-v2 / --no-killpriv-v2 */

/* What Linux 6.x offers, minus what a case leaves out. */
#define GUEST_FLAGS_ALL 0

static uint32_t init_flags_of(const char *extra, uint64_t offer)
{
	struct daemon d;
	struct vfs_client *c = session_with(&d, extra, (struct vfs_client_options){
		.request_queues = 1, .init_flags = offer });
	uint32_t flags = 0;

	if (!c)
		return 0;
	flags = vfs_client_init_out(c)->flags;
	session_end(&d, c);
	return flags;
}

static mode_t host_mode(const char *name)
{
	struct stat st;

	CHECK(stat(t_host(share, name), &st) == 0, "stat %s", name);
	return st.st_mode & 07777;
}

static void test_killpriv_v2_negotiated(void)
{
	/* The daemon runs as root: FUSE_HANDLE_KILLPRIV always, v2 on request */
	uint32_t on = init_flags_of("--killpriv-v2", GUEST_FLAGS_ALL);
	uint32_t off = init_flags_of("--no-killpriv-v2", GUEST_FLAGS_ALL);
	uint32_t dflt = init_flags_of(NULL, GUEST_FLAGS_ALL);
	uint32_t last = init_flags_of("--killpriv-v2 --no-killpriv-v2", GUEST_FLAGS_ALL);
	uint32_t compat = init_flags_of("-o killpriv_v2", GUEST_FLAGS_ALL);

	CHECK((on & FUSE_HANDLE_KILLPRIV_V2) && (on & FUSE_HANDLE_KILLPRIV),
	      "--killpriv-v2: flags %#x lack HANDLE_KILLPRIV_V2 or HANDLE_KILLPRIV", on);
	CHECK(!(off & FUSE_HANDLE_KILLPRIV_V2) && (off & FUSE_HANDLE_KILLPRIV),
	      "--no-killpriv-v2: flags %#x", off);
	CHECK(!(dflt & FUSE_HANDLE_KILLPRIV_V2), "v2 negotiated by default (%#x)", dflt);
	CHECK(!(last & FUSE_HANDLE_KILLPRIV_V2), "the last of the two did not win (%#x)", last);
	CHECK(compat & FUSE_HANDLE_KILLPRIV_V2, "-o killpriv_v2: flags %#x", compat);
	/* never offered by the guest: never taken */
	uint32_t refused = init_flags_of("--killpriv-v2", FUSE_ASYNC_READ | FUSE_BIG_WRITES);
	CHECK(!(refused & (FUSE_HANDLE_KILLPRIV_V2 | FUSE_HANDLE_KILLPRIV)),
	      "killpriv taken from a guest that did not offer it (%#x)", refused);
}

/* With v1 and v2 both negotiated, what a Linux guest sends for a caller
 * without CAP_FSETID (the KILL_SUIDGID flags, v2's) clears setuid and
 * setgid even for uid 0; without the flags a root caller keeps them. */
static void test_killpriv_v1_and_v2(void)
{
	struct daemon d;
	struct vfs_client *c = session(&d, "--killpriv-v2");
	struct fuse_open_out oo;
	int err;

	if (!c)
		return;
	CHECK(vfs_client_init_out(c)->flags & FUSE_HANDLE_KILLPRIV_V2, "v2 not negotiated");
	CHECK(vfs_client_init_out(c)->flags & FUSE_HANDLE_KILLPRIV, "v1 not negotiated");

	/* WRITE */
	host_file("kp-write", "0123456789", 06755);
	uint64_t node = lookup(c, "kp-write");
	err = vfs_open(c, node, O_WRONLY, &oo);
	CHECK(err == 0, "OPEN: %s", strerror(-err));
	CHECK(vfs_write(c, node, oo.fh, 0, "ab", 2, 0) == 2, "WRITE");
	CHECK(host_mode("kp-write") == 06755, "a root write without KILL_SUIDGID: mode %o",
	      host_mode("kp-write"));
	CHECK(vfs_write(c, node, oo.fh, 0, "ab", 2, FUSE_WRITE_KILL_SUIDGID) == 2, "WRITE");
	CHECK(host_mode("kp-write") == 0755, "WRITE with KILL_SUIDGID: mode %o",
	      host_mode("kp-write"));
	vfs_release(c, node, oo.fh, O_WRONLY);

	/* SETATTR size */
	host_file("kp-trunc", "0123456789", 06755);
	node = lookup(c, "kp-trunc");
	struct fuse_setattr_in sa = { .valid = FATTR_SIZE, .size = 4 };
	struct fuse_attr_out ao;
	CHECK_OK(vfs_setattr(c, node, &sa, &ao));
	CHECK(host_mode("kp-trunc") == 06755, "a root truncate: mode %o", host_mode("kp-trunc"));
	sa.valid |= FATTR_KILL_SUIDGID;
	sa.size = 2;
	CHECK_OK(vfs_setattr(c, node, &sa, &ao));
	CHECK(host_mode("kp-trunc") == 0755, "truncate with FATTR_KILL_SUIDGID: mode %o",
	      host_mode("kp-trunc"));

	/* OPEN O_TRUNC, raw: the driver never sets open_flags */
	host_file("kp-open", "0123456789", 06755);
	node = lookup(c, "kp-open");
	for (int kill = 0; kill <= 1; kill++) {
		struct {
			struct fuse_in_header h;
			struct fuse_open_in in;
		} req;
		struct {
			struct fuse_out_header h;
			struct fuse_open_out out;
		} rep;

		vfs_msg_init(c, &req, FUSE_OPEN, node, sizeof(req.in));
		req.in = (struct fuse_open_in){ .flags = O_WRONLY | O_TRUNC,
						 .open_flags = kill ? FUSE_OPEN_KILL_SUIDGID : 0 };
		ssize_t n = vfs_raw(c, 1, &req, sizeof(req), &rep, sizeof(rep));
		CHECK(n == (ssize_t)sizeof(rep) && rep.h.error == 0, "OPEN O_TRUNC: %zd %d", n,
		      rep.h.error);
		if (n == (ssize_t)sizeof(rep))
			vfs_release(c, node, rep.out.fh, O_WRONLY);
		CHECK(host_mode("kp-open") == (kill ? 0755u : 06755u),
		      "OPEN O_TRUNC %s FUSE_OPEN_KILL_SUIDGID: mode %o", kill ? "with" : "without",
		      host_mode("kp-open"));
	}
	session_end(&d, c);
}

/* A guest that takes v2 but not v1 leaves killing to us as well: the
 * SETATTR that only clears setuid (what a guest without killpriv sends
 * after a non-owner's write) is then a plain chmod, the owner's alone. */
static void test_killpriv_v2_alone(void)
{
	struct daemon d;
	struct vfs_client *c = session_with(&d, "--killpriv-v2", (struct vfs_client_options){
		.request_queues = 1,
		.init_flags = FUSE_ASYNC_READ | FUSE_BIG_WRITES | FUSE_HANDLE_KILLPRIV_V2 |
			      FUSE_MAX_PAGES | FUSE_INIT_EXT | FUSE_SETXATTR_EXT });
	struct fuse_attr_out ao;

	if (!c)
		return;
	CHECK(vfs_client_init_out(c)->flags & FUSE_HANDLE_KILLPRIV_V2, "v2 not negotiated");
	CHECK(!(vfs_client_init_out(c)->flags & FUSE_HANDLE_KILLPRIV), "v1 negotiated unasked");
	host_file("kp-chmod", "x", 04755);
	uint64_t node = lookup(c, "kp-chmod");
	c->uid = 1000;
	c->gid = 1000;
	struct fuse_setattr_in sa = { .valid = FATTR_MODE, .mode = S_IFREG | 0755 };
	int err = vfs_setattr(c, node, &sa, &ao);
	CHECK(err == -EPERM, "a non-owner's chmod clearing setuid: %d", err);
	CHECK(host_mode("kp-chmod") == 04755, "mode %o", host_mode("kp-chmod"));
	c->uid = 0;
	c->gid = 0;
	session_end(&d, c);
}

/* ---------------------------------------------------------------- */
/* --tag */

static void test_tag(void)
{
	struct virtio_fs_cfg {
		uint8_t tag[36];
		uint32_t num_request_queues;
	} __attribute__((packed)) cfg;
	struct daemon d;
	struct vfs_client *c = session(&d, "--tag=my-share");
	uint8_t two[2];

	if (!c)
		return;
	CHECK(vfs_client_protocol_features(c) & (1ull << 9),
	      "--tag: VHOST_USER_PROTOCOL_F_CONFIG not negotiated (%#llx)",
	      (unsigned long long)vfs_client_protocol_features(c));
	memset(&cfg, 0xee, sizeof(cfg));
	int n = vfs_client_get_config(c, 0, &cfg, sizeof(cfg));
	CHECK(n == (int)sizeof(cfg), "GET_CONFIG: %d", n);
	CHECK(!memcmp(cfg.tag, "my-share", 8), "tag %.36s", (const char *)cfg.tag);
	for (unsigned i = 8; i < sizeof(cfg.tag); i++)
		CHECK(cfg.tag[i] == 0, "tag byte %u is %#x, not NUL padding", i, cfg.tag[i]);
	CHECK(le32toh(cfg.num_request_queues) == 1, "num_request_queues %u",
	      le32toh(cfg.num_request_queues));
	CHECK(vfs_client_get_config(c, 3, two, 2) == 2 && !memcmp(two, "sh", 2),
	      "GET_CONFIG at an offset");
	/* the queues keep serving around it */
	struct fuse_attr_out ao;
	CHECK_OK(vfs_getattr(c, FUSE_ROOT_ID, VFS_NO_FH, &ao));
	session_end(&d, c);

	/* 36 bytes: the whole field, no NUL */
	c = session(&d, "--tag=abcdefghijklmnopqrstuvwxyz0123456789");
	if (c) {
		n = vfs_client_get_config(c, 0, &cfg, sizeof(cfg));
		CHECK(n == (int)sizeof(cfg) &&
		      !memcmp(cfg.tag, "abcdefghijklmnopqrstuvwxyz0123456789", 36),
		      "36-byte tag: %d %.36s", n, (const char *)cfg.tag);
		session_end(&d, c);
	}

	/* without --tag: no CONFIG at all (QEMU 7.1-8.0 would crash) */
	c = session(&d, NULL);
	if (c) {
		CHECK(!(vfs_client_protocol_features(c) & (1ull << 9)), "CONFIG offered without --tag");
		CHECK(vfs_client_get_config(c, 0, &cfg, sizeof(cfg)) == -ENOTSUP, "GET_CONFIG");
		session_end(&d, c);
	}
}

/* ---------------------------------------------------------------- */
/* --log-level */

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0;

	if (!f)
		return strdup("");
	if (getdelim(&buf, &len, '\0', f) < 0) {
		free(buf);
		buf = strdup("");
	}
	fclose(f);
	return buf;
}

/* A session that makes the daemon say one thing at each level: error (a
 * header whose length lies), warn (EBADF, a host-side errno), info (the
 * session), debug (each vhost-user message), trace (each FUSE request).
 * Returns the daemon's log. */
static char *log_of_session(const char *level)
{
	char extra[64], log[300];
	struct fuse_attr_out ao;
	struct daemon d;

	snprintf(extra, sizeof(extra), "--log-level=%s", level);
	struct vfs_client *c = session(&d, extra);
	if (!c)
		return strdup("");
	snprintf(log, sizeof(log), "%s.checked", d.log);
	CHECK(vfs_getattr(c, 0x7fff0000, VFS_NO_FH, &ao) == -EBADF, "GETATTR of a made-up node");
	{
		struct fuse_in_header h;
		struct fuse_out_header oh;

		vfs_msg_init(c, &h, FUSE_GETATTR, FUSE_ROOT_ID, 0);
		h.len += 8;	/* a lie */
		CHECK(vfs_raw(c, 1, &h, sizeof(h), &oh, sizeof(oh)) == sizeof(oh) &&
		      oh.error == -EINVAL, "a lying header");
	}
	CHECK_OK(vfs_getattr(c, FUSE_ROOT_ID, VFS_NO_FH, &ao));
	session_end(&d, c);
	return slurp(log);
}

static void test_log_levels(void)
{
	static const struct {
		const char *level;
		bool error, warn, info, debug, trace;
	} cases[] = {
		{ "off", false, false, false, false, false },
		{ "error", true, false, false, false, false },
		{ "warn", true, true, false, false, false },
		{ "info", true, true, true, false, false },
		{ "debug", true, true, true, true, false },
		{ "trace", true, true, true, true, true },
	};
	static const char *const marks[] = {
		"error virtiofsd] fuse: GETATTR: header len",
		"warn virtiofsd] fuse: GETATTR (unique",
		"info virtiofsd] fuse: session started",
		"debug virtiofsd] vhost-user: GET_FEATURES",
		"trace virtiofsd] fuse: <- GETATTR unique",
	};

	if (getenv("VFS_TEST_VERBOSE")) {
		printf("SKIP log_levels: VFS_TEST_VERBOSE sends the daemon's log to ours\n");
		return;
	}
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *log = log_of_session(cases[i].level);
		const bool want[] = { cases[i].error, cases[i].warn, cases[i].info, cases[i].debug,
				      cases[i].trace };

		for (size_t m = 0; m < sizeof(marks) / sizeof(marks[0]); m++)
			CHECK(!!strstr(log, marks[m]) == want[m], "--log-level=%s: '%s' %s", cases[i].level,
			      marks[m], want[m] ? "missing" : "logged");
		if (!strcmp(cases[i].level, "off"))
			CHECK(!strstr(log, "virtiofsd]"), "--log-level=off logged:\n%s", log);
		free(log);
	}
}

/* ---------------------------------------------------------------- */
/* --daemonize */

static int pidfd_of(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* Waits (bounded, no polling loop) for pid to end; true if it did. */
static bool wait_end(pid_t pid, int ms)
{
	int fd = pidfd_of(pid);
	struct pollfd p = { .fd = fd, .events = POLLIN };
	bool ended;

	if (fd < 0)
		return errno == ESRCH;
	ended = poll(&p, 1, ms) == 1;
	close(fd);
	return ended;
}

/* Starts our daemon with --daemonize and extra, its output in log;
 * returns the first process's pid. */
static pid_t daemonize_spawn(const char *sock, const char *log, const char *extra)
{
	char sockarg[300], dirarg[400], args[1024], *argv[40];
	unsigned n = 0;
	pid_t pid;

	snprintf(sockarg, sizeof(sockarg), "--socket-path=%s", sock);
	snprintf(dirarg, sizeof(dirarg), "--shared-dir=%s", share);
	/* Under ThreadSanitizer the forked daemon has TSan's thread, and the
	 * namespace sandbox refuses a process with threads: chroot there. */
	snprintf(args, sizeof(args), "%s %s %s", base_args, extra ? extra : "",
		 getenv("VFS_TEST_TSAN") && !strstr(base_args, "--sandbox=") ? "--sandbox=chroot" : "");
	argv[n++] = (char *)OUR_DAEMON_PATH;
	argv[n++] = sockarg;
	argv[n++] = dirarg;
	argv[n++] = (char *)"--daemonize";
	for (char *save, *tok = strtok_r(args, " ", &save); tok && n < 38;
	     tok = strtok_r(NULL, " ", &save))
		argv[n++] = tok;
	argv[n] = NULL;
	unlink(sock);
	pid = fork();
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);

		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/* ... and returns the first process's exit status (-1: it did not exit). */
static int daemonize_launch(const char *sock, const char *log, const char *extra)
{
	pid_t pid = daemonize_spawn(sock, log, extra);
	int status = -1;

	if (pid < 0)
		return -1;
	if (!wait_end(pid, 20000)) {
		CHECK(0, "the first process did not exit: not daemonized");
		kill(pid, SIGKILL);
	}
	waitpid(pid, &status, 0);
	return status;
}

/* Our daemon's processes serving sock (the sandbox's waiting parent and
 * its child, or the one process without a namespace sandbox). */
static unsigned daemon_pids(const char *sock, pid_t *out, unsigned max)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	unsigned n = 0;

	while (d && (de = readdir(d)) && n < max) {
		char p[300], cmd[4096];
		ssize_t len;
		int fd;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(p, sizeof(p), "/proc/%s/cmdline", de->d_name);
		fd = open(p, O_RDONLY);
		if (fd < 0)
			continue;
		len = read(fd, cmd, sizeof(cmd) - 1);
		close(fd);
		if (len <= 0)
			continue;
		cmd[len] = 0;
		for (ssize_t i = 0; i < len; i++)
			if (!cmd[i])
				cmd[i] = ' ';
		if (strstr(cmd, sock) && strstr(cmd, "--daemonize"))
			out[n++] = (pid_t)atoi(de->d_name);
	}
	if (d)
		closedir(d);
	return n;
}

static long stat_field(pid_t pid, int field)
{
	char p[64], buf[1024], *rp;
	long v = -1;
	int fd;
	ssize_t len;

	snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
	fd = open(p, O_RDONLY);
	if (fd < 0)
		return -1;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return -1;
	buf[len] = 0;
	rp = strrchr(buf, ')');
	/* fields from 3 (state) on follow ") " */
	for (int f = 3; rp && f <= field; f++) {
		rp = strchr(rp + 1, ' ');
		if (rp && f == field)
			v = strtol(rp + 1, NULL, 10);
	}
	return v;
}

static bool fd_is(pid_t pid, int fd, const char *want)
{
	char p[64], target[512];
	ssize_t n;

	snprintf(p, sizeof(p), "/proc/%d/fd/%d", (int)pid, fd);
	n = readlink(p, target, sizeof(target) - 1);
	if (n < 0)
		return false;
	target[n] = 0;
	return !strcmp(target, want);
}

/* Whether each ends in time; one that does not is killed, so that a
 * failing test leaves no daemon behind (they are in their own session,
 * out of the harness's reach). */
static bool all_end(const pid_t *pids, unsigned n)
{
	bool ok = true;

	for (unsigned i = 0; i < n; i++) {
		if (!wait_end(pids[i], 10000)) {
			ok = false;
			kill(pids[i], SIGKILL);
		}
	}
	return ok;
}

static void test_daemonize(void)
{
	char sock[300], log[300];
	pid_t pids[4];
	unsigned n;
	int err, status;

	snprintf(sock, sizeof(sock), "%s/dz.sock", t_tmpdir());
	snprintf(log, sizeof(log), "%s/dz.log", t_tmpdir());

	/* ready: the first process exits 0, and the socket takes a frontend
	 * at once, with no retry */
	status = daemonize_launch(sock, log, NULL);
	CHECK(status == 0, "--daemonize: the first process ended with %#x", status);
	struct vfs_client *c = vfs_client_open(sock, &(struct vfs_client_options){
		.request_queues = 1, .timeout_ms = 5000 }, &err);
	CHECK(c != NULL, "connecting right after the first process exited: %s", strerror(-err));
	n = daemon_pids(sock, pids, 4);
	CHECK(n >= 1, "no daemon process left");
	for (unsigned i = 0; i < n; i++) {
		long sid = stat_field(pids[i], 6), tty = stat_field(pids[i], 7);

		CHECK(sid != getsid(0) && (sid == pids[0] || sid == pids[i]),
		      "pid %d: session %ld, not its own (ours %d)", (int)pids[i], sid, (int)getsid(0));
		CHECK(tty == 0, "pid %d has a terminal (%ld)", (int)pids[i], tty);
		CHECK(fd_is(pids[i], 0, "/dev/null") && fd_is(pids[i], 1, "/dev/null"),
		      "pid %d: stdin or stdout not on /dev/null", (int)pids[i]);
		CHECK(fd_is(pids[i], 2, log), "pid %d: stderr not kept on the log", (int)pids[i]);
	}
	if (c) {
		struct fuse_attr_out ao;

		CHECK_OK(vfs_getattr(c, FUSE_ROOT_ID, VFS_NO_FH, &ao));
		vfs_client_close(c);
	}
	/* a frontend's disconnect ends it, as in the foreground */
	CHECK(all_end(pids, n), "the daemon did not end when the frontend left");
	CHECK(!t_sanitizer_report(log), "a sanitizer report in %s", log);

	/* a stop signal ends it, sandbox and all */
	status = daemonize_launch(sock, log, NULL);
	CHECK(status == 0, "second start: %#x", status);
	n = daemon_pids(sock, pids, 4);
	CHECK(n >= 1, "no daemon process left");
	if (n) {
		pid_t leader = (pid_t)stat_field(pids[0], 6);

		kill(leader > 0 ? leader : pids[0], SIGTERM);
		CHECK(all_end(pids, n), "SIGTERM did not end the daemonized daemon");
	}

	/* --syslog: stderr goes to /dev/null too */
	status = daemonize_launch(sock, log, "--syslog");
	CHECK(status == 0, "--syslog start: %#x", status);
	n = daemon_pids(sock, pids, 4);
	for (unsigned i = 0; i < n; i++)
		CHECK(fd_is(pids[i], 2, "/dev/null"), "--syslog: pid %d stderr kept", (int)pids[i]);
	c = vfs_client_open(sock, &(struct vfs_client_options){ .request_queues = 1 }, &err);
	CHECK(c != NULL, "connect: %s", strerror(-err));
	if (c)
		vfs_client_close(c);
	CHECK(all_end(pids, n), "the --syslog daemon did not end");

	/* a failure after the fork (an unknown capability, checked with the
	 * sandbox) is the first process's exit status, and nothing stays */
	status = daemonize_launch(sock, log, "--modcaps=+frobnicate");
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 1,
	      "a daemon that failed to start: first process %#x", status);
	CHECK(daemon_pids(sock, pids, 4) == 0, "a failed daemon left a process behind");
	CHECK(!t_sanitizer_report(log), "a sanitizer report in %s", log);
}

/* ---------------------------------------------------------------- */
/* --security-label */

static const char LABEL[] = "system_u:object_r:svirt_image_t:s0:c1,c2";

/* A MKDIR of name carrying a FUSE_SECURITY_CTX extension with the label
 * (nr 1) or none (nr 0), as Linux 6.x sends it; the reply's error. */
static int mkdir_with_label(struct vfs_client *c, const char *name, unsigned nr)
{
	struct {
		struct fuse_in_header h;
		uint8_t body[512];
	} req;
	struct {
		struct fuse_out_header h;
		struct fuse_entry_out e;
	} rep;
	struct fuse_mkdir_in in = { .mode = 0755 };
	struct fuse_secctx_header sh = { .nr_secctx = nr };
	struct fuse_secctx sc = { .size = sizeof(LABEL) - 1 };
	size_t len = 0, ext;

	memcpy(req.body, &in, sizeof(in));
	len += sizeof(in);
	memcpy(req.body + len, name, strlen(name) + 1);
	len += strlen(name) + 1;
	ext = sizeof(sh);
	if (nr)
		ext += (sizeof(sc) + sizeof("security.selinux") + sizeof(LABEL) - 1 + 7) & ~7ul;
	sh.size = (uint32_t)ext;
	memset(req.body + len, 0, ext);
	memcpy(req.body + len, &sh, sizeof(sh));
	if (nr) {
		memcpy(req.body + len + 8, &sc, sizeof(sc));
		memcpy(req.body + len + 16, "security.selinux", sizeof("security.selinux"));
		memcpy(req.body + len + 16 + sizeof("security.selinux"), LABEL, sizeof(LABEL) - 1);
	}
	len += ext;
	vfs_msg_init(c, &req, FUSE_MKDIR, FUSE_ROOT_ID, len);
	req.h.total_extlen = (uint16_t)(ext / 8);
	ssize_t n = vfs_raw(c, 1, &req, sizeof(req.h) + len, &rep, sizeof(rep));
	if (n < (ssize_t)sizeof(rep.h))
		return n < 0 ? (int)n : -EIO;
	if (rep.h.error == 0)
		vfs_forget(c, rep.e.nodeid, 1);
	return rep.h.error;
}

static void test_security_label(void)
{
	struct vfs_client_options with_ctx = {
		.request_queues = 1, .init_flags = VFS_DEFAULT_INIT_FLAGS | FUSE_SECURITY_CTX };
	struct daemon d;
	struct vfs_client *c;
	char buf[128];
	int err;

	/* a guest that offers no FUSE_SECURITY_CTX cannot mount (as with the
	 * Rust virtiofsd), rather than get files without their labels */
	{
		char args[600];

		snprintf(args, sizeof(args), "%s --security-label", base_args);
		setenv("VFS_TEST_DAEMON_ARGS", args, 1);
		err = daemon_start(&d, share);
		setenv("VFS_TEST_DAEMON_ARGS", base_args, 1);
		CHECK(err == 0, "daemon_start: %s", strerror(-err));
		if (!err) {
			c = vfs_client_open(d.sock, &(struct vfs_client_options){
				.request_queues = 1 }, &err);
			CHECK(!c && err == -EPROTO, "a mount without FUSE_SECURITY_CTX: %s",
			      c ? "accepted" : strerror(-err));
			vfs_client_close(c);
			daemon_stop(&d);
		}
	}

	/* the label lands under its mapped name, and reads back */
	c = session_with(&d, "--security-label --xattrmap=:map:security.selinux:user.virtiofs.:",
			 with_ctx);
	if (c) {
		CHECK(vfs_client_init_out(c)->flags2 & (FUSE_SECURITY_CTX >> 32),
		      "FUSE_SECURITY_CTX not negotiated");
		CHECK(mkdir_with_label(c, "labelled", 1) == 0, "MKDIR with a label");
		ssize_t n = lgetxattr(t_host(share, "labelled"), "user.virtiofs.security.selinux",
				      buf, sizeof(buf));
		CHECK(n == sizeof(LABEL) - 1 && !memcmp(buf, LABEL, (size_t)n),
		      "host label: %zd", n);
		CHECK(lgetxattr(t_host(share, "labelled"), "security.selinux", buf, sizeof(buf)) < 0,
		      "the host's own security.selinux was set");
		uint64_t node = lookup(c, "labelled");
		CHECK(vfs_getxattr(c, node, "security.selinux", buf, sizeof(buf)) ==
		      sizeof(LABEL) - 1, "the guest reads its label back");
		CHECK(mkdir_with_label(c, "unlabelled", 0) == 0, "MKDIR with no context");
		CHECK(lgetxattr(t_host(share, "unlabelled"), "user.virtiofs.security.selinux", buf,
				sizeof(buf)) < 0, "a label where the guest sent none");
		session_end(&d, c);
	}

	/* without the option it is not negotiated, and a context is refused */
	c = session_with(&d, NULL, with_ctx);
	if (c) {
		CHECK(!(vfs_client_init_out(c)->flags2 & (FUSE_SECURITY_CTX >> 32)),
		      "FUSE_SECURITY_CTX negotiated without --security-label");
		CHECK(mkdir_with_label(c, "refused", 1) == -EINVAL, "a context never negotiated");
		CHECK(access(t_host(share, "refused"), F_OK) != 0, "the directory was made");
		session_end(&d, c);
	}
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A stop signal sent to the first process while the daemon starts (before
 * it serves) ends the daemon too, as it would in the foreground: the first
 * process passes it on. The signal goes at points spread over a start-up
 * (timing, not synchronisation: each outcome is checked). */
static void test_daemonize_stop_during_startup(void)
{
	const int tries = 24;
	char sock[300], log[300];
	pid_t pids[4];
	int64_t t0, startup;
	int status, stopped = 0;

	snprintf(sock, sizeof(sock), "%s/dzs.sock", t_tmpdir());
	snprintf(log, sizeof(log), "%s/dzs.log", t_tmpdir());
	/* how long a start takes here */
	t0 = now_ns();
	status = daemonize_launch(sock, log, NULL);
	startup = now_ns() - t0;
	CHECK(status == 0, "start: %#x", status);
	unsigned n = daemon_pids(sock, pids, 4);
	if (n)
		kill((pid_t)stat_field(pids[0], 6), SIGTERM);
	CHECK(all_end(pids, n), "the first daemon did not end");

	for (int i = 0; i < tries; i++) {
		int64_t at;
		pid_t first = daemonize_spawn(sock, log, NULL);
		struct timespec ts;

		if (first < 0)
			break;
		at = now_ns() + startup * (i + 1) / tries;
		ts = (struct timespec){ .tv_sec = at / 1000000000, .tv_nsec = at % 1000000000 };
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		kill(first, SIGTERM);
		CHECK(wait_end(first, 10000), "try %d: the first process did not end", i);
		waitpid(first, &status, 0);
		n = daemon_pids(sock, pids, 4);
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			/* ready before the signal: a daemon now, stopped by hand */
			if (n)
				kill((pid_t)stat_field(pids[0], 6), SIGTERM);
		} else {
			stopped++;
			CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM,
			      "try %d: the first process ended with %#x", i, status);
		}
		CHECK(all_end(pids, n), "try %d: a daemon outlived the stop signal (%u left, first "
		      "process %#x)", i, n, status);
	}
	/* else the signal always came too late to prove anything */
	CHECK(stopped > 0, "no try stopped a start-up");
	printf("  %d of %d tries stopped a start-up of %lld us\n", stopped, tries,
	       (long long)(startup / 1000));
	CHECK(!t_sanitizer_report(log), "a sanitizer report in %s", log);
}

int main(void)
{
	const char *b = getenv("VFS_TEST_DAEMON_ARGS");

	snprintf(base_args, sizeof(base_args), "%s", b ? b : "");
	snprintf(share, sizeof(share), "%s/share", t_tmpdir());
	mkdir(share, 0777);
	t_run("preserve_noatime", test_preserve_noatime);
	t_run("killpriv_v2_negotiated", test_killpriv_v2_negotiated);
	t_run("killpriv_v1_and_v2", test_killpriv_v1_and_v2);
	t_run("killpriv_v2_alone", test_killpriv_v2_alone);
	t_run("tag", test_tag);
	t_run("log_levels", test_log_levels);
	t_run("daemonize", test_daemonize);
	t_run("daemonize_stop_during_startup", test_daemonize_stop_during_startup);
	t_run("security_label", test_security_label);
	return t_finish();
}
