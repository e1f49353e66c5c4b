#include "cli_json.h"

#include <inttypes.h>
#include <string.h>

#include "cli_text.h"

int cli_json_escape(cli_buf *b, const uint8_t *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    int rc = cli_buf_append(b, "\"", 1);
    uint32_t cp;
    for (size_t i = 0; i < n && !rc;) {
        size_t k = cli_utf8_decode(s + i, n - i, &cp);
        if (!k) {
            rc = cli_buf_append(b, "\\ufffd", 6);
            i++;
            continue;
        }
        if (cp == '"' || cp == '\\') {
            char e[2] = {'\\', (char)cp};
            rc = cli_buf_append(b, e, 2);
        } else if (cp == '\n') {
            rc = cli_buf_append(b, "\\n", 2);
        } else if (cp == '\r') {
            rc = cli_buf_append(b, "\\r", 2);
        } else if (cp == '\t') {
            rc = cli_buf_append(b, "\\t", 2);
        } else if (cp < 0x20 || cp == 0x7f || cp == 0x2028 || cp == 0x2029) {
            char e[6] = {'\\', 'u', hex[(cp >> 12) & 15], hex[(cp >> 8) & 15], hex[(cp >> 4) & 15],
                         hex[cp & 15]};
            rc = cli_buf_append(b, e, 6);
        } else {
            rc = cli_buf_append(b, s + i, k);
        }
        i += k;
    }
    return rc ? -1 : cli_buf_append(b, "\"", 1);
}

static void key(cli_json *j, const char *k)
{
    if (j->members++ && cli_buf_append(j->b, ",", 1))
        j->failed = 1;
    if (cli_json_escape(j->b, (const uint8_t *)k, strlen(k)) || cli_buf_append(j->b, ":", 1))
        j->failed = 1;
}

void cli_json_begin(cli_json *j, cli_buf *b)
{
    j->b = b;
    j->members = 0;
    j->failed = cli_buf_append(b, "{", 1) != 0;
}

void cli_json_strn(cli_json *j, const char *k, const uint8_t *s, size_t n)
{
    key(j, k);
    if (cli_json_escape(j->b, s, n))
        j->failed = 1;
}

void cli_json_str(cli_json *j, const char *k, const char *s)
{
    cli_json_strn(j, k, (const uint8_t *)(s ? s : ""), s ? strlen(s) : 0);
}

void cli_json_u64(cli_json *j, const char *k, uint64_t v)
{
    key(j, k);
    if (cli_buf_printf(j->b, "%" PRIu64, v))
        j->failed = 1;
}

void cli_json_int(cli_json *j, const char *k, long long v)
{
    key(j, k);
    if (cli_buf_printf(j->b, "%lld", v))
        j->failed = 1;
}

void cli_json_bool(cli_json *j, const char *k, int v)
{
    key(j, k);
    if (cli_buf_puts(j->b, v ? "true" : "false"))
        j->failed = 1;
}

int cli_json_end(cli_json *j)
{
    if (cli_buf_append(j->b, "}\n", 2))
        j->failed = 1;
    return j->failed ? -1 : 0;
}
