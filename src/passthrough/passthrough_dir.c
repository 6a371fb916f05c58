/* passthrough_dir.c: OPENDIR, READDIR(PLUS), RELEASEDIR, FSYNCDIR.
 * Offsets are the host's getdents64 d_off cookies. A READDIR at the offset
 * where the previous reply stopped continues from the entries read past
 * that reply (the handle's read-ahead) and from the directory's own
 * position; any other offset seeks there, so rewinding or seeking reads
 * the directory afresh. */
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

/* Entries read from the host but not sent: the next READDIR asks for
 * next_offset (the d_off of the last entry sent) if it continues the
 * listing, and the directory's fd is positioned right after them. */
struct dir_ahead {
	uint64_t next_offset;
	size_t len;
	char buf[];
};

/* The most read-ahead one handle keeps: what a reply could not carry of
 * one getdents64 read is a fraction of the reply (4 KiB for Linux). */
#define PT_DIR_AHEAD_MAX 8192

static void ahead_drop(struct passthrough *fs, struct pt_handle *handle)
{
	if (!handle->ahead)
		return;
	handle_table_uncharge_ahead(&fs->handles, handle->ahead_size);
	free(handle->ahead);
	handle->ahead = NULL;
	handle->ahead_size = 0;
}

/* Keeps buf[0, len) for a READDIR at next_offset; without room in the
 * budget the next READDIR seeks and reads them again. */
static void ahead_keep(struct passthrough *fs, struct pt_handle *handle, uint64_t next_offset,
		       const char *buf, size_t len)
{
	size_t size = sizeof(struct dir_ahead) + len;
	struct dir_ahead *ahead;

	if (len > PT_DIR_AHEAD_MAX || !handle_table_charge_ahead(&fs->handles, size))
		return;
	ahead = malloc(size);
	if (!ahead) {
		handle_table_uncharge_ahead(&fs->handles, size);
		return;
	}
	ahead->next_offset = next_offset;
	ahead->len = len;
	memcpy(ahead->buf, buf, len);
	handle->ahead = ahead;
	handle->ahead_size = size;
}

/* Adds the records of buf[0, n) from *pos on; 1 when the reply is full
 * (*pos: the first record not sent), 0 when all went in. *last_off is
 * the d_off of the last record sent. */
static int readdir_add_records(struct passthrough *fs, struct pt_inode *dir, int dir_fd,
			       const char *buf, size_t n, size_t *pos, bool plus,
			       struct fs_dir_filler *filler, uint64_t *last_off)
{
	while (*pos < n) {
		const struct dirent64 *d = (const void *)(buf + *pos);

		/* names are looked up in the open directory itself */
		if (readdir_add(fs, dir, dir_fd, d, plus, filler))
			return 1;
		*last_off = (uint64_t)d->d_off;
		*pos += d->d_reclen;
	}
	return 0;
}

/* Sends the read-ahead kept for offset, if there is one: 1 when the
 * reply is full (the rest is kept again), 0 when the listing goes on
 * from the fd's position, -1 when the fd must seek to offset first. */
static int readdir_from_ahead(struct passthrough *fs, struct pt_handle *handle,
			      struct pt_inode *dir, uint64_t offset, bool plus,
			      struct fs_dir_filler *filler, bool *added)
{
	struct dir_ahead *ahead = handle->ahead;
	uint64_t last_off = offset;
	size_t pos = 0;
	int full;

	if (!ahead || ahead->next_offset != offset) {
		ahead_drop(fs, handle);
		return -1;
	}
	handle->ahead = NULL;
	full = readdir_add_records(fs, dir, handle->fd, ahead->buf, ahead->len, &pos, plus,
				   filler, &last_off);
	*added = pos > 0;
	handle_table_uncharge_ahead(&fs->handles, handle->ahead_size);
	handle->ahead_size = 0;
	if (full)
		ahead_keep(fs, handle, last_off, ahead->buf + pos, ahead->len - pos);
	free(ahead);
	/* a full reply whose rest could not be kept leaves the fd ahead of
	 * the guest: the next READDIR finds no read-ahead and seeks */
	return full;
}

static int readdir_locked(struct passthrough *fs, struct pt_handle *handle,
			  struct pt_inode *dir, uint64_t offset, bool plus,
			  struct fs_dir_filler *filler, char *buf)
{
	uint64_t last_off = offset;
	bool added = false;
	int ret = readdir_from_ahead(fs, handle, dir, offset, plus, filler, &added);

	if (ret == 1)
		return 0;
	if (ret < 0 && (offset > INT64_MAX || lseek(handle->fd, (off_t)offset, SEEK_SET) < 0))
		return offset > INT64_MAX ? -EINVAL : -errno;
	for (;;) {
		ssize_t n = getdents64(handle->fd, buf, readdir_chunk(filler, plus));
		size_t pos = 0;

		if (n < 0)
			return added ? 0 : -errno;
		if (n == 0)
			return 0;
		if (readdir_add_records(fs, dir, handle->fd, buf, (size_t)n, &pos, plus, filler,
					&last_off)) {
			ahead_keep(fs, handle, last_off, buf + pos, (size_t)n - pos);
			return 0;
		}
		added = true;
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
		return pt_lost_fh(fs, fh);
	}
	/* The buffer lives for this request; only what the reply could not
	 * carry stays with the handle (bounded per handle and in all). */
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
		return pt_lost_fh(fs, fh);
	if ((datasync ? fdatasync(handle->fd) : fsync(handle->fd)) < 0)
		ret = -errno;
	handle_table_put(&fs->handles, handle);
	return ret;
}
