/* Crypto speed of one build (native or wasm): the libsodium operations the protocol core
 * spends its time in. Prints one line per operation: name, median ns per op over 7 runs. */
#define _POSIX_C_SOURCE 200809L
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef void (*op_fn)(void);

static unsigned char msg[65536], key[32], nonce[24], ct[65536 + 16], pk[32], sk[64], sig[64];
static unsigned char h[64];
static volatile int sink;

static void op_fingerprint(void)
{
    /* the shape of a safety-number fingerprint: 5200 BLAKE2b-512 rounds over 96 bytes */
    unsigned char buf[96];
    memcpy(buf + 64, pk, 32);
    crypto_generichash(h, 64, pk, 32, NULL, 0);
    for (int i = 0; i < 5199; i++) {
        memcpy(buf, h, 64);
        crypto_generichash(h, 64, buf, sizeof buf, NULL, 0);
    }
    sink += h[0];
}
static void op_sign_verify_100(void)
{
    crypto_sign_detached(sig, NULL, msg, 100, sk);
    sink += crypto_sign_verify_detached(sig, msg, 100, pk);
}
static void op_secretbox_1k(void)
{
    crypto_secretbox_easy(ct, msg, 1024, nonce, key);
    sink += crypto_secretbox_open_easy(msg, ct, 1024 + 16, nonce, key);
}
static void op_secretbox_64k(void)
{
    crypto_secretbox_easy(ct, msg, 65536, nonce, key);
    sink += crypto_secretbox_open_easy(msg, ct, 65536 + 16, nonce, key);
}
static void op_kx(void)
{
    unsigned char apk[32], ask[32], bpk[32], bsk[32], rx[32], tx[32];
    crypto_kx_keypair(apk, ask);
    crypto_kx_keypair(bpk, bsk);
    sink += crypto_kx_client_session_keys(rx, tx, apk, ask, bpk);
    sink += crypto_kx_server_session_keys(rx, tx, bpk, bsk, apk);
}

static void run(const char *name, op_fn fn, int iters)
{
    double t[7];
    for (int r = 0; r < 7; r++) {
        double t0 = now_ns();
        for (int i = 0; i < iters; i++)
            fn();
        t[r] = (now_ns() - t0) / iters;
    }
    qsort(t, 7, sizeof t[0], cmp);
    printf("%-18s %12.0f ns/op\n", name, t[3]);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    randombytes_buf(msg, sizeof msg);
    randombytes_buf(key, sizeof key);
    crypto_sign_keypair(pk, sk);
    run("fingerprint", op_fingerprint, 3);
    run("sign+verify 100B", op_sign_verify_100, 50);
    run("secretbox 1KiB", op_secretbox_1k, 2000);
    run("secretbox 64KiB", op_secretbox_64k, 30);
    run("kx handshake", op_kx, 50);
    return sink == 12345 ? 2 : 0;
}
