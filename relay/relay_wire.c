#include "relay_wire.h"

#include <stdio.h>
#include <string.h>

#include "relay_room.h"

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) << 32 | get32(p + 4);
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

void relay_wire_put_id(uint8_t *p, uint64_t id)
{
    put32(p, (uint32_t)(id >> 32));
    put32(p + 4, (uint32_t)id);
}

int relay_wire_is_room_type(uint8_t type)
{
    return type >= RELAY_WIRE_STATE && type <= RELAY_WIRE_BYE;
}

static int node_ok(const relay_wire_node *n)
{
    return n->instance && n->nonce && n->epoch;
}

/* A member id of the sending relay. */
static int own_id(const relay_wire_msg *m, uint64_t id)
{
    return id && (uint32_t)(id >> 32) == m->from.instance && (uint32_t)id;
}

int relay_wire_parse(const uint8_t *buf, size_t len, relay_wire_msg *m)
{
    memset(m, 0, sizeof *m);
    if (len < RELAY_WIRE_HEADER)
        return RELAY_WIRE_E_SHORT;
    if (buf[0] != RELAY_WIRE_VERSION)
        return RELAY_WIRE_E_VERSION;
    m->type = buf[1];
    m->flags = (uint16_t)(buf[2] << 8 | buf[3]);
    m->from.instance = get32(buf + 4);
    m->from.nonce = get32(buf + 8);
    m->from.epoch = get32(buf + 12);
    if (!node_ok(&m->from))
        return RELAY_WIRE_E_FIELD;
    if (m->flags & ~(m->type == RELAY_WIRE_HB ? RELAY_WIRE_HB_ESTABLISHED : 0u))
        return RELAY_WIRE_E_FIELD;
    const uint8_t *p = buf + RELAY_WIRE_HEADER;
    size_t rest = len - RELAY_WIRE_HEADER;

    switch (m->type) {
    case RELAY_WIRE_HB:
        return rest ? RELAY_WIRE_E_SHORT : 0;
    case RELAY_WIRE_HELLO:
        if (rest < 9 || rest != 9u + p[8])
            return RELAY_WIRE_E_SHORT;
        m->seq = get64(p);
        m->room = (const char *)p + 9;
        m->room_len = p[8];
        return relay_room_id_valid(m->room, m->room_len) ? 0 : RELAY_WIRE_E_FIELD;
    case RELAY_WIRE_FENCE:
        if (rest != 12)
            return RELAY_WIRE_E_SHORT;
        m->target.instance = get32(p);
        m->target.nonce = get32(p + 4);
        m->target.epoch = get32(p + 8);
        return node_ok(&m->target) ? 0 : RELAY_WIRE_E_FIELD;
    default:
        break;
    }
    if (!relay_wire_is_room_type(m->type))
        return RELAY_WIRE_E_TYPE;
    if (rest < 8)
        return RELAY_WIRE_E_SHORT;
    m->seq = get64(p);
    p += 8;
    rest -= 8;
    if (!m->seq && m->type != RELAY_WIRE_STATE)
        return RELAY_WIRE_E_FIELD;

    switch (m->type) {
    case RELAY_WIRE_STATE:
        if (rest < 8)
            return RELAY_WIRE_E_SHORT;
        m->gen = get32(p);
        m->n_ids = get32(p + 4);
        if (m->n_ids > RELAY_WIRE_MAX_STATE_MEMBERS)
            return RELAY_WIRE_E_FIELD;
        if (rest - 8 != (size_t)m->n_ids * 8)
            return RELAY_WIRE_E_SHORT;
        m->ids = p + 8;
        if (!m->seq && (m->n_ids || m->gen))
            return RELAY_WIRE_E_FIELD;
        for (uint32_t i = 0; i < m->n_ids; i++)
            if (!own_id(m, get64(m->ids + 8 * (size_t)i)))
                return RELAY_WIRE_E_FIELD;
        return 0;
    case RELAY_WIRE_JOINED:
        if (rest != 12)
            return RELAY_WIRE_E_SHORT;
        m->member = get64(p);
        m->gen = get32(p + 8);
        return own_id(m, m->member) && m->gen ? 0 : RELAY_WIRE_E_FIELD;
    case RELAY_WIRE_LEFT:
        if (rest != 8)
            return RELAY_WIRE_E_SHORT;
        m->member = get64(p);
        return own_id(m, m->member) ? 0 : RELAY_WIRE_E_FIELD;
    case RELAY_WIRE_DATA:
        if (rest < 17)
            return RELAY_WIRE_E_SHORT;
        m->member = get64(p);
        m->to = get64(p + 8);
        m->payload = p + 16;
        m->payload_len = rest - 16;
        if (!own_id(m, m->member) || (m->to && (uint32_t)(m->to >> 32) == m->from.instance))
            return RELAY_WIRE_E_FIELD;
        return 0;
    case RELAY_WIRE_ACK:
        if (rest != 12)
            return RELAY_WIRE_E_SHORT;
        m->target.instance = get32(p);
        m->target.nonce = get32(p + 4);
        m->gen = get32(p + 8);
        return m->target.instance && m->target.nonce ? 0 : RELAY_WIRE_E_FIELD;
    default: /* BYE */
        return rest ? RELAY_WIRE_E_SHORT : 0;
    }
}

size_t relay_wire_size(const relay_wire_msg *m)
{
    switch (m->type) {
    case RELAY_WIRE_HB: return RELAY_WIRE_HEADER;
    case RELAY_WIRE_HELLO: return RELAY_WIRE_HEADER + 9 + m->room_len;
    case RELAY_WIRE_FENCE: return RELAY_WIRE_HEADER + 12;
    case RELAY_WIRE_STATE: return RELAY_WIRE_ROOM_HEADER + 8 + (size_t)m->n_ids * 8;
    case RELAY_WIRE_JOINED: return RELAY_WIRE_ROOM_HEADER + 12;
    case RELAY_WIRE_LEFT: return RELAY_WIRE_ROOM_HEADER + 8;
    case RELAY_WIRE_DATA: return RELAY_WIRE_DATA_OVERHEAD + m->payload_len;
    case RELAY_WIRE_ACK: return RELAY_WIRE_ROOM_HEADER + 12;
    default: return RELAY_WIRE_ROOM_HEADER; /* BYE */
    }
}

size_t relay_wire_encode(uint8_t *out, size_t cap, const relay_wire_msg *m)
{
    size_t n = relay_wire_size(m);

    if (n > cap || (m->type == RELAY_WIRE_HELLO && m->room_len > 255))
        return 0;
    out[0] = RELAY_WIRE_VERSION;
    out[1] = m->type;
    out[2] = (uint8_t)(m->flags >> 8);
    out[3] = (uint8_t)m->flags;
    put32(out + 4, m->from.instance);
    put32(out + 8, m->from.nonce);
    put32(out + 12, m->from.epoch);
    uint8_t *p = out + RELAY_WIRE_HEADER;

    switch (m->type) {
    case RELAY_WIRE_HB:
        return n;
    case RELAY_WIRE_HELLO:
        relay_wire_put_id(p, m->seq);
        p[8] = (uint8_t)m->room_len;
        memcpy(p + 9, m->room, m->room_len);
        return n;
    case RELAY_WIRE_FENCE:
        put32(p, m->target.instance);
        put32(p + 4, m->target.nonce);
        put32(p + 8, m->target.epoch);
        return n;
    default:
        break;
    }
    relay_wire_put_id(p, m->seq);
    p += 8;
    switch (m->type) {
    case RELAY_WIRE_STATE:
        put32(p, m->gen);
        put32(p + 4, m->n_ids);
        if (m->n_ids && m->ids != p + 8)
            memmove(p + 8, m->ids, (size_t)m->n_ids * 8);
        break;
    case RELAY_WIRE_JOINED:
        relay_wire_put_id(p, m->member);
        put32(p + 8, m->gen);
        break;
    case RELAY_WIRE_LEFT:
        relay_wire_put_id(p, m->member);
        break;
    case RELAY_WIRE_DATA:
        relay_wire_put_id(p, m->member);
        relay_wire_put_id(p + 8, m->to);
        if (m->payload != p + 16)
            memcpy(p + 16, m->payload, m->payload_len);
        break;
    case RELAY_WIRE_ACK:
        put32(p, m->target.instance);
        put32(p + 4, m->target.nonce);
        put32(p + 8, m->gen);
        break;
    default:
        break;
    }
    return n;
}

uint64_t relay_wire_state_id(const relay_wire_msg *m, uint32_t i)
{
    return get64(m->ids + 8 * (size_t)i);
}

void relay_wire_room_subject(char *out, const char *id, size_t len)
{
    size_t pre = sizeof RELAY_WIRE_ROOM_PREFIX - 1;

    if (len > RELAY_WIRE_SUBJECT_MAX - pre - 1)
        len = RELAY_WIRE_SUBJECT_MAX - pre - 1;
    memcpy(out, RELAY_WIRE_ROOM_PREFIX, pre);
    memcpy(out + pre, id, len);
    out[pre + len] = '\0';
}

void relay_wire_relay_subject(char *out, uint32_t instance)
{
    snprintf(out, RELAY_WIRE_SUBJECT_MAX, RELAY_WIRE_RELAY_PREFIX "%08x", instance);
}

const char *relay_wire_subject_room(const char *subject, size_t *len)
{
    size_t pre = sizeof RELAY_WIRE_ROOM_PREFIX - 1;

    if (strncmp(subject, RELAY_WIRE_ROOM_PREFIX, pre))
        return NULL;
    *len = strlen(subject + pre);
    return relay_room_id_valid(subject + pre, *len) ? subject + pre : NULL;
}

int relay_wire_bundle_next(const uint8_t *buf, size_t len, size_t *off, const uint8_t **msg,
                           size_t *msg_len)
{
    if (*off == len)
        return 0;
    if (len - *off < RELAY_WIRE_BUNDLE_PREFIX)
        return RELAY_WIRE_E_SHORT;
    uint32_t n = get32(buf + *off);
    if (len - *off - RELAY_WIRE_BUNDLE_PREFIX < n)
        return RELAY_WIRE_E_SHORT;
    *msg = buf + *off + RELAY_WIRE_BUNDLE_PREFIX;
    *msg_len = n;
    *off += RELAY_WIRE_BUNDLE_PREFIX + n;
    return 1;
}

void relay_wire_put_len(uint8_t *p, uint32_t len)
{
    put32(p, len);
}
