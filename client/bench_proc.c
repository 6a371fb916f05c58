/* bench_proc.c: the daemon process under test, seen from /proc. */
#include <fcntl.h>
#include <inttypes.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_internal.h"

/* From /proc/PID/stat: clock ticks (10 ms here), too coarse for short
 * runs; the fallback when the CPU-time clock cannot be read. */
static double proc_stat_cpu_us(long pid)
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

/* The process's CPU-time clock (every thread, the exited ones too) to the
 * nanosecond. */
double proc_cpu_us(long pid)
{
	struct timespec ts;
	clockid_t clk;

	if (pid <= 0)
		return -1;
	if (clock_getcpuclockid((pid_t)pid, &clk) == 0 &&
	    clock_gettime(clk, &ts) == 0)
		return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
	return proc_stat_cpu_us(pid);
}

/* "VmRSS:" and "RssAnon:" of /proc/PID/status, in KiB. */
int proc_rss_kib(long pid, uint64_t *rss, uint64_t *anon)
{
	char path[64], line[256];
	FILE *f;
	int got = 0;

	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "VmRSS: %" SCNu64, rss) == 1)
			got |= 1;
		else if (sscanf(line, "RssAnon: %" SCNu64, anon) == 1)
			got |= 2;
	}
	fclose(f);
	return got == 3 ? 0 : -1;
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
