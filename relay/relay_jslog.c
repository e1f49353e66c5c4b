/* relay_jslog: a protocol v2 room log in NATS JetStream (relay_jslog.h). */
#include "relay_jslog.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <nats/nats.h>

#define BUCKET "SC2_ROOMS"
#define NAME_MAX_LEN (4 + 2 * RELAY_JSLOG_ROOM_MAX + 1)
#define SUBJ_MAX_LEN (8 + 2 * RELAY_JSLOG_ROOM_MAX + 1)

struct relay_jslog {
    natsConnection *nc;
    jsCtx *js;
    kvStore *kv;
    relay_jslog_opts o;
};

/* The last error's text, per thread (several threads may share one handle). */
static _Thread_local char t_err[256];

const char *relay_jslog_err_name(relay_jslog_err err)
{
    switch (err) {
    case RELAY_JSLOG_OK: return "ok";
    case RELAY_JSLOG_ERR_ARG: return "arg";
    case RELAY_JSLOG_ERR_CONNECT: return "connect";
    case RELAY_JSLOG_ERR_CONFLICT: return "conflict";
    case RELAY_JSLOG_ERR_EXISTS: return "exists";
    case RELAY_JSLOG_ERR_NO_ROOM: return "no-room";
    case RELAY_JSLOG_ERR_GONE: return "gone";
    case RELAY_JSLOG_ERR_AHEAD: return "ahead";
    case RELAY_JSLOG_ERR_TIMEOUT: return "timeout";
    case RELAY_JSLOG_ERR_NATS: return "nats";
    case RELAY_JSLOG_ERR_NO_JS: return "no-jetstream";
    }
    return "?";
}

const char *relay_jslog_errmsg(const relay_jslog *j)
{
    (void)j;
    return t_err;
}

static void seterr(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void seterr(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t_err, sizeof t_err, fmt, ap);
    va_end(ap);
}

/* Maps a libnats status (and JetStream error code) to ours, recording the text. */
static relay_jslog_err from_nats(const char *what, natsStatus s, jsErrCode jerr)
{
    seterr("%s: %s (jetstream error %d)", what, natsStatus_GetText(s), (int)jerr);
    if (jerr == JSStreamWrongLastSequenceErr) return RELAY_JSLOG_ERR_CONFLICT;
    if (jerr == JSStreamNotFoundErr) return RELAY_JSLOG_ERR_NO_ROOM;
    if (s == NATS_TIMEOUT) return RELAY_JSLOG_ERR_TIMEOUT;
    if (s == NATS_NO_SERVER || s == NATS_CONNECTION_CLOSED || s == NATS_CONNECTION_DISCONNECTED ||
        s == NATS_NO_RESPONDERS || s == NATS_STALE_CONNECTION)
        return RELAY_JSLOG_ERR_CONNECT;
    return RELAY_JSLOG_ERR_NATS;
}

void relay_jslog_opts_default(relay_jslog_opts *o)
{
    memset(o, 0, sizeof *o);
    o->timeout_ms = 2000;
    o->max_age_ms = 30ull * 24 * 3600 * 1000;
    o->max_entries = 100000;
    o->max_bytes = 256ull << 20;
    o->replicas = 1;
    o->file_storage = 1;
}

static int hexname(char *out, size_t cap, const char *prefix, const uint8_t *room,
                   size_t room_len)
{
    static const char hx[] = "0123456789abcdef";
    size_t p = strlen(prefix);
    if (!room || room_len == 0 || room_len > RELAY_JSLOG_ROOM_MAX || p + 2 * room_len + 1 > cap)
        return -1;
    memcpy(out, prefix, p);
    for (size_t i = 0; i < room_len; i++) {
        out[p + 2 * i] = hx[room[i] >> 4];
        out[p + 2 * i + 1] = hx[room[i] & 15];
    }
    out[p + 2 * room_len] = 0;
    return 0;
}

static void names(const uint8_t *room, size_t room_len, char stream[NAME_MAX_LEN],
                  char subj[SUBJ_MAX_LEN], char key[2 * RELAY_JSLOG_ROOM_MAX + 1])
{
    hexname(stream, NAME_MAX_LEN, "SC2_", room, room_len);
    hexname(subj, SUBJ_MAX_LEN, "sc2.log.", room, room_len);
    hexname(key, 2 * RELAY_JSLOG_ROOM_MAX + 1, "", room, room_len);
}

static int room_ok(const uint8_t *room, size_t room_len)
{
    if (!room || room_len == 0 || room_len > RELAY_JSLOG_ROOM_MAX) {
        seterr("room id of %zu bytes (1..%d)", room_len, RELAY_JSLOG_ROOM_MAX);
        return 0;
    }
    return 1;
}

static void jsopts(const relay_jslog *j, jsOptions *jo)
{
    jsOptions_Init(jo);
    jo->Wait = j->o.timeout_ms;
}

relay_jslog_err relay_jslog_open(const char *url, const relay_jslog_opts *opts,
                                 relay_jslog **out, char *err, size_t errlen)
{
    relay_jslog_err r = RELAY_JSLOG_ERR_NATS;
    natsOptions *no = NULL;
    natsStatus s;
    jsErrCode jerr = 0;
    *out = NULL;
    relay_jslog *j = calloc(1, sizeof *j);
    if (!j || !url || !*url) {
        seterr("%s", j ? "no broker URL" : "out of memory");
        r = RELAY_JSLOG_ERR_ARG;
        goto fail;
    }
    if (opts) j->o = *opts;
    else relay_jslog_opts_default(&j->o);
    if (j->o.timeout_ms <= 0 || j->o.replicas < 1 || j->o.replicas > 5) {
        seterr("timeout_ms must be > 0 and replicas 1..5");
        r = RELAY_JSLOG_ERR_ARG;
        goto fail;
    }
    if ((s = natsOptions_Create(&no)) != NATS_OK || (s = natsOptions_SetURL(no, url)) != NATS_OK ||
        (s = natsOptions_SetTimeout(no, j->o.timeout_ms)) != NATS_OK ||
        (s = natsOptions_SetMaxReconnect(no, -1)) != NATS_OK ||
        (s = natsOptions_SetReconnectWait(no, 250)) != NATS_OK) {
        r = from_nats("options", s, 0);
        goto fail;
    }
    if ((s = natsConnection_Connect(&j->nc, no)) != NATS_OK) {
        r = from_nats("connect", s, 0);
        if (r == RELAY_JSLOG_ERR_NATS) r = RELAY_JSLOG_ERR_CONNECT;
        goto fail;
    }
    jsOptions jo;
    jsopts(j, &jo);
    if ((s = natsConnection_JetStream(&j->js, j->nc, &jo)) != NATS_OK) {
        r = from_nats("jetstream context", s, 0);
        goto fail;
    }
    jsAccountInfo *ai = NULL;
    if ((s = js_GetAccountInfo(&ai, j->js, &jo, &jerr)) != NATS_OK) {
        r = from_nats("jetstream account info (is the broker started with -js?)", s, jerr);
        if (s == NATS_NO_RESPONDERS || jerr == JSNotEnabledErr || jerr == JSNotEnabledForAccountErr)
            r = RELAY_JSLOG_ERR_NO_JS;
        else if (r == RELAY_JSLOG_ERR_NATS) r = RELAY_JSLOG_ERR_CONNECT;
        goto fail;
    }
    jsAccountInfo_Destroy(ai);
    if ((s = js_KeyValue(&j->kv, j->js, BUCKET)) != NATS_OK) {
        kvConfig kc;
        kvConfig_Init(&kc);
        kc.Bucket = BUCKET;
        kc.History = 1;
        kc.MaxValueSize = (int32_t)RELAY_JSLOG_META_MAX;
        kc.StorageType = j->o.file_storage ? js_FileStorage : js_MemoryStorage;
        kc.Replicas = j->o.replicas;
        s = js_CreateKeyValue(&j->kv, j->js, &kc);
        if (s != NATS_OK) /* another relay created it meanwhile */
            s = js_KeyValue(&j->kv, j->js, BUCKET);
        if (s != NATS_OK) {
            r = from_nats("room metadata bucket " BUCKET, s, 0);
            goto fail;
        }
    }
    natsOptions_Destroy(no);
    *out = j;
    return RELAY_JSLOG_OK;
fail:
    if (err && errlen) snprintf(err, errlen, "%s: %s", url ? url : "(null)", t_err);
    natsOptions_Destroy(no);
    relay_jslog_close(j);
    return r;
}

void relay_jslog_close(relay_jslog *j)
{
    if (!j) return;
    kvStore_Destroy(j->kv);
    jsCtx_Destroy(j->js);
    if (j->nc) natsConnection_Close(j->nc);
    natsConnection_Destroy(j->nc);
    free(j);
}

static relay_jslog_err ensure_stream(relay_jslog *j, const char *stream, const char *subj)
{
    jsStreamConfig c;
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    jsOptions jo;
    jsopts(j, &jo);
    jsStreamConfig_Init(&c);
    const char *subjects[1] = {subj};
    c.Name = stream;
    c.Subjects = subjects;
    c.SubjectsLen = 1;
    c.Retention = js_LimitsPolicy;
    c.Discard = js_DiscardOld;
    c.Storage = j->o.file_storage ? js_FileStorage : js_MemoryStorage;
    c.Replicas = j->o.replicas;
    c.MaxAge = (int64_t)(j->o.max_age_ms * 1000000ull);
    c.MaxMsgs = j->o.max_entries ? (int64_t)j->o.max_entries : -1;
    c.MaxBytes = j->o.max_bytes ? (int64_t)j->o.max_bytes : -1;
    c.MaxMsgSize = (int32_t)(RELAY_JSLOG_ENTRY_MAX + 4096);
    c.Duplicates = 0;
    c.DenyDelete = true;
    natsStatus s = js_AddStream(&si, j->js, &c, &jo, &jerr);
    jsStreamInfo_Destroy(si);
    if (s != NATS_OK) return from_nats("add stream", s, jerr);
    return RELAY_JSLOG_OK;
}

relay_jslog_err relay_jslog_create(relay_jslog *j, const uint8_t *room, size_t room_len,
                                   const uint8_t *meta, size_t meta_len, uint64_t *rev)
{
    char stream[NAME_MAX_LEN], subj[SUBJ_MAX_LEN], key[2 * RELAY_JSLOG_ROOM_MAX + 1];
    if (!j || !room_ok(room, room_len) || !meta || meta_len == 0 ||
        meta_len > RELAY_JSLOG_META_MAX) {
        if (j && meta_len > RELAY_JSLOG_META_MAX) seterr("metadata of %zu bytes", meta_len);
        return RELAY_JSLOG_ERR_ARG;
    }
    names(room, room_len, stream, subj, key);
    uint64_t r = 0;
    natsStatus s = kvStore_Create(&r, j->kv, key, meta, (int)meta_len);
    if (s != NATS_OK) {
        relay_jslog_err e = from_nats("create room metadata", s, 0);
        kvEntry *ke = NULL;
        if (kvStore_Get(&ke, j->kv, key) == NATS_OK) {
            kvEntry_Destroy(ke);
            seterr("room exists");
            return RELAY_JSLOG_ERR_EXISTS;
        }
        return e;
    }
    relay_jslog_err e = ensure_stream(j, stream, subj);
    if (e == RELAY_JSLOG_OK && rev) *rev = r;
    return e;
}

relay_jslog_err relay_jslog_meta_get(relay_jslog *j, const uint8_t *room, size_t room_len,
                                     uint8_t **meta, size_t *meta_len, uint64_t *rev)
{
    char stream[NAME_MAX_LEN], subj[SUBJ_MAX_LEN], key[2 * RELAY_JSLOG_ROOM_MAX + 1];
    if (!j || !room_ok(room, room_len) || !meta || !meta_len) return RELAY_JSLOG_ERR_ARG;
    names(room, room_len, stream, subj, key);
    kvEntry *ke = NULL;
    natsStatus s = kvStore_Get(&ke, j->kv, key);
    if (s == NATS_NOT_FOUND) {
        seterr("no such room");
        return RELAY_JSLOG_ERR_NO_ROOM;
    }
    if (s != NATS_OK) return from_nats("get room metadata", s, 0);
    int n = kvEntry_ValueLen(ke);
    uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
    if (!buf) {
        kvEntry_Destroy(ke);
        seterr("out of memory");
        return RELAY_JSLOG_ERR_NATS;
    }
    if (n > 0) memcpy(buf, kvEntry_Value(ke), (size_t)n);
    *meta = buf;
    *meta_len = (size_t)(n > 0 ? n : 0);
    if (rev) *rev = kvEntry_Revision(ke);
    kvEntry_Destroy(ke);
    return RELAY_JSLOG_OK;
}

relay_jslog_err relay_jslog_meta_put(relay_jslog *j, const uint8_t *room, size_t room_len,
                                     const uint8_t *meta, size_t meta_len, uint64_t expect_rev,
                                     uint64_t *rev)
{
    char stream[NAME_MAX_LEN], subj[SUBJ_MAX_LEN], key[2 * RELAY_JSLOG_ROOM_MAX + 1];
    if (!j || !room_ok(room, room_len) || !meta || meta_len == 0 ||
        meta_len > RELAY_JSLOG_META_MAX || expect_rev == 0)
        return RELAY_JSLOG_ERR_ARG;
    names(room, room_len, stream, subj, key);
    uint64_t r = 0;
    natsStatus s = kvStore_Update(&r, j->kv, key, meta, (int)meta_len, expect_rev);
    if (s != NATS_OK) {
        relay_jslog_err e = from_nats("update room metadata", s, 0);
        kvEntry *ke = NULL;
        if (kvStore_Get(&ke, j->kv, key) == NATS_OK) {
            uint64_t now = kvEntry_Revision(ke);
            kvEntry_Destroy(ke);
            if (now != expect_rev) {
                seterr("metadata revision is %" PRIu64 ", not %" PRIu64, now, expect_rev);
                return RELAY_JSLOG_ERR_CONFLICT;
            }
        }
        return e;
    }
    if (rev) *rev = r;
    return RELAY_JSLOG_OK;
}

relay_jslog_err relay_jslog_append(relay_jslog *j, const uint8_t *room, size_t room_len,
                                   const uint8_t *entry, size_t entry_len, unsigned flags,
                                   uint64_t time_ms, uint64_t expect_last, uint64_t *seq)
{
    char stream[NAME_MAX_LEN], subj[SUBJ_MAX_LEN], key[2 * RELAY_JSLOG_ROOM_MAX + 1];
    char num[24], fl[12];
    natsMsg *m = NULL;
    jsPubAck *pa = NULL;
    jsErrCode jerr = 0;
    relay_jslog_err r;
    natsStatus s;
    if (!j || !room_ok(room, room_len) || !entry || entry_len == 0 ||
        entry_len > RELAY_JSLOG_ENTRY_MAX || !seq)
        return RELAY_JSLOG_ERR_ARG;
    names(room, room_len, stream, subj, key);
    if ((s = natsMsg_Create(&m, subj, NULL, (const char *)entry, (int)entry_len)) != NATS_OK) {
        r = from_nats("message", s, 0);
        goto fail;
    }
    /* Set by hand: libnats' ExpectLastSeq option treats 0 as unset, and the room's first
     * entry must expect 0 like any other. The stream is named too, so that an entry can
     * never land in another stream bound to the subject. */
    snprintf(num, sizeof num, "%" PRIu64, expect_last);
    snprintf(fl, sizeof fl, "%u", flags);
    if ((s = natsMsgHeader_Set(m, "Nats-Expected-Last-Sequence", num)) != NATS_OK ||
        (s = natsMsgHeader_Set(m, "Nats-Expected-Stream", stream)) != NATS_OK ||
        (s = natsMsgHeader_Set(m, "Sc-Flags", fl)) != NATS_OK) {
        r = from_nats("headers", s, 0);
        goto fail;
    }
    snprintf(num, sizeof num, "%" PRIu64, time_ms);
    if ((s = natsMsgHeader_Set(m, "Sc-Time", num)) != NATS_OK) {
        r = from_nats("headers", s, 0);
        goto fail;
    }
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = j->o.timeout_ms;
    s = js_PublishMsg(&pa, j->js, m, &po, &jerr);
    if (s != NATS_OK) {
        r = from_nats("append", s, jerr);
        /* A publish nobody stored answers "no responders": the stream is gone or was
         * never made (the room does not exist), if the broker itself is there. */
        if (s == NATS_NO_RESPONDERS && natsConnection_Status(j->nc) == NATS_CONN_STATUS_CONNECTED)
            r = RELAY_JSLOG_ERR_NO_ROOM;
        goto fail;
    }
    if (pa->Sequence != expect_last + 1) { /* cannot happen with the header honoured */
        seterr("stored at seq %" PRIu64 ", expected %" PRIu64, pa->Sequence, expect_last + 1);
        r = RELAY_JSLOG_ERR_NATS;
        goto fail;
    }
    *seq = pa->Sequence;
    jsPubAck_Destroy(pa);
    natsMsg_Destroy(m);
    return RELAY_JSLOG_OK;
fail:
    jsPubAck_Destroy(pa);
    natsMsg_Destroy(m);
    return r;
}

/* Parses a JetStream publish ack ({"stream":..,"seq":N} or {"error":{..,"err_code":E}}). */
static relay_jslog_err parse_ack(const char *d, int len, uint64_t *seq)
{
    char buf[512];
    int n = len < (int)sizeof buf - 1 ? len : (int)sizeof buf - 1;
    memcpy(buf, d, (size_t)(n > 0 ? n : 0));
    buf[n > 0 ? n : 0] = 0;
    const char *e = strstr(buf, "\"err_code\":");
    if (e) {
        long code = strtol(e + 11, NULL, 10);
        seterr("append: %s", buf);
        if (code == JSStreamWrongLastSequenceErr || code == 10070 /* wrong last msg id */)
            return RELAY_JSLOG_ERR_CONFLICT;
        return RELAY_JSLOG_ERR_NATS;
    }
    const char *q = strstr(buf, "\"seq\":");
    if (!q) {
        seterr("append: unexpected ack %s", buf);
        return RELAY_JSLOG_ERR_NATS;
    }
    *seq = strtoull(q + 6, NULL, 10);
    return RELAY_JSLOG_OK;
}

relay_jslog_err relay_jslog_append_batch(relay_jslog *j, const uint8_t *room, size_t room_len,
                                         const relay_jslog_item *items, size_t n,
                                         uint64_t expect_last, size_t *stored)
{
    char stream[NAME_MAX_LEN], subj[SUBJ_MAX_LEN], key[2 * RELAY_JSLOG_ROOM_MAX + 1];
    char num[24], id[2][40], reply[128];
    natsInbox *inbox = NULL;
    natsSubscription *sub = NULL;
    relay_jslog_err r = RELAY_JSLOG_OK;
    natsStatus s;
    size_t sent = 0;
    if (stored) *stored = 0;
    if (!j || !room_ok(room, room_len) || !items || n == 0 || n > RELAY_JSLOG_BATCH_MAX ||
        !stored)
        return RELAY_JSLOG_ERR_ARG;
    for (size_t i = 0; i < n; i++)
        if (!items[i].body || items[i].len == 0 || items[i].len > RELAY_JSLOG_ENTRY_MAX)
            return RELAY_JSLOG_ERR_ARG;
    names(room, room_len, stream, subj, key);
    if ((s = natsInbox_Create(&inbox)) != NATS_OK) return from_nats("inbox", s, 0);
    snprintf(reply, sizeof reply, "%s.*", (const char *)inbox);
    if ((s = natsConnection_SubscribeSync(&sub, j->nc, reply)) != NATS_OK) {
        r = from_nats("subscribe for acks", s, 0);
        goto fail;
    }
    /* Msg ids must be unique in the stream's duplicate window (2 min): a repeated one
     * would be taken as a retransmission (the ack then names the earlier seq, which the
     * check below reports as an error, not as stored). */
    uint32_t nonce[2];
    if (getrandom(nonce, sizeof nonce, 0) != (ssize_t)sizeof nonce) {
        seterr("getrandom failed");
        r = RELAY_JSLOG_ERR_NATS;
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        natsMsg *m = NULL;
        snprintf(reply, sizeof reply, "%s.%zu", (const char *)inbox, i);
        snprintf(id[i & 1], sizeof id[0], "%08x%08x-%zu", nonce[0], nonce[1], i);
        s = natsMsg_Create(&m, subj, reply, (const char *)items[i].body, (int)items[i].len);
        if (s == NATS_OK) s = natsMsgHeader_Set(m, "Nats-Expected-Stream", stream);
        if (s == NATS_OK) s = natsMsgHeader_Set(m, "Nats-Msg-Id", id[i & 1]);
        snprintf(num, sizeof num, "%" PRIu64, expect_last + i);
        if (s == NATS_OK) s = natsMsgHeader_Set(m, "Nats-Expected-Last-Sequence", num);
        if (s == NATS_OK && i > 0)
            s = natsMsgHeader_Set(m, "Nats-Expected-Last-Msg-Id", id[(i - 1) & 1]);
        snprintf(num, sizeof num, "%u", items[i].flags);
        if (s == NATS_OK) s = natsMsgHeader_Set(m, "Sc-Flags", num);
        snprintf(num, sizeof num, "%" PRIu64, items[i].time_ms);
        if (s == NATS_OK) s = natsMsgHeader_Set(m, "Sc-Time", num);
        if (s == NATS_OK) s = natsConnection_PublishMsg(j->nc, m);
        natsMsg_Destroy(m);
        if (s != NATS_OK) {
            r = from_nats("append", s, 0);
            break;
        }
        sent++;
    }
    if (sent > 0 && (s = natsConnection_Flush(j->nc)) != NATS_OK && r == RELAY_JSLOG_OK)
        r = from_nats("flush", s, 0);
    /* Acks may come in any order over the inbox; each names its entry by subject. */
    uint64_t seqs[RELAY_JSLOG_BATCH_MAX] = {0};
    relay_jslog_err res[RELAY_JSLOG_BATCH_MAX];
    for (size_t i = 0; i < n; i++) res[i] = RELAY_JSLOG_ERR_TIMEOUT;
    int64_t deadline = nats_Now() + j->o.timeout_ms;
    size_t got = 0;
    while (got < sent) {
        int64_t left = deadline - nats_Now();
        natsMsg *m = NULL;
        if (left <= 0 || (s = natsSubscription_NextMsg(&m, sub, left)) != NATS_OK) {
            seterr("append: %zu of %zu acks in %" PRId64 " ms", got, sent, j->o.timeout_ms);
            break;
        }
        const char *sj = natsMsg_GetSubject(m), *dot = strrchr(sj, '.');
        size_t i = dot ? (size_t)strtoul(dot + 1, NULL, 10) : n;
        if (i < n && res[i] == RELAY_JSLOG_ERR_TIMEOUT) {
            if (natsMsg_GetDataLength(m) == 0) { /* "no responders" status: no stream */
                seterr("no such room");
                res[i] = RELAY_JSLOG_ERR_NO_ROOM;
            } else {
                res[i] = parse_ack(natsMsg_GetData(m), natsMsg_GetDataLength(m), &seqs[i]);
            }
            got++;
        }
        natsMsg_Destroy(m);
    }
    size_t k = 0;
    while (k < sent && res[k] == RELAY_JSLOG_OK && seqs[k] == expect_last + k + 1) k++;
    *stored = k;
    if (k < n && r == RELAY_JSLOG_OK) {
        r = k < sent ? res[k] : RELAY_JSLOG_ERR_NATS;
        if (r == RELAY_JSLOG_OK) { /* stored at another seq: cannot happen with the headers */
            seterr("entry %zu stored at seq %" PRIu64, k, seqs[k]);
            r = RELAY_JSLOG_ERR_NATS;
        }
    }
fail:
    natsSubscription_Destroy(sub);
    natsInbox_Destroy(inbox);
    return r;
}

relay_jslog_err relay_jslog_state_get(relay_jslog *j, const uint8_t *room, size_t room_len,
                                      relay_jslog_state *st)
{
    char stream[NAME_MAX_LEN], subj[SUBJ_MAX_LEN], key[2 * RELAY_JSLOG_ROOM_MAX + 1];
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    jsOptions jo;
    if (!j || !room_ok(room, room_len) || !st) return RELAY_JSLOG_ERR_ARG;
    names(room, room_len, stream, subj, key);
    jsopts(j, &jo);
    natsStatus s = js_GetStreamInfo(&si, j->js, stream, &jo, &jerr);
    if (s == NATS_NOT_FOUND || jerr == JSStreamNotFoundErr) {
        jsStreamInfo_Destroy(si);
        seterr("no such room");
        return RELAY_JSLOG_ERR_NO_ROOM;
    }
    if (s != NATS_OK) return from_nats("stream info", s, jerr);
    st->last_seq = si->State.LastSeq;
    st->entries = si->State.Msgs;
    st->bytes = si->State.Bytes;
    st->first_seq = si->State.Msgs ? si->State.FirstSeq : si->State.LastSeq + 1;
    jsStreamInfo_Destroy(si);
    return RELAY_JSLOG_OK;
}

static uint64_t header_u64(natsMsg *m, const char *k)
{
    const char *v = NULL;
    if (natsMsgHeader_Get(m, k, &v) != NATS_OK || !v) return 0;
    return strtoull(v, NULL, 10);
}

relay_jslog_err relay_jslog_read(relay_jslog *j, const uint8_t *room, size_t room_len,
                                 uint64_t after_seq, uint32_t max_entries,
                                 relay_jslog_entry_fn fn, void *ctx, uint64_t *last)
{
    char stream[NAME_MAX_LEN], subj[SUBJ_MAX_LEN], key[2 * RELAY_JSLOG_ROOM_MAX + 1];
    relay_jslog_state st;
    jsOptions jo;
    if (!j || !room_ok(room, room_len) || !fn || !last || max_entries == 0)
        return RELAY_JSLOG_ERR_ARG;
    *last = after_seq;
    relay_jslog_err r = relay_jslog_state_get(j, room, room_len, &st);
    if (r != RELAY_JSLOG_OK) return r;
    if (after_seq > st.last_seq) {
        seterr("after %" PRIu64 ": head is %" PRIu64, after_seq, st.last_seq);
        return RELAY_JSLOG_ERR_AHEAD;
    }
    if (after_seq + 1 < st.first_seq) {
        seterr("after %" PRIu64 ": oldest retained is %" PRIu64, after_seq, st.first_seq);
        return RELAY_JSLOG_ERR_GONE;
    }
    names(room, room_len, stream, subj, key);
    jsopts(j, &jo);
    for (uint64_t q = after_seq + 1; q <= st.last_seq && q - after_seq <= max_entries; q++) {
        natsMsg *m = NULL;
        jsErrCode jerr = 0;
        natsStatus s = js_GetMsg(&m, j->js, stream, q, &jo, &jerr);
        if (s != NATS_OK) {
            /* Retention may remove it between the state and this read. */
            if (jerr == JSNoMessageFoundErr || s == NATS_NOT_FOUND) {
                seterr("seq %" PRIu64 " removed by retention during the read", q);
                return RELAY_JSLOG_ERR_GONE;
            }
            return from_nats("get entry", s, jerr);
        }
        relay_jslog_entry e = {
            .seq = q,
            .time_ms = header_u64(m, "Sc-Time"),
            .flags = (unsigned)header_u64(m, "Sc-Flags"),
            .body = (const uint8_t *)natsMsg_GetData(m),
            .len = (size_t)natsMsg_GetDataLength(m),
        };
        int stop = fn(ctx, &e);
        natsMsg_Destroy(m);
        *last = q;
        if (stop) break;
    }
    return RELAY_JSLOG_OK;
}

struct relay_jslog_watch {
    natsSubscription *sub;
    relay_jslog_entry_fn fn;
    void *ctx;
};

static void on_live(natsConnection *nc, natsSubscription *sub, natsMsg *m, void *closure)
{
    (void)nc;
    (void)sub;
    relay_jslog_watch *w = closure;
    jsMsgMetaData *md = NULL;
    if (natsMsg_GetMetaData(&md, m) == NATS_OK) {
        relay_jslog_entry e = {
            .seq = md->Sequence.Stream,
            .time_ms = header_u64(m, "Sc-Time"),
            .flags = (unsigned)header_u64(m, "Sc-Flags"),
            .body = (const uint8_t *)natsMsg_GetData(m),
            .len = (size_t)natsMsg_GetDataLength(m),
        };
        w->fn(w->ctx, &e);
        jsMsgMetaData_Destroy(md);
    }
    natsMsg_Destroy(m);
}

relay_jslog_err relay_jslog_watch_start(relay_jslog *j, const uint8_t *room, size_t room_len,
                                        uint64_t after_seq, relay_jslog_entry_fn fn, void *ctx,
                                        relay_jslog_watch **out)
{
    char stream[NAME_MAX_LEN], subj[SUBJ_MAX_LEN], key[2 * RELAY_JSLOG_ROOM_MAX + 1];
    jsOptions jo;
    jsSubOptions so;
    jsErrCode jerr = 0;
    if (out) *out = NULL;
    if (!j || !room_ok(room, room_len) || !fn || !out) return RELAY_JSLOG_ERR_ARG;
    names(room, room_len, stream, subj, key);
    relay_jslog_watch *w = calloc(1, sizeof *w);
    if (!w) {
        seterr("out of memory");
        return RELAY_JSLOG_ERR_NATS;
    }
    w->fn = fn;
    w->ctx = ctx;
    jsopts(j, &jo);
    jsSubOptions_Init(&so);
    so.Stream = stream;
    so.Ordered = true;
    so.Config.DeliverPolicy = js_DeliverByStartSequence;
    so.Config.OptStartSeq = after_seq + 1;
    natsStatus s = js_Subscribe(&w->sub, j->js, subj, on_live, w, &jo, &so, &jerr);
    if (s != NATS_OK) {
        free(w);
        return from_nats("watch", s, jerr);
    }
    *out = w;
    return RELAY_JSLOG_OK;
}

void relay_jslog_unwatch(relay_jslog_watch *w)
{
    if (!w) return;
    /* Drain, so that the delivery thread is done with this subscription's callbacks
     * when we return (bounded: 5 s); without a connection, unsubscribe. */
    if (natsSubscription_Drain(w->sub) != NATS_OK ||
        natsSubscription_WaitForDrainCompletion(w->sub, 5000) != NATS_OK)
        natsSubscription_Unsubscribe(w->sub);
    natsSubscription_Destroy(w->sub);
    free(w);
}

relay_jslog_err relay_jslog_destroy(relay_jslog *j, const uint8_t *room, size_t room_len)
{
    char stream[NAME_MAX_LEN], subj[SUBJ_MAX_LEN], key[2 * RELAY_JSLOG_ROOM_MAX + 1];
    jsErrCode jerr = 0;
    jsOptions jo;
    if (!j || !room_ok(room, room_len)) return RELAY_JSLOG_ERR_ARG;
    names(room, room_len, stream, subj, key);
    jsopts(j, &jo);
    natsStatus s = js_DeleteStream(j->js, stream, &jo, &jerr);
    if (s != NATS_OK && jerr != JSStreamNotFoundErr && s != NATS_NOT_FOUND)
        return from_nats("delete stream", s, jerr);
    relay_jslog_err r = (s == NATS_OK) ? RELAY_JSLOG_OK : RELAY_JSLOG_ERR_NO_ROOM;
    s = kvStore_Purge(j->kv, key, NULL);
    if (s != NATS_OK) return from_nats("purge room metadata", s, 0);
    return r;
}
