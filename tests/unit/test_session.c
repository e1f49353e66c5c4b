/* test_session: sc_session end to end through the in-process router (session_router.h):
 * delivery, joins, leaves and rotation, outbox and confirmations, reconnects, timeouts,
 * limits, determinism, and the API's edges. Hostile-relay cases are in
 * test_session_hostile.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sc_invite.h"
#include "session_router.h"

static const uint8_t SECRET[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                   17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

#define BIG_PAYLOAD 65536u

/* Connects clients [0, n) one after another, settling after each. */
static void join_all(r_router *r, int n)
{
    for (int i = 0; i < n; i++) {
        r_connect(r, i);
        r_pump(r);
    }
}

/* Every receiver shows exactly rounds messages "<sender> k" from every other sender, in
 * order, with the sender's identity and name; nothing undecryptable. */
static void check_all_delivered(r_router *r, int n, int rounds)
{
    const char *texts[64];
    char want[64];
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < n; j++) {
            if (i == j)
                continue;
            size_t got = r_texts_from(&r->c[i], &r->c[j], texts, 64);
            CHECK_EQ(got, rounds);
            for (int k = 0; k < rounds && k < (int)got; k++) {
                snprintf(want, sizeof want, "%s %d", r->c[j].name, k);
                CHECK(strcmp(texts[k], want) == 0);
            }
        }
        CHECK_EQ(r_count(&r->c[i], SC_EV_UNDECRYPTABLE, NULL), 0);
        CHECK_EQ(r_count(&r->c[i], SC_EV_SENT, NULL), rounds);
        CHECK_EQ(r_count(&r->c[i], SC_EV_CONFIRMED, NULL), rounds);
        CHECK_EQ(sc_session_outbox_len(r->c[i].s), 0);
    }
    /* names and ids travel with the messages */
    for (size_t k = 0; k < r->c[0].n_log; k++) {
        const r_ev *e = &r->c[0].log[k];
        if (e->ev.type != SC_EV_MESSAGE)
            continue;
        int j = r_index_of(r, e->ev.member);
        CHECK(j > 0);
        if (j > 0)
            CHECK(strcmp(e->name, r->c[j].name) == 0);
        CHECK_EQ(strlen(e->fp), SC_IDENTITY_FINGERPRINT_CHARS);
    }
}

static void group_chat(int n, int batch)
{
    static const char *names[] = {"alice", "bob", "carol", "dave", "erin"};
    r_router r;
    r_init(&r, BIG_PAYLOAD);
    r.batch = batch;
    for (int i = 0; i < n; i++)
        r_add(&r, names[i], (uint8_t)(i + 1), SECRET, 0);
    join_all(&r, n);
    for (int i = 0; i < n; i++) {
        CHECK_EQ(r_count_auth(&r.c[i]), n - 1);
        CHECK_EQ(r_count(&r.c[i], SC_EV_HANDSHAKE_FAILED, NULL), 0);
        CHECK_EQ(r_count(&r.c[i], SC_EV_WARNING, NULL), 0);
        CHECK_EQ(r.c[i].rx_errors, 0);
        CHECK_EQ(r_count(&r.c[i], SC_EV_JOINED_ROOM, NULL), 1);
        CHECK_EQ(r.c[i].log[0].ev.type, SC_EV_JOINED_ROOM);
        CHECK_EQ(r.c[i].log[0].ev.member, r.c[i].id);
        CHECK_EQ(r.c[i].log[0].ev.count, i);
        CHECK_EQ(r_count(&r.c[i], SC_EV_MEMBER_JOINED, NULL), n - 1 - i);
        CHECK_EQ(sc_session_member_id(r.c[i].s), r.c[i].id);
        CHECK(sc_session_connected(r.c[i].s));
        uint64_t ids[8];
        CHECK_EQ(sc_session_members(r.c[i].s, ids, 8), n - 1);
    }
    /* safety numbers agree pairwise; identities and names as presented */
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            if (i == j)
                continue;
            char a[80], b[80];
            CHECK_EQ(sc_session_safety_number(r.c[i].s, r.c[j].id, a, sizeof a), 0);
            CHECK_EQ(sc_session_safety_number(r.c[j].s, r.c[i].id, b, sizeof b), 0);
            CHECK(strcmp(a, b) == 0);
            CHECK_EQ(strlen(a), SC_IDENTITY_SAFETY_CHARS);
            const uint8_t *ik = sc_session_member_identity(r.c[i].s, r.c[j].id);
            CHECK(ik && memcmp(ik, r.c[j].pk, 32) == 0);
            const char *nm = sc_session_member_name(r.c[i].s, r.c[j].id);
            CHECK(nm && strcmp(nm, r.c[j].name) == 0);
        }
    const int rounds = 5;
    char text[64];
    for (int k = 0; k < rounds; k++) {
        for (int i = 0; i < n; i++) {
            snprintf(text, sizeof text, "%s %d", names[i], k);
            r_send(&r, i, text);
        }
        if (!batch || k % 2)
            r_pump(&r);
    }
    r_pump(&r);
    check_all_delivered(&r, n, rounds);
    r_free(&r);
}

static void test_group_chat(void)
{
    group_chat(3, 0);
    group_chat(4, 1);
    group_chat(5, 0);
}

/* A newcomer reads what is sent after it joined. A message its sender wrote before
 * learning of the newcomer reaches it (the relay already counts it in the room) but is
 * "before join"; one sent between JOINED and the handshake's end is held, then shown. */
static void test_newcomer(void)
{
    r_router r;
    r_init(&r, BIG_PAYLOAD);
    int a = r_add(&r, "alice", 1, SECRET, 0);
    int b = r_add(&r, "bob", 2, SECRET, 0);
    int c = r_add(&r, "carol", 3, SECRET, 0);
    join_all(&r, 2);
    r_send(&r, a, "history");
    r_pump(&r);
    r_connect(&r, c); /* WELCOME for carol, JOINED queued for alice and bob */
    r_send(&r, a, "early");     /* alice has not seen JOINED yet */
    r_route_output(&r, a);
    r_deliver(&r, b);           /* bob sees JOINED(carol) and starts the handshake */
    r_send(&r, b, "bob held");  /* after JOINED, before carol has bob's keys */
    r_pump(&r);
    r_send(&r, a, "late");
    r_pump(&r);
    CHECK_EQ(r_count_text(&r.c[c], "history"), 0);
    CHECK_EQ(r_count_text(&r.c[c], "early"), 0);
    CHECK_EQ(r_count(&r.c[c], SC_EV_UNDECRYPTABLE, "before join"), 1);
    CHECK_EQ(r_count(&r.c[c], SC_EV_UNDECRYPTABLE, NULL), 1);
    CHECK_EQ(r_count_text(&r.c[c], "bob held"), 1);
    CHECK_EQ(r_count_text(&r.c[c], "late"), 1);
    CHECK_EQ(r_count_text(&r.c[b], "early"), 1);
    CHECK_EQ(r_count_text(&r.c[b], "late"), 1);
    CHECK_EQ(r_count_text(&r.c[a], "bob held"), 1);
    /* the undecryptable one names its sender */
    for (size_t k = 0; k < r.c[c].n_log; k++)
        if (r.c[c].log[k].ev.type == SC_EV_UNDECRYPTABLE)
            CHECK_EQ(r.c[c].log[k].ev.member, r.c[a].id);
    r_free(&r);
}

/* After a member leaves, everyone rotates; the leaver's session, still fed every frame
 * (broadcasts and the unicast SKDs meant for others), reads nothing new. */
static void test_leave_rotation(void)
{
    r_router r;
    r_init(&r, BIG_PAYLOAD);
    int a = r_add(&r, "alice", 1, SECRET, 0);
    int b = r_add(&r, "bob", 2, SECRET, 0);
    int l = r_add(&r, "leaver", 3, SECRET, 0);
    int d = r_add(&r, "dave", 4, SECRET, 0);
    join_all(&r, 4);
    r_send(&r, a, "before leave");
    r_pump(&r);
    CHECK_EQ(r_count_text(&r.c[l], "before leave"), 1);
    r_leave(&r, l, 1);
    r.c[l].eavesdrop = 1;
    r_pump(&r);
    int remaining[] = {a, b, d};
    for (int k = 0; k < 3; k++) {
        const r_client *c = &r.c[remaining[k]];
        CHECK_EQ(r_count(c, SC_EV_MEMBER_LEFT, NULL), 1);
        CHECK_EQ(r_count(c, SC_EV_KEYS_ROTATED, "member left"), 1);
        /* one new chain from each of the two other remaining members (plus the first) */
        CHECK_EQ(r_count(c, SC_EV_PEER_KEYS, NULL), 3 + 2);
    }
    /* MEMBER_LEFT carries who it was */
    for (size_t k = 0; k < r.c[a].n_log; k++)
        if (r.c[a].log[k].ev.type == SC_EV_MEMBER_LEFT) {
            CHECK(r.c[a].log[k].has_identity);
            CHECK(strcmp(r.c[a].log[k].name, "leaver") == 0);
        }
    size_t undec0 = r_count(&r.c[l], SC_EV_UNDECRYPTABLE, NULL);
    r_send(&r, a, "after leave a");
    r_send(&r, b, "after leave b");
    r_send(&r, d, "after leave d");
    r_pump(&r);
    CHECK_EQ(r_count_text(&r.c[l], "after leave a"), 0);
    CHECK_EQ(r_count_text(&r.c[l], "after leave b"), 0);
    CHECK_EQ(r_count_text(&r.c[l], "after leave d"), 0);
    CHECK_EQ(r_count(&r.c[l], SC_EV_UNDECRYPTABLE, "unknown chain") - undec0, 3);
    CHECK(r_count(&r.c[l], SC_EV_WARNING, "channel message failed authentication") > 0);
    CHECK_EQ(r_count_text(&r.c[a], "after leave b"), 1);
    CHECK_EQ(r_count_text(&r.c[b], "after leave d"), 1);
    CHECK_EQ(r_count_text(&r.c[d], "after leave a"), 1);
    r_free(&r);
}

/* Messages written before keys are ready wait: nothing is broadcast until the
 * handshakes with everyone in WELCOME are done; then all go out in order. */
static void test_outbox_waits_for_keys(void)
{
    r_router r;
    r_init(&r, BIG_PAYLOAD);
    int a = r_add(&r, "alice", 1, SECRET, 0);
    int b = r_add(&r, "bob", 2, SECRET, 0);
    int c = r_add(&r, "carol", 3, SECRET, 0);
    join_all(&r, 2);
    r_send(&r, c, "offline 1"); /* not connected at all */
    r_send(&r, c, "offline 2");
    CHECK_EQ(sc_session_outbox_len(r.c[c].s), 2);
    size_t len;
    CHECK(sc_session_output(r.c[c].s, &len) == NULL);
    r_connect(&r, c);
    r_deliver(&r, c); /* WELCOME: handshakes start, keys not ready */
    r_send(&r, c, "syncing 3");
    r_route_output(&r, c);
    CHECK_EQ(r_count(&r.c[c], SC_EV_SENT, NULL), 0);
    r_pump(&r);
    CHECK_EQ(r.c[c].min_auth_at_sendall, 2); /* first broadcast only after both */
    const char *t[8];
    size_t got = r_texts_from(&r.c[a], &r.c[c], t, 8);
    CHECK_EQ(got, 3);
    CHECK(got == 3 && strcmp(t[0], "offline 1") == 0 && strcmp(t[1], "offline 2") == 0 &&
          strcmp(t[2], "syncing 3") == 0);
    CHECK_EQ(r_texts_from(&r.c[b], &r.c[c], t, 8), 3);
    CHECK_EQ(r_count(&r.c[c], SC_EV_CONFIRMED, NULL), 3);
    CHECK_EQ(sc_session_outbox_len(r.c[c].s), 0);
    /* once synced, sending is immediate */
    r_send(&r, c, "now");
    CHECK(sc_session_output(r.c[c].s, &len) != NULL);
    CHECK_EQ(r_count(&r.c[c], SC_EV_SENT, NULL), 4);
    r_pump(&r);
    CHECK_EQ(r_count_text(&r.c[a], "now"), 1);
    r_free(&r);
}

/* Unconfirmed messages survive a reconnect (with a new member id) and are shown once. */
static void test_reconnect_resend(void)
{
    r_router r;
    r_init(&r, BIG_PAYLOAD);
    int a = r_add(&r, "alice", 1, SECRET, 0);
    int b = r_add(&r, "bob", 2, SECRET, 0);
    int c = r_add(&r, "carol", 3, SECRET, 0);
    join_all(&r, 3);
    /* delivered but never confirmed: the relay's SYNCED is lost with the connection */
    r.drop_sync_of = b;
    r_send(&r, b, "r1");
    r_send(&r, b, "r2");
    r_send(&r, b, "r3");
    r_pump(&r);
    CHECK_EQ(r_count_text(&r.c[a], "r2"), 1);
    CHECK_EQ(sc_session_outbox_len(r.c[b].s), 3);
    CHECK_EQ(r_count(&r.c[b], SC_EV_CONFIRMED, NULL), 0);
    /* two more that never reach the relay */
    r_send(&r, b, "r4");
    r_send(&r, b, "r5");
    uint64_t old_id = r.c[b].id;
    r_leave(&r, b, 0); /* drops b's unsent output with the connection */
    CHECK(!sc_session_connected(r.c[b].s));
    CHECK_EQ(sc_session_member_id(r.c[b].s), 0);
    CHECK_EQ(sc_session_outbox_len(r.c[b].s), 5);
    size_t len;
    CHECK(sc_session_output(r.c[b].s, &len) == NULL);
    r_send(&r, b, "r6"); /* written while offline */
    r.drop_sync_of = -1;
    r_pump(&r);
    r_connect(&r, b);
    r_pump(&r);
    CHECK(r.c[b].id != old_id);
    CHECK_EQ(sc_session_outbox_len(r.c[b].s), 0);
    CHECK_EQ(r_count(&r.c[b], SC_EV_CONFIRMED, NULL), 6);
    int readers[] = {a, c};
    for (int k = 0; k < 2; k++) {
        const r_client *x = &r.c[readers[k]];
        const char *t[16];
        size_t got = r_texts_from(x, &r.c[b], t, 16);
        CHECK_EQ(got, 6);
        for (int m = 0; m < 6 && m < (int)got; m++) {
            char want[8];
            snprintf(want, sizeof want, "r%d", m + 1);
            CHECK(strcmp(t[m], want) == 0);
        }
        CHECK_EQ(r_count(x, SC_EV_UNDECRYPTABLE, "duplicate"), 3);
        CHECK_EQ(r_count(x, SC_EV_UNDECRYPTABLE, NULL), 3);
        CHECK_EQ(r_count(x, SC_EV_MEMBER_LEFT, NULL), 1);
    }
    r_free(&r);
}

/* ---- reconnect after a relay restart: the outbox waits for the members of before ---- */

static const uint8_t OTHER_SECRET[32] = {9, 9, 9, 9};

/* The relay goes away: every connection drops at once and nothing queued is delivered. */
static void relay_restart(r_router *r)
{
    for (int i = 0; i < r->n; i++)
        if (r->c[i].in_room)
            r_leave(r, i, 0);
}

/* Texts client x showed from client from, compared with want[0..n). */
static void check_texts_from(const r_client *x, const r_client *from, const char *const *want,
                             size_t n)
{
    const char *t[32];
    size_t got = r_texts_from(x, from, t, 32);
    CHECK_EQ(got, n);
    for (size_t k = 0; k < n && k < got; k++)
        CHECK(strcmp(t[k], want[k]) == 0);
}

/* The relay restarts and the sender is back first: its WELCOME lists nobody, so its outbox
 * (a message the relay got but never confirmed, one still unwritten at the drop, two typed
 * offline, one typed while waiting) is held until the member of before the drop has
 * authenticated again; then it reaches that member, in order, each message exactly once. */
static void test_rejoin_sender_first(void)
{
    r_router r;
    r_init(&r, BIG_PAYLOAD);
    int a = r_add(&r, "alice", 1, SECRET, 0);
    int b = r_add(&r, "bob", 2, SECRET, 0);
    join_all(&r, 2);
    r_send(&r, a, "seen 1");
    r_pump(&r);
    r.drop_sync_of = a;
    r_send(&r, a, "unconfirmed 2");
    r_pump(&r);
    r_send(&r, a, "unwritten 3");
    CHECK_EQ(r_count_text(&r.c[b], "unconfirmed 2"), 1);
    CHECK_EQ(r_count(&r.c[a], SC_EV_CONFIRMED, NULL), 1);
    relay_restart(&r);
    r.drop_sync_of = -1;
    r_send(&r, a, "offline 4");
    r_send(&r, a, "offline 5");
    CHECK_EQ(sc_session_outbox_len(r.c[a].s), 4);
    CHECK_EQ(sc_session_deadline(r.c[a].s), 0); /* offline: nothing to time yet */
    size_t sent0 = r_count(&r.c[a], SC_EV_SENT, NULL);
    uint64_t welcome_at = r.now;
    r_connect(&r, a);
    r_pump(&r);
    CHECK(sc_session_connected(r.c[a].s));
    CHECK_EQ(r_count(&r.c[a], SC_EV_SENT, NULL), sent0); /* not into the empty room */
    CHECK_EQ(sc_session_deadline(r.c[a].s), welcome_at + SC_SESSION_REJOIN_WAIT_MS);
    r_send(&r, a, "waiting 6");
    r_advance(&r, SC_SESSION_REJOIN_WAIT_MS / 2);
    CHECK_EQ(r_count(&r.c[a], SC_EV_SENT, NULL), sent0);
    CHECK_EQ(sc_session_outbox_len(r.c[a].s), 5);
    r_connect(&r, b);
    r_pump(&r);
    CHECK(r.now < welcome_at + SC_SESSION_REJOIN_WAIT_MS); /* bob ended the wait, not time */
    /* alice's first broadcast on the new connection came after bob's second authentication */
    CHECK_EQ(r.c[a].min_auth_at_sendall, 2);
    static const char *const want[] = {"seen 1",    "unconfirmed 2", "unwritten 3",
                                       "offline 4", "offline 5",     "waiting 6"};
    check_texts_from(&r.c[b], &r.c[a], want, 6);
    CHECK_EQ(r_count(&r.c[b], SC_EV_UNDECRYPTABLE, "duplicate"), 1); /* unconfirmed 2 again */
    CHECK_EQ(r_count(&r.c[b], SC_EV_UNDECRYPTABLE, NULL), 1);
    CHECK_EQ(sc_session_outbox_len(r.c[a].s), 0);
    CHECK_EQ(r_count(&r.c[a], SC_EV_CONFIRMED, NULL), 6);
    CHECK_EQ(sc_session_deadline(r.c[a].s), 0);
    /* and the room works as before */
    r_send(&r, b, "bob after");
    r_pump(&r);
    CHECK_EQ(r_count_text(&r.c[a], "bob after"), 1);
    r_free(&r);
}

/* A member of before the drop that never comes back holds the outbox for
 * SC_SESSION_REJOIN_WAIT_MS after WELCOME and no longer. Members that are not awaited
 * neither end nor extend the wait: one listed in WELCOME whose handshake fails at once, and
 * a new identity that joins and authenticates meanwhile (it gets the messages after). */
static void test_rejoin_wait_bound(void)
{
    r_router r;
    r_init(&r, BIG_PAYLOAD);
    int a = r_add(&r, "alice", 1, SECRET, 0);
    int b = r_add(&r, "bob", 2, SECRET, 0);
    int c = r_add(&r, "carol", 3, SECRET, 0);
    int w = r_add(&r, "mallory", 4, OTHER_SECRET, 0);
    join_all(&r, 2);
    relay_restart(&r);
    r_send(&r, a, "to whoever is back");
    r_connect(&r, w); /* first after the restart: its HS1 fails at alice at once */
    r_pump(&r);
    uint64_t welcome_at = r.now;
    r_connect(&r, a);
    r_pump(&r);
    CHECK_EQ(r_count(&r.c[a], SC_EV_HANDSHAKE_FAILED, "wrong room secret"), 1);
    size_t sent0 = r_count(&r.c[a], SC_EV_SENT, NULL);
    CHECK_EQ(sc_session_deadline(r.c[a].s), welcome_at + SC_SESSION_REJOIN_WAIT_MS);
    r_advance(&r, 1000);
    r_connect(&r, c);
    r_pump(&r);
    CHECK_EQ(sc_session_member_identity(r.c[a].s, r.c[c].id) != NULL, 1);
    r_send(&r, a, "during the wait");
    r_advance(&r, SC_SESSION_REJOIN_WAIT_MS - 1000 - 1);
    CHECK_EQ(r_count(&r.c[a], SC_EV_SENT, NULL), sent0);
    CHECK_EQ(r_count(&r.c[c], SC_EV_MESSAGE, NULL), 0);
    CHECK_EQ(sc_session_deadline(r.c[a].s), welcome_at + SC_SESSION_REJOIN_WAIT_MS);
    r_advance(&r, 1);
    CHECK_EQ(r_count(&r.c[a], SC_EV_SENT, NULL), sent0 + 2);
    static const char *const want[] = {"to whoever is back", "during the wait"};
    check_texts_from(&r.c[c], &r.c[a], want, 2);
    CHECK_EQ(r_count(&r.c[w], SC_EV_MESSAGE, NULL), 0);
    CHECK_EQ(sc_session_outbox_len(r.c[a].s), 0);
    CHECK_EQ(sc_session_deadline(r.c[a].s), 0);
    /* over: the next message goes out at once */
    r_send(&r, a, "now");
    CHECK_EQ(r_count(&r.c[a], SC_EV_SENT, NULL), sent0 + 3);
    r_pump(&r);
    CHECK_EQ(r_count_text(&r.c[c], "now"), 1);
    /* bob, back after the wait, reads what is sent from then on */
    r_connect(&r, b);
    r_pump(&r);
    r_send(&r, a, "welcome back");
    r_pump(&r);
    CHECK_EQ(r_count_text(&r.c[b], "welcome back"), 1);
    r_free(&r);
}

/* No wait when there is nobody to wait for: a first connection (alone, and with a member
 * whose handshake fails), and a reconnect after a connection on which no member was
 * authenticated. */
static void test_rejoin_no_wait(void)
{
    r_router r;
    r_init(&r, BIG_PAYLOAD);
    int a = r_add(&r, "alice", 1, SECRET, 0);
    int b = r_add(&r, "bob", 2, SECRET, 0);
    int w = r_add(&r, "mallory", 3, OTHER_SECRET, 0);
    r_send(&r, a, "first");
    r_connect(&r, a);
    r_pump(&r);
    CHECK_EQ(r_count(&r.c[a], SC_EV_SENT, NULL), 1);
    CHECK_EQ(r_count(&r.c[a], SC_EV_CONFIRMED, NULL), 1);
    CHECK_EQ(sc_session_deadline(r.c[a].s), 0);
    /* alone on that connection: after a drop nobody is awaited */
    r_leave(&r, a, 0);
    r_send(&r, a, "second");
    r_connect(&r, a);
    r_pump(&r);
    CHECK_EQ(r_count(&r.c[a], SC_EV_SENT, NULL), 2);
    CHECK_EQ(sc_session_deadline(r.c[a].s), 0);
    /* a member whose handshake failed is not awaited either */
    r_connect(&r, w);
    r_pump(&r);
    r_advance(&r, SC_SESSION_HANDSHAKE_TIMEOUT_MS);
    CHECK_EQ(r_count(&r.c[a], SC_EV_HANDSHAKE_FAILED, NULL), 1);
    r_leave(&r, a, 0);
    r_send(&r, a, "third");
    r_connect(&r, a); /* mallory, listed in WELCOME, fails at once */
    r_pump(&r);
    CHECK_EQ(r_count(&r.c[a], SC_EV_HANDSHAKE_FAILED, "wrong room secret"), 1);
    CHECK_EQ(r_count(&r.c[a], SC_EV_SENT, NULL), 3);
    CHECK_EQ(sc_session_deadline(r.c[a].s), 0);
    /* bob's first connection, into a room with alice: only the WELCOME handshake holds */
    r_send(&r, b, "bob first");
    r_connect(&r, b);
    r_pump(&r);
    CHECK_EQ(r_count_text(&r.c[a], "bob first"), 1);
    CHECK_EQ(sc_session_deadline(r.c[b].s), 0);
    CHECK_EQ(r_count(&r.c[b], SC_EV_CONFIRMED, NULL), 1);
    r_free(&r);
}

/* The member of before the drop comes back as a new session (a reloaded page or a
 * restarted client: the same identity key, a new member id, empty state): its
 * authentication ends the wait. */
static void test_rejoin_same_identity_new_session(void)
{
    r_router r;
    r_init(&r, BIG_PAYLOAD);
    int a = r_add(&r, "alice", 1, SECRET, 0);
    int b = r_add(&r, "bob", 2, SECRET, 0);
    join_all(&r, 2);
    uint64_t old_b = r.c[b].id;
    relay_restart(&r);
    sc_session_free(r.c[b].s);
    r_log_free(&r.c[b]);
    r.c[b].seed[2] ^= 0x77; /* other randomness, same identity key */
    sc_session_config cfg = {r.c[b].pk, r.c[b].sk, SECRET, "bob", r.c[b].seed, 0};
    r.c[b].s = sc_session_new(&cfg);
    CHECK(r.c[b].s != NULL);
    r_send(&r, a, "for bob's new session");
    uint64_t welcome_at = r.now;
    r_connect(&r, a);
    r_pump(&r);
    CHECK_EQ(r_count(&r.c[a], SC_EV_SENT, NULL), 0);
    r_advance(&r, 2000);
    r_connect(&r, b);
    r_pump(&r);
    CHECK(r.c[b].id != old_b);
    CHECK(r.now < welcome_at + SC_SESSION_REJOIN_WAIT_MS);
    CHECK_EQ(r_count(&r.c[a], SC_EV_SENT, NULL), 1);
    static const char *const want[] = {"for bob's new session"};
    check_texts_from(&r.c[b], &r.c[a], want, 1);
    CHECK_EQ(r_count(&r.c[b], SC_EV_UNDECRYPTABLE, NULL), 0);
    CHECK_EQ(sc_session_outbox_len(r.c[a].s), 0);
    r_free(&r);
}

/* The wait survives further drops: a connection lost during the wait (or one that never
 * got its WELCOME) still waits, on the next one, for the members not back yet. */
static void test_rejoin_wait_survives_drop(void)
{
    r_router r;
    r_init(&r, BIG_PAYLOAD);
    int a = r_add(&r, "alice", 1, SECRET, 0);
    int b = r_add(&r, "bob", 2, SECRET, 0);
    join_all(&r, 2);
    relay_restart(&r);
    r_send(&r, a, "kept");
    r_connect(&r, a);
    r_pump(&r);
    r_advance(&r, 3000);
    r_leave(&r, a, 0);                    /* lost again during the wait */
    sc_session_disconnected(r.c[a].s, r.now); /* and an attempt that got no WELCOME */
    CHECK_EQ(sc_session_deadline(r.c[a].s), 0);
    r_advance(&r, 2000);
    uint64_t welcome_at = r.now;
    r_connect(&r, a);
    r_pump(&r);
    CHECK_EQ(r_count(&r.c[a], SC_EV_SENT, NULL), 0);
    CHECK_EQ(sc_session_deadline(r.c[a].s), welcome_at + SC_SESSION_REJOIN_WAIT_MS);
    r_advance(&r, SC_SESSION_REJOIN_WAIT_MS - 1000);
    CHECK_EQ(r_count(&r.c[a], SC_EV_SENT, NULL), 0);
    r_connect(&r, b);
    r_pump(&r);
    CHECK_EQ(r_count(&r.c[a], SC_EV_SENT, NULL), 1);
    CHECK_EQ(r_count_text(&r.c[b], "kept"), 1);
    r_free(&r);
}

static r_router *g_drop_router;
static int g_drop_a, g_drop_b;

/* Drops every unicast frame between clients g_drop_a and g_drop_b. */
static int drop_pair(r_router *r, int from, int to, uint8_t mode, const uint8_t *p, size_t n)
{
    (void)r, (void)p, (void)n;
    return mode == SC_ENV_MODE_UNICAST &&
           ((from == g_drop_a && to == g_drop_b) || (from == g_drop_b && to == g_drop_a));
}

/* A handshake that never completes fails after 15 s on both sides; the outbox stops
 * waiting for it; messages from that member are undecryptable, not lost silently. */
static void test_handshake_timeout(void)
{
    r_router r;
    r_init(&r, BIG_PAYLOAD);
    int a = r_add(&r, "alice", 1, SECRET, 0);
    int b = r_add(&r, "bob", 2, SECRET, 0);
    g_drop_router = &r;
    g_drop_a = a;
    g_drop_b = b;
    r.filter = drop_pair;
    join_all(&r, 1);
    r_send(&r, a, "a before");
    r_pump(&r);
    r_connect(&r, b);
    r_pump(&r);
    r_send(&r, b, "waiting");
    r_send(&r, a, "to nobody");
    r_pump(&r);
    CHECK_EQ(r_count(&r.c[b], SC_EV_SENT, NULL), 0); /* initial sync */
    CHECK_EQ(sc_session_deadline(r.c[b].s), R_T0 + SC_SESSION_HANDSHAKE_TIMEOUT_MS);
    CHECK_EQ(sc_session_deadline(r.c[a].s), R_T0 + SC_SESSION_HANDSHAKE_TIMEOUT_MS);
    /* a's broadcast reached b before any keys: held while the handshake may finish */
    CHECK_EQ(r_count(&r.c[b], SC_EV_UNDECRYPTABLE, NULL), 0);
    r_advance(&r, SC_SESSION_HANDSHAKE_TIMEOUT_MS - 1);
    CHECK_EQ(r_count(&r.c[b], SC_EV_HANDSHAKE_FAILED, NULL), 0);
    r_advance(&r, 1);
    CHECK_EQ(r_count(&r.c[a], SC_EV_HANDSHAKE_FAILED, "timeout"), 1);
    CHECK_EQ(r_count(&r.c[b], SC_EV_HANDSHAKE_FAILED, "timeout"), 1);
    CHECK_EQ(r_count(&r.c[b], SC_EV_UNDECRYPTABLE, "handshake failed"), 1);
    CHECK_EQ(sc_session_deadline(r.c[a].s), 0);
    CHECK_EQ(sc_session_deadline(r.c[b].s), 0);
    /* b's outbox went out once the handshake had failed; a cannot read it */
    CHECK_EQ(r_count(&r.c[b], SC_EV_SENT, NULL), 1);
    CHECK_EQ(r_count(&r.c[a], SC_EV_UNDECRYPTABLE, "handshake failed"), 1);
    CHECK_EQ(r_count(&r.c[a], SC_EV_MESSAGE, NULL), 0);
    CHECK(sc_session_member_identity(r.c[a].s, r.c[b].id) == NULL);
    char sn[80];
    CHECK_EQ(sc_session_safety_number(r.c[a].s, r.c[b].id, sn, sizeof sn), -1);
    /* the failure is final for this pair: a late HS message is only a warning */
    r.filter = NULL;
    r_free(&r);
}

/* A chain is replaced after rotate_after messages; receivers follow without a gap. */
static void test_rotate_after_n(void)
{
    r_router r;
    r_init(&r, BIG_PAYLOAD);
    int a = r_add(&r, "alice", 1, SECRET, 5);
    int b = r_add(&r, "bob", 2, SECRET, 0);
    int c = r_add(&r, "carol", 3, SECRET, 0);
    join_all(&r, 3);
    char text[16];
    for (int k = 0; k < 12; k++) {
        snprintf(text, sizeof text, "alice %d", k);
        r_send(&r, a, text);
        if (k % 3 == 2)
            r_pump(&r);
    }
    r_pump(&r);
    CHECK_EQ(r_count(&r.c[a], SC_EV_KEYS_ROTATED, "message limit reached"), 2);
    for (int x = b; x <= c; x++) {
        const char *t[16];
        CHECK_EQ(r_texts_from(&r.c[x], &r.c[a], t, 16), 12);
        for (int k = 0; k < 12 && k < 16; k++) {
            snprintf(text, sizeof text, "alice %d", k);
            CHECK(strcmp(t[k], text) == 0);
        }
        size_t from_a = 0;
        for (size_t k = 0; k < r.c[x].n_log; k++)
            if (r.c[x].log[k].ev.type == SC_EV_PEER_KEYS && r.c[x].log[k].ev.member == r.c[a].id)
                from_a++;
        CHECK_EQ(from_a, 3);
        CHECK_EQ(r_count(&r.c[x], SC_EV_UNDECRYPTABLE, NULL), 0);
    }
    r_free(&r);
}

/* The relay's max_payload bounds what can be sent: rejected at once when connected,
 * reported as SEND_FAILED when a message queued offline meets a smaller relay. */
static void test_max_payload(void)
{
    r_router r;
    r_init(&r, 1024);
    int a = r_add(&r, "alice", 1, SECRET, 0);
    int b = r_add(&r, "bob", 2, SECRET, 0);
    join_all(&r, 2);
    static uint8_t big[2000];
    memset(big, 'x', sizeof big);
    uint64_t id = 0;
    CHECK_EQ(sc_session_send(r.c[a].s, big, sizeof big, r.now, &id), -1);
    CHECK_EQ(sc_session_outbox_len(r.c[a].s), 0);
    r_leave(&r, a, 0);
    r_pump(&r);
    CHECK_EQ(sc_session_send(r.c[a].s, big, sizeof big, r.now, &id), 0);
    uint64_t small = r_send(&r, a, "fits");
    r_connect(&r, a);
    r_pump(&r);
    CHECK_EQ(r_count(&r.c[a], SC_EV_SEND_FAILED, NULL), 1);
    for (size_t k = 0; k < r.c[a].n_log; k++)
        if (r.c[a].log[k].ev.type == SC_EV_SEND_FAILED) {
            CHECK_EQ(r.c[a].log[k].ev.msg_id, id);
            CHECK(strstr(r.c[a].log[k].reason, "too large") != NULL);
        }
    CHECK_EQ(r_count_text(&r.c[b], "fits"), 1);
    int confirmed_small = 0;
    for (size_t k = 0; k < r.c[a].n_log; k++)
        if (r.c[a].log[k].ev.type == SC_EV_CONFIRMED && r.c[a].log[k].ev.msg_id == small)
            confirmed_small = 1;
    CHECK(confirmed_small);
    CHECK_EQ(sc_session_outbox_len(r.c[a].s), 0);
    r_free(&r);
}

/* Held messages have a bound per member; the excess is reported, the rest shown. A member
 * who leaves before its keys arrive has its held messages reported too. */
static int hold_unicast_to_c;
static int hold_hs(r_router *r, int from, int to, uint8_t mode, const uint8_t *p, size_t n)
{
    (void)r, (void)from, (void)p, (void)n;
    return hold_unicast_to_c >= 0 && mode == SC_ENV_MODE_UNICAST &&
                   (to == hold_unicast_to_c || from == hold_unicast_to_c)
               ? 2
               : 0;
}

static void test_held_limit(void)
{
    r_router r;
    r_init(&r, BIG_PAYLOAD);
    int a = r_add(&r, "alice", 1, SECRET, 0);
    int b = r_add(&r, "bob", 2, SECRET, 0);
    int c = r_add(&r, "carol", 3, SECRET, 0);
    join_all(&r, 2);
    hold_unicast_to_c = c;
    r.filter = hold_hs;
    r_connect(&r, c);
    r_pump(&r);
    char text[16];
    for (int k = 0; k < (int)SC_SESSION_MAX_HELD + 6; k++) {
        snprintf(text, sizeof text, "b%d", k);
        r_send(&r, b, text);
        r_pump(&r);
    }
    r_send(&r, a, "from a");
    r_pump(&r);
    CHECK_EQ(r_count(&r.c[c], SC_EV_UNDECRYPTABLE, "held-buffer full"), 6);
    CHECK_EQ(r_count(&r.c[c], SC_EV_MESSAGE, NULL), 0);
    hold_unicast_to_c = -1;
    r_release_held(&r);
    r_pump(&r);
    const char *t[128];
    CHECK_EQ(r_texts_from(&r.c[c], &r.c[b], t, 128), SC_SESSION_MAX_HELD);
    CHECK(strcmp(t[0], "b0") == 0);
    CHECK_EQ(r_count_text(&r.c[c], "from a"), 1);
    CHECK_EQ(r_count(&r.c[c], SC_EV_UNDECRYPTABLE, NULL), 6);

    /* held, then the sender leaves */
    int d = r_add(&r, "dave", 4, SECRET, 0);
    hold_unicast_to_c = d;
    r_connect(&r, d);
    r_pump(&r);
    r_send(&r, a, "to d");
    r_pump(&r);
    r_leave(&r, a, 0);
    r_pump(&r);
    CHECK_EQ(r_count(&r.c[d], SC_EV_UNDECRYPTABLE, "sender left before its keys arrived"), 1);
    r.filter = NULL;
    r_free(&r);
}

/* A member rotating while a newcomer's handshake is still pending gives the newcomer both
 * the snapshot and the new chain on completion, so it reads what was sent on either. */
static void test_rotation_while_pending(void)
{
    r_router r;
    r_init(&r, BIG_PAYLOAD);
    int a = r_add(&r, "alice", 1, SECRET, 2);
    int b = r_add(&r, "bob", 2, SECRET, 0);
    int c = r_add(&r, "carol", 3, SECRET, 0);
    join_all(&r, 2);
    hold_unicast_to_c = c;
    r.filter = hold_hs;
    r_connect(&r, c);
    r_pump(&r);
    r_send(&r, a, "p0"); /* on the snapshot chain */
    r_send(&r, a, "p1"); /* ... which then rotates */
    r_send(&r, a, "p2"); /* on a chain created after carol became known */
    r_pump(&r);
    r_leave(&r, b, 0);   /* and another rotation, for "member left" */
    r_pump(&r);
    r_send(&r, a, "p3");
    r_pump(&r);
    CHECK_EQ(r_count(&r.c[a], SC_EV_KEYS_ROTATED, NULL), 2);
    CHECK_EQ(r_count(&r.c[c], SC_EV_MESSAGE, NULL), 0);
    hold_unicast_to_c = -1;
    r.filter = NULL;
    r_release_held(&r);
    r_pump(&r);
    const char *t[8];
    CHECK_EQ(r_texts_from(&r.c[c], &r.c[a], t, 8), 4);
    CHECK(strcmp(t[0], "p0") == 0 && strcmp(t[3], "p3") == 0);
    CHECK_EQ(r_count(&r.c[c], SC_EV_UNDECRYPTABLE, NULL), 0);
    r_free(&r);
}

/* Output is not allowed to grow without bound when the caller stops writing: the outbox
 * pauses, then continues as output is popped. */
static void test_output_backpressure(void)
{
    r_router r;
    r_init(&r, BIG_PAYLOAD);
    int a = r_add(&r, "alice", 1, SECRET, 0);
    int b = r_add(&r, "bob", 2, SECRET, 0);
    join_all(&r, 2);
    static uint8_t text[SC_SESSION_MAX_TEXT];
    memset(text, 'y', sizeof text);
    for (int k = 0; k < 100; k++) {
        text[0] = (uint8_t)('A' + k % 26);
        CHECK_EQ(sc_session_send(r.c[a].s, text, sizeof text, r.now, NULL), 0);
    }
    r_drain_events(&r, &r.c[a]);
    size_t sent = r_count(&r.c[a], SC_EV_SENT, NULL);
    CHECK(sent > 0 && sent < 100);
    r_pump(&r);
    CHECK_EQ(r_count(&r.c[a], SC_EV_SENT, NULL), 100);
    CHECK_EQ(r_count(&r.c[b], SC_EV_MESSAGE, NULL), 100);
    CHECK_EQ(sc_session_outbox_len(r.c[a].s), 0);
    r_free(&r);
}

/* The same seeds give the same bytes and events; other seeds do not. */
static void run_scenario(uint8_t seed_base, uint8_t out[32])
{
    r_router r;
    r_init(&r, BIG_PAYLOAD);
    r.batch = 1;
    for (int i = 0; i < 4; i++)
        r_add(&r, i == 0 ? "alice" : i == 1 ? "bob" : i == 2 ? "carol" : "dave",
              (uint8_t)(seed_base + i), SECRET, 3);
    join_all(&r, 3);
    r_send(&r, 0, "one");
    r_send(&r, 1, "two");
    r_pump(&r);
    r_connect(&r, 3);
    r_send(&r, 2, "three");
    r_pump(&r);
    for (int k = 0; k < 5; k++)
        r_send(&r, k % 4, "more");
    r_leave(&r, 1, 0);
    r_pump(&r);
    r_connect(&r, 1);
    r_send(&r, 1, "back");
    r_pump(&r);
    crypto_generichash_final(&r.transcript, out, 32);
    CHECK_EQ(r_count_text(&r.c[3], "back"), 1);
    r_free(&r);
}

static void test_deterministic(void)
{
    uint8_t h1[32], h2[32], h3[32];
    run_scenario(10, h1);
    run_scenario(10, h2);
    run_scenario(20, h3);
    CHECK_MEM(h1, h2, 32);
    CHECK(memcmp(h1, h3, 32) != 0);
}

/* ---- API edges ---- */

static size_t count_type(sc_session *s, enum sc_event_type t, const char *reason_part,
                         sc_event *last)
{
    size_t n = 0;
    sc_event ev;
    while (sc_session_next_event(s, &ev))
        if (ev.type == t && (!reason_part || strstr(ev.reason, reason_part))) {
            n++;
            if (last)
                *last = ev;
        }
    return n;
}

static void test_api(void)
{
    uint8_t pk[32], sk[64], pk2[32], sk2[64];
    sc_rng rng;
    uint8_t seed[32] = {7};
    sc_rng_init_seeded(&rng, seed);
    sc_identity_generate(&rng, pk, sk);
    sc_identity_generate(&rng, pk2, sk2);
    sc_session_config cfg = {pk, sk, SECRET, "alice", seed, 0};
    sc_session_config bad = cfg;
    CHECK(sc_session_new(NULL) == NULL);
    bad.identity_sk = sk2; /* does not match pk */
    CHECK(sc_session_new(&bad) == NULL);
    bad = cfg;
    bad.room_secret = NULL;
    CHECK(sc_session_new(&bad) == NULL);
    bad = cfg;
    bad.name = "12345678901234567890123456789012345678901234567890123456789012345"; /* 65 */
    CHECK(sc_session_new(&bad) == NULL);
    bad.name = "\xff\xfe";
    CHECK(sc_session_new(&bad) == NULL);
    bad.name = "tab\there";
    CHECK(sc_session_new(&bad) == NULL);
    sc_session_free(NULL);

    sc_session *s = sc_session_new(&cfg);
    CHECK(s != NULL);
    uint8_t rid[32];
    char rid_text[SC_INVITE_ROOM_ID_CHARS + 1];
    sc_invite_derive(SECRET, rid, NULL);
    sc_invite_room_id_text(rid, rid_text);
    CHECK(strcmp(sc_session_room_id(s), rid_text) == 0);
    CHECK(!sc_session_connected(s));
    CHECK_EQ(sc_session_deadline(s), 0);

    /* send's input checks */
    uint64_t id;
    CHECK_EQ(sc_session_send(s, (const uint8_t *)"", 0, 1, &id), -1);
    CHECK_EQ(sc_session_send(s, (const uint8_t *)"\xc0\x80", 2, 1, &id), -1);
    static uint8_t huge[SC_SESSION_MAX_TEXT + 1];
    memset(huge, 'a', sizeof huge);
    CHECK_EQ(sc_session_send(s, huge, sizeof huge, 1, &id), -1);
    CHECK_EQ(sc_session_send(s, huge, SC_SESSION_MAX_TEXT, 1, &id), 0);
    CHECK_EQ(sc_session_outbox_len(s), 1);

    /* the relay's side: nothing but WELCOME (or ERROR) first */
    uint8_t buf[256];
    size_t n = sc_env_encode_joined(buf, sizeof buf, 9);
    CHECK_EQ(sc_session_receive(s, buf, n, 1), -1);
    CHECK_EQ(count_type(s, SC_EV_PROTOCOL_ERROR, "before WELCOME", NULL), 1);
    n = sc_env_encode_error(buf, sizeof buf, SC_ENV_ERR_ROOM_FULL, "room full");
    CHECK_EQ(sc_session_receive(s, buf, n, 1), 0);
    sc_event last;
    CHECK_EQ(count_type(s, SC_EV_RELAY_ERROR, "room full", &last), 1);
    CHECK_EQ(last.code, SC_ENV_ERR_ROOM_FULL);
    CHECK_EQ(sc_session_receive(s, buf, 0, 1), -1);
    CHECK_EQ(count_type(s, SC_EV_PROTOCOL_ERROR, NULL, NULL), 1);
    n = sc_env_encode_welcome(buf, sizeof buf, 50, 100, NULL, 0); /* max_payload too small */
    CHECK_EQ(sc_session_receive(s, buf, n, 1), -1);
    CHECK_EQ(count_type(s, SC_EV_PROTOCOL_ERROR, "max_payload", NULL), 1);
    CHECK(!sc_session_connected(s));

    /* alone in the room: the outbox goes out at once, then one SYNC */
    n = sc_env_encode_welcome(buf, sizeof buf, 50, 65536, NULL, 0);
    CHECK_EQ(sc_session_receive(s, buf, n, 1), 0);
    CHECK(sc_session_connected(s));
    CHECK_EQ(sc_session_member_id(s), 50);
    CHECK_EQ(count_type(s, SC_EV_SENT, NULL, NULL), 1);
    size_t len;
    const uint8_t *o = sc_session_output(s, &len);
    CHECK(o && o[1] == SC_ENV_T_SEND_ALL);
    sc_session_output_pop(s);
    o = sc_session_output(s, &len);
    CHECK(o && o[1] == SC_ENV_T_SYNC && len == 14);
    uint64_t token = o ? sc_load64(o + 6) : 0;
    sc_session_output_pop(s);
    CHECK(sc_session_output(s, &len) == NULL);
    sc_session_output_pop(s); /* harmless when empty */

    /* SYNCED: an unknown token warns, the right one confirms */
    n = sc_env_encode_synced(buf, sizeof buf, token + 1);
    CHECK_EQ(sc_session_receive(s, buf, n, 2), 0);
    CHECK_EQ(count_type(s, SC_EV_WARNING, "SYNCED", NULL), 1);
    n = sc_env_encode_synced(buf, sizeof buf, token);
    CHECK_EQ(sc_session_receive(s, buf, n, 2), 0);
    CHECK_EQ(count_type(s, SC_EV_CONFIRMED, NULL, &last), 1);
    CHECK_EQ(last.msg_id, id);
    CHECK_EQ(sc_session_outbox_len(s), 0);
    CHECK_EQ(sc_session_receive(s, buf, n, 2), 0); /* the same SYNCED again */
    CHECK_EQ(count_type(s, SC_EV_WARNING, "SYNCED", NULL), 1);

    /* relay mistakes that end the connection, and ones that only warn */
    n = sc_env_encode_welcome(buf, sizeof buf, 51, 65536, NULL, 0);
    CHECK_EQ(sc_session_receive(s, buf, n, 3), -1);
    CHECK_EQ(count_type(s, SC_EV_PROTOCOL_ERROR, "second WELCOME", NULL), 1);
    n = sc_env_encode_joined(buf, sizeof buf, 50);
    CHECK_EQ(sc_session_receive(s, buf, n, 3), -1);
    CHECK_EQ(count_type(s, SC_EV_PROTOCOL_ERROR, "own id", NULL), 1);
    n = sc_env_encode_left(buf, sizeof buf, 77);
    CHECK_EQ(sc_session_receive(s, buf, n, 3), 0);
    CHECK_EQ(count_type(s, SC_EV_WARNING, "LEFT", NULL), 1);
    n = sc_env_encode_joined(buf, sizeof buf, 60);
    CHECK_EQ(sc_session_receive(s, buf, n, 3), 0);
    CHECK_EQ(count_type(s, SC_EV_MEMBER_JOINED, NULL, &last), 1);
    CHECK_EQ(last.member, 60);
    CHECK_EQ(sc_session_receive(s, buf, n, 3), 0);
    CHECK_EQ(count_type(s, SC_EV_WARNING, "duplicate JOINED", NULL), 1);
    uint64_t ids[4];
    CHECK_EQ(sc_session_members(s, ids, 4), 1);
    CHECK_EQ(ids[0], 60);
    CHECK(sc_session_member_identity(s, 60) == NULL);
    CHECK(sc_session_member_name(s, 60) == NULL);
    /* 50 < 60: we initiated, HS1 is queued for 60 */
    o = sc_session_output(s, &len);
    CHECK(o && o[1] == SC_ENV_T_SEND_TO && len == SC_ENV_SEND_TO_OVERHEAD + SC_HS1_BYTES);
    sc_session_output_pop(s);
    /* a message before WELCOME on the next connection, after a disconnect */
    sc_session_disconnected(s, 4);
    CHECK_EQ(sc_session_members(s, ids, 4), 0);
    CHECK(sc_session_output(s, &len) == NULL);
    n = sc_env_encode_synced(buf, sizeof buf, 1);
    CHECK_EQ(sc_session_receive(s, buf, n, 5), -1);
    CHECK_EQ(count_type(s, SC_EV_PROTOCOL_ERROR, "before WELCOME", NULL), 1);

    /* outbox bound */
    for (unsigned k = 0; k < SC_SESSION_MAX_OUTBOX; k++)
        CHECK_EQ(sc_session_send(s, (const uint8_t *)"q", 1, 6, NULL), 0);
    CHECK_EQ(sc_session_send(s, (const uint8_t *)"q", 1, 6, NULL), -1);
    CHECK_EQ(sc_session_outbox_len(s), SC_SESSION_MAX_OUTBOX);
    sc_session_free(s);
}

/* Events are bounded: a flood the caller does not drain is counted, then reported. */
static void test_event_bound(void)
{
    uint8_t pk[32], sk[64];
    sc_rng rng;
    uint8_t seed[32] = {8};
    sc_rng_init_seeded(&rng, seed);
    sc_identity_generate(&rng, pk, sk);
    sc_session_config cfg = {pk, sk, SECRET, "alice", seed, 0};
    sc_session *s = sc_session_new(&cfg);
    uint8_t buf[64];
    size_t n = sc_env_encode_welcome(buf, sizeof buf, 50, 65536, NULL, 0);
    CHECK_EQ(sc_session_receive(s, buf, n, 1), 0);
    const uint8_t junk[] = {9, 9, 9};
    n = sc_env_encode_data(buf, sizeof buf, 70, SC_ENV_MODE_BROADCAST, junk, sizeof junk);
    const int flood = 20000;
    for (int k = 0; k < flood; k++)
        CHECK_EQ(sc_session_receive(s, buf, n, 2), 0);
    sc_event ev;
    size_t got = 0, warnings = 0;
    const char *dropped = NULL;
    char dropped_text[200] = "";
    while (sc_session_next_event(s, &ev)) {
        got++;
        if (ev.type == SC_EV_WARNING)
            warnings++;
        if (strstr(ev.reason, "dropped")) {
            snprintf(dropped_text, sizeof dropped_text, "%s", ev.reason);
            dropped = dropped_text;
        }
    }
    /* JOINED_ROOM and the flood's warnings, up to the bound, then one report of the rest */
    CHECK_EQ(got, 16384 + 1);
    CHECK_EQ(warnings, got - 1);
    CHECK(dropped != NULL);
    char want[64];
    snprintf(want, sizeof want, "%zu events dropped", (size_t)flood + 2 - got);
    CHECK(dropped && strncmp(dropped, want, strlen(want)) == 0);
    sc_session_free(s);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    test_api();
    test_group_chat();
    test_newcomer();
    test_leave_rotation();
    test_outbox_waits_for_keys();
    test_reconnect_resend();
    test_rejoin_sender_first();
    test_rejoin_wait_bound();
    test_rejoin_no_wait();
    test_rejoin_same_identity_new_session();
    test_rejoin_wait_survives_drop();
    test_handshake_timeout();
    test_rotate_after_n();
    test_max_payload();
    test_held_limit();
    test_rotation_while_pending();
    test_output_backpressure();
    test_deterministic();
    test_event_bound();
    return check_finish("test_session");
}
