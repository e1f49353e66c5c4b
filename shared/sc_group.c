#include "sc_group.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "sc_bytes.h"
#include "sc_utf8.h"
#include "sc_wire.h"

#define L_GROUP "saltchat/v1 group"
#define SIG_PREFIX (sizeof L_GROUP - 1u + 32u + 8u) /* label, room_id, sender */
#define MAC_BYTES crypto_secretbox_MACBYTES
#define FIXED (SC_GROUP_HEADER_BYTES + MAC_BYTES + SC_GROUP_SIG_BYTES)

/* padme's rounding step for a length x > SC_GROUP_MIN_PADDED: 2^(e - s) with
 * e = floor(log2 x), s = floor(log2 e) + 1. */
static size_t padme_step(size_t x)
{
    unsigned e = 0, s = 0;
    while ((x >> e) > 1)
        e++;
    while ((e >> s) > 1)
        s++;
    s++;
    return (size_t)1 << (e - s);
}

size_t sc_group_padded_len(size_t plain_len)
{
    if (plain_len > SC_GROUP_MAX_PLAIN)
        return 0;
    size_t L = plain_len + 1;
    if (L <= SC_GROUP_MIN_PADDED)
        return SC_GROUP_MIN_PADDED;
    size_t mask = padme_step(L) - 1;
    return (L + mask) & ~mask;
}

/* The block size handed to sodium_pad/unpad for a padded length p. Every canonical
 * plaintext padded to p carries at most this much padding (marker included) and p is a
 * multiple of it, so the bytes are those of block size p, but the constant-time loops
 * scan one step instead of the whole of p (2 KiB instead of 64 KiB at the top). */
static size_t pad_block(size_t p)
{
    return p <= SC_GROUP_MIN_PADDED ? SC_GROUP_MIN_PADDED : padme_step(p);
}

size_t sc_group_sealed_len(size_t plain_len)
{
    if (plain_len > SC_GROUP_MAX_PLAIN)
        return 0;
    return FIXED + sc_group_padded_len(plain_len);
}

size_t sc_group_sealed_bytes(size_t plain_len)
{
    return sc_group_sealed_len(plain_len);
}

/* Writes "saltchat/v1 group" || room_id || u64(sender) || body into m. */
static void fill_signed(uint8_t *m, const uint8_t room_id[32], uint64_t sender,
                        const uint8_t *body, size_t body_len)
{
    memcpy(m, L_GROUP, sizeof L_GROUP - 1);
    memcpy(m + sizeof L_GROUP - 1, room_id, 32);
    sc_store64(m + sizeof L_GROUP - 1 + 32, sender);
    memcpy(m + SIG_PREFIX, body, body_len);
}

int sc_group_seal(sc_chain_out *c, const uint8_t room_id[32], uint64_t sender,
                  const uint8_t *plain, size_t len, uint8_t *out, size_t cap, size_t *out_len)
{
    uint8_t mk[SC_CHAIN_MK_BYTES], *m = NULL;
    uint32_t index;
    size_t padded;
    int rc;
    *out_len = 0;
    if (len > SC_GROUP_MAX_PLAIN)
        return SC_GROUP_E_TOO_LONG;
    size_t p = sc_group_padded_len(len), total = FIXED + p, body = total - SC_GROUP_SIG_BYTES;
    if (cap < total)
        return SC_GROUP_E_SPACE;
    /* the signature covers the finished body; allocate its buffer before the chain moves */
    m = malloc(SIG_PREFIX + body);
    if (!m)
        return SC_GROUP_E_CHAIN_BASE + SC_CHAIN_E_NOMEM;
    rc = sc_chain_out_step(c, mk, &index);
    if (rc != 0) {
        rc += SC_GROUP_E_CHAIN_BASE;
        goto fail;
    }
    uint8_t *pt = out + SC_GROUP_HEADER_BYTES + MAC_BYTES;
    if (len)
        memmove(pt, plain, len);
    if (sodium_pad(&padded, pt, len, pad_block(p), p) != 0 || padded != p) {
        rc = SC_GROUP_E_SPACE; /* cannot happen: p > len */
        goto fail;
    }
    out[0] = SC_WIRE_VERSION;
    out[1] = SC_KIND_GROUP;
    sc_store32(out + 2, c->chain_id);
    sc_store32(out + 6, index);
    crypto_secretbox_easy(out + SC_GROUP_HEADER_BYTES, pt, p, mk + 32, mk);
    fill_signed(m, room_id, sender, out, body);
    crypto_sign_detached(out + body, NULL, m, SIG_PREFIX + body, c->sign_sk);
    *out_len = total;
    rc = 0;
fail:
    sodium_memzero(mk, sizeof mk);
    free(m);
    return rc;
}

static int check_frame(const uint8_t *msg, size_t len)
{
    if (len < SC_GROUP_MIN_BYTES || len > FIXED + sc_group_padded_len(SC_GROUP_MAX_PLAIN) ||
        msg[0] != SC_WIRE_VERSION || msg[1] != SC_KIND_GROUP)
        return SC_GROUP_E_MALFORMED;
    return 0;
}

int sc_group_peek(const uint8_t *msg, size_t len, uint32_t *chain_id, uint32_t *index)
{
    if (check_frame(msg, len) != 0)
        return SC_GROUP_E_MALFORMED;
    *chain_id = sc_load32(msg + 2);
    *index = sc_load32(msg + 6);
    return 0;
}

int sc_group_open(sc_chain_in *c, const uint8_t room_id[32], uint64_t sender,
                  const uint8_t *msg, size_t len, uint8_t *plain, size_t cap,
                  size_t *plain_len)
{
    uint8_t mk[SC_CHAIN_MK_BYTES], *m = NULL;
    size_t unpadded = 0;
    int rc, opened = 0;
    *plain_len = 0;
    if (check_frame(msg, len) != 0 || sc_load32(msg + 2) != c->chain_id)
        return SC_GROUP_E_MALFORMED;
    uint32_t index = sc_load32(msg + 6);
    size_t p = len - FIXED, body = len - SC_GROUP_SIG_BYTES;
    if (cap < p)
        return SC_GROUP_E_SPACE;
    m = malloc(SIG_PREFIX + body);
    if (!m)
        return SC_GROUP_E_CHAIN_BASE + SC_CHAIN_E_NOMEM;
    fill_signed(m, room_id, sender, msg, body);
    if (crypto_sign_verify_detached(msg + body, m, SIG_PREFIX + body, c->sign_pk) != 0) {
        rc = SC_GROUP_E_SIGNATURE;
        goto fail;
    }
    rc = sc_chain_in_key(c, index, mk);
    if (rc != 0) {
        rc += SC_GROUP_E_CHAIN_BASE;
        goto fail;
    }
    opened = 1;
    if (crypto_secretbox_open_easy(plain, msg + SC_GROUP_HEADER_BYTES, MAC_BYTES + p, mk + 32,
                                   mk) != 0 ||
        sodium_unpad(&unpadded, plain, p, pad_block(p)) != 0 ||
        sc_group_padded_len(unpadded) != p) {
        rc = SC_GROUP_E_CIPHERTEXT;
        goto fail;
    }
    rc = sc_chain_in_commit(c, index);
    if (rc != 0) {
        rc += SC_GROUP_E_CHAIN_BASE;
        goto fail;
    }
    *plain_len = unpadded;
    rc = 0;
fail:
    if (rc != 0 && opened)
        sodium_memzero(plain, p);
    sodium_memzero(mk, sizeof mk);
    free(m);
    return rc;
}

size_t sc_group_text_encode(uint64_t msg_id, uint64_t time_ms, const uint8_t *text, size_t len,
                            uint8_t *out, size_t cap)
{
    if (len == 0 || len > SC_GROUP_MAX_TEXT || !sc_utf8_valid(text, len) ||
        cap < SC_GROUP_TEXT_HEADER + len)
        return 0;
    memmove(out + SC_GROUP_TEXT_HEADER, text, len);
    out[0] = SC_PTYPE_TEXT;
    sc_store64(out + 1, msg_id);
    sc_store64(out + 9, time_ms);
    return SC_GROUP_TEXT_HEADER + len;
}

int sc_group_text_decode(const uint8_t *plain, size_t len, uint64_t *msg_id, uint64_t *time_ms,
                         const uint8_t **text, size_t *text_len)
{
    if (len <= SC_GROUP_TEXT_HEADER || len - SC_GROUP_TEXT_HEADER > SC_GROUP_MAX_TEXT ||
        plain[0] != SC_PTYPE_TEXT ||
        !sc_utf8_valid(plain + SC_GROUP_TEXT_HEADER, len - SC_GROUP_TEXT_HEADER))
        return SC_GROUP_E_MALFORMED;
    *msg_id = sc_load64(plain + 1);
    *time_ms = sc_load64(plain + 9);
    *text = plain + SC_GROUP_TEXT_HEADER;
    *text_len = len - SC_GROUP_TEXT_HEADER;
    return 0;
}

const char *sc_group_strerror(int err)
{
    switch (err) {
    case SC_GROUP_E_MALFORMED:
        return "malformed group message";
    case SC_GROUP_E_SIGNATURE:
        return "bad signature: not sent by the chain's owner, or altered";
    case SC_GROUP_E_CIPHERTEXT:
        return "bad ciphertext: signed by the sender but does not decrypt";
    case SC_GROUP_E_SPACE:
        return "output buffer too small";
    case SC_GROUP_E_TOO_LONG:
        return "message too long";
    default:
        if (err <= SC_GROUP_E_CHAIN_BASE + SC_CHAIN_E_BEFORE_START &&
            err >= SC_GROUP_E_CHAIN_BASE + SC_CHAIN_E_EXHAUSTED)
            return sc_chain_strerror(err - SC_GROUP_E_CHAIN_BASE);
        return "unknown group error";
    }
}

size_t sc_group_max_text(void)
{
    return SC_GROUP_MAX_TEXT;
}

size_t sc_group_min_bytes(void)
{
    return SC_GROUP_MIN_BYTES;
}

size_t sc_group_header_bytes(void)
{
    return SC_GROUP_HEADER_BYTES;
}

size_t sc_group_max_plain(void)
{
    return SC_GROUP_MAX_PLAIN;
}

size_t sc_group_text_header_bytes(void)
{
    return SC_GROUP_TEXT_HEADER;
}
