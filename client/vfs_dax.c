/* vfs_dax.c: file data through the DAX window, the way Linux's
 * fs/fuse/dax.c does it with -o dax=always: the window is cut into 2 MiB
 * ranges; a file's 2 MiB-aligned piece gets a range on first use
 * (SETUPMAPPING, read-only until written), and when none is free the one
 * least recently used is taken back (REMOVEMAPPING). Loads and stores
 * then touch the host's page cache directly. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vfs_internal.h"

#define DAX_RANGE_SHIFT 21
#define DAX_RANGE_SIZE (1ull << DAX_RANGE_SHIFT)

struct dax_range {
	bool used;
	bool writable;
	uint64_t nodeid;
	uint64_t index;		/* file offset >> DAX_RANGE_SHIFT */
	uint64_t last_use;
};

struct vfs_dax {
	struct dax_frontend window;
	uint64_t size;		/* usable bytes: the window, or less (SHMEM) */
	unsigned nranges;
	struct dax_range *ranges;
	uint64_t clock;
	unsigned last_hit;
	uint64_t setupmapping, removemapping;
};

int vfs_dax_open(struct vfs_client *c)
{
	struct vfs_dax *d = calloc(1, sizeof(*d));
	int err;

	if (!d)
		return -ENOMEM;
	err = dax_frontend_init(&d->window, c->opts.dax_window);
	if (err) {
		free(d);
		return err;
	}
	c->dax = d;
	c->fe.dax = &d->window;
	return 0;
}

/* After negotiation: a SHMEM daemon may offer a smaller region. */
int vfs_dax_negotiated(struct vfs_client *c)
{
	struct vfs_dax *d = c->dax;
	uint64_t size = d->window.size;

	if (c->fe.shmem_size && c->fe.shmem_size < size)
		size = c->fe.shmem_size & ~(DAX_RANGE_SIZE - 1);
	d->size = size;
	d->nranges = (unsigned)(size >> DAX_RANGE_SHIFT);
	d->ranges = calloc(d->nranges ? d->nranges : 1, sizeof(*d->ranges));
	return d->ranges ? 0 : -ENOMEM;
}

void vfs_dax_close(struct vfs_client *c)
{
	struct vfs_dax *d = c->dax;

	if (!d)
		return;
	c->fe.dax = NULL;
	dax_frontend_fini(&d->window);
	free(d->ranges);
	free(d);
	c->dax = NULL;
}

bool vfs_dax_enabled(const struct vfs_client *c)
{
	return c->dax && c->dax->nranges && (c->init.flags & FUSE_MAP_ALIGNMENT);
}

uint64_t vfs_dax_window_size(const struct vfs_client *c)
{
	return c->dax ? c->dax->size : 0;
}

void vfs_dax_stats(const struct vfs_client *c, struct vfs_dax_stats *out)
{
	*out = (struct vfs_dax_stats){ 0 };
	if (!c->dax)
		return;
	out->setupmapping = c->dax->setupmapping;
	out->removemapping = c->dax->removemapping;
	out->backend_maps = __atomic_load_n(&c->dax->window.maps, __ATOMIC_RELAXED);
	out->backend_unmaps = __atomic_load_n(&c->dax->window.unmaps, __ATOMIC_RELAXED);
	out->backend_refused = __atomic_load_n(&c->dax->window.refused, __ATOMIC_RELAXED);
}

static int range_remove(struct vfs_client *c, unsigned slot)
{
	struct vfs_dax *d = c->dax;
	struct dax_range *r = &d->ranges[slot];
	struct fuse_removemapping_one one = {
		.moffset = (uint64_t)slot << DAX_RANGE_SHIFT, .len = DAX_RANGE_SIZE,
	};

	d->removemapping++;
	r->used = false;
	dax_frontend_publish(&d->window);
	int err = vfs_removemapping(c, r->nodeid, &one, 1);

	dax_frontend_sync(&d->window);
	return err;
}

static int range_find(const struct vfs_dax *d, uint64_t nodeid, uint64_t index)
{
	const struct dax_range *r = &d->ranges[d->last_hit];

	if (r->used && r->nodeid == nodeid && r->index == index)
		return (int)d->last_hit;
	for (unsigned i = 0; i < d->nranges; i++) {
		r = &d->ranges[i];
		if (r->used && r->nodeid == nodeid && r->index == index)
			return (int)i;
	}
	return -1;
}

/* A free range, or the least recently used one taken back. */
static int range_take(struct vfs_client *c)
{
	struct vfs_dax *d = c->dax;
	unsigned victim = 0;
	int err;

	for (unsigned i = 0; i < d->nranges; i++) {
		if (!d->ranges[i].used)
			return (int)i;
		if (d->ranges[i].last_use < d->ranges[victim].last_use)
			victim = i;
	}
	err = range_remove(c, victim);
	return err ? err : (int)victim;
}

static int range_setup(struct vfs_client *c, unsigned slot, uint64_t nodeid, uint64_t fh,
		       uint64_t index, bool writable)
{
	struct vfs_dax *d = c->dax;
	uint64_t flags = FUSE_SETUPMAPPING_FLAG_READ |
			 (writable ? FUSE_SETUPMAPPING_FLAG_WRITE : 0);
	int err;

	d->setupmapping++;
	dax_frontend_publish(&d->window);
	err = vfs_setupmapping(c, nodeid, fh, index << DAX_RANGE_SHIFT, DAX_RANGE_SIZE, flags,
			       (uint64_t)slot << DAX_RANGE_SHIFT);
	dax_frontend_sync(&d->window);
	if (err) {
		d->ranges[slot].used = false;
		return err;
	}
	d->ranges[slot] = (struct dax_range){
		.used = true, .writable = writable, .nodeid = nodeid, .index = index,
	};
	return 0;
}

/* The window address of file offset 'offset', mapped (writable if asked). */
static int range_get(struct vfs_client *c, uint64_t nodeid, uint64_t fh, uint64_t offset,
		     bool writable, uint8_t **addr)
{
	struct vfs_dax *d = c->dax;
	uint64_t index = offset >> DAX_RANGE_SHIFT;
	int slot = range_find(d, nodeid, index);
	int err;

	if (slot < 0) {
		slot = range_take(c);
		if (slot < 0)
			return slot;
		err = range_setup(c, (unsigned)slot, nodeid, fh, index, writable);
		if (err)
			return err;
	} else if (writable && !d->ranges[slot].writable) {
		/* Linux upgrades in place: the same range mapped again. */
		err = range_setup(c, (unsigned)slot, nodeid, fh, index, true);
		if (err)
			return err;
	}
	d->ranges[slot].last_use = ++d->clock;
	d->last_hit = (unsigned)slot;
	*addr = d->window.base + ((uint64_t)slot << DAX_RANGE_SHIFT) +
		(offset & (DAX_RANGE_SIZE - 1));
	return 0;
}

ssize_t vfs_dax_read(struct vfs_client *c, uint64_t nodeid, uint64_t fh,
		     uint64_t file_size, uint64_t offset, void *buf, size_t size)
{
	size_t done = 0;

	if (!vfs_dax_enabled(c))
		return -ENOTSUP;
	if (offset >= file_size)
		return 0;
	if (size > file_size - offset)
		size = (size_t)(file_size - offset);
	while (done < size) {
		uint64_t at = offset + done;
		size_t n = (size_t)(DAX_RANGE_SIZE - (at & (DAX_RANGE_SIZE - 1)));
		uint8_t *src;
		int err = range_get(c, nodeid, fh, at, false, &src);

		if (err)
			return done ? (ssize_t)done : err;
		if (n > size - done)
			n = size - done;
		memcpy((uint8_t *)buf + done, src, n);
		done += n;
	}
	return (ssize_t)done;
}

ssize_t vfs_dax_write(struct vfs_client *c, uint64_t nodeid, uint64_t fh,
		      uint64_t *file_size, uint64_t offset, const void *buf, size_t size)
{
	size_t done = 0;

	if (!vfs_dax_enabled(c))
		return -ENOTSUP;
	/* Extending writes through the queue: past EOF a mapping faults. */
	if (offset + size > *file_size) {
		while (done < size) {
			ssize_t n = vfs_write(c, nodeid, fh, offset + done,
					      (const uint8_t *)buf + done, size - done, 0);

			if (n <= 0)
				return done ? (ssize_t)done : (n ? n : -EIO);
			done += (size_t)n;
			if (offset + done > *file_size)
				*file_size = offset + done;
		}
		return (ssize_t)done;
	}
	while (done < size) {
		uint64_t at = offset + done;
		size_t n = (size_t)(DAX_RANGE_SIZE - (at & (DAX_RANGE_SIZE - 1)));
		uint8_t *dst;
		int err = range_get(c, nodeid, fh, at, true, &dst);

		if (err)
			return done ? (ssize_t)done : err;
		if (n > size - done)
			n = size - done;
		memcpy(dst, (const uint8_t *)buf + done, n);
		done += n;
	}
	return (ssize_t)done;
}

int vfs_dax_drop(struct vfs_client *c, uint64_t nodeid)
{
	struct vfs_dax *d = c->dax;
	int first = 0;

	if (!d)
		return 0;
	for (unsigned i = 0; i < d->nranges; i++) {
		if (!d->ranges[i].used || (nodeid && d->ranges[i].nodeid != nodeid))
			continue;
		int err = range_remove(c, i);

		if (err && !first)
			first = err;
	}
	return first;
}

void *vfs_dax_address(struct vfs_client *c, uint64_t nodeid, uint64_t offset)
{
	int slot;

	if (!c->dax || !c->dax->nranges)
		return NULL;
	slot = range_find(c->dax, nodeid, offset >> DAX_RANGE_SHIFT);
	if (slot < 0)
		return NULL;
	return c->dax->window.base + ((uint64_t)slot << DAX_RANGE_SHIFT) +
	       (offset & (DAX_RANGE_SIZE - 1));
}
