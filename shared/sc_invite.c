#include "sc_invite.h"

#include <sodium.h>
#include <string.h>

#define INVITE_LABEL "saltchat/v1 invite"
#define KDF_CONTEXT "saltroom"
#define FRAG_PREFIX "sc1."
#define CHECK_BYTES 4u
#define CODE_BYTES (SC_INVITE_SECRET_BYTES + CHECK_BYTES)
/* "#sc1." + code: what a link adds to its base */
#define LINK_TAIL (1u + sizeof FRAG_PREFIX - 1u + SC_INVITE_CODE_CHARS)
/* Longest normalized base: its link (the longest URL derived from it) must fit. */
#define MAX_BASE (SC_INVITE_MAX_URL - 1u - LINK_TAIL)

void sc_invite_new_secret(sc_rng *rng, uint8_t secret[SC_INVITE_SECRET_BYTES])
{
    sc_rng_bytes(rng, secret, SC_INVITE_SECRET_BYTES);
}

void sc_invite_derive(const uint8_t secret[SC_INVITE_SECRET_BYTES],
                      uint8_t room_id[SC_INVITE_ROOM_ID_BYTES],
                      uint8_t room_key[SC_INVITE_ROOM_KEY_BYTES])
{
    if (room_id)
        crypto_kdf_derive_from_key(room_id, SC_INVITE_ROOM_ID_BYTES, 1, KDF_CONTEXT, secret);
    if (room_key)
        crypto_kdf_derive_from_key(room_key, SC_INVITE_ROOM_KEY_BYTES, 2, KDF_CONTEXT, secret);
}

void sc_invite_room_id_text(const uint8_t room_id[SC_INVITE_ROOM_ID_BYTES],
                            char out[SC_INVITE_ROOM_ID_CHARS + 1])
{
    sodium_bin2base64(out, SC_INVITE_ROOM_ID_CHARS + 1, room_id, SC_INVITE_ROOM_ID_BYTES,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

static void invite_check(const uint8_t secret[SC_INVITE_SECRET_BYTES], uint8_t check[CHECK_BYTES])
{
    uint8_t buf[sizeof INVITE_LABEL - 1 + SC_INVITE_SECRET_BYTES];
    memcpy(buf, INVITE_LABEL, sizeof INVITE_LABEL - 1);
    memcpy(buf + sizeof INVITE_LABEL - 1, secret, SC_INVITE_SECRET_BYTES);
    crypto_generichash(check, CHECK_BYTES, buf, sizeof buf, NULL, 0);
    sodium_memzero(buf, sizeof buf);
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
 * written (NUL added), SC_INVITE_E_URL or SC_INVITE_E_SPACE.
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
        return SC_INVITE_E_URL;
    const char *rest = b + plen;
    size_t rn = n - plen, auth = 0;
    while (auth < rn && rest[auth] != '/')
        auth++;
    if (auth == 0)
        return SC_INVITE_E_URL;
    for (size_t i = 0; i < rn; i++) {
        char c = rest[i];
        if (c < 0x21 || c > 0x7e || c == '#' || c == '?' || c == '\\' ||
            (i < auth && c == '@'))
            return SC_INVITE_E_URL;
    }
    const char *scheme = ws ? (secure ? "wss://" : "ws://") : (secure ? "https://" : "http://");
    size_t sn = strlen(scheme), slash = rest[rn - 1] != '/';
    size_t total = sn + rn + slash;
    /* measured in its http form, so a base is accepted or refused the same way by all */
    if (total + (ws ? 2u : 0u) > MAX_BASE)
        return SC_INVITE_E_URL;
    if (total + 1 > cap)
        return SC_INVITE_E_SPACE;
    memcpy(out, scheme, sn);
    memcpy(out + sn, rest, rn);
    if (slash)
        out[sn + rn] = '/';
    out[total] = '\0';
    return (int)total;
}

int sc_invite_format(const char *base, const uint8_t secret[SC_INVITE_SECRET_BYTES], char *out,
                     size_t cap)
{
    uint8_t code[CODE_BYTES];
    int n = norm_base(base, strlen(base), 0, out, cap);
    if (n < 0)
        return n;
    if ((size_t)n + LINK_TAIL + 1 > cap)
        return SC_INVITE_E_SPACE;
    memcpy(code, secret, SC_INVITE_SECRET_BYTES);
    invite_check(secret, code + SC_INVITE_SECRET_BYTES);
    memcpy(out + n, "#" FRAG_PREFIX, 1 + sizeof FRAG_PREFIX - 1);
    sodium_bin2base64(out + n + 1 + sizeof FRAG_PREFIX - 1, SC_INVITE_CODE_CHARS + 1, code,
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

int sc_invite_parse(const char *link, uint8_t secret[SC_INVITE_SECRET_BYTES], char *base_out,
                    size_t base_cap)
{
    uint8_t code[CODE_BYTES], check[CHECK_BYTES];
    char scratch[SC_INVITE_MAX_URL];
    int rc;
    size_t s = 0, e = strlen(link), hash, bin_len = 0;
    while (s < e && is_space(link[s]))
        s++;
    while (e > s && is_space(link[e - 1]))
        e--;
    for (hash = s; hash < e && link[hash] != '#'; hash++)
        ;
    if (hash == e) {
        rc = SC_INVITE_E_NO_FRAGMENT;
        goto fail;
    }
    const char *frag = link + hash + 1;
    size_t fn = e - hash - 1, pn = sizeof FRAG_PREFIX - 1;
    if (fn < pn || memcmp(frag, FRAG_PREFIX, pn) != 0) {
        rc = SC_INVITE_E_VERSION;
        goto fail;
    }
    const char *c = frag + pn;
    size_t cn = fn - pn;
    for (size_t i = 0; i < cn; i++) {
        if (!is_b64url(c[i])) {
            rc = SC_INVITE_E_ENCODING;
            goto fail;
        }
    }
    if (cn != SC_INVITE_CODE_CHARS) {
        rc = SC_INVITE_E_LENGTH;
        goto fail;
    }
    if (sodium_base642bin(code, sizeof code, c, cn, NULL, &bin_len, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        bin_len != sizeof code) {
        rc = SC_INVITE_E_ENCODING;
        goto fail;
    }
    invite_check(code, check);
    if (sodium_memcmp(check, code + SC_INVITE_SECRET_BYTES, CHECK_BYTES) != 0) {
        rc = SC_INVITE_E_CHECK;
        goto fail;
    }
    rc = norm_base(link + s, hash - s, 0, base_out ? base_out : scratch,
                   base_out ? base_cap : sizeof scratch);
    if (rc < 0)
        goto fail;
    memcpy(secret, code, SC_INVITE_SECRET_BYTES);
    rc = 0;
fail:
    sodium_memzero(code, sizeof code);
    sodium_memzero(check, sizeof check);
    return rc;
}

int sc_invite_ws_url(const char *base, const uint8_t secret[SC_INVITE_SECRET_BYTES], char *out,
                     size_t cap)
{
    uint8_t room_id[SC_INVITE_ROOM_ID_BYTES];
    static const char room[] = "room/";
    int n = norm_base(base, strlen(base), 1, out, cap);
    if (n < 0)
        return n;
    size_t total = (size_t)n + sizeof room - 1 + SC_INVITE_ROOM_ID_CHARS;
    if (total + 1 > cap)
        return SC_INVITE_E_SPACE;
    sc_invite_derive(secret, room_id, NULL);
    memcpy(out + n, room, sizeof room - 1);
    sc_invite_room_id_text(room_id, out + n + sizeof room - 1);
    return (int)total;
}

const char *sc_invite_strerror(int err)
{
    switch (err) {
    case 0:
        return "ok";
    case SC_INVITE_E_URL:
        return "the relay address is not an http:// or https:// URL with a host (and no "
               "query): check the part of the link before '#'";
    case SC_INVITE_E_NO_FRAGMENT:
        return "the link has no '#sc1.' part: paste the whole invite link, including "
               "everything after '#'";
    case SC_INVITE_E_VERSION:
        return "the part after '#' does not start with 'sc1.': this is not a saltchat "
               "invite, or one from an incompatible version";
    case SC_INVITE_E_ENCODING:
        return "the invite code contains characters that cannot be in it: copy the link "
               "again exactly";
    case SC_INVITE_E_LENGTH:
        return "the invite code has the wrong length (the link was cut off or has extra "
               "characters): copy the whole link again";
    case SC_INVITE_E_CHECK:
        return "the invite code's checksum does not match (the link was mistyped): copy the "
               "link again exactly";
    case SC_INVITE_E_SPACE:
        return "output buffer too small";
    default:
        return "unknown invite error";
    }
}

size_t sc_invite_secretbytes(void)
{
    return SC_INVITE_SECRET_BYTES;
}

size_t sc_invite_room_id_chars(void)
{
    return SC_INVITE_ROOM_ID_CHARS;
}

size_t sc_invite_room_id_bytes(void)
{
    return SC_INVITE_ROOM_ID_BYTES;
}

size_t sc_invite_room_key_bytes(void)
{
    return SC_INVITE_ROOM_KEY_BYTES;
}

size_t sc_invite_code_chars(void)
{
    return SC_INVITE_CODE_CHARS;
}

size_t sc_invite_max_url(void)
{
    return SC_INVITE_MAX_URL;
}
