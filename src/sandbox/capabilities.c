/* capabilities.c: reduce the daemon to the capabilities it uses. */
#include "sandbox/capabilities.h"

#include <cap-ng.h>
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"

#define CAP_NAME_MAX 64

/*
 * What the passthrough does on behalf of guest users: chown and set ids
 * (CHOWN, SETUID/SETGID for setfsuid/setfsgid), bypass permission checks
 * as the guest's root would (DAC_OVERRIDE, FOWNER, FSETID), create device
 * nodes (MKNOD), write security.capability (SETFCAP), and linkat with
 * AT_EMPTY_PATH (DAC_READ_SEARCH). The same set as the Rust virtiofsd plus
 * DAC_READ_SEARCH; SYS_RESOURCE is not needed: RLIMIT_NOFILE is raised
 * before this runs.
 */
static const int default_caps[] = {
	CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_FSETID, CAP_SETGID,
	CAP_SETUID, CAP_MKNOD, CAP_SETFCAP, CAP_DAC_READ_SEARCH,
};

#define KEPT_SETS (CAPNG_EFFECTIVE | CAPNG_PERMITTED | CAPNG_BOUNDING_SET)

/* "Sys_Admin" or "cap_sys_admin" -> the capability number, or -1. */
static int cap_lookup(const char *name, size_t len)
{
	char lower[CAP_NAME_MAX];

	if (len == 0 || len >= sizeof(lower))
		return -1;
	for (size_t i = 0; i < len; i++) {
		/* libcap-ng also takes numbers; a typo must not become one */
		if (!isalpha((unsigned char)name[i]) && name[i] != '_')
			return -1;
		lower[i] = (char)tolower((unsigned char)name[i]);
	}
	lower[len] = '\0';
	if (strncmp(lower, "cap_", 4) == 0)
		return capng_name_to_capability(lower + 4);
	return capng_name_to_capability(lower);
}

/* Walks "+a:-b:..."; with apply, updates libcap-ng's working set. */
static int modcaps_walk(const char *modcaps, bool apply)
{
	const char *p = modcaps;

	if (!modcaps)
		return 0;
	for (;;) {
		const char *end = strchrnul(p, ':');
		size_t len = (size_t)(end - p);
		int cap = len > 1 ? cap_lookup(p + 1, len - 1) : -1;

		if ((*p != '+' && *p != '-') || cap < 0) {
			log_error("--modcaps: bad capability \"%.*s\" (want +name or -name)",
				  (int)len, p);
			return -EINVAL;
		}
		if (apply && capng_update(*p == '+' ? CAPNG_ADD : CAPNG_DROP, KEPT_SETS,
					  (unsigned)cap) < 0) {
			log_error("--modcaps: cannot change %.*s", (int)len, p);
			return -EINVAL;
		}
		if (*end == '\0')
			return 0;
		p = end + 1;
	}
}

/* Root has capabilities; so has a non-root daemon inside the user
 * namespace the sandbox made, and there they are worth dropping too. */
static bool process_has_capabilities(void)
{
	capng_clear(CAPNG_SELECT_ALL);
	if (capng_get_caps_process() < 0)
		return geteuid() == 0;
	return capng_have_capabilities(CAPNG_SELECT_CAPS) != CAPNG_NONE;
}

int capabilities_validate(const char *modcaps)
{
	return modcaps_walk(modcaps, false);
}

int capabilities_drop(const char *modcaps)
{
	int ret = capabilities_validate(modcaps);

	if (ret < 0)
		return ret;
	if (!process_has_capabilities()) {
		log_info("capabilities: none held, nothing to drop");
		return 0;
	}
	capng_clear(CAPNG_SELECT_ALL);
	for (size_t i = 0; i < sizeof(default_caps) / sizeof(default_caps[0]); i++) {
		if (capng_update(CAPNG_ADD, KEPT_SETS, (unsigned)default_caps[i]) < 0) {
			log_error("capabilities: cannot keep %s",
				  capng_capability_to_name((unsigned)default_caps[i]));
			return -EINVAL;
		}
	}
	ret = modcaps_walk(modcaps, true);
	if (ret < 0)
		return ret;
	/* bounding too: a later execve (if seccomp were off) gains nothing */
	ret = capng_apply(CAPNG_SELECT_ALL);
	if (ret < 0) {
		log_error("capabilities: applying the reduced set failed (%d)", ret);
		return -EPERM;
	}
	return 0;
}

int capabilities_clear(void)
{
	if (!process_has_capabilities())
		return 0;
	capng_clear(CAPNG_SELECT_ALL);
	if (capng_apply(CAPNG_SELECT_ALL) < 0)
		return -EPERM;
	return 0;
}
