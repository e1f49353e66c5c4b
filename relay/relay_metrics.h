/*
 * relay_metrics: the relay's counters and their Prometheus text rendering
 * (GET /metrics). Plain integers, bumped by the modules that see the events;
 * the relay is single-threaded.
 */
#ifndef RELAY_METRICS_H
#define RELAY_METRICS_H

#include <stddef.h>
#include <stdint.h>


/* Why a WebSocket connection ended (label "reason" of saltchat_relay_closed_total). */
enum relay_close_reason {
    RELAY_CLOSE_PEER,          /* the client closed */
    RELAY_CLOSE_GONE,          /* connection lost */
    RELAY_CLOSE_TIMEOUT,       /* no pong (nor anything else) within the ping timeout */
    RELAY_CLOSE_TEXT,          /* 1003: text frame */
    RELAY_CLOSE_TOO_BIG,       /* 1009 */
    RELAY_CLOSE_MALFORMED,     /* 1008 */
    RELAY_CLOSE_RATE_LIMITED,  /* 1008 */
    RELAY_CLOSE_RELAY_FULL,    /* 1013 */
    RELAY_CLOSE_SHUTDOWN,      /* 1001 */
    RELAY_CLOSE_INTERNAL,      /* 1011: out of memory */
    RELAY_CLOSE_CLUSTER,       /* 4003: no broker with JetStream */
    RELAY_CLOSE_PROTOCOL,      /* 1002, 1007: RFC 6455 violated (docs/RELAY.md) */
    RELAY_CLOSE_COUNT_
};

/* Why a WebSocket handshake was refused (HTTP status instead of 101). */
enum relay_refuse_reason {
    RELAY_REFUSE_ORIGIN,      /* 403 */
    RELAY_REFUSE_PATH,        /* 404: not /room/<base64url of a 16-byte room id> */
    RELAY_REFUSE_SUBPROTOCOL, /* 400: saltchat.v2 not offered (saltchat.v1 is gone) */
    RELAY_REFUSE_FDS,         /* TCP connection closed at once: file descriptors running out */
    RELAY_REFUSE_HANDSHAKE,   /* 400, 426: not an RFC 6455 handshake */
    RELAY_REFUSE_COUNT_
};

/* Protocol v2 (relay_ws2): its own counters, and the store's figures filled in at render
 * time (relay_store_stats). */
typedef struct relay_metrics_v2 {
    uint64_t connections;    /* v2 connections open (also in relay_metrics.connections) */
    uint64_t accepted;       /* SUBMITs made durable and answered ACCEPTED */
    uint64_t rejected_stale; /* REJECTED STALE_EPOCH */
    uint64_t rejected_other; /* other REJECTEDs */
    uint64_t resumes;        /* RESUMEs */
    uint64_t gone;           /* GONE sent */
    /* --cluster (relay_v2c): the room logs in JetStream */
    uint64_t c_batches;      /* append batches sent to JetStream */
    uint64_t c_appended;     /* entries JetStream stored from them */
    uint64_t c_conflicts;    /* batches cut by another relay's append (decided again) */
    uint64_t c_unknown;      /* SUBMITs whose outcome stayed unknown (connection closed) */
    uint64_t c_replicated;   /* entries the replica took from the watches */
    uint64_t c_broken;       /* rooms this relay stopped serving (gap, bad hash) */
    uint64_t rooms, entries, entry_bytes, file_bytes; /* the store */
    uint64_t flushes, flush_failures, flush_ns_sum, flush_ns_max, retained_out;
} relay_metrics_v2;

typedef struct relay_metrics {
    uint64_t connections;       /* WebSocket connections open now */
    uint64_t connections_total; /* WebSocket connections accepted since start */
    uint64_t frames_in;         /* envelopes accepted from clients */
    uint64_t bytes_in;          /* their bytes */
    uint64_t frames_out;        /* envelopes delivered to clients */
    uint64_t bytes_out;         /* their bytes */
    uint64_t messages_out;      /* WebSocket messages written (a batch is one) */
    uint64_t http_requests;     /* HTTP requests answered (not upgrades) */
    uint64_t closed[RELAY_CLOSE_COUNT_];
    uint64_t refused[RELAY_REFUSE_COUNT_];
    relay_metrics_v2 v2;
} relay_metrics;

/* Returns the label value for reason ("peer", "relay_full", ...). */
const char *relay_metrics_close_name(enum relay_close_reason reason);

/*
 * Writes the Prometheus text exposition of m into out[0..cap).
 * Returns the length written (without a NUL), or 0 if cap is too small.
 */
size_t relay_metrics_render(const relay_metrics *m, char *out, size_t cap);

/* Writes the protocol v2 figures (saltchat_relay_v2_*) into out[0..cap), as
 * relay_metrics_render does. */
size_t relay_metrics_render_v2(const relay_metrics_v2 *v, char *out, size_t cap);

#endif
