/* test_fuse_threads.c: many threads call fuse_server_handle at once (as the
 * transports do), while a hostile guest repeats INIT. Every reply must be
 * complete and belong to its own request; run it under the sanitizers. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fuse/fuse_server.h"

#define THREADS 8
#define ROUNDS 2000

static unsigned long lookups, reads;

static int t_lookup(void *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name,
		    struct fuse_entry_out *out)
{
	__atomic_fetch_add(&lookups, 1, __ATOMIC_RELAXED);
	memset(out, 0, sizeof(*out));
	/* Echo the request so a mixed-up reply is caught. */
	out->nodeid = ctx->unique;
	out->generation = parent;
	return strcmp(name, "x") == 0 ? 0 : -ENOENT;
}

static ssize_t t_read(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		      uint64_t offset, size_t size, const struct iovec *dst, unsigned dst_count)
{
	__atomic_fetch_add(&reads, 1, __ATOMIC_RELAXED);
	size_t done = 0;
	for (unsigned i = 0; i < dst_count; i++) {
		memset(dst[i].iov_base, (int)(ctx->unique & 0xff), dst[i].iov_len);
		done += dst[i].iov_len;
	}
	return (ssize_t)done;
}

static const struct fs_ops thread_ops = {
	.lookup = t_lookup,
	.read = t_read,
};

struct worker {
	struct fuse_server *server;
	unsigned id;
	int failures;
};

static size_t send(struct fuse_server *s, const void *req, size_t len, void *out, size_t out_len)
{
	struct iovec in = { (void *)req, len };
	struct iovec o = { out, out_len };
	return fuse_server_handle(s, &in, 1, &o, 1);
}

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	uint8_t req[128], out[16 + 4096];

	for (unsigned i = 0; i < ROUNDS; i++) {
		uint64_t unique = ((uint64_t)w->id << 32) | i;
		struct fuse_in_header h = { .unique = unique, .nodeid = w->id + 1 };
		size_t len = sizeof(h);
		if (i % 2 == 0) {
			h.opcode = FUSE_LOOKUP;
			memcpy(req + len, "x", 2);
			len += 2;
		} else {
			struct fuse_read_in rin = { .size = 1000 + w->id };
			h.opcode = FUSE_READ;
			memcpy(req + len, &rin, sizeof(rin));
			len += sizeof(rin);
		}
		h.len = (uint32_t)len;
		memcpy(req, &h, sizeof(h));
		size_t n = send(w->server, req, len, out, sizeof(out));
		struct fuse_out_header oh;
		memcpy(&oh, out, sizeof(oh));
		if (oh.unique != unique || oh.error != 0 || oh.len != n) {
			w->failures++;
			continue;
		}
		if (h.opcode == FUSE_LOOKUP) {
			struct fuse_entry_out e;
			memcpy(&e, out + sizeof(oh), sizeof(e));
			if (n != sizeof(oh) + sizeof(e) || e.nodeid != unique ||
			    e.generation != w->id + 1)
				w->failures++;
		} else {
			if (n != sizeof(oh) + 1000 + w->id || out[sizeof(oh)] != (unique & 0xff) ||
			    out[n - 1] != (unique & 0xff))
				w->failures++;
		}
	}
	return NULL;
}

static void *init_spammer(void *arg)
{
	struct fuse_server *s = arg;
	uint8_t req[sizeof(struct fuse_in_header) + sizeof(struct fuse_init_in)];
	uint8_t out[128];
	struct fuse_in_header h = { .len = sizeof(req), .opcode = FUSE_INIT, .unique = 1 };
	struct fuse_init_in in = { .major = 7, .minor = 38, .flags = FUSE_INIT_EXT };
	memcpy(req, &h, sizeof(h));
	memcpy(req + sizeof(h), &in, sizeof(in));
	for (int i = 0; i < ROUNDS; i++) {
		send(s, req, sizeof(req), out, sizeof(out));
		struct fuse_out_header oh;
		memcpy(&oh, out, sizeof(oh));
		assert_int_equal(oh.error, -EPROTO);
	}
	return NULL;
}

static void test_concurrent_requests(void **state)
{
	struct fuse_server_config config = { .ops = &thread_ops };
	struct fuse_server *s = fuse_server_new(&config);
	assert_non_null(s);
	uint8_t req[sizeof(struct fuse_in_header) + sizeof(struct fuse_init_in)];
	uint8_t out[128];
	struct fuse_in_header h = { .len = sizeof(req), .opcode = FUSE_INIT, .unique = 1 };
	struct fuse_init_in in = { .major = 7, .minor = 38, .flags = FUSE_INIT_EXT };
	memcpy(req, &h, sizeof(h));
	memcpy(req + sizeof(h), &in, sizeof(in));
	assert_int_equal(send(s, req, sizeof(req), out, sizeof(out)),
			 sizeof(struct fuse_out_header) + sizeof(struct fuse_init_out));

	pthread_t threads[THREADS], spammer;
	struct worker workers[THREADS];
	for (unsigned i = 0; i < THREADS; i++) {
		workers[i] = (struct worker){ .server = s, .id = i };
		assert_int_equal(pthread_create(&threads[i], NULL, worker_run, &workers[i]), 0);
	}
	assert_int_equal(pthread_create(&spammer, NULL, init_spammer, s), 0);
	for (unsigned i = 0; i < THREADS; i++) {
		pthread_join(threads[i], NULL);
		assert_int_equal(workers[i].failures, 0);
	}
	pthread_join(spammer, NULL);
	assert_int_equal(lookups, THREADS * ROUNDS / 2);
	assert_int_equal(reads, THREADS * ROUNDS / 2);
	fuse_server_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_concurrent_requests),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
