/* vhost_user_msg.c: per-type size and fd rules for vhost-user messages. */
#include "vhost_user/vhost_user_msg.h"

#include <errno.h>
#include <stddef.h>

enum msg_shape {
	SHAPE_UNKNOWN = 0,
	SHAPE_FIXED,     /* exact size, exact fd count */
	SHAPE_MEM_TABLE, /* count + nregions regions, one fd per region */
	SHAPE_VRING_FD,  /* u64 index, one fd unless the NOFD bit is set */
	SHAPE_REM_MEM,   /* fixed size; 0 fds, 1 tolerated from old QEMUs */
	SHAPE_CONFIG,    /* 12-byte header + the size it announces */
};

struct msg_rule {
	const char *name;
	enum msg_shape shape;
	uint32_t size;
	uint8_t fds;
	uint8_t replies;
};

#define U64 ((uint32_t)sizeof(uint64_t))
#define STATE ((uint32_t)sizeof(struct vhost_user_vring_state))

static const struct msg_rule msg_rules[] = {
	[VHOST_USER_GET_FEATURES] = { "GET_FEATURES", SHAPE_FIXED, 0, 0, 1 },
	[VHOST_USER_SET_FEATURES] = { "SET_FEATURES", SHAPE_FIXED, U64, 0, 0 },
	[VHOST_USER_SET_OWNER] = { "SET_OWNER", SHAPE_FIXED, 0, 0, 0 },
	[VHOST_USER_RESET_OWNER] = { "RESET_OWNER", SHAPE_FIXED, 0, 0, 0 },
	[VHOST_USER_SET_MEM_TABLE] = { "SET_MEM_TABLE", SHAPE_MEM_TABLE, 0, 0, 0 },
	/* Answers with a u64 (we take it only with LOG_SHMFD, where it must). */
	[VHOST_USER_SET_LOG_BASE] = { "SET_LOG_BASE", SHAPE_FIXED,
		(uint32_t)sizeof(struct vhost_user_log), 1, 1 },
	[VHOST_USER_SET_LOG_FD] = { "SET_LOG_FD", SHAPE_FIXED, 0, 1, 0 },
	[VHOST_USER_SET_VRING_NUM] = { "SET_VRING_NUM", SHAPE_FIXED, STATE, 0, 0 },
	[VHOST_USER_SET_VRING_ADDR] = { "SET_VRING_ADDR", SHAPE_FIXED,
		(uint32_t)sizeof(struct vhost_user_vring_addr), 0, 0 },
	[VHOST_USER_SET_VRING_BASE] = { "SET_VRING_BASE", SHAPE_FIXED, STATE, 0, 0 },
	[VHOST_USER_GET_VRING_BASE] = { "GET_VRING_BASE", SHAPE_FIXED, STATE, 0, 1 },
	[VHOST_USER_SET_VRING_KICK] = { "SET_VRING_KICK", SHAPE_VRING_FD, U64, 0, 0 },
	[VHOST_USER_SET_VRING_CALL] = { "SET_VRING_CALL", SHAPE_VRING_FD, U64, 0, 0 },
	[VHOST_USER_SET_VRING_ERR] = { "SET_VRING_ERR", SHAPE_VRING_FD, U64, 0, 0 },
	[VHOST_USER_GET_PROTOCOL_FEATURES] = { "GET_PROTOCOL_FEATURES", SHAPE_FIXED, 0, 0, 1 },
	[VHOST_USER_SET_PROTOCOL_FEATURES] = { "SET_PROTOCOL_FEATURES", SHAPE_FIXED, U64, 0, 0 },
	[VHOST_USER_GET_QUEUE_NUM] = { "GET_QUEUE_NUM", SHAPE_FIXED, 0, 0, 1 },
	[VHOST_USER_SET_VRING_ENABLE] = { "SET_VRING_ENABLE", SHAPE_FIXED, STATE, 0, 0 },
	[VHOST_USER_SET_BACKEND_REQ_FD] = { "SET_BACKEND_REQ_FD", SHAPE_FIXED, 0, 1, 0 },
	[VHOST_USER_GET_CONFIG] = { "GET_CONFIG", SHAPE_CONFIG, 0, 0, 1 },
	[VHOST_USER_SET_CONFIG] = { "SET_CONFIG", SHAPE_CONFIG, 0, 0, 0 },
	[VHOST_USER_RESET_DEVICE] = { "RESET_DEVICE", SHAPE_FIXED, 0, 0, 0 },
	[VHOST_USER_GET_MAX_MEM_SLOTS] = { "GET_MAX_MEM_SLOTS", SHAPE_FIXED, 0, 0, 1 },
	[VHOST_USER_ADD_MEM_REG] = { "ADD_MEM_REG", SHAPE_FIXED,
		(uint32_t)sizeof(struct vhost_user_mem_reg), 1, 0 },
	[VHOST_USER_REM_MEM_REG] = { "REM_MEM_REG", SHAPE_REM_MEM,
		(uint32_t)sizeof(struct vhost_user_mem_reg), 0, 0 },
	[VHOST_USER_SET_DEVICE_STATE_FD] = { "SET_DEVICE_STATE_FD", SHAPE_FIXED,
		(uint32_t)sizeof(struct vhost_user_transfer_state), 1, 1 },
	[VHOST_USER_CHECK_DEVICE_STATE] = { "CHECK_DEVICE_STATE", SHAPE_FIXED, 0, 0, 1 },
	[VHOST_USER_GET_SHMEM_CONFIG] = { "GET_SHMEM_CONFIG", SHAPE_FIXED, 0, 0, 1 },
};

#define MEM_TABLE_HEAD ((uint32_t)offsetof(struct vhost_user_mem_table, regions))
#define MEM_REGION_SIZE ((uint32_t)sizeof(struct vhost_user_mem_region))
#define CONFIG_HEAD ((uint32_t)offsetof(struct vhost_user_config, region))

static const struct msg_rule *msg_rule_find(uint32_t request)
{
	if (request >= sizeof(msg_rules) / sizeof(msg_rules[0]))
		return NULL;
	if (msg_rules[request].shape == SHAPE_UNKNOWN)
		return NULL;
	return &msg_rules[request];
}

int vhost_user_request_replies(uint32_t request)
{
	const struct msg_rule *rule = msg_rule_find(request);

	return rule && rule->replies;
}

const char *vhost_user_request_name(uint32_t request)
{
	const struct msg_rule *rule = msg_rule_find(request);

	return rule ? rule->name : "unknown";
}

static int msg_fail(const char **why, const char *reason, int err)
{
	if (why)
		*why = reason;
	return err;
}

static int rule_check_size(const struct msg_rule *rule, uint32_t size, const char **why)
{
	switch (rule->shape) {
	case SHAPE_FIXED:
	case SHAPE_VRING_FD:
	case SHAPE_REM_MEM:
		if (size != rule->size)
			return msg_fail(why, "payload size does not match the type", -EINVAL);
		return 0;
	case SHAPE_MEM_TABLE:
		if (size < MEM_TABLE_HEAD)
			return msg_fail(why, "memory table shorter than its header", -EINVAL);
		if ((size - MEM_TABLE_HEAD) % MEM_REGION_SIZE)
			return msg_fail(why, "memory table size not a whole number of regions",
					-EINVAL);
		if ((size - MEM_TABLE_HEAD) / MEM_REGION_SIZE > VHOST_USER_MEM_TABLE_MAX)
			return msg_fail(why, "memory table has too many regions", -EINVAL);
		return 0;
	case SHAPE_CONFIG:
		if (size < CONFIG_HEAD || size > CONFIG_HEAD + VHOST_USER_CONFIG_MAX)
			return msg_fail(why, "config payload size out of range", -EINVAL);
		return 0;
	case SHAPE_UNKNOWN:
		break;
	}
	return msg_fail(why, "unknown request", -ENOSYS);
}

int vhost_user_hdr_check(const struct vhost_user_hdr *hdr, const char **why)
{
	const struct msg_rule *rule;

	if (hdr->size > VHOST_USER_MAX_PAYLOAD)
		return msg_fail(why, "payload larger than any message", -EMSGSIZE);
	if ((hdr->flags & VHOST_USER_VERSION_MASK) != VHOST_USER_VERSION)
		return msg_fail(why, "unsupported protocol version", -EINVAL);
	if (hdr->flags & VHOST_USER_REPLY_MASK)
		return msg_fail(why, "reply flag set on a request", -EINVAL);
	rule = msg_rule_find(hdr->request);
	if (!rule)
		return msg_fail(why, "unknown request", -ENOSYS);
	return rule_check_size(rule, hdr->size, why);
}

static int rule_check_payload(const struct msg_rule *rule, const struct vhost_user_msg *msg,
			      unsigned nfds, const char **why)
{
	const union vhost_user_payload *p = &msg->payload;
	uint32_t n;

	switch (rule->shape) {
	case SHAPE_MEM_TABLE:
		n = (msg->hdr.size - MEM_TABLE_HEAD) / MEM_REGION_SIZE;
		if (p->mem_table.nregions != n)
			return msg_fail(why, "nregions does not match the payload size", -EINVAL);
		if (nfds != n)
			return msg_fail(why, "memory table needs one fd per region", -EINVAL);
		return 0;
	case SHAPE_VRING_FD:
		n = (p->u64 & VHOST_USER_VRING_NOFD_MASK) ? 0 : 1;
		if (p->u64 & ~(VHOST_USER_VRING_IDX_MASK | VHOST_USER_VRING_NOFD_MASK))
			return msg_fail(why, "unknown bits in vring fd payload", -EINVAL);
		if (nfds != n)
			return msg_fail(why, "vring fd count does not match the NOFD flag", -EINVAL);
		return 0;
	case SHAPE_REM_MEM:
		if (nfds > 1)
			return msg_fail(why, "too many fds", -EINVAL);
		return 0;
	case SHAPE_CONFIG:
		if (p->config.size > VHOST_USER_CONFIG_MAX ||
		    msg->hdr.size != CONFIG_HEAD + p->config.size)
			return msg_fail(why, "config size does not match the payload", -EINVAL);
		if (nfds)
			return msg_fail(why, "unexpected fds", -EINVAL);
		return 0;
	case SHAPE_FIXED:
		if (nfds != rule->fds)
			return msg_fail(why, "wrong number of fds", -EINVAL);
		return 0;
	case SHAPE_UNKNOWN:
		break;
	}
	return msg_fail(why, "unknown request", -ENOSYS);
}

int vhost_user_msg_check(const struct vhost_user_msg *msg, unsigned nfds, const char **why)
{
	int ret = vhost_user_hdr_check(&msg->hdr, why);

	if (ret)
		return ret;
	if (nfds > VHOST_USER_MAX_FDS)
		return msg_fail(why, "too many fds", -EINVAL);
	return rule_check_payload(msg_rule_find(msg->hdr.request), msg, nfds, why);
}
