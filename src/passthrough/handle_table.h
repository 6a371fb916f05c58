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
	/* Directories: seek + getdents64 are serialised per handle. */
	pthread_mutex_t dir_lock;
	/* Directories, under dir_lock: entries read past the last reply
	 * (passthrough_dir.c), or NULL; charged to dir_ahead_bytes. */
	struct dir_ahead *ahead;
	size_t ahead_size;
};

struct handle_table {
	pthread_mutex_t lock;
	struct pt_handle **buckets;
	size_t nbuckets;	/* power of two */
	size_t count;
	uint64_t next_fh;
	/* Open fds charged to the guest: the handles plus the other fds a
	 * guest can make us keep (POSIX lock owners' files). At most limit
	 * (0: no limit); past it, -EMFILE. */
	size_t charged;
	size_t limit;
	/* Memory the directories' read-ahead holds, at most
	 * HANDLE_DIR_AHEAD_BUDGET: a guest that opens many directories and
	 * lists each in part cannot make it grow without bound. */
	size_t dir_ahead_bytes;
};

#define HANDLE_DIR_AHEAD_BUDGET (16u << 20)

int handle_table_init(struct handle_table *table);
void handle_table_destroy(struct handle_table *table);
/* Takes ownership of fd (closed on failure). Returns 0 and *fh, or
 * -EMFILE at the limit, -ENOMEM. */
int handle_table_insert(struct handle_table *table, int fd, enum handle_kind kind,
			uint64_t *fh);
/* A referenced handle of that kind, or NULL. Pair with handle_table_put(). */
struct pt_handle *handle_table_get(struct handle_table *table, uint64_t fh,
				   enum handle_kind kind);
void handle_table_put(struct handle_table *table, struct pt_handle *handle);
/* Removes fh from the table (RELEASE); the fd closes with the last user. */
int handle_table_remove(struct handle_table *table, uint64_t fh, enum handle_kind kind);
void handle_table_clear(struct handle_table *table);
/* Charges one fd that is not a handle; -EMFILE at the limit. Pair with
 * handle_table_uncharge() when it is closed. */
int handle_table_charge(struct handle_table *table);
void handle_table_uncharge(struct handle_table *table);
/* Whether one more fd would pass the limit now (a hint before opening
 * or creating something; insert and charge decide). */
bool handle_table_full(struct handle_table *table);
size_t handle_table_count(struct handle_table *table);
/* Charges size bytes of directory read-ahead to the table's budget;
 * false (nothing charged) when it would pass HANDLE_DIR_AHEAD_BUDGET. */
bool handle_table_charge_ahead(struct handle_table *table, size_t size);
void handle_table_uncharge_ahead(struct handle_table *table, size_t size);

/* ---- live migration (passthrough_migrate.c) ---- */

/* Every handle, referenced (handle_table_put() each, then free). */
struct pt_handle **handle_table_snapshot(struct handle_table *table, size_t *n);
uint64_t handle_table_next_fh(struct handle_table *table);
void handle_table_reserve_fhs(struct handle_table *table, uint64_t next);
/* Inserts fd under the fh another daemon gave it (fd closed on failure):
 * -EEXIST when taken, -EMFILE at the limit, -EINVAL for fh 0. */
int handle_table_restore(struct handle_table *table, uint64_t fh, int fd, enum handle_kind kind);

#endif
