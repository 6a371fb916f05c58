/* harness.h: a tiny pass/fail harness and a daemon launcher for the
 * integration tests. The daemon comes from VFS_TEST_DAEMON: "qemu"
 * (default, QEMU's legacy C virtiofsd), "ours" (build/src/daemon/virtiofsd
 * next to this build) or a path to a binary taking our daemon's options.
 * VFS_TEST_DAEMON_ARGS adds arguments (split on spaces);
 * VFS_TEST_DAEMON_AS=UID:GID[:GROUP] runs it as that user, with GROUP as
 * its one supplementary group or none. */
#ifndef VFS_TEST_HARNESS_H
#define VFS_TEST_HARNESS_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

extern int t_failed_checks;

#define CHECK(cond, ...)                                                   \
	do {                                                               \
		if (!(cond)) {                                             \
			t_failed_checks++;                                 \
			fprintf(stderr, "  FAIL %s:%d: %s: ", __FILE__,    \
				__LINE__, #cond);                          \
			fprintf(stderr, __VA_ARGS__);                      \
			fputc('\n', stderr);                               \
		}                                                          \
	} while (0)

#define CHECK_OK(expr)                                                     \
	do {                                                               \
		long _r = (long)(expr);                                    \
		CHECK(_r >= 0, "%s returned %ld (%s)", #expr, _r,          \
		      _r < 0 ? strerror((int)-_r) : "");                   \
	} while (0)

struct daemon {
	pid_t pid;
	char sock[256];
	const char *dir;
	char log[256];          /* its stdout and stderr; "" when inherited */
};

/* Where the test's share and sockets live (mktemp -d). */
const char *t_tmpdir(void);
/* Start a daemon on dir and wait (bounded polling) for its socket. Its
 * output goes to d->log (unless VFS_TEST_VERBOSE is set: then it is ours). */
int daemon_start(struct daemon *d, const char *dir);
/* Stop it (if it has not exited), then fail the current test if its log
 * holds a sanitizer report (see t_sanitizer_report). Also for a daemon the
 * test reaped itself (d->pid == 0). */
void daemon_stop(struct daemon *d);
/* Whether the file at path holds a report of ThreadSanitizer,
 * AddressSanitizer, LeakSanitizer or UBSan. */
bool t_sanitizer_report(const char *path);
/* Run one test function; a test passes when it adds no failed check. */
void t_run(const char *name, void (*fn)(void));
/* Print "N passed, M failed", clean up, return the exit status. Checks
 * that failed outside any test (a daemon stopped after the last one) and
 * sanitizer reports in daemon logs nobody checked count as one failure. */
int t_finish(void);
/* Host path of 'name' inside the share. */
const char *t_host(const char *share, const char *name);

#endif
