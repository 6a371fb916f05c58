/* vring.c: the driver side of a split virtqueue (virtio 1.x, 2.7), with
 * VIRTIO_RING_F_EVENT_IDX and VIRTIO_RING_F_INDIRECT_DESC, and the entry
 * points that hand a packed queue to vring_packed.c. Rings and indirect
 * tables live in guest memory; descriptors carry GPAs. */
#include <errno.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>

#include "util/process_fence.h"
#include "vfs_internal.h"

#define USED_ALIGN 4096u

static size_t ring_used_off(unsigned num)
{
	size_t off = 16u * num + 6u + 2u * num;

	return (off + USED_ALIGN - 1) & ~(size_t)(USED_ALIGN - 1);
}

static size_t ring_size(unsigned num)
{
	return ring_used_off(num) + 6u + 8u * num;
}

int vq_init(struct vring_queue *q, struct vfs_mem *mem, unsigned index,
	       unsigned num, bool event_idx, bool indirect, bool packed)
{
	uint8_t *base;
	unsigned i;

	memset(q, 0, sizeof(*q));
	q->kick_fd = q->call_fd = -1;
	if (num == 0 || num > 32768 || (num & (num - 1)))
		return -EINVAL;
	q->ring_len = packed ? vqp_ring_size(num) : ring_size(num);
	base = mem_alloc(mem, q->ring_len);
	if (!base)
		return -ENOMEM;
	q->slots = calloc(num, sizeof(*q->slots));
	if (!q->slots) {
		mem_free(mem, base, q->ring_len);
		return -ENOMEM;
	}
	q->ring_mem = base;
	q->mem = mem;
	q->index = index;
	q->num = num;
	q->event_idx = event_idx;
	q->indirect = indirect;
	q->packed = packed;
	if (packed) {
		int err = vqp_init(q, base);

		if (err) {
			free(q->slots);
			mem_free(mem, base, q->ring_len);
			q->slots = NULL;
		}
		return err;
	}
	q->desc = (struct vring_desc *)base;
	q->avail = (struct vring_avail *)(base + 16u * num);
	q->used = (struct vring_used *)(base + ring_used_off(num));
	for (i = 0; i < num; i++)
		q->desc[i].next = (uint16_t)((i + 1) % num);
	q->free_head = 0;
	q->num_free = (uint16_t)(num > 0xffff ? 0xffff : num);
	return 0;
}

void vq_fini(struct vring_queue *q)
{
	unsigned i;

	if (!q->slots)
		return;
	for (i = 0; i < q->num; i++)
		if (q->slots[i].indirect)
			mem_free(q->mem, q->slots[i].indirect,
				 q->slots[i].indirect_len);
	free(q->slots);
	free(q->id_next);
	mem_free(q->mem, q->ring_mem, q->ring_len);
	if (q->kick_fd >= 0)
		close(q->kick_fd);
	if (q->call_fd >= 0)
		close(q->call_fd);
	memset(q, 0, sizeof(*q));
	q->kick_fd = q->call_fd = -1;
}

static void desc_fill(struct vring_queue *q, struct vring_desc *d,
		      const struct vfs_seg *s)
{
	d->addr = mem_gpa(q->mem, s->hva);
	d->len = s->len;
	d->flags = s->write ? VRING_DESC_F_WRITE : 0;
}

static int add_indirect(struct vring_queue *q, const struct vfs_seg *segs,
			unsigned n, uint16_t head)
{
	size_t len = (size_t)n * sizeof(struct vring_desc);
	struct vring_desc *t = mem_alloc(q->mem, len);
	unsigned i;

	if (!t)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		desc_fill(q, &t[i], &segs[i]);
		if (i + 1 < n) {
			t[i].flags |= VRING_DESC_F_NEXT;
			t[i].next = (uint16_t)(i + 1);
		}
	}
	q->slots[head].indirect = t;
	q->slots[head].indirect_len = len;
	q->slots[head].ndesc = 1;
	q->desc[head].addr = mem_gpa(q->mem, t);
	q->desc[head].len = (uint32_t)len;
	q->desc[head].flags = VRING_DESC_F_INDIRECT;
	q->free_head = q->desc[head].next;
	q->num_free--;
	return 0;
}

static void add_chain(struct vring_queue *q, const struct vfs_seg *segs,
		      unsigned n, uint16_t head)
{
	uint16_t i = head;
	unsigned k;

	for (k = 0; k < n; k++) {
		desc_fill(q, &q->desc[i], &segs[k]);
		if (k + 1 < n)
			q->desc[i].flags |= VRING_DESC_F_NEXT;
		i = q->desc[i].next;
	}
	q->free_head = i;
	q->num_free = (uint16_t)(q->num_free - n);
	q->slots[head].ndesc = (uint16_t)n;
	q->slots[head].indirect = NULL;
}

int vq_add(struct vring_queue *q, const struct vfs_seg *segs, unsigned n,
	      void *token)
{
	uint16_t head = q->free_head;
	int err;

	if (n == 0 || !token)
		return -EINVAL;
	if (q->packed)
		return vqp_add(q, segs, n, token);
	/* Like Linux: go indirect whenever more than one segment. */
	if (q->indirect && n > 1) {
		if (q->num_free < 1)
			return -ENOSPC;
		err = add_indirect(q, segs, n, head);
		if (err)
			return err;
	} else {
		if (n > q->num)
			return -E2BIG;
		if (q->num_free < n)
			return -ENOSPC;
		add_chain(q, segs, n, head);
	}
	q->slots[head].token = token;
	q->avail->ring[q->avail_idx % q->num] = head;
	q->avail_idx++;
	q->inflight++;
	return head;
}

static int kick_fd_write(struct vring_queue *q)
{
	uint64_t one = 1;

	q->kicks++;
	if (write(q->kick_fd, &one, sizeof(one)) != sizeof(one))
		return -errno;
	return 0;
}

int vq_kick(struct vring_queue *q)
{
	uint16_t old = q->kicked_idx, now = q->avail_idx;
	bool need;

	if (q->packed)
		return vqp_kick(q);
	/* Descriptors and ring entries before the index (release), the
	 * index before reading the device's suppression state (full). */
	__atomic_store_n(&q->avail->idx, now, __ATOMIC_RELEASE);
	process_fence();
	q->kicked_idx = now;
	if (old == now)
		return 0;
	if (q->event_idx) {
		uint16_t ev = __atomic_load_n(&vring_avail_event(q), __ATOMIC_ACQUIRE);

		need = vring_need_event(ev, now, old);
	} else {
		need = !(__atomic_load_n(&q->used->flags, __ATOMIC_ACQUIRE) &
			 VRING_USED_F_NO_NOTIFY);
	}
	return need ? kick_fd_write(q) : 0;
}

static void desc_release(struct vring_queue *q, uint16_t head)
{
	struct vring_slot *s = &q->slots[head];
	uint16_t i = head;
	unsigned k;

	if (s->indirect) {
		mem_free(q->mem, s->indirect, s->indirect_len);
		s->indirect = NULL;
	}
	for (k = 1; k < s->ndesc; k++)
		i = q->desc[i].next;
	q->desc[i].next = q->free_head;
	q->free_head = head;
	q->num_free = (uint16_t)(q->num_free + s->ndesc);
	s->ndesc = 0;
	s->token = NULL;
}

void *vq_get_used(struct vring_queue *q, uint32_t *len)
{
	uint16_t idx = q->packed ? 0 : __atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE);
	struct vring_used_elem e;
	void *token;

	if (q->packed)
		return vqp_get_used(q, len);
	if (idx == q->last_used)
		return NULL;
	e = q->used->ring[q->last_used % q->num];
	q->last_used++;
	if (e.id >= q->num || !q->slots[e.id].token)
		return (void *)-1;      /* device returned a head we never gave */
	token = q->slots[e.id].token;
	desc_release(q, (uint16_t)e.id);
	q->inflight--;
	*len = e.len;
	if (q->event_idx)
		__atomic_store_n(&vring_used_event(q), q->last_used,
				 __ATOMIC_RELEASE);
	return token;
}

bool vq_enable_cb(struct vring_queue *q)
{
	if (q->packed)
		return vqp_enable_cb(q);
	if (q->event_idx)
		__atomic_store_n(&vring_used_event(q), q->last_used,
				 __ATOMIC_RELEASE);
	else
		__atomic_store_n(&q->avail->flags, 0, __ATOMIC_RELEASE);
	process_fence();
	return __atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE) != q->last_used;
}

void vq_raw_desc(struct vring_queue *q, uint16_t i, uint64_t addr,
		    uint32_t len, uint16_t flags, uint16_t next)
{
	struct vring_desc *d = &q->desc[i % q->num];

	d->addr = addr;
	d->len = len;
	d->flags = flags;
	d->next = next;
}

int vq_raw_publish(struct vring_queue *q, uint16_t head)
{
	q->avail->ring[q->avail_idx % q->num] = head;
	q->avail_idx++;
	return vq_kick(q);
}

int vq_desc_alloc(struct vring_queue *q, uint16_t *id)
{
	if (q->num_free == 0)
		return -ENOSPC;
	*id = q->free_head;
	q->free_head = q->desc[*id].next;
	q->num_free--;
	return 0;
}

void vq_desc_free(struct vring_queue *q, uint16_t id)
{
	q->desc[id].next = q->free_head;
	q->free_head = id;
	q->num_free++;
}

bool vq_raw_pop_used(struct vring_queue *q, struct vring_used_elem *e)
{
	uint16_t idx = __atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE);

	if (idx == q->last_used)
		return false;
	*e = q->used->ring[q->last_used % q->num];
	q->last_used++;
	if (q->event_idx)
		__atomic_store_n(&vring_used_event(q), q->last_used,
				 __ATOMIC_RELEASE);
	return true;
}
