/* fuzz_mls_stateful: up to two groups of up to six members (identities from a fixed pool
 * of eight) driven through operations decoded from the input, with this fuzzer as a
 * correct delivery service: every handshake message goes to every current member, in
 * order. Input: 4 bytes seeding the deterministic rng (so a crash reproduces from its
 * input), then operations (one byte picks the operation and group, the next bytes its
 * arguments; bytes past the end read as 0), at most MAX_OPS of them:
 *   create, add (inline, Welcome join; optionally an identity already in the group:
 *   refused unless a pending Remove takes its old leaf out in the same commit), remove (inline; self or a non-member must be refused),
 *   self-update commit, commit of the pending proposals, propose (update / remove / add,
 *   public or private) delivered to all, clear proposals everywhere, PSK (proposal or
 *   inline; an unknown one refused), GroupContextExtensions (application_id or an
 *   unknown type; proposal or inline), external join from
 *   a GroupInfo (optionally resync, or without the tree: refused), application message
 *   (delivered now, or held back for some members and delivered later in any order,
 *   possibly after the next commit), flush (or loss) of held messages, export+import (the copy
 *   is kept as a twin that receives everything; or becomes the member, the original
 *   the twin), two concurrent commits (the first wins), a stale copy of a removed
 *   member sending, a message of one group delivered to the other, API misuse.
 * Oracles (FUZZ_ASSERT, so libFuzzer saves the input):
 *   - after every commit, all members (and twins) agree on the epoch, the epoch
 *     authenticator, an exporter secret, the GroupContext (tree hash, confirmed
 *     transcript hash, extensions) and the member list (leaf, identity, signature key),
 *     and each one's own leaf holds its identity;
 *   - a valid commit or proposal is accepted by every member, with the right event;
 *   - an application message decrypts at every other member of its epoch to the exact
 *     plaintext, aad, sender leaf and identity; a second delivery is MLS_E_REPLAY; held
 *     messages still decrypt one epoch later (unless the state was imported since), are
 *     refused two epochs later and by members who joined after;
 *   - a removed member gets removed = 1 and its group refuses to send; its stale copy
 *     cannot read anything later, and what it sends is refused;
 *   - an exported state re-exports to the same bytes and behaves as the original;
 *   - every refusal is a negative mls_err and leaves epoch, authenticator and member
 *     count as they were.
 *
 * Built with -DFUZZ_MLS_STATEFUL_SEEDS it writes seed inputs (op sequences) to the
 * directory given as its argument. */
#include "fuzz_common.h"
#include "mls_err.h"
#include "mls_group.h"
#include "mls_group_int.h" /* mls_group_gc_encode: the GroupContext, for the oracle */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW 1800000000u
#define MAX_OPS 32
#define MAXG 2
#define MAXM 6
#define POOL 8
#define MAXGHOST 3
#define MAXHELD 8
#define MAXJOIN 3

enum { OP_CREATE, OP_ADD, OP_REMOVE, OP_UPDATE, OP_COMMIT, OP_PROPOSE, OP_CLEAR, OP_EXTERNAL,
       OP_APP, OP_FLUSH, OP_EXPORT, OP_CONCURRENT, OP_GHOST, OP_CROSS, OP_MISUSE, OP_PSK,
       OP_GCE, OP_N };

static const char *names[POOL] = { "alice", "bob", "carol", "dave",
                                   "erin", "frank", "grace", "heidi" };
static uint8_t sig_seeds[POOL][MLS_SIG_SEED_LEN];
/* External PSKs every member (and joiner) knows. */
static const mls_ext_psk ext_psks[2] = {
    { (const uint8_t *)"psk0", 4, (const uint8_t *)"zero", 4 },
    { (const uint8_t *)"psk1", 4, (const uint8_t *)"the other one", 13 },
};

/* ---- deterministic rng: a fresh stream per input ---- */
typedef struct det_rng {
    uint8_t key[32];
    uint64_t ctr;
} det_rng;
static det_rng rng_state;
static void det_fill(void *ctx, uint8_t *out, size_t n)
{
    det_rng *d = ctx;
    uint8_t seed[randombytes_SEEDBYTES];
    crypto_generichash_state st;
    uint8_t c[8];
    for (int i = 0; i < 8; i++)
        c[i] = (uint8_t)(d->ctr >> (8 * i));
    d->ctr++;
    crypto_generichash_init(&st, NULL, 0, sizeof seed);
    crypto_generichash_update(&st, d->key, sizeof d->key);
    crypto_generichash_update(&st, c, sizeof c);
    crypto_generichash_final(&st, seed, sizeof seed);
    randombytes_buf_deterministic(out, n, seed);
}
static mls_rng rng = { det_fill, &rng_state };

/* ---- input ---- */
static const uint8_t *in_p;
static size_t in_n, in_off;
static uint8_t take(void)
{
    return in_off < in_n ? in_p[in_off++] : 0;
}

/* ---- model ---- */
typedef struct inst {
    mls_group *g;
    uint64_t import_epoch; /* epoch it was imported or joined in (prev epoch kept after) */
} inst;

typedef struct slot {
    inst m, twin;     /* m.g NULL: empty slot; twin.g NULL: none */
    int id;           /* pool index */
    unsigned serial;  /* changes whenever the slot gets a new member */
} slot;

typedef struct ghost {
    mls_group *g;     /* a copy from just before the commit that removed it */
    uint64_t epoch;
} ghost;

typedef struct held {
    mls_bytes msg, pt, aad;
    uint64_t epoch;
    int from_id;
    uint32_t from_leaf;
    unsigned todo[MAXM]; /* serial of each slot that is still owed it, 0 if none */
    int used;
} held;

typedef struct joiner {
    mls_kp_bundle kp;
    int id;
} joiner;

typedef struct grp {
    int exists;
    slot s[MAXM];
    ghost gh[MAXGHOST];
    held h[MAXHELD];
    joiner j[MAXJOIN]; /* pending Add proposals' bundles */
    int n_j;
} grp;

static grp G[MAXG];
static unsigned serial_ctr;
static int trace; /* FUZZ_MLS_TRACE set: each commit's outcome on stderr */

typedef struct snap {
    uint64_t epoch;
    uint8_t ea[MLS_HASH_LEN];
    size_t count;
} snap;

static snap snap_of(const mls_group *g)
{
    snap s;
    s.epoch = mls_group_epoch(g);
    mls_group_epoch_authenticator(g, s.ea);
    s.count = mls_group_member_count(g);
    return s;
}

static void assert_unchanged(const mls_group *g, const snap *before)
{
    snap now = snap_of(g);
    FUZZ_ASSERT(now.epoch == before->epoch && now.count == before->count);
    FUZZ_ASSERT(memcmp(now.ea, before->ea, sizeof now.ea) == 0);
}

static mls_identity ident(int id)
{
    mls_identity i = { (const uint8_t *)names[id], strlen(names[id]), sig_seeds[id] };
    return i;
}

static int n_active(const grp *gr)
{
    int n = 0;
    for (int i = 0; i < MAXM; i++)
        n += gr->s[i].m.g != NULL;
    return n;
}

/* The k-th active slot (k taken modulo their number), -1 if none. */
static int pick_member(const grp *gr, uint8_t k)
{
    int n = n_active(gr);
    if (!n)
        return -1;
    k = (uint8_t)(k % n);
    for (int i = 0; i < MAXM; i++)
        if (gr->s[i].m.g && k-- == 0)
            return i;
    return -1;
}

static int slot_of_id(const grp *gr, int id)
{
    for (int i = 0; i < MAXM; i++)
        if (gr->s[i].m.g && gr->s[i].id == id)
            return i;
    return -1;
}

/* An identity neither in the group nor waiting to join, -1 if none. */
static int pick_free_id(const grp *gr, uint8_t k)
{
    for (int t = 0; t < POOL; t++) {
        int id = (k + t) % POOL, busy = slot_of_id(gr, id) >= 0;
        for (int j = 0; j < gr->n_j; j++)
            busy |= gr->j[j].id == id;
        if (!busy)
            return id;
    }
    return -1;
}

static int free_slot(const grp *gr)
{
    for (int i = 0; i < MAXM; i++)
        if (!gr->s[i].m.g)
            return i;
    return -1;
}

static void drop_twin(slot *s)
{
    mls_group_free(s->twin.g);
    s->twin.g = NULL;
}

static void clear_slot(slot *s)
{
    drop_twin(s);
    mls_group_free(s->m.g);
    memset(s, 0, sizeof *s);
}

static void fill_slot(slot *s, mls_group *g, int id)
{
    for (int i = 0; i < 2; i++)
        FUZZ_ASSERT(mls_group_add_ext_psk(g, ext_psks[i].id, ext_psks[i].id_len,
                                          ext_psks[i].psk, ext_psks[i].psk_len) == 0);
    memset(s, 0, sizeof *s);
    s->m.g = g;
    s->m.import_epoch = mls_group_epoch(g);
    s->id = id;
    s->serial = ++serial_ctr;
}

static void free_held(held *h)
{
    mls_bytes_free(&h->msg);
    mls_bytes_free(&h->pt);
    mls_bytes_free(&h->aad);
    memset(h, 0, sizeof *h);
}

static void free_joiners(grp *gr)
{
    for (int j = 0; j < gr->n_j; j++)
        mls_kp_bundle_free(&gr->j[j].kp);
    gr->n_j = 0;
}

static void free_group(grp *gr)
{
    for (int i = 0; i < MAXM; i++)
        clear_slot(&gr->s[i]);
    for (int i = 0; i < MAXGHOST; i++)
        mls_group_free(gr->gh[i].g);
    for (int i = 0; i < MAXHELD; i++)
        free_held(&gr->h[i]);
    free_joiners(gr);
    memset(gr, 0, sizeof *gr);
}

static void add_ghost(grp *gr, const mls_bytes *state, uint64_t epoch)
{
    int k = 0;
    for (int i = 0; i < MAXGHOST; i++)
        if (!gr->gh[i].g) {
            k = i;
            break;
        } else if (gr->gh[i].epoch < gr->gh[k].epoch) {
            k = i;
        }
    mls_group_free(gr->gh[k].g);
    gr->gh[k].g = NULL;
    FUZZ_ASSERT(mls_group_import(&gr->gh[k].g, state->p, state->len) == 0);
    gr->gh[k].epoch = epoch;
}

/* ---- the oracle ---- */

static void check_same(const mls_group *a, const mls_group *b)
{
    snap sa = snap_of(a), sb = snap_of(b);
    FUZZ_ASSERT(sa.epoch == sb.epoch);
    FUZZ_ASSERT(memcmp(sa.ea, sb.ea, sizeof sa.ea) == 0);
    FUZZ_ASSERT(sa.count == sb.count);
    uint8_t xa[32], xb[32];
    FUZZ_ASSERT(mls_group_exporter(a, (const uint8_t *)"fuzz", 4, (const uint8_t *)"c", 1, xa,
                                   sizeof xa) == 0);
    FUZZ_ASSERT(mls_group_exporter(b, (const uint8_t *)"fuzz", 4, (const uint8_t *)"c", 1, xb,
                                   sizeof xb) == 0);
    FUZZ_ASSERT(memcmp(xa, xb, sizeof xa) == 0);
    mls_slice ga = mls_group_id(a), gb = mls_group_id(b);
    FUZZ_ASSERT(ga.len == gb.len && memcmp(ga.p, gb.p, ga.len) == 0);
    /* group id, epoch, tree hash, confirmed transcript hash, extensions */
    mls_buf ca = { 0 }, cb = { 0 };
    FUZZ_ASSERT(mls_group_gc_encode(a, &ca) == 0 && mls_group_gc_encode(b, &cb) == 0);
    FUZZ_ASSERT(ca.len == cb.len && memcmp(ca.p, cb.p, ca.len) == 0);
    mls_buf_free(&ca);
    mls_buf_free(&cb);
    for (size_t i = 0; i < sa.count; i++) {
        mls_member ma, mb;
        FUZZ_ASSERT(mls_group_member(a, i, &ma) == 0 && mls_group_member(b, i, &mb) == 0);
        FUZZ_ASSERT(ma.leaf == mb.leaf);
        FUZZ_ASSERT(ma.identity.len == mb.identity.len &&
                    memcmp(ma.identity.p, mb.identity.p, ma.identity.len) == 0);
        FUZZ_ASSERT(ma.sig_pub.len == mb.sig_pub.len &&
                    memcmp(ma.sig_pub.p, mb.sig_pub.p, ma.sig_pub.len) == 0);
    }
    mls_member m;
    FUZZ_ASSERT(mls_group_member(a, sa.count, &m) == MLS_E_NOT_FOUND);
}

/* The identity at leaf, or NULL. */
static int leaf_identity(const mls_group *g, uint32_t leaf, mls_slice *id)
{
    mls_member m;
    for (size_t i = 0; mls_group_member(g, i, &m) == 0; i++)
        if (m.leaf == leaf) {
            *id = m.identity;
            return 1;
        }
    return 0;
}

static int has_identity(const mls_group *g, int id)
{
    mls_member m;
    int n = 0;
    for (size_t i = 0; mls_group_member(g, i, &m) == 0; i++)
        n += m.identity.len == strlen(names[id]) &&
             memcmp(m.identity.p, names[id], m.identity.len) == 0;
    FUZZ_ASSERT(n <= 1);
    return n;
}

static void check_group(const grp *gr)
{
    const mls_group *ref = NULL;
    int n = 0;
    for (int i = 0; i < MAXM; i++) {
        const slot *s = &gr->s[i];
        if (!s->m.g)
            continue;
        n++;
        FUZZ_ASSERT(!mls_group_is_removed(s->m.g) && !mls_group_commit_pending(s->m.g));
        if (!ref)
            ref = s->m.g;
        check_same(ref, s->m.g);
        mls_slice id;
        FUZZ_ASSERT(leaf_identity(s->m.g, mls_group_own_leaf(s->m.g), &id));
        FUZZ_ASSERT(id.len == strlen(names[s->id]) && memcmp(id.p, names[s->id], id.len) == 0);
        if (s->twin.g) {
            check_same(s->m.g, s->twin.g);
            FUZZ_ASSERT(mls_group_own_leaf(s->twin.g) == mls_group_own_leaf(s->m.g));
        }
    }
    if (ref && trace) {
        mls_member m;
        fprintf(stderr, "  members:");
        for (size_t i = 0; mls_group_member(ref, i, &m) == 0; i++)
            fprintf(stderr, " %u:%.*s", (unsigned)m.leaf, (int)m.identity.len, m.identity.p);
        fprintf(stderr, "\n");
    }
    if (ref) {
        FUZZ_ASSERT(mls_group_member_count(ref) == (size_t)n);
        for (int i = 0; i < MAXM; i++)
            if (gr->s[i].m.g)
                FUZZ_ASSERT(has_identity(ref, gr->s[i].id));
    }
}

/* ---- delivery ---- */

/* A message every ghost must refuse (it is of an epoch after theirs). */
static void to_ghosts(grp *gr, const mls_bytes *msg)
{
    for (int i = 0; i < MAXGHOST; i++) {
        mls_group *g = gr->gh[i].g;
        if (!g)
            continue;
        mls_event ev;
        snap before = snap_of(g);
        int rc = mls_group_process(g, msg->p, msg->len, NOW, &ev);
        FUZZ_ASSERT(rc < 0);
        assert_unchanged(g, &before);
    }
}

/* A proposal from slot `from`, to everyone else: all accept it. */
static void deliver_proposal(grp *gr, int from, const mls_bytes *msg)
{
    uint32_t leaf = mls_group_own_leaf(gr->s[from].m.g);
    for (int i = 0; i < MAXM; i++) {
        slot *s = &gr->s[i];
        if (!s->m.g || i == from)
            continue;
        for (int t = 0; t < 2; t++) {
            mls_group *g = t ? s->twin.g : s->m.g;
            if (!g)
                continue;
            mls_event ev;
            int rc = mls_group_process(g, msg->p, msg->len, NOW, &ev);
            FUZZ_ASSERT(rc == 0);
            FUZZ_ASSERT(ev.kind == MLS_EV_PROPOSAL && ev.sender_kind == MLS_EV_SENDER_MEMBER);
            FUZZ_ASSERT(ev.sender_leaf == leaf && ev.epoch == mls_group_epoch(g));
            mls_event_free(&ev);
        }
    }
    to_ghosts(gr, msg);
}

/* A commit (already made by slot c, or by a new member when c < 0 and the new member
 * is in slot nc) delivered to every member; removed members become ghosts. tree: for
 * joiners when the Welcome has none. */
static void deliver_commit(grp *gr, int c, const mls_bytes *commit, uint64_t e,
                           int sender_kind, uint32_t sender_leaf, int echo, int skip)
{
    to_ghosts(gr, commit); /* the ghosts from before this commit */
    for (int i = 0; i < MAXM; i++) {
        slot *s = &gr->s[i];
        if (!s->m.g || i == c || i == skip)
            continue;
        mls_bytes st = { NULL, 0 };
        FUZZ_ASSERT(mls_group_export(s->m.g, &st) == 0);
        int removed = -1;
        for (int t = 0; t < 2; t++) {
            mls_group *g = t ? s->twin.g : s->m.g;
            if (!g)
                continue;
            mls_event ev;
            int rc = mls_group_process(g, commit->p, commit->len, NOW, &ev);
            if (rc)
                fprintf(stderr, "commit refused by slot %d%s: %s\n", i, t ? " (twin)" : "",
                        mls_strerror(rc));
            FUZZ_ASSERT(rc == 0);
            FUZZ_ASSERT(ev.kind == MLS_EV_COMMIT && ev.new_epoch == e + 1 && ev.epoch == e);
            if (ev.sender_kind != sender_kind || ev.sender_leaf != sender_leaf)
                fprintf(stderr, "commit sender %d/%u, expected %d/%u\n", ev.sender_kind,
                        (unsigned)ev.sender_leaf, sender_kind, (unsigned)sender_leaf);
            FUZZ_ASSERT(ev.sender_kind == sender_kind && ev.sender_leaf == sender_leaf);
            FUZZ_ASSERT(!ev.own_commit && !ev.own_commit_discarded);
            FUZZ_ASSERT(removed < 0 || removed == ev.removed);
            removed = ev.removed;
            mls_event_free(&ev);
        }
        if (trace && removed)
            fprintf(stderr, "  %s removed\n", names[s->id]);
        if (removed) {
            mls_bytes msg;
            mls_commit_out co;
            FUZZ_ASSERT(mls_group_is_removed(s->m.g));
            FUZZ_ASSERT(mls_group_protect(s->m.g, (const uint8_t *)"x", 1, NULL, 0, &rng,
                                          &msg) < 0);
            FUZZ_ASSERT(mls_group_commit(s->m.g, NULL, NOW, &rng, &co) < 0);
            FUZZ_ASSERT(mls_group_propose_update(s->m.g, 0, &rng, &msg) < 0);
            mls_event ev;
            FUZZ_ASSERT(mls_group_process(s->m.g, commit->p, commit->len, NOW, &ev) < 0);
            add_ghost(gr, &st, e);
            clear_slot(s);
        } else {
            FUZZ_ASSERT(mls_group_epoch(s->m.g) == e + 1);
        }
        mls_bytes_free(&st);
    }
    if (c >= 0) {
        mls_group *g = gr->s[c].m.g;
        if (echo) {
            mls_event ev;
            FUZZ_ASSERT(mls_group_process(g, commit->p, commit->len, NOW, &ev) == 0);
            FUZZ_ASSERT(ev.kind == MLS_EV_COMMIT && ev.own_commit && !ev.removed &&
                        ev.new_epoch == e + 1);
            mls_event_free(&ev);
        } else {
            FUZZ_ASSERT(mls_group_commit_merge(g) == 0);
        }
        FUZZ_ASSERT(mls_group_epoch(g) == e + 1 && !mls_group_commit_pending(g));
        /* an echo once merged is a message of the past epoch */
        mls_event ev;
        snap before = snap_of(g);
        FUZZ_ASSERT(mls_group_process(g, commit->p, commit->len, NOW, &ev) < 0);
        assert_unchanged(g, &before);
    }
}

/* The pending joiners try the Welcome; exactly those the committer's group holds get
 * in. */
static void welcome_joiners(grp *gr, const mls_group *ref, const mls_commit_out *co,
                            int tree_in_welcome)
{
    for (int j = 0; j < gr->n_j; j++) {
        int expect = has_identity(ref, gr->j[j].id);
        mls_group *g = NULL;
        int rc = MLS_E_NOT_FOUND;
        if (co->welcome.len)
            rc = mls_group_join_welcome(&g, co->welcome.p, co->welcome.len, &gr->j[j].kp,
                                        tree_in_welcome ? NULL : co->tree.p,
                                        tree_in_welcome ? 0 : co->tree.len, ext_psks, 2, NOW);
        if ((rc == 0) != expect || trace)
            fprintf(stderr, "joiner %s: %s, expected %d\n", names[gr->j[j].id],
                    mls_strerror(rc), expect);
        FUZZ_ASSERT((rc == 0) == expect);
        FUZZ_ASSERT(rc <= 0 && (g != NULL) == (rc == 0));
        if (g) {
            int k = free_slot(gr);
            FUZZ_ASSERT(k >= 0);
            FUZZ_ASSERT(slot_of_id(gr, gr->j[j].id) < 0);
            fill_slot(&gr->s[k], g, gr->j[j].id);
        }
    }
    free_joiners(gr);
}

/* Slot c commits with opts; on success everyone gets it and the oracle runs. Returns
 * the mls_group_commit code. */
static int commit_by(grp *gr, int c, const mls_commit_opts *o, int echo)
{
    slot *s = &gr->s[c];
    mls_commit_out co;
    snap before = snap_of(s->m.g);
    drop_twin(s);
    int rc = mls_group_commit(s->m.g, o, NOW, &rng, &co);
    if (trace)
        fprintf(stderr, "epoch %llu: commit by %s (%zu members): %s\n",
                (unsigned long long)before.epoch, names[s->id], before.count, mls_strerror(rc));
    if (rc) {
        FUZZ_ASSERT(rc < 0 && !mls_group_commit_pending(s->m.g));
        assert_unchanged(s->m.g, &before);
        FUZZ_ASSERT(co.commit.p == NULL && co.welcome.p == NULL);
        return rc;
    }
    FUZZ_ASSERT(mls_group_commit_pending(s->m.g) && mls_group_epoch(s->m.g) == before.epoch);
    deliver_commit(gr, c, &co.commit, before.epoch, MLS_EV_SENDER_MEMBER,
                   mls_group_own_leaf(s->m.g), echo, -1);
    welcome_joiners(gr, s->m.g, &co, o && o->tree_in_welcome);
    mls_commit_out_free(&co);
    check_group(gr);
    return 0;
}

static void deliver_held(grp *gr, held *h, int i)
{
    slot *s = &gr->s[i];
    if (!s->m.g || h->todo[i] == 0)
        return;
    int owed = h->todo[i] == s->serial;
    h->todo[i] = 0;
    for (int t = 0; t < 2; t++) {
        inst *in = t ? &s->twin : &s->m;
        if (!in->g)
            continue;
        uint64_t e = mls_group_epoch(in->g);
        int expect = owed && (e == h->epoch || (e == h->epoch + 1 && in->import_epoch <= h->epoch));
        mls_event ev;
        snap before = snap_of(in->g);
        int rc = mls_group_process(in->g, h->msg.p, h->msg.len, NOW, &ev);
        if (!expect) {
            FUZZ_ASSERT(rc < 0);
            assert_unchanged(in->g, &before);
            continue;
        }
        if (rc)
            fprintf(stderr, "app message of epoch %llu refused at epoch %llu: %s\n",
                    (unsigned long long)h->epoch, (unsigned long long)e, mls_strerror(rc));
        FUZZ_ASSERT(rc == 0);
        FUZZ_ASSERT(ev.kind == MLS_EV_APPLICATION && ev.sender_kind == MLS_EV_SENDER_MEMBER);
        FUZZ_ASSERT(ev.epoch == h->epoch && ev.sender_leaf == h->from_leaf);
        FUZZ_ASSERT(ev.data.len == h->pt.len &&
                    (h->pt.len == 0 || memcmp(ev.data.p, h->pt.p, h->pt.len) == 0));
        FUZZ_ASSERT(ev.aad.len == h->aad.len &&
                    (h->aad.len == 0 || memcmp(ev.aad.p, h->aad.p, h->aad.len) == 0));
        const char *nm = names[h->from_id];
        FUZZ_ASSERT(ev.sender_identity.len == strlen(nm) &&
                    memcmp(ev.sender_identity.p, nm, strlen(nm)) == 0);
        mls_event_free(&ev);
        assert_unchanged(in->g, &before);
        /* once read, a replay */
        rc = mls_group_process(in->g, h->msg.p, h->msg.len, NOW, &ev);
        FUZZ_ASSERT(rc == MLS_E_REPLAY);
        assert_unchanged(in->g, &before);
    }
}

static int held_pending(const held *h)
{
    for (int i = 0; i < MAXM; i++)
        if (h->todo[i])
            return 1;
    return 0;
}

/* ---- operations ---- */

static void op_create(grp *gr, int gi)
{
    if (gr->exists)
        return;
    int id = take() % POOL;
    mls_identity me = ident(id);
    uint8_t gid[2] = { 'g', (uint8_t)('0' + gi) };
    mls_group *g = NULL;
    FUZZ_ASSERT(mls_group_create(&g, gid, sizeof gid, &me, NULL, 0, NOW, &rng) == 0);
    FUZZ_ASSERT(mls_group_epoch(g) == 0 && mls_group_member_count(g) == 1);
    gr->exists = 1;
    fill_slot(&gr->s[0], g, id);
}

static void op_add(grp *gr)
{
    int c = pick_member(gr, take());
    uint8_t f = take(), k = take();
    if (c < 0 || n_active(gr) + gr->n_j >= MAXM || gr->n_j >= MAXJOIN)
        return;
    int dup = (f & 0x30) == 0x30, old = -1;
    if (dup)
        old = pick_member(gr, k);
    int id = dup ? gr->s[old].id : pick_free_id(gr, k);
    if (id < 0)
        return;
    mls_identity me = ident(id);
    joiner *j = &gr->j[gr->n_j];
    FUZZ_ASSERT(mls_kp_bundle_create(&j->kp, &me, NOW, 86400, &rng) == 0);
    j->id = id;
    if (f & 0x40) { /* the joiner stored its bundle and reads it back */
        mls_bytes st;
        mls_kp_bundle back, cut;
        FUZZ_ASSERT(mls_kp_bundle_export(&j->kp, &st) == 0);
        FUZZ_ASSERT(mls_kp_bundle_import(&cut, st.p, st.len - 1) == MLS_E_DECODE);
        FUZZ_ASSERT(mls_kp_bundle_import(&back, st.p, st.len) == 0);
        mls_bytes_free(&st);
        FUZZ_ASSERT(back.key_package.len == j->kp.key_package.len &&
                    memcmp(back.key_package.p, j->kp.key_package.p, back.key_package.len) == 0);
        FUZZ_ASSERT(memcmp(back.ref, j->kp.ref, sizeof back.ref) == 0);
        mls_kp_bundle_free(&j->kp);
        j->kp = back;
    }
    mls_slice kp = { j->kp.key_package.p, j->kp.key_package.len };
    mls_commit_opts o;
    memset(&o, 0, sizeof o);
    o.add_kps = &kp;
    o.n_add = 1;
    o.tree_in_welcome = f & 1;
    o.as_private = (f >> 1) & 1;
    o.force_path = (f >> 2) & 1;
    /* dup: the same signature key as a member's (RFC 9420 7.3: unique). Valid only
     * if a pending Remove takes the old leaf out in the same commit; otherwise it must
     * be refused: has_identity asserts no identity is ever in two leaves. */
    gr->n_j++;
    unsigned old_serial = dup ? gr->s[old].serial : 0;
    int rc = commit_by(gr, c, &o, (f >> 3) & 1);
    if (rc != 0) {
        mls_kp_bundle_free(&gr->j[--gr->n_j].kp); /* refused: e.g. a bad pending proposal */
        return;
    }
    if (dup) /* accepted: the old leaf was removed by the same commit */
        for (int i = 0; i < MAXM; i++)
            FUZZ_ASSERT(!gr->s[i].m.g || gr->s[i].serial != old_serial);
}

static void op_remove(grp *gr)
{
    int c = pick_member(gr, take());
    uint8_t f = take(), k = take();
    if (c < 0)
        return;
    uint32_t leaf;
    unsigned gone = 0;
    int bad = 0;
    if ((f & 3) == 3) {
        leaf = mls_group_own_leaf(gr->s[c].m.g); /* the committer itself */
        bad = 1;
    } else if ((f & 3) == 2) {
        leaf = 1000u + k; /* not a leaf of the tree */
        bad = 1;
    } else {
        int t = pick_member(gr, k);
        if (t == c)
            return;
        leaf = mls_group_own_leaf(gr->s[t].m.g);
        gone = gr->s[t].serial;
    }
    mls_commit_opts o;
    memset(&o, 0, sizeof o);
    o.remove = &leaf;
    o.n_remove = 1;
    o.as_private = (f >> 2) & 1;
    o.force_path = (f >> 3) & 1;
    int rc = commit_by(gr, c, &o, (f >> 4) & 1);
    if (bad)
        FUZZ_ASSERT(rc < 0);
    if (rc)
        return;
    /* the removed member learnt it (a joiner may take its leaf in the same commit) */
    for (int i = 0; i < MAXM; i++)
        FUZZ_ASSERT(!gr->s[i].m.g || gr->s[i].serial != gone);
}

static void op_update(grp *gr)
{
    int c = pick_member(gr, take());
    uint8_t f = take();
    if (c < 0)
        return;
    mls_commit_opts o;
    memset(&o, 0, sizeof o);
    o.force_path = 1;
    o.as_private = f & 1;
    commit_by(gr, c, &o, (f >> 1) & 1);
}

static void op_commit(grp *gr)
{
    int c = pick_member(gr, take());
    uint8_t f = take();
    if (c < 0)
        return;
    if (f & 1) {
        commit_by(gr, c, NULL, (f >> 1) & 1);
    } else {
        mls_commit_opts o;
        memset(&o, 0, sizeof o);
        o.as_private = (f >> 2) & 1;
        o.force_path = (f >> 3) & 1;
        o.tree_in_welcome = (f >> 4) & 1;
        commit_by(gr, c, &o, (f >> 1) & 1);
    }
}

static void op_propose(grp *gr)
{
    int p = pick_member(gr, take());
    uint8_t f = take(), k = take();
    if (p < 0)
        return;
    slot *s = &gr->s[p];
    int priv = (f >> 2) & 1, rc;
    mls_bytes msg;
    snap before = snap_of(s->m.g);
    drop_twin(s);
    switch (f & 3) {
    case 0:
        rc = mls_group_propose_update(s->m.g, priv, &rng, &msg);
        break;
    case 1: {
        int t = pick_member(gr, k);
        rc = mls_group_propose_remove(s->m.g, mls_group_own_leaf(gr->s[t].m.g), priv, &rng,
                                      &msg);
        break;
    }
    case 2: {
        int id = pick_free_id(gr, k);
        if (id < 0 || n_active(gr) + gr->n_j >= MAXM || gr->n_j >= MAXJOIN)
            return;
        mls_identity me = ident(id);
        joiner *j = &gr->j[gr->n_j];
        FUZZ_ASSERT(mls_kp_bundle_create(&j->kp, &me, NOW, 86400, &rng) == 0);
        j->id = id;
        rc = mls_group_propose_add(s->m.g, j->kp.key_package.p, j->kp.key_package.len, priv,
                                   NOW, &rng, &msg);
        if (rc == 0)
            gr->n_j++;
        else
            mls_kp_bundle_free(&j->kp);
        break;
    }
    default:
        rc = mls_group_propose_remove(s->m.g, 1000u + k, priv, &rng, &msg);
        FUZZ_ASSERT(rc < 0); /* not a member */
        break;
    }
    assert_unchanged(s->m.g, &before);
    if (rc) {
        FUZZ_ASSERT(rc < 0 && msg.p == NULL);
        return;
    }
    deliver_proposal(gr, p, &msg);
    mls_bytes_free(&msg);
}

static void op_clear(grp *gr)
{
    for (int i = 0; i < MAXM; i++) {
        if (gr->s[i].m.g)
            mls_group_clear_proposals(gr->s[i].m.g);
        if (gr->s[i].twin.g)
            mls_group_clear_proposals(gr->s[i].twin.g);
    }
    free_joiners(gr);
}

static void op_external(grp *gr)
{
    int from = pick_member(gr, take());
    uint8_t f = take(), k = take();
    if (from < 0)
        return;
    int resync = (f & 3) == 3, old = -1, id;
    if (resync) {
        old = pick_member(gr, k);
        id = gr->s[old].id;
    } else {
        id = pick_free_id(gr, k);
        if (id < 0 || n_active(gr) + gr->n_j >= MAXM)
            return;
    }
    int with_tree = (f & 4) == 0;
    mls_bytes gi, commit;
    snap before = snap_of(gr->s[from].m.g);
    FUZZ_ASSERT(mls_group_group_info(gr->s[from].m.g, with_tree, &gi) == 0);
    assert_unchanged(gr->s[from].m.g, &before);
    mls_identity me = ident(id);
    mls_group *g = NULL;
    uint32_t rl = resync ? mls_group_own_leaf(gr->s[old].m.g) : UINT32_MAX;
    int rc = mls_group_join_external(&g, &commit, gi.p, gi.len, NULL, 0, &me, rl, NOW, &rng);
    mls_bytes_free(&gi);
    if (!with_tree) {
        FUZZ_ASSERT(rc < 0 && g == NULL); /* no tree anywhere */
        return;
    }
    if (rc)
        fprintf(stderr, "external join: %s\n", mls_strerror(rc));
    FUZZ_ASSERT(rc == 0 && g != NULL);
    FUZZ_ASSERT(mls_group_epoch(g) == before.epoch + 1);
    uint32_t leaf = mls_group_own_leaf(g);
    /* a new member's commit: the resynced member's old state learns it is removed */
    free_joiners(gr); /* pending proposals do not survive the epoch */
    deliver_commit(gr, -1, &commit, before.epoch, MLS_EV_SENDER_NEW_MEMBER_COMMIT, leaf, 0, -1);
    mls_bytes_free(&commit);
    if (resync)
        FUZZ_ASSERT(gr->s[old].m.g == NULL); /* removed, now a ghost */
    int k2 = free_slot(gr);
    FUZZ_ASSERT(k2 >= 0);
    fill_slot(&gr->s[k2], g, id);
    check_group(gr);
}

static held *new_held(grp *gr)
{
    for (int i = 0; i < MAXHELD; i++)
        if (!gr->h[i].used)
            return &gr->h[i];
    return NULL;
}

static void op_app(grp *gr)
{
    int from = pick_member(gr, take());
    uint8_t len = take() % 80, mask = take(), f = take();
    if (from < 0)
        return;
    held tmp, *h = new_held(gr);
    int keep = h != NULL;
    if (!h)
        h = &tmp;
    memset(h, 0, sizeof *h);
    slot *s = &gr->s[from];
    uint8_t pt[80], aad[8];
    for (int i = 0; i < len; i++)
        pt[i] = take();
    for (int i = 0; i < (int)sizeof aad; i++)
        aad[i] = (uint8_t)(f + i);
    size_t aad_len = (f & 1) ? sizeof aad : 0;
    snap before = snap_of(s->m.g);
    FUZZ_ASSERT(mls_group_protect(s->m.g, pt, len, aad_len ? aad : NULL, aad_len, &rng,
                                  &h->msg) == 0);
    assert_unchanged(s->m.g, &before);
    FUZZ_ASSERT(mls_bytes_set(&h->pt, pt, len) == 0 && mls_bytes_set(&h->aad, aad, aad_len) == 0);
    h->epoch = before.epoch;
    h->from_id = s->id;
    h->from_leaf = mls_group_own_leaf(s->m.g);
    h->used = 1;
    for (int i = 0; i < MAXM; i++)
        if (gr->s[i].m.g && i != from)
            h->todo[i] = gr->s[i].serial;
    to_ghosts(gr, &h->msg);
    for (int i = 0; i < MAXM; i++)
        if (!keep || !((mask >> i) & 1))
            deliver_held(gr, h, i);
    if (!keep || !held_pending(h))
        free_held(h);
}

/* Delivers the held messages in an order taken from the input, or (drop) loses them:
 * later generations of their senders must still decrypt. */
static void op_flush(grp *gr, int may_drop)
{
    uint8_t order = take();
    int drop = may_drop && (order & 0xc0) == 0xc0;
    for (int r = 0; r < MAXHELD; r++) {
        held *h = &gr->h[(r + order) % MAXHELD];
        if (!h->used)
            continue;
        for (int i = 0; i < MAXM && !drop; i++)
            deliver_held(gr, h, (i + (order >> 3)) % MAXM);
        free_held(h);
    }
}

static void op_export(grp *gr)
{
    int i = pick_member(gr, take());
    uint8_t f = take();
    if (i < 0)
        return;
    slot *s = &gr->s[i];
    mls_bytes st, again;
    FUZZ_ASSERT(mls_group_export(s->m.g, &st) == 0);
    mls_group *copy = NULL;
    FUZZ_ASSERT(mls_group_import(&copy, st.p, st.len) == 0);
    FUZZ_ASSERT(mls_group_export(copy, &again) == 0);
    FUZZ_ASSERT(again.len == st.len && memcmp(again.p, st.p, st.len) == 0);
    mls_bytes_free(&again);
    mls_bytes_free(&st);
    check_same(s->m.g, copy);
    FUZZ_ASSERT(mls_group_own_leaf(copy) == mls_group_own_leaf(s->m.g));
    drop_twin(s);
    inst in = { copy, mls_group_epoch(copy) };
    if (f & 1) { /* the copy carries on as the member; the original listens */
        s->twin = s->m;
        s->m = in;
    } else {
        s->twin = in;
    }
}

static void op_concurrent(grp *gr)
{
    int a = pick_member(gr, take()), b = pick_member(gr, take());
    uint8_t f = take();
    if (a < 0 || a == b)
        return;
    mls_commit_out cb;
    mls_group *bg = gr->s[b].m.g;
    snap sb = snap_of(bg);
    mls_commit_opts o;
    memset(&o, 0, sizeof o);
    o.force_path = 1;
    o.as_private = f & 1;
    drop_twin(&gr->s[b]);
    if (mls_group_commit(bg, &o, NOW, &rng, &cb) != 0)
        return;
    /* a commit is pending at b: it can neither commit again, nor send, nor export */
    mls_commit_out again;
    mls_bytes msg;
    FUZZ_ASSERT(mls_group_commit(bg, &o, NOW, &rng, &again) == MLS_E_STATE);
    FUZZ_ASSERT(mls_group_protect(bg, (const uint8_t *)"x", 1, NULL, 0, &rng, &msg) ==
                MLS_E_STATE);
    FUZZ_ASSERT(mls_group_export(bg, &msg) == MLS_E_STATE);
    assert_unchanged(bg, &sb);
    /* a's commit wins: b learns its own was discarded */
    slot *sa = &gr->s[a];
    mls_commit_out ca;
    drop_twin(sa);
    o.as_private = (f >> 1) & 1;
    int rc = mls_group_commit(sa->m.g, &o, NOW, &rng, &ca);
    if (rc) {
        mls_group_commit_discard(bg);
        assert_unchanged(bg, &sb);
        FUZZ_ASSERT(!mls_group_commit_pending(bg));
        mls_commit_out_free(&cb);
        return;
    }
    mls_event ev;
    FUZZ_ASSERT(mls_group_process(bg, ca.commit.p, ca.commit.len, NOW, &ev) == 0);
    FUZZ_ASSERT(ev.kind == MLS_EV_COMMIT && ev.own_commit_discarded && !ev.own_commit);
    if (trace)
        fprintf(stderr, "concurrent: %s's commit lost%s\n", names[gr->s[b].id],
                ev.removed ? ", and it was removed" : "");
    int removed = ev.removed;
    mls_event_free(&ev);
    FUZZ_ASSERT(!mls_group_commit_pending(bg));
    if (removed) /* a pending Remove of b was in a's commit */
        clear_slot(&gr->s[b]);
    else
        FUZZ_ASSERT(mls_group_epoch(bg) == sb.epoch + 1);
    deliver_commit(gr, a, &ca.commit, sb.epoch, MLS_EV_SENDER_MEMBER,
                   mls_group_own_leaf(sa->m.g), (f >> 2) & 1, b);
    welcome_joiners(gr, sa->m.g, &ca, 0);
    check_group(gr);
    /* the loser's commit is of the past epoch now: everyone refuses it */
    for (int i = 0; i < MAXM; i++) {
        if (!gr->s[i].m.g)
            continue;
        snap before = snap_of(gr->s[i].m.g);
        FUZZ_ASSERT(mls_group_process(gr->s[i].m.g, cb.commit.p, cb.commit.len, NOW, &ev) < 0);
        assert_unchanged(gr->s[i].m.g, &before);
    }
    mls_commit_out_free(&ca);
    mls_commit_out_free(&cb);
}

static void op_ghost(grp *gr)
{
    uint8_t k = take(), f = take();
    ghost *gh = &gr->gh[k % MAXGHOST];
    int any = pick_member(gr, 0);
    if (!gh->g || any < 0)
        return;
    uint64_t e = mls_group_epoch(gr->s[any].m.g);
    mls_bytes msg = { NULL, 0 };
    mls_commit_out co;
    int is_commit = f & 1;
    if (is_commit) {
        mls_commit_opts o;
        memset(&o, 0, sizeof o);
        o.force_path = 1;
        o.as_private = (f >> 1) & 1;
        if (mls_group_commit(gh->g, &o, NOW, &rng, &co) != 0)
            return;
        mls_group_commit_discard(gh->g);
        msg = co.commit;
        co.commit.p = NULL;
        co.commit.len = 0;
        mls_commit_out_free(&co);
    } else {
        if (e < gh->epoch + 2) /* the previous epoch's messages are still read */
            return;
        if (mls_group_protect(gh->g, (const uint8_t *)"stale", 5, NULL, 0, &rng, &msg) != 0)
            return;
    }
    for (int i = 0; i < MAXM; i++) {
        slot *s = &gr->s[i];
        for (int t = 0; t < 2; t++) {
            mls_group *g = t ? s->twin.g : s->m.g;
            if (!g)
                continue;
            mls_event ev;
            snap before = snap_of(g);
            int rc = mls_group_process(g, msg.p, msg.len, NOW, &ev);
            if (rc == 0)
                fprintf(stderr, "a removed member's %s was accepted\n",
                        is_commit ? "commit" : "message");
            FUZZ_ASSERT(rc < 0);
            assert_unchanged(g, &before);
        }
    }
    mls_bytes_free(&msg);
}

static void op_cross(grp *gr, grp *other)
{
    int from = pick_member(gr, take()), to = pick_member(other, take());
    uint8_t f = take();
    if (from < 0 || to < 0)
        return;
    mls_bytes msg;
    if (f & 1) {
        if (mls_group_group_info(gr->s[from].m.g, 1, &msg) != 0)
            return;
    } else {
        FUZZ_ASSERT(mls_group_protect(gr->s[from].m.g, (const uint8_t *)"cross", 5, NULL, 0,
                                      &rng, &msg) == 0);
    }
    mls_group *g = other->s[to].m.g;
    mls_event ev;
    snap before = snap_of(g);
    FUZZ_ASSERT(mls_group_process(g, msg.p, msg.len, NOW, &ev) < 0);
    assert_unchanged(g, &before);
    mls_bytes_free(&msg);
}

static void op_misuse(grp *gr)
{
    int i = pick_member(gr, take());
    if (i < 0)
        return;
    mls_group *g = gr->s[i].m.g;
    snap before = snap_of(g);
    mls_bytes msg;
    FUZZ_ASSERT(mls_group_commit_merge(g) == MLS_E_STATE);
    mls_group_commit_discard(g); /* nothing pending: a no-op */
    uint8_t out[16];
    FUZZ_ASSERT(mls_group_exporter(g, (const uint8_t *)"x", 1, NULL, 0, out, sizeof out) == 0);
    mls_event ev;
    FUZZ_ASSERT(mls_group_process(g, NULL, 0, NOW, &ev) < 0);
    FUZZ_ASSERT(mls_group_propose_psk(g, (const uint8_t *)"nope", 4, 0, &rng, &msg) < 0);
    assert_unchanged(g, &before);
}

/* PSK proposals and commits: known PSKs are accepted (the joiners of such a commit
 * need them too), an unknown one is refused. */
static void op_psk(grp *gr)
{
    int p = pick_member(gr, take());
    uint8_t f = take();
    if (p < 0)
        return;
    slot *s = &gr->s[p];
    const mls_ext_psk *k = &ext_psks[(f >> 2) & 1];
    mls_slice nope = { (const uint8_t *)"nope", 4 }, known = { k->id, k->id_len };
    mls_commit_opts o;
    memset(&o, 0, sizeof o);
    o.as_private = (f >> 3) & 1;
    switch (f & 3) {
    case 0: {
        mls_bytes msg;
        snap before = snap_of(s->m.g);
        drop_twin(s);
        int rc = mls_group_propose_psk(s->m.g, k->id, k->id_len, (f >> 3) & 1, &rng, &msg);
        FUZZ_ASSERT(rc == 0);
        assert_unchanged(s->m.g, &before);
        deliver_proposal(gr, p, &msg);
        mls_bytes_free(&msg);
        break;
    }
    case 1:
        o.psk_ids = &known;
        o.n_psk = 1;
        commit_by(gr, p, &o, (f >> 4) & 1);
        break;
    case 2:
        o.psk_ids = &nope;
        o.n_psk = 1;
        FUZZ_ASSERT(commit_by(gr, p, &o, 0) < 0);
        break;
    default: {
        mls_bytes msg;
        snap before = snap_of(s->m.g);
        FUZZ_ASSERT(mls_group_propose_psk(s->m.g, nope.p, nope.len, 0, &rng, &msg) < 0);
        assert_unchanged(s->m.g, &before);
        break;
    }
    }
}

/* GroupContextExtensions: an application_id of the input's bytes, by proposal or inline
 * (every member must end with the same GroupContext: check_group), or an extension type
 * nobody supports (accepted or refused, but never half-applied). */
static void op_gce(grp *gr)
{
    int p = pick_member(gr, take());
    uint8_t f = take(), n = take() % 16;
    if (p < 0)
        return;
    slot *s = &gr->s[p];
    uint8_t ext[32];
    size_t len = 0;
    uint16_t type = (f & 4) ? 0xff0a : 1; /* unknown / application_id */
    ext[len++] = (uint8_t)(4 + n);       /* extensions<V> length */
    ext[len++] = (uint8_t)(type >> 8);
    ext[len++] = (uint8_t)type;
    ext[len++] = (uint8_t)(1 + n);       /* extension_data<V> */
    ext[len++] = n;                      /* application_id<V> */
    for (int i = 0; i < n; i++)
        ext[len++] = take();
    if (f & 1) {
        mls_bytes msg;
        snap before = snap_of(s->m.g);
        drop_twin(s);
        int rc = mls_group_propose_gce(s->m.g, ext, len, (f >> 1) & 1, &rng, &msg);
        assert_unchanged(s->m.g, &before);
        if (rc) {
            FUZZ_ASSERT(rc < 0 && msg.p == NULL);
            return;
        }
        deliver_proposal(gr, p, &msg);
        mls_bytes_free(&msg);
    } else {
        mls_commit_opts o;
        memset(&o, 0, sizeof o);
        o.gce = ext;
        o.gce_len = len;
        o.as_private = (f >> 1) & 1;
        commit_by(gr, p, &o, (f >> 3) & 1);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        fuzz_sodium_init();
        for (int i = 0; i < POOL; i++)
            for (size_t k = 0; k < MLS_SIG_SEED_LEN; k++)
                sig_seeds[i][k] = (uint8_t)((size_t)i * 37 + k);
        trace = getenv("FUZZ_MLS_TRACE") != NULL;
        ready = 1;
    }
    in_p = data;
    in_n = size;
    in_off = 0;
    memset(&rng_state, 0, sizeof rng_state);
    for (int i = 0; i < 4; i++)
        rng_state.key[i] = take();
    serial_ctr = 0;
    for (int ops = 0; ops < MAX_OPS && in_off < in_n; ops++) {
        uint8_t b = take();
        int gi = (b >> 7) & 1, op = (b & 0x7f) % OP_N;
        grp *gr = &G[gi];
        if (!gr->exists && op != OP_CREATE)
            op = OP_CREATE;
        if (trace)
            fprintf(stderr, "op %d on group %d\n", op, gi);
        switch (op) {
        case OP_CREATE: op_create(gr, gi); break;
        case OP_ADD: op_add(gr); break;
        case OP_REMOVE: op_remove(gr); break;
        case OP_UPDATE: op_update(gr); break;
        case OP_COMMIT: op_commit(gr); break;
        case OP_PROPOSE: op_propose(gr); break;
        case OP_CLEAR: op_clear(gr); break;
        case OP_EXTERNAL: op_external(gr); break;
        case OP_APP: op_app(gr); break;
        case OP_FLUSH: op_flush(gr, 1); break;
        case OP_EXPORT: op_export(gr); break;
        case OP_CONCURRENT: op_concurrent(gr); break;
        case OP_GHOST: op_ghost(gr); break;
        case OP_CROSS: op_cross(gr, &G[!gi]); break;
        case OP_PSK: op_psk(gr); break;
        case OP_GCE: op_gce(gr); break;
        default: op_misuse(gr); break;
        }
    }
    for (int i = 0; i < MAXG; i++) {
        op_flush(&G[i], 0);
        free_group(&G[i]);
    }
    return 0;
}

#ifdef FUZZ_MLS_STATEFUL_SEEDS
/* Seeds: op sequences that walk through each operation on a group that has members. */
static void write_seed(const char *dir, const char *name, const uint8_t *p, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    FUZZ_ASSERT(f != NULL);
    FUZZ_ASSERT(fwrite(p, 1, n, f) == n);
    FUZZ_ASSERT(fclose(f) == 0);
}

int main(int argc, char **argv)
{
    /* create alice; add bob (tree in Welcome), carol (tree apart, private, path) */
#define BASE 1, 2, 3, 4, OP_CREATE, 0, OP_ADD, 0, 1, 1, OP_ADD, 0, 6, 2
#define SEED(name, ...) { name, { __VA_ARGS__ }, sizeof((uint8_t[]){ __VA_ARGS__ }) }
    static const struct {
        const char *name;
        uint8_t ops[48];
        size_t n;
    } seeds[] = {
        SEED("create_add", BASE),
        SEED("add_dup", BASE, OP_ADD, 1, 0x30, 0),
        SEED("kp_bundle_stored", BASE, OP_ADD, 1, 0x41, 3),
        SEED("remove", BASE, OP_REMOVE, 0, 0, 2, OP_APP, 0, 3, 0, 0, 'h', 'e', 'y'),
        SEED("remove_self", BASE, OP_REMOVE, 1, 3, 0),
        SEED("update", BASE, OP_UPDATE, 1, 0, OP_UPDATE, 2, 3),
        SEED("propose_commit", BASE, OP_PROPOSE, 1, 0, 0, OP_PROPOSE, 2, 2, 0, OP_PROPOSE, 0, 5,
                              1, OP_COMMIT, 0, 1),
        SEED("propose_clear", BASE, OP_PROPOSE, 1, 1, 2, OP_CLEAR, OP_COMMIT, 1, 0),
        SEED("external", BASE, OP_EXTERNAL, 0, 0, 0, OP_APP, 3, 1, 0, 0, 'x'),
        SEED("external_resync", BASE, OP_EXTERNAL, 0, 3, 1, OP_UPDATE, 1, 0),
        SEED("external_notree", BASE, OP_EXTERNAL, 1, 4, 0),
        SEED("app_held", BASE, OP_APP, 0, 2, 0x06, 0, 'a', 'b', OP_APP, 1, 1, 0x01, 1, 'c',
                        OP_UPDATE, 2, 0, OP_FLUSH, 0),
        SEED("app_held_2epochs", BASE, OP_APP, 0, 1, 0x06, 0, 'a', OP_UPDATE, 0, 0, OP_UPDATE, 1,
                                0, OP_FLUSH, 3),
        SEED("app_dropped", BASE, OP_APP, 0, 1, 0x06, 0, 'a', OP_FLUSH, 0xc0, OP_APP, 0, 1, 0, 0,
             'b'),
        SEED("export_twin", BASE, OP_EXPORT, 1, 0, OP_APP, 0, 1, 0, 0, 'q', OP_UPDATE, 2, 0),
        SEED("export_swap", BASE, OP_EXPORT, 2, 1, OP_APP, 2, 1, 0, 0, 'q', OP_UPDATE, 0, 1,
                           OP_APP, 2, 0, 0, 0),
        SEED("concurrent", BASE, OP_CONCURRENT, 0, 1, 0, OP_CONCURRENT, 2, 1, 7),
        SEED("ghost", BASE, OP_REMOVE, 0, 0, 2, OP_UPDATE, 0, 0, OP_GHOST, 0, 1, OP_GHOST, 0, 0),
        SEED("two_groups", BASE, 0x80 | OP_CREATE, 5, 0x80 | OP_ADD, 0, 0, 0, OP_CROSS, 0, 0, 0,
                          0x80 | OP_CROSS, 0, 1, 1),
        SEED("misuse", BASE, OP_MISUSE, 1),
        SEED("psk", BASE, OP_PSK, 1, 0, OP_PSK, 2, 4, OP_COMMIT, 0, 1, OP_PSK, 0, 1, OP_PSK, 1, 2,
             OP_PSK, 2, 3, OP_ADD, 0, 0, 4),
        SEED("gce", BASE, OP_GCE, 1, 1, 3, 'a', 'p', 'p', OP_COMMIT, 0, 1, OP_GCE, 2, 0, 2, 'x',
             'y', OP_GCE, 0, 4, 1, 'z', OP_ADD, 0, 1, 4, OP_EXTERNAL, 0, 0, 0),
        SEED("full", BASE, OP_ADD, 0, 0, 3, OP_ADD, 1, 1, 4, OP_ADD, 2, 0, 5, OP_REMOVE, 4, 1, 0,
                    OP_REMOVE, 0, 0, 1, OP_ADD, 0, 0, 7),
    };
#undef BASE
#undef SEED
    if (argc != 2)
        return 2;
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
        FUZZ_ASSERT(seeds[i].n <= sizeof seeds[i].ops);
        write_seed(argv[1], seeds[i].name, seeds[i].ops, seeds[i].n);
        LLVMFuzzerTestOneInput(seeds[i].ops, seeds[i].n); /* and check it runs clean */
    }
    return 0;
}
#endif
