/* virtqueue.c: the public virtqueue functions, and what the split and
 * packed layouts share: ring mapping, the chain-to-iovec translation and
 * its checks, indirect table snapshots, elements, signalling. */
#include "vhost_user/virtqueue.h"

#include <errno.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "util/log.h"
#include "vhost_user/dirty_log.h"
#include "vhost_user/virtqueue_internal.h"

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

void vq_guest_release(void)
{
#ifdef VQ_TSAN
	__tsan_release(&vq_guest_order);
#endif
}

void vq_guest_acquire(void)
{
#ifdef VQ_TSAN
	__tsan_acquire(&vq_guest_order);
#endif
}

static const struct vq_ring_ops *vq_ops(const struct virtqueue *vq)
{
	return vq->packed ? &vq_packed_ops : &vq_split_ops;
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
	/* A packed ring's wrap counters start at 1 (SET_VRING_BASE sets them). */
	vq->avail_wrap = true;
	vq->used_wrap = true;
}

static void vq_close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void virtqueue_invalidate_rings_locked(struct virtqueue *vq)
{
	guest_memory_unref(vq->ring_mem);
	vq->ring_mem = NULL;
	vq->desc = NULL;
	vq->avail = NULL;
	vq->used = NULL;
	vq->pdesc = NULL;
	vq->driver_event = NULL;
	vq->device_event = NULL;
}

/* Closes the fds the queue holds: vhost_user.c hands them over for good. */
void virtqueue_destroy(struct virtqueue *vq)
{
	vq_close_fd(&vq->kick_fd);
	vq_close_fd(&vq->call_fd);
	vq_close_fd(&vq->err_fd);
	virtqueue_invalidate_rings_locked(vq);
	dirty_log_unref(vq->log);
	vq->log = NULL;
	free(vq->scratch_iov);
	free(vq->scratch_indirect);
	free(vq->ids_busy);
	vq->scratch_iov = NULL;
	vq->scratch_indirect = NULL;
	vq->ids_busy = NULL;
	pthread_mutex_destroy(&vq->lock);
}

bool vq_ptr_aligned(const void *p, uintptr_t align)
{
	return ((uintptr_t)p & (align - 1)) == 0;
}

bool vq_ranges_overlap(const void *a, uint64_t a_len, const void *b, uint64_t b_len)
{
	const char *x = a, *y = b;

	return x < y + b_len && y < x + a_len;
}

static int vq_remap(struct virtqueue *vq)
{
	struct guest_memory *mem = guest_memory_slot_get(vq->memory_slot);
	int ret;

	virtqueue_invalidate_rings_locked(vq);
	if (!mem)
		return -EFAULT;
	if (vq->size == 0)
		ret = -EINVAL;
	else
		ret = vq_ops(vq)->translate(vq, mem);
	if (ret) {
		virtqueue_invalidate_rings_locked(vq);
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

static int vq_scratch_alloc(struct virtqueue *vq)
{
	if (!vq->scratch_iov)
		vq->scratch_iov = malloc(VQ_MAX_IOV * sizeof(struct iovec));
	if (!vq->scratch_indirect)
		vq->scratch_indirect = malloc(VQ_MAX_INDIRECT * VQ_DESC_SIZE);
	/* Only a packed ring tracks its buffer ids. */
	if (vq->packed && !vq->ids_busy)
		vq->ids_busy = calloc(VQ_MAX_PACKED_IDS / 64, sizeof(uint64_t));
	if (!vq->scratch_iov || !vq->scratch_indirect || (vq->packed && !vq->ids_busy))
		return -ENOMEM;
	return 0;
}

int virtqueue_map_rings(struct virtqueue *vq)
{
	int ret;

	pthread_mutex_lock(&vq->lock);
	ret = vq_remap(vq);
	if (ret == 0)
		ret = vq_scratch_alloc(vq);
	if (ret == 0) {
		vq->signalled_used_valid = false;
		vq->inflight = 0;
		vq->unsignalled = 0;
		vq->notify_off = false;
		ret = vq_ops(vq)->resume(vq);
	}
	pthread_mutex_unlock(&vq->lock);
	return ret;
}

void virtqueue_set_log(struct virtqueue *vq, struct dirty_log *log, bool log_all)
{
	struct dirty_log *old;

	pthread_mutex_lock(&vq->lock);
	old = vq->log;
	vq->log = dirty_log_ref(log);
	vq->log_all = log_all;
	pthread_mutex_unlock(&vq->lock);
	dirty_log_unref(old);
}

void vq_log_write(struct virtqueue *vq, const void *p, uint64_t len)
{
	if (vq->log_all && vq->log)
		dirty_log_mark_host(vq->log, vq->ring_mem, p, len);
}

void vq_signal(struct virtqueue *vq)
{
	if (vq->call_fd < 0)
		return;
	if (eventfd_write(vq->call_fd, 1) < 0)
		log_error_once("virtqueue %u: cannot signal call fd: %m", vq->index);
}

int vq_chain_add(struct virtqueue *vq, struct vq_chain *c, uint64_t addr, uint32_t len,
		 bool write)
{
	int ret;

	if (write)
		c->seen_write = true;
	else if (c->seen_write)
		VQ_CHAIN_BAD("virtqueue %u: readable descriptor after a writable one", vq->index);
	ret = guest_memory_gpa_to_iov(vq->ring_mem, addr, len, c->iov, &c->count, VQ_MAX_IOV);
	if (ret == -E2BIG)
		VQ_CHAIN_BAD("virtqueue %u: descriptor chain needs too many buffers", vq->index);
	if (ret)
		VQ_CHAIN_BAD("virtqueue %u: descriptor 0x%llx+%u outside guest memory", vq->index,
			     (unsigned long long)addr, len);
	if (!write)
		c->out_count = c->count;
	return 0;
}

int vq_indirect_copy(struct virtqueue *vq, uint64_t gpa, uint32_t len)
{
	struct iovec parts[VQ_MAX_TABLE_PIECES];
	unsigned n = 0, i;
	char *dst = vq->scratch_indirect;

	if (len == 0 || len % VQ_DESC_SIZE)
		VQ_CHAIN_BAD("virtqueue %u: indirect table length %u invalid", vq->index, len);
	if (len / VQ_DESC_SIZE > VQ_MAX_INDIRECT)
		VQ_CHAIN_BAD("virtqueue %u: indirect table of %u bytes too long", vq->index, len);
	if (guest_memory_gpa_to_iov(vq->ring_mem, gpa, len, parts, &n, VQ_MAX_TABLE_PIECES))
		VQ_CHAIN_BAD("virtqueue %u: indirect table outside guest memory", vq->index);
	for (i = 0; i < n; i++) {
		memcpy(dst, parts[i].iov_base, parts[i].iov_len);
		dst += parts[i].iov_len;
	}
	return (int)(len / VQ_DESC_SIZE);
}

struct vq_elem *vq_elem_build(struct virtqueue *vq, uint16_t head, uint16_t ndescs,
			      const struct vq_chain *c)
{
	struct vq_elem *elem = malloc(sizeof(*elem) + c->count * sizeof(struct iovec));

	if (!elem)
		return NULL;
	elem->head = head;
	elem->ndescs = ndescs;
	elem->out_count = c->out_count;
	elem->in_count = c->count - c->out_count;
	memcpy(elem->iov, c->iov, c->count * sizeof(struct iovec));
	elem->out = elem->iov;
	elem->in = elem->iov + c->out_count;
	elem->mem = guest_memory_ref(vq->ring_mem);
	return elem;
}

static uint64_t vq_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Under vq->lock: the signal decision for completions held back. */
static void vq_notify_held(struct virtqueue *vq)
{
	if (!vq->unsignalled)
		return;
	vq_ops(vq)->notify(vq);
	vq->unsignalled = 0;
}

/* Under vq->lock, after a completion was put. */
static void vq_notify_or_batch(struct virtqueue *vq)
{
	uint64_t now;

	if (vq->notify_batch <= 1) {
		vq_ops(vq)->notify(vq);
		return;
	}
	now = vq_now_ns();
	if (vq->unsignalled++ == 0)
		vq->unsignalled_since_ns = now;
	if (vq->unsignalled >= vq->notify_batch || !vq_ops(vq)->has_pending(vq) ||
	    now - vq->unsignalled_since_ns >= vq->notify_delay_ns)
		vq_notify_held(vq);
}

void virtqueue_set_notify_batch(struct virtqueue *vq, unsigned batch, uint64_t delay_ns)
{
	pthread_mutex_lock(&vq->lock);
	vq_notify_held(vq);
	vq->notify_batch = batch;
	vq->notify_delay_ns = delay_ns;
	pthread_mutex_unlock(&vq->lock);
}

void virtqueue_flush_notify(struct virtqueue *vq)
{
	pthread_mutex_lock(&vq->lock);
	if (vq->unsignalled && vq_ensure_rings(vq) == 0)
		vq_notify_held(vq);
	pthread_mutex_unlock(&vq->lock);
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
		ret = vq_ops(vq)->pop(vq, elem);
	if (ret == 0)
		vq_notify_held(vq);
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
	/* The reply is written: its pages are dirty before the driver can
	 * see it used (migration copies them again). */
	if (vq->log_all && vq->log)
		dirty_log_mark_iov(vq->log, elem->mem, elem->in, elem->in_count, len);
	if (vq_ensure_rings(vq) == 0) {
		const struct vq_ring_ops *ops = vq_ops(vq);

		ops->put(vq, elem, len);
		vq_notify_or_batch(vq);
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
	if (vq_ensure_rings(vq) == 0) {
		vq->notify_off = !enable;
		vq_ops(vq)->set_notification(vq, enable);
		/* The driver must see the change before we look at the ring again. */
		process_fence();
	}
	pthread_mutex_unlock(&vq->lock);
}

bool virtqueue_has_pending(struct virtqueue *vq)
{
	bool pending = false;

	pthread_mutex_lock(&vq->lock);
	if (vq_ensure_rings(vq) == 0)
		pending = vq_ops(vq)->has_pending(vq);
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

uint32_t virtqueue_get_base(struct virtqueue *vq)
{
	uint32_t num;

	pthread_mutex_lock(&vq->lock);
	num = vq_ops(vq)->get_base(vq);
	pthread_mutex_unlock(&vq->lock);
	return num;
}

int virtqueue_set_base(struct virtqueue *vq, uint32_t num)
{
	int ret;

	pthread_mutex_lock(&vq->lock);
	ret = vq_ops(vq)->set_base(vq, num);
	vq->signalled_used_valid = false;
	pthread_mutex_unlock(&vq->lock);
	return ret;
}
