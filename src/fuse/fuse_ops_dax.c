/* fuse_ops_dax.c: SETUPMAPPING and REMOVEMAPPING, the DAX window's two
 * opcodes. Decoding and the window's rules are here and in dax_window.c;
 * what only the file system knows (the handle, the file) it checks in
 * its dax_fd operation. Every refusal is an error reply; nothing a guest
 * sends makes the window and the frontend disagree. */
#include "fuse/fuse_internal.h"

#include <errno.h>
#include <unistd.h>

#include "fuse/dax_window.h"

/* Linux sends at most a page of entries per REMOVEMAPPING. */
#define DAX_REMOVEMAPPING_MAX_ENTRIES (4096 / sizeof(struct fuse_removemapping_one))

#define SETUPMAPPING_KNOWN_FLAGS (FUSE_SETUPMAPPING_FLAG_WRITE | FUSE_SETUPMAPPING_FLAG_READ)

/* Only a session that was told the alignment (INIT with a window) may
 * map: any other guest gets what it got before DAX existed. */
static struct dax_window *req_dax_window(const struct fuse_req *req)
{
	if (!req->server->dax || !(req->flags & FUSE_MAP_ALIGNMENT))
		return NULL;
	return req->server->dax;
}

int do_setupmapping(struct fuse_req *req)
{
	struct dax_window *w = req_dax_window(req);
	struct fuse_setupmapping_in in;
	int err, fd;

	if (!w || !req->ops->dax_fd)
		return -ENOSYS;
	err = req_read(req, &in, sizeof(in));
	if (err)
		return err;
	if (in.flags & ~(uint64_t)SETUPMAPPING_KNOWN_FLAGS)
		return -EINVAL;
	/* The window's rules first: they cost nothing and touch no file. */
	err = dax_window_check_range(dax_window_size(w), in.moffset, in.len);
	if (err)
		return err;
	bool writable = in.flags & FUSE_SETUPMAPPING_FLAG_WRITE;

	fd = FS_CALL(req, dax_fd, req->hdr.nodeid, in.fh, in.foffset, in.len, writable);
	if (fd < 0)
		return fs_result(fd);
	err = dax_window_map(w, fd, req->hdr.nodeid, in.foffset, in.moffset, in.len, writable);
	close(fd);
	return err;
}

int do_removemapping(struct fuse_req *req)
{
	struct dax_window *w = req_dax_window(req);
	struct fuse_removemapping_in in;
	int err, first_err = 0;

	if (!w)
		return -ENOSYS;
	err = req_read(req, &in, sizeof(in));
	if (err)
		return err;
	if (in.count == 0 || in.count > DAX_REMOVEMAPPING_MAX_ENTRIES ||
	    iov_cursor_remaining(&req->in) != in.count * sizeof(struct fuse_removemapping_one))
		return -EINVAL;
	/* Each entry on its own: one never mapped does not keep the others
	 * mapped, and the reply carries the first failure. */
	for (uint32_t i = 0; i < in.count; i++) {
		struct fuse_removemapping_one one;

		err = req_read(req, &one, sizeof(one));
		if (err)
			return err;
		err = dax_window_unmap(w, one.moffset, one.len);
		if (err && !first_err)
			first_err = err;
	}
	return first_err;
}
