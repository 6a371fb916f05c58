/* id_map.c: the --translate-uid/--translate-gid rules, parsed and applied.
 * Each direction is an array of non-overlapping source ranges sorted by
 * their first id; a lookup is a binary search. */
#include "passthrough/id_map.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The largest id a range may reach: (uint32_t)-1 means "unchanged" to
 * chown(2) and "no id" to the kernel, never an id. */
#define ID_LAST 0xfffffffeu

enum entry_kind {
	ENTRY_RANGE,	/* first + i -> to + i */
	ENTRY_SQUASH,	/* every id -> to */
	ENTRY_FAIL,	/* -EPERM */
};

struct entry {
	uint32_t first;
	uint32_t count;
	uint32_t to;
	enum entry_kind kind;
};

struct direction {
	struct entry *entries;
	size_t n;
};

struct id_map {
	struct direction to_host;
	struct direction to_guest;
};

struct id_map *id_map_new(void)
{
	return calloc(1, sizeof(struct id_map));
}

void id_map_free(struct id_map *map)
{
	if (!map)
		return;
	free(map->to_host.entries);
	free(map->to_guest.entries);
	free(map);
}

bool id_map_is_identity(const struct id_map *map)
{
	return !map || (map->to_host.n == 0 && map->to_guest.n == 0);
}

/* The entry whose range holds id, or NULL. */
static const struct entry *direction_find(const struct direction *d, uint32_t id)
{
	size_t lo = 0, hi = d->n;

	/* the last entry with first <= id */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (d->entries[mid].first <= id)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	const struct entry *e = &d->entries[lo - 1];

	return id - e->first < e->count ? e : NULL;
}

int id_map_to_host(const struct id_map *map, uint32_t guest, uint32_t *host)
{
	const struct entry *e = map ? direction_find(&map->to_host, guest) : NULL;

	if (!e) {
		*host = guest;
		return 0;
	}
	switch (e->kind) {
	case ENTRY_RANGE:
		*host = e->to + (guest - e->first);
		return 0;
	case ENTRY_SQUASH:
		*host = e->to;
		return 0;
	case ENTRY_FAIL:
	default:
		return -EPERM;
	}
}

uint32_t id_map_to_guest(const struct id_map *map, uint32_t host)
{
	const struct entry *e = map ? direction_find(&map->to_guest, host) : NULL;

	if (!e)
		return host;
	/* no host-to-guest rule fails */
	return e->kind == ENTRY_RANGE ? e->to + (host - e->first) : e->to;
}

/* ---- parsing ---- */

struct parse {
	const char *rule;
	char *err;
	size_t err_size;
};

__attribute__((format(printf, 2, 3)))
static int parse_fail(struct parse *p, const char *fmt, ...)
{
	char why[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (p->err_size)
		snprintf(p->err, p->err_size, "'%s': %s", p->rule, why);
	return -1;
}

/* Where [first, first+count) may go in d: its index, or -1 (logged) when
 * it meets an entry already there. */
static long direction_slot(struct parse *p, const struct direction *d, uint32_t first,
			   uint32_t count, const char *name)
{
	size_t i = 0;

	while (i < d->n && d->entries[i].first < first)
		i++;
	/* the one before must end before first, the one at i start after */
	if (i > 0 && first - d->entries[i - 1].first < d->entries[i - 1].count)
		goto overlap;
	if (i < d->n && d->entries[i].first - first < count)
		goto overlap;
	return (long)i;
overlap:
	parse_fail(p, "its %s ids [%u, %llu) overlap an earlier rule's", name, first,
		   (unsigned long long)first + count);
	return -1;
}

static int direction_insert(struct direction *d, size_t at, const struct entry *e)
{
	struct entry *grown = realloc(d->entries, (d->n + 1) * sizeof(*grown));

	if (!grown)
		return -ENOMEM;
	d->entries = grown;
	memmove(&d->entries[at + 1], &d->entries[at], (d->n - at) * sizeof(*grown));
	d->entries[at] = *e;
	d->n++;
	return 0;
}

/* A decimal number in [0, 2^32): digits only (no sign, no blank). */
static int parse_id(const char *s, size_t len, uint32_t *out)
{
	uint64_t v = 0;

	if (len == 0 || len > 10)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* Whether [base, base+count) stays within the ids. */
static int range_check(struct parse *p, const char *side, uint32_t base, uint32_t count)
{
	if ((uint64_t)base + count - 1 > ID_LAST)
		return parse_fail(p, "the %s range [%u, %llu) runs past %u", side, base,
				  (unsigned long long)base + count, ID_LAST);
	return 0;
}

static const struct {
	const char *name;
	unsigned fields;
} rule_types[] = {
	{ "guest", 3 }, { "host", 3 }, { "squash-guest", 3 },
	{ "squash-host", 3 }, { "forbid-guest", 2 }, { "map", 3 },
};

enum { T_GUEST, T_HOST, T_SQUASH_GUEST, T_SQUASH_HOST, T_FORBID_GUEST, T_MAP };

int id_map_add(struct id_map *map, const char *rule, char *err, size_t err_size)
{
	struct parse p = { .rule = rule, .err = err, .err_size = err_size };
	char type[32];
	size_t tlen = 0;
	const char *s = rule;
	uint32_t f[3];
	unsigned nf = 0, t;
	char sep;

	if (err_size)
		err[0] = '\0';
	/* the type: letters, digits, '-' and '_', any case */
	while (*s && (isalnum((unsigned char)*s) || *s == '-' || *s == '_')) {
		if (tlen + 1 >= sizeof(type))
			return parse_fail(&p, "unknown type");
		type[tlen++] = (char)tolower((unsigned char)*s++);
	}
	type[tlen] = '\0';
	for (t = 0; t < sizeof(rule_types) / sizeof(rule_types[0]); t++) {
		if (strcmp(type, rule_types[t].name) == 0)
			break;
	}
	if (t == sizeof(rule_types) / sizeof(rule_types[0]))
		return parse_fail(&p, "unknown type '%s' (guest, host, squash-guest, squash-host, "
				  "forbid-guest or map)", type);
	if (*s == '\0')
		return parse_fail(&p, "no fields after the type");
	/* the separator: the first other byte; then the fields */
	sep = *s++;
	for (;;) {
		const char *end = strchr(s, sep);
		size_t len = end ? (size_t)(end - s) : strlen(s);

		if (nf == rule_types[t].fields)
			return parse_fail(&p, "more than %u fields", rule_types[t].fields);
		if (parse_id(s, len, &f[nf]) < 0)
			return parse_fail(&p, "field %u '%.*s' is not a number from 0 to %u", nf + 1,
					  (int)len, s, UINT32_MAX);
		nf++;
		if (!end)
			break;
		s = end + 1;
	}
	if (nf != rule_types[t].fields)
		return parse_fail(&p, "%u fields, %s takes %u", nf, rule_types[t].name,
				  rule_types[t].fields);

	uint32_t count = f[nf - 1];

	if (count == 0)
		return parse_fail(&p, "a count of 0 maps nothing");

	struct entry to_host = { 0 }, to_guest = { 0 };
	bool has_host = false, has_guest = false;

	switch (t) {
	case T_GUEST:
	case T_SQUASH_GUEST:
		if (range_check(&p, "guest", f[0], count) < 0)
			return -1;
		if (t == T_GUEST && range_check(&p, "host", f[1], count) < 0)
			return -1;
		if (t == T_SQUASH_GUEST && f[1] > ID_LAST)
			return parse_fail(&p, "the host id %u is no id", f[1]);
		to_host = (struct entry){ f[0], count, f[1],
					  t == T_GUEST ? ENTRY_RANGE : ENTRY_SQUASH };
		has_host = true;
		break;
	case T_HOST:
	case T_SQUASH_HOST:
		if (range_check(&p, "host", f[0], count) < 0)
			return -1;
		if (t == T_HOST && range_check(&p, "guest", f[1], count) < 0)
			return -1;
		if (t == T_SQUASH_HOST && f[1] > ID_LAST)
			return parse_fail(&p, "the guest id %u is no id", f[1]);
		to_guest = (struct entry){ f[0], count, f[1],
					   t == T_HOST ? ENTRY_RANGE : ENTRY_SQUASH };
		has_guest = true;
		break;
	case T_FORBID_GUEST:
		if (range_check(&p, "guest", f[0], count) < 0)
			return -1;
		to_host = (struct entry){ f[0], count, 0, ENTRY_FAIL };
		has_host = true;
		break;
	case T_MAP:
	default:
		if (range_check(&p, "guest", f[0], count) < 0 ||
		    range_check(&p, "host", f[1], count) < 0)
			return -1;
		to_host = (struct entry){ f[0], count, f[1], ENTRY_RANGE };
		to_guest = (struct entry){ f[1], count, f[0], ENTRY_RANGE };
		has_host = has_guest = true;
		break;
	}

	long at_host = 0, at_guest = 0;

	/* both slots are checked before either is taken: a refused rule
	 * leaves the map as it was */
	if (has_host)
		at_host = direction_slot(&p, &map->to_host, to_host.first, to_host.count, "guest");
	if (at_host >= 0 && has_guest)
		at_guest = direction_slot(&p, &map->to_guest, to_guest.first, to_guest.count,
					  "host");
	if (at_host < 0 || at_guest < 0)
		return -1;
	if (has_host && direction_insert(&map->to_host, (size_t)at_host, &to_host) < 0)
		return parse_fail(&p, "out of memory");
	if (has_guest && direction_insert(&map->to_guest, (size_t)at_guest, &to_guest) < 0) {
		if (has_host) {
			/* undo the first half */
			memmove(&map->to_host.entries[at_host], &map->to_host.entries[at_host + 1],
				(map->to_host.n - (size_t)at_host - 1) * sizeof(struct entry));
			map->to_host.n--;
		}
		return parse_fail(&p, "out of memory");
	}
	return 0;
}

/* ---- xattr values with ids ---- */

/* <linux/posix_acl_xattr.h> and <linux/capability.h>, little-endian */
#define ACL_XATTR_VERSION 2
#define ACL_TAG_USER 0x02
#define ACL_TAG_GROUP 0x08
#define ACL_HEADER_SIZE 4
#define ACL_ENTRY_SIZE 8
#define CAPS_REVISION_MASK 0xff000000u
#define CAPS_REVISION_3 0x03000000u
#define CAPS_SIZE_3 24
#define CAPS_ROOTID_OFFSET 20

enum id_xattr id_xattr_kind(const char *guest_name)
{
	if (strcmp(guest_name, "system.posix_acl_access") == 0 ||
	    strcmp(guest_name, "system.posix_acl_default") == 0)
		return ID_XATTR_ACL;
	if (strcmp(guest_name, "security.capability") == 0)
		return ID_XATTR_CAPS;
	return ID_XATTR_NONE;
}

static uint32_t get_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t get_le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static void put_le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static int acl_check(const unsigned char *v, size_t size, int bad_size, int bad_version)
{
	if (size < ACL_HEADER_SIZE || (size - ACL_HEADER_SIZE) % ACL_ENTRY_SIZE)
		return bad_size;
	if (get_le32(v) != ACL_XATTR_VERSION)
		return bad_version;
	return 0;
}

int id_xattr_to_host(const struct id_map *uids, const struct id_map *gids, enum id_xattr kind,
		     void *value, size_t size)
{
	unsigned char *v = value;
	uint32_t id;
	int ret;

	if (size == 0)
		return 0;
	if (kind == ID_XATTR_CAPS) {
		if (size != CAPS_SIZE_3 || (get_le32(v) & CAPS_REVISION_MASK) != CAPS_REVISION_3)
			return 0;
		ret = id_map_to_host(uids, get_le32(v + CAPS_ROOTID_OFFSET), &id);
		if (ret == 0)
			put_le32(v + CAPS_ROOTID_OFFSET, id);
		return ret;
	}
	if (kind != ID_XATTR_ACL)
		return 0;
	ret = acl_check(v, size, -EINVAL, -EOPNOTSUPP);
	if (ret < 0)
		return ret;
	/* on an error the value is half done: the caller drops it */
	for (size_t off = ACL_HEADER_SIZE; off < size; off += ACL_ENTRY_SIZE) {
		uint16_t tag = get_le16(v + off);

		if (tag != ACL_TAG_USER && tag != ACL_TAG_GROUP)
			continue;
		ret = id_map_to_host(tag == ACL_TAG_USER ? uids : gids, get_le32(v + off + 4), &id);
		if (ret < 0)
			return ret;
		put_le32(v + off + 4, id);
	}
	return 0;
}

int id_xattr_to_guest(const struct id_map *uids, const struct id_map *gids, enum id_xattr kind,
		      void *value, size_t size)
{
	unsigned char *v = value;
	int ret;

	if (size == 0)
		return 0;
	if (kind == ID_XATTR_CAPS) {
		if (size == CAPS_SIZE_3 && (get_le32(v) & CAPS_REVISION_MASK) == CAPS_REVISION_3)
			put_le32(v + CAPS_ROOTID_OFFSET,
				 id_map_to_guest(uids, get_le32(v + CAPS_ROOTID_OFFSET)));
		return 0;
	}
	if (kind != ID_XATTR_ACL)
		return 0;
	ret = acl_check(v, size, -EIO, -EIO);
	if (ret < 0)
		return ret;
	for (size_t off = ACL_HEADER_SIZE; off < size; off += ACL_ENTRY_SIZE) {
		uint16_t tag = get_le16(v + off);

		if (tag == ACL_TAG_USER || tag == ACL_TAG_GROUP)
			put_le32(v + off + 4, id_map_to_guest(tag == ACL_TAG_USER ? uids : gids,
							       get_le32(v + off + 4)));
	}
	return 0;
}
