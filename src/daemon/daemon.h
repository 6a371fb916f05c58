/* daemon.h: the one daemon context, and the glue that plugs the FUSE
 * server into a transport: vhost-user queues get queue workers, or the
 * host's /dev/fuse gets its reader threads. No other global state. */
#ifndef VFSD_DAEMON_H
#define VFSD_DAEMON_H

#include <linux/virtio_fs.h>
#include <signal.h>

#include "daemon/options.h"
#include "daemon/queue_worker.h"
#include "fuse/fuse_server.h"
#include "passthrough/passthrough.h"
#include "vhost_user/vhost_user.h"

/* Request queues we accept: any num-request-queues QEMU allows, besides
 * the high-priority queue. */
#define DAEMON_MAX_REQUEST_QUEUES (VHOST_USER_MAX_QUEUES - 1)

/* Completions that may share one signal to the guest while more requests
 * wait, and how long the first of them may wait. Only when the daemon is
 * confined to one CPU (daemon_notify_batch): there the driver it wakes
 * shares that CPU, and each signal preempts the daemon (measured at depth
 * 16, pinned with the client: 1.6-1.8x the throughput at 0.7x the CPU per
 * request with 32). With CPUs to spare the driver consumes completions
 * while the daemon serves the next requests, and holding them back made
 * getattr, lookup and 4 KiB reads 1.5-2.7x slower (unpinned, idle
 * machine). A completion is never held while the ring is empty, nor
 * behind a request that may take long. */
#define DAEMON_NOTIFY_BATCH 32
#define DAEMON_NOTIFY_DELAY_NS (100 * 1000)

/* Requests served by one queue since start, over every restart of it;
 * a cache line each, as each queue's threads count their own. */
struct daemon_queue_count {
	uint64_t requests;
} __attribute__((aligned(64)));

struct daemon {
	const struct options *opts;
	struct passthrough *fs;
	struct fuse_server *server;
	/* --dax: the window the server maps into, or NULL. */
	struct dax_window *dax;
	struct queue_worker *workers[1 + DAEMON_MAX_REQUEST_QUEUES];
	struct daemon_queue_count served[1 + DAEMON_MAX_REQUEST_QUEUES];
	/* The device config space given to a frontend that asks (--tag). */
	struct virtio_fs_config fs_config;
	/* --daemonize: the pipe the waiting first process reads one byte from
	 * once we are ready to serve; -1 otherwise. */
	int ready_fd;
	/* DAEMON_NOTIFY_BATCH when the daemon runs on one CPU, else 1. */
	unsigned notify_batch;
};

/* The virtio-fs config space --tag gives: the tag, NUL-padded (not
 * NUL-terminated at 36 bytes), and one request queue, as the Rust
 * virtiofsd says; a frontend still chooses how many it creates. */
#define DAEMON_CONFIG_REQUEST_QUEUES 1
void daemon_virtio_fs_config(const char *tag, struct virtio_fs_config *out);

/* Open the shared directory and build the FUSE server over it. In a
 * sandbox the shared directory is "/" and proc_self_fd comes from it;
 * otherwise proc_self_fd is -1. */
int daemon_init(struct daemon *d, const struct options *opts, int proc_self_fd);
void daemon_fini(struct daemon *d);

/* Tells the process waiting in main.c's daemonize() that we serve now
 * (once; nothing without --daemonize). */
void daemon_notify_ready(struct daemon *d);

/* Accept one frontend on listen_fd and serve it until it disconnects.
 * Returns 0 on a clean disconnect. */
int daemon_serve_vhost_user(struct daemon *d, int listen_fd);

/* Mount the share at opts->fuse_mount through the host's /dev/fuse and
 * serve it until *stop is set or it is unmounted. */
int daemon_serve_fuse_dev(struct daemon *d, volatile sig_atomic_t *stop);

#endif
