/* fuzz_common.h: helpers shared by the libFuzzer targets in tests/fuzz/.
 * Everything here is header-only so each target is one translation unit
 * plus the project's sources. */
#ifndef VFSD_FUZZ_COMMON_H
#define VFSD_FUZZ_COMMON_H

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

/* Abort (a libFuzzer crash) with a message when an invariant fails. */
#define FUZZ_CHECK(cond, ...) \
	do { \
		if (!(cond)) { \
			fprintf(stderr, "fuzz invariant failed at %s:%d: %s: ", __FILE__, \
				__LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__); \
			fputc('\n', stderr); \
			abort(); \
		} \
	} while (0)

/* A cursor over the fuzz input; reads past the end yield zeros. */
struct fuzz_in {
	const uint8_t *data;
	size_t size;
	size_t pos;
};

static inline size_t fuzz_left(const struct fuzz_in *in)
{
	return in->size - in->pos;
}

static inline uint64_t fuzz_uint(struct fuzz_in *in, unsigned bytes)
{
	uint64_t v = 0;
	unsigned i;

	for (i = 0; i < bytes; i++) {
		uint8_t b = in->pos < in->size ? in->data[in->pos++] : 0;

		v |= (uint64_t)b << (8 * i);
	}
	return v;
}

static inline uint8_t fuzz_u8(struct fuzz_in *in) { return (uint8_t)fuzz_uint(in, 1); }
static inline uint16_t fuzz_u16(struct fuzz_in *in) { return (uint16_t)fuzz_uint(in, 2); }
static inline uint32_t fuzz_u32(struct fuzz_in *in) { return (uint32_t)fuzz_uint(in, 4); }

/* Up to want bytes of input; returns how many were available. */
static inline size_t fuzz_take(struct fuzz_in *in, const uint8_t **p, size_t want)
{
	size_t n = fuzz_left(in) < want ? fuzz_left(in) : want;

	*p = in->data + in->pos;
	in->pos += n;
	return n;
}

/* Open descriptors of the process (fd leak check around each input). */
static inline int fuzz_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		abort();
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the DIR's own fd */
}

/* The daemon's logger is quiet unless FUZZ_LOG=<level> is set. */
static inline void fuzz_log_setup(void)
{
	const char *lvl = getenv("FUZZ_LOG");
	enum log_level level = LOG_LEVEL_OFF;

	if (lvl)
		log_level_parse(lvl, &level);
	log_init(level, false);
}

#endif
