/* fuse_dev.c: mount through /dev/fuse and serve it with worker threads. */
#include "fuse_dev/fuse_dev.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "fuse/fuse_server.h"
#include "util/log.h"

/* A WRITE carries FUSE_SERVER_MAX_WRITE bytes after its headers; the
 * kernel refuses reads into anything smaller than that (and 8 KiB). */
#define FUSE_DEV_IN_SIZE  (FUSE_SERVER_MAX_WRITE + 8192u)
/* The largest reply is a READ of max_read bytes plus its header. */
#define FUSE_DEV_OUT_SIZE (FUSE_SERVER_MAX_WRITE + 4096u)
/* After detaching the mount, how long the workers get to see ENODEV
 * before they are told to stop (a busy mount keeps the connection up). */
#define FUSE_DEV_GRACE_MS 2000

struct fuse_dev_worker {
	struct fuse_dev_pool *pool;
	pthread_t thread;
	bool started;
	int fd;                 /* own clone of the session fd, or the session fd */
	bool own_fd;
	bool done;              /* atomic: the loop has returned */
	void *in;
	void *out;
};

struct fuse_dev_pool {
	const struct fuse_dev_serve_config *config;
	int wake_fd;            /* eventfd: a worker finished */
	int error;              /* atomic: first unexpected negative errno */
	bool ended;             /* atomic: the kernel ended the connection */
	bool stopping;          /* atomic: workers end at their next read */
	struct fuse_dev_worker *workers;
	unsigned count;
};

int fuse_dev_mount(const char *mountpoint, const char *source_name, int *fuse_fd)
{
	char opts[256];
	int fd, ret;

	fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* Like a virtio-fs mount in a guest: the root is a directory, any user
	 * may enter (the server checks as the caller), and the kernel checks
	 * mode bits first. max_read keeps READs within our reply buffer. */
	ret = snprintf(opts, sizeof(opts),
		       "fd=%d,rootmode=40000,user_id=%u,group_id=%u,allow_other,"
		       "default_permissions,max_read=%u",
		       fd, (unsigned)geteuid(), (unsigned)getegid(), FUSE_SERVER_MAX_WRITE);
	if (ret < 0 || (size_t)ret >= sizeof(opts)) {
		close(fd);
		return -EINVAL;
	}
	/* nosuid,nodev: re-exporting a tree on the host must not create new
	 * ways to run setuid programs or reach devices (libfuse does the same). */
	if (mount(source_name ? source_name : "virtiofsd", mountpoint, "fuse.virtiofsd",
		  MS_NOSUID | MS_NODEV, opts) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	*fuse_fd = fd;
	return 0;
}

int fuse_dev_unmount(const char *mountpoint)
{
	if (umount2(mountpoint, MNT_DETACH | UMOUNT_NOFOLLOW) == 0)
		return 0;
	/* EINVAL: not a mount point any more, someone unmounted it already. */
	if (errno == EINVAL)
		return 0;
	return -errno;
}

static void pool_set_error(struct fuse_dev_pool *pool, int err)
{
	int none = 0;

	__atomic_compare_exchange_n(&pool->error, &none, err, false,
				    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

/* Every worker reads and replies on its own fd: the kernel matches a
 * reply with the fd the request was read from, and clones let it spread
 * requests over all readers. Old kernels without the ioctl share one fd. */
static int worker_open(struct fuse_dev_worker *w, int session_fd)
{
	uint32_t sfd = (uint32_t)session_fd;
	int fd;

	fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, FUSE_DEV_IOC_CLONE, &sfd) < 0) {
		int err = errno;

		close(fd);
		if (err != ENOTTY && err != EINVAL)
			return -err;
		w->fd = session_fd;
		w->own_fd = false;
		return 0;
	}
	w->fd = fd;
	w->own_fd = true;
	return 0;
}

/* Returns false when the connection is gone and the worker should end. */
static bool worker_reply(struct fuse_dev_worker *w, size_t len)
{
	struct iovec iov = { .iov_base = w->out, .iov_len = len };
	ssize_t n;

	do {
		n = writev(w->fd, &iov, 1);
	} while (n < 0 && errno == EINTR);
	if (n >= 0) {
		if ((size_t)n != len)
			log_error_once("fuse_dev: short reply write %zd of %zu", n, len);
		return true;
	}
	/* ENOENT: the request was interrupted and the kernel forgot it. */
	if (errno == ENOENT)
		return true;
	if (errno == ENODEV || errno == ECONNABORTED)
		return false;
	log_error_once("fuse_dev: reply write failed: %s", strerror(errno));
	return true;
}

/* One request: read, handle, reply. Returns 1 to go on, 0 when the
 * connection has ended, a negative errno on an unexpected failure. */
static int worker_serve_one(struct fuse_dev_worker *w)
{
	struct fuse_server *server = w->pool->config->server;
	struct iovec in, out;
	ssize_t n;
	size_t len;

	/* Checked only between requests: one being served may hold
	 * file-system locks. A wake signal that lands after this check and
	 * before the read blocks is resent by worker_join(). */
	if (__atomic_load_n(&w->pool->stopping, __ATOMIC_ACQUIRE))
		return 0;
	n = read(w->fd, w->in, FUSE_DEV_IN_SIZE);
	if (n < 0) {
		/* ENOENT: interrupted before we got it; EINTR/EAGAIN: retry. */
		if (errno == EINTR || errno == EAGAIN || errno == ENOENT)
			return 1;
		if (errno == ENODEV || errno == ECONNABORTED)
			return 0;
		return -errno;
	}
	if ((size_t)n < sizeof(struct fuse_in_header)) {
		log_error_once("fuse_dev: short request of %zd bytes", n);
		return 1;
	}
	in = (struct iovec){ .iov_base = w->in, .iov_len = (size_t)n };
	out = (struct iovec){ .iov_base = w->out, .iov_len = FUSE_DEV_OUT_SIZE };
	len = fuse_server_handle(server, &in, 1, &out, 1);
	if (len && !worker_reply(w, len))
		return 0;
	return fuse_server_destroyed(server) ? 0 : 1;
}

static void *worker_main(void *arg)
{
	struct fuse_dev_worker *w = arg;
	uint64_t one = 1;
	int ret;

	do {
		ret = worker_serve_one(w);
	} while (ret > 0);
	if (ret == 0 && !fuse_server_destroyed(w->pool->config->server) &&
	    !__atomic_load_n(&w->pool->stopping, __ATOMIC_ACQUIRE))
		__atomic_store_n(&w->pool->ended, true, __ATOMIC_RELAXED);
	if (ret < 0) {
		log_error("fuse_dev: reading requests failed: %s", strerror(-ret));
		pool_set_error(w->pool, ret);
	}
	__atomic_store_n(&w->done, true, __ATOMIC_RELEASE);
	if (write(w->pool->wake_fd, &one, sizeof(one)) < 0)
		log_error_once("fuse_dev: eventfd write failed: %s", strerror(errno));
	return NULL;
}

static bool pool_any_done(const struct fuse_dev_pool *pool)
{
	for (unsigned i = 0; i < pool->count; i++)
		if (__atomic_load_n(&pool->workers[i].done, __ATOMIC_ACQUIRE))
			return true;
	return false;
}

static bool pool_all_done(const struct fuse_dev_pool *pool)
{
	for (unsigned i = 0; i < pool->count; i++)
		if (pool->workers[i].started &&
		    !__atomic_load_n(&pool->workers[i].done, __ATOMIC_ACQUIRE))
			return false;
	return true;
}

/* Waits for a worker to finish or a signal, with sigmask unblocked only
 * while waiting so a signal cannot slip in between the check and the
 * wait. */
static void pool_wait(struct fuse_dev_pool *pool, int timeout_ms, const sigset_t *sigmask)
{
	struct pollfd pfd = { .fd = pool->wake_fd, .events = POLLIN };
	struct timespec ts = { timeout_ms / 1000, (timeout_ms % 1000) * 1000000L };
	uint64_t count;

	if (ppoll(&pfd, 1, &ts, sigmask) > 0 && read(pool->wake_fd, &count, sizeof(count)) < 0)
		log_error_once("fuse_dev: eventfd read failed: %s", strerror(errno));
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Called with pool->stopping set. The wake signal cuts short a blocked
 * read (EINTR: the worker then sees the flag) or a lock wait (the request
 * is answered first). It is resent until the worker is gone, since one
 * sent between the worker's check of the flag and its read is lost. */
static void worker_join(struct fuse_dev_worker *w, int wake_signal)
{
	struct timespec ts;

	if (__atomic_load_n(&w->done, __ATOMIC_ACQUIRE)) {
		pthread_join(w->thread, NULL);
		return;
	}
	for (;;) {
		pthread_kill(w->thread, wake_signal);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 200 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		if (pthread_timedjoin_np(w->thread, NULL, &ts) != ETIMEDOUT)
			return;
	}
}

/* Ends the connection by detaching the mount (reads then fail with
 * ENODEV), gives the workers a moment, then tells the ones still there
 * to stop (an open file keeps a detached mount alive) and joins them all.
 * A flag and a signal rather than pthread_cancel: a thread cancelled in
 * read() unwinds through frames, the sanitizers' interceptors among them,
 * that were not written to be unwound (ASan once reported such an exit).
 * When the kernel already ended the connection (unmounted from outside),
 * the mount point is left alone: something else may be mounted there by
 * now. */
static void pool_stop(struct fuse_dev_pool *pool, const sigset_t *sigmask)
{
	const char *mnt = pool->config->mountpoint;
	int64_t deadline = now_ms() + FUSE_DEV_GRACE_MS;

	if (mnt && !__atomic_load_n(&pool->ended, __ATOMIC_RELAXED)) {
		int ret = fuse_dev_unmount(mnt);

		if (ret < 0)
			log_error("fuse_dev: unmounting %s failed: %s", mnt, strerror(-ret));
	}
	while (!pool_all_done(pool) && now_ms() < deadline)
		pool_wait(pool, (int)(deadline - now_ms()), sigmask);
	__atomic_store_n(&pool->stopping, true, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < pool->count; i++) {
		struct fuse_dev_worker *w = &pool->workers[i];

		if (!w->started)
			continue;
		worker_join(w, pool->config->wake_signal);
		w->started = false;
	}
}

static void pool_free(struct fuse_dev_pool *pool)
{
	for (unsigned i = 0; i < pool->count; i++) {
		struct fuse_dev_worker *w = &pool->workers[i];

		if (w->own_fd)
			close(w->fd);
		free(w->in);
		free(w->out);
	}
	free(pool->workers);
	if (pool->wake_fd >= 0)
		close(pool->wake_fd);
}

static int pool_init(struct fuse_dev_pool *pool, const struct fuse_dev_serve_config *config)
{
	unsigned count = config->threads ? config->threads : 1;

	memset(pool, 0, sizeof(*pool));
	pool->config = config;
	pool->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (pool->wake_fd < 0)
		return -errno;
	pool->workers = calloc(count, sizeof(*pool->workers));
	if (!pool->workers)
		return -ENOMEM;
	pool->count = count;
	for (unsigned i = 0; i < count; i++) {
		struct fuse_dev_worker *w = &pool->workers[i];
		int ret;

		w->pool = pool;
		w->in = malloc(FUSE_DEV_IN_SIZE);
		w->out = malloc(FUSE_DEV_OUT_SIZE);
		if (!w->in || !w->out)
			return -ENOMEM;
		ret = worker_open(w, config->fuse_fd);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* Workers start with the stop signals blocked (they inherit the mask),
 * so those land on the serving thread. */
static int pool_start(struct fuse_dev_pool *pool)
{
	for (unsigned i = 0; i < pool->count; i++) {
		struct fuse_dev_worker *w = &pool->workers[i];
		int ret = pthread_create(&w->thread, NULL, worker_main, w);

		if (ret)
			return -ret;
		w->started = true;
	}
	return 0;
}

int fuse_dev_serve(const struct fuse_dev_serve_config *config)
{
	struct fuse_dev_pool pool;
	sigset_t stop_signals, caller;
	int ret;

	if (!config || !config->server || !config->stop || config->fuse_fd < 0 ||
	    config->wake_signal <= 0)
		return -EINVAL;
	ret = pool_init(&pool, config);
	if (ret < 0) {
		pool_free(&pool);
		return ret;
	}
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGINT);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGHUP);
	sigaddset(&stop_signals, SIGQUIT);
	pthread_sigmask(SIG_BLOCK, &stop_signals, &caller);
	ret = pool_start(&pool);
	/* The timeout covers a stop signal that was delivered to some other
	 * thread of the caller's. */
	while (ret == 0 && !*config->stop && !pool_any_done(&pool) &&
	       !fuse_server_destroyed(config->server))
		pool_wait(&pool, 1000, &caller);
	pool_stop(&pool, &caller);
	pthread_sigmask(SIG_SETMASK, &caller, NULL);
	if (ret == 0)
		ret = __atomic_load_n(&pool.error, __ATOMIC_RELAXED);
	pool_free(&pool);
	return ret;
}
