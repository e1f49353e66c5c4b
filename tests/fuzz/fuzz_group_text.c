/* fuzz_group_text: sc_group_text_decode on arbitrary plaintext; whatever decodes must
 * encode back to exactly the input. */
#include "fuzz_common.h"
#include "sc_group.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t id = 0, t = 0;
    const uint8_t *text = NULL;
    size_t tl = 0;
    int rc = sc_group_text_decode(data, size, &id, &t, &text, &tl);
    FUZZ_ASSERT(rc == 0 || rc == SC_GROUP_E_MALFORMED);
    if (rc == 0) {
        FUZZ_ASSERT(tl >= 1 && tl <= SC_GROUP_MAX_TEXT && text == data + SC_GROUP_TEXT_HEADER);
        uint8_t *out = malloc(size);
        FUZZ_ASSERT(out);
        FUZZ_ASSERT(sc_group_text_encode(id, t, text, tl, out, size) == size);
        FUZZ_ASSERT(memcmp(out, data, size) == 0);
        FUZZ_ASSERT(sc_group_text_encode(id, t, text, tl, out, size - 1) == 0);
        free(out);
    } else if (size > SC_GROUP_TEXT_HEADER && size - SC_GROUP_TEXT_HEADER <= SC_GROUP_MAX_TEXT &&
               data[0] == 1) {
        /* then the only reason left is the text's encoding */
        uint8_t *out = malloc(size);
        FUZZ_ASSERT(out);
        FUZZ_ASSERT(sc_group_text_encode(1, 2, data + SC_GROUP_TEXT_HEADER,
                                         size - SC_GROUP_TEXT_HEADER, out, size) == 0);
        free(out);
    }
    return 0;
}
