/* fuzz_mls_group: the group layer's entry points over arbitrary bytes. A fixed group of
 * three (alice, bob, carol) is built once with a deterministic rng; each input's first
 * byte picks what the rest is fed to:
 *   0  mls_group_process on a fresh copy of bob's state (a received message)
 *   1  mls_group_join_welcome with dave's key package bundle (a Welcome)
 *   2  mls_group_import (a stored state)
 *   3  mls_group_join_external as erin (a GroupInfo)
 * Every call must succeed or fail with an mls_err code (never crash, leak or touch
 * memory it should not: ASan); a failed process leaves bob's epoch and authenticator as
 * they were; an accepted state re-exports to the same bytes and then sends, receives and
 * commits (or refuses with a code).
 *
 * Built with -DFUZZ_MLS_GROUP_SEEDS it is instead a program that writes seed inputs
 * (real messages of that group) to the directory given as its argument. */
#include "fuzz_common.h"
#include "mls_err.h"
#include "mls_group.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW 1800000000u

static uint32_t rng_ctr;
static void det_fill(void *ctx, uint8_t *out, size_t n)
{
    uint32_t *c = ctx;
    for (size_t i = 0; i < n; i++) {
        uint8_t in[4] = { (uint8_t)(*c >> 24), (uint8_t)(*c >> 16), (uint8_t)(*c >> 8),
                          (uint8_t)*c };
        uint8_t h[32];
        crypto_hash_sha256(h, in, sizeof in);
        out[i] = h[0];
        (*c)++;
    }
}
static mls_rng rng = { det_fill, &rng_ctr };

static uint8_t seeds[5][MLS_SIG_SEED_LEN];
static mls_bytes bob_state;
static mls_kp_bundle dave_kp;
static mls_bytes seed_msgs[6];
static size_t n_seed_msgs;
static int ready;

static mls_identity ident(int i, const char *name)
{
    mls_identity id = { (const uint8_t *)name, strlen(name), seeds[i] };
    return id;
}

static void keep_seed(const mls_bytes *b)
{
    if (n_seed_msgs < sizeof seed_msgs / sizeof seed_msgs[0] &&
        mls_bytes_set(&seed_msgs[n_seed_msgs], b->p, b->len) == 0)
        n_seed_msgs++;
}

static void setup(void)
{
    mls_group *a = NULL, *b = NULL, *c = NULL;
    mls_kp_bundle kb, kc;
    mls_commit_out co, co2;
    mls_event ev;
    mls_bytes msg, gi;

    if (ready)
        return;
    fuzz_sodium_init();
    for (int i = 0; i < 5; i++)
        det_fill(&rng_ctr, seeds[i], sizeof seeds[i]);
    mls_identity ia = ident(0, "alice"), ib = ident(1, "bob"), ic = ident(2, "carol"),
                 id = ident(3, "dave");
    FUZZ_ASSERT(mls_group_create(&a, (const uint8_t *)"fuzz", 4, &ia, NULL, 0, NOW, &rng) == 0);
    FUZZ_ASSERT(mls_kp_bundle_create(&kb, &ib, NOW, 86400, &rng) == 0);
    FUZZ_ASSERT(mls_kp_bundle_create(&kc, &ic, NOW, 86400, &rng) == 0);
    FUZZ_ASSERT(mls_kp_bundle_create(&dave_kp, &id, NOW, 86400, &rng) == 0);
    mls_slice kps[2] = { { kb.key_package.p, kb.key_package.len },
                         { kc.key_package.p, kc.key_package.len } };
    mls_commit_opts o;
    memset(&o, 0, sizeof o);
    o.add_kps = kps;
    o.n_add = 2;
    o.tree_in_welcome = 1;
    FUZZ_ASSERT(mls_group_commit(a, &o, NOW, &rng, &co) == 0);
    FUZZ_ASSERT(mls_group_commit_merge(a) == 0);
    FUZZ_ASSERT(mls_group_join_welcome(&b, co.welcome.p, co.welcome.len, &kb, NULL, 0, NULL, 0,
                                       NOW) == 0);
    FUZZ_ASSERT(mls_group_join_welcome(&c, co.welcome.p, co.welcome.len, &kc, NULL, 0, NULL, 0,
                                       NOW) == 0);
    FUZZ_ASSERT(mls_group_export(b, &bob_state) == 0);
    /* seeds: messages bob can process in this state, a Welcome, a GroupInfo */
    FUZZ_ASSERT(mls_group_protect(a, (const uint8_t *)"hello", 5, NULL, 0, &rng, &msg) == 0);
    keep_seed(&msg);
    mls_bytes_free(&msg);
    FUZZ_ASSERT(mls_group_propose_update(c, 1, &rng, &msg) == 0);
    keep_seed(&msg);
    mls_bytes_free(&msg);
    FUZZ_ASSERT(mls_group_propose_remove(a, 2, 0, &rng, &msg) == 0);
    keep_seed(&msg);
    mls_bytes_free(&msg);
    mls_slice kd[1] = { { dave_kp.key_package.p, dave_kp.key_package.len } };
    memset(&o, 0, sizeof o);
    o.add_kps = kd;
    o.n_add = 1;
    o.force_path = 1;
    FUZZ_ASSERT(mls_group_commit(c, &o, NOW, &rng, &co2) == 0);
    keep_seed(&co2.commit);
    keep_seed(&co2.welcome);
    FUZZ_ASSERT(mls_group_group_info(a, 1, &gi) == 0);
    keep_seed(&gi);
    mls_bytes_free(&gi);
    FUZZ_ASSERT(mls_group_process(b, co2.commit.p, co2.commit.len, NOW, &ev) == 0);
    mls_event_free(&ev);
    mls_commit_out_free(&co);
    mls_commit_out_free(&co2);
    mls_kp_bundle_free(&kb);
    mls_kp_bundle_free(&kc);
    mls_group_free(a);
    mls_group_free(b);
    mls_group_free(c);
    ready = 1;
}

static void fuzz_process(const uint8_t *p, size_t n)
{
    mls_group *b = NULL;
    mls_event ev;
    uint8_t ea0[MLS_HASH_LEN], ea1[MLS_HASH_LEN];
    FUZZ_ASSERT(mls_group_import(&b, bob_state.p, bob_state.len) == 0);
    mls_group_epoch_authenticator(b, ea0);
    int rc = mls_group_process(b, p, n, NOW, &ev);
    if (rc == 0) {
        FUZZ_ASSERT(ev.kind >= MLS_EV_APPLICATION && ev.kind <= MLS_EV_COMMIT);
        mls_event_free(&ev);
    } else {
        FUZZ_ASSERT(rc < 0);
        FUZZ_ASSERT(mls_group_epoch(b) == 1);
        mls_group_epoch_authenticator(b, ea1);
        FUZZ_ASSERT(memcmp(ea0, ea1, sizeof ea0) == 0);
        FUZZ_ASSERT(ev.data.p == NULL && ev.sender_identity.p == NULL);
    }
    mls_group_free(b);
}

static void fuzz_welcome(const uint8_t *p, size_t n)
{
    mls_group *g = NULL;
    int rc = mls_group_join_welcome(&g, p, n, &dave_kp, NULL, 0, NULL, 0, NOW);
    FUZZ_ASSERT(rc <= 0);
    FUZZ_ASSERT((rc == 0) == (g != NULL));
    mls_group_free(g);
}

static void fuzz_import(const uint8_t *p, size_t n)
{
    mls_group *g = NULL;
    mls_bytes again;
    int rc = mls_group_import(&g, p, n);
    if (rc != 0) {
        FUZZ_ASSERT(rc < 0 && g == NULL);
        return;
    }
    FUZZ_ASSERT(mls_group_export(g, &again) == 0);
    FUZZ_ASSERT(again.len == n && memcmp(again.p, p, n) == 0);
    mls_bytes_free(&again);
    /* the loaded group works (or refuses with a code): send, receive, commit */
    mls_bytes msg;
    mls_event ev;
    mls_commit_out co;
    if (mls_group_protect(g, (const uint8_t *)"x", 1, NULL, 0, &rng, &msg) == 0)
        mls_bytes_free(&msg);
    for (size_t i = 0; i < n_seed_msgs; i++)
        if (mls_group_process(g, seed_msgs[i].p, seed_msgs[i].len, NOW, &ev) == 0)
            mls_event_free(&ev);
    rc = mls_group_commit(g, NULL, NOW, &rng, &co);
    FUZZ_ASSERT(rc <= 0);
    if (rc == 0) {
        mls_commit_out_free(&co);
        FUZZ_ASSERT(mls_group_commit_merge(g) == 0);
    }
    mls_group_free(g);
}

static void fuzz_external(const uint8_t *p, size_t n)
{
    mls_group *g = NULL;
    mls_bytes commit;
    mls_identity ie = ident(4, "erin");
    int rc = mls_group_join_external(&g, &commit, p, n, NULL, 0, &ie, UINT32_MAX, NOW, &rng);
    FUZZ_ASSERT(rc <= 0);
    FUZZ_ASSERT((rc == 0) == (g != NULL));
    if (rc == 0)
        mls_bytes_free(&commit);
    mls_group_free(g);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    if (size == 0)
        return 0;
    switch (data[0] & 3) {
    case 0:
        fuzz_process(data + 1, size - 1);
        break;
    case 1:
        fuzz_welcome(data + 1, size - 1);
        break;
    case 2:
        fuzz_import(data + 1, size - 1);
        break;
    default:
        fuzz_external(data + 1, size - 1);
        break;
    }
    return 0;
}

#ifdef FUZZ_MLS_GROUP_SEEDS
static void write_seed(const char *dir, const char *name, uint8_t mode, const mls_bytes *b)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    FUZZ_ASSERT(f != NULL);
    FUZZ_ASSERT(fwrite(&mode, 1, 1, f) == 1 && fwrite(b->p, 1, b->len, f) == b->len);
    FUZZ_ASSERT(fclose(f) == 0);
}

int main(int argc, char **argv)
{
    static const char *names[] = { "app", "proposal_update", "proposal_remove", "commit",
                                   "welcome", "group_info" };
    static const uint8_t modes[] = { 0, 0, 0, 0, 1, 3 };
    if (argc != 2)
        return 2;
    setup();
    for (size_t i = 0; i < n_seed_msgs; i++)
        write_seed(argv[1], names[i], modes[i], &seed_msgs[i]);
    write_seed(argv[1], "state", 2, &bob_state);
    return 0;
}
#endif
