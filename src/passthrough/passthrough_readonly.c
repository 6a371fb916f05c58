/* passthrough_readonly.c: --readonly, the passthrough without writes.
 * An allow list: the table below names each operation that may run, and
 * every operation that could change the share (create, link, remove,
 * rename, attributes, xattrs, data) answers -EROFS before it reaches the
 * host. An operation added to passthrough_ops later stays out of this
 * table (ENOSYS) until someone decides which side it is on. The Rust
 * virtiofsd's --readonly draws the same line (src/passthrough/read_only.rs
 * there), except that an O_TRUNC open gets EROFS here, as from a local
 * read-only mount, not EINVAL.
 *
 * FUSE has no way to tell the guest that the whole file system is
 * read-only (STATFS carries no flags): the guest sees EROFS per request,
 * or mounts with -o ro itself. */
#include "passthrough/passthrough_internal.h"

#include <errno.h>

/* An open that could change the file: for writing, truncating, creating
 * (O_TMPFILE includes O_DIRECTORY and needs write access anyway). */
static bool open_writes(uint32_t flags)
{
	return ((int)flags & O_ACCMODE) != O_RDONLY ||
	       ((int)flags & (O_TRUNC | O_CREAT | O_EXCL)) != 0;
}

static int ro_open(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint32_t flags,
		   uint32_t open_flags, struct fuse_open_out *out)
{
	if (open_writes(flags))
		return -EROFS;
	return pt_open(fs, ctx, nodeid, flags, open_flags, out);
}

/* The guest sends CREATE for an O_CREAT open of a name its cache does not
 * hold. A name that exists is opened as OPEN would (read-only); nothing is
 * made. */
static int ro_create(void *opaque, const struct fs_ctx *ctx, uint64_t parent, const char *name,
		     uint32_t mode, uint32_t flags, uint32_t umask, uint32_t open_flags,
		     struct fuse_entry_out *entry, struct fuse_open_out *open)
{
	struct passthrough *fs = pt_from(opaque);
	int ret;

	if (open_writes(flags & ~(uint32_t)O_CREAT))
		return -EROFS;
	ret = pt_lookup(fs, ctx, parent, name, entry);
	if (ret == -ENOENT)
		return -EROFS;
	if (ret < 0)
		return ret;
	ret = pt_open(fs, ctx, entry->nodeid, flags & ~(uint32_t)O_CREAT, open_flags, open);
	if (ret < 0)
		pt_forget(fs, entry->nodeid, 1);
	return ret;
}

static int ro_access(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint32_t mask)
{
	if (mask & W_OK)
		return -EROFS;
	return pt_access(fs, ctx, nodeid, mask);
}

static int ro_setattr(void *fs, const struct fs_ctx *ctx, uint64_t nodeid,
		      const struct fuse_setattr_in *in, struct fuse_attr_out *out)
{
	return -EROFS;
}

static int ro_symlink(void *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name,
		      const char *target, struct fuse_entry_out *out)
{
	return -EROFS;
}

static int ro_mknod(void *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name,
		    uint32_t mode, uint32_t rdev, uint32_t umask, struct fuse_entry_out *out)
{
	return -EROFS;
}

static int ro_mkdir(void *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name,
		    uint32_t mode, uint32_t umask, struct fuse_entry_out *out)
{
	return -EROFS;
}

static int ro_remove(void *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name)
{
	return -EROFS;
}

static int ro_rename(void *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name,
		     uint64_t new_parent, const char *new_name, uint32_t flags)
{
	return -EROFS;
}

static int ro_link(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t new_parent,
		   const char *new_name, struct fuse_entry_out *out)
{
	return -EROFS;
}

static int ro_tmpfile(void *fs, const struct fs_ctx *ctx, uint64_t parent, uint32_t mode,
		      uint32_t flags, uint32_t umask, struct fuse_entry_out *entry,
		      struct fuse_open_out *open)
{
	return -EROFS;
}

static ssize_t ro_write(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
			uint64_t offset, size_t size, uint32_t write_flags,
			const struct iovec *src, unsigned src_count)
{
	return -EROFS;
}

static int ro_fallocate(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
			uint64_t offset, uint64_t length, uint32_t mode)
{
	return -EROFS;
}

static ssize_t ro_copy_file_range(void *fs, const struct fs_ctx *ctx, uint64_t nodeid_in,
				  uint64_t fh_in, uint64_t off_in, uint64_t nodeid_out,
				  uint64_t fh_out, uint64_t off_out, uint64_t len, uint64_t flags)
{
	return -EROFS;
}

static int ro_setxattr(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, const char *name,
		       const void *value, size_t size, uint32_t flags, uint32_t setxattr_flags)
{
	return -EROFS;
}

static int ro_removexattr(void *fs, const struct fs_ctx *ctx, uint64_t nodeid,
			  const char *name)
{
	return -EROFS;
}

const struct fs_ops passthrough_readonly_ops = {
	/* read, look, hold and let go: as in passthrough_ops */
	.init = pt_init,
	.destroy = pt_destroy,
	.lookup = pt_lookup,
	.forget = pt_forget,
	.getattr = pt_getattr,
	.statx = pt_statx_attr,
	.readlink = pt_readlink,
	.read = pt_read,
	.statfs = pt_statfs,
	.release = pt_release,
	.fsync = pt_fsync,
	.flush = pt_flush,
	.getxattr = pt_getxattr,
	.listxattr = pt_listxattr,
	.opendir = pt_opendir,
	.readdir = pt_readdir,
	.releasedir = pt_releasedir,
	.fsyncdir = pt_fsyncdir,
	.getlk = pt_getlk,
	.setlk = pt_setlk,
	.lseek = pt_lseek,
	.syncfs = pt_syncfs,
	.interrupt = pt_interrupt,
	/* checked, then as in passthrough_ops */
	.open = ro_open,
	.create = ro_create,
	.access = ro_access,
	/* EROFS, always */
	.setattr = ro_setattr,
	.symlink = ro_symlink,
	.mknod = ro_mknod,
	.mkdir = ro_mkdir,
	.unlink = ro_remove,
	.rmdir = ro_remove,
	.rename = ro_rename,
	.link = ro_link,
	.tmpfile = ro_tmpfile,
	.write = ro_write,
	.fallocate = ro_fallocate,
	.copy_file_range = ro_copy_file_range,
	.setxattr = ro_setxattr,
	.removexattr = ro_removexattr,
};

const struct fs_ops *passthrough_fs_ops(const struct passthrough *fs)
{
	return fs->cfg.readonly ? &passthrough_readonly_ops : &passthrough_ops;
}
