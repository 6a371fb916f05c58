#!/usr/bin/env bash
# demo.sh: see virtio-fs work, from a fresh Debian 12 machine.
#
# Installs what the project needs, builds it, starts the virtiofsd daemon on
# a shared directory (./var/share, with a hello.txt from the host), boots a
# throwaway Linux guest under QEMU (TCG, no KVM needed) that mounts the
# share, lists it, reads the host's file and writes one of its own, then
# shows the guest's file from the host.
#
# Usage: scripts/demo.sh [--daemon ours|qemu|PATH] [--shell] [--share DIR]
#   --daemon ours   our daemon, build/src/daemon/virtiofsd (the default)
#            qemu   QEMU's C daemon (/usr/lib/qemu/virtiofsd)
#            PATH   any daemon with the Rust virtiofsd command line
#   --shell         leave the guest on an interactive shell (share on /mnt);
#                   leave it with `poweroff -f`, or Ctrl-A X
#   --share DIR     the shared directory (default: ./var/share)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
daemon=ours shell=0 share=$repo/var/share
while (($#)); do
	case "$1" in
		--daemon) daemon=${2:?}; shift 2 ;;
		--daemon=*) daemon=${1#*=}; shift ;;
		--shell) shell=1; shift ;;
		--share) share=${2:?}; shift 2 ;;
		--share=*) share=${1#*=}; shift ;;
		-h | --help) sed -n '2,17p' "$0"; exit 0 ;;
		*) echo "demo: unknown argument: $1 (try --help)" >&2; exit 2 ;;
	esac
done

step() { printf '==> %s\n' "$*"; }

step "installing dependencies (scripts/install-deps.sh)"
"$repo/scripts/install-deps.sh"

step "building the project (meson + ninja in ./build)"
built=1
if [[ ! -f "$repo/build/build.ninja" ]]; then
	meson setup "$repo/build" "$repo" >/dev/null || built=0
fi
if ((built)); then
	ninja -C "$repo/build" || built=0
fi
if ((!built)); then
	if [[ "$daemon" == ours ]]; then
		echo "demo: the build failed; see above (or try --daemon qemu)" >&2
		exit 1
	fi
	step "the build failed, continuing anyway: --daemon $daemon does not need it"
fi

case "$daemon" in
	qemu)
		bin=/usr/lib/qemu/virtiofsd
		# --thread-pool-size=0: with a pool, QEMU's seccomp filter kills it.
		daemon_cmd=("$bin" '--socket-path={socket}' -o 'source={shared_dir}'
			-o cache=auto --thread-pool-size=0)
		;;
	*)
		bin=${VIRTIOFSD:-$repo/build/src/daemon/virtiofsd}
		[[ "$daemon" == ours ]] || bin=$daemon
		daemon_cmd=("$bin" '--socket-path={socket}' '--shared-dir={shared_dir}' --cache=auto)
		;;
esac
if [[ ! -x "$bin" ]]; then
	echo "demo: no daemon at $bin (is it built yet? try --daemon qemu)" >&2
	exit 1
fi

mkdir -p "$share"
share=$(cd "$share" && pwd)
work=$repo/build/demo
mkdir -p "$work"
printf 'Hello from the host (%s, %s)\n' "$(hostname)" "$(date -u '+%Y-%m-%d %H:%M:%S UTC')" \
	>"$share/hello.txt"
rm -f "$share/from-guest.txt"
step "shared directory $share (put hello.txt in it)"

step "getting a Linux kernel for the guest (Debian's, cached in build/guest-kernel)"
kernel=$("$repo/scripts/guest/fetch-kernel.sh")

payload=$work/demo-payload.sh
cat >"$payload" <<'EOF'
#!/bin/sh
# Runs in the guest, in /mnt (the virtio-fs share).
echo "guest: mounted: $(grep ' /mnt ' /proc/mounts)"
echo "guest: ls /mnt: $(ls /mnt | tr '\n' ' ')"
echo "guest: cat /mnt/hello.txt: $(cat /mnt/hello.txt)"
echo "Hello from the guest (Linux $(uname -r))" >/mnt/from-guest.txt &&
	echo "guest: wrote /mnt/from-guest.txt"
sync
test -f /mnt/from-guest.txt
EOF
initrd=$work/initramfs-demo.gz
shell_opt=()
((shell)) && shell_opt=(--shell)
"$repo/scripts/guest/make-initramfs.sh" --kernel "$kernel" --out "$initrd" \
	--payload "$payload" "${shell_opt[@]}" >/dev/null

step "starting virtiofsd ($bin) on $share"
step "booting a guest under QEMU (TCG); it mounts the share on /mnt"
log=$work/guest.log
run=("$repo/scripts/guest/run-guest.sh" --kernel "$kernel" --initrd "$initrd"
	--shared-dir "$share" --log "$log" --daemon-log "$work/daemon.log")
if ((shell)); then
	echo "    (interactive: the guest's shell is on this terminal; 'poweroff -f' or Ctrl-A X ends it)"
	"${run[@]}" --interactive --timeout 86400 -- "${daemon_cmd[@]}" && rc=0 || rc=$?
else
	"${run[@]}" --timeout 180 -- "${daemon_cmd[@]}" && rc=0 || rc=$?
	tr -d '\r' <"$log" | grep -E '^(guest: |virtiofs-guest: (mount|payload))' || true
fi
step "guest powered off; the daemon is stopped (logs in $work)"

if [[ -f "$share/from-guest.txt" ]]; then
	step "on the host, $share/from-guest.txt says: $(cat "$share/from-guest.txt")"
else
	step "on the host, the guest's file $share/from-guest.txt is missing"
	rc=${rc/#0/1}
fi
if ((rc == 0)); then
	step "demo OK"
else
	step "demo FAILED (status $rc); see $log and $work/daemon.log"
fi
exit "$rc"
