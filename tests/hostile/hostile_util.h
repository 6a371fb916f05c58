/* hostile_util.h: shared state and helpers of the hostile-guest suite.
 *
 * Every case runs in its own child process with a fresh share, a fresh
 * daemon and a fresh client (so QEMU's one-connection daemon works too,
 * and one crash fails one case). A case does its hostile thing, then
 * proves the daemon still serves on the same queue (alive_q) and, when
 * the case ends, the runner checks that nothing changed outside the
 * share. */
#ifndef HOSTILE_UTIL_H
#define HOSTILE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "harness.h"
#include "vfs_internal.h"

/* The request queue every case uses. */
#define HQ 1

struct hctx {
	struct vfs_client *c;
	struct daemon d;
	char parent[400];       /* holds the sentinel and the share */
	char share[450];
	bool qemu;              /* QEMU's daemon (informative run) */
	const char *mode;
	bool namespace_sandbox; /* our daemon with --sandbox=namespace */
	bool sandbox_none;      /* no sandbox at all (ours: none, or QEMU) */
	bool file_handles;      /* ours with --inode-file-handles=mandatory */
	char *targets[32];      /* absolute paths that must never appear */
	unsigned ntargets;
};

extern struct hctx H;

/* Client options for the session: cases may change them in their setup. */
struct hcase {
	const char *name;
	void (*fn)(void);
	bool no_init;           /* start the session without FUSE_INIT */
	const char *extra_args; /* for our daemon and QEMU's alike */
	int timeout_s;          /* 0 = default */
	bool slow;              /* floods */
	bool packed;            /* the session negotiates packed rings */
};

/* ---- outside-effect tracking ---- */
/* Remember an absolute path that must not exist after the case. */
const char *target_path(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- liveness ---- */
/* A valid GETATTR of the root on queue q is answered correctly. */
bool alive_q(unsigned q);
#define ALIVE() CHECK(alive_q(HQ), "daemon stopped serving queue %u", HQ)

/* ---- raw FUSE requests ---- */
struct rawmsg {
	uint8_t buf[70000];
	size_t len;
	uint64_t unique;
};

/* Header for opcode/nodeid with arglen argument bytes; args copied. */
void msg_build(struct rawmsg *m, uint32_t opcode, uint64_t nodeid,
	       const void *args, size_t arglen);
/* Append bytes to the arguments and fix up header.len. */
void msg_append(struct rawmsg *m, const void *p, size_t len);
void msg_append_str(struct rawmsg *m, const char *s); /* with its NUL */
static inline struct fuse_in_header *msg_hdr(struct rawmsg *m)
{
	return (struct fuse_in_header *)(void *)m->buf;
}

struct rawreply {
	ssize_t used;           /* used length, or -errno from the driver */
	struct fuse_out_header oh;
	uint8_t data[70000];
};

/* Send m on queue q with reply room cap; fill r. */
void raw_send(const struct rawmsg *m, unsigned q, size_t cap, struct rawreply *r);
/* The request was refused: a FUSE error for this unique (any errno when
 * want == 0), or a zero-length completion. */
bool refused(const struct rawmsg *m, const struct rawreply *r, int want);
#define EXPECT_REFUSED(m, r, want)                                              \
	CHECK(refused((m), (r), (want)), "used %zd error %d unique %llu/%llu",  \
	      (r)->used, (r)->oh.error, (unsigned long long)(r)->oh.unique,    \
	      (unsigned long long)(m)->unique)
/* Answered with error 0 and a well-formed header. */
bool answered_ok(const struct rawmsg *m, const struct rawreply *r);

/* ---- raw rings ---- */
struct gbuf {
	uint8_t *hva;
	uint64_t gpa;
	size_t len;
};
struct gbuf gbuf_alloc(size_t len);
struct vring_queue *hq(unsigned q);
/* Take n descriptor ids off queue q's free list. */
void desc_ids(unsigned q, uint16_t *ids, unsigned n);
/* Publish head on queue q and wait up to ms for the used element of
 * the published head; returns its used len, -ETIMEDOUT if none. Any
 * other used element that shows up is drained and reported via *other. */
long raw_publish_wait(unsigned q, uint16_t head, int ms);
/* Drain stray used elements for ms milliseconds; returns how many. */
unsigned raw_drain(unsigned q, int ms);
uint64_t guest_end_gpa(void);

/* ---- host side ---- */
void host_write(const char *rel, const char *content);
bool host_exists(const char *abs);
/* The daemon's process group: sum of VmRSS (kB), most fds of one member. */
long daemon_rss_kb(void);
long daemon_max_fds(void);

/* Cases: each file registers an array. */
extern const struct hcase ring_cases[];
extern const unsigned n_ring_cases;
extern const struct hcase fuse_cases[];
extern const unsigned n_fuse_cases;
extern const struct hcase fs_cases[];
extern const unsigned n_fs_cases;
extern const struct hcase more_cases[];
extern const unsigned n_more_cases;
extern const struct hcase priv_cases[];
extern const unsigned n_priv_cases;
extern const struct hcase packed_cases[];
extern const unsigned n_packed_cases;
extern const struct hcase opts_cases[];
extern const unsigned n_opts_cases;

#endif
