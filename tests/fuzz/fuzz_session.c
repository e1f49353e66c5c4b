/*
 * fuzz_session: libFuzzer target for sc_session. The target session T (after a valid
 * WELCOME listing a real peer P and a silent member) is fed relay messages chosen by the
 * input: frames from P delivered as sent, with a byte flipped, duplicated or dropped;
 * raw bytes; fake JOINED/LEFT/SYNCED; time jumps; user messages; reconnects. Because P is
 * a real session with the same room secret, inputs reach authenticated channels, chains
 * and group messages, not only the envelope parser.
 *
 * Invariant checked on every event: a session shows only text the other one really sent,
 * under the sender's identity key, each msg_id at most once (no forgery, no replay).
 *
 * Input: a sequence of ops, each one byte followed by its operands (see run_op).
 */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "sc_bytes.h"
#include "sc_envelope.h"
#include "sc_identity.h"
#include "sc_rng.h"
#include "sc_session.h"

#define P_ID 3u
#define SILENT_ID 9u
#define MAX_FRAME 70000u
#define MAX_SENT 512u

/* What one party sent: msg_id and a hash of the text; shown marks receipt by the other. */
typedef struct sent_msg {
    uint64_t msg_id;
    uint8_t h[16];
    int shown;
} sent_msg;

typedef struct party {
    sc_session *s;
    const uint8_t *pk;
    sent_msg sent[MAX_SENT];
    size_t n_sent;
} party;

typedef struct fz {
    party tp, pp;
    sc_session *t, *p;
    uint64_t t_id, now;
    int t_in_room;
    uint8_t last[MAX_FRAME]; /* last frame delivered to T, for duplication */
    size_t last_len;
} fz;

static const uint8_t SECRET[32] = {0x42, 1, 2, 3};
static uint8_t t_pk[32], t_sk[64], p_pk[32], p_sk[64];

static fz *g_f;

/* A shown message must be one the other party sent, from its identity, shown once. */
static void check_message(const sc_event *ev, party *from)
{
    FUZZ_ASSERT(ev->identity && memcmp(ev->identity, from->pk, 32) == 0);
    FUZZ_ASSERT(ev->text && ev->text_len > 0 && ev->text_len <= SC_SESSION_MAX_TEXT);
    uint8_t h[16];
    crypto_generichash(h, sizeof h, ev->text, ev->text_len, NULL, 0);
    for (size_t i = 0; i < from->n_sent; i++) {
        if (from->sent[i].msg_id != ev->msg_id)
            continue;
        FUZZ_ASSERT(memcmp(from->sent[i].h, h, sizeof h) == 0);
        FUZZ_ASSERT(!from->sent[i].shown);
        from->sent[i].shown = 1;
        return;
    }
    FUZZ_ASSERT(!"message that was never sent");
}

static void drain(sc_session *s)
{
    sc_event ev;
    while (sc_session_next_event(s, &ev)) {
        /* touch what the UI would read, so ASan checks the pointers */
        volatile size_t sink = strlen(ev.reason) + strlen(ev.name) + strlen(ev.fingerprint);
        if (ev.identity)
            sink += ev.identity[31];
        if (ev.text && ev.text_len)
            sink += ev.text[ev.text_len - 1];
        (void)sink;
        if (ev.type == SC_EV_MESSAGE)
            check_message(&ev, s == g_f->t ? &g_f->pp : &g_f->tp);
    }
}

static void to_t(fz *f, const uint8_t *m, size_t n)
{
    if (!n || n > MAX_FRAME)
        return;
    sc_session_receive(f->t, m, n, f->now);
    memcpy(f->last, m, n);
    f->last_len = n;
    drain(f->t);
}

static void welcome_t(fz *f)
{
    const uint64_t members[] = {P_ID, SILENT_ID};
    uint8_t w[64];
    size_t n = sc_env_encode_welcome(w, sizeof w, f->t_id, 65536, members, 2);
    sc_session_receive(f->t, w, n, f->now);
    drain(f->t);
    uint8_t j[14];
    n = sc_env_encode_joined(j, sizeof j, f->t_id);
    sc_session_receive(f->p, j, n, f->now);
    drain(f->p);
    f->t_in_room = 1;
}

/* P's next output, as the DATA frame T would get (0 if none or not for T). */
static size_t next_from_p(fz *f, uint8_t *out, size_t cap)
{
    size_t len;
    const uint8_t *m = sc_session_output(f->p, &len);
    if (!m)
        return 0;
    sc_env e;
    size_t n = 0;
    if (sc_env_parse(m, len, SC_ENV_FROM_CLIENT, &e) == (int)len) {
        if (e.type == SC_ENV_T_SEND_ALL)
            n = sc_env_encode_data(out, cap, P_ID, SC_ENV_MODE_BROADCAST, e.payload,
                                   e.payload_len);
        else if (e.type == SC_ENV_T_SEND_TO && e.member == f->t_id && f->t_in_room)
            n = sc_env_encode_data(out, cap, P_ID, SC_ENV_MODE_UNICAST, e.payload,
                                   e.payload_len);
        else if (e.type == SC_ENV_T_SYNC) {
            uint8_t s[14];
            size_t sn = sc_env_encode_synced(s, sizeof s, e.token);
            sc_session_output_pop(f->p);
            sc_session_receive(f->p, s, sn, f->now);
            drain(f->p);
            return 0;
        }
    }
    sc_session_output_pop(f->p);
    return n;
}

/* Routes T's next output: to P, to nobody (the silent member), or SYNCED back. */
static void route_t(fz *f)
{
    size_t len;
    const uint8_t *m = sc_session_output(f->t, &len);
    if (!m)
        return;
    static uint8_t buf[MAX_FRAME + 32];
    sc_env e;
    size_t n = 0;
    int synced = 0;
    if (sc_env_parse(m, len, SC_ENV_FROM_CLIENT, &e) == (int)len) {
        if (e.type == SC_ENV_T_SEND_ALL || (e.type == SC_ENV_T_SEND_TO && e.member == P_ID))
            n = sc_env_encode_data(buf, sizeof buf, f->t_id,
                                   e.type == SC_ENV_T_SEND_ALL ? SC_ENV_MODE_BROADCAST
                                                               : SC_ENV_MODE_UNICAST,
                                   e.payload, e.payload_len);
        else if (e.type == SC_ENV_T_SYNC) {
            n = sc_env_encode_synced(buf, sizeof buf, e.token);
            synced = 1;
        }
    } else {
        FUZZ_ASSERT(!"session output is not exactly one envelope");
    }
    sc_session_output_pop(f->t);
    if (!n || !f->t_in_room)
        return;
    if (synced) {
        to_t(f, buf, n);
    } else {
        sc_session_receive(f->p, buf, n, f->now);
        drain(f->p);
    }
}

static uint8_t take(const uint8_t **d, size_t *n)
{
    if (!*n)
        return 0;
    uint8_t b = **d;
    (*d)++;
    (*n)--;
    return b;
}

static void run_op(fz *f, uint8_t op, const uint8_t **d, size_t *n)
{
    static uint8_t frame[MAX_FRAME + 32];
    uint8_t u8[16];
    size_t len;
    switch (op % 12) {
    case 0: /* deliver P's next frame */
        if ((len = next_from_p(f, frame, sizeof frame)))
            to_t(f, frame, len);
        break;
    case 1: /* deliver it with one byte flipped: op position (2 bytes), mask */
    {
        size_t pos = ((size_t)take(d, n) << 8) | take(d, n);
        uint8_t mask = take(d, n);
        if ((len = next_from_p(f, frame, sizeof frame))) {
            frame[pos % len] ^= mask ? mask : 1;
            to_t(f, frame, len);
        }
        break;
    }
    case 2: /* drop P's next frame */
        next_from_p(f, frame, sizeof frame);
        break;
    case 3: /* duplicate the last frame T got */
        if (f->last_len) {
            memcpy(frame, f->last, f->last_len);
            to_t(f, frame, f->last_len);
        }
        break;
    case 4: /* route T's next output */
        route_t(f);
        break;
    case 5: /* raw relay message: length byte, bytes */
    {
        size_t want = take(d, n);
        size_t have = want < *n ? want : *n;
        uint8_t *raw = malloc(have ? have : 1); /* exact size so ASan sees over-reads */
        memcpy(raw, *d, have);
        *d += have;
        *n -= have;
        sc_session_receive(f->t, raw, have, f->now);
        drain(f->t);
        free(raw);
        break;
    }
    case 6: /* a fake membership change or SYNCED about a small id */
    {
        uint8_t kind = take(d, n), id = take(d, n);
        size_t m = kind % 3 == 0   ? sc_env_encode_joined(u8, sizeof u8, id)
                   : kind % 3 == 1 ? sc_env_encode_left(u8, sizeof u8, id)
                                   : sc_env_encode_synced(u8, sizeof u8, id);
        if (m)
            to_t(f, u8, m);
        break;
    }
    case 7: /* time passes: 0..255 seconds */
        f->now += 1000u * take(d, n);
        sc_session_tick(f->t, f->now);
        sc_session_tick(f->p, f->now);
        drain(f->t);
        drain(f->p);
        break;
    case 8: /* T's user sends text of the next length byte (may be invalid UTF-8) */
    case 9: /* P sends */
    {
        size_t want = take(d, n);
        size_t have = want < *n ? want : *n;
        party *who = op % 12 == 8 ? &f->tp : &f->pp;
        sc_session *s = who->s;
        uint64_t id = 0;
        if (sc_session_send(s, *d, have, f->now, &id) == 0 && who->n_sent < MAX_SENT) {
            sent_msg *m = &who->sent[who->n_sent++];
            m->msg_id = id;
            crypto_generichash(m->h, sizeof m->h, *d, have, NULL, 0);
            m->shown = 0;
        }
        *d += have;
        *n -= have;
        drain(s);
        break;
    }
    case 10: /* T reconnects with a new id */
    {
        uint8_t l[14];
        size_t m = sc_env_encode_left(l, sizeof l, f->t_id);
        sc_session_receive(f->p, l, m, f->now);
        drain(f->p);
        sc_session_disconnected(f->t, f->now);
        drain(f->t);
        f->t_id += 10;
        welcome_t(f);
        break;
    }
    default: /* everything settles for a while */
        for (int k = 0; k < 8; k++) {
            route_t(f);
            if ((len = next_from_p(f, frame, sizeof frame)))
                to_t(f, frame, len);
        }
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        fuzz_sodium_init();
        sc_rng r;
        uint8_t seed[32] = {0x77};
        sc_rng_init_seeded(&r, seed);
        sc_identity_generate(&r, t_pk, t_sk);
        sc_identity_generate(&r, p_pk, p_sk);
        ready = 1;
    }
    uint8_t t_seed[32] = {1}, p_seed[32] = {2};
    sc_session_config tc = {t_pk, t_sk, SECRET, "target", t_seed, 3};
    sc_session_config pc = {p_pk, p_sk, SECRET, "peer", p_seed, 4};
    fz *f = calloc(1, sizeof *f);
    g_f = f;
    f->t = f->tp.s = sc_session_new(&tc);
    f->p = f->pp.s = sc_session_new(&pc);
    f->tp.pk = t_pk;
    f->pp.pk = p_pk;
    FUZZ_ASSERT(f->t && f->p);
    f->now = 1000000;
    f->t_id = 5;
    uint8_t w[32];
    size_t wn = sc_env_encode_welcome(w, sizeof w, P_ID, 65536, NULL, 0);
    sc_session_receive(f->p, w, wn, f->now);
    drain(f->p);
    welcome_t(f);
    const uint8_t *d = data;
    size_t n = size;
    for (int ops = 0; n && ops < 512; ops++) {
        uint8_t op = take(&d, &n);
        run_op(f, op, &d, &n);
    }
    sc_session_free(f->t);
    sc_session_free(f->p);
    free(f);
    return 0;
}
