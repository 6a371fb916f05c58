/* bench_proc.c: the daemon process under test, seen from /proc. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_internal.h"

double proc_cpu_us(long pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut = 0, stt = 0;
	ssize_t n;
	int fd, i;

	if (pid <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (!p)
		return -1;
	p++;
	/* after ')': state is field 3, utime 14, stime 15 */
	for (i = 3; i <= 15 && p; i++) {
		while (*p == ' ')
			p++;
		if (i == 14)
			ut = strtoul(p, NULL, 10);
		else if (i == 15)
			stt = strtoul(p, NULL, 10);
		p = strchr(p, ' ');
	}
	return (double)(ut + stt) * 1e6 / (double)sysconf(_SC_CLK_TCK);
}

/* QEMU's virtiofsd forks its worker into new namespaces once a frontend
 * has connected: measure that child when there is one. */
long worker_pid(long pid)
{
	char path[64], buf[256];
	ssize_t n;
	long child;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/task/%ld/children", pid, pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return pid;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return pid;
	buf[n] = '\0';
	child = strtol(buf, NULL, 10);
	return child > 0 ? child : pid;
}
