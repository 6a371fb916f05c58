#!/usr/bin/env bash
# Installs what is missing, builds (plain, ASan/UBSan and TSan, warnings
# as errors) and runs every test: unit, integration and hostile-guest tests
# (through the user-space driver, under ASan/UBSan and under TSan), end to
# end in a real Linux guest against
# our daemon and QEMU's (and ours as uid 1000, unprivileged), our daemon
# launched by libvirt (a domain's lifecycle), the conformance suite on three targets, real
# programs on /dev/fuse and in a guest, and the fuzzers for a minute each.
# The guest tests run on the system's QEMU 7.2 with a 6.1 guest; the end to
# end scenario and the guest conformance run also on the second stack,
# QEMU 10 with a 6.12 guest (scripts/guest/fetch-stack.sh), against ours
# (one request queue, and four on four vCPUs, split and packed rings), the
# Rust virtiofsd and QEMU's C daemon. The in-guest benchmark runs once in
# its smoke mode (scripts/bench-guest.sh --smoke: that it works, not how
# fast). Ends with one "N passed, M failed" line; exits non-zero on any
# failure.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

quick=0
for arg in "$@"; do
	case "$arg" in
	--quick) quick=1 ;; # unit, integration and hostile tests only (ASan and TSan)
	*) echo "usage: $0 [--quick]" >&2; exit 2 ;;
	esac
done

step() { printf '\n==> %s\n' "$*"; }

step "installing dependencies"
./scripts/install-deps.sh
# uid 1000 with subordinate ids: the daemon runs as it in the unprivileged
# integration tests and end-to-end run
step "the unprivileged test user"
./scripts/unpriv-user.sh

step "building (warnings are errors)"
[ -f build/build.ninja ] || meson setup build -Dwerror=true >/dev/null
ninja -C build
[ -f build-asan/build.ninja ] || meson setup build-asan -Dwerror=true \
	-Db_sanitize=address,undefined -Db_lundef=false >/dev/null
ninja -C build-asan
# ThreadSanitizer: the test setup in tests/meson.build sets TSAN_OPTIONS
# (first report ends the process with 66) for the tests and the daemons
# they start.
[ -f build-tsan/build.ninja ] || meson setup build-tsan -Dwerror=true \
	-Db_sanitize=thread -Db_lundef=false >/dev/null
ninja -C build-tsan

passed=0
failed=0
failures=()

# meson prints "Ok: N" and "Fail: N" in its summary.
count_meson() {
	local log=$1 ok fail
	ok=$(awk '/^Ok:/ {print $2}' "$log" | tail -n1)
	fail=$(awk '/^Fail:/ {print $2}' "$log" | tail -n1)
	timeout_count=$(awk '/^Timeout:/ {print $2}' "$log" | tail -n1)
	passed=$((passed + ${ok:-0}))
	failed=$((failed + ${fail:-0} + ${timeout_count:-0}))
}

# Our suites end with "name(target): N passed, M failed".
count_summary() {
	local log=$1 line
	line=$(grep -E '^[a-z0-9_-]+\([^)]*\): [0-9]+ passed, [0-9]+ failed' "$log" | tail -n1 || true)
	if [ -z "$line" ]; then
		failed=$((failed + 1))
		return
	fi
	passed=$((passed + $(sed -E 's/.*: ([0-9]+) passed.*/\1/' <<<"$line")))
	failed=$((failed + $(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")))
}

asan_daemon=$root/build-asan/src/daemon/virtiofsd

# Run "$@ MOUNTPOINT" with our daemon serving a fresh directory there
# through /dev/fuse, then unmount.
with_fuse_mount() {
	local dir status=0 pid
	dir=$(mktemp -d /var/tmp/vfsd-fuse.XXXXXX)
	mkdir "$dir/src" "$dir/mnt"
	"$asan_daemon" --shared-dir="$dir/src" --fuse-mount="$dir/mnt" --xattr \
		-o posix_lock -o flock --log-level=warn &
	pid=$!
	for _ in $(seq 200); do
		mountpoint -q "$dir/mnt" && break
		sleep 0.05
	done
	"$@" "$dir/mnt" || status=$?
	kill -TERM "$pid"
	wait "$pid" || status=$?
	rm -rf "$dir"
	return "$status"
}

mkdir -p build/test-logs
run_suite() {
	local name=$1; shift
	step "$name"
	local log="build/test-logs/$name.log"
	if "$@" 2>&1 | tee "$log"; then :; else failures+=("$name"); fi
}

run_suite unit-integration-hostile-asan \
	meson test -C build-asan --print-errorlogs --suite unit --suite integration --suite hostile
count_meson build/test-logs/unit-integration-hostile-asan.log

# The same suites with the daemon and the tests under ThreadSanitizer.
# Not test_sandbox (see tests/unit/sandbox/meson.build).
run_suite unit-integration-hostile-tsan \
	meson test -C build-tsan --print-errorlogs --suite unit --suite integration --suite hostile
count_meson build/test-logs/unit-integration-hostile-tsan.log

if [ "$quick" = 0 ]; then
	# Our daemon as deployed: sandboxed, seccomp on (LeakSanitizer's exit
	# scan needs ptrace, which seccomp refuses; leaks are checked by the
	# unconfined integration runs).
	run_suite e2e-ours env ASAN_OPTIONS=detect_leaks=0 \
		tests/e2e/run-e2e.sh --daemon "$asan_daemon"
	count_summary build/test-logs/e2e-ours.log
	run_suite e2e-qemu tests/e2e/run-e2e.sh --daemon qemu
	count_summary build/test-logs/e2e-qemu.log
	# Unprivileged mode: the daemon as uid 1000, in a user namespace
	# mapped by newuidmap/newgidmap from its subordinate ids.
	run_suite e2e-ours-unpriv env ASAN_OPTIONS=detect_leaks=0 \
		tests/e2e/run-e2e.sh --unprivileged --daemon "$asan_daemon"
	count_summary build/test-logs/e2e-ours-unpriv.log

	# libvirt itself (Debian 12's 9.0, a private libvirtd) launching our
	# daemon for a TCG domain: start, suspend, resume, shutdown, start,
	# destroy. libvirt gives the daemon a clean environment (no
	# ASAN_OPTIONS): the plain build, as deployed.
	run_suite libvirt tests/libvirt/run-libvirt.sh
	count_summary build/test-logs/libvirt.log

	# The second stack: QEMU 10 and a 6.12 guest, which uses one request
	# queue per vCPU when the device has several. The Rust virtiofsd
	# 1.13.2 runs with one (it does not start with more).
	step "the second test stack (QEMU 10, Linux 6.12, Rust virtiofsd)"
	scripts/guest/fetch-stack.sh --versions || true
	run_suite e2e-ours-10 env ASAN_OPTIONS=detect_leaks=0 \
		tests/e2e/run-e2e.sh --stack 10 --daemon "$asan_daemon"
	count_summary build/test-logs/e2e-ours-10.log
	run_suite e2e-ours-10-q4 env ASAN_OPTIONS=detect_leaks=0 \
		tests/e2e/run-e2e.sh --stack 10 --num-queues 4 --smp 4 --daemon "$asan_daemon"
	count_summary build/test-logs/e2e-ours-10-q4.log
	# Packed virtqueues: the device with packed=on, which the 6.12 guest
	# then drives on each of its four queues.
	run_suite e2e-ours-10-q4-packed env ASAN_OPTIONS=detect_leaks=0 \
		tests/e2e/run-e2e.sh --stack 10 --num-queues 4 --smp 4 --packed --daemon "$asan_daemon"
	count_summary build/test-logs/e2e-ours-10-q4-packed.log
	# The options a guest sees: --tag on QEMU 10 (which ignores the
	# config space), --security-label and an SELinux --xattrmap.
	run_suite e2e-ours-10-selinux env ASAN_OPTIONS=detect_leaks=0 \
		tests/e2e/run-e2e.sh --stack 10 --selinux-map --daemon-arg=--tag=share \
		--daemon "$asan_daemon"
	count_summary build/test-logs/e2e-ours-10-selinux.log
	# Live migration between two QEMU 10s, daemon A to daemon B on the
	# same share, over QMP: there and back, a file renamed and one deleted
	# on the host (guest-error and abort), a cancelled migration,
	# file-handles mode, inodes held by file handle (docs/migration.md);
	# about 75 s, and 15 s more for the main scenario on packed rings.
	run_suite migration-10 env ASAN_OPTIONS=detect_leaks=0 \
		tests/e2e/run-migration.sh --stack 10 --daemon "$asan_daemon"
	count_summary build/test-logs/migration-10.log
	run_suite migration-10-packed env ASAN_OPTIONS=detect_leaks=0 \
		tests/e2e/run-migration.sh --stack 10 --packed --scenario main --daemon "$asan_daemon"
	count_summary build/test-logs/migration-10-packed.log
	run_suite e2e-rust-10 tests/e2e/run-e2e.sh --stack 10 --daemon rust
	count_summary build/test-logs/e2e-rust-10.log
	run_suite e2e-qemu-10 tests/e2e/run-e2e.sh --stack 10 --daemon qemu
	count_summary build/test-logs/e2e-qemu-10.log

	# The POSIX suite on the host directory (reference), our /dev/fuse
	# mount and our virtio-fs mount in a guest: results must match.
	run_suite conformance env ASAN_OPTIONS=detect_leaks=0 \
		tests/conformance/run-targets.sh --guest --daemon "$asan_daemon"
	count_summary build/test-logs/conformance.log
	run_suite conformance-10 env ASAN_OPTIONS=detect_leaks=0 \
		tests/conformance/run-targets.sh --guest --stack 10 --daemon "$asan_daemon"
	count_summary build/test-logs/conformance-10.log

	run_suite workloads-fuse with_fuse_mount tests/e2e/run-workloads.sh --profile quick --target
	count_summary build/test-logs/workloads-fuse.log
	run_suite workloads-guest env ASAN_OPTIONS=detect_leaks=0 \
		tests/e2e/run-workloads.sh --target guest --daemon "$asan_daemon"
	count_summary build/test-logs/workloads-guest.log

	# The in-guest benchmark, smoke mode: ours on the 7.2 stack, tiny sizes,
	# about a minute; each workload run counts, not its speed.
	run_suite bench-guest-smoke scripts/bench-guest.sh --smoke --out build/bench-guest-smoke
	count_summary build/test-logs/bench-guest-smoke.log

	run_suite fuzz scripts/fuzz.sh --seconds "${FUZZ_SECONDS:-60}"
	passed=$((passed + $(grep -c '^fuzz(.*): ok' build/test-logs/fuzz.log || true)))
	failed=$((failed + $(grep -c '^fuzz(.*): FAIL' build/test-logs/fuzz.log || true)))
fi

echo
if [ ${#failures[@]} -gt 0 ]; then
	echo "failed suites: ${failures[*]}"
	[ "$failed" -gt 0 ] || failed=${#failures[@]}
fi
echo "total: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ ${#failures[@]} -eq 0 ]
