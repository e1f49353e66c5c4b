/* fuzz_sc2_envelope: the v2 envelope decoder over a whole WebSocket message, as relay and
 * client use it. Input: byte 0 selects the direction (bit 0: from relay), the rest is the
 * message. Every envelope the iterator yields re-encodes to exactly its bytes and its
 * pointers stay inside it; sc2_env_decode agrees with the iterator; LOG bodies feed the
 * log hash chain, SUBMIT/LOG messages the authenticated_data decoder. */
#include "fuzz_common.h"
#include "sc2_envelope.h"
#include "sc2_loghash.h"

static void inside(const uint8_t *p, size_t n, const uint8_t *lo, size_t len)
{
    if (p)
        FUZZ_ASSERT(p >= lo && p + n <= lo + len);
    else
        FUZZ_ASSERT(n == 0);
}

static void reencode(const sc2_env *e, const uint8_t *in, size_t n)
{
    uint8_t *out = malloc(n);
    FUZZ_ASSERT(out);
    size_t m = 0;
    switch (e->type) {
    case SC2_T_AUTH:
        m = sc2_env_encode_auth(out, n, e->join_pk, e->sig);
        break;
    case SC2_T_CREATE:
        m = sc2_env_encode_create(out, n, e->join_pk, e->sig, e->gi_box, e->gi_box_len);
        break;
    case SC2_T_GET_GI:
        m = sc2_env_encode_get_gi(out, n);
        break;
    case SC2_T_RESUME:
        m = sc2_env_encode_resume(out, n, e->seq);
        break;
    case SC2_T_SUBMIT:
        m = sc2_env_encode_submit(out, n, e->token, e->gi_box, e->gi_box_len, e->join_pk,
                                  e->mls, e->mls_len);
        break;
    case SC2_T_CHALLENGE:
        m = sc2_env_encode_challenge(out, n, e->nonce, e->max_payload);
        break;
    case SC2_T_GI:
        m = sc2_env_encode_gi(out, n, e->seq, e->log_hash, e->gi_box, e->gi_box_len);
        break;
    case SC2_T_LOG: {
        m = sc2_env_encode_log(out, n, e->seq, e->time_ms, e->flags, e->join_pk, e->mls,
                               e->mls_len);
        uint8_t hdr[SC2_ENV_LOG_HEADER_MAX];
        size_t h = sc2_env_log_header(hdr, e->seq, e->time_ms, e->flags, e->join_pk, e->mls_len);
        FUZZ_ASSERT(h && h + e->mls_len == n && memcmp(hdr, in, h) == 0);
        break;
    }
    case SC2_T_LIVE:
        m = sc2_env_encode_live(out, n, e->seq);
        break;
    case SC2_T_GONE:
        m = sc2_env_encode_gone(out, n, e->seq);
        break;
    case SC2_T_ACCEPTED:
        m = sc2_env_encode_accepted(out, n, e->token, e->seq);
        break;
    case SC2_T_REJECTED:
        m = sc2_env_encode_rejected(out, n, e->token, e->code, e->epoch);
        FUZZ_ASSERT(sc2_code_name(e->code) != NULL);
        break;
    case SC2_T_ERROR: {
        char reason[SC2_ENV_MAX_REASON + 1];
        FUZZ_ASSERT(e->reason_len <= SC2_ENV_MAX_REASON);
        memcpy(reason, e->reason, e->reason_len);
        reason[e->reason_len] = '\0';
        m = sc2_env_encode_error(out, n, e->code, reason);
        break;
    }
    default:
        FUZZ_ASSERT(0 && "decoder returned an unknown type");
    }
    FUZZ_ASSERT(m == n);
    FUZZ_ASSERT(memcmp(out, in, n) == 0);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sc2_loghash chain;
    static int ready;
    if (!ready) {
        fuzz_sodium_init();
        uint8_t room[16] = {0};
        sc2_lh_init_genesis(&chain, room);
        ready = 1;
    }
    if (size < 1)
        return 0;
    enum sc2_env_dir dir = (data[0] & 1) ? SC2_FROM_RELAY : SC2_FROM_CLIENT;
    const uint8_t *msg = data + 1;
    size_t len = size - 1, pos = 0, count = 0;
    sc2_env_iter it;
    sc2_env e;
    int rc;
    sc2_env_iter_init(&it, msg, len, dir);
    while ((rc = sc2_env_iter_next(&it, &e)) == 1) {
        size_t n = SC2_ENV_HEADER_BYTES + e.body_len;
        FUZZ_ASSERT(e.body == msg + pos + SC2_ENV_HEADER_BYTES && pos + n <= len);
        inside(e.join_pk, e.join_pk ? SC2_JOIN_PK_BYTES : 0, e.body, e.body_len);
        inside(e.sig, e.sig ? SC2_SIG_BYTES : 0, e.body, e.body_len);
        inside(e.nonce, e.nonce ? SC2_NONCE_BYTES : 0, e.body, e.body_len);
        inside(e.log_hash, e.log_hash ? SC2_LOG_HASH_BYTES : 0, e.body, e.body_len);
        inside(e.gi_box, e.gi_box_len, e.body, e.body_len);
        inside(e.mls, e.mls_len, e.body, e.body_len);
        inside((const uint8_t *)e.reason, e.reason_len, e.body, e.body_len);
        if (e.gi_box)
            FUZZ_ASSERT(e.gi_box_len >= SC2_GIBOX_MIN);
        reencode(&e, msg + pos, n);
        if (e.type == SC2_T_LOG) {
            /* the chain takes exactly head + 1; anything else leaves it as it was */
            uint64_t head = sc2_lh_head(&chain, NULL);
            int a = sc2_lh_append(&chain, e.body, e.body_len);
            FUZZ_ASSERT(a == 0 ? e.seq == head + 1 : (a == SC2_LH_E_GAP && e.seq != head + 1));
            FUZZ_ASSERT(sc2_lh_head(&chain, NULL) == (a == 0 ? e.seq : head));
        }
        if (e.mls) {
            uint64_t s;
            uint8_t l[32];
            int d = sc2_lh_aad_decode(e.mls, e.mls_len, &s, l);
            FUZZ_ASSERT(d == 0 || d == SC2_LH_E_AAD);
            if (d == 0) {
                uint8_t again[SC2_LH_AAD_BYTES];
                sc2_lh_aad_encode(s, l, again);
                FUZZ_ASSERT(memcmp(again, e.mls, SC2_LH_AAD_BYTES) == 0);
            }
        }
        pos += n;
        count++;
    }
    FUZZ_ASSERT(rc <= 0 && rc >= SC2_ENV_E_EMPTY);
    FUZZ_ASSERT(strcmp(sc2_env_strerror(rc), "unknown envelope error") != 0);
    FUZZ_ASSERT(rc != SC2_ENV_E_TRAILING);
    FUZZ_ASSERT((rc == SC2_ENV_E_EMPTY) == (len == 0));
    if (rc == 0)
        FUZZ_ASSERT(pos == len && count > 0);
    /* the one-envelope decoder agrees: fine exactly when the message is one envelope */
    int one = sc2_env_decode(msg, len, dir, &e);
    if (rc == 0 && count == 1)
        FUZZ_ASSERT(one == 0);
    else if (count >= 1)
        FUZZ_ASSERT(one == SC2_ENV_E_TRAILING);
    else
        FUZZ_ASSERT(one == rc);
    return 0;
}
