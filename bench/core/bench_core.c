/*
 * bench_core: micro-benchmarks of the protocol core. Prints one line per measurement,
 *   <name>  <median> ops/s  (<extra>)
 * where the median is over --runs runs (default 7, at least 5), each run sized to take
 * about --ms milliseconds (default 150). Plain C with clock_gettime, so the same source
 * also builds with Emscripten for the native-vs-WebAssembly comparison (bench/run).
 *
 *   bench_core [--runs N] [--ms M]
 *
 * Not a test: it asserts only that the operations succeed, and reports figures.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sc_chain.h"
#include "sc_channel.h"
#include "sc_group.h"
#include "sc_handshake.h"
#include "sc_identity.h"
#include "sc_invite.h"

#define MAX_RUNS 101

static int runs = 7;
static double run_ms = 150;
static sc_rng rng;
static uint8_t room_id[32];

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void must(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "bench_core: %s failed\n", what);
        exit(1);
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ---- group messages ----------------------------------------------------------------- */

typedef struct group_run {
    double seal_s, open_s;
} group_run;

/* Seals k messages of `size` plaintext bytes on a fresh chain, then opens them in order
 * on the receiving side. */
static group_run group_once(size_t size, size_t k, uint8_t **msgs, size_t *lens, uint8_t *plain,
                            uint8_t *out, size_t cap)
{
    sc_chain_out c;
    sc_chain_in in;
    uint8_t skd[SC_CHAIN_SKD_BYTES];
    group_run g;
    size_t n;
    sc_chain_out_new(&c, &rng);
    sc_chain_out_skd(&c, skd);
    must(sc_chain_in_init(&in, skd) == 0, "sc_chain_in_init");
    double t0 = now_s();
    for (size_t i = 0; i < k; i++)
        must(sc_group_seal(&c, room_id, 3, plain, size, msgs[i], cap, &lens[i]) == 0,
             "sc_group_seal");
    double t1 = now_s();
    for (size_t i = 0; i < k; i++)
        must(sc_group_open(&in, room_id, 3, msgs[i], lens[i], out, cap, &n) == 0 && n == size,
             "sc_group_open");
    double t2 = now_s();
    sc_chain_in_free(&in);
    sc_chain_out_wipe(&c);
    g.seal_s = t1 - t0;
    g.open_s = t2 - t1;
    return g;
}

static void bench_group(size_t size, const char *label)
{
    size_t cap = sc_group_sealed_len(size);
    uint8_t *plain = malloc(size), *out = malloc(cap);
    must(plain && out, "malloc");
    sc_rng_bytes(&rng, plain, size);
    /* calibrate: how many seal+open pairs fill one run */
    size_t k = 8;
    uint8_t **msgs = NULL;
    size_t *lens = NULL;
    double seal[MAX_RUNS], open[MAX_RUNS], both[MAX_RUNS];
    for (int r = -1; r < runs; r++) {
        msgs = realloc(msgs, k * sizeof *msgs);
        lens = realloc(lens, k * sizeof *lens);
        must(msgs && lens, "malloc");
        for (size_t i = 0; i < k; i++)
            must((msgs[i] = malloc(cap)) != NULL, "malloc");
        group_run g = group_once(size, k, msgs, lens, plain, out, cap);
        for (size_t i = 0; i < k; i++)
            free(msgs[i]);
        if (r < 0) { /* the warm-up run sizes the others */
            double per = (g.seal_s + g.open_s) / (double)k;
            k = (size_t)(run_ms / 1000.0 / (per > 0 ? per : 1e-6));
            if (k < 8)
                k = 8;
            continue;
        }
        seal[r] = (double)k / g.seal_s;
        open[r] = (double)k / g.open_s;
        both[r] = (double)k / (g.seal_s + g.open_s);
    }
    double ms = median(seal, runs), mo = median(open, runs), mb = median(both, runs);
    printf("group seal+open %-7s %12.0f ops/s  (%.1f MB/s of plaintext; median of %d runs of %zu)\n",
           label, mb, mb * (double)size / 1e6, runs, k);
    printf("group seal %-12s %12.0f ops/s\n", label, ms);
    printf("group open %-12s %12.0f ops/s\n", label, mo);
    free(msgs);
    free(lens);
    free(plain);
    free(out);
}

/* ---- handshake ---------------------------------------------------------------------- */

typedef struct party {
    sc_hs_ctx ctx;
    sc_hs hs;
    sc_chan chan;
} party;

static void party_init(party *p, const uint8_t secret[32], const char *name)
{
    memset(p, 0, sizeof *p);
    must(sc_identity_generate(&rng, p->ctx.ik_pk, p->ctx.ik_sk) == 0, "identity");
    sc_invite_derive(secret, p->ctx.room_id, p->ctx.room_key);
    p->ctx.name_len = (uint8_t)strlen(name);
    memcpy(p->ctx.name, name, p->ctx.name_len);
}

/* One complete pairwise setup, both sides: HS1, HS2, HS3, then I's first chain sent to R
 * in the first CHAN and installed by R. */
static void handshake_once(party *i, party *r)
{
    uint8_t m1[SC_HS_MAX_BYTES], m2[SC_HS_MAX_BYTES], m3[SC_HS_MAX_BYTES], skd[SC_CHAIN_SKD_BYTES];
    uint8_t chan[SC_CHAN_OVERHEAD + SC_CHAIN_SKD_BYTES], body[SC_CHAN_MAX_BODY], ctype;
    size_t n1, n2, n3, n, bl;
    uint64_t skipped;
    sc_chain_out out;
    sc_chain_in in;
    must(sc_hs_start(&i->hs, &i->ctx, &rng, 10, 20, m1, sizeof m1, &n1) == 0, "sc_hs_start");
    must(sc_hs_start(&r->hs, &r->ctx, &rng, 20, 10, m2, sizeof m2, &n) == 0, "sc_hs_start");
    must(sc_hs_receive(&r->hs, &r->ctx, &rng, m1, n1, m2, sizeof m2, &n2) == 0, "HS1");
    must(sc_hs_receive(&i->hs, &i->ctx, &rng, m2, n2, m3, sizeof m3, &n3) == 1, "HS2");
    must(sc_hs_receive(&r->hs, &r->ctx, &rng, m3, n3, NULL, 0, &n) == 1, "HS3");
    sc_chan_init(&i->chan, i->hs.k_send, i->hs.k_recv);
    sc_chan_init(&r->chan, r->hs.k_send, r->hs.k_recv);
    sc_hs_wipe(&i->hs);
    sc_hs_wipe(&r->hs);
    sc_chain_out_new(&out, &rng);
    sc_chain_out_skd(&out, skd);
    must(sc_chan_seal(&i->chan, 0x01, skd, sizeof skd, chan, sizeof chan, &n) == 0, "CHAN");
    must(sc_chan_open(&r->chan, chan, n, &ctype, body, sizeof body, &bl, &skipped) == 0, "CHAN");
    must(sc_chain_in_init(&in, body) == 0, "SKD");
    sc_chain_in_free(&in);
    sc_chain_out_wipe(&out);
    sc_chan_wipe(&i->chan);
    sc_chan_wipe(&r->chan);
}

static void bench_handshake(void)
{
    uint8_t secret[32];
    party i, r;
    double v[MAX_RUNS];
    sc_invite_new_secret(&rng, secret);
    party_init(&i, secret, "alice");
    party_init(&r, secret, "bob");
    size_t k = 4;
    for (int run = -1; run < runs; run++) {
        double t0 = now_s();
        for (size_t j = 0; j < k; j++)
            handshake_once(&i, &r);
        double t = now_s() - t0;
        if (run < 0) {
            k = (size_t)(run_ms / 1000.0 / (t / (double)k));
            if (k < 4)
                k = 4;
            continue;
        }
        v[run] = (double)k / t;
    }
    printf("pairwise handshake %12.0f ops/s  (both sides: HS1-HS3 + first CHAN with SKD; "
           "median of %d runs of %zu)\n",
           median(v, runs), runs, k);
    sodium_memzero(&i, sizeof i);
    sodium_memzero(&r, sizeof r);
    sodium_memzero(secret, sizeof secret);
}

/* Runs every operation for about `ms` milliseconds before anything is measured, so a
 * JIT (WebAssembly under Node tiers up while it runs) measures optimized code. */
static void warm_up(double ms)
{
    static const size_t sizes[] = {100, 1024, 65536};
    uint8_t secret[32];
    party i, r;
    sc_invite_new_secret(&rng, secret);
    party_init(&i, secret, "alice");
    party_init(&r, secret, "bob");
    double end = now_s() + ms / 1000.0;
    while (now_s() < end) {
        for (size_t s = 0; s < 3; s++) {
            size_t cap = sc_group_sealed_len(sizes[s]), len;
            uint8_t *plain = calloc(1, sizes[s]), *out = malloc(cap), *msg = malloc(cap);
            must(plain && out && msg, "malloc");
            group_once(sizes[s], 1, &msg, &len, plain, out, cap);
            free(plain);
            free(out);
            free(msg);
        }
        handshake_once(&i, &r);
    }
    sodium_memzero(&i, sizeof i);
    sodium_memzero(&r, sizeof r);
}

int main(int argc, char **argv)
{
    for (int a = 1; a < argc; a++) {
        if (strcmp(argv[a], "--runs") == 0 && a + 1 < argc) {
            runs = atoi(argv[++a]);
        } else if (strcmp(argv[a], "--ms") == 0 && a + 1 < argc) {
            run_ms = atof(argv[++a]);
        } else {
            fprintf(stderr, "usage: bench_core [--runs N (5..%d)] [--ms M]\n", MAX_RUNS);
            return 2;
        }
    }
    if (runs < 5 || runs > MAX_RUNS || run_ms <= 0) {
        fprintf(stderr, "bench_core: --runs must be 5..%d and --ms positive\n", MAX_RUNS);
        return 2;
    }
    must(sodium_init() >= 0, "sodium_init");
    sc_rng_init(&rng);
    uint8_t secret[32];
    sc_invite_new_secret(&rng, secret);
    sc_invite_derive(secret, room_id, NULL);
    printf("# saltchat protocol core, %d runs of ~%.0f ms per figure, median reported\n", runs,
           run_ms);
    warm_up(2 * run_ms);
    bench_group(100, "100 B");
    bench_group(1024, "1 KiB");
    bench_group(65536, "64 KiB");
    bench_handshake();
    return 0;
}
