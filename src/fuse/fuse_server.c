/* fuse_server.c: header checks, the session (INIT, DESTROY) and dispatch
 * of every other opcode to its handler. */
#include "fuse/fuse_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

/* INIT and DESTROY touch the session, so they live here. */
static fuse_handler_fn do_init, do_destroy;

struct fuse_opcode_info {
	const char *name;
	fuse_handler_fn *handler;  /* NULL: ENOSYS */
	bool no_reply;
};

#define OP(code, fn) [FUSE_##code] = { #code, fn, false }
#define OP_NO_REPLY(code, fn) [FUSE_##code] = { #code, fn, true }

static const struct fuse_opcode_info opcode_table[] = {
	OP(LOOKUP, do_lookup),
	OP_NO_REPLY(FORGET, do_forget),
	OP(GETATTR, do_getattr),
	OP(SETATTR, do_setattr),
	OP(READLINK, do_readlink),
	OP(SYMLINK, do_symlink),
	OP(MKNOD, do_mknod),
	OP(MKDIR, do_mkdir),
	OP(UNLINK, do_unlink),
	OP(RMDIR, do_rmdir),
	OP(RENAME, do_rename),
	OP(LINK, do_link),
	OP(OPEN, do_open),
	OP(READ, do_read),
	OP(WRITE, do_write),
	OP(STATFS, do_statfs),
	OP(RELEASE, do_release),
	OP(FSYNC, do_fsync),
	OP(SETXATTR, do_setxattr),
	OP(GETXATTR, do_getxattr),
	OP(LISTXATTR, do_listxattr),
	OP(REMOVEXATTR, do_removexattr),
	OP(FLUSH, do_flush),
	OP(INIT, do_init),
	OP(OPENDIR, do_opendir),
	OP(READDIR, do_readdir),
	OP(RELEASEDIR, do_releasedir),
	OP(FSYNCDIR, do_fsyncdir),
	OP(GETLK, do_getlk),
	OP(SETLK, do_setlk),
	OP(SETLKW, do_setlkw),
	OP(ACCESS, do_access),
	OP(CREATE, do_create),
	OP_NO_REPLY(INTERRUPT, do_interrupt),
	OP(BMAP, NULL),
	OP(DESTROY, do_destroy),
	OP(IOCTL, NULL),
	OP(POLL, NULL),
	/* Answers a retrieve notification we never send; takes no reply. */
	OP_NO_REPLY(NOTIFY_REPLY, NULL),
	OP_NO_REPLY(BATCH_FORGET, do_batch_forget),
	OP(FALLOCATE, do_fallocate),
	OP(READDIRPLUS, do_readdirplus),
	OP(RENAME2, do_rename2),
	OP(LSEEK, do_lseek),
	OP(COPY_FILE_RANGE, do_copy_file_range),
	OP(SETUPMAPPING, do_setupmapping),
	OP(REMOVEMAPPING, do_removemapping),
	OP(SYNCFS, do_syncfs),
	OP(TMPFILE, do_tmpfile),
	[VFSD_FUSE_STATX] = { "STATX", do_statx, false },
};

static const struct fuse_opcode_info *opcode_info(uint32_t opcode)
{
	if (opcode >= sizeof(opcode_table) / sizeof(opcode_table[0]))
		return NULL;
	if (!opcode_table[opcode].name)
		return NULL;
	return &opcode_table[opcode];
}

const char *fuse_opcode_name(uint32_t opcode)
{
	const struct fuse_opcode_info *info = opcode_info(opcode);
	return info ? info->name : "UNKNOWN";
}

struct fuse_server *fuse_server_new(const struct fuse_server_config *config)
{
	if (!config || !config->ops)
		return NULL;
	struct fuse_server *server = calloc(1, sizeof(*server));
	if (!server)
		return NULL;
	server->ops = config->ops;
	server->fs = config->fs;
	server->config_max_write = config->max_write;
	server->dax = config->dax;
	if (server->config_max_write == 0 || server->config_max_write > FUSE_SERVER_MAX_WRITE)
		server->config_max_write = FUSE_SERVER_MAX_WRITE;
	if (server->config_max_write < 4096)
		server->config_max_write = 4096;
	if (pthread_mutex_init(&server->init_lock, NULL) != 0) {
		free(server);
		return NULL;
	}
	return server;
}

void fuse_server_free(struct fuse_server *server)
{
	if (!server)
		return;
	pthread_mutex_destroy(&server->init_lock);
	free(server);
}

bool fuse_server_destroyed(const struct fuse_server *server)
{
	return __atomic_load_n(&server->state, __ATOMIC_ACQUIRE) == FUSE_SESSION_DESTROYED;
}

static int session_state(struct fuse_server *server)
{
	return __atomic_load_n(&server->state, __ATOMIC_ACQUIRE);
}

static void session_set_state(struct fuse_server *server, int state)
{
	__atomic_store_n(&server->state, state, __ATOMIC_RELEASE);
}

/* Copy what INIT negotiated into the request; called after state was
 * seen RUNNING (acquire), so these loads see INIT's stores. */
static void session_snapshot(struct fuse_req *req)
{
	struct fuse_server *s = req->server;
	req->minor = __atomic_load_n(&s->minor, __ATOMIC_RELAXED);
	req->flags = __atomic_load_n(&s->flags, __ATOMIC_RELAXED);
	req->max_write = __atomic_load_n(&s->max_write, __ATOMIC_RELAXED);
}

/* ---- INIT ---- */

/* Protocol features the server itself implements. */
#define SERVER_INIT_FLAGS \
	(FUSE_ASYNC_READ | FUSE_PARALLEL_DIROPS | FUSE_BIG_WRITES | FUSE_MAX_PAGES | \
	 FUSE_ATOMIC_O_TRUNC | FUSE_SETXATTR_EXT | FUSE_INIT_EXT)

/* Flags a file system may add: everything up to 7.41 except what needs
 * server support (FUSE_MAP_ALIGNMENT: the server adds it when it has a
 * DAX window) or that we lack (backing files, resend notifications,
 * idmapped mounts). FUSE_SECURITY_CTX only from 7.38, when
 * the context comes as a request extension. */
#define FS_ALLOWED_INIT_FLAGS \
	(((((uint64_t)FUSE_INIT_EXT << 1) - 1) & ~(uint64_t)FUSE_MAP_ALIGNMENT) | \
	 FUSE_CREATE_SUPP_GROUP | FUSE_HAS_EXPIRE_ONLY | FUSE_DIRECT_IO_ALLOW_MMAP | \
	 FUSE_NO_EXPORT_SUPPORT | FUSE_SECURITY_CTX)

/* Read what follows major/minor: its size depends on the guest's minor. */
static int init_read_rest(struct fuse_req *req, struct fuse_init_in *in)
{
	int err;
	if (in->minor < 6)
		return 0;
	err = req_read(req, &in->max_readahead, sizeof(in->max_readahead));
	if (!err)
		err = req_read(req, &in->flags, sizeof(in->flags));
	if (err)
		return err;
	/* flags2 exists from 7.36 and is meaningful with FUSE_INIT_EXT;
	 * the reserved words after it are ignored. */
	if (in->minor >= 36 && (in->flags & FUSE_INIT_EXT))
		err = req_read(req, &in->flags2, sizeof(in->flags2));
	return err;
}

static size_t init_out_size(uint32_t minor)
{
	if (minor < 5)
		return FUSE_COMPAT_INIT_OUT_SIZE;
	if (minor < 23)
		return FUSE_COMPAT_22_INIT_OUT_SIZE;
	return sizeof(struct fuse_init_out);
}

static uint32_t init_clamp_max_write(uint32_t fs_value, uint32_t server_max)
{
	if (fs_value == 0 || fs_value > server_max)
		return server_max;
	return fs_value < 4096 ? 4096 : fs_value;
}

/* Negotiate with the file system and fill out; called with init_lock. */
static int session_negotiate(struct fuse_req *req, const struct fuse_init_in *in,
			     struct fuse_init_out *out)
{
	struct fuse_server *s = req->server;
	uint64_t guest = in->flags;
	if (in->flags & FUSE_INIT_EXT)
		guest |= (uint64_t)in->flags2 << 32;

	uint32_t minor = in->minor < VFSD_FUSE_MINOR ? in->minor :
								 VFSD_FUSE_MINOR;
	struct fs_init init = {
		.proto_minor = minor,
		.kernel_flags = guest,
		.want_flags = SERVER_INIT_FLAGS & guest,
		.max_write = s->config_max_write,
		.time_gran = 1,
	};
	if (s->ops->init) {
		int err = fs_result(s->ops->init(s->fs, &init));
		if (err)
			return err;
	}
	uint64_t want = init.want_flags & guest & (FS_ALLOWED_INIT_FLAGS | SERVER_INIT_FLAGS);
	/* flags2 and the extended init exist from 7.36 only. */
	if (minor < 36)
		want &= ~(uint64_t)FUSE_INIT_EXT;
	/* 7.36 and 7.37 append the context as one more argument, which the
	 * handlers do not read: only the 7.38 extension is understood */
	if (minor < 38)
		want &= ~(uint64_t)FUSE_SECURITY_CTX;
	uint32_t max_write = init_clamp_max_write(init.max_write, s->config_max_write);
	uint32_t time_gran = init.time_gran;
	if (time_gran == 0 || time_gran > 1000000000)
		time_gran = 1;

	out->major = FUSE_KERNEL_VERSION;
	out->minor = minor;
	out->max_readahead = in->max_readahead;
	out->flags = (uint32_t)want;
	if (want & FUSE_INIT_EXT)
		out->flags2 = (uint32_t)(want >> 32);
	out->max_background = FUSE_SERVER_MAX_BACKGROUND;
	out->congestion_threshold = FUSE_SERVER_CONGESTION_THRESHOLD;
	out->max_write = max_write;
	out->time_gran = time_gran;
	if (want & FUSE_MAX_PAGES)
		out->max_pages = (uint16_t)(max_write / 4096);
	/* A guest with DAX asks for the alignment; it is ours to give only
	 * while the frontend has a window to map into. Mappings of an
	 * earlier session are gone with it. */
	if (s->dax) {
		dax_window_reset(s->dax);
		if ((guest & FUSE_MAP_ALIGNMENT) && minor >= 31 && dax_window_size(s->dax)) {
			want |= FUSE_MAP_ALIGNMENT;
			out->flags = (uint32_t)want;
			out->map_alignment = DAX_MAP_ALIGNMENT_SHIFT;
		}
	}

	__atomic_store_n(&s->minor, minor, __ATOMIC_RELAXED);
	__atomic_store_n(&s->flags, want, __ATOMIC_RELAXED);
	__atomic_store_n(&s->max_write, max_write, __ATOMIC_RELAXED);
	return 0;
}

static int init_locked(struct fuse_req *req, const struct fuse_init_in *in)
{
	struct fuse_server *s = req->server;
	struct fuse_init_out out = { 0 };

	if (session_state(s) == FUSE_SESSION_RUNNING) {
		log_error_once("fuse: INIT on an initialised session");
		return -EPROTO;
	}
	if (in->major < FUSE_KERNEL_VERSION) {
		log_error_once("fuse: INIT: unsupported protocol major %u", in->major);
		session_set_state(s, FUSE_SESSION_DESTROYED);
		return -EPROTO;
	}
	if (in->major > FUSE_KERNEL_VERSION) {
		/* A newer guest retries with major 7 when told ours. */
		out.major = FUSE_KERNEL_VERSION;
		out.minor = VFSD_FUSE_MINOR;
		return reply_put(req, &out, FUSE_COMPAT_INIT_OUT_SIZE);
	}
	uint32_t minor = in->minor < VFSD_FUSE_MINOR ? in->minor :
								 VFSD_FUSE_MINOR;
	size_t out_size = init_out_size(minor);
	int err = reply_reserve(req, out_size);
	if (err)
		return err;
	err = session_negotiate(req, in, &out);
	if (err) {
		log_error("fuse: INIT: file system refused: %d", err);
		session_set_state(s, FUSE_SESSION_DESTROYED);
		return err;
	}
	session_set_state(s, FUSE_SESSION_RUNNING);
	log_info("fuse: session started, protocol 7.%u, flags %#llx, max_write %u", minor,
		 (unsigned long long)__atomic_load_n(&s->flags, __ATOMIC_RELAXED), out.max_write);
	return reply_put(req, &out, out_size);
}

static int do_init(struct fuse_req *req)
{
	struct fuse_init_in in = { 0 };
	int err = req_read(req, &in.major, sizeof(in.major));
	if (!err)
		err = req_read(req, &in.minor, sizeof(in.minor));
	if (err)
		return err;
	if (in.major == FUSE_KERNEL_VERSION) {
		err = init_read_rest(req, &in);
		if (err)
			return err;
	}
	pthread_mutex_lock(&req->server->init_lock);
	err = init_locked(req, &in);
	pthread_mutex_unlock(&req->server->init_lock);
	return err;
}

static int do_destroy(struct fuse_req *req)
{
	struct fuse_server *s = req->server;

	pthread_mutex_lock(&s->init_lock);
	if (s->dax)
		dax_window_reset(s->dax);
	if (s->ops->destroy)
		s->ops->destroy(s->fs);
	session_set_state(s, FUSE_SESSION_DESTROYED);
	pthread_mutex_unlock(&s->init_lock);
	log_info("fuse: session destroyed by the guest");
	return 0;
}

/* ---- live migration ---- */

void fuse_server_session_get(struct fuse_server *s, struct fuse_session_info *info)
{
	pthread_mutex_lock(&s->init_lock);
	info->state = (uint32_t)session_state(s);
	info->minor = __atomic_load_n(&s->minor, __ATOMIC_RELAXED);
	info->flags = __atomic_load_n(&s->flags, __ATOMIC_RELAXED);
	info->max_write = __atomic_load_n(&s->max_write, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&s->init_lock);
}

int fuse_server_session_set(struct fuse_server *s, const struct fuse_session_info *info)
{
	int ret = 0;

	if (info->state > FUSE_SESSION_DESTROYED)
		return -EINVAL;
	pthread_mutex_lock(&s->init_lock);
	if (info->state == FUSE_SESSION_NEW) {
		/* forget a session taken over (a load that failed after it) */
		session_set_state(s, FUSE_SESSION_NEW);
	} else if (session_state(s) != FUSE_SESSION_NEW) {
		ret = -EBUSY;
	} else if (info->state == FUSE_SESSION_RUNNING) {
		struct fs_init init = {
			.proto_minor = info->minor,
			.kernel_flags = info->flags,
			.want_flags = SERVER_INIT_FLAGS & info->flags,
			.max_write = s->config_max_write,
			.time_gran = 1,
		};
		uint64_t allowed = FS_ALLOWED_INIT_FLAGS | SERVER_INIT_FLAGS;

		if (info->minor < 6 || info->minor > VFSD_FUSE_MINOR ||
		    (info->flags & ~allowed) || info->max_write < 4096 ||
		    info->max_write > s->config_max_write)
			ret = -EINVAL;
		if (!ret && s->ops->init)
			ret = fs_result(s->ops->init(s->fs, &init));
		/* every agreed flag must be one we would agree to again */
		if (!ret && (info->flags & ~(init.want_flags & info->flags)))
			ret = -EINVAL;
		if (!ret) {
			__atomic_store_n(&s->minor, info->minor, __ATOMIC_RELAXED);
			__atomic_store_n(&s->flags, info->flags, __ATOMIC_RELAXED);
			__atomic_store_n(&s->max_write, info->max_write, __ATOMIC_RELAXED);
			session_set_state(s, FUSE_SESSION_RUNNING);
		}
	} else {
		session_set_state(s, (int)info->state);
	}
	pthread_mutex_unlock(&s->init_lock);
	return ret;
}

/* ---- dispatch ---- */

/* The header's claims against what really arrived. */
static int header_check(const struct fuse_req *req, size_t in_len)
{
	if (req->hdr.len != in_len) {
		log_error_once("fuse: %s: header len %u but %zu bytes arrived", req->opname,
			       req->hdr.len, in_len);
		return -EINVAL;
	}
	return 0;
}

static int request_serve(struct fuse_req *req, const struct fuse_opcode_info *info)
{
	if (req->hdr.opcode != FUSE_INIT) {
		if (session_state(req->server) != FUSE_SESSION_RUNNING) {
			log_error_once("fuse: %s before INIT or after DESTROY", req->opname);
			return -EIO;
		}
		session_snapshot(req);
	}
	int err = req_take_extensions(req);
	if (err)
		return err;
	if (!info || !info->handler) {
		log_debug("fuse: opcode %u (%s) not implemented", req->hdr.opcode, req->opname);
		return -ENOSYS;
	}
	return info->handler(req);
}

static size_t reply_finish(struct fuse_req *req, struct iov_cursor *hdr_cur, int err)
{
	struct fuse_out_header oh = { .unique = req->hdr.unique };
	if (err) {
		reply_log_error(req, -err);
		oh.len = sizeof(oh);
		oh.error = err;
	} else {
		oh.len = (uint32_t)(sizeof(oh) + req->payload);
	}
	iov_cursor_write(hdr_cur, &oh, sizeof(oh));
	log_trace("fuse: -> %s unique %llu error %d len %u", req->opname,
		  (unsigned long long)oh.unique, oh.error, oh.len);
	return oh.len;
}

static void req_init(struct fuse_req *req, struct fuse_server *server)
{
	req->server = server;
	req->ops = server->ops;
	req->fs = server->fs;
	req->opname = fuse_opcode_name(req->hdr.opcode);
	req->ctx.uid = req->hdr.uid;
	req->ctx.gid = req->hdr.gid;
	req->ctx.pid = (pid_t)req->hdr.pid;
	req->ctx.unique = req->hdr.unique;
}

size_t fuse_server_handle(struct fuse_server *server, const struct iovec *in,
			  unsigned in_count, const struct iovec *out, unsigned out_count)
{
	return fuse_server_handle_flags(server, in, in_count, out, out_count, 0);
}

size_t fuse_server_handle_flags(struct fuse_server *server, const struct iovec *in,
				unsigned in_count, const struct iovec *out,
				unsigned out_count, unsigned flags)
{
	struct fuse_req req = { .in_count = in_count, .out_count = out_count,
				.no_wait = (flags & FUSE_HANDLE_NO_WAIT) != 0 };
	iov_cursor_init(&req.in, in, in_count);
	iov_cursor_init(&req.out, out, out_count);
	struct iov_cursor hdr_cur = req.out;
	size_t in_len = iov_cursor_remaining(&req.in);
	size_t out_len = iov_cursor_remaining(&req.out);

	if (iov_cursor_read(&req.in, &req.hdr, sizeof(req.hdr)) < 0) {
		log_error_once("fuse: request of %zu bytes is shorter than its header", in_len);
		req.opname = "UNKNOWN";
		if (out_len < sizeof(struct fuse_out_header))
			return 0;
		return reply_finish(&req, &hdr_cur, -EINVAL);
	}
	req_init(&req, server);
	const struct fuse_opcode_info *info = opcode_info(req.hdr.opcode);
	int err = header_check(&req, in_len);

	log_trace("fuse: <- %s unique %llu nodeid %llu len %u uid %u gid %u pid %u", req.opname,
		  (unsigned long long)req.hdr.unique, (unsigned long long)req.hdr.nodeid,
		  req.hdr.len, req.hdr.uid, req.hdr.gid, req.hdr.pid);

	if (info && info->no_reply) {
		if (!err)
			request_serve(&req, info);
		req_release(&req);
		return 0;
	}
	if (out_len < sizeof(struct fuse_out_header)) {
		log_error_once("fuse: %s: reply space of %zu bytes cannot hold a header",
			       req.opname, out_len);
		return 0;
	}
	iov_cursor_skip(&req.out, sizeof(struct fuse_out_header));
	if (!err)
		err = request_serve(&req, info);
	size_t len = reply_finish(&req, &hdr_cur, err);
	req_release(&req);
	return len;
}

bool fuse_request_may_block(const struct iovec *in, unsigned in_count)
{
	struct iov_cursor cur;
	struct fuse_in_header hdr;
	iov_cursor_init(&cur, in, in_count);
	if (iov_cursor_read(&cur, &hdr, sizeof(hdr)) < 0)
		return false;

	switch (hdr.opcode) {
	case FUSE_SETLKW:
	case FUSE_FSYNC:
	case FUSE_FSYNCDIR:
	case FUSE_SYNCFS:
	case FUSE_FALLOCATE:
	case FUSE_COPY_FILE_RANGE:
	/* they wait for the VMM's answer on the backend channel */
	case FUSE_SETUPMAPPING:
	case FUSE_REMOVEMAPPING:
		return true;
	/* READ and WRITE are not here, however large: measured, handing
	 * each 128 KiB-1 MiB request to another thread cost more CPU than
	 * the I/O itself (a wake-up and often a new thread per request),
	 * and requests queued behind one are handed over anyway. */
	default:
		return false;
	}
}

bool fuse_request_may_be_slow(const struct iovec *in, unsigned in_count)
{
	struct iov_cursor cur;
	struct fuse_in_header hdr;
	struct fuse_read_in rw;	/* READ and WRITE both start fh, offset, size */

	if (fuse_request_may_block(in, in_count))
		return true;
	iov_cursor_init(&cur, in, in_count);
	if (iov_cursor_read(&cur, &hdr, sizeof(hdr)) < 0 ||
	    (hdr.opcode != FUSE_READ && hdr.opcode != FUSE_WRITE))
		return false;
	_Static_assert(offsetof(struct fuse_read_in, size) == offsetof(struct fuse_write_in, size),
		       "READ and WRITE keep size at the same place");
	if (iov_cursor_read(&cur, &rw, offsetof(struct fuse_read_in, size) + sizeof(rw.size)) < 0)
		return false;
	return rw.size >= FUSE_SLOW_IO_BYTES;
}
