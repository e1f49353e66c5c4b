#include "relay_metrics.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

static const char *const close_names[RELAY_CLOSE_COUNT_] = {
    "peer",      "gone",       "timeout",       "text",     "too_big",  "malformed",
    "rate_limited", "room_full", "relay_full", "slow_consumer", "shutdown", "internal",
    "cluster",   "protocol",
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

size_t relay_metrics_render_cluster(const relay_cluster_stats *c, const relay_metrics_lag *lag,
                                    uint64_t remote_members, char *out, size_t cap)
{
    struct out o = {out, cap, 0, 0};

    if (!cap)
        return 0;
    put(&o, "# HELP saltchat_relay_cluster_info This relay's identity on the bus.\n"
            "# TYPE saltchat_relay_cluster_info gauge\n"
            "saltchat_relay_cluster_info{instance=\"%08" PRIx32 "\",epoch=\"%" PRIu32 "\"} 1\n",
        c->instance, c->epoch);
    metric(&o, "saltchat_relay_cluster_connected", "gauge",
           "1 while connected to the NATS broker.", c->connected);
    metric(&o, "saltchat_relay_cluster_established", "gauge",
           "1 once the other relays are known after connecting (rooms are entered then).",
           c->established);
    metric(&o, "saltchat_relay_cluster_peers", "gauge",
           "Other relays alive (heartbeats within the dead-after time).", c->peers);
    metric(&o, "saltchat_relay_cluster_rooms", "gauge", "Rooms this relay has members in.",
           c->rooms);
    metric(&o, "saltchat_relay_cluster_rooms_shared", "gauge",
           "Of them, rooms other relays have members in too.", c->rooms_shared);
    metric(&o, "saltchat_relay_cluster_rooms_held", "gauge",
           "Rooms whose new members wait for the other relays' STATE.", c->held);
    metric(&o, "saltchat_relay_cluster_remote_members", "gauge",
           "Members of other relays in this relay's rooms.", remote_members);
    metric(&o, "saltchat_relay_cluster_published_total", "counter",
           "Messages published to the broker.", c->published);
    metric(&o, "saltchat_relay_cluster_published_bytes_total", "counter",
           "Bytes published to the broker.", c->published_bytes);
    metric(&o, "saltchat_relay_cluster_publish_errors_total", "counter",
           "Publishes the NATS client refused.", c->publish_errors);
    metric(&o, "saltchat_relay_cluster_received_total", "counter",
           "Messages received from the broker.", c->received);
    metric(&o, "saltchat_relay_cluster_received_bytes_total", "counter",
           "Bytes received from the broker.", c->received_bytes);
    metric(&o, "saltchat_relay_cluster_invalid_total", "counter",
           "Messages from the broker that did not decode.", c->invalid);
    metric(&o, "saltchat_relay_cluster_gaps_total", "counter",
           "Sequence gaps detected in other relays' room streams.", c->gaps);
    put(&o, "# HELP saltchat_relay_cluster_room_losses_total Rooms whose local members were "
            "disconnected with 4003, by cause.\n"
            "# TYPE saltchat_relay_cluster_room_losses_total counter\n");
    for (int i = 0; i < RELAY_CLUSTER_LOSS_COUNT_; i++)
        put(&o, "saltchat_relay_cluster_room_losses_total{cause=\"%s\"} %" PRIu64 "\n",
            relay_cluster_loss_name((enum relay_cluster_loss)i), c->losses[i]);
    metric(&o, "saltchat_relay_cluster_members_disconnected_total", "counter",
           "Local members disconnected with 4003 (room losses).", c->members_lost);
    metric(&o, "saltchat_relay_cluster_heartbeats_sent_total", "counter",
           "Heartbeats published.", c->hb_sent);
    metric(&o, "saltchat_relay_cluster_heartbeats_received_total", "counter",
           "Heartbeats received from other relays.", c->hb_received);
    metric(&o, "saltchat_relay_cluster_peers_dead_total", "counter",
           "Relays declared dead (no heartbeat); their members left every room.", c->peers_dead);
    metric(&o, "saltchat_relay_cluster_fences_sent_total", "counter",
           "Relays told they had been declared dead.", c->fences_sent);
    metric(&o, "saltchat_relay_cluster_connects_total", "counter",
           "Connections (and reconnections) to the broker.", c->connects);
    metric(&o, "saltchat_relay_cluster_disconnects_total", "counter",
           "Connections to the broker lost.", c->disconnects);
    metric(&o, "saltchat_relay_cluster_lag_messages", "gauge",
           "Messages received from the broker, waiting for the relay's loop.", lag->queued);
    metric(&o, "saltchat_relay_cluster_lag_bytes", "gauge", "Their bytes.", lag->queued_bytes);
    metric(&o, "saltchat_relay_cluster_lag_max_bytes", "gauge",
           "Most bytes ever waiting (the bound is --cluster-max-lag).", lag->max_queued_bytes);
    metric(&o, "saltchat_relay_cluster_dropped_total", "counter",
           "Messages dropped because the relay fell behind (their rooms are lost).",
           lag->dropped);
    metric(&o, "saltchat_relay_cluster_syncs_pending", "gauge",
           "SYNCs waiting for a broker round trip.", c->syncs_pending);
    metric(&o, "saltchat_relay_cluster_flushes_total", "counter",
           "Broker round trips made to answer SYNCs.", lag->flushes);
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
