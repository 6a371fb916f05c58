/* passthrough_dir.c: OPENDIR, READDIR(PLUS), RELEASEDIR, FSYNCDIR.
 * Offsets are the host's getdents64 d_off cookies: each READDIR seeks to
 * the offset asked for, so an entry that did not fit in one reply is the
 * first of the next one. */
#include "passthrough/passthrough_internal.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PT_DIR_BUF_SIZE (32 * 1024)
/* Room for at least one record with a NAME_MAX name. */
#define PT_DIR_MIN_CHUNK 1024

int pt_opendir(void *opaque, const struct fs_ctx *ctx, uint64_t nodeid, uint32_t flags,
	       struct fuse_open_out *out)
{
	struct passthrough *fs = pt_from(opaque);
	struct pt_inode *inode;
	uint64_t fh;
	int fd, ret = pt_inode_get(fs, nodeid, &inode);

	if (ret < 0)
		return ret;
	if (!S_ISDIR(inode->type))
		fd = -ENOTDIR;
	else if (handle_table_full(&fs->handles))
		fd = -EMFILE;	/* at our limit: refuse before opening */
	else
		fd = pt_reopen(fs, inode, O_RDONLY | O_DIRECTORY);
	pt_inode_put(fs, inode);
	if (fd < 0)
		return fd;
	ret = handle_table_insert(&fs->handles, fd, HANDLE_DIR, &fh);
	if (ret < 0)
		return ret;
	*out = (struct fuse_open_out){ .fh = fh, .open_flags = pt_fopen_flags(fs, true) };
	return 0;
}

/* Adds one entry; returns 1 when the reply is full (nothing counted). */
static int readdir_add(struct passthrough *fs, struct pt_inode *dir, int dir_fd,
		       const struct dirent64 *d, bool plus, struct fs_dir_filler *filler)
{
	struct fuse_entry_out entry = { 0 };
	size_t len = strlen(d->d_name);
	int full;

	/* "." and ".." and entries that vanished meanwhile get a zeroed
	 * entry: the guest kernel then links nothing for them */
	if (plus && !pt_name_is_dots(d->d_name) &&
	    pt_lookup_entry(fs, dir, dir_fd, d->d_name, d->d_ino, &entry) < 0)
		memset(&entry, 0, sizeof(entry));
	full = fs_dir_filler_add(filler, d->d_name, len, d->d_ino, d->d_type, (uint64_t)d->d_off,
				 plus ? &entry : NULL);
	if (full && entry.nodeid)
		inode_table_forget(&fs->inodes, entry.nodeid, 1);
	return full;
}

/* How much of the directory to read per getdents64: what the reply can
 * carry, not more. A READDIRPLUS entry (fuse_direntplus, ~150 bytes + name)
 * is about five times a getdents64 record, so a quarter of the reply space
 * covers it; reading a full 32 KiB for every 4 KiB reply cost several
 * microseconds per entry (measured by the benchmark). */
static size_t readdir_chunk(const struct fs_dir_filler *filler, bool plus)
{
	size_t chunk = fs_dir_filler_space(filler);
	if (plus)
		chunk /= 4;
	if (chunk < PT_DIR_MIN_CHUNK)
		chunk = PT_DIR_MIN_CHUNK;
	return chunk < PT_DIR_BUF_SIZE ? chunk : PT_DIR_BUF_SIZE;
}

static int readdir_locked(struct passthrough *fs, struct pt_handle *handle,
			  struct pt_inode *dir, uint64_t offset, bool plus,
			  struct fs_dir_filler *filler, char *buf)
{
	bool added = false;

	if (offset > INT64_MAX || lseek(handle->fd, (off_t)offset, SEEK_SET) < 0)
		return offset > INT64_MAX ? -EINVAL : -errno;
	for (;;) {
		ssize_t n = getdents64(handle->fd, buf, readdir_chunk(filler, plus));
		ssize_t pos;

		if (n < 0)
			return added ? 0 : -errno;
		if (n == 0)
			return 0;
		for (pos = 0; pos < n;) {
			const struct dirent64 *d = (const void *)(buf + pos);

			/* names are looked up in the open directory itself */
			if (readdir_add(fs, dir, handle->fd, d, plus, filler))
				return 0;
			added = true;
			pos += d->d_reclen;
		}
	}
}

int pt_readdir(void *opaque, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
	       uint64_t offset, bool plus, struct fs_dir_filler *filler)
{
	struct passthrough *fs = pt_from(opaque);
	struct pt_handle *handle;
	struct pt_inode *dir = NULL;
	char *buf;
	int ret;

	/* only READDIRPLUS looks names up and needs the directory inode */
	if (plus) {
		ret = pt_inode_get(fs, nodeid, &dir);
		if (ret < 0)
			return ret;
	}
	handle = handle_table_get(&fs->handles, fh, HANDLE_DIR);
	if (!handle) {
		pt_inode_put(fs, dir);
		return -EBADF;
	}
	/* Each READDIR seeks to its offset, so nothing is kept between
	 * requests: the buffer lives for this request only, and memory is
	 * bounded by the requests in flight, not by the open directories. */
	buf = malloc(PT_DIR_BUF_SIZE);
	if (!buf) {
		ret = -ENOMEM;
	} else {
		pthread_mutex_lock(&handle->dir_lock);
		ret = readdir_locked(fs, handle, dir, offset, plus, filler, buf);
		pthread_mutex_unlock(&handle->dir_lock);
		free(buf);
	}
	handle_table_put(&fs->handles, handle);
	pt_inode_put(fs, dir);
	return ret;
}

int pt_releasedir(void *opaque, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh)
{
	struct passthrough *fs = pt_from(opaque);

	return handle_table_remove(&fs->handles, fh, HANDLE_DIR);
}

int pt_fsyncdir(void *opaque, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		bool datasync)
{
	struct passthrough *fs = pt_from(opaque);
	struct pt_handle *handle = handle_table_get(&fs->handles, fh, HANDLE_DIR);
	int ret = 0;

	if (!handle)
		return -EBADF;
	if ((datasync ? fdatasync(handle->fd) : fsync(handle->fd)) < 0)
		ret = -errno;
	handle_table_put(&fs->handles, handle);
	return ret;
}
