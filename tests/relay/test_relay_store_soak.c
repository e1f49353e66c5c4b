/* A soak of relay_store compressed in time: one hour of traffic (fake time_ms, a loop
 * turn every 250 ms) into four rooms with small retention bounds, one room going idle at
 * half time. Asserts that retention keeps every room inside its bounds, that the idle room
 * ages out, that the log stays contiguous with the right bytes, and that the files on disk
 * (database + WAL) stop growing: free pages are reused. Not a benchmark: no timing.
 * synchronous=NORMAL, because fsync changes nothing here (durability: store_crash.py). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../unit/check.h"
#include "relay_store.h"

#define ROOMS 4
#define TURN_MS 250
#define HOUR_MS (3600u * 1000)
#define MAX_ENTRIES 3000
#define MAX_BYTES (512u << 10)
#define MAX_AGE_MS (10u * 60 * 1000)
#define FILE_BOUND (12u << 20) /* db + WAL: data 4 x 512 KiB, WAL up to ~4 MiB, slack */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

static void fill(uint8_t room, uint64_t seq, uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(seq * 131 + i * 7 + room);
}

struct check_ctx {
    uint8_t room;
    uint64_t expect;
    int bad;
};

static int on_entry(void *ctx, const relay_store_entry *e)
{
    struct check_ctx *c = ctx;
    uint8_t want[1100];

    if (e->seq != c->expect || e->len > sizeof want)
        c->bad++;
    else {
        fill(c->room, e->seq, want, e->len);
        if (memcmp(want, e->body, e->len))
            c->bad++;
    }
    c->expect = e->seq + 1;
    return 0;
}

static long file_size(const char *dir, const char *name)
{
    char p[256];
    struct stat sb;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return stat(p, &sb) ? -1 : (long)sb.st_size;
}

static unsigned fails_seen;

static void on_done(void *ctx, uint64_t tag, const uint8_t *id, size_t len, uint64_t seq,
                    relay_store_err err)
{
    (void)ctx, (void)tag, (void)id, (void)len, (void)seq;
    if (err != RELAY_STORE_OK)
        fails_seen++;
}

int main(void)
{
    char base[] = "/tmp/relay-store-soak-XXXXXX", cmd[128], err[512];
    uint8_t ids[ROOMS][16], buf[1100];
    relay_store_opts o;
    relay_store *s = NULL;
    relay_store_stats st;
    uint64_t db_at_20min = 0, max_file = 0, total_in = 0, entries_in = 0;

    if (!mkdtemp(base)) {
        perror("mkdtemp");
        return 1;
    }
    relay_store_opts_default(&o);
    o.max_entries = MAX_ENTRIES;
    o.max_bytes = MAX_BYTES;
    o.max_age_ms = MAX_AGE_MS;
    o.sync_normal = 1;
    CHECK_EQ(relay_store_open(base, &o, &s, err, sizeof err), RELAY_STORE_OK);
    if (!s) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    for (int r = 0; r < ROOMS; r++) {
        memset(ids[r], 'r', 16);
        ids[r][15] = (uint8_t)('0' + r);
        CHECK_EQ(relay_store_room_create(s, ids[r], 16, (const uint8_t *)"pk..............."
                                                                        "...............",
                                         (const uint8_t *)"gi", 2, 0, 0),
                 RELAY_STORE_OK);
    }
    for (uint64_t now = 0; now <= HOUR_MS; now += TURN_MS) {
        unsigned n = 1 + next_rand() % 8;
        for (unsigned i = 0; i < n; i++) {
            /* room 0 gets half the traffic; room 3 falls silent at half time */
            int r = (int)(next_rand() % 6);
            size_t len = 64 + next_rand() % 961;
            relay_store_meta m;
            uint64_t seq = 0;
            r = r >= 3 ? 0 : r + 1;
            if (r == 3 && now > HOUR_MS / 2)
                r = 1;
            CHECK_EQ(relay_store_meta_get(s, ids[r], 16, &m), RELAY_STORE_OK);
            fill((uint8_t)r, m.head_seq + 1, buf, len);
            CHECK_EQ(relay_store_append(s, ids[r], 16, buf, len, now, 0, NULL, 0, NULL, 0, &seq),
                     RELAY_STORE_OK);
            CHECK_EQ(seq, m.head_seq + 1);
            total_in += len;
            entries_in++;
        }
        CHECK_EQ(relay_store_flush(s, now, on_done, NULL), RELAY_STORE_OK);
        if (now % (5 * 60 * 1000) == 0) {
            relay_store_stats_get(s, &st);
            printf("t=%2llu min: %6llu entries, %8llu bytes retained, files %8llu bytes"
                   " (database %ld, WAL %ld)\n",
                   (unsigned long long)(now / 60000), (unsigned long long)st.entries,
                   (unsigned long long)st.bytes, (unsigned long long)st.file_bytes,
                   file_size(base, RELAY_STORE_FILE), file_size(base, RELAY_STORE_FILE "-wal"));
            if (now == 20 * 60 * 1000)
                db_at_20min = st.file_bytes;
            if (now >= 15 * 60 * 1000 && st.file_bytes > max_file)
                max_file = st.file_bytes;
            for (int r = 0; r < ROOMS; r++) {
                relay_store_meta m;
                CHECK_EQ(relay_store_meta_get(s, ids[r], 16, &m), RELAY_STORE_OK);
                CHECK(m.entries <= MAX_ENTRIES);
                CHECK(m.bytes <= MAX_BYTES);
                CHECK_EQ(m.entries, m.durable_head + 1 - m.oldest_seq);
            }
        }
    }
    relay_store_stats_get(s, &st);
    printf("in: %llu entries, %llu bytes over one hour-equivalent; max files after 15 min: "
           "%llu bytes (bound %u)\n",
           (unsigned long long)entries_in, (unsigned long long)total_in,
           (unsigned long long)max_file, FILE_BOUND);
    fflush(stdout);
    CHECK_EQ(fails_seen, 0);
    CHECK_EQ(st.appended, entries_in);
    CHECK(total_in > 2 * (uint64_t)FILE_BOUND); /* the traffic is well above the bound */
    CHECK(max_file > 0 && max_file <= FILE_BOUND);
    /* no growth trend: the second half of the hour does not outgrow minute 20 by much */
    CHECK(db_at_20min > 0 && st.file_bytes <= db_at_20min + db_at_20min / 2);
    {
        uint64_t sum = 0;
        for (int r = 0; r < ROOMS; r++) {
            relay_store_meta m;
            struct check_ctx c = {(uint8_t)r, 0, 0};
            uint64_t last;
            CHECK_EQ(relay_store_meta_get(s, ids[r], 16, &m), RELAY_STORE_OK);
            sum += m.entries;
            if (r == 3) {
                CHECK_EQ(m.entries, 0); /* idle for 30 minutes: aged out by the sweep */
                CHECK(m.durable_head > 0);
                continue;
            }
            CHECK(m.entries > 0);
            c.expect = m.oldest_seq;
            last = m.oldest_seq - 1;
            for (;;) {
                uint64_t before = last;
                CHECK_EQ(relay_store_read(s, ids[r], 16, last, 500, 1 << 20, on_entry, &c, &last),
                         RELAY_STORE_OK);
                if (last == before)
                    break;
            }
            CHECK_EQ(last, m.durable_head);
            CHECK_EQ(c.bad, 0);
        }
        CHECK_EQ(sum, st.entries);
    }
    CHECK_EQ(relay_store_integrity_check(s), RELAY_STORE_OK);
    relay_store_close(s);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", base);
    return check_finish("test_relay_store_soak");
}
