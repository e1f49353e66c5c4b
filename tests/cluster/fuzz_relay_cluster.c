/*
 * fuzz_relay_cluster: what another relay or the broker could send, fed to a relay's
 * cluster state (relay_cluster over relay_room, with a welcomed local member in room
 * "r" and a peer it tracks there).
 *
 * Input: records `kind u8, len u16 (big-endian), bytes[len]`. kind % 4: 0 a bundle on
 * room r's subject, 1 a message on the control subject, 2 one on this relay's own
 * subject, 3 the clock moves by bytes[0] * 20 ms. Every message relay_wire accepts must
 * re-encode to exactly its bytes. Nothing may crash, leak or trip the sanitizers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "relay_cluster.h"
#include "relay_room.h"
#include "relay_wire.h"

#define ASSERT(c) do { if (!(c)) abort(); } while (0)

static uint64_t sids;

static int t_publish(void *a, const char *s, const uint8_t *d, size_t n)
{
    (void)a, (void)s, (void)d, (void)n;
    return 0;
}

static int t_subscribe(void *a, const char *s, uint64_t *sid)
{
    (void)a, (void)s;
    *sid = ++sids;
    return 0;
}

static void t_none(void *a, uint64_t x)
{
    (void)a, (void)x;
}

static void t_void(void *a)
{
    (void)a;
}

static void m_wake(relay_member *m, void *a)
{
    (void)m, (void)a;
}

static void m_cut(relay_member *m, void *a)
{
    (void)m, (void)a;
}

static void m_throttle(relay_member *m, int on, void *a)
{
    (void)m, (void)on, (void)a;
}

static void m_lost(relay_member *m, int why, void *a)
{
    (void)m, (void)why, (void)a;
}

/* Every message relay_wire accepts re-encodes to exactly its bytes. */
static void roundtrip(const uint8_t *msg, size_t n)
{
    relay_wire_msg m;

    if (relay_wire_parse(msg, n, &m))
        return;
    uint8_t *out = malloc(n ? n : 1);
    ASSERT(out);
    ASSERT(relay_wire_encode(out, n, &m) == n);
    ASSERT(!memcmp(out, msg, n));
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t fill[1 << 16];
    relay_room_limits lim = {16, 1000, 1 << 16};
    relay_room_ops ops = {m_wake, m_cut, m_throttle, NULL, m_lost};
    relay_cluster_transport t = {t_publish, t_subscribe, t_none, t_none, t_void, t_void, NULL};
    relay_cluster_config cfg = {100, 300, 200, 150, 1000, 16};
    relay_member local;
    uint64_t now = 1000;
    char room_subject[RELAY_WIRE_SUBJECT_MAX], own_subject[RELAY_WIRE_SUBJECT_MAX];

    sids = 0;
    relay_rooms *rooms = relay_rooms_new(&lim, &ops, 0x100);
    relay_cluster *c = relay_cluster_new(rooms, &cfg, &t, 0x100, 0xa);
    ASSERT(rooms && c);
    relay_cluster_connected(c, now);
    /* a peer (instance 0x200) is known and established; we are too */
    static const uint8_t hb[16] = {1, 1, 0, 1, 0, 0, 2, 0, 0, 0, 0, 0xb, 0, 0, 0, 1};
    relay_cluster_message(c, 1, RELAY_WIRE_CTL_SUBJECT, hb, sizeof hb, now);
    relay_cluster_tick(c, now += 200);
    memset(&local, 0, sizeof local);
    relay_room_join(rooms, "r", 1, &local);
    relay_wire_room_subject(room_subject, "r", 1);
    relay_wire_relay_subject(own_subject, 0x100);

    size_t off = 0;
    while (size - off >= 3) {
        uint8_t kind = data[off] % 4;
        size_t len = (size_t)data[off + 1] << 8 | data[off + 2];
        off += 3;
        if (len > size - off)
            len = size - off;
        const uint8_t *p = data + off;
        off += len;
        if (kind == 3) {
            now += (len ? p[0] : 1) * 20u;
            relay_cluster_tick(c, now);
        } else if (kind == 0) {
            size_t bo = 0, n;
            const uint8_t *msg;
            while (relay_wire_bundle_next(p, len, &bo, &msg, &n) == 1)
                roundtrip(msg, n);
            /* the room's subscription: the first the room module asked for after ctl/own */
            relay_cluster_message(c, 3, room_subject, p, len, now);
        } else {
            roundtrip(p, len);
            relay_cluster_message(c, kind == 1 ? 1 : 2,
                                  kind == 1 ? RELAY_WIRE_CTL_SUBJECT : own_subject, p, len, now);
        }
        relay_cluster_flush(c);
        uint32_t n_env;
        int more = 1;
        while (more && local.room)
            relay_room_fill(rooms, &local, fill, sizeof fill, &n_env, &more);
    }
    relay_room_leave(rooms, &local);
    relay_cluster_free(c);
    relay_rooms_free(rooms);
    return 0;
}
