/* credentials.c: per-thread fsuid/fsgid, umask and capability switching.
 * glibc's setfsuid() and capset() wrappers may broadcast to every thread
 * (setxid) or need libcap; raw syscalls act on the calling thread only. */
#include "passthrough/credentials.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/log.h"

int credentials_drop_supplementary_groups(void)
{
	if (setgroups(0, NULL) < 0) {
		int err = errno;

		log_error("setgroups(0): %s", strerror(err));
		return -err;
	}
	return 0;
}

/* setfsuid reports the previous value and never an error; read back to
 * learn whether the change took. */
static bool set_fsuid(uid_t uid)
{
	syscall(SYS_setfsuid, uid);
	return (uid_t)syscall(SYS_setfsuid, (uid_t)-1) == uid;
}

static bool set_fsgid(gid_t gid)
{
	syscall(SYS_setfsgid, gid);
	return (gid_t)syscall(SYS_setfsgid, (gid_t)-1) == gid;
}

int credentials_switch(uid_t uid, gid_t gid, struct cred_saved *saved)
{
	saved->fsuid = (uid_t)syscall(SYS_setfsuid, (uid_t)-1);
	saved->fsgid = (gid_t)syscall(SYS_setfsgid, (gid_t)-1);
	saved->switched = false;
	if (uid == saved->fsuid && gid == saved->fsgid)
		return 0;
	/* group first: after fsuid leaves 0 the thread may lose the right */
	if (!set_fsgid(gid))
		return -EPERM;
	if (!set_fsuid(uid)) {
		set_fsgid(saved->fsgid);
		return -EPERM;
	}
	saved->switched = true;
	return 0;
}

void credentials_restore(struct cred_saved *saved)
{
	if (!saved->switched)
		return;
	if (!set_fsuid(saved->fsuid) || !set_fsgid(saved->fsgid))
		log_error_once("cannot restore fsuid/fsgid");
	saved->switched = false;
}

int credentials_unshare_fs(void)
{
	static __thread bool unshared;

	if (unshared)
		return 0;
	if (unshare(CLONE_FS) < 0) {
		int err = errno;

		log_error_once("unshare(CLONE_FS): %s", strerror(err));
		return -err;
	}
	unshared = true;
	return 0;
}

int credentials_umask(mode_t mask, mode_t *old)
{
	int ret = credentials_unshare_fs();

	if (ret < 0)
		return ret;
	*old = umask(mask & 0777);
	return 0;
}

int credentials_drop_fsetid(struct cap_saved *saved)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	saved->dropped = false;
	if (syscall(SYS_capget, &hdr, data) < 0)
		return -errno;
	if (!(data[0].effective & (1u << CAP_FSETID)))
		return 0;	/* already without it */
	saved->effective[0] = data[0].effective;
	saved->effective[1] = data[1].effective;
	data[0].effective &= ~(1u << CAP_FSETID);
	hdr.pid = 0;
	if (syscall(SYS_capset, &hdr, data) < 0)
		return -errno;
	saved->dropped = true;
	return 0;
}

void credentials_restore_caps(struct cap_saved *saved)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	if (!saved->dropped)
		return;
	if (syscall(SYS_capget, &hdr, data) == 0) {
		data[0].effective = saved->effective[0];
		data[1].effective = saved->effective[1];
		hdr.pid = 0;
		if (syscall(SYS_capset, &hdr, data) == 0) {
			saved->dropped = false;
			return;
		}
	}
	log_error_once("cannot restore CAP_FSETID");
}
