/* handle_table.c: fh -> open fd map. fh values count up from 1 and are
 * never reused, so a stale fh from the guest cannot hit a newer file. */
#include "passthrough/handle_table.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#define HANDLE_TABLE_MIN_BUCKETS 256

static size_t fh_bucket(const struct handle_table *table, uint64_t fh)
{
	uint64_t h = fh * 0x9e3779b97f4a7c15ULL;

	return (h >> 32) & (table->nbuckets - 1);
}

static void handle_free(struct handle_table *table, struct pt_handle *handle)
{
	if (handle->ahead) {
		handle_table_uncharge_ahead(table, handle->ahead_size);
		free(handle->ahead);
	}
	if (handle->fd >= 0)
		close(handle->fd);
	pthread_mutex_destroy(&handle->dir_lock);
	free(handle);
}

int handle_table_init(struct handle_table *table)
{
	*table = (struct handle_table){ .nbuckets = HANDLE_TABLE_MIN_BUCKETS, .next_fh = 1 };
	table->buckets = calloc(table->nbuckets, sizeof(*table->buckets));
	if (!table->buckets)
		return -ENOMEM;
	pthread_mutex_init(&table->lock, NULL);
	return 0;
}

void handle_table_destroy(struct handle_table *table)
{
	handle_table_clear(table);
	free(table->buckets);
	table->buckets = NULL;
	pthread_mutex_destroy(&table->lock);
}

static void table_link(struct handle_table *table, struct pt_handle *handle)
{
	size_t b = fh_bucket(table, handle->fh);

	handle->next = table->buckets[b];
	table->buckets[b] = handle;
	table->count++;
}

static bool full_locked(const struct handle_table *table)
{
	return table->limit && table->charged >= table->limit;
}

static void table_grow(struct handle_table *table)
{
	struct pt_handle **old = table->buckets, *handle, *next;
	size_t n = table->nbuckets, i;

	if (table->count < n)
		return;
	table->buckets = calloc(n * 2, sizeof(*table->buckets));
	if (!table->buckets) {
		table->buckets = old;	/* keep going with longer chains */
		return;
	}
	table->nbuckets = n * 2;
	table->count = 0;
	for (i = 0; i < n; i++) {
		for (handle = old[i]; handle; handle = next) {
			next = handle->next;
			table_link(table, handle);
		}
	}
	free(old);
}

int handle_table_insert(struct handle_table *table, int fd, enum handle_kind kind,
			uint64_t *fh)
{
	struct pt_handle *handle;

	if (handle_table_full(table)) {
		close(fd);
		return -EMFILE;
	}
	handle = calloc(1, sizeof(*handle));
	if (!handle) {
		close(fd);
		return -ENOMEM;
	}
	handle->fd = fd;
	handle->kind = kind;
	handle->refcount = 1;
	pthread_mutex_init(&handle->dir_lock, NULL);
	pthread_mutex_lock(&table->lock);
	if (full_locked(table)) {
		pthread_mutex_unlock(&table->lock);
		handle_free(table, handle);
		return -EMFILE;
	}
	table->charged++;
	handle->fh = table->next_fh++;
	*fh = handle->fh;
	table_link(table, handle);
	table_grow(table);
	pthread_mutex_unlock(&table->lock);
	return 0;
}

static struct pt_handle **find_slot(struct handle_table *table, uint64_t fh)
{
	struct pt_handle **pp = &table->buckets[fh_bucket(table, fh)];

	while (*pp && (*pp)->fh != fh)
		pp = &(*pp)->next;
	return pp;
}

struct pt_handle *handle_table_get(struct handle_table *table, uint64_t fh,
				   enum handle_kind kind)
{
	struct pt_handle *handle;

	pthread_mutex_lock(&table->lock);
	handle = *find_slot(table, fh);
	if (handle && handle->kind == kind)
		handle->refcount++;
	else
		handle = NULL;
	pthread_mutex_unlock(&table->lock);
	return handle;
}

void handle_table_put(struct handle_table *table, struct pt_handle *handle)
{
	uint64_t left;

	if (!handle)
		return;
	pthread_mutex_lock(&table->lock);
	left = --handle->refcount;
	pthread_mutex_unlock(&table->lock);
	if (!left)
		handle_free(table, handle);
}

int handle_table_remove(struct handle_table *table, uint64_t fh, enum handle_kind kind)
{
	struct pt_handle **pp, *handle;

	pthread_mutex_lock(&table->lock);
	pp = find_slot(table, fh);
	handle = *pp;
	if (!handle || handle->kind != kind) {
		pthread_mutex_unlock(&table->lock);
		return -EBADF;
	}
	*pp = handle->next;
	table->count--;
	table->charged--;
	pthread_mutex_unlock(&table->lock);
	handle_table_put(table, handle);
	return 0;
}

void handle_table_clear(struct handle_table *table)
{
	struct pt_handle *dead = NULL, *handle, *next;
	size_t i;

	pthread_mutex_lock(&table->lock);
	for (i = 0; i < table->nbuckets; i++) {
		for (handle = table->buckets[i]; handle; handle = next) {
			next = handle->next;
			if (--handle->refcount)
				continue;	/* an operation still uses it */
			handle->next = dead;
			dead = handle;
		}
		table->buckets[i] = NULL;
	}
	table->charged -= table->count;
	table->count = 0;
	pthread_mutex_unlock(&table->lock);
	for (handle = dead; handle; handle = next) {
		next = handle->next;
		handle_free(table, handle);
	}
}

size_t handle_table_count(struct handle_table *table)
{
	size_t n;

	pthread_mutex_lock(&table->lock);
	n = table->count;
	pthread_mutex_unlock(&table->lock);
	return n;
}

int handle_table_charge(struct handle_table *table)
{
	int ret = 0;

	pthread_mutex_lock(&table->lock);
	if (full_locked(table))
		ret = -EMFILE;
	else
		table->charged++;
	pthread_mutex_unlock(&table->lock);
	return ret;
}

void handle_table_uncharge(struct handle_table *table)
{
	pthread_mutex_lock(&table->lock);
	if (table->charged)
		table->charged--;
	pthread_mutex_unlock(&table->lock);
}

bool handle_table_full(struct handle_table *table)
{
	bool full;

	pthread_mutex_lock(&table->lock);
	full = full_locked(table);
	pthread_mutex_unlock(&table->lock);
	return full;
}

/* ---- live migration ---- */

struct pt_handle **handle_table_snapshot(struct handle_table *table, size_t *n)
{
	struct pt_handle **v, *handle;
	size_t i, k = 0;

	pthread_mutex_lock(&table->lock);
	v = malloc((table->count ? table->count : 1) * sizeof(*v));
	for (i = 0; v && i < table->nbuckets; i++) {
		for (handle = table->buckets[i]; handle; handle = handle->next) {
			handle->refcount++;
			v[k++] = handle;
		}
	}
	pthread_mutex_unlock(&table->lock);
	*n = k;
	return v;
}

uint64_t handle_table_next_fh(struct handle_table *table)
{
	uint64_t next;

	pthread_mutex_lock(&table->lock);
	next = table->next_fh;
	pthread_mutex_unlock(&table->lock);
	return next;
}

void handle_table_reserve_fhs(struct handle_table *table, uint64_t next)
{
	pthread_mutex_lock(&table->lock);
	if (table->next_fh < next)
		table->next_fh = next;
	pthread_mutex_unlock(&table->lock);
}

int handle_table_restore(struct handle_table *table, uint64_t fh, int fd, enum handle_kind kind)
{
	struct pt_handle *handle;
	int ret = 0;

	if (fh == 0) {
		close(fd);
		return -EINVAL;
	}
	handle = calloc(1, sizeof(*handle));
	if (!handle) {
		close(fd);
		return -ENOMEM;
	}
	handle->fh = fh;
	handle->fd = fd;
	handle->kind = kind;
	handle->refcount = 1;
	pthread_mutex_init(&handle->dir_lock, NULL);
	pthread_mutex_lock(&table->lock);
	if (*find_slot(table, fh))
		ret = -EEXIST;
	else if (full_locked(table))
		ret = -EMFILE;
	if (!ret) {
		table->charged++;
		table_link(table, handle);
		table_grow(table);
		if (table->next_fh <= fh)
			table->next_fh = fh + 1;
	}
	pthread_mutex_unlock(&table->lock);
	if (ret)
		handle_free(table, handle);
	return ret;
}
bool handle_table_charge_ahead(struct handle_table *table, size_t size)
{
	bool ok;

	pthread_mutex_lock(&table->lock);
	ok = size <= HANDLE_DIR_AHEAD_BUDGET - table->dir_ahead_bytes;
	if (ok)
		table->dir_ahead_bytes += size;
	pthread_mutex_unlock(&table->lock);
	return ok;
}

void handle_table_uncharge_ahead(struct handle_table *table, size_t size)
{
	pthread_mutex_lock(&table->lock);
	table->dir_ahead_bytes -= size;
	pthread_mutex_unlock(&table->lock);
}
