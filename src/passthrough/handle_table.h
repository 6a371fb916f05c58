/* handle_table.h: open files and directories by fh. The guest only ever
 * names a handle by the fh value we gave it; an unknown fh is -EBADF and
 * a raw fd from the guest is never used. */
#ifndef VFSD_PT_HANDLE_TABLE_H
#define VFSD_PT_HANDLE_TABLE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum handle_kind {
	HANDLE_FILE,
	HANDLE_DIR,
};

struct pt_handle {
	uint64_t fh;
	int fd;
	enum handle_kind kind;
	uint64_t refcount;	/* under the table lock */
	struct pt_handle *next;
	/* Directories: getdents64 state, serialised per handle. */
	pthread_mutex_t dir_lock;
	char *dir_buf;
};

struct handle_table {
	pthread_mutex_t lock;
	struct pt_handle **buckets;
	size_t nbuckets;	/* power of two */
	size_t count;
	uint64_t next_fh;
};

int handle_table_init(struct handle_table *table);
void handle_table_destroy(struct handle_table *table);
/* Takes ownership of fd (closed on failure). Returns 0 and *fh, or -errno. */
int handle_table_insert(struct handle_table *table, int fd, enum handle_kind kind,
			uint64_t *fh);
/* A referenced handle of that kind, or NULL. Pair with handle_table_put(). */
struct pt_handle *handle_table_get(struct handle_table *table, uint64_t fh,
				   enum handle_kind kind);
void handle_table_put(struct handle_table *table, struct pt_handle *handle);
/* Removes fh from the table (RELEASE); the fd closes with the last user. */
int handle_table_remove(struct handle_table *table, uint64_t fh, enum handle_kind kind);
void handle_table_clear(struct handle_table *table);
size_t handle_table_count(struct handle_table *table);

#endif
