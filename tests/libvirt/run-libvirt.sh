#!/usr/bin/env bash
# run-libvirt.sh: our virtiofsd launched by libvirt itself (Debian 12's
# libvirt 9.0, libvirt-daemon-system), through a whole domain lifecycle.
#
# Usage: tests/libvirt/run-libvirt.sh [--daemon PATH] [--timeout SECS]
#                                     [--out DIR] [--keep]
#
#   --daemon   our virtiofsd (default: build/src/daemon/virtiofsd; libvirt
#              gives it a clean environment, so not a sanitizer build)
#   --timeout  bound on each wait for the guest (default: 240 s)
#   --out      work directory (default: build/libvirt)
#   --keep     keep the share and libvirt's state even when all passed
#
# A private libvirtd and virtlogd run in a mount namespace of their own
# (unshare -m) where /etc/libvirt, /run/libvirt, /var/lib/libvirt,
# /var/log/libvirt, /var/cache/libvirt and /usr/share/qemu/vhost-user are
# directories under OUT: the host's libvirt (running or not) and its
# configuration are not touched, and nothing is left behind. Their
# configuration is libvirt's default but for the log outputs (info level to
# /var/log/libvirt/libvirtd.log). virsh talks to them through the socket.
#
# The domain is TCG (type='qemu'), Debian 12's 6.1 kernel with a busybox
# initramfs whose payload is tests/libvirt/guest-payload.sh, and one
#   <filesystem type='mount'> <driver type='virtiofs' queue='1024'/>
#     <binary path='OUR virtiofsd' xattr='on'> <cache mode='always'/>
#       <lock posix='on' flock='on'/> <sandbox mode='chroot'/>
#       <thread_pool size='4'/>
# Boot 1 (virsh start): the guest mounts the share, runs the e2e scenario
# (tests/e2e/guest_checks.c), then writes a heartbeat on the share; virsh
# suspend (the heartbeat stops), virsh resume (it goes on: the daemon got
# its rings back), virsh shutdown (ACPI power button: the guest ends its
# payload, unmounts and powers off; our daemon sees the frontend go and
# exits by itself). Boot 2 (virsh start again) is the same domain with
# <binary> naming no path: libvirt picks the virtiofsd of the vhost-user
# descriptors (/usr/share/qemu/vhost-user/*.json), where we put one naming
# ours; on a fresh share the guest reads a host file and writes one, then
# writes its heartbeat again, and virsh destroy ends it.
#
# Checked: the e2e results of boot 1 (the guest's and the host's), boot
# 2's two files,
# libvirt keeps every option in the domain XML, the command line libvirt
# gives our daemon (--fd=N, an inherited listening socket, and -o
# source=...,cache=always,sandbox=chroot,xattr,flock,posix_lock
# --thread-pool-size=4), that it runs as root, the domain states, that
# the daemon is gone after each stop and its log has no error, and that
# libvirt's own logs (libvirtd.log, the domain's log, virtlogd's output)
# have no error line. Also that --print-capabilities prints the vhost-user
# JSON ({"type":"fs",...}); libvirt 9.0 itself runs --print-capabilities
# only for vhost-user-gpu and slirp helpers, not for virtiofsd.
#
# Output: `ok N - name` / `not ok N - name: reason` lines, then
# `libvirt(ours): N passed, M failed`. Exit status 0 only if all passed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

bin=${VIRTIOFSD:-$repo/build/src/daemon/virtiofsd} timeout_s=240
out=$repo/build/libvirt keep=0
while (($#)); do
	case "$1" in
		--daemon) bin=${2:?}; shift 2 ;;
		--daemon=*) bin=${1#*=}; shift ;;
		--timeout) timeout_s=${2:?}; shift 2 ;;
		--out) out=${2:?}; shift 2 ;;
		--keep) keep=1; shift ;;
		-h | --help) sed -n '2,52p' "$0"; exit 0 ;;
		*) echo "run-libvirt: unknown argument: $1" >&2; exit 2 ;;
	esac
done
[[ "$timeout_s" =~ ^[0-9]+$ ]] || { echo "run-libvirt: bad --timeout" >&2; exit 2; }
# shellcheck source=scripts/guest/stack.sh
. "$repo/scripts/guest/stack.sh"
# shellcheck source=tests/e2e/host-checks.sh
. "$repo/tests/e2e/host-checks.sh"

t_start=$SECONDS
mkdir -p "$out"
out=$(cd "$out" && pwd)
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
# A name of its own: libvirt names the domain's cgroups after it (and its
# id, 1 in each private libvirtd), and the host's cgroups are shared with
# any other run of this test.
dom=vfsd-libvirt-$$
W=$out/state # the private libvirt's directories
share=$out/share
sock=$W/run/libvirt-sock
uri="qemu:///system?socket=$sock"

# ---- reporting ----
n=0 passed=0 failed=0 phase=""
ok() { n=$((n + 1)); passed=$((passed + 1)); echo "ok $n - $phase$1"; }
notok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $phase$1: $2"; }
check() { # check NAME REASON-IF-NOT COMMAND...
	local name=$1 why=$2
	shift 2
	if "$@"; then ok "$name"; else notok "$name" "$why"; fi
}
finish() {
	echo "libvirt: wall time $((SECONDS - t_start)) s"
	echo "libvirt(ours): $passed passed, $failed failed"
	((failed == 0))
	exit $?
}
say() { printf '==> [%d s] %s\n' "$((SECONDS - t_start))" "$*"; }
virsh_() { virsh -q -c "$uri" "$@"; }

for tool in libvirtd virtlogd virsh unshare jq; do
	if ! command -v "$tool" >/dev/null; then
		notok "host: $tool is installed" "not found (scripts/install-deps.sh)"
		finish
	fi
done
if [[ ! -x "$bin" ]]; then
	notok "host: daemon binary $bin exists" "not found (build it first: ninja -C build)"
	finish
fi
say "$(libvirtd --version); $(qemu-system-x86_64 --version | head -n 1)"

# ---- what libvirt would read: the vhost-user capabilities ----
caps=$("$bin" --print-capabilities 2>&1) || true
# shellcheck disable=SC2317 # called through check
caps_ok() { jq -e '.type == "fs" and (.features | type == "array")' <<<"$caps" >/dev/null 2>&1; }
check "--print-capabilities prints vhost-user JSON of type fs" "got: $caps" caps_ok

# ---- the guest: kernel, initramfs with the e2e program and our payload ----
helper=$out/guest_checks
if [[ ! -x "$helper" || "$repo/tests/e2e/guest_checks.c" -nt "$helper" ]]; then
	say "building $helper (static)"
	gcc -static -O2 -g0 -Wall -Wextra -Werror -o "$helper.tmp" "$repo/tests/e2e/guest_checks.c"
	mv "$helper.tmp" "$helper"
fi
if ! stack_select 7.2; then
	notok "host: the guest kernel is available" "fetching it failed (see above)"
	finish
fi
initrd=$out/initramfs-libvirt.gz
"$repo/scripts/guest/make-initramfs.sh" --kernel "$stack_kernel" --out "$initrd" \
	--payload "$here/guest-payload.sh" --add "$helper:/guest_checks" \
	--module kernel/drivers/acpi/button --module kernel/drivers/input/evdev >/dev/null

# ---- the private libvirt ----
ns_pid=""
qemu_pid_file() { find "$W/run/qemu" -name "$dom.pid" 2>/dev/null | head -n 1; }
fs_pid_file() { find "$W/run/qemu" -name "*-$dom-fs0-fs.pid" 2>/dev/null | head -n 1; }
# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
	local f p i
	if [[ -n "$ns_pid" ]]; then
		virsh_ destroy "$dom" >/dev/null 2>&1 || true
		virsh_ undefine "$dom" >/dev/null 2>&1 || true
		kill -TERM "$ns_pid" 2>/dev/null || true
		for ((i = 0; i < 100; i++)); do
			kill -0 "$ns_pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$ns_pid" 2>/dev/null || true
		wait "$ns_pid" 2>/dev/null || true
		ns_pid=""
	fi
	# A QEMU (a domain's or a capability probe's) or daemon the private
	# libvirt left behind (it failed midway): by its pid file, and only
	# if that pid still runs one of those.
	while read -r f; do
		p=$(cat "$f" 2>/dev/null) || continue
		[[ "$p" =~ ^[0-9]+$ ]] || continue
		case "$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)" in
			*qemu-system-*|"$bin "*) kill -KILL "$p" 2>/dev/null || true ;;
		esac
	done < <(find "$W/run" "$W/lib" -name '*.pid' 2>/dev/null)
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

rm -rf "${W:?}/run" "${W:?}/lib" "${W:?}/log" "${W:?}/etc" "${W:?}/vhost-user"
# The capability cache stays: probing QEMU takes seconds under TCG, and
# libvirt re-probes by itself when QEMU or libvirt changes.
mkdir -p "$W"/{etc,run,lib/boot,log/qemu,cache,vhost-user,dev}
printf 'log_outputs = "2:file:/var/log/libvirt/libvirtd.log"\n' >"$W/etc/libvirtd.conf"
: >"$W/etc/qemu.conf"
: >"$W/etc/virtlogd.conf"
cat >"$W/vhost-user/40-virtiofsd-c.json" <<EOF
{
  "description": "virtiofsd-c, the virtio-fs daemon under test",
  "type": "fs",
  "binary": "$bin"
}
EOF
cp "$stack_kernel" "$W/lib/boot/vmlinuz"
cp "$initrd" "$W/lib/boot/initramfs.gz"

# shellcheck disable=SC2016 # expanded by the namespace's shell
ns_script='
set -u
W=$1
for m in etc:/etc/libvirt run:/run/libvirt lib:/var/lib/libvirt \
	log:/var/log/libvirt cache:/var/cache/libvirt \
	vhost-user:/usr/share/qemu/vhost-user; do
	mkdir -p "${m#*:}" && mount --bind "$W/${m%%:*}" "${m#*:}" || exit 97
done
# KVM does not work on these machines: a QEMU that opens /dev/kvm can hang
# (libvirt probes QEMU with accel=kvm:tcg when /dev/kvm is there). This
# namespace has a /dev without it: a tmpfs with the host nodes libvirt and
# QEMU use bound in.
mount -t tmpfs -o mode=755 libvirt-dev "$W/dev" || exit 97
for n in null zero full random urandom tty ptmx; do
	touch "$W/dev/$n" && mount --bind "/dev/$n" "$W/dev/$n" || exit 97
done
for d in pts shm mqueue hugepages; do
	[ -d "/dev/$d" ] || continue
	mkdir "$W/dev/$d" && mount --rbind "/dev/$d" "$W/dev/$d" || exit 97
done
ln -s /proc/self/fd "$W/dev/fd"
mount --move "$W/dev" /dev || exit 97
# Their pid files too are private (by default /run/virtlogd.pid and
# /run/libvirtd.pid: another run of this test would hold them).
virtlogd -f /etc/libvirt/virtlogd.conf -p /run/libvirt/virtlogd.pid &
lg=$!
libvirtd -f /etc/libvirt/libvirtd.conf -p /run/libvirt/libvirtd.pid &
ld=$!
stop() {
	kill -TERM "$ld" 2>/dev/null; wait "$ld"; st=$?
	kill -TERM "$lg" 2>/dev/null; wait "$lg"
	exit "$st"
}
trap stop TERM INT
wait "$ld"; st=$?
kill -TERM "$lg" 2>/dev/null; wait "$lg"
exit "$st"
'
say "starting a private libvirtd and virtlogd (state in $W)"
unshare --mount --propagation private -- bash -c "$ns_script" ns "$W" \
	>"$out/libvirtd.stderr" 2>&1 </dev/null &
ns_pid=$!
up=0
for ((i = 0; i < 300; i++)); do
	if [[ -S "$sock" ]] && virsh_ version >/dev/null 2>&1; then
		up=1
		break
	fi
	kill -0 "$ns_pid" 2>/dev/null || break
	sleep 0.1
done
if ((!up)); then
	notok "host: libvirtd starts and answers virsh" "$(tail -n 5 "$out/libvirtd.stderr" "$W/log/libvirtd.log" 2>&1)"
	finish
fi
ok "host: libvirtd starts and answers virsh"

# ---- the domain ----
domxml() { # domxml BINARY-PATH-ATTRIBUTE PAYLOAD-ARGS
	cat <<EOF
<domain type='qemu'>
  <name>$dom</name>
  <uuid>$uuid</uuid>
  <memory unit='MiB'>512</memory>
  <vcpu>2</vcpu>
  <memoryBacking>
    <source type='memfd'/>
    <access mode='shared'/>
  </memoryBacking>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>/var/lib/libvirt/boot/vmlinuz</kernel>
    <initrd>/var/lib/libvirt/boot/initramfs.gz</initrd>
    <cmdline>console=ttyS0 panic=-1 quiet -- $2</cmdline>
  </os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <filesystem type='mount' accessmode='passthrough'>
      <driver type='virtiofs' queue='1024'/>
      <binary$1 xattr='on'>
        <cache mode='always'/>
        <lock posix='on' flock='on'/>
        <sandbox mode='chroot'/>
        <thread_pool size='4'/>
      </binary>
      <source dir='$share'/>
      <target dir='share'/>
    </filesystem>
    <serial type='file'>
      <source path='/var/log/libvirt/qemu/$dom-console.log'/>
      <target port='0'/>
    </serial>
    <controller type='usb' model='none'/>
    <memballoon model='none'/>
  </devices>
</domain>
EOF
}
console=$W/log/qemu/$dom-console.log
uuid=$(cat /proc/sys/kernel/random/uuid)
fslog=$W/log/qemu/$dom-fs0-virtiofsd.log

# Bounded poll: until COMMAND succeeds, at most SECS seconds.
wait_for() { # wait_for SECS COMMAND...
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		((SECONDS < deadline)) || return 1
		sleep 0.2
	done
}
# shellcheck disable=SC2317 # called through check and wait_for
console_has() { tr -d '\r' <"$console" 2>/dev/null | grep -q -- "$1"; }
# shellcheck disable=SC2317 # called through check and wait_for
domstate_is() { [[ "$(virsh_ domstate "$dom" 2>/dev/null)" == "$1" ]]; }
# shellcheck disable=SC2317 # called through check and wait_for
heartbeat() { cat "$share/e2e/heartbeat" 2>/dev/null || echo 0; }
# shellcheck disable=SC2317 # called through check and wait_for
heartbeat_past() { (($(heartbeat) > $1)); }
# shellcheck disable=SC2317 # called through check and wait_for
pid_gone() { ! kill -0 "$1" 2>/dev/null; }

prepare_share() {
	rm -rf "$share"
	mkdir -p "$share/e2e"
	printf 'prepared by host\n' >"$share/e2e/host-prepared.txt"
	printf 'x\n' >"$share/e2e/host-xattr.txt"
	setfattr -n user.e2e.host -v set-on-host "$share/e2e/host-xattr.txt"
}

# virsh start, the daemon as libvirt runs it, the e2e scenario up to the
# heartbeat. Sets fs_pid and qemu_pid.
fs_pid="" qemu_pid=""
boot() { # boot EXPECTED-DAEMON-ARGV-REGEX full|quick
	local argv f
	prepare_share
	rm -f "$console"
	if virsh_ start "$dom" >"$out/virsh.out" 2>&1; then
		ok "virsh start"
	else
		notok "virsh start" "$(cat "$out/virsh.out")"
		return 1
	fi
	check "domain is running" "$(virsh_ domstate "$dom" 2>&1)" domstate_is running
	f=$(fs_pid_file) && fs_pid=$(cat "$f") || fs_pid=""
	f=$(qemu_pid_file) && qemu_pid=$(cat "$f") || qemu_pid=""
	if [[ "$fs_pid" =~ ^[0-9]+$ ]] && kill -0 "$fs_pid" 2>/dev/null; then
		argv=$(tr '\0' ' ' <"/proc/$fs_pid/cmdline")
		argv=${argv% }
		echo "$argv" >"$out/virtiofsd-argv.txt"
		say "libvirt runs: $argv"
		if [[ "$argv" =~ $1 ]]; then ok "libvirt runs our daemon with its command line"
		else notok "libvirt runs our daemon with its command line" "got '$argv', want /$1/"; fi
		check "the daemon runs as root" "uid $(stat -c %u "/proc/$fs_pid")" \
			test "$(stat -c %u "/proc/$fs_pid")" = 0
	else
		notok "libvirt started the daemon (its pid file)" "no live *-$dom-fs0-fs.pid under $W/run/qemu"
		fs_pid=""
	fi
	[[ "$qemu_pid" =~ ^[0-9]+$ ]] || qemu_pid=""
	if [[ "$2" == quick ]]; then
		:
	elif wait_for "$timeout_s" console_has '^e2e-sync: waiting for host file host-created.txt'; then
		printf 'created by host after mount\n' >"$out/host-created.tmp"
		mv "$out/host-created.tmp" "$share/e2e/host-created.txt"
		ok "saw the guest's sync marker and created host-created.txt after mount"
	else
		notok "saw the guest's sync marker" "not within ${timeout_s}s (console $console)"
	fi
	check "the guest's payload gave its verdict" "none within ${timeout_s}s" \
		wait_for "$timeout_s" console_has '^libvirt-guest: checks exit status'
	check "the guest waits for the power button" "not within 60s" \
		wait_for 60 console_has '^libvirt-guest: waiting for the ACPI power button'
	check "the guest writes its heartbeat" "e2e/heartbeat never advanced" \
		wait_for 60 heartbeat_past 1
}

# The guest's lines, its verdict, the host's checks of results.txt.
results() { # results BOOT full|quick
	local clean=$out/console-$1.log g_pass g_fail summary
	tr -d '\r' <"$console" >"$clean" 2>/dev/null || true
	if [[ "$2" == quick ]]; then
		check "guest read the host's file and wrote its own" "see $clean" \
			grep -qx 'libvirt-guest: checks exit status 0' "$clean"
		check "host: content of e2e/guest-quick.txt" "$(cat "$share/e2e/guest-quick.txt" 2>&1)" \
			test "$(cat "$share/e2e/guest-quick.txt" 2>&1)" = "written in guest"
		return
	fi
	g_pass=$(grep -cE '^ok [0-9]+ - ' "$clean" || true)
	g_fail=$(grep -cE '^not ok [0-9]+ - ' "$clean" || true)
	grep -E '^not ok [0-9]+ - ' "$clean" | sed "s/^/  $phase guest: /" || true
	summary=$(grep -E '^e2e: [0-9]+ passed, [0-9]+ failed$' "$clean" | tail -n 1 || true)
	check "guest e2e: $g_pass passed, $g_fail failed" "see $clean" \
		test "$g_fail" = 0 -a "$g_pass" -gt 100 -a "$summary" = "e2e: $g_pass passed, 0 failed"
	check "guest checks exit status 0" "see $clean" \
		grep -qx 'libvirt-guest: checks exit status 0' "$clean"
	e2e_queue_log=$fslog
	e2e_num_queues=1
	e2e_check_results "$share/e2e"
}

# The daemon is gone (bounded: libvirt stops it at the latest).
daemon_gone() {
	if [[ -z "$fs_pid" ]]; then
		notok "the daemon is gone" "its pid was never known"
		return
	fi
	check "the daemon is gone" "pid $fs_pid still there after 30s" wait_for 30 pid_gone "$fs_pid"
}

full_args="--cache always --dir e2e --sync-timeout 60"
if virsh_ define /dev/stdin <<<"$(domxml " path='$bin'" "$full_args")" >"$out/virsh.out" 2>&1; then
	ok "virsh define"
else
	notok "virsh define" "$(cat "$out/virsh.out")"
	finish
fi
virsh_ dumpxml "$dom" >"$out/domain.xml"
for want in "<driver type='virtiofs' queue='1024'/>" "<binary path='$bin' xattr='on'>" \
	"<cache mode='always'/>" "<lock posix='on' flock='on'/>" \
	"<sandbox mode='chroot'/>" "<thread_pool size='4'/>"; do
	check "libvirt keeps $want" "not in $out/domain.xml" grep -qF "$want" "$out/domain.xml"
done
# shellcheck disable=SC2001 # a character class, not one pattern
re_quote() { sed 's/[][\.*^$+?(){}|]/\\&/g' <<<"$1"; }
esc_bin=$(re_quote "$bin")
esc_share=$(re_quote "$share")
want_argv="^$esc_bin --fd=[0-9]+ -o source=$esc_share,cache=always,sandbox=chroot,xattr,flock,posix_lock --thread-pool-size=4\$"

# ---- boot 1: start, suspend, resume, shutdown ----
phase="boot 1: "
say "boot 1: virsh start, suspend, resume, shutdown"
if boot "$want_argv" full; then
	if virsh_ suspend "$dom" >"$out/virsh.out" 2>&1; then ok "virsh suspend"
	else notok "virsh suspend" "$(cat "$out/virsh.out")"; fi
	check "domain is paused" "$(virsh_ domstate "$dom" 2>&1)" domstate_is paused
	# A paused guest writes nothing: the heartbeat must stay for a while
	# (an observation window, not a synchronisation).
	hb=$(heartbeat)
	sleep 1
	check "no heartbeat while paused" "went from $hb to $(heartbeat)" test "$(heartbeat)" = "$hb"
	if virsh_ resume "$dom" >"$out/virsh.out" 2>&1; then ok "virsh resume"
	else notok "virsh resume" "$(cat "$out/virsh.out")"; fi
	check "domain is running again" "$(virsh_ domstate "$dom" 2>&1)" domstate_is running
	check "the heartbeat goes on after resume" "stuck at $hb for 60s" wait_for 60 heartbeat_past "$hb"
	if virsh_ shutdown "$dom" >"$out/virsh.out" 2>&1; then ok "virsh shutdown"
	else notok "virsh shutdown" "$(cat "$out/virsh.out")"; fi
	check "domain shuts off" "$(virsh_ domstate --reason "$dom" 2>&1) after ${timeout_s}s" \
		wait_for "$timeout_s" domstate_is "shut off"
	check "shut off by the guest" "$(virsh_ domstate --reason "$dom" 2>&1)" \
		test "$(virsh_ domstate --reason "$dom" 2>&1)" = "shut off (shutdown)"
	check "the guest saw the power button and unmounted" "see $console" \
		console_has '^virtiofs-guest: payload exit status 0$'
	daemon_gone
	check "the daemon exited by itself when QEMU went" "no 'frontend disconnected, exiting' in $fslog" \
		grep -q 'frontend disconnected, exiting' "$fslog"
	results 1 full
fi
cp "$fslog" "$out/virtiofsd-boot1.log" 2>/dev/null || true

# ---- boot 2: the daemon from the vhost-user descriptors, then destroy ----
phase="boot 2: "
say "boot 2: <binary> without path (libvirt picks the descriptor's), virsh start, destroy"
# The same domain (its uuid), a quick payload this time.
if virsh_ define /dev/stdin <<<"$(domxml "" --quick)" >"$out/virsh.out" 2>&1; then
	ok "virsh define with <binary> naming no path"
else
	notok "virsh define with <binary> naming no path" "$(cat "$out/virsh.out")"
fi
if boot "$want_argv" quick; then
	if virsh_ destroy "$dom" >"$out/virsh.out" 2>&1; then ok "virsh destroy"
	else notok "virsh destroy" "$(cat "$out/virsh.out")"; fi
	check "domain is shut off (destroyed)" "$(virsh_ domstate --reason "$dom" 2>&1)" \
		test "$(virsh_ domstate --reason "$dom" 2>&1)" = "shut off (destroyed)"
	daemon_gone
	[[ -z "$qemu_pid" ]] || check "QEMU is gone" "pid $qemu_pid" wait_for 30 pid_gone "$qemu_pid"
	results 2 quick
fi

# ---- libvirt's own logs, after it stopped ----
phase=""
if virsh_ undefine "$dom" >"$out/virsh.out" 2>&1; then ok "virsh undefine"
else notok "virsh undefine" "$(cat "$out/virsh.out")"; fi
kill -TERM "$ns_pid"
wait "$ns_pid" && st=0 || st=$?
ns_pid=""
check "libvirtd and virtlogd stop cleanly" "status $st" test "$st" = 0
cp "$fslog" "$out/virtiofsd.log" 2>/dev/null || true
cp "$W/log/libvirtd.log" "$out/libvirtd.log" 2>/dev/null || true
cp "$W/log/qemu/$dom.log" "$out/domain.log" 2>/dev/null || true
# This machine has no system D-Bus (libvirt would register the domain
# with systemd-machined through it), no dnsmasq (the network driver's,
# unused here), no DMI table (/dev/mem) and, in the namespace, no /dev/kvm
# (libvirt's host CPU probe opens it): libvirt says so at its start and at
# each domain start. Those error lines are counted, any other fails.
env_errs='(virGDBusGetSystemBus|dnsmasqCapsNewFromBinary|udevGetDMIData):|virCommandWait:.*/usr/sbin/dmidecode|(virHostCPUGetCPUID|virHostCPUGetTscInfo):[0-9]+ : Unable to open /dev/kvm'
n_env=$(grep -E ': error : ' "$out/libvirtd.log" 2>/dev/null | grep -cE "$env_errs" || true)
errs=$(grep -E ': error : ' "$out/libvirtd.log" 2>/dev/null | grep -vE "$env_errs" || true)
check "libvirtd.log has no error (besides $n_env about D-Bus, dnsmasq, DMI, KVM)" "$errs" \
	test -z "$errs" -a -s "$out/libvirtd.log"
errs=$(grep -iE 'error' "$out/domain.log" "$out/libvirtd.stderr" 2>/dev/null | grep -vE "$env_errs" || true)
check "the domain's log and virtlogd have no error" "$errs" test -z "$errs"
errs=$(grep -E '^\[[^]]* error ' "$out/virtiofsd.log" 2>/dev/null || true)
check "our daemon's log (libvirt's DOMAIN-fs0-virtiofsd.log) has no error" "$errs" test -z "$errs"
echo "==> libvirt's command line for our daemon: $(cat "$out/virtiofsd-argv.txt" 2>/dev/null)"

if ((failed == 0 && keep == 0)); then
	rm -rf "$share" "${W:?}/run" "${W:?}/lib" "${W:?}/log"
fi
finish
