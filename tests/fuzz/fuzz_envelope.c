/* fuzz_envelope: sc_env_parse over a whole WebSocket message (a batch), as relay and
 * client do. Input: byte 0 selects the direction (bit 0: from relay), the rest is the
 * message. Every envelope that parses must re-encode to exactly its input bytes. */
#include "fuzz_common.h"
#include "sc_envelope.h"

static void reencode(const sc_env *e, const uint8_t *in, size_t n)
{
    uint8_t *out = malloc(n);
    FUZZ_ASSERT(out);
    size_t m = 0;
    switch (e->type) {
    case SC_ENV_T_SEND_ALL:
        m = sc_env_encode_send_all(out, n, e->payload, e->payload_len);
        break;
    case SC_ENV_T_SEND_TO:
        m = sc_env_encode_send_to(out, n, e->member, e->payload, e->payload_len);
        break;
    case SC_ENV_T_SYNC:
        m = sc_env_encode_sync(out, n, e->token);
        break;
    case SC_ENV_T_SYNCED:
        m = sc_env_encode_synced(out, n, e->token);
        break;
    case SC_ENV_T_JOINED:
        m = sc_env_encode_joined(out, n, e->member);
        break;
    case SC_ENV_T_LEFT:
        m = sc_env_encode_left(out, n, e->member);
        break;
    case SC_ENV_T_DATA:
        m = sc_env_encode_data(out, n, e->member, e->mode, e->payload, e->payload_len);
        break;
    case SC_ENV_T_ERROR: {
        char reason[SC_ENV_MAX_REASON + 1];
        FUZZ_ASSERT(e->payload_len <= SC_ENV_MAX_REASON);
        memcpy(reason, e->payload, e->payload_len);
        reason[e->payload_len] = '\0';
        m = sc_env_encode_error(out, n, e->code, reason);
        break;
    }
    case SC_ENV_T_WELCOME: {
        uint64_t *ids = malloc((e->n_members ? e->n_members : 1) * sizeof *ids);
        FUZZ_ASSERT(ids);
        for (uint32_t i = 0; i < e->n_members; i++)
            ids[i] = sc_env_welcome_member(e, i);
        m = sc_env_encode_welcome(out, n, e->member, e->max_payload, ids, e->n_members);
        free(ids);
        break;
    }
    default:
        FUZZ_ASSERT(0 && "parser returned an unknown type");
    }
    FUZZ_ASSERT(m == n);
    FUZZ_ASSERT(memcmp(out, in, n) == 0);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    enum sc_env_dir dir = (data[0] & 1) ? SC_ENV_FROM_RELAY : SC_ENV_FROM_CLIENT;
    const uint8_t *msg = data + 1;
    size_t len = size - 1, pos = 0;
    while (pos < len) {
        sc_env e;
        int rc = sc_env_parse(msg + pos, len - pos, dir, &e);
        if (rc <= 0) {
            FUZZ_ASSERT(rc >= SC_ENV_E_FIELD && rc <= SC_ENV_E_PARTIAL);
            FUZZ_ASSERT(sc_env_strerror(rc) != NULL);
            break;
        }
        FUZZ_ASSERT((size_t)rc <= len - pos && (size_t)rc >= SC_ENV_HEADER_BYTES);
        if (e.payload_len)
            FUZZ_ASSERT(e.payload >= msg + pos && e.payload + e.payload_len <= msg + pos + rc);
        reencode(&e, msg + pos, (size_t)rc);
        pos += (size_t)rc;
    }
    return 0;
}
