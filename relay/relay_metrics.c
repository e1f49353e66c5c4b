#include "relay_metrics.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

static const char *const close_names[RELAY_CLOSE_COUNT_] = {
    "peer",       "gone",     "timeout",  "text",    "too_big", "malformed", "rate_limited",
    "relay_full", "shutdown", "internal", "cluster", "protocol",
};

static const char *const refuse_names[RELAY_REFUSE_COUNT_] = {"origin", "path", "subprotocol",
                                                                "fds", "handshake"};

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

size_t relay_metrics_render(const relay_metrics *m, char *out, size_t cap)
{
    struct out o = {out, cap, 0, 0};

    if (!cap)
        return 0;
    metric(&o, "saltchat_relay_connections", "gauge", "WebSocket connections open now.",
           m->connections);
    metric(&o, "saltchat_relay_connections_total", "counter",
           "WebSocket connections accepted since start.", m->connections_total);
    metric(&o, "saltchat_relay_frames_in_total", "counter",
           "Envelopes accepted from clients (SUBMITs).", m->frames_in);
    metric(&o, "saltchat_relay_bytes_in_total", "counter",
           "Bytes of envelopes accepted from clients.", m->bytes_in);
    metric(&o, "saltchat_relay_frames_out_total", "counter", "Envelopes delivered to clients.",
           m->frames_out);
    metric(&o, "saltchat_relay_bytes_out_total", "counter",
           "Bytes of envelopes delivered to clients.", m->bytes_out);
    metric(&o, "saltchat_relay_messages_out_total", "counter",
           "WebSocket messages written to clients (one batch is one message).",
           m->messages_out);
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


size_t relay_metrics_render_v2(const relay_metrics_v2 *v, char *out, size_t cap)
{
    struct out o = {out, cap, 0, 0};

    if (!cap)
        return 0;
    metric(&o, "saltchat_relay_v2_connections", "gauge",
           "Protocol v2 (saltchat.v2) connections open now.", v->connections);
    metric(&o, "saltchat_relay_v2_accepted_total", "counter",
           "SUBMITs made durable and answered ACCEPTED.", v->accepted);
    put(&o, "# HELP saltchat_relay_v2_rejected_total SUBMITs answered REJECTED, by code.\n"
            "# TYPE saltchat_relay_v2_rejected_total counter\n"
            "saltchat_relay_v2_rejected_total{code=\"stale_epoch\"} %" PRIu64 "\n"
            "saltchat_relay_v2_rejected_total{code=\"other\"} %" PRIu64 "\n",
        v->rejected_stale, v->rejected_other);
    metric(&o, "saltchat_relay_v2_resumes_total", "counter", "RESUMEs received.", v->resumes);
    metric(&o, "saltchat_relay_v2_gone_total", "counter",
           "GONE sent: a RESUME or a reader older than retention.", v->gone);
    metric(&o, "saltchat_relay_v2_cluster_batches_total", "counter",
           "--cluster: append batches sent to JetStream.", v->c_batches);
    metric(&o, "saltchat_relay_v2_cluster_appended_total", "counter",
           "--cluster: entries JetStream stored from them.", v->c_appended);
    metric(&o, "saltchat_relay_v2_cluster_conflicts_total", "counter",
           "--cluster: batches cut by another relay's append (decided again).", v->c_conflicts);
    metric(&o, "saltchat_relay_v2_cluster_unknown_total", "counter",
           "--cluster: SUBMITs whose outcome stayed unknown (connection closed).", v->c_unknown);
    metric(&o, "saltchat_relay_v2_cluster_replicated_total", "counter",
           "--cluster: log entries the replica took from JetStream.", v->c_replicated);
    metric(&o, "saltchat_relay_v2_cluster_rooms_broken_total", "counter",
           "--cluster: rooms this relay stopped serving (a gap or a bad hash).", v->c_broken);
    metric(&o, "saltchat_relay_v2_store_rooms", "gauge", "Rooms in the store.", v->rooms);
    metric(&o, "saltchat_relay_v2_store_entries", "gauge", "Log entries retained, all rooms.",
           v->entries);
    metric(&o, "saltchat_relay_v2_store_entry_bytes", "gauge", "Bytes of those entries.",
           v->entry_bytes);
    metric(&o, "saltchat_relay_v2_store_file_bytes", "gauge",
           "Database file and WAL on disk, bytes.", v->file_bytes);
    metric(&o, "saltchat_relay_v2_store_flushes_total", "counter",
           "Store transactions (at most one per loop turn).", v->flushes);
    metric(&o, "saltchat_relay_v2_store_flush_failures_total", "counter",
           "Store transactions that failed (their writes were refused).", v->flush_failures);
    metric(&o, "saltchat_relay_v2_store_flush_nanoseconds_total", "counter",
           "Time spent in store transactions, nanoseconds.", v->flush_ns_sum);
    metric(&o, "saltchat_relay_v2_store_flush_max_nanoseconds", "gauge",
           "The longest store transaction since start, nanoseconds.", v->flush_ns_max);
    metric(&o, "saltchat_relay_v2_store_retained_out_total", "counter",
           "Entries deleted by retention since start.", v->retained_out);
    return o.overflow ? 0 : o.len;
}
