/* vu_frontend.c: the vhost-user frontend, i.e. what QEMU 7.2 sends to a
 * vhost-user-fs backend (docs/interop/vhost-user.rst): the same messages
 * in the same order, with file descriptors passed by SCM_RIGHTS. */
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "vfs_internal.h"

enum {
	VU_GET_FEATURES = 1,
	VU_SET_FEATURES = 2,
	VU_SET_OWNER = 3,
	VU_SET_MEM_TABLE = 5,
	VU_SET_VRING_NUM = 8,
	VU_SET_VRING_ADDR = 9,
	VU_SET_VRING_BASE = 10,
	VU_GET_VRING_BASE = 11,
	VU_SET_VRING_KICK = 12,
	VU_SET_VRING_CALL = 13,
	VU_GET_PROTOCOL_FEATURES = 15,
	VU_SET_PROTOCOL_FEATURES = 16,
	VU_GET_QUEUE_NUM = 17,
	VU_SET_VRING_ENABLE = 18,
	VU_SET_BACKEND_REQ_FD = 21,
	VU_GET_CONFIG = 24,
	VU_GET_MAX_MEM_SLOTS = 36,
	VU_ADD_MEM_REG = 37,
	VU_SET_LOG_BASE = 6,
	VU_SET_DEVICE_STATE_FD = 42,
	VU_CHECK_DEVICE_STATE = 43,
	VU_GET_SHMEM_CONFIG = 44,
};

/* Backend requests (the backend's channel). */
enum {
	VU_BACKEND_FS_MAP = 6,
	VU_BACKEND_FS_UNMAP = 7,
	VU_BACKEND_SHMEM_MAP = 9,
	VU_BACKEND_SHMEM_UNMAP = 10,
};

#define VU_VERSION 0x1u
#define VU_FLAG_REPLY (1u << 2)
#define VU_FLAG_NEED_REPLY (1u << 3)

#define VU_F_PROTOCOL_FEATURES 30

#define VU_PF_MQ 0
#define VU_PF_LOG_SHMFD 1
#define VU_PF_DEVICE_STATE 19
#define VU_PF_REPLY_ACK 3
#define VU_PF_BACKEND_REQ 5
#define VU_PF_CONFIG 9
#define VU_PF_BACKEND_SEND_FD 10
#define VU_PF_CONFIGURE_MEM_SLOTS 15
#define VU_PF_SHMEM 20

#define VU_MAX_FDS 8

struct vu_hdr {
	uint32_t request;
	uint32_t flags;
	uint32_t size;
} __attribute__((packed));

struct vu_region {
	uint64_t gpa;
	uint64_t size;
	uint64_t uaddr;
	uint64_t mmap_offset;
};

struct vu_mem_table {
	uint32_t nregions;
	uint32_t padding;
	struct vu_region r[VU_MAX_FDS];
};

struct vu_mem_reg {
	uint64_t padding;
	struct vu_region r;
};

struct vu_state {
	uint32_t index;
	uint32_t num;
};

struct vu_addr {
	uint32_t index;
	uint32_t flags;
	uint64_t desc;
	uint64_t used;
	uint64_t avail;
	uint64_t log;
};

static int vu_send(struct vu_frontend *fe, uint32_t req, uint32_t flags,
		   const void *payload, uint32_t size, const int *fds,
		   unsigned nfds)
{
	struct vu_hdr h = { req, VU_VERSION | flags, size };
	struct iovec iov[2] = {
		{ &h, sizeof(h) }, { (void *)payload, size },
	};
	char cbuf[CMSG_SPACE(sizeof(int) * VU_MAX_FDS)];
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = size ? 2 : 1 };
	ssize_t n;

	if (fe->verbose)
		fprintf(stderr, "vhost-user: -> %u flags %#x size %u fds %u\n",
			req, h.flags, size, nfds);
	if (nfds) {
		struct cmsghdr *cm;

		memset(cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	}
	do {
		n = sendmsg(fe->sock, &mh, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n == (ssize_t)(sizeof(h) + size) ? 0 : -EIO;
}

static int read_full(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return -ETIMEDOUT;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ECONNRESET;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read one reply to 'req'; payload must be exactly 'size' bytes. */
static int vu_recv(struct vu_frontend *fe, uint32_t req, void *payload,
		   uint32_t size)
{
	struct vu_hdr h;
	int err = read_full(fe->sock, &h, sizeof(h));

	if (err)
		return err;
	if (fe->verbose)
		fprintf(stderr, "vhost-user: <- %u flags %#x size %u\n",
			h.request, h.flags, h.size);
	if (h.request != req || !(h.flags & VU_FLAG_REPLY) || h.size != size)
		return -EPROTO;
	return read_full(fe->sock, payload, size);
}

static bool has_pf(const struct vu_frontend *fe, unsigned bit)
{
	return fe->protocol & (1ull << bit);
}

/* A message without a reply of its own: ask for an ack when REPLY_ACK
 * is negotiated so failures surface where they happen. */
static int vu_set(struct vu_frontend *fe, uint32_t req, const void *payload,
		  uint32_t size, const int *fds, unsigned nfds)
{
	bool ack = has_pf(fe, VU_PF_REPLY_ACK);
	uint64_t status;
	int err;

	err = vu_send(fe, req, ack ? VU_FLAG_NEED_REPLY : 0, payload, size,
		      fds, nfds);
	if (err || !ack)
		return err;
	err = vu_recv(fe, req, &status, sizeof(status));
	if (err)
		return err;
	return status ? -EIO : 0;
}

static int vu_set_u64(struct vu_frontend *fe, uint32_t req, uint64_t v)
{
	return vu_set(fe, req, &v, sizeof(v), NULL, 0);
}

static int vu_get_u64(struct vu_frontend *fe, uint32_t req, uint64_t *v)
{
	int err = vu_send(fe, req, 0, NULL, 0, NULL, 0);

	return err ? err : vu_recv(fe, req, v, sizeof(*v));
}

int vu_connect(struct vu_frontend *fe, const char *path, bool verbose,
	       int timeout_ms)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };

	struct dax_frontend *dax = fe->dax;	/* the window outlives connections */

	memset(fe, 0, sizeof(*fe));
	fe->backend_sock = -1;
	fe->verbose = verbose;
	fe->dax = dax;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fe->sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fe->sock < 0)
		return -errno;
	if (connect(fe->sock, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = -errno;

		close(fe->sock);
		fe->sock = -1;
		return err;
	}
	/* A daemon that stops answering must not hang us forever. */
	if (timeout_ms > 0)
		setsockopt(fe->sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return 0;
}

/* What the thread needs, apart from the frontend struct: that one may be
 * copied elsewhere while the thread runs (a migration moves the new
 * backend's frontend into the client). The DAX window is its own object
 * and stays where it is. */
struct backend_ctx {
	int sock;
	bool verbose;
	struct dax_frontend *dax;
};

struct vu_mmap {
	uint8_t shmid;
	uint8_t padding[7];
	uint64_t fd_offset;
	uint64_t shm_offset;
	uint64_t len;
	uint64_t flags;        /* bit 0: writable */
};

#define VU_FS_ENTRIES 8
#define VU_FS_FLAG_MAP_W (1ull << 1)

struct vu_fs_map {
	uint64_t fd_offset[VU_FS_ENTRIES];
	uint64_t cache_offset[VU_FS_ENTRIES];
	uint64_t len[VU_FS_ENTRIES];
	uint64_t flags[VU_FS_ENTRIES];
};

/* Header and the one fd a map request carries; -1 in *fd without. */
static int backend_recv_hdr(int sock, struct vu_hdr *h, int *fd)
{
	char cbuf[CMSG_SPACE(sizeof(int) * VU_MAX_FDS)];
	struct iovec iov = { h, sizeof(*h) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	ssize_t n;

	*fd = -1;
	do {
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_WAITALL);
	} while (n < 0 && errno == EINTR);
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
			int got;

			memcpy(&got, CMSG_DATA(cm) + i * sizeof(int), sizeof(got));
			if (*fd < 0)
				*fd = got;
			else
				close(got);
		}
	}
	return n == (ssize_t)sizeof(*h) ? 0 : -EIO;
}

/* Serve one map or unmap request on our window: 0 or a negative errno.
 * Anything else, or any request without a window, is refused. */
static int backend_serve(struct dax_frontend *w, const struct vu_hdr *h,
			 const void *payload, int fd)
{
	const struct vu_mmap *m = payload;
	const struct vu_fs_map *fm = payload;

	if (!w)
		return -ENOTSUP;
	switch (h->request) {
	case VU_BACKEND_SHMEM_MAP:
		if (h->size != sizeof(*m) || m->shmid != 0 || (m->flags & ~1ull))
			return -EINVAL;
		return dax_frontend_map(w, fd, m->fd_offset, m->shm_offset, m->len,
					m->flags & 1);
	case VU_BACKEND_SHMEM_UNMAP:
		if (h->size != sizeof(*m) || m->shmid != 0)
			return -EINVAL;
		return dax_frontend_unmap(w, m->shm_offset, m->len);
	case VU_BACKEND_FS_MAP:
	case VU_BACKEND_FS_UNMAP:
		if (h->size != sizeof(*fm))
			return -EINVAL;
		for (unsigned i = 0; i < VU_FS_ENTRIES; i++) {
			int err;

			if (fm->len[i] == 0)
				continue;
			if (h->request == VU_BACKEND_FS_MAP)
				err = dax_frontend_map(w, fd, fm->fd_offset[i], fm->cache_offset[i],
						       fm->len[i], fm->flags[i] & VU_FS_FLAG_MAP_W);
			else
				err = dax_frontend_unmap(w, fm->cache_offset[i], fm->len[i]);
			if (err)
				return err;
		}
		return 0;
	default:
		return -ENOTSUP;
	}
}

/* Backend-initiated requests: DAX map and unmap go to our window when we
 * have one; every other request that wants an answer gets a failure. */
static void *backend_thread_fn(void *arg)
{
	struct backend_ctx *fe = arg;
	uint8_t payload[4096];
	struct vu_hdr h;

	for (;;) {
		uint64_t status;
		int fd, err;

		if (backend_recv_hdr(fe->sock, &h, &fd))
			break;
		if (h.size > sizeof(payload) ||
		    read_full(fe->sock, payload, h.size)) {
			if (fd >= 0)
				close(fd);
			break;
		}
		if (fe->verbose)
			fprintf(stderr, "vhost-user: backend request %u\n",
				h.request);
		err = backend_serve(fe->dax, &h, payload, fd);
		/* the mapping holds the file; the fd itself is done */
		if (fd >= 0)
			close(fd);
		if (!(h.flags & VU_FLAG_NEED_REPLY))
			continue;
		status = err ? 1 : 0;
		h.flags = VU_VERSION | VU_FLAG_REPLY;
		h.size = sizeof(status);
		/* send(MSG_NOSIGNAL): a dead daemon must not SIGPIPE us. */
		if (send(fe->sock, &h, sizeof(h), MSG_NOSIGNAL) != sizeof(h) ||
		    send(fe->sock, &status, sizeof(status), MSG_NOSIGNAL) !=
		    sizeof(status))
			break;
	}
	free(fe);
	return NULL;
}

static int backend_channel_setup(struct vu_frontend *fe)
{
	struct backend_ctx *ctx;
	int sv[2], err;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	err = vu_set(fe, VU_SET_BACKEND_REQ_FD, NULL, 0, &sv[1], 1);
	close(sv[1]);
	if (err) {
		close(sv[0]);
		return err;
	}
	fe->backend_sock = sv[0];
	ctx = malloc(sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	*ctx = (struct backend_ctx){ .sock = sv[0], .verbose = fe->verbose, .dax = fe->dax };
	err = -pthread_create(&fe->backend_thread, NULL, backend_thread_fn, ctx);
	if (err) {
		free(ctx);
		return err;
	}
	fe->backend_running = true;
	return 0;
}

struct vu_shmem_config {
	uint32_t nregions;
	uint32_t padding;
	uint64_t memory_sizes[8];
};

/* GET_SHMEM_CONFIG: the size of region 0, the virtio-fs cache. */
static int shmem_config_get(struct vu_frontend *fe)
{
	struct vu_shmem_config sc;
	int err = vu_send(fe, VU_GET_SHMEM_CONFIG, 0, NULL, 0, NULL, 0);

	if (!err)
		err = vu_recv(fe, VU_GET_SHMEM_CONFIG, &sc, sizeof(sc));
	if (err)
		return err;
	fe->shmem_size = sc.nregions > 0 ? sc.memory_sizes[0] : 0;
	return 0;
}

static int protocol_negotiate(struct vu_frontend *fe, bool want_mem_slots,
			      unsigned nqueues)
{
	uint64_t offered, want, v;
	int err;

	err = vu_get_u64(fe, VU_GET_PROTOCOL_FEATURES, &offered);
	if (err)
		return err;
	/* CONFIG as QEMU 8.1+ and crosvm take it: only to read the device
	 * config space (vfs_client_get_config) when the backend has one. */
	want = (1ull << VU_PF_MQ) | (1ull << VU_PF_REPLY_ACK) |
	       (1ull << VU_PF_BACKEND_REQ) | (1ull << VU_PF_CONFIG) |
	       (1ull << VU_PF_LOG_SHMFD) | (1ull << VU_PF_DEVICE_STATE);
	if (want_mem_slots)
		want |= 1ull << VU_PF_CONFIGURE_MEM_SLOTS;
	/* A DAX window takes either flavour of map request. */
	if (fe->dax)
		want |= (1ull << VU_PF_SHMEM) | (1ull << VU_PF_BACKEND_SEND_FD);
	/* SET_PROTOCOL_FEATURES itself goes out before REPLY_ACK applies. */
	err = vu_send(fe, VU_SET_PROTOCOL_FEATURES, 0, &(uint64_t){ offered & want },
		      sizeof(uint64_t), NULL, 0);
	if (err)
		return err;
	fe->protocol = offered & want;
	fe->max_queues = 1;
	if (has_pf(fe, VU_PF_MQ)) {
		err = vu_get_u64(fe, VU_GET_QUEUE_NUM, &v);
		if (err)
			return err;
		fe->max_queues = (unsigned)v;
	}
	if (nqueues > fe->max_queues && has_pf(fe, VU_PF_MQ))
		return -ERANGE;
	if (has_pf(fe, VU_PF_CONFIGURE_MEM_SLOTS)) {
		err = vu_get_u64(fe, VU_GET_MAX_MEM_SLOTS, &v);
		if (err)
			return err;
		fe->max_mem_slots = (unsigned)v;
	}
	if (has_pf(fe, VU_PF_SHMEM)) {
		err = shmem_config_get(fe);
		if (err)
			return err;
	}
	if (has_pf(fe, VU_PF_BACKEND_REQ))
		return backend_channel_setup(fe);
	return 0;
}

int vu_negotiate(struct vu_frontend *fe, uint64_t want_features,
		 bool want_mem_slots, unsigned nqueues)
{
	uint64_t offered;
	int err;

	err = vu_get_u64(fe, VU_GET_FEATURES, &offered);
	if (err)
		return err;
	if (offered & (1ull << VU_F_PROTOCOL_FEATURES)) {
		err = protocol_negotiate(fe, want_mem_slots, nqueues);
		if (err)
			return err;
	}
	err = vu_send(fe, VU_SET_OWNER, 0, NULL, 0, NULL, 0);
	if (err)
		return err;
	/* QEMU reads the features again after SET_OWNER. */
	err = vu_get_u64(fe, VU_GET_FEATURES, &offered);
	if (err)
		return err;
	want_features |= 1ull << VU_F_PROTOCOL_FEATURES;
	fe->features = offered & want_features;
	if (!(fe->features & (1ull << 32)))
		return -ENOTSUP;        /* VIRTIO_F_VERSION_1: virtio-fs needs it */
	return vu_set_u64(fe, VU_SET_FEATURES, fe->features);
}

struct vu_config {
	uint32_t offset;
	uint32_t size;
	uint32_t flags;
	uint8_t region[VU_CONFIG_MAX];
};

int vu_get_config(struct vu_frontend *fe, uint32_t offset, void *buf, uint32_t size)
{
	uint32_t head = (uint32_t)offsetof(struct vu_config, region);
	struct vu_config c = { .offset = offset, .size = size };
	struct vu_hdr h;
	int err;

	if (!has_pf(fe, VU_PF_CONFIG))
		return -ENOTSUP;
	if (size > VU_CONFIG_MAX)
		return -EINVAL;
	err = vu_send(fe, VU_GET_CONFIG, 0, &c, head + size, NULL, 0);
	if (!err)
		err = read_full(fe->sock, &h, sizeof(h));
	if (err)
		return err;
	if (h.request != VU_GET_CONFIG || !(h.flags & VU_FLAG_REPLY) || h.size < head ||
	    h.size > head + size)
		return -EPROTO;
	err = read_full(fe->sock, &c, h.size);
	if (err)
		return err;
	/* size 0: the backend's way of saying no */
	if (c.size != h.size - head || (c.size && c.size != size))
		return -EPROTO;
	if (!c.size && size)
		return -EIO;
	memcpy(buf, c.region, size);
	return (int)size;
}

static void region_describe(struct vu_region *out, const struct vfs_region *r)
{
	out->gpa = r->gpa;
	out->size = r->size;
	out->uaddr = (uint64_t)(uintptr_t)r->hva;
	out->mmap_offset = 0;
}

int vu_set_mem(struct vu_frontend *fe, const struct vfs_mem *m)
{
	struct vu_mem_table t = { .nregions = m->nr };
	int fds[VU_MAX_FDS];
	unsigned i;
	int err;

	if (has_pf(fe, VU_PF_CONFIGURE_MEM_SLOTS)) {
		if (m->nr > fe->max_mem_slots)
			return -ERANGE;
		for (i = 0; i < m->nr; i++) {
			struct vu_mem_reg reg = { 0 };

			region_describe(&reg.r, &m->r[i]);
			err = vu_set(fe, VU_ADD_MEM_REG, &reg, sizeof(reg),
				     &m->r[i].fd, 1);
			if (err)
				return err;
		}
		return 0;
	}
	for (i = 0; i < m->nr; i++) {
		region_describe(&t.r[i], &m->r[i]);
		fds[i] = m->r[i].fd;
	}
	/* The payload covers only the regions in use, as QEMU sends it. */
	return vu_set(fe, VU_SET_MEM_TABLE, &t,
		      (uint32_t)(8 + m->nr * sizeof(struct vu_region)), fds,
		      m->nr);
}

static int vu_set_vring_fd(struct vu_frontend *fe, uint32_t req,
			   unsigned index, int fd)
{
	uint64_t v = index;

	return vu_set(fe, req, &v, sizeof(v), &fd, 1);
}

int vu_start_queue(struct vu_frontend *fe, const struct vring_queue *q)
{
	struct vu_state st = { q->index, q->num };
	struct vu_addr a = {
		.index = q->index,
		.flags = q->log ? 1u : 0,	/* VHOST_VRING_F_LOG */
		.log = q->log ? mem_gpa(q->mem, q->used) : 0,
		.desc = (uint64_t)(uintptr_t)q->desc,
		.used = (uint64_t)(uintptr_t)q->used,
		.avail = (uint64_t)(uintptr_t)q->avail,
	};
	int err;

	if (q->packed) {
		/* The descriptor ring, the driver area and the device area. */
		a.desc = (uint64_t)(uintptr_t)q->pdesc;
		a.avail = (uint64_t)(uintptr_t)q->driver_ev;
		a.used = (uint64_t)(uintptr_t)q->device_ev;
	}
	err = vu_set(fe, VU_SET_VRING_NUM, &st, sizeof(st), NULL, 0);
	if (err)
		return err;
	/* Packed: next avail position 0 and used position 0, both wrap
	 * counters 1, as QEMU encodes them; after a migration, where the
	 * queue stopped on the source. */
	st.num = q->packed ? 0x80008000u : 0;
	if (q->has_base)
		st.num = q->base;
	err = vu_set(fe, VU_SET_VRING_BASE, &st, sizeof(st), NULL, 0);
	if (err)
		return err;
	err = vu_set(fe, VU_SET_VRING_ADDR, &a, sizeof(a), NULL, 0);
	if (err)
		return err;
	err = vu_set_vring_fd(fe, VU_SET_VRING_KICK, q->index, q->kick_fd);
	if (err)
		return err;
	err = vu_set_vring_fd(fe, VU_SET_VRING_CALL, q->index, q->call_fd);
	if (err)
		return err;
	if (!(fe->features & (1ull << VU_F_PROTOCOL_FEATURES)))
		return 0;       /* rings start enabled without protocol features */
	st.num = 1;
	return vu_set(fe, VU_SET_VRING_ENABLE, &st, sizeof(st), NULL, 0);
}

int vu_stop_queue(struct vu_frontend *fe, unsigned index, uint32_t *base)
{
	struct vu_state st = { index, 0 };
	int err;

	err = vu_send(fe, VU_GET_VRING_BASE, 0, &st, sizeof(st), NULL, 0);
	if (err)
		return err;
	err = vu_recv(fe, VU_GET_VRING_BASE, &st, sizeof(st));
	if (err)
		return err;
	if (base)
		*base = st.num;
	return 0;
}

void vu_disconnect(struct vu_frontend *fe)
{
	if (fe->sock >= 0)
		close(fe->sock);
	fe->sock = -1;
	if (fe->backend_sock >= 0)
		shutdown(fe->backend_sock, SHUT_RDWR);
	if (fe->backend_running)
		pthread_join(fe->backend_thread, NULL);
	fe->backend_running = false;
	if (fe->backend_sock >= 0)
		close(fe->backend_sock);
	fe->backend_sock = -1;
}

/* ---- live migration ---- */

bool vu_has_device_state(const struct vu_frontend *fe)
{
	return has_pf(fe, VU_PF_DEVICE_STATE);
}

int vu_set_log_base(struct vu_frontend *fe, int fd, uint64_t size)
{
	uint64_t log[2] = { size, 0 }, status;
	int err;

	if (!has_pf(fe, VU_PF_LOG_SHMFD))
		return -ENOTSUP;
	/* It answers with a u64 of its own, REPLY_ACK or not. */
	err = vu_send(fe, VU_SET_LOG_BASE, 0, log, sizeof(log), &fd, 1);
	if (!err)
		err = vu_recv(fe, VU_SET_LOG_BASE, &status, sizeof(status));
	return err ? err : (status ? -EIO : 0);
}

int vu_set_features(struct vu_frontend *fe, uint64_t features)
{
	return vu_set_u64(fe, VU_SET_FEATURES, features);
}

int vu_device_state_fd(struct vu_frontend *fe, bool save, int fd)
{
	uint32_t params[2] = { save ? 0u : 1u, 0u };
	uint64_t reply;
	int err;

	if (!has_pf(fe, VU_PF_DEVICE_STATE))
		return -ENOTSUP;
	err = vu_send(fe, VU_SET_DEVICE_STATE_FD, 0, params, sizeof(params), &fd, 1);
	if (!err)
		err = vu_recv(fe, VU_SET_DEVICE_STATE_FD, &reply, sizeof(reply));
	if (err)
		return err;
	/* bits 0-7 an error; bit 8 set: no fd of the backend's comes back */
	if (reply & 0xff)
		return -EIO;
	return (reply & 0x100) ? 0 : -EPROTO;
}

int vu_check_device_state(struct vu_frontend *fe)
{
	uint64_t reply;
	int err = vu_send(fe, VU_CHECK_DEVICE_STATE, 0, NULL, 0, NULL, 0);

	if (!err)
		err = vu_recv(fe, VU_CHECK_DEVICE_STATE, &reply, sizeof(reply));
	return err ? err : (reply ? -EIO : 0);
}
