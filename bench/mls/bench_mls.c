/*
 * bench_mls: micro-benchmark of shared/mls through its public API (mls_group.h). Not a
 * test: it checks only that every operation succeeds (and that members agree on the
 * epoch authenticator after each commit), and prints figures.
 *
 *   bench_mls [--sizes 2,10,100,1000] [--reps N] [--reps-large N] [--app-sizes 100,1024]
 *             [--app-batch N] [--app-reps N] [--no-external] [--no-filled] [--warmup-ms M]
 *             [--seed S] [--quiet]
 *
 * For each group size n: a group of n members is built as setup (untimed): member 0
 * ("the committer") creates it and adds the other n-1 from key packages in one commit
 * with a path; two receivers (leaf 1 and leaf n-1, or just leaf 1 when n = 2) join from
 * its Welcome. The tree then has the committer's direct path filled and every other
 * parent node blank, as after a bulk add. Then, --reps times (--reps-large for n >= 500):
 *   update.commit    committer: full-path self-update commit (mls_group_commit with
 *                    force_path, then mls_group_commit_merge)
 *   update.process   one receiver processes it (mls_group_process), per receiver
 *   add.commit       committer: commit adding one fresh key package (no path), + merge
 *   add.process      per receiver
 *   join.welcome     the added member joins from the Welcome (ratchet tree inside it,
 *                    the whole tree validated)
 *   remove.commit    committer: commit removing that member (path), + merge
 *   remove.process   per receiver
 *   external.join    a newcomer joins by external commit from a GroupInfo with the tree
 *                    (mls_group_join_external); external.process: a member processes
 *                    that commit; the committer then removes it again (counted in remove.*)
 * Then (unless --no-filled) a second group of n is built and members in each of the
 * committer's copath subtrees (leaves 2, 4, 8, ...) commit once, untimed, so that every
 * node of its copath is set, as in a group whose members commit regularly:
 *   update.commit.filled   the committer's self-update there (about log2 n encryptions)
 *   update.process.filled  per receiver
 * Before all that, a warm-up of --warmup-ms (default 1000) runs every operation in a
 * group of 3 without recording anything.
 * Application messages (in the group of the smallest size): --app-reps batches of
 * --app-batch messages of each --app-sizes size: protect (committer) and unprotect
 * (receiver) timed per batch, reported per message.
 *
 * Every sample is taken on two clocks: the process's CPU time (cpu_*: what the operation
 * costs, robust on a shared machine) and the wall clock (wall_*: includes time the
 * process waited for the CPU). Output: one machine-readable line per figure on stdout,
 *   FIGURE {"op":"update.commit","members":1000,"bytes":0,"samples":5,
 *           "cpu_median_us":..,"cpu_min_us":..,"cpu_p90_us":..,"cpu_max_us":..,
 *           "wall_median_us":..,"wall_min_us":..,"wall_p90_us":..,"wall_max_us":..,
 *           "ops_per_s":..}   (ops_per_s = 1e6 / cpu_median_us)
 * then (unless --quiet) a human table. Setup and progress go to stderr. Randomness is a
 * ChaCha20 stream from --seed (deterministic: the same run builds the same groups).
 * Plain C with clock_gettime, so the same file builds with Emscripten for Node.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef __EMSCRIPTEN__
#include <emscripten.h>
#endif

#include "mls_err.h"
#include "mls_group.h"

#define NOW 1800000000u
#define MAX_SIZES 16
#define MAX_SAMPLES 4096
#define MAX_RECV 2
#define MAX_FIGS 256
#define MAX_FILL 24

/* ---- options, clock, statistics ------------------------------------------------------ */

static size_t sizes[MAX_SIZES] = { 2, 10, 100, 1000 };
static size_t n_sizes = 4;
static size_t app_sizes[MAX_SIZES] = { 100, 1024 };
static size_t n_app_sizes = 2;
static int reps = 9, reps_large = 5, app_batch = 200, app_reps = 9, external = 1, quiet = 0;
static int warmup_ms = 1000, filled = 1;
/* 0 during the warm-up: samples are dropped (add) */
static int recording = 1;
static unsigned long seed = 1;

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

#ifdef __EMSCRIPTEN__
/* Emscripten's CPU-time clocks are the wall clock; Node knows the process's CPU time. */
EM_JS(double, node_cpu_us, (void), {
    var u = process.cpuUsage();
    return u.user + u.system;
});
#endif

/* CPU time of this process (user + system) in microseconds: unlike the wall clock, it
 * does not count the time other processes on a busy machine take the CPU away. Under
 * Node it includes V8's background threads (compilers, GC), mostly idle after the
 * warm-up. */
static double cpu_us(void)
{
#ifdef __EMSCRIPTEN__
    return node_cpu_us();
#else
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
#endif
}

typedef struct stamp {
    double wall, cpu;
} stamp;

static stamp now_st(void)
{
    stamp t = { now_us(), cpu_us() };
    return t;
}

static void die(const char *what, int rc)
{
    fprintf(stderr, "bench_mls: %s failed: %s\n", what, rc ? mls_strerror(rc) : "check");
    exit(1);
}

static void must(int rc, const char *what)
{
    if (rc)
        die(what, rc);
}

typedef struct series {
    const char *op;
    size_t members, bytes;
    double v[MAX_SAMPLES]; /* microseconds per operation, wall clock */
    double c[MAX_SAMPLES]; /* the same in CPU time */
    int n;
} series;

static series *figs[MAX_FIGS];
static int n_figs;

/* The series of (op, members, bytes), created empty the first time. */
static series *series_new(const char *op, size_t members, size_t bytes)
{
    for (int i = 0; i < n_figs; i++)
        if (!strcmp(figs[i]->op, op) && figs[i]->members == members && figs[i]->bytes == bytes)
            return figs[i];
    if (n_figs == MAX_FIGS)
        die("too many figures", 0);
    series *s = calloc(1, sizeof *s);
    if (!s)
        die("calloc", 0);
    s->op = op;
    s->members = members;
    s->bytes = bytes;
    figs[n_figs++] = s;
    return s;
}

/* One sample: the span from t0 to t1 divided by the ops it covered. */
static void add_per(series *s, stamp t0, stamp t1, size_t ops)
{
    if (!recording || s->n == MAX_SAMPLES)
        return;
    s->v[s->n] = (t1.wall - t0.wall) / (double)ops;
    s->c[s->n] = (t1.cpu - t0.cpu) / (double)ops;
    s->n++;
}

static void add(series *s, stamp t0, stamp t1)
{
    add_per(s, t0, t1, 1);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Sorted copy's quantile q (nearest rank, q in [0, 1]). */
static double quantile(const double *sorted, int n, double q)
{
    int i = (int)(q * (n - 1) + 0.5);
    return sorted[i < 0 ? 0 : i >= n ? n - 1 : i];
}

static double median_of(const double *sorted, int n)
{
    return n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

typedef struct stats {
    double med, min, p90, max;
} stats;

static stats stats_of(const double *x, int n)
{
    double v[MAX_SAMPLES];
    memcpy(v, x, (size_t)n * sizeof *v);
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    stats st = { median_of(v, n), v[0], quantile(v, n, 0.9), v[n - 1] };
    return st;
}

static void print_figure(const series *s)
{
    if (s->n == 0)
        return;
    stats w = stats_of(s->v, s->n), c = stats_of(s->c, s->n);
    printf("FIGURE {\"op\":\"%s\",\"members\":%zu,\"bytes\":%zu,\"samples\":%d,"
           "\"cpu_median_us\":%.3f,\"cpu_min_us\":%.3f,\"cpu_p90_us\":%.3f,"
           "\"cpu_max_us\":%.3f,\"wall_median_us\":%.3f,\"wall_min_us\":%.3f,"
           "\"wall_p90_us\":%.3f,\"wall_max_us\":%.3f,\"ops_per_s\":%.1f}\n",
           s->op, s->members, s->bytes, s->n, c.med, c.min, c.p90, c.max, w.med, w.min, w.p90,
           w.max, c.med > 0 ? 1e6 / c.med : 0.0);
}

static void print_table(void)
{
    printf("\n%-17s %7s %6s %7s %11s %11s %11s %11s %11s %10s\n", "operation", "members",
           "bytes", "samples", "cpu median", "cpu min", "cpu p90", "cpu max", "wall median",
           "ops/s");
    for (int i = 0; i < n_figs; i++) {
        const series *s = figs[i];
        if (s->n == 0)
            continue;
        stats w = stats_of(s->v, s->n), c = stats_of(s->c, s->n);
        printf("%-17s %7zu %6zu %7d %11.1f %11.1f %11.1f %11.1f %11.1f %10.1f\n", s->op,
               s->members, s->bytes, s->n, c.med, c.min, c.p90, c.max, w.med,
               c.med > 0 ? 1e6 / c.med : 0.0);
    }
    printf("(microseconds per operation; cpu = this process's CPU time, wall = elapsed)\n");
}

/* ---- deterministic randomness: ChaCha20 keystream, one nonce per call ---------------- */

typedef struct det_rng {
    uint8_t key[crypto_stream_chacha20_ietf_KEYBYTES];
    uint64_t calls;
} det_rng;

static void det_fill(void *ctx, uint8_t *out, size_t n)
{
    det_rng *d = ctx;
    uint8_t nonce[crypto_stream_chacha20_ietf_NONCEBYTES] = { 0 };
    memcpy(nonce, &d->calls, sizeof d->calls);
    d->calls++;
    crypto_stream_chacha20_ietf(out, n, nonce, d->key);
}

static det_rng det;
static mls_rng rng = { det_fill, &det };

/* ---- members ------------------------------------------------------------------------- */

typedef struct member {
    mls_group *g;
    char name[32];
    uint8_t seed[MLS_SIG_SEED_LEN];
} member;

static mls_identity ident_of(member *m)
{
    mls_identity id = { (const uint8_t *)m->name, strlen(m->name), m->seed };
    return id;
}

static void member_init(member *m, const char *prefix, unsigned long i)
{
    memset(m, 0, sizeof *m);
    snprintf(m->name, sizeof m->name, "%s-%lu", prefix, i);
    mls_rng_fill(&rng, m->seed, sizeof m->seed);
}

static void key_package(member *m, mls_kp_bundle *kp)
{
    mls_identity id = ident_of(m);
    must(mls_kp_bundle_create(kp, &id, NOW, 86400 * 90, &rng), "mls_kp_bundle_create");
}

/* Everyone in ms[0..n) is in the committer's epoch with its authenticator. */
static void check_agree(member *committer, member *ms, int n)
{
    uint8_t a[MLS_HASH_LEN], b[MLS_HASH_LEN];
    mls_group_epoch_authenticator(committer->g, a);
    for (int i = 0; i < n; i++) {
        if (mls_group_epoch(ms[i].g) != mls_group_epoch(committer->g))
            die("epoch agreement", 0);
        mls_group_epoch_authenticator(ms[i].g, b);
        if (memcmp(a, b, sizeof a) != 0)
            die("epoch authenticator agreement", 0);
    }
}

/* Commits opts as the committer (timed with the merge into `c`), then every receiver
 * processes the commit (each timed into `p`). */
static void commit_round(member *committer, member *recv, int n_recv, const mls_commit_opts *o,
                         series *c, series *p, mls_commit_out *out)
{
    memset(out, 0, sizeof *out);
    stamp t0 = now_st();
    must(mls_group_commit(committer->g, o, NOW, &rng, out), "mls_group_commit");
    must(mls_group_commit_merge(committer->g), "mls_group_commit_merge");
    stamp t1 = now_st();
    if (c)
        add(c, t0, t1);
    for (int i = 0; i < n_recv; i++) {
        mls_event ev;
        t0 = now_st();
        int rc = mls_group_process(recv[i].g, out->commit.p, out->commit.len, NOW, &ev);
        t1 = now_st();
        must(rc, "mls_group_process(commit)");
        if (ev.kind != MLS_EV_COMMIT)
            die("commit event", 0);
        mls_event_free(&ev);
        if (p)
            add(p, t0, t1);
    }
    check_agree(committer, recv, n_recv);
}

/* ---- one group size ------------------------------------------------------------------ */

typedef struct group_bench {
    member committer;
    member recv[MAX_RECV];
    int n_recv;
    member fill[MAX_FILL]; /* more members, at leaves fill_leaf[] (for the filled tree) */
    uint32_t fill_leaf[MAX_FILL];
    int n_fill;
    size_t n;
} group_bench;

/* Builds the group of n (untimed): one commit by the committer adding n-1 key packages,
 * receivers (and the n_fill members at leaves fill_leaf[]) join from its Welcome. */
static void build_group(group_bench *b, size_t n, const uint32_t *fill_leaf, int n_fill)
{
    double t0 = now_us();
    memset(b, 0, sizeof *b);
    b->n = n;
    b->n_fill = n_fill;
    if (n_fill > 0)
        memcpy(b->fill_leaf, fill_leaf, (size_t)n_fill * sizeof *fill_leaf);
    member_init(&b->committer, "member", 0);
    mls_identity id = ident_of(&b->committer);
    static const uint8_t gid[] = "bench-mls-group";
    must(mls_group_create(&b->committer.g, gid, sizeof gid - 1, &id, NULL, 0, NOW, &rng),
         "mls_group_create");
    if (n < 2)
        die("a group needs at least 2 members", 0);
    size_t k = n - 1;
    mls_kp_bundle *kps = calloc(k, sizeof *kps);
    mls_slice *sl = calloc(k, sizeof *sl);
    if (!kps || !sl)
        die("calloc", 0);
    /* leaf i+1 gets key package i; receivers at leaf 1 and leaf n-1 */
    size_t recv_kp[MAX_RECV] = { 0, k - 1 };
    b->n_recv = k > 1 ? 2 : 1;
    for (size_t i = 0; i < k; i++) {
        member m;
        member_init(&m, "member", (unsigned long)(i + 1));
        key_package(&m, &kps[i]);
        sl[i].p = kps[i].key_package.p;
        sl[i].len = kps[i].key_package.len;
        for (int r = 0; r < b->n_recv; r++)
            if (recv_kp[r] == i)
                b->recv[r] = m;
        for (int f = 0; f < n_fill; f++)
            if (fill_leaf[f] == i + 1)
                b->fill[f] = m;
    }
    mls_commit_opts o = { 0 };
    o.add_kps = sl;
    o.n_add = k;
    o.force_path = 1;
    o.tree_in_welcome = 1;
    mls_commit_out out = { 0 };
    must(mls_group_commit(b->committer.g, &o, NOW, &rng, &out), "mls_group_commit(setup)");
    must(mls_group_commit_merge(b->committer.g), "mls_group_commit_merge(setup)");
    for (int r = 0; r < b->n_recv; r++)
        must(mls_group_join_welcome(&b->recv[r].g, out.welcome.p, out.welcome.len,
                                    &kps[recv_kp[r]], NULL, 0, NULL, 0, NOW),
             "mls_group_join_welcome(setup)");
    for (int f = 0; f < n_fill; f++) {
        must(mls_group_join_welcome(&b->fill[f].g, out.welcome.p, out.welcome.len,
                                    &kps[fill_leaf[f] - 1], NULL, 0, NULL, 0, NOW),
             "mls_group_join_welcome(setup)");
        if (mls_group_own_leaf(b->fill[f].g) != fill_leaf[f])
            die("filler leaf", 0);
    }
    if (b->n_recv > 1 && mls_group_own_leaf(b->recv[1].g) != n - 1)
        die("receiver leaf", 0);
    check_agree(&b->committer, b->recv, b->n_recv);
    if (mls_group_member_count(b->committer.g) != n)
        die("member count after setup", 0);
    if (recording)
        fprintf(stderr, "bench_mls: group of %zu built in %.0f ms (welcome %zu bytes)\n", n,
                (now_us() - t0) / 1000, out.welcome.len);
    mls_commit_out_free(&out);
    for (size_t i = 0; i < k; i++)
        mls_kp_bundle_free(&kps[i]);
    free(kps);
    free(sl);
}

static void free_group(group_bench *b)
{
    mls_group_free(b->committer.g);
    for (int r = 0; r < b->n_recv; r++)
        mls_group_free(b->recv[r].g);
    for (int f = 0; f < b->n_fill; f++)
        mls_group_free(b->fill[f].g);
}

static unsigned long newcomers;

static void bench_commits(group_bench *b)
{
    size_t n = b->n;
    series *uc = series_new("update.commit", n, 0), *up = series_new("update.process", n, 0);
    series *ac = series_new("add.commit", n, 0), *ap = series_new("add.process", n, 0);
    series *jw = series_new("join.welcome", n, 0);
    series *rc = series_new("remove.commit", n, 0), *rp = series_new("remove.process", n, 0);
    series *kp_s = series_new("keypackage.create", n, 0);
    series *gi_s = external ? series_new("groupinfo", n, 0) : NULL;
    series *xj = external ? series_new("external.join", n, 0) : NULL;
    series *xp = external ? series_new("external.process", n, 0) : NULL;
    int r_n = !recording ? 1 : n >= 500 ? reps_large : reps;
    for (int rep = 0; rep < r_n; rep++) {
        mls_commit_out out;
        mls_commit_opts o = { 0 };

        o.force_path = 1;
        commit_round(&b->committer, b->recv, b->n_recv, &o, uc, up, &out);
        if (recording && rep == 0)
            fprintf(stderr, "bench_mls: %zu members: a self-update commit is %zu bytes\n", n,
                    out.commit.len);
        mls_commit_out_free(&out);

        member joiner;
        mls_kp_bundle kp;
        member_init(&joiner, "newcomer", newcomers++);
        stamp t0 = now_st();
        key_package(&joiner, &kp);
        add(kp_s, t0, now_st());
        mls_slice sl = { kp.key_package.p, kp.key_package.len };
        memset(&o, 0, sizeof o);
        o.add_kps = &sl;
        o.n_add = 1;
        o.tree_in_welcome = 1;
        commit_round(&b->committer, b->recv, b->n_recv, &o, ac, ap, &out);
        t0 = now_st();
        must(mls_group_join_welcome(&joiner.g, out.welcome.p, out.welcome.len, &kp, NULL, 0,
                                    NULL, 0, NOW),
             "mls_group_join_welcome");
        add(jw, t0, now_st());
        check_agree(&b->committer, &joiner, 1);
        uint32_t leaf = mls_group_own_leaf(joiner.g);
        mls_group_free(joiner.g);
        mls_kp_bundle_free(&kp);
        mls_commit_out_free(&out);

        memset(&o, 0, sizeof o);
        o.remove = &leaf;
        o.n_remove = 1;
        commit_round(&b->committer, b->recv, b->n_recv, &o, rc, rp, &out);
        mls_commit_out_free(&out);
        if (mls_group_member_count(b->committer.g) != n)
            die("member count after remove", 0);

        if (!external)
            continue;
        mls_bytes gi = { 0 }, commit = { 0 };
        t0 = now_st();
        must(mls_group_group_info(b->committer.g, 1, &gi), "mls_group_group_info");
        add(gi_s, t0, now_st());
        member_init(&joiner, "external", newcomers++);
        mls_identity id = ident_of(&joiner);
        t0 = now_st();
        must(mls_group_join_external(&joiner.g, &commit, gi.p, gi.len, NULL, 0, &id, UINT32_MAX,
                                     NOW, &rng),
             "mls_group_join_external");
        add(xj, t0, now_st());
        member *all[1 + MAX_RECV] = { &b->committer, &b->recv[0], &b->recv[1] };
        for (int i = 0; i < 1 + b->n_recv; i++) {
            mls_event ev;
            t0 = now_st();
            int e = mls_group_process(all[i]->g, commit.p, commit.len, NOW, &ev);
            stamp t1 = now_st();
            must(e, "mls_group_process(external commit)");
            mls_event_free(&ev);
            if (i > 0) /* receivers only, as for the other .process figures */
                add(xp, t0, t1);
        }
        check_agree(&joiner, b->recv, b->n_recv);
        leaf = mls_group_own_leaf(joiner.g);
        mls_group_free(joiner.g);
        mls_bytes_free(&gi);
        mls_bytes_free(&commit);
        memset(&o, 0, sizeof o);
        o.remove = &leaf;
        o.n_remove = 1;
        commit_round(&b->committer, b->recv, b->n_recv, &o, rc, rp, &out);
        mls_commit_out_free(&out);
    }
    if (recording)
        fprintf(stderr, "bench_mls: %zu members: %d repetitions done\n", n, r_n);
}

/* The committer's self-update in a tree whose copath nodes (as seen from leaf 0) are all
 * set: a member in each copath subtree (leaves 2, 4, 8, ... below n; leaf 1 is a leaf
 * already) commits once with a path first, untimed, and everyone processes it. Then each
 * of the committer's UpdatePaths encrypts to one node per level, as in a group where
 * members commit regularly. */
static void bench_filled(size_t n)
{
    uint32_t leaves[MAX_FILL] = { 0 };
    int n_fill = 0;
    for (size_t l = 2; l < n && n_fill < MAX_FILL; l *= 2)
        if (l != n - 1)
            leaves[n_fill++] = (uint32_t)l;
    group_bench b;
    build_group(&b, n, leaves, n_fill);
    /* who commits, in order: the fillers, and receiver 1 when it sits at a power of 2 */
    member *by[MAX_FILL + 1];
    int n_by = 0;
    for (int f = 0; f < n_fill; f++)
        by[n_by++] = &b.fill[f];
    if (b.n_recv > 1 && n - 1 >= 2 && ((n - 1) & (n - 2)) == 0)
        by[n_by++] = &b.recv[1];
    double t0 = now_us();
    for (int i = 0; i < n_by; i++) {
        mls_commit_opts o = { 0 };
        mls_commit_out out = { 0 };
        o.force_path = 1;
        must(mls_group_commit(by[i]->g, &o, NOW, &rng, &out), "mls_group_commit(fill)");
        must(mls_group_commit_merge(by[i]->g), "mls_group_commit_merge(fill)");
        member *all[MAX_FILL + 1 + MAX_RECV];
        int n_all = 0;
        all[n_all++] = &b.committer;
        for (int r = 0; r < b.n_recv; r++)
            all[n_all++] = &b.recv[r];
        for (int f = 0; f < n_fill; f++)
            all[n_all++] = &b.fill[f];
        for (int k = 0; k < n_all; k++) {
            if (all[k] == by[i] || !all[k]->g)
                continue;
            mls_event ev;
            must(mls_group_process(all[k]->g, out.commit.p, out.commit.len, NOW, &ev),
                 "mls_group_process(fill)");
            mls_event_free(&ev);
        }
        check_agree(by[i], b.recv, b.n_recv);
        mls_commit_out_free(&out);
    }
    if (recording)
        fprintf(stderr, "bench_mls: %zu members: %d fill commits in %.0f ms\n", n, n_by,
                (now_us() - t0) / 1000);
    series *uc = series_new("update.commit.filled", n, 0);
    series *up = series_new("update.process.filled", n, 0);
    int r_n = !recording ? 1 : n >= 500 ? reps_large : reps;
    for (int rep = 0; rep < r_n; rep++) {
        mls_commit_opts o = { 0 };
        mls_commit_out out;
        o.force_path = 1;
        commit_round(&b.committer, b.recv, b.n_recv, &o, uc, up, &out);
        if (recording && rep == 0)
            fprintf(stderr, "bench_mls: %zu members, filled copath: a self-update commit is "
                            "%zu bytes\n", n, out.commit.len);
        mls_commit_out_free(&out);
    }
    free_group(&b);
}

static void bench_app(group_bench *b)
{
    size_t batch = (size_t)app_batch;
    mls_bytes *msgs = calloc(batch, sizeof *msgs);
    if (!msgs)
        die("calloc", 0);
    for (size_t s = 0; s < n_app_sizes; s++) {
        size_t len = app_sizes[s];
        uint8_t *pt = malloc(len ? len : 1);
        if (!pt)
            die("malloc", 0);
        mls_rng_fill(&rng, pt, len);
        series *ps = series_new("app.protect", b->n, len);
        series *us = series_new("app.unprotect", b->n, len);
        for (int rep = 0; rep < (recording ? app_reps : 1); rep++) {
            stamp t0 = now_st();
            for (size_t i = 0; i < batch; i++)
                must(mls_group_protect(b->committer.g, pt, len, NULL, 0, &rng, &msgs[i]),
                     "mls_group_protect");
            stamp t1 = now_st();
            add_per(ps, t0, t1, batch);
            t0 = now_st();
            for (size_t i = 0; i < batch; i++) {
                mls_event ev;
                must(mls_group_process(b->recv[0].g, msgs[i].p, msgs[i].len, NOW, &ev),
                     "mls_group_process(application)");
                if (ev.kind != MLS_EV_APPLICATION || ev.data.len != len ||
                    (len && memcmp(ev.data.p, pt, len) != 0))
                    die("application plaintext", 0);
                mls_event_free(&ev);
            }
            t1 = now_st();
            add_per(us, t0, t1, batch);
            for (size_t i = 0; i < batch; i++)
                mls_bytes_free(&msgs[i]);
        }
        free(pt);
    }
    free(msgs);
}

/* ---- main ---------------------------------------------------------------------------- */

static size_t parse_list(const char *s, size_t *out, const char *opt)
{
    size_t n = 0;
    while (*s) {
        char *end;
        unsigned long v = strtoul(s, &end, 10);
        if (end == s || n == MAX_SIZES || (*end && *end != ',')) {
            fprintf(stderr, "bench_mls: %s wants a comma-separated list of numbers\n", opt);
            exit(2);
        }
        out[n++] = (size_t)v;
        s = *end ? end + 1 : end;
    }
    return n;
}

static int parse_int(const char *s, const char *opt, int lo, int hi)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "bench_mls: %s wants a number from %d to %d\n", opt, lo, hi);
        exit(2);
    }
    return (int)v;
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_mls [--sizes 2,10,100,1000] [--reps N] [--reps-large N] "
                    "[--app-sizes 100,1024] [--app-batch N] [--app-reps N] [--no-external] "
                    "[--no-filled] [--warmup-ms M] [--seed S] [--quiet]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--no-external")) {
            external = 0;
            continue;
        }
        if (!strcmp(a, "--no-filled")) {
            filled = 0;
            continue;
        }
        if (!strcmp(a, "--quiet")) {
            quiet = 1;
            continue;
        }
        if (!v)
            usage();
        i++;
        if (!strcmp(a, "--sizes")) {
            n_sizes = parse_list(v, sizes, a);
            for (size_t k = 0; k < n_sizes; k++)
                if (sizes[k] < 2 || sizes[k] > 100000)
                    usage();
        } else if (!strcmp(a, "--app-sizes")) {
            n_app_sizes = parse_list(v, app_sizes, a);
            for (size_t k = 0; k < n_app_sizes; k++)
                if (app_sizes[k] > 1 << 20)
                    usage();
        } else if (!strcmp(a, "--reps")) {
            reps = parse_int(v, a, 1, MAX_SAMPLES / 2);
        } else if (!strcmp(a, "--reps-large")) {
            reps_large = parse_int(v, a, 1, MAX_SAMPLES / 2);
        } else if (!strcmp(a, "--app-batch")) {
            app_batch = parse_int(v, a, 1, 100000);
        } else if (!strcmp(a, "--app-reps")) {
            app_reps = parse_int(v, a, 1, MAX_SAMPLES);
        } else if (!strcmp(a, "--warmup-ms")) {
            warmup_ms = parse_int(v, a, 0, 600000);
        } else if (!strcmp(a, "--seed")) {
            seed = (unsigned long)parse_int(v, a, 0, 1 << 30);
        } else {
            usage();
        }
    }
    if (n_sizes == 0)
        usage();
    if (sodium_init() < 0)
        die("sodium_init", 0);
    memset(det.key, 0, sizeof det.key);
    memcpy(det.key, &seed, sizeof seed);

    /* Warm-up, nothing recorded: every operation in a group of 3 until warmup_ms have
     * passed (under Node, V8 first runs WebAssembly in its baseline tier and optimises
     * hot functions later; natively this only warms caches). */
    double warm_end = now_us() + warmup_ms * 1000.0;
    recording = 0;
    while (now_us() < warm_end) {
        group_bench b;
        build_group(&b, 3, NULL, 0);
        bench_app(&b);
        bench_commits(&b);
        free_group(&b);
        if (filled)
            bench_filled(5);
    }
    recording = 1;

    /* application messages in the smallest group, then the commits, size by size */
    size_t smallest = 0;
    for (size_t k = 1; k < n_sizes; k++)
        if (sizes[k] < sizes[smallest])
            smallest = k;
    for (size_t k = 0; k < n_sizes; k++) {
        group_bench b;
        build_group(&b, sizes[k], NULL, 0);
        if (k == smallest && n_app_sizes > 0)
            bench_app(&b);
        bench_commits(&b);
        free_group(&b);
        if (filled)
            bench_filled(sizes[k]);
    }
    for (int i = 0; i < n_figs; i++)
        print_figure(figs[i]);
    if (!quiet)
        print_table();
    for (int i = 0; i < n_figs; i++)
        free(figs[i]);
    return 0;
}
