/* vfs_internal.h: the driver's internals, exposed for hostile-ring tests
 * and fuzzers that need to place hand-made descriptors and avail entries
 * (see vq_raw_desc() and vq_raw_publish()). Not a stable API. */
#ifndef VFS_INTERNAL_H
#define VFS_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/virtio_ring.h>

#include "dax_frontend.h"
#include "virtiofs_client.h"

#define VFS_MAX_REGIONS 8
#define VFS_CHUNK 4096u

/* ---- guest memory (guest_mem.c) ---- */

struct vfs_region {
	int fd;
	uint8_t *hva;
	uint64_t gpa;
	uint64_t size;
	size_t first_chunk;
};

struct vfs_mem {
	struct vfs_region r[VFS_MAX_REGIONS];
	unsigned nr;
	uint64_t total;
	uint64_t *bitmap;       /* one bit per VFS_CHUNK, set = in use */
	size_t nchunks;
	unsigned next_region;   /* round robin: spreads buffers over regions */
	uint64_t allocs[VFS_MAX_REGIONS]; /* buffers handed out per region */
};

int mem_init(struct vfs_mem *m, size_t size, unsigned regions);
void mem_fini(struct vfs_mem *m);
/* Zeroed, chunk-aligned, never crossing a region; NULL when full. */
void *mem_alloc(struct vfs_mem *m, size_t len);
void mem_free(struct vfs_mem *m, void *p, size_t len);
/* Guest-physical address of a pointer into guest memory (0 if outside). */
uint64_t mem_gpa(const struct vfs_mem *m, const void *p);

/* ---- virtqueue, driver side: split (vring.c) or packed (vring_packed.c)
 * behind the same vq_* functions ---- */

struct vfs_seg {
	void *hva;
	uint32_t len;
	bool write;             /* device-writable */
};

struct vring_slot {
	void *token;
	void *indirect;         /* table in guest memory */
	size_t indirect_len;
	uint16_t ndesc;         /* descriptors used in the main table / ring */
};

struct vring_queue {
	unsigned index;
	unsigned num;
	struct vfs_mem *mem;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	void *ring_mem;
	size_t ring_len;
	int kick_fd;
	int call_fd;
	bool event_idx;
	bool indirect;
	uint16_t free_head;
	uint16_t num_free;
	uint16_t avail_idx;     /* shadow of avail->idx */
	uint16_t kicked_idx;    /* avail idx at the last notification decision */
	uint16_t last_used;
	unsigned inflight;
	struct vring_slot *slots;   /* split: by head; packed: by buffer id */
	uint64_t kicks;
	/* Packed ring (VIRTIO_F_RING_PACKED): free_head and num_free count
	 * buffer ids and free ring descriptors; last_used is a position. */
	bool packed;
	struct vring_packed_desc *pdesc;
	struct vring_packed_desc_event *driver_ev;  /* we write */
	struct vring_packed_desc_event *device_ev;  /* the device writes */
	uint16_t next_avail;    /* position of the next descriptor we fill */
	bool avail_wrap;
	bool used_wrap;         /* wrap counter at last_used */
	uint16_t num_added;     /* descriptors made available since the last kick */
	uint16_t *id_next;      /* free buffer id list */
	uint16_t raw_head_flags; /* hostile: the held-back flags of descriptor 0 */
	/* Live migration: where the backend stopped (GET_VRING_BASE), given
	 * to the next one (SET_VRING_BASE); log: VHOST_VRING_F_LOG. */
	bool has_base;
	uint32_t base;
	bool log;
};

int vq_init(struct vring_queue *q, struct vfs_mem *mem, unsigned index,
	       unsigned num, bool event_idx, bool indirect, bool packed);
void vq_fini(struct vring_queue *q);
/* Add a buffer (readable segments first, then writable). Returns the head
 * descriptor or -ENOSPC / -ENOMEM. Not visible until vq_kick(). */
int vq_add(struct vring_queue *q, const struct vfs_seg *segs, unsigned n,
	      void *token);
/* Publish added buffers and notify the device if it wants it. */
int vq_kick(struct vring_queue *q);
/* Pop one used element: its token, or NULL when none. */
void *vq_get_used(struct vring_queue *q, uint32_t *len);
/* Ask for a call on the next used buffer; true if one is already there. */
bool vq_enable_cb(struct vring_queue *q);

/* Hostile tests. Take descriptors off the free list for hand-made chains
 * (and give them back), write them verbatim, publish a head, and pop used
 * elements without any checking. Reaping a hand-made head through
 * vq_get_used() reports a bad id, so use vq_raw_pop_used() for those and
 * do not mix both on one queue while hand-made heads are in flight. */
int vq_desc_alloc(struct vring_queue *q, uint16_t *id);
void vq_desc_free(struct vring_queue *q, uint16_t id);
bool vq_raw_pop_used(struct vring_queue *q, struct vring_used_elem *e);
/* Packed hostile helpers. Take a buffer id off (and back onto) the free
 * list. Write descriptor k of a hand-made chain at the k-th position from
 * the next one we would fill: verbatim, except that with auto_wrap the
 * AVAIL/USED bits are set as an honest driver sets them for that position.
 * Descriptor 0's flags are held back until vq_praw_publish, which makes
 * the chain available, moves our position on by consumed descriptors (what
 * the device is expected to take) and kicks as vq_kick does. Then
 * vq_praw_pop_used reads the next used descriptor without checking it and
 * moves on by skip descriptors. */
int vq_pid_alloc(struct vring_queue *q, uint16_t *id);
void vq_pid_free(struct vring_queue *q, uint16_t id);
void vq_praw_desc(struct vring_queue *q, unsigned k, uint64_t addr, uint32_t len,
		  uint16_t id, uint16_t flags, bool auto_wrap);
int vq_praw_publish(struct vring_queue *q, unsigned consumed);
bool vq_praw_pop_used(struct vring_queue *q, unsigned skip, uint16_t *id, uint32_t *len);
/* The AVAIL/USED bits an honest driver gives the descriptor k positions
 * past the next one it fills. */
uint16_t vq_praw_wrap_bits(const struct vring_queue *q, unsigned k);

/* packed ring internals, called by vring.c for a packed queue */
int vqp_init(struct vring_queue *q, uint8_t *base);
size_t vqp_ring_size(unsigned num);
int vqp_add(struct vring_queue *q, const struct vfs_seg *segs, unsigned n, void *token);
int vqp_kick(struct vring_queue *q);
void *vqp_get_used(struct vring_queue *q, uint32_t *len);
bool vqp_enable_cb(struct vring_queue *q);
/* Write descriptor i verbatim (GPA, len, flags, next). */
void vq_raw_desc(struct vring_queue *q, uint16_t i, uint64_t addr,
		    uint32_t len, uint16_t flags, uint16_t next);
/* Hostile tests: append head to the avail ring, publish and kick. */
int vq_raw_publish(struct vring_queue *q, uint16_t head);

/* ---- vhost-user frontend (vu_frontend.c) ---- */

struct vu_frontend {
	int sock;
	int backend_sock;       /* our end of SET_BACKEND_REQ_FD's pair */
	pthread_t backend_thread;
	bool backend_running;
	uint64_t features;      /* negotiated virtio features */
	uint64_t protocol;      /* negotiated protocol features */
	unsigned max_queues;
	unsigned max_mem_slots;
	bool verbose;
	/* The DAX window the backend's map requests go to; NULL without. */
	struct dax_frontend *dax;
	uint64_t shmem_size;    /* GET_SHMEM_CONFIG's region 0, 0 without */
};

int vu_connect(struct vu_frontend *fe, const char *path, bool verbose,
	       int timeout_ms);
int vu_negotiate(struct vu_frontend *fe, uint64_t want_features,
		 bool want_mem_slots, unsigned nqueues);
int vu_set_mem(struct vu_frontend *fe, const struct vfs_mem *m);
int vu_start_queue(struct vu_frontend *fe, const struct vring_queue *q);
int vu_stop_queue(struct vu_frontend *fe, unsigned index, uint32_t *base);
void vu_disconnect(struct vu_frontend *fe);
/* GET_CONFIG: size bytes of the device config space at offset. */
#define VU_CONFIG_MAX 256
int vu_get_config(struct vu_frontend *fe, uint32_t offset, void *buf, uint32_t size);
/* Live migration (vfs_migrate.c). */
bool vu_has_device_state(const struct vu_frontend *fe);
int vu_set_log_base(struct vu_frontend *fe, int fd, uint64_t size);
int vu_set_features(struct vu_frontend *fe, uint64_t features);
/* SET_DEVICE_STATE_FD (phase stopped): the backend writes (save) or reads fd. */
int vu_device_state_fd(struct vu_frontend *fe, bool save, int fd);
int vu_check_device_state(struct vu_frontend *fe);
int vfs_client_load_state(struct vu_frontend *fe, const void *data, size_t len);

/* ---- the client (vfs_driver.c) ---- */

struct vfs_req;

struct vfs_client {
	struct vfs_client_options opts;
	struct vfs_mem mem;
	struct vu_frontend fe;
	struct vring_queue *queues;    /* [0] hiprio, [1..nreq] requests */
	unsigned nqueues;
	unsigned rr;                   /* round robin over request queues */
	unsigned fixed_queue;
	uint64_t unique;
	unsigned pending;              /* async requests in flight */
	struct vfs_req *reqs;          /* every live request, for close */
	struct vfs_req *done_head;     /* completed async requests, FIFO */
	struct vfs_req *done_tail;
	struct fuse_init_out init;
	bool inited;
	size_t max_io;
	uint32_t uid, gid, pid;
	struct vfs_dax *dax;           /* opts.dax_window: the window, its ranges */
};

/* ---- DAX (vfs_dax.c) ---- */
/* Reserve the window before negotiation (the backend thread maps into
 * it), size its ranges after, free it after the channel is gone. */
int vfs_dax_open(struct vfs_client *c);
int vfs_dax_negotiated(struct vfs_client *c);
void vfs_dax_close(struct vfs_client *c);

/* One FUSE request: arguments are copied to guest memory, each its own
 * descriptor; segments marked paged are cut at 4 KiB like page lists. */
struct vfs_arg {
	const void *ptr;
	size_t len;
	bool paged;
};

struct vfs_out {
	void *ptr;
	size_t len;
	bool paged;
};

struct vfs_call {
	uint32_t opcode;
	uint64_t nodeid;
	unsigned queue;                /* 0 = hiprio; VFS_Q_AUTO = pick one */
	const struct vfs_arg *in;
	unsigned nin;
	struct vfs_out *out;
	unsigned nout;
	bool no_reply;                 /* FORGET: device-readable only */
	size_t out_len;                /* reply payload bytes (after header) */
};

#define VFS_Q_AUTO (~0u)

/* Build, send and wait: returns 0 or the daemon's negative error. */
int vfs_call(struct vfs_client *c, struct vfs_call *call);

#endif
