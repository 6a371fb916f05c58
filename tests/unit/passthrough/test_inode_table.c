/* Unit tests of the inode table: key reuse, lookup counting, forget,
 * references, unknown nodeids, the root, growth and threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "passthrough/inode_table.h"

static int path_fd(void)
{
	int fd = open("/", O_PATH | O_CLOEXEC);

	assert_true(fd >= 0);
	return fd;
}

/* inode_table_lookup() for the tests: the nodeid, or 0 on failure. */
static uint64_t lookup(struct inode_table *t, const struct inode_key *k, int fd, mode_t type)
{
	uint64_t id = 0;

	return inode_table_lookup(t, k, fd, type, &id) == 0 ? id : 0;
}

static bool fd_is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

static int count_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static int setup(void **state)
{
	struct inode_table *t = calloc(1, sizeof(*t));
	struct inode_key root = { .dev = 1, .ino = 1, .mnt_id = 1 };

	assert_int_equal(inode_table_init(t), 0);
	assert_int_equal(inode_table_set_root(t, path_fd(), &root, S_IFDIR), 0);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	inode_table_destroy(*state);
	free(*state);
	return 0;
}

static uint64_t nlookup_of(struct inode_table *t, uint64_t nodeid)
{
	struct pt_inode *inode = inode_table_get(t, nodeid);
	uint64_t n;

	assert_non_null(inode);
	n = inode->nlookup;
	inode_table_put(t, inode);
	return n;
}

static void test_same_key_reuses_inode(void **state)
{
	struct inode_table *t = *state;
	struct inode_key k = { .dev = 5, .ino = 42, .mnt_id = 7 };
	int fd1 = path_fd(), fd2 = path_fd();
	uint64_t a = lookup(t, &k, fd1, S_IFREG);
	uint64_t b = lookup(t, &k, fd2, S_IFREG);

	assert_true(a > FUSE_ROOT_ID);
	assert_int_equal(a, b);
	assert_int_equal(nlookup_of(t, a), 2);
	assert_int_equal(inode_table_count(t), 2);
	/* the second fd was a duplicate and is closed; the first is kept */
	assert_false(fd_is_open(fd2));
	assert_true(fd_is_open(fd1));

	/* another mount id is another inode */
	k.mnt_id = 8;
	assert_int_not_equal(lookup(t, &k, path_fd(), S_IFREG), a);
	assert_int_equal(inode_table_count(t), 3);
}

static void test_forget_to_zero_frees(void **state)
{
	struct inode_table *t = *state;
	struct inode_key k = { .dev = 5, .ino = 43 };
	int fd = path_fd();
	uint64_t id = lookup(t, &k, fd, S_IFREG);

	lookup(t, &k, path_fd(), S_IFREG);
	lookup(t, &k, path_fd(), S_IFREG);
	inode_table_forget(t, id, 2);
	assert_int_equal(nlookup_of(t, id), 1);
	inode_table_forget(t, id, 1);
	assert_null(inode_table_get(t, id));
	assert_false(fd_is_open(fd));
	assert_int_equal(inode_table_count(t), 1);

	/* a new lookup of the key gets a new nodeid: never reused */
	assert_true(lookup(t, &k, path_fd(), S_IFREG) > id);
}

static void test_forget_more_than_counted(void **state)
{
	struct inode_table *t = *state;
	struct inode_key k = { .dev = 5, .ino = 44 };
	uint64_t id = lookup(t, &k, path_fd(), S_IFREG);

	inode_table_forget(t, id, 1000);
	assert_null(inode_table_get(t, id));
}

static void test_reference_outlives_forget(void **state)
{
	struct inode_table *t = *state;
	struct inode_key k = { .dev = 5, .ino = 45 };
	int fd = path_fd();
	uint64_t id = lookup(t, &k, fd, S_IFREG);
	struct pt_inode *inode = inode_table_get(t, id);

	assert_non_null(inode);
	inode_table_forget(t, id, 1);
	/* gone for the guest, still usable by the op holding it */
	assert_null(inode_table_get(t, id));
	assert_true(fd_is_open(fd));
	assert_int_equal(inode->fd, fd);
	inode_table_put(t, inode);
	assert_false(fd_is_open(fd));
}

static void test_unknown_nodeid(void **state)
{
	struct inode_table *t = *state;

	assert_null(inode_table_get(t, 0));
	assert_null(inode_table_get(t, 12345));
	assert_null(inode_table_get(t, UINT64_MAX));
	inode_table_forget(t, 12345, 1);	/* ignored */
	assert_int_equal(inode_table_count(t), 1);
}

static void test_root_never_freed(void **state)
{
	struct inode_table *t = *state;
	struct pt_inode *root;

	inode_table_forget(t, FUSE_ROOT_ID, UINT64_MAX);
	inode_table_forget_all(t);
	root = inode_table_get(t, FUSE_ROOT_ID);
	assert_non_null(root);
	assert_true(fd_is_open(root->fd));
	inode_table_put(t, root);
	assert_non_null(inode_table_get(t, FUSE_ROOT_ID));
	inode_table_put(t, t->root);
}

static void test_growth(void **state)
{
	struct inode_table *t = *state;
	uint64_t ids[5000];
	int i;

	for (i = 0; i < 5000; i++) {
		struct inode_key k = { .dev = 9, .ino = (uint64_t)i };

		/* fd -1: the table never uses fds itself, and 5000 would hit RLIMIT_NOFILE */
		ids[i] = lookup(t, &k, -1, S_IFREG);
	}
	assert_int_equal(inode_table_count(t), 5001);
	for (i = 0; i < 5000; i++) {
		struct inode_key k = { .dev = 9, .ino = (uint64_t)i };

		assert_int_equal(lookup(t, &k, -1, S_IFREG), ids[i]);
		assert_int_equal(nlookup_of(t, ids[i]), 2);
	}
	inode_table_forget_all(t);
	assert_int_equal(inode_table_count(t), 1);
}

#define THREADS 8
#define KEYS 64
#define ROUNDS 50

struct worker {
	struct inode_table *t;
	uint64_t ids[KEYS];
};

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	int r, k;

	for (r = 0; r < ROUNDS; r++) {
		for (k = 0; k < KEYS; k++) {
			struct inode_key key = { .dev = 11, .ino = (uint64_t)k };
			int fd = open("/", O_PATH | O_CLOEXEC);
			uint64_t id = lookup(w->t, &key, fd, S_IFREG);
			struct pt_inode *inode = inode_table_get(w->t, id);

			if (!inode)
				return (void *)1;
			inode_table_put(w->t, inode);
			if (r && w->ids[k] != id)
				return (void *)1;
			w->ids[k] = id;
		}
	}
	return NULL;
}

static void test_concurrent_lookups(void **state)
{
	struct inode_table *t = *state;
	static struct worker workers[THREADS];
	pthread_t threads[THREADS];
	int fds_before = count_open_fds();
	int i, k;

	for (i = 0; i < THREADS; i++) {
		workers[i].t = t;
		assert_int_equal(pthread_create(&threads[i], NULL, worker_run, &workers[i]), 0);
	}
	for (i = 0; i < THREADS; i++) {
		void *res;

		pthread_join(threads[i], &res);
		assert_null(res);
	}
	/* every thread saw the same nodeid per key, and every lookup counted */
	for (k = 0; k < KEYS; k++) {
		for (i = 1; i < THREADS; i++)
			assert_int_equal(workers[i].ids[k], workers[0].ids[k]);
		assert_int_equal(nlookup_of(t, workers[0].ids[k]), THREADS * ROUNDS);
	}
	assert_int_equal(inode_table_count(t), KEYS + 1);
	assert_int_equal(count_open_fds(), fds_before + KEYS);
	for (k = 0; k < KEYS; k++)
		inode_table_forget(t, workers[0].ids[k], THREADS * ROUNDS);
	assert_int_equal(inode_table_count(t), 1);
	assert_int_equal(count_open_fds(), fds_before);
}

/* At the limit (root included) a new key gets -ENFILE with its fd closed,
 * a known key still counts, and a forget makes room again. */
static void test_limit(void **state)
{
	struct inode_table *t = *state;
	struct inode_key k = { .dev = 13, .ino = 1 };
	uint64_t id, first;
	int fd, i;

	t->limit = 4;
	for (i = 1; i <= 3; i++) {
		k.ino = (uint64_t)i;
		assert_int_equal(inode_table_lookup(t, &k, path_fd(), S_IFREG, &id), 0);
		if (i == 1)
			first = id;
	}
	assert_true(inode_table_full(t));
	k.ino = 99;
	fd = path_fd();
	assert_int_equal(inode_table_lookup(t, &k, fd, S_IFREG, &id), -ENFILE);
	assert_false(fd_is_open(fd));
	assert_int_equal(inode_table_count(t), 4);
	k.ino = 1;
	assert_int_equal(inode_table_lookup(t, &k, path_fd(), S_IFREG, &id), 0);
	assert_int_equal(id, first);
	inode_table_forget(t, first, 2);
	assert_false(inode_table_full(t));
	k.ino = 99;
	assert_int_equal(inode_table_lookup(t, &k, path_fd(), S_IFREG, &id), 0);
	assert_true(id > first);
}

static long vm_rss_kib(void)
{
	char line[256];
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "re");

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* FORGET of nodeids the guest was never given: no allocation, no state. */
static void test_forget_flood_constant_memory(void **state)
{
	struct inode_table *t = *state;
	size_t buckets = t->buckets;
	long before, after;
	uint64_t i;

	/* warm up whatever the first calls touch */
	for (i = 0; i < 1000; i++)
		inode_table_forget(t, 0x100000000ULL + i, UINT64_MAX);
	before = vm_rss_kib();
	for (i = 0; i < 1000000; i++)
		inode_table_forget(t, (i * 0x9e3779b97f4a7c15ULL) | 0x8000000000000000ULL, i + 1);
	after = vm_rss_kib();
	assert_int_equal(inode_table_count(t), 1);
	assert_int_equal(t->buckets, buckets);
	/* a byte per forget would be ~1 MiB; allow page noise only */
	assert_true(after - before < 512);
	assert_non_null(t->root);
}

/* ---- inodes held by file handle ---- */

static struct pt_mount *fake_mount(struct inode_table *t)
{
	int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct pt_mount *m;

	assert_true(fd >= 0);
	m = mount_table_add(&t->mounts, 77, fd);
	assert_non_null(m);
	return m;
}

static struct pt_fh fake_fh(unsigned char fill)
{
	struct pt_fh fh = { .bytes = 8, .type = 1 };

	memset(fh.data, fill, fh.bytes);
	return fh;
}

static uint64_t lookup_fh(struct inode_table *t, const struct inode_key *k,
			  const struct pt_fh *fh, int fd)
{
	uint64_t id = 0;
	struct pt_mount *m = mount_table_get(&t->mounts, 77);

	assert_non_null(m);
	return inode_table_lookup_handle(t, k, fh, m, fd, S_IFREG, &id) == 0 ? id : 0;
}

/* Key and handle are the identity: the same key with another handle is
 * an inode number reused after a delete, another file. */
static void test_handle_identity(void **state)
{
	struct inode_table *t = *state;
	struct inode_key k = { .dev = 5, .ino = 50, .mnt_id = 77 };
	struct pt_mount *m = fake_mount(t);
	struct pt_fh a = fake_fh(0xaa), b = fake_fh(0xbb), c = fake_fh(0xcc);
	uint64_t ida, idb, idfd;

	ida = lookup_fh(t, &k, &a, -1);
	assert_true(ida > FUSE_ROOT_ID);
	assert_int_equal(lookup_fh(t, &k, &a, -1), ida);
	assert_int_equal(nlookup_of(t, ida), 2);
	idb = lookup_fh(t, &k, &b, -1);
	assert_true(idb != ida);
	/* a handle with other bytes of the same length or type differs too */
	b.type = 2;
	assert_true(lookup_fh(t, &k, &b, -1) != idb);
	/* an inode holding its own fd pins its number: a handle lookup of
	 * that key is that inode */
	k.ino = 51;
	idfd = lookup(t, &k, path_fd(), S_IFREG);
	assert_int_equal(lookup_fh(t, &k, &c, -1), idfd);
	/* but a new inode holding an fd never matches one held by handle */
	k.ino = 50;
	assert_true(lookup(t, &k, -1, S_IFREG) != ida);
	mount_table_put(&t->mounts, m);
	assert_int_equal(mount_table_count(&t->mounts), 1);
	/* the inodes' mount references go with them */
	inode_table_forget_all(t);
	assert_int_equal(mount_table_count(&t->mounts), 0);
}

/* The LRU keeps at most cache_limit fds, evicting the least recently
 * used; an fd that does not fit is closed, never leaked. */
static void test_lru_bounded(void **state)
{
	struct inode_table *t = *state;
	struct pt_mount *m = fake_mount(t);
	uint64_t ids[6], hits, misses;
	size_t cached;
	int i, fds;

	t->cache_limit = 2;
	fds = count_open_fds();
	for (i = 0; i < 6; i++) {
		struct inode_key k = { .dev = 5, .ino = 60 + (uint64_t)i, .mnt_id = 77 };
		struct pt_fh fh = fake_fh((unsigned char)i);

		ids[i] = lookup_fh(t, &k, &fh, path_fd());
	}
	inode_table_cache_stats(t, &hits, &misses, &cached);
	assert_int_equal(cached, 2);
	assert_int_equal(count_open_fds(), fds + 2);
	assert_int_equal(inode_table_fds(t), 1 + 2);
	/* the two most recent are cached: their fd costs no system call */
	{
		struct pt_inode *inode = inode_table_get(t, ids[5]);
		int fd = inode_table_fd(t, inode);

		assert_true(fd >= 0);
		inode_table_fd_put(t, inode, fd);
		inode_table_put(t, inode);
		inode_table_cache_stats(t, &hits, &misses, &cached);
		assert_int_equal(hits, 1);
		assert_int_equal(misses, 0);
	}
	/* a lookup by key finds an inode whose fd is cached, not another */
	{
		struct inode_key k5 = { .dev = 5, .ino = 65, .mnt_id = 77 };
		struct inode_key k0 = { .dev = 5, .ino = 60, .mnt_id = 77 };
		uint64_t id = 0;
		int fd = path_fd();

		assert_true(inode_table_lookup_pinned(t, &k5, fd, &id));
		assert_int_equal(id, ids[5]);
		assert_false(fd_is_open(fd));
		assert_int_equal(nlookup_of(t, ids[5]), 2);
		inode_table_forget(t, ids[5], 1);
		fd = path_fd();
		assert_false(inode_table_lookup_pinned(t, &k0, fd, &id));
		assert_true(fd_is_open(fd));
		close(fd);
	}
	/* an evicted one is reopened by handle: a made-up handle fails, and
	 * the failure leaves nothing open */
	{
		struct pt_inode *inode = inode_table_get(t, ids[0]);

		assert_true(inode_table_fd(t, inode) < 0);
		inode_table_put(t, inode);
		inode_table_cache_stats(t, &hits, &misses, &cached);
		assert_int_equal(misses, 1);
	}
	assert_int_equal(count_open_fds(), fds + 2);
	for (i = 0; i < 6; i++)
		inode_table_forget(t, ids[i], 1);
	assert_int_equal(count_open_fds(), fds);
	mount_table_put(&t->mounts, m);
	assert_int_equal(count_open_fds(), fds - 1);	/* the last reference */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_same_key_reuses_inode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forget_to_zero_frees, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forget_more_than_counted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reference_outlives_forget, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_nodeid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_root_never_freed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_growth, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_lookups, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forget_flood_constant_memory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_handle_identity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lru_bounded, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
