/* vu_test_util.h: guest memory built in-process from memfd regions, for the vhost_user unit tests. */
#ifndef VFSD_VU_TEST_UTIL_H
#define VFSD_VU_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "vhost_user/guest_memory.h"

/* The "VMM" maps guest RAM at gpa + this. */
#define TEST_UVA_BIAS 0x7f0000000000ull

struct test_region_spec {
	uint64_t gpa;
	uint64_t size;
};

static inline int test_memfd(uint64_t size)
{
	int fd = memfd_create("vu-test-ram", MFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	return fd;
}

/* A table over memfds; fds_out (if given) gets extra dups the caller may
 * use to build more tables over the same RAM. */
static inline struct guest_memory *test_mem_build(const struct test_region_spec *spec,
						  unsigned count, int *fds_out)
{
	struct guest_region regs[16];
	unsigned i;

	assert_true(count <= 16);
	for (i = 0; i < count; i++) {
		int fd = fds_out && fds_out[i] >= 0 ? dup(fds_out[i]) : test_memfd(spec[i].size);

		memset(&regs[i], 0, sizeof(regs[i]));
		regs[i].guest_phys_addr = spec[i].gpa;
		regs[i].size = spec[i].size;
		regs[i].user_addr = spec[i].gpa + TEST_UVA_BIAS;
		regs[i].mmap_offset = 0;
		regs[i].fd = fd;
		if (fds_out && fds_out[i] < 0)
			fds_out[i] = dup(fd);
		assert_int_equal(guest_region_map(&regs[i]), 0);
	}
	return guest_memory_new(regs, count);
}

#endif
