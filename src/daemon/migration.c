/* migration.c: the device state of a live migration, from the FUSE
 * session and the passthrough to the stream (migration/state_stream.h)
 * and back. */
#include "daemon/migration.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "fuse/dax_window.h"
#include "migration/state_stream.h"
#include "util/log.h"

static struct pt_migration_config migration_config(const struct options *o)
{
	return (struct pt_migration_config){
		.mode = o->migration_mode == MIGRATION_FILE_HANDLES ? PT_MIGRATION_FILE_HANDLES :
								       PT_MIGRATION_FIND_PATHS,
		.verify_handles = o->migration_verify_handles,
		.confirm_paths = o->migration_confirm_paths,
		.on_error_guest = o->migration_on_error == MIGRATION_ON_ERROR_GUEST_ERROR,
		.open_handles = o->migration_mode == MIGRATION_FILE_HANDLES,
	};
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int daemon_state_save_buf(struct daemon *d, unsigned char **data, size_t *len)
{
	struct pt_migration_config cfg = migration_config(d->opts);
	struct pt_migration_report rep;
	struct pt_migration_out out;
	struct fuse_session_info info;
	struct mig_buf buf;
	double t0 = now_ms();
	int ret;

	*data = NULL;
	*len = 0;
	/* The stream carries no DAX mappings: the destination's VMM window
	 * would not hold them, and the guest would read stale pages. */
	if (d->dax && dax_window_count(d->dax) > 0) {
		log_error("migration: refused: the guest holds %u DAX mappings",
			  dax_window_count(d->dax));
		return -EBUSY;
	}
	mig_buf_init(&buf);
	ret = passthrough_migration_collect(d->fs, &cfg, &out, &rep);
	if (ret == 0) {
		fuse_server_session_get(d->server, &info);
		out.st.session.state = info.state;
		out.st.session.minor = info.minor;
		out.st.session.flags = info.flags;
		out.st.session.max_write = info.max_write;
		ret = mig_encode(&out.st, &buf);
	}
	passthrough_migration_release(&out);
	if (ret) {
		log_error("migration: cannot describe the state: %s", strerror(-ret));
		mig_buf_free(&buf);
		return ret;
	}
	log_info("migration: state of %zu inodes (%zu directories on the way, %zu lost), "
		 "%zu handles, %zu lock owners: %zu bytes in %.1f ms",
		 rep.inodes, rep.anchors, rep.inodes_lost, rep.handles, rep.lock_owners, buf.len,
		 now_ms() - t0);
	*data = buf.data;
	*len = buf.len;
	return 0;
}

static int write_all(int fd, const unsigned char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int daemon_state_save(struct vu_dev *dev, int fd, void *opaque)
{
	unsigned char *data;
	size_t len;
	int ret = daemon_state_save_buf(opaque, &data, &len);

	if (ret == 0) {
		ret = write_all(fd, data, len);
		if (ret)
			log_error("migration: writing the state: %s", strerror(-ret));
	}
	free(data);
	return ret;
}

int daemon_state_load_buf(struct daemon *d, const void *data, size_t len)
{
	struct pt_migration_config cfg = migration_config(d->opts);
	struct fuse_session_info info, none = { .state = 0 };
	struct pt_migration_report rep;
	struct mig_state st;
	const char *why;
	double t0 = now_ms();
	int ret;

	ret = mig_parse(data, len, &st, &why);
	if (ret) {
		log_error("migration: state refused: %s", why);
		mig_state_free(&st);
		return ret;
	}
	info = (struct fuse_session_info){ .state = st.session.state, .minor = st.session.minor,
					   .flags = st.session.flags,
					   .max_write = st.session.max_write };
	ret = fuse_server_session_set(d->server, &info);
	if (ret == 0 && info.state == 1 &&
	    passthrough_migration_fs_flags(d->fs) != st.session.fs_flags)
		ret = -EINVAL;
	if (ret) {
		log_error("migration: the guest's session (protocol 7.%u, flags %#llx) is not one "
			  "this daemon would agree to: are its options the source's?",
			  st.session.minor, (unsigned long long)st.session.flags);
		fuse_server_session_set(d->server, &none);
		mig_state_free(&st);
		return -EINVAL;
	}
	ret = passthrough_migration_restore(d->fs, &cfg, &st, &rep);
	if (ret) {
		log_error("migration: state not taken over: %s", strerror(-ret));
		fuse_server_session_set(d->server, &none);
	} else {
		log_info("migration: took over %zu inodes (%zu lost), %zu handles (%zu lost), "
			 "%zu lock owners (%zu ranges taken again, %zu not) from %zu bytes in %.1f ms",
			 rep.inodes, rep.inodes_lost, rep.handles, rep.handles_lost,
			 rep.lock_owners, rep.locks_retaken, rep.locks_not_retaken, len,
			 now_ms() - t0);
	}
	mig_state_free(&st);
	return ret;
}

int daemon_state_load(struct vu_dev *dev, int fd, void *opaque)
{
	size_t cap = 1 << 16, len = 0;
	unsigned char *data = malloc(cap), *nd;
	int ret;

	if (!data)
		return -ENOMEM;
	for (;;) {
		ssize_t n;

		if (len == cap) {
			if (cap > MIG_STREAM_MAX) {
				log_error("migration: state stream larger than %u bytes", MIG_STREAM_MAX);
				free(data);
				return -E2BIG;
			}
			nd = realloc(data, cap * 2);
			if (!nd) {
				free(data);
				return -ENOMEM;
			}
			data = nd;
			cap *= 2;
		}
		n = read(fd, data + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			free(data);
			log_error("migration: reading the state: %s", strerror(-ret));
			return ret;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	ret = daemon_state_load_buf(opaque, data, len);
	free(data);
	return ret;
}
