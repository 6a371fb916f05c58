/* dax_frontend.c: the reserved window and the mmaps made into it. */
#include "dax_frontend.h"

#include <errno.h>
#include <stddef.h>
#include <sys/mman.h>

#define DAX_PAGE_MASK 4095ull

int dax_frontend_init(struct dax_frontend *f, uint64_t size)
{
	void *p;

	*f = (struct dax_frontend){ 0 };
	if (size == 0 || (size & ((2ull << 20) - 1)))
		return -EINVAL;
	/* Reserved, not backed: what is not mapped faults, as an unmapped
	 * part of a guest's DAX window would. */
	p = mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	f->base = p;
	f->size = size;
	return 0;
}

void dax_frontend_fini(struct dax_frontend *f)
{
	if (f->base)
		munmap(f->base, f->size);
	f->base = NULL;
}

static bool range_ok(const struct dax_frontend *f, uint64_t win_offset, uint64_t len)
{
	return f->base && len && !(win_offset & DAX_PAGE_MASK) && !(len & DAX_PAGE_MASK) &&
	       len <= f->size && win_offset <= f->size - len;
}

static int refuse(struct dax_frontend *f)
{
	__atomic_add_fetch(&f->refused, 1, __ATOMIC_RELAXED);
	return -EINVAL;
}

int dax_frontend_map(struct dax_frontend *f, int fd, uint64_t fd_offset, uint64_t win_offset,
		     uint64_t len, bool writable)
{
	int prot = PROT_READ | (writable ? PROT_WRITE : 0);
	void *p;

	if (fd < 0 || !range_ok(f, win_offset, len) || (fd_offset & DAX_PAGE_MASK))
		return refuse(f);
	(void)__atomic_load_n(&f->driver_epoch, __ATOMIC_ACQUIRE);
	/* MAP_FIXED over the reservation: never outside it (checked above). */
	p = mmap(f->base + win_offset, len, prot, MAP_SHARED | MAP_FIXED, fd, (off_t)fd_offset);
	if (p == MAP_FAILED)
		return -errno;
	/* release: see dax_frontend_sync() */
	__atomic_add_fetch(&f->maps, 1, __ATOMIC_RELEASE);
	return 0;
}

int dax_frontend_unmap(struct dax_frontend *f, uint64_t win_offset, uint64_t len)
{
	void *p;

	if (!range_ok(f, win_offset, len))
		return refuse(f);
	(void)__atomic_load_n(&f->driver_epoch, __ATOMIC_ACQUIRE);
	/* Back to a reservation, so that nothing else lands there. */
	p = mmap(f->base + win_offset, len, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	__atomic_add_fetch(&f->unmaps, 1, __ATOMIC_RELEASE);
	return 0;
}

void dax_frontend_sync(struct dax_frontend *f)
{
	(void)__atomic_load_n(&f->maps, __ATOMIC_ACQUIRE);
	(void)__atomic_load_n(&f->unmaps, __ATOMIC_ACQUIRE);
}

void dax_frontend_publish(struct dax_frontend *f)
{
	__atomic_add_fetch(&f->driver_epoch, 1, __ATOMIC_RELEASE);
}
