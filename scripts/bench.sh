#!/bin/bash
# bench.sh: our virtiofsd against QEMU's C virtiofsd, side by side, in the
# same run, alternating, several rounds; plus the same workloads as plain
# syscalls ("native"). Prints a table of medians and writes JSON.
#
#   scripts/bench.sh [--quick] [--rounds N] [--workloads LIST] [--file-size SIZE]
#                    [--time SECS] [--out DIR] [--tmpdir DIR] [--build-dir DIR]
#                    [--ours BIN] [--ours-args 'ARGS'] [--qemu BIN] [--no-qemu]
#                    [--no-native] [--no-packed] [--packed-workloads LIST] [--cpu N]
#   ninja -C build bench            (options through BENCH_ARGS='--quick ...')
#
# Cells: placement "pinned" (daemon under taskset -c CPU, client pinned to
# the same CPU) at depth 1; "unpinned" at depths 16 and 64; each on 1 and
# on 4 request queues (QEMU's daemon has 1 only: n/a). One daemon process
# per (daemon, round, placement, queues) runs every workload on one
# connection (QEMU's serves one connection and exits). The share (a fresh
# temporary directory, tmpfs /dev/shm by default) is set up on the host
# before any daemon starts; smallfile runs in a fresh directory each time.
# The ring layout is a variant of ours: "ours-packed" is our daemon driven
# on packed virtqueues (VIRTIO_F_RING_PACKED), for the --packed-workloads
# (default lookup,randread: LOOKUP/GETATTR and 4 KiB READs) at depth 1
# pinned and depth 16 unpinned, one request queue; a second table sets it
# against ours on split rings.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build="$here/../build"
rounds=3 quick=0 workloads="" fsize="" secs="" out="" tmpbase="${TMPDIR:-/dev/shm}"
ours="" ours_args="" qemu=/usr/lib/qemu/virtiofsd no_qemu=0 no_native=0 cpu=1
no_packed=0 packed_workloads=lookup,randread

usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; }
# shellcheck disable=SC2086
set -- "$@" ${BENCH_ARGS:-}
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) quick=1 ;;
	--rounds) rounds=$2; shift ;;
	--workloads) workloads=$2; shift ;;
	--file-size) fsize=$2; shift ;;
	--time) secs=$2; shift ;;
	--out) out=$2; shift ;;
	--tmpdir) tmpbase=$2; shift ;;
	--build-dir) build=$2; shift ;;
	--ours) ours=$2; shift ;;
	--ours-args) ours_args=$2; shift ;;
	--qemu) qemu=$2; shift ;;
	--no-qemu) no_qemu=1 ;;
	--no-native) no_native=1 ;;
	--no-packed) no_packed=1 ;;
	--packed-workloads) packed_workloads=$2; shift ;;
	--cpu) cpu=$2; shift ;;
	-h|--help) usage; exit 0 ;;
	*) echo "bench.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
	esac
	shift
done
[ "$quick" = 1 ] && [ "$rounds" = 3 ] && rounds=2
client="$build/client/virtiofs-client"
[ -n "$ours" ] || ours="$build/src/daemon/virtiofsd"
[ -n "$out" ] || out="$build/bench"
for f in "$client" "$ours"; do
	[ -x "$f" ] || { echo "bench.sh: $f: not built" >&2; exit 1; }
done
if [ "$no_qemu" = 0 ] && [ ! -x "$qemu" ]; then
	echo "bench.sh: $qemu not found: running without QEMU's daemon" >&2
	no_qemu=1
fi

common=()
[ "$quick" = 1 ] && common+=(--quick)
[ -n "$workloads" ] && common+=(--workloads "$workloads")
[ -n "$fsize" ] && common+=(--file-size "$fsize")
[ -n "$secs" ] && common+=(--time "$secs")

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

log() { printf '[bench %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

log "setup in $share (not measured)"
"$client" bench --setup "$share" "${common[@]}"

# Poll (bounded) until path is a socket while pid lives.
wait_socket() {
	local path=$1 pid=$2 i
	for ((i = 0; i < 1000; i++)); do
		[ -S "$path" ] && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.01
	done
	return 1
}

# run_cell DAEMON PLACEMENT QUEUES ROUND
run_cell() {
	local who=$1 place=$2 queues=$3 round=$4
	local sock="$work/sock.$who.$round" depth pin=() cpuopt=() rc=0 i variant=()
	if [ "$place" = pinned ]; then
		depth=1 pin=(taskset -c "$cpu") cpuopt=(--cpu "$cpu")
	else
		depth=16,64
	fi
	if [ "$who" = ours-packed ]; then
		variant=(--packed --workloads "$packed_workloads")
		[ "$place" = pinned ] || depth=16
	fi
	rm -f "$sock"
	if [ "$who" != qemu ]; then
		# shellcheck disable=SC2086
		"${pin[@]}" "$ours" --socket-path="$sock" --shared-dir="$share" \
			--cache=auto $ours_args >"$work/log.$who" 2>&1 &
	else
		"${pin[@]}" "$qemu" --socket-path="$sock" -o source="$share" \
			-o cache=auto --thread-pool-size=0 >"$work/log.$who" 2>&1 &
	fi
	dpid=$!
	if ! wait_socket "$sock" "$dpid"; then
		log "$who did not come up:"; cat "$work/log.$who" >&2
		kill "$dpid" 2>/dev/null || true; wait "$dpid" 2>/dev/null || true
		dpid=""; return 1
	fi
	"$client" bench --socket "$sock" --queues "$queues" --depth "$depth" \
		--pid "$dpid" --label "$who" --placement "$place" --round "$round" \
		--json "$raw" "${cpuopt[@]}" "${common[@]}" "${variant[@]}" || rc=$?
	# QEMU's daemon exits once the frontend is gone; ours keeps listening.
	for ((i = 0; i < 200; i++)); do
		kill -0 "$dpid" 2>/dev/null || break
		[ "$who" != qemu ] || [ "$i" = 100 ] && kill "$dpid" 2>/dev/null || true
		sleep 0.01
	done
	kill -9 "$dpid" 2>/dev/null || true
	wait "$dpid" 2>/dev/null || true
	dpid=""
	if [ "$rc" != 0 ]; then
		log "$who $place q=$queues round $round: client failed ($rc); daemon log:"
		tail -5 "$work/log.$who" >&2
	fi
	rm -f "$sock"
	return 0
}

run_native() {
	local place=$1 round=$2
	if [ "$place" = pinned ]; then
		"$client" bench --native "$share" --depth 1 --cpu "$cpu" --label native \
			--placement pinned --round "$round" --json "$raw" "${common[@]}"
	else
		"$client" bench --native "$share" --depth 16,64 --label native \
			--placement unpinned --round "$round" --json "$raw" "${common[@]}"
	fi
}

start=$(date +%s)
for ((r = 1; r <= rounds; r++)); do
	if ((r % 2)); then order="ours qemu ours-packed"; else order="ours-packed qemu ours"; fi
	for place in pinned unpinned; do
		for q in 1 4; do
			for who in $order; do
				[ "$who" = qemu ] && { [ "$no_qemu" = 1 ] || [ "$q" != 1 ]; } && continue
				[ "$who" = ours-packed ] && { [ "$no_packed" = 1 ] || [ "$q" != 1 ]; } && continue
				log "round $r/$rounds: $who $place q=$q"
				run_cell "$who" "$place" "$q" "$r"
			done
		done
		if [ "$no_native" = 0 ]; then
			log "round $r/$rounds: native $place"
			run_native "$place" "$r"
		fi
	done
done
log "done in $(( $(date +%s) - start )) s"

python3 - "$raw" "$out/results.json" "$rounds" "$quick" <<'EOF'
import json, statistics, sys
raw, dest, rounds, quick = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1"
rows = [json.loads(l) for l in open(raw) if l.strip()]
order = ["lookup", "smallfile", "readdirplus", "seqread", "seqwrite", "randread"]
groups = {}
for r in rows:
    key = (r["daemon"], r["workload"], r["depth"], r["queues"], r["placement"])
    groups.setdefault(key, []).append(r)

def med(key, field):
    g = groups.get(key)
    if not g:
        return None
    vals = [x[field] for x in g if x[field] is not None and x[field] >= 0]
    return statistics.median(vals) if vals else None

cells = sorted({(r["workload"], r["depth"], q, r["placement"])
                for r in rows if r["daemon"] in ("ours", "qemu") for q in (1, 4)},
               key=lambda c: (order.index(c[0]) if c[0] in order else 99,
                              c[3] != "pinned", c[1], c[2]))
out = []
for wl, d, q, pl in cells:
    o, n = ("ours", wl, d, q, pl), ("native", wl, d, 0, pl)
    t = ("qemu", wl, d, q, pl)
    e = {"workload": wl, "depth": d, "queues": q, "placement": pl,
         "rounds": len(groups.get(o, []))}
    for who, key in (("ours", o), ("qemu", t)):
        for f in ("ops_s", "mib_s", "p50_us", "p99_us", "cpu_us_op", "errors"):
            e[f"{who}_{f}"] = med(key, f)
        e[f"{who}_samples_ops_s"] = [x["ops_s"] for x in groups.get(key, [])]
    e["native_ops_s"] = med(n, "ops_s")
    e["native_mib_s"] = med(n, "mib_s")
    e["ratio_ops"] = (e["ours_ops_s"] / e["qemu_ops_s"]
                      if e["ours_ops_s"] and e["qemu_ops_s"] else None)
    e["ratio_cpu"] = (e["ours_cpu_us_op"] / e["qemu_cpu_us_op"]
                      if e["ours_cpu_us_op"] and e["qemu_cpu_us_op"] else None)
    out.append(e)
# Ring layouts: ours on packed rings against ours on split rings.
packed = []
for wl, d, q, pl in sorted({(r["workload"], r["depth"], r["queues"], r["placement"])
                            for r in rows if r["daemon"] == "ours-packed"},
                           key=lambda c: (order.index(c[0]) if c[0] in order else 99,
                                          c[3] != "pinned", c[1], c[2])):
    e = {"workload": wl, "depth": d, "queues": q, "placement": pl}
    for who, key in (("split", ("ours", wl, d, q, pl)), ("packed", ("ours-packed", wl, d, q, pl))):
        for fld in ("ops_s", "p50_us", "p99_us", "cpu_us_op", "errors"):
            e[f"{who}_{fld}"] = med(key, fld)
        e[f"{who}_samples_ops_s"] = [x["ops_s"] for x in groups.get(key, [])]
    e["ratio_ops"] = (e["packed_ops_s"] / e["split_ops_s"]
                      if e["packed_ops_s"] and e["split_ops_s"] else None)
    packed.append(e)
json.dump({"rounds": rounds, "quick": quick, "results": out, "packed_vs_split": packed},
          open(dest, "w"), indent=1)

def f(v, fmt="{:.0f}"):
    return "n/a" if v is None else fmt.format(v)

print(f"\nvirtio-fs daemon benchmark: medians of {rounds} round(s){' (quick)' if quick else ''}; "
      "ours and QEMU's alternating in the same run.")
print("ratio = ours/qemu ops/s: > 1 means ours is faster. CPU = daemon utime+stime per op.")
print("op: lookup/smallfile/randread = one FUSE request; readdirplus = one entry (latency per"
      " READDIRPLUS); seqread/seqwrite = 1 MiB moved (ops/s = MiB/s, requests may be smaller).")
print("pinned: daemon (taskset) and client on one CPU; unpinned: anywhere on 2 CPUs.")
hdr = (f"{'workload':<12}{'dep':>4}{'q':>3} {'placement':<9}{'ours op/s':>11}{'qemu op/s':>11}"
       f"{'native op/s':>12}{'ratio':>7}  {'ours p50/p99 us':>17}  {'qemu p50/p99 us':>17}"
       f"{'ours CPU':>10}{'qemu CPU':>10}{'ours MiB/s':>11}{'qemu MiB/s':>11}")
print(hdr)
print(f"{'':<41}{'':>23}{'':>38}{'us/op':>10}{'us/op':>10}")
print("-" * len(hdr))
prev = None
for e in out:
    if prev and prev != e["workload"]:
        print()
    prev = e["workload"]
    lat = lambda w: ("n/a" if e[f"{w}_p50_us"] is None
                     else f"{e[f'{w}_p50_us']:.0f}/{e[f'{w}_p99_us']:.0f}")
    mib = lambda w: (f(e[f"{w}_mib_s"], "{:.0f}")
                     if e["workload"] in ("seqread", "seqwrite", "randread") else "")
    err = ""
    if (e["ours_errors"] or 0) or (e["qemu_errors"] or 0):
        err = f"  errors ours {f(e['ours_errors'])} qemu {f(e['qemu_errors'])}"
    print(f"{e['workload']:<12}{e['depth']:>4}{e['queues']:>3} {e['placement']:<9}"
          f"{f(e['ours_ops_s']):>11}{f(e['qemu_ops_s']):>11}{f(e['native_ops_s']):>12}"
          f"{f(e['ratio_ops'], '{:.2f}'):>7}  {lat('ours'):>17}  {lat('qemu'):>17}"
          f"{f(e['ours_cpu_us_op'], '{:.2f}'):>10}{f(e['qemu_cpu_us_op'], '{:.2f}'):>10}"
          f"{mib('ours'):>11}{mib('qemu'):>11}{err}")
if packed:
    print("\nRing layout: our daemon on packed virtqueues vs split ones (same run, medians; "
          "ratio = packed/split ops/s).")
    hdr2 = (f"{'workload':<12}{'dep':>4}{'q':>3} {'placement':<9}{'split op/s':>11}{'packed op/s':>12}"
            f"{'ratio':>7}  {'split p50/p99 us':>17}  {'packed p50/p99 us':>18}{'split CPU':>10}"
            f"{'packed CPU':>11}")
    print(hdr2)
    print("-" * len(hdr2))
    for e in packed:
        lat = lambda w: ("n/a" if e[f"{w}_p50_us"] is None
                         else f"{e[f'{w}_p50_us']:.0f}/{e[f'{w}_p99_us']:.0f}")
        err = ""
        if (e["split_errors"] or 0) or (e["packed_errors"] or 0):
            err = f"  errors split {f(e['split_errors'])} packed {f(e['packed_errors'])}"
        print(f"{e['workload']:<12}{e['depth']:>4}{e['queues']:>3} {e['placement']:<9}"
              f"{f(e['split_ops_s']):>11}{f(e['packed_ops_s']):>12}{f(e['ratio_ops'], '{:.2f}'):>7}"
              f"  {lat('split'):>17}  {lat('packed'):>18}{f(e['split_cpu_us_op'], '{:.2f}'):>10}"
              f"{f(e['packed_cpu_us_op'], '{:.2f}'):>11}{err}")
print(f"\nJSON: {dest} (raw samples: {raw})")
EOF
