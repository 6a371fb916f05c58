/* test_daemon.c: promises of our daemon that a peer does not make, driven
 * through libvirtiofs-client: a blocked lock wait does not stall the queue
 * it came on, several request queues serve in parallel, a bad request is
 * answered and the queue keeps serving, the daemon exits with status 0
 * when the frontend disconnects and then says what each queue served. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "virtiofs_client.h"

static char share[300];

static struct vfs_client *session_open(struct daemon *d, unsigned queues)
{
	struct vfs_client_options opts = { .request_queues = queues, .timeout_ms = 5000 };
	int err = daemon_start(d, share);
	if (err) {
		CHECK(0, "daemon_start: %s", strerror(-err));
		return NULL;
	}
	struct vfs_client *c = vfs_client_open(d->sock, &opts, &err);
	CHECK(c != NULL, "vfs_client_open: %s", strerror(-err));
	if (!c)
		daemon_stop(d);
	return c;
}

static uint64_t create_file(struct vfs_client *c, const char *name, uint64_t *fh)
{
	struct fuse_entry_out entry;
	struct fuse_open_out open_out;
	int err = vfs_create(c, FUSE_ROOT_ID, name, O_RDWR, S_IFREG | 0644, 0, &entry,
			     &open_out);
	CHECK(err == 0, "create %s: %s", name, strerror(-err));
	*fh = open_out.fh;
	return entry.nodeid;
}

/* Build a SETLKW request for a write lock on the whole file. */
static size_t setlkw_request(struct vfs_client *c, void *buf, uint64_t nodeid, uint64_t fh,
			     uint64_t owner)
{
	struct fuse_lk_in lk = {
		.fh = fh,
		.owner = owner,
		.lk = { .start = 0, .end = UINT64_MAX >> 1, .type = F_WRLCK, .pid = 4242 },
	};
	size_t len = vfs_msg_init(c, buf, FUSE_SETLKW, nodeid, sizeof(lk));
	memcpy((char *)buf + sizeof(struct fuse_in_header), &lk, sizeof(lk));
	return len;
}

/* While a SETLKW waits for a conflicting lock, other requests on the SAME
 * queue are answered; releasing the conflict completes the wait. */
static void test_blocked_lock_does_not_stall_queue(void)
{
	struct daemon d;
	struct vfs_client *c = session_open(&d, 1);
	if (!c)
		return;
	uint64_t fh_holder, fh_waiter;
	uint64_t node = create_file(c, "locked", &fh_holder);
	struct fuse_open_out open_out;
	CHECK_OK(vfs_open(c, node, O_RDWR, &open_out));
	fh_waiter = open_out.fh;

	struct fuse_file_lock whole = { .start = 0, .end = UINT64_MAX >> 1, .type = F_WRLCK,
					.pid = 1111 };
	int err = vfs_setlk(c, node, fh_holder, 1, &whole, false);
	CHECK(err == 0, "holder's SETLK: %s", strerror(-err));

	char req[256];
	size_t len = setlkw_request(c, req, node, fh_waiter, 2);
	struct vfs_async *wait = vfs_async_submit(c, 1, req, len, 4096, NULL, &err);
	CHECK(wait != NULL, "submit SETLKW: %s", strerror(-err));
	if (!wait)
		goto out;

	/* The wait cannot finish while the holder holds the lock... */
	struct vfs_async *done[4];
	int n = vfs_async_reap(c, done, 4, 200);
	CHECK(n == 0, "SETLKW completed while the conflicting lock was held (%d)", n);

	/* ...and the queue still serves other requests meanwhile. */
	for (int i = 0; i < 20; i++) {
		struct fuse_attr_out attr;
		err = vfs_getattr(c, node, VFS_NO_FH, &attr);
		CHECK(err == 0, "GETATTR %d behind a blocked SETLKW: %s", i, strerror(-err));
		if (err)
			break;
	}

	whole.type = F_UNLCK;
	err = vfs_setlk(c, node, fh_holder, 1, &whole, false);
	CHECK(err == 0, "holder's unlock: %s", strerror(-err));
	n = vfs_async_reap(c, done, 4, 10000);
	CHECK(n == 1, "SETLKW did not complete after the unlock (%d)", n);
	if (n == 1) {
		size_t used;
		const struct fuse_out_header *out = vfs_async_reply(done[0], &used);
		CHECK(used >= sizeof(*out) && out->error == 0, "SETLKW reply error %d",
		      used >= sizeof(*out) ? out->error : -1);
		vfs_async_free(c, done[0]);
	}
out:
	vfs_client_close(c);
	daemon_stop(&d);
}

/* Four request queues: each answers its own requests. */
static void test_multiqueue(void)
{
	struct daemon d;
	struct vfs_client *c = session_open(&d, 4);
	if (!c)
		return;
	CHECK(vfs_client_request_queues(c) == 4, "got %u request queues",
	      vfs_client_request_queues(c));
	for (unsigned q = 1; q <= 4; q++) {
		vfs_client_set_queue(c, q);
		char name[32];
		snprintf(name, sizeof(name), "q%u", q);
		uint64_t fh;
		uint64_t node = create_file(c, name, &fh);
		char data[64];
		int len = snprintf(data, sizeof(data), "written on queue %u", q);
		ssize_t w = vfs_write(c, node, fh, 0, data, (size_t)len, 0);
		CHECK(w == len, "write on queue %u: %zd", q, w);
		char back[64] = "";
		ssize_t r = vfs_read(c, node, fh, 0, back, sizeof(back));
		CHECK(r == len && memcmp(back, data, (size_t)len) == 0,
		      "read on queue %u: %zd '%.*s'", q, r, (int)(r > 0 ? r : 0), back);
		CHECK_OK(vfs_release(c, node, fh, O_RDWR));
	}
	vfs_client_close(c);
	daemon_stop(&d);
}

/* A request whose header lies about its length gets EINVAL, and the next
 * valid request on the same queue is answered. */
static void test_bad_request_then_good(void)
{
	struct daemon d;
	struct vfs_client *c = session_open(&d, 1);
	if (!c)
		return;
	char req[128];
	size_t len = vfs_msg_init(c, req, FUSE_GETATTR, FUSE_ROOT_ID,
				  sizeof(struct fuse_getattr_in));
	memset(req + sizeof(struct fuse_in_header), 0, sizeof(struct fuse_getattr_in));
	((struct fuse_in_header *)req)->len = (uint32_t)len + 1000;
	char reply[256];
	ssize_t used = vfs_raw(c, 1, req, len, reply, sizeof(reply));
	CHECK(used == (ssize_t)sizeof(struct fuse_out_header), "lying header: used %zd", used);
	if (used >= (ssize_t)sizeof(struct fuse_out_header))
		CHECK(((struct fuse_out_header *)reply)->error == -EINVAL, "lying header: error %d",
		      ((struct fuse_out_header *)reply)->error);
	struct fuse_attr_out attr;
	int err = vfs_getattr(c, FUSE_ROOT_ID, VFS_NO_FH, &attr);
	CHECK(err == 0 && S_ISDIR(attr.attr.mode), "GETATTR after a bad request: %s",
	      strerror(-err));
	vfs_client_close(c);
	daemon_stop(&d);
}

/* INIT offers 1 MiB requests (max_pages 256) together with the file
 * system's own flags: a file system that replaced the server's flags once
 * left the guest at 128 KiB per READ/WRITE. */
static void test_init_negotiates_large_io(void)
{
	struct daemon d;
	struct vfs_client *c = session_open(&d, 1);
	if (!c)
		return;
	const struct fuse_init_out *init = vfs_client_init_out(c);
	CHECK(init->flags & FUSE_MAX_PAGES, "FUSE_MAX_PAGES not granted (flags %#x)", init->flags);
	CHECK(init->max_pages == 256, "max_pages %u, want 256", init->max_pages);
	CHECK(init->max_write == 1u << 20, "max_write %u, want 1 MiB", init->max_write);
	CHECK(init->flags & FUSE_POSIX_LOCKS, "FUSE_POSIX_LOCKS not granted with -o posix_lock");
	CHECK(vfs_client_max_io(c) == 1u << 20, "client I/O size %zu", vfs_client_max_io(c));
	vfs_client_close(c);
	daemon_stop(&d);
}

/* Closing the connection (as QEMU does when the VM stops) ends the daemon
 * with status 0. */
static void test_exit_status_on_disconnect(void)
{
	struct daemon d;
	struct vfs_client *c = session_open(&d, 1);
	if (!c)
		return;
	vfs_client_close(c);
	int status = -1;
	pid_t got = 0;
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	for (int i = 0; i < 1000 && got == 0; i++) { /* at most ~10 s */
		got = waitpid(d.pid, &status, WNOHANG);
		if (got == 0)
			nanosleep(&tick, NULL);
	}
	CHECK(got == d.pid, "daemon still running 10 s after the disconnect");
	if (got == d.pid) {
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "daemon exit status %#x, want a clean exit 0", status);
		d.pid = 0;
	}
	daemon_stop(&d);
}

/* At exit the daemon says, at info level, how many requests each queue
 * served: the requests sent on queue q are counted on queue q. */
static void test_queue_counts_logged(void)
{
	char log_path[400], text[8192] = "";
	struct daemon d;
	struct vfs_client *c;
	int saved, logfd, status = -1;
	pid_t got = 0;
	ssize_t n;

	snprintf(log_path, sizeof(log_path), "%s/queue-counts.log", t_tmpdir());
	logfd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	saved = dup(STDERR_FILENO);
	CHECK(logfd >= 0 && saved >= 0, "log file: %s", strerror(errno));
	dup2(logfd, STDERR_FILENO);	/* the daemon inherits it */
	bool verbose = getenv("VFS_TEST_VERBOSE") != NULL;
	setenv("VFS_TEST_VERBOSE", "1", 1);
	c = session_open(&d, 3);
	if (!verbose)
		unsetenv("VFS_TEST_VERBOSE");
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(logfd);
	if (!c)
		return;
	for (unsigned q = 1; q <= 3; q++) {
		struct fuse_attr_out attr;

		vfs_client_set_queue(c, q);
		for (unsigned i = 0; i < 5 * q; i++)
			CHECK_OK(vfs_getattr(c, FUSE_ROOT_ID, 0, &attr));
	}
	vfs_client_close(c);
	for (int i = 0; i < 1000 && got == 0; i++) { /* at most ~10 s */
		struct timespec tick = { 0, 10 * 1000 * 1000 };

		got = waitpid(d.pid, &status, WNOHANG);
		if (got == 0)
			nanosleep(&tick, NULL);
	}
	CHECK(got == d.pid, "daemon still running after the disconnect");
	if (got == d.pid)
		d.pid = 0;
	daemon_stop(&d);
	logfd = open(log_path, O_RDONLY | O_CLOEXEC);
	n = logfd >= 0 ? read(logfd, text, sizeof(text) - 1) : -1;
	if (logfd >= 0)
		close(logfd);
	text[n > 0 ? n : 0] = '\0';
	const char *line = strstr(text, "requests served: ");
	CHECK(line != NULL, "no 'requests served' line in the daemon's log:\n%s", text);
	for (unsigned q = 1; line && q <= 3; q++) {
		char key[32];
		const char *at;
		unsigned long count = 0;

		/* INIT and DESTROY come on a request queue too: a few more */
		snprintf(key, sizeof(key), "queue %u: ", q);
		at = strstr(line, key);
		if (at)
			count = strtoul(at + strlen(key), NULL, 10);
		CHECK(at && count >= 5 * q && count <= 5 * q + 3,
		      "queue %u served %lu, sent %u: %.*s", q, count, 5 * q,
		      (int)strcspn(line, "\n"), line);
	}
}

int main(void)
{
	const char *which = getenv("VFS_TEST_DAEMON");
	if (!which || strcmp(which, "ours") != 0) {
		printf("these tests are for our daemon only (VFS_TEST_DAEMON=ours)\n");
		return 77;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(share, sizeof(share), "%s/share", t_tmpdir());
	if (mkdir(share, 0755) < 0)
		return 1;
	t_run("blocked_lock_does_not_stall_queue", test_blocked_lock_does_not_stall_queue);
	t_run("multiqueue", test_multiqueue);
	t_run("bad_request_then_good", test_bad_request_then_good);
	t_run("init_negotiates_large_io", test_init_negotiates_large_io);
	t_run("exit_status_on_disconnect", test_exit_status_on_disconnect);
	t_run("queue_counts_logged", test_queue_counts_logged);
	return t_finish();
}
