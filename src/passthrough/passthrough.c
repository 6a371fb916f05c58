/* passthrough.c: lifecycle, INIT, and the helpers every op shares
 * (attribute encoding, lookup, reopening through /proc/self/fd). */
#include "passthrough/passthrough_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "util/log.h"

const struct fs_ops passthrough_ops = {
	.init = pt_init,
	.destroy = pt_destroy,
	.lookup = pt_lookup,
	.forget = pt_forget,
	.getattr = pt_getattr,
	.statx = pt_statx_attr,
	.setattr = pt_setattr,
	.readlink = pt_readlink,
	.symlink = pt_symlink,
	.mknod = pt_mknod,
	.mkdir = pt_mkdir,
	.unlink = pt_unlink,
	.rmdir = pt_rmdir,
	.rename = pt_rename,
	.link = pt_link,
	.open = pt_open,
	.create = pt_create,
	.read = pt_read,
	.write = pt_write,
	.statfs = pt_statfs,
	.release = pt_release,
	.fsync = pt_fsync,
	.flush = pt_flush,
	.setxattr = pt_setxattr,
	.getxattr = pt_getxattr,
	.listxattr = pt_listxattr,
	.removexattr = pt_removexattr,
	.opendir = pt_opendir,
	.readdir = pt_readdir,
	.releasedir = pt_releasedir,
	.fsyncdir = pt_fsyncdir,
	.getlk = pt_getlk,
	.setlk = pt_setlk,
	.access = pt_access,
	.fallocate = pt_fallocate,
	.lseek = pt_lseek,
	.copy_file_range = pt_copy_file_range,
	.syncfs = pt_syncfs,
	.tmpfile = pt_tmpfile,
	.interrupt = pt_interrupt,
	.dax_fd = pt_dax_fd,
};

static uint64_t cache_timeout(enum cache_mode mode)
{
	switch (mode) {
	case CACHE_NEVER:
		return 0;
	case CACHE_AUTO:
		return 1;
	case CACHE_METADATA:
	case CACHE_ALWAYS:
	default:
		return 86400;
	}
}

static struct inode_key key_of(const struct statx *stx)
{
	return (struct inode_key){ .dev = makedev(stx->stx_dev_major, stx->stx_dev_minor),
				   .ino = stx->stx_ino,
				   .mnt_id = (stx->stx_mask & STATX_MNT_ID) ? stx->stx_mnt_id : 0 };
}

/* ---- file handles ---- */

static bool handles_on(const struct passthrough *fs)
{
	return fs->file_handles != INODE_FILE_HANDLES_NEVER;
}

/* The handle of the object fd (O_PATH) is: the very object we opened,
 * not a name resolved again. */
static int fh_make(int fd, struct pt_fh *fh, uint64_t *mnt_id)
{
	union {
		struct file_handle h;
		unsigned char buf[sizeof(struct file_handle) + PT_FH_MAX];
	} u;
	int mnt;

	u.h.handle_bytes = PT_FH_MAX;
	if (name_to_handle_at(fd, "", &u.h, &mnt, AT_EMPTY_PATH) < 0)
		return -errno;
	if (u.h.handle_bytes > PT_FH_MAX)
		return -EOVERFLOW;
	fh->bytes = u.h.handle_bytes;
	fh->type = u.h.handle_type;
	memcpy(fh->data, u.h.f_handle, fh->bytes);
	*mnt_id = (uint64_t)(unsigned)mnt;
	return 0;
}

/* An fd to open handles on: open_by_handle_at() takes the mount of a
 * real open file (not O_PATH). dir_fd (O_PATH or not) is a directory on
 * the mount, or -1 and fd is the object itself: a directory, or a
 * regular file (a file bind mount; opened O_NONBLOCK, so a lease holder
 * cannot make us wait). Nothing else is ever opened. */
static int mount_fd_open(struct passthrough *fs, int dir_fd, int fd, mode_t type)
{
	char name[PT_PROCNAME_MAX];
	int mfd;

	if (dir_fd >= 0 || S_ISDIR(type)) {
		mfd = openat(dir_fd >= 0 ? dir_fd : fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	} else if (S_ISREG(type)) {
		/* the magic link, which O_NOFOLLOW would stop at, is the file */
		pt_procname(fd, name);
		mfd = openat(fs->proc_self_fd, name, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	} else {
		return -EOPNOTSUPP;
	}
	return mfd < 0 ? -errno : mfd;
}

/* Whether fh opens again, on mfd, as the object with key: checks that we
 * may open handles at all (CAP_DAC_READ_SEARCH) and that this file
 * system gives them back. */
static int fh_probe(int mfd, const struct pt_fh *fh, const struct inode_key *key)
{
	union {
		struct file_handle h;
		unsigned char buf[sizeof(struct file_handle) + PT_FH_MAX];
	} u;
	struct statx stx;
	int fd, ret;

	u.h.handle_bytes = fh->bytes;
	u.h.handle_type = fh->type;
	memcpy(u.h.f_handle, fh->data, fh->bytes);
	fd = open_by_handle_at(mfd, &u.h, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = pt_statx(fd, &stx);
	close(fd);
	if (ret == 0 && (key_of(&stx).dev != key->dev || stx.stx_ino != key->ino))
		ret = -EIO;
	return ret;
}

/* A referenced mount entry for mnt_id, opened (and probed with fh, the
 * handle of the object with key) if there is none yet. The mount fd
 * comes from parent when it is on the same mount, else from the object
 * itself: where a lookup crosses into another mount, the object is that
 * mount's root. Returns NULL and *err. */
static struct pt_mount *mount_for(struct passthrough *fs, uint64_t mnt_id,
				  struct pt_inode *parent, int parent_fd, int fd, mode_t type,
				  const struct pt_fh *fh, const struct inode_key *key, int *err)
{
	struct pt_mount *m = mount_table_get(&fs->inodes.mounts, mnt_id);
	bool from_parent = parent && parent_fd >= 0 && parent->key.mnt_id == mnt_id;
	int mfd;

	if (m)
		return m;
	mfd = mount_fd_open(fs, from_parent ? parent_fd : -1, fd, type);
	*err = mfd < 0 ? mfd : fh_probe(mfd, fh, key);
	if (*err < 0) {
		if (mfd >= 0)
			close(mfd);
		return NULL;
	}
	m = mount_table_add(&fs->inodes.mounts, mnt_id, mfd);
	if (!m)
		*err = -ENOMEM;
	else
		log_debug("file handles: mount %llu opened", (unsigned long long)mnt_id);
	return m;
}

/* Says why a mount's files get no handle, once per mount (the first
 * PT_FH_MOUNTS_SAID mounts; a guest cannot make us repeat it). */
#define PT_FH_MOUNTS_SAID 64

static void fh_unusable(struct passthrough *fs, uint64_t mnt_id, int err)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static uint64_t said[PT_FH_MOUNTS_SAID];
	static unsigned nsaid;
	bool say = true;
	unsigned i;

	pthread_mutex_lock(&lock);
	for (i = 0; i < nsaid && say; i++)
		say = said[i] != mnt_id;
	if (say && nsaid < PT_FH_MOUNTS_SAID)
		said[nsaid++] = mnt_id;
	else
		say = false;
	pthread_mutex_unlock(&lock);
	if (!say)
		return;
	if (fs->file_handles == INODE_FILE_HANDLES_MANDATORY)
		log_error("--inode-file-handles=mandatory: no file handle for a file on mount %llu "
			  "(%s): its lookups fail with %s", (unsigned long long)mnt_id,
			  strerror(-err), strerror(EOPNOTSUPP));
	else
		log_info("--inode-file-handles=prefer: no file handle on mount %llu (%s): "
			 "holding O_PATH fds there", (unsigned long long)mnt_id, strerror(-err));
}

/* Counts a lookup of the object behind fd (O_PATH, taken over) as an
 * inode held by handle. Returns 0 and *nodeid, -errno with fd closed, or
 * 1 with fd untouched when the inode should hold fd instead (prefer). */
static int lookup_by_handle(struct passthrough *fs, struct pt_inode *parent, int parent_fd,
			    int fd, const struct statx *stx, const struct inode_key *key,
			    uint64_t *nodeid)
{
	struct pt_mount *m = NULL;
	struct pt_fh fh;
	uint64_t mnt_id = key->mnt_id;
	int ret = fh_make(fd, &fh, &mnt_id);

	/* the key's mount id comes from the same fd: they agree (statx may
	 * not give one on an old kernel, and then the handle's counts) */
	if (ret == 0)
		m = mount_for(fs, mnt_id, parent, parent_fd, fd, stx->stx_mode, &fh, key, &ret);
	if (ret < 0) {
		if (ret == -ENOMEM) {
			close(fd);
			return ret;
		}
		fh_unusable(fs, mnt_id, ret);
		if (fs->file_handles == INODE_FILE_HANDLES_PREFER)
			return 1;
		close(fd);
		return -EOPNOTSUPP;
	}
	return inode_table_lookup_handle(&fs->inodes, key, &fh, m, fd, stx->stx_mode, nodeid);
}

/* Live migration, destination: puts the object behind fd (O_PATH, taken
 * over) in the table as nodeid with nlookup lookups, held the way this
 * daemon holds inodes (by handle with --inode-file-handles where the file
 * system gives one). 0, or -errno with fd closed. */
int pt_inode_restore(struct passthrough *fs, int fd, const struct statx *stx, uint64_t nodeid,
		     uint64_t nlookup)
{
	struct inode_key key = key_of(stx);
	struct pt_mount *m = NULL;
	struct pt_fh fh;
	uint64_t mnt_id = key.mnt_id;
	int ret;

	if (!handles_on(fs))
		return inode_table_restore(&fs->inodes, nodeid, &key, NULL, NULL, fd,
					   stx->stx_mode, nlookup);
	ret = fh_make(fd, &fh, &mnt_id);
	if (ret == 0)
		m = mount_for(fs, mnt_id, NULL, -1, fd, stx->stx_mode, &fh, &key, &ret);
	if (ret < 0 && (ret == -ENOMEM || fs->file_handles == INODE_FILE_HANDLES_MANDATORY)) {
		close(fd);
		return ret == -ENOMEM ? ret : -EOPNOTSUPP;
	}
	if (ret < 0)
		return inode_table_restore(&fs->inodes, nodeid, &key, NULL, NULL, fd,
					   stx->stx_mode, nlookup);
	return inode_table_restore(&fs->inodes, nodeid, &key, &fh, m, fd, stx->stx_mode, nlookup);
}

/* Live migration, source: the file handle of the object behind fd when
 * this daemon holds inodes by handle (to tell an inode held by handle
 * from an older one with the same inode number), else -EOPNOTSUPP. */
int pt_fd_fh(struct passthrough *fs, int fd, struct pt_fh *fh)
{
	uint64_t mnt_id;

	return handles_on(fs) ? fh_make(fd, fh, &mnt_id) : -EOPNOTSUPP;
}

/* At start, with handles asked for: can the shared directory's files be
 * held by handle? Keeps its mount open for life if so. MANDATORY fails
 * the start otherwise; PREFER falls back to fds, everywhere when handles
 * cannot be opened at all (no CAP_DAC_READ_SEARCH). */
static int root_handles(struct passthrough *fs, int root_fd, const struct inode_key *key)
{
	struct pt_fh fh;
	uint64_t mnt_id = key->mnt_id;
	int err = fh_make(root_fd, &fh, &mnt_id);

	if (err == 0)
		fs->root_mount = mount_for(fs, mnt_id, NULL, -1, root_fd, S_IFDIR, &fh, key, &err);
	if (err == 0) {
		log_info("--inode-file-handles: inodes are held by file handle (at most %zu "
			 "inodes, %zu fds of them cached)", fs->inodes.limit, fs->inodes.cache_limit);
		return 0;
	}
	if (fs->file_handles == INODE_FILE_HANDLES_MANDATORY) {
		log_error("--inode-file-handles=mandatory: the shared directory %s gives no usable "
			  "file handle: %s%s", fs->shared_dir, strerror(-err),
			  err == -EPERM ? " (open_by_handle_at needs CAP_DAC_READ_SEARCH)" : "");
		return err;
	}
	if (err == -EPERM) {
		log_warn("--inode-file-handles=prefer: cannot open file handles (%s; "
			 "CAP_DAC_READ_SEARCH is needed): holding O_PATH fds", strerror(-err));
		fs->file_handles = INODE_FILE_HANDLES_NEVER;
	} else {
		log_info("--inode-file-handles=prefer: the shared directory gives no file handle "
			 "(%s): holding O_PATH fds there", strerror(-err));
	}
	return 0;
}

static int root_open(struct passthrough *fs)
{
	struct statx stx;
	struct inode_key key;
	int fd, ret;

	fd = open(fs->shared_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = pt_statx(fd, &stx);
	if (ret < 0) {
		close(fd);
		return ret;
	}
	fs->root_rdonly_fd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fs->root_rdonly_fd < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	key = key_of(&stx);
	if (handles_on(fs)) {
		ret = root_handles(fs, fd, &key);
		if (ret < 0) {
			close(fd);
			return ret;
		}
	}
	/* the root always holds its own fd (the xattr code's cwd) */
	ret = inode_table_set_root(&fs->inodes, fd, &key, stx.stx_mode);
	if (ret < 0)
		close(fd);
	return ret;
}

/* Fds the daemon keeps for itself, outside the guest's budget: the
 * vhost-user socket, kick/call/err eventfds (3 per queue), the VMM's
 * memory region fds (up to 509, twice while a new table replaces the old
 * one), log and /proc fds, and the transient fds of requests in flight
 * (a lookup's new O_PATH fd before the table refuses it, a dup in FLUSH,
 * an fdinfo read, a syncfs reopen). 1/8 of the limit, at least 64 and at
 * most 4096: the whole worst case (~1300) at the default limit (raised
 * to fs.nr_open, 1048576), a proportional share at a small one. */
#define PT_FD_RESERVE_MIN 64
#define PT_FD_RESERVE_MAX 4096
/* RLIMIT_NOFILE cannot pass fs.nr_open (at most INT_MAX); clamp an
 * RLIM_INFINITY anyway. */
#define PT_NOFILE_MAX (1ULL << 31)

void passthrough_limits_from_rlimit(uint64_t nofile, uint64_t *inode_limit,
				    uint64_t *handle_limit)
{
	uint64_t reserve, avail;

	if (nofile > PT_NOFILE_MAX)
		nofile = PT_NOFILE_MAX;
	reserve = nofile / 8;
	if (reserve < PT_FD_RESERVE_MIN)
		reserve = PT_FD_RESERVE_MIN;
	if (reserve > PT_FD_RESERVE_MAX)
		reserve = PT_FD_RESERVE_MAX;
	/* a tiny limit: still serve something, half of it */
	avail = nofile > 2 * reserve ? nofile - reserve : nofile / 2;
	*inode_limit = avail / 4 * 3 + (avail % 4) * 3 / 4;
	*handle_limit = avail - *inode_limit;
	if (*inode_limit < 1)
		*inode_limit = 1;
	if (*handle_limit < 1)
		*handle_limit = 1;
}

/* An inode held by handle costs our memory, not an fd: its struct with
 * the handle inline (at most PT_FH_MAX bytes), the allocator's overhead
 * and two map buckets (each map has up to two per inode after growing).
 * The default cap lets inodes take 1/PT_HANDLE_INODE_MEMORY_SHARE of the
 * host's memory at this worst case; measured, an inode costs about half
 * of it (docs/threat-model.md). */
#define PT_HANDLE_INODE_MEMORY_SHARE 16
#define PT_HANDLE_INODE_BYTES_MAX \
	(sizeof(struct pt_inode) + PT_FH_MAX + 16 + 4 * sizeof(void *))
/* The fd cache's default size, within the inodes' share of the fd
 * budget: the working set of a guest's hot files, not all it holds. */
#define PT_FD_CACHE_DEFAULT 16384

uint64_t passthrough_handle_inode_limit(uint64_t phys_bytes, uint64_t min_limit)
{
	uint64_t limit = phys_bytes / PT_HANDLE_INODE_MEMORY_SHARE / PT_HANDLE_INODE_BYTES_MAX;

	return limit > min_limit ? limit : min_limit;
}

static uint64_t phys_bytes(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);

	return pages > 0 && size > 0 ? (uint64_t)pages * (uint64_t)size : 0;
}

static size_t clamp_size(uint64_t v)
{
	return v > SIZE_MAX ? SIZE_MAX : (size_t)v;
}

/* Without handles every inode holds an fd: the inode cap is the inodes'
 * share of the fd budget. With handles that share bounds the fds the
 * table holds (inodes that fell back to an fd, the root, the fd cache),
 * and the inode cap is memory-based. */
static void set_limits(struct passthrough *fs, const struct passthrough_config *config)
{
	uint64_t inodes = config->inode_limit, handles = config->handle_limit;
	uint64_t di, dh, cache = config->fd_cache_limit;
	struct rlimit rl;
	uint64_t nofile = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? (uint64_t)rl.rlim_cur : 1024;

	passthrough_limits_from_rlimit(nofile, &di, &dh);
	if (!handles)
		handles = dh;
	if (handles_on(fs)) {
		if (!inodes)
			inodes = passthrough_handle_inode_limit(phys_bytes(), di);
		if (!cache)
			cache = di < PT_FD_CACHE_DEFAULT ? di : PT_FD_CACHE_DEFAULT;
		fs->inodes.fd_limit = clamp_size(di);
		fs->inodes.cache_limit = clamp_size(cache);
	} else if (!inodes) {
		inodes = di;
	}
	fs->inodes.limit = clamp_size(inodes);
	fs->inodes.fd_budget = &fs->handles;
	fs->handles.limit = clamp_size(handles);
	fs->cfg.inode_limit = inodes;
	fs->cfg.handle_limit = handles;
	fs->cfg.fd_cache_limit = fs->inodes.cache_limit;
}

void passthrough_get_limits(struct passthrough *fs, uint64_t *inode_limit,
			    uint64_t *handle_limit)
{
	*inode_limit = fs->cfg.inode_limit;
	*handle_limit = fs->cfg.handle_limit;
}

/* A user namespace whose setgroups is "deny" (one mapped without
 * /etc/subgid) refuses setgroups(2) even to its root: then no
 * supplementary group can be taken for a caller. Elsewhere it is
 * "allow" (the initial namespace included). */
static bool setgroups_allowed(struct passthrough *fs)
{
	char buf[16] = "";
	int fd = openat(fs->proc_self_fd, "../setgroups", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return true;	/* a kernel without it has no such namespace */
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n > 0 && strncmp(buf, "deny", 4) == 0) {
		log_info("setgroups is denied in this user namespace: no FUSE_CREATE_SUPP_GROUP");
		return false;
	}
	return true;
}

/* What passthrough_new opens before the tables, and free() itself:
 * released last, by a failed passthrough_new and by passthrough_free. */
static void passthrough_release(struct passthrough *fs)
{
	if (fs->proc_self_fd >= 0)
		close(fs->proc_self_fd);
	if (fs->root_rdonly_fd >= 0)
		close(fs->root_rdonly_fd);
	if (fs->proc_self_fdinfo >= 0)
		close(fs->proc_self_fdinfo);
	pthread_mutex_destroy(&fs->waiters_lock);
	free(fs->lost_nodeids);
	free(fs->lost_fhs);
	free(fs->shared_dir);
	free(fs);
}

struct passthrough *passthrough_new(const struct passthrough_config *config, int *err)
{
	struct passthrough *fs = calloc(1, sizeof(*fs));
	int ret = -ENOMEM;

	if (!fs)
		goto fail;
	fs->proc_self_fd = fs->root_rdonly_fd = fs->proc_self_fdinfo = -1;
	pthread_mutex_init(&fs->waiters_lock, NULL);
	fs->cfg = *config;
	fs->shared_dir = strdup(config->shared_dir ? config->shared_dir : "");
	if (!fs->shared_dir)
		goto fail_free;
	fs->cfg.shared_dir = fs->shared_dir;
	fs->timeout = cache_timeout(config->cache);
	fs->switch_creds = geteuid() == 0;
	fs->uid_map = config->uid_map;
	fs->gid_map = config->gid_map;
	fs->translate = !id_map_is_identity(config->uid_map) ||
			!id_map_is_identity(config->gid_map);
	fs->file_handles = config->file_handles;
	ret = inode_table_init(&fs->inodes);
	if (ret < 0)
		goto fail_free;
	ret = handle_table_init(&fs->handles);
	if (ret < 0)
		goto fail_inodes;
	set_limits(fs, config);
	fs->proc_self_fd = config->proc_self_fd_given ? config->proc_self_fd :
		open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fs->proc_self_fd < 0) {
		ret = -errno;
		log_error("open /proc/self/fd: %s", strerror(-ret));
		goto fail_handles;
	}
	/* optional: without it GETLK reports no pid for a conflict */
	fs->proc_self_fdinfo = openat(fs->proc_self_fd, "../fdinfo",
				      O_PATH | O_DIRECTORY | O_CLOEXEC);
	fs->supp_groups = fs->switch_creds && setgroups_allowed(fs);
	ret = root_open(fs);
	if (ret < 0) {
		log_error("shared directory %s: %s", fs->shared_dir, strerror(-ret));
		goto fail_handles;
	}
	/* a security.capability the guest has under another host name */
	if (config->xattrmap) {
		char caps[XATTR_NAME_MAX + 1];

		if (xattr_map_to_host(config->xattrmap, "security.capability", caps,
				      sizeof(caps)) == 0 &&
		    strcmp(caps, "security.capability") != 0) {
			memcpy(fs->caps_host_name, caps, sizeof(caps));
			log_debug("xattrmap: security.capability is %s on the host", caps);
		}
	}
	return fs;

fail_handles:
	mount_table_put(&fs->inodes.mounts, fs->root_mount);
	handle_table_destroy(&fs->handles);
fail_inodes:
	inode_table_destroy(&fs->inodes);
fail_free:
	passthrough_release(fs);
fail:
	if (err)
		*err = ret;
	return NULL;
}

void passthrough_free(struct passthrough *fs)
{
	if (!fs)
		return;
	/* inodes first: their lock owners' files are charged to handles */
	mount_table_put(&fs->inodes.mounts, fs->root_mount);
	inode_table_destroy(&fs->inodes);
	handle_table_destroy(&fs->handles);
	passthrough_release(fs);
}

int pt_init(void *opaque, struct fs_init *init)
{
	struct passthrough *fs = pt_from(opaque);
	const struct passthrough_config *cfg = &fs->cfg;
	/* SETXATTR_EXT: the guest says when setting an ACL must clear S_ISGID */
	uint64_t want = FUSE_ASYNC_READ | FUSE_PARALLEL_DIROPS | FUSE_EXPORT_SUPPORT |
			FUSE_BIG_WRITES | FUSE_SETXATTR_EXT;

	if (cfg->cache != CACHE_ALWAYS)
		want |= FUSE_AUTO_INVAL_DATA;
	if (cfg->readdirplus)
		want |= FUSE_DO_READDIRPLUS | FUSE_READDIRPLUS_AUTO;
	if (cfg->writeback)
		want |= FUSE_WRITEBACK_CACHE;
	if (cfg->posix_lock)
		want |= FUSE_POSIX_LOCKS;
	if (cfg->flock)
		want |= FUSE_FLOCK_LOCKS;
	if (cfg->announce_submounts)
		want |= FUSE_SUBMOUNTS;
	if (cfg->killpriv_v2)
		want |= FUSE_HANDLE_KILLPRIV_V2;
	if (cfg->allow_mmap)
		want |= FUSE_DIRECT_IO_ALLOW_MMAP;
	/* a create in a setgid or group-writable directory then gets the
	 * group rights the caller has on a local file system */
	/* Killing setuid/setgid on write, truncate and chown is the host's
	 * job for the caller's identity (no CAP_FSETID unless root): with
	 * FUSE_HANDLE_KILLPRIV the guest stops sending the SETATTR that clears
	 * them itself, a request we could not tell from a non-owner's chmod. */
	if (fs->switch_creds)
		want |= FUSE_HANDLE_KILLPRIV;
	if (fs->supp_groups)
		want |= FUSE_CREATE_SUPP_GROUP;
	/* ACLs live in xattrs: without xattr support they cannot work */
	if (cfg->posix_acl && cfg->xattr)
		want |= FUSE_POSIX_ACL | FUSE_DONT_MASK;
	else if (cfg->posix_acl)
		log_warn("posix_acl needs xattr support; not enabling it");

	/* as the Rust virtiofsd: a guest that cannot send the labels asked
	 * for gets no mount, rather than files without them */
	if (cfg->security_label) {
		if (!(init->kernel_flags & FUSE_SECURITY_CTX) || init->proto_minor < 38) {
			log_error("--security-label: the guest offers no FUSE_SECURITY_CTX "
				  "request extension (FUSE 7.38, Linux 6.1)");
			return -EPROTO;
		}
		want |= FUSE_SECURITY_CTX;
	}

	want &= init->kernel_flags;
	/* want_flags arrives holding what the server itself handles (large
	 * requests, extended INIT...): add ours, never replace them. */
	init->want_flags |= want;
	init->time_gran = 1;
	__atomic_store_n(&fs->writeback, (want & FUSE_WRITEBACK_CACHE) != 0, __ATOMIC_RELAXED);
	__atomic_store_n(&fs->dont_mask, (want & FUSE_DONT_MASK) != 0, __ATOMIC_RELAXED);
	__atomic_store_n(&fs->submounts, (want & FUSE_SUBMOUNTS) != 0, __ATOMIC_RELAXED);
	__atomic_store_n(&fs->posix_lock, (want & FUSE_POSIX_LOCKS) != 0, __ATOMIC_RELAXED);
	__atomic_store_n(&fs->killpriv, (want & (FUSE_HANDLE_KILLPRIV | FUSE_HANDLE_KILLPRIV_V2)) != 0,
			 __ATOMIC_RELAXED);
	return 0;
}

void pt_destroy(void *opaque)
{
	struct passthrough *fs = pt_from(opaque);

	handle_table_clear(&fs->handles);
	inode_table_forget_all(&fs->inodes);
}

void pt_procname(int fd, char name[PT_PROCNAME_MAX])
{
	snprintf(name, PT_PROCNAME_MAX, "%d", fd);
}

int pt_inode_get(struct passthrough *fs, uint64_t nodeid, struct pt_inode **out)
{
	*out = inode_table_get(&fs->inodes, nodeid);
	return *out ? 0 : pt_lost_nodeid(fs, nodeid);
}

void pt_inode_put(struct passthrough *fs, struct pt_inode *inode)
{
	inode_table_put(&fs->inodes, inode);
}

int pt_inode_fd(struct passthrough *fs, struct pt_inode *inode)
{
	return inode_table_fd(&fs->inodes, inode);
}

void pt_inode_fd_put(struct passthrough *fs, struct pt_inode *inode, int fd)
{
	inode_table_fd_put(&fs->inodes, inode, fd);
}

int pt_dir_fd(struct passthrough *fs, struct pt_inode *dir)
{
	int fd = inode_table_fd(&fs->inodes, dir);

	return fd == -ESTALE ? -ENOENT : fd;
}

bool pt_inodes_full(struct passthrough *fs, struct pt_inode *parent)
{
	/* a new entry is on its parent's mount: held by handle if the
	 * parent is (or is the root of a mount that gives handles) */
	bool by_handle = handles_on(fs) &&
			 (parent->mount || (parent == fs->inodes.root && fs->root_mount));

	return inode_table_full_for(&fs->inodes, !by_handle);
}

bool pt_name_is_dots(const char *name)
{
	return name[0] == '.' && (!name[1] || (name[1] == '.' && !name[2]));
}

int pt_statx(int fd, struct statx *stx)
{
	if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW | AT_STATX_SYNC_AS_STAT,
		  STATX_BASIC_STATS | STATX_MNT_ID, stx) < 0)
		return -errno;
	return 0;
}

/* The kernel decodes fuse_attr.rdev with new_decode_dev(). */
static uint32_t encode_dev(uint32_t major, uint32_t minor)
{
	return (minor & 0xff) | (major << 8) | ((minor & ~0xffu) << 12);
}

void pt_fill_attr(struct passthrough *fs, struct fuse_attr *attr, const struct statx *stx)
{
	*attr = (struct fuse_attr){
		.ino = stx->stx_ino,
		.size = stx->stx_size,
		.blocks = stx->stx_blocks,
		.atime = stx->stx_atime.tv_sec,
		.mtime = stx->stx_mtime.tv_sec,
		.ctime = stx->stx_ctime.tv_sec,
		.atimensec = stx->stx_atime.tv_nsec,
		.mtimensec = stx->stx_mtime.tv_nsec,
		.ctimensec = stx->stx_ctime.tv_nsec,
		.mode = stx->stx_mode,
		.nlink = stx->stx_nlink,
		.uid = pt_uid_to_guest(fs, stx->stx_uid),
		.gid = pt_gid_to_guest(fs, stx->stx_gid),
		.rdev = encode_dev(stx->stx_rdev_major, stx->stx_rdev_minor),
		.blksize = stx->stx_blksize,
	};
}

int pt_getattr_fd(struct passthrough *fs, int fd, struct fuse_attr_out *out)
{
	struct statx stx;
	int ret = pt_statx(fd, &stx);

	if (ret < 0)
		return ret;
	*out = (struct fuse_attr_out){ .attr_valid = fs->timeout };
	pt_fill_attr(fs, &out->attr, &stx);
	return 0;
}

static void fill_entry(struct passthrough *fs, struct pt_inode *parent, uint64_t nodeid,
		       const struct statx *stx, struct fuse_entry_out *out)
{
	uint64_t mnt_id = (stx->stx_mask & STATX_MNT_ID) ? stx->stx_mnt_id : 0;

	*out = (struct fuse_entry_out){
		.nodeid = nodeid,
		.generation = 0,
		.entry_valid = fs->timeout,
		.attr_valid = fs->timeout,
	};
	pt_fill_attr(fs, &out->attr, stx);
	/* the guest automounts a directory on another host mount */
	if (pt_negotiated(&fs->submounts) && S_ISDIR(stx->stx_mode) && parent &&
	    mnt_id != parent->key.mnt_id)
		out->attr.flags |= FUSE_ATTR_SUBMOUNT;
}

int pt_entry_from_fd(struct passthrough *fs, struct pt_inode *parent, int parent_fd, int fd,
		     struct fuse_entry_out *out)
{
	struct inode_key key;
	struct statx stx;
	uint64_t nodeid;
	int ret = pt_statx(fd, &stx);

	if (ret < 0) {
		close(fd);
		return ret;
	}
	key = key_of(&stx);
	/* a hot inode is found by its key alone; others need the handle */
	if (!handles_on(fs))
		ret = 1;
	else if (inode_table_lookup_pinned(&fs->inodes, &key, fd, &nodeid))
		ret = 0;
	else
		ret = lookup_by_handle(fs, parent, parent_fd, fd, &stx, &key, &nodeid);
	if (ret == 1)
		ret = inode_table_lookup(&fs->inodes, &key, fd, stx.stx_mode, &nodeid);
	if (ret < 0)
		return ret;
	fill_entry(fs, parent, nodeid, &stx, out);
	return 0;
}

/* "." (and ".." at the root) name an inode we already hold. */
int pt_entry_of_inode(struct passthrough *fs, struct pt_inode *parent, struct pt_inode *inode,
		      struct fuse_entry_out *out)
{
	struct statx stx;
	int ret, fd = pt_inode_fd(fs, inode);

	if (fd < 0)
		return fd;
	ret = pt_statx(fd, &stx);
	pt_inode_fd_put(fs, inode, fd);
	if (ret < 0)
		return ret;
	inode_table_lookup_inode(&fs->inodes, inode);
	fill_entry(fs, parent, inode->nodeid, &stx, out);
	return 0;
}

/* A name for an inode we hold by an open fd is answered from one statx
 * of the name, without opening it: the held fd pins the object, so its
 * (dev, ino, mnt_id) names nothing else. That is every LOOKUP a guest
 * repeats to revalidate a name (each path walk with --cache=never), and
 * READDIRPLUS of a directory listed before. A name that does not exist
 * ends here too. 1 when the inode is not held that way: open it. */
static int lookup_held(struct passthrough *fs, struct pt_inode *parent, int parent_fd,
		       const char *name, struct fuse_entry_out *out)
{
	struct inode_key key;
	struct statx stx;
	uint64_t nodeid;

	if (statx(parent_fd, name, AT_SYMLINK_NOFOLLOW | AT_STATX_SYNC_AS_STAT,
		  STATX_BASIC_STATS | STATX_MNT_ID, &stx) < 0)
		return -errno;
	key = key_of(&stx);
	if (!inode_table_lookup_pinned(&fs->inodes, &key, -1, &nodeid))
		return 1;
	fill_entry(fs, parent, nodeid, &stx, out);
	return 0;
}

int pt_do_lookup_at(struct passthrough *fs, struct pt_inode *parent, int parent_fd,
		    const char *name, struct fuse_entry_out *out)
{
	return pt_lookup_entry(fs, parent, parent_fd, name, 0, out);
}

int pt_lookup_entry(struct passthrough *fs, struct pt_inode *parent, int parent_fd,
		    const char *name, uint64_t dirent_ino, struct fuse_entry_out *out)
{
	int fd, ret;

	if (!S_ISDIR(parent->type))
		return -ENOTDIR;
	if (!strcmp(name, "."))
		return pt_entry_of_inode(fs, parent, parent, out);
	/* the shared directory's parent is outside: stay at the root */
	if (!strcmp(name, "..") && parent == fs->inodes.root)
		return pt_entry_of_inode(fs, parent, parent, out);
	/* A directory entry's inode number tells an inode we do not hold
	 * without asking the host (a mount point's does not match the key
	 * of what is mounted there: it takes the open path) */
	if (!dirent_ino || inode_table_holds_pinned(&fs->inodes, &(struct inode_key){
			.dev = parent->key.dev, .ino = dirent_ino, .mnt_id = parent->key.mnt_id })) {
		ret = lookup_held(fs, parent, parent_fd, name, out);
		if (ret <= 0)
			return ret;
	}
	fd = openat(parent_fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return pt_entry_from_fd(fs, parent, parent_fd, fd, out);
}

int pt_do_lookup(struct passthrough *fs, struct pt_inode *parent, const char *name,
		 struct fuse_entry_out *out)
{
	int ret, fd;

	if (!S_ISDIR(parent->type))
		return -ENOTDIR;
	fd = pt_dir_fd(fs, parent);
	if (fd < 0)
		return fd;
	ret = pt_do_lookup_at(fs, parent, fd, name, out);
	pt_inode_fd_put(fs, parent, fd);
	return ret;
}

int pt_reopen(struct passthrough *fs, struct pt_inode *inode, int flags)
{
	int ret, fd;

	if (S_ISLNK(inode->type))
		return -ELOOP;
	if (!S_ISREG(inode->type) && !S_ISDIR(inode->type))
		return -ENXIO;
	fd = pt_inode_fd(fs, inode);
	if (fd < 0)
		return fd;
	ret = pt_reopen_fd(fs, inode, fd, flags);
	pt_inode_fd_put(fs, inode, fd);
	return ret;
}

int pt_reopen_fd(struct passthrough *fs, struct pt_inode *inode, int path_fd, int flags)
{
	char name[PT_PROCNAME_MAX];
	int fd;

	/* Opening a FIFO, socket or device for the guest would let it block
	 * or drive host devices (CVE-2020-35517); the guest kernel serves
	 * those itself. */
	if (S_ISLNK(inode->type))
		return -ELOOP;
	if (!S_ISREG(inode->type) && !S_ISDIR(inode->type))
		return -ENXIO;
	pt_procname(path_fd, name);
	/* O_NOFOLLOW would stop at the magic link itself */
	flags &= ~(O_NOFOLLOW | O_CREAT | O_EXCL | O_PATH);
	fd = openat(fs->proc_self_fd, name, flags | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int pt_open_flags(struct passthrough *fs, uint32_t flags)
{
	int allowed = O_ACCMODE | O_APPEND | O_DSYNC | O_SYNC | O_TRUNC;
	int out;

	if (fs->cfg.allow_direct_io)
		allowed |= O_DIRECT;
	/* Without --preserve-noatime the host's atime follows every read,
	 * as with the Rust virtiofsd, which drops O_NOATIME because an open
	 * with it fails unless the opener owns the file or has CAP_FOWNER. */
	if (fs->cfg.preserve_noatime)
		allowed |= O_NOATIME;
	out = (int)flags & allowed;
	if (pt_negotiated(&fs->writeback)) {
		/* the guest's page cache may read back pages of a write-only
		 * file, and it positions appends itself */
		if ((out & O_ACCMODE) == O_WRONLY)
			out = (out & ~O_ACCMODE) | O_RDWR;
		out &= ~O_APPEND;
	}
	return out | O_CLOEXEC;
}

uint32_t pt_fopen_flags(struct passthrough *fs, bool dir)
{
	switch (fs->cfg.cache) {
	case CACHE_NEVER:
	case CACHE_METADATA:
		return dir ? 0 : FOPEN_DIRECT_IO;
	case CACHE_ALWAYS:
		return dir ? FOPEN_CACHE_DIR | FOPEN_KEEP_CACHE : FOPEN_KEEP_CACHE;
	case CACHE_AUTO:
	default:
		return 0;
	}
}

bool pt_caller_is_root(const struct passthrough *fs, const struct fs_ctx *ctx)
{
	uint32_t uid;

	return pt_uid_to_host(fs, ctx->uid, &uid) == 0 && uid == 0;
}

/* The caller's ids on the host; -EPERM when --translate-* forbids one. */
static int caller_host_ids(struct passthrough *fs, const struct fs_ctx *ctx,
			   struct cred_identity *id, gid_t groups[FS_MAX_SUPP_GROUPS])
{
	uint32_t uid, gid;
	unsigned n = ctx->ngroups < FS_MAX_SUPP_GROUPS ? ctx->ngroups : FS_MAX_SUPP_GROUPS;

	if (pt_uid_to_host(fs, ctx->uid, &uid) < 0 || pt_gid_to_host(fs, ctx->gid, &gid) < 0)
		goto forbidden;
	for (unsigned i = 0; i < n; i++) {
		uint32_t g;

		if (pt_gid_to_host(fs, ctx->groups[i], &g) < 0)
			goto forbidden;
		groups[i] = g;
	}
	*id = (struct cred_identity){ .uid = uid, .gid = gid, .groups = groups, .ngroups = n };
	return 0;
forbidden:
	log_debug("uid %u gid %u (or a supplementary group): forbidden by --translate-*",
		  (unsigned)ctx->uid, (unsigned)ctx->gid);
	return -EPERM;
}

int pt_caller_enter(struct passthrough *fs, const struct fs_ctx *ctx, enum cred_rights rights,
		    struct cred_saved *saved)
{
	gid_t groups[FS_MAX_SUPP_GROUPS];
	struct cred_identity id;
	int ret;

	*saved = (struct cred_saved){ 0 };
	ret = caller_host_ids(fs, ctx, &id, groups);
	if (ret < 0 || !fs->switch_creds)
		return ret;
	return credentials_become(&id, rights, saved);
}

void pt_caller_leave(struct cred_saved *saved)
{
	credentials_restore(saved);
}

int pt_creds_enter(struct passthrough *fs, const struct fs_ctx *ctx, uint32_t mask,
		   struct pt_creds *creds)
{
	int ret;

	creds->umask_set = false;
	/* Without FUSE_DONT_MASK the guest applied its umask to mode; the
	 * daemon's own umask must not apply a second time. */
	ret = credentials_umask(pt_negotiated(&fs->dont_mask) ? mask : 0, &creds->old_umask);
	if (ret < 0)
		return ret;
	creds->umask_set = true;
	ret = pt_caller_enter(fs, ctx, CRED_CALLER, &creds->cred);
	if (ret < 0) {
		umask(creds->old_umask);
		creds->umask_set = false;
	}
	return ret;
}

void pt_creds_leave(struct pt_creds *creds)
{
	pt_caller_leave(&creds->cred);
	if (creds->umask_set)
		umask(creds->old_umask);
	creds->umask_set = false;
}

int pt_data_rights(struct passthrough *fs, bool keep_suidgid)
{
	int ret;

	if (!fs->switch_creds)
		return 0;
	ret = credentials_fsetid(keep_suidgid);
	if (ret < 0)
		log_error_once("cannot set CAP_FSETID for a write: %s", strerror(-ret));
	return ret;
}

int pt_data_enter(struct passthrough *fs, const struct fs_ctx *ctx, bool keep_suidgid,
		  struct cred_saved *saved)
{
	int ret;

	uint32_t gid;

	*saved = (struct cred_saved){ 0 };
	if (!fs->switch_creds)
		return 0;
	/* a forbidden gid writes, as a member of no group: the kernel's
	 * overflow gid stands for "no mapping" */
	if (pt_gid_to_host(fs, ctx->gid, &gid) < 0)
		gid = PT_OVERFLOW_GID;
	ret = credentials_write_as(gid, keep_suidgid, saved);
	if (ret < 0)
		log_error_once("cannot write for gid %u: %s", (unsigned)gid, strerror(-ret));
	return ret;
}

void pt_data_leave(struct cred_saved *saved)
{
	credentials_restore(saved);
}
