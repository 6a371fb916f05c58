/* vfs_path.c: path walking and directory-buffer parsing on top of the
 * FUSE operations. */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "vfs_internal.h"

void vfs_put(struct vfs_client *c, uint64_t nodeid)
{
	if (nodeid != FUSE_ROOT_ID && nodeid != 0)
		(void)vfs_forget(c, nodeid, 1);
}

static int root_attr(struct vfs_client *c, struct fuse_attr *attr)
{
	struct fuse_attr_out ao;
	int err;

	if (!attr)
		return 0;
	err = vfs_getattr(c, FUSE_ROOT_ID, VFS_NO_FH, &ao);
	if (!err)
		*attr = ao.attr;
	return err;
}

/* Walk 'len' bytes of path; components "" and "." are skipped, ".." is
 * sent to the daemon like any name (FUSE_EXPORT_SUPPORT semantics). */
static int walk(struct vfs_client *c, const char *path, size_t len,
		uint64_t *nodeid, struct fuse_attr *attr)
{
	uint64_t cur = FUSE_ROOT_ID;
	struct fuse_entry_out e;
	char name[NAME_MAX + 1];
	size_t i = 0;
	bool any = false;
	int err;

	while (i < len) {
		size_t start, n;

		while (i < len && path[i] == '/')
			i++;
		start = i;
		while (i < len && path[i] != '/')
			i++;
		n = i - start;
		if (n == 0 || (n == 1 && path[start] == '.'))
			continue;
		if (n > NAME_MAX) {
			vfs_put(c, cur);
			return -ENAMETOOLONG;
		}
		memcpy(name, path + start, n);
		name[n] = '\0';
		err = vfs_lookup(c, cur, name, &e);
		vfs_put(c, cur);
		if (err)
			return err;
		if (e.nodeid == 0)
			return -ENOENT;  /* a negative entry */
		cur = e.nodeid;
		any = true;
		if (attr)
			*attr = e.attr;
	}
	*nodeid = cur;
	return any ? 0 : root_attr(c, attr);
}

int vfs_resolve(struct vfs_client *c, const char *path, uint64_t *nodeid,
		struct fuse_attr *attr)
{
	if (path[0] != '/')
		return -EINVAL;
	return walk(c, path, strlen(path), nodeid, attr);
}

int vfs_resolve_parent(struct vfs_client *c, const char *path,
		       uint64_t *parent, const char **name)
{
	const char *slash = strrchr(path, '/');

	if (path[0] != '/' || !slash || slash[1] == '\0')
		return -EINVAL;
	if (!strcmp(slash + 1, ".") || !strcmp(slash + 1, ".."))
		return -EINVAL;
	*name = slash + 1;
	return walk(c, path, (size_t)(slash - path), parent, NULL);
}

int vfs_dirent_next(const void *buf, size_t len, size_t *pos, bool plus,
		    const struct fuse_dirent **dirent,
		    const struct fuse_entry_out **entry)
{
	const uint8_t *p = (const uint8_t *)buf + *pos;
	size_t left = len - *pos, hdr = plus ? sizeof(struct fuse_entry_out) : 0;
	const struct fuse_dirent *d;
	size_t reclen;

	if (*pos >= len)
		return 0;
	if (left < hdr + FUSE_NAME_OFFSET)
		return -EIO;
	d = (const struct fuse_dirent *)(const void *)(p + hdr);
	if (d->namelen == 0 || d->namelen > NAME_MAX)
		return -EIO;
	reclen = hdr + FUSE_DIRENT_ALIGN(FUSE_NAME_OFFSET + d->namelen);
	if (reclen > left)
		return -EIO;
	*dirent = d;
	if (entry)
		*entry = plus ? (const struct fuse_entry_out *)(const void *)p : NULL;
	*pos += reclen;
	return 1;
}
