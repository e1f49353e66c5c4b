#include "sc2_envelope.h"
#include "sc2_be.h"

#include <string.h>

/* 1: client type, 2: relay type, 0: unknown. */
static int type_side(uint8_t type)
{
    switch (type) {
    case SC2_T_AUTH:
    case SC2_T_CREATE:
    case SC2_T_GET_GI:
    case SC2_T_RESUME:
    case SC2_T_SUBMIT:
        return 1;
    case SC2_T_CHALLENGE:
    case SC2_T_GI:
    case SC2_T_LOG:
    case SC2_T_LIVE:
    case SC2_T_GONE:
    case SC2_T_ACCEPTED:
    case SC2_T_REJECTED:
    case SC2_T_ERROR:
        return 2;
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

static int parse_submit(const uint8_t *b, size_t L, sc2_env *out)
{
    size_t off = 9;
    if (L < 10)
        return SC2_ENV_E_LENGTH;
    out->token = sc2_be_ld64(b);
    out->flags = b[8];
    if (out->flags & ~(SC2_SUBMIT_F_GI | SC2_SUBMIT_F_JOIN_PK))
        return SC2_ENV_E_FIELD;
    if ((out->flags & SC2_SUBMIT_F_JOIN_PK) && !(out->flags & SC2_SUBMIT_F_GI))
        return SC2_ENV_E_FIELD;
    if (out->flags & SC2_SUBMIT_F_GI) {
        if (L - off < 4)
            return SC2_ENV_E_LENGTH;
        uint32_t gl = sc2_be_ld32(b + off);
        off += 4;
        if (gl < SC2_GIBOX_MIN)
            return SC2_ENV_E_FIELD;
        if (gl > L - off)
            return SC2_ENV_E_LENGTH;
        out->gi_box = b + off;
        out->gi_box_len = gl;
        off += gl;
    }
    if (out->flags & SC2_SUBMIT_F_JOIN_PK) {
        if (L - off < SC2_JOIN_PK_BYTES)
            return SC2_ENV_E_LENGTH;
        out->join_pk = b + off;
        off += SC2_JOIN_PK_BYTES;
    }
    if (L - off < 1)
        return SC2_ENV_E_LENGTH;
    out->mls = b + off;
    out->mls_len = L - off;
    return 0;
}

static int parse_log(const uint8_t *b, size_t L, sc2_env *out)
{
    size_t off = 17;
    if (L < 18)
        return SC2_ENV_E_LENGTH;
    out->seq = sc2_be_ld64(b);
    out->time_ms = sc2_be_ld64(b + 8);
    out->flags = b[16];
    if (!out->seq || (out->flags & ~(SC2_LOG_F_COMMIT | SC2_LOG_F_JOIN_PK)))
        return SC2_ENV_E_FIELD;
    if ((out->flags & SC2_LOG_F_JOIN_PK) && !(out->flags & SC2_LOG_F_COMMIT))
        return SC2_ENV_E_FIELD;
    if (out->flags & SC2_LOG_F_JOIN_PK) {
        if (L - off < SC2_JOIN_PK_BYTES + 1)
            return SC2_ENV_E_LENGTH;
        out->join_pk = b + off;
        off += SC2_JOIN_PK_BYTES;
    }
    out->mls = b + off;
    out->mls_len = L - off;
    return 0;
}

static int parse_body(const uint8_t *b, size_t L, sc2_env *out)
{
    switch (out->type) {
    case SC2_T_AUTH:
        if (L != SC2_JOIN_PK_BYTES + SC2_SIG_BYTES)
            return SC2_ENV_E_LENGTH;
        out->join_pk = b;
        out->sig = b + SC2_JOIN_PK_BYTES;
        return 0;
    case SC2_T_CREATE:
        if (L < SC2_JOIN_PK_BYTES + SC2_SIG_BYTES + SC2_GIBOX_MIN)
            return SC2_ENV_E_LENGTH;
        out->join_pk = b;
        out->sig = b + SC2_JOIN_PK_BYTES;
        out->gi_box = b + SC2_JOIN_PK_BYTES + SC2_SIG_BYTES;
        out->gi_box_len = L - SC2_JOIN_PK_BYTES - SC2_SIG_BYTES;
        return 0;
    case SC2_T_GET_GI:
        return L == 0 ? 0 : SC2_ENV_E_LENGTH;
    case SC2_T_RESUME:
    case SC2_T_LIVE:
    case SC2_T_GONE:
        if (L != 8)
            return SC2_ENV_E_LENGTH;
        out->seq = sc2_be_ld64(b);
        return (out->type == SC2_T_GONE && !out->seq) ? SC2_ENV_E_FIELD : 0;
    case SC2_T_SUBMIT:
        return parse_submit(b, L, out);
    case SC2_T_CHALLENGE:
        if (L != SC2_NONCE_BYTES + 4)
            return SC2_ENV_E_LENGTH;
        out->nonce = b;
        out->max_payload = sc2_be_ld32(b + SC2_NONCE_BYTES);
        return out->max_payload ? 0 : SC2_ENV_E_FIELD;
    case SC2_T_GI:
        if (L < 8 + SC2_LOG_HASH_BYTES + SC2_GIBOX_MIN)
            return SC2_ENV_E_LENGTH;
        out->seq = sc2_be_ld64(b);
        out->log_hash = b + 8;
        out->gi_box = b + 8 + SC2_LOG_HASH_BYTES;
        out->gi_box_len = L - 8 - SC2_LOG_HASH_BYTES;
        return 0;
    case SC2_T_LOG:
        return parse_log(b, L, out);
    case SC2_T_ACCEPTED:
        if (L != 16)
            return SC2_ENV_E_LENGTH;
        out->token = sc2_be_ld64(b);
        out->seq = sc2_be_ld64(b + 8);
        return out->seq ? 0 : SC2_ENV_E_FIELD;
    case SC2_T_REJECTED:
        if (L != 18)
            return SC2_ENV_E_LENGTH;
        out->token = sc2_be_ld64(b);
        out->code = sc2_be_ld16(b + 8);
        out->epoch = sc2_be_ld64(b + 10);
        return out->code ? 0 : SC2_ENV_E_FIELD;
    case SC2_T_ERROR:
        if (L < 2 || L > 2 + SC2_ENV_MAX_REASON)
            return SC2_ENV_E_LENGTH;
        out->code = sc2_be_ld16(b);
        out->reason = (const char *)(b + 2);
        out->reason_len = L - 2;
        if (!out->code || !printable_ascii(b + 2, L - 2))
            return SC2_ENV_E_FIELD;
        return 0;
    default:
        return SC2_ENV_E_TYPE;
    }
}

int sc2_env_decode_prefix(const uint8_t *buf, size_t len, enum sc2_env_dir dir, sc2_env *out)
{
    memset(out, 0, sizeof(*out));
    if (len == 0)
        return SC2_ENV_E_EMPTY;
    if (buf[0] != SC2_ENV_VERSION)
        return SC2_ENV_E_VERSION;
    if (len < 2)
        return SC2_ENV_E_PARTIAL;
    int side = type_side(buf[1]);
    if (!side)
        return SC2_ENV_E_TYPE;
    if (side != (dir == SC2_FROM_CLIENT ? 1 : 2))
        return SC2_ENV_E_DIRECTION;
    if (len < SC2_ENV_HEADER_BYTES)
        return SC2_ENV_E_PARTIAL;
    uint32_t L = sc2_be_ld32(buf + 2);
    if (L > SC2_ENV_MAX_BODY)
        return SC2_ENV_E_LENGTH;
    if (len - SC2_ENV_HEADER_BYTES < L)
        return SC2_ENV_E_PARTIAL;
    out->type = buf[1];
    out->body = buf + SC2_ENV_HEADER_BYTES;
    out->body_len = L;
    int rc = parse_body(out->body, L, out);
    if (rc < 0) {
        memset(out, 0, sizeof(*out));
        return rc;
    }
    return (int)(SC2_ENV_HEADER_BYTES + L);
}

int sc2_env_decode(const uint8_t *buf, size_t len, enum sc2_env_dir dir, sc2_env *out)
{
    int rc = sc2_env_decode_prefix(buf, len, dir, out);
    if (rc < 0)
        return rc;
    if ((size_t)rc != len) {
        memset(out, 0, sizeof(*out));
        return SC2_ENV_E_TRAILING;
    }
    return 0;
}

void sc2_env_iter_init(sc2_env_iter *it, const uint8_t *msg, size_t len, enum sc2_env_dir dir)
{
    it->buf = msg;
    it->len = len;
    it->pos = 0;
    it->dir = dir;
    it->err = len ? 0 : SC2_ENV_E_EMPTY;
}

int sc2_env_iter_next(sc2_env_iter *it, sc2_env *out)
{
    if (it->err) {
        memset(out, 0, sizeof(*out));
        return it->err;
    }
    if (it->pos == it->len) {
        memset(out, 0, sizeof(*out));
        return 0;
    }
    int rc = sc2_env_decode_prefix(it->buf + it->pos, it->len - it->pos, it->dir, out);
    if (rc < 0) {
        it->err = rc;
        return rc;
    }
    it->pos += (size_t)rc;
    return 1;
}

const char *sc2_env_strerror(int err)
{
    switch (err) {
    case SC2_ENV_E_PARTIAL:
        return "truncated envelope";
    case SC2_ENV_E_VERSION:
        return "envelope version is not 2";
    case SC2_ENV_E_TYPE:
        return "unknown envelope type";
    case SC2_ENV_E_DIRECTION:
        return "envelope type not sent in this direction";
    case SC2_ENV_E_LENGTH:
        return "envelope length invalid for its type";
    case SC2_ENV_E_FIELD:
        return "invalid envelope field";
    case SC2_ENV_E_TRAILING:
        return "bytes after the envelope";
    case SC2_ENV_E_EMPTY:
        return "message without an envelope";
    default:
        return err >= 0 ? "no error" : "unknown envelope error";
    }
}

const char *sc2_code_name(uint16_t code)
{
    switch (code) {
    case SC2_C_MALFORMED:
        return "malformed";
    case SC2_C_TOO_LARGE:
        return "too_large";
    case SC2_C_RATE_LIMITED:
        return "rate_limited";
    case SC2_C_NOT_AUTHENTICATED:
        return "not_authenticated";
    case SC2_C_BAD_PROOF:
        return "bad_proof";
    case SC2_C_NO_ROOM:
        return "no_room";
    case SC2_C_ROOM_EXISTS:
        return "room_exists";
    case SC2_C_BAD_STATE:
        return "bad_state";
    case SC2_C_SEQ_AHEAD:
        return "seq_ahead";
    case SC2_C_OLD_KEY:
        return "old_key";
    case SC2_C_RELAY_FULL:
        return "relay_full";
    case SC2_C_SLOW_CONSUMER:
        return "slow_consumer";
    case SC2_C_STORAGE:
        return "storage";
    case SC2_C_SHUTDOWN:
        return "shutdown";
    case SC2_C_STALE_EPOCH:
        return "stale_epoch";
    case SC2_C_NO_GROUPINFO:
        return "no_groupinfo";
    case SC2_C_NOT_COMMIT:
        return "not_commit";
    case SC2_C_BAD_MLS:
        return "bad_mls";
    case SC2_C_KEY_RETIRED:
        return "key_retired";
    default:
        return "unknown";
    }
}

/*
 * Checks room for an envelope of body bytes and writes its header. Returns the envelope
 * size; with out NULL only the size. 0 if body is over the cap or cap too small.
 */
static size_t begin(uint8_t *out, size_t cap, uint8_t type, size_t body)
{
    if (body > SC2_ENV_MAX_BODY)
        return 0;
    size_t total = SC2_ENV_HEADER_BYTES + body;
    if (!out)
        return total;
    if (cap < total)
        return 0;
    out[0] = SC2_ENV_VERSION;
    out[1] = type;
    sc2_be_st32(out + 2, (uint32_t)body);
    return total;
}

size_t sc2_env_encode_auth(uint8_t *out, size_t cap, const uint8_t join_pk[SC2_JOIN_PK_BYTES],
                           const uint8_t sig[SC2_SIG_BYTES])
{
    if (!join_pk || !sig)
        return 0;
    size_t n = begin(out, cap, SC2_T_AUTH, SC2_JOIN_PK_BYTES + SC2_SIG_BYTES);
    if (n && out) {
        memcpy(out + 6, join_pk, SC2_JOIN_PK_BYTES);
        memcpy(out + 6 + SC2_JOIN_PK_BYTES, sig, SC2_SIG_BYTES);
    }
    return n;
}

size_t sc2_env_encode_create(uint8_t *out, size_t cap,
                             const uint8_t join_pk[SC2_JOIN_PK_BYTES],
                             const uint8_t sig[SC2_SIG_BYTES], const uint8_t *gi_box,
                             size_t gi_box_len)
{
    if (!join_pk || !sig || !gi_box || gi_box_len < SC2_GIBOX_MIN ||
        gi_box_len > SC2_ENV_MAX_BODY)
        return 0;
    size_t n = begin(out, cap, SC2_T_CREATE, SC2_JOIN_PK_BYTES + SC2_SIG_BYTES + gi_box_len);
    if (n && out) {
        memcpy(out + 6, join_pk, SC2_JOIN_PK_BYTES);
        memcpy(out + 6 + SC2_JOIN_PK_BYTES, sig, SC2_SIG_BYTES);
        memcpy(out + 6 + SC2_JOIN_PK_BYTES + SC2_SIG_BYTES, gi_box, gi_box_len);
    }
    return n;
}

size_t sc2_env_encode_get_gi(uint8_t *out, size_t cap)
{
    return begin(out, cap, SC2_T_GET_GI, 0);
}

static size_t encode_u64(uint8_t *out, size_t cap, uint8_t type, uint64_t v)
{
    size_t n = begin(out, cap, type, 8);
    if (n && out)
        sc2_be_st64(out + 6, v);
    return n;
}

size_t sc2_env_encode_resume(uint8_t *out, size_t cap, uint64_t after_seq)
{
    return encode_u64(out, cap, SC2_T_RESUME, after_seq);
}

size_t sc2_env_encode_live(uint8_t *out, size_t cap, uint64_t head_seq)
{
    return encode_u64(out, cap, SC2_T_LIVE, head_seq);
}

size_t sc2_env_encode_gone(uint8_t *out, size_t cap, uint64_t oldest_seq)
{
    return oldest_seq ? encode_u64(out, cap, SC2_T_GONE, oldest_seq) : 0;
}

size_t sc2_env_encode_submit(uint8_t *out, size_t cap, uint64_t token, const uint8_t *gi_box,
                             size_t gi_box_len, const uint8_t *join_pk, const uint8_t *mls,
                             size_t mls_len)
{
    if (!mls || !mls_len || mls_len > SC2_ENV_MAX_BODY)
        return 0;
    if (gi_box && (gi_box_len < SC2_GIBOX_MIN || gi_box_len > SC2_ENV_MAX_BODY))
        return 0;
    if (!gi_box && (gi_box_len || join_pk))
        return 0;
    uint8_t flags = (uint8_t)((gi_box ? SC2_SUBMIT_F_GI : 0) | (join_pk ? SC2_SUBMIT_F_JOIN_PK : 0));
    size_t body = 9 + (gi_box ? 4 + gi_box_len : 0) + (join_pk ? SC2_JOIN_PK_BYTES : 0) + mls_len;
    size_t n = begin(out, cap, SC2_T_SUBMIT, body);
    if (n && out) {
        uint8_t *p = out + 6;
        sc2_be_st64(p, token);
        p[8] = flags;
        p += 9;
        if (gi_box) {
            sc2_be_st32(p, (uint32_t)gi_box_len);
            memcpy(p + 4, gi_box, gi_box_len);
            p += 4 + gi_box_len;
        }
        if (join_pk) {
            memcpy(p, join_pk, SC2_JOIN_PK_BYTES);
            p += SC2_JOIN_PK_BYTES;
        }
        memcpy(p, mls, mls_len);
    }
    return n;
}

size_t sc2_env_encode_challenge(uint8_t *out, size_t cap, const uint8_t nonce[SC2_NONCE_BYTES],
                                uint32_t max_payload)
{
    if (!nonce || !max_payload)
        return 0;
    size_t n = begin(out, cap, SC2_T_CHALLENGE, SC2_NONCE_BYTES + 4);
    if (n && out) {
        memcpy(out + 6, nonce, SC2_NONCE_BYTES);
        sc2_be_st32(out + 6 + SC2_NONCE_BYTES, max_payload);
    }
    return n;
}

size_t sc2_env_encode_gi(uint8_t *out, size_t cap, uint64_t seq,
                         const uint8_t log_hash[SC2_LOG_HASH_BYTES], const uint8_t *gi_box,
                         size_t gi_box_len)
{
    if (!log_hash || !gi_box || gi_box_len < SC2_GIBOX_MIN || gi_box_len > SC2_ENV_MAX_BODY)
        return 0;
    size_t n = begin(out, cap, SC2_T_GI, 8 + SC2_LOG_HASH_BYTES + gi_box_len);
    if (n && out) {
        sc2_be_st64(out + 6, seq);
        memcpy(out + 14, log_hash, SC2_LOG_HASH_BYTES);
        memcpy(out + 14 + SC2_LOG_HASH_BYTES, gi_box, gi_box_len);
    }
    return n;
}

size_t sc2_env_log_header(uint8_t out[SC2_ENV_LOG_HEADER_MAX], uint64_t seq, uint64_t time_ms,
                          uint8_t flags, const uint8_t *join_pk, size_t mls_len)
{
    if (!seq || !mls_len || (flags & ~(SC2_LOG_F_COMMIT | SC2_LOG_F_JOIN_PK)))
        return 0;
    if (((flags & SC2_LOG_F_JOIN_PK) != 0) != (join_pk != NULL))
        return 0;
    if ((flags & SC2_LOG_F_JOIN_PK) && !(flags & SC2_LOG_F_COMMIT))
        return 0;
    size_t fixed = 17 + (join_pk ? SC2_JOIN_PK_BYTES : 0);
    if (mls_len > SC2_ENV_MAX_BODY - fixed)
        return 0;
    out[0] = SC2_ENV_VERSION;
    out[1] = SC2_T_LOG;
    sc2_be_st32(out + 2, (uint32_t)(fixed + mls_len));
    sc2_be_st64(out + 6, seq);
    sc2_be_st64(out + 14, time_ms);
    out[22] = flags;
    if (join_pk)
        memcpy(out + 23, join_pk, SC2_JOIN_PK_BYTES);
    return SC2_ENV_HEADER_BYTES + fixed;
}

size_t sc2_env_encode_log(uint8_t *out, size_t cap, uint64_t seq, uint64_t time_ms,
                          uint8_t flags, const uint8_t *join_pk, const uint8_t *mls,
                          size_t mls_len)
{
    uint8_t hdr[SC2_ENV_LOG_HEADER_MAX];
    if (!mls)
        return 0;
    size_t h = sc2_env_log_header(hdr, seq, time_ms, flags, join_pk, mls_len);
    if (!h)
        return 0;
    if (!out)
        return h + mls_len;
    if (cap < h || cap - h < mls_len)
        return 0;
    memcpy(out, hdr, h);
    memcpy(out + h, mls, mls_len);
    return h + mls_len;
}

size_t sc2_env_encode_accepted(uint8_t *out, size_t cap, uint64_t token, uint64_t seq)
{
    if (!seq)
        return 0;
    size_t n = begin(out, cap, SC2_T_ACCEPTED, 16);
    if (n && out) {
        sc2_be_st64(out + 6, token);
        sc2_be_st64(out + 14, seq);
    }
    return n;
}

size_t sc2_env_encode_rejected(uint8_t *out, size_t cap, uint64_t token, uint16_t code,
                               uint64_t epoch)
{
    if (!code)
        return 0;
    size_t n = begin(out, cap, SC2_T_REJECTED, 18);
    if (n && out) {
        sc2_be_st64(out + 6, token);
        sc2_be_st16(out + 14, code);
        sc2_be_st64(out + 16, epoch);
    }
    return n;
}

size_t sc2_env_encode_error(uint8_t *out, size_t cap, uint16_t code, const char *reason)
{
    size_t rn = reason ? strlen(reason) : 0;
    if (!code || rn > SC2_ENV_MAX_REASON || !printable_ascii((const uint8_t *)reason, rn))
        return 0;
    size_t n = begin(out, cap, SC2_T_ERROR, 2 + rn);
    if (n && out) {
        sc2_be_st16(out + 6, code);
        if (rn)
            memcpy(out + 8, reason, rn);
    }
    return n;
}

size_t sc2_env_header_bytes(void) { return SC2_ENV_HEADER_BYTES; }
size_t sc2_env_max_body(void) { return SC2_ENV_MAX_BODY; }
