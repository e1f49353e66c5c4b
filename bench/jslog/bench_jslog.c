/*
 * bench_jslog: figures for the protocol v2 room log in JetStream (relay_jslog) beside the
 * single relay's SQLite log (relay_store). Not a test: it asserts only that the
 * operations succeed. It starts its own nats-server -js on a free loopback port with a
 * store directory under /tmp.
 *
 *   bench_jslog NATS_SERVER [--count N] [--size BYTES] [--writers W] [--runs R]
 *
 * Prints medians over R runs (default 3) of N appends (default 2,000) of BYTES (256):
 *   - jetstream, 1 writer: append with the expected last seq known (one broker round trip
 *     per entry, one in flight): appends/s, ack latency p50 and p99;
 *   - jetstream, W writers on one room (default 2 handles, "relays", one thread each),
 *     every append re-reading the head first and retrying on conflict: appends/s, latency,
 *     conflicts per stored entry;
 *   - jetstream, W writers each on its own room;
 *   - jetstream, 1 writer, 64 entries pipelined per batch (relay_jslog_append_batch: what
 *     one relay accepts in a loop turn; latency is the batch's, for each of its entries);
 *   - sqlite (relay_store, synchronous=FULL, what the single relay runs): one entry per
 *     flush (one in flight, like the first row) and 64 entries per flush (the relay's
 *     batching per loop turn): appends/s, flush latency p50 and p99.
 */
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
#include "relay_store.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double p)
{
    qsort(v, (size_t)n, sizeof *v, cmpd);
    int i = (int)(p * (n - 1) + 0.5);
    return v[i];
}

static double median3(double *v, int n)
{
    return pct(v, n, 0.5);
}

static int count = 2000, size = 256, writers = 2, runs = 3;
static char url[64];
static uint8_t *payload;

typedef struct job {
    uint8_t room[16];
    int n, contended, conflicts, errors, batch;
    double *lat;
    relay_jslog *j;
} job;

static void *run_job(void *arg)
{
    job *jb = arg;
    uint64_t head = 0, seq;
    relay_jslog_state st;
    if (jb->batch > 1) { /* pipelined, head known: latency is per batch, for every entry */
        relay_jslog_item items[RELAY_JSLOG_BATCH_MAX];
        for (int i = 0; i < jb->batch; i++)
            items[i] = (relay_jslog_item){payload, (size_t)size, 0, 1};
        for (int i = 0; i < jb->n; i += jb->batch) {
            double t0 = now_s();
            size_t k;
            if (relay_jslog_append_batch(jb->j, jb->room, 16, items, (size_t)jb->batch, head,
                                         &k) != RELAY_JSLOG_OK)
                jb->errors++;
            head += k;
            for (int q = i; q < i + jb->batch && q < jb->n; q++) jb->lat[q] = now_s() - t0;
        }
        return NULL;
    }
    for (int i = 0; i < jb->n; i++) {
        double t0 = now_s();
        for (;;) {
            if (jb->contended) {
                if (relay_jslog_state_get(jb->j, jb->room, 16, &st) != RELAY_JSLOG_OK) {
                    jb->errors++;
                    break;
                }
                head = st.last_seq;
            }
            relay_jslog_err r = relay_jslog_append(jb->j, jb->room, 16, payload, (size_t)size, 0,
                                                   1, head, &seq);
            if (r == RELAY_JSLOG_OK) {
                head = seq;
                break;
            }
            if (r != RELAY_JSLOG_ERR_CONFLICT || !jb->contended) {
                jb->errors++;
                break;
            }
            jb->conflicts++;
        }
        jb->lat[i] = now_s() - t0;
    }
    return NULL;
}

/* One run of w jobs (each its own handle); shared: all on one room. Returns appends/s. */
static double js_run(int w, int shared, int contended, int batch, double *p50, double *p99, double *cpe,
                     int run)
{
    static int room_no;
    job jobs[16];
    pthread_t th[16];
    double *all = malloc(sizeof(double) * (size_t)count * (size_t)w);
    int conflicts = 0;
    room_no++;
    for (int k = 0; k < w; k++) {
        char err[256];
        memset(&jobs[k], 0, sizeof jobs[k]);
        char rn[64];
        snprintf(rn, sizeof rn, "b%02d-%02d-%02d-%06d", run % 100, (shared ? 0 : k) % 100,
                 w % 100, room_no % 1000000);
        memcpy(jobs[k].room, rn, 16);
        jobs[k].n = count;
        jobs[k].contended = contended;
        jobs[k].batch = batch;
        jobs[k].lat = all + (size_t)k * (size_t)count;
        if (relay_jslog_open(url, NULL, &jobs[k].j, err, sizeof err) != RELAY_JSLOG_OK) {
            fprintf(stderr, "open: %s\n", err);
            exit(1);
        }
        if (k == 0 || !shared) {
            uint64_t rev;
            relay_jslog_err r = relay_jslog_create(jobs[k].j, jobs[k].room, 16,
                                                   (const uint8_t *)"m", 1, &rev);
            if (r != RELAY_JSLOG_OK) {
                fprintf(stderr, "create: %s\n", relay_jslog_errmsg(jobs[k].j));
                exit(1);
            }
        }
    }
    double t0 = now_s();
    for (int k = 0; k < w; k++) pthread_create(&th[k], NULL, run_job, &jobs[k]);
    for (int k = 0; k < w; k++) pthread_join(th[k], NULL);
    double dt = now_s() - t0;
    for (int k = 0; k < w; k++) {
        if (jobs[k].errors) {
            fprintf(stderr, "%d append errors: %s\n", jobs[k].errors,
                    relay_jslog_errmsg(jobs[k].j));
            exit(1);
        }
        conflicts += jobs[k].conflicts;
        relay_jslog_destroy(jobs[k].j, jobs[k].room, 16);
        relay_jslog_close(jobs[k].j);
    }
    int n = count * w;
    *p50 = pct(all, n, 0.5);
    *p99 = pct(all, n, 0.99);
    *cpe = (double)conflicts / n;
    free(all);
    return n / dt;
}

static double sq_run(int batch, double *p50, double *p99)
{
    char dir[] = "/tmp/sc-bench-sq-XXXXXX", err[256], cmd[128];
    relay_store *s = NULL;
    static const uint8_t ROOM[16] = "bench-sqlite-rm.";
    uint8_t pk[32] = {1}, gi[64] = {2};
    if (!mkdtemp(dir) || relay_store_open(dir, NULL, &s, err, sizeof err) != RELAY_STORE_OK) {
        fprintf(stderr, "store: %s\n", err);
        exit(1);
    }
    relay_store_room_create(s, ROOM, 16, pk, gi, sizeof gi, 1, 0);
    relay_store_flush(s, 1, NULL, NULL);
    int flushes = count / batch;
    double *lat = malloc(sizeof(double) * (size_t)flushes);
    double t0 = now_s();
    for (int f = 0; f < flushes; f++) {
        double t1 = now_s();
        for (int i = 0; i < batch; i++) {
            uint64_t seq;
            if (relay_store_append(s, ROOM, 16, payload, (size_t)size, 1, 0, NULL, 0, NULL, 0,
                                   &seq) != RELAY_STORE_OK) {
                fprintf(stderr, "append: %s\n", relay_store_errmsg(s));
                exit(1);
            }
        }
        if (relay_store_flush(s, 1, NULL, NULL) != RELAY_STORE_OK) {
            fprintf(stderr, "flush: %s\n", relay_store_errmsg(s));
            exit(1);
        }
        lat[f] = now_s() - t1;
    }
    double dt = now_s() - t0;
    *p50 = pct(lat, flushes, 0.5);
    *p99 = pct(lat, flushes, 0.99);
    free(lat);
    relay_store_close(s);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return (double)flushes * batch / dt;
}

static pid_t nats_pid;
static char nats_dir[64];

static void start_nats(const char *bin)
{
    char log[128], sd[128];
    snprintf(nats_dir, sizeof nats_dir, "/tmp/sc-bench-js-XXXXXX");
    if (!mkdtemp(nats_dir)) exit(1);
    snprintf(log, sizeof log, "%s/nats.log", nats_dir);
    snprintf(sd, sizeof sd, "%s/store", nats_dir);
    nats_pid = fork();
    if (nats_pid == 0) {
        if (!freopen(log, "a", stderr)) _exit(126);
        execl(bin, bin, "-js", "-a", "127.0.0.1", "-p", "-1", "-sd", sd, (char *)NULL);
        _exit(127);
    }
    for (double end = now_s() + 15; now_s() < end; usleep(20000)) {
        FILE *f = fopen(log, "r");
        char line[512];
        int port = 0, ready = 0;
        while (f && fgets(line, sizeof line, f)) {
            char *p = strstr(line, "client connections on 127.0.0.1:");
            if (p) port = atoi(p + strlen("client connections on 127.0.0.1:"));
            if (strstr(line, "Server is ready")) ready = 1;
        }
        if (f) fclose(f);
        if (ready && port) {
            snprintf(url, sizeof url, "nats://127.0.0.1:%d", port);
            return;
        }
    }
    fprintf(stderr, "nats-server not ready after 15 s (%s)\n", log);
    exit(1);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s NATS_SERVER [--count N] [--size B] [--writers W] [--runs R]\n",
                argv[0]);
        return 2;
    }
    for (int i = 2; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--count")) count = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--size")) size = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--writers")) writers = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--runs")) runs = atoi(argv[i + 1]);
    }
    if (count < 64 || count % 64 || size < 1 || size > 65536 || writers < 1 || writers > 16 || runs < 1 ||
        runs > 15) {
        fprintf(stderr, "out of range\n");
        return 2;
    }
    payload = malloc((size_t)size);
    memset(payload, 0x5a, (size_t)size);
    start_nats(argv[1]);
    printf("%d appends of %d bytes per writer, medians of %d runs (nats-server -js, R1, file "
           "storage)\n\n", count, size, runs);
    printf("| log | appends/s | latency p50 | p99 | conflicts per entry |\n");
    printf("|---|---:|---:|---:|---:|\n");
    for (int kind = 0; kind < 4; kind++) {
        double r[15], a[15], b[15], c[15];
        for (int run = 0; run < runs; run++) {
            int w = writers;
            r[run] = js_run(kind == 0 || kind == 3 ? 1 : w, kind == 1, kind == 1, kind == 3 ? 64 : 1, &a[run], &b[run], &c[run], run);
        }
        char nm[96];
        if (kind == 0) snprintf(nm, sizeof nm, "jetstream, 1 writer, head known");
        else if (kind == 1) snprintf(nm, sizeof nm, "jetstream, %d writers, one room", writers);
        else if (kind == 2) snprintf(nm, sizeof nm, "jetstream, %d writers, a room each", writers);
        else snprintf(nm, sizeof nm, "jetstream, 1 writer, 64 pipelined per batch");
        printf("| %s | %.0f | %.0f us | %.0f us | %.2f |\n", nm, median3(r, runs),
               median3(a, runs) * 1e6, median3(b, runs) * 1e6, median3(c, runs));
    }
    for (int batch = 1; batch <= 64; batch += 63) {
        double r[15], a[15], b[15];
        for (int run = 0; run < runs; run++) r[run] = sq_run(batch, &a[run], &b[run]);
        printf("| sqlite (relay_store, FULL), %d per flush | %.0f | %.0f us | %.0f us | - |\n",
               batch, median3(r, runs), median3(a, runs) * 1e6, median3(b, runs) * 1e6);
    }
    kill(nats_pid, SIGTERM);
    waitpid(nats_pid, NULL, 0);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", nats_dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", nats_dir);
    return 0;
}
