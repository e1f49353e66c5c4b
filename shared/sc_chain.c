#include "sc_chain.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "sc_bytes.h"

/* mk = H(56, key ck, 0x01) (if mk is not NULL); ck_next = H(32, key ck, 0x02).
 * ck_next may be ck. */
static void ratchet(const uint8_t ck[SC_CHAIN_KEY_BYTES], uint8_t *mk,
                    uint8_t ck_next[SC_CHAIN_KEY_BYTES])
{
    static const uint8_t one = 0x01, two = 0x02;
    uint8_t next[SC_CHAIN_KEY_BYTES];
    if (mk)
        crypto_generichash(mk, SC_CHAIN_MK_BYTES, &one, 1, ck, SC_CHAIN_KEY_BYTES);
    crypto_generichash(next, sizeof next, &two, 1, ck, SC_CHAIN_KEY_BYTES);
    memcpy(ck_next, next, sizeof next);
    sodium_memzero(next, sizeof next);
}

void sc_chain_out_new(sc_chain_out *c, sc_rng *rng)
{
    uint8_t seed[crypto_sign_SEEDBYTES];
    c->chain_id = sc_rng_nonzero_u32(rng);
    c->index = 0;
    sc_rng_bytes(rng, c->ck, sizeof c->ck);
    sc_rng_bytes(rng, seed, sizeof seed);
    crypto_sign_seed_keypair(c->sign_pk, c->sign_sk, seed);
    sodium_memzero(seed, sizeof seed);
}

void sc_chain_out_skd(const sc_chain_out *c, uint8_t skd[SC_CHAIN_SKD_BYTES])
{
    sc_store32(skd, c->chain_id);
    sc_store32(skd + 4, c->index);
    memcpy(skd + 8, c->ck, SC_CHAIN_KEY_BYTES);
    memcpy(skd + 40, c->sign_pk, 32);
}

int sc_chain_out_step(sc_chain_out *c, uint8_t mk[SC_CHAIN_MK_BYTES], uint32_t *index)
{
    if (c->index == UINT32_MAX)
        return SC_CHAIN_E_EXHAUSTED;
    ratchet(c->ck, mk, c->ck);
    *index = c->index++;
    return 0;
}

void sc_chain_out_wipe(sc_chain_out *c)
{
    sodium_memzero(c, sizeof *c);
}

int sc_chain_in_init(sc_chain_in *c, const uint8_t skd[SC_CHAIN_SKD_BYTES])
{
    uint32_t id = sc_load32(skd);
    if (id == 0 || !crypto_core_ed25519_is_valid_point(skd + 40))
        return SC_CHAIN_E_MALFORMED;
    memset(c, 0, sizeof *c);
    c->chain_id = id;
    c->start = c->next = c->evicted_below = sc_load32(skd + 4);
    memcpy(c->ck, skd + 8, SC_CHAIN_KEY_BYTES);
    memcpy(c->sign_pk, skd + 40, 32);
    c->skipped = NULL;
    c->n_skipped = 0;
    return 0;
}

/* Position of index in the (ascending) skipped list, or -1. */
static long find_skipped(const sc_chain_in *c, uint32_t index)
{
    size_t lo = 0, hi = c->n_skipped;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->skipped[mid].index < index)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < c->n_skipped && c->skipped[lo].index == index ? (long)lo : -1;
}

/* Classifies index: 0 if its key can be derived from ck (index >= next), 1 if it is stored
 * at *pos, or an SC_CHAIN_E_* value. */
static int classify(const sc_chain_in *c, uint32_t index, long *pos)
{
    if (index < c->start)
        return SC_CHAIN_E_BEFORE_START;
    if (index < c->next) {
        *pos = find_skipped(c, index);
        if (*pos >= 0)
            return 1;
        return index < c->evicted_below ? SC_CHAIN_E_TOO_OLD : SC_CHAIN_E_REPLAY;
    }
    /* UINT32_MAX is never sent (sc_chain_out_step stops before it): it cannot advance next */
    if (index - c->next > SC_CHAIN_MAX_SKIP || index == UINT32_MAX)
        return SC_CHAIN_E_TOO_FAR;
    return 0;
}

int sc_chain_in_key(const sc_chain_in *c, uint32_t index, uint8_t mk[SC_CHAIN_MK_BYTES])
{
    uint8_t ck[SC_CHAIN_KEY_BYTES];
    long pos = -1;
    int rc = classify(c, index, &pos);
    if (rc < 0)
        return rc;
    if (rc == 1) {
        memcpy(mk, c->skipped[pos].mk, SC_CHAIN_MK_BYTES);
        return 0;
    }
    memcpy(ck, c->ck, sizeof ck);
    for (uint32_t i = c->next; i < index; i++)
        ratchet(ck, NULL, ck);
    ratchet(ck, mk, ck);
    sodium_memzero(ck, sizeof ck);
    return 0;
}

static void remove_skipped(sc_chain_in *c, size_t pos)
{
    sodium_memzero(&c->skipped[pos], sizeof c->skipped[pos]);
    memmove(&c->skipped[pos], &c->skipped[pos + 1],
            (c->n_skipped - pos - 1) * sizeof c->skipped[0]);
    c->n_skipped--;
    sodium_memzero(&c->skipped[c->n_skipped], sizeof c->skipped[0]);
    if (c->n_skipped == 0) {
        free(c->skipped);
        c->skipped = NULL;
    }
}

int sc_chain_in_commit(sc_chain_in *c, uint32_t index)
{
    long pos = -1;
    int rc = classify(c, index, &pos);
    if (rc < 0)
        return rc;
    if (rc == 1) {
        remove_skipped(c, (size_t)pos);
        return 0;
    }
    size_t add = index - c->next, n = c->n_skipped + add;
    size_t evict = n > SC_CHAIN_MAX_STORED ? n - SC_CHAIN_MAX_STORED : 0;
    uint8_t ck[SC_CHAIN_KEY_BYTES];
    if (add) {
        sc_chain_skipped *list = malloc((n - evict) * sizeof *list);
        if (!list)
            return SC_CHAIN_E_NOMEM;
        size_t keep = c->n_skipped - evict;
        if (keep)
            memcpy(list, c->skipped + evict, keep * sizeof *list);
        if (evict)
            c->evicted_below = c->skipped[evict - 1].index + 1;
        memcpy(ck, c->ck, sizeof ck);
        for (size_t k = 0; k < add; k++) {
            list[keep + k].index = c->next + (uint32_t)k;
            ratchet(ck, list[keep + k].mk, ck);
        }
        if (c->skipped) {
            sodium_memzero(c->skipped, c->n_skipped * sizeof *c->skipped);
            free(c->skipped);
        }
        c->skipped = list;
        c->n_skipped = n - evict;
    } else {
        memcpy(ck, c->ck, sizeof ck);
    }
    ratchet(ck, NULL, c->ck); /* past index itself: its key was used and is not kept */
    sodium_memzero(ck, sizeof ck);
    c->next = index + 1;
    return 0;
}

void sc_chain_in_free(sc_chain_in *c)
{
    if (c->skipped) {
        sodium_memzero(c->skipped, c->n_skipped * sizeof *c->skipped);
        free(c->skipped);
    }
    sodium_memzero(c, sizeof *c);
}

const char *sc_chain_strerror(int err)
{
    switch (err) {
    case SC_CHAIN_E_BEFORE_START:
        return "before join: sent before this member received the chain";
    case SC_CHAIN_E_REPLAY:
        return "replay: message index already used";
    case SC_CHAIN_E_TOO_FAR:
        return "too far ahead: more messages were lost than the chain skips";
    case SC_CHAIN_E_TOO_OLD:
        return "too old: the key for this late message was already discarded";
    case SC_CHAIN_E_MALFORMED:
        return "malformed sender-key distribution";
    case SC_CHAIN_E_NOMEM:
        return "out of memory";
    case SC_CHAIN_E_EXHAUSTED:
        return "chain exhausted: rotate";
    default:
        return "unknown chain error";
    }
}

size_t sc_chain_skdbytes(void)
{
    return SC_CHAIN_SKD_BYTES;
}

size_t sc_chain_mk_bytes(void)
{
    return SC_CHAIN_MK_BYTES;
}

size_t sc_chain_key_bytes(void)
{
    return SC_CHAIN_KEY_BYTES;
}
