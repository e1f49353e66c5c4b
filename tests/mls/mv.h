/*
 * mv: the MLS vector runner's shared parts (tests only, never linked into the library).
 *
 * `mls-vectors FILE...` reads each file (the working group's JSON format, see
 * ../shared/mls-vectors/test-vectors.md), picks the checker by the file's base name
 * (tree-math.json -> mv_check_tree_math; passive-client-*.json -> the passive checker)
 * and runs it on every array element. It prints per file: passed / failed / skipped,
 * with the reason for every skip and failure, and exits 1 if any case failed.
 *
 * A checker gets one case (a JSON object) and returns MV_PASS, MV_FAIL or MV_SKIP, with
 * a reason in res->why for FAIL and SKIP (mv_fail/mv_skip format it). Cases of another
 * cipher suite than 3 are skipped by the checker with the reason "cipher suite N".
 */
#ifndef MV_H
#define MV_H

#include <stddef.h>
#include <stdint.h>

#include "mv_json.h"

enum mv_outcome { MV_PASS = 0, MV_FAIL = 1, MV_SKIP = 2 };

typedef struct mv_result {
    char why[512];
} mv_result;

/* Fill res->why (printf-style) and return MV_FAIL / MV_SKIP. */
int mv_fail(mv_result *res, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int mv_skip(mv_result *res, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Hex helpers over a JSON string member: decodes obj[key] into a new malloc'd buffer
 * (*out, *len); returns 0, or -1 if the member is missing or not valid hex. */
int mv_hex(const mv_json *obj, const char *key, uint8_t **out, size_t *len);
/* 1 if obj[key] decodes to exactly (p, n); else 0 (and fills res->why with both). */
int mv_hex_eq(const mv_json *obj, const char *key, const uint8_t *p, size_t n,
              mv_result *res);

/* For suite-specific cases: MV_PASS if tc's "cipher_suite" is 3, MV_SKIP with the reason
 * "cipher suite N (only 3 is implemented)" if it is another, MV_FAIL if it is missing. */
int mv_suite(const mv_json *tc, mv_result *res);

typedef int (*mv_checker)(const mv_json *tc, mv_result *res);

/* One per vector file kind; each lives in its own mv_<kind>.c. */
int mv_check_tree_math(const mv_json *tc, mv_result *res);
int mv_check_crypto_basics(const mv_json *tc, mv_result *res);
int mv_check_deserialization(const mv_json *tc, mv_result *res);
int mv_check_secret_tree(const mv_json *tc, mv_result *res);
int mv_check_message_protection(const mv_json *tc, mv_result *res);
int mv_check_key_schedule(const mv_json *tc, mv_result *res);
int mv_check_psk_secret(const mv_json *tc, mv_result *res);
int mv_check_transcript_hashes(const mv_json *tc, mv_result *res);
int mv_check_welcome(const mv_json *tc, mv_result *res);
int mv_check_tree_operations(const mv_json *tc, mv_result *res);
int mv_check_tree_validation(const mv_json *tc, mv_result *res);
int mv_check_treekem(const mv_json *tc, mv_result *res);
int mv_check_messages(const mv_json *tc, mv_result *res);
int mv_check_passive_client(const mv_json *tc, mv_result *res);

#endif
