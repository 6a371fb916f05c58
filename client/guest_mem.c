/* guest_mem.c: "guest RAM" for the driver. Several memfd regions laid
 * out back to back in guest-physical address space, each mapped at its
 * own (unrelated) host address, so a daemon must really translate
 * through its memory table. A chunk bitmap hands out request buffers;
 * consecutive requests go to different regions in turn. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vfs_internal.h"

/* Start GPAs away from 0 so a daemon treating 0 as "no address" or
 * mixing up GPAs and offsets shows up. */
#define VFS_GPA_BASE 0x100000ull

static int region_map(struct vfs_region *r, uint64_t size, unsigned i)
{
	char name[32];

	snprintf(name, sizeof(name), "vfs-guest-ram%u", i);
	r->fd = memfd_create(name, MFD_CLOEXEC);
	if (r->fd < 0)
		return -errno;
	if (ftruncate(r->fd, (off_t)size) < 0)
		goto fail;
	r->hva = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);
	if (r->hva == MAP_FAILED)
		goto fail;
	r->size = size;
	return 0;
fail:
	{
		int err = -errno;

		close(r->fd);
		r->fd = -1;
		return err;
	}
}

int mem_init(struct vfs_mem *m, size_t size, unsigned regions)
{
	uint64_t gpa = VFS_GPA_BASE;
	size_t per, chunk = 0;
	unsigned i;
	int err;

	memset(m, 0, sizeof(*m));
	if (regions == 0 || regions > VFS_MAX_REGIONS)
		return -EINVAL;
	/* Unequal sizes on purpose: the last region gets the remainder. */
	per = (size / regions) & ~(size_t)(VFS_CHUNK - 1);
	if (per < 16 * VFS_CHUNK)
		return -EINVAL;
	for (i = 0; i < regions; i++) {
		struct vfs_region *r = &m->r[i];
		uint64_t rsize = per;

		if (i == regions - 1)
			rsize = (size - per * (regions - 1)) & ~(uint64_t)(VFS_CHUNK - 1);
		err = region_map(r, rsize, i);
		if (err) {
			mem_fini(m);
			return err;
		}
		m->nr++;
		r->gpa = gpa;
		r->first_chunk = chunk;
		gpa += rsize;
		chunk += rsize / VFS_CHUNK;
		m->total += rsize;
	}
	m->nchunks = chunk;
	m->bitmap = calloc((chunk + 63) / 64, sizeof(uint64_t));
	if (!m->bitmap) {
		mem_fini(m);
		return -ENOMEM;
	}
	return 0;
}

void mem_fini(struct vfs_mem *m)
{
	unsigned i;

	for (i = 0; i < m->nr; i++) {
		munmap(m->r[i].hva, m->r[i].size);
		close(m->r[i].fd);
	}
	free(m->bitmap);
	memset(m, 0, sizeof(*m));
}

static bool chunk_used(const struct vfs_mem *m, size_t i)
{
	return m->bitmap[i / 64] & (1ull << (i % 64));
}

static void chunks_mark(struct vfs_mem *m, size_t first, size_t n, bool used)
{
	size_t i;

	for (i = first; i < first + n; i++) {
		if (used)
			m->bitmap[i / 64] |= 1ull << (i % 64);
		else
			m->bitmap[i / 64] &= ~(1ull << (i % 64));
	}
}

static const struct vfs_region *chunk_region(const struct vfs_mem *m, size_t i)
{
	unsigned r;

	for (r = 0; r < m->nr; r++)
		if (i < m->r[r].first_chunk + m->r[r].size / VFS_CHUNK)
			return &m->r[r];
	return NULL;
}

static uint8_t *chunk_hva(const struct vfs_mem *m, size_t i)
{
	const struct vfs_region *r = chunk_region(m, i);

	return r->hva + (i - r->first_chunk) * (size_t)VFS_CHUNK;
}

/* First run of n free chunks at or after 'from' that stays in one region. */
static long chunks_find(const struct vfs_mem *m, size_t from, size_t n)
{
	const struct vfs_region *reg = NULL;
	size_t i, run = 0, start = from;

	for (i = from; i < m->nchunks; i++) {
		const struct vfs_region *r = chunk_region(m, i);

		if (chunk_used(m, i)) {
			run = 0;
			continue;
		}
		if (run == 0 || r != reg) {
			start = i;
			reg = r;
			run = 0;
		}
		if (++run == n)
			return (long)start;
	}
	return -1;
}

void *mem_alloc(struct vfs_mem *m, size_t len)
{
	size_t n = (len + VFS_CHUNK - 1) / VFS_CHUNK;
	long first;
	uint8_t *p;

	if (n == 0)
		n = 1;
	/* Round robin over the regions, first fit inside each. */
	first = chunks_find(m, m->r[m->next_region].first_chunk, n);
	if (first < 0)
		first = chunks_find(m, 0, n);
	if (first < 0)
		return NULL;
	m->next_region = (m->next_region + 1) % m->nr;
	chunks_mark(m, (size_t)first, n, true);
	m->allocs[chunk_region(m, (size_t)first) - m->r]++;
	p = chunk_hva(m, (size_t)first);
	memset(p, 0, n * VFS_CHUNK);
	return p;
}

static long chunk_of(const struct vfs_mem *m, const void *p)
{
	const uint8_t *b = p;
	unsigned r;

	for (r = 0; r < m->nr; r++)
		if (b >= m->r[r].hva && b < m->r[r].hva + m->r[r].size)
			return (long)(m->r[r].first_chunk +
				      (size_t)(b - m->r[r].hva) / VFS_CHUNK);
	return -1;
}

void mem_free(struct vfs_mem *m, void *p, size_t len)
{
	size_t n = (len + VFS_CHUNK - 1) / VFS_CHUNK;
	long first;

	if (!p)
		return;
	first = chunk_of(m, p);
	if (first < 0)
		abort();        /* a pointer we never handed out: our bug */
	chunks_mark(m, (size_t)first, n ? n : 1, false);
}

uint64_t mem_gpa(const struct vfs_mem *m, const void *p)
{
	const uint8_t *b = p;
	unsigned r;

	for (r = 0; r < m->nr; r++)
		if (b >= m->r[r].hva && b < m->r[r].hva + m->r[r].size)
			return m->r[r].gpa + (uint64_t)(b - m->r[r].hva);
	return 0;
}
