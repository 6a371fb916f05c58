/* test_dax.c: the DAX window's rules (dax_window.c) against a recording
 * backend, and SETUPMAPPING / REMOVEMAPPING through the FUSE server:
 * INIT grants the alignment only with a window, and every malformed or
 * out-of-bounds request is an error reply that leaves the window as it
 * was. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "fuse/dax_window.h"
#include "fuse_test_util.h"

#define MIB (1ull << 20)
#define WINDOW (16 * MIB)

/* ---- a backend that records ---- */

static struct {
	uint64_t size;
	int map_ret, unmap_ret;
	int maps, unmaps;
	uint64_t last_win, last_len, last_fd_offset;
	bool last_writable;
	int last_fd;
} B;

static uint64_t fake_size(void *opaque)
{
	return B.size;
}

static int fake_map(void *opaque, int fd, uint64_t fd_offset, uint64_t win_offset,
		    uint64_t len, bool writable)
{
	B.maps++;
	B.last_fd = fd;
	B.last_fd_offset = fd_offset;
	B.last_win = win_offset;
	B.last_len = len;
	B.last_writable = writable;
	return B.map_ret;
}

static int fake_unmap(void *opaque, uint64_t win_offset, uint64_t len)
{
	B.unmaps++;
	B.last_win = win_offset;
	B.last_len = len;
	return B.unmap_ret;
}

static const struct dax_backend fake_backend = { fake_size, fake_map, fake_unmap, NULL };

static struct dax_window *W;

static int setup(void **state)
{
	memset(&B, 0, sizeof(B));
	B.size = WINDOW;
	B.last_fd = -1;
	W = dax_window_new(4);
	assert_non_null(W);
	dax_window_attach(W, &fake_backend);
	mock_reset();
	return 0;
}

static int teardown(void **state)
{
	dax_window_free(W);
	W = NULL;
	return 0;
}

/* ---- the window's rules ---- */

static void test_check_range(void **state)
{
	assert_int_equal(dax_window_check_range(WINDOW, 0, 2 * MIB), 0);
	assert_int_equal(dax_window_check_range(WINDOW, WINDOW - 4096, 4096), 0);
	assert_int_equal(dax_window_check_range(WINDOW, 0, WINDOW), 0);
	assert_int_equal(dax_window_check_range(WINDOW, 0, 0), -EINVAL);
	assert_int_equal(dax_window_check_range(WINDOW, 1, 4096), -EINVAL);
	assert_int_equal(dax_window_check_range(WINDOW, 0, 4095), -EINVAL);
	assert_int_equal(dax_window_check_range(WINDOW, WINDOW, 4096), -EINVAL);
	assert_int_equal(dax_window_check_range(WINDOW, WINDOW - 4096, 8192), -EINVAL);
	assert_int_equal(dax_window_check_range(WINDOW, 0, WINDOW + 4096), -EINVAL);
	/* offset + len would wrap */
	assert_int_equal(dax_window_check_range(WINDOW, UINT64_MAX - 4095, 8192), -EINVAL);
	assert_int_equal(dax_window_check_range(0, 0, 4096), -EINVAL);
}

static void test_map_unmap(void **state)
{
	assert_int_equal(dax_window_map(W, 7, 1, 0, 2 * MIB, 2 * MIB, false), 0);
	assert_int_equal(B.maps, 1);
	assert_int_equal(B.last_fd, 7);
	assert_int_equal(dax_window_count(W), 1);
	assert_int_equal(dax_window_unmap(W, 2 * MIB, 2 * MIB), 0);
	assert_int_equal(B.unmaps, 1);
	assert_int_equal(dax_window_count(W), 0);
}

static void test_overlap(void **state)
{
	assert_int_equal(dax_window_map(W, 7, 1, 0, 2 * MIB, 2 * MIB, false), 0);
	/* partly over it, from below, from above, around it */
	assert_int_equal(dax_window_map(W, 7, 1, 0, MIB, 2 * MIB, false), -EINVAL);
	assert_int_equal(dax_window_map(W, 7, 1, 0, 3 * MIB, 2 * MIB, false), -EINVAL);
	assert_int_equal(dax_window_map(W, 7, 1, 0, 0, 8 * MIB, false), -EINVAL);
	assert_int_equal(dax_window_map(W, 7, 1, 0, 2 * MIB, MIB, false), -EINVAL);
	assert_int_equal(B.maps, 1);
	assert_int_equal(B.unmaps, 0);
	/* next to it is fine */
	assert_int_equal(dax_window_map(W, 7, 1, 0, 4 * MIB, 2 * MIB, false), 0);
	assert_int_equal(dax_window_map(W, 7, 1, 0, 0, 2 * MIB, false), 0);
	assert_int_equal(dax_window_count(W), 3);
}

/* The same range again (Linux's upgrade to writable): unmapped, then
 * mapped with the new rights; the count stays. */
static void test_same_range_replaces(void **state)
{
	assert_int_equal(dax_window_map(W, 7, 1, 0, 2 * MIB, 2 * MIB, false), 0);
	assert_int_equal(dax_window_map(W, 8, 1, 0, 2 * MIB, 2 * MIB, true), 0);
	assert_int_equal(B.unmaps, 1);
	assert_int_equal(B.maps, 2);
	assert_true(B.last_writable);
	assert_int_equal(dax_window_count(W), 1);
}

static void test_cap(void **state)
{
	for (uint64_t i = 0; i < 4; i++)
		assert_int_equal(dax_window_map(W, 7, 1, 0, i * 2 * MIB, 2 * MIB, false), 0);
	assert_int_equal(dax_window_map(W, 7, 1, 0, 8 * MIB, 2 * MIB, false), -ENOSPC);
	assert_int_equal(B.maps, 4);
	/* replacing one at the cap is no new mapping */
	assert_int_equal(dax_window_map(W, 7, 1, 0, 0, 2 * MIB, true), 0);
	assert_int_equal(dax_window_count(W), 4);
}

static void test_unmap_never_mapped(void **state)
{
	assert_int_equal(dax_window_unmap(W, 0, 2 * MIB), -EINVAL);
	assert_int_equal(dax_window_map(W, 7, 1, 0, 2 * MIB, 2 * MIB, false), 0);
	/* part of it, more than it, a neighbour */
	assert_int_equal(dax_window_unmap(W, 2 * MIB, MIB), -EINVAL);
	assert_int_equal(dax_window_unmap(W, 2 * MIB, 4 * MIB), -EINVAL);
	assert_int_equal(dax_window_unmap(W, 0, 2 * MIB), -EINVAL);
	assert_int_equal(B.unmaps, 0);
	assert_int_equal(dax_window_unmap(W, 2 * MIB, 2 * MIB), 0);
	assert_int_equal(dax_window_unmap(W, 2 * MIB, 2 * MIB), -EINVAL);
	assert_int_equal(B.unmaps, 1);
}

/* What the frontend refused is not in the table. */
static void test_backend_refuses(void **state)
{
	B.map_ret = -EIO;
	assert_int_equal(dax_window_map(W, 7, 1, 0, 0, 2 * MIB, false), -EIO);
	assert_int_equal(dax_window_count(W), 0);
	B.map_ret = 0;
	assert_int_equal(dax_window_map(W, 7, 1, 0, 0, 2 * MIB, false), 0);
	/* an unmap the frontend failed is forgotten anyway */
	B.unmap_ret = -EIO;
	assert_int_equal(dax_window_unmap(W, 0, 2 * MIB), -EIO);
	assert_int_equal(dax_window_count(W), 0);
}

static void test_no_window(void **state)
{
	B.size = 0;
	assert_int_equal(dax_window_size(W), 0);
	assert_int_equal(dax_window_map(W, 7, 1, 0, 0, 2 * MIB, false), -ENODEV);
	dax_window_attach(W, NULL);
	B.size = WINDOW;
	assert_int_equal(dax_window_size(W), 0);
	assert_int_equal(dax_window_map(W, 7, 1, 0, 0, 2 * MIB, false), -ENODEV);
	assert_int_equal(dax_window_unmap(W, 0, 2 * MIB), -ENODEV);
	assert_int_equal(B.maps, 0);
}

static void test_reset_unmaps_all(void **state)
{
	assert_int_equal(dax_window_map(W, 7, 1, 0, 0, 2 * MIB, false), 0);
	assert_int_equal(dax_window_map(W, 7, 1, 0, 4 * MIB, 2 * MIB, false), 0);
	dax_window_reset(W);
	assert_int_equal(B.unmaps, 2);
	assert_int_equal(dax_window_count(W), 0);
}

/* ---- through the FUSE server ---- */

static struct fs_ops dax_ops;
static int dax_fd_ret;
static int dax_fd_calls;
static bool dax_fd_writable;

static int mock_dax_fd(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		       uint64_t foffset, uint64_t len, bool writable)
{
	dax_fd_calls++;
	dax_fd_writable = writable;
	if (dax_fd_ret)
		return dax_fd_ret;
	return open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static struct fuse_server *dax_server(uint64_t guest_flags, const struct fuse_init_out **out)
{
	dax_ops = mock_ops;
	dax_ops.dax_fd = mock_dax_fd;
	dax_fd_ret = 0;
	dax_fd_calls = 0;
	struct fuse_server_config config = { .ops = &dax_ops, .dax = W };
	struct fuse_server *s = fuse_server_new(&config);
	struct fuse_init_in in = {
		.major = 7, .minor = 38, .max_readahead = 131072,
		.flags = (uint32_t)guest_flags | FUSE_INIT_EXT,
		.flags2 = (uint32_t)(guest_flags >> 32),
	};

	assert_non_null(s);
	rb_begin(FUSE_INIT, 0);
	rb_add(&in, sizeof(in));
	rb_finish();
	assert_true(rb_send(s) > sizeof(struct fuse_out_header));
	assert_int_equal(OH->error, 0);
	*out = (const struct fuse_init_out *)(OUT + sizeof(struct fuse_out_header));
	return s;
}

static size_t send_setupmapping(struct fuse_server *s, uint64_t foffset, uint64_t len,
				uint64_t flags, uint64_t moffset)
{
	struct fuse_setupmapping_in in = {
		.fh = 3, .foffset = foffset, .len = len, .flags = flags, .moffset = moffset,
	};

	rb_begin(FUSE_SETUPMAPPING, 5);
	rb_add(&in, sizeof(in));
	rb_finish();
	return rb_send(s);
}

static size_t send_removemapping(struct fuse_server *s, uint32_t count,
				 const struct fuse_removemapping_one *one, unsigned n)
{
	struct fuse_removemapping_in in = { .count = count };

	rb_begin(FUSE_REMOVEMAPPING, 5);
	rb_add(&in, sizeof(in));
	rb_add(one, n * sizeof(*one));
	rb_finish();
	return rb_send(s);
}

static void test_init_alignment_only_with_window(void **state)
{
	const struct fuse_init_out *out;
	struct fuse_server *s = dax_server(FUSE_MAP_ALIGNMENT, &out);

	assert_true(out->flags & FUSE_MAP_ALIGNMENT);
	assert_int_equal(out->map_alignment, DAX_MAP_ALIGNMENT_SHIFT);
	fuse_server_free(s);

	B.size = 0;	/* the frontend negotiated no window */
	s = dax_server(FUSE_MAP_ALIGNMENT, &out);
	assert_false(out->flags & FUSE_MAP_ALIGNMENT);
	assert_int_equal(out->map_alignment, 0);
	assert_int_equal(send_setupmapping(s, 0, 2 * MIB, FUSE_SETUPMAPPING_FLAG_READ, 0),
			 sizeof(struct fuse_out_header));
	assert_int_equal(OH->error, -ENOSYS);
	fuse_server_free(s);

	/* a guest that did not ask gets no alignment, and no mappings */
	B.size = WINDOW;
	s = dax_server(0, &out);
	assert_false(out->flags & FUSE_MAP_ALIGNMENT);
	send_setupmapping(s, 0, 2 * MIB, FUSE_SETUPMAPPING_FLAG_READ, 0);
	assert_int_equal(OH->error, -ENOSYS);
	fuse_server_free(s);
}

static void test_setupmapping_ok(void **state)
{
	const struct fuse_init_out *out;
	struct fuse_server *s = dax_server(FUSE_MAP_ALIGNMENT, &out);
	size_t n = send_setupmapping(s, 4 * MIB, 2 * MIB,
				     FUSE_SETUPMAPPING_FLAG_READ | FUSE_SETUPMAPPING_FLAG_WRITE,
				     6 * MIB);

	assert_ok_reply(n, 0);
	assert_int_equal(dax_fd_calls, 1);
	assert_true(dax_fd_writable);
	assert_int_equal(B.maps, 1);
	assert_true(B.last_fd >= 0);
	assert_int_equal(B.last_fd_offset, 4 * MIB);
	assert_int_equal(B.last_win, 6 * MIB);
	assert_true(B.last_writable);
	fuse_server_free(s);
}

static void test_setupmapping_refused(void **state)
{
	const struct fuse_init_out *out;
	struct fuse_server *s = dax_server(FUSE_MAP_ALIGNMENT, &out);

	/* unknown flag bits */
	send_setupmapping(s, 0, 2 * MIB, 1u << 7, 0);
	assert_int_equal(OH->error, -EINVAL);
	/* outside the window, unaligned, empty: the file system is not asked */
	send_setupmapping(s, 0, 2 * MIB, FUSE_SETUPMAPPING_FLAG_READ, WINDOW);
	assert_int_equal(OH->error, -EINVAL);
	send_setupmapping(s, 0, 2 * MIB, FUSE_SETUPMAPPING_FLAG_READ, 512);
	assert_int_equal(OH->error, -EINVAL);
	send_setupmapping(s, 0, 0, FUSE_SETUPMAPPING_FLAG_READ, 0);
	assert_int_equal(OH->error, -EINVAL);
	send_setupmapping(s, 0, UINT64_MAX & ~4095ull, FUSE_SETUPMAPPING_FLAG_READ, 4096);
	assert_int_equal(OH->error, -EINVAL);
	assert_int_equal(dax_fd_calls, 0);
	/* what the file system refuses (a read-only handle mapped writable) */
	dax_fd_ret = -EACCES;
	send_setupmapping(s, 0, 2 * MIB, FUSE_SETUPMAPPING_FLAG_WRITE, 0);
	assert_int_equal(OH->error, -EACCES);
	assert_int_equal(B.maps, 0);
	/* a short body */
	rb_begin(FUSE_SETUPMAPPING, 5);
	rb_add(&(uint64_t){ 0 }, 8);
	rb_finish();
	rb_send(s);
	assert_int_equal(OH->error, -EINVAL);
	assert_int_equal(dax_window_count(W), 0);
	fuse_server_free(s);
}

static void test_removemapping(void **state)
{
	const struct fuse_init_out *out;
	struct fuse_server *s = dax_server(FUSE_MAP_ALIGNMENT, &out);
	struct fuse_removemapping_one one[3] = {
		{ .moffset = 0, .len = 2 * MIB },
		{ .moffset = 8 * MIB, .len = 2 * MIB },	/* never mapped */
		{ .moffset = 4 * MIB, .len = 2 * MIB },
	};

	send_setupmapping(s, 0, 2 * MIB, FUSE_SETUPMAPPING_FLAG_READ, 0);
	assert_int_equal(OH->error, 0);
	send_setupmapping(s, 0, 2 * MIB, FUSE_SETUPMAPPING_FLAG_READ, 4 * MIB);
	assert_int_equal(OH->error, 0);
	/* count against the body: zero, more than sent, fewer than sent */
	send_removemapping(s, 0, one, 0);
	assert_int_equal(OH->error, -EINVAL);
	send_removemapping(s, 3, one, 2);
	assert_int_equal(OH->error, -EINVAL);
	send_removemapping(s, 1, one, 2);
	assert_int_equal(OH->error, -EINVAL);
	send_removemapping(s, 100000, one, 3);
	assert_int_equal(OH->error, -EINVAL);
	assert_int_equal(B.unmaps, 0);
	/* the entry never mapped fails the request, the others still go */
	send_removemapping(s, 3, one, 3);
	assert_int_equal(OH->error, -EINVAL);
	assert_int_equal(B.unmaps, 2);
	assert_int_equal(dax_window_count(W), 0);
	fuse_server_free(s);
}

/* DESTROY and a new INIT leave nothing mapped. */
static void test_session_end_unmaps(void **state)
{
	const struct fuse_init_out *out;
	struct fuse_server *s = dax_server(FUSE_MAP_ALIGNMENT, &out);

	send_setupmapping(s, 0, 2 * MIB, FUSE_SETUPMAPPING_FLAG_READ, 0);
	assert_int_equal(dax_window_count(W), 1);
	rb_begin(FUSE_DESTROY, 0);
	rb_finish();
	rb_send(s);
	assert_int_equal(dax_window_count(W), 0);
	assert_int_equal(B.unmaps, 1);
	fuse_server_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_check_range, setup, teardown),
		cmocka_unit_test_setup_teardown(test_map_unmap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overlap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_same_range_replaces, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unmap_never_mapped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backend_refuses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_window, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_unmaps_all, setup, teardown),
		cmocka_unit_test_setup_teardown(test_init_alignment_only_with_window, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_setupmapping_ok, setup, teardown),
		cmocka_unit_test_setup_teardown(test_setupmapping_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_removemapping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_session_end_unmaps, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
