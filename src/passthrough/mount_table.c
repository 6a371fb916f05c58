/* mount_table.c: the mount fds for open_by_handle_at(), by mount id. */
#include "passthrough/mount_table.h"

#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

void mount_table_init(struct mount_table *table)
{
	*table = (struct mount_table){ 0 };
	pthread_mutex_init(&table->lock, NULL);
}

void mount_table_destroy(struct mount_table *table)
{
	struct pt_mount *m, *next;

	for (m = table->list; m; m = next) {
		next = m->next;
		close(m->fd);
		free(m);
	}
	table->list = NULL;
	table->count = 0;
	pthread_mutex_destroy(&table->lock);
}

static struct pt_mount *find_locked(struct mount_table *table, uint64_t mnt_id)
{
	struct pt_mount *m;

	for (m = table->list; m && m->mnt_id != mnt_id; m = m->next)
		;
	return m;
}

struct pt_mount *mount_table_get(struct mount_table *table, uint64_t mnt_id)
{
	struct pt_mount *m;

	pthread_mutex_lock(&table->lock);
	m = find_locked(table, mnt_id);
	if (m)
		m->refs++;
	pthread_mutex_unlock(&table->lock);
	return m;
}

struct pt_mount *mount_table_add(struct mount_table *table, uint64_t mnt_id, int fd)
{
	struct pt_mount *fresh = malloc(sizeof(*fresh)), *m;

	if (!fresh) {
		close(fd);
		return NULL;
	}
	*fresh = (struct pt_mount){ .mnt_id = mnt_id, .fd = fd, .refs = 1 };
	pthread_mutex_lock(&table->lock);
	m = find_locked(table, mnt_id);
	if (m) {
		m->refs++;
	} else {
		fresh->next = table->list;
		table->list = m = fresh;
		table->count++;
		fresh = NULL;
	}
	pthread_mutex_unlock(&table->lock);
	if (fresh) {
		close(fresh->fd);
		free(fresh);
	}
	return m;
}

void mount_table_ref(struct mount_table *table, struct pt_mount *mount)
{
	pthread_mutex_lock(&table->lock);
	mount->refs++;
	pthread_mutex_unlock(&table->lock);
}

void mount_table_put(struct mount_table *table, struct pt_mount *mount)
{
	struct pt_mount **pp;
	bool last;

	if (!mount)
		return;
	pthread_mutex_lock(&table->lock);
	last = --mount->refs == 0;
	if (last) {
		for (pp = &table->list; *pp != mount; pp = &(*pp)->next)
			;
		*pp = mount->next;
		table->count--;
	}
	pthread_mutex_unlock(&table->lock);
	if (last) {
		close(mount->fd);
		free(mount);
	}
}

size_t mount_table_count(struct mount_table *table)
{
	size_t n;

	pthread_mutex_lock(&table->lock);
	n = table->count;
	pthread_mutex_unlock(&table->lock);
	return n;
}
