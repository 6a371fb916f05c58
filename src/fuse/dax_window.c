/* dax_window.c: the table of live window mappings, kept sorted by window
 * offset so that an overlap is found with one binary search. */
#include "fuse/dax_window.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

struct dax_mapping {
	uint64_t win_offset;
	uint64_t len;
	uint64_t nodeid;
	uint64_t fd_offset;
	bool writable;
};

struct dax_window {
	/* Held across backend calls: a mapping exists in the table exactly
	 * when the frontend holds it, and two requests for one range cannot
	 * interleave their map and unmap messages. */
	pthread_mutex_t lock;
	struct dax_backend backend;
	bool attached;
	unsigned max_mappings;
	unsigned count;
	struct dax_mapping *maps;	/* max_mappings entries, sorted */
};

#define DAX_ALIGN_MASK ((UINT64_C(1) << DAX_MAP_ALIGNMENT_SHIFT) - 1)

struct dax_window *dax_window_new(unsigned max_mappings)
{
	struct dax_window *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->max_mappings = max_mappings ? max_mappings : DAX_DEFAULT_MAX_MAPPINGS;
	w->maps = calloc(w->max_mappings, sizeof(*w->maps));
	if (!w->maps || pthread_mutex_init(&w->lock, NULL) != 0) {
		free(w->maps);
		free(w);
		return NULL;
	}
	return w;
}

void dax_window_free(struct dax_window *w)
{
	if (!w)
		return;
	pthread_mutex_destroy(&w->lock);
	free(w->maps);
	free(w);
}

static uint64_t window_size_locked(const struct dax_window *w)
{
	if (!w->attached || !w->backend.window_size)
		return 0;
	return w->backend.window_size(w->backend.opaque);
}

/* Forget every mapping, telling the frontend when one is attached. */
static void window_clear_locked(struct dax_window *w)
{
	for (unsigned i = 0; i < w->count; i++) {
		int err;

		if (!w->attached)
			break;
		err = w->backend.unmap(w->backend.opaque, w->maps[i].win_offset, w->maps[i].len);
		if (err)
			log_warn("dax: unmapping window [%#llx, +%#llx): %d",
				 (unsigned long long)w->maps[i].win_offset,
				 (unsigned long long)w->maps[i].len, err);
	}
	w->count = 0;
}

void dax_window_attach(struct dax_window *w, const struct dax_backend *backend)
{
	pthread_mutex_lock(&w->lock);
	/* The frontend that leaves has dropped its mappings with its window;
	 * a new one starts empty. */
	w->count = 0;
	w->attached = backend != NULL;
	if (backend)
		w->backend = *backend;
	else
		memset(&w->backend, 0, sizeof(w->backend));
	pthread_mutex_unlock(&w->lock);
}

uint64_t dax_window_size(struct dax_window *w)
{
	uint64_t size;

	pthread_mutex_lock(&w->lock);
	size = window_size_locked(w);
	pthread_mutex_unlock(&w->lock);
	return size;
}

void dax_window_reset(struct dax_window *w)
{
	pthread_mutex_lock(&w->lock);
	window_clear_locked(w);
	pthread_mutex_unlock(&w->lock);
}

unsigned dax_window_count(struct dax_window *w)
{
	unsigned n;

	pthread_mutex_lock(&w->lock);
	n = w->count;
	pthread_mutex_unlock(&w->lock);
	return n;
}

int dax_window_check_range(uint64_t window_size, uint64_t win_offset, uint64_t len)
{
	if (len == 0 || (win_offset & DAX_ALIGN_MASK) || (len & DAX_ALIGN_MASK))
		return -EINVAL;
	/* written so that nothing overflows: len <= size, then the offset */
	if (len > window_size || win_offset > window_size - len)
		return -EINVAL;
	return 0;
}

/* Index of the first mapping that ends after win_offset (count if none). */
static unsigned first_ending_after(const struct dax_window *w, uint64_t win_offset)
{
	unsigned lo = 0, hi = w->count;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		const struct dax_mapping *m = &w->maps[mid];

		if (m->win_offset + m->len <= win_offset)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void table_remove(struct dax_window *w, unsigned i)
{
	memmove(&w->maps[i], &w->maps[i + 1], (w->count - i - 1) * sizeof(w->maps[0]));
	w->count--;
}

static void table_insert(struct dax_window *w, unsigned i, const struct dax_mapping *m)
{
	memmove(&w->maps[i + 1], &w->maps[i], (w->count - i) * sizeof(w->maps[0]));
	w->maps[i] = *m;
	w->count++;
}

static int map_locked(struct dax_window *w, int fd, const struct dax_mapping *m)
{
	uint64_t size = window_size_locked(w);
	int err;

	if (size == 0)
		return -ENODEV;
	err = dax_window_check_range(size, m->win_offset, m->len);
	if (err)
		return err;
	unsigned i = first_ending_after(w, m->win_offset);
	bool overlaps = i < w->count && w->maps[i].win_offset < m->win_offset + m->len;

	if (overlaps) {
		if (w->maps[i].win_offset != m->win_offset || w->maps[i].len != m->len)
			return -EINVAL;
		/* The same range again: the frontend must not map over a
		 * mapping (SHMEM_MAP says so), so drop the old one first. */
		err = w->backend.unmap(w->backend.opaque, m->win_offset, m->len);
		table_remove(w, i);
		if (err)
			return err;
	} else if (w->count >= w->max_mappings) {
		return -ENOSPC;
	}
	err = w->backend.map(w->backend.opaque, fd, m->fd_offset, m->win_offset, m->len,
			     m->writable);
	if (err)
		return err;
	table_insert(w, i, m);
	return 0;
}

int dax_window_map(struct dax_window *w, int fd, uint64_t nodeid, uint64_t fd_offset,
		   uint64_t win_offset, uint64_t len, bool writable)
{
	struct dax_mapping m = {
		.win_offset = win_offset, .len = len, .nodeid = nodeid,
		.fd_offset = fd_offset, .writable = writable,
	};
	int err;

	pthread_mutex_lock(&w->lock);
	err = map_locked(w, fd, &m);
	pthread_mutex_unlock(&w->lock);
	return err;
}

int dax_window_unmap(struct dax_window *w, uint64_t win_offset, uint64_t len)
{
	int err = -EINVAL;

	pthread_mutex_lock(&w->lock);
	if (window_size_locked(w) == 0) {
		err = -ENODEV;
		goto out;
	}
	unsigned i = first_ending_after(w, win_offset);

	if (i < w->count && w->maps[i].win_offset == win_offset && w->maps[i].len == len) {
		err = w->backend.unmap(w->backend.opaque, win_offset, len);
		/* Forgotten even when the frontend failed: it has no mapping
		 * we could still rely on, and a retry must not be refused. */
		table_remove(w, i);
	}
out:
	pthread_mutex_unlock(&w->lock);
	return err;
}
