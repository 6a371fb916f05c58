/* passthrough_lock.c: GETLK, SETLK(W), FLUSH's lock release and INTERRUPT.
 * POSIX locks belong to a lock owner (a guest process's file table), not
 * to an open file: two processes sharing one open file after fork() must
 * conflict, and a close() of any fd of the file by the owner drops all
 * its locks on the file. So each (inode, lock_owner) gets an open file of
 * its own, reopened through /proc/self/fd, and the owner's locks are OFD
 * locks on it (as QEMU's virtiofsd does). FLUSH of that owner closes it.
 * GETLK reports the guest pid that the conflicting owner gave with its
 * SETLK, found through /proc/self/fdinfo of the owners' files.
 * BSD flock() belongs to the open file: it goes to the handle's fd.
 * A blocking wait is registered by request unique so INTERRUPT can
 * signal the thread (SIGUSR1 without SA_RESTART, installed by the daemon)
 * out of it. */
#include "passthrough/passthrough_internal.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#define PT_OFFSET_MAX INT64_MAX
/* Lock owners per inode: the owner list is searched linearly on every
 * lock request, so its length is capped; past it a new owner gets
 * ENOLCK (the lock table is full), as a host with a full lock table
 * would answer. Every owner's fd also counts against the handle limit. */
#define PT_PLOCK_OWNERS_MAX 4096

/* ---- lock owners ---- */

/* Each owner's file is an fd the guest makes us keep: it is charged to
 * the handle table's limit, so a guest using millions of lock owners gets
 * -EMFILE for the new ones instead of exhausting our fds. */
static void plock_free(struct passthrough *fs, struct pt_plock *p)
{
	close(p->fd);
	free(p);
	handle_table_uncharge(&fs->handles);
}

static void plock_put(struct passthrough *fs, struct pt_inode *inode, struct pt_plock *p)
{
	bool last;

	if (!p)
		return;
	pthread_mutex_lock(&inode->plock_mutex);
	last = --p->refcount == 0;
	pthread_mutex_unlock(&inode->plock_mutex);
	if (last)
		plock_free(fs, p);
}

static struct pt_plock *plock_find(struct pt_inode *inode, uint64_t owner)
{
	struct pt_plock *p;

	for (p = inode->plocks; p && p->owner != owner; p = p->next)
		;
	if (p)
		p->refcount++;
	return p;
}

/* The owner's open file of inode, referenced; NULL with *err = 0 when it
 * has none and create is false. */
static struct pt_plock *plock_get(struct passthrough *fs, struct pt_inode *inode,
				  uint64_t owner, bool create, int *err)
{
	struct pt_plock *p, *fresh;
	bool full;
	int fd;

	*err = 0;
	pthread_mutex_lock(&inode->plock_mutex);
	p = plock_find(inode, owner);
	full = inode->nplocks >= PT_PLOCK_OWNERS_MAX;
	pthread_mutex_unlock(&inode->plock_mutex);
	if (p || !create)
		return p;
	if (full) {
		*err = -ENOLCK;
		return NULL;
	}
	*err = handle_table_charge(&fs->handles);
	if (*err < 0)
		return NULL;
	/* read locks need a readable, write locks a writable file; the guest
	 * has checked its own fd's mode already */
	fd = pt_reopen(fs, inode, O_RDWR);
	if (fd == -EACCES || fd == -EROFS || fd == -ETXTBSY || fd == -EISDIR || fd == -EPERM)
		fd = pt_reopen(fs, inode, O_RDONLY);
	if (fd < 0) {
		handle_table_uncharge(&fs->handles);
		*err = fd;
		return NULL;
	}
	fresh = calloc(1, sizeof(*fresh));
	if (!fresh) {
		close(fd);
		handle_table_uncharge(&fs->handles);
		*err = -ENOMEM;
		return NULL;
	}
	*fresh = (struct pt_plock){ .owner = owner, .fd = fd, .refcount = 2 };
	pthread_mutex_lock(&inode->plock_mutex);
	p = plock_find(inode, owner);	/* another request of the owner won */
	if (!p && inode->nplocks < PT_PLOCK_OWNERS_MAX) {
		fresh->next = inode->plocks;
		inode->plocks = p = fresh;
		inode->nplocks++;
		fresh = NULL;
	}
	pthread_mutex_unlock(&inode->plock_mutex);
	if (fresh)
		plock_free(fs, fresh);
	if (!p)
		*err = -ENOLCK;
	return p;
}

/* Drops the owners of nodeid that match: by owner (by_fh false) or by
 * the handle of their last SETLK. */
static void plock_drop(struct passthrough *fs, uint64_t nodeid, bool by_fh, uint64_t key)
{
	struct pt_plock **pp, *p, *dropped = NULL;
	struct pt_inode *inode;

	if (pt_inode_get(fs, nodeid, &inode) < 0)
		return;
	pthread_mutex_lock(&inode->plock_mutex);
	for (pp = &inode->plocks; (p = *pp);) {
		if ((by_fh ? p->fh : p->owner) == key) {
			*pp = p->next;
			inode->nplocks--;
			p->next = dropped;
			dropped = p;
		} else {
			pp = &p->next;
		}
	}
	pthread_mutex_unlock(&inode->plock_mutex);
	/* closing an owner's file drops its locks (once no request uses it) */
	for (p = dropped; p; p = dropped) {
		dropped = p->next;
		plock_put(fs, inode, p);
	}
	pt_inode_put(fs, inode);
}

void pt_plock_release(struct passthrough *fs, uint64_t nodeid, uint64_t owner)
{
	plock_drop(fs, nodeid, false, owner);
}

/* RELEASE of a handle: an owner whose last lock went through it is either
 * a POSIX owner that has closed it (and was dropped by its FLUSH) or an
 * OFD lock's owner, the guest's open file itself, which is now gone: the
 * guest sends no FLUSH or unlock for that one. */
void pt_plock_release_fh(struct passthrough *fs, uint64_t nodeid, uint64_t fh)
{
	plock_drop(fs, nodeid, true, fh);
}

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

/* Whether open file fd holds an OFD lock of type on exactly [start, end]:
 * the kernel lists an open file's locks in its fdinfo. */
static bool fd_holds_lock(struct passthrough *fs, int fd, short type, uint64_t start,
			  uint64_t end)
{
	char name[PT_PROCNAME_MAX], line[256], kind[16], tname[16], ename[32];
	const char *want = type == F_WRLCK ? "WRITE" : "READ";
	bool found = false;
	long long lstart;
	FILE *fp;
	int ifd;

	if (fs->proc_self_fdinfo < 0)
		return false;
	pt_procname(fd, name);
	ifd = openat(fs->proc_self_fdinfo, name, O_RDONLY | O_CLOEXEC);
	if (ifd < 0)
		return false;
	fp = fdopen(ifd, "r");
	if (!fp) {
		close(ifd);
		return false;
	}
	/* lock:\t1: OFDLCK ADVISORY  WRITE -1 fe:00:1234 10 19 (or EOF) */
	while (!found && fgets(line, sizeof(line), fp)) {
		if (strncmp(line, "lock:", 5) != 0)
			continue;
		if (sscanf(line + 5, " %*d: %15s %*s %15s %*d %*s %lld %31s", kind, tname, &lstart,
			   ename) != 4)
			continue;
		if (strcmp(kind, "OFDLCK") != 0 || strcmp(tname, want) != 0 || lstart < 0 ||
		    (uint64_t)lstart != start)
			continue;
		if (!strcmp(ename, "EOF"))
			found = end >= PT_OFFSET_MAX;
		else
			found = strtoull(ename, NULL, 10) == end;
	}
	fclose(fp);
	return found;
}

/* The guest pid of the owner (other than self) holding the lock. */
static uint32_t conflict_pid(struct passthrough *fs, struct pt_inode *inode, uint64_t self,
			     const struct fuse_file_lock *conflict)
{
	struct pt_plock *p, *candidates[64];
	size_t n = 0, i;
	uint32_t pid = 0;

	/* fdinfo is read without the mutex: reference the owners first */
	pthread_mutex_lock(&inode->plock_mutex);
	for (p = inode->plocks; p && n < sizeof(candidates) / sizeof(candidates[0]); p = p->next) {
		if (p->owner == self)
			continue;
		p->refcount++;
		candidates[n++] = p;
	}
	pthread_mutex_unlock(&inode->plock_mutex);
	for (i = 0; i < n; i++) {
		if (!pid && fd_holds_lock(fs, candidates[i]->fd, (short)conflict->type,
					  conflict->start, conflict->end)) {
			pthread_mutex_lock(&inode->plock_mutex);
			pid = candidates[i]->pid;
			pthread_mutex_unlock(&inode->plock_mutex);
		}
		plock_put(fs, inode, candidates[i]);
	}
	return pid;
}

int pt_getlk(void *opaque, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh, uint64_t owner,
	     struct fuse_file_lock *lock)
{
	struct passthrough *fs = pt_from(opaque);
	struct pt_handle *handle;
	struct pt_inode *inode;
	struct pt_plock *own;
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
	ret = pt_inode_get(fs, nodeid, &inode);
	if (ret < 0)
		goto out_handle;
	/* the owner's own locks never conflict; an owner without any asks
	 * through the handle, which holds no POSIX locks */
	own = plock_get(fs, inode, owner, false, &ret);
	if (fcntl(own ? own->fd : handle->fd, F_OFD_GETLK, &fl) < 0) {
		ret = -errno;
		goto out;
	}
	lock->type = (uint32_t)fl.l_type;
	lock->pid = 0;	/* none known: a host process, or an owner gone */
	if (fl.l_type != F_UNLCK) {
		lock->start = (uint64_t)fl.l_start;
		lock->end = fl.l_len ? (uint64_t)(fl.l_start + fl.l_len - 1) : PT_OFFSET_MAX;
		lock->pid = conflict_pid(fs, inode, owner, lock);
	}
out:
	plock_put(fs, inode, own);
	pt_inode_put(fs, inode);
out_handle:
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

static int do_posix_lock(struct passthrough *fs, uint64_t nodeid, uint64_t fh, uint64_t owner,
			 const struct fuse_file_lock *lock, bool sleep)
{
	struct pt_inode *inode;
	struct pt_plock *p;
	struct flock fl;
	int ret = lock_to_flock(lock, &fl);

	if (ret < 0)
		return ret;
	ret = pt_inode_get(fs, nodeid, &inode);
	if (ret < 0)
		return ret;
	/* an owner without a file holds no locks: nothing to unlock */
	p = plock_get(fs, inode, owner, lock->type != F_UNLCK, &ret);
	if (p) {
		pthread_mutex_lock(&inode->plock_mutex);
		if (lock->type != F_UNLCK)
			p->pid = lock->pid;
		p->fh = fh;
		pthread_mutex_unlock(&inode->plock_mutex);
		ret = fcntl(p->fd, sleep ? F_OFD_SETLKW : F_OFD_SETLK, &fl) < 0 ? -errno : 0;
	}
	plock_put(fs, inode, p);
	pt_inode_put(fs, inode);
	return ret;
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
		ret = do_posix_lock(fs, nodeid, fh, owner, lock, sleep);
	/* a lock granted despite INTERRUPT is simply reported: the request
	 * completed, and undoing it could drop a lock held before */
	if (sleep)
		waiter_remove(fs, &w);
	if (ret == -EWOULDBLOCK)
		ret = -EAGAIN;
	handle_table_put(&fs->handles, handle);
	return ret;
}

/* ---- live migration ---- */

/* The OFD locks an owner's file holds, from its fdinfo:
 * "lock:\t1: OFDLCK ADVISORY  WRITE -1 fe:00:1234 10 19" (or EOF);
 * lines with "->" are waiters, not holders. */
static int fd_locks(struct passthrough *fs, int fd, struct mig_lock_range **out, uint32_t *n)
{
	char name[PT_PROCNAME_MAX], line[256], kind[16], tname[16], ename[32];
	struct mig_lock_range *v = NULL, *nv;
	uint32_t count = 0, cap = 0;
	long long lstart;
	FILE *fp;
	int ifd;

	*out = NULL;
	*n = 0;
	if (fs->proc_self_fdinfo < 0)
		return 0;
	pt_procname(fd, name);
	ifd = openat(fs->proc_self_fdinfo, name, O_RDONLY | O_CLOEXEC);
	if (ifd < 0)
		return 0;
	fp = fdopen(ifd, "r");
	if (!fp) {
		close(ifd);
		return 0;
	}
	while (fgets(line, sizeof(line), fp) && count < MIG_LOCK_RANGES_MAX) {
		if (strncmp(line, "lock:", 5) != 0 || strstr(line, "->"))
			continue;
		if (sscanf(line + 5, " %*d: %15s %*s %15s %*d %*s %lld %31s", kind, tname, &lstart,
			   ename) != 4 || strcmp(kind, "OFDLCK") != 0 || lstart < 0)
			continue;
		if (count == cap) {
			cap = cap ? cap * 2 : 4;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				free(v);
				fclose(fp);
				return -ENOMEM;
			}
			v = nv;
		}
		v[count].type = strcmp(tname, "WRITE") == 0 ? MIG_LOCK_WRITE : MIG_LOCK_READ;
		v[count].start = (uint64_t)lstart;
		v[count].end = strcmp(ename, "EOF") == 0 ? PT_OFFSET_MAX : strtoull(ename, NULL, 10);
		if (v[count].end < v[count].start || v[count].end > PT_OFFSET_MAX)
			continue;
		count++;
	}
	fclose(fp);
	*out = v;
	*n = count;
	return 0;
}

int pt_plock_collect(struct passthrough *fs, struct pt_inode *inode,
		     struct mig_lock_owner **owners, size_t *n, size_t *cap)
{
	struct pt_plock *p, *list[PT_PLOCK_OWNERS_MAX];
	size_t k = 0, i;
	int ret = 0;

	pthread_mutex_lock(&inode->plock_mutex);
	for (p = inode->plocks; p && k < PT_PLOCK_OWNERS_MAX; p = p->next) {
		p->refcount++;
		list[k++] = p;
	}
	pthread_mutex_unlock(&inode->plock_mutex);
	for (i = 0; i < k; i++) {
		struct mig_lock_owner *o;

		if (!ret && *n == *cap) {
			size_t c = *cap ? *cap * 2 : 16;
			struct mig_lock_owner *v = realloc(*owners, c * sizeof(*v));

			if (v) {
				*owners = v;
				*cap = c;
			} else {
				ret = -ENOMEM;
			}
		}
		if (!ret) {
			o = &(*owners)[*n];
			*o = (struct mig_lock_owner){ .nodeid = inode->nodeid, .owner = list[i]->owner };
			pthread_mutex_lock(&inode->plock_mutex);
			o->pid = list[i]->pid;
			o->fh = list[i]->fh;
			pthread_mutex_unlock(&inode->plock_mutex);
			ret = fd_locks(fs, list[i]->fd, &o->ranges, &o->nranges);
			if (!ret)
				(*n)++;
		}
		plock_put(fs, inode, list[i]);
	}
	return ret;
}

int pt_plock_restore(struct passthrough *fs, struct pt_inode *inode,
		     const struct mig_lock_owner *o, size_t *retaken, size_t *missed)
{
	struct pt_plock *p;
	int ret;

	p = plock_get(fs, inode, o->owner, true, &ret);
	if (!p)
		return ret;
	pthread_mutex_lock(&inode->plock_mutex);
	p->pid = o->pid;
	p->fh = o->fh;
	pthread_mutex_unlock(&inode->plock_mutex);
	for (uint32_t r = 0; r < o->nranges; r++) {
		const struct mig_lock_range *lr = &o->ranges[r];
		struct flock fl = {
			.l_type = lr->type == MIG_LOCK_WRITE ? F_WRLCK : F_RDLCK,
			.l_whence = SEEK_SET,
			.l_start = (off_t)lr->start,
			.l_len = lr->end >= PT_OFFSET_MAX ? 0 : (off_t)(lr->end - lr->start + 1),
		};

		/* Never wait: the source may still hold it (same host). */
		if (fcntl(p->fd, F_OFD_SETLK, &fl) == 0)
			(*retaken)++;
		else
			(*missed)++;
	}
	plock_put(fs, inode, p);
	return 0;
}
