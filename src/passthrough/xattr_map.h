/* xattr_map.h: --xattrmap, the xattr name translation of QEMU's virtiofsd
 * and the Rust virtiofsd (docs/tools/virtiofsd.rst "xattr-mapping" there,
 * doc/xattr-mapping.md here in the Rust one), parsed and applied. Pure
 * string work: nothing here touches a file.
 *
 * A map is a list of rules, each ":type:scope:key:prepend:" with any
 * non-blank byte as the separator (the rule's first one), blanks between
 * rules:
 *   type   prefix       a client name starting with key gets prepend in
 *                       front; a server name starting with prepend loses it
 *          ok           passes unchanged
 *          bad          client: EPERM; server: hidden
 *          unsupported  client: ENOTSUP; server: hidden
 *   scope  client (get/set/removexattr names), server (listxattr names),
 *          all
 * The first rule whose scope applies and whose key (client) or prepend
 * (server) starts the name decides. ":map:key:prepend:" must be the last
 * rule and stands for ":prefix:all:key:prepend:" followed, with an empty
 * key, by ":bad:all:::", else by ":bad:server::key:", ":bad:client:prepend::"
 * and ":ok:all:::". A map without a catch-all rule ends, as QEMU's does,
 * with an implicit ":bad:all:::".
 *
 * Stricter than both: a guest name and a host name go together only when
 * the client rules take the one to the other and the server rules take it
 * back. Otherwise the guest name is refused (EPERM) and the host name is
 * hidden. So the guest reaches exactly the host names it is shown, each
 * under one name: with a rule set that forgets to forbid the target of a
 * prefix (":prefix:all:trusted.:user.virtiofs.: :ok:all:::"), a guest that
 * sets "user.virtiofs.x" directly is refused instead of forging what the
 * guest reads as "trusted.x" (the documentation's "security
 * considerations"), and a host name
 * under the prefix that no guest name maps to stays hidden. */
#ifndef VFSD_XATTR_MAP_H
#define VFSD_XATTR_MAP_H

#include <stdbool.h>
#include <stddef.h>

enum xattr_map_type {
	XATTR_MAP_PREFIX,
	XATTR_MAP_OK,
	XATTR_MAP_BAD,
	XATTR_MAP_UNSUPPORTED,
};

enum {
	XATTR_MAP_CLIENT = 1,
	XATTR_MAP_SERVER = 2,
	XATTR_MAP_ALL = XATTR_MAP_CLIENT | XATTR_MAP_SERVER,
};

struct xattr_map_rule {
	enum xattr_map_type type;
	unsigned scope;		/* XATTR_MAP_CLIENT, _SERVER or _ALL */
	char *key;		/* matched against client names */
	char *prepend;		/* added to client names, matched and removed on server names */
	unsigned source;	/* the rule of the text it comes from (1-based; 0: implicit) */
};

struct xattr_map {
	size_t count;
	struct xattr_map_rule rules[];
};

/* Parses text. Returns the map, or NULL with a one-line reason (naming
 * the rule) in err. */
struct xattr_map *xattr_map_parse(const char *text, char *err, size_t err_size);
void xattr_map_free(struct xattr_map *map);

/* A guest (client) name to the host's. Returns 0 with the host name in
 * host (host_size bytes, NUL-terminated), -EPERM (a bad rule, or a host
 * name that the server rules do not give back as this guest name),
 * -ENOTSUP (an unsupported rule) or -ERANGE (longer than XATTR_NAME_MAX). */
int xattr_map_to_host(const struct xattr_map *map, const char *guest, char *host,
		      size_t host_size);

/* A host (server) name to the guest's: a pointer into host, or NULL when
 * the rules hide it (bad, unsupported, nothing left of it, or a guest name
 * the client rules do not take back to this host name). */
const char *xattr_map_to_guest(const struct xattr_map *map, const char *host);

/* Rewrites a listxattr result of len bytes (NUL-terminated names) in
 * place into the guest's names, the hidden ones left out, and those keep
 * (when given) says no to; map NULL keeps the names as they are. Returns
 * the new length (never more than len). A last name without its NUL is
 * dropped. */
size_t xattr_map_list(const struct xattr_map *map, char *list, size_t len,
		      bool (*keep)(const char *host, const char *guest, void *arg), void *arg);

#endif
