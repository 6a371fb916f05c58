/* test_xattr_map.c: the --xattrmap rule language (src/passthrough/
 * xattr_map.c): parsing every rule type, scope and separator, refusing
 * bad rules with a reason, and the mapping both ways, with the examples
 * of QEMU's and the Rust virtiofsd's documentation. */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "passthrough/xattr_map.h"

static char err[256];

static struct xattr_map *parse_ok(const char *text)
{
	struct xattr_map *map = xattr_map_parse(text, err, sizeof(err));

	if (!map)
		fail_msg("'%s' refused: %s", text, err);
	return map;
}

static void parse_fails(const char *text, const char *needle)
{
	struct xattr_map *map = xattr_map_parse(text, err, sizeof(err));

	if (map)
		fail_msg("'%s' accepted", text);
	if (!strstr(err, needle))
		fail_msg("'%s': error '%s' lacks '%s'", text, err, needle);
	assert_null(strchr(err, '\n'));
}

static void rule_is(const struct xattr_map *map, size_t i, enum xattr_map_type type,
		    unsigned scope, const char *key, const char *prepend)
{
	assert_true(i < map->count);
	assert_int_equal(map->rules[i].type, type);
	assert_int_equal(map->rules[i].scope, scope);
	assert_string_equal(map->rules[i].key, key);
	assert_string_equal(map->rules[i].prepend, prepend);
}

/* The host name for a guest name ("-EPERM" etc. on refusal). */
static const char *host_of(const struct xattr_map *map, const char *guest)
{
	static char buf[4][XATTR_NAME_MAX + 1];
	static unsigned n;
	char *out = buf[n++ % 4];
	int ret = xattr_map_to_host(map, guest, out, XATTR_NAME_MAX + 1);

	switch (ret) {
	case 0:
		return out;
	case -EPERM:
		return "-EPERM";
	case -ENOTSUP:
		return "-ENOTSUP";
	case -ERANGE:
		return "-ERANGE";
	default:
		return "-?";
	}
}

/* The guest name for a host name ("(hidden)" when hidden). */
static const char *guest_of(const struct xattr_map *map, const char *host)
{
	const char *g = xattr_map_to_guest(map, host);

	return g ? g : "(hidden)";
}

/* ---------------------------------------------------------------- */
/* parsing */

static void test_parse_each_type_and_scope(void **state)
{
	struct xattr_map *map = parse_ok(":prefix:client:trusted.:user.virtiofs.:"
					 ":ok:server::security.:"
					 ":bad:all:system.:x.:"
					 ":unsupported:client:security.selinux::"
					 ":ok:all:::");

	assert_int_equal(map->count, 5);
	rule_is(map, 0, XATTR_MAP_PREFIX, XATTR_MAP_CLIENT, "trusted.", "user.virtiofs.");
	rule_is(map, 1, XATTR_MAP_OK, XATTR_MAP_SERVER, "", "security.");
	rule_is(map, 2, XATTR_MAP_BAD, XATTR_MAP_ALL, "system.", "x.");
	rule_is(map, 3, XATTR_MAP_UNSUPPORTED, XATTR_MAP_CLIENT, "security.selinux", "");
	rule_is(map, 4, XATTR_MAP_OK, XATTR_MAP_ALL, "", "");
	for (unsigned i = 0; i < 5; i++)
		assert_int_equal(map->rules[i].source, i + 1);
	xattr_map_free(map);
}

static void test_parse_separators_and_blanks(void **state)
{
	/* any separator per rule, blanks and newlines between rules, blanks
	 * inside fields kept */
	struct xattr_map *map = parse_ok("  /prefix/all/trusted./user.virtiofs./\n"
					 "\t|bad|server||trusted.|\r\n"
					 "xbadxclientxuser.virtiofs.xx  "
					 ",ok,all,a b,,");

	assert_int_equal(map->count, 5);
	rule_is(map, 0, XATTR_MAP_PREFIX, XATTR_MAP_ALL, "trusted.", "user.virtiofs.");
	rule_is(map, 1, XATTR_MAP_BAD, XATTR_MAP_SERVER, "", "trusted.");
	rule_is(map, 2, XATTR_MAP_BAD, XATTR_MAP_CLIENT, "user.virtiofs.", "");
	rule_is(map, 3, XATTR_MAP_OK, XATTR_MAP_ALL, "a b", "");
	/* no catch-all in there: the implicit end */
	rule_is(map, 4, XATTR_MAP_BAD, XATTR_MAP_ALL, "", "");
	assert_int_equal(map->rules[4].source, 0);
	xattr_map_free(map);
}

static void test_parse_map_expansion(void **state)
{
	struct xattr_map *map = parse_ok(":map::user.virtiofs.:");

	/* = :prefix:all::user.virtiofs.: :bad:all::: */
	assert_int_equal(map->count, 2);
	rule_is(map, 0, XATTR_MAP_PREFIX, XATTR_MAP_ALL, "", "user.virtiofs.");
	rule_is(map, 1, XATTR_MAP_BAD, XATTR_MAP_ALL, "", "");
	xattr_map_free(map);

	map = parse_ok("/map/trusted./user.virtiofs./");
	/* = /prefix/all/trusted./user.virtiofs./ /bad/server//trusted./
	 *   /bad/client/user.virtiofs.// /ok/all/// */
	assert_int_equal(map->count, 4);
	rule_is(map, 0, XATTR_MAP_PREFIX, XATTR_MAP_ALL, "trusted.", "user.virtiofs.");
	rule_is(map, 1, XATTR_MAP_BAD, XATTR_MAP_SERVER, "", "trusted.");
	rule_is(map, 2, XATTR_MAP_BAD, XATTR_MAP_CLIENT, "user.virtiofs.", "");
	rule_is(map, 3, XATTR_MAP_OK, XATTR_MAP_ALL, "", "");
	xattr_map_free(map);

	/* a map after other rules, as the last one */
	map = parse_ok(":bad:all:security.capability:security.capability: "
		       ":map:security.selinux:user.virtiofs.:  \n");
	assert_int_equal(map->count, 5);
	rule_is(map, 0, XATTR_MAP_BAD, XATTR_MAP_ALL, "security.capability",
		"security.capability");
	rule_is(map, 1, XATTR_MAP_PREFIX, XATTR_MAP_ALL, "security.selinux", "user.virtiofs.");
	assert_int_equal(map->rules[4].source, 2);
	xattr_map_free(map);
}

static void test_parse_implicit_end(void **state)
{
	struct xattr_map *map;

	/* a catch-all on both sides: nothing added */
	map = parse_ok(":ok:client::: :bad:server:::");
	assert_int_equal(map->count, 2);
	xattr_map_free(map);
	/* client side only: the end is added for the server side */
	map = parse_ok(":ok:client:::");
	assert_int_equal(map->count, 2);
	rule_is(map, 1, XATTR_MAP_BAD, XATTR_MAP_ALL, "", "");
	assert_string_equal(host_of(map, "user.x"), "-EPERM");	/* hidden, so not reachable */
	assert_string_equal(guest_of(map, "user.x"), "(hidden)");
	xattr_map_free(map);
}

static void test_parse_errors(void **state)
{
	char long_key[XATTR_NAME_MAX + 20];

	parse_fails("", "no rules");
	parse_fails(" \n\t ", "no rules");
	parse_fails(":prefx:all:a:b:", "rule 1: unknown type 'prefx'");
	parse_fails("::all:a:b:", "unknown type ''");
	parse_fails(":ok:all::: :bad:every:a:b:", "rule 2: unknown scope 'every'");
	parse_fails(":prefix:all:trusted.:user.vm.", "rule 1: ends before the ':' after its prepend");
	parse_fails(":prefix:all:trusted.", "after its key");
	parse_fails(":prefix:all", "after its scope");
	parse_fails(":prefix", "after its type");
	parse_fails(":", "after its type");
	parse_fails(":map:a:", "after its prepend");
	parse_fails(":map::user.virtiofs.: :ok:all:::", "rule 2: comes after a map rule");
	parse_fails(":map:trusted.:virtiofs.user.::map:trusted.:virtiofs.user.:",
		    "rule 2: comes after a map rule");
	/* a separator that is also in a field cuts it: here a type "prefix"
	 * then scope "all" then key "a" then prepend "b" then... */
	parse_fails(".prefix.all.user.a.b.", "rule 2");
	snprintf(long_key, sizeof(long_key), ":ok:all:%0*d::", XATTR_NAME_MAX + 1, 0);
	parse_fails(long_key, "longer than 255 bytes");
}

/* ---------------------------------------------------------------- */
/* mapping */

static void test_map_client_types(void **state)
{
	struct xattr_map *map = parse_ok("/bad/client/user.forbidden.//"
					 "/unsupported/all/security.selinux/security.selinux/"
					 "/prefix/all/trusted./user.virtiofs./"
					 "/bad/server//trusted./"
					 "/bad/client/user.virtiofs.//"
					 "/ok/all///");

	assert_string_equal(host_of(map, "user.forbidden.x"), "-EPERM");
	assert_string_equal(host_of(map, "security.selinux"), "-ENOTSUP");
	assert_string_equal(host_of(map, "trusted.overlay.opaque"),
			    "user.virtiofs.trusted.overlay.opaque");
	assert_string_equal(host_of(map, "user.virtiofs.trusted.x"), "-EPERM");
	assert_string_equal(host_of(map, "user.plain"), "user.plain");
	assert_string_equal(host_of(map, "security.capability"), "security.capability");

	assert_string_equal(guest_of(map, "user.virtiofs.trusted.overlay.opaque"),
			    "trusted.overlay.opaque");
	assert_string_equal(guest_of(map, "trusted.host"), "(hidden)");
	assert_string_equal(guest_of(map, "security.selinux"), "(hidden)");
	assert_string_equal(guest_of(map, "user.plain"), "user.plain");
	/* the host's name that is nothing but the prefix: nothing to show */
	assert_string_equal(guest_of(map, "user.virtiofs."), "(hidden)");
	xattr_map_free(map);
}

/* Example 1 of the documentation and its map spelling behave alike. */
static void test_map_prefix_everything(void **state)
{
	static const char *const names[] = {
		"user.a", "trusted.b", "security.selinux", "security.capability",
		"system.posix_acl_access", "user.virtiofs.c", "user.virtiofs.",
	};
	struct xattr_map *long_form = parse_ok(":prefix:all::user.virtiofs.::bad:all:::");
	struct xattr_map *map = parse_ok(":map::user.virtiofs.:");

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		assert_string_equal(host_of(map, names[i]), host_of(long_form, names[i]));
		assert_string_equal(guest_of(map, names[i]), guest_of(long_form, names[i]));
	}
	assert_string_equal(host_of(map, "security.selinux"), "user.virtiofs.security.selinux");
	/* a guest that writes the prefixed name gets it prefixed again: it
	 * never reaches the host's unprefixed name */
	assert_string_equal(host_of(map, "user.virtiofs.c"), "user.virtiofs.user.virtiofs.c");
	assert_string_equal(guest_of(map, "user.virtiofs.user.virtiofs.c"), "user.virtiofs.c");
	/* everything the host set unprefixed is hidden */
	assert_string_equal(guest_of(map, "user.a"), "(hidden)");
	assert_string_equal(guest_of(map, "trusted.b"), "(hidden)");
	assert_string_equal(guest_of(map, "security.selinux"), "(hidden)");
	xattr_map_free(map);
	xattr_map_free(long_form);
}

/* Example 2 and /map/trusted./user.virtiofs./ */
static void test_map_prefix_one_namespace(void **state)
{
	static const char *const names[] = {
		"user.a", "trusted.b", "trusted.", "security.selinux", "user.virtiofs.c",
		"user.virtiofs.trusted.d", "user.virtiofs.", "system.posix_acl_access",
	};
	struct xattr_map *long_form = parse_ok("/prefix/all/trusted./user.virtiofs./\n"
					       "/bad/server//trusted./\n"
					       "/bad/client/user.virtiofs.//\n"
					       "/ok/all///");
	struct xattr_map *map = parse_ok("/map/trusted./user.virtiofs./");

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		assert_string_equal(host_of(map, names[i]), host_of(long_form, names[i]));
		assert_string_equal(guest_of(map, names[i]), guest_of(long_form, names[i]));
	}
	assert_string_equal(host_of(map, "trusted.b"), "user.virtiofs.trusted.b");
	assert_string_equal(host_of(map, "user.virtiofs.c"), "-EPERM");
	assert_string_equal(host_of(map, "user.a"), "user.a");
	assert_string_equal(guest_of(map, "trusted.b"), "(hidden)");
	assert_string_equal(guest_of(map, "user.virtiofs.trusted.d"), "trusted.d");
	/* under the prefix but no guest name's: QEMU and the Rust daemon list
	 * it as "c", which the guest then cannot reach (its "c" is the host's
	 * "c"); here it is hidden */
	assert_string_equal(guest_of(map, "user.virtiofs.c"), "(hidden)");
	xattr_map_free(map);
	xattr_map_free(long_form);
}

/* SELinux in the guest, its labels kept apart on the host. */
static void test_map_selinux(void **state)
{
	struct xattr_map *map = parse_ok(":map:security.selinux:user.virtiofs.:");

	assert_string_equal(host_of(map, "security.selinux"), "user.virtiofs.security.selinux");
	assert_string_equal(guest_of(map, "user.virtiofs.security.selinux"), "security.selinux");
	assert_string_equal(guest_of(map, "security.selinux"), "(hidden)");
	assert_string_equal(host_of(map, "user.virtiofs.security.selinux"), "-EPERM");
	assert_string_equal(host_of(map, "user.other"), "user.other");
	assert_string_equal(host_of(map, "security.capability"), "security.capability");
	assert_string_equal(guest_of(map, "user.other"), "user.other");
	assert_string_equal(guest_of(map, "user.virtiofs.other"), "(hidden)");
	xattr_map_free(map);
}

/* Rules that forget to keep the guest off the prefix's target (the
 * documentation's warning): QEMU and the Rust daemon let
 * an unprivileged guest user set user.virtiofs.trusted.x and so forge
 * what the guest reads as trusted.x; here the name is refused, as the
 * host name it gives would come back as another guest name. */
static void test_map_no_forged_names(void **state)
{
	struct xattr_map *map = parse_ok(":prefix:all:trusted.:user.virtiofs.: :ok:all:::");

	assert_string_equal(host_of(map, "trusted.x"), "user.virtiofs.trusted.x");
	assert_string_equal(host_of(map, "user.virtiofs.trusted.x"), "-EPERM");
	assert_string_equal(host_of(map, "user.virtiofs.anything"), "-EPERM");
	assert_string_equal(host_of(map, "user.ok"), "user.ok");
	xattr_map_free(map);

	/* the label mapped for the client side only: it would list back as
	 * its host name, a user.* name any owner can set, so the label is not
	 * served at all rather than read from a name a user can forge */
	map = parse_ok(":prefix:client:security.selinux:user.virtiofs.: :ok:all:::");
	assert_string_equal(host_of(map, "security.selinux"), "-EPERM");
	assert_string_equal(host_of(map, "user.virtiofs.security.selinux"),
			    "user.virtiofs.security.selinux");
	xattr_map_free(map);
}

static void test_map_name_lengths(void **state)
{
	struct xattr_map *map = parse_ok(":map::user.virtiofs.:");
	char name[XATTR_NAME_MAX + 2];
	char host[XATTR_NAME_MAX + 1];
	size_t room = XATTR_NAME_MAX - strlen("user.virtiofs.");

	memset(name, 'n', sizeof(name));
	memcpy(name, "user.", 5);
	name[room] = 0;
	assert_int_equal(xattr_map_to_host(map, name, host, sizeof(host)), 0);
	assert_int_equal(strlen(host), XATTR_NAME_MAX);
	name[room] = 'n';
	name[room + 1] = 0;
	assert_int_equal(xattr_map_to_host(map, name, host, sizeof(host)), -ERANGE);
	/* a small buffer is never overrun */
	assert_int_equal(xattr_map_to_host(map, "user.a", host, 10), -ERANGE);
	xattr_map_free(map);
}

static bool no_trusted(const char *host, const char *guest, void *arg)
{
	return strncmp(guest, "trusted.", 8) != 0 && strncmp(host, "trusted.", 8) != 0;
}

static void test_map_list(void **state)
{
	struct xattr_map *map = parse_ok("/map/trusted./user.virtiofs./");
	char list[] = "user.a\0trusted.hidden\0user.virtiofs.trusted.shown\0security.s\0"
		      "user.virtiofs.\0user.tail";
	size_t len = xattr_map_list(map, list, sizeof(list) - 1, NULL, NULL);
	static const char want[] = "user.a\0trusted.shown\0security.s\0";

	/* the unterminated last name is dropped, user.virtiofs. alone hidden */
	assert_int_equal(len, sizeof(want) - 1);
	assert_memory_equal(list, want, len);
	assert_int_equal(xattr_map_list(map, list, 0, NULL, NULL), 0);
	xattr_map_free(map);

	map = parse_ok(":map::user.virtiofs.:");
	char list2[] = "user.virtiofs.security.selinux\0user.host\0user.virtiofs.user.g\0";
	len = xattr_map_list(map, list2, sizeof(list2) - 1, NULL, NULL);
	assert_int_equal(len, sizeof("security.selinux\0user.g\0") - 1);
	assert_memory_equal(list2, "security.selinux\0user.g\0", len);

	/* the caller's own filter sees both names */
	char list3[] = "user.virtiofs.trusted.t\0user.virtiofs.user.u\0";
	len = xattr_map_list(map, list3, sizeof(list3) - 1, no_trusted, NULL);
	assert_int_equal(len, sizeof("user.u\0") - 1);
	assert_memory_equal(list3, "user.u\0", len);
	/* and without a map, only that filter */
	char list4[] = "trusted.t\0user.u\0";
	len = xattr_map_list(NULL, list4, sizeof(list4) - 1, no_trusted, NULL);
	assert_int_equal(len, sizeof("user.u\0") - 1);
	assert_memory_equal(list4, "user.u\0", len);
	xattr_map_free(map);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_each_type_and_scope),
		cmocka_unit_test(test_parse_separators_and_blanks),
		cmocka_unit_test(test_parse_map_expansion),
		cmocka_unit_test(test_parse_implicit_end),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_map_client_types),
		cmocka_unit_test(test_map_prefix_everything),
		cmocka_unit_test(test_map_prefix_one_namespace),
		cmocka_unit_test(test_map_selinux),
		cmocka_unit_test(test_map_no_forged_names),
		cmocka_unit_test(test_map_name_lengths),
		cmocka_unit_test(test_map_list),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
