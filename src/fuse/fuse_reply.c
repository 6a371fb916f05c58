/* fuse_reply.c: encoding reply payloads into the out space, sized for the
 * negotiated protocol minor, and logging of error replies. */
#include "fuse/fuse_internal.h"

#include <errno.h>
#include <string.h>

#include "util/log.h"

size_t reply_entry_size(const struct fuse_req *req)
{
	return req->minor < 9 ? FUSE_COMPAT_ENTRY_OUT_SIZE : sizeof(struct fuse_entry_out);
}

size_t reply_attr_size(const struct fuse_req *req)
{
	return req->minor < 9 ? FUSE_COMPAT_ATTR_OUT_SIZE : sizeof(struct fuse_attr_out);
}

int reply_reserve(struct fuse_req *req, size_t len)
{
	if (iov_cursor_remaining(&req->out) >= len)
		return 0;
	log_error_once("fuse: %s: reply space too small (%zu bytes, %zu needed)",
		       req->opname, iov_cursor_remaining(&req->out), len);
	return -EINVAL;
}

int reply_put(struct fuse_req *req, const void *data, size_t len)
{
	int err = reply_reserve(req, len);
	if (err)
		return err;
	iov_cursor_write(&req->out, data, len);
	req->payload += len;
	return 0;
}

int reply_entry(struct fuse_req *req, const struct fuse_entry_out *entry)
{
	return reply_put(req, entry, reply_entry_size(req));
}

int reply_attr(struct fuse_req *req, const struct fuse_attr_out *attr)
{
	return reply_put(req, attr, reply_attr_size(req));
}

int fs_result(long ret)
{
	if (ret >= 0)
		return 0;
	/* Anything that is not an errno is a file system bug. */
	if (ret < -4095)
		return -EIO;
	return (int)ret;
}

static bool errno_is_host_problem(int err)
{
	switch (err) {
	case EIO:
	case EBADF:
	case ENOMEM:
	case EMFILE:
	case ENFILE:
	case EFAULT:
		return true;
	default:
		return false;
	}
}

/* A guest can provoke host-problem errnos at will (EBADF with a made-up
 * handle): log the first ones, then one in 4096. */
static bool warn_allowed(void)
{
	static unsigned long count;
	unsigned long n = __atomic_fetch_add(&count, 1, __ATOMIC_RELAXED);
	return n < 64 || n % 4096 == 0;
}

static const char *errno_name(int err)
{
	const char *name = strerrorname_np(err);
	return name ? name : "?";
}

void reply_log_error(const struct fuse_req *req, int err)
{
	if (errno_is_host_problem(err)) {
		if (warn_allowed())
			log_warn("fuse: %s (unique %llu): error %d (%s)", req->opname,
				 (unsigned long long)req->hdr.unique, err, errno_name(err));
		return;
	}
	log_debug("fuse: %s (unique %llu): error %d (%s)", req->opname,
		  (unsigned long long)req->hdr.unique, err, errno_name(err));
}
