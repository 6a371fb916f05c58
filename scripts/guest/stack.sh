#!/usr/bin/env bash
# stack.sh: sourced by the guest test runners (tests/e2e/run-e2e.sh,
# run-workloads.sh, run-conformance.sh) to pick a test stack and the Rust
# virtiofsd. Not a command.
#
#   stack_select STACK   7.2: the system's qemu-system-x86_64 (QEMU 7.2)
#                             and Debian 12's 6.1 kernel (fetch-kernel.sh);
#                             the default, what every runner used before
#                        10:  QEMU 10 and a 6.12 kernel from
#                             bookworm-backports (fetch-stack.sh)
#                        Sets stack_kernel (a vmlinuz with its modules in
#                        ../lib/modules/) and stack_qemu (what run-guest.sh
#                        --qemu takes). Fetches on first use; returns
#                        non-zero (with a message on stderr) on failure.
#   stack_rust_virtiofsd Prints the path of the Rust virtiofsd wrapper
#                        (fetch-stack.sh --virtiofsd).
#   stack_check STACK    Returns non-zero for anything but 7.2 or 10.

stack_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

stack_check() {
	case "$1" in 7.2 | 10) return 0 ;; *) return 1 ;; esac
}

# shellcheck disable=SC2034 # stack_kernel and stack_qemu are for the caller
stack_select() {
	stack_kernel="" stack_qemu=""
	case "$1" in
	7.2)
		stack_kernel=$("$stack_dir/fetch-kernel.sh") || return 1
		stack_qemu=qemu-system-x86_64
		;;
	10)
		stack_kernel=$("$stack_dir/fetch-stack.sh" --kernel) || return 1
		stack_qemu=$("$stack_dir/fetch-stack.sh" --qemu) || return 1
		;;
	*)
		echo "stack: unknown stack '$1' (7.2 or 10)" >&2
		return 1
		;;
	esac
}

stack_rust_virtiofsd() {
	"$stack_dir/fetch-stack.sh" --virtiofsd
}
