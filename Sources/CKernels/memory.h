// Small OS and CPU helpers. memfd_create for `CopyOnWriteFloats` (glibc declares it only under
// _GNU_SOURCE, which Swift's Glibc module does not set): an anonymous file whose pages several
// mappings can share.
#pragma once
#include <sys/syscall.h>
#include <unistd.h>

static inline int a2ats_memfd_create(const char *name) {
#ifdef SYS_memfd_create
    return (int)syscall(SYS_memfd_create, name, 0u);
#else
    return -1;
#endif
}

// One `pause` for the spin loops of `Parallel`'s helper threads (x86 only; elsewhere nothing).
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
static inline void a2ats_spin_pause(void) { _mm_pause(); }
#else
static inline void a2ats_spin_pause(void) {}
#endif
