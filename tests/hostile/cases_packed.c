/* cases_packed.c: hostile packed rings (VIRTIO_F_RING_PACKED), written
 * by hand into the request queue of a session that negotiated them.
 * A malformed chain must be completed with length 0 under its buffer id
 * and skipped as a whole (the used descriptor moves the ring on by the
 * descriptors it took); a descriptor whose wrap bits say it is not
 * available must not be consumed; the queue must keep serving. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hostile_util.h"

#define RQ HQ
#define F_NEXT VRING_DESC_F_NEXT
#define F_WRITE VRING_DESC_F_WRITE
#define F_IND VRING_DESC_F_INDIRECT
#define F_AVAIL (1u << VRING_PACKED_DESC_F_AVAIL)
#define F_USED (1u << VRING_PACKED_DESC_F_USED)
#define WAIT_MS 3000
#define QUIET_MS 300

/* A valid GETATTR(root) request in guest memory, and reply room. */
struct preq {
	struct gbuf req, reply;
	uint64_t unique;
};

static struct preq preq_getattr(void)
{
	struct fuse_getattr_in in = { 0 };
	struct rawmsg *m = malloc(sizeof(*m));
	struct preq g;

	msg_build(m, FUSE_GETATTR, FUSE_ROOT_ID, &in, sizeof(in));
	g.req = gbuf_alloc(m->len);
	memcpy(g.req.hva, m->buf, m->len);
	g.reply = gbuf_alloc(4096);
	g.reply.len = sizeof(struct fuse_out_header) + sizeof(struct fuse_attr_out);
	g.unique = m->unique;
	free(m);
	return g;
}

static bool preq_ok(const struct preq *g, long used)
{
	const struct fuse_out_header *oh = (const void *)g->reply.hva;
	const struct fuse_attr_out *ao = (const void *)(g->reply.hva + sizeof(*oh));

	return used == (long)(sizeof(*oh) + sizeof(*ao)) && oh->error == 0 &&
	       oh->unique == g->unique && oh->len == used && S_ISDIR(ao->attr.mode);
}

static long ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Wait up to ms for the next used descriptor (on the call fd, asked for
 * at the next used position); move on by skip. -ETIMEDOUT if none. */
static long pused_wait(unsigned skip, uint16_t *id, int ms)
{
	struct vring_queue *q = hq(RQ);
	struct pollfd pfd = { .fd = q->call_fd, .events = POLLIN };
	struct timespec t0;
	uint32_t len;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		long left = ms - ms_since(&t0);
		uint64_t v;

		if (vq_praw_pop_used(q, skip, id, &len))
			return (long)len;
		if (vq_enable_cb(q))
			continue;
		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&pfd, 1, (int)left) == 1)
			(void)!read(q->call_fd, &v, sizeof(v));
	}
}

/* Make the chain written with vq_praw_desc available, expecting the
 * device to take consumed descriptors; wait for its used descriptor. */
static long ppublish_wait(unsigned consumed, uint16_t *id)
{
	vq_praw_publish(hq(RQ), consumed);
	return pused_wait(consumed, id, WAIT_MS);
}

/* d(k, addr, len, id, flags) with honest wrap bits. */
static void d(unsigned k, uint64_t addr, uint32_t len, uint16_t id, uint16_t flags)
{
	vq_praw_desc(hq(RQ), k, addr, len, id, flags, true);
}

static uint16_t new_id(void)
{
	uint16_t id;

	if (vq_pid_alloc(hq(RQ), &id)) {
		fprintf(stderr, "no free buffer id\n");
		abort();
	}
	return id;
}

/* The chain of n descriptors (written, head held back) must be completed
 * with length 0 under want_id and skipped as a whole. */
static void expect_skipped(unsigned n, uint16_t id, uint16_t want_id)
{
	uint16_t got = 0;
	long used = ppublish_wait(n, &got);

	CHECK(used == 0, "malformed chain: used len %ld (want a zero-length completion)", used);
	CHECK(used < 0 || got == want_id, "completed under id %u, not %u", got, want_id);
	if (id < hq(RQ)->num)
		vq_pid_free(hq(RQ), id);
	ALIVE();
}

/* The chain must be answered: GETATTR's reply. */
static void expect_served(unsigned n, uint16_t id, const struct preq *g)
{
	uint16_t got = 0;
	long used = ppublish_wait(n, &got);

	CHECK(preq_ok(g, used), "chain: used %ld error %d", used,
	      ((struct fuse_out_header *)(void *)g->reply.hva)->error);
	CHECK(used < 0 || got == id, "completed under id %u, not %u", got, id);
	vq_pid_free(hq(RQ), id);
	ALIVE();
}

/* A bad request descriptor, then good reply room. The id is only in
 * the last descriptor, as the spec has it: the device must walk the
 * chain to its end to give it back. */
static void bad_request_desc(uint64_t addr, uint32_t len)
{
	struct preq g = preq_getattr();
	uint16_t id = new_id();

	d(0, addr, len, 0xffff, F_NEXT);
	d(1, g.reply.gpa, (uint32_t)g.reply.len, id, F_WRITE);
	expect_skipped(2, id, id);
}

/* A good request, then reply room at addr/len. */
static void bad_reply_desc(uint64_t addr, uint32_t len)
{
	struct preq g = preq_getattr();
	uint16_t id = new_id();

	d(0, g.req.gpa, (uint32_t)g.req.len, id, F_NEXT);
	d(1, addr, len, id, F_WRITE);
	expect_skipped(2, id, id);
}

static void desc_addr_zero(void)
{
	bad_request_desc(0, 64);
}

static void desc_past_end(void)
{
	bad_request_desc(guest_end_gpa(), 64);
}

static void desc_partly_past_end(void)
{
	bad_request_desc(guest_end_gpa() - 32, 64);
}

static void desc_huge_len(void)
{
	struct preq g = preq_getattr();

	bad_request_desc(g.req.gpa, 0xffffffffu);
}

static void desc_addr_wraps(void)
{
	bad_request_desc(UINT64_MAX - 15, 64);
}

static void reply_outside(void)
{
	bad_reply_desc(guest_end_gpa() + 0x10000, 4096);
}

static void chain_works(void)
{
	struct preq g = preq_getattr();
	uint16_t id = new_id();

	/* Only the last descriptor's id counts. */
	d(0, g.req.gpa, (uint32_t)g.req.len, 0xffff, F_NEXT);
	d(1, g.reply.gpa, 16, 0x1234, F_WRITE | F_NEXT);
	d(2, g.reply.gpa + 16, (uint32_t)g.reply.len - 16, id, F_WRITE);
	expect_served(3, id, &g);
}

static void header_split_descriptors(void)
{
	struct preq g = preq_getattr();
	uint16_t id = new_id();
	unsigned n = 0, off = 0, piece = 1;

	while (off < g.req.len) {
		unsigned l = piece < g.req.len - off ? piece : (unsigned)(g.req.len - off);

		d(n++, g.req.gpa + off, l, id, F_NEXT);
		off += l;
		piece = piece % 7 + 1;
	}
	for (off = 0; off < g.reply.len; off += 5) {
		unsigned l = g.reply.len - off < 5 ? (unsigned)(g.reply.len - off) : 5;
		bool last = off + l >= g.reply.len;

		d(n++, g.reply.gpa + off, l, id, F_WRITE | (last ? 0 : F_NEXT));
	}
	expect_served(n, id, &g);
}

/* NEXT on every free descriptor: no end inside the ring. */
static void chain_without_end(void)
{
	struct preq g = preq_getattr();
	unsigned n = hq(RQ)->num, k;
	uint16_t id = new_id();

	for (k = 0; k < n; k++)
		d(k, g.req.gpa, 8, (uint16_t)(k + 1 == n ? id : 0xffff), F_NEXT);
	expect_skipped(n, id, id);
}

/* The second descriptor carries last lap's wrap bits: the chain ends
 * there, unfinished; the head alone is skipped. */
static void chain_into_unavailable(void)
{
	struct preq g = preq_getattr();
	uint16_t id = new_id();
	struct vring_queue *q = hq(RQ);

	d(0, g.req.gpa, (uint32_t)g.req.len, id, F_NEXT);
	vq_praw_desc(q, 1, g.reply.gpa, (uint32_t)g.reply.len, id,
		     (uint16_t)(F_WRITE | (vq_praw_wrap_bits(q, 1) ^ (F_AVAIL | F_USED))), false);
	expect_skipped(1, id, id);
}

static void kick(void)
{
	uint64_t one = 1;

	CHECK(write(hq(RQ)->kick_fd, &one, sizeof(one)) == sizeof(one), "kick");
}

/* The head's wrap bits lie: nothing is consumed, even kicked; once the
 * driver writes them right the request is served. */
static void head_wrap_lie(uint16_t lie)
{
	struct preq g = preq_getattr();
	struct vring_queue *q = hq(RQ);
	uint16_t id = new_id(), got;

	vq_praw_desc(q, 0, g.req.gpa, (uint32_t)g.req.len, id, (uint16_t)(F_NEXT | lie), false);
	d(1, g.reply.gpa, (uint32_t)g.reply.len, id, F_WRITE);
	uint16_t pos = q->next_avail;
	struct pollfd pfd = { .fd = q->call_fd, .events = POLLIN };

	vq_praw_publish(q, 0);
	kick();
	/* A used descriptor would replace its length and flags (and signal:
	 * the driver asks for a call at this very position). */
	(void)poll(&pfd, 1, QUIET_MS);
	CHECK(q->pdesc[pos].len == g.req.len && q->pdesc[pos].flags == (F_NEXT | lie),
	      "a descriptor not available was used: len %u flags %#x", q->pdesc[pos].len,
	      q->pdesc[pos].flags);
	(void)got;
	d(0, g.req.gpa, (uint32_t)g.req.len, id, F_NEXT);
	expect_served(2, id, &g);
}

static void head_last_lap_bits(void)
{
	head_wrap_lie((uint16_t)(vq_praw_wrap_bits(hq(RQ), 0) ^ (F_AVAIL | F_USED)));
}

static void head_looks_used(void)
{
	head_wrap_lie(F_AVAIL | F_USED);
}

static void head_no_bits(void)
{
	head_wrap_lie(0);
}

static void id_out_of_range(uint16_t bad)
{
	struct preq g = preq_getattr();
	uint16_t id = new_id();

	d(0, g.req.gpa, (uint32_t)g.req.len, bad, F_NEXT);
	d(1, g.reply.gpa, (uint32_t)g.reply.len, bad, F_WRITE);
	expect_skipped(2, id, bad);
}

static void id_ring_size(void)
{
	id_out_of_range((uint16_t)hq(RQ)->num);
}

static void id_max(void)
{
	id_out_of_range(0xffff);
}

/* Two chains under one id, published together: each is answered or
 * skipped, nothing hangs. */
static void same_id_twice(void)
{
	struct preq g = preq_getattr(), h = preq_getattr();
	struct vring_queue *q = hq(RQ);
	uint16_t id = new_id(), got[2] = { 0, 0 };
	long used[2];

	d(0, g.req.gpa, (uint32_t)g.req.len, id, F_NEXT);
	d(1, g.reply.gpa, (uint32_t)g.reply.len, id, F_WRITE);
	d(2, h.req.gpa, (uint32_t)h.req.len, id, F_NEXT);
	d(3, h.reply.gpa, (uint32_t)h.reply.len, id, F_WRITE);
	vq_praw_publish(q, 4);
	used[0] = pused_wait(2, &got[0], WAIT_MS);
	used[1] = pused_wait(2, &got[1], WAIT_MS);
	CHECK(used[0] >= 0 && used[1] >= 0, "used %ld %ld", used[0], used[1]);
	CHECK(got[0] == id && got[1] == id, "ids %u %u", got[0], got[1]);
	vq_pid_free(q, id);
	ALIVE();
}

/* An indirect table of n entries in guest memory. */
static struct gbuf ptable(unsigned n)
{
	return gbuf_alloc(n * sizeof(struct vring_packed_desc));
}

static void tset(struct gbuf *t, unsigned i, uint64_t addr, uint32_t len, uint16_t flags)
{
	struct vring_packed_desc *e = (struct vring_packed_desc *)(void *)t->hva + i;

	e->addr = addr;
	e->len = len;
	e->id = 0;
	e->flags = flags;
}

static void publish_indirect(struct gbuf *t, uint32_t len, uint16_t extra, bool ok,
			     const struct preq *g)
{
	uint16_t id = new_id();

	d(0, t ? t->gpa : 0, len, id, (uint16_t)(F_IND | extra));
	if (extra & F_NEXT) {
		d(1, g->reply.gpa, (uint32_t)g->reply.len, id, F_WRITE);
		expect_skipped(2, id, id);
	} else if (ok) {
		expect_served(1, id, g);
	} else {
		expect_skipped(1, id, id);
	}
}

static void indirect_valid(void)
{
	struct preq g = preq_getattr();
	struct gbuf t = ptable(2);

	tset(&t, 0, g.req.gpa, (uint32_t)g.req.len, 0);
	tset(&t, 1, g.reply.gpa, (uint32_t)g.reply.len, F_WRITE);
	publish_indirect(&t, 32, 0, true, &g);
}

static void indirect_nested(void)
{
	struct preq g = preq_getattr();
	struct gbuf inner = ptable(2), outer = ptable(1);

	tset(&inner, 0, g.req.gpa, (uint32_t)g.req.len, 0);
	tset(&inner, 1, g.reply.gpa, (uint32_t)g.reply.len, F_WRITE);
	tset(&outer, 0, inner.gpa, 32, F_IND);
	publish_indirect(&outer, 16, 0, false, &g);
}

static void indirect_self_reference(void)
{
	struct preq g = preq_getattr();
	struct gbuf t = ptable(1);

	tset(&t, 0, t.gpa, 16, F_IND);
	publish_indirect(&t, 16, 0, false, &g);
}

static void indirect_len_not_multiple(void)
{
	struct preq g = preq_getattr();
	struct gbuf t = ptable(2);

	tset(&t, 0, g.req.gpa, (uint32_t)g.req.len, 0);
	tset(&t, 1, g.reply.gpa, (uint32_t)g.reply.len, F_WRITE);
	publish_indirect(&t, 20, 0, false, &g);
}

static void indirect_len_zero(void)
{
	struct preq g = preq_getattr();
	struct gbuf t = ptable(1);

	publish_indirect(&t, 0, 0, false, &g);
}

static void indirect_len_huge(void)
{
	struct preq g = preq_getattr();
	struct gbuf t = ptable(1);

	publish_indirect(&t, 0xfffffff0u, 0, false, &g);
}

static void indirect_outside_memory(void)
{
	struct preq g = preq_getattr();
	struct gbuf t = { .gpa = guest_end_gpa() + 4096 };

	publish_indirect(&t, 32, 0, false, &g);
}

static void indirect_with_next(void)
{
	struct preq g = preq_getattr();
	struct gbuf t = ptable(1);

	tset(&t, 0, g.req.gpa, (uint32_t)g.req.len, 0);
	publish_indirect(&t, 16, F_NEXT, false, &g);
}

/* An indirect descriptor after a NEXT: a chain may not mix them. */
static void indirect_after_next(void)
{
	struct preq g = preq_getattr();
	struct gbuf t = ptable(1);
	uint16_t id = new_id();

	tset(&t, 0, g.reply.gpa, (uint32_t)g.reply.len, F_WRITE);
	d(0, g.req.gpa, (uint32_t)g.req.len, id, F_NEXT);
	d(1, t.gpa, 16, id, F_IND);
	expect_skipped(2, id, id);
}

static void indirect_entry_outside(void)
{
	struct preq g = preq_getattr();
	struct gbuf t = ptable(2);

	tset(&t, 0, UINT64_MAX - 8, 64, 0);
	tset(&t, 1, g.reply.gpa, (uint32_t)g.reply.len, F_WRITE);
	publish_indirect(&t, 32, 0, false, &g);
}

static void indirect_readable_after_writable(void)
{
	struct preq g = preq_getattr();
	struct gbuf t = ptable(3);

	tset(&t, 0, g.req.gpa, (uint32_t)g.req.len, 0);
	tset(&t, 1, g.reply.gpa, (uint32_t)g.reply.len, F_WRITE);
	tset(&t, 2, g.req.gpa, 8, 0);
	publish_indirect(&t, 48, 0, false, &g);
}

/* A table of 1024 entries (most of them empty) is still a chain we take. */
static void indirect_1024(void)
{
	struct preq g = preq_getattr();
	unsigned n = 1024, i;
	struct gbuf t = ptable(n);

	for (i = 0; i < n - 1; i++)
		tset(&t, i, g.req.gpa, i == 0 ? (uint32_t)g.req.len : 0, 0);
	tset(&t, n - 1, g.reply.gpa, (uint32_t)g.reply.len, F_WRITE);
	publish_indirect(&t, n * 16, 0, true, &g);
}

static void zero_len_only(void)
{
	struct preq g = preq_getattr();
	uint16_t id = new_id();

	d(0, g.req.gpa, 0, id, 0);
	expect_skipped(1, id, id);
}

/* Zero-length descriptors inside a good chain change nothing. */
static void zero_len_in_chain(void)
{
	struct preq g = preq_getattr();
	uint16_t id = new_id();

	d(0, g.req.gpa, 0, id, F_NEXT);
	d(1, g.req.gpa, (uint32_t)g.req.len, id, F_NEXT);
	d(2, 0, 0, id, F_NEXT | F_WRITE);
	d(3, g.reply.gpa, (uint32_t)g.reply.len, id, F_WRITE);
	expect_served(4, id, &g);
}

static void readable_after_writable(void)
{
	struct preq g = preq_getattr();
	uint16_t id = new_id();

	d(0, g.req.gpa, (uint32_t)g.req.len, id, F_NEXT);
	d(1, g.reply.gpa, (uint32_t)g.reply.len, id, F_WRITE | F_NEXT);
	d(2, g.req.gpa, 8, id, 0);
	expect_skipped(3, id, id);
}

static void reply_read_only(void)
{
	struct preq g = preq_getattr();
	uint16_t id = new_id(), got;
	long used;

	memset(g.reply.hva, 0xa5, 64);
	d(0, g.req.gpa, (uint32_t)g.req.len, id, F_NEXT);
	d(1, g.reply.gpa, (uint32_t)g.reply.len, id, 0);
	used = ppublish_wait(2, &got);
	CHECK(used == 0, "used %ld", used);
	CHECK(g.reply.hva[0] == 0xa5 && g.reply.hva[15] == 0xa5,
	      "daemon wrote into a device-readable buffer");
	vq_pid_free(hq(RQ), id);
	ALIVE();
}

/* A flood: the ring filled with malformed single-descriptor chains, ten
 * times over; every one is completed, the queue keeps serving. */
static void bad_chain_flood(void)
{
	struct vring_queue *q = hq(RQ);
	unsigned round, k, n = q->num, done = 0;
	uint16_t id = new_id(), got;

	for (round = 0; round < 10; round++) {
		for (k = 0; k < n; k++)
			d(k, guest_end_gpa() + 4096, 64, id, 0);
		vq_praw_publish(q, n);
		for (k = 0; k < n; k++)
			if (pused_wait(1, &got, WAIT_MS) == 0 && got == id)
				done++;
	}
	CHECK(done == 10 * n, "%u of %u bad chains completed", done, 10 * n);
	vq_pid_free(q, id);
	ALIVE();
}

/* The driver's event suppression area holds garbage: completions may or
 * may not be signalled, but they are made, and nothing breaks. */
static void driver_event_garbage(void)
{
	struct vring_queue *q = hq(RQ);
	static const uint16_t flags[] = { 3, VRING_PACKED_EVENT_FLAG_DESC,
					  VRING_PACKED_EVENT_FLAG_DISABLE, 0xffff };

	for (unsigned i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		struct preq g = preq_getattr();
		uint16_t id = new_id(), got = 0;
		long used;

		d(0, g.req.gpa, (uint32_t)g.req.len, id, F_NEXT);
		d(1, g.reply.gpa, (uint32_t)g.reply.len, id, F_WRITE);
		q->driver_ev->off_wrap = 0xffff;
		__atomic_store_n(&q->driver_ev->flags, flags[i], __ATOMIC_RELEASE);
		vq_praw_publish(q, 2);
		/* No call may come (DISABLE): the used descriptor is polled for,
		 * bounded. */
		for (int t = 0; t < WAIT_MS / 10; t++) {
			struct timespec ts = { 0, 10 * 1000 * 1000 };
			uint32_t len;

			if (vq_praw_pop_used(q, 2, &got, &len)) {
				used = (long)len;
				goto seen;
			}
			nanosleep(&ts, NULL);
		}
		used = -ETIMEDOUT;
seen:
		CHECK(preq_ok(&g, used) && got == id, "flags %#x: used %ld id %u", flags[i], used, got);
		vq_pid_free(q, id);
	}
	vq_enable_cb(q);
	ALIVE();
}

#define P(name, fn) { "packed/" name, fn, .packed = true }

const struct hcase packed_cases[] = {
	P("chain_works", chain_works),
	P("header_split_across_descriptors_works", header_split_descriptors),
	P("desc_addr_zero", desc_addr_zero),
	P("desc_past_end_of_memory", desc_past_end),
	P("desc_partly_past_end", desc_partly_past_end),
	P("desc_len_4GiB", desc_huge_len),
	P("desc_addr_len_wraps", desc_addr_wraps),
	P("reply_desc_outside_memory", reply_outside),
	P("chain_without_end", chain_without_end),
	P("chain_into_unavailable_descriptor", chain_into_unavailable),
	P("head_wrap_bits_of_last_lap", head_last_lap_bits),
	P("head_looks_used", head_looks_used),
	P("head_without_wrap_bits", head_no_bits),
	P("buffer_id_equal_ring_size", id_ring_size),
	P("buffer_id_0xffff", id_max),
	P("same_buffer_id_twice", same_id_twice),
	P("indirect_valid_works", indirect_valid),
	P("indirect_nested", indirect_nested),
	P("indirect_self_reference", indirect_self_reference),
	P("indirect_len_not_multiple_of_16", indirect_len_not_multiple),
	P("indirect_len_zero", indirect_len_zero),
	P("indirect_len_huge", indirect_len_huge),
	P("indirect_table_outside_memory", indirect_outside_memory),
	P("indirect_with_next_flag", indirect_with_next),
	P("indirect_after_next", indirect_after_next),
	P("indirect_entry_outside_memory", indirect_entry_outside),
	P("indirect_readable_after_writable", indirect_readable_after_writable),
	P("indirect_table_of_1024", indirect_1024),
	P("zero_length_only_descriptor", zero_len_only),
	P("zero_length_descriptors_in_chain", zero_len_in_chain),
	P("readable_after_writable", readable_after_writable),
	P("reply_space_read_only", reply_read_only),
	P("bad_chain_flood", bad_chain_flood),
	P("driver_event_garbage", driver_event_garbage),
};
const unsigned n_packed_cases = sizeof(packed_cases) / sizeof(packed_cases[0]);
