#!/usr/bin/env bash
# make-initramfs.sh: build a busybox initramfs for a virtio-fs test guest.
#
# Usage: scripts/guest/make-initramfs.sh --kernel VMLINUZ --out FILE
#            [--payload PROG] [--tag TAG] [--mount-opts OPTS] [--shell]
#            [--add SRC:DST]... [--module PATH]...
#            [--hostroot [--hostroot-mnt DIR]]
#            [--share-fs virtiofs|9p] [--tools-dir DIR]
#
#   --kernel   the vmlinuz printed by fetch-kernel.sh (6.1) or by
#              fetch-stack.sh --kernel (6.12); its modules are taken from
#              ../lib/modules/<version>/ next to it.
#   --payload  a program (a static binary or a busybox sh script) copied to
#              /payload; /init runs it in /mnt with the arguments that follow
#              `--` on the kernel command line, after mounting the share.
#   --tag      virtio-fs tag to mount (default: share).
#   --share-fs the share's file system: virtiofs (the default) or 9p, a
#              virtio-9p device (run-guest.sh --share-9p) mounted with
#              `-t 9p -o trans=virtio,version=9p2000.L[,--mount-opts]`;
#              the 9p modules are then loaded as with --hostroot.
#   --shell    after the payload, start an interactive shell on the console;
#              the guest powers off when the shell exits.
#   --add      copy SRC into the initramfs at DST (repeatable).
#   --module   one more module for /init to load, after the virtio-fs ones,
#              as a path under lib/modules/<version>/ without .ko, e.g.
#              kernel/drivers/acpi/button (repeatable; skipped when the
#              kernel has it built in).
#   --hostroot a "tools" guest: /init also loads netfs, fscache, 9pnet,
#              9pnet_virtio and 9p, mounts the host's / (9p tag hostroot,
#              read-only; run-guest.sh --hostroot exports it) on /hostroot,
#              mounts the virtio-fs share on /hostroot/DIR (--hostroot-mnt,
#              default /mnt; it must exist on the host), proc, sysfs,
#              devtmpfs, devpts, tmpfs on /tmp, /run and /dev/shm, and runs
#              the payload chrooted into /hostroot, in DIR, with a clean
#              environment (HOME=/tmp TMPDIR=/tmp LC_ALL=C). The payload is
#              then a host program: the arguments after `--` on the kernel
#              command line are the command (e.g. /usr/bin/fio ...); with
#              --payload FILE it is FILE (copied to /tmp/payload) run with
#              those arguments. --shell starts the shell in the chroot.
#   --tools-dir with --hostroot: DIR is packed into the initramfs and
#              bind-mounted on /tmp/tools in the chroot. It stays in guest
#              RAM, where `echo 3 > /proc/sys/vm/drop_caches` cannot evict
#              it, while the host root's 9p mount loses its page cache to
#              it (reloading a program with many libraries from there
#              takes long under TCG).
#
# /init mounts proc, sys and devtmpfs, loads virtio_ring, virtio,
# virtio_pci_legacy_dev, virtio_pci_modern_dev, virtio_pci, fuse and
# virtiofs (in that order), mounts `-t virtiofs TAG /mnt`, runs the payload,
# prints `virtiofs-guest: payload exit status N`, unmounts and powers off
# with `poweroff -f`. Compressed modules (.ko.xz, .ko.zst, .ko.gz) are
# decompressed here at build time. Modules the kernel has built in are
# left out (Debian's 6.12 from fetch-stack.sh has virtio, virtio_pci, fuse
# and virtiofs built in, and 9p, 9pnet, 9pnet_virtio and netfs, which holds
# fscache there, as modules); so is fscache where it is part of netfs.
set -euo pipefail

die() { printf 'make-initramfs: %s\n' "$*" >&2; exit 1; }

kernel="" out="" payload="" tag="share" mount_opts="" shell=0 hostroot=0 hmnt=/mnt share_fs=virtiofs
tools_dir=""
adds=() extra_modules=()
while (($#)); do
	case "$1" in
		--kernel) kernel=${2:?}; shift 2 ;;
		--out) out=${2:?}; shift 2 ;;
		--payload) payload=${2:?}; shift 2 ;;
		--tag) tag=${2:?}; shift 2 ;;
		--mount-opts) mount_opts=${2:?}; shift 2 ;;
		--shell) shell=1; shift ;;
		--add) adds+=("${2:?}"); shift 2 ;;
		--module) extra_modules+=("${2:?}"); shift 2 ;;
		--hostroot) hostroot=1; shift ;;
		--hostroot-mnt) hmnt=${2:?}; shift 2 ;;
		--share-fs) share_fs=${2:?}; shift 2 ;;
		--tools-dir) tools_dir=${2:?}; shift 2 ;;
		-h | --help) sed -n '2,55p' "$0"; exit 0 ;;
		*) die "unknown argument: $1" ;;
	esac
done
[[ -n "$kernel" && -n "$out" ]] || die "--kernel and --out are required"
[[ -f "$kernel" ]] || die "no kernel at $kernel"
[[ "$tag" =~ ^[A-Za-z0-9_.-]+$ ]] || die "bad tag: $tag"
[[ -z "$mount_opts" || "$mount_opts" =~ ^[A-Za-z0-9_.,=-]+$ ]] || die "bad mount options: $mount_opts"
[[ -z "$payload" || -f "$payload" ]] || die "no payload at $payload"
[[ "$hmnt" =~ ^/[A-Za-z0-9_./-]*$ && "$hmnt" != / ]] || die "bad --hostroot-mnt: $hmnt"
[[ "$share_fs" == virtiofs || "$share_fs" == 9p ]] || die "bad --share-fs: $share_fs (virtiofs or 9p)"
[[ -z "$tools_dir" || -d "$tools_dir" ]] || die "no directory at --tools-dir $tools_dir"
[[ -z "$tools_dir" ]] || ((hostroot)) || die "--tools-dir is for --hostroot"

# The tools guest mounts a tmpfs on /tmp; a checkout that lives under the
# host's /tmp (a fresh clone in CI, say) must stay reachable in the guest.
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
keep_tmp=""
case "$repo" in /tmp/?*) keep_tmp=${repo#/tmp/}; keep_tmp=${keep_tmp%%/*} ;; esac

kver=$(basename "$kernel")
kver=${kver#vmlinuz-}
moddir=$(cd "$(dirname "$kernel")/.." && pwd)/lib/modules/$kver
[[ -d "$moddir" ]] || die "no modules at $moddir"

busybox=""
for b in /bin/busybox /usr/bin/busybox; do
	if [[ -x "$b" ]] && ! ldd "$b" >/dev/null 2>&1; then
		busybox=$b
		break
	fi
done
[[ -n "$busybox" ]] || die "no static busybox (apt-get install busybox-static)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,mnt,tmp,lib/modules,etc}
cp "$busybox" "$root/bin/busybox"

# Modules, in load order. A module the kernel has built in (listed in
# modules.builtin) is skipped; so is one marked "?" that this kernel does
# not have at all (fscache is part of netfs since Linux 6.8).
modules=(
	kernel/drivers/virtio/virtio_ring
	kernel/drivers/virtio/virtio
	kernel/drivers/virtio/virtio_pci_legacy_dev
	kernel/drivers/virtio/virtio_pci_modern_dev
	kernel/drivers/virtio/virtio_pci
	kernel/fs/fuse/fuse
	kernel/fs/fuse/virtiofs
)
if ((hostroot)) || [[ "$share_fs" == 9p ]]; then
	modules+=(
		kernel/fs/netfs/netfs
		?kernel/fs/fscache/fscache
		kernel/net/9p/9pnet
		kernel/net/9p/9pnet_virtio
		kernel/fs/9p/9p
	)
fi
for m in "${extra_modules[@]}"; do
	[[ "$m" =~ ^kernel/[A-Za-z0-9_/.-]+$ && "$m" != *..* ]] || die "bad --module: $m"
	modules+=("$m")
done
names=()
for m in "${modules[@]}"; do
	optional=0
	[[ "$m" == \?* ]] && optional=1 m=${m#\?}
	name=$(basename "$m")
	dst=$root/lib/modules/$name.ko
	if [[ -f "$moddir/$m.ko" ]]; then
		cp "$moddir/$m.ko" "$dst"
	elif [[ -f "$moddir/$m.ko.xz" ]]; then
		xz -dc "$moddir/$m.ko.xz" >"$dst"
	elif [[ -f "$moddir/$m.ko.zst" ]]; then
		zstd -qdc "$moddir/$m.ko.zst" >"$dst"
	elif [[ -f "$moddir/$m.ko.gz" ]]; then
		gzip -dc "$moddir/$m.ko.gz" >"$dst"
	else
		# Built in (CONFIG_...=y) kernels have no module: skip it.
		if grep -q "/$name.ko" "$moddir/modules.builtin" 2>/dev/null; then
			continue
		fi
		((optional)) && continue
		die "module $m not found under $moddir"
	fi
	names+=("$name")
done

if [[ -n "$payload" ]]; then
	cp "$payload" "$root/payload"
	chmod 755 "$root/payload"
fi
if [[ -n "$tools_dir" ]]; then
	cp -a "$tools_dir" "$root/tools"
fi
for a in "${adds[@]}"; do
	src=${a%%:*}
	dst=${a#*:}
	[[ -e "$src" && "$dst" == /* ]] || die "bad --add $a"
	mkdir -p "$root$(dirname "$dst")"
	cp -a "$src" "$root$dst"
done

mopt=""
[[ -n "$mount_opts" ]] && mopt="-o $mount_opts"
if [[ "$share_fs" == 9p ]]; then
	mopt="-o trans=virtio,version=9p2000.L${mount_opts:+,$mount_opts}"
fi

if ((hostroot)); then
	mkdir -p "$root/hostroot"
	cat >"$root/init" <<EOF
#!/bin/busybox sh
# Generated by scripts/guest/make-initramfs.sh --hostroot
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
export HOME=/ TERM=linux
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
echo "virtiofs-guest: kernel \$(uname -r) up (tools guest)"
for m in ${names[*]}; do
	insmod /lib/modules/\$m.ko || echo "virtiofs-guest: insmod \$m failed"
done
H=/hostroot
M=\$H$hmnt
rc=0
if ! mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144 hostroot \$H; then
	echo "virtiofs-guest: mount -t 9p hostroot failed (run-guest.sh --hostroot?)"
	rc=98
elif ! mount -t $share_fs $mopt $tag \$M; then
	echo "virtiofs-guest: mount -t $share_fs $tag $hmnt failed"
	rc=99
else
	echo "virtiofs-guest: mounted $share_fs tag $tag on $hmnt (host root on /)"
	mount -t proc proc \$H/proc
	mount -t sysfs sys \$H/sys
	mount -t devtmpfs dev \$H/dev
	mkdir -p \$H/dev/shm \$H/dev/pts
	ln -s /proc/self/fd \$H/dev/fd
	ln -s /proc/self/fd/0 \$H/dev/stdin
	ln -s /proc/self/fd/1 \$H/dev/stdout
	ln -s /proc/self/fd/2 \$H/dev/stderr
	mount -t tmpfs shm \$H/dev/shm
	mount -t devpts pts \$H/dev/pts
	mkdir -p /hosttmp
	mount -o bind \$H/tmp /hosttmp
	mount -t tmpfs tmp \$H/tmp
	if [ -n "$keep_tmp" ]; then
		mkdir -p \$H/tmp/$keep_tmp
		mount -o bind /hosttmp/$keep_tmp \$H/tmp/$keep_tmp
	fi
	mount -t tmpfs run \$H/run
	if [ -d /tools ]; then
		mkdir -p \$H/tmp/tools
		mount -o bind /tools \$H/tmp/tools
	fi
	chmod 1777 \$H/tmp \$H/dev/shm
	if [ -f /payload ]; then
		cp /payload \$H/tmp/payload
		set -- /tmp/payload "\$@"
	fi
	if [ \$# -gt 0 ]; then
		chroot \$H /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \\
			HOME=/tmp TMPDIR=/tmp LC_ALL=C TERM=dumb \\
			/bin/sh -c 'cd "\$0" && exec "\$@"' $hmnt "\$@"
		rc=\$?
	fi
fi
echo "virtiofs-guest: payload exit status \$rc"
if [ $shell = 1 ]; then
	echo "virtiofs-guest: interactive shell chrooted into the host root; the share is on $hmnt. Leave with exit, or Ctrl-A X."
	setsid cttyhack chroot \$H /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/tmp TERM=linux /bin/sh -c "cd $hmnt; exec /bin/bash -l"
fi
sync
for d in run tmp/tools tmp dev/pts dev/shm dev sys proc; do umount \$H/\$d 2>/dev/null; done
umount \$M 2>/dev/null
umount \$H 2>/dev/null
echo "virtiofs-guest: powering off"
poweroff -f
EOF
else
cat >"$root/init" <<EOF
#!/bin/busybox sh
# Generated by scripts/guest/make-initramfs.sh
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
export HOME=/ TERM=linux
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
echo "virtiofs-guest: kernel \$(uname -r) up"
for m in ${names[*]}; do
	insmod /lib/modules/\$m.ko || echo "virtiofs-guest: insmod \$m failed"
done
rc=0
if mount -t $share_fs $mopt $tag /mnt; then
	echo "virtiofs-guest: mounted $share_fs tag $tag on /mnt"
	if [ -x /payload ]; then
		cd /mnt
		/payload "\$@"
		rc=\$?
		cd /
	fi
else
	echo "virtiofs-guest: mount -t $share_fs $tag /mnt failed"
	rc=99
fi
echo "virtiofs-guest: payload exit status \$rc"
if [ $shell = 1 ]; then
	echo "virtiofs-guest: interactive shell; the share is on /mnt. Leave with 'poweroff -f' (or exit), or Ctrl-A X."
	cd /mnt 2>/dev/null || cd /
	setsid cttyhack sh -l
	cd /
fi
sync
umount /mnt 2>/dev/null
echo "virtiofs-guest: powering off"
poweroff -f
EOF
fi
chmod 755 "$root/init"

mkdir -p "$(dirname "$out")"
(cd "$root" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet -R 0:0) |
	gzip -1 >"$out.tmp"
mv "$out.tmp" "$out"
printf '%s\n' "$out"
