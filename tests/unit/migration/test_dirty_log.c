/* test_dirty_log.c: marking the migration's dirty-page bitmap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "vhost_user/dirty_log.h"

static void test_mark_gpa(void **state)
{
	uint8_t bits[4] = { 0 };
	struct dirty_log *log = dirty_log_wrap(bits, sizeof(bits));

	dirty_log_mark_gpa(log, 0x1000, 1);
	assert_int_equal(bits[0], 0x02);
	/* a range crossing a page boundary marks both */
	dirty_log_mark_gpa(log, 0x2fff, 2);
	assert_int_equal(bits[0], 0x0e);
	dirty_log_mark_gpa(log, 0x9000, 0x2000);
	assert_int_equal(bits[1], 0x06);
	assert_true(dirty_log_test(log, 0xa123));
	assert_false(dirty_log_test(log, 0xb000));
	/* past the bitmap: nothing written, counted */
	dirty_log_mark_gpa(log, 32 * 0x1000, 0x1000);
	dirty_log_mark_gpa(log, UINT64_MAX - 10, 100);
	assert_int_equal(bits[2] | bits[3], 0);
	assert_true(log->outside >= 2);
	dirty_log_unref(log);
}

static void test_mark_host(void **state)
{
	struct guest_memory *mem = calloc(1, sizeof(*mem) + 2 * sizeof(struct guest_region));
	uint8_t bits[8] = { 0 };
	struct dirty_log *log = dirty_log_wrap(bits, sizeof(bits));
	char *a = mmap(NULL, 0x4000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *b = mmap(NULL, 0x4000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct iovec iov[2] = { { a + 0x0ff0, 0x20 }, { b + 0x10, 0x2000 } };

	mem->region_count = 2;
	mem->regions[0] = (struct guest_region){ .guest_phys_addr = 0x0, .size = 0x4000,
						 .mmap_base = a, .mmap_size = 0x4000 };
	/* the second region's host mapping starts 0x1000 into its file */
	mem->regions[1] = (struct guest_region){ .guest_phys_addr = 0x10000, .size = 0x3000,
						 .mmap_offset = 0x1000, .mmap_base = b,
						 .mmap_size = 0x4000 };
	assert_int_equal(dirty_log_mark_host(log, mem, a + 0x2000, 4), 0);
	assert_true(dirty_log_test(log, 0x2000));
	assert_int_not_equal(dirty_log_mark_host(log, mem, (char *)&bits, 1), 0);
	memset(bits, 0, sizeof(bits));
	/* a reply: the first 0x20 + 0x10 bytes of two iovecs */
	dirty_log_mark_iov(log, mem, iov, 2, 0x30);
	assert_true(dirty_log_test(log, 0x0000));
	assert_true(dirty_log_test(log, 0x1000));
	/* b + 0x10 lies before region 1 (it starts at its mmap offset): not
	 * guest memory, so the second iovec marks nothing */
	assert_false(dirty_log_test(log, 0x10000));
	munmap(a, 0x4000);
	munmap(b, 0x4000);
	free(mem);
	dirty_log_unref(log);
}

/* A log the file cannot back is refused (marking it would SIGBUS). */
static void test_map(void **state)
{
	int fd = memfd_create("log", MFD_CLOEXEC), err = 0;
	struct dirty_log *log;

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 4096), 0);
	assert_null(dirty_log_map(fd, 8192, 0, &err));
	assert_int_equal(err, -EINVAL);
	assert_null(dirty_log_map(fd, 4096, 1, &err));
	assert_null(dirty_log_map(fd, 0, 0, &err));
	log = dirty_log_map(fd, 4000, 96, &err);
	assert_non_null(log);
	dirty_log_mark_gpa(log, 0, 1);
	assert_true(dirty_log_test(log, 0));
	dirty_log_unref(log);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mark_gpa),
		cmocka_unit_test(test_mark_host),
		cmocka_unit_test(test_map),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
