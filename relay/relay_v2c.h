/*
 * relay_v2c: protocol v2 under --cluster (docs/CLUSTER.md "Protocol v2 in a cluster").
 * Each room's log is a JetStream stream (relay_jslog): every relay of the cluster appends
 * to it and reads from it, so all serve one total order and one history. A relay's local
 * store (relay_store) is a *replica* of the room logs it has connections for, fed by one
 * JetStream watch per room; relay_ws2 validates SUBMITs (relay_ds) against the replica and
 * hands the accepted ones, per room and loop turn, to relay_v2c_append, which appends them
 * with an expected last sequence on a worker thread. ACCEPTED waits for JetStream's ack.
 *
 * Threads: every blocking broker call runs on this module's worker thread; watch callbacks
 * run on libnats' threads. Both only queue events (under one mutex) and wake the lws loop
 * with lws_cancel_service; relay_v2c_drain, on the loop thread, hands the events to
 * relay_ws2 (relay_ws2_c_* in relay_ws2.h). No lws call is made from another thread.
 *
 * A log entry in JetStream (relay_v2c_entry_encode): u8 version (1) || L_seq (32, the log
 * hash after the entry, checked by every replica on arrival) || [join_pk (32) if the
 * flags say so] || u32 gi_len || gi_box || mls_message; seq is the stream sequence,
 * time_ms and flags are in headers. A room's record (KV): its creation, written first by
 * CREATE (first writer wins: u8 1 || join_pk (32) || u64 created_ms || gi_box), then
 * rewritten with a snapshot of the room after each stored commit (version 2, below), from
 * which a replica starts when retention cut the log before it read it.
 */
#ifndef RELAY_V2C_H
#define RELAY_V2C_H

#include <stddef.h>
#include <stdint.h>

#include "relay_jslog.h"

#define RELAY_V2C_ROOM_BYTES 16
#define RELAY_V2C_HASH_BYTES 32
#define RELAY_V2C_PK_BYTES 32
/* Bytes of an entry around the MLS message and gi_box (version, hash, key, gi length). */
#define RELAY_V2C_ENTRY_OVERHEAD (1u + 32u + 32u + 4u)
/* mls_message + gi_box of one SUBMIT must fit one JetStream message (the broker's
 * default max_payload is 1 MiB; headers take some). */
#define RELAY_V2C_SUBMIT_MAX (RELAY_JSLOG_ENTRY_MAX - RELAY_V2C_ENTRY_OVERHEAD)
#define RELAY_V2C_META_OVERHEAD (1u + 32u + 8u)

struct relay;
struct lws_context;
typedef struct relay_v2c relay_v2c;

/* Broker state as the loop sees it. */
enum relay_v2c_state { RELAY_V2C_CONNECTING = 0, RELAY_V2C_UP, RELAY_V2C_NO_JS };

/*
 * Starts the worker thread, which connects to url (comma-separated list) and keeps
 * retrying. opts: retention and replicas of the room streams (NULL: defaults). Events go
 * to r's relay_ws2 through relay_v2c_drain. Returns NULL (with err) if out of memory or
 * the thread cannot start.
 */
relay_v2c *relay_v2c_start(struct relay *r, struct lws_context *ctx, const char *url,
                           const relay_jslog_opts *opts, char *err, size_t errlen);

/* Stops waking the lws context (call before destroying it). Any thread. NULL ok. */
void relay_v2c_detach(relay_v2c *c);

/* Finishes the queued jobs (each bounded by the broker timeout), stops every watch, joins
 * the worker and frees c. NULL ok. */
void relay_v2c_free(relay_v2c *c);

/* The broker's state (loop thread). */
enum relay_v2c_state relay_v2c_state_get(relay_v2c *c);

/* Loop thread: hands every queued event to relay_ws2 (relay_ws2_c_*), then calls
 * relay_ws2_c_drained once if there were any. */
void relay_v2c_drain(relay_v2c *c);

/*
 * Jobs for the worker (loop thread; results come back through relay_v2c_drain). Each
 * returns 0, or -1 if out of memory (no result will come).
 *   open:   read the room's record; if it exists, watch the log after after_seq ->
 *           relay_ws2_c_opened (NO_ROOM: the cluster has no such room). With after_seq 0
 *           (no replica yet) and a log whose oldest entry is past the record's snapshot,
 *           the watch starts after the snapshot's gi_seq instead, which opened reports
 *           as base (else 0): the replica is then made from the snapshot. opened also
 *           reports the log's last seq read after the watch started, which the replica
 *           must reach before it answers RESUME or GET_GI.
 *   create: write the creation record meta (first writer wins), make the stream, watch it
 *           from the start -> relay_ws2_c_created (EXISTS: another creator won).
 *   append: append bodies[0..n) (copied) with flags[i] and time_ms[i] after expect_last
 *           -> relay_ws2_c_appended with how many were stored (a prefix).
 *   unwatch: stop and free a watch handed over by opened/created.
 */
int relay_v2c_open(relay_v2c *c, const uint8_t room[RELAY_V2C_ROOM_BYTES], uint64_t after_seq);
int relay_v2c_create(relay_v2c *c, const uint8_t room[RELAY_V2C_ROOM_BYTES],
                     const uint8_t *meta, size_t meta_len);
int relay_v2c_append(relay_v2c *c, const uint8_t room[RELAY_V2C_ROOM_BYTES],
                     const relay_jslog_item *items, size_t n, uint64_t expect_last);
void relay_v2c_unwatch(relay_v2c *c, void *watch);

/* Encodes an entry into a malloc'ed *out (caller frees). Returns 0, or -1 (out of memory,
 * too large). join_pk may be NULL, gi may be NULL with gi_len 0. */
int relay_v2c_entry_encode(const uint8_t hash[RELAY_V2C_HASH_BYTES], const uint8_t *join_pk,
                           const uint8_t *gi, size_t gi_len, const uint8_t *mls, size_t mls_len,
                           uint8_t **out, size_t *out_len);

/* An entry decoded in place (pointers into the body). */
typedef struct relay_v2c_entry {
    const uint8_t *hash;    /* 32 bytes */
    const uint8_t *join_pk; /* NULL unless has_pk */
    const uint8_t *gi, *mls;
    size_t gi_len, mls_len;
} relay_v2c_entry;

/* Decodes body[0..len) whose flags header says has_pk. Every length is checked.
 * Returns 0, or -1 if malformed (then *e is undefined). */
int relay_v2c_entry_decode(const uint8_t *body, size_t len, int has_pk, relay_v2c_entry *e);

/* Creation record (version 1, at CREATE): encode into a malloc'ed *out. Returns 0 or -1. */
int relay_v2c_meta_encode(const uint8_t join_pk[RELAY_V2C_PK_BYTES], uint64_t created_ms,
                          const uint8_t *gi, size_t gi_len, uint8_t **out, size_t *out_len);

/*
 * A room's record, parsed in place. Version 1: the creation (join_pk, created_ms, first
 * gi_box). Version 2 adds a snapshot of the room after its latest commit that a relay
 * wrote back (gi_seq, the epoch and current join_pk after it, its gi_box and L_gi_seq):
 *   u8 2 || join_pk || u64 created_ms || u32 gi_len || gi_box
 *        || u64 epoch || u64 gi_seq || L (32) || join_pk (32) || gi_box
 * so that a relay whose replica starts after retention cut the log can start at gi_seq.
 */
#define RELAY_V2C_SNAP_OVERHEAD (8u + 8u + 32u + 32u)
typedef struct relay_v2c_meta {
    const uint8_t *join_pk; /* the creator's */
    uint64_t created_ms;
    const uint8_t *gi;      /* the first gi_box */
    size_t gi_len;
    int has_snap;
    uint64_t epoch, gi_seq; /* snapshot: after the commit at gi_seq */
    const uint8_t *snap_hash, *snap_pk, *snap_gi;
    size_t snap_gi_len;
} relay_v2c_meta;

/* Parses meta[0..len) (version 1 or 2), every length checked. Returns 0 or -1. */
int relay_v2c_meta_parse(const uint8_t *meta, size_t len, relay_v2c_meta *out);

/* cur's creation part with a new snapshot, into a malloc'ed *out (version 2). Returns 0,
 * or -1 (out of memory, or over RELAY_JSLOG_META_MAX: then no snapshot is kept). */
int relay_v2c_meta_with_snapshot(const relay_v2c_meta *cur, uint64_t epoch, uint64_t gi_seq,
                                 const uint8_t hash[RELAY_V2C_HASH_BYTES],
                                 const uint8_t join_pk[RELAY_V2C_PK_BYTES], const uint8_t *gi,
                                 size_t gi_len, uint8_t **out, size_t *out_len);

/*
 * Appends with a snapshot: like relay_v2c_append; if entry commit_at (< n) is stored,
 * the worker then writes the room's record with this snapshot of the room after it
 * (epoch, join_pk, gi_box, its log hash), compare-and-set, unless the record already has
 * a later one. commit_at = n: no commit in the batch (snapshot ignored).
 */
typedef struct relay_v2c_snap {
    size_t commit_at;
    uint64_t epoch;
    uint8_t hash[RELAY_V2C_HASH_BYTES];
    uint8_t join_pk[RELAY_V2C_PK_BYTES];
    const uint8_t *gi;
    size_t gi_len;
} relay_v2c_snap;
int relay_v2c_append_snap(relay_v2c *c, const uint8_t room[RELAY_V2C_ROOM_BYTES],
                          const relay_jslog_item *items, size_t n, uint64_t expect_last,
                          const relay_v2c_snap *snap);

#endif
