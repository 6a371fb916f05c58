/* vhost_user.h: the vhost-user backend protocol on one UNIX socket
 * connection (docs/interop/vhost-user.rst in QEMU). Validates every
 * message's size against its type before reading it, keeps the memory
 * table and vring configuration, and tells the device when a queue
 * starts or must stop through a small callback table. It knows nothing
 * of FUSE or file systems. */
#ifndef VFSD_VHOST_USER_H
#define VFSD_VHOST_USER_H

#include <stdbool.h>
#include <stdint.h>

#include "vhost_user/guest_memory.h"
#include "vhost_user/virtqueue.h"

/* QEMU's VIRTIO_QUEUE_MAX: a vhost-user-fs device has at most 1 + 1023. */
#define VHOST_USER_MAX_QUEUES 1024

struct vu_dev;

/* Shared memory regions a device may have (GET_SHMEM_CONFIG's array). */
#define VU_SHMEM_MAX_REGIONS 8

/* What a device plugs into the backend. */
struct vu_dev_iface {
	/* Device-specific virtio feature bits offered besides the transport's. */
	uint64_t device_features;
	/* The queue has rings, a kick fd, and is enabled: start serving it.
	 * Called on the control thread. */
	void (*queue_start)(struct vu_dev *dev, struct virtqueue *vq, void *opaque);
	/* The VMM stops the queue (GET_VRING_BASE, RESET, disconnect): stop
	 * popping, finish or abandon in-flight work, and return only when no
	 * thread touches vq any more. */
	void (*queue_stop)(struct vu_dev *dev, struct virtqueue *vq, void *opaque);
	/* Live migration of the device's state (VHOST_USER_PROTOCOL_F_DEVICE_STATE,
	 * offered only when both are set). Each runs on a thread of its own
	 * while every queue is stopped (none starts before CHECK_DEVICE_STATE):
	 * save writes the whole state to fd, load reads fd to its end and
	 * takes the state over. The caller closes fd afterwards (the end of
	 * the transfer for the reader). 0 or -errno, which CHECK_DEVICE_STATE
	 * reports to the frontend. */
	int (*state_save)(struct vu_dev *dev, int fd, void *opaque);
	int (*state_load)(struct vu_dev *dev, int fd, void *opaque);
};

struct vu_dev_config {
	unsigned queue_count;          /* 1 high-priority + request queues */
	const struct vu_dev_iface *iface;
	void *opaque;
	/* The virtio device's config space, read-only, for GET_CONFIG; NULL
	 * (the default) offers no VHOST_USER_PROTOCOL_F_CONFIG at all: QEMU
	 * 7.1-8.0 crash when a vhost-user-fs backend offers it. Must outlive
	 * the device; at most VU_DEVICE_CONFIG_MAX bytes. */
	const void *device_config;
	uint32_t device_config_size;
	/* VIRTIO Shared Memory Regions (the SHMEM proposal): with one or
	 * more, VHOST_USER_PROTOCOL_F_SHMEM is offered, GET_SHMEM_CONFIG
	 * answers these sizes (shmid = index) and vu_dev_shmem_map() works. */
	unsigned shmem_count;
	uint64_t shmem_sizes[VU_SHMEM_MAX_REGIONS];
	/* Offer VHOST_USER_PROTOCOL_F_BACKEND_SEND_FD, which the legacy
	 * FS_MAP request (vu_dev_fs_map) needs to pass its fd. */
	bool backend_send_fd;
};

#define VU_DEVICE_CONFIG_MAX 256

/* Create a backend on a connected socket (takes ownership of conn_fd). */
struct vu_dev *vu_dev_new(int conn_fd, const struct vu_dev_config *config);
/* Serve messages until the frontend disconnects (returns 0) or the
 * connection fails (returns negative errno). Stops all queues before
 * returning. */
int vu_dev_run(struct vu_dev *dev);
void vu_dev_free(struct vu_dev *dev);

/* ---- the backend's own requests (backend_request.c) ----
 * Sent on the SET_BACKEND_REQ_FD channel from any thread, one at a time,
 * each waiting for the frontend's REPLY_ACK answer (at most
 * VU_BACKEND_REPLY_TIMEOUT_MS; a frontend that misses it loses the
 * channel, which can no longer be kept in step). 0, -ENOTCONN without
 * the channel or what the flavour needs, -EIO when the frontend refuses,
 * -ETIMEDOUT or another -errno when the channel fails. */
#define VU_BACKEND_REPLY_TIMEOUT_MS 10000

/* Whether SHMEM_MAP can be sent now: SHMEM, BACKEND_REQ and REPLY_ACK
 * negotiated and the channel given; the size of region shmid, or 0. */
uint64_t vu_dev_shmem_ready(struct vu_dev *dev, uint8_t shmid);
int vu_dev_shmem_map(struct vu_dev *dev, uint8_t shmid, int fd, uint64_t fd_offset,
		     uint64_t shm_offset, uint64_t len, bool writable);
int vu_dev_shmem_unmap(struct vu_dev *dev, uint8_t shmid, uint64_t shm_offset, uint64_t len);

/* Whether FS_MAP can be sent now: BACKEND_REQ, BACKEND_SEND_FD and
 * REPLY_ACK negotiated and the channel given. */
bool vu_dev_fs_map_ready(struct vu_dev *dev);
int vu_dev_fs_map(struct vu_dev *dev, int fd, uint64_t fd_offset, uint64_t cache_offset,
		  uint64_t len, bool writable);
int vu_dev_fs_unmap(struct vu_dev *dev, uint64_t cache_offset, uint64_t len);

/* Listen on a UNIX socket path (unlinking a stale one), optionally
 * chgrp-ing it to group_name; returns the listening fd or -errno.
 * No signal but SIGKILL leaves the temporary name it is first bound under
 * behind. The socket itself stays when the daemon ends, stopped by a
 * signal or not, as QEMU's virtiofsd leaves it (and the Rust one on a
 * signal): whoever started us removes it (libvirt does), and the next
 * start replaces it. The sandboxed daemon could not reach the path any
 * more, and removing it by name could remove a socket another process
 * has put there since. */
int vhost_user_listen(const char *path, const char *group_name);
/* Accept one frontend connection on a listening socket. */
int vhost_user_accept(int listen_fd);

#endif
