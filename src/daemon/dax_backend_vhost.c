/* dax_backend_vhost.c: struct dax_backend's two vhost-user flavours. */
#include "daemon/dax_backend_vhost.h"

static uint64_t shmem_window_size(void *opaque)
{
	struct dax_backend_vhost *s = opaque;
	uint64_t size = vu_dev_shmem_ready(s->dev, DAX_VIRTIO_FS_SHMID_CACHE);

	/* what GET_SHMEM_CONFIG said, which is --dax-window */
	return size < s->window ? size : s->window;
}

static int shmem_map(void *opaque, int fd, uint64_t fd_offset, uint64_t win_offset,
		     uint64_t len, bool writable)
{
	struct dax_backend_vhost *s = opaque;

	return vu_dev_shmem_map(s->dev, DAX_VIRTIO_FS_SHMID_CACHE, fd, fd_offset, win_offset,
				len, writable);
}

static int shmem_unmap(void *opaque, uint64_t win_offset, uint64_t len)
{
	struct dax_backend_vhost *s = opaque;

	return vu_dev_shmem_unmap(s->dev, DAX_VIRTIO_FS_SHMID_CACHE, win_offset, len);
}

/* The legacy messages carry no size: the frontend's cache is what the
 * operator said it is (--dax-window), and the frontend checks too. */
static uint64_t fs_map_window_size(void *opaque)
{
	struct dax_backend_vhost *s = opaque;

	return vu_dev_fs_map_ready(s->dev) ? s->window : 0;
}

static int fs_map_map(void *opaque, int fd, uint64_t fd_offset, uint64_t win_offset,
		      uint64_t len, bool writable)
{
	struct dax_backend_vhost *s = opaque;

	return vu_dev_fs_map(s->dev, fd, fd_offset, win_offset, len, writable);
}

static int fs_map_unmap(void *opaque, uint64_t win_offset, uint64_t len)
{
	struct dax_backend_vhost *s = opaque;

	return vu_dev_fs_unmap(s->dev, win_offset, len);
}

void dax_backend_vhost_init(struct dax_backend *out, struct dax_backend_vhost *state,
			    enum dax_flavour flavour, struct vu_dev *dev, uint64_t window)
{
	state->dev = dev;
	state->window = window;
	if (flavour == DAX_FS_MAP)
		*out = (struct dax_backend){ fs_map_window_size, fs_map_map, fs_map_unmap, state };
	else
		*out = (struct dax_backend){ shmem_window_size, shmem_map, shmem_unmap, state };
}
