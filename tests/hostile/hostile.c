/* hostile.c: the hostile-guest suite's runner and helpers.
 *
 * Usage: hostile [MODE] [CASE-SUBSTRING...]
 * The daemon comes from VFS_TEST_DAEMON / VFS_TEST_DAEMON_ARGS (see
 * tests/integration/harness.h); MODE only names the run in the summary
 * line "hostile(MODE): N passed, M failed". */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hostile_util.h"

struct hctx H;

/* ---------------------------------------------------------------- */
/* outside-effect tracking */

const char *target_path(const char *fmt, ...)
{
	char buf[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (H.ntargets < sizeof(H.targets) / sizeof(H.targets[0])) {
		H.targets[H.ntargets++] = strdup(buf);
		return H.targets[H.ntargets - 1];
	}
	return strdup(buf);
}

bool host_exists(const char *abs)
{
	struct stat st;

	return lstat(abs, &st) == 0;
}

/* A listing of everything under parent except the share, one
 * "path mode size mtime" line each, sorted by nftw order (stable). */
static char *snap_buf;
static size_t snap_len, snap_cap;
static size_t share_prefix;

static int snap_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	struct stat top;
	char line[900];
	int n;

	(void)flag;
	if (ftw->level == 0) { /* the parent itself: only that it is there */
		memset(&top, 0, sizeof(top));
		top.st_mode = st->st_mode;
		st = &top;
	}
	if (!strncmp(path, H.share, share_prefix) &&
	    (path[share_prefix] == '/' || path[share_prefix] == 0))
		return 0;
	n = snprintf(line, sizeof(line), "%s %o %lld %lld.%09ld\n", path, st->st_mode,
		     (long long)st->st_size, (long long)st->st_mtim.tv_sec,
		     st->st_mtim.tv_nsec);
	if (snap_len + (size_t)n + 1 > snap_cap) {
		snap_cap = (snap_cap + (size_t)n + 1) * 2;
		snap_buf = realloc(snap_buf, snap_cap);
	}
	memcpy(snap_buf + snap_len, line, (size_t)n + 1);
	snap_len += (size_t)n;
	return 0;
}

static char *outside_snapshot(void)
{
	snap_buf = NULL;
	snap_len = snap_cap = 0;
	share_prefix = strlen(H.share);
	nftw(H.parent, snap_one, 16, FTW_PHYS);
	return snap_buf ? snap_buf : strdup("");
}

/* ---------------------------------------------------------------- */
/* raw FUSE */

void msg_build(struct rawmsg *m, uint32_t opcode, uint64_t nodeid, const void *args,
	       size_t arglen)
{
	memset(m->buf, 0, sizeof(struct fuse_in_header));
	m->len = vfs_msg_init(H.c, m->buf, opcode, nodeid, 0);
	m->unique = msg_hdr(m)->unique;
	if (arglen)
		msg_append(m, args, arglen);
}

void msg_append(struct rawmsg *m, const void *p, size_t len)
{
	if (m->len + len > sizeof(m->buf))
		abort();
	memcpy(m->buf + m->len, p, len);
	m->len += len;
	msg_hdr(m)->len = (uint32_t)m->len;
}

void msg_append_str(struct rawmsg *m, const char *s)
{
	msg_append(m, s, strlen(s) + 1);
}

void raw_send(const struct rawmsg *m, unsigned q, size_t cap, struct rawreply *r)
{
	memset(&r->oh, 0, sizeof(r->oh));
	if (cap > sizeof(r->oh) + sizeof(r->data))
		cap = sizeof(r->oh) + sizeof(r->data);
	uint8_t *tmp = cap ? malloc(cap) : NULL;
	r->used = vfs_raw(H.c, q, m->buf, m->len, tmp, cap);
	if (r->used >= (ssize_t)sizeof(r->oh)) {
		memcpy(&r->oh, tmp, sizeof(r->oh));
		memcpy(r->data, tmp + sizeof(r->oh), (size_t)r->used - sizeof(r->oh));
	}
	free(tmp);
}

bool refused(const struct rawmsg *m, const struct rawreply *r, int want)
{
	if (r->used == 0)
		return true;
	if (r->used != (ssize_t)sizeof(r->oh))
		return false;
	if (r->oh.len != sizeof(r->oh) || r->oh.unique != m->unique || r->oh.error >= 0)
		return false;
	return want == 0 || r->oh.error == -want;
}

bool answered_ok(const struct rawmsg *m, const struct rawreply *r)
{
	return r->used >= (ssize_t)sizeof(r->oh) && r->oh.error == 0 &&
	       r->oh.unique == m->unique && r->oh.len == (uint32_t)r->used;
}

bool alive_q(unsigned q)
{
	struct rawmsg *m = malloc(sizeof(*m));
	struct rawreply *r = malloc(sizeof(*r));
	struct fuse_getattr_in in = { 0 };
	bool ok;

	msg_build(m, FUSE_GETATTR, FUSE_ROOT_ID, &in, sizeof(in));
	raw_send(m, q, sizeof(struct fuse_out_header) + sizeof(struct fuse_attr_out), r);
	ok = answered_ok(m, r) &&
	     r->used == (ssize_t)(sizeof(r->oh) + sizeof(struct fuse_attr_out)) &&
	     S_ISDIR(((struct fuse_attr_out *)(void *)r->data)->attr.mode);
	if (!ok)
		fprintf(stderr, "  alive: used %zd error %d\n", r->used, r->oh.error);
	free(m);
	free(r);
	return ok;
}

/* ---------------------------------------------------------------- */
/* raw rings */

struct gbuf gbuf_alloc(size_t len)
{
	struct gbuf g = { .len = len };

	g.hva = mem_alloc(&H.c->mem, len ? len : 1);
	if (!g.hva) {
		fprintf(stderr, "guest memory exhausted\n");
		abort();
	}
	g.gpa = mem_gpa(&H.c->mem, g.hva);
	return g;
}

struct vring_queue *hq(unsigned q)
{
	return &H.c->queues[q];
}

void desc_ids(unsigned q, uint16_t *ids, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (vq_desc_alloc(hq(q), &ids[i])) {
			fprintf(stderr, "no free descriptors\n");
			abort();
		}
}

static void ms_sleep(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

long raw_publish_wait(unsigned q, uint16_t head, int ms)
{
	struct vring_used_elem e;
	long len = -ETIMEDOUT;

	vq_raw_publish(hq(q), head);
	for (int t = 0; t <= ms; t++) {
		while (vq_raw_pop_used(hq(q), &e)) {
			if (e.id == head)
				return (long)e.len;
			fprintf(stderr, "  stray used id %u len %u\n", e.id, e.len);
		}
		ms_sleep(1);
	}
	return len;
}

unsigned raw_drain(unsigned q, int ms)
{
	struct vring_used_elem e;
	unsigned n = 0;

	for (int t = 0; t <= ms; t++) {
		while (vq_raw_pop_used(hq(q), &e))
			n++;
		ms_sleep(1);
	}
	return n;
}

uint64_t guest_end_gpa(void)
{
	const struct vfs_mem *m = &H.c->mem;

	return m->r[m->nr - 1].gpa + m->r[m->nr - 1].size;
}

/* ---------------------------------------------------------------- */
/* host side */

void host_write(const char *rel, const char *content)
{
	char p[600];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", H.share, rel);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		CHECK(0, "host create %s: %s", p, strerror(errno));
		return;
	}
	if (write(fd, content, strlen(content)) < 0)
		CHECK(0, "host write %s", p);
	close(fd);
}

static long status_field(pid_t pid, const char *field)
{
	char p[64], line[256];
	long v = -1;
	FILE *f;

	snprintf(p, sizeof(p), "/proc/%d/status", (int)pid);
	f = fopen(p, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, strlen(field)))
			v = strtol(line + strlen(field), NULL, 10);
	fclose(f);
	return v;
}

/* Members of the daemon's process group (it may fork a sandboxed child). */
static unsigned group_pids(pid_t *out, unsigned max)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	unsigned n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)) && n < max) {
		char p[300], buf[512];
		int fd;
		ssize_t len;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(p, sizeof(p), "/proc/%s/stat", de->d_name);
		fd = open(p, O_RDONLY);
		if (fd < 0)
			continue;
		len = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (len <= 0)
			continue;
		buf[len] = 0;
		char *rp = strrchr(buf, ')');
		int pgrp = 0;
		char st;
		int ppid;

		if (rp && sscanf(rp + 2, "%c %d %d", &st, &ppid, &pgrp) == 3 &&
		    pgrp == H.d.pid)
			out[n++] = (pid_t)atoi(de->d_name);
	}
	closedir(d);
	return n;
}

long daemon_rss_kb(void)
{
	pid_t pids[16];
	unsigned n = group_pids(pids, 16);
	long sum = 0;

	for (unsigned i = 0; i < n; i++) {
		long v = status_field(pids[i], "VmRSS:");
		if (v > 0)
			sum += v;
	}
	return sum;
}

long daemon_max_fds(void)
{
	pid_t pids[16];
	unsigned n = group_pids(pids, 16);
	long best = -1;

	for (unsigned i = 0; i < n; i++) {
		char p[64];
		DIR *d;
		struct dirent *de;
		long cnt = 0;

		snprintf(p, sizeof(p), "/proc/%d/fd", (int)pids[i]);
		d = opendir(p);
		if (!d)
			continue;
		while ((de = readdir(d)))
			if (de->d_name[0] != '.')
				cnt++;
		closedir(d);
		if (cnt > best)
			best = cnt;
	}
	return best;
}

/* ---------------------------------------------------------------- */
/* the runner */

static const char *mode_name = "ours";
static char base[300];
static int default_timeout_s = 60;

static void append_daemon_args(const char *extra)
{
	const char *cur = getenv("VFS_TEST_DAEMON_ARGS");
	char buf[1024];

	if (!extra)
		return;
	snprintf(buf, sizeof(buf), "%s%s%s", cur ? cur : "", cur && *cur ? " " : "", extra);
	setenv("VFS_TEST_DAEMON_ARGS", buf, 1);
}

/* In the child: set up, run, tear down, exit with the failed checks. */
static void case_child(const struct hcase *hc, unsigned idx)
{
	char log[400], sentinel[500], pidfile[400];
	int saved, logfd, err;
	char *before, *after;

	snprintf(H.parent, sizeof(H.parent), "%s/case%03u", base, idx);
	snprintf(H.share, sizeof(H.share), "%s/share", H.parent);
	mkdir(H.parent, 0755);
	mkdir(H.share, 0777);
	snprintf(sentinel, sizeof(sentinel), "%s/sentinel", H.parent);
	{
		int fd = open(sentinel, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || write(fd, "sentinel\n", 9) != 9)
			exit(100);
		close(fd);
	}
	append_daemon_args(hc->extra_args);

	/* The daemon's stderr goes to the case's log. */
	snprintf(log, sizeof(log), "%s/case%03u.log", base, idx);
	logfd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	saved = dup(STDERR_FILENO);
	dup2(logfd, STDERR_FILENO);
	setenv("VFS_TEST_VERBOSE", "1", 1);
	err = daemon_start(&H.d, H.share);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(logfd);
	if (err) {
		CHECK(0, "daemon_start: %s", strerror(-err));
		exit(t_failed_checks ? 1 : 0);
	}
	snprintf(pidfile, sizeof(pidfile), "%s/case%03u.pid", base, idx);
	{
		FILE *f = fopen(pidfile, "w");
		if (f) {
			fprintf(f, "%d\n", (int)H.d.pid);
			fclose(f);
		}
	}

	struct vfs_client_options o = {
		.request_queues = 1, .timeout_ms = 5000, .no_init = hc->no_init,
		.packed = hc->packed,
	};
	if (hc->slow)
		o.timeout_ms = 20000;
	/* The socket may exist a moment before the daemon listens on it. */
	for (int i = 0; i < 100; i++) {
		H.c = vfs_client_open(H.d.sock, &o, &err);
		if (H.c || err != -ECONNREFUSED)
			break;
		ms_sleep(20);
	}
	if (!H.c) {
		CHECK(0, "vfs_client_open: %s", strerror(-err));
		daemon_stop(&H.d);
		exit(1);
	}
	vfs_client_set_queue(H.c, HQ);

	before = outside_snapshot();
	hc->fn();

	/* Nothing new, changed or gone outside the share. */
	after = outside_snapshot();
	CHECK(!strcmp(before, after), "outside the share changed:\nbefore:\n%s\nafter:\n%s",
	      before, after);
	{
		char buf[32] = { 0 };
		int fd = open(sentinel, O_RDONLY);
		CHECK(fd >= 0 && read(fd, buf, sizeof(buf)) == 9 && !strcmp(buf, "sentinel\n"),
		      "sentinel changed");
		if (fd >= 0)
			close(fd);
	}
	for (unsigned i = 0; i < H.ntargets; i++)
		CHECK(!host_exists(H.targets[i]), "%s appeared outside the share", H.targets[i]);

	/* Tear down the way a VMM does; our daemon must then exit with 0. */
	vfs_client_close(H.c);
	H.c = NULL;
	if (!H.qemu) {
		int status = -1;
		pid_t pid = H.d.pid;

		for (int i = 0; i < 1000; i++) {
			if (waitpid(pid, &status, WNOHANG) == pid)
				break;
			status = -1;
			ms_sleep(10);
		}
		CHECK(status != -1, "daemon did not exit after the frontend disconnected");
		CHECK(status == -1 || (WIFEXITED(status) && WEXITSTATUS(status) == 0),
		      "daemon ended with status %#x (see %s)", status, log);
		if (status != -1)
			H.d.pid = 0;
	}
	daemon_stop(&H.d);
	/* However it ended: a sanitizer that reported without ending it
	 * (halt_on_error=0) still fails the case. */
	CHECK(!t_sanitizer_report(log), "a sanitizer report in %s", log);
	for (unsigned i = 0; i < H.ntargets; i++)
		unlink(H.targets[i]), rmdir(H.targets[i]);
	free(before);
	free(after);
	fflush(NULL);
	_exit(t_failed_checks ? 1 : 0);
}

static void print_log_tail(const char *path)
{
	char buf[4096];
	FILE *f = fopen(path, "r");
	long size;

	if (!f)
		return;
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	fseek(f, size > 3000 ? size - 3000 : 0, SEEK_SET);
	fprintf(stderr, "  --- daemon log tail (%s) ---\n", path);
	while (fgets(buf, sizeof(buf), f))
		fprintf(stderr, "  | %s", buf);
	fclose(f);
}

static void kill_case_daemon(unsigned idx)
{
	char p[400];
	FILE *f;
	int pid = 0;

	snprintf(p, sizeof(p), "%s/case%03u.pid", base, idx);
	f = fopen(p, "r");
	if (f) {
		if (fscanf(f, "%d", &pid) == 1 && pid > 0) {
			kill(-pid, SIGKILL);
			waitpid(pid, NULL, WNOHANG);
		}
		fclose(f);
	}
}

static int passed_n, failed_n;
static char failed_names[8192];

static void run_case(const struct hcase *hc, unsigned idx)
{
	int timeout = hc->timeout_s ? hc->timeout_s : default_timeout_s;
	struct timespec t0, t1;
	int status = 0;
	bool timed_out = true;
	pid_t pid;

	fprintf(stderr, "-- %s\n", hc->name);
	fflush(stdout);
	fflush(stderr);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = fork();
	if (pid == 0)
		case_child(hc, idx);
	for (;;) {
		if (waitpid(pid, &status, WNOHANG) == pid) {
			timed_out = false;
			break;
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (t1.tv_sec - t0.tv_sec > timeout)
			break;
		ms_sleep(5);
	}
	if (timed_out) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		fprintf(stderr, "  FAIL: case timed out after %d s (hang)\n", timeout);
	}
	kill_case_daemon(idx);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	bool ok = !timed_out && WIFEXITED(status) && WEXITSTATUS(status) == 0;
	if (!timed_out && !WIFEXITED(status))
		fprintf(stderr, "  FAIL: case process died with status %#x\n", status);
	if (ok) {
		passed_n++;
		printf("PASS %s (%.2f s)\n", hc->name,
		       (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	} else {
		char p[400];

		failed_n++;
		printf("FAIL %s\n", hc->name);
		snprintf(p, sizeof(p), "%s/case%03u.log", base, idx);
		print_log_tail(p);
		if (strlen(failed_names) + strlen(hc->name) + 2 < sizeof(failed_names)) {
			strcat(failed_names, " ");
			strcat(failed_names, hc->name);
		}
	}
	fflush(stdout);
}

static bool selected(const char *name, int argc, char **argv)
{
	if (argc <= 2)
		return true;
	for (int i = 2; i < argc; i++)
		if (strstr(name, argv[i]))
			return true;
	return false;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(path);
	return unlink(path);
}

int main(int argc, char **argv)
{
	const char *which = getenv("VFS_TEST_DAEMON");
	const char *args = getenv("VFS_TEST_DAEMON_ARGS");
	const struct {
		const struct hcase *v;
		unsigned n;
	} groups[] = {
		{ ring_cases, n_ring_cases },
		{ fuse_cases, n_fuse_cases },
		{ fs_cases, n_fs_cases },
		{ more_cases, n_more_cases },
		{ priv_cases, n_priv_cases },
		{ packed_cases, n_packed_cases },
		{ opts_cases, n_opts_cases },
	};
	unsigned idx = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1)
		mode_name = argv[1];
	H.mode = mode_name;
	H.qemu = !which || !*which || !strcmp(which, "qemu");
	if (!H.qemu) {
		/* Our daemon's default is the namespace sandbox. */
		H.namespace_sandbox = !args || !strstr(args, "--sandbox=") ||
				      strstr(args, "--sandbox=namespace");
		H.sandbox_none = args && strstr(args, "--sandbox=none");
		H.file_handles = args && strstr(args, "--inode-file-handles=mandatory");
	} else {
		H.sandbox_none = true; /* run with --sandbox-less options? see run-peer.sh */
	}
	if (getenv("HOSTILE_TIMEOUT"))
		default_timeout_s = atoi(getenv("HOSTILE_TIMEOUT"));
	snprintf(base, sizeof(base), "%s/hostile", t_tmpdir());
	mkdir(base, 0755);

	for (unsigned g = 0; g < sizeof(groups) / sizeof(groups[0]); g++)
		for (unsigned i = 0; i < groups[g].n; i++, idx++)
			if (selected(groups[g].v[i].name, argc, argv))
				run_case(&groups[g].v[i], idx);

	printf("hostile(%s): %d passed, %d failed\n", mode_name, passed_n, failed_n);
	if (failed_n)
		printf("failed:%s\n", failed_names);
	if (!getenv("VFS_TEST_KEEP"))
		nftw(t_tmpdir(), rm_one, 16, FTW_DEPTH | FTW_PHYS);
	printf("%d passed, %d failed\n", passed_n, failed_n);
	return failed_n ? 1 : 0;
}
