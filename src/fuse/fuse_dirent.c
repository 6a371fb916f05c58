/* fuse_dirent.c: directory handles and READDIR/READDIRPLUS. The file
 * system adds entries through fs_dir_filler_add, which encodes each one
 * (fuse_dirent or fuse_direntplus, padded to 8 bytes) straight into the
 * reply space after the out header. */
#include "fuse/fuse_internal.h"

#include <errno.h>
#include <string.h>

#include "util/log.h"

struct fs_dir_filler {
	struct iov_cursor *out;
	size_t left;   /* bytes the reply may still take */
	size_t used;   /* bytes encoded so far */
	bool plus;
};

size_t fs_dir_filler_space(const struct fs_dir_filler *filler)
{
	return filler->left;
}

static bool dirent_name_valid(const char *name, size_t name_len)
{
	return name && name_len > 0 && name_len <= NAME_MAX && !memchr(name, '/', name_len) &&
	       !memchr(name, '\0', name_len);
}

int fs_dir_filler_add(struct fs_dir_filler *filler, const char *name, size_t name_len,
		      uint64_t ino, uint32_t type, uint64_t next_offset,
		      const struct fuse_entry_out *entry)
{
	static const char zeros[8];

	/* The file system is ours, but a bad entry would make the guest
	 * fail the whole directory: refuse it here, loudly. */
	if (!dirent_name_valid(name, name_len) || (filler->plus && !entry)) {
		log_error_once("fuse: READDIR: file system gave an invalid entry");
		return -EINVAL;
	}
	size_t head = filler->plus ? FUSE_NAME_OFFSET_DIRENTPLUS : FUSE_NAME_OFFSET;
	size_t reclen = FUSE_DIRENT_ALIGN(head + name_len);
	if (reclen > filler->left)
		return 1;

	struct fuse_dirent dirent = {
		.ino = ino,
		.off = next_offset,
		.namelen = (uint32_t)name_len,
		.type = type,
	};
	/* Fits: left never exceeds what the out cursor holds. */
	if (filler->plus)
		iov_cursor_write(filler->out, entry, sizeof(*entry));
	iov_cursor_write(filler->out, &dirent, FUSE_NAME_OFFSET);
	iov_cursor_write(filler->out, name, name_len);
	iov_cursor_write(filler->out, zeros, reclen - head - name_len);
	filler->left -= reclen;
	filler->used += reclen;
	return 0;
}

static int readdir_common(struct fuse_req *req, bool plus)
{
	struct fuse_read_in in;

	if (!req->ops->readdir)
		return -ENOSYS;
	int err = req_read_read_in(req, &in);
	if (err)
		return err;
	struct fs_dir_filler filler = {
		.out = &req->out,
		.left = req_data_limit(req, in.size),
		.plus = plus,
	};
	int ret = req->ops->readdir(req->fs, &req->ctx, req->hdr.nodeid, in.fh, in.offset, plus,
				    &filler);
	/* Entries already encoded are answered even if the file system
	 * failed later: for READDIRPLUS it counted lookups for them. */
	err = fs_result(ret);
	if (err && filler.used == 0)
		return err;
	req->payload = filler.used;
	return 0;
}

int do_readdir(struct fuse_req *req)
{
	return readdir_common(req, false);
}

int do_readdirplus(struct fuse_req *req)
{
	return readdir_common(req, true);
}

int do_opendir(struct fuse_req *req)
{
	struct fuse_open_in in;
	struct fuse_open_out out = { 0 };

	if (!req->ops->opendir)
		return -ENOSYS;
	int err = req_read(req, &in, sizeof(in));
	if (!err)
		err = reply_reserve(req, sizeof(out));
	if (err)
		return err;
	err = fs_result(FS_CALL(req, opendir, req->hdr.nodeid, in.flags, &out));
	if (err)
		return err;
	return reply_put(req, &out, sizeof(out));
}

int do_releasedir(struct fuse_req *req)
{
	struct fuse_release_in in;

	if (!req->ops->releasedir)
		return -ENOSYS;
	int err = req_read_release_in(req, &in);
	if (err)
		return err;
	return fs_result(FS_CALL(req, releasedir, req->hdr.nodeid, in.fh));
}

int do_fsyncdir(struct fuse_req *req)
{
	struct fuse_fsync_in in;

	if (!req->ops->fsyncdir)
		return -ENOSYS;
	int err = req_read(req, &in, sizeof(in));
	if (err)
		return err;
	return fs_result(FS_CALL(req, fsyncdir, req->hdr.nodeid, in.fh,
				 in.fsync_flags & FUSE_FSYNC_FDATASYNC));
}
