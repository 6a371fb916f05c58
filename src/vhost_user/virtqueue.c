/* virtqueue.c: split virtqueue pop/push over untrusted guest rings. */
#include "vhost_user/virtqueue.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <linux/virtio_ring.h>

#include "util/log.h"

/* The longest scatter list a chain may produce: QEMU's VIRTQUEUE_MAX_SIZE
 * plus slack for descriptors split where two regions meet. */
#define VQ_MAX_IOV		(1024 + 8)
/* Entries allowed in one indirect table (each at least 16 bytes of guest
 * memory, so this also bounds the copy). */
#define VQ_MAX_INDIRECT		VQ_MAX_IOV
/* Pieces an indirect table may be split into across adjacent regions. */
#define VQ_MAX_TABLE_PIECES	8

struct chain {
	struct iovec *iov;
	unsigned count;
	unsigned out_count;
	bool seen_write;
};

#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#define VQ_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#include <sanitizer/tsan_interface.h>
#define VQ_TSAN 1
#endif
#endif

/* The order the guest puts between our threads, told to ThreadSanitizer.
 * A driver reuses a buffer once it has seen the buffer's completion, on
 * any queue: a reply one worker wrote on queue 1 becomes the request, or
 * the indirect table, that another worker reads on queue 2 (TSan reported
 * exactly that). The order runs through the guest, another process, out
 * of TSan's sight. So publishing a used element releases, and taking an
 * available one acquires, both on one object standing for the guest (the
 * daemon serves one guest per process; unit tests with several devices
 * just get more order than needed). It is an object of its own: on a
 * mutex or an atomic of ours it would mix with their own order. Races
 * among our threads on our own memory are still seen whenever their
 * requests overlap in time; without TSan these are empty. */
#ifdef VQ_TSAN
static char vq_guest_order;
#endif

static inline void vq_guest_release(void)
{
#ifdef VQ_TSAN
	__tsan_release(&vq_guest_order);
#endif
}

static inline void vq_guest_acquire(void)
{
#ifdef VQ_TSAN
	__tsan_acquire(&vq_guest_order);
#endif
}

/* A full barrier between our ring accesses and the driver's, which runs in
 * another process (the guest) and so is out of ThreadSanitizer's sight.
 * gcc warns (-Wtsan) that TSan does not model fences; between our own
 * threads every ring access is ordered by vq->lock, which TSan does see,
 * so nothing TSan checks depends on this fence. */
static inline void vq_guest_fence(void)
{
#if defined(__SANITIZE_THREAD__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wtsan"
#endif
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
#if defined(__SANITIZE_THREAD__)
#pragma GCC diagnostic pop
#endif
}

void virtqueue_init(struct virtqueue *vq, unsigned index, struct guest_memory_slot *slot)
{
	memset(vq, 0, sizeof(*vq));
	pthread_mutex_init(&vq->lock, NULL);
	vq->index = index;
	vq->kick_fd = -1;
	vq->call_fd = -1;
	vq->err_fd = -1;
	vq->memory_slot = slot;
}

static void vq_close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void vq_drop_rings(struct virtqueue *vq)
{
	guest_memory_unref(vq->ring_mem);
	vq->ring_mem = NULL;
	vq->desc = NULL;
	vq->avail = NULL;
	vq->used = NULL;
}

/* Closes the fds the queue holds: vhost_user.c hands them over for good. */
void virtqueue_destroy(struct virtqueue *vq)
{
	vq_close_fd(&vq->kick_fd);
	vq_close_fd(&vq->call_fd);
	vq_close_fd(&vq->err_fd);
	vq_drop_rings(vq);
	free(vq->scratch_iov);
	free(vq->scratch_indirect);
	vq->scratch_iov = NULL;
	vq->scratch_indirect = NULL;
	pthread_mutex_destroy(&vq->lock);
}

static bool ptr_aligned(const void *p, uintptr_t align)
{
	return ((uintptr_t)p & (align - 1)) == 0;
}

static bool ranges_overlap(const char *a, uint64_t a_len, const char *b, uint64_t b_len)
{
	return a < b + b_len && b < a + a_len;
}

/* Host pointers for the three rings in mem; each ring must sit inside one
 * region and be aligned as the spec requires (unaligned would also make
 * our atomic loads undefined), and no ring may overlap another: a used
 * ring laid over the avail index would make every completion look like a
 * new request (found by fuzzing). */
static int vq_translate(struct virtqueue *vq, const struct guest_memory *mem)
{
	uint64_t n = vq->size;
	uint64_t event = vq->event_idx ? sizeof(uint16_t) : 0;
	uint64_t desc_len = n * sizeof(struct vring_desc);
	uint64_t avail_len = sizeof(struct vring_avail) + n * sizeof(uint16_t) + event;
	uint64_t used_len = sizeof(struct vring_used) + n * sizeof(struct vring_used_elem) + event;
	void *desc, *avail, *used;

	if (n == 0)
		return -EINVAL;
	desc = guest_memory_uva_to_host(mem, vq->desc_user_addr, desc_len);
	avail = guest_memory_uva_to_host(mem, vq->avail_user_addr, avail_len);
	used = guest_memory_uva_to_host(mem, vq->used_user_addr, used_len);
	if (!desc || !avail || !used)
		return -EFAULT;
	if (ranges_overlap(desc, desc_len, avail, avail_len) ||
	    ranges_overlap(desc, desc_len, used, used_len) ||
	    ranges_overlap(avail, avail_len, used, used_len)) {
		log_error_once("virtqueue %u: rings overlap each other", vq->index);
		return -EFAULT;
	}
	if (!ptr_aligned(desc, VRING_DESC_ALIGN_SIZE) ||
	    !ptr_aligned(avail, VRING_AVAIL_ALIGN_SIZE) ||
	    !ptr_aligned(used, VRING_USED_ALIGN_SIZE))
		return -EFAULT;
	vq->desc = desc;
	vq->avail = avail;
	vq->used = used;
	return 0;
}

static int vq_remap(struct virtqueue *vq)
{
	struct guest_memory *mem = guest_memory_slot_get(vq->memory_slot);
	int ret;

	vq_drop_rings(vq);
	if (!mem)
		return -EFAULT;
	ret = vq_translate(vq, mem);
	if (ret) {
		vq->desc = NULL;
		vq->avail = NULL;
		vq->used = NULL;
		guest_memory_unref(mem);
		return ret;
	}
	vq->ring_mem = mem;
	return 0;
}

/* Under vq->lock. The unlocked peek at the slot only compares pointers:
 * ring_mem holds a reference, so an equal pointer is the same live table. */
static int vq_ensure_rings(struct virtqueue *vq)
{
	struct guest_memory *cur = __atomic_load_n(&vq->memory_slot->current, __ATOMIC_ACQUIRE);

	if (vq->ring_mem && vq->ring_mem == cur)
		return 0;
	return vq_remap(vq);
}

/* The EVENT_IDX fields sit just past each ring (checked by vq_translate). */
static uint16_t *vq_used_event(struct virtqueue *vq)
{
	return &vq->avail->ring[vq->size];
}

static uint16_t *vq_avail_event(struct virtqueue *vq)
{
	return (uint16_t *)(void *)&vq->used->ring[vq->size];
}

/* With EVENT_IDX, ask for a kick when the driver publishes the entry after
 * the last one we popped (the event is a position, not a flag: a stale one
 * would keep the driver quiet until the index wraps). */
static void vq_arm_kick(struct virtqueue *vq)
{
	if (vq->event_idx && !vq->notify_off)
		__atomic_store_n(vq_avail_event(vq), vq->last_avail_idx, __ATOMIC_RELAXED);
}

int virtqueue_map_rings(struct virtqueue *vq)
{
	int ret;

	pthread_mutex_lock(&vq->lock);
	ret = vq_remap(vq);
	if (ret == 0) {
		/* Resume where the used ring really is: chains abandoned at the
		 * last stop were counted in last_avail_idx but never used. */
		vq->used_idx = __atomic_load_n(&vq->used->idx, __ATOMIC_ACQUIRE);
		vq->signalled_used_valid = false;
		vq->inflight = 0;
		vq->notify_off = false;
		vq_arm_kick(vq);
	}
	pthread_mutex_unlock(&vq->lock);
	return ret;
}

/* Under vq->lock: put one used element and publish it. */
static void vq_used_put(struct virtqueue *vq, uint16_t head, uint32_t len)
{
	struct vring_used_elem *e = &vq->used->ring[vq->used_idx % vq->size];

	__atomic_store_n(&e->id, head, __ATOMIC_RELAXED);
	__atomic_store_n(&e->len, len, __ATOMIC_RELAXED);
	vq_guest_release();
	vq->used_idx++;
	/* Release: the element must be visible before the index that covers it. */
	__atomic_store_n(&vq->used->idx, vq->used_idx, __ATOMIC_RELEASE);
}

static bool vq_should_notify(struct virtqueue *vq)
{
	uint16_t new_idx = vq->used_idx, old = vq->signalled_used;
	bool valid = vq->signalled_used_valid;

	/* Our used->idx store must be ordered before reading what the driver
	 * asked for, or both sides can miss each other's update. */
	vq_guest_fence();
	if (!vq->event_idx)
		return !(__atomic_load_n(&vq->avail->flags, __ATOMIC_RELAXED) &
			 VRING_AVAIL_F_NO_INTERRUPT);
	vq->signalled_used = new_idx;
	vq->signalled_used_valid = true;
	return !valid ||
	       vring_need_event(__atomic_load_n(vq_used_event(vq), __ATOMIC_RELAXED),
				new_idx, old);
}

static void vq_notify(struct virtqueue *vq)
{
	if (!vq_should_notify(vq) || vq->call_fd < 0)
		return;
	if (eventfd_write(vq->call_fd, 1) < 0)
		log_error_once("virtqueue %u: cannot signal call fd: %m", vq->index);
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

/* Snapshot an indirect table so it cannot change while we walk it (and so
 * a table straddling two regions reads as one). */
static int indirect_copy(struct virtqueue *vq, uint64_t gpa, uint32_t len)
{
	struct iovec parts[VQ_MAX_TABLE_PIECES];
	unsigned n = 0, i;
	char *dst = vq->scratch_indirect;
	int ret;

	ret = guest_memory_gpa_to_iov(vq->ring_mem, gpa, len, parts, &n, VQ_MAX_TABLE_PIECES);
	if (ret)
		return ret;
	for (i = 0; i < n; i++) {
		memcpy(dst, parts[i].iov_base, parts[i].iov_len);
		dst += parts[i].iov_len;
	}
	return 0;
}

#define CHAIN_BAD(...) \
	do { log_error_once(__VA_ARGS__); return -EINVAL; } while (0)

/* Walk the chain at head into c. Returns 0, or -EINVAL for a chain the
 * guest built wrong (already logged). */
static int chain_walk(struct virtqueue *vq, uint16_t head, struct chain *c)
{
	const struct vring_desc *table = vq->desc;
	unsigned max = vq->size, i = head, seen = 0;
	bool indirect = false;
	struct vring_desc d;
	int ret;

	for (;;) {
		if (i >= max)
			CHAIN_BAD("virtqueue %u: descriptor index %u out of range (%u)",
				  vq->index, i, max);
		/* No chain visits more descriptors than its table holds. */
		if (++seen > max)
			CHAIN_BAD("virtqueue %u: descriptor chain at head %u loops", vq->index, head);
		desc_read(table, i, &d);
		if (d.flags & VRING_DESC_F_INDIRECT) {
			if (indirect)
				CHAIN_BAD("virtqueue %u: nested indirect descriptor", vq->index);
			if (d.flags & VRING_DESC_F_NEXT)
				CHAIN_BAD("virtqueue %u: indirect descriptor with NEXT", vq->index);
			if (d.len == 0 || d.len % sizeof(struct vring_desc))
				CHAIN_BAD("virtqueue %u: indirect table length %u invalid",
					  vq->index, d.len);
			if (d.len / sizeof(struct vring_desc) > VQ_MAX_INDIRECT)
				CHAIN_BAD("virtqueue %u: indirect table of %u bytes too long",
					  vq->index, d.len);
			if (indirect_copy(vq, d.addr, d.len))
				CHAIN_BAD("virtqueue %u: indirect table outside guest memory",
					  vq->index);
			table = vq->scratch_indirect;
			max = d.len / sizeof(struct vring_desc);
			i = 0;
			seen = 0;
			indirect = true;
			continue;
		}
		if (d.flags & VRING_DESC_F_WRITE)
			c->seen_write = true;
		else if (c->seen_write)
			CHAIN_BAD("virtqueue %u: readable descriptor after a writable one",
				  vq->index);
		ret = guest_memory_gpa_to_iov(vq->ring_mem, d.addr, d.len, c->iov, &c->count,
					      VQ_MAX_IOV);
		if (ret == -E2BIG)
			CHAIN_BAD("virtqueue %u: descriptor chain needs too many buffers",
				  vq->index);
		if (ret)
			CHAIN_BAD("virtqueue %u: descriptor 0x%llx+%u outside guest memory",
				  vq->index, (unsigned long long)d.addr, d.len);
		if (!(d.flags & VRING_DESC_F_WRITE))
			c->out_count = c->count;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 0;
		i = d.next;
	}
}

static struct vq_elem *elem_build(struct virtqueue *vq, uint16_t head, const struct chain *c)
{
	struct vq_elem *elem = malloc(sizeof(*elem) + c->count * sizeof(struct iovec));

	if (!elem)
		return NULL;
	elem->head = head;
	elem->out_count = c->out_count;
	elem->in_count = c->count - c->out_count;
	memcpy(elem->iov, c->iov, c->count * sizeof(struct iovec));
	elem->out = elem->iov;
	elem->in = elem->iov + c->out_count;
	elem->mem = guest_memory_ref(vq->ring_mem);
	return elem;
}

static int vq_scratch_alloc(struct virtqueue *vq)
{
	if (!vq->scratch_iov)
		vq->scratch_iov = malloc(VQ_MAX_IOV * sizeof(struct iovec));
	if (!vq->scratch_indirect)
		vq->scratch_indirect = malloc(VQ_MAX_INDIRECT * sizeof(struct vring_desc));
	return vq->scratch_iov && vq->scratch_indirect ? 0 : -ENOMEM;
}

/* Under vq->lock, rings mapped. 1 with *elem, 0 when nothing (valid) is
 * available, -EAGAIN after skipping a ring's worth of bad chains (call
 * again), -ENOMEM. */
static int vq_pop_locked(struct virtqueue *vq, struct vq_elem **elem)
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
		struct chain c = { .iov = vq->scratch_iov };

		/* Acquire: the ring entries below were written before the index. */
		avail_idx = __atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE);
		pending = (uint16_t)(avail_idx - vq->last_avail_idx);
		if (pending == 0 && consumed && !vq->notify_off) {
			/* Skipped entries moved last_avail_idx past the kick we
			 * asked for: ask again at the new end, then look once
			 * more, or a buffer the driver adds now (seeing the old
			 * avail_event) would come without a kick. */
			vq_arm_kick(vq);
			vq_guest_fence();
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
		if (chain_walk(vq, head, &c)) {
			vq_used_put(vq, head, 0);
			vq_notify(vq);
			continue;
		}
		*elem = elem_build(vq, head, &c);
		if (!*elem) {
			vq->last_avail_idx--;
			return -ENOMEM;
		}
		vq->inflight++;
		vq_arm_kick(vq);
		return 1;
	}
}

int virtqueue_pop(struct virtqueue *vq, struct vq_elem **elem)
{
	int ret;

	*elem = NULL;
	pthread_mutex_lock(&vq->lock);
	ret = vq_ensure_rings(vq);
	if (ret == 0)
		ret = vq_scratch_alloc(vq);
	if (ret == 0)
		ret = vq_pop_locked(vq, elem);
	pthread_mutex_unlock(&vq->lock);
	return ret;
}

static uint64_t elem_in_bytes(const struct vq_elem *elem)
{
	uint64_t total = 0;
	unsigned i;

	for (i = 0; i < elem->in_count; i++)
		total += elem->in[i].iov_len;
	return total;
}

void virtqueue_push(struct virtqueue *vq, struct vq_elem *elem, uint32_t len)
{
	if (!elem)
		return;
	/* Never tell the driver we wrote more than it gave us. */
	if (len > elem_in_bytes(elem))
		len = (uint32_t)elem_in_bytes(elem);
	pthread_mutex_lock(&vq->lock);
	if (vq_ensure_rings(vq) == 0) {
		vq_used_put(vq, elem->head, len);
		vq_notify(vq);
	} else {
		log_error_once("virtqueue %u: rings left guest memory, completion dropped",
			       vq->index);
	}
	if (vq->inflight)
		vq->inflight--;
	pthread_mutex_unlock(&vq->lock);
	virtqueue_elem_free(elem);
}

void virtqueue_elem_free(struct vq_elem *elem)
{
	if (!elem)
		return;
	guest_memory_unref(elem->mem);
	free(elem);
}

void virtqueue_set_notification(struct virtqueue *vq, bool enable)
{
	pthread_mutex_lock(&vq->lock);
	if (vq_ensure_rings(vq)) {
		pthread_mutex_unlock(&vq->lock);
		return;
	}
	vq->notify_off = !enable;
	if (vq->event_idx) {
		/* Suppression needs no write: pop stops moving avail_event, which
		 * then lies behind the driver, so it will not kick until re-armed. */
		vq_arm_kick(vq);
	} else {
		uint16_t flags = __atomic_load_n(&vq->used->flags, __ATOMIC_RELAXED);

		if (enable)
			flags &= (uint16_t)~VRING_USED_F_NO_NOTIFY;
		else
			flags |= VRING_USED_F_NO_NOTIFY;
		__atomic_store_n(&vq->used->flags, flags, __ATOMIC_RELAXED);
	}
	/* The driver must see the change before we look at avail->idx again. */
	vq_guest_fence();
	pthread_mutex_unlock(&vq->lock);
}

bool virtqueue_has_pending(struct virtqueue *vq)
{
	bool pending = false;

	pthread_mutex_lock(&vq->lock);
	if (vq_ensure_rings(vq) == 0) {
		uint16_t n = (uint16_t)(__atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE) -
					vq->last_avail_idx);

		/* A lying index is not work: pop would refuse it, and saying
		 * yes here would spin the worker. */
		pending = n != 0 && n <= vq->size;
	}
	pthread_mutex_unlock(&vq->lock);
	return pending;
}

uint16_t virtqueue_last_avail(struct virtqueue *vq)
{
	uint16_t idx;

	pthread_mutex_lock(&vq->lock);
	idx = vq->last_avail_idx;
	pthread_mutex_unlock(&vq->lock);
	return idx;
}
