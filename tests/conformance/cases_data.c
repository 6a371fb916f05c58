/* SPDX-License-Identifier: MIT */
/* Data layout (sparse, fallocate), locks, xattrs/ACLs, statfs, readdir. */
#include "harness.h"
#include <endian.h>

/* ===== sparse files / large offsets ===== */
static int all_zero(const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return 0;
	return 1;
}

static void t_sparse_5g_write(void)
{
	char b[4096];
	struct stat st;
	int fd = xopen("f", O_CREAT | O_RDWR, 0644);

	xpwrite(fd, "hello", 5, 5 * GIB);
	st = xfstat(fd);
	expect_eq("size after write at 5 GiB", st.st_size, 5 * GIB + 5);
	expect_eq("read at 5 GiB", xpread(fd, b, 16, 5 * GIB), 5);
	expect_true("data at 5 GiB", !memcmp(b, "hello", 5));
	memset(b, 1, sizeof(b));
	expect_eq("read in hole at 4 GiB + 1", xpread(fd, b, sizeof(b), 4 * GIB + 1), sizeof(b));
	expect_true("hole reads as zeros", all_zero(b, sizeof(b)));
	expect_eq("read hole at 0", xpread(fd, b, sizeof(b), 0), sizeof(b));
	expect_true("hole at 0 reads as zeros", all_zero(b, sizeof(b)));
	expect_true("sparse: st_blocks far below size", st.st_blocks * 512LL < 64 * MIB);
	close(fd);
	fd = xopen("f", O_RDONLY, 0);
	expect_eq("SEEK_END", lseek(fd, 0, SEEK_END), 5 * GIB + 5);
}

static void t_sparse_ftruncate_5g(void)
{
	char b[512];
	int fd = xopen("f", O_CREAT | O_RDWR, 0644);

	xwrite(fd, "abc", 3);
	SYS(ftruncate(fd, 5 * GIB));
	expect_eq("size", xfstat(fd).st_size, 5 * GIB);
	memset(b, 1, sizeof(b));
	expect_eq("read at 4.5 GiB", xpread(fd, b, sizeof(b), 4 * GIB + GIB / 2), sizeof(b));
	expect_true("zeros", all_zero(b, sizeof(b)));
	expect_true("st_blocks small", xfstat(fd).st_blocks * 512LL < 64 * MIB);
	SYS(ftruncate(fd, 2));
	expect_eq("size after shrink", xfstat(fd).st_size, 2);
	SYS(ftruncate(fd, 6));
	expect_eq("read after re-extend", xpread(fd, b, 8, 0), 6);
	expect_true("no resurrected data", !memcmp(b, "ab\0\0\0\0", 6));
}

static void t_sparse_offsets_4g_boundary(void)
{
	char b[8];
	int fd = xopen("f", O_CREAT | O_RDWR, 0644);

	xpwrite(fd, "ABCDEFGH", 8, 4 * GIB - 4); /* straddles 2^32 */
	expect_eq("read across 4 GiB", xpread(fd, b, 8, 4 * GIB - 4), 8);
	expect_true("data across 4 GiB", !memcmp(b, "ABCDEFGH", 8));
	expect_eq("read just above 4 GiB", xpread(fd, b, 4, 4 * GIB), 4);
	expect_true("upper half", !memcmp(b, "EFGH", 4));
	expect_eq("lseek SEEK_SET above 2^32", lseek(fd, 4 * GIB + 2, SEEK_SET), 4 * GIB + 2);
	expect_eq("read via offset", read(fd, b, 2), 2);
	expect_true("data", !memcmp(b, "GH", 2));
}

static void t_sparse_seek_data_hole(void)
{
	char buf[4096];
	off_t d0, h0, d1, h1, size = MIB + 4096;
	int fd = xopen("f", O_CREAT | O_RDWR, 0644);

	memset(buf, 'x', sizeof(buf));
	xpwrite(fd, buf, 4096, 0);
	xpwrite(fd, buf, 4096, MIB);
	SYS(fsync(fd));
	d0 = lseek(fd, 0, SEEK_DATA);
	h0 = lseek(fd, 0, SEEK_HOLE);
	if (d0 < 0 || h0 < 0)
		fail("SEEK_DATA/SEEK_HOLE: got %s, expected success", ename(errno));
	expect_eq("SEEK_DATA from 0", d0, 0);
	if (h0 < 4096 || h0 > size)
		fail("SEEK_HOLE from 0: got %lld, expected in [4096, size]", (long long)h0);
	d1 = lseek(fd, 8192, SEEK_DATA);
	h1 = lseek(fd, MIB, SEEK_HOLE);
	if (d1 < 0 || d1 > MIB)
		fail("SEEK_DATA from 8192: got %lld, expected <= 1 MiB", (long long)d1);
	expect_eq("SEEK_HOLE from last data", h1, size);
	expect_eq("SEEK_HOLE at last byte", lseek(fd, size - 1, SEEK_HOLE), size);
	/* fs-specific granularity: note exact answers (a trivial fs gives hole=size) */
	note("hole@%lld data>=8192@%lld", (long long)h0, (long long)d1);
}

static void t_sparse_seek_enxio(void)
{
	int fd = xopen("f", O_CREAT | O_RDWR, 0644);

	expect_err("SEEK_DATA in empty file", (int)lseek(fd, 0, SEEK_DATA) == -1 ? errno : 0, ENXIO);
	expect_err("SEEK_HOLE in empty file", (int)lseek(fd, 0, SEEK_HOLE) == -1 ? errno : 0, ENXIO);
	xwrite(fd, "0123456789", 10);
	expect_eq("SEEK_DATA dense", lseek(fd, 3, SEEK_DATA), 3);
	expect_eq("SEEK_HOLE dense => size", lseek(fd, 3, SEEK_HOLE), 10);
	expect_err("SEEK_DATA at size", (int)lseek(fd, 10, SEEK_DATA) == -1 ? errno : 0, ENXIO);
	expect_err("SEEK_HOLE beyond size", (int)lseek(fd, 11, SEEK_HOLE) == -1 ? errno : 0, ENXIO);
	SYS(ftruncate(fd, MIB));
	/* lseek(2): a minimal implementation may treat holes as data */
	off_t d = lseek(fd, MIB / 2, SEEK_DATA);
	if (d == -1 && errno != ENXIO)
		fail("SEEK_DATA in trailing hole: got %s, expected ENXIO or the offset", ename(errno));
	if (d != -1 && d != MIB / 2)
		fail("SEEK_DATA in trailing hole: got %lld, expected ENXIO or the offset", (long long)d);
	note("SEEK_DATA in trailing hole: %s", d == -1 ? "ENXIO" : "offset (hole treated as data)");
}

static void t_sparse_seek_above_4g(void)
{
	int fd = xopen("f", O_CREAT | O_RDWR, 0644);
	off_t d;

	xpwrite(fd, "data", 4, 5 * GIB);
	d = lseek(fd, 4096, SEEK_DATA);
	if (d < 4096 || d > 5 * GIB)
		fail("SEEK_DATA from 4096: got %lld, expected in [4096, 5 GiB]", (long long)d);
	note("data found %s", d == 5 * GIB ? "at 5 GiB" : d == 4096 ? "at 4096 (no hole detection)" : "in between");
	expect_eq("SEEK_HOLE after 5 GiB data", lseek(fd, 5 * GIB, SEEK_HOLE), 5 * GIB + 4);
}

/* fallocate: returns 0 on success; if unsupported, requires EOPNOTSUPP and notes it */
static int falloc(int fd, int mode, off_t off, off_t len, const char *name)
{
	if (fallocate(fd, mode, off, len) == 0) {
		note("%s: supported", name);
		return 0;
	}
	if (errno != EOPNOTSUPP)
		fail("fallocate %s: got %s, expected success or EOPNOTSUPP", name, ename(errno));
	note("%s: EOPNOTSUPP", name);
	return -1;
}

static void t_falloc_default(void)
{
	char b[4096];
	int fd = xopen("f", O_CREAT | O_RDWR, 0644);

	if (falloc(fd, 0, 0, MIB, "mode 0"))
		return;
	expect_eq("size", xfstat(fd).st_size, MIB);
	expect_true("blocks allocated", xfstat(fd).st_blocks * 512LL >= MIB);
	memset(b, 1, sizeof(b));
	expect_eq("read", xpread(fd, b, sizeof(b), 12345), sizeof(b));
	expect_true("allocated range reads zeros", all_zero(b, sizeof(b)));
	SYS(fallocate(fd, 0, 5 * GIB, 4096));
	expect_eq("size after fallocate at 5 GiB", xfstat(fd).st_size, 5 * GIB + 4096);
}

static void t_falloc_keep_size(void)
{
	int fd = xopen("f", O_CREAT | O_RDWR, 0644);

	xwrite(fd, "0123456789", 10);
	if (falloc(fd, FALLOC_FL_KEEP_SIZE, 0, MIB, "KEEP_SIZE"))
		return;
	expect_eq("size unchanged", xfstat(fd).st_size, 10);
	expect_true("blocks allocated beyond EOF", xfstat(fd).st_blocks * 512LL >= MIB);
	expect_content("f", "0123456789");
}

static void t_falloc_punch_hole(void)
{
	char *b = malloc(64 * 1024);
	int fd = xopen("f", O_CREAT | O_RDWR, 0644);
	blkcnt_t before;

	memset(b, 'a', 64 * 1024);
	xwrite(fd, b, 64 * 1024);
	SYS(fsync(fd));
	before = xfstat(fd).st_blocks;
	expect_err("PUNCH_HOLE without KEEP_SIZE", ERR(fallocate(fd, FALLOC_FL_PUNCH_HOLE, 0, 4096)), EOPNOTSUPP);
	if (falloc(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 16384, 16384, "PUNCH_HOLE|KEEP_SIZE"))
		return;
	expect_eq("size unchanged", xfstat(fd).st_size, 64 * 1024);
	expect_eq("read", xpread(fd, b, 64 * 1024, 0), 64 * 1024);
	expect_true("punched range is zero", all_zero(b + 16384, 16384));
	expect_true("data before kept", b[16383] == 'a' && b[0] == 'a');
	expect_true("data after kept", b[32768] == 'a' && b[65535] == 'a');
	expect_true("blocks freed", xfstat(fd).st_blocks < before);
	/* unaligned punch zeroes partial blocks */
	SYS(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 100, 10));
	expect_eq("read", xpread(fd, b, 200, 0), 200);
	expect_true("unaligned punch zeroes exactly", all_zero(b + 100, 10) && b[99] == 'a' && b[110] == 'a');
}

static void t_falloc_zero_range(void)
{
	char b[8192];
	int fd = xopen("f", O_CREAT | O_RDWR, 0644);

	memset(b, 'z', sizeof(b));
	xwrite(fd, b, sizeof(b));
	if (falloc(fd, FALLOC_FL_ZERO_RANGE, 1000, 5000, "ZERO_RANGE"))
		return;
	expect_eq("read", xpread(fd, b, sizeof(b), 0), sizeof(b));
	expect_true("range zeroed", all_zero(b + 1000, 5000) && b[999] == 'z' && b[6000] == 'z');
	SYS(fallocate(fd, FALLOC_FL_ZERO_RANGE, 8000, 4000));
	expect_eq("ZERO_RANGE extends size", xfstat(fd).st_size, 12000);
	SYS(fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 12000, 4000));
	expect_eq("ZERO_RANGE|KEEP_SIZE keeps size", xfstat(fd).st_size, 12000);
}

static void t_falloc_collapse_insert(void)
{
	char *b = malloc(65536);
	int fd = xopen("f", O_CREAT | O_RDWR, 0644);

	for (int i = 0; i < 16; i++)
		memset(b + i * 4096, 'a' + i, 4096);
	xwrite(fd, b, 65536);
	if (!falloc(fd, FALLOC_FL_COLLAPSE_RANGE, 4096, 4096, "COLLAPSE_RANGE")) {
		expect_eq("size after collapse", xfstat(fd).st_size, 61440);
		expect_eq("read", xpread(fd, b, 8192, 0), 8192);
		expect_true("data shifted down", b[0] == 'a' && b[4096] == 'c');
	}
	if (!falloc(fd, FALLOC_FL_INSERT_RANGE, 4096, 4096, "INSERT_RANGE")) {
		expect_eq("read", xpread(fd, b, 12288, 0), 12288);
		expect_true("inserted hole is zero, data shifted up", b[0] == 'a' && all_zero(b + 4096, 4096) && b[8192] == 'c');
	}
}

static void t_falloc_errors(void)
{
	int fd = xopen("f", O_CREAT | O_RDWR, 0644);
	int ro;

	expect_err("fallocate len 0", ERR(fallocate(fd, 0, 0, 0)), EINVAL);
	expect_err("fallocate negative offset", ERR(fallocate(fd, 0, -1, 10)), EINVAL);
	ro = xopen("f", O_RDONLY, 0);
	expect_err("fallocate on O_RDONLY fd", ERR(fallocate(ro, 0, 0, 10)), EBADF);
	expect_ok("posix_fallocate", posix_fallocate(fd, 0, 100000));
	expect_eq("size after posix_fallocate", xfstat(fd).st_size, 100000);
}

/* ===== locks ===== */
struct lk {
	const char *path;
	int cmd;
	short type;
	off_t start, len;
	int ofd;
};

static int lock_fd(int fd, int cmd, short type, off_t start, off_t len)
{
	struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};

	return ERR(fcntl(fd, cmd, &fl));
}

/* child: open path, try F_SETLK; returns 0 or errno */
static int child_trylock(void *arg)
{
	struct lk *l = arg;
	int fd = open(l->path, O_RDWR);

	if (fd < 0)
		return 150;
	return lock_fd(fd, l->cmd, l->type, l->start, l->len);
}

static int try_in_child(short type, off_t start, off_t len)
{
	struct lk l = {"f", F_SETLK, type, start, len, 0};

	return in_child(child_trylock, &l);
}

static void expect_conflict(const char *what, int got)
{
	if (got != EAGAIN && got != EACCES)
		fail("%s: got %s, expected EAGAIN or EACCES", what, ename(got));
}

static void t_lock_posix_conflict(void)
{
	int fd;

	mkfile("f", 0644, 0, 0, "data");
	fd = xopen("f", O_RDWR, 0);
	SYS(lock_fd(fd, F_SETLK, F_WRLCK, 0, 100) ? -1 : 0);
	int e = try_in_child(F_WRLCK, 50, 10);
	expect_conflict("conflicting F_WRLCK from other process", e);
	note("conflict errno: %s", ename(e));
	expect_conflict("F_RDLCK vs F_WRLCK", try_in_child(F_RDLCK, 99, 1));
	expect_ok("non-overlapping lock", try_in_child(F_WRLCK, 100, 10));
	expect_ok("same process relocks", lock_fd(fd, F_SETLK, F_WRLCK, 0, 200));
}

static void t_lock_posix_shared(void)
{
	int fd;

	mkfile("f", 0644, 0, 0, "data");
	fd = xopen("f", O_RDWR, 0);
	expect_ok("F_RDLCK", lock_fd(fd, F_SETLK, F_RDLCK, 0, 0));
	expect_ok("second F_RDLCK from other process", try_in_child(F_RDLCK, 0, 10));
	expect_conflict("F_WRLCK vs read lock", try_in_child(F_WRLCK, 5, 1));
}

static int child_getlk(void *arg)
{
	struct flock *out = arg;
	int fd = open("f", O_RDWR);

	out->l_type = F_WRLCK;
	out->l_whence = SEEK_SET;
	out->l_start = 0;
	out->l_len = 0;
	if (fd < 0)
		return 150;
	return ERR(fcntl(fd, F_GETLK, out));
}

static void t_lock_posix_getlk(void)
{
	struct flock *fl = shared_page();
	int fd;

	mkfile("f", 0644, 0, 0, "data");
	fd = xopen("f", O_RDWR, 0);
	expect_ok("F_SETLK F_WRLCK [10,110)", lock_fd(fd, F_SETLK, F_WRLCK, 10, 100));
	expect_ok("F_GETLK from other process", in_child(child_getlk, fl));
	expect_eq("l_type", fl->l_type, F_WRLCK);
	expect_eq("l_start", fl->l_start, 10);
	expect_eq("l_len", fl->l_len, 100);
	expect_eq("l_whence", fl->l_whence, SEEK_SET);
	expect_true("l_pid > 0", fl->l_pid > 0);
	note("l_pid %s", fl->l_pid == getpid() ? "is the holder" : "is not the holder's pid");
	SYS(lock_fd(fd, F_SETLK, F_UNLCK, 0, 0) ? -1 : 0);
	expect_ok("F_GETLK without conflict", in_child(child_getlk, fl));
	expect_eq("l_type without conflict", fl->l_type, F_UNLCK);
}

static void t_lock_posix_close_any_fd(void)
{
	int fd, fd2, other;

	mkfile("f", 0644, 0, 0, "data");
	mkfile("g", 0644, 0, 0, "data");
	fd = xopen("f", O_RDWR, 0);
	SYS(lock_fd(fd, F_SETLK, F_WRLCK, 0, 0) ? -1 : 0);
	other = xopen("g", O_RDWR, 0);
	close(other);
	expect_conflict("lock held after closing another file's fd", try_in_child(F_WRLCK, 0, 1));
	fd2 = xopen("f", O_RDONLY, 0);
	close(fd2);
	expect_ok("lock released by closing another fd of the file", try_in_child(F_WRLCK, 0, 1));
}

static void t_lock_posix_split(void)
{
	int fd;

	mkfile("f", 0644, 0, 0, "data");
	fd = xopen("f", O_RDWR, 0);
	SYS(lock_fd(fd, F_SETLK, F_WRLCK, 0, 100) ? -1 : 0);
	SYS(lock_fd(fd, F_SETLK, F_UNLCK, 40, 20) ? -1 : 0);
	expect_ok("lock inside unlocked middle", try_in_child(F_WRLCK, 45, 5));
	expect_conflict("lock in remaining head", try_in_child(F_WRLCK, 10, 5));
	expect_conflict("lock in remaining tail", try_in_child(F_WRLCK, 70, 5));
	SYS(lock_fd(fd, F_SETLK, F_RDLCK, 0, 30) ? -1 : 0);
	expect_ok("read lock on downgraded part", try_in_child(F_RDLCK, 10, 5));
	expect_conflict("read lock on still write-locked part", try_in_child(F_RDLCK, 35, 2));
}

static void t_lock_posix_to_eof(void)
{
	int fd;

	mkfile("f", 0644, 0, 0, "data");
	fd = xopen("f", O_RDWR, 0);
	SYS(lock_fd(fd, F_SETLK, F_WRLCK, 10, 0) ? -1 : 0);
	expect_conflict("lock far beyond EOF", try_in_child(F_WRLCK, 5 * GIB, 1));
	expect_ok("lock below start", try_in_child(F_WRLCK, 0, 10));
}

static void t_lock_posix_ebadf(void)
{
	int r, w;

	mkfile("f", 0644, 0, 0, "data");
	r = xopen("f", O_RDONLY, 0);
	w = xopen("f", O_WRONLY, 0);
	expect_err("F_WRLCK on O_RDONLY fd", lock_fd(r, F_SETLK, F_WRLCK, 0, 1), EBADF);
	expect_err("F_RDLCK on O_WRONLY fd", lock_fd(w, F_SETLK, F_RDLCK, 0, 1), EBADF);
	expect_err("invalid l_type", lock_fd(r, F_SETLK, 77, 0, 1), EINVAL);
}

static int child_hold_then_exit(void *arg)
{
	volatile int *p = arg;
	int fd = open("f", O_RDWR);

	if (fd < 0 || lock_fd(fd, F_SETLK, F_WRLCK, 0, 0))
		return 150;
	p[0] = 1;
	while (!p[1]) /* parent is about to call F_SETLKW */
		usleep(1000);
	usleep(100000);
	return 0; /* exit releases */
}

static void t_lock_posix_wait(void)
{
	volatile int *flag = shared_page();
	pid_t pid;
	int fd;

	mkfile("f", 0644, 0, 0, "data");
	pid = fork();
	if (pid == 0)
		_exit(child_hold_then_exit((void *)flag));
	while (!*flag)
		usleep(1000);
	fd = xopen("f", O_RDWR, 0);
	expect_conflict("F_SETLK while held", lock_fd(fd, F_SETLK, F_WRLCK, 0, 1));
	flag[1] = 1;
	expect_ok("F_SETLKW waits for the holder to exit", lock_fd(fd, F_SETLKW, F_WRLCK, 0, 1));
	waitpid(pid, NULL, 0);
}

static int ofd_lock_b(void *arg)
{
	return lock_fd(*(int *)arg, F_OFD_SETLK, F_WRLCK, 5, 1);
}

static void t_lock_ofd(void)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	int a, b, c;

	mkfile("f", 0644, 0, 0, "data");
	a = xopen("f", O_RDWR, 0);
	b = xopen("f", O_RDWR, 0);
	expect_ok("F_OFD_SETLK on fd a", lock_fd(a, F_OFD_SETLK, F_WRLCK, 0, 10));
	expect_conflict("F_OFD_SETLK on fd b (same process)", lock_fd(b, F_OFD_SETLK, F_WRLCK, 5, 1));
	SYS(fcntl(b, F_OFD_GETLK, &fl));
	expect_eq("F_OFD_GETLK l_type", fl.l_type, F_WRLCK);
	expect_eq("F_OFD_GETLK l_start", fl.l_start, 0);
	expect_eq("F_OFD_GETLK l_len", fl.l_len, 10);
	expect_eq("F_OFD_GETLK l_pid", fl.l_pid, -1);
	c = xopen("f", O_RDONLY, 0);
	close(c);
	expect_conflict("OFD lock survives closing another fd", lock_fd(b, F_OFD_SETLK, F_WRLCK, 5, 1));
	expect_conflict("POSIX lock from other process conflicts with OFD lock", try_in_child(F_WRLCK, 0, 1));
	close(a);
	expect_ok("OFD lock released on close of its description",
		  after_release(ofd_lock_b, &b));
}

static int child_flock(void *arg)
{
	int op = *(int *)arg;
	int fd = open("f", O_RDONLY);

	if (fd < 0)
		return 150;
	return ERR(flock(fd, op));
}

static int flock_in_child(void *arg)
{
	return in_child(child_flock, arg);
}

static void t_lock_flock_ex(void)
{
	int op = LOCK_EX | LOCK_NB, a, b, d;

	mkfile("f", 0644, 0, 0, "data");
	a = xopen("f", O_RDONLY, 0);
	b = xopen("f", O_RDONLY, 0);
	expect_ok("LOCK_EX", ERR(flock(a, LOCK_EX | LOCK_NB)));
	expect_err("LOCK_EX|LOCK_NB via another open (same process)", ERR(flock(b, LOCK_EX | LOCK_NB)), EWOULDBLOCK);
	expect_err("LOCK_EX|LOCK_NB from other process", in_child(child_flock, &op), EWOULDBLOCK);
	op = LOCK_SH | LOCK_NB;
	expect_err("LOCK_SH|LOCK_NB vs exclusive", in_child(child_flock, &op), EWOULDBLOCK);
	d = dup(a);
	close(a);
	expect_err("dup'd fd keeps the lock", ERR(flock(b, LOCK_EX | LOCK_NB)), EWOULDBLOCK);
	SYS(flock(d, LOCK_UN));
	expect_ok("LOCK_EX after LOCK_UN", ERR(flock(b, LOCK_EX | LOCK_NB)));
	close(b);
	op = LOCK_EX | LOCK_NB;
	expect_ok("close releases", after_release(flock_in_child, &op));
}

static void t_lock_flock_shared(void)
{
	int op = LOCK_SH | LOCK_NB, a, b;

	mkfile("f", 0644, 0, 0, "data");
	a = xopen("f", O_RDONLY, 0);
	b = xopen("f", O_RDONLY, 0);
	expect_ok("LOCK_SH", ERR(flock(a, LOCK_SH | LOCK_NB)));
	expect_ok("second LOCK_SH", ERR(flock(b, LOCK_SH | LOCK_NB)));
	expect_ok("LOCK_SH from other process", in_child(child_flock, &op));
	expect_err("upgrade to LOCK_EX while shared", ERR(flock(a, LOCK_EX | LOCK_NB)), EWOULDBLOCK);
	SYS(flock(b, LOCK_UN));
	expect_ok("upgrade when alone", ERR(flock(a, LOCK_EX | LOCK_NB)));
}

static void t_lock_flock_posix_independent(void)
{
	int a;

	mkfile("f", 0644, 0, 0, "data");
	a = xopen("f", O_RDWR, 0);
	SYS(flock(a, LOCK_EX | LOCK_NB));
	expect_ok("POSIX lock from other process despite flock", try_in_child(F_WRLCK, 0, 0));
}

/* ===== xattrs ===== */
static void t_xattr_user_basic(void)
{
	char b[64];
	ssize_t n;

	mkfile("f", 0644, 0, 0, "data");
	SYS(setxattr("f", "user.a", "value1", 6, 0));
	n = getxattr("f", "user.a", b, sizeof(b));
	expect_eq("getxattr length", n, 6);
	expect_true("getxattr value", !memcmp(b, "value1", 6));
	expect_eq("size query", getxattr("f", "user.a", NULL, 0), 6);
	SYS(setxattr("f", "user.a", "v2", 2, 0));
	expect_eq("overwrite shrinks value", getxattr("f", "user.a", b, sizeof(b)), 2);
	SYS(removexattr("f", "user.a"));
	expect_err("get after remove", (int)getxattr("f", "user.a", b, sizeof(b)) == -1 ? errno : 0, ENODATA);
	expect_err("remove missing", ERR(removexattr("f", "user.a")), ENODATA);
	expect_err("get missing", (int)getxattr("f", "user.nope", b, sizeof(b)) == -1 ? errno : 0, ENODATA);
}

static void t_xattr_list(void)
{
	char b[256];
	ssize_t n;
	int a = 0, bb = 0, other = 0;

	mkfile("f", 0644, 0, 0, "data");
	SYS(setxattr("f", "user.one", "1", 1, 0));
	SYS(setxattr("f", "user.two", "22", 2, 0));
	n = listxattr("f", b, sizeof(b));
	if (n < 0)
		fail("listxattr: %s", ename(errno));
	expect_eq("size query equals list length", listxattr("f", NULL, 0), n);
	for (ssize_t i = 0; i < n; i += strlen(b + i) + 1) {
		if (!strcmp(b + i, "user.one"))
			a++;
		else if (!strcmp(b + i, "user.two"))
			bb++;
		else if (!strncmp(b + i, "user.", 5))
			other++;
	}
	expect_true("both names listed once, no others", a == 1 && bb == 1 && other == 0);
	expect_err("listxattr with small buffer", (int)listxattr("f", b, 3) == -1 ? errno : 0, ERANGE);
}

static void t_xattr_flags(void)
{
	char b[16];

	mkfile("f", 0644, 0, 0, "data");
	expect_err("XATTR_REPLACE on missing", ERR(setxattr("f", "user.x", "1", 1, XATTR_REPLACE)), ENODATA);
	expect_ok("XATTR_CREATE on missing", ERR(setxattr("f", "user.x", "1", 1, XATTR_CREATE)));
	expect_err("XATTR_CREATE on existing", ERR(setxattr("f", "user.x", "2", 1, XATTR_CREATE)), EEXIST);
	expect_ok("XATTR_REPLACE on existing", ERR(setxattr("f", "user.x", "3", 1, XATTR_REPLACE)));
	expect_eq("value", getxattr("f", "user.x", b, sizeof(b)), 1);
	expect_true("replaced value", b[0] == '3');
	expect_err("invalid flags", ERR(setxattr("f", "user.x", "3", 1, 0x100)), EINVAL);
}

static void t_xattr_sizes(void)
{
	char *big = calloc(1, 70000);
	char b[8];

	mkfile("f", 0644, 0, 0, "data");
	SYS(setxattr("f", "user.v", "0123456789", 10, 0));
	expect_err("getxattr with small buffer", (int)getxattr("f", "user.v", b, 4) == -1 ? errno : 0, ERANGE);
	SYS(setxattr("f", "user.empty", "", 0, 0));
	expect_eq("empty value", getxattr("f", "user.empty", b, sizeof(b)), 0);
	memset(big, 'n', 300);
	memcpy(big, "user.", 5);
	big[256] = 0;
	expect_err("name of 256 bytes", ERR(setxattr("f", big, "1", 1, 0)), ERANGE);
	expect_err("empty name", ERR(setxattr("f", "", "1", 1, 0)), ERANGE);
	expect_err("value > 64 KiB", ERR(setxattr("f", "user.big", big, 65537, 0)), E2BIG);
	memset(big, 'v', 3000);
	expect_ok("3000-byte value", ERR(setxattr("f", "user.mid", big, 3000, 0)));
	expect_eq("3000-byte value read back", getxattr("f", "user.mid", big + 4000, 3000), 3000);
	big[0] = 'u';
	memcpy(big, "user.", 5);
	memset(big + 5, 'n', 250);
	big[255] = 0;
	expect_ok("name of 255 bytes", ERR(setxattr("f", big, "1", 1, 0)));
}

static void t_xattr_namespaces(void)
{
	char b[16];

	mkfile("f", 0644, 0, 0, "data");
	expect_err("unknown namespace", ERR(setxattr("f", "foo.bar", "1", 1, 0)), EOPNOTSUPP);
	expect_err("bare prefix user.", ERR(setxattr("f", "user.", "1", 1, 0)), EINVAL);
	expect_ok("trusted.* as root", ERR(setxattr("f", "trusted.t", "tv", 2, 0)));
	expect_eq("trusted.* read back", getxattr("f", "trusted.t", b, sizeof(b)), 2);
	int e = ERR(setxattr("f", "security.conftest", "sv", 2, 0));
	if (e == 0)
		expect_eq("security.* read back", getxattr("f", "security.conftest", b, sizeof(b)), 2);
	note("security.conftest set: %s", ename(e));
}

static void t_xattr_trusted_unpriv(void)
{
	mkfile("f", 0666, 1000, 1000, "data");
	SYS(setxattr("f", "trusted.t", "tv", 2, 0));
	SYS(setxattr("f", "user.u", "uv", 2, 0));
	expect_err("trusted.* get by unprivileged", as(&U1, U_GETXATTR, "f", "trusted.t", 0, 0), ENODATA);
	expect_err("trusted.* hidden from unprivileged list", as(&U1, U_LISTXATTR_HAS, "f", "trusted.t", 0, 0), ENODATA);
	expect_ok("user.* visible in unprivileged list", as(&U1, U_LISTXATTR_HAS, "f", "user.u", 0, 0));
	expect_err("trusted.* set by unprivileged", as(&U1, U_SETXATTR, "f", "trusted.x", 0, 0), EPERM);
	expect_ok("trusted.* listed for root", as(&ROOT, U_LISTXATTR_HAS, "f", "trusted.t", 0, 0));
}

static void t_xattr_user_perms(void)
{
	mkfile("f", 0644, 0, 0, "data");
	SYS(setxattr("f", "user.u", "uv", 2, 0));
	expect_ok("get user.* with read permission", as(&U1, U_GETXATTR, "f", "user.u", 0, 0));
	expect_err("set user.* without write permission", as(&U1, U_SETXATTR, "f", "user.n", 0, 0), EACCES);
	expect_err("remove user.* without write permission", as(&U1, U_REMOVEXATTR, "f", "user.u", 0, 0), EACCES);
	SYS(chmod("f", 0600));
	expect_err("get user.* without read permission", as(&U1, U_GETXATTR, "f", "user.u", 0, 0), EACCES);
	SYS(chmod("f", 0646));
	expect_ok("set user.* with write permission (non-owner)", as(&U1, U_SETXATTR, "f", "user.n", 0, 0));
}

static void t_xattr_user_special_files(void)
{
	SYS(symlink("target", "l"));
	SYS(mkfifo("p", 0666));
	expect_err("user.* on symlink (lsetxattr)", ERR(lsetxattr("l", "user.x", "1", 1, 0)), EPERM);
	expect_err("user.* get on symlink", (int)lgetxattr("l", "user.x", NULL, 0) == -1 ? errno : 0, ENODATA);
	expect_err("user.* on fifo", ERR(setxattr("p", "user.x", "1", 1, 0)), EPERM);
	expect_ok("trusted.* on symlink as root", ERR(lsetxattr("l", "trusted.x", "1", 1, 0)));
}

static void t_xattr_dir_and_sticky(void)
{
	char b[8];

	mkdirm("d", 0777, 0, 0);
	SYS(setxattr("d", "user.dx", "1", 1, 0));
	expect_eq("user.* on dir", getxattr("d", "user.dx", b, sizeof(b)), 1);
	expect_ok("non-owner sets user.* on writable dir", as(&U1, U_SETXATTR, "d", "user.n", 0, 0));
	SYS(chmod("d", 01777));
	expect_err("non-owner sets user.* on sticky dir", as(&U1, U_SETXATTR, "d", "user.m", 0, 0), EPERM);
}

static void t_xattr_fd_variants(void)
{
	char b[16];
	int fd;

	mkfile("f", 0644, 0, 0, "data");
	fd = xopen("f", O_RDONLY, 0);
	SYS(fsetxattr(fd, "user.f", "fv", 2, 0));
	expect_eq("fgetxattr", fgetxattr(fd, "user.f", b, sizeof(b)), 2);
	expect_true("flistxattr has name", flistxattr(fd, b, sizeof(b)) >= 7);
	SYS(fremovexattr(fd, "user.f"));
	SYS(unlink("f"));
	SYS(fsetxattr(fd, "user.g", "gv", 2, 0));
	expect_eq("fgetxattr on unlinked file", fgetxattr(fd, "user.g", b, sizeof(b)), 2);
}

static void t_xattr_follow(void)
{
	char b[8];

	mkfile("f", 0644, 0, 0, "data");
	SYS(symlink("f", "l"));
	SYS(setxattr("l", "user.via", "1", 1, 0));
	expect_eq("setxattr follows symlink", getxattr("f", "user.via", b, sizeof(b)), 1);
	expect_err("lgetxattr does not follow", (int)lgetxattr("l", "user.via", b, sizeof(b)) == -1 ? errno : 0, ENODATA);
}

/* ===== ACLs via the raw xattr format ===== */
#define A_USER_OBJ 0x01
#define A_USER 0x02
#define A_GROUP_OBJ 0x04
#define A_GROUP 0x08
#define A_MASK 0x10
#define A_OTHER 0x20
#define A_UNDEF 0xffffffffu
struct ace {
	uint16_t tag, perm;
	uint32_t id;
};

static size_t acl_build(char *buf, const struct ace *e, int n)
{
	uint32_t v = htole32(2);

	memcpy(buf, &v, 4);
	for (int i = 0; i < n; i++) {
		uint16_t t = htole16(e[i].tag), p = htole16(e[i].perm);
		uint32_t id = htole32(e[i].id);

		memcpy(buf + 4 + 8 * i, &t, 2);
		memcpy(buf + 6 + 8 * i, &p, 2);
		memcpy(buf + 8 + 8 * i, &id, 4);
	}
	return 4 + 8 * n;
}

static void acl_set(const char *p, const char *name, const struct ace *e, int n)
{
	char buf[256];
	size_t len = acl_build(buf, e, n);

	if (setxattr(p, name, buf, len, 0))
		fail("set %s: got %s, expected success", name, ename(errno));
}

/* read back and compare with expected entries */
static void acl_expect(const char *p, const char *name, const struct ace *e, int n)
{
	char got[256], want[256];
	ssize_t len = getxattr(p, name, got, sizeof(got));
	size_t wl = acl_build(want, e, n);

	if (len < 0)
		fail("get %s of %s: got %s, expected success", name, p, ename(errno));
	if ((size_t)len != wl)
		fail("%s of %s: got %zd entries, expected %d", name, p, (len - 4) / 8, n);
	for (int i = 0; i < n; i++)
		if (memcmp(got + 4 + 8 * i, want + 4 + 8 * i, 8)) {
			uint16_t t, pm;
			memcpy(&t, got + 4 + 8 * i, 2);
			memcpy(&pm, got + 6 + 8 * i, 2);
			fail("%s of %s entry %d: got tag 0x%x perm %o, expected tag 0x%x perm %o",
			     name, p, i, le16toh(t), le16toh(pm), e[i].tag, e[i].perm);
		}
}

static const struct ace acl_named[] = {
	{A_USER_OBJ, 6, A_UNDEF}, {A_USER, 4, 1000}, {A_GROUP_OBJ, 4, A_UNDEF},
	{A_MASK, 4, A_UNDEF}, {A_OTHER, 0, A_UNDEF}};

static void t_acl_access(void)
{
	mkfile("f", 0600, 0, 0, "data");
	acl_set("f", "system.posix_acl_access", acl_named, 5);
	acl_expect("f", "system.posix_acl_access", acl_named, 5);
	expect_mode("f", 0640); /* group bits = mask r-- */
}

static void t_acl_chmod_sets_mask(void)
{
	struct ace want[5];

	memcpy(want, acl_named, sizeof(want));
	mkfile("f", 0600, 0, 0, "data");
	acl_set("f", "system.posix_acl_access", acl_named, 5);
	SYS(chmod("f", 0670));
	want[0].perm = 6;
	want[3].perm = 7; /* mask follows chmod's group bits */
	acl_expect("f", "system.posix_acl_access", want, 5);
}

static void t_acl_enforced(void)
{
	mkfile("f", 0600, 0, 0, "data");
	acl_set("f", "system.posix_acl_access", acl_named, 5);
	expect_ok("named user reads via ACL", as(&U1, U_READ, "f", 0, 0, 0));
	expect_err("named user cannot write (entry r--)", as(&U1, U_WRITE, "f", 0, 0, 0), EACCES);
	expect_err("other user denied", as(&U2, U_READ, "f", 0, 0, 0), EACCES);
	struct ace m[5];
	memcpy(m, acl_named, sizeof(m));
	m[1].perm = 6;
	m[3].perm = 4;
	acl_set("f", "system.posix_acl_access", m, 5);
	expect_err("mask limits named user's write", as(&U1, U_WRITE, "f", 0, 0, 0), EACCES);
	m[3].perm = 6;
	acl_set("f", "system.posix_acl_access", m, 5);
	expect_ok("write allowed when mask permits", as(&U1, U_WRITE, "f", 0, 0, 0));
}

static void t_acl_minimal_is_mode(void)
{
	static const struct ace min[] = {{A_USER_OBJ, 7, A_UNDEF}, {A_GROUP_OBJ, 5, A_UNDEF}, {A_OTHER, 1, A_UNDEF}};
	char b[64];

	mkfile("f", 0600, 0, 0, "data");
	acl_set("f", "system.posix_acl_access", min, 3);
	expect_mode("f", 0751);
	int e = (int)getxattr("f", "system.posix_acl_access", b, sizeof(b)) == -1 ? errno : 0;
	note("minimal ACL read back: %s", ename(e));
	if (e != 0 && e != ENODATA)
		fail("get minimal ACL: got %s, expected success or ENODATA", ename(e));
}

static void t_acl_invalid(void)
{
	static const struct ace bad[] = {{A_USER_OBJ, 6, A_UNDEF}, {A_USER, 4, 1000}, {A_GROUP_OBJ, 4, A_UNDEF}, {A_OTHER, 0, A_UNDEF}};
	static const struct ace unsorted[] = {{A_GROUP_OBJ, 4, A_UNDEF}, {A_USER_OBJ, 6, A_UNDEF}, {A_OTHER, 0, A_UNDEF}};
	char buf[64];
	size_t n;

	mkfile("f", 0600, 0, 0, "data");
	n = acl_build(buf, bad, 4);
	expect_err("named entry without mask", ERR(setxattr("f", "system.posix_acl_access", buf, n, 0)), EINVAL);
	n = acl_build(buf, unsorted, 3);
	expect_err("entries out of order", ERR(setxattr("f", "system.posix_acl_access", buf, n, 0)), EINVAL);
	expect_err("truncated entry", ERR(setxattr("f", "system.posix_acl_access", buf, 7, 0)), EINVAL);
	SYS(symlink("f", "l"));
	n = acl_build(buf, acl_named, 5);
	expect_err("default ACL on a file", ERR(setxattr("f", "system.posix_acl_default", buf, n, 0)), EACCES);
	expect_mode("f", 0600);
}

static const struct ace dacl[] = {
	{A_USER_OBJ, 7, A_UNDEF}, {A_USER, 7, 1000}, {A_GROUP_OBJ, 5, A_UNDEF},
	{A_MASK, 7, A_UNDEF}, {A_OTHER, 0, A_UNDEF}};

static void t_acl_default_file(void)
{
	static const struct ace want[] = {
		{A_USER_OBJ, 6, A_UNDEF}, {A_USER, 7, 1000}, {A_GROUP_OBJ, 5, A_UNDEF},
		{A_MASK, 6, A_UNDEF}, {A_OTHER, 0, A_UNDEF}};

	SYS(mkdir("d", 0755));
	acl_set("d", "system.posix_acl_default", dacl, 5);
	acl_expect("d", "system.posix_acl_default", dacl, 5);
	umask(077); /* ignored when the parent has a default ACL */
	close(xopen("d/f", O_CREAT | O_WRONLY, 0666));
	expect_mode("d/f", 0660);
	acl_expect("d/f", "system.posix_acl_access", want, 5);
	expect_err("file has no default ACL", (int)getxattr("d/f", "system.posix_acl_default", NULL, 0) == -1 ? errno : 0, ENODATA);
	expect_ok("named user may write inherited file", as(&U1, U_WRITE, "d/f", 0, 0, 0));
}

static void t_acl_default_subdir(void)
{
	SYS(mkdir("d", 0755));
	acl_set("d", "system.posix_acl_default", dacl, 5);
	SYS(mkdir("d/s", 0777));
	expect_mode("d/s", 0770);
	acl_expect("d/s", "system.posix_acl_default", dacl, 5);
	acl_expect("d/s", "system.posix_acl_access", dacl, 5);
	SYS(removexattr("d", "system.posix_acl_default"));
	close(xopen("d/g", O_CREAT | O_WRONLY, 0666));
	expect_mode("d/g", 0644);
}

/* ===== statfs ===== */
static void t_statfs_basic(void)
{
	struct statfs s, fs;
	int fd;

	SYS(statfs(".", &s));
	expect_true("f_bsize > 0", s.f_bsize > 0);
	expect_true("f_blocks >= f_bfree", s.f_blocks >= s.f_bfree);
	expect_true("f_bfree >= f_bavail", s.f_bfree >= s.f_bavail);
	expect_eq("f_namelen", s.f_namelen, 255);
	expect_true("f_files >= f_ffree", s.f_files >= s.f_ffree);
	fd = xopen(".", O_RDONLY, 0);
	SYS(fstatfs(fd, &fs));
	expect_eq("fstatfs f_bsize equals statfs", fs.f_bsize, s.f_bsize);
	expect_eq("fstatfs f_blocks equals statfs", fs.f_blocks, s.f_blocks);
}

static void t_statvfs(void)
{
	struct statvfs v;

	SYS(statvfs(".", &v));
	expect_eq("f_namemax", v.f_namemax, 255);
	expect_true("f_frsize > 0", v.f_frsize > 0);
	expect_true("f_blocks >= f_bfree >= f_bavail", v.f_blocks >= v.f_bfree && v.f_bfree >= v.f_bavail);
	expect_eq("pathconf NAME_MAX", pathconf(".", _PC_NAME_MAX), 255);
}

/* ===== readdir ===== */
#define NENT 500
static void mkents(const char *dir)
{
	char p[64];

	SYS(mkdir(dir, 0755));
	for (int i = 0; i < NENT; i++) {
		snprintf(p, sizeof(p), "%s/entry-%03d-%s", dir, i, i % 2 ? "with-a-longer-name-to-vary-record-sizes" : "x");
		if (i % 50 == 7)
			SYS(mkdir(p, 0755));
		else
			close(xopen(p, O_CREAT | O_WRONLY, 0644));
	}
}

static int ent_index(const char *name)
{
	int i;

	if (sscanf(name, "entry-%3d-", &i) != 1 || i < 0 || i >= NENT)
		return -1;
	return i;
}

static void t_readdir_all_once(void)
{
	int seen[NENT] = {0}, dot = 0, dotdot = 0, dt_ok = 1, unknown = 0;
	struct dirent *e;
	DIR *d;

	mkents("d");
	d = opendir("d");
	while ((e = readdir(d))) {
		int i = ent_index(e->d_name);

		if (!strcmp(e->d_name, "."))
			dot++;
		else if (!strcmp(e->d_name, ".."))
			dotdot++;
		else if (i < 0)
			fail("readdir: got unexpected name");
		else {
			seen[i]++;
			if (e->d_type == DT_UNKNOWN)
				unknown++;
			else if (e->d_type != (i % 50 == 7 ? DT_DIR : DT_REG))
				dt_ok = 0;
		}
	}
	closedir(d);
	expect_eq(". seen", dot, 1);
	expect_eq(".. seen", dotdot, 1);
	for (int i = 0; i < NENT; i++)
		if (seen[i] != 1)
			fail("entry %d seen %d times, expected 1", i, seen[i]);
	expect_true("d_type matches file type", dt_ok);
	note("d_type %s", unknown ? "DT_UNKNOWN for some" : "always set");
}

static void t_readdir_unlink_while_reading(void)
{
	int seen[NENT] = {0};
	struct dirent *e;
	char p[300];
	DIR *d;

	mkents("d");
	d = opendir("d");
	while ((e = readdir(d))) {
		int i = ent_index(e->d_name);

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (i < 0)
			fail("readdir: got unexpected name");
		if (seen[i]++)
			fail("entry %d returned twice", i);
		snprintf(p, sizeof(p), "d/%s", e->d_name);
		if (i % 50 == 7)
			SYS(rmdir(p));
		else
			SYS(unlink(p));
	}
	closedir(d);
	for (int i = 0; i < NENT; i++)
		if (seen[i] != 1)
			fail("entry %d seen %d times, expected 1", i, seen[i]);
	SYS(rmdir("d"));
}

struct lde {
	uint64_t ino;
	int64_t off;
	unsigned short reclen;
	unsigned char type;
	char name[];
};

static void t_readdir_small_buffer_unlink(void)
{
	/* getdents64 with a tiny buffer: many calls, each resuming from the
	 * offset after entries were removed */
	int seen[NENT] = {0};
	char buf[400], p[300];
	int fd;
	long n;

	mkents("d");
	fd = xopen("d", O_RDONLY | O_DIRECTORY, 0);
	while ((n = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0) {
		for (long o = 0; o < n;) {
			struct lde *e = (struct lde *)(buf + o);
			int i = ent_index(e->name);

			o += e->reclen;
			if (!strcmp(e->name, ".") || !strcmp(e->name, ".."))
				continue;
			if (i < 0)
				fail("getdents: got unexpected name");
			if (seen[i]++)
				fail("entry %d returned twice", i);
			snprintf(p, sizeof(p), "d/%s", e->name);
			SYS(i % 50 == 7 ? rmdir(p) : unlink(p));
		}
	}
	if (n < 0)
		fail("getdents64: got %s", ename(errno));
	for (int i = 0; i < NENT; i++)
		if (seen[i] != 1)
			fail("entry %d seen %d times, expected 1", i, seen[i]);
	expect_eq("getdents at end again", syscall(SYS_getdents64, fd, buf, sizeof(buf)), 0);
}

static void t_readdir_seekdir(void)
{
	char names[NENT + 2][260];
	int count = 0, k = 0;
	struct dirent *e;
	long pos = -1;
	DIR *d;

	mkents("d");
	d = opendir("d");
	for (;;) {
		if (count == 200)
			pos = telldir(d);
		if (!(e = readdir(d)))
			break;
		if (count >= 200)
			snprintf(names[k++], 260, "%s", e->d_name);
		count++;
	}
	expect_eq("entries incl. . and ..", count, NENT + 2);
	seekdir(d, pos);
	for (int i = 0; i < k; i++) {
		e = readdir(d);
		if (!e || strcmp(e->d_name, names[i]))
			fail("after seekdir, entry %d: got %s, expected the same sequence", i, e ? "different name" : "end");
	}
	expect_true("end after replay", readdir(d) == NULL);
	rewinddir(d);
	close(xopen("d/new-entry", O_CREAT | O_WRONLY, 0644));
	count = 0;
	int found = 0;
	while ((e = readdir(d))) {
		count++;
		if (!strcmp(e->d_name, "new-entry"))
			found++;
	}
	expect_eq("rewinddir sees the new entry once", found, 1);
	expect_eq("count after rewinddir", count, NENT + 3);
	closedir(d);
}

static void t_readdir_empty(void)
{
	struct dirent *e;
	int n = 0;
	DIR *d;

	SYS(mkdir("d", 0755));
	mkfile("d/f", 0644, 0, 0, NULL);
	SYS(unlink("d/f"));
	d = opendir("d");
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			fail("empty dir lists an entry");
		n++;
	}
	expect_eq("empty dir has . and ..", n, 2);
	SYS(rmdir("d"));
}

/* ===== misc ===== */
static void t_misc_mmap_coherence(void)
{
	char b[8] = "";
	char *m;
	int fd;

	mkfile("f", 0644, 0, 0, NULL);
	SYS(truncate("f", 8192));
	fd = xopen("f", O_RDWR, 0);
	m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		fail("mmap MAP_SHARED: %s", ename(errno));
	memcpy(m + 4096, "mapped", 6);
	int fd2 = xopen("f", O_RDONLY, 0);
	expect_eq("read()", xpread(fd2, b, 6, 4096), 6);
	expect_true("read() sees mmap store", !memcmp(b, "mapped", 6));
	xpwrite(fd, "WRITE", 5, 100);
	expect_true("mapping sees write()", !memcmp(m + 100, "WRITE", 5));
	munmap(m, 8192);
}

static void t_misc_fsync_and_sync(void)
{
	int fd, d;

	fd = xopen("f", O_CREAT | O_RDWR, 0644);
	xwrite(fd, "x", 1);
	SYS(fsync(fd));
	SYS(fdatasync(fd));
	SYS(syncfs(fd));
	SYS(sync_file_range(fd, 0, 1, SYNC_FILE_RANGE_WRITE));
	d = xopen(".", O_RDONLY | O_DIRECTORY, 0);
	SYS(fsync(d));
	close(fd);
	fd = xopen("f", O_RDONLY, 0);
	SYS(fsync(fd));
}

static void t_misc_copy_file_range(void)
{
	int in, out;
	ssize_t n;

	mkfile("a", 0644, 0, 0, "0123456789abcdef");
	in = xopen("a", O_RDONLY, 0);
	out = xopen("b", O_CREAT | O_WRONLY, 0644);
	loff_t io = 4, oo = 2;
	n = copy_file_range(in, &io, out, &oo, 6, 0);
	if (n < 0)
		fail("copy_file_range: got %s, expected success", ename(errno));
	expect_eq("copied", n, 6);
	close(out);
	size_t len;
	char *got = readfile("b", &len);
	expect_eq("size of destination", len, 8);
	expect_true("content: 2 zero bytes then source[4..10)", !memcmp(got, "\0\0" "456789", 8));
}

static void t_misc_statx(void)
{
	struct statx sx;

	mkfile("f", 0640, 1000, G_SHARED, "abc");
	SYS(statx(AT_FDCWD, "f", 0, STATX_BASIC_STATS | STATX_BTIME, &sx));
	expect_true("basic stats present", (sx.stx_mask & STATX_BASIC_STATS) == STATX_BASIC_STATS);
	expect_eq("stx_size", sx.stx_size, 3);
	expect_eq("stx_mode", sx.stx_mode & 07777, 0640);
	expect_eq("stx_uid", sx.stx_uid, 1000);
	expect_eq("stx_gid", sx.stx_gid, G_SHARED);
	expect_eq("stx_nlink", sx.stx_nlink, 1);
	note("btime %s", sx.stx_mask & STATX_BTIME ? "present" : "absent");
}

static void t_misc_stat_fields(void)
{
	struct stat st;

	mkfile("f", 0644, 0, 0, NULL);
	st = xlstat("f");
	expect_true("st_blksize > 0", st.st_blksize > 0);
	expect_eq("st_blocks of empty file", st.st_blocks, 0);
	expect_eq("st_size", st.st_size, 0);
	int fd = xopen("f", O_WRONLY, 0);
	char b[8192];
	memset(b, 1, sizeof(b));
	xwrite(fd, b, sizeof(b));
	SYS(fsync(fd));
	expect_true("st_blocks covers data", xfstat(fd).st_blocks * 512 >= 8192);
}

static void t_misc_fchmodat_nofollow(void)
{
	mkfile("f", 0644, 0, 0, NULL);
	SYS(symlink("f", "l"));
	int e = ERR(fchmodat(AT_FDCWD, "l", 0600, AT_SYMLINK_NOFOLLOW));
	expect_err("fchmodat(AT_SYMLINK_NOFOLLOW) on symlink", e, EOPNOTSUPP);
	expect_mode("f", 0644);
	SYS(chmod("l", 0600));
	expect_mode("f", 0600);
	expect_mode("l", 0777);
}

static void t_misc_chmod_bits(void)
{
	mkfile("f", 0644, 0, 0, NULL);
	SYS(chmod("f", 07777));
	expect_mode("f", 07777);
	SYS(chmod("f", 0));
	expect_mode("f", 0);
	SYS(mkdir("d", 0755));
	SYS(chmod("d", 07000));
	expect_mode("d", 07000);
}

const struct tcase cases_c[] = {
	{"sparse.write_5g", "write at 5 GiB: size, data, zero holes, sparse", t_sparse_5g_write, 0},
	{"sparse.ftruncate_5g", "ftruncate to 5 GiB and back, no resurrected data", t_sparse_ftruncate_5g, 0},
	{"sparse.offset_4g_boundary", "I/O straddling the 2^32 byte offset", t_sparse_offsets_4g_boundary, 0},
	{"sparse.seek_data_hole", "SEEK_DATA/SEEK_HOLE on a file with a hole", t_sparse_seek_data_hole, 0},
	{"sparse.seek_enxio", "SEEK_DATA/SEEK_HOLE at/after EOF => ENXIO", t_sparse_seek_enxio, 0},
	{"sparse.seek_above_4g", "SEEK_DATA finds data at 5 GiB", t_sparse_seek_above_4g, 0},
	{"falloc.default", "fallocate mode 0", t_falloc_default, 0},
	{"falloc.keep_size", "fallocate KEEP_SIZE", t_falloc_keep_size, 0},
	{"falloc.punch_hole", "fallocate PUNCH_HOLE|KEEP_SIZE (PUNCH_HOLE alone => EOPNOTSUPP)", t_falloc_punch_hole, 0},
	{"falloc.zero_range", "fallocate ZERO_RANGE", t_falloc_zero_range, 0},
	{"falloc.collapse_insert", "fallocate COLLAPSE_RANGE/INSERT_RANGE", t_falloc_collapse_insert, 0},
	{"falloc.errors", "fallocate EINVAL/EBADF, posix_fallocate", t_falloc_errors, 0},
	{"lock.posix_conflict", "fcntl F_SETLK conflict => EAGAIN/EACCES", t_lock_posix_conflict, 0},
	{"lock.posix_shared", "fcntl read locks coexist, exclude write", t_lock_posix_shared, 0},
	{"lock.posix_getlk", "F_GETLK reports the conflicting lock", t_lock_posix_getlk, 0},
	{"lock.posix_close_any_fd", "closing any fd of the file releases POSIX locks", t_lock_posix_close_any_fd, 0},
	{"lock.posix_split", "partial unlock splits, downgrade converts", t_lock_posix_split, 0},
	{"lock.posix_to_eof", "l_len 0 locks to EOF and beyond", t_lock_posix_to_eof, 0},
	{"lock.posix_ebadf", "lock type must match open mode", t_lock_posix_ebadf, 0},
	{"lock.posix_wait", "F_SETLKW waits; exit releases", t_lock_posix_wait, 0},
	{"lock.ofd", "OFD locks: per open file description, l_pid -1", t_lock_ofd, 0},
	{"lock.flock_ex", "flock LOCK_EX|LOCK_NB conflict => EWOULDBLOCK", t_lock_flock_ex, 0},
	{"lock.flock_shared", "flock shared locks coexist; upgrade", t_lock_flock_shared, 0},
	{"lock.flock_posix_independent", "flock and fcntl locks do not interact", t_lock_flock_posix_independent, 0},
	{"xattr.user_basic", "user.* set/get/overwrite/remove, ENODATA", t_xattr_user_basic, 0},
	{"xattr.list", "listxattr contents and ERANGE", t_xattr_list, 0},
	{"xattr.flags", "XATTR_CREATE/XATTR_REPLACE", t_xattr_flags, 0},
	{"xattr.sizes", "ERANGE/E2BIG limits, empty values, 255-byte names", t_xattr_sizes, 0},
	{"xattr.namespaces", "unknown namespace, trusted.*, security.* (noted)", t_xattr_namespaces, 0},
	{"xattr.trusted_unpriv", "trusted.* invisible/unsettable for unprivileged", t_xattr_trusted_unpriv, 0},
	{"xattr.user_perms", "user.* follows file read/write permission", t_xattr_user_perms, 0},
	{"xattr.user_special_files", "user.* refused on symlinks and fifos", t_xattr_user_special_files, 0},
	{"xattr.dir_and_sticky", "user.* on dirs; sticky dir owner-only", t_xattr_dir_and_sticky, 0},
	{"xattr.fd_variants", "f*xattr, also on an unlinked file", t_xattr_fd_variants, 0},
	{"xattr.follow", "setxattr follows symlinks, lgetxattr does not", t_xattr_follow, 0},
	{"acl.access", "set/get access ACL with named user; mode group bits = mask", t_acl_access, 0},
	{"acl.chmod_sets_mask", "chmod updates ACL mask and owner entries", t_acl_chmod_sets_mask, 0},
	{"acl.enforced", "named user entry and mask are enforced", t_acl_enforced, 0},
	{"acl.minimal_is_mode", "3-entry ACL is equivalent to the mode", t_acl_minimal_is_mode, 0},
	{"acl.invalid", "malformed ACLs => EINVAL, default ACL on file => EACCES", t_acl_invalid, 0},
	{"acl.default_file", "default ACL inherited by a new file, umask ignored", t_acl_default_file, 0},
	{"acl.default_subdir", "default ACL inherited by a new subdir", t_acl_default_subdir, 0},
	{"statfs.basic", "statfs/fstatfs sanity, f_namelen 255", t_statfs_basic, 0},
	{"statfs.statvfs", "statvfs/pathconf NAME_MAX 255", t_statvfs, 0},
	{"readdir.all_once", "500 entries each seen once, d_type right", t_readdir_all_once, 0},
	{"readdir.unlink_while_reading", "unlink each entry as seen: all seen once", t_readdir_unlink_while_reading, 0},
	{"readdir.small_buffer_unlink", "getdents64 400-byte buffer while unlinking", t_readdir_small_buffer_unlink, 0},
	{"readdir.seekdir", "telldir/seekdir replay, rewinddir sees new entries", t_readdir_seekdir, 0},
	{"readdir.empty", "empty dir lists only . and ..", t_readdir_empty, 0},
	{"misc.mmap_coherence", "MAP_SHARED and read/write see each other", t_misc_mmap_coherence, 0},
	{"misc.fsync", "fsync/fdatasync/syncfs/sync_file_range, fsync on dir", t_misc_fsync_and_sync, 0},
	{"misc.copy_file_range", "copy_file_range with offsets", t_misc_copy_file_range, 0},
	{"misc.statx", "statx basic fields (btime noted)", t_misc_statx, 0},
	{"misc.stat_fields", "st_blksize/st_blocks", t_misc_stat_fields, 0},
	{"misc.fchmodat_nofollow", "fchmodat NOFOLLOW on symlink => EOPNOTSUPP; chmod follows", t_misc_fchmodat_nofollow, 0},
	{"misc.chmod_bits", "chmod stores all 12 mode bits", t_misc_chmod_bits, 0},
	{NULL, NULL, NULL, 0}};
