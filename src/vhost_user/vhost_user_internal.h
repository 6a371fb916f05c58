/* vhost_user_internal.h: the backend device, shared by the files of
 * src/vhost_user/ that serve the frontend's messages (vhost_user.c) and
 * send the backend's own requests (backend_request.c). */
#ifndef VFSD_VHOST_USER_INTERNAL_H
#define VFSD_VHOST_USER_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "vhost_user/vhost_user.h"

struct dirty_log;

struct vu_dev {
	int conn_fd;
	/* SET_BACKEND_REQ_FD: the channel for the backend's own requests.
	 * backend_lock guards it and protocol_features against the queue
	 * threads that send on it, and keeps one request and its reply
	 * together on the wire. */
	pthread_mutex_t backend_lock;
	int backend_fd;
	struct vu_dev_config config;
	uint64_t features;
	uint64_t protocol_features;
	bool owner;
	struct guest_memory_slot mem_slot;
	struct dirty_log *log;      /* SET_LOG_BASE; NULL until then */
	/* SET_DEVICE_STATE_FD: the transfer thread, until CHECK_DEVICE_STATE */
	pthread_t xfer_thread;
	bool xfer_running;
	bool xfer_done;             /* a transfer ended; xfer_result is its verdict */
	int xfer_result;
	int xfer_fd;
	uint32_t xfer_direction;
	struct virtqueue vqs[VHOST_USER_MAX_QUEUES];
};

#endif
