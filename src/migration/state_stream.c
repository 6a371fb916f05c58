/* state_stream.c: encode and parse the migration state stream.
 *
 * Layout (little endian throughout; docs/migration.md):
 *   header:  "VFSDMIG\0", u32 version, u32 flags (0)
 *   sections, in this order, each once: u32 type, u32 zero, u64 length,
 *            then exactly length bytes:
 *     1 SESSION  the FUSE session and the next free ids
 *     2 INODES   u64 count, then records (record 0: the root)
 *     3 HANDLES  u64 count, then records
 *     4 LOCKS    u64 count, then lock owners with their ranges
 *   END:     u32 type 0xff, u32 CRC-32C of every byte before it. */
#include "migration/state_stream.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum {
	SEC_SESSION = 1,
	SEC_INODES = 2,
	SEC_HANDLES = 3,
	SEC_LOCKS = 4,
	SEC_END = 0xff,
};

#define HEADER_SIZE	16u
#define SECTION_HEAD	16u
#define SESSION_SIZE	40u
/* The smallest record of each kind, to bound counts by the bytes left. */
#define INODE_MIN	(8u + 8u + 4u + 1u + 1u)
#define HANDLE_MIN	(8u + 8u + 1u + 4u)
#define LOCK_MIN	(8u + 8u + 8u + 4u + 4u)
#define RANGE_SIZE	(1u + 8u + 8u)
#define LOCK_OFFSET_MAX	INT64_MAX

/* ---- CRC-32C ---- */

static uint32_t crc_table[256];
static int crc_ready;

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
		crc_table[i] = c;
	}
	__atomic_store_n(&crc_ready, 1, __ATOMIC_RELEASE);
}

uint32_t mig_crc32c(uint32_t crc, const void *data, size_t len)
{
	const unsigned char *p = data;

	/* Building the table twice from two threads writes the same values;
	 * it is built once before any thread in practice. */
	if (!__atomic_load_n(&crc_ready, __ATOMIC_ACQUIRE))
		crc_init();
	crc = ~crc;
	while (len--)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

bool mig_name_ok(const char *name, size_t len)
{
	if (len == 0 || len > MIG_NAME_MAX)
		return false;
	if (memchr(name, '/', len) || memchr(name, '\0', len))
		return false;
	if (name[0] == '.' && (len == 1 || (len == 2 && name[1] == '.')))
		return false;
	return true;
}

static bool type_ok(uint32_t type)
{
	switch (type) {
	case S_IFREG: case S_IFDIR: case S_IFLNK: case S_IFCHR:
	case S_IFBLK: case S_IFIFO: case S_IFSOCK:
		return true;
	default:
		return false;
	}
}

/* ---- writing ---- */

void mig_buf_init(struct mig_buf *b)
{
	memset(b, 0, sizeof(*b));
}

void mig_buf_free(struct mig_buf *b)
{
	free(b->data);
	mig_buf_init(b);
}

static unsigned char *buf_room(struct mig_buf *b, size_t n)
{
	if (b->err)
		return NULL;
	if (n > MIG_STREAM_MAX - b->len) {
		b->err = -E2BIG;
		return NULL;
	}
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		unsigned char *d;

		while (cap < b->len + n)
			cap *= 2;
		d = realloc(b->data, cap);
		if (!d) {
			b->err = -ENOMEM;
			return NULL;
		}
		b->data = d;
		b->cap = cap;
	}
	b->len += n;
	return b->data + b->len - n;
}

static void put_bytes(struct mig_buf *b, const void *p, size_t n)
{
	unsigned char *d = buf_room(b, n);

	if (d && n)
		memcpy(d, p, n);
}

static void put_le(struct mig_buf *b, uint64_t v, unsigned n)
{
	unsigned char *d = buf_room(b, n);

	for (unsigned i = 0; d && i < n; i++)
		d[i] = (unsigned char)(v >> (8 * i));
}

#define put_u8(b, v)  put_le(b, v, 1)
#define put_u16(b, v) put_le(b, v, 2)
#define put_u32(b, v) put_le(b, v, 4)
#define put_u64(b, v) put_le(b, v, 8)

static void set_le(struct mig_buf *b, size_t at, uint64_t v, unsigned n)
{
	if (b->err)
		return;
	for (unsigned i = 0; i < n; i++)
		b->data[at + i] = (unsigned char)(v >> (8 * i));
}

static size_t section_open(struct mig_buf *b, uint32_t type)
{
	put_u32(b, type);
	put_u32(b, 0);
	put_u64(b, 0);
	return b->len;
}

static void section_close(struct mig_buf *b, size_t start)
{
	set_le(b, start - 8, b->len - start, 8);
}

static void put_inode(struct mig_buf *b, const struct mig_inode *in)
{
	put_u64(b, in->nodeid);
	put_u64(b, in->nlookup);
	put_u32(b, in->type);
	put_u8(b, in->how);
	put_u8(b, in->flags);
	if (in->flags & MIG_REC_PATH) {
		size_t n = strlen(in->name);

		put_u32(b, in->parent);
		put_u16(b, n);
		put_bytes(b, in->name, n);
	}
	if (in->flags & MIG_REC_FH) {
		put_u32(b, (uint32_t)in->fh.type);
		put_u16(b, in->fh.bytes);
		put_bytes(b, in->fh.data, in->fh.bytes);
	}
	if (in->how == MIG_HOW_LOST) {
		size_t n = in->reason ? strlen(in->reason) : 0;

		if (n > MIG_REASON_MAX)
			n = MIG_REASON_MAX;
		put_u16(b, n);
		put_bytes(b, in->reason, n);
	}
}

int mig_encode_unchecked(const struct mig_state *st, struct mig_buf *b)
{
	const struct mig_session *s = &st->session;
	size_t sec, i;

	put_bytes(b, MIG_MAGIC, 8);
	put_u32(b, MIG_VERSION);
	put_u32(b, 0);

	sec = section_open(b, SEC_SESSION);
	put_u32(b, s->state);
	put_u32(b, s->minor);
	put_u64(b, s->flags);
	put_u32(b, s->max_write);
	put_u32(b, s->fs_flags);
	put_u64(b, s->next_nodeid);
	put_u64(b, s->next_fh);
	section_close(b, sec);

	sec = section_open(b, SEC_INODES);
	put_u64(b, st->ninodes);
	for (i = 0; i < st->ninodes; i++)
		put_inode(b, &st->inodes[i]);
	section_close(b, sec);

	sec = section_open(b, SEC_HANDLES);
	put_u64(b, st->nhandles);
	for (i = 0; i < st->nhandles; i++) {
		const struct mig_handle *h = &st->handles[i];

		put_u64(b, h->fh);
		put_u64(b, h->nodeid);
		put_u8(b, h->kind);
		put_u32(b, h->flags);
	}
	section_close(b, sec);

	sec = section_open(b, SEC_LOCKS);
	put_u64(b, st->nlocks);
	for (i = 0; i < st->nlocks; i++) {
		const struct mig_lock_owner *o = &st->locks[i];

		put_u64(b, o->nodeid);
		put_u64(b, o->owner);
		put_u64(b, o->fh);
		put_u32(b, o->pid);
		put_u32(b, o->nranges);
		for (uint32_t r = 0; r < o->nranges; r++) {
			put_u8(b, o->ranges[r].type);
			put_u64(b, o->ranges[r].start);
			put_u64(b, o->ranges[r].end);
		}
	}
	section_close(b, sec);

	put_u32(b, SEC_END);
	if (b->err)
		return b->err;
	put_u32(b, mig_crc32c(0, b->data, b->len));
	return b->err;
}

int mig_encode(const struct mig_state *st, struct mig_buf *b)
{
	const char *why;
	struct mig_state check;
	int ret = mig_encode_unchecked(st, b);

	if (ret)
		return ret;
	/* What we send must be what a destination accepts. */
	ret = mig_parse(b->data, b->len, &check, &why);
	mig_state_free(&check);
	return ret ? -EINVAL : 0;
}

/* ---- reading ---- */

struct reader {
	const unsigned char *p;
	size_t left;
	const char *why;
};

static int fail(struct reader *r, const char *why)
{
	if (!r->why)
		r->why = why;
	return -EPROTO;
}

static int get_le(struct reader *r, unsigned n, uint64_t *v)
{
	if (r->left < n)
		return fail(r, "truncated");
	*v = 0;
	for (unsigned i = 0; i < n; i++)
		*v |= (uint64_t)r->p[i] << (8 * i);
	r->p += n;
	r->left -= n;
	return 0;
}

static int get_u8(struct reader *r, uint8_t *v)
{
	uint64_t x = 0;
	int ret = get_le(r, 1, &x);

	*v = (uint8_t)x;
	return ret;
}

static int get_u16(struct reader *r, uint16_t *v)
{
	uint64_t x = 0;
	int ret = get_le(r, 2, &x);

	*v = (uint16_t)x;
	return ret;
}

static int get_u32(struct reader *r, uint32_t *v)
{
	uint64_t x = 0;
	int ret = get_le(r, 4, &x);

	*v = (uint32_t)x;
	return ret;
}

static int get_u64(struct reader *r, uint64_t *v)
{
	return get_le(r, 8, v);
}

/* Open section `type`: *sub reads exactly its length. */
static int section_take(struct reader *r, uint32_t type, struct reader *sub)
{
	uint32_t t, zero;
	uint64_t len;

	if (get_u32(r, &t) || get_u32(r, &zero) || get_u64(r, &len))
		return -EPROTO;
	if (t != type)
		return fail(r, "section missing or out of order");
	if (zero)
		return fail(r, "reserved section bits set");
	if (len > r->left)
		return fail(r, "section longer than the stream");
	*sub = (struct reader){ .p = r->p, .left = (size_t)len };
	r->p += len;
	r->left -= (size_t)len;
	return 0;
}

static int section_done(struct reader *r, struct reader *sub)
{
	if (sub->why)
		return fail(r, sub->why);
	if (sub->left)
		return fail(r, "section longer than its records");
	return 0;
}

/* Open addressing set of u64 keys (never 0). */
struct idset {
	uint64_t *slots;
	size_t mask;
};

static int idset_init(struct idset *s, size_t n)
{
	size_t cap = 16;

	while (cap < 2 * n + 16)
		cap *= 2;
	s->slots = calloc(cap, sizeof(*s->slots));
	s->mask = cap - 1;
	return s->slots ? 0 : -ENOMEM;
}

static size_t idset_hash(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	return (size_t)k;
}

/* 1 added, 0 already there. */
static int idset_add(struct idset *s, uint64_t k)
{
	size_t i = idset_hash(k) & s->mask;

	while (s->slots[i]) {
		if (s->slots[i] == k)
			return 0;
		i = (i + 1) & s->mask;
	}
	s->slots[i] = k;
	return 1;
}

static bool idset_has(const struct idset *s, uint64_t k)
{
	size_t i = idset_hash(k) & s->mask;

	while (s->slots[i]) {
		if (s->slots[i] == k)
			return true;
		i = (i + 1) & s->mask;
	}
	return false;
}

static void idset_free(struct idset *s)
{
	free(s->slots);
	s->slots = NULL;
}

static int parse_session(struct reader *sec, struct mig_session *s)
{
	if (get_u32(sec, &s->state) || get_u32(sec, &s->minor) || get_u64(sec, &s->flags) ||
	    get_u32(sec, &s->max_write) || get_u32(sec, &s->fs_flags) ||
	    get_u64(sec, &s->next_nodeid) || get_u64(sec, &s->next_fh))
		return -EPROTO;
	if (s->state > 2)
		return fail(sec, "session state unknown");
	if (s->fs_flags & ~MIG_FS_ALL)
		return fail(sec, "unknown file system flags");
	if (s->next_nodeid < 2 || s->next_fh < 1)
		return fail(sec, "next ids out of range");
	return 0;
}

/* Names are copied NUL-terminated into the arena at *arena. */
static int parse_inode(struct reader *sec, struct mig_state *st, size_t idx, char **arena,
		       struct idset *ids)
{
	struct mig_inode *in = &st->inodes[idx];
	uint16_t n;
	uint32_t fhtype;

	memset(in, 0, sizeof(*in));
	if (get_u64(sec, &in->nodeid) || get_u64(sec, &in->nlookup) || get_u32(sec, &in->type) ||
	    get_u8(sec, &in->how) || get_u8(sec, &in->flags))
		return -EPROTO;
	if (!type_ok(in->type))
		return fail(sec, "inode type unknown");
	if (in->flags & ~(MIG_REC_PATH | MIG_REC_FH))
		return fail(sec, "unknown record flags");
	if (idx == 0) {
		if (in->how != MIG_HOW_ROOT || in->nodeid != 1 || in->type != S_IFDIR || in->flags)
			return fail(sec, "record 0 is not the root");
	} else {
		switch (in->how) {
		case MIG_HOW_PATH:
			if (!(in->flags & MIG_REC_PATH))
				return fail(sec, "path record without a path");
			break;
		case MIG_HOW_HANDLE:
			if (!(in->flags & MIG_REC_FH))
				return fail(sec, "handle record without a handle");
			break;
		case MIG_HOW_LOST:
			if (in->flags)
				return fail(sec, "lost record with a way to find it");
			break;
		default:
			return fail(sec, "record kind unknown");
		}
		if (in->nodeid == 1)
			return fail(sec, "a second root");
		if (in->nodeid == 0) {
			/* anchors exist to be parents; the guest does not know them */
			if (in->type != S_IFDIR || in->nlookup || in->how == MIG_HOW_LOST)
				return fail(sec, "anchor record that is not a directory on a path");
		} else {
			if (in->nlookup == 0)
				return fail(sec, "inode without lookups");
			if (in->nodeid >= st->session.next_nodeid)
				return fail(sec, "node id beyond the next free one");
			if (!idset_add(ids, in->nodeid))
				return fail(sec, "duplicate node id");
		}
	}
	if (idx == 0 && !idset_add(ids, 1))
		return fail(sec, "duplicate node id");
	if (in->flags & MIG_REC_PATH) {
		if (get_u32(sec, &in->parent) || get_u16(sec, &n))
			return -EPROTO;
		if (in->parent >= idx)
			return fail(sec, "parent record not before its child");
		if (st->inodes[in->parent].type != S_IFDIR)
			return fail(sec, "parent record not a directory");
		if (st->inodes[in->parent].how == MIG_HOW_LOST)
			return fail(sec, "parent record lost");
		if (n > sec->left)
			return fail(sec, "truncated");
		if (!mig_name_ok((const char *)sec->p, n))
			return fail(sec, "name is not one plain path component");
		memcpy(*arena, sec->p, n);
		(*arena)[n] = '\0';
		in->name = *arena;
		*arena += n + 1;
		sec->p += n;
		sec->left -= n;
	}
	if (in->flags & MIG_REC_FH) {
		if (get_u32(sec, &fhtype) || get_u16(sec, &in->fh.bytes))
			return -EPROTO;
		in->fh.type = (int32_t)fhtype;
		if (in->fh.bytes == 0 || in->fh.bytes > MIG_FH_MAX)
			return fail(sec, "file handle size out of range");
		if (in->fh.bytes > sec->left)
			return fail(sec, "truncated");
		memcpy(in->fh.data, sec->p, in->fh.bytes);
		sec->p += in->fh.bytes;
		sec->left -= in->fh.bytes;
	}
	if (in->how == MIG_HOW_LOST) {
		if (get_u16(sec, &n))
			return -EPROTO;
		if (n > MIG_REASON_MAX || n > sec->left)
			return fail(sec, "reason too long");
		memcpy(*arena, sec->p, n);
		(*arena)[n] = '\0';
		/* a reason only goes to our log: keep it printable */
		for (uint16_t k = 0; k < n; k++)
			if ((unsigned char)(*arena)[k] < 0x20 || (unsigned char)(*arena)[k] > 0x7e)
				(*arena)[k] = '?';
		in->reason = *arena;
		*arena += n + 1;
		sec->p += n;
		sec->left -= n;
	}
	return 0;
}

static bool id_known(const struct idset *ids, uint64_t nodeid)
{
	return nodeid && idset_has(ids, nodeid);
}

static int parse_handles(struct reader *sec, struct mig_state *st, const struct idset *ids,
			 struct idset *fhs)
{
	uint64_t count;

	if (get_u64(sec, &count))
		return -EPROTO;
	if (count > MIG_HANDLES_MAX || count > sec->left / HANDLE_MIN)
		return fail(sec, "handle count beyond the bytes or the limit");
	st->handles = calloc(count ? (size_t)count : 1, sizeof(*st->handles));
	if (!st->handles || idset_init(fhs, (size_t)count))
		return -ENOMEM;
	for (size_t i = 0; i < count; i++) {
		struct mig_handle *h = &st->handles[i];

		if (get_u64(sec, &h->fh) || get_u64(sec, &h->nodeid) || get_u8(sec, &h->kind) ||
		    get_u32(sec, &h->flags))
			return -EPROTO;
		if (h->fh == 0 || h->fh >= st->session.next_fh)
			return fail(sec, "fh out of range");
		if (!idset_add(fhs, h->fh))
			return fail(sec, "duplicate fh");
		if (!id_known(ids, h->nodeid))
			return fail(sec, "handle of an unknown inode");
		if (h->kind > MIG_HANDLE_DIR)
			return fail(sec, "handle kind unknown");
		if ((h->flags & ~(uint32_t)MIG_OPEN_FLAGS_ALLOWED) || (h->flags & O_ACCMODE) == O_ACCMODE)
			return fail(sec, "handle open flags not allowed");
		st->nhandles++;
	}
	return 0;
}

static int owner_cmp(const void *a, const void *b)
{
	const struct mig_lock_owner *x = *(const struct mig_lock_owner *const *)a;
	const struct mig_lock_owner *y = *(const struct mig_lock_owner *const *)b;

	if (x->nodeid != y->nodeid)
		return x->nodeid < y->nodeid ? -1 : 1;
	if (x->owner != y->owner)
		return x->owner < y->owner ? -1 : 1;
	return 0;
}

/* No (nodeid, owner) twice: sort pointers and compare neighbours. */
static int locks_unique(struct reader *sec, const struct mig_state *st)
{
	const struct mig_lock_owner **v;
	int ret = 0;

	if (st->nlocks < 2)
		return 0;
	v = malloc(st->nlocks * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < st->nlocks; i++)
		v[i] = &st->locks[i];
	qsort(v, st->nlocks, sizeof(*v), owner_cmp);
	for (size_t i = 1; i < st->nlocks && !ret; i++)
		if (!owner_cmp(&v[i - 1], &v[i]))
			ret = fail(sec, "duplicate lock owner");
	free(v);
	return ret;
}

static int parse_locks(struct reader *sec, struct mig_state *st, const struct idset *ids)
{
	uint64_t count;
	size_t used = 0;

	if (get_u64(sec, &count))
		return -EPROTO;
	if (count > MIG_LOCK_OWNERS_MAX || count > sec->left / LOCK_MIN)
		return fail(sec, "lock owner count beyond the bytes or the limit");
	st->locks = calloc(count ? (size_t)count : 1, sizeof(*st->locks));
	/* ranges: at most what the bytes can hold */
	st->ranges = calloc(sec->left / RANGE_SIZE + 1, sizeof(*st->ranges));
	if (!st->locks || !st->ranges)
		return -ENOMEM;
	for (size_t i = 0; i < count; i++) {
		struct mig_lock_owner *o = &st->locks[i];

		if (get_u64(sec, &o->nodeid) || get_u64(sec, &o->owner) || get_u64(sec, &o->fh) ||
		    get_u32(sec, &o->pid) || get_u32(sec, &o->nranges))
			return -EPROTO;
		if (!id_known(ids, o->nodeid))
			return fail(sec, "lock owner of an unknown inode");
		if (o->nranges > MIG_LOCK_RANGES_MAX || o->nranges > sec->left / RANGE_SIZE)
			return fail(sec, "lock range count beyond the bytes or the limit");
		o->ranges = st->ranges + used;
		for (uint32_t r = 0; r < o->nranges; r++) {
			struct mig_lock_range *lr = &o->ranges[r];

			if (get_u8(sec, &lr->type) || get_u64(sec, &lr->start) ||
			    get_u64(sec, &lr->end))
				return -EPROTO;
			if (lr->type > MIG_LOCK_WRITE || lr->start > LOCK_OFFSET_MAX ||
			    lr->end > LOCK_OFFSET_MAX || lr->end < lr->start)
				return fail(sec, "lock range invalid");
		}
		used += o->nranges;
		st->nlocks++;
	}
	return locks_unique(sec, st);
}

int mig_parse(const void *data, size_t len, struct mig_state *st, const char **why)
{
	struct reader r = { .p = data, .left = len }, sec;
	struct idset ids = { 0 }, fhs = { 0 };
	uint32_t version, flags, type, crc;
	uint64_t count;
	char *arena;
	int ret;

	memset(st, 0, sizeof(*st));
	*why = NULL;
	if (len > MIG_STREAM_MAX) {
		*why = "stream larger than the limit";
		return -E2BIG;
	}
	if (len < HEADER_SIZE + 8 || memcmp(data, MIG_MAGIC, 8) != 0) {
		*why = "not a virtiofsd state stream";
		return -EINVAL;
	}
	r.p += 8;
	r.left -= 8;
	if (get_u32(&r, &version) || get_u32(&r, &flags))
		goto bad;
	if (version != MIG_VERSION) {
		*why = "stream version not supported";
		return -EINVAL;
	}
	if (flags) {
		*why = "unknown stream flags";
		return -EINVAL;
	}
	/* The checksum first: nothing is interpreted from a damaged stream. */
	{
		const unsigned char *c = (const unsigned char *)data + len - 4;
		const unsigned char *t = (const unsigned char *)data + len - 8;

		crc = (uint32_t)c[0] | (uint32_t)c[1] << 8 | (uint32_t)c[2] << 16 |
		      (uint32_t)c[3] << 24;
		type = (uint32_t)t[0] | (uint32_t)t[1] << 8 | (uint32_t)t[2] << 16 |
		       (uint32_t)t[3] << 24;
	}
	if (type != SEC_END) {
		*why = "stream does not end with its end marker";
		return -EPROTO;
	}
	if (crc != mig_crc32c(0, data, len - 4)) {
		*why = "checksum mismatch";
		return -EPROTO;
	}
	r.left -= 8; /* the end marker, checked above */

	if (section_take(&r, SEC_SESSION, &sec))
		goto bad;
	ret = parse_session(&sec, &st->session);
	if (ret || section_done(&r, &sec))
		goto bad_sec;

	if (section_take(&r, SEC_INODES, &sec))
		goto bad;
	if (get_u64(&sec, &count))
		goto bad_sec;
	if (count == 0 || count > MIG_INODES_MAX || count > sec.left / INODE_MIN) {
		fail(&sec, "inode count beyond the bytes or the limit");
		goto bad_sec;
	}
	st->inodes = calloc((size_t)count, sizeof(*st->inodes));
	/* names and reasons: never more bytes than the section, plus NULs */
	st->names = malloc(sec.left + (size_t)count + 1);
	if (!st->inodes || !st->names || idset_init(&ids, (size_t)count)) {
		ret = -ENOMEM;
		*why = "out of memory";
		goto out;
	}
	arena = st->names;
	for (size_t i = 0; i < count; i++) {
		ret = parse_inode(&sec, st, i, &arena, &ids);
		if (ret)
			goto bad_sec;
		st->ninodes++;
	}
	if (section_done(&r, &sec))
		goto bad;

	if (section_take(&r, SEC_HANDLES, &sec))
		goto bad;
	ret = parse_handles(&sec, st, &ids, &fhs);
	if (ret == -ENOMEM) {
		*why = "out of memory";
		goto out;
	}
	if (ret || section_done(&r, &sec))
		goto bad_sec;

	if (section_take(&r, SEC_LOCKS, &sec))
		goto bad;
	ret = parse_locks(&sec, st, &ids);
	if (ret == -ENOMEM) {
		*why = "out of memory";
		goto out;
	}
	if (ret || section_done(&r, &sec))
		goto bad_sec;
	if (r.left) {
		*why = "bytes after the last section";
		ret = -EPROTO;
		goto out;
	}
	ret = 0;
	goto out;
bad_sec:
	if (!r.why)
		r.why = sec.why;
bad:
	*why = r.why ? r.why : "malformed";
	ret = -EPROTO;
out:
	idset_free(&ids);
	idset_free(&fhs);
	return ret;
}

void mig_state_free(struct mig_state *st)
{
	free(st->inodes);
	free(st->handles);
	free(st->locks);
	free(st->names);
	free(st->ranges);
	memset(st, 0, sizeof(*st));
}
