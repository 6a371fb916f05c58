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
	key = (struct inode_key){ .dev = makedev(stx.stx_dev_major, stx.stx_dev_minor),
				  .ino = stx.stx_ino,
				  .mnt_id = (stx.stx_mask & STATX_MNT_ID) ? stx.stx_mnt_id : 0 };
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

static void set_limits(struct passthrough *fs, const struct passthrough_config *config)
{
	uint64_t inodes = config->inode_limit, handles = config->handle_limit;
	struct rlimit rl;

	if (!inodes || !handles) {
		uint64_t di, dh;
		uint64_t nofile = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? (uint64_t)rl.rlim_cur : 1024;

		passthrough_limits_from_rlimit(nofile, &di, &dh);
		if (!inodes)
			inodes = di;
		if (!handles)
			handles = dh;
	}
	if (inodes > SIZE_MAX)
		inodes = SIZE_MAX;
	if (handles > SIZE_MAX)
		handles = SIZE_MAX;
	fs->inodes.limit = (size_t)inodes;
	fs->inodes.fd_budget = &fs->handles;
	fs->handles.limit = (size_t)handles;
	fs->cfg.inode_limit = inodes;
	fs->cfg.handle_limit = handles;
}

void passthrough_get_limits(struct passthrough *fs, uint64_t *inode_limit,
			    uint64_t *handle_limit)
{
	*inode_limit = fs->cfg.inode_limit;
	*handle_limit = fs->cfg.handle_limit;
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
		want |= FUSE_CREATE_SUPP_GROUP | FUSE_HANDLE_KILLPRIV;
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
	return *out ? 0 : -EBADF;
}

void pt_inode_put(struct passthrough *fs, struct pt_inode *inode)
{
	inode_table_put(&fs->inodes, inode);
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

void pt_fill_attr(struct fuse_attr *attr, const struct statx *stx)
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
		.uid = stx->stx_uid,
		.gid = stx->stx_gid,
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
	pt_fill_attr(&out->attr, &stx);
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
	pt_fill_attr(&out->attr, stx);
	/* the guest automounts a directory on another host mount */
	if (pt_negotiated(&fs->submounts) && S_ISDIR(stx->stx_mode) && parent &&
	    mnt_id != parent->key.mnt_id)
		out->attr.flags |= FUSE_ATTR_SUBMOUNT;
}

int pt_entry_from_fd(struct passthrough *fs, struct pt_inode *parent, int fd,
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
	key = (struct inode_key){ .dev = makedev(stx.stx_dev_major, stx.stx_dev_minor),
				  .ino = stx.stx_ino,
				  .mnt_id = (stx.stx_mask & STATX_MNT_ID) ? stx.stx_mnt_id : 0 };
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
	int ret = pt_statx(inode->fd, &stx);

	if (ret < 0)
		return ret;
	inode_table_lookup_inode(&fs->inodes, inode);
	fill_entry(fs, parent, inode->nodeid, &stx, out);
	return 0;
}

int pt_do_lookup(struct passthrough *fs, struct pt_inode *parent, const char *name,
		 struct fuse_entry_out *out)
{
	int fd;

	if (!S_ISDIR(parent->type))
		return -ENOTDIR;
	if (!strcmp(name, "."))
		return pt_entry_of_inode(fs, parent, parent, out);
	/* the shared directory's parent is outside: stay at the root */
	if (!strcmp(name, "..") && parent == fs->inodes.root)
		return pt_entry_of_inode(fs, parent, parent, out);
	fd = openat(parent->fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return pt_entry_from_fd(fs, parent, fd, out);
}

int pt_reopen(struct passthrough *fs, struct pt_inode *inode, int flags)
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
	pt_procname(inode->fd, name);
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

int pt_caller_enter(struct passthrough *fs, const struct fs_ctx *ctx, enum cred_rights rights,
		    struct cred_saved *saved)
{
	const struct cred_identity id = { .uid = ctx->uid, .gid = ctx->gid,
					  .groups = ctx->groups, .ngroups = ctx->ngroups };

	*saved = (struct cred_saved){ 0 };
	if (!fs->switch_creds)
		return 0;
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

	*saved = (struct cred_saved){ 0 };
	if (!fs->switch_creds)
		return 0;
	ret = credentials_write_as(ctx->gid, keep_suidgid, saved);
	if (ret < 0)
		log_error_once("cannot write for gid %u: %s", (unsigned)ctx->gid, strerror(-ret));
	return ret;
}

void pt_data_leave(struct cred_saved *saved)
{
	credentials_restore(saved);
}
