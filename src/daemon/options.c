/* options.c: parse the command line of the Rust and the QEMU virtiofsd. */
#include "daemon/options.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Without --thread-pool-size: one thread keeps the queue moving while
 * another blocks in a slow syscall. The Rust daemon defaults to 0 (no
 * pool); we pick 2. */
#define DEFAULT_THREAD_POOL_SIZE 2u
/* More threads than this is a typo, not a tuning choice. */
#define MAX_THREAD_POOL_SIZE 4096u

enum arg_kind { ARG_NONE, ARG_REQUIRED };

struct parser {
	struct options *opts;
	char *err;
	size_t err_size;
	int readdirplus;        /* -1: not given, else the explicit choice */
};

struct option_spec {
	const char *name;       /* long name without "--" */
	enum arg_kind arg;
	int (*handle)(struct parser *p, const char *name, const char *value);
};

__attribute__((format(printf, 2, 3)))
static int parser_fail(struct parser *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->err, p->err_size, fmt, ap);
	va_end(ap);
	return -1;
}

/* Digits only: strtoull would take leading blanks, a sign and wrap "-1". */
static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (*s == '\0')
		return -1;
	for (; *s; s++) {
		unsigned d;

		if (*s < '0' || *s > '9')
			return -1;
		d = (unsigned)(*s - '0');
		if (v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static int parse_number(struct parser *p, const char *name, const char *value,
			uint64_t max, uint64_t *out)
{
	if (parse_u64(value, max, out) < 0)
		return parser_fail(p, "%s: invalid number '%s' (expected 0..%llu)",
				   name, value, (unsigned long long)max);
	return 0;
}

static int set_string(struct parser *p, const char *name, const char *value, char **field)
{
	char *copy;

	if (*value == '\0')
		return parser_fail(p, "%s: empty value", name);
	copy = strdup(value);
	if (!copy)
		return parser_fail(p, "%s: out of memory", name);
	free(*field);
	*field = copy;
	return 0;
}

static int cache_parse(const char *value, bool legacy, enum cache_mode *out)
{
	static const struct { const char *name; enum cache_mode mode; } modes[] = {
		{ "never", CACHE_NEVER }, { "metadata", CACHE_METADATA },
		{ "auto", CACHE_AUTO }, { "always", CACHE_ALWAYS },
	};

	/* QEMU's C daemon spelled "never" as "none". */
	if (legacy && strcmp(value, "none") == 0) {
		*out = CACHE_NEVER;
		return 0;
	}
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		if (strcmp(value, modes[i].name) == 0) {
			*out = modes[i].mode;
			return 0;
		}
	}
	return -1;
}

/* Defaults are the Rust virtiofsd's: namespace sandbox, seccomp kill. */
static int sandbox_set(struct parser *p, const char *name, const char *value)
{
	static const struct { const char *name; enum sandbox_mode mode; } modes[] = {
		{ "namespace", SANDBOX_NAMESPACE },
		{ "chroot", SANDBOX_CHROOT },
		{ "none", SANDBOX_NONE },
	};
	for (unsigned i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		if (strcmp(value, modes[i].name) == 0) {
			p->opts->sandbox = modes[i].mode;
			p->opts->sandbox_set = true;
			return 0;
		}
	}
	return parser_fail(p, "%s: invalid value '%s' (expected namespace, chroot or none)",
			   name, value);
}

static int opt_socket_path(struct parser *p, const char *name, const char *value)
{
	return set_string(p, name, value, &p->opts->socket_path);
}

static int opt_socket_group(struct parser *p, const char *name, const char *value)
{
	return set_string(p, name, value, &p->opts->socket_group);
}

static int opt_shared_dir(struct parser *p, const char *name, const char *value)
{
	return set_string(p, name, value, &p->opts->shared_dir);
}

static int opt_fuse_mount(struct parser *p, const char *name, const char *value)
{
	return set_string(p, name, value, &p->opts->fuse_mount);
}

static int opt_fd(struct parser *p, const char *name, const char *value)
{
	uint64_t v;

	if (parse_number(p, name, value, INT_MAX, &v) < 0)
		return -1;
	p->opts->fd = (int)v;
	return 0;
}

static int opt_cache(struct parser *p, const char *name, const char *value)
{
	if (cache_parse(value, false, &p->opts->cache) < 0)
		return parser_fail(p, "%s: invalid value '%s' (expected never, metadata, auto or always)",
				   name, value);
	return 0;
}

static int opt_thread_pool_size(struct parser *p, const char *name, const char *value)
{
	uint64_t v;

	if (parse_number(p, name, value, MAX_THREAD_POOL_SIZE, &v) < 0)
		return -1;
	p->opts->thread_pool_size = (unsigned)v;
	p->opts->thread_pool_size_set = true;
	return 0;
}

static int opt_rlimit_nofile(struct parser *p, const char *name, const char *value)
{
	uint64_t v;

	if (parse_number(p, name, value, UINT64_MAX, &v) < 0)
		return -1;
	p->opts->rlimit_nofile = v;
	p->opts->rlimit_nofile_set = true;
	return 0;
}

static int opt_log_level(struct parser *p, const char *name, const char *value)
{
	if (log_level_parse(value, &p->opts->log_level) < 0)
		return parser_fail(p, "%s: invalid value '%s' (expected error, warn, info, debug, trace or off)",
				   name, value);
	return 0;
}

static int opt_flag(struct parser *p, const char *name, const char *value)
{
	struct options *o = p->opts;

	if (strcmp(name, "--xattr") == 0)
		o->xattr = true;
	else if (strcmp(name, "--posix-acl") == 0)
		o->posix_acl = true;
	else if (strcmp(name, "--writeback") == 0)
		o->writeback = true;
	else if (strcmp(name, "--allow-direct-io") == 0)
		o->allow_direct_io = true;
	else if (strcmp(name, "--allow-mmap") == 0)
		o->allow_mmap = true;
	else if (strcmp(name, "--readdirplus") == 0)
		p->readdirplus = 1;
	else if (strcmp(name, "--no-readdirplus") == 0)
		p->readdirplus = 0;
	else if (strcmp(name, "--announce-submounts") == 0)
		o->announce_submounts = true;
	else if (strcmp(name, "--no-announce-submounts") == 0)
		o->announce_submounts = false;
	else if (strcmp(name, "--killpriv-v2") == 0)
		o->killpriv_v2 = true;
	else if (strcmp(name, "--no-killpriv-v2") == 0)
		o->killpriv_v2 = false;
	else if (strcmp(name, "--readonly") == 0)
		o->readonly = true;
	else if (strcmp(name, "--preserve-noatime") == 0)
		o->preserve_noatime = true;
	else if (strcmp(name, "--security-label") == 0)
		o->security_label = true;
	else if (strcmp(name, "--daemonize") == 0)
		o->daemonize = true;
	else if (strcmp(name, "--syslog") == 0)
		o->syslog = true;
	else if (strcmp(name, "--print-capabilities") == 0)
		o->print_capabilities = true;
	else if (strcmp(name, "--version") == 0)
		o->show_version = true;
	else if (strcmp(name, "--help") == 0)
		o->show_help = true;
	else
		return parser_fail(p, "%s: unhandled flag", name);
	return 0;
}

static int opt_sandbox(struct parser *p, const char *name, const char *value)
{
	return sandbox_set(p, name, value);
}

static int opt_seccomp(struct parser *p, const char *name, const char *value)
{
	static const struct { const char *name; enum seccomp_mode mode; } actions[] = {
		{ "none", SECCOMP_NONE },
		{ "kill", SECCOMP_KILL },
		{ "log", SECCOMP_LOG },
		{ "trap", SECCOMP_TRAP },
	};
	for (unsigned i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
		if (strcmp(value, actions[i].name) == 0) {
			p->opts->seccomp = actions[i].mode;
			p->opts->seccomp_set = true;
			return 0;
		}
	}
	return parser_fail(p, "%s: invalid value '%s' (expected none, kill, log or trap)",
			   name, value);
}

/* "fallback" is the Rust virtiofsd's old name for "prefer". */
static int opt_inode_file_handles(struct parser *p, const char *name, const char *value)
{
	if (strcmp(value, "never") == 0)
		p->opts->inode_file_handles = INODE_FILE_HANDLES_NEVER;
	else if (strcmp(value, "prefer") == 0 || strcmp(value, "fallback") == 0)
		p->opts->inode_file_handles = INODE_FILE_HANDLES_PREFER;
	else if (strcmp(value, "mandatory") == 0)
		p->opts->inode_file_handles = INODE_FILE_HANDLES_MANDATORY;
	else
		return parser_fail(p, "%s: invalid value '%s' (expected never, prefer or mandatory)",
				   name, value);
	return 0;
}

/* Whether s is well-formed UTF-8 (no overlong forms, surrogates or code
 * points past U+10FFFF): the virtio spec says the tag is UTF-8. */
static bool utf8_valid(const unsigned char *s)
{
	while (*s) {
		unsigned c = *s++, n, cp;

		if (c < 0x80)
			continue;
		if (c >= 0xc2 && c <= 0xdf)
			n = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3, cp = c & 0x07;
		else
			return false;
		for (unsigned i = 0; i < n; i++, s++) {
			if ((*s & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (*s & 0x3f);
		}
		if ((n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (n == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return false;
	}
	return true;
}

/* As the Rust virtiofsd: not empty, at most 36 bytes (UTF-8). */
static int opt_tag(struct parser *p, const char *name, const char *value)
{
	size_t len = strlen(value);

	if (len == 0 || len > OPTIONS_TAG_MAX)
		return parser_fail(p, "%s: '%s' is %zu bytes; a tag has 1 to %d", name, value, len,
				   OPTIONS_TAG_MAX);
	if (!utf8_valid((const unsigned char *)value))
		return parser_fail(p, "%s: not valid UTF-8", name);
	return set_string(p, name, value, &p->opts->tag);
}

static int opt_dax(struct parser *p, const char *name, const char *value)
{
	if (strcmp(value, "off") == 0)
		p->opts->dax = DAX_OFF;
	else if (strcmp(value, "shmem") == 0)
		p->opts->dax = DAX_SHMEM;
	else if (strcmp(value, "fs-map") == 0)
		p->opts->dax = DAX_FS_MAP;
	else
		return parser_fail(p, "%s: invalid value '%s' (expected off, shmem or fs-map)",
				   name, value);
	return 0;
}

/* Bytes with an optional K, M or G; a multiple of 2 MiB (Linux's range). */
static int opt_dax_window(struct parser *p, const char *name, const char *value)
{
	char digits[32];
	size_t len = strlen(value);
	unsigned shift = 0;
	uint64_t v;

	if (len == 0 || len >= sizeof(digits))
		return parser_fail(p, "%s: invalid size '%s'", name, value);
	memcpy(digits, value, len + 1);
	switch (digits[len - 1]) {
	case 'K': case 'k': shift = 10; break;
	case 'M': case 'm': shift = 20; break;
	case 'G': case 'g': shift = 30; break;
	default: break;
	}
	if (shift)
		digits[len - 1] = '\0';
	if (parse_u64(digits, OPTIONS_DAX_WINDOW_MAX >> shift, &v) < 0 ||
	    (v << shift) < OPTIONS_DAX_WINDOW_MIN || ((v << shift) & (OPTIONS_DAX_WINDOW_MIN - 1)))
		return parser_fail(p, "%s: '%s' is not a multiple of 2M from 2M to 64G", name, value);
	p->opts->dax_window = v << shift;
	p->opts->dax_window_set = true;
	return 0;
}

static int opt_dax_max_mappings(struct parser *p, const char *name, const char *value)
{
	uint64_t v;

	if (parse_number(p, name, value, OPTIONS_DAX_MAX_MAPPINGS, &v) < 0)
		return -1;
	if (v == 0)
		return parser_fail(p, "%s: at least 1", name);
	p->opts->dax_max_mappings = (unsigned)v;
	return 0;
}

/* Parsed here, so that a bad rule stops the start with its reason. */
static int xattrmap_set(struct parser *p, const char *name, const char *value)
{
	char why[256];
	struct xattr_map *map = xattr_map_parse(value, why, sizeof(why));

	if (!map)
		return parser_fail(p, "%s: %s", name, why);
	xattr_map_free(p->opts->xattrmap);
	p->opts->xattrmap = map;
	return 0;
}

static int opt_xattrmap(struct parser *p, const char *name, const char *value)
{
	return xattrmap_set(p, name, value);
}

/* Checked against the capability names when the daemon starts. */
static int opt_modcaps(struct parser *p, const char *name, const char *value)
{
	return set_string(p, name, value, &p->opts->modcaps);
}

static int opt_migration_mode(struct parser *p, const char *name, const char *value)
{
	if (strcmp(value, "find-paths") == 0)
		p->opts->migration_mode = MIGRATION_FIND_PATHS;
	else if (strcmp(value, "file-handles") == 0)
		p->opts->migration_mode = MIGRATION_FILE_HANDLES;
	else
		return parser_fail(p, "%s: invalid value '%s' (expected find-paths or file-handles)",
				   name, value);
	return 0;
}

static int opt_migration_on_error(struct parser *p, const char *name, const char *value)
{
	if (strcmp(value, "abort") == 0)
		p->opts->migration_on_error = MIGRATION_ON_ERROR_ABORT;
	else if (strcmp(value, "guest-error") == 0)
		p->opts->migration_on_error = MIGRATION_ON_ERROR_GUEST_ERROR;
	else
		return parser_fail(p, "%s: invalid value '%s' (expected abort or guest-error)",
				   name, value);
	return 0;
}

static int opt_migration_flag(struct parser *p, const char *name, const char *value)
{
	if (strcmp(name, "--migration-verify-handles") == 0)
		p->opts->migration_verify_handles = true;
	else
		p->opts->migration_confirm_paths = true;
	return 0;
}

/* --translate-uid / --translate-gid: each adds one rule to its map. */
static int opt_translate(struct parser *p, const char *name, const char *value)
{
	struct id_map **map = strcmp(name, "--translate-uid") == 0 ? &p->opts->uid_translate
								    : &p->opts->gid_translate;
	char why[256];

	if (!*map) {
		*map = id_map_new();
		if (!*map)
			return parser_fail(p, "%s: out of memory", name);
	}
	if (id_map_add(*map, value, why, sizeof(why)) < 0)
		return parser_fail(p, "%s: %s", name, why);
	return 0;
}

/* A decimal id in [0, 2^32), digits only. */
static int parse_id32(const char *s, size_t len, unsigned *out)
{
	char buf[16];
	uint64_t v;

	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (parse_u64(buf, UINT32_MAX, &v) < 0)
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* Whether [a, a+n) and [b, b+m) meet. */
static bool ranges_meet(unsigned a, unsigned n, unsigned b, unsigned m)
{
	return (uint64_t)a < (uint64_t)b + m && (uint64_t)b < (uint64_t)a + n;
}

/* --uid-map / --gid-map, the Rust virtiofsd's ":inside:outside:count:":
 * the separator is the last byte (not a letter or digit) and must open
 * the value too. Checked here as the kernel would check the namespace's
 * map, so that a bad one stops the start with its reason. */
static int opt_ns_map(struct parser *p, const char *name, const char *value)
{
	bool uid = strcmp(name, "--uid-map") == 0;
	struct sandbox_id_range **ranges = uid ? &p->opts->uid_ranges : &p->opts->gid_ranges;
	unsigned *count = uid ? &p->opts->uid_range_count : &p->opts->gid_range_count;
	size_t len = strlen(value);
	struct sandbox_id_range r;
	unsigned f[3], nf = 0;
	const char *s, *end;
	char sep;

	if (len < 2 || isalnum((unsigned char)value[len - 1]) || value[0] != value[len - 1])
		return parser_fail(p, "%s: '%s' is not :%s:host_%s:count: (one separator, not a "
				   "letter or digit, around and between the fields)", name, value,
				   uid ? "namespace_uid" : "namespace_gid", uid ? "uid" : "gid");
	sep = value[len - 1];
	end = value + len - 1;
	for (s = value + 1; s <= end; ) {
		const char *next = memchr(s, sep, (size_t)(end - s));
		size_t flen = next ? (size_t)(next - s) : (size_t)(end - s);

		if (nf == 3 || parse_id32(s, flen, &f[nf]) < 0)
			return parser_fail(p, "%s: '%s' wants three numbers from 0 to %u", name,
					   value, UINT32_MAX);
		nf++;
		s += flen + 1;
	}
	if (nf != 3)
		return parser_fail(p, "%s: '%s' wants three numbers from 0 to %u", name, value,
				   UINT32_MAX);
	r = (struct sandbox_id_range){ .inside = f[0], .outside = f[1], .count = f[2] };
	if (r.count == 0)
		return parser_fail(p, "%s: '%s': a count of 0 maps nothing", name, value);
	if ((uint64_t)r.inside + r.count > UINT32_MAX || (uint64_t)r.outside + r.count > UINT32_MAX)
		return parser_fail(p, "%s: '%s': the range runs past %u", name, value,
				   UINT32_MAX - 1);
	for (unsigned i = 0; i < *count; i++) {
		const struct sandbox_id_range *o = &(*ranges)[i];

		if (ranges_meet(r.inside, r.count, o->inside, o->count) ||
		    ranges_meet(r.outside, r.count, o->outside, o->count))
			return parser_fail(p, "%s: '%s' overlaps :%u:%u:%u:", name, value,
					   o->inside, o->outside, o->count);
	}
	if (*count == SANDBOX_ID_RANGES_MAX)
		return parser_fail(p, "%s: more than %d ranges", name, SANDBOX_ID_RANGES_MAX);
	struct sandbox_id_range *grown = realloc(*ranges, (*count + 1) * sizeof(*grown));

	if (!grown)
		return parser_fail(p, "%s: out of memory", name);
	grown[(*count)++] = r;
	*ranges = grown;
	return 0;
}

static const struct option_spec long_options[] = {
	{ "socket-path", ARG_REQUIRED, opt_socket_path },
	{ "socket", ARG_REQUIRED, opt_socket_path },
	{ "fd", ARG_REQUIRED, opt_fd },
	{ "socket-group", ARG_REQUIRED, opt_socket_group },
	{ "shared-dir", ARG_REQUIRED, opt_shared_dir },
	{ "fuse-mount", ARG_REQUIRED, opt_fuse_mount },
	{ "cache", ARG_REQUIRED, opt_cache },
	{ "thread-pool-size", ARG_REQUIRED, opt_thread_pool_size },
	{ "rlimit-nofile", ARG_REQUIRED, opt_rlimit_nofile },
	{ "log-level", ARG_REQUIRED, opt_log_level },
	{ "sandbox", ARG_REQUIRED, opt_sandbox },
	{ "seccomp", ARG_REQUIRED, opt_seccomp },
	{ "inode-file-handles", ARG_REQUIRED, opt_inode_file_handles },
	{ "tag", ARG_REQUIRED, opt_tag },
	{ "dax", ARG_REQUIRED, opt_dax },
	{ "dax-window", ARG_REQUIRED, opt_dax_window },
	{ "dax-max-mappings", ARG_REQUIRED, opt_dax_max_mappings },
	{ "xattrmap", ARG_REQUIRED, opt_xattrmap },
	{ "xattr", ARG_NONE, opt_flag },
	{ "posix-acl", ARG_NONE, opt_flag },
	{ "writeback", ARG_NONE, opt_flag },
	{ "allow-direct-io", ARG_NONE, opt_flag },
	{ "allow-mmap", ARG_NONE, opt_flag },
	{ "readdirplus", ARG_NONE, opt_flag },
	{ "no-readdirplus", ARG_NONE, opt_flag },
	{ "announce-submounts", ARG_NONE, opt_flag },
	{ "no-announce-submounts", ARG_NONE, opt_flag },
	{ "killpriv-v2", ARG_NONE, opt_flag },
	{ "no-killpriv-v2", ARG_NONE, opt_flag },
	{ "readonly", ARG_NONE, opt_flag },
	{ "preserve-noatime", ARG_NONE, opt_flag },
	{ "security-label", ARG_NONE, opt_flag },
	{ "syslog", ARG_NONE, opt_flag },
	{ "print-capabilities", ARG_NONE, opt_flag },
	{ "version", ARG_NONE, opt_flag },
	{ "help", ARG_NONE, opt_flag },
	{ "daemonize", ARG_NONE, opt_flag },
	{ "modcaps", ARG_REQUIRED, opt_modcaps },
	{ "translate-uid", ARG_REQUIRED, opt_translate },
	{ "translate-gid", ARG_REQUIRED, opt_translate },
	{ "uid-map", ARG_REQUIRED, opt_ns_map },
	{ "gid-map", ARG_REQUIRED, opt_ns_map },
	{ "migration-mode", ARG_REQUIRED, opt_migration_mode },
	{ "migration-on-error", ARG_REQUIRED, opt_migration_on_error },
	{ "migration-verify-handles", ARG_NONE, opt_migration_flag },
	{ "migration-confirm-paths", ARG_NONE, opt_migration_flag },
};

static const struct option_spec *long_option_find(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(long_options) / sizeof(long_options[0]); i++) {
		const char *n = long_options[i].name;

		if (strlen(n) == len && memcmp(n, name, len) == 0)
			return &long_options[i];
	}
	return NULL;
}

/* QEMU's "-o" flags without a value. */
static int compat_flag(struct parser *p, const char *item)
{
	static const struct { const char *name; size_t field; bool value; } flags[] = {
#define F(n, f, v) { n, offsetof(struct options, f), v }
		F("xattr", xattr, true), F("no_xattr", xattr, false),
		F("posix_acl", posix_acl, true), F("no_posix_acl", posix_acl, false),
		F("flock", flock, true), F("no_flock", flock, false),
		F("posix_lock", posix_lock, true), F("no_posix_lock", posix_lock, false),
		F("writeback", writeback, true), F("no_writeback", writeback, false),
		F("allow_direct_io", allow_direct_io, true),
		F("no_allow_direct_io", allow_direct_io, false),
		F("killpriv_v2", killpriv_v2, true), F("no_killpriv_v2", killpriv_v2, false),
		F("announce_submounts", announce_submounts, true),
#undef F
	};
	struct options *o = p->opts;

	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		if (strcmp(item, flags[i].name) == 0) {
			*(bool *)((char *)o + flags[i].field) = flags[i].value;
			return 0;
		}
	}
	if (strcmp(item, "readdirplus") == 0 || strcmp(item, "no_readdirplus") == 0) {
		p->readdirplus = item[0] != 'n';
		return 0;
	}
	if (strcmp(item, "debug") == 0) {
		o->log_level = LOG_LEVEL_DEBUG;
		return 0;
	}
	/* norace turned off a racy fallback QEMU's daemon had; we have none. */
	if (strcmp(item, "norace") == 0)
		return 0;
	if (strcmp(item, "security_label") == 0 || strcmp(item, "no_security_label") == 0) {
		o->security_label = item[0] != 'n';
		return 0;
	}
	return parser_fail(p, "-o %s: unknown option", item);
}

static int compat_log_level(struct parser *p, const char *value)
{
	/* QEMU said "err"; accept the Rust names too. */
	if (strcmp(value, "err") == 0) {
		p->opts->log_level = LOG_LEVEL_ERROR;
		return 0;
	}
	return opt_log_level(p, "-o log_level", value);
}

/* QEMU's timeout=SECONDS tuned its cache; ours follows --cache. Checked
 * for sanity and then ignored. */
static int compat_timeout(struct parser *p, const char *value)
{
	char *end;
	double t;

	errno = 0;
	t = strtod(value, &end);
	if (*value == '\0' || *end != '\0' || errno || !isfinite(t) || t < 0)
		return parser_fail(p, "-o timeout: invalid value '%s'", value);
	return 0;
}

/* QEMU's "-o key=value". item is writable and NUL-terminated. */
static int compat_tuple(struct parser *p, char *item, char *value)
{
	if (strcmp(item, "source") == 0)
		return set_string(p, "-o source", value, &p->opts->shared_dir);
	if (strcmp(item, "cache") == 0) {
		if (cache_parse(value, true, &p->opts->cache) < 0)
			return parser_fail(p, "-o cache: invalid value '%s' (expected none, metadata, auto or always)",
					   value);
		return 0;
	}
	if (strcmp(item, "log_level") == 0 || strcmp(item, "loglevel") == 0)
		return compat_log_level(p, value);
	if (strcmp(item, "sandbox") == 0)
		return sandbox_set(p, "-o sandbox", value);
	if (strcmp(item, "timeout") == 0)
		return compat_timeout(p, value);
	if (strcmp(item, "modcaps") == 0)
		return opt_modcaps(p, "-o modcaps", value);
	if (strcmp(item, "xattrmap") == 0)
		return xattrmap_set(p, "-o xattrmap", value);
	return parser_fail(p, "-o %s: unknown option", item);
}

/* One "-o a,b=c,..." argument; several may be given. */
static int compat_options(struct parser *p, const char *arg)
{
	char *copy, *item, *next;
	int ret = 0;

	copy = strdup(arg);
	if (!copy)
		return parser_fail(p, "-o: out of memory");
	for (item = copy; item && ret == 0; item = next) {
		char *eq;

		next = strchr(item, ',');
		if (next)
			*next++ = '\0';
		if (*item == '\0') {
			ret = parser_fail(p, "-o: empty option in '%s'", arg);
			break;
		}
		eq = strchr(item, '=');
		if (eq) {
			*eq = '\0';
			ret = compat_tuple(p, item, eq + 1);
		} else {
			ret = compat_flag(p, item);
		}
	}
	free(copy);
	return ret;
}

/* "--name", "--name=value" or "--name value". *i indexes arg; it is
 * advanced past a separate value. */
static int parse_long(struct parser *p, int argc, char **argv, int *i)
{
	const char *arg = argv[*i] + 2;
	const char *eq = strchr(arg, '=');
	size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
	const struct option_spec *spec = long_option_find(arg, len);
	char name[64];
	const char *value = NULL;

	if (!spec)
		return parser_fail(p, "unknown option '%.*s'", (int)len + 2, argv[*i]);
	snprintf(name, sizeof(name), "--%s", spec->name);
	if (spec->arg == ARG_NONE) {
		if (eq)
			return parser_fail(p, "%s: takes no value", name);
		return spec->handle(p, name, NULL);
	}
	if (eq) {
		value = eq + 1;
	} else {
		if (*i + 1 >= argc)
			return parser_fail(p, "%s: missing value", name);
		value = argv[++*i];
	}
	return spec->handle(p, name, value);
}

static int parse_short(struct parser *p, int argc, char **argv, int *i)
{
	const char *arg = argv[*i];

	if (strncmp(arg, "-o", 2) == 0) {
		if (arg[2] != '\0')
			return compat_options(p, arg + 2);
		if (*i + 1 >= argc)
			return parser_fail(p, "-o: missing value");
		return compat_options(p, argv[++*i]);
	}
	if (strcmp(arg, "-d") == 0) {
		p->opts->log_level = LOG_LEVEL_DEBUG;
		return 0;
	}
	/* QEMU's daemon needed -f to stay in the foreground; we stay there
	 * unless --daemonize, as the Rust virtiofsd, which ignores -f. */
	if (strcmp(arg, "-f") == 0)
		return 0;
	if (strcmp(arg, "-h") == 0) {
		p->opts->show_help = true;
		return 0;
	}
	if (strcmp(arg, "-V") == 0) {
		p->opts->show_version = true;
		return 0;
	}
	return parser_fail(p, "unknown option '%s'", arg);
}

static void options_init(struct options *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->fd = -1;
	opts->cache = CACHE_AUTO;
	opts->dax_window = OPTIONS_DAX_WINDOW_DEFAULT;
	opts->thread_pool_size = DEFAULT_THREAD_POOL_SIZE;
	opts->readdirplus = true;
	/* Current Rust virtiofsd announces submounts unless told not to. */
	opts->announce_submounts = true;
	/* Both the Rust and QEMU daemons leave locks to the guest kernel
	 * unless asked; remote locks can only be turned on with -o. */
	opts->posix_lock = false;
	opts->flock = false;
	opts->killpriv_v2 = false;
	opts->log_level = LOG_LEVEL_INFO;
	opts->sandbox = SANDBOX_NAMESPACE;
	opts->seccomp = SECCOMP_KILL;
}

/* Cross-option rules, once everything is read. */
static int options_finish(struct parser *p)
{
	struct options *o = p->opts;
	int transports;

	/* as with the Rust virtiofsd */
	if (o->posix_acl || o->xattrmap || o->security_label)
		o->xattr = true;
	/* cache=never turns readdirplus off by default (as Rust and QEMU
	 * do): its entries would be dropped at once. An explicit choice wins. */
	if (p->readdirplus >= 0)
		o->readdirplus = p->readdirplus;
	else
		o->readdirplus = o->cache != CACHE_NEVER;

	if (o->print_capabilities || o->show_version || o->show_help)
		return 0;

	/* As the Rust virtiofsd: both checks are for paths only. */
	if (o->migration_mode == MIGRATION_FILE_HANDLES && o->migration_confirm_paths)
		return parser_fail(p, "--migration-confirm-paths: only with --migration-mode=find-paths");
	if (o->migration_mode == MIGRATION_FILE_HANDLES && o->migration_verify_handles)
		return parser_fail(p, "--migration-verify-handles: only with --migration-mode=find-paths");

	transports = !!o->socket_path + (o->fd >= 0) + !!o->fuse_mount;
	if (transports == 0)
		return parser_fail(p, "one of --socket-path, --fd or --fuse-mount is required");
	if (transports > 1)
		return parser_fail(p, "--socket-path, --fd and --fuse-mount exclude each other");
	if (o->tag && o->fuse_mount)
		return parser_fail(p, "--tag: only with --socket-path or --fd (a vhost-user device)");
	if (o->dax != DAX_OFF && o->fuse_mount)
		return parser_fail(p, "--dax: only with --socket-path or --fd (a vhost-user device)");
	if ((o->dax_window_set || o->dax_max_mappings) && o->dax == DAX_OFF)
		return parser_fail(p, "--dax-window, --dax-max-mappings: only with --dax=shmem "
				   "or --dax=fs-map");
	if (o->socket_group && !o->socket_path)
		return parser_fail(p, "--socket-group: only valid with --socket-path");
	if (!o->shared_dir)
		return parser_fail(p, "--shared-dir (or -o source=) is required");
	/* The /dev/fuse mode mounts and unmounts a host path, which neither
	 * a process whose root is the shared directory nor the seccomp allow
	 * list (no mount, no umount2) permits. */
	/* the namespace's map is written for the sandbox a non-root daemon
	 * makes: without one there is no user namespace to map (as the Rust
	 * virtiofsd; whether we are root is checked at start) */
	if ((o->uid_range_count || o->gid_range_count) &&
	    (o->fuse_mount || (o->sandbox_set && o->sandbox == SANDBOX_NONE)))
		return parser_fail(p, "--uid-map and --gid-map need --sandbox=namespace or chroot");
	if (o->fuse_mount) {
		if (o->sandbox_set && o->sandbox != SANDBOX_NONE)
			return parser_fail(p, "--sandbox: only none works with --fuse-mount");
		if (o->seccomp_set && o->seccomp != SECCOMP_NONE)
			return parser_fail(p, "--seccomp: only none works with --fuse-mount");
		o->sandbox = SANDBOX_NONE;
		o->seccomp = SECCOMP_NONE;
	}
	return 0;
}

int options_parse(int argc, char **argv, struct options *opts, char *err, size_t err_size)
{
	struct parser p = { .opts = opts, .err = err, .err_size = err_size, .readdirplus = -1 };
	int ret = 0;

	options_init(opts);
	if (err_size)
		err[0] = '\0';
	for (int i = 1; i < argc && ret == 0; i++) {
		const char *arg = argv[i];

		if (strncmp(arg, "--", 2) == 0 && arg[2] != '\0')
			ret = parse_long(&p, argc, argv, &i);
		else if (arg[0] == '-' && arg[1] != '\0' && arg[1] != '-')
			ret = parse_short(&p, argc, argv, &i);
		else
			ret = parser_fail(&p, "unexpected argument '%s'", arg);
	}
	if (ret == 0)
		ret = options_finish(&p);
	if (ret < 0) {
		options_free(opts);
		return -1;
	}
	return 0;
}

void options_free(struct options *opts)
{
	free(opts->socket_path);
	free(opts->socket_group);
	free(opts->shared_dir);
	free(opts->fuse_mount);
	free(opts->modcaps);
	free(opts->tag);
	xattr_map_free(opts->xattrmap);
	id_map_free(opts->uid_translate);
	id_map_free(opts->gid_translate);
	free(opts->uid_ranges);
	free(opts->gid_ranges);
	opts->uid_translate = opts->gid_translate = NULL;
	opts->uid_ranges = opts->gid_ranges = NULL;
	opts->uid_range_count = opts->gid_range_count = 0;
	opts->socket_path = NULL;
	opts->socket_group = NULL;
	opts->shared_dir = NULL;
	opts->fuse_mount = NULL;
	opts->modcaps = NULL;
	opts->tag = NULL;
	opts->xattrmap = NULL;
}

const char *options_usage(void)
{
	return
	"Usage: virtiofsd --shared-dir DIR (--socket-path PATH | --fd N | --fuse-mount DIR) [OPTIONS]\n"
	"\n"
	"Share a host directory with a guest through a virtio-fs device (vhost-user),\n"
	"or mount it on the host through /dev/fuse.\n"
	"\n"
	"Options:\n"
	"  --shared-dir=DIR          directory to share (also -o source=DIR)\n"
	"  --socket-path=PATH        vhost-user socket to create and listen on\n"
	"  --socket=PATH             deprecated spelling of --socket-path\n"
	"  --fd=N                    inherited listening (not yet connected) socket\n"
	"  --socket-group=GROUP      group owning the socket (with --socket-path)\n"
	"  --fuse-mount=DIR          serve over /dev/fuse, mounted at DIR\n"
	"  --tag=TAG                 the tag the device's config space offers a frontend\n"
	"                            that reads it (at most 36 bytes); offers\n"
	"                            VHOST_USER_PROTOCOL_F_CONFIG, which QEMU 7.1-8.0\n"
	"                            crash on; QEMU 10.0 ignores it (give it tag=)\n"
	"  --dax=FLAVOUR             DAX window mappings (FUSE_SETUPMAPPING): off (default),\n"
	"                            shmem (VHOST_USER_BACKEND_SHMEM_MAP, the QEMU proposal)\n"
	"                            or fs-map (the legacy FS_MAP of cloud-hypervisor);\n"
	"                            see docs/dax.md\n"
	"  --dax-window=SIZE         the window's size, a multiple of 2M (default: 1G); with\n"
	"                            fs-map, the VMM's cache size\n"
	"  --dax-max-mappings=N      at most N live mappings (default: 8192; each is a\n"
	"                            memory map in the VMM)\n"
	"  --cache=MODE              never, metadata, auto or always (default: auto)\n"
	"  --thread-pool-size=N      threads per request queue; 0: no pool, one thread (default: 2)\n"
	"  --xattr                   enable extended attributes\n"
	"  --posix-acl               enable POSIX ACLs (implies --xattr)\n"
	"  --xattrmap=RULES          translate xattr names between guest and host (implies\n"
	"                            --xattr), e.g. :map::user.virtiofs.: or, for SELinux\n"
	"                            in the guest, :map:security.selinux:user.virtiofs.:\n"
	"                            (rules :type:scope:key:prepend:, type prefix, ok, bad\n"
	"                            or unsupported, scope client, server or all)\n"
	"  --writeback               enable the guest's writeback cache\n"
	"  --allow-direct-io         honour O_DIRECT from the guest\n"
	"  --allow-mmap              with --cache=never or metadata, let the guest mmap files\n"
	"                            MAP_SHARED (only when the guest alone uses the directory)\n"
	"  --readdirplus             enable READDIRPLUS (default, except with --cache=never)\n"
	"  --no-readdirplus          disable READDIRPLUS\n"
	"  --announce-submounts      tell the guest which directories are mount points (default)\n"
	"  --no-announce-submounts   do not announce submounts\n"
	"  --readonly                refuse every change to the share with EROFS (the\n"
	"                            guest is not told: mount -o ro there too)\n"
	"  --security-label          set the security label (SELinux) the guest gives each\n"
	"                            new inode (FUSE_SECURITY_CTX; implies --xattr); with\n"
	"                            --xattrmap, under its mapped name; a guest without\n"
	"                            FUSE 7.38 cannot mount\n"
	"  --preserve-noatime        honour O_NOATIME from the guest (else dropped: the\n"
	"                            host's atime follows the guest's reads)\n"
	"  --killpriv-v2             enable FUSE_HANDLE_KILLPRIV_V2\n"
	"  --no-killpriv-v2          disable FUSE_HANDLE_KILLPRIV_V2 (default)\n"
	"  --log-level=LEVEL         error, warn, info, debug, trace (each request) or off\n"
	"                            (default: info)\n"
	"  --syslog                  log to syslog instead of stderr\n"
	"  --daemonize               go to the background once the socket listens and the\n"
	"                            sandbox is up (the first process then exits 0, or\n"
	"                            with the daemon's status if it failed first); new\n"
	"                            session, cwd /, stdin and stdout on /dev/null, stderr\n"
	"                            too with --syslog\n"
	"  --rlimit-nofile=N         set RLIMIT_NOFILE; 0 leaves it unchanged\n"
	"  --sandbox=MODE            namespace (default), chroot or none; --fuse-mount: none\n"
	"  --seccomp=ACTION          kill (default), log, trap or none; --fuse-mount: none\n"
	"  --modcaps=+CAP:-CAP       add or remove capabilities from the kept set\n"
	"  --translate-uid=RULE      translate uids between guest and host, in the daemon\n"
	"                            (repeatable); RULE is TYPE:A:B:COUNT with TYPE\n"
	"                              guest        guest ids [A, A+COUNT) are host ids\n"
	"                                           [B, B+COUNT)\n"
	"                              host         host ids [A, A+COUNT) are shown as\n"
	"                                           guest ids [B, B+COUNT)\n"
	"                              map          both: guest A.. <-> host B..\n"
	"                              squash-guest guest ids [A, A+COUNT) all become\n"
	"                                           host id B\n"
	"                              squash-host  host ids [A, A+COUNT) are all shown as\n"
	"                                           guest id B\n"
	"                            or forbid-guest:A:COUNT (EPERM for requests that act\n"
	"                            as these guest ids or give them to a file); ids no\n"
	"                            rule covers stay as they are; owners in replies, the\n"
	"                            caller of each request, chown and ids in POSIX ACL\n"
	"                            and security.capability values are translated\n"
	"  --translate-gid=RULE      the same for gids (supplementary groups included)\n"
	"  --uid-map=:IN:OUT:COUNT:  not root: the uids of the sandbox's user namespace,\n"
	"                            :namespace_uid:host_uid:count: (repeatable), written\n"
	"                            by newuidmap from /etc/subuid; where 0 is mapped the\n"
	"                            daemon is root there and acts as the guest's users over\n"
	"                            the mapped ids (--sandbox=namespace or chroot)\n"
	"  --gid-map=:IN:OUT:COUNT:  the same for gids (newgidmap, /etc/subgid)\n"
	"  --inode-file-handles=M    hold the guest's inodes as O_PATH fds (never, the default),\n"
	"                            as file handles where the file system has them (prefer)\n"
	"                            or always as file handles (mandatory)\n"
	"  --migration-mode=MODE     how the source describes inodes to the destination:\n"
	"                            find-paths (default) or file-handles; a destination\n"
	"                            opens file handles only with file-handles\n"
	"  --migration-on-error=E    destination, an inode not found again: abort (default)\n"
	"                            the migration, or guest-error (EIO for that inode)\n"
	"  --migration-verify-handles  find-paths: check each inode's file handle on the\n"
	"                            destination (same file system on both sides)\n"
	"  --migration-confirm-paths find-paths: resolve each path again at switch-over\n"
	"  --print-capabilities      print the vhost-user backend capabilities (JSON) and exit\n"
	"  -V, --version             print the version and exit\n"
	"  -h, --help                print this help and exit\n"
	"\n"
	"QEMU compatibility:\n"
	"  -o OPT[,OPT...]           source=DIR, cache=none|metadata|auto|always,\n"
	"                            [no_]xattr, [no_]posix_acl, [no_]flock, [no_]posix_lock,\n"
	"                            [no_]writeback, [no_]readdirplus, [no_]allow_direct_io,\n"
	"                            [no_]killpriv_v2, [no_]security_label,\n"
	"                            announce_submounts, debug,\n"
	"                            log_level=LEVEL, sandbox=MODE, modcaps=CAPS,\n"
	"                            xattrmap=RULES,\n"
	"                            timeout=N (ignored), norace\n"
	"  -d                        same as --log-level=debug\n"
	"  -f                        ignored: the foreground is the default\n";
}

const char *options_capabilities_json(void)
{
	/* "migrate-precopy": libvirt may migrate a guest using us. */
	return
	"{\n"
	"  \"type\": \"fs\",\n"
	"  \"features\": [\n"
	"    \"migrate-precopy\",\n"
	"    \"separate-options\"\n"
	"  ]\n"
	"}\n";
}
