/* virtqueue.h: one virtqueue as the device (we) sees it, split
 * (virtqueue_split.c) or packed (VIRTIO_F_RING_PACKED,
 * virtqueue_packed.c) behind the same functions. Pops descriptor chains
 * as checked scatter lists, returns them as used, and suppresses or sends
 * notifications (VIRTIO_RING_F_EVENT_IDX, or the packed ring's event
 * suppression areas). Every descriptor index, flag, wrap counter, buffer
 * id, address, length and chain length from the guest is checked here; a
 * bad chain is completed with zero length, logged once, and skipped: the
 * queue keeps serving. Thread-safe: pop and push take the queue's own lock.
 *
 * It knows nothing of FUSE. */
#ifndef VFSD_VIRTQUEUE_H
#define VFSD_VIRTQUEUE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vhost_user/guest_memory.h"

struct vring_desc;
struct vring_avail;
struct vring_used;
struct vring_packed_desc;
struct vring_packed_desc_event;
struct dirty_log;

/* One popped chain. out: bytes the driver wrote (the FUSE request);
 * in: bytes we may write (the reply). Both point into guest memory that
 * the element keeps mapped (it holds a reference on the table). */
struct vq_elem {
	uint16_t head;              /* split: head index; packed: buffer id */
	uint16_t ndescs;            /* ring descriptors the chain took (packed) */
	unsigned out_count;
	unsigned in_count;
	struct iovec *out;
	struct iovec *in;
	struct guest_memory *mem;
	struct iovec iov[]; /* out_count + in_count entries */
};

struct virtqueue {
	pthread_mutex_t lock;
	unsigned index;
	/* Set by vhost-user messages (under the device's control thread) */
	uint16_t size;              /* SET_VRING_NUM; power of two <= 32768 */
	uint64_t desc_user_addr;    /* SET_VRING_ADDR, VMM user addresses */
	uint64_t avail_user_addr;   /* packed: driver event suppression area */
	uint64_t used_user_addr;    /* packed: device event suppression area */
	uint64_t log_guest_addr;
	int kick_fd;                /* -1 when none */
	int call_fd;                /* -1 when none */
	int err_fd;
	bool enabled;               /* SET_VRING_ENABLE, or implied (see vhost_user.c) */
	bool started;               /* workers running */
	bool event_idx;             /* VIRTIO_RING_F_EVENT_IDX negotiated */
	bool packed;                /* VIRTIO_F_RING_PACKED negotiated */
	bool broken_logged;
	/* Live migration: with log_all (VHOST_F_LOG_ALL) every write we make
	 * into guest memory marks its pages in log (referenced), under lock. */
	bool log_all;
	struct dirty_log *log;

	/* Ring state. Split: free-running indices. Packed: positions in
	 * [0, size) with their wrap counters; signalled_used is a position
	 * counted over two laps (see virtqueue_packed.c). */
	uint16_t last_avail_idx;    /* next avail entry (packed: descriptor) to pop */
	uint16_t used_idx;          /* next used entry (packed: descriptor) to fill */
	bool avail_wrap;            /* packed: wrap counter at last_avail_idx */
	bool used_wrap;             /* packed: wrap counter at used_idx */
	uint16_t signalled_used;
	bool signalled_used_valid;
	unsigned inflight;          /* popped, not yet pushed */
	bool notify_off;            /* set_notification(false) in effect */
	/* Notification batching (virtqueue_set_notify_batch): completions
	 * put since the last signal decision, and when the first of them was */
	unsigned notify_batch;
	uint64_t notify_delay_ns;
	unsigned unsignalled;
	uint64_t unsignalled_since_ns;

	/* Host pointers for the rings, valid under ring_mem */
	struct guest_memory_slot *memory_slot;
	struct guest_memory *ring_mem;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	struct vring_packed_desc *pdesc;                /* packed descriptor ring */
	struct vring_packed_desc_event *driver_event;   /* packed: the driver writes */
	struct vring_packed_desc_event *device_event;   /* packed: we write */

	/* Scratch space for pop (used under lock, allocated on first use) */
	struct iovec *scratch_iov;
	void *scratch_indirect;
	uint64_t *ids_busy;         /* packed: bitmap of buffer ids in flight */
};

void virtqueue_init(struct virtqueue *vq, unsigned index, struct guest_memory_slot *slot);
void virtqueue_destroy(struct virtqueue *vq);

/* Under vq->lock: forget the rings' host pointers; a running queue
 * re-translates on its next access (new addresses, a new layout). */
void virtqueue_invalidate_rings_locked(struct virtqueue *vq);

/* Logging of our writes for live migration: a new log (the queue takes
 * its own reference; NULL drops it) and whether VHOST_F_LOG_ALL is on. */
void virtqueue_set_log(struct virtqueue *vq, struct dirty_log *log, bool log_all);

/* Translate the ring addresses against the current memory table.
 * Returns 0 or -EFAULT (rings outside guest memory). Called when the
 * queue starts; pop/push re-translate by themselves when the VMM has
 * published a new table since. */
int virtqueue_map_rings(struct virtqueue *vq);

/* Pop the next available chain. Returns 1 with *elem set, 0 when the
 * ring is empty, -EAGAIN when it skipped a ring's worth of malformed
 * chains and more may be waiting (call again), or -errno when the ring
 * itself is unusable (rings not mapped). A malformed chain never reaches
 * the caller: it is completed with length 0 and the next one is tried.
 * With notifications on, a return of 0 leaves avail_event at the new end
 * of the ring, so the driver's next buffer comes with a kick. Free *elem
 * with push. */
/* While more requests wait on the ring, let up to batch completions (and
 * none older than delay_ns) share one signal to the driver instead of one
 * each: the signal goes when the batch is full, the delay is over, or a
 * pop finds the ring empty. Fewer wake-ups of the driver for the same
 * work; batch 0 or 1 signals every completion (the default). */
void virtqueue_set_notify_batch(struct virtqueue *vq, unsigned batch, uint64_t delay_ns);
/* Signal now for the completions a batch holds back (before work that
 * may take long, and when the queue stops). */
void virtqueue_flush_notify(struct virtqueue *vq);

int virtqueue_pop(struct virtqueue *vq, struct vq_elem **elem);

/* Return elem on the used ring with len bytes written, free it, and
 * signal the call fd if the driver wants to be notified. */
void virtqueue_push(struct virtqueue *vq, struct vq_elem *elem, uint32_t len);

/* Drop an element without completing it (the queue was stopped or reset
 * and its used ring must not be written): releases its memory reference. */
void virtqueue_elem_free(struct vq_elem *elem);

/* Enable (true) or suppress (false) kicks from the driver. After enabling,
 * callers must pop once more before sleeping, since a buffer may have
 * arrived before the driver saw the change. */
void virtqueue_set_notification(struct virtqueue *vq, bool enable);

/* Whether the avail ring has entries we have not popped. */
bool virtqueue_has_pending(struct virtqueue *vq);

/* Split: the avail index the next pop would use. Packed: the position of
 * the next descriptor to pop (without its wrap counter). */
uint16_t virtqueue_last_avail(struct virtqueue *vq);

/* GET_VRING_BASE's value for a stopped queue. Split: the avail index the
 * next pop would use. Packed (as QEMU encodes it): bits 0-14 the next
 * descriptor to pop, bit 15 its wrap counter, bits 16-30 the next used
 * position, bit 31 its wrap counter. */
uint32_t virtqueue_get_base(struct virtqueue *vq);

/* SET_VRING_BASE, the same encoding, for a queue not started. 0, or
 * -EINVAL for a value out of range (checked against the size again when
 * the queue starts). */
int virtqueue_set_base(struct virtqueue *vq, uint32_t num);

#endif
