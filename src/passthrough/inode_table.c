/* inode_table.c: nodeid and host-key maps of the guest-visible inodes.
 * One mutex guards both maps and every inode's counters; callers hold it
 * only for map work, never across a system call (fds are closed after
 * unlocking). */
#include "passthrough/inode_table.h"

#include <errno.h>
#include <linux/fuse.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define INODE_TABLE_MIN_BUCKETS 1024

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

static void inode_free(struct inode_table *table, struct pt_inode *inode)
{
	struct pt_plock *p, *next;

	for (p = inode->plocks; p; p = next) {
		next = p->next;
		close(p->fd);
		free(p);
		if (table->fd_budget)
			handle_table_uncharge(table->fd_budget);
	}
	pthread_mutex_destroy(&inode->plock_mutex);
	if (inode->fd >= 0)
		close(inode->fd);
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
	pthread_mutex_destroy(&table->lock);
}

static struct pt_inode *inode_alloc(uint64_t nodeid, const struct inode_key *key, int fd,
				    mode_t type)
{
	struct pt_inode *inode = calloc(1, sizeof(*inode));

	if (!inode)
		return NULL;
	inode->nodeid = nodeid;
	inode->key = *key;
	inode->fd = fd;
	inode->type = type & S_IFMT;
	inode->nlookup = 1;
	inode->refcount = 1;
	pthread_mutex_init(&inode->plock_mutex, NULL);
	return inode;
}

int inode_table_set_root(struct inode_table *table, int fd, const struct inode_key *key,
			 mode_t type)
{
	struct pt_inode *root = inode_alloc(FUSE_ROOT_ID, key, fd, type);

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

static struct pt_inode *find_by_key(struct inode_table *table, const struct inode_key *key)
{
	struct pt_inode *inode = table->by_key[key_bucket(table, key)];

	while (inode && !key_equal(&inode->key, key))
		inode = inode->next_by_key;
	return inode;
}

static bool full_locked(const struct inode_table *table)
{
	return table->limit && table->count >= table->limit;
}

bool inode_table_full(struct inode_table *table)
{
	bool full;

	pthread_mutex_lock(&table->lock);
	full = full_locked(table);
	pthread_mutex_unlock(&table->lock);
	return full;
}

int inode_table_lookup(struct inode_table *table, const struct inode_key *key, int fd,
		       mode_t type, uint64_t *nodeid)
{
	struct pt_inode *inode, *fresh = NULL;

	pthread_mutex_lock(&table->lock);
	inode = find_by_key(table, key);
	if (inode) {
		inode->nlookup++;
		*nodeid = inode->nodeid;
		pthread_mutex_unlock(&table->lock);
		/* our fd duplicates the one the inode already holds */
		close(fd);
		return 0;
	}
	if (full_locked(table)) {
		/* the host is fine; our table is full until the guest forgets */
		pthread_mutex_unlock(&table->lock);
		close(fd);
		return -ENFILE;
	}
	pthread_mutex_unlock(&table->lock);

	/* allocate outside the lock; nodeids are taken under it */
	fresh = inode_alloc(0, key, fd, type);
	if (!fresh) {
		close(fd);
		return -ENOMEM;
	}
	pthread_mutex_lock(&table->lock);
	inode = find_by_key(table, key);
	if (inode || full_locked(table)) {
		/* another thread inserted the same key, or filled the table */
		if (inode) {
			inode->nlookup++;
			*nodeid = inode->nodeid;
		}
		pthread_mutex_unlock(&table->lock);
		inode_free(table, fresh);
		return inode ? 0 : -ENFILE;
	}
	fresh->nodeid = table->next_nodeid++;
	*nodeid = fresh->nodeid;
	table_link(table, fresh);
	table_grow(table);
	pthread_mutex_unlock(&table->lock);
	return 0;
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

uint64_t inode_table_find_key(struct inode_table *table, const struct inode_key *key)
{
	struct pt_inode *inode;
	uint64_t nodeid;

	pthread_mutex_lock(&table->lock);
	inode = find_by_key(table, key);
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
			int fd, mode_t type, uint64_t nlookup)
{
	struct pt_inode *fresh;
	int ret = 0;

	if (nodeid == 0 || nodeid == FUSE_ROOT_ID || nlookup == 0) {
		close(fd);
		return -EINVAL;
	}
	fresh = inode_alloc(nodeid, key, fd, type);
	if (!fresh) {
		close(fd);
		return -ENOMEM;
	}
	fresh->nlookup = nlookup;
	pthread_mutex_lock(&table->lock);
	if (find_by_id(table, nodeid) || find_by_key(table, key))
		ret = -EEXIST;
	else if (full_locked(table))
		ret = -ENFILE;
	if (!ret) {
		table_link(table, fresh);
		table_grow(table);
		if (table->next_nodeid <= nodeid)
			table->next_nodeid = nodeid + 1;
	}
	pthread_mutex_unlock(&table->lock);
	if (ret)
		inode_free(table, fresh);
	return ret;
}

void inode_table_set_root_nlookup(struct inode_table *table, uint64_t nlookup)
{
	pthread_mutex_lock(&table->lock);
	if (table->root)
		table->root->nlookup = nlookup;
	pthread_mutex_unlock(&table->lock);
}
