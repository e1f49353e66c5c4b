#include "wc_api.h"

#include <qrencode.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sc_identity.h"
#include "sc_invite.h"
#include "sc_rng.h"
#include "sc_session.h"
#include "wc_json.h"

struct wc_room {
    sc_session *s;
    char ws_url[SC_INVITE_MAX_URL];
    char link[SC_INVITE_MAX_URL];
    char room_id[SC_INVITE_ROOM_ID_CHARS + 1];
    char member_id[24];
    char safety[SC_IDENTITY_SAFETY_CHARS + 1];
    size_t out_len;
    wc_json json;
};

int wc_init(void) { return sodium_init() < 0 ? -1 : 0; }

void wc_free_buf(void *p) { free(p); }

int wc_identity_generate(uint8_t *pk, uint8_t *sk)
{
    sc_rng rng;
    sc_rng_init(&rng);
    int rc = sc_identity_generate(&rng, pk, sk);
    sc_rng_wipe(&rng);
    return rc;
}

int wc_identity_check(const uint8_t *pk, const uint8_t *sk) { return sc_identity_check(pk, sk); }

void wc_identity_fingerprint(const uint8_t *pk, char *out31)
{
    sc_identity_fingerprint(pk, out31);
}

size_t wc_identity_pkbytes(void) { return SC_IDENTITY_PK_BYTES; }
size_t wc_identity_skbytes(void) { return SC_IDENTITY_SK_BYTES; }

int wc_invite_new(const char *base, char *out, size_t cap)
{
    uint8_t secret[SC_INVITE_SECRET_BYTES];
    sc_rng rng;
    sc_rng_init(&rng);
    sc_invite_new_secret(&rng, secret);
    int rc = sc_invite_format(base, secret, out, cap);
    sodium_memzero(secret, sizeof secret);
    sc_rng_wipe(&rng);
    return rc;
}

int wc_invite_check(const char *link)
{
    uint8_t secret[SC_INVITE_SECRET_BYTES];
    char base[SC_INVITE_MAX_URL];
    int rc = sc_invite_parse(link, secret, base, sizeof base);
    sodium_memzero(secret, sizeof secret);
    return rc;
}

const char *wc_invite_strerror(int err) { return sc_invite_strerror(err); }

size_t wc_invite_max_url(void) { return SC_INVITE_MAX_URL; }

uint8_t *wc_qr_encode(const char *text)
{
    QRcode *qr = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M);
    if (!qr)
        return NULL;
    size_t w = (size_t)qr->width;
    uint8_t *out = malloc(4 + w * w);
    if (out) {
        out[0] = (uint8_t)w;
        out[1] = (uint8_t)(w >> 8);
        out[2] = 0;
        out[3] = 0;
        for (size_t i = 0; i < w * w; i++)
            out[4 + i] = qr->data[i] & 1;
    }
    QRcode_free(qr);
    return out;
}

const char *wc_room_error(int err)
{
    switch (err) {
    case WC_E_SESSION:
        return "the display name is longer than 64 bytes, or the stored identity key is "
               "damaged";
    case WC_E_NOMEM:
        return "out of memory";
    default:
        return sc_invite_strerror(err);
    }
}

wc_room *wc_room_open(const char *link, const char *name, const uint8_t *pk, const uint8_t *sk,
                      int *err)
{
    uint8_t secret[SC_INVITE_SECRET_BYTES];
    char base[SC_INVITE_MAX_URL];
    wc_room *r = NULL;
    int rc = sc_invite_parse(link, secret, base, sizeof base);
    if (rc < 0)
        goto fail;
    rc = WC_E_NOMEM;
    r = calloc(1, sizeof *r);
    if (!r)
        goto fail;
    rc = sc_invite_ws_url(base, secret, r->ws_url, sizeof r->ws_url);
    if (rc < 0)
        goto fail;
    rc = sc_invite_format(base, secret, r->link, sizeof r->link);
    if (rc < 0)
        goto fail;
    sc_session_config cfg = {
        .identity_pk = pk, .identity_sk = sk, .room_secret = secret, .name = name};
    r->s = sc_session_new(&cfg);
    if (!r->s) {
        rc = WC_E_SESSION;
        goto fail;
    }
    snprintf(r->room_id, sizeof r->room_id, "%s", sc_session_room_id(r->s));
    sodium_memzero(secret, sizeof secret);
    *err = 0;
    return r;
fail:
    sodium_memzero(secret, sizeof secret);
    wc_room_close(r);
    *err = rc;
    return NULL;
}

void wc_room_close(wc_room *r)
{
    if (!r)
        return;
    sc_session_free(r->s);
    wc_json_free(&r->json);
    sodium_memzero(r, sizeof *r); /* the link holds the room secret */
    free(r);
}

const char *wc_room_ws_url(const wc_room *r) { return r->ws_url; }
const char *wc_room_id(const wc_room *r) { return r->room_id; }
const char *wc_room_link(const wc_room *r) { return r->link; }

/* Member ids cross to JavaScript as 16 hex digits, as the CLI prints them. */
static void member_hex(char out[17], uint64_t id) { snprintf(out, 17, "%016llx", (unsigned long long)id); }

static uint64_t ms(double now_ms) { return now_ms > 0 ? (uint64_t)now_ms : 0; }

int wc_room_receive(wc_room *r, const uint8_t *msg, size_t len, double now_ms)
{
    return sc_session_receive(r->s, msg, len, ms(now_ms));
}

int wc_room_send(wc_room *r, const uint8_t *text, size_t len, double now_ms, char *id_out17)
{
    uint64_t id = 0;
    if (sc_session_send(r->s, text, len, ms(now_ms), &id) < 0)
        return -1;
    snprintf(id_out17, 17, "%016llx", (unsigned long long)id);
    return 0;
}

void wc_room_tick(wc_room *r, double now_ms) { sc_session_tick(r->s, ms(now_ms)); }

double wc_room_deadline(const wc_room *r) { return (double)sc_session_deadline(r->s); }

void wc_room_disconnected(wc_room *r, double now_ms)
{
    r->out_len = 0;
    sc_session_disconnected(r->s, ms(now_ms));
}

const uint8_t *wc_room_output(wc_room *r)
{
    size_t len = 0;
    const uint8_t *p = sc_session_output(r->s, &len);
    r->out_len = p ? len : 0;
    return p;
}

size_t wc_room_output_len(const wc_room *r) { return r->out_len; }

void wc_room_output_pop(wc_room *r)
{
    r->out_len = 0;
    sc_session_output_pop(r->s);
}

static const char *event_name(enum sc_event_type t)
{
    switch (t) {
    case SC_EV_JOINED_ROOM: return "joined_room";
    case SC_EV_MEMBER_JOINED: return "member_joined";
    case SC_EV_MEMBER_AUTHENTICATED: return "member_authenticated";
    case SC_EV_HANDSHAKE_FAILED: return "handshake_failed";
    case SC_EV_MEMBER_LEFT: return "member_left";
    case SC_EV_MESSAGE: return "message";
    case SC_EV_UNDECRYPTABLE: return "undecryptable";
    case SC_EV_KEYS_ROTATED: return "keys_rotated";
    case SC_EV_PEER_KEYS: return "peer_keys";
    case SC_EV_SENT: return "sent";
    case SC_EV_CONFIRMED: return "confirmed";
    case SC_EV_RELAY_ERROR: return "relay_error";
    case SC_EV_PROTOCOL_ERROR: return "protocol_error";
    case SC_EV_WARNING: return "warning";
    case SC_EV_SEND_FAILED: return "send_failed";
    }
    return "unknown";
}

const char *wc_room_next_event(wc_room *r)
{
    sc_event ev;
    if (!sc_session_next_event(r->s, &ev))
        return NULL;
    char id[17], member[17];
    snprintf(id, sizeof id, "%016llx", (unsigned long long)ev.msg_id);
    member_hex(member, ev.member);
    wc_json *j = &r->json;
    wc_json_reset(j);
    wc_json_object(j, NULL);
    wc_json_str(j, "type", event_name(ev.type));
    wc_json_str(j, "member", member);
    wc_json_str(j, "msg_id", id);
    wc_json_num(j, "time_ms", (double)ev.time_ms);
    wc_json_num(j, "count", ev.count);
    wc_json_num(j, "code", ev.code);
    wc_json_hex(j, "identity", ev.identity, SC_IDENTITY_PK_BYTES);
    wc_json_str(j, "name", ev.name);
    wc_json_str(j, "fingerprint", ev.fingerprint);
    wc_json_strn(j, "text", ev.text ? ev.text : (const uint8_t *)"", ev.text ? ev.text_len : 0);
    wc_json_str(j, "reason", ev.reason);
    wc_json_close(j, '}');
    const char *out = wc_json_result(j);
    return out ? out : "{\"type\":\"glue_error\",\"reason\":\"out of memory\"}";
}

const char *wc_room_member_id(wc_room *r)
{
    member_hex(r->member_id, sc_session_member_id(r->s));
    return r->member_id;
}

size_t wc_room_outbox_len(const wc_room *r) { return sc_session_outbox_len(r->s); }

int wc_room_connected(const wc_room *r) { return sc_session_connected(r->s); }

const char *wc_room_members(wc_room *r)
{
    uint64_t ids[SC_SESSION_MAX_MEMBERS];
    size_t n = sc_session_members(r->s, ids, SC_SESSION_MAX_MEMBERS);
    if (n > SC_SESSION_MAX_MEMBERS)
        n = SC_SESSION_MAX_MEMBERS;
    wc_json *j = &r->json;
    wc_json_reset(j);
    wc_json_array(j, NULL);
    for (size_t i = 0; i < n; i++) {
        char id[17];
        member_hex(id, ids[i]);
        wc_json_object(j, NULL);
        wc_json_str(j, "id", id);
        wc_json_str(j, "name", sc_session_member_name(r->s, ids[i]));
        wc_json_hex(j, "identity", sc_session_member_identity(r->s, ids[i]),
                    SC_IDENTITY_PK_BYTES);
        wc_json_close(j, '}');
    }
    wc_json_close(j, ']');
    const char *out = wc_json_result(j);
    return out ? out : "[]";
}

const char *wc_room_safety_number(wc_room *r, const char *member)
{
    char *end = NULL;
    unsigned long long id = strtoull(member, &end, 16);
    if (strlen(member) != 16 || *end || !id)
        return NULL;
    if (sc_session_safety_number(r->s, (uint64_t)id, r->safety, sizeof r->safety) < 0)
        return NULL;
    return r->safety;
}

size_t wc_room_max_text(void) { return SC_SESSION_MAX_TEXT; }
