/* sandbox_test_util.c: fork helpers and a scratch shared directory. */
#include "sandbox_test_util.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int child_start(int (*fn)(void *), void *arg)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid == 0)
		_exit(fn(arg));
	return pid;
}

int child_wait(int pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return -1;
	}
	return status;
}

int child_run(int (*fn)(void *), void *arg)
{
	int pid = child_start(fn, arg);

	return pid < 0 ? -1 : child_wait(pid);
}

int test_dir_make(char *path, size_t size)
{
	int fd;

	snprintf(path, size, "/tmp/vfsd-sandbox.XXXXXX");
	if (!mkdtemp(path) || chmod(path, 0755) < 0)
		return -1;
	fd = openat(AT_FDCWD, path, O_DIRECTORY | O_PATH);
	if (fd < 0)
		return -1;
	if (mkdirat(fd, "sub", 0755) < 0) {
		close(fd);
		return -1;
	}
	int file = openat(fd, "a", O_WRONLY | O_CREAT | O_EXCL, 0644);
	close(fd);
	if (file < 0)
		return -1;
	if (write(file, "hello", 5) != 5) {
		close(file);
		return -1;
	}
	close(file);
	return 0;
}

void test_dir_remove(const char *path)
{
	char name[4200];

	snprintf(name, sizeof(name), "%s/a", path);
	unlink(name);
	snprintf(name, sizeof(name), "%s/sub", path);
	rmdir(name);
	rmdir(path);
}
