/* credentials.h: the identity a request runs with on the host.
 * uid, gid, supplementary groups, capabilities and the fs struct (umask,
 * cwd) are per thread on Linux when changed through raw syscalls (glibc's
 * wrappers broadcast to every thread), so a request's identity never leaks
 * into another thread's request. Never grants a caller more than the
 * daemon holds. */
#ifndef VFSD_PT_CREDENTIALS_H
#define VFSD_PT_CREDENTIALS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Who asks: the request's uid and gid, and the supplementary groups the
 * guest vouched for (FUSE_CREATE_SUPP_GROUP; no other request carries
 * any). */
struct cred_identity {
	uid_t uid;
	gid_t gid;
	const gid_t *groups;
	unsigned ngroups;
};

/* What a caller other than root keeps of the daemon's capabilities. */
enum cred_rights {
	/* None: the host kernel decides everything as for a local process
	 * of this identity. For requests that create an inode. */
	CRED_CALLER,
	/* Only CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH: permission bits were
	 * checked by the guest, whose kernel knows the caller's supplementary
	 * groups (virtio-fs mounts with default_permissions); ownership,
	 * sticky directories, setgid clearing and every privilege are
	 * decided by the host kernel for this identity. */
	CRED_CALLER_GUEST_DAC,
};

struct cred_saved {
	bool uid_set;
	bool gid_set;
	bool groups_set;
};

/* setgroups(0, NULL): the daemon must not keep root's supplementary groups,
 * or files created as a guest user get the group rights of root's groups
 * (CVE-2022-0358). Call once at start, before threads. */
int credentials_drop_supplementary_groups(void);

/* Makes the calling thread act as id until credentials_restore(). A root
 * caller keeps every capability of the daemon (guest root is root on the
 * share); anyone else gets rights. A daemon that is not root itself
 * cannot act as anyone else: callers check that first. */
int credentials_become(const struct cred_identity *id, enum cred_rights rights,
		       struct cred_saved *saved);
void credentials_restore(struct cred_saved *saved);

/* The host kernel clears setuid/setgid (and security.capability) on a
 * write, truncate or fallocate by a process without CAP_FSETID. Gives the
 * thread CAP_FSETID exactly when the caller has it (keep), so data
 * written for the guest obeys the same rule. The state stays until the
 * next call or credentials_become(): cheap on the write path, where it
 * usually does not change. */
int credentials_fsetid(bool keep);

/* Data written, truncated or allocated for a caller on an fd the daemon
 * holds: the host clears setuid, and setgid, as setattr_should_drop_suidgid()
 * rules for the writer. That asks whether it has CAP_FSETID (keep, as in
 * credentials_fsetid()) and, for setgid without group execute, whether it
 * is in the file's group: so the thread also takes the caller's gid as its
 * effective gid (no supplementary groups: none are known) until
 * credentials_restore(saved). Within credentials_become() a no-op. */
int credentials_write_as(gid_t gid, bool keep, struct cred_saved *saved);

/* Gives the calling thread its own fs struct (umask, cwd), once. */
int credentials_unshare_fs(void);
/* Sets the thread's umask (after credentials_unshare_fs); returns the old. */
int credentials_umask(mode_t mask, mode_t *old);

#endif
