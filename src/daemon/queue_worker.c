/* queue_worker.c: leader/follower threads popping and serving one virtqueue. */
#include "daemon/queue_worker.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"

/* Extra threads a queue may grow to for requests that may block: each
 * one is parked in a SETLKW or a long fsync, so this bounds how many such
 * requests one queue serves at once. */
#define QUEUE_WORKER_MAX_EXTRA 32

enum worker_slot_state { SLOT_FREE, SLOT_RUNNING, SLOT_EXITED };

struct worker_slot {
	pthread_t tid;
	struct queue_worker *owner;
	enum worker_slot_state state;
	bool serving;
};

struct queue_worker {
	struct virtqueue *vq;
	struct fuse_server *server;
	uint64_t *served;
	int stop_fd;
	pthread_mutex_t lock;
	pthread_cond_t followers;
	pthread_cond_t exited;
	bool stopping;
	bool leader_present;
	unsigned idle;
	unsigned running;
	unsigned resident;
	unsigned slot_count;
	struct worker_slot slots[];
};

static void *worker_main(void *arg);

/* Called with the lock held. */
static bool worker_spawn(struct queue_worker *w)
{
	struct worker_slot *slot = NULL;
	for (unsigned i = 0; i < w->slot_count && !slot; i++) {
		if (w->slots[i].state == SLOT_EXITED) {
			pthread_join(w->slots[i].tid, NULL);
			w->slots[i].state = SLOT_FREE;
		}
		if (w->slots[i].state == SLOT_FREE)
			slot = &w->slots[i];
	}
	if (!slot)
		return false;
	slot->owner = w;
	slot->serving = false;
	slot->state = SLOT_RUNNING;
	int err = pthread_create(&slot->tid, NULL, worker_main, slot);
	if (err) {
		slot->state = SLOT_FREE;
		log_error_once("queue %u: cannot start a worker thread: %s", w->vq->index,
			       strerror(err));
		return false;
	}
	w->running++;
	return true;
}

/* How long a thread beyond the resident count waits idle before it
 * exits: long enough that a burst of blocking requests does not create
 * and destroy a thread per request. */
#define SURPLUS_IDLE_SECONDS 2

static int follower_wait(struct queue_worker *w, bool surplus)
{
	if (!surplus)
		return pthread_cond_wait(&w->followers, &w->lock);
	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += SURPLUS_IDLE_SECONDS;
	return pthread_cond_timedwait(&w->followers, &w->lock, &deadline);
}

/* Wait, as a follower, until nobody leads. Returns false when the thread
 * should exit: the queue stops, or it is a surplus thread that stayed
 * idle for SURPLUS_IDLE_SECONDS. Called with the lock held. */
static bool worker_become_leader(struct queue_worker *w)
{
	while (!w->stopping && w->leader_present) {
		bool surplus = w->running > w->resident;
		w->idle++;
		int err = follower_wait(w, surplus);
		w->idle--;
		if (err == ETIMEDOUT && surplus && w->leader_present && !w->stopping)
			return false;
	}
	if (w->stopping)
		return false;
	w->leader_present = true;
	return true;
}

static bool worker_stopping(struct queue_worker *w)
{
	return __atomic_load_n(&w->stopping, __ATOMIC_ACQUIRE);
}

/* As the leader: pop the next request, sleeping on the kick fd when the
 * ring is empty. Returns NULL when the queue stops. */
static struct vq_elem *worker_wait_request(struct queue_worker *w)
{
	struct virtqueue *vq = w->vq;
	struct vq_elem *elem;

	while (!worker_stopping(w)) {
		int ret = virtqueue_pop(vq, &elem);

		if (ret == 1)
			return elem;
		if (ret == -EAGAIN)
			continue;	/* a flood of bad chains: not empty yet */
		/* Ask for kicks, then look again: a buffer may have been added
		 * before the driver saw that we want to be kicked. */
		virtqueue_set_notification(vq, true);
		ret = virtqueue_pop(vq, &elem);
		if (ret == 1) {
			virtqueue_set_notification(vq, false);
			return elem;
		}
		if (ret == -EAGAIN)
			continue;
		struct pollfd fds[2] = {
			{ .fd = vq->kick_fd, .events = POLLIN },
			{ .fd = w->stop_fd, .events = POLLIN },
		};
		/* No timeout: an empty ring with kicks asked for is woken by the
		 * driver's next buffer, or by the stop fd. */
		int ready = poll(fds, 2, -1);
		if (ready < 0) {
			if (errno == EINTR)
				continue;
			log_error("queue %u: poll: %s", vq->index, strerror(errno));
			return NULL;
		}
		if (fds[1].revents)
			return NULL;
		if (fds[0].revents & (POLLERR | POLLHUP | POLLNVAL)) {
			log_error_once("queue %u: kick fd closed", vq->index);
			return NULL;
		}
		eventfd_t count;
		if (eventfd_read(vq->kick_fd, &count) < 0 && errno != EAGAIN)
			log_error_once("queue %u: reading kick fd: %s", vq->index, strerror(errno));
		virtqueue_set_notification(vq, false);
	}
	return NULL;
}

/* Before serving elem inline, let another thread take the ring when this
 * request may block (SETLKW, fsync...). Requests merely queued behind it
 * are not a reason: measured on a quiet 2-vCPU machine, handing the ring
 * over whenever more requests were pending cost twice QEMU's CPU per
 * lookup and 0.5-0.8x its throughput at depth 16-64, while serving
 * inline matched it; parallelism comes from several request queues.
 *
 * Called with the lock held. Returns false when elem may block and no
 * other thread is idle or could be started: then it must not wait on the
 * guest (a SETLKW storm would otherwise park every thread, the last
 * leader included, and the queue would stop). */
static bool worker_hand_over(struct queue_worker *w, struct vq_elem *elem)
{
	if (!fuse_request_may_block(elem->out, elem->out_count))
		return true;
	if (w->idle > 0) {
		pthread_cond_signal(&w->followers);
		return true;
	}
	return worker_spawn(w);
}

static void worker_serve(struct queue_worker *w, struct vq_elem *elem, bool may_wait)
{
	/* completions held back for a batched signal must not wait on it */
	if (fuse_request_may_be_slow(elem->out, elem->out_count))
		virtqueue_flush_notify(w->vq);
	size_t len = fuse_server_handle_flags(w->server, elem->out, elem->out_count, elem->in,
					      elem->in_count, may_wait ? 0 : FUSE_HANDLE_NO_WAIT);
	virtqueue_push(w->vq, elem, (uint32_t)len);
	__atomic_fetch_add(w->served, 1, __ATOMIC_RELAXED);
}

static void *worker_main(void *arg)
{
	struct worker_slot *self = arg;
	struct queue_worker *w = self->owner;

	pthread_mutex_lock(&w->lock);
	while (worker_become_leader(w)) {
		pthread_mutex_unlock(&w->lock);
		struct vq_elem *elem = worker_wait_request(w);
		pthread_mutex_lock(&w->lock);
		w->leader_present = false;
		if (!elem) {
			/* Stopping, or the kick fd died: either way this queue is
			 * done until the VMM sets it up again. */
			__atomic_store_n(&w->stopping, true, __ATOMIC_RELEASE);
			pthread_cond_broadcast(&w->followers);
			continue;
		}
		bool may_wait = worker_hand_over(w, elem);
		self->serving = true;
		pthread_mutex_unlock(&w->lock);

		worker_serve(w, elem, may_wait);

		pthread_mutex_lock(&w->lock);
		self->serving = false;
	}
	self->state = SLOT_EXITED;
	w->running--;
	pthread_cond_broadcast(&w->exited);
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

struct queue_worker *queue_worker_start(struct virtqueue *vq, struct fuse_server *server,
					unsigned threads, uint64_t *served)
{
	if (threads == 0)
		threads = 1;
	unsigned slots = threads + QUEUE_WORKER_MAX_EXTRA;
	struct queue_worker *w = calloc(1, sizeof(*w) + slots * sizeof(w->slots[0]));
	if (!w)
		return NULL;
	w->vq = vq;
	w->server = server;
	w->served = served;
	w->resident = threads;
	w->slot_count = slots;
	w->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->stop_fd < 0) {
		free(w);
		return NULL;
	}
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->followers, NULL);
	pthread_cond_init(&w->exited, NULL);

	pthread_mutex_lock(&w->lock);
	for (unsigned i = 0; i < threads; i++)
		worker_spawn(w);
	bool any = w->running > 0;
	pthread_mutex_unlock(&w->lock);
	if (!any) {
		queue_worker_stop(w);
		return NULL;
	}
	return w;
}

/* Threads parked in a blocking request (SETLKW) only return when a signal
 * interrupts the system call; repeat until every thread is out. */
static void worker_wait_all_exited(struct queue_worker *w)
{
	pthread_mutex_lock(&w->lock);
	while (w->running > 0) {
		for (unsigned i = 0; i < w->slot_count; i++) {
			if (w->slots[i].state == SLOT_RUNNING && w->slots[i].serving)
				pthread_kill(w->slots[i].tid, SIGUSR1);
		}
		struct timespec deadline;
		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_nsec += 50 * 1000 * 1000;
		if (deadline.tv_nsec >= 1000000000L) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&w->exited, &w->lock, &deadline);
	}
	pthread_mutex_unlock(&w->lock);
}

void queue_worker_stop(struct queue_worker *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	__atomic_store_n(&w->stopping, true, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&w->followers);
	pthread_mutex_unlock(&w->lock);
	eventfd_write(w->stop_fd, 1);

	worker_wait_all_exited(w);
	for (unsigned i = 0; i < w->slot_count; i++) {
		if (w->slots[i].state == SLOT_EXITED)
			pthread_join(w->slots[i].tid, NULL);
	}
	close(w->stop_fd);
	pthread_cond_destroy(&w->exited);
	pthread_cond_destroy(&w->followers);
	pthread_mutex_destroy(&w->lock);
	free(w);
}
