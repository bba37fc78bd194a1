#include <cblas.h>

/* A software prefetch hint, which Swift has no spelling for. Sparse attention reads scattered
   K/V rows; asking for the next rows early hides the memory latency the hardware prefetcher
   cannot predict. */
static inline void a2ats_prefetch(const void *address) { __builtin_prefetch(address, 0, 3); }
