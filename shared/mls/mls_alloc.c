#include "mls_alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

static void *default_alloc(void *ctx, size_t n)
{
    (void)ctx;
    return malloc(n);
}

static void default_release(void *ctx, void *p)
{
    (void)ctx;
    free(p);
}

static mls_alloc_hooks g_hooks = { default_alloc, default_release, NULL };

void mls_alloc_set_hooks(const mls_alloc_hooks *hooks)
{
    if (hooks && hooks->alloc && hooks->release)
        g_hooks = *hooks;
    else {
        g_hooks.alloc = default_alloc;
        g_hooks.release = default_release;
        g_hooks.ctx = NULL;
    }
}

void *mls_alloc(size_t n)
{
    /* n == 0 still gets a unique block of one byte. */
    size_t real = n ? n : 1;
    void *p = g_hooks.alloc(g_hooks.ctx, real);
    if (p)
        memset(p, 0, real);
    return p;
}

void *mls_alloc_array(size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size)
        return NULL;
    return mls_alloc(count * size);
}

void *mls_realloc(void *p, size_t old_n, size_t new_n)
{
    if (!p)
        return mls_alloc(new_n);
    void *q = mls_alloc(new_n);
    if (!q)
        return NULL;
    memcpy(q, p, old_n < new_n ? old_n : new_n);
    mls_free(p, old_n);
    return q;
}

void mls_free(void *p, size_t n)
{
    if (!p)
        return;
    sodium_memzero(p, n);
    g_hooks.release(g_hooks.ctx, p);
}
