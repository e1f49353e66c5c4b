/* Unit tests of the relay's small policies: Origin, web-root paths, MIME types,
 * the token bucket, the Prometheus rendering, flag parsing and the receive-buffer pool. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../unit/check.h"
#include "relay_bucket.h"
#include "relay_config.h"
#include "relay_files.h"
#include "relay_keepalive.h"
#include "relay_metrics.h"
#include "relay_origin.h"
#include "relay_rxpool.h"

static void test_origin(void)
{
    char n[RELAY_ORIGIN_MAX];
    const char *allowed[] = {"https://chat.example.org:443"};

    CHECK_EQ(relay_origin_normalize("https://Chat.Example.org/", n, sizeof n), 0);
    CHECK(!strcmp(n, "https://chat.example.org:443"));
    CHECK_EQ(relay_origin_normalize("http://[::1]:8080", n, sizeof n), 0);
    CHECK(!strcmp(n, "http://[::1]:8080"));
    CHECK_EQ(relay_origin_normalize("ftp://x", n, sizeof n), -1);
    CHECK_EQ(relay_origin_normalize("https://x/path", n, sizeof n), -1);
    CHECK_EQ(relay_origin_normalize("https://user@x", n, sizeof n), -1);
    CHECK_EQ(relay_origin_normalize("https://x:99999", n, sizeof n), -1);
    CHECK_EQ(relay_origin_normalize("https://", n, sizeof n), -1);

    CHECK(relay_origin_allowed(NULL, "127.0.0.1:8080", NULL, 0));   /* native client */
    CHECK(relay_origin_allowed("http://127.0.0.1:8080", "127.0.0.1:8080", NULL, 0));
    CHECK(relay_origin_allowed("http://LOCALHOST:8080", "localhost:8080", NULL, 0));
    CHECK(relay_origin_allowed("https://chat.example.org", "chat.example.org", NULL, 0));
    CHECK(relay_origin_allowed("http://h", "h:80", NULL, 0));
    CHECK(!relay_origin_allowed("http://127.0.0.1:8081", "127.0.0.1:8080", NULL, 0));
    CHECK(!relay_origin_allowed("http://evil.example", "127.0.0.1:8080", NULL, 0));
    CHECK(!relay_origin_allowed("null", "127.0.0.1:8080", NULL, 0));
    CHECK(!relay_origin_allowed("", "127.0.0.1:8080", NULL, 0));
    CHECK(!relay_origin_allowed("http://127.0.0.1:8080", NULL, NULL, 0));
    CHECK(relay_origin_allowed("https://chat.example.org", "127.0.0.1:8080", allowed, 1));
    CHECK(relay_origin_allowed("https://chat.example.org:443/", "x", allowed, 1));
    CHECK(!relay_origin_allowed("http://chat.example.org", "127.0.0.1:8080", allowed, 1));
}

static void put_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void test_files(void)
{
    char root[] = "/tmp/relay-files-XXXXXX", path[256], p[512], outside[512];

    CHECK(mkdtemp(root) != NULL);
    snprintf(path, sizeof path, "%s/www", root);
    CHECK_EQ(mkdir(path, 0755), 0);
    snprintf(p, sizeof p, "%s/index.html", path);
    put_file(p, "hi");
    snprintf(p, sizeof p, "%s/app.wasm", path);
    put_file(p, "w");
    snprintf(p, sizeof p, "%s/.secret", path);
    put_file(p, "s");
    snprintf(p, sizeof p, "%s/sub", path);
    CHECK_EQ(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%s/sub/index.html", path);
    put_file(p, "sub");
    snprintf(outside, sizeof outside, "%s/outside.txt", root);
    put_file(outside, "no");
    snprintf(p, sizeof p, "%s/out-link", path);
    CHECK_EQ(symlink(outside, p), 0);
    snprintf(p, sizeof p, "%s/in-link.wasm", path);
    CHECK_EQ(symlink("app.wasm", p), 0);
    snprintf(p, sizeof p, "%s/dot-link", path);
    CHECK_EQ(symlink(".secret", p), 0);

    char out[4096], want[512];
    CHECK_EQ(relay_files_resolve(path, "/", out, sizeof out), 0);
    snprintf(want, sizeof want, "%s/index.html", path);
    CHECK(!strcmp(out, want));
    CHECK_EQ(relay_files_resolve(path, "/sub", out, sizeof out), 0);
    CHECK_EQ(relay_files_resolve(path, "/sub/", out, sizeof out), 0);
    CHECK_EQ(relay_files_resolve(path, "//app.wasm", out, sizeof out), 0);
    CHECK_EQ(relay_files_resolve(path, "/in-link.wasm", out, sizeof out), 0);
    CHECK_EQ(relay_files_resolve(path, "/missing", out, sizeof out), -1);
    CHECK_EQ(relay_files_resolve(path, "/.secret", out, sizeof out), -1);
    CHECK_EQ(relay_files_resolve(path, "/dot-link", out, sizeof out), -1);
    CHECK_EQ(relay_files_resolve(path, "/out-link", out, sizeof out), -1);
    CHECK_EQ(relay_files_resolve(path, "/../outside.txt", out, sizeof out), -1);
    CHECK_EQ(relay_files_resolve(path, "/sub/../../outside.txt", out, sizeof out), -1);
    CHECK_EQ(relay_files_resolve(path, "/sub/..", out, sizeof out), -1);
    CHECK_EQ(relay_files_resolve(path, "relative", out, sizeof out), -1);
    CHECK_EQ(relay_files_resolve(path, "/a\\b", out, sizeof out), -1);

    CHECK(!strcmp(relay_files_mime("/x/app.wasm"), "application/wasm"));
    CHECK(!strcmp(relay_files_mime("/x/INDEX.HTML"), "text/html; charset=utf-8"));
    CHECK(!strcmp(relay_files_mime("/x/a.js"), "text/javascript; charset=utf-8"));
    CHECK(!strcmp(relay_files_mime("/x/a.css"), "text/css; charset=utf-8"));
    CHECK(!strcmp(relay_files_mime("/x.d/noext"), "application/octet-stream"));

    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    CHECK_EQ(system(cmd), 0);
}

static void test_bucket(void)
{
    relay_bucket b;

    relay_bucket_init(&b, 3, 1000000);
    CHECK(relay_bucket_take(&b, 10, 3, 1000000));
    CHECK(relay_bucket_take(&b, 10, 3, 1000000));
    CHECK(relay_bucket_take(&b, 10, 3, 1000000));
    CHECK(!relay_bucket_take(&b, 10, 3, 1000000));
    CHECK(!relay_bucket_take(&b, 10, 3, 1050000)); /* half a token back */
    CHECK(relay_bucket_take(&b, 10, 3, 1100000));
    CHECK(relay_bucket_take(&b, 10, 3, 9000000) && relay_bucket_take(&b, 10, 3, 9000000));
    CHECK(relay_bucket_take(&b, 10, 3, 9000000));
    CHECK(!relay_bucket_take(&b, 10, 3, 9000000)); /* refill capped at the burst */
    for (int i = 0; i < 1000; i++)
        CHECK(relay_bucket_take(&b, 0, 3, 9000000)); /* rate 0: no limit */
}

static int pings, deaths;

static void ka_ping(relay_ka_entry *e, void *arg)
{
    (void)e;
    (void)arg;
    pings++;
}

static void ka_dead(relay_ka_entry *e, void *arg)
{
    (void)e;
    (void)arg;
    deaths++;
}

static void test_keepalive(void)
{
    relay_keepalive ka;
    relay_ka_entry a, b, c;

    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    memset(&c, 0, sizeof c);
    relay_ka_init(&ka, 5, 3, 100);
    ka.ping = ka_ping;
    ka.dead = ka_dead;
    relay_ka_add(&ka, &a, 100);
    relay_ka_add(&ka, &b, 100);
    relay_ka_tick(&ka, 104);
    CHECK_EQ(pings, 0);
    relay_ka_alive(&b, 103); /* b speaks: no ping for it at 105 */
    relay_ka_tick(&ka, 105);
    CHECK_EQ(pings, 1);
    CHECK(a.awaiting && !b.awaiting);
    relay_ka_alive(&a, 106); /* a answers */
    relay_ka_tick(&ka, 107);
    CHECK_EQ(deaths, 0);
    CHECK(!a.awaiting);
    relay_ka_tick(&ka, 108);
    CHECK_EQ(pings, 2); /* b, quiet since 103 */
    relay_ka_tick(&ka, 110);
    CHECK_EQ(deaths, 0);
    relay_ka_tick(&ka, 111);
    CHECK_EQ(deaths, 1); /* b: pinged at 108, silent until 111 */
    CHECK_EQ(pings, 3);  /* a: quiet since 106 */
    relay_ka_remove(&a);
    relay_ka_tick(&ka, 200);
    CHECK_EQ(deaths, 1); /* removed entries are forgotten */
    /* a long stall of the loop: catches up without visiting 10^6 seconds */
    relay_ka_add(&ka, &c, 200);
    relay_ka_tick(&ka, 1000000);
    CHECK_EQ(pings, 4);
    relay_ka_tick(&ka, 1000003);
    CHECK_EQ(deaths, 2);
    /* long intervals wrap around the wheel */
    relay_ka_init(&ka, 200, 10, 0);
    ka.ping = ka_ping;
    ka.dead = ka_dead;
    memset(&a, 0, sizeof a);
    relay_ka_add(&ka, &a, 0);
    relay_ka_tick(&ka, 199);
    CHECK_EQ(pings, 4);
    relay_ka_tick(&ka, 200);
    CHECK_EQ(pings, 5);
    relay_ka_remove(&a);
}

static void test_metrics(void)
{
    relay_metrics m;
    char out[8192];

    memset(&m, 0, sizeof m);
    m.frames_in = 42;
    m.closed[RELAY_CLOSE_RELAY_FULL] = 3;
    m.refused[RELAY_REFUSE_SUBPROTOCOL] = 2;
    size_t n = relay_metrics_render(&m, out, sizeof out);
    CHECK(n > 0 && n < sizeof out);
    out[n] = '\0';
    CHECK(strstr(out, "\nsaltchat_relay_frames_in_total 42\n") != NULL);
    CHECK(strstr(out, "saltchat_relay_closed_total{reason=\"relay_full\"} 3\n") != NULL);
    CHECK(strstr(out, "saltchat_relay_handshakes_refused_total{reason=\"subprotocol\"} 2\n"));
    /* the v1 path's figures are gone */
    CHECK(strstr(out, "slow_consumer") == NULL && strstr(out, "room_full") == NULL);
    CHECK(strstr(out, "saltchat_relay_rooms") == NULL);
    CHECK_EQ(relay_metrics_render(&m, out, 100), 0);
}

static int parse(int argc, const char **argv, relay_config *cfg)
{
    FILE *devnull = fopen("/dev/null", "w");
    int rc = relay_config_parse(cfg, argc, (char **)argv, devnull, devnull);
    fclose(devnull);
    return rc;
}

static void test_config(void)
{
    relay_config c;
    const char *ok[] = {"relay", "--listen", "[::1]:0", "--max-frame", "1K",
                        "--allow-origin", "https://a.example", "--allow-origin",
                        "http://b.example:81", "--rate-limit", "0", "--log-level", "debug"};
    CHECK_EQ(parse(13, ok, &c), RELAY_CONFIG_RUN);
    CHECK(c.listen_ipv6 && !strcmp(c.listen_host, "::1") && c.listen_port == 0);
    CHECK_EQ(c.max_frame, 1024);
    CHECK_EQ(c.n_origins, 2);
    CHECK(!strcmp(c.origins[0], "https://a.example:443"));
    CHECK_EQ(c.rate_limit, 0);
    relay_config_free(&c);

    const char *defaults[] = {"relay"};
    CHECK_EQ(parse(1, defaults, &c), RELAY_CONFIG_RUN);
    CHECK(!strcmp(c.listen_host, "127.0.0.1") && c.listen_port == 8080);
    CHECK_EQ(c.max_frame, 65536);
    CHECK(!strcmp(c.www, SALTCHAT_RELAY_WWW_DEFAULT));
    relay_config_free(&c);

    const char *bad[][3] = {
        {"relay", "--listen", "localhost"},   {"relay", "--listen", "host.example:80"},
        {"relay", "--listen", "1.2.3.4:70000"}, {"relay", "--max-frame", "12"},
        {"relay", "--max-frame", "1G"},       {"relay", "--max-frame", "64x"},
        {"relay", "--bogus", "1"},            {"relay", "--allow-origin", "null"},
        {"relay", "--log-level", "loud"},     {"relay", "--tls-cert", "a.pem"},
        {"relay", "--max-room-members", "2"}, {"relay", "--max-queue", "1M"}, /* v1's, gone */
        {"relay", "--cluster-max-lag", "64M"},
        {"relay", "extra", "args"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = parse(3, bad[i], &c);
        CHECK_EQ(rc, RELAY_CONFIG_BAD);
        if (rc != RELAY_CONFIG_BAD) {
            fprintf(stderr, "accepted: %s %s\n", bad[i][1], bad[i][2]);
            relay_config_free(&c);
        }
    }
    /* protocol v2: data directory and retention */
    CHECK_EQ(parse(1, defaults, &c), RELAY_CONFIG_RUN);
    CHECK(c.data_dir == NULL);
    CHECK_EQ(c.retain_age_ms, 30ull * 86400 * 1000);
    CHECK_EQ(c.retain_entries, 100000);
    CHECK_EQ(c.retain_bytes, 256ull << 20);
    relay_config_free(&c);
    const char *v2[] = {"relay", "--data-dir", "/srv/sc", "--retain-age", "12h",
                        "--retain-entries", "0", "--retain-bytes", "2G"};
    CHECK_EQ(parse(9, v2, &c), RELAY_CONFIG_RUN);
    CHECK(c.data_dir && !strcmp(c.data_dir, "/srv/sc"));
    CHECK_EQ(c.retain_age_ms, 12ull * 3600 * 1000);
    CHECK_EQ(c.retain_entries, 0);
    CHECK_EQ(c.retain_bytes, 2ull << 30);
    CHECK_EQ(c.max_store, 0);
    relay_config_free(&c);
    const char *cap[] = {"relay", "--max-store", "10G"};
    CHECK_EQ(parse(3, cap, &c), RELAY_CONFIG_RUN);
    CHECK_EQ(c.max_store, 10ull << 30);
    relay_config_free(&c);
    static const struct { const char *v; uint64_t ms; } ages[] = {
        {"0", 0}, {"90", 90000}, {"90s", 90000}, {"5m", 300000}, {"2D", 2 * 86400000ull}};
    for (size_t i = 0; i < sizeof ages / sizeof ages[0]; i++) {
        const char *a[] = {"relay", "--retain-age", ages[i].v};
        CHECK_EQ(parse(3, a, &c), RELAY_CONFIG_RUN);
        CHECK_EQ(c.retain_age_ms, ages[i].ms);
        relay_config_free(&c);
    }
    const char *bad2[][3] = {
        {"relay", "--data-dir", ""},          {"relay", "--retain-age", "1w"},
        {"relay", "--retain-age", "s"},       {"relay", "--retain-age", "10ss"},
        {"relay", "--retain-age", "999999d"}, {"relay", "--retain-entries", "1k"},
        {"relay", "--retain-bytes", "3T"},    {"relay", "--retain-bytes", "99999999999999999999"},
        {"relay", "--max-store", "512K"},     {"relay", "--max-store", "big"},
    };
    for (size_t i = 0; i < sizeof bad2 / sizeof bad2[0]; i++) {
        int rc = parse(3, bad2[i], &c);
        CHECK_EQ(rc, RELAY_CONFIG_BAD);
        if (rc != RELAY_CONFIG_BAD) {
            fprintf(stderr, "accepted: %s %s\n", bad2[i][1], bad2[i][2]);
            relay_config_free(&c);
        }
    }
    /* the default data directory, by environment */
    char d[512];
    const char *home = getenv("HOME"), *xdg = getenv("XDG_DATA_HOME"), *st = getenv("STATE_DIRECTORY");
    char *home_s = home ? strdup(home) : NULL, *xdg_s = xdg ? strdup(xdg) : NULL;
    char *st_s = st ? strdup(st) : NULL;
    setenv("STATE_DIRECTORY", "/var/lib/saltchat-relay:/var/lib/other", 1);
    CHECK_EQ(relay_config_default_data_dir(d, sizeof d), 0);
    CHECK(!strcmp(d, "/var/lib/saltchat-relay"));
    unsetenv("STATE_DIRECTORY");
    setenv("XDG_DATA_HOME", "/x/data", 1);
    setenv("HOME", "/home/u", 1);
    CHECK_EQ(relay_config_default_data_dir(d, sizeof d), 0);
    CHECK(!strcmp(d, geteuid() == 0 ? "/var/lib/saltchat-relay" : "/x/data/saltchat-relay"));
    unsetenv("XDG_DATA_HOME");
    CHECK_EQ(relay_config_default_data_dir(d, sizeof d), 0);
    CHECK(!strcmp(d, geteuid() == 0 ? "/var/lib/saltchat-relay"
                                    : "/home/u/.local/share/saltchat-relay"));
    CHECK_EQ(relay_config_default_data_dir(d, 8), -1); /* does not fit */
    if (home_s) setenv("HOME", home_s, 1); else unsetenv("HOME");
    if (xdg_s) setenv("XDG_DATA_HOME", xdg_s, 1);
    if (st_s) setenv("STATE_DIRECTORY", st_s, 1);
    free(home_s);
    free(xdg_s);
    free(st_s);

    const char *help[] = {"relay", "--help"};
    CHECK_EQ(parse(2, help, &c), RELAY_CONFIG_DONE);
    const char *missing[] = {"relay", "--www"};
    CHECK_EQ(parse(2, missing, &c), RELAY_CONFIG_BAD);
}

/* Reads VmRSS of this process in KiB from /proc/self/status; -1 if unreadable. */
static long rss_kib(void)
{
    char line[256];
    long v = -1;
    FILE *f = fopen("/proc/self/status", "r");

    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6))
            v = strtol(line + 6, NULL, 10);
    fclose(f);
    return v;
}

static void test_rxpool(void)
{
    void *a, *b, *c, *d, *m;
    long before, after;

    CHECK(relay_rxpool_alloc(16) == NULL); /* not set up */
    CHECK(relay_rxpool_init(5000, 3) == 0);
    CHECK(relay_rxpool_init(5000, 3) == -1); /* once */
    a = relay_rxpool_lws_realloc(NULL, 5000, "rx_ubuf");
    b = relay_rxpool_alloc(5000);
    c = relay_rxpool_alloc(1);
    CHECK(a && b && c && a != b && b != c && a != c);
    CHECK(relay_rxpool_owns(a) && relay_rxpool_owns(b) && relay_rxpool_owns(c));
    CHECK(((uintptr_t)a & 4095u) == 0 && (size_t)((char *)b > (char *)a ? (char *)b - (char *)a
                                                      : (char *)a - (char *)b) >= 8192);
    CHECK(relay_rxpool_in_use() == 3);
    CHECK(relay_rxpool_alloc(10) == NULL); /* full */
    d = relay_rxpool_lws_realloc(NULL, 5000, "rx_ubuf"); /* full: falls back to malloc */
    CHECK(d != NULL && !relay_rxpool_owns(d));
    CHECK(relay_rxpool_alloc(8193) == NULL); /* over the slot size */
    m = relay_rxpool_lws_realloc(NULL, 100, "wsi"); /* other reasons: malloc */
    CHECK(m != NULL && !relay_rxpool_owns(m));
    CHECK(relay_rxpool_lws_realloc(m, 0, "lws_free") == NULL);
    CHECK(relay_rxpool_lws_realloc(d, 0, "lws_free") == NULL);
    /* a written slot is resident; freed, its pages go back and the slot is reused */
    memset(b, 0x5a, 5000);
    CHECK(relay_rxpool_lws_realloc(b, 0, "lws_free") == NULL);
    CHECK(relay_rxpool_in_use() == 2);
    d = relay_rxpool_alloc(5000);
    CHECK(d == b);
    CHECK(((unsigned char *)d)[100] == 0); /* MADV_DONTNEED: fresh zero pages */
    /* growing a slot moves it to the heap with its contents */
    memset(c, 7, 16);
    m = relay_rxpool_lws_realloc(c, 9000, "rx_ubuf");
    CHECK(m != NULL && !relay_rxpool_owns(m) && ((unsigned char *)m)[15] == 7);
    free(m);
    CHECK(relay_rxpool_lws_realloc(a, 0, "lws_free") == NULL);
    CHECK(relay_rxpool_lws_realloc(d, 0, "lws_free") == NULL);
    CHECK(relay_rxpool_in_use() == 0);
    relay_rxpool_fini();

    /* untouched slots cost no resident memory: 4096 slots of 20 KiB reserved and handed
     * out (80 MiB) must not move RSS by more than a few MiB */
    CHECK(relay_rxpool_init(20 * 1024, 4096) == 0);
    before = rss_kib();
    for (int i = 0; i < 4096; i++)
        CHECK(relay_rxpool_alloc(20 * 1024) != NULL);
    after = rss_kib();
    CHECK(before > 0 && after > 0 && after - before < 4096);
    relay_rxpool_fini();
}

int main(void)
{
    test_origin();
    test_files();
    test_bucket();
    test_keepalive();
    test_metrics();
    test_config();
    test_rxpool();
    return check_finish("test_relay_policy");
}
