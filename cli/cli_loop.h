/*
 * cli_loop: the client's one event loop: a libwebsockets context on its default
 * poll() loop, plus file descriptors to watch (stdin, the signal pipe) and timers.
 *
 * Why the default loop and not libuv like the relay: the client has one WebSocket and
 * two or three other descriptors; poll() over five fds costs nothing, and it spares the
 * client a runtime-loaded event-library plugin and libuv's teardown ordering. lws
 * timers (lws_sul) and raw-file adoption give everything else in the same loop.
 */
#ifndef CLI_LOOP_H
#define CLI_LOOP_H

#include <libwebsockets.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cli_loop cli_loop;

/* Called when a watched fd is readable. Return 0 to keep watching, -1 to stop. */
typedef int (*cli_loop_read_cb)(void *user);
/* Called once when watching stops for any reason other than cli_loop_free (the fd
 * hung up, or the read callback returned -1). */
typedef void (*cli_loop_close_cb)(void *user);
typedef void (*cli_loop_timer_cb)(void *user);

typedef struct cli_timer {
    lws_sorted_usec_list_t sul; /* the lws scheduler's node */
    cli_loop_timer_cb cb;
    void *user;
    int armed;
} cli_timer;

/*
 * Creates the loop. ws_protocol is the WebSocket protocol handler (cli_ws_protocol);
 * ca_file, if not NULL, is trusted for wss:// in addition to the system CA store.
 * verbose lets libwebsockets log warnings to stderr. Returns NULL with err on failure.
 */
cli_loop *cli_loop_new(const struct lws_protocols *ws_protocol, const char *ca_file, int verbose,
                       char *err, size_t cap);

/* Destroys the context (closing every connection and watch) and frees the loop. */
void cli_loop_free(cli_loop *l);

struct lws_context *cli_loop_context(cli_loop *l);

/* Watches a duplicate of fd for readability (the caller keeps fd). Returns 0 or -1. */
int cli_loop_watch(cli_loop *l, int fd, cli_loop_read_cb on_read, cli_loop_close_cb on_close,
                   void *user);

/* Arms t to call cb(user) after delay_ms, replacing any earlier arming of t. */
void cli_loop_timer_set(cli_loop *l, cli_timer *t, uint64_t delay_ms, cli_loop_timer_cb cb,
                        void *user);
/* Disarms t (a no-op if it is not armed). */
void cli_loop_timer_cancel(cli_timer *t);

/* Runs until cli_loop_stop. Returns 0, or -1 if the event loop failed. */
int cli_loop_run(cli_loop *l);
void cli_loop_stop(cli_loop *l);

#endif
