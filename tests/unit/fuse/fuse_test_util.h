/* fuse_test_util.h: a recording mock of fs_ops and a request builder for
 * the FUSE server's unit tests. */
#ifndef VFSD_FUSE_TEST_UTIL_H
#define VFSD_FUSE_TEST_UTIL_H

#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fuse/fuse_server.h"

/* What the mock saw on its last call. */
struct mock_call {
	const char *op;     /* name of the last fs_ops member called */
	int count;          /* calls since reset */
	struct fs_ctx ctx;	/* ctx.groups points into groups below */
	gid_t groups[FS_MAX_SUPP_GROUPS];
	/* ctx.secctx, copied: the request's is gone once the call returns */
	bool has_secctx;
	char secctx_name[XATTR_NAME_MAX + 1];
	uint8_t secctx_value[XATTR_SIZE_MAX];
	size_t secctx_size;
	uint64_t nodeid, parent, new_parent, fh, fh_out, nodeid_out;
	uint64_t offset, off_out, length, lock_owner, owner, nlookup, unique, cfr_flags;
	char name[NAME_MAX + 2], name2[NAME_MAX + 2], target[PATH_MAX + 1];
	uint32_t mode, rdev, umask, flags, release_flags, write_flags, setxattr_flags, open_flags;
	uint32_t mask, whence, fsync_datasync;
	size_t size;
	bool has_fh, datasync, sleep, is_flock, plus;
	struct fuse_file_lock lock;
	struct fuse_setattr_in setattr;
	unsigned iov_count;
	uint8_t data[1 << 21];   /* WRITE / SETXATTR bytes */
	size_t data_len;
	uint64_t forget_nodes[16], forget_counts[16];
	int forgets;
	struct fs_init init;
	int destroys;
	int filler_results[64];
};

/* How the mock answers. */
struct mock_conf {
	int ret;                /* negative errno to fail every call */
	uint64_t init_add;      /* flags the mock's init adds */
	uint32_t init_max_write;
	uint32_t time_gran;
	ssize_t read_len;       /* -1: fill the whole buffer */
	uint8_t read_seed;
	size_t xattr_len;       /* length of the value / list the mock holds */
	int dir_entries;        /* entries readdir tries to add */
	int dir_fail_after;     /* readdir returns -EIO after adding this many (0: never) */
	const char *link_target;
	bool no_interrupt;
};

extern struct mock_call M;
extern struct mock_conf MC;
extern const struct fs_ops mock_ops;

void mock_reset(void);

/* The request being built. */
struct req_buf {
	uint8_t b[(1 << 21) + 4096];
	size_t len;
	uint64_t unique;
};
extern struct req_buf R;
extern uint8_t OUT[(1 << 21) + 4096];
#define OH ((struct fuse_out_header *)OUT)

void rb_begin(uint32_t opcode, uint64_t nodeid);
void rb_add(const void *p, size_t n);
void rb_str(const char *s);
/* Set header.len to the bytes built so far. */
void rb_finish(void);
void rb_set_len(uint32_t len);

/* Send R with the whole out buffer (or out_size bytes of it) as one iovec. */
size_t rb_send(struct fuse_server *s);
size_t rb_send_out(struct fuse_server *s, size_t out_size);

/* Assert an error reply of err for the request last built. */
void assert_error_reply(size_t n, int err);
/* Assert a success reply with payload bytes after the header. */
void assert_ok_reply(size_t n, size_t payload);

/* A fresh server after INIT at 7.minor with the guest offering flags
 * (plus INIT_EXT / flags2 when minor >= 36). */
struct fuse_server *server_with_init(uint32_t minor, uint64_t guest_flags);
struct fuse_server *server_new(void);

#endif
