/* SPDX-License-Identifier: MIT */
/* Namespace operations: links, rename, names, errors, open flags, mknod. */
#include "harness.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#define RENAME_EXCHANGE (1 << 1)
#endif

static int rename2(const char *a, const char *b, unsigned flags)
{
	return (int)syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, flags);
}

static int same_inode(const char *a, const char *b)
{
	struct stat x = xlstat(a), y = xlstat(b);

	return x.st_ino == y.st_ino && x.st_dev == y.st_dev;
}

/* ===== link counts ===== */
static void t_link_file_nlink(void)
{
	int fd;

	mkfile("f", 0644, 0, 0, "data");
	expect_eq("nlink of new file", xlstat("f").st_nlink, 1);
	SYS(link("f", "g"));
	expect_eq("nlink after link", xlstat("f").st_nlink, 2);
	expect_true("both names are the same inode", same_inode("f", "g"));
	expect_content("g", "data");
	fd = xopen("g", O_RDONLY, 0);
	SYS(unlink("f"));
	expect_eq("nlink after unlink", xlstat("g").st_nlink, 1);
	SYS(unlink("g"));
	expect_eq("nlink of open fd after last unlink", xfstat(fd).st_nlink, 0);
}

static void t_link_dir_nlink(void)
{
	SYS(mkdir("d", 0755));
	expect_eq("nlink of new dir", xlstat("d").st_nlink, 2);
	SYS(mkdir("d/a", 0755));
	SYS(mkdir("d/b", 0755));
	SYS(mkdir("d/c", 0755));
	mkfile("d/f", 0644, 0, 0, NULL);
	expect_eq("nlink with 3 subdirs and a file", xlstat("d").st_nlink, 5);
	SYS(rmdir("d/c"));
	expect_eq("nlink after rmdir", xlstat("d").st_nlink, 4);
	SYS(mkdir("e", 0755));
	SYS(rename("d/b", "e/b"));
	expect_eq("source parent nlink after moving a subdir out", xlstat("d").st_nlink, 3);
	expect_eq("target parent nlink after moving a subdir in", xlstat("e").st_nlink, 3);
	SYS(rename("e/b", "e/b2"));
	expect_eq("nlink after rename within dir", xlstat("e").st_nlink, 3);
}

static void t_link_dir_eperm(void)
{
	SYS(mkdir("d", 0755));
	expect_err("link() of a directory", ERR(link("d", "d2")), EPERM);
}

static void t_link_errors(void)
{
	mkfile("f", 0644, 0, 0, "x");
	mkfile("g", 0644, 0, 0, "x");
	expect_err("link to existing name", ERR(link("f", "g")), EEXIST);
	expect_err("link of missing file", ERR(link("nope", "h")), ENOENT);
	expect_err("link into missing dir", ERR(link("f", "nodir/h")), ENOENT);
	expect_err("link with file as dir component", ERR(link("f", "g/h")), ENOTDIR);
}

static void t_link_symlink_nofollow(void)
{
	mkfile("f", 0644, 0, 0, "x");
	SYS(symlink("f", "l"));
	SYS(link("l", "l2"));
	expect_true("link() of symlink makes a symlink", S_ISLNK(xlstat("l2").st_mode));
	expect_eq("symlink nlink", xlstat("l").st_nlink, 2);
	SYS(linkat(AT_FDCWD, "l", AT_FDCWD, "f2", AT_SYMLINK_FOLLOW));
	expect_true("AT_SYMLINK_FOLLOW links the target", same_inode("f", "f2"));
}

static void t_link_unlinked_enoent(void)
{
	char p[64];
	int fd;

	mkfile("f", 0644, 0, 0, "x");
	fd = xopen("f", O_RDWR, 0);
	SYS(unlink("f"));
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	expect_err("relink an unlinked (non-O_TMPFILE) file", ERR(linkat(AT_FDCWD, p, AT_FDCWD, "g", AT_SYMLINK_FOLLOW)), ENOENT);
}

/* ===== symlinks ===== */
static void t_symlink_basic(void)
{
	char buf[64];
	struct stat st;
	ssize_t n;

	SYS(symlink("some/target", "l"));
	st = xlstat("l");
	expect_true("S_ISLNK", S_ISLNK(st.st_mode));
	expect_eq("symlink st_size", st.st_size, 11);
	n = readlink("l", buf, sizeof(buf));
	expect_eq("readlink length", n, 11);
	expect_true("readlink content", !memcmp(buf, "some/target", 11));
	n = readlink("l", buf, 4);
	expect_eq("readlink with small buffer truncates", n, 4);
	expect_err("stat dangling symlink", ERR(stat("l", &st)), ENOENT);
	mkfile("f", 0644, 0, 0, "x");
	expect_err("readlink of regular file", (int)readlink("f", buf, sizeof(buf)) == -1 ? errno : 0, EINVAL);
	expect_err("symlink over existing", ERR(symlink("x", "f")), EEXIST);
}

static void t_symlink_long_target(void)
{
	char t[4097], buf[4097];
	ssize_t n;

	memset(t, 'a', 4095);
	for (int i = 100; i < 4095; i += 100)
		t[i] = '/';
	t[4095] = 0;
	SYS(symlink(t, "l"));
	n = readlink("l", buf, sizeof(buf));
	expect_eq("readlink of 4095-byte target", n, 4095);
	expect_true("content", !memcmp(buf, t, 4095));
	t[4095] = 'a';
	t[4096] = 0;
	expect_err("symlink target of 4096 bytes", ERR(symlink(t, "l2")), ENAMETOOLONG);
}

static void t_symlink_follow_dir(void)
{
	SYS(mkdir("d", 0755));
	mkfile("d/f", 0644, 0, 0, "in-d");
	SYS(symlink("d", "l"));
	expect_content("l/f", "in-d");
	expect_true("stat(l/) is a dir", S_ISDIR(xstat("l/").st_mode));
	expect_true("lstat(l/) follows too", S_ISDIR(xlstat("l/").st_mode));
	SYS(symlink("../d/f", "d/rel"));
	expect_content("d/rel", "in-d");
}

/* ===== rename ===== */
static void t_rename_file_over_file(void)
{
	int fd;

	mkfile("a", 0644, 0, 0, "A");
	mkfile("b", 0644, 0, 0, "B");
	fd = xopen("b", O_RDONLY, 0);
	SYS(rename("a", "b"));
	expect_content("b", "A");
	expect_err("old name gone", ERR(access("a", F_OK)), ENOENT);
	expect_eq("replaced file still open, nlink", xfstat(fd).st_nlink, 0);
}

static void t_rename_dir_over_empty_dir(void)
{
	SYS(mkdir("a", 0755));
	mkfile("a/f", 0644, 0, 0, "x");
	SYS(mkdir("b", 0755));
	SYS(rename("a", "b"));
	expect_content("b/f", "x");
	expect_err("old dir gone", ERR(access("a", F_OK)), ENOENT);
}

static void t_rename_dir_over_nonempty(void)
{
	SYS(mkdir("a", 0755));
	SYS(mkdir("b", 0755));
	mkfile("b/f", 0644, 0, 0, "x");
	expect_err2("rename dir over non-empty dir", ERR(rename("a", "b")), ENOTEMPTY, EEXIST);
	SYS(access("a", F_OK));
	SYS(access("b/f", F_OK));
}

static void t_rename_type_mismatch(void)
{
	SYS(mkdir("d", 0755));
	mkfile("f", 0644, 0, 0, "x");
	expect_err("rename file over dir", ERR(rename("f", "d")), EISDIR);
	expect_err("rename dir over file", ERR(rename("d", "f")), ENOTDIR);
	expect_err("rename file to name with trailing slash", ERR(rename("f", "g/")), ENOTDIR);
	expect_err("rename file with trailing slash", ERR(rename("f/", "g")), ENOTDIR);
	SYS(rename("d/", "e/"));
	expect_true("dir renamed with trailing slashes", S_ISDIR(xlstat("e").st_mode));
}

static void t_rename_into_descendant(void)
{
	SYS(mkdir("a", 0755));
	SYS(mkdir("a/b", 0755));
	expect_err("rename dir into its child", ERR(rename("a", "a/b/c")), EINVAL);
	expect_err("rename dir into itself", ERR(rename("a", "a/c")), EINVAL);
}

static void t_rename_same_inode(void)
{
	mkfile("a", 0644, 0, 0, "x");
	SYS(link("a", "b"));
	SYS(rename("a", "b"));
	/* POSIX: rename of two links to the same file does nothing */
	SYS(access("a", F_OK));
	SYS(access("b", F_OK));
	expect_eq("nlink", xlstat("a").st_nlink, 2);
	SYS(rename("a", "a"));
	SYS(access("a", F_OK));
}

static void t_rename_dot(void)
{
	SYS(mkdir("d", 0755));
	expect_err2("rename d/. ", ERR(rename("d/.", "e")), EINVAL, EBUSY);
	expect_err2("rename to d/..", ERR(rename("d", "d/..")), EINVAL, EBUSY);
}

static void t_rename_errors(void)
{
	mkfile("f", 0644, 0, 0, "x");
	expect_err("rename missing source", ERR(rename("nope", "g")), ENOENT);
	expect_err("rename into missing dir", ERR(rename("f", "nodir/g")), ENOENT);
	expect_err("rename with file as dir component", ERR(rename("f", "f/g")), ENOTDIR);
}

static void t_rename_dir_dotdot(void)
{
	struct stat a, b;

	SYS(mkdir("p1", 0755));
	SYS(mkdir("p2", 0755));
	SYS(mkdir("p1/d", 0755));
	SYS(rename("p1/d", "p2/d"));
	a = xstat("p2/d/..");
	b = xstat("p2");
	expect_true("moved dir's .. is the new parent", a.st_ino == b.st_ino && a.st_dev == b.st_dev);
	mkfile("p2/d/../x", 0644, 0, 0, "y");
	expect_content("p2/x", "y");
}

static void t_rename_cross_dir_file(void)
{
	SYS(mkdir("a", 0755));
	SYS(mkdir("b", 0755));
	mkfile("a/f", 0644, 0, 0, "content");
	mkfile("b/f", 0644, 0, 0, "old");
	SYS(rename("a/f", "b/f"));
	expect_content("b/f", "content");
	expect_err("source gone", ERR(access("a/f", F_OK)), ENOENT);
}

static void t_rename_noreplace(void)
{
	mkfile("a", 0644, 0, 0, "A");
	mkfile("b", 0644, 0, 0, "B");
	expect_err("RENAME_NOREPLACE over existing", ERR(rename2("a", "b", RENAME_NOREPLACE)), EEXIST);
	expect_content("b", "B");
	expect_ok("RENAME_NOREPLACE to new name", ERR(rename2("a", "c", RENAME_NOREPLACE)));
	expect_content("c", "A");
	SYS(mkdir("d", 0755));
	expect_err("RENAME_NOREPLACE over dir", ERR(rename2("c", "d", RENAME_NOREPLACE)), EEXIST);
}

static void t_rename_exchange(void)
{
	mkfile("a", 0644, 0, 0, "A");
	mkfile("b", 0644, 0, 0, "B");
	expect_ok("RENAME_EXCHANGE", ERR(rename2("a", "b", RENAME_EXCHANGE)));
	expect_content("a", "B");
	expect_content("b", "A");
	SYS(mkdir("d", 0755));
	mkfile("d/in", 0644, 0, 0, "I");
	expect_ok("RENAME_EXCHANGE file <-> dir", ERR(rename2("a", "d", RENAME_EXCHANGE)));
	expect_content("a/in", "I");
	expect_content("d", "B");
	expect_err("RENAME_EXCHANGE with missing target", ERR(rename2("b", "nope", RENAME_EXCHANGE)), ENOENT);
	expect_err("RENAME_EXCHANGE|RENAME_NOREPLACE", ERR(rename2("b", "d", RENAME_EXCHANGE | RENAME_NOREPLACE)), EINVAL);
}

static void t_rename_exchange_dirs_nlink(void)
{
	SYS(mkdir("p1", 0755));
	SYS(mkdir("p2", 0755));
	SYS(mkdir("p1/d", 0755));
	mkfile("p2/f", 0644, 0, 0, "x");
	SYS(rename2("p1/d", "p2/f", RENAME_EXCHANGE));
	expect_true("dir now in p2", S_ISDIR(xlstat("p2/f").st_mode));
	expect_eq("p1 nlink", xlstat("p1").st_nlink, 2);
	expect_eq("p2 nlink", xlstat("p2").st_nlink, 3);
}

/* ===== names ===== */
static char *name_of(int len, char c)
{
	static char buf[2][300];
	static int which;
	char *b = buf[which++ & 1];

	memset(b, c, len);
	b[len] = 0;
	return b;
}

static void t_name_255_ok(void)
{
	char *n = name_of(255, 'a');
	struct dirent *e;
	int found = 0;
	DIR *d;

	mkfile(n, 0644, 0, 0, "x");
	expect_content(n, "x");
	d = opendir(".");
	while ((e = readdir(d)))
		if (!strcmp(e->d_name, n))
			found++;
	closedir(d);
	expect_eq("readdir finds the 255-byte name", found, 1);
	SYS(mkdir(name_of(255, 'b'), 0755));
	SYS(symlink("x", name_of(255, 'c')));
	SYS(rename(n, name_of(255, 'd')));
	SYS(unlink(name_of(255, 'd')));
}

static void t_name_256_enametoolong(void)
{
	char *n = name_of(256, 'a');

	mkfile("f", 0644, 0, 0, "x");
	expect_err("create 256-byte name", ERR(open(n, O_CREAT | O_WRONLY, 0644)), ENAMETOOLONG);
	expect_err("mkdir 256-byte name", ERR(mkdir(n, 0755)), ENAMETOOLONG);
	expect_err("symlink 256-byte name", ERR(symlink("x", n)), ENAMETOOLONG);
	expect_err("link to 256-byte name", ERR(link("f", n)), ENAMETOOLONG);
	expect_err("rename to 256-byte name", ERR(rename("f", n)), ENAMETOOLONG);
	expect_err("mkfifo 256-byte name", ERR(mkfifo(n, 0644)), ENAMETOOLONG);
	expect_err("stat 256-byte name", ERR(access(n, F_OK)), ENAMETOOLONG);
}

static void t_name_path_max(void)
{
	char *p = malloc(5000);
	int i;

	for (i = 0; i + 2 < 4200; i += 2)
		memcpy(p + i, "./", 2);
	strcpy(p + i, "f");
	expect_err("path longer than PATH_MAX", ERR(open(p, O_CREAT | O_WRONLY, 0644)), ENAMETOOLONG);
	free(p);
}

static void t_name_bytes(void)
{
	static const char *names[] = {"a b", "nl\nx", "tab\tx", "\xc3\xa9t\xc3\xa9", "\xff\xfe\x01", "-", "...", "A", "a", "#%*?[]", NULL};
	int seen[16] = {0};
	struct dirent *e;
	DIR *d;

	SYS(mkdir("d", 0755));
	SYS(chdir("d"));
	for (int i = 0; names[i]; i++)
		mkfile(names[i], 0644, 0, 0, names[i]);
	d = opendir(".");
	while ((e = readdir(d)))
		for (int i = 0; names[i]; i++)
			if (!strcmp(e->d_name, names[i]))
				seen[i]++;
	closedir(d);
	for (int i = 0; names[i]; i++) {
		if (seen[i] != 1)
			fail("readdir count of name #%d: got %d, expected 1", i, seen[i]);
		expect_content(names[i], names[i]);
	}
	SYS(chdir(".."));
}

static void t_name_dot_dotdot(void)
{
	SYS(mkdir("d", 0755));
	expect_err("mkdir .", ERR(mkdir("d/.", 0755)), EEXIST);
	expect_err("mkdir ..", ERR(mkdir("d/..", 0755)), EEXIST);
	expect_err("open(. , O_CREAT|O_EXCL)", ERR(open("d/.", O_CREAT | O_EXCL | O_RDONLY, 0644)), EEXIST);
	expect_err("open(. , O_WRONLY)", ERR(open("d/.", O_WRONLY)), EISDIR);
	expect_err("rmdir d/.", ERR(rmdir("d/.")), EINVAL);
	expect_err2("rmdir d/..", ERR(rmdir("d/..")), ENOTEMPTY, EEXIST);
	expect_err("unlink d/.", ERR(unlink("d/.")), EISDIR);
}

/* ===== errors ===== */
static void t_err_rmdir_nonempty(void)
{
	SYS(mkdir("d", 0755));
	mkfile("d/f", 0644, 0, 0, NULL);
	expect_err2("rmdir non-empty dir", ERR(rmdir("d")), ENOTEMPTY, EEXIST);
	SYS(unlink("d/f"));
	SYS(mkdir("d/s", 0755));
	expect_err2("rmdir dir with subdir", ERR(rmdir("d")), ENOTEMPTY, EEXIST);
}

static void t_err_eexist(void)
{
	mkfile("f", 0644, 0, 0, NULL);
	SYS(mkdir("d", 0755));
	SYS(symlink("nowhere", "dangling"));
	expect_err("mkdir over file", ERR(mkdir("f", 0755)), EEXIST);
	expect_err("mkdir over dir", ERR(mkdir("d", 0755)), EEXIST);
	expect_err("mkdir over dangling symlink", ERR(mkdir("dangling", 0755)), EEXIST);
	expect_err("O_CREAT|O_EXCL on file", ERR(open("f", O_CREAT | O_EXCL | O_WRONLY, 0644)), EEXIST);
	expect_err("O_CREAT|O_EXCL on dir", ERR(open("d", O_CREAT | O_EXCL | O_RDONLY, 0644)), EEXIST);
	expect_err("O_CREAT|O_EXCL on dangling symlink", ERR(open("dangling", O_CREAT | O_EXCL | O_WRONLY, 0644)), EEXIST);
	expect_err("dangling symlink target not created", ERR(access("nowhere", F_OK)), ENOENT);
	expect_err("mkfifo over file", ERR(mkfifo("f", 0644)), EEXIST);
}

static void t_err_creat_through_dangling(void)
{
	/* O_CREAT without O_EXCL follows a dangling symlink and creates the target */
	SYS(symlink("target", "l"));
	close(xopen("l", O_CREAT | O_WRONLY, 0644));
	expect_true("target created", S_ISREG(xlstat("target").st_mode));
}

static void t_err_eloop(void)
{
	struct stat st;

	SYS(symlink("b", "a"));
	SYS(symlink("a", "b"));
	SYS(symlink("s", "s"));
	expect_err("open symlink loop", ERR(open("a", O_RDONLY)), ELOOP);
	expect_err("stat symlink loop", ERR(stat("a", &st)), ELOOP);
	expect_err("open self-loop", ERR(open("s/x", O_RDONLY)), ELOOP);
	expect_ok("lstat of a loop member", ERR(lstat("a", &st)));
}

static void t_err_nofollow(void)
{
	mkfile("f", 0644, 0, 0, "x");
	SYS(mkdir("d", 0755));
	mkfile("d/g", 0644, 0, 0, "y");
	SYS(symlink("f", "l"));
	SYS(symlink("d", "ld"));
	expect_err("O_NOFOLLOW on symlink", ERR(open("l", O_RDONLY | O_NOFOLLOW)), ELOOP);
	expect_err("O_NOFOLLOW|O_CREAT on symlink", ERR(open("l", O_WRONLY | O_CREAT | O_NOFOLLOW, 0644)), ELOOP);
	expect_ok("O_NOFOLLOW on regular file", ERR(open("f", O_RDONLY | O_NOFOLLOW)));
	expect_ok("O_NOFOLLOW with symlink in a middle component", ERR(open("ld/g", O_RDONLY | O_NOFOLLOW)));
	expect_ok("O_PATH|O_NOFOLLOW on symlink", ERR(open("l", O_PATH | O_NOFOLLOW)));
	expect_err("O_DIRECTORY|O_NOFOLLOW on symlink to dir", ERR(open("ld", O_RDONLY | O_DIRECTORY | O_NOFOLLOW)), ENOTDIR);
}

static void t_err_enotdir(void)
{
	struct stat st;

	mkfile("f", 0644, 0, 0, "x");
	expect_err("open f/x", ERR(open("f/x", O_RDONLY)), ENOTDIR);
	expect_err("create f/x", ERR(open("f/x", O_CREAT | O_WRONLY, 0644)), ENOTDIR);
	expect_err("mkdir f/x", ERR(mkdir("f/x", 0755)), ENOTDIR);
	expect_err("stat f/", ERR(stat("f/", &st)), ENOTDIR);
	expect_err("O_DIRECTORY on file", ERR(open("f", O_RDONLY | O_DIRECTORY)), ENOTDIR);
	expect_err("rmdir file", ERR(rmdir("f")), ENOTDIR);
	expect_err("opendir file", opendir("f") ? 0 : errno, ENOTDIR);
}

static void t_err_eisdir(void)
{
	char b[8];
	int fd;

	SYS(mkdir("d", 0755));
	expect_err("open dir O_WRONLY", ERR(open("d", O_WRONLY)), EISDIR);
	expect_err("open dir O_RDWR", ERR(open("d", O_RDWR)), EISDIR);
	expect_err("open dir O_CREAT|O_WRONLY", ERR(open("d", O_CREAT | O_WRONLY, 0644)), EISDIR);
	expect_err("create with trailing slash", ERR(open("new/", O_CREAT | O_WRONLY, 0644)), EISDIR);
	fd = xopen("d", O_RDONLY, 0);
	expect_err("read() on dir fd", (int)read(fd, b, sizeof(b)) == -1 ? errno : 0, EISDIR);
	expect_err2("unlink dir", ERR(unlink("d")), EISDIR, EPERM);
	expect_err("truncate dir", ERR(truncate("d", 0)), EISDIR);
}

static void t_err_enoent(void)
{
	struct stat st;

	expect_err("open missing", ERR(open("nope", O_RDONLY)), ENOENT);
	expect_err("create in missing dir", ERR(open("nodir/f", O_CREAT | O_WRONLY, 0644)), ENOENT);
	expect_err("unlink missing", ERR(unlink("nope")), ENOENT);
	expect_err("rmdir missing", ERR(rmdir("nope")), ENOENT);
	expect_err("stat empty path", ERR(stat("", &st)), ENOENT);
	expect_err("chmod missing", ERR(chmod("nope", 0644)), ENOENT);
	expect_err("readlink missing", (int)readlink("nope", (char *)&st, 8) == -1 ? errno : 0, ENOENT);
}

static void t_err_ebadf(void)
{
	char b[4];
	int r, w;

	mkfile("f", 0644, 0, 0, "data");
	r = xopen("f", O_RDONLY, 0);
	w = xopen("f", O_WRONLY, 0);
	expect_err("write on O_RDONLY fd", (int)write(r, "x", 1) == -1 ? errno : 0, EBADF);
	expect_err("read on O_WRONLY fd", (int)read(w, b, 1) == -1 ? errno : 0, EBADF);
	expect_err2("ftruncate on O_RDONLY fd", ERR(ftruncate(r, 0)), EBADF, EINVAL);
	expect_err("lseek to negative offset", (int)lseek(r, -10, SEEK_SET) == -1 ? errno : 0, EINVAL);
	expect_eq("size intact", xstat("f").st_size, 4);
}

/* ===== open flags ===== */
static void t_open_trunc(void)
{
	mkfile("f", 0644, 0, 0, "data");
	close(xopen("f", O_WRONLY | O_TRUNC, 0));
	expect_eq("size after O_TRUNC", xstat("f").st_size, 0);
	mkfile("g", 0644, 0, 0, "data");
	close(xopen("g", O_RDWR | O_CREAT | O_TRUNC, 0600));
	expect_eq("size after O_CREAT|O_TRUNC on existing", xstat("g").st_size, 0);
	expect_mode("g", 0644);
}

static void t_open_append(void)
{
	int fd;

	mkfile("f", 0644, 0, 0, "0123456789");
	fd = xopen("f", O_WRONLY | O_APPEND, 0);
	SYS(lseek(fd, 0, SEEK_SET));
	xwrite(fd, "AB", 2);
	expect_eq("offset after O_APPEND write", lseek(fd, 0, SEEK_CUR), 12);
	SYS(lseek(fd, 3, SEEK_SET));
	xwrite(fd, "C", 1);
	close(fd);
	expect_content("f", "0123456789ABC");
}

static void t_open_append_pwrite(void)
{
	/* pwrite(2) BUGS: on Linux, O_APPEND makes pwrite append regardless of offset */
	int fd;

	mkfile("f", 0644, 0, 0, "0123456789");
	fd = xopen("f", O_WRONLY | O_APPEND, 0);
	xpwrite(fd, "X", 1, 0);
	close(fd);
	expect_content("f", "0123456789X");
}

static void t_open_append_two_fds(void)
{
	int a, b;

	mkfile("f", 0644, 0, 0, NULL);
	a = xopen("f", O_WRONLY | O_APPEND, 0);
	b = xopen("f", O_WRONLY | O_APPEND, 0);
	for (int i = 0; i < 50; i++) {
		xwrite(a, "a", 1);
		xwrite(b, "bb", 2);
	}
	close(a);
	close(b);
	expect_eq("size after interleaved appends", xstat("f").st_size, 150);
}

static void t_open_umask022(void)
{
	umask(022);
	close(xopen("f", O_CREAT | O_WRONLY, 0666));
	expect_mode("f", 0644);
	SYS(mkdir("d", 0777));
	expect_mode("d", 0755);
	SYS(mkfifo("p", 0666));
	expect_mode("p", 0644);
	close(xopen("x", O_CREAT | O_WRONLY, 0751));
	expect_mode("x", 0751);
}

static void t_open_umask077(void)
{
	umask(077);
	close(xopen("f", O_CREAT | O_WRONLY, 0666));
	expect_mode("f", 0600);
	SYS(mkdir("d", 0777));
	expect_mode("d", 0700);
	SYS(mknod("n", S_IFREG | 0644, 0));
	expect_mode("n", 0600);
	umask(0);
	close(xopen("g", O_CREAT | O_WRONLY, 0777));
	expect_mode("g", 0777);
}

static void t_open_creat_existing_mode(void)
{
	mkfile("f", 0640, 0, 0, "data");
	close(xopen("f", O_CREAT | O_WRONLY, 0777));
	expect_mode("f", 0640);
	expect_eq("size", xstat("f").st_size, 4);
}

static void t_open_unlinked(void)
{
	char b[16] = "";
	struct stat st;
	int fd;

	mkfile("f", 0644, 0, 0, "hello");
	fd = xopen("f", O_RDWR, 0);
	SYS(unlink("f"));
	expect_err("name gone", ERR(access("f", F_OK)), ENOENT);
	expect_eq("read after unlink", xpread(fd, b, sizeof(b), 0), 5);
	expect_true("content after unlink", !memcmp(b, "hello", 5));
	xpwrite(fd, " world", 6, 5);
	st = xfstat(fd);
	expect_eq("fstat size", st.st_size, 11);
	expect_eq("fstat nlink", st.st_nlink, 0);
	SYS(ftruncate(fd, 3));
	expect_eq("size after ftruncate", xfstat(fd).st_size, 3);
	SYS(fchmod(fd, 0600));
	expect_eq("mode after fchmod", xfstat(fd).st_mode & 07777, 0600);
	SYS(fsync(fd));
	mkfile("f", 0644, 0, 0, "new");
	expect_eq("old fd unaffected by new file of same name", xfstat(fd).st_size, 3);
}

static void t_open_unlinked_dir(void)
{
	char buf[4096];
	int fd;
	long n;

	SYS(mkdir("d", 0755));
	fd = xopen("d", O_RDONLY | O_DIRECTORY, 0);
	SYS(rmdir("d"));
	expect_eq("fstat nlink of removed dir", xfstat(fd).st_nlink, 0);
	n = syscall(SYS_getdents64, fd, buf, sizeof(buf));
	expect_err("getdents on removed dir", n == -1 ? errno : 0, ENOENT);
	expect_err("create in removed dir", ERR(openat(fd, "x", O_CREAT | O_WRONLY, 0644)), ENOENT);
	expect_err("mkdir in removed dir", ERR(mkdirat(fd, "x", 0755)), ENOENT);
}

static void t_open_tmpfile(void)
{
	char p[64];
	int fd;

	SYS(mkdir("d", 0755));
	fd = open("d", O_TMPFILE | O_RDWR, 0600);
	if (fd < 0) {
		expect_err("O_TMPFILE", errno, EOPNOTSUPP);
		note("O_TMPFILE: EOPNOTSUPP");
		return;
	}
	note("O_TMPFILE: supported");
	expect_eq("O_TMPFILE nlink", xfstat(fd).st_nlink, 0);
	xwrite(fd, "tmp", 3);
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	SYS(linkat(AT_FDCWD, p, AT_FDCWD, "d/named", AT_SYMLINK_FOLLOW));
	expect_content("d/named", "tmp");
	expect_eq("nlink after linkat", xfstat(fd).st_nlink, 1);
	expect_mode("d/named", 0600);
	fd = open("d", O_TMPFILE | O_RDWR | O_EXCL, 0600);
	if (fd < 0)
		fail("O_TMPFILE|O_EXCL: got %s", ename(errno));
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	expect_err("linkat of O_TMPFILE|O_EXCL file", ERR(linkat(AT_FDCWD, p, AT_FDCWD, "d/x", AT_SYMLINK_FOLLOW)), ENOENT);
}

static void t_open_rw_roundtrip(void)
{
	size_t n = 3 * MIB + 1234;
	unsigned char *a = malloc(n), *b = malloc(n);
	int fd;

	for (size_t i = 0; i < n; i++)
		a[i] = (unsigned char)(i * 7 + i / 4096);
	fd = xopen("f", O_CREAT | O_RDWR, 0644);
	xwrite(fd, a, n);
	expect_eq("size", xfstat(fd).st_size, (long long)n);
	expect_eq("read back", xpread(fd, b, n, 0), n);
	expect_true("content identical", !memcmp(a, b, n));
	xpwrite(fd, "XYZ", 3, 1000000);
	expect_eq("pread 3", xpread(fd, b, 3, 1000000), 3);
	expect_true("pwrite content", !memcmp(b, "XYZ", 3));
	close(fd);
	fd = xopen("f", O_RDONLY, 0);
	expect_eq("read across 1 MiB", xpread(fd, b, n, 0), n);
	expect_true("content after reopen", b[999999] == a[999999] && b[1000000] == 'X' && b[n - 1] == a[n - 1]);
}

static void t_open_offsets(void)
{
	char b[8];
	int fd, fd2, d;

	mkfile("f", 0644, 0, 0, "abcdef");
	fd = xopen("f", O_RDONLY, 0);
	d = dup(fd);
	fd2 = xopen("f", O_RDONLY, 0);
	SYS(read(fd, b, 2));
	expect_eq("dup shares offset", lseek(d, 0, SEEK_CUR), 2);
	expect_eq("separate open has own offset", lseek(fd2, 0, SEEK_CUR), 0);
	expect_eq("SEEK_END", lseek(fd, 0, SEEK_END), 6);
	expect_eq("read at EOF", read(fd, b, 8), 0);
	expect_eq("seek past EOF", lseek(fd, 100, SEEK_SET), 100);
	expect_eq("read past EOF", read(fd, b, 8), 0);
}

static void t_open_write_gap(void)
{
	char b[16];
	int fd;

	fd = xopen("f", O_CREAT | O_RDWR, 0644);
	xwrite(fd, "ab", 2);
	SYS(lseek(fd, 10, SEEK_SET));
	xwrite(fd, "z", 1);
	expect_eq("size", xfstat(fd).st_size, 11);
	expect_eq("read", xpread(fd, b, 16, 0), 11);
	expect_true("gap reads as zeros", !memcmp(b, "ab\0\0\0\0\0\0\0\0z", 11));
}

/* ===== mknod ===== */
static void t_mknod_fifo(void)
{
	struct stat st;

	SYS(mkfifo("p", 0666));
	st = xlstat("p");
	expect_true("S_ISFIFO", S_ISFIFO(st.st_mode));
	expect_eq("mode", st.st_mode & 07777, 0644);
	expect_eq("size", st.st_size, 0);
	SYS(mknod("q", S_IFIFO | 0600, 0));
	expect_true("mknod S_IFIFO", S_ISFIFO(xlstat("q").st_mode));
}

static void t_mknod_fifo_io(void)
{
	char b[8] = "";
	int r, w;

	SYS(mkfifo("p", 0600));
	r = xopen("p", O_RDONLY | O_NONBLOCK, 0);
	w = xopen("p", O_WRONLY | O_NONBLOCK, 0);
	xwrite(w, "hello", 5);
	expect_eq("read from fifo", read(r, b, sizeof(b)), 5);
	expect_true("fifo data", !memcmp(b, "hello", 5));
	expect_eq("fifo size stays 0", xstat("p").st_size, 0);
	close(r);
	expect_err("O_WRONLY|O_NONBLOCK without reader", ERR(open("p", O_WRONLY | O_NONBLOCK)), ENXIO);
}

static void t_mknod_chr(void)
{
	struct stat st;

	SYS(mknod("c", S_IFCHR | 0640, makedev(1, 3)));
	st = xlstat("c");
	expect_true("S_ISCHR", S_ISCHR(st.st_mode));
	expect_eq("rdev major", major(st.st_rdev), 1);
	expect_eq("rdev minor", minor(st.st_rdev), 3);
	expect_eq("mode", st.st_mode & 07777, 0640);
}

static void t_mknod_blk(void)
{
	struct stat st;

	SYS(mknod("b", S_IFBLK | 0600, makedev(7, 200)));
	st = xlstat("b");
	expect_true("S_ISBLK", S_ISBLK(st.st_mode));
	expect_eq("rdev major", major(st.st_rdev), 7);
	expect_eq("rdev minor", minor(st.st_rdev), 200);
	SYS(mknod("big", S_IFCHR | 0600, makedev(300, 70000)));
	st = xlstat("big");
	expect_eq("large rdev major", major(st.st_rdev), 300);
	expect_eq("large rdev minor", minor(st.st_rdev), 70000);
}

static void t_mknod_sock_reg(void)
{
	SYS(mknod("s", S_IFSOCK | 0644, 0));
	expect_true("S_ISSOCK", S_ISSOCK(xlstat("s").st_mode));
	SYS(mknod("r", S_IFREG | 0644, 0));
	expect_true("mknod S_IFREG", S_ISREG(xlstat("r").st_mode));
	expect_eq("size", xlstat("r").st_size, 0);
	expect_err("mknod over existing", ERR(mknod("r", S_IFIFO | 0644, 0)), EEXIST);
	expect_err("mknod S_IFDIR", ERR(mknod("dd", S_IFDIR | 0755, 0)), EPERM);
}

static void t_mknod_unpriv(void)
{
	mkdirm("d", 0777, 0, 0);
	expect_err("unprivileged mknod of char device", as(&U1, U_MKNOD, "d/c", 0, S_IFCHR | 0644, makedev(1, 3)), EPERM);
	expect_ok("unprivileged mkfifo", as(&U1, U_MKNOD, "d/p", 0, S_IFIFO | 0644, 0));
	expect_eq("fifo owner", xlstat("d/p").st_uid, 1000);
}

static void t_mknod_unix_socket(void)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int s, c, x;

	strcpy(a.sun_path, "sock");
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	SYS(bind(s, (struct sockaddr *)&a, sizeof(a)));
	SYS(listen(s, 1));
	expect_true("bound socket is S_ISSOCK", S_ISSOCK(xlstat("sock").st_mode));
	c = socket(AF_UNIX, SOCK_STREAM, 0);
	SYS(connect(c, (struct sockaddr *)&a, sizeof(a)));
	x = accept(s, NULL, NULL);
	if (x < 0)
		fail("accept: %s", ename(errno));
	xwrite(c, "hi", 2);
	expect_eq("data over socket", read(x, a.sun_path, 2), 2);
	expect_err("bind to existing", ERR(bind(socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr *)&(struct sockaddr_un){AF_UNIX, "sock"}, sizeof(a))), EADDRINUSE);
}

const struct tcase cases_b[] = {
	{"link.file_nlink", "file nlink follows link/unlink, 0 when open and unlinked", t_link_file_nlink, 0},
	{"link.dir_nlink", "dir nlink is 2 + subdirs, follows mkdir/rmdir/rename", t_link_dir_nlink, 0},
	{"link.dir_eperm", "link() of a directory => EPERM", t_link_dir_eperm, 0},
	{"link.errors", "link EEXIST/ENOENT/ENOTDIR", t_link_errors, 0},
	{"link.symlink_nofollow", "link() does not follow symlinks; AT_SYMLINK_FOLLOW does", t_link_symlink_nofollow, 0},
	{"link.unlinked_enoent", "linkat of an unlinked file => ENOENT", t_link_unlinked_enoent, 0},
	{"symlink.basic", "symlink/readlink/lstat size, dangling, EINVAL, EEXIST", t_symlink_basic, 0},
	{"symlink.long_target", "4095-byte target ok, 4096 => ENAMETOOLONG", t_symlink_long_target, 0},
	{"symlink.follow_dir", "symlinks to dirs in paths, relative targets", t_symlink_follow_dir, 0},
	{"rename.file_over_file", "rename file over file replaces it", t_rename_file_over_file, 0},
	{"rename.dir_over_empty_dir", "rename dir over empty dir", t_rename_dir_over_empty_dir, 0},
	{"rename.dir_over_nonempty", "rename dir over non-empty dir fails", t_rename_dir_over_nonempty, 0},
	{"rename.type_mismatch", "file over dir => EISDIR, dir over file => ENOTDIR", t_rename_type_mismatch, 0},
	{"rename.into_descendant", "rename dir into its descendant => EINVAL", t_rename_into_descendant, 0},
	{"rename.same_inode", "rename between links of one file is a no-op", t_rename_same_inode, 0},
	{"rename.dot", "rename of . or to .. fails", t_rename_dot, 0},
	{"rename.errors", "rename ENOENT/ENOTDIR", t_rename_errors, 0},
	{"rename.dir_dotdot", "moved dir's .. points to new parent", t_rename_dir_dotdot, 0},
	{"rename.cross_dir_file", "rename file across dirs over existing", t_rename_cross_dir_file, 0},
	{"rename.noreplace", "renameat2 RENAME_NOREPLACE", t_rename_noreplace, 0},
	{"rename.exchange", "renameat2 RENAME_EXCHANGE", t_rename_exchange, 0},
	{"rename.exchange_dirs_nlink", "RENAME_EXCHANGE dir<->file across parents fixes nlink", t_rename_exchange_dirs_nlink, 0},
	{"name.255_ok", "255-byte names work for all entry types", t_name_255_ok, 0},
	{"name.256_enametoolong", "256-byte names => ENAMETOOLONG", t_name_256_enametoolong, 0},
	{"name.path_max", "path > PATH_MAX => ENAMETOOLONG", t_name_path_max, 0},
	{"name.bytes", "arbitrary bytes in names, case sensitivity", t_name_bytes, 0},
	{"name.dot_dotdot", "operations on . and ..", t_name_dot_dotdot, 0},
	{"err.rmdir_nonempty", "rmdir non-empty => ENOTEMPTY", t_err_rmdir_nonempty, 0},
	{"err.eexist", "EEXIST for mkdir/O_EXCL/mkfifo incl. dangling symlink", t_err_eexist, 0},
	{"err.creat_through_dangling", "O_CREAT without O_EXCL creates a dangling symlink's target", t_err_creat_through_dangling, 0},
	{"err.eloop", "symlink loops => ELOOP", t_err_eloop, 0},
	{"err.nofollow", "O_NOFOLLOW semantics", t_err_nofollow, 0},
	{"err.enotdir", "ENOTDIR cases", t_err_enotdir, 0},
	{"err.eisdir", "EISDIR cases", t_err_eisdir, 0},
	{"err.enoent", "ENOENT cases", t_err_enoent, 0},
	{"err.ebadf", "EBADF for wrong access mode, lseek EINVAL", t_err_ebadf, 0},
	{"open.trunc", "O_TRUNC truncates, keeps mode", t_open_trunc, 0},
	{"open.append", "O_APPEND writes land at end after lseek", t_open_append, 0},
	{"open.append_pwrite", "pwrite on O_APPEND fd appends (Linux)", t_open_append_pwrite, 0},
	{"open.append_two_fds", "O_APPEND through two fds never overwrites", t_open_append_two_fds, 0},
	{"open.umask022", "creation modes with umask 022", t_open_umask022, 0},
	{"open.umask077", "creation modes with umask 077 and 0", t_open_umask077, 0},
	{"open.creat_existing_mode", "O_CREAT on existing file keeps mode and data", t_open_creat_existing_mode, 0},
	{"open.unlinked", "read/write/fstat/ftruncate/fchmod after unlink", t_open_unlinked, 0},
	{"open.unlinked_dir", "removed-but-open dir: nlink 0, getdents ENOENT, no creation", t_open_unlinked_dir, 0},
	{"open.tmpfile", "O_TMPFILE (noted if unsupported) and linkat", t_open_tmpfile, 0},
	{"open.rw_roundtrip", "3 MiB write/read/pwrite/pread round trip", t_open_rw_roundtrip, 0},
	{"open.offsets", "dup shares offset, reads at/after EOF", t_open_offsets, 0},
	{"open.write_gap", "write after seek past EOF leaves zeros", t_open_write_gap, 0},
	{"mknod.fifo", "mkfifo/mknod S_IFIFO type and mode", t_mknod_fifo, 0},
	{"mknod.fifo_io", "data through a FIFO; ENXIO without reader", t_mknod_fifo_io, 0},
	{"mknod.chr", "char device node makedev(1,3): type and rdev", t_mknod_chr, 0},
	{"mknod.blk", "block device node, large major/minor", t_mknod_blk, 0},
	{"mknod.sock_reg", "mknod S_IFSOCK/S_IFREG, EEXIST, S_IFDIR => EPERM", t_mknod_sock_reg, 0},
	{"mknod.unpriv", "unprivileged: device => EPERM, fifo ok", t_mknod_unpriv, 0},
	{"mknod.unix_socket", "bind/connect an AF_UNIX socket in the dir", t_mknod_unix_socket, 0},
	{NULL, NULL, NULL, 0}};
