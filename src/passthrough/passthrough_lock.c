/* passthrough_lock.c: GETLK, SETLK(W) and INTERRUPT.
 * POSIX locks become OFD locks on the handle's fd: they belong to the
 * open file, not to the daemon's pid, so two guest handles conflict as
 * two host opens would. BSD flock() goes to the same fd. A blocking wait
 * is registered by request unique so INTERRUPT can signal the thread
 * (SIGUSR1 without SA_RESTART, installed by the daemon) out of it. */
#include "passthrough/passthrough_internal.h"

#include <errno.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#define PT_OFFSET_MAX INT64_MAX

static int lock_to_flock(const struct fuse_file_lock *lock, struct flock *fl)
{
	if (lock->start > PT_OFFSET_MAX || lock->end < lock->start)
		return -EINVAL;
	switch (lock->type) {
	case F_RDLCK:
	case F_WRLCK:
	case F_UNLCK:
		break;
	default:
		return -EINVAL;
	}
	*fl = (struct flock){
		.l_type = (short)lock->type,
		.l_whence = SEEK_SET,
		.l_start = (off_t)lock->start,
		/* 0 means "to the end of the file, however it grows" */
		.l_len = lock->end >= PT_OFFSET_MAX ? 0 : (off_t)(lock->end - lock->start + 1),
	};
	return 0;
}

int pt_getlk(void *opaque, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh, uint64_t owner,
	     struct fuse_file_lock *lock)
{
	struct passthrough *fs = pt_from(opaque);
	struct pt_handle *handle;
	struct flock fl;
	int ret;

	if (!fs->cfg.posix_lock)
		return -ENOSYS;
	ret = lock_to_flock(lock, &fl);
	if (ret < 0)
		return ret;
	handle = handle_table_get(&fs->handles, fh, HANDLE_FILE);
	if (!handle)
		return -EBADF;
	if (fcntl(handle->fd, F_OFD_GETLK, &fl) < 0) {
		ret = -errno;
		goto out;
	}
	lock->type = (uint32_t)fl.l_type;
	/* OFD locks have no owning pid (-1); the guest maps 0 to "none" */
	lock->pid = 0;
	if (fl.l_type != F_UNLCK) {
		lock->start = (uint64_t)fl.l_start;
		lock->end = fl.l_len ? (uint64_t)(fl.l_start + fl.l_len - 1) : PT_OFFSET_MAX;
	}
out:
	handle_table_put(&fs->handles, handle);
	return ret;
}

static void waiter_add(struct passthrough *fs, struct lock_waiter *w, uint64_t unique)
{
	*w = (struct lock_waiter){ .unique = unique, .thread = pthread_self() };
	pthread_mutex_lock(&fs->waiters_lock);
	w->next = fs->waiters;
	fs->waiters = w;
	pthread_mutex_unlock(&fs->waiters_lock);
}

static void waiter_remove(struct passthrough *fs, struct lock_waiter *w)
{
	struct lock_waiter **pp;

	pthread_mutex_lock(&fs->waiters_lock);
	for (pp = &fs->waiters; *pp; pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	}
	pthread_mutex_unlock(&fs->waiters_lock);
}

static bool waiter_interrupted(struct passthrough *fs, struct lock_waiter *w)
{
	bool interrupted;

	pthread_mutex_lock(&fs->waiters_lock);
	interrupted = w->interrupted;
	pthread_mutex_unlock(&fs->waiters_lock);
	return interrupted;
}

/* Signals the thread waiting for request unique, if any. Returns false
 * when no such wait is registered (any more). */
static bool waiter_signal(struct passthrough *fs, uint64_t unique)
{
	struct lock_waiter *w;

	pthread_mutex_lock(&fs->waiters_lock);
	for (w = fs->waiters; w && w->unique != unique; w = w->next)
		;
	if (w) {
		w->interrupted = true;
		/* under the lock: the thread cannot have left yet */
		pthread_kill(w->thread, SIGUSR1);
	}
	pthread_mutex_unlock(&fs->waiters_lock);
	return w != NULL;
}

#define PT_INTERRUPT_TRIES 200

void pt_interrupt(void *opaque, uint64_t unique)
{
	struct passthrough *fs = pt_from(opaque);
	int i;

	/* A signal that lands between the waiter's last check and its entry
	 * into fcntl()/flock() is lost; signal again until it has left (it
	 * leaves within microseconds once inside the call). */
	for (i = 0; i < PT_INTERRUPT_TRIES && waiter_signal(fs, unique); i++)
		usleep(1000);
}

static int do_flock(int fd, uint32_t type, bool sleep)
{
	int op;

	switch (type) {
	case F_RDLCK:
		op = LOCK_SH;
		break;
	case F_WRLCK:
		op = LOCK_EX;
		break;
	case F_UNLCK:
		op = LOCK_UN;
		break;
	default:
		return -EINVAL;
	}
	return flock(fd, op | (sleep ? 0 : LOCK_NB)) < 0 ? -errno : 0;
}

static int do_posix_lock(int fd, const struct fuse_file_lock *lock, bool sleep)
{
	struct flock fl;
	int ret = lock_to_flock(lock, &fl);

	if (ret < 0)
		return ret;
	return fcntl(fd, sleep ? F_OFD_SETLKW : F_OFD_SETLK, &fl) < 0 ? -errno : 0;
}

int pt_setlk(void *opaque, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh, uint64_t owner,
	     const struct fuse_file_lock *lock, bool sleep, bool is_flock)
{
	struct passthrough *fs = pt_from(opaque);
	struct pt_handle *handle;
	struct lock_waiter w;
	int ret;

	if (is_flock ? !fs->cfg.flock : !fs->cfg.posix_lock)
		return -ENOSYS;
	handle = handle_table_get(&fs->handles, fh, HANDLE_FILE);
	if (!handle)
		return -EBADF;
	/* an unlock never blocks: no need to be interruptible */
	sleep = sleep && lock->type != F_UNLCK;
	if (sleep)
		waiter_add(fs, &w, ctx->unique);
	if (sleep && waiter_interrupted(fs, &w))
		ret = -EINTR;
	else if (is_flock)
		ret = do_flock(handle->fd, lock->type, sleep);
	else
		ret = do_posix_lock(handle->fd, lock, sleep);
	/* a lock granted despite INTERRUPT is simply reported: the request
	 * completed, and undoing it could drop a lock held before */
	if (sleep)
		waiter_remove(fs, &w);
	if (ret == -EWOULDBLOCK)
		ret = -EAGAIN;
	handle_table_put(&fs->handles, handle);
	return ret;
}
