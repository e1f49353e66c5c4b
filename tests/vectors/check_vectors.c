/*
 * check_vectors: checks the protocol v1 envelope vectors (envelope.txt, the relay's v1
 * envelope codec) with the real codec (shared/sc_envelope): re-encodes every envelope
 * byte for byte and parses every recorded message, batch and refusal.
 *
 *   check_vectors <vectors-dir>
 *
 * Plain C and stdio only (no POSIX), so the same source also runs as WebAssembly under
 * Node (emcc ... -sNODERAWFS=1). Exit status 0 only if every record of every file checked
 * and every field of every record was used.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sc_bytes.h"
#include "sc_envelope.h"

typedef struct field {
    char name[48];
    int is_text;
    uint8_t *val; /* text values are NUL-terminated as well */
    size_t len;
    int used;
    int line;
} field;

typedef struct record {
    const char *file;
    int line;
    field *f;
    size_t n, cap;
    int failed;
} record;

static int failures, records_checked;

static void fail(record *r, const char *what, const char *name)
{
    fprintf(stderr, "%s:%d: %s%s%s\n", r->file, r->line, what, name ? ": " : "", name ? name : "");
    r->failed = 1;
    failures++;
}

#define FAIL_IF(cond, r, name)                                                           \
    do {                                                                                 \
        if (cond)                                                                        \
            fail((r), "check failed: " #cond, (name));                                   \
    } while (0)

static field *find(record *r, const char *name)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->f[i].name, name) == 0)
            return &r->f[i];
    return NULL;
}

/* Returns the bytes of a required field (hex, or the bytes of a text), or NULL after
 * reporting it missing. want_len 0 accepts any length. */
static const uint8_t *get(record *r, const char *name, size_t want_len, size_t *len)
{
    field *f = find(r, name);
    if (!f) {
        fail(r, "missing field", name);
        return NULL;
    }
    f->used = 1;
    if (want_len && f->len != want_len) {
        fail(r, "field has the wrong length", name);
        return NULL;
    }
    if (len)
        *len = f->len;
    return f->val;
}

static const uint8_t *opt(record *r, const char *name, size_t *len)
{
    field *f = find(r, name);
    *len = 0;
    if (!f)
        return NULL;
    f->used = 1;
    *len = f->len;
    return f->val;
}

static const char *text(record *r, const char *name)
{
    field *f = find(r, name);
    if (!f || !f->is_text) {
        fail(r, f ? "field is not text" : "missing field", name);
        return NULL;
    }
    f->used = 1;
    return (const char *)f->val;
}

static int get_u64(record *r, const char *name, uint64_t *v)
{
    const uint8_t *b = get(r, name, 8, NULL);
    if (b)
        *v = sc_load64(b);
    return b != NULL;
}

static int get_u32(record *r, const char *name, uint32_t *v)
{
    const uint8_t *b = get(r, name, 4, NULL);
    if (b)
        *v = sc_load32(b);
    return b != NULL;
}

/* Compares computed bytes with a recorded field. */
static void expect(record *r, const char *name, const uint8_t *b, size_t n)
{
    size_t len;
    const uint8_t *v = get(r, name, 0, &len);
    if (v && (len != n || (n && memcmp(v, b, n) != 0)))
        fail(r, "recomputed value differs from the recorded one", name);
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static char *read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap + 1);
    size_t got;
    while (buf && (got = fread(buf + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap) {
            char *nb = realloc(buf, cap * 2 + 1);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf) {
        buf[len] = '\0';
        *n = len;
    }
    return buf;
}

static void record_free(record *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->f[i].val);
    free(r->f);
    memset(r, 0, sizeof *r);
}

/* Parses one `name: value` line into r. Returns 0 or -1 (reported). */
static int parse_line(record *r, const char *file, int lineno, const char *s, size_t n)
{
    const char *colon = memchr(s, ':', n);
    if (!colon || colon == s || (size_t)(colon - s) >= sizeof r->f[0].name ||
        colon + 1 >= s + n || colon[1] != ' ') {
        fprintf(stderr, "%s:%d: not a `name: value` line\n", file, lineno);
        return -1;
    }
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        field *nf = realloc(r->f, cap * sizeof *nf);
        if (!nf)
            return -1;
        r->f = nf;
        r->cap = cap;
    }
    field *f = &r->f[r->n];
    memset(f, 0, sizeof *f);
    memcpy(f->name, s, (size_t)(colon - s));
    f->line = lineno;
    const char *v = colon + 2;
    size_t vn = (size_t)(s + n - v);
    if (vn >= 2 && v[0] == '"' && v[vn - 1] == '"') {
        f->is_text = 1;
        f->len = vn - 2;
        f->val = malloc(f->len + 1);
        if (!f->val)
            return -1;
        memcpy(f->val, v + 1, f->len);
        f->val[f->len] = '\0';
    } else {
        if (vn == 0 || vn % 2) {
            fprintf(stderr, "%s:%d: odd-length or empty hex value\n", file, lineno);
            return -1;
        }
        f->len = vn / 2;
        f->val = malloc(f->len + 1);
        if (!f->val)
            return -1;
        for (size_t i = 0; i < f->len; i++) {
            int hi = hexval(v[2 * i]), lo = hexval(v[2 * i + 1]);
            if (hi < 0 || lo < 0) {
                fprintf(stderr, "%s:%d: bad hex digit\n", file, lineno);
                free(f->val);
                return -1;
            }
            f->val[i] = (uint8_t)(hi << 4 | lo);
        }
        f->val[f->len] = '\0';
    }
    r->n++;
    return 0;
}

typedef void (*checker)(record *r);

static checker checker_for(const char *type);

static void run_record(record *r)
{
    const char *type = text(r, "type");
    const char *name = text(r, "name");
    if (!type || !name)
        return;
    checker c = checker_for(type);
    if (!c) {
        fail(r, "unknown record type", type);
        return;
    }
    c(r);
    for (size_t i = 0; i < r->n; i++)
        if (!r->f[i].used && !r->failed)
            fail(r, "field never checked", r->f[i].name);
    records_checked++;
}

/* Checks every record in dir/name; returns the number of records (0 is a failure). */
static int check_file(const char *dir, const char *name)
{
    char path[1024];
    size_t n;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *buf = read_file(path, &n);
    if (!buf) {
        fprintf(stderr, "%s: cannot read (give the vectors directory as the argument)\n", path);
        failures++;
        return 0;
    }
    record r;
    memset(&r, 0, sizeof r);
    r.file = name;
    int count = 0, lineno = 0;
    size_t pos = 0;
    while (pos <= n) {
        size_t end = pos;
        while (end < n && buf[end] != '\n')
            end++;
        lineno++;
        size_t len = end - pos;
        if (len && buf[pos + len - 1] == '\r')
            len--;
        int blank = len == 0;
        if (!blank && buf[pos] != '#') {
            if (r.n == 0)
                r.line = lineno;
            if (parse_line(&r, name, lineno, buf + pos, len) != 0)
                failures++;
        }
        if ((blank || end >= n) && r.n) {
            run_record(&r);
            count++;
            record_free(&r);
            r.file = name;
        }
        pos = end + 1;
    }
    record_free(&r);
    free(buf);
    if (count == 0) {
        fprintf(stderr, "%s: no records\n", path);
        failures++;
    }
    return count;
}

/* ---- checks per record type --------------------------------------------------------- */

static enum sc_env_dir env_dir(record *r)
{
    const char *d = text(r, "dir");
    if (d && strcmp(d, "relay") == 0)
        return SC_ENV_FROM_RELAY;
    if (!d || strcmp(d, "client") != 0)
        fail(r, "dir must be client or relay", "dir");
    return SC_ENV_FROM_CLIENT;
}

static void check_envelope(record *r)
{
    static const struct {
        const char *name;
        uint8_t type;
    } types[] = {{"SEND_ALL", SC_ENV_T_SEND_ALL}, {"SEND_TO", SC_ENV_T_SEND_TO},
                 {"SYNC", SC_ENV_T_SYNC},         {"WELCOME", SC_ENV_T_WELCOME},
                 {"JOINED", SC_ENV_T_JOINED},     {"LEFT", SC_ENV_T_LEFT},
                 {"DATA", SC_ENV_T_DATA},         {"SYNCED", SC_ENV_T_SYNCED},
                 {"ERROR", SC_ENV_T_ERROR}};
    const char *name = text(r, "name");
    size_t bn, pl = 0, ml = 0, modelen = 0;
    const uint8_t *bytes = get(r, "bytes", 0, &bn);
    enum sc_env_dir dir = env_dir(r);
    if (!name || !bytes)
        return;
    uint8_t type = 0;
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++)
        if (strcmp(name, types[k].name) == 0)
            type = types[k].type;
    if (!type) {
        fail(r, "unknown envelope name", name);
        return;
    }
    uint64_t member = 0, token = 0;
    uint32_t max_payload = 0;
    const uint8_t *payload = opt(r, "payload", &pl), *members = opt(r, "members", &ml);
    const uint8_t *mode = opt(r, "mode", &modelen), *code = NULL;
    size_t cl = 0;
    const char *reason = NULL;
    if (mode && modelen != 1) {
        fail(r, "mode is one byte", "mode");
        return;
    }
    if (find(r, "member"))
        get_u64(r, "member", &member);
    if (find(r, "token"))
        get_u64(r, "token", &token);
    if (find(r, "max_payload"))
        get_u32(r, "max_payload", &max_payload);
    if (type == SC_ENV_T_ERROR) {
        code = get(r, "code", 2, &cl);
        reason = text(r, "reason");
        if (!code || !reason)
            return;
    }
    /* encode from the fields */
    uint8_t out[512];
    size_t n = 0;
    uint64_t list[64];
    switch (type) {
    case SC_ENV_T_SEND_ALL:
        n = sc_env_encode_send_all(out, sizeof out, payload, pl);
        break;
    case SC_ENV_T_SEND_TO:
        n = sc_env_encode_send_to(out, sizeof out, member, payload, pl);
        break;
    case SC_ENV_T_SYNC:
        n = sc_env_encode_sync(out, sizeof out, token);
        break;
    case SC_ENV_T_SYNCED:
        n = sc_env_encode_synced(out, sizeof out, token);
        break;
    case SC_ENV_T_JOINED:
        n = sc_env_encode_joined(out, sizeof out, member);
        break;
    case SC_ENV_T_LEFT:
        n = sc_env_encode_left(out, sizeof out, member);
        break;
    case SC_ENV_T_DATA:
        n = sc_env_encode_data(out, sizeof out, member, mode ? mode[0] : 0xff, payload, pl);
        break;
    case SC_ENV_T_ERROR:
        n = sc_env_encode_error(out, sizeof out, sc_load16(code), reason);
        break;
    case SC_ENV_T_WELCOME:
        if (ml % 8 || ml / 8 > 64) {
            fail(r, "members must be whole u64s", "members");
            return;
        }
        for (size_t i = 0; i < ml / 8; i++)
            list[i] = sc_load64(members + 8 * i);
        n = sc_env_encode_welcome(out, sizeof out, member, max_payload, list, (uint32_t)(ml / 8));
        break;
    }
    FAIL_IF(n == 0, r, "bytes");
    expect(r, "bytes", out, n);
    /* parse the recorded bytes: whole, then every proper prefix must be "partial" */
    sc_env e;
    uint8_t *copy = malloc(bn);
    if (!copy)
        return;
    memcpy(copy, bytes, bn);
    FAIL_IF(sc_env_parse(copy, bn, dir, &e) != (int)bn, r, "bytes");
    FAIL_IF(e.type != type, r, "bytes");
    if (payload && type != SC_ENV_T_ERROR)
        FAIL_IF(e.payload_len != pl || memcmp(e.payload, payload, pl) != 0, r, "payload");
    if (type == SC_ENV_T_SEND_TO || type == SC_ENV_T_WELCOME || type == SC_ENV_T_JOINED ||
        type == SC_ENV_T_LEFT || type == SC_ENV_T_DATA)
        FAIL_IF(e.member != member, r, "member");
    if (type == SC_ENV_T_SYNC || type == SC_ENV_T_SYNCED)
        FAIL_IF(e.token != token, r, "token");
    if (type == SC_ENV_T_DATA)
        FAIL_IF(!mode || e.mode != mode[0], r, "mode");
    if (type == SC_ENV_T_WELCOME) {
        FAIL_IF(e.max_payload != max_payload || e.n_members != ml / 8, r, "members");
        for (uint32_t i = 0; i < e.n_members && i < 64; i++)
            FAIL_IF(sc_env_welcome_member(&e, i) != list[i], r, "members");
    }
    if (type == SC_ENV_T_ERROR)
        FAIL_IF(e.code != sc_load16(code) || e.payload_len != strlen(reason) ||
                    memcmp(e.payload, reason, e.payload_len) != 0,
                r, "reason");
    free(copy);
    for (size_t i = 0; i < bn; i++) {
        copy = malloc(i ? i : 1);
        if (!copy)
            return;
        memcpy(copy, bytes, i);
        FAIL_IF(sc_env_parse(copy, i, dir, &e) != SC_ENV_E_PARTIAL, r, "bytes");
        free(copy);
    }
}

static void check_envelope_batch(record *r)
{
    size_t bn;
    const uint8_t *bytes = get(r, "bytes", 0, &bn);
    const char *count = text(r, "count");
    enum sc_env_dir dir = env_dir(r);
    if (!bytes || !count)
        return;
    uint8_t *copy = malloc(bn);
    if (!copy)
        return;
    memcpy(copy, bytes, bn);
    size_t pos = 0;
    int got = 0;
    while (pos < bn) {
        sc_env e;
        int rc = sc_env_parse(copy + pos, bn - pos, dir, &e);
        if (rc <= 0) {
            fail(r, "batch does not parse to the end", "bytes");
            break;
        }
        pos += (size_t)rc;
        got++;
    }
    FAIL_IF(got != atoi(count), r, "count");
    /* a batch cut anywhere inside its last envelope ends in "partial" */
    sc_env e;
    int last = 0;
    pos = 0;
    while (pos < bn) {
        int rc = sc_env_parse(copy + pos, bn - pos, dir, &e);
        if (rc <= 0)
            break;
        last = (int)pos;
        pos += (size_t)rc;
    }
    for (size_t cut = (size_t)last + 1; cut < bn; cut++)
        FAIL_IF(sc_env_parse(copy + last, cut - (size_t)last, dir, &e) != SC_ENV_E_PARTIAL, r,
                "bytes");
    free(copy);
}

static void check_envelope_reject(record *r)
{
    static const struct {
        const char *name;
        int code;
    } errs[] = {{"partial", SC_ENV_E_PARTIAL}, {"version", SC_ENV_E_VERSION},
                {"type", SC_ENV_E_TYPE},       {"length", SC_ENV_E_LENGTH},
                {"field", SC_ENV_E_FIELD}};
    size_t bn;
    const uint8_t *bytes = get(r, "bytes", 0, &bn);
    const char *err = text(r, "error");
    enum sc_env_dir dir = env_dir(r);
    if (!bytes || !err)
        return;
    int want = 0;
    for (size_t k = 0; k < sizeof errs / sizeof errs[0]; k++)
        if (strcmp(err, errs[k].name) == 0)
            want = errs[k].code;
    if (!want) {
        fail(r, "unknown error name", err);
        return;
    }
    uint8_t *copy = malloc(bn ? bn : 1);
    if (!copy)
        return;
    memcpy(copy, bytes, bn);
    sc_env e;
    FAIL_IF(sc_env_parse(copy, bn, dir, &e) != want, r, "error");
    free(copy);
}

static checker checker_for(const char *type)
{
    static const struct {
        const char *type;
        checker fn;
    } table[] = {
        {"envelope", check_envelope},
        {"envelope-batch", check_envelope_batch},
        {"envelope-reject", check_envelope_reject},
    };
    for (size_t k = 0; k < sizeof table / sizeof table[0]; k++)
        if (strcmp(type, table[k].type) == 0)
            return table[k].fn;
    return NULL;
}

int main(int argc, char **argv)
{
    static const char *const files[] = {"envelope.txt"};
    if (argc != 2) {
        fprintf(stderr, "usage: check_vectors <vectors-dir>\n");
        return 2;
    }
    if (sodium_init() < 0) {
        fprintf(stderr, "check_vectors: sodium_init failed\n");
        return 2;
    }
    for (size_t k = 0; k < sizeof files / sizeof files[0]; k++) {
        int n = check_file(argv[1], files[k]);
        printf("%-14s %3d records\n", files[k], n);
    }
    if (failures) {
        fprintf(stderr, "check_vectors: %d failures in %d records\n", failures, records_checked);
        return 1;
    }
    printf("check_vectors: all %d records match\n", records_checked);
    return 0;
}
