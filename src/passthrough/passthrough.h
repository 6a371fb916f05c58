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
#include "passthrough/id_map.h"
#include "passthrough/xattr_map.h"

enum cache_mode {
	CACHE_NEVER,
	CACHE_METADATA,
	CACHE_AUTO,
	CACHE_ALWAYS,
};

/* --inode-file-handles: how the inode table holds what the guest looked
 * up. NEVER: an O_PATH fd per inode. PREFER: a file handle where the
 * file system gives one (name_to_handle_at) and we can open it again
 * (open_by_handle_at, CAP_DAC_READ_SEARCH), else an O_PATH fd. MANDATORY:
 * a file handle always; a lookup that cannot get one fails. */
enum inode_file_handles {
	INODE_FILE_HANDLES_NEVER,
	INODE_FILE_HANDLES_PREFER,
	INODE_FILE_HANDLES_MANDATORY,
};

struct passthrough_config {
	const char *shared_dir;
	enum cache_mode cache;
	bool xattr;
	bool posix_acl;
	bool writeback;
	bool allow_direct_io;
	/* FUSE_DIRECT_IO_ALLOW_MMAP: the guest may mmap MAP_SHARED a file
	 * opened with FOPEN_DIRECT_IO (cache never or metadata). */
	bool allow_mmap;
	bool readdirplus;
	bool announce_submounts;
	bool posix_lock;
	bool flock;
	bool killpriv_v2;
	/* --readonly: every request that would change the share gets EROFS
	 * (passthrough_fs_ops() then hands out the read-only table). */
	bool readonly;
	/* --preserve-noatime: keep the guest's O_NOATIME (else dropped, as
	 * the Rust virtiofsd does: it needs ownership or CAP_FOWNER). */
	bool preserve_noatime;
	/* --xattrmap: guest xattr names to the host's and back (NULL: as
	 * they are). Must outlive the passthrough. */
	const struct xattr_map *xattrmap;
	/* --translate-uid / --translate-gid: guest ids to the host's and back
	 * (NULL: as they are). Must outlive the passthrough. */
	const struct id_map *uid_map;
	const struct id_map *gid_map;
	/* --security-label: FUSE_SECURITY_CTX; the guest's label for each new
	 * inode is set on it (through xattrmap) or the create fails. */
	bool security_label;
	/* The sandbox opens /proc/self/fd before the host's /proc goes out of
	 * reach; the passthrough then takes that fd over. Without it, the
	 * passthrough opens /proc/self/fd itself. */
	bool proc_self_fd_given;
	int proc_self_fd;
	/* Caps on what the guest can make us hold, so it cannot exhaust our
	 * fds or memory (CVE-2020-10717): inodes in the table (each holds an
	 * O_PATH fd) and open fds for it (file and directory handles plus
	 * POSIX lock owners' files). 0 derives them from RLIMIT_NOFILE at
	 * passthrough_new() (passthrough_limits_from_rlimit()). At the cap,
	 * new inodes get -ENFILE and new opens -EMFILE until the guest sends
	 * FORGET or RELEASE. */
	uint64_t inode_limit;
	uint64_t handle_limit;
	enum inode_file_handles file_handles;
	/* With file handles: the most O_PATH fds kept open for inodes held
	 * by handle, so that hot inodes are not reopened on every request
	 * (an LRU); 0 derives it from the fd budget. Inodes then cost memory,
	 * not fds: inode_limit 0 derives a memory-based cap
	 * (passthrough_handle_inode_limit()). */
	uint64_t fd_cache_limit;
};

/* The defaults for a soft RLIMIT_NOFILE of nofile: a reserve for the
 * daemon's own fds (sockets, eventfds, memory regions, transient fds of
 * requests in flight; nofile/8 within [64, 4096]) comes off the top; of
 * the rest the inode table may hold 3/4 and open handles 1/4 (a guest
 * walks far more names than it keeps open). Each is at least 1. */
void passthrough_limits_from_rlimit(uint64_t nofile, uint64_t *inode_limit,
				    uint64_t *handle_limit);

/* The default cap on inodes held by file handle: what fits in
 * PT_HANDLE_INODE_MEMORY_SHARE of physical memory at the worst-case
 * size of one inode (the largest handle), at least min_limit. */
uint64_t passthrough_handle_inode_limit(uint64_t phys_bytes, uint64_t min_limit);

struct passthrough;

/* Opens the shared directory. Returns NULL and sets *err (negative
 * errno) when it cannot be opened as a directory. */
struct passthrough *passthrough_new(const struct passthrough_config *config, int *err);
void passthrough_free(struct passthrough *fs);
/* The limits in force (after deriving the defaults). */
void passthrough_get_limits(struct passthrough *fs, uint64_t *inode_limit,
			    uint64_t *handle_limit);

extern const struct fs_ops passthrough_ops;
/* The same operations, minus everything that writes: each of those gets
 * -EROFS before touching the host, opens for writing or with O_TRUNC or
 * O_CREAT included, and CREATE opens only a name that exists. */
extern const struct fs_ops passthrough_readonly_ops;
/* The table for fs: passthrough_readonly_ops with config.readonly. */
const struct fs_ops *passthrough_fs_ops(const struct passthrough *fs);

/* ---- live migration (passthrough_migrate.c, docs/migration.md) ---- */

#include "migration/state_stream.h"

enum pt_migration_mode {
	PT_MIGRATION_FIND_PATHS,	/* the Rust virtiofsd's default */
	PT_MIGRATION_FILE_HANDLES,
};

struct pt_migration_config {
	/* Source: how inodes are described to the destination. */
	enum pt_migration_mode mode;
	bool verify_handles;	/* find-paths: attach a file handle the destination compares */
	bool confirm_paths;	/* find-paths: resolve each path again before sending it */
	/* Destination: an inode it cannot find again gives the guest EIO
	 * (true) or fails the whole load (false, "abort"). */
	bool on_error_guest;
	/* Destination: file handles may be opened (open_by_handle_at allowed). */
	bool open_handles;
};

/* What the source sends: st and the storage its strings live in. */
struct pt_migration_out {
	struct mig_state st;
	char **strings;
	size_t nstrings;
};

struct pt_migration_report {
	size_t inodes, anchors, inodes_lost;
	size_t handles, handles_lost;
	size_t lock_owners, locks_retaken, locks_not_retaken;
};

/* Source, queues stopped: the inodes, handles and lock owners, plus the
 * next free ids and the negotiated flags in st.session (state, minor,
 * flags and max_write are the FUSE server's: the caller fills them).
 * 0 or -errno; release out in every case. */
int passthrough_migration_collect(struct passthrough *fs, const struct pt_migration_config *cfg,
				  struct pt_migration_out *out, struct pt_migration_report *rep);
void passthrough_migration_release(struct pt_migration_out *out);
/* Destination, queues stopped, nothing served yet: take over a parsed
 * state. Every inode is found again under the shared directory (one
 * component at a time, no symlink followed, never above the root) or by
 * a file handle proved to lie inside it; handles are reopened with their
 * flags, lock owners rebuilt and their locks taken again where nobody
 * holds them. On failure nothing of st stays. 0, or -errno. */
int passthrough_migration_restore(struct passthrough *fs, const struct pt_migration_config *cfg,
				  const struct mig_state *st, struct pt_migration_report *rep);
/* The MIG_FS_* flags INIT negotiated. */
uint32_t passthrough_migration_fs_flags(struct passthrough *fs);

#endif
