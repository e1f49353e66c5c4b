#include "relay_rxpool.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static struct {
    uint8_t *base;
    size_t slot;      /* bytes per slot, whole pages */
    uint32_t slots;   /* capacity */
    uint32_t fresh;   /* slots [fresh, slots) were never handed out */
    uint32_t *freed;  /* stack of freed slot numbers */
    uint32_t n_freed;
    uint32_t in_use;
} P;

int relay_rxpool_init(size_t slot_bytes, uint32_t slots)
{
    long pg = sysconf(_SC_PAGESIZE);
    size_t page = pg > 0 ? (size_t)pg : 4096;
    size_t slot = (slot_bytes + page - 1) / page * page;

    if (P.base || !slots || !slot || slot > SIZE_MAX / slots)
        return -1;
    P.freed = malloc(sizeof *P.freed * slots);
    if (!P.freed)
        return -1;
    void *m = mmap(NULL, slot * slots, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED) {
        free(P.freed);
        P.freed = NULL;
        return -1;
    }
    P.base = m;
    P.slot = slot;
    P.slots = slots;
    P.fresh = 0;
    P.n_freed = 0;
    P.in_use = 0;
    return 0;
}

void relay_rxpool_fini(void)
{
    if (P.base)
        munmap(P.base, P.slot * P.slots);
    free(P.freed);
    memset(&P, 0, sizeof P);
}

void *relay_rxpool_alloc(size_t size)
{
    uint32_t i;

    if (!P.base || size > P.slot)
        return NULL;
    if (P.n_freed)
        i = P.freed[--P.n_freed];
    else if (P.fresh < P.slots)
        i = P.fresh++;
    else
        return NULL;
    P.in_use++;
    return P.base + (size_t)i * P.slot;
}

int relay_rxpool_owns(const void *p)
{
    const uint8_t *b = p;

    return P.base && b >= P.base && b < P.base + P.slot * P.slots;
}

void relay_rxpool_free(void *p)
{
    size_t off = (size_t)((uint8_t *)p - P.base);

    /* the next owner may never touch these pages: do not keep them resident */
    madvise(p, P.slot, MADV_DONTNEED);
    P.freed[P.n_freed++] = (uint32_t)(off / P.slot);
    P.in_use--;
}

uint32_t relay_rxpool_in_use(void)
{
    return P.in_use;
}

void *relay_rxpool_lws_realloc(void *ptr, size_t size, const char *reason)
{
    if (ptr && relay_rxpool_owns(ptr)) {
        if (!size) {
            relay_rxpool_free(ptr);
            return NULL;
        }
        if (size <= P.slot)
            return ptr;
        void *q = malloc(size); /* lws does not grow rx_ubuf; handled all the same */
        if (!q)
            return NULL;
        memcpy(q, ptr, P.slot);
        relay_rxpool_free(ptr);
        return q;
    }
    if (!ptr && size && reason && !strcmp(reason, "rx_ubuf")) {
        void *q = relay_rxpool_alloc(size);
        if (q)
            return q;
    }
    if (!size) {
        free(ptr);
        return NULL;
    }
    return realloc(ptr, size);
}
