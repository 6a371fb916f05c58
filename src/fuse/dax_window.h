/* dax_window.h: the DAX cache window as the FUSE server sees it: which
 * window ranges hold which file ranges, the rules every SETUPMAPPING and
 * REMOVEMAPPING must pass (bounds, alignment, overlaps, a cap), and the
 * one interface through which a transport really maps (struct
 * dax_backend). It never reads guest bytes and never touches a file: the
 * FUSE handlers decode, the file system vouches for the fd. Thread-safe. */
#ifndef VFSD_DAX_WINDOW_H
#define VFSD_DAX_WINDOW_H

#include <stdbool.h>
#include <stdint.h>

/* How the frontend (the VMM) is asked to map an fd range into, or drop a
 * range from, the window it exposes to the guest. Two flavours exist
 * (src/daemon/dax_backend_vhost.c): the SHMEM_MAP proposal and the
 * legacy FS_MAP messages. Calls may come from any queue thread. */
struct dax_backend {
	/* Bytes of window the frontend has now; 0 when it has none (the
	 * frontend did not negotiate what the flavour needs). */
	uint64_t (*window_size)(void *opaque);
	/* 0 or a negative errno (the frontend refused or is gone). */
	int (*map)(void *opaque, int fd, uint64_t fd_offset, uint64_t win_offset,
		   uint64_t len, bool writable);
	int (*unmap)(void *opaque, uint64_t win_offset, uint64_t len);
	void *opaque;
};

/* Window offsets and lengths are multiples of 1 << DAX_MAP_ALIGNMENT_SHIFT,
 * which INIT tells the guest (map_alignment). A page: Linux refuses an
 * alignment above its 2 MiB range size, and its ranges are 2 MiB. */
#define DAX_MAP_ALIGNMENT_SHIFT 12
/* Default cap on live mappings: a 16 GiB window in Linux's 2 MiB ranges. */
#define DAX_DEFAULT_MAX_MAPPINGS 8192

struct dax_window;

/* max_mappings 0: DAX_DEFAULT_MAX_MAPPINGS. */
struct dax_window *dax_window_new(unsigned max_mappings);
void dax_window_free(struct dax_window *w);

/* Plug a transport in (a frontend connected) or out (NULL: it left). No
 * mapping survives either: the frontend drops its own on reset. */
void dax_window_attach(struct dax_window *w, const struct dax_backend *backend);

/* The window's size now, 0 without one (no backend or none negotiated). */
uint64_t dax_window_size(struct dax_window *w);

/* A new session (INIT) or its end (DESTROY): every mapping still held is
 * unmapped and forgotten. */
void dax_window_reset(struct dax_window *w);

/* The window-side rules, without a backend call: len non-zero, offset and
 * len aligned, [win_offset, win_offset + len) inside a window of
 * window_size bytes. 0 or -EINVAL. Exposed for the unit tests. */
int dax_window_check_range(uint64_t window_size, uint64_t win_offset, uint64_t len);

/* Map [fd_offset, +len) of fd at win_offset. A range equal to one mapped
 * already replaces it (Linux upgrades a read mapping to a writable one
 * that way); a range overlapping a mapping only in part is -EINVAL.
 * -ENOSPC past the cap, -ENODEV without a window, else what the checks
 * or the backend say. fd stays the caller's. */
int dax_window_map(struct dax_window *w, int fd, uint64_t nodeid, uint64_t fd_offset,
		   uint64_t win_offset, uint64_t len, bool writable);

/* Unmap exactly one mapping made before: [win_offset, +len) must be one
 * (Linux removes what it set up, range by range). -EINVAL otherwise. */
int dax_window_unmap(struct dax_window *w, uint64_t win_offset, uint64_t len);

/* Live mappings (tests, logs). */
unsigned dax_window_count(struct dax_window *w);

#endif
