/*
 * mls_alloc: the library's one allocation seam. Every allocation in shared/mls goes
 * through these functions; a program (or a fuzzer that wants to fail allocations) may
 * install its own hooks once, before any other mls_* call.
 *
 * Freed memory is always wiped first (sodium_memzero), so callers never need to decide
 * whether a buffer held secrets.
 */
#ifndef MLS_ALLOC_H
#define MLS_ALLOC_H

#include <stddef.h>

typedef struct mls_alloc_hooks {
    void *(*alloc)(void *ctx, size_t n);  /* NULL on failure */
    void (*release)(void *ctx, void *p);  /* p never NULL */
    void *ctx;
} mls_alloc_hooks;

/* Installs hooks (NULL restores malloc/free). Not thread-safe: call before other use. */
void mls_alloc_set_hooks(const mls_alloc_hooks *hooks);

/* n bytes, zero-filled; NULL if n == 0 is not requested (returns a unique pointer for
 * n == 0) or on failure. */
void *mls_alloc(size_t n);
/* Like mls_alloc but for count elements of size each; NULL on overflow. */
void *mls_alloc_array(size_t count, size_t size);
/* Grows or shrinks p (allocated with old_n bytes) to new_n; the new tail is zeroed, the
 * old block is wiped before release. On failure returns NULL and p is untouched. */
void *mls_realloc(void *p, size_t old_n, size_t new_n);
/* Wipes n bytes of p and releases it. p may be NULL. */
void mls_free(void *p, size_t n);

#endif
