#!/usr/bin/env bash
# run-migration.sh: live migration of a guest using our virtiofsd, from one
# QEMU (with daemon A) to another (-incoming defer, with daemon B) on the
# same shared directory, driven over QMP (tests/e2e/qmp_migrate.py). The
# guest (tests/e2e/migration_guest.c) holds files open for reading and
# writing, has its cwd in the share, is in the middle of a directory
# listing and has a few thousand inodes looked up; it appends a numbered
# line every few milliseconds while the host migrates, reads a file with
# O_DIRECT into memory only the daemon writes (so only its dirty log gets
# that data to the destination), and checks every held file, those reads
# and the listing afterwards. The host then checks that every line
# arrived, in order.
#
# Usage: tests/e2e/run-migration.sh [--stack 10] [--daemon PATH]
#            [--scenario NAME]... [--mem SIZE] [--many N] [--timeout S] [--packed]
#
# --packed gives both devices packed=on: the guest drives packed rings.
#
# Scenarios (all by default):
#   main                 A -> B -> A': there and back again; a file the
#                        guest holds is renamed on the host during the
#                        first migration (find-paths must find it)
#   deleted-guest-error  a held file deleted on the host; the destination
#                        runs with --migration-on-error=guest-error: the
#                        migration completes, that file alone gives EIO
#   deleted-abort        the same with the default (abort): the
#                        destination refuses the state, the migration
#                        fails and the guest goes on on the source
#   cancel               QMP migrate_cancel while memory is being copied:
#                        the guest goes on on the source
#   file-handles         both daemons with --migration-mode=file-handles:
#                        even the deleted, held file goes over
#   inode-handles        both daemons hold inodes by file handle
#                        (--inode-file-handles=mandatory), a held file
#                        renamed on the host during the migration
#
# Ends with "migration(LABEL): N passed, M failed"; exit status 0 when all
# passed. QEMU runs under TCG only.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=../../scripts/guest/stack.sh
source "$repo/scripts/guest/stack.sh"

stack=10 bin=$repo/build/src/daemon/virtiofsd mem=512M many=3000 timeout_s=240 packed=
scenarios=()
while (($#)); do
	case "$1" in
	--stack) stack=${2:?}; shift 2 ;;
	--daemon) bin=${2:?}; shift 2 ;;
	--scenario) scenarios+=("${2:?}"); shift 2 ;;
	--mem) mem=${2:?}; shift 2 ;;
	--many) many=${2:?}; shift 2 ;;
	--timeout) timeout_s=${2:?}; shift 2 ;;
	--packed) packed=,packed=on; shift ;;
	-h | --help) sed -n '2,38p' "$0"; exit 0 ;;
	*) echo "run-migration: unknown argument $1" >&2; exit 2 ;;
	esac
done
((${#scenarios[@]})) || scenarios=(main deleted-guest-error deleted-abort cancel file-handles inode-handles)
bin=$(readlink -f "$bin")
out=$repo/build/e2e-migration
mkdir -p "$out"
t_start=$SECONDS

n=0 passed=0 failed=0
ok() { n=$((n + 1)); passed=$((passed + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1: $2"; }
finish() {
	echo "migration: wall time $((SECONDS - t_start)) s"
	echo "migration(stack$stack${packed:+-packed}): $passed passed, $failed failed"
	((failed == 0))
	exit $?
}

[[ -x "$bin" ]] || { notok "daemon $bin exists" "build it first"; finish; }
stack_check "$stack" || { notok "stack $stack" "7.2 or 10"; finish; }
if ! stack_select "$stack"; then
	notok "the $stack stack is available" "fetching it failed"
	finish
fi
qemu_bin=$stack_qemu kernel=$stack_kernel
helper=$out/migration_guest
if [[ ! -x "$helper" || "$here/migration_guest.c" -nt "$helper" ]]; then
	gcc -static -O2 -g0 -Wall -Wextra -Werror -o "$helper.tmp" "$here/migration_guest.c"
	mv "$helper.tmp" "$helper"
fi
initrd=$out/initramfs-migration-$stack.gz
"$repo/scripts/guest/make-initramfs.sh" --kernel "$kernel" --out "$initrd" \
	--payload "$helper" >/dev/null
echo "==> $("$qemu_bin" --version | head -n 1); kernel $(basename "$kernel"); daemon $bin"

# ---- processes: every one in its own group, stopped by id ----
pids=()
spawn() { # LOG CMD...: start in the background, its pid in $spawned
	local log=$1
	shift
	setsid "$@" >"$log" 2>&1 </dev/null &
	spawned=$!
	pids+=("$spawned")
}
stop_pid() {
	local pid=$1 i
	kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
	kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -KILL -- "-$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}
# Bounded wait for a process to end by itself; its status in $exit_status.
wait_exit() {
	local pid=$1 limit=$2 i
	for ((i = 0; i < limit * 20; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$pid" 2>/dev/null; then
		exit_status=timeout
		return 1
	fi
	wait "$pid" && exit_status=0 || exit_status=$?
}
cleanup() {
	local p
	for p in "${pids[@]}"; do stop_pid "$p"; done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Bounded poll for a line in a file.
wait_for() { # FILE REGEX SECONDS
	local i
	for ((i = 0; i < $3 * 20; i++)); do
		grep -qaE "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

start_daemon() { # NAME EXTRA...: socket $dir/NAME.sock, log $dir/NAME.log
	local name=$1
	shift
	spawn "$dir/$name.log" "$bin" --socket-path="$dir/$name.sock" --shared-dir="$share" \
		--cache=auto --log-level="${MIGRATION_LOG_LEVEL:-info}" "$@"
	daemon_pid=$spawned
	wait_for_sock "$dir/$name.sock"
}
wait_for_sock() {
	local i
	for ((i = 0; i < 400; i++)); do
		[[ -S "$1" ]] && return 0
		sleep 0.05
	done
	return 1
}

start_qemu() { # NAME SOCK [-incoming defer]: console $dir/NAME.console, QMP $dir/NAME.qmp
	local name=$1 sock=$2
	shift 2
	# shellcheck disable=SC2054 # QEMU option syntax
	spawn "$dir/$name.qemu.log" "$qemu_bin" -accel tcg -m "$mem" -smp 2 \
		-object "memory-backend-memfd,id=mem,size=$mem,share=on" -numa node,memdev=mem \
		-chardev "socket,id=char0,path=$sock" \
		-device "vhost-user-fs-pci,queue-size=1024,chardev=char0,tag=share$packed" \
		-kernel "$kernel" -initrd "$initrd" \
		-append "console=ttyS0 panic=-1 quiet -- $guest_args" \
		-display none -serial "file:$dir/$name.console" \
		-qmp "unix:$dir/$name.qmp,server=on,wait=off" -no-reboot "$@"
	qemu_pid=$spawned
}

qmp() { python3 "$here/qmp_migrate.py" "$@"; }

# Every line the guest wrote, in order: before 0..99, during 0..k, after 0..99.
check_lines() {
	awk '
		$1 == "before" { if ($2 != nb++) bad = bad " before@" NR; if (nd || na) bad = bad " order@" NR; next }
		$1 == "during" { if ($2 != nd++) bad = bad " during@" NR; if (na) bad = bad " order@" NR; next }
		$1 == "after"  { if ($2 != na++) bad = bad " after@" NR; next }
		{ bad = bad " junk@" NR }
		END {
			if (nb != 100 || na != 100) bad = bad " counts:" nb "/" nd "/" na
			if (bad != "") { print "bad:" substr(bad, 1, 200); exit 1 }
			print nb + nd + na " lines (" nd " during the migration)"
		}' "$1"
}

scenario() {
	local name=$1 dst_args=() src_args=() expect=completed hops=1 guest_expect cancel=()
	local deleted_lost="" unlink=0 rename=0 i cur_qmp cur_qemu cur_daemon cur_console
	dir=$out/$name
	share=$dir/share
	rm -rf "$dir"
	mkdir -p "$share/many" "$share/work"
	printf 'input for the guest\n' >"$share/input.txt"
	printf 'renamed on the host\n' >"$share/renamed.txt"
	printf 'deleted on the host\n' >"$share/deleted.txt"
	(cd "$share/many" && seq 0 $((many - 1)) | sed 's/^/f/' | xargs touch)
	# each 8-byte word holds its own offset (the guest's O_DIRECT reads)
	python3 -c 'import struct,sys; sys.stdout.buffer.write(b"".join(struct.pack("<Q", 8 * i) for i in range(1 << 19)))' >"$share/pattern.bin"
	case "$name" in
	main) hops=2 rename=1 ;;
	deleted-guest-error) unlink=1 deleted_lost=--deleted-lost dst_args=(--migration-on-error=guest-error) ;;
	deleted-abort) unlink=1 expect=failed ;;
	cancel) expect=cancelled cancel=(--cancel) ;;
	file-handles) unlink=1 src_args=(--migration-mode=file-handles) dst_args=(--migration-mode=file-handles) ;;
	inode-handles) rename=1 src_args=(--inode-file-handles=mandatory) dst_args=(--inode-file-handles=mandatory) ;;
	*) notok "$name" "unknown scenario"; return ;;
	esac
	guest_expect=$hops
	[[ "$expect" == completed ]] || guest_expect=0
	guest_args="--migrations $guest_expect --many $many $deleted_lost"
	echo "==> scenario $name"

	if ! start_daemon a "${src_args[@]}"; then
		notok "$name: daemon A starts" "$(tail -n 5 "$dir/a.log")"
		return
	fi
	cur_daemon=$daemon_pid
	start_qemu src "$dir/a.sock"
	cur_qemu=$qemu_pid cur_qmp=$dir/src.qmp cur_console=$dir/src.console
	if ! wait_for "$cur_console" '^MIG-READY' "$timeout_s"; then
		notok "$name: the guest gets ready" "no MIG-READY (see $cur_console)"
		stop_pid "$cur_qemu"; stop_pid "$cur_daemon"
		return
	fi
	for ((i = 1; i <= hops; i++)); do
		if ! start_daemon "b$i" "${dst_args[@]}"; then
			notok "$name: daemon B$i starts" "$(tail -n 5 "$dir/b$i.log")"
			break
		fi
		local dst_daemon=$daemon_pid
		start_qemu "dst$i" "$dir/b$i.sock" -incoming defer
		local dst_qemu=$qemu_pid
		if ((i == 1 && rename)); then mv "$share/renamed.txt" "$share/work/renamed-by-host.txt"; fi
		if ((i == 1 && unlink)); then rm "$share/deleted.txt"; fi
		if qmp migrate --src "$cur_qmp" --dst "$dir/dst$i.qmp" --uri "unix:$dir/mig$i.sock" \
			--expect "$expect" --timeout "$timeout_s" "${cancel[@]}" >"$dir/qmp$i.log" 2>&1; then
			ok "$name: migration $i: $expect ($(grep -m1 'source says' "$dir/qmp$i.log" | sed 's/.*after //'))"
		else
			notok "$name: migration $i: $expect" "$(tr '\n' ' ' <"$dir/qmp$i.log" | tail -c 400)"
		fi
		if [[ "$expect" == completed ]]; then
			# the source QEMU is paused for good: quit it; daemon A exits with it
			qmp quit "$cur_qmp" >/dev/null 2>&1 || true
			wait_exit "$cur_qemu" 30 || stop_pid "$cur_qemu"
			if wait_exit "$cur_daemon" 30 && [[ "$exit_status" == 0 ]]; then
				ok "$name: source daemon $i exits cleanly after the switch-over"
			else
				notok "$name: source daemon $i exits cleanly" "status $exit_status"
			fi
			cur_qemu=$dst_qemu cur_daemon=$dst_daemon cur_qmp=$dir/dst$i.qmp
			cur_console=$dir/dst$i.console
		else
			# the destination gave up (or was never used): it goes, the source stays
			wait_exit "$dst_qemu" 30 || stop_pid "$dst_qemu"
			wait_exit "$dst_daemon" 30 || stop_pid "$dst_daemon"
			if [[ "$(qmp status "$cur_qmp" 2>&1)" == running ]]; then
				ok "$name: the source runs on after the $expect migration"
			else
				notok "$name: the source runs on" "$(qmp status "$cur_qmp" 2>&1)"
			fi
		fi
	done
	echo "$guest_expect" >"$share/.migrated"
	if wait_for "$cur_console" 'virtiofs-guest: payload exit status' "$timeout_s"; then
		local st
		st=$(tr -d '\r' <"$cur_console" | sed -n 's/^virtiofs-guest: payload exit status \([0-9]*\)$/\1/p' | tail -n 1)
		if [[ "$st" == 0 ]]; then
			ok "$name: the guest's checks pass ($(grep -m1 'lines written while' "$cur_console" | tr -d '\r' | sed 's/MIG-INFO //'))"
		else
			notok "$name: the guest's checks pass" "$(grep -ah 'MIG-FAIL' "$dir"/*.console | tr -d '\r' | head -n 5 | tr '\n' ';')"
		fi
	else
		notok "$name: the guest finishes" "no verdict in $cur_console"
	fi
	wait_exit "$cur_qemu" 60 || stop_pid "$cur_qemu"
	wait_exit "$cur_daemon" 30 || stop_pid "$cur_daemon"
	local res
	if res=$(check_lines "$share/work/written.log"); then
		ok "$name: every line the guest wrote is on the host: $res"
	else
		notok "$name: every line the guest wrote is on the host" "$res"
	fi
	if [[ -f "$share/work/created-after.txt" ]]; then
		ok "$name: a file created after the migration is on the host"
	else
		notok "$name: a file created after the migration is on the host" "missing"
	fi
	if grep -lE 'ERROR: (Address|Thread|Leak)Sanitizer|runtime error:' "$dir"/*.log >/dev/null 2>&1; then
		notok "$name: no sanitizer report" "$(grep -lE 'Sanitizer|runtime error' "$dir"/*.log | tr '\n' ' ')"
	else
		ok "$name: no sanitizer report in the daemons' logs"
	fi
	grep -h 'migration: ' "$dir"/[ab]*.log | sed 's/^.*virtiofsd] /  /' | head -n 8 || true
}

for s in "${scenarios[@]}"; do scenario "$s"; done
finish
