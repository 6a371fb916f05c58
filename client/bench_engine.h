/* bench_engine.h: the FUSE engine of `virtiofs-client bench`. Every
 * in-flight slot owns fixed guest buffers; a workload is a pair of
 * callbacks (start a unit on an idle slot, step it when a request
 * completes) that the engine drives over the rings until none is busy. */
#ifndef VFS_BENCH_ENGINE_H
#define VFS_BENCH_ENGINE_H

#include "bench_internal.h"
#include "vfs_internal.h"

/* Per-slot control area in guest memory. */
#define CTRL_SIZE 8192u
#define O_IH 0u
#define O_ARG 64u
#define O_NAME 512u
#define O_OH 1024u
#define O_R1 1088u
#define O_R2 1280u
#define O_FORGET 2048u
#define O_PAGE 4096u

struct slot {
	unsigned idx;
	uint8_t *g;             /* CTRL_SIZE bytes */
	uint8_t *data;          /* data buffer */
	unsigned state;
	bool timed;
	uint64_t t0;
	uint64_t nodeid, fh, off, k;
	uint64_t *nodes;        /* readdirplus: lookups to forget */
	size_t nn, ncap, nsent;
	char name[64];
};

struct fengine;

struct fwl {
	/* Start a unit on an idle slot: 1 issued, 0 nothing left, <0 error. */
	int (*start)(struct fengine *e, struct slot *s);
	/* A request of the slot completed: 1 issued the next, 0 unit done. */
	int (*step)(struct fengine *e, struct slot *s, uint32_t used);
};

struct fengine {
	struct bench *b;
	struct vfs_client *c;
	unsigned nq;
	unsigned rr;
	unsigned depth;
	struct slot slots[MAX_DEPTH];
	size_t data_size;
	bool kick[MAX_QUEUES + 1];
	uint64_t deadline;
	uint64_t seq, limit;
	uint64_t k;             /* create cleanup: the next name to UNLINK */
	void *priv;             /* bench_scale.c's state */
	struct stats st;
	/* workload state */
	uint64_t dirnode;
	uint64_t *fnodes;
	uint64_t *counts;
	unsigned nfiles;
	uint64_t fh;
	uint64_t fsize;
	size_t chunk;
	uint64_t rnd;
	enum wl wl;
};

struct rq {
	uint32_t opcode;
	uint64_t nodeid;
	const void *arg;
	size_t arglen;
	const char *name;
	const uint8_t *in_data;
	size_t in_len;
	size_t r1, r2;
	uint8_t *out_data;
	size_t out_len;
	bool timed;
};

bool time_up(struct fengine *e);
int slot_send(struct fengine *e, struct slot *s, const struct rq *r);
/* FORGET (batch NULL) or BATCH_FORGET of count nodes, on hiprio. */
int slot_forget(struct fengine *e, struct slot *s, uint64_t nodeid,
		const uint64_t *batch, size_t count);
const struct fuse_out_header *slot_oh(const struct slot *s);
/* Reply error of the request that completed, counting failures. */
int slot_err(struct fengine *e, struct slot *s, uint32_t used);
/* Connect to b->socket with mem_size bytes of guest memory and b's queues
 * and ring layout; b->pid becomes the serving process (worker_pid). */
struct fengine *fengine_open(struct bench *b, size_t mem_size);
void fengine_close(struct fengine *e);
/* Guest buffers for e->depth slots: a control area and data_size bytes
 * each. slots_free also frees what a failed slots_alloc got. */
int slots_alloc(struct fengine *e, size_t data_size);
void slots_free(struct fengine *e);
/* Drive workload w over e->depth slots; fills e->st (time, daemon CPU). */
int f_run(struct fengine *e, const struct fwl *w);

#endif
