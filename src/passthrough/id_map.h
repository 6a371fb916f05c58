/* id_map.h: --translate-uid and --translate-gid, the Rust virtiofsd's
 * translation of user or group ids between the guest and the host, done
 * by the daemon itself (no user namespace). One map per kind of id; two
 * independent directions, guest to host and host to guest. Pure number
 * work: nothing here touches a file or the process's identity.
 *
 * A rule is "<type><sep><a><sep><b><sep><count>" (forbid-guest has only
 * "<a><sep><count>"), with the Rust daemon's grammar: the type is made of
 * letters, digits, '-' and '_' (any case), the separator is the first
 * other byte and every field is a decimal number:
 *   guest:G:H:N         guest ids [G, G+N) become host ids [H, H+N)
 *   host:H:G:N          host ids [H, H+N) are shown as guest ids [G, G+N)
 *   squash-guest:G:H:N  guest ids [G, G+N) all become host id H
 *   squash-host:H:G:N   host ids [H, H+N) are all shown as guest id G
 *   forbid-guest:G:N    guest ids [G, G+N) are refused (EPERM) wherever
 *                       the guest acts as them or gives them to a file
 *   map:G:H:N           guest:G:H:N and host:H:G:N together
 * An id no rule of its direction covers stays as it is, as in the Rust
 * daemon (so an identity map is the empty map).
 *
 * Refused, where the Rust daemon would accept or crash: a count of 0, a
 * range that runs past 4294967294 on either side (so (uid_t)-1, the
 * "unchanged" of chown, is never a source nor a result), a squash to
 * 4294967295, and a source range that meets one of an earlier rule of the
 * same direction (the Rust daemon refuses that too). */
#ifndef VFSD_ID_MAP_H
#define VFSD_ID_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct id_map;

/* An empty (identity) map, or NULL without memory. */
struct id_map *id_map_new(void);
void id_map_free(struct id_map *map);

/* Adds one rule. Returns 0, or -1 with a one-line reason in err (the map
 * is then unchanged). */
int id_map_add(struct id_map *map, const char *rule, char *err, size_t err_size);

/* Whether the map has no rule (every id stays as it is). */
bool id_map_is_identity(const struct id_map *map);

/* The host id a guest id stands for: 0 and *host, or -EPERM for an id
 * forbid-guest covers. A NULL map is the identity. */
int id_map_to_host(const struct id_map *map, uint32_t guest, uint32_t *host);

/* The guest id a host id is shown as. Never fails (no rule forbids a
 * host id). A NULL map is the identity. */
uint32_t id_map_to_guest(const struct id_map *map, uint32_t host);

/* Xattr values that carry ids (whatever name --xattrmap stores them
 * under on the host: the guest's name decides what the value is):
 * - system.posix_acl_access and system.posix_acl_default: the uid of each
 *   ACL_USER entry and the gid of each ACL_GROUP entry;
 * - security.capability of revision 3: its rootid, a uid. */
enum id_xattr {
	ID_XATTR_NONE,
	ID_XATTR_ACL,
	ID_XATTR_CAPS,
};

enum id_xattr id_xattr_kind(const char *guest_name);

/* A value the guest sets, to host ids, in place: 0; -EPERM when an id is
 * forbidden (the value is then half translated: drop it); for an ACL, -EINVAL when its size is not that of a header
 * and whole entries and -EOPNOTSUPP for another version (as the kernel
 * answers both). Size 0 (an ACL removed) and capabilities of another
 * revision or size carry no id: unchanged. */
int id_xattr_to_host(const struct id_map *uids, const struct id_map *gids, enum id_xattr kind,
		     void *value, size_t size);

/* A value read from the host, to guest ids, in place: 0, or -EIO for an
 * ACL that is not one (only a value some host program wrote under a
 * name --xattrmap moved can be). */
int id_xattr_to_guest(const struct id_map *uids, const struct id_map *gids, enum id_xattr kind,
		      void *value, size_t size);

#endif
