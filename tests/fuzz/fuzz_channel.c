/*
 * fuzz_channel: sc_chan_open on arbitrary input, and seal/open round trips.
 * Byte 0: bit 0 clear = open the rest as a CHAN message (channel keys of the "hs-basic"
 * vector, nothing received yet); set = seal the rest as a body (byte 1 = ctype) and open
 * it on the other side, which must give it back exactly.
 */
#include "fuzz_common.h"
#include "sc_channel.h"

/* k_i2r and k_r2i of tests/vectors/handshake.txt "hs-basic" */
static const uint8_t k_i2r[32] = {0x49, 0xbe, 0x53, 0x93, 0x33, 0x9d, 0xf7, 0x1d, 0x98, 0x3d, 0x37,
                                  0x47, 0xce, 0xbb, 0x16, 0x7a, 0x82, 0x46, 0x08, 0xe9, 0xd0, 0x56,
                                  0x05, 0x77, 0x28, 0x05, 0x7c, 0xa2, 0xc7, 0x2b, 0xa7, 0x98};
static const uint8_t k_r2i[32] = {0x62, 0x29, 0x77, 0x05, 0x12, 0xdf, 0xba, 0xd0, 0xb0, 0x6a, 0x1b,
                                  0x20, 0xa9, 0x5c, 0x60, 0x68, 0x09, 0x29, 0xed, 0x40, 0x10, 0xc0,
                                  0x94, 0xe4, 0xb1, 0xbb, 0x02, 0x67, 0x50, 0x47, 0x27, 0x6e};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    static uint8_t body[SC_CHAN_MAX_BODY + 1], msg[SC_CHAN_OVERHEAD + SC_CHAN_MAX_BODY + 1];
    if (!ready) {
        fuzz_sodium_init();
        ready = 1;
    }
    if (size < 1)
        return 0;
    sc_chan tx, rx;
    sc_chan_init(&tx, k_i2r, k_r2i);
    sc_chan_init(&rx, k_r2i, k_i2r);
    uint8_t ctype = 0;
    size_t bl = 0, n = 0;
    uint64_t skipped = 0;
    if (!(data[0] & 1)) {
        sc_chan before = rx;
        int rc = sc_chan_open(&rx, data + 1, size - 1, &ctype, body, sizeof body, &bl, &skipped);
        FUZZ_ASSERT(rc <= 0 && rc >= SC_CHAN_E_SPACE && sc_chan_strerror(rc) != NULL);
        if (rc == 0) {
            FUZZ_ASSERT(bl == size - 1 - SC_CHAN_OVERHEAD && rx.recv_ctr == skipped + 1);
        } else {
            FUZZ_ASSERT(memcmp(&before, &rx, sizeof rx) == 0 && bl == 0);
        }
    } else if (size >= 2) {
        size_t len = size - 2;
        int rc = sc_chan_seal(&tx, data[1], data + 2, len, msg, sizeof msg, &n);
        if (len > SC_CHAN_MAX_BODY) {
            FUZZ_ASSERT(rc == SC_CHAN_E_MALFORMED && tx.send_ctr == 0);
        } else {
            FUZZ_ASSERT(rc == 0 && n == SC_CHAN_OVERHEAD + len);
            FUZZ_ASSERT(sc_chan_open(&rx, msg, n, &ctype, body, sizeof body, &bl, &skipped) == 0);
            FUZZ_ASSERT(ctype == data[1] && bl == len && skipped == 0);
            FUZZ_ASSERT(len == 0 || memcmp(body, data + 2, len) == 0);
            FUZZ_ASSERT(sc_chan_open(&rx, msg, n, &ctype, body, sizeof body, &bl, &skipped) ==
                        SC_CHAN_E_REPLAY);
        }
    }
    sc_chan_wipe(&tx);
    sc_chan_wipe(&rx);
    return 0;
}
