/* daemon.c: wires passthrough -> FUSE server -> vhost-user queues. */
#include "daemon/daemon.h"

#include <endian.h>
#include <sched.h>
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "daemon/dax_backend_vhost.h"
#include "daemon/migration.h"
#include "fuse_dev/fuse_dev.h"
#include "util/log.h"

static struct passthrough_config daemon_fs_config(const struct options *opts)
{
	return (struct passthrough_config){
		.shared_dir = opts->shared_dir,
		.cache = opts->cache,
		.xattr = opts->xattr,
		.posix_acl = opts->posix_acl,
		.writeback = opts->writeback,
		.allow_direct_io = opts->allow_direct_io,
		.allow_mmap = opts->allow_mmap,
		.readdirplus = opts->readdirplus,
		.announce_submounts = opts->announce_submounts,
		.posix_lock = opts->posix_lock,
		.flock = opts->flock,
		.killpriv_v2 = opts->killpriv_v2,
		.file_handles = opts->inode_file_handles,
		.readonly = opts->readonly,
		.preserve_noatime = opts->preserve_noatime,
		.xattrmap = opts->xattrmap,
		.security_label = opts->security_label,
		.uid_map = opts->uid_translate,
		.gid_map = opts->gid_translate,
	};
}

/* Batch completion signals only when every thread of ours shares one
 * CPU (see DAEMON_NOTIFY_BATCH). */
static unsigned daemon_notify_batch(void)
{
	cpu_set_t cpus;

	if (sched_getaffinity(0, sizeof(cpus), &cpus) == 0 && CPU_COUNT(&cpus) == 1)
		return DAEMON_NOTIFY_BATCH;
	return 1;
}

int daemon_init(struct daemon *d, const struct options *opts, int proc_self_fd)
{
	memset(d, 0, sizeof(*d));
	d->opts = opts;
	d->ready_fd = -1;
	d->notify_batch = daemon_notify_batch();
	log_debug("completion signals: %s", d->notify_batch > 1 ? "batched (one CPU)" :
		  "one per completion");

	struct passthrough_config config = daemon_fs_config(opts);
	if (proc_self_fd >= 0) {
		config.proc_self_fd_given = true;
		config.proc_self_fd = proc_self_fd;
	}
	if (opts->sandbox != SANDBOX_NONE)
		config.shared_dir = "/";
	int err = 0;
	d->fs = passthrough_new(&config, &err);
	if (!d->fs) {
		log_error("shared directory %s: %s", opts->shared_dir, strerror(-err));
		return err ? err : -EINVAL;
	}
	if (opts->dax != DAX_OFF) {
		d->dax = dax_window_new(opts->dax_max_mappings);
		if (!d->dax) {
			passthrough_free(d->fs);
			d->fs = NULL;
			return -ENOMEM;
		}
	}
	struct fuse_server_config server_config = {
		.ops = passthrough_fs_ops(d->fs),
		.fs = d->fs,
		.dax = d->dax,
	};
	d->server = fuse_server_new(&server_config);
	if (!d->server) {
		dax_window_free(d->dax);
		d->dax = NULL;
		passthrough_free(d->fs);
		d->fs = NULL;
		return -ENOMEM;
	}
	return 0;
}

void daemon_fini(struct daemon *d)
{
	fuse_server_free(d->server);
	dax_window_free(d->dax);
	passthrough_free(d->fs);
	d->dax = NULL;
	d->server = NULL;
	d->fs = NULL;
}

static void daemon_queue_start(struct vu_dev *dev, struct virtqueue *vq, void *opaque)
{
	struct daemon *d = opaque;
	if (vq->index >= sizeof(d->workers) / sizeof(d->workers[0])) {
		log_error("queue %u: beyond the %u request queues we serve", vq->index,
			  DAEMON_MAX_REQUEST_QUEUES);
		return;
	}
	if (d->workers[vq->index])
		return;
	/* The high-priority queue carries only FORGET and INTERRUPT: one
	 * thread, never blocked by a slow request. */
	unsigned threads = vq->index == 0 ? 1 : d->opts->thread_pool_size;
	virtqueue_set_notify_batch(vq, d->notify_batch, DAEMON_NOTIFY_DELAY_NS);
	d->workers[vq->index] = queue_worker_start(vq, d->server, threads,
						   &d->served[vq->index].requests);
	if (!d->workers[vq->index])
		log_error("queue %u: cannot start its worker threads", vq->index);
	else
		log_debug("queue %u: started with %u thread(s)", vq->index, threads ? threads : 1);
}

static void daemon_queue_stop(struct vu_dev *dev, struct virtqueue *vq, void *opaque)
{
	struct daemon *d = opaque;
	if (vq->index >= sizeof(d->workers) / sizeof(d->workers[0]))
		return;
	queue_worker_stop(d->workers[vq->index]);
	d->workers[vq->index] = NULL;
	virtqueue_flush_notify(vq);
	log_debug("queue %u: stopped", vq->index);
}

static const struct vu_dev_iface daemon_vu_iface = {
	.device_features = 0,
	.queue_start = daemon_queue_start,
	.queue_stop = daemon_queue_stop,
	.state_save = daemon_state_save,
	.state_load = daemon_state_load,
};

/* One line at exit, at info level: how the guest spread its requests
 * over the queues ("queue 0 (hiprio): 12, queue 1: 3456, ..."). */
static void daemon_log_queue_counts(const struct daemon *d)
{
	char line[1024];
	size_t len = 0;

	for (unsigned i = 0; i <= DAEMON_MAX_REQUEST_QUEUES && len < sizeof(line) - 64; i++) {
		uint64_t n = __atomic_load_n(&d->served[i].requests, __ATOMIC_RELAXED);

		if (n == 0)
			continue;
		len += (size_t)snprintf(line + len, sizeof(line) - len, "%squeue %u%s: %llu",
					len ? ", " : "", i, i == 0 ? " (hiprio)" : "",
					(unsigned long long)n);
	}
	if (len)
		log_info("requests served: %s", line);
}

void daemon_virtio_fs_config(const char *tag, struct virtio_fs_config *out)
{
	size_t len = strlen(tag);

	memset(out, 0, sizeof(*out));
	memcpy(out->tag, tag, len < sizeof(out->tag) ? len : sizeof(out->tag));
	out->num_request_queues = htole32(DAEMON_CONFIG_REQUEST_QUEUES);
}

void daemon_notify_ready(struct daemon *d)
{
	ssize_t n;

	if (d->ready_fd < 0)
		return;
	do {
		n = write(d->ready_fd, "r", 1);
	} while (n < 0 && errno == EINTR);
	if (n != 1)
		log_error("--daemonize: telling the first process we are ready: %s",
			  n < 0 ? strerror(errno) : "short write");
	close(d->ready_fd);
	d->ready_fd = -1;
}

int daemon_serve_vhost_user(struct daemon *d, int listen_fd)
{
	daemon_notify_ready(d);
	int conn = vhost_user_accept(listen_fd);
	if (conn < 0) {
		log_error("accepting the VMM's connection: %s", strerror(-conn));
		return conn;
	}
	log_info("frontend connected");

	struct vu_dev_config config = {
		.queue_count = 1 + DAEMON_MAX_REQUEST_QUEUES,
		.iface = &daemon_vu_iface,
		.opaque = d,
	};
	if (d->opts->tag) {
		daemon_virtio_fs_config(d->opts->tag, &d->fs_config);
		config.device_config = &d->fs_config;
		config.device_config_size = sizeof(d->fs_config);
	}
	if (d->dax && d->opts->dax == DAX_SHMEM) {
		config.shmem_count = 1;
		config.shmem_sizes[DAX_VIRTIO_FS_SHMID_CACHE] = d->opts->dax_window;
	}
	config.backend_send_fd = d->dax && d->opts->dax == DAX_FS_MAP;
	struct vu_dev *dev = vu_dev_new(conn, &config);
	if (!dev) {
		close(conn);
		return -ENOMEM;
	}
	struct dax_backend_vhost dax_state;
	struct dax_backend dax_backend;
	if (d->dax) {
		dax_backend_vhost_init(&dax_backend, &dax_state, d->opts->dax, dev,
				       d->opts->dax_window);
		dax_window_attach(d->dax, &dax_backend);
	}
	int ret = vu_dev_run(dev);
	/* the queues are stopped: no request maps any more */
	if (d->dax)
		dax_window_attach(d->dax, NULL);
	vu_dev_free(dev);
	if (ret == 0)
		log_info("frontend disconnected, exiting");
	daemon_log_queue_counts(d);
	return ret;
}

int daemon_serve_fuse_dev(struct daemon *d, volatile sig_atomic_t *stop)
{
	int fuse_fd;
	/* stopped during start-up: no mount to make and undo at once */
	if (*stop)
		return 0;
	int err = fuse_dev_mount(d->opts->fuse_mount, "virtiofsd", &fuse_fd);
	if (err) {
		log_error("mounting %s: %s", d->opts->fuse_mount, strerror(-err));
		return err;
	}
	log_info("serving %s at %s through /dev/fuse", d->opts->shared_dir, d->opts->fuse_mount);
	daemon_notify_ready(d);
	struct fuse_dev_serve_config config = {
		.fuse_fd = fuse_fd,
		.mountpoint = d->opts->fuse_mount,
		.server = d->server,
		.threads = d->opts->thread_pool_size,
		.stop = stop,
		.wake_signal = SIGUSR1,
	};
	err = fuse_dev_serve(&config);
	close(fuse_fd);
	return err;
}
