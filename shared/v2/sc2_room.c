/*
 * sc2_room: see sc2_room.h. Layout of this file: small containers (events, output,
 * outbox, remembered identities), then the MLS-side helpers (member lists, our
 * speculative commit), then the relay-side state machine (CHALLENGE .. LIVE), then the
 * outbox pump, then export/import.
 *
 * Our commits are speculative: the live group g never holds a pending commit. To commit
 * we clone g (export/import), commit and merge on the clone ("spec"), and take the new
 * epoch's GroupInfo and rotated link from it, since SUBMIT must carry both. When the log
 * shows our commit (byte for byte) the clone replaces g; when another commit wins, or the
 * relay refuses ours, the clone is dropped and the action re-issued on the new epoch. So
 * g can always be exported and always processes the log in order.
 */
#include "sc2_room.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "mls_alloc.h"
#include "mls_err.h"
#include "sc2_envelope.h"
#include "sc2_loghash.h"

#define KEYB SC2_ROOM_SIG_PUB_BYTES
#define PT_TEXT 1u
#define PT_LEAVE 2u
#define MAX_SUBMIT_TRIES 8u

enum ob_kind { OB_TEXT = 1, OB_LEAVE = 2, OB_UPDATE = 3, OB_REMOVE = 4 };

typedef struct ob_entry {
    uint64_t token;        /* the user's handle */
    uint64_t wire;         /* SUBMIT token of the latest submission (0: none on this conn) */
    uint8_t kind;
    uint8_t inflight;
    uint8_t tries;         /* refusals that did not move us on (see on_rejected) */
    uint8_t automatic;     /* REMOVE queued for a member who asked to leave, not by the user */
    mls_bytes body;        /* TEXT/LEAVE: the plaintext (kind byte included) */
    uint8_t target[KEYB];  /* REMOVE: identity key */
    mls_bytes ct;          /* TEXT/LEAVE: the MLS message for ct_epoch */
    uint64_t ct_epoch;
    uint64_t accepted_seq; /* ACCEPTED at this seq; kept until the LOG entry is seen */
    uint64_t min_epoch;    /* not (re)submitted before the group reaches it */
} ob_entry;

typedef struct ev_item {
    sc2_room_event ev;
    char name[SC2_ROOM_MAX_NAME + 1];
    char by_name[SC2_ROOM_MAX_NAME + 1];
    uint8_t id[KEYB], by_id[KEYB];
    int has_id, has_by;
    uint8_t *text;
    size_t text_len;
    char reason[160];
} ev_item;

typedef struct known_id {
    char name[SC2_ROOM_MAX_NAME + 1];
    uint8_t key[KEYB];
} known_id;

typedef struct mem_snap {
    uint32_t leaf;
    uint8_t key[KEYB];
    char name[SC2_ROOM_MAX_NAME + 1];
} mem_snap;

struct sc2_room {
    mls_rng *rng;
    uint8_t seed[32];
    uint8_t sig_pub[KEYB];
    char name[SC2_ROOM_MAX_NAME + 1];
    uint8_t room_id[SC2_ROOM_ID_BYTES];
    uint8_t link[SC2_LINK_SECRET_BYTES];
    uint8_t join_pk[SC2_LINK_JOIN_PK_BYTES];

    mls_group *g;      /* NULL until our join was accepted */
    sc2_loghash lh;    /* the chain of g's log */
    int created;       /* creator: the relay has the room */
    int create_verify; /* creator: 1 = ERROR ROOM_EXISTS after our CREATE: check the relay's
                          GroupInfo is ours before using the room; 2 = checked */
    int join_sent;     /* an external commit of ours was submitted: it may be in the group */
    int dead;
    int lost;          /* this relay refused the room for good (not exported) */

    /* joining (first join, or rejoin after GONE / a commit we could not follow) */
    int joining;
    sc2_loghash join_lh;    /* anchored at the GI's seq */
    uint64_t join_gi_seq;
    int join_anchored;
    unsigned join_tries;
    uint64_t lost_from;     /* rejoin: first seq we will never see; 0 none */
    int lost_cause;         /* why (LOST_*; not exported: LOST_UNKNOWN after an import) */

    /* our speculative commit (or external commit) */
    mls_group *spec;
    mls_bytes spec_commit, spec_gibox;
    uint8_t spec_link[SC2_LINK_SECRET_BYTES];
    int spec_rotates;
    uint64_t spec_token;    /* outbox token (0 for a join) */
    uint64_t spec_wire;
    uint64_t spec_base_epoch;
    int spec_inflight;

    /* the connection */
    enum sc2_room_state state;
    uint8_t nonce[SC2_NONCE_BYTES];
    uint32_t max_payload;
    size_t size_cap;   /* learned from ERROR TOO_LARGE: submissions must be smaller */
    uint8_t conn_pk[SC2_LINK_JOIN_PK_BYTES];
    int conn_authed;
    int conn_resumed;  /* RESUME sent on this connection (a second one is BAD_STATE) */

    ob_entry *ob;
    size_t n_ob, cap_ob;
    uint64_t next_token, next_wire;

    known_id *known;
    size_t n_known, cap_known;
    uint8_t (*leaving)[KEYB]; /* members that asked to leave and whose removal we queued */
    size_t n_leaving, cap_leaving;

    mls_bytes *out;
    size_t n_out, cap_out, out_head;

    ev_item *evq;
    size_t n_ev, cap_ev, ev_head;
    ev_item cur; /* the event last returned */
};

/* ---------------------------------------------------------------- small helpers */

static int grow(void **arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : 8;
    void *p = mls_realloc(*arr, *cap * elem, nc * elem);
    if (!p)
        return -1;
    *arr = p;
    *cap = nc;
    return 0;
}

static int utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        size_t k;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            k = 1;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            k = 2;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            k = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (k >= n - i)
            return 0;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + j] & 0x3F);
        }
        if ((k == 1 && cp < 0x80) || (k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += k + 1;
    }
    return 1;
}

static int name_valid(const char *name)
{
    if (!name)
        return 0;
    size_t n = strlen(name);
    if (n == 0 || n > SC2_ROOM_MAX_NAME || !utf8_valid((const uint8_t *)name, n))
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((uint8_t)name[i] < 0x20 || name[i] == 0x7f)
            return 0;
    return 1;
}

/* A received identity (PROTOCOL.md 8.3) as a name: the bytes if they are a valid display
 * name (1..64 bytes of UTF-8, no byte < 0x20 (so no NUL) and no 0x7f), else "" (which no
 * valid name is): never a cut or cleaned copy, so "alice\0x", "alice\n..." or a long name
 * cannot show as, or be remembered as, another member's name. The member itself is not
 * refused: its leaf is as valid to MLS as any, and refusing it would let one member make
 * every commit after it unreadable for all. Returns 1 if the name is valid. */
static int copy_name(char dst[SC2_ROOM_MAX_NAME + 1], const uint8_t *p, size_t n)
{
    dst[0] = 0;
    if (!p || n == 0 || n > SC2_ROOM_MAX_NAME || !utf8_valid(p, n))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (p[i] < 0x20 || p[i] == 0x7f)
            return 0;
    memcpy(dst, p, n);
    dst[n] = 0;
    return 1;
}

static uint64_t mls_now(uint64_t now_ms) { return now_ms / 1000u; }

/* ---------------------------------------------------------------- events */

static ev_item *ev_push(sc2_room *r, enum sc2_room_event_type t)
{
    if (grow((void **)&r->evq, &r->cap_ev, r->n_ev, sizeof *r->evq))
        return NULL; /* out of memory: the event is lost, nothing else is */
    ev_item *e = &r->evq[r->n_ev++];
    memset(e, 0, sizeof *e);
    e->ev.type = t;
    return e;
}

static void ev_reason(ev_item *e, const char *a, const char *b)
{
    if (!e)
        return;
    int n = snprintf(e->reason, sizeof e->reason, "%s%s%s", a, b ? ": " : "", b ? b : "");
    if (n >= (int)sizeof e->reason && sizeof e->reason > 4) /* cut: say so */
        memcpy(e->reason + sizeof e->reason - 4, "...", 4);
}

static void ev_who(ev_item *e, const char *name, const uint8_t *key)
{
    if (!e)
        return;
    snprintf(e->name, sizeof e->name, "%s", name ? name : "");
    if (key) {
        memcpy(e->id, key, KEYB);
        e->has_id = 1;
    }
}

static void ev_by(ev_item *e, const char *name, const uint8_t *key)
{
    if (!e)
        return;
    snprintf(e->by_name, sizeof e->by_name, "%s", name ? name : "");
    if (key) {
        memcpy(e->by_id, key, KEYB);
        e->has_by = 1;
    }
}

static void ev_simple(sc2_room *r, enum sc2_room_event_type t, uint64_t seq, const char *why,
                      const char *detail)
{
    ev_item *e = ev_push(r, t);
    if (!e)
        return;
    e->ev.seq = seq;
    ev_reason(e, why, detail);
}

static void ev_item_clear(ev_item *e)
{
    if (e->text)
        mls_free(e->text, e->text_len);
    memset(e, 0, sizeof *e);
}

int sc2_room_next_event(sc2_room *r, sc2_room_event *ev)
{
    ev_item_clear(&r->cur);
    if (r->ev_head == r->n_ev) {
        r->ev_head = r->n_ev = 0;
        memset(ev, 0, sizeof *ev);
        return 0;
    }
    r->cur = r->evq[r->ev_head];
    memset(&r->evq[r->ev_head], 0, sizeof r->evq[r->ev_head]);
    r->ev_head++;
    ev_item *c = &r->cur;
    *ev = c->ev;
    ev->name = c->name;
    ev->by_name = c->by_name;
    ev->identity = c->has_id ? c->id : NULL;
    ev->by_identity = c->has_by ? c->by_id : NULL;
    ev->text = c->text;
    ev->text_len = c->text_len;
    ev->reason = c->reason;
    return 1;
}

/* ---------------------------------------------------------------- output */

static int out_push(sc2_room *r, const uint8_t *p, size_t n)
{
    if (n == 0)
        return -1;
    if (grow((void **)&r->out, &r->cap_out, r->n_out, sizeof *r->out))
        return -1;
    memset(&r->out[r->n_out], 0, sizeof r->out[r->n_out]);
    if (mls_bytes_set(&r->out[r->n_out], p, n))
        return -1;
    r->n_out++;
    return 0;
}

static void out_clear(sc2_room *r)
{
    for (size_t i = r->out_head; i < r->n_out; i++)
        mls_bytes_free(&r->out[i]);
    r->n_out = r->out_head = 0;
}

const uint8_t *sc2_room_output(sc2_room *r, size_t *len)
{
    if (r->out_head == r->n_out) {
        *len = 0;
        return NULL;
    }
    *len = r->out[r->out_head].len;
    return r->out[r->out_head].p;
}

void sc2_room_output_pop(sc2_room *r)
{
    if (r->out_head == r->n_out)
        return;
    mls_bytes_free(&r->out[r->out_head++]);
    if (r->out_head == r->n_out)
        r->n_out = r->out_head = 0;
}

static int send_auth(sc2_room *r)
{
    uint8_t sig[SC2_SIG_BYTES], env[SC2_ENV_HEADER_BYTES + 96];
    sc2_link_auth_sign(r->link, r->room_id, r->nonce, r->conn_pk, sig);
    size_t n = sc2_env_encode_auth(env, sizeof env, r->conn_pk, sig);
    r->conn_authed = 1;
    return out_push(r, env, n);
}

static int send_fixed(sc2_room *r, size_t n, const uint8_t *env) { return out_push(r, env, n); }

static int send_resume(sc2_room *r, uint64_t after)
{
    uint8_t env[SC2_ENV_HEADER_BYTES + 8];
    r->conn_resumed = 1;
    return send_fixed(r, sc2_env_encode_resume(env, sizeof env, after), env);
}

static int send_get_gi(sc2_room *r)
{
    uint8_t env[SC2_ENV_HEADER_BYTES];
    return send_fixed(r, sc2_env_encode_get_gi(env, sizeof env), env);
}

/* SUBMIT; returns 0, -1 (memory), -2 (larger than the relay's max_payload). */
static int send_submit(sc2_room *r, uint64_t wire, const mls_bytes *gibox,
                       const uint8_t *join_pk, const mls_bytes *mls)
{
    const uint8_t *gp = gibox ? gibox->p : NULL;
    size_t gl = gibox ? gibox->len : 0;
    size_t n = sc2_env_encode_submit(NULL, 0, wire, gp, gl, join_pk, mls->p, mls->len);
    if (n == 0)
        return -1;
    if ((r->max_payload && n > r->max_payload) || (r->size_cap && n >= r->size_cap))
        return -2;
    uint8_t *buf = mls_alloc(n);
    if (!buf)
        return -1;
    sc2_env_encode_submit(buf, n, wire, gp, gl, join_pk, mls->p, mls->len);
    int rc = out_push(r, buf, n);
    mls_free(buf, n);
    return rc;
}

/* ---------------------------------------------------------------- identities */

static void known_check(sc2_room *r, const char *name, const uint8_t key[KEYB], uint64_t seq)
{
    if (!name[0])
        return; /* no valid name (8.3): nothing to keep continuous */
    for (size_t i = 0; i < r->n_known; i++) {
        if (strcmp(r->known[i].name, name) != 0)
            continue;
        if (sodium_memcmp(r->known[i].key, key, KEYB) == 0)
            return;
        ev_item *e = ev_push(r, SC2_EV_KEY_CHANGED);
        if (e) {
            e->ev.seq = seq;
            ev_who(e, name, key);
            ev_by(e, name, r->known[i].key);
            ev_reason(e, "this name now has another identity key than before in this room "
                         "(by_identity is the old key)", NULL);
        }
        memcpy(r->known[i].key, key, KEYB);
        return;
    }
    if (r->n_known >= SC2_ROOM_MAX_KNOWN)
        return;
    if (grow((void **)&r->known, &r->cap_known, r->n_known, sizeof *r->known))
        return;
    known_id *k = &r->known[r->n_known++];
    memset(k, 0, sizeof *k);
    snprintf(k->name, sizeof k->name, "%s", name);
    memcpy(k->key, key, KEYB);
}

static int leaving_has(const sc2_room *r, const uint8_t key[KEYB])
{
    for (size_t i = 0; i < r->n_leaving; i++)
        if (memcmp(r->leaving[i], key, KEYB) == 0)
            return 1;
    return 0;
}

static void leaving_add(sc2_room *r, const uint8_t key[KEYB])
{
    if (leaving_has(r, key) || r->n_leaving >= SC2_ROOM_MAX_KNOWN)
        return;
    if (grow((void **)&r->leaving, &r->cap_leaving, r->n_leaving, sizeof *r->leaving))
        return;
    memcpy(r->leaving[r->n_leaving++], key, KEYB);
}

/* Members of g as a snapshot (caller frees with mls_free(p, n * sizeof)). */
static mem_snap *snap_members(const mls_group *g, size_t *n)
{
    size_t c = mls_group_member_count(g);
    *n = 0;
    mem_snap *s = mls_alloc_array(c ? c : 1, sizeof *s);
    if (!s)
        return NULL;
    for (size_t i = 0; i < c; i++) {
        mls_member m;
        if (mls_group_member(g, i, &m) || m.sig_pub.len != KEYB)
            continue;
        s[*n].leaf = m.leaf;
        memcpy(s[*n].key, m.sig_pub.p, KEYB);
        copy_name(s[*n].name, m.identity.p, m.identity.len);
        (*n)++;
    }
    return s;
}

static const mem_snap *snap_find_key(const mem_snap *s, size_t n, const uint8_t key[KEYB])
{
    for (size_t i = 0; i < n; i++)
        if (memcmp(s[i].key, key, KEYB) == 0)
            return &s[i];
    return NULL;
}

static const mem_snap *snap_find_leaf(const mem_snap *s, size_t n, uint32_t leaf)
{
    for (size_t i = 0; i < n; i++)
        if (s[i].leaf == leaf)
            return &s[i];
    return NULL;
}

static int find_leaf(const mls_group *g, const uint8_t key[KEYB], uint32_t *leaf)
{
    size_t c = mls_group_member_count(g);
    for (size_t i = 0; i < c; i++) {
        mls_member m;
        if (mls_group_member(g, i, &m) == 0 && m.sig_pub.len == KEYB &&
            memcmp(m.sig_pub.p, key, KEYB) == 0) {
            *leaf = m.leaf;
            return 0;
        }
    }
    return -1;
}

/* ---------------------------------------------------------------- outbox */

static void ob_entry_clear(ob_entry *e)
{
    mls_bytes_free(&e->body);
    mls_bytes_free(&e->ct);
    memset(e, 0, sizeof *e);
}

static void ob_remove_at(sc2_room *r, size_t i)
{
    ob_entry_clear(&r->ob[i]);
    memmove(&r->ob[i], &r->ob[i + 1], (r->n_ob - i - 1) * sizeof *r->ob);
    r->n_ob--;
    memset(&r->ob[r->n_ob], 0, sizeof r->ob[r->n_ob]);
}

static ob_entry *ob_find_token(sc2_room *r, uint64_t token, size_t *idx)
{
    for (size_t i = 0; i < r->n_ob; i++)
        if (r->ob[i].token == token) {
            if (idx)
                *idx = i;
            return &r->ob[i];
        }
    return NULL;
}

static ob_entry *ob_add(sc2_room *r, uint8_t kind)
{
    if (r->dead || r->lost || r->n_ob >= SC2_ROOM_MAX_OUTBOX)
        return NULL;
    if (grow((void **)&r->ob, &r->cap_ob, r->n_ob, sizeof *r->ob))
        return NULL;
    ob_entry *e = &r->ob[r->n_ob++];
    memset(e, 0, sizeof *e);
    e->kind = kind;
    e->token = ++r->next_token;
    return e;
}

static void ob_drop(sc2_room *r, size_t i, int code, const char *why)
{
    ev_item *e = ev_push(r, SC2_EV_REJECTED);
    if (e) {
        e->ev.token = r->ob[i].token;
        e->ev.code = code;
        ev_reason(e, why, NULL);
    }
    ob_remove_at(r, i);
}

static int is_commit_kind(uint8_t k) { return k == OB_UPDATE || k == OB_REMOVE; }

/* ---------------------------------------------------------------- spec (our commit) */

static void spec_free(sc2_room *r)
{
    mls_group_free(r->spec);
    r->spec = NULL;
    mls_bytes_free(&r->spec_commit);
    mls_bytes_free(&r->spec_gibox);
    sodium_memzero(r->spec_link, sizeof r->spec_link);
    r->spec_rotates = 0;
    r->spec_token = r->spec_wire = r->spec_base_epoch = 0;
    r->spec_inflight = 0;
}

/* Seals the GroupInfo of g (with tree) under link into *box. */
static int seal_gi(sc2_room *r, mls_group *g, const uint8_t link[SC2_LINK_SECRET_BYTES],
                   mls_bytes *box)
{
    mls_bytes gi = { 0 };
    int rc = -1;
    if (mls_group_group_info(g, 1, &gi))
        goto fail;
    size_t n = sc2_link_gibox_size(gi.len);
    box->p = mls_alloc(n);
    if (!box->p)
        goto fail;
    box->len = n;
    if (sc2_link_gibox_seal(link, mls_group_epoch(g), gi.p, gi.len, r->rng, box->p, n) !=
        (int)n) {
        mls_bytes_free(box);
        goto fail;
    }
    rc = 0;
fail:
    mls_bytes_free(&gi);
    return rc;
}

static mls_group *clone_group(const mls_group *g)
{
    mls_bytes st = { 0 };
    mls_group *c = NULL;
    if (mls_group_export(g, &st) == 0)
        (void)mls_group_import(&c, st.p, st.len);
    mls_bytes_free(&st);
    return c;
}

/* Builds the speculative commit of outbox entry e. Returns 0, -1 (refused by MLS: drop the
 * entry with reason *why), -2 (out of memory: keep it), 1 (nothing to do: the target is no
 * longer a member). */
static int spec_build(sc2_room *r, const ob_entry *e, uint64_t now, const char **why)
{
    mls_commit_opts o;
    mls_commit_out co;
    uint32_t leaf = 0;
    memset(&o, 0, sizeof o);
    memset(&co, 0, sizeof co);
    *why = "could not build the commit";
    if (e->kind == OB_REMOVE) {
        if (find_leaf(r->g, e->target, &leaf))
            return 1;
        o.remove = &leaf;
        o.n_remove = 1;
    } else {
        o.force_path = 1;
    }
    o.as_private = 1; /* the relay reads the clear header only (PROTOCOL.md 8.9) */
    int ret = -2; /* memory, unless an MLS refusal says otherwise */
    mls_group *c = clone_group(r->g);
    if (!c)
        return -2;
    int rc = mls_group_commit(c, &o, mls_now(now), r->rng, &co);
    if (rc == 0)
        rc = mls_group_commit_merge(c);
    if (rc) {
        *why = mls_strerror(rc);
        if (rc != MLS_E_NOMEM)
            ret = -1;
        goto fail;
    }
    r->spec_rotates = e->kind == OB_REMOVE;
    if (r->spec_rotates) {
        if (sc2_link_rotate(c, r->room_id, r->spec_link)) {
            ret = -1;
            goto fail;
        }
    } else {
        memcpy(r->spec_link, r->link, sizeof r->link);
    }
    if (seal_gi(r, c, r->spec_link, &r->spec_gibox))
        goto fail;
    r->spec_commit = co.commit;
    co.commit.p = NULL;
    co.commit.len = 0;
    mls_commit_out_free(&co);
    r->spec = c;
    r->spec_token = e->token;
    r->spec_base_epoch = mls_group_epoch(r->g);
    return 0;
fail:
    mls_commit_out_free(&co);
    mls_group_free(c);
    mls_bytes_free(&r->spec_gibox);
    sodium_memzero(r->spec_link, sizeof r->spec_link);
    r->spec_rotates = 0;
    return ret;
}

static int spec_submit(sc2_room *r)
{
    uint8_t pk[SC2_LINK_JOIN_PK_BYTES];
    if (r->spec_rotates)
        sc2_link_join_keypair(r->spec_link, pk, NULL);
    r->spec_wire = ++r->next_wire;
    int rc = send_submit(r, r->spec_wire, &r->spec_gibox, r->spec_rotates ? pk : NULL,
                         &r->spec_commit);
    if (rc == 0) {
        r->spec_inflight = 1;
        ev_item *e = ev_push(r, SC2_EV_SENT);
        if (e) {
            e->ev.token = r->spec_token;
            e->ev.epoch = r->spec_base_epoch;
        }
    }
    return rc;
}

/* ---------------------------------------------------------------- the pump */

static int ensure_auth(sc2_room *r)
{
    if (!r->conn_authed || sodium_memcmp(r->conn_pk, r->join_pk, sizeof r->join_pk) != 0) {
        if (send_auth(r)) {
            r->conn_authed = 0;
            return -1;
        }
    }
    return 0;
}

/* Memory ran out half-way: nothing is dropped; this connection is given up and the next
 * one redoes what is pending (the caller sees state BROKEN). */
static void out_of_memory(sc2_room *r)
{
    ev_simple(r, SC2_EV_PROTOCOL_ERROR, 0, "out of memory: reconnect", NULL);
    if (r->state != SC2_RS_DEAD && r->state != SC2_RS_LOST)
        r->state = SC2_RS_BROKEN;
}

/* Submits what the outbox allows now, in order: texts of the current epoch may be in
 * flight together; nothing passes a commit of ours in flight, or a text still in flight
 * for an older epoch (its rejection comes first, so order is kept). */
static void pump(sc2_room *r, uint64_t now)
{
    if (r->state != SC2_RS_LIVE || !r->g || r->joining || r->dead || r->lost)
        return;
    uint64_t ep = mls_group_epoch(r->g);
    for (size_t i = 0; i < r->n_ob;) {
        ob_entry *e = &r->ob[i];
        if (e->accepted_seq) {
            i++;
            continue;
        }
        if (is_commit_kind(e->kind)) {
            if (r->spec) {
                if (r->spec_token == e->token && !r->spec_inflight &&
                    r->spec_base_epoch == ep) {
                    int rc = ensure_auth(r) ? -1 : spec_submit(r);
                    if (rc == -2) {
                        spec_free(r);
                        ob_drop(r, i, 0, "the commit is larger than the relay accepts");
                        continue;
                    }
                    if (rc)
                        out_of_memory(r);
                }
                return;
            }
            if (ep < e->min_epoch)
                return;
            const char *why = NULL;
            int rc = spec_build(r, e, now, &why);
            if (rc == 1) {
                if (e->automatic)
                    ob_remove_at(r, i); /* someone else committed the leave: done */
                else
                    ob_drop(r, i, 0, "not a member any more");
                continue;
            }
            if (rc == -2) {
                out_of_memory(r);
                return;
            }
            if (rc < 0) {
                ob_drop(r, i, 0, why);
                continue;
            }
            rc = ensure_auth(r) ? -1 : spec_submit(r);
            if (rc == -2) {
                spec_free(r);
                ob_drop(r, i, 0, "the commit is larger than the relay accepts");
                continue;
            }
            if (rc)
                out_of_memory(r); /* the clone stays: submitted on the next connection */
            return;
        }
        /* TEXT / LEAVE */
        if (e->inflight) {
            if (e->ct_epoch != ep)
                return;
            i++;
            continue;
        }
        /* (a commit of ours in flight is always for a later entry: the loop stops there) */
        if (ep < e->min_epoch)
            return;
        if (!e->ct.p || e->ct_epoch != ep) {
            uint8_t aad[SC2_LH_AAD_BYTES];
            mls_bytes_free(&e->ct);
            sc2_lh_aad(&r->lh, aad);
            int rc = mls_group_protect(r->g, e->body.p, e->body.len, aad, sizeof aad, r->rng,
                                       &e->ct);
            if (rc == MLS_E_NOMEM) {
                out_of_memory(r);
                return;
            }
            if (rc) {
                ob_drop(r, i, rc, mls_strerror(rc));
                continue;
            }
            e->ct_epoch = ep;
        }
        if (ensure_auth(r)) {
            out_of_memory(r);
            return;
        }
        e->wire = ++r->next_wire;
        int rc = send_submit(r, e->wire, NULL, NULL, &e->ct);
        if (rc == -2) {
            ob_drop(r, i, SC2_C_TOO_LARGE, "larger than the relay accepts");
            continue;
        }
        if (rc) {
            out_of_memory(r);
            return;
        }
        e->inflight = 1;
        ev_item *ev = ev_push(r, SC2_EV_SENT);
        if (ev) {
            ev->ev.token = e->token;
            ev->ev.epoch = ep;
        }
        i++;
    }
}

/* ---------------------------------------------------------------- lifecycle */

static int room_alloc(sc2_room **out, const sc2_room_config *cfg)
{
    *out = NULL;
    if (!cfg || !cfg->sig_seed || !name_valid(cfg->name))
        return -1;
    if (sodium_init() < 0)
        return -1;
    sc2_room *r = mls_alloc(sizeof *r);
    if (!r)
        return -1;
    r->rng = cfg->rng;
    memcpy(r->seed, cfg->sig_seed, 32);
    uint8_t sk[64];
    crypto_sign_seed_keypair(r->sig_pub, sk, r->seed);
    sodium_memzero(sk, sizeof sk);
    snprintf(r->name, sizeof r->name, "%s", cfg->name);
    r->state = SC2_RS_OFFLINE;
    *out = r;
    return 0;
}

static mls_identity me_of(const sc2_room *r)
{
    mls_identity me = { (const uint8_t *)r->name, strlen(r->name), r->seed };
    return me;
}

int sc2_room_create(sc2_room **out, const sc2_room_config *cfg, uint64_t now)
{
    sc2_room *r;
    if (room_alloc(&r, cfg))
        return -1;
    sc2_link_new_room(r->rng, r->room_id, r->link);
    sc2_link_join_keypair(r->link, r->join_pk, NULL);
    mls_identity me = me_of(r);
    if (mls_group_create(&r->g, r->room_id, sizeof r->room_id, &me, NULL, 0, mls_now(now),
                         r->rng)) {
        sc2_room_free(r);
        return -1;
    }
    sc2_lh_init_genesis(&r->lh, r->room_id);
    known_check(r, r->name, r->sig_pub, 0);
    *out = r;
    return 0;
}

int sc2_room_join(sc2_room **out, const sc2_room_config *cfg, const char *link)
{
    uint8_t rid[SC2_ROOM_ID_BYTES], sec[SC2_LINK_SECRET_BYTES];
    *out = NULL;
    int rc = sc2_link_parse(link ? link : "", rid, sec, NULL, 0);
    if (rc < 0)
        return rc;
    sc2_room *r;
    if (room_alloc(&r, cfg)) {
        sodium_memzero(sec, sizeof sec);
        return -100;
    }
    memcpy(r->room_id, rid, sizeof rid);
    memcpy(r->link, sec, sizeof sec);
    sodium_memzero(sec, sizeof sec);
    sc2_link_join_keypair(r->link, r->join_pk, NULL);
    r->joining = 1;
    r->created = 1;
    *out = r;
    return 0;
}

void sc2_room_free(sc2_room *r)
{
    if (!r)
        return;
    mls_group_free(r->g);
    spec_free(r);
    for (size_t i = 0; i < r->n_ob; i++)
        ob_entry_clear(&r->ob[i]);
    mls_free(r->ob, r->cap_ob * sizeof *r->ob);
    mls_free(r->known, r->cap_known * sizeof *r->known);
    mls_free(r->leaving, r->cap_leaving * sizeof *r->leaving);
    out_clear(r);
    mls_free(r->out, r->cap_out * sizeof *r->out);
    for (size_t i = r->ev_head; i < r->n_ev; i++)
        ev_item_clear(&r->evq[i]);
    mls_free(r->evq, r->cap_ev * sizeof *r->evq);
    ev_item_clear(&r->cur);
    mls_free(r, sizeof *r); /* wipes seed, link, chain */
}

void sc2_room_connected(sc2_room *r, uint64_t now)
{
    (void)now;
    out_clear(r);
    for (size_t i = 0; i < r->n_ob; i++)
        r->ob[i].inflight = 0;
    r->spec_inflight = 0;
    r->conn_authed = 0;
    r->conn_resumed = 0;
    r->max_payload = 0;
    r->state = r->dead ? SC2_RS_DEAD : r->lost ? SC2_RS_LOST : SC2_RS_CHALLENGE;
}

void sc2_room_disconnected(sc2_room *r, uint64_t now)
{
    (void)now;
    out_clear(r);
    for (size_t i = 0; i < r->n_ob; i++)
        r->ob[i].inflight = 0;
    r->spec_inflight = 0;
    r->conn_authed = 0;
    r->conn_resumed = 0;
    r->state = r->dead ? SC2_RS_DEAD : r->lost ? SC2_RS_LOST : SC2_RS_OFFLINE;
}

static int broken(sc2_room *r, enum sc2_room_event_type t, const char *why, const char *d)
{
    ev_simple(r, t, 0, why, d);
    if (r->state != SC2_RS_DEAD && r->state != SC2_RS_LOST)
        r->state = SC2_RS_BROKEN;
    return -1;
}

static void die(sc2_room *r)
{
    r->dead = 1;
    r->state = SC2_RS_DEAD;
    out_clear(r);
}

/* This relay will never serve the room (ERROR NO_ROOM, or BAD_PROOF for a member): stop
 * for good on this room object, keep everything else (the state exports unchanged, so the
 * room can be pointed at another relay). */
static void room_lost(sc2_room *r, int code, const char *why, const char *detail)
{
    ev_item *e = ev_push(r, SC2_EV_ROOM_LOST);
    if (e) {
        e->ev.code = code;
        ev_reason(e, why, detail);
    }
    r->lost = 1;
    r->state = SC2_RS_LOST;
    out_clear(r);
}

static void join_failed(sc2_room *r, const char *why, const char *detail)
{
    ev_simple(r, SC2_EV_JOIN_FAILED, 0, why, detail);
    spec_free(r);
    die(r);
}

enum { LOST_UNKNOWN = 0, LOST_RETENTION, LOST_COMMIT };

/* Start (again) to join by external commit: on this connection if it may, else on the
 * next. resync: we were a member (GONE: cause LOST_RETENTION, or a commit we could not
 * follow: LOST_COMMIT). */
static void start_rejoin(sc2_room *r, uint64_t lost_from, int cause)
{
    if (!r->joining) {
        r->joining = 1;
        r->join_tries = 0;
        r->lost_from = lost_from;
        r->lost_cause = cause;
    }
    r->join_anchored = 0;
    spec_free(r);
}

/* ---------------------------------------------------------------- applying the log */

/* Events for what a commit changed (old -> r->g), the link check, and the epoch. */
static void commit_effects(sc2_room *r, const mem_snap *old, size_t n_old, uint64_t seq,
                           const sc2_env *env, uint32_t committer_leaf, int external)
{
    size_t n_new = 0;
    mem_snap *nw = snap_members(r->g, &n_new);
    const mem_snap *by = nw ? snap_find_leaf(nw, n_new, committer_leaf) : NULL;
    int removed_any = 0;
    uint32_t leaf;
    /* whether the commit rotates is state, not an event: decided without allocating */
    for (size_t i = 0; i < n_old; i++)
        if (find_leaf(r->g, old[i].key, &leaf))
            removed_any = 1;
    for (size_t i = 0; nw && i < n_old; i++) {
        const mem_snap *o = &old[i];
        const mem_snap *same = snap_find_leaf(nw, n_new, o->leaf);
        if (same && memcmp(same->key, o->key, KEYB) == 0)
            continue;
        if (snap_find_key(nw, n_new, o->key))
            continue; /* resync: the same identity under a new leaf */
        ev_item *e = ev_push(r, SC2_EV_MEMBER_REMOVED);
        if (e) {
            e->ev.seq = seq;
            e->ev.self = leaving_has(r, o->key);
            ev_who(e, o->name, o->key);
            ev_by(e, by ? by->name : "", by ? by->key : NULL);
        }
    }
    for (size_t i = 0; nw && i < n_new; i++) {
        const mem_snap *n = &nw[i];
        const mem_snap *same = snap_find_leaf(old, n_old, n->leaf);
        /* a resync may reuse the leaf it frees: the external committer always joined */
        int rejoined = external && n->leaf == committer_leaf;
        if (same && memcmp(same->key, n->key, KEYB) == 0 && !rejoined)
            continue;
        ev_item *e = ev_push(r, SC2_EV_MEMBER_JOINED);
        if (e) {
            e->ev.seq = seq;
            e->ev.resync = snap_find_key(old, n_old, n->key) != NULL;
            ev_who(e, n->name, n->key);
            if (!n->name[0])
                ev_reason(e, "its display name is not valid (controls, NUL, not UTF-8 or "
                             "over 64 bytes): shown without a name; tell it apart by its "
                             "identity key", NULL);
        }
        known_check(r, n->name, n->key, seq);
    }
    uint8_t has_pk = env->flags & SC2_LOG_F_JOIN_PK;
    if (removed_any) {
        uint8_t nl[SC2_LINK_SECRET_BYTES], pk[SC2_LINK_JOIN_PK_BYTES];
        if (sc2_link_rotate(r->g, r->room_id, nl) == 0) {
            sc2_link_join_keypair(nl, pk, NULL);
            if (!has_pk || sodium_memcmp(env->join_pk, pk, sizeof pk) != 0)
                ev_simple(r, SC2_EV_LINK_MISMATCH, seq,
                          "the removal's join key is not the one the group derives: the "
                          "committer or the relay cheated; the old link may still admit",
                          NULL);
            memcpy(r->link, nl, sizeof nl);
            memcpy(r->join_pk, pk, sizeof pk);
            ev_simple(r, SC2_EV_LINK_ROTATED, seq, "a member was removed: the link changed",
                      NULL);
        }
        sodium_memzero(nl, sizeof nl);
    } else if (has_pk) {
        ev_simple(r, SC2_EV_LINK_MISMATCH, seq,
                  "a commit that removed nobody carried a new join key (ignored)", NULL);
    }
    ev_item *e = ev_push(r, SC2_EV_EPOCH);
    if (e) {
        e->ev.seq = seq;
        e->ev.epoch = mls_group_epoch(r->g);
        ev_by(e, by ? by->name : "", by ? by->key : NULL);
    }
    mls_free(nw, (n_new ? n_new : 1) * sizeof *nw);
}

/* Our own commit came back: the clone becomes the group. */
static void adopt_spec(sc2_room *r, uint64_t seq, const sc2_env *env)
{
    size_t n_old = 0;
    mem_snap *old = snap_members(r->g, &n_old);
    uint64_t token = r->spec_token;
    mls_group_free(r->g);
    r->g = r->spec;
    r->spec = NULL;
    uint32_t me = mls_group_own_leaf(r->g);
    int rot = r->spec_rotates;
    uint8_t link[SC2_LINK_SECRET_BYTES];
    memcpy(link, r->spec_link, sizeof link);
    spec_free(r);
    size_t i;
    if (ob_find_token(r, token, &i)) {
        if (!r->ob[i].accepted_seq) {
            ev_item *e = ev_push(r, SC2_EV_ACCEPTED);
            if (e) {
                e->ev.token = token;
                e->ev.seq = seq;
            }
        }
        ob_remove_at(r, i);
    }
    if (old) {
        commit_effects(r, old, n_old, seq, env, me, 0);
    } else if (rot) { /* no memory for the events; the link must still move on */
        memcpy(r->link, link, sizeof link);
        sc2_link_join_keypair(r->link, r->join_pk, NULL);
    }
    sodium_memzero(link, sizeof link);
    mls_free(old, (n_old ? n_old : 1) * sizeof *old);
}

/* Our external commit came back: we are a member from seq on. */
static void adopt_join(sc2_room *r, uint64_t seq)
{
    mls_group_free(r->g);
    r->g = r->spec;
    r->spec = NULL;
    spec_free(r);
    r->lh = r->join_lh;
    r->joining = 0;
    r->join_anchored = 0;
    ev_item *e = ev_push(r, SC2_EV_JOINED);
    if (e) {
        e->ev.seq = seq;
        e->ev.epoch = mls_group_epoch(r->g);
    }
    if (r->state == SC2_RS_JOINING) {
        /* this connection was live already (we joined again after LIVE) */
        r->state = SC2_RS_LIVE;
        ev_simple(r, SC2_EV_LIVE, seq, "", NULL);
    }
    if (r->lost_from && seq > r->lost_from) {
        e = ev_push(r, SC2_EV_HISTORY_LOST);
        if (e) {
            e->ev.seq = r->lost_from;
            e->ev.seq2 = seq - 1;
            ev_reason(e,
                      r->lost_cause == LOST_RETENTION
                          ? "the relay no longer kept these messages (retention) when we came back"
                      : r->lost_cause == LOST_COMMIT
                          ? "these messages came after a commit we could not process; we "
                            "rejoined without them"
                          : "these messages are gone for this device (the relay no longer kept "
                            "them, or they came after a commit we could not process)",
                      NULL);
        }
    }
    r->lost_from = 0;
    r->lost_cause = LOST_UNKNOWN;
    size_t n = 0;
    mem_snap *m = snap_members(r->g, &n);
    for (size_t i = 0; m && i < n; i++)
        known_check(r, m[i].name, m[i].key, seq);
    mls_free(m, (n ? n : 1) * sizeof *m);
    /* texts queued before the join (or the rejoin) go out on the new epoch; those the
     * relay had accepted are in the log we skipped (HISTORY_LOST): done */
    for (size_t i = 0; i < r->n_ob;) {
        if (r->ob[i].accepted_seq) {
            if (r->ob[i].kind == OB_LEAVE) {
                ev_simple(r, SC2_EV_LEFT, r->ob[i].accepted_seq, "you left the room", NULL);
                die(r);
            }
            ob_remove_at(r, i);
            continue;
        }
        r->ob[i].inflight = 0;
        i++;
    }
}

static void on_application(sc2_room *r, uint64_t seq, uint64_t time_ms, mls_event *mev)
{
    char name[SC2_ROOM_MAX_NAME + 1];
    uint8_t key[KEYB];
    int have_key = 0;
    mls_member m;
    copy_name(name, mev->sender_identity.p, mev->sender_identity.len);
    size_t c = mls_group_member_count(r->g);
    for (size_t i = 0; i < c; i++)
        if (mls_group_member(r->g, i, &m) == 0 && m.leaf == mev->sender_leaf &&
            m.sig_pub.len == KEYB) {
            memcpy(key, m.sig_pub.p, KEYB);
            have_key = 1;
        }
    uint64_t aseq;
    uint8_t al[SC2_LH_BYTES];
    if (sc2_lh_aad_decode(mev->aad.p, mev->aad.len, &aseq, al)) {
        ev_item *e = ev_push(r, SC2_EV_UNREADABLE);
        if (e) {
            e->ev.seq = seq;
            ev_who(e, name, have_key ? key : NULL);
            ev_reason(e, "message without a valid log reference", NULL);
        }
        return;
    }
    int ck = sc2_lh_check(&r->lh, aseq, al);
    if (ck == SC2_LH_E_FORK) {
        ev_item *e = ev_push(r, SC2_EV_FORK);
        if (e) {
            e->ev.seq = aseq;
            e->ev.seq2 = seq;
            ev_who(e, name, have_key ? key : NULL);
            ev_reason(e, "this member saw another log than we did at seq: the relay showed "
                         "you different histories", NULL);
        }
    } else if (ck == SC2_LH_E_AHEAD) {
        ev_item *e = ev_push(r, SC2_EV_UNREADABLE);
        if (e) {
            e->ev.seq = seq;
            ev_who(e, name, have_key ? key : NULL);
            ev_reason(e, "message refers to a log position after itself", NULL);
        }
        return;
    }
    if (mev->data.len >= 1 && mev->data.p[0] == PT_TEXT &&
        utf8_valid(mev->data.p + 1, mev->data.len - 1) && mev->data.len > 1) {
        ev_item *e = ev_push(r, SC2_EV_MESSAGE);
        if (!e)
            return;
        e->ev.seq = seq;
        e->ev.time_ms = time_ms;
        e->ev.epoch = mev->epoch;
        ev_who(e, name, have_key ? key : NULL);
        e->text_len = mev->data.len - 1;
        e->text = mls_alloc(e->text_len);
        if (e->text)
            memcpy(e->text, mev->data.p + 1, e->text_len);
        else
            e->text_len = 0;
        return;
    }
    if (mev->data.len == 1 && mev->data.p[0] == PT_LEAVE && have_key) {
        ev_item *e = ev_push(r, SC2_EV_MEMBER_LEAVING);
        if (e) {
            e->ev.seq = seq;
            ev_who(e, name, key);
        }
        if (!leaving_has(r, key)) {
            leaving_add(r, key);
            ob_entry *o = ob_add(r, OB_REMOVE);
            if (o) {
                memcpy(o->target, key, KEYB);
                o->automatic = 1;
            }
        }
        return;
    }
    ev_item *e = ev_push(r, SC2_EV_UNREADABLE);
    if (e) {
        e->ev.seq = seq;
        ev_who(e, name, have_key ? key : NULL);
        ev_reason(e, "not a saltchat message (bad kind or text not UTF-8)", NULL);
    }
}

/* One LOG entry, in order. */
static int on_log(sc2_room *r, const sc2_env *env, uint64_t now)
{
    sc2_loghash *L = r->joining ? &r->join_lh : &r->lh;
    if (r->joining && !r->join_anchored)
        return 0; /* nothing to chain to yet: the join re-fetches the GroupInfo */
    uint64_t head = sc2_lh_head(L, NULL);
    if (env->seq <= head) {
        ev_simple(r, SC2_EV_DUPLICATE, env->seq, "an entry we already processed came again",
                  NULL);
        return 0;
    }
    if (env->seq != head + 1) {
        ev_item *e = ev_push(r, SC2_EV_GAP);
        if (e) {
            e->ev.seq = head + 1;
            e->ev.seq2 = env->seq;
            ev_reason(e, "entries are missing: reconnecting to resume", NULL);
        }
        r->state = SC2_RS_BROKEN;
        return -1;
    }
    sc2_loghash saved = *L;
    size_t n_old = 0;
    mem_snap *old = NULL;
    if (!r->joining && (env->flags & SC2_LOG_F_COMMIT)) {
        old = snap_members(r->g, &n_old);
        if (!old)
            return broken(r, SC2_EV_PROTOCOL_ERROR, "out of memory", NULL);
    }
    if (sc2_lh_append(L, env->body, env->body_len)) {
        mls_free(old, (n_old ? n_old : 1) * sizeof *old);
        return broken(r, SC2_EV_PROTOCOL_ERROR, "a LOG entry too short", NULL);
    }
    uint64_t seq = env->seq;

    if (r->joining) {
        if (r->spec && mls_bytes_eq(env->mls, env->mls_len, r->spec_commit.p,
                                    r->spec_commit.len)) {
            adopt_join(r, seq);
        } else if (env->flags & SC2_LOG_F_COMMIT) {
            spec_free(r); /* another commit took the epoch: fetch the GroupInfo again */
            r->join_anchored = 0;
        }
        return 0;
    }
    if (r->spec && mls_bytes_eq(env->mls, env->mls_len, r->spec_commit.p, r->spec_commit.len)) {
        mls_free(old, (n_old ? n_old : 1) * sizeof *old);
        adopt_spec(r, seq, env);
        return 0;
    }
    for (size_t i = 0; i < r->n_ob; i++) {
        ob_entry *o = &r->ob[i];
        if (o->ct.p && mls_bytes_eq(env->mls, env->mls_len, o->ct.p, o->ct.len)) {
            if (!o->accepted_seq) {
                ev_item *e = ev_push(r, SC2_EV_ACCEPTED);
                if (e) {
                    e->ev.token = o->token;
                    e->ev.seq = seq;
                }
            }
            int leave = o->kind == OB_LEAVE;
            ob_remove_at(r, i);
            if (leave) {
                ev_simple(r, SC2_EV_LEFT, seq, "you left the room", NULL);
                die(r);
            }
            mls_free(old, (n_old ? n_old : 1) * sizeof *old);
            return 0;
        }
        if (o->accepted_seq == seq) {
            ev_item *e = ev_push(r, SC2_EV_FORK);
            if (e) {
                e->ev.seq = seq;
                e->ev.token = o->token;
                ev_reason(e, "the relay accepted our message at this seq but the log holds "
                             "something else there", NULL);
            }
            if (r->spec && r->spec_token == o->token)
                spec_free(r); /* our commit is not in the log: left, it held the outbox */
            ob_remove_at(r, i);
            break;
        }
    }

    mls_event mev;
    memset(&mev, 0, sizeof mev);
    int rc = mls_group_process(r->g, env->mls, env->mls_len, mls_now(now), &mev);
    if (rc == MLS_E_NOMEM) {
        /* not the entry's fault: forget we saw it, a reconnect reads it again */
        *L = saved;
        mls_free(old, (n_old ? n_old : 1) * sizeof *old);
        return broken(r, SC2_EV_PROTOCOL_ERROR, "out of memory", NULL);
    }
    if (rc) {
        ev_item *e = ev_push(r, SC2_EV_UNREADABLE);
        if (e) {
            e->ev.seq = seq;
            e->ev.code = rc;
            ev_reason(e, (env->flags & SC2_LOG_F_COMMIT)
                             ? "a commit we cannot process: rejoining the room"
                             : "cannot decrypt or verify",
                      mls_strerror(rc));
        }
        if (env->flags & SC2_LOG_F_COMMIT) {
            /* The relay moved the room to the next epoch with it: we cannot follow. */
            start_rejoin(r, seq + 1, LOST_COMMIT);
            r->state = SC2_RS_BROKEN;
            mls_free(old, (n_old ? n_old : 1) * sizeof *old);
            return -1;
        }
        mls_free(old, (n_old ? n_old : 1) * sizeof *old);
        return 0;
    }
    if (mev.kind == MLS_EV_APPLICATION) {
        on_application(r, seq, env->time_ms, &mev);
    } else if (mev.kind == MLS_EV_PROPOSAL) {
        mls_group_clear_proposals(r->g);
        ev_simple(r, SC2_EV_UNREADABLE, seq,
                  "a proposal: saltchat v2 does not use them; ignored", NULL);
    } else if (mev.kind == MLS_EV_COMMIT) {
        if (r->spec) {
            ev_item *e = ev_push(r, SC2_EV_REBASED);
            if (e) {
                e->ev.token = r->spec_token;
                e->ev.epoch = mls_group_epoch(r->g);
                e->ev.seq = seq;
            }
            spec_free(r);
        }
        if (mev.removed) {
            ev_item *e = ev_push(r, SC2_EV_REMOVED);
            if (e) {
                char by[SC2_ROOM_MAX_NAME + 1];
                copy_name(by, mev.sender_identity.p, mev.sender_identity.len);
                const mem_snap *b = old ? snap_find_leaf(old, n_old, mev.sender_leaf) : NULL;
                e->ev.seq = seq;
                ev_by(e, by, b ? b->key : NULL);
            }
            die(r);
        } else if (old) {
            /* texts in flight for the old epoch will be refused: resend on this one */
            commit_effects(r, old, n_old, seq, env, mev.sender_leaf,
                           mev.sender_kind == MLS_EV_SENDER_NEW_MEMBER_COMMIT);
        }
    }
    mls_event_free(&mev);
    mls_free(old, (n_old ? n_old : 1) * sizeof *old);
    return 0;
}

/* ---------------------------------------------------------------- relay envelopes */

static int on_challenge(sc2_room *r, const sc2_env *env)
{
    if (r->state != SC2_RS_CHALLENGE)
        return broken(r, SC2_EV_PROTOCOL_ERROR, "CHALLENGE in the middle of a connection",
                      NULL);
    memcpy(r->nonce, env->nonce, sizeof r->nonce);
    r->max_payload = env->max_payload;
    if (r->joining) {
        send_auth(r);
        if (r->spec && r->join_anchored) {
            /* an external commit of ours may have been accepted before we lost the
             * connection: read the log after its GroupInfo to find out */
            r->state = SC2_RS_RESUMING;
            return send_resume(r, r->join_gi_seq);
        }
        /* a spec kept after GONE stays: on_gi recognises its GroupInfo or drops it */
        r->join_anchored = 0;
        r->state = SC2_RS_JOINING;
        return send_get_gi(r);
    }
    if (!r->created && r->create_verify == 1) {
        /* our CREATE may have gone through on a connection we lost: AUTH and look at the
         * relay's GroupInfo before taking the room as ours (on_gi_verify) */
        send_auth(r);
        r->state = SC2_RS_JOINING;
        return send_get_gi(r);
    }
    if (!r->created && r->create_verify == 0) {
        mls_bytes box = { 0 };
        uint8_t sig[SC2_SIG_BYTES];
        if (seal_gi(r, r->g, r->link, &box))
            return broken(r, SC2_EV_PROTOCOL_ERROR, "could not seal the GroupInfo", NULL);
        sc2_link_auth_sign(r->link, r->room_id, r->nonce, r->conn_pk, sig);
        size_t n = sc2_env_encode_create(NULL, 0, r->conn_pk, sig, box.p, box.len);
        uint8_t *buf = n ? mls_alloc(n) : NULL;
        int rc = -1;
        if (buf) {
            sc2_env_encode_create(buf, n, r->conn_pk, sig, box.p, box.len);
            rc = out_push(r, buf, n);
            mls_free(buf, n);
        }
        mls_bytes_free(&box);
        if (rc)
            return broken(r, SC2_EV_PROTOCOL_ERROR, "out of memory", NULL);
        r->conn_authed = 1;
    } else {
        send_auth(r);
    }
    r->state = SC2_RS_RESUMING;
    return send_resume(r, sc2_lh_head(&r->lh, NULL));
}

/* ERROR ROOM_EXISTS answered our CREATE: the room is ours if the relay holds our key (the
 * AUTH before GET_GI passed) and its GroupInfo opens with our link and, when it is still
 * the creation's (seq 0), is the GroupInfo of our group (it is deterministic). Else the
 * relay has another room under this id (or lies): ROOM_LOST, nothing is sent there. */
static int on_gi_verify(sc2_room *r, const sc2_env *env)
{
    size_t cap = env->gi_box_len, gi_len = 0;
    uint64_t gi_epoch = 0;
    mls_bytes mine = { 0 };
    const char *why = NULL;
    uint8_t *gi = mls_alloc(cap);
    if (!gi)
        return broken(r, SC2_EV_PROTOCOL_ERROR, "out of memory", NULL);
    if (sc2_link_gibox_open(r->link, r->room_id, env->gi_box, env->gi_box_len, gi, cap, &gi_len,
                            &gi_epoch))
        why = "its GroupInfo does not open with this room's link";
    else if (env->seq == 0) {
        if (mls_group_group_info(r->g, 1, &mine)) {
            mls_free(gi, cap);
            return broken(r, SC2_EV_PROTOCOL_ERROR, "out of memory", NULL);
        }
        if (gi_epoch != 0 || !mls_bytes_eq(gi, gi_len, mine.p, mine.len))
            why = "its GroupInfo is not the one we created the room with";
    }
    mls_bytes_free(&mine);
    mls_free(gi, cap);
    if (why) {
        room_lost(r, SC2_C_ROOM_EXISTS,
                  "alert: the relay has another room under this room's id (refused our "
                  "CREATE)", why);
        return -1;
    }
    r->create_verify = 2;
    r->state = SC2_RS_RESUMING;
    return send_resume(r, sc2_lh_head(&r->lh, NULL));
}

/* The leaf of ours in the GroupInfo's tree, if any: an external commit of ours the relay
 * accepted (its answer lost, then GONE), or our leaf in a rejoin. Found by a trial join
 * (MLS parses and checks the tree); UINT32_MAX if none, or on any failure. */
static uint32_t own_leaf_in_gi(sc2_room *r, const uint8_t *gi, size_t gi_len, uint64_t now)
{
    mls_group *probe = NULL;
    mls_bytes pc = { 0 };
    uint32_t leaf = UINT32_MAX;
    mls_identity me = me_of(r);
    if (mls_group_join_external(&probe, &pc, gi, gi_len, NULL, 0, &me, UINT32_MAX,
                                mls_now(now), r->rng) == 0) {
        uint32_t fresh = mls_group_own_leaf(probe);
        size_t c = mls_group_member_count(probe);
        for (size_t i = 0; i < c; i++) {
            mls_member m;
            if (mls_group_member(probe, i, &m) == 0 && m.leaf != fresh &&
                m.sig_pub.len == KEYB && memcmp(m.sig_pub.p, r->sig_pub, KEYB) == 0)
                leaf = m.leaf;
        }
    }
    mls_bytes_free(&pc);
    mls_group_free(probe);
    return leaf;
}

static int on_gi(sc2_room *r, const sc2_env *env, uint64_t now)
{
    if (r->state == SC2_RS_JOINING && !r->joining && r->create_verify == 1 && !r->spec)
        return on_gi_verify(r, env);
    if (r->state == SC2_RS_JOINING && r->joining && r->spec && !r->spec_inflight &&
        !r->join_anchored) {
        /* after GONE with our external commit unanswered or its entries past retention:
         * the GroupInfo it carried (our gi_box, byte for byte) means the relay took it at
         * the GI's seq; we start there (one commit per join, not a second one) */
        if (mls_bytes_eq(env->gi_box, env->gi_box_len, r->spec_gibox.p, r->spec_gibox.len)) {
            sc2_lh_init_anchor(&r->join_lh, env->seq, env->log_hash);
            r->state = SC2_RS_RESUMING; /* not LIVE yet: this connection must RESUME */
            adopt_join(r, env->seq);
            return send_resume(r, env->seq);
        }
        spec_free(r);
    }
    if (r->state != SC2_RS_JOINING || !r->joining || r->spec)
        return broken(r, SC2_EV_PROTOCOL_ERROR, "a GroupInfo we did not ask for", NULL);
    size_t cap = env->gi_box_len, gi_len = 0;
    uint64_t gi_epoch = 0;
    uint8_t *gi = mls_alloc(cap);
    mls_bytes commit = { 0 };
    mls_group *ng = NULL;
    int rc = -1;
    if (!gi)
        return broken(r, SC2_EV_PROTOCOL_ERROR, "out of memory", NULL);
    int lrc = sc2_link_gibox_open(r->link, r->room_id, env->gi_box, env->gi_box_len, gi, cap,
                                  &gi_len, &gi_epoch);
    if (lrc) {
        join_failed(r, "the relay's GroupInfo does not open with this link",
                    sc2_link_strerror(lrc));
        goto fail;
    }
    if (r->g && gi_epoch < mls_group_epoch(r->g)) {
        ev_simple(r, SC2_EV_STALE_GI, env->seq,
                  "the relay served a GroupInfo older than an epoch we were in", NULL);
        if (++r->join_tries >= SC2_ROOM_JOIN_TRIES)
            join_failed(r, "the relay keeps serving an old GroupInfo", NULL);
        else
            r->state = SC2_RS_BROKEN;
        goto fail;
    }
    mls_identity me = me_of(r);
    /* resync the leaf the tree has for us: a rejoin's old leaf, or the leaf of an earlier
     * external commit of ours the relay took (else a second leaf of ours would stay) */
    uint32_t resync = r->g || r->join_sent ? own_leaf_in_gi(r, gi, gi_len, now) : UINT32_MAX;
    int mrc = mls_group_join_external(&ng, &commit, gi, gi_len, NULL, 0, &me, resync,
                                      mls_now(now), r->rng);
    if (mrc) {
        join_failed(r, "cannot join from the relay's GroupInfo", mls_strerror(mrc));
        goto fail;
    }
    if (seal_gi(r, ng, r->link, &r->spec_gibox)) {
        join_failed(r, "could not seal the new GroupInfo", NULL);
        goto fail;
    }
    r->spec = ng;
    ng = NULL;
    r->spec_commit = commit;
    commit.p = NULL;
    commit.len = 0;
    r->spec_token = 0;
    r->spec_rotates = 0;
    r->spec_base_epoch = gi_epoch;
    sc2_lh_init_anchor(&r->join_lh, env->seq, env->log_hash);
    r->join_gi_seq = env->seq;
    r->join_anchored = 1;
    r->spec_wire = ++r->next_wire;
    if (send_submit(r, r->spec_wire, &r->spec_gibox, NULL, &r->spec_commit)) {
        join_failed(r, "the join commit is larger than the relay accepts", NULL);
        goto fail;
    }
    r->spec_inflight = 1;
    r->join_sent = 1;
    rc = 0;
fail:
    mls_free(gi, cap);
    mls_bytes_free(&commit);
    mls_group_free(ng);
    return rc == 0 || r->state == SC2_RS_DEAD ? 0 : -1;
}

static int on_accepted(sc2_room *r, const sc2_env *env)
{
    if (r->spec && r->spec_inflight && env->token == r->spec_wire) {
        r->spec_inflight = 0;
        if (r->joining) {
            /* read the log from the GroupInfo on: our commit is in it at env->seq (on a
             * connection that is already live it comes as live traffic) */
            if (!r->conn_resumed) {
                r->state = SC2_RS_RESUMING;
                return send_resume(r, r->join_gi_seq);
            }
            return 0;
        }
        size_t i;
        if (ob_find_token(r, r->spec_token, &i)) {
            r->ob[i].accepted_seq = env->seq;
            ev_item *e = ev_push(r, SC2_EV_ACCEPTED);
            if (e) {
                e->ev.token = r->spec_token;
                e->ev.seq = env->seq;
            }
        }
        return 0;
    }
    for (size_t i = 0; i < r->n_ob; i++) {
        ob_entry *o = &r->ob[i];
        if (o->inflight && o->wire == env->token) {
            o->inflight = 0;
            if (sc2_lh_head(&r->lh, NULL) >= env->seq)
                return 0; /* the LOG entry came first and was recognised */
            o->accepted_seq = env->seq;
            ev_item *e = ev_push(r, SC2_EV_ACCEPTED);
            if (e) {
                e->ev.token = o->token;
                e->ev.seq = env->seq;
            }
            return 0;
        }
    }
    return 0; /* a submission from before a re-base or a reconnect */
}

static int on_rejected(sc2_room *r, const sc2_env *env)
{
    if (r->spec && r->spec_inflight && env->token == r->spec_wire) {
        r->spec_inflight = 0;
        if (r->joining) {
            spec_free(r);
            r->join_anchored = 0;
            if (env->code != SC2_C_STALE_EPOCH) {
                join_failed(r, "the relay refused our join", sc2_code_name(env->code));
                return 0;
            }
            if (++r->join_tries >= SC2_ROOM_JOIN_TRIES) {
                join_failed(r, "the room changed under every join attempt", NULL);
                return 0;
            }
            return send_get_gi(r);
        }
        size_t i;
        ob_entry *o = ob_find_token(r, r->spec_token, &i);
        uint64_t token = r->spec_token, base = r->spec_base_epoch;
        spec_free(r);
        if (!o)
            return 0;
        if (env->code == SC2_C_STALE_EPOCH || env->code == SC2_C_KEY_RETIRED) {
            if (env->code == SC2_C_KEY_RETIRED)
                r->conn_authed = 0;
            o->min_epoch = env->epoch;
            /* losing the epoch to another commit is normal; a refusal that names no newer
             * epoch than ours (or keeps calling our key retired) is not, and is bounded */
            int progress = env->code == SC2_C_STALE_EPOCH && env->epoch > base;
            if (!progress && ++o->tries >= MAX_SUBMIT_TRIES) {
                ob_drop(r, i, env->code, "the relay refused our commit too many times");
                return 0;
            }
            ev_item *e = ev_push(r, SC2_EV_REBASED);
            if (e) {
                e->ev.token = token;
                e->ev.epoch = env->epoch;
            }
        } else {
            ob_drop(r, i, env->code, sc2_code_name(env->code));
        }
        return 0;
    }
    for (size_t i = 0; i < r->n_ob; i++) {
        ob_entry *o = &r->ob[i];
        if (!(o->inflight && o->wire == env->token))
            continue;
        o->inflight = 0;
        if (env->code == SC2_C_STALE_EPOCH || env->code == SC2_C_KEY_RETIRED) {
            if (env->code == SC2_C_STALE_EPOCH)
                o->min_epoch = env->epoch;
            else
                r->conn_authed = 0;
            int progress = env->code == SC2_C_STALE_EPOCH && env->epoch > o->ct_epoch;
            if (!progress && ++o->tries >= MAX_SUBMIT_TRIES)
                ob_drop(r, i, env->code, "the relay refused it too many times");
        } else {
            ob_drop(r, i, env->code, sc2_code_name(env->code));
        }
        return 0;
    }
    return 0;
}

static size_t submit_size(const mls_bytes *gibox, const uint8_t *join_pk, const mls_bytes *m)
{
    return sc2_env_encode_submit(NULL, 0, 1, gibox ? gibox->p : NULL, gibox ? gibox->len : 0,
                                 join_pk, m->p, m->len);
}

/* ERROR TOO_LARGE names no token: the largest submission in flight is the one (we checked
 * max_payload before sending, so the relay counts differently). Drop it so a reconnect
 * does not send it again, and send nothing that large from now on. */
static void drop_largest_inflight(sc2_room *r)
{
    size_t best = 0, best_i = SIZE_MAX;
    uint8_t pk[SC2_LINK_JOIN_PK_BYTES];
    for (size_t i = 0; i < r->n_ob; i++)
        if (r->ob[i].inflight && r->ob[i].ct.p) {
            size_t n = submit_size(NULL, NULL, &r->ob[i].ct);
            if (n > best) {
                best = n;
                best_i = i;
            }
        }
    if (r->spec && r->spec_inflight) {
        if (r->spec_rotates)
            sc2_link_join_keypair(r->spec_link, pk, NULL);
        size_t n = submit_size(&r->spec_gibox, r->spec_rotates ? pk : NULL, &r->spec_commit);
        if (n > best) {
            r->size_cap = n;
            if (r->joining) {
                join_failed(r, "our join is larger than the relay accepts", NULL);
                return;
            }
            size_t i;
            uint64_t token = r->spec_token;
            spec_free(r);
            if (ob_find_token(r, token, &i))
                ob_drop(r, i, SC2_C_TOO_LARGE, "the commit is larger than the relay accepts");
            return;
        }
    }
    if (best_i != SIZE_MAX) {
        r->size_cap = best;
        ob_drop(r, best_i, SC2_C_TOO_LARGE, "larger than the relay accepts");
    }
}

static int on_error(sc2_room *r, const sc2_env *env)
{
    if (env->code == SC2_C_OLD_KEY && r->g && !r->joining &&
        (r->state == SC2_RS_RESUMING || r->state == SC2_RS_LIVE)) {
        /* the relay reads an earlier key's connection only up to the commit that replaced
         * it (PROTOCOL.md 5): we processed it, so AUTH with the link it gave us and the
         * log goes on. Our key already the current one: a SUBMIT re-AUTHed first. Not an
         * event: it is how every member that was online or away crosses a rotation. */
        if (sodium_memcmp(r->conn_pk, r->join_pk, sizeof r->join_pk) != 0 && send_auth(r)) {
            r->conn_authed = 0;
            return broken(r, SC2_EV_PROTOCOL_ERROR, "out of memory", NULL);
        }
        return 0;
    }
    char reason[SC2_ENV_MAX_REASON + 1];
    size_t n = env->reason_len < SC2_ENV_MAX_REASON ? env->reason_len : SC2_ENV_MAX_REASON;
    memcpy(reason, env->reason, n);
    reason[n] = 0;
    ev_item *e = ev_push(r, SC2_EV_RELAY_ERROR);
    if (e) {
        e->ev.code = env->code;
        if (env->code == SC2_C_BAD_PROOF && !r->joining)
            ev_reason(e, "alert: the relay refuses every key this room had (it does not know "
                         "the room, or lost it)", reason);
        else if (env->code == SC2_C_SEQ_AHEAD)
            ev_reason(e, "alert: the relay's log is shorter than what we processed (it lost "
                         "confirmed entries, or shows another log)", reason);
        else
            ev_reason(e, sc2_code_name(env->code), reason);
    }
    /* a member (we have a group) refused for good by this relay; a rejoin's BAD_PROOF /
     * OLD_KEY is about the link (join failed), not the relay */
    /* SEQ_AHEAD: the relay's log ends before what we processed (restored from an old
     * copy, or another log). Not rejoined automatically: a relay rolled back to an epoch
     * where a removed member was still in the group would bring that member back. */
    if (r->g && (env->code == SC2_C_NO_ROOM || env->code == SC2_C_SEQ_AHEAD ||
                 (env->code == SC2_C_BAD_PROOF && !r->joining))) {
        room_lost(r, env->code,
                  env->code == SC2_C_NO_ROOM
                      ? "the relay no longer has this room (it may have lost its data); ask "
                        "a member where the room is now; the history on this device is kept"
                  : env->code == SC2_C_SEQ_AHEAD
                      ? "alert: the relay lost entries it had confirmed (its log ends before "
                        "what we processed); not rejoining there; ask a member where the room "
                        "is now; the history on this device is kept"
                      : "alert: the relay knows none of this room's keys; ask a member where "
                        "the room is now; the history on this device is kept",
                  NULL);
        return -1;
    }
    if (r->joining && (env->code == SC2_C_OLD_KEY || env->code == SC2_C_BAD_PROOF ||
                       env->code == SC2_C_NO_ROOM)) {
        join_failed(r, env->code == SC2_C_NO_ROOM ? "no such room"
                       : r->g ? "the link changed while you were away (a member was removed) "
                                "and your history is gone: ask a member for the new link"
                              : "this link was revoked or is wrong",
                    sc2_code_name(env->code));
        return -1;
    }
    if (env->code == SC2_C_TOO_LARGE)
        drop_largest_inflight(r);
    if (env->code == SC2_C_ROOM_EXISTS && !r->created && r->create_verify == 0)
        r->create_verify = 1; /* maybe our earlier CREATE: check next time (on_gi_verify) */
    if (env->code == SC2_C_OLD_KEY)
        return 0; /* stays */
    if (r->state != SC2_RS_DEAD && r->state != SC2_RS_LOST)
        r->state = SC2_RS_BROKEN;
    return -1;
}

static int on_live(sc2_room *r, const sc2_env *env)
{
    if (r->state != SC2_RS_RESUMING)
        return broken(r, SC2_EV_PROTOCOL_ERROR, "LIVE without RESUME", NULL);
    if (r->joining) {
        if (!r->join_anchored || !r->spec) {
            r->join_anchored = 0;
            spec_free(r);
            r->state = SC2_RS_JOINING;
            return send_get_gi(r);
        }
        /* not in the log: submit the same external commit again */
        r->state = SC2_RS_JOINING;
        r->spec_wire = ++r->next_wire;
        if (send_submit(r, r->spec_wire, &r->spec_gibox, NULL, &r->spec_commit))
            return -1;
        r->spec_inflight = 1;
        return 0;
    }
    if (env->seq < sc2_lh_head(&r->lh, NULL))
        return broken(r, SC2_EV_PROTOCOL_ERROR,
                      "the relay's log is shorter than what we processed", NULL);
    /* an entry ACCEPTED (durable) past the head would never come: our commit waiting for
     * it would hold the outbox forever */
    for (size_t i = 0; i < r->n_ob; i++)
        if (r->ob[i].accepted_seq > env->seq)
            return broken(r, SC2_EV_PROTOCOL_ERROR,
                          "the relay's log ends before an entry it accepted for us", NULL);
    r->state = SC2_RS_LIVE;
    if (!r->created) {
        r->created = 1;
        r->create_verify = 0;
        ev_simple(r, SC2_EV_CREATED, 0, "the relay keeps the room", NULL);
    }
    ev_simple(r, SC2_EV_LIVE, env->seq, "", NULL);
    return 0;
}

static int on_gone(sc2_room *r, const sc2_env *env)
{
    /* after RESUME, or later if retention overtook a slow reader; the connection may
     * RESUME again once we rejoined */
    if (r->state != SC2_RS_RESUMING && r->state != SC2_RS_LIVE)
        return broken(r, SC2_EV_PROTOCOL_ERROR, "GONE without RESUME", NULL);
    (void)env;
    r->conn_resumed = 0;
    if (r->joining) {
        /* our external commit may be in the log past retention: if the relay's GroupInfo
         * is the one it carried, it was accepted (on_gi); so keep it unless in flight */
        if (r->spec_inflight)
            spec_free(r);
        r->join_anchored = 0;
    } else {
        start_rejoin(r, sc2_lh_head(&r->lh, NULL) + 1, LOST_RETENTION);
    }
    r->state = SC2_RS_JOINING;
    ensure_auth(r); /* a rotation we processed while live made our key an earlier one */
    return send_get_gi(r);
}

int sc2_room_receive(sc2_room *r, const uint8_t *msg, size_t len, uint64_t now)
{
    if (r->state == SC2_RS_DEAD || r->state == SC2_RS_BROKEN || r->state == SC2_RS_OFFLINE ||
        r->state == SC2_RS_LOST)
        return r->state == SC2_RS_DEAD ? 0 : -1;
    sc2_env_iter it;
    sc2_env env;
    int rc;
    /* the whole message first: nothing in a malformed one is acted on */
    sc2_env_iter_init(&it, msg, len, SC2_FROM_RELAY);
    while ((rc = sc2_env_iter_next(&it, &env)) == 1)
        if ((env.type == SC2_T_ACCEPTED || env.type == SC2_T_REJECTED) &&
            (env.token == 0 || env.token > r->next_wire))
            return broken(r, SC2_EV_PROTOCOL_ERROR, "an answer to a SUBMIT we never sent",
                          NULL);
    if (rc < 0)
        return broken(r, SC2_EV_PROTOCOL_ERROR, "malformed message from the relay",
                      sc2_env_strerror(rc));
    sc2_env_iter_init(&it, msg, len, SC2_FROM_RELAY);
    while ((rc = sc2_env_iter_next(&it, &env)) == 1) {
        int res = 0;
        switch (env.type) {
        case SC2_T_CHALLENGE: res = on_challenge(r, &env); break;
        case SC2_T_GI: res = on_gi(r, &env, now); break;
        case SC2_T_LOG:
            if (r->state != SC2_RS_RESUMING && r->state != SC2_RS_LIVE &&
                r->state != SC2_RS_JOINING)
                res = broken(r, SC2_EV_PROTOCOL_ERROR, "LOG before RESUME", NULL);
            else
                res = on_log(r, &env, now);
            break;
        case SC2_T_LIVE: res = on_live(r, &env); break;
        case SC2_T_GONE: res = on_gone(r, &env); break;
        case SC2_T_ACCEPTED: res = on_accepted(r, &env); break;
        case SC2_T_REJECTED: res = on_rejected(r, &env); break;
        case SC2_T_ERROR: res = on_error(r, &env); break;
        default: res = broken(r, SC2_EV_PROTOCOL_ERROR, "unexpected envelope", NULL);
        }
        if (r->state == SC2_RS_DEAD)
            return 0;
        if (r->state == SC2_RS_LOST)
            return -1;
        if (res < 0 || r->state == SC2_RS_BROKEN) {
            r->state = SC2_RS_BROKEN;
            return -1;
        }
        pump(r, now);
        if (r->state == SC2_RS_BROKEN)
            return -1;
    }
    if (rc < 0)
        return broken(r, SC2_EV_PROTOCOL_ERROR, "malformed message from the relay",
                      sc2_env_strerror(rc));
    return 0;
}

/* ---------------------------------------------------------------- user actions */

int sc2_room_send_text(sc2_room *r, const uint8_t *text, size_t len, uint64_t now,
                       uint64_t *token)
{
    if (!text || len == 0 || len > SC2_ROOM_MAX_TEXT || !utf8_valid(text, len))
        return -1;
    ob_entry *e = ob_add(r, OB_TEXT);
    if (!e)
        return -1;
    e->body.p = mls_alloc(len + 1);
    if (!e->body.p) {
        ob_remove_at(r, r->n_ob - 1);
        return -1;
    }
    e->body.len = len + 1;
    e->body.p[0] = PT_TEXT;
    memcpy(e->body.p + 1, text, len);
    if (token)
        *token = e->token;
    pump(r, now);
    return 0;
}

int sc2_room_update(sc2_room *r, uint64_t now, uint64_t *token)
{
    ob_entry *e = ob_add(r, OB_UPDATE);
    if (!e)
        return -1;
    if (token)
        *token = e->token;
    pump(r, now);
    return 0;
}

int sc2_room_remove(sc2_room *r, const uint8_t identity[SC2_ROOM_SIG_PUB_BYTES], uint64_t now,
                    uint64_t *token)
{
    uint32_t leaf;
    if (!identity || !r->g || memcmp(identity, r->sig_pub, KEYB) == 0 ||
        find_leaf(r->g, identity, &leaf))
        return -1;
    ob_entry *e = ob_add(r, OB_REMOVE);
    if (!e)
        return -1;
    memcpy(e->target, identity, KEYB);
    if (token)
        *token = e->token;
    pump(r, now);
    return 0;
}

int sc2_room_leave(sc2_room *r, uint64_t now, uint64_t *token)
{
    if (!r->g)
        return -1;
    ob_entry *e = ob_add(r, OB_LEAVE);
    if (!e)
        return -1;
    uint8_t k = PT_LEAVE;
    if (mls_bytes_set(&e->body, &k, 1)) {
        ob_remove_at(r, r->n_ob - 1);
        return -1;
    }
    if (token)
        *token = e->token;
    pump(r, now);
    return 0;
}

/* ---------------------------------------------------------------- queries */

enum sc2_room_state sc2_room_state(const sc2_room *r) { return r->state; }
uint64_t sc2_room_seq(const sc2_room *r) { return sc2_lh_head(&r->lh, NULL); }
uint64_t sc2_room_epoch(const sc2_room *r) { return r->g ? mls_group_epoch(r->g) : 0; }
size_t sc2_room_outbox_len(const sc2_room *r) { return r->n_ob; }
const uint8_t *sc2_room_id(const sc2_room *r) { return r->room_id; }
const uint8_t *sc2_room_identity(const sc2_room *r) { return r->sig_pub; }

int sc2_room_link(const sc2_room *r, const char *base, char *out, size_t cap)
{
    return sc2_link_format(base, r->room_id, r->link, out, cap);
}

void sc2_room_join_pk(const sc2_room *r, uint8_t out[SC2_LINK_JOIN_PK_BYTES])
{
    memcpy(out, r->join_pk, SC2_LINK_JOIN_PK_BYTES);
}

int sc2_room_epoch_authenticator(const sc2_room *r, uint8_t out[32])
{
    if (!r->g)
        return -1;
    mls_group_epoch_authenticator(r->g, out);
    return 0;
}

size_t sc2_room_member_count(const sc2_room *r)
{
    return r->g && !mls_group_is_removed(r->g) ? mls_group_member_count(r->g) : 0;
}

int sc2_room_member(const sc2_room *r, size_t i, char *name, size_t cap,
                    uint8_t identity[SC2_ROOM_SIG_PUB_BYTES])
{
    mls_member m;
    if (i >= sc2_room_member_count(r) || mls_group_member(r->g, i, &m) ||
        m.sig_pub.len != KEYB)
        return -1;
    if (name && cap) {
        char nm[SC2_ROOM_MAX_NAME + 1];
        copy_name(nm, m.identity.p, m.identity.len); /* "" if not a valid name (8.3) */
        snprintf(name, cap, "%s", nm);
    }
    if (identity)
        memcpy(identity, m.sig_pub.p, KEYB);
    return 0;
}

const char *sc2_room_event_name(enum sc2_room_event_type t)
{
    switch (t) {
    case SC2_EV_CREATED: return "created";
    case SC2_EV_JOINED: return "joined";
    case SC2_EV_LIVE: return "live";
    case SC2_EV_MESSAGE: return "message";
    case SC2_EV_SENT: return "sent";
    case SC2_EV_ACCEPTED: return "accepted";
    case SC2_EV_REJECTED: return "rejected";
    case SC2_EV_EPOCH: return "epoch";
    case SC2_EV_MEMBER_JOINED: return "member_joined";
    case SC2_EV_MEMBER_REMOVED: return "member_removed";
    case SC2_EV_MEMBER_LEAVING: return "member_leaving";
    case SC2_EV_REMOVED: return "removed";
    case SC2_EV_LEFT: return "left";
    case SC2_EV_LINK_ROTATED: return "link_rotated";
    case SC2_EV_REBASED: return "rebased";
    case SC2_EV_HISTORY_LOST: return "history_lost";
    case SC2_EV_UNREADABLE: return "unreadable";
    case SC2_EV_GAP: return "gap";
    case SC2_EV_DUPLICATE: return "duplicate";
    case SC2_EV_FORK: return "fork";
    case SC2_EV_LINK_MISMATCH: return "link_mismatch";
    case SC2_EV_KEY_CHANGED: return "key_changed";
    case SC2_EV_STALE_GI: return "stale_gi";
    case SC2_EV_JOIN_FAILED: return "join_failed";
    case SC2_EV_RELAY_ERROR: return "relay_error";
    case SC2_EV_PROTOCOL_ERROR: return "protocol_error";
    case SC2_EV_ROOM_LOST: return "room_lost";
    }
    return "unknown";
}

/* ---------------------------------------------------------------- export / import */

/*
 * "SC2R" version:u8=1, then (u32 big-endian lengths):
 *   seed(32) name<u8> room_id(16) link(32) created:u8 dead:u8
 *   (created: 0 no, 1 yes, 2 ROOM_EXISTS answered our CREATE (to check), 3 checked)
 *   joining:u8 lost_from:u64 next_token:u64 next_wire:u64
 *   loghash<u32> group<u32> (empty before the first join)
 *   spec:u8 [spec_group<u32> commit<u32> gibox<u32> spec_link(32) rotates:u8 token:u64
 *            base_epoch:u64]                     (our member commit in flight only)
 *   outbox count:u32 { token:u64 kind:u8 body<u32> target(32) ct<u32> ct_epoch:u64
 *                      accepted_seq:u64 min_epoch:u64 tries:u8 automatic:u8 }
 *   known count:u32 { name<u8> key(32) }   leaving count:u32 { key(32) }
 */
typedef struct wbuf {
    uint8_t *p;
    size_t len, cap;
    int err;
} wbuf;

static void w_put(wbuf *w, const void *src, size_t n)
{
    if (w->err)
        return;
    if (w->len + n > w->cap) {
        size_t nc = w->cap ? w->cap : 1024;
        while (nc < w->len + n)
            nc *= 2;
        uint8_t *np = mls_realloc(w->p, w->cap, nc);
        if (!np) {
            w->err = 1;
            return;
        }
        w->p = np;
        w->cap = nc;
    }
    if (n)
        memcpy(w->p + w->len, src, n);
    w->len += n;
}

static void w_u8(wbuf *w, uint8_t v) { w_put(w, &v, 1); }

static void w_u32(wbuf *w, uint32_t v)
{
    uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
    w_put(w, b, 4);
}

static void w_u64(wbuf *w, uint64_t v)
{
    w_u32(w, (uint32_t)(v >> 32));
    w_u32(w, (uint32_t)v);
}

static void w_blob(wbuf *w, const uint8_t *p, size_t n)
{
    if (n > UINT32_MAX) {
        w->err = 1;
        return;
    }
    w_u32(w, (uint32_t)n);
    w_put(w, p, n);
}

int sc2_room_export(const sc2_room *r, mls_bytes *out)
{
    wbuf w = { 0 };
    mls_bytes g = { 0 }, sg = { 0 };
    uint8_t lh[SC2_LH_EXPORT_MAX];
    int lhn;
    memset(out, 0, sizeof *out);
    if (!r->g)
        return -1;
    if (mls_group_export(r->g, &g))
        return -1;
    int spec = r->spec && !r->joining;
    if (spec && mls_group_export(r->spec, &sg))
        goto fail;
    lhn = sc2_lh_export(&r->lh, lh, sizeof lh);
    if (lhn < 0)
        goto fail;
    w_put(&w, "SC2R", 4);
    w_u8(&w, 1);
    w_put(&w, r->seed, 32);
    w_u8(&w, (uint8_t)strlen(r->name));
    w_put(&w, r->name, strlen(r->name));
    w_put(&w, r->room_id, sizeof r->room_id);
    w_put(&w, r->link, sizeof r->link);
    w_u8(&w, (uint8_t)(r->created ? 1 : r->create_verify ? 1 + r->create_verify : 0));
    w_u8(&w, (uint8_t)r->dead);
    w_u8(&w, (uint8_t)r->joining);
    w_u64(&w, r->lost_from);
    w_u64(&w, r->next_token);
    w_u64(&w, r->next_wire);
    w_blob(&w, lh, (size_t)lhn);
    w_blob(&w, g.p, g.len);
    w_u8(&w, (uint8_t)spec);
    if (spec) {
        w_blob(&w, sg.p, sg.len);
        w_blob(&w, r->spec_commit.p, r->spec_commit.len);
        w_blob(&w, r->spec_gibox.p, r->spec_gibox.len);
        w_put(&w, r->spec_link, sizeof r->spec_link);
        w_u8(&w, (uint8_t)r->spec_rotates);
        w_u64(&w, r->spec_token);
        w_u64(&w, r->spec_base_epoch);
    }
    w_u32(&w, (uint32_t)r->n_ob);
    for (size_t i = 0; i < r->n_ob; i++) {
        const ob_entry *e = &r->ob[i];
        w_u64(&w, e->token);
        w_u8(&w, e->kind);
        w_blob(&w, e->body.p, e->body.len);
        w_put(&w, e->target, KEYB);
        w_blob(&w, e->ct.p, e->ct.len);
        w_u64(&w, e->ct_epoch);
        w_u64(&w, e->accepted_seq);
        w_u64(&w, e->min_epoch);
        w_u8(&w, e->tries);
        w_u8(&w, e->automatic);
    }
    w_u32(&w, (uint32_t)r->n_known);
    for (size_t i = 0; i < r->n_known; i++) {
        w_u8(&w, (uint8_t)strlen(r->known[i].name));
        w_put(&w, r->known[i].name, strlen(r->known[i].name));
        w_put(&w, r->known[i].key, KEYB);
    }
    w_u32(&w, (uint32_t)r->n_leaving);
    for (size_t i = 0; i < r->n_leaving; i++)
        w_put(&w, r->leaving[i], KEYB);
    if (w.err)
        goto fail;
    mls_bytes_free(&g);
    mls_bytes_free(&sg);
    sodium_memzero(lh, sizeof lh);
    out->p = w.p;
    out->len = w.len;
    /* the tail of the buffer past len is zero (mls_realloc zeroes); mls_bytes_free wipes
     * len bytes, so hand back an exact-size copy */
    if (w.cap != w.len) {
        mls_bytes exact = { 0 };
        if (mls_bytes_set(&exact, w.p, w.len)) {
            mls_free(w.p, w.cap);
            memset(out, 0, sizeof *out);
            return -1;
        }
        mls_free(w.p, w.cap);
        *out = exact;
    }
    return 0;
fail:
    mls_free(w.p, w.cap);
    mls_bytes_free(&g);
    mls_bytes_free(&sg);
    sodium_memzero(lh, sizeof lh);
    return -1;
}

typedef struct rbuf {
    const uint8_t *p;
    size_t len, pos;
    int err;
} rbuf;

static const uint8_t *r_take(rbuf *b, size_t n)
{
    if (b->err || b->len - b->pos < n) {
        b->err = 1;
        return NULL;
    }
    const uint8_t *p = b->p + b->pos;
    b->pos += n;
    return p;
}

static void r_copy(rbuf *b, void *dst, size_t n)
{
    const uint8_t *p = r_take(b, n);
    if (p)
        memcpy(dst, p, n);
    else
        memset(dst, 0, n);
}

static uint8_t r_u8(rbuf *b)
{
    const uint8_t *p = r_take(b, 1);
    return p ? p[0] : 0;
}

static uint32_t r_u32(rbuf *b)
{
    const uint8_t *p = r_take(b, 4);
    return p ? ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]) : 0;
}

static uint64_t r_u64(rbuf *b)
{
    uint64_t hi = r_u32(b);
    return hi << 32 | r_u32(b);
}

static mls_slice r_blob(rbuf *b)
{
    mls_slice s = { NULL, 0 };
    uint32_t n = r_u32(b);
    s.p = r_take(b, n);
    s.len = s.p ? n : 0;
    return s;
}

int sc2_room_import(sc2_room **out, const sc2_room_config *cfg, const uint8_t *state,
                    size_t len)
{
    rbuf b = { state, len, 0, 0 };
    sc2_room *r = NULL;
    *out = NULL;
    if (!state || len < 5 || memcmp(state, "SC2R", 4) != 0 || state[4] != 1)
        return -1;
    b.pos = 5;
    if (room_alloc(&r, cfg))
        return -1;
    uint8_t seed[32];
    r_copy(&b, seed, 32);
    int same_seed = sodium_memcmp(seed, r->seed, 32) == 0;
    sodium_memzero(seed, sizeof seed);
    uint8_t nl = r_u8(&b);
    const uint8_t *np = r_take(&b, nl);
    if (!same_seed || !np || nl != strlen(r->name) || memcmp(np, r->name, nl) != 0)
        goto fail;
    r_copy(&b, r->room_id, sizeof r->room_id);
    r_copy(&b, r->link, sizeof r->link);
    sc2_link_join_keypair(r->link, r->join_pk, NULL);
    uint8_t cr = r_u8(&b);
    if (cr > 3)
        goto fail;
    r->created = cr == 1;
    r->create_verify = cr >= 2 ? cr - 1 : 0;
    r->dead = r_u8(&b) != 0;
    r->joining = r_u8(&b) != 0;
    r->lost_from = r_u64(&b);
    r->next_token = r_u64(&b);
    r->next_wire = r_u64(&b);
    mls_slice lh = r_blob(&b);
    mls_slice g = r_blob(&b);
    if (b.err || sc2_lh_import(&r->lh, lh.p, lh.len) ||
        mls_group_import(&r->g, g.p, g.len))
        goto fail;
    if (r_u8(&b)) {
        mls_slice sg = r_blob(&b), c = r_blob(&b), box = r_blob(&b);
        if (b.err || mls_group_import(&r->spec, sg.p, sg.len) ||
            mls_bytes_set(&r->spec_commit, c.p, c.len) ||
            mls_bytes_set(&r->spec_gibox, box.p, box.len))
            goto fail;
        r_copy(&b, r->spec_link, sizeof r->spec_link);
        r->spec_rotates = r_u8(&b) != 0;
        r->spec_token = r_u64(&b);
        r->spec_base_epoch = r_u64(&b);
    }
    uint32_t n = r_u32(&b);
    if (n > SC2_ROOM_MAX_OUTBOX)
        goto fail;
    for (uint32_t i = 0; i < n && !b.err; i++) {
        if (grow((void **)&r->ob, &r->cap_ob, r->n_ob, sizeof *r->ob))
            goto fail;
        ob_entry *e = &r->ob[r->n_ob++];
        memset(e, 0, sizeof *e);
        e->token = r_u64(&b);
        e->kind = r_u8(&b);
        mls_slice body = r_blob(&b);
        r_copy(&b, e->target, KEYB);
        mls_slice ct = r_blob(&b);
        e->ct_epoch = r_u64(&b);
        e->accepted_seq = r_u64(&b);
        e->min_epoch = r_u64(&b);
        e->tries = r_u8(&b);
        e->automatic = r_u8(&b) != 0;
        if (b.err || e->kind < OB_TEXT || e->kind > OB_REMOVE ||
            (body.len && mls_bytes_set(&e->body, body.p, body.len)) ||
            (ct.len && mls_bytes_set(&e->ct, ct.p, ct.len)))
            goto fail;
    }
    n = r_u32(&b);
    if (n > SC2_ROOM_MAX_KNOWN)
        goto fail;
    for (uint32_t i = 0; i < n && !b.err; i++) {
        uint8_t kl = r_u8(&b);
        const uint8_t *kp = r_take(&b, kl);
        uint8_t key[KEYB];
        r_copy(&b, key, KEYB);
        if (b.err || kl > SC2_ROOM_MAX_NAME || kl == 0)
            goto fail;
        char nm[SC2_ROOM_MAX_NAME + 1];
        copy_name(nm, kp, kl);
        known_check(r, nm, key, 0);
    }
    n = r_u32(&b);
    if (n > SC2_ROOM_MAX_KNOWN)
        goto fail;
    for (uint32_t i = 0; i < n && !b.err; i++) {
        uint8_t key[KEYB];
        r_copy(&b, key, KEYB);
        leaving_add(r, key);
    }
    if (b.err || b.pos != b.len)
        goto fail;
    /* events of the import itself (none expected) are dropped */
    for (size_t i = r->ev_head; i < r->n_ev; i++)
        ev_item_clear(&r->evq[i]);
    r->n_ev = r->ev_head = 0;
    r->state = r->dead ? SC2_RS_DEAD : SC2_RS_OFFLINE;
    *out = r;
    return 0;
fail:
    sc2_room_free(r);
    return -1;
}
