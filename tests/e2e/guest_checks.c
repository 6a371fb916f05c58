/* guest_checks.c: the end-to-end scenario that runs INSIDE a test guest on
 * a virtio-fs mount. Built static on the host (gcc -static) and put into
 * the guest's initramfs by tests/e2e/run-e2e.sh.
 *
 * Usage (in the guest, cwd on the mount):
 *   guest_checks [--dir DIR] [--cache auto|never|always] [--sync-timeout S]
 *                [--no-supp-group]
 *
 * DIR (default "e2e") must exist on the share: the host prepares it with
 * host-prepared.txt and host-xattr.txt (user.e2e.host = "set-on-host").
 * Prints one line per check, `ok N - name` or `not ok N - name: reason`,
 * then `e2e: N passed, M failed`, and writes DIR/results.txt: one line per
 * value the host checks afterwards (`KIND PATH VALUE...`), ended by `end`.
 * Exit status 0 only if every check passed.
 *
 * The host-after-mount check prints `e2e-sync: waiting for host file
 * DIR/host-created.txt` and polls (bounded) for that file, which the host
 * creates when it sees the line on the serial console.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif
#define FUSE_SUPER_MAGIC_ 0x65735546

#define BIG_SIZE (64u << 20)
#define BIG_CHUNK (1u << 20)
#define DIR_ENTRIES 10000

static int n_pass, n_fail, n_check;
/* --no-supp-group: the daemon does not take FUSE_CREATE_SUPP_GROUP
 * (QEMU's C daemon 7.2), whatever the guest kernel offers. */
static bool daemon_supp_group = true;
static FILE *results;
static const char *cache_mode = "auto";

/* ---- reporting ---------------------------------------------------------- */

static void pass(const char *name)
{
	n_pass++;
	printf("ok %d - %s\n", ++n_check, name);
}

__attribute__((format(printf, 2, 3)))
static void fail(const char *name, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	n_fail++;
	printf("not ok %d - %s: %s\n", ++n_check, name, buf);
}

#define CHECK(cond, name, ...)                                                 \
	do {                                                                   \
		if (cond)                                                      \
			pass(name);                                            \
		else                                                           \
			fail(name, __VA_ARGS__);                               \
	} while (0)

/* A syscall-style call that must return 0 (or >= 0). */
#define CHECK_SYS(expr, name)                                                  \
	do {                                                                   \
		errno = 0;                                                     \
		long r_ = (long)(expr);                                        \
		CHECK(r_ >= 0, name, "%s returned %ld: %s", #expr, r_,         \
		      strerror(errno));                                        \
	} while (0)

/* A call that must fail with errno e1 (or e2). */
#define CHECK_ERR(expr, e1, e2, name)                                          \
	do {                                                                   \
		errno = 0;                                                     \
		long r_ = (long)(expr);                                        \
		int e_ = errno;                                                \
		CHECK(r_ == -1 && (e_ == (e1) || e_ == (e2)), name,            \
		      "%s returned %ld errno %d (%s), expected %s", #expr, r_, \
		      e_, strerror(e_), #e1);                                  \
	} while (0)

__attribute__((format(printf, 1, 2)))
static void record(const char *fmt, ...)
{
	va_list ap;

	if (!results)
		return;
	va_start(ap, fmt);
	vfprintf(results, fmt, ap);
	va_end(ap);
	fputc('\n', results);
}

/* ---- SHA-256 (FIPS 180-4) ----------------------------------------------- */

struct sha256 {
	uint32_t h[8];
	uint64_t len;
	unsigned char buf[64];
	size_t n;
};

static const uint32_t K256[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
	0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
	0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
	0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
	0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
	0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
	0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_block(struct sha256 *s, const unsigned char *p)
{
	uint32_t w[64], a, b, c, d, e, f, g, h;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (i = 16; i < 64; i++) {
		uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	a = s->h[0]; b = s->h[1]; c = s->h[2]; d = s->h[3];
	e = s->h[4]; f = s->h[5]; g = s->h[6]; h = s->h[7];
	for (i = 0; i < 64; i++) {
		uint32_t t1 = h + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) +
			      ((e & f) ^ (~e & g)) + K256[i] + w[i];
		uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) +
			      ((a & b) ^ (a & c) ^ (b & c));
		h = g; g = f; f = e; e = d + t1;
		d = c; c = b; b = a; a = t1 + t2;
	}
	s->h[0] += a; s->h[1] += b; s->h[2] += c; s->h[3] += d;
	s->h[4] += e; s->h[5] += f; s->h[6] += g; s->h[7] += h;
}

static void sha256_init(struct sha256 *s)
{
	static const uint32_t iv[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372,
					0xa54ff53a, 0x510e527f, 0x9b05688c,
					0x1f83d9ab, 0x5be0cd19 };
	memcpy(s->h, iv, sizeof(iv));
	s->len = 0;
	s->n = 0;
}

static void sha256_update(struct sha256 *s, const void *data, size_t len)
{
	const unsigned char *p = data;

	s->len += len;
	if (s->n) {
		size_t k = 64 - s->n < len ? 64 - s->n : len;
		memcpy(s->buf + s->n, p, k);
		s->n += k;
		p += k;
		len -= k;
		if (s->n < 64)
			return;
		sha256_block(s, s->buf);
		s->n = 0;
	}
	for (; len >= 64; p += 64, len -= 64)
		sha256_block(s, p);
	memcpy(s->buf, p, len);
	s->n = len;
}

static void sha256_hex(struct sha256 *s, char out[65])
{
	uint64_t bits = s->len * 8;
	unsigned char pad = 0x80, zero = 0, lenb[8];
	int i;

	sha256_update(s, &pad, 1);
	while (s->n != 56)
		sha256_update(s, &zero, 1);
	for (i = 0; i < 8; i++)
		lenb[i] = (unsigned char)(bits >> (56 - 8 * i));
	sha256_update(s, lenb, 8);
	for (i = 0; i < 8; i++)
		snprintf(out + 8 * i, 9, "%08" PRIx32, s->h[i]);
}

static bool sha256_file(const char *path, char out[65])
{
	static unsigned char buf[1 << 16];
	struct sha256 s;
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return false;
	sha256_init(&s);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		sha256_update(&s, buf, (size_t)n);
	close(fd);
	if (n < 0)
		return false;
	sha256_hex(&s, out);
	return true;
}

/* ---- small helpers ------------------------------------------------------ */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Evict the guest's page cache and dentries so that reads go to the daemon. */
static void drop_caches(void)
{
	int fd;

	sync();
	fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
	if (fd >= 0) {
		if (write(fd, "3", 1) != 1)
			perror("drop_caches");
		close(fd);
	}
}

static bool write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	size_t len = strlen(s);
	bool ok;

	if (fd < 0)
		return false;
	ok = write(fd, s, len) == (ssize_t)len;
	return close(fd) == 0 && ok;
}

/* Read up to cap-1 bytes of a file into buf; returns the length or -1. */
static ssize_t read_file(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY);
	ssize_t n, total = 0;

	if (fd < 0)
		return -1;
	while ((size_t)total < cap - 1 &&
	       (n = read(fd, buf + total, cap - 1 - (size_t)total)) > 0)
		total += n;
	close(fd);
	buf[total] = '\0';
	return total;
}

static bool file_is(const char *path, const char *want)
{
	char buf[256];

	return read_file(path, buf, sizeof(buf)) >= 0 && strcmp(buf, want) == 0;
}

static const char *file_says(const char *path)
{
	static char buf[256];

	if (read_file(path, buf, sizeof(buf)) < 0)
		snprintf(buf, sizeof(buf), "<%s>", strerror(errno));
	return buf;
}

static int renameat2_(const char *from, const char *to, unsigned flags)
{
	return (int)syscall(SYS_renameat2, AT_FDCWD, from, AT_FDCWD, to, flags);
}

/* ---- the scenario ------------------------------------------------------- */

static void t_mount(void)
{
	struct statfs sf;

	CHECK(statfs(".", &sf) == 0 && sf.f_type == FUSE_SUPER_MAGIC_,
	      "mount: share is a FUSE (virtiofs) file system",
	      "f_type 0x%lx", (unsigned long)sf.f_type);
	CHECK(file_is("host-prepared.txt", "prepared by host\n"),
	      "mount: file the host wrote before boot reads back",
	      "got '%s'", file_says("host-prepared.txt"));
}

static void t_host_file(int sync_timeout)
{
	const char *name = "host-created.txt";
	struct stat st;
	double deadline;
	bool seen = false;

	errno = 0;
	CHECK(stat(name, &st) == -1 && errno == ENOENT,
	      "host-after-mount: file absent before the handshake",
	      "stat gave errno %d", errno);
	printf("e2e-sync: waiting for host file %s\n", name);
	fflush(stdout);
	deadline = now() + sync_timeout;
	while (now() < deadline) {
		if (stat(name, &st) == 0) {
			seen = true;
			break;
		}
		/* cache=always caches the negative lookup for a day: there only
		 * an eviction of the guest's dentries can reveal the file. */
		if (strcmp(cache_mode, "always") == 0)
			drop_caches();
		nap_ms(50);
	}
	CHECK(seen, "host-after-mount: file created on the host appears in the guest",
	      "not seen within %d s", sync_timeout);
	CHECK(seen && file_is(name, "created by host after mount\n"),
	      "host-after-mount: its content reads back", "got '%s'", file_says(name));
}

static uint64_t xs_state;
static uint64_t xorshift(void)
{
	xs_state ^= xs_state << 13;
	xs_state ^= xs_state >> 7;
	xs_state ^= xs_state << 17;
	return xs_state;
}

static void t_big_file(void)
{
	static uint64_t chunk[BIG_CHUNK / 8];
	static unsigned char rbuf[BIG_CHUNK];
	const char *name = "big.bin";
	struct sha256 s;
	char want[65], got[65];
	struct stat st;
	bool wrote = true;
	double t0 = now();
	size_t i, done;
	int fd;

	fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0, "big file: create", "%s", strerror(errno));
	if (fd < 0)
		return;
	xs_state = 0x9e3779b97f4a7c15ull;
	sha256_init(&s);
	for (done = 0; done < BIG_SIZE; done += BIG_CHUNK) {
		for (i = 0; i < BIG_CHUNK / 8; i++)
			chunk[i] = xorshift();
		sha256_update(&s, chunk, BIG_CHUNK);
		/* Odd-sized writes too: split each MiB as 4097 + rest. */
		if (write(fd, chunk, 4097) != 4097 ||
		    write(fd, (char *)chunk + 4097, BIG_CHUNK - 4097) != (ssize_t)(BIG_CHUNK - 4097)) {
			wrote = false;
			break;
		}
	}
	sha256_hex(&s, want);
	CHECK(wrote, "big file: write 64 MiB pattern", "write at %zu: %s", done, strerror(errno));
	CHECK_SYS(fsync(fd), "big file: fsync");
	CHECK_SYS(close(fd), "big file: close");
	CHECK(stat(name, &st) == 0 && st.st_size == BIG_SIZE, "big file: size is 64 MiB",
	      "size %lld", (long long)st.st_size);
	printf("e2e: big.bin sha256 %s (written in %.1f s)\n", want, now() - t0);

	drop_caches();
	t0 = now();
	fd = open(name, O_RDONLY);
	sha256_init(&s);
	done = 0;
	if (fd >= 0) {
		ssize_t n;

		while ((n = read(fd, rbuf, sizeof(rbuf))) > 0) {
			sha256_update(&s, rbuf, (size_t)n);
			done += (size_t)n;
		}
		close(fd);
	}
	sha256_hex(&s, got);
	printf("e2e: big.bin read back in %.1f s\n", now() - t0);
	CHECK(done == BIG_SIZE && strcmp(want, got) == 0,
	      "big file: read back after dropping caches, checksum matches",
	      "read %zu bytes, sha256 %s", done, got);
	record("sha256 big.bin %s", want);
	record("size big.bin %u", BIG_SIZE);
}

static void t_append(void)
{
	const char *name = "append.txt";
	struct stat st;
	int fd;

	CHECK(write_file(name, "line1\n"), "append: create", "%s", strerror(errno));
	fd = open(name, O_WRONLY | O_APPEND);
	CHECK(fd >= 0 && write(fd, "line2\n", 6) == 6 && close(fd) == 0,
	      "append: O_APPEND write", "%s", strerror(errno));
	fd = open(name, O_WRONLY | O_APPEND);
	/* With O_APPEND, a write lands at the end whatever the offset. */
	CHECK(fd >= 0 && lseek(fd, 0, SEEK_SET) == 0 && write(fd, "line3\n", 6) == 6 &&
	      close(fd) == 0, "append: O_APPEND write after lseek(0)", "%s", strerror(errno));
	CHECK(stat(name, &st) == 0 && st.st_size == 18, "append: size is 18",
	      "size %lld", (long long)st.st_size);
	CHECK(file_is(name, "line1\nline2\nline3\n"), "append: content in order",
	      "got '%s'", file_says(name));
	record("content append.txt line1\\nline2\\nline3\\n");
}

static void t_truncate(void)
{
	const char *name = "trunc.bin";
	char buf[4096], a100[101];
	struct stat st;
	bool zeros = true;
	int fd, i;

	memset(a100, 'A', 100);
	a100[100] = '\0';
	CHECK(write_file(name, a100), "truncate: create 100 bytes", "%s", strerror(errno));
	fd = open(name, O_RDWR);
	CHECK_SYS(ftruncate(fd, 1 << 20), "truncate: ftruncate up to 1 MiB");
	CHECK(fstat(fd, &st) == 0 && st.st_size == 1 << 20, "truncate: size after growing",
	      "size %lld", (long long)st.st_size);
	memset(buf, 1, sizeof(buf));
	if (pread(fd, buf, sizeof(buf), 500000) != (ssize_t)sizeof(buf))
		zeros = false;
	for (i = 0; zeros && i < (int)sizeof(buf); i++)
		zeros = buf[i] == 0;
	CHECK(zeros, "truncate: grown region reads as zeros", "non-zero byte or short read");
	CHECK(pread(fd, buf, 100, 0) == 100 && memcmp(buf, a100, 100) == 0,
	      "truncate: old data kept when growing", "mismatch");
	close(fd);
	CHECK_SYS(truncate(name, 10), "truncate: truncate(path) down to 10");
	CHECK(stat(name, &st) == 0 && st.st_size == 10, "truncate: size after shrinking",
	      "size %lld", (long long)st.st_size);
	CHECK(file_is(name, "AAAAAAAAAA"), "truncate: content after shrinking",
	      "got '%s'", file_says(name));
	fd = open(name, O_WRONLY | O_TRUNC);
	CHECK(fd >= 0 && fstat(fd, &st) == 0 && st.st_size == 0, "truncate: O_TRUNC empties",
	      "fd %d size %lld", fd, (long long)st.st_size);
	if (fd >= 0) {
		CHECK(write(fd, "0123456789", 10) == 10 && ftruncate(fd, 4) == 0,
		      "truncate: ftruncate down on an open file", "%s", strerror(errno));
		close(fd);
	}
	record("size trunc.bin 4");
	record("content trunc.bin 0123");
}

static void t_rename(void)
{
	struct stat st;

	mkdir("rdir1", 0755);
	mkdir("rdir2", 0755);
	write_file("r-a", "A");
	CHECK_SYS(rename("r-a", "r-b"), "rename: plain");
	CHECK(stat("r-a", &st) == -1 && errno == ENOENT && file_is("r-b", "A"),
	      "rename: old name gone, new name has the data", "r-b '%s'", file_says("r-b"));
	write_file("r-c", "C");
	CHECK_SYS(rename("r-c", "r-b"), "rename: over an existing file");
	CHECK(stat("r-c", &st) == -1 && file_is("r-b", "C"),
	      "rename: target replaced", "r-b '%s'", file_says("r-b"));
	write_file("r-d", "D");
	CHECK_ERR(renameat2_("r-d", "r-b", RENAME_NOREPLACE), EEXIST, EEXIST,
		  "rename: RENAME_NOREPLACE onto existing fails with EEXIST");
	CHECK(file_is("r-d", "D") && file_is("r-b", "C"),
	      "rename: RENAME_NOREPLACE left both files alone", "r-d '%s'", file_says("r-d"));
	CHECK_SYS(renameat2_("r-d", "r-e", RENAME_NOREPLACE), "rename: RENAME_NOREPLACE to a free name");
	CHECK_SYS(renameat2_("r-e", "r-b", RENAME_EXCHANGE), "rename: RENAME_EXCHANGE");
	CHECK(file_is("r-b", "D") && file_is("r-e", "C"), "rename: RENAME_EXCHANGE swapped contents",
	      "r-b '%s'", file_says("r-b"));
	write_file("rdir1/f", "moved");
	CHECK_SYS(rename("rdir1/f", "rdir2/g"), "rename: across directories");
	CHECK(file_is("rdir2/g", "moved") && stat("rdir1/f", &st) == -1,
	      "rename: across directories moved the file", "rdir2/g '%s'", file_says("rdir2/g"));
	CHECK_SYS(rename("rdir2", "rdir3"), "rename: a directory");
	CHECK(file_is("rdir3/g", "moved"), "rename: directory's content follows", "got '%s'",
	      file_says("rdir3/g"));
	record("content r-b D");
	record("content r-e C");
	record("absent r-a");
	record("absent r-c");
	record("absent r-d");
	record("content rdir3/g moved");
}

static void t_links(void)
{
	struct stat a, b;

	write_file("hl-a", "link");
	CHECK_SYS(link("hl-a", "hl-b"), "hard link: link");
	CHECK_SYS(link("hl-a", "hl-c"), "hard link: second link");
	CHECK(stat("hl-a", &a) == 0 && a.st_nlink == 3, "hard link: st_nlink is 3",
	      "nlink %lu", (unsigned long)a.st_nlink);
	CHECK(stat("hl-b", &b) == 0 && a.st_ino == b.st_ino, "hard link: same inode",
	      "%lu vs %lu", (unsigned long)a.st_ino, (unsigned long)b.st_ino);
	CHECK_SYS(unlink("hl-c"), "hard link: unlink one name");
	CHECK(stat("hl-a", &a) == 0 && a.st_nlink == 2, "hard link: st_nlink drops to 2",
	      "nlink %lu", (unsigned long)a.st_nlink);
	write_file("hl-b", "changed");
	CHECK(file_is("hl-a", "changed"), "hard link: write via one name seen via the other",
	      "got '%s'", file_says("hl-a"));
	CHECK_ERR(link("hl-a", "hl-b"), EEXIST, EEXIST, "hard link: onto existing name fails with EEXIST");
	record("nlink hl-a 2");
	record("sameino hl-a hl-b");
}

static void t_symlinks(void)
{
	char buf[256];
	struct stat st, t;
	ssize_t n;

	CHECK_SYS(symlink("hl-a", "sl-rel"), "symlink: create relative");
	CHECK_SYS(symlink("/nonexistent/target", "sl-dangling"), "symlink: create dangling");
	n = readlink("sl-rel", buf, sizeof(buf) - 1);
	buf[n < 0 ? 0 : n] = '\0';
	CHECK(n == 4 && strcmp(buf, "hl-a") == 0, "symlink: readlink", "got '%s'", buf);
	n = readlink("sl-dangling", buf, sizeof(buf) - 1);
	buf[n < 0 ? 0 : n] = '\0';
	CHECK(strcmp(buf, "/nonexistent/target") == 0, "symlink: readlink dangling", "got '%s'", buf);
	CHECK(lstat("sl-rel", &st) == 0 && S_ISLNK(st.st_mode) && st.st_size == 4,
	      "symlink: lstat says link of size 4", "mode 0%o size %lld", st.st_mode,
	      (long long)st.st_size);
	CHECK(stat("sl-rel", &st) == 0 && stat("hl-a", &t) == 0 && st.st_ino == t.st_ino,
	      "symlink: stat follows to the target", "ino %lu", (unsigned long)st.st_ino);
	CHECK(file_is("sl-rel", "changed"), "symlink: open follows to the target",
	      "got '%s'", file_says("sl-rel"));
	CHECK_ERR(stat("sl-dangling", &st), ENOENT, ENOENT, "symlink: dangling stat gives ENOENT");
	record("symlink sl-rel hl-a");
	record("symlink sl-dangling /nonexistent/target");
}

static void t_dirs(void)
{
	struct stat st;

	CHECK_SYS(mkdir("d1", 0750), "mkdir: create");
	CHECK(stat("d1", &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0750,
	      "mkdir: is a directory with mode 0750", "mode 0%o", st.st_mode);
	CHECK_ERR(mkdir("d1", 0755), EEXIST, EEXIST, "mkdir: existing fails with EEXIST");
	write_file("d1/f", "x");
	CHECK_SYS(mkdir("d1/sub", 0755), "mkdir: nested");
	CHECK_ERR(rmdir("d1"), ENOTEMPTY, EEXIST, "rmdir: non-empty fails with ENOTEMPTY");
	CHECK_ERR(rmdir("d1/f"), ENOTDIR, ENOTDIR, "rmdir: on a file fails with ENOTDIR");
	CHECK_ERR(unlink("d1/sub"), EISDIR, EPERM, "unlink: on a directory fails with EISDIR");
	CHECK(unlink("d1/f") == 0 && rmdir("d1/sub") == 0, "rmdir: empty the directory",
	      "%s", strerror(errno));
	CHECK_SYS(rmdir("d1"), "rmdir: now empty, succeeds");
	CHECK_ERR(stat("d1", &st), ENOENT, ENOENT, "rmdir: directory is gone");
	CHECK_SYS(mkdir("d2", 0755), "mkdir: a directory that stays");
	record("absent d1");
	record("type d2 directory");
}

static void t_bigdir(void)
{
	static unsigned char seen[DIR_ENTRIES];
	char path[64];
	int i, made = 0, dups = 0, bad = 0, missing = 0, dots = 0;
	struct dirent *de;
	double t0 = now();
	DIR *d;

	CHECK_SYS(mkdir("bigdir", 0755), "readdir: mkdir bigdir");
	for (i = 0; i < DIR_ENTRIES; i++) {
		snprintf(path, sizeof(path), "bigdir/f%05d", i);
		/* mknod is one request (create+flush+release would be three). */
		if (mknod(path, S_IFREG | 0644, 0) == 0)
			made++;
	}
	CHECK(made == DIR_ENTRIES, "readdir: create 10000 entries", "created %d", made);
	printf("e2e: created %d entries in %.1f s\n", made, now() - t0);
	drop_caches();
	t0 = now();
	d = opendir("bigdir");
	CHECK(d != NULL, "readdir: opendir", "%s", strerror(errno));
	if (!d)
		return;
	errno = 0;
	while ((de = readdir(d)) != NULL) {
		char *end;
		long idx;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) {
			dots++;
			continue;
		}
		idx = de->d_name[0] == 'f' ? strtol(de->d_name + 1, &end, 10) : -1;
		if (idx < 0 || idx >= DIR_ENTRIES || *end || strlen(de->d_name) != 6) {
			bad++;
			continue;
		}
		if (seen[idx]++)
			dups++;
	}
	CHECK(errno == 0, "readdir: no error while listing", "%s", strerror(errno));
	closedir(d);
	for (i = 0; i < DIR_ENTRIES; i++)
		missing += !seen[i];
	printf("e2e: listed bigdir in %.1f s\n", now() - t0);
	CHECK(missing == 0 && dups == 0 && bad == 0,
	      "readdir: each of 10000 entries seen exactly once",
	      "%d missing, %d duplicates, %d unexpected names", missing, dups, bad);
	CHECK(dots == 2, "readdir: . and .. listed once each", "%d dot entries", dots);
	record("count bigdir %d", DIR_ENTRIES);
}

static void t_attrs(void)
{
	const char *name = "attr.txt";
	struct timespec ts[2] = { { 1000000000, 123456789 }, { 1234567890, 987654321 } };
	struct stat st;

	write_file(name, "attrs");
	CHECK_SYS(chmod(name, 0751), "chmod: 0751");
	CHECK(stat(name, &st) == 0 && (st.st_mode & 07777) == 0751, "chmod: guest sees 0751",
	      "mode 0%o", st.st_mode & 07777);
	CHECK_SYS(chown(name, 1234, 5678), "chown: 1234:5678");
	CHECK(stat(name, &st) == 0 && st.st_uid == 1234 && st.st_gid == 5678,
	      "chown: guest sees 1234:5678", "%u:%u", st.st_uid, st.st_gid);
	CHECK_SYS(utimensat(AT_FDCWD, name, ts, 0), "utimensat: set atime and mtime");
	CHECK(stat(name, &st) == 0 && st.st_atim.tv_sec == ts[0].tv_sec &&
	      st.st_atim.tv_nsec == ts[0].tv_nsec && st.st_mtim.tv_sec == ts[1].tv_sec &&
	      st.st_mtim.tv_nsec == ts[1].tv_nsec,
	      "utimensat: guest sees the times to the nanosecond", "atime %lld.%09ld mtime %lld.%09ld",
	      (long long)st.st_atim.tv_sec, st.st_atim.tv_nsec, (long long)st.st_mtim.tv_sec,
	      st.st_mtim.tv_nsec);
	CHECK_SYS(chmod("d2", 0705), "chmod: a directory to 0705");
	record("mode %s 751", name);
	record("owner %s 1234 5678", name);
	record("times %s %lld.%09ld %lld.%09ld", name, (long long)ts[0].tv_sec, ts[0].tv_nsec,
	       (long long)ts[1].tv_sec, ts[1].tv_nsec);
	record("mode d2 705");
}

static void t_xattr(void)
{
	const char *name = "xattr.txt";
	char buf[256], list[1024];
	ssize_t n;
	bool listed = false;

	write_file(name, "x");
	CHECK_SYS(setxattr(name, "user.e2e.guest", "set-in-guest", 12, 0), "xattr: setxattr user.e2e.guest");
	n = getxattr(name, "user.e2e.guest", buf, sizeof(buf) - 1);
	buf[n < 0 ? 0 : n] = '\0';
	CHECK(n == 12 && strcmp(buf, "set-in-guest") == 0, "xattr: getxattr reads it back",
	      "n %zd '%s' %s", n, buf, n < 0 ? strerror(errno) : "");
	CHECK(getxattr(name, "user.e2e.guest", NULL, 0) == 12, "xattr: size query", "%s",
	      strerror(errno));
	n = listxattr(name, list, sizeof(list));
	for (ssize_t off = 0; n > 0 && off < n; off += (ssize_t)strlen(list + off) + 1)
		listed |= strcmp(list + off, "user.e2e.guest") == 0;
	CHECK(listed, "xattr: listxattr lists it", "n %zd", n);
	CHECK_ERR(setxattr(name, "user.e2e.guest", "v", 1, XATTR_CREATE), EEXIST, EEXIST,
		  "xattr: XATTR_CREATE on existing fails with EEXIST");
	CHECK_ERR(setxattr(name, "user.e2e.none", "v", 1, XATTR_REPLACE), ENODATA, ENODATA,
		  "xattr: XATTR_REPLACE on missing fails with ENODATA");
	CHECK_SYS(setxattr(name, "user.e2e.removed", "gone", 4, 0), "xattr: set a second one");
	CHECK_SYS(removexattr(name, "user.e2e.removed"), "xattr: removexattr");
	CHECK_ERR(getxattr(name, "user.e2e.removed", buf, sizeof(buf)), ENODATA, ENODATA,
		  "xattr: removed one gives ENODATA");
	n = getxattr("host-xattr.txt", "user.e2e.host", buf, sizeof(buf) - 1);
	buf[n < 0 ? 0 : n] = '\0';
	CHECK(strcmp(buf, "set-on-host") == 0, "xattr: one set on the host reads in the guest",
	      "got '%s' %s", buf, n < 0 ? strerror(errno) : "");
	record("xattr %s user.e2e.guest set-in-guest", name);
	record("noxattr %s user.e2e.removed", name);
}

/* --selinux-map: the daemon runs with --security-label and
 * --xattrmap=:map:security.selinux:user.virtiofs.: (run-e2e.sh
 * --selinux-map). The guest's security.selinux lives on the host as
 * user.virtiofs.security.selinux, out of the guest's direct reach; the
 * guest's creates carry a security context extension (empty without an
 * LSM that labels, as here: the guests boot without SELinux). */
static void t_selinux_map(void)
{
	static const char label[] = "system_u:object_r:e2e_t:s0";
	const char *name = "selinux.txt";
	char buf[256], list[1024];
	bool listed = false, host_name_listed = false;
	ssize_t n;
	FILE *f;

	/* what labels the guest's new inodes: none of its LSMs does */
	mkdir("/sys/kernel/security", 0755);
	mount("securityfs", "/sys/kernel/security", "securityfs", 0, NULL);
	f = fopen("/sys/kernel/security/lsm", "r");
	if (f && fgets(buf, sizeof(buf), f))
		printf("e2e: guest LSMs: %s%s\n", buf, access("/sys/fs/selinux", F_OK) ?
		       " (no /sys/fs/selinux)" : "");
	if (f)
		fclose(f);

	write_file(name, "x");
	CHECK_SYS(setxattr(name, "security.selinux", label, sizeof(label) - 1, 0),
		  "selinux map: root sets security.selinux");
	n = getxattr(name, "security.selinux", buf, sizeof(buf) - 1);
	buf[n < 0 ? 0 : n] = '\0';
	CHECK(n == sizeof(label) - 1 && !strcmp(buf, label), "selinux map: reads it back",
	      "n %zd '%s' %s", n, buf, n < 0 ? strerror(errno) : "");
	n = listxattr(name, list, sizeof(list));
	for (ssize_t off = 0; n > 0 && off < n; off += (ssize_t)strlen(list + off) + 1) {
		listed |= !strcmp(list + off, "security.selinux");
		host_name_listed |= !strncmp(list + off, "user.virtiofs.", 14);
	}
	CHECK(listed && !host_name_listed, "selinux map: listxattr shows the guest's name only",
	      "n %zd listed %d host name %d", n, listed, host_name_listed);
	CHECK_ERR(setxattr(name, "user.virtiofs.security.selinux", "forged", 6, 0), EPERM, EPERM,
		  "selinux map: the host's name is refused to the guest");
	CHECK_ERR(getxattr(name, "user.virtiofs.security.selinux", buf, sizeof(buf)), ENODATA,
		  ENODATA, "selinux map: nor can the guest read it");
	n = getxattr("host-label.txt", "security.selinux", buf, sizeof(buf) - 1);
	buf[n < 0 ? 0 : n] = '\0';
	CHECK(!strcmp(buf, "system_u:object_r:host_t:s0"),
	      "selinux map: a label the host stored reads in the guest", "got '%s' %s", buf,
	      n < 0 ? strerror(errno) : "");
	/* creates carry the (empty) context extension: all still work */
	CHECK_SYS(mkdir("labelled-dir", 0755), "selinux map: mkdir with a context extension");
	CHECK_SYS(symlink(name, "labelled-link"), "selinux map: symlink with one");
	CHECK_SYS(mknod("labelled-fifo", S_IFIFO | 0644, 0), "selinux map: mknod with one");
	write_file("labelled-file", "y");
	record("xattr %s user.virtiofs.security.selinux %s", name, label);
	record("noxattr %s security.selinux", name);
	record("type labelled-dir directory");
	record("type labelled-fifo fifo");
}

static void t_fifo(void)
{
	struct stat st;
	char c = 0;
	int r, w;

	CHECK_SYS(mkfifo("fifo", 0644), "mkfifo: create");
	CHECK(lstat("fifo", &st) == 0 && S_ISFIFO(st.st_mode), "mkfifo: guest sees a FIFO",
	      "mode 0%o", st.st_mode);
	r = open("fifo", O_RDONLY | O_NONBLOCK);
	w = open("fifo", O_WRONLY | O_NONBLOCK);
	CHECK(r >= 0 && w >= 0 && write(w, "z", 1) == 1 && read(r, &c, 1) == 1 && c == 'z',
	      "mkfifo: data passes through it", "r %d w %d c %d: %s", r, w, c, strerror(errno));
	if (r >= 0)
		close(r);
	if (w >= 0)
		close(w);
	record("type fifo fifo");
}

static void t_statfs(void)
{
	struct statvfs sv;

	CHECK_SYS(statvfs(".", &sv), "statfs: statvfs");
	CHECK(sv.f_bsize > 0 && sv.f_frsize > 0 && sv.f_blocks > 0 && sv.f_bfree <= sv.f_blocks &&
	      sv.f_bavail <= sv.f_bfree && sv.f_namemax >= 255,
	      "statfs: sane values", "bsize %lu frsize %lu blocks %llu bfree %llu bavail %llu namemax %lu",
	      sv.f_bsize, sv.f_frsize, (unsigned long long)sv.f_blocks,
	      (unsigned long long)sv.f_bfree, (unsigned long long)sv.f_bavail, sv.f_namemax);
	record("statfs %llu %lu", (unsigned long long)sv.f_blocks, sv.f_frsize);
}

static void t_fsync(void)
{
	int fd = open("fsync.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	int dfd = open(".", O_RDONLY | O_DIRECTORY);

	CHECK(fd >= 0 && write(fd, "durable\n", 8) == 8, "fsync: write", "%s", strerror(errno));
	CHECK_SYS(fsync(fd), "fsync: fsync a file");
	CHECK_SYS(fdatasync(fd), "fsync: fdatasync a file");
	CHECK_SYS(fsync(dfd), "fsync: fsync a directory");
	CHECK_SYS(syncfs(fd), "fsync: syncfs");
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	record("content fsync.txt durable\\n");
}

static void t_mmap(void)
{
	const size_t len = 4 * 4096;
	static char buf[4 * 4096];
	char sha[65];
	bool same = true;
	char *p;
	size_t i;
	int fd = open("mmap.bin", O_RDWR | O_CREAT | O_TRUNC, 0644);

	CHECK(fd >= 0 && ftruncate(fd, (off_t)len) == 0, "mmap: create 16 KiB file", "%s",
	      strerror(errno));
	if (fd < 0)
		return;
	errno = 0;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED && errno == ENODEV && strcmp(cache_mode, "never") == 0) {
		/* Linux 6.1 refuses shared writable maps of FOPEN_DIRECT_IO
		 * files (cache=never); assert that documented behaviour. */
		pass("mmap: MAP_SHARED refused with ENODEV on a direct-io file (cache=never)");
		close(fd);
		return;
	}
	CHECK(p != MAP_FAILED, "mmap: MAP_SHARED read-write", "%s", strerror(errno));
	if (p == MAP_FAILED) {
		close(fd);
		return;
	}
	for (i = 0; i < len; i++)
		p[i] = (char)('a' + (i / 4096) * 3 + i % 7);
	CHECK_SYS(msync(p, len, MS_SYNC), "mmap: msync");
	CHECK_SYS(munmap(p, len), "mmap: munmap");
	CHECK(pread(fd, buf, len, 0) == (ssize_t)len, "mmap: read(2) the file", "%s", strerror(errno));
	for (i = 0; i < len; i++)
		same &= buf[i] == (char)('a' + (i / 4096) * 3 + i % 7);
	CHECK(same, "mmap: read(2) sees the mapped writes", "mismatch");
	close(fd);
	drop_caches();
	CHECK(sha256_file("mmap.bin", sha) && read_file("mmap.bin", buf, sizeof(buf)) >= 0, "mmap: reread after dropping caches", "%s", strerror(errno));
	fd = open("mmap.bin", O_RDONLY);
	same = fd >= 0 && read(fd, buf, len) == (ssize_t)len;
	for (i = 0; same && i < len; i++)
		same = buf[i] == (char)('a' + (i / 4096) * 3 + i % 7);
	if (fd >= 0)
		close(fd);
	CHECK(same, "mmap: data reached the daemon (reread after dropping caches)", "mismatch");
	record("sha256 mmap.bin %s", sha);
}

/* The lock checks: each child reports a list of results through a pipe. */
enum { LK_MAX = 8 };
struct lk_report {
	int n;
	int ret[LK_MAX];
	int err[LK_MAX];
	int type[LK_MAX];
};

static int set_lk(int fd, short type, off_t start, off_t len)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len };

	return fcntl(fd, F_SETLK, &fl);
}

static void lk_put(struct lk_report *r, int ret, int type)
{
	if (r->n < LK_MAX) {
		r->ret[r->n] = ret;
		r->err[r->n] = ret < 0 ? errno : 0;
		r->type[r->n] = type;
		r->n++;
	}
}

/* Run fn in a child process that opens path itself; collect its report. */
static bool in_child(const char *path, void (*fn)(int fd, struct lk_report *r),
		     struct lk_report *out)
{
	int pfd[2], st;
	pid_t pid;

	memset(out, 0, sizeof(*out));
	if (pipe(pfd) < 0)
		return false;
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return false;
	if (pid == 0) {
		struct lk_report r = { 0 };
		int fd = open(path, O_RDWR);

		alarm(30);
		close(pfd[0]);
		if (fd >= 0)
			fn(fd, &r);
		else
			r.n = -1;
		_exit(write(pfd[1], &r, sizeof(r)) == sizeof(r) ? 0 : 1);
	}
	close(pfd[1]);
	if (read(pfd[0], out, sizeof(*out)) != sizeof(*out))
		out->n = -2;
	close(pfd[0]);
	return waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0 && out->n >= 0;
}

static void child_conflicts(int fd, struct lk_report *r)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 50, .l_len = 10 };

	lk_put(r, set_lk(fd, F_WRLCK, 50, 10), 0);
	lk_put(r, set_lk(fd, F_RDLCK, 50, 10), 0);
	lk_put(r, fcntl(fd, F_GETLK, &fl), fl.l_type);
	lk_put(r, set_lk(fd, F_WRLCK, 200, 100), 0);
}

static void child_relock(int fd, struct lk_report *r)
{
	lk_put(r, set_lk(fd, F_WRLCK, 50, 10), 0);
}

static void child_readlock(int fd, struct lk_report *r)
{
	lk_put(r, set_lk(fd, F_RDLCK, 0, 100), 0);
	lk_put(r, set_lk(fd, F_WRLCK, 0, 100), 0);
}

static void child_flock(int fd, struct lk_report *r)
{
	lk_put(r, flock(fd, LOCK_EX | LOCK_NB), 0);
	lk_put(r, flock(fd, LOCK_SH | LOCK_NB), 0);
}

static void child_flock_after(int fd, struct lk_report *r)
{
	lk_put(r, flock(fd, LOCK_EX | LOCK_NB), 0);
}

#define LK_DENIED(r, i) ((r).ret[i] == -1 && ((r).err[i] == EAGAIN || (r).err[i] == EACCES))
#define LK_GRANTED(r, i) ((r).ret[i] == 0)

static void t_locks(void)
{
	const char *name = "lock.bin";
	struct lk_report r;
	bool ran;
	int fd;

	write_file(name, "0123456789");
	fd = open(name, O_RDWR);
	CHECK(fd >= 0, "posix lock: open", "%s", strerror(errno));
	if (fd < 0)
		return;
	CHECK_SYS(set_lk(fd, F_WRLCK, 0, 100), "posix lock: parent F_SETLK F_WRLCK [0,100)");
	ran = in_child(name, child_conflicts, &r);
	CHECK(ran && LK_DENIED(r, 0), "posix lock: child's conflicting F_WRLCK gets EAGAIN/EACCES",
	      "ran %d ret %d errno %d (%s)", ran, r.ret[0], r.err[0], strerror(r.err[0]));
	CHECK(ran && LK_DENIED(r, 1), "posix lock: child's conflicting F_RDLCK gets EAGAIN/EACCES",
	      "ret %d errno %d (%s)", r.ret[1], r.err[1], strerror(r.err[1]));
	CHECK(ran && r.ret[2] == 0 && r.type[2] == F_WRLCK,
	      "posix lock: child's F_GETLK reports the parent's write lock",
	      "ret %d errno %d type %d", r.ret[2], r.err[2], r.type[2]);
	CHECK(ran && LK_GRANTED(r, 3), "posix lock: child's lock on a free range is granted",
	      "ret %d errno %d (%s)", r.ret[3], r.err[3], strerror(r.err[3]));
	CHECK_SYS(set_lk(fd, F_UNLCK, 0, 100), "posix lock: parent unlocks");
	ran = in_child(name, child_relock, &r);
	CHECK(ran && LK_GRANTED(r, 0), "posix lock: after unlock the child gets the range",
	      "ret %d errno %d (%s)", r.ret[0], r.err[0], strerror(r.err[0]));
	CHECK_SYS(set_lk(fd, F_RDLCK, 0, 100), "posix lock: parent F_RDLCK [0,100)");
	ran = in_child(name, child_readlock, &r);
	CHECK(ran && LK_GRANTED(r, 0), "posix lock: read locks are shared",
	      "ret %d errno %d (%s)", r.ret[0], r.err[0], strerror(r.err[0]));
	CHECK(ran && LK_DENIED(r, 1), "posix lock: write lock over a read lock is denied",
	      "ret %d errno %d (%s)", r.ret[1], r.err[1], strerror(r.err[1]));
	close(fd);

	fd = open(name, O_RDWR);
	CHECK_SYS(flock(fd, LOCK_EX | LOCK_NB), "flock: parent LOCK_EX|LOCK_NB");
	ran = in_child(name, child_flock, &r);
	CHECK(ran && r.ret[0] == -1 && r.err[0] == EWOULDBLOCK,
	      "flock: child's LOCK_EX|LOCK_NB gets EWOULDBLOCK", "ran %d ret %d errno %d (%s)", ran,
	      r.ret[0], r.err[0], strerror(r.err[0]));
	CHECK(ran && r.ret[1] == -1 && r.err[1] == EWOULDBLOCK,
	      "flock: child's LOCK_SH|LOCK_NB gets EWOULDBLOCK", "ret %d errno %d (%s)", r.ret[1],
	      r.err[1], strerror(r.err[1]));
	errno = 0;
	if (flock(fd, LOCK_UN) == 0) {
		pass("flock: parent LOCK_UN");
	} else {
		/* The kernel sends a plain LOCK_UN as a blocking FUSE_SETLKW;
		 * a daemon that refuses blocking requests (QEMU's C daemon
		 * with -o flock: EOPNOTSUPP) fails here. Unlock without
		 * blocking so the next check still tests the release. */
		fail("flock: parent LOCK_UN", "flock(fd, LOCK_UN) returned -1: %s", strerror(errno));
		CHECK_SYS(flock(fd, LOCK_UN | LOCK_NB), "flock: parent LOCK_UN|LOCK_NB");
	}
	ran = in_child(name, child_flock_after, &r);
	CHECK(ran && LK_GRANTED(r, 0), "flock: after unlock the child gets LOCK_EX",
	      "ret %d errno %d (%s)", r.ret[0], r.err[0], strerror(r.err[0]));
	if (fd >= 0)
		close(fd);
}

/* Creating with S_ISGID in a setgid directory as an unprivileged user
 * (CVE-2022-0358): a non-member must lose the bit, on the host too. A
 * member through a supplementary group keeps it when the guest can tell
 * the daemon (FUSE_CREATE_SUPP_GROUP, Linux 6.4 and later); an older
 * guest's member loses it, as with every virtio-fs daemon. */
struct sgid_create {
	const char *path;
	gid_t group;	/* the child's one supplementary group, 0: none */
};

static int child_sgid_create(void *arg)
{
	const struct sgid_create *c = arg;
	int fd;

	if ((c->group ? setgroups(1, &c->group) : setgroups(0, NULL)) < 0 || setgid(1000) < 0 ||
	    setuid(1000) < 0)
		return 100;
	umask(0);
	fd = open(c->path, O_WRONLY | O_CREAT | O_EXCL, 02755);
	if (fd < 0)
		return 101;
	close(fd);
	return 0;
}

static int fork_run(int (*fn)(void *), void *arg)
{
	pid_t pid = fork();
	int status;

	if (pid == 0)
		_exit(fn(arg));
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static bool kernel_at_least(int major, int minor)
{
	struct utsname u;
	int ma = 0, mi = 0;

	return uname(&u) == 0 && sscanf(u.release, "%d.%d", &ma, &mi) == 2 &&
	       (ma > major || (ma == major && mi >= minor));
}

static void t_setgid_create(void)
{
	struct sgid_create outsider = { "sgid-dir/nonmember", 0 };
	struct sgid_create member = { "sgid-dir/member", 4242 };
	bool supp_group = kernel_at_least(6, 4) && daemon_supp_group;
	unsigned want_member = supp_group ? 02755 : 0755;
	struct stat st;

	CHECK(mkdir("sgid-dir", 0777) == 0 && chown("sgid-dir", 0, 4242) == 0 &&
	      chmod("sgid-dir", 03777) == 0, "setgid create: directory root:4242 03777", "%s",
	      strerror(errno));
	CHECK(fork_run(child_sgid_create, &outsider) == 0,
	      "setgid create: uid 1000 outside the group creates 02755", "child failed");
	CHECK(stat(outsider.path, &st) == 0 && (st.st_mode & 07777) == 0755 && st.st_gid == 4242,
	      "setgid create: a non-member's file is 0755, group 4242", "mode 0%o gid %u",
	      st.st_mode & 07777, st.st_gid);
	CHECK(fork_run(child_sgid_create, &member) == 0,
	      "setgid create: uid 1000 in group 4242 (supplementary) creates 02755", "child failed");
	CHECK(stat(member.path, &st) == 0 && (st.st_mode & 07777) == want_member,
	      supp_group ? "setgid create: a member keeps S_ISGID (FUSE_CREATE_SUPP_GROUP)"
			 : "setgid create: a member loses S_ISGID (no FUSE_CREATE_SUPP_GROUP: guest < 6.4 or daemon)",
	      "mode 0%o, expected 0%o", st.st_mode & 07777, want_member);
	record("mode %s 755", outsider.path);
	record("mode %s %o", member.path, want_member);
}

/* One process per online vCPU, pinned there, each making requests the
 * attribute cache cannot answer (statx with AT_STATX_FORCE_SYNC). A Linux
 * guest with several request queues sends a CPU's requests on that CPU's
 * queue: the host then finds them spread over min(vCPUs, queues) queues
 * in the daemon's per-queue counts. */
#define PER_CPU_REQUESTS 200

static int child_stat_on_cpu(void *arg)
{
	int cpu = *(int *)arg;
	cpu_set_t set;
	struct statx stx;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0)
		return 100;
	for (int i = 0; i < PER_CPU_REQUESTS; i++)
		if (statx(AT_FDCWD, ".", AT_STATX_FORCE_SYNC, STATX_BASIC_STATS, &stx) < 0)
			return 101;
	return 0;
}

static void t_per_cpu_requests(void)
{
	int ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN), ok = 0;

	for (int cpu = 0; cpu < ncpu; cpu++)
		ok += fork_run(child_stat_on_cpu, &cpu) == 0;
	CHECK(ok == ncpu, "per-cpu requests: statx from each of the vCPUs",
	      "%d of %d vCPUs", ok, ncpu);
	record("cpus %d %d", ncpu, PER_CPU_REQUESTS);
}

static void t_misc(void)
{
	struct stat st;
	char buf[16];
	int fd;

	CHECK_ERR(open("append.txt", O_WRONLY | O_CREAT | O_EXCL, 0644), EEXIST, EEXIST,
		  "create: O_EXCL on an existing file fails with EEXIST");
	fd = open("unlinked.txt", O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0 && write(fd, "still", 5) == 5 && unlink("unlinked.txt") == 0,
	      "unlink: while open", "%s", strerror(errno));
	CHECK(fd >= 0 && pread(fd, buf, 5, 0) == 5 && memcmp(buf, "still", 5) == 0 &&
	      fstat(fd, &st) == 0 && st.st_nlink == 0,
	      "unlink: open file stays readable with st_nlink 0", "nlink %lu",
	      (unsigned long)st.st_nlink);
	if (fd >= 0)
		close(fd);
	record("absent unlinked.txt");
}

static void usage(void)
{
	fprintf(stderr, "usage: guest_checks [--dir DIR] [--cache auto|never|always] "
			"[--sync-timeout S] [--no-supp-group] [--selinux-map]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *dir = "e2e";
	int sync_timeout = 60, i;
	bool selinux_map = false;
	double t0 = now();

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
			dir = argv[++i];
		else if (strncmp(argv[i], "--cache=", 8) == 0)
			cache_mode = argv[i] + 8;
		else if (strcmp(argv[i], "--cache") == 0 && i + 1 < argc)
			cache_mode = argv[++i];
		else if (strcmp(argv[i], "--no-supp-group") == 0)
			daemon_supp_group = false;
		else if (strcmp(argv[i], "--sync-timeout") == 0 && i + 1 < argc)
			sync_timeout = atoi(argv[++i]);
		else if (strcmp(argv[i], "--selinux-map") == 0)
			selinux_map = true;
		else
			usage();
	}
	printf("e2e: guest checks starting (cache=%s, dir=%s)\n", cache_mode, dir);
	if (chdir(dir) != 0) {
		fail("setup: work directory prepared by the host", "chdir %s: %s", dir, strerror(errno));
		printf("e2e: %d passed, %d failed\n", n_pass, n_fail);
		return 1;
	}
	results = fopen("results.txt", "w");
	CHECK(results != NULL, "setup: open results.txt", "%s", strerror(errno));

	t_mount();
	t_host_file(sync_timeout);
	t_big_file();
	t_append();
	t_truncate();
	t_rename();
	t_links();
	t_symlinks();
	t_dirs();
	t_bigdir();
	t_attrs();
	t_xattr();
	if (selinux_map)
		t_selinux_map();
	t_fifo();
	t_statfs();
	t_fsync();
	t_mmap();
	t_locks();
	t_setgid_create();
	t_per_cpu_requests();
	t_misc();

	if (results) {
		record("end");
		CHECK(fflush(results) == 0 && fsync(fileno(results)) == 0 && fclose(results) == 0,
		      "setup: results.txt written", "%s", strerror(errno));
	}
	printf("e2e: guest checks took %.1f s\n", now() - t0);
	printf("e2e: %d passed, %d failed\n", n_pass, n_fail);
	return n_fail ? 1 : 0;
}
