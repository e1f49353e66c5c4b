#include "sc2_link.h"
#include "sc2_be.h"

#include <sodium.h>
#include <string.h>

#include "mls_codec.h"
#include "mls_crypto.h"
#include "mls_message.h"

#define INVITE_LABEL "saltchat/v2 invite"
#define AUTH_LABEL "saltchat/v2 auth"
#define KDF_CONTEXT "sclink02"
#define KDF_ID_JOIN 1u
#define KDF_ID_GI_KEY 2u
#define FRAG_PREFIX "sc2."
#define CHECK_BYTES 4u
#define CODE_BYTES (SC2_ROOM_ID_BYTES + SC2_LINK_SECRET_BYTES + CHECK_BYTES)
#define BOX_NONCE crypto_secretbox_NONCEBYTES
#define BOX_MAC crypto_secretbox_MACBYTES
/* "#sc2." + code: what a link adds to its base */
#define LINK_TAIL (1u + sizeof FRAG_PREFIX - 1u + SC2_LINK_CODE_CHARS)
/* Longest normalized base: its link (the longest URL derived from it) must fit. */
#define MAX_BASE (SC2_LINK_MAX_URL - 1u - LINK_TAIL)
#define MLS10 1u

_Static_assert(BOX_NONCE + BOX_MAC + 8u == SC2_GIBOX_OVERHEAD, "gi_box layout");
_Static_assert(SC2_LINK_CODE_CHARS == (CODE_BYTES * 4u + 2u) / 3u, "code length");

const char *sc2_link_strerror(int err)
{
    switch (err) {
    case 0:
        return "ok";
    case SC2_LINK_E_URL:
        return "the relay address is not an http:// or https:// URL with a host (and no "
               "query): check the part of the link before '#'";
    case SC2_LINK_E_NO_FRAGMENT:
        return "the link has no '#sc2.' part: paste the whole invite link, including "
               "everything after '#'";
    case SC2_LINK_E_NOT_SALTCHAT:
        return "this is not a saltchat invite link (the part after '#' must start with "
               "'sc2.')";
    case SC2_LINK_E_OLD_VERSION:
        return "this link is for an older saltchat: ask for a new invite link";
    case SC2_LINK_E_NEW_VERSION:
        return "this link is for a newer saltchat: update saltchat to join";
    case SC2_LINK_E_ENCODING:
        return "the invite code contains characters that cannot be in it: copy the link "
               "again exactly";
    case SC2_LINK_E_LENGTH:
        return "the invite code has the wrong length (the link was cut off or has extra "
               "characters): copy the whole link again";
    case SC2_LINK_E_CHECK:
        return "the invite code's check does not match (the link was mistyped): copy the "
               "link again exactly";
    case SC2_LINK_E_SPACE:
        return "output buffer too small";
    case SC2_LINK_E_PROOF:
        return "the proof of holding the link does not verify";
    case SC2_LINK_E_BOX:
        return "the room's stored GroupInfo does not open with this link (the link was "
               "replaced after a removal, or the relay sent bad data)";
    case SC2_LINK_E_GROUPINFO:
        return "the room's stored GroupInfo is not a GroupInfo of this room";
    case SC2_LINK_E_EPOCH:
        return "the room's stored GroupInfo is inconsistent (epoch mismatch)";
    case SC2_LINK_E_ARG:
        return "invalid argument";
    case SC2_LINK_E_MLS:
        return "the MLS group cannot derive the new link (we were removed)";
    default:
        return "unknown link error";
    }
}

void sc2_link_new_room(mls_rng *rng, uint8_t room_id[SC2_ROOM_ID_BYTES],
                       uint8_t link_secret[SC2_LINK_SECRET_BYTES])
{
    mls_rng_fill(rng, room_id, SC2_ROOM_ID_BYTES);
    mls_rng_fill(rng, link_secret, SC2_LINK_SECRET_BYTES);
}

static void link_check(const uint8_t room_id[SC2_ROOM_ID_BYTES],
                       const uint8_t link_secret[SC2_LINK_SECRET_BYTES],
                       uint8_t check[CHECK_BYTES])
{
    crypto_generichash_state h;
    crypto_generichash_init(&h, NULL, 0, CHECK_BYTES);
    crypto_generichash_update(&h, (const uint8_t *)INVITE_LABEL, sizeof INVITE_LABEL - 1);
    crypto_generichash_update(&h, room_id, SC2_ROOM_ID_BYTES);
    crypto_generichash_update(&h, link_secret, SC2_LINK_SECRET_BYTES);
    crypto_generichash_final(&h, check, CHECK_BYTES);
    sodium_memzero(&h, sizeof h);
}

static int prefix_nocase(const char *s, size_t n, const char *p)
{
    size_t pn = strlen(p);
    if (n < pn)
        return 0;
    for (size_t i = 0; i < pn; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != p[i])
            return 0;
    }
    return 1;
}

/*
 * Normalizes the base URL b[0..n) into out[cap] as http(s):// (ws 0) or ws(s):// (ws 1),
 * ending in '/'. Accepts http, https, ws and wss (scheme in any case), a non-empty
 * authority without '@', and printable ASCII without '#', '?' or '\'. Returns the length
 * written (NUL added), SC2_LINK_E_URL or SC2_LINK_E_SPACE.
 */
static int norm_base(const char *b, size_t n, int ws, char *out, size_t cap)
{
    static const struct {
        const char *prefix;
        int secure;
    } schemes[] = {{"https://", 1}, {"http://", 0}, {"wss://", 1}, {"ws://", 0}};
    int secure = -1;
    size_t plen = 0;
    for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++) {
        if (prefix_nocase(b, n, schemes[i].prefix)) {
            secure = schemes[i].secure;
            plen = strlen(schemes[i].prefix);
            break;
        }
    }
    if (secure < 0)
        return SC2_LINK_E_URL;
    const char *rest = b + plen;
    size_t rn = n - plen, auth = 0;
    while (auth < rn && rest[auth] != '/')
        auth++;
    if (auth == 0)
        return SC2_LINK_E_URL;
    for (size_t i = 0; i < rn; i++) {
        char c = rest[i];
        if (c < 0x21 || c > 0x7e || c == '#' || c == '?' || c == '\\' ||
            (i < auth && c == '@'))
            return SC2_LINK_E_URL;
    }
    const char *scheme = ws ? (secure ? "wss://" : "ws://") : (secure ? "https://" : "http://");
    size_t sn = strlen(scheme), slash = rest[rn - 1] != '/';
    size_t total = sn + rn + slash;
    /* measured in its http form, so a base is accepted or refused the same way by all */
    if (total + (ws ? 2u : 0u) > MAX_BASE)
        return SC2_LINK_E_URL;
    if (total + 1 > cap)
        return SC2_LINK_E_SPACE;
    memcpy(out, scheme, sn);
    memcpy(out + sn, rest, rn);
    if (slash)
        out[sn + rn] = '/';
    out[total] = '\0';
    return (int)total;
}

int sc2_link_format(const char *base, const uint8_t room_id[SC2_ROOM_ID_BYTES],
                    const uint8_t link_secret[SC2_LINK_SECRET_BYTES], char *out, size_t cap)
{
    uint8_t code[CODE_BYTES];
    int n = norm_base(base, strlen(base), 0, out, cap);
    if (n < 0)
        return n;
    if ((size_t)n + LINK_TAIL + 1 > cap)
        return SC2_LINK_E_SPACE;
    memcpy(code, room_id, SC2_ROOM_ID_BYTES);
    memcpy(code + SC2_ROOM_ID_BYTES, link_secret, SC2_LINK_SECRET_BYTES);
    link_check(room_id, link_secret, code + SC2_ROOM_ID_BYTES + SC2_LINK_SECRET_BYTES);
    memcpy(out + n, "#" FRAG_PREFIX, 1 + sizeof FRAG_PREFIX - 1);
    sodium_bin2base64(out + n + 1 + sizeof FRAG_PREFIX - 1, SC2_LINK_CODE_CHARS + 1, code,
                      sizeof code, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(code, sizeof code);
    return n + (int)LINK_TAIL;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static int is_b64url(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_';
}

/* Reads "sc<version>." at the start of frag[0..n): returns the version (>= 0) and the
 * prefix length in *plen, or -1 if the fragment does not look like a saltchat one. */
static long frag_version(const char *frag, size_t n, size_t *plen)
{
    size_t i = 2;
    long v = 0;
    if (n < 4 || frag[0] != 's' || frag[1] != 'c')
        return -1;
    while (i < n && i < 8 && frag[i] >= '0' && frag[i] <= '9') {
        v = v * 10 + (frag[i] - '0');
        i++;
    }
    if (i == 2 || i >= n || frag[i] != '.' || (frag[2] == '0' && i > 3))
        return -1;
    *plen = i + 1;
    return v;
}

int sc2_link_parse(const char *link, uint8_t room_id[SC2_ROOM_ID_BYTES],
                   uint8_t link_secret[SC2_LINK_SECRET_BYTES], char *base_out,
                   size_t base_cap)
{
    uint8_t code[CODE_BYTES], check[CHECK_BYTES];
    char scratch[SC2_LINK_MAX_URL];
    int rc;
    size_t s = 0, e = strlen(link), hash, bin_len = 0, pn = 0;
    while (s < e && is_space(link[s]))
        s++;
    while (e > s && is_space(link[e - 1]))
        e--;
    for (hash = s; hash < e && link[hash] != '#'; hash++)
        ;
    if (hash == e) {
        rc = SC2_LINK_E_NO_FRAGMENT;
        goto fail;
    }
    const char *frag = link + hash + 1;
    size_t fn = e - hash - 1;
    long version = frag_version(frag, fn, &pn);
    if (version < 1) {
        rc = SC2_LINK_E_NOT_SALTCHAT;
        goto fail;
    }
    if (version != 2) {
        rc = version < 2 ? SC2_LINK_E_OLD_VERSION : SC2_LINK_E_NEW_VERSION;
        goto fail;
    }
    const char *c = frag + pn;
    size_t cn = fn - pn;
    for (size_t i = 0; i < cn; i++) {
        if (!is_b64url(c[i])) {
            rc = SC2_LINK_E_ENCODING;
            goto fail;
        }
    }
    if (cn != SC2_LINK_CODE_CHARS) {
        rc = SC2_LINK_E_LENGTH;
        goto fail;
    }
    if (sodium_base642bin(code, sizeof code, c, cn, NULL, &bin_len, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        bin_len != sizeof code) {
        rc = SC2_LINK_E_ENCODING;
        goto fail;
    }
    link_check(code, code + SC2_ROOM_ID_BYTES, check);
    if (sodium_memcmp(check, code + SC2_ROOM_ID_BYTES + SC2_LINK_SECRET_BYTES, CHECK_BYTES) !=
        0) {
        rc = SC2_LINK_E_CHECK;
        goto fail;
    }
    rc = norm_base(link + s, hash - s, 0, base_out ? base_out : scratch,
                   base_out ? base_cap : sizeof scratch);
    if (rc < 0)
        goto fail;
    memcpy(room_id, code, SC2_ROOM_ID_BYTES);
    memcpy(link_secret, code + SC2_ROOM_ID_BYTES, SC2_LINK_SECRET_BYTES);
    rc = 0;
fail:
    sodium_memzero(code, sizeof code);
    sodium_memzero(check, sizeof check);
    return rc;
}

void sc2_link_room_id_text(const uint8_t room_id[SC2_ROOM_ID_BYTES],
                           char out[SC2_ROOM_ID_CHARS + 1])
{
    sodium_bin2base64(out, SC2_ROOM_ID_CHARS + 1, room_id, SC2_ROOM_ID_BYTES,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

int sc2_link_ws_url(const char *base, const uint8_t room_id[SC2_ROOM_ID_BYTES], char *out,
                    size_t cap)
{
    static const char room[] = "room/";
    int n = norm_base(base, strlen(base), 1, out, cap);
    if (n < 0)
        return n;
    size_t total = (size_t)n + sizeof room - 1 + SC2_ROOM_ID_CHARS;
    if (total + 1 > cap)
        return SC2_LINK_E_SPACE;
    memcpy(out + n, room, sizeof room - 1);
    sc2_link_room_id_text(room_id, out + n + sizeof room - 1);
    return (int)total;
}

void sc2_link_join_keypair(const uint8_t link_secret[SC2_LINK_SECRET_BYTES],
                           uint8_t join_pk[SC2_LINK_JOIN_PK_BYTES],
                           uint8_t join_sk[SC2_JOIN_SK_BYTES])
{
    uint8_t seed[crypto_sign_SEEDBYTES], pk[crypto_sign_PUBLICKEYBYTES],
        sk[crypto_sign_SECRETKEYBYTES];
    crypto_kdf_derive_from_key(seed, sizeof seed, KDF_ID_JOIN, KDF_CONTEXT, link_secret);
    crypto_sign_seed_keypair(pk, sk, seed);
    if (join_pk)
        memcpy(join_pk, pk, sizeof pk);
    if (join_sk)
        memcpy(join_sk, sk, sizeof sk);
    sodium_memzero(seed, sizeof seed);
    sodium_memzero(sk, sizeof sk);
}

void sc2_link_gi_key(const uint8_t link_secret[SC2_LINK_SECRET_BYTES],
                     uint8_t gi_key[SC2_GI_KEY_BYTES])
{
    crypto_kdf_derive_from_key(gi_key, SC2_GI_KEY_BYTES, KDF_ID_GI_KEY, KDF_CONTEXT,
                               link_secret);
}

#define AUTH_MSG_BYTES (sizeof AUTH_LABEL - 1 + SC2_ROOM_ID_BYTES + SC2_AUTH_NONCE_BYTES)

static void auth_message(const uint8_t room_id[SC2_ROOM_ID_BYTES],
                         const uint8_t nonce[SC2_AUTH_NONCE_BYTES], uint8_t m[AUTH_MSG_BYTES])
{
    memcpy(m, AUTH_LABEL, sizeof AUTH_LABEL - 1);
    memcpy(m + sizeof AUTH_LABEL - 1, room_id, SC2_ROOM_ID_BYTES);
    memcpy(m + sizeof AUTH_LABEL - 1 + SC2_ROOM_ID_BYTES, nonce, SC2_AUTH_NONCE_BYTES);
}

void sc2_link_auth_sign(const uint8_t link_secret[SC2_LINK_SECRET_BYTES],
                        const uint8_t room_id[SC2_ROOM_ID_BYTES],
                        const uint8_t nonce[SC2_AUTH_NONCE_BYTES],
                        uint8_t join_pk[SC2_LINK_JOIN_PK_BYTES], uint8_t sig[SC2_AUTH_SIG_BYTES])
{
    uint8_t sk[SC2_JOIN_SK_BYTES], m[AUTH_MSG_BYTES];
    sc2_link_join_keypair(link_secret, join_pk, sk);
    auth_message(room_id, nonce, m);
    crypto_sign_detached(sig, NULL, m, sizeof m, sk);
    sodium_memzero(sk, sizeof sk);
}

int sc2_link_auth_verify(const uint8_t join_pk[SC2_LINK_JOIN_PK_BYTES],
                         const uint8_t room_id[SC2_ROOM_ID_BYTES],
                         const uint8_t nonce[SC2_AUTH_NONCE_BYTES],
                         const uint8_t sig[SC2_AUTH_SIG_BYTES])
{
    uint8_t m[AUTH_MSG_BYTES];
    auth_message(room_id, nonce, m);
    return crypto_sign_verify_detached(sig, m, sizeof m, join_pk) == 0 ? 0 : SC2_LINK_E_PROOF;
}

size_t sc2_link_gibox_size(size_t gi_len) { return gi_len + SC2_GIBOX_OVERHEAD; }


int sc2_link_gibox_seal(const uint8_t link_secret[SC2_LINK_SECRET_BYTES], uint64_t epoch,
                        const uint8_t *gi, size_t gi_len, mls_rng *rng, uint8_t *out,
                        size_t cap)
{
    uint8_t key[SC2_GI_KEY_BYTES];
    int rc;
    if (!gi || !gi_len || gi_len > SC2_GIBOX_MAX_GI)
        return SC2_LINK_E_ARG;
    if (cap < sc2_link_gibox_size(gi_len))
        return SC2_LINK_E_SPACE;
    /* plaintext epoch || gi is laid out after the nonce and MAC, then encrypted in place */
    uint8_t *pt = out + BOX_NONCE + BOX_MAC;
    sc2_be_st64(pt, epoch);
    memmove(pt + 8, gi, gi_len);
    mls_rng_fill(rng, out, BOX_NONCE);
    sc2_link_gi_key(link_secret, key);
    rc = crypto_secretbox_easy(out + BOX_NONCE, pt, 8 + gi_len, out, key) == 0
             ? (int)sc2_link_gibox_size(gi_len)
             : SC2_LINK_E_ARG;
    sodium_memzero(key, sizeof key);
    return rc;
}

/* Checks that gi[0..n) is MLSMessage(GroupInfo) of suite 3 for room_id and reads its
 * epoch. Only the header fields are parsed; the rest is mls_group_join_external's. */
static int gi_header(const uint8_t *gi, size_t n, const uint8_t room_id[SC2_ROOM_ID_BYTES],
                     uint64_t *epoch)
{
    mls_rd r;
    uint16_t version, wf, gc_version, suite;
    mls_slice gid;
    mls_rd_init(&r, gi, n);
    if (mls_rd_u16(&r, &version) || version != MLS10 || mls_rd_u16(&r, &wf) ||
        wf != MLS_WIRE_FORMAT_GROUP_INFO || mls_rd_u16(&r, &gc_version) ||
        gc_version != MLS10 || mls_rd_u16(&r, &suite) || suite != MLS_CIPHER_SUITE ||
        mls_rd_opaque(&r, &gid) || gid.len != SC2_ROOM_ID_BYTES ||
        sodium_memcmp(gid.p, room_id, SC2_ROOM_ID_BYTES) != 0 || mls_rd_u64(&r, epoch))
        return SC2_LINK_E_GROUPINFO;
    return 0;
}

int sc2_link_gibox_open(const uint8_t link_secret[SC2_LINK_SECRET_BYTES],
                        const uint8_t room_id[SC2_ROOM_ID_BYTES], const uint8_t *box,
                        size_t box_len, uint8_t *gi_out, size_t cap, size_t *gi_len,
                        uint64_t *epoch)
{
    uint8_t key[SC2_GI_KEY_BYTES];
    uint64_t boxed = 0, inner = 0;
    size_t pt_len = 0;
    int rc;
    if (!box || box_len <= SC2_GIBOX_OVERHEAD) {
        rc = SC2_LINK_E_BOX;
        goto fail;
    }
    pt_len = box_len - BOX_NONCE - BOX_MAC;
    if (!gi_out || cap < pt_len) {
        rc = SC2_LINK_E_SPACE;
        goto fail;
    }
    sc2_link_gi_key(link_secret, key);
    if (crypto_secretbox_open_easy(gi_out, box + BOX_NONCE, box_len - BOX_NONCE, box, key) !=
        0) {
        rc = SC2_LINK_E_BOX;
        goto fail;
    }
    boxed = sc2_be_ld64(gi_out);
    memmove(gi_out, gi_out + 8, pt_len - 8);
    rc = gi_header(gi_out, pt_len - 8, room_id, &inner);
    if (rc < 0)
        goto fail;
    if (inner != boxed) {
        rc = SC2_LINK_E_EPOCH;
        goto fail;
    }
    *gi_len = pt_len - 8;
    *epoch = boxed;
    rc = 0;
fail:
    sodium_memzero(key, sizeof key);
    if (rc < 0 && gi_out && cap)
        sodium_memzero(gi_out, cap < pt_len ? cap : pt_len);
    return rc;
}

int sc2_link_rotate(const mls_group *g, const uint8_t room_id[SC2_ROOM_ID_BYTES],
                    uint8_t new_link_secret[SC2_LINK_SECRET_BYTES])
{
    static const char label[] = SC2_LINK_EXPORTER_LABEL;
    if (!g)
        return SC2_LINK_E_MLS;
    if (mls_group_exporter(g, (const uint8_t *)label, sizeof label - 1, room_id,
                           SC2_ROOM_ID_BYTES, new_link_secret, SC2_LINK_SECRET_BYTES) != 0) {
        sodium_memzero(new_link_secret, SC2_LINK_SECRET_BYTES);
        return SC2_LINK_E_MLS;
    }
    return 0;
}

size_t sc2_link_secret_bytes(void) { return SC2_LINK_SECRET_BYTES; }
size_t sc2_link_room_id_bytes(void) { return SC2_ROOM_ID_BYTES; }
size_t sc2_link_max_url(void) { return SC2_LINK_MAX_URL; }
