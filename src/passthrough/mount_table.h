/* mount_table.h: one open fd per host mount that holds inodes we keep as
 * file handles. open_by_handle_at() needs an fd on the handle's mount
 * (not O_PATH: the kernel takes the mount from a real open file). Each
 * fd is opened by the passthrough on a directory (or regular file) it
 * reached inside the shared directory, never on a path or fd the guest
 * gave, and closes when the last inode on that mount is forgotten, so a
 * host mount is pinned only while the guest holds something on it. */
#ifndef VFSD_PT_MOUNT_TABLE_H
#define VFSD_PT_MOUNT_TABLE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

struct pt_mount {
	uint64_t mnt_id;
	int fd;			/* O_RDONLY on the mount */
	uint64_t refs;		/* under the table lock: one per inode, one per user */
	struct pt_mount *next;
};

struct mount_table {
	pthread_mutex_t lock;
	struct pt_mount *list;	/* a handful of mounts: a list is enough */
	size_t count;
};

void mount_table_init(struct mount_table *table);
/* Closes every fd; every reference must have been put. */
void mount_table_destroy(struct mount_table *table);
/* A referenced mount for mnt_id, or NULL when none is open. */
struct pt_mount *mount_table_get(struct mount_table *table, uint64_t mnt_id);
/* Takes ownership of fd: a referenced mount for mnt_id, the one already
 * in the table if another thread got there first (fd is then closed), or
 * NULL with fd closed when out of memory. */
struct pt_mount *mount_table_add(struct mount_table *table, uint64_t mnt_id, int fd);
void mount_table_ref(struct mount_table *table, struct pt_mount *mount);
/* Drops a reference; the fd closes with the last one. */
void mount_table_put(struct mount_table *table, struct pt_mount *mount);
size_t mount_table_count(struct mount_table *table);

#endif
