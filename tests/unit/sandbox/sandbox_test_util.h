/* sandbox_test_util.h: run a check in a forked child and read its fate.
 * The runner itself must never be sandboxed or filtered. */
#ifndef SANDBOX_TEST_UTIL_H
#define SANDBOX_TEST_UTIL_H

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Inside a child: report the failed condition and end with status 1. */
#define CHILD_CHECK(cond) \
	do { \
		if (!(cond)) { \
			fprintf(stderr, "%s:%d: failed: %s (errno: %s)\n", __FILE__, __LINE__, \
				#cond, strerror(errno)); \
			return 1; \
		} \
	} while (0)

/* Status a child returns to ask for the test to be skipped. */
#define CHILD_SKIP 77

/* Forks, runs fn(arg) in the child and _exits with its result (no atexit
 * handlers, no leak check: the child may be unable to run them). Returns
 * the wait status, or -1 when the fork failed. */
int child_run(int (*fn)(void *), void *arg);
/* Forks fn(arg) but does not wait; returns the pid. */
int child_start(int (*fn)(void *), void *arg);
int child_wait(int pid);

/* A fresh directory under /tmp holding file "a" ("hello") and dir "sub". */
int test_dir_make(char *path, size_t size);
void test_dir_remove(const char *path);

#endif
