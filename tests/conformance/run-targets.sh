#!/usr/bin/env bash
# Runs the conformance suite on a plain host directory (the reference), on
# our daemon's /dev/fuse mount, and (with --guest) on our daemon's virtio-fs
# mount inside a guest, then fails on any difference from the reference
# that tests/conformance/known-differences.txt does not explain.
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
# Same features on every target: ACLs, xattrs, POSIX locks and flock.
features=(--xattr --posix-acl -o posix_lock -o flock)

work=$(mktemp -d /var/tmp/vfsd-conformance.XXXXXX)
chmod 755 "$work"
mnt="$work/mnt"
daemon_pid=
cleanup() {
	if [ -n "$daemon_pid" ]; then
		kill -TERM "$daemon_pid" 2>/dev/null || true
		wait "$daemon_pid" 2>/dev/null || true
	fi
	if mountpoint -q "$mnt" 2>/dev/null; then umount -l "$mnt"; fi
	rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/reference" "$work/shared" "$mnt"
chmod 755 "$work/reference" "$work/shared" "$mnt"

echo "==> reference: plain host directory"
"$here/run.sh" --results "$work/reference.txt" "$work/reference" | tail -n 1

echo "==> our daemon over /dev/fuse"
"$daemon" --shared-dir="$work/shared" --fuse-mount="$mnt" "${features[@]}" \
	--log-level=warn 2>"$work/daemon.log" &
daemon_pid=$!
for _ in $(seq 200); do
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
targets=(fuse)

if [ "$guest" = 1 ]; then
	echo "==> our daemon over virtio-fs, inside a guest (default sandbox)"
	daemon_args=()
	for a in "${features[@]}"; do daemon_args+=("--daemon-arg=$a"); done
	"$root/tests/e2e/run-conformance.sh" --daemon "$daemon" --out "$work/guest" \
		"${daemon_args[@]}" | grep -E '^(conformance|==>)' || true
	cp "$work/guest/results-$(basename "$daemon").txt" "$work/guest.txt" 2>/dev/null ||
		: >"$work/guest.txt"
	targets+=(guest)
fi

# A case passes on a target when its line equals the reference's, or when
# known-differences.txt explains the difference for that target.
passed=0
failed=0
for target in "${targets[@]}"; do
	while read -r name ref_line; do
		got=$(awk -v n="$name" '$1 == n { $1 = ""; sub(/^ /, ""); print; exit }' \
			"$work/$target.txt")
		if [ "$got" = "$ref_line" ]; then
			passed=$((passed + 1))
			continue
		fi
		reason=$(awk -v t="$target" -v n="$name" \
			'!/^#/ && ($1 == t || $1 == "*") && $2 == n { $1 = $2 = ""; sub(/^ +/, ""); print; exit }' \
			"$here/known-differences.txt")
		if [ -n "$reason" ]; then
			echo "known $target $name: $got ($reason)"
			passed=$((passed + 1))
		else
			echo "DIFF  $target $name: got '${got:-missing}', reference '$ref_line'"
			failed=$((failed + 1))
		fi
	done <"$work/reference.txt"
done
if [ -s "$work/daemon.log" ]; then echo "--- /dev/fuse daemon log"; tail -n 20 "$work/daemon.log"; fi
echo "conformance(${targets[*]}): $passed passed, $failed failed"
[ "$failed" -eq 0 ]
