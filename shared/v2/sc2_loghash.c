#include "sc2_loghash.h"
#include "sc2_be.h"

#include <sodium.h>
#include <string.h>

#define GENESIS_LABEL "saltchat/v2 log"

const char *sc2_lh_strerror(int err)
{
    switch (err) {
    case SC2_LH_E_GAP:
        return "log entry out of sequence (a gap or a repeat)";
    case SC2_LH_E_ENTRY:
        return "log entry too short";
    case SC2_LH_E_FORK:
        return "the sender saw a different log (fork)";
    case SC2_LH_E_AHEAD:
        return "reference to a log entry at or after the message itself";
    case SC2_LH_E_UNCHECKED:
        return "reference older than the kept log hashes (not checked)";
    case SC2_LH_E_AAD:
        return "authenticated_data is not a saltchat v2 log reference";
    case SC2_LH_E_DECODE:
        return "stored log hash state is invalid";
    case SC2_LH_E_SPACE:
        return "output buffer too small";
    default:
        return err >= 0 ? "ok" : "unknown log hash error";
    }
}

void sc2_lh_genesis(const uint8_t room_id[SC2_LH_ROOM_ID_BYTES], uint8_t out[SC2_LH_BYTES])
{
    crypto_generichash_state h;
    crypto_generichash_init(&h, NULL, 0, SC2_LH_BYTES);
    crypto_generichash_update(&h, (const uint8_t *)GENESIS_LABEL, sizeof GENESIS_LABEL - 1);
    crypto_generichash_update(&h, room_id, SC2_LH_ROOM_ID_BYTES);
    crypto_generichash_final(&h, out, SC2_LH_BYTES);
}

void sc2_lh_step(const uint8_t prev[SC2_LH_BYTES], uint64_t seq, const uint8_t *entry,
                 size_t entry_len, uint8_t out[SC2_LH_BYTES])
{
    crypto_generichash_state h;
    uint8_t s[8];
    sc2_be_st64(s, seq);
    crypto_generichash_init(&h, NULL, 0, SC2_LH_BYTES);
    crypto_generichash_update(&h, prev, SC2_LH_BYTES);
    crypto_generichash_update(&h, s, sizeof s);
    if (entry_len)
        crypto_generichash_update(&h, entry, entry_len);
    crypto_generichash_final(&h, out, SC2_LH_BYTES);
}

void sc2_lh_init_anchor(sc2_loghash *st, uint64_t seq, const uint8_t l[SC2_LH_BYTES])
{
    memset(st, 0, sizeof(*st));
    st->head_seq = seq;
    st->first_seq = seq;
    memcpy(st->head, l, SC2_LH_BYTES);
    memcpy(st->ring[seq % SC2_LH_WINDOW], l, SC2_LH_BYTES);
}

void sc2_lh_init_genesis(sc2_loghash *st, const uint8_t room_id[SC2_LH_ROOM_ID_BYTES])
{
    uint8_t l0[SC2_LH_BYTES];
    sc2_lh_genesis(room_id, l0);
    sc2_lh_init_anchor(st, 0, l0);
}

int sc2_lh_append(sc2_loghash *st, const uint8_t *body, size_t len)
{
    if (!body || len < SC2_LH_MIN_ENTRY)
        return SC2_LH_E_ENTRY;
    uint64_t seq = sc2_be_ld64(body);
    if (st->head_seq == UINT64_MAX || seq != st->head_seq + 1)
        return SC2_LH_E_GAP;
    sc2_lh_step(st->head, seq, body, len, st->head);
    st->head_seq = seq;
    memcpy(st->ring[seq % SC2_LH_WINDOW], st->head, SC2_LH_BYTES);
    if (seq - st->first_seq >= SC2_LH_WINDOW)
        st->first_seq = seq - SC2_LH_WINDOW + 1;
    return 0;
}

uint64_t sc2_lh_head(const sc2_loghash *st, uint8_t l[SC2_LH_BYTES])
{
    if (l)
        memcpy(l, st->head, SC2_LH_BYTES);
    return st->head_seq;
}

int sc2_lh_lookup(const sc2_loghash *st, uint64_t seq, uint8_t l[SC2_LH_BYTES])
{
    if (seq > st->head_seq)
        return SC2_LH_E_AHEAD;
    if (seq < st->first_seq)
        return SC2_LH_E_UNCHECKED;
    memcpy(l, st->ring[seq % SC2_LH_WINDOW], SC2_LH_BYTES);
    return 0;
}

int sc2_lh_check(const sc2_loghash *st, uint64_t seq, const uint8_t l[SC2_LH_BYTES])
{
    if (seq >= st->head_seq)
        return SC2_LH_E_AHEAD;
    if (seq < st->first_seq)
        return SC2_LH_E_UNCHECKED;
    return sodium_memcmp(st->ring[seq % SC2_LH_WINDOW], l, SC2_LH_BYTES) == 0 ? 0
                                                                             : SC2_LH_E_FORK;
}

void sc2_lh_aad_encode(uint64_t seq, const uint8_t l[SC2_LH_BYTES],
                       uint8_t out[SC2_LH_AAD_BYTES])
{
    out[0] = SC2_LH_AAD_FORMAT;
    sc2_be_st64(out + 1, seq);
    memcpy(out + 9, l, SC2_LH_BYTES);
}

void sc2_lh_aad(const sc2_loghash *st, uint8_t out[SC2_LH_AAD_BYTES])
{
    sc2_lh_aad_encode(st->head_seq, st->head, out);
}

int sc2_lh_aad_decode(const uint8_t *aad, size_t len, uint64_t *seq, uint8_t l[SC2_LH_BYTES])
{
    if (!aad || len != SC2_LH_AAD_BYTES || aad[0] != SC2_LH_AAD_FORMAT)
        return SC2_LH_E_AAD;
    *seq = sc2_be_ld64(aad + 1);
    memcpy(l, aad + 9, SC2_LH_BYTES);
    return 0;
}

int sc2_lh_export(const sc2_loghash *st, uint8_t *out, size_t cap)
{
    uint64_t n = st->head_seq - st->first_seq + 1;
    size_t need = 17 + (size_t)n * SC2_LH_BYTES;
    if (cap < need)
        return SC2_LH_E_SPACE;
    out[0] = 1;
    sc2_be_st64(out + 1, st->first_seq);
    sc2_be_st64(out + 9, st->head_seq);
    for (uint64_t i = 0; i < n; i++)
        memcpy(out + 17 + i * SC2_LH_BYTES, st->ring[(st->first_seq + i) % SC2_LH_WINDOW],
               SC2_LH_BYTES);
    return (int)need;
}

int sc2_lh_import(sc2_loghash *st, const uint8_t *in, size_t len)
{
    if (!in || len < 17 + SC2_LH_BYTES || in[0] != 1)
        return SC2_LH_E_DECODE;
    uint64_t first = sc2_be_ld64(in + 1), head = sc2_be_ld64(in + 9);
    if (head < first || head - first >= SC2_LH_WINDOW ||
        len != 17 + (size_t)(head - first + 1) * SC2_LH_BYTES)
        return SC2_LH_E_DECODE;
    memset(st, 0, sizeof(*st));
    st->first_seq = first;
    st->head_seq = head;
    for (uint64_t i = 0; i <= head - first; i++)
        memcpy(st->ring[(first + i) % SC2_LH_WINDOW], in + 17 + i * SC2_LH_BYTES, SC2_LH_BYTES);
    memcpy(st->head, st->ring[head % SC2_LH_WINDOW], SC2_LH_BYTES);
    return 0;
}
