#!/usr/bin/env bash
# fetch-kernel.sh: get a Debian 6.1 amd64 kernel (with its modules) for
# test guests, cached. Prints the path of the vmlinuz on stdout; progress
# goes to stderr.
#
# Usage: scripts/guest/fetch-kernel.sh [CACHE_DIR]
#   CACHE_DIR defaults to <repo>/build/guest-kernel. The package is
#   downloaded with `apt-get download` and unpacked with `dpkg-deb -x`
#   into CACHE_DIR/<package>/; the modules are then under
#   CACHE_DIR/<package>/lib/modules/<version>/.
#
# Which package: the linux-image-6.1.0-<N>-amd64 that the metapackage
# linux-image-amd64 depends on; if that is not 6.1 (or not resolvable),
# the newest linux-image-6.1*-amd64 apt knows about.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${1:-$repo/build/guest-kernel}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)

log() { printf '%s\n' "fetch-kernel: $*" >&2; }

# Fast path: a previous run left a complete unpacked kernel here.
if [[ -f "$cache/current" ]]; then
	prev=$(<"$cache/current")
	if [[ -n "$prev" && -f "$cache/$prev/.complete" ]]; then
		vmlinuz=$(find "$cache/$prev/boot" -maxdepth 1 -name 'vmlinuz-*' | head -n 1)
		if [[ -n "$vmlinuz" ]]; then
			printf '%s\n' "$vmlinuz"
			exit 0
		fi
	fi
fi

apt_updated=0
apt_update_once() {
	if ((apt_updated == 0)); then
		log "running apt-get update"
		apt-get update -qq >&2 || true
		apt_updated=1
	fi
}

pick_package() {
	local dep
	dep=$(apt-cache depends linux-image-amd64 2>/dev/null |
		awk '/Depends: linux-image-6\.1[.0-9-]*-amd64$/ {print $2; exit}')
	if [[ -n "$dep" ]] && apt-cache show "$dep" >/dev/null 2>&1; then
		printf '%s\n' "$dep"
		return 0
	fi
	# Newest plain (not -cloud, not -rt, not -dbg) 6.1 image.
	apt-cache search --names-only '^linux-image-6\.1[.0-9-]*-amd64$' 2>/dev/null |
		awk '{print $1}' | grep -E '^linux-image-6\.1[.0-9-]*-amd64$' |
		sort -V | tail -n 1
}

pkg=$(pick_package || true)
if [[ -z "$pkg" ]]; then
	apt_update_once
	pkg=$(pick_package || true)
fi
if [[ -z "$pkg" ]]; then
	log "no linux-image-6.1*-amd64 package known to apt"
	exit 1
fi

dest="$cache/$pkg"
if [[ ! -f "$dest/.complete" ]]; then
	log "downloading $pkg into $cache"
	tmp=$(mktemp -d "$cache/.dl.XXXXXX")
	chmod 755 "$tmp" # lets apt sandbox as _apt
	trap 'rm -rf "$tmp"' EXIT
	if ! (cd "$tmp" && apt-get download -qq "$pkg" >&2); then
		apt_update_once
		(cd "$tmp" && apt-get download -qq "$pkg" >&2)
	fi
	deb=$(find "$tmp" -maxdepth 1 -name '*.deb' | head -n 1)
	[[ -n "$deb" ]] || { log "apt-get download produced no .deb"; exit 1; }
	log "unpacking $(basename "$deb")"
	mkdir -p "$tmp/root"
	dpkg-deb -x "$deb" "$tmp/root"
	rm -rf "$dest"
	mv "$tmp/root" "$dest"
	touch "$dest/.complete"
	rm -rf "$tmp"
	trap - EXIT
fi
printf '%s\n' "$pkg" >"$cache/current"

vmlinuz=$(find "$dest/boot" -maxdepth 1 -name 'vmlinuz-*' | head -n 1)
[[ -n "$vmlinuz" ]] || { log "no boot/vmlinuz-* in $pkg"; exit 1; }
printf '%s\n' "$vmlinuz"
