/* fuzz_vhost_user_msg.c: the fuzz input is a stream of vhost-user messages
 * sent over a socketpair to vu_dev_run() in-process, as a hostile frontend
 * would. Before each message one control byte chooses the fds attached to
 * it (fds cannot come from the input): how many (0..10, more than the 8 a
 * message may carry included) and what kind (zeroed memfd, memfd holding
 * the rest of the input so rings can be described, eventfd, pipe).
 *
 * Input: repeated { u8 control; hdr (12 bytes); min(hdr.size, left) payload }.
 * control: bits 0-3 fd count (values above 10 mean 0), bits 4-5 fd kind,
 * bit 6 "fix version": force the version bits to 1 and clear REPLY.
 *
 * queue_start pops and pushes a bounded number of chains synchronously so
 * the rings the frontend describes are walked too. Invariants: no crash or
 * sanitizer report, no leak (LeakSanitizer), no fd leak, no hang (the
 * helper threads end when the backend closes its end). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "vhost_user/vhost_user.h"
#include "vhost_user/vhost_user_msg.h"

#define MEMFD_SIZE	(16 * 1024)
#define MAX_FDS_PER_INPUT 128
#define MAX_POPS	64

struct sent_msg {
	uint8_t *bytes;
	size_t len;
	int fds[10];
	unsigned nfds;
};

struct writer {
	int sock;
	struct sent_msg *msgs;
	unsigned count;
};

static int make_fd(unsigned kind, const uint8_t *rest, size_t rest_len)
{
	int fd = -1, p[2];

	switch (kind) {
	case 0:
	case 1:
		fd = memfd_create("fuzz-ram", MFD_CLOEXEC);
		if (fd < 0 || ftruncate(fd, MEMFD_SIZE) < 0)
			abort();
		if (kind == 1 && rest_len) {
			size_t n = rest_len < MEMFD_SIZE ? rest_len : MEMFD_SIZE;

			if (pwrite(fd, rest, n, 0) != (ssize_t)n)
				abort();
		}
		return fd;
	case 2:
		fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (fd < 0)
			abort();
		return fd;
	default:
		if (pipe2(p, O_CLOEXEC) < 0)
			abort();
		close(p[1]);
		return p[0];
	}
}

static int send_msg(int sock, const struct sent_msg *m)
{
	union {
		char buf[CMSG_SPACE(10 * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { m->bytes, m->len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	size_t off = 0;

	if (m->nfds) {
		struct cmsghdr *c;

		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(m->nfds * sizeof(int));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(m->nfds * sizeof(int));
		memcpy(CMSG_DATA(c), m->fds, m->nfds * sizeof(int));
	}
	while (off < m->len) {
		ssize_t n;

		iov.iov_base = m->bytes + off;
		iov.iov_len = m->len - off;
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		off += (size_t)n;
		/* fds go with the first byte only */
		mh.msg_control = NULL;
		mh.msg_controllen = 0;
	}
	return 0;
}

static void *writer_thread(void *arg)
{
	struct writer *w = arg;
	unsigned i;

	for (i = 0; i < w->count; i++)
		if (send_msg(w->sock, &w->msgs[i]) < 0)
			break;
	shutdown(w->sock, SHUT_WR);
	return NULL;
}

/* Reads the backend's replies until it closes, checking each is well
 * formed: version 1 with the REPLY flag, a payload no larger than any
 * message, and a type we sent. */
static void *drain_thread(void *arg)
{
	int sock = *(int *)arg;
	uint8_t buf[8192];
	size_t have = 0;

	for (;;) {
		ssize_t n = recv(sock, buf + have, sizeof(buf) - have, 0);
		struct vhost_user_hdr hdr;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		have += (size_t)n;
		while (have >= sizeof(hdr)) {
			memcpy(&hdr, buf, sizeof(hdr));
			FUZZ_CHECK(hdr.flags == (VHOST_USER_VERSION | VHOST_USER_REPLY_MASK),
				   "reply flags 0x%x", hdr.flags);
			FUZZ_CHECK(hdr.size <= VHOST_USER_MAX_PAYLOAD, "reply size %u", hdr.size);
			FUZZ_CHECK(hdr.request != VHOST_USER_NONE &&
				   strcmp(vhost_user_request_name(hdr.request), "unknown") != 0 ||
				   hdr.size == sizeof(uint64_t),
				   "reply to request %u of %u bytes", hdr.request, hdr.size);
			if (have < sizeof(hdr) + hdr.size)
				break;
			have -= sizeof(hdr) + hdr.size;
			memmove(buf, buf + sizeof(hdr) + hdr.size, have);
		}
	}
	FUZZ_CHECK(have == 0, "%zu bytes of a truncated reply", have);
	return NULL;
}

/* Walk what the frontend put in the rings. */
static void cb_start(struct vu_dev *dev, struct virtqueue *vq, void *opaque)
{
	unsigned i, j;

	for (i = 0; i < MAX_POPS; i++) {
		struct vq_elem *elem;
		size_t in_len = 0;

		if (virtqueue_pop(vq, &elem) != 1)
			break;
		FUZZ_CHECK(elem->out == elem->iov && elem->in == elem->iov + elem->out_count,
			   "element layout");
		for (j = 0; j < elem->out_count; j++) {
			volatile const uint8_t *p = elem->out[j].iov_base;

			if (elem->out[j].iov_len)
				(void)p[elem->out[j].iov_len - 1]; /* readable (ASan/SEGV) */
		}
		for (j = 0; j < elem->in_count; j++) {
			memset(elem->in[j].iov_base, 0xa5, elem->in[j].iov_len);
			in_len += elem->in[j].iov_len;
		}
		virtqueue_push(vq, elem, (uint32_t)(in_len + (i & 1)));
	}
	virtqueue_set_notification(vq, true);
	(void)virtqueue_has_pending(vq);
}

static void cb_stop(struct vu_dev *dev, struct virtqueue *vq, void *opaque)
{
}

static const struct vu_dev_iface iface = {
	.device_features = 0,
	.queue_start = cb_start,
	.queue_stop = cb_stop,
};

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_log_setup();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size, 0 };
	struct sent_msg *msgs = calloc(size / 13 + 1, sizeof(*msgs));
	/* a DAX window in both flavours: SHMEM and BACKEND_SEND_FD are
	 * offered, GET_SHMEM_CONFIG answers */
	struct vu_dev_config config = { .queue_count = 2, .iface = &iface, .shmem_count = 1,
					.shmem_sizes = { 8u << 20 }, .backend_send_fd = true };
	struct writer w;
	struct vu_dev *dev;
	pthread_t wt, dt;
	unsigned count = 0, fds_total = 0, i;
	int sv[2], fds_before = fuzz_count_fds();

	if (!msgs)
		abort();
	while (fuzz_left(&in) >= 1 + VHOST_USER_HDR_SIZE) {
		struct sent_msg *m = &msgs[count++];
		uint8_t control = fuzz_u8(&in);
		struct vhost_user_hdr hdr;
		const uint8_t *payload;
		size_t plen;
		unsigned nfds = control & 0x0f, kind = (control >> 4) & 3;

		hdr.request = fuzz_u32(&in);
		hdr.flags = fuzz_u32(&in);
		hdr.size = fuzz_u32(&in);
		if (control & 0x40)
			hdr.flags = (hdr.flags & ~(VHOST_USER_VERSION_MASK | VHOST_USER_REPLY_MASK)) |
				    VHOST_USER_VERSION;
		plen = fuzz_take(&in, &payload, hdr.size);
		m->len = sizeof(hdr) + plen;
		m->bytes = malloc(m->len);
		if (!m->bytes)
			abort();
		memcpy(m->bytes, &hdr, sizeof(hdr));
		memcpy(m->bytes + sizeof(hdr), payload, plen);
		if (nfds > 10 || fds_total + nfds > MAX_FDS_PER_INPUT)
			nfds = 0;
		for (i = 0; i < nfds; i++)
			m->fds[i] = make_fd(kind, in.data + in.pos, fuzz_left(&in));
		m->nfds = nfds;
		fds_total += nfds;
	}

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	dev = vu_dev_new(sv[1], &config);
	FUZZ_CHECK(dev, "vu_dev_new");
	w = (struct writer){ .sock = sv[0], .msgs = msgs, .count = count };
	if (pthread_create(&wt, NULL, writer_thread, &w) || pthread_create(&dt, NULL, drain_thread, &sv[0]))
		abort();
	(void)vu_dev_run(dev);
	vu_dev_free(dev); /* closes sv[1]: the writer and the drain thread end */
	pthread_join(wt, NULL);
	pthread_join(dt, NULL);
	close(sv[0]);

	for (i = 0; i < count; i++) {
		unsigned j;

		for (j = 0; j < msgs[i].nfds; j++)
			close(msgs[i].fds[j]);
		free(msgs[i].bytes);
	}
	free(msgs);
	FUZZ_CHECK(fuzz_count_fds() == fds_before, "fd leak: %d open before, %d after",
		   fds_before, fuzz_count_fds());
	return 0;
}
