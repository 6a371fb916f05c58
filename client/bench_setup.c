/* bench_setup.c: the share's files for `virtiofs-client bench --setup`,
 * made on the host before any daemon starts. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench_internal.h"

static int setup_files(int dfd, const char *sub, char prefix, unsigned count)
{
	unsigned i;
	int fd, d;

	if (mkdirat(dfd, sub, 0755) < 0 && errno != EEXIST)
		return -errno;
	d = openat(dfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d < 0)
		return -errno;
	for (i = 0; i < count; i++) {
		char name[16];

		snprintf(name, sizeof(name), "%c%05u", prefix, i);
		fd = openat(d, name, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0) {
			close(d);
			return -errno;
		}
		close(fd);
	}
	close(d);
	return 0;
}

int run_setup(struct bench *b)
{
	struct stat st;
	uint64_t off;
	char *buf;
	int dfd, fd, err;

	dfd = open(b->setup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		fprintf(stderr, PROG ": %s: %s\n", b->setup, strerror(errno));
		return 1;
	}
	if (b->scale_parts) {
		err = scale_setup(b, dfd);
		if (err)
			fprintf(stderr, PROG ": setup sc: %s\n", strerror(-err));
		close(dfd);
		return err ? 1 : 0;
	}
	err = setup_files(dfd, "lk", 'f', b->lookup_files);
	if (!err)
		err = setup_files(dfd, "rd", 'e', b->dir_entries);
	if (err) {
		fprintf(stderr, PROG ": setup: %s\n", strerror(-err));
		close(dfd);
		return 1;
	}
	if (fstatat(dfd, "big", &st, 0) == 0 && (uint64_t)st.st_size == b->file_size) {
		close(dfd);
		return 0;
	}
	fd = openat(dfd, "big", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	buf = malloc(MIB);
	if (fd < 0 || !buf) {
		fprintf(stderr, PROG ": setup big: %s\n", strerror(errno));
		close(dfd);
		return 1;
	}
	for (off = 0; off < b->file_size; off += MIB) {
		size_t n = b->file_size - off < MIB ? (size_t)(b->file_size - off) : MIB;

		memset(buf, (int)(0x30 + (off / MIB) % 64), n);
		if (pwrite(fd, buf, n, (off_t)off) != (ssize_t)n) {
			fprintf(stderr, PROG ": setup big: %s\n", strerror(errno));
			close(fd);
			close(dfd);
			free(buf);
			return 1;
		}
	}
	free(buf);
	close(fd);
	close(dfd);
	return 0;
}
