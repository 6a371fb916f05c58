#!/usr/bin/env bash
# install-deps.sh: install every Debian 12 package the project needs to
# build, unit-test and run the end-to-end guest tests.
#
# Idempotent and quick: when every package is already installed it runs
# no apt-get at all. Otherwise it runs `apt-get update` once and installs
# the missing ones non-interactively. Needs root (or sudo) only then.
#
# Usage: scripts/install-deps.sh [--check]   (--check: list missing, exit 1 if any)
set -euo pipefail

packages=(
	# build (libtsan2: gcc's ThreadSanitizer runtime, for build-tsan)
	gcc libc6-dev libtsan2 meson ninja-build pkg-config
	libcmocka-dev libseccomp-dev libcap-ng-dev liburing-dev
	# guest testing (QEMU TCG, QEMU's C virtiofsd, busybox initramfs)
	qemu-system-x86 qemu-system-common busybox-static cpio gzip
	xz-utils zstd
	# host-side checks of the e2e scenario
	attr acl coreutils
	# libvirt launching our daemon (tests/libvirt/run-libvirt.sh): Debian
	# 12's libvirt 9.0, run privately; jq reads --print-capabilities
	libvirt-daemon-system libvirt-daemon-driver-qemu libvirt-clients jq util-linux
	# timeouts, process handling
	procps
	# unprivileged mode: newuidmap and newgidmap (setuid root), which map
	# a plain user's daemon's user namespace from /etc/subuid and subgid
	uidmap
	# real-program workloads (tests/e2e/run-workloads.sh), also run inside
	# the 9p "tools" guest, whose root is the host's /
	fio stress-ng dbench git tar diffutils findutils
	# libFuzzer targets (scripts/fuzz.sh)
	clang-14 libclang-rt-14-dev
)

check_only=0
case "${1:-}" in
	--check) check_only=1 ;;
	"") ;;
	-h | --help)
		sed -n '2,9p' "$0"
		exit 0
		;;
	*)
		echo "install-deps.sh: unknown argument: $1" >&2
		exit 2
		;;
esac

missing=()
for p in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	if [[ "$status" != installed ]]; then
		missing+=("$p")
	fi
done

if ((${#missing[@]} == 0)); then
	echo "==> install-deps: all ${#packages[@]} packages present"
	exit 0
fi

echo "==> install-deps: missing: ${missing[*]}"
if ((check_only)); then
	exit 1
fi

sudo_cmd=()
if ((EUID != 0)); then
	if command -v sudo >/dev/null 2>&1; then
		sudo_cmd=(sudo)
	else
		echo "install-deps: need root (or sudo) to install packages" >&2
		exit 1
	fi
fi

export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
	-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
	"${missing[@]}"
echo "==> install-deps: installed ${#missing[@]} package(s)"
