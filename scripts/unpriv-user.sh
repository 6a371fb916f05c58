#!/usr/bin/env bash
# unpriv-user.sh: make sure the plain user the unprivileged-mode tests run
# the daemon as exists: uid 1000 (whatever its name; "vfsd-unpriv" when the
# system has none), with 65536 subordinate uids in /etc/subuid and gids in
# /etc/subgid for newuidmap(1) and newgidmap(1) (package uidmap). A user
# who has ranges keeps them. Prints the user's name.
#
# Idempotent; needs root only to change something.
#
# Usage: scripts/unpriv-user.sh [--check]   (--check: exit 1 if not set up)
set -euo pipefail

uid=1000
count=65536
check_only=0
case "${1:-}" in
	--check) check_only=1 ;;
	"") ;;
	-h | --help)
		sed -n '2,10p' "$0"
		exit 0
		;;
	*)
		echo "unpriv-user.sh: unknown argument: $1" >&2
		exit 2
		;;
esac

# Whether file grants name (or the uid as a number) a range.
has_range() {
	local file=$1 name=$2
	[ -f "$file" ] && awk -F: -v n="$name" -v u="$uid" \
		'($1 == n || $1 == u) && $3 > 0 { found = 1 } END { exit !found }' "$file"
}

# The first id after every range the file grants (and at least 100000).
next_start() {
	local file=$1
	[ -f "$file" ] || { echo 100000; return; }
	awk -F: 'BEGIN { end = 100000 } NF >= 3 && $2 + $3 > end { end = $2 + $3 } \
		END { print end }' "$file"
}

name=$(getent passwd "$uid" | cut -d: -f1 || true)
if [ -n "$name" ] && has_range /etc/subuid "$name" && has_range /etc/subgid "$name"; then
	echo "$name"
	exit 0
fi
if ((check_only)); then
	echo "unpriv-user.sh: no user $uid with /etc/subuid and /etc/subgid ranges" >&2
	exit 1
fi
if ((EUID != 0)); then
	echo "unpriv-user.sh: need root to set up user $uid" >&2
	exit 1
fi
if [ -z "$name" ]; then
	name=vfsd-unpriv
	getent group "$uid" >/dev/null || groupadd -g "$uid" "$name"
	useradd -u "$uid" -g "$uid" -M -d /nonexistent -s /usr/sbin/nologin "$name"
fi
for file in /etc/subuid /etc/subgid; do
	if ! has_range "$file" "$name"; then
		echo "$name:$(next_start "$file"):$count" >>"$file"
	fi
done
echo "$name"
