/*
 * relay_rxpool: lws' per-connection WebSocket receive buffers, lazily backed.
 *
 * lws 4.1.6 reads at most rx_buffer_size bytes from a connection per loop turn and
 * allocates a buffer of that size for every WebSocket connection. A small buffer
 * (512 B) costs one loop turn (epoll_wait, recv, and a write to each recipient) per
 * two 256-byte frames; a large one from malloc costs about 4 KiB of resident memory
 * per idle connection (the heap pages it spans are touched by its neighbours). This
 * pool hands the buffers (lws allocation reason "rx_ubuf") out of one reserved,
 * MAP_NORESERVE region in page-aligned slots instead: a page is resident only once
 * data was written into it, so an idle connection that never sent anything costs
 * nothing and one that sent small frames one page. A freed slot's pages are given back
 * (MADV_DONTNEED) and the slot reused. Every other lws allocation goes to realloc().
 * One thread (the relay's event loop) only.
 */
#ifndef RELAY_RXPOOL_H
#define RELAY_RXPOOL_H

#include <stddef.h>
#include <stdint.h>

/*
 * Reserves room for `slots` buffers of at most slot_bytes each (rounded up to whole
 * pages). Returns 0, or -1 if the address space cannot be reserved (then
 * relay_rxpool_alloc always fails and lws keeps using malloc). Call once.
 */
int relay_rxpool_init(size_t slot_bytes, uint32_t slots);

/* Releases the region (all buffers must be freed, or never touched again). */
void relay_rxpool_fini(void);

/* A slot of at least size bytes, uninitialised; NULL if size is over the slot size,
 * the pool is full or was not set up. */
void *relay_rxpool_alloc(size_t size);

/* Returns 1 if p is a slot of the pool, 0 otherwise. */
int relay_rxpool_owns(const void *p);

/* Gives slot p (relay_rxpool_owns(p)) back. */
void relay_rxpool_free(void *p);

/* Slots handed out and not freed. */
uint32_t relay_rxpool_in_use(void);

/* The lws allocator (lws_set_allocator): "rx_ubuf" from the pool when it can, the rest
 * (and pool overflow) from realloc; frees and reallocs go where the pointer came from. */
void *relay_rxpool_lws_realloc(void *ptr, size_t size, const char *reason);

#endif
