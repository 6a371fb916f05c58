/* vfs_driver.c: the virtio-fs driver core. Builds FUSE requests in guest
 * memory the way Linux's fs/fuse/virtio_fs.c does (device-readable in
 * header and one descriptor per argument, then device-writable out
 * header and one per reply argument; bulk data cut at page boundaries),
 * submits them on the rings and reaps completions by polling the call
 * eventfds. Also the client's open/close and the raw/async interface. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>
#include <linux/virtio_config.h>

#include "vfs_internal.h"

#define VFS_PAGE 4096u
#define VFS_MAX_PARTS 12
#define VFS_IO_CAP (1u << 20)

struct vfs_part {
	const void *src;        /* device-readable: bytes to copy in */
	size_t len;
	bool paged;
	bool write;             /* device-writable */
	size_t off;             /* offset in the request's guest buffer */
};

struct vfs_req {
	struct vfs_req *next, *prev;    /* c->reqs */
	struct vfs_req *done_next;      /* c->done_* */
	unsigned queue;
	uint8_t *gbuf;
	size_t glen;
	size_t reply_off;               /* first device-writable byte */
	size_t reply_cap;
	uint32_t used_len;
	bool done;
	bool async;
	bool detached;                  /* nobody waits: free on completion */
	void *cookie;
};

static void req_link(struct vfs_client *c, struct vfs_req *r)
{
	r->next = c->reqs;
	r->prev = NULL;
	if (c->reqs)
		c->reqs->prev = r;
	c->reqs = r;
}

static void req_free(struct vfs_client *c, struct vfs_req *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else
		c->reqs = r->next;
	if (r->next)
		r->next->prev = r->prev;
	mem_free(&c->mem, r->gbuf, r->glen);
	free(r);
}

static size_t align_up(size_t v, size_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* Lay the parts out in one guest buffer: small ones 8-byte aligned, bulk
 * data page aligned so that its descriptors are whole pages. */
static size_t parts_layout(struct vfs_part *p, unsigned n)
{
	size_t off = 0;
	unsigned i;

	for (i = 0; i < n; i++) {
		off = align_up(off, p[i].paged ? VFS_PAGE : 8);
		p[i].off = off;
		off += p[i].len;
	}
	return off;
}

static unsigned parts_segs(const struct vfs_part *p, unsigned n,
			   uint8_t *base, struct vfs_seg *segs, unsigned max)
{
	unsigned i, k = 0;

	for (i = 0; i < n; i++) {
		size_t done = 0;

		/* Empty arguments get no descriptor, as with Linux's sg lists. */
		while (done < p[i].len) {
			size_t chunk = p[i].len - done;

			if (p[i].paged && chunk > VFS_PAGE)
				chunk = VFS_PAGE;
			if (k == max)
				return 0;
			segs[k].hva = base + p[i].off + done;
			segs[k].len = (uint32_t)chunk;
			segs[k].write = p[i].write;
			k++;
			done += chunk;
		}
	}
	return k;
}

static unsigned queue_pick(struct vfs_client *c)
{
	if (c->fixed_queue)
		return c->fixed_queue;
	c->rr = c->rr % (c->nqueues - 1) + 1;
	return c->rr;
}

/* Reap every used buffer of one queue. */
static int queue_reap(struct vfs_client *c, struct vring_queue *q)
{
	uint32_t len;
	void *t;

	if (!q->slots)
		return 0;
	while ((t = vq_get_used(q, &len))) {
		struct vfs_req *r = t;

		if (t == (void *)-1) {
			if (getenv("VFS_DEBUG"))
				fprintf(stderr, "queue %u: bad used id\n", q->index);
			return -EIO;
		}
		r->used_len = len;
		r->done = true;
		if (r->detached) {
			req_free(c, r);
			continue;
		}
		if (r->async) {
			c->pending--;
			r->done_next = NULL;
			if (c->done_tail)
				c->done_tail->done_next = r;
			else
				c->done_head = r;
			c->done_tail = r;
		}
	}
	return 0;
}

static long ms_left(const struct timespec *deadline)
{
	struct timespec now;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (deadline->tv_sec - now.tv_sec) * 1000 +
	     (deadline->tv_nsec - now.tv_nsec) / 1000000;
	return ms < 0 ? 0 : ms;
}

static void deadline_set(struct timespec *d, int timeout_ms)
{
	clock_gettime(CLOCK_MONOTONIC, d);
	d->tv_sec += timeout_ms / 1000;
	d->tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (d->tv_nsec >= 1000000000) {
		d->tv_sec++;
		d->tv_nsec -= 1000000000;
	}
}

/* Sleep on the call eventfds of the given queues (all when q < 0), and
 * on the vhost-user socket so that a daemon that dies is noticed at once
 * instead of after the timeout. */
static int calls_poll(struct vfs_client *c, int q, int timeout_ms)
{
	struct pollfd pfd[65];
	unsigned i, n = 1;
	int ret;

	pfd[0].fd = c->fe.sock;
	pfd[0].events = POLLRDHUP;
	for (i = 0; i < c->nqueues && n < sizeof(pfd) / sizeof(pfd[0]); i++) {
		if (q >= 0 && (unsigned)q != i)
			continue;
		pfd[n].fd = c->queues[i].call_fd;
		pfd[n].events = POLLIN;
		n++;
	}
	ret = poll(pfd, n, timeout_ms);
	if (ret < 0)
		return errno == EINTR ? 0 : -errno;
	if (ret == 0)
		return -ETIMEDOUT;
	if (pfd[0].revents & (POLLRDHUP | POLLHUP | POLLERR))
		return -ENOTCONN;
	for (i = 1; i < n; i++) {
		uint64_t v;

		if (pfd[i].revents & POLLIN)
			(void)!read(pfd[i].fd, &v, sizeof(v));
	}
	return 0;
}

/* Make room on a full ring by reaping what the device finished. */
static int queue_add(struct vfs_client *c, struct vfs_req *r,
		     const struct vfs_seg *segs, unsigned nseg)
{
	struct vring_queue *q = &c->queues[r->queue];
	int ret;

	for (;;) {
		ret = vq_add(q, segs, nseg, r);
		if (ret != -ENOSPC)
			break;
		ret = vq_kick(q);
		if (ret)
			return ret;
		ret = queue_reap(c, q);
		if (ret)
			return ret;
		if (q->num_free)
			continue;
		if (!vq_enable_cb(q)) {
			ret = calls_poll(c, (int)r->queue, c->opts.timeout_ms);
			if (ret)
				return ret;
		}
	}
	return ret < 0 ? ret : 0;
}

static struct vfs_req *req_build(struct vfs_client *c, unsigned queue,
				 struct vfs_part *p, unsigned n, int *err)
{
	struct vfs_seg segs[VFS_IO_CAP / VFS_PAGE + VFS_MAX_PARTS];
	struct vfs_req *r;
	unsigned i, nseg;

	r = calloc(1, sizeof(*r));
	if (!r) {
		*err = -ENOMEM;
		return NULL;
	}
	r->queue = queue;
	r->glen = parts_layout(p, n);
	r->gbuf = mem_alloc(&c->mem, r->glen);
	if (!r->gbuf) {
		free(r);
		*err = -ENOMEM;
		return NULL;
	}
	req_link(c, r);
	r->reply_off = r->glen;
	for (i = 0; i < n; i++) {
		if (!p[i].write) {
			memcpy(r->gbuf + p[i].off, p[i].src, p[i].len);
			continue;
		}
		if (r->reply_off == r->glen)
			r->reply_off = p[i].off;
		r->reply_cap = p[i].off + p[i].len - r->reply_off;
	}
	nseg = parts_segs(p, n, r->gbuf, segs, sizeof(segs) / sizeof(segs[0]));
	*err = nseg ? queue_add(c, r, segs, nseg) : -E2BIG;
	if (*err) {
		req_free(c, r);
		return NULL;
	}
	*err = vq_kick(&c->queues[queue]);
	return r;
}

static int req_wait(struct vfs_client *c, struct vfs_req *r)
{
	struct vring_queue *q = &c->queues[r->queue];
	struct timespec deadline;
	int err;

	deadline_set(&deadline, c->opts.timeout_ms < 0 ? 0 : c->opts.timeout_ms);
	while (!r->done) {
		err = queue_reap(c, q);
		if (err)
			return err;
		if (r->done || vq_enable_cb(q))
			continue;
		err = calls_poll(c, (int)r->queue, c->opts.timeout_ms < 0 ? -1 :
				 (int)ms_left(&deadline));
		if (err == -ETIMEDOUT) {
			/* Still the device's: free it if it ever comes back. */
			r->detached = true;
			return err;
		}
		if (err)
			return err;
	}
	return 0;
}

static unsigned call_parts(struct vfs_call *call, struct fuse_in_header *ih,
			   struct vfs_part *p)
{
	unsigned i, n = 0;

	p[n++] = (struct vfs_part){ .src = ih, .len = sizeof(*ih) };
	for (i = 0; i < call->nin; i++)
		p[n++] = (struct vfs_part){ .src = call->in[i].ptr,
					    .len = call->in[i].len,
					    .paged = call->in[i].paged };
	ih->len = 0;
	for (i = 0; i < n; i++)
		ih->len += (uint32_t)p[i].len;
	if (call->no_reply)
		return n;
	p[n++] = (struct vfs_part){ .len = sizeof(struct fuse_out_header),
				    .write = true };
	for (i = 0; i < call->nout; i++)
		p[n++] = (struct vfs_part){ .len = call->out[i].len,
					    .paged = call->out[i].paged,
					    .write = true };
	return n;
}

/* Hand the reply's payload to the out arguments in order, as Linux's
 * copy_args_from_argbuf does, trusting the out header's length only as
 * far as the device says it wrote. */
static int reply_copy(struct vfs_req *r, struct vfs_call *call,
		      uint64_t unique, const struct vfs_part *p)
{
	struct fuse_out_header oh;
	size_t left, i, k = call->nin + 2;

	if (r->used_len < sizeof(oh))
		return -EIO;
	memcpy(&oh, r->gbuf + r->reply_off, sizeof(oh));
	if (oh.unique != unique || oh.len < sizeof(oh) || oh.len > r->used_len) {
		if (getenv("VFS_DEBUG"))
			fprintf(stderr, "bad reply: unique %llu/%llu len %u used %u err %d\n",
				(unsigned long long)oh.unique,
				(unsigned long long)unique, oh.len, r->used_len,
				oh.error);
		return -EIO;
	}
	if (oh.error) {
		if (oh.error > 0 || oh.error < -4095)
			return -EIO;
		return oh.error;
	}
	left = oh.len - sizeof(oh);
	call->out_len = left;
	for (i = 0; i < call->nout; i++, k++) {
		size_t n = call->out[i].len < left ? call->out[i].len : left;

		memcpy(call->out[i].ptr, r->gbuf + p[k].off, n);
		memset((uint8_t *)call->out[i].ptr + n, 0, call->out[i].len - n);
		left -= n;
	}
	return 0;
}

int vfs_call(struct vfs_client *c, struct vfs_call *call)
{
	struct fuse_in_header ih = {
		.opcode = call->opcode,
		.unique = vfs_next_unique(c),
		.nodeid = call->nodeid,
		.uid = c->uid,
		.gid = c->gid,
		.pid = c->pid,
	};
	struct vfs_part p[VFS_MAX_PARTS];
	unsigned n, queue = call->queue;
	struct vfs_req *r;
	int err;

	if (call->nin + call->nout + 2 > VFS_MAX_PARTS)
		return -E2BIG;
	if (queue == VFS_Q_AUTO)
		queue = queue_pick(c);
	if (queue >= c->nqueues)
		return -EINVAL;
	call->out_len = 0;
	n = call_parts(call, &ih, p);
	r = req_build(c, queue, p, n, &err);
	if (!r)
		return err;
	if (!err)
		err = req_wait(c, r);
	if (err) {
		if (!r->done)
			r->detached = true;
		else
			req_free(c, r);
		return err;
	}
	if (!call->no_reply)
		err = reply_copy(r, call, ih.unique, p);
	req_free(c, r);
	return err;
}

uint64_t vfs_next_unique(struct vfs_client *c)
{
	c->unique += 2;
	return c->unique;
}

size_t vfs_msg_init(struct vfs_client *c, void *buf, uint32_t opcode,
		    uint64_t nodeid, size_t arglen)
{
	struct fuse_in_header ih = {
		.len = (uint32_t)(sizeof(ih) + arglen), .opcode = opcode,
		.unique = vfs_next_unique(c), .nodeid = nodeid,
		.uid = c->uid, .gid = c->gid, .pid = c->pid,
	};

	memcpy(buf, &ih, sizeof(ih));
	return ih.len;
}

/* ---- raw and async ---- */

static struct vfs_req *raw_submit(struct vfs_client *c, unsigned q,
				  const void *req, size_t len,
				  size_t reply_cap, int *err)
{
	struct vfs_part p[2] = {
		{ .src = req, .len = len },
		{ .len = reply_cap, .write = true },
	};

	if (q >= c->nqueues || (len == 0 && reply_cap == 0)) {
		*err = -EINVAL;
		return NULL;
	}
	if (len == 0) {
		p[0] = p[1];
		return req_build(c, q, p, 1, err);
	}
	return req_build(c, q, p, reply_cap ? 2 : 1, err);
}

ssize_t vfs_raw(struct vfs_client *c, unsigned q, const void *req, size_t len,
		void *reply, size_t reply_cap)
{
	struct vfs_req *r;
	int err;

	r = raw_submit(c, q, req, len, reply_cap, &err);
	if (!r)
		return err;
	if (!err)
		err = req_wait(c, r);
	if (err) {
		if (!r->done)
			r->detached = true;
		else
			req_free(c, r);
		return err;
	}
	if (reply_cap)
		memcpy(reply, r->gbuf + r->reply_off,
		       r->used_len < reply_cap ? r->used_len : reply_cap);
	err = (int)r->used_len;
	req_free(c, r);
	return err;
}

struct vfs_async *vfs_async_submit(struct vfs_client *c, unsigned q,
				   const void *req, size_t len,
				   size_t reply_cap, void *cookie, int *err)
{
	struct vfs_req *r;
	int e;

	r = raw_submit(c, q, req, len, reply_cap, &e);
	if (err)
		*err = e;
	if (!r)
		return NULL;
	if (e) {
		r->detached = true;
		return NULL;
	}
	r->async = true;
	r->cookie = cookie;
	if (!r->done)
		c->pending++;
	return (struct vfs_async *)r;
}

static struct vfs_req *done_pop(struct vfs_client *c)
{
	struct vfs_req *r = c->done_head;

	if (r) {
		c->done_head = r->done_next;
		if (!c->done_head)
			c->done_tail = NULL;
	}
	return r;
}

static int reap_all(struct vfs_client *c)
{
	unsigned i;
	int err;

	for (i = 0; i < c->nqueues; i++) {
		err = queue_reap(c, &c->queues[i]);
		if (err)
			return err;
	}
	return 0;
}

static bool cb_enable_all(struct vfs_client *c)
{
	bool ready = false;
	unsigned i;

	for (i = 0; i < c->nqueues; i++)
		ready |= vq_enable_cb(&c->queues[i]);
	return ready;
}

int vfs_async_reap(struct vfs_client *c, struct vfs_async **done,
		   unsigned max, int timeout_ms)
{
	struct timespec deadline;
	unsigned n = 0;
	int err;

	deadline_set(&deadline, timeout_ms < 0 ? 0 : timeout_ms);
	for (;;) {
		err = reap_all(c);
		if (err)
			return err;
		if (c->done_head || max == 0)
			break;
		if (c->pending == 0)
			return 0;
		if (cb_enable_all(c))
			continue;
		err = calls_poll(c, -1, timeout_ms < 0 ? -1 : (int)ms_left(&deadline));
		if (err == -ETIMEDOUT)
			return 0;
		if (err)
			return err;
	}
	while (n < max && c->done_head)
		done[n++] = (struct vfs_async *)done_pop(c);
	return (int)n;
}

const void *vfs_async_reply(const struct vfs_async *a, size_t *used_len)
{
	const struct vfs_req *r = (const struct vfs_req *)a;

	if (used_len)
		*used_len = r->used_len < r->reply_cap ? r->used_len : r->reply_cap;
	return r->gbuf + r->reply_off;
}

void *vfs_async_cookie(const struct vfs_async *a)
{
	return ((const struct vfs_req *)a)->cookie;
}

void vfs_async_free(struct vfs_client *c, struct vfs_async *a)
{
	struct vfs_req *r = (struct vfs_req *)a;

	if (!r->done) {
		r->detached = true;     /* the device still owns it */
		c->pending--;
		return;
	}
	req_free(c, r);
}

unsigned vfs_async_pending(const struct vfs_client *c)
{
	return c->pending;
}

static void raw_set_unique(struct vfs_client *c, uint8_t *buf, size_t len)
{
	uint64_t u = vfs_next_unique(c);

	if (len >= offsetof(struct fuse_in_header, unique) + sizeof(u))
		memcpy(buf + offsetof(struct fuse_in_header, unique), &u, sizeof(u));
}

static long inflight_reap(struct vfs_client *c, unsigned *inflight)
{
	struct vfs_async *done[64];
	long ok = 0;
	int i, n;

	n = vfs_async_reap(c, done, 64, c->opts.timeout_ms);
	if (n < 0)
		return n;
	if (n == 0)
		return -ETIMEDOUT;
	for (i = 0; i < n; i++) {
		size_t used;
		const struct fuse_out_header *oh = vfs_async_reply(done[i], &used);

		if (used >= sizeof(*oh) && oh->error == 0)
			ok++;
		vfs_async_free(c, done[i]);
	}
	*inflight -= (unsigned)n;
	return ok;
}

long vfs_run_inflight(struct vfs_client *c, unsigned q, const void *req,
		      size_t len, size_t reply_cap, unsigned long total,
		      unsigned depth)
{
	unsigned long sent = 0;
	unsigned inflight = 0;
	uint8_t *copy;
	long ok = 0, ret;
	int err;

	copy = malloc(len ? len : 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, req, len);
	while (sent < total || inflight) {
		while (sent < total && inflight < depth) {
			raw_set_unique(c, copy, len);
			if (!vfs_async_submit(c, q, copy, len, reply_cap, NULL, &err)) {
				free(copy);
				return err;
			}
			sent++;
			inflight++;
		}
		ret = inflight_reap(c, &inflight);
		if (ret < 0) {
			free(copy);
			return ret;
		}
		ok += ret;
	}
	free(copy);
	return ok;
}

/* ---- open / close ---- */

static const struct vfs_client_options default_opts = {
	.request_queues = 1,
	.queue_size = 128,
	.mem_size = 64u << 20,
	.mem_regions = 3,
	.timeout_ms = 30000,
};

static void opts_fill(struct vfs_client_options *o,
		      const struct vfs_client_options *in)
{
	*o = in ? *in : default_opts;
	if (!o->request_queues)
		o->request_queues = default_opts.request_queues;
	if (!o->queue_size)
		o->queue_size = default_opts.queue_size;
	if (!o->mem_size)
		o->mem_size = default_opts.mem_size;
	if (!o->mem_regions)
		o->mem_regions = default_opts.mem_regions;
	if (!o->timeout_ms)
		o->timeout_ms = default_opts.timeout_ms;
}

static int queues_setup(struct vfs_client *c)
{
	uint64_t f = c->fe.features;
	unsigned i;
	int err;

	c->queues = calloc(c->nqueues, sizeof(*c->queues));
	if (!c->queues)
		return -ENOMEM;
	for (i = 0; i < c->nqueues; i++) {
		struct vring_queue *q = &c->queues[i];

		err = vq_init(q, &c->mem, i, c->opts.queue_size,
				 f & (1ull << VIRTIO_RING_F_EVENT_IDX),
				 f & (1ull << VIRTIO_RING_F_INDIRECT_DESC),
				 f & (1ull << VIRTIO_F_RING_PACKED));
		if (err)
			return err;
		q->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		q->call_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (q->kick_fd < 0 || q->call_fd < 0)
			return -errno;
	}
	err = vu_set_mem(&c->fe, &c->mem);
	for (i = 0; !err && i < c->nqueues; i++)
		err = vu_start_queue(&c->fe, &c->queues[i]);
	return err;
}

static void max_io_compute(struct vfs_client *c)
{
	uint64_t flags = c->init.flags | ((uint64_t)c->init.flags2 << 32);
	size_t io = 32 * VFS_PAGE;      /* FUSE_DEFAULT_MAX_PAGES_PER_REQ */

	if (flags & FUSE_MAX_PAGES && c->init.max_pages)
		io = (size_t)c->init.max_pages * VFS_PAGE;
	if (c->init.max_write && c->init.max_write < io)
		io = c->init.max_write;
	if (io > VFS_IO_CAP)
		io = VFS_IO_CAP;
	/* Without indirect tables every page is a ring descriptor. */
	if (!c->queues[1].indirect && io > (c->opts.queue_size - 4) * VFS_PAGE)
		io = (c->opts.queue_size - 4) * VFS_PAGE;
	c->max_io = io;
}

struct vfs_client *vfs_client_open(const char *socket_path,
				   const struct vfs_client_options *opts,
				   int *errp)
{
	uint64_t want = (1ull << 32);  /* VIRTIO_F_VERSION_1 */
	struct vfs_client *c;
	int err;

	c = calloc(1, sizeof(*c));
	if (!c) {
		err = -ENOMEM;
		goto out;
	}
	c->fe.sock = c->fe.backend_sock = -1;
	opts_fill(&c->opts, opts);
	c->nqueues = 1 + c->opts.request_queues;
	c->uid = getuid();
	c->gid = getgid();
	c->pid = (uint32_t)getpid();
	if (!c->opts.no_indirect)
		want |= 1ull << VIRTIO_RING_F_INDIRECT_DESC;
	if (!c->opts.no_event_idx)
		want |= 1ull << VIRTIO_RING_F_EVENT_IDX;
	if (c->opts.packed)
		want |= 1ull << VIRTIO_F_RING_PACKED;
	err = mem_init(&c->mem, c->opts.mem_size, c->opts.mem_regions);
	if (err) {
		free(c);
		c = NULL;
		goto out;
	}
	err = c->opts.dax_window ? vfs_dax_open(c) : 0;
	if (!err)
		err = vu_connect(&c->fe, socket_path, c->opts.verbose,
				 c->opts.timeout_ms);
	if (!err)
		err = vu_negotiate(&c->fe, want, !c->opts.no_mem_slots, c->nqueues);
	if (!err && c->dax)
		err = vfs_dax_negotiated(c);
	if (!err && c->opts.packed && !(c->fe.features & (1ull << VIRTIO_F_RING_PACKED)))
		err = -ENOTSUP;         /* asked for packed rings, not offered */
	if (!err)
		err = queues_setup(c);
	if (!err && !c->opts.no_init) {
		uint64_t flags = c->opts.init_flags ? c->opts.init_flags : VFS_DEFAULT_INIT_FLAGS;

		/* as Linux asks when its device has a window */
		if (c->dax)
			flags |= FUSE_MAP_ALIGNMENT;
		err = vfs_init(c, flags, &c->init);
	}
	if (err) {
		c->opts.no_destroy = true;
		vfs_client_close(c);
		c = NULL;
		goto out;
	}
	c->inited = !c->opts.no_init;
	max_io_compute(c);
out:
	if (errp)
		*errp = err;
	return c;
}

void vfs_client_close(struct vfs_client *c)
{
	unsigned i;

	if (!c)
		return;
	if (c->inited && !c->opts.no_destroy)
		(void)vfs_destroy(c);
	if (c->queues && c->fe.sock >= 0)
		(void)reap_all(c);
	/* GET_VRING_BASE stops each ring; after that nothing touches memory. */
	for (i = 0; c->queues && c->fe.sock >= 0 && i < c->nqueues; i++)
		if (c->queues[i].slots && vu_stop_queue(&c->fe, i, NULL))
			break;
	vu_disconnect(&c->fe);
	vfs_dax_close(c);
	while (c->reqs)
		req_free(c, c->reqs);
	for (i = 0; c->queues && i < c->nqueues; i++)
		vq_fini(&c->queues[i]);
	free(c->queues);
	mem_fini(&c->mem);
	free(c);
}

const struct fuse_init_out *vfs_client_init_out(const struct vfs_client *c)
{
	return &c->init;
}

size_t vfs_client_max_io(const struct vfs_client *c)
{
	return c->max_io;
}

unsigned vfs_client_request_queues(const struct vfs_client *c)
{
	return c->nqueues - 1;
}

uint64_t vfs_client_features(const struct vfs_client *c)
{
	return c->fe.features;
}

uint64_t vfs_client_protocol_features(const struct vfs_client *c)
{
	return c->fe.protocol;
}

int vfs_client_get_config(struct vfs_client *c, uint32_t offset, void *buf, uint32_t size)
{
	return vu_get_config(&c->fe, offset, buf, size);
}

void vfs_client_set_queue(struct vfs_client *c, unsigned q)
{
	c->fixed_queue = q < c->nqueues ? q : 0;
}
