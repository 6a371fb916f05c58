/* test_guest_memory.c: guest address translation, straddling, gaps, wrap-around, refcounts. */
#include <errno.h>
#include <fcntl.h>

#include "vu_test_util.h"

/* R0 and R1 adjacent, then a gap, then R2. */
static const struct test_region_spec layout[] = {
	{ 0x10000, 0x10000 },
	{ 0x20000, 0x10000 },
	{ 0x40000, 0x10000 },
};

static int setup(void **state)
{
	*state = test_mem_build(layout, 3, NULL);
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	guest_memory_unref(*state);
	return 0;
}

static char *host_of(const struct guest_memory *mem, unsigned region, uint64_t off)
{
	const struct guest_region *r = &mem->regions[region];

	return (char *)r->mmap_base + r->mmap_offset + off;
}

static void test_inside(void **state)
{
	struct guest_memory *mem = *state;
	struct iovec iov[4];
	unsigned n = 0;

	assert_ptr_equal(guest_memory_gpa_to_host(mem, 0x10100, 16), host_of(mem, 0, 0x100));
	assert_ptr_equal(guest_memory_gpa_to_host(mem, 0x10000, 0x10000), host_of(mem, 0, 0));
	assert_ptr_equal(guest_memory_gpa_to_host(mem, 0x4fff0, 16), host_of(mem, 2, 0xfff0));
	assert_int_equal(guest_memory_gpa_to_iov(mem, 0x20010, 32, iov, &n, 4), 0);
	assert_int_equal(n, 1);
	assert_ptr_equal(iov[0].iov_base, host_of(mem, 1, 0x10));
	assert_int_equal(iov[0].iov_len, 32);
	/* Zero length appends nothing. */
	assert_int_equal(guest_memory_gpa_to_iov(mem, 0x20010, 0, iov, &n, 4), 0);
	assert_int_equal(n, 1);
}

static void test_straddle(void **state)
{
	struct guest_memory *mem = *state;
	struct iovec iov[4];
	unsigned n = 0;

	/* One region cannot hold it... */
	assert_null(guest_memory_gpa_to_host(mem, 0x1fff0, 32));
	/* ...but the adjacent pair can, as two pieces. */
	assert_int_equal(guest_memory_gpa_to_iov(mem, 0x1fff0, 32, iov, &n, 4), 0);
	assert_int_equal(n, 2);
	assert_ptr_equal(iov[0].iov_base, host_of(mem, 0, 0xfff0));
	assert_int_equal(iov[0].iov_len, 16);
	assert_ptr_equal(iov[1].iov_base, host_of(mem, 1, 0));
	assert_int_equal(iov[1].iov_len, 16);
	/* Not enough room for the second piece. */
	n = 0;
	assert_int_equal(guest_memory_gpa_to_iov(mem, 0x1fff0, 32, iov, &n, 1), -E2BIG);
	assert_int_equal(n, 0);
}

static void test_gap(void **state)
{
	struct guest_memory *mem = *state;
	struct iovec iov[4];
	unsigned n = 0;

	/* Runs from R1 into the hole before R2. */
	assert_int_equal(guest_memory_gpa_to_iov(mem, 0x2fff0, 32, iov, &n, 4), -EFAULT);
	assert_int_equal(n, 0);
	assert_int_equal(guest_memory_gpa_to_iov(mem, 0x38000, 1, iov, &n, 4), -EFAULT);
	assert_null(guest_memory_gpa_to_host(mem, 0x38000, 1));
	/* Before the first region. */
	assert_int_equal(guest_memory_gpa_to_iov(mem, 0xfff0, 32, iov, &n, 4), -EFAULT);
	assert_null(guest_memory_gpa_to_host(mem, 0, 1));
}

static void test_past_end(void **state)
{
	struct guest_memory *mem = *state;
	struct iovec iov[4];
	unsigned n = 0;

	assert_int_equal(guest_memory_gpa_to_iov(mem, 0x4fff0, 17, iov, &n, 4), -EFAULT);
	assert_int_equal(guest_memory_gpa_to_iov(mem, 0x50000, 1, iov, &n, 4), -EFAULT);
	assert_null(guest_memory_gpa_to_host(mem, 0x4fff0, 17));
	assert_null(guest_memory_gpa_to_host(mem, 0x50000, 1));
	assert_int_equal(n, 0);
}

static void test_wrap(void **state)
{
	struct guest_memory *mem = *state;
	struct iovec iov[4];
	unsigned n = 0;

	assert_int_equal(guest_memory_gpa_to_iov(mem, UINT64_MAX - 4, 16, iov, &n, 4), -EFAULT);
	assert_int_equal(guest_memory_gpa_to_iov(mem, 0x10000, UINT64_MAX, iov, &n, 4), -EFAULT);
	/* gpa + len wraps to a small, valid-looking address. */
	assert_int_equal(guest_memory_gpa_to_iov(mem, 0x10100, UINT64_MAX - 0xff, iov, &n, 4),
			 -EFAULT);
	assert_null(guest_memory_gpa_to_host(mem, 0x10100, UINT64_MAX));
	assert_null(guest_memory_gpa_to_host(mem, UINT64_MAX, 2));
	assert_null(guest_memory_uva_to_host(mem, 0x10100 + TEST_UVA_BIAS, UINT64_MAX));
	assert_int_equal(n, 0);
}

static void test_uva(void **state)
{
	struct guest_memory *mem = *state;

	assert_ptr_equal(guest_memory_uva_to_host(mem, 0x20000 + TEST_UVA_BIAS, 0x10000),
			 host_of(mem, 1, 0));
	assert_null(guest_memory_uva_to_host(mem, 0x2fff0 + TEST_UVA_BIAS, 32));
	assert_null(guest_memory_uva_to_host(mem, 0x20000, 1));
}

static void test_overlap_refused(void **state)
{
	static const struct test_region_spec overlap[] = {
		{ 0x10000, 0x10000 },
		{ 0x18000, 0x10000 },
	};
	static const struct test_region_spec wraps[] = {
		{ UINT64_MAX - 0xfff, 0x2000 },
	};

	assert_null(test_mem_build(overlap, 2, NULL));
	assert_null(test_mem_build(wraps, 1, NULL));
}

static void test_unsorted_input(void **state)
{
	static const struct test_region_spec rev[] = {
		{ 0x20000, 0x10000 },
		{ 0x10000, 0x10000 },
	};
	struct guest_memory *mem = test_mem_build(rev, 2, NULL);
	struct iovec iov[4];
	unsigned n = 0;

	assert_non_null(mem);
	assert_int_equal(guest_memory_gpa_to_iov(mem, 0x1fff8, 16, iov, &n, 4), 0);
	assert_int_equal(n, 2);
	guest_memory_unref(mem);
}

static void test_refcount_and_slot(void **state)
{
	int fds[1] = { -1 };
	static const struct test_region_spec one[] = { { 0, 0x1000 } };
	struct guest_memory *a = test_mem_build(one, 1, fds);
	struct guest_memory *b = test_mem_build(one, 1, fds);
	struct guest_memory_slot slot;
	struct guest_memory *got;
	char *pa, *pb;

	assert_non_null(a);
	assert_non_null(b);
	/* Two tables over the same fd see the same bytes. */
	pa = guest_memory_gpa_to_host(a, 0x10, 1);
	pb = guest_memory_gpa_to_host(b, 0x10, 1);
	*pa = 0x5a;
	assert_int_equal(*pb, 0x5a);

	guest_memory_slot_init(&slot);
	assert_null(guest_memory_slot_get(&slot));
	guest_memory_slot_replace(&slot, a);
	got = guest_memory_slot_get(&slot);
	assert_ptr_equal(got, a);
	assert_int_equal(a->refcount, 2);
	/* Replacing drops the slot's reference; ours keeps a alive. */
	guest_memory_slot_replace(&slot, b);
	assert_int_equal(a->refcount, 1);
	assert_int_equal(*(volatile char *)guest_memory_gpa_to_host(a, 0x10, 1), 0x5a);
	guest_memory_unref(got);
	guest_memory_slot_destroy(&slot);
	close(fds[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_inside, setup, teardown),
		cmocka_unit_test_setup_teardown(test_straddle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_past_end, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_uva, setup, teardown),
		cmocka_unit_test(test_overlap_refused),
		cmocka_unit_test(test_unsorted_input),
		cmocka_unit_test(test_refcount_and_slot),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
