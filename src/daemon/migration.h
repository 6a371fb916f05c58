/* migration.h: the daemon's side of live migration (docs/migration.md):
 * the vhost-user backend calls these on its transfer thread, with every
 * queue stopped, to save the device's state into the frontend's pipe or
 * load it from there. */
#ifndef VFSD_DAEMON_MIGRATION_H
#define VFSD_DAEMON_MIGRATION_H

#include "vhost_user/vhost_user.h"

int daemon_state_save(struct vu_dev *dev, int fd, void *opaque);
int daemon_state_load(struct vu_dev *dev, int fd, void *opaque);

/* The same on a daemon context directly (tests, the benchmark): save
 * into an allocated buffer / load from bytes. */
struct daemon;
int daemon_state_save_buf(struct daemon *d, unsigned char **data, size_t *len);
int daemon_state_load_buf(struct daemon *d, const void *data, size_t len);

#endif
