#!/usr/bin/env bash
# fuzz.sh: build the libFuzzer targets of tests/fuzz/ with clang
# (-fsanitize=fuzzer,address,undefined) straight from the sources into
# build/fuzz/, replay the saved regressions, then fuzz each target for N
# seconds on a copy of its seed corpus.
#
#   scripts/fuzz.sh [--seconds N] [--build-only] [--src DIR] [target...]
#
# Targets: fuzz_vhost_user_msg fuzz_virtqueue fuzz_virtqueue_packed fuzz_fuse_server
# fuzz_state_stream (default: all).
# Needs clang and its libFuzzer runtime (Debian 12: clang-14 and
# libclang-rt-14-dev). Exits non-zero when a target crashes, leaks, times
# out, or a regression input fails again; the crash file is printed.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="$ROOT/build/fuzz"
SECONDS_PER_TARGET=60
BUILD_ONLY=0
SRC=""
ALL_TARGETS=(fuzz_vhost_user_msg fuzz_virtqueue fuzz_virtqueue_packed fuzz_fuse_server
	fuzz_state_stream)
TARGETS=()

while [ $# -gt 0 ]; do
	case "$1" in
	--seconds) SECONDS_PER_TARGET="$2"; shift 2 ;;
	--seconds=*) SECONDS_PER_TARGET="${1#*=}"; shift ;;
	--build-only) BUILD_ONLY=1; shift ;;
	--src) SRC="$2"; shift 2 ;;
	-h|--help) sed -n '2,14p' "$0"; exit 0 ;;
	fuzz_*) TARGETS+=("$1"); shift ;;
	*) echo "fuzz.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=("${ALL_TARGETS[@]}")
# --src DIR: fuzz another copy of src/ (e.g. a snapshot while src/ is being edited)
SRC="$(cd "${SRC:-$ROOT/src}" && pwd)"

CC="${CC:-}"
if [ -z "$CC" ]; then
	for c in clang clang-16 clang-15 clang-14; do
		if command -v "$c" >/dev/null 2>&1; then CC="$c"; break; fi
	done
fi
[ -n "$CC" ] || { echo "fuzz.sh: clang not found (apt-get install clang libclang-rt-14-dev)" >&2; exit 2; }

SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
CFLAGS=(-std=gnu17 -g -O1 -D_GNU_SOURCE '-DVIRTIOFSD_VERSION="fuzz"' -I"$SRC"
	-Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2
	-Wno-unused-parameter -Wvla -Wpointer-arith -Wno-missing-field-initializers
	-pthread $SAN)
# The source directories each target links.
target_dirs() {
	case "$1" in
	fuzz_fuse_server) echo "util fuse passthrough migration" ;;
	fuzz_state_stream) echo "util migration" ;;
	*) echo "util vhost_user" ;;
	esac
}

target_max_len() {
	case "$1" in
	fuzz_vhost_user_msg) echo 12288 ;;
	fuzz_virtqueue) echo 8204 ;;
	fuzz_virtqueue_packed) echo 8206 ;;
	fuzz_state_stream) echo 65536 ;;
	*) echo 16384 ;;
	esac
}

build() {
	mkdir -p "$OUT/obj"
	local t d f o objs pids
	for t in "${TARGETS[@]}"; do
		objs=()
		pids=()
		for d in $(target_dirs "$t"); do
			for f in "$SRC"/$d/*.c; do
				o="$OUT/obj/${d}_$(basename "${f%.c}").o"
				if [ ! -e "$o" ] || [ "$f" -nt "$o" ] || [ "$0" -nt "$o" ] ||
				   [ -n "$(find "$SRC" -name '*.h' -newer "$o" -print -quit)" ]; then
					rm -f "$o"
					"$CC" "${CFLAGS[@]}" -fsanitize=fuzzer-no-link -c "$f" -o "$o" &
					pids+=($!)
				fi
				objs+=("$o")
			done
		done
		for p in "${pids[@]}"; do wait "$p" || true; done
		for o in "${objs[@]}"; do
			[ -e "$o" ] || { echo "fuzz.sh: compiling $o failed" >&2; exit 1; }
		done
		"$CC" "${CFLAGS[@]}" -fsanitize=fuzzer "$ROOT/tests/fuzz/$t.c" "${objs[@]}" \
			-o "$OUT/$t"
	done
}

build
[ "$BUILD_ONLY" = 1 ] && { echo "fuzz.sh: built ${TARGETS[*]} in $OUT"; exit 0; }

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
failed=0
for t in "${TARGETS[@]}"; do
	work="$OUT/run/$t"
	rm -rf "$work"
	mkdir -p "$work/corpus" "$work/artifacts"
	if [ -d "$ROOT/tests/fuzz/corpus/$t" ]; then
		cp -r "$ROOT/tests/fuzz/corpus/$t/." "$work/corpus/"
	fi
	log="$work/fuzz.log"

	# 1. Regressions: every saved reproducer must run clean.
	reg="$ROOT/tests/fuzz/regressions/$t"
	if [ -d "$reg" ] && [ -n "$(ls -A "$reg" 2>/dev/null | grep -v README)" ]; then
		for r in "$reg"/*; do
			case "$r" in *README*) continue ;; esac
			rlog="$work/regression-$(basename "$r").log"
			if "$OUT/$t" -timeout=10 -rss_limit_mb=2048 -handle_xfsz=0 "$r" >"$rlog" 2>&1; then
				echo "fuzz($t): regression $(basename "$r") passes"
			else
				echo "fuzz($t): FAIL regression $r still fails (log: $rlog)"
				grep -E 'ERROR|SUMMARY|invariant|#[0-9]+ 0x' "$rlog" | head -n 12
				failed=1
			fi
		done
	fi

	# 2. Fuzz for the time given.
	set +e
	(cd "$work" && "$OUT/$t" -max_total_time="$SECONDS_PER_TARGET" -timeout=10 \
		-rss_limit_mb=2048 -handle_xfsz=0 -max_len="$(target_max_len "$t")" -print_final_stats=1 \
		-artifact_prefix="$work/artifacts/" "$work/corpus") >"$log" 2>&1
	rc=$?
	set -e
	execs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}' | tail -n1)
	[ -n "$execs" ] || execs=$(grep -oE '#[0-9]+' "$log" | tail -n1 | tr -d '#')
	crash=$(ls "$work/artifacts/" 2>/dev/null | head -n1)
	if [ $rc -eq 0 ] && [ -z "$crash" ]; then
		echo "fuzz($t): ok, ${execs:-?} executions in ${SECONDS_PER_TARGET}s"
	else
		echo "fuzz($t): FAIL (exit $rc) after ${execs:-?} executions; crash file: $work/artifacts/$crash; log: $log"
		grep -E 'ERROR|SUMMARY|invariant|#[0-9]+ 0x' "$log" | head -n 30
		echo "  minimise: $OUT/$t -minimize_crash=1 -runs=20000 $work/artifacts/$crash"
		failed=1
	fi
done
exit $failed
