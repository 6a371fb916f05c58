/* fuse_kernel.h: the FUSE wire protocol. The system's <linux/fuse.h>
 * (Debian 12: protocol 7.38 as Linux 6.1 shipped it), plus what Linux 6.4
 * and later added to the protocol, defined here from Linux 6.12's
 * include/uapi/linux/fuse.h. Flags are macros there too, so a newer
 * system header simply wins; enum members and structs get our own names
 * so that they never clash with one. */
#ifndef VFSD_FUSE_KERNEL_H
#define VFSD_FUSE_KERNEL_H

#include <linux/fuse.h>
#include <stdint.h>

_Static_assert(sizeof(struct fuse_init_out) == 64, "fuse_init_out of 7.36-7.41");

/* 7.38, Linux 6.4: the caller's supplementary group matching the parent
 * directory's group, sent with CREATE, MKNOD, MKDIR, SYMLINK, TMPFILE. */
#ifndef FUSE_CREATE_SUPP_GROUP
#define FUSE_CREATE_SUPP_GROUP (1ULL << 34)
#endif

/* The protocol minor we speak: 7.41 (Linux 6.12). What 7.39-7.41 added
 * is negotiated by flag or tried by opcode, so older guests see 7.38
 * behaviour; struct sizes did not change (7.40's fuse_init_out
 * max_stack_depth and fuse_open_out backing_id took unused space). */
#define VFSD_FUSE_MINOR 41

/* 7.39 */
#ifndef FUSE_DIRECT_IO_ALLOW_MMAP
#define FUSE_DIRECT_IO_ALLOW_MMAP (1ULL << 36)
#endif
/* 7.40 */
#ifndef FUSE_PASSTHROUGH
#define FUSE_PASSTHROUGH (1ULL << 37)
#endif
#ifndef FUSE_NO_EXPORT_SUPPORT
#define FUSE_NO_EXPORT_SUPPORT (1ULL << 38)
#endif
#ifndef FUSE_HAS_RESEND
#define FUSE_HAS_RESEND (1ULL << 39)
#endif
/* 7.41 */
#ifndef FUSE_ALLOW_IDMAP
#define FUSE_ALLOW_IDMAP (1ULL << 40)
#endif

/* enum fuse_opcode, 7.39: the kernel tries it for btime (statx(2) with
 * STATX_BTIME) and stops at the first ENOSYS. */
#define VFSD_FUSE_STATX 52

/* struct fuse_sx_time, fuse_statx, fuse_statx_in, fuse_statx_out */
struct vfsd_fuse_sx_time {
	int64_t tv_sec;
	uint32_t tv_nsec;
	int32_t reserved;
};

struct vfsd_fuse_statx {
	uint32_t mask;
	uint32_t blksize;
	uint64_t attributes;
	uint32_t nlink;
	uint32_t uid;
	uint32_t gid;
	uint16_t mode;
	uint16_t spare0[1];
	uint64_t ino;
	uint64_t size;
	uint64_t blocks;
	uint64_t attributes_mask;
	struct vfsd_fuse_sx_time atime;
	struct vfsd_fuse_sx_time btime;
	struct vfsd_fuse_sx_time ctime;
	struct vfsd_fuse_sx_time mtime;
	uint32_t rdev_major;
	uint32_t rdev_minor;
	uint32_t dev_major;
	uint32_t dev_minor;
	uint64_t spare2[14];
};

struct vfsd_fuse_statx_in {
	uint32_t getattr_flags;
	uint32_t reserved;
	uint64_t fh;
	uint32_t sx_flags;
	uint32_t sx_mask;
};

struct vfsd_fuse_statx_out {
	uint64_t attr_valid;
	uint32_t attr_valid_nsec;
	uint32_t flags;
	uint64_t spare[2];
	struct vfsd_fuse_statx stat;
};

/* enum fuse_ext_type: extension types above FUSE_MAX_NR_SECCTX (31) */
#define VFSD_FUSE_EXT_GROUPS 32

/* struct fuse_supp_groups, after a struct fuse_ext_header */
struct vfsd_fuse_supp_groups {
	uint32_t nr_groups;
	uint32_t groups[];
};

#endif
