/* SPDX-License-Identifier: MIT */
/* POSIX/Linux file-system conformance suite: harness and runner. */
#include "harness.h"
#include <ftw.h>
#include <sys/prctl.h>

static int g_resfd = -1;
static pid_t g_testpid;
static char g_note[1024];
static const char *g_self = "/proc/self/exe";

const struct cred ROOT = {0, 0, 0, {0}};
const struct cred U1 = {1000, 1000, 0, {0}};
const struct cred U1G = {1000, 1000, 1, {G_SHARED}};
const struct cred U2 = {1001, 1001, 0, {0}};
const struct cred NOBODY = {65534, 65534, 0, {0}};

const char *ename(int e)
{
	static char buf[32];
	const char *n;

	if (e == 0)
		return "success";
	n = strerrorname_np(e);
	if (n)
		return n;
	snprintf(buf, sizeof(buf), "errno%d", e);
	return buf;
}

void fail(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	for (char *c = buf; *c; c++)
		if (*c == '\n' || *c == '\r')
			*c = ' ';
	if (getpid() != g_testpid)
		_exit(200); /* helper child: reported by as()/in_child() */
	dprintf(g_resfd, "FAIL %s\n", buf);
	_exit(1);
}

void note(const char *fmt, ...)
{
	size_t l = strlen(g_note);
	va_list ap;

	if (l && l < sizeof(g_note) - 2) {
		strcat(g_note, "; ");
		l += 2;
	}
	va_start(ap, fmt);
	vsnprintf(g_note + l, sizeof(g_note) - l, fmt, ap);
	va_end(ap);
}

void expect_ok(const char *what, int got)
{
	if (got)
		fail("%s: got %s, expected success", what, ename(got));
}

void expect_err(const char *what, int got, int want)
{
	if (got != want)
		fail("%s: got %s, expected %s", what, ename(got), ename(want));
}

void expect_err2(const char *what, int got, int w1, int w2)
{
	if (got != w1 && got != w2)
		fail("%s: got %s, expected %s or %s", what, ename(got),
		     ename(w1), ename(w2));
	note("%s: %s", what, ename(got));
}

void expect_eq(const char *what, long long got, long long want)
{
	if (got != want)
		fail("%s: got %lld, expected %lld", what, got, want);
}

void expect_true(const char *what, int cond)
{
	if (!cond)
		fail("%s: got false, expected true", what);
}

void expect_mode(const char *p, mode_t want)
{
	struct stat st = xlstat(p);

	if ((st.st_mode & 07777) != want)
		fail("mode of %s: got 0%o, expected 0%o", p,
		     (unsigned)(st.st_mode & 07777), (unsigned)want);
}

int xopen(const char *p, int flags, mode_t mode)
{
	int fd = open(p, flags, mode);

	if (fd < 0)
		fail("open(%s, 0%o): got %s, expected success", p, flags,
		     ename(errno));
	return fd;
}

void mkfile(const char *p, mode_t mode, uid_t u, gid_t g, const char *content)
{
	int fd = xopen(p, O_CREAT | O_EXCL | O_WRONLY, 0600);

	if (content)
		xwrite(fd, content, strlen(content));
	SYS(close(fd));
	if (lchown(p, u, g))
		fail("chown(%s): got %s", p, ename(errno));
	if (chmod(p, mode))
		fail("chmod(%s): got %s", p, ename(errno));
}

void mkdirm(const char *p, mode_t mode, uid_t u, gid_t g)
{
	if (mkdir(p, 0700))
		fail("mkdir(%s): got %s, expected success", p, ename(errno));
	if (lchown(p, u, g))
		fail("chown(%s): got %s", p, ename(errno));
	if (chmod(p, mode))
		fail("chmod(%s): got %s", p, ename(errno));
}

struct stat xlstat(const char *p)
{
	struct stat st;

	if (lstat(p, &st))
		fail("lstat(%s): got %s, expected success", p, ename(errno));
	return st;
}

struct stat xstat(const char *p)
{
	struct stat st;

	if (stat(p, &st))
		fail("stat(%s): got %s, expected success", p, ename(errno));
	return st;
}

struct stat xfstat(int fd)
{
	struct stat st;

	if (fstat(fd, &st))
		fail("fstat: got %s, expected success", ename(errno));
	return st;
}

void xwrite(int fd, const void *buf, size_t n)
{
	ssize_t r = write(fd, buf, n);

	if (r < 0)
		fail("write: got %s, expected success", ename(errno));
	if ((size_t)r != n)
		fail("write: got short count %zd, expected %zu", r, n);
}

void xpwrite(int fd, const void *buf, size_t n, off_t off)
{
	ssize_t r = pwrite(fd, buf, n, off);

	if (r < 0)
		fail("pwrite at %lld: got %s, expected success",
		     (long long)off, ename(errno));
	if ((size_t)r != n)
		fail("pwrite: got short count %zd, expected %zu", r, n);
}

size_t xpread(int fd, void *buf, size_t n, off_t off)
{
	size_t done = 0;

	while (done < n) {
		ssize_t r = pread(fd, (char *)buf + done, n - done, off + done);

		if (r < 0)
			fail("pread at %lld: got %s, expected success",
			     (long long)off, ename(errno));
		if (r == 0)
			break;
		done += r;
	}
	return done;
}

char *readfile(const char *p, size_t *len)
{
	int fd = xopen(p, O_RDONLY, 0);
	struct stat st = xfstat(fd);
	char *buf = malloc(st.st_size + 1);
	size_t n = xpread(fd, buf, st.st_size, 0);

	buf[n] = 0;
	close(fd);
	if (len)
		*len = n;
	return buf;
}

void expect_content(const char *p, const char *want)
{
	size_t n;
	char *got = readfile(p, &n);

	if (n != strlen(want) || memcmp(got, want, n))
		fail("content of %s: got \"%.40s\" (%zu bytes), expected \"%s\"",
		     p, got, n, want);
	free(got);
}

void copy_self(const char *dst, mode_t mode)
{
	int in = open(g_self, O_RDONLY);
	int out;
	char buf[65536];
	ssize_t r;

	if (in < 0)
		fail("open test binary: %s", ename(errno));
	out = xopen(dst, O_CREAT | O_EXCL | O_WRONLY, 0600);
	while ((r = read(in, buf, sizeof(buf))) > 0)
		xwrite(out, buf, r);
	if (r < 0)
		fail("read test binary: %s", ename(errno));
	close(in);
	SYS(close(out));
	SYS(chmod(dst, mode));
}

void set_old(const char *p)
{
	struct timespec ts[2] = {{OLD_SEC, 0}, {OLD_SEC, 0}};

	if (utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW))
		fail("utimensat(%s, old): got %s, expected success", p,
		     ename(errno));
}

int ts_after(struct timespec a, struct timespec b)
{
	return a.tv_sec > b.tv_sec ||
	       (a.tv_sec == b.tv_sec && a.tv_nsec > b.tv_nsec);
}

void tick(const char *ref)
{
	/* Smallest wait after which a change would give a ctime newer than
	 * ref's: touch a probe file on the same fs until its ctime moves past. */
	struct stat r = xlstat(ref), pr;
	int fd = open(".probe", O_CREAT | O_WRONLY, 0600);

	if (fd < 0)
		fail("create probe: %s", ename(errno));
	for (int i = 0; i < 5000; i++) {
		SYS(futimens(fd, NULL));
		pr = xfstat(fd);
		if (ts_after(pr.st_ctim, r.st_ctim)) {
			close(fd);
			unlink(".probe");
			return;
		}
		usleep(1000);
	}
	fail("timestamps do not advance (probe ctime stuck)");
}

/* ---- other credentials ---- */
static void become(const struct cred *c)
{
	if (setgroups(c->ng, c->g) || setgid(c->gid) || setuid(c->uid))
		_exit(201);
}

static int uop_do(enum uk k, const char *p1, const char *p2, long a1, long a2)
{
	char buf[4096];
	int fd;

	switch (k) {
	case U_READ:
		fd = open(p1, O_RDONLY);
		if (fd < 0)
			return errno;
		return read(fd, buf, 1) < 0 ? errno : 0;
	case U_WRITE:
		fd = open(p1, O_WRONLY);
		if (fd < 0)
			return errno;
		return write(fd, "W", 1) < 0 ? errno : 0;
	case U_APPEND:
		fd = open(p1, O_WRONLY | O_APPEND);
		if (fd < 0)
			return errno;
		return write(fd, "A", 1) < 0 ? errno : 0;
	case U_OPEN:
		return ERR(open(p1, (int)a1, (mode_t)a2));
	case U_CREATE:
		return ERR(open(p1, O_CREAT | O_EXCL | O_WRONLY, (mode_t)a1));
	case U_CREATE_RW_WRITE:
		fd = open(p1, O_CREAT | O_EXCL | O_RDWR, (mode_t)a1);
		if (fd < 0)
			return errno;
		return write(fd, "new", 3) < 0 ? errno : 0;
	case U_MKDIR:
		return ERR(mkdir(p1, (mode_t)a1));
	case U_UNLINK:
		return ERR(unlink(p1));
	case U_RMDIR:
		return ERR(rmdir(p1));
	case U_RENAME:
		return ERR(rename(p1, p2));
	case U_STAT: {
		struct stat st;
		return ERR(stat(p1, &st));
	}
	case U_LSTAT: {
		struct stat st;
		return ERR(lstat(p1, &st));
	}
	case U_READDIR: {
		DIR *d = opendir(p1);
		if (!d)
			return errno;
		errno = 0;
		while (readdir(d))
			;
		return errno;
	}
	case U_CHMOD:
		return ERR(chmod(p1, (mode_t)a1));
	case U_CHOWN:
		return ERR(chown(p1, (uid_t)a1, (gid_t)a2));
	case U_UTIMES_NOW:
		return ERR(utimensat(AT_FDCWD, p1, NULL, 0));
	case U_UTIMES_SET: {
		struct timespec ts[2] = {{OLD_SEC, 0}, {OLD_SEC, 0}};
		return ERR(utimensat(AT_FDCWD, p1, ts, 0));
	}
	case U_TRUNCATE:
		return ERR(truncate(p1, a1));
	case U_FTRUNCATE:
		fd = open(p1, O_WRONLY);
		if (fd < 0)
			return errno;
		return ERR(ftruncate(fd, a1));
	case U_EXEC:
		execl(p1, p1, "--exit0", (char *)NULL);
		return errno;
	case U_ACCESS:
		return ERR(access(p1, (int)a1));
	case U_SETXATTR:
		return ERR(setxattr(p1, p2, "v", 1, (int)a1));
	case U_GETXATTR:
		return getxattr(p1, p2, buf, sizeof(buf)) < 0 ? errno : 0;
	case U_LSETXATTR:
		return ERR(lsetxattr(p1, p2, "v", 1, (int)a1));
	case U_LGETXATTR:
		return lgetxattr(p1, p2, buf, sizeof(buf)) < 0 ? errno : 0;
	case U_LISTXATTR_HAS: {
		ssize_t n = listxattr(p1, buf, sizeof(buf));
		if (n < 0)
			return errno;
		for (ssize_t i = 0; i < n; i += strlen(buf + i) + 1)
			if (!strcmp(buf + i, p2))
				return 0;
		return ENODATA;
	}
	case U_REMOVEXATTR:
		return ERR(removexattr(p1, p2));
	case U_MKNOD:
		return ERR(mknod(p1, (mode_t)a1, (dev_t)a2));
	case U_LINK:
		return ERR(link(p1, p2));
	case U_SYMLINK:
		return ERR(symlink(p1, p2));
	}
	return 202;
}

static int wait_code(pid_t pid, const char *what)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			fail("waitpid: %s", ename(errno));
	if (WIFSIGNALED(st))
		fail("%s: helper killed by signal %d", what, WTERMSIG(st));
	if (WEXITSTATUS(st) == 201)
		fail("%s: could not switch credentials", what);
	if (WEXITSTATUS(st) >= 200)
		fail("%s: helper process failed (code %d)", what,
		     WEXITSTATUS(st));
	return WEXITSTATUS(st);
}

int as(const struct cred *c, enum uk k, const char *p1, const char *p2,
       long a1, long a2)
{
	pid_t pid = fork();

	if (pid < 0)
		fail("fork: %s", ename(errno));
	if (pid == 0) {
		become(c);
		_exit(uop_do(k, p1, p2, a1, a2));
	}
	return wait_code(pid, "as-user op");
}

int in_child(int (*fn)(void *), void *arg)
{
	pid_t pid = fork();

	if (pid < 0)
		fail("fork: %s", ename(errno));
	if (pid == 0)
		_exit(fn(arg));
	return wait_code(pid, "child");
}

void *shared_page(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		fail("mmap shared: %s", ename(errno));
	memset(p, 0, 4096);
	return p;
}

int after_release(int (*attempt)(void *), void *arg)
{
	struct timespec start, now, pause = { 0, 1000000 };
	int ret;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		ret = attempt(arg);
		if (ret != EAGAIN && ret != EWOULDBLOCK)
			return ret;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((now.tv_sec - start.tv_sec) * 1000 +
		    (now.tv_nsec - start.tv_nsec) / 1000000 >= RELEASE_WAIT_MS)
			return ret;
		nanosleep(&pause, NULL);
	}
}

/* ---- runner ---- */
static int rm_cb(const char *p, const struct stat *sb, int type,
		 struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if (type == FTW_DP || type == FTW_D || type == FTW_DNR)
		return rmdir(p) ? -1 : 0;
	return unlink(p) ? -1 : 0;
}

static int rm_rf(const char *p)
{
	return nftw(p, rm_cb, 32, FTW_DEPTH | FTW_PHYS);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: conformance [--results FILE] [--only SUBSTR] [--list] [--keep] DIR\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *dir = NULL, *results = NULL, *only = NULL;
	int list = 0, keep = 0, n = 0, passed = 0, failed = 0;
	char root[PATH_MAX], cdir[PATH_MAX + 32], self[PATH_MAX];
	FILE *rf = NULL;
	const struct tcase *tables[] = {cases_a, cases_b, cases_c};

	if (argc >= 2 && !strcmp(argv[1], "--exit0"))
		return 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--results") && i + 1 < argc)
			results = argv[++i];
		else if (!strcmp(argv[i], "--only") && i + 1 < argc)
			only = argv[++i];
		else if (!strcmp(argv[i], "--list"))
			list = 1;
		else if (!strcmp(argv[i], "--keep"))
			keep = 1;
		else if (argv[i][0] == '-')
			usage();
		else if (!dir)
			dir = argv[i];
		else
			usage();
	}
	if (list) {
		for (size_t t = 0; t < 3; t++)
			for (const struct tcase *c = tables[t]; c->name; c++)
				printf("%s\t%s\n", c->name, c->desc);
		return 0;
	}
	if (!dir)
		usage();
	if (geteuid() != 0) {
		fprintf(stderr, "conformance: must run as root\n");
		return 2;
	}
	/* keep a path to our own binary that works after chdir */
	if (realpath("/proc/self/exe", self))
		g_self = self;
	if (results) {
		rf = fopen(results, "w");
		if (!rf) {
			perror(results);
			return 2;
		}
	}
	snprintf(root, sizeof(root), "%s/conformance.%d", dir, (int)getpid());
	if (mkdir(root, 0755) || chmod(root, 0755)) {
		perror(root);
		return 2;
	}
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	setvbuf(stdout, NULL, _IOLBF, 0);

	for (size_t t = 0; t < 3; t++)
		for (const struct tcase *c = tables[t]; c->name; c++) {
			char res[1200] = "";
			char area[64];
			const char *dot = strchr(c->name, '.');
			int pfd[2], st;
			ssize_t r;
			pid_t pid;

			if (only && !strstr(c->name, only))
				continue;
			n++;
			snprintf(area, sizeof(area), "%.*s",
				 (int)(dot - c->name), c->name);
			snprintf(cdir, sizeof(cdir), "%s/%03d", root, n);
			if (mkdir(cdir, 0755) || chmod(cdir, 0755)) {
				snprintf(res, sizeof(res),
					 "FAIL cannot create case directory: %s",
					 ename(errno));
				goto report;
			}
			if (pipe2(pfd, O_CLOEXEC)) {
				perror("pipe");
				return 2;
			}
			fflush(NULL);
			pid = fork();
			if (pid == 0) {
				close(pfd[0]);
				g_resfd = pfd[1];
				g_testpid = getpid();
				setpgid(0, 0);
				alarm(c->timeout ? c->timeout : 60);
				umask(022);
				if (chdir(cdir))
					fail("chdir to case directory: %s",
					     ename(errno));
				c->fn();
				dprintf(g_resfd, "PASS %s\n",
					g_note[0] ? g_note : "-");
				_exit(0);
			}
			close(pfd[1]);
			waitpid(pid, &st, 0);
			kill(-pid, SIGKILL); /* stray helpers of this case */
			while (waitpid(-pid, NULL, 0) > 0 || errno == EINTR)
				;
			fcntl(pfd[0], F_SETFL, O_NONBLOCK);
			r = read(pfd[0], res, sizeof(res) - 1);
			close(pfd[0]);
			res[r > 0 ? r : 0] = 0;
			if (strchr(res, '\n'))
				*strchr(res, '\n') = 0;
			if (!res[0]) {
				if (WIFSIGNALED(st))
					snprintf(res, sizeof(res),
						 "FAIL killed by %s%s",
						 sigabbrev_np(WTERMSIG(st)) ?: "?",
						 WTERMSIG(st) == SIGALRM ?
							 " (timeout)" : "");
				else
					snprintf(res, sizeof(res),
						 "FAIL exited %d without a result",
						 WEXITSTATUS(st));
			}
			if (!keep && rm_rf(cdir))
				fprintf(stderr, "# warning: cleanup of case %s failed: %s\n",
					c->name, strerror(errno));
report:
			if (!strncmp(res, "PASS", 4)) {
				passed++;
				if (strcmp(res + 5, "-"))
					printf("ok %d - %s: %s # %s\n", n, area,
					       c->desc, res + 5);
				else
					printf("ok %d - %s: %s\n", n, area,
					       c->desc);
			} else {
				failed++;
				printf("not ok %d - %s: %s: %s\n", n, area,
				       c->desc, res + 5);
			}
			if (rf)
				fprintf(rf, "%s %.4s %s\n", c->name, res,
					res + 5);
		}
	if (!keep && rmdir(root))
		fprintf(stderr, "# warning: run directory not empty after cleanup\n");
	printf("1..%d\n", n);
	printf("conformance: %d passed, %d failed\n", passed, failed);
	if (rf)
		fclose(rf);
	return failed ? 1 : 0;
}
