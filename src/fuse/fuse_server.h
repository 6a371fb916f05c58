/* fuse_server.h: decode one FUSE request, dispatch it to the file system's
 * operation table, encode the reply. Transport-independent: a request is
 * a readable scatter list, the reply space a writable one, whether they
 * point into guest memory (virtio) or a buffer (/dev/fuse). Every header
 * and body length is checked against what the opcode allows before any
 * field is used; a request that lies about its lengths gets EINVAL and is
 * logged once; unknown opcodes get ENOSYS. Thread-safe. */
#ifndef VFSD_FUSE_SERVER_H
#define VFSD_FUSE_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "fuse/dax_window.h"
#include "fuse/fs_ops.h"

/* Largest WRITE/READ payload we negotiate: 1 MiB (max_pages 256). */
#define FUSE_SERVER_MAX_PAGES 256
#define FUSE_SERVER_MAX_WRITE (FUSE_SERVER_MAX_PAGES * 4096u)

struct fuse_server;

struct fuse_server_config {
	const struct fs_ops *ops;
	void *fs;
	uint32_t max_write;   /* 0: FUSE_SERVER_MAX_WRITE */
	/* The DAX window (SETUPMAPPING, REMOVEMAPPING), or NULL for none;
	 * the caller's, outlives the server. INIT offers FUSE_MAP_ALIGNMENT
	 * only while it has a backend with a window. */
	struct dax_window *dax;
};

struct fuse_server *fuse_server_new(const struct fuse_server_config *config);
void fuse_server_free(struct fuse_server *server);

/* Serve one request. in: the request bytes; out: where the reply goes.
 * Returns the number of reply bytes written into out, or 0 when the
 * request takes no reply (FORGET, BATCH_FORGET, INTERRUPT, and anything
 * whose reply space is too small to hold even a header). Never fails as
 * a whole: every problem becomes a FUSE error reply. */
size_t fuse_server_handle(struct fuse_server *server, const struct iovec *in,
			  unsigned in_count, const struct iovec *out, unsigned out_count);

/* FUSE_HANDLE_NO_WAIT: the caller has no other thread to keep its queue
 * moving, so the request must not wait for the guest itself: a SETLKW
 * that would wait for a conflicting lock is answered ENOLCK instead of
 * parking the last thread (a guest could otherwise stop its own queue
 * with lock waits, and with it everything else on that queue). */
#define FUSE_HANDLE_NO_WAIT 1u
size_t fuse_server_handle_flags(struct fuse_server *server, const struct iovec *in,
				unsigned in_count, const struct iovec *out,
				unsigned out_count, unsigned flags);

/* Whether the request may block for long (SETLKW, FSYNC, FSYNCDIR,
 * SYNCFS, FALLOCATE, COPY_FILE_RANGE, and SETUPMAPPING / REMOVEMAPPING,
 * which wait for the VMM; not READ/WRITE, however large);
 * the thread model uses it to hand the queue to another thread before
 * serving it. Only peeks the header. */
bool fuse_request_may_block(const struct iovec *in, unsigned in_count);

/* Whether serving the request may take long: one that may block, or a
 * READ or WRITE of FUSE_SLOW_IO_BYTES or more. A transport should not
 * keep earlier completions waiting behind it. Only peeks the header and
 * the size. */
#define FUSE_SLOW_IO_BYTES (128 * 1024)
bool fuse_request_may_be_slow(const struct iovec *in, unsigned in_count);

/* The session as INIT left it, for live migration: state 0 (no INIT
 * yet), 1 (running) or 2 (destroyed), and what was agreed. */
struct fuse_session_info {
	uint32_t state;
	uint32_t minor;
	uint64_t flags;
	uint32_t max_write;
};
void fuse_server_session_get(struct fuse_server *server, struct fuse_session_info *info);
/* Take over a session another server agreed with the guest. Refused
 * (-EINVAL) unless this server has none yet and would have agreed to the
 * same: a minor it speaks, flags it and the file system handle (asked of
 * the file system's init with the agreed flags as the guest's offer), a
 * max_write it allows. On success the file system's init has run. */
int fuse_server_session_set(struct fuse_server *server, const struct fuse_session_info *info);

/* Whether the guest has sent DESTROY (or INIT failed): for /dev/fuse. */
bool fuse_server_destroyed(const struct fuse_server *server);

#endif
