/* queue_worker.h: the threads that serve one virtqueue.
 * Leader/follower: one thread at a time waits on the queue's kick fd and
 * pops; the request is then served inline on that thread (measured here:
 * handing each request to a pool thread costs a ~30 us cross-CPU wake-up
 * and made metadata 2x slower). The leader promotes a follower only when
 * the request may block (SETLKW, fsync, fallocate...), and spawns an extra
 * thread (bounded) when nobody is idle, so a blocked request never stalls
 * the queue; past the bound a SETLKW gets ENOLCK rather than waiting. */
#ifndef VFSD_QUEUE_WORKER_H
#define VFSD_QUEUE_WORKER_H

#include "fuse/fuse_server.h"
#include "vhost_user/virtqueue.h"

struct queue_worker;

/* Start serving vq with `threads` resident threads (at least 1), adding
 * each request served to *served. */
struct queue_worker *queue_worker_start(struct virtqueue *vq, struct fuse_server *server,
					unsigned threads, uint64_t *served);
/* Stop popping, wake or interrupt every thread, and join them all. In-flight
 * requests are completed before this returns. */
void queue_worker_stop(struct queue_worker *worker);

#endif
