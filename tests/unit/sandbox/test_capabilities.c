/* test_capabilities.c: the kept set, --modcaps parsing, and that a dropped
 * capability is really gone while a kept one still works. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cap-ng.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/capabilities.h"
#include "sandbox_test_util.h"

static char scratch[256];

static bool have(int set, unsigned cap)
{
	return capng_have_capability(set, cap) != 0;
}

/* Checked in a private mount namespace, so a mount that wrongly succeeds
 * stays invisible to the host. */
static int default_set_child(void *opaque)
{
	char path[300];

	CHILD_CHECK(unshare(CLONE_NEWNS) == 0);
	CHILD_CHECK(mount(NULL, "/", NULL, MS_PRIVATE | MS_REC, NULL) == 0);
	CHILD_CHECK(capabilities_drop(NULL) == 0);
	capng_clear(CAPNG_SELECT_ALL);
	CHILD_CHECK(capng_get_caps_process() == 0);
	CHILD_CHECK(!have(CAPNG_EFFECTIVE, CAP_SYS_ADMIN) && !have(CAPNG_PERMITTED, CAP_SYS_ADMIN));
	CHILD_CHECK(prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN) == 0);
	CHILD_CHECK(prctl(PR_CAPBSET_READ, CAP_CHOWN) == 1);
	CHILD_CHECK(!have(CAPNG_EFFECTIVE, CAP_SYS_CHROOT) && !have(CAPNG_EFFECTIVE, CAP_SETPCAP));
	CHILD_CHECK(!have(CAPNG_INHERITABLE, CAP_CHOWN));
	CHILD_CHECK(have(CAPNG_EFFECTIVE, CAP_CHOWN) && have(CAPNG_EFFECTIVE, CAP_DAC_OVERRIDE));
	CHILD_CHECK(have(CAPNG_EFFECTIVE, CAP_FOWNER) && have(CAPNG_EFFECTIVE, CAP_FSETID));
	CHILD_CHECK(have(CAPNG_EFFECTIVE, CAP_SETUID) && have(CAPNG_EFFECTIVE, CAP_SETGID));
	CHILD_CHECK(have(CAPNG_EFFECTIVE, CAP_MKNOD) && have(CAPNG_EFFECTIVE, CAP_SETFCAP));
	CHILD_CHECK(have(CAPNG_EFFECTIVE, CAP_DAC_READ_SEARCH));

	CHILD_CHECK(mount("none", scratch, "tmpfs", 0, NULL) < 0 && errno == EPERM);
	snprintf(path, sizeof(path), "%s/a", scratch);
	CHILD_CHECK(chown(path, 1234, 1234) == 0);
	CHILD_CHECK(chown(path, 0, 0) == 0);
	return 0;
}

static int modcaps_child(void *opaque)
{
	char path[300];

	CHILD_CHECK(capabilities_drop("+sys_admin:-mknod") == 0);
	capng_clear(CAPNG_SELECT_ALL);
	CHILD_CHECK(capng_get_caps_process() == 0);
	CHILD_CHECK(have(CAPNG_EFFECTIVE, CAP_SYS_ADMIN) && prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN) == 1);
	CHILD_CHECK(!have(CAPNG_EFFECTIVE, CAP_MKNOD) && prctl(PR_CAPBSET_READ, CAP_MKNOD) == 0);
	snprintf(path, sizeof(path), "%s/null", scratch);
	CHILD_CHECK(mknod(path, S_IFCHR | 0600, makedev(1, 3)) < 0 && errno == EPERM);
	return 0;
}

static int bad_modcaps_child(void *opaque)
{
	CHILD_CHECK(capabilities_drop("+nonsense") == -EINVAL);
	/* nothing was dropped on the way to the error */
	capng_clear(CAPNG_SELECT_ALL);
	CHILD_CHECK(capng_get_caps_process() == 0);
	CHILD_CHECK(have(CAPNG_EFFECTIVE, CAP_SYS_ADMIN));
	return 0;
}

static int clear_child(void *opaque)
{
	CHILD_CHECK(capabilities_clear() == 0);
	capng_clear(CAPNG_SELECT_ALL);
	CHILD_CHECK(capng_get_caps_process() == 0);
	CHILD_CHECK(capng_have_capabilities(CAPNG_SELECT_CAPS) == CAPNG_NONE);
	CHILD_CHECK(prctl(PR_CAPBSET_READ, CAP_CHOWN) == 0);
	return 0;
}

static void run_as_root(int (*fn)(void *))
{
	int status;

	if (geteuid() != 0)
		skip();
	status = child_run(fn, NULL);
	if (WIFSIGNALED(status))
		fail_msg("child died of signal %d", WTERMSIG(status));
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_default_set(void **state)
{
	run_as_root(default_set_child);
}

static void test_modcaps_applied(void **state)
{
	run_as_root(modcaps_child);
}

static void test_bad_modcaps_drops_nothing(void **state)
{
	run_as_root(bad_modcaps_child);
}

static void test_clear_drops_all(void **state)
{
	run_as_root(clear_child);
}

static void test_modcaps_parsing(void **state)
{
	static const char *const good[] = {
		"+sys_admin:-mknod", "+sys_admin", "-chown", "+CAP_SYS_ADMIN", "-Cap_Mknod:+net_raw",
	};
	static const char *const bad[] = {
		"+nonsense", "sys_admin", "+", "-", "", ":", "+sys_admin:", ":+chown",
		"+sys_admin::-mknod", "+12", "*chown", "+sys admin", "+sys_admin,-mknod", "+cap_",
	};

	assert_int_equal(capabilities_validate(NULL), 0);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (capabilities_validate(good[i]) != 0)
			fail_msg("refused \"%s\"", good[i]);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (capabilities_validate(bad[i]) != -EINVAL)
			fail_msg("accepted \"%s\"", bad[i]);
	}
}

static int group_setup(void **state)
{
	return test_dir_make(scratch, sizeof(scratch));
}

static int group_teardown(void **state)
{
	char path[300];

	snprintf(path, sizeof(path), "%s/null", scratch);
	unlink(path);
	test_dir_remove(scratch);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_modcaps_parsing),
		cmocka_unit_test(test_default_set),
		cmocka_unit_test(test_modcaps_applied),
		cmocka_unit_test(test_bad_modcaps_drops_nothing),
		cmocka_unit_test(test_clear_drops_all),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
