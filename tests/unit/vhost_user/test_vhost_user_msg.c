/* test_vhost_user_msg.c: the size / fd-count table for every vhost-user message type. */
#include <errno.h>

#include "vu_test_util.h"
#include "vhost_user/vhost_user_msg.h"

struct fixed_case {
	uint32_t request;
	uint32_t size;
	unsigned fds;
};

/* Every fixed-shape message we handle, with its one valid size and fd count. */
static const struct fixed_case fixed_cases[] = {
	{ VHOST_USER_GET_FEATURES, 0, 0 },
	{ VHOST_USER_SET_FEATURES, 8, 0 },
	{ VHOST_USER_SET_OWNER, 0, 0 },
	{ VHOST_USER_RESET_OWNER, 0, 0 },
	{ VHOST_USER_SET_LOG_BASE, 16, 1 },
	{ VHOST_USER_SET_LOG_FD, 0, 1 },
	{ VHOST_USER_SET_VRING_NUM, 8, 0 },
	{ VHOST_USER_SET_VRING_ADDR, 40, 0 },
	{ VHOST_USER_SET_VRING_BASE, 8, 0 },
	{ VHOST_USER_GET_VRING_BASE, 8, 0 },
	{ VHOST_USER_GET_PROTOCOL_FEATURES, 0, 0 },
	{ VHOST_USER_SET_PROTOCOL_FEATURES, 8, 0 },
	{ VHOST_USER_GET_QUEUE_NUM, 0, 0 },
	{ VHOST_USER_SET_VRING_ENABLE, 8, 0 },
	{ VHOST_USER_SET_BACKEND_REQ_FD, 0, 1 },
	{ VHOST_USER_RESET_DEVICE, 0, 0 },
	{ VHOST_USER_GET_MAX_MEM_SLOTS, 0, 0 },
	{ VHOST_USER_ADD_MEM_REG, 40, 1 },
};

static int check(uint32_t request, uint32_t size, unsigned fds, const struct vhost_user_msg *tmpl)
{
	struct vhost_user_msg msg;
	const char *why = NULL;
	int ret;

	if (tmpl)
		msg = *tmpl;
	else
		memset(&msg, 0, sizeof(msg));
	msg.hdr.request = request;
	msg.hdr.flags = VHOST_USER_VERSION;
	msg.hdr.size = size;
	ret = vhost_user_msg_check(&msg, fds, &why);
	if (ret)
		assert_non_null(why);
	return ret;
}

static void test_fixed_sizes(void **state)
{
	unsigned i;

	for (i = 0; i < sizeof(fixed_cases) / sizeof(fixed_cases[0]); i++) {
		const struct fixed_case *c = &fixed_cases[i];
		struct vhost_user_hdr hdr = { c->request, VHOST_USER_VERSION, c->size };

		assert_int_equal(vhost_user_hdr_check(&hdr, NULL), 0);
		assert_int_equal(check(c->request, c->size, c->fds, NULL), 0);
		assert_int_equal(check(c->request, c->size + 1, c->fds, NULL), -EINVAL);
		assert_int_equal(check(c->request, c->size + 8, c->fds, NULL), -EINVAL);
		if (c->size)
			assert_int_equal(check(c->request, c->size - 1, c->fds, NULL), -EINVAL);
		/* The header check alone already refuses a wrong size. */
		hdr.size = c->size + 4;
		assert_int_equal(vhost_user_hdr_check(&hdr, NULL), -EINVAL);
		assert_int_equal(check(c->request, c->size, c->fds + 1, NULL), -EINVAL);
		if (c->fds)
			assert_int_equal(check(c->request, c->size, c->fds - 1, NULL), -EINVAL);
	}
}

static void test_vring_fd(void **state)
{
	static const uint32_t types[] = {
		VHOST_USER_SET_VRING_KICK, VHOST_USER_SET_VRING_CALL, VHOST_USER_SET_VRING_ERR,
	};
	struct vhost_user_msg m;
	unsigned i;

	for (i = 0; i < 3; i++) {
		memset(&m, 0, sizeof(m));
		m.payload.u64 = 1;
		assert_int_equal(check(types[i], 8, 1, &m), 0);
		assert_int_equal(check(types[i], 8, 0, &m), -EINVAL);
		assert_int_equal(check(types[i], 8, 2, &m), -EINVAL);
		assert_int_equal(check(types[i], 4, 1, &m), -EINVAL);
		assert_int_equal(check(types[i], 16, 1, &m), -EINVAL);
		m.payload.u64 = 1 | VHOST_USER_VRING_NOFD_MASK;
		assert_int_equal(check(types[i], 8, 0, &m), 0);
		assert_int_equal(check(types[i], 8, 1, &m), -EINVAL);
		m.payload.u64 = 1ull << 20;
		assert_int_equal(check(types[i], 8, 1, &m), -EINVAL);
	}
}

static void test_mem_table(void **state)
{
	struct vhost_user_msg m;
	unsigned n;

	memset(&m, 0, sizeof(m));
	for (n = 1; n <= VHOST_USER_MEM_TABLE_MAX; n++) {
		uint32_t size = 8 + 32 * n;

		m.payload.mem_table.nregions = n;
		assert_int_equal(check(VHOST_USER_SET_MEM_TABLE, size, n, &m), 0);
		assert_int_equal(check(VHOST_USER_SET_MEM_TABLE, size, n - 1, &m), -EINVAL);
		assert_int_equal(check(VHOST_USER_SET_MEM_TABLE, size, n + 1, &m), -EINVAL);
		assert_int_equal(check(VHOST_USER_SET_MEM_TABLE, size - 1, n, &m), -EINVAL);
		assert_int_equal(check(VHOST_USER_SET_MEM_TABLE, size + 1, n, &m), -EINVAL);
	}
	/* nregions claims more than the payload carries. */
	m.payload.mem_table.nregions = 3;
	assert_int_equal(check(VHOST_USER_SET_MEM_TABLE, 8 + 64, 2, &m), -EINVAL);
	assert_int_equal(check(VHOST_USER_SET_MEM_TABLE, 8 + 64, 3, &m), -EINVAL);
	m.payload.mem_table.nregions = 9;
	assert_int_equal(check(VHOST_USER_SET_MEM_TABLE, 8 + 64, 2, &m), -EINVAL);
	/* Nine regions do not fit any message. */
	assert_int_not_equal(check(VHOST_USER_SET_MEM_TABLE, 8 + 9 * 32, 8, &m), 0);
	assert_int_equal(check(VHOST_USER_SET_MEM_TABLE, 4, 0, &m), -EINVAL);
	/* Zero regions is a well-formed (empty) table. */
	m.payload.mem_table.nregions = 0;
	assert_int_equal(check(VHOST_USER_SET_MEM_TABLE, 8, 0, &m), 0);
}

static void test_rem_mem_reg(void **state)
{
	assert_int_equal(check(VHOST_USER_REM_MEM_REG, 40, 0, NULL), 0);
	/* Older QEMUs pass the region's fd; tolerated, closed unused. */
	assert_int_equal(check(VHOST_USER_REM_MEM_REG, 40, 1, NULL), 0);
	assert_int_equal(check(VHOST_USER_REM_MEM_REG, 40, 2, NULL), -EINVAL);
	assert_int_equal(check(VHOST_USER_REM_MEM_REG, 32, 0, NULL), -EINVAL);
	assert_int_equal(check(VHOST_USER_REM_MEM_REG, 48, 0, NULL), -EINVAL);
}

static void test_config(void **state)
{
	struct vhost_user_msg m;

	memset(&m, 0, sizeof(m));
	m.payload.config.size = 16;
	assert_int_equal(check(VHOST_USER_GET_CONFIG, 12 + 16, 0, &m), 0);
	assert_int_equal(check(VHOST_USER_SET_CONFIG, 12 + 16, 0, &m), 0);
	assert_int_equal(check(VHOST_USER_SET_CONFIG, 12 + 15, 0, &m), -EINVAL);
	assert_int_equal(check(VHOST_USER_SET_CONFIG, 12 + 16, 1, &m), -EINVAL);
	assert_int_equal(check(VHOST_USER_SET_CONFIG, 8, 0, &m), -EINVAL);
	m.payload.config.size = 1000;
	assert_int_equal(check(VHOST_USER_SET_CONFIG, 12 + 16, 0, &m), -EINVAL);
}

static void test_unknown_and_header(void **state)
{
	struct vhost_user_hdr hdr = { 99, VHOST_USER_VERSION, 0 };

	assert_int_equal(vhost_user_hdr_check(&hdr, NULL), -ENOSYS);
	assert_int_equal(check(99, 0, 0, NULL), -ENOSYS);
	assert_int_equal(check(0, 0, 0, NULL), -ENOSYS);
	assert_int_equal(check(19, 8, 0, NULL), -ENOSYS); /* SEND_RARP: not ours */
	assert_int_equal(check(0xffffffffu, 0, 0, NULL), -ENOSYS);
	/* Larger than any payload: the stream cannot be trusted any more. */
	hdr.request = VHOST_USER_SET_FEATURES;
	hdr.size = VHOST_USER_MAX_PAYLOAD + 1;
	assert_int_equal(vhost_user_hdr_check(&hdr, NULL), -EMSGSIZE);
	hdr.size = 0xffffffffu;
	assert_int_equal(vhost_user_hdr_check(&hdr, NULL), -EMSGSIZE);
	/* Version and reply bits. */
	hdr.size = 8;
	hdr.flags = 0x2;
	assert_int_equal(vhost_user_hdr_check(&hdr, NULL), -EINVAL);
	hdr.flags = VHOST_USER_VERSION | VHOST_USER_REPLY_MASK;
	assert_int_equal(vhost_user_hdr_check(&hdr, NULL), -EINVAL);
	hdr.flags = VHOST_USER_VERSION | VHOST_USER_NEED_REPLY_MASK;
	assert_int_equal(vhost_user_hdr_check(&hdr, NULL), 0);
	/* More than the protocol's fd limit. */
	assert_int_equal(check(VHOST_USER_GET_FEATURES, 0, VHOST_USER_MAX_FDS + 1, NULL), -EINVAL);
}

static void test_replies(void **state)
{
	assert_true(vhost_user_request_replies(VHOST_USER_GET_FEATURES));
	assert_true(vhost_user_request_replies(VHOST_USER_GET_VRING_BASE));
	assert_true(vhost_user_request_replies(VHOST_USER_GET_MAX_MEM_SLOTS));
	assert_false(vhost_user_request_replies(VHOST_USER_SET_MEM_TABLE));
	assert_false(vhost_user_request_replies(VHOST_USER_SET_VRING_KICK));
	assert_false(vhost_user_request_replies(99));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixed_sizes),
		cmocka_unit_test(test_vring_fd),
		cmocka_unit_test(test_mem_table),
		cmocka_unit_test(test_rem_mem_reg),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_unknown_and_header),
		cmocka_unit_test(test_replies),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
