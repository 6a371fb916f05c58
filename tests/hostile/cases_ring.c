/* cases_ring.c: hostile descriptor chains and avail rings, written by
 * hand into the request queue. A malformed chain must be completed with
 * length 0 (or, when it has no valid head, dropped), and the queue must
 * keep serving. */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hostile_util.h"

#define RQ HQ
#define F_NEXT VRING_DESC_F_NEXT
#define F_WRITE VRING_DESC_F_WRITE
#define F_IND VRING_DESC_F_INDIRECT
#define WAIT_MS 3000

/* A valid GETATTR(root) request in guest memory, and reply room. */
struct greq {
	struct gbuf req, reply;
	uint64_t unique;
};

static struct greq greq_getattr(void)
{
	struct greq g;
	struct fuse_getattr_in in = { 0 };
	struct rawmsg *m = malloc(sizeof(*m));

	msg_build(m, FUSE_GETATTR, FUSE_ROOT_ID, &in, sizeof(in));
	g.req = gbuf_alloc(m->len);
	memcpy(g.req.hva, m->buf, m->len);
	g.reply = gbuf_alloc(4096);
	g.reply.len = sizeof(struct fuse_out_header) + sizeof(struct fuse_attr_out);
	g.unique = m->unique;
	free(m);
	return g;
}

/* The reply in g is a correct GETATTR answer of used bytes. */
static bool greq_ok(const struct greq *g, const uint8_t *reply, long used)
{
	const struct fuse_out_header *oh = (const void *)reply;
	const struct fuse_attr_out *ao = (const void *)(reply + sizeof(*oh));

	return used == (long)(sizeof(*oh) + sizeof(*ao)) && oh->error == 0 &&
	       oh->unique == g->unique && oh->len == used && S_ISDIR(ao->attr.mode);
}

/* Publish head; the chain must be completed with length 0. */
static void expect_skipped(uint16_t head)
{
	long used = raw_publish_wait(RQ, head, WAIT_MS);

	CHECK(used == 0, "malformed chain: used len %ld (want a zero-length completion)", used);
	ALIVE();
}

/* Publish head of a chain that may be refused either way: completed with
 * length 0, or answered with a FUSE error; never hangs. */
static void expect_skipped_or_error(uint16_t head, const uint8_t *reply)
{
	long used = raw_publish_wait(RQ, head, WAIT_MS);
	const struct fuse_out_header *oh = (const void *)reply;

	CHECK(used == 0 || (used == (long)sizeof(*oh) && oh->error < 0),
	      "used len %ld error %d", used, used >= 16 ? oh->error : 0);
	ALIVE();
}

/* One descriptor at addr/len (readable) followed by good reply room. */
static void bad_request_desc(uint64_t addr, uint32_t len)
{
	struct greq g = greq_getattr();
	uint16_t id[2];

	desc_ids(RQ, id, 2);
	vq_raw_desc(hq(RQ), id[0], addr, len, F_NEXT, id[1]);
	vq_raw_desc(hq(RQ), id[1], g.reply.gpa, (uint32_t)g.reply.len, F_WRITE, 0);
	expect_skipped(id[0]);
}

/* A good request followed by reply room at addr/len. */
static void bad_reply_desc(uint64_t addr, uint32_t len)
{
	struct greq g = greq_getattr();
	uint16_t id[2];

	desc_ids(RQ, id, 2);
	vq_raw_desc(hq(RQ), id[0], g.req.gpa, (uint32_t)g.req.len, F_NEXT, id[1]);
	vq_raw_desc(hq(RQ), id[1], addr, len, F_WRITE, 0);
	expect_skipped(id[0]);
}

static void desc_addr_zero(void)
{
	bad_request_desc(0, 64);
}

static void desc_below_memory(void)
{
	bad_request_desc(0x1000, 64);
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
	struct greq g = greq_getattr();

	bad_request_desc(g.req.gpa, 0xffffffffu);
}

static void desc_addr_wraps(void)
{
	bad_request_desc(UINT64_MAX - 15, 64);
}

static void desc_addr_wraps_into_memory(void)
{
	/* addr + len wraps around to land inside guest memory. */
	bad_request_desc(UINT64_MAX - 0xfff, 0x1000 + 0x100000 + 64);
}

static void desc_reply_outside(void)
{
	bad_reply_desc(guest_end_gpa() + 0x10000, 4096);
}

static void desc_reply_wraps(void)
{
	bad_reply_desc(UINT64_MAX - 100, 4096);
}

/* A buffer across the boundary of regions 0 and 1 (adjacent in GPA,
 * unrelated in the host) must be served as one. */
static unsigned straddle_region; /* the boundary is between it and the next */

static bool chunk_busy(const struct vfs_mem *m, size_t c)
{
	return m->bitmap[c / 64] & (1ull << (c % 64));
}

static void chunk_claim(struct vfs_mem *m, size_t c)
{
	m->bitmap[c / 64] |= 1ull << (c % 64);
}

/* Claim the last chunk of region i and the first of region i + 1 (for
 * the first i where both are free: rings sit at the start of regions),
 * so that the allocator leaves them alone. Call before any gbuf_alloc. */
static uint8_t *straddle_hva(size_t before, uint64_t *gpa)
{
	struct vfs_mem *m = &H.c->mem;

	for (unsigned i = 0; i + 1 < m->nr; i++) {
		size_t c0 = m->r[i].first_chunk + m->r[i].size / VFS_CHUNK - 1;
		size_t c1 = m->r[i + 1].first_chunk;

		if (chunk_busy(m, c0) || chunk_busy(m, c1) ||
		    m->r[i].gpa + m->r[i].size != m->r[i + 1].gpa)
			continue;
		chunk_claim(m, c0);
		chunk_claim(m, c1);
		straddle_region = i;
		*gpa = m->r[i + 1].gpa - before;
		return m->r[i].hva + m->r[i].size - before;
	}
	fprintf(stderr, "no free region boundary\n");
	abort();
}

static void straddle_copy(uint8_t *hva_end0, size_t before, const void *src, size_t len)
{
	struct vfs_mem *m = &H.c->mem;
	size_t a = len < before ? len : before;

	memcpy(hva_end0, src, a);
	if (len > a)
		memcpy(m->r[straddle_region + 1].hva, (const uint8_t *)src + a, len - a);
}

static void straddle_request(void)
{
	uint64_t gpa;
	uint8_t *p = straddle_hva(13, &gpa);
	struct greq g = greq_getattr();
	uint16_t id[2];

	straddle_copy(p, 13, g.req.hva, g.req.len);
	desc_ids(RQ, id, 2);
	vq_raw_desc(hq(RQ), id[0], gpa, (uint32_t)g.req.len, F_NEXT, id[1]);
	vq_raw_desc(hq(RQ), id[1], g.reply.gpa, (uint32_t)g.reply.len, F_WRITE, 0);
	long used = raw_publish_wait(RQ, id[0], WAIT_MS);
	CHECK(greq_ok(&g, g.reply.hva, used), "request across regions: used %ld error %d gpa %#llx",
	      used, ((struct fuse_out_header *)(void *)g.reply.hva)->error, (unsigned long long)gpa);
	ALIVE();
}

static void straddle_reply(void)
{
	uint64_t gpa;
	uint8_t *p = straddle_hva(24, &gpa);
	struct greq g = greq_getattr();
	uint8_t reply[256];
	uint16_t id[2];

	desc_ids(RQ, id, 2);
	vq_raw_desc(hq(RQ), id[0], g.req.gpa, (uint32_t)g.req.len, F_NEXT, id[1]);
	vq_raw_desc(hq(RQ), id[1], gpa, (uint32_t)g.reply.len, F_WRITE, 0);
	long used = raw_publish_wait(RQ, id[0], WAIT_MS);
	memcpy(reply, p, 24);
	memcpy(reply + 24, H.c->mem.r[straddle_region + 1].hva, sizeof(reply) - 24);
	CHECK(greq_ok(&g, reply, used), "reply across regions: used %ld", used);
	ALIVE();
}

static void chain_loop_self(void)
{
	struct greq g = greq_getattr();
	uint16_t id[1];

	desc_ids(RQ, id, 1);
	vq_raw_desc(hq(RQ), id[0], g.req.gpa, 8, F_NEXT, id[0]);
	expect_skipped(id[0]);
}

static void chain_loop_two(void)
{
	struct greq g = greq_getattr();
	uint16_t id[2];

	desc_ids(RQ, id, 2);
	vq_raw_desc(hq(RQ), id[0], g.req.gpa, 8, F_NEXT, id[1]);
	vq_raw_desc(hq(RQ), id[1], g.req.gpa + 8, 8, F_NEXT, id[0]);
	expect_skipped(id[0]);
}

static void chain_loop_writable(void)
{
	struct greq g = greq_getattr();
	uint16_t id[3];

	desc_ids(RQ, id, 3);
	vq_raw_desc(hq(RQ), id[0], g.req.gpa, (uint32_t)g.req.len, F_NEXT, id[1]);
	vq_raw_desc(hq(RQ), id[1], g.reply.gpa, 16, F_WRITE | F_NEXT, id[2]);
	vq_raw_desc(hq(RQ), id[2], g.reply.gpa + 16, 16, F_WRITE | F_NEXT, id[1]);
	expect_skipped(id[0]);
}

static void chain_next_out_of_range(void)
{
	struct greq g = greq_getattr();
	uint16_t id[1];

	desc_ids(RQ, id, 1);
	vq_raw_desc(hq(RQ), id[0], g.req.gpa, (uint32_t)g.req.len, F_NEXT, 0xffff);
	expect_skipped(id[0]);
}

/* An indirect table of n entries in guest memory. */
static struct gbuf itable(unsigned n)
{
	return gbuf_alloc(n * sizeof(struct vring_desc));
}

static void iset(struct gbuf *t, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
		 uint16_t next)
{
	struct vring_desc *d = (struct vring_desc *)(void *)t->hva + i;

	d->addr = addr;
	d->len = len;
	d->flags = flags;
	d->next = next;
}

static void publish_indirect(struct gbuf *t, uint32_t len, uint16_t extra_flags, bool ok,
			     const struct greq *g)
{
	uint16_t id[1];

	desc_ids(RQ, id, 1);
	vq_raw_desc(hq(RQ), id[0], t ? t->gpa : 0, len, F_IND | extra_flags, 0);
	if (ok) {
		long used = raw_publish_wait(RQ, id[0], WAIT_MS);
		CHECK(greq_ok(g, g->reply.hva, used), "indirect chain: used %ld", used);
		ALIVE();
	} else {
		expect_skipped(id[0]);
	}
}

static void indirect_valid(void)
{
	struct greq g = greq_getattr();
	struct gbuf t = itable(2);

	iset(&t, 0, g.req.gpa, (uint32_t)g.req.len, F_NEXT, 1);
	iset(&t, 1, g.reply.gpa, (uint32_t)g.reply.len, F_WRITE, 0);
	publish_indirect(&t, 32, 0, true, &g);
}

static void indirect_loop(void)
{
	struct greq g = greq_getattr();
	struct gbuf t = itable(2);

	iset(&t, 0, g.req.gpa, 8, F_NEXT, 1);
	iset(&t, 1, g.req.gpa + 8, 8, F_NEXT, 0);
	publish_indirect(&t, 32, 0, false, &g);
}

static void indirect_next_out_of_table(void)
{
	struct greq g = greq_getattr();
	struct gbuf t = itable(2);

	iset(&t, 0, g.req.gpa, (uint32_t)g.req.len, F_NEXT, 2);
	iset(&t, 1, g.reply.gpa, (uint32_t)g.reply.len, F_WRITE, 0);
	publish_indirect(&t, 32, 0, false, &g);
}

static void indirect_nested(void)
{
	struct greq g = greq_getattr();
	struct gbuf inner = itable(2), outer = itable(1);

	iset(&inner, 0, g.req.gpa, (uint32_t)g.req.len, F_NEXT, 1);
	iset(&inner, 1, g.reply.gpa, (uint32_t)g.reply.len, F_WRITE, 0);
	iset(&outer, 0, inner.gpa, 32, F_IND, 0);
	publish_indirect(&outer, 16, 0, false, &g);
}

static void indirect_self_reference(void)
{
	struct greq g = greq_getattr();
	struct gbuf t = itable(1);

	iset(&t, 0, t.gpa, 16, F_IND, 0);
	publish_indirect(&t, 16, 0, false, &g);
}

static void indirect_len_not_multiple(void)
{
	struct greq g = greq_getattr();
	struct gbuf t = itable(2);

	iset(&t, 0, g.req.gpa, (uint32_t)g.req.len, F_NEXT, 1);
	iset(&t, 1, g.reply.gpa, (uint32_t)g.reply.len, F_WRITE, 0);
	publish_indirect(&t, 20, 0, false, &g);
}

static void indirect_len_zero(void)
{
	struct greq g = greq_getattr();
	struct gbuf t = itable(1);

	publish_indirect(&t, 0, 0, false, &g);
}

static void indirect_len_huge(void)
{
	struct greq g = greq_getattr();
	struct gbuf t = itable(1);

	publish_indirect(&t, 0xfffffff0u, 0, false, &g);
}

static void indirect_outside_memory(void)
{
	struct greq g = greq_getattr();
	struct gbuf t = { .gpa = guest_end_gpa() + 4096 };

	publish_indirect(&t, 32, 0, false, &g);
}

static void indirect_with_next(void)
{
	struct greq g = greq_getattr();
	struct gbuf t = itable(2);

	iset(&t, 0, g.req.gpa, (uint32_t)g.req.len, F_NEXT, 1);
	iset(&t, 1, g.reply.gpa, (uint32_t)g.reply.len, F_WRITE, 0);
	publish_indirect(&t, 32, F_NEXT, false, &g);
}

static void indirect_entry_outside(void)
{
	struct greq g = greq_getattr();
	struct gbuf t = itable(2);

	iset(&t, 0, UINT64_MAX - 8, 64, F_NEXT, 1);
	iset(&t, 1, g.reply.gpa, (uint32_t)g.reply.len, F_WRITE, 0);
	publish_indirect(&t, 32, 0, false, &g);
}

static void zero_len_only(void)
{
	struct greq g = greq_getattr();
	uint16_t id[1];

	desc_ids(RQ, id, 1);
	vq_raw_desc(hq(RQ), id[0], g.req.gpa, 0, 0, 0);
	long used = raw_publish_wait(RQ, id[0], WAIT_MS);
	CHECK(used == 0, "used %ld", used);
	ALIVE();
}

/* Zero-length descriptors inside a good chain change nothing. */
static void zero_len_in_chain(void)
{
	struct greq g = greq_getattr();
	uint16_t id[4];

	desc_ids(RQ, id, 4);
	vq_raw_desc(hq(RQ), id[0], g.req.gpa, 0, F_NEXT, id[1]);
	vq_raw_desc(hq(RQ), id[1], g.req.gpa, (uint32_t)g.req.len, F_NEXT, id[2]);
	vq_raw_desc(hq(RQ), id[2], 0, 0, F_NEXT | F_WRITE, id[3]);
	vq_raw_desc(hq(RQ), id[3], g.reply.gpa, (uint32_t)g.reply.len, F_WRITE, 0);
	long used = raw_publish_wait(RQ, id[0], WAIT_MS);
	CHECK(used == 0 || greq_ok(&g, g.reply.hva, used), "used %ld", used);
	ALIVE();
}

static void request_in_write_only(void)
{
	struct greq g = greq_getattr();
	uint16_t id[1];

	desc_ids(RQ, id, 1);
	vq_raw_desc(hq(RQ), id[0], g.req.gpa, (uint32_t)g.req.len, F_WRITE, 0);
	expect_skipped_or_error(id[0], g.req.hva);
}

static void reply_read_only(void)
{
	struct greq g = greq_getattr();
	uint16_t id[2];

	desc_ids(RQ, id, 2);
	memset(g.reply.hva, 0xa5, 64);
	vq_raw_desc(hq(RQ), id[0], g.req.gpa, (uint32_t)g.req.len, F_NEXT, id[1]);
	vq_raw_desc(hq(RQ), id[1], g.reply.gpa, (uint32_t)g.reply.len, 0, 0);
	long used = raw_publish_wait(RQ, id[0], WAIT_MS);
	CHECK(used == 0, "used %ld", used);
	CHECK(g.reply.hva[0] == 0xa5 && g.reply.hva[15] == 0xa5,
	      "daemon wrote into a device-readable buffer");
	ALIVE();
}

static void readable_after_writable(void)
{
	struct greq g = greq_getattr();
	uint16_t id[3];

	desc_ids(RQ, id, 3);
	vq_raw_desc(hq(RQ), id[0], g.req.gpa, (uint32_t)g.req.len, F_NEXT, id[1]);
	vq_raw_desc(hq(RQ), id[1], g.reply.gpa, (uint32_t)g.reply.len, F_WRITE | F_NEXT, id[2]);
	vq_raw_desc(hq(RQ), id[2], g.req.gpa, 8, 0, 0);
	expect_skipped(id[0]);
}

static void reply_too_small(void)
{
	struct greq g = greq_getattr();
	uint16_t id[2];

	desc_ids(RQ, id, 2);
	vq_raw_desc(hq(RQ), id[0], g.req.gpa, (uint32_t)g.req.len, F_NEXT, id[1]);
	vq_raw_desc(hq(RQ), id[1], g.reply.gpa, 8, F_WRITE, 0);
	long used = raw_publish_wait(RQ, id[0], WAIT_MS);
	CHECK(used == 0 || used <= 8, "used %ld exceeds the 8 bytes of reply room", used);
	ALIVE();
}

/* The header cut into 1..7-byte descriptors, the reply into 5-byte ones. */
static void header_split_descriptors(void)
{
	struct greq g = greq_getattr();
	uint16_t id[64];
	unsigned n = 0, off = 0, piece = 1;

	desc_ids(RQ, id, 64);
	while (off < g.req.len) {
		unsigned l = piece < g.req.len - off ? piece : (unsigned)(g.req.len - off);
		vq_raw_desc(hq(RQ), id[n], g.req.gpa + off, l, F_NEXT, id[n + 1]);
		off += l;
		n++;
		piece = piece % 7 + 1;
	}
	for (off = 0; off < g.reply.len; off += 5, n++) {
		unsigned l = g.reply.len - off < 5 ? (unsigned)(g.reply.len - off) : 5;
		bool last = off + l >= g.reply.len;
		vq_raw_desc(hq(RQ), id[n], g.reply.gpa + off, l, F_WRITE | (last ? 0 : F_NEXT),
			    id[n + 1]);
	}
	long used = raw_publish_wait(RQ, id[0], WAIT_MS);
	CHECK(greq_ok(&g, g.reply.hva, used), "split header: used %ld", used);
	ALIVE();
}

/* Request and reply room are the same guest bytes: the daemon reads the
 * request while it writes the reply over it. Any answer, no crash. */
static void reply_overlaps_request(void)
{
	static const uint32_t ops[] = { FUSE_GETATTR, FUSE_LOOKUP, FUSE_MKDIR, FUSE_RENAME,
					FUSE_SYMLINK, FUSE_INIT, FUSE_READDIR, FUSE_STATFS };

	for (unsigned k = 0; k < sizeof(ops) / sizeof(ops[0]); k++) {
		struct rawmsg *m = malloc(sizeof(*m));
		uint8_t args[64] = { 0 };
		struct gbuf b = gbuf_alloc(4096);
		uint16_t id[2];

		memcpy(args + 40, "n\0o\0", 4);
		msg_build(m, ops[k], FUSE_ROOT_ID, args, sizeof(args));
		memcpy(b.hva, m->buf, m->len);
		desc_ids(RQ, id, 2);
		vq_raw_desc(hq(RQ), id[0], b.gpa, (uint32_t)m->len, F_NEXT, id[1]);
		vq_raw_desc(hq(RQ), id[1], b.gpa, 4096, F_WRITE, 0);
		long used = raw_publish_wait(RQ, id[0], WAIT_MS);
		CHECK(used >= 0 && used <= 4096, "opcode %u: used %ld", ops[k], used);
		free(m);
	}
	ALIVE();
}

/* A chain longer than the ring (through an indirect table of 1024). */
static void chain_max_length(void)
{
	struct greq g = greq_getattr();
	unsigned n = 1024;
	struct gbuf t = itable(n);

	for (unsigned i = 0; i < n - 1; i++)
		iset(&t, i, g.req.gpa, i == 0 ? (uint32_t)g.req.len : 0, F_NEXT, (uint16_t)(i + 1));
	iset(&t, n - 1, g.reply.gpa, (uint32_t)g.reply.len, F_WRITE, 0);
	uint16_t id[1];
	desc_ids(RQ, id, 1);
	vq_raw_desc(hq(RQ), id[0], t.gpa, n * 16, F_IND, 0);
	long used = raw_publish_wait(RQ, id[0], WAIT_MS);
	CHECK(used == 0 || greq_ok(&g, g.reply.hva, used), "used %ld", used);
	ALIVE();
}

/* An avail entry naming a head outside the ring: nothing valid to give
 * back, so it may be dropped; the queue must go on. */
static void head_out_of_range(uint16_t head)
{
	vq_raw_publish(hq(RQ), head);
	raw_drain(RQ, 300);
	ALIVE();
}

static void head_index_ring_size(void)
{
	head_out_of_range((uint16_t)hq(RQ)->num);
}

static void head_index_max(void)
{
	head_out_of_range(0xffff);
}

static void kick_raw(void)
{
	uint64_t one = 1;

	if (write(hq(RQ)->kick_fd, &one, sizeof(one)) != sizeof(one))
		CHECK(0, "kick");
}

/* The guest moves avail->idx far ahead, kicks, then puts it back. */
static void avail_jump(uint16_t ahead)
{
	struct vring_queue *q = hq(RQ);

	__atomic_store_n(&q->avail->idx, (uint16_t)(q->avail_idx + ahead), __ATOMIC_RELEASE);
	kick_raw();
	raw_drain(RQ, 300);
	__atomic_store_n(&q->avail->idx, q->avail_idx, __ATOMIC_RELEASE);
	ALIVE();
}

static void avail_idx_jump_ring_plus_one(void)
{
	avail_jump((uint16_t)(hq(RQ)->num + 1));
}

static void avail_idx_jump_backwards(void)
{
	avail_jump(0xffff);
}

static void avail_idx_jump_half(void)
{
	avail_jump(0x8000);
}

/* Many avail entries that all name the same (valid) head: each must
 * be answered or skipped, never a crash or a hang. */
static void avail_same_head_twice(void)
{
	struct greq g = greq_getattr();
	struct vring_queue *q = hq(RQ);
	uint16_t id[2];

	desc_ids(RQ, id, 2);
	vq_raw_desc(q, id[0], g.req.gpa, (uint32_t)g.req.len, F_NEXT, id[1]);
	vq_raw_desc(q, id[1], g.reply.gpa, (uint32_t)g.reply.len, F_WRITE, 0);
	q->avail->ring[q->avail_idx % q->num] = id[0];
	q->avail_idx++;
	vq_raw_publish(q, id[0]);
	unsigned n = raw_drain(RQ, 500);
	CHECK(n == 2, "%u completions for 2 avail entries", n);
	ALIVE();
}

const struct hcase ring_cases[] = {
	{ "ring/desc_addr_zero", desc_addr_zero },
	{ "ring/desc_below_guest_memory", desc_below_memory },
	{ "ring/desc_past_end_of_memory", desc_past_end },
	{ "ring/desc_partly_past_end", desc_partly_past_end },
	{ "ring/desc_len_4GiB", desc_huge_len },
	{ "ring/desc_addr_len_wraps", desc_addr_wraps },
	{ "ring/desc_addr_len_wraps_into_memory", desc_addr_wraps_into_memory },
	{ "ring/reply_desc_outside_memory", desc_reply_outside },
	{ "ring/reply_desc_wraps", desc_reply_wraps },
	{ "ring/request_straddles_regions_works", straddle_request },
	{ "ring/reply_straddles_regions_works", straddle_reply },
	{ "ring/chain_loop_self", chain_loop_self },
	{ "ring/chain_loop_two", chain_loop_two },
	{ "ring/chain_loop_in_writable_part", chain_loop_writable },
	{ "ring/chain_next_out_of_range", chain_next_out_of_range },
	{ "ring/indirect_valid_works", indirect_valid },
	{ "ring/indirect_loop", indirect_loop },
	{ "ring/indirect_next_out_of_table", indirect_next_out_of_table },
	{ "ring/indirect_nested", indirect_nested },
	{ "ring/indirect_self_reference", indirect_self_reference },
	{ "ring/indirect_len_not_multiple_of_16", indirect_len_not_multiple },
	{ "ring/indirect_len_zero", indirect_len_zero },
	{ "ring/indirect_len_huge", indirect_len_huge },
	{ "ring/indirect_table_outside_memory", indirect_outside_memory },
	{ "ring/indirect_with_next_flag", indirect_with_next },
	{ "ring/indirect_entry_outside_memory", indirect_entry_outside },
	{ "ring/zero_length_only_descriptor", zero_len_only },
	{ "ring/zero_length_descriptors_in_chain", zero_len_in_chain },
	{ "ring/request_in_write_only_descriptor", request_in_write_only },
	{ "ring/reply_space_read_only", reply_read_only },
	{ "ring/readable_after_writable", readable_after_writable },
	{ "ring/reply_room_smaller_than_header", reply_too_small },
	{ "ring/header_split_across_descriptors_works", header_split_descriptors },
	{ "ring/indirect_chain_of_1024", chain_max_length },
	{ "ring/reply_overlaps_request", reply_overlaps_request },
	{ "ring/avail_head_equal_ring_size", head_index_ring_size },
	{ "ring/avail_head_0xffff", head_index_max },
	{ "ring/avail_idx_jumps_ring_size_plus_1", avail_idx_jump_ring_plus_one },
	{ "ring/avail_idx_jumps_backwards", avail_idx_jump_backwards },
	{ "ring/avail_idx_jumps_half_range", avail_idx_jump_half },
	{ "ring/avail_same_head_twice", avail_same_head_twice },
};
const unsigned n_ring_cases = sizeof(ring_cases) / sizeof(ring_cases[0]);
