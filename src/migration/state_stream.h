/* state_stream.h: the device state of a migrating virtiofsd, as one byte
 * stream (docs/migration.md): the FUSE session, the inodes the guest
 * knows and how to find each again, the open handles, and the POSIX lock
 * owners. Encoding and a strict parser only: nothing here touches a file.
 *
 * The destination receives the stream from the frontend and treats it as
 * hostile: mig_parse() checks the magic, version, section order and
 * lengths, every count against the bytes left and against limits,
 * duplicate node ids and fhs, references to records that do not exist
 * (or come later), names that are not one plain path component, and the
 * checksum, before the caller acts on anything. */
#ifndef VFSD_MIG_STATE_STREAM_H
#define VFSD_MIG_STATE_STREAM_H

#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MIG_MAGIC		"VFSDMIG"	/* 8 bytes with its NUL */
#define MIG_VERSION		1u
/* The largest stream either side handles: 100k inodes take about 4 MiB. */
#define MIG_STREAM_MAX		(256u << 20)
#define MIG_INODES_MAX		(16u << 20)
#define MIG_HANDLES_MAX		(16u << 20)
#define MIG_LOCK_OWNERS_MAX	(1u << 20)
#define MIG_LOCK_RANGES_MAX	4096u
#define MIG_NAME_MAX		255u
#define MIG_REASON_MAX		255u
#define MIG_FH_MAX		128u		/* MAX_HANDLE_SZ */

/* How the destination finds an inode again. */
enum mig_how {
	MIG_HOW_ROOT = 0,	/* record 0 only: the shared directory */
	MIG_HOW_PATH = 1,	/* name under the record `parent` */
	MIG_HOW_HANDLE = 2,	/* a file handle on the shared directory's file system */
	MIG_HOW_LOST = 3,	/* the source found no way: reason says why */
};

/* Record flags: which optional parts follow. */
#define MIG_REC_PATH	0x1u	/* parent + name */
#define MIG_REC_FH	0x2u	/* a file handle (HANDLE: to open; PATH: to verify) */

/* What the passthrough negotiated at INIT (besides the server's flags). */
#define MIG_FS_WRITEBACK	0x01u
#define MIG_FS_DONT_MASK	0x02u
#define MIG_FS_SUBMOUNTS	0x04u
#define MIG_FS_POSIX_LOCK	0x08u
#define MIG_FS_KILLPRIV		0x10u
#define MIG_FS_ALL		0x1fu

struct mig_fh {
	int32_t type;
	uint16_t bytes;		/* 1..MIG_FH_MAX */
	unsigned char data[MIG_FH_MAX];
};

struct mig_inode {
	uint64_t nodeid;	/* 0: an anchor, a directory on the way the guest does not know */
	uint64_t nlookup;
	uint32_t type;		/* S_IFMT bits */
	uint8_t how;
	uint8_t flags;
	uint32_t parent;	/* MIG_REC_PATH: index of an earlier directory record */
	const char *name;	/* MIG_REC_PATH: one component, NUL-terminated */
	struct mig_fh fh;	/* MIG_REC_FH */
	const char *reason;	/* MIG_HOW_LOST */
};

enum mig_handle_kind { MIG_HANDLE_FILE = 0, MIG_HANDLE_DIR = 1 };
/* The open flags a handle may carry (anything else is refused). */
#define MIG_OPEN_FLAGS_ALLOWED \
	(O_ACCMODE | O_APPEND | O_DSYNC | O_SYNC | O_NOATIME | O_DIRECT)

struct mig_handle {
	uint64_t fh;
	uint64_t nodeid;
	uint8_t kind;
	uint32_t flags;		/* host open flags, within MIG_OPEN_FLAGS_ALLOWED */
};

enum mig_lock_type { MIG_LOCK_READ = 0, MIG_LOCK_WRITE = 1 };

struct mig_lock_range {
	uint8_t type;
	uint64_t start;
	uint64_t end;		/* inclusive; INT64_MAX: to the end of the file */
};

struct mig_lock_owner {
	uint64_t nodeid;
	uint64_t owner;
	uint64_t fh;		/* the handle of the owner's last SETLK */
	uint32_t pid;
	uint32_t nranges;
	struct mig_lock_range *ranges;
};

struct mig_session {
	uint32_t state;		/* the FUSE server's: 0 new, 1 running, 2 destroyed */
	uint32_t minor;
	uint64_t flags;		/* the INIT flags agreed */
	uint32_t max_write;
	uint32_t fs_flags;	/* MIG_FS_* */
	uint64_t next_nodeid;	/* ids never handed out yet start here */
	uint64_t next_fh;
};

struct mig_state {
	struct mig_session session;
	size_t ninodes;
	struct mig_inode *inodes;
	size_t nhandles;
	struct mig_handle *handles;
	size_t nlocks;
	struct mig_lock_owner *locks;
	/* parser-owned storage */
	char *names;
	struct mig_lock_range *ranges;
};

/* ---- writing ---- */

struct mig_buf {
	unsigned char *data;
	size_t len, cap;
	int err;		/* sticky: -ENOMEM, -E2BIG */
};

void mig_buf_init(struct mig_buf *b);
void mig_buf_free(struct mig_buf *b);

/* Encode a whole state (the source builds a mig_state and calls this).
 * 0, or -E2BIG past MIG_STREAM_MAX, -ENOMEM, -EINVAL for a state the
 * parser would refuse (a bug on the source). */
int mig_encode(const struct mig_state *st, struct mig_buf *out);
/* The same without the check: tests build hostile streams with it. */
int mig_encode_unchecked(const struct mig_state *st, struct mig_buf *out);

/* ---- reading ---- */

/* Parse len bytes into st (pointers into st's own storage). 0, or
 * -EINVAL / -EPROTO / -E2BIG with *why set to a static reason. The
 * caller frees st with mig_state_free() in every case. */
int mig_parse(const void *data, size_t len, struct mig_state *st, const char **why);
void mig_state_free(struct mig_state *st);

/* CRC-32C of len bytes, continuing crc (start at 0). */
uint32_t mig_crc32c(uint32_t crc, const void *data, size_t len);

/* Whether name is one plain component: 1..MIG_NAME_MAX bytes, no '/',
 * not "." or "..". */
bool mig_name_ok(const char *name, size_t len);

#endif
