/* fs_ops.h: the contract between the FUSE server and a file system.
 * One function pointer per operation. The server has decoded and checked
 * every field before calling (names are NUL-terminated, non-empty, at
 * most NAME_MAX bytes, contain no '/'; names for new entries are not "."
 * or ".."); the file system gets plain values and returns 0 or a
 * non-negative count on success and a negative errno on failure. A file
 * system never sees guest memory except through the iovecs READ and WRITE
 * hand it, and never builds a path from a name. */
#ifndef VFSD_FS_OPS_H
#define VFSD_FS_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "fuse/fuse_kernel.h"

/* Who asks: from the request header, and on requests that create an
 * inode (CREATE, MKNOD, MKDIR, SYMLINK, TMPFILE) the supplementary groups
 * the guest sent with FUSE_CREATE_SUPP_GROUP: at most FS_MAX_SUPP_GROUPS
 * (Linux sends the one matching the parent directory's group, when the
 * caller is in it). No other request carries supplementary groups. */
#define FS_MAX_SUPP_GROUPS 32

/* FUSE_SECURITY_CTX (7.36, --security-label): the security context the
 * guest's LSM chose for the inode a request creates (CREATE, MKNOD,
 * MKDIR, SYMLINK, TMPFILE), as an xattr: name (e.g. "security.selinux")
 * and a value of size bytes (1 to 64 KiB). The file system sets it on the
 * new inode before answering, and fails the request if it cannot. */
struct fs_secctx {
	const char *name;
	const void *value;
	size_t size;
};

struct fs_ctx {
	uid_t uid;
	gid_t gid;
	pid_t pid;
	uint64_t unique;
	const gid_t *groups;
	unsigned ngroups;
	/* NULL when the guest sent none (or one without a context) */
	const struct fs_secctx *secctx;
};

/* INIT: what the guest offers, what the file system takes. */
struct fs_init {
	uint32_t proto_minor;   /* negotiated minor version */
	uint64_t kernel_flags;  /* FUSE_* capability bits the guest offers */
	uint64_t want_flags;    /* in: what the server handles itself (keep them);
				 * out: plus the bits the file system wants */
	uint32_t max_write;     /* out: may lower the server's default */
	uint32_t time_gran;     /* out: timestamp granularity in ns (0 = 1) */
};

/* READDIR/READDIRPLUS: the file system adds entries one by one; the
 * server encodes them into the reply. */
struct fs_dir_filler;
/* Returns 0 when added, 1 when the reply is full, -EINVAL for an entry
 * that cannot be sent (bad name, READDIRPLUS without entry). When it is
 * not added, a READDIRPLUS file system must undo its lookup count. */
int fs_dir_filler_add(struct fs_dir_filler *filler, const char *name, size_t name_len,
		      uint64_t ino, uint32_t type, uint64_t next_offset,
		      const struct fuse_entry_out *entry /* NULL for plain READDIR */);

/* Bytes the reply may still take: lets a file system read no more of a
 * directory than one reply can carry. */
size_t fs_dir_filler_space(const struct fs_dir_filler *filler);

struct fs_ops {
	int (*init)(void *fs, struct fs_init *init);
	void (*destroy)(void *fs);

	int (*lookup)(void *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name,
		      struct fuse_entry_out *out);
	/* No reply: drop nlookup references (FORGET and BATCH_FORGET). */
	void (*forget)(void *fs, uint64_t nodeid, uint64_t nlookup);
	/* fh is valid when FUSE_GETATTR_FH was set (has_fh). */
	int (*getattr)(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, bool has_fh,
		       uint64_t fh, struct fuse_attr_out *out);
	/* STATX (7.39): attributes with btime. sx_flags holds the AT_STATX_*
	 * sync bits the guest asked for, sx_mask the STATX_* fields; out->stat.mask
	 * says which are filled. Optional: without it the guest gets ENOSYS
	 * and keeps to GETATTR. */
	int (*statx)(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, bool has_fh,
		     uint64_t fh, uint32_t sx_flags, uint32_t sx_mask,
		     struct vfsd_fuse_statx_out *out);
	int (*setattr)(void *fs, const struct fs_ctx *ctx, uint64_t nodeid,
		       const struct fuse_setattr_in *in, struct fuse_attr_out *out);
	/* Returns the target length written into buf (not NUL-terminated). */
	int (*readlink)(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, char *buf,
			size_t size);
	int (*symlink)(void *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name,
		       const char *target, struct fuse_entry_out *out);
	/* umask is the caller's umask when FUSE_DONT_MASK was negotiated, else 0
	 * (then the guest has applied it to mode already). */
	int (*mknod)(void *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name,
		     uint32_t mode, uint32_t rdev, uint32_t umask, struct fuse_entry_out *out);
	int (*mkdir)(void *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name,
		     uint32_t mode, uint32_t umask, struct fuse_entry_out *out);
	int (*unlink)(void *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name);
	int (*rmdir)(void *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name);
	/* flags: RENAME_NOREPLACE, RENAME_EXCHANGE, RENAME_WHITEOUT (0 for RENAME). */
	int (*rename)(void *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name,
		      uint64_t new_parent, const char *new_name, uint32_t flags);
	int (*link)(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t new_parent,
		    const char *new_name, struct fuse_entry_out *out);
	/* open_flags: FUSE_OPEN_KILL_SUIDGID (7.33+, else 0): the caller lacks
	 * CAP_FSETID, so an O_TRUNC open (or create of an existing file with
	 * O_TRUNC) must clear setuid/setgid as a truncate by it would. */
	int (*open)(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint32_t flags,
		    uint32_t open_flags, struct fuse_open_out *out);
	int (*create)(void *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name,
		      uint32_t mode, uint32_t flags, uint32_t umask, uint32_t open_flags,
		      struct fuse_entry_out *entry, struct fuse_open_out *open);
	/* Read up to size bytes at offset into dst (the reply's data area,
	 * already sized to at most size bytes). Returns bytes read. */
	ssize_t (*read)(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
			uint64_t offset, size_t size, const struct iovec *dst, unsigned dst_count);
	/* Write the size bytes of src at offset. write_flags: FUSE_WRITE_*.
	 * Returns bytes written. */
	ssize_t (*write)(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
			 uint64_t offset, size_t size, uint32_t write_flags,
			 const struct iovec *src, unsigned src_count);
	int (*statfs)(void *fs, const struct fs_ctx *ctx, uint64_t nodeid,
		      struct fuse_kstatfs *out);
	int (*release)(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		       uint32_t flags, uint32_t release_flags, uint64_t lock_owner);
	int (*fsync)(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		     bool datasync);
	int (*flush)(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		     uint64_t lock_owner);
	int (*setxattr)(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, const char *name,
			const void *value, size_t size, uint32_t flags, uint32_t setxattr_flags);
	/* size 0 asks for the value's length: return it without copying. */
	ssize_t (*getxattr)(void *fs, const struct fs_ctx *ctx, uint64_t nodeid,
			    const char *name, void *value, size_t size);
	ssize_t (*listxattr)(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, char *list,
			     size_t size);
	int (*removexattr)(void *fs, const struct fs_ctx *ctx, uint64_t nodeid,
			   const char *name);
	int (*opendir)(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint32_t flags,
		       struct fuse_open_out *out);
	/* plus: READDIRPLUS (add entries with their fuse_entry_out). */
	int (*readdir)(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		       uint64_t offset, bool plus, struct fs_dir_filler *filler);
	int (*releasedir)(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh);
	int (*fsyncdir)(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
			bool datasync);
	/* lock: in = the lock asked about, out = a conflicting lock or F_UNLCK. */
	int (*getlk)(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		     uint64_t owner, struct fuse_file_lock *lock);
	/* sleep: SETLKW. is_flock: FUSE_LK_FLOCK (BSD flock on the whole file). */
	int (*setlk)(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		     uint64_t owner, const struct fuse_file_lock *lock, bool sleep, bool is_flock);
	int (*access)(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint32_t mask);
	int (*fallocate)(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
			 uint64_t offset, uint64_t length, uint32_t mode);
	/* Returns the new offset in *result. */
	int (*lseek)(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		     uint64_t offset, uint32_t whence, uint64_t *result);
	ssize_t (*copy_file_range)(void *fs, const struct fs_ctx *ctx, uint64_t nodeid_in,
				   uint64_t fh_in, uint64_t off_in, uint64_t nodeid_out,
				   uint64_t fh_out, uint64_t off_out, uint64_t len, uint64_t flags);
	int (*syncfs)(void *fs, const struct fs_ctx *ctx, uint64_t nodeid);
	int (*tmpfile)(void *fs, const struct fs_ctx *ctx, uint64_t parent, uint32_t mode,
		       uint32_t flags, uint32_t umask, struct fuse_entry_out *entry,
		       struct fuse_open_out *open);
	/* Cancel a blocked request (INTERRUPT); optional. */
	void (*interrupt)(void *fs, uint64_t unique);
	/* SETUPMAPPING: vouch for mapping [foffset, +len) of open file fh
	 * into the DAX window (writable: for writing too) and return a new
	 * fd of it, which the caller closes. The file system checks what
	 * only it knows: fh is an open regular file (not a directory, FIFO
	 * or device), opened for reading, and for writing when writable;
	 * foffset is page-aligned and inside the file, and foffset + len
	 * stays a valid file offset. The part of the range past the end of
	 * the file is allowed (Linux maps whole 2 MiB ranges): an access
	 * there faults in the frontend, as with mmap. Optional: without it
	 * the guest gets ENOSYS. */
	int (*dax_fd)(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		      uint64_t foffset, uint64_t len, bool writable);
};

#endif
