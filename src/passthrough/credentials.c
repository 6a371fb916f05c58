/* credentials.c: per-thread identity switching with raw syscalls.
 *
 * A request runs as its caller through the effective uid and gid
 * (setresuid/setresgid with the real and saved ids left alone), which the
 * kernel also uses as fsuid/fsgid. Leaving euid 0 empties the effective
 * capability set while the permitted set stays (the real and saved uids
 * are still 0), so the thread has exactly the rights we then raise again,
 * and returning to euid 0 gives them all back. Each step is checked:
 * a switch that did not take fails the request instead of serving it as
 * someone else. */
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

#define CAP_BIT(cap) (1u << ((cap) & 31))

struct cap_sets {
	uint32_t effective[2];
	uint32_t permitted[2];
};

/* What this thread holds when it acts as the daemon, read on its first
 * switch; and whether credentials_fsetid() took CAP_FSETID away since. */
struct thread_creds {
	bool known;
	uid_t euid;
	gid_t egid;
	struct cap_sets caps;
	bool fsetid_dropped;
	bool as_other_uid;	/* between credentials_become() and _restore() */
};

static __thread struct thread_creds self;

int credentials_drop_supplementary_groups(void)
{
	if (setgroups(0, NULL) < 0) {
		int err = errno;

		log_error("setgroups(0): %s", strerror(err));
		return -err;
	}
	return 0;
}

static int caps_read(struct cap_sets *sets)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data) < 0)
		return -errno;
	for (int i = 0; i < 2; i++) {
		sets->effective[i] = data[i].effective;
		sets->permitted[i] = data[i].permitted;
	}
	return 0;
}

/* Sets the effective set only; permitted and inheritable stay. */
static int caps_set_effective(const uint32_t effective[2])
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data) < 0)
		return -errno;
	if (data[0].effective == effective[0] && data[1].effective == effective[1])
		return 0;
	data[0].effective = effective[0];
	data[1].effective = effective[1];
	hdr.pid = 0;
	if (syscall(SYS_capset, &hdr, data) < 0)
		return -errno;
	return 0;
}

static int thread_creds_load(void)
{
	uid_t ruid, suid;
	gid_t rgid, sgid;
	int ret;

	if (self.known)
		return 0;
	if (getresuid(&ruid, &self.euid, &suid) < 0 || getresgid(&rgid, &self.egid, &sgid) < 0)
		return -errno;
	ret = caps_read(&self.caps);
	if (ret < 0)
		return ret;
	self.fsetid_dropped = false;
	self.known = true;
	return 0;
}

int credentials_fsetid(bool keep)
{
	uint32_t effective[2];
	int ret = thread_creds_load();

	if (ret < 0)
		return ret;
	/* acting as another uid, the thread holds only what that caller may */
	if (self.as_other_uid)
		return 0;
	if (keep != self.fsetid_dropped)
		return 0;	/* already as asked */
	if (!(self.caps.effective[0] & CAP_BIT(CAP_FSETID)))
		return 0;	/* the daemon runs without it: nothing to drop or keep */
	effective[0] = self.caps.effective[0];
	effective[1] = self.caps.effective[1];
	if (!keep)
		effective[0] &= ~CAP_BIT(CAP_FSETID);
	ret = caps_set_effective(effective);
	if (ret == 0)
		self.fsetid_dropped = !keep;
	return ret;
}

int credentials_write_as(gid_t gid, bool keep, struct cred_saved *saved)
{
	int ret = credentials_fsetid(keep);

	*saved = (struct cred_saved){ 0 };
	/* acting as a caller already: its gid is the thread's */
	if (ret < 0 || self.as_other_uid || gid == self.egid)
		return ret;
	if (syscall(SYS_setresgid, (gid_t)-1, gid, (gid_t)-1) < 0) {
		ret = -errno;
		log_error_once("cannot write as gid %u: %s", (unsigned)gid, strerror(-ret));
		return ret;
	}
	saved->gid_set = true;
	return 0;
}

/* As a caller that is not root: the rights it keeps, and never one the
 * daemon itself lacks. */
static int caps_for_caller(enum cred_rights rights)
{
	uint32_t effective[2] = { 0, 0 };

	if (rights == CRED_CALLER_GUEST_DAC) {
		effective[0] = (CAP_BIT(CAP_DAC_OVERRIDE) | CAP_BIT(CAP_DAC_READ_SEARCH)) &
			       self.caps.effective[0];
	}
	/* also when the kernel emptied the set already: securebits may have
	 * asked it not to (SECBIT_NO_SETUID_FIXUP) */
	return caps_set_effective(effective);
}

static int set_groups(const gid_t *groups, unsigned ngroups)
{
	return syscall(SYS_setgroups, (size_t)ngroups, groups) < 0 ? -errno : 0;
}

int credentials_become(const struct cred_identity *id, enum cred_rights rights,
		       struct cred_saved *saved)
{
	int ret = thread_creds_load();

	*saved = (struct cred_saved){ 0 };
	if (ret < 0)
		return ret;
	/* groups and gid first: they need CAP_SETGID, which leaving euid 0
	 * takes away */
	if (id->ngroups) {
		ret = set_groups(id->groups, id->ngroups);
		if (ret < 0)
			goto fail;
		saved->groups_set = true;
	}
	if (id->gid != self.egid) {
		if (syscall(SYS_setresgid, (gid_t)-1, id->gid, (gid_t)-1) < 0) {
			ret = -errno;
			goto fail;
		}
		saved->gid_set = true;
	}
	if (id->uid == self.euid)
		return credentials_fsetid(true);	/* the daemon's own rights, all of them */
	if (syscall(SYS_setresuid, (uid_t)-1, id->uid, (uid_t)-1) < 0) {
		ret = -errno;
		goto fail;
	}
	saved->uid_set = true;
	self.as_other_uid = true;
	ret = caps_for_caller(rights);
	if (ret < 0)
		goto fail;
	return 0;

fail:
	log_error_once("cannot act as uid %u gid %u: %s", (unsigned)id->uid, (unsigned)id->gid,
		       strerror(-ret));
	credentials_restore(saved);
	return ret;
}

void credentials_restore(struct cred_saved *saved)
{
	bool ok = true;

	/* uid first: back at euid 0 the thread may change its groups again */
	if (saved->uid_set) {
		ok = syscall(SYS_setresuid, (uid_t)-1, self.euid, (uid_t)-1) == 0;
		/* the kernel raised everything permitted; put back what the
		 * thread held, CAP_FSETID included */
		if (ok)
			ok = caps_set_effective(self.caps.effective) == 0;
		if (ok) {
			self.fsetid_dropped = false;
			self.as_other_uid = false;
		}
	}
	if (ok && saved->gid_set)
		ok = syscall(SYS_setresgid, (gid_t)-1, self.egid, (gid_t)-1) == 0;
	if (ok && saved->groups_set)
		ok = set_groups(NULL, 0) == 0;
	if (!ok)
		log_error_once("cannot return to the daemon's own identity: %s", strerror(errno));
	*saved = (struct cred_saved){ 0 };
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
