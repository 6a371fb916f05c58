/* credentials.h: per-thread identity for file-system calls.
 * fsuid/fsgid, the fs struct (umask, cwd) and capabilities are per thread
 * on Linux when changed through raw syscalls, so a request's identity
 * never leaks into another thread's request. */
#ifndef VFSD_PT_CREDENTIALS_H
#define VFSD_PT_CREDENTIALS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct cred_saved {
	uid_t fsuid;
	gid_t fsgid;
	bool switched;
};

/* setgroups(0, NULL): the daemon must not keep root's supplementary groups,
 * or files created as a guest user get the group rights of root's groups
 * (CVE-2022-0358). Call once at start, before threads. */
int credentials_drop_supplementary_groups(void);

/* Switches the thread's fsgid then fsuid to the caller's; no-op for root. */
int credentials_switch(uid_t uid, gid_t gid, struct cred_saved *saved);
void credentials_restore(struct cred_saved *saved);

/* Gives the calling thread its own fs struct (umask, cwd), once. */
int credentials_unshare_fs(void);
/* Sets the thread's umask (after credentials_unshare_fs); returns the old. */
int credentials_umask(mode_t mask, mode_t *old);

/* Drops CAP_FSETID from the thread's effective set so that the host
 * kernel clears setuid/setgid (and security.capability) on write,
 * truncate and chown as it does for an unprivileged writer. */
struct cap_saved {
	uint32_t effective[2];
	bool dropped;
};
int credentials_drop_fsetid(struct cap_saved *saved);
void credentials_restore_caps(struct cap_saved *saved);

#endif
