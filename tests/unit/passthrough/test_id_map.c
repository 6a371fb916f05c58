/* test_id_map.c: --translate-uid / --translate-gid (src/passthrough/
 * id_map.c): the Rust virtiofsd's rule grammar, every rule type in both
 * directions, refused rules (overlaps, overflows, counts of 0, bad
 * fields) leaving the map as it was, and the ids inside xattr values
 * (POSIX ACLs, security.capability v3). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "passthrough/id_map.h"

static char err[256];

static struct id_map *map_of(const char *const *rules)
{
	struct id_map *m = id_map_new();

	assert_non_null(m);
	for (; *rules; rules++)
		if (id_map_add(m, *rules, err, sizeof(err)) < 0)
			fail_msg("'%s' refused: %s", *rules, err);
	return m;
}

#define MAP(...) map_of((const char *const[]){ __VA_ARGS__, NULL })

static void add_fails(struct id_map *m, const char *rule, const char *needle)
{
	if (id_map_add(m, rule, err, sizeof(err)) == 0)
		fail_msg("'%s' accepted", rule);
	if (!strstr(err, needle))
		fail_msg("'%s': error '%s' lacks '%s'", rule, err, needle);
	assert_null(strchr(err, '\n'));
}

static uint32_t host_of(const struct id_map *m, uint32_t guest)
{
	uint32_t host = 0xdeadbeef;

	if (id_map_to_host(m, guest, &host) < 0)
		fail_msg("guest id %u refused", guest);
	return host;
}

static void forbidden(const struct id_map *m, uint32_t guest)
{
	uint32_t host = 0xdeadbeef;

	assert_int_equal(id_map_to_host(m, guest, &host), -EPERM);
	assert_int_equal(host, 0xdeadbeef);
}

static void test_identity(void **state)
{
	struct id_map *m = id_map_new();

	assert_true(id_map_is_identity(m));
	assert_true(id_map_is_identity(NULL));
	for (uint32_t id = 0; id < 5; id++) {
		assert_int_equal(host_of(m, id), id);
		assert_int_equal(host_of(NULL, id), id);
		assert_int_equal(id_map_to_guest(m, id), id);
		assert_int_equal(id_map_to_guest(NULL, id), id);
	}
	assert_int_equal(host_of(m, 0xffffffffu), 0xffffffffu);
	id_map_free(m);
	id_map_free(NULL);
}

static void test_guest_and_host(void **state)
{
	/* one direction each: the other stays as it is */
	struct id_map *m = MAP("guest:1000:5000:10", "host:7000:2000:5");

	assert_false(id_map_is_identity(m));
	assert_int_equal(host_of(m, 999), 999);
	assert_int_equal(host_of(m, 1000), 5000);
	assert_int_equal(host_of(m, 1009), 5009);
	assert_int_equal(host_of(m, 1010), 1010);
	/* guest:... says nothing of how host 5000 is shown */
	assert_int_equal(id_map_to_guest(m, 5000), 5000);
	assert_int_equal(id_map_to_guest(m, 6999), 6999);
	assert_int_equal(id_map_to_guest(m, 7000), 2000);
	assert_int_equal(id_map_to_guest(m, 7004), 2004);
	assert_int_equal(id_map_to_guest(m, 7005), 7005);
	assert_int_equal(host_of(m, 2000), 2000);
	id_map_free(m);
}

static void test_map_both_ways(void **state)
{
	struct id_map *m = MAP("map:0:100000:65536");

	assert_int_equal(host_of(m, 0), 100000);
	assert_int_equal(host_of(m, 1000), 101000);
	assert_int_equal(host_of(m, 65535), 165535);
	assert_int_equal(host_of(m, 65536), 65536);
	assert_int_equal(id_map_to_guest(m, 100000), 0);
	assert_int_equal(id_map_to_guest(m, 165535), 65535);
	assert_int_equal(id_map_to_guest(m, 165536), 165536);
	assert_int_equal(id_map_to_guest(m, 99999), 99999);
	/* the reverse of each is the other */
	for (uint32_t g = 0; g < 65536; g += 997)
		assert_int_equal(id_map_to_guest(m, host_of(m, g)), g);
	id_map_free(m);
}

static void test_squash(void **state)
{
	struct id_map *m = MAP("squash-guest:1000:42:100", "squash-host:3000:7:10");

	assert_int_equal(host_of(m, 1000), 42);
	assert_int_equal(host_of(m, 1050), 42);
	assert_int_equal(host_of(m, 1099), 42);
	assert_int_equal(host_of(m, 1100), 1100);
	assert_int_equal(host_of(m, 999), 999);
	assert_int_equal(id_map_to_guest(m, 3000), 7);
	assert_int_equal(id_map_to_guest(m, 3009), 7);
	assert_int_equal(id_map_to_guest(m, 3010), 3010);
	/* n:1 is not undone: 42 is shown as itself */
	assert_int_equal(id_map_to_guest(m, 42), 42);
	id_map_free(m);
}

static void test_forbid(void **state)
{
	struct id_map *m = MAP("forbid-guest:0:1", "forbid-guest:500:10", "map:1:1001:1");

	forbidden(m, 0);
	forbidden(m, 500);
	forbidden(m, 509);
	assert_int_equal(host_of(m, 510), 510);
	assert_int_equal(host_of(m, 499), 499);
	assert_int_equal(host_of(m, 1), 1001);
	/* a host id is never refused: host 0 is still shown as 0 */
	assert_int_equal(id_map_to_guest(m, 0), 0);
	assert_int_equal(id_map_to_guest(m, 500), 500);
	id_map_free(m);
}

/* Many rules of each kind: the lookup finds each range, and ids between
 * them stay as they are, whatever the order the rules came in. */
static void test_many_rules_any_order(void **state)
{
	struct id_map *m = id_map_new();
	char rule[64];

	for (int i = 99; i >= 0; i -= 2) {
		snprintf(rule, sizeof(rule), "map:%d:%d:5", i * 10, 100000 + i * 10);
		assert_int_equal(id_map_add(m, rule, err, sizeof(err)), 0);
	}
	for (int i = 0; i < 100; i += 2) {
		snprintf(rule, sizeof(rule), "squash-guest:%d:7:5", i * 10);
		assert_int_equal(id_map_add(m, rule, err, sizeof(err)), 0);
	}
	for (int i = 0; i < 100; i++) {
		for (int j = 0; j < 10; j++) {
			uint32_t g = (uint32_t)(i * 10 + j);
			uint32_t want = j >= 5 ? g : (i % 2 ? 100000 + g : 7);

			assert_int_equal(host_of(m, g), want);
		}
	}
	assert_int_equal(id_map_to_guest(m, 100990), 990);
	assert_int_equal(id_map_to_guest(m, 100995), 100995);
	assert_int_equal(id_map_to_guest(m, 100980), 100980);
	id_map_free(m);
}

/* The Rust daemon's grammar: the type in any case, any separator that is
 * not part of a type name, the same one throughout. */
static void test_grammar(void **state)
{
	struct id_map *m = MAP("GUEST:1:2:3", "Host/10/20/1");

	assert_int_equal(host_of(m, 2), 3);
	assert_int_equal(id_map_to_guest(m, 10), 20);
	id_map_free(m);
	m = id_map_new();
	/* "squash_guest" is not a type: only '-' */
	add_fails(m, "squash_guest:1:2:3", "unknown type");
	assert_int_equal(id_map_add(m, "SQUASH-GUEST 1 2 3", err, sizeof(err)), 0);
	assert_int_equal(id_map_add(m, "map,100,200,1", err, sizeof(err)), 0);
	assert_int_equal(id_map_add(m, "forbid-guest.50.2", err, sizeof(err)), 0);
	assert_int_equal(host_of(m, 1), 2);
	assert_int_equal(host_of(m, 100), 200);
	forbidden(m, 51);
	assert_int_equal(id_map_add(m, "map:4294967293:7:1", err, sizeof(err)), 0);
	assert_int_equal(host_of(m, 4294967293u), 7);
	id_map_free(m);
}

static void test_parse_errors(void **state)
{
	struct id_map *m = MAP("guest:100:200:10");

	add_fails(m, "", "unknown type ''");
	add_fails(m, "user:1:2:3", "unknown type 'user'");
	add_fails(m, "guest", "no fields");
	add_fails(m, "guest:1:2", "2 fields, guest takes 3");
	add_fails(m, "guest:1:2:3:4", "more than 3 fields");
	add_fails(m, "guest:1:2:3:", "more than 3 fields");
	add_fails(m, "forbid-guest:1:2:3", "more than 2 fields");
	add_fails(m, "map:1::3", "field 2");
	add_fails(m, "map:1:2:x", "field 3 'x'");
	add_fails(m, "map:1:2,3", "field 2 '2,3'");
	add_fails(m, "map: 1:2:3", "field 1");
	add_fails(m, "map:+1:2:3", "field 1");
	add_fails(m, "map:-1:2:3", "field 1");
	add_fails(m, "map:4294967296:2:3", "field 1");
	add_fails(m, "map:1:2:0", "a count of 0");
	add_fails(m, "forbid-guest:7:0", "a count of 0");
	/* the map is as it was */
	assert_int_equal(host_of(m, 105), 205);
	assert_int_equal(host_of(m, 1), 1);
	id_map_free(m);
}

/* Ranges whose end passes 4294967294: (uid_t)-1 is never an id. */
static void test_overflow(void **state)
{
	struct id_map *m = id_map_new();

	add_fails(m, "guest:4294967295:0:1", "guest range");
	add_fails(m, "guest:4294967290:0:6", "guest range [4294967290, 4294967296)");
	add_fails(m, "guest:0:4294967290:6", "host range");
	add_fails(m, "host:4294967290:0:6", "host range");
	add_fails(m, "host:0:4294967290:6", "guest range");
	add_fails(m, "map:1:4294967295:1", "host range");
	add_fails(m, "map:4294967295:1:1", "guest range");
	add_fails(m, "map:1:0:4294967295", "runs past");
	add_fails(m, "forbid-guest:4294967295:1", "guest range");
	add_fails(m, "forbid-guest:1:4294967295", "guest range");
	add_fails(m, "squash-guest:0:4294967295:1", "no id");
	add_fails(m, "squash-host:0:4294967295:1", "no id");
	add_fails(m, "squash-guest:4294967000:0:296", "guest range");
	assert_true(id_map_is_identity(m));
	/* right up to the last id is fine */
	assert_int_equal(id_map_add(m, "map:0:0:4294967294", err, sizeof(err)), 0);
	assert_int_equal(id_map_add(m, "squash-guest:4294967294:1:1", err, sizeof(err)), 0);
	assert_int_equal(host_of(m, 4294967293u), 4294967293u);
	assert_int_equal(host_of(m, 4294967294u), 1);
	assert_int_equal(host_of(m, 4294967295u), 4294967295u);
	id_map_free(m);
	m = MAP("guest:4294967290:0:5");
	assert_int_equal(host_of(m, 4294967294u), 4);
	id_map_free(m);
}

static void test_overlaps_refused(void **state)
{
	struct id_map *m = MAP("guest:100:1000:10", "host:5000:0:10");

	/* the same direction, any overlap, whatever the kind */
	add_fails(m, "guest:100:2000:1", "guest ids [100, 101) overlap");
	add_fails(m, "guest:109:2000:5", "overlap");
	add_fails(m, "guest:90:2000:11", "overlap");
	add_fails(m, "guest:90:2000:100", "overlap");
	add_fails(m, "squash-guest:105:1:1", "overlap");
	add_fails(m, "forbid-guest:99:2", "overlap");
	add_fails(m, "host:5009:1:1", "host ids [5009, 5010) overlap");
	add_fails(m, "squash-host:4990:1:11", "overlap");
	/* map: either half overlapping refuses the whole, and neither half
	 * stays */
	add_fails(m, "map:105:9000:1", "guest ids");
	add_fails(m, "map:9000:5005:1", "host ids");
	assert_int_equal(host_of(m, 9000), 9000);
	assert_int_equal(id_map_to_guest(m, 9000), 9000);
	/* touching is not overlapping; the other direction is free */
	assert_int_equal(id_map_add(m, "guest:90:2000:10", err, sizeof(err)), 0);
	assert_int_equal(id_map_add(m, "guest:110:3000:1", err, sizeof(err)), 0);
	assert_int_equal(id_map_add(m, "host:100:100:10", err, sizeof(err)), 0);
	assert_int_equal(id_map_add(m, "squash-host:5010:1:1", err, sizeof(err)), 0);
	assert_int_equal(host_of(m, 99), 2009);
	assert_int_equal(host_of(m, 100), 1000);
	assert_int_equal(host_of(m, 110), 3000);
	id_map_free(m);
}

/* ---- ids inside xattr values ---- */

static void le32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t rd32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* An ACL value: version 2, then (tag, perm, id) entries. */
static size_t acl_value(unsigned char *buf, const uint32_t (*entries)[2], size_t n)
{
	le32(buf, 2);
	for (size_t i = 0; i < n; i++) {
		unsigned char *e = buf + 4 + 8 * i;

		e[0] = (unsigned char)entries[i][0];
		e[1] = (unsigned char)(entries[i][0] >> 8);
		e[2] = 6;
		e[3] = 0;
		le32(e + 4, entries[i][1]);
	}
	return 4 + 8 * n;
}

static void test_xattr_kinds(void **state)
{
	assert_int_equal(id_xattr_kind("system.posix_acl_access"), ID_XATTR_ACL);
	assert_int_equal(id_xattr_kind("system.posix_acl_default"), ID_XATTR_ACL);
	assert_int_equal(id_xattr_kind("security.capability"), ID_XATTR_CAPS);
	assert_int_equal(id_xattr_kind("system.posix_acl_accesss"), ID_XATTR_NONE);
	assert_int_equal(id_xattr_kind("user.posix_acl_access"), ID_XATTR_NONE);
	assert_int_equal(id_xattr_kind("security.selinux"), ID_XATTR_NONE);
}

static void test_acl_both_ways(void **state)
{
	struct id_map *uids = MAP("map:1000:5000:10", "forbid-guest:0:1");
	struct id_map *gids = MAP("map:100:7000:10");
	const uint32_t entries[][2] = {
		{ 0x01, 0xffffffffu },	/* ACL_USER_OBJ: no id */
		{ 0x02, 1001 },		/* ACL_USER */
		{ 0x02, 3 },		/* ACL_USER, unmapped: as it is */
		{ 0x04, 0xffffffffu },	/* ACL_GROUP_OBJ */
		{ 0x08, 105 },		/* ACL_GROUP */
		{ 0x08, 1001 },		/* ACL_GROUP: a gid, not a uid */
		{ 0x10, 0xffffffffu },	/* ACL_MASK */
		{ 0x20, 0xffffffffu },	/* ACL_OTHER */
	};
	unsigned char v[4 + 8 * 8], orig[sizeof(v)];
	size_t size = acl_value(v, entries, 8);

	memcpy(orig, v, size);
	assert_int_equal(id_xattr_to_host(uids, gids, ID_XATTR_ACL, v, size), 0);
	assert_int_equal(rd32(v), 2);
	assert_int_equal(rd32(v + 4 + 4), 0xffffffffu);
	assert_int_equal(rd32(v + 12 + 4), 5001);
	assert_int_equal(rd32(v + 20 + 4), 3);
	assert_int_equal(rd32(v + 28 + 4), 0xffffffffu);
	assert_int_equal(rd32(v + 36 + 4), 7005);
	assert_int_equal(rd32(v + 44 + 4), 1001);
	/* tags and permissions untouched */
	for (size_t i = 0; i < 8; i++)
		assert_memory_equal(v + 4 + 8 * i, orig + 4 + 8 * i, 4);
	/* and back */
	assert_int_equal(id_xattr_to_guest(uids, gids, ID_XATTR_ACL, v, size), 0);
	assert_memory_equal(v, orig, size);

	/* a forbidden ACL_USER refuses the value */
	const uint32_t bad[][2] = { { 0x01, 0xffffffffu }, { 0x02, 0 } };
	size = acl_value(v, bad, 2);
	assert_int_equal(id_xattr_to_host(uids, gids, ID_XATTR_ACL, v, size), -EPERM);
	/* ...but not as a group (gids do not forbid 0), nor ACL_USER_OBJ */
	const uint32_t fine[][2] = { { 0x08, 0 }, { 0x01, 0 } };
	size = acl_value(v, fine, 2);
	assert_int_equal(id_xattr_to_host(uids, gids, ID_XATTR_ACL, v, size), 0);
	id_map_free(uids);
	id_map_free(gids);
}

static void test_acl_malformed(void **state)
{
	struct id_map *uids = MAP("map:1000:5000:10");
	unsigned char v[64] = { 0 };

	le32(v, 2);
	/* a removal (no value) carries nothing */
	assert_int_equal(id_xattr_to_host(uids, NULL, ID_XATTR_ACL, v, 0), 0);
	assert_int_equal(id_xattr_to_host(uids, NULL, ID_XATTR_ACL, v, 3), -EINVAL);
	assert_int_equal(id_xattr_to_host(uids, NULL, ID_XATTR_ACL, v, 4 + 7), -EINVAL);
	assert_int_equal(id_xattr_to_host(uids, NULL, ID_XATTR_ACL, v, 4), 0);
	assert_int_equal(id_xattr_to_guest(uids, NULL, ID_XATTR_ACL, v, 4 + 9), -EIO);
	le32(v, 1);
	assert_int_equal(id_xattr_to_host(uids, NULL, ID_XATTR_ACL, v, 12), -EOPNOTSUPP);
	assert_int_equal(id_xattr_to_guest(uids, NULL, ID_XATTR_ACL, v, 12), -EIO);
	/* other names are not looked at */
	assert_int_equal(id_xattr_to_host(uids, NULL, ID_XATTR_NONE, v, 3), 0);
	id_map_free(uids);
}

/* struct vfs_ns_cap_data: magic_etc, two (permitted, inheritable), rootid. */
static void test_caps_rootid(void **state)
{
	struct id_map *uids = MAP("map:1000:5000:10", "forbid-guest:7:1");
	unsigned char v[24] = { 0 }, orig[24];

	le32(v, 0x03000000u | 1);	/* VFS_CAP_REVISION_3 | VFS_CAP_FLAGS_EFFECTIVE */
	le32(v + 4, 1u << 10);
	le32(v + 20, 1002);
	memcpy(orig, v, sizeof(v));
	assert_int_equal(id_xattr_to_host(uids, NULL, ID_XATTR_CAPS, v, 24), 0);
	assert_int_equal(rd32(v + 20), 5002);
	assert_memory_equal(v, orig, 20);
	assert_int_equal(id_xattr_to_guest(uids, NULL, ID_XATTR_CAPS, v, 24), 0);
	assert_memory_equal(v, orig, 24);
	le32(v + 20, 7);
	assert_int_equal(id_xattr_to_host(uids, NULL, ID_XATTR_CAPS, v, 24), -EPERM);
	/* revision 2 (20 bytes) has no rootid: unchanged */
	le32(v, 0x02000000u);
	memcpy(orig, v, sizeof(v));
	assert_int_equal(id_xattr_to_host(uids, NULL, ID_XATTR_CAPS, v, 20), 0);
	assert_int_equal(id_xattr_to_host(uids, NULL, ID_XATTR_CAPS, v, 24), 0);
	assert_memory_equal(v, orig, 24);
	id_map_free(uids);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identity),
		cmocka_unit_test(test_guest_and_host),
		cmocka_unit_test(test_map_both_ways),
		cmocka_unit_test(test_squash),
		cmocka_unit_test(test_forbid),
		cmocka_unit_test(test_many_rules_any_order),
		cmocka_unit_test(test_grammar),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_overflow),
		cmocka_unit_test(test_overlaps_refused),
		cmocka_unit_test(test_xattr_kinds),
		cmocka_unit_test(test_acl_both_ways),
		cmocka_unit_test(test_acl_malformed),
		cmocka_unit_test(test_caps_rootid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
