#include "relay_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <libwebsockets.h>

static int log_level = RELAY_LOG_NOTICE;
/* the lws levels that are on (lws' own default until relay_log_init) */
static int lws_mask = LLL_ERR | LLL_WARN | LLL_NOTICE;

static const char *const names[] = {"error", "warn", "notice", "info", "debug"};

int relay_log_level_parse(const char *s)
{
    for (int i = 0; i < (int)(sizeof names / sizeof names[0]); i++)
        if (!strcmp(s, names[i]))
            return i;
    return -1;
}

/* The last lws line and how often it repeated: lws can repeat one error at a
 * high rate (accept failing while the process is out of file descriptors). */
static char last_line[160];
static unsigned long repeats;

static void flush_repeats(void)
{
    if (repeats)
        fprintf(stderr, "saltchat-relay: lws: previous message repeated %lu times\n", repeats);
    repeats = 0;
}

static void lws_emit(int level, const char *line)
{
    size_t n = strlen(line);
    const char *tag = (level & LLL_ERR) ? "error" : (level & LLL_WARN) ? "warn" : "info";

    /* lws lines carry their own newline */
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    if (n < sizeof last_line && !strncmp(line, last_line, n) && !last_line[n]) {
        if (++repeats % 100000 == 0)
            flush_repeats();
        return;
    }
    flush_repeats();
    snprintf(last_line, sizeof last_line, "%.*s", (int)n, line);
    fprintf(stderr, "saltchat-relay: %s: lws: %.*s\n", tag, (int)n, line);
}

void relay_log_init(int level)
{
    int mask = LLL_ERR;

    log_level = level;
    /* lws warns about every malformed packet a peer sends: only from info up */
    if (level >= RELAY_LOG_INFO)
        mask |= LLL_WARN | LLL_NOTICE | LLL_USER;
    if (level >= RELAY_LOG_DEBUG)
        mask |= LLL_INFO;
    lws_mask = mask;
    lws_set_log_level(mask, lws_emit);
}

/*
 * Debian's lws 4.1.6 is built with its debug and parser lines compiled in: about nine
 * _lws_log calls per received frame, each of which (in the library) copies its
 * variadic arguments into a va_list and makes a second call, to _lws_logv, before
 * the level is checked. lws calls _lws_log through its PLT, so this definition in the
 * executable takes precedence over the library's (as recv does in relay_rawrx): a line
 * whose level is off returns at once; the others go on to lws' _lws_logv unchanged.
 */
void _lws_log(int filter, const char *format, ...)
{
    va_list ap;

    if (!(filter & lws_mask))
        return;
    va_start(ap, format);
    _lws_logv(filter, format, ap);
    va_end(ap);
}

void relay_log(int level, const char *fmt, ...)
{
    va_list ap;

    if (level > log_level)
        return;
    fprintf(stderr, "saltchat-relay: %s: ", names[level]);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}
