/* test_daemon.c: promises of our daemon that a peer does not make, driven
 * through libvirtiofs-client: a blocked lock wait does not stall the queue
 * it came on, several request queues serve in parallel, a bad request is
 * answered and the queue keeps serving, the daemon exits with status 0
 * when the frontend disconnects and then says what each queue served.
 * Also the suite's concurrent load: several queues busy at once, with the
 * memory table replaced, with DESTROY and INIT again, and with the
 * frontend hanging up mid-flight (the load ThreadSanitizer needs to see
 * our threads overlap). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "vfs_internal.h"
#include "virtiofs_client.h"

static char share[300];

static struct vfs_client *session_open_with(struct daemon *d, struct vfs_client_options opts)
{
	int err = daemon_start(d, share);
	if (err) {
		CHECK(0, "daemon_start: %s", strerror(-err));
		return NULL;
	}
	struct vfs_client *c = vfs_client_open(d->sock, &opts, &err);
	CHECK(c != NULL, "vfs_client_open: %s", strerror(-err));
	if (!c)
		daemon_stop(d);
	return c;
}

static struct vfs_client *session_open(struct daemon *d, unsigned queues)
{
	return session_open_with(d, (struct vfs_client_options){ .request_queues = queues,
								   .timeout_ms = 5000 });
}

static uint64_t create_file(struct vfs_client *c, const char *name, uint64_t *fh)
{
	struct fuse_entry_out entry;
	struct fuse_open_out open_out;
	int err = vfs_create(c, FUSE_ROOT_ID, name, O_RDWR, S_IFREG | 0644, 0, &entry,
			     &open_out);
	CHECK(err == 0, "create %s: %s", name, strerror(-err));
	*fh = open_out.fh;
	return entry.nodeid;
}

/* Build a SETLKW request for a write lock on the whole file. */
static size_t setlkw_request(struct vfs_client *c, void *buf, uint64_t nodeid, uint64_t fh,
			     uint64_t owner)
{
	struct fuse_lk_in lk = {
		.fh = fh,
		.owner = owner,
		.lk = { .start = 0, .end = UINT64_MAX >> 1, .type = F_WRLCK, .pid = 4242 },
	};
	size_t len = vfs_msg_init(c, buf, FUSE_SETLKW, nodeid, sizeof(lk));
	memcpy((char *)buf + sizeof(struct fuse_in_header), &lk, sizeof(lk));
	return len;
}

/* While a SETLKW waits for a conflicting lock, other requests on the SAME
 * queue are answered; releasing the conflict completes the wait. */
static void test_blocked_lock_does_not_stall_queue(void)
{
	struct daemon d;
	struct vfs_client *c = session_open(&d, 1);
	if (!c)
		return;
	uint64_t fh_holder, fh_waiter;
	uint64_t node = create_file(c, "locked", &fh_holder);
	struct fuse_open_out open_out;
	CHECK_OK(vfs_open(c, node, O_RDWR, &open_out));
	fh_waiter = open_out.fh;

	struct fuse_file_lock whole = { .start = 0, .end = UINT64_MAX >> 1, .type = F_WRLCK,
					.pid = 1111 };
	int err = vfs_setlk(c, node, fh_holder, 1, &whole, false);
	CHECK(err == 0, "holder's SETLK: %s", strerror(-err));

	char req[256];
	size_t len = setlkw_request(c, req, node, fh_waiter, 2);
	struct vfs_async *wait = vfs_async_submit(c, 1, req, len, 4096, NULL, &err);
	CHECK(wait != NULL, "submit SETLKW: %s", strerror(-err));
	if (!wait)
		goto out;

	/* The wait cannot finish while the holder holds the lock... */
	struct vfs_async *done[4];
	int n = vfs_async_reap(c, done, 4, 200);
	CHECK(n == 0, "SETLKW completed while the conflicting lock was held (%d)", n);

	/* ...and the queue still serves other requests meanwhile. */
	for (int i = 0; i < 20; i++) {
		struct fuse_attr_out attr;
		err = vfs_getattr(c, node, VFS_NO_FH, &attr);
		CHECK(err == 0, "GETATTR %d behind a blocked SETLKW: %s", i, strerror(-err));
		if (err)
			break;
	}

	whole.type = F_UNLCK;
	err = vfs_setlk(c, node, fh_holder, 1, &whole, false);
	CHECK(err == 0, "holder's unlock: %s", strerror(-err));
	n = vfs_async_reap(c, done, 4, 10000);
	CHECK(n == 1, "SETLKW did not complete after the unlock (%d)", n);
	if (n == 1) {
		size_t used;
		const struct fuse_out_header *out = vfs_async_reply(done[0], &used);
		CHECK(used >= sizeof(*out) && out->error == 0, "SETLKW reply error %d",
		      used >= sizeof(*out) ? out->error : -1);
		vfs_async_free(c, done[0]);
	}
out:
	vfs_client_close(c);
	daemon_stop(&d);
}

/* INTERRUPT (on hiprio, served by another thread) takes a SETLKW out of
 * its wait, for a POSIX lock and for flock(): the wait ends with EINTR
 * and the queue keeps serving. */
static void test_interrupt_lock_wait(void)
{
	struct daemon d;
	struct vfs_client *c = session_open(&d, 1);
	if (!c)
		return;
	for (int flock = 0; flock <= 1; flock++) {
		char name[16];
		uint64_t fh_holder, fh_waiter;
		snprintf(name, sizeof(name), "intr%d", flock);
		uint64_t node = create_file(c, name, &fh_holder);
		struct fuse_open_out open_out;
		CHECK_OK(vfs_open(c, node, O_RDWR, &open_out));
		fh_waiter = open_out.fh;
		struct fuse_file_lock whole = { .start = 0, .end = UINT64_MAX >> 1,
						.type = F_WRLCK, .pid = 1111 };
		int err = vfs_setlk(c, node, fh_holder, 1, &whole, flock);
		CHECK(err == 0, "holder's lock (flock %d): %s", flock, strerror(-err));

		char req[256];
		size_t len = setlkw_request(c, req, node, fh_waiter, 2);
		struct fuse_in_header *ih = (struct fuse_in_header *)req;
		struct fuse_lk_in *lk = (struct fuse_lk_in *)(ih + 1);
		if (flock)
			lk->lk_flags = FUSE_LK_FLOCK;
		struct vfs_async *wait = vfs_async_submit(c, 1, req, len, 4096, NULL, &err);
		CHECK(wait != NULL, "submit SETLKW: %s", strerror(-err));
		if (!wait)
			break;
		struct vfs_async *done[4];
		int n = vfs_async_reap(c, done, 4, 200);
		CHECK(n == 0, "SETLKW (flock %d) completed while the lock was held", flock);
		CHECK_OK(vfs_interrupt(c, ih->unique));
		n = vfs_async_reap(c, done, 4, 5000);
		CHECK(n == 1, "SETLKW (flock %d) still waits after INTERRUPT (%d)", flock, n);
		if (n == 1) {
			size_t used;
			const struct fuse_out_header *out = vfs_async_reply(done[0], &used);
			CHECK(used >= sizeof(*out) && out->error == -EINTR,
			      "interrupted SETLKW (flock %d): error %d", flock,
			      used >= sizeof(*out) ? out->error : 1);
			vfs_async_free(c, done[0]);
		}
		struct fuse_attr_out attr;
		CHECK_OK(vfs_getattr(c, node, VFS_NO_FH, &attr));
		whole.type = F_UNLCK;
		CHECK_OK(vfs_setlk(c, node, fh_holder, 1, &whole, flock));
		CHECK_OK(vfs_release(c, node, fh_waiter, O_RDWR));
		CHECK_OK(vfs_release(c, node, fh_holder, O_RDWR));
	}
	vfs_client_close(c);
	daemon_stop(&d);
}

/* Four request queues: each answers its own requests. */
static void test_multiqueue(void)
{
	struct daemon d;
	struct vfs_client *c = session_open(&d, 4);
	if (!c)
		return;
	CHECK(vfs_client_request_queues(c) == 4, "got %u request queues",
	      vfs_client_request_queues(c));
	for (unsigned q = 1; q <= 4; q++) {
		vfs_client_set_queue(c, q);
		char name[32];
		snprintf(name, sizeof(name), "q%u", q);
		uint64_t fh;
		uint64_t node = create_file(c, name, &fh);
		char data[64];
		int len = snprintf(data, sizeof(data), "written on queue %u", q);
		ssize_t w = vfs_write(c, node, fh, 0, data, (size_t)len, 0);
		CHECK(w == len, "write on queue %u: %zd", q, w);
		char back[64] = "";
		ssize_t r = vfs_read(c, node, fh, 0, back, sizeof(back));
		CHECK(r == len && memcmp(back, data, (size_t)len) == 0,
		      "read on queue %u: %zd '%.*s'", q, r, (int)(r > 0 ? r : 0), back);
		CHECK_OK(vfs_release(c, node, fh, O_RDWR));
	}
	vfs_client_close(c);
	daemon_stop(&d);
}

/* A request whose header lies about its length gets EINVAL, and the next
 * valid request on the same queue is answered. */
static void test_bad_request_then_good(void)
{
	struct daemon d;
	struct vfs_client *c = session_open(&d, 1);
	if (!c)
		return;
	char req[128];
	size_t len = vfs_msg_init(c, req, FUSE_GETATTR, FUSE_ROOT_ID,
				  sizeof(struct fuse_getattr_in));
	memset(req + sizeof(struct fuse_in_header), 0, sizeof(struct fuse_getattr_in));
	((struct fuse_in_header *)req)->len = (uint32_t)len + 1000;
	char reply[256];
	ssize_t used = vfs_raw(c, 1, req, len, reply, sizeof(reply));
	CHECK(used == (ssize_t)sizeof(struct fuse_out_header), "lying header: used %zd", used);
	if (used >= (ssize_t)sizeof(struct fuse_out_header))
		CHECK(((struct fuse_out_header *)reply)->error == -EINVAL, "lying header: error %d",
		      ((struct fuse_out_header *)reply)->error);
	struct fuse_attr_out attr;
	int err = vfs_getattr(c, FUSE_ROOT_ID, VFS_NO_FH, &attr);
	CHECK(err == 0 && S_ISDIR(attr.attr.mode), "GETATTR after a bad request: %s",
	      strerror(-err));
	vfs_client_close(c);
	daemon_stop(&d);
}

/* INIT offers 1 MiB requests (max_pages 256) together with the file
 * system's own flags: a file system that replaced the server's flags once
 * left the guest at 128 KiB per READ/WRITE. */
static void test_init_negotiates_large_io(void)
{
	struct daemon d;
	struct vfs_client *c = session_open(&d, 1);
	if (!c)
		return;
	const struct fuse_init_out *init = vfs_client_init_out(c);
	CHECK(init->flags & FUSE_MAX_PAGES, "FUSE_MAX_PAGES not granted (flags %#x)", init->flags);
	CHECK(init->max_pages == 256, "max_pages %u, want 256", init->max_pages);
	CHECK(init->max_write == 1u << 20, "max_write %u, want 1 MiB", init->max_write);
	CHECK(init->flags & FUSE_POSIX_LOCKS, "FUSE_POSIX_LOCKS not granted with -o posix_lock");
	CHECK(vfs_client_max_io(c) == 1u << 20, "client I/O size %zu", vfs_client_max_io(c));
	vfs_client_close(c);
	daemon_stop(&d);
}

/* ---- several queues busy at once ----
 *
 * The other tests send one request at a time, and ThreadSanitizer only
 * sees the interleavings that happen: these keep several request queues
 * (and hiprio) busy at once on the same few files, as a guest with several
 * vCPUs does. Every reply must be well formed and belong to its request;
 * errors are fine (names come and go). Follow-ups keep the counts honest:
 * every entry a reply gives is forgotten again on hiprio, every handle an
 * OPEN gives is released. */

#define PAR_FILES 6
#define PAR_DIRS 3
#define PAR_DEPTH 24

static uint64_t par_rng = 0x2545f4914f6cdd1dull;

static uint32_t par_rand(void)
{
	par_rng ^= par_rng << 13;
	par_rng ^= par_rng >> 7;
	par_rng ^= par_rng << 17;
	return (uint32_t)(par_rng >> 11);
}

struct par_req {
	uint64_t unique;
	uint32_t opcode;
	uint64_t nodeid;
	bool busy;
};

struct par {
	struct vfs_client *c;
	unsigned first_q, nq;   /* random requests go to first_q .. first_q + nq - 1 */
	const char *tag;        /* prefix of the names in the share's root */
	unsigned answered, failed, bad;
	struct par_req reqs[2 * PAR_DEPTH];	/* the cookies of those in flight */
	/* Follow-ups (FORGET, RELEASE, OPEN) waiting for room in flight. */
	struct par_msg {
		unsigned q;
		size_t len, cap;
		uint8_t buf[128];
	} later[1024];
	unsigned nlater;
};

static unsigned par_queue(struct par *p)
{
	return p->first_q + par_rand() % p->nq;
}

static bool par_submit(struct par *p, unsigned q, const void *buf, size_t len, size_t cap)
{
	const struct fuse_in_header *ih = buf;
	struct par_req *r = NULL;
	int err;

	for (unsigned i = 0; i < sizeof(p->reqs) / sizeof(p->reqs[0]) && !r; i++)
		if (!p->reqs[i].busy)
			r = &p->reqs[i];
	if (!r)
		return false;
	*r = (struct par_req){ .unique = ih->unique, .opcode = ih->opcode, .nodeid = ih->nodeid };
	if (!vfs_async_submit(p->c, q, buf, len, cap, r, &err))
		return false;
	r->busy = true;
	return true;
}

/* Builds a request of opcode with args (and an optional name or two). */
static size_t par_msg(struct par *p, void *buf, uint32_t opcode, uint64_t nodeid,
		      const void *args, size_t alen, const char *n1, const char *n2)
{
	size_t l1 = n1 ? strlen(n1) + 1 : 0, l2 = n2 ? strlen(n2) + 1 : 0;
	size_t len = vfs_msg_init(p->c, buf, opcode, nodeid, alen + l1 + l2);
	char *at = (char *)buf + sizeof(struct fuse_in_header);

	if (alen)
		memcpy(at, args, alen);
	if (l1)
		memcpy(at + alen, n1, l1);
	if (l2)
		memcpy(at + alen + l1, n2, l2);
	return len;
}

static void par_later(struct par *p, unsigned q, uint32_t opcode, uint64_t nodeid,
		      const void *args, size_t alen, size_t cap)
{
	struct par_msg *m;

	if (p->nlater == sizeof(p->later) / sizeof(p->later[0]))
		return;	/* a leak of lookups or handles, which the daemon tolerates */
	m = &p->later[p->nlater++];
	m->q = q;
	m->cap = cap;
	m->len = par_msg(p, m->buf, opcode, nodeid, args, alen, NULL, NULL);
}

/* A reply that brought an entry or a handle owes a FORGET or a RELEASE. */
static void par_follow_up(struct par *p, const struct par_req *r, const void *data,
			  size_t len, bool open_entries)
{
	const struct fuse_entry_out *e = data;
	const struct fuse_open_out *o = data;

	switch (r->opcode) {
	case FUSE_LOOKUP:
	case FUSE_MKNOD:
	case FUSE_MKDIR:
		if (len < sizeof(*e))
			break;
		if (open_entries && S_ISREG(e->attr.mode)) {
			struct fuse_open_in oi = { .flags = O_RDWR };
			par_later(p, par_queue(p), FUSE_OPEN, e->nodeid, &oi, sizeof(oi),
				  sizeof(struct fuse_out_header) + sizeof(*o));
		}
		struct fuse_forget_in fi = { .nlookup = 1 };
		par_later(p, 0, FUSE_FORGET, e->nodeid, &fi, sizeof(fi), 0);
		break;
	case FUSE_OPEN:
		if (len < sizeof(*o))
			break;
		struct fuse_release_in ri = { .fh = o->fh, .flags = O_RDWR };
		par_later(p, par_queue(p), FUSE_RELEASE, r->nodeid, &ri, sizeof(ri),
			  sizeof(struct fuse_out_header));
		break;
	}
}

/* Reaps what completed (waiting up to ms for the first); checks each. */
static int par_reap(struct par *p, int ms, bool open_entries)
{
	struct vfs_async *done[64];
	int n = vfs_async_reap(p->c, done, 64, ms);

	for (int i = 0; i < n; i++) {
		struct par_req *r = vfs_async_cookie(done[i]);
		size_t used;
		const struct fuse_out_header *oh = vfs_async_reply(done[i], &used);

		if (r->opcode == FUSE_FORGET) {
			if (used != 0)
				p->bad++;
		} else if (used < sizeof(*oh) || oh->len != used || oh->unique != r->unique ||
			   oh->error > 0 || oh->error < -4095) {
			p->bad++;
		} else if (oh->error) {
			p->failed++;
		} else {
			p->answered++;
			par_follow_up(p, r, oh + 1, used - sizeof(*oh), open_entries);
		}
		r->busy = false;
		vfs_async_free(p->c, done[i]);
	}
	return n;
}

/* Sends the follow-ups, then keeps the depth under PAR_DEPTH. */
static bool par_make_room(struct par *p, bool open_entries)
{
	for (;;) {
		while (p->nlater && vfs_async_pending(p->c) < PAR_DEPTH) {
			struct par_msg *m = &p->later[p->nlater - 1];

			if (!par_submit(p, m->q, m->buf, m->len, m->cap))
				break;
			p->nlater--;
		}
		if (vfs_async_pending(p->c) < PAR_DEPTH && !p->nlater)
			return true;
		int n = par_reap(p, 10000, open_entries);
		if (n <= 0) {
			CHECK(0, "reap: %d with %u in flight", n, vfs_async_pending(p->c));
			return false;
		}
	}
}

static bool par_drain(struct par *p, bool open_entries)
{
	while (vfs_async_pending(p->c) || p->nlater) {
		if (!par_make_room(p, open_entries))
			return false;
		if (vfs_async_pending(p->c) && par_reap(p, 10000, open_entries) <= 0) {
			CHECK(0, "final reap with %u in flight", vfs_async_pending(p->c));
			return false;
		}
	}
	return true;
}

/* One random request on the files, directories and handles of the test. */
static void par_random(struct par *p, const uint64_t *file, const uint64_t *fh,
		       const uint64_t *dir, const uint64_t *dfh)
{
	unsigned k = par_rand() % PAR_FILES, j = par_rand() % PAR_DIRS, q = par_queue(p);
	uint64_t owner = 1 + par_rand() % 4;
	char n1[16], n2[16], data[256];
	uint8_t buf[512];
	size_t len = 0, cap = sizeof(struct fuse_out_header);

	snprintf(n1, sizeof(n1), "%c%u", par_rand() % 2 ? 's' : 't', par_rand() % 6);
	snprintf(n2, sizeof(n2), "t%u", par_rand() % 6);
	switch (par_rand() % 16) {
	case 0: {
		char name[16];
		snprintf(name, sizeof(name), "%sf%u", p->tag, k);
		len = par_msg(p, buf, FUSE_LOOKUP, FUSE_ROOT_ID, NULL, 0, name, NULL);
		cap += sizeof(struct fuse_entry_out);
		break;
	}
	case 1: {
		struct fuse_getattr_in in = { 0 };
		len = par_msg(p, buf, FUSE_GETATTR, file[k], &in, sizeof(in), NULL, NULL);
		cap += sizeof(struct fuse_attr_out);
		break;
	}
	case 2: {
		struct fuse_read_in in = { .fh = fh[k], .offset = par_rand() % 8192, .size = 4096 };
		len = par_msg(p, buf, FUSE_READ, file[k], &in, sizeof(in), NULL, NULL);
		cap += 4096;
		break;
	}
	case 3: {
		struct fuse_write_in in = { .fh = fh[k], .offset = par_rand() % 8192,
					    .size = sizeof(data) };
		memset(data, 'a' + (int)k, sizeof(data));
		len = par_msg(p, buf, FUSE_WRITE, file[k], &in, sizeof(in), NULL, NULL);
		memcpy(buf + len, data, sizeof(data));
		len += sizeof(data);
		((struct fuse_in_header *)(void *)buf)->len = (uint32_t)len;
		cap += sizeof(struct fuse_write_out);
		break;
	}
	case 4: {
		struct fuse_setattr_in in = { .valid = FATTR_SIZE, .size = par_rand() % 16384 };
		len = par_msg(p, buf, FUSE_SETATTR, file[k], &in, sizeof(in), NULL, NULL);
		cap += sizeof(struct fuse_attr_out);
		break;
	}
	case 5: {
		struct fuse_mkdir_in in = { .mode = 0755, .umask = 022 };
		n1[0] = 's';
		len = par_msg(p, buf, FUSE_MKDIR, dir[j], &in, sizeof(in), n1, NULL);
		cap += sizeof(struct fuse_entry_out);
		break;
	}
	case 6:
		n1[0] = 's';
		len = par_msg(p, buf, FUSE_RMDIR, dir[j], NULL, 0, n1, NULL);
		break;
	case 7: {
		struct fuse_mknod_in in = { .mode = S_IFREG | 0644, .umask = 022 };
		n1[0] = 't';
		len = par_msg(p, buf, FUSE_MKNOD, dir[j], &in, sizeof(in), n1, NULL);
		cap += sizeof(struct fuse_entry_out);
		break;
	}
	case 8:
		n1[0] = 't';
		len = par_msg(p, buf, FUSE_UNLINK, dir[j], NULL, 0, n1, NULL);
		break;
	case 9: {
		struct fuse_rename_in in = { .newdir = dir[par_rand() % PAR_DIRS] };
		len = par_msg(p, buf, FUSE_RENAME, dir[j], &in, sizeof(in), n1, n2);
		break;
	}
	case 10: {
		struct fuse_read_in in = { .fh = dfh[j], .size = 4096 };
		len = par_msg(p, buf, par_rand() % 2 ? FUSE_READDIR : FUSE_READDIRPLUS, dir[j],
			      &in, sizeof(in), NULL, NULL);
		cap += 4096;
		break;
	}
	case 11:
	case 12: {
		uint64_t start = par_rand() % 64;
		struct fuse_lk_in in = {
			.fh = fh[k], .owner = owner,
			.lk = { .start = start, .end = start + par_rand() % 64,
				.type = par_rand() % 3 ? F_WRLCK : F_UNLCK, .pid = 100 + (uint32_t)owner },
		};
		bool get = par_rand() % 2;
		len = par_msg(p, buf, get ? FUSE_GETLK : FUSE_SETLK, file[k], &in, sizeof(in),
			      NULL, NULL);
		cap += get ? sizeof(struct fuse_lk_out) : 0;
		break;
	}
	case 13: {
		struct fuse_open_in in = { .flags = par_rand() % 2 ? O_RDONLY : O_RDWR };
		len = par_msg(p, buf, FUSE_OPEN, file[k], &in, sizeof(in), NULL, NULL);
		cap += sizeof(struct fuse_open_out);
		break;
	}
	case 14: {
		struct fuse_flush_in in = { .fh = fh[k], .lock_owner = owner };
		len = par_msg(p, buf, FUSE_FLUSH, file[k], &in, sizeof(in), NULL, NULL);
		break;
	}
	default:
		n1[0] = 't';
		len = par_msg(p, buf, FUSE_LOOKUP, dir[j], NULL, 0, n1, NULL);
		cap += sizeof(struct fuse_entry_out);
		break;
	}
	while (!par_submit(p, q, buf, len, cap))
		if (par_reap(p, 10000, false) <= 0) {
			CHECK(0, "no room on queue %u", q);
			return;
		}
}

/* The random load of parallel_queues; with remap_every, the frontend
 * also sends the memory table again every that many requests (the daemon
 * maps it anew and its queues move to it while requests are in flight). */
static void parallel_load(bool remap)
{
	enum { ROUNDS = 6000, REMAP_EVERY = 150 };
	struct daemon d;
	struct vfs_client *c = session_open_with(&d, (struct vfs_client_options){
		.request_queues = 4, .timeout_ms = 5000, .no_mem_slots = remap });
	uint64_t file[PAR_FILES], fh[PAR_FILES], dir[PAR_DIRS], dfh[PAR_DIRS];
	struct par *p = calloc(1, sizeof(*p));
	unsigned remaps = 0;
	char name[16];

	if (!c) {
		free(p);
		return;
	}
	*p = (struct par){ .c = c, .first_q = 1, .nq = 4, .tag = remap ? "m" : "p" };
	for (unsigned k = 0; k < PAR_FILES; k++) {
		snprintf(name, sizeof(name), "%sf%u", p->tag, k);
		file[k] = create_file(c, name, &fh[k]);
	}
	for (unsigned j = 0; j < PAR_DIRS; j++) {
		struct fuse_entry_out e;
		struct fuse_open_out o;
		snprintf(name, sizeof(name), "%sd%u", p->tag, j);
		CHECK_OK(vfs_mkdir(c, FUSE_ROOT_ID, name, 0755, 0, &e));
		dir[j] = e.nodeid;
		CHECK_OK(vfs_opendir(c, dir[j], 0, &o));
		dfh[j] = o.fh;
	}
	int before = t_failed_checks;
	for (unsigned n = 0; n < ROUNDS && t_failed_checks == before; n++) {
		if (!par_make_room(p, false))
			break;
		par_random(p, file, fh, dir, dfh);
		if (remap && n % REMAP_EVERY == REMAP_EVERY - 1) {
			int err = vu_set_mem(&c->fe, &c->mem);
			CHECK(err == 0, "SET_MEM_TABLE again: %s", strerror(-err));
			remaps++;
		}
	}
	par_drain(p, false);
	fprintf(stderr, "  %u answered, %u errors, %u malformed, %u new memory tables\n",
		p->answered, p->failed, p->bad, remaps);
	CHECK(p->bad == 0, "%u malformed or mismatched replies", p->bad);
	CHECK(p->answered > ROUNDS / 4, "only %u of %u requests succeeded", p->answered, ROUNDS);
	struct fuse_attr_out attr;
	CHECK_OK(vfs_getattr(c, FUSE_ROOT_ID, VFS_NO_FH, &attr));
	free(p);
	vfs_client_close(c);
	daemon_stop(&d);
}

static void test_parallel_queues(void)
{
	parallel_load(false);
}

/* The same load while the VMM sends the memory table again and again (as
 * QEMU does when guest RAM is hot-plugged or a region is remapped). */
static void test_memory_table_replaced_under_load(void)
{
	parallel_load(true);
}

/* The VMM goes away while every queue has requests in flight: closing
 * sends DESTROY among them, then stops each queue (GET_VRING_BASE) while
 * its workers serve, then hangs up. The daemon must exit with status 0. */
static void test_disconnect_under_load(void)
{
	enum { ROUNDS = 20 };
	struct vfs_client *c;
	struct daemon d;
	struct par *p = calloc(1, sizeof(*p));
	char name[16];

	for (unsigned round = 0; round < ROUNDS && p; round++) {
		uint64_t file[PAR_FILES], fh[PAR_FILES], dir[PAR_DIRS], dfh[PAR_DIRS];
		int status = -1;
		pid_t got = 0;

		c = session_open(&d, 4);
		if (!c)
			break;
		*p = (struct par){ .c = c, .first_q = 1, .nq = 4, .tag = "x" };
		for (unsigned k = 0; k < PAR_FILES; k++) {
			snprintf(name, sizeof(name), "xf%u", k);
			file[k] = create_file(c, name, &fh[k]);
		}
		for (unsigned j = 0; j < PAR_DIRS; j++) {
			struct fuse_entry_out e;
			struct fuse_open_out o;
			snprintf(name, sizeof(name), "xd%u", j);
			int err = vfs_mkdir(c, FUSE_ROOT_ID, name, 0755, 0, &e);
			if (err == -EEXIST)
				err = vfs_lookup(c, FUSE_ROOT_ID, name, &e);
			CHECK(err == 0, "mkdir %s: %s", name, strerror(-err));
			dir[j] = e.nodeid;
			CHECK_OK(vfs_opendir(c, dir[j], 0, &o));
			dfh[j] = o.fh;
		}
		for (unsigned n = 0; n < 100 + round * 10 && vfs_async_pending(c) < PAR_DEPTH; n++)
			par_random(p, file, fh, dir, dfh);
		vfs_client_close(c);
		struct timespec tick = { 0, 10 * 1000 * 1000 };
		for (int i = 0; i < 1000 && got == 0; i++) {
			got = waitpid(d.pid, &status, WNOHANG);
			if (got == 0)
				nanosleep(&tick, NULL);
		}
		CHECK(got == d.pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "round %u: daemon ended with status %#x", round, got == d.pid ? status : -1);
		if (got == d.pid)
			d.pid = 0;
		daemon_stop(&d);
	}
	free(p);
}

/* A guest remounts: DESTROY and INIT again on queue 1 (the file system's
 * INIT state is rewritten) while queues 2-4 look up, open, create and
 * remove files. Requests between DESTROY and INIT fail (EIO, or stale
 * ids), but each must be answered well. */
static void test_init_again_while_serving(void)
{
	enum { CYCLES = 40, PER_CYCLE = 60 };
	struct daemon d;
	struct vfs_client *c = session_open(&d, 4);
	struct par *p = calloc(1, sizeof(*p));
	uint64_t fh;

	if (!c) {
		free(p);
		return;
	}
	*p = (struct par){ .c = c, .first_q = 2, .nq = 3 };
	vfs_client_set_queue(c, 1);
	uint64_t g = create_file(c, "g", &fh);
	CHECK_OK(vfs_release(c, g, fh, O_RDWR));
	int before = t_failed_checks;
	for (unsigned cycle = 0; cycle < CYCLES && t_failed_checks == before; cycle++) {
		for (unsigned n = 0; n < PER_CYCLE; n++) {
			uint8_t buf[256];
			unsigned q = par_queue(p);
			size_t len, cap = sizeof(struct fuse_out_header);
			char name[8];

			if (!par_make_room(p, true))
				break;
			snprintf(name, sizeof(name), "h%u", par_rand() % 4);
			switch (par_rand() % 4) {
			case 0:
				len = par_msg(p, buf, FUSE_LOOKUP, FUSE_ROOT_ID, NULL, 0, "g", NULL);
				cap += sizeof(struct fuse_entry_out);
				break;
			case 1: {
				struct fuse_mknod_in in = { .mode = S_IFREG | 0644, .umask = 022 };
				len = par_msg(p, buf, FUSE_MKNOD, FUSE_ROOT_ID, &in, sizeof(in), name,
					      NULL);
				cap += sizeof(struct fuse_entry_out);
				break;
			}
			case 2:
				len = par_msg(p, buf, FUSE_UNLINK, FUSE_ROOT_ID, NULL, 0, name, NULL);
				break;
			default: {
				struct fuse_getattr_in in = { 0 };
				len = par_msg(p, buf, FUSE_GETATTR, FUSE_ROOT_ID, &in, sizeof(in),
					      NULL, NULL);
				cap += sizeof(struct fuse_attr_out);
				break;
			}
			}
			while (!par_submit(p, q, buf, len, cap))
				if (par_reap(p, 10000, true) <= 0)
					break;
			if (n == PER_CYCLE / 2) {
				struct fuse_init_out out;
				CHECK_OK(vfs_destroy(c));
				CHECK_OK(vfs_init(c, 0, &out));
			}
		}
	}
	par_drain(p, true);
	fprintf(stderr, "  %u answered, %u errors, %u malformed\n", p->answered, p->failed,
		p->bad);
	CHECK(p->bad == 0, "%u malformed or mismatched replies", p->bad);
	CHECK(p->answered > 0, "nothing succeeded");
	struct fuse_attr_out attr;
	CHECK_OK(vfs_getattr(c, FUSE_ROOT_ID, VFS_NO_FH, &attr));
	free(p);
	vfs_client_close(c);
	daemon_stop(&d);
}

/* Closing the connection (as QEMU does when the VM stops) ends the daemon
 * with status 0. */
static void test_exit_status_on_disconnect(void)
{
	struct daemon d;
	struct vfs_client *c = session_open(&d, 1);
	if (!c)
		return;
	vfs_client_close(c);
	int status = -1;
	pid_t got = 0;
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	for (int i = 0; i < 1000 && got == 0; i++) { /* at most ~10 s */
		got = waitpid(d.pid, &status, WNOHANG);
		if (got == 0)
			nanosleep(&tick, NULL);
	}
	CHECK(got == d.pid, "daemon still running 10 s after the disconnect");
	if (got == d.pid) {
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "daemon exit status %#x, want a clean exit 0", status);
		d.pid = 0;
	}
	daemon_stop(&d);
}

/* At exit the daemon says, at info level, how many requests each queue
 * served: the requests sent on queue q are counted on queue q. */
static void test_queue_counts_logged(void)
{
	char log_path[400], text[8192] = "";
	struct daemon d;
	struct vfs_client *c;
	int saved, logfd, status = -1;
	pid_t got = 0;
	ssize_t n;

	snprintf(log_path, sizeof(log_path), "%s/queue-counts.log", t_tmpdir());
	logfd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	saved = dup(STDERR_FILENO);
	CHECK(logfd >= 0 && saved >= 0, "log file: %s", strerror(errno));
	dup2(logfd, STDERR_FILENO);	/* the daemon inherits it */
	bool verbose = getenv("VFS_TEST_VERBOSE") != NULL;
	setenv("VFS_TEST_VERBOSE", "1", 1);
	c = session_open(&d, 3);
	if (!verbose)
		unsetenv("VFS_TEST_VERBOSE");
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(logfd);
	if (!c)
		return;
	for (unsigned q = 1; q <= 3; q++) {
		struct fuse_attr_out attr;

		vfs_client_set_queue(c, q);
		for (unsigned i = 0; i < 5 * q; i++)
			CHECK_OK(vfs_getattr(c, FUSE_ROOT_ID, 0, &attr));
	}
	vfs_client_close(c);
	for (int i = 0; i < 1000 && got == 0; i++) { /* at most ~10 s */
		struct timespec tick = { 0, 10 * 1000 * 1000 };

		got = waitpid(d.pid, &status, WNOHANG);
		if (got == 0)
			nanosleep(&tick, NULL);
	}
	CHECK(got == d.pid, "daemon still running after the disconnect");
	if (got == d.pid)
		d.pid = 0;
	daemon_stop(&d);
	logfd = open(log_path, O_RDONLY | O_CLOEXEC);
	n = logfd >= 0 ? read(logfd, text, sizeof(text) - 1) : -1;
	if (logfd >= 0)
		close(logfd);
	text[n > 0 ? n : 0] = '\0';
	const char *line = strstr(text, "requests served: ");
	CHECK(line != NULL, "no 'requests served' line in the daemon's log:\n%s", text);
	for (unsigned q = 1; line && q <= 3; q++) {
		char key[32];
		const char *at;
		unsigned long count = 0;

		/* INIT and DESTROY come on a request queue too: a few more */
		snprintf(key, sizeof(key), "queue %u: ", q);
		at = strstr(line, key);
		if (at)
			count = strtoul(at + strlen(key), NULL, 10);
		CHECK(at && count >= 5 * q && count <= 5 * q + 3,
		      "queue %u served %lu, sent %u: %.*s", q, count, 5 * q,
		      (int)strcspn(line, "\n"), line);
	}
}

int main(void)
{
	const char *which = getenv("VFS_TEST_DAEMON");
	if (!which || strcmp(which, "ours") != 0) {
		printf("these tests are for our daemon only (VFS_TEST_DAEMON=ours)\n");
		return 77;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(share, sizeof(share), "%s/share", t_tmpdir());
	if (mkdir(share, 0755) < 0)
		return 1;
	t_run("blocked_lock_does_not_stall_queue", test_blocked_lock_does_not_stall_queue);
	t_run("interrupt_lock_wait", test_interrupt_lock_wait);
	t_run("multiqueue", test_multiqueue);
	t_run("bad_request_then_good", test_bad_request_then_good);
	t_run("init_negotiates_large_io", test_init_negotiates_large_io);
	t_run("parallel_queues", test_parallel_queues);
	t_run("memory_table_replaced_under_load", test_memory_table_replaced_under_load);
	t_run("init_again_while_serving", test_init_again_while_serving);
	t_run("disconnect_under_load", test_disconnect_under_load);
	t_run("exit_status_on_disconnect", test_exit_status_on_disconnect);
	t_run("queue_counts_logged", test_queue_counts_logged);
	return t_finish();
}
