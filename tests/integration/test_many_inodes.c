/* test_many_inodes.c: a guest that looks up and keeps many files, against
 * a small fd limit (--rlimit-nofile=1024). Held as O_PATH fds (never) the
 * inodes run out at about 700 and the daemon answers ENFILE; held as file
 * handles (--inode-file-handles=mandatory and prefer) all of them are
 * served, each GETATTR is the host file's, and the daemon's fds stay
 * under the limit. Prints the figures: time, lookups per second, the
 * daemon's RSS per inode and its fds.
 *
 *   test-many-inodes            CI: 20,000 files
 *   test-many-inodes N          N files (1000000 for the manual run)
 *   test-many-inodes N MODE...  only those modes (never, prefer, mandatory;
 *                               never+ and mandatory+: with the default fd
 *                               limit, for the figures)
 *
 * Files are made on the host in directories of 1000. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "virtiofs_client.h"

#define PER_DIR 1000
#define NOFILE 1024

static char share[300];
static unsigned long nfiles = 20000;
static const char *base_args;
/* GETATTR sweeps over all inodes: more for the manual figures (CPU time
 * is counted in ticks) */
static unsigned passes = 1;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void make_tree(void)
{
	char path[600];
	unsigned long i;

	for (i = 0; i < nfiles; i++) {
		int fd;

		if (i % PER_DIR == 0) {
			snprintf(path, sizeof(path), "%s/d%05lu", share, i / PER_DIR);
			if (mkdir(path, 0755) < 0 && errno != EEXIST) {
				perror(path);
				exit(1);
			}
		}
		snprintf(path, sizeof(path), "%s/d%05lu/f%05lu", share, i / PER_DIR, i % PER_DIR);
		fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
		if (fd < 0) {
			perror(path);
			exit(1);
		}
		close(fd);
	}
}

/* The daemon's processes are its process group (the sandbox forks). */
static unsigned group_pids(pid_t group, pid_t *out, unsigned max)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	unsigned n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)) && n < max) {
		char p[300], buf[512], *rp, st;
		int fd, ppid, pgrp;
		ssize_t len;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(p, sizeof(p), "/proc/%s/stat", de->d_name);
		fd = open(p, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		len = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (len <= 0)
			continue;
		buf[len] = 0;
		rp = strrchr(buf, ')');
		if (rp && sscanf(rp + 2, "%c %d %d", &st, &ppid, &pgrp) == 3 && pgrp == group)
			out[n++] = (pid_t)atoi(de->d_name);
	}
	closedir(d);
	return n;
}

static long status_kib(pid_t pid, const char *field)
{
	char p[64], line[256];
	long v = -1;
	FILE *f;

	snprintf(p, sizeof(p), "/proc/%d/status", (int)pid);
	f = fopen(p, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, strlen(field)))
			v = strtol(line + strlen(field), NULL, 10);
	fclose(f);
	return v;
}

static long count_fds(pid_t pid)
{
	char p[64];
	struct dirent *de;
	long n = 0;
	DIR *d;

	snprintf(p, sizeof(p), "/proc/%d/fd", (int)pid);
	d = opendir(p);
	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* The serving process: the namespace sandbox's child (its parent only
 * waits), or the daemon itself without one. */
static pid_t server_pid(const struct daemon *d)
{
	pid_t pids[8];
	unsigned n = group_pids(d->pid, pids, 8);

	for (unsigned i = 0; i < n; i++)
		if (pids[i] != d->pid)
			return pids[i];
	return d->pid;
}

/* The process's CPU time (user + system), in seconds. */
static double cpu_s(pid_t pid)
{
	char p[64], buf[1024], *rp;
	unsigned long ut = 0, st = 0;
	int fd;
	ssize_t len;

	snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return 0;
	buf[len] = 0;
	rp = strrchr(buf, ')');
	/* fields 14 and 15; rp + 2 is field 3 */
	if (!rp || sscanf(rp + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
			  &ut, &st) != 2)
		return 0;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

struct result {
	unsigned long ok, enfile, other;
	int other_err;
	double secs, cpu;		/* the lookups: wall time, daemon CPU */
	double attr_secs, attr_cpu;	/* the GETATTR sweep */
	long rss_before, rss_after, fds;
	unsigned long attr_ok, attr_bad;
};

static void run_mode(const char *mode, const char *extra, const char *label, struct result *r)
{
	char args[512];
	struct vfs_client_options o = { .timeout_ms = 60000 };
	struct vfs_client *c;
	struct daemon d;
	unsigned long i, dirs = (nfiles + PER_DIR - 1) / PER_DIR;
	uint64_t *dir_ids = calloc(dirs, sizeof(*dir_ids));
	uint64_t *ids = calloc(nfiles, sizeof(*ids)), *inos = calloc(nfiles, sizeof(*inos));
	pid_t server;
	double t0, c0;
	int err;

	memset(r, 0, sizeof(*r));
	snprintf(args, sizeof(args), "%s --inode-file-handles=%s %s", base_args ? base_args : "",
		 mode, extra);
	setenv("VFS_TEST_DAEMON_ARGS", args, 1);
	err = daemon_start(&d, share);
	CHECK(err == 0 && dir_ids && ids && inos, "%s: daemon_start: %d", mode, err);
	if (err || !dir_ids || !ids || !inos)
		goto out_free;
	c = vfs_client_open(d.sock, &o, &err);
	CHECK(c != NULL, "%s: client: %d", mode, err);
	if (!c) {
		daemon_stop(&d);
		goto out_free;
	}
	server = server_pid(&d);
	r->rss_before = status_kib(server, "VmRSS:");
	t0 = now_s();
	c0 = cpu_s(server);
	for (i = 0; i < dirs; i++) {
		char name[32];
		struct fuse_entry_out e;

		snprintf(name, sizeof(name), "d%05lu", i);
		err = vfs_lookup(c, FUSE_ROOT_ID, name, &e);
		dir_ids[i] = err ? 0 : e.nodeid;
		CHECK(err == 0 || err == -ENFILE, "%s: lookup %s: %d", mode, name, err);
	}
	/* every file once, kept: no FORGET */
	for (i = 0; i < nfiles; i++) {
		char name[32];
		struct fuse_entry_out e;

		if (!dir_ids[i / PER_DIR]) {
			r->enfile++;
			continue;
		}
		snprintf(name, sizeof(name), "f%05lu", i % PER_DIR);
		err = vfs_lookup(c, dir_ids[i / PER_DIR], name, &e);
		if (err == 0)
			r->ok++, ids[i] = e.nodeid;
		else if (err == -ENFILE)
			r->enfile++;
		else
			r->other++, r->other_err = err;
		if (err == -ETIMEDOUT || err == -ENOTCONN)
			break;
	}
	r->secs = now_s() - t0;
	r->cpu = cpu_s(server) - c0;
	r->rss_after = status_kib(server, "VmRSS:");
	r->fds = count_fds(server);
	/* Each kept inode still answers as its own host file: a GETATTR of
	 * every one, in lookup order, so that with a small fd cache each is
	 * reopened by handle (the cost of a cold inode). */
	t0 = now_s();
	c0 = cpu_s(server);
	for (unsigned p = 0; p < passes; p++) {
		for (i = 0; i < nfiles; i++) {
			struct fuse_attr_out a;

			if (ids[i] && vfs_getattr(c, ids[i], 0, &a) == 0)
				inos[i] = a.attr.ino;
		}
	}
	r->attr_secs = now_s() - t0;
	r->attr_cpu = cpu_s(server) - c0;
	if (count_fds(server) > r->fds)
		r->fds = count_fds(server);
	vfs_client_close(c);
	daemon_stop(&d);
	for (i = 0; i < nfiles; i++) {
		char host[600];
		struct stat st;

		if (!ids[i])
			continue;
		snprintf(host, sizeof(host), "%s/d%05lu/f%05lu", share, i / PER_DIR, i % PER_DIR);
		if (stat(host, &st) != 0 || inos[i] != st.st_ino)
			r->attr_bad++;
		else
			r->attr_ok++;
	}
	printf("  %-10s %-20s %8lu ok %8lu ENFILE %lu other  LOOKUP %6.2f s %7.0f/s %5.1f us CPU"
	       "  GETATTR %6.2f s %7.0f/s %5.1f us CPU  RSS %ld -> %ld KiB (%.0f B/inode)"
	       "  fds %ld\n",
	       mode, label, r->ok, r->enfile, r->other, r->secs,
	       r->secs > 0 ? (double)(r->ok + r->enfile) / r->secs : 0.0,
	       r->ok + r->enfile ? r->cpu * 1e6 / (double)(r->ok + r->enfile) : 0.0,
	       r->attr_secs, r->attr_secs > 0 ? (double)r->ok * passes / r->attr_secs : 0.0,
	       r->ok ? r->attr_cpu * 1e6 / (double)r->ok / passes : 0.0, r->rss_before,
	       r->rss_after,
	       r->ok ? (double)(r->rss_after - r->rss_before) * 1024.0 / (double)(r->ok + dirs) : 0.0,
	       r->fds);
	fflush(stdout);
out_free:
	free(dir_ids);
	free(ids);
	free(inos);
}

static void check_handles(const char *mode, const struct result *r)
{
	CHECK(r->ok == nfiles, "%s: %lu of %lu lookups succeeded (%lu ENFILE, %lu other, "
	      "last %d)", mode, r->ok, nfiles, r->enfile, r->other, r->other_err);
	CHECK(r->fds > 0 && r->fds <= NOFILE, "%s: the daemon holds %ld fds, limit %d", mode,
	      r->fds, NOFILE);
	CHECK(r->attr_bad == 0 && r->attr_ok == nfiles, "%s: %lu GETATTRs wrong, %lu right",
	      mode, r->attr_bad, r->attr_ok);
}

/* The test can fail: without handles fds are the bound. */
static void test_never_runs_out(void)
{
	struct result r;

	run_mode("never", "--rlimit-nofile=1024", "--rlimit-nofile=1024", &r);
	CHECK(r.enfile > 0 && r.ok < NOFILE, "never: %lu lookups succeeded, %lu ENFILE "
	      "with --rlimit-nofile=%d", r.ok, r.enfile, NOFILE);
	CHECK(r.other == 0, "never: %lu other errors (last %d)", r.other, r.other_err);
	CHECK(r.fds <= NOFILE, "never: the daemon holds %ld fds", r.fds);
}

/* For the figures: without the small fd limit (raised to fs.nr_open if
 * the daemon may, else the hard limit it has: with an fd per inode it
 * holds at most 3/4 of that). */
static void test_never_default_limit(void)
{
	struct result r;

	run_mode("never", "", "(default fd limit)", &r);
	CHECK(r.other == 0, "never: %lu other errors (last %d)", r.other, r.other_err);
}

/* For the figures: with room for every inode's fd in the cache. */
static void test_mandatory_default_limit(void)
{
	struct result r;

	run_mode("mandatory", "", "(default fd limit)", &r);
	CHECK(r.ok == nfiles, "mandatory: %lu of %lu (%lu ENFILE)", r.ok, nfiles, r.enfile);
}

static void test_mandatory(void)
{
	struct result r;

	run_mode("mandatory", "--rlimit-nofile=1024", "--rlimit-nofile=1024", &r);
	check_handles("mandatory", &r);
}

static void test_prefer(void)
{
	struct result r;

	run_mode("prefer", "--rlimit-nofile=1024", "--rlimit-nofile=1024", &r);
	check_handles("prefer", &r);
}

static bool want(int argc, char **argv, const char *mode)
{
	if (argc <= 2)
		return !strchr(mode, '+');
	for (int i = 2; i < argc; i++)
		if (!strcmp(argv[i], mode))
			return true;
	return false;
}

int main(int argc, char **argv)
{
	const char *which = getenv("VFS_TEST_DAEMON");
	double t0;

	if (!which || strcmp(which, "ours") != 0) {
		printf("these tests are for our daemon only (VFS_TEST_DAEMON=ours)\n");
		return 77;
	}
	if (argc > 1) {
		nfiles = strtoul(argv[1], NULL, 10);
		passes = nfiles < 200000 ? (unsigned)(200000 / (nfiles ? nfiles : 1)) : 1;
	}
	if (nfiles < 2 * NOFILE) {
		fprintf(stderr, "at least %d files, so that fds would run out\n", 2 * NOFILE);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	base_args = getenv("VFS_TEST_DAEMON_ARGS");
	base_args = base_args ? strdup(base_args) : "";
	snprintf(share, sizeof(share), "%s/share", t_tmpdir());
	if (mkdir(share, 0755) < 0)
		return 1;
	t0 = now_s();
	make_tree();
	printf("%lu files in %lu directories made in %.1f s\n", nfiles,
	       (nfiles + PER_DIR - 1) / PER_DIR, now_s() - t0);

	if (want(argc, argv, "never"))
		t_run("never_runs_out_of_fds", test_never_runs_out);
	if (want(argc, argv, "never+"))
		t_run("never_default_fd_limit", test_never_default_limit);
	if (want(argc, argv, "mandatory"))
		t_run("mandatory_keeps_all", test_mandatory);
	if (want(argc, argv, "prefer"))
		t_run("prefer_keeps_all", test_prefer);
	if (want(argc, argv, "mandatory+"))
		t_run("mandatory_default_fd_limit", test_mandatory_default_limit);
	return t_finish();
}
