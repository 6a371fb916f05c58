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
#include <sys/stat.h>
#include <sys/wait.h>
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
	return t_finish();
}
