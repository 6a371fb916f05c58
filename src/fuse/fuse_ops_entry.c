/* fuse_ops_entry.c: handlers for inodes and directory entries (lookup,
 * attributes, creating, linking, renaming and removing names) and the
 * whole-file-system requests (statfs, access, syncfs, forget, interrupt).
 * Each is: decode, call the file system, encode. */
#include "fuse/fuse_internal.h"

#include <errno.h>
#include <stdio.h>

#include "util/log.h"

/* Reply with an entry the file system filled, or its error. */
static int entry_reply(struct fuse_req *req, int err, const struct fuse_entry_out *entry)
{
	if (err)
		return err;
	return reply_entry(req, entry);
}

int do_lookup(struct fuse_req *req)
{
	char name[NAME_MAX + 1];
	struct fuse_entry_out entry = { 0 };

	if (!req->ops->lookup)
		return -ENOSYS;
	int err = req_read_name(req, name, FUSE_NAME_LOOKUP);
	if (!err)
		err = reply_reserve(req, reply_entry_size(req));
	if (err)
		return err;
	err = fs_result(FS_CALL(req, lookup, req->hdr.nodeid, name, &entry));
	return entry_reply(req, err, &entry);
}

int do_forget(struct fuse_req *req)
{
	struct fuse_forget_in in;

	if (!req->ops->forget)
		return -ENOSYS;
	int err = req_read(req, &in, sizeof(in));
	if (err)
		return err;
	req->ops->forget(req->fs, req->hdr.nodeid, in.nlookup);
	return 0;
}

int do_batch_forget(struct fuse_req *req)
{
	struct fuse_batch_forget_in in;

	if (!req->ops->forget)
		return -ENOSYS;
	int err = req_read(req, &in, sizeof(in));
	if (err)
		return err;
	/* Check the whole batch before dropping any reference. */
	if (in.count > iov_cursor_remaining(&req->in) / sizeof(struct fuse_forget_one)) {
		log_error_once("fuse: BATCH_FORGET: count %u exceeds the request", in.count);
		return -EINVAL;
	}
	for (uint32_t i = 0; i < in.count; i++) {
		struct fuse_forget_one one;
		if (req_read(req, &one, sizeof(one)))
			return -EINVAL;
		req->ops->forget(req->fs, one.nodeid, one.nlookup);
	}
	return 0;
}

int do_getattr(struct fuse_req *req)
{
	struct fuse_getattr_in in = { 0 };
	struct fuse_attr_out out = { 0 };
	int err = 0;

	if (!req->ops->getattr)
		return -ENOSYS;
	/* Before 7.9 GETATTR had no body. */
	if (req->minor >= 9)
		err = req_read(req, &in, sizeof(in));
	if (!err)
		err = reply_reserve(req, reply_attr_size(req));
	if (err)
		return err;
	bool has_fh = in.getattr_flags & FUSE_GETATTR_FH;
	err = fs_result(FS_CALL(req, getattr, req->hdr.nodeid, has_fh, has_fh ? in.fh : 0, &out));
	if (err)
		return err;
	return reply_attr(req, &out);
}

int do_statx(struct fuse_req *req)
{
	struct vfsd_fuse_statx_in in;
	struct vfsd_fuse_statx_out out = { 0 };

	if (!req->ops->statx)
		return -ENOSYS;
	int err = req_read(req, &in, sizeof(in));
	if (!err)
		err = reply_reserve(req, sizeof(out));
	if (err)
		return err;
	bool has_fh = in.getattr_flags & FUSE_GETATTR_FH;
	err = fs_result(FS_CALL(req, statx, req->hdr.nodeid, has_fh, has_fh ? in.fh : 0,
				in.sx_flags, in.sx_mask, &out));
	if (err)
		return err;
	return reply_put(req, &out, sizeof(out));
}

int do_setattr(struct fuse_req *req)
{
	struct fuse_setattr_in in;
	struct fuse_attr_out out = { 0 };

	if (!req->ops->setattr)
		return -ENOSYS;
	int err = req_read(req, &in, sizeof(in));
	if (!err)
		err = reply_reserve(req, reply_attr_size(req));
	if (err)
		return err;
	err = fs_result(FS_CALL(req, setattr, req->hdr.nodeid, &in, &out));
	if (err)
		return err;
	return reply_attr(req, &out);
}

int do_readlink(struct fuse_req *req)
{
	char target[PATH_MAX];

	if (!req->ops->readlink)
		return -ENOSYS;
	int ret = FS_CALL(req, readlink, req->hdr.nodeid, target, sizeof(target));
	int err = fs_result(ret);
	if (err)
		return err;
	if ((size_t)ret > sizeof(target))
		return -EIO;
	/* A full buffer may hide a cut target; Linux targets are shorter. */
	if ((size_t)ret == sizeof(target))
		return -ENAMETOOLONG;
	return reply_put(req, target, (size_t)ret);
}

int do_symlink(struct fuse_req *req)
{
	char name[NAME_MAX + 1];
	char target[PATH_MAX];
	struct fuse_entry_out entry = { 0 };

	if (!req->ops->symlink)
		return -ENOSYS;
	int err = req_read_name(req, name, FUSE_NAME_ENTRY);
	if (!err)
		err = req_read_target(req, target);
	if (!err)
		err = reply_reserve(req, reply_entry_size(req));
	if (err)
		return err;
	err = fs_result(FS_CALL(req, symlink, req->hdr.nodeid, name, target, &entry));
	return entry_reply(req, err, &entry);
}

int do_mknod(struct fuse_req *req)
{
	struct fuse_mknod_in in;
	char name[NAME_MAX + 1];
	struct fuse_entry_out entry = { 0 };

	if (!req->ops->mknod)
		return -ENOSYS;
	/* umask arrived in 7.12. */
	size_t in_size = req->minor < 12 ? FUSE_COMPAT_MKNOD_IN_SIZE : sizeof(in);
	int err = req_read_compat(req, &in, sizeof(in), in_size);
	if (!err)
		err = req_read_name(req, name, FUSE_NAME_ENTRY);
	if (!err)
		err = reply_reserve(req, reply_entry_size(req));
	if (err)
		return err;
	err = fs_result(FS_CALL(req, mknod, req->hdr.nodeid, name, in.mode, in.rdev,
				req_umask(req, in.umask), &entry));
	return entry_reply(req, err, &entry);
}

int do_mkdir(struct fuse_req *req)
{
	struct fuse_mkdir_in in;
	char name[NAME_MAX + 1];
	struct fuse_entry_out entry = { 0 };

	if (!req->ops->mkdir)
		return -ENOSYS;
	int err = req_read(req, &in, sizeof(in));
	if (!err)
		err = req_read_name(req, name, FUSE_NAME_ENTRY);
	if (!err)
		err = reply_reserve(req, reply_entry_size(req));
	if (err)
		return err;
	err = fs_result(FS_CALL(req, mkdir, req->hdr.nodeid, name, in.mode,
				req_umask(req, in.umask), &entry));
	return entry_reply(req, err, &entry);
}

int do_unlink(struct fuse_req *req)
{
	char name[NAME_MAX + 1];

	if (!req->ops->unlink)
		return -ENOSYS;
	int err = req_read_name(req, name, FUSE_NAME_ENTRY);
	if (err)
		return err;
	return fs_result(FS_CALL(req, unlink, req->hdr.nodeid, name));
}

int do_rmdir(struct fuse_req *req)
{
	char name[NAME_MAX + 1];

	if (!req->ops->rmdir)
		return -ENOSYS;
	int err = req_read_name(req, name, FUSE_NAME_ENTRY);
	if (err)
		return err;
	return fs_result(FS_CALL(req, rmdir, req->hdr.nodeid, name));
}

static int rename_common(struct fuse_req *req, uint64_t newdir, uint32_t flags)
{
	char name[NAME_MAX + 1];
	char new_name[NAME_MAX + 1];

	int err = req_read_name(req, name, FUSE_NAME_ENTRY);
	if (!err)
		err = req_read_name(req, new_name, FUSE_NAME_ENTRY);
	if (err)
		return err;
	return fs_result(FS_CALL(req, rename, req->hdr.nodeid, name, newdir, new_name, flags));
}

int do_rename(struct fuse_req *req)
{
	struct fuse_rename_in in;

	if (!req->ops->rename)
		return -ENOSYS;
	int err = req_read(req, &in, sizeof(in));
	if (err)
		return err;
	return rename_common(req, in.newdir, 0);
}

#define RENAME2_KNOWN_FLAGS (RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT)

int do_rename2(struct fuse_req *req)
{
	struct fuse_rename2_in in;

	if (!req->ops->rename)
		return -ENOSYS;
	int err = req_read(req, &in, sizeof(in));
	if (err)
		return err;
	if (in.flags & ~(uint32_t)RENAME2_KNOWN_FLAGS) {
		log_error_once("fuse: RENAME2: unknown flags %#x", in.flags);
		return -EINVAL;
	}
	return rename_common(req, in.newdir, in.flags);
}

int do_link(struct fuse_req *req)
{
	struct fuse_link_in in;
	char name[NAME_MAX + 1];
	struct fuse_entry_out entry = { 0 };

	if (!req->ops->link)
		return -ENOSYS;
	int err = req_read(req, &in, sizeof(in));
	if (!err)
		err = req_read_name(req, name, FUSE_NAME_ENTRY);
	if (!err)
		err = reply_reserve(req, reply_entry_size(req));
	if (err)
		return err;
	/* The header names the new parent, the body the existing inode. */
	err = fs_result(FS_CALL(req, link, in.oldnodeid, req->hdr.nodeid, name, &entry));
	return entry_reply(req, err, &entry);
}

int do_tmpfile(struct fuse_req *req)
{
	struct fuse_create_in in;
	struct fuse_entry_out entry = { 0 };
	struct fuse_open_out open = { 0 };

	if (!req->ops->tmpfile)
		return -ENOSYS;
	/* The guest appends its dentry's placeholder name ("/"): it means
	 * nothing to us and is not read. */
	int err = req_read(req, &in, sizeof(in));
	if (!err)
		err = reply_reserve(req, reply_entry_size(req) + sizeof(open));
	if (err)
		return err;
	err = fs_result(FS_CALL(req, tmpfile, req->hdr.nodeid, in.mode, in.flags,
				req_umask(req, in.umask), &entry, &open));
	if (err)
		return err;
	reply_entry(req, &entry);
	return reply_put(req, &open, sizeof(open));
}

int do_statfs(struct fuse_req *req)
{
	struct fuse_statfs_out out = { 0 };

	if (!req->ops->statfs)
		return -ENOSYS;
	/* frsize and the spare words arrived in 7.4. */
	size_t size = req->minor < 4 ? FUSE_COMPAT_STATFS_SIZE : sizeof(out);
	int err = reply_reserve(req, size);
	if (err)
		return err;
	err = fs_result(FS_CALL(req, statfs, req->hdr.nodeid, &out.st));
	if (err)
		return err;
	return reply_put(req, &out, size);
}

int do_access(struct fuse_req *req)
{
	struct fuse_access_in in;

	if (!req->ops->access)
		return -ENOSYS;
	int err = req_read(req, &in, sizeof(in));
	if (err)
		return err;
	return fs_result(FS_CALL(req, access, req->hdr.nodeid, in.mask));
}

int do_syncfs(struct fuse_req *req)
{
	struct fuse_syncfs_in in;

	if (!req->ops->syncfs)
		return -ENOSYS;
	int err = req_read(req, &in, sizeof(in));
	if (err)
		return err;
	return fs_result(FS_CALL(req, syncfs, req->hdr.nodeid));
}

int do_interrupt(struct fuse_req *req)
{
	struct fuse_interrupt_in in;

	int err = req_read(req, &in, sizeof(in));
	if (err)
		return err;
	if (req->ops->interrupt)
		req->ops->interrupt(req->fs, in.unique);
	return 0;
}
