/* vfs_migrate.c: live migration with the client as the vhost-user
 * frontend, as QEMU drives it (docs/migration.md): dirty logging over the
 * client's guest memory, stopping the rings, saving the backend's device
 * state through a pipe, and loading it into another backend that then
 * carries the same FUSE session on (no new INIT, same node ids and fhs). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vfs_internal.h"

#define VU_F_LOG_ALL 26
#define LOG_PAGE 4096u
/* More than any state we make (the daemon's own limit is 256 MiB). */
#define STATE_MAX (512u << 20)

struct vfs_log {
	int fd;
	uint8_t *bits;
	uint64_t size;
};

static struct vfs_log client_log[1];	/* one client logs at a time (tests) */
static struct vfs_client *log_owner;

int vfs_client_log_start(struct vfs_client *c)
{
	uint64_t end = 0;
	unsigned i;
	int err;

	if (log_owner)
		return -EBUSY;
	for (i = 0; i < c->mem.nr; i++)
		if (c->mem.r[i].gpa + c->mem.r[i].size > end)
			end = c->mem.r[i].gpa + c->mem.r[i].size;
	client_log->size = (end / LOG_PAGE + 7) / 8;
	client_log->fd = memfd_create("vfs-dirty-log", MFD_CLOEXEC);
	if (client_log->fd < 0)
		return -errno;
	if (ftruncate(client_log->fd, (off_t)client_log->size) < 0) {
		err = -errno;
		close(client_log->fd);
		return err;
	}
	client_log->bits = mmap(NULL, client_log->size, PROT_READ | PROT_WRITE, MAP_SHARED,
				client_log->fd, 0);
	if (client_log->bits == MAP_FAILED) {
		err = -errno;
		close(client_log->fd);
		return err;
	}
	/* QEMU's order: the log, then LOG_ALL, then each ring's log flag. */
	err = vu_set_log_base(&c->fe, client_log->fd, client_log->size);
	if (!err)
		err = vu_set_features(&c->fe, c->fe.features | (1ull << VU_F_LOG_ALL));
	for (i = 0; !err && i < c->nqueues; i++)
		c->queues[i].log = true;
	log_owner = c;
	return err;
}

size_t vfs_client_log_count(struct vfs_client *c, bool clear)
{
	size_t n = 0;

	if (log_owner != c)
		return 0;
	for (uint64_t i = 0; i < client_log->size; i++) {
		uint8_t b = clear ? __atomic_exchange_n(&client_log->bits[i], 0, __ATOMIC_RELAXED) :
				    __atomic_load_n(&client_log->bits[i], __ATOMIC_RELAXED);

		n += (size_t)__builtin_popcount(b);
	}
	return n;
}

bool vfs_client_log_test(struct vfs_client *c, const void *p)
{
	uint64_t gpa = mem_gpa(&c->mem, p), page = gpa / LOG_PAGE;

	if (log_owner != c || !gpa || page / 8 >= client_log->size)
		return false;
	return client_log->bits[page / 8] & (1u << (page % 8));
}

void *vfs_client_used_ring(struct vfs_client *c, unsigned q)
{
	if (q >= c->nqueues)
		return NULL;
	return c->queues[q].packed ? (void *)c->queues[q].pdesc : (void *)c->queues[q].used;
}

int vfs_client_log_stop(struct vfs_client *c)
{
	int err;

	if (log_owner != c)
		return -EINVAL;
	err = vu_set_features(&c->fe, c->fe.features);
	munmap(client_log->bits, client_log->size);
	close(client_log->fd);
	log_owner = NULL;
	for (unsigned i = 0; i < c->nqueues; i++)
		c->queues[i].log = false;
	return err;
}

int vfs_client_suspend(struct vfs_client *c)
{
	int err = 0;

	if (c->pending)
		return -EBUSY;
	for (unsigned i = 0; i < c->nqueues && !err; i++) {
		err = vu_stop_queue(&c->fe, i, &c->queues[i].base);
		c->queues[i].has_base = !err;
	}
	return err;
}

int vfs_client_resume(struct vfs_client *c)
{
	int err = 0;

	for (unsigned i = 0; i < c->nqueues && !err; i++)
		err = vu_start_queue(&c->fe, &c->queues[i]);
	return err;
}

int vfs_client_save_state(struct vfs_client *c, void **data, size_t *len)
{
	size_t cap = 1 << 16, got = 0;
	uint8_t *buf, *nb;
	int p[2], err, check;

	*data = NULL;
	*len = 0;
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	err = vu_device_state_fd(&c->fe, true, p[1]);
	close(p[1]);
	if (err) {
		close(p[0]);
		return err;
	}
	buf = malloc(cap);
	while (buf) {
		ssize_t n;

		if (got == cap) {
			if (cap >= STATE_MAX) {
				err = -E2BIG;
				break;
			}
			nb = realloc(buf, cap * 2);
			if (!nb) {
				err = -ENOMEM;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		n = read(p[0], buf + got, cap - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n < 0)
				err = -errno;
			break;
		}
		got += (size_t)n;
	}
	close(p[0]);
	if (!buf)
		err = -ENOMEM;
	/* The backend's verdict, whatever we saw of the stream. */
	check = vu_check_device_state(&c->fe);
	if (!err)
		err = check;
	if (err) {
		free(buf);
		return err;
	}
	*data = buf;
	*len = got;
	return 0;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int vfs_client_load_state(struct vu_frontend *fe, const void *data, size_t len)
{
	int p[2], err, check;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	err = vu_device_state_fd(fe, false, p[0]);
	close(p[0]);
	if (err) {
		close(p[1]);
		return err;
	}
	/* The backend reads on its own thread; EPIPE if it gave up early. */
	err = write_all(p[1], data, len);
	close(p[1]);
	check = vu_check_device_state(fe);
	return check ? check : err;
}

int vfs_client_migrate(struct vfs_client *c, const char *socket_path, const void *data,
		       size_t len)
{
	struct vu_frontend fe = { .sock = -1, .backend_sock = -1 };
	uint64_t want = c->fe.features;
	int err;

	for (unsigned i = 0; i < c->nqueues; i++)
		if (!c->queues[i].has_base)
			return -EINVAL;	/* not suspended */
	err = vu_connect(&fe, socket_path, c->opts.verbose, c->opts.timeout_ms);
	if (!err)
		err = vu_negotiate(&fe, want, !c->opts.no_mem_slots, c->nqueues);
	if (!err && fe.features != c->fe.features)
		err = -ENOTSUP;	/* the destination offers less */
	if (!err)
		err = vfs_client_load_state(&fe, data, len);
	if (err) {
		/* The source keeps the guest: resume there. */
		vu_disconnect(&fe);
		return err;
	}
	/* Switch over: the source goes, the destination gets memory and rings. */
	vu_disconnect(&c->fe);
	c->fe = fe;
	for (unsigned i = 0; i < c->nqueues; i++)
		c->queues[i].log = false;
	if (log_owner == c) {
		munmap(client_log->bits, client_log->size);
		close(client_log->fd);
		log_owner = NULL;
	}
	err = vu_set_mem(&c->fe, &c->mem);
	if (!err)
		err = vfs_client_resume(c);
	return err;
}
