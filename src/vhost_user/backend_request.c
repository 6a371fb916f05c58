/* backend_request.c: requests the backend sends the frontend on the
 * SET_BACKEND_REQ_FD channel (SHMEM_MAP/UNMAP of the SHMEM proposal, the
 * legacy FS_MAP/FS_UNMAP), each answered by a REPLY_ACK the sender waits
 * for: the caller must know whether the frontend really mapped. */
#include "vhost_user/vhost_user_internal.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"
#include "vhost_user/vhost_user_msg.h"

static bool has_protocol(const struct vu_dev *dev, unsigned bit)
{
	return dev->protocol_features & (1ull << bit);
}

/* Called with backend_lock held. */
static bool channel_usable(const struct vu_dev *dev)
{
	return dev->backend_fd >= 0 && has_protocol(dev, VHOST_USER_PROTOCOL_F_BACKEND_REQ) &&
	       has_protocol(dev, VHOST_USER_PROTOCOL_F_REPLY_ACK);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Exactly len bytes before the deadline. */
static int recv_deadline(int fd, void *buf, size_t len, int64_t deadline)
{
	size_t got = 0;

	while (got < len) {
		int64_t left = deadline - now_ms();
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&pfd, 1, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ETIMEDOUT;
		n = recv(fd, (char *)buf + got, len - got, MSG_DONTWAIT);
		if (n == 0)
			return -ECONNRESET;
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		got += (size_t)n;
	}
	return 0;
}

static int send_request(int sock, uint32_t request, const void *payload, uint32_t size,
			int fd)
{
	struct vhost_user_hdr hdr = {
		.request = request,
		.flags = VHOST_USER_VERSION | VHOST_USER_NEED_REPLY_MASK,
		.size = size,
	};
	struct iovec iov[2] = {
		{ .iov_base = &hdr, .iov_len = sizeof(hdr) },
		{ .iov_base = (void *)payload, .iov_len = size },
	};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	ssize_t n;

	if (fd >= 0) {
		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	/* One sendmsg: the payload is small, a short send is a broken
	 * channel (the fd went with its first byte). */
	do {
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == sizeof(hdr) + size ? 0 : -EIO;
}

static int recv_ack(int sock, uint32_t request)
{
	int64_t deadline = now_ms() + VU_BACKEND_REPLY_TIMEOUT_MS;
	struct vhost_user_hdr hdr;
	uint64_t status;
	int err = recv_deadline(sock, &hdr, sizeof(hdr), deadline);

	if (err)
		return err;
	if (hdr.request != request || !(hdr.flags & VHOST_USER_REPLY_MASK) ||
	    hdr.size != sizeof(status))
		return -EPROTO;
	err = recv_deadline(sock, &status, sizeof(status), deadline);
	if (err)
		return err;
	return status == 0 ? 0 : -EIO;
}

/* Send one request and wait for its answer; a channel that fails in the
 * middle is closed, as the next answer could no longer be matched. */
static int backend_request(struct vu_dev *dev, uint32_t request, const void *payload,
			   uint32_t size, int fd, unsigned needed_bit)
{
	int err;

	pthread_mutex_lock(&dev->backend_lock);
	if (!channel_usable(dev) || !has_protocol(dev, needed_bit)) {
		err = -ENOTCONN;
		goto out;
	}
	err = send_request(dev->backend_fd, request, payload, size, fd);
	if (!err)
		err = recv_ack(dev->backend_fd, request);
	if (err && err != -EIO) {
		log_error("vhost-user: backend request %u: %s; dropping the channel", request,
			  strerror(-err));
		close(dev->backend_fd);
		dev->backend_fd = -1;
	}
out:
	pthread_mutex_unlock(&dev->backend_lock);
	return err;
}

uint64_t vu_dev_shmem_ready(struct vu_dev *dev, uint8_t shmid)
{
	uint64_t size = 0;

	pthread_mutex_lock(&dev->backend_lock);
	if (channel_usable(dev) && has_protocol(dev, VHOST_USER_PROTOCOL_F_SHMEM) &&
	    shmid < dev->config.shmem_count)
		size = dev->config.shmem_sizes[shmid];
	pthread_mutex_unlock(&dev->backend_lock);
	return size;
}

int vu_dev_shmem_map(struct vu_dev *dev, uint8_t shmid, int fd, uint64_t fd_offset,
		     uint64_t shm_offset, uint64_t len, bool writable)
{
	struct vhost_user_mmap m = {
		.shmid = shmid, .fd_offset = fd_offset, .shm_offset = shm_offset, .len = len,
		.flags = writable ? VHOST_USER_FLAG_MAP_RW : 0,
	};

	return backend_request(dev, VHOST_USER_BACKEND_SHMEM_MAP, &m, sizeof(m), fd,
			       VHOST_USER_PROTOCOL_F_SHMEM);
}

int vu_dev_shmem_unmap(struct vu_dev *dev, uint8_t shmid, uint64_t shm_offset, uint64_t len)
{
	struct vhost_user_mmap m = { .shmid = shmid, .shm_offset = shm_offset, .len = len };

	return backend_request(dev, VHOST_USER_BACKEND_SHMEM_UNMAP, &m, sizeof(m), -1,
			       VHOST_USER_PROTOCOL_F_SHMEM);
}

bool vu_dev_fs_map_ready(struct vu_dev *dev)
{
	bool ready;

	pthread_mutex_lock(&dev->backend_lock);
	ready = channel_usable(dev) && has_protocol(dev, VHOST_USER_PROTOCOL_F_BACKEND_SEND_FD);
	pthread_mutex_unlock(&dev->backend_lock);
	return ready;
}

/* One range per message: the wire has room for eight, but the window maps
 * and unmaps one at a time, and an all-or-nothing answer for several
 * would leave us not knowing which of them the frontend holds. */
int vu_dev_fs_map(struct vu_dev *dev, int fd, uint64_t fd_offset, uint64_t cache_offset,
		  uint64_t len, bool writable)
{
	struct vhost_user_fs_backend_msg m = { 0 };

	m.fd_offset[0] = fd_offset;
	m.cache_offset[0] = cache_offset;
	m.len[0] = len;
	m.flags[0] = VHOST_USER_FS_FLAG_MAP_R | (writable ? VHOST_USER_FS_FLAG_MAP_W : 0);
	return backend_request(dev, VHOST_USER_BACKEND_FS_MAP, &m, sizeof(m), fd,
			       VHOST_USER_PROTOCOL_F_BACKEND_SEND_FD);
}

int vu_dev_fs_unmap(struct vu_dev *dev, uint64_t cache_offset, uint64_t len)
{
	struct vhost_user_fs_backend_msg m = { 0 };

	m.cache_offset[0] = cache_offset;
	m.len[0] = len;
	return backend_request(dev, VHOST_USER_BACKEND_FS_UNMAP, &m, sizeof(m), -1,
			       VHOST_USER_PROTOCOL_F_BACKEND_SEND_FD);
}
