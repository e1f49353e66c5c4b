/*
 * relay_jslog: a protocol v2 room log in NATS JetStream (docs/CLUSTER.md "Protocol v2:
 * the room log in JetStream"). The building block for v2 with --cluster: every relay of
 * a cluster appends to and reads from the same stream, so they all see one total order
 * and one history, and an entry acknowledged by JetStream survives the relay that
 * appended it.
 *
 *   - one stream per room, "SC2_<hex room id>", subject "sc2.log.<hex room id>": the
 *     stream's sequence number is the room's seq (1, 2, ... without holes; retention
 *     removes the oldest: MaxAge, MaxMsgs, MaxBytes, discard old);
 *   - append with an expected last sequence (header Nats-Expected-Last-Sequence, also
 *     for 0): optimistic concurrency. JetStream stores the entry only if the stream's
 *     last seq is still what the appending relay validated against, so "one commit per
 *     epoch, first wins" holds across relays: the loser gets RELAY_JSLOG_ERR_CONFLICT,
 *     re-reads the entries it missed and decides again;
 *   - room metadata (what relay_ds keeps in the store's room row: join_pk, earlier keys,
 *     the latest gi_box, the epoch) is an opaque value in the KV bucket "SC2_ROOMS",
 *     key = hex room id, written with compare-and-set on its revision; creating it is the
 *     atomic decision of CREATE (first wins).
 *
 * BLOCKING: every call waits for the broker (at most opts.timeout_ms each). Never call
 * it on the lws loop thread (docs/CLUSTER.md Threads: only relay_v2c's worker blocks)
 * applies. One relay_jslog may be used from several threads (libnats is thread-safe).
 */
#ifndef RELAY_JSLOG_H
#define RELAY_JSLOG_H

#include <stddef.h>
#include <stdint.h>

#define RELAY_JSLOG_ROOM_MAX 64     /* room id bytes (hex-encoded in names: 128 chars) */
#define RELAY_JSLOG_META_MAX (1000u * 1024u) /* under the broker's max_payload (1 MiB by default) */
#define RELAY_JSLOG_ENTRY_MAX (1u << 20)

typedef enum relay_jslog_err {
    RELAY_JSLOG_OK = 0,
    RELAY_JSLOG_ERR_ARG,      /* bad argument (length out of range, NULL) */
    RELAY_JSLOG_ERR_CONNECT,  /* no broker (or no JetStream on it) */
    RELAY_JSLOG_ERR_CONFLICT, /* append: the stream's last seq is not the expected one;
                                 meta: the revision is not the expected one */
    RELAY_JSLOG_ERR_EXISTS,   /* create: the room exists */
    RELAY_JSLOG_ERR_NO_ROOM,  /* no such room */
    RELAY_JSLOG_ERR_GONE,     /* read: entries after after_seq were removed by retention */
    RELAY_JSLOG_ERR_AHEAD,    /* read: after_seq is past the head */
    RELAY_JSLOG_ERR_TIMEOUT,  /* the broker did not answer in time: outcome unknown */
    RELAY_JSLOG_ERR_NATS,     /* any other libnats or JetStream error (relay_jslog_errmsg) */
    RELAY_JSLOG_ERR_NO_JS     /* open: the broker answers but has no JetStream (no -js) */
} relay_jslog_err;

/* A short constant name for err ("conflict", ...). */
const char *relay_jslog_err_name(relay_jslog_err err);

typedef struct relay_jslog_opts {
    int64_t timeout_ms;    /* per broker request (default 2,000) */
    uint64_t max_age_ms;   /* room retention by age; 0 = none (default 30 days) */
    uint64_t max_entries;  /* by entry count; 0 = none (default 100,000) */
    uint64_t max_bytes;    /* by stored bytes (JetStream counts headers and subject too);
                              0 = none (default 256 MiB) */
    int replicas;          /* stream and bucket replicas (default 1; 3 in production) */
    int file_storage;      /* 1: file (default), 0: memory (tests of loss only) */
} relay_jslog_opts;

/* Fills o with the defaults above. */
void relay_jslog_opts_default(relay_jslog_opts *o);

typedef struct relay_jslog relay_jslog;

/*
 * Connects to url (nats://HOST:PORT, comma-separated list allowed) within
 * opts.timeout_ms, checks that JetStream answers, and binds or creates the KV bucket.
 * libnats reconnects by itself after a loss; calls meanwhile fail with CONNECT or
 * TIMEOUT within their timeout. opts may be NULL. On success *out owns the handle
 * (relay_jslog_close). On failure *out is NULL and err (errlen > 0) says why.
 * Returns OK, ARG, CONNECT, NO_JS, TIMEOUT, NATS.
 */
relay_jslog_err relay_jslog_open(const char *url, const relay_jslog_opts *opts,
                                 relay_jslog **out, char *err, size_t errlen);

/* Closes the connection and frees j (NULL ok). */
void relay_jslog_close(relay_jslog *j);

/* The message of the last error on this thread's last call (never NULL). */
const char *relay_jslog_errmsg(const relay_jslog *j);

/*
 * Creates room (1..RELAY_JSLOG_ROOM_MAX bytes): its metadata meta (1..META_MAX bytes,
 * revision 1, *rev) first, which decides between concurrent creators, then its stream
 * (idempotent, so a creator that died in between is completed by the next call).
 * Returns OK, EXISTS (the metadata exists; *rev untouched), ARG, CONNECT, TIMEOUT, NATS.
 */
relay_jslog_err relay_jslog_create(relay_jslog *j, const uint8_t *room, size_t room_len,
                                   const uint8_t *meta, size_t meta_len, uint64_t *rev);

/*
 * Copies the room's metadata into a malloc'ed *meta (caller frees), its length into
 * *meta_len, its revision into *rev. Returns OK, NO_ROOM, ARG, CONNECT, TIMEOUT, NATS.
 */
relay_jslog_err relay_jslog_meta_get(relay_jslog *j, const uint8_t *room, size_t room_len,
                                     uint8_t **meta, size_t *meta_len, uint64_t *rev);

/*
 * Replaces the metadata if its revision is still expect_rev; *rev gets the new one.
 * Returns OK, CONFLICT, ARG, CONNECT, TIMEOUT, NATS.
 */
relay_jslog_err relay_jslog_meta_put(relay_jslog *j, const uint8_t *room, size_t room_len,
                                     const uint8_t *meta, size_t meta_len, uint64_t expect_rev,
                                     uint64_t *rev);

/*
 * Appends entry (1..ENTRY_MAX bytes) with flags and time_ms (kept in headers) if the
 * room's last seq is expect_last; *seq gets its seq (expect_last + 1) once JetStream
 * has stored it (the publish ack: with file storage, written; replicated to a quorum
 * with replicas > 1). Returns OK, CONFLICT (someone else appended first: read and
 * decide again), NO_ROOM, ARG, CONNECT, TIMEOUT (unknown: read to find out), NATS.
 */
relay_jslog_err relay_jslog_append(relay_jslog *j, const uint8_t *room, size_t room_len,
                                   const uint8_t *entry, size_t entry_len, unsigned flags,
                                   uint64_t time_ms, uint64_t expect_last, uint64_t *seq);

/*
 * Appends n (1..RELAY_JSLOG_BATCH_MAX) entries pipelined (one broker round trip for all:
 * what one relay accepted in one loop turn) after expect_last: entry 0 expects the
 * stream's last seq to be expect_last, entry i > 0 expects the last stored entry to be
 * entry i - 1 (Nats-Expected-Last-Msg-Id with a random id per entry), so the batch is
 * stored as a prefix: entries 0..k-1 at seqs expect_last + 1.. and none after a refused
 * one, even if another relay appends in between. *stored gets k. Returns OK (k == n),
 * CONFLICT (k < n because entry k's expectation failed), or the first other error at
 * entry k (TIMEOUT: entries from k on are unknown: read to find out), ARG, NO_ROOM,
 * CONNECT, NATS.
 */
#define RELAY_JSLOG_BATCH_MAX 256
typedef struct relay_jslog_item {
    const uint8_t *body;
    size_t len;
    unsigned flags;
    uint64_t time_ms;
} relay_jslog_item;
relay_jslog_err relay_jslog_append_batch(relay_jslog *j, const uint8_t *room, size_t room_len,
                                         const relay_jslog_item *items, size_t n,
                                         uint64_t expect_last, size_t *stored);

/* The room's stream state: the oldest retained seq (head + 1 if none), the head, the
 * entries and their stored bytes. Returns OK, NO_ROOM, ARG, CONNECT, TIMEOUT, NATS. */
typedef struct relay_jslog_state {
    uint64_t first_seq, last_seq, entries, bytes;
} relay_jslog_state;
relay_jslog_err relay_jslog_state_get(relay_jslog *j, const uint8_t *room, size_t room_len,
                                      relay_jslog_state *st);

/* One entry handed to a read callback; body valid during the call only. */
typedef struct relay_jslog_entry {
    uint64_t seq, time_ms;
    unsigned flags;
    const uint8_t *body;
    size_t len;
} relay_jslog_entry;

/* Returns 0 to go on, nonzero to stop after this entry. */
typedef int (*relay_jslog_entry_fn)(void *ctx, const relay_jslog_entry *e);

/*
 * Reads up to max_entries (>= 1) entries after after_seq, in order, and sets *last to
 * the seq of the last one given (after_seq if none). Returns OK, GONE (after_seq + 1 is
 * older than the oldest retained entry), AHEAD, NO_ROOM, ARG, CONNECT, TIMEOUT, NATS.
 */
relay_jslog_err relay_jslog_read(relay_jslog *j, const uint8_t *room, size_t room_len,
                                 uint64_t after_seq, uint32_t max_entries,
                                 relay_jslog_entry_fn fn, void *ctx, uint64_t *last);

/*
 * LIVE: calls fn for every entry of the room after after_seq, in stream order, as
 * JetStream stores them (an ordered consumer: it re-creates itself from the last seq
 * seen after a loss, so no entry is skipped or repeated). fn runs on libnats' delivery
 * thread, never the caller's: it must only hand the entry over (copy it: body is valid
 * during the call only). *out owns the watch (relay_jslog_unwatch, before closing j).
 * Returns OK, NO_ROOM, ARG, CONNECT, TIMEOUT, NATS.
 */
typedef struct relay_jslog_watch relay_jslog_watch;
relay_jslog_err relay_jslog_watch_start(relay_jslog *j, const uint8_t *room, size_t room_len,
                                        uint64_t after_seq, relay_jslog_entry_fn fn, void *ctx,
                                        relay_jslog_watch **out);

/* Stops the watch and frees it; fn is not called after it returns. NULL ok. */
void relay_jslog_unwatch(relay_jslog_watch *w);

/* Deletes the room's stream and metadata (tests, and rooms aged out). Returns OK,
 * NO_ROOM, ARG, CONNECT, TIMEOUT, NATS. */
relay_jslog_err relay_jslog_destroy(relay_jslog *j, const uint8_t *room, size_t room_len);

#endif
