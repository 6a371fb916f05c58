/* passthrough_attr.c: GETATTR, SETATTR, STATFS, ACCESS. */
#include "passthrough/passthrough_internal.h"

#include <errno.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

int pt_getattr(void *opaque, const struct fs_ctx *ctx, uint64_t nodeid, bool has_fh, uint64_t fh,
	       struct fuse_attr_out *out)
{
	struct passthrough *fs = pt_from(opaque);
	struct pt_inode *inode;
	int fd, ret = pt_inode_get(fs, nodeid, &inode);

	if (ret < 0)
		return ret;
	fd = ret = pt_inode_fd(fs, inode);
	if (fd >= 0) {
		ret = pt_getattr_fd(fs, fd, out);
		pt_inode_fd_put(fs, inode, fd);
	}
	pt_inode_put(fs, inode);
	return ret;
}

static void sx_time(struct vfsd_fuse_sx_time *dst, const struct statx_timestamp *src)
{
	*dst = (struct vfsd_fuse_sx_time){ .tv_sec = src->tv_sec, .tv_nsec = src->tv_nsec };
}

/* The guest gets what statx(2) on the host says, birth time included,
 * but not the host's device numbers (its own superblock's stand in) nor
 * attribute bits such as STATX_ATTR_MOUNT_ROOT, which describe host mounts
 * and which the guest's FUSE client ignores anyway. */
int pt_statx_attr(void *opaque, const struct fs_ctx *ctx, uint64_t nodeid, bool has_fh,
		  uint64_t fh, uint32_t sx_flags, uint32_t sx_mask,
		  struct vfsd_fuse_statx_out *out)
{
	const uint32_t served = STATX_BASIC_STATS | STATX_BTIME;
	struct passthrough *fs = pt_from(opaque);
	struct pt_inode *inode;
	struct statx stx;
	int fd, ret = pt_inode_get(fs, nodeid, &inode);

	if (ret < 0)
		return ret;
	fd = ret = pt_inode_fd(fs, inode);
	if (fd >= 0) {
		ret = 0;
		if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW |
			  (int)(sx_flags & AT_STATX_SYNC_TYPE), (sx_mask & served) | STATX_BASIC_STATS,
			  &stx) < 0)
			ret = -errno;
		pt_inode_fd_put(fs, inode, fd);
	}
	pt_inode_put(fs, inode);
	if (ret < 0)
		return ret;
	*out = (struct vfsd_fuse_statx_out){ .attr_valid = fs->timeout };
	out->stat = (struct vfsd_fuse_statx){
		.mask = stx.stx_mask & served,
		.blksize = stx.stx_blksize,
		.nlink = stx.stx_nlink,
		.uid = pt_uid_to_guest(fs, stx.stx_uid),
		.gid = pt_gid_to_guest(fs, stx.stx_gid),
		.mode = stx.stx_mode,
		.ino = stx.stx_ino,
		.size = stx.stx_size,
		.blocks = stx.stx_blocks,
		.rdev_major = stx.stx_rdev_major,
		.rdev_minor = stx.stx_rdev_minor,
	};
	sx_time(&out->stat.atime, &stx.stx_atime);
	sx_time(&out->stat.btime, &stx.stx_btime);
	sx_time(&out->stat.ctime, &stx.stx_ctime);
	sx_time(&out->stat.mtime, &stx.stx_mtime);
	return 0;
}

#define PT_FATTR_TIMES (FATTR_ATIME | FATTR_MTIME | FATTR_ATIME_NOW | FATTR_MTIME_NOW)

static int chmod_inode(struct passthrough *fs, struct pt_inode *inode, int fd, mode_t mode)
{
	char name[PT_PROCNAME_MAX];

	/* Linux has no modes on symlinks; the magic link would follow */
	if (S_ISLNK(inode->type))
		return -EOPNOTSUPP;
	pt_procname(fd, name);
	if (fchmodat(fs->proc_self_fd, name, mode & 07777, 0) < 0)
		return -errno;
	return 0;
}

/* The host clears setuid/setgid on a chown as the kernel rules say, for
 * root as for anyone. The owner the guest gives is a guest id: the host's
 * through --translate-*, and one forbid-guest covers is refused. */
static int set_owner(struct passthrough *fs, int fd, const struct fuse_setattr_in *in)
{
	uint32_t uid = (uint32_t)-1, gid = (uint32_t)-1;

	if ((in->valid & FATTR_UID) && pt_uid_to_host(fs, in->uid, &uid) < 0)
		return -EPERM;
	if ((in->valid & FATTR_GID) && pt_gid_to_host(fs, in->gid, &gid) < 0)
		return -EPERM;
	if (fchownat(fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	return 0;
}

/* After a chown or truncate went through. The kill runs as the daemon,
 * as the host kernel's does for any chown or truncate of the file. */
static void kill_mapped_caps(struct passthrough *fs, struct pt_inode *inode, int fd)
{
	if (S_ISREG(inode->type))
		pt_kill_mapped_caps(fs, fd, true);
}

static int set_size(struct passthrough *fs, struct pt_inode *inode, int path_fd,
		    const struct fuse_setattr_in *in)
{
	struct pt_handle *handle = NULL;
	int fd, ret = 0;

	if (in->size > INT64_MAX)
		return -EFBIG;
	if (in->valid & FATTR_FH) {
		handle = handle_table_get(&fs->handles, in->fh, HANDLE_FILE);
		if (!handle)
			return -EBADF;
		fd = handle->fd;
	} else {
		fd = pt_reopen_fd(fs, inode, path_fd, O_WRONLY);
		if (fd == -ENXIO || fd == -ELOOP)
			return -EINVAL;
		if (fd < 0)
			return fd;
	}
	/* FATTR_KILL_SUIDGID: the guest found the caller without CAP_FSETID
	 * (a caller other than root has none here anyway) */
	if (in->valid & FATTR_KILL_SUIDGID)
		ret = pt_data_rights(fs, false);
	if (ret == 0 && ftruncate(fd, (off_t)in->size) < 0)
		ret = -errno;
	if (handle)
		handle_table_put(&fs->handles, handle);
	else
		close(fd);
	return ret;
}

static int time_from_attr(struct timespec *ts, uint32_t valid, uint32_t set, uint32_t now,
			  uint64_t sec, uint32_t nsec)
{
	if (valid & now) {
		*ts = (struct timespec){ .tv_nsec = UTIME_NOW };
	} else if (valid & set) {
		/* nsec from the guest could otherwise spell UTIME_NOW/OMIT */
		if (nsec >= 1000000000)
			return -EINVAL;
		ts->tv_sec = (time_t)sec;
		ts->tv_nsec = nsec;
	} else {
		*ts = (struct timespec){ .tv_nsec = UTIME_OMIT };
	}
	return 0;
}

static int set_times(struct passthrough *fs, struct pt_inode *inode, int fd,
		     const struct fuse_setattr_in *in)
{
	char name[PT_PROCNAME_MAX];
	struct timespec ts[2];
	int ret;

	if (time_from_attr(&ts[0], in->valid, FATTR_ATIME, FATTR_ATIME_NOW, in->atime,
			   in->atimensec) < 0 ||
	    time_from_attr(&ts[1], in->valid, FATTR_MTIME, FATTR_MTIME_NOW, in->mtime,
			   in->mtimensec) < 0)
		return -EINVAL;
	if (S_ISLNK(inode->type)) {
		ret = utimensat(fd, "", ts, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
	} else {
		pt_procname(fd, name);
		ret = utimensat(fs->proc_self_fd, name, ts, 0);
	}
	return ret < 0 ? -errno : 0;
}

/* Whether FATTR_MODE only clears setuid/setgid bits the file has: what a
 * Linux guest that did not take FUSE_HANDLE_KILLPRIV sends, alone or with
 * the size of a truncate, when its caller writes to or truncates a file it
 * does not own. The host kernel clears them itself for a local writer,
 * whoever owns the file, so that part is done as the daemon once the rest
 * succeeded. With killpriv negotiated the guest never sends it, and such
 * a request is an ordinary chmod, owner only. */
static bool mode_only_kills_suidgid(struct passthrough *fs, int fd,
				    const struct fuse_setattr_in *in)
{
	struct statx stx;
	uint32_t old, new = in->mode & 07777, diff;

	if (pt_negotiated(&fs->killpriv) || !(in->valid & FATTR_MODE) || (in->valid & (FATTR_UID | FATTR_GID)) ||
	    pt_statx(fd, &stx) < 0)
		return false;
	old = stx.stx_mode & 07777;
	diff = old ^ new;
	/* something changes, only those bits, and only from set to clear */
	return diff && !(diff & ~(uint32_t)(S_ISUID | S_ISGID)) && !(new & diff);
}

#define PT_FATTR_CHANGES (FATTR_UID | FATTR_GID | FATTR_MODE | FATTR_SIZE | PT_FATTR_TIMES)

static int setattr_as_caller(struct passthrough *fs, const struct fs_ctx *ctx,
			     struct pt_inode *inode, int fd, const struct fuse_setattr_in *in)
{
	struct fuse_setattr_in rest = *in;
	bool kill = mode_only_kills_suidgid(fs, fd, in);
	struct cred_saved cred;
	int ret = 0;

	if (kill)
		rest.valid &= ~(uint32_t)FATTR_MODE;
	if (rest.valid & PT_FATTR_CHANGES) {
		/* ownership, mode, times and size as the host rules for this
		 * caller: chown only with CAP_CHOWN, chmod and explicit times
		 * only by the owner, S_ISGID only for a member of the group */
		ret = pt_caller_enter(fs, ctx, CRED_CALLER_GUEST_DAC, &cred);
		if (ret < 0)
			return ret;
		/* ownership before mode: a mode given with a chown is what the
		 * guest wants in the end, even with setuid bits in it */
		bool killpriv = false;

		if (rest.valid & (FATTR_UID | FATTR_GID)) {
			ret = set_owner(fs, fd, &rest);
			killpriv = ret == 0;
		}
		if (ret == 0 && (rest.valid & FATTR_MODE))
			ret = chmod_inode(fs, inode, fd, rest.mode);
		if (ret == 0 && (rest.valid & FATTR_SIZE)) {
			ret = set_size(fs, inode, fd, &rest);
			killpriv |= ret == 0;
		}
		if (ret == 0 && (rest.valid & PT_FATTR_TIMES))
			ret = set_times(fs, inode, fd, &rest);
		pt_caller_leave(&cred);
		if (killpriv)
			kill_mapped_caps(fs, inode, fd);
	}
	if (ret == 0 && kill)
		ret = chmod_inode(fs, inode, fd, in->mode);
	return ret;
}

int pt_setattr(void *opaque, const struct fs_ctx *ctx, uint64_t nodeid,
	       const struct fuse_setattr_in *in, struct fuse_attr_out *out)
{
	struct passthrough *fs = pt_from(opaque);
	struct pt_inode *inode;
	int fd, ret = pt_inode_get(fs, nodeid, &inode);

	if (ret < 0)
		return ret;
	/* as the daemon: acting as the caller may not open handles */
	fd = ret = pt_inode_fd(fs, inode);
	if (fd >= 0) {
		ret = setattr_as_caller(fs, ctx, inode, fd, in);
		if (ret == 0)
			ret = pt_getattr_fd(fs, fd, out);
		pt_inode_fd_put(fs, inode, fd);
	}
	pt_inode_put(fs, inode);
	return ret;
}

int pt_statfs(void *opaque, const struct fs_ctx *ctx, uint64_t nodeid, struct fuse_kstatfs *out)
{
	struct passthrough *fs = pt_from(opaque);
	struct pt_inode *inode;
	struct statvfs st;
	int fd, ret = pt_inode_get(fs, nodeid, &inode);

	if (ret < 0)
		return ret;
	fd = ret = pt_inode_fd(fs, inode);
	if (fd < 0)
		goto out;
	ret = fstatvfs(fd, &st) < 0 ? -errno : 0;
	pt_inode_fd_put(fs, inode, fd);
	if (ret < 0)
		goto out;
	*out = (struct fuse_kstatfs){
		.blocks = st.f_blocks,
		.bfree = st.f_bfree,
		.bavail = st.f_bavail,
		.files = st.f_files,
		.ffree = st.f_ffree,
		.bsize = (uint32_t)st.f_bsize,
		.namelen = (uint32_t)st.f_namemax,
		.frsize = (uint32_t)st.f_frsize,
	};
out:
	pt_inode_put(fs, inode);
	return ret;
}

int pt_access(void *opaque, const struct fs_ctx *ctx, uint64_t nodeid, uint32_t mask)
{
	struct passthrough *fs = pt_from(opaque);
	char name[PT_PROCNAME_MAX];
	struct pt_inode *inode;
	struct cred_saved cred;
	int ret, fd;

	if (mask & ~(uint32_t)(R_OK | W_OK | X_OK))
		return -EINVAL;
	ret = pt_inode_get(fs, nodeid, &inode);
	if (ret < 0 || mask == F_OK)
		goto out;
	fd = ret = pt_inode_fd(fs, inode);
	if (fd < 0)
		goto out;
	ret = pt_caller_enter(fs, ctx, CRED_CALLER, &cred);
	if (ret == 0) {
		pt_procname(fd, name);
		/* AT_EACCESS: check with the effective ids just set */
		if (faccessat(fs->proc_self_fd, name, (int)mask, AT_EACCESS) < 0)
			ret = -errno;
		pt_caller_leave(&cred);
	}
	pt_inode_fd_put(fs, inode, fd);
out:
	pt_inode_put(fs, inode);
	return ret;
}
