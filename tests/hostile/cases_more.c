/* cases_more.c: reply room smaller than the answer, garbage flags and
 * modes, requests on the wrong queue, and a seeded flood of random
 * requests with many in flight. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hostile_util.h"

static struct rawmsg M;
static struct rawreply R;

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

/* The reply never exceeds the room given, and is well formed. */
static void check_room(size_t cap)
{
	raw_send(&M, HQ, cap, &R);
	CHECK(R.used >= 0 && (size_t)R.used <= cap, "used %zd with %zu bytes of room", R.used,
	      cap);
	CHECK(R.used == 0 || (R.used >= 16 && R.oh.len == (uint32_t)R.used &&
			      R.oh.unique == M.unique),
	      "malformed reply: used %zd len %u", R.used, R.oh.len);
}

static void read_bigger_than_reply_room(void)
{
	uint64_t fh;
	uint64_t node = make_file("f", &fh);
	static char data[65536];

	memset(data, 'x', sizeof(data));
	CHECK(vfs_write(H.c, node, fh, 0, data, 32768, 0) == 32768, "write");
	struct fuse_read_in in = { .fh = fh, .size = 32768 };
	msg_build(&M, FUSE_READ, node, &in, sizeof(in));
	check_room(100);
	check_room(16);
	ALIVE();
}

static void getattr_reply_room_partial(void)
{
	struct fuse_getattr_in in = { 0 };

	msg_build(&M, FUSE_GETATTR, FUSE_ROOT_ID, &in, sizeof(in));
	check_room(16 + 8);
	check_room(16);
	check_room(15);
	msg_build(&M, FUSE_LOOKUP, FUSE_ROOT_ID, ".", 2);
	check_room(40);
	ALIVE();
}

static void readdirplus_tiny_room(void)
{
	struct fuse_open_out o;
	char name[48];

	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "entry-with-a-long-name-%d", i);
		host_write(name, "");
	}
	CHECK_OK(vfs_opendir(H.c, FUSE_ROOT_ID, 0, &o));
	struct fuse_read_in in = { .fh = o.fh, .size = 4096 };
	msg_build(&M, FUSE_READDIRPLUS, FUSE_ROOT_ID, &in, sizeof(in));
	check_room(40);
	msg_build(&M, FUSE_READDIR, FUSE_ROOT_ID, &in, sizeof(in));
	check_room(30);
	in.size = 10;
	msg_build(&M, FUSE_READDIRPLUS, FUSE_ROOT_ID, &in, sizeof(in));
	check_room(4096);
	ALIVE();
}

static void xattr_readlink_tiny_room(void)
{
	struct fuse_entry_out e;
	char target[200];

	memset(target, 't', sizeof(target) - 1);
	target[sizeof(target) - 1] = 0;
	CHECK_OK(vfs_symlink(H.c, FUSE_ROOT_ID, "l", target, &e));
	msg_build(&M, FUSE_READLINK, e.nodeid, NULL, 0);
	check_room(20);
	uint64_t node = make_file("f", NULL);
	(void)vfs_setxattr(H.c, node, "user.v", target, sizeof(target), 0);
	struct fuse_getxattr_in gi = { .size = 4096 };
	msg_build(&M, FUSE_GETXATTR, node, &gi, sizeof(gi));
	msg_append_str(&M, "user.v");
	check_room(20);
	msg_build(&M, FUSE_LISTXATTR, node, &gi, sizeof(gi));
	check_room(18);
	ALIVE();
}

static void open_garbage_flags(void)
{
	uint64_t node = make_file("f", NULL);
	struct fuse_open_in in = { .flags = 0xffffffff };

	msg_build(&M, FUSE_OPEN, node, &in, sizeof(in));
	check_room(4096);
	in.flags = O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CREAT | O_TRUNC;
	msg_build(&M, FUSE_OPEN, node, &in, sizeof(in));
	check_room(4096);
	msg_build(&M, FUSE_OPENDIR, node, &in, sizeof(in));
	check_room(4096);
	ALIVE();
}

static void create_mknod_wrong_type_bits(void)
{
	struct fuse_create_in ci = { .flags = O_RDWR, .mode = S_IFCHR | 0666 };

	msg_build(&M, FUSE_CREATE, FUSE_ROOT_ID, &ci, sizeof(ci));
	msg_append_str(&M, "c1");
	check_room(4096);
	ci.mode = S_IFDIR | 0777;
	msg_build(&M, FUSE_CREATE, FUSE_ROOT_ID, &ci, sizeof(ci));
	msg_append_str(&M, "c2");
	check_room(4096);
	struct fuse_mknod_in mi = { .mode = S_IFDIR | 0777 };
	msg_build(&M, FUSE_MKNOD, FUSE_ROOT_ID, &mi, sizeof(mi));
	msg_append_str(&M, "m1");
	check_room(4096);
	mi.mode = 0xffffffff;
	msg_build(&M, FUSE_MKNOD, FUSE_ROOT_ID, &mi, sizeof(mi));
	msg_append_str(&M, "m2");
	check_room(4096);
	struct fuse_mkdir_in di = { .mode = 0xffffffff, .umask = 0xffffffff };
	msg_build(&M, FUSE_MKDIR, FUSE_ROOT_ID, &di, sizeof(di));
	msg_append_str(&M, "d1");
	check_room(4096);
	ALIVE();
}

static void rename2_garbage_flags(void)
{
	make_file("a", NULL);
	make_file("b", NULL);
	CHECK(vfs_rename2(H.c, FUSE_ROOT_ID, "a", FUSE_ROOT_ID, "b", 0xffffffff) < 0,
	      "RENAME2 with all flags accepted");
	(void)vfs_rename2(H.c, FUSE_ROOT_ID, "a", FUSE_ROOT_ID, "w", RENAME_WHITEOUT);
	CHECK(vfs_rename2(H.c, FUSE_ROOT_ID, "a", UINT64_MAX, "b", 0) < 0,
	      "RENAME2 into an unknown dir");
	ALIVE();
}

static void link_dir_and_root(void)
{
	struct fuse_entry_out e, d;

	CHECK_OK(vfs_mkdir(H.c, FUSE_ROOT_ID, "d", 0755, 0, &d));
	CHECK(vfs_link(H.c, d.nodeid, FUSE_ROOT_ID, "dl", &e) < 0, "hard link to a directory");
	CHECK(vfs_link(H.c, FUSE_ROOT_ID, d.nodeid, "rootlink", &e) < 0, "hard link to the root");
	CHECK(vfs_rename(H.c, FUSE_ROOT_ID, "d", d.nodeid, "inside", 0) < 0,
	      "directory moved into itself");
	ALIVE();
}

static void locks_bogus(void)
{
	uint64_t fh;
	uint64_t node = make_file("f", &fh);
	struct fuse_file_lock lk = { .start = 100, .end = 10, .type = 77, .pid = 1 };
	struct fuse_file_lock out;

	(void)vfs_getlk(H.c, node, 0xbad, 1, &lk, &out);
	(void)vfs_setlk(H.c, node, 0xbad, 1, &lk, false);
	(void)vfs_setlk(H.c, node, fh, 1, &lk, true);
	lk.type = F_WRLCK;
	lk.start = UINT64_MAX - 1;
	lk.end = UINT64_MAX;
	(void)vfs_setlk(H.c, node, fh, 1, &lk, false);
	(void)vfs_setlkw(H.c, node, 0xbad, 1, &lk, false);
	ALIVE();
}

static void request_on_hiprio(void)
{
	/* Ordinary requests on the hiprio queue: answered or skipped. */
	struct fuse_getattr_in in = { 0 };

	msg_build(&M, FUSE_GETATTR, FUSE_ROOT_ID, &in, sizeof(in));
	raw_send(&M, 0, 4096, &R);
	CHECK(R.used >= 0, "GETATTR on hiprio: %zd", R.used);
	msg_build(&M, FUSE_MKDIR, FUSE_ROOT_ID, &(struct fuse_mkdir_in){ .mode = 0755 },
		  sizeof(struct fuse_mkdir_in));
	msg_append_str(&M, "hi");
	raw_send(&M, 0, 0, &R);
	CHECK(R.used >= 0, "MKDIR on hiprio without reply room: %zd", R.used);
	CHECK_OK(vfs_forget(H.c, 0x4242, 1));
	ALIVE();
}

static void no_reply_room_at_all(void)
{
	/* A request that needs a reply but has no writable descriptor. */
	struct fuse_getattr_in in = { 0 };

	msg_build(&M, FUSE_GETATTR, FUSE_ROOT_ID, &in, sizeof(in));
	raw_send(&M, HQ, 0, &R);
	CHECK(R.used == 0, "used %zd", R.used);
	msg_build(&M, FUSE_MKDIR, FUSE_ROOT_ID, &(struct fuse_mkdir_in){ .mode = 0755 },
		  sizeof(struct fuse_mkdir_in));
	msg_append_str(&M, "noroom");
	raw_send(&M, HQ, 0, &R);
	CHECK(R.used == 0, "used %zd", R.used);
	ALIVE();
}

static void deep_tree_dotdot(void)
{
	uint64_t node = FUSE_ROOT_ID;
	struct fuse_entry_out e;
	struct fuse_attr_out root;

	CHECK_OK(vfs_getattr(H.c, FUSE_ROOT_ID, VFS_NO_FH, &root));
	for (int i = 0; i < 50; i++) {
		if (vfs_mkdir(H.c, node, "d", 0755, 0, &e))
			break;
		node = e.nodeid;
	}
	for (int i = 0; i < 60; i++) {
		if (vfs_lookup(H.c, node, "..", &e))
			break;
		node = e.nodeid;
	}
	CHECK(e.attr.ino == root.attr.ino, "60 x .. from depth 50 is not the root");
	CHECK(vfs_lookup(H.c, node, "sentinel", &e) < 0, "sentinel reached");
	ALIVE();
}

/* 20,000 random requests (seeded) with up to 64 in flight: every one is
 * answered with a well-formed header or completed empty. */
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 11);
}

static void random_request_flood(void)
{
	enum { TOTAL = 20000, DEPTH = 48 };
	uint64_t nodes[8] = { FUSE_ROOT_ID, 0, 0, 0, UINT64_MAX, 0xdead, 2, 3 };
	struct vfs_async *done[64];
	unsigned bad = 0, answered = 0;
	struct rawmsg *m = malloc(sizeof(*m));
	struct fuse_entry_out e;

	nodes[1] = make_file("f1", NULL);
	CHECK_OK(vfs_mkdir(H.c, FUSE_ROOT_ID, "dd", 0755, 0, &e));
	nodes[2] = e.nodeid;
	nodes[3] = make_file("f2", NULL);
	for (unsigned n = 0; n < TOTAL; n++) {
		uint32_t op = rnd() % 53;
		uint8_t args[256];
		size_t alen = rnd() % sizeof(args);
		int err;

		if (op == FUSE_INIT || op == FUSE_DESTROY || op == FUSE_SETLKW)
			op = FUSE_GETATTR;
		for (size_t i = 0; i < alen; i++)
			args[i] = (uint8_t)rnd();
		/* Often make the tail a short printable name with its NUL. */
		if (alen > 8 && rnd() % 2) {
			memcpy(args + alen - 4, "nm", 2);
			args[alen - 2] = (uint8_t)('a' + rnd() % 4);
			args[alen - 1] = 0;
		}
		msg_build(m, op, nodes[rnd() % 8], args, alen);
		unsigned q = (op == FUSE_FORGET || op == FUSE_BATCH_FORGET) ? 0 : HQ;
		size_t cap = (op == FUSE_FORGET || op == FUSE_BATCH_FORGET) ? 0 : 1 + rnd() % 8192;
		while (!vfs_async_submit(H.c, q, m->buf, m->len, cap, NULL, &err) ||
		       vfs_async_pending(H.c) >= DEPTH) {
			int k = vfs_async_reap(H.c, done, 64, 10000);
			CHECK(k > 0, "reap: %d after %u requests", k, n);
			if (k <= 0)
				goto out;
			for (int j = 0; j < k; j++) {
				size_t used;
				const struct fuse_out_header *oh = vfs_async_reply(done[j], &used);
				if (used && (used < 16 || oh->len != used))
					bad++;
				else if (used)
					answered++;
				vfs_async_free(H.c, done[j]);
			}
			if (err == 0)
				break;
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
	fprintf(stderr, "  %u answered, %u malformed replies\n", answered, bad);
	CHECK(bad == 0, "%u malformed replies", bad);
out:
	free(m);
	ALIVE();
}

/* LOOKUPs on the request queue race FORGETs of the same nodes on hiprio
 * (two daemon threads): no crash, every LOOKUP answered well. */
static void forget_lookup_race(void)
{
	enum { FILES = 16, ROUNDS = 4000 };
	char name[32];
	struct vfs_async *done[64];
	struct rawmsg *m = malloc(sizeof(*m));
	unsigned bad = 0;
	uint64_t ids[FILES] = { 0 };

	for (unsigned i = 0; i < FILES; i++) {
		snprintf(name, sizeof(name), "r%u", i);
		ids[i] = make_file(name, NULL);
	}
	for (unsigned n = 0; n < ROUNDS; n++) {
		unsigned i = n % FILES;
		int err;

		snprintf(name, sizeof(name), "r%u", i);
		msg_build(m, FUSE_LOOKUP, FUSE_ROOT_ID, name, strlen(name) + 1);
		if (!vfs_async_submit(H.c, HQ, m->buf, m->len, 256, NULL, &err))
			CHECK(0, "submit lookup: %d", err);
		struct fuse_forget_in fi = { .nlookup = 1 + n % 3 };
		msg_build(m, FUSE_FORGET, ids[(i + 3) % FILES], &fi, sizeof(fi));
		if (!vfs_async_submit(H.c, 0, m->buf, m->len, 0, NULL, &err))
			CHECK(0, "submit forget: %d", err);
		while (vfs_async_pending(H.c) >= 40) {
			int k = vfs_async_reap(H.c, done, 64, 10000);
			CHECK(k > 0, "reap: %d", k);
			if (k <= 0)
				goto out;
			for (int j = 0; j < k; j++) {
				size_t used;
				const struct fuse_out_header *oh = vfs_async_reply(done[j], &used);
				if (used && (used < 16 || oh->len != used))
					bad++;
				vfs_async_free(H.c, done[j]);
			}
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
	CHECK(bad == 0, "%u malformed replies", bad);
out:
	free(m);
	CHECK_OK(vfs_forget(H.c, 0x4242, 1));
	ALIVE();
}

/* INIT offering protocol 7.0 (the smallest replies), then requests. */
static void init_minor_zero(void)
{
	struct fuse_init_in in = { .major = FUSE_KERNEL_VERSION, .minor = 0,
				   .max_readahead = UINT32_MAX, .flags = UINT32_MAX };
	struct fuse_getattr_in gi = { 0 };

	msg_build(&M, FUSE_INIT, 0, &in, sizeof(in));
	check_room(4096);
	msg_build(&M, FUSE_GETATTR, FUSE_ROOT_ID, &gi, sizeof(gi));
	check_room(4096);
	CHECK(R.used >= 16 && R.oh.unique == M.unique, "GETATTR after INIT 7.0: used %zd",
	      R.used);
	msg_build(&M, FUSE_LOOKUP, FUSE_ROOT_ID, "x", 2);
	check_room(4096);
}

static void init_garbage_flags(void)
{
	struct fuse_init_in in = { .major = FUSE_KERNEL_VERSION, .minor = 99,
				   .max_readahead = UINT32_MAX, .flags = UINT32_MAX,
				   .flags2 = UINT32_MAX };
	struct fuse_init_out *io;

	memset(in.unused, 0xff, sizeof(in.unused));
	msg_build(&M, FUSE_INIT, 0, &in, sizeof(in));
	check_room(4096);
	io = (void *)R.data;
	CHECK(R.oh.error == 0, "INIT refused: %d", R.oh.error);
	CHECK(!(io->flags & FUSE_MAP_ALIGNMENT) && !(io->flags & FUSE_SECURITY_CTX),
	      "daemon agreed to flags it does not implement: %#x", io->flags);
	ALIVE();
}

/* The guest holds a lock and then sends more conflicting SETLKWs than
 * the daemon has threads: each one parks a thread. Other requests on
 * the same queue must still be answered (a guest must not be able to
 * stop its queue with lock waits). */
static void setlkw_storm(void)
{
	enum { WAITERS = 80 };
	uint64_t fh;
	uint64_t node = make_file("locked", &fh);
	struct fuse_file_lock whole = { .start = 0, .end = UINT64_MAX >> 1, .type = F_WRLCK,
					.pid = 1 };
	struct rawmsg *m = malloc(sizeof(*m));
	struct vfs_async *done[64];
	unsigned answered = 0;
	int err = vfs_setlk(H.c, node, fh, 1, &whole, false);

	if (err) {
		fprintf(stderr, "  SETLK: %d (locks not enabled?)\n", err);
		CHECK(err == -ENOSYS || err == -EOPNOTSUPP, "SETLK: %d", err);
		free(m);
		ALIVE();
		return;
	}
	for (unsigned i = 0; i < WAITERS; i++) {
		struct fuse_open_out o;
		struct fuse_lk_in lk = { .owner = 1000 + i, .lk = whole };

		err = vfs_open(H.c, node, O_RDWR, &o);
		CHECK(err == 0, "OPEN %u while %u SETLKWs wait: %d", i, i, err);
		if (err)
			break;
		lk.fh = o.fh;
		lk.lk.pid = 2 + i;
		msg_build(m, FUSE_SETLKW, node, &lk, sizeof(lk));
		if (!vfs_async_submit(H.c, HQ, m->buf, m->len, 64, NULL, &err))
			CHECK(0, "submit SETLKW: %d", err);
		/* Collect waits that were refused or answered early. */
		int k = vfs_async_reap(H.c, done, 64, 0);
		for (int j = 0; j < k; j++, answered++)
			vfs_async_free(H.c, done[j]);
	}
	{
		int k = vfs_async_reap(H.c, done, 64, 200);
		for (int j = 0; j < k; j++, answered++)
			vfs_async_free(H.c, done[j]);
	}
	fprintf(stderr, "  %u of %u SETLKWs answered while the lock is held\n", answered,
		WAITERS);
	ALIVE();
	/* Release: every wait ends. */
	whole.type = F_UNLCK;
	CHECK_OK(vfs_setlk(H.c, node, fh, 1, &whole, false));
	free(m);
}

const struct hcase more_cases[] = {
	{ "more/read_bigger_than_reply_room", read_bigger_than_reply_room },
	{ "more/getattr_reply_room_partial", getattr_reply_room_partial },
	{ "more/readdirplus_tiny_room", readdirplus_tiny_room },
	{ "more/xattr_readlink_tiny_room", xattr_readlink_tiny_room },
	{ "more/open_garbage_flags", open_garbage_flags },
	{ "more/create_mknod_wrong_type_bits", create_mknod_wrong_type_bits },
	{ "more/rename2_garbage_flags", rename2_garbage_flags },
	{ "more/link_dir_and_root", link_dir_and_root },
	{ "more/locks_bogus", locks_bogus },
	{ "more/requests_on_hiprio", request_on_hiprio },
	{ "more/no_reply_room_at_all", no_reply_room_at_all },
	{ "more/deep_tree_dotdot", deep_tree_dotdot },
	{ "more/forget_lookup_race", forget_lookup_race, .timeout_s = 120, .slow = true },
	{ "more/init_minor_zero", init_minor_zero, .no_init = true },
	{ "more/init_garbage_flags", init_garbage_flags, .no_init = true },
	{ "more/setlkw_storm_queue_keeps_serving", setlkw_storm,
	  .extra_args = "-o posix_lock -o flock", .timeout_s = 120 },
	{ "more/random_request_flood_20k", random_request_flood, .timeout_s = 180, .slow = true },
};
const unsigned n_more_cases = sizeof(more_cases) / sizeof(more_cases[0]);
