#!/usr/bin/env bash
# run-workloads.sh: real programs as file-system workloads, each checked for
# byte-exact results: fio (sequential and random write, verify=crc32c),
# stress-ng file-system stressors, dbench, git (commit + fsck of a few
# thousand small files) and tar (extract a large tree, compare with its
# source). All from Debian packages (scripts/install-deps.sh).
#
# Usage: tests/e2e/run-workloads.sh [--target guest|DIR] [--daemon qemu|ours|rust|PATH]
#            [--stack 7.2|10] [--num-queues N] [--packed]
#            [--profile full|quick] [--only NAME[,NAME...]] [--timeout SECS]
#            [--cache auto|never|always] [--daemon-arg ARG]... [--out DIR] [--keep]
#
#   --target DIR    run the workloads directly in DIR (a plain directory as
#                   the reference, or our daemon's /dev/fuse mount); they use
#                   DIR/workloads/, removed afterwards unless --keep or a
#                   failure. Default profile: full.
#   --target guest  (the default) boot the "tools" guest (host root over 9p,
#                   scripts/guest/make-initramfs.sh --hostroot) against the
#                   daemon and run the same workloads there on the virtio-fs
#                   mount; then the host re-verifies what the guest wrote
#                   (fio files, git repository, tar tree) straight from the
#                   shared directory. Default profile: quick (TCG is slow).
#   --daemon        as in run-e2e.sh: ours (build/src/daemon/virtiofsd, or
#                   $VIRTIOFSD), qemu (/usr/lib/qemu/virtiofsd with
#                   --thread-pool-size=0 -o xattr -o posix_lock), rust (the
#                   Rust virtiofsd of scripts/guest/fetch-stack.sh), or a
#                   PATH taking the Rust virtiofsd command line
#   --stack         as in run-e2e.sh: 7.2 (system QEMU 7.2, 6.1 kernel; the
#                   default) or 10 (QEMU 10, 6.12 kernel)
#   --num-queues    the device's num-request-queues (default: not given)
#   --packed        the device's packed=on (packed virtqueues when the
#                   daemon offers them; label suffix -packed)
#   --only          run only these workloads: fio-seq fio-rand stress-ng
#                   dbench git tar
#   --timeout       bound on the guest run (default 900 s); every workload
#                   also has its own bound
#   --out           work directory for the guest run (default build/workloads)
#
# Output: `ok N - workload` / `not ok N - workload: reason`, `# ...` notes
# with wall times, then `workloads(<target>): N passed, M failed`.
# Exit status 0 only if everything passed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
self=$here/run-workloads.sh
all_workloads=(fio-seq fio-rand stress-ng dbench git tar)

# ---------------------------------------------------------------------------
# Profiles: sizes and time bounds.
set_profile() {
	case "$1" in
	full)
		FIO_SEQ_SIZE=64M FIO_RAND_SIZE=32M
		STRESS_SECS=10 STRESS_HDD_BYTES=16M
		DBENCH_SECS=5 DBENCH_CLIENTS=2
		GIT_FILES=3000
		TAR_SRC=/usr/include
		WL_TIMEOUT=300
		;;
	quick)
		FIO_SEQ_SIZE=32M FIO_RAND_SIZE=8M
		STRESS_SECS=10 STRESS_HDD_BYTES=4M
		DBENCH_SECS=5 DBENCH_CLIENTS=2
		GIT_FILES=600
		TAR_SRC=/usr/include/linux
		WL_TIMEOUT=240
		;;
	*) echo "run-workloads: bad profile $1" >&2; exit 2 ;;
	esac
}

fail() { echo "FAIL: $*"; exit 1; }

# ---------------------------------------------------------------------------
# The workloads. Each runs in its own directory D (fresh, empty) and exits
# 0 on success or prints `FAIL: reason` and exits 1. The check_* helpers
# are also used by the host to re-verify what a guest wrote.

fio_args() { # KIND DIR
	local kind=$1 d=$2
	local common=(--ioengine=psync --verify=crc32c --verify_fatal=1
		--verify_state_save=0 --randrepeat=1 --group_reporting)
	case "$kind" in
	seq) echo "--name=seq --filename=$d/seq.dat --rw=write --bs=128k --size=$FIO_SEQ_SIZE ${common[*]}" ;;
	rand) echo "--name=rand --filename=$d/rand.dat --rw=randwrite --bs=4k --size=$FIO_RAND_SIZE ${common[*]}" ;;
	esac
}

check_fio() { # KIND DIR: re-read the file (page cache dropped by fio's
	# invalidate=1) and verify every block's crc32c header
	local kind=$1 d=$2 out
	# shellcheck disable=SC2046
	if ! out=$(fio $(fio_args "$kind" "$d") --verify_only 2>&1); then
		echo "$out" | tail -n 15
		fail "fio --verify_only of $kind.dat failed"
	fi
	grep -q 'err= 0' <<<"$out" || { echo "$out"; fail "fio --verify_only reported errors"; }
	echo "verify-only pass of $d/$kind.dat: ok"
}

wl_fio() { # KIND DIR
	local kind=$1 d=$2 out
	# shellcheck disable=SC2046
	if ! out=$(fio $(fio_args "$kind" "$d") --do_verify=1 --end_fsync=1 2>&1); then
		echo "$out" | tail -n 20
		fail "fio $kind write+verify exited non-zero"
	fi
	echo "$out" | grep -E 'WRITE:|READ:|err=' || true
	grep -q 'err= 0' <<<"$out" || { echo "$out"; fail "fio $kind reported errors"; }
	check_fio "$kind" "$d"
}

wl_stress() { # DIR
	local d=$1 st=0
	# --verify: the hdd stressor reads back and checks what it wrote.
	# Every inode the client's cache holds is an fd in the daemon. The
	# symlink stressor keeps 8192 links alive at once (fixed in this
	# stress-ng) and --dir 8192 directories unless told: 2048 keeps the
	# whole run near 10,500 inodes, inside the daemon's budget at an open
	# file limit of 20,000 (13,125 inodes), the hard limit on machines
	# without CAP_SYS_RESOURCE.
	timeout -k 10 $((STRESS_SECS + 60)) stress-ng --temp-path "$d" \
		--hdd 1 --hdd-bytes "$STRESS_HDD_BYTES" --dir 1 --dir-dirs 2048 --rename 1 \
		--link 1 --symlink 1 \
		--timeout "${STRESS_SECS}s" --verify --metrics-brief >"$d.out" 2>&1 || st=$?
	cat "$d.out"
	if ((st != 0)); then
		fail "stress-ng exited $st$(grep -m3 -iE 'fail|error' "$d.out" | tr '\n' ' ' | sed 's/^/: /')"
	fi
	if grep -qiE 'verif.*fail|fail.*verif|unsuccessful|stressor.*failed' "$d.out"; then
		fail "stress-ng reported: $(grep -m3 -iE 'fail' "$d.out" | tr '\n' ' ')"
	fi
	grep -q 'successful run completed' "$d.out" || fail "no 'successful run completed' line"
	rm -f "$d.out"
}

wl_dbench() { # DIR
	local d=$1 st=0
	timeout -k 10 $((DBENCH_SECS + 90)) dbench -D "$d" -t "$DBENCH_SECS" \
		-c /usr/share/dbench/client.txt "$DBENCH_CLIENTS" >"$d.out" 2>&1 || st=$?
	tail -n 3 "$d.out"
	((st == 0)) || fail "dbench exited $st: $(grep -m3 -iE 'error|fail' "$d.out" | tr '\n' ' ')"
	# dbench 4.0 takes semget()'s valid id 0 (the first one in a fresh IPC
	# namespace, e.g. a just-booted guest) for a failure, says so and
	# carries on: not an error of the file system.
	if grep -v 'failed to create barrier semaphore' "$d.out" | grep -qiE 'error|failed'; then
		fail "dbench reported: $(grep -v 'barrier semaphore' "$d.out" | grep -m3 -iE 'error|failed' | tr '\n' ' ')"
	fi
	grep -q '^Throughput ' "$d.out" || fail "dbench printed no Throughput line"
	rm -f "$d.out"
}

gitc() { git -c safe.directory='*' -c user.name=workloads -c user.email=workloads@localhost \
	-c init.defaultBranch=main -c gc.auto=0 "$@"; }

# Deterministic source tree for the git workload: N small files in N/100
# directories, some executable, a few symlinks and two larger files.
make_git_source() { # DIR N
	local s=$1 n=$2
	mkdir -p "$s"
	(cd "$s" && awk -v n="$n" 'BEGIN {
		for (i = 0; i < n; i++) {
			d = sprintf("d%02d", int(i / 100)); f = sprintf("%s/f%05d.txt", d, i)
			if (i % 100 == 0) system("mkdir -p " d)
			printf "file %d\n", i > f
			for (j = 0; j < i % 23; j++) printf "line %d of file %d: %s\n", j, i, substr("abcdefghijklmnopqrstuvwxyz0123456789", 1 + (i + j) % 36) > f
			close(f)
		}
	}')
	chmod 755 "$s"/d00/f0000[0-4].txt
	ln -s d00/f00001.txt "$s/link-to-f1"
	ln -s ../d01 "$s/d00/up-link"
	head -c 1048576 /usr/bin/bash >"$s/big.bin" 2>/dev/null || head -c 1048576 /dev/zero >"$s/big.bin"
	seq 1 100000 >"$s/numbers.txt"
}

check_git() { # REPO WANT_TREE SRC
	local r=$1 want=$2 src=$3 got chk out
	got=$(gitc -C "$r" rev-parse 'HEAD^{tree}') || fail "git rev-parse HEAD^{tree} failed"
	[[ "$got" == "$want" ]] || fail "tree of HEAD is $got, the reference tree is $want"
	out=$(gitc -C "$r" fsck --full --strict --no-dangling 2>&1) || { echo "$out"; fail "git fsck --full failed: $(head -n 3 <<<"$out" | tr '\n' ' ')"; }
	chk=$(mktemp -d)
	gitc -C "$r" archive HEAD | tar -C "$chk" -xf - || { rm -rf "$chk"; fail "git archive | tar failed"; }
	if ! out=$(diff -r --no-dereference "$src" "$chk" 2>&1); then
		rm -rf "$chk"
		fail "git archive of HEAD differs from the source: $(head -n 3 <<<"$out" | tr '\n' ' ')"
	fi
	rm -rf "$chk"
	echo "tree $got, fsck clean, archive identical to the source"
}

wl_git() { # DIR
	local d=$1 src ref want st out t0=$SECONDS
	src=$(mktemp -d) ref=$(mktemp -d)
	# shellcheck disable=SC2064
	trap "rm -rf '$src' '$ref'" EXIT
	make_git_source "$src/t" "$GIT_FILES"
	# Reference tree id, computed on local storage.
	gitc init -q "$ref"
	cp -a "$src/t/." "$ref/"
	gitc -C "$ref" add -A
	want=$(gitc -C "$ref" write-tree)
	# The same on the target.
	gitc init -q "$d/repo" || fail "git init failed"
	cp -a "$src/t/." "$d/repo/" || fail "cp of the source tree failed"
	echo "$((SECONDS - t0)) s: ${FUNCNAME[0]}: done: cp -a $src/t/. $d/repo/"
	gitc -C "$d/repo" add -A || fail "git add -A failed"
	echo "$((SECONDS - t0)) s: ${FUNCNAME[0]}: done: gitc -C $d/repo add -A"
	gitc -C "$d/repo" commit -q -m "workload: $GIT_FILES files" || fail "git commit failed"
	echo "$((SECONDS - t0)) s: ${FUNCNAME[0]}: done: gitc -C $d/repo commit -q -m workload: $GIT_FILES files"
	check_git "$d/repo" "$want" "$src/t"
	# Nothing modified: refresh the index from the files' contents.
	gitc -C "$d/repo" update-index -q --really-refresh || true
	st=$(gitc -C "$d/repo" status --porcelain) || fail "git status failed"
	[[ -z "$st" ]] || fail "git status not clean: $(head -n 3 <<<"$st" | tr '\n' ' ')"
	# Pack everything (renames, unlinks, big sequential writes) and fsck again.
	out=$(gitc -C "$d/repo" repack -adq 2>&1 && gitc -C "$d/repo" prune-packed 2>&1) ||
		fail "git repack failed: $out"
	check_git "$d/repo" "$want" "$src/t"
	printf '%s\n' "$want" >"$d/tree-id"
}

# The host's re-check of a guest's repository: regenerate the same source.
# shellcheck disable=SC2317 # called through host_check
host_check_git() { # REPO WANT_TREE
	local tmp st=0
	tmp=$(mktemp -d)
	make_git_source "$tmp/t" "$GIT_FILES"
	check_git "$1" "$2" "$tmp/t" || st=$?
	rm -rf "$tmp"
	return "$st"
}

# A listing of every entry's type, mode, size (not for directories: that
# is the file system's own), mtime (ns), owner and link target, relative
# to the tree's root.
tree_listing() {
	(cd "$1" && find . \( -type d -printf '%y %m - %T@ %U:%G %p\n' \) -o \
		-printf '%y %m %s %T@ %U:%G %p -> %l\n' | LC_ALL=C sort)
}

check_tar() { # SRC TREE
	local src=$1 t=$2 out
	if ! out=$(diff -r --no-dereference "$src" "$t" 2>&1); then
		fail "diff -r against $src: $(head -n 3 <<<"$out" | tr '\n' ' ')"
	fi
	if ! out=$(diff <(tree_listing "$src") <(tree_listing "$t") 2>&1); then
		fail "metadata (type mode size mtime owner link) differs: $(head -n 4 <<<"$out" | tr '\n' ' ')"
	fi
	echo "$(find "$t" | wc -l) entries identical to $src (content and metadata)"
}

wl_tar() { # DIR
	local d=$1 st
	[[ -d "$TAR_SRC" ]] || fail "no $TAR_SRC"
	mkdir -p "$d/tree"
	# pax format: mtimes with nanoseconds.
	tar -C "$TAR_SRC" --format=posix -cf - . | tar -C "$d/tree" -xpf - ||
		fail "tar extract of $TAR_SRC failed"
	check_tar "$TAR_SRC" "$d/tree"
	printf '%s\n' "$TAR_SRC" >"$d/source"
}

run_one() { # NAME DIR
	local name=$1 d=$2
	case "$name" in
	fio-seq) wl_fio seq "$d" ;;
	fio-rand) wl_fio rand "$d" ;;
	stress-ng) wl_stress "$d" ;;
	dbench) wl_dbench "$d" ;;
	git) wl_git "$d" ;;
	tar) wl_tar "$d" ;;
	*) fail "unknown workload $name" ;;
	esac
}

# ---------------------------------------------------------------------------
# Arguments.
target=guest daemon=ours profile="" only="" timeout_s=900 cache=auto
out=$repo/build/workloads keep=0 mode=main extra=() stack=7.2 num_queues="" packed=0
while (($#)); do
	case "$1" in
	--target) target=${2:?}; shift 2 ;;
	--target=*) target=${1#*=}; shift ;;
	--daemon) daemon=${2:?}; shift 2 ;;
	--daemon=*) daemon=${1#*=}; shift ;;
	--profile) profile=${2:?}; shift 2 ;;
	--only) only=${2:?}; shift 2 ;;
	--timeout) timeout_s=${2:?}; shift 2 ;;
	--cache) cache=${2:?}; shift 2 ;;
	--stack) stack=${2:?}; shift 2 ;;
	--stack=*) stack=${1#*=}; shift ;;
	--num-queues) num_queues=${2:?}; shift 2 ;;
	--num-queues=*) num_queues=${1#*=}; shift ;;
	--packed) packed=1; shift ;;
	--daemon-arg) extra+=("${2:?}"); shift 2 ;;
	--daemon-arg=*) extra+=("${1#*=}"); shift ;;
	--out) out=${2:?}; shift 2 ;;
	--keep) keep=1; shift ;;
	--in-guest) mode=in-guest; shift ;;   # internal: the guest side
	--one) mode=one; one_name=${2:?}; one_dir=${3:?}; shift 3 ;; # internal
	-h | --help) sed -n '2,41p' "$0"; exit 0 ;;
	*) echo "run-workloads: unknown argument: $1" >&2; exit 2 ;;
	esac
done
[[ -n "$profile" ]] || { [[ "$target" == guest ]] && profile=quick || profile=full; }
set_profile "$profile"
[[ "$timeout_s" =~ ^[0-9]+$ ]] || { echo "run-workloads: bad --timeout" >&2; exit 2; }
case "$cache" in auto | never | always) ;; *) echo "run-workloads: bad --cache" >&2; exit 2 ;; esac
# shellcheck source=scripts/guest/stack.sh
. "$repo/scripts/guest/stack.sh"
stack_check "$stack" || { echo "run-workloads: bad --stack $stack (7.2 or 10)" >&2; exit 2; }
[[ -z "$num_queues" || "$num_queues" =~ ^[1-9][0-9]*$ ]] || { echo "run-workloads: bad --num-queues" >&2; exit 2; }

if [[ "$mode" == one ]]; then
	run_one "$one_name" "$one_dir"
	exit 0
fi

workloads=("${all_workloads[@]}")
if [[ -n "$only" ]]; then
	IFS=, read -r -a workloads <<<"$only"
	for w in "${workloads[@]}"; do
		[[ " ${all_workloads[*]} " == *" $w "* ]] || { echo "run-workloads: unknown workload $w" >&2; exit 2; }
	done
fi

t_start=$SECONDS
n=0 passed=0 failed=0
ok() { n=$((n + 1)); passed=$((passed + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1: $2"; }

# Run the workloads in BASE (BASE/wl-NAME each, logs in BASE/logs); also
# append the result lines to BASE/results.txt.
run_all() { # BASE
	local base=$1 w d log st t0 reason
	mkdir -p "$base/logs"
	: >"$base/results.txt"
	for w in "${workloads[@]}"; do
		d=$base/wl-$w log=$base/logs/$w.log
		rm -rf "$d" && mkdir -p "$d"
		t0=$SECONDS
		st=0
		timeout -k 10 "$WL_TIMEOUT" "$self" --profile "$profile" --one "$w" "$d" >"$log" 2>&1 || st=$?
		echo "# $w: $((SECONDS - t0)) s" | tee -a "$base/results.txt"
		if ((st == 0)); then
			ok "$w"
			echo "ok $n - $w" >>"$base/results.txt"
		else
			if ((st == 124 || st == 137)); then
				reason="timed out after ${WL_TIMEOUT}s"
			else
				reason=$(grep -m1 '^FAIL: ' "$log" | sed 's/^FAIL: //' || true)
				[[ -n "$reason" ]] || reason="exit status $st: $(tail -n 1 "$log")"
			fi
			notok "$w" "$reason"
			echo "not ok $n - $w: $reason" >>"$base/results.txt"
			sed 's/^/#   /' "$log" | tail -n 15
		fi
	done
	echo end >>"$base/results.txt"
}

if [[ "$mode" == in-guest ]]; then
	# Inside the tools guest: target is a directory on the virtio-fs mount.
	echo "# workloads in guest: $(uname -r), profile $profile, target $target"
	run_all "$target"
	sync
	echo "workloads(guest-side): $passed passed, $failed failed"
	exit 0
fi

finish() {
	echo "# wall time $((SECONDS - t_start)) s"
	echo "workloads($label): $passed passed, $failed failed"
	((failed == 0))
	exit $?
}

# ---------------------------------------------------------------------------
# --target DIR: straight on a host directory.
if [[ "$target" != guest ]]; then
	[[ -d "$target" ]] || { echo "run-workloads: no directory $target" >&2; exit 2; }
	label=$(cd "$target" && pwd)
	base=$label/workloads
	rm -rf "$base"
	mkdir -p "$base"
	echo "# workloads on $base, profile $profile"
	run_all "$base"
	if ((failed == 0 && keep == 0)); then rm -rf "$base"; else echo "# kept $base"; fi
	finish
fi

# ---------------------------------------------------------------------------
# --target guest: the tools guest against a daemon.
case "$daemon" in
qemu)
	label=guest/qemu
	bin=/usr/lib/qemu/virtiofsd
	qcache=$cache
	[[ "$cache" == never ]] && qcache=none
	daemon_cmd=("$bin" '--socket-path={socket}' -o 'source={shared_dir}'
		-o "cache=$qcache" --thread-pool-size=0 -o xattr -o posix_lock)
	;;
*)
	if [[ "$daemon" == ours ]]; then
		label=guest/ours
		bin=${VIRTIOFSD:-$repo/build/src/daemon/virtiofsd}
	elif [[ "$daemon" == rust ]]; then
		label=guest/rust
		bin=$(stack_rust_virtiofsd) || bin="(scripts/guest/fetch-stack.sh --virtiofsd failed)"
	else
		label=guest/$(basename "$daemon")
		bin=$daemon
	fi
	daemon_cmd=("$bin" '--socket-path={socket}' '--shared-dir={shared_dir}'
		"--cache=$cache" --xattr)
	;;
esac
daemon_cmd+=("${extra[@]}")
[[ "$stack" == 7.2 ]] || label=$label-$stack
[[ -z "$num_queues" ]] || label=$label-q$num_queues
((packed == 0)) || label=$label-packed
if [[ ! -x "$bin" ]]; then
	notok "host: daemon binary $bin exists" "not found or not executable"
	finish
fi
[[ "$self" =~ ^[A-Za-z0-9_./-]+$ ]] || { echo "run-workloads: the repo path must be plain for the kernel command line: $self" >&2; exit 2; }

mkdir -p "$out"
out=$(cd "$out" && pwd)
if ! stack_select "$stack"; then
	notok "host: the $stack stack is available" "fetching it failed (see above)"
	finish
fi
kernel=$stack_kernel
run_guest_opts=(--qemu "$stack_qemu")
[[ -z "$num_queues" ]] || run_guest_opts+=(--num-queues "$num_queues")
((packed == 0)) || run_guest_opts+=(--packed)
initrd=$out/initramfs-tools.gz
[[ "$stack" == 7.2 ]] || initrd=$out/initramfs-tools-$stack.gz
"$repo/scripts/guest/make-initramfs.sh" --kernel "$kernel" --out "$initrd" --hostroot >/dev/null
lbl=${label#guest/}
share=$out/share-$lbl log=$out/guest-$lbl.log
rm -rf "$share"
mkdir -p "$share"

echo "# booting the tools guest against $lbl: ${daemon_cmd[*]}"
rc=0
"$repo/scripts/guest/run-guest.sh" --hostroot --kernel "$kernel" --initrd "$initrd" \
	--shared-dir "$share" --log "$log" --timeout "$timeout_s" "${run_guest_opts[@]}" \
	--guest-args "$self --in-guest --profile $profile --only $(IFS=,; echo "${workloads[*]}") --target /mnt/workloads" \
	-- "${daemon_cmd[@]}" || rc=$?
echo "# guest finished (status $rc) after $((SECONDS - t_start)) s; console log $log"

res=$share/workloads/results.txt
if [[ -f "$res" ]]; then
	# Renumber the guest's lines into ours.
	while IFS= read -r line; do
		case "$line" in
		"ok "*) ok "guest: ${line#ok * - }" ;;
		"not ok "*)
			r=${line#not ok * - }
			notok "guest: ${r%%: *}" "${r#*: }"
			tail -n 15 "$share/workloads/logs/${r%%: *}.log" 2>/dev/null | sed 's/^/#   /' || true
			;;
		"#"*) echo "$line" ;;
		esac
	done <"$res"
	[[ "$(tail -n 1 "$res")" == end ]] || notok "guest: results complete" "results.txt truncated (status $rc)"
else
	notok "guest: ran the workloads" "no $res (status $rc; see $log)"
fi
case $rc in
124) notok "host: guest finished within ${timeout_s}s" "timed out" ;;
0) ok "host: guest finished within ${timeout_s}s and its payload exited 0" ;;
*) notok "host: guest finished within ${timeout_s}s" "status $rc (see $log)" ;;
esac

# Re-verify from the host, straight from the shared directory, what the
# guest wrote through the daemon.
host_check() { # NAME CMD...
	local name=$1 o st=0
	shift
	o=$("$@" 2>&1) || st=$?
	if ((st == 0)); then ok "host: $name"; else notok "host: $name" "$(grep -m1 '^FAIL: ' <<<"$o" | sed 's/^FAIL: //')"; fi
}
W=$share/workloads
for w in "${workloads[@]}"; do
	grep -qx "ok [0-9]* - $w" "$res" 2>/dev/null || continue
	case "$w" in
	fio-seq) host_check "fio-seq file verifies (crc32c) on the host" check_fio seq "$W/wl-fio-seq" ;;
	fio-rand) host_check "fio-rand file verifies (crc32c) on the host" check_fio rand "$W/wl-fio-rand" ;;
	git) host_check "git repository: fsck, tree id, archive match the source, on the host" \
		host_check_git "$W/wl-git/repo" "$(cat "$W/wl-git/tree-id" 2>/dev/null)" ;;
	tar) host_check "tar tree equals $(cat "$W/wl-tar/source") on the host" \
		check_tar "$(cat "$W/wl-tar/source")" "$W/wl-tar/tree" ;;
	esac
done
if ((failed == 0 && keep == 0)); then
	rm -rf "$share"
elif ((failed > 0)); then
	echo "# kept $share; daemon log $log.daemon"
fi
finish
