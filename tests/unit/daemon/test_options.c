/* test_options.c: the command lines libvirt, Kata, podman and QEMU pass. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "daemon/options.h"

#define MAX_ARGS 32

static struct options opts;
static char err[256];

/* Parse a NULL-terminated list of arguments (argv[0] is supplied). */
static int parse_list(const char *first, va_list ap)
{
	char *argv[MAX_ARGS + 1];
	int argc = 0;

	argv[argc++] = (char *)"virtiofsd";
	for (const char *a = first; a; a = va_arg(ap, const char *)) {
		assert_true(argc < MAX_ARGS);
		argv[argc++] = (char *)a;
	}
	argv[argc] = NULL;
	return options_parse(argc, argv, &opts, err, sizeof(err));
}

static int parse(const char *first, ...)
{
	va_list ap;
	int ret;

	options_free(&opts);    /* the previous parse of this test, if any */
	va_start(ap, first);
	ret = parse_list(first, ap);
	va_end(ap);
	return ret;
}

#define PARSE_OK(...) do { \
		int r_ = parse(__VA_ARGS__, NULL); \
		if (r_ != 0) \
			fail_msg("unexpected error: %s", err); \
	} while (0)

#define PARSE_FAILS(needle, ...) do { \
		assert_int_equal(parse(__VA_ARGS__, NULL), -1); \
		if (!strstr(err, needle)) \
			fail_msg("error '%s' lacks '%s'", err, needle); \
		assert_null(strchr(err, '\n')); \
	} while (0)

static int teardown(void **state)
{
	options_free(&opts);
	return 0;
}

static void test_libvirt(void **state)
{
	PARSE_OK("--fd=3", "--shared-dir", "/srv/share", "--cache", "always",
		 "--thread-pool-size=16", "--rlimit-nofile=1048576");
	assert_int_equal(opts.fd, 3);
	assert_null(opts.socket_path);
	assert_string_equal(opts.shared_dir, "/srv/share");
	assert_int_equal(opts.cache, CACHE_ALWAYS);
	assert_int_equal(opts.thread_pool_size, 16);
	assert_true(opts.thread_pool_size_set);
	assert_true(opts.rlimit_nofile_set);
	assert_int_equal(opts.rlimit_nofile, 1048576);
	assert_true(opts.readdirplus);
	assert_false(opts.xattr);
	assert_int_equal(opts.sandbox, SANDBOX_NAMESPACE);
	assert_int_equal(opts.seccomp, SECCOMP_KILL);
	assert_int_equal(opts.log_level, LOG_LEVEL_INFO);
}

static void test_libvirt_xattr_acl(void **state)
{
	PARSE_OK("--fd=3", "--shared-dir", "/srv/share", "--xattr", "--posix-acl",
		 "--announce-submounts", "--cache", "never");
	assert_true(opts.xattr);
	assert_true(opts.posix_acl);
	assert_true(opts.announce_submounts);
	assert_false(opts.readdirplus);
}

static void test_kata(void **state)
{
	PARSE_OK("--syslog", "--cache=auto", "--shared-dir=/run/kata/shared", "--fd=3",
		 "--thread-pool-size=1", "-o", "announce_submounts");
	assert_true(opts.syslog);
	assert_int_equal(opts.cache, CACHE_AUTO);
	assert_string_equal(opts.shared_dir, "/run/kata/shared");
	assert_int_equal(opts.fd, 3);
	assert_int_equal(opts.thread_pool_size, 1);
	assert_true(opts.announce_submounts);
}

static void test_podman(void **state)
{
	PARSE_OK("--sandbox", "none", "--socket-path", "/tmp/s", "--shared-dir", ".",
		 "--seccomp=none");
	assert_int_equal(opts.sandbox, SANDBOX_NONE);
	assert_int_equal(opts.seccomp, SECCOMP_NONE);
	assert_string_equal(opts.socket_path, "/tmp/s");
	assert_string_equal(opts.shared_dir, ".");
	assert_int_equal(opts.fd, -1);
}

static void test_qemu_docs(void **state)
{
	PARSE_OK("--socket-path=/tmp/vhostqemu", "-o", "source=/tmp/share", "-o", "cache=always");
	assert_string_equal(opts.socket_path, "/tmp/vhostqemu");
	assert_string_equal(opts.shared_dir, "/tmp/share");
	assert_int_equal(opts.cache, CACHE_ALWAYS);
}

static void test_qemu_option_list(void **state)
{
	PARSE_OK("--socket=/tmp/s", "-o",
		 "source=/tmp/share,xattr,flock,posix_lock,writeback,no_readdirplus,"
		 "allow_direct_io,killpriv_v2,log_level=warn,sandbox=none,timeout=1.5,norace",
		 "-f");
	assert_string_equal(opts.socket_path, "/tmp/s");
	assert_true(opts.xattr);
	assert_true(opts.flock);
	assert_true(opts.posix_lock);
	assert_true(opts.writeback);
	assert_false(opts.readdirplus);
	assert_true(opts.allow_direct_io);
	assert_true(opts.killpriv_v2);
	assert_int_equal(opts.log_level, LOG_LEVEL_WARN);
}

static void test_defaults(void **state)
{
	PARSE_OK("--socket-path=/tmp/s", "--shared-dir=/tmp");
	assert_int_equal(opts.cache, CACHE_AUTO);
	assert_int_equal(opts.thread_pool_size, 2);
	assert_false(opts.thread_pool_size_set);
	assert_false(opts.rlimit_nofile_set);
	assert_true(opts.readdirplus);
	assert_true(opts.announce_submounts);
	assert_false(opts.posix_lock);
	assert_false(opts.flock);
	assert_false(opts.killpriv_v2);
	assert_false(opts.readonly);
	assert_false(opts.xattr);
	assert_false(opts.writeback);
	assert_false(opts.syslog);
	assert_int_equal(opts.log_level, LOG_LEVEL_INFO);
	assert_int_equal(opts.sandbox, SANDBOX_NAMESPACE);
	assert_int_equal(opts.seccomp, SECCOMP_KILL);
}

static void test_cache_modes(void **state)
{
	static const struct { const char *arg; enum cache_mode mode; bool rdp; } cases[] = {
		{ "--cache=never", CACHE_NEVER, false },
		{ "--cache=metadata", CACHE_METADATA, true },
		{ "--cache=auto", CACHE_AUTO, true },
		{ "--cache=always", CACHE_ALWAYS, true },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		PARSE_OK("--fd=3", "--shared-dir=/tmp", cases[i].arg);
		assert_int_equal(opts.cache, cases[i].mode);
		assert_int_equal(opts.readdirplus, cases[i].rdp);
		options_free(&opts);
	}
	PARSE_FAILS("--cache", "--fd=3", "--shared-dir=/tmp", "--cache=none");
	PARSE_FAILS("--cache", "--fd=3", "--shared-dir=/tmp", "--cache=sometimes");
}

static void test_legacy_cache_none(void **state)
{
	PARSE_OK("--fd=3", "-o", "source=/tmp,cache=none");
	assert_int_equal(opts.cache, CACHE_NEVER);
	assert_false(opts.readdirplus);
	options_free(&opts);
	PARSE_OK("--fd=3", "-osource=/tmp,cache=auto");
	assert_int_equal(opts.cache, CACHE_AUTO);
}

static void test_readdirplus_explicit(void **state)
{
	PARSE_OK("--fd=3", "--shared-dir=/tmp", "--cache=never", "--readdirplus");
	assert_true(opts.readdirplus);
	options_free(&opts);
	PARSE_OK("--fd=3", "--shared-dir=/tmp", "--no-readdirplus");
	assert_false(opts.readdirplus);
	options_free(&opts);
	/* Last one wins. */
	PARSE_OK("--fd=3", "--shared-dir=/tmp", "--no-readdirplus", "-o", "readdirplus");
	assert_true(opts.readdirplus);
}

static void test_debug_flag(void **state)
{
	PARSE_OK("--fd=3", "--shared-dir=/tmp", "-d");
	assert_int_equal(opts.log_level, LOG_LEVEL_DEBUG);
	options_free(&opts);
	PARSE_OK("--fd=3", "--shared-dir=/tmp", "--log-level", "trace");
	assert_int_equal(opts.log_level, LOG_LEVEL_TRACE);
	PARSE_FAILS("--log-level", "--fd=3", "--shared-dir=/tmp", "--log-level=loud");
}

static void test_log_levels(void **state)
{
	static const struct { const char *arg; enum log_level level; } cases[] = {
		{ "--log-level=error", LOG_LEVEL_ERROR }, { "--log-level=warn", LOG_LEVEL_WARN },
		{ "--log-level=info", LOG_LEVEL_INFO }, { "--log-level=debug", LOG_LEVEL_DEBUG },
		{ "--log-level=trace", LOG_LEVEL_TRACE }, { "--log-level=off", LOG_LEVEL_OFF },
		{ "-olog_level=err", LOG_LEVEL_ERROR }, { "-ologlevel=warn", LOG_LEVEL_WARN },
		{ "-olog_level=off", LOG_LEVEL_OFF }, { "-d", LOG_LEVEL_DEBUG },
		/* the Rust virtiofsd's log crate ignores case */
		{ "--log-level=ERROR", LOG_LEVEL_ERROR }, { "--log-level=Trace", LOG_LEVEL_TRACE },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		PARSE_OK("--fd=3", "--shared-dir=/tmp", cases[i].arg);
		if (opts.log_level != cases[i].level)
			fail_msg("%s: level %d", cases[i].arg, opts.log_level);
	}
	PARSE_FAILS("--log-level", "--fd=3", "--shared-dir=/tmp", "--log-level=err");
	PARSE_FAILS("--log-level", "--fd=3", "--shared-dir=/tmp", "--log-level=");
}

static void test_posix_acl_implies_xattr(void **state)
{
	PARSE_OK("--fd=3", "--shared-dir=/tmp", "--posix-acl");
	assert_true(opts.xattr);
	assert_true(opts.posix_acl);
}

static void test_bad_number(void **state)
{
	PARSE_FAILS("--thread-pool-size", "--fd=3", "--shared-dir=/tmp", "--thread-pool-size=many");
	PARSE_FAILS("--thread-pool-size", "--fd=3", "--shared-dir=/tmp", "--thread-pool-size=-1");
	PARSE_FAILS("--thread-pool-size", "--fd=3", "--shared-dir=/tmp", "--thread-pool-size=");
	PARSE_FAILS("--thread-pool-size", "--fd=3", "--shared-dir=/tmp", "--thread-pool-size=100000");
	PARSE_FAILS("--fd", "--fd=-3", "--shared-dir=/tmp");
	PARSE_FAILS("--fd", "--fd=99999999999", "--shared-dir=/tmp");
	PARSE_FAILS("--rlimit-nofile", "--fd=3", "--shared-dir=/tmp",
		    "--rlimit-nofile=18446744073709551616");
	PARSE_FAILS("--rlimit-nofile", "--fd=3", "--shared-dir=/tmp", "--rlimit-nofile= 5");
	PARSE_FAILS("-o timeout", "--fd=3", "--shared-dir=/tmp", "-o", "timeout=soon");
}

static void test_thread_pool_zero(void **state)
{
	PARSE_OK("--fd=0", "--shared-dir=/tmp", "--thread-pool-size", "0");
	assert_int_equal(opts.fd, 0);
	assert_int_equal(opts.thread_pool_size, 0);
	assert_true(opts.thread_pool_size_set);
}

static void test_trailing_junk(void **state)
{
	PARSE_FAILS("--fd", "--fd=3x", "--shared-dir=/tmp");
	PARSE_FAILS("--thread-pool-size", "--fd=3", "--shared-dir=/tmp", "--thread-pool-size=4 ");
	PARSE_FAILS("--xattr", "--fd=3", "--shared-dir=/tmp", "--xattr=yes");
	PARSE_FAILS("unexpected argument", "--fd=3", "--shared-dir=/tmp", "extra");
}

static void test_missing_shared_dir(void **state)
{
	PARSE_FAILS("--shared-dir", "--socket-path=/tmp/s");
	PARSE_FAILS("--shared-dir", "--socket-path=/tmp/s", "--shared-dir=");
	PARSE_FAILS("missing value", "--socket-path=/tmp/s", "--shared-dir");
}

static void test_transport_conflicts(void **state)
{
	PARSE_FAILS("--fd", "--socket-path=/tmp/s", "--fd=3", "--shared-dir=/tmp");
	PARSE_FAILS("--fuse-mount", "--fuse-mount=/mnt", "--fd=3", "--shared-dir=/tmp");
	PARSE_FAILS("--socket-path", "--shared-dir=/tmp");
	PARSE_FAILS("--socket-group", "--fd=3", "--socket-group=kvm", "--shared-dir=/tmp");
}

static void test_fuse_mount(void **state)
{
	PARSE_OK("--shared-dir=/srv", "--fuse-mount", "/mnt/x");
	assert_string_equal(opts.fuse_mount, "/mnt/x");
	assert_int_equal(opts.fd, -1);
	assert_null(opts.socket_path);
}

static void test_socket_group(void **state)
{
	PARSE_OK("--socket-path=/tmp/s", "--socket-group=kvm", "--shared-dir=/tmp");
	assert_string_equal(opts.socket_group, "kvm");
}

static void test_unknown_option(void **state)
{
	PARSE_FAILS("--frobnicate", "--fd=3", "--shared-dir=/tmp", "--frobnicate");
	PARSE_FAILS("--shared", "--fd=3", "--shared=/tmp");
	PARSE_FAILS("-x", "--fd=3", "--shared-dir=/tmp", "-x");
	PARSE_FAILS("-o bogus", "--fd=3", "--shared-dir=/tmp", "-o", "bogus");
	PARSE_FAILS("-o colour", "--fd=3", "--shared-dir=/tmp", "-o", "colour=red");
	PARSE_FAILS("empty option", "--fd=3", "--shared-dir=/tmp", "-o", "xattr,,writeback");
}

/* Every Rust virtiofsd option is taken now; a bad value still stops the
 * start with its reason. */
static void test_bad_value_refused(void **state)
{
	PARSE_FAILS("--sandbox", "--fd=3", "--shared-dir=/tmp", "--sandbox=jail");
}

/* The Rust virtiofsd's spellings and defaults. */
static void test_migration_options(void **state)
{
	PARSE_OK("--fd=3", "--shared-dir=/tmp");
	assert_int_equal(opts.migration_mode, MIGRATION_FIND_PATHS);
	assert_int_equal(opts.migration_on_error, MIGRATION_ON_ERROR_ABORT);
	assert_false(opts.migration_verify_handles);
	assert_false(opts.migration_confirm_paths);
	PARSE_OK("--fd=3", "--shared-dir=/tmp", "--migration-mode=file-handles",
		 "--migration-on-error=guest-error");
	assert_int_equal(opts.migration_mode, MIGRATION_FILE_HANDLES);
	assert_int_equal(opts.migration_on_error, MIGRATION_ON_ERROR_GUEST_ERROR);
	PARSE_OK("--fd=3", "--shared-dir=/tmp", "--migration-mode", "find-paths",
		 "--migration-on-error", "abort", "--migration-verify-handles",
		 "--migration-confirm-paths");
	assert_int_equal(opts.migration_mode, MIGRATION_FIND_PATHS);
	assert_true(opts.migration_verify_handles);
	assert_true(opts.migration_confirm_paths);
	PARSE_FAILS("--migration-mode", "--fd=3", "--shared-dir=/tmp", "--migration-mode=paths");
	PARSE_FAILS("--migration-on-error", "--fd=3", "--shared-dir=/tmp",
		    "--migration-on-error=ignore");
	PARSE_FAILS("--migration-confirm-paths", "--fd=3", "--shared-dir=/tmp",
		    "--migration-mode=file-handles", "--migration-confirm-paths");
	PARSE_FAILS("--migration-verify-handles", "--fd=3", "--shared-dir=/tmp",
		    "--migration-mode=file-handles", "--migration-verify-handles");
	PARSE_FAILS("takes no value", "--fd=3", "--shared-dir=/tmp",
		    "--migration-verify-handles=yes");
}

/* --translate-uid / --translate-gid: every rule kept, each map on its
 * own; a bad rule stops the start with its reason (the rule language
 * itself is tests/unit/passthrough/test_id_map.c). */
static void test_translate(void **state)
{
	uint32_t host;

	PARSE_OK("--fd=3", "--shared-dir=/tmp");
	assert_null(opts.uid_translate);
	assert_null(opts.gid_translate);
	PARSE_OK("--fd=3", "--shared-dir=/tmp", "--translate-uid=map:0:1000:1",
		 "--translate-uid", "squash-guest:1:65534:999", "--translate-gid=guest:0:2000:1",
		 "--translate-uid=forbid-guest:5000:10", "--translate-gid=host:3000:7:1");
	assert_int_equal(id_map_to_host(opts.uid_translate, 0, &host), 0);
	assert_int_equal(host, 1000);
	assert_int_equal(id_map_to_guest(opts.uid_translate, 1000), 0);
	assert_int_equal(id_map_to_host(opts.uid_translate, 500, &host), 0);
	assert_int_equal(host, 65534);
	assert_int_equal(id_map_to_host(opts.uid_translate, 5009, &host), -EPERM);
	assert_int_equal(id_map_to_host(opts.gid_translate, 0, &host), 0);
	assert_int_equal(host, 2000);
	/* guest:... alone says nothing of the way back */
	assert_int_equal(id_map_to_guest(opts.gid_translate, 2000), 2000);
	assert_int_equal(id_map_to_guest(opts.gid_translate, 3000), 7);
	/* the maps are separate: uid rules do not touch gids */
	assert_int_equal(id_map_to_host(opts.gid_translate, 5000, &host), 0);
	assert_int_equal(host, 5000);
	/* with --posix-acl, unlike the Rust virtiofsd: ACL entries are
	 * translated too */
	PARSE_OK("--fd=3", "--shared-dir=/tmp", "--posix-acl", "--translate-uid=map:0:1000:1");
	assert_true(opts.posix_acl);

	PARSE_FAILS("--translate-uid: 'map:0:1000'", "--fd=3", "--shared-dir=/tmp",
		    "--translate-uid=map:0:1000");
	PARSE_FAILS("--translate-gid: 'user:1:2:3': unknown type", "--fd=3", "--shared-dir=/tmp",
		    "--translate-gid=user:1:2:3");
	PARSE_FAILS("overlap", "--fd=3", "--shared-dir=/tmp", "--translate-uid=map:0:1000:10",
		    "--translate-uid=guest:5:7:1");
	PARSE_FAILS("runs past", "--fd=3", "--shared-dir=/tmp",
		    "--translate-gid=guest:4294967295:0:1");
	PARSE_FAILS("--translate-uid: missing value", "--fd=3", "--shared-dir=/tmp",
		    "--translate-uid");
}

/* --uid-map / --gid-map, the Rust virtiofsd's ":namespace_id:host_id:count:"
 * with any separator that is not a letter or digit, checked as the
 * kernel checks a namespace's map. */
static void test_ns_maps(void **state)
{
	PARSE_OK("--fd=3", "--shared-dir=/tmp");
	assert_int_equal(opts.uid_range_count, 0);
	assert_int_equal(opts.gid_range_count, 0);
	PARSE_OK("--fd=3", "--shared-dir=/tmp", "--uid-map=:0:1000:1:", "--uid-map",
		 "/1/100000/65536/", "--gid-map=-0-1000-1-");
	assert_int_equal(opts.uid_range_count, 2);
	assert_int_equal(opts.uid_ranges[0].inside, 0);
	assert_int_equal(opts.uid_ranges[0].outside, 1000);
	assert_int_equal(opts.uid_ranges[0].count, 1);
	assert_int_equal(opts.uid_ranges[1].inside, 1);
	assert_int_equal(opts.uid_ranges[1].outside, 100000);
	assert_int_equal(opts.uid_ranges[1].count, 65536);
	assert_int_equal(opts.gid_range_count, 1);
	assert_int_equal(opts.gid_ranges[0].outside, 1000);
	assert_int_equal(opts.sandbox, SANDBOX_NAMESPACE);
	PARSE_OK("--fd=3", "--shared-dir=/tmp", "--sandbox=chroot", "--uid-map=:0:1000:1:");

	PARSE_FAILS("is not :namespace_uid:host_uid:count:", "--fd=3", "--shared-dir=/tmp",
		    "--uid-map=0:1000:1");
	PARSE_FAILS("is not :namespace_gid:host_gid:count:", "--fd=3", "--shared-dir=/tmp",
		    "--gid-map=:0:1000:1");
	PARSE_FAILS("is not", "--fd=3", "--shared-dir=/tmp", "--uid-map=:0:1000:1/");
	PARSE_FAILS("is not", "--fd=3", "--shared-dir=/tmp", "--uid-map=a0a1a1a");
	PARSE_FAILS("three numbers", "--fd=3", "--shared-dir=/tmp", "--uid-map=:0:1000:");
	PARSE_FAILS("three numbers", "--fd=3", "--shared-dir=/tmp", "--uid-map=:0:1000:1:2:");
	PARSE_FAILS("three numbers", "--fd=3", "--shared-dir=/tmp", "--uid-map=:0::1:");
	PARSE_FAILS("three numbers", "--fd=3", "--shared-dir=/tmp", "--uid-map=:0:-1:1:");
	PARSE_FAILS("three numbers", "--fd=3", "--shared-dir=/tmp", "--uid-map=:0:4294967296:1:");
	PARSE_FAILS("three numbers", "--fd=3", "--shared-dir=/tmp", "--uid-map=::");
	PARSE_FAILS("a count of 0", "--fd=3", "--shared-dir=/tmp", "--gid-map=:0:1000:0:");
	PARSE_FAILS("runs past", "--fd=3", "--shared-dir=/tmp", "--uid-map=:4294967295:1000:1:");
	PARSE_FAILS("runs past", "--fd=3", "--shared-dir=/tmp", "--uid-map=:0:4294967000:296:");
	/* the kernel refuses overlaps inside and outside alike */
	PARSE_FAILS("overlaps :0:1000:10:", "--fd=3", "--shared-dir=/tmp",
		    "--uid-map=:0:1000:10:", "--uid-map=:9:2000:1:");
	PARSE_FAILS("overlaps :0:1000:10:", "--fd=3", "--shared-dir=/tmp",
		    "--uid-map=:0:1000:10:", "--uid-map=:20:1009:1:");
	PARSE_OK("--fd=3", "--shared-dir=/tmp", "--uid-map=:0:1000:10:", "--uid-map=:10:1010:1:",
		 "--gid-map=:0:1000:10:");
	/* only a sandbox the daemon makes has a user namespace to map */
	PARSE_FAILS("need --sandbox=namespace or chroot", "--fd=3", "--shared-dir=/tmp",
		    "--sandbox=none", "--uid-map=:0:1000:1:");
	PARSE_FAILS("need --sandbox=namespace or chroot", "--shared-dir=/tmp",
		    "--fuse-mount=/mnt", "--gid-map=:0:1000:1:");
}

static void test_readonly(void **state)
{
	PARSE_OK("--fd=3", "--shared-dir=/tmp");
	assert_false(opts.readonly);
	PARSE_OK("--fd=3", "--shared-dir=/tmp", "--readonly");
	assert_true(opts.readonly);
	PARSE_FAILS("--readonly", "--fd=3", "--shared-dir=/tmp", "--readonly=yes");
}

static void test_preserve_noatime(void **state)
{
	PARSE_OK("--fd=3", "--shared-dir=/tmp");
	assert_false(opts.preserve_noatime);
	PARSE_OK("--fd=3", "--shared-dir=/tmp", "--preserve-noatime");
	assert_true(opts.preserve_noatime);
	PARSE_FAILS("--preserve-noatime", "--fd=3", "--shared-dir=/tmp", "--preserve-noatime=1");
}

static void test_killpriv_v2(void **state)
{
	PARSE_OK("--fd=3", "--shared-dir=/tmp");
	assert_false(opts.killpriv_v2);
	PARSE_OK("--fd=3", "--shared-dir=/tmp", "--killpriv-v2");
	assert_true(opts.killpriv_v2);
	PARSE_OK("--fd=3", "--shared-dir=/tmp", "--killpriv-v2", "--no-killpriv-v2");
	assert_false(opts.killpriv_v2);
	PARSE_OK("--fd=3", "--shared-dir=/tmp", "-o", "killpriv_v2");
	assert_true(opts.killpriv_v2);
	PARSE_OK("--fd=3", "--shared-dir=/tmp", "-o", "killpriv_v2,no_killpriv_v2");
	assert_false(opts.killpriv_v2);
	PARSE_FAILS("--killpriv-v2", "--fd=3", "--shared-dir=/tmp", "--killpriv-v2=on");
}

static void test_dax(void **state)
{
	PARSE_OK("--fd=3", "--shared-dir=/tmp");
	assert_int_equal(opts.dax, DAX_OFF);
	assert_true(opts.dax_window == OPTIONS_DAX_WINDOW_DEFAULT);
	PARSE_OK("--fd=3", "--shared-dir=/tmp", "--dax=shmem");
	assert_int_equal(opts.dax, DAX_SHMEM);
	PARSE_OK("--fd=3", "--shared-dir=/tmp", "--dax=fs-map", "--dax-window=8G",
		 "--dax-max-mappings=100");
	assert_int_equal(opts.dax, DAX_FS_MAP);
	assert_true(opts.dax_window == 8ull << 30);
	assert_int_equal(opts.dax_max_mappings, 100);
	PARSE_OK("--fd=3", "--shared-dir=/tmp", "--dax=shmem", "--dax-window=4194304");
	assert_true(opts.dax_window == 4ull << 20);
	PARSE_OK("--fd=3", "--shared-dir=/tmp", "--dax=shmem", "--dax-window=2M");
	PARSE_FAILS("--dax", "--fd=3", "--shared-dir=/tmp", "--dax=always");
	PARSE_FAILS("2M", "--fd=3", "--shared-dir=/tmp", "--dax=shmem", "--dax-window=3M");
	PARSE_FAILS("2M", "--fd=3", "--shared-dir=/tmp", "--dax=shmem", "--dax-window=1M");
	PARSE_FAILS("2M", "--fd=3", "--shared-dir=/tmp", "--dax=shmem", "--dax-window=65G");
	PARSE_FAILS("2M", "--fd=3", "--shared-dir=/tmp", "--dax=shmem", "--dax-window=-2M");
	PARSE_FAILS("2M", "--fd=3", "--shared-dir=/tmp", "--dax=shmem", "--dax-window=M");
	PARSE_FAILS("2M", "--fd=3", "--shared-dir=/tmp", "--dax=shmem",
		    "--dax-window=99999999999999999999G");
	PARSE_FAILS("only with", "--fd=3", "--shared-dir=/tmp", "--dax-window=2M");
	PARSE_FAILS("only with", "--fd=3", "--shared-dir=/tmp", "--dax-max-mappings=2");
	PARSE_FAILS("at least", "--fd=3", "--shared-dir=/tmp", "--dax=shmem",
		    "--dax-max-mappings=0");
	PARSE_FAILS("--dax", "--shared-dir=/tmp", "--fuse-mount=/mnt", "--dax=shmem");
}

static void test_tag(void **state)
{
	static const char tag36[] = "abcdefghijklmnopqrstuvwxyz0123456789";

	PARSE_OK("--fd=3", "--shared-dir=/tmp");
	assert_null(opts.tag);
	PARSE_OK("--fd=3", "--shared-dir=/tmp", "--tag=fs0");
	assert_string_equal(opts.tag, "fs0");
	PARSE_OK("--socket-path=/tmp/s", "--shared-dir=/tmp", "--tag", tag36);
	assert_string_equal(opts.tag, tag36);
	/* 18 two-byte characters: 36 bytes */
	PARSE_OK("--fd=3", "--shared-dir=/tmp", "--tag=\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"
		 "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9");
	PARSE_OK("--fd=3", "--shared-dir=/tmp", "--tag=a", "--tag=b");
	assert_string_equal(opts.tag, "b");
	PARSE_FAILS("37 bytes", "--fd=3", "--shared-dir=/tmp",
		    "--tag=abcdefghijklmnopqrstuvwxyz0123456789X");
	PARSE_FAILS("38 bytes", "--fd=3", "--shared-dir=/tmp", "--tag=x\u00e9\u00e9\u00e9\u00e9"
		    "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"
		    "\u00e9\u00e9X");
	PARSE_FAILS("--tag", "--fd=3", "--shared-dir=/tmp", "--tag=");
	PARSE_FAILS("UTF-8", "--fd=3", "--shared-dir=/tmp", "--tag=a\xff");
	PARSE_FAILS("UTF-8", "--fd=3", "--shared-dir=/tmp", "--tag=\xc0\x80");
	PARSE_FAILS("UTF-8", "--fd=3", "--shared-dir=/tmp", "--tag=\xed\xa0\x80");
	PARSE_FAILS("missing value", "--fd=3", "--shared-dir=/tmp", "--tag");
	PARSE_FAILS("--tag", "--shared-dir=/tmp", "--fuse-mount=/mnt", "--tag=x");
}

static void test_daemonize(void **state)
{
	PARSE_OK("--fd=3", "--shared-dir=/tmp");
	assert_false(opts.daemonize);
	PARSE_OK("--socket-path=/tmp/s", "--shared-dir=/tmp", "--daemonize");
	assert_true(opts.daemonize);
	/* QEMU's -f (stay in the foreground) changes nothing either way */
	PARSE_OK("--socket-path=/tmp/s", "--shared-dir=/tmp", "-f");
	assert_false(opts.daemonize);
	PARSE_FAILS("--daemonize", "--fd=3", "--shared-dir=/tmp", "--daemonize=yes");
}

static void test_xattrmap(void **state)
{
	PARSE_OK("--fd=3", "--shared-dir=/tmp");
	assert_null(opts.xattrmap);
	PARSE_OK("--fd=3", "--shared-dir=/tmp", "--xattrmap=:map::user.virtiofs.:");
	assert_non_null(opts.xattrmap);
	assert_int_equal(opts.xattrmap->count, 2);
	assert_true(opts.xattr);	/* implied, as with the Rust virtiofsd */
	PARSE_OK("--fd=3", "--shared-dir=/tmp", "--xattrmap",
		 "/prefix/all/trusted./user.virtiofs./ /bad/server//trusted./\n"
		 "/bad/client/user.virtiofs.// /ok/all///");
	assert_int_equal(opts.xattrmap->count, 4);
	/* QEMU's spelling; the last one wins (and the first is freed) */
	PARSE_OK("--fd=3", "-o", "source=/tmp,xattrmap=:map:security.selinux:user.virtiofs.:",
		 "--xattrmap=:ok:all:::");
	assert_int_equal(opts.xattrmap->count, 1);
	PARSE_FAILS("--xattrmap: rule 1: unknown type 'mapp'", "--fd=3", "--shared-dir=/tmp",
		    "--xattrmap=:mapp::user.virtiofs.:");
	PARSE_FAILS("--xattrmap: rule 2: unknown scope", "--fd=3", "--shared-dir=/tmp",
		    "--xattrmap=:ok:all::: :bad:guest:::");
	PARSE_FAILS("--xattrmap: no rules", "--fd=3", "--shared-dir=/tmp", "--xattrmap= ");
	PARSE_FAILS("-o xattrmap: rule 1: ends before", "--fd=3", "-o",
		    "source=/tmp,xattrmap=:prefix:all:a:b");
	PARSE_FAILS("--xattrmap", "--fd=3", "--shared-dir=/tmp", "--xattrmap");
}

static void test_security_label(void **state)
{
	PARSE_OK("--fd=3", "--shared-dir=/tmp");
	assert_false(opts.security_label);
	PARSE_OK("--fd=3", "--shared-dir=/tmp", "--security-label");
	assert_true(opts.security_label);
	assert_true(opts.xattr);	/* implied, as with the Rust virtiofsd */
	PARSE_OK("--fd=3", "-o", "source=/tmp,security_label");
	assert_true(opts.security_label);
	PARSE_OK("--fd=3", "-o", "source=/tmp,security_label,no_security_label");
	assert_false(opts.security_label);
	PARSE_FAILS("--security-label", "--fd=3", "--shared-dir=/tmp", "--security-label=on");
}

static void test_allow_mmap(void **state)
{
	assert_int_equal(parse("--fd=3", "--shared-dir=/tmp", NULL), 0);
	assert_false(opts.allow_mmap);
	assert_int_equal(parse("--fd=3", "--shared-dir=/tmp", "--cache=never", "--allow-mmap", NULL),
			 0);
	assert_true(opts.allow_mmap);
}

static void test_sandbox_modes(void **state)
{
	PARSE_OK("--fd=3", "--shared-dir=/tmp", "--sandbox=chroot", "--seccomp=trap",
		 "--modcaps=+sys_admin:-mknod");
	assert_int_equal(opts.sandbox, SANDBOX_CHROOT);
	assert_int_equal(opts.seccomp, SECCOMP_TRAP);
	assert_string_equal(opts.modcaps, "+sys_admin:-mknod");
	options_free(&opts);
	PARSE_OK("--fd=3", "-o", "source=/tmp,sandbox=namespace,modcaps=-mknod",
		 "--seccomp", "log");
	assert_int_equal(opts.sandbox, SANDBOX_NAMESPACE);
	assert_int_equal(opts.seccomp, SECCOMP_LOG);
	assert_string_equal(opts.modcaps, "-mknod");
	options_free(&opts);
	/* /dev/fuse must unmount a host path: no sandbox by default there,
	 * and asking for one is an error. */
	PARSE_OK("--shared-dir=/tmp", "--fuse-mount=/mnt");
	assert_int_equal(opts.sandbox, SANDBOX_NONE);
	assert_int_equal(opts.seccomp, SECCOMP_NONE);
	options_free(&opts);
	PARSE_FAILS("--fuse-mount", "--shared-dir=/tmp", "--fuse-mount=/mnt",
		    "--sandbox=namespace");
	PARSE_FAILS("--fuse-mount", "--shared-dir=/tmp", "--fuse-mount=/mnt",
		    "--seccomp=kill");
}

static void test_harmless_accepted(void **state)
{
	PARSE_OK("--fd=3", "--shared-dir=/tmp", "--inode-file-handles=never",
		 "--no-announce-submounts", "--no-killpriv-v2", "--killpriv-v2");
	assert_false(opts.announce_submounts);
	assert_true(opts.killpriv_v2);
}

static void test_inode_file_handles(void **state)
{
	PARSE_OK("--fd=3", "--shared-dir=/tmp");
	assert_int_equal(opts.inode_file_handles, INODE_FILE_HANDLES_NEVER);
	options_free(&opts);
	PARSE_OK("--fd=3", "--shared-dir=/tmp", "--inode-file-handles=prefer");
	assert_int_equal(opts.inode_file_handles, INODE_FILE_HANDLES_PREFER);
	options_free(&opts);
	/* the Rust virtiofsd's old name for prefer */
	PARSE_OK("--fd=3", "--shared-dir=/tmp", "--inode-file-handles=fallback");
	assert_int_equal(opts.inode_file_handles, INODE_FILE_HANDLES_PREFER);
	options_free(&opts);
	PARSE_OK("--fd=3", "--shared-dir=/tmp", "--inode-file-handles=mandatory",
		 "--rlimit-nofile=1024");
	assert_int_equal(opts.inode_file_handles, INODE_FILE_HANDLES_MANDATORY);
	options_free(&opts);
	PARSE_OK("--fd=3", "--shared-dir=/tmp", "--inode-file-handles=mandatory",
		 "--inode-file-handles=never");
	assert_int_equal(opts.inode_file_handles, INODE_FILE_HANDLES_NEVER);
	options_free(&opts);
	PARSE_FAILS("--inode-file-handles", "--fd=3", "--shared-dir=/tmp",
		    "--inode-file-handles=always");
	PARSE_FAILS("--inode-file-handles", "--fd=3", "--shared-dir=/tmp",
		    "--inode-file-handles=");
}

/* A tiny JSON checker: enough to know libvirt's parser will accept it. */
static const char *json_value(const char *s);

static const char *json_ws(const char *s)
{
	while (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r')
		s++;
	return s;
}

static const char *json_string(const char *s)
{
	if (*s++ != '"')
		return NULL;
	for (; *s != '"'; s++) {
		if (*s == '\0' || (unsigned char)*s < 0x20)
			return NULL;
		if (*s == '\\' && !*++s)
			return NULL;
	}
	return s + 1;
}

static const char *json_list(const char *s, char close, bool object)
{
	s = json_ws(s + 1);
	if (*s == close)
		return s + 1;
	for (;;) {
		if (object) {
			s = json_string(json_ws(s));
			if (!s)
				return NULL;
			s = json_ws(s);
			if (*s++ != ':')
				return NULL;
		}
		s = json_value(s);
		if (!s)
			return NULL;
		s = json_ws(s);
		if (*s == close)
			return s + 1;
		if (*s++ != ',')
			return NULL;
	}
}

static const char *json_value(const char *s)
{
	s = json_ws(s);
	if (*s == '{')
		return json_list(s, '}', true);
	if (*s == '[')
		return json_list(s, ']', false);
	if (*s == '"')
		return json_string(s);
	return NULL;
}

static void test_print_capabilities(void **state)
{
	const char *json = options_capabilities_json();
	const char *end = json_value(json);

	assert_non_null(end);
	assert_string_equal(json_ws(end), "");
	assert_non_null(strstr(json, "\"separate-options\""));
	assert_non_null(strstr(json, "\"type\": \"fs\""));
	/* libvirt migrates a guest only with a backend that says so */
	assert_non_null(strstr(json, "\"migrate-precopy\""));

	/* Needs neither a socket nor a shared directory. */
	PARSE_OK("--print-capabilities");
	assert_true(opts.print_capabilities);
}

static void test_version_and_help(void **state)
{
	static const char *const documented[] = {
		"--readonly", "--preserve-noatime", "--killpriv-v2", "--no-killpriv-v2", "--tag=",
		"--daemonize", "--log-level", "trace", "off", "--xattrmap=", "--security-label",
		"xattrmap=RULES", "[no_]security_label", "--translate-uid=", "--translate-gid=",
		"squash-guest", "squash-host", "forbid-guest", "--uid-map=", "--gid-map=",
		":namespace_uid:host_uid:count:", "--migration-mode=", "--migration-on-error=",
		"--migration-verify-handles", "--migration-confirm-paths",
	};

	PARSE_OK("--version");
	assert_true(opts.show_version);
	options_free(&opts);
	PARSE_OK("-V");
	assert_true(opts.show_version);
	options_free(&opts);
	PARSE_OK("-h");
	assert_true(opts.show_help);
	options_free(&opts);
	PARSE_OK("--help");
	assert_true(opts.show_help);
	assert_non_null(strstr(options_usage(), "--shared-dir"));
	assert_non_null(strstr(options_usage(), "--fuse-mount"));
	/* every option we take is in the help, and nothing is listed as
	 * refused: every Rust virtiofsd option is taken */
	for (size_t i = 0; i < sizeof(documented) / sizeof(documented[0]); i++)
		if (!strstr(options_usage(), documented[i]))
			fail_msg("--help lacks %s", documented[i]);
	assert_null(strstr(options_usage(), "Not supported yet"));
}

static void test_last_wins_no_leak(void **state)
{
	PARSE_OK("--socket-path=/a", "--socket-path", "/b", "--shared-dir=/x",
		 "-o", "source=/y", "--cache=never", "--cache=always");
	assert_string_equal(opts.socket_path, "/b");
	assert_string_equal(opts.shared_dir, "/y");
	assert_int_equal(opts.cache, CACHE_ALWAYS);
	assert_true(opts.readdirplus);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_libvirt, teardown),
		cmocka_unit_test_teardown(test_libvirt_xattr_acl, teardown),
		cmocka_unit_test_teardown(test_kata, teardown),
		cmocka_unit_test_teardown(test_inode_file_handles, teardown),
		cmocka_unit_test_teardown(test_podman, teardown),
		cmocka_unit_test_teardown(test_qemu_docs, teardown),
		cmocka_unit_test_teardown(test_qemu_option_list, teardown),
		cmocka_unit_test_teardown(test_defaults, teardown),
		cmocka_unit_test_teardown(test_cache_modes, teardown),
		cmocka_unit_test_teardown(test_legacy_cache_none, teardown),
		cmocka_unit_test_teardown(test_readdirplus_explicit, teardown),
		cmocka_unit_test_teardown(test_debug_flag, teardown),
		cmocka_unit_test_teardown(test_log_levels, teardown),
		cmocka_unit_test_teardown(test_posix_acl_implies_xattr, teardown),
		cmocka_unit_test_teardown(test_bad_number, teardown),
		cmocka_unit_test_teardown(test_thread_pool_zero, teardown),
		cmocka_unit_test_teardown(test_trailing_junk, teardown),
		cmocka_unit_test_teardown(test_missing_shared_dir, teardown),
		cmocka_unit_test_teardown(test_transport_conflicts, teardown),
		cmocka_unit_test_teardown(test_fuse_mount, teardown),
		cmocka_unit_test_teardown(test_socket_group, teardown),
		cmocka_unit_test_teardown(test_unknown_option, teardown),
		cmocka_unit_test_teardown(test_bad_value_refused, teardown),
		cmocka_unit_test_teardown(test_translate, teardown),
		cmocka_unit_test_teardown(test_ns_maps, teardown),
		cmocka_unit_test_teardown(test_readonly, teardown),
		cmocka_unit_test_teardown(test_preserve_noatime, teardown),
		cmocka_unit_test_teardown(test_killpriv_v2, teardown),
		cmocka_unit_test_teardown(test_tag, teardown),
		cmocka_unit_test_teardown(test_dax, teardown),
		cmocka_unit_test_teardown(test_daemonize, teardown),
		cmocka_unit_test_teardown(test_xattrmap, teardown),
		cmocka_unit_test_teardown(test_security_label, teardown),
		cmocka_unit_test_teardown(test_allow_mmap, teardown),
		cmocka_unit_test_teardown(test_sandbox_modes, teardown),
		cmocka_unit_test_teardown(test_harmless_accepted, teardown),
		cmocka_unit_test_teardown(test_print_capabilities, teardown),
		cmocka_unit_test_teardown(test_migration_options, teardown),
		cmocka_unit_test_teardown(test_version_and_help, teardown),
		cmocka_unit_test_teardown(test_last_wins_no_leak, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
