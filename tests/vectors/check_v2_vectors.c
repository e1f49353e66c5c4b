/*
 * check_v2_vectors: recomputes every protocol v2 test vector (tests/vectors/v2_*.txt) with
 * the real shared/v2 (and shared/mls) APIs, compares byte for byte, decodes every recorded
 * envelope and checks every rejection for its recorded reason.
 *
 *   check_v2_vectors <vectors-dir>
 *
 * Plain C and stdio only (no POSIX), so it can run as WebAssembly under Node. Exit status 0 only if every record of every file checked and every
 * field of every record was used.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mls_group.h"
#include "mls_keysched.h"
#include "sc2_envelope.h"
#include "sc2_link.h"
#include "sc2_loghash.h"
#include "sc2_verify.h"
#include "sc2_room.h"
#include "v2_room_scenario.h"

static uint32_t ld32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static uint64_t ld64(const uint8_t *p) { return ((uint64_t)ld32(p) << 32) | ld32(p + 4); }

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
        *v = ld64(b);
    return b != NULL;
}

static int get_u32(record *r, const char *name, uint32_t *v)
{
    const uint8_t *b = get(r, name, 4, NULL);
    if (b)
        *v = ld32(b);
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

typedef struct vrng {
    uint8_t seed[32];
    uint64_t i;
} vrng;

/* The vectors' deterministic rng (README.md). */
static void vrng_fill(void *ctx, uint8_t *o, size_t n)
{
    vrng *v = ctx;
    uint8_t ib[8], s[32];
    for (int k = 0; k < 8; k++)
        ib[k] = (uint8_t)(v->i >> (56 - 8 * k));
    crypto_generichash(s, 32, ib, 8, v->seed, 32);
    randombytes_buf_deterministic(o, n, s);
    v->i++;
}

/* An rng that hands out recorded bytes (a gi_box nonce). */
typedef struct replay {
    const uint8_t *p;
    size_t n;
    int bad;
} replay;

static void replay_fill(void *ctx, uint8_t *o, size_t n)
{
    replay *r = ctx;
    if (n != r->n) {
        r->bad = 1;
        memset(o, 0, n);
        return;
    }
    memcpy(o, r->p, n);
}

static void check_link(record *r)
{
    const char *label = text(r, "seed_label");
    const uint8_t *seed = get(r, "seed", 32, NULL);
    const char *base = text(r, "base");
    if (!label || !seed || !base)
        return;
    uint8_t want_seed[32], room[16], secret[32], pk[32], sk[64], gk[32];
    crypto_generichash(want_seed, 32, (const uint8_t *)label, strlen(label), NULL, 0);
    FAIL_IF(memcmp(want_seed, seed, 32) != 0, r, "seed");
    vrng v;
    memcpy(v.seed, seed, 32);
    v.i = 0;
    mls_rng rng = {vrng_fill, &v};
    sc2_link_new_room(&rng, room, secret);
    expect(r, "room_id", room, 16);
    expect(r, "link_secret", secret, 32);
    char link[SC2_LINK_MAX_URL], ws[SC2_LINK_MAX_URL], t[SC2_ROOM_ID_CHARS + 1];
    FAIL_IF(sc2_link_format(base, room, secret, link, sizeof link) <= 0, r, "link");
    expect_text(r, "link", link);
    FAIL_IF(sc2_link_ws_url(base, room, ws, sizeof ws) <= 0, r, "ws_url");
    expect_text(r, "ws_url", ws);
    sc2_link_room_id_text(room, t);
    expect_text(r, "room_id_text", t);
    sc2_link_join_keypair(secret, pk, sk);
    expect(r, "join_seed", sk, 32);
    expect(r, "join_pk", pk, 32);
    sc2_link_gi_key(secret, gk);
    expect(r, "gi_key", gk, 32);
    uint8_t room2[16], secret2[32];
    FAIL_IF(sc2_link_parse(link, room2, secret2, NULL, 0) != 0, r, "link");
    FAIL_IF(memcmp(room2, room, 16) != 0 || memcmp(secret2, secret, 32) != 0, r, "link");
    sodium_memzero(sk, sizeof sk);
}

static const struct {
    const char *name;
    int rc;
} link_errors[] = {
    {"ok", 0},
    {"url", SC2_LINK_E_URL},
    {"no_fragment", SC2_LINK_E_NO_FRAGMENT},
    {"not_saltchat", SC2_LINK_E_NOT_SALTCHAT},
    {"old_version", SC2_LINK_E_OLD_VERSION},
    {"new_version", SC2_LINK_E_NEW_VERSION},
    {"encoding", SC2_LINK_E_ENCODING},
    {"length", SC2_LINK_E_LENGTH},
    {"check", SC2_LINK_E_CHECK},
    {"proof", SC2_LINK_E_PROOF},
    {"box", SC2_LINK_E_BOX},
    {"groupinfo", SC2_LINK_E_GROUPINFO},
    {"epoch", SC2_LINK_E_EPOCH},
};

static int link_error(record *r)
{
    const char *e = text(r, "error");
    for (size_t i = 0; e && i < sizeof link_errors / sizeof link_errors[0]; i++)
        if (strcmp(e, link_errors[i].name) == 0)
            return link_errors[i].rc;
    fail(r, "unknown error name", e);
    return 1;
}

static void check_link_parse(record *r)
{
    const char *link = text(r, "link");
    int want = link_error(r);
    if (!link || want > 0)
        return;
    uint8_t room[16], secret[32];
    char base[SC2_LINK_MAX_URL];
    int rc = sc2_link_parse(link, room, secret, base, sizeof base);
    FAIL_IF(rc != want, r, "error");
    if (rc == 0 && want == 0) {
        expect(r, "room_id", room, 16);
        expect(r, "link_secret", secret, 32);
        expect_text(r, "base", base);
    }
}

static void check_auth(record *r)
{
    const uint8_t *secret = get(r, "link_secret", 32, NULL), *room = get(r, "room_id", 16, NULL),
                  *nonce = get(r, "nonce", 32, NULL);
    if (!secret || !room || !nonce)
        return;
    uint8_t pk[32], sig[64];
    sc2_link_auth_sign(secret, room, nonce, pk, sig);
    expect(r, "join_pk", pk, 32);
    expect(r, "sig", sig, 64);
    FAIL_IF(sc2_link_auth_verify(pk, room, nonce, sig) != 0, r, "sig");
}

static void check_auth_reject(record *r)
{
    const uint8_t *pk = get(r, "join_pk", 32, NULL), *room = get(r, "room_id", 16, NULL),
                  *nonce = get(r, "nonce", 32, NULL), *sig = get(r, "sig", 64, NULL);
    int want = link_error(r);
    if (pk && room && nonce && sig)
        FAIL_IF(sc2_link_auth_verify(pk, room, nonce, sig) != want, r, "error");
}

static void check_gibox(record *r)
{
    size_t gl = 0, bl = 0;
    uint64_t epoch = 0;
    const uint8_t *secret = get(r, "link_secret", 32, NULL), *room = get(r, "room_id", 16, NULL),
                  *gi = get(r, "group_info", 0, &gl), *nonce = get(r, "nonce", 24, NULL),
                  *box = get(r, "gi_box", 0, &bl);
    if (!get_u64(r, "epoch", &epoch) || !secret || !room || !gi || !nonce || !box)
        return;
    replay rp = {nonce, 24, 0};
    mls_rng rng = {replay_fill, &rp};
    uint8_t *mine = malloc(sc2_link_gibox_size(gl)), *opened = malloc(bl + 1);
    if (!mine || !opened) {
        fail(r, "out of memory", NULL);
        free(mine);
        free(opened);
        return;
    }
    int n = sc2_link_gibox_seal(secret, epoch, gi, gl, &rng, mine, sc2_link_gibox_size(gl));
    FAIL_IF(rp.bad || n != (int)bl || memcmp(mine, box, bl) != 0, r, "gi_box");
    size_t ol = 0;
    uint64_t oe = 0;
    FAIL_IF(sc2_link_gibox_open(secret, room, box, bl, opened, bl, &ol, &oe) != 0, r, "gi_box");
    FAIL_IF(ol != gl || memcmp(opened, gi, gl) != 0 || oe != epoch, r, "group_info");
    free(mine);
    free(opened);
}

static void check_gibox_reject(record *r)
{
    size_t bl = 0;
    const uint8_t *secret = get(r, "link_secret", 32, NULL), *room = get(r, "room_id", 16, NULL),
                  *box = get(r, "gi_box", 0, &bl);
    int want = link_error(r);
    if (!secret || !room || !box)
        return;
    uint8_t *opened = malloc(bl + 1);
    size_t ol = 0;
    uint64_t oe = 0;
    if (!opened) {
        fail(r, "out of memory", NULL);
        return;
    }
    FAIL_IF(sc2_link_gibox_open(secret, room, box, bl, opened, bl, &ol, &oe) != want, r, "error");
    free(opened);
}

static void check_rotate(record *r)
{
    const uint8_t *es = get(r, "exporter_secret", 32, NULL), *room = get(r, "room_id", 16, NULL);
    const char *label = text(r, "label");
    if (!es || !room || !label)
        return;
    FAIL_IF(strcmp(label, SC2_LINK_EXPORTER_LABEL) != 0, r, "label");
    mls_epoch_secrets s;
    memset(&s, 0, sizeof s);
    memcpy(s.exporter_secret, es, 32);
    uint8_t ns[32], pk[32];
    FAIL_IF(mls_keysched_export(&s, (const uint8_t *)label, strlen(label), room, 16, ns, 32) != 0,
            r, "exporter_secret");
    expect(r, "link_secret", ns, 32);
    sc2_link_join_keypair(ns, pk, NULL);
    expect(r, "join_pk", pk, 32);
    sodium_memzero(&s, sizeof s);
}

static const char *const env_errors[] = {"ok",     "partial", "version",  "type", "direction",
                                         "length", "field",   "trailing", "empty"};

static enum sc2_env_dir env_dir(record *r)
{
    const char *d = text(r, "dir");
    if (d && strcmp(d, "client") == 0)
        return SC2_FROM_CLIENT;
    if (!d || strcmp(d, "relay") != 0)
        fail(r, "dir must be client or relay", d);
    return SC2_FROM_RELAY;
}

static const char *type_name(uint8_t t)
{
    switch (t) {
    case SC2_T_AUTH: return "AUTH";
    case SC2_T_CREATE: return "CREATE";
    case SC2_T_GET_GI: return "GET_GI";
    case SC2_T_RESUME: return "RESUME";
    case SC2_T_SUBMIT: return "SUBMIT";
    case SC2_T_CHALLENGE: return "CHALLENGE";
    case SC2_T_GI: return "GI";
    case SC2_T_LOG: return "LOG";
    case SC2_T_LIVE: return "LIVE";
    case SC2_T_GONE: return "GONE";
    case SC2_T_ACCEPTED: return "ACCEPTED";
    case SC2_T_REJECTED: return "REJECTED";
    case SC2_T_ERROR: return "ERROR";
    default: return "?";
    }
}

/* Compares a decoded fixed-size pointer field with the record. */
static void expect_ptr(record *r, const char *name, const uint8_t *p, size_t n)
{
    if (!p)
        fail(r, "decoder did not return the field", name);
    else
        expect(r, name, p, n);
}

static void expect_u(record *r, const char *name, uint64_t v, size_t bytes)
{
    uint8_t b[8];
    for (size_t i = 0; i < bytes; i++)
        b[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
    expect(r, name, b, bytes);
}

static void check_envelope(record *r)
{
    size_t n = 0;
    enum sc2_env_dir dir = env_dir(r);
    const uint8_t *b = get(r, "bytes", 0, &n);
    const char *name = text(r, "name");
    if (!b || !name)
        return;
    sc2_env e;
    if (sc2_env_decode(b, n, dir, &e) != 0) {
        fail(r, "does not decode", "bytes");
        return;
    }
    FAIL_IF(strcmp(type_name(e.type), name) != 0, r, "name");
    uint8_t *re = malloc(n);
    size_t m = 0;
    if (!re) {
        fail(r, "out of memory", NULL);
        return;
    }
    switch (e.type) {
    case SC2_T_AUTH:
        expect_ptr(r, "join_pk", e.join_pk, 32);
        expect_ptr(r, "sig", e.sig, 64);
        m = sc2_env_encode_auth(re, n, e.join_pk, e.sig);
        break;
    case SC2_T_CREATE:
        expect_ptr(r, "join_pk", e.join_pk, 32);
        expect_ptr(r, "sig", e.sig, 64);
        expect(r, "gi_box", e.gi_box, e.gi_box_len);
        m = sc2_env_encode_create(re, n, e.join_pk, e.sig, e.gi_box, e.gi_box_len);
        break;
    case SC2_T_GET_GI:
        m = sc2_env_encode_get_gi(re, n);
        break;
    case SC2_T_RESUME:
        expect_u(r, "after_seq", e.seq, 8);
        m = sc2_env_encode_resume(re, n, e.seq);
        break;
    case SC2_T_SUBMIT:
        expect_u(r, "token", e.token, 8);
        expect_u(r, "flags", e.flags, 1);
        if (e.gi_box)
            expect(r, "gi_box", e.gi_box, e.gi_box_len);
        if (e.join_pk)
            expect(r, "join_pk", e.join_pk, 32);
        expect(r, "mls", e.mls, e.mls_len);
        m = sc2_env_encode_submit(re, n, e.token, e.gi_box, e.gi_box_len, e.join_pk, e.mls,
                                  e.mls_len);
        break;
    case SC2_T_CHALLENGE:
        expect_ptr(r, "nonce", e.nonce, 32);
        expect_u(r, "max_payload", e.max_payload, 4);
        m = sc2_env_encode_challenge(re, n, e.nonce, e.max_payload);
        break;
    case SC2_T_GI:
        expect_u(r, "seq", e.seq, 8);
        expect_ptr(r, "log_hash", e.log_hash, 32);
        expect(r, "gi_box", e.gi_box, e.gi_box_len);
        m = sc2_env_encode_gi(re, n, e.seq, e.log_hash, e.gi_box, e.gi_box_len);
        break;
    case SC2_T_LOG:
        expect_u(r, "seq", e.seq, 8);
        expect_u(r, "time_ms", e.time_ms, 8);
        expect_u(r, "flags", e.flags, 1);
        if (e.join_pk)
            expect(r, "join_pk", e.join_pk, 32);
        expect(r, "mls", e.mls, e.mls_len);
        m = sc2_env_encode_log(re, n, e.seq, e.time_ms, e.flags, e.join_pk, e.mls, e.mls_len);
        break;
    case SC2_T_LIVE:
        expect_u(r, "head_seq", e.seq, 8);
        m = sc2_env_encode_live(re, n, e.seq);
        break;
    case SC2_T_GONE:
        expect_u(r, "oldest_seq", e.seq, 8);
        m = sc2_env_encode_gone(re, n, e.seq);
        break;
    case SC2_T_ACCEPTED:
        expect_u(r, "token", e.token, 8);
        expect_u(r, "seq", e.seq, 8);
        m = sc2_env_encode_accepted(re, n, e.token, e.seq);
        break;
    case SC2_T_REJECTED:
        expect_u(r, "token", e.token, 8);
        expect_u(r, "code", e.code, 2);
        expect_text(r, "code_name", sc2_code_name(e.code));
        expect_u(r, "epoch", e.epoch, 8);
        m = sc2_env_encode_rejected(re, n, e.token, e.code, e.epoch);
        break;
    case SC2_T_ERROR: {
        char reason[SC2_ENV_MAX_REASON + 1];
        expect_u(r, "code", e.code, 2);
        expect_text(r, "code_name", sc2_code_name(e.code));
        memcpy(reason, e.reason, e.reason_len);
        reason[e.reason_len] = '\0';
        expect_text(r, "reason", reason);
        m = sc2_env_encode_error(re, n, e.code, reason);
        break;
    }
    default:
        fail(r, "unexpected type", name);
    }
    FAIL_IF(m != n || memcmp(re, b, n) != 0, r, "bytes");
    free(re);
    for (size_t k = 0; k < n; k++)
        FAIL_IF(sc2_env_decode(b, k, dir, &e) != (k ? SC2_ENV_E_PARTIAL : SC2_ENV_E_EMPTY), r,
                "bytes");
}

static void check_envelope_batch(record *r)
{
    size_t n = 0;
    uint32_t count = 0, got = 0;
    enum sc2_env_dir dir = env_dir(r);
    const uint8_t *b = get(r, "bytes", 0, &n);
    if (!b || !get_u32(r, "count", &count))
        return;
    sc2_env_iter it;
    sc2_env e;
    int rc;
    sc2_env_iter_init(&it, b, n, dir);
    while ((rc = sc2_env_iter_next(&it, &e)) == 1)
        got++;
    FAIL_IF(rc != 0 || got != count, r, "count");
}

static void check_envelope_reject(record *r)
{
    size_t n = 0;
    enum sc2_env_dir dir = env_dir(r);
    const uint8_t *b = get(r, "bytes", 0, &n);
    const char *want = text(r, "error");
    if (!want)
        return;
    sc2_env e;
    int rc = sc2_env_decode(b, n, dir, &e);
    if (rc >= 0 || -rc >= (int)(sizeof env_errors / sizeof env_errors[0]) ||
        strcmp(env_errors[-rc], want) != 0)
        fail(r, "decoder's error is not the recorded one", want);
}

static void check_lh_genesis(record *r)
{
    const uint8_t *room = get(r, "room_id", 16, NULL);
    uint8_t l0[32];
    if (!room)
        return;
    sc2_lh_genesis(room, l0);
    expect(r, "l0", l0, 32);
}

static void check_lh_chain(record *r)
{
    size_t n = 0, hn = 0;
    uint64_t first = 0;
    const uint8_t *room = get(r, "room_id", 16, NULL), *prev = get(r, "prev", 32, NULL),
                  *log = get(r, "log", 0, &n), *heads = get(r, "heads", 0, &hn);
    if (!room || !prev || !log || !heads || !get_u64(r, "first_seq", &first) || first == 0)
        return;
    sc2_loghash st;
    if (first == 1) {
        uint8_t l0[32];
        sc2_lh_genesis(room, l0);
        FAIL_IF(memcmp(l0, prev, 32) != 0, r, "prev");
        sc2_lh_init_genesis(&st, room);
    } else {
        sc2_lh_init_anchor(&st, first - 1, prev);
    }
    sc2_env_iter it;
    sc2_env e;
    size_t k = 0;
    int rc;
    sc2_env_iter_init(&it, log, n, SC2_FROM_RELAY);
    while ((rc = sc2_env_iter_next(&it, &e)) == 1) {
        uint8_t l[32];
        FAIL_IF(e.type != SC2_T_LOG || e.seq != first + k, r, "log");
        FAIL_IF(sc2_lh_append(&st, e.body, e.body_len) != 0, r, "log");
        sc2_lh_head(&st, l);
        FAIL_IF((k + 1) * 32 > hn || memcmp(l, heads + k * 32, 32) != 0, r, "heads");
        /* the step alone gives the same */
        uint8_t l2[32];
        sc2_lh_step(k ? heads + (k - 1) * 32 : prev, e.seq, e.body, e.body_len, l2);
        FAIL_IF(memcmp(l2, l, 32) != 0, r, "heads");
        k++;
    }
    FAIL_IF(rc != 0 || k * 32 != hn, r, "log");
}

static void check_aad(record *r)
{
    uint64_t seq = 0, dseq = 0;
    const uint8_t *l = get(r, "l", 32, NULL);
    size_t n = 0;
    const uint8_t *aad = get(r, "aad", 0, &n);
    if (!l || !aad || !get_u64(r, "seq", &seq))
        return;
    uint8_t mine[SC2_LH_AAD_BYTES], dl[32];
    sc2_lh_aad_encode(seq, l, mine);
    FAIL_IF(n != sizeof mine || memcmp(mine, aad, n) != 0, r, "aad");
    FAIL_IF(sc2_lh_aad_decode(aad, n, &dseq, dl) != 0 || dseq != seq || memcmp(dl, l, 32) != 0,
            r, "aad");
}

static void check_aad_reject(record *r)
{
    size_t n = 0;
    const uint8_t *aad = get(r, "aad", 0, &n);
    const char *want = text(r, "error");
    uint64_t s;
    uint8_t l[32];
    if (aad && want)
        FAIL_IF(strcmp(want, "aad") != 0 || sc2_lh_aad_decode(aad, n, &s, l) != SC2_LH_E_AAD, r,
                "error");
}

/* ---- v2_room.txt: sc2_room ------------------------------------------------------- */

/* A display name field as a NUL-terminated string (hex field, may be empty). */
static int name_field(record *r, const char *field_name, char *out, size_t cap)
{
    field *f = find(r, field_name);
    if (!f) {
        fail(r, "missing field", field_name);
        return 0;
    }
    f->used = 1;
    if (f->len >= cap || (f->len && memchr(f->val, 0, f->len))) {
        fail(r, "bad display name field", field_name);
        return 0;
    }
    if (f->len)
        memcpy(out, f->val, f->len);
    out[f->len] = 0;
    return 1;
}

static void check_room_name(record *r)
{
    char name[256];
    uint8_t seed[32] = {0};
    const uint8_t *valid = get(r, "valid", 1, NULL);
    if (!valid || !name_field(r, "display_name", name, sizeof name))
        return;
    sc2_room *room = NULL;
    sc2_room_config cfg = {seed, name, NULL};
    int ok = sc2_room_create(&room, &cfg, 1700000000000ull) == 0;
    sc2_room_free(room);
    FAIL_IF(ok != (valid[0] == 1), r, "valid");
    if (!ok) {
        FAIL_IF(find(r, "credential") != NULL, r, "credential");
        return;
    }
    /* basic credential: u16 type 1, then the identity as an MLS vector (RFC 9420 2.1.2) */
    size_t n = strlen(name), k = 0;
    uint8_t cred[2 + 2 + 256];
    cred[k++] = 0;
    cred[k++] = 1;
    if (n < 64) {
        cred[k++] = (uint8_t)n;
    } else {
        cred[k++] = (uint8_t)(0x40 | (n >> 8));
        cred[k++] = (uint8_t)n;
    }
    memcpy(cred + k, name, n);
    expect(r, "credential", cred, k + n);
}

/* The authenticated_data inside a SUBMIT of an application PrivateMessage, or NULL. */
static const uint8_t *submit_aad(const uint8_t *env, size_t len, size_t *aad_len)
{
    sc2_env e;
    if (sc2_env_decode(env, len, SC2_FROM_CLIENT, &e) != 0 || e.type != SC2_T_SUBMIT ||
        e.flags != 0 || e.mls_len < 31)
        return NULL;
    const uint8_t *m = e.mls;
    /* version 1, private_message 2, group_id<16>, epoch, content_type application */
    if (m[0] != 0 || m[1] != 1 || m[2] != 0 || m[3] != 2 || m[4] != 16 || m[29] != 1)
        return NULL;
    if (m[30] >= 64 || (size_t)31 + m[30] > e.mls_len)
        return NULL;
    *aad_len = m[30];
    return m + 31;
}

static void check_room_create(record *r)
{
    const char *label = text(r, "seed_label"), *name = text(r, "display_name");
    const char *msg = text(r, "text");
    uint64_t now = 0;
    if (!label || !name || !msg || !get_u64(r, "now_ms", &now))
        return;
    static v2rs_out o;
    if (v2rs_run(label, name, now, msg, &o) != 0) {
        fail(r, "the sc2_room scenario failed", NULL);
        return;
    }
    expect(r, "sig_seed", o.sig_seed, 32);
    expect(r, "identity", o.identity, 32);
    expect(r, "room_id", o.room_id, 16);
    expect(r, "link_secret", o.link_secret, 32);
    expect(r, "challenge", o.challenge, o.challenge_len);
    expect(r, "create", o.msg[0], o.msg_len[0]);
    expect(r, "resume", o.msg[1], o.msg_len[1]);
    expect(r, "live", o.live, o.live_len);
    expect(r, "submit_text", o.msg[2], o.msg_len[2]);
    expect(r, "submit_leave", o.msg[3], o.msg_len[3]);

    uint8_t pk[32], sk[64];
    sc2_link_join_keypair(o.link_secret, pk, sk);
    sodium_memzero(sk, sizeof sk);
    expect(r, "join_pk", pk, 32);
    sc2_env e;
    if (sc2_env_decode(o.msg[0], o.msg_len[0], SC2_FROM_CLIENT, &e) != 0 ||
        e.type != SC2_T_CREATE) {
        fail(r, "CREATE does not decode", "create");
        return;
    }
    FAIL_IF(memcmp(e.join_pk, pk, 32) != 0, r, "create");
    FAIL_IF(sc2_link_auth_verify(e.join_pk, o.room_id, o.nonce, e.sig) != 0, r, "create");
    static uint8_t gi[V2RS_MAX_BYTES];
    size_t gi_len = 0;
    uint64_t epoch = 1;
    FAIL_IF(sc2_link_gibox_open(o.link_secret, o.room_id, e.gi_box, e.gi_box_len, gi, sizeof gi,
                                &gi_len, &epoch) != 0 || epoch != 0,
            r, "create");
    expect(r, "group_info", gi, gi_len);

    sc2_loghash lh;
    uint8_t aad[SC2_LH_AAD_BYTES];
    sc2_lh_init_genesis(&lh, o.room_id);
    sc2_lh_aad(&lh, aad);
    expect(r, "aad", aad, sizeof aad);
    for (int i = 2; i < 4; i++) {
        size_t n = 0;
        const uint8_t *a = submit_aad(o.msg[i], o.msg_len[i], &n);
        FAIL_IF(!a || n != sizeof aad || memcmp(a, aad, n) != 0, r,
                i == 2 ? "submit_text" : "submit_leave");
    }
    uint8_t pt[SC2_ROOM_MAX_TEXT + 1];
    size_t tl = strlen(msg);
    pt[0] = 1;
    memcpy(pt + 1, msg, tl);
    expect(r, "plaintext_text", pt, tl + 1);
    pt[0] = 2;
    expect(r, "plaintext_leave", pt, 1);

    /* the joiner: AUTH with the link's key over its own nonce, GET_GI, then the external
     * commit (PublicMessage, new_member_commit, epoch 0) with the epoch-1 GroupInfo sealed
     * under the same link */
    expect(r, "joiner_seed", o.j_seed, 32);
    expect(r, "joiner_identity", o.j_identity, 32);
    expect(r, "joiner_challenge", o.j_challenge, o.j_challenge_len);
    expect(r, "joiner_auth", o.j_msg[0], o.j_msg_len[0]);
    expect(r, "joiner_get_gi", o.j_msg[1], o.j_msg_len[1]);
    expect(r, "joiner_gi", o.j_gi, o.j_gi_len);
    expect(r, "joiner_submit", o.j_msg[2], o.j_msg_len[2]);
    FAIL_IF(sc2_env_decode(o.j_msg[0], o.j_msg_len[0], SC2_FROM_CLIENT, &e) != 0 ||
                e.type != SC2_T_AUTH || memcmp(e.join_pk, pk, 32) != 0 ||
                sc2_link_auth_verify(e.join_pk, o.room_id, o.j_nonce, e.sig) != 0,
            r, "joiner_auth");
    if (sc2_env_decode(o.j_msg[2], o.j_msg_len[2], SC2_FROM_CLIENT, &e) != 0 ||
        e.type != SC2_T_SUBMIT || e.flags != SC2_SUBMIT_F_GI || e.mls_len < 30) {
        fail(r, "the external commit's SUBMIT does not decode", "joiner_submit");
        return;
    }
    const uint8_t *m = e.mls;
    /* mls10, public_message, group_id = room_id, epoch 0, sender new_member_commit */
    FAIL_IF(m[1] != 1 || m[3] != 1 || m[4] != 16 || memcmp(m + 5, o.room_id, 16) != 0 ||
                ld64(m + 21) != 0 || m[29] != 4,
            r, "joiner_submit");
    FAIL_IF(sc2_link_gibox_open(o.link_secret, o.room_id, e.gi_box, e.gi_box_len, gi, sizeof gi,
                                &gi_len, &epoch) != 0 || epoch != 1,
            r, "joiner_submit");
    expect(r, "joiner_group_info", gi, gi_len);
}

/* ---- v2_verify.txt: sc2_verify ---------------------------------------------------- */

static void check_fingerprint(record *r)
{
    const uint8_t *id = get(r, "identity", 32, NULL);
    char fp[SC2_VF_FP_CHARS + 1];
    if (!id)
        return;
    sc2_vf_fingerprint(id, fp);
    expect_text(r, "fingerprint", fp);
}

static void check_safety_number(record *r)
{
    const uint8_t *a = get(r, "identity_a", 32, NULL), *b = get(r, "identity_b", 32, NULL);
    char sn[SC2_VF_SN_CHARS + 1], sn2[SC2_VF_SN_CHARS + 1];
    if (!a || !b)
        return;
    sc2_vf_safety_number(a, b, sn);
    sc2_vf_safety_number(b, a, sn2);
    FAIL_IF(strcmp(sn, sn2) != 0, r, "safety_number");
    expect_text(r, "safety_number", sn);
}

static void check_room_code(record *r)
{
    uint64_t epoch = 0;
    const uint8_t *room = get(r, "room_id", 16, NULL),
                  *ea = get(r, "epoch_authenticator", 32, NULL);
    char code[SC2_VF_CODE_CHARS + 1];
    if (!room || !ea || !get_u64(r, "epoch", &epoch))
        return;
    sc2_vf_room_code(room, epoch, ea, code);
    expect_text(r, "room_code", code);
}

static void check_verify_input(record *r)
{
    static const char *const results[] = {"format", "mismatch", "ok", "fingerprint",
                                          "safety_number"};
    const char *fp = text(r, "fingerprint"), *sn = text(r, "safety_number"),
               *in = text(r, "input");
    if (!fp || !sn || !in)
        return;
    int rc = sc2_vf_check(in, strlen(in), fp, sn);
    expect_text(r, "result", rc >= -2 && rc <= 2 ? results[rc + 2] : "?");
}

static checker checker_for(const char *type)
{
    static const struct {
        const char *type;
        checker fn;
    } table[] = {
        {"link", check_link},
        {"link-parse", check_link_parse},
        {"auth", check_auth},
        {"auth-reject", check_auth_reject},
        {"gibox", check_gibox},
        {"gibox-reject", check_gibox_reject},
        {"rotate", check_rotate},
        {"envelope", check_envelope},
        {"envelope-batch", check_envelope_batch},
        {"envelope-reject", check_envelope_reject},
        {"loghash-genesis", check_lh_genesis},
        {"loghash-chain", check_lh_chain},
        {"aad", check_aad},
        {"aad-reject", check_aad_reject},
        {"room-name", check_room_name},
        {"room-create", check_room_create},
        {"fingerprint", check_fingerprint},
        {"safety-number", check_safety_number},
        {"room-code", check_room_code},
        {"verify-input", check_verify_input},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(table[i].type, type) == 0)
            return table[i].fn;
    return NULL;
}

int main(int argc, char **argv)
{
    static const char *const files[] = {"v2_link.txt", "v2_envelope.txt", "v2_loghash.txt",
                                         "v2_room.txt", "v2_verify.txt"};
    if (argc != 2) {
        fprintf(stderr, "usage: check_v2_vectors <vectors-dir>\n");
        return 2;
    }
    if (sodium_init() < 0) {
        fprintf(stderr, "check_v2_vectors: sodium_init failed\n");
        return 2;
    }
    for (size_t k = 0; k < sizeof files / sizeof files[0]; k++) {
        int n = check_file(argv[1], files[k]);
        printf("%-16s %3d records\n", files[k], n);
    }
    if (failures) {
        fprintf(stderr, "check_v2_vectors: %d failures in %d records\n", failures,
                records_checked);
        return 1;
    }
    printf("check_v2_vectors: all %d records match\n", records_checked);
    return 0;
}
