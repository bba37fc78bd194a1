// memfd_create for `CopyOnWriteFloats` (glibc declares it only under _GNU_SOURCE, which Swift's
// Glibc module does not set): an anonymous file whose pages several mappings can share.
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
