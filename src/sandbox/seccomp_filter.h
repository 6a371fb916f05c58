/* seccomp_filter.h: the syscall allow list the serving daemon lives in.
 * Installed after the sandbox and capabilities are set up, before the
 * guest is served; it never allows a syscall that can leave the sandbox
 * (mount, pivot_root, chroot, ptrace, execve, fork, namespaces, bpf...). */
#ifndef VFSD_SECCOMP_FILTER_H
#define VFSD_SECCOMP_FILTER_H

#include <stdbool.h>

/* Same order as enum seccomp_mode in daemon/options.h; map explicitly. */
enum seccomp_kind {
	SECCOMP_KIND_KILL,	/* kill the whole process */
	SECCOMP_KIND_LOG,	/* allow, but log to the kernel audit log */
	SECCOMP_KIND_TRAP,	/* SIGSYS: the number is written to stderr, then die */
	SECCOMP_KIND_NONE,	/* no filter */
};

/* Installs the filter on every thread of the process (TSYNC). syslog allows
 * the socket/connect calls glibc needs to reconnect to /dev/log.
 * name_to_handle_at is always allowed (it names an fd we hold: inodes held
 * by handle, live migration); file_handles allows open_by_handle_at
 * (--inode-file-handles, a --migration-mode=file-handles destination),
 * refused otherwise. Returns 0 or -errno with the
 * reason logged. */
int seccomp_install(int kind, bool syslog, bool file_handles);

#endif
