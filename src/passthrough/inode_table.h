/* inode_table.h: the inodes the guest knows, by nodeid and by host key.
 * An inode holds an O_PATH|O_NOFOLLOW fd, the guest's lookup count and a
 * reference count for operations in flight. Nodeids are handed out once
 * and never reused; a nodeid the guest sends is only a key into the map,
 * never trusted. */
#ifndef VFSD_PT_INODE_TABLE_H
#define VFSD_PT_INODE_TABLE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "passthrough/handle_table.h"

struct inode_key {
	uint64_t dev;
	uint64_t ino;
	uint64_t mnt_id;
};

/* One POSIX lock owner's own open file of an inode: POSIX locks belong
 * to an owner, so each owner sets its locks as OFD locks on an open file
 * of its own (passthrough_lock.c). */
struct pt_plock {
	uint64_t owner;		/* the guest's lock_owner */
	int fd;
	uint32_t pid;		/* guest pid given with the owner's last SETLK */
	uint64_t fh;		/* handle of the owner's last SETLK */
	uint64_t refcount;	/* under plock_mutex: one for the list, one per user */
	struct pt_plock *next;
};

struct pt_inode {
	uint64_t nodeid;
	struct inode_key key;
	int fd;			/* O_PATH|O_NOFOLLOW */
	mode_t type;		/* S_IFMT bits, fixed for the inode's life */
	/* Under the table lock: */
	uint64_t nlookup;
	uint64_t refcount;	/* one for being in the table, one per user */
	struct pt_inode *next_by_id;
	struct pt_inode *next_by_key;
	/* POSIX lock owners of this inode; closed when the inode is freed. */
	pthread_mutex_t plock_mutex;
	struct pt_plock *plocks;
	size_t nplocks;		/* length of plocks, at most PT_PLOCK_OWNERS_MAX */
};

struct inode_table {
	pthread_mutex_t lock;
	struct pt_inode **by_id;
	struct pt_inode **by_key;
	size_t buckets;		/* power of two */
	size_t count;
	uint64_t next_nodeid;
	struct pt_inode *root;
	/* Most inodes in the table, the root included; 0: no limit. Bounds
	 * our O_PATH fds and the memory of the maps. */
	size_t limit;
	/* Where POSIX lock owners' files are charged (their fds count as
	 * open handles); NULL when nothing charges them. */
	struct handle_table *fd_budget;
};

int inode_table_init(struct inode_table *table);
/* Frees every inode, the root included. */
void inode_table_destroy(struct inode_table *table);
/* Installs the root (nodeid FUSE_ROOT_ID); takes ownership of fd. */
int inode_table_set_root(struct inode_table *table, int fd, const struct inode_key *key,
			 mode_t type);
/* A referenced inode for nodeid, or NULL when the guest does not know it.
 * Pair with inode_table_put(). */
struct pt_inode *inode_table_get(struct inode_table *table, uint64_t nodeid);
void inode_table_ref(struct inode_table *table, struct pt_inode *inode);
void inode_table_put(struct inode_table *table, struct pt_inode *inode);
/* Counts one more guest lookup of the inode with key. Reuses an inode
 * with the same key (and closes fd) or creates one owning fd.
 * Returns 0 and *nodeid, or with fd closed: -ENFILE when a new inode
 * would pass the limit, -ENOMEM. */
int inode_table_lookup(struct inode_table *table, const struct inode_key *key, int fd,
		       mode_t type, uint64_t *nodeid);
/* Whether a new inode would pass the limit now (a hint before creating
 * something on the host; inode_table_lookup() decides). */
bool inode_table_full(struct inode_table *table);
/* Counts one more lookup of an inode the caller already holds. */
void inode_table_lookup_inode(struct inode_table *table, struct pt_inode *inode);
/* Drops n lookups; the inode leaves the table at zero (never the root). */
void inode_table_forget(struct inode_table *table, uint64_t nodeid, uint64_t n);
/* Forgets every inode but the root (FUSE_DESTROY, unmount). */
void inode_table_forget_all(struct inode_table *table);
size_t inode_table_count(struct inode_table *table);

/* ---- live migration (passthrough_migrate.c) ---- */

/* Every inode, the root first, each referenced (inode_table_put() each,
 * then free the array). NULL with *n = 0 when out of memory. */
struct pt_inode **inode_table_snapshot(struct inode_table *table, size_t *n);
/* The nodeid of the inode with key, or 0. */
uint64_t inode_table_find_key(struct inode_table *table, const struct inode_key *key);
/* The next nodeid to hand out; reserve_ids moves it to at least next. */
uint64_t inode_table_next_id(struct inode_table *table);
void inode_table_reserve_ids(struct inode_table *table, uint64_t next);
/* Inserts an inode with the nodeid and lookup count another daemon gave
 * it (taking fd, closed on failure): -EEXIST when the nodeid or the key
 * is taken, -ENFILE past the limit, -EINVAL for nodeid 0 or the root's. */
int inode_table_restore(struct inode_table *table, uint64_t nodeid, const struct inode_key *key,
			int fd, mode_t type, uint64_t nlookup);
void inode_table_set_root_nlookup(struct inode_table *table, uint64_t nlookup);

#endif
