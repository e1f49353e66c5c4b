/* fuzz_relay_mlshdr: the relay's MLS header parser (relay/relay_mlshdr) over arbitrary
 * bytes, checked against shared/mls' full decoder: whatever mls_message_decode_all takes
 * as a PublicMessage or PrivateMessage, relay_mlshdr must take too, with the same
 * group_id, epoch, content type and sender (the relay accepts a superset: it does not
 * parse a PublicMessage's body). Whatever relay_mlshdr takes has its fields in range and
 * group_id inside the input. */
#include "fuzz_common.h"
#include "mls_message.h"
#include "relay_mlshdr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    relay_mlshdr h;
    relay_mlshdr_err rc = relay_mlshdr_parse(data, size, &h);

    if (rc == RELAY_MLSHDR_OK) {
        FUZZ_ASSERT(h.wire_format == RELAY_MLSHDR_PUBLIC || h.wire_format == RELAY_MLSHDR_PRIVATE);
        FUZZ_ASSERT(h.group_id >= data && h.group_id + h.group_id_len <= data + size);
        FUZZ_ASSERT(h.group_id_len >= 1 && h.group_id_len <= RELAY_MLSHDR_GROUP_ID_MAX);
        FUZZ_ASSERT(h.content_type >= 1 && h.content_type <= 3);
        FUZZ_ASSERT((h.wire_format == RELAY_MLSHDR_PRIVATE) == (h.sender_type == 0));
    } else {
        FUZZ_ASSERT(rc <= RELAY_MLSHDR_E_SHORT && rc >= RELAY_MLSHDR_E_TRAILING);
        FUZZ_ASSERT(h.group_id == NULL);
    }

    mls_message m;
    if (mls_message_decode_all(data, size, &m) != 0)
        return 0;
    if (m.wire_format == MLS_WIRE_FORMAT_PUBLIC_MESSAGE) {
        const mls_framed_content *c = &m.public_message.content;
        int allowed = c->sender.sender_type == MLS_SENDER_MEMBER
                          ? c->content_type != MLS_CONTENT_APPLICATION
                      : c->sender.sender_type == MLS_SENDER_NEW_MEMBER_COMMIT
                          ? c->content_type == MLS_CONTENT_COMMIT
                          : c->content_type == MLS_CONTENT_PROPOSAL;
        if (!allowed || c->group_id.len < 1 || c->group_id.len > RELAY_MLSHDR_GROUP_ID_MAX) {
            FUZZ_ASSERT(rc != RELAY_MLSHDR_OK);
        } else {
            FUZZ_ASSERT(rc == RELAY_MLSHDR_OK);
            FUZZ_ASSERT(h.epoch == c->epoch && h.content_type == c->content_type);
            FUZZ_ASSERT(h.sender_type == c->sender.sender_type);
            FUZZ_ASSERT(h.sender_index == c->sender.index);
            FUZZ_ASSERT(h.group_id_len == c->group_id.len &&
                        memcmp(h.group_id, c->group_id.p, h.group_id_len) == 0);
        }
    } else if (m.wire_format == MLS_WIRE_FORMAT_PRIVATE_MESSAGE) {
        const mls_private_message *p = &m.private_message;
        if (p->group_id.len < 1 || p->group_id.len > RELAY_MLSHDR_GROUP_ID_MAX) {
            FUZZ_ASSERT(rc != RELAY_MLSHDR_OK);
        } else {
            FUZZ_ASSERT(rc == RELAY_MLSHDR_OK);
            FUZZ_ASSERT(h.epoch == p->epoch && h.content_type == p->content_type);
            FUZZ_ASSERT(h.group_id_len == p->group_id.len &&
                        memcmp(h.group_id, p->group_id.p, h.group_id_len) == 0);
        }
    } else {
        FUZZ_ASSERT(rc == RELAY_MLSHDR_E_WIRE_FORMAT);
    }
    mls_message_free(&m);
    return 0;
}
