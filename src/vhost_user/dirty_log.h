/* dirty_log.h: the dirty-page log of live migration (VHOST_F_LOG_ALL with
 * VHOST_USER_PROTOCOL_F_LOG_SHMFD). The frontend shares a bitmap, one bit
 * per 4 KiB page of guest-physical memory (SET_LOG_BASE); while logging is
 * on, every byte we write into guest memory (used rings, packed used
 * descriptors, event areas, reply buffers) marks its pages, with an atomic
 * OR, after it is written, so the frontend copies the page again. Pages
 * past the end of the bitmap are counted, never written.
 *
 * A log is immutable once made and reference counted, like a memory table:
 * a queue keeps the log it took under its own lock, and a new one from the
 * frontend replaces it without waiting. */
#ifndef VFSD_DIRTY_LOG_H
#define VFSD_DIRTY_LOG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vhost_user/guest_memory.h"

struct dirty_log {
	int refcount;            /* atomic */
	uint8_t *bits;           /* mapping + offset */
	void *map_base;
	size_t map_size;
	uint64_t size;           /* bytes of bitmap */
	uint64_t outside;        /* atomic: marks beyond the bitmap (logged once) */
};

/* Map size bytes at offset of fd (the fd is not kept). NULL with *err. */
struct dirty_log *dirty_log_map(int fd, uint64_t size, uint64_t offset, int *err);
/* A bitmap in our own memory (tests, fuzzing). */
struct dirty_log *dirty_log_wrap(uint8_t *bits, uint64_t size);
struct dirty_log *dirty_log_ref(struct dirty_log *log);
void dirty_log_unref(struct dirty_log *log);

/* Mark the guest-physical range [gpa, gpa + len). */
void dirty_log_mark_gpa(struct dirty_log *log, uint64_t gpa, uint64_t len);
/* Mark the pages behind host pointer [p, p + len), which must point into
 * one of mem's mappings (a range outside every region marks nothing and
 * returns -EFAULT). */
int dirty_log_mark_host(struct dirty_log *log, const struct guest_memory *mem, const void *p,
			uint64_t len);
/* Mark the first len bytes of a scatter list into mem (a reply). */
void dirty_log_mark_iov(struct dirty_log *log, const struct guest_memory *mem,
			const struct iovec *iov, unsigned count, uint64_t len);
/* Whether the page of gpa is marked (tests). */
int dirty_log_test(const struct dirty_log *log, uint64_t gpa);

#endif
