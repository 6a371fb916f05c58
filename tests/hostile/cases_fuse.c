/* cases_fuse.c: hostile FUSE requests sent as raw bytes: lying headers,
 * unknown opcodes, node ids and handles, bad names, absurd sizes, the
 * session's order (INIT, DESTROY) and FORGET abuse. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hostile_util.h"

#define CAP 4096

static struct rawmsg M;
static struct rawreply R;

static void send_expect(int want)
{
	raw_send(&M, HQ, CAP, &R);
	EXPECT_REFUSED(&M, &R, want);
	ALIVE();
}

/* ---- lying headers ---- */

static void getattr_msg(void)
{
	struct fuse_getattr_in in = { 0 };

	msg_build(&M, FUSE_GETATTR, FUSE_ROOT_ID, &in, sizeof(in));
}

static void hdr_len_bigger(void)
{
	getattr_msg();
	msg_hdr(&M)->len += 100;
	send_expect(0);
}

static void hdr_len_smaller(void)
{
	getattr_msg();
	msg_hdr(&M)->len -= 8;
	send_expect(0);
}

static void hdr_len_zero(void)
{
	getattr_msg();
	msg_hdr(&M)->len = 0;
	send_expect(0);
}

static void hdr_len_max(void)
{
	getattr_msg();
	msg_hdr(&M)->len = UINT32_MAX;
	send_expect(0);
}

static void hdr_total_extlen(void)
{
	getattr_msg();
	msg_hdr(&M)->total_extlen = 0xffff;
	send_expect(0);
}

static void request_shorter_than_header(void)
{
	/* No unique to answer to: a zero-length completion, or an error
	 * header carrying unique 0. */
	getattr_msg();
	M.len = 20;
	raw_send(&M, HQ, CAP, &R);
	CHECK(R.used == 0 || (R.used == 16 && R.oh.error < 0 && R.oh.len == 16 &&
			      (R.oh.unique == 0 || R.oh.unique == M.unique)),
	      "used %zd error %d", R.used, R.oh.error);
	ALIVE();
}

static void args_truncated(void)
{
	/* A SETATTR whose struct is cut short, with an honest len. */
	struct fuse_setattr_in in = { 0 };

	msg_build(&M, FUSE_SETATTR, FUSE_ROOT_ID, &in, 10);
	send_expect(0);
}

/* ---- opcodes ---- */

static void opcode(uint32_t op)
{
	uint8_t junk[64] = { 1, 2, 3 };

	msg_build(&M, op, FUSE_ROOT_ID, junk, sizeof(junk));
	send_expect(0);
}

static void opcode_zero(void) { opcode(0); }
static void opcode_9999(void) { opcode(9999); }
static void opcode_cuse_init(void) { opcode(CUSE_INIT); }
static void opcode_max(void) { opcode(UINT32_MAX); }
static void opcode_setupmapping(void) { opcode(FUSE_SETUPMAPPING); }
static void opcode_ioctl(void) { opcode(FUSE_IOCTL); }

/* ---- node ids and handles ---- */

static void unknown_nodeid(void)
{
	struct fuse_getattr_in in = { 0 };

	msg_build(&M, FUSE_GETATTR, 0xdeadbeef12345ull, &in, sizeof(in));
	send_expect(0);
}

static void nodeid_zero(void)
{
	msg_build(&M, FUSE_LOOKUP, 0, "x", 2);
	send_expect(0);
}

static void unknown_nodeid_mkdir(void)
{
	struct fuse_mkdir_in in = { .mode = 0755 };

	msg_build(&M, FUSE_MKDIR, UINT64_MAX, &in, sizeof(in));
	msg_append_str(&M, "d");
	send_expect(0);
}

static uint64_t make_file(const char *name, uint64_t *fh)
{
	struct fuse_entry_out e;
	struct fuse_open_out o;
	int err = vfs_create(H.c, FUSE_ROOT_ID, name, O_RDWR, S_IFREG | 0644, 0, &e, &o);

	CHECK(err == 0, "create %s: %d", name, err);
	if (fh)
		*fh = o.fh;
	return e.nodeid;
}

static void unknown_fh_read(void)
{
	uint64_t node = make_file("f", NULL);
	struct fuse_read_in in = { .fh = 0x7777777, .size = 100 };

	msg_build(&M, FUSE_READ, node, &in, sizeof(in));
	send_expect(0);
}

static void unknown_fh_write(void)
{
	uint64_t node = make_file("f", NULL);
	struct fuse_write_in in = { .fh = UINT64_MAX - 1, .size = 4 };

	msg_build(&M, FUSE_WRITE, node, &in, sizeof(in));
	msg_append(&M, "abcd", 4);
	send_expect(0);
}

static void unknown_fh_release_flush_fsync(void)
{
	uint64_t node = make_file("f", NULL);
	struct fuse_release_in rel = { .fh = 123456789 };
	struct fuse_flush_in fl = { .fh = 123456789 };
	struct fuse_fsync_in fs = { .fh = 123456789 };

	msg_build(&M, FUSE_FLUSH, node, &fl, sizeof(fl));
	send_expect(0);
	msg_build(&M, FUSE_FSYNC, node, &fs, sizeof(fs));
	send_expect(0);
	/* RELEASE of an unknown handle may succeed (nothing to do) or fail. */
	msg_build(&M, FUSE_RELEASE, node, &rel, sizeof(rel));
	raw_send(&M, HQ, CAP, &R);
	CHECK(R.used == 0 || (R.used == 16 && R.oh.unique == M.unique), "release used %zd",
	      R.used);
	ALIVE();
}

static void unknown_fh_readdir(void)
{
	struct fuse_read_in in = { .fh = 0xabcdef, .size = 4096 };

	msg_build(&M, FUSE_READDIR, FUSE_ROOT_ID, &in, sizeof(in));
	send_expect(0);
	msg_build(&M, FUSE_READDIRPLUS, FUSE_ROOT_ID, &in, sizeof(in));
	send_expect(0);
}

static void fh_of_other_kind(void)
{
	/* A directory handle used for READ, and a file handle for READDIR. */
	struct fuse_open_out o;
	uint64_t fh;
	uint64_t node = make_file("f", &fh);

	CHECK_OK(vfs_opendir(H.c, FUSE_ROOT_ID, 0, &o));
	struct fuse_read_in in = { .fh = o.fh, .size = 100 };
	msg_build(&M, FUSE_READ, node, &in, sizeof(in));
	raw_send(&M, HQ, CAP, &R);
	CHECK(R.used >= 16 && R.oh.unique == M.unique, "used %zd", R.used);
	in.fh = fh;
	msg_build(&M, FUSE_READDIR, FUSE_ROOT_ID, &in, sizeof(in));
	raw_send(&M, HQ, CAP, &R);
	CHECK(R.used >= 16 && R.oh.unique == M.unique, "used %zd", R.used);
	ALIVE();
}

/* ---- names ---- */

static void name_without_nul(void)
{
	msg_build(&M, FUSE_LOOKUP, FUSE_ROOT_ID, "abcdef", 6);
	send_expect(0);
}

static void mkdir_name_without_nul(void)
{
	struct fuse_mkdir_in in = { .mode = 0755 };

	msg_build(&M, FUSE_MKDIR, FUSE_ROOT_ID, &in, sizeof(in));
	msg_append(&M, "noterm", 6);
	send_expect(0);
	CHECK(!host_exists(t_host(H.share, "noterm")), "noterm created");
}

static void name_with_slash(void)
{
	msg_build(&M, FUSE_LOOKUP, FUSE_ROOT_ID, NULL, 0);
	msg_append_str(&M, "a/b");
	send_expect(0);
}

static void name_empty(void)
{
	struct fuse_mkdir_in in = { .mode = 0755 };

	msg_build(&M, FUSE_MKDIR, FUSE_ROOT_ID, &in, sizeof(in));
	msg_append_str(&M, "");
	send_expect(0);
}

static void name_too_long(void)
{
	char name[300];

	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = 0;
	msg_build(&M, FUSE_LOOKUP, FUSE_ROOT_ID, NULL, 0);
	msg_append_str(&M, name);
	send_expect(0);
}

static void rename_names_run_together(void)
{
	/* RENAME whose second name is missing its NUL. */
	struct fuse_rename_in in = { .newdir = FUSE_ROOT_ID };

	make_file("f", NULL);
	msg_build(&M, FUSE_RENAME, FUSE_ROOT_ID, &in, sizeof(in));
	msg_append_str(&M, "f");
	msg_append(&M, "g", 1);
	send_expect(0);
	CHECK(host_exists(t_host(H.share, "f")), "f renamed");
}

static void symlink_target_without_nul(void)
{
	msg_build(&M, FUSE_SYMLINK, FUSE_ROOT_ID, NULL, 0);
	msg_append_str(&M, "sl");
	msg_append(&M, "/etc/passwd", 11);
	send_expect(0);
}

/* ---- absurd sizes ---- */

static void read_absurd_size(void)
{
	uint64_t fh;
	uint64_t node = make_file("f", &fh);
	struct fuse_read_in in = { .fh = fh, .size = UINT32_MAX, .offset = 0 };

	msg_build(&M, FUSE_READ, node, &in, sizeof(in));
	raw_send(&M, HQ, CAP, &R);
	/* An empty file: 0 bytes, or a refusal. */
	CHECK(refused(&M, &R, 0) || (answered_ok(&M, &R) && R.used == 16), "used %zd err %d",
	      R.used, R.oh.error);
	in.offset = UINT64_MAX - 10;
	msg_build(&M, FUSE_READ, node, &in, sizeof(in));
	raw_send(&M, HQ, CAP, &R);
	CHECK(refused(&M, &R, 0) || (answered_ok(&M, &R) && R.used == 16), "used %zd err %d",
	      R.used, R.oh.error);
	ALIVE();
}

static void write_absurd_size(void)
{
	uint64_t fh;
	uint64_t node = make_file("f", &fh);
	struct fuse_write_in in = { .fh = fh, .size = UINT32_MAX };

	msg_build(&M, FUSE_WRITE, node, &in, sizeof(in));
	msg_append(&M, "data", 4);
	send_expect(0);
	in.size = 4;
	in.offset = UINT64_MAX - 2;
	msg_build(&M, FUSE_WRITE, node, &in, sizeof(in));
	msg_append(&M, "data", 4);
	send_expect(0);
}

static void write_size_less_than_data(void)
{
	uint64_t fh;
	uint64_t node = make_file("f", &fh);
	struct fuse_write_in in = { .fh = fh, .size = 2 };

	msg_build(&M, FUSE_WRITE, node, &in, sizeof(in));
	msg_append(&M, "data", 4);
	raw_send(&M, HQ, CAP, &R);
	/* Refused, or exactly 2 bytes written. */
	CHECK(refused(&M, &R, 0) ||
	      (answered_ok(&M, &R) && ((struct fuse_write_out *)(void *)R.data)->size == 2),
	      "used %zd err %d", R.used, R.oh.error);
	ALIVE();
}

static void readdir_absurd_size(void)
{
	struct fuse_open_out o;

	CHECK_OK(vfs_opendir(H.c, FUSE_ROOT_ID, 0, &o));
	struct fuse_read_in in = { .fh = o.fh, .size = UINT32_MAX };
	msg_build(&M, FUSE_READDIR, FUSE_ROOT_ID, &in, sizeof(in));
	raw_send(&M, HQ, CAP, &R);
	CHECK(R.used >= 16 && R.used <= CAP && R.oh.unique == M.unique, "used %zd", R.used);
	in.offset = UINT64_MAX;
	msg_build(&M, FUSE_READDIRPLUS, FUSE_ROOT_ID, &in, sizeof(in));
	raw_send(&M, HQ, CAP, &R);
	CHECK(R.used >= 16 && R.used <= CAP && R.oh.unique == M.unique, "used %zd", R.used);
	ALIVE();
}

static void getxattr_absurd_size(void)
{
	struct fuse_getxattr_in in = { .size = UINT32_MAX };

	make_file("f", NULL);
	msg_build(&M, FUSE_GETXATTR, FUSE_ROOT_ID, &in, sizeof(in));
	msg_append_str(&M, "user.x");
	send_expect(0);
}

static uint32_t setxattr_in_len(void)
{
	const struct fuse_init_out *io = vfs_client_init_out(H.c);

	return (io->flags & FUSE_SETXATTR_EXT) ? sizeof(struct fuse_setxattr_in) :
						 FUSE_COMPAT_SETXATTR_IN_SIZE;
}

static void setxattr_absurd_size(void)
{
	struct fuse_setxattr_in in = { .size = UINT32_MAX };

	msg_build(&M, FUSE_SETXATTR, FUSE_ROOT_ID, &in, setxattr_in_len());
	msg_append_str(&M, "user.big");
	msg_append(&M, "v", 1);
	send_expect(0);
	in.size = 1 << 20; /* more than the 64 KiB cap, and than what came */
	msg_build(&M, FUSE_SETXATTR, FUSE_ROOT_ID, &in, setxattr_in_len());
	msg_append_str(&M, "user.big");
	msg_append(&M, "v", 1);
	send_expect(0);
}

static void listxattr_absurd_size(void)
{
	struct fuse_getxattr_in in = { .size = UINT32_MAX };

	msg_build(&M, FUSE_LISTXATTR, FUSE_ROOT_ID, &in, sizeof(in));
	raw_send(&M, HQ, CAP, &R);
	CHECK(R.used >= 16 && R.used <= CAP && R.oh.unique == M.unique, "used %zd", R.used);
	ALIVE();
}

static void copy_file_range_absurd(void)
{
	uint64_t fh1, fh2;
	uint64_t n1 = make_file("a", &fh1), n2 = make_file("b", &fh2);
	struct fuse_copy_file_range_in in = {
		.fh_in = fh1, .off_in = UINT64_MAX - 5, .nodeid_out = n2, .fh_out = fh2,
		.off_out = UINT64_MAX - 5, .len = UINT64_MAX, .flags = UINT64_MAX,
	};

	msg_build(&M, FUSE_COPY_FILE_RANGE, n1, &in, sizeof(in));
	send_expect(0);
	in.nodeid_out = 0xdead;
	in.flags = 0;
	msg_build(&M, FUSE_COPY_FILE_RANGE, n1, &in, sizeof(in));
	send_expect(0);
}

static void fallocate_absurd(void)
{
	uint64_t fh;
	uint64_t node = make_file("f", &fh);
	struct fuse_fallocate_in in = { .fh = fh, .offset = UINT64_MAX - 1, .length = UINT64_MAX };

	msg_build(&M, FUSE_FALLOCATE, node, &in, sizeof(in));
	send_expect(0);
	in.offset = 0;
	in.length = 1ull << 62; /* would fill the host disk */
	msg_build(&M, FUSE_FALLOCATE, node, &in, sizeof(in));
	send_expect(0);
	in.length = 10;
	in.mode = 0xffffffff;
	msg_build(&M, FUSE_FALLOCATE, node, &in, sizeof(in));
	send_expect(0);
}

static void lseek_absurd(void)
{
	uint64_t fh;
	uint64_t node = make_file("f", &fh);
	struct fuse_lseek_in in = { .fh = fh, .offset = UINT64_MAX, .whence = SEEK_DATA };

	msg_build(&M, FUSE_LSEEK, node, &in, sizeof(in));
	send_expect(0);
	in.whence = 12345;
	in.offset = 0;
	msg_build(&M, FUSE_LSEEK, node, &in, sizeof(in));
	send_expect(0);
}

static void setattr_absurd_size(void)
{
	uint64_t node = make_file("f", NULL);
	struct fuse_setattr_in in = { .valid = FATTR_SIZE, .size = UINT64_MAX };

	msg_build(&M, FUSE_SETATTR, node, &in, sizeof(in));
	send_expect(0);
	in.valid = FATTR_SIZE | FATTR_FH;
	in.fh = 0x55555;
	in.size = 1;
	msg_build(&M, FUSE_SETATTR, node, &in, sizeof(in));
	send_expect(0);
}

/* ---- session order ---- */

static void init_twice(void)
{
	struct fuse_init_in in = { .major = FUSE_KERNEL_VERSION,
				   .minor = FUSE_KERNEL_MINOR_VERSION };

	msg_build(&M, FUSE_INIT, 0, &in, sizeof(in));
	raw_send(&M, HQ, CAP, &R);
	CHECK(refused(&M, &R, 0), "second INIT: used %zd error %d", R.used, R.oh.error);
	ALIVE();
	/* A second INIT with an old major must not kill the session either. */
	in.major = 5;
	msg_build(&M, FUSE_INIT, 0, &in, sizeof(in));
	raw_send(&M, HQ, CAP, &R);
	CHECK(R.used >= 16 && R.oh.unique == M.unique, "INIT major 5: used %zd", R.used);
	ALIVE();
}

static void before_init(void)
{
	getattr_msg();
	raw_send(&M, HQ, CAP, &R);
	CHECK(refused(&M, &R, 0), "GETATTR before INIT: used %zd error %d", R.used, R.oh.error);
	msg_build(&M, FUSE_MKDIR, FUSE_ROOT_ID, &(struct fuse_mkdir_in){ .mode = 0755 },
		  sizeof(struct fuse_mkdir_in));
	msg_append_str(&M, "early");
	raw_send(&M, HQ, CAP, &R);
	CHECK(refused(&M, &R, 0), "MKDIR before INIT: used %zd error %d", R.used, R.oh.error);
	CHECK(!host_exists(t_host(H.share, "early")), "MKDIR before INIT created a directory");
	/* INIT with a truncated argument, then a real one. */
	struct fuse_init_in in = { .major = FUSE_KERNEL_VERSION };
	msg_build(&M, FUSE_INIT, 0, &in, 4);
	raw_send(&M, HQ, CAP, &R);
	CHECK(refused(&M, &R, 0), "short INIT: used %zd error %d", R.used, R.oh.error);
	struct fuse_init_out out;
	CHECK_OK(vfs_init(H.c, 0, &out));
	ALIVE();
}

static void destroy_then_requests(void)
{
	msg_build(&M, FUSE_DESTROY, 0, NULL, 0);
	raw_send(&M, HQ, CAP, &R);
	CHECK(R.used == 0 || (R.used >= 16 && R.oh.unique == M.unique), "DESTROY used %zd",
	      R.used);
	/* The queue still answers (with an error: the session is over). */
	for (int i = 0; i < 3; i++) {
		getattr_msg();
		raw_send(&M, HQ, CAP, &R);
		CHECK(R.used >= 16 && R.oh.unique == M.unique, "after DESTROY: used %zd",
		      R.used);
	}
	msg_build(&M, FUSE_MKDIR, FUSE_ROOT_ID, &(struct fuse_mkdir_in){ .mode = 0755 },
		  sizeof(struct fuse_mkdir_in));
	msg_append_str(&M, "late");
	raw_send(&M, HQ, CAP, &R);
	CHECK(R.used >= 16 && R.oh.unique == M.unique, "used %zd", R.used);
	H.c->inited = false; /* no second DESTROY at close */
}

/* ---- FORGET ---- */

static void hiprio_alive(void)
{
	/* A valid FORGET on hiprio completes; then the request queue. */
	int err = vfs_forget(H.c, 0xf00f00, 1);

	CHECK(err == 0, "FORGET on hiprio after the hostile input: %d", err);
	ALIVE();
}

static void forget_unknown(void)
{
	CHECK_OK(vfs_forget(H.c, 0xdeadbeef, 1));
	CHECK_OK(vfs_forget(H.c, 0, UINT64_MAX));
	CHECK_OK(vfs_forget(H.c, FUSE_ROOT_ID, UINT64_MAX));
	hiprio_alive();
}

static void forget_more_than_looked_up(void)
{
	struct fuse_entry_out e, e2;

	make_file("f", NULL);
	CHECK_OK(vfs_lookup(H.c, FUSE_ROOT_ID, "f", &e));
	CHECK_OK(vfs_forget(H.c, e.nodeid, 1000000));
	CHECK_OK(vfs_forget(H.c, e.nodeid, UINT64_MAX));
	/* The node id may be stale now; using it must not crash. */
	struct fuse_getattr_in in = { 0 };
	msg_build(&M, FUSE_GETATTR, e.nodeid, &in, sizeof(in));
	raw_send(&M, HQ, CAP, &R);
	CHECK(R.used >= 16 && R.oh.unique == M.unique, "used %zd", R.used);
	CHECK_OK(vfs_lookup(H.c, FUSE_ROOT_ID, "f", &e2));
	hiprio_alive();
}

static void batch_forget_lying_count(void)
{
	struct {
		struct fuse_batch_forget_in b;
		struct fuse_forget_one one[2];
	} a = { .b = { .count = 1000000 }, .one = { { 0xdead, 1 }, { FUSE_ROOT_ID, 5 } } };

	msg_build(&M, FUSE_BATCH_FORGET, 0, &a, sizeof(a));
	raw_send(&M, 0, 0, &R);
	CHECK(R.used == 0, "BATCH_FORGET used %zd", R.used);
	a.b.count = UINT32_MAX;
	msg_build(&M, FUSE_BATCH_FORGET, 0, &a, sizeof(a));
	raw_send(&M, 0, 0, &R);
	CHECK(R.used == 0, "BATCH_FORGET used %zd", R.used);
	/* Count 0, and a header without its struct. */
	a.b.count = 0;
	msg_build(&M, FUSE_BATCH_FORGET, 0, &a, sizeof(a.b));
	raw_send(&M, 0, 0, &R);
	msg_build(&M, FUSE_BATCH_FORGET, 0, &a, 2);
	raw_send(&M, 0, 0, &R);
	/* BATCH_FORGET on a request queue, with reply room. */
	a.b.count = 2;
	msg_build(&M, FUSE_BATCH_FORGET, 0, &a, sizeof(a));
	raw_send(&M, HQ, CAP, &R);
	CHECK(R.used >= 0, "BATCH_FORGET on a request queue: %zd", R.used);
	hiprio_alive();
}

static void forget_truncated(void)
{
	msg_build(&M, FUSE_FORGET, 0x1234, "abc", 3);
	raw_send(&M, 0, 0, &R);
	CHECK(R.used == 0, "used %zd", R.used);
	/* Garbage on hiprio: no header at all, and an unknown opcode. */
	msg_build(&M, FUSE_FORGET, 0, NULL, 0);
	M.len = 7;
	raw_send(&M, 0, 0, &R);
	opcode(4242);
	msg_build(&M, 4242, 0, "zz", 2);
	raw_send(&M, 0, CAP, &R);
	hiprio_alive();
}

static void interrupt_unknown(void)
{
	CHECK_OK(vfs_interrupt(H.c, 0x123456789ull));
	CHECK_OK(vfs_interrupt(H.c, 0));
	hiprio_alive();
}

/* 1,000,000 forgets (1000 BATCH_FORGETs of 1000 each, half of them
 * naming real nodes looked up many times) plus 20,000 single FORGETs:
 * the daemon's RSS stays bounded. */
static void forget_flood(void)
{
	enum { FILES = 64, BATCHES = 1000, PER = 1000, SINGLES = 20000 };
	uint64_t nodes[FILES];
	char name[32];
	size_t blen = sizeof(struct fuse_batch_forget_in) + PER * sizeof(struct fuse_forget_one);
	uint8_t *b = calloc(1, blen);
	struct fuse_batch_forget_in *bi = (void *)b;
	struct fuse_forget_one *one = (void *)(b + sizeof(*bi));
	struct rawmsg *m = malloc(sizeof(*m));
	struct vfs_async *done[64];
	long rss0, rss1;

	for (unsigned i = 0; i < FILES; i++) {
		struct fuse_entry_out e;
		snprintf(name, sizeof(name), "f%u", i);
		nodes[i] = make_file(name, NULL);
		for (int k = 0; k < 3; k++)
			if (vfs_lookup(H.c, FUSE_ROOT_ID, name, &e) == 0)
				nodes[i] = e.nodeid;
	}
	ALIVE();
	rss0 = daemon_rss_kb();
	bi->count = PER;
	for (unsigned n = 0; n < BATCHES; n++) {
		for (unsigned i = 0; i < PER; i++) {
			one[i].nodeid = (i & 1) ? nodes[(n + i) % FILES] : 0x100000000ull + n * PER + i;
			one[i].nlookup = 1;
		}
		msg_build(m, FUSE_BATCH_FORGET, 0, b, blen);
		int err;
		while (!vfs_async_submit(H.c, 0, m->buf, m->len, 0, NULL, &err)) {
			int k = vfs_async_reap(H.c, done, 64, 5000);
			CHECK(k > 0, "reap: %d", k);
			if (k <= 0)
				goto out;
			for (int j = 0; j < k; j++)
				vfs_async_free(H.c, done[j]);
		}
		if (vfs_async_pending(H.c) >= 32) {
			int k = vfs_async_reap(H.c, done, 64, 10000);
			CHECK(k > 0, "reap: %d", k);
			if (k <= 0)
				goto out;
			for (int j = 0; j < k; j++)
				vfs_async_free(H.c, done[j]);
		}
	}
	for (unsigned n = 0; n < SINGLES; n++) {
		struct fuse_forget_in fi = { .nlookup = 1 };
		int err;
		msg_build(m, FUSE_FORGET, 0x200000000ull + n, &fi, sizeof(fi));
		if (!vfs_async_submit(H.c, 0, m->buf, m->len, 0, NULL, &err) ||
		    vfs_async_pending(H.c) >= 32) {
			int k = vfs_async_reap(H.c, done, 64, 10000);
			CHECK(k > 0, "reap: %d", k);
			if (k <= 0)
				goto out;
			for (int j = 0; j < k; j++)
				vfs_async_free(H.c, done[j]);
		}
	}
	while (vfs_async_pending(H.c)) {
		int k = vfs_async_reap(H.c, done, 64, 10000);
		CHECK(k > 0, "final reap: %d", k);
		if (k <= 0)
			break;
		for (int j = 0; j < k; j++)
			vfs_async_free(H.c, done[j]);
	}
	rss1 = daemon_rss_kb();
	fprintf(stderr, "  daemon RSS %ld kB -> %ld kB after 1,020,000 forgets\n", rss0, rss1);
	CHECK(rss1 > 0 && rss1 - rss0 < 64 * 1024, "RSS grew from %ld kB to %ld kB", rss0, rss1);
	/* The files are still there, and the root is fine. */
	struct fuse_entry_out e;
	CHECK_OK(vfs_lookup(H.c, FUSE_ROOT_ID, "f1", &e));
out:
	hiprio_alive();
	free(b);
	free(m);
}

const struct hcase fuse_cases[] = {
	{ "fuse/hdr_len_bigger", hdr_len_bigger },
	{ "fuse/hdr_len_smaller", hdr_len_smaller },
	{ "fuse/hdr_len_zero", hdr_len_zero },
	{ "fuse/hdr_len_u32max", hdr_len_max },
	{ "fuse/hdr_total_extlen", hdr_total_extlen },
	{ "fuse/request_shorter_than_header", request_shorter_than_header },
	{ "fuse/args_truncated", args_truncated },
	{ "fuse/opcode_0", opcode_zero },
	{ "fuse/opcode_9999", opcode_9999 },
	{ "fuse/opcode_cuse_init_4096", opcode_cuse_init },
	{ "fuse/opcode_u32max", opcode_max },
	{ "fuse/opcode_setupmapping", opcode_setupmapping },
	{ "fuse/opcode_ioctl", opcode_ioctl },
	{ "fuse/unknown_nodeid", unknown_nodeid },
	{ "fuse/nodeid_zero", nodeid_zero },
	{ "fuse/unknown_parent_mkdir", unknown_nodeid_mkdir },
	{ "fuse/unknown_fh_read", unknown_fh_read },
	{ "fuse/unknown_fh_write", unknown_fh_write },
	{ "fuse/unknown_fh_release_flush_fsync", unknown_fh_release_flush_fsync },
	{ "fuse/unknown_fh_readdir", unknown_fh_readdir },
	{ "fuse/fh_of_the_other_kind", fh_of_other_kind },
	{ "fuse/name_without_nul", name_without_nul },
	{ "fuse/mkdir_name_without_nul", mkdir_name_without_nul },
	{ "fuse/name_with_slash", name_with_slash },
	{ "fuse/name_empty", name_empty },
	{ "fuse/name_longer_than_name_max", name_too_long },
	{ "fuse/rename_second_name_without_nul", rename_names_run_together },
	{ "fuse/symlink_target_without_nul", symlink_target_without_nul },
	{ "fuse/read_absurd_size_and_offset", read_absurd_size },
	{ "fuse/write_absurd_size_and_offset", write_absurd_size },
	{ "fuse/write_size_less_than_data", write_size_less_than_data },
	{ "fuse/readdir_absurd_size", readdir_absurd_size },
	{ "fuse/getxattr_absurd_size", getxattr_absurd_size },
	{ "fuse/setxattr_absurd_size", setxattr_absurd_size },
	{ "fuse/listxattr_absurd_size", listxattr_absurd_size },
	{ "fuse/copy_file_range_absurd", copy_file_range_absurd },
	{ "fuse/fallocate_absurd", fallocate_absurd },
	{ "fuse/lseek_absurd", lseek_absurd },
	{ "fuse/setattr_absurd_size", setattr_absurd_size },
	{ "fuse/init_twice", init_twice },
	{ "fuse/requests_before_init", before_init, .no_init = true },
	{ "fuse/destroy_then_requests", destroy_then_requests },
	{ "fuse/forget_unknown_nodes", forget_unknown },
	{ "fuse/forget_more_than_looked_up", forget_more_than_looked_up },
	{ "fuse/batch_forget_lying_count", batch_forget_lying_count },
	{ "fuse/forget_truncated_and_hiprio_garbage", forget_truncated },
	{ "fuse/interrupt_unknown", interrupt_unknown },
	{ "fuse/forget_flood_1M_rss_bounded", forget_flood, .timeout_s = 240, .slow = true },
};
const unsigned n_fuse_cases = sizeof(fuse_cases) / sizeof(fuse_cases[0]);
