/*
 * relay_store: the durable per-room log of protocol v2 (docs/V2-DESIGN.md, docs/RELAY.md
 * "Durable log"), on SQLite in WAL mode. One database file, <data_dir>/store.db.
 *
 * Sans-I/O in spirit: no sockets, no clock for the log itself (the caller passes time_ms);
 * the only I/O is the database. Writes are staged in memory (relay_store_room_create,
 * relay_store_append) and made durable by one transaction per event-loop turn
 * (relay_store_flush), which reports every staged write as durable or failed. Reads
 * (relay_store_read, relay_store_gi) see durable data only; relay_store_meta shows the
 * room as it will be once the staged writes are durable (what the relay validates the next
 * submission against), with the durable head alongside.
 *
 * Retention per room (age, entry count, entry bytes; oldest first; the latest GroupInfo is
 * kept in the room's row and never deleted) runs inside flush with bounded work per call.
 *
 * Not thread-safe: one event loop owns a store.
 */
#ifndef RELAY_STORE_H
#define RELAY_STORE_H

#include <stddef.h>
#include <stdint.h>

#define RELAY_STORE_SCHEMA_VERSION 2 /* 2: log hashes of the head and the GroupInfo */
#define RELAY_STORE_FILE "store.db"
#define RELAY_STORE_ROOM_ID_MAX 64
#define RELAY_STORE_PK_BYTES 32
#define RELAY_STORE_HASH_BYTES 32 /* a log hash (protocol v2: sc2_loghash), opaque here */
#define RELAY_STORE_ENTRY_MAX (1u << 20)   /* one log entry (an MLS message) */
#define RELAY_STORE_GI_MAX (4u << 20)      /* one gi_box (GroupInfo with ratchet tree) */

/* Entry flags, as in the LOG message of protocol v2. */
#define RELAY_STORE_F_COMMIT 0x01u /* the entry is a commit: it moved the room to epoch + 1 */
#define RELAY_STORE_F_JOIN_PK 0x02u /* the entry rotated the room's join_pk */

typedef enum relay_store_err {
    RELAY_STORE_OK = 0,
    RELAY_STORE_ERR_ARG,     /* bad argument: a length out of range, a NULL, an inconsistent flag */
    RELAY_STORE_ERR_NOMEM,   /* out of memory */
    RELAY_STORE_ERR_IO,      /* the data directory or file cannot be created, opened or read */
    RELAY_STORE_ERR_CORRUPT, /* not a database, a malformed or truncated one, or not ours */
    RELAY_STORE_ERR_SCHEMA,  /* written by a newer relay (schema version above ours) */
    RELAY_STORE_ERR_LOCKED,  /* another process has the database open */
    RELAY_STORE_ERR_EXISTS,  /* create: the room exists already */
    RELAY_STORE_ERR_NO_ROOM, /* no such room */
    RELAY_STORE_ERR_GONE,    /* read: entries after after_seq were removed by retention */
    RELAY_STORE_ERR_AHEAD,   /* read: after_seq is past the room's durable head */
    RELAY_STORE_ERR_STAGED,  /* too much staged: flush first */
    RELAY_STORE_ERR_FULL,    /* the database reached its size limit (or the disk is full) */
    RELAY_STORE_ERR_DB,      /* any other SQLite error; relay_store_errmsg says which */
} relay_store_err;

/* A short constant name for err ("corrupt", "gone", ...). */
const char *relay_store_err_name(relay_store_err err);

typedef struct relay_store_opts {
    uint64_t max_age_ms;      /* retention by age; 0 = no age bound (default 30 days) */
    uint64_t max_entries;     /* retention by entry count per room; 0 = none (default 100,000) */
    uint64_t max_bytes;       /* retention by entry bytes per room; 0 = none (default 256 MiB) */
    uint64_t max_db_bytes;    /* hard cap on the database file; 0 = none (default). Above it
                                 a flush fails with RELAY_STORE_ERR_FULL. */
    uint32_t retain_rows;     /* rows retention may delete per flush, on top of one per staged
                                 append (default 500) */
    uint32_t sweep_rooms;     /* idle rooms checked for age per sweep (default 64) */
    uint64_t sweep_every_ms;  /* sweep interval in caller time (default 1,000) */
    uint64_t max_staged_bytes; /* staged bytes before append refuses with ERR_STAGED
                                  (default 64 MiB) */
    int quick_check;          /* run PRAGMA quick_check at open (default 1) */
    int sync_normal;          /* synchronous=NORMAL instead of FULL: survives SIGKILL but not
                                 power loss. For the benchmark only (default 0). */
} relay_store_opts;

/* Fills o with the defaults above. */
void relay_store_opts_default(relay_store_opts *o);

typedef struct relay_store relay_store;

/*
 * Opens (on first run: creates, mode 0700 for the directory and 0600 for the file) the
 * store in data_dir. opts may be NULL for the defaults. On success *out owns the store
 * (relay_store_close). On failure returns the error, *out is NULL and err (if errlen > 0)
 * holds a message naming the file, the SQLite error and what to do. A corrupt, truncated
 * or foreign file, or a newer schema, is never overwritten.
 */
relay_store_err relay_store_open(const char *data_dir, const relay_store_opts *opts,
                                 relay_store **out, char *err, size_t errlen);

/* Closes the store. Staged writes that were not flushed are discarded (not durable). NULL ok. */
void relay_store_close(relay_store *s);

/* The message of the last error on s (never NULL; "" if none). Valid until the next call. */
const char *relay_store_errmsg(const relay_store *s);

/*
 * Stages the creation of a room: room_id (1..RELAY_STORE_ROOM_ID_MAX bytes), its join_pk
 * and first gi_box (1..RELAY_STORE_GI_MAX bytes), at epoch 0, head_seq 0, gi_seq 0.
 * Appends to the room may be staged right away. tag is handed back by flush.
 * Returns OK, ERR_EXISTS (durable or staged), ERR_ARG, ERR_STAGED, ERR_NOMEM, ERR_DB.
 */
relay_store_err relay_store_room_create(relay_store *s, const uint8_t *room_id, size_t room_len,
                                        const uint8_t join_pk[RELAY_STORE_PK_BYTES],
                                        const uint8_t *gi_box, size_t gi_len, uint64_t time_ms,
                                        uint64_t tag);

/*
 * relay_store_room_create for a room whose log so far is known only by its state after
 * head_seq (a replica of a cluster's log that retention has cut: relay_v2c): epoch, the
 * current join_pk, the gi_box of the commit at head_seq (gi_seq = head_seq), no entries
 * (oldest_seq = head_seq + 1: a RESUME from before is GONE), no earlier keys. The log
 * hash staged next (relay_store_stage_hash) is L_head_seq, the head's and the GroupInfo's.
 * head_seq 0 and epoch 0 is relay_store_room_create. Same returns.
 */
relay_store_err relay_store_room_create_at(relay_store *s, const uint8_t *room_id,
                                           size_t room_len,
                                           const uint8_t join_pk[RELAY_STORE_PK_BYTES],
                                           const uint8_t *gi_box, size_t gi_len,
                                           uint64_t time_ms, uint64_t epoch, uint64_t head_seq,
                                           uint64_t tag);

/*
 * Stages a reset of a durable room to a snapshot past its head (a cluster replica that
 * retention overtook: relay_v2c): every entry of the room goes, the room is at head_seq
 * with epoch, join_pk (the key it had becomes an earlier one) and the gi_box of the commit
 * at head_seq (gi_seq = head_seq); oldest_seq = head_seq + 1, so a reader before it gets
 * GONE. The log hash staged next (relay_store_stage_hash) is L_head_seq. flush reports it
 * with seq 0. Returns OK, ERR_NO_ROOM, ERR_ARG (not durable, or head_seq not past the
 * head), ERR_STAGED, ERR_NOMEM.
 */
relay_store_err relay_store_room_reset(relay_store *s, const uint8_t *room_id, size_t room_len,
                                       const uint8_t join_pk[RELAY_STORE_PK_BYTES],
                                       const uint8_t *gi_box, size_t gi_len, uint64_t epoch,
                                       uint64_t head_seq, uint64_t tag);

/*
 * Stages one log entry (1..RELAY_STORE_ENTRY_MAX bytes) and returns in *seq the sequence
 * number it will have: the room's head (staged included) plus one, contiguous from 1.
 * A commit (is_commit) moves the room to epoch + 1 and must carry the new epoch's gi_box;
 * it may carry a new join_pk (the old one becomes an earlier key). gi_box and join_pk are
 * refused on a non-commit. Nothing is durable before relay_store_flush reports it.
 * Returns OK, ERR_NO_ROOM, ERR_ARG, ERR_STAGED, ERR_NOMEM, ERR_DB.
 */
relay_store_err relay_store_append(relay_store *s, const uint8_t *room_id, size_t room_len,
                                   const uint8_t *entry, size_t entry_len, uint64_t time_ms,
                                   int is_commit, const uint8_t *gi_box, size_t gi_len,
                                   const uint8_t *join_pk, uint64_t tag, uint64_t *seq);

/*
 * Sets the log hash of the write staged last (create or append): the room's hash chain
 * value after it (protocol v2, docs/PROTOCOL.md section 7; opaque to the store). It
 * becomes the room's head hash (relay_store_meta.head_hash, staged included) and, for a
 * create or a commit, the hash kept with its gi_box (relay_store_meta.gi_hash, durable).
 * A write whose hash is never set keeps 32 zero bytes. Returns OK, or ERR_ARG if nothing
 * is staged.
 */
relay_store_err relay_store_stage_hash(relay_store *s, const uint8_t hash[RELAY_STORE_HASH_BYTES]);

/* What flush reports for one staged write. seq is 0 for a create. */
typedef void (*relay_store_done_fn)(void *ctx, uint64_t tag, const uint8_t *room_id,
                                    size_t room_len, uint64_t seq, relay_store_err err);

/*
 * Makes every staged write durable in one transaction, applies retention (bounded work)
 * at caller time now_ms, and then calls done (may be NULL) once per staged write, in
 * staging order: with RELAY_STORE_OK only once COMMIT has returned (with the default
 * synchronous=FULL: after fsync of the WAL), or, if the transaction failed, with its error
 * for every one of them; the rooms are then as they were before the staged writes. Call
 * it once per event-loop turn; with nothing staged and no retention due it does no I/O
 * (once per sweep_every_ms it reads a few rooms' rows to find idle rooms to age out).
 * done may stage new writes (they go into the next flush) but must not call flush or
 * close. Returns OK or the transaction's error (ERR_FULL, ERR_IO, ERR_CORRUPT, ERR_DB,
 * ERR_LOCKED). An error before COMMIT leaves nothing durable; an ERR_IO from COMMIT itself
 * (a failed fsync) leaves the outcome unknown: the caller should stop and reopen.
 */
relay_store_err relay_store_flush(relay_store *s, uint64_t now_ms, relay_store_done_fn done,
                                  void *ctx);

/* Drops every staged write without running a transaction (and without calling any done
 * callback): the rooms are as they were after the last flush, and a staged creation is
 * forgotten. The cluster (relay_v2c) validates a turn's SUBMITs by staging them, then
 * discards them and appends to JetStream; the replica takes them from there. NULL ok. */
void relay_store_discard(relay_store *s);

/* Number of staged writes awaiting flush. */
size_t relay_store_staged(const relay_store *s);

typedef struct relay_store_meta {
    uint64_t epoch;        /* staged commits included */
    uint64_t head_seq;     /* last seq assigned, staged included */
    uint64_t durable_head; /* last durable seq */
    uint64_t oldest_seq;   /* oldest retained durable seq; durable_head + 1 when none */
    uint64_t gi_seq;       /* seq of the commit the durable gi_box belongs to (0: creation) */
    uint64_t entries;      /* durable entries retained */
    uint64_t bytes;        /* their bytes */
    uint64_t created_ms;
    uint8_t join_pk[RELAY_STORE_PK_BYTES]; /* current key, staged rotations included */
    uint8_t head_hash[RELAY_STORE_HASH_BYTES]; /* log hash of head_seq (staged included) */
    uint8_t gi_hash[RELAY_STORE_HASH_BYTES];   /* log hash of gi_seq (durable) */
    uint32_t earlier_keys; /* number of earlier join_pks (durable) */
    int durable;           /* 0 while the room's creation is only staged */
} relay_store_meta;

/* Fills *m for the room: from memory once the room is loaded (its first use since open
 * reads its row and counts its earlier keys). Returns OK, ERR_NO_ROOM, ERR_ARG, ERR_DB. */
relay_store_err relay_store_meta_get(relay_store *s, const uint8_t *room_id, size_t room_len,
                                     relay_store_meta *m);

enum { RELAY_STORE_KEY_UNKNOWN = 0, RELAY_STORE_KEY_CURRENT = 1, RELAY_STORE_KEY_EARLIER = 2 };

/*
 * Classifies pk for the room: RELAY_STORE_KEY_CURRENT (the key after the staged writes),
 * RELAY_STORE_KEY_EARLIER (a key the room had before, durable or replaced by a staged
 * rotation) or RELAY_STORE_KEY_UNKNOWN, in *kind. Returns OK, ERR_NO_ROOM, ERR_ARG, ERR_DB.
 */
relay_store_err relay_store_key_kind(relay_store *s, const uint8_t *room_id, size_t room_len,
                                     const uint8_t pk[RELAY_STORE_PK_BYTES], int *kind);

/*
 * As relay_store_key_kind, and for an earlier key sets *until (if not NULL) to the seq of
 * the commit that replaced it (durable or staged): a connection authenticated with it
 * reads the log up to that seq only (docs/PROTOCOL.md 5). UINT64_MAX for the current key
 * and an unknown one. Returns OK, ERR_NO_ROOM, ERR_ARG, ERR_DB.
 */
relay_store_err relay_store_key_info(relay_store *s, const uint8_t *room_id, size_t room_len,
                                     const uint8_t pk[RELAY_STORE_PK_BYTES], int *kind,
                                     uint64_t *until);

/*
 * Copies up to cap earlier join_pks (durable, oldest first) into keys and their count
 * into *n (which may exceed cap). Returns OK, ERR_NO_ROOM, ERR_ARG, ERR_DB.
 */
relay_store_err relay_store_earlier_keys(relay_store *s, const uint8_t *room_id, size_t room_len,
                                         uint8_t (*keys)[RELAY_STORE_PK_BYTES], size_t cap,
                                         size_t *n);

/*
 * Copies the room's latest durable gi_box into buf (cap bytes) and its length into *len,
 * its seq into *seq. If cap is too small, copies nothing, sets *len and returns ERR_ARG.
 * Returns OK, ERR_NO_ROOM (or creation not yet durable), ERR_ARG, ERR_DB.
 */
relay_store_err relay_store_gi(relay_store *s, const uint8_t *room_id, size_t room_len,
                               uint8_t *buf, size_t cap, size_t *len, uint64_t *seq);

/* One entry handed to a read callback; body is valid during the callback only. */
typedef struct relay_store_entry {
    uint64_t seq;
    uint64_t time_ms;
    unsigned flags; /* RELAY_STORE_F_* */
    uint8_t join_pk[RELAY_STORE_PK_BYTES]; /* valid if flags & RELAY_STORE_F_JOIN_PK */
    const uint8_t *body;
    size_t len;
} relay_store_entry;

/* Returns 0 to go on, nonzero to stop the read after this entry. */
typedef int (*relay_store_entry_fn)(void *ctx, const relay_store_entry *e);

/*
 * Reads durable entries after after_seq in order, at most max_entries (>= 1) and about
 * max_bytes (the first entry is always given, even if bigger), calling fn for each, and
 * sets *last to the seq of the last entry given (after_seq if none): resume from there.
 * Returns OK (fewer than max_entries given means caught up with the durable head),
 * ERR_GONE (after_seq + 1 is older than the oldest retained entry: nothing given; see
 * relay_store_meta.oldest_seq), ERR_AHEAD (after_seq > durable head), ERR_NO_ROOM, ERR_ARG,
 * ERR_DB.
 */
relay_store_err relay_store_read(relay_store *s, const uint8_t *room_id, size_t room_len,
                                 uint64_t after_seq, uint32_t max_entries, size_t max_bytes,
                                 relay_store_entry_fn fn, void *ctx, uint64_t *last);

/* Figures for /metrics. */
typedef struct relay_store_stats {
    uint64_t rooms;          /* durable rooms */
    uint64_t entries;        /* durable entries retained, all rooms */
    uint64_t bytes;          /* their bytes */
    uint64_t file_bytes;     /* database file + WAL on disk */
    uint64_t flushes;        /* flushes that ran a transaction */
    uint64_t flush_failures; /* of which failed */
    uint64_t flush_ns_sum;   /* wall time spent in those flushes */
    uint64_t flush_ns_last;
    uint64_t flush_ns_max;
    uint64_t appended;       /* entries made durable since open */
    uint64_t retained_out;   /* entries deleted by retention since open */
} relay_store_stats;

/* Fills *st. Never fails. */
void relay_store_stats_get(relay_store *s, relay_store_stats *st);

/*
 * Runs PRAGMA integrity_check (full, slow on a big database: not for the event loop).
 * Returns OK, or ERR_CORRUPT with the first problem in relay_store_errmsg.
 */
relay_store_err relay_store_integrity_check(relay_store *s);

#endif
