#!/usr/bin/env bash
# fetch-stack.sh: get the second test stack ("10"), cached: QEMU 10 and a
# Linux 6.12 kernel from Debian's bookworm-backports, and the Rust
# virtiofsd from Debian 13 (trixie) together with the trixie C library it
# needs. Nothing is installed: the packages are unpacked under the cache
# and run from there. The system's QEMU 7.2 and apt state stay untouched.
#
# Usage: scripts/guest/fetch-stack.sh [--refresh] [--cache DIR]
#            [--kernel | --qemu | --virtiofsd | --versions]
#
#   (no selector)  print three lines on stdout:
#                    kernel=PATH      the 6.12 vmlinuz; its modules are in
#                                     ../lib/modules/<version>/ (as with
#                                     fetch-kernel.sh, for make-initramfs.sh)
#                    qemu=PATH        a wrapper that runs the unpacked
#                                     qemu-system-x86_64 10 with its own
#                                     firmware (-L) and modules
#                                     (QEMU_MODULE_DIR); use it wherever a
#                                     qemu-system-x86_64 is expected
#                    virtiofsd=PATH   a wrapper that runs the Rust virtiofsd
#                                     through trixie's loader and libraries;
#                                     use it wherever a daemon path is expected
#   --kernel, --qemu, --virtiofsd   print only that path
#   --versions     print the package versions picked (name=version lines)
#   --refresh      pick the versions again from a fresh `apt-get update`
#                  (default: reuse the stack picked by an earlier run);
#                  unpacked packages no longer picked are removed
#   --cache DIR    default <repo>/build/stack
#
# Progress goes to stderr. Quick when cached: no apt at all.
#
# Which packages (picked at the first run, or with --refresh, and printed):
#   QEMU    the newest qemu-system-x86 1:10.* in bookworm-backports, with
#           qemu-system-common, -data, -modules-opengl, -modules-spice of
#           the same version (the two module packages make QEMU find all of
#           its modules in its own tree, so it never tries the system 7.2
#           ones) and the newest seabios in bookworm-backports (QEMU 10
#           wants a newer one than bookworm's). It runs with bookworm's
#           shared libraries; a missing one is an error.
#   kernel  the newest linux-image-6.12.<N>+deb12[.<M>]-amd64 in
#           bookworm-backports (virtio, virtio_pci, fuse and virtiofs are
#           built in; 9p and netfs are modules).
#   Rust virtiofsd  the newest virtiofsd in trixie, with trixie's libc6,
#           libcap-ng0, libseccomp2 and libgcc-s1.
#
# apt runs with a sources list, lists and cache of its own under
# CACHE/apt (suites bookworm-backports and trixie, main, amd64, from
# $STACK_MIRROR, default http://deb.debian.org/debian, checked with
# /usr/share/keyrings/debian-archive-keyring.gpg); the downloads are
# `apt-get download NAME=VERSION` and `dpkg-deb -x`.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=$repo/build/stack refresh=0 what=all
while (($#)); do
	case "$1" in
	--refresh) refresh=1; shift ;;
	--cache) cache=${2:?}; shift 2 ;;
	--kernel) what=kernel; shift ;;
	--qemu) what=qemu; shift ;;
	--virtiofsd) what=virtiofsd; shift ;;
	--versions) what=versions; shift ;;
	-h | --help) sed -n '2,50p' "$0"; exit 0 ;;
	*) echo "fetch-stack: unknown argument: $1" >&2; exit 2 ;;
	esac
done
log() { printf '%s\n' "fetch-stack: $*" >&2; }
die() { log "$*"; exit 1; }

mirror=${STACK_MIRROR:-http://deb.debian.org/debian}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
# The generated wrappers quote paths with '...'.
[[ "$cache" != *"'"* ]] || die "the cache path must not contain a single quote: $cache"
state=$cache/current.env

# The picked stack: shell assignments, written last by a complete run.
emit() {
	# shellcheck disable=SC1090
	. "$state"
	case "$what" in
	kernel) printf '%s\n' "$kernel" ;;
	qemu) printf '%s\n' "$qemu" ;;
	virtiofsd) printf '%s\n' "$virtiofsd" ;;
	versions) grep -E '^([a-z0-9_]+_version|kernel_pkg)=' "$state" ;;
	all) printf 'kernel=%s\nqemu=%s\nvirtiofsd=%s\n' "$kernel" "$qemu" "$virtiofsd" ;;
	esac
}
stack_complete() {
	[[ -f "$state" ]] || return 1
	(
		# shellcheck disable=SC1090
		. "$state"
		[[ -f "$kernel_dir/.complete" && -f "$qemu_dir/.complete" &&
			-f "$virtiofsd_dir/.complete" && -f "$kernel" && -x "$qemu" && -x "$virtiofsd" ]]
	)
}
if ((refresh == 0)) && stack_complete; then
	emit
	exit 0
fi

# ---- private apt state ----
A=$cache/apt
mkdir -p "$A/lists/partial" "$A/cache/archives/partial"
[[ -r "$keyring" ]] || die "no $keyring (apt-get install debian-archive-keyring)"
cat >"$A/sources.list.tmp" <<EOF
# Written by scripts/guest/fetch-stack.sh: the second test stack's suites.
deb [signed-by=$keyring] $mirror bookworm-backports main
deb [signed-by=$keyring] $mirror trixie main
EOF
mv "$A/sources.list.tmp" "$A/sources.list"
apt_opts=(
	-o "Dir::Etc::SourceList=$A/sources.list" -o Dir::Etc::SourceParts=/dev/null
	-o "Dir::State::Lists=$A/lists" -o "Dir::Cache=$A/cache"
	-o Dir::Etc::Preferences=/dev/null -o Dir::Etc::PreferencesParts=/dev/null
	-o Acquire::Languages=none -o APT::Architectures=amd64 -o APT::Architecture=amd64
)
# Root downloads into our own directories: no _apt sandbox needed.
((EUID == 0)) && apt_opts+=(-o APT::Sandbox::User=root)

apt_update() {
	log "apt-get update (bookworm-backports, trixie) into $A/lists"
	apt-get "${apt_opts[@]}" update -qq >&2 || die "apt-get update failed"
}

# One `apt-cache madison` for every package considered (each apt-cache
# run reads all of trixie's lists): "package|version|suite" lines.
madison=""
load_madison() {
	local kpkgs
	kpkgs=$(apt-cache "${apt_opts[@]}" pkgnames linux-image-6.12 2>/dev/null |
		grep -E '^linux-image-6\.12\.[0-9]+\+deb12(\.[0-9]+)?-amd64$' | sort -u) || true
	# shellcheck disable=SC2086 # kpkgs: package names, one word each
	madison=$(apt-cache "${apt_opts[@]}" madison qemu-system-x86 seabios virtiofsd libc6 \
		libcap-ng0 libseccomp2 libgcc-s1 $kpkgs 2>/dev/null |
		awk -F' [|] ' '{gsub(/ /, "", $1); gsub(/ /, "", $2); split($3, a, " "); print $1 "|" $2 "|" a[2]}') || true
}

# newest_in SUITE PACKAGE_ERE [VERSION_ERE]: "package version", the newest
# version that the private lists have from SUITE among the packages whose
# names match the ERE (and whose versions match VERSION_ERE).
newest_in() {
	local suite=$1 pre=$2 re=${3:-.} best="" bestp="" p v s
	while IFS='|' read -r p v s; do
		[[ "$p" =~ ^($pre)$ && "$s" == "$suite/"* && "$v" =~ $re ]] || continue
		if [[ -z "$best" ]] || dpkg --compare-versions "$v" gt "$best"; then best=$v bestp=$p; fi
	done <<<"$madison"
	[[ -n "$best" ]] && printf '%s %s\n' "$bestp" "$best"
	return 0
}
version_of() { # the version in newest_in's answer
	local a
	a=$(newest_in "$@")
	printf '%s\n' "${a#* }"
}

pick() {
	load_madison
	qemu_version=$(version_of bookworm-backports qemu-system-x86 '^1:10\.')
	seabios_version=$(version_of bookworm-backports seabios)
	read -r kernel_pkg kernel_version < <(newest_in bookworm-backports \
		'linux-image-6\.12\.[0-9]+\+deb12(\.[0-9]+)?-amd64') || true
	virtiofsd_version=$(version_of trixie virtiofsd)
	libc6_version=$(version_of trixie libc6)
	libcap_ng0_version=$(version_of trixie libcap-ng0)
	libseccomp2_version=$(version_of trixie libseccomp2)
	libgcc_s1_version=$(version_of trixie libgcc-s1)
	[[ -n "$qemu_version" && -n "$kernel_version" && -n "$virtiofsd_version" &&
		-n "$libc6_version" && -n "$libcap_ng0_version" &&
		-n "$libseccomp2_version" && -n "$libgcc_s1_version" ]]
}

if ((refresh)) || ! compgen -G "$A/lists/*_Packages*" >/dev/null || ! pick; then
	apt_update
	pick || die "bookworm-backports/trixie lack a package:" \
		"qemu-system-x86 1:10.*='$qemu_version' linux-image-6.12.*+deb12-amd64='$kernel_version'" \
		"virtiofsd='$virtiofsd_version' libc6='$libc6_version' libcap-ng0='$libcap_ng0_version'" \
		"libseccomp2='$libseccomp2_version' libgcc-s1='$libgcc_s1_version'"
fi
log "picked qemu-system-x86 $qemu_version, seabios ${seabios_version:-none, using the system one} (bookworm-backports)"
log "picked $kernel_pkg $kernel_version (bookworm-backports)"
log "picked virtiofsd $virtiofsd_version with libc6 $libc6_version, libcap-ng0 $libcap_ng0_version," \
	"libseccomp2 $libseccomp2_version, libgcc-s1 $libgcc_s1_version (trixie)"

# fetch DEST NAME=VERSION...: download the packages and unpack them all
# into DEST/root (once: DEST/.complete marks a finished unpack). A failed
# download is retried once after an apt-get update (the lists may be
# older than the archive).
fetch() {
	local dest=$1 tmp deb
	shift
	[[ -f "$dest/.complete" ]] && return 0
	log "downloading $* into $dest"
	tmp=$(mktemp -d "$cache/.dl.XXXXXX")
	chmod 755 "$tmp"
	if ! (cd "$tmp" && apt-get "${apt_opts[@]}" download -qq "$@" >&2); then
		apt_update
		(cd "$tmp" && apt-get "${apt_opts[@]}" download -qq "$@" >&2) ||
			{ rm -rf "$tmp"; die "apt-get download $* failed (gone from the archive? try --refresh)"; }
	fi
	mkdir "$tmp/root"
	for deb in "$tmp"/*.deb; do
		log "unpacking $(basename "$deb")"
		dpkg-deb -x "$deb" "$tmp/root"
	done
	rm -f "$tmp"/*.deb
	rm -rf "$dest"
	mv "$tmp" "$dest"
	return 0
}
noepoch() { printf '%s\n' "${1#*:}"; }

# ---- kernel ----
kernel_dir=$cache/$kernel_pkg-$kernel_version
if [[ ! -f "$kernel_dir/.complete" ]]; then
	fetch "$kernel_dir" "$kernel_pkg=$kernel_version"
	# The layout fetch-kernel.sh gives: boot/ and lib/modules/ side by side.
	kl=$kernel_dir/root/lib
	[[ -d "$kl/modules" ]] || kl=$kernel_dir/root/usr/lib
	[[ -d "$kernel_dir/root/boot" && -d "$kl/modules" ]] || die "no boot/ or lib/modules/ in $kernel_pkg"
	mv "$kernel_dir/root/boot" "$kernel_dir/boot"
	mkdir "$kernel_dir/lib"
	mv "$kl/modules" "$kernel_dir/lib/modules"
	rm -rf "$kernel_dir/root"
	touch "$kernel_dir/.complete"
fi
kernel=$(find "$kernel_dir/boot" -maxdepth 1 -name 'vmlinuz-*' | head -n 1)
[[ -n "$kernel" ]] || die "no boot/vmlinuz-* in $kernel_pkg"
[[ -d "$kernel_dir/lib/modules/$(basename "$kernel" | sed 's/^vmlinuz-//')" ]] ||
	die "no lib/modules/<version> next to $kernel"

# ---- QEMU 10 ----
qemu_dir=$cache/qemu-$(noepoch "$qemu_version")
if [[ ! -f "$qemu_dir/.complete" ]]; then
	pkgs=()
	for p in qemu-system-x86 qemu-system-common qemu-system-data \
		qemu-system-modules-opengl qemu-system-modules-spice; do
		pkgs+=("$p=$qemu_version")
	done
	[[ -n "$seabios_version" ]] && pkgs+=("seabios=$seabios_version")
	fetch "$qemu_dir" "${pkgs[@]}"
	r=$qemu_dir/root
	[[ -x "$r/usr/bin/qemu-system-x86_64" ]] || die "no usr/bin/qemu-system-x86_64 in the QEMU packages"
	if missing=$(ldd "$r/usr/bin/qemu-system-x86_64" | grep 'not found'); then
		die "qemu-system-x86_64 $qemu_version needs libraries this system lacks:" \
			"$(tr -s ' \t\n' ' ' <<<"$missing")"
	fi
	for so in "$r"/usr/lib/x86_64-linux-gnu/qemu/*.so; do
		if ldd "$so" | grep -q 'not found'; then
			log "note: QEMU module $(basename "$so") cannot load here ($(ldd "$so" |
				awk '/not found/ {print $1}' | tr '\n' ' ')); not needed by the test guests"
		fi
	done
	ldirs="-L '$r/usr/share/qemu'"
	[[ -d "$r/usr/share/seabios" ]] && ldirs="$ldirs -L '$r/usr/share/seabios'"
	cat >"$qemu_dir/qemu-system-x86_64" <<EOF
#!/bin/sh
# Generated by scripts/guest/fetch-stack.sh: QEMU $qemu_version unpacked in
# $r,
# with its own firmware and modules first (bookworm's seabios and iPXE ROMs
# after them). Takes qemu-system-x86_64's arguments.
export QEMU_MODULE_DIR='$r/usr/lib/x86_64-linux-gnu/qemu'
exec '$r/usr/bin/qemu-system-x86_64' $ldirs "\$@"
EOF
	chmod 755 "$qemu_dir/qemu-system-x86_64"
	got=$("$qemu_dir/qemu-system-x86_64" --version 2>&1 | head -n 1) || true
	[[ "$got" == "QEMU emulator version 10."* ]] || die "the QEMU wrapper says '$got'"
	log "$got"
	touch "$qemu_dir/.complete"
fi
qemu=$qemu_dir/qemu-system-x86_64

# ---- Rust virtiofsd ----
virtiofsd_dir=$cache/virtiofsd-$(noepoch "$virtiofsd_version")-libc6-$(noepoch "$libc6_version")
if [[ ! -f "$virtiofsd_dir/.complete" ]]; then
	fetch "$virtiofsd_dir" "virtiofsd=$virtiofsd_version" "libc6=$libc6_version" \
		"libcap-ng0=$libcap_ng0_version" "libseccomp2=$libseccomp2_version" \
		"libgcc-s1=$libgcc_s1_version"
	r=$virtiofsd_dir/root
	lib=$r/usr/lib/x86_64-linux-gnu
	[[ -x "$r/usr/libexec/virtiofsd" && -x "$lib/ld-linux-x86-64.so.2" ]] ||
		die "no usr/libexec/virtiofsd or ld-linux-x86-64.so.2 in the trixie packages"
	cat >"$virtiofsd_dir/virtiofsd-rust" <<EOF
#!/bin/sh
# Generated by scripts/guest/fetch-stack.sh: the Rust virtiofsd
# $virtiofsd_version (Debian trixie), run through trixie's loader and
# libraries (libc6 $libc6_version) unpacked in
# $r.
# Takes virtiofsd's arguments.
exec '$lib/ld-linux-x86-64.so.2' --library-path '$lib' --argv0 virtiofsd \\
	'$r/usr/libexec/virtiofsd' "\$@"
EOF
	chmod 755 "$virtiofsd_dir/virtiofsd-rust"
	got=$("$virtiofsd_dir/virtiofsd-rust" --version 2>&1 | head -n 1) || true
	[[ "$got" == "virtiofsd "[0-9]* ]] || die "the virtiofsd wrapper says '$got'"
	log "$got"
	touch "$virtiofsd_dir/.complete"
fi
virtiofsd=$virtiofsd_dir/virtiofsd-rust

{
	echo "# Written by scripts/guest/fetch-stack.sh; --refresh picks again."
	for v in qemu_version seabios_version kernel_pkg kernel_version virtiofsd_version \
		libc6_version libcap_ng0_version libseccomp2_version libgcc_s1_version \
		kernel kernel_dir qemu qemu_dir virtiofsd virtiofsd_dir; do
		printf '%s=%q\n' "$v" "${!v}"
	done
} >"$state.tmp"
mv "$state.tmp" "$state"
# Unpacked stacks of earlier picks (after a --refresh) go.
for d in "$cache"/linux-image-*/ "$cache"/qemu-*/ "$cache"/virtiofsd-*/; do
	d=${d%/}
	[[ -d "$d" && "$d" != "$kernel_dir" && "$d" != "$qemu_dir" && "$d" != "$virtiofsd_dir" ]] || continue
	log "removing $d (not picked any more)"
	rm -rf "$d"
done
emit
