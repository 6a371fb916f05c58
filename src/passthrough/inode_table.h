/* inode_table.h: the inodes the guest knows, by nodeid and by host key.
 * An inode holds either an O_PATH|O_NOFOLLOW fd or a file handle of our
 * own making (name_to_handle_at) with the mount to open it on, plus the
 * guest's lookup count and a reference count for operations in flight.
 * Nodeids are handed out once and never reused; a nodeid the guest sends
 * is only a key into the map, never trusted.
 *
 * Inodes held by handle get an O_PATH fd per request from
 * inode_table_fd(): from a bounded LRU of open fds, or opened with
 * open_by_handle_at() (and kept in the LRU when there is room). An fd
 * in use by a request is never closed under it. */
#ifndef VFSD_PT_INODE_TABLE_H
#define VFSD_PT_INODE_TABLE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "passthrough/handle_table.h"
#include "passthrough/mount_table.h"

struct inode_key {
	uint64_t dev;
	uint64_t ino;
	uint64_t mnt_id;
};

/* A file handle as name_to_handle_at() makes it: at most MAX_HANDLE_SZ
 * bytes. Only ever made by us from an fd we opened; never from the guest. */
#define PT_FH_MAX 128
struct pt_fh {
	uint32_t bytes;
	int32_t type;
	unsigned char data[PT_FH_MAX];
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
	/* Without a mount: the O_PATH|O_NOFOLLOW fd, for the inode's life.
	 * Held by handle: the fd cached for it or -1, under the table lock;
	 * requests take it through inode_table_fd() only. */
	int fd;
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
	/* Held by handle: the referenced mount to open it on; NULL for an
	 * inode that holds its own fd. Under the table lock: the requests
	 * using the cached fd and its place in the LRU. */
	struct pt_mount *mount;
	uint32_t fd_users;
	struct pt_inode *lru_prev, *lru_next;
	uint32_t fh_bytes;
	int32_t fh_type;
	unsigned char fh[];	/* fh_bytes: the handle, with the key its identity */
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
	/* Fds the table may hold: its inodes' own fds (the root's included)
	 * plus the LRU's; 0: no cap but limit (every inode holds an fd). */
	size_t fd_limit;
	size_t fd_inodes;	/* inodes in the table holding their own fd */
	/* The LRU of fds of inodes held by handle, most recent first. */
	struct pt_inode *lru_head, *lru_tail;
	size_t cached;
	size_t cache_limit;	/* 0: every request opens its own fd */
	uint64_t cache_hits, cache_misses;
	struct mount_table mounts;
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
/* The same for an inode held by file handle fh on mount (a reference the
 * table takes over, as it does fd: an O_PATH fd of the object, which
 * goes to the LRU if there is room). An inode matches when its key and
 * handle do, or its key does and it holds its own fd (which pins the
 * inode number); an inode number reused after a delete gets a new inode. */
int inode_table_lookup_handle(struct inode_table *table, const struct inode_key *key,
			      const struct pt_fh *fh, struct pt_mount *mount, int fd,
			      mode_t type, uint64_t *nodeid);
/* Whether an inode with key is held by an open fd, without counting a
 * lookup (a hint: it may be gone when the caller acts on it). */
bool inode_table_holds_pinned(struct inode_table *table, const struct inode_key *key);
/* Counts one more lookup of the object with key if the table holds an
 * inode that an open fd of ours pins (its own, or a cached one): the key
 * alone names the object then, and fd (a new fd of it, or -1 for none)
 * is closed.
 * Returns false, fd untouched, when no such inode is there: a lookup of
 * an inode held by handle without a cached fd needs the handle. */
bool inode_table_lookup_pinned(struct inode_table *table, const struct inode_key *key, int fd,
			       uint64_t *nodeid);
/* Whether a new inode would pass a limit now (a hint before creating
 * something on the host; the lookup decides): with fd_backed, one that
 * holds its own fd. */
bool inode_table_full(struct inode_table *table);
bool inode_table_full_for(struct inode_table *table, bool fd_backed);
/* An O_PATH fd of inode for one request, or -errno from
 * open_by_handle_at() (-ESTALE: the file is gone from the host). Pair
 * with inode_table_fd_put(). Costs no system call for an inode holding
 * its own fd or a cached one. */
int inode_table_fd(struct inode_table *table, struct pt_inode *inode);
void inode_table_fd_put(struct inode_table *table, struct pt_inode *inode, int fd);
/* The handle of an inode held by handle, for open_by_handle_at(). */
void inode_table_fh(const struct pt_inode *inode, struct pt_fh *fh);
/* Counts one more lookup of an inode the caller already holds. */
void inode_table_lookup_inode(struct inode_table *table, struct pt_inode *inode);
/* Drops n lookups; the inode leaves the table at zero (never the root). */
void inode_table_forget(struct inode_table *table, uint64_t nodeid, uint64_t n);
/* Forgets every inode but the root (FUSE_DESTROY, unmount). */
void inode_table_forget_all(struct inode_table *table);
size_t inode_table_count(struct inode_table *table);
/* Fds the table holds now: inodes' own and the LRU's. */
size_t inode_table_fds(struct inode_table *table);
void inode_table_cache_stats(struct inode_table *table, uint64_t *hits, uint64_t *misses,
			     size_t *cached);

/* ---- live migration (passthrough_migrate.c) ---- */

/* Every inode, the root first, each referenced (inode_table_put() each,
 * then free the array). NULL with *n = 0 when out of memory. */
struct pt_inode **inode_table_snapshot(struct inode_table *table, size_t *n);
/* The nodeid of the inode with key (held by handle: with fh too, when
 * given), or 0. */
uint64_t inode_table_find_key(struct inode_table *table, const struct inode_key *key,
			      const struct pt_fh *fh);
/* The next nodeid to hand out; reserve_ids moves it to at least next. */
uint64_t inode_table_next_id(struct inode_table *table);
void inode_table_reserve_ids(struct inode_table *table, uint64_t next);
/* Inserts an inode with the nodeid and lookup count another daemon gave
 * it, owning fd, or held by handle fh on mount when fh is given (the
 * mount reference taken over, fd cached if there is room, else closed),
 * as inode_table_lookup*() would. On failure fd is closed and the mount
 * put: -EEXIST when the nodeid or the object is taken, -ENFILE past a
 * limit, -EINVAL for nodeid 0 or the root's or no lookups. */
int inode_table_restore(struct inode_table *table, uint64_t nodeid, const struct inode_key *key,
			const struct pt_fh *fh, struct pt_mount *mount, int fd, mode_t type,
			uint64_t nlookup);
void inode_table_set_root_nlookup(struct inode_table *table, uint64_t nlookup);

#endif
