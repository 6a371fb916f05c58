/* fuse_test_util.c: the recording mock file system and request builder. */
#include <sys/stat.h>

#include "fuse_test_util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>

struct mock_call M;
struct mock_conf MC;
struct req_buf R;
uint8_t OUT[(1 << 21) + 4096];

void mock_reset(void)
{
	memset(&M, 0, sizeof(M));
	memset(&MC, 0, sizeof(MC));
	MC.read_len = -1;
	MC.link_target = "target";
	memset(OUT, 0xee, sizeof(OUT));
}

static void note(const char *op, const struct fs_ctx *ctx)
{
	M.op = op;
	M.count++;
	if (!ctx)
		return;
	M.ctx = *ctx;
	/* the request's copy is gone once the call returns */
	if (ctx->ngroups) {
		memcpy(M.groups, ctx->groups, ctx->ngroups * sizeof(M.groups[0]));
		M.ctx.groups = M.groups;
	}
	M.has_secctx = ctx->secctx != NULL;
	M.ctx.secctx = NULL;
	if (ctx->secctx) {
		assert_true(ctx->secctx->size <= sizeof(M.secctx_value));
		snprintf(M.secctx_name, sizeof(M.secctx_name), "%s", ctx->secctx->name);
		memcpy(M.secctx_value, ctx->secctx->value, ctx->secctx->size);
		M.secctx_size = ctx->secctx->size;
	}
}

static void copy_name(char *dst, const char *src)
{
	snprintf(dst, NAME_MAX + 2, "%s", src);
}

static void fill_entry(struct fuse_entry_out *out, uint64_t nodeid)
{
	memset(out, 0, sizeof(*out));
	out->nodeid = nodeid;
	out->generation = 7;
	out->attr.ino = nodeid;
	out->attr.mode = 0100644;
}

static int m_init(void *fs, struct fs_init *init)
{
	note("init", NULL);
	M.init = *init;
	if (MC.ret)
		return MC.ret;
	init->want_flags |= MC.init_add;
	if (MC.init_max_write)
		init->max_write = MC.init_max_write;
	if (MC.time_gran)
		init->time_gran = MC.time_gran;
	return 0;
}

static void m_destroy(void *fs)
{
	note("destroy", NULL);
	M.destroys++;
}

static int m_lookup(void *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name,
		    struct fuse_entry_out *out)
{
	note("lookup", ctx);
	M.parent = parent;
	copy_name(M.name, name);
	fill_entry(out, 100);
	return MC.ret;
}

static void m_forget(void *fs, uint64_t nodeid, uint64_t nlookup)
{
	note("forget", NULL);
	if (M.forgets < 16) {
		M.forget_nodes[M.forgets] = nodeid;
		M.forget_counts[M.forgets] = nlookup;
	}
	M.forgets++;
	M.nodeid = nodeid;
	M.nlookup = nlookup;
}

static int m_getattr(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, bool has_fh,
		     uint64_t fh, struct fuse_attr_out *out)
{
	note("getattr", ctx);
	M.nodeid = nodeid;
	M.has_fh = has_fh;
	M.fh = fh;
	memset(out, 0, sizeof(*out));
	out->attr_valid = 1;
	out->attr.ino = nodeid;
	return MC.ret;
}

static int m_statx(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, bool has_fh,
		   uint64_t fh, uint32_t sx_flags, uint32_t sx_mask,
		   struct vfsd_fuse_statx_out *out)
{
	note("statx", ctx);
	M.nodeid = nodeid;
	M.has_fh = has_fh;
	M.fh = fh;
	M.flags = sx_flags;
	M.mask = sx_mask;
	memset(out, 0, sizeof(*out));
	out->attr_valid = 1;
	out->stat.mask = STATX_BASIC_STATS | STATX_BTIME;
	out->stat.ino = nodeid;
	out->stat.btime.tv_sec = 123;
	return MC.ret;
}

static int m_setattr(void *fs, const struct fs_ctx *ctx, uint64_t nodeid,
		     const struct fuse_setattr_in *in, struct fuse_attr_out *out)
{
	note("setattr", ctx);
	M.nodeid = nodeid;
	M.setattr = *in;
	memset(out, 0, sizeof(*out));
	out->attr.ino = nodeid;
	out->attr.size = in->size;
	return MC.ret;
}

static int m_readlink(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, char *buf,
		      size_t size)
{
	note("readlink", ctx);
	M.nodeid = nodeid;
	M.size = size;
	if (MC.ret)
		return MC.ret;
	size_t n = strlen(MC.link_target);
	memcpy(buf, MC.link_target, n);
	return (int)n;
}

static int m_symlink(void *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name,
		     const char *target, struct fuse_entry_out *out)
{
	note("symlink", ctx);
	M.parent = parent;
	copy_name(M.name, name);
	snprintf(M.target, sizeof(M.target), "%s", target);
	fill_entry(out, 101);
	return MC.ret;
}

static int m_mknod(void *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name,
		   uint32_t mode, uint32_t rdev, uint32_t umask, struct fuse_entry_out *out)
{
	note("mknod", ctx);
	M.parent = parent;
	copy_name(M.name, name);
	M.mode = mode;
	M.rdev = rdev;
	M.umask = umask;
	fill_entry(out, 102);
	return MC.ret;
}

static int m_mkdir(void *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name,
		   uint32_t mode, uint32_t umask, struct fuse_entry_out *out)
{
	note("mkdir", ctx);
	M.parent = parent;
	copy_name(M.name, name);
	M.mode = mode;
	M.umask = umask;
	fill_entry(out, 103);
	return MC.ret;
}

static int m_unlink(void *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name)
{
	note("unlink", ctx);
	M.parent = parent;
	copy_name(M.name, name);
	return MC.ret;
}

static int m_rmdir(void *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name)
{
	note("rmdir", ctx);
	M.parent = parent;
	copy_name(M.name, name);
	return MC.ret;
}

static int m_rename(void *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name,
		    uint64_t new_parent, const char *new_name, uint32_t flags)
{
	note("rename", ctx);
	M.parent = parent;
	copy_name(M.name, name);
	M.new_parent = new_parent;
	copy_name(M.name2, new_name);
	M.flags = flags;
	return MC.ret;
}

static int m_link(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t new_parent,
		  const char *new_name, struct fuse_entry_out *out)
{
	note("link", ctx);
	M.nodeid = nodeid;
	M.new_parent = new_parent;
	copy_name(M.name2, new_name);
	fill_entry(out, nodeid);
	return MC.ret;
}

static int m_open(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint32_t flags,
		  uint32_t open_flags, struct fuse_open_out *out)
{
	note("open", ctx);
	M.nodeid = nodeid;
	M.flags = flags;
	M.open_flags = open_flags;
	out->fh = 555;
	out->open_flags = FOPEN_KEEP_CACHE;
	return MC.ret;
}

static int m_create(void *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name,
		    uint32_t mode, uint32_t flags, uint32_t umask, uint32_t open_flags,
		    struct fuse_entry_out *entry, struct fuse_open_out *open)
{
	note("create", ctx);
	M.parent = parent;
	copy_name(M.name, name);
	M.mode = mode;
	M.flags = flags;
	M.umask = umask;
	M.open_flags = open_flags;
	fill_entry(entry, 104);
	open->fh = 556;
	return MC.ret;
}

static ssize_t m_read(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		      uint64_t offset, size_t size, const struct iovec *dst, unsigned dst_count)
{
	note("read", ctx);
	M.nodeid = nodeid;
	M.fh = fh;
	M.offset = offset;
	M.size = size;
	M.iov_count = dst_count;
	if (MC.ret)
		return MC.ret;
	size_t want = MC.read_len < 0 ? size : (size_t)MC.read_len;
	size_t done = 0;
	for (unsigned i = 0; i < dst_count && done < want; i++) {
		uint8_t *p = dst[i].iov_base;
		for (size_t j = 0; j < dst[i].iov_len && done < want; j++, done++)
			p[j] = (uint8_t)(MC.read_seed + done);
	}
	return (ssize_t)(MC.read_len < 0 ? done : (size_t)MC.read_len);
}

static ssize_t m_write(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		       uint64_t offset, size_t size, uint32_t write_flags,
		       const struct iovec *src, unsigned src_count)
{
	note("write", ctx);
	M.nodeid = nodeid;
	M.fh = fh;
	M.offset = offset;
	M.size = size;
	M.write_flags = write_flags;
	M.iov_count = src_count;
	M.data_len = 0;
	for (unsigned i = 0; i < src_count; i++) {
		if (M.data_len + src[i].iov_len <= sizeof(M.data))
			memcpy(M.data + M.data_len, src[i].iov_base, src[i].iov_len);
		M.data_len += src[i].iov_len;
	}
	return MC.ret ? MC.ret : (ssize_t)size;
}

static int m_statfs(void *fs, const struct fs_ctx *ctx, uint64_t nodeid,
		    struct fuse_kstatfs *out)
{
	note("statfs", ctx);
	M.nodeid = nodeid;
	out->blocks = 1000;
	out->bsize = 4096;
	out->namelen = 255;
	return MC.ret;
}

static int m_release(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		     uint32_t flags, uint32_t release_flags, uint64_t lock_owner)
{
	note("release", ctx);
	M.nodeid = nodeid;
	M.fh = fh;
	M.flags = flags;
	M.release_flags = release_flags;
	M.lock_owner = lock_owner;
	return MC.ret;
}

static int m_fsync(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		   bool datasync)
{
	note("fsync", ctx);
	M.nodeid = nodeid;
	M.fh = fh;
	M.datasync = datasync;
	return MC.ret;
}

static int m_flush(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		   uint64_t lock_owner)
{
	note("flush", ctx);
	M.nodeid = nodeid;
	M.fh = fh;
	M.lock_owner = lock_owner;
	return MC.ret;
}

static int m_setxattr(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, const char *name,
		      const void *value, size_t size, uint32_t flags, uint32_t setxattr_flags)
{
	note("setxattr", ctx);
	M.nodeid = nodeid;
	copy_name(M.name, name);
	M.size = size;
	M.flags = flags;
	M.setxattr_flags = setxattr_flags;
	memcpy(M.data, value, size);
	M.data_len = size;
	return MC.ret;
}

static ssize_t m_getxattr(void *fs, const struct fs_ctx *ctx, uint64_t nodeid,
			  const char *name, void *value, size_t size)
{
	note("getxattr", ctx);
	M.nodeid = nodeid;
	copy_name(M.name, name);
	M.size = size;
	if (MC.ret)
		return MC.ret;
	if (size == 0)
		return (ssize_t)MC.xattr_len;
	if (size < MC.xattr_len)
		return -ERANGE;
	memset(value, 'v', MC.xattr_len);
	return (ssize_t)MC.xattr_len;
}

static ssize_t m_listxattr(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, char *list,
			   size_t size)
{
	note("listxattr", ctx);
	M.nodeid = nodeid;
	M.size = size;
	if (MC.ret)
		return MC.ret;
	if (size == 0)
		return (ssize_t)MC.xattr_len;
	if (size < MC.xattr_len)
		return -ERANGE;
	memset(list, 'l', MC.xattr_len);
	return (ssize_t)MC.xattr_len;
}

static int m_removexattr(void *fs, const struct fs_ctx *ctx, uint64_t nodeid,
			 const char *name)
{
	note("removexattr", ctx);
	M.nodeid = nodeid;
	copy_name(M.name, name);
	return MC.ret;
}

static int m_opendir(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint32_t flags,
		     struct fuse_open_out *out)
{
	note("opendir", ctx);
	M.nodeid = nodeid;
	M.flags = flags;
	out->fh = 777;
	return MC.ret;
}

static int m_readdir(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		     uint64_t offset, bool plus, struct fs_dir_filler *filler)
{
	note("readdir", ctx);
	M.nodeid = nodeid;
	M.fh = fh;
	M.offset = offset;
	M.plus = plus;
	if (MC.ret)
		return MC.ret;
	for (int i = 0; i < MC.dir_entries && i < 64; i++) {
		if (MC.dir_fail_after && i == MC.dir_fail_after)
			return -EIO;
		char name[32];
		int len = snprintf(name, sizeof(name), "entry%d", i);
		struct fuse_entry_out e;
		fill_entry(&e, 200 + (uint64_t)i);
		M.filler_results[i] = fs_dir_filler_add(filler, name, (size_t)len,
							200 + (uint64_t)i, 8, offset + i + 1,
							plus ? &e : NULL);
		if (M.filler_results[i])
			break;
	}
	return 0;
}

static int m_releasedir(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh)
{
	note("releasedir", ctx);
	M.nodeid = nodeid;
	M.fh = fh;
	return MC.ret;
}

static int m_fsyncdir(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		      bool datasync)
{
	note("fsyncdir", ctx);
	M.nodeid = nodeid;
	M.fh = fh;
	M.datasync = datasync;
	return MC.ret;
}

static int m_getlk(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		   uint64_t owner, struct fuse_file_lock *lock)
{
	note("getlk", ctx);
	M.nodeid = nodeid;
	M.fh = fh;
	M.owner = owner;
	M.lock = *lock;
	lock->type = F_UNLCK;
	lock->pid = 0;
	return MC.ret;
}

static int m_setlk(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		   uint64_t owner, const struct fuse_file_lock *lock, bool sleep, bool is_flock)
{
	note("setlk", ctx);
	M.nodeid = nodeid;
	M.fh = fh;
	M.owner = owner;
	M.lock = *lock;
	M.sleep = sleep;
	M.is_flock = is_flock;
	return MC.ret;
}

static int m_access(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint32_t mask)
{
	note("access", ctx);
	M.nodeid = nodeid;
	M.mask = mask;
	return MC.ret;
}

static int m_fallocate(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		       uint64_t offset, uint64_t length, uint32_t mode)
{
	note("fallocate", ctx);
	M.nodeid = nodeid;
	M.fh = fh;
	M.offset = offset;
	M.length = length;
	M.mode = mode;
	return MC.ret;
}

static int m_lseek(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		   uint64_t offset, uint32_t whence, uint64_t *result)
{
	note("lseek", ctx);
	M.nodeid = nodeid;
	M.fh = fh;
	M.offset = offset;
	M.whence = whence;
	*result = offset + 4096;
	return MC.ret;
}

static ssize_t m_copy_file_range(void *fs, const struct fs_ctx *ctx, uint64_t nodeid_in,
				 uint64_t fh_in, uint64_t off_in, uint64_t nodeid_out,
				 uint64_t fh_out, uint64_t off_out, uint64_t len, uint64_t flags)
{
	note("copy_file_range", ctx);
	M.nodeid = nodeid_in;
	M.fh = fh_in;
	M.offset = off_in;
	M.nodeid_out = nodeid_out;
	M.fh_out = fh_out;
	M.off_out = off_out;
	M.length = len;
	M.cfr_flags = flags;
	return MC.ret ? MC.ret : (ssize_t)(len / 2);
}

static int m_syncfs(void *fs, const struct fs_ctx *ctx, uint64_t nodeid)
{
	note("syncfs", ctx);
	M.nodeid = nodeid;
	return MC.ret;
}

static int m_tmpfile(void *fs, const struct fs_ctx *ctx, uint64_t parent, uint32_t mode,
		     uint32_t flags, uint32_t umask, struct fuse_entry_out *entry,
		     struct fuse_open_out *open)
{
	note("tmpfile", ctx);
	M.parent = parent;
	M.mode = mode;
	M.flags = flags;
	M.umask = umask;
	fill_entry(entry, 105);
	open->fh = 557;
	return MC.ret;
}

static void m_interrupt(void *fs, uint64_t unique)
{
	note("interrupt", NULL);
	M.unique = unique;
}

const struct fs_ops mock_ops = {
	.init = m_init,
	.destroy = m_destroy,
	.lookup = m_lookup,
	.forget = m_forget,
	.getattr = m_getattr,
	.statx = m_statx,
	.setattr = m_setattr,
	.readlink = m_readlink,
	.symlink = m_symlink,
	.mknod = m_mknod,
	.mkdir = m_mkdir,
	.unlink = m_unlink,
	.rmdir = m_rmdir,
	.rename = m_rename,
	.link = m_link,
	.open = m_open,
	.create = m_create,
	.read = m_read,
	.write = m_write,
	.statfs = m_statfs,
	.release = m_release,
	.fsync = m_fsync,
	.flush = m_flush,
	.setxattr = m_setxattr,
	.getxattr = m_getxattr,
	.listxattr = m_listxattr,
	.removexattr = m_removexattr,
	.opendir = m_opendir,
	.readdir = m_readdir,
	.releasedir = m_releasedir,
	.fsyncdir = m_fsyncdir,
	.getlk = m_getlk,
	.setlk = m_setlk,
	.access = m_access,
	.fallocate = m_fallocate,
	.lseek = m_lseek,
	.copy_file_range = m_copy_file_range,
	.syncfs = m_syncfs,
	.tmpfile = m_tmpfile,
	.interrupt = m_interrupt,
};

void rb_begin(uint32_t opcode, uint64_t nodeid)
{
	struct fuse_in_header h = {
		.opcode = opcode,
		.unique = ++R.unique,
		.nodeid = nodeid,
		.uid = 1000,
		.gid = 1001,
		.pid = 42,
	};
	memcpy(R.b, &h, sizeof(h));
	R.len = sizeof(h);
}

void rb_add(const void *p, size_t n)
{
	assert_true(R.len + n <= sizeof(R.b));
	memcpy(R.b + R.len, p, n);
	R.len += n;
}

void rb_str(const char *s)
{
	rb_add(s, strlen(s) + 1);
}

void rb_set_len(uint32_t len)
{
	memcpy(R.b + offsetof(struct fuse_in_header, len), &len, sizeof(len));
}

void rb_finish(void)
{
	rb_set_len((uint32_t)R.len);
}

size_t rb_send_out(struct fuse_server *s, size_t out_size)
{
	struct iovec in = { R.b, R.len };
	struct iovec out = { OUT, out_size };
	return fuse_server_handle(s, &in, 1, &out, 1);
}

size_t rb_send(struct fuse_server *s)
{
	return rb_send_out(s, sizeof(OUT));
}

void assert_error_reply(size_t n, int err)
{
	assert_int_equal(n, sizeof(struct fuse_out_header));
	assert_int_equal(OH->len, sizeof(struct fuse_out_header));
	assert_int_equal(OH->error, -err);
	assert_int_equal(OH->unique, R.unique);
}

void assert_ok_reply(size_t n, size_t payload)
{
	assert_int_equal(OH->error, 0);
	assert_int_equal(n, sizeof(struct fuse_out_header) + payload);
	assert_int_equal(OH->len, sizeof(struct fuse_out_header) + payload);
	assert_int_equal(OH->unique, R.unique);
}

struct fuse_server *server_new(void)
{
	struct fuse_server_config config = { .ops = &mock_ops, .fs = NULL };
	struct fuse_server *s = fuse_server_new(&config);
	assert_non_null(s);
	return s;
}

struct fuse_server *server_with_init(uint32_t minor, uint64_t guest_flags)
{
	struct fuse_server *s = server_new();
	struct fuse_init_in in = { .major = 7, .minor = minor, .max_readahead = 131072 };
	rb_begin(FUSE_INIT, 0);
	if (minor >= 36) {
		in.flags = (uint32_t)guest_flags | FUSE_INIT_EXT;
		in.flags2 = (uint32_t)(guest_flags >> 32);
		rb_add(&in, sizeof(in));
	} else {
		in.flags = (uint32_t)guest_flags;
		rb_add(&in, 16);
	}
	rb_finish();
	size_t n = rb_send(s);
	assert_int_equal(OH->error, 0);
	assert_true(n > sizeof(struct fuse_out_header));
	M.count = 0;
	M.op = NULL;
	return s;
}
