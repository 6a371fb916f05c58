/* cli.c: virtiofs-client, a look into a virtio-fs share without a VM. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "virtiofs_client.h"
#include "bench.h"

#define PROG "virtiofs-client"
#define DIRBUF (64 * 1024)

static int report(const char *what, int err)
{
	fprintf(stderr, PROG ": %s: %s\n", what, strerror(-err));
	return 1;
}

/* Remote paths: absolute, no trailing slash (except the root). A command
 * needs at most two, so they live in a small static ring. */
static char *path_norm(const char *in)
{
	static char ring[2][PATH_MAX + 2];
	static unsigned next;
	char *p = ring[next++ % 2];
	size_t n;

	snprintf(p, PATH_MAX + 2, "%s%s", in[0] == '/' ? "" : "/", in);
	n = strlen(p);
	while (n > 1 && p[n - 1] == '/')
		p[--n] = '\0';
	return p;
}

static void mode_str(uint32_t mode, char *s)
{
	const char *rwx = "rwxrwxrwx";
	int i;

	s[0] = S_ISDIR(mode) ? 'd' : S_ISLNK(mode) ? 'l' : S_ISCHR(mode) ? 'c' :
	       S_ISBLK(mode) ? 'b' : S_ISFIFO(mode) ? 'p' : S_ISSOCK(mode) ? 's' : '-';
	for (i = 0; i < 9; i++)
		s[i + 1] = (mode & (0400 >> i)) ? rwx[i] : '-';
	s[10] = '\0';
}

static void print_long(struct vfs_client *c, uint64_t nodeid,
		       const struct fuse_attr *a, const char *name)
{
	char mode[11], when[32], target[4096];
	time_t t = (time_t)a->mtime;
	struct tm tm;

	mode_str(a->mode, mode);
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M", &tm);
	printf("%s %3u %5u %5u %10" PRIu64 " %s %s", mode, a->nlink, a->uid,
	       a->gid, (uint64_t)a->size, when, name);
	if (S_ISLNK(a->mode) && nodeid &&
	    vfs_readlink(c, nodeid, target, sizeof(target) - 1) >= 0)
		printf(" -> %s", target);
	printf("\n");
}

static bool is_dot(const char *name, size_t len)
{
	return (len == 1 && name[0] == '.') ||
	       (len == 2 && name[0] == '.' && name[1] == '.');
}

typedef int (*dirent_fn)(struct vfs_client *c, const struct fuse_dirent *d,
			 const struct fuse_entry_out *e, void *arg);

/* Call fn for one entry with its attributes; the reference READDIRPLUS
 * or our own LOOKUP took is dropped afterwards. */
static int dirent_visit(struct vfs_client *c, uint64_t dir,
			const struct fuse_dirent *d,
			const struct fuse_entry_out *plus, dirent_fn fn,
			void *arg)
{
	struct fuse_entry_out e = { 0 };
	char name[256];
	int err;

	if (plus) {
		e = *plus;
	} else {
		snprintf(name, sizeof(name), "%.*s", (int)d->namelen, d->name);
		if (vfs_lookup(c, dir, name, &e)) {
			memset(&e, 0, sizeof(e));
			e.attr.mode = d->type << 12;
		}
	}
	err = fn(c, d, &e, arg);
	if (e.nodeid)
		vfs_put(c, e.nodeid);
	return err;
}

/* Walk a directory with READDIRPLUS, or READDIR and LOOKUPs when the
 * daemon did not agree to FUSE_DO_READDIRPLUS (as Linux would). */
static int dir_walk(struct vfs_client *c, uint64_t dir, dirent_fn fn, void *arg)
{
	bool plus = vfs_client_init_out(c)->flags & FUSE_DO_READDIRPLUS;
	struct fuse_open_out oo;
	uint64_t off = 0;
	char *buf;
	int err;

	err = vfs_opendir(c, dir, O_RDONLY, &oo);
	if (err)
		return err;
	buf = malloc(DIRBUF);
	if (!buf)
		abort();
	for (;;) {
		const struct fuse_entry_out *e;
		const struct fuse_dirent *d;
		size_t pos = 0;
		ssize_t n = plus ? vfs_readdirplus(c, dir, oo.fh, off, buf, DIRBUF) :
				   vfs_readdir(c, dir, oo.fh, off, buf, DIRBUF);

		if (n <= 0) {
			err = (int)n;
			break;
		}
		while ((err = vfs_dirent_next(buf, (size_t)n, &pos, plus, &d, &e)) == 1) {
			off = d->off;
			if (is_dot(d->name, d->namelen))
				continue;  /* no reference is taken for these */
			err = dirent_visit(c, dir, d, e, fn, arg);
			if (err < 0)
				break;
		}
		if (err < 0)
			break;
	}
	vfs_releasedir(c, dir, oo.fh, 0);
	free(buf);
	return err;
}

struct ls_arg {
	bool longfmt;
};

static int ls_one(struct vfs_client *c, const struct fuse_dirent *d,
		  const struct fuse_entry_out *e, void *arg)
{
	struct ls_arg *la = arg;
	char name[256];

	snprintf(name, sizeof(name), "%.*s", (int)d->namelen, d->name);
	if (la->longfmt)
		print_long(c, e->nodeid, &e->attr, name);
	else
		printf("%s\n", name);
	return 0;
}

static int cmd_ls(struct vfs_client *c, int argc, char **argv)
{
	struct ls_arg la = { 0 };
	struct fuse_attr a;
	uint64_t node;
	char *path;
	int err, i = 0;

	if (i < argc && !strcmp(argv[i], "-l")) {
		la.longfmt = true;
		i++;
	}
	path = path_norm(i < argc ? argv[i] : "/");
	err = vfs_resolve(c, path, &node, &a);
	if (err)
		return report(path, err);
	if (S_ISDIR(a.mode))
		err = dir_walk(c, node, ls_one, &la);
	else if (la.longfmt)
		print_long(c, node, &a, path);
	else
		printf("%s\n", path);
	vfs_put(c, node);
	return err ? report(path, err) : 0;
}

static int cmd_stat(struct vfs_client *c, int argc, char **argv)
{
	struct fuse_attr a;
	uint64_t node;
	char *path;
	char mode[11];
	int err;

	if (argc < 1)
		return report("stat", -EINVAL);
	path = path_norm(argv[0]);
	err = vfs_resolve(c, path, &node, &a);
	if (err)
		return report(path, err);
	mode_str(a.mode, mode);
	printf("  File: %s\n  Size: %" PRIu64 "\tBlocks: %" PRIu64
	       "\tIO Block: %u\n", path, (uint64_t)a.size, (uint64_t)a.blocks,
	       a.blksize);
	printf("Nodeid: %" PRIu64 "\tInode: %" PRIu64 "\tLinks: %u\n",
	       node, (uint64_t)a.ino, a.nlink);
	printf("Access: (%04o/%s)  Uid: %u  Gid: %u  Rdev: %u\n",
	       a.mode & 07777, mode, a.uid, a.gid, a.rdev);
	printf("Access: %" PRIu64 ".%09u\nModify: %" PRIu64 ".%09u\n"
	       "Change: %" PRIu64 ".%09u\n", (uint64_t)a.atime, a.atimensec,
	       (uint64_t)a.mtime, a.mtimensec, (uint64_t)a.ctime, a.ctimensec);
	vfs_put(c, node);
	return 0;
}

/* Copy a remote file to fd. */
static int remote_read(struct vfs_client *c, const char *path, int fd)
{
	size_t max = vfs_client_max_io(c);
	struct fuse_open_out oo;
	struct fuse_attr a;
	uint64_t node, off = 0;
	char *buf;
	int err;

	err = vfs_resolve(c, path, &node, &a);
	if (err)
		return err;
	if (S_ISDIR(a.mode)) {
		vfs_put(c, node);
		return -EISDIR;
	}
	err = vfs_open(c, node, O_RDONLY, &oo);
	if (err)
		goto out;
	buf = malloc(max);
	if (!buf)
		abort();
	for (;;) {
		/* With a window, as a dax=always guest reads: loads from it. */
		ssize_t n = vfs_dax_enabled(c) ?
			vfs_dax_read(c, node, oo.fh, a.size, off, buf, max) :
			vfs_read(c, node, oo.fh, off, buf, max);

		if (n <= 0) {
			err = (int)n;
			break;
		}
		if (write(fd, buf, (size_t)n) != n) {
			err = -errno;
			break;
		}
		off += (uint64_t)n;
	}
	free(buf);
	vfs_release(c, node, oo.fh, O_RDONLY);
out:
	vfs_put(c, node);
	return err;
}

static int cmd_cat(struct vfs_client *c, int argc, char **argv)
{
	char *path;
	int err;

	if (argc < 1)
		return report("cat", -EINVAL);
	path = path_norm(argv[0]);
	err = remote_read(c, path, STDOUT_FILENO);
	return err ? report(path, err) : 0;
}

static int cmd_get(struct vfs_client *c, int argc, char **argv)
{
	char *path;
	int fd, err;

	if (argc < 2)
		return report("get", -EINVAL);
	path = path_norm(argv[0]);
	fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return report(argv[1], -errno);
	err = remote_read(c, path, fd);
	close(fd);
	return err ? report(path, err) : 0;
}

static int remote_write(struct vfs_client *c, const char *path, int fd,
			uint32_t mode)
{
	size_t max = vfs_client_max_io(c);
	struct fuse_entry_out e;
	struct fuse_open_out oo;
	const char *name;
	uint64_t parent, off = 0, size = 0;
	uint32_t oflags;
	char *buf;
	int err;

	err = vfs_resolve_parent(c, path, &parent, &name);
	if (err)
		return err;
	/* a mapping needs a handle open for reading too */
	oflags = vfs_dax_enabled(c) ? O_RDWR : O_WRONLY;
	err = vfs_create(c, parent, name, oflags | O_TRUNC, S_IFREG | mode,
			 022, &e, &oo);
	vfs_put(c, parent);
	if (err)
		return err;
	buf = malloc(max);
	if (!buf)
		abort();
	for (;;) {
		ssize_t n = read(fd, buf, max), done = 0;

		if (n <= 0) {
			err = n < 0 ? -errno : 0;
			break;
		}
		while (done < n) {
			ssize_t w = vfs_dax_enabled(c) ?
				vfs_dax_write(c, e.nodeid, oo.fh, &size, off, buf + done,
					      (size_t)(n - done)) :
				vfs_write(c, e.nodeid, oo.fh, off, buf + done,
					  (size_t)(n - done), 0);

			if (w <= 0) {
				err = w < 0 ? (int)w : -EIO;
				goto done;
			}
			done += w;
			off += (uint64_t)w;
		}
	}
done:
	free(buf);
	if (!err)
		err = vfs_flush(c, e.nodeid, oo.fh, 0);
	vfs_release(c, e.nodeid, oo.fh, oflags);
	vfs_put(c, e.nodeid);
	return err;
}

static int cmd_put(struct vfs_client *c, int argc, char **argv)
{
	struct stat st;
	char *path;
	int fd, err;

	if (argc < 2)
		return report("put", -EINVAL);
	fd = open(argv[0], O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		return report(argv[0], -errno);
	path = path_norm(argv[1]);
	err = remote_write(c, path, fd, st.st_mode & 07777);
	close(fd);
	return err ? report(path, err) : 0;
}

static int cmd_mkdir(struct vfs_client *c, int argc, char **argv)
{
	struct fuse_entry_out e;
	const char *name;
	uint64_t parent;
	char *path;
	int err;

	if (argc < 1)
		return report("mkdir", -EINVAL);
	path = path_norm(argv[0]);
	err = vfs_resolve_parent(c, path, &parent, &name);
	if (err)
		return report(path, err);
	err = vfs_mkdir(c, parent, name, 0777, 022, &e);
	vfs_put(c, parent);
	if (!err)
		vfs_put(c, e.nodeid);
	return err ? report(path, err) : 0;
}

static int cmd_rm(struct vfs_client *c, int argc, char **argv)
{
	struct fuse_entry_out e;
	const char *name;
	uint64_t parent;
	char *path;
	int err;

	if (argc < 1)
		return report("rm", -EINVAL);
	path = path_norm(argv[0]);
	err = vfs_resolve_parent(c, path, &parent, &name);
	if (err)
		return report(path, err);
	err = vfs_lookup(c, parent, name, &e);
	if (!err && e.nodeid == 0)
		err = -ENOENT;
	/* Hold the child's reference across the removal like a dentry does:
	 * a daemon may need to know the inode (QEMU's answers EIO if not). */
	if (!err) {
		err = S_ISDIR(e.attr.mode) ? vfs_rmdir(c, parent, name) :
					     vfs_unlink(c, parent, name);
		vfs_put(c, e.nodeid);
	}
	vfs_put(c, parent);
	return err ? report(path, err) : 0;
}

/* Look a name up and keep the reference (0 if it does not exist). */
static int lookup_hold(struct vfs_client *c, uint64_t dir, const char *name,
		       uint64_t *node)
{
	struct fuse_entry_out e;
	int err = vfs_lookup(c, dir, name, &e);

	*node = err ? 0 : e.nodeid;
	return err ? err : (e.nodeid ? 0 : -ENOENT);
}

static int cmd_mv(struct vfs_client *c, int argc, char **argv)
{
	const char *oname, *nname;
	uint64_t odir, ndir, onode = 0, nnode = 0;
	char *from, *to;
	int err;

	if (argc < 2)
		return report("mv", -EINVAL);
	from = path_norm(argv[0]);
	to = path_norm(argv[1]);
	err = vfs_resolve_parent(c, from, &odir, &oname);
	if (err)
		return report(from, err);
	err = vfs_resolve_parent(c, to, &ndir, &nname);
	if (err) {
		vfs_put(c, odir);
		return report(to, err);
	}
	err = lookup_hold(c, odir, oname, &onode);
	if (!err) {
		(void)lookup_hold(c, ndir, nname, &nnode);
		err = vfs_rename(c, odir, oname, ndir, nname, 0);
	}
	vfs_put(c, onode);
	vfs_put(c, nnode);
	vfs_put(c, odir);
	vfs_put(c, ndir);
	return err ? report(from, err) : 0;
}

struct tree_arg {
	int depth;
};

static int tree_one(struct vfs_client *c, const struct fuse_dirent *d,
		    const struct fuse_entry_out *e, void *arg)
{
	struct tree_arg *ta = arg, sub = { ta->depth + 1 };

	printf("%*s%.*s%s\n", ta->depth * 4, "", (int)d->namelen, d->name,
	       S_ISDIR(e->attr.mode) ? "/" : "");
	if (S_ISDIR(e->attr.mode) && e->nodeid && ta->depth < 64)
		return dir_walk(c, e->nodeid, tree_one, &sub);
	return 0;
}

static int cmd_tree(struct vfs_client *c, int argc, char **argv)
{
	struct tree_arg ta = { 1 };
	struct fuse_attr a;
	uint64_t node;
	char *path;
	int err;

	path = path_norm(argc > 0 ? argv[0] : "/");
	err = vfs_resolve(c, path, &node, &a);
	if (err)
		return report(path, err);
	printf("%s\n", path);
	err = S_ISDIR(a.mode) ? dir_walk(c, node, tree_one, &ta) : 0;
	vfs_put(c, node);
	return err ? report(path, err) : 0;
}

static int cmd_df(struct vfs_client *c, int argc, char **argv)
{
	struct fuse_kstatfs st;
	int err = vfs_statfs(c, FUSE_ROOT_ID, &st);

	if (err)
		return report("/", err);
	printf("%-12s %14s %14s %14s %10s %10s\n", "Block size", "Blocks",
	       "Free", "Available", "Files", "Files free");
	printf("%-12u %14" PRIu64 " %14" PRIu64 " %14" PRIu64 " %10" PRIu64
	       " %10" PRIu64 "\n", st.frsize ? st.frsize : st.bsize,
	       (uint64_t)st.blocks, (uint64_t)st.bfree, (uint64_t)st.bavail,
	       (uint64_t)st.files, (uint64_t)st.ffree);
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(struct vfs_client *c, int argc, char **argv);
} commands[] = {
	{ "ls", cmd_ls }, { "stat", cmd_stat }, { "cat", cmd_cat },
	{ "put", cmd_put }, { "get", cmd_get }, { "mkdir", cmd_mkdir },
	{ "rm", cmd_rm }, { "mv", cmd_mv }, { "tree", cmd_tree },
	{ "df", cmd_df },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: " PROG " --socket PATH [--queues N] [--packed] [--dax SIZE] [--stats]\n"
		"       [--verbose] COMMAND\n"
		"commands: ls [-l] PATH, stat PATH, cat PATH, put LOCAL REMOTE,\n"
		"          get REMOTE LOCAL, mkdir PATH, rm PATH, mv FROM TO,\n"
		"          tree [PATH], df\n"
		"--packed: packed virtqueues (VIRTIO_F_RING_PACKED) instead of split ones\n"
		"--dax SIZE: a DAX window of SIZE bytes (K, M, G; a multiple of 2M): file data\n"
		"            through it, as a Linux guest with -o dax=always\n"
		"--stats: at exit, print the SETUPMAPPING and REMOVEMAPPING requests made\n");
}

/* SIZE[K|M|G], a multiple of 2 MiB; 0 when invalid. */
static uint64_t size_parse(const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		return 0;
	switch (*end) {
	case 'K': case 'k': v <<= 10; end++; break;
	case 'M': case 'm': v <<= 20; end++; break;
	case 'G': case 'g': v <<= 30; end++; break;
	default: break;
	}
	if (*end || v == 0 || (v & ((2ull << 20) - 1)) || v > (1ull << 40))
		return 0;
	return v;
}

static void stats_print(const struct vfs_client *c)
{
	struct vfs_dax_stats st;

	vfs_dax_stats(c, &st);
	fprintf(stderr, "dax: window %llu bytes, SETUPMAPPING %llu, REMOVEMAPPING %llu\n",
		(unsigned long long)vfs_dax_window_size(c),
		(unsigned long long)st.setupmapping, (unsigned long long)st.removemapping);
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "queues", required_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "packed", no_argument, NULL, 'p' },
		{ "dax", required_argument, NULL, 'd' },
		{ "stats", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct vfs_client_options o = { 0 };
	const char *sock = NULL;
	bool stats = false;
	struct vfs_client *c;
	size_t i;
	int opt, err, ret;

	if (argc > 1 && !strcmp(argv[1], "bench"))
		return bench_main(argc - 1, argv + 1);
	while ((opt = getopt_long(argc, argv, "+s:q:vh", lopts, NULL)) != -1) {
		switch (opt) {
		case 's':
			sock = optarg;
			break;
		case 'q':
			o.request_queues = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 'v':
			o.verbose = true;
			break;
		case 'p':
			o.packed = true;
			break;
		case 'd':
			o.dax_window = size_parse(optarg);
			if (!o.dax_window) {
				fprintf(stderr, PROG ": --dax: '%s' is not a multiple of 2M\n", optarg);
				return 2;
			}
			break;
		case 'S':
			stats = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!sock || optind >= argc) {
		usage(stderr);
		return 2;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[optind], commands[i].name))
			break;
	if (i == sizeof(commands) / sizeof(commands[0])) {
		fprintf(stderr, PROG ": unknown command '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	c = vfs_client_open(sock, &o, &err);
	if (!c)
		return report(sock, err);
	ret = commands[i].fn(c, argc - optind - 1, argv + optind + 1);
	if (fflush(stdout) != 0)
		ret = report("stdout", -errno);
	if (stats)
		stats_print(c);
	vfs_client_close(c);
	return ret;
}
