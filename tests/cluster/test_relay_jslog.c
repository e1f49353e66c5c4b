/*
 * cluster.jslog: relay_jslog (the protocol v2 room log in JetStream) against a real
 * nats-server -js on a free loopback port with its own store directory, started here.
 * Several handles stand for several relays; "relay A" killed right after its burst is a
 * child process (this binary re-executed) that is SIGKILLed.
 *
 *   test_relay_jslog NATS_SERVER_BINARY
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "relay_jslog.h"

static int failures;
#define CHECK(c, ...)                                                                   \
    do {                                                                                \
        if (!(c)) {                                                                     \
            failures++;                                                                 \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #c);                \
            fprintf(stderr, __VA_ARGS__);                                               \
            fputc('\n', stderr);                                                        \
        }                                                                               \
    } while (0)
#define REQUIRE(c, ...)                                                                 \
    do {                                                                                \
        int ok_ = (c);                                                                  \
        CHECK(ok_, __VA_ARGS__);                                                        \
        if (!ok_) goto done;                                                            \
    } while (0)

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- nats-server ------------------------------------------------------------------ */

typedef struct nats_proc {
    pid_t pid;
    int port; /* 0: free one, then kept for restarts */
    char dir[256];
    char log[300];
} nats_proc;

/* Starts nats-server -js; waits (15 s at most) for "Server is ready" in its log. */
static int nats_start(const char *bin, nats_proc *n)
{
    char port[16];
    snprintf(port, sizeof port, "%d", n->port ? n->port : -1);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        FILE *f = freopen(n->log, "a", stderr);
        (void)f;
        execl(bin, bin, "-js", "-a", "127.0.0.1", "-p", port, "-sd", n->dir, (char *)NULL);
        _exit(127);
    }
    n->pid = pid;
    double end = now_s() + 15;
    while (now_s() < end) {
        FILE *f = fopen(n->log, "r");
        char line[512];
        int ready = 0, readies = 0;
        while (f && fgets(line, sizeof line, f)) {
            char *p = strstr(line, "Listening for client connections on 127.0.0.1:");
            if (p) n->port = atoi(p + strlen("Listening for client connections on 127.0.0.1:"));
            if (strstr(line, "Server is ready")) readies++;
        }
        if (f) fclose(f);
        static int seen_readies;
        if (readies > seen_readies) {
            seen_readies = readies;
            ready = 1;
        }
        if (ready && n->port > 0) return 0;
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            fprintf(stderr, "nats-server exited (status %d); see %s\n", st, n->log);
            return -1;
        }
        usleep(20000);
    }
    fprintf(stderr, "gave up after 15 s waiting for nats-server's 'Server is ready' in %s\n",
            n->log);
    return -1;
}

static void nats_kill(nats_proc *n)
{
    if (n->pid > 0) {
        kill(n->pid, SIGKILL);
        waitpid(n->pid, NULL, 0);
        n->pid = 0;
    }
}

/* ---- helpers ---------------------------------------------------------------------- */

static const uint8_t ROOM1[16] = "room-one-0000001";
static const uint8_t ROOM2[16] = "room-two-0000002";
static const uint8_t ROOM3[16] = "room-three-00003";

/* Appends body, re-reading the head and deciding again on CONFLICT (the relay's rule). */
static relay_jslog_err append_retry(relay_jslog *j, const uint8_t *room, const char *body,
                                    uint64_t *seq, int *conflicts)
{
    for (int tries = 0; tries < 1000; tries++) {
        relay_jslog_state st;
        relay_jslog_err r = relay_jslog_state_get(j, room, 16, &st);
        if (r != RELAY_JSLOG_OK) return r;
        r = relay_jslog_append(j, room, 16, (const uint8_t *)body, strlen(body), 0, 1, st.last_seq,
                               seq);
        if (r != RELAY_JSLOG_ERR_CONFLICT) return r;
        if (conflicts) (*conflicts)++;
    }
    return RELAY_JSLOG_ERR_CONFLICT;
}

typedef struct collected {
    int n;
    uint64_t seq[512];
    char body[512][32];
} collected;

static int collect(void *ctx, const relay_jslog_entry *e)
{
    collected *c = ctx;
    if (c->n >= 512) return 1;
    c->seq[c->n] = e->seq;
    snprintf(c->body[c->n], sizeof c->body[c->n], "%.*s", (int)e->len, (const char *)e->body);
    c->n++;
    return 0;
}

static relay_jslog_err read_all(relay_jslog *j, const uint8_t *room, uint64_t after,
                                collected *c)
{
    uint64_t last = after;
    memset(c, 0, sizeof *c);
    for (;;) {
        uint64_t from = last;
        relay_jslog_err r = relay_jslog_read(j, room, 16, from, 64, collect, c, &last);
        if (r != RELAY_JSLOG_OK) return r;
        if (last == from) return RELAY_JSLOG_OK;
    }
}

/* ---- scenarios -------------------------------------------------------------------- */

typedef struct writer {
    relay_jslog *j;
    char name;
    int count, conflicts, errors;
} writer;

static void *write_loop(void *arg)
{
    writer *w = arg;
    char body[32];
    for (int i = 0; i < w->count; i++) {
        uint64_t seq;
        snprintf(body, sizeof body, "%c%d", w->name, i);
        if (append_retry(w->j, ROOM1, body, &seq, &w->conflicts) != RELAY_JSLOG_OK) w->errors++;
    }
    return NULL;
}

typedef struct live_seen {
    pthread_mutex_t mu;
    int n;
    uint64_t seq[64];
    char body[64][16];
} live_seen;

/* Runs on libnats' delivery thread. */
static int on_live_entry(void *ctx, const relay_jslog_entry *e)
{
    live_seen *lv = ctx;
    pthread_mutex_lock(&lv->mu);
    if (lv->n < 64) {
        lv->seq[lv->n] = e->seq;
        snprintf(lv->body[lv->n], sizeof lv->body[0], "%.*s", (int)e->len, (const char *)e->body);
        lv->n++;
    }
    pthread_mutex_unlock(&lv->mu);
    return 0;
}

typedef struct racer {
    relay_jslog *j;
    pthread_barrier_t *bar;
    uint64_t expect;
    relay_jslog_err res;
    char body[16];
} racer;

static void *race_one(void *arg)
{
    racer *r = arg;
    uint64_t seq;
    pthread_barrier_wait(r->bar);
    r->res = relay_jslog_append(r->j, ROOM1, 16, (const uint8_t *)r->body, strlen(r->body),
                                1 /* commit */, 2, r->expect, &seq);
    return NULL;
}

/* Child "relay A": appends n entries to ROOM3, printing each acked seq, then waits to be
 * killed. */
static int child_burst(const char *url, int n)
{
    relay_jslog *j = NULL;
    char err[256];
    alarm(60); /* bounds the parent's read of our output: SIGALRM ends us, the pipe closes */
    if (relay_jslog_open(url, NULL, &j, err, sizeof err) != RELAY_JSLOG_OK) {
        fprintf(stderr, "child: %s\n", err);
        return 2;
    }
    for (int i = 0; i < n; i++) {
        char body[32];
        uint64_t seq;
        snprintf(body, sizeof body, "burst%d", i);
        if (append_retry(j, ROOM3, body, &seq, NULL) != RELAY_JSLOG_OK) return 3;
        printf("%" PRIu64 "\n", seq);
        fflush(stdout);
    }
    printf("done\n");
    fflush(stdout);
    pause();
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--child") == 0) return child_burst(argv[2], atoi(argv[3]));
    if (argc != 2) {
        fprintf(stderr, "usage: %s NATS_SERVER\n", argv[0]);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    nats_proc n = {0};
    char tmpl[] = "/tmp/sc-jslog-XXXXXX", url[64], err[256];
    relay_jslog *a = NULL, *b = NULL, *c = NULL;
    relay_jslog_opts o;
    collected *ca = calloc(1, sizeof *ca), *cb = calloc(1, sizeof *cb);
    if (!mkdtemp(tmpl) || !ca || !cb) return 2;
    snprintf(n.dir, sizeof n.dir, "%s/store", tmpl);
    snprintf(n.log, sizeof n.log, "%s/nats.log", tmpl);
    relay_jslog_opts_default(&o);
    o.timeout_ms = 1000;

    /* No broker: a clear error, within a bound. */
    {
        double t0 = now_s();
        relay_jslog_err r = relay_jslog_open("nats://127.0.0.1:1", &o, &a, err, sizeof err);
        double dt = now_s() - t0;
        CHECK(r == RELAY_JSLOG_ERR_CONNECT && a == NULL, "open without broker: %s",
              relay_jslog_err_name(r));
        CHECK(dt < 5.0, "open without broker took %.1f s", dt);
        CHECK(strstr(err, "nats://127.0.0.1:1") != NULL, "error names the URL: %s", err);
        printf("no broker: %s (%.2f s)\n", err, dt);
    }

    REQUIRE(nats_start(argv[1], &n) == 0, "nats-server -js did not start");
    snprintf(url, sizeof url, "nats://127.0.0.1:%d", n.port);
    REQUIRE(relay_jslog_open(url, &o, &a, err, sizeof err) == RELAY_JSLOG_OK, "open A: %s", err);
    REQUIRE(relay_jslog_open(url, &o, &b, err, sizeof err) == RELAY_JSLOG_OK, "open B: %s", err);

    /* CREATE: first wins, metadata with compare-and-set. */
    {
        uint64_t rev = 0, rev2 = 0;
        const uint8_t m1[] = "meta-v1";
        CHECK(relay_jslog_create(a, ROOM1, 16, m1, sizeof m1, &rev) == RELAY_JSLOG_OK, "create: %s",
              relay_jslog_errmsg(a));
        CHECK(rev == 1, "first revision %" PRIu64, rev);
        CHECK(relay_jslog_create(b, ROOM1, 16, m1, sizeof m1, &rev2) == RELAY_JSLOG_ERR_EXISTS,
              "second create: %s", relay_jslog_errmsg(b));
        uint8_t *got = NULL;
        size_t len = 0;
        CHECK(relay_jslog_meta_get(b, ROOM1, 16, &got, &len, &rev2) == RELAY_JSLOG_OK &&
                  len == sizeof m1 && memcmp(got, m1, len) == 0 && rev2 == rev,
              "B reads A's metadata");
        free(got);
        const uint8_t m2[] = "meta-v2";
        CHECK(relay_jslog_meta_put(a, ROOM1, 16, m2, sizeof m2, rev, &rev2) == RELAY_JSLOG_OK,
              "meta put: %s", relay_jslog_errmsg(a));
        CHECK(relay_jslog_meta_put(b, ROOM1, 16, m1, sizeof m1, rev, &rev2) ==
                  RELAY_JSLOG_ERR_CONFLICT,
              "stale meta put must conflict: %s", relay_jslog_errmsg(b));
        CHECK(relay_jslog_meta_get(b, ROOM2, 16, &got, &len, &rev2) == RELAY_JSLOG_ERR_NO_ROOM,
              "meta of a room never made");
        uint64_t seq;
        CHECK(relay_jslog_append(a, ROOM2, 16, m1, 3, 0, 1, 0, &seq) == RELAY_JSLOG_ERR_NO_ROOM,
              "append to a room never made: %s", relay_jslog_errmsg(a));
    }

    /* Two relays appending at once: one total order, the same for both readers. */
    {
        writer wa = {a, 'a', 100, 0, 0}, wb = {b, 'b', 100, 0, 0};
        pthread_t ta, tb;
        pthread_create(&ta, NULL, write_loop, &wa);
        pthread_create(&tb, NULL, write_loop, &wb);
        pthread_join(ta, NULL);
        pthread_join(tb, NULL);
        CHECK(wa.errors == 0 && wb.errors == 0, "append errors %d %d", wa.errors, wb.errors);
        printf("interleaved: 200 entries, %d + %d conflicts re-decided\n", wa.conflicts,
               wb.conflicts);
        CHECK(read_all(a, ROOM1, 0, ca) == RELAY_JSLOG_OK, "read A");
        CHECK(read_all(b, ROOM1, 0, cb) == RELAY_JSLOG_OK, "read B");
        CHECK(ca->n == 200 && cb->n == 200, "entries %d %d", ca->n, cb->n);
        int next_a = 0, next_b = 0, same = 1;
        for (int i = 0; i < ca->n && i < cb->n; i++) {
            CHECK(ca->seq[i] == (uint64_t)i + 1, "seq %" PRIu64 " at %d", ca->seq[i], i);
            if (ca->seq[i] != cb->seq[i] || strcmp(ca->body[i], cb->body[i]) != 0) same = 0;
            char want[32];
            snprintf(want, sizeof want, "%c%d", ca->body[i][0],
                     ca->body[i][0] == 'a' ? next_a : next_b);
            CHECK(strcmp(ca->body[i], want) == 0, "entry %d is %s, want %s", i, ca->body[i], want);
            if (ca->body[i][0] == 'a') next_a++;
            else next_b++;
        }
        CHECK(same, "A and B read different orders");
        CHECK(next_a == 100 && next_b == 100, "each writer's 100 exactly once: %d %d", next_a,
              next_b);
    }

    /* LIVE: relay B watches from the middle; what A appends reaches it in stream order. */
    {
        live_seen lv = {.n = 0};
        pthread_mutex_init(&lv.mu, NULL);
        relay_jslog_watch *w = NULL;
        CHECK(relay_jslog_watch_start(b, ROOM1, 16, 190, on_live_entry, &lv, &w) ==
                  RELAY_JSLOG_OK,
              "watch: %s", relay_jslog_errmsg(b));
        uint64_t seq;
        for (int i = 0; i < 10; i++)
            CHECK(append_retry(a, ROOM1, "live", &seq, NULL) == RELAY_JSLOG_OK, "live append");
        int got = 0;
        double end = now_s() + 10;
        while (now_s() < end) {
            pthread_mutex_lock(&lv.mu);
            got = lv.n;
            pthread_mutex_unlock(&lv.mu);
            if (got >= 20) break;
            usleep(10000);
        }
        relay_jslog_unwatch(w);
        CHECK(got == 20, "watch got %d of 20 entries (gave up after 10 s)", got);
        int inorder = 1;
        for (int i = 0; i < got && i < 20; i++)
            if (lv.seq[i] != 191u + (uint64_t)i) inorder = 0;
        CHECK(inorder && got == 20 && strcmp(lv.body[10], "live") == 0 &&
                  strcmp(lv.body[0], ca->body[190]) == 0,
              "watched entries 191..210 in order, the same as read");
        pthread_mutex_destroy(&lv.mu);
    }

    /* Two commits for the same epoch at the same moment: exactly one wins. */
    {
        int wins_a = 0, wins_b = 0, bad = 0;
        for (int round = 0; round < 20; round++) {
            relay_jslog_state st;
            REQUIRE(relay_jslog_state_get(a, ROOM1, 16, &st) == RELAY_JSLOG_OK, "state");
            pthread_barrier_t bar;
            pthread_barrier_init(&bar, NULL, 2);
            racer ra = {a, &bar, st.last_seq, RELAY_JSLOG_ERR_NATS, "commitA"};
            racer rb = {b, &bar, st.last_seq, RELAY_JSLOG_ERR_NATS, "commitB"};
            snprintf(ra.body, sizeof ra.body, "cA%d", round);
            snprintf(rb.body, sizeof rb.body, "cB%d", round);
            pthread_t ta, tb;
            pthread_create(&ta, NULL, race_one, &ra);
            pthread_create(&tb, NULL, race_one, &rb);
            pthread_join(ta, NULL);
            pthread_join(tb, NULL);
            pthread_barrier_destroy(&bar);
            int ok_a = ra.res == RELAY_JSLOG_OK, ok_b = rb.res == RELAY_JSLOG_OK;
            if (ok_a + ok_b != 1 ||
                (ok_a ? rb.res : ra.res) != RELAY_JSLOG_ERR_CONFLICT)
                bad++;
            wins_a += ok_a;
            wins_b += ok_b;
            /* Everyone sees the winner at that seq. */
            collected one = {0};
            uint64_t last;
            CHECK(relay_jslog_read(b, ROOM1, 16, st.last_seq, 1, collect, &one, &last) ==
                      RELAY_JSLOG_OK && one.n == 1 &&
                      strcmp(one.body[0], ok_a ? ra.body : rb.body) == 0,
                  "round %d: the stored commit is the winner's", round);
        }
        CHECK(bad == 0, "%d rounds without exactly one winner and one conflict", bad);
        printf("commit race: 20 rounds, A won %d, B won %d, loser always refused\n", wins_a,
               wins_b);
        uint64_t seq;
        CHECK(relay_jslog_append(a, ROOM1, 16, (const uint8_t *)"x", 1, 0, 1, 0, &seq) ==
                  RELAY_JSLOG_ERR_CONFLICT,
              "expecting 0 on a non-empty log must conflict");
    }

    /* A pipelined batch is stored as a prefix, never with a hole: with the expectation
     * one entry behind, entry 0 is refused and entry 1 (whose expected seq alone would
     * hold) must be refused too. */
    {
        relay_jslog_item items[50];
        char bodies[50][16];
        for (int i = 0; i < 50; i++) {
            snprintf(bodies[i], sizeof bodies[i], "p%d", i);
            items[i] = (relay_jslog_item){(const uint8_t *)bodies[i], strlen(bodies[i]), 0, 3};
        }
        relay_jslog_state st;
        size_t k = 99;
        REQUIRE(relay_jslog_state_get(a, ROOM1, 16, &st) == RELAY_JSLOG_OK, "state");
        uint64_t head = st.last_seq;
        CHECK(relay_jslog_append_batch(a, ROOM1, 16, items, 50, head, &k) == RELAY_JSLOG_OK &&
                  k == 50,
              "batch of 50: %zu stored (%s)", k, relay_jslog_errmsg(a));
        CHECK(read_all(b, ROOM1, head, cb) == RELAY_JSLOG_OK && cb->n == 50 &&
                  strcmp(cb->body[0], "p0") == 0 && strcmp(cb->body[49], "p49") == 0,
              "B reads the batch in order (%d)", cb->n);
        k = 99;
        relay_jslog_err r = relay_jslog_append_batch(a, ROOM1, 16, items, 5, head + 49, &k);
        CHECK(r == RELAY_JSLOG_ERR_CONFLICT && k == 0, "batch one behind: %s, %zu stored",
              relay_jslog_err_name(r), k);
        CHECK(relay_jslog_state_get(b, ROOM1, 16, &st) == RELAY_JSLOG_OK &&
                  st.last_seq == head + 50,
              "nothing of the refused batch stored: head %" PRIu64, st.last_seq);
    }

    /* Relay A killed right after its confirmed burst: nothing confirmed lost, B resumes. */
    {
        uint64_t rev;
        CHECK(relay_jslog_create(b, ROOM3, 16, (const uint8_t *)"m", 1, &rev) == RELAY_JSLOG_OK,
              "create room3");
        int pfd[2];
        REQUIRE(pipe(pfd) == 0, "pipe");
        pid_t kid = fork();
        if (kid == 0) {
            dup2(pfd[1], 1);
            close(pfd[0]);
            execl("/proc/self/exe", argv[0], "--child", url, "300", (char *)NULL);
            _exit(127);
        }
        close(pfd[1]);
        FILE *f = fdopen(pfd[0], "r");
        char line[64];
        uint64_t acked = 0;
        int done_seen = 0;
        /* Bounded by the child's alarm (60 s): the read returns at EOF when it dies. */
        while (f && fgets(line, sizeof line, f)) {
            if (strncmp(line, "done", 4) == 0) {
                done_seen = 1;
                break;
            }
            acked = strtoull(line, NULL, 10);
        }
        kill(kid, SIGKILL);
        waitpid(kid, NULL, 0);
        if (f) fclose(f);
        CHECK(done_seen && acked == 300, "child acked %" PRIu64 " of 300 (gave up if it had "
              "not finished within its 60 s alarm)", acked);
        /* "its member fails over to B and resumes from its seq": after 150. */
        CHECK(read_all(b, ROOM3, 150, cb) == RELAY_JSLOG_OK, "resume on B");
        CHECK(cb->n == 150 && cb->seq[0] == 151 && cb->seq[cb->n - 1] == 300,
              "resumed %d entries", cb->n);
        int inorder = 1;
        for (int i = 0; i < cb->n; i++) {
            char want[32];
            snprintf(want, sizeof want, "burst%d", 150 + i);
            if (strcmp(cb->body[i], want) != 0) inorder = 0;
        }
        CHECK(inorder, "resumed entries are the burst's, in order");
    }

    /* Retention: MaxMsgs 10 (discard old); GONE below, AHEAD past the head. */
    {
        relay_jslog_opts ro = o;
        ro.max_entries = 10;
        REQUIRE(relay_jslog_open(url, &ro, &c, err, sizeof err) == RELAY_JSLOG_OK, "open C");
        uint64_t rev, seq = 0;
        CHECK(relay_jslog_create(c, ROOM2, 16, (const uint8_t *)"m", 1, &rev) == RELAY_JSLOG_OK,
              "create room2");
        for (int i = 0; i < 25; i++)
            CHECK(append_retry(c, ROOM2, "r", &seq, NULL) == RELAY_JSLOG_OK, "append %d", i);
        relay_jslog_state st;
        CHECK(relay_jslog_state_get(a, ROOM2, 16, &st) == RELAY_JSLOG_OK && st.first_seq == 16 &&
                  st.last_seq == 25 && st.entries == 10,
              "retained %" PRIu64 "..%" PRIu64 " (%" PRIu64 ")", st.first_seq, st.last_seq,
              st.entries);
        CHECK(read_all(a, ROOM2, 0, ca) == RELAY_JSLOG_ERR_GONE, "resume from 0 must be GONE");
        CHECK(read_all(a, ROOM2, 15, ca) == RELAY_JSLOG_OK && ca->n == 10, "resume from 15");
        CHECK(read_all(a, ROOM2, 26, ca) == RELAY_JSLOG_ERR_AHEAD, "resume past the head");
    }

    /* Broker lost while running: bounded error, then back with everything confirmed. */
    {
        nats_kill(&n);
        uint64_t seq;
        double t0 = now_s();
        relay_jslog_err r = relay_jslog_append(a, ROOM1, 16, (const uint8_t *)"lost", 4, 0, 1,
                                               999999, &seq);
        double dt = now_s() - t0;
        CHECK(r == RELAY_JSLOG_ERR_CONNECT || r == RELAY_JSLOG_ERR_TIMEOUT,
              "append without broker: %s (%s)", relay_jslog_err_name(r), relay_jslog_errmsg(a));
        CHECK(dt < 5.0, "append without broker took %.1f s", dt);
        printf("broker lost: %s: %s (%.2f s)\n", relay_jslog_err_name(r), relay_jslog_errmsg(a),
               dt);
        REQUIRE(nats_start(argv[1], &n) == 0, "nats-server restart");
        double end = now_s() + 15;
        relay_jslog_state st = {0};
        while (now_s() < end && relay_jslog_state_get(a, ROOM1, 16, &st) != RELAY_JSLOG_OK)
            usleep(100000);
        CHECK(st.last_seq == 280, "after the restart ROOM1's head is %" PRIu64 " (want 280; gave "
              "up after 15 s waiting for the reconnection if 0)", st.last_seq);
        CHECK(append_retry(a, ROOM1, "after", &seq, NULL) == RELAY_JSLOG_OK && seq == 281,
              "append after the restart");
        CHECK(read_all(b, ROOM3, 0, cb) == RELAY_JSLOG_OK && cb->n == 300,
              "room3's 300 confirmed entries survived the broker's SIGKILL: %d", cb->n);
    }

done:
    relay_jslog_close(a);
    relay_jslog_close(b);
    relay_jslog_close(c);
    nats_kill(&n);
    free(ca);
    free(cb);
    if (failures == 0) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpl);
        if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpl);
        printf("all passed\n");
    } else {
        fprintf(stderr, "%d failures; nats log in %s\n", failures, n.log);
    }
    return failures ? 1 : 0;
}
