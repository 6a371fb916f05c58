/* passthrough_file.c: open files: OPEN, CREATE, TMPFILE, READ, WRITE,
 * FLUSH, FSYNC, RELEASE, FALLOCATE, LSEEK, COPY_FILE_RANGE, SYNCFS.
 * Data moves with preadv/pwritev straight between the host file and the
 * iovecs the server hands us (guest memory), with no bounce buffer. */
#include "passthrough/passthrough_internal.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

/* The most one READ, WRITE or COPY_FILE_RANGE moves (the kernel's own
 * MAX_RW_COUNT); also keeps the count inside fuse_write_out.size. */
#define PT_MAX_RW 0x7ffff000UL

static int handle_fd_get(struct passthrough *fs, uint64_t fh, struct pt_handle **out)
{
	*out = handle_table_get(&fs->handles, fh, HANDLE_FILE);
	return *out ? 0 : pt_lost_fh(fs, fh);
}

static int open_handle(struct passthrough *fs, int fd, struct fuse_open_out *out)
{
	uint64_t fh;
	int ret = handle_table_insert(&fs->handles, fd, HANDLE_FILE, &fh);

	if (ret < 0)
		return ret;
	*out = (struct fuse_open_out){ .fh = fh, .open_flags = pt_fopen_flags(fs, false) };
	return 0;
}

/* Before creating a file that gets an inode and a handle: -EMFILE or
 * -ENFILE when either table is full, so nothing is made on the host that
 * the guest could not be given. */
static int create_room(struct passthrough *fs, struct pt_inode *parent)
{
	if (handle_table_full(&fs->handles))
		return -EMFILE;
	if (pt_inodes_full(fs, parent))
		return -ENFILE;
	return 0;
}

/* Reopens inode. An O_TRUNC open truncates as the caller would: a caller
 * other than root (or one the guest marked FUSE_OPEN_KILL_SUIDGID, as it
 * lacks CAP_FSETID) gets setuid/setgid cleared by the host. */
static int reopen_for(struct passthrough *fs, const struct fs_ctx *ctx, struct pt_inode *inode,
		      int oflags, uint32_t open_flags)
{
	struct cred_saved cred = { 0 };
	int fd, path_fd;

	/* pt_reopen refuses FIFOs, sockets and devices with -ENXIO */
	if (!(oflags & O_TRUNC))
		return pt_reopen(fs, inode, oflags);
	/* as the daemon, before the caller's gid is taken */
	path_fd = pt_inode_fd(fs, inode);
	if (path_fd < 0)
		return path_fd;
	fd = pt_data_enter(fs, ctx,
			   pt_caller_is_root(fs, ctx) && !(open_flags & FUSE_OPEN_KILL_SUIDGID),
			   &cred);
	if (fd == 0)
		fd = pt_reopen_fd(fs, inode, path_fd, oflags);
	pt_data_leave(&cred);
	if (fd >= 0)
		pt_kill_mapped_caps(fs, fd, false);
	pt_inode_fd_put(fs, inode, path_fd);
	return fd;
}

int pt_open(void *opaque, const struct fs_ctx *ctx, uint64_t nodeid, uint32_t flags,
	    uint32_t open_flags, struct fuse_open_out *out)
{
	struct passthrough *fs = pt_from(opaque);
	struct pt_inode *inode;
	int fd, ret = pt_inode_get(fs, nodeid, &inode);

	if (ret < 0)
		return ret;
	/* at our limit: refuse before opening anything */
	if (handle_table_full(&fs->handles)) {
		pt_inode_put(fs, inode);
		return -EMFILE;
	}
	fd = reopen_for(fs, ctx, inode, pt_open_flags(fs, flags), open_flags);
	pt_inode_put(fs, inode);
	if (fd < 0)
		return fd;
	return open_handle(fs, fd, out);
}

/* An O_PATH fd on what fd has open, for the inode table. */
static int path_fd_of(struct passthrough *fs, int fd)
{
	char name[PT_PROCNAME_MAX];
	int pfd;

	pt_procname(fd, name);
	pfd = openat(fs->proc_self_fd, name, O_PATH | O_CLOEXEC);
	return pfd < 0 ? -errno : pfd;
}

/* Entry and handle for a file we just created in parent (parent_fd)
 * and hold open as fd. */
static int created_reply(struct passthrough *fs, struct pt_inode *parent, int parent_fd, int fd,
			 struct fuse_entry_out *entry, struct fuse_open_out *open)
{
	int ret, pfd = path_fd_of(fs, fd);

	if (pfd < 0) {
		close(fd);
		return pfd;
	}
	ret = pt_entry_from_fd(fs, parent, parent_fd, pfd, entry);
	if (ret < 0) {
		close(fd);
		return ret;
	}
	ret = open_handle(fs, fd, open);
	if (ret < 0)
		inode_table_forget(&fs->inodes, entry->nodeid, 1);
	return ret;
}

/* CREATE without O_EXCL of a name that exists (created behind the guest's
 * back): open it like OPEN would, regular files and directories only. */
static int create_open_existing(struct passthrough *fs, const struct fs_ctx *ctx,
				struct pt_inode *parent, int parent_fd, const char *name,
				int oflags, uint32_t open_flags, struct fuse_entry_out *entry,
				struct fuse_open_out *open)
{
	struct pt_inode *inode;
	int fd, ret = pt_do_lookup_at(fs, parent, parent_fd, name, entry);

	if (ret < 0)
		return ret;
	ret = pt_inode_get(fs, entry->nodeid, &inode);
	if (ret < 0)
		return ret;
	fd = reopen_for(fs, ctx, inode, oflags, open_flags);
	pt_inode_put(fs, inode);
	ret = fd < 0 ? fd : open_handle(fs, fd, open);
	if (ret < 0)
		inode_table_forget(&fs->inodes, entry->nodeid, 1);
	return ret;
}

int pt_create(void *opaque, const struct fs_ctx *ctx, uint64_t parent_id, const char *name,
	      uint32_t mode, uint32_t flags, uint32_t umask, uint32_t open_flags,
	      struct fuse_entry_out *entry, struct fuse_open_out *open)
{
	struct passthrough *fs = pt_from(opaque);
	int oflags = pt_open_flags(fs, flags);
	struct pt_inode *parent;
	struct pt_creds creds;
	int fd, dir_fd, err = 0, ret;

	if (pt_name_is_dots(name))
		return -EEXIST;
	ret = pt_inode_get(fs, parent_id, &parent);
	if (ret < 0)
		return ret;
	ret = create_room(fs, parent);
	if (ret < 0)
		goto out;
	dir_fd = ret = pt_dir_fd(fs, parent);
	if (ret < 0)
		goto out;
	ret = pt_creds_enter(fs, ctx, umask, &creds);
	if (ret < 0)
		goto out_fd;
	/* O_EXCL always: an existing FIFO or device must never be opened by
	 * O_CREAT; existing names go through the checked path below */
	fd = openat(dir_fd, name, (oflags & ~O_TRUNC) | O_CREAT | O_EXCL | O_NOFOLLOW,
		    mode & 07777);
	if (fd < 0)
		err = errno;
	pt_creds_leave(&creds);
	if (fd >= 0) {
		ret = pt_secctx_set_fd(fs, ctx, fd);
		if (ret < 0) {
			close(fd);
			unlinkat(dir_fd, name, 0);
			goto out_fd;
		}
		ret = created_reply(fs, parent, dir_fd, fd, entry, open);
	} else if (err == EEXIST && !(flags & O_EXCL)) {
		ret = create_open_existing(fs, ctx, parent, dir_fd, name, oflags, open_flags,
					   entry, open);
	} else {
		ret = -err;
	}
out_fd:
	pt_inode_fd_put(fs, parent, dir_fd);
out:
	pt_inode_put(fs, parent);
	return ret;
}

int pt_tmpfile(void *opaque, const struct fs_ctx *ctx, uint64_t parent_id, uint32_t mode,
	       uint32_t flags, uint32_t umask, struct fuse_entry_out *entry,
	       struct fuse_open_out *open)
{
	struct passthrough *fs = pt_from(opaque);
	/* O_EXCL: the file may never be linked into the tree */
	int oflags = (pt_open_flags(fs, flags) & ~O_TRUNC) | ((int)flags & O_EXCL);
	struct pt_inode *parent;
	struct pt_creds creds;
	int fd, dir_fd, ret;

	ret = pt_inode_get(fs, parent_id, &parent);
	if (ret < 0)
		return ret;
	ret = create_room(fs, parent);
	if (ret < 0)
		goto out;
	dir_fd = ret = pt_dir_fd(fs, parent);
	if (ret < 0)
		goto out;
	ret = pt_creds_enter(fs, ctx, umask, &creds);
	if (ret == 0) {
		fd = openat(dir_fd, ".", oflags | O_TMPFILE, mode & 07777);
		if (fd < 0)
			ret = -errno;
		pt_creds_leave(&creds);
		if (fd >= 0)
			ret = pt_secctx_set_fd(fs, ctx, fd);
		if (fd >= 0 && ret < 0)
			close(fd);	/* unnamed: gone with its last fd */
		else if (fd >= 0)
			ret = created_reply(fs, parent, dir_fd, fd, entry, open);
	}
	pt_inode_fd_put(fs, parent, dir_fd);
out:
	pt_inode_put(fs, parent);
	return ret;
}

/* preadv/pwritev take at most IOV_MAX segments per call. */
static ssize_t rw_iov(int fd, const struct iovec *iov, unsigned count, off_t off, bool write)
{
	ssize_t total = 0;

	while (count) {
		int n = count > IOV_MAX ? IOV_MAX : (int)count;
		size_t want = 0;
		ssize_t done;
		int i;

		for (i = 0; i < n; i++)
			want += iov[i].iov_len;
		done = write ? pwritev(fd, iov, n, off) : preadv(fd, iov, n, off);
		if (done < 0)
			return total ? total : -errno;
		total += done;
		if ((size_t)done < want)
			break;
		off += done;
		iov += n;
		count -= n;
	}
	return total;
}

ssize_t pt_read(void *opaque, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		uint64_t offset, size_t size, const struct iovec *dst, unsigned dst_count)
{
	struct passthrough *fs = pt_from(opaque);
	struct pt_handle *handle;
	ssize_t ret;

	if (offset > INT64_MAX)
		return -EINVAL;
	ret = handle_fd_get(fs, fh, &handle);
	if (ret < 0)
		return ret;
	ret = rw_iov(handle->fd, dst, dst_count, (off_t)offset, false);
	handle_table_put(&fs->handles, handle);
	return ret;
}

ssize_t pt_write(void *opaque, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		 uint64_t offset, size_t size, uint32_t write_flags, const struct iovec *src,
		 unsigned src_count)
{
	struct passthrough *fs = pt_from(opaque);
	struct pt_handle *handle;
	struct cred_saved cred;
	ssize_t ret;

	if (offset > INT64_MAX)
		return -EINVAL;
	ret = handle_fd_get(fs, fh, &handle);
	if (ret < 0)
		return ret;
	/* without CAP_FSETID the host kernel clears setuid/setgid (and
	 * security.capability) atomically with the write */
	ret = pt_data_enter(fs, ctx,
			    pt_caller_is_root(fs, ctx) && !(write_flags & FUSE_WRITE_KILL_SUIDGID),
			    &cred);
	/* an O_APPEND fd appends whatever the offset, as on the host */
	if (ret == 0)
		ret = rw_iov(handle->fd, src, src_count, (off_t)offset, true);
	pt_data_leave(&cred);
	if (ret > 0)
		pt_kill_mapped_caps(fs, handle->fd, false);
	handle_table_put(&fs->handles, handle);
	return ret;
}

int pt_flush(void *opaque, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
	     uint64_t lock_owner)
{
	struct passthrough *fs = pt_from(opaque);
	struct pt_handle *handle;
	int fd, ret = handle_fd_get(fs, fh, &handle);

	if (ret < 0)
		return ret;
	/* a guest close(): close a duplicate so the host file system sees a
	 * close (NFS flushes, reports write-back errors) */
	fd = dup(handle->fd);
	if (fd >= 0 && close(fd) < 0)
		ret = -errno;
	/* out of fds (EMFILE/ENFILE): the close by the guest still happened;
	 * only the host's flush-on-close is skipped */
	else if (fd < 0 && errno != EMFILE && errno != ENFILE)
		ret = -errno;
	handle_table_put(&fs->handles, handle);
	/* a close() of any fd of the file drops the owner's POSIX locks */
	if (pt_negotiated(&fs->posix_lock))
		pt_plock_release(fs, nodeid, lock_owner);
	return ret;
}

int pt_fsync(void *opaque, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh, bool datasync)
{
	struct passthrough *fs = pt_from(opaque);
	struct pt_handle *handle;
	int ret = handle_fd_get(fs, fh, &handle);

	if (ret < 0)
		return ret;
	if ((datasync ? fdatasync(handle->fd) : fsync(handle->fd)) < 0)
		ret = -errno;
	handle_table_put(&fs->handles, handle);
	return ret;
}

int pt_release(void *opaque, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
	       uint32_t flags, uint32_t release_flags, uint64_t lock_owner)
{
	struct passthrough *fs = pt_from(opaque);
	struct pt_handle *handle;

	if (release_flags & FUSE_RELEASE_FLOCK_UNLOCK) {
		handle = handle_table_get(&fs->handles, fh, HANDLE_FILE);
		if (handle) {
			flock(handle->fd, LOCK_UN);
			handle_table_put(&fs->handles, handle);
		}
	}
	if (pt_negotiated(&fs->posix_lock))
		pt_plock_release_fh(fs, nodeid, fh);
	/* the fd closes when the last operation using it is done */
	return handle_table_remove(&fs->handles, fh, HANDLE_FILE);
}

int pt_fallocate(void *opaque, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		 uint64_t offset, uint64_t length, uint32_t mode)
{
	struct passthrough *fs = pt_from(opaque);
	struct pt_handle *handle;
	struct cred_saved cred;
	int ret;

	if (offset > INT64_MAX || length > INT64_MAX)
		return -EINVAL;
	ret = handle_fd_get(fs, fh, &handle);
	if (ret < 0)
		return ret;
	/* like a write, an allocation clears setuid/setgid for a caller
	 * without CAP_FSETID */
	ret = pt_data_enter(fs, ctx, pt_caller_is_root(fs, ctx), &cred);
	if (ret == 0 && fallocate(handle->fd, (int)mode, (off_t)offset, (off_t)length) < 0)
		ret = -errno;
	pt_data_leave(&cred);
	if (ret == 0)
		pt_kill_mapped_caps(fs, handle->fd, false);
	handle_table_put(&fs->handles, handle);
	return ret;
}

int pt_lseek(void *opaque, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
	     uint64_t offset, uint32_t whence, uint64_t *result)
{
	struct passthrough *fs = pt_from(opaque);
	struct pt_handle *handle;
	off_t pos;
	int ret;

	switch (whence) {
	case SEEK_SET:
	case SEEK_CUR:
	case SEEK_END:
	case SEEK_DATA:
	case SEEK_HOLE:
		break;
	default:
		return -EINVAL;
	}
	ret = handle_fd_get(fs, fh, &handle);
	if (ret < 0)
		return ret;
	pos = lseek(handle->fd, (off_t)offset, (int)whence);
	if (pos < 0)
		ret = -errno;
	else
		*result = (uint64_t)pos;
	handle_table_put(&fs->handles, handle);
	return ret;
}

ssize_t pt_copy_file_range(void *opaque, const struct fs_ctx *ctx, uint64_t nodeid_in,
			   uint64_t fh_in, uint64_t off_in, uint64_t nodeid_out, uint64_t fh_out,
			   uint64_t off_out, uint64_t len, uint64_t flags)
{
	struct passthrough *fs = pt_from(opaque);
	struct pt_handle *in, *out = NULL;
	loff_t oi = (loff_t)off_in, oo = (loff_t)off_out;
	struct cred_saved cred;
	ssize_t ret;

	if (off_in > INT64_MAX || off_out > INT64_MAX || flags > UINT_MAX)
		return -EINVAL;
	ret = handle_fd_get(fs, fh_in, &in);
	if (ret < 0)
		return ret;
	ret = handle_fd_get(fs, fh_out, &out);
	if (ret < 0)
		goto out;
	/* the destination is written for the caller: as in pt_write */
	ret = pt_data_enter(fs, ctx, pt_caller_is_root(fs, ctx), &cred);
	if (ret == 0) {
		ret = copy_file_range(in->fd, &oi, out->fd, &oo,
				      len > PT_MAX_RW ? PT_MAX_RW : len, (unsigned int)flags);
		if (ret < 0)
			ret = -errno;
	}
	pt_data_leave(&cred);
	if (ret > 0)
		pt_kill_mapped_caps(fs, out->fd, false);
out:
	handle_table_put(&fs->handles, out);
	handle_table_put(&fs->handles, in);
	return ret;
}

int pt_syncfs(void *opaque, const struct fs_ctx *ctx, uint64_t nodeid)
{
	struct passthrough *fs = pt_from(opaque);
	struct pt_inode *inode;
	int fd, ret = pt_inode_get(fs, nodeid, &inode);

	if (ret < 0)
		return ret;
	/* a directory may be on a submount: sync that file system too */
	fd = S_ISDIR(inode->type) ? pt_reopen(fs, inode, O_RDONLY | O_DIRECTORY) : -1;
	if (syncfs(fd >= 0 ? fd : fs->root_rdonly_fd) < 0)
		ret = -errno;
	if (fd >= 0)
		close(fd);
	pt_inode_put(fs, inode);
	return ret;
}

/* What mmap itself would refuse, refused before the frontend is asked:
 * a mapping needs a regular file opened for reading (and for writing
 * when writable), at a page-aligned offset inside the file. */
static int dax_check_handle(int fd, uint64_t foffset, uint64_t len, bool writable)
{
	struct stat st;
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -ENODEV;
	/* Linux's access mode 3 (O_ACCMODE: neither read nor write, for
	 * ioctls) cannot be mapped either */
	if (((fl & O_ACCMODE) != O_RDONLY && (fl & O_ACCMODE) != O_RDWR) ||
	    (writable && (fl & O_ACCMODE) != O_RDWR))
		return -EACCES;
	if ((foffset & 4095) || foffset > (uint64_t)INT64_MAX - len)
		return -EINVAL;
	/* The start must be file data; the tail past EOF may not be (Linux
	 * maps whole 2 MiB ranges and never touches beyond its i_size). */
	if (foffset >= (uint64_t)st.st_size)
		return -EINVAL;
	return 0;
}

int pt_dax_fd(void *fs_, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
	      uint64_t foffset, uint64_t len, bool writable)
{
	struct passthrough *fs = fs_;
	struct pt_handle *h;
	int ret = handle_fd_get(fs, fh, &h);

	if (ret)
		return ret;
	ret = dax_check_handle(h->fd, foffset, len, writable);
	if (ret == 0) {
		ret = fcntl(h->fd, F_DUPFD_CLOEXEC, 0);
		if (ret < 0)
			ret = -errno;
	}
	handle_table_put(&fs->handles, h);
	return ret;
}
