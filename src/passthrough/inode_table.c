/* inode_table.c: nodeid and host-key maps of the guest-visible inodes,
 * and the LRU of fds of inodes held by file handle. One mutex guards both
 * maps, every inode's counters and the LRU; callers hold it only for map
 * work, never across a system call (fds are closed after unlocking). */
#include "passthrough/inode_table.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define INODE_TABLE_MIN_BUCKETS 1024
/* How far from the LRU's tail a victim is looked for: entries in use by
 * requests are skipped; past this many, the fd is not cached. */
#define LRU_SCAN_MAX 16

static uint64_t hash_mix(uint64_t x)
{
	/* splitmix64 finaliser: spreads sequential nodeids and inode numbers */
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

static size_t id_bucket(const struct inode_table *table, uint64_t nodeid)
{
	return hash_mix(nodeid) & (table->buckets - 1);
}

static size_t key_bucket(const struct inode_table *table, const struct inode_key *key)
{
	uint64_t h = hash_mix(key->ino);

	h = hash_mix(h ^ key->dev);
	h = hash_mix(h ^ key->mnt_id);
	return h & (table->buckets - 1);
}

static bool key_equal(const struct inode_key *a, const struct inode_key *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->mnt_id == b->mnt_id;
}

/* ---- the LRU of cached fds (under the table lock) ---- */

static void lru_unlink(struct inode_table *table, struct pt_inode *inode)
{
	if (inode->lru_prev)
		inode->lru_prev->lru_next = inode->lru_next;
	else
		table->lru_head = inode->lru_next;
	if (inode->lru_next)
		inode->lru_next->lru_prev = inode->lru_prev;
	else
		table->lru_tail = inode->lru_prev;
	inode->lru_prev = inode->lru_next = NULL;
}

static void lru_push(struct inode_table *table, struct pt_inode *inode)
{
	inode->lru_prev = NULL;
	inode->lru_next = table->lru_head;
	if (table->lru_head)
		table->lru_head->lru_prev = inode;
	else
		table->lru_tail = inode;
	table->lru_head = inode;
}

static void lru_touch(struct inode_table *table, struct pt_inode *inode)
{
	if (table->lru_head != inode) {
		lru_unlink(table, inode);
		lru_push(table, inode);
	}
}

/* Takes the least recently used fd no request is using out of the LRU;
 * returns it (for the caller to close after unlocking) or -1. */
static int lru_evict(struct inode_table *table)
{
	struct pt_inode *victim = table->lru_tail;
	int fd, scanned;

	for (scanned = 0; victim && scanned < LRU_SCAN_MAX; scanned++) {
		if (!victim->fd_users)
			break;
		victim = victim->lru_prev;
	}
	if (!victim || victim->fd_users)
		return -1;
	lru_unlink(table, victim);
	fd = victim->fd;
	victim->fd = -1;
	table->cached--;
	return fd;
}

/* Whether one more fd fits in the LRU: *victim gets an fd to close after
 * unlocking when one had to go for it. */
static bool lru_room(struct inode_table *table, int *victim)
{
	*victim = -1;
	if (!table->cache_limit)
		return false;
	if (table->cached < table->cache_limit &&
	    (!table->fd_limit || table->fd_inodes + table->cached < table->fd_limit))
		return true;
	*victim = lru_evict(table);
	return *victim >= 0;
}

/* Puts fd in the LRU as inode's (held by handle, none cached); false
 * when there is no room and the caller keeps fd. */
static bool lru_install(struct inode_table *table, struct pt_inode *inode, int fd, int users,
			int *victim)
{
	if (!lru_room(table, victim))
		return false;
	inode->fd = fd;
	inode->fd_users = (uint32_t)users;
	lru_push(table, inode);
	table->cached++;
	return true;
}

/* Whether one more inode holding its own fd fits: the LRU gives way. */
static bool fd_room(struct inode_table *table, int *victim)
{
	*victim = -1;
	if (!table->fd_limit)
		return true;
	if (table->fd_inodes >= table->fd_limit)
		return false;
	if (table->fd_inodes + table->cached < table->fd_limit)
		return true;
	*victim = lru_evict(table);
	return *victim >= 0;
}

static void close_if(int fd)
{
	if (fd >= 0)
		close(fd);
}

static void inode_free(struct inode_table *table, struct pt_inode *inode)
{
	struct pt_plock *p, *next;
	int cached = -1;

	for (p = inode->plocks; p; p = next) {
		next = p->next;
		close(p->fd);
		free(p);
		if (table->fd_budget)
			handle_table_uncharge(table->fd_budget);
	}
	pthread_mutex_destroy(&inode->plock_mutex);
	if (inode->mount) {
		/* in the LRU, where another thread may be evicting it */
		pthread_mutex_lock(&table->lock);
		if (inode->fd >= 0) {
			lru_unlink(table, inode);
			table->cached--;
			cached = inode->fd;
			inode->fd = -1;
		}
		pthread_mutex_unlock(&table->lock);
		close_if(cached);
		mount_table_put(&table->mounts, inode->mount);
	} else if (inode->fd >= 0) {
		close(inode->fd);
	}
	free(inode);
}

int inode_table_init(struct inode_table *table)
{
	*table = (struct inode_table){ .buckets = INODE_TABLE_MIN_BUCKETS,
				       .next_nodeid = FUSE_ROOT_ID + 1 };
	table->by_id = calloc(table->buckets, sizeof(*table->by_id));
	table->by_key = calloc(table->buckets, sizeof(*table->by_key));
	if (!table->by_id || !table->by_key) {
		free(table->by_id);
		free(table->by_key);
		return -ENOMEM;
	}
	pthread_mutex_init(&table->lock, NULL);
	mount_table_init(&table->mounts);
	return 0;
}

static void table_link(struct inode_table *table, struct pt_inode *inode)
{
	size_t b = id_bucket(table, inode->nodeid);

	inode->next_by_id = table->by_id[b];
	table->by_id[b] = inode;
	b = key_bucket(table, &inode->key);
	inode->next_by_key = table->by_key[b];
	table->by_key[b] = inode;
	table->count++;
	if (!inode->mount)
		table->fd_inodes++;
}

static void table_unlink(struct inode_table *table, struct pt_inode *inode)
{
	struct pt_inode **pp;

	for (pp = &table->by_id[id_bucket(table, inode->nodeid)]; *pp; pp = &(*pp)->next_by_id) {
		if (*pp == inode) {
			*pp = inode->next_by_id;
			break;
		}
	}
	for (pp = &table->by_key[key_bucket(table, &inode->key)]; *pp; pp = &(*pp)->next_by_key) {
		if (*pp == inode) {
			*pp = inode->next_by_key;
			break;
		}
	}
	table->count--;
	if (!inode->mount)
		table->fd_inodes--;
}

/* Doubles the buckets when the load passes one; on allocation failure the
 * table keeps working with longer chains. */
static void table_grow(struct inode_table *table)
{
	size_t old = table->buckets, i;
	struct pt_inode **by_id, **by_key, **old_id = table->by_id;

	if (table->count < old)
		return;
	by_id = calloc(old * 2, sizeof(*by_id));
	by_key = calloc(old * 2, sizeof(*by_key));
	if (!by_id || !by_key) {
		free(by_id);
		free(by_key);
		return;
	}
	free(table->by_key);
	table->by_id = by_id;
	table->by_key = by_key;
	table->buckets = old * 2;
	table->count = 0;
	table->fd_inodes = 0;
	for (i = 0; i < old; i++) {
		struct pt_inode *inode = old_id[i], *next;

		for (; inode; inode = next) {
			next = inode->next_by_id;
			table_link(table, inode);
		}
	}
	free(old_id);
}

void inode_table_destroy(struct inode_table *table)
{
	size_t i;

	for (i = 0; i < table->buckets; i++) {
		struct pt_inode *inode = table->by_id[i], *next;

		for (; inode; inode = next) {
			next = inode->next_by_id;
			inode_free(table, inode);
		}
	}
	free(table->by_id);
	free(table->by_key);
	table->by_id = table->by_key = NULL;
	table->root = NULL;
	/* the inodes' references are gone; what is left was the caller's */
	mount_table_destroy(&table->mounts);
	pthread_mutex_destroy(&table->lock);
}

/* fh and mount: an inode held by handle (no fd yet); else one owning fd. */
static struct pt_inode *inode_alloc(uint64_t nodeid, const struct inode_key *key, int fd,
				    mode_t type, const struct pt_fh *fh, struct pt_mount *mount)
{
	size_t fh_bytes = fh ? fh->bytes : 0;
	struct pt_inode *inode = calloc(1, offsetof(struct pt_inode, fh) + fh_bytes);

	if (!inode)
		return NULL;
	inode->nodeid = nodeid;
	inode->key = *key;
	inode->fd = fh ? -1 : fd;
	inode->type = type & S_IFMT;
	inode->nlookup = 1;
	inode->refcount = 1;
	if (fh) {
		inode->mount = mount;
		inode->fh_bytes = fh->bytes;
		inode->fh_type = fh->type;
		memcpy(inode->fh, fh->data, fh_bytes);
	}
	pthread_mutex_init(&inode->plock_mutex, NULL);
	return inode;
}

int inode_table_set_root(struct inode_table *table, int fd, const struct inode_key *key,
			 mode_t type)
{
	struct pt_inode *root = inode_alloc(FUSE_ROOT_ID, key, fd, type, NULL, NULL);

	if (!root)
		return -ENOMEM;
	pthread_mutex_lock(&table->lock);
	table_link(table, root);
	table->root = root;
	pthread_mutex_unlock(&table->lock);
	return 0;
}

static struct pt_inode *find_by_id(struct inode_table *table, uint64_t nodeid)
{
	struct pt_inode *inode = table->by_id[id_bucket(table, nodeid)];

	while (inode && inode->nodeid != nodeid)
		inode = inode->next_by_id;
	return inode;
}

struct pt_inode *inode_table_get(struct inode_table *table, uint64_t nodeid)
{
	struct pt_inode *inode;

	pthread_mutex_lock(&table->lock);
	inode = find_by_id(table, nodeid);
	if (inode)
		inode->refcount++;
	pthread_mutex_unlock(&table->lock);
	return inode;
}

void inode_table_ref(struct inode_table *table, struct pt_inode *inode)
{
	pthread_mutex_lock(&table->lock);
	inode->refcount++;
	pthread_mutex_unlock(&table->lock);
}

void inode_table_put(struct inode_table *table, struct pt_inode *inode)
{
	uint64_t left;

	if (!inode)
		return;
	pthread_mutex_lock(&table->lock);
	left = --inode->refcount;
	pthread_mutex_unlock(&table->lock);
	if (!left)
		inode_free(table, inode);
}

static bool fh_equal(const struct pt_inode *inode, const struct pt_fh *fh)
{
	return inode->fh_bytes == fh->bytes && inode->fh_type == fh->type &&
	       !memcmp(inode->fh, fh->data, fh->bytes);
}

/* The inode that is the object with key (and fh when it has one). An
 * inode holding its own fd pins its inode number, so its key names it;
 * one held by handle is that object only if the handle (which carries
 * the inode's generation) matches too. */
static struct pt_inode *find_by_key(struct inode_table *table, const struct inode_key *key,
				    const struct pt_fh *fh)
{
	struct pt_inode *inode = table->by_key[key_bucket(table, key)];

	for (; inode; inode = inode->next_by_key) {
		if (!key_equal(&inode->key, key))
			continue;
		if (!inode->mount || (fh && fh_equal(inode, fh)))
			return inode;
	}
	return NULL;
}

static bool full_locked(const struct inode_table *table, bool fd_backed)
{
	if (table->limit && table->count >= table->limit)
		return true;
	return fd_backed && table->fd_limit && table->fd_inodes >= table->fd_limit;
}

bool inode_table_full_for(struct inode_table *table, bool fd_backed)
{
	bool full;

	pthread_mutex_lock(&table->lock);
	full = full_locked(table, fd_backed);
	pthread_mutex_unlock(&table->lock);
	return full;
}

bool inode_table_full(struct inode_table *table)
{
	return inode_table_full_for(table, true);
}

/* A lookup of an inode already in the table: the new fd goes to the LRU
 * when the inode is held by handle and has none cached, else is closed. */
static void found_locked(struct inode_table *table, struct pt_inode *inode, int *fd,
			 int *victim, uint64_t *nodeid)
{
	inode->nlookup++;
	*nodeid = inode->nodeid;
	if (inode->mount && inode->fd < 0 && *fd >= 0 && lru_install(table, inode, *fd, 0, victim))
		*fd = -1;
}

static int lookup_common(struct inode_table *table, const struct inode_key *key,
			 const struct pt_fh *fh, struct pt_mount *mount, int fd, mode_t type,
			 uint64_t *nodeid)
{
	struct pt_inode *inode, *fresh = NULL;
	int victim = -1, ret = 0;

	pthread_mutex_lock(&table->lock);
	inode = find_by_key(table, key, fh);
	if (inode) {
		found_locked(table, inode, &fd, &victim, nodeid);
		goto out_unlock;
	}
	if (full_locked(table, !fh)) {
		/* the host is fine; our table is full until the guest forgets */
		ret = -ENFILE;
		goto out_unlock;
	}
	pthread_mutex_unlock(&table->lock);

	/* allocate outside the lock; nodeids are taken under it */
	fresh = inode_alloc(0, key, fd, type, fh, mount);
	if (!fresh) {
		ret = -ENOMEM;
		goto out;
	}
	if (!fh)
		fd = -1;	/* the inode owns it now */
	mount = NULL;		/* and the mount reference */
	pthread_mutex_lock(&table->lock);
	inode = find_by_key(table, key, fh);
	if (inode) {
		/* another thread inserted the same object */
		found_locked(table, inode, &fd, &victim, nodeid);
		goto out_unlock;
	}
	if (full_locked(table, !fh) || (!fh && !fd_room(table, &victim))) {
		ret = -ENFILE;
		goto out_unlock;
	}
	fresh->nodeid = table->next_nodeid++;
	*nodeid = fresh->nodeid;
	table_link(table, fresh);
	table_grow(table);
	if (fh && fd >= 0 && lru_install(table, fresh, fd, 0, &victim))
		fd = -1;
	fresh = NULL;
out_unlock:
	pthread_mutex_unlock(&table->lock);
out:
	if (fresh)
		inode_free(table, fresh);
	mount_table_put(&table->mounts, mount);
	close_if(fd);
	close_if(victim);
	return ret;
}

bool inode_table_holds_pinned(struct inode_table *table, const struct inode_key *key)
{
	struct pt_inode *inode;

	pthread_mutex_lock(&table->lock);
	for (inode = table->by_key[key_bucket(table, key)]; inode; inode = inode->next_by_key)
		if (key_equal(&inode->key, key) && inode->fd >= 0)
			break;
	pthread_mutex_unlock(&table->lock);
	return inode != NULL;
}

bool inode_table_lookup_pinned(struct inode_table *table, const struct inode_key *key, int fd,
			       uint64_t *nodeid)
{
	struct pt_inode *inode;

	pthread_mutex_lock(&table->lock);
	for (inode = table->by_key[key_bucket(table, key)]; inode; inode = inode->next_by_key) {
		/* two live objects never share (dev, ino): ours (fd) and the
		 * one the inode's open fd pins are the same */
		if (key_equal(&inode->key, key) && inode->fd >= 0) {
			inode->nlookup++;
			*nodeid = inode->nodeid;
			if (inode->mount)
				lru_touch(table, inode);
			break;
		}
	}
	pthread_mutex_unlock(&table->lock);
	if (inode && fd >= 0)
		close(fd);
	return inode != NULL;
}

int inode_table_lookup(struct inode_table *table, const struct inode_key *key, int fd,
		       mode_t type, uint64_t *nodeid)
{
	return lookup_common(table, key, NULL, NULL, fd, type, nodeid);
}

int inode_table_lookup_handle(struct inode_table *table, const struct inode_key *key,
			      const struct pt_fh *fh, struct pt_mount *mount, int fd,
			      mode_t type, uint64_t *nodeid)
{
	return lookup_common(table, key, fh, mount, fd, type, nodeid);
}

void inode_table_fh(const struct pt_inode *inode, struct pt_fh *fh)
{
	fh->bytes = inode->fh_bytes;
	fh->type = inode->fh_type;
	memcpy(fh->data, inode->fh, inode->fh_bytes);
}

/* open_by_handle_at() of an inode held by handle. */
static int fh_open(const struct pt_inode *inode, int flags)
{
	union {
		struct file_handle fh;
		unsigned char buf[sizeof(struct file_handle) + PT_FH_MAX];
	} h;
	int fd;

	h.fh.handle_bytes = inode->fh_bytes;
	h.fh.handle_type = inode->fh_type;
	memcpy(h.fh.f_handle, inode->fh, inode->fh_bytes);
	fd = open_by_handle_at(inode->mount->fd, &h.fh, flags);
	return fd < 0 ? -errno : fd;
}

int inode_table_fd(struct inode_table *table, struct pt_inode *inode)
{
	int fd, other = -1, victim = -1;

	if (!inode->mount)
		return inode->fd;
	pthread_mutex_lock(&table->lock);
	if (inode->fd >= 0) {
		inode->fd_users++;
		lru_touch(table, inode);
		table->cache_hits++;
		fd = inode->fd;
		pthread_mutex_unlock(&table->lock);
		return fd;
	}
	table->cache_misses++;
	pthread_mutex_unlock(&table->lock);

	fd = fh_open(inode, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return fd;
	pthread_mutex_lock(&table->lock);
	if (inode->fd >= 0) {
		/* another request cached one meanwhile: share it */
		inode->fd_users++;
		other = fd;
		fd = inode->fd;
	} else {
		/* not cached (no room): the request owns fd, put closes it */
		lru_install(table, inode, fd, 1, &victim);
	}
	pthread_mutex_unlock(&table->lock);
	close_if(other);
	close_if(victim);
	return fd;
}

void inode_table_fd_put(struct inode_table *table, struct pt_inode *inode, int fd)
{
	if (!inode->mount || fd < 0)
		return;
	pthread_mutex_lock(&table->lock);
	if (inode->fd == fd) {
		inode->fd_users--;
		fd = -1;
	}
	pthread_mutex_unlock(&table->lock);
	/* an fd of its own, never the cached one: that stays open while used */
	close_if(fd);
}

void inode_table_lookup_inode(struct inode_table *table, struct pt_inode *inode)
{
	pthread_mutex_lock(&table->lock);
	inode->nlookup++;
	pthread_mutex_unlock(&table->lock);
}

/* With the lock held: drops n lookups; returns the inode when its last
 * reference went and the caller must free it after unlocking. */
static struct pt_inode *forget_locked(struct inode_table *table, struct pt_inode *inode,
				      uint64_t n)
{
	inode->nlookup -= n < inode->nlookup ? n : inode->nlookup;
	if (inode->nlookup || inode == table->root)
		return NULL;
	table_unlink(table, inode);
	return --inode->refcount ? NULL : inode;
}

void inode_table_forget(struct inode_table *table, uint64_t nodeid, uint64_t n)
{
	struct pt_inode *inode, *dead = NULL;

	pthread_mutex_lock(&table->lock);
	inode = find_by_id(table, nodeid);
	if (inode)
		dead = forget_locked(table, inode, n);
	pthread_mutex_unlock(&table->lock);
	if (dead)
		inode_free(table, dead);
}

void inode_table_forget_all(struct inode_table *table)
{
	struct pt_inode *dead_list = NULL, *inode, *next;
	size_t i;

	pthread_mutex_lock(&table->lock);
	for (i = 0; i < table->buckets; i++) {
		for (inode = table->by_id[i]; inode; inode = next) {
			struct pt_inode *dead;

			next = inode->next_by_id;
			if (inode == table->root)
				continue;
			dead = forget_locked(table, inode, UINT64_MAX);
			if (dead) {
				/* reuse the unlinked id link for the free list */
				dead->next_by_id = dead_list;
				dead_list = dead;
			}
		}
	}
	pthread_mutex_unlock(&table->lock);
	for (inode = dead_list; inode; inode = next) {
		next = inode->next_by_id;
		inode_free(table, inode);
	}
}

size_t inode_table_count(struct inode_table *table)
{
	size_t n;

	pthread_mutex_lock(&table->lock);
	n = table->count;
	pthread_mutex_unlock(&table->lock);
	return n;
}

size_t inode_table_fds(struct inode_table *table)
{
	size_t n;

	pthread_mutex_lock(&table->lock);
	n = table->fd_inodes + table->cached;
	pthread_mutex_unlock(&table->lock);
	return n;
}

void inode_table_cache_stats(struct inode_table *table, uint64_t *hits, uint64_t *misses,
			     size_t *cached)
{
	pthread_mutex_lock(&table->lock);
	*hits = table->cache_hits;
	*misses = table->cache_misses;
	*cached = table->cached;
	pthread_mutex_unlock(&table->lock);
}

/* ---- live migration ---- */

struct pt_inode **inode_table_snapshot(struct inode_table *table, size_t *n)
{
	struct pt_inode **v, *inode;
	size_t i, k = 0;

	pthread_mutex_lock(&table->lock);
	v = malloc((table->count ? table->count : 1) * sizeof(*v));
	if (v) {
		if (table->root) {
			table->root->refcount++;
			v[k++] = table->root;
		}
		for (i = 0; i < table->buckets; i++) {
			for (inode = table->by_id[i]; inode; inode = inode->next_by_id) {
				if (inode == table->root)
					continue;
				inode->refcount++;
				v[k++] = inode;
			}
		}
	}
	pthread_mutex_unlock(&table->lock);
	*n = k;
	return v;
}

uint64_t inode_table_find_key(struct inode_table *table, const struct inode_key *key,
			      const struct pt_fh *fh)
{
	struct pt_inode *inode;
	uint64_t nodeid;

	pthread_mutex_lock(&table->lock);
	inode = find_by_key(table, key, fh);
	nodeid = inode ? inode->nodeid : 0;
	pthread_mutex_unlock(&table->lock);
	return nodeid;
}

uint64_t inode_table_next_id(struct inode_table *table)
{
	uint64_t next;

	pthread_mutex_lock(&table->lock);
	next = table->next_nodeid;
	pthread_mutex_unlock(&table->lock);
	return next;
}

void inode_table_reserve_ids(struct inode_table *table, uint64_t next)
{
	pthread_mutex_lock(&table->lock);
	if (table->next_nodeid < next)
		table->next_nodeid = next;
	pthread_mutex_unlock(&table->lock);
}

int inode_table_restore(struct inode_table *table, uint64_t nodeid, const struct inode_key *key,
			const struct pt_fh *fh, struct pt_mount *mount, int fd, mode_t type,
			uint64_t nlookup)
{
	struct pt_inode *fresh = NULL;
	int victim = -1, ret = 0;

	if (nodeid == 0 || nodeid == FUSE_ROOT_ID || nlookup == 0) {
		ret = -EINVAL;
		goto out;
	}
	fresh = inode_alloc(nodeid, key, fd, type, fh, mount);
	if (!fresh) {
		ret = -ENOMEM;
		goto out;
	}
	fresh->nlookup = nlookup;
	if (!fh)
		fd = -1;	/* the inode owns it now */
	mount = NULL;		/* and the mount reference */
	pthread_mutex_lock(&table->lock);
	if (find_by_id(table, nodeid) || find_by_key(table, key, fh)) {
		ret = -EEXIST;
	} else if (full_locked(table, !fh) || (!fh && !fd_room(table, &victim))) {
		ret = -ENFILE;
	} else {
		table_link(table, fresh);
		table_grow(table);
		if (table->next_nodeid <= nodeid)
			table->next_nodeid = nodeid + 1;
		if (fh && fd >= 0 && lru_install(table, fresh, fd, 0, &victim))
			fd = -1;
		fresh = NULL;
	}
	pthread_mutex_unlock(&table->lock);
out:
	if (fresh)
		inode_free(table, fresh);
	mount_table_put(&table->mounts, mount);
	close_if(fd);
	close_if(victim);
	return ret;
}

void inode_table_set_root_nlookup(struct inode_table *table, uint64_t nlookup)
{
	pthread_mutex_lock(&table->lock);
	if (table->root)
		table->root->nlookup = nlookup;
	pthread_mutex_unlock(&table->lock);
}
