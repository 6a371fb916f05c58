/* fuse_internal.h: what the files of src/fuse/ share and nobody else sees.
 * A request is served in three steps by one handler per opcode: decode
 * the request struct (fuse_decode.c), call the file system, encode the
 * reply (fuse_reply.c). Handlers return 0 when they wrote a reply payload
 * and a negative errno otherwise; fuse_server.c turns that into the out
 * header. */
#ifndef VFSD_FUSE_INTERNAL_H
#define VFSD_FUSE_INTERNAL_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fuse/fuse_server.h"
#include "util/iov_cursor.h"

/* Session states; INIT moves NEW or DESTROYED to RUNNING. DESTROYED is
 * left again by a new INIT because a virtio-fs guest sends INIT and
 * DESTROY on every mount and umount of the same device. */
enum fuse_session_state {
	FUSE_SESSION_NEW = 0,
	FUSE_SESSION_RUNNING,
	FUSE_SESSION_DESTROYED,
};

/* Congestion settings handed to the guest at INIT (kernel defaults are
 * 12/9; a virtqueue holds many more requests in flight, so we allow 64
 * background requests and mark the connection congested at 3/4). */
#define FUSE_SERVER_MAX_BACKGROUND 64
#define FUSE_SERVER_CONGESTION_THRESHOLD 48

struct fuse_server {
	const struct fs_ops *ops;
	void *fs;
	uint32_t config_max_write;
	struct dax_window *dax;
	/* Serialises INIT and DESTROY against each other. */
	pthread_mutex_t init_lock;
	/* Written under init_lock; read with __atomic loads. The negotiated
	 * fields are stored before state is released as RUNNING. */
	int state;
	uint32_t minor;
	uint64_t flags;
	uint32_t max_write;
};

struct fuse_req {
	struct fuse_server *server;
	const struct fs_ops *ops;
	void *fs;
	const char *opname;
	struct fuse_in_header hdr;
	struct fs_ctx ctx;
	/* Request body after the in header. */
	struct iov_cursor in;
	unsigned in_count;
	/* Reply payload area after the out header; out_count bounds the
	 * number of pieces a slice of it can take. */
	struct iov_cursor out;
	unsigned out_count;
	size_t payload;
	/* Session snapshot taken once per request. */
	uint32_t minor;
	uint64_t flags;
	uint32_t max_write;
	/* FUSE_HANDLE_NO_WAIT: must not wait on the guest (SETLKW). */
	bool no_wait;
	/* The supplementary groups of a creating request (ctx.groups). */
	gid_t groups[FS_MAX_SUPP_GROUPS];
	/* Its security context (ctx.secctx); the value is malloc'd and
	 * freed with the request (req_release). */
	bool secctx_seen;
	struct fs_secctx secctx;
	char secctx_name[XATTR_NAME_MAX + 1];
	void *secctx_value;
};

/* fuse_server.c */
const char *fuse_opcode_name(uint32_t opcode);

/* fuse_decode.c: every read of guest bytes, with the checks. */
enum fuse_name_kind {
	FUSE_NAME_LOOKUP,  /* "." and ".." allowed */
	FUSE_NAME_ENTRY,   /* creates or removes an entry: no "." / ".." */
};
int req_read(struct fuse_req *req, void *dst, size_t len);
/* Read the first len bytes of a struct of full size: the rest is zeroed
 * (older protocol minors send shorter structs). */
int req_read_compat(struct fuse_req *req, void *dst, size_t full, size_t len);
/* Request extensions (7.38) end the request: take them off the body the
 * handler reads, and hand a creating request's supplementary groups and
 * security context to the file system in ctx. -EINVAL for extensions
 * never negotiated, malformed, sent twice, or a security context on a
 * request that creates nothing. */
int req_take_extensions(struct fuse_req *req);
/* What decoding a request allocated, freed once it is answered. */
void req_release(struct fuse_req *req);
int req_read_name(struct fuse_req *req, char name[NAME_MAX + 1], enum fuse_name_kind kind);
int req_read_xattr_name(struct fuse_req *req, char name[XATTR_NAME_MAX + 1]);
/* NUL-terminated symlink target, at most PATH_MAX - 1 bytes. */
int req_read_target(struct fuse_req *req, char target[PATH_MAX]);
/* Zero-copy view of the next len request bytes; *pieces is dst or a
 * heap array the caller frees with req_slice_free. */
int req_slice_in(struct fuse_req *req, size_t len, struct iovec *dst, unsigned dst_max,
		 struct iovec **pieces);
int req_slice_out(struct fuse_req *req, size_t len, struct iovec *dst, unsigned dst_max,
		  struct iovec **pieces);
void req_slice_free(struct iovec *pieces, struct iovec *dst);
/* Bodies shared by several opcodes, sized for the negotiated minor. */
int req_read_read_in(struct fuse_req *req, struct fuse_read_in *in);
int req_read_release_in(struct fuse_req *req, struct fuse_release_in *in);
/* How much a READ or READDIR may answer: what was asked, what fits in
 * the reply space, and never more than max_write. */
size_t req_data_limit(const struct fuse_req *req, uint32_t asked);
uint32_t req_umask(const struct fuse_req *req, uint32_t umask);

/* fuse_reply.c: every write of reply bytes. */
size_t reply_entry_size(const struct fuse_req *req);
size_t reply_attr_size(const struct fuse_req *req);
/* Check the reply payload of len bytes fits before the file system is
 * called (so nothing is done that cannot be answered). */
int reply_reserve(struct fuse_req *req, size_t len);
int reply_put(struct fuse_req *req, const void *data, size_t len);
int reply_entry(struct fuse_req *req, const struct fuse_entry_out *entry);
int reply_attr(struct fuse_req *req, const struct fuse_attr_out *attr);
/* Map what a file system returned to 0 or a negative errno. */
int fs_result(long ret);
/* Log an error reply at the level its errno deserves. */
void reply_log_error(const struct fuse_req *req, int err);

/* Call file system operation op with the request's fs and ctx. */
#define FS_CALL(req, op, ...) ((req)->ops->op((req)->fs, &(req)->ctx, __VA_ARGS__))

/* Handlers, one per opcode (fuse_ops_*.c, fuse_dirent.c). */
typedef int fuse_handler_fn(struct fuse_req *req);
fuse_handler_fn do_lookup, do_forget, do_batch_forget, do_getattr, do_setattr,
	do_readlink, do_symlink, do_mknod, do_mkdir, do_unlink, do_rmdir, do_rename,
	do_rename2, do_link, do_tmpfile, do_open, do_create, do_read, do_write,
	do_statfs, do_release, do_fsync, do_flush, do_setxattr, do_getxattr,
	do_listxattr, do_removexattr, do_opendir, do_readdir, do_readdirplus,
	do_releasedir, do_fsyncdir, do_getlk, do_setlk, do_setlkw, do_access,
	do_interrupt, do_fallocate, do_lseek, do_copy_file_range, do_syncfs, do_statx,
	do_setupmapping, do_removemapping;

#endif
