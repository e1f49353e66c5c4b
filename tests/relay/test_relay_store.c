/* Unit tests of relay_store (the durable per-room log of protocol v2) on real SQLite
 * files in a temporary directory: every function and error, reopen, retention by each
 * bound, damaged files, a newer schema, a transaction that fails. */
#include <fcntl.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../unit/check.h"
#include "relay_store.h"

#define MAXDONE 4096

static struct {
    size_t n;
    uint64_t tag[MAXDONE], seq[MAXDONE];
    relay_store_err err[MAXDONE];
} dn;

static void on_done(void *ctx, uint64_t tag, const uint8_t *room_id, size_t room_len,
                    uint64_t seq, relay_store_err err)
{
    (void)ctx;
    CHECK(room_id != NULL && room_len >= 1);
    if (dn.n < MAXDONE) {
        dn.tag[dn.n] = tag;
        dn.seq[dn.n] = seq;
        dn.err[dn.n] = err;
        dn.n++;
    }
}

static char base[] = "/tmp/relay-store-XXXXXX";
static char dir[512];
static unsigned dir_no;

/* A fresh data directory (not yet created: open creates it). */
static const char *new_dir(void)
{
    snprintf(dir, sizeof dir, "%s/d%u", base, dir_no++);
    return dir;
}

static char *db_path(char *buf, size_t n)
{
    snprintf(buf, n, "%s/%s", dir, RELAY_STORE_FILE);
    return buf;
}

static const uint8_t ROOM_A[16] = "room-aaaaaaaaaaa";
static const uint8_t ROOM_B[16] = "room-bbbbbbbbbbb";
static const uint8_t PK1[32] = "pk1.............................";
static const uint8_t PK2[32] = "pk2.............................";
static const uint8_t PK3[32] = "pk3.............................";

/* Entry bytes derived from seq, so that a read can check them. */
static size_t entry_for(uint64_t seq, uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(seq * 131 + i * 7);
    return len;
}

static relay_store *open_ok(const relay_store_opts *o)
{
    char err[512];
    relay_store *s = NULL;
    relay_store_err e = relay_store_open(dir, o, &s, err, sizeof err);
    if (e != RELAY_STORE_OK)
        fprintf(stderr, "open: %s\n", err);
    CHECK_EQ(e, RELAY_STORE_OK);
    return s;
}

static relay_store_err flush_ok(relay_store *s, uint64_t now)
{
    dn.n = 0;
    return relay_store_flush(s, now, on_done, NULL);
}

/* Appends n entries of len bytes (content entry_for(seq)) and flushes; checks the seqs. */
static void append_n(relay_store *s, const uint8_t *room, uint64_t n, size_t len, uint64_t t)
{
    uint8_t buf[4096];
    uint64_t seq = 0;
    relay_store_meta m;

    CHECK(len <= sizeof buf);
    CHECK_EQ(relay_store_meta_get(s, room, 16, &m), RELAY_STORE_OK);
    for (uint64_t i = 0; i < n; i++) {
        entry_for(m.head_seq + i + 1, buf, len);
        CHECK_EQ(relay_store_append(s, room, 16, buf, len, t, 0, NULL, 0, NULL, i, &seq),
                 RELAY_STORE_OK);
        CHECK_EQ(seq, m.head_seq + i + 1);
    }
    CHECK_EQ(flush_ok(s, t), RELAY_STORE_OK);
    CHECK_EQ(dn.n, n);
}

struct rd {
    uint64_t first, last, n;
    size_t bytes;
    int bad;
    uint64_t stop_after;
    unsigned flags_or;
};

static int on_entry(void *ctx, const relay_store_entry *e)
{
    struct rd *r = ctx;
    uint8_t want[4096];

    if (!r->n)
        r->first = e->seq;
    else if (e->seq != r->last + 1)
        r->bad++;
    if (!(e->flags & RELAY_STORE_F_COMMIT)) {
        if (e->len > sizeof want)
            r->bad++;
        else if (memcmp(e->body, want, entry_for(e->seq, want, e->len)))
            r->bad++;
    }
    r->flags_or |= e->flags;
    r->last = e->seq;
    r->n++;
    r->bytes += e->len;
    return r->stop_after && r->n >= r->stop_after;
}

static relay_store_err read_all(relay_store *s, const uint8_t *room, uint64_t after, struct rd *r)
{
    uint64_t last = after;
    relay_store_err e;

    memset(r, 0, sizeof *r);
    do {
        uint64_t before = r->n;
        e = relay_store_read(s, room, 16, last, 100, 1 << 20, on_entry, r, &last);
        if (e != RELAY_STORE_OK || r->n == before)
            break;
    } while (1);
    return e;
}

static void test_open_create(void)
{
    char err[512], path[600];
    struct stat st;
    relay_store *s;
    relay_store_stats sts;

    new_dir();
    s = open_ok(NULL);
    CHECK(s != NULL);
    CHECK(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0700);
    CHECK(stat(db_path(path, sizeof path), &st) == 0 && (st.st_mode & 0777) == 0600);
    relay_store_stats_get(s, &sts);
    CHECK_EQ(sts.rooms, 0);
    CHECK_EQ(sts.entries, 0);
    CHECK(sts.file_bytes > 0);
    CHECK_EQ(relay_store_flush(s, 1, on_done, NULL), RELAY_STORE_OK); /* nothing to do */
    CHECK(!strcmp(relay_store_errmsg(s), ""));
    relay_store_close(s);
    s = open_ok(NULL); /* second run: opens, does not recreate */
    relay_store_close(s);
    relay_store_close(NULL);

    CHECK_EQ(relay_store_open(NULL, NULL, &s, err, sizeof err), RELAY_STORE_ERR_ARG);
    CHECK_EQ(relay_store_open("", NULL, &s, err, sizeof err), RELAY_STORE_ERR_ARG);
    /* a data directory whose parent is missing */
    snprintf(path, sizeof path, "%s/missing/deeper", base);
    CHECK_EQ(relay_store_open(path, NULL, &s, err, sizeof err), RELAY_STORE_ERR_IO);
    CHECK(s == NULL);
    CHECK(strstr(err, "missing/deeper") != NULL);
}

static void test_rooms(void)
{
    relay_store *s;
    relay_store_meta m;
    uint8_t gi[64];
    size_t len;
    uint64_t seq;

    new_dir();
    s = open_ok(NULL);
    CHECK_EQ(relay_store_room_create(s, ROOM_A, 16, PK1, (const uint8_t *)"gi-0", 4, 1000, 7),
             RELAY_STORE_OK);
    CHECK_EQ(relay_store_staged(s), 1);
    /* staged, not durable yet */
    CHECK_EQ(relay_store_room_create(s, ROOM_A, 16, PK2, (const uint8_t *)"x", 1, 1000, 8),
             RELAY_STORE_ERR_EXISTS);
    CHECK_EQ(relay_store_meta_get(s, ROOM_A, 16, &m), RELAY_STORE_OK);
    CHECK_EQ(m.durable, 0);
    CHECK_EQ(relay_store_gi(s, ROOM_A, 16, gi, sizeof gi, &len, &seq), RELAY_STORE_ERR_NO_ROOM);
    CHECK_EQ(flush_ok(s, 1000), RELAY_STORE_OK);
    CHECK_EQ(dn.n, 1);
    CHECK_EQ(dn.tag[0], 7);
    CHECK_EQ(dn.seq[0], 0);
    CHECK_EQ(dn.err[0], RELAY_STORE_OK);
    CHECK_EQ(relay_store_staged(s), 0);
    CHECK_EQ(relay_store_room_create(s, ROOM_A, 16, PK2, (const uint8_t *)"x", 1, 1000, 8),
             RELAY_STORE_ERR_EXISTS);
    CHECK(strstr(relay_store_errmsg(s), "exists") != NULL);

    CHECK_EQ(relay_store_meta_get(s, ROOM_A, 16, &m), RELAY_STORE_OK);
    CHECK_EQ(m.durable, 1);
    CHECK_EQ(m.epoch, 0);
    CHECK_EQ(m.head_seq, 0);
    CHECK_EQ(m.durable_head, 0);
    CHECK_EQ(m.oldest_seq, 1);
    CHECK_EQ(m.gi_seq, 0);
    CHECK_EQ(m.entries, 0);
    CHECK_EQ(m.created_ms, 1000);
    CHECK_EQ(m.earlier_keys, 0);
    CHECK_MEM(m.join_pk, PK1, 32);
    CHECK_EQ(relay_store_gi(s, ROOM_A, 16, gi, sizeof gi, &len, &seq), RELAY_STORE_OK);
    CHECK_EQ(len, 4);
    CHECK_EQ(seq, 0);
    CHECK_MEM(gi, "gi-0", 4);
    CHECK_EQ(relay_store_gi(s, ROOM_A, 16, gi, 3, &len, &seq), RELAY_STORE_ERR_ARG);
    CHECK_EQ(len, 4); /* the size needed */

    /* bad arguments and unknown rooms */
    CHECK_EQ(relay_store_room_create(s, ROOM_B, 0, PK1, gi, 4, 0, 0), RELAY_STORE_ERR_ARG);
    CHECK_EQ(relay_store_room_create(s, ROOM_B, RELAY_STORE_ROOM_ID_MAX + 1, PK1, gi, 4, 0, 0),
             RELAY_STORE_ERR_ARG);
    CHECK_EQ(relay_store_room_create(s, ROOM_B, 16, NULL, gi, 4, 0, 0), RELAY_STORE_ERR_ARG);
    CHECK_EQ(relay_store_room_create(s, ROOM_B, 16, PK1, gi, 0, 0, 0), RELAY_STORE_ERR_ARG);
    CHECK_EQ(relay_store_room_create(s, ROOM_B, 16, PK1, NULL, 4, 0, 0), RELAY_STORE_ERR_ARG);
    CHECK_EQ(relay_store_room_create(NULL, ROOM_B, 16, PK1, gi, 4, 0, 0), RELAY_STORE_ERR_ARG);
    CHECK_EQ(relay_store_meta_get(s, ROOM_B, 16, &m), RELAY_STORE_ERR_NO_ROOM);
    CHECK_EQ(relay_store_append(s, ROOM_B, 16, gi, 1, 0, 0, NULL, 0, NULL, 0, &seq),
             RELAY_STORE_ERR_NO_ROOM);
    CHECK_EQ(relay_store_gi(s, ROOM_B, 16, gi, sizeof gi, &len, &seq), RELAY_STORE_ERR_NO_ROOM);
    CHECK_EQ(relay_store_staged(s), 0);
    relay_store_close(s);
}

static void test_append_and_read(void)
{
    relay_store *s;
    relay_store_meta m;
    uint8_t buf[300], gi[64];
    uint64_t seq = 0, last;
    size_t len, nk;
    struct rd r;
    int kind;
    uint8_t keys[4][32];

    new_dir();
    s = open_ok(NULL);
    CHECK_EQ(relay_store_room_create(s, ROOM_A, 16, PK1, (const uint8_t *)"gi-0", 4, 10, 0),
             RELAY_STORE_OK);
    /* appends staged in the same turn as the creation */
    for (uint64_t i = 1; i <= 5; i++) {
        CHECK_EQ(relay_store_append(s, ROOM_A, 16, buf, entry_for(i, buf, 100 + i), 10 + i, 0,
                                    NULL, 0, NULL, 100 + i, &seq),
                 RELAY_STORE_OK);
        CHECK_EQ(seq, i);
    }
    CHECK_EQ(relay_store_meta_get(s, ROOM_A, 16, &m), RELAY_STORE_OK);
    CHECK_EQ(m.head_seq, 5);
    CHECK_EQ(m.durable_head, 0);
    CHECK_EQ(flush_ok(s, 20), RELAY_STORE_OK);
    CHECK_EQ(dn.n, 6);
    for (size_t i = 1; i < 6; i++) {
        CHECK_EQ(dn.tag[i], 100 + i);
        CHECK_EQ(dn.seq[i], i);
        CHECK_EQ(dn.err[i], RELAY_STORE_OK);
    }

    /* a commit without a key change, then one that rotates the key */
    CHECK_EQ(relay_store_append(s, ROOM_A, 16, (const uint8_t *)"commit-6", 8, 30, 1,
                                (const uint8_t *)"gi-1", 4, NULL, 6, &seq),
             RELAY_STORE_OK);
    CHECK_EQ(seq, 6);
    CHECK_EQ(relay_store_append(s, ROOM_A, 16, buf, entry_for(7, buf, 50), 31, 0, NULL, 0, NULL,
                                7, &seq),
             RELAY_STORE_OK);
    CHECK_EQ(relay_store_append(s, ROOM_A, 16, (const uint8_t *)"commit-8", 8, 32, 1,
                                (const uint8_t *)"gi-2", 4, PK2, 8, &seq),
             RELAY_STORE_OK);
    CHECK_EQ(seq, 8);
    /* staged state is visible to meta and key_kind; reads and GI see durable data only */
    CHECK_EQ(relay_store_meta_get(s, ROOM_A, 16, &m), RELAY_STORE_OK);
    CHECK_EQ(m.epoch, 2);
    CHECK_EQ(m.head_seq, 8);
    CHECK_EQ(m.durable_head, 5);
    CHECK_MEM(m.join_pk, PK2, 32);
    CHECK_EQ(relay_store_key_kind(s, ROOM_A, 16, PK2, &kind), RELAY_STORE_OK);
    CHECK_EQ(kind, RELAY_STORE_KEY_CURRENT);
    CHECK_EQ(relay_store_key_kind(s, ROOM_A, 16, PK1, &kind), RELAY_STORE_OK);
    CHECK_EQ(kind, RELAY_STORE_KEY_EARLIER);
    CHECK_EQ(relay_store_gi(s, ROOM_A, 16, gi, sizeof gi, &len, &seq), RELAY_STORE_OK);
    CHECK_EQ(seq, 0);
    CHECK_EQ(read_all(s, ROOM_A, 0, &r), RELAY_STORE_OK);
    CHECK_EQ(r.n, 5);
    CHECK_EQ(flush_ok(s, 40), RELAY_STORE_OK);
    CHECK_EQ(dn.n, 3);

    CHECK_EQ(relay_store_meta_get(s, ROOM_A, 16, &m), RELAY_STORE_OK);
    CHECK_EQ(m.durable_head, 8);
    CHECK_EQ(m.gi_seq, 8);
    CHECK_EQ(m.earlier_keys, 1);
    CHECK_EQ(relay_store_gi(s, ROOM_A, 16, gi, sizeof gi, &len, &seq), RELAY_STORE_OK);
    CHECK_EQ(seq, 8);
    CHECK_MEM(gi, "gi-2", 4);
    CHECK_EQ(relay_store_key_kind(s, ROOM_A, 16, PK1, &kind), RELAY_STORE_OK);
    CHECK_EQ(kind, RELAY_STORE_KEY_EARLIER);
    CHECK_EQ(relay_store_key_kind(s, ROOM_A, 16, PK3, &kind), RELAY_STORE_OK);
    CHECK_EQ(kind, RELAY_STORE_KEY_UNKNOWN);
    CHECK_EQ(relay_store_earlier_keys(s, ROOM_A, 16, keys, 4, &nk), RELAY_STORE_OK);
    CHECK_EQ(nk, 1);
    CHECK_MEM(keys[0], PK1, 32);
    CHECK_EQ(relay_store_earlier_keys(s, ROOM_A, 16, NULL, 0, &nk), RELAY_STORE_OK);
    CHECK_EQ(nk, 1);

    /* two rotations in one turn: the middle key is earlier at once */
    CHECK_EQ(relay_store_append(s, ROOM_A, 16, (const uint8_t *)"c9", 2, 50, 1,
                                (const uint8_t *)"gi-3", 4, PK3, 9, &seq),
             RELAY_STORE_OK);
    CHECK_EQ(relay_store_append(s, ROOM_A, 16, (const uint8_t *)"c10", 3, 50, 1,
                                (const uint8_t *)"gi-4", 4, PK1, 10, &seq),
             RELAY_STORE_OK);
    CHECK_EQ(relay_store_key_kind(s, ROOM_A, 16, PK3, &kind), RELAY_STORE_OK);
    CHECK_EQ(kind, RELAY_STORE_KEY_EARLIER);
    CHECK_EQ(relay_store_key_kind(s, ROOM_A, 16, PK2, &kind), RELAY_STORE_OK);
    CHECK_EQ(kind, RELAY_STORE_KEY_EARLIER);
    CHECK_EQ(flush_ok(s, 60), RELAY_STORE_OK);
    CHECK_EQ(relay_store_earlier_keys(s, ROOM_A, 16, keys, 4, &nk), RELAY_STORE_OK);
    CHECK_EQ(nk, 3); /* PK1 (until 8), PK2 (until 9), PK3 (until 10); PK1 is current again */
    CHECK_MEM(keys[1], PK2, 32);
    CHECK_MEM(keys[2], PK3, 32);
    CHECK_EQ(relay_store_key_kind(s, ROOM_A, 16, PK1, &kind), RELAY_STORE_OK);
    CHECK_EQ(kind, RELAY_STORE_KEY_CURRENT);

    /* read everything back with the flags and key */
    {
        struct rd all;
        CHECK_EQ(read_all(s, ROOM_A, 0, &all), RELAY_STORE_OK);
        CHECK_EQ(all.n, 10);
        CHECK_EQ(all.first, 1);
        CHECK_EQ(all.last, 10);
        CHECK_EQ(all.bad, 0);
        CHECK_EQ(all.flags_or, RELAY_STORE_F_COMMIT | RELAY_STORE_F_JOIN_PK);
    }

    /* bounded batches: by count, by bytes (the first entry always comes), by the callback */
    memset(&r, 0, sizeof r);
    CHECK_EQ(relay_store_read(s, ROOM_A, 16, 0, 3, 1 << 20, on_entry, &r, &last), RELAY_STORE_OK);
    CHECK_EQ(r.n, 3);
    CHECK_EQ(last, 3);
    memset(&r, 0, sizeof r);
    CHECK_EQ(relay_store_read(s, ROOM_A, 16, 3, 100, 1, on_entry, &r, &last), RELAY_STORE_OK);
    CHECK_EQ(r.n, 1);
    CHECK_EQ(last, 4);
    memset(&r, 0, sizeof r);
    CHECK_EQ(relay_store_read(s, ROOM_A, 16, 0, 100, 105 + 104, on_entry, &r, &last),
             RELAY_STORE_OK);
    CHECK_EQ(r.n, 2); /* 101 + 102 fit in 209, 103 more do not */
    memset(&r, 0, sizeof r);
    r.stop_after = 2;
    CHECK_EQ(relay_store_read(s, ROOM_A, 16, 4, 100, 1 << 20, on_entry, &r, &last), RELAY_STORE_OK);
    CHECK_EQ(r.n, 2);
    CHECK_EQ(last, 6);
    memset(&r, 0, sizeof r);
    CHECK_EQ(relay_store_read(s, ROOM_A, 16, 10, 100, 1 << 20, on_entry, &r, &last),
             RELAY_STORE_OK);
    CHECK_EQ(r.n, 0);
    CHECK_EQ(last, 10);
    CHECK_EQ(relay_store_read(s, ROOM_A, 16, 11, 100, 1 << 20, on_entry, &r, &last),
             RELAY_STORE_ERR_AHEAD);
    CHECK_EQ(relay_store_read(s, ROOM_A, 16, 0, 0, 1 << 20, on_entry, &r, &last),
             RELAY_STORE_ERR_ARG);
    CHECK_EQ(relay_store_read(s, ROOM_A, 16, 0, 10, 1 << 20, NULL, &r, &last), RELAY_STORE_ERR_ARG);
    CHECK_EQ(relay_store_read(s, ROOM_B, 16, 0, 10, 1 << 20, on_entry, &r, &last),
             RELAY_STORE_ERR_NO_ROOM);

    /* bad appends */
    CHECK_EQ(relay_store_append(s, ROOM_A, 16, buf, 0, 1, 0, NULL, 0, NULL, 0, &seq),
             RELAY_STORE_ERR_ARG);
    CHECK_EQ(relay_store_append(s, ROOM_A, 16, NULL, 1, 1, 0, NULL, 0, NULL, 0, &seq),
             RELAY_STORE_ERR_ARG);
    CHECK_EQ(relay_store_append(s, ROOM_A, 16, buf, RELAY_STORE_ENTRY_MAX + 1, 1, 0, NULL, 0, NULL,
                                0, &seq),
             RELAY_STORE_ERR_ARG);
    CHECK_EQ(relay_store_append(s, ROOM_A, 16, buf, 1, 1, 1, NULL, 0, NULL, 0, &seq),
             RELAY_STORE_ERR_ARG); /* a commit needs its GroupInfo */
    CHECK(strstr(relay_store_errmsg(s), "gi_box") != NULL);
    CHECK_EQ(relay_store_append(s, ROOM_A, 16, buf, 1, 1, 0, gi, 4, NULL, 0, &seq),
             RELAY_STORE_ERR_ARG);
    CHECK_EQ(relay_store_append(s, ROOM_A, 16, buf, 1, 1, 0, NULL, 0, PK2, 0, &seq),
             RELAY_STORE_ERR_ARG);
    CHECK_EQ(relay_store_append(s, ROOM_A, 16, buf, 1, (uint64_t)INT64_MAX + 1, 0, NULL, 0, NULL,
                                0, &seq),
             RELAY_STORE_ERR_ARG);
    CHECK_EQ(relay_store_staged(s), 0);

    /* stats */
    {
        relay_store_stats st;
        relay_store_stats_get(s, &st);
        CHECK_EQ(st.rooms, 1);
        CHECK_EQ(st.entries, 10);
        CHECK_EQ(st.appended, 10);
        CHECK_EQ(st.flushes, 3);
        CHECK_EQ(st.flush_failures, 0);
        CHECK(st.flush_ns_sum >= st.flush_ns_max && st.flush_ns_max >= st.flush_ns_last);
    }
    CHECK_EQ(relay_store_integrity_check(s), RELAY_STORE_OK);
    relay_store_close(s);
}

static void test_reopen(void)
{
    relay_store *s;
    relay_store_meta m;
    relay_store_stats st;
    uint8_t gi[16];
    size_t len;
    uint64_t seq;
    struct rd r;
    int kind;

    new_dir();
    s = open_ok(NULL);
    CHECK_EQ(relay_store_room_create(s, ROOM_A, 16, PK1, (const uint8_t *)"gi-a", 4, 5, 0),
             RELAY_STORE_OK);
    CHECK_EQ(relay_store_room_create(s, ROOM_B, 16, PK1, (const uint8_t *)"gi-b", 4, 5, 0),
             RELAY_STORE_OK);
    CHECK_EQ(flush_ok(s, 5), RELAY_STORE_OK);
    append_n(s, ROOM_A, 300, 200, 6);
    append_n(s, ROOM_B, 20, 10, 6);
    CHECK_EQ(relay_store_append(s, ROOM_A, 16, (const uint8_t *)"c", 1, 7, 1,
                                (const uint8_t *)"gi-a2", 5, PK2, 0, &seq),
             RELAY_STORE_OK);
    CHECK_EQ(flush_ok(s, 7), RELAY_STORE_OK);
    /* staged but never flushed: gone after close */
    CHECK_EQ(relay_store_append(s, ROOM_A, 16, gi, 3, 8, 0, NULL, 0, NULL, 0, &seq),
             RELAY_STORE_OK);
    CHECK_EQ(seq, 302);
    relay_store_close(s);

    s = open_ok(NULL);
    relay_store_stats_get(s, &st);
    CHECK_EQ(st.rooms, 2);
    CHECK_EQ(st.entries, 321);
    CHECK_EQ(st.bytes, 300 * 200 + 20 * 10 + 1);
    CHECK_EQ(relay_store_meta_get(s, ROOM_A, 16, &m), RELAY_STORE_OK);
    CHECK_EQ(m.head_seq, 301);
    CHECK_EQ(m.durable_head, 301);
    CHECK_EQ(m.epoch, 1);
    CHECK_EQ(m.gi_seq, 301);
    CHECK_MEM(m.join_pk, PK2, 32);
    CHECK_EQ(m.earlier_keys, 1);
    CHECK_EQ(relay_store_key_kind(s, ROOM_A, 16, PK1, &kind), RELAY_STORE_OK);
    CHECK_EQ(kind, RELAY_STORE_KEY_EARLIER);
    CHECK_EQ(relay_store_gi(s, ROOM_A, 16, gi, sizeof gi, &len, &seq), RELAY_STORE_OK);
    CHECK_EQ(len, 5);
    CHECK_MEM(gi, "gi-a2", 5);
    CHECK_EQ(read_all(s, ROOM_A, 0, &r), RELAY_STORE_OK);
    CHECK_EQ(r.n, 301);
    CHECK_EQ(r.bad, 0);
    CHECK_EQ(read_all(s, ROOM_B, 0, &r), RELAY_STORE_OK);
    CHECK_EQ(r.n, 20);
    CHECK_EQ(r.bad, 0);
    /* seqs continue after a reopen */
    CHECK_EQ(relay_store_append(s, ROOM_A, 16, gi, 3, 8, 0, NULL, 0, NULL, 0, &seq),
             RELAY_STORE_OK);
    CHECK_EQ(seq, 302);
    CHECK_EQ(flush_ok(s, 8), RELAY_STORE_OK);
    relay_store_close(s);
}

static void test_retention_count(void)
{
    relay_store_opts o;
    relay_store *s;
    relay_store_meta m;
    relay_store_stats st;
    struct rd r;
    uint8_t gi[16];
    size_t len;
    uint64_t seq;

    relay_store_opts_default(&o);
    o.max_entries = 50;
    new_dir();
    s = open_ok(&o);
    CHECK_EQ(relay_store_room_create(s, ROOM_A, 16, PK1, (const uint8_t *)"gi-0", 4, 0, 0),
             RELAY_STORE_OK);
    CHECK_EQ(flush_ok(s, 0), RELAY_STORE_OK);
    CHECK_EQ(relay_store_append(s, ROOM_A, 16, (const uint8_t *)"c1", 2, 1, 1,
                                (const uint8_t *)"gi-1", 4, NULL, 0, &seq),
             RELAY_STORE_OK);
    CHECK_EQ(flush_ok(s, 1), RELAY_STORE_OK);
    append_n(s, ROOM_A, 120, 32, 2);
    CHECK_EQ(relay_store_meta_get(s, ROOM_A, 16, &m), RELAY_STORE_OK);
    CHECK_EQ(m.entries, 50);
    CHECK_EQ(m.oldest_seq, 72);
    CHECK_EQ(m.durable_head, 121);
    /* the latest GroupInfo stays although its commit (seq 1) is gone */
    CHECK_EQ(m.gi_seq, 1);
    CHECK_EQ(relay_store_gi(s, ROOM_A, 16, gi, sizeof gi, &len, &seq), RELAY_STORE_OK);
    CHECK_MEM(gi, "gi-1", 4);
    CHECK_EQ(seq, 1);
    memset(&r, 0, sizeof r);
    CHECK_EQ(relay_store_read(s, ROOM_A, 16, 0, 10, 1 << 20, on_entry, &r, &seq),
             RELAY_STORE_ERR_GONE);
    CHECK_EQ(r.n, 0);
    CHECK(strstr(relay_store_errmsg(s), "gone") != NULL);
    CHECK_EQ(relay_store_read(s, ROOM_A, 16, 70, 10, 1 << 20, on_entry, &r, &seq),
             RELAY_STORE_ERR_GONE);
    CHECK_EQ(read_all(s, ROOM_A, 71, &r), RELAY_STORE_OK); /* 72 is the oldest: fine */
    CHECK_EQ(r.n, 50);
    CHECK_EQ(r.first, 72);
    CHECK_EQ(r.bad, 0);
    relay_store_stats_get(s, &st);
    CHECK_EQ(st.entries, 50);
    CHECK_EQ(st.bytes, 50 * 32);
    CHECK_EQ(st.retained_out, 71);
    relay_store_close(s);

    /* tighter bound at the next start: enforced in bounded steps, retain_rows per flush */
    o.max_entries = 5;
    o.retain_rows = 10;
    s = open_ok(&o);
    relay_store_stats_get(s, &st);
    CHECK_EQ(st.entries, 50);
    {
        int flushes = 0;
        uint64_t prev = 0;
        for (; flushes < 20; flushes++) {
            CHECK_EQ(flush_ok(s, 10 + (uint64_t)flushes * 1000), RELAY_STORE_OK);
            relay_store_stats_get(s, &st);
            CHECK(st.retained_out - prev <= 10);
            prev = st.retained_out;
            if (st.entries == 5)
                break;
        }
        CHECK(flushes >= 4); /* 45 rows at 10 per flush */
        CHECK_EQ(st.entries, 5);
    }
    CHECK_EQ(relay_store_meta_get(s, ROOM_A, 16, &m), RELAY_STORE_OK);
    CHECK_EQ(m.oldest_seq, 117);
    relay_store_close(s);
}

static void test_retention_bytes(void)
{
    relay_store_opts o;
    relay_store *s;
    relay_store_meta m;
    uint8_t big[3000];
    uint64_t seq;

    relay_store_opts_default(&o);
    o.max_bytes = 10000;
    new_dir();
    s = open_ok(&o);
    CHECK_EQ(relay_store_room_create(s, ROOM_A, 16, PK1, (const uint8_t *)"gi", 2, 0, 0),
             RELAY_STORE_OK);
    CHECK_EQ(relay_store_room_create(s, ROOM_B, 16, PK1, (const uint8_t *)"gi", 2, 0, 0),
             RELAY_STORE_OK);
    CHECK_EQ(flush_ok(s, 0), RELAY_STORE_OK);
    append_n(s, ROOM_A, 30, 1000, 1);
    CHECK_EQ(relay_store_meta_get(s, ROOM_A, 16, &m), RELAY_STORE_OK);
    CHECK_EQ(m.bytes, 10000);
    CHECK_EQ(m.entries, 10);
    CHECK_EQ(m.oldest_seq, 21);
    /* one entry bigger than what is left pushes out several */
    memset(big, 1, sizeof big);
    CHECK_EQ(relay_store_append(s, ROOM_A, 16, big, sizeof big, 2, 0, NULL, 0, NULL, 0, &seq),
             RELAY_STORE_OK);
    CHECK_EQ(flush_ok(s, 2), RELAY_STORE_OK);
    CHECK_EQ(relay_store_meta_get(s, ROOM_A, 16, &m), RELAY_STORE_OK);
    CHECK_EQ(m.bytes, 7 * 1000 + 3000);
    CHECK_EQ(m.oldest_seq, 24);
    /* the bound is per room: B is untouched */
    append_n(s, ROOM_B, 5, 1000, 3);
    CHECK_EQ(relay_store_meta_get(s, ROOM_B, 16, &m), RELAY_STORE_OK);
    CHECK_EQ(m.entries, 5);
    CHECK_EQ(m.oldest_seq, 1);
    relay_store_close(s);
}

static void test_retention_age(void)
{
    relay_store_opts o;
    relay_store *s;
    relay_store_meta m;
    struct rd r;
    uint64_t seq;
    const uint64_t H = 3600 * 1000;

    relay_store_opts_default(&o);
    o.max_age_ms = 1 * H;
    o.sweep_rooms = 1; /* one room per sweep: the sweep walks the rooms in turn */
    new_dir();
    s = open_ok(&o);
    CHECK_EQ(relay_store_room_create(s, ROOM_A, 16, PK1, (const uint8_t *)"gi", 2, 0, 0),
             RELAY_STORE_OK);
    CHECK_EQ(relay_store_room_create(s, ROOM_B, 16, PK1, (const uint8_t *)"gi", 2, 0, 0),
             RELAY_STORE_OK);
    CHECK_EQ(flush_ok(s, 0), RELAY_STORE_OK);
    for (uint64_t min = 0; min < 30; min++) /* one entry a minute in A for 30 minutes */
        append_n(s, ROOM_A, 1, 64, min * 60000);
    append_n(s, ROOM_B, 3, 64, 0);
    CHECK_EQ(relay_store_meta_get(s, ROOM_A, 16, &m), RELAY_STORE_OK);
    CHECK_EQ(m.entries, 30);
    /* appending at 1h10m drops what is older than 1h: minutes 0..10 */
    append_n(s, ROOM_A, 1, 64, H + 10 * 60000);
    CHECK_EQ(relay_store_meta_get(s, ROOM_A, 16, &m), RELAY_STORE_OK);
    CHECK_EQ(m.oldest_seq, 12);
    CHECK_EQ(m.entries, 20);
    /* B is idle: the sweep finds it (one room per sweep, once a second) */
    for (int i = 0; i < 4; i++)
        CHECK_EQ(flush_ok(s, H + 11 * 60000 + (uint64_t)i * 1000), RELAY_STORE_OK);
    CHECK_EQ(relay_store_meta_get(s, ROOM_B, 16, &m), RELAY_STORE_OK);
    CHECK_EQ(m.entries, 0);
    CHECK_EQ(m.oldest_seq, 4);
    CHECK_EQ(m.durable_head, 3);
    memset(&r, 0, sizeof r);
    CHECK_EQ(relay_store_read(s, ROOM_B, 16, 0, 10, 1 << 20, on_entry, &r, &seq),
             RELAY_STORE_ERR_GONE);
    CHECK_EQ(relay_store_read(s, ROOM_B, 16, 3, 10, 1 << 20, on_entry, &r, &seq), RELAY_STORE_OK);
    CHECK_EQ(r.n, 0);
    /* an emptied room goes on from its head */
    append_n(s, ROOM_B, 1, 64, H + 12 * 60000);
    CHECK_EQ(relay_store_meta_get(s, ROOM_B, 16, &m), RELAY_STORE_OK);
    CHECK_EQ(m.durable_head, 4);
    CHECK_EQ(m.oldest_seq, 4);
    CHECK_EQ(m.entries, 1);
    relay_store_close(s);
    /* after a reopen too */
    s = open_ok(&o);
    CHECK_EQ(relay_store_meta_get(s, ROOM_B, 16, &m), RELAY_STORE_OK);
    CHECK_EQ(m.oldest_seq, 4);
    CHECK_EQ(m.entries, 1);
    relay_store_close(s);
}

static void test_failed_flush(void)
{
    relay_store_opts o;
    relay_store *s;
    relay_store_meta m;
    relay_store_stats st;
    uint8_t buf[16384];
    uint64_t seq;
    struct rd r;

    relay_store_opts_default(&o);
    o.max_db_bytes = 256 << 10;
    new_dir();
    s = open_ok(&o);
    CHECK_EQ(relay_store_room_create(s, ROOM_A, 16, PK1, (const uint8_t *)"gi", 2, 0, 0),
             RELAY_STORE_OK);
    CHECK_EQ(flush_ok(s, 0), RELAY_STORE_OK);
    append_n(s, ROOM_A, 3, 100, 1);
    /* more than the database may hold, in two rooms, one of them new */
    CHECK_EQ(relay_store_room_create(s, ROOM_B, 16, PK2, (const uint8_t *)"gi", 2, 2, 900),
             RELAY_STORE_OK);
    for (int i = 0; i < 20; i++) {
        CHECK_EQ(relay_store_append(s, i % 2 ? ROOM_B : ROOM_A, 16, buf,
                                    entry_for(0, buf, sizeof buf), 2, 0, NULL, 0, NULL,
                                    1000 + (uint64_t)i, &seq),
                 RELAY_STORE_OK);
    }
    CHECK_EQ(relay_store_append(s, ROOM_A, 16, (const uint8_t *)"c", 1, 2, 1,
                                (const uint8_t *)"gi-new", 6, PK3, 2000, &seq),
             RELAY_STORE_OK);
    CHECK_EQ(flush_ok(s, 2), RELAY_STORE_ERR_FULL);
    CHECK_EQ(dn.n, 22);
    for (size_t i = 0; i < dn.n; i++)
        CHECK_EQ(dn.err[i], RELAY_STORE_ERR_FULL);
    CHECK(strstr(relay_store_errmsg(s), RELAY_STORE_FILE) != NULL);
    CHECK_EQ(relay_store_staged(s), 0);
    /* back to the durable state: A's head, epoch and key; B forgotten */
    CHECK_EQ(relay_store_meta_get(s, ROOM_A, 16, &m), RELAY_STORE_OK);
    CHECK_EQ(m.head_seq, 3);
    CHECK_EQ(m.durable_head, 3);
    CHECK_EQ(m.epoch, 0);
    CHECK_MEM(m.join_pk, PK1, 32);
    CHECK_EQ(relay_store_meta_get(s, ROOM_B, 16, &m), RELAY_STORE_ERR_NO_ROOM);
    relay_store_stats_get(s, &st);
    CHECK_EQ(st.flush_failures, 1);
    CHECK_EQ(st.rooms, 1);
    CHECK_EQ(st.entries, 3);
    /* the store goes on: seqs continue from the durable head */
    CHECK_EQ(relay_store_append(s, ROOM_A, 16, buf, entry_for(4, buf, 10), 3, 0, NULL, 0, NULL, 0,
                                &seq),
             RELAY_STORE_OK);
    CHECK_EQ(seq, 4);
    CHECK_EQ(flush_ok(s, 3), RELAY_STORE_OK);
    CHECK_EQ(dn.err[0], RELAY_STORE_OK);
    relay_store_close(s);
    /* and nothing of the failed flush reached the file */
    o.max_db_bytes = 0;
    s = open_ok(&o);
    CHECK_EQ(relay_store_meta_get(s, ROOM_B, 16, &m), RELAY_STORE_ERR_NO_ROOM);
    CHECK_EQ(read_all(s, ROOM_A, 0, &r), RELAY_STORE_OK);
    CHECK_EQ(r.n, 4);
    CHECK_EQ(r.bad, 0);
    relay_store_close(s);
}

static void test_staged_limit(void)
{
    relay_store_opts o;
    relay_store *s;
    uint8_t buf[1000] = {0};
    uint64_t seq;

    relay_store_opts_default(&o);
    o.max_staged_bytes = 2500;
    new_dir();
    s = open_ok(&o);
    CHECK_EQ(relay_store_room_create(s, ROOM_A, 16, PK1, (const uint8_t *)"gi", 2, 0, 0),
             RELAY_STORE_OK);
    CHECK_EQ(relay_store_append(s, ROOM_A, 16, buf, 1000, 0, 0, NULL, 0, NULL, 0, &seq),
             RELAY_STORE_OK);
    CHECK_EQ(relay_store_append(s, ROOM_A, 16, buf, 1000, 0, 0, NULL, 0, NULL, 0, &seq),
             RELAY_STORE_OK);
    CHECK_EQ(relay_store_append(s, ROOM_A, 16, buf, 1000, 0, 0, NULL, 0, NULL, 0, &seq),
             RELAY_STORE_ERR_STAGED);
    CHECK_EQ(relay_store_staged(s), 3);
    CHECK_EQ(flush_ok(s, 0), RELAY_STORE_OK);
    CHECK_EQ(relay_store_append(s, ROOM_A, 16, buf, 1000, 0, 0, NULL, 0, NULL, 0, &seq),
             RELAY_STORE_OK);
    CHECK_EQ(seq, 3);
    relay_store_close(s);
}

/* ---- damaged files ---- */

static void make_store(void)
{
    relay_store *s;

    new_dir();
    s = open_ok(NULL);
    CHECK_EQ(relay_store_room_create(s, ROOM_A, 16, PK1, (const uint8_t *)"gi", 2, 0, 0),
             RELAY_STORE_OK);
    CHECK_EQ(flush_ok(s, 0), RELAY_STORE_OK);
    append_n(s, ROOM_A, 2000, 500, 1); /* about 1 MB: many pages */
    relay_store_close(s);
}

static void expect_open_fails(relay_store_err want, const char *needle)
{
    char err[512], path[600];
    relay_store *s = (relay_store *)1;
    relay_store_err e = relay_store_open(dir, NULL, &s, err, sizeof err);

    CHECK_EQ(e, want);
    CHECK(s == NULL);
    CHECK(strstr(err, db_path(path, sizeof path)) != NULL || strstr(err, dir) != NULL);
    if (needle && !strstr(err, needle)) {
        fprintf(stderr, "message without \"%s\": %s\n", needle, err);
        CHECK(0);
    }
    if (e == want)
        printf("  refused as expected: %s\n", err);
}

static long file_size(const char *p)
{
    struct stat st;
    return stat(p, &st) ? -1 : (long)st.st_size;
}

static void test_corrupt(void)
{
    char path[600];
    int fd;

    /* header bytes overwritten */
    make_store();
    fd = open(db_path(path, sizeof path), O_WRONLY);
    CHECK(fd >= 0);
    CHECK_EQ(pwrite(fd, "garbage garbage garbage!", 24, 0), 24);
    close(fd);
    expect_open_fails(RELAY_STORE_ERR_CORRUPT, "restore a backup");
    CHECK(file_size(path) > 1000000); /* left as it was */

    /* truncated to half: quick_check finds the missing pages */
    make_store();
    CHECK(truncate(db_path(path, sizeof path), file_size(path) / 2) == 0);
    expect_open_fails(RELAY_STORE_ERR_CORRUPT, NULL);

    /* truncated to a few bytes, or to nothing */
    make_store();
    CHECK(truncate(db_path(path, sizeof path), 50) == 0);
    expect_open_fails(RELAY_STORE_ERR_CORRUPT, NULL);
    CHECK(truncate(path, 0) == 0);
    expect_open_fails(RELAY_STORE_ERR_CORRUPT, "empty");
    CHECK_EQ(file_size(path), 0); /* not silently recreated */

    /* a page in the middle overwritten with noise */
    make_store();
    fd = open(db_path(path, sizeof path), O_WRONLY);
    {
        uint8_t noise[4096];
        for (size_t i = 0; i < sizeof noise; i++)
            noise[i] = (uint8_t)(i * 37 + 11);
        CHECK_EQ(pwrite(fd, noise, sizeof noise, 4096 * 40), (ssize_t)sizeof noise);
    }
    close(fd);
    expect_open_fails(RELAY_STORE_ERR_CORRUPT, NULL);

    /* an SQLite database of someone else */
    new_dir();
    CHECK(mkdir(dir, 0700) == 0);
    {
        sqlite3 *db;
        CHECK_EQ(sqlite3_open(db_path(path, sizeof path), &db), SQLITE_OK);
        CHECK_EQ(sqlite3_exec(db, "CREATE TABLE t(x); INSERT INTO t VALUES(1)", 0, 0, 0),
                 SQLITE_OK);
        sqlite3_close(db);
    }
    expect_open_fails(RELAY_STORE_ERR_CORRUPT, "not a saltchat store");

    /* store.db is a directory; the data directory is a file */
    new_dir();
    CHECK(mkdir(dir, 0700) == 0);
    CHECK(mkdir(db_path(path, sizeof path), 0700) == 0);
    expect_open_fails(RELAY_STORE_ERR_IO, "not a regular file");
    new_dir();
    fd = open(dir, O_CREAT | O_WRONLY, 0600);
    close(fd);
    expect_open_fails(RELAY_STORE_ERR_IO, "not a directory");
}

static void test_newer_schema(void)
{
    char path[600];
    sqlite3 *db;

    make_store();
    CHECK_EQ(sqlite3_open(db_path(path, sizeof path), &db), SQLITE_OK);
    CHECK_EQ(sqlite3_exec(db, "UPDATE schema_version SET version = version + 1", 0, 0, 0),
             SQLITE_OK);
    sqlite3_close(db);
    expect_open_fails(RELAY_STORE_ERR_SCHEMA, "newer");
    /* schema 1 (before the log hashes) is refused with its own message */
    CHECK_EQ(sqlite3_open(db_path(path, sizeof path), &db), SQLITE_OK);
    CHECK_EQ(sqlite3_exec(db, "UPDATE schema_version SET version = 1", 0, 0, 0), SQLITE_OK);
    sqlite3_close(db);
    expect_open_fails(RELAY_STORE_ERR_SCHEMA, "development build");
    CHECK_EQ(sqlite3_open(db_path(path, sizeof path), &db), SQLITE_OK);
    CHECK_EQ(sqlite3_exec(db, "UPDATE schema_version SET version = 3", 0, 0, 0), SQLITE_OK);
    sqlite3_close(db);
    /* and the file is left alone: the newer relay can still read it */
    CHECK_EQ(sqlite3_open(path, &db), SQLITE_OK);
    {
        sqlite3_stmt *q;
        CHECK_EQ(sqlite3_prepare_v2(db, "SELECT count(*) FROM entries", -1, &q, NULL), SQLITE_OK);
        CHECK_EQ(sqlite3_step(q), SQLITE_ROW);
        CHECK_EQ(sqlite3_column_int(q, 0), 2000);
        sqlite3_finalize(q);
    }
    sqlite3_close(db);
}

static void test_locked(void)
{
    relay_store *a, *b = NULL;
    char err[512];

    new_dir();
    a = open_ok(NULL);
    CHECK_EQ(relay_store_open(dir, NULL, &b, err, sizeof err), RELAY_STORE_ERR_LOCKED);
    CHECK(b == NULL);
    CHECK(strstr(err, "another process") != NULL);
    relay_store_close(a);
    b = open_ok(NULL);
    relay_store_close(b);
}

static void test_names(void)
{
    for (int e = RELAY_STORE_OK; e <= RELAY_STORE_ERR_DB; e++)
        CHECK(strcmp(relay_store_err_name((relay_store_err)e), "unknown") != 0);
    CHECK(!strcmp(relay_store_err_name(RELAY_STORE_ERR_CORRUPT), "corrupt"));
    CHECK(!strcmp(relay_store_errmsg(NULL), "no store"));
}

/* A commit rotating the room's key to pk, flushed (or only staged if !flush). */
static void rotate(relay_store *s, const uint8_t *pk, uint64_t t, int flush)
{
    uint64_t seq;

    CHECK_EQ(relay_store_append(s, ROOM_A, 16, (const uint8_t *)"rot", 3, t, 1,
                                (const uint8_t *)"gi-r", 4, pk, t, &seq),
             RELAY_STORE_OK);
    if (flush)
        CHECK_EQ(flush_ok(s, t), RELAY_STORE_OK);
}

/* Checks that room A's meta (earlier_keys is kept in memory) matches the database's list
 * of earlier keys and what a fresh open reads back; returns the reopened store. */
static relay_store *same_after_reopen(relay_store *s, const relay_store_opts *o, uint32_t keys)
{
    relay_store_meta a, b;
    size_t nk = 0;

    CHECK_EQ(relay_store_meta_get(s, ROOM_A, 16, &a), RELAY_STORE_OK);
    CHECK_EQ(a.earlier_keys, keys);
    CHECK_EQ(relay_store_earlier_keys(s, ROOM_A, 16, NULL, 0, &nk), RELAY_STORE_OK);
    CHECK_EQ(nk, keys);
    relay_store_close(s);
    s = open_ok(o);
    CHECK_EQ(relay_store_meta_get(s, ROOM_A, 16, &b), RELAY_STORE_OK);
    CHECK_EQ(b.earlier_keys, a.earlier_keys);
    CHECK_EQ(b.epoch, a.epoch);
    CHECK_EQ(b.head_seq, a.head_seq);
    CHECK_EQ(b.durable_head, a.durable_head);
    CHECK_EQ(b.oldest_seq, a.oldest_seq);
    CHECK_EQ(b.gi_seq, a.gi_seq);
    CHECK_EQ(b.entries, a.entries);
    CHECK_EQ(b.bytes, a.bytes);
    CHECK_EQ(b.created_ms, a.created_ms);
    CHECK_EQ(b.durable, a.durable);
    CHECK_MEM(b.join_pk, a.join_pk, 32);
    CHECK_MEM(b.head_hash, a.head_hash, 32);
    CHECK_MEM(b.gi_hash, a.gi_hash, 32);
    return s;
}

/* meta's earlier_keys is counted once when a room is loaded and then kept up to date by
 * flush: it must match a fresh open after rotations (a key the room had before is not
 * counted twice), retention of the rotating commits and a flush that failed. */
static void test_meta_cached(void)
{
    static const uint8_t PK4[32] = "pk4.............................";
    relay_store_opts o;
    relay_store *s;
    relay_store_meta m;
    uint8_t buf[16384];
    uint64_t seq;

    relay_store_opts_default(&o);
    o.max_entries = 4;
    o.max_db_bytes = 256 << 10;
    new_dir();
    s = open_ok(&o);
    CHECK_EQ(relay_store_room_create(s, ROOM_A, 16, PK1, (const uint8_t *)"gi-0", 4, 0, 0),
             RELAY_STORE_OK);
    CHECK_EQ(relay_store_meta_get(s, ROOM_A, 16, &m), RELAY_STORE_OK);
    CHECK_EQ(m.earlier_keys, 0); /* creation staged only */
    CHECK_EQ(flush_ok(s, 0), RELAY_STORE_OK);
    s = same_after_reopen(s, &o, 0);

    rotate(s, PK2, 1, 0); /* staged: not counted until durable */
    CHECK_EQ(relay_store_meta_get(s, ROOM_A, 16, &m), RELAY_STORE_OK);
    CHECK_EQ(m.earlier_keys, 0);
    CHECK_EQ(flush_ok(s, 1), RELAY_STORE_OK);
    s = same_after_reopen(s, &o, 1); /* PK1 */

    /* a failed flush with a rotation that would add PK2: rolled back, count too */
    rotate(s, PK3, 2, 0);
    for (int i = 0; i < 20; i++)
        CHECK_EQ(relay_store_append(s, ROOM_A, 16, buf, entry_for(0, buf, sizeof buf), 2, 0,
                                    NULL, 0, NULL, 100 + (uint64_t)i, &seq),
                 RELAY_STORE_OK);
    CHECK_EQ(flush_ok(s, 2), RELAY_STORE_ERR_FULL);
    CHECK_EQ(relay_store_meta_get(s, ROOM_A, 16, &m), RELAY_STORE_OK);
    CHECK_EQ(m.earlier_keys, 1);
    CHECK_MEM(m.join_pk, PK2, 32);
    s = same_after_reopen(s, &o, 1);

    /* two rotations in one flush, then one back to a key the room had (not a new row) */
    rotate(s, PK3, 3, 0);
    rotate(s, PK1, 3, 1);
    s = same_after_reopen(s, &o, 3); /* PK1, PK2, PK3 */
    rotate(s, PK2, 4, 1);
    CHECK_EQ(relay_store_meta_get(s, ROOM_A, 16, &m), RELAY_STORE_OK);
    CHECK_EQ(m.earlier_keys, 3); /* PK1 again: ignored */
    rotate(s, PK4, 5, 1);
    /* retention drops every rotating commit; the earlier keys stay */
    append_n(s, ROOM_A, 8, 16, 6);
    CHECK_EQ(relay_store_meta_get(s, ROOM_A, 16, &m), RELAY_STORE_OK);
    CHECK_EQ(m.entries, 4);
    CHECK(m.oldest_seq > 5);
    s = same_after_reopen(s, &o, 3);
    /* and the reopened store goes on counting from what it loaded */
    rotate(s, PK1, 7, 1);
    s = same_after_reopen(s, &o, 4); /* + PK4 */
    relay_store_close(s);
}

/* relay_store_discard drops staged writes (a staged creation included) without a
 * transaction; relay_store_room_create_at makes a room at a head from a snapshot, which
 * survives a reopen and goes on from head + 1 (the cluster's replica, relay_v2c). */
static void test_discard_create_at(void)
{
    relay_store *s;
    relay_store_meta m;
    uint8_t gi[16], h[32];
    size_t len;
    uint64_t seq;
    struct rd r;

    new_dir();
    s = open_ok(NULL);
    CHECK_EQ(relay_store_room_create(s, ROOM_A, 16, PK1, (const uint8_t *)"gi-a", 4, 5, 0),
             RELAY_STORE_OK);
    CHECK_EQ(flush_ok(s, 5), RELAY_STORE_OK);
    CHECK_EQ(relay_store_append(s, ROOM_A, 16, (const uint8_t *)"c", 1, 7, 1,
                                (const uint8_t *)"gi-a2", 5, PK2, 0, &seq),
             RELAY_STORE_OK);
    CHECK_EQ(relay_store_room_create(s, ROOM_B, 16, PK1, (const uint8_t *)"gi-b", 4, 5, 0),
             RELAY_STORE_OK);
    CHECK_EQ(relay_store_staged(s), 2);
    relay_store_discard(s);
    CHECK_EQ(relay_store_staged(s), 0);
    CHECK_EQ(relay_store_meta_get(s, ROOM_A, 16, &m), RELAY_STORE_OK);
    CHECK_EQ(m.head_seq, 0);
    CHECK_EQ(m.epoch, 0);
    CHECK_MEM(m.join_pk, PK1, 32);
    CHECK_EQ(relay_store_meta_get(s, ROOM_B, 16, &m), RELAY_STORE_ERR_NO_ROOM);
    CHECK_EQ(flush_ok(s, 8), RELAY_STORE_OK);
    CHECK_EQ(dn.n, 0); /* nothing reported for what was discarded */

    memset(h, 7, sizeof h);
    CHECK_EQ(relay_store_room_create_at(s, ROOM_B, 16, PK3, (const uint8_t *)"gi-snap", 7, 5,
                                        4, 40, 0),
             RELAY_STORE_OK);
    CHECK_EQ(relay_store_stage_hash(s, h), RELAY_STORE_OK);
    CHECK_EQ(flush_ok(s, 9), RELAY_STORE_OK);
    relay_store_close(s);
    s = open_ok(NULL);
    CHECK_EQ(relay_store_meta_get(s, ROOM_B, 16, &m), RELAY_STORE_OK);
    CHECK_EQ(m.durable_head, 40);
    CHECK_EQ(m.oldest_seq, 41);
    CHECK_EQ(m.epoch, 4);
    CHECK_EQ(m.gi_seq, 40);
    CHECK_MEM(m.join_pk, PK3, 32);
    CHECK_MEM(m.head_hash, h, 32);
    CHECK_MEM(m.gi_hash, h, 32);
    CHECK_EQ(relay_store_gi(s, ROOM_B, 16, gi, sizeof gi, &len, &seq), RELAY_STORE_OK);
    CHECK_EQ(len, 7);
    CHECK_EQ(seq, 40);
    CHECK_MEM(gi, "gi-snap", 7);
    CHECK_EQ(read_all(s, ROOM_B, 0, &r), RELAY_STORE_ERR_GONE);
    CHECK_EQ(read_all(s, ROOM_B, 40, &r), RELAY_STORE_OK);
    CHECK_EQ(r.n, 0);
    CHECK_EQ(relay_store_append(s, ROOM_B, 16, (const uint8_t *)"x", 1, 10, 0, NULL, 0, NULL, 0,
                                &seq),
             RELAY_STORE_OK);
    CHECK_EQ(seq, 41);
    CHECK_EQ(flush_ok(s, 10), RELAY_STORE_OK);
    CHECK_EQ(read_all(s, ROOM_B, 40, &r), RELAY_STORE_OK);
    CHECK_EQ(r.n, 1);

    /* reset to a snapshot past the head: entries gone, the old key an earlier one */
    int kind = 0;
    CHECK_EQ(relay_store_room_reset(s, ROOM_B, 16, PK2, (const uint8_t *)"gi-r", 4, 6, 41, 0),
             RELAY_STORE_ERR_ARG); /* not past the head */
    memset(h, 9, sizeof h);
    CHECK_EQ(relay_store_room_reset(s, ROOM_B, 16, PK2, (const uint8_t *)"gi-r", 4, 6, 60, 0),
             RELAY_STORE_OK);
    CHECK_EQ(relay_store_stage_hash(s, h), RELAY_STORE_OK);
    CHECK_EQ(flush_ok(s, 11), RELAY_STORE_OK);
    relay_store_close(s);
    s = open_ok(NULL);
    CHECK_EQ(relay_store_meta_get(s, ROOM_B, 16, &m), RELAY_STORE_OK);
    CHECK_EQ(m.durable_head, 60);
    CHECK_EQ(m.oldest_seq, 61);
    CHECK_EQ(m.entries, 0);
    CHECK_EQ(m.epoch, 6);
    CHECK_EQ(m.gi_seq, 60);
    CHECK_MEM(m.join_pk, PK2, 32);
    CHECK_MEM(m.gi_hash, h, 32);
    CHECK_EQ(relay_store_key_kind(s, ROOM_B, 16, PK3, &kind), RELAY_STORE_OK);
    CHECK_EQ(kind, RELAY_STORE_KEY_EARLIER);
    CHECK_EQ(relay_store_gi(s, ROOM_B, 16, gi, sizeof gi, &len, &seq), RELAY_STORE_OK);
    CHECK_EQ(len, 4);
    CHECK_MEM(gi, "gi-r", 4);
    CHECK_EQ(read_all(s, ROOM_B, 41, &r), RELAY_STORE_ERR_GONE);
    CHECK_EQ(read_all(s, ROOM_B, 60, &r), RELAY_STORE_OK);
    CHECK_EQ(r.n, 0);
    relay_store_stats st;
    relay_store_stats_get(s, &st);
    CHECK_EQ(st.entries, 0); /* ROOM_A has none durable either */
    relay_store_close(s);
}

int main(void)
{
    char cmd[600];

    if (!mkdtemp(base)) {
        perror("mkdtemp");
        return 1;
    }
    test_open_create();
    test_rooms();
    test_append_and_read();
    test_reopen();
    test_retention_count();
    test_retention_bytes();
    test_retention_age();
    test_failed_flush();
    test_meta_cached();
    test_staged_limit();
    test_corrupt();
    test_newer_schema();
    test_locked();
    test_names();
    test_discard_create_at();
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", base);
    return check_finish("test_relay_store");
}
