/* test_iov_cursor.c: the checked scatter-list cursor every guest byte goes
 * through. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/iov_cursor.h"

/* "0123456789" split as 3 + 0 + 4 + 3 bytes (an empty iovec in between). */
static char src[] = "0123456789";
static struct iovec split[4];

static int setup_split(void **state)
{
	split[0] = (struct iovec){ src, 3 };
	split[1] = (struct iovec){ src + 3, 0 };
	split[2] = (struct iovec){ src + 3, 4 };
	split[3] = (struct iovec){ src + 7, 3 };
	return 0;
}

static void test_total_length(void **state)
{
	assert_int_equal(iov_total_length(split, 4), 10);
	assert_int_equal(iov_total_length(NULL, 0), 0);
	struct iovec huge[2] = { { NULL, SIZE_MAX }, { NULL, 5 } };
	assert_true(iov_total_length(huge, 2) == SIZE_MAX);
}

static void test_read_across_boundaries(void **state)
{
	struct iov_cursor cur;
	char buf[11] = { 0 };
	iov_cursor_init(&cur, split, 4);
	assert_int_equal(iov_cursor_remaining(&cur), 10);
	assert_int_equal(iov_cursor_read(&cur, buf, 2), 0);
	assert_memory_equal(buf, "01", 2);
	assert_int_equal(iov_cursor_read(&cur, buf, 6), 0);
	assert_memory_equal(buf, "234567", 6);
	assert_int_equal(iov_cursor_remaining(&cur), 2);
	assert_int_equal(iov_cursor_read(&cur, buf, 2), 0);
	assert_memory_equal(buf, "89", 2);
	assert_int_equal(iov_cursor_remaining(&cur), 0);
	assert_int_equal(iov_cursor_read(&cur, buf, 0), 0);
}

static void test_short_read_does_not_move(void **state)
{
	struct iov_cursor cur;
	char buf[16];
	iov_cursor_init(&cur, split, 4);
	assert_int_equal(iov_cursor_skip(&cur, 4), 0);
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(iov_cursor_read(&cur, buf, 7), -EINVAL);
	assert_int_equal(buf[0], 'x');
	assert_int_equal(iov_cursor_remaining(&cur), 6);
	assert_int_equal(iov_cursor_skip(&cur, 7), -EINVAL);
	assert_int_equal(iov_cursor_remaining(&cur), 6);
	assert_int_equal(iov_cursor_read(&cur, buf, 6), 0);
	assert_memory_equal(buf, "456789", 6);
}

static void test_write_across_boundaries(void **state)
{
	char a[3], b[2], c[5];
	struct iovec iov[3] = { { a, 3 }, { b, 2 }, { c, 5 } };
	struct iov_cursor cur;
	iov_cursor_init(&cur, iov, 3);
	assert_int_equal(iov_cursor_write(&cur, "ABCDEF", 6), 0);
	assert_int_equal(iov_cursor_write_zeros(&cur, 2), 0);
	assert_int_equal(iov_cursor_remaining(&cur), 2);
	/* Too long: -ENOSPC and nothing written. */
	c[3] = 'q';
	assert_int_equal(iov_cursor_write(&cur, "xyz", 3), -ENOSPC);
	assert_int_equal(iov_cursor_write_zeros(&cur, 3), -ENOSPC);
	assert_int_equal(c[3], 'q');
	assert_int_equal(iov_cursor_remaining(&cur), 2);
	assert_int_equal(iov_cursor_write(&cur, "GH", 2), 0);
	assert_memory_equal(a, "ABC", 3);
	assert_memory_equal(b, "DE", 2);
	assert_memory_equal(c, "F\0\0GH", 5);
}

static void test_read_string(void **state)
{
	char s1[] = "ab", s2[] = "c\0rest";
	struct iovec iov[2] = { { s1, 2 }, { s2, 6 } };
	struct iov_cursor cur;
	char buf[8];

	iov_cursor_init(&cur, iov, 2);
	/* "abc" is 3 bytes: max_len 2 refuses it without moving. */
	assert_int_equal(iov_cursor_read_string(&cur, buf, 2), -EINVAL);
	assert_int_equal(iov_cursor_remaining(&cur), 8);
	assert_int_equal(iov_cursor_read_string(&cur, buf, 3), 0);
	assert_string_equal(buf, "abc");
	assert_int_equal(iov_cursor_remaining(&cur), 4);
	/* "rest" has no NUL before the end. */
	assert_int_equal(iov_cursor_read_string(&cur, buf, 7), -EINVAL);
	assert_int_equal(iov_cursor_remaining(&cur), 4);
}

static void test_read_string_empty(void **state)
{
	char z[1] = { 0 };
	struct iovec iov = { z, 1 };
	struct iov_cursor cur;
	char buf[4] = "xxx";
	iov_cursor_init(&cur, &iov, 1);
	assert_int_equal(iov_cursor_read_string(&cur, buf, 3), 0);
	assert_string_equal(buf, "");
	assert_int_equal(iov_cursor_remaining(&cur), 0);
	assert_int_equal(iov_cursor_read_string(&cur, buf, 3), -EINVAL);
}

static void test_slice(void **state)
{
	struct iov_cursor cur;
	struct iovec out[4];
	iov_cursor_init(&cur, split, 4);
	assert_int_equal(iov_cursor_skip(&cur, 1), 0);
	/* 1..8: "12" | (empty) | "3456" | "78": three pieces. */
	assert_int_equal(iov_cursor_slice(&cur, 8, out, 4), 3);
	assert_ptr_equal(out[0].iov_base, src + 1);
	assert_int_equal(out[0].iov_len, 2);
	assert_ptr_equal(out[1].iov_base, src + 3);
	assert_int_equal(out[1].iov_len, 4);
	assert_ptr_equal(out[2].iov_base, src + 7);
	assert_int_equal(out[2].iov_len, 2);
	assert_int_equal(iov_cursor_remaining(&cur), 1);
	char c;
	assert_int_equal(iov_cursor_read(&cur, &c, 1), 0);
	assert_int_equal(c, '9');
}

static void test_slice_limits(void **state)
{
	struct iov_cursor cur;
	struct iovec out[4];
	iov_cursor_init(&cur, split, 4);
	/* More than remains: -EINVAL, cursor unmoved. */
	assert_int_equal(iov_cursor_slice(&cur, 11, out, 4), -EINVAL);
	assert_int_equal(iov_cursor_remaining(&cur), 10);
	/* Needs three pieces, two allowed: -E2BIG, cursor unmoved. */
	assert_int_equal(iov_cursor_slice(&cur, 8, out, 2), -E2BIG);
	assert_int_equal(iov_cursor_remaining(&cur), 10);
	/* Zero bytes: zero pieces. */
	assert_int_equal(iov_cursor_slice(&cur, 0, out, 0), 0);
	/* Exactly the first iovec. */
	assert_int_equal(iov_cursor_slice(&cur, 3, out, 1), 1);
	assert_ptr_equal(out[0].iov_base, src);
	assert_int_equal(out[0].iov_len, 3);
	assert_int_equal(iov_cursor_remaining(&cur), 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_total_length, setup_split),
		cmocka_unit_test_setup(test_read_across_boundaries, setup_split),
		cmocka_unit_test_setup(test_short_read_does_not_move, setup_split),
		cmocka_unit_test(test_write_across_boundaries),
		cmocka_unit_test(test_read_string),
		cmocka_unit_test(test_read_string_empty),
		cmocka_unit_test_setup(test_slice, setup_split),
		cmocka_unit_test_setup(test_slice_limits, setup_split),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
