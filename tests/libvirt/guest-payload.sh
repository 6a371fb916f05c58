#!/bin/busybox sh
# shellcheck shell=dash
# guest-payload.sh: the payload of the libvirt test guest (busybox sh, run
# by the /init of scripts/guest/make-initramfs.sh in /mnt, the virtio-fs
# share, with the arguments after `--` on the kernel command line).
#
#  1. Runs /guest_checks (tests/e2e/guest_checks.c, put in the initramfs
#     with --add) with those arguments: the e2e scenario on the share.
#     With --quick instead, only reads e2e/host-prepared.txt and writes
#     e2e/guest-quick.txt.
#  2. Prints `libvirt-guest: checks exit status N`.
#  3. Keeps running until the ACPI power button is pressed (what
#     `virsh shutdown` does to a guest without an agent), writing a counter
#     to e2e/heartbeat on the share a few times a second: the host sees it
#     stop while the domain is suspended and go on once it is resumed.
#  4. On the power button, stops the heartbeat and exits with the status of
#     step 1; /init then prints it, unmounts the share and powers off
#     (ACPI S5), which QEMU reports to libvirt as a guest shutdown.
#
# The power button reaches user space as an evdev device ("Power Button",
# from the button and evdev modules: make-initramfs.sh --module).

if [ "${1:-}" = --quick ]; then
	# A restart of a domain that already ran the scenario: the share is
	# there, a host file reads back, a guest file is written.
	if [ "$(cat e2e/host-prepared.txt)" = "prepared by host" ] &&
		echo "written in guest" >e2e/guest-quick.txt; then
		rc=0
	else
		rc=1
	fi
else
	/guest_checks "$@"
	rc=$?
fi
echo "libvirt-guest: checks exit status $rc"

button=""
for d in /sys/class/input/event*; do
	if [ "$(cat "$d/device/name" 2>/dev/null)" = "Power Button" ]; then
		button=/dev/input/${d##*/}
		break
	fi
done
if [ -z "$button" ] || [ ! -c "$button" ]; then
	echo "libvirt-guest: no ACPI power button input device"
	exit 97
fi

(
	i=0
	while :; do
		i=$((i + 1))
		echo "$i" >e2e/heartbeat.tmp && mv e2e/heartbeat.tmp e2e/heartbeat
		usleep 200000
	done
) &
beat=$!

echo "libvirt-guest: waiting for the ACPI power button on $button"
# One struct input_event (24 bytes on x86_64): the read blocks until the
# button's first event.
dd if="$button" of=/dev/null bs=24 count=1 2>/dev/null
echo "libvirt-guest: power button pressed"
kill "$beat"
wait "$beat" 2>/dev/null
exit "$rc"
