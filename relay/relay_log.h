/*
 * relay_log: one-line log messages on stderr, filtered by level; libwebsockets'
 * own messages go through the same filter. Never pass payloads or secrets here.
 */
#ifndef RELAY_LOG_H
#define RELAY_LOG_H

enum relay_log_level {
    RELAY_LOG_ERROR = 0,
    RELAY_LOG_WARN,
    RELAY_LOG_NOTICE,
    RELAY_LOG_INFO,
    RELAY_LOG_DEBUG
};

/* Returns the level named s ("error", "warn", "notice", "info", "debug"), or -1. */
int relay_log_level_parse(const char *s);

/* Sets the level for relay_log and for libwebsockets' messages. */
void relay_log_init(int level);

/* Logs one line (no trailing newline needed) if level is enabled. */
__attribute__((format(printf, 2, 3))) void relay_log(int level, const char *fmt, ...);

#endif
