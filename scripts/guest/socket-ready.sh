# Sourced: socket_ready PATH succeeds once a daemon's UNIX socket at PATH
# accepts connections. The file alone is not enough: QEMU's C virtiofsd
# binds, then listens, and QEMU connecting in between is refused.
# /proc/net/unix lists each socket's bind path with its flags; 0x10000
# (__SO_ACCEPTCON) marks a listening one. Our daemon listens before it
# renames the socket into place, so its final path has no entry.
socket_ready() {
	[ -S "$1" ] || return 1
	# the flag is the low bit of the 4th of the 8 hex digits (mawk has no and())
	! awk -v p="$1" '$8 == p && index("13579bdfBDF", substr($4, 4, 1)) == 0 { found = 1 }
		END { exit !found }' /proc/net/unix
}
