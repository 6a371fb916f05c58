#!/bin/bash
# bench.sh: our virtiofsd against both peers, QEMU's C virtiofsd 7.2 and
# the Rust virtiofsd, side by side in one run, alternating per round; plus
# the same workloads as plain syscalls ("native"). Prints one table per
# goal (scripts/bench_report.py says which) and writes JSON.
#
#   scripts/bench.sh [--quick] [--rounds N] [--time SECS] [--file-size SIZE]
#                    [--out DIR] [--tmpdir DIR] [--build-dir DIR]
#                    [--ours BIN] [--ours-args 'ARGS'] [--qemu BIN] [--rust BIN]
#                    [--no-qemu] [--no-rust] [--no-native] [--no-packed]
#                    [--no-queues] [--packed-workloads LIST] [--no-dax] [--cpu N]
#   scripts/bench.sh --scale [--quick] [...]    cost against size (see below)
#   scripts/bench.sh --report DIR               print the tables of DIR/raw.jsonl again
#   ninja -C build bench            (options through BENCH_ARGS='--quick ...')
#
# The daemons, all with the cache off, as the metadata and I/O goals are
# stated: ours `--cache=never --readdirplus` (its other defaults: a pool
# of 2 threads per queue); QEMU's `-o cache=none -o readdirplus
# --thread-pool-size=0` (with a pool its own seccomp filter kills it);
# Rust's `--cache=never` at its defaults otherwise (thread pool 0). Rust
# 1.13.2 has no --readdirplus and does not offer READDIRPLUS with
# --cache=never, but serves the requests: that is what its readdirplus
# rows measure. The Rust daemon is Debian 13's, from
# scripts/guest/fetch-stack.sh --virtiofsd (fetched once into build/stack).
#
# Cells, one daemon process each (it serves every workload on one
# connection; QEMU's and Rust's serve one connection and exit), one
# request queue: "pinned" (the daemon under taskset -c CPU, the client on
# the same CPU) and "unpinned", each at depths 1 and 16, for getattr,
# lookup, create, readdirplus, readdir, randread (4 KiB), seqread and
# seqwrite (1 MiB). The order of the daemons rotates every round.
# Queue scaling (ours only: QEMU's daemon has one queue, Rust 1.13.2 does
# not start with more): 2, 4 and 8 request queues, depth 16, unpinned,
# every workload; its 1-queue point is the unpinned cell. "ours-packed" is
# our daemon on packed virtqueues for --packed-workloads (lookup,randread)
# at depth 1 pinned and 16 unpinned (the packed vs split table).
# "ours-dax" is our daemon with --dax=shmem and the client reading and
# writing through a DAX window (`bench --dax`, 1 GiB, as a -o dax=always
# guest): seqread, seqwrite, randread and reread (1 MiB reads of the hot
# first 64 MiB of the file, also run by every other daemon and native) at
# depth 1, pinned and unpinned (the DAX vs queue table).
# The share (a fresh temporary directory, tmpfs /dev/shm by default) is
# made on the host before any daemon starts. The load average is recorded
# with every cell: the machine may be shared, so numbers compare only
# within one run.
#
# --scale: `virtiofs-client bench --scale` (client/bench_scale.c) for each
# daemon, one fresh process per part: inodes (up to 1,000,000 looked up and
# held), handles (up to 100,000 opened and held) and list (directories of
# 10k, 100k and 1M entries); --quick stops at 100,000 inodes and 10,000
# handles. RLIMIT_NOFILE's hard limit bounds what a daemon can hold with a
# file descriptor per inode or handle: ours runs with
# --inode-file-handles=mandatory when it accepts it, Rust always does (1.13.2
# has it), QEMU's 7.2 cannot. Each part stops at the first error and says
# how far it got.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build="$here/../build"
. "$here/guest/socket-ready.sh"
rounds=3 quick=0 fsize="" secs="" out="" tmpbase="${TMPDIR:-/dev/shm}" scale=0
ours="" ours_args="" qemu=/usr/lib/qemu/virtiofsd rust="" no_qemu=0 no_rust=0
no_native=0 cpu=1 no_packed=0 no_queues=0 packed_workloads=lookup,randread report=""
no_dax=0 dax_window=1G

usage() { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; }
# shellcheck disable=SC2086
set -- "$@" ${BENCH_ARGS:-}
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) quick=1 ;;
	--scale) scale=1 ;;
	--report) report=$2; shift ;;
	--rounds) rounds=$2; shift ;;
	--file-size) fsize=$2; shift ;;
	--time) secs=$2; shift ;;
	--out) out=$2; shift ;;
	--tmpdir) tmpbase=$2; shift ;;
	--build-dir) build=$2; shift ;;
	--ours) ours=$2; shift ;;
	--ours-args) ours_args=$2; shift ;;
	--qemu) qemu=$2; shift ;;
	--rust) rust=$2; shift ;;
	--no-qemu) no_qemu=1 ;;
	--no-rust) no_rust=1 ;;
	--no-native) no_native=1 ;;
	--no-packed) no_packed=1 ;;
	--no-dax) no_dax=1 ;;
	--no-queues) no_queues=1 ;;
	--packed-workloads) packed_workloads=$2; shift ;;
	--cpu) cpu=$2; shift ;;
	-h|--help) usage; exit 0 ;;
	*) echo "bench.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
	esac
	shift
done
if [ -n "$report" ]; then
	exec python3 "$here/bench_report.py" "$report"
fi
[ "$quick" = 1 ] && [ "$rounds" = 3 ] && rounds=2
client="$build/client/virtiofs-client"
[ -n "$ours" ] || ours="$build/src/daemon/virtiofsd"
[ -n "$out" ] || out="$build/bench"
for f in "$client" "$ours"; do
	[ -x "$f" ] || { echo "bench.sh: $f: not built" >&2; exit 1; }
done
log() { printf '[bench %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
if [ "$no_qemu" = 0 ] && [ ! -x "$qemu" ]; then
	log "$qemu not found: running without QEMU's daemon"
	no_qemu=1
fi
if [ "$no_rust" = 0 ] && [ -z "$rust" ]; then
	rust=$("$here/guest/fetch-stack.sh" --virtiofsd 2>"$tmpbase/vfsbench-fetch.$$.log") || rust=""
	if [ -z "$rust" ]; then
		log "the Rust virtiofsd could not be fetched: running without it"
		tail -3 "$tmpbase/vfsbench-fetch.$$.log" >&2 || true
		no_rust=1
	fi
	rm -f "$tmpbase/vfsbench-fetch.$$.log"
fi
if [ "$no_rust" = 0 ] && [ ! -x "$rust" ]; then
	log "$rust not found: running without the Rust virtiofsd"
	no_rust=1
fi
# Ours with file handles for inodes (no fd per inode) when it takes them.
ours_fh=0
if "$ours" --inode-file-handles=mandatory --print-capabilities >/dev/null 2>&1; then
	ours_fh=1
fi

common=()
[ "$quick" = 1 ] && common+=(--quick)
[ -n "$fsize" ] && common+=(--file-size "$fsize")
[ -n "$secs" ] && common+=(--time "$secs")
workloads=getattr,lookup,create,readdirplus,readdir,randread,seqread,seqwrite,reread
dax_workloads=seqread,seqwrite,randread,reread

mkdir -p "$out"
raw="$out/raw.jsonl"
: > "$raw"
work=$(mktemp -d "$tmpbase/vfsbench.XXXXXX")
share="$work/share"
mkdir "$share"
dpid=""
cleanup() {
	if [ -n "$dpid" ] && kill -0 "$dpid" 2>/dev/null; then
		kill "$dpid" 2>/dev/null || true
		wait "$dpid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# One JSON line about the run: what ran, with which arguments, where.
meta() {
	local qv="" rv="" ov
	ov=$("$ours" --version 2>&1 | head -n 1) || true
	[ "$no_qemu" = 1 ] || qv=$("$qemu" --version 2>&1 | head -n 1) || true
	[ "$no_rust" = 1 ] || rv=$("$rust" --version 2>&1 | head -n 1) || true
	local oa="--cache=never --readdirplus${ours_args:+ $ours_args}" ra="--cache=never"
	[ "$scale" = 1 ] && [ "$ours_fh" = 1 ] && oa="$oa --inode-file-handles=mandatory"
	[ "$scale" = 1 ] && ra="$ra --inode-file-handles=mandatory"
	M_MODE=$([ "$scale" = 1 ] && echo scale || echo main) M_ROUNDS=$rounds M_QUICK=$quick \
	M_OURS=$ov M_QEMU=$qv M_RUST=$rv M_OA=$oa M_RA=$ra M_FH=$ours_fh \
	M_QA="-o cache=none -o readdirplus --thread-pool-size=0" \
	M_NOFILE=$(ulimit -Hn) M_TMP=$tmpbase M_TIME=${secs:-} python3 -c '
import json, os
e = os.environ
print(json.dumps({"meta": {
    "mode": e["M_MODE"], "rounds": int(e["M_ROUNDS"]), "quick": e["M_QUICK"] == "1",
    "time": e["M_TIME"], "cpus": os.cpu_count(), "kernel": os.uname().release,
    "ours": e["M_OURS"], "qemu": e["M_QEMU"], "rust": e["M_RUST"],
    "ours_args": e["M_OA"], "qemu_args": e["M_QA"], "rust_args": e["M_RA"],
    "ours_file_handles": e["M_FH"] == "1", "nofile_hard": e["M_NOFILE"],
    "tmpdir": e["M_TMP"]}}))' >>"$raw"
}

# A JSON line with the load average, tagged with the cell it goes with.
load_mark() {
	local who=$1 place=$2 queues=$3 round=$4 l1 l5 l15 rest
	read -r l1 l5 l15 rest </proc/loadavg
	printf '{"load":{"daemon":"%s","placement":"%s","queues":%s,"round":%s,"load1":%s,"load5":%s,"load15":%s}}\n' \
		"$who" "$place" "$queues" "$round" "$l1" "$l5" "$l15" >>"$raw"
}

# Poll (bounded) until path is a socket while pid lives.
wait_socket() {
	local path=$1 pid=$2 i
	for ((i = 0; i < 1000; i++)); do
		socket_ready "$path" && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.01
	done
	return 1
}

# start_daemon WHO SOCK DIR PIN(0/1) SCALE(0/1): start it in the
# background (dpid) and wait for its socket.
start_daemon() {
	local who=$1 sock=$2 dir=$3 pin=() extra=()
	[ "$4" = 1 ] && pin=(taskset -c "$cpu")
	rm -f "$sock"
	case "$who" in
	ours|ours-packed|ours-dax)
		[ "$5" = 1 ] && [ "$ours_fh" = 1 ] && extra=(--inode-file-handles=mandatory)
		[ "$who" = ours-dax ] && extra+=(--dax=shmem --dax-window="$dax_window")
		# shellcheck disable=SC2086
		"${pin[@]}" "$ours" --socket-path="$sock" --shared-dir="$dir" \
			--cache=never --readdirplus "${extra[@]}" $ours_args \
			>"$work/log.$who" 2>&1 &
		;;
	qemu)
		"${pin[@]}" "$qemu" --socket-path="$sock" -o source="$dir" \
			-o cache=none -o readdirplus --thread-pool-size=0 \
			>"$work/log.$who" 2>&1 &
		;;
	rust)
		[ "$5" = 1 ] && extra=(--inode-file-handles=mandatory)
		"${pin[@]}" "$rust" --socket-path="$sock" --shared-dir="$dir" \
			--cache=never "${extra[@]}" >"$work/log.$who" 2>&1 &
		;;
	esac
	dpid=$!
	if ! wait_socket "$sock" "$dpid"; then
		log "$who did not come up:"; tail -5 "$work/log.$who" >&2
		kill "$dpid" 2>/dev/null || true; wait "$dpid" 2>/dev/null || true
		dpid=""; return 1
	fi
}

# QEMU's and Rust's daemons exit once the frontend is gone; ours too, but
# do not wait for long.
stop_daemon() {
	local who=$1 i
	for ((i = 0; i < 200; i++)); do
		kill -0 "$dpid" 2>/dev/null || break
		[ "$i" = 100 ] && kill "$dpid" 2>/dev/null
		sleep 0.01
	done
	kill -9 "$dpid" 2>/dev/null || true
	wait "$dpid" 2>/dev/null || true
	dpid=""
}

# run_cell WHO PLACEMENT QUEUES ROUND
run_cell() {
	local who=$1 place=$2 queues=$3 round=$4
	local sock="$work/sock.$who" depth=1,16 on_cpu=0 cpuopt=() rc=0 wl=$workloads variant=()
	if [ "$place" = pinned ]; then
		on_cpu=1 cpuopt=(--cpu "$cpu")
	fi
	if [ "$queues" != 1 ]; then
		depth=16
	fi
	if [ "$who" = ours-packed ]; then
		variant=(--packed) wl=$packed_workloads
		if [ "$place" = pinned ]; then depth=1; else depth=16; fi
	fi
	if [ "$who" = ours-dax ]; then
		variant=(--dax "$dax_window") wl=$dax_workloads depth=1
	fi
	load_mark "$who" "$place" "$queues" "$round"
	start_daemon "$who" "$sock" "$share" "$on_cpu" 0 || return 0
	"$client" bench --socket "$sock" --queues "$queues" --depth "$depth" \
		--workloads "$wl" --pid "$dpid" --label "$who" --placement "$place" \
		--round "$round" --json "$raw" "${cpuopt[@]}" "${common[@]}" \
		"${variant[@]}" >"$work/out.$who" 2>&1 || rc=$?
	stop_daemon "$who"
	if [ "$rc" != 0 ]; then
		log "$who $place q=$queues round $round: client failed ($rc):"
		tail -5 "$work/out.$who" >&2
		log "daemon log:"; tail -5 "$work/log.$who" >&2
	fi
	return 0
}

run_native() {
	local place=$1 round=$2 cpuopt=()
	[ "$place" = pinned ] && cpuopt=(--cpu "$cpu")
	load_mark native "$place" 0 "$round"
	"$client" bench --native "$share" --depth 1,16 --workloads "$workloads" \
		--label native --placement "$place" --round "$round" --json "$raw" \
		"${cpuopt[@]}" "${common[@]}" >"$work/out.native" 2>&1 ||
		{ log "native $place round $round failed:"; tail -5 "$work/out.native" >&2; }
}

run_scale() {
	local part who sock="$work/sock.scale" rc
	log "scale setup in $share (not measured)"
	"$client" bench --setup "$share" --scale all "${common[@]}"
	for part in inodes handles list; do
		for who in ours rust qemu; do
			[ "$who" = qemu ] && [ "$no_qemu" = 1 ] && continue
			[ "$who" = rust ] && [ "$no_rust" = 1 ] && continue
			log "scale $part: $who"
			load_mark "$who" "scale-$part" 1 1
			start_daemon "$who" "$sock" "$share" 0 1 || continue
			rc=0
			"$client" bench --socket "$sock" --scale "$part" --pid "$dpid" \
				--label "$who" --round 1 --json "$raw" "${common[@]}" \
				>"$work/out.$who" 2>&1 || rc=$?
			stop_daemon "$who"
			if [ "$rc" != 0 ]; then
				log "scale $part $who: client failed ($rc):"
				tail -5 "$work/out.$who" >&2
				log "daemon log:"; tail -5 "$work/log.$who" >&2
			fi
		done
	done
}

start=$(date +%s)
meta
if [ "$scale" = 1 ]; then
	run_scale
else
	log "setup in $share (not measured)"
	"$client" bench --setup "$share" "${common[@]}"
	daemons=(ours)
	[ "$no_qemu" = 1 ] || daemons+=(qemu)
	[ "$no_rust" = 1 ] || daemons+=(rust)
	[ "$no_packed" = 1 ] || daemons+=(ours-packed)
	[ "$no_dax" = 1 ] || daemons+=(ours-dax)
	for ((r = 1; r <= rounds; r++)); do
		# rotate the order by one every round
		order=()
		for ((i = 0; i < ${#daemons[@]}; i++)); do
			order+=("${daemons[(i + r - 1) % ${#daemons[@]}]}")
		done
		for place in pinned unpinned; do
			for who in "${order[@]}"; do
				log "round $r/$rounds: $who $place q=1"
				run_cell "$who" "$place" 1 "$r"
			done
			if [ "$no_native" = 0 ]; then
				log "round $r/$rounds: native $place"
				run_native "$place" "$r"
			fi
		done
		if [ "$no_queues" = 0 ]; then
			for q in 2 4 8; do
				log "round $r/$rounds: ours unpinned q=$q"
				run_cell ours unpinned "$q" "$r"
			done
		fi
	done
fi
log "done in $(( $(date +%s) - start )) s"
python3 "$here/bench_report.py" "$out"
