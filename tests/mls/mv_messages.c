/* messages.json: every serialized object of each case decodes strictly as its type, has
 * the structure its field names (wire format, content type) and re-encodes to the same
 * bytes. The objects are suite-independent (keys of any length). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mls_err.h"
#include "mls_message.h"
#include "mo_roundtrip.h"
#include "mv.h"

#define ANY_CT 0xff

static const struct {
    const char *key;
    int kind;
    uint16_t wire_format;  /* MO_MESSAGE only */
    uint8_t content_type;  /* MO_MESSAGE with a framed body; ANY_CT for private */
} fields[] = {
    { "mls_welcome", MO_MESSAGE, MLS_WIRE_FORMAT_WELCOME, 0 },
    { "mls_group_info", MO_MESSAGE, MLS_WIRE_FORMAT_GROUP_INFO, 0 },
    { "mls_key_package", MO_MESSAGE, MLS_WIRE_FORMAT_KEY_PACKAGE, 0 },
    { "ratchet_tree", MO_RATCHET_TREE, 0, 0 },
    { "group_secrets", MO_GROUP_SECRETS, 0, 0 },
    { "add_proposal", MO_ADD, 0, 0 },
    { "update_proposal", MO_UPDATE, 0, 0 },
    { "remove_proposal", MO_REMOVE, 0, 0 },
    { "pre_shared_key_proposal", MO_PSK, 0, 0 },
    { "re_init_proposal", MO_REINIT, 0, 0 },
    { "external_init_proposal", MO_EXTERNAL_INIT, 0, 0 },
    { "group_context_extensions_proposal", MO_GROUP_CONTEXT_EXTENSIONS, 0, 0 },
    { "commit", MO_COMMIT, 0, 0 },
    { "public_message_application", MO_MESSAGE, MLS_WIRE_FORMAT_PUBLIC_MESSAGE,
      MLS_CONTENT_APPLICATION },
    { "public_message_proposal", MO_MESSAGE, MLS_WIRE_FORMAT_PUBLIC_MESSAGE,
      MLS_CONTENT_PROPOSAL },
    { "public_message_commit", MO_MESSAGE, MLS_WIRE_FORMAT_PUBLIC_MESSAGE,
      MLS_CONTENT_COMMIT },
    { "private_message", MO_MESSAGE, MLS_WIRE_FORMAT_PRIVATE_MESSAGE, ANY_CT },
};

/* The ratchet tree must also have the shape the RFC allows. */
static int tree_shape(const uint8_t *p, size_t n)
{
    mls_node_array a;
    int rc = mls_node_array_decode_all(p, n, &a);
    if (rc == 0) {
        rc = mls_node_array_check_shape(&a);
        mls_node_array_free(&a);
    }
    return rc;
}

int mv_check_messages(const mv_json *tc, mv_result *res)
{
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        uint8_t *p = NULL;
        size_t n = 0;
        mls_buf out = { 0 };
        uint32_t info = 0;
        if (mv_hex(tc, fields[i].key, &p, &n))
            return mv_fail(res, "%s: missing or not hex", fields[i].key);
        int rc = mo_roundtrip(fields[i].kind, p, n, &out, &info);
        int ok = 0;
        if (rc) {
            mv_fail(res, "%s: %s does not decode/encode: %s", fields[i].key,
                    mo_kind_name(fields[i].kind), mls_strerror(rc));
        } else if (fields[i].kind == MO_MESSAGE &&
                   ((info >> 8) != fields[i].wire_format ||
                    (fields[i].content_type != ANY_CT &&
                     (info & 0xff) != fields[i].content_type))) {
            mv_fail(res, "%s: decoded as wire format %u content type %u, want %u/%u",
                    fields[i].key, (unsigned)(info >> 8), (unsigned)(info & 0xff),
                    fields[i].wire_format, fields[i].content_type);
        } else if (fields[i].kind == MO_RATCHET_TREE && (rc = tree_shape(p, n))) {
            mv_fail(res, "%s: tree shape: %s", fields[i].key, mls_strerror(rc));
        } else if (mv_hex_eq(tc, fields[i].key, out.p, out.len, res)) {
            ok = 1;
        } else {
            char why[sizeof res->why];
            snprintf(why, sizeof why, "re-encoding differs: %.480s", res->why);
            memcpy(res->why, why, sizeof why);
        }
        mls_buf_free(&out);
        free(p);
        if (!ok)
            return MV_FAIL;
    }
    return MV_PASS;
}
