/* fuzz_sc2_room: the protocol v2 client state machine (shared/v2/sc2_room) under hostile
 * relay traffic.
 *
 * Setup (once, deterministic: libsodium's randomness and every room's rng are fixed
 * ChaCha20 streams): alice creates a room in the relay test double (tests/unit/
 * sc2_ds_double.h), bob and carol join, texts go round; bob's state is exported (seq P)
 * and a fresh copy of it reconnects (CHALLENGE, AUTH + RESUME, LIVE). While that copy is
 * LIVE the others (and it) keep talking: an update, a removal (the link rotates), texts,
 * a commit of bob's. Every message the double sends the copy is captured.
 *
 * Each input: the same copy again (import, connect, the captured CHALLENGE, LIVE at P: it
 * is LIVE in a real three-member group), then records until the input ends:
 *   op % 8 = 0, 1  raw message: u16 length (big endian), that many bytes
 *            2     captured message [u8 index]
 *            3     captured message [u8 index] with the byte at u16 offset xor u8
 *            4     captured message [u8 index] cut to u16 length
 *            5     the user sends text [u8 index] (bob's texts of the setup, or another)
 *            6     the user commits an update
 *            7     the connection drops and a new one opens (the captured CHALLENGE)
 * Every message goes to sc2_room_receive. Checks: it returns 0 or -1; -1 from a
 * connection that was not already BROKEN/OFFLINE leaves the room BROKEN with a GAP,
 * RELAY_ERROR, PROTOCOL_ERROR or UNREADABLE (a commit it cannot follow) event (the caller
 * then reconnects, as it must); 0 never
 * leaves it BROKEN; every event has a known type, its strings are NUL-terminated, the
 * ones that explain a refusal carry a reason; every output is one valid client envelope.
 * After the input: the state exports, imports, and exports again to the same bytes; the
 * imported room reconnects, goes LIVE, and a text it sends produces a SUBMIT (unless it
 * is DEAD, when sending is refused; or it has to rejoin, when it asks for the GroupInfo; or the relay's LIVE head is before an entry it
 * ACCEPTED for us, which must be a PROTOCOL_ERROR, not a silent stall). ASan/LSan catch memory errors and leaks.
 *
 * SC2_ROOM_FUZZ_SEEDS=<dir> in the environment writes the seed corpus (the captured
 * messages) to <dir> and exits; SC2_ROOM_FUZZ_VERBOSE prints every event.
 */
#include "fuzz_common.h"

#pragma GCC diagnostic ignored "-Wunused-function" /* the double's unused hooks */
#include "mls_codec.h"
#include "sc2_ds_double.h"
#include "sc2_room.h"

#define NOW 1700000000000ull
#define BASE "http://127.0.0.1:8080/"
#define MAX_CAP 256
#define MAX_RECORDS 64

/* ---------------------------------------------------------------- determinism */

typedef struct det_stream {
    uint8_t key[crypto_stream_chacha20_ietf_KEYBYTES];
    uint64_t ctr;
} det_stream;

static void det_reset(det_stream *s, uint8_t tag)
{
    memset(s->key, tag, sizeof s->key);
    s->ctr = 0;
}

static void det_fill(void *ctx, uint8_t *out, size_t n)
{
    det_stream *s = ctx;
    uint8_t nonce[crypto_stream_chacha20_ietf_NONCEBYTES] = { 0 };
    memcpy(nonce, &s->ctr, sizeof s->ctr);
    s->ctr++;
    crypto_stream_chacha20_ietf(out, n, nonce, s->key);
}

static int g_verbose; /* SC2_ROOM_FUZZ_VERBOSE: print the events (reproducing a crash) */
static det_stream g_sodium; /* libsodium's randombytes (the double, NULL rngs) */

static const char *det_name(void) { return "fuzz-deterministic"; }
static uint32_t det_random(void)
{
    uint32_t v;
    det_fill(&g_sodium, (uint8_t *)&v, sizeof v);
    return v;
}
static void det_buf(void *const buf, const size_t n) { det_fill(&g_sodium, buf, n); }

static randombytes_implementation det_impl = {
    .implementation_name = det_name,
    .random = det_random,
    .buf = det_buf,
};

/* ---------------------------------------------------------------- fixture */

typedef struct member {
    const char *name;
    uint8_t seed[32];
    det_stream stream;
    mls_rng rng;
    sc2_room *r;
    int conn;
} member;

static struct {
    mls_bytes bob_state; /* bob at seq P, OFFLINE */
    uint64_t p_seq;
    ds_msg cap[MAX_CAP]; /* relay -> bob's copy, in order: [0] CHALLENGE, [1] LIVE P */
    size_t n_cap;
    uint8_t bob_seed[32];
} G;

static sc2_room_config cfg_of(member *m)
{
    sc2_room_config c = { m->seed, m->name, &m->rng };
    return c;
}

static void member_init(member *m, const char *name, uint8_t tag)
{
    memset(m, 0, sizeof *m);
    m->name = name;
    memset(m->seed, tag, sizeof m->seed);
    det_reset(&m->stream, tag);
    m->rng.fill = det_fill;
    m->rng.ctx = &m->stream;
    m->conn = -1;
}

static void drain_events(sc2_room *r)
{
    sc2_room_event ev;
    while (sc2_room_next_event(r, &ev)) {
    }
}

static void capture(const uint8_t *p, size_t n)
{
    FUZZ_ASSERT(G.n_cap < MAX_CAP);
    G.cap[G.n_cap].p = malloc(n);
    FUZZ_ASSERT(G.cap[G.n_cap].p);
    memcpy(G.cap[G.n_cap].p, p, n);
    G.cap[G.n_cap++].len = n;
}

/* Moves messages until nothing moves; what goes to *spy is captured. */
static void settle(ds *d, member **ms, size_t n, member *spy)
{
    for (int iter = 0; iter < 10000; iter++) {
        int progress = 0;
        for (size_t i = 0; i < n; i++) {
            member *m = ms[i];
            if (m->conn < 0)
                continue;
            size_t len;
            const uint8_t *o;
            while ((o = sc2_room_output(m->r, &len))) {
                ds_input(d, m->conn, o, len);
                sc2_room_output_pop(m->r);
                progress = 1;
            }
            uint8_t *in;
            while ((in = ds_pop(d, m->conn, &len))) {
                if (m == spy)
                    capture(in, len);
                int rc = sc2_room_receive(m->r, in, len, NOW);
                free(in);
                FUZZ_ASSERT(rc == 0); /* the setup is a well-behaved run */
                progress = 1;
            }
            drain_events(m->r);
        }
        if (!progress)
            return;
    }
    FUZZ_ASSERT(!"the setup did not settle");
}

static void connect_member(ds *d, member *m)
{
    m->conn = ds_open(d);
    sc2_room_connected(m->r, NOW);
}

static void join_member(ds *d, member *m, member *inviter, member **ms, size_t n)
{
    char link[SC2_LINK_MAX_URL];
    FUZZ_ASSERT(sc2_room_link(inviter->r, BASE, link, sizeof link) > 0);
    sc2_room_config c = cfg_of(m);
    FUZZ_ASSERT(sc2_room_join(&m->r, &c, link) == 0);
    connect_member(d, m);
    settle(d, ms, n, NULL);
    FUZZ_ASSERT(sc2_room_state(m->r) == SC2_RS_LIVE);
}

/* bob's texts in the setup (the same bytes again encrypt to the captured messages) */
static const char *const texts[3] = { "bob says hi", "so she is", "fuzz" };

static void text(member *m, const char *t)
{
    FUZZ_ASSERT(sc2_room_send_text(m->r, (const uint8_t *)t, strlen(t), NOW, NULL) == 0);
}

static void setup(void)
{
    ds d;
    member a, b, c, b2;
    member_init(&a, "alice", 0xa1);
    member_init(&b, "bob", 0xb0);
    member_init(&c, "carol", 0xc0);
    sc2_room_config ca = cfg_of(&a);
    FUZZ_ASSERT(sc2_room_create(&a.r, &ca, NOW) == 0);
    ds_init(&d, sc2_room_id(a.r));
    connect_member(&d, &a);
    member *all[] = { &a, &b, &c };
    settle(&d, all, 1, NULL);
    FUZZ_ASSERT(sc2_room_state(a.r) == SC2_RS_LIVE);
    join_member(&d, &b, &a, all, 2);
    join_member(&d, &c, &b, all, 3);
    text(&a, "hello all");
    text(&c, "hi from carol");
    settle(&d, all, 3, NULL);

    /* bob at P, then the copy the fuzzer starts from */
    G.p_seq = sc2_room_seq(b.r);
    FUZZ_ASSERT(sc2_room_export(b.r, &G.bob_state) == 0);
    memcpy(G.bob_seed, b.seed, sizeof G.bob_seed);
    ds_close(&d, b.conn);
    sc2_room_free(b.r);
    member_init(&b2, "bob", 0xb0);
    det_reset(&b2.stream, 0xb1);
    sc2_room_config cb = cfg_of(&b2);
    FUZZ_ASSERT(sc2_room_import(&b2.r, &cb, G.bob_state.p, G.bob_state.len) == 0);
    connect_member(&d, &b2);
    member *live[] = { &a, &b2, &c };
    settle(&d, live, 3, &b2);
    FUZZ_ASSERT(sc2_room_state(b2.r) == SC2_RS_LIVE && G.n_cap == 2);

    /* the traffic the copy sees live */
    text(&a, "while bob is back");
    FUZZ_ASSERT(sc2_room_update(c.r, NOW, NULL) == 0);
    settle(&d, live, 3, &b2);
    text(&c, "after carol's update");
    text(&b2, texts[0]);
    settle(&d, live, 3, &b2);
    FUZZ_ASSERT(sc2_room_update(b2.r, NOW, NULL) == 0);
    settle(&d, live, 3, &b2);
    FUZZ_ASSERT(sc2_room_remove(a.r, sc2_room_identity(c.r), NOW, NULL) == 0);
    settle(&d, live, 3, &b2);
    text(&a, "carol is gone");
    text(&b2, texts[1]);
    settle(&d, live, 3, &b2);
    FUZZ_ASSERT(sc2_room_leave(a.r, NOW, NULL) == 0);
    settle(&d, live, 3, &b2);
    FUZZ_ASSERT(sc2_room_state(b2.r) == SC2_RS_LIVE && sc2_room_member_count(b2.r) == 1);

    sc2_room_free(a.r);
    sc2_room_free(b2.r);
    sc2_room_free(c.r);
    ds_free(&d);
}

static void put_u16(uint8_t *p, size_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* The user's action (op and argument) before captured message i, where the setup did it
 * (a text's authenticated data names the last seq processed): text 0, update, text 1;
 * returns its length, 0 for none. */
static size_t action_before(size_t i, uint8_t act[2])
{
    act[0] = i == 7 ? 6 : 5;
    act[1] = i == 10;
    return i == 4 || i == 10 ? 2 : i == 7 ? 1 : 0;
}

static void write_record(FILE *f, const ds_msg *m)
{
    uint8_t h[3] = { 0 };
    FUZZ_ASSERT(m->len <= 0xffff);
    put_u16(h + 1, m->len);
    FUZZ_ASSERT(fwrite(h, 1, 3, f) == 3 && fwrite(m->p, 1, m->len, f) == m->len);
}

/* The seed corpus: the captured messages after the connection's CHALLENGE and LIVE in
 * order, with the user's actions where the setup did them (as raw records, and as index
 * records); each captured message alone. */
static void write_seeds(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/session-raw", dir);
    FILE *f = fopen(path, "wb");
    FUZZ_ASSERT(f);
    for (size_t i = 2; i < G.n_cap; i++) {
        uint8_t act[2];
        size_t n = action_before(i, act);
        FUZZ_ASSERT(fwrite(act, 1, n, f) == n);
        write_record(f, &G.cap[i]);
    }
    FUZZ_ASSERT(fclose(f) == 0);
    snprintf(path, sizeof path, "%s/session-index", dir);
    f = fopen(path, "wb");
    FUZZ_ASSERT(f);
    for (size_t i = 2; i < G.n_cap; i++) {
        uint8_t act[2], r[2] = { 2, (uint8_t)i };
        size_t n = action_before(i, act);
        FUZZ_ASSERT(fwrite(act, 1, n, f) == n);
        FUZZ_ASSERT(fwrite(r, 1, 2, f) == 2);
    }
    FUZZ_ASSERT(fclose(f) == 0);
    for (size_t i = 0; i < G.n_cap; i++) {
        snprintf(path, sizeof path, "%s/msg-%02zu", dir, i);
        f = fopen(path, "wb");
        FUZZ_ASSERT(f);
        write_record(f, &G.cap[i]);
        FUZZ_ASSERT(fclose(f) == 0);
    }
    fprintf(stderr, "fuzz_sc2_room: %zu captured messages, seeds in %s\n", G.n_cap, dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    det_reset(&g_sodium, 0x5a);
    FUZZ_ASSERT(randombytes_set_implementation(&det_impl) == 0);
    fuzz_sodium_init();
    setup();
    g_verbose = getenv("SC2_ROOM_FUZZ_VERBOSE") != NULL;
    const char *seeds = getenv("SC2_ROOM_FUZZ_SEEDS");
    if (seeds) {
        write_seeds(seeds);
        exit(0);
    }
    return 0;
}

/* ---------------------------------------------------------------- one input */

static int refusal_needs_reason(enum sc2_room_event_type t)
{
    return t == SC2_EV_REJECTED || t == SC2_EV_UNREADABLE || t == SC2_EV_GAP ||
           t == SC2_EV_JOIN_FAILED || t == SC2_EV_RELAY_ERROR ||
           t == SC2_EV_PROTOCOL_ERROR || t == SC2_EV_ROOM_LOST;
}

static volatile size_t g_sink;
static uint64_t g_max_accepted; /* the highest seq of an ACCEPTED event in this input */

static void check_str(const char *s)
{
    if (s)
        g_sink += strlen(s);
}

/* Drains and checks the events; returns 1 if one says the connection is broken. */
static int check_events(sc2_room *r)
{
    sc2_room_event ev;
    int breaks = 0;
    while (sc2_room_next_event(r, &ev)) {
        FUZZ_ASSERT(ev.type >= SC2_EV_CREATED && ev.type <= SC2_EV_ROOM_LOST);
        if (g_verbose)
            fprintf(stderr, "  %s seq=%llu token=%llu epoch=%llu state=%d %s\n",
                    sc2_room_event_name(ev.type), (unsigned long long)ev.seq,
                    (unsigned long long)ev.token, (unsigned long long)ev.epoch,
                    (int)sc2_room_state(r), ev.reason ? ev.reason : "");
        FUZZ_ASSERT(strcmp(sc2_room_event_name(ev.type), "unknown") != 0);
        check_str(ev.name);
        check_str(ev.by_name);
        check_str(ev.reason);
        if (ev.text_len) {
            FUZZ_ASSERT(ev.text);
            uint8_t acc = 0;
            for (size_t i = 0; i < ev.text_len; i++)
                acc ^= ev.text[i];
            g_sink += acc;
        }
        if (ev.identity)
            g_sink += ev.identity[0] + ev.identity[SC2_ROOM_SIG_PUB_BYTES - 1];
        if (ev.by_identity)
            g_sink += ev.by_identity[0] + ev.by_identity[SC2_ROOM_SIG_PUB_BYTES - 1];
        if (ev.type == SC2_EV_ACCEPTED && ev.seq > g_max_accepted)
            g_max_accepted = ev.seq;
        if (refusal_needs_reason(ev.type))
            FUZZ_ASSERT(ev.reason && ev.reason[0]);
        /* UNREADABLE: a commit we cannot follow breaks the connection to rejoin */
        if (ev.type == SC2_EV_GAP || ev.type == SC2_EV_RELAY_ERROR ||
            ev.type == SC2_EV_PROTOCOL_ERROR || ev.type == SC2_EV_UNREADABLE ||
            ev.type == SC2_EV_ROOM_LOST)
            breaks = 1;
    }
    return breaks;
}

/* Sends the output to nowhere, checking each is one client envelope; counts SUBMITs. */
static int g_get_gi; /* GET_GIs drain_output saw */

static int drain_output(sc2_room *r)
{
    size_t len;
    const uint8_t *o;
    int submits = 0;
    while ((o = sc2_room_output(r, &len))) {
        sc2_env e;
        FUZZ_ASSERT(sc2_env_decode(o, len, SC2_FROM_CLIENT, &e) == 0);
        submits += e.type == SC2_T_SUBMIT;
        g_get_gi += e.type == SC2_T_GET_GI;
        sc2_room_output_pop(r);
    }
    return submits;
}

static void deliver(sc2_room *r, const uint8_t *msg, size_t len);

static void reconnect(sc2_room *r)
{
    sc2_room_disconnected(r, NOW);
    (void)check_events(r);
    sc2_room_connected(r, NOW);
    deliver(r, G.cap[0].p, G.cap[0].len);
}

static void deliver(sc2_room *r, const uint8_t *msg, size_t len)
{
    enum sc2_room_state before = sc2_room_state(r);
    int rc = sc2_room_receive(r, msg, len, NOW);
    int breaks = check_events(r);
    enum sc2_room_state after = sc2_room_state(r);
    FUZZ_ASSERT(rc == 0 || rc == -1);
    if (rc == 0) {
        FUZZ_ASSERT(after != SC2_RS_BROKEN);
    } else if (before != SC2_RS_BROKEN && before != SC2_RS_OFFLINE &&
               before != SC2_RS_LOST) {
        FUZZ_ASSERT(after == SC2_RS_BROKEN || after == SC2_RS_LOST);
        FUZZ_ASSERT(breaks);
    } else {
        FUZZ_ASSERT(after == before);
    }
    (void)drain_output(r);
    if (rc < 0 && before != SC2_RS_OFFLINE && before != SC2_RS_BROKEN)
        reconnect(r);
}

static sc2_room *fresh_bob(void)
{
    static member b;
    member_init(&b, "bob", 0xb0);
    det_reset(&b.stream, 0xb1);
    sc2_room_config cb = cfg_of(&b);
    sc2_room *r = NULL;
    FUZZ_ASSERT(sc2_room_import(&r, &cb, G.bob_state.p, G.bob_state.len) == 0);
    return r;
}

/* A room back from export/import reconnects, goes LIVE and submits a new text. */
static void check_afterwards(sc2_room *r)
{
    mls_bytes s1 = { 0 }, s2 = { 0 };
    FUZZ_ASSERT(sc2_room_export(r, &s1) == 0);
    static member b;
    member_init(&b, "bob", 0xb0);
    det_reset(&b.stream, 0xb2);
    sc2_room_config cb = cfg_of(&b);
    sc2_room *r2 = NULL;
    FUZZ_ASSERT(sc2_room_import(&r2, &cb, s1.p, s1.len) == 0);
    FUZZ_ASSERT(sc2_room_export(r2, &s2) == 0);
    FUZZ_ASSERT(s1.len == s2.len && memcmp(s1.p, s2.p, s1.len) == 0);
    mls_bytes_free(&s1);
    mls_bytes_free(&s2);

    sc2_room_connected(r2, NOW);
    FUZZ_ASSERT(sc2_room_receive(r2, G.cap[0].p, G.cap[0].len, NOW) == 0);
    (void)check_events(r2);
    g_get_gi = 0;
    int submits = drain_output(r2);
    if (sc2_room_state(r2) == SC2_RS_DEAD) {
        FUZZ_ASSERT(sc2_room_send_text(r2, (const uint8_t *)"late", 4, NOW, NULL) == -1);
    } else if (sc2_room_state(r2) == SC2_RS_JOINING) {
        /* a rejoin is pending (a commit it could not follow, GONE): it asks for the
         * GroupInfo, and a text waits in the outbox */
        FUZZ_ASSERT(g_get_gi == 1);
        FUZZ_ASSERT(sc2_room_send_text(r2, (const uint8_t *)"after the storm", 15, NOW,
                                       NULL) == 0);
    } else {
        FUZZ_ASSERT(sc2_room_state(r2) == SC2_RS_RESUMING);
        uint8_t live[32];
        uint64_t head = sc2_room_seq(r2);
        size_t n = sc2_env_encode_live(live, sizeof live, head);
        FUZZ_ASSERT(n);
        int rc = sc2_room_receive(r2, live, n, NOW);
        int breaks = check_events(r2);
        if (rc < 0) {
            /* only a log that ends before an entry the relay ACCEPTED for us is refused */
            FUZZ_ASSERT(g_max_accepted > head && breaks &&
                        sc2_room_state(r2) == SC2_RS_BROKEN);
        } else {
            FUZZ_ASSERT(sc2_room_state(r2) == SC2_RS_LIVE);
            submits += drain_output(r2);
            if (g_verbose)
                fprintf(stderr, "afterwards: LIVE at %llu, epoch %llu, outbox %zu, %d SUBMITs\n",
                        (unsigned long long)head, (unsigned long long)sc2_room_epoch(r2),
                        sc2_room_outbox_len(r2), submits);
            FUZZ_ASSERT(sc2_room_send_text(r2, (const uint8_t *)"after the storm", 15, NOW,
                                           NULL) == 0);
            submits += drain_output(r2);
            FUZZ_ASSERT(submits > 0);
        }
    }
    (void)check_events(r2);
    sc2_room_free(r2);
}

static size_t get_u16(const uint8_t *d, size_t n, size_t *pos)
{
    size_t v = 0;
    for (int i = 0; i < 2; i++)
        v = (v << 8) | (*pos < n ? d[(*pos)++] : 0);
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    det_reset(&g_sodium, 0x5b);
    g_max_accepted = 0;
    sc2_room *r = fresh_bob();
    sc2_room_connected(r, NOW);
    FUZZ_ASSERT(sc2_room_receive(r, G.cap[0].p, G.cap[0].len, NOW) == 0);
    (void)drain_output(r);
    FUZZ_ASSERT(sc2_room_receive(r, G.cap[1].p, G.cap[1].len, NOW) == 0);
    FUZZ_ASSERT(sc2_room_state(r) == SC2_RS_LIVE && sc2_room_seq(r) == G.p_seq);
    (void)check_events(r);

    size_t pos = 0;
    for (int rec = 0; rec < MAX_RECORDS && pos < size; rec++) {
        uint8_t op = data[pos++] % 8;
        if (op <= 1) {
            size_t n = get_u16(data, size, &pos);
            if (n > size - pos)
                n = size - pos;
            uint8_t *m = malloc(n ? n : 1); /* exact size: overreads are caught */
            FUZZ_ASSERT(m);
            memcpy(m, data + pos, n);
            pos += n;
            deliver(r, m, n);
            free(m);
        } else if (op <= 4) {
            const ds_msg *c = &G.cap[(pos < size ? data[pos++] : 0) % G.n_cap];
            size_t n = c->len;
            uint8_t *m = malloc(n);
            FUZZ_ASSERT(m);
            memcpy(m, c->p, n);
            if (op == 3) {
                size_t off = get_u16(data, size, &pos) % n;
                m[off] ^= pos < size ? data[pos++] : 0xff;
            } else if (op == 4) {
                size_t cut = get_u16(data, size, &pos);
                n = cut < n ? cut : n;
            }
            deliver(r, m, n);
            free(m);
        } else if (op == 5) {
            const char *t = texts[(pos < size ? data[pos++] : 0) % 3];
            int rc = sc2_room_send_text(r, (const uint8_t *)t, strlen(t), NOW, NULL);
            FUZZ_ASSERT(rc == 0 || sc2_room_state(r) == SC2_RS_DEAD ||
                        sc2_room_state(r) == SC2_RS_LOST ||
                        sc2_room_outbox_len(r) == SC2_ROOM_MAX_OUTBOX);
            (void)drain_output(r);
        } else if (op == 6) {
            (void)sc2_room_update(r, NOW, NULL);
            (void)drain_output(r);
            if (sc2_room_state(r) == SC2_RS_BROKEN)
                reconnect(r);
        } else {
            reconnect(r);
        }
        (void)check_events(r);
    }
    check_afterwards(r);
    sc2_room_free(r);
    return 0;
}
