/*
 * The helper of store_crash.py: appends to one room of a relay_store in a loop and prints
 * "durable <seq>" for each entry only after relay_store_flush reported it durable; or
 * reopens the store and checks every entry (contiguous from 1, bytes as written).
 *
 *   store_crash_writer write DIR [MAX_BATCH]   runs until killed
 *   store_crash_writer verify DIR              prints "head <seq>"; exit 0 if all is well
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "relay_store.h"

static const uint8_t ROOM[16] = "crash-room......";

/* Every 37th entry is a commit (its GroupInfo names its seq), every 111th rotates the key. */
static size_t entry_for(uint64_t seq, uint8_t *buf)
{
    size_t len = 16 + (size_t)(seq * 7 % 300);
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(seq * 131 + i * 7);
    memcpy(buf, &seq, sizeof seq);
    return len;
}

static void key_for(uint64_t seq, uint8_t pk[32])
{
    memset(pk, 0, 32);
    memcpy(pk, &seq, sizeof seq);
}

static int is_commit(uint64_t seq)
{
    return seq % 37 == 0;
}

static int failed;

static void on_done(void *ctx, uint64_t tag, const uint8_t *id, size_t len, uint64_t seq,
                    relay_store_err err)
{
    (void)ctx, (void)tag, (void)id, (void)len;
    if (err != RELAY_STORE_OK) {
        failed = 1;
        return;
    }
    if (seq)
        printf("durable %llu\n", (unsigned long long)seq);
}

static int do_write(relay_store *s, unsigned max_batch)
{
    relay_store_meta m;
    uint8_t buf[400], pk[32];
    char gi[32];
    uint64_t rnd = 88172645463325252ull, now = 1;

    if (relay_store_meta_get(s, ROOM, 16, &m) == RELAY_STORE_ERR_NO_ROOM) {
        key_for(0, pk);
        if (relay_store_room_create(s, ROOM, 16, pk, (const uint8_t *)"gi-0", 4, 0, 0) ||
            relay_store_flush(s, 0, on_done, NULL) ||
            relay_store_meta_get(s, ROOM, 16, &m)) {
            fprintf(stderr, "writer: %s\n", relay_store_errmsg(s));
            return 1;
        }
    }
    printf("ready %llu\n", (unsigned long long)m.durable_head);
    fflush(stdout);
    for (;;) {
        unsigned n;
        rnd ^= rnd << 13, rnd ^= rnd >> 7, rnd ^= rnd << 17;
        n = 1 + (unsigned)(rnd % max_batch);
        for (unsigned i = 0; i < n; i++) {
            uint64_t seq = m.head_seq + 1, got = 0;
            size_t len = entry_for(seq, buf);
            int c = is_commit(seq);
            relay_store_err e;
            snprintf(gi, sizeof gi, "gi-%llu", (unsigned long long)seq);
            key_for(seq, pk);
            e = relay_store_append(s, ROOM, 16, buf, len, now, c, c ? (const uint8_t *)gi : NULL,
                                   c ? strlen(gi) : 0, c && seq % 111 == 0 ? pk : NULL, seq, &got);
            if (e != RELAY_STORE_OK || got != seq) {
                fprintf(stderr, "writer: append %llu: %s\n", (unsigned long long)seq,
                        relay_store_errmsg(s));
                return 1;
            }
            m.head_seq = seq;
        }
        if (relay_store_flush(s, now++, on_done, NULL) != RELAY_STORE_OK || failed) {
            fprintf(stderr, "writer: flush: %s\n", relay_store_errmsg(s));
            return 1;
        }
        fflush(stdout);
    }
}

struct vctx {
    uint64_t expect, last_commit, last_rotation;
    int bad;
};

static int on_entry(void *ctx, const relay_store_entry *e)
{
    struct vctx *v = ctx;
    uint8_t want[400], pk[32];
    size_t len = entry_for(e->seq, want);
    unsigned flags = is_commit(e->seq) ? RELAY_STORE_F_COMMIT : 0;

    if (is_commit(e->seq) && e->seq % 111 == 0)
        flags |= RELAY_STORE_F_JOIN_PK;
    key_for(e->seq, pk);
    if (e->seq != v->expect || e->len != len || memcmp(e->body, want, len) || e->flags != flags ||
        ((flags & RELAY_STORE_F_JOIN_PK) && memcmp(e->join_pk, pk, 32))) {
        fprintf(stderr, "verify: entry %llu (expected %llu) is wrong\n",
                (unsigned long long)e->seq, (unsigned long long)v->expect);
        v->bad++;
    }
    if (flags)
        v->last_commit = e->seq;
    if (flags & RELAY_STORE_F_JOIN_PK)
        v->last_rotation = e->seq;
    v->expect = e->seq + 1;
    return 0;
}

static int do_verify(relay_store *s)
{
    relay_store_meta m;
    struct vctx v = {1, 0, 0, 0};
    uint64_t last = 0, seq;
    uint8_t gi[64], pk[32];
    char want[32];
    size_t len;

    if (relay_store_meta_get(s, ROOM, 16, &m) != RELAY_STORE_OK) {
        fprintf(stderr, "verify: %s\n", relay_store_errmsg(s));
        return 1;
    }
    for (;;) {
        uint64_t before = last;
        if (relay_store_read(s, ROOM, 16, last, 1000, 1 << 20, on_entry, &v, &last) !=
            RELAY_STORE_OK) {
            fprintf(stderr, "verify: %s\n", relay_store_errmsg(s));
            return 1;
        }
        if (last == before)
            break;
    }
    if (last != m.durable_head || m.oldest_seq != 1) {
        fprintf(stderr, "verify: read up to %llu, head %llu, oldest %llu\n",
                (unsigned long long)last, (unsigned long long)m.durable_head,
                (unsigned long long)m.oldest_seq);
        v.bad++;
    }
    /* the room's meta matches its log: epoch, GroupInfo, key */
    snprintf(want, sizeof want, "gi-%llu", (unsigned long long)v.last_commit);
    key_for(v.last_rotation, pk);
    if (relay_store_gi(s, ROOM, 16, gi, sizeof gi, &len, &seq) != RELAY_STORE_OK ||
        seq != v.last_commit || len != strlen(want) || memcmp(gi, want, len) ||
        m.epoch != m.durable_head / 37 || memcmp(m.join_pk, pk, 32)) {
        fprintf(stderr, "verify: meta does not match the log (epoch %llu, gi seq %llu)\n",
                (unsigned long long)m.epoch, (unsigned long long)seq);
        v.bad++;
    }
    printf("head %llu\n", (unsigned long long)m.durable_head);
    return v.bad ? 1 : 0;
}

int main(int argc, char **argv)
{
    char err[512];
    relay_store *s = NULL;
    int rc;

    if (argc < 3 || (strcmp(argv[1], "write") && strcmp(argv[1], "verify"))) {
        fprintf(stderr, "usage: %s write|verify DIR [MAX_BATCH]\n", argv[0]);
        return 2;
    }
    if (relay_store_open(argv[2], NULL, &s, err, sizeof err) != RELAY_STORE_OK) {
        fprintf(stderr, "%s: %s\n", argv[1], err);
        return 1;
    }
    if (!strcmp(argv[1], "write"))
        rc = do_write(s, argc > 3 && atoi(argv[3]) > 0 ? (unsigned)atoi(argv[3]) : 50);
    else
        rc = do_verify(s);
    relay_store_close(s);
    return rc;
}
