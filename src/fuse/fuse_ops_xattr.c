/* fuse_ops_xattr.c: extended attribute handlers. Values and lists are
 * capped at 64 KiB (XATTR_SIZE_MAX / XATTR_LIST_MAX) and answered with the
 * errnos Linux gives for the same calls. */
#include "fuse/fuse_internal.h"

#include <errno.h>
#include <stdlib.h>

#include "util/log.h"

int do_setxattr(struct fuse_req *req)
{
	struct fuse_setxattr_in in;
	char name[XATTR_NAME_MAX + 1];

	if (!req->ops->setxattr)
		return -ENOSYS;
	/* setxattr_flags exist only when FUSE_SETXATTR_EXT was negotiated. */
	size_t in_size = (req->flags & FUSE_SETXATTR_EXT) ? sizeof(in) :
							    FUSE_COMPAT_SETXATTR_IN_SIZE;
	int err = req_read_compat(req, &in, sizeof(in), in_size);
	if (!err)
		err = req_read_xattr_name(req, name);
	if (err)
		return err;
	if (in.size > XATTR_SIZE_MAX)
		return -E2BIG;
	if (in.size != iov_cursor_remaining(&req->in)) {
		log_error_once("fuse: SETXATTR: size %u but %zu value bytes", in.size,
			       iov_cursor_remaining(&req->in));
		return -EINVAL;
	}
	void *value = malloc(in.size ? in.size : 1);
	if (!value)
		return -ENOMEM;
	err = req_read(req, value, in.size);
	if (!err)
		err = fs_result(req->ops->setxattr(req->fs, &req->ctx, req->hdr.nodeid, name, value,
						   in.size, in.flags, in.setxattr_flags));
	free(value);
	return err;
}

/* Shared tail of GETXATTR and LISTXATTR: size 0 asks for the length,
 * otherwise the bytes themselves. */
static int xattr_reply(struct fuse_req *req, ssize_t ret, uint32_t asked, const void *buf,
		       size_t cap)
{
	int err = fs_result(ret);
	if (err == -ERANGE && asked >= XATTR_SIZE_MAX)
		return -E2BIG;  /* as Linux: a buffer this big can never do */
	if (err)
		return err;
	if (asked == 0) {
		struct fuse_getxattr_out out = { 0 };
		if (ret > XATTR_SIZE_MAX)
			return -E2BIG;
		out.size = (uint32_t)ret;
		return reply_put(req, &out, sizeof(out));
	}
	if ((size_t)ret > cap)
		return -EIO;
	return reply_put(req, buf, (size_t)ret);
}

/* The buffer for a value or list: asked bytes, at most 64 KiB. */
static size_t xattr_cap(uint32_t asked)
{
	return asked > XATTR_SIZE_MAX ? XATTR_SIZE_MAX : asked;
}

int do_getxattr(struct fuse_req *req)
{
	struct fuse_getxattr_in in;
	char name[XATTR_NAME_MAX + 1];
	void *buf = NULL;

	if (!req->ops->getxattr)
		return -ENOSYS;
	int err = req_read(req, &in, sizeof(in));
	if (!err)
		err = req_read_xattr_name(req, name);
	if (!err && in.size == 0)
		err = reply_reserve(req, sizeof(struct fuse_getxattr_out));
	if (err)
		return err;
	size_t cap = xattr_cap(in.size);
	if (cap) {
		buf = malloc(cap);
		if (!buf)
			return -ENOMEM;
	}
	ssize_t ret = req->ops->getxattr(req->fs, &req->ctx, req->hdr.nodeid, name, buf, cap);
	err = xattr_reply(req, ret, in.size, buf, cap);
	free(buf);
	return err;
}

int do_listxattr(struct fuse_req *req)
{
	struct fuse_getxattr_in in;
	char *buf = NULL;

	if (!req->ops->listxattr)
		return -ENOSYS;
	int err = req_read(req, &in, sizeof(in));
	if (!err && in.size == 0)
		err = reply_reserve(req, sizeof(struct fuse_getxattr_out));
	if (err)
		return err;
	size_t cap = xattr_cap(in.size);
	if (cap) {
		buf = malloc(cap);
		if (!buf)
			return -ENOMEM;
	}
	ssize_t ret = req->ops->listxattr(req->fs, &req->ctx, req->hdr.nodeid, buf, cap);
	err = xattr_reply(req, ret, in.size, buf, cap);
	free(buf);
	return err;
}

int do_removexattr(struct fuse_req *req)
{
	char name[XATTR_NAME_MAX + 1];

	if (!req->ops->removexattr)
		return -ENOSYS;
	int err = req_read_xattr_name(req, name);
	if (err)
		return err;
	return fs_result(req->ops->removexattr(req->fs, &req->ctx, req->hdr.nodeid, name));
}
