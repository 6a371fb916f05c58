#!/bin/sh
# POSIX/Linux file-system conformance suite.
# usage: tests/conformance/run.sh [--out BUILDDIR] [--dynamic] [--results FILE]
#                                 [--only SUBSTR] [--keep] DIR
# Builds (if needed) into BUILDDIR (default: <repo>/build/conformance) and
# runs every case in a fresh subdirectory of DIR.  Must run as root.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out="$here/../../build/conformance"
static=-static
args=""
dir=""
while [ $# -gt 0 ]; do
	case "$1" in
	--out) out=$2; shift 2 ;;
	--dynamic) static=""; shift ;;
	--results|--only) args="$args $1 $(printf '%s' "$2" | sed "s/'/'\\\\''/g; s/^/'/; s/\$/'/")"; shift 2 ;;
	--keep|--list) args="$args $1"; shift ;;
	-h|--help) sed -n '2,6p' "$0"; exit 0 ;;
	-*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
	*) [ -z "$dir" ] || { echo "run.sh: one DIR only" >&2; exit 2; }; dir=$1; shift ;;
	esac
done
mkdir -p "$out"
bin="$out/conformance"
srcs="$here/main.c $here/cases_perm.c $here/cases_ns.c $here/cases_data.c"
need=0
[ -x "$bin" ] || need=1
for s in $srcs "$here/harness.h"; do [ "$need" = 1 ] || [ "$s" -nt "$bin" ] && need=1; done
if [ "$need" = 1 ]; then
	CC=${CC:-gcc}
	if ! $CC -std=gnu11 -O2 -Wall -Wextra -Werror $static -o "$bin.tmp" $srcs 2>"$out/build.log"; then
		if [ -n "$static" ] && $CC -std=gnu11 -O2 -Wall -Wextra -Werror -o "$bin.tmp" $srcs 2>>"$out/build.log"; then
			echo "# note: static link failed, built dynamically (see $out/build.log)" >&2
		else
			cat "$out/build.log" >&2; exit 2
		fi
	fi
	mv "$bin.tmp" "$bin"
fi
case "$args" in *--list*) exec "$bin" --list ;; esac
[ -n "$dir" ] || { echo "usage: run.sh [--out BUILDDIR] [--dynamic] [--results FILE] [--only SUBSTR] [--keep] DIR" >&2; exit 2; }
eval "exec \"\$bin\" $args \"\$dir\""
