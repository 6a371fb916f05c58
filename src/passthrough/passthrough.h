/* passthrough.h: a file system that serves one host directory.
 * Implements fs_ops over an inode table of O_PATH fds keyed by
 * (st_dev, st_ino, mount id); every operation works relative to a
 * parent fd with *at() calls and never builds a path from a guest name.
 * Requests run with the caller's fsuid/fsgid on the serving thread. */
#ifndef VFSD_PASSTHROUGH_H
#define VFSD_PASSTHROUGH_H

#include <stdbool.h>
#include <stdint.h>

#include "fuse/fs_ops.h"

enum cache_mode {
	CACHE_NEVER,
	CACHE_METADATA,
	CACHE_AUTO,
	CACHE_ALWAYS,
};

struct passthrough_config {
	const char *shared_dir;
	enum cache_mode cache;
	bool xattr;
	bool posix_acl;
	bool writeback;
	bool allow_direct_io;
	bool readdirplus;
	bool announce_submounts;
	bool posix_lock;
	bool flock;
	bool killpriv_v2;
	/* The sandbox opens /proc/self/fd before the host's /proc goes out of
	 * reach; the passthrough then takes that fd over. Without it, the
	 * passthrough opens /proc/self/fd itself. */
	bool proc_self_fd_given;
	int proc_self_fd;
};

struct passthrough;

/* Opens the shared directory. Returns NULL and sets *err (negative
 * errno) when it cannot be opened as a directory. */
struct passthrough *passthrough_new(const struct passthrough_config *config, int *err);
void passthrough_free(struct passthrough *fs);

extern const struct fs_ops passthrough_ops;

#endif
