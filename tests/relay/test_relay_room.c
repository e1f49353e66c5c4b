/* Unit tests of relay_room: routing, order, batching, the queue bound. */
#include <stdlib.h>
#include <string.h>

#include "../unit/check.h"
#include "relay_room.h"
#include "sc_envelope.h"

#define MAXM 8

struct member {
    relay_member m;
    int woken, cut, paused;
};

static struct member mem[MAXM];

static void on_wake(relay_member *m, void *arg)
{
    (void)arg;
    ((struct member *)m)->woken++;
}

static void on_cut(relay_member *m, void *arg)
{
    (void)arg;
    ((struct member *)m)->cut++;
}

static void on_throttle(relay_member *m, int on, void *arg)
{
    (void)arg;
    ((struct member *)m)->paused += on ? 1 : -1;
}

static relay_rooms *make(uint32_t max_members, size_t max_queue)
{
    relay_room_limits lim = {max_members, 1000, max_queue};
    relay_room_ops ops = {on_wake, on_cut, on_throttle, NULL, NULL};
    memset(mem, 0, sizeof mem);
    return relay_rooms_new(&lim, &ops, 0x01020304u);
}

/* Drains member i completely; returns the parsed envelopes in out[]. */
static int drain(relay_rooms *rs, int i, sc_env *out, int max, uint8_t *buf, size_t cap)
{
    int n = 0, more = 1;
    size_t off = 0;
    while (more) {
        uint32_t n_env;
        size_t len = relay_room_fill(rs, &mem[i].m, buf + off, cap - off, &n_env, &more);
        size_t p = off;
        uint32_t seen = 0;
        while (p < off + len) {
            int r = sc_env_parse(buf + p, off + len - p, SC_ENV_FROM_RELAY, &out[n]);
            CHECK(r > 0);
            if (r <= 0)
                return n;
            p += (size_t)r;
            n++;
            seen++;
            CHECK(n <= max);
        }
        CHECK_EQ(seen, n_env);
        off += len;
        if (!len)
            break;
    }
    return n;
}

static void test_join_welcome_joined_left(void)
{
    relay_rooms *rs = make(4, 1 << 20);
    static uint8_t buf[1 << 16];
    sc_env e[16];

    CHECK_EQ(relay_room_join(rs, "room", 4, &mem[0].m), 0);
    CHECK_EQ(mem[0].m.id >> 32, 0x01020304u);
    CHECK_EQ(mem[0].woken, 1);
    CHECK_EQ(drain(rs, 0, e, 16, buf, sizeof buf), 1);
    CHECK_EQ(e[0].type, SC_ENV_T_WELCOME);
    CHECK_EQ(e[0].member, mem[0].m.id);
    CHECK_EQ(e[0].n_members, 0);
    CHECK_EQ(e[0].max_payload, 1000);

    CHECK_EQ(relay_room_join(rs, "room", 4, &mem[1].m), 0);
    CHECK(mem[1].m.id != mem[0].m.id);
    CHECK_EQ(drain(rs, 1, e, 16, buf, sizeof buf), 1);
    CHECK_EQ(e[0].type, SC_ENV_T_WELCOME);
    CHECK_EQ(e[0].n_members, 1);
    CHECK_EQ(sc_env_welcome_member(&e[0], 0), mem[0].m.id);
    CHECK_EQ(drain(rs, 0, e, 16, buf, sizeof buf), 1);
    CHECK_EQ(e[0].type, SC_ENV_T_JOINED);
    CHECK_EQ(e[0].member, mem[1].m.id);

    /* another room is separate */
    CHECK_EQ(relay_room_join(rs, "other", 5, &mem[2].m), 0);
    CHECK_EQ(drain(rs, 2, e, 16, buf, sizeof buf), 1);
    CHECK_EQ(e[0].n_members, 0);

    uint64_t id1 = mem[1].m.id;
    relay_room_leave(rs, &mem[1].m);
    CHECK_EQ(drain(rs, 0, e, 16, buf, sizeof buf), 1);
    CHECK_EQ(e[0].type, SC_ENV_T_LEFT);
    CHECK_EQ(e[0].member, id1);

    relay_rooms_stats st;
    relay_rooms_get_stats(rs, &st);
    CHECK_EQ(st.rooms, 2);
    CHECK_EQ(st.members, 2);
    relay_room_leave(rs, &mem[0].m);
    relay_room_leave(rs, &mem[2].m);
    relay_rooms_get_stats(rs, &st);
    CHECK_EQ(st.rooms, 0);
    CHECK_EQ(st.members, 0);
    CHECK_EQ(st.log_bytes, 0);
    relay_rooms_free(rs);
}

static void test_room_full_and_ids(void)
{
    relay_rooms *rs = make(2, 1 << 20);
    CHECK_EQ(relay_room_join(rs, "r", 1, &mem[0].m), 0);
    CHECK_EQ(relay_room_join(rs, "r", 1, &mem[1].m), 0);
    CHECK_EQ(relay_room_join(rs, "r", 1, &mem[2].m), RELAY_ROOM_E_FULL);
    CHECK_EQ(relay_room_join(rs, "bad id", 6, &mem[3].m), RELAY_ROOM_E_INVALID);
    CHECK_EQ(relay_room_join(rs, "", 0, &mem[3].m), RELAY_ROOM_E_INVALID);
    CHECK(relay_room_id_valid("aZ09_-", 6));
    char long_id[130];
    memset(long_id, 'a', sizeof long_id);
    CHECK(relay_room_id_valid(long_id, 128));
    CHECK(!relay_room_id_valid(long_id, 129));
    CHECK(!relay_room_id_valid("a/b", 3));
    CHECK(!relay_room_id_valid("a.b", 3));
    relay_room_leave(rs, &mem[0].m);
    relay_room_leave(rs, &mem[1].m);
    relay_rooms_free(rs);
}

static void test_broadcast_unicast_order(void)
{
    relay_rooms *rs = make(8, 1 << 20);
    static uint8_t buf[1 << 16];
    static sc_env e[4096];
    uint8_t p[4];

    for (int i = 0; i < 3; i++)
        CHECK_EQ(relay_room_join(rs, "r", 1, &mem[i].m), 0);
    for (int i = 0; i < 3; i++)
        drain(rs, i, e, 4096, buf, sizeof buf);

    /* 0 and 1 interleave broadcasts; 2 gets unicasts from 0 */
    for (uint32_t k = 0; k < 500; k++) {
        memcpy(p, &k, 4);
        CHECK_EQ(relay_room_send_all(rs, &mem[0].m, p, 4), 0);
        CHECK_EQ(relay_room_send_all(rs, &mem[1].m, p, 4), 0);
        CHECK_EQ(relay_room_send_to(rs, &mem[0].m, mem[2].m.id, p, 4), 0);
    }
    CHECK_EQ(relay_room_send_to(rs, &mem[0].m, 12345, p, 4), RELAY_ROOM_E_NO_MEMBER);

    int n0 = drain(rs, 0, e, 4096, buf, sizeof buf);
    CHECK_EQ(n0, 500); /* only 1's broadcasts: never its own, never 2's unicasts */
    for (int i = 0; i < n0; i++) {
        uint32_t k;
        CHECK_EQ(e[i].type, SC_ENV_T_DATA);
        CHECK_EQ(e[i].member, mem[1].m.id);
        CHECK_EQ(e[i].mode, SC_ENV_MODE_BROADCAST);
        memcpy(&k, e[i].payload, 4);
        CHECK_EQ(k, (uint32_t)i);
    }
    int n2 = drain(rs, 2, e, 4096, buf, sizeof buf);
    CHECK_EQ(n2, 1500);
    uint32_t next0 = 0, next1 = 0, nextu = 0;
    for (int i = 0; i < n2; i++) {
        uint32_t k;
        memcpy(&k, e[i].payload, 4);
        if (e[i].mode == SC_ENV_MODE_UNICAST) {
            CHECK_EQ(e[i].member, mem[0].m.id);
            CHECK_EQ(k, nextu++);
        } else if (e[i].member == mem[0].m.id) {
            CHECK_EQ(k, next0++);
        } else {
            CHECK_EQ(k, next1++);
        }
        /* total order: 0's broadcast k, 1's broadcast k, 0's unicast k */
        CHECK_EQ(k, (uint32_t)(i / 3));
    }
    CHECK_EQ(nextu, 500);

    /* reply goes to its member only, in order */
    uint8_t synced[SC_ENV_HEADER_BYTES + 8];
    size_t sl = sc_env_encode_synced(synced, sizeof synced, 77);
    CHECK_EQ(relay_room_reply(rs, &mem[1].m, synced, sl), 0);
    CHECK_EQ(drain(rs, 0, e, 4096, buf, sizeof buf), 0);
    CHECK_EQ(drain(rs, 1, e, 4096, buf, sizeof buf), 501);
    CHECK_EQ(e[500].type, SC_ENV_T_SYNCED);
    CHECK_EQ(e[500].token, 77);

    for (int i = 0; i < 3; i++)
        relay_room_leave(rs, &mem[i].m);
    relay_rooms_free(rs);
}

static void test_batches_respect_cap(void)
{
    relay_rooms *rs = make(4, 1 << 20);
    static uint8_t buf[4096];
    uint8_t p[100];
    uint32_t n_env;
    int more;

    memset(p, 7, sizeof p);
    CHECK_EQ(relay_room_join(rs, "r", 1, &mem[0].m), 0);
    CHECK_EQ(relay_room_join(rs, "r", 1, &mem[1].m), 0);
    relay_room_fill(rs, &mem[1].m, buf, sizeof buf, &n_env, &more);
    relay_room_fill(rs, &mem[0].m, buf, sizeof buf, &n_env, &more);
    for (int i = 0; i < 100; i++)
        CHECK_EQ(relay_room_send_all(rs, &mem[0].m, p, sizeof p), 0);
    size_t env = SC_ENV_DATA_OVERHEAD + sizeof p;
    size_t cap = relay_rooms_max_envelope(rs) + 10;
    int total = 0, batches = 0;
    do {
        size_t len = relay_room_fill(rs, &mem[1].m, buf, cap, &n_env, &more);
        CHECK(len <= cap);
        CHECK_EQ(len, n_env * env);
        total += (int)n_env;
        batches++;
    } while (more);
    CHECK_EQ(total, 100);
    CHECK_EQ(batches, (int)((100 + cap / env - 1) / (cap / env)));
    for (int i = 0; i < 2; i++)
        relay_room_leave(rs, &mem[i].m);
    relay_rooms_free(rs);
}

static void test_slow_consumer_cut(void)
{
    size_t bound = 64 * 1024;
    relay_rooms *rs = make(8, bound);
    static uint8_t buf[1 << 20];
    static sc_env e[20000];
    uint8_t p[1000];
    relay_rooms_stats st;

    memset(p, 1, sizeof p);
    for (int i = 0; i < 3; i++)
        CHECK_EQ(relay_room_join(rs, "r", 1, &mem[i].m), 0);
    for (int i = 0; i < 3; i++)
        drain(rs, i, e, 20000, buf, sizeof buf);
    uint64_t stalled = mem[2].m.id;
    /* 0 and 1 keep reading, 2 never does */
    int sent = 0, left_seen = 0;
    while (!mem[2].cut && sent < 1000) {
        CHECK_EQ(relay_room_send_all(rs, &mem[0].m, p, sizeof p), 0);
        sent++;
        int n = drain(rs, 1, e, 20000, buf, sizeof buf);
        for (int i = 0; i < n; i++) {
            if (e[i].type == SC_ENV_T_LEFT) {
                CHECK_EQ(e[i].member, stalled);
                CHECK_EQ(i, n - 1); /* after the DATA that overflowed the bound */
                left_seen++;
            } else {
                CHECK_EQ(e[i].type, SC_ENV_T_DATA);
            }
        }
        relay_rooms_get_stats(rs, &st);
        CHECK(st.log_bytes <= bound + 2 * 16384 + 2048);
    }
    CHECK_EQ(mem[2].cut, 1);
    CHECK(mem[2].m.room == NULL);
    CHECK(sent * 1000 > (int)bound / 2);
    CHECK(mem[0].cut == 0 && mem[1].cut == 0);
    /* the others learn that it left; the stream continues */
    CHECK_EQ(left_seen, 1);
    CHECK_EQ(relay_room_send_all(rs, &mem[0].m, p, sizeof p), 0);
    int n = drain(rs, 1, e, 20000, buf, sizeof buf);
    CHECK_EQ(n, 1);
    CHECK_EQ(e[0].type, SC_ENV_T_DATA);
    n = drain(rs, 0, e, 20000, buf, sizeof buf);
    CHECK_EQ(n, 1);
    CHECK_EQ(e[0].type, SC_ENV_T_LEFT);
    CHECK_EQ(e[0].member, stalled);
    relay_rooms_get_stats(rs, &st);
    CHECK_EQ(st.cut, 1);
    CHECK_EQ(st.log_bytes, 0); /* everyone caught up: nothing retained */
    /* a send_to the cut member now fails */
    CHECK_EQ(relay_room_send_to(rs, &mem[0].m, stalled, p, 1), RELAY_ROOM_E_NO_MEMBER);
    relay_room_leave(rs, &mem[2].m); /* no-op */
    for (int i = 0; i < 2; i++)
        relay_room_leave(rs, &mem[i].m);
    relay_rooms_free(rs);
}

static void test_sender_alone_and_self(void)
{
    relay_rooms *rs = make(4, 1 << 20);
    static uint8_t buf[4096];
    sc_env e[8];
    relay_rooms_stats st;
    uint8_t p[1] = {9};

    CHECK_EQ(relay_room_join(rs, "solo", 4, &mem[0].m), 0);
    drain(rs, 0, e, 8, buf, sizeof buf);
    CHECK_EQ(relay_room_send_all(rs, &mem[0].m, p, 1), 0);
    relay_rooms_get_stats(rs, &st);
    CHECK_EQ(st.log_bytes, 0); /* nobody to deliver to: nothing stored */
    CHECK_EQ(drain(rs, 0, e, 8, buf, sizeof buf), 0);
    CHECK_EQ(relay_room_send_to(rs, &mem[0].m, mem[0].m.id, p, 1), 0);
    CHECK_EQ(drain(rs, 0, e, 8, buf, sizeof buf), 1);
    CHECK_EQ(e[0].mode, SC_ENV_MODE_UNICAST);
    CHECK_EQ(relay_room_send_all(rs, &mem[0].m, p, 1001), RELAY_ROOM_E_INVALID);
    relay_room_leave(rs, &mem[0].m);
    CHECK_EQ(relay_room_send_all(rs, &mem[0].m, p, 1), RELAY_ROOM_E_NOT_IN);
    relay_rooms_free(rs);
}

static void test_backpressure(void)
{
    size_t bound = 256 * 1024; /* backlogged beyond 64 KiB */
    relay_rooms *rs = make(8, bound);
    static uint8_t buf[1 << 20];
    static sc_env e[8192];
    uint8_t p[1000];
    relay_rooms_stats st;

    memset(p, 2, sizeof p);
    for (int i = 0; i < 4; i++)
        CHECK_EQ(relay_room_join(rs, "bp", 2, &mem[i].m), 0);
    for (int i = 0; i < 4; i++)
        drain(rs, i, e, 8192, buf, sizeof buf);
    /* 0 floods; 1, 2, 3 read nothing: they fall behind together */
    int sent = 0;
    while (!mem[0].paused && sent < 1000) {
        CHECK_EQ(relay_room_send_all(rs, &mem[0].m, p, sizeof p), 0);
        sent++;
    }
    CHECK_EQ(mem[0].paused, 1);
    CHECK(mem[0].m.throttled);
    /* each record takes 1040 log bytes: paused just past the 64 KiB backlog mark */
    CHECK(sent * 1040 > 64 * 1024 && sent * 1040 < 64 * 1024 + 16384 + 2 * 1040);
    relay_rooms_get_stats(rs, &st);
    CHECK_EQ(st.cut, 0);
    CHECK_EQ(st.throttled, 1);
    CHECK_EQ(relay_room_send_all(rs, &mem[0].m, p, sizeof p), 0);
    CHECK_EQ(mem[0].paused, 1); /* paused once, not again */
    drain(rs, 1, e, 8192, buf, sizeof buf);
    CHECK_EQ(mem[0].paused, 1); /* 2 of 4 still behind */
    drain(rs, 2, e, 8192, buf, sizeof buf);
    CHECK_EQ(mem[0].paused, 0); /* 1 of 4: resumed */
    CHECK(!mem[0].m.throttled);
    /* a single stalled member (3) never throttles the sender: it is cut */
    for (int k = 0; k < 2000 && !mem[3].cut; k++) {
        CHECK_EQ(relay_room_send_all(rs, &mem[0].m, p, sizeof p), 0);
        CHECK_EQ(mem[0].paused, 0);
        drain(rs, 1, e, 8192, buf, sizeof buf);
        drain(rs, 2, e, 8192, buf, sizeof buf);
    }
    CHECK_EQ(mem[3].cut, 1);
    relay_rooms_get_stats(rs, &st);
    CHECK_EQ(st.throttled, 1);
    /* two of three behind in a room of three: throttled again */
    sent = 0;
    while (!mem[0].paused && sent < 1000) {
        CHECK_EQ(relay_room_send_all(rs, &mem[0].m, p, sizeof p), 0);
        sent++;
    }
    CHECK_EQ(mem[0].paused, 1);
    /* a throttled member that leaves is simply forgotten */
    relay_room_leave(rs, &mem[0].m);
    CHECK(!mem[0].m.throttled);
    for (int i = 1; i < 3; i++)
        relay_room_leave(rs, &mem[i].m);
    relay_rooms_get_stats(rs, &st);
    CHECK_EQ(st.log_bytes, 0);
    CHECK_EQ(st.rooms, 0);
    relay_rooms_free(rs);
}

int main(void)
{
    test_join_welcome_joined_left();
    test_room_full_and_ids();
    test_broadcast_unicast_order();
    test_batches_respect_cap();
    test_slow_consumer_cut();
    test_sender_alone_and_self();
    test_backpressure();
    return check_finish("test_relay_room");
}
