/* vring_packed.c: the driver side of a packed virtqueue (virtio 1.1+,
 * 2.8), laid out and driven as Linux's drivers/virtio/virtio_ring.c does:
 * chains of consecutive descriptors whose head flags are written last,
 * a buffer id in every descriptor of a chain, an indirect table for a
 * buffer of more than one segment when negotiated, and event suppression
 * both ways (DESC with EVENT_IDX). The device may complete buffers out of
 * order: each used descriptor names its buffer id, and we move on by the
 * number of descriptors that buffer took. */
#include <errno.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>

#include "util/process_fence.h"
#include "vfs_internal.h"

#define P_AVAIL (1u << VRING_PACKED_DESC_F_AVAIL)
#define P_USED (1u << VRING_PACKED_DESC_F_USED)
#define P_EV_WRAP (1u << VRING_PACKED_EVENT_F_WRAP_CTR)
#define DEV_EV_OFF 64u

static size_t ev_off(unsigned num)
{
	return ((size_t)16 * num + 63) & ~(size_t)63;
}

size_t vqp_ring_size(unsigned num)
{
	return ev_off(num) + 2 * DEV_EV_OFF;
}

int vqp_init(struct vring_queue *q, uint8_t *base)
{
	unsigned i;

	q->id_next = calloc(q->num, sizeof(*q->id_next));
	if (!q->id_next)
		return -ENOMEM;
	q->pdesc = (struct vring_packed_desc *)(void *)base;
	q->driver_ev = (struct vring_packed_desc_event *)(void *)(base + ev_off(q->num));
	q->device_ev = (struct vring_packed_desc_event *)(void *)(base + ev_off(q->num) +
								   DEV_EV_OFF);
	for (i = 0; i < q->num; i++)
		q->id_next[i] = (uint16_t)(i + 1);
	q->free_head = 0;
	q->num_free = (uint16_t)q->num;
	q->avail_wrap = true;
	q->used_wrap = true;
	/* Used buffer notifications: at the next used descriptor (EVENT_IDX)
	 * or for every one. */
	q->driver_ev->off_wrap = P_EV_WRAP;
	q->driver_ev->flags = q->event_idx ? VRING_PACKED_EVENT_FLAG_DESC :
					     VRING_PACKED_EVENT_FLAG_ENABLE;
	return 0;
}

/* Position and wrap counter k descriptors after (pos, wrap). */
static void pos_step(const struct vring_queue *q, uint16_t *pos, bool *wrap, unsigned k)
{
	unsigned p = *pos + k;

	while (p >= q->num) {
		p -= q->num;
		*wrap = !*wrap;
	}
	*pos = (uint16_t)p;
}

uint16_t vq_praw_wrap_bits(const struct vring_queue *q, unsigned k)
{
	uint16_t pos = q->next_avail;
	bool wrap = q->avail_wrap;

	pos_step(q, &pos, &wrap, k);
	return wrap ? (uint16_t)P_AVAIL : (uint16_t)P_USED;
}

static unsigned lap(const struct vring_queue *q, uint16_t pos, bool wrap)
{
	return pos + (wrap ? 0u : q->num);
}

static uint16_t seg_flags(const struct vfs_seg *s)
{
	return s->write ? VRING_DESC_F_WRITE : 0;
}

/* Write ring descriptor k (from next_avail) of a chain; the head's flags
 * are returned instead, to be stored last. */
static uint16_t desc_put(struct vring_queue *q, unsigned k, uint64_t addr, uint32_t len,
			 uint16_t id, uint16_t flags)
{
	uint16_t pos = q->next_avail;
	bool wrap = q->avail_wrap;
	struct vring_packed_desc *d;

	pos_step(q, &pos, &wrap, k);
	d = &q->pdesc[pos];
	d->addr = addr;
	d->len = len;
	d->id = id;
	flags |= wrap ? (uint16_t)P_AVAIL : (uint16_t)P_USED;
	if (k)
		__atomic_store_n(&d->flags, flags, __ATOMIC_RELAXED);
	return flags;
}

/* Make the chain of n descriptors at next_avail available: its head's
 * flags last, after everything else (release). */
static void chain_publish(struct vring_queue *q, uint16_t head_flags, unsigned n)
{
	__atomic_store_n(&q->pdesc[q->next_avail].flags, head_flags, __ATOMIC_RELEASE);
	pos_step(q, &q->next_avail, &q->avail_wrap, n);
	q->num_added = (uint16_t)(q->num_added + n);
}

static int add_indirect(struct vring_queue *q, const struct vfs_seg *segs, unsigned n,
			uint16_t id, uint16_t *head_flags)
{
	size_t len = (size_t)n * sizeof(struct vring_packed_desc);
	struct vring_packed_desc *t = mem_alloc(q->mem, len);
	unsigned i;

	if (!t)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		t[i].addr = mem_gpa(q->mem, segs[i].hva);
		t[i].len = segs[i].len;
		t[i].id = 0;
		t[i].flags = seg_flags(&segs[i]);
	}
	q->slots[id].indirect = t;
	q->slots[id].indirect_len = len;
	q->slots[id].ndesc = 1;
	*head_flags = desc_put(q, 0, mem_gpa(q->mem, t), (uint32_t)len, id, VRING_DESC_F_INDIRECT);
	return 0;
}

static void add_chain(struct vring_queue *q, const struct vfs_seg *segs, unsigned n,
		      uint16_t id, uint16_t *head_flags)
{
	unsigned k;

	for (k = 0; k < n; k++) {
		uint16_t f = seg_flags(&segs[k]) | (k + 1 < n ? VRING_DESC_F_NEXT : 0);
		uint16_t got = desc_put(q, k, mem_gpa(q->mem, segs[k].hva), segs[k].len, id, f);

		if (k == 0)
			*head_flags = got;
	}
	q->slots[id].indirect = NULL;
	q->slots[id].ndesc = (uint16_t)n;
}

int vqp_add(struct vring_queue *q, const struct vfs_seg *segs, unsigned n, void *token)
{
	bool ind = q->indirect && n > 1;
	unsigned need = ind ? 1 : n;
	uint16_t id, head_flags = 0;
	int err;

	if (!ind && n > q->num)
		return -E2BIG;
	if (q->num_free < need)
		return -ENOSPC;
	id = q->free_head;
	if (ind) {
		err = add_indirect(q, segs, n, id, &head_flags);
		if (err)
			return err;
	} else {
		add_chain(q, segs, n, id, &head_flags);
	}
	q->free_head = q->id_next[id];
	q->num_free = (uint16_t)(q->num_free - need);
	q->slots[id].token = token;
	q->inflight++;
	chain_publish(q, head_flags, need);
	return id;
}

int vqp_kick(struct vring_queue *q)
{
	unsigned laps = 2u * q->num, now, old, event;
	uint16_t added = q->num_added, off_wrap, flags;
	uint64_t one = 1;
	bool need;

	/* Our flags before the device's suppression state (full barrier). */
	process_fence();
	q->num_added = 0;
	if (!added)
		return 0;
	flags = __atomic_load_n(&q->device_ev->flags, __ATOMIC_ACQUIRE) & 3;
	off_wrap = __atomic_load_n(&q->device_ev->off_wrap, __ATOMIC_ACQUIRE);
	if (flags == VRING_PACKED_EVENT_FLAG_DESC && q->event_idx) {
		/* Counted over two laps, as the device does. */
		now = lap(q, q->next_avail, q->avail_wrap);
		old = (now + laps - added % laps) % laps;
		event = lap(q, (uint16_t)((off_wrap & 0x7fff) % q->num), off_wrap & P_EV_WRAP);
		need = (now + 2 * laps - event - 1) % laps < (now + laps - old) % laps;
	} else {
		need = flags != VRING_PACKED_EVENT_FLAG_DISABLE;
	}
	if (!need)
		return 0;
	q->kicks++;
	if (write(q->kick_fd, &one, sizeof(one)) != sizeof(one))
		return -errno;
	return 0;
}

/* The descriptor at last_used is used (AVAIL and USED both equal to our
 * used wrap counter); acquire orders the reads of its id and length. */
static bool used_ready(const struct vring_queue *q)
{
	uint16_t f = __atomic_load_n(&q->pdesc[q->last_used].flags, __ATOMIC_ACQUIRE);
	bool avail = f & P_AVAIL, used = f & P_USED;

	return avail == q->used_wrap && used == q->used_wrap;
}

/* With EVENT_IDX, ask for a call at the next used descriptor. */
static void used_event_arm(struct vring_queue *q)
{
	uint16_t ow = (uint16_t)(q->last_used | (q->used_wrap ? P_EV_WRAP : 0));

	if (q->event_idx)
		__atomic_store_n(&q->driver_ev->off_wrap, ow, __ATOMIC_RELEASE);
}

void *vqp_get_used(struct vring_queue *q, uint32_t *len)
{
	struct vring_packed_desc *d;
	struct vring_slot *s;
	uint16_t id;
	void *token;

	if (!used_ready(q))
		return NULL;
	d = &q->pdesc[q->last_used];
	id = d->id;
	if (id >= q->num || !q->slots[id].token)
		return (void *)-1;      /* device returned a buffer we never gave */
	s = &q->slots[id];
	token = s->token;
	*len = d->len;
	pos_step(q, &q->last_used, &q->used_wrap, s->ndesc);
	q->num_free = (uint16_t)(q->num_free + s->ndesc);
	if (s->indirect)
		mem_free(q->mem, s->indirect, s->indirect_len);
	s->indirect = NULL;
	s->token = NULL;
	s->ndesc = 0;
	q->id_next[id] = q->free_head;
	q->free_head = id;
	q->inflight--;
	used_event_arm(q);
	return token;
}

bool vqp_enable_cb(struct vring_queue *q)
{
	used_event_arm(q);
	__atomic_store_n(&q->driver_ev->flags,
			 q->event_idx ? VRING_PACKED_EVENT_FLAG_DESC : VRING_PACKED_EVENT_FLAG_ENABLE,
			 __ATOMIC_RELEASE);
	process_fence();
	return used_ready(q);
}

/* ---- hostile helpers ---- */

int vq_pid_alloc(struct vring_queue *q, uint16_t *id)
{
	if (q->num_free == 0)
		return -ENOSPC;
	*id = q->free_head;
	q->free_head = q->id_next[*id];
	q->num_free--;
	return 0;
}

void vq_pid_free(struct vring_queue *q, uint16_t id)
{
	q->id_next[id] = q->free_head;
	q->free_head = id;
	q->num_free++;
}

void vq_praw_desc(struct vring_queue *q, unsigned k, uint64_t addr, uint32_t len,
		  uint16_t id, uint16_t flags, bool auto_wrap)
{
	uint16_t pos = q->next_avail;
	bool wrap = q->avail_wrap;
	struct vring_packed_desc *d;

	pos_step(q, &pos, &wrap, k);
	d = &q->pdesc[pos];
	d->addr = addr;
	d->len = len;
	d->id = id;
	if (auto_wrap)
		flags |= wrap ? (uint16_t)P_AVAIL : (uint16_t)P_USED;
	if (k == 0)
		q->raw_head_flags = flags;
	else
		__atomic_store_n(&d->flags, flags, __ATOMIC_RELEASE);
}

int vq_praw_publish(struct vring_queue *q, unsigned consumed)
{
	chain_publish(q, q->raw_head_flags, consumed);
	return vqp_kick(q);
}

bool vq_praw_pop_used(struct vring_queue *q, unsigned skip, uint16_t *id, uint32_t *len)
{
	if (!used_ready(q))
		return false;
	*id = q->pdesc[q->last_used].id;
	*len = q->pdesc[q->last_used].len;
	pos_step(q, &q->last_used, &q->used_wrap, skip);
	used_event_arm(q);
	return true;
}
