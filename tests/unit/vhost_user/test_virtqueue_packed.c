/* test_virtqueue_packed.c: packed-ring pop/push (VIRTIO_F_RING_PACKED)
 * against hand-written descriptor rings: valid and indirect chains, wrap
 * counters across many laps, out-of-order completion, bad chains of every
 * kind, event suppression both ways, GET/SET_VRING_BASE. The test plays
 * the driver: it writes descriptors with the wrap bits of their position,
 * the head's flags last, and reads used descriptors as Linux does. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <sys/eventfd.h>

#include <linux/virtio_ring.h>

#include "vu_test_util.h"
#include "vhost_user/virtqueue.h"

#define QSZ		16
#define RING_GPA	0x1000
#define DRV_EV_GPA	0x2000
#define DEV_EV_GPA	0x3000
#define OUT_GPA		0x8000
#define IN_GPA		0x9000
#define TABLE_GPA	0xa000
#define GOOD_ID		14
#define BAD_ID		3
#define F_AVAIL		(1u << VRING_PACKED_DESC_F_AVAIL)
#define F_USED		(1u << VRING_PACKED_DESC_F_USED)
#define F_NEXT		VRING_DESC_F_NEXT
#define F_WRITE		VRING_DESC_F_WRITE
#define F_IND		VRING_DESC_F_INDIRECT
#define EV_WRAP		0x8000u

/* Two adjacent regions: [0, 64K) and [64K, 128K). */
static const struct test_region_spec layout[] = {
	{ 0x00000, 0x10000 },
	{ 0x10000, 0x10000 },
};

struct fx {
	struct guest_memory_slot slot;
	struct virtqueue vq;
	struct guest_memory *mem; /* borrowed from the slot */
	int fds[2];
	struct vring_packed_desc *ring;
	struct vring_packed_desc_event *drv; /* the driver's area: we write it */
	struct vring_packed_desc_event *dev; /* the device's area */
	int call_fd;
	/* the driver's side */
	uint16_t avail_pos, used_pos, head_flags;
	bool avail_wrap, used_wrap;
};

static void *gh(struct fx *f, uint64_t gpa, uint64_t len)
{
	void *p = guest_memory_gpa_to_host(f->mem, gpa, len);

	assert_non_null(p);
	return p;
}

static void guest_write(struct fx *f, uint64_t gpa, const void *src, size_t len)
{
	struct iovec iov[4];
	unsigned n = 0, i;
	const char *s = src;

	assert_int_equal(guest_memory_gpa_to_iov(f->mem, gpa, len, iov, &n, 4), 0);
	for (i = 0; i < n; i++) {
		memcpy(iov[i].iov_base, s, iov[i].iov_len);
		s += iov[i].iov_len;
	}
}

static void step(uint16_t *pos, bool *wrap, unsigned n)
{
	*pos = (uint16_t)(*pos + n);
	while (*pos >= QSZ) {
		*pos = (uint16_t)(*pos - QSZ);
		*wrap = !*wrap;
	}
}

/* The AVAIL/USED bits an honest driver gives the k-th next descriptor. */
static uint16_t wrap_bits(struct fx *f, unsigned k)
{
	uint16_t pos = f->avail_pos;
	bool wrap = f->avail_wrap;

	step(&pos, &wrap, k);
	return wrap ? F_AVAIL : F_USED;
}

/* Write descriptor k of a chain verbatim (the head's flags held back). */
static void dput_raw(struct fx *f, unsigned k, uint64_t addr, uint32_t len, uint16_t id,
		     uint16_t flags)
{
	uint16_t pos = f->avail_pos;
	bool wrap = f->avail_wrap;
	struct vring_packed_desc *d;

	step(&pos, &wrap, k);
	d = &f->ring[pos];
	d->addr = addr;
	d->len = len;
	d->id = id;
	if (k == 0)
		f->head_flags = flags;
	else
		d->flags = flags;
}

/* The same with the wrap bits of its position. */
static void dput(struct fx *f, unsigned k, uint64_t addr, uint32_t len, uint16_t id,
		 uint16_t flags)
{
	dput_raw(f, k, addr, len, id, (uint16_t)(flags | wrap_bits(f, k)));
}

/* Make the chain available (head flags last) and move on by n. */
static void dpublish(struct fx *f, unsigned n)
{
	__atomic_store_n(&f->ring[f->avail_pos].flags, f->head_flags, __ATOMIC_RELEASE);
	step(&f->avail_pos, &f->avail_wrap, n);
}

static void good_chain(struct fx *f, uint16_t id)
{
	dput(f, 0, OUT_GPA, 32, id, F_NEXT);
	dput(f, 1, IN_GPA, 64, id, F_WRITE);
	dpublish(f, 2);
}

/* The next used descriptor is (id, len); the driver skips ndescs. */
static void expect_used(struct fx *f, uint16_t id, uint32_t len, unsigned ndescs)
{
	struct vring_packed_desc *d = &f->ring[f->used_pos];
	uint16_t wrap = f->used_wrap ? (F_AVAIL | F_USED) : 0;

	assert_int_equal(d->flags & (F_AVAIL | F_USED), wrap);
	assert_int_equal(d->id, id);
	assert_int_equal(d->len, len);
	assert_int_equal(!!(d->flags & F_WRITE), len != 0);
	step(&f->used_pos, &f->used_wrap, ndescs);
}

static int fx_setup(void **state, bool event_idx)
{
	struct fx *f = calloc(1, sizeof(*f));
	char *out;
	int i;

	f->fds[0] = f->fds[1] = -1;
	f->mem = test_mem_build(layout, 2, f->fds);
	if (!f->mem)
		return -1;
	guest_memory_slot_init(&f->slot);
	guest_memory_slot_replace(&f->slot, f->mem);
	virtqueue_init(&f->vq, 0, &f->slot);
	f->vq.size = QSZ;
	f->vq.packed = true;
	f->vq.desc_user_addr = RING_GPA + TEST_UVA_BIAS;
	f->vq.avail_user_addr = DRV_EV_GPA + TEST_UVA_BIAS;
	f->vq.used_user_addr = DEV_EV_GPA + TEST_UVA_BIAS;
	f->vq.event_idx = event_idx;
	f->call_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	f->vq.call_fd = f->call_fd;
	assert_int_equal(virtqueue_set_base(&f->vq, 0x80008000u), 0);
	if (virtqueue_map_rings(&f->vq))
		return -1;
	f->ring = gh(f, RING_GPA, QSZ * 16);
	f->drv = gh(f, DRV_EV_GPA, 4);
	f->dev = gh(f, DEV_EV_GPA, 4);
	f->avail_wrap = f->used_wrap = true;
	out = gh(f, OUT_GPA, 32);
	for (i = 0; i < 32; i++)
		out[i] = (char)(0xa0 + i);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return fx_setup(state, false);
}

static int setup_event_idx(void **state)
{
	return fx_setup(state, true);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	virtqueue_destroy(&f->vq); /* closes call_fd */
	guest_memory_slot_destroy(&f->slot);
	close(f->fds[0]);
	close(f->fds[1]);
	free(f);
	return 0;
}

static uint64_t call_count(struct fx *f)
{
	eventfd_t v = 0;

	if (eventfd_read(f->call_fd, &v) < 0) {
		assert_int_equal(errno, EAGAIN);
		return 0;
	}
	return v;
}

static void expect_empty(struct fx *f)
{
	struct vq_elem *e = NULL;

	assert_int_equal(virtqueue_pop(&f->vq, &e), 0);
	assert_null(e);
	assert_false(virtqueue_has_pending(&f->vq));
}

/* Pop the good chain (id), check it, complete it with 10 bytes. */
static void expect_good(struct fx *f, uint16_t id)
{
	struct vq_elem *e = NULL;

	assert_int_equal(virtqueue_pop(&f->vq, &e), 1);
	assert_non_null(e);
	assert_int_equal(e->head, id);
	assert_int_equal(e->ndescs, 2);
	assert_int_equal(e->out_count, 1);
	assert_int_equal(e->in_count, 1);
	assert_int_equal(e->out[0].iov_len, 32);
	assert_memory_equal(e->out[0].iov_base, gh(f, OUT_GPA, 32), 32);
	assert_ptr_equal(e->in[0].iov_base, gh(f, IN_GPA, 64));
	assert_int_equal(e->in[0].iov_len, 64);
	virtqueue_push(&f->vq, e, 10);
	expect_used(f, id, 10, 2);
	expect_empty(f);
}

/* A bad chain of nbad descriptors (written by the caller, head held back)
 * is completed with length 0 under bad_id and skipped as a whole; the
 * good chain behind it is served. */
static void run_bad(struct fx *f, unsigned nbad, uint16_t bad_id)
{
	struct vq_elem *e = NULL;

	dpublish(f, nbad);
	good_chain(f, GOOD_ID);
	assert_int_equal(virtqueue_pop(&f->vq, &e), 1);
	assert_int_equal(e->head, GOOD_ID);
	expect_used(f, bad_id, 0, nbad);
	virtqueue_push(&f->vq, e, 10);
	expect_used(f, GOOD_ID, 10, 2);
	expect_empty(f);
	assert_int_equal(virtqueue_last_avail(&f->vq), f->avail_pos);
	assert_int_equal(f->vq.avail_wrap, f->avail_wrap);
	assert_int_equal(f->vq.used_idx, f->used_pos);
	assert_int_equal(f->vq.inflight, 0);
}

/* The same when the chain must be popped before the driver writes more
 * (its end is where the next chain would go). */
static void run_bad_alone(struct fx *f, unsigned nbad, uint16_t bad_id)
{
	struct vq_elem *e = NULL;

	dpublish(f, nbad);
	assert_int_equal(virtqueue_pop(&f->vq, &e), 0);
	assert_null(e);
	expect_used(f, bad_id, 0, nbad);
	good_chain(f, GOOD_ID);
	expect_good(f, GOOD_ID);
	assert_int_equal(f->vq.inflight, 0);
}

static void test_valid_chain(void **state)
{
	struct fx *f = *state;

	expect_empty(f);
	good_chain(f, GOOD_ID);
	assert_true(virtqueue_has_pending(&f->vq));
	expect_good(f, GOOD_ID);
}

/* The buffer id is the last descriptor's: the others' are ignored. */
static void test_id_in_last_descriptor(void **state)
{
	struct fx *f = *state;
	struct vq_elem *e;

	dput(f, 0, OUT_GPA, 16, 0xffff, F_NEXT);
	dput(f, 1, OUT_GPA + 16, 16, 7, F_NEXT);
	dput(f, 2, IN_GPA, 64, 5, F_WRITE);
	dpublish(f, 3);
	assert_int_equal(virtqueue_pop(&f->vq, &e), 1);
	assert_int_equal(e->head, 5);
	assert_int_equal(e->ndescs, 3);
	assert_int_equal(e->out_count, 2);
	virtqueue_push(&f->vq, e, 0);
	expect_used(f, 5, 0, 3);
}

/* Three-descriptor chains over 50 laps' worth of positions: both wrap
 * counters flip many times, every used descriptor carries the right bits. */
static void test_wrap_around(void **state)
{
	struct fx *f = *state;
	unsigned i;

	for (i = 0; i < 50; i++) {
		struct vq_elem *e;
		uint16_t id = (uint16_t)(i % QSZ);

		dput(f, 0, OUT_GPA, 16, id, F_NEXT);
		dput(f, 1, OUT_GPA + 16, 16, id, F_NEXT);
		dput(f, 2, IN_GPA, 64, id, F_WRITE);
		dpublish(f, 3);
		assert_int_equal(virtqueue_pop(&f->vq, &e), 1);
		assert_int_equal(e->head, id);
		assert_int_equal(e->out_count, 2);
		assert_int_equal(e->in_count, 1);
		virtqueue_push(&f->vq, e, i);
		expect_used(f, id, i, 3);
	}
	assert_int_equal(f->vq.last_avail_idx, f->avail_pos);
	assert_int_equal(f->vq.avail_wrap, f->avail_wrap);
	assert_int_equal(f->vq.used_wrap, f->used_wrap);
	expect_empty(f);
}

/* Completions in another order than the chains came: each used
 * descriptor lands at the used position and moves it by its buffer's
 * descriptors; the driver follows by id. */
static void test_out_of_order(void **state)
{
	struct fx *f = *state;
	struct vq_elem *a, *b, *c;

	dput(f, 0, OUT_GPA, 32, 0, 0);
	dpublish(f, 1);
	dput(f, 0, OUT_GPA, 16, 1, F_NEXT);
	dput(f, 1, IN_GPA, 64, 1, F_WRITE);
	dpublish(f, 2);
	dput(f, 0, OUT_GPA, 16, 2, F_NEXT);
	dput(f, 1, OUT_GPA + 16, 16, 2, F_NEXT);
	dput(f, 2, IN_GPA, 64, 2, F_WRITE);
	dpublish(f, 3);
	assert_int_equal(virtqueue_pop(&f->vq, &a), 1);
	assert_int_equal(virtqueue_pop(&f->vq, &b), 1);
	assert_int_equal(virtqueue_pop(&f->vq, &c), 1);
	assert_int_equal(a->ndescs, 1);
	assert_int_equal(b->ndescs, 2);
	assert_int_equal(c->ndescs, 3);
	assert_int_equal(f->vq.inflight, 3);
	virtqueue_push(&f->vq, c, 7);
	virtqueue_push(&f->vq, a, 0);
	virtqueue_push(&f->vq, b, 9);
	expect_used(f, 2, 7, 3);
	expect_used(f, 0, 0, 1);
	expect_used(f, 1, 9, 2);
	assert_int_equal(f->vq.used_idx, 6);
	assert_int_equal(f->vq.last_avail_idx, 6);
	expect_empty(f);
}

static void set_table_entry(struct fx *f, uint64_t table, unsigned i, uint64_t addr,
			    uint32_t len, uint16_t flags)
{
	struct vring_packed_desc d = { .addr = addr, .len = len, .id = 0, .flags = flags };

	guest_write(f, table + i * sizeof(d), &d, sizeof(d));
}

static void test_indirect_valid(void **state)
{
	struct fx *f = *state;
	struct vq_elem *e;

	/* Reserved flags in a table's entries are ignored (spec 2.8.9). */
	set_table_entry(f, TABLE_GPA, 0, OUT_GPA, 32, F_NEXT);
	set_table_entry(f, TABLE_GPA, 1, IN_GPA, 64, F_WRITE);
	dput(f, 0, TABLE_GPA, 32, 9, F_IND);
	dpublish(f, 1);
	assert_int_equal(virtqueue_pop(&f->vq, &e), 1);
	assert_int_equal(e->head, 9);
	assert_int_equal(e->ndescs, 1);
	assert_int_equal(e->out_count, 1);
	assert_int_equal(e->in_count, 1);
	assert_memory_equal(e->out[0].iov_base, gh(f, OUT_GPA, 32), 32);
	/* A reply larger than the buffers is clamped. */
	virtqueue_push(&f->vq, e, 1000);
	expect_used(f, 9, 64, 1);

	/* A table straddling the two regions is read as one. */
	set_table_entry(f, 0xfff0, 0, OUT_GPA, 32, 0);
	set_table_entry(f, 0xfff0, 1, IN_GPA, 64, F_WRITE);
	dput(f, 0, 0xfff0, 32, 4, F_IND);
	dpublish(f, 1);
	assert_int_equal(virtqueue_pop(&f->vq, &e), 1);
	assert_int_equal(e->in_count, 1);
	virtqueue_push(&f->vq, e, 3);
	expect_used(f, 4, 3, 1);
}

static void test_addr_outside(void **state)
{
	struct fx *f = *state;

	dput(f, 0, 0x20000, 16, BAD_ID, 0);                 /* just past the end */
	run_bad(f, 1, BAD_ID);
	dput(f, 0, 0x1fff0, 17, BAD_ID, 0);                 /* last byte past the end */
	run_bad(f, 1, BAD_ID);
	/* In the middle of a chain: the whole chain is skipped. */
	dput(f, 0, OUT_GPA, 8, 0, F_NEXT);
	dput(f, 1, 0x7000000000ull, 8, 0, F_NEXT | F_WRITE);
	dput(f, 2, IN_GPA, 8, BAD_ID, F_WRITE);
	run_bad(f, 3, BAD_ID);
	dput(f, 0, 0xffffffffffffff00ull, 0x200, BAD_ID, 0); /* wraps */
	run_bad(f, 1, BAD_ID);
}

static void test_readable_after_writable(void **state)
{
	struct fx *f = *state;

	dput(f, 0, IN_GPA, 8, BAD_ID, F_WRITE | F_NEXT);
	dput(f, 1, OUT_GPA, 8, BAD_ID, 0);
	run_bad(f, 2, BAD_ID);
}

static void test_id_out_of_range(void **state)
{
	struct fx *f = *state;

	dput(f, 0, OUT_GPA, 8, QSZ, 0);
	run_bad(f, 1, QSZ);
	dput(f, 0, OUT_GPA, 8, 0, F_NEXT);
	dput(f, 1, IN_GPA, 8, 0xffff, F_WRITE);
	run_bad(f, 2, 0xffff);
}

/* A second buffer under an id still in flight would make its completion
 * ambiguous. */
static void test_id_in_flight(void **state)
{
	struct fx *f = *state;
	struct vq_elem *held;

	dput(f, 0, OUT_GPA, 8, 5, 0);
	dpublish(f, 1);
	assert_int_equal(virtqueue_pop(&f->vq, &held), 1);
	dput(f, 0, OUT_GPA, 8, 5, 0);
	dpublish(f, 1);
	good_chain(f, GOOD_ID);
	{
		struct vq_elem *e;

		assert_int_equal(virtqueue_pop(&f->vq, &e), 1);
		assert_int_equal(e->head, GOOD_ID);
		/* The duplicate was completed at the used position. */
		expect_used(f, 5, 0, 1);
		virtqueue_push(&f->vq, held, 0);
		expect_used(f, 5, 0, 1);
		virtqueue_push(&f->vq, e, 10);
		expect_used(f, GOOD_ID, 10, 2);
	}
	/* Completed, the id may be used again. */
	dput(f, 0, OUT_GPA, 8, 5, 0);
	dpublish(f, 1);
	assert_int_equal(virtqueue_pop(&f->vq, &held), 1);
	virtqueue_push(&f->vq, held, 0);
	expect_used(f, 5, 0, 1);
}

/* The head's wrap bits lie (last lap's, or a used descriptor's): not
 * available, nothing consumed; once the driver writes them right, served. */
static void test_head_not_available(void **state)
{
	struct fx *f = *state;
	static const uint16_t lies[] = { 0, F_AVAIL | F_USED, F_USED };

	for (unsigned i = 0; i < 3; i++) {
		dput_raw(f, 0, OUT_GPA, 32, GOOD_ID, (uint16_t)(F_NEXT | lies[i]));
		dput(f, 1, IN_GPA, 64, GOOD_ID, F_WRITE);
		__atomic_store_n(&f->ring[f->avail_pos].flags, f->head_flags, __ATOMIC_RELEASE);
		expect_empty(f);
		assert_int_equal(virtqueue_last_avail(&f->vq), f->avail_pos);
		good_chain(f, GOOD_ID);
		expect_good(f, GOOD_ID);
	}
}

/* A later descriptor of a chain is not available (its wrap bits lie):
 * the chain stops there, the descriptors before it are skipped. */
static void test_chain_into_unavailable(void **state)
{
	struct fx *f = *state;

	dput(f, 0, OUT_GPA, 8, 1, F_NEXT);
	dput(f, 1, OUT_GPA, 8, BAD_ID, F_NEXT);
	dput_raw(f, 2, IN_GPA, 8, 2, (uint16_t)(F_WRITE | (wrap_bits(f, 2) ^ (F_AVAIL | F_USED))));
	run_bad_alone(f, 2, BAD_ID);
}

/* NEXT on every descriptor of the ring: no end within the descriptors
 * that are not in flight (the packed ring's loop). */
static void test_chain_longer_than_ring(void **state)
{
	struct fx *f = *state;
	struct vq_elem *held;
	unsigned i;

	for (i = 0; i < QSZ; i++)
		dput(f, i, OUT_GPA, 0, (uint16_t)i, F_NEXT);
	run_bad_alone(f, QSZ, QSZ - 1);
	/* With one descriptor in flight, a chain may be one shorter: even
	 * when the driver has rewritten the slot in flight for the next lap,
	 * the walk stops before it. */
	dput(f, 0, OUT_GPA, 8, 0, 0);
	dpublish(f, 1);
	assert_int_equal(virtqueue_pop(&f->vq, &held), 1);
	for (i = 0; i < QSZ; i++)
		dput(f, i, OUT_GPA, 0, (uint16_t)(i + 1), F_NEXT);
	dpublish(f, QSZ - 1);
	{
		struct vq_elem *e = NULL;

		assert_int_equal(virtqueue_pop(&f->vq, &e), 0);
		expect_used(f, QSZ - 1, 0, QSZ - 1);
	}
	virtqueue_push(&f->vq, held, 0);
	expect_used(f, 0, 0, 1);
	good_chain(f, GOOD_ID);
	expect_good(f, GOOD_ID);
}

/* The longest legal chain: every descriptor of the ring once. */
static void test_chain_exactly_ring_size(void **state)
{
	struct fx *f = *state;
	struct vq_elem *e;
	unsigned i;

	for (i = 0; i < QSZ; i++)
		dput(f, i, OUT_GPA + i, 1, 6, i + 1 < QSZ ? F_NEXT : 0);
	dpublish(f, QSZ);
	assert_int_equal(virtqueue_pop(&f->vq, &e), 1);
	assert_int_equal(e->out_count, QSZ);
	assert_int_equal(e->ndescs, QSZ);
	/* Every descriptor is in flight: nothing more is work, even a slot
	 * in flight that the driver rewrites as available for the next lap. */
	assert_false(virtqueue_has_pending(&f->vq));
	dput(f, 0, OUT_GPA, 8, 7, 0);
	dpublish(f, 0);
	assert_false(virtqueue_has_pending(&f->vq));
	{
		struct vq_elem *none = NULL;

		assert_int_equal(virtqueue_pop(&f->vq, &none), 0);
		assert_null(none);
	}
	virtqueue_push(&f->vq, e, 0);
	expect_used(f, 6, 0, QSZ);
	good_chain(f, GOOD_ID);
	expect_good(f, GOOD_ID);
}

static void test_indirect_bad(void **state)
{
	struct fx *f = *state;

	/* Lengths: not whole descriptors, zero. */
	dput(f, 0, TABLE_GPA, 24, BAD_ID, F_IND);
	run_bad(f, 1, BAD_ID);
	dput(f, 0, TABLE_GPA, 0, BAD_ID, F_IND);
	run_bad(f, 1, BAD_ID);
	dput(f, 0, TABLE_GPA, 17, BAD_ID, F_IND);
	run_bad(f, 1, BAD_ID);
	/* Outside memory, across its end, wrapping. */
	dput(f, 0, 0x30000, 32, BAD_ID, F_IND);
	run_bad(f, 1, BAD_ID);
	dput(f, 0, 0x1fff0, 32, BAD_ID, F_IND);
	run_bad(f, 1, BAD_ID);
	dput(f, 0, 0xfffffffffffffff0ull, 32, BAD_ID, F_IND);
	run_bad(f, 1, BAD_ID);
	/* Too long: more entries than a chain may have. */
	dput(f, 0, TABLE_GPA, 16 * 2000, BAD_ID, F_IND);
	run_bad(f, 1, BAD_ID);
}

static void test_indirect_nested(void **state)
{
	struct fx *f = *state;

	set_table_entry(f, TABLE_GPA + 0x100, 0, IN_GPA, 8, F_WRITE);
	set_table_entry(f, TABLE_GPA, 0, OUT_GPA, 8, 0);
	set_table_entry(f, TABLE_GPA, 1, TABLE_GPA + 0x100, 16, F_IND);
	dput(f, 0, TABLE_GPA, 32, BAD_ID, F_IND);
	run_bad(f, 1, BAD_ID);
}

/* An indirect descriptor is a buffer by itself: never in a chain. */
static void test_indirect_in_chain(void **state)
{
	struct fx *f = *state;

	set_table_entry(f, TABLE_GPA, 0, OUT_GPA, 8, 0);
	dput(f, 0, TABLE_GPA, 16, BAD_ID, F_IND | F_NEXT);
	dput(f, 1, IN_GPA, 8, BAD_ID, F_WRITE);
	run_bad(f, 2, BAD_ID);
	dput(f, 0, OUT_GPA, 8, BAD_ID, F_NEXT);
	dput(f, 1, TABLE_GPA, 16, BAD_ID, F_IND);
	run_bad(f, 2, BAD_ID);
}

static void test_indirect_entry_bad(void **state)
{
	struct fx *f = *state;

	set_table_entry(f, TABLE_GPA, 0, OUT_GPA, 8, F_WRITE);
	set_table_entry(f, TABLE_GPA, 1, OUT_GPA, 8, 0);  /* readable after writable */
	dput(f, 0, TABLE_GPA, 32, BAD_ID, F_IND);
	run_bad(f, 1, BAD_ID);
	set_table_entry(f, TABLE_GPA, 0, 0xfffffffffffffff8ull, 64, 0);
	dput(f, 0, TABLE_GPA, 16, BAD_ID, F_IND);
	run_bad(f, 1, BAD_ID);
}

/* Device event suppression: what we ask of the driver's kicks. */
static void test_device_event(void **state)
{
	struct fx *f = *state;
	struct vq_elem *e;

	virtqueue_set_notification(&f->vq, false);
	assert_int_equal(f->dev->flags, VRING_PACKED_EVENT_FLAG_DISABLE);
	virtqueue_set_notification(&f->vq, true);
	if (!f->vq.event_idx) {
		assert_int_equal(f->dev->flags, VRING_PACKED_EVENT_FLAG_ENABLE);
		return;
	}
	assert_int_equal(f->dev->flags, VRING_PACKED_EVENT_FLAG_DESC);
	assert_int_equal(f->dev->off_wrap, EV_WRAP | 0);
	/* Each pop asks for a kick at the next position, wrap included. */
	for (unsigned i = 0; i < 9; i++) {
		good_chain(f, GOOD_ID);
		assert_int_equal(virtqueue_pop(&f->vq, &e), 1);
		assert_int_equal(f->dev->off_wrap,
				 f->avail_pos | (f->avail_wrap ? EV_WRAP : 0));
		virtqueue_push(&f->vq, e, 1);
		expect_used(f, GOOD_ID, 1, 2);
	}
	assert_false(f->avail_wrap);
	/* Suppressed, the position stays behind. */
	virtqueue_set_notification(&f->vq, false);
	good_chain(f, GOOD_ID);
	assert_int_equal(virtqueue_pop(&f->vq, &e), 1);
	assert_int_not_equal(f->dev->off_wrap, f->avail_pos);
	virtqueue_push(&f->vq, e, 1);
	expect_used(f, GOOD_ID, 1, 2);
	virtqueue_set_notification(&f->vq, true);
	assert_int_equal(f->dev->off_wrap, f->avail_pos);
	assert_int_equal(f->dev->flags, VRING_PACKED_EVENT_FLAG_DESC);
}

static void push_one(struct fx *f, uint16_t id)
{
	struct vq_elem *e;

	good_chain(f, id);
	assert_int_equal(virtqueue_pop(&f->vq, &e), 1);
	virtqueue_push(&f->vq, e, 1);
	expect_used(f, id, 1, 2);
}

static void driver_event(struct fx *f, uint16_t flags, uint16_t off_wrap)
{
	f->drv->off_wrap = off_wrap;
	f->drv->flags = flags;
}

/* Driver event suppression: which completions signal the call fd. */
static void test_driver_event_flags(void **state)
{
	struct fx *f = *state;

	call_count(f);
	driver_event(f, VRING_PACKED_EVENT_FLAG_DISABLE, 0);
	push_one(f, 1);
	assert_int_equal(call_count(f), 0);
	driver_event(f, VRING_PACKED_EVENT_FLAG_ENABLE, 0);
	push_one(f, 1);
	assert_int_equal(call_count(f), 1);
	/* Reserved, and DESC without EVENT_IDX: notified (always safe). */
	driver_event(f, 3, 0);
	push_one(f, 1);
	assert_int_equal(call_count(f), 1);
	driver_event(f, VRING_PACKED_EVENT_FLAG_DESC, 0x7fff);
	push_one(f, 1);
	assert_int_equal(call_count(f), 1);
}

static void test_driver_event_desc(void **state)
{
	struct fx *f = *state;

	call_count(f);
	driver_event(f, VRING_PACKED_EVENT_FLAG_DESC, EV_WRAP | 2);
	push_one(f, 1);                 /* 0 -> 2: the first after a start always */
	assert_int_equal(call_count(f), 1);
	push_one(f, 1);                 /* 2 -> 4 passes 2 */
	assert_int_equal(call_count(f), 1);
	push_one(f, 1);                 /* 4 -> 6: 2 is behind */
	assert_int_equal(call_count(f), 0);
	driver_event(f, VRING_PACKED_EVENT_FLAG_DESC, 6);    /* 6 of the next lap */
	push_one(f, 1);                 /* 6 -> 8 */
	assert_int_equal(call_count(f), 0);
	driver_event(f, VRING_PACKED_EVENT_FLAG_DESC, EV_WRAP | 9);
	push_one(f, 1);                 /* 8 -> 10 passes 9 */
	assert_int_equal(call_count(f), 1);
	driver_event(f, VRING_PACKED_EVENT_FLAG_DESC, EV_WRAP | 15);
	push_one(f, 1);                 /* 10 -> 12 */
	push_one(f, 1);                 /* 12 -> 14 */
	assert_int_equal(call_count(f), 0);
	push_one(f, 1);                 /* 14 -> 0 (next lap) passes 15 */
	assert_int_equal(call_count(f), 1);
	assert_false(f->vq.used_wrap);
	driver_event(f, VRING_PACKED_EVENT_FLAG_DESC, 0);    /* this lap's 0: behind */
	push_one(f, 1);                 /* 0 -> 2 of lap 2... */
	assert_int_equal(call_count(f), 1);
	push_one(f, 1);                 /* 2 -> 4: 0 is behind */
	assert_int_equal(call_count(f), 0);
	driver_event(f, VRING_PACKED_EVENT_FLAG_DESC, EV_WRAP | 4);  /* last lap's: behind */
	push_one(f, 1);
	assert_int_equal(call_count(f), 0);
}

/* The race the split ring had (test_virtqueue.c): the worker asks for a
 * kick at the end of the ring, and before it looks once more a malformed
 * chain arrives whose driver saw the older position and did not kick.
 * The look consumes the chain; the kick position must follow, or the
 * driver's next buffer would not kick and the worker would sleep for ever. */
static void test_bad_chain_after_arming_rearms(void **state)
{
	struct fx *f = *state;
	struct vq_elem *e = NULL;
	uint16_t off;

	virtqueue_set_notification(&f->vq, true);
	assert_int_equal(f->dev->off_wrap, EV_WRAP | 0);
	dput(f, 0, 0x7000000000ull, 8, BAD_ID, 0);
	dpublish(f, 1);
	assert_int_equal(virtqueue_pop(&f->vq, &e), 0);
	assert_null(e);
	expect_used(f, BAD_ID, 0, 1);
	assert_int_equal(virtqueue_last_avail(&f->vq), 1);
	assert_int_equal(f->dev->off_wrap, EV_WRAP | 1);
	assert_int_equal(f->dev->flags, VRING_PACKED_EVENT_FLAG_DESC);
	/* The driver's next buffer (at 1) must now come with a kick. */
	off = f->dev->off_wrap & 0x7fff;
	assert_int_equal(off, f->avail_pos);
	good_chain(f, GOOD_ID);
	expect_good(f, GOOD_ID);

	/* With kicks suppressed nothing is asked for. */
	virtqueue_set_notification(&f->vq, false);
	off = f->dev->off_wrap;
	dput(f, 0, 0x7000000000ull, 8, BAD_ID, 0);
	dpublish(f, 1);
	assert_int_equal(virtqueue_pop(&f->vq, &e), 0);
	expect_used(f, BAD_ID, 0, 1);
	assert_int_equal(f->dev->off_wrap, off);
	assert_int_equal(f->dev->flags, VRING_PACKED_EVENT_FLAG_DISABLE);
}

/* GET/SET_VRING_BASE: positions and wrap counters as QEMU encodes them. */
static void test_base(void **state)
{
	struct fx *f = *state;
	struct vq_elem *e;

	push_one(f, 1);
	push_one(f, 2);
	assert_int_equal(virtqueue_get_base(&f->vq), 0x80048004u);
	/* A restart where the last stop left the queue: avail 5 and used 3
	 * of the second lap (2 descriptors abandoned). */
	assert_int_equal(virtqueue_set_base(&f->vq, 0x00030005u), 0);
	assert_int_equal(virtqueue_map_rings(&f->vq), 0);
	f->avail_pos = 5;
	f->avail_wrap = false;
	f->used_pos = 3;
	f->used_wrap = false;
	good_chain(f, GOOD_ID);
	assert_int_equal(virtqueue_pop(&f->vq, &e), 1);
	virtqueue_push(&f->vq, e, 10);
	expect_used(f, GOOD_ID, 10, 2);
	assert_int_equal(virtqueue_get_base(&f->vq), 0x00050007u);
	/* Positions outside the ring, or more in flight than it holds:
	 * the queue does not start. */
	assert_int_equal(virtqueue_set_base(&f->vq, 0x80008000u | QSZ), 0);
	assert_int_equal(virtqueue_map_rings(&f->vq), -EINVAL);
	assert_int_equal(virtqueue_set_base(&f->vq, 0x00000001u | 0x8000u), 0);
	assert_int_equal(virtqueue_map_rings(&f->vq), -EINVAL);
}

/* Rings must be in guest memory, aligned, and not over each other. */
static void test_translate(void **state)
{
	struct fx *f = *state;
	struct vq_elem *e;

	f->vq.used_user_addr = RING_GPA + 8 * 16 + TEST_UVA_BIAS; /* inside the ring */
	assert_int_not_equal(virtqueue_map_rings(&f->vq), 0);
	f->vq.used_user_addr = DRV_EV_GPA + 2 + TEST_UVA_BIAS;    /* over the driver's */
	assert_int_not_equal(virtqueue_map_rings(&f->vq), 0);
	f->vq.used_user_addr = DEV_EV_GPA + 2 + TEST_UVA_BIAS;    /* unaligned */
	assert_int_not_equal(virtqueue_map_rings(&f->vq), 0);
	f->vq.used_user_addr = 0x20000 + TEST_UVA_BIAS;            /* outside */
	assert_int_not_equal(virtqueue_map_rings(&f->vq), 0);
	assert_int_equal(virtqueue_pop(&f->vq, &e), -EFAULT);
	f->vq.used_user_addr = DEV_EV_GPA + TEST_UVA_BIAS;
	assert_int_equal(virtqueue_map_rings(&f->vq), 0);
}

#define STRESS_CHAINS 20000

struct stress {
	struct fx *f;
	int done; /* atomic: chains completed */
};

static void *stress_worker(void *arg)
{
	struct stress *s = arg;

	while (__atomic_load_n(&s->done, __ATOMIC_ACQUIRE) < STRESS_CHAINS) {
		struct vq_elem *e;
		int ret = virtqueue_pop(&s->f->vq, &e);

		assert_true(ret >= 0);
		if (ret == 0) {
			sched_yield();
			continue;
		}
		virtqueue_push(&s->f->vq, e, 1);
		__atomic_add_fetch(&s->done, 1, __ATOMIC_ACQ_REL);
	}
	return NULL;
}

/* Several workers pop and push one packed queue, completing out of order,
 * while the "driver" refills it and reaps by id. */
static void test_concurrent_workers(void **state)
{
	struct fx *f = *state;
	struct stress s = { .f = f };
	uint16_t ndesc[QSZ] = { 0 }, free_descs = QSZ, next_id = 0;
	bool busy[QSZ] = { false };
	unsigned produced = 0, reaped = 0, i;
	pthread_t t[3];

	for (i = 0; i < 3; i++)
		assert_int_equal(pthread_create(&t[i], NULL, stress_worker, &s), 0);
	while (reaped < STRESS_CHAINS) {
		uint16_t fl = __atomic_load_n(&f->ring[f->used_pos].flags, __ATOMIC_ACQUIRE);
		unsigned n = 1 + produced % 3;

		if (!!(fl & F_AVAIL) == f->used_wrap && !!(fl & F_USED) == f->used_wrap) {
			uint16_t id = f->ring[f->used_pos].id;

			assert_true(id < QSZ && busy[id]);
			busy[id] = false;
			step(&f->used_pos, &f->used_wrap, ndesc[id]);
			free_descs = (uint16_t)(free_descs + ndesc[id]);
			reaped++;
			continue;
		}
		if (produced < STRESS_CHAINS && free_descs >= n && !busy[next_id]) {
			for (i = 0; i < n; i++)
				dput(f, i, OUT_GPA, 8, next_id, i + 1 < n ? F_NEXT : 0);
			busy[next_id] = true;
			ndesc[next_id] = (uint16_t)n;
			dpublish(f, n);
			free_descs = (uint16_t)(free_descs - n);
			next_id = (uint16_t)((next_id + 1) % QSZ);
			produced++;
		} else {
			sched_yield();
		}
	}
	for (i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(s.done, STRESS_CHAINS);
	assert_int_equal(f->vq.inflight, 0);
	assert_int_equal(f->vq.used_idx, f->used_pos);
	assert_int_equal(f->vq.last_avail_idx, f->avail_pos);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
#define TE(fn) cmocka_unit_test_setup_teardown(fn, setup_event_idx, teardown)
	const struct CMUnitTest tests[] = {
		T(test_valid_chain),
		T(test_id_in_last_descriptor),
		T(test_wrap_around),
		T(test_out_of_order),
		T(test_indirect_valid),
		T(test_addr_outside),
		T(test_readable_after_writable),
		T(test_id_out_of_range),
		T(test_id_in_flight),
		T(test_head_not_available),
		T(test_chain_into_unavailable),
		T(test_chain_longer_than_ring),
		T(test_chain_exactly_ring_size),
		T(test_indirect_bad),
		T(test_indirect_nested),
		T(test_indirect_in_chain),
		T(test_indirect_entry_bad),
		T(test_device_event),
		TE(test_device_event),
		T(test_driver_event_flags),
		TE(test_driver_event_desc),
		TE(test_bad_chain_after_arming_rearms),
		T(test_base),
		T(test_translate),
		T(test_concurrent_workers),
		TE(test_concurrent_workers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
