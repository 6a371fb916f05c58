/* SPDX-License-Identifier: MIT */
/* Permissions, sticky/setgid directories, suid/sgid clearing, timestamps. */
#include "harness.h"

/* ===== setup ===== */
static void t_setup_unpriv_access(void)
{
	/* Every unprivileged case needs DIR and its ancestors to be
	 * searchable by other users (o+x). */
	if (as(&NOBODY, U_STAT, "./", 0, 0, 0))
		fail("uid 65534 cannot reach the case directory: got EACCES, expected success (make DIR and its parents o+x)");
	mkdirm("d", 0777, 0, 0);
	expect_ok("uid 1000 creates a file in a 0777 dir", as(&U1, U_CREATE, "d/f", 0, 0644, 0));
	struct stat st = xstat("d/f");
	expect_eq("creator uid", st.st_uid, 1000);
	expect_eq("creator gid", st.st_gid, 1000);
}

/* ===== permissions ===== */
static void t_perm_root_dac_override(void)
{
	mkfile("f", 0000, 1000, 1000, "data");
	expect_ok("root open O_RDWR of mode 000 file", ERR(open("f", O_RDWR)));
	mkdirm("d", 0000, 1000, 1000);
	mkfile("d/g", 0644, 0, 0, "x");
	expect_ok("root stat through mode 000 dir", ERR(access("d/g", F_OK)));
	expect_ok("root readdir of mode 000 dir", as(&ROOT, U_READDIR, "d", 0, 0, 0));
}

static void t_perm_root_exec_needs_xbit(void)
{
	copy_self("x", 0644);
	expect_err("root exec of mode 0644 file", as(&ROOT, U_EXEC, "./x", 0, 0, 0), EACCES);
	expect_err("root access(X_OK) of mode 0644 file", ERR(access("x", X_OK)), EACCES);
	SYS(chmod("x", 0001));
	expect_ok("root exec of mode 0001 file", as(&ROOT, U_EXEC, "./x", 0, 0, 0));
}

static void t_perm_owner_read_only(void)
{
	mkfile("f", 0400, 1000, 1000, "data");
	expect_ok("owner read, mode 0400", as(&U1, U_READ, "f", 0, 0, 0));
	expect_err("owner write, mode 0400", as(&U1, U_WRITE, "f", 0, 0, 0), EACCES);
}

static void t_perm_owner_write_only(void)
{
	mkfile("f", 0200, 1000, 1000, "data");
	expect_ok("owner write, mode 0200", as(&U1, U_WRITE, "f", 0, 0, 0));
	expect_err("owner read, mode 0200", as(&U1, U_READ, "f", 0, 0, 0), EACCES);
}

static void t_perm_owner_class_precedence(void)
{
	mkfile("f", 0077, 1000, 1000, "data");
	expect_err("owner read, mode 0077", as(&U1, U_READ, "f", 0, 0, 0), EACCES);
	expect_err("owner write, mode 0077", as(&U1, U_WRITE, "f", 0, 0, 0), EACCES);
}

static void t_perm_group_primary(void)
{
	const struct cred c = {1000, G_SHARED, 0, {0}};

	mkfile("f", 0040, 0, G_SHARED, "data");
	expect_ok("group (primary gid) read, mode 0040", as(&c, U_READ, "f", 0, 0, 0));
	expect_err("group write, mode 0040", as(&c, U_WRITE, "f", 0, 0, 0), EACCES);
}

static void t_perm_group_supplementary(void)
{
	mkfile("f", 0060, 0, G_SHARED, "data");
	expect_ok("supplementary group read, mode 0060", as(&U1G, U_READ, "f", 0, 0, 0));
	expect_ok("supplementary group write, mode 0060", as(&U1G, U_WRITE, "f", 0, 0, 0));
	expect_err("non-member read, mode 0060", as(&U1, U_READ, "f", 0, 0, 0), EACCES);
}

static void t_perm_group_class_precedence(void)
{
	mkfile("f", 0604, 0, G_SHARED, "data");
	expect_err("group member read, mode 0604", as(&U1G, U_READ, "f", 0, 0, 0), EACCES);
	expect_ok("other read, mode 0604", as(&U1, U_READ, "f", 0, 0, 0));
}

static void t_perm_other(void)
{
	mkfile("f", 0644, 0, 0, "data");
	expect_ok("other read, mode 0644", as(&NOBODY, U_READ, "f", 0, 0, 0));
	expect_err("other write, mode 0644", as(&NOBODY, U_WRITE, "f", 0, 0, 0), EACCES);
	SYS(chmod("f", 0640));
	expect_err("other read, mode 0640", as(&NOBODY, U_READ, "f", 0, 0, 0), EACCES);
	SYS(chmod("f", 0646));
	expect_ok("other write, mode 0646", as(&NOBODY, U_WRITE, "f", 0, 0, 0));
}

static void t_perm_exec(void)
{
	copy_self("x", 0700);
	SYS(chown("x", 1000, 1000));
	expect_ok("owner exec, mode 0700", as(&U1, U_EXEC, "./x", 0, 0, 0));
	expect_err("other exec, mode 0700", as(&U2, U_EXEC, "./x", 0, 0, 0), EACCES);
	SYS(chmod("x", 0711));
	expect_ok("other exec, mode 0711", as(&U2, U_EXEC, "./x", 0, 0, 0));
	SYS(chmod("x", 0766));
	expect_err("access(X_OK) by other, mode 0766", as(&U2, U_ACCESS, "x", 0, X_OK, 0), EACCES);
}

static void t_perm_dir_read_no_search(void)
{
	mkdirm("d", 0754, 0, 0);
	mkfile("d/f", 0644, 0, 0, "x");
	expect_ok("readdir of mode 0754 dir by other", as(&U1, U_READDIR, "d", 0, 0, 0));
	expect_err("stat in mode 0754 dir by other", as(&U1, U_STAT, "d/f", 0, 0, 0), EACCES);
}

static void t_perm_dir_search_no_read(void)
{
	mkdirm("d", 0711, 0, 0);
	mkfile("d/f", 0644, 0, 0, "x");
	expect_ok("read known file in mode 0711 dir", as(&U1, U_READ, "d/f", 0, 0, 0));
	expect_err("readdir of mode 0711 dir by other", as(&U1, U_READDIR, "d", 0, 0, 0), EACCES);
}

static void t_perm_dir_write_needs_search(void)
{
	mkdirm("d", 0776, 0, 0);
	expect_err("create in dir with w but no x", as(&U1, U_CREATE, "d/n", 0, 0644, 0), EACCES);
	SYS(chmod("d", 0773));
	expect_ok("create in dir with w+x (no r)", as(&U1, U_CREATE, "d/n", 0, 0644, 0));
}

static void t_perm_dir_create_denied(void)
{
	mkdirm("d", 0755, 0, 0);
	expect_err("create in root's 0755 dir", as(&U1, U_CREATE, "d/n", 0, 0644, 0), EACCES);
	expect_err("mkdir in root's 0755 dir", as(&U1, U_MKDIR, "d/n", 0, 0755, 0), EACCES);
	expect_err("symlink in root's 0755 dir", as(&U1, U_SYMLINK, "t", "d/n", 0, 0), EACCES);
	expect_err("mkfifo in root's 0755 dir", as(&U1, U_MKNOD, "d/n", 0, S_IFIFO | 0644, 0), EACCES);
}

static void t_perm_unlink_needs_dir_write(void)
{
	mkdirm("d", 0755, 0, 0);
	mkfile("d/f", 0777, 1000, 1000, "x");
	expect_err("unlink own file in root's 0755 dir", as(&U1, U_UNLINK, "d/f", 0, 0, 0), EACCES);
	expect_err("rename own file in root's 0755 dir", as(&U1, U_RENAME, "d/f", "d/g", 0, 0), EACCES);
	SYS(chmod("d", 0757));
	expect_ok("unlink own file in o+w dir", as(&U1, U_UNLINK, "d/f", 0, 0, 0));
}

static void t_perm_rename_dir_needs_write(void)
{
	/* Linux: moving a directory to another parent needs write permission
	 * on the directory itself (its ".." changes); POSIX allows this. */
	mkdirm("a", 0777, 0, 0);
	mkdirm("b", 0777, 0, 0);
	mkdirm("a/sub", 0755, 0, 0);
	expect_err("rename of others' dir to another parent", as(&U1, U_RENAME, "a/sub", "b/sub", 0, 0), EACCES);
	expect_ok("rename of others' dir within parent", as(&U1, U_RENAME, "a/sub", "a/sub2", 0, 0));
}

static void t_perm_chmod_owner_only(void)
{
	mkfile("f", 0666, 0, 0, "x");
	expect_err("chmod of root's file by uid 1000", as(&U1, U_CHMOD, "f", 0, 0777, 0), EPERM);
	mkfile("g", 0600, 1000, 1000, "x");
	expect_ok("chmod of own file", as(&U1, U_CHMOD, "g", 0, 0604, 0));
	expect_mode("g", 0604);
}

static void t_perm_chown_unpriv(void)
{
	mkfile("f", 0644, 1000, 1000, "x");
	expect_err("chown own file to another uid", as(&U1, U_CHOWN, "f", 0, 1001, -1), EPERM);
	expect_ok("chown own file to own uid", as(&U1, U_CHOWN, "f", 0, 1000, -1));
	expect_ok("chgrp own file to supplementary group", as(&U1G, U_CHOWN, "f", 0, -1, G_SHARED));
	expect_eq("st_gid after chgrp", xstat("f").st_gid, G_SHARED);
	expect_err("chgrp own file to non-member group", as(&U1G, U_CHOWN, "f", 0, -1, G_OTHER), EPERM);
	mkfile("r", 0666, 0, 0, "x");
	expect_err("chgrp of root's file", as(&U1G, U_CHOWN, "r", 0, -1, G_SHARED), EPERM);
}

static void t_perm_root_chown(void)
{
	struct stat st;

	mkfile("f", 0644, 0, 0, "x");
	SYS(chown("f", 1000, G_SHARED));
	st = xstat("f");
	expect_eq("st_uid", st.st_uid, 1000);
	expect_eq("st_gid", st.st_gid, G_SHARED);
	SYS(symlink("f", "l"));
	SYS(lchown("l", 1001, 1001));
	expect_eq("lchown: link uid", xlstat("l").st_uid, 1001);
	expect_eq("lchown: target uid unchanged", xstat("f").st_uid, 1000);
	SYS(chown("l", 1002, -1));
	expect_eq("chown via symlink: target uid", xstat("f").st_uid, 1002);
}

static void t_perm_utimes_nonowner(void)
{
	mkfile("w", 0666, 0, 0, "x");
	mkfile("r", 0644, 0, 0, "x");
	expect_ok("utimensat(NULL) by non-owner with write access", as(&U1, U_UTIMES_NOW, "w", 0, 0, 0));
	expect_err("utimensat(explicit) by non-owner with write access", as(&U1, U_UTIMES_SET, "w", 0, 0, 0), EPERM);
	expect_err("utimensat(NULL) by non-owner without write access", as(&U1, U_UTIMES_NOW, "r", 0, 0, 0), EACCES);
	SYS(chown("r", 1000, 1000));
	expect_ok("utimensat(explicit) by owner", as(&U1, U_UTIMES_SET, "r", 0, 0, 0));
}

static void t_perm_truncate(void)
{
	mkfile("r", 0644, 0, 0, "data");
	expect_err("truncate without write permission", as(&U1, U_TRUNCATE, "r", 0, 1, 0), EACCES);
	SYS(chmod("r", 0666));
	expect_ok("truncate with write permission", as(&U1, U_TRUNCATE, "r", 0, 1, 0));
	expect_eq("size after truncate", xstat("r").st_size, 1);
}

static void t_perm_access(void)
{
	mkfile("f", 0640, 0, G_SHARED, "x");
	expect_ok("access(R_OK) group member", as(&U1G, U_ACCESS, "f", 0, R_OK, 0));
	expect_err("access(W_OK) group member", as(&U1G, U_ACCESS, "f", 0, W_OK, 0), EACCES);
	expect_err("access(R_OK) other", as(&U1, U_ACCESS, "f", 0, R_OK, 0), EACCES);
	expect_ok("access(F_OK) other", as(&U1, U_ACCESS, "f", 0, F_OK, 0));
	expect_ok("access(R_OK|W_OK) root", ERR(access("f", R_OK | W_OK)));
}

static void t_perm_chmod_sgid_nonmember(void)
{
	/* chmod(2): unprivileged caller not in the file's group: S_ISGID is
	 * silently turned off. */
	mkfile("f", 0644, 1000, G_OTHER, "x");
	expect_ok("chmod 02755 by owner not in group", as(&U1, U_CHMOD, "f", 0, 02755, 0));
	expect_mode("f", 0755);
	SYS(chown("f", 1000, G_SHARED));
	expect_ok("chmod 02755 by owner in group", as(&U1G, U_CHMOD, "f", 0, 02755, 0));
	expect_mode("f", 02755);
}

static void t_perm_open_trunc_needs_write(void)
{
	mkfile("f", 0644, 0, 0, "data");
	expect_err("O_WRONLY|O_TRUNC without write permission",
		   as(&U1, U_OPEN, "f", 0, O_WRONLY | O_TRUNC, 0), EACCES);
	expect_eq("size unchanged", xstat("f").st_size, 4);
}

static void t_perm_create_rdonly_mode_gives_rw_fd(void)
{
	/* POSIX open(): a newly created file's mode does not restrict the
	 * returned descriptor. */
	mkdirm("d", 0777, 0, 0);
	expect_ok("open(O_CREAT|O_RDWR, 0444) then write", as(&U1, U_CREATE_RW_WRITE, "d/f", 0, 0444, 0));
	expect_content("d/f", "new");
	expect_mode("d/f", 0444);
}

/* ===== sticky directories ===== */
static void sticky_setup(uid_t dirowner)
{
	mkdirm("d", 01777, dirowner, dirowner);
	mkfile("d/f", 0666, 1001, 1001, "x");
}

static void t_sticky_unlink_other(void)
{
	sticky_setup(0);
	expect_err("unlink another user's file in sticky dir", as(&U1, U_UNLINK, "d/f", 0, 0, 0), EPERM);
	SYS(access("d/f", F_OK));
	expect_ok("unlink by the file owner", as(&U2, U_UNLINK, "d/f", 0, 0, 0));
}

static void t_sticky_rename_other(void)
{
	sticky_setup(0);
	expect_err("rename another user's file in sticky dir", as(&U1, U_RENAME, "d/f", "d/g", 0, 0), EPERM);
	expect_ok("create own file", as(&U1, U_CREATE, "d/mine", 0, 0644, 0));
	expect_err("rename own file over another user's file", as(&U1, U_RENAME, "d/mine", "d/f", 0, 0), EPERM);
	expect_ok("rename own file within sticky dir", as(&U1, U_RENAME, "d/mine", "d/mine2", 0, 0));
}

static void t_sticky_dir_owner(void)
{
	sticky_setup(1000);
	expect_ok("sticky dir owner unlinks another user's file", as(&U1, U_UNLINK, "d/f", 0, 0, 0));
}

static void t_sticky_root(void)
{
	sticky_setup(0);
	expect_ok("root unlinks in sticky dir", ERR(unlink("d/f")));
}

static void t_sticky_rmdir_other(void)
{
	mkdirm("d", 01777, 0, 0);
	mkdirm("d/s", 0755, 1001, 1001);
	expect_err("rmdir another user's dir in sticky dir", as(&U1, U_RMDIR, "d/s", 0, 0, 0), EPERM);
	expect_ok("rmdir by its owner", as(&U2, U_RMDIR, "d/s", 0, 0, 0));
}

static void t_sticky_mkdir_keeps_svtx(void)
{
	SYS(mkdir("d", 01777));
	expect_mode("d", 01755); /* umask 022 */
	SYS(chmod("d", 01777));
	expect_mode("d", 01777);
}

/* ===== setgid directories ===== */
static void t_sgid_file_group(void)
{
	struct stat st;

	mkdirm("d", 02777, 0, G_SHARED);
	mkfile("d/f", 0644, 0, -1, "x");
	st = xstat("d/f");
	expect_eq("gid of file created in setgid dir", st.st_gid, G_SHARED);
	expect_true("file has no S_ISGID", !(st.st_mode & S_ISGID));
}

static void t_sgid_subdir_inherits(void)
{
	struct stat st;

	mkdirm("d", 02777, 0, G_SHARED);
	SYS(mkdir("d/s", 0755));
	st = xstat("d/s");
	expect_eq("gid of subdir", st.st_gid, G_SHARED);
	expect_true("subdir has S_ISGID", st.st_mode & S_ISGID);
	SYS(mkdir("d/s/t", 0755));
	expect_eq("gid of sub-subdir", xstat("d/s/t").st_gid, G_SHARED);
}

static void t_sgid_unpriv_nonmember(void)
{
	struct stat st;

	mkdirm("d", 02777, 0, G_SHARED);
	expect_ok("create by non-member", as(&U1, U_CREATE, "d/f", 0, 0644, 0));
	expect_ok("mkdir by non-member", as(&U1, U_MKDIR, "d/s", 0, 0755, 0));
	st = xstat("d/f");
	expect_eq("file uid", st.st_uid, 1000);
	expect_eq("file gid", st.st_gid, G_SHARED);
	st = xstat("d/s");
	expect_eq("subdir gid", st.st_gid, G_SHARED);
	expect_true("subdir S_ISGID", st.st_mode & S_ISGID);
}

static void t_sgid_plain_dir_uses_fsgid(void)
{
	const struct cred c = {1000, 2500, 0, {0}};

	mkdirm("d", 0777, 0, G_SHARED);
	expect_ok("create", as(&c, U_CREATE, "d/f", 0, 0644, 0));
	expect_eq("gid of file in non-setgid dir", xstat("d/f").st_gid, 2500);
	expect_ok("mkdir", as(&c, U_MKDIR, "d/s", 0, 0755, 0));
	expect_eq("gid of subdir in non-setgid dir", xstat("d/s").st_gid, 2500);
}

static void t_sgid_create_mode_stripped(void)
{
	/* Linux: a file created with S_ISGID in its mode by a caller that is
	 * not in the resulting group (and lacks CAP_FSETID) loses S_ISGID. */
	mkdirm("d", 02777, 0, G_SHARED);
	umask(0);
	expect_ok("create 02755 by non-member", as(&U1, U_CREATE, "d/f", 0, 02755, 0));
	expect_mode("d/f", 0755);
	expect_ok("create 02755 by member", as(&U1G, U_CREATE, "d/g", 0, 02755, 0));
	expect_mode("d/g", 02755);
}

static void t_sgid_mkdir_mode_ignored(void)
{
	/* Linux mkdir uses only the permission bits and S_ISVTX of mode;
	 * S_ISGID comes from the parent only. */
	SYS(mkdir("s", 02755));
	expect_mode("s", 0755);
	SYS(mkdir("u", 04755));
	expect_mode("u", 0755);
}

/* ===== suid/sgid clearing ===== */
static void t_suid_write_unpriv(void)
{
	mkfile("f", 04777, 0, 0, "data");
	expect_ok("write by uid 1000", as(&U1, U_WRITE, "f", 0, 0, 0));
	expect_mode("f", 0777);
}

static void t_suid_write_owner_unpriv(void)
{
	mkfile("f", 04755, 1000, 1000, "data");
	expect_ok("write by the (unprivileged) owner", as(&U1, U_WRITE, "f", 0, 0, 0));
	expect_mode("f", 0755);
}

static void t_suid_write_sgid_gx(void)
{
	mkfile("f", 06777, 0, 0, "data");
	expect_ok("append by uid 1000", as(&U1, U_APPEND, "f", 0, 0, 0));
	expect_mode("f", 0777);
}

static void t_suid_write_sgid_no_gx(void)
{
	/* S_ISGID without S_IXGRP: Linux (setattr_should_drop_sgid) keeps it
	 * when the writer is in the file's group, clears it otherwise. */
	mkfile("f", 02766, 0, G_SHARED, "data");
	expect_ok("write by group member", as(&U1G, U_WRITE, "f", 0, 0, 0));
	expect_mode("f", 02766);
	expect_ok("write by non-member", as(&U1, U_WRITE, "f", 0, 0, 0));
	expect_mode("f", 0766);
}

static void t_suid_write_root_keeps(void)
{
	int fd;

	mkfile("f", 06755, 1000, 1000, "data");
	fd = xopen("f", O_WRONLY, 0);
	xwrite(fd, "x", 1);
	close(fd);
	expect_mode("f", 06755);
}

static void t_suid_truncate_unpriv(void)
{
	mkfile("f", 06777, 0, 0, "data");
	expect_ok("truncate by uid 1000", as(&U1, U_TRUNCATE, "f", 0, 2, 0));
	expect_mode("f", 0777);
	SYS(chmod("f", 04777));
	expect_ok("ftruncate by uid 1000", as(&U1, U_FTRUNCATE, "f", 0, 1, 0));
	expect_mode("f", 0777);
}

static void t_suid_chown_root(void)
{
	mkfile("f", 06755, 0, 0, "data");
	SYS(chown("f", 1000, 1000));
	expect_mode("f", 0755);
	mkfile("g", 04700, 0, 0, "data");
	SYS(chown("g", -1, G_SHARED));
	expect_mode("g", 0700);
}

static void t_suid_chown_dir_keeps(void)
{
	SYS(mkdir("d", 0755));
	SYS(chmod("d", 02755));
	SYS(chown("d", 1000, G_SHARED));
	expect_mode("d", 02755);
}

static void t_suid_chown_unpriv(void)
{
	mkfile("f", 06755, 1000, 1000, "data");
	expect_ok("chgrp by owner to supplementary group", as(&U1G, U_CHOWN, "f", 0, -1, G_SHARED));
	expect_mode("f", 0755);
}

/* ===== timestamps ===== */
#define CT(p) (xlstat(p).st_ctim)
static void expect_newer(const char *what, struct timespec got, struct timespec ref)
{
	if (!ts_after(got, ref))
		fail("%s: got not newer than before the operation, expected newer", what);
}
static void expect_mtime_old(const char *p)
{
	struct stat st = xlstat(p);

	if (st.st_mtim.tv_sec != OLD_SEC || st.st_mtim.tv_nsec != 0)
		fail("mtime of %s: got changed, expected unchanged", p);
}
static void expect_mtime_new(const char *p)
{
	if (xlstat(p).st_mtim.tv_sec <= OLD_SEC)
		fail("mtime of %s: got unchanged, expected updated", p);
}
/* prepare p: old atime/mtime; returns ctime before op, after tick */
static struct timespec prep(const char *p)
{
	struct timespec c;

	set_old(p);
	c = CT(p);
	tick(p);
	return c;
}

static void t_time_create_parent(void)
{
	struct timespec c;

	SYS(mkdir("d", 0755));
	c = prep("d");
	mkfile("d/f", 0644, 0, 0, NULL);
	expect_mtime_new("d");
	expect_newer("parent ctime after create", CT("d"), c);
	c = prep("d");
	SYS(mkdir("d/s", 0755));
	expect_mtime_new("d");
	expect_newer("parent ctime after mkdir", CT("d"), c);
	c = prep("d");
	SYS(mkfifo("d/p", 0644));
	expect_mtime_new("d");
	expect_newer("parent ctime after mkfifo", CT("d"), c);
	c = prep("d");
	SYS(symlink("x", "d/l"));
	expect_mtime_new("d");
	expect_newer("parent ctime after symlink", CT("d"), c);
}

static void t_time_new_file_times(void)
{
	struct timespec c;
	struct stat st;

	SYS(mkdir("d", 0755));
	c = prep("d");
	mkfile("d/f", 0644, 0, 0, NULL);
	st = xlstat("d/f");
	expect_newer("new file mtime", st.st_mtim, c);
	expect_newer("new file ctime", st.st_ctim, c);
	expect_newer("new file atime", st.st_atim, c);
}

static void t_time_unlink(void)
{
	struct timespec c, cf;

	SYS(mkdir("d", 0755));
	mkfile("d/f", 0644, 0, 0, "x");
	SYS(link("d/f", "d/g"));
	SYS(mkdir("d/s", 0755));
	set_old("d/f");
	cf = CT("d/f");
	c = prep("d");
	SYS(unlink("d/g"));
	expect_mtime_new("d");
	expect_newer("parent ctime after unlink", CT("d"), c);
	expect_newer("remaining link's ctime after unlink", CT("d/f"), cf);
	expect_mtime_old("d/f");
	c = prep("d");
	SYS(rmdir("d/s"));
	expect_mtime_new("d");
	expect_newer("parent ctime after rmdir", CT("d"), c);
}

static void t_time_rename_parents(void)
{
	struct timespec c1, c2;

	SYS(mkdir("a", 0755));
	SYS(mkdir("b", 0755));
	mkfile("a/f", 0644, 0, 0, "x");
	set_old("a");
	set_old("b");
	c1 = CT("a");
	c2 = CT("b");
	tick("a");
	tick("b");
	SYS(rename("a/f", "b/f"));
	expect_mtime_new("a");
	expect_mtime_new("b");
	expect_newer("source dir ctime", CT("a"), c1);
	expect_newer("target dir ctime", CT("b"), c2);
}

static void t_time_rename_moved_ctime(void)
{
	/* POSIX: implementation-defined; Linux local fs update it. Noted. */
	struct timespec c;

	mkfile("f", 0644, 0, 0, "x");
	c = prep("f");
	SYS(rename("f", "g"));
	expect_mtime_old("g");
	note("moved file ctime %s", ts_after(CT("g"), c) ? "updated" : "unchanged");
}

static void t_time_link(void)
{
	struct timespec c, cd;

	SYS(mkdir("d", 0755));
	mkfile("f", 0644, 0, 0, "x");
	cd = prep("d");
	c = prep("f");
	SYS(link("f", "d/g"));
	expect_newer("file ctime after link", CT("f"), c);
	expect_mtime_old("f");
	expect_mtime_new("d");
	expect_newer("dir ctime after link", CT("d"), cd);
}

static void t_time_write(void)
{
	struct timespec c;
	int fd;

	mkfile("f", 0644, 0, 0, "data");
	c = prep("f");
	fd = xopen("f", O_WRONLY, 0);
	xwrite(fd, "x", 1);
	close(fd);
	expect_mtime_new("f");
	expect_newer("ctime after write", CT("f"), c);
	expect_eq("atime unchanged by write", xlstat("f").st_atim.tv_sec, OLD_SEC);
}

static void t_time_read_no_change(void)
{
	struct timespec c;
	char b[8];
	int fd;

	mkfile("f", 0644, 0, 0, "data");
	c = prep("f");
	fd = xopen("f", O_RDONLY, 0);
	SYS(read(fd, b, 4));
	close(fd);
	expect_mtime_old("f");
	if (ts_after(CT("f"), c))
		fail("ctime after read: got updated, expected unchanged");
}

static void t_time_chmod_ctime_only(void)
{
	struct timespec c;

	mkfile("f", 0644, 0, 0, "data");
	c = prep("f");
	SYS(chmod("f", 0600));
	expect_mtime_old("f");
	expect_eq("atime unchanged by chmod", xlstat("f").st_atim.tv_sec, OLD_SEC);
	expect_newer("ctime after chmod", CT("f"), c);
}

static void t_time_chown_ctime_only(void)
{
	struct timespec c;

	mkfile("f", 0644, 0, 0, "data");
	c = prep("f");
	SYS(chown("f", 1000, 1000));
	expect_mtime_old("f");
	expect_newer("ctime after chown", CT("f"), c);
}

static void t_time_truncate(void)
{
	struct timespec c;
	int fd;

	mkfile("f", 0644, 0, 0, "data");
	c = prep("f");
	SYS(truncate("f", 2));
	expect_mtime_new("f");
	expect_newer("ctime after truncate", CT("f"), c);
	c = prep("f");
	fd = xopen("f", O_WRONLY, 0);
	SYS(ftruncate(fd, 100));
	close(fd);
	expect_mtime_new("f");
	expect_newer("ctime after ftruncate (extend)", CT("f"), c);
}

static void t_time_open_trunc(void)
{
	struct timespec c;

	mkfile("f", 0644, 0, 0, "data");
	c = prep("f");
	close(xopen("f", O_WRONLY | O_TRUNC, 0));
	expect_mtime_new("f");
	expect_newer("ctime after O_TRUNC", CT("f"), c);
}

static void t_time_utimensat_now(void)
{
	struct timespec c;
	struct stat st;

	mkfile("f", 0644, 0, 0, "data");
	c = prep("f");
	SYS(utimensat(AT_FDCWD, "f", NULL, 0));
	st = xlstat("f");
	expect_newer("mtime after utimensat(NULL)", st.st_mtim, c);
	expect_newer("atime after utimensat(NULL)", st.st_atim, c);
	expect_newer("ctime after utimensat(NULL)", st.st_ctim, c);
}

static void t_time_utime_now_omit(void)
{
	struct timespec ts[2] = {{0, UTIME_NOW}, {0, UTIME_OMIT}};
	struct timespec c;
	struct stat st;

	mkfile("f", 0644, 0, 0, "data");
	c = prep("f");
	SYS(utimensat(AT_FDCWD, "f", ts, 0));
	st = xlstat("f");
	expect_newer("atime after UTIME_NOW", st.st_atim, c);
	expect_mtime_old("f");
	ts[0].tv_nsec = UTIME_OMIT;
	ts[1].tv_sec = OLD_SEC + 7;
	ts[1].tv_nsec = 0;
	SYS(utimensat(AT_FDCWD, "f", ts, 0));
	st = xlstat("f");
	expect_eq("mtime set explicitly", st.st_mtim.tv_sec, OLD_SEC + 7);
	expect_true("atime kept by UTIME_OMIT", st.st_atim.tv_sec > OLD_SEC);
	ts[1].tv_nsec = UTIME_OMIT;
	SYS(utimensat(AT_FDCWD, "f", ts, 0));
	expect_eq("both UTIME_OMIT: mtime", xlstat("f").st_mtim.tv_sec, OLD_SEC + 7);
}

static void t_time_utime_explicit(void)
{
	struct timespec ts[2] = {{OLD_SEC + 100, 0}, {OLD_SEC + 200, 0}};
	struct stat st;

	mkfile("f", 0644, 0, 0, "data");
	SYS(utimensat(AT_FDCWD, "f", ts, 0));
	st = xlstat("f");
	expect_eq("atime sec", st.st_atim.tv_sec, OLD_SEC + 100);
	expect_eq("mtime sec", st.st_mtim.tv_sec, OLD_SEC + 200);
	expect_eq("mtime nsec", st.st_mtim.tv_nsec, 0);
	ts[1].tv_nsec = 123456789;
	SYS(utimensat(AT_FDCWD, "f", ts, 0));
	st = xlstat("f");
	expect_eq("mtime sec (with nsec)", st.st_mtim.tv_sec, OLD_SEC + 200);
	/* granularity is fs-specific: note what is kept */
	if (st.st_mtim.tv_nsec > 123456789)
		fail("mtime nsec: got %ld, expected <= 123456789", st.st_mtim.tv_nsec);
	note("mtime nsec kept: %ld", st.st_mtim.tv_nsec);
	ts[1].tv_sec = 1;
	ts[1].tv_nsec = 0;
	SYS(utimensat(AT_FDCWD, "f", ts, 0));
	expect_eq("mtime 1 (1970)", xlstat("f").st_mtim.tv_sec, 1);
	ts[1].tv_sec = 4102444800L; /* 2100-01-01: beyond 2038 */
	SYS(utimensat(AT_FDCWD, "f", ts, 0));
	expect_eq("mtime in 2100", xlstat("f").st_mtim.tv_sec, 4102444800L);
}

static void t_time_utime_nofollow(void)
{
	struct timespec ts[2] = {{OLD_SEC, 0}, {OLD_SEC + 5, 0}};

	mkfile("f", 0644, 0, 0, "data");
	SYS(symlink("f", "l"));
	SYS(utimensat(AT_FDCWD, "l", ts, AT_SYMLINK_NOFOLLOW));
	expect_eq("symlink mtime", xlstat("l").st_mtim.tv_sec, OLD_SEC + 5);
	if (xstat("f").st_mtim.tv_sec == OLD_SEC + 5)
		fail("target mtime: got changed, expected unchanged");
	SYS(utimensat(AT_FDCWD, "l", ts, 0));
	expect_eq("target mtime via follow", xstat("f").st_mtim.tv_sec, OLD_SEC + 5);
}

static void t_time_futimens(void)
{
	struct timespec ts[2] = {{OLD_SEC + 1, 0}, {OLD_SEC + 2, 0}};
	int fd;

	mkfile("f", 0644, 0, 0, "data");
	fd = xopen("f", O_RDONLY, 0);
	SYS(futimens(fd, ts));
	expect_eq("mtime after futimens", xfstat(fd).st_mtim.tv_sec, OLD_SEC + 2);
	expect_eq("atime after futimens", xfstat(fd).st_atim.tv_sec, OLD_SEC + 1);
	close(fd);
}

static void t_time_setxattr_ctime(void)
{
	struct timespec c;

	mkfile("f", 0644, 0, 0, "data");
	c = prep("f");
	SYS(setxattr("f", "user.t", "1", 1, 0));
	expect_newer("ctime after setxattr", CT("f"), c);
	expect_mtime_old("f");
	c = prep("f");
	SYS(removexattr("f", "user.t"));
	expect_newer("ctime after removexattr", CT("f"), c);
}

static void t_time_mmap_write(void)
{
	struct timespec c;
	char *m;
	int fd;

	mkfile("f", 0644, 0, 0, NULL);
	SYS(truncate("f", 4096));
	c = prep("f");
	fd = xopen("f", O_RDWR, 0);
	m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		fail("mmap: got %s, expected success", ename(errno));
	m[10] = 'z';
	SYS(msync(m, 4096, MS_SYNC));
	munmap(m, 4096);
	close(fd);
	expect_mtime_new("f");
	expect_newer("ctime after mmap write + msync", CT("f"), c);
}

const struct tcase cases_a[] = {
	{"setup.unpriv_access", "unprivileged uids can reach DIR; new files get caller's uid/gid", t_setup_unpriv_access, 0},
	{"perm.root_dac_override", "root bypasses rwx on files and dirs (mode 000)", t_perm_root_dac_override, 0},
	{"perm.root_exec_needs_xbit", "root exec needs at least one x bit", t_perm_root_exec_needs_xbit, 0},
	{"perm.owner_read_only", "owner with r-- reads, cannot write", t_perm_owner_read_only, 0},
	{"perm.owner_write_only", "owner with -w- writes, cannot read", t_perm_owner_write_only, 0},
	{"perm.owner_class_precedence", "owner class bits apply even if group/other allow", t_perm_owner_class_precedence, 0},
	{"perm.group_primary", "group bits apply to primary gid", t_perm_group_primary, 0},
	{"perm.group_supplementary", "group bits apply to supplementary groups", t_perm_group_supplementary, 0},
	{"perm.group_class_precedence", "group class bits apply even if other allows", t_perm_group_class_precedence, 0},
	{"perm.other", "other bits for non-owner non-member", t_perm_other, 0},
	{"perm.exec", "exec permission for owner and other", t_perm_exec, 0},
	{"perm.dir_read_no_search", "dir r without x: list ok, lookup EACCES", t_perm_dir_read_no_search, 0},
	{"perm.dir_search_no_read", "dir x without r: lookup ok, list EACCES", t_perm_dir_search_no_read, 0},
	{"perm.dir_write_needs_search", "create needs w and x on the dir", t_perm_dir_write_needs_search, 0},
	{"perm.dir_create_denied", "create/mkdir/symlink/mkfifo without dir write => EACCES", t_perm_dir_create_denied, 0},
	{"perm.unlink_needs_dir_write", "unlink/rename need dir write, not file write", t_perm_unlink_needs_dir_write, 0},
	{"perm.rename_dir_needs_write", "moving a dir to a new parent needs write on it", t_perm_rename_dir_needs_write, 0},
	{"perm.chmod_owner_only", "chmod by non-owner => EPERM", t_perm_chmod_owner_only, 0},
	{"perm.chown_unpriv", "unprivileged chown/chgrp rules", t_perm_chown_unpriv, 0},
	{"perm.root_chown", "root chown/lchown, chown follows symlinks", t_perm_root_chown, 0},
	{"perm.utimes_nonowner", "utimensat NULL needs write access, explicit needs ownership", t_perm_utimes_nonowner, 0},
	{"perm.truncate", "truncate needs write permission", t_perm_truncate, 0},
	{"perm.access", "access() for group/other/root", t_perm_access, 0},
	{"perm.chmod_sgid_nonmember", "chmod g+s by owner outside the group clears S_ISGID", t_perm_chmod_sgid_nonmember, 0},
	{"perm.open_trunc_needs_write", "O_WRONLY|O_TRUNC without write => EACCES, file intact", t_perm_open_trunc_needs_write, 0},
	{"perm.create_rdonly_mode_rw_fd", "O_CREAT|O_RDWR with mode 0444 gives a writable fd", t_perm_create_rdonly_mode_gives_rw_fd, 0},
	{"sticky.unlink_other", "sticky dir: unlink of others' file => EPERM", t_sticky_unlink_other, 0},
	{"sticky.rename_other", "sticky dir: rename of/over others' file => EPERM", t_sticky_rename_other, 0},
	{"sticky.dir_owner", "sticky dir: dir owner may unlink others' files", t_sticky_dir_owner, 0},
	{"sticky.root", "sticky dir: root may unlink", t_sticky_root, 0},
	{"sticky.rmdir_other", "sticky dir: rmdir of others' dir => EPERM", t_sticky_rmdir_other, 0},
	{"sticky.mkdir_keeps_svtx", "mkdir honours S_ISVTX in mode", t_sticky_mkdir_keeps_svtx, 0},
	{"sgid.file_group", "file in setgid dir gets dir's group", t_sgid_file_group, 0},
	{"sgid.subdir_inherits", "subdir of setgid dir gets group and S_ISGID", t_sgid_subdir_inherits, 0},
	{"sgid.unpriv_nonmember", "setgid dir inheritance for a non-member creator", t_sgid_unpriv_nonmember, 0},
	{"sgid.plain_dir_uses_fsgid", "non-setgid dir: new entries get creator's gid", t_sgid_plain_dir_uses_fsgid, 0},
	{"sgid.create_mode_stripped", "create with S_ISGID by non-member strips S_ISGID", t_sgid_create_mode_stripped, 0},
	{"sgid.mkdir_mode_ignored", "mkdir ignores S_ISGID/S_ISUID in mode", t_sgid_mkdir_mode_ignored, 0},
	{"suid.write_unpriv", "write by unprivileged non-owner clears S_ISUID", t_suid_write_unpriv, 0},
	{"suid.write_owner_unpriv", "write by unprivileged owner clears S_ISUID", t_suid_write_owner_unpriv, 0},
	{"suid.write_sgid_gx", "write clears S_ISUID and S_ISGID (with g+x)", t_suid_write_sgid_gx, 0},
	{"suid.write_sgid_no_gx", "S_ISGID without g+x: kept for group member, cleared otherwise", t_suid_write_sgid_no_gx, 0},
	{"suid.write_root_keeps", "write by root keeps S_ISUID/S_ISGID", t_suid_write_root_keeps, 0},
	{"suid.truncate_unpriv", "truncate/ftruncate by unprivileged clears suid/sgid", t_suid_truncate_unpriv, 0},
	{"suid.chown_root", "chown by root clears S_ISUID/S_ISGID of a file", t_suid_chown_root, 0},
	{"suid.chown_dir_keeps", "chown keeps S_ISGID of a directory", t_suid_chown_dir_keeps, 0},
	{"suid.chown_unpriv", "chgrp by unprivileged owner clears suid/sgid", t_suid_chown_unpriv, 0},
	{"time.create_parent", "create/mkdir/mkfifo/symlink update parent mtime+ctime", t_time_create_parent, 0},
	{"time.new_file_times", "new file gets current atime/mtime/ctime", t_time_new_file_times, 0},
	{"time.unlink", "unlink/rmdir update parent; unlink updates file ctime", t_time_unlink, 0},
	{"time.rename_parents", "rename updates both parents' mtime+ctime", t_time_rename_parents, 0},
	{"time.rename_moved_ctime", "rename: moved entry's mtime kept, ctime noted", t_time_rename_moved_ctime, 0},
	{"time.link", "link updates file ctime and dir mtime+ctime", t_time_link, 0},
	{"time.write", "write updates mtime+ctime, not atime", t_time_write, 0},
	{"time.read_no_change", "read changes neither mtime nor ctime", t_time_read_no_change, 0},
	{"time.chmod_ctime_only", "chmod updates ctime only", t_time_chmod_ctime_only, 0},
	{"time.chown_ctime_only", "chown updates ctime only", t_time_chown_ctime_only, 0},
	{"time.truncate", "truncate/ftruncate update mtime+ctime", t_time_truncate, 0},
	{"time.open_trunc", "O_TRUNC of non-empty file updates mtime+ctime", t_time_open_trunc, 0},
	{"time.utimensat_now", "utimensat(NULL) sets now", t_time_utimensat_now, 0},
	{"time.utime_now_omit", "UTIME_NOW / UTIME_OMIT", t_time_utime_now_omit, 0},
	{"time.utime_explicit", "explicit times incl. 1970 and 2100", t_time_utime_explicit, 0},
	{"time.utime_nofollow", "AT_SYMLINK_NOFOLLOW sets the link's times", t_time_utime_nofollow, 0},
	{"time.futimens", "futimens on an O_RDONLY fd", t_time_futimens, 0},
	{"time.setxattr_ctime", "setxattr/removexattr update ctime, not mtime", t_time_setxattr_ctime, 0},
	{"time.mmap_write", "mmap store + msync updates mtime+ctime", t_time_mmap_write, 0},
	{NULL, NULL, NULL, 0}};
