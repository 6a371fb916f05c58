/* passthrough_xattr.c: SETXATTR, GETXATTR, LISTXATTR, REMOVEXATTR.
 * f*xattr() refuses O_PATH fds, and opening a FIFO or device to get a
 * real fd is what the guest must never make us do. So the path variants
 * are used on "<fd>" relative to /proc/self/fd as the thread's own cwd
 * (CLONE_FS unshared): the magic link resolves to the inode itself, a
 * symlink included, without opening anything. */
#include "passthrough/passthrough_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "util/log.h"

/* The largest xattr value and name list we handle (the kernel's
 * XATTR_SIZE_MAX and XATTR_LIST_MAX): no guest value or host answer
 * makes us allocate or copy more. */
#define PT_XATTR_MAX (64 * 1024)

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

/* Reads run as the daemon; SET and REMOVE as the caller with the guest's
 * DAC check: the host then applies its owner rule to ACLs and sticky
 * directories, its privilege rules to trusted.* and security.*, and
 * clears S_ISGID when an ACL is set by a non-member. */
static ssize_t xattr_on_inode(struct passthrough *fs, const struct fs_ctx *ctx, uint64_t nodeid,
			      const struct xattr_args *a)
{
	char name[PT_PROCNAME_MAX];
	struct pt_inode *inode;
	ssize_t ret;
	int fd;

	if (!fs->cfg.xattr)
		return -ENOSYS;	/* the guest stops asking */
	ret = credentials_unshare_fs();
	if (ret < 0)
		return ret;
	ret = pt_inode_get(fs, nodeid, &inode);
	if (ret < 0)
		return ret;
	fd = pt_inode_fd(fs, inode);
	if (fd < 0) {
		ret = fd;
		goto out;
	}
	if (fchdir(fs->proc_self_fd) < 0) {
		ret = -errno;
		goto out_fd;
	}
	pt_procname(fd, name);
	if (a->op == XATTR_OP_SET || a->op == XATTR_OP_REMOVE) {
		struct cred_saved cred;

		ret = pt_caller_enter(fs, ctx, CRED_CALLER_GUEST_DAC, &cred);
		if (ret == 0 && xattr_call(name, a) < 0)
			ret = -errno;
		pt_caller_leave(&cred);
	} else {
		ret = xattr_call(name, a);
		if (ret < 0)
			ret = -errno;
	}
	/* leave the thread's cwd on the shared dir, not inside /proc */
	if (fchdir(fs->inodes.root->fd) < 0)
		log_error_once("fchdir back to the shared directory failed");
out_fd:
	pt_inode_fd_put(fs, inode, fd);
out:
	pt_inode_put(fs, inode);
	return ret;
}

/* trusted.* is for CAP_SYS_ADMIN only: a local file system hides it from
 * listxattr and the VFS refuses get (ENODATA) and set/remove (EPERM).
 * The daemon runs as root, so it must do this itself. The request gives
 * only the caller's uid, so "privileged" is approximated as uid 0 on the
 * host (after --translate-uid; a guest root without CAP_SYS_ADMIN still
 * sees them). */
#define TRUSTED_PREFIX "trusted."

static bool trusted_denied(bool root, const char *name)
{
	return !root && !strncmp(name, TRUSTED_PREFIX, sizeof(TRUSTED_PREFIX) - 1);
}

/* FUSE_SETXATTR_ACL_KILL_SGID: the guest found the caller outside the
 * file's group (and without CAP_FSETID), so setting the access ACL clears
 * S_ISGID as posix_acl_update_mode() does on a local file system. The
 * daemon (root, in every group for the host) kept it. */
static void acl_kill_sgid(struct passthrough *fs, uint64_t nodeid)
{
	char name[PT_PROCNAME_MAX];
	struct pt_inode *inode;
	struct statx stx;
	int fd;

	if (pt_inode_get(fs, nodeid, &inode) < 0)
		return;
	fd = pt_inode_fd(fs, inode);
	if (fd >= 0 && pt_statx(fd, &stx) == 0 && (stx.stx_mode & S_ISGID) &&
	    !S_ISLNK(stx.stx_mode)) {
		pt_procname(fd, name);
		if (fchmodat(fs->proc_self_fd, name, stx.stx_mode & 07777 & ~S_ISGID, 0) < 0)
			log_error_once("clearing S_ISGID after setting an ACL failed");
	}
	pt_inode_fd_put(fs, inode, fd);
	pt_inode_put(fs, inode);
}

int pt_xattr_host_name(struct passthrough *fs, const char *guest, char *host)
{
	size_t len = strlen(guest);

	if (fs->cfg.xattrmap)
		return xattr_map_to_host(fs->cfg.xattrmap, guest, host, XATTR_NAME_MAX + 1);
	if (len > XATTR_NAME_MAX)
		return -ERANGE;
	memcpy(host, guest, len + 1);
	return 0;
}

void pt_kill_mapped_caps(struct passthrough *fs, int fd, bool o_path)
{
	char name[PT_PROCNAME_MAX];
	int ret;

	if (!fs->caps_host_name[0])
		return;
	if (o_path) {
		/* as in xattr_on_inode: removexattr on "<fd>" in /proc/self/fd */
		if (credentials_unshare_fs() < 0 || fchdir(fs->proc_self_fd) < 0)
			goto failed;
		pt_procname(fd, name);
		ret = removexattr(name, fs->caps_host_name);
		if (fchdir(fs->inodes.root->fd) < 0)
			log_error_once("fchdir back to the shared directory failed");
	} else {
		ret = fremovexattr(fd, fs->caps_host_name);
	}
	if (ret == 0 || errno == ENODATA || errno == ENOTSUP)
		return;
failed:
	log_error_once("removing the remapped %s: %s", fs->caps_host_name, strerror(errno));
}

/* A name the map moved into another namespace on the host (the guest's
 * security.selinux kept as user.virtiofs.security.selinux) escapes the
 * host kernel's rules for its own namespace: trusted.* and security.* are
 * for CAP_SYS_ADMIN, system.posix_acl_* for the owner, but user.* for
 * anyone who may write the file. So only root (the guest's root is root
 * on the share) changes such a name; user.* names stay the host's to
 * decide, mapped or not. */
static int mapped_change_denied(bool root, const char *guest, const char *host)
{
	if (root || !strcmp(guest, host) || !strncmp(guest, "user.", 5))
		return 0;
	return -EPERM;
}

int pt_secctx_set_fd(struct passthrough *fs, const struct fs_ctx *ctx, int fd)
{
	char host[XATTR_NAME_MAX + 1];
	int ret;

	if (!ctx->secctx)
		return 0;
	ret = pt_xattr_host_name(fs, ctx->secctx->name, host);
	if (ret == 0 && fsetxattr(fd, host, ctx->secctx->value, ctx->secctx->size, 0) < 0)
		ret = -errno;
	if (ret < 0)
		log_warn_once("--security-label: setting %s on a new file: %s", ctx->secctx->name,
			      strerror(-ret));
	return ret;
}

/* A new inode of any type, a device or a symlink included: by its O_PATH
 * fd as "<fd>" in /proc/self/fd, as xattr_on_inode does, never opened. */
int pt_secctx_set_at(struct passthrough *fs, const struct fs_ctx *ctx, int parent_fd,
		     const char *name, bool dir)
{
	char host[XATTR_NAME_MAX + 1], procname[PT_PROCNAME_MAX];
	int fd, ret;

	if (!ctx->secctx)
		return 0;
	ret = pt_xattr_host_name(fs, ctx->secctx->name, host);
	if (ret == 0)
		ret = credentials_unshare_fs();
	if (ret < 0)
		goto undo;
	fd = openat(parent_fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		goto undo;
	}
	pt_procname(fd, procname);
	if (fchdir(fs->proc_self_fd) < 0) {
		ret = -errno;
	} else {
		if (setxattr(procname, host, ctx->secctx->value, ctx->secctx->size, 0) < 0)
			ret = -errno;
		if (fchdir(fs->inodes.root->fd) < 0)
			log_error_once("fchdir back to the shared directory failed");
	}
	close(fd);
	if (ret == 0)
		return 0;
undo:
	log_warn_once("--security-label: setting %s on new %s: %s", ctx->secctx->name, name,
		      strerror(-ret));
	if (unlinkat(parent_fd, name, dir ? AT_REMOVEDIR : 0) < 0)
		log_error_once("--security-label: removing %s, left without its label: %s", name,
			       strerror(errno));
	return ret;
}

int pt_setxattr(void *opaque, const struct fs_ctx *ctx, uint64_t nodeid, const char *name,
		const void *value, size_t size, uint32_t flags, uint32_t setxattr_flags)
{
	struct passthrough *fs = pt_from(opaque);
	char host[XATTR_NAME_MAX + 1];
	struct xattr_args a = { .op = XATTR_OP_SET, .name = host, .buf = (void *)value,
				.size = size, .flags = (int)flags };
	enum id_xattr kind;
	void *copy = NULL;
	int ret;

	if (flags & ~(uint32_t)(XATTR_CREATE | XATTR_REPLACE))
		return -EINVAL;
	if (size > PT_XATTR_MAX)
		return -E2BIG;
	if (!fs->cfg.xattr)
		return -ENOSYS;
	ret = pt_xattr_host_name(fs, name, host);
	if (ret == 0)
		ret = mapped_change_denied(pt_caller_is_root(fs, ctx), name, host);
	if (ret < 0)
		return ret;
	kind = fs->translate ? id_xattr_kind(name) : ID_XATTR_NONE;
	if (kind != ID_XATTR_NONE && size) {
		/* the guest's ids in the value become the host's (or the whole
		 * value is refused), in a copy: the value is the server's */
		copy = malloc(size);
		if (!copy)
			return -ENOMEM;
		memcpy(copy, value, size);
		ret = id_xattr_to_host(fs->uid_map, fs->gid_map, kind, copy, size);
		if (ret < 0) {
			free(copy);
			return ret;
		}
		a.buf = copy;
	}
	ret = (int)xattr_on_inode(fs, ctx, nodeid, &a);
	free(copy);
	if (ret == 0 && (setxattr_flags & FUSE_SETXATTR_ACL_KILL_SGID) &&
	    !strcmp(name, "system.posix_acl_access"))
		acl_kill_sgid(fs, nodeid);
	return ret;
}

ssize_t pt_getxattr(void *opaque, const struct fs_ctx *ctx, uint64_t nodeid, const char *name,
		    void *value, size_t size)
{
	struct passthrough *fs = pt_from(opaque);
	char host[XATTR_NAME_MAX + 1];
	struct xattr_args a = { .op = XATTR_OP_GET, .name = host, .buf = value, .size = size };
	bool root = pt_caller_is_root(fs, ctx);
	enum id_xattr kind;
	ssize_t len;
	int ret;

	if (!fs->cfg.xattr)
		return -ENOSYS;
	if (trusted_denied(root, name))
		return -ENODATA;
	ret = pt_xattr_host_name(fs, name, host);
	/* as QEMU and the Rust daemon: a name the map refuses is not there */
	if (ret == -EPERM)
		return -ENODATA;
	if (ret < 0)
		return ret;
	/* nor does a mapped name reach the host's trusted.* for a caller
	 * that may not see them */
	if (trusted_denied(root, host))
		return -ENODATA;
	/* no value is larger: a bigger buffer is never filled past this */
	if (a.size > PT_XATTR_MAX)
		a.size = PT_XATTR_MAX;
	len = xattr_on_inode(fs, ctx, nodeid, &a);
	/* the host's ids in the value become the guest's (a size query
	 * has no value: translating keeps the size) */
	kind = fs->translate ? id_xattr_kind(name) : ID_XATTR_NONE;
	if (len > 0 && size && kind != ID_XATTR_NONE) {
		ret = id_xattr_to_guest(fs->uid_map, fs->gid_map, kind, value, (size_t)len);
		if (ret < 0) {
			log_error_once("%s on the host is no valid value; refused to the guest",
				       host);
			return ret;
		}
	}
	return len;
}

/* What a caller other than root may not see of a listing: trusted.*,
 * under its host name or the guest's. */
static bool list_keep_untrusted(const char *host, const char *guest, void *arg)
{
	const bool *root = arg;

	return !trusted_denied(*root, host) && !trusted_denied(*root, guest);
}

#define LIST_TRIES 8

/* LISTXATTR through --xattrmap, or for a caller who may not see trusted.*:
 * the full list is read into a buffer of our own, so that the size asked
 * for (or answered for a size-0 query) is that of the guest's list. */
static ssize_t list_filtered(struct passthrough *fs, const struct fs_ctx *ctx, uint64_t nodeid,
			     char *list, size_t size)
{
	struct xattr_args a = { .op = XATTR_OP_LIST };
	bool root = pt_caller_is_root(fs, ctx);
	ssize_t ret = -ERANGE;
	char *buf;
	int i;

	for (i = 0; i < LIST_TRIES && ret == -ERANGE; i++) {
		a.buf = NULL;
		a.size = 0;
		ret = xattr_on_inode(fs, ctx, nodeid, &a);
		if (ret <= 0)
			return ret;
		if (ret > PT_XATTR_MAX)
			return -E2BIG;
		buf = malloc((size_t)ret);
		if (!buf)
			return -ENOMEM;
		a.buf = buf;
		a.size = (size_t)ret;
		/* ERANGE: the list grew in between; ask again */
		ret = xattr_on_inode(fs, ctx, nodeid, &a);
		if (ret >= 0) {
			ret = (ssize_t)xattr_map_list(fs->cfg.xattrmap, buf, (size_t)ret,
						      list_keep_untrusted, &root);
			if (size && (size_t)ret > size)
				ret = -ERANGE;
			else if (size)
				memcpy(list, buf, (size_t)ret);
			free(buf);
			return ret;
		}
		free(buf);
	}
	return ret;
}

ssize_t pt_listxattr(void *opaque, const struct fs_ctx *ctx, uint64_t nodeid, char *list,
		     size_t size)
{
	struct passthrough *fs = pt_from(opaque);
	struct xattr_args a = { .op = XATTR_OP_LIST, .buf = list, .size = size };

	if (a.size > PT_XATTR_MAX)
		a.size = PT_XATTR_MAX;
	if (fs->cfg.xattr && (!pt_caller_is_root(fs, ctx) || fs->cfg.xattrmap))
		return list_filtered(fs, ctx, nodeid, list, a.size);
	return xattr_on_inode(fs, ctx, nodeid, &a);
}

int pt_removexattr(void *opaque, const struct fs_ctx *ctx, uint64_t nodeid, const char *name)
{
	struct passthrough *fs = pt_from(opaque);
	char host[XATTR_NAME_MAX + 1];
	struct xattr_args a = { .op = XATTR_OP_REMOVE, .name = host };
	int ret;

	if (!fs->cfg.xattr)
		return -ENOSYS;
	ret = pt_xattr_host_name(fs, name, host);
	if (ret == 0)
		ret = mapped_change_denied(pt_caller_is_root(fs, ctx), name, host);
	if (ret < 0)
		return ret;
	return (int)xattr_on_inode(fs, ctx, nodeid, &a);
}
