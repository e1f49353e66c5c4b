/*
 * relay_keepalive: ping/pong liveness for every WebSocket connection in O(1)
 * per connection and event.
 *
 * lws 4.1.6 keeps its per-connection timers (retry policy validity, timeouts)
 * in one sorted linked list, and every re-arm walks it: with 10,000 idle
 * connections pinged every 30 s that walk took 19% of a core and grows with
 * the square of the connection count. This module replaces it: connections sit
 * in a wheel of one-second slots, ticked by a single timer.
 *
 * A connection that showed no sign of life (input or pong) for ping_s seconds
 * is pinged; if nothing arrives within timeout_s more, it is declared dead.
 */
#ifndef RELAY_KEEPALIVE_H
#define RELAY_KEEPALIVE_H

#include <stdint.h>

#include <libwebsockets.h>

#define RELAY_KA_SLOTS 64u

typedef struct relay_ka_entry {
    lws_dll2_t node;  /* in the wheel slot of `due` */
    uint32_t due;     /* second at which to look at it again */
    uint32_t alive;   /* last second it showed life */
    uint8_t awaiting; /* pinged, no answer yet */
} relay_ka_entry;

typedef struct relay_keepalive {
    lws_dll2_owner_t slots[RELAY_KA_SLOTS];
    uint32_t ping_s, timeout_s;
    uint32_t last_tick;
    /* Send a ping to e's connection. */
    void (*ping)(relay_ka_entry *e, void *arg);
    /* e's connection is dead: drop it (e has been removed already). */
    void (*dead)(relay_ka_entry *e, void *arg);
    void *arg;
} relay_keepalive;

/* Prepares an empty wheel; ping_s and timeout_s must be >= 1; now is in seconds. */
void relay_ka_init(relay_keepalive *ka, uint32_t ping_s, uint32_t timeout_s, uint32_t now);

/* Starts watching e (zeroed or removed) from second now. */
void relay_ka_add(relay_keepalive *ka, relay_ka_entry *e, uint32_t now);

/* Stops watching e; no-op if it is not watched. */
void relay_ka_remove(relay_ka_entry *e);

/* Records a sign of life (any input, a pong) at second now. O(1), no list work. */
static inline void relay_ka_alive(relay_ka_entry *e, uint32_t now)
{
    e->alive = now;
    e->awaiting = 0;
}

/* Processes every second up to now: pings the quiet, declares the silent dead. */
void relay_ka_tick(relay_keepalive *ka, uint32_t now);

#endif
