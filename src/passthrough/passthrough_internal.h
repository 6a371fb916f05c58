/* passthrough_internal.h: state and helpers shared by the passthrough
 * file system's source files. Not for use outside src/passthrough/. */
#ifndef VFSD_PT_INTERNAL_H
#define VFSD_PT_INTERNAL_H

#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "passthrough/credentials.h"
#include "passthrough/handle_table.h"
#include "passthrough/inode_table.h"
#include "passthrough/passthrough.h"

/* A thread blocked in SETLKW, so INTERRUPT can wake it. */
struct lock_waiter {
	uint64_t unique;
	pthread_t thread;
	bool interrupted;
	struct lock_waiter *next;
};

struct passthrough {
	struct passthrough_config cfg;
	char *shared_dir;
	int proc_self_fd;	/* O_PATH of /proc/self/fd, for reopening inodes */
	int proc_self_fdinfo;	/* O_PATH of /proc/self/fdinfo (lock holders), or -1 */
	int root_rdonly_fd;	/* syncfs refuses O_PATH fds */
	uint64_t timeout;	/* entry and attr validity, seconds */
	/* Only root can take the caller's fsuid; an unprivileged daemon
	 * creates everything as itself, like the host would let it. Root
	 * in a user namespace (unprivileged mode with --uid-map) can, over
	 * the ids the namespace maps. */
	bool switch_creds;
	/* Whether a thread may set supplementary groups (not in a user
	 * namespace whose setgroups is "deny"): FUSE_CREATE_SUPP_GROUP then. */
	bool supp_groups;
	/* --translate-uid / --translate-gid, or NULL */
	const struct id_map *uid_map;
	const struct id_map *gid_map;
	/* whether either maps anything: xattr values with ids are
	 * translated only then */
	bool translate;
	struct inode_table inodes;
	struct handle_table handles;
	/* What --inode-file-handles comes to here: NEVER when handles cannot
	 * be opened at all (PREFER without CAP_DAC_READ_SEARCH). */
	enum inode_file_handles file_handles;
	/* The shared directory's mount, held for life when handles work
	 * there; NULL otherwise. */
	struct pt_mount *root_mount;
	/* What INIT negotiated. A guest may send DESTROY and INIT again while
	 * requests on its other queues run: pt_init() stores these atomically,
	 * requests read them with pt_negotiated(). */
	bool writeback;
	bool dont_mask;
	bool submounts;
	bool posix_lock;
	bool killpriv;		/* the guest leaves killing setuid/setgid to us */
	pthread_mutex_t waiters_lock;
	struct lock_waiter *waiters;
	/* Node ids and fhs a migration could not bring over (guest-error):
	 * sorted, set before any queue starts, read-only after. The guest
	 * gets EIO for them rather than EBADF. */
	uint64_t *lost_nodeids;
	size_t nlost_nodeids;
	uint64_t *lost_fhs;
	size_t nlost_fhs;
	/* The host name of a remapped security.capability, "" when it is not
	 * remapped: then the host kernel drops it on write, truncate and
	 * chown, else we must (pt_kill_mapped_caps). */
	char caps_host_name[XATTR_NAME_MAX + 1];
};

static inline struct passthrough *pt_from(void *fs)
{
	return fs;
}

static inline bool pt_negotiated(const bool *flag)
{
	return __atomic_load_n(flag, __ATOMIC_RELAXED);
}

/* "<fd>" for openat(proc_self_fd, ...). */
#define PT_PROCNAME_MAX 16
void pt_procname(int fd, char name[PT_PROCNAME_MAX]);

/* Referenced inode for a guest nodeid, or -EBADF. */
int pt_inode_get(struct passthrough *fs, uint64_t nodeid, struct pt_inode **out);
void pt_inode_put(struct passthrough *fs, struct pt_inode *inode);
/* An O_PATH fd of the inode for this request, or -errno (-ESTALE: held by
 * handle and gone from the host). Take it as the daemon, before acting as
 * the caller: open_by_handle_at needs CAP_DAC_READ_SEARCH. Pair with
 * pt_inode_fd_put(). */
int pt_inode_fd(struct passthrough *fs, struct pt_inode *inode);
void pt_inode_fd_put(struct passthrough *fs, struct pt_inode *inode, int fd);
/* The same for a directory a name is resolved in: one that is gone gives
 * -ENOENT, as a removed directory does on a local file system. */
int pt_dir_fd(struct passthrough *fs, struct pt_inode *dir);
/* Whether a new inode under parent would pass a limit now (a hint before
 * creating something on the host). */
bool pt_inodes_full(struct passthrough *fs, struct pt_inode *parent);

int pt_statx(int fd, struct statx *stx);
/* Attributes for the guest: the owner shown through --translate-*. */
void pt_fill_attr(struct passthrough *fs, struct fuse_attr *attr, const struct statx *stx);

/* --translate-uid / --translate-gid. Host ids to the guest's never fail;
 * a guest id forbid-guest covers gives -EPERM. */
static inline uint32_t pt_uid_to_guest(const struct passthrough *fs, uint32_t uid)
{
	return id_map_to_guest(fs->uid_map, uid);
}

static inline uint32_t pt_gid_to_guest(const struct passthrough *fs, uint32_t gid)
{
	return id_map_to_guest(fs->gid_map, gid);
}

static inline int pt_uid_to_host(const struct passthrough *fs, uint32_t uid, uint32_t *out)
{
	return id_map_to_host(fs->uid_map, uid, out);
}

static inline int pt_gid_to_host(const struct passthrough *fs, uint32_t gid, uint32_t *out)
{
	return id_map_to_host(fs->gid_map, gid, out);
}

/* Whether the caller is root on the host, i.e. its uid after
 * --translate-uid is 0 (a forbidden uid is not). Only such a caller
 * keeps the daemon's privileges (credentials.h). */
bool pt_caller_is_root(const struct passthrough *fs, const struct fs_ctx *ctx);
int pt_getattr_fd(struct passthrough *fs, int fd, struct fuse_attr_out *out);
/* Looks name up under parent and counts a guest lookup. */
int pt_do_lookup(struct passthrough *fs, struct pt_inode *parent, const char *name,
		 struct fuse_entry_out *out);
/* The same with an fd of parent the caller holds (O_PATH or a directory
 * opened for reading). */
int pt_do_lookup_at(struct passthrough *fs, struct pt_inode *parent, int parent_fd,
		    const char *name, struct fuse_entry_out *out);
/* The same for a READDIRPLUS entry whose inode number the directory gave
 * (0: unknown, as for LOOKUP). */
int pt_lookup_entry(struct passthrough *fs, struct pt_inode *parent, int parent_fd,
		    const char *name, uint64_t dirent_ino, struct fuse_entry_out *out);
/* Counts a guest lookup of the object behind fd, an O_PATH fd we opened
 * (taken over: the inode keeps it, caches it or closes it). parent_fd,
 * an fd of parent or -1, may serve to open its mount for handles. */
int pt_entry_from_fd(struct passthrough *fs, struct pt_inode *parent, int parent_fd, int fd,
		     struct fuse_entry_out *out);
/* Reopens an inode for I/O through /proc/self/fd: regular files and
 * directories only (never FIFOs, sockets, devices: -ENXIO). */
int pt_reopen(struct passthrough *fs, struct pt_inode *inode, int flags);
/* The same with an O_PATH fd of the inode the caller holds. */
int pt_reopen_fd(struct passthrough *fs, struct pt_inode *inode, int path_fd, int flags);
/* Guest open flags -> host open flags (whitelist, cache policy). */
int pt_open_flags(struct passthrough *fs, uint32_t flags);
uint32_t pt_fopen_flags(struct passthrough *fs, bool dir);
bool pt_name_is_dots(const char *name);
/* Counts a guest lookup of an inode we already hold (".", link). */
int pt_entry_of_inode(struct passthrough *fs, struct pt_inode *parent, struct pt_inode *inode,
		      struct fuse_entry_out *out);

/* Acting as the caller (credentials.h) for a request that changes what
 * exists on the host: its uid, gid and supplementary groups through
 * --translate-*, -EPERM when one of them is forbidden. Switching is a
 * no-op when the daemon is not root, since it can then act as nobody
 * else. */
int pt_caller_enter(struct passthrough *fs, const struct fs_ctx *ctx, enum cred_rights rights,
		    struct cred_saved *saved);
void pt_caller_leave(struct cred_saved *saved);

/* Requests that create an inode run exactly as the caller (CRED_CALLER,
 * with the supplementary groups the guest sent), under the umask given
 * with FUSE_DONT_MASK (else 0: the guest already applied it). */
struct pt_creds {
	struct cred_saved cred;
	mode_t old_umask;
	bool umask_set;
};
int pt_creds_enter(struct passthrough *fs, const struct fs_ctx *ctx, uint32_t umask,
		   struct pt_creds *creds);
void pt_creds_leave(struct pt_creds *creds);

/* Data written, truncated or allocated for the caller: the host clears
 * setuid/setgid unless the caller may keep them (root, and the guest did
 * not ask for the bits to go). */
int pt_data_rights(struct passthrough *fs, bool keep_suidgid);
/* The same for data written through an fd the daemon holds (WRITE,
 * FALLOCATE, COPY_FILE_RANGE, an O_TRUNC open), with the caller's gid
 * (through --translate-gid; a forbidden one writes as the overflow gid,
 * a member of no group), which decides whether setgid without group
 * execute goes; undone by pt_data_leave(). */
#define PT_OVERFLOW_GID 65534	/* the kernel's default overflowgid */
int pt_data_enter(struct passthrough *fs, const struct fs_ctx *ctx, bool keep_suidgid,
		  struct cred_saved *saved);
void pt_data_leave(struct cred_saved *saved);

/* A write, truncate, allocation or chown of the file behind fd drops its
 * security.capability; when --xattrmap keeps that under another name the
 * host kernel does not know it, so this removes it (CVE-2021-20263).
 * o_path: fd is an O_PATH fd. Nothing to do without such a mapping. */
void pt_kill_mapped_caps(struct passthrough *fs, int fd, bool o_path);
/* The host name of a guest's xattr name (--xattrmap, or the name itself
 * into host[XATTR_NAME_MAX + 1]); -EPERM, -ENOTSUP or -ERANGE when the map
 * refuses it. */
int pt_xattr_host_name(struct passthrough *fs, const char *guest, char *host);

/* --security-label: sets ctx->secctx (the guest LSM's label, its name
 * through --xattrmap) on the inode just created, as the daemon: on an fd
 * of it, or on name in parent_fd. On failure the inode is removed again
 * (by name; an fd's caller closes it) and the error returned, as the Rust
 * virtiofsd does. Nothing to do without a context. */
int pt_secctx_set_fd(struct passthrough *fs, const struct fs_ctx *ctx, int fd);
int pt_secctx_set_at(struct passthrough *fs, const struct fs_ctx *ctx, int parent_fd,
		     const char *name, bool dir);

/* Ops, by file. */
int pt_init(void *fs, struct fs_init *init);
void pt_destroy(void *fs);

int pt_lookup(void *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name,
	      struct fuse_entry_out *out);
void pt_forget(void *fs, uint64_t nodeid, uint64_t nlookup);
int pt_readlink(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, char *buf, size_t size);
int pt_symlink(void *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name,
	       const char *target, struct fuse_entry_out *out);
int pt_mknod(void *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name,
	     uint32_t mode, uint32_t rdev, uint32_t umask, struct fuse_entry_out *out);
int pt_mkdir(void *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name,
	     uint32_t mode, uint32_t umask, struct fuse_entry_out *out);
int pt_unlink(void *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name);
int pt_rmdir(void *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name);
int pt_rename(void *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name,
	      uint64_t new_parent, const char *new_name, uint32_t flags);
int pt_link(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t new_parent,
	    const char *new_name, struct fuse_entry_out *out);

int pt_getattr(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, bool has_fh, uint64_t fh,
	       struct fuse_attr_out *out);
int pt_statx_attr(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, bool has_fh,
		  uint64_t fh, uint32_t sx_flags, uint32_t sx_mask,
		  struct vfsd_fuse_statx_out *out);
int pt_setattr(void *fs, const struct fs_ctx *ctx, uint64_t nodeid,
	       const struct fuse_setattr_in *in, struct fuse_attr_out *out);
int pt_statfs(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, struct fuse_kstatfs *out);
int pt_access(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint32_t mask);

int pt_open(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint32_t flags,
	    uint32_t open_flags, struct fuse_open_out *out);
int pt_create(void *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name,
	      uint32_t mode, uint32_t flags, uint32_t umask, uint32_t open_flags,
	      struct fuse_entry_out *entry, struct fuse_open_out *open);
int pt_tmpfile(void *fs, const struct fs_ctx *ctx, uint64_t parent, uint32_t mode,
	       uint32_t flags, uint32_t umask, struct fuse_entry_out *entry,
	       struct fuse_open_out *open);
ssize_t pt_read(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		uint64_t offset, size_t size, const struct iovec *dst, unsigned dst_count);
ssize_t pt_write(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		 uint64_t offset, size_t size, uint32_t write_flags, const struct iovec *src,
		 unsigned src_count);
int pt_flush(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
	     uint64_t lock_owner);
int pt_fsync(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh, bool datasync);
int pt_release(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh, uint32_t flags,
	       uint32_t release_flags, uint64_t lock_owner);
int pt_dax_fd(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
	      uint64_t foffset, uint64_t len, bool writable);
int pt_fallocate(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		 uint64_t offset, uint64_t length, uint32_t mode);
int pt_lseek(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh, uint64_t offset,
	     uint32_t whence, uint64_t *result);
ssize_t pt_copy_file_range(void *fs, const struct fs_ctx *ctx, uint64_t nodeid_in,
			   uint64_t fh_in, uint64_t off_in, uint64_t nodeid_out, uint64_t fh_out,
			   uint64_t off_out, uint64_t len, uint64_t flags);
int pt_syncfs(void *fs, const struct fs_ctx *ctx, uint64_t nodeid);

int pt_opendir(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint32_t flags,
	       struct fuse_open_out *out);
int pt_readdir(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
	       uint64_t offset, bool plus, struct fs_dir_filler *filler);
int pt_releasedir(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh);
int pt_fsyncdir(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		bool datasync);

int pt_setxattr(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, const char *name,
		const void *value, size_t size, uint32_t flags, uint32_t setxattr_flags);
ssize_t pt_getxattr(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, const char *name,
		    void *value, size_t size);
ssize_t pt_listxattr(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, char *list,
		     size_t size);
int pt_removexattr(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, const char *name);

int pt_getlk(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh, uint64_t owner,
	     struct fuse_file_lock *lock);
int pt_setlk(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh, uint64_t owner,
	     const struct fuse_file_lock *lock, bool sleep, bool is_flock);
void pt_interrupt(void *fs, uint64_t unique);
/* Drops the POSIX locks of owner on nodeid (FLUSH: a close by the owner). */
void pt_plock_release(struct passthrough *fs, uint64_t nodeid, uint64_t owner);
/* Drops the lock owners whose last SETLK went through fh (RELEASE). */
void pt_plock_release_fh(struct passthrough *fs, uint64_t nodeid, uint64_t fh);

/* Live migration (passthrough.c): an inode restored as this daemon holds
 * inodes, taking fd over; the handle of fd when inodes are held by
 * handle (else -EOPNOTSUPP). */
int pt_inode_restore(struct passthrough *fs, int fd, const struct statx *stx, uint64_t nodeid,
		     uint64_t nlookup);
int pt_fd_fh(struct passthrough *fs, int fd, struct pt_fh *fh);
/* Live migration (passthrough_migrate.c). A miss in the tables: -EIO for
 * what a migration lost, else -EBADF. */
int pt_lost_nodeid(struct passthrough *fs, uint64_t nodeid);
int pt_lost_fh(struct passthrough *fs, uint64_t fh);
/* The lock owners of inode with the ranges they hold (appended to
 * *owners, ranges allocated per owner). 0 or -ENOMEM. */
int pt_plock_collect(struct passthrough *fs, struct pt_inode *inode,
		     struct mig_lock_owner **owners, size_t *n, size_t *cap);
/* Rebuilds one lock owner and takes its locks again where nobody holds
 * them; *retaken and *missed count the ranges. 0 or -errno. */
int pt_plock_restore(struct passthrough *fs, struct pt_inode *inode,
		     const struct mig_lock_owner *o, size_t *retaken, size_t *missed);

#endif
