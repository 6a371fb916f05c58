#!/usr/bin/env python3
"""gen_corpus.py: write the seed corpus of the libFuzzer targets.

    tests/fuzz/gen_corpus.py [OUTDIR]   (default: tests/fuzz/corpus)

Each seed is a small valid input in the format the target's header comment
describes. The generated files are committed; rerun after changing a format.
"""
import os
import struct
import sys

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus")


def write(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- fuzz_vhost_user_msg ----------------------------------------------------
GET_FEATURES, SET_FEATURES, SET_OWNER, RESET_OWNER, SET_MEM_TABLE = 1, 2, 3, 4, 5
SET_VRING_NUM, SET_VRING_ADDR, SET_VRING_BASE, GET_VRING_BASE = 8, 9, 10, 11
SET_VRING_KICK, SET_VRING_CALL, SET_VRING_ERR = 12, 13, 14
GET_PROTOCOL_FEATURES, SET_PROTOCOL_FEATURES, GET_QUEUE_NUM, SET_VRING_ENABLE = 15, 16, 17, 18
SET_BACKEND_REQ_FD, GET_CONFIG, RESET_DEVICE, GET_MAX_MEM_SLOTS = 21, 24, 34, 36
ADD_MEM_REG, REM_MEM_REG = 37, 38
GET_SHMEM_CONFIG = 44
PF_BACKEND_SEND_FD, PF_SHMEM = 1 << 10, 1 << 20
FEATURES = (1 << 32) | (1 << 28) | (1 << 29) | (1 << 30)
PROTO = 1 | 8 | 32 | (1 << 13) | (1 << 15)
NEED_REPLY = 1 << 3
FD_ZERO_MEMFD, FD_CONTENT_MEMFD, FD_EVENTFD, FD_PIPE = 0, 1, 2, 3
UVA = 0x7f0000000000


def vmsg(req, payload=b"", nfds=0, kind=FD_EVENTFD, flags=1):
    control = (nfds & 0xF) | (kind << 4)
    return bytes([control]) + struct.pack("<III", req, flags, len(payload)) + payload


def u64(v):
    return struct.pack("<Q", v)


def state(i, n):
    return struct.pack("<II", i, n)


def region(gpa, size, uva, off):
    return struct.pack("<QQQQ", gpa, size, uva, off)


def negotiate():
    return (vmsg(GET_FEATURES) + vmsg(GET_PROTOCOL_FEATURES) + vmsg(SET_FEATURES, u64(FEATURES)) +
            vmsg(SET_PROTOCOL_FEATURES, u64(PROTO)) + vmsg(SET_OWNER) + vmsg(GET_QUEUE_NUM) +
            vmsg(GET_MAX_MEM_SLOTS))


def ring_image(size, desc, avail, used, chains):
    """Guest RAM bytes (4 KiB) with a desc table, avail ring holding chains."""
    ram = bytearray(4096)
    for i, (addr, ln, fl, nxt) in enumerate(chains["descs"]):
        struct.pack_into("<QIHH", ram, desc + 16 * i, addr, ln, fl, nxt)
    heads = chains["heads"]
    struct.pack_into("<HH", ram, avail, 0, len(heads))
    for i, h in enumerate(heads):
        struct.pack_into("<H", ram, avail + 4 + 2 * i, h)
    for k, table in chains.get("indirect", {}).items():
        for i, (addr, ln, fl, nxt) in enumerate(table):
            struct.pack_into("<QIHH", ram, k + 16 * i, addr, ln, fl, nxt)
    return bytes(ram)


NEXT, WRITE, INDIRECT = 1, 2, 4
CHAINS = {
    "descs": [(0x400, 64, NEXT, 1), (0xF80, 0x100, WRITE, 0), (0xC00, 48, INDIRECT, 0),
              (0x500, 16, 0, 0)],
    "heads": [0, 2, 3],
    "indirect": {0xC00: [(0x600, 40, NEXT, 1), (0x700, 16, NEXT | WRITE, 2),
                         (0x800, 32, WRITE, 0)]},
}


def gen_vhost_user():
    t = "fuzz_vhost_user_msg"
    write(t, "negotiate", negotiate())
    # the DAX flavours' negotiation: SHMEM and BACKEND_SEND_FD, the shared
    # memory regions, the backend channel; then GET_SHMEM_CONFIG unasked-for
    write(t, "shmem", vmsg(GET_PROTOCOL_FEATURES) +
          vmsg(SET_PROTOCOL_FEATURES, u64(PROTO | PF_SHMEM | PF_BACKEND_SEND_FD)) +
          vmsg(GET_SHMEM_CONFIG) + vmsg(SET_BACKEND_REQ_FD, nfds=1, kind=FD_PIPE) +
          vmsg(GET_SHMEM_CONFIG, u64(0), flags=1 | NEED_REPLY) +
          vmsg(SET_PROTOCOL_FEATURES, u64(PROTO)) + vmsg(GET_SHMEM_CONFIG))
    # A queue set up and kicked: the memory table's memfd holds the input that
    # follows its message, so the ring image sits at a known offset after the
    # remaining messages (RING_BASE, padded).
    tail = (vmsg(SET_VRING_NUM, state(0, 16)) +
            vmsg(SET_VRING_ADDR, struct.pack("<IIQQQQ", 0, 0, UVA + 0x2000, UVA + 0x2200,
                                             UVA + 0x2100, 0)) +
            vmsg(SET_VRING_BASE, state(0, 0)) +
            vmsg(SET_VRING_CALL, u64(0), nfds=1, kind=FD_EVENTFD) +
            vmsg(SET_VRING_ERR, u64(0 | 0x100)) +
            vmsg(SET_VRING_ENABLE, state(0, 1)) +
            vmsg(SET_VRING_KICK, u64(0), nfds=1, kind=FD_EVENTFD) +
            vmsg(GET_VRING_BASE, state(0, 0)))
    # RAM = the input after SET_MEM_TABLE, at memfd offset 0; place the rings
    # at 0x2000 of it by padding with a harmless message carrying junk.
    pad_needed = 0x2000 - len(tail) - 13
    filler = vmsg(GET_CONFIG, b"\0" * pad_needed, flags=1)  # refused, payload skipped
    ram = ring_image(16, 0, 0x100, 0x200, {
        "descs": [(0x2400 + a - 0x400 if a else 0, l, f, n) for a, l, f, n in CHAINS["descs"]],
        "heads": CHAINS["heads"],
        "indirect": {0xC00: CHAINS["indirect"][0xC00]},
    })
    memtab = vmsg(SET_MEM_TABLE, struct.pack("<II", 1, 0) + region(0, 0x4000, UVA, 0),
                  nfds=1, kind=FD_CONTENT_MEMFD)
    write(t, "queue-start", negotiate() + memtab + tail + filler + ram[:0x400])
    # Memory slots added and removed, with REPLY_ACK.
    write(t, "mem-slots", negotiate() +
          vmsg(ADD_MEM_REG, u64(0) + region(0, 0x4000, UVA, 0), nfds=1, kind=FD_ZERO_MEMFD,
               flags=1 | NEED_REPLY) +
          vmsg(ADD_MEM_REG, u64(0) + region(0x4000, 0x2000, UVA + 0x4000, 0x2000), nfds=1,
               kind=FD_ZERO_MEMFD, flags=1 | NEED_REPLY) +
          vmsg(REM_MEM_REG, u64(0) + region(0, 0x4000, UVA, 0), flags=1 | NEED_REPLY) +
          vmsg(GET_MAX_MEM_SLOTS))
    # Reset paths and a backend fd.
    write(t, "reset", negotiate() + vmsg(SET_BACKEND_REQ_FD, nfds=1, kind=FD_PIPE) +
          vmsg(SET_VRING_NUM, state(1, 256)) + vmsg(RESET_DEVICE) + vmsg(RESET_OWNER) +
          vmsg(GET_VRING_BASE, state(1, 0)))
    # Refused messages: wrong fd counts, too many fds, bad sizes, unknown type.
    write(t, "refused", vmsg(SET_FEATURES, u64(FEATURES), nfds=2) +
          vmsg(SET_MEM_TABLE, struct.pack("<II", 2, 0) + region(0, 0x1000, UVA, 0), nfds=1,
               kind=FD_ZERO_MEMFD) +
          vmsg(SET_VRING_KICK, u64(0), nfds=10) + vmsg(99, u64(1)) +
          vmsg(SET_VRING_NUM, state(0, 3)) + vmsg(GET_FEATURES, flags=5))


# ---- fuzz_virtqueue ---------------------------------------------------------
def vq_seed(log2size, flags, start, desc, avail, used, seed, ram0, ram1=b""):
    return struct.pack("<BBHHHHH", log2size, flags, start, desc, avail, used, seed) + \
        ram0.ljust(4096, b"\0")[:4096] + ram1


def gen_virtqueue():
    t = "fuzz_virtqueue"
    ram = ring_image(16, 0, 0x100, 0x200, CHAINS)
    write(t, "basic", vq_seed(4, 0, 0, 0, 0x100, 0x200, 7, ram))
    write(t, "event-idx-push-now", vq_seed(4, 1 | 2 | 4, 0, 0, 0x100, 0x200, 1, ram))
    write(t, "reverse-notify", vq_seed(4, 4 | 8 | 16, 0, 0, 0x100, 0x200, 3, ram))
    # rings in the second region, buffers straddling the boundary
    ram1 = ring_image(16, 0, 0x100, 0x200, {
        "descs": [(0xF00, 0x200, NEXT, 1), (0x1100, 0x20, WRITE, 0)], "heads": [0]})
    write(t, "second-region", vq_seed(4, 2, 0, 0x1000, 0x1100, 0x1200, 0, b"", ram1))
    # a wrapped index and a loop
    loop = ring_image(8, 0, 0x100, 0x200, {
        "descs": [(0x400, 8, NEXT, 1), (0x400, 8, NEXT, 0)], "heads": [0]})
    write(t, "loop", vq_seed(3, 0, 0, 0, 0x100, 0x200, 0, loop))

# ---- fuzz_virtqueue_packed -------------------------------------------------
P_AVAIL, P_USED = 1 << 7, 1 << 15


def packed_image(size, ring, chains, wrap=1, start=0, tables=None, ram_len=4096):
    """RAM with a packed descriptor ring at `ring`: chains is a list of
    lists of (addr, len, flags) made available from position `start` with
    the driver wrap counter `wrap`; each chain's id is its index."""
    ram = bytearray(ram_len)
    pos, w = start, wrap
    for cid, chain in enumerate(chains):
        for addr, ln, fl in chain:
            bits = P_AVAIL if w else P_USED
            struct.pack_into("<QIHH", ram, ring + 16 * pos, addr, ln, cid, fl | bits)
            pos += 1
            if pos == size:
                pos, w = 0, w ^ 1
    for base, table in (tables or {}).items():
        for i, (addr, ln, fl) in enumerate(table):
            struct.pack_into("<QIHH", ram, base + 16 * i, addr, ln, 0, fl)
    return bytes(ram)


def vqp_seed(log2size, flags, base, ring, drv, dev, seed, ram0, ram1=b""):
    return struct.pack("<BBIHHHH", log2size, flags, base, ring, drv, dev, seed) + \
        ram0.ljust(4096, b"\0")[:4096] + ram1


PCHAINS = [
    [(0x400, 64, NEXT), (0xF80, 0x100, WRITE)],
    [(0xC00, 48, INDIRECT)],
    [(0x500, 16, 0)],
    [(0x600, 8, NEXT), (0x608, 8, NEXT), (0x700, 32, WRITE)],
]
PTABLES = {0xC00: [(0x600, 40, 0), (0x700, 16, WRITE), (0x800, 32, WRITE)]}


def gen_virtqueue_packed():
    t = "fuzz_virtqueue_packed"
    ram = packed_image(16, 0, PCHAINS, tables=PTABLES)
    write(t, "basic", vqp_seed(4, 0, 0, 0, 0x100, 0x104, 7, ram))
    write(t, "event-idx-push-now", vqp_seed(4, 1 | 2 | 4, 0, 0, 0x100, 0x104, 1, ram))
    write(t, "reverse-notify", vqp_seed(4, 1 | 4 | 8 | 16, 0, 0, 0x100, 0x104, 3, ram))
    # a restart in the second lap, chains wrapping around the end of the ring
    wrapped = packed_image(8, 0, PCHAINS, wrap=0, start=6, tables=PTABLES)
    write(t, "wrapped-base", vqp_seed(3, 1 | 32, 0x00060006, 0, 0x100, 0x104, 5, wrapped))
    # rings in the second region, buffers straddling the boundary
    ram1 = packed_image(16, 0, [[(0xF00, 0x200, NEXT), (0x1100, 0x20, WRITE)]])
    write(t, "second-region", vqp_seed(4, 2, 0, 0x1000, 0x1100, 0x1104, 0, b"", ram1))
    # no end: NEXT on every descriptor
    loop = packed_image(8, 0, [[(0x400, 8, NEXT)] * 8])
    write(t, "no-end", vqp_seed(3, 1, 0, 0, 0x100, 0x104, 0, loop))

# ---- fuzz_fuse_server -------------------------------------------------------
(LOOKUP, FORGET, GETATTR, SETATTR, READLINK, SYMLINK, MKNOD, MKDIR, UNLINK, RMDIR, RENAME,
 LINK, OPEN, READ, WRITE, STATFS, RELEASE, FSYNC, SETXATTR, GETXATTR, LISTXATTR,
 REMOVEXATTR, FLUSH, INIT, OPENDIR, READDIR, RELEASEDIR, FSYNCDIR, GETLK, SETLK, SETLKW,
 ACCESS, CREATE, INTERRUPT, DESTROY, BATCH_FORGET, FALLOCATE, READDIRPLUS, RENAME2, LSEEK,
 COPY_FILE_RANGE, SYNCFS, TMPFILE) = (
    1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 20, 21, 22, 23, 24, 25, 26, 27,
    28, 29, 30, 31, 32, 33, 34, 35, 36, 38, 42, 43, 44, 45, 46, 47, 50, 51)
SETUPMAPPING, REMOVEMAPPING = 48, 49
ROOT = 1
O_RDONLY, O_WRONLY, O_RDWR, O_CREAT, O_TRUNC, O_APPEND = 0, 1, 2, 0o100, 0o1000, 0o2000
S_IFREG, S_IFIFO = 0o100000, 0o10000


class Fuse:
    def __init__(self, cfg=0x04, minor=0):
        self.data = bytes([cfg, minor])
        self.unique = 100

    def req(self, opcode, nodeid, body=b"", out=8192, control=0x30, in_splits=(),
            out_splits=(), uid=0):
        """in_splits / out_splits: up to 2 cut points, or ("many", seed) for
        70 pieces cut at points drawn from seed."""
        self.unique += 1
        hdr = struct.pack("<IIQQIIIHH", 40 + len(body), opcode, self.unique, nodeid, uid, uid,
                          1234, 0, 0)
        r = hdr + body
        def code(splits):
            return 3 if splits and splits[0] == "many" else len(splits)

        def cuts(splits):
            return splits[1:] if splits and splits[0] == "many" else splits
        control |= code(in_splits) | (code(out_splits) << 2)
        self.data += struct.pack("<BHH", control, out, len(r))
        for x in cuts(in_splits):
            self.data += struct.pack("<H", x)
        for x in cuts(out_splits):
            self.data += struct.pack("<H", x)
        self.data += r
        return self


def name(s):
    return s.encode() + b"\0"


def read_in(fh, off, size, flags=0):
    return struct.pack("<QQIIQII", fh, off, size, 0, 0, flags, 0)


def write_in(fh, off, data):
    return struct.pack("<QQIIQII", fh, off, len(data), 0, 0, 0, 0) + data


def lk_in(fh, owner, start, end, typ, flags=0):
    return struct.pack("<QQQQIIII", fh, owner, start, end, typ, 1234, flags, 0)


def setattr_in(valid, fh=0, size=0, mode=0, uid=0, gid=0):
    return struct.pack("<IIQQQQQQIIIIIIII", valid, 0, fh, size, 0, 1, 2, 3, 0, 0, 0, mode, 0,
                       uid, gid, 0)


F_RDLCK, F_WRLCK, F_UNLCK = 0, 1, 2


def gen_fuse():
    t = "fuzz_fuse_server"
    # file I/O on an existing file: LOOKUP -> nodeid 2, OPEN -> fh 1
    f = Fuse(cfg=0x04)
    (f.req(LOOKUP, ROOT, name("file1")).req(GETATTR, 2, struct.pack("<IIQ", 0, 0, 0))
     .req(OPEN, 2, struct.pack("<II", O_RDWR, 0)).req(READ, 2, read_in(1, 0, 4096))
     .req(WRITE, 2, write_in(1, 6, b"fuzzer")).req(LSEEK, 2, struct.pack("<QQII", 1, 0, 3, 0))
     .req(FLUSH, 2, struct.pack("<QIIQ", 1, 0, 0, 0)).req(FSYNC, 2, struct.pack("<QII", 1, 1, 0))
     .req(FALLOCATE, 2, struct.pack("<QQQII", 1, 0, 8192, 0, 0))
     .req(SETATTR, 2, setattr_in(1 | 8, fh=1, size=100, mode=0o600))
     .req(RELEASE, 2, struct.pack("<QIIQ", 1, O_RDWR, 0, 0)).req(STATFS, ROOT)
     .req(ACCESS, 2, struct.pack("<II", 4, 0)).req(FORGET, 2, struct.pack("<Q", 1)))
    write(t, "file-io", f.data)
    # namespace operations
    f = Fuse(cfg=0x04 | 0x20)
    (f.req(MKDIR, ROOT, struct.pack("<II", 0o755, 0o22) + name("d"))           # 2
     .req(CREATE, 2, struct.pack("<IIII", O_RDWR | O_CREAT, S_IFREG | 0o644, 0o22, 0) +
          name("f"))                                                                # 3, fh 1
     .req(WRITE, 3, write_in(1, 0, b"x" * 100)).req(RELEASE, 3, struct.pack("<QIIQ", 1, 2, 0, 0))
     .req(SYMLINK, 2, name("sl") + name("f"))                                       # 4
     .req(READLINK, 4).req(LINK, 2, struct.pack("<Q", 3) + name("hard"))
     .req(MKNOD, 2, struct.pack("<IIII", S_IFIFO | 0o644, 0, 0o22, 0) + name("p"))  # 5
     .req(RENAME, 2, struct.pack("<Q", ROOT) + name("hard") + name("moved"))
     .req(RENAME2, ROOT, struct.pack("<QII", 2, 1, 0) + name("moved") + name("back"))
     .req(UNLINK, 2, name("f")).req(UNLINK, 2, name("sl")).req(UNLINK, 2, name("p"))
     .req(UNLINK, ROOT, name("moved")).req(RMDIR, ROOT, name("d"))
     .req(TMPFILE, ROOT, struct.pack("<IIII", O_RDWR, S_IFREG | 0o600, 0o22, 0))
     .req(BATCH_FORGET, ROOT, struct.pack("<II", 2, 0) + struct.pack("<QQ", 2, 1) +
          struct.pack("<QQ", 3, 2)))
    write(t, "namespace", f.data)
    # directories, and names that try to leave the shared directory
    f = Fuse(cfg=0x04, minor=1)
    (f.req(OPENDIR, ROOT, struct.pack("<II", 0, 0)).req(READDIR, ROOT, read_in(1, 0, 4096))
     .req(READDIRPLUS, ROOT, read_in(1, 0, 4096)).req(READDIR, ROOT, read_in(1, 3, 200))
     .req(FSYNCDIR, ROOT, struct.pack("<QII", 1, 0, 0))
     .req(RELEASEDIR, ROOT, struct.pack("<QIIQ", 1, 0, 0, 0))
     .req(LOOKUP, ROOT, name("..")).req(LOOKUP, ROOT, name("escape_abs"))        # 2
     .req(READLINK, 2).req(OPEN, 2, struct.pack("<II", O_RDWR, 0))
     .req(LOOKUP, ROOT, name("escape_dir")).req(LOOKUP, ROOT, name("dir1"))
     .req(LOOKUP, 4, name("up")).req(LOOKUP, 4, name(".."))
     .req(CREATE, 4, struct.pack("<IIII", O_RDWR | O_CREAT, S_IFREG | 0o644, 0, 0) +
          name("../evil"))
     .req(LOOKUP, ROOT, name("fifo")).req(OPEN, 6, struct.pack("<II", O_RDONLY, 0))
     .req(SETATTR, 2, setattr_in(1, mode=0o777)))
    write(t, "dirs-escape", f.data)
    # xattrs and locks
    f = Fuse(cfg=0x04 | 0x08)
    (f.req(LOOKUP, ROOT, name("file1")).req(OPEN, 2, struct.pack("<II", O_RDWR, 0))
     .req(SETXATTR, 2, struct.pack("<IIII", 5, 0, 0, 0) + name("user.fuzz") + b"value")
     .req(GETXATTR, 2, struct.pack("<II", 0, 0) + name("user.fuzz"))
     .req(GETXATTR, 2, struct.pack("<II", 64, 0) + name("user.fuzz"))
     .req(LISTXATTR, 2, struct.pack("<II", 64, 0)).req(LISTXATTR, 2, struct.pack("<II", 0, 0))
     .req(REMOVEXATTR, 2, name("user.fuzz"))
     .req(SETXATTR, 2, struct.pack("<IIII", 4, 0, 0, 0) + name("trusted.x") + b"abcd")
     .req(GETLK, 2, lk_in(1, 7, 0, 100, F_WRLCK)).req(SETLK, 2, lk_in(1, 7, 0, 100, F_WRLCK))
     .req(SETLKW, 2, lk_in(1, 8, 0, 100, F_RDLCK)).req(SETLK, 2, lk_in(1, 7, 0, 0, F_UNLCK, 1))
     .req(SETLK, 2, lk_in(1, 7, 0, 100, F_UNLCK))
     .req(COPY_FILE_RANGE, 2, struct.pack("<QQQQQQQ", 1, 0, 2, 1, 4096, 12, 0))
     .req(INTERRUPT, ROOT, struct.pack("<Q", 5)).req(SYNCFS, ROOT, struct.pack("<Q", 0))
     .req(DESTROY, ROOT).req(GETATTR, ROOT, struct.pack("<IIQ", 0, 0, 0))
     .req(INIT, 0, struct.pack("<IIIIII", 7, 38, 65536, 0xffffffff, 0xffffffff, 0) +
          b"\0" * 40))
    write(t, "xattr-locks", f.data)
    # xattrs through the symlinks that point out of the shared directory
    f = Fuse(cfg=0x04)
    (f.req(LOOKUP, ROOT, name("escape_abs")).req(LOOKUP, ROOT, name("escape_rel"))
     .req(SETXATTR, 2, struct.pack("<IIII", 4, 0, 0, 0) + name("user.evil") + b"evil")
     .req(SETXATTR, 3, struct.pack("<IIII", 4, 0, 0, 0) + name("trusted.evil") + b"evil")
     .req(SETXATTR, 2, struct.pack("<IIII", 4, 0, 0, 0) + name("security.evil") + b"evil")
     .req(GETXATTR, 2, struct.pack("<II", 64, 0) + name("user.evil"))
     .req(LISTXATTR, 3, struct.pack("<II", 256, 0)).req(REMOVEXATTR, 2, name("user.evil"))
     .req(SETATTR, 2, setattr_in(2 | 4, uid=1000, gid=1000))
     .req(SETATTR, 3, setattr_in(16 | 32, fh=0)))
    write(t, "xattr-symlink-escape", f.data)
    # scatter lists: requests and replies in pieces, short reply spaces, bad lengths
    f = Fuse(cfg=0x04, minor=2)
    (f.req(LOOKUP, ROOT, name("dir1"), in_splits=(3, 41), out_splits=(7, 100))
     .req(LOOKUP, 2, name("file2"), out=150, out_splits=(16,))
     .req(OPEN, 3, struct.pack("<II", O_RDONLY, 0), in_splits=(40,))
     .req(READ, 3, read_in(1, 100, 8192), out=3000, out_splits=("many", 77))
     .req(WRITE, 3, write_in(1, 0, b"y" * 3000), in_splits=("many", 5), out_splits=(16,))
     .req(READDIR, ROOT, read_in(1, 0, 4096), out=40)
     .req(GETATTR, ROOT, b"", control=0x20).req(STATFS, ROOT, out=16).req(STATFS, ROOT, out=15)
     .req(LOOKUP, ROOT, name("x" * 300)).req(LOOKUP, ROOT, b"a/b\0")
     .req(999, ROOT))
    write(t, "pieces", f.data)
    # DAX: SETUPMAPPING / REMOVEMAPPING against the fake 8 MiB window
    # (fh, foffset, len, flags 1 write 2 read, moffset; count + entries)
    def setup(fh, foff, length, flags, moff):
        return struct.pack("<QQQQQ", fh, foff, length, flags, moff)

    def remove(*ranges):
        return struct.pack("<I", len(ranges)) + b"".join(
            struct.pack("<QQ", off, length) for off, length in ranges)
    f = Fuse(cfg=0x04)
    (f.req(LOOKUP, ROOT, name("file1")).req(OPEN, 2, struct.pack("<II", O_RDWR, 0))   # fh 1
     .req(OPEN, 2, struct.pack("<II", O_RDONLY, 0))                                    # fh 2
     .req(SETUPMAPPING, 2, setup(1, 0, 8192, 2, 0))
     .req(SETUPMAPPING, 2, setup(1, 0, 8192, 3, 0))            # the same range, writable
     .req(SETUPMAPPING, 2, setup(1, 0, 8192, 2, 4096))         # overlaps
     .req(SETUPMAPPING, 2, setup(2, 0, 4096, 3, 65536))        # read-only handle, writable
     .req(SETUPMAPPING, 2, setup(1, 0, 4096, 2, 8 << 20))      # beyond the window
     .req(SETUPMAPPING, 2, setup(1, 1 << 20, 4096, 2, 65536))  # past EOF
     .req(SETUPMAPPING, 2, setup(2, 0, 2 << 20, 2, 2 << 20))
     .req(REMOVEMAPPING, 2, remove((0, 8192), (1 << 20, 4096)))  # one never mapped
     .req(REMOVEMAPPING, 2, remove((2 << 20, 2 << 20)))
     .req(REMOVEMAPPING, 2, struct.pack("<I", 3) + struct.pack("<QQ", 0, 4096))  # count lies
     .req(OPENDIR, ROOT, struct.pack("<II", 0, 0))
     .req(SETUPMAPPING, ROOT, setup(1, 0, 4096, 2, 0)))
    write(t, "dax", f.data)


if __name__ == "__main__":
    gen_vhost_user()
    gen_virtqueue()
    gen_virtqueue_packed()
    gen_fuse()
