/* test_state_stream.c: the migration stream's parser against hostile
 * streams (each with a right checksum, so the check under test is the one
 * that refuses), and the cost of 100k inodes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <cmocka.h>

#include "migration/state_stream.h"

static struct mig_inode inodes[8];
static struct mig_handle handles[4];
static struct mig_lock_range ranges[2];
static struct mig_lock_owner locks[2];
static struct mig_state st;

/* root, d/ (node 5), d/f (node 6), an anchor a/, a/g (node 7) */
static void base(void)
{
	memset(inodes, 0, sizeof(inodes));
	inodes[0] = (struct mig_inode){ .nodeid = 1, .nlookup = 1, .type = S_IFDIR,
					.how = MIG_HOW_ROOT };
	inodes[1] = (struct mig_inode){ .nodeid = 5, .nlookup = 1, .type = S_IFDIR,
					.how = MIG_HOW_PATH, .flags = MIG_REC_PATH, .name = "d" };
	inodes[2] = (struct mig_inode){ .nodeid = 6, .nlookup = 2, .type = S_IFREG,
					.how = MIG_HOW_PATH, .flags = MIG_REC_PATH, .parent = 1,
					.name = "f" };
	inodes[3] = (struct mig_inode){ .nodeid = 0, .type = S_IFDIR, .how = MIG_HOW_PATH,
					.flags = MIG_REC_PATH, .name = "a" };
	inodes[4] = (struct mig_inode){ .nodeid = 7, .nlookup = 1, .type = S_IFREG,
					.how = MIG_HOW_PATH, .flags = MIG_REC_PATH, .parent = 3,
					.name = "g" };
	handles[0] = (struct mig_handle){ .fh = 1, .nodeid = 6, .flags = O_RDWR };
	handles[1] = (struct mig_handle){ .fh = 2, .nodeid = 5, .kind = MIG_HANDLE_DIR };
	ranges[0] = (struct mig_lock_range){ MIG_LOCK_WRITE, 0, 9 };
	locks[0] = (struct mig_lock_owner){ .nodeid = 6, .owner = 77, .fh = 1, .nranges = 1,
					    .ranges = ranges };
	st = (struct mig_state){
		.session = { .state = 1, .minor = 41, .max_write = 1 << 20, .next_nodeid = 8,
			     .next_fh = 3 },
		.ninodes = 5, .inodes = inodes, .nhandles = 2, .handles = handles,
		.nlocks = 1, .locks = locks,
	};
}

/* Encode st as it is and parse it: 0 or the parser's error. */
static int roundtrip(const char **why)
{
	struct mig_buf b;
	struct mig_state out;
	int ret;

	mig_buf_init(&b);
	assert_int_equal(mig_encode_unchecked(&st, &b), 0);
	ret = mig_parse(b.data, b.len, &out, why);
	mig_state_free(&out);
	mig_buf_free(&b);
	return ret;
}

#define REFUSED(reason_part) do { \
		const char *why_ = NULL; \
		assert_int_not_equal(roundtrip(&why_), 0); \
		assert_non_null(why_); \
		if (!strstr(why_, reason_part)) \
			fail_msg("refused for '%s', expected '%s'", why_, reason_part); \
		base(); \
	} while (0)

static void test_valid(void **state)
{
	struct mig_buf b;
	struct mig_state out;
	const char *why;

	base();
	mig_buf_init(&b);
	assert_int_equal(mig_encode(&st, &b), 0);
	assert_int_equal(mig_parse(b.data, b.len, &out, &why), 0);
	assert_int_equal(out.ninodes, 5);
	assert_string_equal(out.inodes[2].name, "f");
	assert_int_equal(out.inodes[2].parent, 1);
	assert_int_equal(out.nhandles, 2);
	assert_int_equal(out.locks[0].ranges[0].end, 9);
	mig_state_free(&out);
	mig_buf_free(&b);
}

/* Names and paths that would leave the share or not be one component. */
static void test_names(void **state)
{
	static const char *const bad[] = { "..", ".", "", "a/b", "/etc", "../../x", "d/" };

	base();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		inodes[2].name = bad[i];
		REFUSED("plain path component");
	}
	char longname[300];

	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	inodes[2].name = longname;
	REFUSED("plain path component");
}

static void test_tree(void **state)
{
	base();
	inodes[2].parent = 2;	/* itself */
	REFUSED("parent record not before");
	inodes[2].parent = 4;	/* later */
	REFUSED("parent record not before");
	inodes[4].parent = 2;	/* a file as parent */
	REFUSED("not a directory");
	inodes[3].nlookup = 1;	/* anchors have no lookups */
	REFUSED("anchor");
	inodes[3].type = S_IFREG;
	REFUSED("anchor");
	inodes[0].nodeid = 2;
	REFUSED("root");
	inodes[1].nodeid = 1;
	REFUSED("second root");
	inodes[1].how = MIG_HOW_HANDLE;	/* a handle record without a handle */
	REFUSED("without a handle");
	inodes[1].how = 9;
	REFUSED("kind unknown");
	inodes[2].type = 0170000;
	REFUSED("type unknown");
	inodes[2].flags |= 0x80;
	REFUSED("record flags");
	inodes[2].how = MIG_HOW_LOST;	/* lost, yet with a path */
	REFUSED("lost record");
}

static void test_ids(void **state)
{
	base();
	inodes[4].nodeid = 6;
	REFUSED("duplicate node id");
	inodes[4].nodeid = 8;	/* == next_nodeid */
	REFUSED("beyond the next");
	inodes[2].nlookup = 0;
	REFUSED("without lookups");
	handles[1].fh = 1;
	REFUSED("duplicate fh");
	handles[1].fh = 3;
	REFUSED("fh out of range");
	handles[1].fh = 0;
	REFUSED("fh out of range");
	handles[0].nodeid = 99;
	REFUSED("unknown inode");
	handles[0].nodeid = 0;	/* an anchor is not a guest inode */
	REFUSED("unknown inode");
	handles[0].flags = O_RDWR | O_CREAT | O_TRUNC;
	REFUSED("open flags");
	handles[0].flags = O_ACCMODE;
	REFUSED("open flags");
	handles[0].kind = 7;
	REFUSED("kind unknown");
	locks[0].nodeid = 42;
	REFUSED("unknown inode");
	ranges[0].end = 0, ranges[0].start = 5;
	REFUSED("range invalid");
	ranges[0].end = UINT64_MAX;
	REFUSED("range invalid");
	locks[1] = locks[0];
	st.nlocks = 2;
	REFUSED("duplicate lock owner");
	st.session.state = 7;
	REFUSED("session state");
	st.session.fs_flags = 0x100;
	REFUSED("file system flags");
	st.session.next_nodeid = 1;
	REFUSED("next ids");
}

/* Framing: each byte of a good stream, changed, is refused. */
static void test_framing(void **state)
{
	struct mig_buf b;
	struct mig_state out;
	const char *why;
	unsigned char *copy;

	base();
	mig_buf_init(&b);
	assert_int_equal(mig_encode(&st, &b), 0);
	copy = malloc(b.len + 8);
	for (size_t i = 0; i < b.len; i++) {
		memcpy(copy, b.data, b.len);
		copy[i] ^= 0x01;
		assert_int_not_equal(mig_parse(copy, b.len, &out, &why), 0);
		mig_state_free(&out);
	}
	for (size_t len = 0; len < b.len; len++) {
		assert_int_not_equal(mig_parse(b.data, len, &out, &why), 0);
		mig_state_free(&out);
	}
	memcpy(copy, b.data, b.len);
	memset(copy + b.len, 0, 8);
	assert_int_not_equal(mig_parse(copy, b.len + 8, &out, &why), 0);
	mig_state_free(&out);
	free(copy);
	mig_buf_free(&b);
}

/* Counts that claim more records than the bytes hold are refused before
 * anything is allocated for them. */
static void test_counts(void **state)
{
	struct mig_buf b;
	struct mig_state out;
	const char *why;
	uint32_t crc;
	size_t at;

	base();
	mig_buf_init(&b);
	assert_int_equal(mig_encode(&st, &b), 0);
	/* the inode count sits after the header, the session section and
	 * the inode section's own header */
	at = 16 + 16 + 40 + 16;
	memset(b.data + at, 0xff, 8);
	crc = mig_crc32c(0, b.data, b.len - 4);
	memcpy(b.data + b.len - 4, &crc, 4);
	assert_int_not_equal(mig_parse(b.data, b.len, &out, &why), 0);
	assert_non_null(strstr(why, "count"));
	mig_state_free(&out);
	mig_buf_free(&b);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* 100k inodes in 100 directories: what the stream costs by itself. */
static void test_100k(void **state)
{
	enum { N = 100000, DIRS = 100 };
	struct mig_inode *v = calloc(N + DIRS + 1, sizeof(*v));
	char (*names)[16] = calloc(N + DIRS, 16);
	struct mig_state big = { .session = { .state = 1, .minor = 41, .max_write = 1 << 20,
					      .next_nodeid = N + DIRS + 2, .next_fh = 1 } };
	struct mig_buf b;
	struct mig_state out;
	const char *why;
	double t0, t1, t2;

	v[0] = (struct mig_inode){ .nodeid = 1, .nlookup = 1, .type = S_IFDIR, .how = MIG_HOW_ROOT };
	for (int d = 0; d < DIRS; d++) {
		snprintf(names[d], 16, "d%d", d);
		v[1 + d] = (struct mig_inode){ .nodeid = 2 + d, .nlookup = 1, .type = S_IFDIR,
					       .how = MIG_HOW_PATH, .flags = MIG_REC_PATH,
					       .name = names[d] };
	}
	for (int i = 0; i < N; i++) {
		snprintf(names[DIRS + i], 16, "file-%d", i);
		v[1 + DIRS + i] = (struct mig_inode){
			.nodeid = 2 + DIRS + i, .nlookup = 1, .type = S_IFREG,
			.how = MIG_HOW_PATH, .flags = MIG_REC_PATH,
			.parent = 1 + (uint32_t)(i % DIRS), .name = names[DIRS + i] };
	}
	big.inodes = v;
	big.ninodes = N + DIRS + 1;
	mig_buf_init(&b);
	t0 = now();
	assert_int_equal(mig_encode_unchecked(&big, &b), 0);
	t1 = now();
	assert_int_equal(mig_parse(b.data, b.len, &out, &why), 0);
	t2 = now();
	printf("state stream, %d inodes: %zu bytes, encode %.1f ms, parse %.1f ms\n", N, b.len,
	       (t1 - t0) * 1e3, (t2 - t1) * 1e3);
	assert_int_equal(out.ninodes, N + DIRS + 1);
	mig_state_free(&out);
	mig_buf_free(&b);
	free(v);
	free(names);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_tree),
		cmocka_unit_test(test_ids),
		cmocka_unit_test(test_framing),
		cmocka_unit_test(test_counts),
		cmocka_unit_test(test_100k),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
