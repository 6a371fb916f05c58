/* capabilities.h: keep only the capabilities the passthrough needs.
 * Applies to the effective, permitted and bounding sets and clears the
 * inheritable and ambient ones; never adds a capability not asked for. */
#ifndef VFSD_CAPABILITIES_H
#define VFSD_CAPABILITIES_H

/* Checks a --modcaps value ("+sys_admin:-mknod", names with or without
 * "cap_"). Returns 0 or -EINVAL with the offending element logged. */
int capabilities_validate(const char *modcaps);

/* Keeps the default set changed by modcaps (NULL: no change). Acts when
 * the process holds capabilities: as root, or as non-root inside the
 * sandbox's user namespace; otherwise does nothing (logged). Returns 0 or
 * -errno with the reason logged. */
int capabilities_drop(const char *modcaps);

/* Drops every capability in every set (the namespace-mode parent). */
int capabilities_clear(void);

#endif
