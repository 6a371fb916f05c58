/* guest_memory.c: guest RAM tables, checked address translation, and the slot that publishes them. */
#include "vhost_user/guest_memory.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Exclusive end of a region; guest_memory_new guarantees it does not wrap. */
static uint64_t region_gpa_end(const struct guest_region *r)
{
	return r->guest_phys_addr + r->size;
}

static void region_release(struct guest_region *r)
{
	if (r->mmap_base && r->mmap_base != MAP_FAILED)
		munmap(r->mmap_base, r->mmap_size);
	r->mmap_base = NULL;
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
}

int guest_region_map(struct guest_region *region)
{
	struct stat st;
	uint64_t total;
	void *base;

	if (region->size == 0 || region->fd < 0)
		return -EINVAL;
	if (__builtin_add_overflow(region->mmap_offset, region->size, &total) ||
	    total > SIZE_MAX)
		return -EINVAL;
	/* Touching a page past the end of a file raises SIGBUS: refuse a
	 * file too short for the region up front. */
	if (fstat(region->fd, &st) < 0)
		return -errno;
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size < total)
		return -EINVAL;
	/* NORESERVE: guest RAM is usually far larger than what it touches. */
	base = mmap(NULL, (size_t)total, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_NORESERVE, region->fd, 0);
	if (base == MAP_FAILED)
		return -errno;
	region->mmap_base = base;
	region->mmap_size = (size_t)total;
	return 0;
}

static int region_cmp(const void *a, const void *b)
{
	const struct guest_region *ra = a, *rb = b;

	if (ra->guest_phys_addr != rb->guest_phys_addr)
		return ra->guest_phys_addr < rb->guest_phys_addr ? -1 : 1;
	return 0;
}

/* Ends are computed without wrapping everywhere else, so reject any region
 * whose guest or user range would wrap, or whose mapping is too small. */
static int region_valid(const struct guest_region *r)
{
	uint64_t end;

	if (!r->mmap_base || r->size == 0)
		return 0;
	if (__builtin_add_overflow(r->guest_phys_addr, r->size, &end))
		return 0;
	if (__builtin_add_overflow(r->user_addr, r->size, &end))
		return 0;
	if (__builtin_add_overflow(r->mmap_offset, r->size, &end) || end > r->mmap_size)
		return 0;
	return 1;
}

/* Takes ownership of the regions whatever happens: on failure they are
 * unmapped and closed here, so callers have a single cleanup path. */
struct guest_memory *guest_memory_new(const struct guest_region *regions, unsigned count)
{
	struct guest_memory *mem = NULL;
	unsigned i;

	if (count > GUEST_MEMORY_MAX_REGIONS)
		goto fail;
	mem = calloc(1, sizeof(*mem) + (size_t)count * sizeof(mem->regions[0]));
	if (!mem)
		goto fail;
	if (count)
		memcpy(mem->regions, regions, count * sizeof(regions[0]));
	mem->region_count = count;
	mem->refcount = 1;
	qsort(mem->regions, count, sizeof(mem->regions[0]), region_cmp);
	for (i = 0; i < count; i++) {
		if (!region_valid(&mem->regions[i]))
			goto fail_table;
		if (i && mem->regions[i].guest_phys_addr < region_gpa_end(&mem->regions[i - 1]))
			goto fail_table;
	}
	return mem;

fail_table:
	for (i = 0; i < count; i++)
		region_release(&mem->regions[i]);
	free(mem);
	return NULL;
fail:
	for (i = 0; i < count; i++) {
		struct guest_region r = regions[i];

		region_release(&r);
	}
	return NULL;
}

struct guest_memory *guest_memory_ref(struct guest_memory *mem)
{
	if (mem)
		__atomic_add_fetch(&mem->refcount, 1, __ATOMIC_RELAXED);
	return mem;
}

void guest_memory_unref(struct guest_memory *mem)
{
	unsigned i;

	if (!mem)
		return;
	if (__atomic_sub_fetch(&mem->refcount, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	for (i = 0; i < mem->region_count; i++)
		region_release(&mem->regions[i]);
	free(mem);
}

/* The region holding gpa (regions are sorted and disjoint), or NULL. */
static const struct guest_region *memory_find_gpa(const struct guest_memory *mem, uint64_t gpa)
{
	unsigned lo = 0, hi = mem->region_count;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		const struct guest_region *r = &mem->regions[mid];

		if (gpa < r->guest_phys_addr)
			hi = mid;
		else if (gpa >= region_gpa_end(r))
			lo = mid + 1;
		else
			return r;
	}
	return NULL;
}

static void *region_host(const struct guest_region *r, uint64_t offset)
{
	return (char *)r->mmap_base + r->mmap_offset + offset;
}

void *guest_memory_gpa_to_host(const struct guest_memory *mem, uint64_t gpa, uint64_t len)
{
	const struct guest_region *r;
	uint64_t offset;

	if (!mem)
		return NULL;
	r = memory_find_gpa(mem, gpa);
	if (!r)
		return NULL;
	offset = gpa - r->guest_phys_addr;
	if (len > r->size - offset)
		return NULL;
	return region_host(r, offset);
}

void *guest_memory_uva_to_host(const struct guest_memory *mem, uint64_t uva, uint64_t len)
{
	unsigned i;

	if (!mem)
		return NULL;
	for (i = 0; i < mem->region_count; i++) {
		const struct guest_region *r = &mem->regions[i];
		uint64_t offset;

		if (uva < r->user_addr || uva - r->user_addr >= r->size)
			continue;
		offset = uva - r->user_addr;
		if (len > r->size - offset)
			return NULL;
		return region_host(r, offset);
	}
	return NULL;
}

int guest_memory_gpa_to_iov(const struct guest_memory *mem, uint64_t gpa, uint64_t len,
			    struct iovec *iov, unsigned *count, unsigned max)
{
	unsigned n = *count;

	if (len == 0)
		return 0;
	if (!mem || gpa > UINT64_MAX - (len - 1))
		return -EFAULT;
	while (len) {
		const struct guest_region *r = memory_find_gpa(mem, gpa);
		uint64_t offset, chunk;

		if (!r)
			return -EFAULT;
		if (n >= max)
			return -E2BIG;
		offset = gpa - r->guest_phys_addr;
		chunk = r->size - offset;
		if (chunk > len)
			chunk = len;
		iov[n].iov_base = region_host(r, offset);
		iov[n].iov_len = (size_t)chunk;
		n++;
		len -= chunk;
		/* Cannot wrap: the whole range was checked above. */
		gpa += chunk;
	}
	*count = n;
	return 0;
}

void guest_memory_slot_init(struct guest_memory_slot *slot)
{
	pthread_mutex_init(&slot->lock, NULL);
	slot->current = NULL;
}

struct guest_memory *guest_memory_slot_get(struct guest_memory_slot *slot)
{
	struct guest_memory *mem;

	pthread_mutex_lock(&slot->lock);
	mem = guest_memory_ref(slot->current);
	pthread_mutex_unlock(&slot->lock);
	return mem;
}

void guest_memory_slot_replace(struct guest_memory_slot *slot, struct guest_memory *mem)
{
	struct guest_memory *old;

	pthread_mutex_lock(&slot->lock);
	old = slot->current;
	/* Atomic so queues may compare against it without the lock (they
	 * never dereference what they read that way). */
	__atomic_store_n(&slot->current, mem, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&slot->lock);
	guest_memory_unref(old);
}

void guest_memory_slot_destroy(struct guest_memory_slot *slot)
{
	guest_memory_unref(slot->current);
	slot->current = NULL;
	pthread_mutex_destroy(&slot->lock);
}
