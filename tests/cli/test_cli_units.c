/* Unit tests of the client's pure modules: JSON, text sanitizing, backoff, arguments,
 * private files, identity and storage keys, the room store and history, commands. */
#include <dirent.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../unit/check.h"
#include "cli_args.h"
#include "cli_backoff.h"
#include "cli_buf.h"
#include "cli_file.h"
#include "cli_identity.h"
#include "cli_json.h"
#include "cli_text.h"
#include "cli_cmd.h"
#include "cli_history.h"
#include "cli_store.h"
#include "cli_verify.h"

static int buf_is(const cli_buf *b, const char *s)
{
    return b->len == strlen(s) && memcmp(b->data, s, b->len) == 0;
}

static void test_json(void)
{
    cli_buf b = {0};
    CHECK_EQ(cli_json_escape(&b, (const uint8_t *)"a\"b\\c\n\t\x01", 8), 0);
    CHECK(buf_is(&b, "\"a\\\"b\\\\c\\n\\t\\u0001\""));
    cli_buf_clear(&b);
    /* invalid UTF-8 (lone continuation, overlong, truncated) becomes U+FFFD */
    CHECK_EQ(cli_json_escape(&b, (const uint8_t *)"x\x80y\xc0\xafz\xe2\x82", 8), 0);
    CHECK(buf_is(&b, "\"x\\ufffdy\\ufffd\\ufffdz\\ufffd\\ufffd\""));
    cli_buf_clear(&b);
    CHECK_EQ(cli_json_escape(&b, (const uint8_t *)"\xc3\xa9\xe2\x80\xa8", 5), 0);
    CHECK(buf_is(&b, "\"\xc3\xa9\\u2028\""));
    cli_buf_clear(&b);
    cli_json j;
    cli_json_begin(&j, &b);
    cli_json_str(&j, "type", "message");
    cli_json_u64(&j, "time", 1234567890123ull);
    cli_json_bool(&j, "verified", 0);
    cli_json_int(&j, "code", -1);
    CHECK_EQ(cli_json_end(&j), 0);
    CHECK(buf_is(&b, "{\"type\":\"message\",\"time\":1234567890123,\"verified\":false,"
                     "\"code\":-1}\n"));
    cli_buf_free(&b);
}

static void test_text(void)
{
    cli_buf b = {0};
    uint32_t cp;
    CHECK_EQ(cli_utf8_decode((const uint8_t *)"\xf0\x9f\x98\x80", 4, &cp), 4);
    CHECK_EQ(cp, 0x1f600);
    CHECK_EQ(cli_utf8_decode((const uint8_t *)"\xed\xa0\x80", 3, &cp), 0); /* surrogate */
    CHECK_EQ(cli_utf8_decode((const uint8_t *)"\xf4\x90\x80\x80", 4, &cp), 0); /* > 10FFFF */
    CHECK(cli_utf8_valid((const uint8_t *)"h\xc3\xa9llo", 6));
    CHECK(!cli_utf8_valid((const uint8_t *)"\xff", 1));
    /* escape sequences, C1 controls and bidi overrides never reach the terminal */
    const char *evil = "\x1b[2Jhi\xc2\x9b\xe2\x80\xaex\ty\nz";
    CHECK_EQ(cli_text_sanitize(&b, (const uint8_t *)evil, strlen(evil), 0), 0);
    CHECK(buf_is(&b, "\xef\xbf\xbd[2Jhi\xef\xbf\xbd\xef\xbf\xbdx y\xef\xbf\xbdz"));
    cli_buf_clear(&b);
    CHECK_EQ(cli_text_sanitize(&b, (const uint8_t *)"a\nb", 3, CLI_TEXT_KEEP_NEWLINES), 0);
    CHECK(buf_is(&b, "a\n    b"));
    cli_buf_free(&b);
    char id[CLI_TEXT_ID_CHARS + 1];
    cli_text_id(0x1a2bull, id);
    CHECK(!strcmp(id, "0000000000001a2b"));
    uint64_t v = 0;
    CHECK_EQ(cli_text_parse_id("00001A2b", &v), 0);
    CHECK_EQ(v, 0x1a2b);
    CHECK_EQ(cli_text_parse_id("xyz", &v), -1);
    CHECK_EQ(cli_text_parse_id("00000000000000001", &v), -1);
    uint8_t key[32];
    char fp[CLI_TEXT_FP_CHARS + 1];
    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)(0x10 * i + 1);
    cli_text_fingerprint(key, fp);
    /* sc2_vf_fingerprint (30 digits in groups), computed independently with hashlib;
     * the second call comes from the cache */
    CHECK(!strcmp(fp, "29175 32354 53251 12949 71018 67106"));
    memset(fp, 0, sizeof fp);
    cli_text_fingerprint(key, fp);
    CHECK(!strcmp(fp, "29175 32354 53251 12949 71018 67106"));
}

static void test_backoff(void)
{
    /* attempt 1: 125..250 ms; doubles; capped at 30 s with jitter in [15, 30] s */
    CHECK_EQ(cli_backoff_delay_ms(1, 250, 30000, 0), 125);
    CHECK_EQ(cli_backoff_delay_ms(1, 250, 30000, 0xffffffffu), 249);
    CHECK_EQ(cli_backoff_delay_ms(3, 250, 30000, 0), 500);
    for (uint32_t a = 1; a < 100; a++) {
        uint32_t lo = cli_backoff_delay_ms(a, 250, 30000, 0);
        uint32_t hi = cli_backoff_delay_ms(a, 250, 30000, 0xffffffffu);
        CHECK(lo <= hi && hi <= 30000 && lo >= 125);
    }
    CHECK_EQ(cli_backoff_delay_ms(1000, 250, 30000, 0), 15000);
}

static void test_args(void)
{
    cli_args a;
    char err[256];
    char *v1[] = {"saltchat", "join", "http://h/#sc1.x", "--name", "bob", "--batch",
                  "--retries=3", "--wait", "5"};
    CHECK_EQ(cli_args_parse(9, v1, &a, err, sizeof err), 0);
    CHECK_EQ(a.command, CLI_CMD_JOIN);
    CHECK(!strcmp(a.target, "http://h/#sc1.x"));
    CHECK(!strcmp(a.name, "bob"));
    CHECK(a.batch);
    CHECK_EQ(a.retries, 3);
    CHECK_EQ(a.wait_s, 5);
    char *v2[] = {"saltchat", "new", "ws://h:1", "--no-qr"};
    CHECK_EQ(cli_args_parse(4, v2, &a, err, sizeof err), 0);
    CHECK_EQ(a.command, CLI_CMD_NEW);
    CHECK_EQ(a.qr, CLI_QR_OFF);
    /* join without a link reads it from --link-file or stdin */
    char *v3[] = {"saltchat", "join"};
    CHECK_EQ(cli_args_parse(2, v3, &a, err, sizeof err), 0);
    CHECK(a.target == NULL && a.link_file == NULL);
    char *v3b[] = {"saltchat", "join", "--link-file", "f", "--data=d"};
    CHECK_EQ(cli_args_parse(5, v3b, &a, err, sizeof err), 0);
    CHECK(!strcmp(a.link_file, "f") && !strcmp(a.data_dir, "d"));
    char *v3c[] = {"saltchat", "join", "x", "--link-file", "f"};
    CHECK_EQ(cli_args_parse(5, v3c, &a, err, sizeof err), -1);
    CHECK(strstr(err, "not both") != NULL);
    char *v3d[] = {"saltchat", "open"};
    CHECK_EQ(cli_args_parse(2, v3d, &a, err, sizeof err), -1);
    CHECK(strstr(err, "room id") != NULL);
    char *v3e[] = {"saltchat", "open", "abc"};
    CHECK_EQ(cli_args_parse(3, v3e, &a, err, sizeof err), 0);
    CHECK(a.command == CLI_CMD_OPEN && !strcmp(a.target, "abc"));
    char *v3f[] = {"saltchat", "rooms", "extra"};
    CHECK_EQ(cli_args_parse(3, v3f, &a, err, sizeof err), -1);
    char *v4[] = {"saltchat", "join", "x", "--wait", "-1"};
    CHECK_EQ(cli_args_parse(5, v4, &a, err, sizeof err), -1);
    char *v5[] = {"saltchat", "join", "x", "--bogus"};
    CHECK_EQ(cli_args_parse(4, v5, &a, err, sizeof err), -1);
    CHECK(strstr(err, "--bogus") != NULL);
    char *v6[] = {"saltchat", "join", "x", "--name"};
    CHECK_EQ(cli_args_parse(4, v6, &a, err, sizeof err), -1);
    char *v7[] = {"saltchat", "frobnicate", "x"};
    CHECK_EQ(cli_args_parse(3, v7, &a, err, sizeof err), -1);
    char *v8[] = {"saltchat", "--help"};
    CHECK_EQ(cli_args_parse(2, v8, &a, err, sizeof err), 0);
    CHECK_EQ(a.command, CLI_CMD_HELP);
    /* --relay: repeatable failover alternatives */
    char *v9[] = {"saltchat", "join", "x", "--relay", "ws://a:1", "--relay=ws://b:2"};
    CHECK_EQ(cli_args_parse(6, v9, &a, err, sizeof err), 0);
    CHECK_EQ(a.n_relays, 2);
    CHECK(!strcmp(a.relays[0], "ws://a:1") && !strcmp(a.relays[1], "ws://b:2"));
    char *v10[] = {"saltchat", "new", "ws://h:1", "--link-file", "f"};
    CHECK_EQ(cli_args_parse(5, v10, &a, err, sizeof err), -1);
    CHECK(strstr(err, "--link-file") != NULL);
    char *v11[] = {"saltchat", "join", "x", "--relay", "1", "--relay", "2", "--relay", "3",
                   "--relay", "4", "--relay", "5", "--relay", "6", "--relay", "7",
                   "--relay", "8", "--relay", "9"};
    CHECK_EQ(cli_args_parse(21, v11, &a, err, sizeof err), -1);
    CHECK(strstr(err, "at most") != NULL);
    /* room ids are base64url: one in 64 starts with '-', and 'open' must take it */
    char *v12[] = {"saltchat", "open", "--batch", "-Xq3", "--data", "d"};
    CHECK_EQ(cli_args_parse(6, v12, &a, err, sizeof err), 0);
    CHECK(a.command == CLI_CMD_OPEN && a.batch && !strcmp(a.target, "-Xq3"));
    CHECK(!strcmp(a.data_dir, "d"));
    char *v13[] = {"saltchat", "open", "--", "--data"};
    CHECK_EQ(cli_args_parse(4, v13, &a, err, sizeof err), 0);
    CHECK(!strcmp(a.target, "--data") && !a.data_dir);
    char *v14[] = {"saltchat", "join", "-Xq3"};
    CHECK_EQ(cli_args_parse(3, v14, &a, err, sizeof err), -1);
    CHECK(strstr(err, "unknown option") != NULL);
    char *v15[] = {"saltchat", "open", "-Xq3", "-Yz"};
    CHECK_EQ(cli_args_parse(4, v15, &a, err, sizeof err), -1);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    chmod(path, mode);
}

static void test_files(const char *tmp)
{
    char dir[512], path[600], err[512];
    cli_buf b = {0};
    snprintf(dir, sizeof dir, "%s/a/b/saltchat", tmp);
    CHECK_EQ(cli_file_private_dir(dir, err, sizeof err), CLI_FILE_OK);
    struct stat st;
    CHECK(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0700);
    chmod(dir, 0777);
    CHECK_EQ(cli_file_private_dir(dir, err, sizeof err), CLI_FILE_ERROR);
    CHECK(strstr(err, "too open") && strstr(err, "chmod 700"));
    chmod(dir, 0700);

    snprintf(path, sizeof path, "%s/f", dir);
    CHECK_EQ(cli_file_read_private(path, &b, 100, err, sizeof err), CLI_FILE_MISSING);
    CHECK_EQ(cli_file_write_private(path, "hello", 5, 0, err, sizeof err), CLI_FILE_OK);
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
    CHECK_EQ(cli_file_write_private(path, "other", 5, 0, err, sizeof err), CLI_FILE_EXISTS);
    CHECK_EQ(cli_file_read_private(path, &b, 100, err, sizeof err), CLI_FILE_OK);
    CHECK(buf_is(&b, "hello"));
    CHECK_EQ(cli_file_read_private(path, &b, 3, err, sizeof err), CLI_FILE_ERROR);
    CHECK(strstr(err, "larger than") != NULL);
    CHECK_EQ(cli_file_write_private(path, "bye", 3, 1, err, sizeof err), CLI_FILE_OK);
    CHECK_EQ(cli_file_read_private(path, &b, 100, err, sizeof err), CLI_FILE_OK);
    CHECK(buf_is(&b, "bye"));
    chmod(path, 0644);
    CHECK_EQ(cli_file_read_private(path, &b, 100, err, sizeof err), CLI_FILE_ERROR);
    CHECK(strstr(err, "too open") && strstr(err, "chmod 600"));
    char link[600];
    snprintf(link, sizeof link, "%s/l", dir);
    CHECK_EQ(symlink(path, link), 0);
    CHECK_EQ(cli_file_read_private(link, &b, 100, err, sizeof err), CLI_FILE_ERROR);
    CHECK(strstr(err, "symbolic link") != NULL);
    snprintf(path, sizeof path, "%s/d", dir);
    mkdir(path, 0700);
    CHECK_EQ(cli_file_read_private(path, &b, 100, err, sizeof err), CLI_FILE_ERROR);
    CHECK(strstr(err, "cannot read") != NULL);
    cli_buf_free(&b);
}

static void test_identity(const char *tmp)
{
    char dir[512], path[600], err[512];
    cli_identity a, b;
    int created = 0;
    snprintf(dir, sizeof dir, "%s/id", tmp);
    CHECK_EQ(cli_identity_load(dir, &a, &created, err, sizeof err), 0);
    CHECK_EQ(created, 1);
    CHECK_EQ(strlen(a.fingerprint), CLI_TEXT_FP_CHARS);
    snprintf(path, sizeof path, "%s/%s", dir, CLI_STORAGE_KEY_FILE);
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
    CHECK_EQ(cli_identity_load(dir, &b, &created, err, sizeof err), 0);
    CHECK_EQ(created, 0);
    CHECK_MEM(a.pk, b.pk, sizeof a.pk);
    CHECK_MEM(a.sk, b.sk, sizeof a.sk);
    CHECK_MEM(a.storage_key, b.storage_key, sizeof a.storage_key);
    chmod(path, 0644);
    CHECK_EQ(cli_identity_load(dir, &b, &created, err, sizeof err), -1);
    CHECK(strstr(err, "too open") != NULL);
    chmod(path, 0600);
    snprintf(path, sizeof path, "%s/%s", dir, CLI_IDENTITY_FILE);
    chmod(path, 0640);
    CHECK_EQ(cli_identity_load(dir, &b, &created, err, sizeof err), -1);
    CHECK(strstr(err, "too open") != NULL);
    /* a flipped hex digit in the secret key no longer matches its public half */
    FILE *f = fopen(path, "r+");
    char text[256];
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    text[strlen(CLI_IDENTITY_HEADER) + 3] ^= 1;
    rewind(f);
    fwrite(text, 1, n, f);
    fclose(f);
    chmod(path, 0600);
    CHECK_EQ(cli_identity_load(dir, &b, &created, err, sizeof err), -1);
    CHECK(strstr(err, "malformed") != NULL);
    write_file(path, "not a key\n", 0600);
    CHECK_EQ(cli_identity_load(dir, &b, &created, err, sizeof err), -1);
    CHECK(strstr(err, "malformed") != NULL);
    cli_identity_wipe(&a);
    cli_identity_wipe(&b);
}

static void test_store(const char *tmp)
{
    char data[512], dir[600], path[700], err[1400], found[CLI_STORE_ROOM_CHARS + 1];
    uint8_t key[32], other[32], ident[32];
    cli_store_room r, l;
    memset(&r, 0, sizeof r);
    memset(&l, 0, sizeof l);
    randombytes_buf(key, sizeof key);
    randombytes_buf(other, sizeof other);
    memset(ident, 7, sizeof ident);
    snprintf(data, sizeof data, "%s/data", tmp);
    CHECK_EQ(cli_store_dir(data, dir, sizeof dir, err, sizeof err), 0);
    struct stat st;
    CHECK(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0700);
    snprintf(r.room, sizeof r.room, "AAAAAAAAAAAAAAAAAAAAAA");
    snprintf(r.name, sizeof r.name, "bob");
    snprintf(r.base, sizeof r.base, "http://h:1/");
    r.status = CLI_STORE_ACTIVE;
    CHECK_EQ(cli_buf_append(&r.state, "SC2Rstate", 9), 0);
    CHECK_EQ(cli_store_own_add(&r.own, 7, (const uint8_t *)"pending one", 11), 0);
    CHECK_EQ(cli_store_own_add(&r.own, 9, (const uint8_t *)"", 0), 0);
    CHECK_EQ(cli_store_save(dir, key, &r, err, sizeof err), 0);
    CHECK_EQ(cli_store_load(dir, key, r.room, &l, err, sizeof err), 0);
    CHECK(!strcmp(l.name, "bob") && !strcmp(l.base, "http://h:1/") && l.status == 0);
    CHECK(buf_is(&l.state, "SC2Rstate"));
    {
        size_t off = 0, tl = 0;
        uint64_t tk = 0;
        const uint8_t *tx = NULL;
        CHECK_EQ(cli_store_own_next(&l.own, &off, &tk, &tx, &tl), 1);
        CHECK(tk == 7 && tl == 11 && !memcmp(tx, "pending one", 11));
        CHECK_EQ(cli_store_own_next(&l.own, &off, &tk, &tx, &tl), 1);
        CHECK(tk == 9 && tl == 0);
        CHECK_EQ(cli_store_own_next(&l.own, &off, &tk, &tx, &tl), 0);
        cli_buf bad = {0};
        cli_buf_append(&bad, l.own.data, l.own.len - 1);
        off = 0;
        CHECK_EQ(cli_store_own_next(&bad, &off, &tk, &tx, &tl), 1);
        CHECK_EQ(cli_store_own_next(&bad, &off, &tk, &tx, &tl), -1);
        cli_buf_free(&bad);
    }
    snprintf(path, sizeof path, "%s/%s.state", dir, r.room);
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
    /* no plaintext on disk */
    cli_buf raw = {0};
    CHECK_EQ(cli_file_read_private(path, &raw, 1 << 20, err, sizeof err), CLI_FILE_OK);
    CHECK(raw.len > 9 && memmem(raw.data, raw.len, "SC2Rstate", 9) == NULL);
    CHECK(memmem(raw.data, raw.len, "bob", 3) == NULL);
    /* another key, a flipped byte, garbage: clear errors */
    CHECK_EQ(cli_store_load(dir, other, r.room, &l, err, sizeof err), -1);
    CHECK(strstr(err, "does not decrypt") != NULL);
    raw.data[raw.len - 1] ^= 1;
    CHECK_EQ(cli_file_write_private(path, raw.data, raw.len, 1, err, sizeof err), CLI_FILE_OK);
    CHECK_EQ(cli_store_load(dir, key, r.room, &l, err, sizeof err), -1);
    CHECK(strstr(err, "does not decrypt") != NULL);
    CHECK_EQ(cli_file_write_private(path, "junk", 4, 1, err, sizeof err), CLI_FILE_OK);
    CHECK_EQ(cli_store_load(dir, key, r.room, &l, err, sizeof err), -1);
    CHECK(strstr(err, "not a saltchat room state") != NULL);
    chmod(path, 0644);
    CHECK_EQ(cli_store_load(dir, key, r.room, &l, err, sizeof err), -1);
    CHECK(strstr(err, "too open") != NULL);
    chmod(path, 0600);
    cli_buf_free(&raw);
    CHECK_EQ(cli_store_save(dir, key, &r, err, sizeof err), 0);
    CHECK_EQ(cli_store_load(dir, key, "BBBBBBBBBBBBBBBBBBBBBB", &l, err, sizeof err), 1);
    CHECK_EQ(cli_store_load(dir, key, "../x", &l, err, sizeof err), -1);
    /* prefixes */
    CHECK_EQ(cli_store_find(dir, "AAA", found, err, sizeof err), 0);
    CHECK(!strcmp(found, r.room));
    CHECK_EQ(cli_store_find(dir, "B", found, err, sizeof err), 1);
    snprintf(r.room, sizeof r.room, "AAAAAAAAAAAAAAAAAAAAAB");
    CHECK_EQ(cli_store_save(dir, key, &r, err, sizeof err), 0);
    CHECK_EQ(cli_store_find(dir, "AAA", found, err, sizeof err), -1);
    CHECK(strstr(err, "matches 2") != NULL);
    CHECK_EQ(cli_store_find(dir, "AAAAAAAAAAAAAAAAAAAAAB", found, err, sizeof err), 0);
    cli_store_room_wipe(&r);
    cli_store_room_wipe(&l);
}

typedef struct hist_seen {
    uint64_t seqs[64];
    int n;
} hist_seen;

static void hist_collect(void *user, const cli_history_msg *m)
{
    hist_seen *h = user;
    char want[32];
    snprintf(want, sizeof want, "text%llu", (unsigned long long)m->seq);
    CHECK(m->text_len == strlen(want) && !memcmp(m->text, want, m->text_len));
    CHECK(!strcmp(m->name, "bob") && m->time_ms == 1000 + m->seq);
    if (h->n < 64)
        h->seqs[h->n++] = m->seq;
}

static size_t count_segments(const char *dir)
{
    size_t n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        if (strstr(e->d_name, ".history"))
            n++;
    if (d)
        closedir(d);
    return n;
}

static void hist_add(cli_history *h, uint64_t seq, const uint8_t *ident)
{
    char t[32], err[1400];
    snprintf(t, sizeof t, "text%llu", (unsigned long long)seq);
    cli_history_msg m = {seq, 1000 + seq, 0, ident, "bob", (const uint8_t *)t, strlen(t)};
    CHECK_EQ(cli_history_append(h, &m, err, sizeof err), 0);
}

static void test_history(const char *tmp)
{
    char data[512], dir[600], path[800], err[1400];
    const char *room = "HHHHHHHHHHHHHHHHHHHHHH";
    uint8_t key[32], other[32], ident[32];
    unsigned long b = 0;
    randombytes_buf(key, sizeof key);
    randombytes_buf(other, sizeof other);
    memset(ident, 7, sizeof ident);
    /* bounds */
    CHECK_EQ(cli_history_parse_bound("5000", "--history", &b, err, sizeof err), 0);
    CHECK_EQ(b, 5000);
    CHECK_EQ(cli_history_parse_bound("999", "--history", &b, err, sizeof err), -1);
    CHECK(strstr(err, "--history wants a number of messages from 1000 to 10000000") != NULL);
    CHECK_EQ(cli_history_parse_bound("10000001", "x", &b, err, sizeof err), -1);
    CHECK_EQ(cli_history_parse_bound("-1000", "x", &b, err, sizeof err), -1);
    CHECK_EQ(cli_history_parse_bound("1e4", "x", &b, err, sizeof err), -1);
    CHECK_EQ(cli_history_parse_bound("", "x", &b, err, sizeof err), -1);
    CHECK_EQ(cli_history_parse_bound("99999999999999999999999", "x", &b, err, sizeof err), -1);
    snprintf(data, sizeof data, "%s/hdata", tmp);
    CHECK_EQ(cli_store_dir(data, dir, sizeof dir, err, sizeof err), 0);
    /* empty: nothing, no file */
    cli_history *h = cli_history_open(dir, key, room, 1000, err, sizeof err);
    CHECK(h != NULL);
    hist_seen s = {{0}, 0};
    CHECK_EQ(cli_history_read(h, 5, hist_collect, &s, err, sizeof err), 0);
    CHECK_EQ(cli_history_last_seq(h), 0);
    CHECK_EQ(count_segments(dir), 0);
    /* 2600 records with bound 1000: segments of 125 */
    for (uint64_t q = 1; q <= 2600; q++)
        hist_add(h, q, ident);
    CHECK_EQ(cli_history_sync(h, err, sizeof err), 0);
    CHECK_EQ(cli_history_count(h), 2600);
    CHECK_EQ(cli_history_last_seq(h), 2600);
    /* trimming waits for the saved state: nothing below seq 10 is a whole segment */
    CHECK_EQ(cli_history_trim(h, 10, err, sizeof err), 0);
    CHECK_EQ(cli_history_trim(h, 2600, err, sizeof err), 12);
    CHECK(cli_history_count(h) >= 1000 && cli_history_count(h) <= 1125);
    uint64_t kept = cli_history_count(h);
    /* the last n across segment boundaries, oldest first */
    s.n = 0;
    CHECK_EQ(cli_history_read(h, 60, hist_collect, &s, err, sizeof err), 60);
    for (int i = 0; i < 60; i++)
        CHECK_EQ(s.seqs[i], (uint64_t)(2541 + i));
    s.n = 0;
    CHECK_EQ(cli_history_read(h, 100000, hist_collect, &s, err, sizeof err), (int)kept);
    CHECK_EQ(s.seqs[0], 2600 - kept + 1);
    cli_history_close(h);
    /* reopen: the same; a torn tail is cut, appending goes on */
    snprintf(path, sizeof path, "%s/%s.history", dir, room);
    FILE *f = fopen(path, "a");
    fwrite("\0\0\1\0torn", 1, 8, f);
    fclose(f);
    struct stat st0, st1;
    CHECK(stat(path, &st0) == 0);
    h = cli_history_open(dir, key, room, 1000, err, sizeof err);
    CHECK(h != NULL);
    CHECK(stat(path, &st1) == 0 && st1.st_size == st0.st_size - 8);
    CHECK_EQ(cli_history_count(h), kept);
    CHECK_EQ(cli_history_last_seq(h), 2600);
    hist_add(h, 2601, ident);
    s.n = 0;
    CHECK_EQ(cli_history_read(h, 2, hist_collect, &s, err, sizeof err), 2);
    CHECK(s.seqs[0] == 2600 && s.seqs[1] == 2601);
    /* an own message accepted before older entries arrive: the largest seq counts */
    hist_add(h, 2700, ident);
    hist_add(h, 2602, ident);
    CHECK_EQ(cli_history_last_seq(h), 2700);
    cli_history_close(h);
    h = cli_history_open(dir, key, room, 1000, err, sizeof err);
    CHECK(h != NULL);
    CHECK_EQ(cli_history_last_seq(h), 2700);
    cli_history_close(h);
    /* another key: the active segment's last record does not decrypt */
    CHECK(cli_history_open(dir, other, room, 1000, err, sizeof err) == NULL);
    CHECK(strstr(err, "does not decrypt") != NULL);
    /* no plaintext on disk */
    cli_buf raw = {0};
    CHECK_EQ(cli_file_read_private(path, &raw, 1 << 24, err, sizeof err), CLI_FILE_OK);
    CHECK(memmem(raw.data, raw.len, "text2601", 8) == NULL && memmem(raw.data, raw.len, "bob", 3) == NULL);
    cli_buf_free(&raw);
}

static void test_cmd(void)
{
    const char *arg;
    size_t n;
    CHECK_EQ(cli_cmd_parse("hello", 5, &arg, &n), CLI_CMD_K_TEXT);
    CHECK(n == 5 && arg[0] == 'h');
    CHECK_EQ(cli_cmd_parse("//x", 3, &arg, &n), CLI_CMD_K_TEXT);
    CHECK(n == 2 && !memcmp(arg, "/x", 2));
    CHECK_EQ(cli_cmd_parse("/quit", 5, &arg, &n), CLI_CMD_K_QUIT);
    CHECK_EQ(cli_cmd_parse("/quit now", 9, &arg, &n), CLI_CMD_K_UNKNOWN);
    CHECK_EQ(cli_cmd_parse("/leave", 6, &arg, &n), CLI_CMD_K_LEAVE);
    CHECK_EQ(cli_cmd_parse("/members", 8, &arg, &n), CLI_CMD_K_MEMBERS);
    CHECK_EQ(cli_cmd_parse("/link", 5, &arg, &n), CLI_CMD_K_LINK);
    CHECK_EQ(cli_cmd_parse("/remove  bob 7ade ", 18, &arg, &n), CLI_CMD_K_REMOVE);
    CHECK(n == 8 && !memcmp(arg, "bob 7ade", 8));
    CHECK_EQ(cli_cmd_parse("/history 5", 10, &arg, &n), CLI_CMD_K_HISTORY);
    CHECK(n == 1 && arg[0] == '5');
    CHECK_EQ(cli_cmd_parse("/removebob", 10, &arg, &n), CLI_CMD_K_UNKNOWN);
    CHECK_EQ(cli_cmd_parse("/", 1, &arg, &n), CLI_CMD_K_UNKNOWN);
    CHECK_EQ(cli_cmd_parse("/verify bob 12345 --yes ", 24, &arg, &n), CLI_CMD_K_VERIFY);
    CHECK(n == 15 && !memcmp(arg, "bob 12345 --yes", 15));
    CHECK_EQ(cli_cmd_parse("/unverify bob", 13, &arg, &n), CLI_CMD_K_UNVERIFY);
    CHECK(n == 3 && !memcmp(arg, "bob", 3));
    CHECK_EQ(cli_cmd_parse("/room-code", 10, &arg, &n), CLI_CMD_K_ROOM_CODE);
    CHECK_EQ(cli_cmd_parse("/room-code x", 12, &arg, &n), CLI_CMD_K_UNKNOWN);
}

/* cli_verify: marks, broken verification, the encrypted file (round trip, no plaintext,
 * wrong key, another room's file, flipped byte, too open). */
static void test_verify(const char *tmp)
{
    char data[512], dir[600], path[700], err[1400];
    uint8_t key[32], other[32], a[32], b[32], c[32];
    const char *room = "BBBBBBBBBBBBBBBBBBBBBB", *room2 = "CCCCCCCCCCCCCCCCCCCCCC";
    cli_verify v = {0}, l = {0};
    randombytes_buf(key, sizeof key);
    randombytes_buf(other, sizeof other);
    memset(a, 1, 32);
    memset(b, 2, 32);
    memset(c, 3, 32);
    snprintf(data, sizeof data, "%s/vdata", tmp);
    CHECK_EQ(cli_store_dir(data, dir, sizeof dir, err, sizeof err), 0);
    /* no file: no marks */
    CHECK_EQ(cli_verify_load(dir, key, room, &l, err, sizeof err), 0);
    CHECK_EQ(l.n, 0);
    CHECK_EQ(cli_verify_add(&v, "alice", a), 0);
    CHECK_EQ(cli_verify_add(&v, "alice", a), 1);
    CHECK_EQ(cli_verify_add(&v, "bob", b), 0);
    CHECK_EQ(cli_verify_add(&v, "", c), -1);
    char longname[80];
    memset(longname, 'x', 65);
    longname[65] = 0;
    CHECK_EQ(cli_verify_add(&v, longname, c), -1);
    CHECK(cli_verify_is(&v, a) && cli_verify_is(&v, b) && !cli_verify_is(&v, c));
    /* bob with another key: broken, pointing at the verified key; alice's own key is not */
    CHECK(cli_verify_broken(&v, "bob", c) != NULL && !memcmp(cli_verify_broken(&v, "bob", c), b, 32));
    CHECK(cli_verify_broken(&v, "bob", b) == NULL);
    CHECK(cli_verify_broken(&v, "carol", c) == NULL);
    /* a verified key under another name is not a broken verification */
    CHECK(cli_verify_broken(&v, "bob", a) == NULL);
    CHECK_EQ(cli_verify_save(dir, key, room, &v, err, sizeof err), 0);
    snprintf(path, sizeof path, "%s/%s.verified", dir, room);
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
    cli_buf f = {0};
    CHECK_EQ(cli_file_read_private(path, &f, 1 << 20, err, sizeof err), CLI_FILE_OK);
    CHECK(f.len > 4 && !memcmp(f.data, "SCVF", 4));
    CHECK(memmem(f.data, f.len, "alice", 5) == NULL && memmem(f.data, f.len, a, 32) == NULL);
    CHECK_EQ(cli_verify_load(dir, key, room, &l, err, sizeof err), 0);
    CHECK(l.n == 2 && !strcmp(l.m[0].name, "alice") && !memcmp(l.m[1].identity, b, 32));
    CHECK_EQ(cli_verify_load(dir, other, room, &l, err, sizeof err), -1);
    CHECK(strstr(err, "does not decrypt") != NULL);
    CHECK_EQ(l.n, 2); /* unchanged on error */
    /* another room's file under this room's name */
    char path2[700];
    snprintf(path2, sizeof path2, "%s/%s.verified", dir, room2);
    CHECK_EQ(cli_file_write_private(path2, f.data, f.len, 1, err, sizeof err), CLI_FILE_OK);
    CHECK_EQ(cli_verify_load(dir, key, room2, &l, err, sizeof err), -1);
    CHECK(strstr(err, "corrupt") != NULL);
    f.data[f.len - 1] ^= 1;
    CHECK_EQ(cli_file_write_private(path2, f.data, f.len, 1, err, sizeof err), CLI_FILE_OK);
    CHECK_EQ(cli_verify_load(dir, key, room2, &l, err, sizeof err), -1);
    CHECK_EQ(cli_file_write_private(path2, "SCST", 4, 1, err, sizeof err), CLI_FILE_OK);
    CHECK_EQ(cli_verify_load(dir, key, room2, &l, err, sizeof err), -1);
    CHECK(strstr(err, "not a saltchat verified-members file") != NULL);
    CHECK_EQ(cli_verify_load(dir, key, "../x", &l, err, sizeof err), -1);
    chmod(path, 0644);
    CHECK_EQ(cli_verify_load(dir, key, room, &l, err, sizeof err), -1);
    chmod(path, 0600);
    CHECK_EQ(cli_verify_remove(&v, a), 1);
    CHECK_EQ(cli_verify_remove(&v, a), 0);
    CHECK(!cli_verify_is(&v, a) && cli_verify_is(&v, b) && v.n == 1);
    cli_buf_free(&f);
    cli_verify_free(&v);
    cli_verify_free(&l);
    CHECK(v.m == NULL && v.n == 0);
}

int main(void)
{
    char tmp[] = "/tmp/saltchat-cli-unit-XXXXXX";
    if (sodium_init() < 0 || !mkdtemp(tmp))
        return 2;
    test_json();
    test_text();
    test_backoff();
    test_args();
    test_files(tmp);
    test_identity(tmp);
    test_history(tmp);
    test_store(tmp);
    test_cmd();
    test_verify(tmp);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmp);
    return check_finish("test_cli_units");
}
