/* passthrough_entry.c: name-space operations. Every name is one component
 * resolved relative to the parent's O_PATH fd; creating operations run
 * with the caller's fsuid/fsgid so new entries get the right owner. */
#include "passthrough/passthrough_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

int pt_lookup(void *opaque, const struct fs_ctx *ctx, uint64_t parent_id, const char *name,
	      struct fuse_entry_out *out)
{
	struct passthrough *fs = pt_from(opaque);
	struct pt_inode *parent;
	int ret = pt_inode_get(fs, parent_id, &parent);

	if (ret < 0)
		return ret;
	ret = pt_do_lookup(fs, parent, name, out);
	pt_inode_put(fs, parent);
	return ret;
}

void pt_forget(void *opaque, uint64_t nodeid, uint64_t nlookup)
{
	struct passthrough *fs = pt_from(opaque);

	inode_table_forget(&fs->inodes, nodeid, nlookup);
}

int pt_readlink(void *opaque, const struct fs_ctx *ctx, uint64_t nodeid, char *buf, size_t size)
{
	struct passthrough *fs = pt_from(opaque);
	struct pt_inode *inode;
	ssize_t n;
	int fd, ret = pt_inode_get(fs, nodeid, &inode);

	if (ret < 0)
		return ret;
	/* readlinkat(fd, "") says ENOENT for a non-symlink; a local fs EINVAL */
	if (!S_ISLNK(inode->type)) {
		pt_inode_put(fs, inode);
		return -EINVAL;
	}
	fd = pt_inode_fd(fs, inode);
	if (fd >= 0) {
		n = readlinkat(fd, "", buf, size);
		ret = n < 0 ? -errno : (int)n;
		pt_inode_fd_put(fs, inode, fd);
	} else {
		ret = fd;
	}
	pt_inode_put(fs, inode);
	return ret;
}

/* What a creating operation does under the caller's identity. */
struct make_args {
	const char *name;
	mode_t mode;
	dev_t rdev;
	const char *target;
};

enum make_kind {
	MAKE_NODE,
	MAKE_DIR,
	MAKE_SYMLINK,
};

static int make_at(int dirfd, enum make_kind kind, const struct make_args *a)
{
	int ret;

	switch (kind) {
	case MAKE_DIR:
		ret = mkdirat(dirfd, a->name, a->mode);
		break;
	case MAKE_SYMLINK:
		ret = symlinkat(a->target, dirfd, a->name);
		break;
	case MAKE_NODE:
	default:
		ret = mknodat(dirfd, a->name, a->mode, a->rdev);
		break;
	}
	return ret < 0 ? -errno : 0;
}

static int make_entry(struct passthrough *fs, const struct fs_ctx *ctx, uint64_t parent_id,
		      enum make_kind kind, const struct make_args *a, uint32_t umask,
		      struct fuse_entry_out *out)
{
	struct pt_inode *parent;
	struct pt_creds creds;
	int ret, fd;

	if (pt_name_is_dots(a->name))
		return -EEXIST;
	ret = pt_inode_get(fs, parent_id, &parent);
	if (ret < 0)
		return ret;
	/* every kind makes a new inode: do not create what we cannot hold */
	if (pt_inodes_full(fs, parent)) {
		ret = -ENFILE;
		goto out;
	}
	fd = ret = pt_dir_fd(fs, parent);
	if (ret < 0)
		goto out;
	ret = pt_creds_enter(fs, ctx, umask, &creds);
	if (ret == 0) {
		ret = make_at(fd, kind, a);
		pt_creds_leave(&creds);
	}
	if (ret == 0)
		ret = pt_secctx_set_at(fs, ctx, fd, a->name, kind == MAKE_DIR);
	if (ret == 0)
		ret = pt_do_lookup_at(fs, parent, fd, a->name, out);
	pt_inode_fd_put(fs, parent, fd);
out:
	pt_inode_put(fs, parent);
	return ret;
}

int pt_symlink(void *opaque, const struct fs_ctx *ctx, uint64_t parent, const char *name,
	       const char *target, struct fuse_entry_out *out)
{
	struct make_args a = { .name = name, .target = target };

	return make_entry(pt_from(opaque), ctx, parent, MAKE_SYMLINK, &a, 0, out);
}

/* fuse_mknod_in.rdev is new_encode_dev() of the guest's dev_t. */
static dev_t decode_dev(uint32_t rdev)
{
	unsigned int major = (rdev & 0xfff00) >> 8;
	unsigned int minor = (rdev & 0xff) | ((rdev >> 12) & 0xfff00);

	return makedev(major, minor);
}

int pt_mknod(void *opaque, const struct fs_ctx *ctx, uint64_t parent, const char *name,
	     uint32_t mode, uint32_t rdev, uint32_t umask, struct fuse_entry_out *out)
{
	struct make_args a = { .name = name, .mode = mode, .rdev = decode_dev(rdev) };

	switch (mode & S_IFMT) {
	case S_IFREG:
	case S_IFIFO:
	case S_IFSOCK:
	case S_IFCHR:
	case S_IFBLK:
		break;
	default:
		return -EINVAL;
	}
	return make_entry(pt_from(opaque), ctx, parent, MAKE_NODE, &a, umask, out);
}

int pt_mkdir(void *opaque, const struct fs_ctx *ctx, uint64_t parent, const char *name,
	     uint32_t mode, uint32_t umask, struct fuse_entry_out *out)
{
	struct make_args a = { .name = name, .mode = mode & 07777 };

	return make_entry(pt_from(opaque), ctx, parent, MAKE_DIR, &a, umask, out);
}

/* Unlink, rmdir and rename run as the caller with the guest's DAC
 * check: a sticky directory's owner rule is the host's to apply. */
static int remove_entry(struct passthrough *fs, const struct fs_ctx *ctx, uint64_t parent_id,
			const char *name, int flags)
{
	struct pt_inode *parent;
	struct cred_saved cred;
	int ret, fd;

	/* the host refuses these too; refuse before touching anything */
	if (pt_name_is_dots(name))
		return (flags & AT_REMOVEDIR) ? (name[1] ? -ENOTEMPTY : -EINVAL) : -EISDIR;
	ret = pt_inode_get(fs, parent_id, &parent);
	if (ret < 0)
		return ret;
	fd = ret = pt_dir_fd(fs, parent);
	if (ret < 0)
		goto out;
	ret = pt_caller_enter(fs, ctx, CRED_CALLER_GUEST_DAC, &cred);
	if (ret == 0 && unlinkat(fd, name, flags) < 0)
		ret = -errno;
	pt_caller_leave(&cred);
	pt_inode_fd_put(fs, parent, fd);
out:
	pt_inode_put(fs, parent);
	return ret;
}

int pt_unlink(void *opaque, const struct fs_ctx *ctx, uint64_t parent, const char *name)
{
	return remove_entry(pt_from(opaque), ctx, parent, name, 0);
}

int pt_rmdir(void *opaque, const struct fs_ctx *ctx, uint64_t parent, const char *name)
{
	return remove_entry(pt_from(opaque), ctx, parent, name, AT_REMOVEDIR);
}

int pt_rename(void *opaque, const struct fs_ctx *ctx, uint64_t parent_id, const char *name,
	      uint64_t new_parent_id, const char *new_name, uint32_t flags)
{
	struct passthrough *fs = pt_from(opaque);
	struct pt_inode *parent, *new_parent = NULL;
	struct cred_saved cred;
	int ret, fd = -1, new_fd = -1;

	if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT))
		return -EINVAL;
	if (pt_name_is_dots(name) || pt_name_is_dots(new_name))
		return -EBUSY;
	ret = pt_inode_get(fs, parent_id, &parent);
	if (ret < 0)
		return ret;
	ret = pt_inode_get(fs, new_parent_id, &new_parent);
	if (ret < 0)
		goto out;
	fd = ret = pt_dir_fd(fs, parent);
	if (ret >= 0)
		new_fd = ret = pt_dir_fd(fs, new_parent);
	if (ret < 0)
		goto out;
	ret = pt_caller_enter(fs, ctx, CRED_CALLER_GUEST_DAC, &cred);
	if (ret == 0 && renameat2(fd, name, new_fd, new_name, flags) < 0)
		ret = -errno;
	pt_caller_leave(&cred);
out:
	if (new_fd >= 0)
		pt_inode_fd_put(fs, new_parent, new_fd);
	if (fd >= 0)
		pt_inode_fd_put(fs, parent, fd);
	pt_inode_put(fs, new_parent);
	pt_inode_put(fs, parent);
	return ret;
}

static int link_at(struct passthrough *fs, int fd, int dir_fd, const char *new_name)
{
	char name[PT_PROCNAME_MAX];

	if (linkat(fd, "", dir_fd, new_name, AT_EMPTY_PATH) == 0)
		return 0;
	/* AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH, which a caller other than
	 * root lacks: link through the magic link instead (the host applies
	 * fs.protected_hardlinks to the caller either way) */
	if (errno != ENOENT)
		return -errno;
	pt_procname(fd, name);
	if (linkat(fs->proc_self_fd, name, dir_fd, new_name, AT_SYMLINK_FOLLOW) < 0)
		return -errno;
	return 0;
}

int pt_link(void *opaque, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t new_parent_id,
	    const char *new_name, struct fuse_entry_out *out)
{
	struct passthrough *fs = pt_from(opaque);
	struct pt_inode *inode, *new_parent = NULL;
	struct pt_creds creds;
	int ret, fd = -1, dir_fd = -1;

	if (pt_name_is_dots(new_name))
		return -EEXIST;
	ret = pt_inode_get(fs, nodeid, &inode);
	if (ret < 0)
		return ret;
	ret = pt_inode_get(fs, new_parent_id, &new_parent);
	if (ret < 0)
		goto out;
	fd = ret = pt_inode_fd(fs, inode);
	if (ret >= 0)
		dir_fd = ret = pt_dir_fd(fs, new_parent);
	if (ret < 0)
		goto out;
	/* a new name for an inode: exactly as the caller, like a create */
	ret = pt_creds_enter(fs, ctx, 0, &creds);
	if (ret < 0)
		goto out;
	ret = link_at(fs, fd, dir_fd, new_name);
	pt_creds_leave(&creds);
	if (ret == 0)
		ret = pt_entry_of_inode(fs, new_parent, inode, out);
out:
	if (dir_fd >= 0)
		pt_inode_fd_put(fs, new_parent, dir_fd);
	if (fd >= 0)
		pt_inode_fd_put(fs, inode, fd);
	pt_inode_put(fs, new_parent);
	pt_inode_put(fs, inode);
	return ret;
}
