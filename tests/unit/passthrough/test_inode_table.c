/* Unit tests of the inode table: key reuse, lookup counting, forget,
 * references, unknown nodeids, the root, growth and threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "passthrough/inode_table.h"

static int path_fd(void)
{
	int fd = open("/", O_PATH | O_CLOEXEC);

	assert_true(fd >= 0);
	return fd;
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
	uint64_t a = inode_table_lookup(t, &k, fd1, S_IFREG);
	uint64_t b = inode_table_lookup(t, &k, fd2, S_IFREG);

	assert_true(a > FUSE_ROOT_ID);
	assert_int_equal(a, b);
	assert_int_equal(nlookup_of(t, a), 2);
	assert_int_equal(inode_table_count(t), 2);
	/* the second fd was a duplicate and is closed; the first is kept */
	assert_false(fd_is_open(fd2));
	assert_true(fd_is_open(fd1));

	/* another mount id is another inode */
	k.mnt_id = 8;
	assert_int_not_equal(inode_table_lookup(t, &k, path_fd(), S_IFREG), a);
	assert_int_equal(inode_table_count(t), 3);
}

static void test_forget_to_zero_frees(void **state)
{
	struct inode_table *t = *state;
	struct inode_key k = { .dev = 5, .ino = 43 };
	int fd = path_fd();
	uint64_t id = inode_table_lookup(t, &k, fd, S_IFREG);

	inode_table_lookup(t, &k, path_fd(), S_IFREG);
	inode_table_lookup(t, &k, path_fd(), S_IFREG);
	inode_table_forget(t, id, 2);
	assert_int_equal(nlookup_of(t, id), 1);
	inode_table_forget(t, id, 1);
	assert_null(inode_table_get(t, id));
	assert_false(fd_is_open(fd));
	assert_int_equal(inode_table_count(t), 1);

	/* a new lookup of the key gets a new nodeid: never reused */
	assert_true(inode_table_lookup(t, &k, path_fd(), S_IFREG) > id);
}

static void test_forget_more_than_counted(void **state)
{
	struct inode_table *t = *state;
	struct inode_key k = { .dev = 5, .ino = 44 };
	uint64_t id = inode_table_lookup(t, &k, path_fd(), S_IFREG);

	inode_table_forget(t, id, 1000);
	assert_null(inode_table_get(t, id));
}

static void test_reference_outlives_forget(void **state)
{
	struct inode_table *t = *state;
	struct inode_key k = { .dev = 5, .ino = 45 };
	int fd = path_fd();
	uint64_t id = inode_table_lookup(t, &k, fd, S_IFREG);
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
		ids[i] = inode_table_lookup(t, &k, -1, S_IFREG);
	}
	assert_int_equal(inode_table_count(t), 5001);
	for (i = 0; i < 5000; i++) {
		struct inode_key k = { .dev = 9, .ino = (uint64_t)i };

		assert_int_equal(inode_table_lookup(t, &k, -1, S_IFREG), ids[i]);
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
			uint64_t id = inode_table_lookup(w->t, &key, fd, S_IFREG);
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
