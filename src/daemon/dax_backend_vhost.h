/* dax_backend_vhost.h: the DAX window's backend over vhost-user, in the
 * two flavours a frontend may speak: VHOST_USER_BACKEND_SHMEM_MAP (the
 * SHMEM proposal, shared memory region 0, the virtio-fs cache) and the
 * legacy VHOST_USER_BACKEND_FS_MAP. Glue only: the window's rules are in
 * src/fuse/dax_window.c, the wire in src/vhost_user/backend_request.c. */
#ifndef VFSD_DAX_BACKEND_VHOST_H
#define VFSD_DAX_BACKEND_VHOST_H

#include <stdint.h>

#include "daemon/options.h"
#include "fuse/dax_window.h"
#include "vhost_user/vhost_user.h"

/* virtio-fs's shared memory region for the DAX cache (VIRTIO_FS_SHMCAP_ID_CACHE). */
#define DAX_VIRTIO_FS_SHMID_CACHE 0

struct dax_backend_vhost {
	struct vu_dev *dev;
	uint64_t window;	/* --dax-window */
};

/* Fill out for flavour (not DAX_OFF) over dev; state must outlive every
 * use of out (until dax_window_attach(w, NULL)). */
void dax_backend_vhost_init(struct dax_backend *out, struct dax_backend_vhost *state,
			    enum dax_flavour flavour, struct vu_dev *dev, uint64_t window);

#endif
