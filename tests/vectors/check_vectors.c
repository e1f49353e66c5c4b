/*
 * check_vectors: recomputes every test vector in a directory from its seeds with the real
 * core APIs, compares byte for byte, and decodes/opens every recorded message.
 *
 *   check_vectors <vectors-dir>
 *
 * Plain C and stdio only (no POSIX), so the same source also runs as WebAssembly under
 * Node (emcc ... -sNODERAWFS=1). Exit status 0 only if every record of every file checked
 * and every field of every record was used.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sc_bytes.h"
#include "sc_chain.h"
#include "sc_channel.h"
#include "sc_envelope.h"
#include "sc_group.h"
#include "sc_handshake.h"
#include "sc_identity.h"
#include "sc_invite.h"
#include "sc_rng.h"

typedef struct field {
    char name[48];
    int is_text;
    uint8_t *val; /* text values are NUL-terminated as well */
    size_t len;
    int used;
    int line;
} field;

typedef struct record {
    const char *file;
    int line;
    field *f;
    size_t n, cap;
    int failed;
} record;

static int failures, records_checked;

static void fail(record *r, const char *what, const char *name)
{
    fprintf(stderr, "%s:%d: %s%s%s\n", r->file, r->line, what, name ? ": " : "", name ? name : "");
    r->failed = 1;
    failures++;
}

#define FAIL_IF(cond, r, name)                                                           \
    do {                                                                                 \
        if (cond)                                                                        \
            fail((r), "check failed: " #cond, (name));                                   \
    } while (0)

static field *find(record *r, const char *name)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->f[i].name, name) == 0)
            return &r->f[i];
    return NULL;
}

/* Returns the bytes of a required field (hex, or the bytes of a text), or NULL after
 * reporting it missing. want_len 0 accepts any length. */
static const uint8_t *get(record *r, const char *name, size_t want_len, size_t *len)
{
    field *f = find(r, name);
    if (!f) {
        fail(r, "missing field", name);
        return NULL;
    }
    f->used = 1;
    if (want_len && f->len != want_len) {
        fail(r, "field has the wrong length", name);
        return NULL;
    }
    if (len)
        *len = f->len;
    return f->val;
}

static const uint8_t *opt(record *r, const char *name, size_t *len)
{
    field *f = find(r, name);
    *len = 0;
    if (!f)
        return NULL;
    f->used = 1;
    *len = f->len;
    return f->val;
}

static const char *text(record *r, const char *name)
{
    field *f = find(r, name);
    if (!f || !f->is_text) {
        fail(r, f ? "field is not text" : "missing field", name);
        return NULL;
    }
    f->used = 1;
    return (const char *)f->val;
}

static int get_u64(record *r, const char *name, uint64_t *v)
{
    const uint8_t *b = get(r, name, 8, NULL);
    if (b)
        *v = sc_load64(b);
    return b != NULL;
}

static int get_u32(record *r, const char *name, uint32_t *v)
{
    const uint8_t *b = get(r, name, 4, NULL);
    if (b)
        *v = sc_load32(b);
    return b != NULL;
}

/* Compares computed bytes with a recorded field. */
static void expect(record *r, const char *name, const uint8_t *b, size_t n)
{
    size_t len;
    const uint8_t *v = get(r, name, 0, &len);
    if (v && (len != n || (n && memcmp(v, b, n) != 0)))
        fail(r, "recomputed value differs from the recorded one", name);
}

static void expect_text(record *r, const char *name, const char *s)
{
    const char *v = text(r, name);
    if (v && strcmp(v, s) != 0)
        fail(r, "recomputed text differs from the recorded one", name);
}

/* ---- file parsing ------------------------------------------------------------------- */

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static char *read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap + 1);
    size_t got;
    while (buf && (got = fread(buf + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap) {
            char *nb = realloc(buf, cap * 2 + 1);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf) {
        buf[len] = '\0';
        *n = len;
    }
    return buf;
}

static void record_free(record *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->f[i].val);
    free(r->f);
    memset(r, 0, sizeof *r);
}

/* Parses one `name: value` line into r. Returns 0 or -1 (reported). */
static int parse_line(record *r, const char *file, int lineno, const char *s, size_t n)
{
    const char *colon = memchr(s, ':', n);
    if (!colon || colon == s || (size_t)(colon - s) >= sizeof r->f[0].name ||
        colon + 1 >= s + n || colon[1] != ' ') {
        fprintf(stderr, "%s:%d: not a `name: value` line\n", file, lineno);
        return -1;
    }
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        field *nf = realloc(r->f, cap * sizeof *nf);
        if (!nf)
            return -1;
        r->f = nf;
        r->cap = cap;
    }
    field *f = &r->f[r->n];
    memset(f, 0, sizeof *f);
    memcpy(f->name, s, (size_t)(colon - s));
    f->line = lineno;
    const char *v = colon + 2;
    size_t vn = (size_t)(s + n - v);
    if (vn >= 2 && v[0] == '"' && v[vn - 1] == '"') {
        f->is_text = 1;
        f->len = vn - 2;
        f->val = malloc(f->len + 1);
        if (!f->val)
            return -1;
        memcpy(f->val, v + 1, f->len);
        f->val[f->len] = '\0';
    } else {
        if (vn == 0 || vn % 2) {
            fprintf(stderr, "%s:%d: odd-length or empty hex value\n", file, lineno);
            return -1;
        }
        f->len = vn / 2;
        f->val = malloc(f->len + 1);
        if (!f->val)
            return -1;
        for (size_t i = 0; i < f->len; i++) {
            int hi = hexval(v[2 * i]), lo = hexval(v[2 * i + 1]);
            if (hi < 0 || lo < 0) {
                fprintf(stderr, "%s:%d: bad hex digit\n", file, lineno);
                free(f->val);
                return -1;
            }
            f->val[i] = (uint8_t)(hi << 4 | lo);
        }
        f->val[f->len] = '\0';
    }
    r->n++;
    return 0;
}

typedef void (*checker)(record *r);

static checker checker_for(const char *type);

static void run_record(record *r)
{
    const char *type = text(r, "type");
    const char *name = text(r, "name");
    if (!type || !name)
        return;
    checker c = checker_for(type);
    if (!c) {
        fail(r, "unknown record type", type);
        return;
    }
    c(r);
    for (size_t i = 0; i < r->n; i++)
        if (!r->f[i].used && !r->failed)
            fail(r, "field never checked", r->f[i].name);
    records_checked++;
}

/* Checks every record in dir/name; returns the number of records (0 is a failure). */
static int check_file(const char *dir, const char *name)
{
    char path[1024];
    size_t n;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *buf = read_file(path, &n);
    if (!buf) {
        fprintf(stderr, "%s: cannot read (give the vectors directory as the argument)\n", path);
        failures++;
        return 0;
    }
    record r;
    memset(&r, 0, sizeof r);
    r.file = name;
    int count = 0, lineno = 0;
    size_t pos = 0;
    while (pos <= n) {
        size_t end = pos;
        while (end < n && buf[end] != '\n')
            end++;
        lineno++;
        size_t len = end - pos;
        if (len && buf[pos + len - 1] == '\r')
            len--;
        int blank = len == 0;
        if (!blank && buf[pos] != '#') {
            if (r.n == 0)
                r.line = lineno;
            if (parse_line(&r, name, lineno, buf + pos, len) != 0)
                failures++;
        }
        if ((blank || end >= n) && r.n) {
            run_record(&r);
            count++;
            record_free(&r);
            r.file = name;
        }
        pos = end + 1;
    }
    record_free(&r);
    free(buf);
    if (count == 0) {
        fprintf(stderr, "%s: no records\n", path);
        failures++;
    }
    return count;
}

/* ---- checks per record type --------------------------------------------------------- */

static void check_rng(record *r)
{
    const uint8_t *seed = get(r, "seed", 32, NULL);
    if (!seed)
        return;
    sc_rng rng;
    sc_rng_init_seeded(&rng, seed);
    for (int i = 0;; i++) {
        char name[16];
        size_t len;
        snprintf(name, sizeof name, "draw%d", i);
        field *f = find(r, name);
        if (!f) {
            FAIL_IF(i == 0, r, "draw0");
            break;
        }
        len = f->len;
        uint8_t *b = malloc(len);
        if (!b)
            return;
        sc_rng_bytes(&rng, b, len);
        expect(r, name, b, len);
        free(b);
    }
}

static void identity_from(const uint8_t *seed, uint8_t pk[32], uint8_t sk[64])
{
    sc_rng rng;
    sc_rng_init_seeded(&rng, seed);
    sc_identity_generate(&rng, pk, sk);
}

static void check_identity(record *r)
{
    uint8_t pk[32], sk[64];
    char fp[SC_IDENTITY_FINGERPRINT_CHARS + 1];
    const uint8_t *seed = get(r, "seed", 32, NULL);
    if (!seed)
        return;
    identity_from(seed, pk, sk);
    expect(r, "ik_pk", pk, 32);
    expect(r, "ik_sk", sk, 64);
    FAIL_IF(sc_identity_check(pk, sk) != 0, r, "ik_sk");
    sc_identity_fingerprint(pk, fp);
    expect_text(r, "fingerprint", fp);
    sodium_memzero(sk, sizeof sk);
}

static void check_safety(record *r)
{
    char fa[SC_IDENTITY_FINGERPRINT_CHARS + 1], fb[SC_IDENTITY_FINGERPRINT_CHARS + 1];
    char s1[SC_IDENTITY_SAFETY_CHARS + 1], s2[SC_IDENTITY_SAFETY_CHARS + 1];
    const uint8_t *a = get(r, "ik_a", 32, NULL), *b = get(r, "ik_b", 32, NULL);
    if (!a || !b)
        return;
    sc_identity_fingerprint(a, fa);
    sc_identity_fingerprint(b, fb);
    expect_text(r, "fingerprint_a", fa);
    expect_text(r, "fingerprint_b", fb);
    sc_identity_safety_number(a, b, s1);
    sc_identity_safety_number(b, a, s2);
    FAIL_IF(strcmp(s1, s2) != 0, r, "safety");
    expect_text(r, "safety", s1);
}

static void check_invite(record *r)
{
    uint8_t secret[32], id[32], key[32], back[32];
    char link[SC_INVITE_MAX_URL], ws[SC_INVITE_MAX_URL], idt[SC_INVITE_ROOM_ID_CHARS + 1],
        base[SC_INVITE_MAX_URL];
    const uint8_t *seed = get(r, "seed", 32, NULL);
    const char *b = text(r, "base");
    if (!seed || !b)
        return;
    sc_rng rng;
    sc_rng_init_seeded(&rng, seed);
    sc_invite_new_secret(&rng, secret);
    expect(r, "secret", secret, 32);
    sc_invite_derive(secret, id, key);
    expect(r, "room_id", id, 32);
    expect(r, "room_key", key, 32);
    sc_invite_room_id_text(id, idt);
    expect_text(r, "room_id_text", idt);
    FAIL_IF(sc_invite_format(b, secret, link, sizeof link) <= 0, r, "link");
    expect_text(r, "link", link);
    FAIL_IF(sc_invite_ws_url(b, secret, ws, sizeof ws) <= 0, r, "ws_url");
    expect_text(r, "ws_url", ws);
    /* decode the recorded link */
    const char *rec = text(r, "link");
    if (rec) {
        FAIL_IF(sc_invite_parse(rec, back, base, sizeof base) != 0, r, "link");
        FAIL_IF(memcmp(back, secret, 32) != 0, r, "link");
        FAIL_IF(strncmp(rec, base, strlen(base)) != 0, r, "link");
    }
    sodium_memzero(key, sizeof key);
}

static const struct {
    const char *name;
    int code;
} invite_errors[] = {
    {"ok", 0},
    {"url", SC_INVITE_E_URL},
    {"no_fragment", SC_INVITE_E_NO_FRAGMENT},
    {"version", SC_INVITE_E_VERSION},
    {"encoding", SC_INVITE_E_ENCODING},
    {"length", SC_INVITE_E_LENGTH},
    {"check", SC_INVITE_E_CHECK},
};

static void check_invite_parse(record *r)
{
    uint8_t secret[32];
    char base[SC_INVITE_MAX_URL];
    const char *link = text(r, "link"), *err = text(r, "error");
    if (!link || !err)
        return;
    int want = 1;
    for (size_t k = 0; k < sizeof invite_errors / sizeof invite_errors[0]; k++)
        if (strcmp(err, invite_errors[k].name) == 0)
            want = invite_errors[k].code;
    if (want == 1) {
        fail(r, "unknown error name", err);
        return;
    }
    int rc = sc_invite_parse(link, secret, base, sizeof base);
    FAIL_IF(rc != want, r, "error");
    if (rc == 0) {
        expect(r, "secret", secret, 32);
        expect_text(r, "base", base);
    }
}

typedef struct side {
    sc_rng rng;
    sc_hs_ctx ctx;
    sc_hs hs;
    uint64_t id;
} side;

static int side_init(record *r, side *s, const uint8_t *seed, const uint8_t *secret,
                     uint64_t id, const uint8_t *name, size_t name_len)
{
    memset(s, 0, sizeof *s);
    if (name_len > SC_HS_NAME_MAX) {
        fail(r, "name longer than 64 bytes", NULL);
        return -1;
    }
    sc_rng_init_seeded(&s->rng, seed);
    if (sc_identity_generate(&s->rng, s->ctx.ik_pk, s->ctx.ik_sk) != 0)
        return -1;
    sc_invite_derive(secret, s->ctx.room_id, s->ctx.room_key);
    s->ctx.name_len = (uint8_t)name_len;
    if (name_len)
        memcpy(s->ctx.name, name, name_len);
    s->id = id;
    return 0;
}

static void side_wipe(side *s)
{
    sc_hs_wipe(&s->hs);
    sodium_memzero(s, sizeof *s);
}

static void check_handshake(record *r)
{
    side I, R;
    uint8_t m1[SC_HS_MAX_BYTES], m2[SC_HS_MAX_BYTES], m3[SC_HS_MAX_BYTES], out[SC_HS_MAX_BYTES];
    uint8_t skd[SC_CHAIN_SKD_BYTES], chan[128], body[SC_CHAN_MAX_BODY], ctype;
    size_t n, n1, n2, n3, ni, nr, rn1, rn2, rn3, bl;
    uint64_t id_i, id_r, skipped;
    const uint8_t *secret = get(r, "room_secret", 32, NULL);
    const uint8_t *seed_i = get(r, "seed_i", 32, NULL), *seed_r = get(r, "seed_r", 32, NULL);
    const uint8_t *name_i = get(r, "name_i", 0, &ni), *name_r = get(r, "name_r", 0, &nr);
    const uint8_t *rec1 = get(r, "hs1", 0, &rn1), *rec2 = get(r, "hs2", 0, &rn2),
                  *rec3 = get(r, "hs3", 0, &rn3);
    if (!secret || !seed_i || !seed_r || !name_i || !name_r || !rec1 || !rec2 || !rec3 ||
        !get_u64(r, "id_i", &id_i) || !get_u64(r, "id_r", &id_r))
        return;
    FAIL_IF(id_i >= id_r, r, "id_i");
    if (side_init(r, &I, seed_i, secret, id_i, name_i, ni) != 0 ||
        side_init(r, &R, seed_r, secret, id_r, name_r, nr) != 0)
        return;
    expect(r, "room_id", I.ctx.room_id, 32);
    expect(r, "room_key", I.ctx.room_key, 32);
    expect(r, "ik_i", I.ctx.ik_pk, 32);
    expect(r, "ik_r", R.ctx.ik_pk, 32);
    /* recompute: each side produces its message, and receives the one recorded */
    FAIL_IF(sc_hs_start(&I.hs, &I.ctx, &I.rng, id_i, id_r, m1, sizeof m1, &n1) != 0, r, "hs1");
    FAIL_IF(sc_hs_start(&R.hs, &R.ctx, &R.rng, id_r, id_i, out, sizeof out, &n) != 0 || n != 0,
            r, "hs1");
    expect(r, "hs1", m1, n1);
    expect(r, "ek_i", I.hs.ek_pk, 32);
    FAIL_IF(sc_hs_receive(&R.hs, &R.ctx, &R.rng, rec1, rn1, m2, sizeof m2, &n2) != 0, r, "hs1");
    expect(r, "hs2", m2, n2);
    expect(r, "ek_r", R.hs.ek_pk, 32);
    FAIL_IF(sc_hs_receive(&I.hs, &I.ctx, &I.rng, rec2, rn2, m3, sizeof m3, &n3) != 1, r, "hs2");
    expect(r, "hs3", m3, n3);
    FAIL_IF(sc_hs_receive(&R.hs, &R.ctx, &R.rng, rec3, rn3, out, sizeof out, &n) != 1, r, "hs3");
    FAIL_IF(I.hs.state != SC_HS_DONE || R.hs.state != SC_HS_DONE, r, "hs3");
    expect(r, "th", I.hs.th, 32);
    FAIL_IF(memcmp(I.hs.th, R.hs.th, 32) != 0, r, "th");
    expect(r, "k_i2r", I.hs.k_send, 32);
    expect(r, "k_r2i", I.hs.k_recv, 32);
    FAIL_IF(memcmp(I.hs.k_send, R.hs.k_recv, 32) != 0 || memcmp(I.hs.k_recv, R.hs.k_send, 32) != 0,
            r, "k_i2r");
    FAIL_IF(memcmp(I.hs.peer_ik, R.ctx.ik_pk, 32) != 0 || memcmp(R.hs.peer_ik, I.ctx.ik_pk, 32) != 0,
            r, "ik");
    FAIL_IF(I.hs.peer_name_len != nr || (nr && memcmp(I.hs.peer_name, name_r, nr) != 0), r,
            "name_r");
    FAIL_IF(R.hs.peer_name_len != ni || (ni && memcmp(R.hs.peer_name, name_i, ni) != 0), r,
            "name_i");
    char fi[SC_IDENTITY_FINGERPRINT_CHARS + 1], fr[SC_IDENTITY_FINGERPRINT_CHARS + 1],
        sn[SC_IDENTITY_SAFETY_CHARS + 1];
    sc_identity_fingerprint(R.hs.peer_ik, fi); /* I's key as R received it */
    sc_identity_fingerprint(I.hs.peer_ik, fr);
    sc_identity_safety_from_fingerprints(fi, fr, sn);
    expect_text(r, "fingerprint_i", fi);
    expect_text(r, "fingerprint_r", fr);
    expect_text(r, "safety", sn);
    /* first chain of each side, over the channel, and opened by the other side */
    sc_chan ci, cr;
    sc_chain_out co;
    sc_chain_in cin;
    sc_chan_init(&ci, I.hs.k_send, I.hs.k_recv);
    sc_chan_init(&cr, R.hs.k_send, R.hs.k_recv);
    const char *const skd_name[2] = {"skd_i", "skd_r"}, *const chan_name[2] = {"chan_i2r_1",
                                                                               "chan_r2i_1"};
    for (int k = 0; k < 2; k++) {
        sc_chan *tx = k ? &cr : &ci, *rx = k ? &ci : &cr;
        sc_chain_out_new(&co, k ? &R.rng : &I.rng);
        sc_chain_out_skd(&co, skd);
        expect(r, skd_name[k], skd, sizeof skd);
        FAIL_IF(sc_chan_seal(tx, 0x01, skd, sizeof skd, chan, sizeof chan, &n) != 0, r,
                chan_name[k]);
        expect(r, chan_name[k], chan, n);
        size_t rn;
        const uint8_t *rec = get(r, chan_name[k], 0, &rn);
        if (rec) {
            FAIL_IF(sc_chan_open(rx, rec, rn, &ctype, body, sizeof body, &bl, &skipped) != 0, r,
                    chan_name[k]);
            FAIL_IF(ctype != 0x01 || bl != SC_CHAIN_SKD_BYTES || skipped != 0, r, chan_name[k]);
            FAIL_IF(sc_chain_in_init(&cin, body) != 0, r, chan_name[k]);
            FAIL_IF(cin.chain_id != co.chain_id, r, chan_name[k]);
            sc_chain_in_free(&cin);
            /* the same message again is a replay */
            FAIL_IF(sc_chan_open(rx, rec, rn, &ctype, body, sizeof body, &bl, &skipped) !=
                        SC_CHAN_E_REPLAY,
                    r, chan_name[k]);
        }
        sc_chain_out_wipe(&co);
    }
    sc_chan_wipe(&ci);
    sc_chan_wipe(&cr);
    side_wipe(&I);
    side_wipe(&R);
}

static const struct {
    const char *name;
    int code;
} hs_errors[] = {
    {"malformed", SC_HS_E_MALFORMED}, {"state", SC_HS_E_STATE},         {"room", SC_HS_E_ROOM},
    {"key", SC_HS_E_KEY},             {"signature", SC_HS_E_SIGNATURE}, {"name", SC_HS_E_NAME},
};

static void check_handshake_reject(record *r)
{
    side S;
    uint8_t out[SC_HS_MAX_BYTES];
    size_t n, nn, mn, pn;
    uint64_t self, peer;
    const char *who = text(r, "receiver"), *err = text(r, "error");
    const uint8_t *secret = get(r, "room_secret", 32, NULL), *seed = get(r, "seed", 32, NULL);
    const uint8_t *name = get(r, "self_name", 0, &nn), *msg = get(r, "msg", 0, &mn);
    const uint8_t *prior = opt(r, "prior", &pn);
    if (!who || !err || !secret || !seed || !name || !msg || !get_u64(r, "id_self", &self) ||
        !get_u64(r, "id_peer", &peer))
        return;
    int want = 0;
    for (size_t k = 0; k < sizeof hs_errors / sizeof hs_errors[0]; k++)
        if (strcmp(err, hs_errors[k].name) == 0)
            want = hs_errors[k].code;
    if (!want) {
        fail(r, "unknown error name", err);
        return;
    }
    FAIL_IF(strcmp(who, self < peer ? "i" : "r") != 0, r, "receiver");
    if (side_init(r, &S, seed, secret, self, name, nn) != 0)
        return;
    FAIL_IF(sc_hs_start(&S.hs, &S.ctx, &S.rng, self, peer, out, sizeof out, &n) != 0, r, "seed");
    if (prior)
        FAIL_IF(sc_hs_receive(&S.hs, &S.ctx, &S.rng, prior, pn, out, sizeof out, &n) != 0, r,
                "prior");
    /* an exact-size copy, so a sanitizer sees any read past the end */
    uint8_t *copy = malloc(mn ? mn : 1);
    if (!copy)
        return;
    memcpy(copy, msg, mn);
    int rc = sc_hs_receive(&S.hs, &S.ctx, &S.rng, copy, mn, out, sizeof out, &n);
    free(copy);
    FAIL_IF(rc != want || n != 0, r, "error");
    /* out of turn is refused without effect; every other failure is final */
    FAIL_IF(want == SC_HS_E_STATE ? S.hs.state == SC_HS_FAILED : S.hs.state != SC_HS_FAILED, r,
            "error");
    side_wipe(&S);
}

static void chain_from(const uint8_t *seed, sc_chain_out *c)
{
    sc_rng rng;
    sc_rng_init_seeded(&rng, seed);
    sc_chain_out_new(c, &rng);
}

static void check_chain(record *r)
{
    sc_chain_out c;
    sc_chain_in in;
    uint8_t skd[SC_CHAIN_SKD_BYTES], mk[SC_CHAIN_MK_BYTES], mk2[SC_CHAIN_MK_BYTES],
        id[4];
    uint32_t idx;
    const uint8_t *seed = get(r, "seed", 32, NULL), *rec_skd0 = get(r, "skd0", 72, NULL);
    if (!seed || !rec_skd0)
        return;
    chain_from(seed, &c);
    sc_store32(id, c.chain_id);
    expect(r, "chain_id", id, 4);
    expect(r, "sign_pk", c.sign_pk, 32);
    sc_chain_out_skd(&c, skd);
    expect(r, "skd0", skd, sizeof skd);
    FAIL_IF(sc_chain_in_init(&in, rec_skd0) != 0, r, "skd0");
    for (uint32_t i = 0; i < 3; i++) {
        char name[8];
        snprintf(name, sizeof name, "mk%u", (unsigned)i);
        FAIL_IF(sc_chain_out_step(&c, mk, &idx) != 0 || idx != i, r, name);
        expect(r, name, mk, sizeof mk);
        FAIL_IF(sc_chain_in_key(&in, i, mk2) != 0 || memcmp(mk, mk2, sizeof mk) != 0, r, name);
        FAIL_IF(sc_chain_in_commit(&in, i) != 0, r, name);
    }
    expect(r, "ck3", c.ck, 32);
    FAIL_IF(memcmp(in.ck, c.ck, 32) != 0, r, "ck3");
    sc_chain_out_skd(&c, skd);
    expect(r, "skd3", skd, sizeof skd);
    sc_chain_in_free(&in);
    sc_chain_out_wipe(&c);
}

static void check_skd_chan(record *r)
{
    sc_chan tx, rx;
    uint8_t out[128], body[SC_CHAN_MAX_BODY], ctype;
    size_t n, cn, bl;
    uint64_t counter, skipped;
    const uint8_t *key = get(r, "key", 32, NULL), *skd = get(r, "skd", 72, NULL),
                  *chan = get(r, "chan", 0, &cn);
    if (!key || !skd || !chan || !get_u64(r, "counter", &counter))
        return;
    sc_chan_init(&tx, key, key);
    sc_chan_init(&rx, key, key);
    tx.send_ctr = counter - 1;
    rx.recv_ctr = counter - 1;
    FAIL_IF(sc_chan_seal(&tx, 0x01, skd, 72, out, sizeof out, &n) != 0, r, "chan");
    expect(r, "chan", out, n);
    FAIL_IF(sc_chan_open(&rx, chan, cn, &ctype, body, sizeof body, &bl, &skipped) != 0, r, "chan");
    FAIL_IF(ctype != 0x01 || bl != 72 || memcmp(body, skd, 72) != 0 || skipped != 0, r, "chan");
    sc_chain_in in;
    FAIL_IF(sc_chain_in_init(&in, body) != 0, r, "skd");
    sc_chain_in_free(&in);
    sc_chan_wipe(&tx);
    sc_chan_wipe(&rx);
}

static void check_skd_reject(record *r)
{
    sc_chain_in in;
    const uint8_t *skd = get(r, "skd", 72, NULL);
    if (skd)
        FAIL_IF(sc_chain_in_init(&in, skd) != SC_CHAIN_E_MALFORMED, r, "skd");
}

static void check_group(record *r)
{
    sc_chain_out c;
    sc_chain_in in;
    uint8_t mk[SC_CHAIN_MK_BYTES], skd[SC_CHAIN_SKD_BYTES];
    uint32_t index, idx;
    uint64_t sender, msg_id, time_ms;
    size_t tn, pn, mn;
    const uint8_t *secret = get(r, "room_secret", 32, NULL), *room_id = get(r, "room_id", 32, NULL);
    const uint8_t *seed = get(r, "seed", 32, NULL), *txt = get(r, "text", 0, &tn);
    const uint8_t *rec_plain = get(r, "plain", 0, &pn), *rec_msg = get(r, "msg", 0, &mn);
    const uint8_t *rec_skd = get(r, "skd", 72, NULL);
    if (!secret || !room_id || !seed || !txt || !rec_plain || !rec_msg || !rec_skd ||
        !get_u32(r, "index", &index) || !get_u64(r, "sender", &sender) ||
        !get_u64(r, "msg_id", &msg_id) || !get_u64(r, "time_ms", &time_ms))
        return;
    uint8_t id[32];
    sc_invite_derive(secret, id, NULL);
    expect(r, "room_id", id, 32);
    size_t cap = mn + SC_GROUP_MAX_TEXT + 1024;
    uint8_t *plain = malloc(cap), *msg = malloc(cap);
    if (!plain || !msg)
        goto done;
    /* recompute */
    chain_from(seed, &c);
    while (c.index < index)
        if (sc_chain_out_step(&c, mk, &idx) != 0)
            break;
    sc_chain_out_skd(&c, skd);
    expect(r, "skd", skd, sizeof skd);
    size_t n = sc_group_text_encode(msg_id, time_ms, txt, tn, plain, cap);
    expect(r, "plain", plain, n);
    FAIL_IF(sc_group_seal(&c, id, sender, plain, n, msg, cap, &n) != 0, r, "msg");
    expect(r, "msg", msg, n);
    sc_chain_out_wipe(&c);
    /* decode the recorded message with a chain built from the recorded SKD */
    FAIL_IF(sc_chain_in_init(&in, rec_skd) != 0, r, "skd");
    FAIL_IF(sc_chain_in_key(&in, index, mk) != 0, r, "mk");
    expect(r, "mk", mk, sizeof mk);
    uint32_t cid, pidx;
    FAIL_IF(sc_group_peek(rec_msg, mn, &cid, &pidx) != 0 || cid != in.chain_id || pidx != index,
            r, "msg");
    uint8_t *copy = malloc(mn); /* exact size, so a sanitizer sees any over-read */
    if (!copy)
        goto done;
    memcpy(copy, rec_msg, mn);
    FAIL_IF(sc_group_open(&in, room_id, sender, copy, mn, plain, cap, &n) != 0, r, "msg");
    FAIL_IF(n != pn || memcmp(plain, rec_plain, pn) != 0, r, "plain");
    uint64_t got_id, got_time;
    const uint8_t *got_text;
    size_t got_len;
    FAIL_IF(sc_group_text_decode(plain, n, &got_id, &got_time, &got_text, &got_len) != 0, r,
            "plain");
    FAIL_IF(got_id != msg_id || got_time != time_ms || got_len != tn ||
                memcmp(got_text, txt, tn) != 0,
            r, "text");
    FAIL_IF(sc_group_open(&in, room_id, sender, copy, mn, plain, cap, &n) !=
                SC_GROUP_E_CHAIN_BASE + SC_CHAIN_E_REPLAY,
            r, "msg");
    free(copy);
    sc_chain_in_free(&in);
done:
    sodium_memzero(mk, sizeof mk);
    free(plain);
    free(msg);
}

static const struct {
    const char *name;
    int code;
} group_errors[] = {
    {"malformed", SC_GROUP_E_MALFORMED},
    {"signature", SC_GROUP_E_SIGNATURE},
    {"ciphertext", SC_GROUP_E_CIPHERTEXT},
    {"before_join", SC_GROUP_E_CHAIN_BASE + SC_CHAIN_E_BEFORE_START},
    {"replay", SC_GROUP_E_CHAIN_BASE + SC_CHAIN_E_REPLAY},
    {"too_far", SC_GROUP_E_CHAIN_BASE + SC_CHAIN_E_TOO_FAR},
    {"too_old", SC_GROUP_E_CHAIN_BASE + SC_CHAIN_E_TOO_OLD},
};

static void check_group_reject(record *r)
{
    sc_chain_in in;
    uint64_t sender;
    size_t mn, pn, n;
    const uint8_t *room_id = get(r, "room_id", 32, NULL), *skd = get(r, "skd", 72, NULL);
    const uint8_t *msg = get(r, "msg", 0, &mn), *prior = opt(r, "prior", &pn);
    const char *err = text(r, "error");
    if (!room_id || !skd || !msg || !err || !get_u64(r, "sender", &sender))
        return;
    int want = 0;
    for (size_t k = 0; k < sizeof group_errors / sizeof group_errors[0]; k++)
        if (strcmp(err, group_errors[k].name) == 0)
            want = group_errors[k].code;
    if (!want) {
        fail(r, "unknown error name", err);
        return;
    }
    uint8_t *plain = malloc(mn + pn + 1), *copy = malloc(mn ? mn : 1);
    if (!plain || !copy)
        goto done;
    FAIL_IF(sc_chain_in_init(&in, skd) != 0, r, "skd");
    if (prior)
        FAIL_IF(sc_group_open(&in, room_id, sender, prior, pn, plain, pn, &n) != 0, r, "prior");
    memcpy(copy, msg, mn);
    FAIL_IF(sc_group_open(&in, room_id, sender, copy, mn, plain, mn, &n) != want, r, "error");
    sc_chain_in_free(&in);
done:
    free(plain);
    free(copy);
}

static enum sc_env_dir env_dir(record *r)
{
    const char *d = text(r, "dir");
    if (d && strcmp(d, "relay") == 0)
        return SC_ENV_FROM_RELAY;
    if (!d || strcmp(d, "client") != 0)
        fail(r, "dir must be client or relay", "dir");
    return SC_ENV_FROM_CLIENT;
}

static void check_envelope(record *r)
{
    static const struct {
        const char *name;
        uint8_t type;
    } types[] = {{"SEND_ALL", SC_ENV_T_SEND_ALL}, {"SEND_TO", SC_ENV_T_SEND_TO},
                 {"SYNC", SC_ENV_T_SYNC},         {"WELCOME", SC_ENV_T_WELCOME},
                 {"JOINED", SC_ENV_T_JOINED},     {"LEFT", SC_ENV_T_LEFT},
                 {"DATA", SC_ENV_T_DATA},         {"SYNCED", SC_ENV_T_SYNCED},
                 {"ERROR", SC_ENV_T_ERROR}};
    const char *name = text(r, "name");
    size_t bn, pl = 0, ml = 0, modelen = 0;
    const uint8_t *bytes = get(r, "bytes", 0, &bn);
    enum sc_env_dir dir = env_dir(r);
    if (!name || !bytes)
        return;
    uint8_t type = 0;
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++)
        if (strcmp(name, types[k].name) == 0)
            type = types[k].type;
    if (!type) {
        fail(r, "unknown envelope name", name);
        return;
    }
    uint64_t member = 0, token = 0;
    uint32_t max_payload = 0;
    const uint8_t *payload = opt(r, "payload", &pl), *members = opt(r, "members", &ml);
    const uint8_t *mode = opt(r, "mode", &modelen), *code = NULL;
    size_t cl = 0;
    const char *reason = NULL;
    if (mode && modelen != 1) {
        fail(r, "mode is one byte", "mode");
        return;
    }
    if (find(r, "member"))
        get_u64(r, "member", &member);
    if (find(r, "token"))
        get_u64(r, "token", &token);
    if (find(r, "max_payload"))
        get_u32(r, "max_payload", &max_payload);
    if (type == SC_ENV_T_ERROR) {
        code = get(r, "code", 2, &cl);
        reason = text(r, "reason");
        if (!code || !reason)
            return;
    }
    /* encode from the fields */
    uint8_t out[512];
    size_t n = 0;
    uint64_t list[64];
    switch (type) {
    case SC_ENV_T_SEND_ALL:
        n = sc_env_encode_send_all(out, sizeof out, payload, pl);
        break;
    case SC_ENV_T_SEND_TO:
        n = sc_env_encode_send_to(out, sizeof out, member, payload, pl);
        break;
    case SC_ENV_T_SYNC:
        n = sc_env_encode_sync(out, sizeof out, token);
        break;
    case SC_ENV_T_SYNCED:
        n = sc_env_encode_synced(out, sizeof out, token);
        break;
    case SC_ENV_T_JOINED:
        n = sc_env_encode_joined(out, sizeof out, member);
        break;
    case SC_ENV_T_LEFT:
        n = sc_env_encode_left(out, sizeof out, member);
        break;
    case SC_ENV_T_DATA:
        n = sc_env_encode_data(out, sizeof out, member, mode ? mode[0] : 0xff, payload, pl);
        break;
    case SC_ENV_T_ERROR:
        n = sc_env_encode_error(out, sizeof out, sc_load16(code), reason);
        break;
    case SC_ENV_T_WELCOME:
        if (ml % 8 || ml / 8 > 64) {
            fail(r, "members must be whole u64s", "members");
            return;
        }
        for (size_t i = 0; i < ml / 8; i++)
            list[i] = sc_load64(members + 8 * i);
        n = sc_env_encode_welcome(out, sizeof out, member, max_payload, list, (uint32_t)(ml / 8));
        break;
    }
    FAIL_IF(n == 0, r, "bytes");
    expect(r, "bytes", out, n);
    /* parse the recorded bytes: whole, then every proper prefix must be "partial" */
    sc_env e;
    uint8_t *copy = malloc(bn);
    if (!copy)
        return;
    memcpy(copy, bytes, bn);
    FAIL_IF(sc_env_parse(copy, bn, dir, &e) != (int)bn, r, "bytes");
    FAIL_IF(e.type != type, r, "bytes");
    if (payload && type != SC_ENV_T_ERROR)
        FAIL_IF(e.payload_len != pl || memcmp(e.payload, payload, pl) != 0, r, "payload");
    if (type == SC_ENV_T_SEND_TO || type == SC_ENV_T_WELCOME || type == SC_ENV_T_JOINED ||
        type == SC_ENV_T_LEFT || type == SC_ENV_T_DATA)
        FAIL_IF(e.member != member, r, "member");
    if (type == SC_ENV_T_SYNC || type == SC_ENV_T_SYNCED)
        FAIL_IF(e.token != token, r, "token");
    if (type == SC_ENV_T_DATA)
        FAIL_IF(!mode || e.mode != mode[0], r, "mode");
    if (type == SC_ENV_T_WELCOME) {
        FAIL_IF(e.max_payload != max_payload || e.n_members != ml / 8, r, "members");
        for (uint32_t i = 0; i < e.n_members && i < 64; i++)
            FAIL_IF(sc_env_welcome_member(&e, i) != list[i], r, "members");
    }
    if (type == SC_ENV_T_ERROR)
        FAIL_IF(e.code != sc_load16(code) || e.payload_len != strlen(reason) ||
                    memcmp(e.payload, reason, e.payload_len) != 0,
                r, "reason");
    free(copy);
    for (size_t i = 0; i < bn; i++) {
        copy = malloc(i ? i : 1);
        if (!copy)
            return;
        memcpy(copy, bytes, i);
        FAIL_IF(sc_env_parse(copy, i, dir, &e) != SC_ENV_E_PARTIAL, r, "bytes");
        free(copy);
    }
}

static void check_envelope_batch(record *r)
{
    size_t bn;
    const uint8_t *bytes = get(r, "bytes", 0, &bn);
    const char *count = text(r, "count");
    enum sc_env_dir dir = env_dir(r);
    if (!bytes || !count)
        return;
    uint8_t *copy = malloc(bn);
    if (!copy)
        return;
    memcpy(copy, bytes, bn);
    size_t pos = 0;
    int got = 0;
    while (pos < bn) {
        sc_env e;
        int rc = sc_env_parse(copy + pos, bn - pos, dir, &e);
        if (rc <= 0) {
            fail(r, "batch does not parse to the end", "bytes");
            break;
        }
        pos += (size_t)rc;
        got++;
    }
    FAIL_IF(got != atoi(count), r, "count");
    /* a batch cut anywhere inside its last envelope ends in "partial" */
    sc_env e;
    int last = 0;
    pos = 0;
    while (pos < bn) {
        int rc = sc_env_parse(copy + pos, bn - pos, dir, &e);
        if (rc <= 0)
            break;
        last = (int)pos;
        pos += (size_t)rc;
    }
    for (size_t cut = (size_t)last + 1; cut < bn; cut++)
        FAIL_IF(sc_env_parse(copy + last, cut - (size_t)last, dir, &e) != SC_ENV_E_PARTIAL, r,
                "bytes");
    free(copy);
}

static void check_envelope_reject(record *r)
{
    static const struct {
        const char *name;
        int code;
    } errs[] = {{"partial", SC_ENV_E_PARTIAL}, {"version", SC_ENV_E_VERSION},
                {"type", SC_ENV_E_TYPE},       {"length", SC_ENV_E_LENGTH},
                {"field", SC_ENV_E_FIELD}};
    size_t bn;
    const uint8_t *bytes = get(r, "bytes", 0, &bn);
    const char *err = text(r, "error");
    enum sc_env_dir dir = env_dir(r);
    if (!bytes || !err)
        return;
    int want = 0;
    for (size_t k = 0; k < sizeof errs / sizeof errs[0]; k++)
        if (strcmp(err, errs[k].name) == 0)
            want = errs[k].code;
    if (!want) {
        fail(r, "unknown error name", err);
        return;
    }
    uint8_t *copy = malloc(bn ? bn : 1);
    if (!copy)
        return;
    memcpy(copy, bytes, bn);
    sc_env e;
    FAIL_IF(sc_env_parse(copy, bn, dir, &e) != want, r, "error");
    free(copy);
}

static checker checker_for(const char *type)
{
    static const struct {
        const char *type;
        checker fn;
    } table[] = {
        {"rng", check_rng},
        {"identity", check_identity},
        {"safety", check_safety},
        {"invite", check_invite},
        {"invite-parse", check_invite_parse},
        {"handshake", check_handshake},
        {"handshake-reject", check_handshake_reject},
        {"chain", check_chain},
        {"skd-chan", check_skd_chan},
        {"skd-reject", check_skd_reject},
        {"group", check_group},
        {"group-reject", check_group_reject},
        {"envelope", check_envelope},
        {"envelope-batch", check_envelope_batch},
        {"envelope-reject", check_envelope_reject},
    };
    for (size_t k = 0; k < sizeof table / sizeof table[0]; k++)
        if (strcmp(type, table[k].type) == 0)
            return table[k].fn;
    return NULL;
}

int main(int argc, char **argv)
{
    static const char *const files[] = {"rng.txt",   "identity.txt", "invite.txt",  "handshake.txt",
                                        "chain.txt", "group.txt",    "envelope.txt"};
    if (argc != 2) {
        fprintf(stderr, "usage: check_vectors <vectors-dir>\n");
        return 2;
    }
    if (sodium_init() < 0) {
        fprintf(stderr, "check_vectors: sodium_init failed\n");
        return 2;
    }
    for (size_t k = 0; k < sizeof files / sizeof files[0]; k++) {
        int n = check_file(argv[1], files[k]);
        printf("%-14s %3d records\n", files[k], n);
    }
    if (failures) {
        fprintf(stderr, "check_vectors: %d failures in %d records\n", failures, records_checked);
        return 1;
    }
    printf("check_vectors: all %d records match\n", records_checked);
    return 0;
}
