/* fuse_dev.h: serve the FUSE server over the host's /dev/fuse instead of
 * vhost-user, so the shared directory can be mounted on the host itself
 * (virtiofsd --shared-dir SRC --fuse-mount MNT). Needs CAP_SYS_ADMIN.
 *
 * Usage:
 *	fuse_dev_mount(mnt, "virtiofsd", &fd);
 *	fuse_dev_serve(&(struct fuse_dev_serve_config){ fd, mnt, server, n, &stop });
 *	close(fd);
 * fuse_dev_serve detaches the mount itself; fuse_dev_unmount is for a
 * caller that fails between mounting and serving. */
#ifndef VFSD_FUSE_DEV_H
#define VFSD_FUSE_DEV_H

#include <signal.h>

struct fuse_server;

/* Opens /dev/fuse and mounts a "fuse.virtiofsd" file system at mountpoint
 * whose requests arrive on *fuse_fd (close-on-exec). source_name is what
 * /proc/mounts shows as the source (NULL: "virtiofsd"). Returns 0 or a
 * negative errno; on failure nothing is left open or mounted. */
int fuse_dev_mount(const char *mountpoint, const char *source_name, int *fuse_fd);

/* Lazily detaches the mount. Succeeds if it is already gone. Returns 0 or
 * a negative errno. */
int fuse_dev_unmount(const char *mountpoint);

struct fuse_dev_serve_config {
	int fuse_fd;                  /* from fuse_dev_mount; not closed here */
	const char *mountpoint;       /* detached on stop; NULL: caller does it */
	struct fuse_server *server;
	unsigned threads;             /* workers; 0 is taken as 1 */
	volatile sig_atomic_t *stop;  /* set by the caller's signal handler */
	int wake_signal;              /* a signal with a handler and no
				       * SA_RESTART (SIGUSR1): at stop it
				       * interrupts a worker's read or lock
				       * wait */
};

/* Serves requests until *stop is set (checked on every signal the calling
 * thread receives, at the latest every second), the file system is
 * unmounted from outside, or the server is destroyed. Runs in the calling
 * thread; the workers block SIGINT, SIGTERM, SIGHUP and SIGQUIT so that
 * those reach it. On stop it detaches the mount so the kernel ends the
 * connection (a mount kept busy by an open file gets 2 s, then its
 * workers are woken with wake_signal to end), then joins every worker.
 * Returns 0 on any of those ends, or a negative errno when serving could
 * not start or a worker hit an unexpected error. */
int fuse_dev_serve(const struct fuse_dev_serve_config *config);

#endif
