/* virtqueue_split.c: the split ring (virtio 1.x, 2.7): descriptor table,
 * avail ring, used ring, VIRTIO_RING_F_EVENT_IDX. Under vq->lock. */
#include <errno.h>

#include <linux/virtio_ring.h>

#include "util/log.h"
#include "vhost_user/virtqueue_internal.h"

/* Host pointers for the three rings in mem; each ring must sit inside one
 * region and be aligned as the spec requires (unaligned would also make
 * our atomic loads undefined), and no ring may overlap another: a used
 * ring laid over the avail index would make every completion look like a
 * new request (found by fuzzing). */
static int split_translate(struct virtqueue *vq, const struct guest_memory *mem)
{
	uint64_t n = vq->size;
	uint64_t event = vq->event_idx ? sizeof(uint16_t) : 0;
	uint64_t desc_len = n * sizeof(struct vring_desc);
	uint64_t avail_len = sizeof(struct vring_avail) + n * sizeof(uint16_t) + event;
	uint64_t used_len = sizeof(struct vring_used) + n * sizeof(struct vring_used_elem) + event;
	void *desc, *avail, *used;

	desc = guest_memory_uva_to_host(mem, vq->desc_user_addr, desc_len);
	avail = guest_memory_uva_to_host(mem, vq->avail_user_addr, avail_len);
	used = guest_memory_uva_to_host(mem, vq->used_user_addr, used_len);
	if (!desc || !avail || !used)
		return -EFAULT;
	if (vq_ranges_overlap(desc, desc_len, avail, avail_len) ||
	    vq_ranges_overlap(desc, desc_len, used, used_len) ||
	    vq_ranges_overlap(avail, avail_len, used, used_len)) {
		log_error_once("virtqueue %u: rings overlap each other", vq->index);
		return -EFAULT;
	}
	if (!vq_ptr_aligned(desc, VRING_DESC_ALIGN_SIZE) ||
	    !vq_ptr_aligned(avail, VRING_AVAIL_ALIGN_SIZE) ||
	    !vq_ptr_aligned(used, VRING_USED_ALIGN_SIZE))
		return -EFAULT;
	vq->desc = desc;
	vq->avail = avail;
	vq->used = used;
	return 0;
}

/* The EVENT_IDX fields sit just past each ring (checked by split_translate). */
static uint16_t *split_used_event(struct virtqueue *vq)
{
	return &vq->avail->ring[vq->size];
}

static uint16_t *split_avail_event(struct virtqueue *vq)
{
	return (uint16_t *)(void *)&vq->used->ring[vq->size];
}

/* With EVENT_IDX, ask for a kick when the driver publishes the entry after
 * the last one we popped (the event is a position, not a flag: a stale one
 * would keep the driver quiet until the index wraps). */
static void split_arm_kick(struct virtqueue *vq)
{
	if (vq->event_idx && !vq->notify_off) {
		__atomic_store_n(split_avail_event(vq), vq->last_avail_idx, __ATOMIC_RELAXED);
		vq_log_write(vq, split_avail_event(vq), sizeof(uint16_t));
	}
}

static int split_resume(struct virtqueue *vq)
{
	/* Resume where the used ring really is: chains abandoned at the
	 * last stop were counted in last_avail_idx but never used. */
	vq->used_idx = __atomic_load_n(&vq->used->idx, __ATOMIC_ACQUIRE);
	split_arm_kick(vq);
	return 0;
}

/* Put one used element and publish it. */
static void split_used_put(struct virtqueue *vq, uint16_t head, uint32_t len)
{
	struct vring_used_elem *e = &vq->used->ring[vq->used_idx % vq->size];

	__atomic_store_n(&e->id, head, __ATOMIC_RELAXED);
	__atomic_store_n(&e->len, len, __ATOMIC_RELAXED);
	vq_guest_release();
	vq->used_idx++;
	/* Release: the element must be visible before the index that covers it. */
	__atomic_store_n(&vq->used->idx, vq->used_idx, __ATOMIC_RELEASE);
	vq_log_write(vq, e, sizeof(*e));
	vq_log_write(vq, &vq->used->idx, sizeof(vq->used->idx));
}

static bool split_should_notify(struct virtqueue *vq)
{
	uint16_t new_idx = vq->used_idx, old = vq->signalled_used;
	bool valid = vq->signalled_used_valid;

	/* Our used->idx store must be ordered before reading what the driver
	 * asked for, or both sides can miss each other's update. */
	process_fence();
	if (!vq->event_idx)
		return !(__atomic_load_n(&vq->avail->flags, __ATOMIC_RELAXED) &
			 VRING_AVAIL_F_NO_INTERRUPT);
	vq->signalled_used = new_idx;
	vq->signalled_used_valid = true;
	return !valid ||
	       vring_need_event(__atomic_load_n(split_used_event(vq), __ATOMIC_RELAXED),
				new_idx, old);
}

static void split_notify(struct virtqueue *vq)
{
	if (split_should_notify(vq))
		vq_signal(vq);
}

static void desc_read(const struct vring_desc *table, unsigned i, struct vring_desc *d)
{
	/* One load per field: the guest may rewrite the table under us, and
	 * each value must be checked and used as the same value. */
	d->addr = __atomic_load_n(&table[i].addr, __ATOMIC_RELAXED);
	d->len = __atomic_load_n(&table[i].len, __ATOMIC_RELAXED);
	d->flags = __atomic_load_n(&table[i].flags, __ATOMIC_RELAXED);
	d->next = __atomic_load_n(&table[i].next, __ATOMIC_RELAXED);
}

/* Switch the walk to the indirect table d points to. */
static int split_enter_indirect(struct virtqueue *vq, const struct vring_desc *d,
				const struct vring_desc **table, unsigned *max)
{
	int n;

	if (d->flags & VRING_DESC_F_NEXT)
		VQ_CHAIN_BAD("virtqueue %u: indirect descriptor with NEXT", vq->index);
	n = vq_indirect_copy(vq, d->addr, d->len);
	if (n < 0)
		return n;
	*table = vq->scratch_indirect;
	*max = (unsigned)n;
	return 0;
}

/* Walk the chain at head into c. Returns 0, or -EINVAL for a chain the
 * guest built wrong (already logged). */
static int split_chain_walk(struct virtqueue *vq, uint16_t head, struct vq_chain *c)
{
	const struct vring_desc *table = vq->desc;
	unsigned max = vq->size, i = head, seen = 0;
	bool indirect = false;
	struct vring_desc d;
	int ret;

	for (;;) {
		if (i >= max)
			VQ_CHAIN_BAD("virtqueue %u: descriptor index %u out of range (%u)",
				     vq->index, i, max);
		/* No chain visits more descriptors than its table holds. */
		if (++seen > max)
			VQ_CHAIN_BAD("virtqueue %u: descriptor chain at head %u loops", vq->index,
				     head);
		desc_read(table, i, &d);
		if (d.flags & VRING_DESC_F_INDIRECT) {
			if (indirect)
				VQ_CHAIN_BAD("virtqueue %u: nested indirect descriptor", vq->index);
			ret = split_enter_indirect(vq, &d, &table, &max);
			if (ret)
				return ret;
			i = 0;
			seen = 0;
			indirect = true;
			continue;
		}
		ret = vq_chain_add(vq, c, d.addr, d.len, d.flags & VRING_DESC_F_WRITE);
		if (ret)
			return ret;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 0;
		i = d.next;
	}
}

/* Rings mapped. 1 with *elem, 0 when nothing (valid) is available,
 * -EAGAIN after skipping a ring's worth of bad chains (call again),
 * -ENOMEM. */
static int split_pop(struct virtqueue *vq, struct vq_elem **elem)
{
	bool consumed = false;

	/* However the guest lays out its memory, one call skips at most a
	 * ring's worth of bad chains, so a worker never spins under the lock. */
	for (unsigned skipped = 0;; skipped++) {
		if (skipped > vq->size) {
			log_error_once("virtqueue %u: more than %u bad chains in a row",
				       vq->index, vq->size);
			return -EAGAIN;
		}
		uint16_t avail_idx, pending, head;
		struct vq_chain c = { .iov = vq->scratch_iov };

		/* Acquire: the ring entries below were written before the index. */
		avail_idx = __atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE);
		pending = (uint16_t)(avail_idx - vq->last_avail_idx);
		if (pending == 0 && consumed && !vq->notify_off) {
			/* Skipped entries moved last_avail_idx past the kick we
			 * asked for: ask again at the new end, then look once
			 * more, or a buffer the driver adds now (seeing the old
			 * avail_event) would come without a kick. */
			split_arm_kick(vq);
			process_fence();
			consumed = false;
			continue;
		}
		if (pending == 0)
			return 0;
		if (pending > vq->size) {
			log_error_once("virtqueue %u: avail index %u runs %u ahead of %u (size %u)",
				       vq->index, avail_idx, pending, vq->last_avail_idx, vq->size);
			return 0;
		}
		vq_guest_acquire();
		head = __atomic_load_n(&vq->avail->ring[vq->last_avail_idx % vq->size],
				       __ATOMIC_RELAXED);
		vq->last_avail_idx++;
		consumed = true;
		if (head >= vq->size) {
			/* No valid id to give back; the driver has lost it anyway. */
			log_error_once("virtqueue %u: avail head %u out of range (%u)",
				       vq->index, head, vq->size);
			continue;
		}
		if (split_chain_walk(vq, head, &c)) {
			split_used_put(vq, head, 0);
			split_notify(vq);
			continue;
		}
		*elem = vq_elem_build(vq, head, 1, &c);
		if (!*elem) {
			vq->last_avail_idx--;
			return -ENOMEM;
		}
		vq->inflight++;
		split_arm_kick(vq);
		return 1;
	}
}

static void split_put(struct virtqueue *vq, const struct vq_elem *elem, uint32_t len)
{
	split_used_put(vq, elem->head, len);
}

static void split_set_notification(struct virtqueue *vq, bool enable)
{
	if (vq->event_idx) {
		/* Suppression needs no write: pop stops moving avail_event, which
		 * then lies behind the driver, so it will not kick until re-armed. */
		split_arm_kick(vq);
	} else {
		uint16_t flags = __atomic_load_n(&vq->used->flags, __ATOMIC_RELAXED);

		if (enable)
			flags &= (uint16_t)~VRING_USED_F_NO_NOTIFY;
		else
			flags |= VRING_USED_F_NO_NOTIFY;
		__atomic_store_n(&vq->used->flags, flags, __ATOMIC_RELAXED);
		vq_log_write(vq, &vq->used->flags, sizeof(flags));
	}
}

static bool split_has_pending(struct virtqueue *vq)
{
	uint16_t n = (uint16_t)(__atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE) -
				vq->last_avail_idx);

	/* A lying index is not work: pop would refuse it, and saying yes
	 * here would spin the worker. */
	return n != 0 && n <= vq->size;
}

static uint32_t split_get_base(const struct virtqueue *vq)
{
	return vq->last_avail_idx;
}

static int split_set_base(struct virtqueue *vq, uint32_t num)
{
	if (num > UINT16_MAX)
		return -EINVAL;
	vq->last_avail_idx = (uint16_t)num;
	vq->used_idx = (uint16_t)num;
	return 0;
}

const struct vq_ring_ops vq_split_ops = {
	.translate = split_translate,
	.resume = split_resume,
	.pop = split_pop,
	.put = split_put,
	.notify = split_notify,
	.set_notification = split_set_notification,
	.has_pending = split_has_pending,
	.get_base = split_get_base,
	.set_base = split_set_base,
};
