/* test_fuse_hostile.c: requests from a guest that lies. For EVERY opcode:
 * bodies cut short (every strict prefix of a valid body), header.len
 * larger and smaller than the bytes that arrived; bad names for every op
 * that takes one; reply space too small; broken headers. Each must get
 * EINVAL (or ENAMETOOLONG where Linux says so) and never reach the file
 * system. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>

#include "fuse_test_util.h"
#include "util/log.h"

static struct fuse_server *S;

#define HDR sizeof(struct fuse_out_header)

static int setup(void **state)
{
	mock_reset();
	S = server_with_init(38, 0xffffffffu);
	return 0;
}

static int teardown(void **state)
{
	fuse_server_free(S);
	S = NULL;
	return 0;
}

/* ---- one valid body per opcode ---- */

static void b_none(void) {}
static void b_name(void) { rb_str("name"); }
static void b_forget(void)
{
	struct fuse_forget_in in = { 1 };
	rb_add(&in, sizeof(in));
}
static void b_batch_forget(void)
{
	struct fuse_batch_forget_in in = { .count = 2 };
	struct fuse_forget_one one[2] = { { 5, 1 }, { 6, 1 } };
	rb_add(&in, sizeof(in));
	rb_add(one, sizeof(one));
}
static void b_getattr(void)
{
	struct fuse_getattr_in in = { 0 };
	rb_add(&in, sizeof(in));
}
static void b_setattr(void)
{
	struct fuse_setattr_in in = { .valid = FATTR_MODE, .mode = 0644 };
	rb_add(&in, sizeof(in));
}
static void b_symlink(void)
{
	rb_str("name");
	rb_str("target");
}
static void b_mknod(void)
{
	struct fuse_mknod_in in = { .mode = 010644 };
	rb_add(&in, sizeof(in));
	rb_str("name");
}
static void b_mkdir(void)
{
	struct fuse_mkdir_in in = { .mode = 0755 };
	rb_add(&in, sizeof(in));
	rb_str("name");
}
static void b_rename(void)
{
	struct fuse_rename_in in = { 2 };
	rb_add(&in, sizeof(in));
	rb_str("old");
	rb_str("new");
}
static void b_rename2(void)
{
	struct fuse_rename2_in in = { .newdir = 2, .flags = RENAME_NOREPLACE };
	rb_add(&in, sizeof(in));
	rb_str("old");
	rb_str("new");
}
static void b_link(void)
{
	struct fuse_link_in in = { 3 };
	rb_add(&in, sizeof(in));
	rb_str("name");
}
static void b_open(void)
{
	struct fuse_open_in in = { .flags = O_RDONLY };
	rb_add(&in, sizeof(in));
}
static void b_create(void)
{
	struct fuse_create_in in = { .flags = O_RDWR, .mode = 0100644 };
	rb_add(&in, sizeof(in));
	rb_str("name");
}
static void b_read(void)
{
	struct fuse_read_in in = { .size = 100 };
	rb_add(&in, sizeof(in));
}
static void b_write(void)
{
	struct fuse_write_in in = { .size = 4 };
	rb_add(&in, sizeof(in));
	rb_add("data", 4);
}
static void b_release(void)
{
	struct fuse_release_in in = { .fh = 1 };
	rb_add(&in, sizeof(in));
}
static void b_fsync(void)
{
	struct fuse_fsync_in in = { .fh = 1 };
	rb_add(&in, sizeof(in));
}
static void b_setxattr(void)
{
	struct fuse_setxattr_in in = { .size = 3 };
	rb_add(&in, sizeof(in));
	rb_str("user.a");
	rb_add("val", 3);
}
static void b_getxattr(void)
{
	struct fuse_getxattr_in in = { .size = 100 };
	rb_add(&in, sizeof(in));
	rb_str("user.a");
}
static void b_listxattr(void)
{
	struct fuse_getxattr_in in = { .size = 100 };
	rb_add(&in, sizeof(in));
}
static void b_xattr_name(void) { rb_str("user.a"); }
static void b_flush(void)
{
	struct fuse_flush_in in = { .fh = 1 };
	rb_add(&in, sizeof(in));
}
static void b_init(void)
{
	/* A pre-7.36 INIT: exactly 16 bytes are needed. On a running
	 * session it is refused (EPROTO) only after being decoded. */
	struct fuse_init_in in = { .major = 7, .minor = 31 };
	rb_add(&in, 16);
}
static void b_lk(void)
{
	struct fuse_lk_in in = { .fh = 1, .lk = { .type = F_RDLCK } };
	rb_add(&in, sizeof(in));
}
static void b_access(void)
{
	struct fuse_access_in in = { .mask = 4 };
	rb_add(&in, sizeof(in));
}
static void b_interrupt(void)
{
	struct fuse_interrupt_in in = { 5 };
	rb_add(&in, sizeof(in));
}
static void b_fallocate(void)
{
	struct fuse_fallocate_in in = { .length = 10 };
	rb_add(&in, sizeof(in));
}
static void b_lseek(void)
{
	struct fuse_lseek_in in = { .whence = SEEK_SET };
	rb_add(&in, sizeof(in));
}
static void b_copy_file_range(void)
{
	struct fuse_copy_file_range_in in = { .len = 10 };
	rb_add(&in, sizeof(in));
}
static void b_syncfs(void)
{
	struct fuse_syncfs_in in = { 0 };
	rb_add(&in, sizeof(in));
}
static void b_tmpfile(void)
{
	struct fuse_create_in in = { .flags = O_RDWR, .mode = 0100600 };
	rb_add(&in, sizeof(in));
	rb_str("/");
}

struct op_case {
	uint32_t opcode;
	void (*body)(void);
	/* Prefixes shorter than this are invalid (0: the whole body). */
	size_t valid_from;
	bool no_reply;
	int ok_error;   /* what the valid request gets (0, or EPROTO for INIT) */
};

static const struct op_case cases[] = {
	{ FUSE_LOOKUP, b_name },
	{ FUSE_FORGET, b_forget, 0, true },
	{ FUSE_GETATTR, b_getattr },
	{ FUSE_SETATTR, b_setattr },
	{ FUSE_READLINK, b_none },
	{ FUSE_SYMLINK, b_symlink },
	{ FUSE_MKNOD, b_mknod },
	{ FUSE_MKDIR, b_mkdir },
	{ FUSE_UNLINK, b_name },
	{ FUSE_RMDIR, b_name },
	{ FUSE_RENAME, b_rename },
	{ FUSE_LINK, b_link },
	{ FUSE_OPEN, b_open },
	{ FUSE_READ, b_read },
	{ FUSE_WRITE, b_write },
	{ FUSE_STATFS, b_none },
	{ FUSE_RELEASE, b_release },
	{ FUSE_FSYNC, b_fsync },
	{ FUSE_SETXATTR, b_setxattr },
	{ FUSE_GETXATTR, b_getxattr },
	{ FUSE_LISTXATTR, b_listxattr },
	{ FUSE_REMOVEXATTR, b_xattr_name },
	{ FUSE_FLUSH, b_flush },
	{ FUSE_INIT, b_init, 0, false, EPROTO },
	{ FUSE_OPENDIR, b_open },
	{ FUSE_READDIR, b_read },
	{ FUSE_RELEASEDIR, b_release },
	{ FUSE_FSYNCDIR, b_fsync },
	{ FUSE_GETLK, b_lk },
	{ FUSE_SETLK, b_lk },
	{ FUSE_SETLKW, b_lk },
	{ FUSE_ACCESS, b_access },
	{ FUSE_CREATE, b_create },
	{ FUSE_INTERRUPT, b_interrupt, 0, true },
	{ FUSE_BATCH_FORGET, b_batch_forget, 0, true },
	{ FUSE_FALLOCATE, b_fallocate },
	{ FUSE_READDIRPLUS, b_read },
	{ FUSE_RENAME2, b_rename2 },
	{ FUSE_LSEEK, b_lseek },
	{ FUSE_COPY_FILE_RANGE, b_copy_file_range },
	{ FUSE_SYNCFS, b_syncfs },
	/* The trailing "/" is not read. */
	{ FUSE_TMPFILE, b_tmpfile, sizeof(struct fuse_create_in) },
	/* Last: it ends the session. */
	{ FUSE_DESTROY, b_none },
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))

/* Defined below: names for failure messages. */
static const char *fuse_opcode_name_for_test(uint32_t opcode);

static void build(const struct op_case *c)
{
	rb_begin(c->opcode, 1);
	c->body();
	rb_finish();
}

static void expect_rejected(const struct op_case *c, size_t n, int err)
{
	if (c->no_reply)
		assert_int_equal(n, 0);
	else
		assert_error_reply(n, err);
	if (M.count != 0)
		fail_msg("%s reached the file system (%s)", fuse_opcode_name_for_test(c->opcode),
			 M.op);
}

static void test_valid_bodies_accepted(void **state)
{
	/* The baseline: each valid request reaches the file system. */
	for (size_t i = 0; i < NCASES; i++) {
		const struct op_case *c = &cases[i];
		M.count = 0;
		build(c);
		size_t n = rb_send(S);
		if (c->ok_error) {
			assert_error_reply(n, c->ok_error);
			continue;
		}
		if (!c->no_reply) {
			if (OH->error != 0)
				fail_msg("%s: error %d", fuse_opcode_name_for_test(c->opcode),
					 OH->error);
			assert_int_equal(OH->len, n);
		} else {
			assert_int_equal(n, 0);
		}
		if (M.count == 0)
			fail_msg("%s: no fs call", fuse_opcode_name_for_test(c->opcode));
	}
}

static void test_truncated_bodies(void **state)
{
	/* Every strict prefix of every valid body, with a header.len that
	 * agrees with it. */
	for (size_t i = 0; i < NCASES; i++) {
		const struct op_case *c = &cases[i];
		build(c);
		size_t body = R.len - sizeof(struct fuse_in_header);
		size_t limit = c->valid_from ? c->valid_from : body;
		for (size_t cut = 0; cut < limit; cut++) {
			M.count = 0;
			build(c);
			R.len = sizeof(struct fuse_in_header) + cut;
			rb_finish();
			expect_rejected(c, rb_send(S), EINVAL);
		}
	}
}

static void test_len_larger_than_bytes(void **state)
{
	for (size_t i = 0; i < NCASES; i++) {
		const struct op_case *c = &cases[i];
		static const uint32_t extra[] = { 1, 8, 0x10000, 0x7fffffff };
		for (size_t k = 0; k < 4; k++) {
			M.count = 0;
			build(c);
			rb_set_len((uint32_t)R.len + extra[k]);
			expect_rejected(c, rb_send(S), EINVAL);
		}
	}
}

static void test_len_smaller_than_bytes(void **state)
{
	for (size_t i = 0; i < NCASES; i++) {
		const struct op_case *c = &cases[i];
		static const uint32_t less[] = { 1, 8, 40 };
		for (size_t k = 0; k < 3; k++) {
			M.count = 0;
			build(c);
			rb_set_len((uint32_t)R.len - less[k]);
			expect_rejected(c, rb_send(S), EINVAL);
		}
		M.count = 0;
		build(c);
		rb_set_len(0);
		expect_rejected(c, rb_send(S), EINVAL);
	}
}

static void test_extensions_refused(void **state)
{
	/* total_extlen without FUSE_SECURITY_CTX or FUSE_CREATE_SUPP_GROUP
	 * negotiated. */
	rb_begin(FUSE_LOOKUP, 1);
	rb_str("name");
	rb_add("\0\0\0\0\0\0\0\0", 8);
	rb_finish();
	uint16_t ext = 1;
	memcpy(R.b + offsetof(struct fuse_in_header, total_extlen), &ext, sizeof(ext));
	assert_error_reply(rb_send(S), EINVAL);
	assert_int_equal(M.count, 0);
}

/* total_extlen counts 8-byte units at the end of the request. */
static void rb_set_extlen(uint16_t units)
{
	memcpy(R.b + offsetof(struct fuse_in_header, total_extlen), &units, sizeof(units));
}

static void rb_mkdir_with_ext(const void *ext, size_t ext_len)
{
	struct fuse_mkdir_in in = { .mode = 0755 };

	rb_begin(FUSE_MKDIR, 1);
	rb_add(&in, sizeof(in));
	rb_str("dir");
	rb_add(ext, ext_len);
	rb_finish();
	rb_set_extlen((uint16_t)(ext_len / 8));
}

struct groups_ext {
	struct fuse_ext_header h;
	uint32_t nr;
	uint32_t groups[3];
};

static struct groups_ext groups_ext(uint32_t nr, uint32_t g0)
{
	return (struct groups_ext){
		.h = { .size = sizeof(struct groups_ext), .type = VFSD_FUSE_EXT_GROUPS },
		.nr = nr, .groups = { g0, 0, 0 },
	};
}

/* FUSE_CREATE_SUPP_GROUP: the group reaches the file system on creating
 * requests only, and the name before the extension is read as sent. */
static void test_supp_group_extension(void **state)
{
	struct fuse_server *s;
	struct groups_ext ext = groups_ext(1, 4242);
	struct {
		struct fuse_ext_header h;
		uint8_t ctx[8];
	} secctx = { .h = { .size = 16, .type = 1 } };
	uint8_t both[sizeof(secctx) + sizeof(ext)];

	MC.init_add = FUSE_CREATE_SUPP_GROUP;
	s = server_with_init(38, 0xffffffffu | FUSE_CREATE_SUPP_GROUP);

	rb_mkdir_with_ext(&ext, sizeof(ext));
	assert_ok_reply(rb_send(s), sizeof(struct fuse_entry_out));
	assert_string_equal(M.op, "mkdir");
	assert_string_equal(M.name, "dir");
	assert_int_equal(M.mode, 0755);
	assert_int_equal(M.ctx.ngroups, 1);
	assert_int_equal(M.ctx.groups[0], 4242);

	/* a security context never negotiated is refused */
	memcpy(both, &secctx, sizeof(secctx));
	memcpy(both + sizeof(secctx), &ext, sizeof(ext));
	M.count = 0;
	rb_mkdir_with_ext(both, sizeof(both));
	assert_error_reply(rb_send(s), EINVAL);
	assert_int_equal(M.count, 0);
	/* types past the groups' are not ours: skipped */
	{
		struct {
			struct fuse_ext_header h;
			uint8_t data[8];
		} future = { .h = { .size = 16, .type = 33 } };

		memcpy(both, &future, sizeof(future));
		rb_mkdir_with_ext(both, sizeof(both));
		assert_ok_reply(rb_send(s), sizeof(struct fuse_entry_out));
		assert_int_equal(M.ctx.ngroups, 1);
	}

	/* on a request that creates nothing it is not the fs's business */
	rb_begin(FUSE_UNLINK, 1);
	rb_str("dir");
	rb_add(&ext, sizeof(ext));
	rb_finish();
	rb_set_extlen(sizeof(ext) / 8);
	rb_send(s);
	assert_string_equal(M.op, "unlink");
	assert_string_equal(M.name, "dir");
	assert_int_equal(M.ctx.ngroups, 0);
	fuse_server_free(s);
}

static void test_supp_group_extension_malformed(void **state)
{
	struct fuse_server *s;
	struct groups_ext ext;

	MC.init_add = FUSE_CREATE_SUPP_GROUP;
	s = server_with_init(38, 0xffffffffu | FUSE_CREATE_SUPP_GROUP);

	ext = groups_ext(3, 1);		/* three groups in room for ... three: fine */
	rb_mkdir_with_ext(&ext, sizeof(ext));
	assert_ok_reply(rb_send(s), sizeof(struct fuse_entry_out));
	assert_int_equal(M.ctx.ngroups, 3);

	M.count = 0;
	ext = groups_ext(4, 1);		/* more groups than the extension holds */
	rb_mkdir_with_ext(&ext, sizeof(ext));
	assert_error_reply(rb_send(s), EINVAL);
	ext = groups_ext(0xffffffffu, 1);	/* absurd count */
	rb_mkdir_with_ext(&ext, sizeof(ext));
	assert_error_reply(rb_send(s), EINVAL);
	ext = groups_ext(1, 1);
	ext.h.size = 12;		/* not a multiple of 8 */
	rb_mkdir_with_ext(&ext, sizeof(ext));
	assert_error_reply(rb_send(s), EINVAL);
	ext.h.size = 4;			/* smaller than its header */
	rb_mkdir_with_ext(&ext, sizeof(ext));
	assert_error_reply(rb_send(s), EINVAL);
	ext.h.size = 64;		/* runs past the request */
	rb_mkdir_with_ext(&ext, sizeof(ext));
	assert_error_reply(rb_send(s), EINVAL);
	ext = groups_ext(1, 1);		/* total_extlen larger than the body */
	rb_mkdir_with_ext(&ext, sizeof(ext));
	rb_set_extlen(0x100);
	assert_error_reply(rb_send(s), EINVAL);
	{
		struct groups_ext two[2] = { groups_ext(1, 1), groups_ext(1, 2) };

		rb_mkdir_with_ext(two, sizeof(two));	/* groups twice */
		assert_error_reply(rb_send(s), EINVAL);
	}
	assert_int_equal(M.count, 0);
	fuse_server_free(s);
}

/* FUSE_SECURITY_CTX: a fuse_secctx_header (nr_secctx as the extension
 * type), then for one context a struct fuse_secctx, the name with its NUL
 * and the value, padded to 8 bytes, as Linux's get_security_context()
 * lays it out. extra adds bytes after it (inside the extension). */
static size_t secctx_ext(uint8_t *buf, uint32_t nr, const char *name, const void *value,
			 uint32_t size, size_t extra)
{
	struct fuse_secctx_header h = { .nr_secctx = nr };
	struct fuse_secctx sc = { .size = size };
	size_t len = sizeof(h), body = 0;

	if (nr) {
		body = sizeof(sc) + strlen(name) + 1 + size;
		body = (body + 7) & ~(size_t)7;
	}
	h.size = (uint32_t)(len + body + extra);
	memset(buf, 0, h.size);
	memcpy(buf, &h, sizeof(h));
	if (nr) {
		memcpy(buf + len, &sc, sizeof(sc));
		memcpy(buf + len + sizeof(sc), name, strlen(name) + 1);
		memcpy(buf + len + sizeof(sc) + strlen(name) + 1, value, size);
	}
	return h.size;
}

static const char LABEL[] = "system_u:object_r:container_file_t:s0";

static void send_ok(struct fuse_server *s)
{
	size_t n = rb_send(s);

	assert_true(n > sizeof(struct fuse_out_header));
	assert_int_equal(OH->error, 0);
}

static struct fuse_server *secctx_server(void)
{
	MC.init_add = FUSE_SECURITY_CTX | FUSE_CREATE_SUPP_GROUP;
	return server_with_init(38, 0xffffffffu | FUSE_SECURITY_CTX | FUSE_CREATE_SUPP_GROUP);
}

/* A creating request of each kind with the extension ext appended. */
static void rb_create_kind(int kind, const void *ext, size_t ext_len)
{
	switch (kind) {
	case 0: {
		struct fuse_create_in in = { .flags = O_RDWR, .mode = S_IFREG | 0644 };

		rb_begin(FUSE_CREATE, 1);
		rb_add(&in, sizeof(in));
		rb_str("file");
		break;
	}
	case 1: {
		struct fuse_mknod_in in = { .mode = S_IFIFO | 0644 };

		rb_begin(FUSE_MKNOD, 1);
		rb_add(&in, sizeof(in));
		rb_str("fifo");
		break;
	}
	case 2: {
		struct fuse_mkdir_in in = { .mode = 0755 };

		rb_begin(FUSE_MKDIR, 1);
		rb_add(&in, sizeof(in));
		rb_str("dir");
		break;
	}
	case 3:
		rb_begin(FUSE_SYMLINK, 1);
		rb_str("link");
		rb_str("target");
		break;
	default: {
		struct fuse_create_in in = { .flags = O_RDWR, .mode = S_IFREG | 0600 };

		rb_begin(FUSE_TMPFILE, 1);
		rb_add(&in, sizeof(in));
		rb_str("/");
		break;
	}
	}
	rb_add(ext, ext_len);
	rb_finish();
	rb_set_extlen((uint16_t)(ext_len / 8));
}

static const char *const kind_op[] = { "create", "mknod", "mkdir", "symlink", "tmpfile" };
static const char *const kind_name[] = { "file", "fifo", "dir", "link", NULL };

static void test_secctx_extension(void **state)
{
	struct fuse_server *s = secctx_server();
	uint8_t ext[512];
	size_t len;

	for (int kind = 0; kind < 5; kind++) {
		len = secctx_ext(ext, 1, "security.selinux", LABEL, sizeof(LABEL) - 1, 0);
		rb_create_kind(kind, ext, len);
		send_ok(s);
		assert_string_equal(M.op, kind_op[kind]);
		if (kind_name[kind])
			assert_string_equal(M.name, kind_name[kind]);
		if (kind == 3)
			assert_string_equal(M.target, "target");
		assert_true(M.has_secctx);
		assert_string_equal(M.secctx_name, "security.selinux");
		assert_int_equal(M.secctx_size, sizeof(LABEL) - 1);
		assert_memory_equal(M.secctx_value, LABEL, sizeof(LABEL) - 1);

		/* a guest without an LSM that labels: the header alone */
		len = secctx_ext(ext, 0, NULL, NULL, 0, 0);
		assert_int_equal(len, 8);
		rb_create_kind(kind, ext, len);
		send_ok(s);
		assert_string_equal(M.op, kind_op[kind]);
		assert_false(M.has_secctx);
	}

	/* with the supplementary group, in either order; a context whose
	 * value fills its record exactly (no padding) */
	{
		struct groups_ext g = groups_ext(1, 4242);
		uint8_t both[512];

		len = secctx_ext(ext, 1, "security.x", "12345", 5, 0);	/* 8+8+11+5 = 32 */
		assert_int_equal(len, 32);
		memcpy(both, ext, len);
		memcpy(both + len, &g, sizeof(g));
		rb_create_kind(2, both, len + sizeof(g));
		send_ok(s);
		assert_true(M.has_secctx);
		assert_int_equal(M.secctx_size, 5);
		assert_int_equal(M.ctx.ngroups, 1);
		memcpy(both, &g, sizeof(g));
		memcpy(both + sizeof(g), ext, len);
		rb_create_kind(2, both, len + sizeof(g));
		send_ok(s);
		assert_true(M.has_secctx);
		assert_int_equal(M.ctx.ngroups, 1);
	}
	/* the largest value there is */
	{
		static uint8_t big[XATTR_SIZE_MAX + 64];
		static uint8_t value[XATTR_SIZE_MAX];

		memset(value, 'v', sizeof(value));
		len = secctx_ext(big, 1, "security.big", value, XATTR_SIZE_MAX, 0);
		rb_create_kind(2, big, len);
		send_ok(s);
		assert_true(M.has_secctx);
		assert_int_equal(M.secctx_size, XATTR_SIZE_MAX);
	}
	fuse_server_free(s);
}

static void test_secctx_malformed(void **state)
{
	struct fuse_server *s = secctx_server();
	uint8_t ext[1024], two[1024];
	size_t len, len2;
	char name[XATTR_NAME_MAX + 2];

#define REFUSED(kind, buf, n) do {                          \
		M.count = 0;                                \
		rb_create_kind(kind, buf, n);               \
		assert_error_reply(rb_send(s), EINVAL);     \
		assert_int_equal(M.count, 0);               \
	} while (0)

	/* more than one context (Linux sends one; the Rust daemon refuses) */
	len = secctx_ext(ext, 1, "security.selinux", LABEL, sizeof(LABEL) - 1, 0);
	((struct fuse_secctx_header *)(void *)ext)->nr_secctx = 2;
	REFUSED(2, ext, len);
	/* a context of size 0 */
	len = secctx_ext(ext, 1, "security.selinux", "", 0, 0);
	REFUSED(2, ext, len);
	/* a size past the extension, or past 64 KiB */
	len = secctx_ext(ext, 1, "security.selinux", LABEL, sizeof(LABEL) - 1, 0);
	((struct fuse_secctx *)(void *)(ext + 8))->size = 200;
	REFUSED(2, ext, len);
	((struct fuse_secctx *)(void *)(ext + 8))->size = XATTR_SIZE_MAX + 1;
	REFUSED(2, ext, len);
	((struct fuse_secctx *)(void *)(ext + 8))->size = 0xffffffffu;
	REFUSED(2, ext, len);
	/* more than the padding after the value */
	len = secctx_ext(ext, 1, "security.selinux", LABEL, sizeof(LABEL) - 1, 8);
	REFUSED(2, ext, len);
	/* header alone with bytes after it */
	len = secctx_ext(ext, 0, NULL, NULL, 0, 8);
	REFUSED(2, ext, len);
	/* an empty name, a name that never ends, an overlong one */
	len = secctx_ext(ext, 1, "", LABEL, sizeof(LABEL) - 1, 0);
	REFUSED(2, ext, len);
	len = secctx_ext(ext, 1, "security.selinux", LABEL, sizeof(LABEL) - 1, 0);
	memset(ext + 16, 'n', len - 16);	/* the name's NUL overwritten, to the end */
	REFUSED(2, ext, len);
	memset(name, 'n', sizeof(name));
	memcpy(name, "security.", 9);
	name[XATTR_NAME_MAX + 1] = 0;
	len = secctx_ext(ext, 1, name, "v", 1, 0);
	REFUSED(2, ext, len);
	name[XATTR_NAME_MAX] = 0;	/* 255: fine */
	len = secctx_ext(ext, 1, name, "v", 1, 0);
	rb_create_kind(2, ext, len);
	send_ok(s);
	assert_true(M.has_secctx);
	/* sent twice */
	len = secctx_ext(ext, 1, "security.selinux", LABEL, sizeof(LABEL) - 1, 0);
	memcpy(two, ext, len);
	len2 = secctx_ext(two + len, 0, NULL, NULL, 0, 0);
	REFUSED(2, two, len + len2);
	/* on requests that create nothing */
	for (int op = 0; op < 3; op++) {
		static const uint32_t ops[] = { FUSE_LOOKUP, FUSE_UNLINK, FUSE_RMDIR };

		M.count = 0;
		rb_begin(ops[op], 1);
		rb_str("dir");
		rb_add(ext, len);
		rb_finish();
		rb_set_extlen((uint16_t)(len / 8));
		assert_error_reply(rb_send(s), EINVAL);
		assert_int_equal(M.count, 0);
	}
	{
		struct fuse_link_in in = { .oldnodeid = 5 };

		M.count = 0;
		rb_begin(FUSE_LINK, 1);
		rb_add(&in, sizeof(in));
		rb_str("new");
		rb_add(ext, len);
		rb_finish();
		rb_set_extlen((uint16_t)(len / 8));
		assert_error_reply(rb_send(s), EINVAL);
		assert_int_equal(M.count, 0);
	}
#undef REFUSED
	fuse_server_free(s);
}

/* Negotiated only when the file system asks, the guest offers it, and
 * the guest speaks 7.38, where the context is an extension. */
static void test_secctx_negotiation(void **state)
{
	static const struct {
		uint32_t minor;
		uint64_t fs, guest;
		bool want;
	} neg[] = {
		{ 38, FUSE_SECURITY_CTX, FUSE_SECURITY_CTX, true },
		{ 41, FUSE_SECURITY_CTX, FUSE_SECURITY_CTX, true },
		{ 37, FUSE_SECURITY_CTX, FUSE_SECURITY_CTX, false },
		{ 36, FUSE_SECURITY_CTX, FUSE_SECURITY_CTX, false },
		{ 38, 0, FUSE_SECURITY_CTX, false },
		{ 38, FUSE_SECURITY_CTX, 0, false },
	};

	for (size_t i = 0; i < sizeof(neg) / sizeof(neg[0]); i++) {
		struct fuse_server *s;
		struct fuse_init_out out;
		uint8_t ext[256];
		size_t len;

		mock_reset();
		MC.init_add = neg[i].fs;
		s = server_with_init(neg[i].minor, 0xffffffffu | neg[i].guest);
		memcpy(&out, OUT + sizeof(struct fuse_out_header), sizeof(out));
		assert_int_equal(!!(out.flags2 & (FUSE_SECURITY_CTX >> 32)), neg[i].want);
		len = secctx_ext(ext, 1, "security.selinux", LABEL, sizeof(LABEL) - 1, 0);
		rb_create_kind(2, ext, len);
		if (neg[i].want) {
			send_ok(s);
			assert_true(M.has_secctx);
		} else {
			assert_error_reply(rb_send(s), EINVAL);
		}
		fuse_server_free(s);
	}
}

static void test_short_header(void **state)
{
	rb_begin(FUSE_LOOKUP, 1);
	struct iovec in = { R.b, sizeof(struct fuse_in_header) - 1 };
	struct iovec out = { OUT, sizeof(OUT) };
	size_t n = fuse_server_handle(S, &in, 1, &out, 1);
	assert_int_equal(n, HDR);
	assert_int_equal(OH->error, -EINVAL);
	assert_int_equal(OH->unique, 0);
	/* Nothing at all. */
	n = fuse_server_handle(S, NULL, 0, &out, 1);
	assert_int_equal(n, HDR);
	assert_int_equal(OH->error, -EINVAL);
	/* And no room to say so. */
	out.iov_len = HDR - 1;
	assert_int_equal(fuse_server_handle(S, &in, 1, &out, 1), 0);
	assert_int_equal(M.count, 0);
}

static void test_reply_space_too_small(void **state)
{
	/* Less than a header: no reply at all, nothing done. */
	for (size_t i = 0; i < NCASES; i++) {
		const struct op_case *c = &cases[i];
		if (c->no_reply || c->opcode == FUSE_DESTROY)
			continue;
		M.count = 0;
		build(c);
		memset(OUT, 0xee, HDR);
		assert_int_equal(rb_send_out(S, HDR - 1), 0);
		assert_int_equal(M.count, 0);
		assert_int_equal(OUT[0], 0xee);
	}
	/* A header but not the reply struct: EINVAL before the fs call. */
	static const uint32_t need_struct[] = { FUSE_LOOKUP, FUSE_GETATTR, FUSE_SETATTR,
						FUSE_SYMLINK, FUSE_MKNOD, FUSE_MKDIR, FUSE_LINK,
						FUSE_OPEN, FUSE_CREATE, FUSE_WRITE, FUSE_STATFS,
						FUSE_OPENDIR, FUSE_GETLK, FUSE_LSEEK,
						FUSE_COPY_FILE_RANGE, FUSE_TMPFILE };
	for (size_t k = 0; k < sizeof(need_struct) / sizeof(need_struct[0]); k++) {
		for (size_t i = 0; i < NCASES; i++) {
			if (cases[i].opcode != need_struct[k])
				continue;
			M.count = 0;
			build(&cases[i]);
			expect_rejected(&cases[i], rb_send_out(S, HDR + 7), EINVAL);
		}
	}
}

static void test_reply_split_header(void **state)
{
	/* The out header may straddle iovecs: written piecewise. */
	uint8_t a[5], b[11], c[200];
	struct iovec out[3] = { { a, 5 }, { b, 11 }, { c, 200 } };
	rb_begin(FUSE_LOOKUP, 1);
	rb_str("x");
	rb_finish();
	struct iovec in = { R.b, R.len };
	size_t n = fuse_server_handle(S, &in, 1, out, 3);
	assert_int_equal(n, HDR + sizeof(struct fuse_entry_out));
	struct fuse_out_header oh;
	memcpy(&oh, a, 5);
	memcpy((char *)&oh + 5, b, 11);
	assert_int_equal(oh.len, n);
	assert_int_equal(oh.error, 0);
	assert_int_equal(oh.unique, R.unique);
	struct fuse_entry_out e;
	memcpy(&e, c, sizeof(e));
	assert_int_equal(e.nodeid, 100);
}

/* ---- names ---- */

/* Builds an op whose name in slot (0 or 1) is the raw bytes given; the
 * other slot gets a good name. raw_len includes any NUL wanted. */
struct name_case {
	uint32_t opcode;
	int slots;
	bool entry;   /* refuses "." and ".." */
};

static const struct name_case name_cases[] = {
	{ FUSE_LOOKUP, 1, false },  { FUSE_SYMLINK, 1, true }, { FUSE_MKNOD, 1, true },
	{ FUSE_MKDIR, 1, true },    { FUSE_UNLINK, 1, true },  { FUSE_RMDIR, 1, true },
	{ FUSE_RENAME, 2, true },   { FUSE_RENAME2, 2, true }, { FUSE_LINK, 1, true },
	{ FUSE_CREATE, 1, true },
};

static void build_named(uint32_t opcode, int slot, const void *raw, size_t raw_len)
{
	rb_begin(opcode, 1);
	switch (opcode) {
	case FUSE_MKNOD: {
		struct fuse_mknod_in in = { .mode = 010644 };
		rb_add(&in, sizeof(in));
		break;
	}
	case FUSE_MKDIR: {
		struct fuse_mkdir_in in = { .mode = 0755 };
		rb_add(&in, sizeof(in));
		break;
	}
	case FUSE_RENAME: {
		struct fuse_rename_in in = { 2 };
		rb_add(&in, sizeof(in));
		break;
	}
	case FUSE_RENAME2: {
		struct fuse_rename2_in in = { 2, 0, 0 };
		rb_add(&in, sizeof(in));
		break;
	}
	case FUSE_LINK: {
		struct fuse_link_in in = { 3 };
		rb_add(&in, sizeof(in));
		break;
	}
	case FUSE_CREATE: {
		struct fuse_create_in in = { .mode = 0100644 };
		rb_add(&in, sizeof(in));
		break;
	}
	default:
		break;
	}
	if (slot == 1)
		rb_str("good");
	rb_add(raw, raw_len);
	if (slot == 0 && (opcode == FUSE_RENAME || opcode == FUSE_RENAME2))
		rb_str("good");
	if (opcode == FUSE_SYMLINK)
		rb_str("target");
	rb_finish();
}

static void expect_name(const struct name_case *nc, int slot, const void *raw, size_t len,
			int err)
{
	M.count = 0;
	build_named(nc->opcode, slot, raw, len);
	size_t n = rb_send(S);
	if (err == 0) {
		if (OH->error != 0)
			fail_msg("%s slot %d: error %d", fuse_opcode_name_for_test(nc->opcode), slot,
				 OH->error);
		assert_int_equal(M.count, 1);
		return;
	}
	if (n != HDR || OH->error != -err)
		fail_msg("%s slot %d: got error %d, want %d", fuse_opcode_name_for_test(nc->opcode),
			 slot, OH->error, -err);
	assert_int_equal(M.count, 0);
}

static void test_names(void **state)
{
	char n255[NAME_MAX + 1], n256[NAME_MAX + 2];
	memset(n255, 'a', NAME_MAX);
	n255[NAME_MAX] = '\0';
	memset(n256, 'b', NAME_MAX + 1);
	n256[NAME_MAX + 1] = '\0';

	for (size_t i = 0; i < sizeof(name_cases) / sizeof(name_cases[0]); i++) {
		const struct name_case *nc = &name_cases[i];
		for (int slot = 0; slot < nc->slots; slot++) {
			expect_name(nc, slot, "ok", 3, 0);
			expect_name(nc, slot, n255, sizeof(n255), 0);
			expect_name(nc, slot, n256, sizeof(n256), ENAMETOOLONG);
			expect_name(nc, slot, "", 1, EINVAL);
			expect_name(nc, slot, "a/b", 4, EINVAL);
			expect_name(nc, slot, "/", 2, EINVAL);
			expect_name(nc, slot, ".", 2, nc->entry ? EINVAL : 0);
			expect_name(nc, slot, "..", 3, nc->entry ? EINVAL : 0);
			expect_name(nc, slot, "...", 4, 0);
		}
	}
}

static void test_names_without_nul(void **state)
{
	/* The name runs to the end of the request. */
	for (size_t i = 0; i < sizeof(name_cases) / sizeof(name_cases[0]); i++) {
		const struct name_case *nc = &name_cases[i];
		int slot = nc->slots - 1;
		M.count = 0;
		build_named(nc->opcode, slot, "abc", 3);
		if (nc->opcode == FUSE_SYMLINK) {
			/* the target follows: cut it off */
			R.len -= strlen("target") + 1;
			rb_finish();
		}
		size_t n = rb_send(S);
		assert_int_equal(n, HDR);
		assert_int_equal(OH->error, -EINVAL);
		assert_int_equal(M.count, 0);
	}
	/* A long name without NUL is EINVAL, not ENAMETOOLONG. */
	static char longname[5000];
	memset(longname, 'x', sizeof(longname));
	rb_begin(FUSE_LOOKUP, 1);
	rb_add(longname, sizeof(longname));
	rb_finish();
	assert_error_reply(rb_send(S), EINVAL);
	/* ... and with a NUL far away it is too long. */
	rb_begin(FUSE_LOOKUP, 1);
	rb_add(longname, sizeof(longname));
	rb_add("", 1);
	rb_finish();
	assert_error_reply(rb_send(S), ENAMETOOLONG);
}

static void test_name_split_across_iovecs(void **state)
{
	/* A name in one-byte pieces decodes the same. */
	rb_begin(FUSE_LOOKUP, 1);
	rb_str("split-name");
	rb_finish();
	static struct iovec pieces[256];
	size_t hdr = sizeof(struct fuse_in_header);
	pieces[0] = (struct iovec){ R.b, hdr };
	unsigned count = 1;
	for (size_t off = hdr; off < R.len; off++)
		pieces[count++] = (struct iovec){ R.b + off, 1 };
	struct iovec out = { OUT, sizeof(OUT) };
	size_t n = fuse_server_handle(S, pieces, count, &out, 1);
	assert_ok_reply(n, sizeof(struct fuse_entry_out));
	assert_string_equal(M.name, "split-name");
}

/* A SETLKW storm must not park the queue's last thread: served with
 * FUSE_HANDLE_NO_WAIT, a SETLKW only tries the lock, and a conflict is
 * answered ENOLCK; without the flag it waits as usual. */
static size_t send_flags(unsigned flags)
{
	struct iovec in = { R.b, R.len };
	struct iovec out = { OUT, sizeof(OUT) };
	return fuse_server_handle_flags(S, &in, 1, &out, 1, flags);
}

static void test_setlkw_no_wait(void **state)
{
	struct fuse_lk_in in = { .fh = 5, .owner = 1, .lk = { .type = F_WRLCK } };

	rb_begin(FUSE_SETLKW, 26);
	rb_add(&in, sizeof(in));
	rb_finish();
	assert_ok_reply(send_flags(FUSE_HANDLE_NO_WAIT), 0);
	assert_false(M.sleep);

	MC.ret = -EAGAIN;       /* F_OFD_SETLK's answer to a conflict */
	assert_error_reply(send_flags(FUSE_HANDLE_NO_WAIT), ENOLCK);
	assert_false(M.sleep);
	MC.ret = -EACCES;
	assert_error_reply(send_flags(FUSE_HANDLE_NO_WAIT), ENOLCK);
	MC.ret = -EBADF;        /* other errors pass through */
	assert_error_reply(send_flags(FUSE_HANDLE_NO_WAIT), EBADF);

	MC.ret = 0;
	assert_ok_reply(send_flags(0), 0);
	assert_true(M.sleep);

	/* SETLK is never changed by the flag. */
	rb_begin(FUSE_SETLK, 26);
	rb_add(&in, sizeof(in));
	rb_finish();
	MC.ret = -EAGAIN;
	assert_error_reply(send_flags(FUSE_HANDLE_NO_WAIT), EAGAIN);
	assert_false(M.sleep);
}

static const char *fuse_opcode_name_for_test(uint32_t opcode)
{
	static char buf[16];
	snprintf(buf, sizeof(buf), "opcode %u", opcode);
	return buf;
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_valid_bodies_accepted), T(test_truncated_bodies),
		T(test_len_larger_than_bytes), T(test_len_smaller_than_bytes),
		T(test_extensions_refused), T(test_supp_group_extension),
		T(test_supp_group_extension_malformed), T(test_secctx_extension),
		T(test_secctx_malformed), T(test_secctx_negotiation), T(test_short_header), T(test_reply_space_too_small),
		T(test_reply_split_header), T(test_names), T(test_names_without_nul),
		T(test_name_split_across_iovecs), T(test_setlkw_no_wait),
	};
	/* Debug level: every log line's formatting runs under the sanitizers. */
	log_init(LOG_LEVEL_DEBUG, false);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
