/* process_fence.h: a full memory barrier between our accesses to a ring
 * and those of the other side, which runs in another process (the guest
 * for the daemon, the daemon for our user-space driver). ThreadSanitizer
 * cannot see that process, and gcc warns (-Wtsan) that it does not model
 * fences: the warning is silenced for this one statement only, so a fence
 * added anywhere else still fails a TSan build. Between our own threads a
 * ring is ordered by its lock, which TSan does see. */
#ifndef VFSD_PROCESS_FENCE_H
#define VFSD_PROCESS_FENCE_H

static inline void process_fence(void)
{
#if defined(__SANITIZE_THREAD__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wtsan"
#endif
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
#if defined(__SANITIZE_THREAD__)
#pragma GCC diagnostic pop
#endif
}

#endif
