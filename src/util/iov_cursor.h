/* iov_cursor.h: the one way guest bytes are read and replies written.
 * A cursor walks a scatter list (iovecs into guest memory, or a plain
 * buffer for /dev/fuse) with checked lengths; nothing else in the daemon
 * indexes request memory directly. It never reads or writes past the
 * iovecs it was given, whatever lengths the caller asks for. */
#ifndef VFSD_IOV_CURSOR_H
#define VFSD_IOV_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct iov_cursor {
	const struct iovec *iov;
	unsigned iov_count;
	unsigned index;  /* current iovec */
	size_t offset;   /* bytes consumed within iov[index] */
	size_t remaining; /* bytes left across all iovecs */
};

/* Total bytes of a scatter list; saturates at SIZE_MAX. */
size_t iov_total_length(const struct iovec *iov, unsigned count);

void iov_cursor_init(struct iov_cursor *cur, const struct iovec *iov, unsigned count);
size_t iov_cursor_remaining(const struct iov_cursor *cur);

/* Copy exactly len bytes out of / into the list. Returns 0, or -EINVAL
 * (read) / -ENOSPC (write) without moving when fewer bytes remain. */
int iov_cursor_read(struct iov_cursor *cur, void *dst, size_t len);
int iov_cursor_write(struct iov_cursor *cur, const void *src, size_t len);
/* Write zero bytes. */
int iov_cursor_write_zeros(struct iov_cursor *cur, size_t len);
int iov_cursor_skip(struct iov_cursor *cur, size_t len);
/* Let the cursor see at most len more bytes (no-op when fewer remain). */
void iov_cursor_limit(struct iov_cursor *cur, size_t len);

/* Read a NUL-terminated string of at most max_len bytes (NUL excluded)
 * into dst (which holds max_len + 1). -EINVAL if no NUL comes within the
 * remaining bytes or within max_len + 1. */
int iov_cursor_read_string(struct iov_cursor *cur, char *dst, size_t max_len);

/* Describe the next len bytes (len <= remaining) as at most max_out
 * iovecs in out, without copying, and advance past them. Returns the
 * number of iovecs used, -EINVAL if fewer than len bytes remain, or
 * -E2BIG if more than max_out pieces would be needed. Used for zero-copy
 * preadv/pwritev between a host file and guest memory. */
int iov_cursor_slice(struct iov_cursor *cur, size_t len, struct iovec *out,
		     unsigned max_out);

#endif
