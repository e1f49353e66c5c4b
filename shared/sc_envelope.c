#include "sc_envelope.h"

#include <string.h>

#include "sc_bytes.h"

static int type_allowed(uint8_t type, enum sc_env_dir dir)
{
    switch (type) {
    case SC_ENV_T_SEND_ALL:
    case SC_ENV_T_SEND_TO:
    case SC_ENV_T_SYNC:
        return dir == SC_ENV_FROM_CLIENT;
    case SC_ENV_T_WELCOME:
    case SC_ENV_T_JOINED:
    case SC_ENV_T_LEFT:
    case SC_ENV_T_DATA:
    case SC_ENV_T_SYNCED:
    case SC_ENV_T_ERROR:
        return dir == SC_ENV_FROM_RELAY;
    default:
        return 0;
    }
}

static int printable_ascii(const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x20 || s[i] > 0x7e)
            return 0;
    return 1;
}

static int parse_body(const uint8_t *b, size_t L, sc_env *out)
{
    switch (out->type) {
    case SC_ENV_T_SEND_ALL:
        if (L < 1)
            return SC_ENV_E_LENGTH;
        out->payload = b;
        out->payload_len = L;
        return 0;
    case SC_ENV_T_SEND_TO:
        if (L < 9)
            return SC_ENV_E_LENGTH;
        out->member = sc_load64(b);
        out->payload = b + 8;
        out->payload_len = L - 8;
        return out->member ? 0 : SC_ENV_E_FIELD;
    case SC_ENV_T_SYNC:
    case SC_ENV_T_SYNCED:
        if (L != 8)
            return SC_ENV_E_LENGTH;
        out->token = sc_load64(b);
        return 0;
    case SC_ENV_T_WELCOME: {
        if (L < 16)
            return SC_ENV_E_LENGTH;
        out->member = sc_load64(b);
        out->max_payload = sc_load32(b + 8);
        out->n_members = sc_load32(b + 12);
        if (out->n_members > SC_ENV_MAX_WELCOME_MEMBERS ||
            L != 16 + (size_t)out->n_members * 8)
            return SC_ENV_E_LENGTH;
        out->members = b + 16;
        if (!out->member || !out->max_payload)
            return SC_ENV_E_FIELD;
        for (uint32_t i = 0; i < out->n_members; i++) {
            uint64_t m = sc_load64(out->members + (size_t)i * 8);
            if (!m || m == out->member)
                return SC_ENV_E_FIELD;
        }
        return 0;
    }
    case SC_ENV_T_JOINED:
    case SC_ENV_T_LEFT:
        if (L != 8)
            return SC_ENV_E_LENGTH;
        out->member = sc_load64(b);
        return out->member ? 0 : SC_ENV_E_FIELD;
    case SC_ENV_T_DATA:
        if (L < 10)
            return SC_ENV_E_LENGTH;
        out->member = sc_load64(b);
        out->mode = b[8];
        out->payload = b + 9;
        out->payload_len = L - 9;
        if (!out->member || out->mode > SC_ENV_MODE_UNICAST)
            return SC_ENV_E_FIELD;
        return 0;
    case SC_ENV_T_ERROR:
        if (L < 2 || L > 2 + SC_ENV_MAX_REASON)
            return SC_ENV_E_LENGTH;
        out->code = sc_load16(b);
        out->payload = b + 2;
        out->payload_len = L - 2;
        if (!out->code || !printable_ascii(out->payload, out->payload_len))
            return SC_ENV_E_FIELD;
        return 0;
    default:
        return SC_ENV_E_TYPE;
    }
}

int sc_env_parse(const uint8_t *buf, size_t len, enum sc_env_dir dir, sc_env *out)
{
    memset(out, 0, sizeof(*out));
    if (len < 1)
        return SC_ENV_E_PARTIAL;
    if (buf[0] != SC_ENV_VERSION)
        return SC_ENV_E_VERSION;
    if (len < 2)
        return SC_ENV_E_PARTIAL;
    if (!type_allowed(buf[1], dir))
        return SC_ENV_E_TYPE;
    if (len < SC_ENV_HEADER_BYTES)
        return SC_ENV_E_PARTIAL;
    uint32_t L = sc_load32(buf + 2);
    if (L > SC_ENV_MAX_BODY)
        return SC_ENV_E_LENGTH;
    if (len - SC_ENV_HEADER_BYTES < L)
        return SC_ENV_E_PARTIAL;
    out->type = buf[1];
    int rc = parse_body(buf + SC_ENV_HEADER_BYTES, L, out);
    if (rc < 0)
        return rc;
    return (int)(SC_ENV_HEADER_BYTES + L);
}

uint64_t sc_env_welcome_member(const sc_env *env, uint32_t i)
{
    return i < env->n_members ? sc_load64(env->members + (size_t)i * 8) : 0;
}

const char *sc_env_strerror(int err)
{
    switch (err) {
    case SC_ENV_E_PARTIAL:
        return "truncated envelope";
    case SC_ENV_E_VERSION:
        return "unsupported envelope version";
    case SC_ENV_E_TYPE:
        return "unknown envelope type for this direction";
    case SC_ENV_E_LENGTH:
        return "envelope length invalid for its type";
    case SC_ENV_E_FIELD:
        return "invalid envelope field";
    default:
        return err >= 0 ? "no error" : "unknown envelope error";
    }
}

const char *sc_env_error_code_name(uint16_t code)
{
    switch (code) {
    case SC_ENV_ERR_MALFORMED:
        return "malformed";
    case SC_ENV_ERR_NO_SUCH_MEMBER:
        return "no-such-member";
    case SC_ENV_ERR_RATE_LIMITED:
        return "rate-limited";
    case SC_ENV_ERR_ROOM_FULL:
        return "room-full";
    case SC_ENV_ERR_RELAY_FULL:
        return "relay-full";
    case SC_ENV_ERR_TOO_BIG:
        return "too-big";
    case SC_ENV_ERR_SLOW_CONSUMER:
        return "slow-consumer";
    case SC_ENV_ERR_SHUTDOWN:
        return "shutdown";
    default:
        return "unknown";
    }
}

static size_t put_header(uint8_t *out, size_t cap, uint8_t type, size_t body)
{
    if (body > SC_ENV_MAX_BODY || cap < SC_ENV_HEADER_BYTES || cap - SC_ENV_HEADER_BYTES < body)
        return 0;
    out[0] = SC_ENV_VERSION;
    out[1] = type;
    sc_store32(out + 2, (uint32_t)body);
    return SC_ENV_HEADER_BYTES;
}

size_t sc_env_encode_send_all(uint8_t *out, size_t cap, const uint8_t *payload, size_t len)
{
    if (!len || !put_header(out, cap, SC_ENV_T_SEND_ALL, len))
        return 0;
    memcpy(out + SC_ENV_HEADER_BYTES, payload, len);
    return SC_ENV_HEADER_BYTES + len;
}

size_t sc_env_encode_send_to(uint8_t *out, size_t cap, uint64_t to, const uint8_t *payload,
                             size_t len)
{
    if (!to || !len || len > SC_ENV_MAX_BODY - 8 || !put_header(out, cap, SC_ENV_T_SEND_TO, 8 + len))
        return 0;
    sc_store64(out + SC_ENV_HEADER_BYTES, to);
    memcpy(out + SC_ENV_SEND_TO_OVERHEAD, payload, len);
    return SC_ENV_SEND_TO_OVERHEAD + len;
}

static size_t encode_u64(uint8_t *out, size_t cap, uint8_t type, uint64_t v)
{
    if (!put_header(out, cap, type, 8))
        return 0;
    sc_store64(out + SC_ENV_HEADER_BYTES, v);
    return SC_ENV_HEADER_BYTES + 8;
}

size_t sc_env_encode_sync(uint8_t *out, size_t cap, uint64_t token)
{
    return encode_u64(out, cap, SC_ENV_T_SYNC, token);
}

size_t sc_env_encode_synced(uint8_t *out, size_t cap, uint64_t token)
{
    return encode_u64(out, cap, SC_ENV_T_SYNCED, token);
}

size_t sc_env_encode_joined(uint8_t *out, size_t cap, uint64_t member)
{
    return member ? encode_u64(out, cap, SC_ENV_T_JOINED, member) : 0;
}

size_t sc_env_encode_left(uint8_t *out, size_t cap, uint64_t member)
{
    return member ? encode_u64(out, cap, SC_ENV_T_LEFT, member) : 0;
}

size_t sc_env_write_data_header(uint8_t out[SC_ENV_DATA_OVERHEAD], uint64_t from, uint8_t mode,
                                size_t len)
{
    if (!from || !len || mode > SC_ENV_MODE_UNICAST || len > SC_ENV_MAX_BODY - 9)
        return 0;
    out[0] = SC_ENV_VERSION;
    out[1] = SC_ENV_T_DATA;
    sc_store32(out + 2, (uint32_t)(9 + len));
    sc_store64(out + 6, from);
    out[14] = mode;
    return SC_ENV_DATA_OVERHEAD;
}

size_t sc_env_encode_data(uint8_t *out, size_t cap, uint64_t from, uint8_t mode,
                          const uint8_t *payload, size_t len)
{
    if (cap < SC_ENV_DATA_OVERHEAD || cap - SC_ENV_DATA_OVERHEAD < len ||
        !sc_env_write_data_header(out, from, mode, len))
        return 0;
    memcpy(out + SC_ENV_DATA_OVERHEAD, payload, len);
    return SC_ENV_DATA_OVERHEAD + len;
}

size_t sc_env_encode_error(uint8_t *out, size_t cap, uint16_t code, const char *reason)
{
    size_t n = reason ? strlen(reason) : 0;
    if (!code || n > SC_ENV_MAX_REASON || !printable_ascii((const uint8_t *)reason, n) ||
        !put_header(out, cap, SC_ENV_T_ERROR, 2 + n))
        return 0;
    sc_store16(out + SC_ENV_HEADER_BYTES, code);
    memcpy(out + SC_ENV_HEADER_BYTES + 2, reason, n);
    return SC_ENV_HEADER_BYTES + 2 + n;
}

size_t sc_env_welcome_size(uint32_t n) { return SC_ENV_HEADER_BYTES + 16 + (size_t)n * 8; }

size_t sc_env_encode_welcome(uint8_t *out, size_t cap, uint64_t you, uint32_t max_payload,
                             const uint64_t *members, uint32_t n)
{
    if (!you || !max_payload || n > SC_ENV_MAX_WELCOME_MEMBERS)
        return 0;
    for (uint32_t i = 0; i < n; i++)
        if (!members[i] || members[i] == you)
            return 0;
    if (!put_header(out, cap, SC_ENV_T_WELCOME, 16 + (size_t)n * 8))
        return 0;
    uint8_t *b = out + SC_ENV_HEADER_BYTES;
    sc_store64(b, you);
    sc_store32(b + 8, max_payload);
    sc_store32(b + 12, n);
    for (uint32_t i = 0; i < n; i++)
        sc_store64(b + 16 + (size_t)i * 8, members[i]);
    return sc_env_welcome_size(n);
}

size_t sc_env_header_bytes(void) { return SC_ENV_HEADER_BYTES; }
size_t sc_env_data_overhead(void) { return SC_ENV_DATA_OVERHEAD; }
size_t sc_env_send_to_overhead(void) { return SC_ENV_SEND_TO_OVERHEAD; }
