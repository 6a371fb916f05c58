/* bench_engine.c: the FUSE engine of `virtiofs-client bench`: requests
 * laid out as Linux lays them out, round robin over the request queues,
 * completions reaped and handed to the workload. */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_engine.h"

bool time_up(struct fengine *e)
{
	return now_ns() >= e->deadline;
}

static unsigned next_queue(struct fengine *e)
{
	e->rr = e->rr % e->nq + 1;
	return e->rr;
}

static void add_seg(struct vfs_seg *sg, unsigned *n, void *p, size_t len,
		    bool write)
{
	sg[*n].hva = p;
	sg[*n].len = (uint32_t)len;
	sg[*n].write = write;
	(*n)++;
}

static void add_pages(struct vfs_seg *sg, unsigned *n, uint8_t *p,
		      size_t len, bool write)
{
	size_t off;

	for (off = 0; off < len; off += PAGE)
		add_seg(sg, n, p + off, len - off < PAGE ? len - off : PAGE, write);
}

static int slot_add(struct fengine *e, struct slot *s, unsigned q,
		    struct vfs_seg *sg, unsigned n, bool timed)
{
	int ret = vq_add(&e->c->queues[q], sg, n, s);

	if (ret < 0)
		return ret;
	e->kick[q] = true;
	s->timed = timed;
	s->t0 = timed ? now_ns() : 0;
	return 1;
}

int slot_send(struct fengine *e, struct slot *s, const struct rq *r)
{
	struct vfs_seg sg[MIB / PAGE + 8];
	size_t namelen = r->name ? strlen(r->name) + 1 : 0;
	unsigned n = 0;

	vfs_msg_init(e->c, s->g + O_IH, r->opcode, r->nodeid,
		     r->arglen + namelen + r->in_len);
	add_seg(sg, &n, s->g + O_IH, sizeof(struct fuse_in_header), false);
	if (r->arglen) {
		memcpy(s->g + O_ARG, r->arg, r->arglen);
		add_seg(sg, &n, s->g + O_ARG, r->arglen, false);
	}
	if (namelen) {
		memcpy(s->g + O_NAME, r->name, namelen);
		add_seg(sg, &n, s->g + O_NAME, namelen, false);
	}
	if (r->in_len)
		add_pages(sg, &n, (uint8_t *)r->in_data, r->in_len, false);
	add_seg(sg, &n, s->g + O_OH, sizeof(struct fuse_out_header), true);
	if (r->r1)
		add_seg(sg, &n, s->g + O_R1, r->r1, true);
	if (r->r2)
		add_seg(sg, &n, s->g + O_R2, r->r2, true);
	if (r->out_len)
		add_pages(sg, &n, r->out_data, r->out_len, true);
	return slot_add(e, s, next_queue(e), sg, n, r->timed);
}

/* One device-readable descriptor on hiprio. */
int slot_forget(struct fengine *e, struct slot *s, uint64_t nodeid,
		       const uint64_t *batch, size_t count)
{
	uint8_t *p = s->g + O_FORGET;
	struct vfs_seg sg;
	unsigned n = 0;
	size_t len, i;

	if (!batch) {
		struct fuse_forget_in in = { .nlookup = 1 };

		len = vfs_msg_init(e->c, p, FUSE_FORGET, nodeid, sizeof(in));
		memcpy(p + sizeof(struct fuse_in_header), &in, sizeof(in));
	} else {
		struct fuse_batch_forget_in in = { .count = (uint32_t)count };
		struct fuse_forget_one one = { .nlookup = 1 };
		uint8_t *q = p + sizeof(struct fuse_in_header) + sizeof(in);

		len = vfs_msg_init(e->c, p, FUSE_BATCH_FORGET, 0,
				   sizeof(in) + count * sizeof(one));
		memcpy(p + sizeof(struct fuse_in_header), &in, sizeof(in));
		for (i = 0; i < count; i++) {
			one.nodeid = batch[i];
			memcpy(q + i * sizeof(one), &one, sizeof(one));
		}
	}
	add_seg(&sg, &n, p, len, false);
	return slot_add(e, s, 0, &sg, n, false);
}

const struct fuse_out_header *slot_oh(const struct slot *s)
{
	return (const struct fuse_out_header *)(s->g + O_OH);
}

int slot_err(struct fengine *e, struct slot *s, uint32_t used)
{
	const struct fuse_out_header *oh = slot_oh(s);

	if (used < sizeof(*oh) || oh->error) {
		e->st.errors++;
		if (e->b->verbose)
			fprintf(stderr, PROG ": %s: error %d (used %u)\n",
				wl_names[e->wl], oh->error, used);
		return oh->error ? oh->error : -EIO;
	}
	return 0;
}

static int kick_all(struct fengine *e)
{
	unsigned q;
	int err;

	for (q = 0; q <= e->nq; q++) {
		if (!e->kick[q])
			continue;
		e->kick[q] = false;
		err = vq_kick(&e->c->queues[q]);
		if (err)
			return err;
	}
	return 0;
}

static int wait_calls(struct fengine *e)
{
	struct pollfd pfd[MAX_QUEUES + 2];
	unsigned q, n = 0;
	int ret;

	for (q = 0; q <= e->nq; q++) {
		if (vq_enable_cb(&e->c->queues[q]))
			return 0;
	}
	pfd[n].fd = e->c->fe.sock;
	pfd[n++].events = POLLRDHUP;
	for (q = 0; q <= e->nq; q++) {
		pfd[n].fd = e->c->queues[q].call_fd;
		pfd[n++].events = POLLIN;
	}
	ret = poll(pfd, n, 30000);
	if (ret < 0)
		return errno == EINTR ? 0 : -errno;
	if (ret == 0)
		return -ETIMEDOUT;
	if (pfd[0].revents & (POLLRDHUP | POLLHUP | POLLERR))
		return -ENOTCONN;
	for (q = 1; q < n; q++) {
		uint64_t v;

		if (pfd[q].revents & POLLIN)
			(void)!read(pfd[q].fd, &v, sizeof(v));
	}
	return 0;
}

int f_run(struct fengine *e, const struct fwl *w)
{
	unsigned i, busy = 0, q;
	uint64_t t0;
	double cpu0, cpu1;
	int ret;

	cpu0 = proc_cpu_us(e->b->pid);
	t0 = now_ns();
	e->deadline = t0 + (uint64_t)(e->b->secs * 1e9);
	for (i = 0; i < e->depth; i++) {
		ret = w->start(e, &e->slots[i]);
		if (ret < 0)
			return ret;
		busy += (unsigned)ret;
	}
	while (busy) {
		unsigned got = 0;

		ret = kick_all(e);
		if (ret)
			return ret;
		for (q = 0; q <= e->nq; q++) {
			struct vring_queue *vq = &e->c->queues[q];
			uint32_t used;
			void *t;

			while ((t = vq_get_used(vq, &used))) {
				struct slot *s = t;

				if (t == (void *)-1)
					return -EIO;
				got++;
				if (s->timed) {
					ret = lat_add(&e->st, now_ns() - s->t0);
					if (ret)
						return ret;
				}
				ret = w->step(e, s, used);
				if (ret == 0)
					ret = w->start(e, s);
				if (ret < 0)
					return ret;
				if (ret == 0)
					busy--;
			}
		}
		if (got || !busy)
			continue;
		ret = kick_all(e);
		if (ret)
			return ret;
		ret = wait_calls(e);
		if (ret)
			return ret;
	}
	e->st.secs = (double)(now_ns() - t0) / 1e9;
	cpu1 = proc_cpu_us(e->b->pid);
	e->st.cpu_us = cpu0 >= 0 && cpu1 >= 0 ? cpu1 - cpu0 : -1;
	return 0;
}

struct fengine *fengine_open(struct bench *b, size_t mem_size)
{
	struct vfs_client_options o = { 0 };
	struct fengine *e;
	struct vfs_client *c;
	int err = 0;

	o.request_queues = b->queues;
	o.packed = b->packed;
	o.mem_size = mem_size;
	o.verbose = false;
	c = vfs_client_open(b->socket, &o, &err);
	if (!c) {
		fprintf(stderr, PROG ": %s: %s\n", b->socket, strerror(-err));
		return NULL;
	}
	if (vfs_client_request_queues(c) != b->queues) {
		fprintf(stderr, PROG ": daemon gave %u request queues, not %u\n",
			vfs_client_request_queues(c), b->queues);
		vfs_client_close(c);
		return NULL;
	}
	if (b->pid > 0) {
		long w = worker_pid(b->pid);

		if (w != b->pid)
			fprintf(stderr, PROG ": measuring CPU of %ld, child of %ld\n",
				w, b->pid);
		b->pid = w;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		vfs_client_close(c);
		return NULL;
	}
	e->b = b;
	e->c = c;
	e->nq = b->queues;
	e->chunk = vfs_client_max_io(c) < MIB ? vfs_client_max_io(c) : MIB;
	if (b->max_io && b->max_io < e->chunk)
		e->chunk = b->max_io;
	{
		const struct fuse_init_out *io = vfs_client_init_out(c);

		fprintf(stderr, PROG ": %s: %s rings, FUSE %u.%u flags %#" PRIx64 " max_write %u "
			"max_pages %u: %zu KiB per READ/WRITE\n", b->label,
			b->packed ? "packed" : "split", io->major,
			io->minor, (uint64_t)io->flags | (uint64_t)io->flags2 << 32,
			io->max_write, io->max_pages, e->chunk / 1024);
	}
	return e;
}

void fengine_close(struct fengine *e)
{
	vfs_client_close(e->c);
	free(e);
}

int slots_alloc(struct fengine *e, size_t data_size)
{
	unsigned i;

	e->data_size = data_size;
	for (i = 0; i < e->depth; i++) {
		struct slot *s = &e->slots[i];

		memset(s, 0, sizeof(*s));
		s->idx = i;
		s->g = mem_alloc(&e->c->mem, CTRL_SIZE);
		s->data = mem_alloc(&e->c->mem, data_size);
		if (!s->g || !s->data)
			return -ENOMEM;
		memset(s->data, 0xa5, data_size);
	}
	return 0;
}

void slots_free(struct fengine *e)
{
	unsigned i;

	for (i = 0; i < e->depth; i++) {
		struct slot *s = &e->slots[i];

		if (s->g)
			mem_free(&e->c->mem, s->g, CTRL_SIZE);
		if (s->data)
			mem_free(&e->c->mem, s->data, e->data_size);
		free(s->nodes);
		memset(s, 0, sizeof(*s));
	}
}
