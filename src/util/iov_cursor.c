/* iov_cursor.c: checked reads and writes over scatter lists. */
#include "util/iov_cursor.h"

#include <errno.h>
#include <string.h>

size_t iov_total_length(const struct iovec *iov, unsigned count)
{
	size_t total = 0;
	for (unsigned i = 0; i < count; i++) {
		if (__builtin_add_overflow(total, iov[i].iov_len, &total))
			return SIZE_MAX;
	}
	return total;
}

void iov_cursor_init(struct iov_cursor *cur, const struct iovec *iov, unsigned count)
{
	cur->iov = iov;
	cur->iov_count = count;
	cur->index = 0;
	cur->offset = 0;
	cur->remaining = iov_total_length(iov, count);
}

size_t iov_cursor_remaining(const struct iov_cursor *cur)
{
	return cur->remaining;
}

/* Move forward over len bytes (the caller checked len <= remaining),
 * calling visit on each contiguous piece when visit is non-NULL. */
static void cursor_advance(struct iov_cursor *cur, size_t len,
			   void (*visit)(void *piece, size_t n, void *arg), void *arg)
{
	cur->remaining -= len;
	while (len > 0) {
		const struct iovec *v = &cur->iov[cur->index];
		size_t avail = v->iov_len - cur->offset;
		size_t n = len < avail ? len : avail;
		if (visit && n > 0)
			visit((char *)v->iov_base + cur->offset, n, arg);
		len -= n;
		cur->offset += n;
		if (cur->offset == v->iov_len) {
			cur->index++;
			cur->offset = 0;
		}
	}
}

struct copy_state {
	char *pos;
};

static void copy_out(void *piece, size_t n, void *arg)
{
	struct copy_state *st = arg;
	memcpy(st->pos, piece, n);
	st->pos += n;
}

static void copy_in(void *piece, size_t n, void *arg)
{
	struct copy_state *st = arg;
	memcpy(piece, st->pos, n);
	st->pos += n;
}

static void zero_fill(void *piece, size_t n, void *arg)
{
	memset(piece, 0, n);
}

int iov_cursor_read(struct iov_cursor *cur, void *dst, size_t len)
{
	if (len > cur->remaining)
		return -EINVAL;
	struct copy_state st = { .pos = dst };
	cursor_advance(cur, len, copy_out, &st);
	return 0;
}

int iov_cursor_write(struct iov_cursor *cur, const void *src, size_t len)
{
	if (len > cur->remaining)
		return -ENOSPC;
	struct copy_state st = { .pos = (char *)src };
	cursor_advance(cur, len, copy_in, &st);
	return 0;
}

int iov_cursor_write_zeros(struct iov_cursor *cur, size_t len)
{
	if (len > cur->remaining)
		return -ENOSPC;
	cursor_advance(cur, len, zero_fill, NULL);
	return 0;
}

int iov_cursor_skip(struct iov_cursor *cur, size_t len)
{
	if (len > cur->remaining)
		return -EINVAL;
	cursor_advance(cur, len, NULL, NULL);
	return 0;
}

void iov_cursor_limit(struct iov_cursor *cur, size_t len)
{
	if (len < cur->remaining)
		cur->remaining = len;
}

int iov_cursor_read_string(struct iov_cursor *cur, char *dst, size_t max_len)
{
	struct iov_cursor probe = *cur;
	size_t len = 0;
	for (;;) {
		char c;
		if (len > max_len || iov_cursor_read(&probe, &c, 1) < 0)
			return -EINVAL;
		dst[len] = c;
		if (c == '\0')
			break;
		len++;
	}
	*cur = probe;
	return 0;
}

int iov_cursor_slice(struct iov_cursor *cur, size_t len, struct iovec *out,
		     unsigned max_out)
{
	if (len > cur->remaining)
		return -EINVAL;
	struct iov_cursor probe = *cur;
	unsigned used = 0;
	size_t left = len;
	while (left > 0) {
		const struct iovec *v = &probe.iov[probe.index];
		size_t avail = v->iov_len - probe.offset;
		if (avail == 0) {
			probe.index++;
			probe.offset = 0;
			continue;
		}
		if (used == max_out)
			return -E2BIG;
		size_t n = left < avail ? left : avail;
		out[used].iov_base = (char *)v->iov_base + probe.offset;
		out[used].iov_len = n;
		used++;
		left -= n;
		probe.offset += n;
		probe.remaining -= n;
		if (probe.offset == v->iov_len) {
			probe.index++;
			probe.offset = 0;
		}
	}
	*cur = probe;
	return (int)used;
}
