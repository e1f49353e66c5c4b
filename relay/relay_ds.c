#include "relay_ds.h"

#include <stdlib.h>
#include <string.h>

#include "sc2_loghash.h"

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
                             const uint8_t nonce[RELAY_DS_NONCE_BYTES],
                             const uint8_t join_pk[RELAY_STORE_PK_BYTES],
                             const uint8_t sig[RELAY_DS_SIG_BYTES], const uint8_t *gi_box,
                             size_t gi_len, uint64_t time_ms, uint64_t tag)
{
    uint8_t l0[SC2_LH_BYTES];

    if (room_len != RELAY_DS_ROOM_BYTES)
        return RELAY_DS_NO_ROOM;
    if (sc2_link_auth_verify(join_pk, room, nonce, sig) != 0)
        return RELAY_DS_BAD_SIG;
    if (!gi_box || !gi_len_ok(gi_len))
        return RELAY_DS_BAD_GI;
    relay_store_err e =
        relay_store_room_create(st, room, room_len, join_pk, gi_box, gi_len, time_ms, tag);
    if (e)
        return relay_ds_from_store(e);
    sc2_lh_genesis(room, l0);
    return relay_ds_from_store(relay_store_stage_hash(st, l0));
}

relay_ds_res relay_ds_auth(relay_store *st, const uint8_t *room, size_t room_len,
                           const uint8_t nonce[RELAY_DS_NONCE_BYTES],
                           const uint8_t join_pk[RELAY_STORE_PK_BYTES],
                           const uint8_t sig[RELAY_DS_SIG_BYTES], int *kind)
{
    int k = RELAY_STORE_KEY_UNKNOWN;

    *kind = RELAY_STORE_KEY_UNKNOWN;
    if (room_len != RELAY_DS_ROOM_BYTES)
        return RELAY_DS_NO_ROOM;
    relay_store_err e = relay_store_key_kind(st, room, room_len, join_pk, &k);
    if (e)
        return relay_ds_from_store(e);
    if (k == RELAY_STORE_KEY_UNKNOWN)
        return RELAY_DS_UNKNOWN_KEY;
    if (sc2_link_auth_verify(join_pk, room, nonce, sig) != 0)
        return RELAY_DS_BAD_SIG;
    *kind = k;
    return RELAY_DS_OK;
}

relay_ds_res relay_ds_may(relay_store *st, const uint8_t *room, size_t room_len,
                          const uint8_t join_pk[RELAY_STORE_PK_BYTES], enum relay_ds_op op)
{
    int k = RELAY_STORE_KEY_UNKNOWN;
    if (room_len != RELAY_DS_ROOM_BYTES)
        return RELAY_DS_NO_ROOM;
    relay_store_err e = relay_store_key_kind(st, room, room_len, join_pk, &k);

    if (e)
        return relay_ds_from_store(e);
    if (k == RELAY_STORE_KEY_UNKNOWN)
        return RELAY_DS_UNKNOWN_KEY;
    if (k == RELAY_STORE_KEY_EARLIER && op != RELAY_DS_OP_RESUME)
        return RELAY_DS_EARLIER_KEY;
    return RELAY_DS_OK;
}

relay_ds_res relay_ds_read_limit(relay_store *st, const uint8_t *room, size_t room_len,
                                 const uint8_t join_pk[RELAY_STORE_PK_BYTES], uint64_t *until)
{
    int k = RELAY_STORE_KEY_UNKNOWN;

    *until = 0;
    if (room_len != RELAY_DS_ROOM_BYTES)
        return RELAY_DS_NO_ROOM;
    relay_store_err e = relay_store_key_info(st, room, room_len, join_pk, &k, until);
    if (e) {
        *until = 0;
        return relay_ds_from_store(e);
    }
    if (k == RELAY_STORE_KEY_UNKNOWN) {
        *until = 0;
        return RELAY_DS_UNKNOWN_KEY;
    }
    return k == RELAY_STORE_KEY_EARLIER ? RELAY_DS_EARLIER_KEY : RELAY_DS_OK;
}

relay_ds_res relay_ds_submit(relay_store *st, const uint8_t *room, size_t room_len,
                             const relay_ds_submission *sub, uint64_t time_ms, uint64_t tag,
                             relay_ds_verdict *v)
{
    relay_store_meta meta;
    relay_store_err e;

    memset(v, 0, sizeof *v);
    if (room_len != RELAY_DS_ROOM_BYTES)
        return RELAY_DS_NO_ROOM;
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
    if (sub->join_pk && !sub->gi_box)
        return RELAY_DS_NOT_COMMIT;
    /* the LOG envelope as it will be sent: its body extends the log hash */
    uint8_t flags = (uint8_t)((v->is_commit ? SC2_LOG_F_COMMIT : 0) |
                              (sub->join_pk ? SC2_LOG_F_JOIN_PK : 0));
    size_t n = sc2_env_encode_log(NULL, 0, meta.head_seq + 1, time_ms, flags, sub->join_pk,
                                  sub->msg, sub->msg_len);
    uint8_t *log = n ? malloc(n) : NULL;
    if (!log)
        return RELAY_DS_STORE;
    if (sc2_env_encode_log(log, n, meta.head_seq + 1, time_ms, flags, sub->join_pk, sub->msg,
                           sub->msg_len) != n) {
        free(log);
        return RELAY_DS_STORE;
    }
    e = relay_store_append(st, room, room_len, sub->msg, sub->msg_len, time_ms, v->is_commit,
                           sub->gi_box, sub->gi_len, sub->join_pk, tag, &v->seq);
    if (e == RELAY_STORE_OK && v->seq != meta.head_seq + 1)
        e = RELAY_STORE_ERR_DB; /* cannot happen: the store assigns head + 1 */
    if (e == RELAY_STORE_OK) {
        uint8_t l[SC2_LH_BYTES];
        sc2_lh_step(meta.head_hash, v->seq, log + SC2_ENV_HEADER_BYTES,
                    n - SC2_ENV_HEADER_BYTES, l);
        e = relay_store_stage_hash(st, l);
    }
    free(log);
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
