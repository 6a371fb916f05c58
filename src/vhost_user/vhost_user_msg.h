/* vhost_user_msg.h: the vhost-user wire format (header, payloads, request
 * and feature numbers) and the pure checks that decide whether a message
 * is well formed for its type. Internal to src/vhost_user/.
 *
 * A message is checked in two steps because its payload must never be
 * read on the header's word alone: vhost_user_hdr_check() runs before the
 * payload is received, vhost_user_msg_check() after, when the fd count and
 * counts inside the payload (SET_MEM_TABLE's nregions) can be verified. */
#ifndef VFSD_VHOST_USER_MSG_H
#define VFSD_VHOST_USER_MSG_H

#include <stdint.h>

enum vhost_user_request {
	VHOST_USER_NONE = 0,
	VHOST_USER_GET_FEATURES = 1,
	VHOST_USER_SET_FEATURES = 2,
	VHOST_USER_SET_OWNER = 3,
	VHOST_USER_RESET_OWNER = 4,
	VHOST_USER_SET_MEM_TABLE = 5,
	VHOST_USER_SET_LOG_BASE = 6,
	VHOST_USER_SET_LOG_FD = 7,
	VHOST_USER_SET_VRING_NUM = 8,
	VHOST_USER_SET_VRING_ADDR = 9,
	VHOST_USER_SET_VRING_BASE = 10,
	VHOST_USER_GET_VRING_BASE = 11,
	VHOST_USER_SET_VRING_KICK = 12,
	VHOST_USER_SET_VRING_CALL = 13,
	VHOST_USER_SET_VRING_ERR = 14,
	VHOST_USER_GET_PROTOCOL_FEATURES = 15,
	VHOST_USER_SET_PROTOCOL_FEATURES = 16,
	VHOST_USER_GET_QUEUE_NUM = 17,
	VHOST_USER_SET_VRING_ENABLE = 18,
	VHOST_USER_SET_BACKEND_REQ_FD = 21, /* formerly SET_SLAVE_REQ_FD */
	VHOST_USER_GET_CONFIG = 24,
	VHOST_USER_SET_CONFIG = 25,
	VHOST_USER_RESET_DEVICE = 34,
	VHOST_USER_GET_MAX_MEM_SLOTS = 36,
	VHOST_USER_ADD_MEM_REG = 37,
	VHOST_USER_REM_MEM_REG = 38,
	VHOST_USER_SET_DEVICE_STATE_FD = 42,
	VHOST_USER_CHECK_DEVICE_STATE = 43,
	/* The SHMEM proposal (QEMU, not merged as of 10.2). */
	VHOST_USER_GET_SHMEM_CONFIG = 44,
};

/* Messages the backend sends on the SET_BACKEND_REQ_FD channel. */
enum vhost_user_backend_request {
	/* The legacy virtio-fs DAX branch, as cloud-hypervisor spoke it. */
	VHOST_USER_BACKEND_FS_MAP = 6,
	VHOST_USER_BACKEND_FS_UNMAP = 7,
	/* The SHMEM proposal. */
	VHOST_USER_BACKEND_SHMEM_MAP = 9,
	VHOST_USER_BACKEND_SHMEM_UNMAP = 10,
};

#define VHOST_USER_VERSION		0x1u
#define VHOST_USER_VERSION_MASK		0x3u
#define VHOST_USER_REPLY_MASK		(1u << 2)
#define VHOST_USER_NEED_REPLY_MASK	(1u << 3)

/* SET_VRING_KICK/CALL/ERR payload: queue index and "no fd" flag. */
#define VHOST_USER_VRING_IDX_MASK	0xffull
#define VHOST_USER_VRING_NOFD_MASK	(1ull << 8)

#define VHOST_USER_F_PROTOCOL_FEATURES	30
/* VHOST_F_LOG_ALL: the frontend may ask us to log every page we write
 * (live migration); SET_VRING_ADDR's VHOST_VRING_F_LOG flag. */
#define VHOST_USER_F_LOG_ALL		26
#define VHOST_USER_VRING_F_LOG		0
/* One bit of the dirty log covers this much guest-physical memory. */
#define VHOST_USER_LOG_PAGE		0x1000u

enum vhost_user_protocol_feature {
	VHOST_USER_PROTOCOL_F_MQ = 0,
	VHOST_USER_PROTOCOL_F_LOG_SHMFD = 1,
	VHOST_USER_PROTOCOL_F_REPLY_ACK = 3,
	VHOST_USER_PROTOCOL_F_BACKEND_REQ = 5,
	VHOST_USER_PROTOCOL_F_CONFIG = 9,
	VHOST_USER_PROTOCOL_F_BACKEND_SEND_FD = 10,
	VHOST_USER_PROTOCOL_F_RESET_DEVICE = 13,
	VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS = 15,
	VHOST_USER_PROTOCOL_F_DEVICE_STATE = 19,
	VHOST_USER_PROTOCOL_F_SHMEM = 20,
};

/* SET_DEVICE_STATE_FD: direction and migration phase. */
enum vhost_user_transfer_direction {
	VHOST_USER_TRANSFER_SAVE = 0,
	VHOST_USER_TRANSFER_LOAD = 1,
};
#define VHOST_USER_MIGRATION_PHASE_STOPPED 0
/* SET_DEVICE_STATE_FD's reply: bits 0-7 an error, bit 8 "no fd returned". */
#define VHOST_USER_DEVICE_STATE_NOFD	(1ull << 8)

#define VHOST_USER_MAX_FDS		8
#define VHOST_USER_MEM_TABLE_MAX	8	/* regions in one SET_MEM_TABLE */
#define VHOST_USER_CONFIG_MAX		256

struct vhost_user_hdr {
	uint32_t request;
	uint32_t flags;
	uint32_t size;
};

struct vhost_user_vring_state {
	uint32_t index;
	uint32_t num;
};

struct vhost_user_vring_addr {
	uint32_t index;
	uint32_t flags;
	uint64_t desc_user_addr;
	uint64_t used_user_addr;
	uint64_t avail_user_addr;
	uint64_t log_guest_addr;
};

struct vhost_user_mem_region {
	uint64_t guest_phys_addr;
	uint64_t memory_size;
	uint64_t userspace_addr;
	uint64_t mmap_offset;
};

struct vhost_user_mem_table {
	uint32_t nregions;
	uint32_t padding;
	struct vhost_user_mem_region regions[VHOST_USER_MEM_TABLE_MAX];
};

struct vhost_user_mem_reg {
	uint64_t padding;
	struct vhost_user_mem_region region;
};

struct vhost_user_log {
	uint64_t size;
	uint64_t offset;
};

struct vhost_user_transfer_state {
	uint32_t direction;
	uint32_t phase;
};

struct vhost_user_config {
	uint32_t offset;
	uint32_t size;
	uint32_t flags;
	uint8_t region[VHOST_USER_CONFIG_MAX];
};

#define VHOST_USER_SHMEM_MAX_REGIONS 8

/* GET_SHMEM_CONFIG's reply. */
struct vhost_user_shmem_config {
	uint32_t nregions;
	uint32_t padding;
	uint64_t memory_sizes[VHOST_USER_SHMEM_MAX_REGIONS];
};

/* SHMEM_MAP / SHMEM_UNMAP (v11 of the proposal: flags bit 0 = writable). */
#define VHOST_USER_FLAG_MAP_RW (1ull << 0)
struct vhost_user_mmap {
	uint8_t shmid;
	uint8_t padding[7];
	uint64_t fd_offset;
	uint64_t shm_offset;
	uint64_t len;
	uint64_t flags;
};

/* FS_MAP / FS_UNMAP of the legacy DAX branch: up to eight ranges, unused
 * ones with len 0. */
#define VHOST_USER_FS_BACKEND_ENTRIES 8
#define VHOST_USER_FS_FLAG_MAP_R (1ull << 0)
#define VHOST_USER_FS_FLAG_MAP_W (1ull << 1)
struct vhost_user_fs_backend_msg {
	uint64_t fd_offset[VHOST_USER_FS_BACKEND_ENTRIES];
	uint64_t cache_offset[VHOST_USER_FS_BACKEND_ENTRIES];
	uint64_t len[VHOST_USER_FS_BACKEND_ENTRIES];
	uint64_t flags[VHOST_USER_FS_BACKEND_ENTRIES];
};

union vhost_user_payload {
	uint64_t u64;
	struct vhost_user_vring_state state;
	struct vhost_user_vring_addr addr;
	struct vhost_user_mem_table mem_table;
	struct vhost_user_mem_reg mem_reg;
	struct vhost_user_log log;
	struct vhost_user_config config;
	struct vhost_user_transfer_state transfer;
	struct vhost_user_shmem_config shmem_config;
	struct vhost_user_mmap mmap;
	struct vhost_user_fs_backend_msg fs_backend;
};

/* Header and payload are sent back to back on the wire; in memory they are
 * separate fields so neither needs packing. */
struct vhost_user_msg {
	struct vhost_user_hdr hdr;
	union vhost_user_payload payload;
};

#define VHOST_USER_HDR_SIZE	((uint32_t)sizeof(struct vhost_user_hdr))
#define VHOST_USER_MAX_PAYLOAD	((uint32_t)sizeof(union vhost_user_payload))

/* Whether the request type always answers with a reply of its own
 * (REPLY_ACK does not add a second one). */
int vhost_user_request_replies(uint32_t request);
const char *vhost_user_request_name(uint32_t request);

/* Before the payload is read: version and flag bits, known type, and a
 * size that type can have. Returns 0; -EMSGSIZE when the size exceeds any
 * payload (the stream cannot be resynchronised safely); -ENOSYS for an
 * unknown type; -EINVAL otherwise. *why gets a static reason. */
int vhost_user_hdr_check(const struct vhost_user_hdr *hdr, const char **why);

/* After the payload (hdr->size bytes) is read: repeats the header check,
 * then the fd count and payload-dependent sizes. Same returns. */
int vhost_user_msg_check(const struct vhost_user_msg *msg, unsigned nfds, const char **why);

#endif
