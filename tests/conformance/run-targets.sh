#!/usr/bin/env bash
# Runs the conformance suite on a plain host directory (the reference), on
# our daemon's /dev/fuse mount, and (with --guest) on our daemon's virtio-fs
# mount inside a guest, then fails on any difference from the reference
# that tests/conformance/known-differences.txt does not explain.
# usage: tests/conformance/run-targets.sh [--daemon PATH|rust] [--guest]
#            [--stack 7.2|10] [--num-queues N]
#   --daemon PATH   our daemon, for the /dev/fuse mount and the guest
#                   (default build/src/daemon/virtiofsd, or $VIRTIOFSD)
#   --daemon rust   the Rust virtiofsd (scripts/guest/fetch-stack.sh) in
#                   the guest, with --xattr --posix-acl (it has no -o
#                   posix_lock / -o flock); our daemon still serves the
#                   /dev/fuse mount. Implies --guest.
#   --stack, --num-queues   the guest's stack and request queues, as in
#                   tests/e2e/run-e2e.sh (default: 7.2, not given)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
daemon=${VIRTIOFSD:-$root/build/src/daemon/virtiofsd}
guest=0 guest_daemon="" stack=7.2 guest_opts=()
while [ $# -gt 0 ]; do
	case "$1" in
	--daemon) daemon=$2; shift 2 ;;
	--guest) guest=1; shift ;;
	--stack) stack=$2; guest_opts+=(--stack "$2"); shift 2 ;;
	--num-queues) guest_opts+=(--num-queues "$2"); shift 2 ;;
	*) echo "usage: $0 [--daemon PATH|rust] [--guest] [--stack 7.2|10] [--num-queues N]" >&2; exit 2 ;;
	esac
done
if [ "$daemon" = rust ]; then
	guest=1 guest_daemon=rust
	daemon=${VIRTIOFSD:-$root/build/src/daemon/virtiofsd}
fi
[ -x "$daemon" ] || { echo "run-targets: no daemon at $daemon (build first)" >&2; exit 2; }
# Same features on every target: ACLs, xattrs, POSIX locks and flock.
features=(--xattr --posix-acl -o posix_lock -o flock)
guest_features=("${features[@]}")
[ "$guest_daemon" = rust ] && guest_features=(--xattr --posix-acl)

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
	echo "==> ${guest_daemon:-our} daemon over virtio-fs, inside a guest (default sandbox, stack $stack)"
	daemon_args=()
	for a in "${guest_features[@]}"; do daemon_args+=("--daemon-arg=$a"); done
	"$root/tests/e2e/run-conformance.sh" --daemon "${guest_daemon:-$daemon}" --out "$work/guest" \
		"${guest_opts[@]}" "${daemon_args[@]}" | grep -E '^(conformance|==>)' || true
	# The one guest run's results file (results-<label>.txt).
	res=$(find "$work/guest" -maxdepth 1 -name 'results-*.txt' | head -n 1)
	cp "$res" "$work/guest.txt" 2>/dev/null || : >"$work/guest.txt"
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
		reason=$(awk -v t="$target" -v ts="$target@$stack" -v n="$name" \
			'!/^#/ && ($1 == t || $1 == ts || $1 == "*") && $2 == n { $1 = $2 = ""; sub(/^ +/, ""); print; exit }' \
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
