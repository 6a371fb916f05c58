/* bench.c: `virtiofs-client bench`, a benchmark of one vhost-user-fs
 * daemon (or of plain syscalls on a host directory, --native).
 *
 * Requests are laid out as Linux lays them out (in header, one descriptor
 * per argument, data cut at 4 KiB; out header, one per reply argument,
 * data pages; FORGETs in one descriptor on the hiprio queue). To keep
 * the client's own cost out of the figures the bench drives the rings
 * itself (vfs_internal.h): every in-flight slot owns fixed guest buffers,
 * nothing is copied or allocated per request but the indirect table.
 *
 * Workloads (ops are what ops/s, latency and CPU/op count):
 *   getattr      GETATTR of 1000 looked-up files, round robin (op = request)
 *   lookup       LOOKUP of the same 1000 names (op = request; the
 *                references are forgotten in one batch at the end)
 *   create       CREATE in a fresh directory (op = CREATE, the only request
 *                timed), then RELEASE and FORGET (in the daemon's CPU);
 *                the files are UNLINKed after the measurement
 *   smallfile    CREATE, WRITE 4 KiB, RELEASE, UNLINK (+FORGET, not counted)
 *                in a fresh directory (op = request)
 *   readdirplus  OPENDIR, READDIRPLUS (4 KiB buffers, as Linux) to the end,
 *                RELEASEDIR, BATCH_FORGET of the entries (op = entry;
 *                latency is per READDIRPLUS request; a pass still going
 *                when the time is up stops early)
 *   readdir      the same with READDIR (no lookups, nothing to forget)
 *   seqread      1 MiB READs over the whole file once (op = MiB; requests
 *                are smaller when the daemon caps max_write/max_pages)
 *   seqwrite     1 MiB WRITEs over the whole file once (op = MiB)
 *   randread     4 KiB READs at random offsets (op = request)
 * --native runs them as syscalls (fstat of an O_PATH fd; fstatat; open
 * O_CREAT|O_EXCL (timed), close; open, pwrite, close, unlink; getdents64
 * + fstatat; getdents64; pread/pwrite) on min(depth, CPUs) threads, and
 * reports the CPU time of those syscalls (this process's) as "cpu".
 * Depth d: d independent slots (chains for smallfile and readdirplus).
 * Requests go round robin over the request queues, on split rings, or on
 * packed rings with --packed (the same daemon, the other ring layout).
 *
 * The share must hold /lk (files f00000..), /rd (entries e00000..) and
 * /big; `--setup DIR` creates them on the host, otherwise the bench
 * creates missing ones through the daemon (unmeasured).
 *
 * This file holds the options; bench_internal.h lists the others. */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "bench_internal.h"

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || v <= 0)
		return -EINVAL;
	switch (*end) {
	case 'k': case 'K': v *= 1024; end++; break;
	case 'm': case 'M': v *= MIB; end++; break;
	case 'g': case 'G': v *= 1024.0 * MIB; end++; break;
	default: break;
	}
	if (*end)
		return -EINVAL;
	*out = (uint64_t)v;
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: virtiofs-client bench (--socket PATH | --native DIR | --setup DIR) [options]\n"
"  --socket PATH        benchmark the running daemon listening on PATH\n"
"  --native DIR         the same workloads as plain syscalls on DIR (depth = threads)\n"
"  --setup DIR          create lk/ (files), rd/ (entries) and big in DIR, then exit\n"
"  --queues N           request queues (default 1)\n"
"  --depth LIST         requests in flight, e.g. 1,16,64 (default)\n"
"  --workloads LIST     getattr,lookup,create,smallfile,readdirplus,readdir,\n"
"                       seqread,seqwrite,randread (default all), reread (1 MiB reads\n"
"                       of the first 64 MiB of big, over and over)\n"
"  --file-size SIZE     size of big (default 1G; quick 256M)\n"
"  --time SECS          duration of the time-bound workloads (default 1; quick 0.3)\n"
"  --quick              smaller sizes and shorter runs\n"
"  --cpu N              pin the client to CPU N\n"
"  --pid PID            daemon process whose CPU time is measured (its child\n"
"                       if it has forked one after the connection, as QEMU's)\n"
"  --json FILE          append one JSON object per result to FILE\n"
"  --label NAME --placement NAME --round N   labels for the output\n"
"  --max-io SIZE        cap READ/WRITE requests at SIZE (a multiple of 4 KiB)\n"
"  --packed             packed virtqueues (VIRTIO_F_RING_PACKED) instead of split\n"
"  --dax SIZE           seqread, seqwrite, randread, reread through a DAX window of\n"
"                       SIZE (daemon with --dax), as a -o dax=always guest; depth 1\n"
"  --lookup-files N (1000) --dir-entries N (10000)  --verbose\n"
"  --scale PARTS        inodes,handles,list or all: cost against size (bench_scale.c);\n"
"                       with --setup, make the sc/ tree those parts use\n"
"  --scale-steps LIST   inodes held and directory sizes (default 10000,100000,1000000;\n"
"                       quick 10000,100000)\n"
"  --handle-steps LIST  open handles held (default 1000,10000,100000; quick 1000,10000)\n"
"  --scale-cap SECS     time a growing or listing phase may take (default 60; quick 20)\n");
}

/* "N,N,..": at most max numbers, each 1..limit. */
static int parse_nums(const char *s, unsigned *out, unsigned *n, unsigned max,
		      unsigned long limit)
{
	const char *p = s;
	char *end;

	*n = 0;
	for (;;) {
		unsigned long v;

		if (*p < '0' || *p > '9')
			return -EINVAL;
		errno = 0;
		v = strtoul(p, &end, 10);
		if (errno || v == 0 || v > limit || *n == max)
			return -EINVAL;
		out[(*n)++] = (unsigned)v;
		if (*end == '\0')
			return 0;
		if (*end != ',')
			return -EINVAL;
		p = end + 1;
	}
}

static int parse_parts(const char *s, unsigned *parts)
{
	char *dup = strdup(s), *tok, *save = NULL;
	int err = 0;

	if (!dup)
		return -ENOMEM;
	*parts = 0;
	for (tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "inodes"))
			*parts |= SCALE_INODES;
		else if (!strcmp(tok, "handles"))
			*parts |= SCALE_HANDLES;
		else if (!strcmp(tok, "list"))
			*parts |= SCALE_LIST;
		else if (!strcmp(tok, "all"))
			*parts |= SCALE_INODES | SCALE_HANDLES | SCALE_LIST;
		else
			err = -EINVAL;
	}
	free(dup);
	return *parts ? err : -EINVAL;
}

static int parse_list(const char *s, struct bench *b, bool depths)
{
	char *dup = strdup(s), *tok, *save = NULL;
	int err = 0;

	if (!dup)
		return -ENOMEM;
	if (depths)
		b->ndepths = 0;
	else
		b->wl_mask = 0;
	for (tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (depths) {
			unsigned long v = strtoul(tok, NULL, 10);

			if (v == 0 || v > MAX_DEPTH || b->ndepths == 16) {
				err = -EINVAL;
				break;
			}
			b->depths[b->ndepths++] = (unsigned)v;
		} else {
			unsigned i;

			for (i = 0; i < WL_COUNT; i++)
				if (!strcmp(tok, wl_names[i]))
					break;
			if (i == WL_COUNT) {
				err = -EINVAL;
				break;
			}
			b->wl_mask |= 1u << i;
		}
	}
	free(dup);
	return err;
}

int bench_main(int argc, char **argv)
{
	enum { O_QUEUES = 256, O_DEPTH, O_WL, O_FSIZE, O_TIME, O_QUICK, O_CPU,
	       O_PID, O_JSON, O_LABEL, O_PLACE, O_ROUND, O_LKF, O_DIRE, O_NATIVE,
	       O_SETUP, O_VERB, O_MAXIO, O_PACKED, O_DAX, O_SCALE, O_SSTEPS, O_HSTEPS,
	       O_SCAP };
	static const struct option lopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "native", required_argument, NULL, O_NATIVE },
		{ "setup", required_argument, NULL, O_SETUP },
		{ "queues", required_argument, NULL, O_QUEUES },
		{ "depth", required_argument, NULL, O_DEPTH },
		{ "workloads", required_argument, NULL, O_WL },
		{ "file-size", required_argument, NULL, O_FSIZE },
		{ "time", required_argument, NULL, O_TIME },
		{ "quick", no_argument, NULL, O_QUICK },
		{ "cpu", required_argument, NULL, O_CPU },
		{ "pid", required_argument, NULL, O_PID },
		{ "json", required_argument, NULL, O_JSON },
		{ "label", required_argument, NULL, O_LABEL },
		{ "placement", required_argument, NULL, O_PLACE },
		{ "round", required_argument, NULL, O_ROUND },
		{ "lookup-files", required_argument, NULL, O_LKF },
		{ "dir-entries", required_argument, NULL, O_DIRE },
		{ "verbose", no_argument, NULL, O_VERB },
		{ "max-io", required_argument, NULL, O_MAXIO },
		{ "packed", no_argument, NULL, O_PACKED },
		{ "dax", required_argument, NULL, O_DAX },
		{ "scale", required_argument, NULL, O_SCALE },
		{ "scale-steps", required_argument, NULL, O_SSTEPS },
		{ "handle-steps", required_argument, NULL, O_HSTEPS },
		{ "scale-cap", required_argument, NULL, O_SCAP },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct bench b = {
		.queues = 1, .depths = { 1, 16, 64 }, .ndepths = 3,
		.wl_mask = WL_DEFAULT_MASK, .secs = -1, .cpu = -1,
		.lookup_files = 1000, .dir_entries = 10000,
	};
	bool quick = false, fsize_set = false;
	char *end;
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "s:h", lopts, NULL)) != -1) {
		switch (opt) {
		case 's': b.socket = optarg; break;
		case O_NATIVE: b.native = optarg; break;
		case O_SETUP: b.setup = optarg; break;
		case O_QUEUES:
			b.queues = (unsigned)strtoul(optarg, NULL, 10);
			if (b.queues == 0 || b.queues > MAX_QUEUES) {
				fprintf(stderr, PROG ": bad --queues\n");
				return 2;
			}
			break;
		case O_DEPTH:
			if (parse_list(optarg, &b, true)) {
				fprintf(stderr, PROG ": bad --depth '%s'\n", optarg);
				return 2;
			}
			break;
		case O_WL:
			if (parse_list(optarg, &b, false)) {
				fprintf(stderr, PROG ": bad --workloads '%s'\n", optarg);
				return 2;
			}
			break;
		case O_FSIZE:
			if (parse_size(optarg, &b.file_size)) {
				fprintf(stderr, PROG ": bad --file-size '%s'\n", optarg);
				return 2;
			}
			fsize_set = true;
			break;
		case O_TIME: b.secs = strtod(optarg, NULL); break;
		case O_QUICK: quick = true; break;
		case O_CPU: b.cpu = atoi(optarg); break;
		case O_PID: b.pid = strtol(optarg, NULL, 10); break;
		case O_JSON: b.json = optarg; break;
		case O_LABEL: b.label = optarg; break;
		case O_PLACE: b.placement = optarg; break;
		case O_ROUND: b.round = atoi(optarg); break;
		case O_LKF: b.lookup_files = (unsigned)strtoul(optarg, NULL, 10); break;
		case O_DIRE: b.dir_entries = (unsigned)strtoul(optarg, NULL, 10); break;
		case O_VERB: b.verbose = true; break;
		case O_PACKED: b.packed = true; break;
		case O_DAX:
			if (parse_size(optarg, &b.dax_window) || !b.dax_window ||
			    (b.dax_window & (2 * MIB - 1))) {
				fprintf(stderr, PROG ": bad --dax '%s' (a multiple of 2M)\n", optarg);
				return 2;
			}
			break;
		case O_SCALE:
			if (parse_parts(optarg, &b.scale_parts)) {
				fprintf(stderr, PROG ": bad --scale '%s'\n", optarg);
				return 2;
			}
			break;
		case O_SSTEPS:
		case O_HSTEPS:
			if (parse_nums(optarg, opt == O_SSTEPS ? b.scale_steps : b.handle_steps,
				       opt == O_SSTEPS ? &b.nscale_steps : &b.nhandle_steps,
				       MAX_STEPS, MAX_SCALE)) {
				fprintf(stderr, PROG ": bad --%s '%s'\n", opt == O_SSTEPS ?
					"scale-steps" : "handle-steps", optarg);
				return 2;
			}
			break;
		case O_SCAP:
			b.scale_cap = strtod(optarg, &end);
			if (*end || !(b.scale_cap > 0)) {
				fprintf(stderr, PROG ": bad --scale-cap '%s'\n", optarg);
				return 2;
			}
			break;
		case O_MAXIO:
			if (parse_size(optarg, &b.max_io) || b.max_io % PAGE) {
				fprintf(stderr, PROG ": bad --max-io '%s'\n", optarg);
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!!b.socket + !!b.native + !!b.setup != 1 || optind != argc ||
	    b.lookup_files == 0 || b.lookup_files > 99999 || b.dir_entries > 99999) {
		usage(stderr);
		return 2;
	}
	if (b.scale_parts && b.native) {
		fprintf(stderr, PROG ": --scale runs against a daemon (--socket) or makes its files (--setup)\n");
		return 2;
	}
	if (!b.nscale_steps) {
		static const unsigned def[] = { 10000, 100000, 1000000 };

		b.nscale_steps = quick ? 2 : 3;
		memcpy(b.scale_steps, def, sizeof(def));
	}
	if (!b.nhandle_steps) {
		static const unsigned def[] = { 1000, 10000, 100000 };

		b.nhandle_steps = quick ? 2 : 3;
		memcpy(b.handle_steps, def, sizeof(def));
	}
	if (b.scale_cap <= 0)
		b.scale_cap = quick ? 20 : 60;
	if (!fsize_set)
		b.file_size = quick ? 256ull * MIB : 1024ull * MIB;
	if (b.secs <= 0)
		b.secs = quick ? 0.3 : 1.0;
	if (!b.label)
		b.label = b.native ? "native" : "daemon";
	if (!b.placement)
		b.placement = b.cpu >= 0 ? "pinned" : "unpinned";
	if (b.cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(b.cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set) < 0) {
			fprintf(stderr, PROG ": cpu %d: %s\n", b.cpu, strerror(errno));
			return 1;
		}
	}
	if (b.setup)
		return run_setup(&b);
	if (b.native)
		return run_native(&b);
	if (b.scale_parts)
		return run_scale(&b);
	if (b.dax_window)
		return run_dax(&b);
	return run_fuse(&b);
}
