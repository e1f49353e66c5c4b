/*
 * fuzz_chain: sc_chain_in_init on an arbitrary SKD (bytes 0..71), then a sequence of
 * lookups and commits driven by the rest (3 bytes each: op, index offset u16 from the
 * chain's start) checked against a simple model: every key returned equals the key
 * derived from scratch, every refusal has the reason the model expects, and the
 * skipped-key store stays sorted, bounded and disjoint from used indices.
 */
#include "fuzz_common.h"
#include "sc_bytes.h"
#include "sc_chain.h"

#define MAX_OFF 65536u

static uint8_t ref_mk[MAX_OFF][SC_CHAIN_MK_BYTES];
static uint8_t used[MAX_OFF];
static size_t ref_len;

/* Reference key for start + off, derived from the SKD's CK one step at a time (ck holds
 * the reference chain key after the ref_len keys computed so far). */
static const uint8_t *ref(uint32_t off, uint8_t ck[32])
{
    static const uint8_t one = 1, two = 2;
    while (ref_len <= off) {
        crypto_generichash(ref_mk[ref_len], SC_CHAIN_MK_BYTES, &one, 1, ck, 32);
        crypto_generichash(ck, 32, &two, 1, ck, 32);
        ref_len++;
    }
    return ref_mk[off];
}

static void check_store(const sc_chain_in *c)
{
    FUZZ_ASSERT(c->n_skipped <= SC_CHAIN_MAX_STORED);
    FUZZ_ASSERT((c->n_skipped == 0) == (c->skipped == NULL));
    for (size_t i = 0; i < c->n_skipped; i++) {
        uint32_t idx = c->skipped[i].index;
        FUZZ_ASSERT(idx >= c->start && idx < c->next && idx >= c->evicted_below);
        FUZZ_ASSERT(i == 0 || c->skipped[i - 1].index < idx);
        FUZZ_ASSERT(!used[idx - c->start]);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        fuzz_sodium_init();
        ready = 1;
    }
    if (size < SC_CHAIN_SKD_BYTES)
        return 0;
    sc_chain_in c;
    memset(&c, 0x77, sizeof c);
    sc_chain_in before = c;
    int rc = sc_chain_in_init(&c, data);
    int valid = sc_load32(data) != 0 && crypto_core_ed25519_is_valid_point(data + 40);
    if (rc != 0) {
        FUZZ_ASSERT(rc == SC_CHAIN_E_MALFORMED && !valid);
        FUZZ_ASSERT(memcmp(&c, &before, sizeof c) == 0);
        return 0;
    }
    FUZZ_ASSERT(valid && c.start == sc_load32(data + 4) && c.next == c.start);
    uint8_t ck[32], mk[SC_CHAIN_MK_BYTES];
    memcpy(ck, data + 8, 32);
    ref_len = 0;
    memset(used, 0, sizeof used);
    uint32_t start = c.start;
    for (size_t p = SC_CHAIN_SKD_BYTES; p + 3 <= size; p += 3) {
        int commit = data[p] & 1;
        uint32_t off = sc_load16(data + p + 1);
        if (data[p] & 2) /* sometimes an index below the start */
            off = (uint32_t)-(int32_t)(off % 16 + 1);
        uint32_t index = start + off;
        uint32_t next = c.next;
        size_t n_skipped = c.n_skipped;
        rc = commit ? sc_chain_in_commit(&c, index) : sc_chain_in_key(&c, index, mk);
        FUZZ_ASSERT(sc_chain_strerror(rc) != NULL);
        if (index < start) {
            FUZZ_ASSERT(rc == SC_CHAIN_E_BEFORE_START);
        } else if (index >= next) {
            if (index - next > SC_CHAIN_MAX_SKIP || index == UINT32_MAX) {
                FUZZ_ASSERT(rc == SC_CHAIN_E_TOO_FAR);
            } else {
                FUZZ_ASSERT(rc == 0);
                if (!commit)
                    FUZZ_ASSERT(memcmp(mk, ref(index - start, ck), sizeof mk) == 0);
            }
        } else if (used[index - start]) {
            FUZZ_ASSERT(rc == SC_CHAIN_E_REPLAY || (rc == SC_CHAIN_E_TOO_OLD &&
                                                    index < c.evicted_below));
        } else {
            /* skipped over: stored, or evicted */
            FUZZ_ASSERT(rc == (index < c.evicted_below ? SC_CHAIN_E_TOO_OLD : 0));
            if (rc == 0 && !commit)
                FUZZ_ASSERT(memcmp(mk, ref(index - start, ck), sizeof mk) == 0);
        }
        if (rc == 0 && commit) {
            used[index - start] = 1;
            FUZZ_ASSERT(c.next == (index >= next ? index + 1 : next));
        } else {
            FUZZ_ASSERT(c.next == next && (commit ? 1 : c.n_skipped == n_skipped));
        }
        check_store(&c);
    }
    sc_chain_in_free(&c);
    FUZZ_ASSERT(fuzz_all_zero(&c, sizeof c));
    sodium_memzero(ck, sizeof ck);
    return 0;
}
