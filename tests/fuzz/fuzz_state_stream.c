/* fuzz_state_stream.c: the migration state stream parser
 * (src/migration/state_stream.c) on arbitrary bytes, which is what a
 * destination daemon gets from the frontend. The input is parsed as it
 * is, and once more with its end marker and checksum made right, so the
 * fuzzer reaches past the CRC. A stream the parser takes must satisfy
 * what the loader relies on (root first, parents earlier and
 * directories, plain names, unique ids, bounded sizes) and encode to
 * bytes that parse to the same state. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "migration/state_stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

static void invariants(const struct mig_state *st)
{
	CHECK(st->ninodes >= 1 && st->inodes[0].nodeid == 1 && st->inodes[0].how == MIG_HOW_ROOT);
	for (size_t i = 1; i < st->ninodes; i++) {
		const struct mig_inode *in = &st->inodes[i];

		CHECK(in->nodeid != 1);
		CHECK(in->nodeid < st->session.next_nodeid);
		if (in->flags & MIG_REC_PATH) {
			CHECK(in->parent < i);
			CHECK(st->inodes[in->parent].type == S_IFDIR);
			CHECK(mig_name_ok(in->name, strlen(in->name)));
		}
		if (in->flags & MIG_REC_FH)
			CHECK(in->fh.bytes >= 1 && in->fh.bytes <= MIG_FH_MAX);
		if (in->how == MIG_HOW_LOST)
			CHECK(in->reason && strlen(in->reason) <= MIG_REASON_MAX);
	}
	for (size_t i = 0; i < st->nhandles; i++)
		CHECK(st->handles[i].fh && st->handles[i].fh < st->session.next_fh);
	for (size_t i = 0; i < st->nlocks; i++)
		CHECK(st->locks[i].nranges <= MIG_LOCK_RANGES_MAX);
}

static void one(const uint8_t *data, size_t size)
{
	struct mig_state st, again;
	struct mig_buf b1, b2;
	const char *why;

	if (mig_parse(data, size, &st, &why)) {
		CHECK(why != NULL);
		mig_state_free(&st);
		return;
	}
	invariants(&st);
	mig_buf_init(&b1);
	CHECK(mig_encode(&st, &b1) == 0);
	CHECK(mig_parse(b1.data, b1.len, &again, &why) == 0);
	mig_buf_init(&b2);
	CHECK(mig_encode(&again, &b2) == 0);
	CHECK(b1.len == b2.len && !memcmp(b1.data, b2.data, b1.len));
	CHECK(again.ninodes == st.ninodes && again.nhandles == st.nhandles &&
	      again.nlocks == st.nlocks);
	mig_buf_free(&b1);
	mig_buf_free(&b2);
	mig_state_free(&again);
	mig_state_free(&st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *fixed;
	uint32_t crc;

	one(data, size);
	if (size < 24 || size > MIG_STREAM_MAX)
		return 0;
	fixed = malloc(size);
	if (!fixed)
		return 0;
	memcpy(fixed, data, size);
	memcpy(fixed, MIG_MAGIC, 8);
	fixed[8] = 1, fixed[9] = fixed[10] = fixed[11] = 0;	/* version 1 */
	memset(fixed + 12, 0, 4);
	fixed[size - 8] = 0xff, fixed[size - 7] = fixed[size - 6] = fixed[size - 5] = 0;
	crc = mig_crc32c(0, fixed, size - 4);
	for (int i = 0; i < 4; i++)
		fixed[size - 4 + i] = (uint8_t)(crc >> (8 * i));
	one(fixed, size);
	free(fixed);
	return 0;
}
