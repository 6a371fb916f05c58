/* fuse_decode.c: reading request bodies. Every guest byte the handlers
 * use comes through here, checked against what is really there. */
#include "fuse/fuse_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

int req_read(struct fuse_req *req, void *dst, size_t len)
{
	if (iov_cursor_read(&req->in, dst, len) == 0)
		return 0;
	log_error_once("fuse: %s: request too short (%zu bytes left, %zu needed)",
		       req->opname, iov_cursor_remaining(&req->in), len);
	return -EINVAL;
}

int req_read_compat(struct fuse_req *req, void *dst, size_t full, size_t len)
{
	memset(dst, 0, full);
	return req_read(req, dst, len < full ? len : full);
}

/* Requests the guest sends FUSE_CREATE_SUPP_GROUP's group with. */
static bool opcode_creates(uint32_t opcode)
{
	switch (opcode) {
	case FUSE_CREATE:
	case FUSE_MKNOD:
	case FUSE_MKDIR:
	case FUSE_SYMLINK:
	case FUSE_TMPFILE:
		return true;
	default:
		return false;
	}
}

static int ext_read_groups(struct fuse_req *req, struct iov_cursor *ext)
{
	uint32_t nr;

	if (req->ctx.ngroups) {
		log_error_once("fuse: %s: supplementary groups sent twice", req->opname);
		return -EINVAL;
	}
	if (iov_cursor_read(ext, &nr, sizeof(nr)) < 0 || nr > FS_MAX_SUPP_GROUPS ||
	    iov_cursor_read(ext, req->groups, nr * sizeof(req->groups[0])) < 0) {
		log_error_once("fuse: %s: malformed supplementary groups extension", req->opname);
		return -EINVAL;
	}
	/* only a new inode's group is decided with them */
	if (opcode_creates(req->hdr.opcode)) {
		req->ctx.groups = req->groups;
		req->ctx.ngroups = nr;
	}
	return 0;
}

/* FUSE_SECURITY_CTX: a fuse_secctx_header (the extension header, its
 * nr_secctx in the type's place), then, when Linux has a context, one
 * struct fuse_secctx (the value's size), the xattr name with its NUL and
 * the value, padded to 8 bytes (FUSE_REC_ALIGN). Linux sends at most one
 * (as the Rust virtiofsd, more are refused). */
static int ext_read_secctx(struct fuse_req *req, struct iov_cursor *ext, uint32_t nr)
{
	struct fuse_secctx sc;
	size_t len;

	if (!(req->flags & FUSE_SECURITY_CTX) || !opcode_creates(req->hdr.opcode)) {
		log_error_once("fuse: %s: a security context %s", req->opname,
			       (req->flags & FUSE_SECURITY_CTX) ? "on a request that creates nothing" :
								   "that was never negotiated");
		return -EINVAL;
	}
	if (req->secctx_seen) {
		log_error_once("fuse: %s: security context sent twice", req->opname);
		return -EINVAL;
	}
	req->secctx_seen = true;
	if (nr == 0) {
		/* no LSM in the guest labels inodes: the header alone */
		if (iov_cursor_remaining(ext) != 0)
			goto malformed;
		log_trace("fuse: %s: security context extension without a context", req->opname);
		return 0;
	}
	if (nr > 1 || iov_cursor_read(ext, &sc, sizeof(sc)) < 0 || sc.size == 0 ||
	    sc.size > XATTR_SIZE_MAX ||
	    iov_cursor_read_string(ext, req->secctx_name, XATTR_NAME_MAX) < 0)
		goto malformed;
	len = strlen(req->secctx_name);
	/* then the value, then no more than the padding to 8 bytes */
	if (len == 0 || iov_cursor_remaining(ext) < sc.size ||
	    iov_cursor_remaining(ext) - sc.size >= 8)
		goto malformed;
	req->secctx_value = malloc(sc.size);
	if (!req->secctx_value)
		return -ENOMEM;
	if (iov_cursor_read(ext, req->secctx_value, sc.size) < 0)
		goto malformed;
	req->secctx = (struct fs_secctx){ .name = req->secctx_name,
					  .value = req->secctx_value, .size = sc.size };
	req->ctx.secctx = &req->secctx;
	log_trace("fuse: %s: security context %s, %u bytes", req->opname, req->secctx_name,
		  sc.size);
	return 0;

malformed:
	log_error_once("fuse: %s: malformed security context extension", req->opname);
	return -EINVAL;
}

void req_release(struct fuse_req *req)
{
	free(req->secctx_value);
	req->secctx_value = NULL;
	req->ctx.secctx = NULL;
}

int req_take_extensions(struct fuse_req *req)
{
	size_t len = (size_t)req->hdr.total_extlen * 8, body = iov_cursor_remaining(&req->in);
	struct iov_cursor ext = req->in;

	if (len == 0)
		return 0;
	if (!(req->flags & (FUSE_CREATE_SUPP_GROUP | FUSE_SECURITY_CTX))) {
		log_error_once("fuse: %s: extensions that were never negotiated", req->opname);
		return -EINVAL;
	}
	if (len > body) {
		log_error_once("fuse: %s: %zu bytes of extensions in a body of %zu", req->opname,
			       len, body);
		return -EINVAL;
	}
	iov_cursor_limit(&req->in, body - len);
	iov_cursor_skip(&ext, body - len);
	while (iov_cursor_remaining(&ext) > 0) {
		struct fuse_ext_header xh;
		struct iov_cursor one;
		int err;

		if (iov_cursor_read(&ext, &xh, sizeof(xh)) < 0 || xh.size < sizeof(xh) ||
		    xh.size % 8 || xh.size - sizeof(xh) > iov_cursor_remaining(&ext)) {
			log_error_once("fuse: %s: malformed extension header", req->opname);
			return -EINVAL;
		}
		one = ext;
		iov_cursor_limit(&one, xh.size - sizeof(xh));
		iov_cursor_skip(&ext, xh.size - sizeof(xh));
		/* types 0-31 are a security context's nr_secctx; newer types
		 * than the groups': not ours */
		if (xh.type <= FUSE_MAX_NR_SECCTX)
			err = ext_read_secctx(req, &one, xh.type);
		else if (xh.type == VFSD_FUSE_EXT_GROUPS)
			err = ext_read_groups(req, &one);
		else
			continue;
		if (err)
			return err;
	}
	return 0;
}

/* Whether a NUL byte comes anywhere in the rest of the request: tells a
 * name that is too long from one that is not terminated at all. */
static bool cursor_has_nul(const struct iov_cursor *cur)
{
	struct iov_cursor probe = *cur;
	char chunk[256];

	while (iov_cursor_remaining(&probe) > 0) {
		size_t n = iov_cursor_remaining(&probe);
		if (n > sizeof(chunk))
			n = sizeof(chunk);
		if (iov_cursor_read(&probe, chunk, n) < 0)
			return false;
		if (memchr(chunk, '\0', n))
			return true;
	}
	return false;
}

/* A NUL-terminated string of at most max bytes: -EINVAL without NUL,
 * -ENAMETOOLONG when longer; the cursor moves only on success. */
static int req_read_cstring(struct fuse_req *req, char *dst, size_t max, size_t *len)
{
	if (iov_cursor_read_string(&req->in, dst, max) == 0) {
		*len = strlen(dst);
		return 0;
	}
	if (cursor_has_nul(&req->in))
		return -ENAMETOOLONG;
	log_error_once("fuse: %s: string not NUL-terminated within the request", req->opname);
	return -EINVAL;
}

static bool name_is_dot(const char *name)
{
	return strcmp(name, ".") == 0 || strcmp(name, "..") == 0;
}

int req_read_name(struct fuse_req *req, char name[NAME_MAX + 1], enum fuse_name_kind kind)
{
	size_t len;
	int err = req_read_cstring(req, name, NAME_MAX, &len);
	if (err) {
		/* The guest's VFS allows FUSE names up to 1024 bytes: a
		 * long name is an ordinary error, not an attack. */
		return err;
	}
	if (len == 0 || memchr(name, '/', len)) {
		log_error_once("fuse: %s: empty name or name with '/'", req->opname);
		return -EINVAL;
	}
	if (kind == FUSE_NAME_ENTRY && name_is_dot(name)) {
		log_error_once("fuse: %s: \".\" or \"..\" as a new or removed entry", req->opname);
		return -EINVAL;
	}
	return 0;
}

int req_read_xattr_name(struct fuse_req *req, char name[XATTR_NAME_MAX + 1])
{
	size_t len;
	int err = req_read_cstring(req, name, XATTR_NAME_MAX, &len);
	/* Linux answers ERANGE for empty and overlong attribute names. */
	if (err == -ENAMETOOLONG)
		return -ERANGE;
	if (err)
		return err;
	return len == 0 ? -ERANGE : 0;
}

int req_read_target(struct fuse_req *req, char target[PATH_MAX])
{
	size_t len;
	int err = req_read_cstring(req, target, PATH_MAX - 1, &len);
	if (err)
		return err;
	/* symlink(2) refuses an empty target the same way. */
	return len == 0 ? -ENOENT : 0;
}

static int cursor_slice(struct iov_cursor *cur, unsigned count, size_t len,
			struct iovec *dst, unsigned dst_max, struct iovec **pieces)
{
	*pieces = dst;
	int n = iov_cursor_slice(cur, len, dst, dst_max);
	if (n != -E2BIG)
		return n;
	/* More pieces than the caller's stack array: a slice never needs
	 * more pieces than the list has iovecs. */
	struct iovec *heap = calloc(count, sizeof(*heap));
	if (!heap)
		return -ENOMEM;
	n = iov_cursor_slice(cur, len, heap, count);
	if (n < 0) {
		free(heap);
		return n;
	}
	*pieces = heap;
	return n;
}

int req_slice_in(struct fuse_req *req, size_t len, struct iovec *dst, unsigned dst_max,
		 struct iovec **pieces)
{
	return cursor_slice(&req->in, req->in_count, len, dst, dst_max, pieces);
}

int req_slice_out(struct fuse_req *req, size_t len, struct iovec *dst, unsigned dst_max,
		  struct iovec **pieces)
{
	return cursor_slice(&req->out, req->out_count, len, dst, dst_max, pieces);
}

void req_slice_free(struct iovec *pieces, struct iovec *dst)
{
	if (pieces != dst)
		free(pieces);
}

uint32_t req_umask(const struct fuse_req *req, uint32_t umask)
{
	/* Without FUSE_DONT_MASK the guest applied its umask to mode. */
	return (req->flags & FUSE_DONT_MASK) ? umask : 0;
}

int req_read_read_in(struct fuse_req *req, struct fuse_read_in *in)
{
	/* Before 7.9: no lock_owner and flags (the same 24 bytes as the
	 * compat fuse_write_in). */
	size_t len = req->minor < 9 ? FUSE_COMPAT_WRITE_IN_SIZE : sizeof(*in);
	return req_read_compat(req, in, sizeof(*in), len);
}

int req_read_release_in(struct fuse_req *req, struct fuse_release_in *in)
{
	/* Before 7.8: {fh, flags, padding}, no lock_owner. */
	size_t len = req->minor < 8 ? offsetof(struct fuse_release_in, lock_owner) : sizeof(*in);
	return req_read_compat(req, in, sizeof(*in), len);
}

size_t req_data_limit(const struct fuse_req *req, uint32_t asked)
{
	size_t size = asked;
	if (size > iov_cursor_remaining(&req->out))
		size = iov_cursor_remaining(&req->out);
	if (size > req->max_write)
		size = req->max_write;
	return size;
}
