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

/* 7.38, Linux 6.4: the caller's supplementary group matching the parent
 * directory's group, sent with CREATE, MKNOD, MKDIR, SYMLINK, TMPFILE. */
#ifndef FUSE_CREATE_SUPP_GROUP
#define FUSE_CREATE_SUPP_GROUP (1ULL << 34)
#endif

/* enum fuse_ext_type: extension types above FUSE_MAX_NR_SECCTX (31) */
#define VFSD_FUSE_EXT_GROUPS 32

/* struct fuse_supp_groups, after a struct fuse_ext_header */
struct vfsd_fuse_supp_groups {
	uint32_t nr_groups;
	uint32_t groups[];
};

#endif
