#include <stdlib.h>

#include "mls_codec.h"
#include "mls_err.h"
#include "mv.h"

/* vlbytes_header is the varint length prefix of a vector; it must decode to exactly
 * `length` and use every byte, and re-encoding the length must give the same bytes. */
int mv_check_deserialization(const mv_json *tc, mv_result *res)
{
    uint8_t *hdr = NULL;
    size_t hlen = 0;
    uint64_t want, got = 0;
    mls_buf b = { 0 };
    int out;
    if (mv_json_u64(tc, "length", &want))
        return mv_fail(res, "length missing or not an integer");
    if (mv_hex(tc, "vlbytes_header", &hdr, &hlen))
        return mv_fail(res, "vlbytes_header missing or not hex");
    mls_rd r;
    mls_rd_init(&r, hdr, hlen);
    int rc = mls_rd_varint(&r, &got);
    if (rc) {
        out = mv_fail(res, "decode: %s", mls_strerror(rc));
        goto done;
    }
    if (mls_rd_end(&r)) {
        out = mv_fail(res, "%zu trailing bytes after the header", mls_rd_left(&r));
        goto done;
    }
    if (got != want) {
        out = mv_fail(res, "length: want %llu, got %llu", (unsigned long long)want,
                      (unsigned long long)got);
        goto done;
    }
    mls_w_varint(&b, want);
    if (mls_buf_status(&b)) {
        out = mv_fail(res, "encode: %s", mls_strerror(mls_buf_status(&b)));
        goto done;
    }
    out = mv_hex_eq(tc, "vlbytes_header", b.p, b.len, res) ? MV_PASS : MV_FAIL;
done:
    mls_buf_free(&b);
    free(hdr);
    return out;
}
