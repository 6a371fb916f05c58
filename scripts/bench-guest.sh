#!/usr/bin/env bash
# bench-guest.sh: file-system benchmarks INSIDE a real Linux guest (QEMU,
# TCG), on our virtiofsd, QEMU's C virtiofsd, the Rust virtiofsd and
# virtio-9p, on both test stacks. Prints one table of medians per stack,
# with speed ratios ours/best-peer and ours/9p, and writes JSON.
#
#   scripts/bench-guest.sh [--quick | --smoke] [--rounds N]
#                          [--stacks 7.2,10] [--targets ours,qemu,rust,9p]
#                          [--no-extra] [--smp N] [--mem SIZE] [--tmpdir DIR]
#                          [--out DIR] [--ours BIN] [--9p-opts OPTS]
#                          [--timeout SECS] [--files N] [--tree-copies N]
#                          [--git-files N] [--fio-size SIZE] [--rand-secs S]
#                          [--seq-secs S]
#   scripts/bench-guest.sh --report [--out DIR]   (the tables of the last run again)
#   ninja -C build bench-guest      (options through BENCH_GUEST_ARGS='--quick ...')
#
# Targets (each with its usual settings for a performance comparison; the
# three virtio-fs daemons all with cache=auto, xattr off, one request queue):
#   ours  build/src/daemon/virtiofsd (--ours BIN) --cache=auto, otherwise
#         its defaults (two threads per queue, sandbox, seccomp)
#   qemu  QEMU's C daemon /usr/lib/qemu/virtiofsd -o cache=auto
#         --thread-pool-size=0
#   rust  the Rust virtiofsd 1.13.2 (scripts/guest/fetch-stack.sh) --cache=auto
#         (its default thread pool size is 0)
#   9p    no daemon: QEMU's own virtio-9p server, -virtfs local,path=DIR,
#         security_model=passthrough, mounted in the guest with
#         -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=loose
#         (--9p-opts to change the part after version=): the largest msize
#         the virtio transport takes, and the page cache for data and
#         metadata, as a user tuning 9p for speed would mount it
# Stacks: 7.2 (the system's QEMU 7.2, Debian 12's Linux 6.1) and 10 (QEMU 10,
# Linux 6.12, from scripts/guest/fetch-stack.sh). One guest boot per (target,
# stack): a "tools" guest (scripts/guest/make-initramfs.sh --hostroot) whose
# root is the host's / over 9p, so the host's fio, git and ls run in it; the
# share is on /mnt. Plus, on the 10 stack, one more guest of ours with
# num-request-queues = vCPUs for the fio cases with one job per vCPU
# ("ours qN" rows; --no-extra leaves it out); the Rust virtiofsd 1.13.2
# does not start with more than one request queue, so the main columns all
# have one.
#
# The share: one fresh directory made at the start under --tmpdir (default
# /dev/shm, tmpfs, so that the host's disk, shared with other jobs, does not
# enter the numbers; --tmpdir /var/tmp for ext4). It holds tree/ (copies of
# /usr/include) and repo/ (a git repository of generated files, committed and
# refreshed on the host, mtimes in the past so no entry is racily clean).
# Every guest uses this same directory: before each boot the host removes
# what an earlier guest may have left and walks tree/ and repo/ once (ls -lR,
# git status) so each guest finds the host's caches alike.
#
# Workloads, in the guest, each timed with CLOCK_MONOTONIC by a static helper
# (scripts/guest/guest_bench.c), rounds times (3; --quick and --smoke 1), the
# rounds outermost; the table shows medians:
#   create    create FILES empty files (open O_CREAT|O_EXCL + close) in one
#             new directory                                        seconds
#   stat-cold stat them all after `echo 3 > /proc/sys/vm/drop_caches`
#   stat-warm stat them all again at once (virtio-fs cache=auto keeps
#             attributes for 1 s: when the cold pass took longer, the warm
#             one revalidates the older entries; 9p cache=loose never does)
#   unlink    unlink them all
#   ls-lR     ls -lR of tree/ after drop_caches (its line count is checked
#             against the host's)
#   git-cold  git status in repo/ after drop_caches (--no-optional-locks, so
#             no guest writes the index; must say the tree is clean)
#   git-warm  git status again at once
#   fio       sequential read and write (1 MiB blocks, FIO_SIZE per job, one
#             file per job) in MiB/s, random read and write (4 KiB, the same
#             files, RAND_SECS time-based) in IOPS; each with numjobs=1 and
#             numjobs=vCPUs; ioengine psync, direct=0, end_fsync=1 for
#             writes; caches dropped before each run. The files are laid out
#             once (not timed), so the writes overwrite.
# Sizes (full / --quick / --smoke; each can be set: --files N,
# --tree-copies N, --git-files N, --fio-size SIZE, --rand-secs S, --seq-secs S):
#   FILES       2000 / 1000 / 200
#   tree        /usr/include (8,800 entries here) / /usr/include/linux (800)
#               / the same; --tree-copies N copies of it
#   repo        2000 / 500 / 100 files
#   FIO_SIZE    64M / 32M / 4M per job; a sequential run stops after
#               SEQ_SECS 5 / 3 / 2 if it has not reached the end
#   RAND_SECS   3 / 2 / 1
#   vCPUs       2 (--smp), guest RAM 2G (--mem)
# Smaller than a native benchmark would use: under TCG on this 2-core
# machine (shared with other jobs) a virtio-fs request takes about a
# millisecond and a 9p one several, so 10,000 files and a 40,000-entry
# tree would take a 9p guest more than half an hour. A full run (3 rounds,
# two stacks, nine guests) took 21 and 26 minutes here at load averages between 3
# and 11 (a 9p guest alone 6 minutes at a load of 8), --quick about 6,
# --smoke about one.
# --smoke: ours on the 7.2 stack only, no extra row, about a minute (CI).
#
# Ratios are speed ratios, > 1 when ours is faster: the peer's time over
# ours for seconds, ours over the peer's for MiB/s and IOPS. best-peer is
# the fastest of the other columns (qemu, rust, 9p) in that row, named.
# spread is the largest max/min over the rounds of any cell in the row: a
# ratio nearer 1 than that is within the noise. Numbers are only comparable
# within one run: the machine is shared, so the load average is recorded
# before and after each guest.
#
# Output: the tables, OUT/results.json (default OUT build/bench-guest; raw
# per-guest results in OUT/raw/, console logs OUT/guest-*.log) and a last line
# `bench-guest(PROFILE): N passed, M failed`, counting one per guest run and
# per workload run. Exit status non-zero only if something failed (a daemon
# that would not start, a guest that died or timed out, a workload that
# failed or gave a wrong result), never for slowness.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
self=$here/bench-guest.sh

# ---------------------------------------------------------------------------
# The guest side (--in-guest): runs chrooted into the host's root, cwd /mnt.
in_guest() {
	local rounds=1 jobs=1 files=100 fio_size=4M rand_secs=1 seq_secs=10 only="" res=""
	local ls_lines=0 wl_timeout=900
	while (($#)); do
		case "$1" in
		--rounds) rounds=$2; shift 2 ;;
		--jobs) jobs=$2; shift 2 ;;
		--files) files=$2; shift 2 ;;
		--fio-size) fio_size=$2; shift 2 ;;
		--rand-secs) rand_secs=$2; shift 2 ;;
		--seq-secs) seq_secs=$2; shift 2 ;;
		--only) only=$2; shift 2 ;;
		--results) res=$2; shift 2 ;;
		--ls-lines) ls_lines=$2; shift 2 ;;
		*) echo "bench-guest(in guest): unknown argument $1"; return 2 ;;
		esac
	done
	mkdir -p "$res"
	local m=$res/metrics.txt
	: >"$m"
	echo "guest $(uname -r) nproc $(nproc) rounds $rounds jobs $jobs" >>"$m"
	grep -E ' /mnt ' /proc/mounts | sed 's/^/mount /' >>"$m"
	say() { echo "bench-guest: [${SECONDS}s] $*"; }

	# The tools (fio with its 60-odd libraries, git, ls and the helper) come
	# in the initramfs (make-initramfs.sh --tools-dir, on /tmp/tools) and
	# run through their dynamic loader from there: drop_caches empties the
	# page cache of the host root's 9p mount too, and loading fio from it
	# again each time takes tens of seconds under TCG.
	local T=/tmp/tools
	run() { # TOOL ARGS: the staged tool's command line
		local t=$1
		shift
		echo "$T/ld.so" --library-path "$T/lib" "$T/$t" "$@"
	}
	local H=$T/guest_bench

	# timed NAME ROUND CHECK CMD...: run CMD (the helper with its arguments);
	# when it and then CHECK (a function that prints what is wrong and
	# fails) succeed, record the seconds it printed, else the failure.
	timed() {
		local name=$1 round=$2 check=$3 out st=0 why
		shift 3
		out=$("$@" 2>"$res/err.txt") || st=$?
		if ((st == 0)) && [[ "$out" =~ ^seconds\ ([0-9.]+)$ ]]; then
			if why=$($check 2>&1); then
				echo "metric $name $round ${BASH_REMATCH[1]}" >>"$m"
				say "$name round $round: ${BASH_REMATCH[1]} s"
				return 0
			fi
			echo "$why" >"$res/err.txt"
		fi
		why=$(<"$res/err.txt")
		why=${why//$'\n'/ }
		echo "fail $name $round status $st: ${why:0:300}" >>"$m"
		say "$name round $round FAILED (status $st): ${why:0:300}"
		return 1
	}
	failed() { # NAME ROUND REASON: a workload that could not run
		echo "fail $1 $2 $3" >>"$m"
		say "$1 round $2 FAILED: $3"
	}
	# The checks (bash builtins only: nothing is loaded from the host root).
	# shellcheck disable=SC2317 # called through timed
	ls_ok() { # as many lines as the host's ls -lR
		local lines
		mapfile -t lines </tmp/ls.out
		((${#lines[@]} == ls_lines)) || { echo "ls -lR printed ${#lines[@]} lines, $ls_lines on the host"; return 1; }
	}
	# shellcheck disable=SC2317 # called through timed
	git_ok() {
		local o
		o=$(</tmp/git.out)
		[[ "$o" == *"nothing to commit, working tree clean"* ]] || { echo "git status: ${o:0:300}"; return 1; }
	}
	drop() { "$H" drop-caches; }
	want() { [[ ",$only," == *",$1,"* ]]; }
	local r d w j t=$wl_timeout
	# shellcheck disable=SC2046 # run prints a command line of plain words
	for ((r = 1; r <= rounds; r++)); do
		if want meta; then
			d=/mnt/meta
			rm -rf "$d" && mkdir "$d"
			if timed create "$r" true "$H" -t "$t" create "$d" "$files"; then
				drop
				timed stat-cold "$r" true "$H" -t "$t" stat "$d" "$files" || true
				timed stat-warm "$r" true "$H" -t "$t" stat "$d" "$files" || true
				timed unlink "$r" true "$H" -t "$t" unlink "$d" "$files" || true
			else
				for w in stat-cold stat-warm unlink; do failed "$w" "$r" "create failed"; done
			fi
			rm -rf "$d"
		fi
		if want ls; then
			drop
			timed ls-lR "$r" ls_ok "$H" -t "$t" time /tmp/ls.out $(run ls -lR /mnt/tree) || true
		fi
		if want git; then
			drop
			for w in git-cold git-warm; do
				timed "$w" "$r" git_ok "$H" -t "$t" time /tmp/git.out \
					$(run git -c 'safe.directory=*' --no-optional-locks -C /mnt/repo status) || true
			done
		fi
	done
	# fio: lay the files out once (one per job, not timed), then each case.
	local fio_common=(--directory=/mnt/fio "--filename_format=fio.\$jobnum" "--size=$fio_size"
		--ioengine=psync --direct=0 --group_reporting --output-format=json)
	local js=() lay=1 a
	want fio1 && js+=(1)
	want fioV && ((jobs > 1)) && js+=("$jobs") lay=$jobs
	if ((${#js[@]})); then
		mkdir -p /mnt/fio
		# shellcheck disable=SC2046
		if ! "$H" -t "$t" time /dev/null $(run fio) --name=layout --rw=write --bs=1M \
			--numjobs="$lay" --end_fsync=1 "${fio_common[@]}" >/dev/null 2>"$res/err.txt"; then
			a=$(<"$res/err.txt")
			for ((r = 1; r <= rounds; r++)); do
				for j in "${js[@]}"; do
					for w in seq-write seq-read rand-read rand-write; do
						failed "$w-j$j" "$r" "fio layout failed: ${a:0:200}"
					done
				done
			done
			js=()
		fi
		say "fio files laid out"
		for ((r = 1; r <= rounds; r++)); do
			for j in "${js[@]}"; do
				for w in seq-write seq-read rand-read rand-write; do
					a=(--name="$w" --numjobs="$j" "${fio_common[@]}" --output="$res/fio-$w-j$j-r$r.json")
					case $w in
					seq-write) a+=(--rw=write --bs=1M --end_fsync=1 --runtime="$seq_secs") ;;
					seq-read) a+=(--rw=read --bs=1M --runtime="$seq_secs") ;;
					rand-read) a+=(--rw=randread --bs=4k --time_based --runtime="$rand_secs") ;;
					rand-write) a+=(--rw=randwrite --bs=4k --end_fsync=1 --time_based --runtime="$rand_secs") ;;
					esac
					drop
					# shellcheck disable=SC2046
					if timed "$w-j$j" "$r" true "$H" -t "$t" time /dev/null $(run fio) "${a[@]}"; then
						echo "fio $w-j$j $r fio-$w-j$j-r$r.json" >>"$m"
					fi
				done
			done
		done
		rm -rf /mnt/fio
	fi
	rm -f "$res/err.txt"
	echo end >>"$m"
	sync
	say "guest side done"
}

if [[ "${1:-}" == --in-guest ]]; then
	shift
	in_guest "$@"
	exit 0
fi

# ---------------------------------------------------------------------------
# The host side.
# report OUT PROFILE ...: the tables and OUT/results.json from OUT/raw.
report() {
	python3 - "$@" <<'EOF'
import json, os, statistics, sys
(out, profile, rounds, smp, mem, share_fs, p9opts, load_start, load_end, wall, files,
 tree_entries, git_files, fio_size, rand_secs, stacks) = sys.argv[1:]
rounds, smp, wall = int(rounds), int(smp), int(wall)
stacks = stacks.split()
raw = os.path.join(out, "raw")
guests = []
for line in open(os.path.join(raw, "guests.tsv")):
    s, label, rc, secs, l0, l1 = line.rstrip("\n").split("\t")
    guests.append({"stack": s, "target": label, "status": rc, "seconds": int(secs),
                   "loadavg_before": l0, "loadavg_after": l1})

def fio_value(path, name):
    """MiB/s for seq, IOPS for rand, from fio's JSON (group_reporting)."""
    txt = open(path).read()
    job = json.loads(txt[txt.index("{"):])["jobs"][0]
    if job.get("error"):
        return None
    d = job["write" if "write" in name else "read"]
    return d["bw_bytes"] / 2**20 if name.startswith("seq") else d["iops"]

samples = {}  # (stack, label, workload) -> [values]
bad = []  # fio results that do not parse or report an error
for g in guests:
    d = os.path.join(raw, f"{g['stack']}-{g['target']}")
    m = os.path.join(d, "metrics.txt")
    if not os.path.exists(m):
        continue
    for line in open(m):
        w = line.split()
        key = (g["stack"], g["target"])
        if not w:
            continue
        if w[0] == "metric" and not w[1].startswith(("seq-", "rand-")):
            samples.setdefault(key + (w[1],), []).append(float(w[3]))
        elif w[0] == "fio":
            try:
                v = fio_value(os.path.join(d, w[3]), w[1])
            except (OSError, ValueError, KeyError, IndexError):
                v = None
            if v is None:
                bad.append(f"{g['stack']}/{g['target']} {w[1]} round {w[2]}")
            else:
                samples.setdefault(key + (w[1],), []).append(v)

V = smp
rows = [("create", "s", f"create {files} files"), ("stat-cold", "s", f"stat {files}, cold"),
        ("stat-warm", "s", f"stat {files}, warm"), ("unlink", "s", f"unlink {files} files"),
        ("ls-lR", "s", f"ls -lR {tree_entries} entries, cold"),
        ("git-cold", "s", f"git status {git_files} files, cold"),
        ("git-warm", "s", f"git status {git_files} files, warm")]
for j in sorted({1, V}):
    for w, unit, what in (("seq-read", "MiB/s", "seq read 1M"), ("seq-write", "MiB/s", "seq write 1M"),
                          ("rand-read", "IOPS", "rand read 4k"), ("rand-write", "IOPS", "rand write 4k")):
        rows.append((f"{w}-j{j}", unit, f"{what}, {j} job{'s' if j > 1 else ''}"))
peers = ["qemu", "rust", "9p"]
cols = ["ours"] + peers

def med(stack, label, w):
    v = samples.get((stack, label, w))
    return statistics.median(v) if v else None

def speed(unit, ours, peer):  # > 1: ours faster
    if ours is None or peer is None or ours <= 0 or peer <= 0:
        return None
    return peer / ours if unit == "s" else ours / peer

def fmt(v, unit):
    if v is None:
        return "-"
    if unit == "s":
        return f"{v:.2f}"
    return f"{v:.0f}" if v >= 100 else f"{v:.1f}"

tables = {}
lines = []
for s in stacks:
    gs = [g for g in guests if g["stack"] == s]
    if not gs:
        continue
    present = [c for c in cols if any(g["target"] == c for g in gs)]
    extra = [g["target"] for g in gs if g["target"].startswith("ours-q")]
    ver = open(os.path.join(raw, f"versions-{s}.txt")).read().strip() \
        if os.path.exists(os.path.join(raw, f"versions-{s}.txt")) else s
    entries = []
    def add(label_ours, w, unit, what, extra_label=None):
        e = {"workload": w, "unit": unit, "what": what,
             "better": "lower" if unit == "s" else "higher", "ours_label": label_ours}
        for c in cols:
            lab = label_ours if c == "ours" else c
            e[c] = med(s, lab, w) if c in present or c == "ours" else None
            e[c + "_samples"] = samples.get((s, lab, w), [])
        best = None
        for p in peers:
            if e[p] is None:
                continue
            if best is None or (e[p] < e[best] if unit == "s" else e[p] > e[best]):
                best = p
        e["best_peer"] = best
        e["ours_vs_best_peer"] = speed(unit, e["ours"], e[best]) if best else None
        e["ours_vs_9p"] = speed(unit, e["ours"], e["9p"])
        # The largest max/min over the rounds of any cell in the row.
        sp = [max(v) / min(v) for v in (e[c + "_samples"] for c in cols) if len(v) > 1 and min(v) > 0]
        e["spread"] = max(sp) if sp else None
        entries.append(e)
    for w, unit, what in rows:
        add("ours", w, unit, what)
    for lab in extra:
        q = lab.split("-q")[1]
        for w, unit, what in rows:
            if w.endswith(f"-j{V}") and V > 1:
                add(lab, w, unit, f"{what} [ours q={q}]")
    tables[s] = {"stack": ver, "entries": entries}
    l0 = [g["loadavg_before"].split()[0] for g in gs]
    l1 = [g["loadavg_after"].split()[0] for g in gs]
    lines.append("")
    lines.append(f"== stack {s}: {ver}; {smp} vCPUs, {mem}; share on {share_fs}; "
                 f"medians of {rounds} round(s) ({profile})")
    lines.append("   guests: " + ", ".join(f"{g['target']} {g['seconds']}s (load {g['loadavg_before'].split()[0]}"
                                         f"->{g['loadavg_after'].split()[0]}{'' if g['status'] == '0' else ', status ' + g['status']})"
                                         for g in gs))
    hdr = (f"{'workload':<34}{'unit':>6}" + "".join(f"{c:>9}" for c in cols)
           + f"{'ours/best-peer':>21}{'ours/9p':>9}{'spread':>8}")
    lines.append(hdr)
    lines.append("-" * len(hdr))
    for e in entries:
        bp = "-" if e["ours_vs_best_peer"] is None else f"{e['ours_vs_best_peer']:.2f} ({e['best_peer']})"
        r9 = "-" if e["ours_vs_9p"] is None else f"{e['ours_vs_9p']:.2f}"
        sp = "-" if e["spread"] is None else f"{e['spread']:.1f}"
        lines.append(f"{e['what']:<34}{e['unit']:>6}" + "".join(f"{fmt(e[c], e['unit']):>9}" for c in cols)
                     + f"{bp:>21}{r9:>9}{sp:>8}")
print("\n".join(lines))
print(f"\nRatios are speed ratios: > 1 means ours is faster (peer time / ours for s, ours / peer for MiB/s, IOPS);"
      f" best-peer is the fastest of qemu, rust, 9p in the row. '-': no result (failed or not run).")
print("spread: the largest max/min over the rounds of any cell in the row; a ratio nearer 1 than that is noise.")
print("stat warm: virtio-fs cache=auto keeps attributes 1 s, so a cold pass longer than that leaves the warm one"
      " revalidating (GETATTR); 9p cache=loose never revalidates.")
print(f"9p: -virtfs security_model=passthrough, mount -o trans=virtio,version=9p2000.L,{p9opts}."
      f" Load average: {load_start} at the start, {load_end} at the end; {wall} s in all.")
res = {"profile": profile, "rounds": rounds, "vcpus": smp, "guest_mem": mem, "share_fs": share_fs,
       "9p_mount_options": "trans=virtio,version=9p2000.L," + p9opts,
       "sizes": {"files": int(files), "tree_entries": int(tree_entries), "git_files": int(git_files),
                 "fio_size_per_job": fio_size, "rand_seconds": int(rand_secs)},
       "loadavg_start": load_start, "loadavg_end": load_end, "wall_seconds": wall,
       "guests": guests, "tables": tables}
dest = os.path.join(out, "results.json")
json.dump(res, open(dest, "w"), indent=1)
print(f"JSON: {dest}")
for b in bad:
    print(f"fio result unreadable or with an error: {b}")
sys.exit(3 if bad else 0)
EOF
}

quick=0 smoke=0 rounds="" stacks="" targets="" extra=1 smp=2 mem=2G
tmpbase=/dev/shm out="" ours="" p9opts="msize=512000,cache=loose" timeout_s=""
o_files="" o_copies="" o_git="" o_fio="" o_rand="" o_seq="" report_only=0
usage() { sed -n '2,15p' "$self" | sed 's/^# \{0,1\}//'; }
# shellcheck disable=SC2086 # BENCH_GUEST_ARGS: words
set -- "$@" ${BENCH_GUEST_ARGS:-}
while (($#)); do
	case "$1" in
	--quick) quick=1; shift ;;
	--smoke) smoke=1; shift ;;
	--rounds) rounds=${2:?}; shift 2 ;;
	--stacks) stacks=${2:?}; shift 2 ;;
	--targets) targets=${2:?}; shift 2 ;;
	--no-extra) extra=0; shift ;;
	--smp) smp=${2:?}; shift 2 ;;
	--mem) mem=${2:?}; shift 2 ;;
	--tmpdir) tmpbase=${2:?}; shift 2 ;;
	--out) out=${2:?}; shift 2 ;;
	--ours) ours=${2:?}; shift 2 ;;
	--9p-opts) p9opts=${2:?}; shift 2 ;;
	--timeout) timeout_s=${2:?}; shift 2 ;;
	--files) o_files=${2:?}; shift 2 ;;
	--tree-copies) o_copies=${2:?}; shift 2 ;;
	--git-files) o_git=${2:?}; shift 2 ;;
	--fio-size) o_fio=${2:?}; shift 2 ;;
	--rand-secs) o_rand=${2:?}; shift 2 ;;
	--seq-secs) o_seq=${2:?}; shift 2 ;;
	--report) report_only=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "bench-guest: unknown argument $1" >&2; usage >&2; exit 2 ;;
	esac
done
die() { echo "bench-guest: $*" >&2; exit 2; }
log() { printf '[bench-guest %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
if ((report_only)); then
	out=${out:-$repo/build/bench-guest}
	[[ -f "$out/raw/report-args" ]] || die "no run in $out (no raw/report-args)"
	mapfile -t report_args <"$out/raw/report-args"
	report_args[0]=$out
	report "${report_args[@]}" || true
	exit 0
fi

if ((smoke)); then
	profile=smoke
	: "${rounds:=1}" "${stacks:=7.2}" "${targets:=ours}" "${timeout_s:=240}"
	extra=0 files=200 tree_src=/usr/include/linux tree_copies=1 git_files=100
	fio_size=4M rand_secs=1 seq_secs=2
elif ((quick)); then
	profile=quick
	: "${rounds:=1}" "${timeout_s:=900}"
	files=1000 tree_src=/usr/include/linux tree_copies=1 git_files=500 fio_size=32M rand_secs=2 seq_secs=3
else
	profile=full
	: "${rounds:=3}" "${timeout_s:=2400}"
	files=2000 tree_src=/usr/include tree_copies=1 git_files=2000 fio_size=64M rand_secs=3 seq_secs=5
fi
files=${o_files:-$files} tree_copies=${o_copies:-$tree_copies} git_files=${o_git:-$git_files}
fio_size=${o_fio:-$fio_size} rand_secs=${o_rand:-$rand_secs} seq_secs=${o_seq:-$seq_secs}
[[ "$files" =~ ^[1-9][0-9]{0,4}$ ]] || die "bad --files $files (1..99999)"
[[ "$tree_copies" =~ ^[1-9][0-9]?$ ]] || die "bad --tree-copies $tree_copies"
[[ "$git_files" =~ ^[1-9][0-9]{0,5}$ ]] || die "bad --git-files $git_files"
[[ "$fio_size" =~ ^[1-9][0-9]*[KMG]$ ]] || die "bad --fio-size $fio_size"
[[ "$rand_secs" =~ ^[1-9][0-9]*$ && "$seq_secs" =~ ^[1-9][0-9]*$ ]] || die "bad --rand-secs or --seq-secs"
: "${stacks:=7.2,10}" "${targets:=ours,qemu,rust,9p}"
[[ "$rounds" =~ ^[1-9][0-9]?$ ]] || die "bad --rounds $rounds"
[[ "$smp" =~ ^[1-9][0-9]?$ ]] || die "bad --smp $smp"
[[ "$timeout_s" =~ ^[0-9]+$ ]] || die "bad --timeout $timeout_s"
[[ "$mem" =~ ^[0-9]+[MG]$ ]] || die "bad --mem $mem"
[[ "$p9opts" =~ ^[A-Za-z0-9_.,=-]+$ ]] || die "bad --9p-opts $p9opts"
IFS=, read -r -a stack_list <<<"$stacks"
IFS=, read -r -a target_list <<<"$targets"
# shellcheck source=scripts/guest/stack.sh
. "$repo/scripts/guest/stack.sh"
for s in "${stack_list[@]}"; do stack_check "$s" || die "bad stack $s (7.2 or 10)"; done
for t in "${target_list[@]}"; do
	case "$t" in ours | qemu | rust | 9p) ;; *) die "bad target $t (ours, qemu, rust, 9p)" ;; esac
done
[[ " ${target_list[*]} " == *" ours "* && " ${stack_list[*]} " == *" 10 "* ]] || extra=0
((smp > 1)) || extra=0
ours=${ours:-${VIRTIOFSD:-$repo/build/src/daemon/virtiofsd}}
out=${out:-$repo/build/bench-guest}
for tool in fio git python3 gcc; do
	command -v "$tool" >/dev/null || die "$tool not found (scripts/install-deps.sh)"
done
[[ "$self" =~ ^[A-Za-z0-9_./-]+$ ]] || die "the repo path must be plain for the kernel command line: $self"
mkdir -p "$out/raw"
out=$(cd "$out" && pwd)
[[ "$out" =~ ^[A-Za-z0-9_./-]+$ ]] || die "the --out path must be plain: $out"
rm -rf "$out/raw"/* "$out"/guest-*.log "$out"/guest-*.log.daemon

t_start=$SECONDS
passed=0 failed=0 failures=()
pass() { passed=$((passed + 1)); }
failure() { failed=$((failed + 1)); failures+=("$*"); log "FAILED: $*"; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
load_start=$(loadavg)
log "profile $profile, rounds $rounds, stacks ${stack_list[*]}, targets ${target_list[*]}, load average $load_start"

# The guest's tools: the helper (static), fio, git and ls with their
# libraries and loader, for the initramfs (see in_guest).
helper=$out/guest_bench
if [[ ! -x "$helper" || "$here/guest/guest_bench.c" -nt "$helper" ]]; then
	gcc -static -O2 -g0 -Wall -Wextra -Werror -o "$helper.tmp" "$here/guest/guest_bench.c"
	mv "$helper.tmp" "$helper"
fi
tools=$out/tools
rm -rf "$tools"
mkdir -p "$tools/lib"
cp "$helper" "$tools/guest_bench"
for b in fio git ls; do
	p=$(command -v "$b")
	cp "$p" "$tools/$b"
	while read -r soname arrow lib _; do
		if [[ "$arrow" == "=>" && "$lib" == /* ]]; then
			[[ -f "$tools/lib/$soname" ]] || cp -L "$lib" "$tools/lib/$soname"
		elif [[ "$soname" == /*ld-linux* ]]; then
			[[ -f "$tools/ld.so" ]] || cp -L "$soname" "$tools/ld.so"
		fi
	done < <(ldd "$p")
done
[[ -x "$tools/ld.so" ]] || die "no dynamic loader found in ldd $(command -v fio)"

# ---- the share, made once ----
work=$(mktemp -d "$tmpbase/vfs-bench-guest.XXXXXX")
cleanup() { rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
share=$work/share
mkdir -p "$share/tree" "$share/results"
share_fs=$(stat -f -c %T "$share")
log "preparing $share ($share_fs): $tree_copies copies of $tree_src, a git repository of $git_files files"
for ((i = 0; i < tree_copies; i++)); do cp -a "$tree_src" "$share/tree/inc$i"; done
tree_entries=$(find "$share/tree" | wc -l)
# shellcheck disable=SC2012 # the guest's ls -lR must print as many lines
tree_lines=$(cd "$share" && ls -lR tree | wc -l)
gitc() { git -c safe.directory='*' -c user.name=bench -c user.email=bench@localhost \
	-c init.defaultBranch=main -c gc.auto=0 "$@"; }
mkdir "$share/repo"
(cd "$share/repo" && awk -v n="$git_files" 'BEGIN {
	for (i = 0; i < n; i++) {
		d = sprintf("d%03d", int(i / 100)); f = sprintf("%s/f%05d.c", d, i)
		if (i % 100 == 0) system("mkdir -p " d)
		printf "/* file %d */\n", i > f
		for (j = 0; j < 5 + i % 40; j++) printf "int v%d_%d = %d;\n", i, j, i * j > f
		close(f)
	}
}')
# mtimes in the past: no entry is racily clean against the index.
find "$share/repo" -exec touch -h -d '2024-01-01 00:00:00' {} +
gitc init -q "$share/repo"
gitc -C "$share/repo" add -A
gitc -C "$share/repo" commit -q -m "bench: $git_files files"
gitc -C "$share/repo" update-index -q --refresh
gitc -C "$share/repo" status | grep -q 'working tree clean' || die "the prepared repository is not clean"
log "share ready: tree/ $tree_entries entries, repo/ $git_files files"

versions() { # STACK: a line on QEMU, kernel and daemon versions
	local q
	q=$("$stack_qemu" --version 2>/dev/null | head -n 1 | sed 's/^QEMU emulator version //')
	printf 'QEMU %s, kernel %s' "$q" "$(basename "$stack_kernel" | sed 's/^vmlinuz-//')"
}

# run_guest STACK TARGET QUEUES ONLY: one guest; results into OUT/raw/STACK-LABEL.
guest_meta=$out/raw/guests.tsv
: >"$guest_meta"
run_one() {
	local stack=$1 target=$2 queues=$3 only=$4 label cmd=() opts=() initrd rc=0 t0 l0 raw bin
	label=$target
	((queues > 1)) && label=$target-q$queues
	raw=$out/raw/$stack-$label
	rm -rf "$raw" "$share/results" "$share/meta" "$share/fio"
	mkdir -p "$raw" "$share/results"
	initrd=$out/initramfs-$stack-virtiofs.gz
	case "$target" in
	ours) bin=$ours; cmd=("$ours" '--socket-path={socket}' '--shared-dir={shared_dir}' --cache=auto) ;;
	qemu)
		bin=/usr/lib/qemu/virtiofsd
		cmd=("$bin" '--socket-path={socket}' -o 'source={shared_dir}' -o cache=auto --thread-pool-size=0)
		;;
	rust)
		bin=$(stack_rust_virtiofsd) || bin=""
		cmd=("$bin" '--socket-path={socket}' '--shared-dir={shared_dir}' --cache=auto)
		;;
	9p) bin=""; opts=(--share-9p); initrd=$out/initramfs-$stack-9p.gz ;;
	esac
	if [[ "$target" != 9p && ! -x "$bin" ]]; then
		failure "$stack/$label: no daemon at '$bin'"
		printf '%s\t%s\tfailed\t0\t-\t-\n' "$stack" "$label" >>"$guest_meta"
		return 0
	fi
	((queues > 1)) && opts+=(--num-queues "$queues")
	# The same host state for every guest: the tree and the repository walked.
	ls -lR "$share/tree" >/dev/null
	gitc --no-optional-locks -C "$share/repo" status >/dev/null
	l0=$(loadavg)
	t0=$SECONDS
	log "$stack/$label: booting (load average $l0)"
	"$repo/scripts/guest/run-guest.sh" --hostroot --kernel "$stack_kernel" --initrd "$initrd" \
		--qemu "$stack_qemu" --shared-dir "$share" --log "$out/guest-$stack-$label.log" \
		--timeout "$timeout_s" --smp "$smp" --mem "$mem" "${opts[@]}" \
		--guest-args "$self --in-guest --rounds $rounds --jobs $smp --files $files --fio-size $fio_size --rand-secs $rand_secs --seq-secs $seq_secs --only $only --ls-lines $tree_lines --results /mnt/results" \
		-- "${cmd[@]}" >"$raw/run-guest.txt" 2>&1 || rc=$?
	log "$stack/$label: guest finished after $((SECONDS - t0)) s (status $rc, load average $(loadavg))"
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$stack" "$label" "$rc" "$((SECONDS - t0))" "$l0" "$(loadavg)" >>"$guest_meta"
	cp -a "$share/results/." "$raw/" 2>/dev/null || true
	if ((rc != 0)); then
		failure "$stack/$label: guest run status $rc (see $out/guest-$stack-$label.log)"
		tail -n 5 "$raw/run-guest.txt" >&2 || true
	elif [[ "$(tail -n 1 "$raw/metrics.txt" 2>/dev/null)" != end ]]; then
		failure "$stack/$label: the guest's results are incomplete"
	else
		pass
	fi
	local kind name round rest
	if [[ -f "$raw/metrics.txt" ]]; then
		while read -r kind name round rest; do
			case "$kind" in
			metric) pass ;;
			fail) failure "$stack/$label: $name round $round: $rest" ;;
			esac
		done <"$raw/metrics.txt"
	fi
	rm -rf "$share/results" "$share/meta" "$share/fio"
	return 0
}

# ---- the guests ----
all="meta,ls,git,fio1,fioV"
n=0
for stack in "${stack_list[@]}"; do
	if ! stack_select "$stack"; then
		failure "$stack: the stack could not be fetched"
		continue
	fi
	log "stack $stack: $(versions)"
	versions >"$out/raw/versions-$stack.txt"
	if [[ " ${target_list[*]} " == *" "[oqr]* ]]; then
		"$repo/scripts/guest/make-initramfs.sh" --kernel "$stack_kernel" --hostroot --tools-dir "$tools" \
			--out "$out/initramfs-$stack-virtiofs.gz" >/dev/null
	fi
	if [[ " ${target_list[*]} " == *" 9p "* ]]; then
		"$repo/scripts/guest/make-initramfs.sh" --kernel "$stack_kernel" --hostroot --tools-dir "$tools" \
			--share-fs 9p --mount-opts "$p9opts" --out "$out/initramfs-$stack-9p.gz" >/dev/null
	fi
	# Alternate the order from one stack to the next against drift.
	order=("${target_list[@]}")
	if ((n % 2)); then
		order=()
		for ((i = ${#target_list[@]} - 1; i >= 0; i--)); do order+=("${target_list[i]}"); done
	fi
	n=$((n + 1))
	for t in "${order[@]}"; do run_one "$stack" "$t" 1 "$all"; done
	if ((extra)) && [[ "$stack" == 10 ]]; then run_one "$stack" ours "$smp" fioV; fi
done
load_end=$(loadavg)
wall=$((SECONDS - t_start))
log "all guests done in $wall s, load average $load_end"

# ---- tables and JSON ----
report_args=("$out" "$profile" "$rounds" "$smp" "$mem" "$share_fs" "$p9opts" "$load_start" "$load_end"
	"$wall" "$files" "$tree_entries" "$git_files" "$fio_size" "$rand_secs" "${stack_list[*]}")
printf '%s\n' "${report_args[@]}" >"$out/raw/report-args"
report "${report_args[@]}" || failure "the report: fio results unreadable or with an error (above)"

((${#failures[@]} == 0)) || printf 'failed: %s\n' "${failures[@]}"
echo "bench-guest($profile): $passed passed, $failed failed"
((failed == 0))
