#include "sc_handshake.h"

#include <sodium.h>
#include <string.h>

#include "sc_bytes.h"
#include "sc_utf8.h"
#include "sc_wire.h"

#define L_HS1 "saltchat/v1 hs1"
#define L_TH "saltchat/v1 hs"
#define L_I2R "saltchat/v1 i2r"
#define L_R2I "saltchat/v1 r2i"
#define L_SIG_R "saltchat/v1 sig-r"
#define L_SIG_I "saltchat/v1 sig-i"

#define ID_PLAIN_FIXED (32u + 64u + 1u) /* IK, signature, name length */
#define HS2_FIXED (2u + 32u + crypto_secretbox_MACBYTES + ID_PLAIN_FIXED)
#define HS3_FIXED (2u + crypto_secretbox_MACBYTES + ID_PLAIN_FIXED)
/* longest signed message: label, th, IK_R, name length, name */
#define SIG_MSG_MAX (sizeof L_SIG_I - 1u + 32u + 32u + 1u + SC_HS_NAME_MAX)

static const uint8_t zero_nonce[crypto_secretbox_NONCEBYTES];

static void absorb(crypto_generichash_state *st, const void *p, size_t n)
{
    crypto_generichash_update(st, p, n);
}

static void absorb_label_ids(crypto_generichash_state *st, const char *label,
                             const sc_hs_ctx *ctx, uint64_t id_i, uint64_t id_r)
{
    uint8_t ids[16];
    sc_store64(ids, id_i);
    sc_store64(ids + 8, id_r);
    absorb(st, label, strlen(label));
    absorb(st, ctx->room_id, sizeof ctx->room_id);
    absorb(st, ids, sizeof ids);
}

/* mac = H(32, key room_key, "saltchat/v1 hs1" || room_id || u64(id_I) || u64(id_R) || EK_I) */
static void hs1_mac(const sc_hs_ctx *ctx, uint64_t id_i, uint64_t id_r, const uint8_t ek_i[32],
                    uint8_t mac[32])
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, ctx->room_key, sizeof ctx->room_key, 32);
    absorb_label_ids(&st, L_HS1, ctx, id_i, id_r);
    absorb(&st, ek_i, 32);
    crypto_generichash_final(&st, mac, 32);
    sodium_memzero(&st, sizeof st);
}

/* th = H(32, "saltchat/v1 hs" || room_id || u64(id_I) || u64(id_R) || EK_I || EK_R) */
static void transcript(const sc_hs_ctx *ctx, uint64_t id_i, uint64_t id_r,
                       const uint8_t ek_i[32], const uint8_t ek_r[32], uint8_t th[32])
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, 32);
    absorb_label_ids(&st, L_TH, ctx, id_i, id_r);
    absorb(&st, ek_i, 32);
    absorb(&st, ek_r, 32);
    crypto_generichash_final(&st, th, 32);
    sodium_memzero(&st, sizeof st);
}

/* k = H(32, key room_key, label || th || kx) */
static void dir_key(const sc_hs_ctx *ctx, const char *label, const uint8_t th[32],
                    const uint8_t kx[32], uint8_t k[32])
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, ctx->room_key, sizeof ctx->room_key, 32);
    absorb(&st, label, strlen(label));
    absorb(&st, th, 32);
    absorb(&st, kx, 32);
    crypto_generichash_final(&st, k, 32);
    sodium_memzero(&st, sizeof st);
}

int sc_hs_name_valid(const char *name, size_t len)
{
    const uint8_t *s = (const uint8_t *)name;
    if (len > SC_HS_NAME_MAX || !sc_utf8_valid(s, len))
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < 0x20 || s[i] == 0x7f)
            return 0;
        if (s[i] == 0xc2 && i + 1 < len && s[i + 1] < 0xa0) /* U+0080..U+009F */
            return 0;
    }
    return 1;
}

/* Builds label || th || [ik_r] || nlen || name into m; returns its length. */
static size_t sig_message(uint8_t m[SIG_MSG_MAX], const char *label, const uint8_t th[32],
                          const uint8_t *ik_r, uint8_t nlen, const char *name)
{
    size_t n = strlen(label);
    memcpy(m, label, n);
    memcpy(m + n, th, 32);
    n += 32;
    if (ik_r) {
        memcpy(m + n, ik_r, 32);
        n += 32;
    }
    m[n++] = nlen;
    memcpy(m + n, name, nlen);
    return n + nlen;
}

/* Writes box(k, N(0), IK || sign(IK_sk, sig message) || nlen || name) at out. */
static void seal_identity(const sc_hs_ctx *ctx, const char *label, const uint8_t th[32],
                          const uint8_t *ik_r, const uint8_t k[32], uint8_t *out)
{
    uint8_t m[SIG_MSG_MAX], pt[ID_PLAIN_FIXED + SC_HS_NAME_MAX];
    size_t mlen = sig_message(m, label, th, ik_r, ctx->name_len, ctx->name);
    memcpy(pt, ctx->ik_pk, 32);
    crypto_sign_detached(pt + 32, NULL, m, mlen, ctx->ik_sk);
    pt[96] = ctx->name_len;
    memcpy(pt + ID_PLAIN_FIXED, ctx->name, ctx->name_len);
    crypto_secretbox_easy(out, pt, ID_PLAIN_FIXED + ctx->name_len, zero_nonce, k);
    sodium_memzero(pt, sizeof pt);
    sodium_memzero(m, sizeof m);
}

/* Opens and checks the peer's identity box; on success fills peer_ik/peer_name. */
static int open_identity(sc_hs *hs, const char *label, const uint8_t *ik_r, const uint8_t *box,
                         size_t blen)
{
    uint8_t pt[ID_PLAIN_FIXED + SC_HS_NAME_MAX], m[SIG_MSG_MAX];
    int rc;
    size_t plen = blen - crypto_secretbox_MACBYTES;
    if (crypto_secretbox_open_easy(pt, box, blen, zero_nonce, hs->k_recv) != 0) {
        rc = SC_HS_E_ROOM;
        goto fail;
    }
    uint8_t nlen = pt[96];
    if (nlen > SC_HS_NAME_MAX || plen != ID_PLAIN_FIXED + nlen) {
        rc = SC_HS_E_MALFORMED;
        goto fail;
    }
    const char *name = (const char *)pt + ID_PLAIN_FIXED;
    if (!sc_hs_name_valid(name, nlen)) {
        rc = SC_HS_E_NAME;
        goto fail;
    }
    size_t mlen = sig_message(m, label, hs->th, ik_r, nlen, name);
    if (crypto_sign_verify_detached(pt + 32, m, mlen, pt) != 0) {
        rc = SC_HS_E_SIGNATURE;
        goto fail;
    }
    memcpy(hs->peer_ik, pt, 32);
    hs->peer_name_len = nlen;
    memcpy(hs->peer_name, name, nlen);
    hs->peer_name[nlen] = '\0';
    rc = 0;
fail:
    sodium_memzero(pt, sizeof pt);
    sodium_memzero(m, sizeof m);
    return rc;
}

static void new_ephemeral(sc_hs *hs, sc_rng *rng)
{
    uint8_t seed[crypto_kx_SEEDBYTES];
    sc_rng_bytes(rng, seed, sizeof seed);
    crypto_kx_seed_keypair(hs->ek_pk, hs->ek_sk, seed);
    sodium_memzero(seed, sizeof seed);
}

int sc_hs_start(sc_hs *hs, const sc_hs_ctx *ctx, sc_rng *rng, uint64_t self_id,
                uint64_t peer_id, uint8_t *out, size_t cap, size_t *out_len)
{
    *out_len = 0;
    int initiator = self_id < peer_id;
    if (initiator && cap < SC_HS1_BYTES)
        return SC_HS_E_SPACE;
    sodium_memzero(hs, sizeof *hs);
    hs->state = SC_HS_FAILED;
    if (!self_id || !peer_id || self_id == peer_id)
        return SC_HS_E_STATE;
    if (!sc_hs_name_valid(ctx->name, ctx->name_len))
        return SC_HS_E_NAME;
    hs->initiator = initiator;
    hs->self_id = self_id;
    hs->peer_id = peer_id;
    if (!initiator) {
        hs->state = SC_HS_WAIT_HS1;
        return 0;
    }
    new_ephemeral(hs, rng);
    out[0] = SC_WIRE_VERSION;
    out[1] = SC_KIND_HS1;
    memcpy(out + 2, hs->ek_pk, 32);
    hs1_mac(ctx, self_id, peer_id, hs->ek_pk, out + 34);
    *out_len = SC_HS1_BYTES;
    hs->state = SC_HS_WAIT_HS2;
    return 0;
}

/* Responder: HS1 in, HS2 out. */
static int on_hs1(sc_hs *hs, const sc_hs_ctx *ctx, sc_rng *rng, const uint8_t *msg,
                  size_t len, uint8_t *out, size_t *out_len)
{
    uint8_t mac[32], rx[crypto_kx_SESSIONKEYBYTES], tx[crypto_kx_SESSIONKEYBYTES];
    int rc;
    if (len != SC_HS1_BYTES) {
        rc = SC_HS_E_MALFORMED;
        goto fail;
    }
    hs1_mac(ctx, hs->peer_id, hs->self_id, msg + 2, mac);
    if (crypto_verify_32(mac, msg + 34) != 0) {
        rc = SC_HS_E_ROOM;
        goto fail;
    }
    memcpy(hs->peer_ek, msg + 2, 32);
    new_ephemeral(hs, rng);
    /* rejects low-order and other invalid peer keys (the shared point is all zero) */
    if (crypto_kx_server_session_keys(rx, tx, hs->ek_pk, hs->ek_sk, hs->peer_ek) != 0) {
        rc = SC_HS_E_KEY;
        goto fail;
    }
    transcript(ctx, hs->peer_id, hs->self_id, hs->peer_ek, hs->ek_pk, hs->th);
    /* on R, rx = tx_I and tx = rx_I */
    dir_key(ctx, L_I2R, hs->th, rx, hs->k_recv);
    dir_key(ctx, L_R2I, hs->th, tx, hs->k_send);
    sodium_memzero(hs->ek_sk, sizeof hs->ek_sk);
    out[0] = SC_WIRE_VERSION;
    out[1] = SC_KIND_HS2;
    memcpy(out + 2, hs->ek_pk, 32);
    seal_identity(ctx, L_SIG_R, hs->th, NULL, hs->k_send, out + 34);
    *out_len = HS2_FIXED + ctx->name_len;
    hs->state = SC_HS_WAIT_HS3;
    rc = 0;
fail:
    sodium_memzero(mac, sizeof mac);
    sodium_memzero(rx, sizeof rx);
    sodium_memzero(tx, sizeof tx);
    return rc;
}

/* Initiator: HS2 in, HS3 out. */
static int on_hs2(sc_hs *hs, const sc_hs_ctx *ctx, const uint8_t *msg, size_t len, uint8_t *out,
                  size_t *out_len)
{
    uint8_t rx[crypto_kx_SESSIONKEYBYTES], tx[crypto_kx_SESSIONKEYBYTES];
    int rc;
    if (len < HS2_FIXED || len > SC_HS2_MAX_BYTES) {
        rc = SC_HS_E_MALFORMED;
        goto fail;
    }
    memcpy(hs->peer_ek, msg + 2, 32);
    if (crypto_kx_client_session_keys(rx, tx, hs->ek_pk, hs->ek_sk, hs->peer_ek) != 0) {
        rc = SC_HS_E_KEY;
        goto fail;
    }
    sodium_memzero(hs->ek_sk, sizeof hs->ek_sk);
    transcript(ctx, hs->self_id, hs->peer_id, hs->ek_pk, hs->peer_ek, hs->th);
    dir_key(ctx, L_I2R, hs->th, tx, hs->k_send);
    dir_key(ctx, L_R2I, hs->th, rx, hs->k_recv);
    rc = open_identity(hs, L_SIG_R, NULL, msg + 34, len - 34);
    if (rc != 0)
        goto fail;
    out[0] = SC_WIRE_VERSION;
    out[1] = SC_KIND_HS3;
    seal_identity(ctx, L_SIG_I, hs->th, hs->peer_ik, hs->k_send, out + 2);
    *out_len = HS3_FIXED + ctx->name_len;
    hs->state = SC_HS_DONE;
    rc = 1;
fail:
    sodium_memzero(rx, sizeof rx);
    sodium_memzero(tx, sizeof tx);
    return rc;
}

/* Responder: HS3 in, nothing out. */
static int on_hs3(sc_hs *hs, const sc_hs_ctx *ctx, const uint8_t *msg, size_t len)
{
    if (len < HS3_FIXED || len > SC_HS3_MAX_BYTES)
        return SC_HS_E_MALFORMED;
    int rc = open_identity(hs, L_SIG_I, ctx->ik_pk, msg + 2, len - 2);
    if (rc != 0)
        return rc;
    hs->state = SC_HS_DONE;
    return 1;
}

int sc_hs_receive(sc_hs *hs, const sc_hs_ctx *ctx, sc_rng *rng, const uint8_t *msg,
                  size_t len, uint8_t *out, size_t cap, size_t *out_len)
{
    *out_len = 0;
    int rc;
    if (hs->state != SC_HS_WAIT_HS1 && hs->state != SC_HS_WAIT_HS2 &&
        hs->state != SC_HS_WAIT_HS3)
        return SC_HS_E_STATE; /* DONE or FAILED: nothing changes */
    if (len < 2 || msg[0] != SC_WIRE_VERSION || msg[1] < SC_KIND_HS1 || msg[1] > SC_KIND_HS3) {
        rc = SC_HS_E_MALFORMED;
        goto fail;
    }
    if (ctx->name_len > SC_HS_NAME_MAX) {
        rc = SC_HS_E_NAME;
        goto fail;
    }
    static const uint8_t expected[] = {[SC_HS_WAIT_HS1] = SC_KIND_HS1,
                                       [SC_HS_WAIT_HS2] = SC_KIND_HS2,
                                       [SC_HS_WAIT_HS3] = SC_KIND_HS3};
    if (msg[1] != expected[hs->state])
        return SC_HS_E_STATE; /* out of turn: refused, the handshake goes on */
    size_t need = msg[1] == SC_KIND_HS1   ? HS2_FIXED + ctx->name_len
                  : msg[1] == SC_KIND_HS2 ? HS3_FIXED + ctx->name_len
                                          : 0;
    if (cap < need)
        return SC_HS_E_SPACE;
    if (msg[1] == SC_KIND_HS1)
        rc = on_hs1(hs, ctx, rng, msg, len, out, out_len);
    else if (msg[1] == SC_KIND_HS2)
        rc = on_hs2(hs, ctx, msg, len, out, out_len);
    else
        rc = on_hs3(hs, ctx, msg, len);
    if (rc >= 0)
        return rc;
fail:
    sc_hs_wipe(hs);
    hs->state = SC_HS_FAILED;
    *out_len = 0;
    return rc;
}

const char *sc_hs_strerror(int err)
{
    switch (err) {
    case SC_HS_E_MALFORMED:
        return "malformed handshake message";
    case SC_HS_E_STATE:
        return "handshake message out of turn, or duplicate handshake";
    case SC_HS_E_ROOM:
        return "wrong room secret: the peer does not hold this room's invite link, or the "
               "handshake was tampered with";
    case SC_HS_E_KEY:
        return "invalid ephemeral key";
    case SC_HS_E_SIGNATURE:
        return "invalid identity signature";
    case SC_HS_E_SPACE:
        return "output buffer too small";
    case SC_HS_E_NAME:
        return "display name is not valid UTF-8, has control characters or is too long";
    default:
        return "unknown handshake error";
    }
}

void sc_hs_wipe(sc_hs *hs)
{
    sodium_memzero(hs->ek_sk, sizeof hs->ek_sk);
    sodium_memzero(hs->k_send, sizeof hs->k_send);
    sodium_memzero(hs->k_recv, sizeof hs->k_recv);
    sodium_memzero(hs->th, sizeof hs->th);
    if (hs->state != SC_HS_DONE)
        hs->state = SC_HS_FAILED;
}

size_t sc_hs_max_bytes(void)
{
    return SC_HS_MAX_BYTES;
}

size_t sc_hs1_bytes(void)
{
    return SC_HS1_BYTES;
}

size_t sc_hs2_max_bytes(void)
{
    return SC_HS2_MAX_BYTES;
}

size_t sc_hs3_max_bytes(void)
{
    return SC_HS3_MAX_BYTES;
}

size_t sc_hs_name_max(void)
{
    return SC_HS_NAME_MAX;
}

size_t sc_hs_key_bytes(void)
{
    return SC_HS_KEY_BYTES;
}
