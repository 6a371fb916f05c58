#!/bin/sh
# Informative: the hostile-guest suite against QEMU's C virtiofsd
# (/usr/lib/qemu/virtiofsd, one connection per process, so the suite's
# daemon-per-case layout suits it). Not part of any meson suite: QEMU's
# daemon is expected to fail some cases (crash, hang, stop serving).
#
# Usage: tests/hostile/run-peer.sh [BUILD_DIR] [CASE-SUBSTRING...]
set -u
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build}
[ $# -gt 0 ] && shift
bin=$build/tests/hostile/hostile
if [ ! -x "$bin" ]; then
	echo "run-peer.sh: $bin not built (ninja -C $build tests/hostile/hostile)" >&2
	exit 2
fi
if [ ! -x /usr/lib/qemu/virtiofsd ]; then
	echo "run-peer.sh: /usr/lib/qemu/virtiofsd not installed" >&2
	exit 77
fi
# QEMU's daemon gets the same per-case extras (--rlimit-nofile) that it
# also understands; its sandbox is its own (namespaces + seccomp).
VFS_TEST_DAEMON=qemu VFS_TEST_DAEMON_ARGS= HOSTILE_TIMEOUT=${HOSTILE_TIMEOUT:-30} \
	"$bin" qemu "$@"
status=$?
echo "run-peer.sh: QEMU's daemon finished the suite with status $status (informative)"
exit 0
