/* fuse_ops_file.c: handlers for open files: open/create, zero-copy read
 * and write, release, flush, fsync, locks, fallocate, lseek and
 * copy_file_range. Each is: decode, call the file system, encode. */
#include "fuse/fuse_internal.h"

#include <errno.h>

#include "util/log.h"

/* Pieces a zero-copy slice takes without a heap allocation. */
#define SLICE_STACK_PIECES 64

/* fuse_lk_in before 7.9: no lk_flags. */
#define COMPAT_LK_IN_SIZE offsetof(struct fuse_lk_in, lk_flags)

int do_open(struct fuse_req *req)
{
	struct fuse_open_in in;
	struct fuse_open_out out = { 0 };

	if (!req->ops->open)
		return -ENOSYS;
	int err = req_read(req, &in, sizeof(in));
	if (!err)
		err = reply_reserve(req, sizeof(out));
	if (err)
		return err;
	/* open_flags was "unused" before 7.33 */
	uint32_t open_flags = req->minor >= 33 ? in.open_flags & FUSE_OPEN_KILL_SUIDGID : 0;
	err = fs_result(FS_CALL(req, open, req->hdr.nodeid, in.flags, open_flags, &out));
	if (err)
		return err;
	return reply_put(req, &out, sizeof(out));
}

int do_create(struct fuse_req *req)
{
	struct fuse_create_in in;
	char name[NAME_MAX + 1];
	struct fuse_entry_out entry = { 0 };
	struct fuse_open_out open = { 0 };

	if (!req->ops->create)
		return -ENOSYS;
	/* Before 7.12 the body was {flags, mode}: no umask. */
	size_t in_size = req->minor < 12 ? 2 * sizeof(uint32_t) : sizeof(in);
	int err = req_read_compat(req, &in, sizeof(in), in_size);
	if (!err)
		err = req_read_name(req, name, FUSE_NAME_ENTRY);
	if (!err)
		err = reply_reserve(req, reply_entry_size(req) + sizeof(open));
	if (err)
		return err;
	/* open_flags was padding before 7.33 */
	uint32_t open_flags = req->minor >= 33 ? in.open_flags & FUSE_OPEN_KILL_SUIDGID : 0;
	err = fs_result(FS_CALL(req, create, req->hdr.nodeid, name, in.mode, in.flags,
				req_umask(req, in.umask), open_flags, &entry, &open));
	if (err)
		return err;
	reply_entry(req, &entry);
	return reply_put(req, &open, sizeof(open));
}

int do_read(struct fuse_req *req)
{
	struct fuse_read_in in;
	struct iovec stack[SLICE_STACK_PIECES];
	struct iovec *dst;

	if (!req->ops->read)
		return -ENOSYS;
	int err = req_read_read_in(req, &in);
	if (err)
		return err;
	size_t size = req_data_limit(req, in.size);
	int count = req_slice_out(req, size, stack, SLICE_STACK_PIECES, &dst);
	if (count < 0)
		return count;
	ssize_t ret = FS_CALL(req, read, req->hdr.nodeid, in.fh, in.offset, size, dst,
			      (unsigned)count);
	req_slice_free(dst, stack);
	err = fs_result(ret);
	if (err)
		return err;
	if ((size_t)ret > size)
		return -EIO;
	/* The data is already in place right after the header. */
	req->payload = (size_t)ret;
	return 0;
}

int do_write(struct fuse_req *req)
{
	struct fuse_write_in in;
	struct fuse_write_out out = { 0 };
	struct iovec stack[SLICE_STACK_PIECES];
	struct iovec *src;

	if (!req->ops->write)
		return -ENOSYS;
	size_t in_size = req->minor < 9 ? FUSE_COMPAT_WRITE_IN_SIZE : sizeof(in);
	int err = req_read_compat(req, &in, sizeof(in), in_size);
	if (err)
		return err;
	if (in.size != iov_cursor_remaining(&req->in) || in.size > req->max_write) {
		log_error_once("fuse: WRITE: size %u but %zu data bytes (max_write %u)", in.size,
			       iov_cursor_remaining(&req->in), req->max_write);
		return -EINVAL;
	}
	err = reply_reserve(req, sizeof(out));
	if (err)
		return err;
	int count = req_slice_in(req, in.size, stack, SLICE_STACK_PIECES, &src);
	if (count < 0)
		return count;
	ssize_t ret = FS_CALL(req, write, req->hdr.nodeid, in.fh, in.offset, in.size,
			      in.write_flags, src, (unsigned)count);
	req_slice_free(src, stack);
	err = fs_result(ret);
	if (err)
		return err;
	if ((size_t)ret > in.size)
		return -EIO;
	out.size = (uint32_t)ret;
	return reply_put(req, &out, sizeof(out));
}

int do_release(struct fuse_req *req)
{
	struct fuse_release_in in;

	if (!req->ops->release)
		return -ENOSYS;
	int err = req_read_release_in(req, &in);
	if (err)
		return err;
	return fs_result(FS_CALL(req, release, req->hdr.nodeid, in.fh, in.flags,
				 in.release_flags, in.lock_owner));
}

int do_fsync(struct fuse_req *req)
{
	struct fuse_fsync_in in;

	if (!req->ops->fsync)
		return -ENOSYS;
	int err = req_read(req, &in, sizeof(in));
	if (err)
		return err;
	return fs_result(FS_CALL(req, fsync, req->hdr.nodeid, in.fh,
				 in.fsync_flags & FUSE_FSYNC_FDATASYNC));
}

int do_flush(struct fuse_req *req)
{
	struct fuse_flush_in in;

	if (!req->ops->flush)
		return -ENOSYS;
	/* Before 7.8: no lock_owner. */
	size_t in_size = req->minor < 8 ? offsetof(struct fuse_flush_in, lock_owner) : sizeof(in);
	int err = req_read_compat(req, &in, sizeof(in), in_size);
	if (err)
		return err;
	return fs_result(FS_CALL(req, flush, req->hdr.nodeid, in.fh, in.lock_owner));
}

static int lk_in_decode(struct fuse_req *req, struct fuse_lk_in *in)
{
	size_t in_size = req->minor < 9 ? COMPAT_LK_IN_SIZE : sizeof(*in);
	return req_read_compat(req, in, sizeof(*in), in_size);
}

int do_getlk(struct fuse_req *req)
{
	struct fuse_lk_in in;
	struct fuse_lk_out out = { 0 };

	if (!req->ops->getlk)
		return -ENOSYS;
	int err = lk_in_decode(req, &in);
	if (!err)
		err = reply_reserve(req, sizeof(out));
	if (err)
		return err;
	out.lk = in.lk;
	err = fs_result(FS_CALL(req, getlk, req->hdr.nodeid, in.fh, in.owner, &out.lk));
	if (err)
		return err;
	return reply_put(req, &out, sizeof(out));
}

static int setlk_common(struct fuse_req *req, bool sleep)
{
	struct fuse_lk_in in;

	if (!req->ops->setlk)
		return -ENOSYS;
	int err = lk_in_decode(req, &in);
	if (err)
		return err;
	/* No thread may be parked for the guest: try without waiting, and
	 * tell a conflict apart from other failures. */
	bool try_only = sleep && req->no_wait;
	err = fs_result(FS_CALL(req, setlk, req->hdr.nodeid, in.fh, in.owner, &in.lk,
				sleep && !try_only, in.lk_flags & FUSE_LK_FLOCK));
	if (try_only && (err == -EAGAIN || err == -EACCES || err == -EWOULDBLOCK)) {
		log_error_once("fuse: SETLKW would wait with no thread left to serve the "
			       "queue: answered ENOLCK");
		err = -ENOLCK;
	}
	return err;
}

int do_setlk(struct fuse_req *req)
{
	return setlk_common(req, false);
}

int do_setlkw(struct fuse_req *req)
{
	return setlk_common(req, true);
}

int do_fallocate(struct fuse_req *req)
{
	struct fuse_fallocate_in in;

	if (!req->ops->fallocate)
		return -ENOSYS;
	int err = req_read(req, &in, sizeof(in));
	if (err)
		return err;
	return fs_result(FS_CALL(req, fallocate, req->hdr.nodeid, in.fh, in.offset, in.length,
				 in.mode));
}

int do_lseek(struct fuse_req *req)
{
	struct fuse_lseek_in in;
	struct fuse_lseek_out out = { 0 };

	if (!req->ops->lseek)
		return -ENOSYS;
	int err = req_read(req, &in, sizeof(in));
	if (!err)
		err = reply_reserve(req, sizeof(out));
	if (err)
		return err;
	err = fs_result(FS_CALL(req, lseek, req->hdr.nodeid, in.fh, in.offset, in.whence,
				&out.offset));
	if (err)
		return err;
	return reply_put(req, &out, sizeof(out));
}

int do_copy_file_range(struct fuse_req *req)
{
	struct fuse_copy_file_range_in in;
	struct fuse_write_out out = { 0 };

	if (!req->ops->copy_file_range)
		return -ENOSYS;
	int err = req_read(req, &in, sizeof(in));
	if (!err)
		err = reply_reserve(req, sizeof(out));
	if (err)
		return err;
	ssize_t ret = FS_CALL(req, copy_file_range, req->hdr.nodeid, in.fh_in, in.off_in,
			      in.nodeid_out, in.fh_out, in.off_out, in.len, in.flags);
	err = fs_result(ret);
	if (err)
		return err;
	/* The reply carries 32 bits: a larger count is a file system bug. */
	if ((uint64_t)ret > in.len || (uint64_t)ret > UINT32_MAX)
		return -EIO;
	out.size = (uint32_t)ret;
	return reply_put(req, &out, sizeof(out));
}
