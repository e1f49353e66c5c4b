#include "relay_metrics.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

static const char *const close_names[RELAY_CLOSE_COUNT_] = {
    "peer",      "gone",       "timeout",       "text",     "too_big",  "malformed",
    "rate_limited", "room_full", "relay_full", "slow_consumer", "shutdown", "internal",
};

static const char *const refuse_names[RELAY_REFUSE_COUNT_] = {"origin", "path", "subprotocol",
                                                                "fds"};

const char *relay_metrics_close_name(enum relay_close_reason reason)
{
    return (unsigned)reason < RELAY_CLOSE_COUNT_ ? close_names[reason] : "unknown";
}

struct out {
    char *p;
    size_t cap, len;
    int overflow;
};

__attribute__((format(printf, 2, 3))) static void put(struct out *o, const char *fmt, ...)
{
    va_list ap;

    if (o->overflow)
        return;
    va_start(ap, fmt);
    int n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= o->cap - o->len)
        o->overflow = 1;
    else
        o->len += (size_t)n;
}

static void metric(struct out *o, const char *name, const char *type, const char *help,
                   uint64_t v)
{
    put(o, "# HELP %s %s\n# TYPE %s %s\n%s %" PRIu64 "\n", name, help, name, type, name, v);
}

size_t relay_metrics_render(const relay_metrics *m, const relay_rooms_stats *rooms, char *out,
                            size_t cap)
{
    struct out o = {out, cap, 0, 0};

    if (!cap)
        return 0;
    metric(&o, "saltchat_relay_connections", "gauge", "WebSocket connections open now.",
           m->connections);
    metric(&o, "saltchat_relay_connections_total", "counter",
           "WebSocket connections accepted since start.", m->connections_total);
    metric(&o, "saltchat_relay_rooms", "gauge", "Rooms with at least one member.", rooms->rooms);
    metric(&o, "saltchat_relay_members", "gauge", "Members in rooms now.", rooms->members);
    metric(&o, "saltchat_relay_queue_bytes", "gauge",
           "Bytes held by room logs (frames not yet delivered to every recipient).",
           rooms->log_bytes);
    metric(&o, "saltchat_relay_frames_in_total", "counter",
           "Envelopes accepted from clients.", m->frames_in);
    metric(&o, "saltchat_relay_bytes_in_total", "counter",
           "Bytes of envelopes accepted from clients.", m->bytes_in);
    metric(&o, "saltchat_relay_frames_out_total", "counter", "Envelopes delivered to clients.",
           m->frames_out);
    metric(&o, "saltchat_relay_bytes_out_total", "counter",
           "Bytes of envelopes delivered to clients.", m->bytes_out);
    metric(&o, "saltchat_relay_messages_out_total", "counter",
           "WebSocket messages written to clients (one batch is one message).",
           m->messages_out);
    metric(&o, "saltchat_relay_slow_consumer_disconnects_total", "counter",
           "Members disconnected (4002) because their queue exceeded --max-queue.",
           m->closed[RELAY_CLOSE_SLOW_CONSUMER]);
    metric(&o, "saltchat_relay_sender_pauses_total", "counter",
           "Times a sender's input was paused because most of its room lagged (backpressure).",
           rooms->throttled);
    metric(&o, "saltchat_relay_http_requests_total", "counter", "HTTP requests answered.",
           m->http_requests);
    put(&o, "# HELP saltchat_relay_closed_total WebSocket connections closed, by reason.\n"
            "# TYPE saltchat_relay_closed_total counter\n");
    for (int i = 0; i < RELAY_CLOSE_COUNT_; i++)
        put(&o, "saltchat_relay_closed_total{reason=\"%s\"} %" PRIu64 "\n", close_names[i],
            m->closed[i]);
    put(&o, "# HELP saltchat_relay_handshakes_refused_total Connections refused before they "
            "became WebSockets, by reason.\n"
            "# TYPE saltchat_relay_handshakes_refused_total counter\n");
    for (int i = 0; i < RELAY_REFUSE_COUNT_; i++)
        put(&o, "saltchat_relay_handshakes_refused_total{reason=\"%s\"} %" PRIu64 "\n",
            refuse_names[i], m->refused[i]);
    return o.overflow ? 0 : o.len;
}
