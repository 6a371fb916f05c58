#!/usr/bin/env bash
# Runs the conformance suite on the plain host directory (the reference)
# and on the same kind of directory served by our daemon through the
# host's /dev/fuse, then on a virtio-fs mount inside a guest when
# --guest is given, and fails on any difference between them.
# usage: tests/conformance/run-targets.sh [--daemon PATH] [--guest]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
daemon=${VIRTIOFSD:-$root/build/src/daemon/virtiofsd}
guest=0
while [ $# -gt 0 ]; do
	case "$1" in
	--daemon) daemon=$2; shift 2 ;;
	--guest) guest=1; shift ;;
	*) echo "usage: $0 [--daemon PATH] [--guest]" >&2; exit 2 ;;
	esac
done
[ -x "$daemon" ] || { echo "run-targets: no daemon at $daemon (build first)" >&2; exit 2; }

work=$(mktemp -d /var/tmp/vfsd-conformance.XXXXXX)
chmod 755 "$work"
mnt="$work/mnt"
daemon_pid=
cleanup() {
	if [ -n "$daemon_pid" ]; then
		kill -TERM "$daemon_pid" 2>/dev/null || true
		wait "$daemon_pid" 2>/dev/null || true
	fi
	mountpoint -q "$mnt" 2>/dev/null && umount -l "$mnt"
	rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/reference" "$work/shared" "$mnt"
chmod 755 "$work/reference" "$work/shared" "$mnt"

echo "==> reference: plain host directory"
"$here/run.sh" --results "$work/reference.txt" "$work/reference" | tail -n 1

echo "==> our daemon over /dev/fuse"
"$daemon" --shared-dir="$work/shared" --fuse-mount="$mnt" --xattr --posix-acl \
	-o posix_lock -o flock --log-level=warn 2>"$work/daemon.log" &
daemon_pid=$!
for _ in $(seq 100); do
	mountpoint -q "$mnt" && break
	kill -0 "$daemon_pid" 2>/dev/null || break
	sleep 0.05
done
if ! mountpoint -q "$mnt"; then
	echo "run-targets: the daemon did not mount $mnt" >&2
	cat "$work/daemon.log" >&2
	exit 1
fi
"$here/run.sh" --results "$work/fuse.txt" "$mnt" | tail -n 1 || true
results=("$work/reference.txt" "$work/fuse.txt")

if [ "$guest" = 1 ]; then
	echo "==> our daemon over virtio-fs, inside a guest"
	"$root/tests/e2e/run-conformance.sh" --daemon "$daemon" --results "$work/guest.txt" || true
	results+=("$work/guest.txt")
fi

echo "==> differences (reference first)"
status=0
"$here/compare.sh" "${results[@]}" || status=1
passed=$(grep -c ' PASS' "$work/fuse.txt" || true)
failed=$(grep -vc ' PASS' "$work/fuse.txt" || true)
echo "conformance(targets): $((passed)) passed, $((failed)) failed"
[ -s "$work/daemon.log" ] && { echo "--- daemon log"; tail -n 20 "$work/daemon.log"; }
exit $(( status | (failed > 0) ))
