/* relay_store: the durable per-room log on SQLite (see relay_store.h, docs/RELAY.md). */
#include "relay_store.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "relay_map.h"

/* "SCLG" in the database header: a file without it is not ours. */
#define STORE_APP_ID 0x53434c47
#define STORE_PAGE 4096
#define STORE_WAL_LIMIT (16 << 20)      /* journal_size_limit: the WAL shrinks back to this */
#define STORE_VACUUM_PAGES 256          /* pages freed per flush by incremental_vacuum */
#define STORE_RETAIN_CHUNK 256          /* rows looked at per retention query */

static const char *const schema_sql =
    "CREATE TABLE schema_version(version INTEGER NOT NULL);"
    "CREATE TABLE rooms("
    " id INTEGER PRIMARY KEY,"
    " room_id BLOB NOT NULL UNIQUE,"
    " created_ms INTEGER NOT NULL,"
    " epoch INTEGER NOT NULL,"
    " join_pk BLOB NOT NULL,"
    " gi_box BLOB NOT NULL,"
    " gi_seq INTEGER NOT NULL,"
    " gi_hash BLOB NOT NULL,"
    " head_seq INTEGER NOT NULL,"
    " head_hash BLOB NOT NULL,"
    " oldest_seq INTEGER NOT NULL,"
    " entry_count INTEGER NOT NULL,"
    " byte_count INTEGER NOT NULL);"
    "CREATE TABLE entries("
    " room INTEGER NOT NULL,"
    " seq INTEGER NOT NULL,"
    " time_ms INTEGER NOT NULL,"
    " flags INTEGER NOT NULL,"
    " join_pk BLOB,"
    " body BLOB NOT NULL);"
    "CREATE UNIQUE INDEX entries_by_seq ON entries(room, seq);"
    "CREATE TABLE earlier_keys("
    " room INTEGER NOT NULL,"
    " join_pk BLOB NOT NULL,"
    " until_seq INTEGER NOT NULL,"
    " PRIMARY KEY(room, join_pk)) WITHOUT ROWID;";

enum {
    ST_ROOM_GET,
    ST_ROOM_INS,
    ST_ROOM_UPD,
    ST_GI_UPD,
    ST_GI_GET,
    ST_ENT_INS,
    ST_ENT_READ,
    ST_ENT_OLDEST,
    ST_ENT_TIME,
    ST_ENT_DEL,
    ST_KEY_INS,
    ST_KEY_UPD,
    ST_KEY_FIND,
    ST_KEY_LIST,
    ST_KEY_COUNT,
    ST_SWEEP,
    ST_BEGIN,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_FREELIST,
    ST_PAGES,
    ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
    [ST_ROOM_GET] = "SELECT id, created_ms, epoch, join_pk, gi_seq, head_seq, oldest_seq,"
                    " entry_count, byte_count, gi_hash, head_hash FROM rooms WHERE room_id = ?",
    [ST_ROOM_INS] = "INSERT INTO rooms(room_id, created_ms, epoch, join_pk, gi_box, gi_seq,"
                    " gi_hash, head_seq, head_hash, oldest_seq, entry_count, byte_count)"
                    " VALUES(?, ?, 0, ?, ?, 0, ?5, 0, ?5, 1, 0, 0)",
    [ST_ROOM_UPD] = "UPDATE rooms SET epoch = ?, join_pk = ?, head_seq = ?, oldest_seq = ?,"
                    " entry_count = ?, byte_count = ?, head_hash = ? WHERE id = ?",
    [ST_GI_UPD] = "UPDATE rooms SET gi_box = ?, gi_seq = ?, gi_hash = ? WHERE id = ?",
    [ST_GI_GET] = "SELECT gi_box, gi_seq FROM rooms WHERE id = ?",
    [ST_ENT_INS] = "INSERT INTO entries(room, seq, time_ms, flags, join_pk, body)"
                   " VALUES(?, ?, ?, ?, ?, ?)",
    [ST_ENT_READ] = "SELECT seq, time_ms, flags, join_pk, body FROM entries"
                    " WHERE room = ? AND seq > ? ORDER BY seq LIMIT ?",
    [ST_ENT_OLDEST] = "SELECT seq, time_ms, length(body) FROM entries"
                      " WHERE room = ? AND seq >= ? ORDER BY seq LIMIT ?",
    [ST_ENT_TIME] = "SELECT time_ms FROM entries WHERE room = ? AND seq = ?",
    [ST_ENT_DEL] = "DELETE FROM entries WHERE room = ? AND seq < ?",
    [ST_KEY_INS] = "INSERT OR IGNORE INTO earlier_keys(room, join_pk, until_seq) VALUES(?, ?, ?)",
    [ST_KEY_UPD] = "UPDATE earlier_keys SET until_seq = ? WHERE room = ? AND join_pk = ?",
    [ST_KEY_FIND] = "SELECT until_seq FROM earlier_keys WHERE room = ? AND join_pk = ?",
    [ST_KEY_LIST] = "SELECT join_pk FROM earlier_keys WHERE room = ? ORDER BY until_seq",
    [ST_KEY_COUNT] = "SELECT count(*) FROM earlier_keys WHERE room = ?",
    [ST_SWEEP] = "SELECT id, room_id, entry_count, byte_count, oldest_seq FROM rooms"
                 " WHERE id > ? ORDER BY id LIMIT ?",
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_FREELIST] = "PRAGMA freelist_count",
    [ST_PAGES] = "PRAGMA page_count",
};

typedef struct room_state {
    uint64_t epoch, head_seq, oldest_seq, gi_seq, entries, bytes;
    uint64_t earlier_keys; /* rows in earlier_keys: counted once when the room is loaded */
    uint8_t join_pk[RELAY_STORE_PK_BYTES];
    uint8_t head_hash[RELAY_STORE_HASH_BYTES]; /* log hash of head_seq */
    uint8_t gi_hash[RELAY_STORE_HASH_BYTES];   /* log hash of gi_seq */
} room_state;

typedef struct store_room {
    relay_map_node node;
    int64_t rowid;           /* 0 while the creation is staged */
    uint64_t created_ms;
    room_state d;            /* durable */
    room_state p;            /* d + staged writes (+ retention, during a flush) */
    struct store_room *touched_next;
    struct store_room *debt_next;
    uint8_t touched, in_debt;
    uint8_t durable;         /* the room's creation is durable */
    uint8_t run_pk[RELAY_STORE_PK_BYTES]; /* key while a flush applies the staged writes */
    size_t id_len;
    uint8_t id[RELAY_STORE_ROOM_ID_MAX];
} store_room;

enum { OP_CREATE, OP_APPEND, OP_RESET };

typedef struct store_op {
    struct store_op *next;
    store_room *room;
    uint64_t tag, seq, time_ms;
    int kind;
    unsigned flags;
    uint8_t join_pk[RELAY_STORE_PK_BYTES]; /* create: the key; append: the new key, if any */
    uint8_t hash[RELAY_STORE_HASH_BYTES];  /* log hash after this write */
    const uint8_t *body, *gi;
    size_t len, gi_len;
    size_t id_len;
    uint8_t id[RELAY_STORE_ROOM_ID_MAX];
    /* body and gi bytes follow */
} store_op;

struct relay_store {
    sqlite3 *db;
    sqlite3_stmt *st[ST_COUNT];
    relay_store_opts o;
    char *path;
    char *wal_path;
    relay_map rooms;
    unsigned char key[crypto_shorthash_KEYBYTES];
    store_op *ops, **ops_tail;
    size_t n_ops;
    uint64_t staged_bytes;
    store_room *touched; /* rooms with staged writes (and, in a flush, retention) */
    store_room *debt;    /* rooms retention has not finished with */
    int64_t sweep_cursor;
    uint64_t next_sweep_ms;
    relay_store_stats stats;
    char msg[512];
};

const char *relay_store_err_name(relay_store_err err)
{
    switch (err) {
    case RELAY_STORE_OK: return "ok";
    case RELAY_STORE_ERR_ARG: return "bad argument";
    case RELAY_STORE_ERR_NOMEM: return "out of memory";
    case RELAY_STORE_ERR_IO: return "i/o error";
    case RELAY_STORE_ERR_CORRUPT: return "corrupt";
    case RELAY_STORE_ERR_SCHEMA: return "newer schema";
    case RELAY_STORE_ERR_LOCKED: return "locked";
    case RELAY_STORE_ERR_EXISTS: return "exists";
    case RELAY_STORE_ERR_NO_ROOM: return "no such room";
    case RELAY_STORE_ERR_GONE: return "gone";
    case RELAY_STORE_ERR_AHEAD: return "ahead of head";
    case RELAY_STORE_ERR_STAGED: return "too much staged";
    case RELAY_STORE_ERR_FULL: return "full";
    case RELAY_STORE_ERR_DB: return "database error";
    }
    return "unknown";
}

void relay_store_opts_default(relay_store_opts *o)
{
    memset(o, 0, sizeof *o);
    o->max_age_ms = 30ull * 24 * 3600 * 1000;
    o->max_entries = 100000;
    o->max_bytes = 256ull << 20;
    o->retain_rows = 500;
    o->sweep_rooms = 64;
    o->sweep_every_ms = 1000;
    o->max_staged_bytes = 64ull << 20;
    o->quick_check = 1;
}

static relay_store_err map_rc(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE: return RELAY_STORE_OK;
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
    case SQLITE_FORMAT: return RELAY_STORE_ERR_CORRUPT;
    case SQLITE_FULL: return RELAY_STORE_ERR_FULL;
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM: return RELAY_STORE_ERR_IO;
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return RELAY_STORE_ERR_LOCKED;
    case SQLITE_NOMEM: return RELAY_STORE_ERR_NOMEM;
    default: return RELAY_STORE_ERR_DB;
    }
}

__attribute__((format(printf, 3, 4))) static relay_store_err fail_msg(relay_store *s,
                                                                      relay_store_err err,
                                                                      const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->msg, sizeof s->msg, fmt, ap);
    va_end(ap);
    for (char *c = s->msg; *c; c++) /* SQLite's check reports span lines */
        if (*c == '\n')
            *c = ' ';
    return err;
}

static const char *advice(relay_store_err err)
{
    switch (err) {
    case RELAY_STORE_ERR_CORRUPT:
        return "the file is damaged or not a saltchat store; stop the relay, move the file "
               "aside and restore a backup (or remove it to start with no rooms: their "
               "history is lost)";
    case RELAY_STORE_ERR_LOCKED:
        return "another process has it open (a second saltchat-relay on the same data "
               "directory?)";
    case RELAY_STORE_ERR_FULL: return "the disk or the configured size limit is full";
    case RELAY_STORE_ERR_IO: return "check the file's permissions and the disk";
    default: return "see the SQLite error";
    }
}

/* An SQLite failure on s, with SQLite's message and what to do. */
static relay_store_err db_fail(relay_store *s, int rc, const char *what)
{
    relay_store_err err = map_rc(rc);

    if (err == RELAY_STORE_OK)
        err = RELAY_STORE_ERR_DB;
    return fail_msg(s, err, "store %s: %s: %s (sqlite %d): %s", s->path, what,
                    s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc), rc, advice(err));
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static sqlite3_stmt *stmt(relay_store *s, int i)
{
    sqlite3_stmt *q = s->st[i];
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    return q;
}

/* Runs a statement that returns no row we need; returns the final SQLite code. */
static int run(sqlite3_stmt *q)
{
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW)
        ;
    sqlite3_reset(q);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* ---- rooms in memory ---- */

static uint64_t room_hash(const relay_store *s, const uint8_t *id, size_t len)
{
    unsigned char h[crypto_shorthash_BYTES];
    uint64_t v;

    crypto_shorthash(h, id, len, s->key);
    memcpy(&v, h, sizeof v);
    return v;
}

struct room_key {
    const uint8_t *id;
    size_t len;
};

static int room_eq(const relay_map_node *n, const void *key)
{
    const store_room *r = (const store_room *)n;
    const struct room_key *k = key;
    return r->id_len == k->len && !memcmp(r->id, k->id, k->len);
}

static int id_ok(const uint8_t *id, size_t len)
{
    return id && len >= 1 && len <= RELAY_STORE_ROOM_ID_MAX;
}

static int blob_col(sqlite3_stmt *q, int col, uint8_t *out, size_t n)
{
    if (sqlite3_column_type(q, col) != SQLITE_BLOB || (size_t)sqlite3_column_bytes(q, col) != n)
        return -1;
    memcpy(out, sqlite3_column_blob(q, col), n);
    return 0;
}

/*
 * Finds the room, from memory or else from the database (then kept in memory). Sets *out
 * to NULL if there is no such room. Returns OK or an error (message set).
 */
static relay_store_err room_find(relay_store *s, const uint8_t *id, size_t len, store_room **out)
{
    struct room_key k = {id, len};
    uint64_t h = room_hash(s, id, len);
    relay_map_node *n = relay_map_find(&s->rooms, h, room_eq, &k);
    relay_store_err err = RELAY_STORE_OK;
    store_room *r = NULL;
    sqlite3_stmt *q;
    int rc;

    *out = NULL;
    if (n) {
        *out = (store_room *)n;
        return RELAY_STORE_OK;
    }
    q = stmt(s, ST_ROOM_GET);
    sqlite3_bind_blob(q, 1, id, (int)len, SQLITE_STATIC);
    rc = sqlite3_step(q);
    if (rc == SQLITE_DONE)
        goto done;
    if (rc != SQLITE_ROW) {
        err = db_fail(s, rc, "reading a room");
        goto done;
    }
    r = calloc(1, sizeof *r);
    if (!r) {
        err = fail_msg(s, RELAY_STORE_ERR_NOMEM, "out of memory");
        goto done;
    }
    r->rowid = sqlite3_column_int64(q, 0);
    r->created_ms = (uint64_t)sqlite3_column_int64(q, 1);
    r->d.epoch = (uint64_t)sqlite3_column_int64(q, 2);
    r->d.gi_seq = (uint64_t)sqlite3_column_int64(q, 4);
    r->d.head_seq = (uint64_t)sqlite3_column_int64(q, 5);
    r->d.oldest_seq = (uint64_t)sqlite3_column_int64(q, 6);
    r->d.entries = (uint64_t)sqlite3_column_int64(q, 7);
    r->d.bytes = (uint64_t)sqlite3_column_int64(q, 8);
    if (blob_col(q, 3, r->d.join_pk, RELAY_STORE_PK_BYTES) ||
        blob_col(q, 9, r->d.gi_hash, RELAY_STORE_HASH_BYTES) ||
        blob_col(q, 10, r->d.head_hash, RELAY_STORE_HASH_BYTES) || r->rowid <= 0 ||
        r->d.oldest_seq < 1 || r->d.oldest_seq > r->d.head_seq + 1 ||
        r->d.entries != r->d.head_seq + 1 - r->d.oldest_seq) {
        free(r);
        r = NULL;
        err = fail_msg(s, RELAY_STORE_ERR_CORRUPT, "store %s: a room's row is inconsistent: %s",
                       s->path, advice(RELAY_STORE_ERR_CORRUPT));
        goto done;
    }
    sqlite3_reset(q);
    q = stmt(s, ST_KEY_COUNT);
    sqlite3_bind_int64(q, 1, r->rowid);
    rc = sqlite3_step(q);
    if (rc != SQLITE_ROW) {
        free(r);
        r = NULL;
        err = db_fail(s, rc, "counting earlier keys");
        goto done;
    }
    r->d.earlier_keys = (uint64_t)sqlite3_column_int64(q, 0);
    r->p = r->d;
    r->durable = 1;
    r->id_len = len;
    memcpy(r->id, id, len);
    relay_map_insert(&s->rooms, &r->node, h);
    *out = r;
done:
    sqlite3_reset(q);
    return err;
}

static void room_drop(relay_store *s, store_room *r)
{
    relay_map_remove(&s->rooms, &r->node);
    free(r);
}

static void touch(relay_store *s, store_room *r)
{
    if (r->touched)
        return;
    r->touched = 1;
    r->touched_next = s->touched;
    s->touched = r;
}

static void owe(relay_store *s, store_room *r)
{
    if (r->in_debt)
        return;
    r->in_debt = 1;
    r->debt_next = s->debt;
    s->debt = r;
}

/* ---- open / close ---- */

static char *path_join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static int fsync_path(const char *path, int dir)
{
    int fd = open(path, (dir ? O_RDONLY | O_DIRECTORY : O_RDWR) | O_CLOEXEC);
    int rc;

    if (fd < 0)
        return -1;
    rc = fsync(fd);
    close(fd);
    return rc;
}

/*
 * First run: builds the database under a temporary name and renames it into place, so
 * that store.db, once it exists, always holds the whole schema (an empty or half-made
 * store.db is then damage, never a first run).
 */
static relay_store_err create_db(relay_store *s, const char *dir)
{
    char *tmp = path_join(dir, RELAY_STORE_FILE ".new");
    char *tmp_j = path_join(dir, RELAY_STORE_FILE ".new-journal");
    sqlite3 *db = NULL;
    relay_store_err err = RELAY_STORE_OK;
    char sql[1024];
    int rc;

    if (!tmp || !tmp_j) {
        err = fail_msg(s, RELAY_STORE_ERR_NOMEM, "out of memory");
        goto fail;
    }
    unlink(tmp);
    unlink(tmp_j);
    rc = sqlite3_open_v2(tmp, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc != SQLITE_OK) {
        err = fail_msg(s, map_rc(rc) ? map_rc(rc) : RELAY_STORE_ERR_IO,
                       "store %s: cannot create: %s: %s", tmp,
                       db ? sqlite3_errmsg(db) : sqlite3_errstr(rc), strerror(errno));
        goto fail;
    }
    rc = sqlite3_exec(db, "PRAGMA page_size = 4096; PRAGMA auto_vacuum = INCREMENTAL;", 0, 0, 0);
    if (rc == SQLITE_OK) {
        snprintf(sql, sizeof sql, "PRAGMA application_id = %d;", STORE_APP_ID);
        rc = sqlite3_exec(db, sql, 0, 0, 0);
    }
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, "BEGIN", 0, 0, 0);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, schema_sql, 0, 0, 0);
    if (rc == SQLITE_OK) {
        snprintf(sql, sizeof sql, "INSERT INTO schema_version VALUES(%d); COMMIT;",
                 RELAY_STORE_SCHEMA_VERSION);
        rc = sqlite3_exec(db, sql, 0, 0, 0);
    }
    if (rc != SQLITE_OK) {
        err = fail_msg(s, map_rc(rc) ? map_rc(rc) : RELAY_STORE_ERR_DB,
                       "store %s: cannot create the schema: %s", tmp, sqlite3_errmsg(db));
        goto fail;
    }
    sqlite3_close(db);
    db = NULL;
    if (chmod(tmp, 0600) || fsync_path(tmp, 0) || rename(tmp, s->path) || fsync_path(dir, 1)) {
        err = fail_msg(s, RELAY_STORE_ERR_IO, "store %s: cannot put the new database in place: %s",
                       s->path, strerror(errno));
        goto fail;
    }
fail:
    if (db)
        sqlite3_close(db);
    if (err != RELAY_STORE_OK && tmp)
        unlink(tmp);
    free(tmp);
    free(tmp_j);
    return err;
}

/* Runs a single-value pragma/query into *v (integer) or text (if txt). */
static int query_int(sqlite3 *db, const char *sql, int64_t *v)
{
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &q, NULL);

    if (rc != SQLITE_OK)
        return rc;
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        *v = sqlite3_column_int64(q, 0);
        rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
        rc = SQLITE_NOTFOUND;
    }
    sqlite3_finalize(q);
    return rc;
}

/* Runs quick_check or integrity_check; OK or ERR_CORRUPT with the first problem. */
static relay_store_err check_db(relay_store *s, const char *sql)
{
    sqlite3_stmt *q = NULL;
    relay_store_err err = RELAY_STORE_OK;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &q, NULL);

    if (rc != SQLITE_OK)
        return db_fail(s, rc, sql);
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(q, 0);
        if (!t || strcmp(t, "ok"))
            err = fail_msg(s, RELAY_STORE_ERR_CORRUPT, "store %s: %s found: %s: %s", s->path,
                           sql, t ? t : "?", advice(RELAY_STORE_ERR_CORRUPT));
    } else {
        err = db_fail(s, rc, sql);
    }
    sqlite3_finalize(q);
    return err;
}

static relay_store_err open_db(relay_store *s)
{
    char sql[128];
    int64_t v = 0;
    int rc;

    rc = sqlite3_open_v2(s->path, &s->db, SQLITE_OPEN_READWRITE, NULL);
    if (rc != SQLITE_OK)
        return db_fail(s, rc, "cannot open");
    sqlite3_extended_result_codes(s->db, 1);
    /* Exclusive locking before the first access: one process only, no shared-memory file. */
    rc = sqlite3_exec(s->db, "PRAGMA locking_mode = EXCLUSIVE", 0, 0, 0);
    if (rc != SQLITE_OK)
        return db_fail(s, rc, "cannot set the locking mode");
    rc = query_int(s->db, "PRAGMA application_id", &v);
    if (rc != SQLITE_OK)
        return db_fail(s, rc, "cannot read the database header");
    if (v != STORE_APP_ID)
        return fail_msg(s, RELAY_STORE_ERR_CORRUPT,
                        "store %s: not a saltchat store, or its header is damaged (application_id %lld): %s", s->path,
                        (long long)v, advice(RELAY_STORE_ERR_CORRUPT));
    {
        sqlite3_stmt *q = NULL;
        rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &q, NULL);
        if (rc == SQLITE_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
            const char *m = (const char *)sqlite3_column_text(q, 0);
            rc = m && !strcmp(m, "wal") ? SQLITE_OK : SQLITE_CANTOPEN;
        }
        sqlite3_finalize(q);
        if (rc != SQLITE_OK)
            return db_fail(s, rc, "cannot switch to WAL mode");
    }
    /* Take the write lock now, so that a second process fails here and not on a flush. */
    rc = sqlite3_exec(s->db, "BEGIN EXCLUSIVE; COMMIT", 0, 0, 0);
    if (rc != SQLITE_OK)
        return db_fail(s, rc, "cannot lock");
    snprintf(sql, sizeof sql,
             "PRAGMA synchronous = %s; PRAGMA journal_size_limit = %d;"
             " PRAGMA temp_store = MEMORY; PRAGMA cache_size = -8192",
             s->o.sync_normal ? "NORMAL" : "FULL", STORE_WAL_LIMIT);
    rc = sqlite3_exec(s->db, sql, 0, 0, 0);
    if (rc != SQLITE_OK)
        return db_fail(s, rc, "cannot set the pragmas");
    if (s->o.max_db_bytes) {
        snprintf(sql, sizeof sql, "PRAGMA max_page_count = %llu",
                 (unsigned long long)(s->o.max_db_bytes / STORE_PAGE ? s->o.max_db_bytes / STORE_PAGE
                                                                     : 1));
        rc = sqlite3_exec(s->db, sql, 0, 0, 0);
        if (rc != SQLITE_OK)
            return db_fail(s, rc, "cannot set max_page_count");
    }
    rc = query_int(s->db, "SELECT max(version) FROM schema_version", &v);
    if (rc != SQLITE_OK)
        return db_fail(s, rc, "cannot read the schema version");
    if (v > RELAY_STORE_SCHEMA_VERSION)
        return fail_msg(s, RELAY_STORE_ERR_SCHEMA,
                        "store %s: written by a newer saltchat-relay (schema %lld, this one "
                        "knows up to %d): run that relay again, or restore a backup made with "
                        "this one",
                        s->path, (long long)v, RELAY_STORE_SCHEMA_VERSION);
    if (v == 1)
        return fail_msg(s, RELAY_STORE_ERR_SCHEMA,
                        "store %s: written by a development build of saltchat-relay (schema 1, "
                        "without log hashes), which this one cannot upgrade: move the data "
                        "directory away and start again", s->path);
    if (v < RELAY_STORE_SCHEMA_VERSION)
        return fail_msg(s, RELAY_STORE_ERR_CORRUPT, "store %s: schema version %lld is unknown: %s",
                        s->path, (long long)v, advice(RELAY_STORE_ERR_CORRUPT));
    if (s->o.quick_check) {
        relay_store_err err = check_db(s, "PRAGMA quick_check(1)");
        if (err != RELAY_STORE_OK)
            return err;
    }
    for (int i = 0; i < ST_COUNT; i++) {
        rc = sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL);
        if (rc != SQLITE_OK)
            return db_fail(s, rc, "cannot prepare the statements (schema damaged?)");
    }
    rc = query_int(s->db, "SELECT count(*) FROM rooms", &v);
    if (rc == SQLITE_OK)
        s->stats.rooms = (uint64_t)v;
    if (rc == SQLITE_OK && (rc = query_int(s->db, "SELECT total(entry_count) FROM rooms", &v)) ==
                               SQLITE_OK)
        s->stats.entries = (uint64_t)v;
    if (rc == SQLITE_OK && (rc = query_int(s->db, "SELECT total(byte_count) FROM rooms", &v)) ==
                               SQLITE_OK)
        s->stats.bytes = (uint64_t)v;
    if (rc != SQLITE_OK)
        return db_fail(s, rc, "cannot count the rooms");
    return RELAY_STORE_OK;
}

relay_store_err relay_store_open(const char *data_dir, const relay_store_opts *opts,
                                 relay_store **out, char *err_out, size_t errlen)
{
    relay_store *s = NULL;
    relay_store_err err = RELAY_STORE_OK;
    struct stat st;

    if (out)
        *out = NULL;
    if (errlen)
        err_out[0] = 0;
    if (!data_dir || !*data_dir || !out) {
        if (errlen)
            snprintf(err_out, errlen, "store: no data directory given");
        return RELAY_STORE_ERR_ARG;
    }
    if (sodium_init() < 0) {
        if (errlen)
            snprintf(err_out, errlen, "store: libsodium failed to initialise");
        return RELAY_STORE_ERR_NOMEM;
    }
    s = calloc(1, sizeof *s);
    if (!s) {
        if (errlen)
            snprintf(err_out, errlen, "store: out of memory");
        return RELAY_STORE_ERR_NOMEM;
    }
    if (opts)
        s->o = *opts;
    else
        relay_store_opts_default(&s->o);
    s->ops_tail = &s->ops;
    s->path = path_join(data_dir, RELAY_STORE_FILE);
    s->wal_path = path_join(data_dir, RELAY_STORE_FILE "-wal");
    if (!s->path || !s->wal_path || relay_map_init(&s->rooms, 6)) {
        err = fail_msg(s, RELAY_STORE_ERR_NOMEM, "store: out of memory");
        goto fail;
    }
    randombytes_buf(s->key, sizeof s->key);

    if (mkdir(data_dir, 0700) && errno != EEXIST) {
        err = fail_msg(s, RELAY_STORE_ERR_IO, "store: cannot create the data directory %s: %s",
                       data_dir, strerror(errno));
        goto fail;
    }
    if (stat(data_dir, &st) || !S_ISDIR(st.st_mode)) {
        err = fail_msg(s, RELAY_STORE_ERR_IO, "store: %s is not a directory", data_dir);
        goto fail;
    }
    if (stat(s->path, &st)) {
        if (errno != ENOENT) {
            err = fail_msg(s, RELAY_STORE_ERR_IO, "store %s: %s", s->path, strerror(errno));
            goto fail;
        }
        err = create_db(s, data_dir);
        if (err != RELAY_STORE_OK)
            goto fail;
    } else if (!S_ISREG(st.st_mode)) {
        err = fail_msg(s, RELAY_STORE_ERR_IO, "store %s: not a regular file", s->path);
        goto fail;
    } else if (st.st_size == 0) {
        err = fail_msg(s, RELAY_STORE_ERR_CORRUPT, "store %s: the file is empty (truncated?): %s",
                       s->path, advice(RELAY_STORE_ERR_CORRUPT));
        goto fail;
    }
    if (access(s->path, R_OK | W_OK)) {
        err = fail_msg(s, RELAY_STORE_ERR_IO, "store %s: cannot read and write it: %s", s->path,
                       strerror(errno));
        goto fail;
    }
    err = open_db(s);
    if (err != RELAY_STORE_OK)
        goto fail;
    *out = s;
    return RELAY_STORE_OK;
fail:
    if (errlen)
        snprintf(err_out, errlen, "%s", s->msg);
    relay_store_close(s);
    return err;
}

static void ops_free(store_op *op)
{
    while (op) {
        store_op *next = op->next;
        free(op);
        op = next;
    }
}

void relay_store_close(relay_store *s)
{
    if (!s)
        return;
    ops_free(s->ops);
    for (size_t b = 0; s->rooms.buckets && b <= s->rooms.mask; b++) {
        relay_map_node *n = s->rooms.buckets[b];
        while (n) {
            relay_map_node *next = n->next;
            free(n);
            n = next;
        }
    }
    relay_map_free(&s->rooms);
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(s->st[i]);
    sqlite3_close(s->db);
    free(s->path);
    free(s->wal_path);
    free(s);
}

const char *relay_store_errmsg(const relay_store *s)
{
    return s ? s->msg : "no store";
}

/* ---- staging ---- */

static relay_store_err stage(relay_store *s, store_room *r, int kind, const uint8_t *body,
                             size_t len, const uint8_t *gi, size_t gi_len, uint64_t time_ms,
                             uint64_t tag, store_op **out)
{
    store_op *op;

    if (s->staged_bytes + len + gi_len > s->o.max_staged_bytes && s->n_ops)
        return fail_msg(s, RELAY_STORE_ERR_STAGED, "store: %llu bytes staged: flush first",
                        (unsigned long long)s->staged_bytes);
    op = malloc(sizeof *op + len + gi_len);
    if (!op)
        return fail_msg(s, RELAY_STORE_ERR_NOMEM, "store: out of memory");
    memset(op, 0, sizeof *op);
    op->room = r;
    op->kind = kind;
    op->tag = tag;
    op->time_ms = time_ms;
    op->id_len = r->id_len;
    memcpy(op->id, r->id, r->id_len);
    if (len) {
        memcpy(op + 1, body, len);
        op->body = (const uint8_t *)(op + 1);
        op->len = len;
    }
    if (gi_len) {
        memcpy((uint8_t *)(op + 1) + len, gi, gi_len);
        op->gi = (const uint8_t *)(op + 1) + len;
        op->gi_len = gi_len;
    }
    *s->ops_tail = op;
    s->ops_tail = &op->next;
    s->n_ops++;
    s->staged_bytes += len + gi_len;
    touch(s, r);
    *out = op;
    return RELAY_STORE_OK;
}

relay_store_err relay_store_room_create(relay_store *s, const uint8_t *room_id, size_t room_len,
                                        const uint8_t join_pk[RELAY_STORE_PK_BYTES],
                                        const uint8_t *gi_box, size_t gi_len, uint64_t time_ms,
                                        uint64_t tag)
{
    return relay_store_room_create_at(s, room_id, room_len, join_pk, gi_box, gi_len, time_ms,
                                      0, 0, tag);
}

relay_store_err relay_store_room_create_at(relay_store *s, const uint8_t *room_id,
                                           size_t room_len,
                                           const uint8_t join_pk[RELAY_STORE_PK_BYTES],
                                           const uint8_t *gi_box, size_t gi_len,
                                           uint64_t time_ms, uint64_t epoch, uint64_t head_seq,
                                           uint64_t tag)
{
    store_room *r = NULL;
    store_op *op;
    relay_store_err err;

    if (!s)
        return RELAY_STORE_ERR_ARG;
    if (!id_ok(room_id, room_len) || !join_pk || !gi_box || !gi_len || gi_len > RELAY_STORE_GI_MAX ||
        time_ms > INT64_MAX)
        return fail_msg(s, RELAY_STORE_ERR_ARG, "store: create: bad room id, key or gi_box");
    err = room_find(s, room_id, room_len, &r);
    if (err != RELAY_STORE_OK)
        return err;
    if (r)
        return fail_msg(s, RELAY_STORE_ERR_EXISTS, "store: create: the room exists");
    if (head_seq > INT64_MAX - 1 || epoch > INT64_MAX)
        return fail_msg(s, RELAY_STORE_ERR_ARG, "store: create: bad head or epoch");
    r = calloc(1, sizeof *r);
    if (!r)
        return fail_msg(s, RELAY_STORE_ERR_NOMEM, "store: out of memory");
    r->id_len = room_len;
    memcpy(r->id, room_id, room_len);
    r->created_ms = time_ms;
    r->d.epoch = epoch;
    r->d.head_seq = head_seq;
    r->d.gi_seq = head_seq;
    r->d.oldest_seq = head_seq + 1;
    memcpy(r->d.join_pk, join_pk, RELAY_STORE_PK_BYTES);
    r->p = r->d;
    relay_map_insert(&s->rooms, &r->node, room_hash(s, room_id, room_len));
    err = stage(s, r, OP_CREATE, NULL, 0, gi_box, gi_len, time_ms, tag, &op);
    if (err != RELAY_STORE_OK) {
        if (r->touched) /* cannot happen: stage touches only on success */
            return err;
        room_drop(s, r);
        return err;
    }
    memcpy(op->join_pk, join_pk, RELAY_STORE_PK_BYTES);
    return RELAY_STORE_OK;
}

relay_store_err relay_store_room_reset(relay_store *s, const uint8_t *room_id, size_t room_len,
                                       const uint8_t join_pk[RELAY_STORE_PK_BYTES],
                                       const uint8_t *gi_box, size_t gi_len, uint64_t epoch,
                                       uint64_t head_seq, uint64_t tag)
{
    store_room *r = NULL;
    store_op *op;
    relay_store_err err;

    if (!s)
        return RELAY_STORE_ERR_ARG;
    if (!id_ok(room_id, room_len) || !join_pk || !gi_box || !gi_len ||
        gi_len > RELAY_STORE_GI_MAX || head_seq > INT64_MAX - 1 || epoch > INT64_MAX)
        return fail_msg(s, RELAY_STORE_ERR_ARG, "store: reset: bad argument");
    err = room_find(s, room_id, room_len, &r);
    if (err != RELAY_STORE_OK)
        return err;
    if (!r)
        return fail_msg(s, RELAY_STORE_ERR_NO_ROOM, "store: reset: no such room");
    if (!r->durable || head_seq <= r->p.head_seq)
        return fail_msg(s, RELAY_STORE_ERR_ARG, "store: reset: not past the room's head");
    err = stage(s, r, OP_RESET, NULL, 0, gi_box, gi_len, 0, tag, &op);
    if (err != RELAY_STORE_OK)
        return err;
    memcpy(op->join_pk, join_pk, RELAY_STORE_PK_BYTES);
    op->seq = head_seq;
    r->p.epoch = epoch;
    r->p.head_seq = head_seq;
    r->p.gi_seq = head_seq;
    r->p.oldest_seq = head_seq + 1;
    r->p.entries = 0;
    r->p.bytes = 0;
    memcpy(r->p.join_pk, join_pk, RELAY_STORE_PK_BYTES);
    return RELAY_STORE_OK;
}

relay_store_err relay_store_append(relay_store *s, const uint8_t *room_id, size_t room_len,
                                   const uint8_t *entry, size_t entry_len, uint64_t time_ms,
                                   int is_commit, const uint8_t *gi_box, size_t gi_len,
                                   const uint8_t *join_pk, uint64_t tag, uint64_t *seq)
{
    store_room *r = NULL;
    store_op *op;
    relay_store_err err;

    if (!s)
        return RELAY_STORE_ERR_ARG;
    if (!id_ok(room_id, room_len) || !entry || !entry_len || entry_len > RELAY_STORE_ENTRY_MAX ||
        time_ms > INT64_MAX)
        return fail_msg(s, RELAY_STORE_ERR_ARG, "store: append: bad room id or entry length");
    if (is_commit ? (!gi_box || !gi_len || gi_len > RELAY_STORE_GI_MAX) : (gi_box || join_pk))
        return fail_msg(s, RELAY_STORE_ERR_ARG, is_commit
                                                    ? "store: append: a commit needs a gi_box"
                                                    : "store: append: gi_box or join_pk on a "
                                                      "non-commit");
    err = room_find(s, room_id, room_len, &r);
    if (err != RELAY_STORE_OK)
        return err;
    if (!r)
        return fail_msg(s, RELAY_STORE_ERR_NO_ROOM, "store: append: no such room");
    err = stage(s, r, OP_APPEND, entry, entry_len, is_commit ? gi_box : NULL,
                is_commit ? gi_len : 0, time_ms, tag, &op);
    if (err != RELAY_STORE_OK)
        return err;
    op->seq = ++r->p.head_seq;
    if (is_commit) {
        op->flags |= RELAY_STORE_F_COMMIT;
        r->p.epoch++;
        if (join_pk) {
            op->flags |= RELAY_STORE_F_JOIN_PK;
            memcpy(op->join_pk, join_pk, RELAY_STORE_PK_BYTES);
            memcpy(r->p.join_pk, join_pk, RELAY_STORE_PK_BYTES);
        }
    }
    if (seq)
        *seq = op->seq;
    return RELAY_STORE_OK;
}

relay_store_err relay_store_stage_hash(relay_store *s, const uint8_t hash[RELAY_STORE_HASH_BYTES])
{
    if (!s)
        return RELAY_STORE_ERR_ARG;
    if (!hash || !s->n_ops)
        return fail_msg(s, RELAY_STORE_ERR_ARG, "store: stage_hash: nothing staged");
    store_op *op = (store_op *)((char *)s->ops_tail - offsetof(store_op, next));
    memcpy(op->hash, hash, RELAY_STORE_HASH_BYTES);
    memcpy(op->room->p.head_hash, hash, RELAY_STORE_HASH_BYTES);
    return RELAY_STORE_OK;
}

void relay_store_discard(relay_store *s)
{
    store_room *r, *next;
    if (!s)
        return;
    for (r = s->touched; r; r = next) {
        next = r->touched_next;
        r->touched = 0;
        r->touched_next = NULL;
        r->p = r->d;
        if (!r->durable)
            room_drop(s, r);
    }
    s->touched = NULL;
    ops_free(s->ops);
    s->ops = NULL;
    s->ops_tail = &s->ops;
    s->n_ops = 0;
    s->staged_bytes = 0;
}

size_t relay_store_staged(const relay_store *s)
{
    return s ? s->n_ops : 0;
}

/* ---- flush ---- */

static relay_store_err apply_op(relay_store *s, store_op *op)
{
    store_room *r = op->room;
    sqlite3_stmt *q;
    int rc;

    if (op->kind == OP_CREATE) {
        q = stmt(s, ST_ROOM_INS);
        sqlite3_bind_blob(q, 1, r->id, (int)r->id_len, SQLITE_STATIC);
        sqlite3_bind_int64(q, 2, (int64_t)op->time_ms);
        sqlite3_bind_blob(q, 3, op->join_pk, RELAY_STORE_PK_BYTES, SQLITE_STATIC);
        sqlite3_bind_blob(q, 4, op->gi, (int)op->gi_len, SQLITE_STATIC);
        sqlite3_bind_blob(q, 5, op->hash, RELAY_STORE_HASH_BYTES, SQLITE_STATIC);
        rc = run(q);
        if (rc != SQLITE_OK)
            return db_fail(s, rc, "creating a room");
        r->rowid = sqlite3_last_insert_rowid(s->db);
        memcpy(r->run_pk, op->join_pk, RELAY_STORE_PK_BYTES);
        memcpy(r->p.gi_hash, op->hash, RELAY_STORE_HASH_BYTES);
        if (r->p.gi_seq) { /* created at a head (relay_store_room_create_at) */
            q = stmt(s, ST_GI_UPD);
            sqlite3_bind_blob(q, 1, op->gi, (int)op->gi_len, SQLITE_STATIC);
            sqlite3_bind_int64(q, 2, (int64_t)r->p.gi_seq);
            sqlite3_bind_blob(q, 3, op->hash, RELAY_STORE_HASH_BYTES, SQLITE_STATIC);
            sqlite3_bind_int64(q, 4, r->rowid);
            rc = run(q);
            if (rc != SQLITE_OK)
                return db_fail(s, rc, "creating a room");
        }
        return RELAY_STORE_OK;
    }
    if (op->kind == OP_RESET) {
        q = stmt(s, ST_ENT_DEL);
        sqlite3_bind_int64(q, 1, r->rowid);
        sqlite3_bind_int64(q, 2, INT64_MAX);
        rc = run(q);
        if (rc == SQLITE_OK) {
            q = stmt(s, ST_GI_UPD);
            sqlite3_bind_blob(q, 1, op->gi, (int)op->gi_len, SQLITE_STATIC);
            sqlite3_bind_int64(q, 2, (int64_t)op->seq);
            sqlite3_bind_blob(q, 3, op->hash, RELAY_STORE_HASH_BYTES, SQLITE_STATIC);
            sqlite3_bind_int64(q, 4, r->rowid);
            rc = run(q);
        }
        if (rc == SQLITE_OK && sodium_memcmp(r->run_pk, op->join_pk, RELAY_STORE_PK_BYTES)) {
            /* the key it had becomes an earlier one (those in the skipped part stay unknown) */
            q = stmt(s, ST_KEY_INS);
            sqlite3_bind_int64(q, 1, r->rowid);
            sqlite3_bind_blob(q, 2, r->run_pk, RELAY_STORE_PK_BYTES, SQLITE_STATIC);
            sqlite3_bind_int64(q, 3, (int64_t)op->seq);
            rc = run(q);
            if (rc == SQLITE_OK)
                r->p.earlier_keys += (uint64_t)sqlite3_changes(s->db);
        }
        if (rc != SQLITE_OK)
            return db_fail(s, rc, "resetting a room to a snapshot");
        memcpy(r->run_pk, op->join_pk, RELAY_STORE_PK_BYTES);
        memcpy(r->p.gi_hash, op->hash, RELAY_STORE_HASH_BYTES);
        return RELAY_STORE_OK;
    }
    q = stmt(s, ST_ENT_INS);
    sqlite3_bind_int64(q, 1, r->rowid);
    sqlite3_bind_int64(q, 2, (int64_t)op->seq);
    sqlite3_bind_int64(q, 3, (int64_t)op->time_ms);
    sqlite3_bind_int(q, 4, (int)op->flags);
    if (op->flags & RELAY_STORE_F_JOIN_PK)
        sqlite3_bind_blob(q, 5, op->join_pk, RELAY_STORE_PK_BYTES, SQLITE_STATIC);
    else
        sqlite3_bind_null(q, 5);
    sqlite3_bind_blob(q, 6, op->body, (int)op->len, SQLITE_STATIC);
    rc = run(q);
    if (rc != SQLITE_OK)
        return db_fail(s, rc, "appending an entry");
    if (op->gi) {
        q = stmt(s, ST_GI_UPD);
        sqlite3_bind_blob(q, 1, op->gi, (int)op->gi_len, SQLITE_STATIC);
        sqlite3_bind_int64(q, 2, (int64_t)op->seq);
        sqlite3_bind_blob(q, 3, op->hash, RELAY_STORE_HASH_BYTES, SQLITE_STATIC);
        sqlite3_bind_int64(q, 4, r->rowid);
        rc = run(q);
        if (rc != SQLITE_OK)
            return db_fail(s, rc, "storing a GroupInfo");
        r->p.gi_seq = op->seq;
        memcpy(r->p.gi_hash, op->hash, RELAY_STORE_HASH_BYTES);
    }
    if (op->flags & RELAY_STORE_F_JOIN_PK) {
        q = stmt(s, ST_KEY_INS);
        sqlite3_bind_int64(q, 1, r->rowid);
        sqlite3_bind_blob(q, 2, r->run_pk, RELAY_STORE_PK_BYTES, SQLITE_STATIC);
        sqlite3_bind_int64(q, 3, (int64_t)op->seq);
        rc = run(q);
        if (rc != SQLITE_OK)
            return db_fail(s, rc, "storing an earlier key");
        /* OR IGNORE: a key the room had before is not a new row, but it was current again
         * until this commit: a connection with it reads up to here (PROTOCOL.md 5) */
        int added = sqlite3_changes(s->db);
        r->p.earlier_keys += (uint64_t)added;
        if (!added) {
            q = stmt(s, ST_KEY_UPD);
            sqlite3_bind_int64(q, 1, (int64_t)op->seq);
            sqlite3_bind_int64(q, 2, r->rowid);
            sqlite3_bind_blob(q, 3, r->run_pk, RELAY_STORE_PK_BYTES, SQLITE_STATIC);
            rc = run(q);
            if (rc != SQLITE_OK)
                return db_fail(s, rc, "storing an earlier key");
        }
        memcpy(r->run_pk, op->join_pk, RELAY_STORE_PK_BYTES);
    }
    r->p.entries++;
    r->p.bytes += op->len;
    return RELAY_STORE_OK;
}

static int over_bounds(const relay_store *s, uint64_t entries, uint64_t bytes)
{
    return (s->o.max_entries && entries > s->o.max_entries) ||
           (s->o.max_bytes && bytes > s->o.max_bytes);
}

static int expired(const relay_store *s, uint64_t time_ms, uint64_t now_ms)
{
    return s->o.max_age_ms && now_ms >= s->o.max_age_ms && time_ms <= now_ms - s->o.max_age_ms;
}

/*
 * Deletes the room's oldest entries while it is over a bound, at most *budget rows
 * (decremented). Sets *finished to 0 if the budget ran out with work left.
 */
static relay_store_err retain_room(relay_store *s, store_room *r, uint64_t now_ms,
                                   uint64_t *budget, int *finished)
{
    *finished = 1;
    while (r->p.entries) {
        uint64_t k = 0, b = 0, cut = r->p.oldest_seq, want = *budget;
        int stop = 0, rc;
        sqlite3_stmt *q;

        if (!over_bounds(s, r->p.entries, r->p.bytes) && !s->o.max_age_ms)
            return RELAY_STORE_OK;
        if (!want) {
            /* Out of budget: is there work left? The age test needs the oldest time. */
            *finished = 0;
            return RELAY_STORE_OK;
        }
        if (want > STORE_RETAIN_CHUNK)
            want = STORE_RETAIN_CHUNK;
        q = stmt(s, ST_ENT_OLDEST);
        sqlite3_bind_int64(q, 1, r->rowid);
        sqlite3_bind_int64(q, 2, (int64_t)r->p.oldest_seq);
        sqlite3_bind_int64(q, 3, (int64_t)want);
        while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
            uint64_t seq = (uint64_t)sqlite3_column_int64(q, 0);
            uint64_t t = (uint64_t)sqlite3_column_int64(q, 1);
            uint64_t len = (uint64_t)sqlite3_column_int64(q, 2);
            if (seq != cut) {
                sqlite3_reset(q);
                return fail_msg(s, RELAY_STORE_ERR_CORRUPT,
                                "store %s: entry %llu missing from a room's log: %s", s->path,
                                (unsigned long long)cut, advice(RELAY_STORE_ERR_CORRUPT));
            }
            if (!over_bounds(s, r->p.entries - k, r->p.bytes - b) && !expired(s, t, now_ms)) {
                stop = 1;
                break;
            }
            k++;
            b += len;
            cut = seq + 1;
        }
        sqlite3_reset(q);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            return db_fail(s, rc, "reading the oldest entries");
        if (k) {
            q = stmt(s, ST_ENT_DEL);
            sqlite3_bind_int64(q, 1, r->rowid);
            sqlite3_bind_int64(q, 2, (int64_t)cut);
            rc = run(q);
            if (rc != SQLITE_OK)
                return db_fail(s, rc, "deleting old entries");
            if ((uint64_t)sqlite3_changes(s->db) != k)
                return fail_msg(s, RELAY_STORE_ERR_CORRUPT,
                                "store %s: a room's entry count is wrong: %s", s->path,
                                advice(RELAY_STORE_ERR_CORRUPT));
            r->p.oldest_seq = cut;
            r->p.entries -= k;
            r->p.bytes -= b;
            *budget -= k;
            s->stats.retained_out += k; /* undone by the caller if the flush fails */
            touch(s, r);
        }
        if (stop || !k)
            return RELAY_STORE_OK;
    }
    return RELAY_STORE_OK;
}

/*
 * The sweep (outside any transaction, reads only): looks at the next sweep_rooms rooms
 * and puts those that retention has work on into the debt list, so that idle rooms age
 * out too.
 */
static relay_store_err sweep(relay_store *s, uint64_t now_ms)
{
    struct cand {
        int64_t rowid;
        uint64_t oldest;
        int need;
        size_t id_len;
        uint8_t id[RELAY_STORE_ROOM_ID_MAX];
    } *c;
    uint32_t n = 0, want = s->o.sweep_rooms ? s->o.sweep_rooms : 1;
    relay_store_err err = RELAY_STORE_OK;
    sqlite3_stmt *q;
    int rc;

    c = calloc(want, sizeof *c);
    if (!c)
        return fail_msg(s, RELAY_STORE_ERR_NOMEM, "store: out of memory");
    q = stmt(s, ST_SWEEP);
    sqlite3_bind_int64(q, 1, s->sweep_cursor);
    sqlite3_bind_int64(q, 2, want);
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        int bytes = sqlite3_column_bytes(q, 1);
        c[n].rowid = sqlite3_column_int64(q, 0);
        if (bytes < 1 || bytes > RELAY_STORE_ROOM_ID_MAX)
            continue;
        c[n].id_len = (size_t)bytes;
        memcpy(c[n].id, sqlite3_column_blob(q, 1), (size_t)bytes);
        c[n].need = over_bounds(s, (uint64_t)sqlite3_column_int64(q, 2),
                                (uint64_t)sqlite3_column_int64(q, 3));
        c[n].oldest = (uint64_t)sqlite3_column_int64(q, 4);
        if (sqlite3_column_int64(q, 2) == 0)
            c[n].oldest = 0; /* empty: nothing to age */
        s->sweep_cursor = c[n].rowid;
        n++;
    }
    sqlite3_reset(q);
    if (rc != SQLITE_DONE) {
        err = db_fail(s, rc, "sweeping the rooms");
        goto fail;
    }
    if (n < want)
        s->sweep_cursor = 0;
    for (uint32_t i = 0; i < n; i++) {
        store_room *r = NULL;
        if (!c[i].need && c[i].oldest && s->o.max_age_ms) {
            q = stmt(s, ST_ENT_TIME);
            sqlite3_bind_int64(q, 1, c[i].rowid);
            sqlite3_bind_int64(q, 2, (int64_t)c[i].oldest);
            rc = sqlite3_step(q);
            if (rc == SQLITE_ROW)
                c[i].need = expired(s, (uint64_t)sqlite3_column_int64(q, 0), now_ms);
            sqlite3_reset(q);
            if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
                err = db_fail(s, rc, "sweeping the rooms");
                goto fail;
            }
        }
        if (!c[i].need)
            continue;
        err = room_find(s, c[i].id, c[i].id_len, &r);
        if (err != RELAY_STORE_OK)
            goto fail;
        if (r)
            owe(s, r);
    }
fail:
    free(c);
    return err;
}

static relay_store_err write_room(relay_store *s, store_room *r)
{
    sqlite3_stmt *q = stmt(s, ST_ROOM_UPD);
    int rc;

    sqlite3_bind_int64(q, 1, (int64_t)r->p.epoch);
    sqlite3_bind_blob(q, 2, r->p.join_pk, RELAY_STORE_PK_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, (int64_t)r->p.head_seq);
    sqlite3_bind_int64(q, 4, (int64_t)r->p.oldest_seq);
    sqlite3_bind_int64(q, 5, (int64_t)r->p.entries);
    sqlite3_bind_int64(q, 6, (int64_t)r->p.bytes);
    sqlite3_bind_blob(q, 7, r->p.head_hash, RELAY_STORE_HASH_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(q, 8, r->rowid);
    rc = run(q);
    return rc == SQLITE_OK ? RELAY_STORE_OK : db_fail(s, rc, "updating a room");
}

static relay_store_err vacuum_step(relay_store *s)
{
    int64_t free_pages = 0, pages = 0;
    int rc;
    char sql[64];

    rc = sqlite3_step(stmt(s, ST_FREELIST));
    if (rc == SQLITE_ROW)
        free_pages = sqlite3_column_int64(s->st[ST_FREELIST], 0);
    sqlite3_reset(s->st[ST_FREELIST]);
    rc = sqlite3_step(stmt(s, ST_PAGES));
    if (rc == SQLITE_ROW)
        pages = sqlite3_column_int64(s->st[ST_PAGES], 0);
    sqlite3_reset(s->st[ST_PAGES]);
    /* Free pages are reused by later inserts; give them back only after a big shrink. */
    if (free_pages < 1024 || free_pages * 4 < pages)
        return RELAY_STORE_OK;
    snprintf(sql, sizeof sql, "PRAGMA incremental_vacuum(%d)", STORE_VACUUM_PAGES);
    rc = sqlite3_exec(s->db, sql, 0, 0, 0);
    return rc == SQLITE_OK ? RELAY_STORE_OK : db_fail(s, rc, "incremental vacuum");
}

relay_store_err relay_store_flush(relay_store *s, uint64_t now_ms, relay_store_done_fn done,
                                  void *ctx)
{
    store_op *ops, *op;
    store_room *r, *next;
    relay_store_err err = RELAY_STORE_OK;
    uint64_t t0, budget, retained0, appended = 0;
    int64_t d_entries = 0, d_bytes = 0, d_rooms = 0;
    int finished, rc;

    if (!s)
        return RELAY_STORE_ERR_ARG;
    if (now_ms >= s->next_sweep_ms) {
        s->next_sweep_ms = now_ms + s->o.sweep_every_ms;
        err = sweep(s, now_ms);
        if (err != RELAY_STORE_OK && !s->ops)
            return err;
        err = RELAY_STORE_OK;
    }
    if (!s->ops && !s->debt)
        return RELAY_STORE_OK;

    t0 = now_ns();
    retained0 = s->stats.retained_out;
    ops = s->ops;
    s->ops = NULL;
    s->ops_tail = &s->ops;
    budget = s->o.retain_rows + s->n_ops;
    s->n_ops = 0;
    s->staged_bytes = 0;
    if (!budget)
        budget = 1;
    /* Rooms retention owes work to join the rooms with staged writes. */
    while (s->debt) {
        r = s->debt;
        s->debt = r->debt_next;
        r->in_debt = 0;
        touch(s, r);
    }
    for (r = s->touched; r; r = r->touched_next)
        memcpy(r->run_pk, r->d.join_pk, RELAY_STORE_PK_BYTES);

    rc = run(stmt(s, ST_BEGIN));
    if (rc != SQLITE_OK) {
        err = db_fail(s, rc, "beginning a transaction");
        goto fail;
    }
    for (op = ops; op; op = op->next) {
        err = apply_op(s, op);
        if (err != RELAY_STORE_OK)
            goto fail;
        if (op->kind == OP_APPEND)
            appended++;
    }
    for (r = s->touched; r; r = r->touched_next) {
        err = retain_room(s, r, now_ms, &budget, &finished);
        if (err != RELAY_STORE_OK)
            goto fail;
        if (!finished)
            owe(s, r);
    }
    for (r = s->touched; r; r = r->touched_next) {
        err = write_room(s, r);
        if (err != RELAY_STORE_OK)
            goto fail;
    }
    if (s->stats.retained_out != retained0) {
        err = vacuum_step(s);
        if (err != RELAY_STORE_OK)
            goto fail;
    }
    rc = run(stmt(s, ST_COMMIT));
    if (rc != SQLITE_OK) {
        err = db_fail(s, rc, "committing");
        goto fail;
    }
    for (r = s->touched; r; r = next) {
        next = r->touched_next;
        d_entries += (int64_t)r->p.entries - (int64_t)r->d.entries;
        d_bytes += (int64_t)r->p.bytes - (int64_t)r->d.bytes;
        r->d = r->p;
        r->durable = 1;
        r->touched = 0;
        r->touched_next = NULL;
    }
    for (op = ops; op; op = op->next)
        if (op->kind == OP_CREATE)
            d_rooms++;
    s->touched = NULL;
    s->stats.rooms += (uint64_t)d_rooms;
    s->stats.entries += (uint64_t)d_entries;
    s->stats.bytes += (uint64_t)d_bytes;
    s->stats.appended += appended;
    goto report;

fail:
    if (!sqlite3_get_autocommit(s->db))
        run(stmt(s, ST_ROLLBACK));
    s->stats.retained_out = retained0;
    s->stats.flush_failures++;
    /* Every touched room goes back to its durable state; a room whose creation failed is
     * forgotten. Retention owes nothing now (or a persistent error would retry on every
     * turn): the next append to a room, or the sweep, finds its work again. */
    while (s->debt) {
        r = s->debt;
        s->debt = r->debt_next;
        r->in_debt = 0;
    }
    for (r = s->touched; r; r = next) {
        next = r->touched_next;
        r->touched = 0;
        r->p = r->d;
        if (!r->durable)
            room_drop(s, r);
    }
    s->touched = NULL;
report:
    {
        uint64_t dt = now_ns() - t0;
        s->stats.flushes++;
        s->stats.flush_ns_sum += dt;
        s->stats.flush_ns_last = dt;
        if (dt > s->stats.flush_ns_max)
            s->stats.flush_ns_max = dt;
    }
    if (done)
        for (op = ops; op; op = op->next)
            done(ctx, op->tag, op->id, op->id_len, op->kind == OP_APPEND ? op->seq : 0, err);
    ops_free(ops);
    return err;
}

/* ---- reads ---- */

/* The room, durable or staged; ERR_NO_ROOM if none. */
static relay_store_err room_get(relay_store *s, const uint8_t *id, size_t len, store_room **r)
{
    relay_store_err err;

    if (!s)
        return RELAY_STORE_ERR_ARG;
    if (!id_ok(id, len))
        return fail_msg(s, RELAY_STORE_ERR_ARG, "store: bad room id length");
    err = room_find(s, id, len, r);
    if (err == RELAY_STORE_OK && !*r)
        err = fail_msg(s, RELAY_STORE_ERR_NO_ROOM, "store: no such room");
    return err;
}

relay_store_err relay_store_meta_get(relay_store *s, const uint8_t *room_id, size_t room_len,
                                     relay_store_meta *m)
{
    store_room *r;
    relay_store_err err = room_get(s, room_id, room_len, &r);

    if (err != RELAY_STORE_OK)
        return err;
    if (!m)
        return fail_msg(s, RELAY_STORE_ERR_ARG, "store: meta: no output");
    memset(m, 0, sizeof *m);
    m->epoch = r->p.epoch;
    m->head_seq = r->p.head_seq;
    m->durable_head = r->d.head_seq;
    m->oldest_seq = r->d.oldest_seq;
    m->gi_seq = r->d.gi_seq;
    m->entries = r->d.entries;
    m->bytes = r->d.bytes;
    m->created_ms = r->created_ms;
    memcpy(m->join_pk, r->p.join_pk, RELAY_STORE_PK_BYTES);
    memcpy(m->head_hash, r->p.head_hash, RELAY_STORE_HASH_BYTES);
    memcpy(m->gi_hash, r->d.gi_hash, RELAY_STORE_HASH_BYTES);
    m->durable = r->durable;
    m->earlier_keys = r->d.earlier_keys > UINT32_MAX ? UINT32_MAX : (uint32_t)r->d.earlier_keys;
    return RELAY_STORE_OK;
}

relay_store_err relay_store_key_info(relay_store *s, const uint8_t *room_id, size_t room_len,
                                     const uint8_t pk[RELAY_STORE_PK_BYTES], int *kind,
                                     uint64_t *until)
{
    store_room *r;
    relay_store_err err = room_get(s, room_id, room_len, &r);
    sqlite3_stmt *q;
    const uint8_t *prev;
    int rc;

    if (err != RELAY_STORE_OK)
        return err;
    if (!pk || !kind)
        return fail_msg(s, RELAY_STORE_ERR_ARG, "store: key_kind: NULL argument");
    *kind = RELAY_STORE_KEY_UNKNOWN;
    if (until)
        *until = UINT64_MAX;
    if (!sodium_memcmp(pk, r->p.join_pk, RELAY_STORE_PK_BYTES)) {
        *kind = RELAY_STORE_KEY_CURRENT;
        return RELAY_STORE_OK;
    }
    /* replaced by a staged rotation: the durable key, or a key staged then replaced; the
     * staged commit that replaced it is the one after which it stops */
    prev = r->durable ? r->d.join_pk : NULL;
    for (store_op *op = s->ops; op; op = op->next) {
        if (op->room != r)
            continue;
        if (op->kind == OP_CREATE) {
            prev = op->join_pk;
        } else if (op->flags & RELAY_STORE_F_JOIN_PK) {
            if (prev && !sodium_memcmp(pk, prev, RELAY_STORE_PK_BYTES)) {
                /* the last replacement counts: a key made current again reads on */
                *kind = RELAY_STORE_KEY_EARLIER;
                if (until)
                    *until = op->seq;
            }
            prev = op->join_pk;
        }
    }
    if (*kind == RELAY_STORE_KEY_EARLIER)
        return RELAY_STORE_OK;
    if (!r->durable)
        return RELAY_STORE_OK;
    q = stmt(s, ST_KEY_FIND);
    sqlite3_bind_int64(q, 1, r->rowid);
    sqlite3_bind_blob(q, 2, pk, RELAY_STORE_PK_BYTES, SQLITE_STATIC);
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        *kind = RELAY_STORE_KEY_EARLIER;
        if (until)
            *until = (uint64_t)sqlite3_column_int64(q, 0);
    }
    sqlite3_reset(q);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return db_fail(s, rc, "looking up a key");
    return RELAY_STORE_OK;
}

relay_store_err relay_store_key_kind(relay_store *s, const uint8_t *room_id, size_t room_len,
                                     const uint8_t pk[RELAY_STORE_PK_BYTES], int *kind)
{
    return relay_store_key_info(s, room_id, room_len, pk, kind, NULL);
}

relay_store_err relay_store_earlier_keys(relay_store *s, const uint8_t *room_id, size_t room_len,
                                         uint8_t (*keys)[RELAY_STORE_PK_BYTES], size_t cap,
                                         size_t *n)
{
    store_room *r;
    relay_store_err err = room_get(s, room_id, room_len, &r);
    sqlite3_stmt *q;
    size_t i = 0;
    int rc;

    if (err != RELAY_STORE_OK)
        return err;
    if (!n || (cap && !keys))
        return fail_msg(s, RELAY_STORE_ERR_ARG, "store: earlier_keys: NULL argument");
    *n = 0;
    if (!r->durable)
        return RELAY_STORE_OK;
    q = stmt(s, ST_KEY_LIST);
    sqlite3_bind_int64(q, 1, r->rowid);
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (i < cap && blob_col(q, 0, keys[i], RELAY_STORE_PK_BYTES)) {
            sqlite3_reset(q);
            return fail_msg(s, RELAY_STORE_ERR_CORRUPT, "store %s: an earlier key is damaged: %s",
                            s->path, advice(RELAY_STORE_ERR_CORRUPT));
        }
        i++;
    }
    sqlite3_reset(q);
    if (rc != SQLITE_DONE)
        return db_fail(s, rc, "listing earlier keys");
    *n = i;
    return RELAY_STORE_OK;
}

relay_store_err relay_store_gi(relay_store *s, const uint8_t *room_id, size_t room_len,
                               uint8_t *buf, size_t cap, size_t *len, uint64_t *seq)
{
    store_room *r;
    relay_store_err err = room_get(s, room_id, room_len, &r);
    sqlite3_stmt *q;
    int rc, n;

    if (err != RELAY_STORE_OK)
        return err;
    if (!len || !seq || (cap && !buf))
        return fail_msg(s, RELAY_STORE_ERR_ARG, "store: gi: NULL argument");
    if (!r->durable)
        return fail_msg(s, RELAY_STORE_ERR_NO_ROOM, "store: the room's creation is not durable yet");
    q = stmt(s, ST_GI_GET);
    sqlite3_bind_int64(q, 1, r->rowid);
    rc = sqlite3_step(q);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(q);
        return rc == SQLITE_DONE ? fail_msg(s, RELAY_STORE_ERR_CORRUPT, "store %s: a room vanished",
                                            s->path)
                                 : db_fail(s, rc, "reading a GroupInfo");
    }
    n = sqlite3_column_bytes(q, 0);
    *len = (size_t)n;
    *seq = (uint64_t)sqlite3_column_int64(q, 1);
    if (sqlite3_column_type(q, 0) != SQLITE_BLOB || n < 1) {
        sqlite3_reset(q);
        return fail_msg(s, RELAY_STORE_ERR_CORRUPT, "store %s: a room's gi_box is damaged: %s",
                        s->path, advice(RELAY_STORE_ERR_CORRUPT));
    }
    if ((size_t)n > cap) {
        sqlite3_reset(q);
        return fail_msg(s, RELAY_STORE_ERR_ARG, "store: gi: buffer too small (%d bytes needed)", n);
    }
    memcpy(buf, sqlite3_column_blob(q, 0), (size_t)n);
    sqlite3_reset(q);
    return RELAY_STORE_OK;
}

relay_store_err relay_store_read(relay_store *s, const uint8_t *room_id, size_t room_len,
                                 uint64_t after_seq, uint32_t max_entries, size_t max_bytes,
                                 relay_store_entry_fn fn, void *ctx, uint64_t *last)
{
    store_room *r;
    relay_store_err err = room_get(s, room_id, room_len, &r);
    relay_store_entry e;
    uint64_t expect;
    size_t total = 0;
    sqlite3_stmt *q;
    int rc;

    if (err != RELAY_STORE_OK)
        return err;
    if (!fn || !last || !max_entries || after_seq > INT64_MAX)
        return fail_msg(s, RELAY_STORE_ERR_ARG, "store: read: bad argument");
    *last = after_seq;
    if (!r->durable)
        return fail_msg(s, RELAY_STORE_ERR_NO_ROOM, "store: the room's creation is not durable yet");
    if (after_seq > r->d.head_seq)
        return fail_msg(s, RELAY_STORE_ERR_AHEAD, "store: read: seq %llu is past the head %llu",
                        (unsigned long long)after_seq, (unsigned long long)r->d.head_seq);
    if (after_seq + 1 < r->d.oldest_seq)
        return fail_msg(s, RELAY_STORE_ERR_GONE, "store: read: entries up to %llu are gone",
                        (unsigned long long)r->d.oldest_seq - 1);
    if (after_seq == r->d.head_seq)
        return RELAY_STORE_OK;
    expect = after_seq + 1;
    q = stmt(s, ST_ENT_READ);
    sqlite3_bind_int64(q, 1, r->rowid);
    sqlite3_bind_int64(q, 2, (int64_t)after_seq);
    sqlite3_bind_int64(q, 3, max_entries);
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        int n = sqlite3_column_bytes(q, 4);
        memset(&e, 0, sizeof e);
        e.seq = (uint64_t)sqlite3_column_int64(q, 0);
        e.time_ms = (uint64_t)sqlite3_column_int64(q, 1);
        e.flags = (unsigned)sqlite3_column_int(q, 2);
        if (e.seq != expect || n < 1 ||
            ((e.flags & RELAY_STORE_F_JOIN_PK) && blob_col(q, 3, e.join_pk, RELAY_STORE_PK_BYTES))) {
            sqlite3_reset(q);
            return fail_msg(s, RELAY_STORE_ERR_CORRUPT,
                            "store %s: entry %llu of a room is missing or damaged: %s", s->path,
                            (unsigned long long)expect, advice(RELAY_STORE_ERR_CORRUPT));
        }
        if (total && total + (size_t)n > max_bytes)
            break;
        e.body = sqlite3_column_blob(q, 4);
        e.len = (size_t)n;
        total += e.len;
        *last = e.seq;
        expect++;
        if (fn(ctx, &e))
            break;
    }
    sqlite3_reset(q);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return db_fail(s, rc, "reading entries");
    if (rc == SQLITE_DONE && *last < r->d.head_seq && *last - after_seq < max_entries)
        return fail_msg(s, RELAY_STORE_ERR_CORRUPT, "store %s: entries after %llu are missing: %s",
                        s->path, (unsigned long long)*last, advice(RELAY_STORE_ERR_CORRUPT));
    return RELAY_STORE_OK;
}

void relay_store_stats_get(relay_store *s, relay_store_stats *st)
{
    struct stat sb;

    memset(st, 0, sizeof *st);
    if (!s)
        return;
    *st = s->stats;
    if (!stat(s->path, &sb))
        st->file_bytes += (uint64_t)sb.st_size;
    if (!stat(s->wal_path, &sb))
        st->file_bytes += (uint64_t)sb.st_size;
}

relay_store_err relay_store_integrity_check(relay_store *s)
{
    if (!s)
        return RELAY_STORE_ERR_ARG;
    return check_db(s, "PRAGMA integrity_check(1)");
}
