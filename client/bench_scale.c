/* bench_scale.c: `virtiofs-client bench --scale`: does a daemon's cost
 * per request stay flat as what it holds grows? Three parts, each meant
 * for a fresh daemon process (memory freed by one part would hide the
 * next one's growth):
 *
 *   inodes   LOOKUP sc/n/n0000000.. up to each --scale-steps size, the
 *            references held: the cost of the LOOKUPs that add inodes
 *            ("grow"), the daemon's memory per held inode (anonymous RSS
 *            over the inodes held), then --time seconds of LOOKUPs of
 *            held names at random ("hold": lookup cost at that size)
 *   handles  per --handle-steps size: LOOKUP the names ("lookup"), then
 *            OPEN them, the handles held ("open": open cost, memory per
 *            handle = anonymous RSS added by the OPENs over the handles)
 *   list     one pass of READDIRPLUS, then one of READDIR, over a
 *            directory of each --scale-steps size (sc/d<size>, or sc/n for
 *            the largest), depth 1 as getdents, 4 KiB buffers; the
 *            entries READDIRPLUS looked up are forgotten after each reply
 *            so that the daemon holds no more than one reply's worth
 *
 * The requests of a phase are in flight at depth 16 (list: 1), one queue.
 * A phase stops at the first error (EMFILE when the daemon runs out of
 * file descriptors): "reached" tells how far it got, "error" the errno.
 * A grow or list phase that outlasts --scale-cap seconds stops there too.
 * `--setup DIR --scale all` makes the tree on the host. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench_engine.h"

#define SCALE_DEPTH 16

struct scale {
	uint64_t dirnode;
	uint64_t *nodes;        /* per name index: nodeid, 0 = not held */
	uint32_t *cnt;          /* LOOKUP references to forget */
	uint64_t *fhs;          /* handles: the open handle */
	uint8_t *opened;
	uint32_t *held;         /* indices held, for random LOOKUPs */
	uint64_t nheld;
	uint64_t next, target, count;
	bool stop;
	int err;                /* first error (negative errno) */
	bool plus;              /* list: READDIRPLUS */
	bool listed;            /* list: the pass has started */
};

static struct scale *sc_of(struct fengine *e)
{
	return e->priv;
}

/* The first error of a phase stops it. */
static int sc_fail(struct fengine *e, struct slot *s, uint32_t used)
{
	struct scale *sc = sc_of(e);
	int err = slot_err(e, s, used);

	if (err) {
		if (!sc->err)
			sc->err = err;
		sc->stop = true;
	}
	return err;
}

/* grow: LOOKUP the next name (timed); with opens, OPEN it too (timed
 * instead: the handles part's open phase). */
static int grow_start(struct fengine *e, struct slot *s)
{
	struct scale *sc = sc_of(e);
	struct rq r = { .opcode = FUSE_LOOKUP, .nodeid = sc->dirnode,
			.name = s->name, .r1 = sizeof(struct fuse_entry_out),
			.timed = true };

	if (sc->stop || sc->next >= sc->target || time_up(e))
		return 0;
	s->k = sc->next++;
	snprintf(s->name, sizeof(s->name), "n%07u", (unsigned)s->k);
	return slot_send(e, s, &r);
}

static int grow_step(struct fengine *e, struct slot *s, uint32_t used)
{
	struct scale *sc = sc_of(e);
	struct fuse_entry_out eo;

	if (sc_fail(e, s, used))
		return 0;
	memcpy(&eo, s->g + O_R1, sizeof(eo));
	sc->nodes[s->k] = eo.nodeid;
	sc->cnt[s->k]++;
	sc->count++;
	e->st.ops++;
	return 0;
}

/* hold: LOOKUP held names at random for the time given. */
static int hold_start(struct fengine *e, struct slot *s)
{
	struct scale *sc = sc_of(e);
	struct rq r = { .opcode = FUSE_LOOKUP, .nodeid = sc->dirnode,
			.name = s->name, .r1 = sizeof(struct fuse_entry_out),
			.timed = true };

	if (time_up(e) || !sc->nheld)
		return 0;
	s->k = sc->held[xorshift(&e->rnd) % sc->nheld];
	snprintf(s->name, sizeof(s->name), "n%07u", (unsigned)s->k);
	return slot_send(e, s, &r);
}

static int hold_step(struct fengine *e, struct slot *s, uint32_t used)
{
	if (slot_err(e, s, used))
		return 0;
	sc_of(e)->cnt[s->k]++;
	e->st.ops++;
	return 0;
}

/* open: OPEN the next looked-up name, the handle held. */
static int open_start(struct fengine *e, struct slot *s)
{
	struct scale *sc = sc_of(e);
	struct fuse_open_in in = { .flags = O_RDONLY };
	struct rq r = { .opcode = FUSE_OPEN, .arg = &in, .arglen = sizeof(in),
			.r1 = sizeof(struct fuse_open_out), .timed = true };

	for (;;) {
		if (sc->stop || sc->next >= sc->target || time_up(e))
			return 0;
		s->k = sc->next++;
		if (sc->nodes[s->k] && !sc->opened[s->k])
			break;
	}
	r.nodeid = sc->nodes[s->k];
	return slot_send(e, s, &r);
}

static int open_step(struct fengine *e, struct slot *s, uint32_t used)
{
	struct scale *sc = sc_of(e);
	struct fuse_open_out oo;

	if (sc_fail(e, s, used))
		return 0;
	memcpy(&oo, s->g + O_R1, sizeof(oo));
	sc->fhs[s->k] = oo.fh;
	sc->opened[s->k] = 1;
	sc->count++;
	e->st.ops++;
	return 0;
}

/* release: RELEASE every handle held (not measured). */
static int rel_start(struct fengine *e, struct slot *s)
{
	struct scale *sc = sc_of(e);
	struct fuse_release_in in = { .flags = O_RDONLY };
	struct rq r = { .opcode = FUSE_RELEASE, .arg = &in, .arglen = sizeof(in) };

	for (;;) {
		if (sc->next >= sc->target)
			return 0;
		s->k = sc->next++;
		if (sc->opened[s->k])
			break;
	}
	sc->opened[s->k] = 0;
	in.fh = sc->fhs[s->k];
	r.nodeid = sc->nodes[s->k];
	return slot_send(e, s, &r);
}

static int rel_step(struct fengine *e, struct slot *s, uint32_t used)
{
	slot_err(e, s, used);
	return 0;
}

/* list: OPENDIR, READDIR(PLUS) to the end (timed, op = entry), each
 * reply's lookups forgotten at once, RELEASEDIR. One pass. */
static int ls_readdir(struct fengine *e, struct slot *s)
{
	struct scale *sc = sc_of(e);
	struct fuse_read_in in = { .fh = s->fh, .offset = s->off, .size = PAGE,
				   .flags = O_RDONLY | O_DIRECTORY };
	struct rq r = { .opcode = sc->plus ? FUSE_READDIRPLUS : FUSE_READDIR,
			.nodeid = sc->dirnode, .arg = &in, .arglen = sizeof(in),
			.out_data = s->g + O_PAGE, .out_len = PAGE, .timed = true };

	s->state = 1;
	return slot_send(e, s, &r);
}

static int ls_start(struct fengine *e, struct slot *s)
{
	struct scale *sc = sc_of(e);
	struct fuse_open_in in = { .flags = O_RDONLY | O_DIRECTORY };
	struct rq r = { .opcode = FUSE_OPENDIR, .nodeid = sc->dirnode,
			.arg = &in, .arglen = sizeof(in),
			.r1 = sizeof(struct fuse_open_out) };

	if (sc->listed)
		return 0;
	sc->listed = true;
	s->state = 0;
	s->off = 0;
	s->nn = s->nsent = 0;
	return slot_send(e, s, &r);
}

static int ls_release(struct fengine *e, struct slot *s)
{
	struct scale *sc = sc_of(e);
	struct fuse_release_in in = { .fh = s->fh, .flags = O_RDONLY };
	struct rq r = { .opcode = FUSE_RELEASEDIR, .nodeid = sc->dirnode,
			.arg = &in, .arglen = sizeof(in) };

	s->state = 2;
	return slot_send(e, s, &r);
}

/* The next batch of this reply's lookups to forget, else the next READDIR
 * (or the end). s->k keeps "more" while the forgets go. */
static int ls_next(struct fengine *e, struct slot *s, bool more)
{
	size_t n = s->nn - s->nsent;

	s->k = more;
	if (n) {
		if (n > FORGET_BATCH)
			n = FORGET_BATCH;
		s->nsent += n;
		s->state = 3;
		return slot_forget(e, s, 0, s->nodes + s->nsent - n, n);
	}
	s->nn = s->nsent = 0;
	return more ? ls_readdir(e, s) : ls_release(e, s);
}

static int ls_step(struct fengine *e, struct slot *s, uint32_t used)
{
	struct scale *sc = sc_of(e);
	const struct fuse_out_header *oh = slot_oh(s);
	const struct fuse_dirent *d;
	const struct fuse_entry_out *eo;
	size_t pos = 0, len;
	int ret;

	switch (s->state) {
	case 0: {
		struct fuse_open_out oo;

		if (sc_fail(e, s, used))
			return 0;
		memcpy(&oo, s->g + O_R1, sizeof(oo));
		s->fh = oo.fh;
		return ls_readdir(e, s);
	}
	case 1:
		if (sc_fail(e, s, used))
			return ls_release(e, s);
		len = oh->len - sizeof(*oh);
		if (len == 0 || len > PAGE)
			return ls_release(e, s);
		while ((ret = vfs_dirent_next(s->g + O_PAGE, len, &pos, sc->plus,
					      &d, sc->plus ? &eo : NULL)) == 1) {
			s->off = d->off;
			if (is_dot(d->name, d->namelen))
				continue;
			e->st.ops++;
			sc->count++;
			if (!sc->plus || !eo->nodeid)
				continue;
			if (s->nn == s->ncap) {
				size_t cap = s->ncap ? s->ncap * 2 : 1024;
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
			return ls_next(e, s, false);
		}
		/* Past the cap: stop the pass here. */
		return ls_next(e, s, !time_up(e));
	case 2:
		slot_err(e, s, used);
		return 0;
	default:
		return ls_next(e, s, s->k);
	}
}

static const struct fwl fw_grow = { grow_start, grow_step };
static const struct fwl fw_hold = { hold_start, hold_step };
static const struct fwl fw_open = { open_start, open_step };
static const struct fwl fw_rel = { rel_start, rel_step };
static const struct fwl fw_list = { ls_start, ls_step };

/* ---- the parts ---- */

struct mem {
	uint64_t rss, anon;     /* KiB */
};

static struct mem mem_now(struct fengine *e)
{
	struct mem m = { 0, 0 };

	if (proc_rss_kib(e->b->pid, &m.rss, &m.anon))
		m.rss = m.anon = 0;
	return m;
}

/* One line of text and one JSON object. per_item: bytes of anonymous
 * memory per item, <0 when not measured. */
static void scale_print(struct fengine *e, const char *part, const char *phase,
			uint64_t size, uint64_t reached, struct stats *st,
			struct mem m, double per_item, int err)
{
	const struct bench *b = e->b;
	double ops_s = st->secs > 0 ? (double)st->ops / st->secs : 0;
	double cpu_op = st->cpu_us >= 0 && st->ops ? st->cpu_us / (double)st->ops : -1;
	double p50, p99;
	FILE *f;

	qsort(st->lat, st->nlat, sizeof(*st->lat), cmp_u64);
	p50 = pct_us(st, 50);
	p99 = pct_us(st, 99);
	printf("%-8s %-8s %-12s size %8" PRIu64 " reached %8" PRIu64
	       " %10.0f ops/s p50 %8.1f us p99 %8.1f us cpu %7.2f us/op"
	       " rss %7.1f MiB anon %7.1f MiB",
	       b->label, part, phase, size, reached, ops_s, p50, p99, cpu_op,
	       (double)m.rss / 1024, (double)m.anon / 1024);
	if (per_item >= 0)
		printf(" %6.0f B/item", per_item);
	if (err)
		printf(" stopped: %s", strerror(-err));
	printf("\n");
	fflush(stdout);
	if (!b->json)
		return;
	f = fopen(b->json, "a");
	if (!f) {
		fprintf(stderr, PROG ": %s: %s\n", b->json, strerror(errno));
		return;
	}
	fprintf(f, "{\"daemon\":\"%s\",\"scale\":\"%s\",\"phase\":\"%s\","
		"\"size\":%" PRIu64 ",\"reached\":%" PRIu64 ",\"round\":%d,"
		"\"ops\":%" PRIu64 ",\"secs\":%.6f,\"ops_s\":%.3f,\"p50_us\":%.3f,"
		"\"p99_us\":%.3f,\"cpu_us\":%.1f,\"cpu_us_op\":%.4f,"
		"\"rss_kib\":%" PRIu64 ",\"anon_kib\":%" PRIu64 ","
		"\"bytes_per_item\":%.1f,\"errors\":%" PRIu64 ",\"error\":\"%s\"}\n",
		b->label, part, phase, size, reached, b->round, st->ops, st->secs,
		ops_s, p50, p99, st->cpu_us, cpu_op, m.rss, m.anon, per_item,
		st->errors, err ? strerror(-err) : "");
	fclose(f);
}

/* Run one phase: fresh figures, then f_run at depth. */
static int phase(struct fengine *e, const struct fwl *w, unsigned depth,
		 double secs)
{
	double keep = e->b->secs;
	int err;

	free(e->st.lat);
	memset(&e->st, 0, sizeof(e->st));
	e->depth = depth;
	e->rr = 0;
	e->b->secs = secs;
	err = f_run(e, w);
	e->b->secs = keep;
	return err;
}

static void forget_all(struct fengine *e, uint64_t n)
{
	struct scale *sc = sc_of(e);
	struct fuse_forget_one items[FORGET_BATCH];
	unsigned k = 0;
	uint64_t i;

	for (i = 0; i < n; i++) {
		if (!sc->nodes[i])
			continue;
		items[k].nodeid = sc->nodes[i];
		items[k++].nlookup = sc->cnt[i];
		sc->nodes[i] = 0;
		sc->cnt[i] = 0;
		if (k == FORGET_BATCH) {
			vfs_batch_forget(e->c, items, k);
			k = 0;
		}
	}
	if (k)
		vfs_batch_forget(e->c, items, k);
}

static unsigned max_step(const unsigned *steps, unsigned n)
{
	unsigned i, m = 0;

	for (i = 0; i < n; i++)
		if (steps[i] > m)
			m = steps[i];
	return m;
}

unsigned scale_tree_size(const struct bench *b)
{
	unsigned n = max_step(b->scale_steps, b->nscale_steps);
	unsigned h = max_step(b->handle_steps, b->nhandle_steps);

	return h > n ? h : n;
}

static int part_inodes(struct fengine *e)
{
	struct bench *b = e->b;
	struct scale *sc = sc_of(e);
	struct mem m0 = mem_now(e), m;
	unsigned i;
	int err = 0;

	for (i = 0; i < b->nscale_steps && !sc->stop; i++) {
		uint64_t k;
		double per;

		sc->target = b->scale_steps[i];
		err = phase(e, &fw_grow, SCALE_DEPTH, b->scale_cap);
		if (err)
			break;
		if (sc->next < sc->target && !sc->stop) {
			/* out of time: the step is cut short */
			sc->stop = true;
			sc->err = -ETIME;
		}
		m = mem_now(e);
		per = sc->count && m0.anon ? ((double)m.anon - (double)m0.anon) * 1024 /
			(double)sc->count : -1;
		scale_print(e, "inodes", "grow", sc->target, sc->count, &e->st, m,
			    per, sc->err);
		/* Headroom: a daemon out of file descriptors fails LOOKUPs of
		 * held names too (they open before they find). */
		if (sc->stop) {
			uint64_t back = 0;

			for (k = sc->next; k-- > 0 && back < 64;) {
				if (!sc->nodes[k])
					continue;
				vfs_forget(e->c, sc->nodes[k], sc->cnt[k]);
				sc->nodes[k] = 0;
				sc->cnt[k] = 0;
				sc->count--;
				back++;
			}
		}
		sc->nheld = 0;
		for (k = 0; k < sc->next; k++)
			if (sc->nodes[k])
				sc->held[sc->nheld++] = (uint32_t)k;
		err = phase(e, &fw_hold, SCALE_DEPTH, b->secs);
		if (err)
			break;
		scale_print(e, "inodes", "hold", sc->target, sc->nheld, &e->st,
			    mem_now(e), -1, 0);
	}
	forget_all(e, sc->next);
	return err;
}

static int part_handles(struct fengine *e)
{
	struct bench *b = e->b;
	struct scale *sc = sc_of(e);
	unsigned i;
	uint64_t opened = 0, from;
	struct mem ml, mo = mem_now(e);
	double anon_open = 0;
	int err = 0;

	for (i = 0; i < b->nhandle_steps && !sc->stop; i++) {
		double per;

		sc->target = b->handle_steps[i];
		from = sc->next;
		sc->count = 0;
		err = phase(e, &fw_grow, SCALE_DEPTH, b->scale_cap);
		if (err)
			break;
		ml = mem_now(e);
		scale_print(e, "handles", "lookup", sc->target, from + sc->count,
			    &e->st, ml, -1, sc->err);
		/* open what this step looked up; a failed LOOKUP stops the
		 * step's opens at what it got */
		sc->stop = false;
		sc->next = from;
		sc->count = 0;
		err = phase(e, &fw_open, SCALE_DEPTH, b->scale_cap);
		if (err)
			break;
		if (sc->next < sc->target && !sc->stop && !sc->err) {
			sc->stop = true;
			sc->err = -ETIME;
		}
		mo = mem_now(e);
		opened += sc->count;
		if (ml.anon && mo.anon)
			anon_open += ((double)mo.anon - (double)ml.anon) * 1024;
		per = opened ? anon_open / (double)opened : -1;
		scale_print(e, "handles", "open", sc->target, opened, &e->st, mo,
			    per, sc->err);
		if (sc->err)
			sc->stop = true;
		sc->next = sc->target;
	}
	sc->target = sc->next;
	sc->next = 0;
	phase(e, &fw_rel, SCALE_DEPTH, 0);
	forget_all(e, sc->target);
	return err;
}

static int part_list(struct fengine *e)
{
	struct bench *b = e->b;
	struct scale *sc = sc_of(e);
	unsigned big = scale_tree_size(b);
	unsigned i, p;
	int err = 0;

	for (i = 0; i < b->nscale_steps; i++) {
		char path[64];
		struct fuse_attr a;

		if (b->scale_steps[i] == big)
			snprintf(path, sizeof(path), "/sc/n");
		else
			snprintf(path, sizeof(path), "/sc/d%u", b->scale_steps[i]);
		err = vfs_resolve(e->c, path, &sc->dirnode, &a);
		if (err) {
			fprintf(stderr, PROG ": %s: %s (run --setup --scale)\n", path,
				strerror(-err));
			return err;
		}
		for (p = 0; p < 2; p++) {
			sc->plus = p == 0;
			sc->listed = false;
			sc->count = 0;
			sc->err = 0;
			sc->stop = false;
			err = phase(e, &fw_list, 1, b->scale_cap);
			if (err)
				break;
			if (!sc->err && sc->count < b->scale_steps[i])
				sc->err = -ETIME;
			scale_print(e, "list", sc->plus ? "readdirplus" : "readdir",
				    b->scale_steps[i], sc->count, &e->st, mem_now(e),
				    -1, sc->err);
		}
		vfs_put(e->c, sc->dirnode);
		if (err)
			break;
	}
	return err;
}

int run_scale(struct bench *b)
{
	uint64_t n = scale_tree_size(b);
	struct scale sc = { 0 };
	struct fengine *e;
	struct fuse_attr a;
	int err, rc = 0;

	e = fengine_open(b, 64 * MIB);
	if (!e)
		return 1;
	e->priv = &sc;
	e->rnd = 0x9e3779b97f4a7c15ull;
	e->depth = SCALE_DEPTH;
	sc.nodes = calloc(n, sizeof(*sc.nodes));
	sc.cnt = calloc(n, sizeof(*sc.cnt));
	sc.held = calloc(n, sizeof(*sc.held));
	sc.fhs = calloc(n, sizeof(*sc.fhs));
	sc.opened = calloc(n, 1);
	err = -ENOMEM;
	if (sc.nodes && sc.cnt && sc.held && sc.fhs && sc.opened)
		err = slots_alloc(e, PAGE);
	if (err)
		goto out;
	if (b->scale_parts & (SCALE_INODES | SCALE_HANDLES)) {
		err = vfs_resolve(e->c, "/sc/n", &sc.dirnode, &a);
		if (err) {
			fprintf(stderr, PROG ": /sc/n: %s (run --setup --scale)\n",
				strerror(-err));
			goto out;
		}
	}
	if (b->scale_parts & SCALE_INODES)
		err = part_inodes(e);
	if (!err && (b->scale_parts & SCALE_HANDLES)) {
		sc.next = sc.count = 0;
		sc.stop = false;
		sc.err = 0;
		err = part_handles(e);
	}
	if (sc.dirnode)
		vfs_put(e->c, sc.dirnode);
	if (!err && (b->scale_parts & SCALE_LIST))
		err = part_list(e);
out:
	if (err) {
		fprintf(stderr, PROG ": scale: %s\n", strerror(-err));
		rc = 1;
	}
	e->depth = SCALE_DEPTH;
	slots_free(e);
	free(e->st.lat);
	free(sc.nodes);
	free(sc.cnt);
	free(sc.held);
	free(sc.fhs);
	free(sc.opened);
	fengine_close(e);
	return rc;
}

/* ---- the tree, on the host ---- */

static int make_files(int root, const char *sub, char prefix, unsigned count)
{
	char name[32];
	unsigned i;
	int d, fd;

	if (mkdirat(root, sub, 0755) < 0 && errno != EEXIST)
		return -errno;
	d = openat(root, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d < 0)
		return -errno;
	for (i = 0; i < count; i++) {
		snprintf(name, sizeof(name), "%c%07u", prefix, i);
		fd = openat(d, name, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0) {
			int err = -errno;

			close(d);
			return err;
		}
		close(fd);
	}
	close(d);
	return 0;
}

int scale_setup(struct bench *b, int dfd)
{
	unsigned n = scale_tree_size(b);
	char sub[32];
	unsigned i;
	int err;

	if (mkdirat(dfd, "sc", 0755) < 0 && errno != EEXIST)
		return -errno;
	err = make_files(dfd, "sc/n", 'n', n);
	for (i = 0; i < b->nscale_steps && !err; i++) {
		if (b->scale_steps[i] == n)
			continue;
		snprintf(sub, sizeof(sub), "sc/d%u", b->scale_steps[i]);
		err = make_files(dfd, sub, 'e', b->scale_steps[i]);
	}
	return err;
}
