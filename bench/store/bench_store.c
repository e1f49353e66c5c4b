/*
 * bench_store: figures for relay_store, the durable log of protocol v2 (docs/RELAY.md,
 * "Durable log"). Not a test: it asserts only that the operations succeed.
 *
 *   bench_store [--dir DIR] [--runs N] [--large-mb M] [--quick]
 *
 *   --dir DIR      where the databases go (default: a new directory under /tmp); put it on
 *                  the disk the relay will use, fsync cost is the disk's
 *   --runs N       rounds per batch size; the figures are medians over all flushes (default 5)
 *   --large-mb M   size of the database for the open/quick_check figure (default 256)
 *   --quick        fewer flushes and a 32 MB large database
 *
 * Prints, for batch sizes 1, 10, 100 of 256-byte entries, with synchronous=FULL (what the
 * relay uses) and NORMAL (for comparison): appends/s, flush latency median and p99, and
 * the cost per entry; then the cost of one fdatasync on that disk, of opening a large
 * database with and without PRAGMA quick_check, of integrity_check, and the flush
 * latency while retention deletes a large backlog in bounded steps.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "relay_store.h"

static const uint8_t ROOM[16] = "bench-room......";
static const uint8_t PK[32] = "bench-pk........................";

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double p)
{
    size_t i;
    qsort(v, n, sizeof *v, cmp_double);
    i = (size_t)(p * (double)(n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}

static void die(const char *what, relay_store *s, const char *err)
{
    fprintf(stderr, "bench_store: %s: %s\n", what, s ? relay_store_errmsg(s) : err);
    exit(1);
}

static relay_store *open_store(const char *dir, const relay_store_opts *o)
{
    char err[512];
    relay_store *s = NULL;
    if (relay_store_open(dir, o, &s, err, sizeof err) != RELAY_STORE_OK)
        die("open", NULL, err);
    return s;
}

static char base[256];
static unsigned dir_no;

static const char *new_dir(char *buf, size_t n)
{
    snprintf(buf, n, "%s/db%u", base, dir_no++);
    return buf;
}

static void create_room(relay_store *s)
{
    if (relay_store_room_create(s, ROOM, 16, PK, (const uint8_t *)"gi", 2, 0, 0) ||
        relay_store_flush(s, 0, NULL, NULL))
        die("create", s, NULL);
}

/* Appends `flushes` batches of `batch` entries of `len` bytes; fills lat[] (seconds). */
static double run_batches(relay_store *s, unsigned batch, unsigned flushes, size_t len,
                          double *lat, uint64_t *t_ms)
{
    uint8_t buf[1024];
    double t0 = now_s();

    memset(buf, 0x5a, sizeof buf);
    for (unsigned f = 0; f < flushes; f++) {
        double a;
        for (unsigned i = 0; i < batch; i++) {
            uint64_t seq;
            buf[0] = (uint8_t)i;
            if (relay_store_append(s, ROOM, 16, buf, len, *t_ms, 0, NULL, 0, NULL, 0, &seq))
                die("append", s, NULL);
        }
        a = now_s();
        if (relay_store_flush(s, (*t_ms)++, NULL, NULL))
            die("flush", s, NULL);
        lat[f] = now_s() - a;
    }
    return now_s() - t0;
}

static void bench_batches(int runs, int quick)
{
    static const unsigned sizes[] = {1, 10, 100};
    char dir[300];

    printf("appends of 256-byte entries, one transaction per flush (one flush per loop turn)\n");
    printf("%-8s %6s %12s %14s %14s %16s\n", "sync", "batch", "appends/s", "flush median",
           "flush p99", "per entry");
    for (int sync_normal = 0; sync_normal <= 1; sync_normal++) {
        for (size_t b = 0; b < sizeof sizes / sizeof *sizes; b++) {
            unsigned batch = sizes[b];
            unsigned flushes = (quick ? 100 : 400) / (batch == 100 ? 2 : 1);
            double *lat = calloc((size_t)flushes * (size_t)runs, sizeof *lat);
            double *rates = calloc((size_t)runs, sizeof *rates);
            uint64_t t_ms = 1;
            relay_store_opts o;
            double med, p99, rate;

            relay_store_opts_default(&o);
            o.sync_normal = sync_normal;
            for (int r = 0; r < runs; r++) {
                relay_store *s = open_store(new_dir(dir, sizeof dir), &o);
                create_room(s);
                run_batches(s, batch, 20, 256, lat + (size_t)r * flushes, &t_ms); /* warm up */
                rates[r] = (double)batch * flushes /
                           run_batches(s, batch, flushes, 256, lat + (size_t)r * flushes, &t_ms);
                relay_store_close(s);
            }
            med = pct(lat, (size_t)flushes * (size_t)runs, 0.5);
            p99 = pct(lat, (size_t)flushes * (size_t)runs, 0.99);
            rate = pct(rates, (size_t)runs, 0.5);
            printf("%-8s %6u %12.0f %11.3f ms %11.3f ms %13.1f us\n",
                   sync_normal ? "NORMAL" : "FULL", batch, rate, med * 1e3, p99 * 1e3,
                   med * 1e6 / batch);
            free(lat);
            free(rates);
        }
    }
}

static void bench_fsync(void)
{
    char path[300];
    double lat[200];
    uint8_t page[4096] = {0};
    int fd;

    snprintf(path, sizeof path, "%s/fsync-probe", base);
    fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
    if (fd < 0) {
        perror("fsync probe");
        return;
    }
    for (int i = 0; i < 200; i++) {
        double a = now_s();
        if (pwrite(fd, page, sizeof page, (off_t)(i % 16) * 4096) != (ssize_t)sizeof page ||
            fdatasync(fd)) {
            perror("fsync probe");
            break;
        }
        lat[i] = now_s() - a;
    }
    close(fd);
    unlink(path);
    printf("one 4 KiB write + fdatasync on this disk: median %.3f ms, p99 %.3f ms\n",
           pct(lat, 200, 0.5) * 1e3, pct(lat, 200, 0.99) * 1e3);
}

static uint64_t file_bytes(relay_store *s)
{
    relay_store_stats st;
    relay_store_stats_get(s, &st);
    return st.file_bytes;
}

static void bench_large(unsigned mb)
{
    char dir[300];
    relay_store_opts o;
    relay_store *s;
    uint64_t t_ms = 1, entries;
    double lat[1], t, t_qc, t_noqc, t_ic;
    uint64_t target = (uint64_t)mb << 20;

    relay_store_opts_default(&o);
    o.sync_normal = 1;
    o.max_entries = 0;
    o.max_bytes = 0;
    o.max_age_ms = 0;
    new_dir(dir, sizeof dir);
    s = open_store(dir, &o);
    create_room(s);
    t = now_s();
    while (file_bytes(s) < target)
        run_batches(s, 2000, 1, 1000, lat, &t_ms);
    entries = (t_ms - 1) * 2000;
    printf("large database: %llu entries of 1000 bytes, %.0f MB on disk, written in %.1f s\n",
           (unsigned long long)entries, (double)file_bytes(s) / 1e6, now_s() - t);
    relay_store_close(s);

    o.quick_check = 0;
    t = now_s();
    s = open_store(dir, &o);
    t_noqc = now_s() - t;
    t = now_s();
    if (relay_store_integrity_check(s))
        die("integrity_check", s, NULL);
    t_ic = now_s() - t;
    relay_store_close(s);
    o.quick_check = 1;
    t = now_s();
    s = open_store(dir, &o);
    t_qc = now_s() - t;
    relay_store_close(s);
    printf("open without quick_check %.3f s, with quick_check %.3f s, integrity_check %.3f s "
           "(page cache warm)\n",
           t_noqc, t_qc, t_ic);

    /* A bound lowered at restart: retention deletes the backlog in bounded steps. */
    o.max_entries = 1000;
    o.quick_check = 0;
    o.sync_normal = 0;
    s = open_store(dir, &o);
    {
        relay_store_stats st;
        double worst = 0, sum = 0;
        unsigned n = 0;
        uint64_t before = file_bytes(s);
        t = now_s();
        do {
            double a = now_s();
            if (relay_store_flush(s, t_ms++, NULL, NULL))
                die("flush", s, NULL);
            a = now_s() - a;
            sum += a;
            worst = a > worst ? a : worst;
            n++;
            relay_store_stats_get(s, &st);
        } while (st.entries > 1000 && n < 1000000);
        printf("retention of %llu entries at %u rows per flush: %u flushes, mean %.2f ms, "
               "worst %.2f ms, %.1f s in all; files %.0f MB -> %.0f MB (incremental vacuum)\n",
               (unsigned long long)st.retained_out, o.retain_rows, n, sum / n * 1e3, worst * 1e3,
               now_s() - t, (double)before / 1e6, (double)file_bytes(s) / 1e6);
    }
    relay_store_close(s);
}

int main(int argc, char **argv)
{
    const char *dir = NULL;
    int runs = 5, quick = 0;
    unsigned large_mb = 256;
    char cmd[400];

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--dir") && i + 1 < argc)
            dir = argv[++i];
        else if (!strcmp(argv[i], "--runs") && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--large-mb") && i + 1 < argc)
            large_mb = (unsigned)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--quick"))
            quick = 1;
        else {
            fprintf(stderr, "usage: %s [--dir DIR] [--runs N] [--large-mb M] [--quick]\n", argv[0]);
            return 2;
        }
    }
    if (runs < 1)
        runs = 1;
    if (quick) {
        runs = 1;
        large_mb = 32;
    }
    if (dir) {
        snprintf(base, sizeof base, "%s/bench-store-%ld", dir, (long)getpid());
        if (mkdir(base, 0700)) {
            perror(base);
            return 1;
        }
    } else {
        snprintf(base, sizeof base, "/tmp/bench-store-XXXXXX");
        if (!mkdtemp(base)) {
            perror("mkdtemp");
            return 1;
        }
    }
    printf("bench_store: databases in %s, SQLite WAL, page 4096\n", base);
    bench_fsync();
    bench_batches(runs, quick);
    bench_large(large_mb);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", base);
    return 0;
}
