#include "relay_ds.h"

#include <string.h>

#include <sodium.h>

const char *relay_ds_res_name(relay_ds_res res)
{
    switch (res) {
    case RELAY_DS_OK: return "ok";
    case RELAY_DS_STALE_EPOCH: return "stale-epoch";
    case RELAY_DS_NO_GI: return "commit-without-groupinfo";
    case RELAY_DS_NOT_COMMIT: return "groupinfo-or-key-on-non-commit";
    case RELAY_DS_BAD_MLS: return "bad-mls-header";
    case RELAY_DS_WRONG_GROUP: return "wrong-group";
    case RELAY_DS_BAD_GI: return "bad-groupinfo-box";
    case RELAY_DS_TOO_BIG: return "too-big";
    case RELAY_DS_EXISTS: return "room-exists";
    case RELAY_DS_NO_ROOM: return "no-such-room";
    case RELAY_DS_UNKNOWN_KEY: return "unknown-key";
    case RELAY_DS_BAD_SIG: return "bad-proof";
    case RELAY_DS_EARLIER_KEY: return "earlier-key";
    case RELAY_DS_GONE: return "gone";
    case RELAY_DS_AHEAD: return "ahead";
    case RELAY_DS_BUSY: return "busy";
    case RELAY_DS_STORE: return "store";
    }
    return "unknown";
}

relay_ds_res relay_ds_from_store(relay_store_err err)
{
    switch (err) {
    case RELAY_STORE_OK: return RELAY_DS_OK;
    case RELAY_STORE_ERR_NO_ROOM: return RELAY_DS_NO_ROOM;
    case RELAY_STORE_ERR_EXISTS: return RELAY_DS_EXISTS;
    case RELAY_STORE_ERR_GONE: return RELAY_DS_GONE;
    case RELAY_STORE_ERR_AHEAD: return RELAY_DS_AHEAD;
    case RELAY_STORE_ERR_STAGED: return RELAY_DS_BUSY;
    default: return RELAY_DS_STORE;
    }
}

static int gi_len_ok(size_t n)
{
    return n >= RELAY_DS_GI_MIN && n <= RELAY_STORE_GI_MAX;
}

relay_ds_res relay_ds_create(relay_store *st, const uint8_t *room, size_t room_len,
                             const uint8_t join_pk[RELAY_STORE_PK_BYTES], const uint8_t *gi_box,
                             size_t gi_len, uint64_t time_ms, uint64_t tag)
{
    if (!gi_box || !gi_len_ok(gi_len))
        return RELAY_DS_BAD_GI;
    return relay_ds_from_store(
        relay_store_room_create(st, room, room_len, join_pk, gi_box, gi_len, time_ms, tag));
}

relay_ds_res relay_ds_auth(relay_store *st, const uint8_t *room, size_t room_len,
                           const uint8_t nonce[RELAY_DS_NONCE_BYTES],
                           const uint8_t join_pk[RELAY_STORE_PK_BYTES],
                           const uint8_t sig[RELAY_DS_SIG_BYTES], int *kind)
{
    uint8_t m[sizeof RELAY_DS_AUTH_LABEL - 1 + RELAY_STORE_ROOM_ID_MAX + RELAY_DS_NONCE_BYTES];
    size_t n = sizeof RELAY_DS_AUTH_LABEL - 1;
    int k = RELAY_STORE_KEY_UNKNOWN;

    *kind = RELAY_STORE_KEY_UNKNOWN;
    if (room_len == 0 || room_len > RELAY_STORE_ROOM_ID_MAX)
        return RELAY_DS_NO_ROOM;
    relay_store_err e = relay_store_key_kind(st, room, room_len, join_pk, &k);
    if (e)
        return relay_ds_from_store(e);
    if (k == RELAY_STORE_KEY_UNKNOWN)
        return RELAY_DS_UNKNOWN_KEY;
    memcpy(m, RELAY_DS_AUTH_LABEL, n);
    memcpy(m + n, room, room_len);
    n += room_len;
    memcpy(m + n, nonce, RELAY_DS_NONCE_BYTES);
    n += RELAY_DS_NONCE_BYTES;
    if (crypto_sign_verify_detached(sig, m, n, join_pk) != 0)
        return RELAY_DS_BAD_SIG;
    *kind = k;
    return RELAY_DS_OK;
}

relay_ds_res relay_ds_may(relay_store *st, const uint8_t *room, size_t room_len,
                          const uint8_t join_pk[RELAY_STORE_PK_BYTES], enum relay_ds_op op)
{
    int k = RELAY_STORE_KEY_UNKNOWN;
    relay_store_err e = relay_store_key_kind(st, room, room_len, join_pk, &k);

    if (e)
        return relay_ds_from_store(e);
    if (k == RELAY_STORE_KEY_UNKNOWN)
        return RELAY_DS_UNKNOWN_KEY;
    if (k == RELAY_STORE_KEY_EARLIER && op != RELAY_DS_OP_RESUME)
        return RELAY_DS_EARLIER_KEY;
    return RELAY_DS_OK;
}

relay_ds_res relay_ds_submit(relay_store *st, const uint8_t *room, size_t room_len,
                             const relay_ds_submission *sub, uint64_t time_ms, uint64_t tag,
                             relay_ds_verdict *v)
{
    relay_store_meta meta;
    relay_store_err e;

    memset(v, 0, sizeof *v);
    if (sub->msg_len > RELAY_STORE_ENTRY_MAX)
        return RELAY_DS_TOO_BIG;
    v->mls_err = relay_mlshdr_parse(sub->msg, sub->msg_len, &v->hdr);
    if (v->mls_err != RELAY_MLSHDR_OK)
        return RELAY_DS_BAD_MLS;
    v->is_commit = relay_mlshdr_is_commit(&v->hdr);
    e = relay_store_meta_get(st, room, room_len, &meta);
    if (e)
        return relay_ds_from_store(e);
    v->epoch = meta.epoch;
    if (v->hdr.group_id_len != room_len || memcmp(v->hdr.group_id, room, room_len) != 0)
        return RELAY_DS_WRONG_GROUP;
    if (v->hdr.epoch != meta.epoch)
        return RELAY_DS_STALE_EPOCH;
    if (!v->is_commit && (sub->gi_box || sub->join_pk))
        return RELAY_DS_NOT_COMMIT;
    if (v->is_commit && !sub->gi_box)
        return RELAY_DS_NO_GI;
    if (v->is_commit && !gi_len_ok(sub->gi_len))
        return RELAY_DS_BAD_GI;
    e = relay_store_append(st, room, room_len, sub->msg, sub->msg_len, time_ms, v->is_commit,
                           sub->gi_box, sub->gi_len, sub->join_pk, tag, &v->seq);
    return relay_ds_from_store(e);
}

relay_ds_res relay_ds_resume(relay_store *st, const uint8_t *room, size_t room_len,
                             uint64_t after_seq, uint64_t *seq)
{
    relay_store_meta meta;
    relay_store_err e = relay_store_meta_get(st, room, room_len, &meta);

    *seq = 0;
    if (e)
        return relay_ds_from_store(e);
    if (!meta.durable)
        return RELAY_DS_NO_ROOM;
    if (after_seq > meta.durable_head) {
        *seq = meta.durable_head;
        return RELAY_DS_AHEAD;
    }
    if (after_seq + 1 < meta.oldest_seq) {
        *seq = meta.oldest_seq;
        return RELAY_DS_GONE;
    }
    return RELAY_DS_OK;
}
