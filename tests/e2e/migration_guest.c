/* migration_guest.c: the guest's side of tests/e2e/run-migration.sh, a
 * static program run as the payload in the share's mount (/mnt).
 *
 * Before: cd into work/ (cwd inside the share), hold work/written.log
 * open for writing and input.txt, renamed.txt and deleted.txt for
 * reading, open many/ and read part of it (a listing in progress), stat
 * every file of many/ (thousands of inodes looked up), print MIG-READY.
 * While the host migrates: append a numbered line every few ms until the
 * host's marker file .migrated holds the count of migrations expected
 * (--migrations N; 0: the host finishes without a migration, after a
 * failed or cancelled one). After: append more lines, read every held
 * file again through its fd, finish the listing, check cwd, create a
 * file. Any EIO or ESTALE fails, except on deleted.txt when the host says
 * it is lost (--deleted-lost). Exit status 0 when every check passed.
 *
 * While migrating it also reads pattern.bin with O_DIRECT into buffers
 * the guest's CPU wrote before the migration began and never again: the
 * daemon writes them through shared memory, so only its dirty log makes
 * the destination see the data. They are checked after the migration. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int failures;

static void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("MIG-FAIL ");
	vprintf(fmt, ap);
	printf("\n");
	fflush(stdout);
	va_end(ap);
	failures++;
}

static void line(int fd, const char *what, long i)
{
	char buf[64];
	int n = snprintf(buf, sizeof(buf), "%s %ld\n", what, i);

	if (write(fd, buf, (size_t)n) != n)
		fail("write '%s %ld': %s", what, i, strerror(errno));
}

/* pattern.bin holds, in each 8-byte word, its own offset. */
#define CHUNK 65536
#define SLOTS 384
#define PATTERN_SIZE (4 << 20)

static unsigned char *slots;
static long slot_off[SLOTS];
static int nslots;

static void direct_read(int fd, long i)
{
	long off = (i * CHUNK) % PATTERN_SIZE;
	ssize_t n;

	if (fd < 0 || nslots >= SLOTS)
		return;
	n = pread(fd, slots + (size_t)nslots * CHUNK, CHUNK, off);
	if (n != CHUNK) {
		fail("direct read at %ld: %zd (%s)", off, n, n < 0 ? strerror(errno) : "short");
		return;
	}
	slot_off[nslots++] = off;
}

static void direct_check(void)
{
	int bad = 0;

	for (int s = 0; s < nslots; s++) {
		const uint64_t *w = (const uint64_t *)(slots + (size_t)s * CHUNK);

		for (size_t k = 0; k < CHUNK / 8; k++) {
			if (w[k] != (uint64_t)slot_off[s] + 8 * k) {
				if (bad++ < 3)
					fail("data read while migrating: chunk %d word %zu is %#llx, "
					     "want %#llx (a page the daemon wrote was not logged?)",
					     s, k, (unsigned long long)w[k],
					     (unsigned long long)(slot_off[s] + 8 * k));
				break;
			}
		}
	}
	printf("MIG-INFO %d chunks read with O_DIRECT while migrating, %d bad\n", nslots, bad);
}

static int marker(void)
{
	char buf[16] = { 0 };
	int fd = open("../.migrated", O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? atoi(buf) : -1;
}

static void check_read(int fd, const char *name, const char *want, bool lost)
{
	char buf[256] = { 0 };
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (lost) {
		if (n >= 0)
			fail("%s: lost on migration, yet read %zd bytes", name, n);
		else
			printf("MIG-INFO %s: %s, as expected\n", name, strerror(errno));
		return;
	}
	if (n < 0)
		fail("%s: read: %s", name, strerror(errno));
	else if (strcmp(buf, want))
		fail("%s: read '%s', want '%s'", name, buf, want);
}

int main(int argc, char **argv)
{
	int migrations = 1, many = 0, wfd, ifd, rfd, dfd, fd, pfd;
	bool deleted_lost = false;
	long during = 0, listed = 0;
	struct dirent *de;
	struct stat st;
	char path[300], cwd[300];
	DIR *dir;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--migrations") && i + 1 < argc)
			migrations = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--many") && i + 1 < argc)
			many = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--deleted-lost"))
			deleted_lost = true;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (mkdir("work", 0755) < 0 && errno != EEXIST)
		fail("mkdir work: %s", strerror(errno));
	if (chdir("work") < 0) {
		fail("chdir work: %s", strerror(errno));
		return 1;
	}
	wfd = open("written.log", O_WRONLY | O_CREAT | O_APPEND, 0644);
	ifd = open("../input.txt", O_RDONLY);
	rfd = open("../renamed.txt", O_RDONLY);
	dfd = open("../deleted.txt", O_RDONLY);
	dir = opendir("../many");
	pfd = open("../pattern.bin", O_RDONLY | O_DIRECT);
	slots = mmap(NULL, (size_t)SLOTS * CHUNK, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (pfd < 0 || slots == MAP_FAILED)
		fail("pattern.bin with O_DIRECT: %s", strerror(errno));
	/* Touched now, before the migration starts: the first memory pass
	 * copies these pages, and after that only the daemon writes them. */
	if (slots != MAP_FAILED)
		memset(slots, 0xaa, (size_t)SLOTS * CHUNK);
	if (wfd < 0 || ifd < 0 || rfd < 0 || dfd < 0 || !dir) {
		fail("opening the held files: %s", strerror(errno));
		return 1;
	}
	for (long i = 0; i < 100; i++)
		line(wfd, "before", i);
	/* a listing in progress: part of it read now, the rest after */
	for (int i = 0; i < 10 && (de = readdir(dir)); i++)
		listed++;
	for (int i = 0; i < many; i++) {
		snprintf(path, sizeof(path), "../many/f%d", i);
		if (stat(path, &st) < 0)
			fail("stat %s: %s", path, strerror(errno));
	}
	printf("MIG-READY\n");
	/* Bounded: the host migrates within minutes or the run fails. */
	for (time_t end = time(NULL) + 600; marker() != migrations && time(NULL) < end;) {
		struct timespec pace = { 0, 5 * 1000 * 1000 };

		direct_read(pfd, during);
		line(wfd, "during", during++);
		nanosleep(&pace, NULL);
	}
	if (marker() != migrations)
		fail("the host's marker never came");
	printf("MIG-INFO %ld lines written while the host migrated\n", during);
	for (long i = 0; i < 100; i++)
		line(wfd, "after", i);
	if (fsync(wfd) < 0)
		fail("fsync: %s", strerror(errno));
	direct_check();
	check_read(ifd, "input.txt", "input for the guest\n", false);
	check_read(rfd, "renamed.txt", "renamed on the host\n", false);
	check_read(dfd, "deleted.txt", "deleted on the host\n", deleted_lost);
	errno = 0;
	while ((de = readdir(dir)))
		listed++;
	if (errno)
		fail("readdir after migration: %s", strerror(errno));
	if (listed != many + 2)
		fail("listing many/ found %ld entries, want %d", listed, many + 2);
	if (!getcwd(cwd, sizeof(cwd)) || strcmp(cwd, "/mnt/work"))
		fail("cwd: %s", errno ? strerror(errno) : cwd);
	if (stat(".", &st) < 0 || fstat(wfd, &st) < 0)
		fail("stat after migration: %s", strerror(errno));
	fd = open("created-after.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, "new\n", 4) != 4 || close(fd) < 0)
		fail("creating a file after migration: %s", strerror(errno));
	close(wfd);
	close(ifd);
	close(rfd);
	close(dfd);
	closedir(dir);
	printf("MIG-DONE %s (%d failures)\n", failures ? "FAIL" : "ok", failures);
	return failures ? 1 : 0;
}
