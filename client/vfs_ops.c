/* vfs_ops.c: one function per FUSE operation, each building the
 * arguments exactly as Linux's fs/fuse does for a virtiofs mount. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "vfs_internal.h"

#define ARG(p, l) { .ptr = (p), .len = (l) }
#define ARGV(v) { .ptr = &(v), .len = sizeof(v) }
#define STR(s) { .ptr = (s), .len = strlen(s) + 1 }
#define OUT(p, l) { .ptr = (p), .len = (l) }
#define OUTV(v) { .ptr = &(v), .len = sizeof(v) }
#define NARG(a) (sizeof(a) / sizeof((a)[0]))

static int call_simple(struct vfs_client *c, uint32_t op, uint64_t nodeid,
		       const struct vfs_arg *in, unsigned nin,
		       struct vfs_out *out, unsigned nout)
{
	struct vfs_call call = {
		.opcode = op, .nodeid = nodeid, .queue = VFS_Q_AUTO,
		.in = in, .nin = nin, .out = out, .nout = nout,
	};

	return vfs_call(c, &call);
}

static uint64_t init_flags(const struct vfs_client *c)
{
	return c->init.flags | ((uint64_t)c->init.flags2 << 32);
}

int vfs_init(struct vfs_client *c, uint64_t flags, struct fuse_init_out *out)
{
	struct fuse_init_in in = {
		.major = FUSE_KERNEL_VERSION,
		.minor = FUSE_KERNEL_MINOR_VERSION,
		.max_readahead = 128 * 1024,
	};
	struct vfs_arg a[] = { ARGV(in) };
	struct vfs_out o[] = { OUT(out, sizeof(*out)) };
	struct vfs_call call = {
		.opcode = FUSE_INIT, .queue = 1, .in = a, .nin = 1,
		.out = o, .nout = 1,
	};
	int err;

	if (!flags)
		flags = VFS_DEFAULT_INIT_FLAGS;
	in.flags = (uint32_t)flags;
	in.flags2 = (uint32_t)(flags >> 32);
	err = vfs_call(c, &call);
	if (err)
		return err;
	if (out->major != FUSE_KERNEL_VERSION ||
	    call.out_len < FUSE_COMPAT_INIT_OUT_SIZE)
		return -EPROTO;
	/* FUSE_INIT_EXT: flags2 means something only if the daemon says so. */
	if (!(out->flags & FUSE_INIT_EXT))
		out->flags2 = 0;
	return 0;
}

int vfs_destroy(struct vfs_client *c)
{
	return call_simple(c, FUSE_DESTROY, 0, NULL, 0, NULL, 0);
}

int vfs_lookup(struct vfs_client *c, uint64_t parent, const char *name,
	       struct fuse_entry_out *out)
{
	struct vfs_arg a[] = { STR(name) };
	struct vfs_out o[] = { OUT(out, sizeof(*out)) };

	return call_simple(c, FUSE_LOOKUP, parent, a, 1, o, 1);
}

/* Linux puts a forget's header and argument in a single descriptor on
 * the hiprio queue and expects no reply. */
static int forget_send(struct vfs_client *c, uint32_t op, uint64_t nodeid,
		       const void *arg, size_t len)
{
	struct fuse_in_header ih = {
		.len = (uint32_t)(sizeof(ih) + len), .opcode = op,
		.unique = vfs_next_unique(c), .nodeid = nodeid,
		.uid = c->uid, .gid = c->gid, .pid = c->pid,
	};
	uint8_t buf[sizeof(ih) + sizeof(struct fuse_batch_forget_in) +
		    64 * sizeof(struct fuse_forget_one)];
	ssize_t n;

	if (len > sizeof(buf) - sizeof(ih))
		return -E2BIG;
	memcpy(buf, &ih, sizeof(ih));
	memcpy(buf + sizeof(ih), arg, len);
	n = vfs_raw(c, 0, buf, ih.len, NULL, 0);
	return n < 0 ? (int)n : 0;
}

int vfs_forget(struct vfs_client *c, uint64_t nodeid, uint64_t nlookup)
{
	struct fuse_forget_in in = { .nlookup = nlookup };

	return forget_send(c, FUSE_FORGET, nodeid, &in, sizeof(in));
}

int vfs_batch_forget(struct vfs_client *c, const struct fuse_forget_one *items,
		     unsigned count)
{
	uint8_t buf[sizeof(struct fuse_batch_forget_in) +
		    64 * sizeof(struct fuse_forget_one)];
	struct fuse_batch_forget_in in = { .count = count };

	if (count > 64)
		return -E2BIG;
	memcpy(buf, &in, sizeof(in));
	memcpy(buf + sizeof(in), items, count * sizeof(*items));
	return forget_send(c, FUSE_BATCH_FORGET, 0, buf,
			   sizeof(in) + count * sizeof(*items));
}

int vfs_interrupt(struct vfs_client *c, uint64_t unique)
{
	struct {
		struct fuse_in_header ih;
		struct fuse_interrupt_in in;
	} m = {
		.ih = { .len = sizeof(m), .opcode = FUSE_INTERRUPT,
			.unique = unique | 1, .uid = c->uid, .gid = c->gid,
			.pid = c->pid },
		.in = { .unique = unique },
	};
	struct vfs_async *a;
	int err;

	a = vfs_async_submit(c, 0, &m, sizeof(m),
			     sizeof(struct fuse_out_header), NULL, &err);
	if (!a)
		return err;
	vfs_async_free(c, a);   /* nobody waits for the answer */
	return 0;
}

int vfs_getattr(struct vfs_client *c, uint64_t nodeid, uint64_t fh,
		struct fuse_attr_out *out)
{
	struct fuse_getattr_in in = { 0 };
	struct vfs_arg a[] = { ARGV(in) };
	struct vfs_out o[] = { OUT(out, sizeof(*out)) };

	if (fh != VFS_NO_FH) {
		in.getattr_flags = FUSE_GETATTR_FH;
		in.fh = fh;
	}
	return call_simple(c, FUSE_GETATTR, nodeid, a, 1, o, 1);
}

int vfs_setattr(struct vfs_client *c, uint64_t nodeid,
		const struct fuse_setattr_in *in, struct fuse_attr_out *out)
{
	struct fuse_attr_out tmp;
	struct vfs_arg a[] = { ARG(in, sizeof(*in)) };
	struct vfs_out o[] = { OUT(out ? out : &tmp, sizeof(*out)) };

	return call_simple(c, FUSE_SETATTR, nodeid, a, 1, o, 1);
}

ssize_t vfs_readlink(struct vfs_client *c, uint64_t nodeid, char *buf,
		     size_t size)
{
	struct vfs_out o[] = { { .ptr = buf, .len = size, .paged = true } };
	struct vfs_call call = {
		.opcode = FUSE_READLINK, .nodeid = nodeid, .queue = VFS_Q_AUTO,
		.out = o, .nout = 1,
	};
	int err = vfs_call(c, &call);

	if (err)
		return err;
	if (call.out_len < size)
		buf[call.out_len] = '\0';
	return (ssize_t)call.out_len;
}

int vfs_symlink(struct vfs_client *c, uint64_t parent, const char *name,
		const char *target, struct fuse_entry_out *out)
{
	struct vfs_arg a[] = { STR(name), STR(target) };
	struct vfs_out o[] = { OUT(out, sizeof(*out)) };

	return call_simple(c, FUSE_SYMLINK, parent, a, 2, o, 1);
}

/* Without FUSE_DONT_MASK the kernel applies the umask itself. */
static uint32_t mode_masked(const struct vfs_client *c, uint32_t mode,
			    uint32_t umask)
{
	return (init_flags(c) & FUSE_DONT_MASK) ? mode : (mode & ~umask);
}

int vfs_mknod(struct vfs_client *c, uint64_t parent, const char *name,
	      uint32_t mode, uint32_t rdev, uint32_t umask,
	      struct fuse_entry_out *out)
{
	struct fuse_mknod_in in = {
		.mode = mode_masked(c, mode, umask), .rdev = rdev, .umask = umask,
	};
	struct vfs_arg a[] = { ARGV(in), STR(name) };
	struct vfs_out o[] = { OUT(out, sizeof(*out)) };

	return call_simple(c, FUSE_MKNOD, parent, a, 2, o, 1);
}

int vfs_mkdir(struct vfs_client *c, uint64_t parent, const char *name,
	      uint32_t mode, uint32_t umask, struct fuse_entry_out *out)
{
	struct fuse_mkdir_in in = {
		.mode = mode_masked(c, mode, umask), .umask = umask,
	};
	struct vfs_arg a[] = { ARGV(in), STR(name) };
	struct vfs_out o[] = { OUT(out, sizeof(*out)) };

	return call_simple(c, FUSE_MKDIR, parent, a, 2, o, 1);
}

int vfs_unlink(struct vfs_client *c, uint64_t parent, const char *name)
{
	struct vfs_arg a[] = { STR(name) };

	return call_simple(c, FUSE_UNLINK, parent, a, 1, NULL, 0);
}

int vfs_rmdir(struct vfs_client *c, uint64_t parent, const char *name)
{
	struct vfs_arg a[] = { STR(name) };

	return call_simple(c, FUSE_RMDIR, parent, a, 1, NULL, 0);
}

int vfs_rename(struct vfs_client *c, uint64_t olddir, const char *oldname,
	       uint64_t newdir, const char *newname, uint32_t flags)
{
	struct fuse_rename_in in = { .newdir = newdir };
	struct vfs_arg a[] = { ARGV(in), STR(oldname), STR(newname) };

	if (flags)
		return vfs_rename2(c, olddir, oldname, newdir, newname, flags);
	return call_simple(c, FUSE_RENAME, olddir, a, 3, NULL, 0);
}

int vfs_rename2(struct vfs_client *c, uint64_t olddir, const char *oldname,
		uint64_t newdir, const char *newname, uint32_t flags)
{
	struct fuse_rename2_in in = { .newdir = newdir, .flags = flags };
	struct vfs_arg a[] = { ARGV(in), STR(oldname), STR(newname) };

	return call_simple(c, FUSE_RENAME2, olddir, a, 3, NULL, 0);
}

int vfs_link(struct vfs_client *c, uint64_t nodeid, uint64_t newparent,
	     const char *newname, struct fuse_entry_out *out)
{
	struct fuse_link_in in = { .oldnodeid = nodeid };
	struct vfs_arg a[] = { ARGV(in), STR(newname) };
	struct vfs_out o[] = { OUT(out, sizeof(*out)) };

	return call_simple(c, FUSE_LINK, newparent, a, 2, o, 1);
}

static int open_common(struct vfs_client *c, uint32_t op, uint64_t nodeid,
		       uint32_t flags, struct fuse_open_out *out)
{
	struct fuse_open_in in = { .flags = flags & ~(uint32_t)(O_CREAT | O_EXCL | O_NOCTTY) };
	struct vfs_arg a[] = { ARGV(in) };
	struct vfs_out o[] = { OUT(out, sizeof(*out)) };

	return call_simple(c, op, nodeid, a, 1, o, 1);
}

int vfs_open(struct vfs_client *c, uint64_t nodeid, uint32_t flags,
	     struct fuse_open_out *out)
{
	return open_common(c, FUSE_OPEN, nodeid, flags, out);
}

int vfs_opendir(struct vfs_client *c, uint64_t nodeid, uint32_t flags,
		struct fuse_open_out *out)
{
	return open_common(c, FUSE_OPENDIR, nodeid, flags, out);
}

static int create_common(struct vfs_client *c, uint32_t op, uint64_t parent,
			 const char *name, uint32_t flags, uint32_t mode,
			 uint32_t umask, struct fuse_entry_out *entry,
			 struct fuse_open_out *open)
{
	struct fuse_create_in in = {
		.flags = flags, .mode = mode_masked(c, mode, umask),
		.umask = umask,
	};
	struct vfs_arg a[] = { ARGV(in), STR(name) };
	struct vfs_out o[] = { OUT(entry, sizeof(*entry)),
			       OUT(open, sizeof(*open)) };

	return call_simple(c, op, parent, a, 2, o, 2);
}

int vfs_create(struct vfs_client *c, uint64_t parent, const char *name,
	       uint32_t flags, uint32_t mode, uint32_t umask,
	       struct fuse_entry_out *entry, struct fuse_open_out *open)
{
	return create_common(c, FUSE_CREATE, parent, name, flags, mode, umask,
			     entry, open);
}

int vfs_tmpfile(struct vfs_client *c, uint64_t parent, uint32_t flags,
		uint32_t mode, uint32_t umask, struct fuse_entry_out *entry,
		struct fuse_open_out *open)
{
	/* The kernel sends the dentry's (meaningless) name along. */
	return create_common(c, FUSE_TMPFILE, parent, "tmpfile", flags, mode,
			     umask, entry, open);
}

static ssize_t read_common(struct vfs_client *c, uint32_t op, uint64_t nodeid,
			   uint64_t fh, uint64_t offset, void *buf, size_t size)
{
	struct fuse_read_in in = {
		.fh = fh, .offset = offset,
		.size = (uint32_t)(size > c->max_io ? c->max_io : size),
	};
	struct vfs_arg a[] = { ARGV(in) };
	struct vfs_out o[] = { { .ptr = buf, .len = in.size, .paged = true } };
	struct vfs_call call = {
		.opcode = op, .nodeid = nodeid, .queue = VFS_Q_AUTO,
		.in = a, .nin = 1, .out = o, .nout = 1,
	};
	int err = vfs_call(c, &call);

	return err ? err : (ssize_t)call.out_len;
}

ssize_t vfs_read(struct vfs_client *c, uint64_t nodeid, uint64_t fh,
		 uint64_t offset, void *buf, size_t size)
{
	return read_common(c, FUSE_READ, nodeid, fh, offset, buf, size);
}

ssize_t vfs_readdir(struct vfs_client *c, uint64_t nodeid, uint64_t fh,
		    uint64_t offset, void *buf, size_t size)
{
	return read_common(c, FUSE_READDIR, nodeid, fh, offset, buf, size);
}

ssize_t vfs_readdirplus(struct vfs_client *c, uint64_t nodeid, uint64_t fh,
			uint64_t offset, void *buf, size_t size)
{
	return read_common(c, FUSE_READDIRPLUS, nodeid, fh, offset, buf, size);
}

ssize_t vfs_write(struct vfs_client *c, uint64_t nodeid, uint64_t fh,
		  uint64_t offset, const void *buf, size_t size,
		  uint32_t write_flags)
{
	struct fuse_write_in in = {
		.fh = fh, .offset = offset, .write_flags = write_flags,
		.size = (uint32_t)(size > c->max_io ? c->max_io : size),
	};
	struct fuse_write_out wo;
	struct vfs_arg a[] = { ARGV(in), { .ptr = buf, .len = in.size, .paged = true } };
	struct vfs_out o[] = { OUTV(wo) };
	int err = call_simple(c, FUSE_WRITE, nodeid, a, 2, o, 1);

	if (err)
		return err;
	return wo.size > in.size ? -EIO : (ssize_t)wo.size;
}

int vfs_statfs(struct vfs_client *c, uint64_t nodeid, struct fuse_kstatfs *out)
{
	struct vfs_out o[] = { OUT(out, sizeof(*out)) };

	return call_simple(c, FUSE_STATFS, nodeid, NULL, 0, o, 1);
}

static int release_common(struct vfs_client *c, uint32_t op, uint64_t nodeid,
			  uint64_t fh, uint32_t flags)
{
	struct fuse_release_in in = { .fh = fh, .flags = flags };
	struct vfs_arg a[] = { ARGV(in) };

	return call_simple(c, op, nodeid, a, 1, NULL, 0);
}

int vfs_release(struct vfs_client *c, uint64_t nodeid, uint64_t fh,
		uint32_t flags)
{
	return release_common(c, FUSE_RELEASE, nodeid, fh, flags);
}

int vfs_releasedir(struct vfs_client *c, uint64_t nodeid, uint64_t fh,
		   uint32_t flags)
{
	return release_common(c, FUSE_RELEASEDIR, nodeid, fh, flags);
}

static int fsync_common(struct vfs_client *c, uint32_t op, uint64_t nodeid,
			uint64_t fh, bool datasync)
{
	struct fuse_fsync_in in = { .fh = fh, .fsync_flags = datasync ? 1 : 0 };
	struct vfs_arg a[] = { ARGV(in) };

	return call_simple(c, op, nodeid, a, 1, NULL, 0);
}

int vfs_fsync(struct vfs_client *c, uint64_t nodeid, uint64_t fh, bool datasync)
{
	return fsync_common(c, FUSE_FSYNC, nodeid, fh, datasync);
}

int vfs_fsyncdir(struct vfs_client *c, uint64_t nodeid, uint64_t fh,
		 bool datasync)
{
	return fsync_common(c, FUSE_FSYNCDIR, nodeid, fh, datasync);
}

int vfs_flush(struct vfs_client *c, uint64_t nodeid, uint64_t fh,
	      uint64_t lock_owner)
{
	struct fuse_flush_in in = { .fh = fh, .lock_owner = lock_owner };
	struct vfs_arg a[] = { ARGV(in) };

	return call_simple(c, FUSE_FLUSH, nodeid, a, 1, NULL, 0);
}

int vfs_setxattr(struct vfs_client *c, uint64_t nodeid, const char *name,
		 const void *value, size_t size, uint32_t flags)
{
	struct fuse_setxattr_in in = { .size = (uint32_t)size, .flags = flags };
	/* The short layout unless the daemon agreed to FUSE_SETXATTR_EXT. */
	size_t inlen = (init_flags(c) & FUSE_SETXATTR_EXT) ?
		       sizeof(in) : FUSE_COMPAT_SETXATTR_IN_SIZE;
	struct vfs_arg a[] = { ARG(&in, inlen), STR(name), ARG(value, size) };

	return call_simple(c, FUSE_SETXATTR, nodeid, a, 3, NULL, 0);
}

static ssize_t xattr_get_common(struct vfs_client *c, uint32_t op,
				uint64_t nodeid, const char *name, void *buf,
				size_t size)
{
	struct fuse_getxattr_in in = { .size = (uint32_t)size };
	struct fuse_getxattr_out go;
	struct vfs_arg a[] = { ARGV(in), STR(name ? name : "") };
	struct vfs_out o[] = { size ? (struct vfs_out)OUT(buf, size) :
				      (struct vfs_out)OUTV(go) };
	struct vfs_call call = {
		.opcode = op, .nodeid = nodeid, .queue = VFS_Q_AUTO,
		.in = a, .nin = name ? 2 : 1, .out = o, .nout = 1,
	};
	int err = vfs_call(c, &call);

	if (err)
		return err;
	return size ? (ssize_t)call.out_len : (ssize_t)go.size;
}

ssize_t vfs_getxattr(struct vfs_client *c, uint64_t nodeid, const char *name,
		     void *buf, size_t size)
{
	return xattr_get_common(c, FUSE_GETXATTR, nodeid, name, buf, size);
}

ssize_t vfs_listxattr(struct vfs_client *c, uint64_t nodeid, char *buf,
		      size_t size)
{
	return xattr_get_common(c, FUSE_LISTXATTR, nodeid, NULL, buf, size);
}

int vfs_removexattr(struct vfs_client *c, uint64_t nodeid, const char *name)
{
	struct vfs_arg a[] = { STR(name) };

	return call_simple(c, FUSE_REMOVEXATTR, nodeid, a, 1, NULL, 0);
}

int vfs_getlk(struct vfs_client *c, uint64_t nodeid, uint64_t fh,
	      uint64_t owner, const struct fuse_file_lock *lk,
	      struct fuse_file_lock *out)
{
	struct fuse_lk_in in = { .fh = fh, .owner = owner, .lk = *lk };
	struct fuse_lk_out lo;
	struct vfs_arg a[] = { ARGV(in) };
	struct vfs_out o[] = { OUTV(lo) };
	int err = call_simple(c, FUSE_GETLK, nodeid, a, 1, o, 1);

	if (!err)
		*out = lo.lk;
	return err;
}

static int setlk_common(struct vfs_client *c, uint32_t op, uint64_t nodeid,
			uint64_t fh, uint64_t owner,
			const struct fuse_file_lock *lk, bool flock)
{
	struct fuse_lk_in in = {
		.fh = fh, .owner = owner, .lk = *lk,
		.lk_flags = flock ? FUSE_LK_FLOCK : 0,
	};
	struct vfs_arg a[] = { ARGV(in) };

	return call_simple(c, op, nodeid, a, 1, NULL, 0);
}

int vfs_setlk(struct vfs_client *c, uint64_t nodeid, uint64_t fh,
	      uint64_t owner, const struct fuse_file_lock *lk, bool flock)
{
	return setlk_common(c, FUSE_SETLK, nodeid, fh, owner, lk, flock);
}

int vfs_setlkw(struct vfs_client *c, uint64_t nodeid, uint64_t fh,
	       uint64_t owner, const struct fuse_file_lock *lk, bool flock)
{
	return setlk_common(c, FUSE_SETLKW, nodeid, fh, owner, lk, flock);
}

int vfs_access(struct vfs_client *c, uint64_t nodeid, uint32_t mask)
{
	struct fuse_access_in in = { .mask = mask };
	struct vfs_arg a[] = { ARGV(in) };

	return call_simple(c, FUSE_ACCESS, nodeid, a, 1, NULL, 0);
}

int vfs_fallocate(struct vfs_client *c, uint64_t nodeid, uint64_t fh,
		  uint64_t offset, uint64_t length, uint32_t mode)
{
	struct fuse_fallocate_in in = {
		.fh = fh, .offset = offset, .length = length, .mode = mode,
	};
	struct vfs_arg a[] = { ARGV(in) };

	return call_simple(c, FUSE_FALLOCATE, nodeid, a, 1, NULL, 0);
}

int vfs_lseek(struct vfs_client *c, uint64_t nodeid, uint64_t fh,
	      uint64_t offset, uint32_t whence, uint64_t *result)
{
	struct fuse_lseek_in in = { .fh = fh, .offset = offset, .whence = whence };
	struct fuse_lseek_out lo;
	struct vfs_arg a[] = { ARGV(in) };
	struct vfs_out o[] = { OUTV(lo) };
	int err = call_simple(c, FUSE_LSEEK, nodeid, a, 1, o, 1);

	if (!err && result)
		*result = lo.offset;
	return err;
}

ssize_t vfs_copy_file_range(struct vfs_client *c, uint64_t nodeid_in,
			    uint64_t fh_in, uint64_t off_in,
			    uint64_t nodeid_out, uint64_t fh_out,
			    uint64_t off_out, uint64_t len, uint64_t flags)
{
	struct fuse_copy_file_range_in in = {
		.fh_in = fh_in, .off_in = off_in, .nodeid_out = nodeid_out,
		.fh_out = fh_out, .off_out = off_out, .len = len, .flags = flags,
	};
	struct fuse_write_out wo;
	struct vfs_arg a[] = { ARGV(in) };
	struct vfs_out o[] = { OUTV(wo) };
	int err = call_simple(c, FUSE_COPY_FILE_RANGE, nodeid_in, a, 1, o, 1);

	return err ? err : (ssize_t)wo.size;
}

int vfs_syncfs(struct vfs_client *c)
{
	struct fuse_syncfs_in in = { 0 };
	struct vfs_arg a[] = { ARGV(in) };

	return call_simple(c, FUSE_SYNCFS, FUSE_ROOT_ID, a, 1, NULL, 0);
}

int vfs_setupmapping(struct vfs_client *c, uint64_t nodeid, uint64_t fh,
		     uint64_t foffset, uint64_t len, uint64_t flags, uint64_t moffset)
{
	struct fuse_setupmapping_in in = {
		.fh = fh, .foffset = foffset, .len = len, .flags = flags, .moffset = moffset,
	};
	struct vfs_arg a[] = { ARGV(in) };

	return call_simple(c, FUSE_SETUPMAPPING, nodeid, a, 1, NULL, 0);
}

int vfs_removemapping(struct vfs_client *c, uint64_t nodeid,
		      const struct fuse_removemapping_one *ranges, uint32_t count)
{
	struct fuse_removemapping_in in = { .count = count };
	struct vfs_arg a[] = { ARGV(in), ARG(ranges, (size_t)count * sizeof(*ranges)) };

	return call_simple(c, FUSE_REMOVEMAPPING, nodeid, a, count ? 2 : 1, NULL, 0);
}
