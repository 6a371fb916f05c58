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
};

/* Reserve size bytes (a multiple of 2 MiB) of address space, inaccessible. */
int dax_frontend_init(struct dax_frontend *f, uint64_t size);
void dax_frontend_fini(struct dax_frontend *f);
/* mmap [fd_offset, +len) of fd at win_offset: 0 or a negative errno. */
int dax_frontend_map(struct dax_frontend *f, int fd, uint64_t fd_offset, uint64_t win_offset,
		     uint64_t len, bool writable);
/* Make [win_offset, +len) inaccessible again. */
int dax_frontend_unmap(struct dax_frontend *f, uint64_t win_offset, uint64_t len);

#endif
