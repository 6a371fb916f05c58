/* SPDX-License-Identifier: MIT */
/*
 * POSIX/Linux file-system conformance suite - shared harness.
 *
 * Every case runs in its own forked process, with its own fresh, empty
 * working directory (the case directory) and umask 022.  A case reports
 * failure with fail(), which never returns; it may attach notes (observed,
 * target-independent values such as an errno name) with note().
 * Nothing target-specific (inode/device numbers, absolute paths, times,
 * pids) may ever appear in a failure message or a note.
 */
#ifndef CONFORMANCE_HARNESS_H
#define CONFORMANCE_HARNESS_H

#define _GNU_SOURCE
#define _FILE_OFFSET_BITS 64
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/falloc.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#define OLD_SEC 1000000000L /* 2001-09-09: "old" timestamp set before an op */
#define GIB (1024LL * 1024 * 1024)
#define MIB (1024LL * 1024)

/* ---- reporting ---- */
__attribute__((noreturn, format(printf, 1, 2))) void fail(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void note(const char *fmt, ...);
const char *ename(int e);

/* ERR(call): 0 if call succeeded (did not return -1), else errno. */
#define ERR(call) ((call) == -1 ? errno : 0)
/* SYS(call): call must succeed. */
#define SYS(call)                                                              \
	do {                                                                   \
		if ((call) == -1)                                              \
			fail("%s: got %s, expected success", #call,            \
			     ename(errno));                                    \
	} while (0)

void expect_ok(const char *what, int got);
void expect_err(const char *what, int got, int want);
/* Either errno is allowed (POSIX leaves the choice); the observed one is noted. */
void expect_err2(const char *what, int got, int w1, int w2);
void expect_eq(const char *what, long long got, long long want);
void expect_true(const char *what, int cond);
void expect_mode(const char *path, mode_t want); /* st_mode & 07777, lstat */

/* ---- helpers (all fail() on error) ---- */
int xopen(const char *p, int flags, mode_t mode);
void mkfile(const char *p, mode_t mode, uid_t u, gid_t g, const char *content);
void mkdirm(const char *p, mode_t mode, uid_t u, gid_t g);
struct stat xlstat(const char *p);
struct stat xstat(const char *p);
struct stat xfstat(int fd);
void xwrite(int fd, const void *buf, size_t n);
void xpwrite(int fd, const void *buf, size_t n, off_t off);
size_t xpread(int fd, void *buf, size_t n, off_t off);
char *readfile(const char *p, size_t *len); /* malloc'd, NUL-terminated */
void expect_content(const char *p, const char *want);
void copy_self(const char *dst, mode_t mode);
void set_old(const char *p);          /* atime = mtime = OLD_SEC, no follow */
void tick(const char *ref);           /* wait until a new ctime would be > ctime(ref) */
int ts_after(struct timespec a, struct timespec b); /* a > b */

/* ---- running things as another user / in another process ---- */
struct cred {
	uid_t uid;
	gid_t gid;
	int ng;
	gid_t g[4];
};
extern const struct cred ROOT, U1, U1G, U2, NOBODY;
#define G_SHARED 3000 /* supplementary group of U1G */
#define G_OTHER 4000  /* a group nobody is in */

enum uk {
	U_READ, U_WRITE, U_OPEN, U_CREATE, U_CREATE_RW_WRITE, U_MKDIR, U_UNLINK,
	U_RMDIR, U_RENAME, U_STAT, U_LSTAT, U_READDIR, U_CHMOD, U_CHOWN,
	U_UTIMES_NOW, U_UTIMES_SET, U_TRUNCATE, U_FTRUNCATE, U_EXEC, U_ACCESS,
	U_SETXATTR, U_GETXATTR, U_LSETXATTR, U_LGETXATTR, U_LISTXATTR_HAS,
	U_REMOVEXATTR, U_MKNOD, U_LINK, U_SYMLINK, U_APPEND
};
/* Runs one operation in a child with the given credentials; 0 or errno. */
int as(const struct cred *c, enum uk k, const char *p1, const char *p2,
       long a1, long a2);
/* Runs fn(arg) in a forked child; returns its return value (0..199). */
int in_child(int (*fn)(void *), void *arg);
void *shared_page(void); /* MAP_SHARED anonymous page, visible to children */
/* A lock that goes away when its open file description is closed (an OFD
 * lock, a flock) goes away on a FUSE mount only when the kernel's RELEASE
 * reaches the daemon, and over /dev/fuse the kernel sends RELEASE in the
 * background after close() has returned (fs/fuse/file.c: only virtio-fs
 * and fuseblk release synchronously). Repeats attempt(arg) while it says
 * EAGAIN or EWOULDBLOCK, for at most RELEASE_WAIT_MS; returns its last
 * result. On a local file system the first attempt decides. */
#define RELEASE_WAIT_MS 5000
int after_release(int (*attempt)(void *), void *arg);

/* ---- case table ---- */
struct tcase {
	const char *name; /* area.id */
	const char *desc;
	void (*fn)(void);
	int timeout;      /* seconds, 0 = default */
};
extern const struct tcase cases_a[], cases_b[], cases_c[];

#endif
