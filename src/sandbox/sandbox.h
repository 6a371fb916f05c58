/* sandbox.h: confine the daemon to the shared directory before it serves.
 * Afterwards "/" is the shared directory and no host path outside it is
 * reachable; this room never serves requests and never keeps host fds. */
#ifndef VFSD_SANDBOX_H
#define VFSD_SANDBOX_H

#include <stdbool.h>

/* Same order as enum sandbox_mode in daemon/options.h; map explicitly. */
enum sandbox_kind {
	SANDBOX_KIND_NAMESPACE,	/* mount/pid/net/ipc namespaces + pivot_root */
	SANDBOX_KIND_CHROOT,	/* chroot only, for hosts without namespaces */
	SANDBOX_KIND_NONE,
};

/* One range of the user namespace an unprivileged daemon makes
 * (--uid-map / --gid-map): ids [inside, inside+count) in the namespace
 * are the host's [outside, outside+count), as newuidmap(1) takes them. */
struct sandbox_id_range {
	unsigned inside;
	unsigned outside;
	unsigned count;
};

/* The kernel takes at most this many ranges per map. */
#define SANDBOX_ID_RANGES_MAX 340

struct sandbox_config {
	int kind;			/* enum sandbox_kind */
	const char *shared_dir;		/* becomes "/" */
	const int *keep_fds;		/* fds to keep besides 0, 1 and 2 */
	unsigned keep_count;
	bool syslog;			/* log.c writes to syslog: reconnect first */
	/* For a daemon that is not root (namespace or chroot): the ranges
	 * of its user namespace, written by newuidmap(1) and newgidmap(1)
	 * from the user's /etc/subuid and /etc/subgid; none: only its own
	 * uid (gid), as itself. */
	const struct sandbox_id_range *uid_ranges;
	unsigned uid_count;
	const struct sandbox_id_range *gid_ranges;
	unsigned gid_count;
};

/*
 * Enters the sandbox. Must be called while the process is single-threaded.
 * Every fd except stdio and keep_fds is closed: an inherited directory fd
 * would be a way out. In namespace mode the calling process forks; the
 * parent stays outside, forwards SIGTERM/SIGINT/SIGHUP/SIGQUIT to the
 * child, and exits with the child's status (it never returns). The child,
 * pid 1 of a new pid namespace, returns here, with those of the four left
 * at the default made to exit as the default would. A stop signal that
 * comes at any point of this is honoured; one the caller ignores stays
 * ignored.
 *
 * On success returns 0 and *proc_self_fd is an O_PATH fd of /proc/self/fd
 * for the passthrough to reopen inodes with (it is not reachable by path
 * any more); the shared directory is then "/". Returns -errno, with the
 * reason logged, on failure.
 */
int sandbox_enter(const struct sandbox_config *config, int *proc_self_fd);

#endif
