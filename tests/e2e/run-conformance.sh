#!/usr/bin/env bash
# run-conformance.sh: run the POSIX conformance suite (tests/conformance/,
# entry point `run.sh DIR [--results FILE]`) INSIDE the "tools" guest on
# the virtio-fs mount, against a vhost-user-fs daemon, and copy its results
# file back to the host for comparison with a run on a plain directory.
#
# Usage: tests/e2e/run-conformance.sh [--daemon qemu|ours|rust|PATH] [--cache MODE]
#            [--stack 7.2|10] [--num-queues N]
#            [--only SUBSTR] [--compare] [--timeout SECS] [--out DIR]
#            [--daemon-arg ARG]... [--keep]
#
#   --daemon    as in run-e2e.sh: ours (build/src/daemon/virtiofsd, or
#               $VIRTIOFSD), qemu (/usr/lib/qemu/virtiofsd with
#               --thread-pool-size=0 -o xattr -o posix_lock), rust (the
#               Rust virtiofsd of scripts/guest/fetch-stack.sh), or a PATH
#               taking the Rust virtiofsd command line
#   --stack     as in run-e2e.sh: 7.2 (system QEMU 7.2, 6.1 kernel; the
#               default) or 10 (QEMU 10, 6.12 kernel)
#   --num-queues  the device's num-request-queues (default: not given)
#   --only      passed to the suite (a plain word: it goes through the
#               kernel command line)
#   --compare   also run the suite on a fresh plain host directory and
#               diff the two results files with tests/conformance/compare.sh
#               (informational: does not change the exit status)
#   --timeout   bound on the guest run (default 900 s)
#   --out       work directory (default build/conformance-e2e)
#
# The suite is built on the host first (static, into OUT/suite, by run.sh
# itself); the guest, whose root is the host's / read-only over 9p, runs
# run.sh --out OUT/suite --results /mnt/conformance/results.txt
# /mnt/conformance/run, so the results land in the share. They are copied
# to OUT/results-<label>.txt (and OUT/results-host.txt with --compare),
# the label being the daemon's (ours, qemu, rust, the PATH's basename),
# then -10 on the 10 stack and -qN with --num-queues N.
#
# Output: the suite's own lines (`ok N - ...`, `not ok N - ...`,
# `conformance: N passed, M failed`), then
# `conformance(guest/<label>): N passed, M failed` and the path of the
# results file. Exit status 0 only if the guest run completed, the results
# came back and the suite reported no failures.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
self=$here/run-conformance.sh
suite=$repo/tests/conformance/run.sh

daemon=ours cache=auto only="" compare=0 timeout_s=900
out=$repo/build/conformance-e2e keep=0 extra=() mode=main stack=7.2 num_queues=""
while (($#)); do
	case "$1" in
	--daemon) daemon=${2:?}; shift 2 ;;
	--daemon=*) daemon=${1#*=}; shift ;;
	--cache) cache=${2:?}; shift 2 ;;
	--stack) stack=${2:?}; shift 2 ;;
	--stack=*) stack=${1#*=}; shift ;;
	--num-queues) num_queues=${2:?}; shift 2 ;;
	--num-queues=*) num_queues=${1#*=}; shift ;;
	--only) only=${2:?}; shift 2 ;;
	--compare) compare=1; shift ;;
	--timeout) timeout_s=${2:?}; shift 2 ;;
	--out) out=${2:?}; shift 2 ;;
	--keep) keep=1; shift ;;
	--daemon-arg) extra+=("${2:?}"); shift 2 ;;
	--daemon-arg=*) extra+=("${1#*=}"); shift ;;
	--in-guest) mode=in-guest; suite_out=${2:?}; shift 2 ;; # internal
	-h | --help) sed -n '2,40p' "$0"; exit 0 ;;
	*) echo "run-conformance: unknown argument: $1" >&2; exit 2 ;;
	esac
done
[[ "$timeout_s" =~ ^[0-9]+$ ]] || { echo "run-conformance: bad --timeout" >&2; exit 2; }
case "$cache" in auto | never | always) ;; *) echo "run-conformance: bad --cache" >&2; exit 2 ;; esac
[[ -z "$only" || "$only" =~ ^[A-Za-z0-9_.:/-]+$ ]] || { echo "run-conformance: --only must be a plain word" >&2; exit 2; }
# shellcheck source=scripts/guest/stack.sh
. "$repo/scripts/guest/stack.sh"
stack_check "$stack" || { echo "run-conformance: bad --stack $stack (7.2 or 10)" >&2; exit 2; }
[[ -z "$num_queues" || "$num_queues" =~ ^[1-9][0-9]*$ ]] || { echo "run-conformance: bad --num-queues" >&2; exit 2; }

only_args=()
[[ -n "$only" ]] && only_args=(--only "$only")

if [[ "$mode" == in-guest ]]; then
	# Inside the tools guest, cwd /mnt (the virtio-fs share).
	C=/mnt/conformance
	rm -rf "$C"
	mkdir -p "$C/run"
	echo "conformance-guest: start $(uname -r)"
	st=0
	# The guest run as a whole is bounded by run-guest.sh; this bound
	# leaves time to report and power off.
	timeout -k 10 $((timeout_s > 60 ? timeout_s - 30 : timeout_s)) \
		"$suite" --out "$suite_out" --results "$C/results.txt" "${only_args[@]}" "$C/run" \
		>"$C/output.txt" 2>&1 || st=$?
	echo "$st" >"$C/status"
	sync
	cat "$C/output.txt"
	echo "conformance-guest: suite exit status $st"
	exit 0
fi

t_start=$SECONDS
case "$daemon" in
qemu)
	label=qemu
	bin=/usr/lib/qemu/virtiofsd
	qcache=$cache
	[[ "$cache" == never ]] && qcache=none
	daemon_cmd=("$bin" '--socket-path={socket}' -o 'source={shared_dir}'
		-o "cache=$qcache" --thread-pool-size=0 -o xattr -o posix_lock)
	;;
*)
	if [[ "$daemon" == ours ]]; then
		label=ours
		bin=${VIRTIOFSD:-$repo/build/src/daemon/virtiofsd}
	elif [[ "$daemon" == rust ]]; then
		label=rust
		bin=$(stack_rust_virtiofsd) || bin="(scripts/guest/fetch-stack.sh --virtiofsd failed)"
	else
		label=$(basename "$daemon")
		bin=$daemon
	fi
	daemon_cmd=("$bin" '--socket-path={socket}' '--shared-dir={shared_dir}'
		"--cache=$cache" --xattr)
	;;
esac
daemon_cmd+=("${extra[@]}")
[[ "$stack" == 7.2 ]] || label=$label-$stack
[[ -z "$num_queues" ]] || label=$label-q$num_queues
summary() {
	echo "# wall time $((SECONDS - t_start)) s"
	echo "conformance(guest/$label): $1"
}
[[ -x "$bin" ]] || { echo "run-conformance: daemon binary $bin not found (build it first)" >&2; summary "not run"; exit 1; }
[[ -x "$suite" ]] || { echo "run-conformance: no suite at $suite" >&2; summary "not run"; exit 1; }

mkdir -p "$out"
out=$(cd "$out" && pwd)
[[ "$self$out" =~ ^[A-Za-z0-9_./-]+$ ]] || { echo "run-conformance: paths must be plain for the kernel command line: $self $out" >&2; exit 2; }

# Build the suite on the host (the guest's root is read-only).
echo "==> building the suite into $out/suite"
"$suite" --out "$out/suite" --list >/dev/null || { echo "run-conformance: the suite did not build" >&2; summary "not run"; exit 1; }

stack_select "$stack" || { echo "run-conformance: the $stack stack is not available" >&2; summary "not run"; exit 1; }
kernel=$stack_kernel
run_guest_opts=(--qemu "$stack_qemu")
[[ -z "$num_queues" ]] || run_guest_opts+=(--num-queues "$num_queues")
initrd=$out/initramfs-tools.gz
[[ "$stack" == 7.2 ]] || initrd=$out/initramfs-tools-$stack.gz
"$repo/scripts/guest/make-initramfs.sh" --kernel "$kernel" --out "$initrd" --hostroot >/dev/null
share=$out/share-$label log=$out/guest-$label.log
rm -rf "$share"
mkdir -p "$share"

echo "==> booting the tools guest against $label: ${daemon_cmd[*]}"
rc=0
"$repo/scripts/guest/run-guest.sh" --hostroot --kernel "$kernel" --initrd "$initrd" \
	--shared-dir "$share" --log "$log" --timeout "$timeout_s" "${run_guest_opts[@]}" \
	--guest-args "$self --in-guest $out/suite --timeout $timeout_s ${only_args[*]}" \
	-- "${daemon_cmd[@]}" || rc=$?
echo "==> guest finished (status $rc) after $((SECONDS - t_start)) s; console log $log"

C=$share/conformance
res=$out/results-$label.txt
bad=0
if [[ -f "$C/output.txt" ]]; then
	grep -vE '^1\.\.[0-9]+$' "$C/output.txt" || true
else
	echo "run-conformance: the guest left no $C/output.txt (status $rc; see $log)"
	bad=1
fi
sst=$(cat "$C/status" 2>/dev/null || echo none)
if [[ -f "$C/results.txt" ]]; then
	cp "$C/results.txt" "$res"
	echo "==> results ($(wc -l <"$res") cases) copied to $res"
else
	echo "run-conformance: the guest left no results file (suite status $sst)"
	bad=1
fi
line=$(grep -E '^conformance: [0-9]+ passed, [0-9]+ failed$' "$C/output.txt" 2>/dev/null | tail -n 1 || true)
[[ -n "$line" ]] || bad=1
((rc == 0)) || bad=1
case "$sst" in 0 | 1) ;; *) bad=1 ;; esac

if ((compare)); then
	href=$out/results-host.txt
	hdir=$(mktemp -d "$out/host-dir.XXXXXX")
	echo "==> reference run on a plain host directory $hdir"
	hst=0
	timeout -k 10 "$timeout_s" "$suite" --out "$out/suite" --results "$href" "${only_args[@]}" "$hdir" \
		>"$out/output-host.txt" 2>&1 || hst=$?
	grep -E '^conformance: ' "$out/output-host.txt" | sed 's/^/host reference: /' || true
	rm -rf "$hdir"
	if [[ -f "$href" && -f "$res" ]]; then
		echo "==> tests/conformance/compare.sh $href $res"
		"$repo/tests/conformance/compare.sh" "$href" "$res" || true
	else
		echo "run-conformance: no host reference results (status $hst)"
	fi
fi

if ((bad == 0 && keep == 0)); then rm -rf "$share"; fi
if [[ -n "$line" ]]; then
	summary "${line#conformance: } (guest run status $rc, suite status $sst)"
else
	summary "no summary from the suite (guest run status $rc, suite status $sst)"
fi
((bad == 0)) && [[ "$line" =~ \ 0\ failed$ ]]
