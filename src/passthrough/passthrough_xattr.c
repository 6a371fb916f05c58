/* passthrough_xattr.c: SETXATTR, GETXATTR, LISTXATTR, REMOVEXATTR.
 * f*xattr() refuses O_PATH fds, and opening a FIFO or device to get a
 * real fd is what the guest must never make us do. So the path variants
 * are used on "<fd>" relative to /proc/self/fd as the thread's own cwd
 * (CLONE_FS unshared): the magic link resolves to the inode itself, a
 * symlink included, without opening anything. */
#include "passthrough/passthrough_internal.h"

#include <errno.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "util/log.h"

enum xattr_op {
	XATTR_OP_SET,
	XATTR_OP_GET,
	XATTR_OP_LIST,
	XATTR_OP_REMOVE,
};

struct xattr_args {
	enum xattr_op op;
	const char *name;
	void *buf;		/* GET/LIST: out; SET: in */
	size_t size;
	int flags;
};

static ssize_t xattr_call(const char *path, const struct xattr_args *a)
{
	switch (a->op) {
	case XATTR_OP_SET:
		return setxattr(path, a->name, a->buf, a->size, a->flags);
	case XATTR_OP_GET:
		return getxattr(path, a->name, a->buf, a->size);
	case XATTR_OP_LIST:
		return listxattr(path, a->buf, a->size);
	case XATTR_OP_REMOVE:
	default:
		return removexattr(path, a->name);
	}
}

static ssize_t xattr_on_inode(struct passthrough *fs, uint64_t nodeid, const struct xattr_args *a)
{
	char name[PT_PROCNAME_MAX];
	struct pt_inode *inode;
	ssize_t ret;

	if (!fs->cfg.xattr)
		return -ENOSYS;	/* the guest stops asking */
	ret = credentials_unshare_fs();
	if (ret < 0)
		return ret;
	ret = pt_inode_get(fs, nodeid, &inode);
	if (ret < 0)
		return ret;
	if (fchdir(fs->proc_self_fd) < 0) {
		ret = -errno;
		goto out;
	}
	pt_procname(inode->fd, name);
	ret = xattr_call(name, a);
	if (ret < 0)
		ret = -errno;
	/* leave the thread's cwd on the shared dir, not inside /proc */
	if (fchdir(fs->inodes.root->fd) < 0)
		log_error_once("fchdir back to the shared directory failed");
out:
	pt_inode_put(fs, inode);
	return ret;
}

int pt_setxattr(void *opaque, const struct fs_ctx *ctx, uint64_t nodeid, const char *name,
		const void *value, size_t size, uint32_t flags, uint32_t setxattr_flags)
{
	struct xattr_args a = { .op = XATTR_OP_SET, .name = name, .buf = (void *)value,
				.size = size, .flags = (int)flags };

	if (flags & ~(uint32_t)(XATTR_CREATE | XATTR_REPLACE))
		return -EINVAL;
	return (int)xattr_on_inode(pt_from(opaque), nodeid, &a);
}

ssize_t pt_getxattr(void *opaque, const struct fs_ctx *ctx, uint64_t nodeid, const char *name,
		    void *value, size_t size)
{
	struct xattr_args a = { .op = XATTR_OP_GET, .name = name, .buf = value, .size = size };

	return xattr_on_inode(pt_from(opaque), nodeid, &a);
}

ssize_t pt_listxattr(void *opaque, const struct fs_ctx *ctx, uint64_t nodeid, char *list,
		     size_t size)
{
	struct xattr_args a = { .op = XATTR_OP_LIST, .buf = list, .size = size };

	return xattr_on_inode(pt_from(opaque), nodeid, &a);
}

int pt_removexattr(void *opaque, const struct fs_ctx *ctx, uint64_t nodeid, const char *name)
{
	struct xattr_args a = { .op = XATTR_OP_REMOVE, .name = name };

	return (int)xattr_on_inode(pt_from(opaque), nodeid, &a);
}
