/* test_mls_group: groups driven through the mls_group API as clients would: a group of
 * three built by one commit with a Welcome, updates by commit and by proposal, removes,
 * PSK and GroupContextExtensions commits, PrivateMessage commits and application data,
 * replays and wrong epochs rejected, two commits racing for one epoch (the loser
 * discards and re-bases), state export/import, an external join and a resync, and a
 * removed member cut off. After every commit all members must agree on the epoch
 * authenticator and on an MLS-Exporter value. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../unit/check.h"
#include "mls_alloc.h"
#include "mls_err.h"
#include "mls_extension.h"
#include "mls_framing.h"
#include "mls_group.h"
#include "mls_group_int.h"

#define NOW 1800000000u
#define MAXM 6

static mls_group *m[MAXM];
static uint8_t seeds[MAXM][MLS_SIG_SEED_LEN];
static const char *names[MAXM] = { "alice", "bob", "carol", "dave", "erin", "frank" };

static mls_identity ident(int i)
{
    mls_identity id = { (const uint8_t *)names[i], strlen(names[i]), seeds[i] };
    return id;
}

/* Delivers msg to every live member but `from` (and not `skip`); each must accept it
 * as an event of kind `kind`. */
static void deliver(const mls_bytes *msg, int from, int skip, int kind)
{
    for (int i = 0; i < MAXM; i++) {
        if (!m[i] || i == from || i == skip || mls_group_is_removed(m[i]))
            continue;
        mls_event ev;
        int rc = mls_group_process(m[i], msg->p, msg->len, NOW, &ev);
        if (rc)
            fprintf(stderr, "member %s: %s\n", names[i], mls_strerror(rc));
        CHECK_EQ(rc, 0);
        CHECK_EQ(ev.kind, kind);
        mls_event_free(&ev);
    }
}

/* Every live member is in the same epoch with the same authenticator and exporter. */
static void check_agree(uint64_t epoch)
{
    uint8_t ea0[MLS_HASH_LEN], ex0[32];
    int first = -1;
    for (int i = 0; i < MAXM; i++) {
        if (!m[i] || mls_group_is_removed(m[i]))
            continue;
        uint8_t ea[MLS_HASH_LEN], ex[32];
        CHECK_EQ(mls_group_epoch(m[i]), epoch);
        mls_group_epoch_authenticator(m[i], ea);
        CHECK_EQ(mls_group_exporter(m[i], (const uint8_t *)"test", 4, (const uint8_t *)"c", 1,
                                    ex, sizeof ex), 0);
        if (first < 0) {
            first = i;
            memcpy(ea0, ea, sizeof ea);
            memcpy(ex0, ex, sizeof ex);
        } else {
            CHECK_MEM(ea, ea0, sizeof ea);
            CHECK_MEM(ex, ex0, sizeof ex);
        }
    }
}

/* The leaf of member `who` as seen by `at` (by identity); UINT32_MAX if absent. */
static uint32_t leaf_of(int at, int who)
{
    mls_member mb;
    for (size_t i = 0; mls_group_member(m[at], i, &mb) == 0; i++)
        if (mb.identity.len == strlen(names[who]) &&
            memcmp(mb.identity.p, names[who], mb.identity.len) == 0)
            return mb.leaf;
    return UINT32_MAX;
}

/* Member `by` commits opts; everyone else processes it; `by` merges. Returns the
 * commit's Welcome (caller frees) in *welcome if not NULL. */
static void commit_all(int by, const mls_commit_opts *opts, mls_commit_out *keep)
{
    mls_commit_out co;
    int rc = mls_group_commit(m[by], opts, NOW, NULL, &co);
    if (rc)
        fprintf(stderr, "commit by %s: %s\n", names[by], mls_strerror(rc));
    CHECK_EQ(rc, 0);
    if (rc)
        return;
    deliver(&co.commit, by, -1, MLS_EV_COMMIT);
    CHECK_EQ(mls_group_commit_merge(m[by]), 0);
    if (keep)
        *keep = co;
    else
        mls_commit_out_free(&co);
}

static void join_from(mls_commit_out *co, int who, mls_kp_bundle *kp)
{
    int rc = mls_group_join_welcome(&m[who], co->welcome.p, co->welcome.len, kp,
                                    co->tree.len ? co->tree.p : NULL, co->tree.len, NULL, 0,
                                    NOW);
    if (rc)
        fprintf(stderr, "join of %s: %s\n", names[who], mls_strerror(rc));
    CHECK_EQ(rc, 0);
}

/* An application message from `from` reaches everyone with the right plaintext. */
static void say(int from, const char *text)
{
    mls_bytes msg;
    CHECK_EQ(mls_group_protect(m[from], (const uint8_t *)text, strlen(text), NULL, 0, NULL,
                               &msg), 0);
    for (int i = 0; i < MAXM; i++) {
        if (!m[i] || i == from || mls_group_is_removed(m[i]))
            continue;
        mls_event ev;
        CHECK_EQ(mls_group_process(m[i], msg.p, msg.len, NOW, &ev), 0);
        CHECK_EQ(ev.kind, MLS_EV_APPLICATION);
        CHECK_EQ(ev.data.len, strlen(text));
        CHECK(ev.data.len == strlen(text) && memcmp(ev.data.p, text, ev.data.len) == 0);
        CHECK(ev.sender_identity.len == strlen(names[from]) &&
              memcmp(ev.sender_identity.p, names[from], ev.sender_identity.len) == 0);
        mls_event_free(&ev);
    }
    mls_bytes_free(&msg);
}

static void test_basic_lifecycle(void)
{
    mls_kp_bundle kb, kc;
    mls_identity a = ident(0), b = ident(1), c = ident(2);
    mls_commit_out co;
    mls_bytes msg;
    mls_event ev;

    CHECK_EQ(mls_group_create(&m[0], (const uint8_t *)"g1", 2, &a, NULL, 0, NOW, NULL), 0);
    CHECK_EQ(mls_group_epoch(m[0]), 0);
    CHECK_EQ(mls_group_member_count(m[0]), 1);
    CHECK_EQ(mls_kp_bundle_create(&kb, &b, NOW, 86400, NULL), 0);
    CHECK_EQ(mls_kp_bundle_create(&kc, &c, NOW, 86400, NULL), 0);
    /* carol's bundle goes through storage */
    mls_bytes kcs;
    CHECK_EQ(mls_kp_bundle_export(&kc, &kcs), 0);
    mls_kp_bundle_free(&kc);
    CHECK_EQ(mls_kp_bundle_import(&kc, kcs.p, kcs.len - 1), MLS_E_DECODE);
    kcs.p[kcs.len - 1] ^= 1; /* a signature seed that is not the key package's */
    CHECK_EQ(mls_kp_bundle_import(&kc, kcs.p, kcs.len), MLS_E_KEY_PACKAGE);
    kcs.p[kcs.len - 1] ^= 1;
    CHECK_EQ(mls_kp_bundle_import(&kc, kcs.p, kcs.len), 0);
    mls_bytes_free(&kcs);

    /* alice adds bob and carol in one commit, tree inside the Welcome */
    mls_slice kps[2] = { { kb.key_package.p, kb.key_package.len },
                         { kc.key_package.p, kc.key_package.len } };
    mls_commit_opts o;
    memset(&o, 0, sizeof o);
    o.add_kps = kps;
    o.n_add = 2;
    o.tree_in_welcome = 1;
    CHECK_EQ(mls_group_commit(m[0], &o, NOW, NULL, &co), 0);
    CHECK_EQ(mls_group_epoch(m[0]), 0); /* pending until merged */
    CHECK_EQ(mls_group_commit_pending(m[0]), 1);
    CHECK_EQ(mls_group_export(m[0], &msg), MLS_E_STATE);
    /* the commit comes back from the delivery service: merged */
    CHECK_EQ(mls_group_process(m[0], co.commit.p, co.commit.len, NOW, &ev), 0);
    CHECK_EQ(ev.own_commit, 1);
    CHECK_EQ(ev.new_epoch, 1);
    mls_event_free(&ev);
    join_from(&co, 1, &kb);
    join_from(&co, 2, &kc);
    mls_commit_out_free(&co);
    mls_kp_bundle_free(&kb);
    mls_kp_bundle_free(&kc);
    CHECK_EQ(mls_group_member_count(m[0]), 3);
    CHECK_EQ(mls_group_member_count(m[2]), 3);
    CHECK_EQ(mls_group_own_leaf(m[2]), 2);
    check_agree(1);
    say(0, "hello");
    say(2, "hi alice");

    /* bob: empty commit (self-update with path), as PrivateMessage */
    memset(&o, 0, sizeof o);
    o.as_private = 1;
    commit_all(1, &o, NULL);
    check_agree(2);

    /* carol proposes an update (PrivateMessage); alice commits it by reference */
    CHECK_EQ(mls_group_propose_update(m[2], 1, NULL, &msg), 0);
    deliver(&msg, 2, -1, MLS_EV_PROPOSAL);
    mls_bytes_free(&msg);
    commit_all(0, NULL, NULL);
    check_agree(3);
    say(2, "updated");

    /* bob proposes an Update; carol commits (path forced) while it is pending: it goes
     * in by reference */
    CHECK_EQ(mls_group_propose_update(m[1], 0, NULL, &msg), 0);
    deliver(&msg, 1, -1, MLS_EV_PROPOSAL);
    mls_bytes_free(&msg);
    memset(&o, 0, sizeof o);
    o.force_path = 1;
    commit_all(2, &o, NULL);
    check_agree(4);
    say(1, "bob updated");

    /* a replayed PrivateMessage is refused */
    CHECK_EQ(mls_group_protect(m[1], (const uint8_t *)"once", 4, NULL, 0, NULL, &msg), 0);
    CHECK_EQ(mls_group_process(m[0], msg.p, msg.len, NOW, &ev), 0);
    mls_event_free(&ev);
    CHECK_EQ(mls_group_process(m[0], msg.p, msg.len, NOW, &ev), MLS_E_REPLAY);
    mls_bytes_free(&msg);

    /* a commit of a past epoch is refused */
    CHECK_EQ(mls_group_commit(m[1], NULL, NOW, NULL, &co), 0);
    deliver(&co.commit, 1, -1, MLS_EV_COMMIT);
    CHECK_EQ(mls_group_commit_merge(m[1]), 0);
    check_agree(5);
    CHECK_EQ(mls_group_process(m[0], co.commit.p, co.commit.len, NOW, &ev), MLS_E_EPOCH);
    mls_commit_out_free(&co);
}

/* A message sent just before a commit reached its sender is read in the next epoch;
 * two epochs late it is refused. */
static void test_late_application(void)
{
    mls_bytes late;
    mls_event ev;
    uint64_t ep = mls_group_epoch(m[0]);
    CHECK_EQ(mls_group_protect(m[2], (const uint8_t *)"late", 4, NULL, 0, NULL, &late), 0);
    commit_all(0, NULL, NULL);
    CHECK_EQ(mls_group_process(m[1], late.p, late.len, NOW, &ev), 0);
    CHECK_EQ(ev.kind, MLS_EV_APPLICATION);
    CHECK_EQ(ev.epoch, ep);
    CHECK(ev.data.len == 4 && memcmp(ev.data.p, "late", 4) == 0);
    mls_event_free(&ev);
    CHECK_EQ(mls_group_process(m[1], late.p, late.len, NOW, &ev), MLS_E_REPLAY);
    commit_all(1, NULL, NULL);
    CHECK_EQ(mls_group_process(m[0], late.p, late.len, NOW, &ev), MLS_E_EPOCH);
    mls_bytes_free(&late);
    check_agree(ep + 2);
}

static void test_psk_gce(void)
{
    static const uint8_t id[] = "shared-psk", psk[] = "the psk value, 32 bytes or so...";
    for (int i = 0; i < 3; i++)
        CHECK_EQ(mls_group_add_ext_psk(m[i], id, sizeof id - 1, psk, sizeof psk - 1), 0);
    mls_slice ids[1] = { { id, sizeof id - 1 } };
    mls_commit_opts o;
    memset(&o, 0, sizeof o);
    o.psk_ids = ids;
    o.n_psk = 1;
    commit_all(2, &o, NULL);
    check_agree(8);

    /* GroupContextExtensions with an application_id, proposed by bob, committed by
     * carol */
    static const uint8_t ext[] = { 0x07, 0x00, 0x01, 0x04, 0x03, 'a', 'p', 'p' };
    mls_bytes msg;
    CHECK_EQ(mls_group_propose_gce(m[1], ext, sizeof ext, 0, NULL, &msg), 0);
    deliver(&msg, 1, -1, MLS_EV_PROPOSAL);
    /* the relay echoes bob's own PublicMessage proposal back to him: no change */
    mls_event ev;
    CHECK_EQ(mls_group_process(m[1], msg.p, msg.len, NOW, &ev), 0);
    CHECK_EQ(ev.kind, MLS_EV_PROPOSAL);
    mls_event_free(&ev);
    mls_bytes_free(&msg);
    commit_all(2, NULL, NULL);
    check_agree(9);

    /* an unknown PSK is refused when committing */
    static const uint8_t unknown[] = "nobody knows";
    ids[0].p = unknown;
    ids[0].len = sizeof unknown - 1;
    mls_commit_out co;
    CHECK_EQ(mls_group_commit(m[0], &o, NOW, NULL, &co), MLS_E_PSK);
}

static void test_concurrent_commits(void)
{
    mls_commit_out ca, cb;
    mls_event ev;
    uint64_t ep = mls_group_epoch(m[0]);

    CHECK_EQ(mls_group_commit(m[0], NULL, NOW, NULL, &ca), 0);
    CHECK_EQ(mls_group_commit(m[1], NULL, NOW, NULL, &cb), 0);
    /* the relay delivers alice's first */
    CHECK_EQ(mls_group_process(m[2], ca.commit.p, ca.commit.len, NOW, &ev), 0);
    mls_event_free(&ev);
    CHECK_EQ(mls_group_process(m[0], ca.commit.p, ca.commit.len, NOW, &ev), 0);
    CHECK_EQ(ev.own_commit, 1);
    mls_event_free(&ev);
    CHECK_EQ(mls_group_process(m[1], ca.commit.p, ca.commit.len, NOW, &ev), 0);
    CHECK_EQ(ev.own_commit_discarded, 1);
    CHECK_EQ(mls_group_commit_pending(m[1]), 0);
    mls_event_free(&ev);
    /* then bob's: too late for everyone who applied alice's */
    CHECK_EQ(mls_group_process(m[2], cb.commit.p, cb.commit.len, NOW, &ev), MLS_E_EPOCH);
    CHECK_EQ(mls_group_process(m[0], cb.commit.p, cb.commit.len, NOW, &ev), MLS_E_EPOCH);
    CHECK_EQ(mls_group_process(m[1], cb.commit.p, cb.commit.len, NOW, &ev), MLS_E_EPOCH);
    check_agree(ep + 1);
    mls_commit_out_free(&ca);
    mls_commit_out_free(&cb);
    /* bob re-bases: a new commit on the new epoch */
    commit_all(1, NULL, NULL);
    check_agree(ep + 2);
}

static void test_export_import(void)
{
    mls_bytes st;
    mls_group *g2 = NULL;
    CHECK_EQ(mls_group_export(m[2], &st), 0);
    CHECK_EQ(mls_group_import(&g2, st.p, st.len), 0);
    CHECK(st.len > 4 && memcmp(st.p, "MLSG", 4) == 0);
    mls_group *bad = NULL;
    CHECK_EQ(mls_group_import(&bad, st.p, st.len - 1), MLS_E_DECODE);
    if (st.len > 4) {
        st.p[4] = 99;
        CHECK_EQ(mls_group_import(&bad, st.p, st.len), MLS_E_UNSUPPORTED);
    }
    CHECK(bad == NULL);
    mls_bytes_free(&st);
    CHECK(g2 != NULL);
    if (!g2)
        return;
    mls_group_free(m[2]);
    m[2] = g2;
    uint64_t ep = mls_group_epoch(m[0]);
    commit_all(2, NULL, NULL);
    check_agree(ep + 1);
    say(2, "restored");
    say(0, "to the restored");
}

static void test_external_join(void)
{
    mls_bytes gi, commit;
    mls_identity d = ident(3);
    uint64_t ep = mls_group_epoch(m[0]);
    CHECK_EQ(mls_group_group_info(m[1], 1, &gi), 0);
    int rc = mls_group_join_external(&m[3], &commit, gi.p, gi.len, NULL, 0, &d, UINT32_MAX,
                                     NOW, NULL);
    if (rc)
        fprintf(stderr, "external join: %s\n", mls_strerror(rc));
    CHECK_EQ(rc, 0);
    mls_bytes_free(&gi);
    if (rc)
        return;
    deliver(&commit, 3, -1, MLS_EV_COMMIT);
    mls_bytes_free(&commit);
    check_agree(ep + 1);
    CHECK_EQ(mls_group_member_count(m[0]), 4);
    say(3, "dave here");
    say(0, "welcome dave");

    /* dave resyncs: an external commit that also removes his old leaf */
    mls_group *old = m[3];
    m[3] = NULL;
    uint32_t old_leaf = mls_group_own_leaf(old);
    CHECK_EQ(mls_group_group_info(m[0], 1, &gi), 0);
    CHECK_EQ(mls_group_join_external(&m[3], &commit, gi.p, gi.len, NULL, 0, &d, old_leaf, NOW,
                                     NULL), 0);
    mls_bytes_free(&gi);
    /* the old state learns it was removed, by the new member at its new leaf (the event
     * used to say leaf 0, another member, for this one receiver) */
    mls_event ev;
    CHECK_EQ(mls_group_process(old, commit.p, commit.len, NOW, &ev), 0);
    CHECK_EQ(ev.removed, 1);
    CHECK_EQ(ev.sender_kind, MLS_EV_SENDER_NEW_MEMBER_COMMIT);
    CHECK_EQ(ev.sender_leaf, mls_group_own_leaf(m[3]));
    CHECK(ev.sender_leaf != 0);
    mls_event_free(&ev);
    mls_group_free(old);
    deliver(&commit, 3, -1, MLS_EV_COMMIT);
    mls_bytes_free(&commit);
    check_agree(ep + 2);
    CHECK_EQ(mls_group_member_count(m[0]), 4);
    say(3, "dave again");

    /* a resync must take out the joiner's own leaf: erin, holding the GroupInfo, cannot
     * remove bob in her join, nor can dave come back under another name */
    mls_identity e = ident(4), renamed = { (const uint8_t *)"bob", 3, seeds[3] };
    const mls_identity *who[2] = { &e, &renamed };
    uint32_t target[2] = { leaf_of(0, 1), mls_group_own_leaf(m[3]) };
    for (int k = 0; k < 2; k++) {
        mls_group *x = NULL;
        CHECK_EQ(mls_group_group_info(m[0], 1, &gi), 0);
        CHECK_EQ(mls_group_join_external(&x, &commit, gi.p, gi.len, NULL, 0, who[k],
                                         target[k], NOW, NULL), 0);
        mls_bytes_free(&gi);
        for (int i = 0; i < 4; i++) {
            if (k == 1 && i == 3)
                continue;
            CHECK_EQ(mls_group_process(m[i], commit.p, commit.len, NOW, &ev), MLS_E_LEAF_NODE);
        }
        mls_bytes_free(&commit);
        mls_group_free(x);
    }
    check_agree(ep + 2);
    say(1, "bob still here");
}

/* A PublicMessage commit in the current epoch claiming a leaf that is not a member,
 * MACed with a real member's membership key. */
static void forge_from_leaf(mls_group *g, uint32_t leaf, const uint8_t seed[32],
                            mls_bytes *out)
{
    mls_framed_content fc;
    mls_framed_content_auth_data auth;
    mls_buf gcb = { 0 }, b = { 0 };
    mls_framing_ctx ctx;
    memset(&fc, 0, sizeof fc);
    memset(&auth, 0, sizeof auth);
    memset(out, 0, sizeof *out);
    fc.content_type = MLS_CONTENT_COMMIT;
    mls_bytes_set(&fc.group_id, g->gc.group_id.p, g->gc.group_id.len);
    fc.epoch = g->gc.epoch;
    fc.sender.sender_type = MLS_SENDER_MEMBER;
    fc.sender.index = leaf;
    CHECK_EQ(mls_group_framing_ctx(g, &gcb, &ctx), 0);
    CHECK_EQ(mls_framing_sign(&ctx, MLS_WIRE_FORMAT_PUBLIC_MESSAGE, &fc, seed, &auth), 0);
    uint8_t tag[MLS_HASH_LEN] = { 0 };
    mls_bytes_set(&auth.confirmation_tag, tag, sizeof tag);
    CHECK_EQ(mls_framing_protect_public(&ctx, &fc, &auth, &b), 0);
    mls_bytes_set(out, b.p, b.len);
    mls_buf_free(&b);
    mls_buf_free(&gcb);
    mls_framed_content_free(&fc);
    mls_framed_content_auth_data_free(&auth);
}

static void test_remove(void)
{
    mls_event ev;
    mls_bytes msg, st;
    uint32_t carol = leaf_of(0, 2);
    uint64_t ep = mls_group_epoch(m[0]);
    mls_group *carol_copy = NULL;

    CHECK(carol != UINT32_MAX);
    CHECK_EQ(mls_group_export(m[2], &st), 0);
    CHECK_EQ(mls_group_import(&carol_copy, st.p, st.len), 0);
    mls_bytes_free(&st);

    /* carol proposes an Update, then bob proposes carol's removal: alice's commit takes
     * the Remove (a Remove wins over an Update of the same leaf) */
    CHECK_EQ(mls_group_propose_update(m[2], 0, NULL, &msg), 0);
    deliver(&msg, 2, -1, MLS_EV_PROPOSAL);
    mls_bytes_free(&msg);
    CHECK_EQ(mls_group_propose_remove(m[1], carol, 1, NULL, &msg), 0);
    deliver(&msg, 1, -1, MLS_EV_PROPOSAL);
    mls_bytes_free(&msg);
    mls_commit_out co;
    CHECK_EQ(mls_group_commit(m[0], NULL, NOW, NULL, &co), 0);
    CHECK_EQ(mls_group_process(m[2], co.commit.p, co.commit.len, NOW, &ev), 0);
    CHECK_EQ(ev.removed, 1);
    mls_event_free(&ev);
    CHECK_EQ(mls_group_is_removed(m[2]), 1);
    /* a removed member's state still stores and loads (and stays removed) */
    {
        mls_bytes rs;
        mls_group *rg = NULL;
        CHECK_EQ(mls_group_export(m[2], &rs), 0);
        CHECK_EQ(mls_group_import(&rg, rs.p, rs.len), 0);
        CHECK(rg && mls_group_is_removed(rg));
        mls_group_free(rg);
        mls_bytes_free(&rs);
    }
    deliver(&co.commit, 0, -1, MLS_EV_COMMIT);
    CHECK_EQ(mls_group_commit_merge(m[0]), 0);
    mls_commit_out_free(&co);
    check_agree(ep + 1);
    CHECK_EQ(mls_group_member_count(m[0]), 3);
    CHECK_EQ(leaf_of(0, 2), UINT32_MAX);

    /* the removed member can read nothing of the new epoch */
    CHECK_EQ(mls_group_protect(m[0], (const uint8_t *)"secret", 6, NULL, 0, NULL, &msg), 0);
    CHECK_EQ(mls_group_process(m[2], msg.p, msg.len, NOW, &ev), MLS_E_STATE);
    CHECK_EQ(mls_group_process(carol_copy, msg.p, msg.len, NOW, &ev), MLS_E_EPOCH);
    uint8_t ex[16];
    CHECK_EQ(mls_group_exporter(m[2], (const uint8_t *)"x", 1, NULL, 0, ex, sizeof ex),
             MLS_E_STATE);
    deliver(&msg, 0, 2, MLS_EV_APPLICATION);
    mls_bytes_free(&msg);

    /* a commit claiming carol's old leaf in the current epoch: not a member */
    forge_from_leaf(m[1], carol, seeds[2], &msg);
    CHECK_EQ(mls_group_process(m[0], msg.p, msg.len, NOW, &ev), MLS_E_SENDER);
    mls_bytes_free(&msg);
    /* and carol's own commit from her old state is for a past epoch */
    CHECK_EQ(mls_group_commit(carol_copy, NULL, NOW, NULL, &co), 0);
    CHECK_EQ(mls_group_process(m[0], co.commit.p, co.commit.len, NOW, &ev), MLS_E_EPOCH);
    mls_commit_out_free(&co);
    mls_group_free(carol_copy);
    mls_group_free(m[2]);
    m[2] = NULL;
    say(1, "after carol");
}

static void test_add_by_proposal(void)
{
    mls_kp_bundle ke;
    mls_identity e = ident(4);
    mls_bytes msg;
    mls_commit_out co;
    uint64_t ep = mls_group_epoch(m[0]);
    CHECK_EQ(mls_kp_bundle_create(&ke, &e, NOW, 86400, NULL), 0);
    CHECK_EQ(mls_group_propose_add(m[3], ke.key_package.p, ke.key_package.len, 0, NOW, NULL,
                                   &msg), 0);
    deliver(&msg, 3, -1, MLS_EV_PROPOSAL);
    mls_bytes_free(&msg);
    /* bob commits the Add without a path (tree sent beside the Welcome) */
    commit_all(1, NULL, &co);
    CHECK(co.welcome.len > 0 && co.tree.len > 0);
    join_from(&co, 4, &ke);
    mls_commit_out_free(&co);
    mls_kp_bundle_free(&ke);
    check_agree(ep + 1);
    say(4, "erin joined");
    /* the same key package cannot be added twice */
    CHECK_EQ(mls_kp_bundle_create(&ke, &e, NOW, 86400, NULL), 0);
    mls_slice kps[1] = { { ke.key_package.p, ke.key_package.len } };
    mls_commit_opts o;
    memset(&o, 0, sizeof o);
    o.add_kps = kps;
    o.n_add = 1;
    CHECK_EQ(mls_group_commit(m[0], &o, NOW, NULL, &co), MLS_E_PROPOSAL);
    mls_kp_bundle_free(&ke);
}

/* Allocation-failure hooks: the countdown-th allocation (and every later one) fails. */
static long alloc_countdown = -1;
static void *fail_alloc(void *ctx, size_t n)
{
    (void)ctx;
    if (alloc_countdown == 0)
        return NULL;
    if (alloc_countdown > 0)
        alloc_countdown--;
    return malloc(n);
}
static void fail_release(void *ctx, void *p)
{
    (void)ctx;
    free(p);
}

/* Hostile input: every single-byte change and every truncation of a commit is refused
 * without changing the receiver (it then accepts the real commit); every allocation
 * failure while processing it is reported as MLS_E_NOMEM (or a rejection), never a
 * crash or a half-applied state; a tampered Welcome is refused. */
static void test_hostile_input(void)
{
    mls_kp_bundle kf;
    mls_identity f = ident(5);
    mls_commit_out co;
    mls_event ev;
    uint8_t ea_before[MLS_HASH_LEN], ea[MLS_HASH_LEN];
    uint64_t ep = mls_group_epoch(m[0]);

    CHECK_EQ(mls_kp_bundle_create(&kf, &f, NOW, 86400, NULL), 0);
    mls_slice kps[1] = { { kf.key_package.p, kf.key_package.len } };
    mls_commit_opts o;
    memset(&o, 0, sizeof o);
    o.add_kps = kps;
    o.n_add = 1;
    o.tree_in_welcome = 1;
    o.force_path = 1; /* frank's Welcome then carries a path secret */
    CHECK_EQ(mls_group_commit(m[0], &o, NOW, NULL, &co), 0);
    mls_group_epoch_authenticator(m[1], ea_before);
    size_t refused = 0;
    for (size_t i = 0; i < co.commit.len; i++) {
        for (int bit = 0; bit < 8; bit += 7) {
            co.commit.p[i] ^= (uint8_t)(1u << bit);
            int rc = mls_group_process(m[1], co.commit.p, co.commit.len, NOW, &ev);
            co.commit.p[i] ^= (uint8_t)(1u << bit);
            refused += rc != 0;
            if (rc == 0)
                fprintf(stderr, "tampered commit byte %zu bit %d accepted\n", i, bit);
            mls_event_free(&ev);
        }
    }
    CHECK_EQ(refused, 2 * co.commit.len);
    for (size_t n = 0; n < co.commit.len; n += 7)
        CHECK(mls_group_process(m[1], co.commit.p, n, NOW, &ev) != 0);
    CHECK_EQ(mls_group_epoch(m[1]), ep);
    mls_group_epoch_authenticator(m[1], ea);
    CHECK_MEM(ea, ea_before, sizeof ea);

    /* allocation failures while bob processes the commit */
    mls_alloc_hooks hooks = { fail_alloc, fail_release, NULL };
    mls_alloc_set_hooks(&hooks);
    int applied = 0;
    for (long k = 0; k < 100000 && !applied; k += 3) {
        alloc_countdown = k;
        int rc = mls_group_process(m[1], co.commit.p, co.commit.len, NOW, &ev);
        alloc_countdown = -1;
        if (rc == 0) {
            applied = 1;
        } else {
            CHECK(rc == MLS_E_NOMEM);
            CHECK_EQ(mls_group_epoch(m[1]), ep);
        }
        mls_event_free(&ev);
    }
    mls_alloc_set_hooks(NULL);
    CHECK_EQ(applied, 1);
    CHECK_EQ(mls_group_epoch(m[1]), ep + 1);
    deliver(&co.commit, 0, 1, MLS_EV_COMMIT);
    CHECK_EQ(mls_group_commit_merge(m[0]), 0);

    /* tampered Welcomes never make a group */
    for (size_t i = 0; i < co.welcome.len; i += 5) {
        mls_group *x = NULL;
        co.welcome.p[i] ^= 0x01;
        CHECK(mls_group_join_welcome(&x, co.welcome.p, co.welcome.len, &kf, NULL, 0, NULL, 0,
                                     NOW) != 0);
        co.welcome.p[i] ^= 0x01;
        CHECK(x == NULL);
    }
    join_from(&co, 5, &kf);
    mls_commit_out_free(&co);
    mls_kp_bundle_free(&kf);
    check_agree(ep + 1);
    say(5, "frank made it");

    /* garbage where a GroupInfo or state is expected */
    static const uint8_t junk[] = { 0, 1, 0, 4, 0xff, 0xff };
    mls_bytes commit;
    mls_identity d = ident(3);
    mls_group *x = NULL;
    CHECK(mls_group_join_external(&x, &commit, junk, sizeof junk, NULL, 0, &d, UINT32_MAX,
                                  NOW, NULL) != 0);
    CHECK(mls_group_import(&x, junk, sizeof junk) == MLS_E_DECODE);
    CHECK(mls_group_process(m[0], junk, sizeof junk, NOW, &ev) != 0);
    CHECK(x == NULL);
}

/* A ReInit proposal (made with the framing layer: the API has no ReInit sender) from
 * dave, committed alone by alice: the group is closed for sending afterwards. Dave never
 * stored his forged proposal, so for him the reference is unknown. */
static void test_reinit(void)
{
    mls_group *g = m[3];
    mls_framed_content fc;
    mls_framed_content_auth_data auth;
    mls_buf gcb = { 0 }, b = { 0 };
    mls_framing_ctx ctx;
    mls_bytes msg, pmsg = { 0 };
    mls_event ev;

    memset(&fc, 0, sizeof fc);
    memset(&auth, 0, sizeof auth);
    fc.content_type = MLS_CONTENT_PROPOSAL;
    mls_bytes_set(&fc.group_id, g->gc.group_id.p, g->gc.group_id.len);
    fc.epoch = g->gc.epoch;
    fc.sender.sender_type = MLS_SENDER_MEMBER;
    fc.sender.index = mls_group_own_leaf(g);
    fc.proposal.proposal_type = MLS_PROPOSAL_REINIT;
    mls_bytes_set(&fc.proposal.reinit.group_id, (const uint8_t *)"g2", 2);
    fc.proposal.reinit.version = MLS_PROTOCOL_VERSION;
    fc.proposal.reinit.cipher_suite = MLS_CIPHER_SUITE;
    CHECK_EQ(mls_group_framing_ctx(g, &gcb, &ctx), 0);
    CHECK_EQ(mls_framing_sign(&ctx, MLS_WIRE_FORMAT_PUBLIC_MESSAGE, &fc, seeds[3], &auth), 0);
    CHECK_EQ(mls_framing_protect_public(&ctx, &fc, &auth, &b), 0);
    mls_bytes_set(&pmsg, b.p, b.len);
    mls_buf_free(&b);
    mls_buf_free(&gcb);
    mls_framed_content_free(&fc);
    mls_framed_content_auth_data_free(&auth);
    /* dave did not send it through the API: his own copy is refused */
    CHECK_EQ(mls_group_process(m[3], pmsg.p, pmsg.len, NOW, &ev), MLS_E_SENDER);
    deliver(&pmsg, 3, -1, MLS_EV_PROPOSAL);
    mls_bytes_free(&pmsg);

    mls_commit_out co;
    uint64_t ep = mls_group_epoch(m[0]);
    CHECK_EQ(mls_group_commit(m[0], NULL, NOW, NULL, &co), 0);
    CHECK_EQ(mls_group_process(m[3], co.commit.p, co.commit.len, NOW, &ev), MLS_E_NOT_FOUND);
    CHECK_EQ(mls_group_process(m[1], co.commit.p, co.commit.len, NOW, &ev), 0);
    CHECK_EQ(ev.reinit, 1);
    CHECK_EQ(ev.new_epoch, ep + 1);
    mls_event_free(&ev);
    CHECK_EQ(mls_group_commit_merge(m[0]), 0);
    mls_commit_out_free(&co);
    CHECK_EQ(mls_group_protect(m[1], (const uint8_t *)"x", 1, NULL, 0, NULL, &msg),
             MLS_E_STATE);
    CHECK_EQ(mls_group_propose_update(m[0], 0, NULL, &msg), MLS_E_STATE);
    CHECK_EQ(mls_group_commit(m[0], NULL, NOW, NULL, &co), MLS_E_STATE);
    uint8_t ea0[MLS_HASH_LEN], ea1[MLS_HASH_LEN];
    mls_group_epoch_authenticator(m[0], ea0);
    mls_group_epoch_authenticator(m[1], ea1);
    CHECK_MEM(ea0, ea1, sizeof ea0);
}

/* An external proposal framed as a PublicMessage by a non-member (no membership tag). */
static void external_proposal(mls_group *g, uint8_t sender_type, uint32_t index,
                              mls_proposal *p, const uint8_t seed[32], mls_bytes *out)
{
    mls_framed_content fc;
    mls_framed_content_auth_data auth;
    mls_buf b = { 0 };
    mls_framing_ctx ctx;
    mls_slice gid = mls_group_id(g);
    memset(&fc, 0, sizeof fc);
    memset(&auth, 0, sizeof auth);
    memset(&ctx, 0, sizeof ctx);
    memset(out, 0, sizeof *out);
    ctx.group_id = gid.p;
    ctx.group_id_len = gid.len;
    ctx.epoch = mls_group_epoch(g);
    fc.content_type = MLS_CONTENT_PROPOSAL;
    mls_bytes_set(&fc.group_id, gid.p, gid.len);
    fc.epoch = mls_group_epoch(g);
    fc.sender.sender_type = sender_type;
    fc.sender.index = index;
    fc.proposal = *p;
    memset(p, 0, sizeof *p);
    CHECK_EQ(mls_framing_sign(&ctx, MLS_WIRE_FORMAT_PUBLIC_MESSAGE, &fc, seed, &auth), 0);
    CHECK_EQ(mls_framing_protect_public(&ctx, &fc, &auth, &b), 0);
    mls_bytes_set(out, b.p, b.len);
    mls_buf_free(&b);
    mls_framed_content_free(&fc);
    mls_framed_content_auth_data_free(&auth);
}

/* A group whose GroupContext names an external sender (an operator): its Remove
 * proposal is accepted and committed; a proposal signed by someone else under the
 * operator's index is refused; a new member proposes its own Add. */
static void test_external_proposals(void)
{
    uint8_t op_seed[32], op_pub[32], x_seed[32];
    mls_identity a = ident(0), b = ident(1), e = ident(4);
    mls_group *ga = NULL, *gb = NULL, *ge = NULL;
    mls_kp_bundle kb, ke;
    mls_commit_out co;
    mls_event ev;
    mls_bytes msg;
    mls_buf eb = { 0 }, lb = { 0 };

    randombytes_buf(op_seed, sizeof op_seed);
    randombytes_buf(x_seed, sizeof x_seed);
    mls_sig_pub_from_seed(op_seed, op_pub);
    mls_external_senders es;
    memset(&es, 0, sizeof es);
    mls_external_sender one;
    memset(&one, 0, sizeof one);
    mls_bytes_set(&one.signature_key, op_pub, sizeof op_pub);
    mls_credential_init_basic(&one.credential, (const uint8_t *)"operator", 8);
    es.items = &one;
    es.n = 1;
    CHECK_EQ(mls_external_senders_encode(&eb, &es), 0);
    mls_bytes_free(&one.signature_key);
    mls_credential_free(&one.credential);
    mls_extension_list el;
    memset(&el, 0, sizeof el);
    CHECK_EQ(mls_extension_list_set(&el, MLS_EXT_EXTERNAL_SENDERS, eb.p, eb.len), 0);
    CHECK_EQ(mls_extension_list_encode(&lb, &el), 0);
    mls_extension_list_free(&el);
    CHECK_EQ(mls_group_create(&ga, (const uint8_t *)"g-ext", 5, &a, lb.p, lb.len, NOW, NULL), 0);
    mls_buf_free(&eb);
    mls_buf_free(&lb);
    if (!ga)
        return;

    /* bob joins by a new-member Add proposal of his own */
    CHECK_EQ(mls_kp_bundle_create(&kb, &b, NOW, 86400, NULL), 0);
    mls_proposal p;
    memset(&p, 0, sizeof p);
    p.proposal_type = MLS_PROPOSAL_ADD;
    CHECK_EQ(mls_key_package_decode_all(kb.key_package.p + 4, kb.key_package.len - 4, &p.add), 0);
    external_proposal(ga, MLS_SENDER_NEW_MEMBER_PROPOSAL, 0, &p, seeds[1], &msg);
    CHECK_EQ(mls_group_process(ga, msg.p, msg.len, NOW, &ev), 0);
    CHECK_EQ(ev.kind, MLS_EV_PROPOSAL);
    CHECK_EQ(ev.sender_kind, MLS_EV_SENDER_NEW_MEMBER_PROPOSAL);
    mls_event_free(&ev);
    mls_bytes_free(&msg);
    CHECK_EQ(mls_group_commit(ga, NULL, NOW, NULL, &co), 0);
    CHECK_EQ(mls_group_commit_merge(ga), 0);
    CHECK_EQ(mls_group_join_welcome(&gb, co.welcome.p, co.welcome.len, &kb, co.tree.p,
                                    co.tree.len, NULL, 0, NOW), 0);
    mls_commit_out_free(&co);
    mls_kp_bundle_free(&kb);
    CHECK_EQ(mls_group_member_count(ga), 2);

    /* erin too, then the operator removes her */
    CHECK_EQ(mls_kp_bundle_create(&ke, &e, NOW, 86400, NULL), 0);
    mls_slice kps[1] = { { ke.key_package.p, ke.key_package.len } };
    mls_commit_opts o;
    memset(&o, 0, sizeof o);
    o.add_kps = kps;
    o.n_add = 1;
    o.tree_in_welcome = 1;
    CHECK_EQ(mls_group_commit(ga, &o, NOW, NULL, &co), 0);
    CHECK_EQ(mls_group_process(gb, co.commit.p, co.commit.len, NOW, &ev), 0);
    mls_event_free(&ev);
    CHECK_EQ(mls_group_commit_merge(ga), 0);
    CHECK_EQ(mls_group_join_welcome(&ge, co.welcome.p, co.welcome.len, &ke, NULL, 0, NULL, 0,
                                    NOW), 0);
    mls_commit_out_free(&co);
    mls_kp_bundle_free(&ke);
    if (!gb || !ge)
        goto done;

    memset(&p, 0, sizeof p);
    p.proposal_type = MLS_PROPOSAL_REMOVE;
    p.remove = mls_group_own_leaf(ge);
    external_proposal(ga, MLS_SENDER_EXTERNAL, 0, &p, x_seed, &msg);
    CHECK_EQ(mls_group_process(gb, msg.p, msg.len, NOW, &ev), MLS_E_SIGNATURE);
    mls_bytes_free(&msg);
    p.proposal_type = MLS_PROPOSAL_REMOVE;
    p.remove = mls_group_own_leaf(ge);
    external_proposal(ga, MLS_SENDER_EXTERNAL, 1, &p, op_seed, &msg);
    CHECK_EQ(mls_group_process(gb, msg.p, msg.len, NOW, &ev), MLS_E_SENDER);
    mls_bytes_free(&msg);
    p.proposal_type = MLS_PROPOSAL_REMOVE;
    p.remove = mls_group_own_leaf(ge);
    external_proposal(ga, MLS_SENDER_EXTERNAL, 0, &p, op_seed, &msg);
    CHECK_EQ(mls_group_process(ga, msg.p, msg.len, NOW, &ev), 0);
    CHECK_EQ(ev.sender_kind, MLS_EV_SENDER_EXTERNAL);
    mls_event_free(&ev);
    CHECK_EQ(mls_group_process(gb, msg.p, msg.len, NOW, &ev), 0);
    mls_event_free(&ev);
    CHECK_EQ(mls_group_process(ge, msg.p, msg.len, NOW, &ev), 0);
    mls_event_free(&ev);
    mls_bytes_free(&msg);
    CHECK_EQ(mls_group_commit(gb, NULL, NOW, NULL, &co), 0);
    CHECK_EQ(mls_group_process(ga, co.commit.p, co.commit.len, NOW, &ev), 0);
    mls_event_free(&ev);
    CHECK_EQ(mls_group_process(ge, co.commit.p, co.commit.len, NOW, &ev), 0);
    CHECK_EQ(ev.removed, 1);
    mls_event_free(&ev);
    CHECK_EQ(mls_group_commit_merge(gb), 0);
    mls_commit_out_free(&co);
    CHECK_EQ(mls_group_member_count(ga), 2);
    uint8_t e1[MLS_HASH_LEN], e2[MLS_HASH_LEN];
    mls_group_epoch_authenticator(ga, e1);
    mls_group_epoch_authenticator(gb, e2);
    CHECK_MEM(e1, e2, sizeof e1);
done:
    mls_group_free(ga);
    mls_group_free(gb);
    mls_group_free(ge);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    for (int i = 0; i < MAXM; i++)
        randombytes_buf(seeds[i], sizeof seeds[i]);
    test_basic_lifecycle();
    test_late_application();
    test_psk_gce();
    test_concurrent_commits();
    test_export_import();
    test_external_join();
    test_remove();
    test_add_by_proposal();
    test_hostile_input();
    test_reinit();
    test_external_proposals();
    for (int i = 0; i < MAXM; i++)
        mls_group_free(m[i]);
    return check_finish("test_mls_group");
}
