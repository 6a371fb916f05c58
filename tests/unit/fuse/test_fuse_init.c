/* test_fuse_init.c: INIT negotiation, the session's life (before INIT,
 * INIT twice, DESTROY and re-INIT) and fuse_request_may_block. */
#include <errno.h>

#include "fuse_test_util.h"

static struct fuse_server *S;

static int setup(void **state)
{
	mock_reset();
	S = NULL;
	return 0;
}

static int teardown(void **state)
{
	fuse_server_free(S);
	S = NULL;
	return 0;
}

static const struct fuse_init_out *init_out(void)
{
	return (const struct fuse_init_out *)(OUT + sizeof(struct fuse_out_header));
}

static size_t send_init(uint32_t major, uint32_t minor, uint32_t flags, uint32_t flags2,
			size_t in_size)
{
	struct fuse_init_in in = {
		.major = major, .minor = minor, .max_readahead = 65536,
		.flags = flags, .flags2 = flags2,
	};
	rb_begin(FUSE_INIT, 0);
	rb_add(&in, in_size);
	rb_finish();
	return rb_send(S);
}

#define SERVER_FLAGS (FUSE_ASYNC_READ | FUSE_PARALLEL_DIROPS | FUSE_BIG_WRITES | \
		      FUSE_MAX_PAGES | FUSE_ATOMIC_O_TRUNC | FUSE_SETXATTR_EXT)

static void test_init_738_ext(void **state)
{
	S = server_new();
	MC.init_add = FUSE_DO_READDIRPLUS | FUSE_WRITEBACK_CACHE | FUSE_SECURITY_CTX |
		      FUSE_HAS_INODE_DAX | FUSE_MAP_ALIGNMENT;
	MC.time_gran = 1000;
	uint32_t offered = SERVER_FLAGS | FUSE_DO_READDIRPLUS | FUSE_WRITEBACK_CACHE |
			   FUSE_POSIX_LOCKS | FUSE_MAP_ALIGNMENT | FUSE_INIT_EXT;
	uint32_t offered2 = (uint32_t)((FUSE_SECURITY_CTX | FUSE_HAS_INODE_DAX) >> 32);
	size_t n = send_init(7, 38, offered, offered2, sizeof(struct fuse_init_in));
	assert_ok_reply(n, sizeof(struct fuse_init_out));

	/* The file system saw the guest's flags and the server's choice. */
	assert_string_equal(M.op, "init");
	assert_int_equal(M.init.proto_minor, 38);
	assert_true(M.init.kernel_flags == (offered | ((uint64_t)offered2 << 32)));
	assert_true(M.init.want_flags == (SERVER_FLAGS | FUSE_INIT_EXT));
	assert_int_equal(M.init.max_write, FUSE_SERVER_MAX_WRITE);

	const struct fuse_init_out *out = init_out();
	assert_int_equal(out->major, 7);
	assert_int_equal(out->minor, 38);
	assert_int_equal(out->max_readahead, 65536);
	/* DAX is never granted; a security context is, to a file system
	 * that asks (--security-label), from 7.38 (test_fuse_hostile.c). */
	assert_int_equal(out->flags, SERVER_FLAGS | FUSE_DO_READDIRPLUS |
					     FUSE_WRITEBACK_CACHE | FUSE_INIT_EXT);
	assert_int_equal(out->flags2, FUSE_SECURITY_CTX >> 32);
	assert_int_equal(out->max_write, 1024 * 1024);
	assert_int_equal(out->max_pages, 256);
	assert_int_equal(out->time_gran, 1000);
	assert_int_equal(out->max_background, 64);
	assert_int_equal(out->congestion_threshold, 48);
	assert_int_equal(out->map_alignment, 0);
	assert_false(fuse_server_destroyed(S));
}

static void test_init_flags2_expire_only(void **state)
{
	S = server_new();
	MC.init_add = FUSE_HAS_EXPIRE_ONLY;
	size_t n = send_init(7, 38, FUSE_INIT_EXT, (uint32_t)(FUSE_HAS_EXPIRE_ONLY >> 32),
			     sizeof(struct fuse_init_in));
	assert_ok_reply(n, sizeof(struct fuse_init_out));
	assert_int_equal(init_out()->flags, FUSE_INIT_EXT);
	assert_int_equal(init_out()->flags2, FUSE_HAS_EXPIRE_ONLY >> 32);
}

static void test_init_736(void **state)
{
	S = server_new();
	size_t n = send_init(7, 36, FUSE_ASYNC_READ | FUSE_INIT_EXT | FUSE_DONT_MASK, 0,
			     sizeof(struct fuse_init_in));
	assert_ok_reply(n, sizeof(struct fuse_init_out));
	assert_int_equal(init_out()->minor, 36);
	/* DONT_MASK is the file system's to take; this one does not. */
	assert_int_equal(init_out()->flags, FUSE_ASYNC_READ | FUSE_INIT_EXT);
	assert_int_equal(M.init.proto_minor, 36);
}

static void test_init_newer_minor(void **state)
{
	/* a guest newer than us is answered with our minor */
	S = server_new();
	size_t n = send_init(7, VFSD_FUSE_MINOR + 2, FUSE_ASYNC_READ | FUSE_INIT_EXT, 0,
			     sizeof(struct fuse_init_in));
	assert_ok_reply(n, sizeof(struct fuse_init_out));
	assert_int_equal(init_out()->minor, VFSD_FUSE_MINOR);
	assert_int_equal(M.init.proto_minor, VFSD_FUSE_MINOR);
	fuse_server_free(S);
	/* an older one with its own */
	S = server_new();
	n = send_init(7, 40, FUSE_ASYNC_READ | FUSE_INIT_EXT, 0, sizeof(struct fuse_init_in));
	assert_ok_reply(n, sizeof(struct fuse_init_out));
	assert_int_equal(init_out()->minor, 40);
}

static void test_init_735_short_in(void **state)
{
	/* Before 7.36 the guest sends 16 bytes (no flags2). */
	S = server_new();
	size_t n = send_init(7, 31, FUSE_ASYNC_READ | FUSE_BIG_WRITES | FUSE_INIT_EXT, 0, 16);
	assert_ok_reply(n, sizeof(struct fuse_init_out));
	assert_int_equal(init_out()->minor, 31);
	/* INIT_EXT means nothing before 7.36. */
	assert_int_equal(init_out()->flags, FUSE_ASYNC_READ | FUSE_BIG_WRITES);
}

static void test_init_736_ext_without_flags2(void **state)
{
	/* 7.36 with INIT_EXT must carry flags2. */
	S = server_new();
	size_t n = send_init(7, 36, FUSE_INIT_EXT, 0, 16);
	assert_error_reply(n, EINVAL);
	assert_int_equal(M.count, 0);
}

static void test_init_712_compat(void **state)
{
	S = server_new();
	size_t n = send_init(7, 12, FUSE_ASYNC_READ | FUSE_BIG_WRITES, 0, 16);
	assert_ok_reply(n, FUSE_COMPAT_22_INIT_OUT_SIZE);
	assert_int_equal(init_out()->minor, 12);
	assert_int_equal(init_out()->max_write, 1024 * 1024);
	assert_int_equal(init_out()->flags, FUSE_ASYNC_READ | FUSE_BIG_WRITES);
	/* The bytes after the compat size are untouched. */
	assert_int_equal(OUT[sizeof(struct fuse_out_header) + FUSE_COMPAT_22_INIT_OUT_SIZE], 0xee);
}

static void test_init_74_compat(void **state)
{
	S = server_new();
	size_t n = send_init(7, 4, 0, 0, 8);
	assert_ok_reply(n, FUSE_COMPAT_INIT_OUT_SIZE);
	assert_int_equal(init_out()->major, 7);
	assert_int_equal(init_out()->minor, 4);
}

static void test_init_major_8(void **state)
{
	S = server_new();
	size_t n = send_init(8, 0, 0, 0, 8);
	assert_ok_reply(n, FUSE_COMPAT_INIT_OUT_SIZE);
	assert_int_equal(init_out()->major, 7);
	assert_int_equal(init_out()->minor, VFSD_FUSE_MINOR);
	assert_int_equal(M.count, 0);
	/* Not initialised: the guest retries with 7.x. */
	rb_begin(FUSE_STATFS, 1);
	rb_finish();
	assert_error_reply(rb_send(S), EIO);
	n = send_init(7, 38, FUSE_INIT_EXT, 0, sizeof(struct fuse_init_in));
	assert_ok_reply(n, sizeof(struct fuse_init_out));
}

static void test_init_major_6(void **state)
{
	S = server_new();
	size_t n = send_init(6, 99, 0, 0, 16);
	assert_error_reply(n, EPROTO);
	assert_int_equal(M.count, 0);
	assert_true(fuse_server_destroyed(S));
}

static void test_init_fs_refuses(void **state)
{
	S = server_new();
	MC.ret = -ENOMEM;
	size_t n = send_init(7, 38, FUSE_INIT_EXT, 0, sizeof(struct fuse_init_in));
	assert_error_reply(n, ENOMEM);
	assert_true(fuse_server_destroyed(S));
}

static void test_init_truncated(void **state)
{
	S = server_new();
	size_t n = send_init(7, 38, 0, 0, 4);
	assert_error_reply(n, EINVAL);
	n = send_init(7, 20, 0, 0, 12);
	assert_error_reply(n, EINVAL);
	assert_int_equal(M.count, 0);
}

static void test_init_max_write_from_fs(void **state)
{
	S = server_new();
	MC.init_max_write = 128 * 1024;
	size_t n = send_init(7, 38, FUSE_INIT_EXT | FUSE_MAX_PAGES, 0,
			     sizeof(struct fuse_init_in));
	assert_ok_reply(n, sizeof(struct fuse_init_out));
	assert_int_equal(init_out()->max_write, 128 * 1024);
	assert_int_equal(init_out()->max_pages, 32);
}

static void test_init_reply_space_too_small(void **state)
{
	S = server_new();
	struct fuse_init_in in = { .major = 7, .minor = 38, .flags = FUSE_INIT_EXT };
	rb_begin(FUSE_INIT, 0);
	rb_add(&in, sizeof(in));
	rb_finish();
	size_t n = rb_send_out(S, sizeof(struct fuse_out_header) + 40);
	assert_error_reply(n, EINVAL);
	assert_int_equal(M.count, 0);
	/* Session still new: a proper INIT works. */
	n = rb_send(S);
	assert_ok_reply(n, sizeof(struct fuse_init_out));
}

static void test_before_init(void **state)
{
	S = server_new();
	rb_begin(FUSE_LOOKUP, 1);
	rb_str("a");
	rb_finish();
	assert_error_reply(rb_send(S), EIO);
	/* No-reply requests are dropped. */
	struct fuse_forget_in f = { 1 };
	rb_begin(FUSE_FORGET, 5);
	rb_add(&f, sizeof(f));
	rb_finish();
	assert_int_equal(rb_send(S), 0);
	/* Unknown opcodes too are EIO before INIT. */
	rb_begin(999, 1);
	rb_finish();
	assert_error_reply(rb_send(S), EIO);
	assert_int_equal(M.count, 0);
}

static void test_init_twice(void **state)
{
	S = server_with_init(38, 0);
	size_t n = send_init(7, 38, FUSE_INIT_EXT, 0, sizeof(struct fuse_init_in));
	assert_error_reply(n, EPROTO);
	assert_int_equal(M.count, 0);
	/* The session goes on. */
	rb_begin(FUSE_STATFS, 1);
	rb_finish();
	assert_ok_reply(rb_send(S), sizeof(struct fuse_statfs_out));
}

static void test_destroy_and_reinit(void **state)
{
	S = server_with_init(38, 0);
	rb_begin(FUSE_DESTROY, 0);
	rb_finish();
	assert_ok_reply(rb_send(S), 0);
	assert_int_equal(M.destroys, 1);
	assert_true(fuse_server_destroyed(S));
	rb_begin(FUSE_STATFS, 1);
	rb_finish();
	assert_error_reply(rb_send(S), EIO);
	/* A new mount of the same device. */
	size_t n = send_init(7, 37, FUSE_INIT_EXT, 0, sizeof(struct fuse_init_in));
	assert_ok_reply(n, sizeof(struct fuse_init_out));
	assert_false(fuse_server_destroyed(S));
}

static void test_server_new_checks(void **state)
{
	struct fuse_server_config config = { .ops = NULL };
	assert_null(fuse_server_new(&config));
	assert_null(fuse_server_new(NULL));
	fuse_server_free(NULL);
}

static bool may_block(uint32_t opcode, uint32_t size)
{
	struct fuse_read_in in = { .size = size };
	rb_begin(opcode, 1);
	rb_add(&in, sizeof(in));
	rb_finish();
	struct iovec iov = { R.b, R.len };
	return fuse_request_may_block(&iov, 1);
}

static void test_may_block(void **state)
{
	assert_true(may_block(FUSE_SETLKW, 0));
	assert_true(may_block(FUSE_FSYNC, 0));
	assert_true(may_block(FUSE_FSYNCDIR, 0));
	assert_true(may_block(FUSE_SYNCFS, 0));
	assert_true(may_block(FUSE_FALLOCATE, 0));
	assert_true(may_block(FUSE_COPY_FILE_RANGE, 0));
	assert_true(may_block(FUSE_SETUPMAPPING, 0));
	assert_true(may_block(FUSE_REMOVEMAPPING, 0));
	assert_false(may_block(FUSE_SETLK, 0));
	assert_false(may_block(FUSE_LOOKUP, 0));
	/* Page-cache I/O is served inline, however large (measured). */
	assert_false(may_block(FUSE_READ, 65536));
	assert_false(may_block(FUSE_READ, 1 << 20));
	assert_false(may_block(FUSE_WRITE, 4096));
	assert_false(may_block(FUSE_WRITE, 1 << 20));
	/* A header cut short, or a READ without its size: no. */
	struct iovec iov = { R.b, 10 };
	assert_false(fuse_request_may_block(&iov, 1));
	rb_begin(FUSE_READ, 1);
	iov.iov_len = R.len + 8;
	assert_false(fuse_request_may_block(&iov, 1));
}

static bool may_be_slow(uint32_t opcode, uint32_t size)
{
	struct fuse_write_in in = { .size = size };
	rb_begin(opcode, 1);
	rb_add(&in, sizeof(in));
	rb_finish();
	struct iovec iov = { R.b, R.len };
	return fuse_request_may_be_slow(&iov, 1);
}

/* What a transport should not hold completions behind. */
static void test_may_be_slow(void **state)
{
	assert_true(may_be_slow(FUSE_FSYNC, 0));
	assert_true(may_be_slow(FUSE_SETLKW, 0));
	assert_true(may_be_slow(FUSE_READ, FUSE_SLOW_IO_BYTES));
	assert_true(may_be_slow(FUSE_WRITE, 1 << 20));
	assert_false(may_be_slow(FUSE_READ, 4096));
	assert_false(may_be_slow(FUSE_WRITE, FUSE_SLOW_IO_BYTES - 1));
	assert_false(may_be_slow(FUSE_GETATTR, 1 << 20));
	assert_false(may_be_slow(FUSE_LOOKUP, 0));
	/* a READ cut before its size: not known to be slow */
	rb_begin(FUSE_READ, 1);
	struct iovec iov = { R.b, R.len + 12 };
	assert_false(fuse_request_may_be_slow(&iov, 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_init_738_ext, setup, teardown),
		cmocka_unit_test_setup_teardown(test_init_flags2_expire_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_init_736, setup, teardown),
		cmocka_unit_test_setup_teardown(test_init_newer_minor, setup, teardown),
		cmocka_unit_test_setup_teardown(test_init_735_short_in, setup, teardown),
		cmocka_unit_test_setup_teardown(test_init_736_ext_without_flags2, setup, teardown),
		cmocka_unit_test_setup_teardown(test_init_712_compat, setup, teardown),
		cmocka_unit_test_setup_teardown(test_init_74_compat, setup, teardown),
		cmocka_unit_test_setup_teardown(test_init_major_8, setup, teardown),
		cmocka_unit_test_setup_teardown(test_init_major_6, setup, teardown),
		cmocka_unit_test_setup_teardown(test_init_fs_refuses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_init_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_init_max_write_from_fs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_init_reply_space_too_small, setup, teardown),
		cmocka_unit_test_setup_teardown(test_before_init, setup, teardown),
		cmocka_unit_test_setup_teardown(test_init_twice, setup, teardown),
		cmocka_unit_test_setup_teardown(test_destroy_and_reinit, setup, teardown),
		cmocka_unit_test(test_server_new_checks),
		cmocka_unit_test(test_may_block),
		cmocka_unit_test(test_may_be_slow),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
