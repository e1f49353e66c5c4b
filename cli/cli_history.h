/*
 * cli_history: a room's message history on disk, bounded, encrypted, append-only, in
 * segment files under DATA/rooms/ (the store directory, cli_store_dir):
 *
 *   <room>.history                          the active segment (appended to)
 *   <room>.history.<index>-<count>-<last>   sealed segments: index (10 digits, increasing),
 *                                           their record count and largest seq (last)
 *
 * Every segment is records one after another, the format of the single history file
 * before segments (so an old <room>.history is read as the active segment):
 *     len u32 || nonce(24) || crypto_secretbox(storage key, R), len = 24 + 16 + |R|
 *     R = seq u64 || time_ms u64 || self u8 || identity(32) || name_len u8 || name || text
 * Integers are big-endian. Records are appended as messages are shown, in log order,
 * except own messages, recorded when accepted (possibly before older entries arrive).
 *
 * The active segment is sealed (fdatasync, renamed) once it holds bound/8 records or
 * 8 MiB. Old sealed segments are deleted whole by cli_history_trim, only while at least
 * `bound` records remain and only those whose last seq the caller's saved state covers:
 * the history keeps the newest `bound` messages at least and bound + bound/8 at most.
 * Appends are write()s without a sync (they survive the process being killed);
 * cli_history_sync makes them durable (call it before storing a state that covers
 * them). A torn last record (a crash mid-append) is cut off at open.
 */
#ifndef CLI_HISTORY_H
#define CLI_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#define CLI_HISTORY_DEFAULT 5000ul
#define CLI_HISTORY_MIN 1000ul
#define CLI_HISTORY_MAX 10000000ul
/* A segment is sealed at this many bytes even if it holds fewer than bound/8 records. */
#define CLI_HISTORY_SEGMENT_BYTES (8u * 1024u * 1024u)

typedef struct cli_history cli_history;

/* One stored message. Pointers belong to the caller (append) or to the history (read,
 * valid during the callback). */
typedef struct cli_history_msg {
    uint64_t seq, time_ms;
    int self;
    const uint8_t *identity; /* 32 bytes; NULL stores zeros */
    const char *name;        /* at most 255 bytes are stored */
    const uint8_t *text;
    size_t text_len;
} cli_history_msg;

/* Parses a bound (a message count, CLI_HISTORY_MIN..CLI_HISTORY_MAX, decimal). Returns 0
 * with *out, or -1 with a one-line message in err naming `what` (e.g. "--history"). */
int cli_history_parse_bound(const char *s, const char *what, unsigned long *out, char *err,
                            size_t cap);

/* Opens the history of room (id text) in dir with the 32-byte storage key (copied) and
 * the bound. Cuts a torn last record of the active segment. Returns the history, or NULL
 * with err (a segment unreadable or too open, a record of the active segment that does not decrypt, out of
 * memory). Every record of the active segment is decrypted (its largest seq). Nothing is
 * created until the first append. */
cli_history *cli_history_open(const char *dir, const uint8_t key[32], const char *room,
                              unsigned long bound, char *err, size_t cap);

/* Appends m (written, not synced); seals the active segment when it is full. Returns 0
 * or -1 with err. */
int cli_history_append(cli_history *h, const cli_history_msg *m, char *err, size_t cap);

/* Makes every append so far durable (fdatasync; the directory too after a new segment).
 * Returns 0 (also when there was nothing to sync) or -1 with err. */
int cli_history_sync(cli_history *h, char *err, size_t cap);

/* Deletes the oldest sealed segments whose largest seq is <= saved_seq, while at least
 * `bound` records remain. Returns the number of segments deleted, or -1 with err. */
int cli_history_trim(cli_history *h, uint64_t saved_seq, char *err, size_t cap);

/* The largest seq stored (0 if none). */
uint64_t cli_history_last_seq(const cli_history *h);

/* The number of records stored, all segments. */
uint64_t cli_history_count(const cli_history *h);

/* Calls fn for each of the last n records, oldest first. Returns the number shown, or -1
 * with err (a segment unreadable, a record that does not decrypt: the records before it
 * are shown first). */
int cli_history_read(cli_history *h, size_t n, void (*fn)(void *user, const cli_history_msg *m),
                     void *user, char *err, size_t cap);

/* Closes the files and wipes the key. NULL is a no-op. Does not sync. */
void cli_history_close(cli_history *h);

#endif
