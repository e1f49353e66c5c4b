/* mls-vectors FILE...: checks RFC 9420 test vector files (see mv.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "mv.h"

/* File base name (without ".json"; a trailing '*' matches any rest) -> checker. Each line
 * is guarded by MV_HAVE_<KIND>, which tests/mls/CMakeLists.txt defines for every checker
 * it builds, so a checker that is not there yet is not linked. */
static const struct {
    const char *name;
    mv_checker check;
} checkers[] = {
#ifdef MV_HAVE_TREE_MATH
    { "tree-math", mv_check_tree_math },
#endif
#ifdef MV_HAVE_CRYPTO_BASICS
    { "crypto-basics", mv_check_crypto_basics },
#endif
#ifdef MV_HAVE_DESERIALIZATION
    { "deserialization", mv_check_deserialization },
#endif
#ifdef MV_HAVE_SECRET_TREE
    { "secret-tree", mv_check_secret_tree },
#endif
#ifdef MV_HAVE_MESSAGE_PROTECTION
    { "message-protection", mv_check_message_protection },
#endif
#ifdef MV_HAVE_KEY_SCHEDULE
    { "key-schedule", mv_check_key_schedule },
#endif
#ifdef MV_HAVE_PSK_SECRET
    { "psk_secret", mv_check_psk_secret },
#endif
#ifdef MV_HAVE_TRANSCRIPT_HASHES
    { "transcript-hashes", mv_check_transcript_hashes },
#endif
#ifdef MV_HAVE_WELCOME
    { "welcome", mv_check_welcome },
#endif
#ifdef MV_HAVE_TREE_OPERATIONS
    { "tree-operations", mv_check_tree_operations },
#endif
#ifdef MV_HAVE_TREE_VALIDATION
    { "tree-validation", mv_check_tree_validation },
#endif
#ifdef MV_HAVE_TREEKEM
    { "treekem", mv_check_treekem },
#endif
#ifdef MV_HAVE_MESSAGES
    { "messages", mv_check_messages },
#endif
#ifdef MV_HAVE_PASSIVE_CLIENT
    { "passive-client-*", mv_check_passive_client },
#endif
    { NULL, NULL },
};

static mv_checker find_checker(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    if (n > 5 && strcmp(base + n - 5, ".json") == 0)
        n -= 5;
    for (size_t i = 0; checkers[i].name; i++) {
        const char *name = checkers[i].name;
        size_t k = strlen(name);
        if (k && name[k - 1] == '*') {
            if (n >= k - 1 && memcmp(base, name, k - 1) == 0)
                return checkers[i].check;
        } else if (n == k && memcmp(base, name, k) == 0) {
            return checkers[i].check;
        }
    }
    return NULL;
}

static char *read_file(const char *path, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, n = 0;
    if (!f) {
        snprintf(err, errlen, "cannot open: %s", strerror(errno));
        return NULL;
    }
    for (;;) {
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 65536;
            char *nb = realloc(buf, ncap);
            if (!nb) {
                snprintf(err, errlen, "out of memory");
                goto fail;
            }
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) {
                snprintf(err, errlen, "read error");
                goto fail;
            }
            break;
        }
    }
    fclose(f);
    *len = n;
    return buf;
fail:
    fclose(f);
    free(buf);
    return NULL;
}

/* Runs one file; returns 0 if nothing failed. */
static int run_file(const char *path)
{
    char err[256];
    size_t len = 0;
    mv_checker check = find_checker(path);
    if (!check) {
        printf("%s: 0 passed, 1 failed, 0 skipped\n  no checker for this file\n", path);
        return 1;
    }
    char *text = read_file(path, &len, err, sizeof err);
    if (!text) {
        printf("%s: 0 passed, 1 failed, 0 skipped\n  %s\n", path, err);
        return 1;
    }
    mv_json *doc = mv_json_parse(text, len, err, sizeof err);
    free(text);
    if (!doc || doc->type != MV_J_ARR || doc->n == 0) {
        printf("%s: 0 passed, 1 failed, 0 skipped\n  not a JSON array of cases: %s\n", path,
               doc ? (doc->type == MV_J_ARR ? "empty" : "not an array") : err);
        mv_json_free(doc);
        return 1;
    }
    size_t counts[3] = { 0, 0, 0 };
    char *log = NULL;
    size_t log_len = 0;
    FILE *lf = open_memstream(&log, &log_len);
    for (size_t i = 0; i < doc->n; i++) {
        mv_result res;
        memset(&res, 0, sizeof res);
        int out = doc->items[i].type == MV_J_OBJ
                      ? check(&doc->items[i], &res)
                      : mv_fail(&res, "case is not a JSON object");
        if (out != MV_PASS && out != MV_SKIP)
            out = MV_FAIL;
        counts[out]++;
        if (out != MV_PASS && lf)
            fprintf(lf, "  case %zu: %s: %s\n", i, out == MV_FAIL ? "FAIL" : "skip",
                    res.why[0] ? res.why : "(no reason given)");
    }
    if (lf)
        fclose(lf);
    printf("%s: %zu passed, %zu failed, %zu skipped\n", path, counts[MV_PASS],
           counts[MV_FAIL], counts[MV_SKIP]);
    if (log)
        fputs(log, stdout);
    free(log);
    mv_json_free(doc);
    return counts[MV_FAIL] ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: mls-vectors FILE.json...\n");
        return 2;
    }
    if (sodium_init() < 0) {
        fprintf(stderr, "mls-vectors: sodium_init failed\n");
        return 1;
    }
    int failed = 0;
    for (int i = 1; i < argc; i++)
        failed |= run_file(argv[i]);
    fflush(stdout);
    return failed ? 1 : 0;
}
