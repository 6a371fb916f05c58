# shellcheck shell=bash
# host-checks.sh: sourced by the guest runners (tests/e2e/run-e2e.sh,
# tests/libvirt/run-libvirt.sh). Not a command.
#
#   e2e_check_results DIR   the host's side of tests/e2e/guest_checks.c:
#                           checks that DIR/results.txt (the guest's work
#                           directory on the share, seen from the host) is
#                           complete and then each of its lines, calling the
#                           caller's `ok NAME` and `notok NAME REASON`.
#
# Set before the call:
#   e2e_queue_log   a log of our daemon with its `requests served: queue
#                   N: COUNT ...` line, for the `cpus` line (the spread of
#                   requests over request queues); empty: that line is not
#                   checked (other daemons do not report per-queue counts)
#   e2e_num_queues  the device's request queues (default 1)
#
# and, to map ids, redefine after sourcing (default: the same ids)
#   e2e_host_uid GUEST-UID, e2e_host_gid GUEST-GID   print the host id a
#                   guest's id is stored as (run-e2e.sh --unprivileged)

e2e_queue_log=${e2e_queue_log:-}
e2e_num_queues=${e2e_num_queues:-}
e2e_dir=""
e2e_host_uid() { echo "$1"; }
e2e_host_gid() { echo "$1"; }

# One check per line of results.txt.
e2e_check_result() {
	local S=$e2e_dir kind=$1 path=${2:-} a=${3:-} b=${4:-} got want
	local f=$S/$path
	case "$kind" in
		end) return 0 ;;
		sha256)
			got=$(sha256sum <"$f" 2>/dev/null | cut -d' ' -f1 || true)
			if [[ "$got" == "$a" ]]; then ok "host: sha256 of $path matches the guest's"
			else notok "host: sha256 of $path matches the guest's" "host $got guest $a"; fi ;;
		size)
			got=$(stat -c %s "$f" 2>&1 || true)
			if [[ "$got" == "$a" ]]; then ok "host: size of $path is $a"
			else notok "host: size of $path is $a" "got $got"; fi ;;
		content)
			# shellcheck disable=SC2059 # a is a printf %b escape string
			want=$(printf '%b' "$a" | od -An -c)
			got=$(od -An -c <"$f" 2>&1 || true)
			if [[ "$got" == "$want" ]]; then ok "host: content of $path"
			else notok "host: content of $path" "got [$got] want [$want]"; fi ;;
		absent)
			if [[ ! -e "$f" && ! -L "$f" ]]; then ok "host: $path does not exist"
			else notok "host: $path does not exist" "it does"; fi ;;
		nlink)
			got=$(stat -c %h "$f" 2>&1 || true)
			if [[ "$got" == "$a" ]]; then ok "host: link count of $path is $a"
			else notok "host: link count of $path is $a" "got $got"; fi ;;
		sameino)
			got=$(stat -c %i "$f" 2>&1 || true)
			want=$(stat -c %i "$S/$a" 2>&1 || true)
			if [[ -n "$got" && "$got" == "$want" ]]; then ok "host: $path and $a are one inode"
			else notok "host: $path and $a are one inode" "$got vs $want"; fi ;;
		symlink)
			got=$(readlink "$f" 2>&1 || true)
			if [[ -L "$f" && "$got" == "$a" ]]; then ok "host: $path is a symlink to $a"
			else notok "host: $path is a symlink to $a" "got '$got'"; fi ;;
		type)
			got=$(stat -c %F "$f" 2>&1 || true)
			if [[ "$got" == "$a" ]]; then ok "host: $path is a $a"
			else notok "host: $path is a $a" "got $got"; fi ;;
		mode)
			got=$(stat -c %a "$f" 2>&1 || true)
			if [[ "$got" == "$a" ]]; then ok "host: mode of $path is $a"
			else notok "host: mode of $path is $a" "got $got"; fi ;;
		owner)
			got=$(stat -c '%u %g' "$f" 2>&1 || true)
			want="$(e2e_host_uid "$a") $(e2e_host_gid "$b")"
			if [[ "$got" == "$want" ]]; then ok "host: owner of $path is ${want/ /:} (guest $a:$b)"
			else notok "host: owner of $path is ${want/ /:} (guest $a:$b)" "got $got"; fi ;;
		times)
			got=$(stat -c '%.9X %.9Y' "$f" 2>&1 || true)
			if [[ "$got" == "$a $b" ]]; then ok "host: atime/mtime of $path are $a/$b"
			else notok "host: atime/mtime of $path are $a/$b" "got $got"; fi ;;
		xattr)
			got=$(getfattr --absolute-names --only-values -n "$a" "$f" 2>&1 || true)
			if [[ "$got" == "$b" ]]; then ok "host: getfattr $a on $path is '$b'"
			else notok "host: getfattr $a on $path is '$b'" "got '$got'"; fi ;;
		noxattr)
			if ! getfattr --absolute-names -n "$a" "$f" >/dev/null 2>&1; then ok "host: xattr $a removed from $path"
			else notok "host: xattr $a removed from $path" "still there"; fi ;;
		count)
			got=$(find "$f" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
			if [[ "$got" == "$a" ]]; then ok "host: $path has $a entries"
			else notok "host: $path has $a entries" "got $got"; fi ;;
		statfs)
			# path=blocks a=frsize as the guest saw them; compare the
			# total size with the host's statvfs, 1% tolerance.
			local hb hs gtot htot
			read -r hb hs < <(stat -f -c '%b %S' "$S")
			gtot=$((path * a)) htot=$((hb * hs))
			if ((gtot > 0 && gtot * 100 >= htot * 99 && gtot * 100 <= htot * 101)); then
				ok "host: statfs total size matches the guest's ($gtot bytes)"
			else
				notok "host: statfs total size matches the guest's" "guest $gtot host $htot"
			fi ;;
		cpus)
			# path=vCPUs a=requests each made on its own vCPU: with
			# several request queues the guest spreads them, one
			# queue per vCPU. Only our daemon reports per-queue counts.
			[[ -n "$e2e_queue_log" ]] || return 0
			local nq=${e2e_num_queues:-1}
			local want=$((path < nq ? path : nq)) busy line
			line=$(grep -ao 'requests served: .*' "$e2e_queue_log" 2>/dev/null | tail -n 1)
			busy=$(grep -o 'queue [1-9][0-9]*: [0-9]*' <<<"$line" |
				awk -v r="$a" '$3 + 0 >= r { n++ } END { print n + 0 }')
			if ((busy >= want)); then ok "host: requests spread over $want request queue(s) ($busy busy)"
			else notok "host: requests spread over $want request queue(s)" "${line:-no per-queue counts in $e2e_queue_log}"; fi ;;
		*) notok "host: result line understood" "unknown kind '$kind'" ;;
	esac
}

e2e_check_results() {
	local res kind p1 p2 p3
	e2e_dir=$1
	res=$e2e_dir/results.txt
	if [[ -f "$res" ]] && [[ "$(tail -n 1 "$res")" == end ]]; then
		ok "host: guest's results.txt complete"
	else
		notok "host: guest's results.txt complete" "missing or truncated: $res"
	fi
	if [[ -f "$res" ]]; then
		while read -r kind p1 p2 p3; do
			[[ -n "$kind" ]] || continue
			e2e_check_result "$kind" "$p1" "$p2" "$p3"
		done <"$res"
	fi
}
