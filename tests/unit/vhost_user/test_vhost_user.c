/* test_vhost_user.c: the vhost-user protocol driven over a socketpair, as QEMU would. */
#include <errno.h>
#include <stdio.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "vu_test_util.h"
#include "vhost_user/vhost_user.h"
#include "vhost_user/vhost_user_msg.h"

#define QSZ		16
#define RAM_SIZE	0x10000
#define DESC_GPA	0x1000
#define AVAIL_GPA	0x2000
#define USED_GPA	0x3000

struct ctx {
	int starts;
	int stops;
	struct virtqueue *vq;
};

struct runner {
	pthread_t thread;
	struct vu_dev *dev;
	int result;
	int client;
	struct ctx ctx;
	int ram_fd[2];
	char *ram[2];
};

static void cb_start(struct vu_dev *dev, struct virtqueue *vq, void *opaque)
{
	struct ctx *c = opaque;

	__atomic_add_fetch(&c->starts, 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&c->vq, vq, __ATOMIC_SEQ_CST);
}

static void cb_stop(struct vu_dev *dev, struct virtqueue *vq, void *opaque)
{
	struct ctx *c = opaque;

	__atomic_add_fetch(&c->stops, 1, __ATOMIC_SEQ_CST);
}

static const struct vu_dev_iface iface = {
	/* Bit 0 is VIRTIO_FS_F_NOTIFICATION: must be filtered out. */
	.device_features = (1ull << 0) | (1ull << 5),
	.queue_start = cb_start,
	.queue_stop = cb_stop,
};

static void *run_thread(void *arg)
{
	struct runner *r = arg;

	r->result = vu_dev_run(r->dev);
	return NULL;
}

static void runner_start_cfg(struct runner *r, const void *device_config, uint32_t size)
{
	struct vu_dev_config cfg = { .queue_count = 2, .iface = &iface, .opaque = &r->ctx,
				     .device_config = device_config,
				     .device_config_size = size };
	struct timeval tv = { .tv_sec = 10 };
	int sv[2];

	memset(r, 0, sizeof(*r));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	r->client = sv[0];
	r->dev = vu_dev_new(sv[1], &cfg);
	assert_non_null(r->dev);
	assert_int_equal(pthread_create(&r->thread, NULL, run_thread, r), 0);
}

static void runner_start(struct runner *r)
{
	runner_start_cfg(r, NULL, 0);
}

static int runner_finish(struct runner *r)
{
	close(r->client);
	pthread_join(r->thread, NULL);
	vu_dev_free(r->dev);
	return r->result;
}

static void send_msg(int fd, uint32_t req, uint32_t flags, const void *payload, uint32_t size,
		     const int *fds, unsigned nfds)
{
	struct vhost_user_hdr hdr = { req, VHOST_USER_VERSION | flags, size };
	struct iovec iov[2] = {
		{ &hdr, sizeof(hdr) },
		{ (void *)payload, size },
	};
	union {
		char buf[CMSG_SPACE(8 * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = size ? 2 : 1 };

	if (nfds) {
		struct cmsghdr *c;

		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
	}
	assert_int_equal(sendmsg(fd, &mh, MSG_NOSIGNAL), (ssize_t)(sizeof(hdr) + size));
}

static uint32_t recv_reply(int fd, uint32_t req, void *payload, uint32_t max)
{
	struct vhost_user_hdr hdr;

	assert_int_equal(recv(fd, &hdr, sizeof(hdr), MSG_WAITALL), (ssize_t)sizeof(hdr));
	assert_int_equal(hdr.request, req);
	assert_int_equal(hdr.flags, VHOST_USER_VERSION | VHOST_USER_REPLY_MASK);
	assert_true(hdr.size <= max);
	if (hdr.size)
		assert_int_equal(recv(fd, payload, hdr.size, MSG_WAITALL), (ssize_t)hdr.size);
	return hdr.size;
}

static uint64_t get_u64(int fd, uint32_t req)
{
	uint64_t v = 0;

	send_msg(fd, req, 0, NULL, 0, NULL, 0);
	assert_int_equal(recv_reply(fd, req, &v, sizeof(v)), sizeof(v));
	return v;
}

/* Send with NEED_REPLY and return the REPLY_ACK status. */
static uint64_t acked(int fd, uint32_t req, const void *payload, uint32_t size,
		      const int *fds, unsigned nfds)
{
	uint64_t status = 0xdead;

	send_msg(fd, req, VHOST_USER_NEED_REPLY_MASK, payload, size, fds, nfds);
	assert_int_equal(recv_reply(fd, req, &status, sizeof(status)), sizeof(status));
	return status;
}

static uint64_t acked_u64(int fd, uint32_t req, uint64_t v, int passfd)
{
	return acked(fd, req, &v, sizeof(v), &passfd, passfd >= 0 ? 1 : 0);
}

static uint64_t acked_state(int fd, uint32_t req, uint32_t index, uint32_t num)
{
	struct vhost_user_vring_state s = { index, num };

	return acked(fd, req, &s, sizeof(s), NULL, 0);
}

static void ram_setup(struct runner *r)
{
	unsigned i;

	for (i = 0; i < 2; i++) {
		r->ram_fd[i] = test_memfd(RAM_SIZE);
		r->ram[i] = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
				 r->ram_fd[i], 0);
		assert_true(r->ram[i] != MAP_FAILED);
	}
}

static uint64_t set_mem_table(struct runner *r)
{
	struct vhost_user_mem_table t = { .nregions = 2 };
	unsigned i;

	for (i = 0; i < 2; i++) {
		t.regions[i].guest_phys_addr = i * RAM_SIZE;
		t.regions[i].memory_size = RAM_SIZE;
		t.regions[i].userspace_addr = i * RAM_SIZE + TEST_UVA_BIAS;
		t.regions[i].mmap_offset = 0;
	}
	return acked(r->client, VHOST_USER_SET_MEM_TABLE, &t, 8 + 2 * 32, r->ram_fd, 2);
}

static void ram_teardown(struct runner *r)
{
	unsigned i;

	for (i = 0; i < 2; i++) {
		munmap(r->ram[i], RAM_SIZE);
		close(r->ram_fd[i]);
	}
}

/* Queue one single-descriptor chain (descriptor 0) from the client side. */
static void guest_add_chain(struct runner *r)
{
	struct vring_desc *desc = (void *)(r->ram[0] + DESC_GPA);
	struct vring_avail *avail = (void *)(r->ram[0] + AVAIL_GPA);

	desc[0].addr = 0x8000;
	desc[0].len = 16;
	desc[0].flags = 0;
	avail->ring[avail->idx % QSZ] = 0;
	__atomic_store_n(&avail->idx, (uint16_t)(avail->idx + 1), __ATOMIC_RELEASE);
}

static void setup_ring(struct runner *r, int call_fd)
{
	struct vhost_user_vring_addr a = {
		.index = 0,
		.desc_user_addr = DESC_GPA + TEST_UVA_BIAS,
		.avail_user_addr = AVAIL_GPA + TEST_UVA_BIAS,
		.used_user_addr = USED_GPA + TEST_UVA_BIAS,
	};

	assert_int_equal(acked_state(r->client, VHOST_USER_SET_VRING_NUM, 0, QSZ), 0);
	assert_int_equal(acked_state(r->client, VHOST_USER_SET_VRING_BASE, 0, 0), 0);
	assert_int_equal(acked(r->client, VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), NULL, 0), 0);
	assert_int_equal(acked_u64(r->client, VHOST_USER_SET_VRING_CALL, 0, call_fd), 0);
}

static void negotiate(struct runner *r)
{
	uint64_t f, pf;

	f = get_u64(r->client, VHOST_USER_GET_FEATURES);
	assert_true(f & (1ull << VIRTIO_F_VERSION_1));
	assert_true(f & (1ull << VIRTIO_RING_F_INDIRECT_DESC));
	assert_true(f & (1ull << VIRTIO_RING_F_EVENT_IDX));
	assert_true(f & (1ull << VHOST_USER_F_PROTOCOL_FEATURES));
	assert_true(f & (1ull << 5));
	assert_false(f & (1ull << 0));

	pf = get_u64(r->client, VHOST_USER_GET_PROTOCOL_FEATURES);
	assert_true(pf & (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK));
	assert_true(pf & (1ull << VHOST_USER_PROTOCOL_F_MQ));
	assert_true(pf & (1ull << VHOST_USER_PROTOCOL_F_BACKEND_REQ));
	assert_true(pf & (1ull << VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS));
	assert_true(pf & (1ull << VHOST_USER_PROTOCOL_F_RESET_DEVICE));
	assert_false(pf & (1ull << VHOST_USER_PROTOCOL_F_CONFIG));
	/* Live migration: dirty logging; the test device has no state to move. */
	assert_true(pf & (1ull << VHOST_USER_PROTOCOL_F_LOG_SHMFD));
	assert_true(f & (1ull << VHOST_USER_F_LOG_ALL));
	assert_false(pf & (1ull << VHOST_USER_PROTOCOL_F_DEVICE_STATE));

	/* Without NEED_REPLY (and before REPLY_ACK exists) nothing comes back. */
	send_msg(r->client, VHOST_USER_SET_PROTOCOL_FEATURES, 0, &pf, sizeof(pf), NULL, 0);
	assert_int_equal(acked(r->client, VHOST_USER_SET_OWNER, NULL, 0, NULL, 0), 0);
	assert_int_not_equal(acked_u64(r->client, VHOST_USER_SET_FEATURES, 1ull << 0, -1), 0);
	f = (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_RING_F_EVENT_IDX) |
	    (1ull << VIRTIO_RING_F_INDIRECT_DESC) | (1ull << VHOST_USER_F_PROTOCOL_FEATURES);
	assert_int_equal(acked_u64(r->client, VHOST_USER_SET_FEATURES, f, -1), 0);
	assert_int_equal(get_u64(r->client, VHOST_USER_GET_QUEUE_NUM), 2);
	assert_int_equal(get_u64(r->client, VHOST_USER_GET_MAX_MEM_SLOTS), GUEST_MEMORY_MAX_REGIONS);
}

static int count_fds(void)
{
	char path[64];
	int n = 0, fd;

	for (fd = 0; fd < 1024; fd++) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		n += access(path, F_OK) == 0;
	}
	return n;
}

static void test_protocol(void **state)
{
	int fds_before = count_fds();
	struct runner r;
	struct virtqueue *vq;
	struct vq_elem *e;
	struct vhost_user_vring_state st = { 0, 0 };
	struct vhost_user_mem_reg reg = { 0 };
	int kick = eventfd(0, EFD_CLOEXEC), call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	int bsv[2], extra;
	char junk[16] = { 0 };

	runner_start(&r);
	ram_setup(&r);
	negotiate(&r);

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, bsv), 0);
	assert_int_equal(acked(r.client, VHOST_USER_SET_BACKEND_REQ_FD, NULL, 0, &bsv[1], 1), 0);
	assert_int_equal(set_mem_table(&r), 0);
	setup_ring(&r, call);

	/* Malformed and refused messages fail their ack and change nothing. */
	assert_int_not_equal(acked(r.client, VHOST_USER_SET_VRING_NUM, &st, 4, NULL, 0), 0);
	assert_int_not_equal(acked(r.client, 99, junk, sizeof(junk), NULL, 0), 0);
	assert_int_not_equal(acked_state(r.client, VHOST_USER_SET_VRING_NUM, 5, QSZ), 0);
	assert_int_not_equal(acked_state(r.client, VHOST_USER_SET_VRING_NUM, 0, 3), 0);
	assert_int_not_equal(acked(r.client, VHOST_USER_SET_VRING_KICK, &st, 8, NULL, 0), 0);
	/* The log fd is taken and closed: we never signal it. */
	assert_int_equal(acked(r.client, VHOST_USER_SET_LOG_FD, NULL, 0, &kick, 1), 0);
	assert_int_not_equal(acked_u64(r.client, VHOST_USER_SET_VRING_KICK,
				       VHOST_USER_VRING_NOFD_MASK, -1), 0);
	assert_int_equal(get_u64(r.client, VHOST_USER_GET_QUEUE_NUM), 2);
	assert_int_equal(r.ctx.starts, 0);

	/* The kick fd completes the queue: it starts, without SET_VRING_ENABLE. */
	assert_int_equal(acked_u64(r.client, VHOST_USER_SET_VRING_KICK, 0, kick), 0);
	assert_int_equal(r.ctx.starts, 1);
	vq = r.ctx.vq;
	assert_non_null(vq);
	assert_int_equal(vq->index, 0);
	assert_true(vq->started);
	assert_true(vq->event_idx);

	/* Play the worker: serve one request. */
	guest_add_chain(&r);
	assert_int_equal(virtqueue_pop(vq, &e), 1);
	assert_int_equal(e->out_count, 1);
	virtqueue_push(vq, e, 0);
	guest_add_chain(&r);
	assert_int_equal(virtqueue_pop(vq, &e), 1);
	virtqueue_push(vq, e, 0);

	/* GET_VRING_BASE stops the queue and reports where it got to. */
	send_msg(r.client, VHOST_USER_GET_VRING_BASE, 0, &st, sizeof(st), NULL, 0);
	assert_int_equal(recv_reply(r.client, VHOST_USER_GET_VRING_BASE, &st, sizeof(st)),
			 sizeof(st));
	assert_int_equal(st.index, 0);
	assert_int_equal(st.num, 2);
	assert_int_equal(r.ctx.stops, 1);
	assert_false(vq->started);
	assert_int_equal(vq->kick_fd, -1);

	/* Memory slots: add a region, remove it, removing again fails. */
	extra = test_memfd(0x1000);
	reg.region.guest_phys_addr = 0x100000;
	reg.region.memory_size = 0x1000;
	reg.region.userspace_addr = 0x100000 + TEST_UVA_BIAS;
	assert_int_equal(acked(r.client, VHOST_USER_ADD_MEM_REG, &reg, sizeof(reg), &extra, 1), 0);
	assert_non_null(guest_memory_gpa_to_host(vq->memory_slot->current, 0x100000, 0x1000));
	assert_non_null(guest_memory_gpa_to_host(vq->memory_slot->current, 0x1fff0, 0x10));
	assert_int_equal(acked(r.client, VHOST_USER_REM_MEM_REG, &reg, sizeof(reg), NULL, 0), 0);
	assert_null(guest_memory_gpa_to_host(vq->memory_slot->current, 0x100000, 1));
	assert_non_null(guest_memory_gpa_to_host(vq->memory_slot->current, 0x1fff0, 0x10));
	assert_int_not_equal(acked(r.client, VHOST_USER_REM_MEM_REG, &reg, sizeof(reg), NULL, 0), 0);
	close(extra);

	/* Restart where we stopped, then swap the memory table under it. */
	assert_int_equal(acked_state(r.client, VHOST_USER_SET_VRING_BASE, 0, 2), 0);
	assert_int_equal(acked_u64(r.client, VHOST_USER_SET_VRING_KICK, 0, kick), 0);
	assert_int_equal(r.ctx.starts, 2);
	assert_int_equal(set_mem_table(&r), 0);
	/* Still running: no stop callback. Read through the callback's count,
	 * not vq->started: the control thread writes vq->started again when it
	 * sees the hang-up below, and no message orders this read before that
	 * write for ThreadSanitizer (it does not take a close() seen as EOF on
	 * the other end as synchronization). */
	assert_int_equal(__atomic_load_n(&r.ctx.stops, __ATOMIC_SEQ_CST), 1);
	assert_ptr_not_equal(vq->ring_mem, vq->memory_slot->current);
	guest_add_chain(&r);
	assert_int_equal(virtqueue_pop(vq, &e), 1);
	assert_ptr_equal(vq->ring_mem, vq->memory_slot->current);
	assert_ptr_equal(e->mem, vq->ring_mem);
	virtqueue_push(vq, e, 0);
	assert_int_equal(virtqueue_last_avail(vq), 3);

	/* Disconnect: running queues are stopped and run returns 0. */
	assert_int_equal(runner_finish(&r), 0);
	assert_int_equal(r.ctx.stops, 2);
	ram_teardown(&r);
	close(kick);
	close(call);
	close(bsv[0]);
	close(bsv[1]);
	/* Every fd passed in was kept and released, or closed at once. */
	assert_int_equal(count_fds(), fds_before);
}

/* Packed rings through the messages as QEMU 10 sends them: RING_PACKED
 * offered and negotiated, SET_VRING_ADDR's avail and used addresses are
 * the driver and device areas, and the base carries both positions and
 * wrap counters (bits 0-15 avail, 16-31 used). */
static void test_packed(void **state)
{
	struct vring_packed_desc *ring;
	struct runner r;
	struct virtqueue *vq;
	struct vq_elem *e;
	struct vhost_user_vring_state st = { 0, 0 };
	struct vhost_user_vring_addr a = {
		.index = 0,
		.desc_user_addr = DESC_GPA + TEST_UVA_BIAS,
		.avail_user_addr = AVAIL_GPA + TEST_UVA_BIAS,
		.used_user_addr = USED_GPA + TEST_UVA_BIAS,
	};
	int kick = eventfd(0, EFD_CLOEXEC), call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	uint64_t f, pf;

	runner_start(&r);
	ram_setup(&r);
	ring = (void *)(r.ram[0] + DESC_GPA);
	f = get_u64(r.client, VHOST_USER_GET_FEATURES);
	assert_true(f & (1ull << VIRTIO_F_RING_PACKED));
	pf = get_u64(r.client, VHOST_USER_GET_PROTOCOL_FEATURES);
	send_msg(r.client, VHOST_USER_SET_PROTOCOL_FEATURES, 0, &pf, sizeof(pf), NULL, 0);
	f = (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_RING_F_EVENT_IDX) |
	    (1ull << VIRTIO_F_RING_PACKED) | (1ull << VHOST_USER_F_PROTOCOL_FEATURES);
	assert_int_equal(acked_u64(r.client, VHOST_USER_SET_FEATURES, f, -1), 0);
	assert_int_equal(set_mem_table(&r), 0);
	assert_int_equal(acked_state(r.client, VHOST_USER_SET_VRING_NUM, 0, QSZ), 0);
	assert_int_equal(acked_state(r.client, VHOST_USER_SET_VRING_BASE, 0, 0x80008000u), 0);
	assert_int_equal(acked(r.client, VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), NULL, 0), 0);
	assert_int_equal(acked_u64(r.client, VHOST_USER_SET_VRING_CALL, 0, call), 0);
	assert_int_equal(acked_u64(r.client, VHOST_USER_SET_VRING_KICK, 0, kick), 0);
	vq = r.ctx.vq;
	assert_non_null(vq);
	assert_true(vq->packed);

	/* One single-descriptor buffer (id 3) at position 0, wrap counter 1. */
	ring[0].addr = 0x8000;
	ring[0].len = 16;
	ring[0].id = 3;
	__atomic_store_n(&ring[0].flags, (uint16_t)(1u << VRING_PACKED_DESC_F_AVAIL),
			 __ATOMIC_RELEASE);
	assert_int_equal(virtqueue_pop(vq, &e), 1);
	assert_int_equal(e->head, 3);
	virtqueue_push(vq, e, 0);
	assert_int_equal(ring[0].id, 3);
	assert_int_equal(ring[0].flags, (1u << VRING_PACKED_DESC_F_AVAIL) |
					(1u << VRING_PACKED_DESC_F_USED));

	send_msg(r.client, VHOST_USER_GET_VRING_BASE, 0, &st, sizeof(st), NULL, 0);
	assert_int_equal(recv_reply(r.client, VHOST_USER_GET_VRING_BASE, &st, sizeof(st)),
			 sizeof(st));
	assert_int_equal(st.num, 0x80018001u);
	/* A base that does not fit the ring keeps the queue stopped. */
	assert_int_equal(acked_state(r.client, VHOST_USER_SET_VRING_BASE, 0, 0x80008000u | QSZ), 0);
	assert_int_equal(acked_u64(r.client, VHOST_USER_SET_VRING_KICK, 0, kick), 0);
	assert_int_equal(r.ctx.starts, 1);
	/* Back on split rings, the packed encoding is out of range. */
	f &= ~(1ull << VIRTIO_F_RING_PACKED);
	send_msg(r.client, VHOST_USER_GET_VRING_BASE, 0, &st, sizeof(st), NULL, 0);
	assert_int_equal(recv_reply(r.client, VHOST_USER_GET_VRING_BASE, &st, sizeof(st)),
			 sizeof(st));
	assert_int_equal(acked_u64(r.client, VHOST_USER_SET_FEATURES, f, -1), 0);
	assert_int_not_equal(acked_state(r.client, VHOST_USER_SET_VRING_BASE, 0, 0x80008000u), 0);

	assert_int_equal(runner_finish(&r), 0);
	ram_teardown(&r);
	close(kick);
	close(call);
}

static void test_reset_device(void **state)
{
	struct runner r;
	int kick = eventfd(0, EFD_CLOEXEC), call = eventfd(0, EFD_CLOEXEC);

	runner_start(&r);
	ram_setup(&r);
	negotiate(&r);
	assert_int_equal(set_mem_table(&r), 0);
	setup_ring(&r, call);
	assert_int_equal(acked_u64(r.client, VHOST_USER_SET_VRING_KICK, 0, kick), 0);
	assert_int_equal(r.ctx.starts, 1);
	assert_int_equal(acked(r.client, VHOST_USER_RESET_DEVICE, NULL, 0, NULL, 0), 0);
	assert_int_equal(r.ctx.stops, 1);
	assert_int_equal(r.ctx.vq->size, 0);
	assert_int_equal(runner_finish(&r), 0);
	assert_int_equal(r.ctx.stops, 1);
	ram_teardown(&r);
	close(kick);
	close(call);
}

/* GET_CONFIG of size bytes at offset: the reply's payload size, and the
 * bytes in out. */
static uint32_t get_config(int fd, uint32_t offset, uint32_t size, uint8_t *out)
{
	struct vhost_user_config c = { .offset = offset, .size = size, .flags = 0 };
	uint32_t head = (uint32_t)offsetof(struct vhost_user_config, region);
	uint32_t got;

	memset(c.region, 0xee, sizeof(c.region));
	send_msg(fd, VHOST_USER_GET_CONFIG, 0, &c, head + size, NULL, 0);
	memset(&c, 0, sizeof(c));
	got = recv_reply(fd, VHOST_USER_GET_CONFIG, &c, sizeof(c));
	assert_true(got >= head);
	assert_int_equal(c.offset, offset);
	assert_int_equal(c.size, got - head);
	memcpy(out, c.region, got - head);
	return got - head;
}

/* A device with a config space offers VHOST_USER_PROTOCOL_F_CONFIG and
 * answers GET_CONFIG once it is negotiated; SET_CONFIG is refused and
 * changes nothing. */
static void test_config_space(void **state)
{
	static uint8_t space[40] = "fs-tag";
	uint32_t head = (uint32_t)offsetof(struct vhost_user_config, region);
	struct vhost_user_config set = { .offset = 0, .size = 4, .flags = 0 };
	struct runner r;
	uint8_t buf[VHOST_USER_CONFIG_MAX];
	uint64_t pf;

	space[36] = 1;	/* num_request_queues, little-endian */
	runner_start_cfg(&r, space, sizeof(space));
	pf = get_u64(r.client, VHOST_USER_GET_PROTOCOL_FEATURES);
	assert_true(pf & (1ull << VHOST_USER_PROTOCOL_F_CONFIG));
	/* before it is negotiated: an error, in the reply the frontend awaits */
	assert_int_equal(get_config(r.client, 0, 40, buf), 0);
	send_msg(r.client, VHOST_USER_SET_PROTOCOL_FEATURES, 0, &pf, sizeof(pf), NULL, 0);

	assert_int_equal(get_config(r.client, 0, 40, buf), 40);
	assert_memory_equal(buf, space, 40);
	assert_int_equal(get_config(r.client, 36, 4, buf), 4);
	assert_memory_equal(buf, "\x01\0\0\0", 4);
	/* past the end reads zeros, as from the Rust virtiofsd */
	assert_int_equal(get_config(r.client, 38, 8, buf), 8);
	assert_memory_equal(buf, "\0\0\0\0\0\0\0\0", 8);
	assert_int_equal(get_config(r.client, UINT32_MAX, 2, buf), 2);
	assert_memory_equal(buf, "\0\0", 2);
	assert_int_equal(get_config(r.client, 0, 0, buf), 0);

	memcpy(set.region, "evil", 4);
	assert_int_not_equal(acked(r.client, VHOST_USER_SET_CONFIG, &set, head + 4, NULL, 0), 0);
	assert_int_equal(get_config(r.client, 0, 8, buf), 8);
	assert_memory_equal(buf, "fs-tag\0\0", 8);
	/* a size its payload does not have: refused (no reply), still serving */
	set.size = 40;
	assert_int_not_equal(acked(r.client, VHOST_USER_SET_CONFIG, &set, head + 4, NULL, 0), 0);
	assert_int_equal(get_u64(r.client, VHOST_USER_GET_QUEUE_NUM), 2);
	assert_int_equal(runner_finish(&r), 0);
}

/* Without one (the default: no --tag), CONFIG is neither offered nor
 * accepted, and GET_CONFIG gets its error reply. */
static void test_no_config_space(void **state)
{
	struct runner r;
	uint8_t buf[64];
	uint64_t pf;

	runner_start(&r);
	pf = get_u64(r.client, VHOST_USER_GET_PROTOCOL_FEATURES);
	assert_false(pf & (1ull << VHOST_USER_PROTOCOL_F_CONFIG));
	pf |= 1ull << VHOST_USER_PROTOCOL_F_CONFIG;
	send_msg(r.client, VHOST_USER_SET_PROTOCOL_FEATURES, 0, &pf, sizeof(pf), NULL, 0);
	pf &= ~(1ull << VHOST_USER_PROTOCOL_F_CONFIG);
	send_msg(r.client, VHOST_USER_SET_PROTOCOL_FEATURES, 0, &pf, sizeof(pf), NULL, 0);
	assert_int_equal(get_config(r.client, 0, 40, buf), 0);
	assert_int_equal(runner_finish(&r), 0);
}

static void test_oversized_message(void **state)
{
	struct runner r;
	char big[512] = { 0 };

	runner_start(&r);
	/* Cannot be framed safely: the connection is dropped with an error. */
	send_msg(r.client, VHOST_USER_SET_FEATURES, 0, big, sizeof(big), NULL, 0);
	assert_int_equal(runner_finish(&r), -EPROTO);
}

static void test_truncated_message(void **state)
{
	struct runner r;
	struct vhost_user_hdr hdr = { VHOST_USER_SET_FEATURES, VHOST_USER_VERSION, 8 };

	runner_start(&r);
	/* Header promises 8 bytes, the peer hangs up after 2: a disconnect. */
	assert_int_equal(send(r.client, &hdr, sizeof(hdr), 0), (ssize_t)sizeof(hdr));
	assert_int_equal(send(r.client, "ab", 2, 0), 2);
	assert_int_equal(runner_finish(&r), 0);
}

static void test_listen(void **state)
{
	char path[] = "/tmp/vu-test-sock-XXXXXX";
	int fd, lfd, c;
	struct sockaddr_un addr = { .sun_family = AF_UNIX };

	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	/* A regular file is not a stale socket: left alone. */
	assert_int_equal(vhost_user_listen(path, NULL), -EEXIST);
	unlink(path);
	/* Even with umask 0 (as the daemon runs), only the owner may
	 * connect, and the socket listens as soon as its path exists. */
	mode_t old_umask = umask(0);
	lfd = vhost_user_listen(path, NULL);
	umask(old_umask);
	assert_true(lfd >= 0);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	close(lfd);
	/* The stale socket left behind is replaced. */
	lfd = vhost_user_listen(path, "root");
	assert_true(lfd >= 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0660);
	c = socket(AF_UNIX, SOCK_STREAM, 0);
	strcpy(addr.sun_path, path);
	assert_int_equal(connect(c, (struct sockaddr *)&addr, sizeof(addr)), 0);
	fd = vhost_user_accept(lfd);
	assert_true(fd >= 0);
	close(fd);
	close(c);
	close(lfd);
	assert_int_equal(vhost_user_listen(path, "no-such-group-vfsd"), -ENOENT);
	unlink(path);
}

static char probe_tmp_path[128];
static volatile sig_atomic_t probes, probes_saw_tmp;

static void probe_handler(int sig)
{
	int saved_errno = errno;

	(void)sig;
	probes++;
	if (access(probe_tmp_path, F_OK) == 0)
		probes_saw_tmp++;
	errno = saved_errno;	/* the interrupted code may be reading it */
}

/* A signal that comes while the socket still has its temporary name waits
 * until the name is gone: with the default action it would have left a
 * stray "<path>.<pid>.tmp" behind. A fast timer's handler looks for the
 * name; it must never see it. */
static void test_listen_holds_signals_while_named_tmp(void **state)
{
	struct sigaction sa = { .sa_handler = probe_handler, .sa_flags = SA_RESTART };
	struct itimerval fast = { { 0, 20 }, { 0, 20 } }, off = { { 0, 0 }, { 0, 0 } };
	char path[96];
	int i;

	(void)state;
	snprintf(path, sizeof(path), "/tmp/vu-test-hold-%d.sock", (int)getpid());
	snprintf(probe_tmp_path, sizeof(probe_tmp_path), "%s.%d.tmp", path, (int)getpid());
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGALRM, &sa, NULL), 0);
	assert_int_equal(setitimer(ITIMER_REAL, &fast, NULL), 0);
	for (i = 0; i < 3000; i++) {
		int fd = vhost_user_listen(path, NULL);

		if (fd < 0)
			break;
		close(fd);
	}
	setitimer(ITIMER_REAL, &off, NULL);
	signal(SIGALRM, SIG_DFL);
	unlink(path);
	assert_int_equal(i, 3000);
	/* else the test proves nothing */
	assert_true(probes >= 100);
	assert_int_equal(probes_saw_tmp, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_protocol),
		cmocka_unit_test(test_packed),
		cmocka_unit_test(test_reset_device),
		cmocka_unit_test(test_config_space),
		cmocka_unit_test(test_no_config_space),
		cmocka_unit_test(test_oversized_message),
		cmocka_unit_test(test_truncated_message),
		cmocka_unit_test(test_listen),
		cmocka_unit_test(test_listen_holds_signals_while_named_tmp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
