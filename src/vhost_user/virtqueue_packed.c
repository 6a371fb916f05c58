/* virtqueue_packed.c: the packed ring (VIRTIO_F_RING_PACKED, virtio 1.1+
 * section 2.8): one descriptor ring that the driver fills with available
 * descriptors and we overwrite with used ones, plus two event suppression
 * areas. Under vq->lock.
 *
 * Positions. last_avail_idx is the next descriptor we read, used_idx the
 * next one we write, each in [0, size) with its wrap counter (which flips
 * each time the position passes the end of the ring). The descriptors from
 * used_idx up to last_avail_idx are the ones we consumed and have not yet
 * used; a used descriptor only ever lands there, never on one the driver
 * has made available and we have not read. Workers complete out of order:
 * each completion is written at used_idx and moves it by the number of
 * descriptors its buffer took.
 *
 * A position with its wrap counter is also counted over two laps,
 * lap_pos = pos + (wrap ? 0 : size), mod 2 * size: one descriptor is one
 * step, so distances and the EVENT_IDX-style "did we pass the event"
 * test are exact across the end of the ring. */
#include <errno.h>
#include <string.h>

#include <linux/virtio_ring.h>

#include "util/log.h"
#include "vhost_user/virtqueue_internal.h"

#define PACKED_F_AVAIL		(1u << VRING_PACKED_DESC_F_AVAIL)
#define PACKED_F_USED		(1u << VRING_PACKED_DESC_F_USED)
#define PACKED_EVENT_WRAP	(1u << VRING_PACKED_EVENT_F_WRAP_CTR)
#define PACKED_POS_MASK		0x7fffu
#define PACKED_EVENT_SIZE	((uint64_t)sizeof(struct vring_packed_desc_event))

/* One descriptor as read: each field loaded once. */
struct packed_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t id;
	uint16_t flags;
};

/* What a walk from last_avail_idx found. */
struct packed_walk {
	uint16_t ndescs;	/* ring descriptors the chain takes */
	uint16_t id;		/* buffer id: of the last descriptor read */
	uint16_t next_pos;	/* last_avail_idx after the chain */
	bool next_wrap;
	int error;		/* 0, or the chain is refused (logged) */
};

/* The descriptor ring (16-byte aligned) and the two 4-byte event areas
 * (4-byte aligned), each inside one region and none over another: the
 * ring is the only place we write descriptors, and the device area the
 * only place we write events. */
static int packed_translate(struct virtqueue *vq, const struct guest_memory *mem)
{
	uint64_t ring_len = (uint64_t)vq->size * sizeof(struct vring_packed_desc);
	void *ring, *driver, *device;

	ring = guest_memory_uva_to_host(mem, vq->desc_user_addr, ring_len);
	driver = guest_memory_uva_to_host(mem, vq->avail_user_addr, PACKED_EVENT_SIZE);
	device = guest_memory_uva_to_host(mem, vq->used_user_addr, PACKED_EVENT_SIZE);
	if (!ring || !driver || !device)
		return -EFAULT;
	if (vq_ranges_overlap(ring, ring_len, driver, PACKED_EVENT_SIZE) ||
	    vq_ranges_overlap(ring, ring_len, device, PACKED_EVENT_SIZE) ||
	    vq_ranges_overlap(driver, PACKED_EVENT_SIZE, device, PACKED_EVENT_SIZE)) {
		log_error_once("virtqueue %u: packed ring areas overlap each other", vq->index);
		return -EFAULT;
	}
	if (!vq_ptr_aligned(ring, 16) || !vq_ptr_aligned(driver, 4) || !vq_ptr_aligned(device, 4))
		return -EFAULT;
	vq->pdesc = ring;
	vq->driver_event = driver;
	vq->device_event = device;
	return 0;
}

static unsigned lap_pos(const struct virtqueue *vq, uint16_t pos, bool wrap)
{
	return pos + (wrap ? 0u : vq->size);
}

/* Descriptors consumed and not yet used (at most size on a sane ring). */
static unsigned packed_outstanding(const struct virtqueue *vq)
{
	unsigned laps = 2u * vq->size;

	return (lap_pos(vq, vq->last_avail_idx, vq->avail_wrap) + laps -
		lap_pos(vq, vq->used_idx, vq->used_wrap)) % laps;
}

static void pos_advance(const struct virtqueue *vq, uint16_t *pos, bool *wrap, unsigned n)
{
	unsigned p = *pos + n;

	if (p >= vq->size) {
		p -= vq->size;
		*wrap = !*wrap;
	}
	*pos = (uint16_t)p;
}

/* Available to us: AVAIL matches the wrap counter at that position and
 * USED does not (a used descriptor has both equal). */
static bool desc_is_avail(uint16_t flags, bool wrap)
{
	return !!(flags & PACKED_F_AVAIL) == wrap && !!(flags & PACKED_F_USED) != wrap;
}

/* Acquire: the rest of the descriptor was written before its flags. */
static uint16_t desc_flags(const struct virtqueue *vq, uint16_t pos)
{
	return __atomic_load_n(&vq->pdesc[pos].flags, __ATOMIC_ACQUIRE);
}

static void desc_read(const struct virtqueue *vq, uint16_t pos, uint16_t flags,
		      struct packed_desc *d)
{
	const struct vring_packed_desc *r = &vq->pdesc[pos];

	d->addr = __atomic_load_n(&r->addr, __ATOMIC_RELAXED);
	d->len = __atomic_load_n(&r->len, __ATOMIC_RELAXED);
	d->id = __atomic_load_n(&r->id, __ATOMIC_RELAXED);
	d->flags = flags;
}

static void device_event_write(struct virtqueue *vq, uint16_t flags)
{
	__atomic_store_n(&vq->device_event->flags, flags, __ATOMIC_RELAXED);
	vq_log_write(vq, &vq->device_event->flags, sizeof(flags));
}

/* With EVENT_IDX, ask for a kick when the driver makes the descriptor at
 * our next position available (a position, like the split ring's
 * avail_event: one left behind would keep the driver quiet). */
static void packed_arm_kick(struct virtqueue *vq)
{
	uint16_t off_wrap;

	if (!vq->event_idx || vq->notify_off)
		return;
	off_wrap = (uint16_t)(vq->last_avail_idx | (vq->avail_wrap ? PACKED_EVENT_WRAP : 0));
	__atomic_store_n(&vq->device_event->off_wrap, off_wrap, __ATOMIC_RELAXED);
	vq_log_write(vq, &vq->device_event->off_wrap, sizeof(off_wrap));
}

static void packed_set_notification(struct virtqueue *vq, bool enable)
{
	if (!enable) {
		device_event_write(vq, VRING_PACKED_EVENT_FLAG_DISABLE);
		return;
	}
	/* The position before the mode: a driver seeing DESC sees where. */
	packed_arm_kick(vq);
	device_event_write(vq, vq->event_idx ? VRING_PACKED_EVENT_FLAG_DESC :
					       VRING_PACKED_EVENT_FLAG_ENABLE);
}

static int packed_resume(struct virtqueue *vq)
{
	if (vq->last_avail_idx >= vq->size || vq->used_idx >= vq->size ||
	    packed_outstanding(vq) > vq->size) {
		log_error("virtqueue %u: packed base avail %u/%u used %u/%u does not fit size %u",
			  vq->index, vq->last_avail_idx, vq->avail_wrap, vq->used_idx,
			  vq->used_wrap, vq->size);
		return -EINVAL;
	}
	if (packed_outstanding(vq))
		log_info("virtqueue %u: %u descriptors abandoned at the last stop stay unused",
			 vq->index, packed_outstanding(vq));
	memset(vq->ids_busy, 0, VQ_MAX_PACKED_IDS / 8);
	packed_set_notification(vq, true);
	return 0;
}

static bool id_busy(const struct virtqueue *vq, uint16_t id)
{
	return vq->ids_busy[id / 64] & (1ull << (id % 64));
}

static void id_mark(struct virtqueue *vq, uint16_t id, bool busy)
{
	if (busy)
		vq->ids_busy[id / 64] |= 1ull << (id % 64);
	else
		vq->ids_busy[id / 64] &= ~(1ull << (id % 64));
}

/* A buffer id must name one of the ring's buffers, and not one we still
 * hold: its completion would be ambiguous. */
static int packed_id_check(struct virtqueue *vq, uint16_t id)
{
	if (id >= vq->size)
		VQ_CHAIN_BAD("virtqueue %u: buffer id %u out of range (%u)", vq->index, id,
			     vq->size);
	if (id_busy(vq, id))
		VQ_CHAIN_BAD("virtqueue %u: buffer id %u is already in flight", vq->index, id);
	return 0;
}

/* The buffers of the indirect table d points to. Only WRITE means
 * something in its entries; the spec has the device ignore the others,
 * but a nested table would be a second level we do not walk. */
static int packed_take_indirect(struct virtqueue *vq, struct vq_chain *c,
				const struct packed_desc *d)
{
	const struct vring_packed_desc *table = vq->scratch_indirect;
	int n = vq_indirect_copy(vq, d->addr, d->len);
	int i, ret;

	if (n < 0)
		return n;
	for (i = 0; i < n; i++) {
		if (table[i].flags & VRING_DESC_F_INDIRECT)
			VQ_CHAIN_BAD("virtqueue %u: nested indirect descriptor", vq->index);
		ret = vq_chain_add(vq, c, table[i].addr, table[i].len,
				   table[i].flags & VRING_DESC_F_WRITE);
		if (ret)
			return ret;
	}
	return 0;
}

/* One ring descriptor of a chain (first: it is the chain's first). */
static int packed_take(struct virtqueue *vq, struct vq_chain *c, const struct packed_desc *d,
		       bool first)
{
	if (!(d->flags & VRING_DESC_F_INDIRECT))
		return vq_chain_add(vq, c, d->addr, d->len, d->flags & VRING_DESC_F_WRITE);
	/* An indirect descriptor is a whole buffer: never chained. */
	if (!first || (d->flags & VRING_DESC_F_NEXT))
		VQ_CHAIN_BAD("virtqueue %u: indirect descriptor in a chain", vq->index);
	return packed_take_indirect(vq, c, d);
}

/* Walk the chain at last_avail_idx into c, without consuming it. Returns
 * 0 when no descriptor is available there, 1 with w filled in. A chain
 * is delimited by its first descriptor without NEXT; every descriptor
 * must be available with the wrap counter of its own position (the spec
 * has the driver set the flags of all of them), and the chain may not be
 * longer than the descriptors not in flight: so the walk is bounded by
 * the ring size. A refused chain is still walked to its end so that it
 * can be skipped as a whole, and completed with its buffer id. */
static int packed_walk(struct virtqueue *vq, struct vq_chain *c, struct packed_walk *w)
{
	unsigned outstanding = packed_outstanding(vq);
	uint16_t pos = vq->last_avail_idx, flags;
	bool wrap = vq->avail_wrap;
	struct packed_desc d;
	unsigned limit;

	flags = desc_flags(vq, pos);
	if (!desc_is_avail(flags, wrap))
		return 0;
	if (outstanding >= vq->size) {
		log_error_once("virtqueue %u: descriptor %u offered while all %u are in flight",
			       vq->index, pos, vq->size);
		return 0;
	}
	vq_guest_acquire();
	limit = vq->size - outstanding;
	memset(w, 0, sizeof(*w));
	for (;;) {
		desc_read(vq, pos, flags, &d);
		w->id = d.id;
		w->ndescs++;
		pos_advance(vq, &pos, &wrap, 1);
		if (!w->error)
			w->error = packed_take(vq, c, &d, w->ndescs == 1);
		if (!(d.flags & VRING_DESC_F_NEXT))
			break;
		if (w->ndescs == limit) {
			log_error_once("virtqueue %u: descriptor chain longer than the %u free descriptors",
				       vq->index, limit);
			w->error = -EINVAL;
			break;
		}
		flags = desc_flags(vq, pos);
		if (!desc_is_avail(flags, wrap)) {
			log_error_once("virtqueue %u: descriptor chain runs into descriptor %u, not available",
				       vq->index, pos);
			w->error = -EINVAL;
			break;
		}
	}
	if (!w->error)
		w->error = packed_id_check(vq, w->id);
	w->next_pos = pos;
	w->next_wrap = wrap;
	return 1;
}

/* Write one used descriptor for a buffer that took ndescs descriptors:
 * id and length first, then the flags that make it used. */
static void packed_used_put(struct virtqueue *vq, uint16_t id, uint32_t len, uint16_t ndescs)
{
	struct vring_packed_desc *d = &vq->pdesc[vq->used_idx];
	uint16_t flags = vq->used_wrap ? (uint16_t)(PACKED_F_AVAIL | PACKED_F_USED) : 0;

	/* The length means something only with WRITE set (spec 2.8.4). */
	if (len)
		flags |= VRING_DESC_F_WRITE;
	__atomic_store_n(&d->id, id, __ATOMIC_RELAXED);
	__atomic_store_n(&d->len, len, __ATOMIC_RELAXED);
	vq_guest_release();
	__atomic_store_n(&d->flags, flags, __ATOMIC_RELEASE);
	vq_log_write(vq, d, sizeof(*d));
	pos_advance(vq, &vq->used_idx, &vq->used_wrap, ndescs ? ndescs : 1);
}

/* Whether the used descriptors just written passed the one the driver
 * asked to hear about. Both sides count over two laps. */
static bool packed_passed_event(const struct virtqueue *vq, uint16_t off_wrap, unsigned now,
				unsigned old)
{
	unsigned laps = 2u * vq->size, off = off_wrap & PACKED_POS_MASK, event;

	/* A position outside the ring asks for nothing we can decide:
	 * notifying is always safe. */
	if (off >= vq->size)
		return true;
	event = lap_pos(vq, (uint16_t)off, off_wrap & PACKED_EVENT_WRAP);
	return (now + 2 * laps - event - 1) % laps < (now + laps - old) % laps;
}

static bool packed_should_notify(struct virtqueue *vq)
{
	unsigned now = lap_pos(vq, vq->used_idx, vq->used_wrap), old = vq->signalled_used;
	bool valid = vq->signalled_used_valid;
	uint16_t flags, off_wrap;

	/* Our used flags must be ordered before reading what the driver
	 * asked for, or both sides can miss each other's update. */
	process_fence();
	flags = __atomic_load_n(&vq->driver_event->flags, __ATOMIC_RELAXED);
	off_wrap = __atomic_load_n(&vq->driver_event->off_wrap, __ATOMIC_RELAXED);
	vq->signalled_used = (uint16_t)now;
	vq->signalled_used_valid = true;
	switch (flags & 3) {
	case VRING_PACKED_EVENT_FLAG_DISABLE:
		return false;
	case VRING_PACKED_EVENT_FLAG_DESC:
		/* DESC means something only with EVENT_IDX; reserved values
		 * (and DESC without it) get a notification, which is safe. */
		if (vq->event_idx && valid)
			return packed_passed_event(vq, off_wrap, now, old);
		return true;
	default:
		return true;
	}
}

static void packed_notify(struct virtqueue *vq)
{
	if (packed_should_notify(vq))
		vq_signal(vq);
}

/* Rings mapped. 1 with *elem, 0 when nothing (valid) is available,
 * -EAGAIN after skipping a ring's worth of bad chains (call again),
 * -ENOMEM. */
static int packed_pop(struct virtqueue *vq, struct vq_elem **elem)
{
	bool consumed = false;

	/* Each bad chain takes at least one descriptor: one call skips at
	 * most a ring's worth, so a worker never spins under the lock. */
	for (unsigned skipped = 0;; skipped++) {
		struct vq_chain c = { .iov = vq->scratch_iov };
		uint16_t pos = vq->last_avail_idx;
		bool wrap = vq->avail_wrap;
		struct packed_walk w;

		if (skipped > vq->size) {
			log_error_once("virtqueue %u: more than %u bad chains in a row",
				       vq->index, vq->size);
			return -EAGAIN;
		}
		if (!packed_walk(vq, &c, &w)) {
			if (!consumed || vq->notify_off)
				return 0;
			/* Skipped chains moved us past the kick position we
			 * asked for: ask again at the new one, then look once
			 * more, or a buffer the driver adds now (seeing the old
			 * position) would come without a kick. */
			packed_arm_kick(vq);
			process_fence();
			consumed = false;
			continue;
		}
		vq->last_avail_idx = w.next_pos;
		vq->avail_wrap = w.next_wrap;
		consumed = true;
		if (w.error) {
			packed_used_put(vq, w.id, 0, w.ndescs);
			packed_notify(vq);
			continue;
		}
		*elem = vq_elem_build(vq, w.id, w.ndescs, &c);
		if (!*elem) {
			vq->last_avail_idx = pos;
			vq->avail_wrap = wrap;
			return -ENOMEM;
		}
		id_mark(vq, w.id, true);
		vq->inflight++;
		packed_arm_kick(vq);
		return 1;
	}
}

static void packed_put(struct virtqueue *vq, const struct vq_elem *elem, uint32_t len)
{
	packed_used_put(vq, elem->head, len, elem->ndescs);
	if (elem->head < vq->size)
		id_mark(vq, elem->head, false);
}

static bool packed_has_pending(struct virtqueue *vq)
{
	/* Like pop: a descriptor offered while every one is in flight is
	 * not work (saying yes would spin the worker). */
	return desc_is_avail(desc_flags(vq, vq->last_avail_idx), vq->avail_wrap) &&
	       packed_outstanding(vq) < vq->size;
}

static uint32_t packed_get_base(const struct virtqueue *vq)
{
	uint32_t avail = vq->last_avail_idx | (vq->avail_wrap ? 0x8000u : 0);
	uint32_t used = vq->used_idx | (vq->used_wrap ? 0x8000u : 0);

	return avail | used << 16;
}

static int packed_set_base(struct virtqueue *vq, uint32_t num)
{
	vq->last_avail_idx = (uint16_t)(num & PACKED_POS_MASK);
	vq->avail_wrap = num & 0x8000u;
	vq->used_idx = (uint16_t)((num >> 16) & PACKED_POS_MASK);
	vq->used_wrap = num & 0x80000000u;
	return 0;
}

const struct vq_ring_ops vq_packed_ops = {
	.translate = packed_translate,
	.resume = packed_resume,
	.pop = packed_pop,
	.put = packed_put,
	.notify = packed_notify,
	.set_notification = packed_set_notification,
	.has_pending = packed_has_pending,
	.get_base = packed_get_base,
	.set_base = packed_set_base,
};
