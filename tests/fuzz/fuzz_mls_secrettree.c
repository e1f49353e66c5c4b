/* fuzz_mls_secrettree: mls_secrettree_decode over arbitrary bytes (a stored group state
 * is read back through it). A refused input gets MLS_E_DECODE and leaves the tree
 * zeroed; an accepted one re-encodes to exactly the input (the encoding is canonical),
 * and then every operation on it works or fails with a documented code, never touching
 * memory it should not (ASan), and the state still round-trips afterwards. */
#include "fuzz_common.h"
#include "mls_codec.h"
#include "mls_err.h"
#include "mls_secrettree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int op_ok(int rc)
{
    return rc == 0 || rc == MLS_E_REPLAY || rc == MLS_E_TOO_FAR || rc == MLS_E_INVALID;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t key[MLS_AEAD_KEY_LEN], nonce[MLS_AEAD_NONCE_LEN];
    mls_secrettree st, again;
    mls_buf out = {0};
    int rc;

    fuzz_sodium_init();
    rc = mls_secrettree_decode(&st, data, size);
    if (rc != 0) {
        FUZZ_ASSERT(rc == MLS_E_DECODE);
        FUZZ_ASSERT(st.nodes == NULL && st.leaves == NULL && st.n_leaves == 0);
        return 0;
    }
    FUZZ_ASSERT(mls_secrettree_encode(&st, &out) == 0);
    FUZZ_ASSERT(out.len == size && memcmp(out.p, data, size) == 0);
    /* A few operations on leaves near the ones the state names, and on the edges. */
    {
        uint32_t leaves[4] = {0, st.n_leaves - 1, st.n_leaves / 2, st.n_leaves};
        if (st.n_leaves_init > 0)
            leaves[2] = st.leaves[0].leaf;
        for (int i = 0; i < 4; i++) {
            for (int t = 0; t < 2; t++) {
                uint32_t gen = 0;
                const mls_st_ratchet *r = NULL;

                for (size_t k = 0; k < st.n_leaves_init; k++)
                    if (st.leaves[k].leaf == leaves[i])
                        r = &st.leaves[k].r[t];
                if (r != NULL && r->n_skipped > 0)
                    gen = r->skipped[0].generation;
                else if (r != NULL)
                    gen = r->next_gen;
                rc = mls_secrettree_get(&st, leaves[i], (enum mls_ratchet_type)t, gen, key, nonce);
                FUZZ_ASSERT(op_ok(rc));
                if (rc == 0)
                    FUZZ_ASSERT(mls_secrettree_consume(&st, leaves[i], (enum mls_ratchet_type)t,
                                                       gen) == 0);
                rc = mls_secrettree_get(&st, leaves[i], (enum mls_ratchet_type)t, gen + 40, key,
                                        nonce);
                FUZZ_ASSERT(op_ok(rc));
                rc = mls_secrettree_next(&st, leaves[i], (enum mls_ratchet_type)t, &gen, key,
                                         nonce);
                FUZZ_ASSERT(op_ok(rc));
            }
        }
    }
    mls_buf_reset(&out);
    FUZZ_ASSERT(mls_secrettree_encode(&st, &out) == 0);
    FUZZ_ASSERT(mls_secrettree_decode(&again, out.p, out.len) == 0);
    mls_secrettree_free(&again);
    mls_secrettree_free(&st);
    mls_buf_free(&out);
    return 0;
}
