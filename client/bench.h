/* bench.h: `virtiofs-client bench`, a virtio-fs daemon benchmark. */
#ifndef VFS_BENCH_H
#define VFS_BENCH_H

/* argv[0] is "bench". Returns the process exit status. */
int bench_main(int argc, char **argv);

#endif
