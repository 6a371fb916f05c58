/* virtqueue_internal.h: what the split ring (virtqueue_split.c) and the
 * packed ring (virtqueue_packed.c) share, and the table through which
 * virtqueue.c's public functions reach the layout a queue uses. Internal
 * to src/vhost_user/.
 *
 * Everything here that takes a queue runs under vq->lock. The one way a
 * descriptor's address and length become host iovecs is vq_chain_add(),
 * and the one way an indirect table is read is vq_indirect_copy(): both
 * layouts check guest buffers the same way. */
#ifndef VFSD_VIRTQUEUE_INTERNAL_H
#define VFSD_VIRTQUEUE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "util/log.h"
#include "util/process_fence.h"
#include "vhost_user/virtqueue.h"

/* The longest scatter list a chain may produce: QEMU's VIRTQUEUE_MAX_SIZE
 * plus slack for descriptors split where two regions meet. */
#define VQ_MAX_IOV		(1024 + 8)
/* Entries allowed in one indirect table (each at least 16 bytes of guest
 * memory, so this also bounds the copy). Both layouts use 16-byte
 * descriptors. */
#define VQ_MAX_INDIRECT		VQ_MAX_IOV
#define VQ_DESC_SIZE		16u
/* Pieces an indirect table may be split into across adjacent regions. */
#define VQ_MAX_TABLE_PIECES	8
/* Buffer ids a packed ring may have in flight (its largest size). */
#define VQ_MAX_PACKED_IDS	32768

/* A chain being turned into a scatter list. */
struct vq_chain {
	struct iovec *iov;
	unsigned count;
	unsigned out_count;
	bool seen_write;
};

/* Reject a chain: log once, return -EINVAL. */
#define VQ_CHAIN_BAD(...) \
	do { log_error_once(__VA_ARGS__); return -EINVAL; } while (0)

/* Append one buffer (guest address, length, device-writable or not) to c:
 * readable buffers may not follow writable ones, every byte must be guest
 * memory, and the list stays within VQ_MAX_IOV. 0 or -EINVAL (logged). */
int vq_chain_add(struct virtqueue *vq, struct vq_chain *c, uint64_t addr, uint32_t len,
		 bool write);

/* Snapshot an indirect table of len bytes at gpa into vq->scratch_indirect
 * (so it cannot change under the walk, and a table straddling two regions
 * reads as one). Checks the length: non-zero, whole descriptors, at most
 * VQ_MAX_INDIRECT of them. Returns the number of entries, or -EINVAL
 * (logged). */
int vq_indirect_copy(struct virtqueue *vq, uint64_t gpa, uint32_t len);

/* The element for a good chain, holding a reference on the ring's table. */
struct vq_elem *vq_elem_build(struct virtqueue *vq, uint16_t head, uint16_t ndescs,
			      const struct vq_chain *c);

/* Log a write we made at host pointer p into the rings' memory, when
 * the frontend logs (VHOST_F_LOG_ALL); call after writing. */
void vq_log_write(struct virtqueue *vq, const void *p, uint64_t len);

/* Signal the call fd (the caller decided the driver wants it). */
void vq_signal(struct virtqueue *vq);

/* Whether [a, a + a_len) and [b, b + b_len) share a byte. */
bool vq_ranges_overlap(const void *a, uint64_t a_len, const void *b, uint64_t b_len);
bool vq_ptr_aligned(const void *p, uintptr_t align);

/* The order the guest puts between our threads, told to ThreadSanitizer
 * (see virtqueue.c), and a full barrier against the driver. */
void vq_guest_release(void);
void vq_guest_acquire(void);


/* One ring layout. All under vq->lock; rings mapped except translate. */
struct vq_ring_ops {
	/* Host pointers for the rings in mem: 0 or -EFAULT. */
	int (*translate)(struct virtqueue *vq, const struct guest_memory *mem);
	/* The queue (re)starts on freshly mapped rings: 0, or -EINVAL when
	 * the base the VMM set does not fit the ring. */
	int (*resume)(struct virtqueue *vq);
	/* As virtqueue_pop (1, 0, -EAGAIN, -ENOMEM). */
	int (*pop)(struct virtqueue *vq, struct vq_elem **elem);
	/* Complete elem with len bytes written (no notification). */
	void (*put)(struct virtqueue *vq, const struct vq_elem *elem, uint32_t len);
	/* Signal the driver if it asked for the completions put so far. */
	void (*notify)(struct virtqueue *vq);
	void (*set_notification)(struct virtqueue *vq, bool enable);
	bool (*has_pending)(struct virtqueue *vq);
	/* GET_VRING_BASE's value / SET_VRING_BASE's (0 or -EINVAL). */
	uint32_t (*get_base)(const struct virtqueue *vq);
	int (*set_base)(struct virtqueue *vq, uint32_t num);
};

extern const struct vq_ring_ops vq_split_ops;
extern const struct vq_ring_ops vq_packed_ops;

#endif
