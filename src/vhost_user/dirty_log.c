/* dirty_log.c: the shared dirty-page bitmap of live migration. */
#include "vhost_user/dirty_log.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "util/log.h"
#include "vhost_user/vhost_user_msg.h"

/* The frontend sizes it for all of guest memory: 1 GiB of bitmap covers
 * 32 TiB, more than any frontend gives. */
#define DIRTY_LOG_MAX_SIZE (1ull << 30)

struct dirty_log *dirty_log_map(int fd, uint64_t size, uint64_t offset, int *err)
{
	struct dirty_log *log;
	struct stat st;
	uint64_t total;
	void *base;

	if (size == 0 || size > DIRTY_LOG_MAX_SIZE ||
	    __builtin_add_overflow(size, offset, &total) || total > SIZE_MAX) {
		*err = -EINVAL;
		return NULL;
	}
	/* Marking a page past the end of the file would raise SIGBUS. */
	if (fstat(fd, &st) < 0 || (S_ISREG(st.st_mode) && (uint64_t)st.st_size < total)) {
		*err = -EINVAL;
		return NULL;
	}
	log = calloc(1, sizeof(*log));
	if (!log) {
		*err = -ENOMEM;
		return NULL;
	}
	base = mmap(NULL, (size_t)total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED) {
		*err = -errno;
		free(log);
		return NULL;
	}
	log->refcount = 1;
	log->map_base = base;
	log->map_size = (size_t)total;
	log->bits = (uint8_t *)base + offset;
	log->size = size;
	return log;
}

struct dirty_log *dirty_log_wrap(uint8_t *bits, uint64_t size)
{
	struct dirty_log *log = calloc(1, sizeof(*log));

	if (!log)
		return NULL;
	log->refcount = 1;
	log->bits = bits;
	log->size = size;
	return log;
}

struct dirty_log *dirty_log_ref(struct dirty_log *log)
{
	if (log)
		__atomic_add_fetch(&log->refcount, 1, __ATOMIC_RELAXED);
	return log;
}

void dirty_log_unref(struct dirty_log *log)
{
	if (!log || __atomic_sub_fetch(&log->refcount, 1, __ATOMIC_ACQ_REL))
		return;
	if (log->map_base)
		munmap(log->map_base, log->map_size);
	free(log);
}

void dirty_log_mark_gpa(struct dirty_log *log, uint64_t gpa, uint64_t len)
{
	uint64_t first, last, page;

	if (!log || len == 0)
		return;
	first = gpa / VHOST_USER_LOG_PAGE;
	/* a range that wraps marks up to the top of the address space */
	last = (gpa + len - 1 < gpa ? UINT64_MAX : gpa + len - 1) / VHOST_USER_LOG_PAGE;
	for (page = first; page <= last; page++) {
		if (page / 8 >= log->size) {
			if (__atomic_fetch_add(&log->outside, 1, __ATOMIC_RELAXED) == 0)
				log_error("dirty log: page 0x%llx lies past the %llu-byte bitmap",
					  (unsigned long long)page, (unsigned long long)log->size);
			return;
		}
		/* The frontend clears bits as it copies: a plain store could
		 * lose its clear or ours. Skip the atomic when already set. */
		if (!(__atomic_load_n(&log->bits[page / 8], __ATOMIC_RELAXED) & (1u << (page % 8))))
			__atomic_fetch_or(&log->bits[page / 8], (uint8_t)(1u << (page % 8)),
					  __ATOMIC_RELAXED);
		if (page == UINT64_MAX)
			break;
	}
}

int dirty_log_mark_host(struct dirty_log *log, const struct guest_memory *mem, const void *p,
			uint64_t len)
{
	const uint8_t *ptr = p;
	unsigned i;

	if (!log || !mem || len == 0)
		return 0;
	/* A buffer crossing two regions came as two iovecs: one region each. */
	for (i = 0; i < mem->region_count; i++) {
		const struct guest_region *r = &mem->regions[i];
		const uint8_t *start = (const uint8_t *)r->mmap_base + r->mmap_offset;

		if (ptr >= start && ptr < start + r->size) {
			uint64_t off = (uint64_t)(ptr - start);

			if (len > r->size - off)
				len = r->size - off;
			dirty_log_mark_gpa(log, r->guest_phys_addr + off, len);
			return 0;
		}
	}
	return -EFAULT;
}

void dirty_log_mark_iov(struct dirty_log *log, const struct guest_memory *mem,
			const struct iovec *iov, unsigned count, uint64_t len)
{
	unsigned i;

	for (i = 0; i < count && len; i++) {
		uint64_t n = iov[i].iov_len < len ? iov[i].iov_len : len;

		dirty_log_mark_host(log, mem, iov[i].iov_base, n);
		len -= n;
	}
}

int dirty_log_test(const struct dirty_log *log, uint64_t gpa)
{
	uint64_t page = gpa / VHOST_USER_LOG_PAGE;

	if (page / 8 >= log->size)
		return 0;
	return !!(__atomic_load_n(&log->bits[page / 8], __ATOMIC_RELAXED) & (1u << (page % 8)));
}
