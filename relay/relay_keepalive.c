#include "relay_keepalive.h"

#include <string.h>

static void place(relay_keepalive *ka, relay_ka_entry *e, uint32_t due)
{
    lws_dll2_remove(&e->node);
    e->due = due;
    lws_dll2_add_tail(&e->node, &ka->slots[due % RELAY_KA_SLOTS]);
}

void relay_ka_init(relay_keepalive *ka, uint32_t ping_s, uint32_t timeout_s, uint32_t now)
{
    memset(ka->slots, 0, sizeof ka->slots);
    ka->ping_s = ping_s ? ping_s : 1;
    ka->timeout_s = timeout_s ? timeout_s : 1;
    ka->last_tick = now;
}

void relay_ka_add(relay_keepalive *ka, relay_ka_entry *e, uint32_t now)
{
    e->alive = now;
    e->awaiting = 0;
    place(ka, e, now + ka->ping_s);
}

void relay_ka_remove(relay_ka_entry *e)
{
    lws_dll2_remove(&e->node);
}

static void visit(relay_keepalive *ka, relay_ka_entry *e, uint32_t t)
{
    if (e->due > t)
        return; /* due on a later turn of the wheel */
    if (e->alive + ka->ping_s > t) {
        place(ka, e, e->alive + ka->ping_s); /* it spoke since: look again later */
    } else if (!e->awaiting) {
        e->awaiting = 1;
        place(ka, e, t + ka->timeout_s);
        ka->ping(e, ka->arg);
    } else {
        lws_dll2_remove(&e->node);
        ka->dead(e, ka->arg);
    }
}

void relay_ka_tick(relay_keepalive *ka, uint32_t now)
{
    /* After a long stall every slot has been passed: one full turn suffices. */
    if (now - ka->last_tick > RELAY_KA_SLOTS)
        ka->last_tick = now - RELAY_KA_SLOTS;
    while (ka->last_tick < now) {
        uint32_t t = ++ka->last_tick;
        lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1,
                                   lws_dll2_get_head(&ka->slots[t % RELAY_KA_SLOTS])) {
            visit(ka, lws_container_of(d, relay_ka_entry, node), t);
        } lws_end_foreach_dll_safe(d, d1);
    }
}
