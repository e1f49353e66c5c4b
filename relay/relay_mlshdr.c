#include "relay_mlshdr.h"

#include <string.h>

typedef struct rd {
    const uint8_t *p;
    size_t len, off;
} rd;

static int rd_u8(rd *r, uint8_t *v)
{
    if (r->len - r->off < 1)
        return RELAY_MLSHDR_E_SHORT;
    *v = r->p[r->off++];
    return 0;
}

static int rd_u16(rd *r, uint16_t *v)
{
    if (r->len - r->off < 2)
        return RELAY_MLSHDR_E_SHORT;
    *v = (uint16_t)((r->p[r->off] << 8) | r->p[r->off + 1]);
    r->off += 2;
    return 0;
}

static int rd_u32(rd *r, uint32_t *v)
{
    if (r->len - r->off < 4)
        return RELAY_MLSHDR_E_SHORT;
    const uint8_t *p = r->p + r->off;
    *v = ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
    r->off += 4;
    return 0;
}

static int rd_u64(rd *r, uint64_t *v)
{
    if (r->len - r->off < 8)
        return RELAY_MLSHDR_E_SHORT;
    uint64_t x = 0;
    for (size_t i = 0; i < 8; i++)
        x = (x << 8) | r->p[r->off + i];
    r->off += 8;
    *v = x;
    return 0;
}

/* A vector: RFC 9420 2.1.2 varint length (1, 2 or 4 bytes, minimal), then its bytes. */
static int rd_vec(rd *r, const uint8_t **p, size_t *n)
{
    if (r->len - r->off < 1)
        return RELAY_MLSHDR_E_SHORT;
    unsigned prefix = r->p[r->off] >> 6;
    size_t w;
    uint32_t min;
    switch (prefix) {
    case 0: w = 1; min = 0; break;
    case 1: w = 2; min = 64; break;
    case 2: w = 4; min = 16384; break;
    default: return RELAY_MLSHDR_E_VARINT;
    }
    if (r->len - r->off < w)
        return RELAY_MLSHDR_E_SHORT;
    uint32_t x = r->p[r->off] & 0x3fu;
    for (size_t i = 1; i < w; i++)
        x = (x << 8) | r->p[r->off + i];
    if (x < min)
        return RELAY_MLSHDR_E_VARINT;
    r->off += w;
    if (x > r->len - r->off)
        return RELAY_MLSHDR_E_SHORT;
    *p = r->p + r->off;
    *n = x;
    r->off += x;
    return 0;
}

static int content_known(uint8_t ct)
{
    return ct >= RELAY_MLSHDR_APPLICATION && ct <= RELAY_MLSHDR_COMMIT;
}

static int parse_public(rd *r, relay_mlshdr *h)
{
    const uint8_t *aad;
    size_t aad_len;
    int rc;

    if ((rc = rd_u8(r, &h->sender_type)))
        return rc;
    switch (h->sender_type) {
    case RELAY_MLSHDR_MEMBER:
    case RELAY_MLSHDR_EXTERNAL:
        if ((rc = rd_u32(r, &h->sender_index)))
            return rc;
        break;
    case RELAY_MLSHDR_NEW_MEMBER_PROPOSAL:
    case RELAY_MLSHDR_NEW_MEMBER_COMMIT:
        break;
    default:
        return RELAY_MLSHDR_E_SENDER;
    }
    if ((rc = rd_vec(r, &aad, &aad_len)))
        return rc;
    if ((rc = rd_u8(r, &h->content_type)))
        return rc;
    if (!content_known(h->content_type))
        return RELAY_MLSHDR_E_CONTENT_TYPE;
    switch (h->sender_type) {
    case RELAY_MLSHDR_MEMBER:
        if (h->content_type == RELAY_MLSHDR_APPLICATION)
            return RELAY_MLSHDR_E_COMBINATION;
        break;
    case RELAY_MLSHDR_EXTERNAL:
    case RELAY_MLSHDR_NEW_MEMBER_PROPOSAL:
        if (h->content_type != RELAY_MLSHDR_PROPOSAL)
            return RELAY_MLSHDR_E_COMBINATION;
        break;
    default: /* new_member_commit */
        if (h->content_type != RELAY_MLSHDR_COMMIT)
            return RELAY_MLSHDR_E_COMBINATION;
        break;
    }
    /* the proposal or commit and the auth data follow: at least one byte of them */
    if (r->len == r->off)
        return RELAY_MLSHDR_E_SHORT;
    return 0;
}

static int parse_private(rd *r, relay_mlshdr *h)
{
    const uint8_t *p;
    size_t n;
    int rc;

    if ((rc = rd_u8(r, &h->content_type)))
        return rc;
    if (!content_known(h->content_type))
        return RELAY_MLSHDR_E_CONTENT_TYPE;
    for (int i = 0; i < 3; i++) /* authenticated_data, encrypted_sender_data, ciphertext */
        if ((rc = rd_vec(r, &p, &n)))
            return rc;
    if (r->off != r->len)
        return RELAY_MLSHDR_E_TRAILING;
    return 0;
}

relay_mlshdr_err relay_mlshdr_parse(const uint8_t *buf, size_t len, relay_mlshdr *h)
{
    rd r = {buf, buf ? len : 0, 0};
    uint16_t version;
    int rc;

    memset(h, 0, sizeof *h);
    if ((rc = rd_u16(&r, &version)))
        goto fail;
    if (version != 1) {
        rc = RELAY_MLSHDR_E_VERSION;
        goto fail;
    }
    if ((rc = rd_u16(&r, &h->wire_format)))
        goto fail;
    if (h->wire_format != RELAY_MLSHDR_PUBLIC && h->wire_format != RELAY_MLSHDR_PRIVATE) {
        rc = RELAY_MLSHDR_E_WIRE_FORMAT;
        goto fail;
    }
    if ((rc = rd_vec(&r, &h->group_id, &h->group_id_len)))
        goto fail;
    if (h->group_id_len == 0 || h->group_id_len > RELAY_MLSHDR_GROUP_ID_MAX) {
        rc = RELAY_MLSHDR_E_GROUP_ID;
        goto fail;
    }
    if ((rc = rd_u64(&r, &h->epoch)))
        goto fail;
    rc = h->wire_format == RELAY_MLSHDR_PUBLIC ? parse_public(&r, h) : parse_private(&r, h);
    if (rc)
        goto fail;
    return RELAY_MLSHDR_OK;
fail:
    memset(h, 0, sizeof *h);
    return (relay_mlshdr_err)rc;
}

int relay_mlshdr_is_commit(const relay_mlshdr *h)
{
    return h->content_type == RELAY_MLSHDR_COMMIT;
}

const char *relay_mlshdr_strerror(relay_mlshdr_err err)
{
    switch (err) {
    case RELAY_MLSHDR_OK: return "ok";
    case RELAY_MLSHDR_E_SHORT: return "truncated MLS message header";
    case RELAY_MLSHDR_E_VERSION: return "MLS version is not mls10";
    case RELAY_MLSHDR_E_WIRE_FORMAT: return "MLS wire format is not a PublicMessage or PrivateMessage";
    case RELAY_MLSHDR_E_VARINT: return "MLS vector length badly encoded";
    case RELAY_MLSHDR_E_GROUP_ID: return "MLS group_id empty or too long";
    case RELAY_MLSHDR_E_SENDER: return "MLS sender type unknown";
    case RELAY_MLSHDR_E_CONTENT_TYPE: return "MLS content type unknown";
    case RELAY_MLSHDR_E_COMBINATION: return "MLS content type not allowed for this sender";
    case RELAY_MLSHDR_E_TRAILING: return "trailing bytes after the MLS PrivateMessage";
    }
    return "unknown MLS header error";
}
