#!/usr/bin/env bash
# run-e2e.sh: the end-to-end test. Boots one Linux guest under QEMU TCG
# against a vhost-user-fs daemon, runs tests/e2e/guest_checks.c in it on
# the virtio-fs mount, then checks from the host what the guest did.
#
# Usage: tests/e2e/run-e2e.sh [--daemon qemu|ours|rust|PATH] [--cache auto|never|always]
#                             [--stack 7.2|10] [--num-queues N] [--smp N] [--packed]
#                             [--timeout SECS] [--out DIR] [--keep]
#                             [--daemon-arg ARG]... [--selinux-map]
#                             [--unprivileged[=USER]]
#
#   --daemon ours   build/src/daemon/virtiofsd (the default; $VIRTIOFSD
#                   overrides the path, e.g. an ASan build)
#            qemu   QEMU's C daemon, /usr/lib/qemu/virtiofsd
#            rust   the Rust virtiofsd (Debian 13's, through the wrapper
#                   of scripts/guest/fetch-stack.sh --virtiofsd)
#            PATH   any daemon with the Rust virtiofsd command line
#   --stack         7.2: the system's QEMU 7.2 and Debian 12's 6.1 kernel
#                   (the default); 10: QEMU 10 and a 6.12 kernel from
#                   bookworm-backports (scripts/guest/fetch-stack.sh)
#   --num-queues    the device's num-request-queues (default: not given,
#                   one request queue; the 6.12 guest uses several when
#                   there are several, up to one per vCPU; the Rust
#                   virtiofsd 1.13.2 does not start with more than one)
#   --smp           guest vCPUs (default 2)
#   --packed        the device with packed=on: a guest and a daemon that
#                   both support them use packed virtqueues
#                   (VIRTIO_F_RING_PACKED); the run checks from the daemon's
#                   log that ours did (label suffix -packed)
#   --cache         cache mode given to the daemon (default: auto)
#   --timeout       bound on the guest run (default: 300 s)
#   --out           work directory (default: build/e2e)
#   --keep          keep the share directory even when everything passed
#   --daemon-arg    one more argument for the daemon (repeatable), e.g.
#                   --daemon qemu --daemon-arg=-o --daemon-arg=flock
#   --selinux-map   the daemon (ours or rust) also gets --security-label and
#                   --xattrmap=:map:security.selinux:user.virtiofs.:, and the
#                   guest checks that its security.selinux lands under that
#                   name on the host, out of its direct reach, and that its
#                   creates (with a security context extension) still work;
#                   the label gets -selinux
#   --unprivileged  the daemon (ours or rust) runs as USER (default: the
#                   user scripts/unpriv-user.sh sets up, uid 1000) without
#                   supplementary groups, in a user namespace that maps
#                   guest root to USER and 1.. to USER's first range in
#                   /etc/subuid and /etc/subgid (--uid-map, --gid-map,
#                   written by newuidmap/newgidmap); the share is USER's,
#                   the host checks expect owners through that map; the
#                   label gets -unpriv
#
# QEMU's daemon runs with -o xattr -o posix_lock (and without -o flock: with
# it, QEMU refuses the blocking FUSE_SETLKW that a plain flock(LOCK_UN)
# becomes, so the "flock: parent LOCK_UN" check fails there by design of
# that daemon). Ours runs with the Rust virtiofsd spelling plus --xattr.
#
# Output: the guest's `ok N - name` / `not ok N - name: reason` lines, then
# the host's checks in the same format, then
# `e2e(<label>): N passed, M failed`, where the label is the daemon's
# (ours, qemu, rust, the PATH's basename), then -10 on the 10 stack,
# -qN with --num-queues N, -smpN with --smp N other than 2, -packed with
# --packed, -selinux with --selinux-map and -unpriv with --unprivileged
# (e.g. ours-10-q4-smp4-packed);
# the share, console log (OUT/guest-<label>.log, which
# starts with the QEMU version, kernel and -device line) and daemon log
# (.daemon) are named after it.
# Exit status 0 only if all passed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

daemon=ours cache=auto timeout_s=300 out=$repo/build/e2e keep=0
stack=7.2 num_queues="" smp=2 packed=0 selinux_map=0 unpriv_user=""
extra=()
while (($#)); do
	case "$1" in
		--daemon) daemon=${2:?}; shift 2 ;;
		--daemon=*) daemon=${1#*=}; shift ;;
		--cache) cache=${2:?}; shift 2 ;;
		--cache=*) cache=${1#*=}; shift ;;
		--stack) stack=${2:?}; shift 2 ;;
		--stack=*) stack=${1#*=}; shift ;;
		--num-queues) num_queues=${2:?}; shift 2 ;;
		--num-queues=*) num_queues=${1#*=}; shift ;;
		--smp) smp=${2:?}; shift 2 ;;
		--smp=*) smp=${1#*=}; shift ;;
		--packed) packed=1; shift ;;
		--timeout) timeout_s=${2:?}; shift 2 ;;
		--out) out=${2:?}; shift 2 ;;
		--keep) keep=1; shift ;;
		--daemon-arg) extra+=("${2:?}"); shift 2 ;;
		--daemon-arg=*) extra+=("${1#*=}"); shift ;;
		--selinux-map) selinux_map=1; shift ;;
		--unprivileged) unpriv_user=-; shift ;;
		--unprivileged=*) unpriv_user=${1#*=}; shift ;;
		-h | --help) sed -n '2,66p' "$0"; exit 0 ;;
		*) echo "run-e2e: unknown argument: $1" >&2; exit 2 ;;
	esac
done
case "$cache" in auto | never | always) ;; *) echo "run-e2e: bad --cache $cache" >&2; exit 2 ;; esac
[[ "$timeout_s" =~ ^[0-9]+$ ]] || { echo "run-e2e: bad --timeout" >&2; exit 2; }
# shellcheck source=scripts/guest/stack.sh
. "$repo/scripts/guest/stack.sh"
# shellcheck source=tests/e2e/host-checks.sh
. "$here/host-checks.sh"
stack_check "$stack" || { echo "run-e2e: bad --stack $stack (7.2 or 10)" >&2; exit 2; }
[[ -z "$num_queues" || "$num_queues" =~ ^[1-9][0-9]*$ ]] || { echo "run-e2e: bad --num-queues" >&2; exit 2; }
[[ "$smp" =~ ^[1-9][0-9]*$ ]] || { echo "run-e2e: bad --smp" >&2; exit 2; }

# ---- unprivileged: the user, its subordinate ranges, the maps ----
# The first "name:start:count" range of the user (or its uid) in FILE.
sub_range() {
	awk -F: -v n="$2" -v u="$3" '($1 == n || $1 == u) && $3 > 0 { print $2, $3; exit }' "$1"
}
if [[ -n "$unpriv_user" ]]; then
	[[ "$daemon" != qemu ]] || { echo "run-e2e: QEMU's daemon has no --unprivileged mode" >&2; exit 2; }
	if [[ "$unpriv_user" == - ]]; then
		unpriv_user=$("$repo/scripts/unpriv-user.sh" --check) ||
			{ echo "run-e2e: no unprivileged user (run scripts/unpriv-user.sh as root)" >&2; exit 2; }
	fi
	if ! u_uid=$(id -u "$unpriv_user") || ! u_gid=$(id -g "$unpriv_user"); then
		echo "run-e2e: no user $unpriv_user" >&2
		exit 2
	fi
	read -r sub_uid sub_uid_count < <(sub_range /etc/subuid "$unpriv_user" "$u_uid") || true
	read -r sub_gid sub_gid_count < <(sub_range /etc/subgid "$unpriv_user" "$u_uid") || true
	[[ -n "${sub_uid:-}" && -n "${sub_gid:-}" ]] ||
		{ echo "run-e2e: $unpriv_user has no /etc/subuid and /etc/subgid ranges" >&2; exit 2; }
fi
# The host id a guest id has in the daemon's namespace: 0 is the user,
# 1.. its subordinate ids (identity when privileged).
# For host-checks.sh: the host ids a guest's ids are stored as.
e2e_host_uid() { if [[ -z "$unpriv_user" ]]; then echo "$1"; elif (($1 == 0)); then echo "$u_uid"; else echo $((sub_uid + $1 - 1)); fi; }
e2e_host_gid() { if [[ -z "$unpriv_user" ]]; then echo "$1"; elif (($1 == 0)); then echo "$u_gid"; else echo $((sub_gid + $1 - 1)); fi; }

t_start=$SECONDS
mkdir -p "$out"
out=$(cd "$out" && pwd)

# ---- the daemon's command line ({socket} and {shared_dir} filled in by
# scripts/guest/run-guest.sh) ----
case "$daemon" in
	qemu)
		label=qemu
		bin=/usr/lib/qemu/virtiofsd
		qcache=$cache
		[[ "$cache" == never ]] && qcache=none
		# --thread-pool-size=0: with a pool, QEMU's own seccomp filter
		# kills it. xattr and posix_lock are off by default there.
		daemon_cmd=("$bin" '--socket-path={socket}' -o 'source={shared_dir}'
			-o "cache=$qcache" --thread-pool-size=0
			-o xattr -o posix_lock)
		;;
	ours | rust | */* | *)
		if [[ "$daemon" == ours ]]; then
			label=ours
			bin=${VIRTIOFSD:-$repo/build/src/daemon/virtiofsd}
		elif [[ "$daemon" == rust ]]; then
			# Ours takes the same command line.
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
if [[ -n "$unpriv_user" ]]; then
	daemon_cmd+=("--uid-map=:0:$u_uid:1:" "--uid-map=:1:$sub_uid:$sub_uid_count:"
		"--gid-map=:0:$u_gid:1:" "--gid-map=:1:$sub_gid:$sub_gid_count:")
fi
guest_extra=""
if ((selinux_map)); then
	daemon_cmd+=(--security-label --xattrmap=:map:security.selinux:user.virtiofs.:)
	guest_extra=" --selinux-map"
fi
[[ "$stack" == 7.2 ]] || label=$label-$stack
[[ -z "$num_queues" ]] || label=$label-q$num_queues
[[ "$smp" == 2 ]] || label=$label-smp$smp
((packed == 0)) || label=$label-packed
((selinux_map == 0)) || label=$label-selinux
[[ -z "$unpriv_user" ]] || label=$label-unpriv

# ---- reporting ----
n=0 passed=0 failed=0
ok() { n=$((n + 1)); passed=$((passed + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1: $2"; }
finish() {
	echo "e2e: wall time $((SECONDS - t_start)) s"
	echo "e2e($label): $passed passed, $failed failed"
	((failed == 0))
	exit $?
}

if [[ ! -x "$bin" ]]; then
	notok "host: daemon binary $bin exists" "not found or not executable (build it first: ninja -C build)"
	finish
fi
run_guest_opts=(--smp "$smp")
[[ -z "$unpriv_user" ]] || run_guest_opts+=(--daemon-user "$u_uid:$u_gid")
[[ -z "$num_queues" ]] || run_guest_opts+=(--num-queues "$num_queues")
((packed == 0)) || run_guest_opts+=(--packed)

# ---- build the static guest program, fetch the kernel, make the initramfs ----
helper=$out/guest_checks
if [[ ! -x "$helper" || "$here/guest_checks.c" -nt "$helper" ]]; then
	echo "==> building $helper (static)"
	gcc -static -O2 -g0 -Wall -Wextra -Werror -o "$helper.tmp" "$here/guest_checks.c"
	mv "$helper.tmp" "$helper"
fi
echo "==> fetching the $stack stack"
if ! stack_select "$stack"; then
	notok "host: the $stack stack is available" "fetching it failed (see above)"
	finish
fi
kernel=$stack_kernel
run_guest_opts+=(--qemu "$stack_qemu")
echo "==> kernel $kernel, QEMU $stack_qemu"
initrd=$out/initramfs-e2e.gz
[[ "$stack" == 7.2 ]] || initrd=$out/initramfs-e2e-$stack.gz
"$repo/scripts/guest/make-initramfs.sh" --kernel "$kernel" --out "$initrd" \
	--payload "$helper" >/dev/null

# ---- a fresh shared directory, with what the host prepares before boot ----
share=$out/share-$label
share_parent=""
if [[ -n "$unpriv_user" ]]; then
	# The user must reach its share, and a build tree under a private
	# directory (/root) is closed to it.
	share_parent=$(mktemp -d /var/tmp/vfsd-e2e-unpriv.XXXXXX)
	chmod 755 "$share_parent"
	share=$share_parent/share-$label
fi
log=$out/guest-$label.log
rm -rf "$share"
mkdir -p "$share/e2e"
printf 'prepared by host\n' >"$share/e2e/host-prepared.txt"
printf 'x\n' >"$share/e2e/host-xattr.txt"
setfattr -n user.e2e.host -v set-on-host "$share/e2e/host-xattr.txt"
if ((selinux_map)); then
	printf 'y\n' >"$share/e2e/host-label.txt"
	setfattr -n user.virtiofs.security.selinux -v system_u:object_r:host_t:s0 \
		"$share/e2e/host-label.txt"
fi
# the user's own share, as a plain user keeps one
[[ -z "$unpriv_user" ]] || chown -R "$u_uid:$u_gid" "$share"

guest_pid=""
# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
	if [[ -n "$guest_pid" ]]; then
		# run-guest.sh stops its QEMU and daemon from its own trap.
		kill -TERM "$guest_pid" 2>/dev/null || true
		wait "$guest_pid" 2>/dev/null || true
	fi
	rm -f "$out/host-created.tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# QEMU's C daemon (7.2) never takes FUSE_CREATE_SUPP_GROUP: on a 6.12
# guest its supplementary member loses S_ISGID, as on a 6.1 guest.
guest_extra=""
[[ "$daemon" != qemu ]] || guest_extra=" --no-supp-group"
echo "==> running guest against $label daemon: ${daemon_cmd[*]}"
: >"$log"
"$repo/scripts/guest/run-guest.sh" --kernel "$kernel" --initrd "$initrd" \
	--shared-dir "$share" --log "$log" --timeout "$timeout_s" "${run_guest_opts[@]}" \
	--guest-args "--cache $cache --dir e2e --sync-timeout 60$guest_extra" \
	-- "${daemon_cmd[@]}" &
guest_pid=$!

# The host-after-mount handshake: when the guest prints the marker line,
# create the file (atomically: write aside, rename in). Bounded by the
# guest run itself (run-guest.sh has the timeout).
marker_seen=0
while kill -0 "$guest_pid" 2>/dev/null; do
	if grep -q '^e2e-sync: waiting for host file host-created.txt' "$log" 2>/dev/null; then
		printf 'created by host after mount\n' >"$out/host-created.tmp"
		mv "$out/host-created.tmp" "$share/e2e/host-created.txt"
		marker_seen=1
		break
	fi
	sleep 0.1
done
wait "$guest_pid" && rc=0 || rc=$?
guest_pid=""
echo "==> guest run finished (status $rc) after $((SECONDS - t_start)) s; console log $log"
grep -a '^run-guest: ' "$log" | sed 's/^run-guest: /==> /' || true

# ---- the guest's own checks ----
clean_log=$out/guest-$label.clean.log
tr -d '\r' <"$log" >"$clean_log"
grep -E '^(ok|not ok) [0-9]+ - |^e2e: ' "$clean_log" || true
summary=$(grep -E '^e2e: [0-9]+ passed, [0-9]+ failed$' "$clean_log" | tail -n 1 || true)
# Count the guest's lines themselves (a guest that died midway has no
# summary, but its lines so far still count).
g_pass=$(grep -cE '^ok [0-9]+ - ' "$clean_log" || true)
g_fail=$(grep -cE '^not ok [0-9]+ - ' "$clean_log" || true)
n=$((g_pass + g_fail))

# ---- host checks ----
if grep -q '^virtiofs-guest: mounted virtiofs' "$clean_log"; then
	ok "host: guest booted and mounted the share"
else
	notok "host: guest booted and mounted the share" "no mount line in $log"
fi
case $rc in
	124) notok "host: guest finished within ${timeout_s}s" "timed out" ;;
	125 | 126) notok "host: guest finished within ${timeout_s}s" "no verdict (status $rc; see $log and $log.daemon)" ;;
	*) ok "host: guest finished within ${timeout_s}s" ;;
esac
if [[ "$summary" == "e2e: $g_pass passed, $g_fail failed" ]]; then
	ok "host: guest printed its summary, matching its lines ($g_pass passed, $g_fail failed)"
elif [[ -n "$summary" ]]; then
	notok "host: guest printed its summary, matching its lines" "'$summary' but $g_pass ok and $g_fail not ok lines"
else
	notok "host: guest printed its summary" "none in $log"
fi
if ((marker_seen)); then
	ok "host: saw the guest's sync marker and created host-created.txt after mount"
else
	notok "host: saw the guest's sync marker and created host-created.txt after mount" "marker never seen"
fi

# Unprivileged: the daemon served as the user all along.
if [[ -n "$unpriv_user" ]]; then
	if grep -q "^run-guest: daemon runs as uid $u_uid, gid $u_gid\$" "$clean_log"; then
		ok "host: the daemon ran as $unpriv_user ($u_uid:$u_gid)"
	else
		notok "host: the daemon ran as $unpriv_user ($u_uid:$u_gid)" \
			"$(grep -a '^run-guest: daemon runs as' "$clean_log" || echo "no uid line in $log")"
	fi
fi

# With --packed, our daemon says which layout the guest chose.
if ((packed)) && [[ "$daemon" == ours || "$(basename "$bin")" == virtiofsd ]]; then
	if grep -q 'vhost-user: packed virtqueues' "$log.daemon" 2>/dev/null; then
		ok "host: the guest drove packed virtqueues"
	else
		notok "host: the guest drove packed virtqueues" "no 'packed virtqueues' line in $log.daemon"
	fi
fi

S=$share/e2e
e2e_queue_log=$log.daemon
[[ "$daemon" != qemu && "$daemon" != rust ]] || e2e_queue_log=""
e2e_num_queues=$num_queues
e2e_check_results "$S"

# The guest's file seen on the host is a file the host did not write:
# checked above through results.txt; the host's file the guest read is
# a guest check. Count the guest's checks into the total.
passed=$((passed + g_pass))
failed=$((failed + g_fail))
if ((failed == 0 && keep == 0)); then
	rm -rf "$share"
	[[ -z "$share_parent" ]] || rmdir "$share_parent"
elif ((failed > 0)); then
	# CI keeps only what the run prints: both logs' last lines.
	echo "==> last lines of the console log ($log):"
	tail -n 20 "$log" | tr -d '\r' | sed 's/^/  console: /'
	if [[ -s "$log.daemon" ]]; then
		echo "==> last lines of the daemon's log ($log.daemon):"
		tail -n 20 "$log.daemon" | sed 's/^/  daemon: /'
	fi
fi
finish
