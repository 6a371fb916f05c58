/* options.h: the command line, compatible with the Rust virtiofsd
 * (--socket-path, --shared-dir, --cache, ...) and with QEMU's legacy C
 * virtiofsd spelling (-o source=DIR,cache=...,xattr, -d, -f). Parsing
 * only: nothing here opens a file or a socket. */
#ifndef VFSD_OPTIONS_H
#define VFSD_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "passthrough/id_map.h"
#include "passthrough/passthrough.h"
#include "sandbox/sandbox.h"
#include "util/log.h"

/* --dax: how the frontend is asked to map into the DAX window. */
enum dax_flavour { DAX_OFF, DAX_SHMEM, DAX_FS_MAP };

/* --dax-window default, and its bounds (2 MiB, Linux's range, to 64 GiB). */
#define OPTIONS_DAX_WINDOW_DEFAULT (1ull << 30)
#define OPTIONS_DAX_WINDOW_MIN (2ull << 20)
#define OPTIONS_DAX_WINDOW_MAX (64ull << 30)
/* --dax-max-mappings bound: each mapping is a VMA in the VMM, whose
 * vm.max_map_count is 65530 by default. */
#define OPTIONS_DAX_MAX_MAPPINGS 32768

enum sandbox_mode { SANDBOX_NAMESPACE, SANDBOX_CHROOT, SANDBOX_NONE };
enum seccomp_mode { SECCOMP_KILL, SECCOMP_LOG, SECCOMP_TRAP, SECCOMP_NONE };
/* The Rust virtiofsd's spellings and defaults: find-paths, abort. */
enum migration_mode { MIGRATION_FIND_PATHS, MIGRATION_FILE_HANDLES };
enum migration_on_error { MIGRATION_ON_ERROR_ABORT, MIGRATION_ON_ERROR_GUEST_ERROR };

/* virtio_fs_config.tag: a --tag fills at most this many bytes. */
#define OPTIONS_TAG_MAX 36

struct options {
	char *socket_path;        /* --socket-path / --socket (legacy) */
	int fd;                   /* --fd=N, -1 when absent */
	char *socket_group;
	char *shared_dir;         /* --shared-dir / -o source= */
	char *fuse_mount;         /* --fuse-mount: serve /dev/fuse instead */
	enum cache_mode cache;
	unsigned thread_pool_size;
	bool thread_pool_size_set;
	bool xattr;
	bool posix_acl;
	bool writeback;
	bool allow_direct_io;
	bool allow_mmap;          /* MAP_SHARED with --cache=never/metadata */
	bool readdirplus;
	bool announce_submounts;
	bool posix_lock;
	bool flock;
	bool killpriv_v2;
	bool readonly;            /* --readonly: EROFS for every change */
	bool preserve_noatime;    /* keep the guest's O_NOATIME */
	char *tag;                /* --tag: offered in the device config space */
	enum dax_flavour dax;     /* --dax=off|shmem|fs-map */
	uint64_t dax_window;      /* --dax-window=BYTES[K|M|G] */
	bool dax_window_set;
	unsigned dax_max_mappings; /* --dax-max-mappings (0: the default) */
	struct xattr_map *xattrmap; /* --xattrmap, parsed (implies --xattr) */
	bool security_label;      /* FUSE_SECURITY_CTX (implies --xattr) */
	enum log_level log_level;
	bool syslog;
	bool daemonize;           /* --daemonize: detach once ready to serve */
	uint64_t rlimit_nofile;   /* 0: raise to the hard limit (the default) */
	bool rlimit_nofile_set;
	enum sandbox_mode sandbox;
	bool sandbox_set;         /* given explicitly (--fuse-mount defaults to none) */
	enum seccomp_mode seccomp;
	bool seccomp_set;
	char *modcaps;
	/* --translate-uid / --translate-gid, every rule given (NULL: none) */
	struct id_map *uid_translate;
	struct id_map *gid_translate;
	/* --uid-map / --gid-map, in the order given (an unprivileged
	 * daemon's user namespace) */
	struct sandbox_id_range *uid_ranges;
	unsigned uid_range_count;
	struct sandbox_id_range *gid_ranges;
	unsigned gid_range_count;
	enum inode_file_handles inode_file_handles;
	enum migration_mode migration_mode;
	enum migration_on_error migration_on_error;
	bool migration_verify_handles;
	bool migration_confirm_paths;
	bool print_capabilities;
	bool show_version;
	bool show_help;
};

/* Parse argv into opts (defaults first). Returns 0, or -1 with a one-line
 * message naming the offending option in err. Strings in opts point into
 * argv or are allocated; free them with options_free. */
int options_parse(int argc, char **argv, struct options *opts, char *err, size_t err_size);
void options_free(struct options *opts);
/* The --help text. */
const char *options_usage(void);
/* The --print-capabilities JSON (libvirt reads it). */
const char *options_capabilities_json(void);

#endif
