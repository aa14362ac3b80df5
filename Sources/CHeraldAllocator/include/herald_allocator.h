#ifndef HERALD_ALLOCATOR_H
#define HERALD_ALLOCATOR_H

#include <stddef.h>

/// The allocator's name and version, e.g. "jemalloc 5.3.0-0-g54eaed1".
const char *herald_allocator_version(void);

/// Bytes the application holds and bytes the allocator keeps resident; 0 on success.
int herald_allocator_statistics(size_t *allocated, size_t *resident);

#endif
