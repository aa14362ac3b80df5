// Herald runs on jemalloc instead of glibc's malloc. A presence server allocates its long-lived
// state (subscriptions) in between short-lived objects (transactions held 32 s by Timer J,
// NOTIFYs); glibc's heap then keeps every page that still holds one long-lived object, and a
// burst of 4,000 SUBSCRIBEs/s left twice the memory the subscriptions need (BENCHMARKS.md).
// jemalloc's size-segregated slabs and decay-based purging return that memory.
#include <jemalloc/jemalloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "herald_allocator.h"

// Read by jemalloc at startup: purge unused dirty pages from a background thread within
// seconds, so resident memory follows what the server holds even when it is idle.
const char *malloc_conf = "background_thread:true,dirty_decay_ms:5000,muzzy_decay_ms:0";

const char *herald_allocator_version(void) {
    static char text[96];
    const char *version = NULL;
    size_t size = sizeof(version);
    if (mallctl("version", &version, &size, NULL, 0) != 0 || version == NULL) {
        return "unknown";
    }
    snprintf(text, sizeof(text), "jemalloc %s", version);
    return text;
}

int herald_allocator_statistics(size_t *allocated, size_t *resident) {
    // Statistics are cached until the epoch advances.
    uint64_t epoch = 1;
    size_t size = sizeof(epoch);
    if (mallctl("epoch", &epoch, &size, &epoch, size) != 0) {
        return -1;
    }
    size = sizeof(size_t);
    if (mallctl("stats.allocated", allocated, &size, NULL, 0) != 0) {
        return -1;
    }
    size = sizeof(size_t);
    if (mallctl("stats.resident", resident, &size, NULL, 0) != 0) {
        return -1;
    }
    return 0;
}
