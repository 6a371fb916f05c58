/* dax_frontend.h: the DAX window as a VMM keeps it: an address range
 * reserved once, into which the daemon's backend requests (SHMEM_MAP or
 * the legacy FS_MAP) mmap file ranges and out of which they unmap them.
 * It checks every request against the window, as a VMM must: the daemon
 * is not trusted to stay inside it. Internal to the client library. */
#ifndef VFS_DAX_FRONTEND_H
#define VFS_DAX_FRONTEND_H

#include <stdbool.h>
#include <stdint.h>

struct dax_frontend {
	uint8_t *base;
	uint64_t size;
	/* Backend requests served and refused (atomics: the backend thread
	 * writes, the driver reads for its stats). */
	uint64_t maps, unmaps, refused;
	/* Bumped by the driver before each SETUPMAPPING or REMOVEMAPPING
	 * (see dax_frontend_sync()). */
	uint64_t driver_epoch;
};

/* Reserve size bytes (a multiple of 2 MiB) of address space, inaccessible. */
int dax_frontend_init(struct dax_frontend *f, uint64_t size);
void dax_frontend_fini(struct dax_frontend *f);
/* mmap [fd_offset, +len) of fd at win_offset: 0 or a negative errno. */
int dax_frontend_map(struct dax_frontend *f, int fd, uint64_t fd_offset, uint64_t win_offset,
		     uint64_t len, bool writable);
/* Make [win_offset, +len) inaccessible again. */
int dax_frontend_unmap(struct dax_frontend *f, uint64_t win_offset, uint64_t len);
/* Called by the driver once the daemon answered a SETUPMAPPING or
 * REMOVEMAPPING: the backend thread's mmap happened before, but the
 * order went through the daemon, a process ThreadSanitizer cannot see;
 * this acquire pairs with the release after each mmap. */
void dax_frontend_sync(struct dax_frontend *f);
/* The other direction: called by the driver before it asks, so that its
 * loads and stores in the window happen before the mmap its request
 * causes (acquired in dax_frontend_map() and dax_frontend_unmap()). */
void dax_frontend_publish(struct dax_frontend *f);

#endif
