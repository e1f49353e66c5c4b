#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sc_envelope.h"

static const uint8_t payload[] = {0xde, 0xad, 0xbe, 0xef, 0x00, 0x01};

/* Feeds every proper prefix of an envelope: each must be "partial", never an error
 * or a success, and the whole must parse to exactly its length. */
static void check_prefixes(const uint8_t *buf, size_t n, enum sc_env_dir dir)
{
    sc_env e;
    for (size_t i = 0; i < n; i++) {
        /* copy to an exact-size heap block so ASan catches any over-read */
        uint8_t *p = malloc(i ? i : 1);
        memcpy(p, buf, i);
        CHECK_EQ(sc_env_parse(p, i, dir, &e), SC_ENV_E_PARTIAL);
        free(p);
    }
    uint8_t *p = malloc(n);
    memcpy(p, buf, n);
    CHECK_EQ(sc_env_parse(p, n, dir, &e), (int)n);
    free(p);
}

static void test_send_all(void)
{
    uint8_t buf[64];
    size_t n = sc_env_encode_send_all(buf, sizeof buf, payload, sizeof payload);
    const uint8_t golden[] = {1, 0x01, 0, 0, 0, 6, 0xde, 0xad, 0xbe, 0xef, 0x00, 0x01};
    CHECK_EQ(n, sizeof golden);
    CHECK_MEM(buf, golden, sizeof golden);
    sc_env e;
    CHECK_EQ(sc_env_parse(buf, n, SC_ENV_FROM_CLIENT, &e), (int)n);
    CHECK_EQ(e.type, SC_ENV_T_SEND_ALL);
    CHECK_EQ(e.payload_len, sizeof payload);
    CHECK_MEM(e.payload, payload, sizeof payload);
    /* the relay must not accept its own types from a client, nor the reverse */
    CHECK_EQ(sc_env_parse(buf, n, SC_ENV_FROM_RELAY, &e), SC_ENV_E_TYPE);
    check_prefixes(buf, n, SC_ENV_FROM_CLIENT);
    CHECK_EQ(sc_env_encode_send_all(buf, sizeof buf, payload, 0), 0);
    CHECK_EQ(sc_env_encode_send_all(buf, 11, payload, sizeof payload), 0);
}

static void test_send_to(void)
{
    uint8_t buf[64];
    size_t n = sc_env_encode_send_to(buf, sizeof buf, 0x0102030405060708ull, payload, 2);
    const uint8_t golden[] = {1, 0x02, 0, 0, 0, 10, 1, 2, 3, 4, 5, 6, 7, 8, 0xde, 0xad};
    CHECK_EQ(n, sizeof golden);
    CHECK_MEM(buf, golden, sizeof golden);
    sc_env e;
    CHECK_EQ(sc_env_parse(buf, n, SC_ENV_FROM_CLIENT, &e), (int)n);
    CHECK_EQ(e.member, 0x0102030405060708ull);
    CHECK_EQ(e.payload_len, 2);
    check_prefixes(buf, n, SC_ENV_FROM_CLIENT);
    CHECK_EQ(sc_env_encode_send_to(buf, sizeof buf, 0, payload, 2), 0);
    /* zero target on the wire */
    memset(buf + 6, 0, 8);
    CHECK_EQ(sc_env_parse(buf, n, SC_ENV_FROM_CLIENT, &e), SC_ENV_E_FIELD);
    /* target without payload */
    const uint8_t nopayload[] = {1, 0x02, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 9};
    CHECK_EQ(sc_env_parse(nopayload, sizeof nopayload, SC_ENV_FROM_CLIENT, &e), SC_ENV_E_LENGTH);
}

static void test_welcome(void)
{
    uint8_t buf[128];
    const uint64_t members[] = {7, 9};
    size_t n = sc_env_encode_welcome(buf, sizeof buf, 5, 65536, members, 2);
    const uint8_t golden[] = {1, 0x81, 0, 0, 0, 32, 0, 0, 0, 0, 0, 0, 0, 5, 0, 1, 0, 0,
                              0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 9};
    CHECK_EQ(n, sizeof golden);
    CHECK_EQ(n, sc_env_welcome_size(2));
    CHECK_MEM(buf, golden, sizeof golden);
    sc_env e;
    CHECK_EQ(sc_env_parse(buf, n, SC_ENV_FROM_RELAY, &e), (int)n);
    CHECK_EQ(e.member, 5);
    CHECK_EQ(e.max_payload, 65536);
    CHECK_EQ(e.n_members, 2);
    CHECK_EQ(sc_env_welcome_member(&e, 0), 7);
    CHECK_EQ(sc_env_welcome_member(&e, 1), 9);
    CHECK_EQ(sc_env_welcome_member(&e, 2), 0);
    check_prefixes(buf, n, SC_ENV_FROM_RELAY);
    /* count that disagrees with the length */
    buf[21] = 3;
    CHECK_EQ(sc_env_parse(buf, n, SC_ENV_FROM_RELAY, &e), SC_ENV_E_LENGTH);
    buf[21] = 2;
    /* a member list that names the recipient itself */
    buf[29] = 5;
    CHECK_EQ(sc_env_parse(buf, n, SC_ENV_FROM_RELAY, &e), SC_ENV_E_FIELD);
    const uint64_t self[] = {5};
    CHECK_EQ(sc_env_encode_welcome(buf, sizeof buf, 5, 100, self, 1), 0);
    CHECK_EQ(sc_env_encode_welcome(buf, sizeof buf, 5, 100, NULL, 0), sc_env_welcome_size(0));
}

static void test_small_types(void)
{
    uint8_t buf[64];
    sc_env e;
    size_t n;

    n = sc_env_encode_joined(buf, sizeof buf, 42);
    CHECK_EQ(n, 14);
    CHECK_EQ(sc_env_parse(buf, n, SC_ENV_FROM_RELAY, &e), 14);
    CHECK_EQ(e.type, SC_ENV_T_JOINED);
    CHECK_EQ(e.member, 42);
    n = sc_env_encode_left(buf, sizeof buf, 43);
    CHECK_EQ(sc_env_parse(buf, n, SC_ENV_FROM_RELAY, &e), 14);
    CHECK_EQ(e.type, SC_ENV_T_LEFT);
    CHECK_EQ(sc_env_encode_left(buf, sizeof buf, 0), 0);
    n = sc_env_encode_sync(buf, sizeof buf, 0xffffffffffffffffull);
    CHECK_EQ(sc_env_parse(buf, n, SC_ENV_FROM_CLIENT, &e), 14);
    CHECK(e.token == 0xffffffffffffffffull);
    n = sc_env_encode_synced(buf, sizeof buf, 3);
    CHECK_EQ(sc_env_parse(buf, n, SC_ENV_FROM_RELAY, &e), 14);
    CHECK_EQ(e.token, 3);
    check_prefixes(buf, n, SC_ENV_FROM_RELAY);
    /* fixed-size bodies reject any other length, longer or shorter */
    buf[5] = 9;
    CHECK_EQ(sc_env_parse(buf, 15, SC_ENV_FROM_RELAY, &e), SC_ENV_E_LENGTH);
    buf[5] = 7;
    CHECK_EQ(sc_env_parse(buf, 13, SC_ENV_FROM_RELAY, &e), SC_ENV_E_LENGTH);
}

static void test_data(void)
{
    uint8_t buf[64];
    sc_env e;
    size_t n = sc_env_encode_data(buf, sizeof buf, 77, SC_ENV_MODE_UNICAST, payload, 3);
    CHECK_EQ(n, SC_ENV_DATA_OVERHEAD + 3);
    CHECK_EQ(sc_env_parse(buf, n, SC_ENV_FROM_RELAY, &e), (int)n);
    CHECK_EQ(e.member, 77);
    CHECK_EQ(e.mode, SC_ENV_MODE_UNICAST);
    CHECK_EQ(e.payload_len, 3);
    CHECK_MEM(e.payload, payload, 3);
    uint8_t hdr[SC_ENV_DATA_OVERHEAD];
    CHECK_EQ(sc_env_write_data_header(hdr, 77, SC_ENV_MODE_UNICAST, 3), SC_ENV_DATA_OVERHEAD);
    CHECK_MEM(hdr, buf, SC_ENV_DATA_OVERHEAD);
    check_prefixes(buf, n, SC_ENV_FROM_RELAY);
    buf[14] = 2;
    CHECK_EQ(sc_env_parse(buf, n, SC_ENV_FROM_RELAY, &e), SC_ENV_E_FIELD);
    CHECK_EQ(sc_env_encode_data(buf, sizeof buf, 0, 0, payload, 3), 0);
    CHECK_EQ(sc_env_encode_data(buf, sizeof buf, 1, 0, payload, 0), 0);
}

static void test_error(void)
{
    uint8_t buf[256];
    sc_env e;
    size_t n = sc_env_encode_error(buf, sizeof buf, SC_ENV_ERR_ROOM_FULL, "room is full");
    CHECK_EQ(n, SC_ENV_HEADER_BYTES + 2 + 12);
    CHECK_EQ(sc_env_parse(buf, n, SC_ENV_FROM_RELAY, &e), (int)n);
    CHECK_EQ(e.code, SC_ENV_ERR_ROOM_FULL);
    CHECK_EQ(e.payload_len, 12);
    CHECK_MEM(e.payload, "room is full", 12);
    CHECK(strcmp(sc_env_error_code_name(e.code), "room-full") == 0);
    buf[10] = '\n';
    CHECK_EQ(sc_env_parse(buf, n, SC_ENV_FROM_RELAY, &e), SC_ENV_E_FIELD);
    char longreason[SC_ENV_MAX_REASON + 2];
    memset(longreason, 'x', sizeof longreason - 1);
    longreason[sizeof longreason - 1] = 0;
    CHECK_EQ(sc_env_encode_error(buf, sizeof buf, 1, longreason), 0);
    longreason[SC_ENV_MAX_REASON] = 0;
    CHECK(sc_env_encode_error(buf, sizeof buf, 1, longreason) > 0);
    CHECK_EQ(sc_env_encode_error(buf, sizeof buf, 0, "x"), 0);
}

static void test_batch_and_garbage(void)
{
    uint8_t buf[128];
    size_t n = sc_env_encode_joined(buf, sizeof buf, 1);
    n += sc_env_encode_data(buf + n, sizeof buf - n, 1, 0, payload, sizeof payload);
    n += sc_env_encode_left(buf + n, sizeof buf - n, 1);
    const uint8_t types[] = {SC_ENV_T_JOINED, SC_ENV_T_DATA, SC_ENV_T_LEFT};
    size_t off = 0;
    int k = 0;
    while (off < n) {
        sc_env e;
        int rc = sc_env_parse(buf + off, n - off, SC_ENV_FROM_RELAY, &e);
        CHECK(rc > 0);
        if (rc <= 0)
            break;
        CHECK_EQ(e.type, types[k]);
        off += (size_t)rc;
        k++;
    }
    CHECK_EQ(k, 3);

    sc_env e;
    const uint8_t badver[] = {2, 0x01, 0, 0, 0, 1, 0};
    CHECK_EQ(sc_env_parse(badver, sizeof badver, SC_ENV_FROM_CLIENT, &e), SC_ENV_E_VERSION);
    const uint8_t badtype[] = {1, 0x7f, 0, 0, 0, 1, 0};
    CHECK_EQ(sc_env_parse(badtype, sizeof badtype, SC_ENV_FROM_CLIENT, &e), SC_ENV_E_TYPE);
    const uint8_t huge[] = {1, 0x01, 0xff, 0xff, 0xff, 0xff, 0};
    CHECK_EQ(sc_env_parse(huge, sizeof huge, SC_ENV_FROM_CLIENT, &e), SC_ENV_E_LENGTH);
    CHECK_EQ(sc_env_parse(huge, 0, SC_ENV_FROM_CLIENT, &e), SC_ENV_E_PARTIAL);
    for (int err = SC_ENV_E_FIELD; err <= SC_ENV_E_PARTIAL; err++)
        CHECK(strlen(sc_env_strerror(err)) > 0);
}

int main(void)
{
    test_send_all();
    test_send_to();
    test_welcome();
    test_small_types();
    test_data();
    test_error();
    test_batch_and_garbage();
    return check_finish("test_envelope");
}
