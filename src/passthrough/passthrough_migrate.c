/* passthrough_migrate.c: live migration of the passthrough's state
 * (docs/migration.md).
 *
 * Source (queues stopped, at switch-over): every inode the guest knows is
 * described by where it is now under the shared directory, read from
 * /proc/self/fd (the kernel follows renames), as a tree of (parent
 * record, name) records so that the destination opens one component at
 * a time; directories on the way that the guest does not know become
 * anchor records. In file-handles mode an inode on the shared
 * directory's file system is sent as a file handle instead (with its
 * place in the tree when known, which the destination uses to prove the
 * handle lies inside the share). Open handles go with their open flags,
 * POSIX lock owners with the ranges they hold.
 *
 * Destination: the parsed stream (already checked by mig_parse) is
 * applied to an empty table. Paths are opened with openat(parent, name,
 * O_PATH | O_NOFOLLOW), so no symlink is followed and nothing above the
 * root is reached; a file handle is opened only when allowed, and kept
 * only when it can be shown to lie inside the share. Each inode's type
 * must match, and with --migration-verify-handles its file handle too. */
#include "passthrough/passthrough_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "util/log.h"

/* ---- lost ids (destination, guest-error) ---- */

static bool sorted_has(const uint64_t *v, size_t n, uint64_t key)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid] == key)
			return true;
		if (v[mid] < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

int pt_lost_nodeid(struct passthrough *fs, uint64_t nodeid)
{
	return fs->nlost_nodeids && sorted_has(fs->lost_nodeids, fs->nlost_nodeids, nodeid) ?
		       -EIO : -EBADF;
}

int pt_lost_fh(struct passthrough *fs, uint64_t fh)
{
	return fs->nlost_fhs && sorted_has(fs->lost_fhs, fs->nlost_fhs, fh) ? -EIO : -EBADF;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

uint32_t passthrough_migration_fs_flags(struct passthrough *fs)
{
	return (pt_negotiated(&fs->writeback) ? MIG_FS_WRITEBACK : 0) |
	       (pt_negotiated(&fs->dont_mask) ? MIG_FS_DONT_MASK : 0) |
	       (pt_negotiated(&fs->submounts) ? MIG_FS_SUBMOUNTS : 0) |
	       (pt_negotiated(&fs->posix_lock) ? MIG_FS_POSIX_LOCK : 0) |
	       (pt_negotiated(&fs->killpriv) ? MIG_FS_KILLPRIV : 0);
}

static void key_of(const struct statx *stx, struct inode_key *key)
{
	*key = (struct inode_key){ .dev = makedev(stx->stx_dev_major, stx->stx_dev_minor),
				   .ino = stx->stx_ino,
				   .mnt_id = (stx->stx_mask & STATX_MNT_ID) ? stx->stx_mnt_id : 0 };
}

static bool key_eq(const struct inode_key *a, const struct inode_key *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->mnt_id == b->mnt_id;
}

/* The file handle of an fd, with the mount id it belongs to. */
static int fd_handle(int fd, struct mig_fh *out, int *mount_id)
{
	union {
		struct file_handle fh;
		char buf[sizeof(struct file_handle) + MIG_FH_MAX];
	} u;

	u.fh.handle_bytes = MIG_FH_MAX;
	if (name_to_handle_at(fd, "", &u.fh, mount_id, AT_EMPTY_PATH) < 0)
		return -errno;
	if (u.fh.handle_bytes == 0 || u.fh.handle_bytes > MIG_FH_MAX)
		return -EOVERFLOW;
	out->type = u.fh.handle_type;
	out->bytes = (uint16_t)u.fh.handle_bytes;
	memcpy(out->data, u.fh.f_handle, u.fh.handle_bytes);
	return 0;
}

/* What /proc/self/fd says fd is, NUL-terminated. */
static int fd_path(struct passthrough *fs, int fd, char *buf, size_t size)
{
	char name[PT_PROCNAME_MAX];
	ssize_t n;

	pt_procname(fd, name);
	n = readlinkat(fs->proc_self_fd, name, buf, size - 1);
	if (n < 0)
		return -errno;
	if ((size_t)n >= size - 1)
		return -ENAMETOOLONG;
	buf[n] = '\0';
	return 0;
}

/* Open rel (components separated by '/', each plain) beneath dirfd, one
 * component at a time without following symlinks. An O_PATH fd or -errno. */
static int open_beneath(int dirfd, const char *rel)
{
	char comp[NAME_MAX + 1];
	const char *p = rel;
	int fd = -1, cur = dirfd;

	if (*rel == '\0') {
		fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
		return fd < 0 ? -errno : fd;
	}
	while (*p) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);

		if (!mig_name_ok(p, len) || len > NAME_MAX) {
			fd = -EINVAL;
			break;
		}
		memcpy(comp, p, len);
		comp[len] = '\0';
		fd = openat(cur, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			fd = -errno;
		if (cur != dirfd)
			close(cur);
		cur = -1;
		if (fd < 0)
			break;
		cur = fd;
		p += len;
		if (*p == '/')
			p++;
	}
	if (fd < 0 && cur >= 0 && cur != dirfd)
		close(cur);
	return fd;
}

/* ---- source ---- */

struct path_map {
	size_t *slots;		/* record index + 1; 0 empty */
	size_t mask;
};

struct collector {
	struct passthrough *fs;
	const struct pt_migration_config *cfg;
	struct pt_migration_out *out;
	struct pt_migration_report *rep;
	char **paths;		/* per record: its relative path (owned by out->strings) */
	size_t cap;
	struct path_map map;
	struct inode_key root_key;
	int root_mount_id;
};

static uint64_t str_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 0x100000001b3ULL;
	return h;
}

static int map_grow(struct collector *c)
{
	size_t cap = (c->map.mask + 1) * 2, i;
	size_t *slots = calloc(cap, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (i = 0; i <= c->map.mask; i++) {
		size_t v = c->map.slots[i], j;

		if (!v)
			continue;
		j = str_hash(c->paths[v - 1]) & (cap - 1);
		while (slots[j])
			j = (j + 1) & (cap - 1);
		slots[j] = v;
	}
	free(c->map.slots);
	c->map.slots = slots;
	c->map.mask = cap - 1;
	return 0;
}

/* The record whose path is rel, or -1. */
static long map_find(struct collector *c, const char *rel, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)rel[i]) * 0x100000001b3ULL;
	for (i = h & c->map.mask; c->map.slots[i]; i = (i + 1) & c->map.mask) {
		const char *p = c->paths[c->map.slots[i] - 1];

		if (p && strlen(p) == len && memcmp(p, rel, len) == 0)
			return (long)c->map.slots[i] - 1;
	}
	return -1;
}

static int map_add(struct collector *c, size_t idx)
{
	size_t i;

	if ((c->out->st.ninodes + 1) * 2 > c->map.mask + 1 && map_grow(c))
		return -ENOMEM;
	for (i = str_hash(c->paths[idx]) & c->map.mask; c->map.slots[i]; i = (i + 1) & c->map.mask)
		;
	c->map.slots[i] = idx + 1;
	return 0;
}

/* A new record, its path taking ownership of path (may be NULL). */
static long record_new(struct collector *c, char *path)
{
	struct mig_state *st = &c->out->st;
	size_t idx = st->ninodes;

	if (idx == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 1024;
		struct mig_inode *v = realloc(st->inodes, cap * sizeof(*v));
		char **p;

		if (!v) {
			free(path);
			return -ENOMEM;
		}
		st->inodes = v;
		p = realloc(c->paths, cap * sizeof(*p));
		if (!p) {
			free(path);
			return -ENOMEM;
		}
		c->paths = p;
		c->cap = cap;
	}
	memset(&st->inodes[idx], 0, sizeof(st->inodes[idx]));
	c->paths[idx] = path;
	st->ninodes++;
	if (path && map_add(c, idx))
		return -ENOMEM;
	return (long)idx;
}

/* Point record idx at its place: parent record + last component of its path. */
static void record_place(struct collector *c, size_t idx, size_t parent)
{
	struct mig_inode *in = &c->out->st.inodes[idx];
	const char *path = c->paths[idx], *slash = strrchr(path, '/');

	in->flags |= MIG_REC_PATH;
	in->parent = (uint32_t)parent;
	in->name = slash ? slash + 1 : path;
}

/* The record of the directory at rel[0, len): found, or an anchor made
 * (with its own parents). */
static long dir_record(struct collector *c, const char *rel, size_t len)
{
	long idx = len ? map_find(c, rel, len) : 0, parent;
	const char *slash;
	char *path;

	if (idx >= 0)
		return c->out->st.inodes[idx].type == S_IFDIR &&
		       c->out->st.inodes[idx].how != MIG_HOW_LOST ? idx : -EINVAL;
	slash = memrchr(rel, '/', len);
	parent = dir_record(c, rel, slash ? (size_t)(slash - rel) : 0);
	if (parent < 0)
		return parent;
	path = strndup(rel, len);
	if (!path)
		return -ENOMEM;
	idx = record_new(c, path);
	if (idx < 0)
		return idx;
	c->out->st.inodes[idx].type = S_IFDIR;
	c->out->st.inodes[idx].how = MIG_HOW_PATH;
	record_place(c, (size_t)idx, (size_t)parent);
	c->rep->anchors++;
	return idx;
}

static bool path_plain(const char *rel)
{
	const char *p = rel;

	if (!*rel)
		return false;
	while (*p) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);

		if (!mig_name_ok(p, len))
			return false;
		p += len + (slash ? 1 : 0);
		if (slash && !*p)
			return false;
	}
	return true;
}

/* The path of inode relative to the shared directory (malloc'd), or NULL
 * with *why set. */
static char *inode_rel_path(struct collector *c, struct pt_inode *inode, int fd,
			    const char *root, const char **why)
{
	static const char deleted[] = " (deleted)";
	char buf[PATH_MAX];
	size_t rlen = strlen(root);
	const char *rel;
	struct statx stx;
	bool removed;

	if (pt_statx(fd, &stx) < 0) {
		*why = "cannot stat it";
		return NULL;
	}
	if (stx.stx_nlink == 0) {
		*why = "deleted on the host";
		return NULL;
	}
	if (fd_path(c->fs, fd, buf, sizeof(buf)) < 0) {
		*why = "no path in /proc/self/fd";
		return NULL;
	}
	if (strcmp(root, "/") == 0) {
		rel = buf[0] == '/' ? buf + 1 : NULL;
	} else {
		rel = strncmp(buf, root, rlen) == 0 && buf[rlen] == '/' ? buf + rlen + 1 : NULL;
	}
	if (!rel || !path_plain(rel)) {
		*why = "not under the shared directory any more";
		return NULL;
	}
	/* The kernel names an fd whose name went "<path> (deleted)" even
	 * while another link is left: that path may be another file's (or
	 * nobody's), so it is always resolved again. */
	removed = strlen(rel) > sizeof(deleted) - 1 &&
		  !strcmp(rel + strlen(rel) - (sizeof(deleted) - 1), deleted);
	if (removed || (c->cfg->mode == PT_MIGRATION_FIND_PATHS && c->cfg->confirm_paths)) {
		int found = open_beneath(c->fs->inodes.root->fd, rel);
		struct inode_key k, want = inode->key;
		bool same = false;

		if (found >= 0) {
			if (pt_statx(found, &stx) == 0) {
				key_of(&stx, &k);
				same = key_eq(&k, &want);
			}
			close(found);
		}
		if (!same) {
			*why = removed ? "its name was removed on the host (another link is left)"
				       : "its path leads elsewhere (confirm-paths)";
			return NULL;
		}
	}
	return strdup(rel);
}

static void record_lost(struct collector *c, struct mig_inode *in, const char *why)
{
	in->how = MIG_HOW_LOST;
	in->flags = 0;
	in->reason = why;
	c->rep->inodes_lost++;
	log_warn("migration: inode %llu cannot be described: %s", (unsigned long long)in->nodeid,
		 why);
}

/* One inode the guest knows (not the root). */
static int collect_inode(struct collector *c, struct pt_inode *inode, uint64_t nlookup,
			 const char *root)
{
	struct mig_state *st = &c->out->st;
	const char *why = NULL, *slash;
	struct mig_inode *in;
	struct mig_fh fh;
	int mount_id = -1;
	bool have_fh = false;
	char *rel = NULL;
	long idx, parent = -1;
	/* held by handle, it is opened here: gone from the host, it is lost */
	int fd = inode_table_fd(&c->fs->inodes, inode);

	if (fd >= 0) {
		rel = inode_rel_path(c, inode, fd, root, &why);
		if (c->cfg->mode == PT_MIGRATION_FILE_HANDLES || c->cfg->verify_handles)
			have_fh = fd_handle(fd, &fh, &mount_id) == 0;
		inode_table_fd_put(&c->fs->inodes, inode, fd);
	} else {
		why = fd == -ESTALE ? "deleted on the host" : "it does not open by its handle";
	}
	/* A handle is opened on the root's file system: not across submounts. */
	if (have_fh && inode->key.dev != c->root_key.dev)
		have_fh = false;
	if (rel) {
		idx = map_find(c, rel, strlen(rel));
		if (idx >= 0 && st->inodes[idx].nodeid == 0 && inode->type == S_IFDIR) {
			/* an anchor made for a child turns out to be this directory */
			free(rel);
			rel = NULL;
			c->rep->anchors--;
		} else if (idx >= 0) {
			free(rel);
			rel = NULL;
			why = "its path is another inode's";
			idx = -1;
		} else {
			slash = strrchr(rel, '/');
			parent = dir_record(c, rel, slash ? (size_t)(slash - rel) : 0);
			if (parent == -ENOMEM) {
				free(rel);
				return -ENOMEM;
			}
			if (parent < 0) {
				why = "a directory on its path is not one";
				free(rel);
				rel = NULL;
			} else {
				idx = record_new(c, rel);
				if (idx < 0)
					return (int)idx;
				record_place(c, (size_t)idx, (size_t)parent);
			}
		}
	} else {
		idx = -1;
	}
	if (idx < 0) {
		idx = record_new(c, NULL);
		if (idx < 0)
			return (int)idx;
	}
	in = &st->inodes[idx];
	in->nodeid = inode->nodeid;
	in->nlookup = nlookup;
	in->type = inode->type;
	if (c->cfg->mode == PT_MIGRATION_FILE_HANDLES && have_fh) {
		in->how = MIG_HOW_HANDLE;
		in->flags |= MIG_REC_FH;
		in->fh = fh;
	} else if (in->flags & MIG_REC_PATH) {
		in->how = MIG_HOW_PATH;
		if (have_fh) {
			in->flags |= MIG_REC_FH;
			in->fh = fh;
		}
	} else {
		record_lost(c, in, why ? why : "no way to find it");
		return 0;
	}
	c->rep->inodes++;
	return 0;
}

static int collect_handles(struct collector *c)
{
	struct mig_state *st = &c->out->st;
	struct pt_handle **v;
	size_t n, i;
	int ret = 0;

	v = handle_table_snapshot(&c->fs->handles, &n);
	if (!v)
		return -ENOMEM;
	st->handles = calloc(n ? n : 1, sizeof(*st->handles));
	if (!st->handles)
		ret = -ENOMEM;
	for (i = 0; i < n; i++) {
		struct pt_handle *h = v[i];
		struct inode_key key;
		struct statx stx;
		struct pt_fh pfh;
		uint64_t nodeid = 0;
		int fl;

		if (!ret && pt_statx(h->fd, &stx) == 0) {
			key_of(&stx, &key);
			nodeid = inode_table_find_key(&c->fs->inodes, &key,
						      pt_fd_fh(c->fs, h->fd, &pfh) == 0 ? &pfh : NULL);
		}
		fl = fcntl(h->fd, F_GETFL);
		if (!ret && nodeid && fl >= 0) {
			st->handles[st->nhandles++] = (struct mig_handle){
				.fh = h->fh,
				.nodeid = nodeid,
				.kind = h->kind == HANDLE_DIR ? MIG_HANDLE_DIR : MIG_HANDLE_FILE,
				.flags = (uint32_t)fl & (uint32_t)MIG_OPEN_FLAGS_ALLOWED,
			};
			c->rep->handles++;
		} else if (!ret) {
			c->rep->handles_lost++;
			log_warn("migration: handle %llu: its inode is not in the table, not sent",
				 (unsigned long long)h->fh);
		}
		handle_table_put(&c->fs->handles, h);
	}
	free(v);
	return ret;
}

int passthrough_migration_collect(struct passthrough *fs, const struct pt_migration_config *cfg,
				  struct pt_migration_out *out, struct pt_migration_report *rep)
{
	struct collector c = { .fs = fs, .cfg = cfg, .out = out, .rep = rep };
	struct mig_state *st = &out->st;
	char root[PATH_MAX];
	struct pt_inode **v;
	size_t n = 0, i, lock_cap = 0;
	int ret;

	memset(out, 0, sizeof(*out));
	memset(rep, 0, sizeof(*rep));
	c.map.slots = calloc(1024, sizeof(*c.map.slots));
	c.map.mask = 1023;
	v = inode_table_snapshot(&fs->inodes, &n);
	if (!v || !c.map.slots || n == 0) {
		ret = -ENOMEM;
		goto out;
	}
	ret = fd_path(fs, v[0]->fd, root, sizeof(root));
	if (ret < 0) {
		log_error("migration: no path for the shared directory: %s", strerror(-ret));
		goto out;
	}
	c.root_key = v[0]->key;
	/* record 0: the root */
	ret = (int)record_new(&c, NULL);
	if (ret < 0)
		goto out;
	st->inodes[0] = (struct mig_inode){ .nodeid = 1, .type = S_IFDIR, .how = MIG_HOW_ROOT };
	pthread_mutex_lock(&fs->inodes.lock);
	st->inodes[0].nlookup = v[0]->nlookup;
	pthread_mutex_unlock(&fs->inodes.lock);
	ret = 0;
	for (i = 1; i < n && ret == 0; i++) {
		uint64_t nlookup;

		pthread_mutex_lock(&fs->inodes.lock);
		nlookup = v[i]->nlookup;
		pthread_mutex_unlock(&fs->inodes.lock);
		if (nlookup == 0)
			continue;	/* being forgotten */
		ret = collect_inode(&c, v[i], nlookup, root);
	}
	for (i = 0; i < n && ret == 0; i++)
		ret = pt_plock_collect(fs, v[i], &st->locks, &st->nlocks, &lock_cap);
	rep->lock_owners = st->nlocks;
	if (ret == 0)
		ret = collect_handles(&c);
	st->session.next_nodeid = inode_table_next_id(&fs->inodes);
	st->session.next_fh = handle_table_next_fh(&fs->handles);
	st->session.fs_flags = passthrough_migration_fs_flags(fs);
out:
	for (i = 0; v && i < n; i++)
		inode_table_put(&fs->inodes, v[i]);
	free(v);
	free(c.map.slots);
	out->strings = c.paths;
	out->nstrings = st->ninodes;
	return ret;
}

void passthrough_migration_release(struct pt_migration_out *out)
{
	struct mig_state *st = &out->st;
	size_t i;

	for (i = 0; out->strings && i < out->nstrings; i++)
		free(out->strings[i]);
	free(out->strings);
	for (i = 0; i < st->nlocks; i++)
		free(st->locks[i].ranges);
	free(st->inodes);
	free(st->handles);
	free(st->locks);
	memset(out, 0, sizeof(*out));
}

/* ---- destination ---- */

struct restorer {
	struct passthrough *fs;
	const struct pt_migration_config *cfg;
	const struct mig_state *st;
	struct pt_migration_report *rep;
	int *fds;		/* per record: its O_PATH fd (table-owned for inodes), or -1 */
	bool *owned;		/* per record: fds[i] is ours to close (anchors) */
	struct inode_key root_key;
	char root_path[PATH_MAX];
	uint64_t *lost;
	size_t nlost, lost_cap;
};

/* Whether the directory fd lies under the root: walk ".." up. */
static bool dir_inside(struct restorer *r, int fd)
{
	struct inode_key k, prev = { 0 };
	struct statx stx;
	int cur = fcntl(fd, F_DUPFD_CLOEXEC, 0), up;
	bool inside = false;

	for (int depth = 0; cur >= 0 && depth < 4096; depth++) {
		if (pt_statx(cur, &stx) < 0)
			break;
		key_of(&stx, &k);
		if (key_eq(&k, &r->root_key)) {
			inside = true;
			break;
		}
		if (depth && key_eq(&k, &prev))
			break;	/* the file system's root: never met the share */
		prev = k;
		up = openat(cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
		close(cur);
		cur = up;
	}
	if (cur >= 0)
		close(cur);
	return inside;
}

/* Whether a non-directory opened by handle lies under the root: where the
 * source saw it, where /proc/self/fd says it is, or nowhere at all (a
 * file deleted while open, which only the handle reaches). */
static bool file_inside(struct restorer *r, const struct mig_inode *in, int fd,
			const struct statx *stx)
{
	struct inode_key want, k;
	struct statx s2;
	char buf[PATH_MAX];
	const char *rel = NULL;
	size_t rlen = strlen(r->root_path);
	bool same = false;
	int f;

	key_of(stx, &want);
	if ((in->flags & MIG_REC_PATH) && r->fds[in->parent] >= 0) {
		f = openat(r->fds[in->parent], in->name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (f >= 0) {
			same = pt_statx(f, &s2) == 0 && (key_of(&s2, &k), key_eq(&k, &want));
			close(f);
			if (same)
				return true;
		}
	}
	if (stx->stx_nlink == 0)
		return true;
	if (fd_path(r->fs, fd, buf, sizeof(buf)) < 0)
		return false;
	if (strcmp(r->root_path, "/") == 0)
		rel = buf[0] == '/' ? buf + 1 : NULL;
	else if (strncmp(buf, r->root_path, rlen) == 0 && buf[rlen] == '/')
		rel = buf + rlen + 1;
	if (!rel || !path_plain(rel))
		return false;
	f = open_beneath(r->fs->inodes.root->fd, rel);
	if (f < 0)
		return false;
	same = pt_statx(f, &s2) == 0 && (key_of(&s2, &k), key_eq(&k, &want));
	close(f);
	return same;
}

/* Open record i: an O_PATH fd, or -errno with *why. */
static int open_record(struct restorer *r, size_t i, const char **why)
{
	const struct mig_inode *in = &r->st->inodes[i];
	struct statx stx;
	int fd = -1, mount_id;

	switch (in->how) {
	case MIG_HOW_PATH:
		if (r->fds[in->parent] < 0) {
			*why = "its parent was not found";
			return -ENOENT;
		}
		fd = openat(r->fds[in->parent], in->name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			*why = "its path does not open";
			return -errno;
		}
		break;
	case MIG_HOW_HANDLE: {
		union {
			struct file_handle fh;
			char buf[sizeof(struct file_handle) + MIG_FH_MAX];
		} u;

		if (!r->cfg->open_handles) {
			*why = "a file handle, which this daemon does not open "
			       "(start it with --migration-mode=file-handles)";
			return -EPERM;
		}
		u.fh.handle_bytes = in->fh.bytes;
		u.fh.handle_type = in->fh.type;
		memcpy(u.fh.f_handle, in->fh.data, in->fh.bytes);
		/* the mount fd may not be O_PATH */
		fd = open_by_handle_at(r->fs->root_rdonly_fd, &u.fh, O_PATH | O_CLOEXEC);
		if (fd < 0) {
			*why = "its file handle does not open";
			return -errno;
		}
		break;
	}
	case MIG_HOW_LOST:
		*why = in->reason && *in->reason ? in->reason : "the source lost it";
		return -ENOENT;
	default:
		*why = "record kind unknown";
		return -EINVAL;
	}
	if (pt_statx(fd, &stx) < 0) {
		close(fd);
		*why = "cannot stat it";
		return -EIO;
	}
	if ((stx.stx_mode & S_IFMT) != in->type) {
		close(fd);
		*why = "it is of another type than on the source";
		return -ESTALE;
	}
	if (in->how == MIG_HOW_HANDLE) {
		struct inode_key k;

		key_of(&stx, &k);
		if (k.dev != r->root_key.dev ||
		    !(S_ISDIR(stx.stx_mode) ? dir_inside(r, fd) : file_inside(r, in, fd, &stx))) {
			close(fd);
			*why = "its file handle leads outside the shared directory";
			return -EPERM;
		}
	} else if (in->flags & MIG_REC_FH) {
		struct mig_fh mine;

		if (fd_handle(fd, &mine, &mount_id) < 0 || mine.type != in->fh.type ||
		    mine.bytes != in->fh.bytes || memcmp(mine.data, in->fh.data, mine.bytes)) {
			close(fd);
			*why = "its file handle differs from the source's (verify-handles)";
			return -ESTALE;
		}
	}
	return fd;
}

static int lost_add(struct restorer *r, uint64_t id)
{
	if (r->nlost == r->lost_cap) {
		size_t cap = r->lost_cap ? r->lost_cap * 2 : 16;
		uint64_t *v = realloc(r->lost, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		r->lost = v;
		r->lost_cap = cap;
	}
	r->lost[r->nlost++] = id;
	return 0;
}

/* A record that cannot be brought over: fatal under "abort". */
static int record_failed(struct restorer *r, const struct mig_inode *in, const char *why,
			 int err)
{
	if (in->nodeid == 0)
		return 0;	/* an anchor: its children fail on their own */
	r->rep->inodes_lost++;
	log_warn("migration: inode %llu%s%s: %s", (unsigned long long)in->nodeid,
		 in->name ? " " : "", in->name ? in->name : "", why);
	if (!r->cfg->on_error_guest)
		return err ? err : -EIO;
	return lost_add(r, in->nodeid);
}

static int restore_inodes(struct restorer *r)
{
	const struct mig_state *st = r->st;
	int ret;

	for (size_t i = 1; i < st->ninodes; i++) {
		const struct mig_inode *in = &st->inodes[i];
		const char *why = NULL;
		struct statx stx;
		int fd = open_record(r, i, &why);

		if (fd < 0) {
			ret = record_failed(r, in, why, fd);
			if (ret)
				return ret;
			continue;
		}
		if (in->nodeid == 0) {
			r->fds[i] = fd;
			r->owned[i] = true;
			r->rep->anchors++;
			continue;
		}
		if (pt_statx(fd, &stx) < 0) {
			close(fd);
			ret = record_failed(r, in, "cannot stat it", -EIO);
			if (ret)
				return ret;
			continue;
		}
		/* a directory's fd stays ours for its children: the table may
		 * hold it by handle and let its fd go */
		if (in->type == S_IFDIR) {
			r->fds[i] = fcntl(fd, F_DUPFD_CLOEXEC, 0);
			if (r->fds[i] < 0) {
				ret = -errno;
				close(fd);
				log_error("migration: %s", strerror(-ret));
				return ret;
			}
			r->owned[i] = true;
		}
		ret = pt_inode_restore(r->fs, fd, &stx, in->nodeid, in->nlookup);
		if (ret == -ENOMEM || ret == -ENFILE) {
			log_error("migration: inode table: %s", strerror(-ret));
			return ret;
		}
		if (ret && r->owned[i]) {
			/* its children are not found either, as before it was opened */
			close(r->fds[i]);
			r->fds[i] = -1;
			r->owned[i] = false;
		}
		if (ret) {
			ret = record_failed(r, in, ret == -EEXIST ? "it is the same file as another inode"
					    : "it cannot be held as this daemon holds inodes", ret);
			if (ret)
				return ret;
			continue;
		}
		r->rep->inodes++;
	}
	return 0;
}

static int restore_handles(struct restorer *r)
{
	const struct mig_state *st = r->st;
	uint64_t *lost = NULL;
	size_t nlost = 0;
	int ret = 0;

	lost = calloc(st->nhandles ? st->nhandles : 1, sizeof(*lost));
	if (!lost)
		return -ENOMEM;
	for (size_t i = 0; i < st->nhandles && !ret; i++) {
		const struct mig_handle *h = &st->handles[i];
		struct pt_inode *inode = inode_table_get(&r->fs->inodes, h->nodeid);
		int flags = (int)h->flags, fd;

		if (!r->fs->cfg.allow_direct_io)
			flags &= ~O_DIRECT;
		if (h->kind == MIG_HANDLE_DIR)
			flags = O_RDONLY | O_DIRECTORY;
		fd = inode ? pt_reopen(r->fs, inode, flags) : -ENOENT;
		if (inode && fd >= 0 && h->kind == MIG_HANDLE_DIR && !S_ISDIR(inode->type)) {
			close(fd);
			fd = -ENOTDIR;
		}
		inode_table_put(&r->fs->inodes, inode);
		if (fd >= 0) {
			ret = handle_table_restore(&r->fs->handles, h->fh, fd,
						   h->kind == MIG_HANDLE_DIR ? HANDLE_DIR : HANDLE_FILE);
			if (!ret) {
				r->rep->handles++;
				continue;
			}
			if (ret == -ENOMEM || ret == -EMFILE)
				break;
			fd = ret;
			ret = 0;
		}
		r->rep->handles_lost++;
		log_warn("migration: handle %llu of inode %llu: %s", (unsigned long long)h->fh,
			 (unsigned long long)h->nodeid, strerror(-fd));
		if (!r->cfg->on_error_guest)
			ret = fd;
		else
			lost[nlost++] = h->fh;
	}
	if (!ret && nlost) {
		qsort(lost, nlost, sizeof(*lost), u64_cmp);
		r->fs->lost_fhs = lost;
		r->fs->nlost_fhs = nlost;
		lost = NULL;
	}
	free(lost);
	return ret;
}

static int restore_locks(struct restorer *r)
{
	const struct mig_state *st = r->st;

	for (size_t i = 0; i < st->nlocks; i++) {
		const struct mig_lock_owner *o = &st->locks[i];
		struct pt_inode *inode = inode_table_get(&r->fs->inodes, o->nodeid);
		int ret;

		if (!inode) {
			r->rep->locks_not_retaken += o->nranges;
			continue;
		}
		ret = pt_plock_restore(r->fs, inode, o, &r->rep->locks_retaken,
				       &r->rep->locks_not_retaken);
		inode_table_put(&r->fs->inodes, inode);
		if (ret == 0)
			r->rep->lock_owners++;
		else
			r->rep->locks_not_retaken += o->nranges;
	}
	if (r->rep->locks_not_retaken)
		log_warn("migration: %zu POSIX lock ranges not taken again (held elsewhere, "
			 "e.g. by the source daemon still running)", r->rep->locks_not_retaken);
	return 0;
}

int passthrough_migration_restore(struct passthrough *fs, const struct pt_migration_config *cfg,
				  const struct mig_state *st, struct pt_migration_report *rep)
{
	struct restorer r = { .fs = fs, .cfg = cfg, .st = st, .rep = rep };
	struct statx stx;
	int ret;

	memset(rep, 0, sizeof(*rep));
	if (inode_table_count(&fs->inodes) != 1 || handle_table_count(&fs->handles) != 0) {
		log_error("migration: this daemon already serves inodes: state not loaded");
		return -EBUSY;
	}
	if (st->ninodes == 0 || pt_statx(fs->inodes.root->fd, &stx) < 0)
		return -EINVAL;
	key_of(&stx, &r.root_key);
	if (fd_path(fs, fs->inodes.root->fd, r.root_path, sizeof(r.root_path)) < 0)
		strcpy(r.root_path, "/");
	r.fds = malloc(st->ninodes * sizeof(*r.fds));
	r.owned = calloc(st->ninodes, sizeof(*r.owned));
	if (!r.fds || !r.owned) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < st->ninodes; i++)
		r.fds[i] = -1;
	r.fds[0] = fs->inodes.root->fd;
	inode_table_set_root_nlookup(&fs->inodes, st->inodes[0].nlookup);
	inode_table_reserve_ids(&fs->inodes, st->session.next_nodeid);
	handle_table_reserve_fhs(&fs->handles, st->session.next_fh);

	ret = restore_inodes(&r);
	if (!ret && r.nlost) {
		qsort(r.lost, r.nlost, sizeof(*r.lost), u64_cmp);
		fs->lost_nodeids = r.lost;
		fs->nlost_nodeids = r.nlost;
		r.lost = NULL;
	}
	if (!ret)
		ret = restore_handles(&r);
	if (!ret)
		ret = restore_locks(&r);
out:
	for (size_t i = 0; r.fds && i < st->ninodes; i++)
		if (r.owned && r.owned[i] && r.fds[i] >= 0)
			close(r.fds[i]);
	free(r.fds);
	free(r.owned);
	free(r.lost);
	if (ret) {
		/* nothing of the stream stays: the source goes on */
		handle_table_clear(&fs->handles);
		inode_table_forget_all(&fs->inodes);
		inode_table_set_root_nlookup(&fs->inodes, 1);
		free(fs->lost_nodeids);
		free(fs->lost_fhs);
		fs->lost_nodeids = fs->lost_fhs = NULL;
		fs->nlost_nodeids = fs->nlost_fhs = 0;
	}
	return ret;
}
