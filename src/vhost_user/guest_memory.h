/* guest_memory.h: the guest's RAM as the VMM shared it (SET_MEM_TABLE,
 * ADD/REM_MEM_REG), mapped into the daemon, and the only place guest
 * addresses become host pointers. Every translation checks the whole
 * range against the table (no wrap, no overflow); it never returns a
 * pointer to memory the guest does not own.
 *
 * A table is immutable once published and reference counted: requests in
 * flight keep the table they started with, and a new table from the VMM
 * replaces it without waiting for them; the old mappings are unmapped
 * when the last reference is dropped. */
#ifndef VFSD_GUEST_MEMORY_H
#define VFSD_GUEST_MEMORY_H

#include <pthread.h>
#include <stdint.h>
#include <sys/uio.h>

#define GUEST_MEMORY_MAX_REGIONS 509 /* VHOST_USER_MAX_RAM_SLOTS in QEMU */

struct guest_region {
	uint64_t guest_phys_addr;
	uint64_t size;
	uint64_t user_addr;   /* the VMM's virtual address (ring addresses use it) */
	uint64_t mmap_offset; /* offset of the region within the fd */
	void *mmap_base;      /* what mmap returned (covers mmap_offset + size) */
	size_t mmap_size;
	int fd;               /* kept open: ADD_MEM_REG-style updates re-share it */
};

struct guest_memory {
	int refcount; /* atomic */
	unsigned region_count;
	struct guest_region regions[]; /* sorted by guest_phys_addr */
};

/* Builds a table that takes ownership of the regions (already mapped). */
struct guest_memory *guest_memory_new(const struct guest_region *regions, unsigned count);
struct guest_memory *guest_memory_ref(struct guest_memory *mem);
/* Drops a reference; the last one unmaps every region and closes its fd. */
void guest_memory_unref(struct guest_memory *mem);

/* Map an fd region as the VMM describes it; fills in mmap_base/size.
 * Returns 0 or negative errno. */
int guest_region_map(struct guest_region *region);

/* Host pointer for [gpa, gpa + len) when it lies inside one region, else NULL. */
void *guest_memory_gpa_to_host(const struct guest_memory *mem, uint64_t gpa, uint64_t len);
/* The same for a VMM user address (vring addresses are given that way). */
void *guest_memory_uva_to_host(const struct guest_memory *mem, uint64_t uva, uint64_t len);

/* Describe [gpa, gpa + len) as host iovecs, splitting where it crosses
 * from one region into the next adjacent one (a buffer that straddles two
 * regions is valid). Appends to iov[*count..max). Returns 0, -EFAULT when
 * any byte is outside guest memory or the range wraps, or -E2BIG when
 * more than max iovecs would be needed. len 0 appends nothing. */
int guest_memory_gpa_to_iov(const struct guest_memory *mem, uint64_t gpa, uint64_t len,
			    struct iovec *iov, unsigned *count, unsigned max);

/* The current table, swapped by the vhost-user thread, read by queue threads. */
struct guest_memory_slot {
	pthread_mutex_t lock;
	struct guest_memory *current; /* may be NULL before SET_MEM_TABLE */
};

void guest_memory_slot_init(struct guest_memory_slot *slot);
/* Returns a new reference to the current table (or NULL): drop it with unref. */
struct guest_memory *guest_memory_slot_get(struct guest_memory_slot *slot);
/* Publishes mem (takes the caller's reference) and drops the old one. */
void guest_memory_slot_replace(struct guest_memory_slot *slot, struct guest_memory *mem);
void guest_memory_slot_destroy(struct guest_memory_slot *slot);

#endif
