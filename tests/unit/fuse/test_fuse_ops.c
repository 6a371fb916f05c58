/* test_fuse_ops.c: every opcode decodes to the right file system call with
 * the right values and encodes the right reply; compat shapes for old
 * protocol minors; zero-copy READ/WRITE; READDIR encoding. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>

#include <fcntl.h>
#include <sys/stat.h>

#include "fuse_test_util.h"

static struct fuse_server *S;

#define HDR sizeof(struct fuse_out_header)
#define PAYLOAD (OUT + HDR)

static int setup(void **state)
{
	mock_reset();
	S = server_with_init(38, 0xffffffffu & ~(uint64_t)FUSE_DONT_MASK);
	return 0;
}

static int teardown(void **state)
{
	fuse_server_free(S);
	S = NULL;
	return 0;
}

static void assert_ctx(void)
{
	assert_int_equal(M.ctx.uid, 1000);
	assert_int_equal(M.ctx.gid, 1001);
	assert_int_equal(M.ctx.pid, 42);
	assert_int_equal(M.ctx.unique, R.unique);
}

static void assert_called(const char *op)
{
	assert_non_null(M.op);
	assert_string_equal(M.op, op);
	assert_int_equal(M.count, 1);
}

static const struct fuse_entry_out *entry_payload(void)
{
	return (const struct fuse_entry_out *)PAYLOAD;
}

static void test_lookup(void **state)
{
	rb_begin(FUSE_LOOKUP, 9);
	rb_str("hello");
	rb_finish();
	size_t n = rb_send(S);
	assert_ok_reply(n, sizeof(struct fuse_entry_out));
	assert_called("lookup");
	assert_ctx();
	assert_int_equal(M.parent, 9);
	assert_string_equal(M.name, "hello");
	assert_int_equal(entry_payload()->nodeid, 100);
	assert_int_equal(entry_payload()->generation, 7);
}

static void test_lookup_dot_allowed(void **state)
{
	rb_begin(FUSE_LOOKUP, 1);
	rb_str("..");
	rb_finish();
	assert_ok_reply(rb_send(S), sizeof(struct fuse_entry_out));
	assert_string_equal(M.name, "..");
	rb_begin(FUSE_LOOKUP, 1);
	rb_str(".");
	rb_finish();
	assert_ok_reply(rb_send(S), sizeof(struct fuse_entry_out));
}

static void test_lookup_error(void **state)
{
	MC.ret = -ENOENT;
	rb_begin(FUSE_LOOKUP, 1);
	rb_str("nope");
	rb_finish();
	assert_error_reply(rb_send(S), ENOENT);
	assert_called("lookup");
}

static void test_forget(void **state)
{
	struct fuse_forget_in in = { .nlookup = 3 };
	rb_begin(FUSE_FORGET, 77);
	rb_add(&in, sizeof(in));
	rb_finish();
	assert_int_equal(rb_send(S), 0);
	assert_called("forget");
	assert_int_equal(M.nodeid, 77);
	assert_int_equal(M.nlookup, 3);
	/* FORGET works without any reply space. */
	struct iovec iov = { R.b, R.len };
	assert_int_equal(fuse_server_handle(S, &iov, 1, NULL, 0), 0);
	assert_int_equal(M.count, 2);
}

static void test_batch_forget(void **state)
{
	struct fuse_batch_forget_in in = { .count = 3 };
	struct fuse_forget_one one[3] = { { 10, 1 }, { 11, 2 }, { 12, 3 } };
	rb_begin(FUSE_BATCH_FORGET, 0);
	rb_add(&in, sizeof(in));
	rb_add(one, sizeof(one));
	rb_finish();
	assert_int_equal(rb_send(S), 0);
	assert_int_equal(M.forgets, 3);
	assert_int_equal(M.forget_nodes[0], 10);
	assert_int_equal(M.forget_counts[0], 1);
	assert_int_equal(M.forget_nodes[2], 12);
	assert_int_equal(M.forget_counts[2], 3);
}

static void test_batch_forget_count_too_big(void **state)
{
	struct fuse_batch_forget_in in = { .count = 4 };
	struct fuse_forget_one one[3] = { { 10, 1 }, { 11, 2 }, { 12, 3 } };
	rb_begin(FUSE_BATCH_FORGET, 0);
	rb_add(&in, sizeof(in));
	rb_add(one, sizeof(one));
	rb_finish();
	assert_int_equal(rb_send(S), 0);
	assert_int_equal(M.forgets, 0);
	in.count = 0x10000001;  /* * 16 wraps in 32 bits */
	rb_begin(FUSE_BATCH_FORGET, 0);
	rb_add(&in, sizeof(in));
	rb_add(one, sizeof(one));
	rb_finish();
	assert_int_equal(rb_send(S), 0);
	assert_int_equal(M.forgets, 0);
}

static void test_getattr(void **state)
{
	struct fuse_getattr_in in = { .getattr_flags = FUSE_GETATTR_FH, .fh = 31 };
	rb_begin(FUSE_GETATTR, 5);
	rb_add(&in, sizeof(in));
	rb_finish();
	assert_ok_reply(rb_send(S), sizeof(struct fuse_attr_out));
	assert_called("getattr");
	assert_ctx();
	assert_int_equal(M.nodeid, 5);
	assert_true(M.has_fh);
	assert_int_equal(M.fh, 31);
	const struct fuse_attr_out *out = (const void *)PAYLOAD;
	assert_int_equal(out->attr.ino, 5);
	assert_int_equal(out->attr_valid, 1);

	in.getattr_flags = 0;
	rb_begin(FUSE_GETATTR, 5);
	rb_add(&in, sizeof(in));
	rb_finish();
	assert_ok_reply(rb_send(S), sizeof(struct fuse_attr_out));
	assert_false(M.has_fh);
	assert_int_equal(M.fh, 0);
}

static void test_statx(void **state)
{
	struct vfsd_fuse_statx_in in = { .getattr_flags = FUSE_GETATTR_FH, .fh = 31,
					 .sx_flags = AT_STATX_FORCE_SYNC,
					 .sx_mask = STATX_BASIC_STATS | STATX_BTIME };
	rb_begin(VFSD_FUSE_STATX, 5);
	rb_add(&in, sizeof(in));
	rb_finish();
	assert_ok_reply(rb_send(S), sizeof(struct vfsd_fuse_statx_out));
	assert_called("statx");
	assert_ctx();
	assert_int_equal(M.nodeid, 5);
	assert_true(M.has_fh);
	assert_int_equal(M.fh, 31);
	assert_int_equal(M.flags, AT_STATX_FORCE_SYNC);
	assert_int_equal(M.mask, STATX_BASIC_STATS | STATX_BTIME);
	const struct vfsd_fuse_statx_out *out = (const void *)PAYLOAD;
	assert_int_equal(out->stat.ino, 5);
	assert_int_equal(out->stat.btime.tv_sec, 123);
	assert_int_equal(out->stat.mask, STATX_BASIC_STATS | STATX_BTIME);

	/* a short body is refused before the file system sees it */
	M.count = 0;
	rb_begin(VFSD_FUSE_STATX, 5);
	rb_add(&in, sizeof(in) - 1);
	rb_finish();
	assert_error_reply(rb_send(S), EINVAL);
	assert_int_equal(M.count, 0);
}

static void test_setattr(void **state)
{
	struct fuse_setattr_in in = { .valid = FATTR_SIZE | FATTR_MODE, .size = 12345,
				      .mode = 0600, .fh = 4 };
	rb_begin(FUSE_SETATTR, 6);
	rb_add(&in, sizeof(in));
	rb_finish();
	assert_ok_reply(rb_send(S), sizeof(struct fuse_attr_out));
	assert_called("setattr");
	assert_int_equal(M.nodeid, 6);
	assert_int_equal(M.setattr.valid, FATTR_SIZE | FATTR_MODE);
	assert_int_equal(M.setattr.size, 12345);
	assert_int_equal(M.setattr.mode, 0600);
	assert_int_equal(M.setattr.fh, 4);
	assert_int_equal(((const struct fuse_attr_out *)PAYLOAD)->attr.size, 12345);
}

static void test_readlink(void **state)
{
	MC.link_target = "../some/where";
	rb_begin(FUSE_READLINK, 8);
	rb_finish();
	size_t n = rb_send(S);
	assert_ok_reply(n, strlen("../some/where"));
	assert_called("readlink");
	assert_int_equal(M.nodeid, 8);
	assert_memory_equal(PAYLOAD, "../some/where", strlen("../some/where"));
	/* A target longer than the reply space: EINVAL, not a cut target. */
	rb_begin(FUSE_READLINK, 8);
	rb_finish();
	assert_error_reply(rb_send_out(S, HDR + 5), EINVAL);
}

static void test_symlink(void **state)
{
	rb_begin(FUSE_SYMLINK, 3);
	rb_str("link");
	rb_str("/abs/target");
	rb_finish();
	assert_ok_reply(rb_send(S), sizeof(struct fuse_entry_out));
	assert_called("symlink");
	assert_int_equal(M.parent, 3);
	assert_string_equal(M.name, "link");
	assert_string_equal(M.target, "/abs/target");
	assert_int_equal(entry_payload()->nodeid, 101);
}

static void test_symlink_target_limits(void **state)
{
	static char target[PATH_MAX + 1];
	memset(target, 'a', PATH_MAX - 1);
	target[PATH_MAX - 1] = '\0';
	rb_begin(FUSE_SYMLINK, 3);
	rb_str("l");
	rb_str(target);
	rb_finish();
	assert_ok_reply(rb_send(S), sizeof(struct fuse_entry_out));
	assert_int_equal(strlen(M.target), PATH_MAX - 1);

	M.count = 0;
	memset(target, 'a', PATH_MAX);
	target[PATH_MAX] = '\0';
	rb_begin(FUSE_SYMLINK, 3);
	rb_str("l");
	rb_str(target);
	rb_finish();
	assert_error_reply(rb_send(S), ENAMETOOLONG);
	/* Without NUL at all. */
	rb_begin(FUSE_SYMLINK, 3);
	rb_str("l");
	rb_add("abc", 3);
	rb_finish();
	assert_error_reply(rb_send(S), EINVAL);
	/* Empty target. */
	rb_begin(FUSE_SYMLINK, 3);
	rb_str("l");
	rb_str("");
	rb_finish();
	assert_error_reply(rb_send(S), ENOENT);
	assert_int_equal(M.count, 0);
}

static void test_mknod(void **state)
{
	struct fuse_mknod_in in = { .mode = 020644, .rdev = 0x0801, .umask = 022 };
	rb_begin(FUSE_MKNOD, 4);
	rb_add(&in, sizeof(in));
	rb_str("dev");
	rb_finish();
	assert_ok_reply(rb_send(S), sizeof(struct fuse_entry_out));
	assert_called("mknod");
	assert_int_equal(M.parent, 4);
	assert_string_equal(M.name, "dev");
	assert_int_equal(M.mode, 020644);
	assert_int_equal(M.rdev, 0x0801);
	/* FUSE_DONT_MASK not negotiated: the guest applied the umask. */
	assert_int_equal(M.umask, 0);
	assert_int_equal(entry_payload()->nodeid, 102);
}

static void test_mkdir(void **state)
{
	struct fuse_mkdir_in in = { .mode = 0755, .umask = 022 };
	rb_begin(FUSE_MKDIR, 4);
	rb_add(&in, sizeof(in));
	rb_str("dir");
	rb_finish();
	assert_ok_reply(rb_send(S), sizeof(struct fuse_entry_out));
	assert_called("mkdir");
	assert_int_equal(M.parent, 4);
	assert_string_equal(M.name, "dir");
	assert_int_equal(M.mode, 0755);
	assert_int_equal(M.umask, 0);
}

static void test_umask_with_dont_mask(void **state)
{
	fuse_server_free(S);
	MC.init_add = FUSE_DONT_MASK;
	S = server_with_init(38, FUSE_DONT_MASK);
	struct fuse_mkdir_in in = { .mode = 0777, .umask = 027 };
	rb_begin(FUSE_MKDIR, 4);
	rb_add(&in, sizeof(in));
	rb_str("dir");
	rb_finish();
	assert_ok_reply(rb_send(S), sizeof(struct fuse_entry_out));
	assert_int_equal(M.umask, 027);

	struct fuse_create_in cin = { .flags = O_RDWR, .mode = 0100666, .umask = 077 };
	rb_begin(FUSE_CREATE, 4);
	rb_add(&cin, sizeof(cin));
	rb_str("f");
	rb_finish();
	assert_ok_reply(rb_send(S), sizeof(struct fuse_entry_out) + sizeof(struct fuse_open_out));
	assert_int_equal(M.umask, 077);

	struct fuse_mknod_in min = { .mode = 010644, .umask = 002 };
	rb_begin(FUSE_MKNOD, 4);
	rb_add(&min, sizeof(min));
	rb_str("fifo");
	rb_finish();
	assert_ok_reply(rb_send(S), sizeof(struct fuse_entry_out));
	assert_int_equal(M.umask, 002);

	rb_begin(FUSE_TMPFILE, 4);
	rb_add(&cin, sizeof(cin));
	rb_str("/");
	rb_finish();
	assert_ok_reply(rb_send(S), sizeof(struct fuse_entry_out) + sizeof(struct fuse_open_out));
	assert_int_equal(M.umask, 077);
}

static void test_unlink_rmdir(void **state)
{
	rb_begin(FUSE_UNLINK, 4);
	rb_str("file");
	rb_finish();
	assert_ok_reply(rb_send(S), 0);
	assert_called("unlink");
	assert_int_equal(M.parent, 4);
	assert_string_equal(M.name, "file");

	M.count = 0;
	rb_begin(FUSE_RMDIR, 5);
	rb_str("dir");
	rb_finish();
	assert_ok_reply(rb_send(S), 0);
	assert_called("rmdir");
	assert_int_equal(M.parent, 5);
	assert_string_equal(M.name, "dir");

	MC.ret = -ENOTEMPTY;
	rb_begin(FUSE_RMDIR, 5);
	rb_str("dir");
	rb_finish();
	assert_error_reply(rb_send(S), ENOTEMPTY);
}

static void test_rename(void **state)
{
	struct fuse_rename_in in = { .newdir = 12 };
	rb_begin(FUSE_RENAME, 11);
	rb_add(&in, sizeof(in));
	rb_str("old");
	rb_str("new");
	rb_finish();
	assert_ok_reply(rb_send(S), 0);
	assert_called("rename");
	assert_int_equal(M.parent, 11);
	assert_string_equal(M.name, "old");
	assert_int_equal(M.new_parent, 12);
	assert_string_equal(M.name2, "new");
	assert_int_equal(M.flags, 0);
}

static void test_rename2(void **state)
{
	struct fuse_rename2_in in = { .newdir = 12, .flags = RENAME_EXCHANGE };
	rb_begin(FUSE_RENAME2, 11);
	rb_add(&in, sizeof(in));
	rb_str("a");
	rb_str("b");
	rb_finish();
	assert_ok_reply(rb_send(S), 0);
	assert_called("rename");
	assert_int_equal(M.flags, RENAME_EXCHANGE);
	assert_int_equal(M.new_parent, 12);
	assert_string_equal(M.name, "a");
	assert_string_equal(M.name2, "b");

	M.count = 0;
	in.flags = 1u << 5;
	rb_begin(FUSE_RENAME2, 11);
	rb_add(&in, sizeof(in));
	rb_str("a");
	rb_str("b");
	rb_finish();
	assert_error_reply(rb_send(S), EINVAL);
	assert_int_equal(M.count, 0);
}

static void test_link(void **state)
{
	struct fuse_link_in in = { .oldnodeid = 50 };
	rb_begin(FUSE_LINK, 60);
	rb_add(&in, sizeof(in));
	rb_str("hard");
	rb_finish();
	assert_ok_reply(rb_send(S), sizeof(struct fuse_entry_out));
	assert_called("link");
	assert_int_equal(M.nodeid, 50);
	assert_int_equal(M.new_parent, 60);
	assert_string_equal(M.name2, "hard");
	assert_int_equal(entry_payload()->nodeid, 50);
}

static void test_open(void **state)
{
	struct fuse_open_in in = { .flags = O_RDWR | O_APPEND };
	rb_begin(FUSE_OPEN, 13);
	rb_add(&in, sizeof(in));
	rb_finish();
	assert_ok_reply(rb_send(S), sizeof(struct fuse_open_out));
	assert_called("open");
	assert_int_equal(M.nodeid, 13);
	assert_int_equal(M.flags, O_RDWR | O_APPEND);
	const struct fuse_open_out *out = (const void *)PAYLOAD;
	assert_int_equal(out->fh, 555);
	assert_int_equal(out->open_flags, FOPEN_KEEP_CACHE);
}

static void test_create(void **state)
{
	struct fuse_create_in in = { .flags = O_WRONLY | O_CREAT, .mode = 0100640, .umask = 022 };
	rb_begin(FUSE_CREATE, 14);
	rb_add(&in, sizeof(in));
	rb_str("new.txt");
	rb_finish();
	assert_ok_reply(rb_send(S), sizeof(struct fuse_entry_out) + sizeof(struct fuse_open_out));
	assert_called("create");
	assert_int_equal(M.parent, 14);
	assert_string_equal(M.name, "new.txt");
	assert_int_equal(M.mode, 0100640);
	assert_int_equal(M.flags, O_WRONLY | O_CREAT);
	assert_int_equal(M.umask, 0);
	assert_int_equal(entry_payload()->nodeid, 104);
	const struct fuse_open_out *open = (const void *)(PAYLOAD + sizeof(struct fuse_entry_out));
	assert_int_equal(open->fh, 556);
}

/* FUSE_OPEN_KILL_SUIDGID reaches the file system (7.33+); other bits of
 * open_flags do not, and before 7.33 the field was unused. */
static void test_open_create_kill_suidgid(void **state)
{
	struct fuse_open_in oin = { .flags = O_WRONLY | O_TRUNC,
				    .open_flags = FUSE_OPEN_KILL_SUIDGID | 0x80000000u };
	struct fuse_create_in cin = { .flags = O_WRONLY | O_CREAT | O_TRUNC, .mode = 0100644,
				      .open_flags = FUSE_OPEN_KILL_SUIDGID | 0x40000000u };

	rb_begin(FUSE_OPEN, 13);
	rb_add(&oin, sizeof(oin));
	rb_finish();
	assert_ok_reply(rb_send(S), sizeof(struct fuse_open_out));
	assert_called("open");
	assert_int_equal(M.flags, O_WRONLY | O_TRUNC);
	assert_int_equal(M.open_flags, FUSE_OPEN_KILL_SUIDGID);

	mock_reset();
	rb_begin(FUSE_CREATE, 14);
	rb_add(&cin, sizeof(cin));
	rb_str("k");
	rb_finish();
	assert_ok_reply(rb_send(S), sizeof(struct fuse_entry_out) + sizeof(struct fuse_open_out));
	assert_called("create");
	assert_int_equal(M.open_flags, FUSE_OPEN_KILL_SUIDGID);

	/* a 7.32 guest: the field is not ours to read */
	fuse_server_free(S);
	S = server_with_init(32, 0xffffffffu & ~(uint64_t)FUSE_DONT_MASK);
	mock_reset();
	rb_begin(FUSE_OPEN, 13);
	rb_add(&oin, sizeof(oin));
	rb_finish();
	assert_ok_reply(rb_send(S), sizeof(struct fuse_open_out));
	assert_called("open");
	assert_int_equal(M.open_flags, 0);
	mock_reset();
	rb_begin(FUSE_CREATE, 14);
	rb_add(&cin, sizeof(cin));
	rb_str("k");
	rb_finish();
	assert_ok_reply(rb_send(S), sizeof(struct fuse_entry_out) + sizeof(struct fuse_open_out));
	assert_int_equal(M.open_flags, 0);
}

static void test_tmpfile(void **state)
{
	struct fuse_create_in in = { .flags = O_RDWR, .mode = 0100600 };
	rb_begin(FUSE_TMPFILE, 15);
	rb_add(&in, sizeof(in));
	rb_str("/");
	rb_finish();
	assert_ok_reply(rb_send(S), sizeof(struct fuse_entry_out) + sizeof(struct fuse_open_out));
	assert_called("tmpfile");
	assert_int_equal(M.parent, 15);
	assert_int_equal(M.mode, 0100600);
	assert_int_equal(M.flags, O_RDWR);
	const struct fuse_open_out *open = (const void *)(PAYLOAD + sizeof(struct fuse_entry_out));
	assert_int_equal(open->fh, 557);
}

static void test_read(void **state)
{
	struct fuse_read_in in = { .fh = 3, .offset = 4096, .size = 100 };
	MC.read_seed = 1;
	rb_begin(FUSE_READ, 16);
	rb_add(&in, sizeof(in));
	rb_finish();
	assert_ok_reply(rb_send(S), 100);
	assert_called("read");
	assert_int_equal(M.nodeid, 16);
	assert_int_equal(M.fh, 3);
	assert_int_equal(M.offset, 4096);
	assert_int_equal(M.size, 100);
	assert_int_equal(M.iov_count, 1);
	for (int i = 0; i < 100; i++)
		assert_int_equal(PAYLOAD[i], (uint8_t)(1 + i));
	assert_int_equal(PAYLOAD[100], 0xee);

	/* A short read (end of file). */
	MC.read_len = 10;
	rb_begin(FUSE_READ, 16);
	rb_add(&in, sizeof(in));
	rb_finish();
	assert_ok_reply(rb_send(S), 10);
}

static void test_read_multi_iovec(void **state)
{
	/* Header split across two iovecs, data across four. */
	static uint8_t a[10], b[20], c[3], d[5000];
	struct iovec out[4] = { { a, 10 }, { b, 20 }, { c, 3 }, { d, 5000 } };
	struct fuse_read_in in = { .fh = 3, .size = 1000 };
	MC.read_seed = 0x40;
	rb_begin(FUSE_READ, 16);
	rb_add(&in, sizeof(in));
	rb_finish();
	struct iovec iov = { R.b, R.len };
	size_t n = fuse_server_handle(S, &iov, 1, out, 4);
	assert_int_equal(n, HDR + 1000);
	/* 16 header bytes: all of a, 6 of b. */
	struct fuse_out_header oh;
	memcpy(&oh, a, 10);
	memcpy((char *)&oh + 10, b, 6);
	assert_int_equal(oh.len, HDR + 1000);
	assert_int_equal(oh.error, 0);
	assert_int_equal(oh.unique, R.unique);
	assert_int_equal(M.iov_count, 3);
	assert_int_equal(M.size, 1000);
	/* Data: 14 bytes in b, 3 in c, 983 in d. */
	for (int i = 0; i < 14; i++)
		assert_int_equal(b[6 + i], (uint8_t)(0x40 + i));
	for (int i = 0; i < 3; i++)
		assert_int_equal(c[i], (uint8_t)(0x40 + 14 + i));
	for (int i = 0; i < 983; i++)
		assert_int_equal(d[i], (uint8_t)(0x40 + 17 + i));
	assert_int_equal(d[983], 0);
}

static void test_read_many_pieces(void **state)
{
	/* More out pieces than the server's stack array. */
	static uint8_t bufs[200][8];
	struct iovec out[200];
	for (int i = 0; i < 200; i++)
		out[i] = (struct iovec){ bufs[i], 8 };
	struct fuse_read_in in = { .size = 199 * 8 };
	rb_begin(FUSE_READ, 16);
	rb_add(&in, sizeof(in));
	rb_finish();
	struct iovec iov = { R.b, R.len };
	size_t n = fuse_server_handle(S, &iov, 1, out, 200);
	assert_int_equal(n, HDR + 199 * 8 - 8);  /* header took two pieces */
	assert_int_equal(M.iov_count, 198);
	assert_int_equal(bufs[199][7], (uint8_t)(198 * 8 - 1));
}

static void test_read_size_capped(void **state)
{
	/* An absurd size: capped at the reply space. */
	struct fuse_read_in in = { .size = 0xffffffff };
	rb_begin(FUSE_READ, 16);
	rb_add(&in, sizeof(in));
	rb_finish();
	assert_ok_reply(rb_send_out(S, HDR + 4096), 4096);
	assert_int_equal(M.size, 4096);
	/* And at max_write when the reply space is larger. */
	rb_begin(FUSE_READ, 16);
	rb_add(&in, sizeof(in));
	rb_finish();
	assert_ok_reply(rb_send(S), FUSE_SERVER_MAX_WRITE);
	assert_int_equal(M.size, FUSE_SERVER_MAX_WRITE);
}

static void test_read_fs_overreports(void **state)
{
	struct fuse_read_in in = { .size = 10 };
	MC.read_len = 11;
	rb_begin(FUSE_READ, 16);
	rb_add(&in, sizeof(in));
	rb_finish();
	assert_error_reply(rb_send(S), EIO);
}

static void test_write(void **state)
{
	struct fuse_write_in in = { .fh = 8, .offset = 77, .size = 5,
				    .write_flags = FUSE_WRITE_KILL_SUIDGID };
	rb_begin(FUSE_WRITE, 17);
	rb_add(&in, sizeof(in));
	rb_add("hello", 5);
	rb_finish();
	assert_ok_reply(rb_send(S), sizeof(struct fuse_write_out));
	assert_called("write");
	assert_int_equal(M.nodeid, 17);
	assert_int_equal(M.fh, 8);
	assert_int_equal(M.offset, 77);
	assert_int_equal(M.size, 5);
	assert_int_equal(M.write_flags, FUSE_WRITE_KILL_SUIDGID);
	assert_int_equal(M.data_len, 5);
	assert_memory_equal(M.data, "hello", 5);
	assert_int_equal(((const struct fuse_write_out *)PAYLOAD)->size, 5);
}

static void test_write_multi_iovec(void **state)
{
	/* Request in pieces of 7 bytes: the data slice points into them. */
	static uint8_t data[3000];
	for (int i = 0; i < 3000; i++)
		data[i] = (uint8_t)(i * 7 + 3);
	struct fuse_write_in in = { .fh = 1, .size = 3000 };
	rb_begin(FUSE_WRITE, 17);
	rb_add(&in, sizeof(in));
	rb_add(data, sizeof(data));
	rb_finish();
	static struct iovec pieces[1000];
	unsigned count = 0;
	for (size_t off = 0; off < R.len; off += 7)
		pieces[count++] = (struct iovec){ R.b + off, R.len - off < 7 ? R.len - off : 7 };
	struct iovec out = { OUT, sizeof(OUT) };
	size_t n = fuse_server_handle(S, pieces, count, &out, 1);
	assert_ok_reply(n, sizeof(struct fuse_write_out));
	assert_int_equal(M.data_len, 3000);
	assert_memory_equal(M.data, data, 3000);
	/* 16 + 40 = 56 = 8 * 7: the data starts on a piece boundary. */
	assert_int_equal(M.iov_count, (3000 + 6) / 7);
}

static void test_write_size_mismatch(void **state)
{
	struct fuse_write_in in = { .size = 6 };
	rb_begin(FUSE_WRITE, 17);
	rb_add(&in, sizeof(in));
	rb_add("hello", 5);
	rb_finish();
	assert_error_reply(rb_send(S), EINVAL);
	in.size = 4;
	rb_begin(FUSE_WRITE, 17);
	rb_add(&in, sizeof(in));
	rb_add("hello", 5);
	rb_finish();
	assert_error_reply(rb_send(S), EINVAL);
	in.size = 0xffffffff;
	rb_begin(FUSE_WRITE, 17);
	rb_add(&in, sizeof(in));
	rb_add("hello", 5);
	rb_finish();
	assert_error_reply(rb_send(S), EINVAL);
	assert_int_equal(M.count, 0);
}

static void test_write_larger_than_max_write(void **state)
{
	fuse_server_free(S);
	MC.init_max_write = 8192;
	S = server_with_init(38, 0);
	static uint8_t data[8193];
	struct fuse_write_in in = { .size = sizeof(data) };
	rb_begin(FUSE_WRITE, 17);
	rb_add(&in, sizeof(in));
	rb_add(data, sizeof(data));
	rb_finish();
	assert_error_reply(rb_send(S), EINVAL);
	assert_int_equal(M.count, 0);
}

static void test_statfs(void **state)
{
	rb_begin(FUSE_STATFS, 1);
	rb_finish();
	assert_ok_reply(rb_send(S), sizeof(struct fuse_statfs_out));
	assert_called("statfs");
	const struct fuse_statfs_out *out = (const void *)PAYLOAD;
	assert_int_equal(out->st.blocks, 1000);
	assert_int_equal(out->st.bsize, 4096);
	assert_int_equal(out->st.namelen, 255);
}

static void test_release(void **state)
{
	struct fuse_release_in in = { .fh = 9, .flags = O_RDONLY,
				      .release_flags = FUSE_RELEASE_FLUSH, .lock_owner = 99 };
	rb_begin(FUSE_RELEASE, 18);
	rb_add(&in, sizeof(in));
	rb_finish();
	assert_ok_reply(rb_send(S), 0);
	assert_called("release");
	assert_int_equal(M.nodeid, 18);
	assert_int_equal(M.fh, 9);
	assert_int_equal(M.release_flags, FUSE_RELEASE_FLUSH);
	assert_int_equal(M.lock_owner, 99);
}

static void test_fsync_flush(void **state)
{
	struct fuse_fsync_in in = { .fh = 10, .fsync_flags = FUSE_FSYNC_FDATASYNC };
	rb_begin(FUSE_FSYNC, 19);
	rb_add(&in, sizeof(in));
	rb_finish();
	assert_ok_reply(rb_send(S), 0);
	assert_called("fsync");
	assert_int_equal(M.fh, 10);
	assert_true(M.datasync);

	M.count = 0;
	struct fuse_flush_in fin = { .fh = 11, .lock_owner = 1234 };
	rb_begin(FUSE_FLUSH, 19);
	rb_add(&fin, sizeof(fin));
	rb_finish();
	assert_ok_reply(rb_send(S), 0);
	assert_called("flush");
	assert_int_equal(M.fh, 11);
	assert_int_equal(M.lock_owner, 1234);

	M.count = 0;
	in.fsync_flags = 0;
	rb_begin(FUSE_FSYNCDIR, 20);
	rb_add(&in, sizeof(in));
	rb_finish();
	assert_ok_reply(rb_send(S), 0);
	assert_called("fsyncdir");
	assert_int_equal(M.nodeid, 20);
	assert_false(M.datasync);
}

static void test_setxattr_ext(void **state)
{
	struct fuse_setxattr_in in = { .size = 4, .flags = 1,
				       .setxattr_flags = FUSE_SETXATTR_ACL_KILL_SGID };
	rb_begin(FUSE_SETXATTR, 21);
	rb_add(&in, sizeof(in));
	rb_str("user.x");
	rb_add("v\0al", 4);
	rb_finish();
	assert_ok_reply(rb_send(S), 0);
	assert_called("setxattr");
	assert_int_equal(M.nodeid, 21);
	assert_string_equal(M.name, "user.x");
	assert_int_equal(M.size, 4);
	assert_int_equal(M.flags, 1);
	assert_int_equal(M.setxattr_flags, FUSE_SETXATTR_ACL_KILL_SGID);
	assert_memory_equal(M.data, "v\0al", 4);
}

static void test_setxattr_compat(void **state)
{
	/* Guest without SETXATTR_EXT: 8-byte body. */
	fuse_server_free(S);
	S = server_with_init(38, FUSE_ASYNC_READ);
	struct fuse_setxattr_in in = { .size = 3, .flags = 2 };
	rb_begin(FUSE_SETXATTR, 21);
	rb_add(&in, FUSE_COMPAT_SETXATTR_IN_SIZE);
	rb_str("user.y");
	rb_add("abc", 3);
	rb_finish();
	assert_ok_reply(rb_send(S), 0);
	assert_string_equal(M.name, "user.y");
	assert_int_equal(M.flags, 2);
	assert_int_equal(M.setxattr_flags, 0);
	assert_memory_equal(M.data, "abc", 3);
}

static void test_setxattr_sizes(void **state)
{
	struct fuse_setxattr_in in = { .size = 65537 };
	rb_begin(FUSE_SETXATTR, 21);
	rb_add(&in, sizeof(in));
	rb_str("user.x");
	rb_finish();
	assert_error_reply(rb_send(S), E2BIG);
	in.size = 0xffffffff;
	rb_begin(FUSE_SETXATTR, 21);
	rb_add(&in, sizeof(in));
	rb_str("user.x");
	rb_add("abc", 3);
	rb_finish();
	assert_error_reply(rb_send(S), E2BIG);
	in.size = 4;
	rb_begin(FUSE_SETXATTR, 21);
	rb_add(&in, sizeof(in));
	rb_str("user.x");
	rb_add("abc", 3);
	rb_finish();
	assert_error_reply(rb_send(S), EINVAL);
	assert_int_equal(M.count, 0);
	/* The largest value Linux allows, and an empty one. */
	static uint8_t big[65536];
	memset(big, 'z', sizeof(big));
	in.size = sizeof(big);
	rb_begin(FUSE_SETXATTR, 21);
	rb_add(&in, sizeof(in));
	rb_str("user.x");
	rb_add(big, sizeof(big));
	rb_finish();
	assert_ok_reply(rb_send(S), 0);
	assert_int_equal(M.size, 65536);
	in.size = 0;
	rb_begin(FUSE_SETXATTR, 21);
	rb_add(&in, sizeof(in));
	rb_str("user.x");
	rb_finish();
	assert_ok_reply(rb_send(S), 0);
	assert_int_equal(M.size, 0);
}

static void send_getxattr(uint32_t size, const char *name)
{
	struct fuse_getxattr_in in = { .size = size };
	rb_begin(name ? FUSE_GETXATTR : FUSE_LISTXATTR, 22);
	rb_add(&in, sizeof(in));
	if (name)
		rb_str(name);
	rb_finish();
}

static void test_getxattr(void **state)
{
	MC.xattr_len = 300;
	send_getxattr(0, "user.big");
	assert_ok_reply(rb_send(S), sizeof(struct fuse_getxattr_out));
	assert_called("getxattr");
	assert_string_equal(M.name, "user.big");
	assert_int_equal(M.size, 0);
	assert_int_equal(((const struct fuse_getxattr_out *)PAYLOAD)->size, 300);

	send_getxattr(300, "user.big");
	assert_ok_reply(rb_send(S), 300);
	assert_int_equal(PAYLOAD[0], 'v');
	assert_int_equal(PAYLOAD[299], 'v');

	send_getxattr(100, "user.big");
	assert_error_reply(rb_send(S), ERANGE);

	/* An absurd size: the buffer is capped at 64 KiB. */
	send_getxattr(0xffffffff, "user.big");
	assert_ok_reply(rb_send(S), 300);
	assert_int_equal(M.size, 65536);

	/* Value larger than any buffer Linux allows. */
	MC.xattr_len = 70000;
	send_getxattr(0xffffffff, "user.big");
	assert_error_reply(rb_send(S), E2BIG);

	MC.ret = -ENODATA;
	send_getxattr(10, "user.none");
	assert_error_reply(rb_send(S), ENODATA);
}

static void test_getxattr_reply_space(void **state)
{
	MC.xattr_len = 300;
	send_getxattr(300, "user.big");
	assert_error_reply(rb_send_out(S, HDR + 299), EINVAL);
	send_getxattr(0, "user.big");
	assert_error_reply(rb_send_out(S, HDR + 4), EINVAL);
}

static void test_listxattr(void **state)
{
	MC.xattr_len = 20;
	send_getxattr(0, NULL);
	assert_ok_reply(rb_send(S), sizeof(struct fuse_getxattr_out));
	assert_called("listxattr");
	assert_int_equal(M.nodeid, 22);
	assert_int_equal(((const struct fuse_getxattr_out *)PAYLOAD)->size, 20);
	send_getxattr(4096, NULL);
	assert_ok_reply(rb_send(S), 20);
	assert_int_equal(M.size, 4096);
	assert_int_equal(PAYLOAD[19], 'l');
	send_getxattr(10, NULL);
	assert_error_reply(rb_send(S), ERANGE);
	send_getxattr(0x7fffffff, NULL);
	assert_ok_reply(rb_send(S), 20);
	assert_int_equal(M.size, 65536);
}

static void test_removexattr(void **state)
{
	rb_begin(FUSE_REMOVEXATTR, 23);
	rb_str("trusted.t");
	rb_finish();
	assert_ok_reply(rb_send(S), 0);
	assert_called("removexattr");
	assert_int_equal(M.nodeid, 23);
	assert_string_equal(M.name, "trusted.t");
}

static void test_xattr_names(void **state)
{
	char name[300];
	memset(name, 'n', 255);
	name[255] = '\0';
	rb_begin(FUSE_REMOVEXATTR, 23);
	rb_str(name);
	rb_finish();
	assert_ok_reply(rb_send(S), 0);
	M.count = 0;
	memset(name, 'n', 256);
	name[256] = '\0';
	rb_begin(FUSE_REMOVEXATTR, 23);
	rb_str(name);
	rb_finish();
	assert_error_reply(rb_send(S), ERANGE);
	rb_begin(FUSE_REMOVEXATTR, 23);
	rb_str("");
	rb_finish();
	assert_error_reply(rb_send(S), ERANGE);
	rb_begin(FUSE_REMOVEXATTR, 23);
	rb_add("user.x", 6);
	rb_finish();
	assert_error_reply(rb_send(S), EINVAL);
	send_getxattr(10, "");
	assert_error_reply(rb_send(S), ERANGE);
	assert_int_equal(M.count, 0);
}

static void test_opendir_releasedir(void **state)
{
	struct fuse_open_in in = { .flags = O_RDONLY | O_DIRECTORY };
	rb_begin(FUSE_OPENDIR, 24);
	rb_add(&in, sizeof(in));
	rb_finish();
	assert_ok_reply(rb_send(S), sizeof(struct fuse_open_out));
	assert_called("opendir");
	assert_int_equal(M.flags, O_RDONLY | O_DIRECTORY);
	assert_int_equal(((const struct fuse_open_out *)PAYLOAD)->fh, 777);

	M.count = 0;
	struct fuse_release_in rin = { .fh = 777 };
	rb_begin(FUSE_RELEASEDIR, 24);
	rb_add(&rin, sizeof(rin));
	rb_finish();
	assert_ok_reply(rb_send(S), 0);
	assert_called("releasedir");
	assert_int_equal(M.nodeid, 24);
	assert_int_equal(M.fh, 777);
}

static size_t dirent_size(size_t namelen, bool plus)
{
	size_t head = plus ? FUSE_NAME_OFFSET_DIRENTPLUS : FUSE_NAME_OFFSET;
	return FUSE_DIRENT_ALIGN(head + namelen);
}

static void send_readdir(uint32_t opcode, uint32_t size, uint64_t offset)
{
	struct fuse_read_in in = { .fh = 777, .offset = offset, .size = size };
	rb_begin(opcode, 25);
	rb_add(&in, sizeof(in));
	rb_finish();
}

static void test_readdir(void **state)
{
	MC.dir_entries = 3;
	send_readdir(FUSE_READDIR, 4096, 10);
	size_t n = rb_send(S);
	/* "entry0".."entry2": 24 + 6 = 30 -> 32 bytes each. */
	assert_ok_reply(n, 3 * 32);
	assert_called("readdir");
	assert_int_equal(M.nodeid, 25);
	assert_int_equal(M.fh, 777);
	assert_int_equal(M.offset, 10);
	assert_false(M.plus);
	const uint8_t *p = PAYLOAD;
	for (int i = 0; i < 3; i++, p += 32) {
		struct fuse_dirent d;
		memcpy(&d, p, FUSE_NAME_OFFSET);
		assert_int_equal(d.ino, 200 + i);
		assert_int_equal(d.off, 11 + i);
		assert_int_equal(d.namelen, 6);
		assert_int_equal(d.type, 8);
		char want[8];
		snprintf(want, sizeof(want), "entry%d", i);
		assert_memory_equal(p + FUSE_NAME_OFFSET, want, 6);
		/* Padding is zeroed, not left over. */
		assert_int_equal(p[30], 0);
		assert_int_equal(p[31], 0);
	}
	assert_int_equal(M.filler_results[0], 0);
	assert_int_equal(M.filler_results[2], 0);
}

static void test_readdir_full(void **state)
{
	/* Room for two entries and a bit: the third does not fit. */
	MC.dir_entries = 5;
	send_readdir(FUSE_READDIR, 2 * 32 + 31, 0);
	size_t n = rb_send(S);
	assert_ok_reply(n, 2 * 32);
	assert_int_equal(M.filler_results[0], 0);
	assert_int_equal(M.filler_results[1], 0);
	assert_int_equal(M.filler_results[2], 1);
	/* The reply space bounds it as well as the asked size. */
	send_readdir(FUSE_READDIR, 4096, 0);
	n = rb_send_out(S, HDR + 40);
	assert_ok_reply(n, 32);
	assert_int_equal(M.filler_results[1], 1);
	/* Nothing fits: an empty reply (end of directory for the guest). */
	send_readdir(FUSE_READDIR, 8, 0);
	assert_ok_reply(rb_send(S), 0);
	assert_int_equal(M.filler_results[0], 1);
}

static void test_readdir_absurd_size(void **state)
{
	MC.dir_entries = 2;
	send_readdir(FUSE_READDIR, 0xffffffff, 0);
	assert_ok_reply(rb_send_out(S, HDR + 4096), 64);
}

static void test_readdir_error(void **state)
{
	MC.ret = -EBADF;
	send_readdir(FUSE_READDIR, 4096, 0);
	assert_error_reply(rb_send(S), EBADF);
	/* An error after entries were added: the entries are answered. */
	MC.ret = 0;
	MC.dir_entries = 5;
	MC.dir_fail_after = 2;
	send_readdir(FUSE_READDIR, 4096, 0);
	assert_ok_reply(rb_send(S), 2 * 32);
}

static void test_readdirplus(void **state)
{
	MC.dir_entries = 2;
	send_readdir(FUSE_READDIRPLUS, 4096, 0);
	size_t rec = dirent_size(6, true);
	assert_int_equal(rec, 128 + 24 + 8);
	assert_ok_reply(rb_send(S), 2 * rec);
	assert_true(M.plus);
	const uint8_t *p = PAYLOAD + rec;
	struct fuse_entry_out e;
	struct fuse_dirent d;
	memcpy(&e, p, sizeof(e));
	memcpy(&d, p + sizeof(e), FUSE_NAME_OFFSET);
	assert_int_equal(e.nodeid, 201);
	assert_int_equal(e.generation, 7);
	assert_int_equal(d.ino, 201);
	assert_int_equal(d.namelen, 6);
	assert_memory_equal(p + FUSE_NAME_OFFSET_DIRENTPLUS, "entry1", 6);
	assert_int_equal(p[rec - 1], 0);

	/* Full: one and a half records. */
	send_readdir(FUSE_READDIRPLUS, (uint32_t)(rec + rec / 2), 0);
	assert_ok_reply(rb_send(S), rec);
	assert_int_equal(M.filler_results[1], 1);
}

static int bad_filler_results[4];

static int bad_readdir(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		       uint64_t offset, bool plus, struct fs_dir_filler *filler)
{
	static char long_name[NAME_MAX + 2];
	memset(long_name, 'n', NAME_MAX + 1);
	bad_filler_results[0] = fs_dir_filler_add(filler, "a/b", 3, 1, 8, 1, NULL);
	bad_filler_results[1] = fs_dir_filler_add(filler, "", 0, 1, 8, 1, NULL);
	bad_filler_results[2] = fs_dir_filler_add(filler, long_name, NAME_MAX + 1, 1, 8, 1, NULL);
	/* READDIRPLUS needs the entry. */
	bad_filler_results[3] = fs_dir_filler_add(filler, "ok", 2, 1, 8, 1, NULL);
	return 0;
}

static void test_readdir_filler_refuses_bad_entries(void **state)
{
	struct fs_ops ops = mock_ops;
	ops.readdir = bad_readdir;
	struct fuse_server_config config = { .ops = &ops };
	struct fuse_server *s = fuse_server_new(&config);
	struct fuse_init_in init = { .major = 7, .minor = 38 };
	rb_begin(FUSE_INIT, 0);
	rb_add(&init, sizeof(init));
	rb_finish();
	assert_ok_reply(rb_send(s), sizeof(struct fuse_init_out));
	send_readdir(FUSE_READDIRPLUS, 4096, 0);
	assert_ok_reply(rb_send(s), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(bad_filler_results[i], -EINVAL);
	fuse_server_free(s);
}

static void test_readlink_full_buffer(void **state)
{
	/* A target filling the whole PATH_MAX buffer may have been cut. */
	static char target[PATH_MAX + 1];
	memset(target, 't', PATH_MAX);
	MC.link_target = target;
	rb_begin(FUSE_READLINK, 8);
	rb_finish();
	assert_error_reply(rb_send(S), ENAMETOOLONG);
}

static void test_getlk(void **state)
{
	struct fuse_lk_in in = { .fh = 5, .owner = 0xabc,
				 .lk = { .start = 10, .end = 20, .type = F_WRLCK, .pid = 7 } };
	rb_begin(FUSE_GETLK, 26);
	rb_add(&in, sizeof(in));
	rb_finish();
	assert_ok_reply(rb_send(S), sizeof(struct fuse_lk_out));
	assert_called("getlk");
	assert_int_equal(M.fh, 5);
	assert_int_equal(M.owner, 0xabc);
	assert_int_equal(M.lock.start, 10);
	assert_int_equal(M.lock.end, 20);
	assert_int_equal(M.lock.type, F_WRLCK);
	const struct fuse_lk_out *out = (const void *)PAYLOAD;
	assert_int_equal(out->lk.type, F_UNLCK);
	assert_int_equal(out->lk.start, 10);
}

static void test_setlk(void **state)
{
	struct fuse_lk_in in = { .fh = 5, .owner = 1, .lk = { .type = F_RDLCK } };
	rb_begin(FUSE_SETLK, 26);
	rb_add(&in, sizeof(in));
	rb_finish();
	assert_ok_reply(rb_send(S), 0);
	assert_called("setlk");
	assert_false(M.sleep);
	assert_false(M.is_flock);
	assert_int_equal(M.lock.type, F_RDLCK);

	in.lk_flags = FUSE_LK_FLOCK;
	rb_begin(FUSE_SETLKW, 26);
	rb_add(&in, sizeof(in));
	rb_finish();
	assert_ok_reply(rb_send(S), 0);
	assert_true(M.sleep);
	assert_true(M.is_flock);

	MC.ret = -EAGAIN;
	rb_begin(FUSE_SETLK, 26);
	rb_add(&in, sizeof(in));
	rb_finish();
	assert_error_reply(rb_send(S), EAGAIN);
}

static void test_access(void **state)
{
	struct fuse_access_in in = { .mask = 6 };
	rb_begin(FUSE_ACCESS, 27);
	rb_add(&in, sizeof(in));
	rb_finish();
	assert_ok_reply(rb_send(S), 0);
	assert_called("access");
	assert_int_equal(M.nodeid, 27);
	assert_int_equal(M.mask, 6);
}

static void test_interrupt(void **state)
{
	struct fuse_interrupt_in in = { .unique = 1234 };
	rb_begin(FUSE_INTERRUPT, 0);
	rb_add(&in, sizeof(in));
	rb_finish();
	assert_int_equal(rb_send(S), 0);
	assert_called("interrupt");
	assert_int_equal(M.unique, 1234);
}

static void test_interrupt_without_op(void **state)
{
	struct fs_ops ops = mock_ops;
	ops.interrupt = NULL;
	struct fuse_server_config config = { .ops = &ops };
	struct fuse_server *s = fuse_server_new(&config);
	struct fuse_init_in init = { .major = 7, .minor = 38 };
	rb_begin(FUSE_INIT, 0);
	rb_add(&init, sizeof(init));
	rb_finish();
	assert_ok_reply(rb_send(s), sizeof(struct fuse_init_out));
	M.count = 0;
	struct fuse_interrupt_in in = { .unique = 1 };
	rb_begin(FUSE_INTERRUPT, 0);
	rb_add(&in, sizeof(in));
	rb_finish();
	assert_int_equal(rb_send(s), 0);
	assert_int_equal(M.count, 0);
	fuse_server_free(s);
}

static void test_fallocate(void **state)
{
	struct fuse_fallocate_in in = { .fh = 2, .offset = 100, .length = 200, .mode = 3 };
	rb_begin(FUSE_FALLOCATE, 28);
	rb_add(&in, sizeof(in));
	rb_finish();
	assert_ok_reply(rb_send(S), 0);
	assert_called("fallocate");
	assert_int_equal(M.fh, 2);
	assert_int_equal(M.offset, 100);
	assert_int_equal(M.length, 200);
	assert_int_equal(M.mode, 3);
}

static void test_lseek(void **state)
{
	struct fuse_lseek_in in = { .fh = 2, .offset = 100, .whence = SEEK_DATA };
	rb_begin(FUSE_LSEEK, 29);
	rb_add(&in, sizeof(in));
	rb_finish();
	assert_ok_reply(rb_send(S), sizeof(struct fuse_lseek_out));
	assert_called("lseek");
	assert_int_equal(M.whence, SEEK_DATA);
	assert_int_equal(((const struct fuse_lseek_out *)PAYLOAD)->offset, 4196);
}

static void test_copy_file_range(void **state)
{
	struct fuse_copy_file_range_in in = { .fh_in = 1, .off_in = 2, .nodeid_out = 3,
					      .fh_out = 4, .off_out = 5, .len = 1000, .flags = 0 };
	rb_begin(FUSE_COPY_FILE_RANGE, 30);
	rb_add(&in, sizeof(in));
	rb_finish();
	assert_ok_reply(rb_send(S), sizeof(struct fuse_write_out));
	assert_called("copy_file_range");
	assert_int_equal(M.nodeid, 30);
	assert_int_equal(M.fh, 1);
	assert_int_equal(M.offset, 2);
	assert_int_equal(M.nodeid_out, 3);
	assert_int_equal(M.fh_out, 4);
	assert_int_equal(M.off_out, 5);
	assert_int_equal(M.length, 1000);
	assert_int_equal(((const struct fuse_write_out *)PAYLOAD)->size, 500);
}

static void test_syncfs(void **state)
{
	struct fuse_syncfs_in in = { 0 };
	rb_begin(FUSE_SYNCFS, 1);
	rb_add(&in, sizeof(in));
	rb_finish();
	assert_ok_reply(rb_send(S), 0);
	assert_called("syncfs");
	assert_int_equal(M.nodeid, 1);
}

static void test_unknown_opcode(void **state)
{
	static const uint32_t codes[] = { FUSE_BMAP, FUSE_IOCTL, FUSE_POLL, FUSE_SETUPMAPPING,
					  FUSE_REMOVEMAPPING, 7, 19, 53, 4096, 0xffffffff };
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		rb_begin(codes[i], 1);
		rb_add("\0\0\0\0\0\0\0\0", 8);
		rb_finish();
		assert_error_reply(rb_send(S), ENOSYS);
	}
	assert_int_equal(M.count, 0);
}

static void test_null_op_enosys(void **state)
{
	struct fs_ops ops = { 0 };
	struct fuse_server_config config = { .ops = &ops };
	struct fuse_server *s = fuse_server_new(&config);
	struct fuse_init_in init = { .major = 7, .minor = 38 };
	rb_begin(FUSE_INIT, 0);
	rb_add(&init, sizeof(init));
	rb_finish();
	assert_ok_reply(rb_send(s), sizeof(struct fuse_init_out));
	rb_begin(FUSE_LOOKUP, 1);
	rb_str("x");
	rb_finish();
	assert_error_reply(rb_send(s), ENOSYS);
	struct fuse_read_in rin = { .size = 10 };
	rb_begin(FUSE_READ, 1);
	rb_add(&rin, sizeof(rin));
	rb_finish();
	assert_error_reply(rb_send(s), ENOSYS);
	rb_begin(FUSE_STATFS, 1);
	rb_finish();
	assert_error_reply(rb_send(s), ENOSYS);
	/* DESTROY without a destroy op still succeeds. */
	rb_begin(FUSE_DESTROY, 0);
	rb_finish();
	assert_ok_reply(rb_send(s), 0);
	fuse_server_free(s);
}

static void test_old_minor_compat(void **state)
{
	/* 7.8: compat entry/attr outs, GETATTR without body, 24-byte
	 * read/write ins, 8-byte mknod/create ins, 16-byte release. */
	fuse_server_free(S);
	S = server_with_init(8, 0);
	rb_begin(FUSE_LOOKUP, 1);
	rb_str("x");
	rb_finish();
	assert_ok_reply(rb_send(S), FUSE_COMPAT_ENTRY_OUT_SIZE);

	rb_begin(FUSE_GETATTR, 5);
	rb_finish();
	assert_ok_reply(rb_send(S), FUSE_COMPAT_ATTR_OUT_SIZE);
	assert_int_equal(M.nodeid, 5);
	assert_false(M.has_fh);

	struct fuse_read_in rin = { .fh = 3, .offset = 8, .size = 16 };
	rb_begin(FUSE_READ, 6);
	rb_add(&rin, 24);
	rb_finish();
	assert_ok_reply(rb_send(S), 16);
	assert_int_equal(M.fh, 3);
	assert_int_equal(M.offset, 8);

	struct fuse_write_in win = { .fh = 4, .offset = 9, .size = 3 };
	rb_begin(FUSE_WRITE, 6);
	rb_add(&win, FUSE_COMPAT_WRITE_IN_SIZE);
	rb_add("xyz", 3);
	rb_finish();
	assert_ok_reply(rb_send(S), sizeof(struct fuse_write_out));
	assert_int_equal(M.fh, 4);
	assert_memory_equal(M.data, "xyz", 3);

	struct fuse_mknod_in min = { .mode = 010600, .rdev = 5 };
	rb_begin(FUSE_MKNOD, 1);
	rb_add(&min, FUSE_COMPAT_MKNOD_IN_SIZE);
	rb_str("fifo");
	rb_finish();
	assert_ok_reply(rb_send(S), FUSE_COMPAT_ENTRY_OUT_SIZE);
	assert_string_equal(M.name, "fifo");
	assert_int_equal(M.rdev, 5);

	struct fuse_create_in cin = { .flags = O_RDWR, .mode = 0100600 };
	rb_begin(FUSE_CREATE, 1);
	rb_add(&cin, 8);
	rb_str("c");
	rb_finish();
	assert_ok_reply(rb_send(S), FUSE_COMPAT_ENTRY_OUT_SIZE + sizeof(struct fuse_open_out));
	assert_string_equal(M.name, "c");
	assert_int_equal(M.mode, 0100600);

	/* 7.8 has lock_owner in release. */
	struct fuse_release_in relin = { .fh = 12, .flags = 1, .lock_owner = 3 };
	rb_begin(FUSE_RELEASE, 1);
	rb_add(&relin, sizeof(relin));
	rb_finish();
	assert_ok_reply(rb_send(S), 0);
	assert_int_equal(M.lock_owner, 3);

	struct fuse_lk_in lin = { .fh = 2, .lk = { .type = F_WRLCK } };
	rb_begin(FUSE_SETLK, 1);
	rb_add(&lin, 40);
	rb_finish();
	assert_ok_reply(rb_send(S), 0);
	assert_false(M.is_flock);
}

static void test_minor_7_release_flush(void **state)
{
	/* Before 7.8: 16-byte release and flush bodies, no lock_owner. */
	fuse_server_free(S);
	S = server_with_init(7, 0);
	struct fuse_release_in relin = { .fh = 12, .flags = 1 };
	rb_begin(FUSE_RELEASE, 1);
	rb_add(&relin, 16);
	rb_finish();
	assert_ok_reply(rb_send(S), 0);
	assert_int_equal(M.fh, 12);
	assert_int_equal(M.flags, 1);
	assert_int_equal(M.lock_owner, 0);
	rb_begin(FUSE_RELEASEDIR, 1);
	rb_add(&relin, 16);
	rb_finish();
	assert_ok_reply(rb_send(S), 0);
	assert_string_equal(M.op, "releasedir");
	struct fuse_flush_in fin = { .fh = 13 };
	rb_begin(FUSE_FLUSH, 1);
	rb_add(&fin, 16);
	rb_finish();
	assert_ok_reply(rb_send(S), 0);
	assert_int_equal(M.fh, 13);
	assert_int_equal(M.lock_owner, 0);
}

static void test_old_minor_statfs(void **state)
{
	fuse_server_free(S);
	S = server_with_init(3, 0);
	rb_begin(FUSE_STATFS, 1);
	rb_finish();
	assert_ok_reply(rb_send(S), FUSE_COMPAT_STATFS_SIZE);
}

static void test_fs_bad_errno(void **state)
{
	/* A file system returning a non-errno: EIO, never a junk error. */
	MC.ret = -100000;
	rb_begin(FUSE_UNLINK, 1);
	rb_str("x");
	rb_finish();
	assert_error_reply(rb_send(S), EIO);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_lookup), T(test_lookup_dot_allowed), T(test_lookup_error),
		T(test_forget), T(test_batch_forget), T(test_batch_forget_count_too_big),
		T(test_getattr), T(test_statx), T(test_setattr), T(test_readlink), T(test_symlink),
		T(test_symlink_target_limits), T(test_mknod), T(test_mkdir),
		T(test_umask_with_dont_mask), T(test_unlink_rmdir), T(test_rename),
		T(test_rename2), T(test_link), T(test_open), T(test_create),
		T(test_open_create_kill_suidgid), T(test_tmpfile),
		T(test_read), T(test_read_multi_iovec), T(test_read_many_pieces),
		T(test_read_size_capped), T(test_read_fs_overreports), T(test_write),
		T(test_write_multi_iovec), T(test_write_size_mismatch),
		T(test_write_larger_than_max_write), T(test_statfs), T(test_release),
		T(test_fsync_flush), T(test_setxattr_ext), T(test_setxattr_compat),
		T(test_setxattr_sizes), T(test_getxattr), T(test_getxattr_reply_space),
		T(test_listxattr), T(test_removexattr), T(test_xattr_names),
		T(test_opendir_releasedir), T(test_readdir), T(test_readdir_full),
		T(test_readdir_absurd_size), T(test_readdir_error), T(test_readdirplus), T(test_readdir_filler_refuses_bad_entries),
		T(test_readlink_full_buffer),
		T(test_getlk), T(test_setlk), T(test_access), T(test_interrupt),
		T(test_interrupt_without_op), T(test_fallocate), T(test_lseek),
		T(test_copy_file_range), T(test_syncfs), T(test_unknown_opcode),
		T(test_null_op_enosys), T(test_old_minor_compat), T(test_minor_7_release_flush), T(test_old_minor_statfs),
		T(test_fs_bad_errno),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
