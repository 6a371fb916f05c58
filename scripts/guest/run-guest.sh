#!/usr/bin/env bash
# run-guest.sh: start a vhost-user-fs daemon on a shared directory, boot a
# test guest under QEMU TCG that uses it, and return the guest's verdict.
#
# Usage: scripts/guest/run-guest.sh --kernel VMLINUZ --initrd FILE \
#            --shared-dir DIR --log FILE [options] -- DAEMON_CMD [ARGS...]
#        scripts/guest/run-guest.sh ... --share-9p [options]
#
# In DAEMON_CMD and its ARGS, {socket} becomes the vhost-user socket path
# and {shared_dir} the shared directory, e.g.
#   -- /usr/lib/qemu/virtiofsd --socket-path={socket} -o source={shared_dir}
#
# Options:
#   --tag TAG            virtio-fs tag (default: share)
#   --timeout SECS       bound on the whole guest run (default: 300)
#   --socket-timeout S   bound on waiting for the daemon's socket (default: 20)
#   --mem SIZE           guest memory (default: 1G)
#   --smp N              guest vCPUs (default: 2)
#   --guest-args "ARGS"  appended to the kernel command line after `--`, so
#                        /init passes them to the payload
#   --daemon-log FILE    daemon's stdout+stderr (default: LOG.daemon)
#   --interactive        console on this terminal (for a shell in the guest);
#                        still logged to LOG
#   --hostroot           also export the host's / read-only over 9p (tag
#                        hostroot) for a "tools" guest (an initramfs made
#                        with make-initramfs.sh --hostroot)
#   --qemu PATH          the QEMU to run (default: qemu-system-x86_64 from
#                        PATH, the system's 7.2), e.g. the QEMU 10 wrapper
#                        that scripts/guest/fetch-stack.sh --qemu prints
#   --qemu-datadir DIR   give QEMU -L DIR, before its built-in firmware
#                        directories (repeatable; for a bare unpacked QEMU
#                        binary: the fetch-stack.sh wrapper needs none)
#   --num-queues N       the device's num-request-queues=N (default: not
#                        given, so QEMU's default of one request queue)
#   --packed             the device's packed=on: the guest may drive packed
#                        virtqueues (VIRTIO_F_RING_PACKED) when the daemon
#                        offers them
#   --daemon-user U:G    run the daemon as uid U, gid G, without supplementary
#                        groups (setpriv); the socket's directory is theirs
#   --share-9p           no daemon and no vhost-user-fs device: QEMU itself
#                        exports the shared directory over virtio-9p
#                        (-virtfs local,path=DIR,mount_tag=TAG,
#                        security_model=passthrough), for an initramfs made
#                        with make-initramfs.sh --share-fs 9p; no DAEMON_CMD
#
# Exit status: the payload's exit status as the guest printed it
# (`virtiofs-guest: payload exit status N`); 124 if the run timed out;
# 125 if the guest gave no verdict (crash, panic, daemon died);
# 126 if the daemon did not come up.
set -euo pipefail

die() { printf 'run-guest: %s\n' "$*" >&2; exit 2; }
say() { printf '%s\n' "run-guest: $*" >&2; }
. "$(dirname "$0")/socket-ready.sh"

kernel="" initrd="" shared="" log="" tag="share" timeout_s=300 sock_timeout=20
mem=1G smp=2 guest_args="" daemon_log="" interactive=0 hostroot=0
qemu_bin=qemu-system-x86_64 qemu_datadirs=() num_queues="" packed=0 share_9p=0
daemon_user=""
while (($#)); do
	case "$1" in
		--kernel) kernel=${2:?}; shift 2 ;;
		--initrd) initrd=${2:?}; shift 2 ;;
		--shared-dir) shared=${2:?}; shift 2 ;;
		--log) log=${2:?}; shift 2 ;;
		--tag) tag=${2:?}; shift 2 ;;
		--timeout) timeout_s=${2:?}; shift 2 ;;
		--socket-timeout) sock_timeout=${2:?}; shift 2 ;;
		--mem) mem=${2:?}; shift 2 ;;
		--smp) smp=${2:?}; shift 2 ;;
		--guest-args) guest_args=${2?}; shift 2 ;;
		--daemon-log) daemon_log=${2:?}; shift 2 ;;
		--interactive) interactive=1; shift ;;
		--hostroot) hostroot=1; shift ;;
		--qemu) qemu_bin=${2:?}; shift 2 ;;
		--qemu-datadir) qemu_datadirs+=("${2:?}"); shift 2 ;;
		--num-queues) num_queues=${2:?}; shift 2 ;;
		--packed) packed=1; shift ;;
		--share-9p) share_9p=1; shift ;;
		--daemon-user) daemon_user=${2:?}; shift 2 ;;
		-h | --help) sed -n '2,49p' "$0"; exit 0 ;;
		--) shift; break ;;
		*) die "unknown argument: $1" ;;
	esac
done
if ((share_9p)); then
	(($# == 0)) || die "--share-9p takes no daemon command"
	[[ -z "$num_queues" ]] || die "--num-queues is for the vhost-user-fs device, not --share-9p"
else
	(($#)) || die "no daemon command after --"
fi
[[ -n "$kernel" && -n "$initrd" && -n "$shared" && -n "$log" ]] ||
	die "--kernel, --initrd, --shared-dir and --log are required"
[[ -f "$kernel" ]] || die "no kernel at $kernel"
[[ -f "$initrd" ]] || die "no initrd at $initrd"
[[ -d "$shared" ]] || die "no shared directory at $shared"
[[ "$timeout_s" =~ ^[0-9]+$ && "$sock_timeout" =~ ^[0-9]+$ ]] || die "timeouts are whole seconds"
[[ -z "$daemon_user" || "$daemon_user" =~ ^[0-9]+:[0-9]+$ ]] || die "--daemon-user wants UID:GID"
[[ -z "$num_queues" || "$num_queues" =~ ^[1-9][0-9]*$ ]] || die "bad --num-queues: $num_queues"
if [[ "$qemu_bin" == */* ]]; then
	[[ -x "$qemu_bin" ]] || die "no QEMU at $qemu_bin (scripts/guest/fetch-stack.sh)"
else
	command -v "$qemu_bin" >/dev/null || die "$qemu_bin not found (scripts/install-deps.sh)"
fi
shared=$(cd "$shared" && pwd)
daemon_log=${daemon_log:-$log.daemon}

rundir=$(mktemp -d "${TMPDIR:-/tmp}/run-guest.XXXXXX")
sock=$rundir/vhost-fs.sock

daemon_cmd=()
if [[ -n "$daemon_user" ]]; then
	chown "$daemon_user" "$rundir"
	daemon_cmd=(setpriv "--reuid=${daemon_user%:*}" "--regid=${daemon_user#*:}" --clear-groups)
fi
for a in "$@"; do
	a=${a//\{socket\}/$sock}
	a=${a//\{shared_dir\}/$shared}
	daemon_cmd+=("$a")
done

daemon_pid="" qemu_pid="" daemon_ids=""
# Stop a process group we started: TERM, bounded wait, then KILL.
stop_group() {
	local pid=$1 i
	[[ -n "$pid" ]] || return 0
	kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}
# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
	stop_group "$qemu_pid"
	qemu_pid=""
	stop_group "$daemon_pid"
	daemon_pid=""
	rm -rf "$rundir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

append="console=ttyS0 panic=-1 quiet"
[[ -n "$guest_args" ]] && append="$append -- $guest_args"

fsdev="vhost-user-fs-pci,queue-size=1024,chardev=char0,tag=$tag"
[[ -n "$num_queues" ]] && fsdev="$fsdev,num-request-queues=$num_queues"
((packed)) && fsdev="$fsdev,packed=on"
share_dev=(-chardev "socket,id=char0,path=$sock" -device "$fsdev")
if ((share_9p)); then
	# QEMU's own 9p server; the guest RAM stays the same shared memfd.
	fsdev="virtio-9p (-virtfs local,path=$shared,mount_tag=$tag,security_model=passthrough)"
	share_dev=(-virtfs "local,path=$shared,mount_tag=$tag,security_model=passthrough")
fi
qemu=("$qemu_bin")
for d in "${qemu_datadirs[@]}"; do qemu+=(-L "$d"); done
# shellcheck disable=SC2054 # the commas are QEMU option syntax
qemu+=(
	-accel tcg
	-m "$mem" -smp "$smp"
	-object "memory-backend-memfd,id=mem,size=$mem,share=on"
	-numa node,memdev=mem
	"${share_dev[@]}"
	-kernel "$kernel" -initrd "$initrd"
	-append "$append"
	-nographic -no-reboot
)
if ((hostroot)); then
	# The host's root, read-only, for the tools guest's chroot.
	# shellcheck disable=SC2054 # QEMU option syntax
	qemu+=(-virtfs local,path=/,mount_tag=hostroot,security_model=passthrough,readonly=on,multidevs=remap)
fi

# Start the daemon (unless QEMU serves the share itself) and wait for its
# socket.
start_daemon() {
	if ((share_9p)); then
		say "no daemon: QEMU exports $shared over virtio-9p (tag $tag)"
	else
		say "starting daemon: ${daemon_cmd[*]}"
		# setsid: the daemon (and any children it forks, e.g. a sandbox) gets its
		# own process group, so cleanup can stop all of it by id.
		setsid "${daemon_cmd[@]}" >"$daemon_log" 2>&1 </dev/null &
		daemon_pid=$!

		# Wait (bounded) for the socket to appear.
		deadline=$((SECONDS + sock_timeout))
		until socket_ready "$sock"; do
			if ! kill -0 "$daemon_pid" 2>/dev/null; then
				wait "$daemon_pid" && st=0 || st=$?
				daemon_pid=""
				say "daemon exited (status $st) before creating $sock; its log:"
				sed 's/^/  daemon: /' "$daemon_log" >&2 || true
				exit 126
			fi
			if ((SECONDS >= deadline)); then
				say "daemon did not create $sock within ${sock_timeout}s"
				exit 126
			fi
			sleep 0.05
		done
		say "daemon up (pid $daemon_pid), socket $sock"
		# whom it runs as (real uid, gid), for the log
		daemon_ids=$(awk '/^Uid:/ { u = $2 } /^Gid:/ { g = $2 } END { printf "daemon runs as uid %s, gid %s", u, g }' \
			"/proc/$daemon_pid/status" 2>/dev/null || true)
	fi
}

# Boot the guest once; sets qst to QEMU's exit status.
boot_guest() {
	# The stack, on stderr and at the head of the console log.
	qver=$("$qemu_bin" --version 2>&1 | head -n 1) || true
	say "$qver; kernel $(basename "$kernel"); -device $fsdev"
	printf 'run-guest: %s\n' "$qver" "kernel $kernel" "-device $fsdev" >>"$log"
	((share_9p)) || printf 'run-guest: %s\n' "$daemon_ids" >>"$log"
	say "booting guest (TCG, bound ${timeout_s}s), console log $log"
	start=$SECONDS
	if ((interactive)); then
		# --foreground: QEMU keeps the terminal (raw mode, Ctrl-A X works).
		set +e
		timeout --foreground -k 5 "$timeout_s" "${qemu[@]}" 2>&1 | tee -a "$log"
		qst=${PIPESTATUS[0]}
		set -e
	else
		timeout -k 5 "$timeout_s" "${qemu[@]}" >>"$log" 2>&1 </dev/null &
		qemu_pid=$!
		wait "$qemu_pid" && qst=0 || qst=$?
		qemu_pid=""
	fi
	say "guest finished after $((SECONDS - start))s (qemu status $qst)"
}

# QEMU under TCG was once seen (in CI, QEMU 10, -smp 4 on two host CPUs) to
# abort three seconds into the boot, before the guest driver had started
# the device: no SET_FEATURES had reached the daemon, and no request. Such
# a crash says nothing about the daemon, so the boot is tried once more,
# loudly, with the first console log kept beside the new one. A crash after
# the guest's init ran (its "kernel ... up" line) is never retried.
crashed_before_init() {
	((qst > 128 && qst != 137)) || return 1
	! grep -q "virtiofs-guest: kernel .* up" "$log"
}

for attempt in 1 2; do
	: >"$log"
	start_daemon
	boot_guest
	stop_group "$daemon_pid"
	daemon_pid=""
	((qst > 128 && qst != 137)) || break
	say "QEMU died from signal $((qst - 128)); the last lines it and the guest printed:"
	tail -n 15 "$log" | sed 's/^/  console: /' >&2 || true
	if ((attempt == 2)) || ! crashed_before_init; then
		break
	fi
	mv "$log" "$log.crashed"
	[[ ! -f "$daemon_log" ]] || mv "$daemon_log" "$daemon_log.crashed"
	say "the guest never reached its init: booting once more (first attempt kept in $log.crashed)"
done

# The FUSE protocol the daemon agreed on, when its log says (ours does at
# info level: `fuse: session started, protocol 7.N, ...`), into the
# console log with the stack.
if proto=$(grep -m 1 -E 'session started, protocol 7\.[0-9]+' "$daemon_log" 2>/dev/null); then
	[[ -z "$(tail -c 1 "$log")" ]] || echo >>"$log"
	printf 'run-guest: daemon: %s\n' "${proto#*] }" >>"$log"
fi

if ((qst == 124 || qst == 137)); then
	say "TIMEOUT: guest did not power off within ${timeout_s}s"
	exit 124
fi
verdict=$(tr -d '\r' <"$log" | sed -n 's/^virtiofs-guest: payload exit status \([0-9]*\)$/\1/p' | tail -n 1)
if [[ -z "$verdict" ]]; then
	say "no verdict from the guest (see $log)"
	exit 125
fi
exit "$verdict"
