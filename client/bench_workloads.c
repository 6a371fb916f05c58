/* bench_workloads.c: the FUSE workloads of `virtiofs-client bench` and
 * the run against one daemon (see bench.c for what each one does). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench_engine.h"

/* getattr: GETATTR of held nodes; lookup: LOOKUP of their names (each
 * adds a reference, all forgotten at the end), round robin. */
static int lk_start(struct fengine *e, struct slot *s)
{
	if (time_up(e))
		return 0;
	s->k = e->seq++ % e->nfiles;
	s->state = e->wl == WL_LOOKUP ? 0 : 1;
	if (s->state == 0) {
		struct rq r = { .opcode = FUSE_LOOKUP, .nodeid = e->dirnode,
				.name = s->name, .r1 = sizeof(struct fuse_entry_out),
				.timed = true };

		snprintf(s->name, sizeof(s->name), "f%05u", (unsigned)s->k);
		return slot_send(e, s, &r);
	} else {
		struct fuse_getattr_in in = { 0 };
		struct rq r = { .opcode = FUSE_GETATTR, .nodeid = e->fnodes[s->k],
				.arg = &in, .arglen = sizeof(in),
				.r1 = sizeof(struct fuse_attr_out), .timed = true };

		return slot_send(e, s, &r);
	}
}

static int lk_step(struct fengine *e, struct slot *s, uint32_t used)
{
	if (slot_err(e, s, used))
		return 0;
	e->st.ops++;
	e->st.units++;
	if (s->state == 0)
		e->counts[s->k]++;
	return 0;
}

/* create: CREATE (the op, timed), RELEASE, FORGET; the files stay until
 * the cleanup after the measurement, which UNLINKs them all. */
static int cr_start(struct fengine *e, struct slot *s)
{
	struct fuse_create_in in = {
		.flags = O_WRONLY | O_CREAT | O_EXCL, .mode = S_IFREG | 0644,
		.umask = 022,
	};
	struct rq r = { .opcode = FUSE_CREATE, .nodeid = e->dirnode,
			.arg = &in, .arglen = sizeof(in), .name = s->name,
			.r1 = sizeof(struct fuse_entry_out),
			.r2 = sizeof(struct fuse_open_out), .timed = true };

	if (time_up(e))
		return 0;
	snprintf(s->name, sizeof(s->name), "c%" PRIu64, e->seq++);
	s->state = 0;
	return slot_send(e, s, &r);
}

static int cr_step(struct fengine *e, struct slot *s, uint32_t used)
{
	switch (s->state) {
	case 0: {
		struct fuse_entry_out eo;
		struct fuse_open_out oo;
		struct fuse_release_in in = { .flags = O_WRONLY };
		struct rq r = { .opcode = FUSE_RELEASE, .arg = &in,
				.arglen = sizeof(in) };

		if (slot_err(e, s, used))
			return 0;
		e->st.ops++;
		memcpy(&eo, s->g + O_R1, sizeof(eo));
		memcpy(&oo, s->g + O_R2, sizeof(oo));
		s->nodeid = eo.nodeid;
		in.fh = oo.fh;
		r.nodeid = s->nodeid;
		s->state = 1;
		return slot_send(e, s, &r);
	}
	case 1:
		slot_err(e, s, used);
		s->state = 2;
		return slot_forget(e, s, s->nodeid, NULL, 0);
	default:
		e->st.units++;
		return 0;
	}
}

/* The cleanup after create (not measured): LOOKUP, UNLINK, FORGET of
 * c0 .. c<seq-1>, as Linux does (QEMU's daemon refuses to UNLINK a name
 * whose inode it does not hold). */
static int cu_start(struct fengine *e, struct slot *s)
{
	struct rq r = { .opcode = FUSE_LOOKUP, .nodeid = e->dirnode,
			.name = s->name, .r1 = sizeof(struct fuse_entry_out) };

	if (e->k >= e->seq)
		return 0;
	snprintf(s->name, sizeof(s->name), "c%" PRIu64, e->k++);
	s->state = 0;
	return slot_send(e, s, &r);
}

static int cu_step(struct fengine *e, struct slot *s, uint32_t used)
{
	const struct fuse_out_header *oh = slot_oh(s);
	struct fuse_entry_out eo;

	if (s->state < 2 && (used < sizeof(*oh) || oh->error)) {
		if (e->b->verbose)
			fprintf(stderr, PROG ": cleanup: %s %s: error %d\n",
				s->state ? "unlink" : "lookup", s->name, oh->error);
		if (s->state == 0)
			return 0;
	}
	switch (s->state) {
	case 0: {
		struct rq r = { .opcode = FUSE_UNLINK, .nodeid = e->dirnode,
				.name = s->name };

		memcpy(&eo, s->g + O_R1, sizeof(eo));
		s->nodeid = eo.nodeid;
		s->state = 1;
		return slot_send(e, s, &r);
	}
	case 1:
		s->state = 2;
		return slot_forget(e, s, s->nodeid, NULL, 0);
	default:
		return 0;
	}
}

static const struct fwl create_cleanup = { cu_start, cu_step };

/* smallfile: CREATE, WRITE 4 KiB, RELEASE, UNLINK, FORGET. */
static int sf_start(struct fengine *e, struct slot *s)
{
	struct fuse_create_in in = {
		.flags = O_WRONLY | O_CREAT | O_EXCL, .mode = S_IFREG | 0644,
		.umask = 022,
	};
	struct rq r = { .opcode = FUSE_CREATE, .nodeid = e->dirnode,
			.arg = &in, .arglen = sizeof(in), .name = s->name,
			.r1 = sizeof(struct fuse_entry_out),
			.r2 = sizeof(struct fuse_open_out), .timed = true };

	if (time_up(e))
		return 0;
	snprintf(s->name, sizeof(s->name), "s%u-%" PRIu64, s->idx, e->seq++);
	s->state = 0;
	return slot_send(e, s, &r);
}

static int sf_step(struct fengine *e, struct slot *s, uint32_t used)
{
	int err = s->state < 4 ? slot_err(e, s, used) : 0;

	if (!err && s->state < 4)
		e->st.ops++;
	switch (s->state) {
	case 0: {
		struct fuse_entry_out eo;
		struct fuse_open_out oo;
		struct fuse_write_in in = { .size = PAGE, .flags = O_WRONLY };
		struct rq r = { .opcode = FUSE_WRITE, .arg = &in,
				.arglen = sizeof(in), .in_data = s->data,
				.in_len = PAGE, .r1 = sizeof(struct fuse_write_out),
				.timed = true };

		if (err)
			return 0;
		memcpy(&eo, s->g + O_R1, sizeof(eo));
		memcpy(&oo, s->g + O_R2, sizeof(oo));
		s->nodeid = eo.nodeid;
		s->fh = oo.fh;
		in.fh = s->fh;
		r.nodeid = s->nodeid;
		s->state = 1;
		return slot_send(e, s, &r);
	}
	case 1: {
		struct fuse_release_in in = { .fh = s->fh, .flags = O_WRONLY };
		struct rq r = { .opcode = FUSE_RELEASE, .nodeid = s->nodeid,
				.arg = &in, .arglen = sizeof(in), .timed = true };

		if (!err)
			e->st.bytes += PAGE;
		s->state = 2;
		return slot_send(e, s, &r);
	}
	case 2: {
		struct rq r = { .opcode = FUSE_UNLINK, .nodeid = e->dirnode,
				.name = s->name, .timed = true };

		s->state = 3;
		return slot_send(e, s, &r);
	}
	case 3:
		s->state = 4;
		return slot_forget(e, s, s->nodeid, NULL, 0);
	default:
		e->st.units++;
		return 0;
	}
}

/* readdirplus, readdir: one pass over the directory per unit. */
static int rd_readdir(struct fengine *e, struct slot *s)
{
	struct fuse_read_in in = { .fh = s->fh, .offset = s->off, .size = PAGE,
				   .flags = O_RDONLY | O_DIRECTORY };
	struct rq r = { .opcode = e->wl == WL_READDIR ? FUSE_READDIR : FUSE_READDIRPLUS,
			.nodeid = e->dirnode,
			.arg = &in, .arglen = sizeof(in),
			.out_data = s->g + O_PAGE, .out_len = PAGE, .timed = true };

	s->state = 1;
	return slot_send(e, s, &r);
}

static int rd_start(struct fengine *e, struct slot *s)
{
	struct fuse_open_in in = { .flags = O_RDONLY | O_DIRECTORY };
	struct rq r = { .opcode = FUSE_OPENDIR, .nodeid = e->dirnode,
			.arg = &in, .arglen = sizeof(in),
			.r1 = sizeof(struct fuse_open_out) };

	if (time_up(e))
		return 0;
	s->state = 0;
	s->nn = s->nsent = 0;
	s->off = 0;
	return slot_send(e, s, &r);
}

static int rd_forget_next(struct fengine *e, struct slot *s)
{
	size_t n = s->nn - s->nsent;

	if (n == 0) {
		e->st.units++;
		return 0;
	}
	if (n > FORGET_BATCH)
		n = FORGET_BATCH;
	s->state = 3;
	s->nsent += n;
	return slot_forget(e, s, 0, s->nodes + s->nsent - n, n);
}

static int rd_release(struct fengine *e, struct slot *s)
{
	struct fuse_release_in in = { .fh = s->fh, .flags = O_RDONLY };
	struct rq r = { .opcode = FUSE_RELEASEDIR, .nodeid = e->dirnode,
			.arg = &in, .arglen = sizeof(in) };

	s->state = 2;
	return slot_send(e, s, &r);
}

static int rd_step(struct fengine *e, struct slot *s, uint32_t used)
{
	const struct fuse_out_header *oh = slot_oh(s);
	const struct fuse_dirent *d;
	const struct fuse_entry_out *eo;
	bool plus = e->wl == WL_READDIRPLUS;
	size_t pos = 0, len;
	int ret;

	switch (s->state) {
	case 0: {
		struct fuse_open_out oo;

		if (slot_err(e, s, used))
			return 0;
		memcpy(&oo, s->g + O_R1, sizeof(oo));
		s->fh = oo.fh;
		return rd_readdir(e, s);
	}
	case 1:
		if (slot_err(e, s, used))
			return rd_release(e, s);
		len = oh->len - sizeof(*oh);
		if (len == 0 || len > PAGE)
			return rd_release(e, s);
		while ((ret = vfs_dirent_next(s->g + O_PAGE, len, &pos, plus,
					      &d, plus ? &eo : NULL)) == 1) {
			s->off = d->off;
			if (is_dot(d->name, d->namelen))
				continue;
			e->st.ops++;
			if (!plus || !eo->nodeid)
				continue;
			if (s->nn == s->ncap) {
				size_t cap = s->ncap ? s->ncap * 2 : 16384;
				uint64_t *p = realloc(s->nodes, cap * sizeof(*p));

				if (!p)
					return -ENOMEM;
				s->nodes = p;
				s->ncap = cap;
			}
			s->nodes[s->nn++] = eo->nodeid;
		}
		if (ret < 0) {
			e->st.errors++;
			return rd_release(e, s);
		}
		/* Out of time: stop the pass early, as a reader that stops
		 * before the end would (RELEASEDIR and FORGETs still run). */
		if (time_up(e))
			return rd_release(e, s);
		return rd_readdir(e, s);
	case 2:
		slot_err(e, s, used);
		return rd_forget_next(e, s);
	default:
		return rd_forget_next(e, s);
	}
}

/* seqread / seqwrite / randread / reread */
static int io_start(struct fengine *e, struct slot *s)
{
	bool rnd = e->wl == WL_RANDREAD;
	size_t size = rnd ? PAGE : e->chunk;
	uint64_t off;

	if (rnd) {
		if (time_up(e))
			return 0;
		off = (xorshift(&e->rnd) % (e->fsize / PAGE)) * PAGE;
	} else if (e->wl == WL_REREAD) {
		uint64_t hot = e->fsize < REREAD_HOT ? e->fsize : REREAD_HOT;

		if (time_up(e) || hot < e->chunk)
			return 0;
		off = (e->seq++ % (hot / e->chunk)) * e->chunk;
	} else {
		if (e->seq >= e->limit)
			return 0;
		off = e->seq++ * e->chunk;
	}
	if (e->wl == WL_SEQWRITE) {
		struct fuse_write_in in = { .fh = e->fh, .offset = off,
					    .size = (uint32_t)size,
					    .flags = O_WRONLY };
		struct rq r = { .opcode = FUSE_WRITE, .nodeid = e->dirnode,
				.arg = &in, .arglen = sizeof(in),
				.in_data = s->data, .in_len = size,
				.r1 = sizeof(struct fuse_write_out), .timed = true };

		return slot_send(e, s, &r);
	} else {
		struct fuse_read_in in = { .fh = e->fh, .offset = off,
					   .size = (uint32_t)size,
					   .flags = O_RDONLY };
		struct rq r = { .opcode = FUSE_READ, .nodeid = e->dirnode,
				.arg = &in, .arglen = sizeof(in),
				.out_data = s->data, .out_len = size, .timed = true };

		return slot_send(e, s, &r);
	}
}

static int io_step(struct fengine *e, struct slot *s, uint32_t used)
{
	const struct fuse_out_header *oh = slot_oh(s);

	if (slot_err(e, s, used))
		return 0;
	e->st.units++;
	if (e->wl == WL_RANDREAD)
		e->st.ops++;
	if (e->wl == WL_SEQWRITE) {
		struct fuse_write_out wo;

		memcpy(&wo, s->g + O_R1, sizeof(wo));
		e->st.bytes += wo.size;
	} else {
		e->st.bytes += oh->len - sizeof(*oh);
	}
	if (e->wl != WL_RANDREAD)
		e->st.ops = e->st.bytes / MIB;
	return 0;
}

static const struct fwl fwls[WL_COUNT] = {
	[WL_GETATTR] = { lk_start, lk_step },
	[WL_LOOKUP] = { lk_start, lk_step },
	[WL_CREATE] = { cr_start, cr_step },
	[WL_SMALL] = { sf_start, sf_step },
	[WL_READDIRPLUS] = { rd_start, rd_step },
	[WL_READDIR] = { rd_start, rd_step },
	[WL_SEQREAD] = { io_start, io_step },
	[WL_SEQWRITE] = { io_start, io_step },
	[WL_RANDREAD] = { io_start, io_step },
	[WL_REREAD] = { io_start, io_step },
};

/* ---- unmeasured preparation through the daemon ---- */

static int fuse_touch(struct vfs_client *c, uint64_t dir, const char *name,
		      const void *data, uint64_t size)
{
	struct fuse_entry_out eo;
	struct fuse_open_out oo;
	uint64_t off;
	int err;

	err = vfs_create(c, dir, name, O_WRONLY | O_CREAT | O_TRUNC, S_IFREG | 0644,
			 022, &eo, &oo);
	if (err)
		return err;
	for (off = 0; off < size && !err; off += MIB) {
		size_t n = size - off < MIB ? (size_t)(size - off) : MIB;
		ssize_t w = vfs_write(c, eo.nodeid, oo.fh, off, data, n, 0);

		err = w < 0 ? (int)w : 0;
	}
	vfs_release(c, eo.nodeid, oo.fh, O_WRONLY);
	vfs_put(c, eo.nodeid);
	return err;
}

/* Look name up in the root, creating it (and its contents) if absent. */
static int fuse_prepare(struct fengine *e, const char *name, enum wl w,
			uint64_t *nodeid, struct fuse_attr *attr)
{
	struct vfs_client *c = e->c;
	struct fuse_entry_out eo;
	char path[32];
	unsigned i, n;
	int err;

	snprintf(path, sizeof(path), "/%s", name);
	err = vfs_resolve(c, path, nodeid, attr);
	if (err != -ENOENT)
		return err;
	fprintf(stderr, PROG ": creating /%s through the daemon\n", name);
	if (w == WL_SEQREAD) {
		uint8_t *buf = malloc(MIB);

		if (!buf)
			return -ENOMEM;
		memset(buf, 0x5a, MIB);
		err = fuse_touch(c, FUSE_ROOT_ID, name, buf, e->b->file_size);
		free(buf);
	} else {
		err = vfs_mkdir(c, FUSE_ROOT_ID, name, 0755, 022, &eo);
		n = w == WL_LOOKUP ? e->b->lookup_files : e->b->dir_entries;
		for (i = 0; i < n && !err; i++) {
			char fn[16];

			snprintf(fn, sizeof(fn), "%c%05u", w == WL_LOOKUP ? 'f' : 'e', i);
			err = fuse_touch(c, eo.nodeid, fn, NULL, 0);
		}
		if (!err)
			vfs_put(c, eo.nodeid);
	}
	if (err)
		return err;
	return vfs_resolve(c, path, nodeid, attr);
}

static int lk_pre(struct fengine *e)
{
	struct fuse_attr a;
	unsigned i;
	int err;

	err = fuse_prepare(e, "lk", WL_LOOKUP, &e->dirnode, &a);
	if (err)
		return err;
	e->nfiles = e->b->lookup_files;
	e->fnodes = calloc(e->nfiles, sizeof(*e->fnodes));
	e->counts = calloc(e->nfiles, sizeof(*e->counts));
	if (!e->fnodes || !e->counts)
		return -ENOMEM;
	for (i = 0; i < e->nfiles; i++) {
		struct fuse_entry_out eo;
		char fn[16];

		snprintf(fn, sizeof(fn), "f%05u", i);
		err = vfs_lookup(e->c, e->dirnode, fn, &eo);
		if (err)
			return err;
		e->fnodes[i] = eo.nodeid;
		e->counts[i] = 1;
	}
	return 0;
}

static void lk_post(struct fengine *e)
{
	struct fuse_forget_one items[FORGET_BATCH];
	unsigned i, n = 0;

	for (i = 0; i < e->nfiles; i++) {
		if (!e->fnodes[i])
			continue;
		items[n].nodeid = e->fnodes[i];
		items[n++].nlookup = e->counts[i];
		if (n == FORGET_BATCH || i + 1 == e->nfiles) {
			vfs_batch_forget(e->c, items, n);
			n = 0;
		}
	}
	if (n)
		vfs_batch_forget(e->c, items, n);
	free(e->fnodes);
	free(e->counts);
	e->fnodes = NULL;
	e->counts = NULL;
}

static int f_workload(struct fengine *e, enum wl w, unsigned depth)
{
	struct vfs_client *c = e->c;
	struct fuse_attr a;
	struct fuse_open_out oo;
	char dname[64];
	int err = 0, err2;
	bool opened = false;

	memset(&e->st, 0, sizeof(e->st));
	e->wl = w;
	e->depth = depth;
	e->seq = 0;
	e->rr = 0;
	e->rnd = 0x9e3779b97f4a7c15ull ^ (uint64_t)depth;
	err = slots_alloc(e, (w == WL_SEQREAD || w == WL_SEQWRITE || w == WL_REREAD) ?
				     e->chunk : PAGE);
	if (err)
		goto out;
	switch (w) {
	case WL_GETATTR:
	case WL_LOOKUP:
		err = lk_pre(e);
		break;
	case WL_CREATE:
	case WL_SMALL:
		snprintf(dname, sizeof(dname), "sf.%d.%d.%u.%ld", (int)getpid(),
			 e->b->round, depth, (long)(now_ns() % 1000000));
		{
			struct fuse_entry_out eo;

			err = vfs_mkdir(c, FUSE_ROOT_ID, dname, 0755, 022, &eo);
			e->dirnode = eo.nodeid;
		}
		break;
	case WL_READDIRPLUS:
	case WL_READDIR:
		err = fuse_prepare(e, "rd", WL_READDIR, &e->dirnode, &a);
		break;
	default:
		err = fuse_prepare(e, "big", WL_SEQREAD, &e->dirnode, &a);
		if (err)
			break;
		e->fsize = a.size < e->b->file_size ? a.size : e->b->file_size;
		e->limit = e->fsize / e->chunk;
		if (e->fsize < PAGE) {
			err = -EINVAL;
			break;
		}
		err = vfs_open(c, e->dirnode, w == WL_SEQWRITE ? O_WRONLY : O_RDONLY, &oo);
		e->fh = oo.fh;
		opened = !err;
		break;
	}
	if (!err)
		err = f_run(e, &fwls[w]);
	if (!err)
		result_print(e->b, w, depth, &e->st);
	if (w == WL_CREATE && e->dirnode && e->seq) {
		/* UNLINK what was created, errors ignored (a failed CREATE
		 * left nothing): not measured. */
		e->k = 0;
		err2 = f_run(e, &create_cleanup);
		if (err2 && !err)
			err = err2;
	}
	if ((w == WL_LOOKUP || w == WL_GETATTR) && e->fnodes)
		lk_post(e);
	if (opened)
		vfs_release(c, e->dirnode, e->fh, w == WL_SEQWRITE ? O_WRONLY : O_RDONLY);
	if ((w == WL_SMALL || w == WL_CREATE) && e->dirnode) {
		err2 = vfs_rmdir(c, FUSE_ROOT_ID, dname);
		if (err2 && !err)
			fprintf(stderr, PROG ": rmdir %s: %s\n", dname, strerror(-err2));
	}
	if (e->dirnode)
		vfs_put(c, e->dirnode);
	e->dirnode = 0;
out:
	slots_free(e);
	free(e->st.lat);
	e->st.lat = NULL;
	if (err)
		fprintf(stderr, PROG ": %s at depth %u: %s\n", wl_names[w], depth,
			strerror(-err));
	return err;
}

static unsigned max_depth(const struct bench *b)
{
	unsigned i, m = 1;

	for (i = 0; i < b->ndepths; i++)
		if (b->depths[i] > m)
			m = b->depths[i];
	return m;
}

int run_fuse(struct bench *b)
{
	struct fengine *e;
	struct vfs_client *c;
	unsigned i, d;
	int err = 0, rc = 0;

	e = fengine_open(b, (size_t)max_depth(b) * (MIB + 2 * CTRL_SIZE) + 64 * MIB);
	if (!e)
		return 1;
	c = e->c;
	if (!(vfs_client_init_out(c)->flags & FUSE_DO_READDIRPLUS))
		fprintf(stderr, PROG ": daemon did not enable READDIRPLUS\n");
	for (i = 0; i < WL_COUNT; i++) {
		if (!(b->wl_mask & (1u << i)))
			continue;
		for (d = 0; d < b->ndepths; d++) {
			err = f_workload(e, (enum wl)i, b->depths[d]);
			if (err)
				rc = 1;
			if (err == -ENOTCONN || err == -ETIMEDOUT || err == -EIO)
				goto out;
		}
	}
out:
	fengine_close(e);
	return rc;
}
