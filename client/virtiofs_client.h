/* virtiofs_client.h: a user-space virtio-fs driver.
 *
 * Talks to any vhost-user-fs backend the way QEMU (the vhost-user
 * frontend) and the Linux guest's virtiofs driver do together: guest
 * memory from memfds, split or packed virtqueues, FUSE requests laid out as Linux
 * lays them out. Meant for integration tests, hostile-guest tests,
 * fuzzing, benchmarks and for looking into a share without a VM.
 *
 * Every call returns a negative errno on failure. A client is not
 * thread-safe: drive one client from one thread at a time. */
#ifndef VIRTIOFS_CLIENT_H
#define VIRTIOFS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/fuse.h>

/* 7.38 flags newer than Debian 12's <linux/fuse.h>: Linux 6.4 offers
 * FUSE_CREATE_SUPP_GROUP (flags2 bit 2). */
#ifndef FUSE_CREATE_SUPP_GROUP
#define FUSE_CREATE_SUPP_GROUP (1ULL << 34)
#endif
/* Its request extension: a struct fuse_ext_header of this type, then
 * uint32 nr_groups and the groups, padded to 8 bytes. */
#define VFS_FUSE_EXT_GROUPS 32

struct vfs_client;

/* What Linux 6.1 offers a virtiofs daemon in FUSE_INIT, the init_flags
 * option's default (no DAX window, no LSM security context: we have none
 * to send), and Linux 6.4's FUSE_CREATE_SUPP_GROUP (the driver itself
 * never sends the extension; raw requests may). */
#define VFS_DEFAULT_INIT_FLAGS                                               \
	(FUSE_ASYNC_READ | FUSE_POSIX_LOCKS | FUSE_ATOMIC_O_TRUNC |           \
	 FUSE_EXPORT_SUPPORT | FUSE_BIG_WRITES | FUSE_DONT_MASK |             \
	 FUSE_SPLICE_WRITE | FUSE_SPLICE_MOVE | FUSE_SPLICE_READ |            \
	 FUSE_FLOCK_LOCKS | FUSE_HAS_IOCTL_DIR | FUSE_AUTO_INVAL_DATA |       \
	 FUSE_DO_READDIRPLUS | FUSE_READDIRPLUS_AUTO | FUSE_ASYNC_DIO |       \
	 FUSE_WRITEBACK_CACHE | FUSE_NO_OPEN_SUPPORT | FUSE_PARALLEL_DIROPS | \
	 FUSE_HANDLE_KILLPRIV | FUSE_POSIX_ACL | FUSE_ABORT_ERROR |           \
	 FUSE_MAX_PAGES | FUSE_CACHE_SYMLINKS | FUSE_NO_OPENDIR_SUPPORT |     \
	 FUSE_EXPLICIT_INVAL_DATA | FUSE_HANDLE_KILLPRIV_V2 |                 \
	 FUSE_SETXATTR_EXT | FUSE_INIT_EXT | FUSE_SUBMOUNTS |                 \
	 FUSE_CREATE_SUPP_GROUP)

struct vfs_client_options {
	unsigned request_queues;   /* request queues besides hiprio; 0 = 1 */
	unsigned queue_size;       /* descriptors per queue, power of 2; 0 = 128 */
	size_t mem_size;           /* guest memory bytes; 0 = 64 MiB */
	unsigned mem_regions;      /* memfd regions, 1..8; 0 = 3 */
	int timeout_ms;            /* per request; 0 = 30000, <0 = forever */
	bool no_indirect;          /* do not negotiate VIRTIO_RING_F_INDIRECT_DESC */
	bool no_event_idx;         /* do not negotiate VIRTIO_RING_F_EVENT_IDX */
	bool no_mem_slots;         /* refuse CONFIGURE_MEM_SLOTS: use SET_MEM_TABLE */
	bool packed;               /* packed rings (VIRTIO_F_RING_PACKED); -ENOTSUP if not offered */
	bool no_init;              /* skip FUSE_INIT (raw fuzzing) */
	bool no_destroy;           /* skip FUSE_DESTROY on close */
	uint64_t init_flags;       /* FUSE_INIT flags to offer; 0 = Linux-like */
	bool verbose;              /* trace vhost-user messages to stderr */
	/* Reserve a DAX window of this many bytes (a multiple of 2 MiB; 0:
	 * none) and take the daemon's map requests (SHMEM_MAP or the legacy
	 * FS_MAP) into it; INIT then offers FUSE_MAP_ALIGNMENT. With SHMEM
	 * the window is at most what GET_SHMEM_CONFIG says. */
	uint64_t dax_window;
};

/* Connect, negotiate, set up memory and queues, send FUSE_INIT. */
struct vfs_client *vfs_client_open(const char *socket_path,
				   const struct vfs_client_options *opts,
				   int *err);
/* FUSE_DESTROY, stop the rings (GET_VRING_BASE), disconnect, unmap. */
void vfs_client_close(struct vfs_client *c);

/* What the daemon answered to FUSE_INIT (zeroed with no_init). */
const struct fuse_init_out *vfs_client_init_out(const struct vfs_client *c);
/* Largest payload one READ/WRITE carries. */
size_t vfs_client_max_io(const struct vfs_client *c);
unsigned vfs_client_request_queues(const struct vfs_client *c);
/* Negotiated virtio features and vhost-user protocol features. */
uint64_t vfs_client_features(const struct vfs_client *c);
uint64_t vfs_client_protocol_features(const struct vfs_client *c);
/* Read size bytes (at most 256) of the device config space at offset
 * with GET_CONFIG (struct virtio_fs_config: tag[36], num_request_queues).
 * Returns size, -ENOTSUP when the backend offers no
 * VHOST_USER_PROTOCOL_F_CONFIG, -EIO when it refuses the read. */
int vfs_client_get_config(struct vfs_client *c, uint32_t offset, void *buf, uint32_t size);
/* Route ordinary requests to request queue q (1..N); 0 = round robin. */
void vfs_client_set_queue(struct vfs_client *c, unsigned q);

/* ---- Live migration: the client as the vhost-user frontend ---- */

/* Dirty logging as QEMU turns it on when a migration starts: a shared
 * bitmap over guest memory (SET_LOG_BASE), VHOST_F_LOG_ALL, and each
 * ring's log flag. count returns the pages marked (clear: and clears
 * them); test whether the page of p (a pointer into the client's guest
 * memory) is marked. One client logs at a time. */
int vfs_client_log_start(struct vfs_client *c);
size_t vfs_client_log_count(struct vfs_client *c, bool clear);
bool vfs_client_log_test(struct vfs_client *c, const void *p);
int vfs_client_log_stop(struct vfs_client *c);
/* Where queue q's device writes (split: the used ring; packed: the
 * descriptor ring), for log tests. */
void *vfs_client_used_ring(struct vfs_client *c, unsigned q);
/* Stop every ring (GET_VRING_BASE) as QEMU does when the VM stops,
 * remembering where each stopped; no request may be in flight. */
int vfs_client_suspend(struct vfs_client *c);
/* Start the rings again where they stopped, on the same backend: a
 * migration that failed or was cancelled. */
int vfs_client_resume(struct vfs_client *c);
/* The backend's device state (SET_DEVICE_STATE_FD save, read to the end,
 * CHECK_DEVICE_STATE), suspended first. *data is malloc'd. */
int vfs_client_save_state(struct vfs_client *c, void **data, size_t *len);
/* Connect to the backend at socket_path, negotiate the same features,
 * load data into it (SET_DEVICE_STATE_FD load, CHECK_DEVICE_STATE) and,
 * if it takes it, leave the old backend and give the new one the guest
 * memory and the rings where they stopped: the FUSE session goes on
 * there without a new INIT. If the load fails the client is still on the
 * old backend (suspended: vfs_client_resume). */
int vfs_client_migrate(struct vfs_client *c, const char *socket_path, const void *data,
		       size_t len);

/* ---- FUSE operations ---- */
#define VFS_NO_FH UINT64_MAX

int vfs_init(struct vfs_client *c, uint64_t flags, struct fuse_init_out *out);
int vfs_destroy(struct vfs_client *c);
int vfs_lookup(struct vfs_client *c, uint64_t parent, const char *name,
	       struct fuse_entry_out *out);
int vfs_forget(struct vfs_client *c, uint64_t nodeid, uint64_t nlookup);
int vfs_batch_forget(struct vfs_client *c, const struct fuse_forget_one *items,
		     unsigned count);
/* Ask the daemon to interrupt request 'unique' (hiprio; not waited for). */
int vfs_interrupt(struct vfs_client *c, uint64_t unique);
int vfs_getattr(struct vfs_client *c, uint64_t nodeid, uint64_t fh,
		struct fuse_attr_out *out);
int vfs_setattr(struct vfs_client *c, uint64_t nodeid,
		const struct fuse_setattr_in *in, struct fuse_attr_out *out);
/* Returns the target's length; buf is NUL-terminated when it fits. */
ssize_t vfs_readlink(struct vfs_client *c, uint64_t nodeid, char *buf,
		     size_t size);
int vfs_symlink(struct vfs_client *c, uint64_t parent, const char *name,
		const char *target, struct fuse_entry_out *out);
int vfs_mknod(struct vfs_client *c, uint64_t parent, const char *name,
	      uint32_t mode, uint32_t rdev, uint32_t umask,
	      struct fuse_entry_out *out);
int vfs_mkdir(struct vfs_client *c, uint64_t parent, const char *name,
	      uint32_t mode, uint32_t umask, struct fuse_entry_out *out);
int vfs_unlink(struct vfs_client *c, uint64_t parent, const char *name);
int vfs_rmdir(struct vfs_client *c, uint64_t parent, const char *name);
/* RENAME when flags == 0 (as Linux does), RENAME2 otherwise. */
int vfs_rename(struct vfs_client *c, uint64_t olddir, const char *oldname,
	       uint64_t newdir, const char *newname, uint32_t flags);
int vfs_rename2(struct vfs_client *c, uint64_t olddir, const char *oldname,
		uint64_t newdir, const char *newname, uint32_t flags);
int vfs_link(struct vfs_client *c, uint64_t nodeid, uint64_t newparent,
	     const char *newname, struct fuse_entry_out *out);
int vfs_open(struct vfs_client *c, uint64_t nodeid, uint32_t flags,
	     struct fuse_open_out *out);
int vfs_create(struct vfs_client *c, uint64_t parent, const char *name,
	       uint32_t flags, uint32_t mode, uint32_t umask,
	       struct fuse_entry_out *entry, struct fuse_open_out *open);
int vfs_tmpfile(struct vfs_client *c, uint64_t parent, uint32_t flags,
		uint32_t mode, uint32_t umask, struct fuse_entry_out *entry,
		struct fuse_open_out *open);
/* One READ/WRITE request each (size is capped at vfs_client_max_io). */
ssize_t vfs_read(struct vfs_client *c, uint64_t nodeid, uint64_t fh,
		 uint64_t offset, void *buf, size_t size);
ssize_t vfs_write(struct vfs_client *c, uint64_t nodeid, uint64_t fh,
		  uint64_t offset, const void *buf, size_t size,
		  uint32_t write_flags);
int vfs_statfs(struct vfs_client *c, uint64_t nodeid, struct fuse_kstatfs *out);
int vfs_release(struct vfs_client *c, uint64_t nodeid, uint64_t fh,
		uint32_t flags);
int vfs_releasedir(struct vfs_client *c, uint64_t nodeid, uint64_t fh,
		   uint32_t flags);
int vfs_fsync(struct vfs_client *c, uint64_t nodeid, uint64_t fh, bool datasync);
int vfs_fsyncdir(struct vfs_client *c, uint64_t nodeid, uint64_t fh,
		 bool datasync);
int vfs_flush(struct vfs_client *c, uint64_t nodeid, uint64_t fh,
	      uint64_t lock_owner);
int vfs_setxattr(struct vfs_client *c, uint64_t nodeid, const char *name,
		 const void *value, size_t size, uint32_t flags);
/* size 0 asks for the needed size; returns bytes (or needed size). */
ssize_t vfs_getxattr(struct vfs_client *c, uint64_t nodeid, const char *name,
		     void *buf, size_t size);
ssize_t vfs_listxattr(struct vfs_client *c, uint64_t nodeid, char *buf,
		      size_t size);
int vfs_removexattr(struct vfs_client *c, uint64_t nodeid, const char *name);
int vfs_opendir(struct vfs_client *c, uint64_t nodeid, uint32_t flags,
		struct fuse_open_out *out);
/* Raw fuse_dirent / fuse_direntplus records; returns bytes (0 = end). */
ssize_t vfs_readdir(struct vfs_client *c, uint64_t nodeid, uint64_t fh,
		    uint64_t offset, void *buf, size_t size);
ssize_t vfs_readdirplus(struct vfs_client *c, uint64_t nodeid, uint64_t fh,
			uint64_t offset, void *buf, size_t size);
int vfs_getlk(struct vfs_client *c, uint64_t nodeid, uint64_t fh,
	      uint64_t owner, const struct fuse_file_lock *lk,
	      struct fuse_file_lock *out);
int vfs_setlk(struct vfs_client *c, uint64_t nodeid, uint64_t fh,
	      uint64_t owner, const struct fuse_file_lock *lk, bool flock);
int vfs_setlkw(struct vfs_client *c, uint64_t nodeid, uint64_t fh,
	       uint64_t owner, const struct fuse_file_lock *lk, bool flock);
int vfs_access(struct vfs_client *c, uint64_t nodeid, uint32_t mask);
int vfs_fallocate(struct vfs_client *c, uint64_t nodeid, uint64_t fh,
		  uint64_t offset, uint64_t length, uint32_t mode);
int vfs_lseek(struct vfs_client *c, uint64_t nodeid, uint64_t fh,
	      uint64_t offset, uint32_t whence, uint64_t *result);
ssize_t vfs_copy_file_range(struct vfs_client *c, uint64_t nodeid_in,
			    uint64_t fh_in, uint64_t off_in,
			    uint64_t nodeid_out, uint64_t fh_out,
			    uint64_t off_out, uint64_t len, uint64_t flags);
int vfs_syncfs(struct vfs_client *c);

/* ---- DAX: file data through the window (opts.dax_window) ----
 * As Linux's -o dax=always: the file is seen through 2 MiB ranges of the
 * window, each set up on first use with SETUPMAPPING (read-only, made
 * writable on the first write by mapping it again) and reclaimed least
 * recently used with REMOVEMAPPING when the window is full. */

/* Whether this session maps: a window, and INIT granted FUSE_MAP_ALIGNMENT. */
bool vfs_dax_enabled(const struct vfs_client *c);
/* The window's bytes (0 without DAX). */
uint64_t vfs_dax_window_size(const struct vfs_client *c);
/* Read up to size bytes at offset of open file fh of nodeid, whose size
 * is file_size (reads stop there, as the guest's i_size stops them).
 * Returns bytes read (0 at or past file_size). */
ssize_t vfs_dax_read(struct vfs_client *c, uint64_t nodeid, uint64_t fh,
		     uint64_t file_size, uint64_t offset, void *buf, size_t size);
/* Write size bytes at offset; fh must be open for reading and writing (a
 * mapping needs both). A write that would extend the file goes through
 * WRITE on the queue, as Linux sends it, and *file_size grows; the rest
 * is copied into the window. Returns bytes written. */
ssize_t vfs_dax_write(struct vfs_client *c, uint64_t nodeid, uint64_t fh,
		      uint64_t *file_size, uint64_t offset, const void *buf, size_t size);
/* REMOVEMAPPING of every range of nodeid (0: of every file). */
int vfs_dax_drop(struct vfs_client *c, uint64_t nodeid);
/* Where file offset 'offset' of nodeid is in the window now, or NULL if
 * it is not mapped (tests: what a guest's load there would touch). */
void *vfs_dax_address(struct vfs_client *c, uint64_t nodeid, uint64_t offset);

struct vfs_dax_stats {
	uint64_t setupmapping;      /* SETUPMAPPING requests sent */
	uint64_t removemapping;     /* REMOVEMAPPING requests sent */
	uint64_t backend_maps;      /* map requests the daemon sent us */
	uint64_t backend_unmaps;
	uint64_t backend_refused;   /* its requests we refused (outside the window) */
};
void vfs_dax_stats(const struct vfs_client *c, struct vfs_dax_stats *out);

/* Raw SETUPMAPPING and REMOVEMAPPING (hostile tests, fuzzing): flags are
 * FUSE_SETUPMAPPING_FLAG_*; 0 or the daemon's error. */
int vfs_setupmapping(struct vfs_client *c, uint64_t nodeid, uint64_t fh,
		     uint64_t foffset, uint64_t len, uint64_t flags, uint64_t moffset);
int vfs_removemapping(struct vfs_client *c, uint64_t nodeid,
		      const struct fuse_removemapping_one *ranges, uint32_t count);

/* ---- Helpers ---- */

/* Walk an absolute path from the root with LOOKUPs. The final node's
 * lookup reference is kept (the caller owes one FORGET); intermediate
 * ones are forgotten. "/" gives FUSE_ROOT_ID (with no reference). */
int vfs_resolve(struct vfs_client *c, const char *path, uint64_t *nodeid,
		struct fuse_attr *attr);
/* Resolve the parent of path and return the last component. */
int vfs_resolve_parent(struct vfs_client *c, const char *path,
		       uint64_t *parent, const char **name);
/* Forget one lookup reference unless nodeid is the root. */
void vfs_put(struct vfs_client *c, uint64_t nodeid);

/* Iterate over a READDIR(PLUS) buffer. Returns 1 with the entry, 0 at the
 * end, -EIO on a malformed record. plus may be NULL for plain READDIR. */
int vfs_dirent_next(const void *buf, size_t len, size_t *pos, bool plus,
		    const struct fuse_dirent **dirent,
		    const struct fuse_entry_out **entry);

/* ---- Raw and asynchronous interface ---- */

/* Send 'len' arbitrary bytes as one request on queue q (0 = hiprio) with
 * a device-writable reply buffer of reply_cap bytes (0 = none). Returns
 * the used length the device reported. Nothing is validated. */
ssize_t vfs_raw(struct vfs_client *c, unsigned q, const void *req, size_t len,
		void *reply, size_t reply_cap);

struct vfs_async;

/* Queue one raw request without waiting. */
struct vfs_async *vfs_async_submit(struct vfs_client *c, unsigned q,
				   const void *req, size_t len,
				   size_t reply_cap, void *cookie, int *err);
/* Reap up to max completed requests (waiting up to timeout_ms for the
 * first, <0 forever). Returns how many, or -errno. */
int vfs_async_reap(struct vfs_client *c, struct vfs_async **done,
		   unsigned max, int timeout_ms);
const void *vfs_async_reply(const struct vfs_async *a, size_t *used_len);
void *vfs_async_cookie(const struct vfs_async *a);
void vfs_async_free(struct vfs_client *c, struct vfs_async *a);
/* Requests still in flight. */
unsigned vfs_async_pending(const struct vfs_client *c);

/* Benchmark helper: send 'total' copies of a raw request (its unique is
 * rewritten for each) on queue q keeping 'depth' in flight. Returns the
 * number of replies with error 0, or -errno. */
long vfs_run_inflight(struct vfs_client *c, unsigned q, const void *req,
		      size_t len, size_t reply_cap, unsigned long total,
		      unsigned depth);

/* Next FUSE unique (steps by 2 as Linux does: bit 0 marks interrupts). */
uint64_t vfs_next_unique(struct vfs_client *c);
/* Fill a fuse_in_header at buf for a request with arglen bytes of
 * arguments following it (fresh unique, our credentials); returns the
 * whole request's length. */
size_t vfs_msg_init(struct vfs_client *c, void *buf, uint32_t opcode,
		    uint64_t nodeid, size_t arglen);

#endif
