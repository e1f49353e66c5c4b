#include "wc_api.h"

#include <qrencode.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mls_codec.h"
#include "sc2_link.h"
#include "sc2_room.h"
#include "sc2_verify.h"
#include "wc_json.h"

#define SEED_BYTES 32u
#define SEAL_OVERHEAD (crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)

struct wc_room {
    sc2_room *r;
    char room_id[SC2_ROOM_ID_CHARS + 1];
    char link[SC2_LINK_MAX_URL];
    char my_identity[2 * SC2_ROOM_SIG_PUB_BYTES + 1];
    size_t out_len;
    wc_json json;
};

static uint8_t store_key[crypto_secretbox_KEYBYTES];
static int have_store_key;
static size_t last_len;

int wc_init(void) { return sodium_init() < 0 ? -1 : 0; }

/* Every buffer we hand out starts with its length, so it can be wiped when freed. */
static uint8_t *buf_new(size_t n)
{
    uint8_t *p = malloc(sizeof(size_t) + (n ? n : 1));
    if (!p)
        return NULL;
    memcpy(p, &n, sizeof n);
    last_len = n;
    return p + sizeof(size_t);
}

void wc_free_buf(void *p)
{
    if (!p)
        return;
    uint8_t *base = (uint8_t *)p - sizeof(size_t);
    size_t n;
    memcpy(&n, base, sizeof n);
    sodium_memzero(base, sizeof(size_t) + n);
    free(base);
}

size_t wc_last_len(void) { return last_len; }

void wc_store_key_new(uint8_t *out32) { randombytes_buf(out32, crypto_secretbox_KEYBYTES); }

void wc_store_key_set(const uint8_t *key32)
{
    memcpy(store_key, key32, sizeof store_key);
    have_store_key = 1;
}

size_t wc_store_key_bytes(void) { return crypto_secretbox_KEYBYTES; }

uint8_t *wc_seal(const uint8_t *in, size_t len)
{
    if (!have_store_key || len > SIZE_MAX - SEAL_OVERHEAD - 64)
        return NULL;
    uint8_t *out = buf_new(len + SEAL_OVERHEAD);
    if (!out)
        return NULL;
    randombytes_buf(out, crypto_secretbox_NONCEBYTES);
    crypto_secretbox_easy(out + crypto_secretbox_NONCEBYTES, in, len, out, store_key);
    return out;
}

uint8_t *wc_open(const uint8_t *in, size_t len)
{
    if (!have_store_key || len < SEAL_OVERHEAD)
        return NULL;
    uint8_t *out = buf_new(len - SEAL_OVERHEAD);
    if (!out)
        return NULL;
    if (crypto_secretbox_open_easy(out, in + crypto_secretbox_NONCEBYTES,
                                   len - crypto_secretbox_NONCEBYTES, in, store_key) != 0) {
        wc_free_buf(out);
        return NULL;
    }
    last_len = len - SEAL_OVERHEAD;
    return out;
}

uint8_t *wc_identity_new(void)
{
    uint8_t seed[SEED_BYTES];
    randombytes_buf(seed, sizeof seed);
    uint8_t *out = wc_seal(seed, sizeof seed);
    sodium_memzero(seed, sizeof seed);
    return out;
}

/* Opens a sealed identity into seed. Returns 0 or -1. */
static int identity_open(const uint8_t *blob, size_t len, uint8_t seed[SEED_BYTES])
{
    uint8_t *s = wc_open(blob, len);
    if (!s)
        return -1;
    int rc = last_len == SEED_BYTES ? 0 : -1;
    if (rc == 0)
        memcpy(seed, s, SEED_BYTES);
    wc_free_buf(s);
    return rc;
}

static void hex(char *out, const uint8_t *b, size_t n)
{
    sodium_bin2hex(out, 2 * n + 1, b, n);
}

int wc_identity_public(const uint8_t *blob, size_t len, char *hex65, char *fp36)
{
    uint8_t seed[SEED_BYTES], pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
    if (identity_open(blob, len, seed) < 0)
        return -1;
    crypto_sign_seed_keypair(pk, sk, seed);
    sodium_memzero(seed, sizeof seed);
    sodium_memzero(sk, sizeof sk);
    hex(hex65, pk, sizeof pk);
    sc2_vf_fingerprint(pk, fp36); /* the same number every client shows (PROTOCOL.md 8.11) */
    return 0;
}

/* --- verification (sc2_verify) --- */

/* 64 hex digits to 32 bytes. Returns 0 or -1. */
static int unhex32(const char *s, uint8_t out[32])
{
    size_t n = 0;
    if (!s || strlen(s) != 64 ||
        sodium_hex2bin(out, 32, s, 64, NULL, &n, NULL) != 0 || n != 32)
        return -1;
    return 0;
}

int wc_verify_fingerprint(const char *identity_hex, char *fp36)
{
    uint8_t id[32];
    if (unhex32(identity_hex, id) < 0)
        return -1;
    sc2_vf_fingerprint(id, fp36);
    return 0;
}

int wc_verify_safety_number(const char *fp_a, const char *fp_b, char *sn72)
{
    return sc2_vf_safety_from_fps(fp_a, fp_b, sn72) == 0 ? 0 : -1;
}

int wc_verify_check(const char *typed, const char *fp, const char *sn)
{
    return sc2_vf_check(typed, strlen(typed), fp, sn);
}

const char *wc_verify_strerror(int err) { return sc2_vf_strerror(err); }

int wc_room_code(const wc_room *w, char *code24)
{
    uint8_t ea[32];
    if (sc2_room_member_count(w->r) == 0 || sc2_room_epoch_authenticator(w->r, ea) != 0)
        return -1;
    sc2_vf_room_code(sc2_room_id(w->r), sc2_room_epoch(w->r), ea, code24);
    sodium_memzero(ea, sizeof ea);
    return 0;
}

int wc_link_check(const char *link)
{
    uint8_t id[SC2_ROOM_ID_BYTES], secret[SC2_LINK_SECRET_BYTES];
    int rc = sc2_link_parse(link, id, secret, NULL, 0);
    sodium_memzero(secret, sizeof secret);
    return rc;
}

const char *wc_link_strerror(int err) { return sc2_link_strerror(err); }

size_t wc_link_max_url(void) { return SC2_LINK_MAX_URL; }

uint8_t *wc_qr_encode(const char *text)
{
    QRcode *qr = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M);
    if (!qr)
        return NULL;
    size_t w = (size_t)qr->width; /* at most 177 (version 40) */
    uint8_t *out = w <= 177 ? buf_new(4 + w * w) : NULL;
    if (out) {
        const uint8_t head[4] = { (uint8_t)w, (uint8_t)(w >> 8), 0, 0 };
        memcpy(out, head, sizeof head);
        for (size_t i = 0; i < w * w; i++)
            out[4 + i] = qr->data[i] & 1;
    }
    QRcode_free(qr);
    return out;
}

const char *wc_room_error(int err)
{
    switch (err) {
    case WC_E_CONFIG:
        return "the display name must be 1 to 64 bytes of text without control characters "
               "(or this browser's stored identity is damaged)";
    case WC_E_NOMEM:
        return "out of memory";
    case WC_E_STATE:
        return "the room stored in this browser is damaged or was saved under another key";
    case WC_E_NOKEY:
        return "the storage key is not loaded";
    default:
        return sc2_link_strerror(err);
    }
}

static uint64_t ms(double now_ms) { return now_ms > 0 ? (uint64_t)now_ms : 0; }

/* Opens the identity, builds the config and calls one of the three constructors
 * (mode 'c' create, 'j' join, 'r' restore). */
static wc_room *room_new(char mode, const uint8_t *id, size_t id_len, const char *name,
                         const char *link, const uint8_t *blob, size_t len, uint64_t now,
                         int *err)
{
    uint8_t seed[SEED_BYTES];
    uint8_t *state = NULL;
    size_t state_len = 0;
    int rc = have_store_key ? WC_E_CONFIG : WC_E_NOKEY;
    wc_room *w = NULL;
    if (!have_store_key || identity_open(id, id_len, seed) < 0)
        goto fail;
    rc = WC_E_NOMEM;
    w = calloc(1, sizeof *w);
    if (!w)
        goto fail;
    sc2_room_config cfg = { seed, name, NULL };
    if (mode == 'c') {
        rc = sc2_room_create(&w->r, &cfg, now) == 0 ? 0 : WC_E_CONFIG;
    } else if (mode == 'j') {
        rc = sc2_room_join(&w->r, &cfg, link);
        if (rc == -100)
            rc = WC_E_CONFIG;
    } else {
        rc = WC_E_STATE;
        state = wc_open(blob, len);
        state_len = last_len;
        if (state && sc2_room_import(&w->r, &cfg, state, state_len) == 0)
            rc = 0;
    }
    if (rc != 0)
        goto fail;
    sc2_link_room_id_text(sc2_room_id(w->r), w->room_id);
    hex(w->my_identity, sc2_room_identity(w->r), SC2_ROOM_SIG_PUB_BYTES);
    sodium_memzero(seed, sizeof seed);
    wc_free_buf(state);
    *err = 0;
    return w;
fail:
    sodium_memzero(seed, sizeof seed);
    wc_free_buf(state);
    wc_room_close(w);
    *err = rc;
    return NULL;
}

wc_room *wc_room_create(const uint8_t *id, size_t id_len, const char *name, double now_ms,
                        int *err)
{
    return room_new('c', id, id_len, name, NULL, NULL, 0, ms(now_ms), err);
}

wc_room *wc_room_join(const uint8_t *id, size_t id_len, const char *name, const char *link,
                      int *err)
{
    return room_new('j', id, id_len, name, link, NULL, 0, 0, err);
}

wc_room *wc_room_restore(const uint8_t *id, size_t id_len, const char *name,
                         const uint8_t *blob, size_t len, int *err)
{
    return room_new('r', id, id_len, name, NULL, blob, len, 0, err);
}

void wc_room_close(wc_room *w)
{
    if (!w)
        return;
    sc2_room_free(w->r);
    wc_json_free(&w->json);
    sodium_memzero(w, sizeof *w); /* the link holds the room secret */
    free(w);
}

uint8_t *wc_room_save(const wc_room *w)
{
    mls_bytes st = { 0 };
    if (sc2_room_export(w->r, &st) < 0)
        return NULL;
    uint8_t *out = wc_seal(st.p, st.len);
    mls_bytes_free(&st); /* mls_alloc wipes */
    return out;
}

const char *wc_room_id(wc_room *w) { return w->room_id; }

const char *wc_room_link(wc_room *w, const char *base)
{
    if (sc2_room_link(w->r, base, w->link, sizeof w->link) < 0)
        return NULL;
    return w->link;
}

void wc_room_connected(wc_room *w, double now_ms)
{
    w->out_len = 0;
    sc2_room_connected(w->r, ms(now_ms));
}

void wc_room_disconnected(wc_room *w, double now_ms)
{
    w->out_len = 0;
    sc2_room_disconnected(w->r, ms(now_ms));
}

int wc_room_receive(wc_room *w, const uint8_t *msg, size_t len, double now_ms)
{
    return sc2_room_receive(w->r, msg, len, ms(now_ms));
}

static double token_or_fail(int rc, uint64_t token)
{
    return rc == 0 ? (double)token : -1.0;
}

double wc_room_send(wc_room *w, const uint8_t *text, size_t len, double now_ms)
{
    uint64_t t = 0;
    return token_or_fail(sc2_room_send_text(w->r, text, len, ms(now_ms), &t), t);
}

double wc_room_remove(wc_room *w, const char *identity_hex, double now_ms)
{
    uint8_t id[SC2_ROOM_SIG_PUB_BYTES];
    size_t n = 0;
    if (strlen(identity_hex) != 2 * sizeof id ||
        sodium_hex2bin(id, sizeof id, identity_hex, 2 * sizeof id, NULL, &n, NULL) != 0 ||
        n != sizeof id)
        return -1.0;
    uint64_t t = 0;
    return token_or_fail(sc2_room_remove(w->r, id, ms(now_ms), &t), t);
}

double wc_room_leave(wc_room *w, double now_ms)
{
    uint64_t t = 0;
    return token_or_fail(sc2_room_leave(w->r, ms(now_ms), &t), t);
}

const uint8_t *wc_room_output(wc_room *w)
{
    size_t len = 0;
    const uint8_t *p = sc2_room_output(w->r, &len);
    w->out_len = p ? len : 0;
    return p;
}

size_t wc_room_output_len(const wc_room *w) { return w->out_len; }

void wc_room_output_pop(wc_room *w)
{
    w->out_len = 0;
    sc2_room_output_pop(w->r);
}

const char *wc_room_next_event(wc_room *w)
{
    sc2_room_event ev;
    if (!sc2_room_next_event(w->r, &ev))
        return NULL;
    wc_json *j = &w->json;
    wc_json_reset(j);
    wc_json_object(j, NULL);
    wc_json_str(j, "type", sc2_room_event_name(ev.type));
    wc_json_num(j, "seq", (double)ev.seq);
    wc_json_num(j, "seq2", (double)ev.seq2);
    wc_json_num(j, "token", (double)ev.token);
    wc_json_num(j, "epoch", (double)ev.epoch);
    wc_json_num(j, "time_ms", (double)ev.time_ms);
    wc_json_num(j, "code", ev.code);
    wc_json_num(j, "self", ev.self);
    wc_json_num(j, "resync", ev.resync);
    wc_json_str(j, "name", ev.name ? ev.name : "");
    wc_json_hex(j, "identity", ev.identity, SC2_ROOM_SIG_PUB_BYTES);
    wc_json_str(j, "by_name", ev.by_name ? ev.by_name : "");
    wc_json_hex(j, "by_identity", ev.by_identity, SC2_ROOM_SIG_PUB_BYTES);
    wc_json_strn(j, "text", ev.text ? ev.text : (const uint8_t *)"", ev.text ? ev.text_len : 0);
    wc_json_str(j, "reason", ev.reason ? ev.reason : "");
    wc_json_close(j, '}');
    const char *out = wc_json_result(j);
    return out ? out : "{\"type\":\"glue_error\",\"reason\":\"out of memory\"}";
}

int wc_room_state(const wc_room *w) { return (int)sc2_room_state(w->r); }
double wc_room_seq(const wc_room *w) { return (double)sc2_room_seq(w->r); }
double wc_room_epoch(const wc_room *w) { return (double)sc2_room_epoch(w->r); }
size_t wc_room_outbox_len(const wc_room *w) { return sc2_room_outbox_len(w->r); }
const char *wc_room_my_identity(wc_room *w) { return w->my_identity; }
size_t wc_room_max_text(void) { return SC2_ROOM_MAX_TEXT; }

const char *wc_room_members(wc_room *w)
{
    wc_json *j = &w->json;
    wc_json_reset(j);
    wc_json_array(j, NULL);
    size_t n = sc2_room_member_count(w->r);
    for (size_t i = 0; i < n; i++) {
        char name[SC2_ROOM_MAX_NAME + 1];
        uint8_t id[SC2_ROOM_SIG_PUB_BYTES];
        if (sc2_room_member(w->r, i, name, sizeof name, id) < 0)
            continue;
        wc_json_object(j, NULL);
        wc_json_str(j, "name", name);
        wc_json_hex(j, "identity", id, sizeof id);
        wc_json_close(j, '}');
    }
    wc_json_close(j, ']');
    const char *out = wc_json_result(j);
    return out ? out : "[]";
}
