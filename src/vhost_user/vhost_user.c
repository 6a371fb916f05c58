/* vhost_user.c: the vhost-user backend message loop, memory table and vring lifecycle. */
#include "vhost_user/vhost_user.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "util/log.h"
#include "vhost_user/dirty_log.h"
#include "vhost_user/vhost_user_internal.h"
#include "vhost_user/vhost_user_msg.h"

/* Not in every linux/virtio_fs.h; QEMU 7.x cannot handle it, never offer it. */
#define VFSD_VIRTIO_FS_F_NOTIFICATION	0

/* RING_PACKED: QEMU offers it to the guest only with the device's
 * packed=on, so a split ring stays the default. LOG_ALL: we log our
 * writes to guest memory (QEMU blocks migration without it). */
#define VU_TRANSPORT_FEATURES \
	((1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_RING_F_INDIRECT_DESC) | \
	 (1ull << VIRTIO_RING_F_EVENT_IDX) | (1ull << VIRTIO_F_RING_PACKED) | \
	 (1ull << VHOST_USER_F_PROTOCOL_FEATURES) | (1ull << VHOST_USER_F_LOG_ALL))

/* CONFIG is added only for a device with a config space to give
 * (vu_offered_protocol): QEMU 7.1-8.0 crash when it is offered. */
#define VU_PROTOCOL_FEATURES \
	((1ull << VHOST_USER_PROTOCOL_F_MQ) | (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) | \
	 (1ull << VHOST_USER_PROTOCOL_F_BACKEND_REQ) | \
	 (1ull << VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS) | \
	 (1ull << VHOST_USER_PROTOCOL_F_RESET_DEVICE) | \
	 (1ull << VHOST_USER_PROTOCOL_F_LOG_SHMFD))
/* Only with a device that saves and loads its state. */
#define VU_PROTOCOL_DEVICE_STATE (1ull << VHOST_USER_PROTOCOL_F_DEVICE_STATE)

#define VU_MAX_VRING_SIZE	32768

struct vu_reply {
	bool send;
	uint32_t size;
	union vhost_user_payload payload;
};

typedef int (*vu_handler)(struct vu_dev *dev, const struct vhost_user_msg *msg,
			  int *fds, unsigned nfds, struct vu_reply *reply);

static void fd_close(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void fds_close(int *fds, unsigned nfds)
{
	unsigned i;

	for (i = 0; i < nfds; i++)
		fd_close(&fds[i]);
}

static int fd_take(int *fds, unsigned i)
{
	int fd = fds[i];

	fds[i] = -1;
	return fd;
}

static uint64_t vu_offered_features(const struct vu_dev *dev)
{
	uint64_t device = dev->config.iface->device_features;

	device &= ~(1ull << VFSD_VIRTIO_FS_F_NOTIFICATION);
	return VU_TRANSPORT_FEATURES | device;
}

static uint64_t vu_offered_protocol(const struct vu_dev *dev)
{
	const struct vu_dev_iface *iface = dev->config.iface;
	uint64_t features = VU_PROTOCOL_FEATURES;

	if (iface->state_save && iface->state_load)
		features |= VU_PROTOCOL_DEVICE_STATE;
	if (dev->config.device_config)
		features |= 1ull << VHOST_USER_PROTOCOL_F_CONFIG;
	if (dev->config.shmem_count)
		features |= 1ull << VHOST_USER_PROTOCOL_F_SHMEM;
	if (dev->config.backend_send_fd)
		features |= 1ull << VHOST_USER_PROTOCOL_F_BACKEND_SEND_FD;
	return features;
}

static bool vu_has_protocol(const struct vu_dev *dev, unsigned bit)
{
	return dev->protocol_features & (1ull << bit);
}

static void reply_u64(struct vu_reply *reply, uint64_t value)
{
	reply->send = true;
	reply->size = sizeof(uint64_t);
	reply->payload.u64 = value;
}

static struct virtqueue *vu_vq(struct vu_dev *dev, uint32_t index, const char *what)
{
	if (index >= dev->config.queue_count) {
		log_error("vhost-user: %s for queue %u, device has %u", what, index,
			  dev->config.queue_count);
		return NULL;
	}
	return &dev->vqs[index];
}

/* ---- queue lifecycle ---- */

static void vu_queue_stop(struct vu_dev *dev, struct virtqueue *vq)
{
	if (!vq->started)
		return;
	dev->config.iface->queue_stop(dev, vq, dev->config.opaque);
	vq->started = false;
}

static void vu_stop_all(struct vu_dev *dev)
{
	unsigned i;

	for (i = 0; i < dev->config.queue_count; i++)
		vu_queue_stop(dev, &dev->vqs[i]);
}

/* Start once size, mapped rings and a kick fd are all there. Enable state
 * is not waited for: QEMU before 7.2 never sends SET_VRING_ENABLE here. */
static void vu_queue_try_start(struct vu_dev *dev, struct virtqueue *vq)
{
	if (vq->started || vq->size == 0 || vq->kick_fd < 0)
		return;
	/* The device's state is being saved or replaced: CHECK_DEVICE_STATE
	 * starts what is ready once the transfer is over. */
	if (dev->xfer_running)
		return;
	vq->event_idx = dev->features & (1ull << VIRTIO_RING_F_EVENT_IDX);
	vq->packed = dev->features & (1ull << VIRTIO_F_RING_PACKED);
	if (virtqueue_map_rings(vq)) {
		log_error("vhost-user: queue %u rings are not in guest memory, not starting",
			  vq->index);
		return;
	}
	vq->enabled = true;
	vq->started = true;
	dev->config.iface->queue_start(dev, vq, dev->config.opaque);
}

static void vu_try_start_all(struct vu_dev *dev)
{
	unsigned i;

	for (i = 0; i < dev->config.queue_count; i++)
		vu_queue_try_start(dev, &dev->vqs[i]);
}

static void vu_reset(struct vu_dev *dev)
{
	unsigned i;

	vu_stop_all(dev);
	for (i = 0; i < dev->config.queue_count; i++) {
		virtqueue_destroy(&dev->vqs[i]);
		virtqueue_init(&dev->vqs[i], i, &dev->mem_slot);
	}
	dev->features = 0;
}

/* ---- feature negotiation ---- */

static int vu_get_features(struct vu_dev *dev, const struct vhost_user_msg *msg,
			   int *fds, unsigned nfds, struct vu_reply *reply)
{
	reply_u64(reply, vu_offered_features(dev));
	return 0;
}

static int vu_set_features(struct vu_dev *dev, const struct vhost_user_msg *msg,
			   int *fds, unsigned nfds, struct vu_reply *reply)
{
	uint64_t features = msg->payload.u64;
	unsigned i;

	if (features & ~vu_offered_features(dev)) {
		log_error("vhost-user: SET_FEATURES with unoffered bits 0x%llx",
			  (unsigned long long)(features & ~vu_offered_features(dev)));
		return -EINVAL;
	}
	/* Which layout the guest chose, once per change (e2e runs check it). */
	if ((features ^ dev->features) & (1ull << VIRTIO_F_RING_PACKED) || !dev->features)
		log_info("vhost-user: %s virtqueues%s",
			 features & (1ull << VIRTIO_F_RING_PACKED) ? "packed" : "split",
			 features & (1ull << VIRTIO_RING_F_EVENT_IDX) ? " with event index" : "");
	if ((features ^ dev->features) & (1ull << VHOST_USER_F_LOG_ALL))
		log_info("vhost-user: dirty page logging %s",
			 features & (1ull << VHOST_USER_F_LOG_ALL) ? "on" : "off");
	dev->features = features;
	for (i = 0; i < dev->config.queue_count; i++) {
		struct virtqueue *vq = &dev->vqs[i];

		virtqueue_set_log(vq, dev->log, features & (1ull << VHOST_USER_F_LOG_ALL));
		pthread_mutex_lock(&vq->lock);
		vq->event_idx = features & (1ull << VIRTIO_RING_F_EVENT_IDX);
		vq->packed = features & (1ull << VIRTIO_F_RING_PACKED);
		/* The event fields and the layout change what was checked. */
		virtqueue_invalidate_rings_locked(vq);
		pthread_mutex_unlock(&vq->lock);
	}
	return 0;
}

static int vu_get_protocol_features(struct vu_dev *dev, const struct vhost_user_msg *msg,
				    int *fds, unsigned nfds, struct vu_reply *reply)
{
	reply_u64(reply, vu_offered_protocol(dev));
	return 0;
}

static int vu_set_protocol_features(struct vu_dev *dev, const struct vhost_user_msg *msg,
				    int *fds, unsigned nfds, struct vu_reply *reply)
{
	uint64_t offered = vu_offered_protocol(dev);

	if (msg->payload.u64 & ~offered) {
		log_error("vhost-user: SET_PROTOCOL_FEATURES with unoffered bits 0x%llx",
			  (unsigned long long)(msg->payload.u64 & ~offered));
		return -EINVAL;
	}
	/* Backend requests read it from queue threads. */
	pthread_mutex_lock(&dev->backend_lock);
	dev->protocol_features = msg->payload.u64;
	pthread_mutex_unlock(&dev->backend_lock);
	return 0;
}

static int vu_set_owner(struct vu_dev *dev, const struct vhost_user_msg *msg,
			int *fds, unsigned nfds, struct vu_reply *reply)
{
	dev->owner = true;
	return 0;
}

static int vu_reset_device(struct vu_dev *dev, const struct vhost_user_msg *msg,
			   int *fds, unsigned nfds, struct vu_reply *reply)
{
	vu_reset(dev);
	return 0;
}

static int vu_get_queue_num(struct vu_dev *dev, const struct vhost_user_msg *msg,
			    int *fds, unsigned nfds, struct vu_reply *reply)
{
	reply_u64(reply, dev->config.queue_count);
	return 0;
}

static int vu_get_max_mem_slots(struct vu_dev *dev, const struct vhost_user_msg *msg,
				int *fds, unsigned nfds, struct vu_reply *reply)
{
	reply_u64(reply, GUEST_MEMORY_MAX_REGIONS);
	return 0;
}

/* ---- memory table ---- */

static void regions_release(struct guest_region *regs, unsigned count)
{
	unsigned i;

	for (i = 0; i < count; i++) {
		if (regs[i].mmap_base)
			munmap(regs[i].mmap_base, regs[i].mmap_size);
		fd_close(&regs[i].fd);
	}
}

static void region_from_wire(struct guest_region *r, const struct vhost_user_mem_region *w,
			     int fd)
{
	memset(r, 0, sizeof(*r));
	r->guest_phys_addr = w->guest_phys_addr;
	r->size = w->memory_size;
	r->user_addr = w->userspace_addr;
	r->mmap_offset = w->mmap_offset;
	r->fd = fd;
}

/* Publish regs (count of them, fds owned, not yet mapped) as the new table.
 * Consumes the regions in every case. */
static int vu_mem_publish(struct vu_dev *dev, struct guest_region *regs, unsigned count)
{
	struct guest_memory *mem;
	unsigned i;
	int ret;

	for (i = 0; i < count; i++) {
		ret = guest_region_map(&regs[i]);
		if (ret) {
			log_error("vhost-user: cannot map memory region 0x%llx+0x%llx: %s",
				  (unsigned long long)regs[i].guest_phys_addr,
				  (unsigned long long)regs[i].size, strerror(-ret));
			regions_release(regs, count);
			return ret;
		}
	}
	mem = guest_memory_new(regs, count);
	if (!mem) {
		log_error("vhost-user: memory regions overlap or wrap, table refused");
		return -EINVAL;
	}
	/* Queues pick the new table up under their own lock; requests in
	 * flight keep the old one through their reference. */
	guest_memory_slot_replace(&dev->mem_slot, mem);
	vu_try_start_all(dev);
	return 0;
}

static int vu_set_mem_table(struct vu_dev *dev, const struct vhost_user_msg *msg,
			    int *fds, unsigned nfds, struct vu_reply *reply)
{
	const struct vhost_user_mem_table *t = &msg->payload.mem_table;
	struct guest_region regs[VHOST_USER_MEM_TABLE_MAX];
	unsigned i;

	for (i = 0; i < t->nregions; i++)
		region_from_wire(&regs[i], &t->regions[i], fd_take(fds, i));
	return vu_mem_publish(dev, regs, t->nregions);
}

/* Copy of the current table's regions with their own fds (each table maps
 * and unmaps independently), leaving out index skip, plus room for one. */
static struct guest_region *vu_mem_clone(struct vu_dev *dev, unsigned skip, unsigned *count)
{
	struct guest_memory *cur = guest_memory_slot_get(&dev->mem_slot);
	unsigned n = cur ? cur->region_count : 0, i, out = 0;
	struct guest_region *regs = calloc(n + 1, sizeof(*regs));

	if (!regs)
		goto out;
	for (i = 0; i < n; i++) {
		const struct guest_region *r = &cur->regions[i];

		if (i == skip)
			continue;
		regs[out] = *r;
		regs[out].mmap_base = NULL;
		regs[out].mmap_size = 0;
		regs[out].fd = fcntl(r->fd, F_DUPFD_CLOEXEC, 0);
		if (regs[out].fd < 0) {
			regions_release(regs, out);
			free(regs);
			regs = NULL;
			goto out;
		}
		out++;
	}
	*count = out;
out:
	guest_memory_unref(cur);
	return regs;
}

static int vu_add_mem_reg(struct vu_dev *dev, const struct vhost_user_msg *msg,
			  int *fds, unsigned nfds, struct vu_reply *reply)
{
	struct guest_region *regs;
	unsigned count;
	int ret;

	if (!vu_has_protocol(dev, VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS))
		return -ENOTSUP;
	regs = vu_mem_clone(dev, UINT32_MAX, &count);
	if (!regs)
		return -ENOMEM;
	if (count >= GUEST_MEMORY_MAX_REGIONS) {
		regions_release(regs, count);
		free(regs);
		log_error("vhost-user: ADD_MEM_REG beyond %u regions", GUEST_MEMORY_MAX_REGIONS);
		return -ENOSPC;
	}
	region_from_wire(&regs[count], &msg->payload.mem_reg.region, fd_take(fds, 0));
	ret = vu_mem_publish(dev, regs, count + 1);
	free(regs);
	return ret;
}

static int vu_rem_mem_reg(struct vu_dev *dev, const struct vhost_user_msg *msg,
			  int *fds, unsigned nfds, struct vu_reply *reply)
{
	const struct vhost_user_mem_region *w = &msg->payload.mem_reg.region;
	struct guest_memory *cur;
	struct guest_region *regs;
	unsigned i, skip = UINT32_MAX, count;
	int ret;

	if (!vu_has_protocol(dev, VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS))
		return -ENOTSUP;
	/* Identified by guest address, user address and size; the offset
	 * is not part of the identity. */
	cur = guest_memory_slot_get(&dev->mem_slot);
	for (i = 0; cur && i < cur->region_count; i++) {
		const struct guest_region *r = &cur->regions[i];

		if (r->guest_phys_addr == w->guest_phys_addr && r->size == w->memory_size &&
		    r->user_addr == w->userspace_addr) {
			skip = i;
			break;
		}
	}
	guest_memory_unref(cur);
	if (skip == UINT32_MAX) {
		log_error("vhost-user: REM_MEM_REG for unknown region 0x%llx",
			  (unsigned long long)w->guest_phys_addr);
		return -ENOENT;
	}
	regs = vu_mem_clone(dev, skip, &count);
	if (!regs)
		return -ENOMEM;
	ret = vu_mem_publish(dev, regs, count);
	free(regs);
	return ret;
}

/* ---- vrings ---- */

static int vu_set_vring_num(struct vu_dev *dev, const struct vhost_user_msg *msg,
			    int *fds, unsigned nfds, struct vu_reply *reply)
{
	struct virtqueue *vq = vu_vq(dev, msg->payload.state.index, "SET_VRING_NUM");
	uint32_t num = msg->payload.state.num;

	if (!vq)
		return -EINVAL;
	if (vq->started)
		return -EBUSY;
	if (num == 0 || num > VU_MAX_VRING_SIZE || (num & (num - 1))) {
		log_error("vhost-user: queue %u size %u is not a power of two <= %u",
			  vq->index, num, VU_MAX_VRING_SIZE);
		return -EINVAL;
	}
	vq->size = (uint16_t)num;
	return 0;
}

static int vu_set_vring_addr(struct vu_dev *dev, const struct vhost_user_msg *msg,
			     int *fds, unsigned nfds, struct vu_reply *reply)
{
	const struct vhost_user_vring_addr *a = &msg->payload.addr;
	struct virtqueue *vq = vu_vq(dev, a->index, "SET_VRING_ADDR");

	if (!vq)
		return -EINVAL;
	pthread_mutex_lock(&vq->lock);
	vq->desc_user_addr = a->desc_user_addr;
	vq->avail_user_addr = a->avail_user_addr;
	vq->used_user_addr = a->used_user_addr;
	vq->log_guest_addr = a->log_guest_addr;
	virtqueue_invalidate_rings_locked(vq);
	pthread_mutex_unlock(&vq->lock);
	return 0;
}

static int vu_set_vring_base(struct vu_dev *dev, const struct vhost_user_msg *msg,
			     int *fds, unsigned nfds, struct vu_reply *reply)
{
	struct virtqueue *vq = vu_vq(dev, msg->payload.state.index, "SET_VRING_BASE");
	uint32_t num = msg->payload.state.num;

	if (!vq)
		return -EINVAL;
	if (vq->started)
		return -EBUSY;
	/* Packed rings carry both positions and wrap counters (see
	 * virtqueue_set_base), so SET_FEATURES must come first, as QEMU
	 * sends it. */
	if (virtqueue_set_base(vq, num)) {
		log_error("vhost-user: queue %u base %#x out of range", vq->index, num);
		return -EINVAL;
	}
	return 0;
}

static int vu_get_vring_base(struct vu_dev *dev, const struct vhost_user_msg *msg,
			     int *fds, unsigned nfds, struct vu_reply *reply)
{
	uint32_t index = msg->payload.state.index;
	struct virtqueue *vq = vu_vq(dev, index, "GET_VRING_BASE");

	/* The frontend blocks on this reply: always send one. */
	reply->send = true;
	reply->size = sizeof(reply->payload.state);
	reply->payload.state.index = index;
	reply->payload.state.num = 0;
	if (!vq)
		return -EINVAL;
	vu_queue_stop(dev, vq);
	reply->payload.state.num = virtqueue_get_base(vq);
	fd_close(&vq->kick_fd);
	return 0;
}

static int vu_set_vring_kick(struct vu_dev *dev, const struct vhost_user_msg *msg,
			     int *fds, unsigned nfds, struct vu_reply *reply)
{
	uint64_t v = msg->payload.u64;
	struct virtqueue *vq = vu_vq(dev, v & VHOST_USER_VRING_IDX_MASK, "SET_VRING_KICK");

	if (!vq)
		return -EINVAL;
	if (v & VHOST_USER_VRING_NOFD_MASK) {
		log_error("vhost-user: queue %u: polling mode (no kick fd) not supported",
			  vq->index);
		return -ENOTSUP;
	}
	/* Workers wait on the old fd: stop them before swapping it. */
	vu_queue_stop(dev, vq);
	fd_close(&vq->kick_fd);
	vq->kick_fd = fd_take(fds, 0);
	vu_queue_try_start(dev, vq);
	return 0;
}

/* Replace a notification fd that workers may use right now. */
static int vu_set_vring_fd(struct vu_dev *dev, const struct vhost_user_msg *msg, int *fds,
			   bool call)
{
	uint64_t v = msg->payload.u64;
	struct virtqueue *vq = vu_vq(dev, v & VHOST_USER_VRING_IDX_MASK,
				     call ? "SET_VRING_CALL" : "SET_VRING_ERR");
	int *slot;

	if (!vq)
		return -EINVAL;
	slot = call ? &vq->call_fd : &vq->err_fd;
	pthread_mutex_lock(&vq->lock);
	fd_close(slot);
	if (!(v & VHOST_USER_VRING_NOFD_MASK))
		*slot = fd_take(fds, 0);
	pthread_mutex_unlock(&vq->lock);
	return 0;
}

static int vu_set_vring_call(struct vu_dev *dev, const struct vhost_user_msg *msg,
			     int *fds, unsigned nfds, struct vu_reply *reply)
{
	return vu_set_vring_fd(dev, msg, fds, true);
}

static int vu_set_vring_err(struct vu_dev *dev, const struct vhost_user_msg *msg,
			    int *fds, unsigned nfds, struct vu_reply *reply)
{
	return vu_set_vring_fd(dev, msg, fds, false);
}

static int vu_set_vring_enable(struct vu_dev *dev, const struct vhost_user_msg *msg,
			       int *fds, unsigned nfds, struct vu_reply *reply)
{
	struct virtqueue *vq = vu_vq(dev, msg->payload.state.index, "SET_VRING_ENABLE");

	if (!vq)
		return -EINVAL;
	if (msg->payload.state.num > 1)
		return -EINVAL;
	vq->enabled = msg->payload.state.num;
	return 0;
}

static int vu_set_backend_req_fd(struct vu_dev *dev, const struct vhost_user_msg *msg,
				 int *fds, unsigned nfds, struct vu_reply *reply)
{
	pthread_mutex_lock(&dev->backend_lock);
	fd_close(&dev->backend_fd);
	dev->backend_fd = fd_take(fds, 0);
	pthread_mutex_unlock(&dev->backend_lock);
	return 0;
}

/* GET_SHMEM_CONFIG (the SHMEM proposal): how many VIRTIO Shared Memory
 * Regions the device needs and their sizes; shmid is the index. */
static int vu_get_shmem_config(struct vu_dev *dev, const struct vhost_user_msg *msg,
			       int *fds, unsigned nfds, struct vu_reply *reply)
{
	struct vhost_user_shmem_config *out = &reply->payload.shmem_config;

	reply->send = true;
	reply->size = sizeof(*out);
	memset(out, 0, sizeof(*out));
	if (!vu_has_protocol(dev, VHOST_USER_PROTOCOL_F_SHMEM)) {
		log_error("vhost-user: GET_SHMEM_CONFIG without VHOST_USER_PROTOCOL_F_SHMEM");
		return -ENOTSUP;
	}
	out->nregions = dev->config.shmem_count;
	for (unsigned i = 0; i < dev->config.shmem_count; i++)
		out->memory_sizes[i] = dev->config.shmem_sizes[i];
	return 0;
}

/* ---- live migration: dirty log and device state ---- */

static void vu_log_publish(struct vu_dev *dev, struct dirty_log *log)
{
	unsigned i;

	dirty_log_unref(dev->log);
	dev->log = log;
	for (i = 0; i < dev->config.queue_count; i++)
		virtqueue_set_log(&dev->vqs[i], log, dev->features & (1ull << VHOST_USER_F_LOG_ALL));
}

/* The frontend waits for a u64 reply whatever happens (LOG_SHMFD). */
static int vu_set_log_base(struct vu_dev *dev, const struct vhost_user_msg *msg,
			   int *fds, unsigned nfds, struct vu_reply *reply)
{
	const struct vhost_user_log *l = &msg->payload.log;
	struct dirty_log *log;
	int err = 0;

	if (!vu_has_protocol(dev, VHOST_USER_PROTOCOL_F_LOG_SHMFD)) {
		log_error("vhost-user: SET_LOG_BASE without LOG_SHMFD");
		return -ENOTSUP;
	}
	reply_u64(reply, 0);
	log = dirty_log_map(fds[0], l->size, l->offset, &err);
	if (!log) {
		log_error("vhost-user: cannot map the dirty log (%llu bytes at %llu): %s",
			  (unsigned long long)l->size, (unsigned long long)l->offset,
			  strerror(-err));
		reply->payload.u64 = 1;
		return err;
	}
	log_info("vhost-user: dirty log of %llu bytes (guest memory up to %llu MiB)",
		 (unsigned long long)l->size,
		 (unsigned long long)(l->size * 8 * VHOST_USER_LOG_PAGE >> 20));
	vu_log_publish(dev, log);
	return 0;
}

/* We never signal the log: the frontend reads the bitmap when it syncs. */
static int vu_set_log_fd(struct vu_dev *dev, const struct vhost_user_msg *msg,
			 int *fds, unsigned nfds, struct vu_reply *reply)
{
	return 0;
}

static void *vu_xfer_main(void *arg)
{
	struct vu_dev *dev = arg;
	const struct vu_dev_iface *iface = dev->config.iface;
	int ret;

	if (dev->xfer_direction == VHOST_USER_TRANSFER_SAVE)
		ret = iface->state_save(dev, dev->xfer_fd, dev->config.opaque);
	else
		ret = iface->state_load(dev, dev->xfer_fd, dev->config.opaque);
	/* For a save, closing is the end of the stream the frontend reads. */
	fd_close(&dev->xfer_fd);
	dev->xfer_result = ret;
	return NULL;
}

/* Wait for the transfer thread, if any; its verdict stays in xfer_result. */
static void vu_xfer_join(struct vu_dev *dev)
{
	if (!dev->xfer_running)
		return;
	pthread_join(dev->xfer_thread, NULL);
	dev->xfer_running = false;
	dev->xfer_done = true;
}

static bool vu_any_started(const struct vu_dev *dev)
{
	unsigned i;

	for (i = 0; i < dev->config.queue_count; i++)
		if (dev->vqs[i].started)
			return true;
	return false;
}

static int vu_set_device_state_fd(struct vu_dev *dev, const struct vhost_user_msg *msg,
				  int *fds, unsigned nfds, struct vu_reply *reply)
{
	const struct vhost_user_transfer_state *t = &msg->payload.transfer;
	int err;

	/* No fd of ours comes back: the frontend's pipe is as good. */
	reply_u64(reply, VHOST_USER_DEVICE_STATE_NOFD | 1);
	if (!vu_has_protocol(dev, VHOST_USER_PROTOCOL_F_DEVICE_STATE)) {
		log_error("vhost-user: SET_DEVICE_STATE_FD without DEVICE_STATE");
		return -ENOTSUP;
	}
	if (t->direction != VHOST_USER_TRANSFER_SAVE && t->direction != VHOST_USER_TRANSFER_LOAD) {
		log_error("vhost-user: state transfer direction %u unknown", t->direction);
		return -EINVAL;
	}
	if (t->phase != VHOST_USER_MIGRATION_PHASE_STOPPED) {
		log_error("vhost-user: state transfer in phase %u: only stopped (0) is supported",
			  t->phase);
		return -EINVAL;
	}
	/* A transfer the frontend gave up on (no CHECK): wait for it. */
	vu_xfer_join(dev);
	if (vu_any_started(dev)) {
		log_error("vhost-user: state transfer while queues run: the device must be stopped");
		return -EBUSY;
	}
	dev->xfer_fd = fd_take(fds, 0);
	dev->xfer_direction = t->direction;
	dev->xfer_result = -EINPROGRESS;
	dev->xfer_done = false;
	err = pthread_create(&dev->xfer_thread, NULL, vu_xfer_main, dev);
	if (err) {
		fd_close(&dev->xfer_fd);
		log_error("vhost-user: cannot start the state transfer: %s", strerror(err));
		return -err;
	}
	dev->xfer_running = true;
	log_info("vhost-user: device state %s started",
		 t->direction == VHOST_USER_TRANSFER_SAVE ? "save" : "load");
	reply->payload.u64 = VHOST_USER_DEVICE_STATE_NOFD;
	return 0;
}

static int vu_check_device_state(struct vu_dev *dev, const struct vhost_user_msg *msg,
				 int *fds, unsigned nfds, struct vu_reply *reply)
{
	int result;

	reply_u64(reply, 1);
	if (!vu_has_protocol(dev, VHOST_USER_PROTOCOL_F_DEVICE_STATE))
		return -ENOTSUP;
	vu_xfer_join(dev);
	result = dev->xfer_done ? dev->xfer_result : -ENOENT;
	dev->xfer_done = false;
	if (result) {
		log_error("vhost-user: device state %s failed: %s",
			  dev->xfer_direction == VHOST_USER_TRANSFER_SAVE ? "save" : "load",
			  strerror(-result));
	} else {
		log_info("vhost-user: device state %s done",
			 dev->xfer_direction == VHOST_USER_TRANSFER_SAVE ? "save" : "load");
		reply->payload.u64 = 0;
	}
	/* Queues configured meanwhile start now. */
	vu_try_start_all(dev);
	return 0;
}


/* GET_CONFIG answers with the config space's bytes at [offset, offset +
 * size), zeros past its end, as the Rust virtiofsd does. Every request
 * gets its reply, which the frontend waits for: a refused one (CONFIG not
 * negotiated) has size 0, the error the protocol defines. */
static int vu_get_config(struct vu_dev *dev, const struct vhost_user_msg *msg,
			 int *fds, unsigned nfds, struct vu_reply *reply)
{
	const struct vhost_user_config *in = &msg->payload.config;
	struct vhost_user_config *out = &reply->payload.config;
	const uint8_t *space = dev->config.device_config;
	uint32_t have = dev->config.device_config_size;

	reply->send = true;
	*out = (struct vhost_user_config){ .offset = in->offset, .flags = in->flags };
	reply->size = (uint32_t)offsetof(struct vhost_user_config, region);
	if (!space || !vu_has_protocol(dev, VHOST_USER_PROTOCOL_F_CONFIG)) {
		log_error("vhost-user: GET_CONFIG without VHOST_USER_PROTOCOL_F_CONFIG");
		return -ENOTSUP;
	}
	/* size <= VHOST_USER_CONFIG_MAX: vhost_user_msg_check() saw to it */
	for (uint32_t i = 0; i < in->size; i++) {
		uint64_t at = (uint64_t)in->offset + i;

		out->region[i] = at < have ? space[at] : 0;
	}
	out->size = in->size;
	reply->size += in->size;
	return 0;
}

/* The virtio-fs config space is the device's to set, never the
 * driver's (SET_CONFIG). */
static int vu_refuse(struct vu_dev *dev, const struct vhost_user_msg *msg,
		     int *fds, unsigned nfds, struct vu_reply *reply)
{
	log_error("vhost-user: %s not supported", vhost_user_request_name(msg->hdr.request));
	return -ENOTSUP;
}

static const vu_handler vu_handlers[] = {
	[VHOST_USER_GET_FEATURES] = vu_get_features,
	[VHOST_USER_SET_FEATURES] = vu_set_features,
	[VHOST_USER_SET_OWNER] = vu_set_owner,
	[VHOST_USER_RESET_OWNER] = vu_reset_device,
	[VHOST_USER_SET_MEM_TABLE] = vu_set_mem_table,
	[VHOST_USER_SET_LOG_BASE] = vu_set_log_base,
	[VHOST_USER_SET_LOG_FD] = vu_set_log_fd,
	[VHOST_USER_SET_VRING_NUM] = vu_set_vring_num,
	[VHOST_USER_SET_VRING_ADDR] = vu_set_vring_addr,
	[VHOST_USER_SET_VRING_BASE] = vu_set_vring_base,
	[VHOST_USER_GET_VRING_BASE] = vu_get_vring_base,
	[VHOST_USER_SET_VRING_KICK] = vu_set_vring_kick,
	[VHOST_USER_SET_VRING_CALL] = vu_set_vring_call,
	[VHOST_USER_SET_VRING_ERR] = vu_set_vring_err,
	[VHOST_USER_GET_PROTOCOL_FEATURES] = vu_get_protocol_features,
	[VHOST_USER_SET_PROTOCOL_FEATURES] = vu_set_protocol_features,
	[VHOST_USER_GET_QUEUE_NUM] = vu_get_queue_num,
	[VHOST_USER_SET_VRING_ENABLE] = vu_set_vring_enable,
	[VHOST_USER_SET_BACKEND_REQ_FD] = vu_set_backend_req_fd,
	[VHOST_USER_GET_CONFIG] = vu_get_config,
	[VHOST_USER_SET_CONFIG] = vu_refuse,
	[VHOST_USER_RESET_DEVICE] = vu_reset_device,
	[VHOST_USER_GET_MAX_MEM_SLOTS] = vu_get_max_mem_slots,
	[VHOST_USER_ADD_MEM_REG] = vu_add_mem_reg,
	[VHOST_USER_REM_MEM_REG] = vu_rem_mem_reg,
	[VHOST_USER_SET_DEVICE_STATE_FD] = vu_set_device_state_fd,
	[VHOST_USER_CHECK_DEVICE_STATE] = vu_check_device_state,
	[VHOST_USER_GET_SHMEM_CONFIG] = vu_get_shmem_config,
};

/* ---- socket I/O ---- */

static int sock_send_all(int fd, struct iovec *iov, int iovcnt)
{
	while (iovcnt > 0) {
		struct msghdr mh = { .msg_iov = iov, .msg_iovlen = (size_t)iovcnt };
		ssize_t n = sendmsg(fd, &mh, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		while (iovcnt > 0 && (size_t)n >= iov->iov_len) {
			n -= (ssize_t)iov->iov_len;
			iov++;
			iovcnt--;
		}
		if (iovcnt > 0) {
			iov->iov_base = (char *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
	return 0;
}

static int vu_send_reply(struct vu_dev *dev, uint32_t request, const void *payload,
			 uint32_t size)
{
	struct vhost_user_hdr hdr = {
		.request = request,
		.flags = VHOST_USER_VERSION | VHOST_USER_REPLY_MASK,
		.size = size,
	};
	struct iovec iov[2] = {
		{ .iov_base = &hdr, .iov_len = sizeof(hdr) },
		{ .iov_base = (void *)payload, .iov_len = size },
	};

	return sock_send_all(dev->conn_fd, iov, size ? 2 : 1);
}

/* Read exactly len bytes; a peer closing mid-message is a disconnect. */
static int sock_recv_exact(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = recv(fd, (char *)buf + got, len - got, 0);

		if (n == 0)
			return -ECONNRESET;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)n;
	}
	return 0;
}

static void cmsg_collect(struct msghdr *mh, int *fds, unsigned *nfds, bool *overflow)
{
	struct cmsghdr *c;

	if (mh->msg_flags & MSG_CTRUNC)
		*overflow = true;
	for (c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		size_t i, n;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
			if (*nfds < VHOST_USER_MAX_FDS) {
				fds[(*nfds)++] = fd;
			} else {
				close(fd);
				*overflow = true;
			}
		}
	}
}

/* Header plus its fds. Returns 1, 0 on a clean EOF, or -errno. */
static int vu_recv_hdr(struct vu_dev *dev, struct vhost_user_hdr *hdr, int *fds,
		       unsigned *nfds, bool *overflow)
{
	union {
		char buf[CMSG_SPACE(VHOST_USER_MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	size_t got = 0;

	*nfds = 0;
	*overflow = false;
	while (got < sizeof(*hdr)) {
		struct iovec iov = { (char *)hdr + got, sizeof(*hdr) - got };
		struct msghdr mh = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
		};
		ssize_t n = recvmsg(dev->conn_fd, &mh, MSG_CMSG_CLOEXEC);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			fds_close(fds, *nfds);
			return -errno;
		}
		cmsg_collect(&mh, fds, nfds, overflow);
		if (n == 0) {
			fds_close(fds, *nfds);
			return got ? -ECONNRESET : 0;
		}
		got += (size_t)n;
	}
	return 1;
}

/* REPLY_ACK for messages that do not answer by themselves. */
static int vu_ack(struct vu_dev *dev, const struct vhost_user_hdr *hdr, int result)
{
	uint64_t status = result ? 1 : 0;

	if (!(hdr->flags & VHOST_USER_NEED_REPLY_MASK) ||
	    !vu_has_protocol(dev, VHOST_USER_PROTOCOL_F_REPLY_ACK) ||
	    vhost_user_request_replies(hdr->request))
		return 0;
	return vu_send_reply(dev, hdr->request, &status, sizeof(status));
}

/* Receive, check, and handle one message. 1 to go on, 0 on disconnect,
 * -errno when the connection is unusable. */
static int vu_process_one(struct vu_dev *dev)
{
	struct vhost_user_msg msg;
	union vhost_user_payload discard;
	struct vu_reply reply = { .send = false };
	int fds[VHOST_USER_MAX_FDS];
	const char *why = NULL;
	unsigned nfds;
	bool overflow;
	int ret, check;

	memset(&msg, 0, sizeof(msg));
	ret = vu_recv_hdr(dev, &msg.hdr, fds, &nfds, &overflow);
	if (ret <= 0)
		return ret;
	check = vhost_user_hdr_check(&msg.hdr, &why);
	if (check == -EMSGSIZE) {
		log_error("vhost-user: %s (%u) with %u-byte payload: %s; dropping connection",
			  vhost_user_request_name(msg.hdr.request), msg.hdr.request,
			  msg.hdr.size, why);
		fds_close(fds, nfds);
		return -EPROTO;
	}
	/* The size is bounded now; a refused payload is still consumed so the
	 * next header is read from the right place. */
	ret = sock_recv_exact(dev->conn_fd, check ? (void *)&discard : (void *)&msg.payload,
			      msg.hdr.size);
	if (ret) {
		fds_close(fds, nfds);
		return ret;
	}
	if (!check && overflow) {
		check = -EINVAL;
		why = "too many fds";
	}
	if (!check)
		check = vhost_user_msg_check(&msg, nfds, &why);
	if (check) {
		log_error("vhost-user: refusing %s (%u), size %u, %u fds: %s",
			  vhost_user_request_name(msg.hdr.request), msg.hdr.request,
			  msg.hdr.size, nfds, why);
		fds_close(fds, nfds);
		return vu_ack(dev, &msg.hdr, check) ?: 1;
	}
	log_debug("vhost-user: %s", vhost_user_request_name(msg.hdr.request));
	if (msg.hdr.request >= sizeof(vu_handlers) / sizeof(vu_handlers[0]) ||
	    !vu_handlers[msg.hdr.request])
		ret = vu_refuse(dev, &msg, fds, nfds, &reply);
	else
		ret = vu_handlers[msg.hdr.request](dev, &msg, fds, nfds, &reply);
	fds_close(fds, nfds);
	if (reply.send)
		ret = vu_send_reply(dev, msg.hdr.request, &reply.payload, reply.size);
	else
		ret = vu_ack(dev, &msg.hdr, ret);
	return ret ?: 1;
}

/* ---- device ---- */

struct vu_dev *vu_dev_new(int conn_fd, const struct vu_dev_config *config)
{
	struct vu_dev *dev;
	unsigned i;

	if (!config || !config->iface || !config->iface->queue_start ||
	    !config->iface->queue_stop || config->queue_count == 0 ||
	    config->queue_count > VHOST_USER_MAX_QUEUES ||
	    config->device_config_size > VU_DEVICE_CONFIG_MAX ||
	    (config->device_config && !config->device_config_size) ||
	    config->shmem_count > VU_SHMEM_MAX_REGIONS) {
		close(conn_fd);
		errno = EINVAL;
		return NULL;
	}
	dev = calloc(1, sizeof(*dev));
	if (!dev) {
		close(conn_fd);
		return NULL;
	}
	dev->conn_fd = conn_fd;
	dev->backend_fd = -1;
	dev->xfer_fd = -1;
	dev->config = *config;
	if (pthread_mutex_init(&dev->backend_lock, NULL) != 0) {
		close(conn_fd);
		free(dev);
		return NULL;
	}
	guest_memory_slot_init(&dev->mem_slot);
	for (i = 0; i < config->queue_count; i++)
		virtqueue_init(&dev->vqs[i], i, &dev->mem_slot);
	return dev;
}

int vu_dev_run(struct vu_dev *dev)
{
	int ret;

	do {
		ret = vu_process_one(dev);
	} while (ret > 0);
	vu_xfer_join(dev);
	vu_stop_all(dev);
	if (ret == 0 || ret == -ECONNRESET || ret == -EPIPE) {
		log_info("vhost-user: frontend disconnected");
		return 0;
	}
	log_error("vhost-user: connection failed: %s", strerror(-ret));
	return ret;
}

void vu_dev_free(struct vu_dev *dev)
{
	unsigned i;

	if (!dev)
		return;
	vu_xfer_join(dev);
	vu_stop_all(dev);
	for (i = 0; i < dev->config.queue_count; i++)
		virtqueue_destroy(&dev->vqs[i]);
	dirty_log_unref(dev->log);
	guest_memory_slot_destroy(&dev->mem_slot);
	fd_close(&dev->backend_fd);
	fd_close(&dev->conn_fd);
	pthread_mutex_destroy(&dev->backend_lock);
	free(dev);
}

/* ---- listening socket ---- */

static int group_lookup(const char *name, gid_t *gid)
{
	long max = sysconf(_SC_GETGR_R_SIZE_MAX);
	size_t len = max > 0 ? (size_t)max : 16384;
	struct group grp, *res = NULL;
	char *buf = malloc(len);
	int ret;

	if (!buf)
		return -ENOMEM;
	ret = getgrnam_r(name, &grp, buf, len, &res);
	if (ret == 0 && res)
		*gid = res->gr_gid;
	free(buf);
	if (ret)
		return -ret;
	return res ? 0 : -ENOENT;
}

/* Only a socket is removed: a regular file at that path is someone's data. */
static int unlink_stale_socket(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

/* Binds fd to the temporary name, gives it its owner and mode, makes it
 * listen and renames it into place; the temporary name is gone on every
 * return. */
static int socket_publish(int fd, const struct sockaddr_un *tmp, const char *path,
			  const char *group_name, gid_t gid)
{
	int ret;

	if (bind(fd, (const struct sockaddr *)tmp, sizeof(*tmp)) < 0)
		return -errno;
	if (chmod(tmp->sun_path, group_name ? 0660 : 0600) < 0 ||
	    (group_name && chown(tmp->sun_path, (uid_t)-1, gid) < 0) ||
	    listen(fd, 1) < 0 || rename(tmp->sun_path, path) < 0) {
		ret = -errno;
		unlink(tmp->sun_path);
		return ret;
	}
	return 0;
}

/* Held while the temporary name exists: a stop signal's default action
 * would leave it behind, and no one else knows its name to remove it.
 * Faults are not held: they cannot wait. */
static void signals_hold(sigset_t *caller)
{
	static const int faults[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS, SIGABRT };
	sigset_t all;

	sigfillset(&all);
	for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++)
		sigdelset(&all, faults[i]);
	sigprocmask(SIG_BLOCK, &all, caller);
}

/* The socket is bound under a temporary name, given its owner and mode,
 * made to listen, and only then renamed into place: whoever sees the
 * path (a VMM polling for it) can connect at once, and nobody can connect
 * while it is still world-accessible (the daemon runs with umask 0). */
int vhost_user_listen(const char *path, const char *group_name)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	sigset_t caller;
	gid_t gid = 0;
	int fd, ret;

	if (!path)
		return -EINVAL;
	int len = snprintf(addr.sun_path, sizeof(addr.sun_path), "%s.%d.tmp", path, getpid());
	if (len < 0 || (size_t)len >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	if (group_name) {
		ret = group_lookup(group_name, &gid);
		if (ret)
			return ret;
	}
	ret = unlink_stale_socket(path);
	if (ret)
		return ret;
	unlink(addr.sun_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (fchmod(fd, 0600) < 0) {
		ret = -errno;
		goto fail;
	}
	signals_hold(&caller);
	ret = socket_publish(fd, &addr, path, group_name, gid);
	sigprocmask(SIG_SETMASK, &caller, NULL);
	if (ret == 0)
		return fd;
fail:
	close(fd);
	return ret;
}

int vhost_user_accept(int listen_fd)
{
	int fd;

	do {
		fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	} while (fd < 0 && errno == EINTR);
	return fd < 0 ? -errno : fd;
}
