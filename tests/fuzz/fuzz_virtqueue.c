/* fuzz_virtqueue.c: a split virtqueue over guest memory whose every byte
 * (descriptor table, avail ring, indirect tables, buffers) comes from the
 * fuzz input. Guest RAM is two adjacent 4 KiB memfd regions (gpa 0x0000 and
 * 0x1000, user addresses BIAS + gpa), so chains straddling them are common.
 *
 * Input: u8 log2(size) (size 1..256); u8 flags (bit0 EVENT_IDX, bit1 push
 * each element at once rather than all at the end, bit2 call eventfd,
 * bit3 toggle notification suppression, bit4 push in reverse order);
 * u16 initial last_avail_idx; u16 desc, avail, used offsets (user address
 * = BIAS + offset); u16 push-length seed; then up to 8 KiB of guest RAM.
 *
 * Invariants per popped element: every iovec lies inside one mapped
 * region; out iovecs come first, then in iovecs; at most VQ_MAX_IOV pieces
 * and chain length bounded by them; head < size; and a reference walker
 * that follows the rules of virtqueue.h independently agrees on validity and
 * on the out / in byte counts and piece counts. Used ring: each push lands
 * in the slot used_idx % size with the pushed head and a length clamped to
 * the element's in bytes. */
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
#define VQ_MAX_IOV_REF	(1024 + 8)	/* virtqueue.c VQ_MAX_IOV */
#define VQ_MAX_IND_REF	VQ_MAX_IOV_REF	/* virtqueue.c VQ_MAX_INDIRECT */
#define MAX_ELEMS	1024

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
	/* 2 bytes the device writes after the chain walk (avail_event), which
	 * may alias a table the reference walker reads: skip the comparison then */
	uint64_t avail_event_gpa;
	bool avail_event_live;
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
	bool aliased; /* read bytes the device rewrote after its walk */
	unsigned out_count, in_count;
	uint64_t out_bytes, in_bytes;
};

static void ref_desc(const struct ram *ram, uint64_t gpa, struct vring_desc *d,
		     struct ref_result *r)
{
	uint8_t raw[sizeof(*d)];
	unsigned i;

	for (i = 0; i < sizeof(raw); i++)
		raw[i] = *(uint8_t *)ram_ptr(ram, gpa + i);
	memcpy(d, raw, sizeof(*d));
	if (ram->avail_event_live && gpa < ram->avail_event_gpa + 2 &&
	    ram->avail_event_gpa < gpa + sizeof(*d))
		r->aliased = true;
}

/* Independent model of chain validity (virtqueue.h's rules). */
static void ref_walk(const struct ram *ram, uint64_t desc_gpa, unsigned size, uint16_t head,
		     struct ref_result *r)
{
	uint64_t table = desc_gpa;
	unsigned max = size, i = head, seen = 0, count = 0;
	bool indirect = false, seen_write = false;
	struct vring_desc d;

	memset(r, 0, sizeof(*r));
	for (;;) {
		if (i >= max || ++seen > max)
			return;
		ref_desc(ram, table + 16ull * i, &d, r);
		if (d.flags & VRING_DESC_F_INDIRECT) {
			if (indirect || (d.flags & VRING_DESC_F_NEXT) || d.len == 0 || d.len % 16 ||
			    d.len / 16 > VQ_MAX_IND_REF || !in_ram(d.addr, d.len))
				return;
			table = d.addr;
			max = d.len / 16;
			i = 0;
			seen = 0;
			indirect = true;
			continue;
		}
		if (d.flags & VRING_DESC_F_WRITE)
			seen_write = true;
		else if (seen_write)
			return;
		if (d.len) {
			unsigned pieces;

			if (!in_ram(d.addr, d.len))
				return;
			pieces = (d.addr < REGION_SIZE && d.addr + d.len > REGION_SIZE) ? 2 : 1;
			if (count + pieces > VQ_MAX_IOV_REF)
				return;
			count += pieces;
			if (d.flags & VRING_DESC_F_WRITE) {
				r->in_count += pieces;
				r->in_bytes += d.len;
			} else {
				r->out_count += pieces;
				r->out_bytes += d.len;
			}
		}
		if (!(d.flags & VRING_DESC_F_NEXT)) {
			r->valid = true;
			return;
		}
		i = d.next;
	}
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size, 0 };
	unsigned qsize = 1u << (fuzz_u8(&in) % 9);
	uint8_t flags = fuzz_u8(&in);
	uint16_t start_idx = fuzz_u16(&in);
	uint16_t desc_off = fuzz_u16(&in), avail_off = fuzz_u16(&in), used_off = fuzz_u16(&in);
	uint16_t len_seed = fuzz_u16(&in);
	struct guest_region regs[2];
	struct guest_memory_slot slot;
	struct guest_memory *mem;
	struct virtqueue vq;
	struct ram ram = { { NULL, NULL } };
	struct vq_elem **elems = calloc(MAX_ELEMS, sizeof(*elems));
	const uint8_t *content;
	size_t clen = fuzz_take(&in, &content, RAM_SIZE);
	unsigned n = 0, i, k, iterations = 0;
	int fds_before = fuzz_count_fds();

	if (!elems)
		abort();
	for (k = 0; k < 2; k++) {
		int fd = memfd_create("fuzz-vq", MFD_CLOEXEC);
		size_t part = clen > k * REGION_SIZE ? clen - k * REGION_SIZE : 0;

		if (fd < 0 || ftruncate(fd, REGION_SIZE) < 0)
			abort();
		if (part > REGION_SIZE)
			part = REGION_SIZE;
		if (part && pwrite(fd, content + k * REGION_SIZE, part, 0) != (ssize_t)part)
			abort();
		memset(&regs[k], 0, sizeof(regs[k]));
		regs[k].guest_phys_addr = k * REGION_SIZE;
		regs[k].size = REGION_SIZE;
		regs[k].user_addr = UVA_BIAS + k * REGION_SIZE;
		regs[k].fd = fd;
		FUZZ_CHECK(guest_region_map(&regs[k]) == 0, "map");
	}
	mem = guest_memory_new(regs, 2);
	FUZZ_CHECK(mem, "guest_memory_new");
	ram.base[0] = (uint8_t *)mem->regions[0].mmap_base + mem->regions[0].mmap_offset;
	ram.base[1] = (uint8_t *)mem->regions[1].mmap_base + mem->regions[1].mmap_offset;
	guest_memory_slot_init(&slot);
	guest_memory_slot_replace(&slot, mem);

	virtqueue_init(&vq, 0, &slot);
	vq.size = (uint16_t)qsize;
	vq.desc_user_addr = UVA_BIAS + desc_off;
	vq.avail_user_addr = UVA_BIAS + avail_off;
	vq.used_user_addr = UVA_BIAS + used_off;
	vq.event_idx = flags & 1;
	vq.last_avail_idx = start_idx;
	if (flags & 4)
		vq.call_fd = dup(call_fd);
	if (virtqueue_map_rings(&vq) != 0)
		goto out;
	ram.avail_event_live = vq.event_idx;
	ram.avail_event_gpa = used_off + 4 + 8ull * qsize;

	while (iterations++ < 2 * qsize + 8) {
		struct vq_elem *elem;
		struct ref_result ref;
		uint64_t out_bytes = 0, in_bytes = 0;
		uint16_t used_before;
		int ret;

		if (flags & 8)
			virtqueue_set_notification(&vq, iterations & 1);
		ret = virtqueue_pop(&vq, &elem);
		FUZZ_CHECK(ret == 0 || ret == 1 || ret == -EAGAIN, "pop returned %d", ret);
		if (ret == -EAGAIN)
			continue;
		if (ret == 0)
			break;
		FUZZ_CHECK(elem->head < qsize, "head %u >= size %u", elem->head, qsize);
		FUZZ_CHECK(elem->out == elem->iov && elem->in == elem->iov + elem->out_count,
			   "out iovecs must come first, then in iovecs");
		FUZZ_CHECK(elem->out_count + elem->in_count <= VQ_MAX_IOV_REF,
			   "%u + %u iovecs", elem->out_count, elem->in_count);
		for (i = 0; i < elem->out_count + elem->in_count; i++) {
			check_iov(&ram, &elem->iov[i]);
			if (i < elem->out_count)
				out_bytes += elem->iov[i].iov_len;
			else
				in_bytes += elem->iov[i].iov_len;
		}
		FUZZ_CHECK(out_bytes + in_bytes <= (uint64_t)VQ_MAX_IOV_REF * RAM_SIZE,
			   "chain length %llu", (unsigned long long)(out_bytes + in_bytes));
		ref_walk(&ram, desc_off, qsize, elem->head, &ref);
		if (!ref.aliased) {
			FUZZ_CHECK(ref.valid, "popped chain at head %u is invalid by the rules",
				   elem->head);
			FUZZ_CHECK(ref.out_bytes == out_bytes && ref.in_bytes == in_bytes &&
				   ref.out_count == elem->out_count && ref.in_count == elem->in_count,
				   "head %u: popped out %llu/%u in %llu/%u, expected out %llu/%u in %llu/%u",
				   elem->head, (unsigned long long)out_bytes, elem->out_count,
				   (unsigned long long)in_bytes, elem->in_count,
				   (unsigned long long)ref.out_bytes, ref.out_count,
				   (unsigned long long)ref.in_bytes, ref.in_count);
		}
		/* The device reads the request and writes the reply. */
		for (i = 0; i < elem->out_count; i++) {
			volatile const uint8_t *p = elem->out[i].iov_base;
			(void)p[0];
			(void)p[elem->out[i].iov_len - 1];
		}
		for (i = 0; i < elem->in_count; i++)
			memset(elem->in[i].iov_base, 0x5a, elem->in[i].iov_len);

		if (flags & 2) {
			uint32_t len = (uint32_t)(in_bytes + (len_seed % 3)) - 1;
			struct vring_used *used = ram_ptr(&ram, used_off);
			uint16_t head = elem->head;

			used_before = vq.used_idx;
			virtqueue_push(&vq, elem, len);
			FUZZ_CHECK(vq.used_idx == (uint16_t)(used_before + 1), "used idx");
			/* the element just written cannot alias used->idx or itself */
			FUZZ_CHECK(used->ring[used_before % qsize].id == head &&
				   used->ring[used_before % qsize].len == (len < in_bytes ? len : in_bytes),
				   "used element %u: id %u len %u, pushed head %u len %u (in %llu)",
				   used_before % qsize, used->ring[used_before % qsize].id,
				   used->ring[used_before % qsize].len, head, len,
				   (unsigned long long)in_bytes);
			FUZZ_CHECK(used->idx == vq.used_idx, "used->idx %u, expected %u", used->idx,
				   vq.used_idx);
		} else if (n < MAX_ELEMS) {
			elems[n++] = elem;
		} else {
			virtqueue_push(&vq, elem, 0);
		}
	}
	for (i = 0; i < n; i++) {
		struct vq_elem *e = elems[(flags & 16) ? n - 1 - i : i];

		virtqueue_push(&vq, e, (uint32_t)(len_seed * (i + 1)));
	}
	(void)virtqueue_has_pending(&vq);
	(void)virtqueue_last_avail(&vq);
out:
	free(elems);
	virtqueue_destroy(&vq);
	guest_memory_slot_destroy(&slot);
	FUZZ_CHECK(fuzz_count_fds() == fds_before, "fd leak");
	return 0;
}
