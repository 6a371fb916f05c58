/* fuzz_virtqueue_packed.c: a packed virtqueue (VIRTIO_F_RING_PACKED) over
 * guest memory whose every byte (descriptor ring, event suppression areas,
 * indirect tables, buffers) comes from the fuzz input. Guest RAM is two
 * adjacent 4 KiB memfd regions (gpa 0x0000 and 0x1000, user addresses
 * BIAS + gpa), so chains straddling them are common.
 *
 * Input: u8 log2(size) (size 1..256); u8 flags (bit0 EVENT_IDX, bit1 push
 * each element at once rather than all at the end, bit2 call eventfd,
 * bit3 toggle notification suppression, bit4 push in reverse order);
 * u32 SET_VRING_BASE value (avail position and wrap counter, used
 * position and wrap counter; bit 5 of flags clear: the honest start
 * 0x80008000); u16 ring, driver area, device area offsets (user address =
 * BIAS + offset); u16 push-length seed; then up to 8 KiB of guest RAM.
 *
 * Invariants: every popped element's iovecs lie inside one mapped region
 * each, out before in, at most VQ_MAX_IOV; a reference walker that follows
 * the packed rules independently (every descriptor available with the
 * wrap counter of its position, a chain delimited within the descriptors
 * not in flight, indirect only alone, its table whole descriptors in
 * memory with no nested table, readable before writable, the id of the
 * last descriptor in range and not in flight) agrees on validity, buffer
 * id, descriptor count and out / in byte and piece counts. Consumed and
 * not used never exceeds the ring. Each push writes one used descriptor
 * at the used position with the element's id, the clamped length and the
 * used wrap bits, and moves on by the element's descriptors. An empty
 * ring with kicks asked for (EVENT_IDX) has the kick position at its end. */
#include <errno.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/virtio_ring.h>

#include "fuzz_common.h"
#include "vhost_user/guest_memory.h"
#include "vhost_user/virtqueue.h"

#define REGION_SIZE	4096u
#define RAM_SIZE	(2 * REGION_SIZE)
#define UVA_BIAS	0x7f0000000000ull
#define VQ_MAX_IOV_REF	(1024 + 8)	/* virtqueue_internal.h VQ_MAX_IOV */
#define VQ_MAX_IND_REF	VQ_MAX_IOV_REF	/* VQ_MAX_INDIRECT */
#define MAX_ELEMS	1024
#define P_AVAIL		(1u << VRING_PACKED_DESC_F_AVAIL)
#define P_USED		(1u << VRING_PACKED_DESC_F_USED)

static int call_fd = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_log_setup();
	call_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return call_fd < 0 ? -1 : 0;
}

struct ram {
	uint8_t *base[2];
	/* 4 bytes the device writes after its walk (the device event area):
	 * a table read there may have changed since, so no comparison then */
	uint64_t dev_gpa;
};

static void *ram_ptr(const struct ram *ram, uint64_t gpa)
{
	return ram->base[gpa / REGION_SIZE] + gpa % REGION_SIZE;
}

static bool in_ram(uint64_t gpa, uint64_t len)
{
	return gpa <= RAM_SIZE && len <= RAM_SIZE - gpa;
}

struct ref_result {
	bool valid;
	bool aliased;
	uint16_t id, ndescs;
	unsigned out_count, in_count;
	uint64_t out_bytes, in_bytes;
};

static void ref_read(const struct ram *ram, uint64_t gpa, struct vring_packed_desc *d,
		     struct ref_result *r)
{
	uint8_t raw[sizeof(*d)];
	unsigned i;

	for (i = 0; i < sizeof(raw); i++)
		raw[i] = *(uint8_t *)ram_ptr(ram, gpa + i);
	memcpy(d, raw, sizeof(*d));
	if (gpa < ram->dev_gpa + 4 && ram->dev_gpa < gpa + sizeof(*d))
		r->aliased = true;
}

/* One buffer; false when it breaks the rules. */
static bool ref_buffer(struct ref_result *r, uint64_t addr, uint32_t len, bool write,
		       bool *seen_write, unsigned *count)
{
	unsigned pieces;

	if (write)
		*seen_write = true;
	else if (*seen_write)
		return false;
	if (!len)
		return true;
	if (!in_ram(addr, len))
		return false;
	pieces = (addr < REGION_SIZE && addr + len > REGION_SIZE) ? 2 : 1;
	if (*count + pieces > VQ_MAX_IOV_REF)
		return false;
	*count += pieces;
	if (write) {
		r->in_count += pieces;
		r->in_bytes += len;
	} else {
		r->out_count += pieces;
		r->out_bytes += len;
	}
	return true;
}

static bool ref_indirect(const struct ram *ram, const struct vring_packed_desc *d,
			 struct ref_result *r, bool *seen_write, unsigned *count)
{
	struct vring_packed_desc e;
	unsigned i, n;

	if (d->len == 0 || d->len % 16 || d->len / 16 > VQ_MAX_IND_REF || !in_ram(d->addr, d->len))
		return false;
	n = d->len / 16;
	for (i = 0; i < n; i++) {
		ref_read(ram, d->addr + 16ull * i, &e, r);
		if (e.flags & VRING_DESC_F_INDIRECT)
			return false;
		if (!ref_buffer(r, e.addr, e.len, e.flags & VRING_DESC_F_WRITE, seen_write, count))
			return false;
	}
	return true;
}

/* Independent model of the chain at (pos, wrap) with limit descriptors
 * not in flight and the ids in flight in busy. */
static void ref_walk(const struct ram *ram, uint64_t ring_gpa, unsigned size, uint16_t pos,
		     bool wrap, unsigned limit, const bool *busy, struct ref_result *r)
{
	bool seen_write = false, ok = true;
	struct vring_packed_desc d;
	unsigned count = 0;

	memset(r, 0, sizeof(*r));
	for (;;) {
		ref_read(ram, ring_gpa + 16ull * pos, &d, r);
		if (!!(d.flags & P_AVAIL) != wrap || !!(d.flags & P_USED) == wrap)
			return;                 /* not available: no end */
		r->ndescs++;
		r->id = d.id;
		if (ok && (d.flags & VRING_DESC_F_INDIRECT))
			ok = r->ndescs == 1 && !(d.flags & VRING_DESC_F_NEXT) &&
			     ref_indirect(ram, &d, r, &seen_write, &count);
		else if (ok)
			ok = ref_buffer(r, d.addr, d.len, d.flags & VRING_DESC_F_WRITE, &seen_write,
					&count);
		if (!(d.flags & VRING_DESC_F_NEXT))
			break;
		if (r->ndescs == limit)
			return;
		if (++pos == size) {
			pos = 0;
			wrap = !wrap;
		}
	}
	r->valid = ok && r->id < size && !busy[r->id];
}

static void check_iov(const struct ram *ram, const struct iovec *iov)
{
	const uint8_t *p = iov->iov_base;
	unsigned k;

	FUZZ_CHECK(iov->iov_len > 0, "empty iovec in an element");
	for (k = 0; k < 2; k++) {
		if (p >= ram->base[k] && p < ram->base[k] + REGION_SIZE) {
			FUZZ_CHECK(iov->iov_len <= (size_t)(ram->base[k] + REGION_SIZE - p),
				   "iovec %p+%zu runs past region %u", (void *)p, iov->iov_len, k);
			return;
		}
	}
	FUZZ_CHECK(false, "iovec %p+%zu outside guest memory", (void *)p, iov->iov_len);
}

static unsigned lap(unsigned size, uint16_t pos, bool wrap)
{
	return pos + (wrap ? 0 : size);
}

static unsigned outstanding(const struct virtqueue *vq)
{
	unsigned laps = 2u * vq->size;

	return (lap(vq->size, vq->last_avail_idx, vq->avail_wrap) + laps -
		lap(vq->size, vq->used_idx, vq->used_wrap)) % laps;
}

static void check_push(struct virtqueue *vq, const struct ram *ram, uint64_t ring_off,
		       struct vq_elem *elem, uint32_t len)
{
	uint64_t in_bytes = 0;
	uint16_t pos = vq->used_idx, id = elem->head, nd = elem->ndescs, want;
	bool wrap = vq->used_wrap;
	struct vring_packed_desc *u = ram_ptr(ram, ring_off + 16ull * pos);
	unsigned i;

	for (i = 0; i < elem->in_count; i++)
		in_bytes += elem->in[i].iov_len;
	virtqueue_push(vq, elem, len);
	want = (uint16_t)(len < in_bytes ? len : in_bytes);
	FUZZ_CHECK(u->id == id && u->len == want, "used descriptor %u: id %u len %u, pushed %u %u",
		   pos, u->id, u->len, id, want);
	FUZZ_CHECK((u->flags & (P_AVAIL | P_USED)) == (wrap ? (P_AVAIL | P_USED) : 0) &&
		   !!(u->flags & VRING_DESC_F_WRITE) == (want != 0),
		   "used descriptor %u flags %#x (wrap %u)", pos, u->flags, wrap);
	pos = (uint16_t)(pos + nd);
	if (pos >= vq->size) {
		pos = (uint16_t)(pos - vq->size);
		wrap = !wrap;
	}
	FUZZ_CHECK(vq->used_idx == pos && vq->used_wrap == wrap, "used position %u/%u, want %u/%u",
		   vq->used_idx, vq->used_wrap, pos, wrap);
}

static void check_empty_armed(const struct virtqueue *vq, bool clobbered)
{
	const struct vring_packed_desc_event *ev = vq->device_event;
	uint16_t want = (uint16_t)(vq->last_avail_idx | (vq->avail_wrap ? 0x8000 : 0));

	if (!vq->event_idx || vq->notify_off || clobbered)
		return;
	FUZZ_CHECK(ev->flags == VRING_PACKED_EVENT_FLAG_DESC && ev->off_wrap == want,
		   "empty ring with kicks on, but device event %#x/%u, want %#x", ev->off_wrap,
		   ev->flags, want);
}

static void map_region(struct guest_region *r, unsigned k, const uint8_t *content, size_t clen)
{
	int fd = memfd_create("fuzz-vqp", MFD_CLOEXEC);
	size_t part = clen > k * REGION_SIZE ? clen - k * REGION_SIZE : 0;

	if (fd < 0 || ftruncate(fd, REGION_SIZE) < 0)
		abort();
	if (part > REGION_SIZE)
		part = REGION_SIZE;
	if (part && pwrite(fd, content + k * REGION_SIZE, part, 0) != (ssize_t)part)
		abort();
	memset(r, 0, sizeof(*r));
	r->guest_phys_addr = k * REGION_SIZE;
	r->size = REGION_SIZE;
	r->user_addr = UVA_BIAS + k * REGION_SIZE;
	r->fd = fd;
	FUZZ_CHECK(guest_region_map(r) == 0, "map");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size, 0 };
	unsigned qsize = 1u << (fuzz_u8(&in) % 9);
	uint8_t flags = fuzz_u8(&in);
	uint32_t base = fuzz_u32(&in);
	uint16_t ring_off = fuzz_u16(&in), drv_off = fuzz_u16(&in), dev_off = fuzz_u16(&in);
	uint16_t len_seed = fuzz_u16(&in);
	struct guest_region regs[2];
	struct guest_memory_slot slot;
	struct guest_memory *mem;
	struct virtqueue vq;
	struct ram ram = { { NULL, NULL }, 0 };
	struct vq_elem **elems = calloc(MAX_ELEMS, sizeof(*elems));
	bool *busy = calloc(qsize, sizeof(*busy));
	const uint8_t *content;
	size_t clen = fuzz_take(&in, &content, RAM_SIZE);
	unsigned n = 0, i, k, iterations = 0;
	bool clobbered = false;
	int fds_before = fuzz_count_fds();

	if (!elems || !busy)
		abort();
	if (!(flags & 32))
		base = 0x80008000u;
	for (k = 0; k < 2; k++)
		map_region(&regs[k], k, content, clen);
	mem = guest_memory_new(regs, 2);
	FUZZ_CHECK(mem, "guest_memory_new");
	ram.base[0] = (uint8_t *)mem->regions[0].mmap_base + mem->regions[0].mmap_offset;
	ram.base[1] = (uint8_t *)mem->regions[1].mmap_base + mem->regions[1].mmap_offset;
	ram.dev_gpa = dev_off;
	guest_memory_slot_init(&slot);
	guest_memory_slot_replace(&slot, mem);

	virtqueue_init(&vq, 0, &slot);
	vq.size = (uint16_t)qsize;
	vq.packed = true;
	vq.desc_user_addr = UVA_BIAS + ring_off;
	vq.avail_user_addr = UVA_BIAS + drv_off;
	vq.used_user_addr = UVA_BIAS + dev_off;
	vq.event_idx = flags & 1;
	(void)virtqueue_set_base(&vq, base);
	if (flags & 4)
		vq.call_fd = dup(call_fd);
	if (virtqueue_map_rings(&vq) != 0)
		goto out;
	FUZZ_CHECK(virtqueue_get_base(&vq) == base, "base %#x read back as %#x", base,
		   virtqueue_get_base(&vq));

	while (iterations++ < 2 * qsize + 8) {
		struct vq_elem *elem;
		struct ref_result ref;
		uint64_t out_bytes = 0, in_bytes = 0;
		uint16_t start;
		bool start_wrap;
		int ret;

		if (flags & 8)
			virtqueue_set_notification(&vq, iterations & 1);
		ret = virtqueue_pop(&vq, &elem);
		FUZZ_CHECK(ret == 0 || ret == 1 || ret == -EAGAIN, "pop returned %d", ret);
		FUZZ_CHECK(outstanding(&vq) <= qsize, "%u descriptors consumed and not used (size %u)",
			   outstanding(&vq), qsize);
		if (ret == -EAGAIN)
			continue;
		if (ret == 0) {
			check_empty_armed(&vq, clobbered);
			break;
		}
		FUZZ_CHECK(elem->head < qsize && !busy[elem->head], "id %u (size %u) given twice",
			   elem->head, qsize);
		FUZZ_CHECK(elem->ndescs >= 1 && elem->ndescs <= qsize, "%u descriptors",
			   elem->ndescs);
		FUZZ_CHECK(elem->out == elem->iov && elem->in == elem->iov + elem->out_count,
			   "out iovecs must come first, then in iovecs");
		FUZZ_CHECK(elem->out_count + elem->in_count <= VQ_MAX_IOV_REF, "%u + %u iovecs",
			   elem->out_count, elem->in_count);
		for (i = 0; i < elem->out_count + elem->in_count; i++) {
			check_iov(&ram, &elem->iov[i]);
			if (i < elem->out_count)
				out_bytes += elem->iov[i].iov_len;
			else
				in_bytes += elem->iov[i].iov_len;
		}
		/* Where the chain started: ndescs before the new position. */
		start_wrap = vq.avail_wrap;
		if (vq.last_avail_idx >= elem->ndescs) {
			start = (uint16_t)(vq.last_avail_idx - elem->ndescs);
		} else {
			start = (uint16_t)(vq.last_avail_idx + qsize - elem->ndescs);
			start_wrap = !start_wrap;
		}
		ref_walk(&ram, ring_off, qsize, start, start_wrap,
			 qsize - (outstanding(&vq) - elem->ndescs), busy, &ref);
		if (!ref.aliased) {
			FUZZ_CHECK(ref.valid, "popped chain at %u (id %u) is invalid by the rules",
				   start, elem->head);
			FUZZ_CHECK(ref.id == elem->head && ref.ndescs == elem->ndescs &&
				   ref.out_bytes == out_bytes && ref.in_bytes == in_bytes &&
				   ref.out_count == elem->out_count && ref.in_count == elem->in_count,
				   "chain at %u: popped id %u/%u descs, out %llu/%u in %llu/%u; "
				   "expected id %u/%u, out %llu/%u in %llu/%u",
				   start, elem->head, elem->ndescs, (unsigned long long)out_bytes,
				   elem->out_count, (unsigned long long)in_bytes, elem->in_count,
				   ref.id, ref.ndescs, (unsigned long long)ref.out_bytes, ref.out_count,
				   (unsigned long long)ref.in_bytes, ref.in_count);
		}
		busy[elem->head] = true;
		/* The device reads the request and writes the reply. */
		for (i = 0; i < elem->out_count; i++) {
			volatile const uint8_t *p = elem->out[i].iov_base;
			(void)p[0];
			(void)p[elem->out[i].iov_len - 1];
		}
		for (i = 0; i < elem->in_count; i++) {
			const uint8_t *b = elem->in[i].iov_base;
			const uint8_t *ev = ram_ptr(&ram, dev_off);

			/* a reply over the device event area is the guest's own
			 * doing: the kick position check is off */
			if (b < ev + 4 && ev < b + elem->in[i].iov_len)
				clobbered = true;
			memset(elem->in[i].iov_base, 0x5a, elem->in[i].iov_len);
		}
		if (flags & 2) {
			busy[elem->head] = false;
			check_push(&vq, &ram, ring_off, elem,
				   (uint32_t)(in_bytes + (len_seed % 3)) - 1);
		} else if (n < MAX_ELEMS) {
			elems[n++] = elem;
		} else {
			busy[elem->head] = false;
			virtqueue_push(&vq, elem, 0);
		}
	}
	for (i = 0; i < n; i++) {
		struct vq_elem *e = elems[(flags & 16) ? n - 1 - i : i];

		busy[e->head] = false;
		check_push(&vq, &ram, ring_off, e, (uint32_t)(len_seed * (i + 1)));
	}
	FUZZ_CHECK(outstanding(&vq) <= qsize, "%u descriptors consumed and not used",
		   outstanding(&vq));
	(void)virtqueue_has_pending(&vq);
	(void)virtqueue_get_base(&vq);
out:
	free(elems);
	free(busy);
	virtqueue_destroy(&vq);
	guest_memory_slot_destroy(&slot);
	FUZZ_CHECK(fuzz_count_fds() == fds_before, "fd leak");
	return 0;
}
