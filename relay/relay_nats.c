#include "relay_nats.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nats/nats.h>

#include "relay_log.h"
#include "relay_map.h"

/* Items the loop handles per wake-up: the WebSockets get their turn between batches. */
#define DRAIN_BUDGET 2048u
/* A SYNC waits at most this long for the broker's PONG. */
#define FLUSH_TIMEOUT_MS 5000
/* Ids of subscriptions whose messages were dropped, remembered between drains. */
#define MAX_LOST 32

enum item_kind { IT_MSG, IT_CONNECTED, IT_DISCONNECTED, IT_CLOSED, IT_FLUSHED };

struct item {
    struct item *next;
    uint8_t kind;
    uint8_t ok;
    uint64_t sid, marker, at_ms;
    size_t bytes;
    natsMsg *msg;
};

struct sub {
    relay_map_node node; /* n->subs by sid */
    uint64_t sid;
    natsSubscription *s;
};

struct relay_nats {
    struct lws_context *ctx;
    natsOptions *opts;
    natsConnection *nc;
    size_t max_lag;
    size_t min_payload; /* the broker must accept messages this large */
    relay_map subs; /* loop thread only */

    pthread_mutex_t mu; /* guards everything below */
    pthread_cond_t cv;
    struct item *head, *tail;
    size_t count, bytes;
    int wake_pending; /* lws_cancel_service called, drain not yet run */
    int closing;
    uint64_t lost[MAX_LOST];
    int n_lost, lost_all;
    uint64_t flush_want, flush_seen; /* markers asked for / taken by the flush thread */
    relay_nats_stats st;
    uint64_t msgs_in, msgs_freed; /* natsMsg handed to us / destroyed by us */

    pthread_t flusher;
    int flusher_started;
    int stopped;
    relay_cluster *cluster;          /* for the deferred flush */
    lws_sorted_usec_list_t defer_sul;
};

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t sid_hash(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    return x ^ (x >> 33);
}

static int sid_eq(const relay_map_node *node, const void *key)
{
    return lws_container_of(node, struct sub, node)->sid == *(const uint64_t *)key;
}

/* With n->mu held: appends it; returns 1 if the loop must be woken. */
static int push_locked(relay_nats *n, struct item *it)
{
    it->next = NULL;
    if (n->tail)
        n->tail->next = it;
    else
        n->head = it;
    n->tail = it;
    n->count++;
    n->bytes += it->bytes;
    if (n->bytes > n->st.max_queued_bytes)
        n->st.max_queued_bytes = n->bytes;
    if (n->wake_pending)
        return 0;
    n->wake_pending = 1;
    return 1;
}

/* Queues an event (not a message); never dropped. */
static void push_event(relay_nats *n, uint8_t kind, uint64_t marker, int ok)
{
    struct item *it = calloc(1, sizeof *it);
    int wake = 0;

    pthread_mutex_lock(&n->mu);
    if (!it) {
        /* cannot say what happened: have every room treated as lost */
        n->lost_all = 1;
        wake = !n->wake_pending;
        n->wake_pending = 1;
    } else if (n->closing) {
        free(it);
    } else {
        it->kind = kind;
        it->marker = marker;
        it->ok = (uint8_t)ok;
        it->at_ms = now_ms();
        wake = push_locked(n, it);
    }
    pthread_mutex_unlock(&n->mu);
    if (wake)
        lws_cancel_service(n->ctx);
}

/* With n->mu held: remembers that messages of sid were dropped. */
static int mark_lost_locked(relay_nats *n, uint64_t sid)
{
    int i;

    n->st.dropped++;
    for (i = 0; i < n->n_lost && n->lost[i] != sid; i++)
        ;
    if (i == n->n_lost) {
        if (n->n_lost < MAX_LOST)
            n->lost[n->n_lost++] = sid;
        else
            n->lost_all = 1;
    }
    if (n->wake_pending)
        return 0;
    n->wake_pending = 1;
    return 1;
}

/* libnats' delivery thread. */
static void on_msg(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    relay_nats *n = closure;
    uint64_t sid = (uint64_t)natsSubscription_GetID(sub);
    size_t bytes = (size_t)natsMsg_GetDataLength(msg) + strlen(natsMsg_GetSubject(msg));
    struct item *it = malloc(sizeof *it);
    int wake = 0;

    (void)nc;
    pthread_mutex_lock(&n->mu);
    n->msgs_in++;
    if (n->closing) {
        n->msgs_freed++;
        pthread_mutex_unlock(&n->mu);
        free(it);
        natsMsg_Destroy(msg);
        return;
    }
    if (!it || n->bytes + bytes > n->max_lag) {
        wake = mark_lost_locked(n, sid);
        n->msgs_freed++;
        pthread_mutex_unlock(&n->mu);
        free(it);
        natsMsg_Destroy(msg);
    } else {
        memset(it, 0, sizeof *it);
        it->kind = IT_MSG;
        it->sid = sid;
        it->msg = msg;
        it->bytes = bytes;
        it->at_ms = now_ms();
        wake = push_locked(n, it);
        pthread_mutex_unlock(&n->mu);
    }
    if (wake)
        lws_cancel_service(n->ctx);
}

/* libnats' connection-event thread. */
static void on_connected(natsConnection *nc, void *closure)
{
    (void)nc;
    push_event(closure, IT_CONNECTED, 0, 1);
}

static void on_disconnected(natsConnection *nc, void *closure)
{
    (void)nc;
    push_event(closure, IT_DISCONNECTED, 0, 0);
}

static void on_closed(natsConnection *nc, void *closure)
{
    (void)nc;
    push_event(closure, IT_CLOSED, 0, 0);
}

static void on_error(natsConnection *nc, natsSubscription *sub, natsStatus err, void *closure)
{
    relay_nats *n = closure;
    int wake = 0;

    (void)nc;
    if (err != NATS_SLOW_CONSUMER)
        return; /* connection errors arrive as disconnections */
    pthread_mutex_lock(&n->mu);
    if (!n->closing)
        wake = mark_lost_locked(n, sub ? (uint64_t)natsSubscription_GetID(sub) : 0);
    pthread_mutex_unlock(&n->mu);
    if (wake)
        lws_cancel_service(n->ctx);
}

/* Our thread: one broker round trip per batch of SYNCs. */
static void *flusher_main(void *arg)
{
    relay_nats *n = arg;

    pthread_mutex_lock(&n->mu);
    for (;;) {
        while (!n->closing && n->flush_want == n->flush_seen)
            pthread_cond_wait(&n->cv, &n->mu);
        if (n->closing)
            break;
        uint64_t marker = n->flush_want;
        n->flush_seen = marker;
        pthread_mutex_unlock(&n->mu);
        natsStatus s = natsConnection_FlushTimeout(n->nc, FLUSH_TIMEOUT_MS);
        pthread_mutex_lock(&n->mu);
        n->st.flushes++;
        if (n->closing)
            break;
        pthread_mutex_unlock(&n->mu);
        push_event(n, IT_FLUSHED, marker, s == NATS_OK);
        pthread_mutex_lock(&n->mu);
    }
    pthread_mutex_unlock(&n->mu);
    return NULL;
}

/* ---- transport callbacks (loop thread) ---- */

static int t_publish(void *arg, const char *subject, const uint8_t *data, size_t len)
{
    relay_nats *n = arg;

    if (n->stopped || !n->nc)
        return -1;
    return natsConnection_Publish(n->nc, subject, data, (int)len) == NATS_OK ? 0 : -1;
}

static int t_subscribe(void *arg, const char *subject, uint64_t *sid)
{
    relay_nats *n = arg;
    natsSubscription *s = NULL;
    struct sub *rec = calloc(1, sizeof *rec);

    if (!rec || n->stopped || !n->nc ||
        natsConnection_Subscribe(&s, n->nc, subject, on_msg, n) != NATS_OK) {
        free(rec);
        return -1;
    }
    rec->sid = (uint64_t)natsSubscription_GetID(s);
    rec->s = s;
    relay_map_insert(&n->subs, &rec->node, sid_hash(rec->sid));
    *sid = rec->sid;
    return 0;
}

static void t_unsubscribe(void *arg, uint64_t sid)
{
    relay_nats *n = arg;
    relay_map_node *node;

    if (n->stopped || !(node = relay_map_find(&n->subs, sid_hash(sid), sid_eq, &sid)))
        return;
    struct sub *rec = lws_container_of(node, struct sub, node);
    relay_map_remove(&n->subs, node);
    natsSubscription_Unsubscribe(rec->s);
    natsSubscription_Destroy(rec->s);
    free(rec);
}

static void t_flush(void *arg, uint64_t marker)
{
    relay_nats *n = arg;

    pthread_mutex_lock(&n->mu);
    if (marker > n->flush_want)
        n->flush_want = marker;
    pthread_cond_signal(&n->cv);
    pthread_mutex_unlock(&n->mu);
}

static void t_wake(void *arg)
{
    relay_nats *n = arg;

    pthread_mutex_lock(&n->mu);
    n->wake_pending = 1;
    pthread_mutex_unlock(&n->mu);
    lws_cancel_service(n->ctx);
}

static void defer_cb(lws_sorted_usec_list_t *sul)
{
    relay_nats *n = lws_container_of(sul, relay_nats, defer_sul);

    if (n->cluster && !n->stopped)
        relay_cluster_flush(n->cluster);
}

/* lws runs timers due "now" after the events of the current loop iteration. */
static void t_defer(void *arg)
{
    relay_nats *n = arg;

    if (!n->stopped)
        lws_sul_schedule(n->ctx, 0, &n->defer_sul, defer_cb, 1);
}

relay_cluster_transport relay_nats_transport(relay_nats *n)
{
    relay_cluster_transport t = {t_publish, t_subscribe, t_unsubscribe, t_flush, t_wake,
                                 t_defer, n};
    return t;
}

void relay_nats_attach(relay_nats *n, relay_cluster *c)
{
    n->cluster = c;
}

/* ---- lifetime ---- */

relay_nats *relay_nats_new(char *const *urls, size_t count, struct lws_context *ctx,
                           size_t max_lag, size_t min_payload, char *err, size_t cap)
{
    relay_nats *n = calloc(1, sizeof *n);
    natsStatus s;

    if (!n || relay_map_init(&n->subs, 6)) {
        snprintf(err, cap, "out of memory");
        free(n);
        return NULL;
    }
    pthread_mutex_init(&n->mu, NULL);
    pthread_cond_init(&n->cv, NULL);
    n->ctx = ctx;
    n->max_lag = max_lag;
    n->min_payload = min_payload;
    s = natsOptions_Create(&n->opts);
    if (s == NATS_OK)
        s = natsOptions_SetServers(n->opts, (const char **)urls, (int)count);
    if (s == NATS_OK)
        s = natsOptions_SetName(n->opts, "saltchat-relay");
    if (s == NATS_OK)
        s = natsOptions_SetNoEcho(n->opts, true);
    if (s == NATS_OK)
        s = natsOptions_SetAllowReconnect(n->opts, true);
    if (s == NATS_OK)
        s = natsOptions_SetMaxReconnect(n->opts, -1); /* for ever */
    if (s == NATS_OK)
        s = natsOptions_SetReconnectWait(n->opts, 250);
    if (s == NATS_OK)
        s = natsOptions_SetReconnectJitter(n->opts, 250, 1000);
    if (s == NATS_OK)
        s = natsOptions_SetTimeout(n->opts, 2000);
    if (s == NATS_OK) /* a broker that stops answering is noticed within ~6 s */
        s = natsOptions_SetPingInterval(n->opts, 2000);
    if (s == NATS_OK)
        s = natsOptions_SetMaxPingsOut(n->opts, 2);
    if (s == NATS_OK) /* a publish never blocks the loop longer than this */
        s = natsOptions_SetWriteDeadline(n->opts, 2000);
    if (s == NATS_OK)
        s = natsOptions_SetIOBufSize(n->opts, 256 * 1024);
    if (s == NATS_OK) /* relay_cluster bundles per room and batch: send each one at once
                         (libnats' flusher would hold it up to 1 ms more) */
        s = natsOptions_SetSendAsap(n->opts, true);
    if (s == NATS_OK) /* publishes while reconnecting: little, the cluster stops publishing */
        s = natsOptions_SetReconnectBufSize(n->opts, 1024 * 1024);
    if (s == NATS_OK)
        s = natsOptions_UseGlobalMessageDelivery(n->opts, true);
    if (s == NATS_OK)
        s = natsOptions_SetRetryOnFailedConnect(n->opts, true, on_connected, n);
    if (s == NATS_OK)
        s = natsOptions_SetDisconnectedCB(n->opts, on_disconnected, n);
    if (s == NATS_OK)
        s = natsOptions_SetReconnectedCB(n->opts, on_connected, n);
    if (s == NATS_OK)
        s = natsOptions_SetClosedCB(n->opts, on_closed, n);
    if (s == NATS_OK)
        s = natsOptions_SetErrorHandler(n->opts, on_error, n);
    if (s != NATS_OK) {
        snprintf(err, cap, "cannot set up the NATS client: %s (check the --cluster URLs)",
                 natsStatus_GetText(s));
        relay_nats_free(n);
        return NULL;
    }
    return n;
}

int relay_nats_start(relay_nats *n, char *err, size_t cap)
{
    natsStatus s = natsConnection_Connect(&n->nc, n->opts);

    if (s == NATS_OK) {
        push_event(n, IT_CONNECTED, 0, 1);
    } else if (s != NATS_NOT_YET_CONNECTED) {
        snprintf(err, cap, "cannot start the NATS connection: %s", natsStatus_GetText(s));
        n->nc = NULL;
        return -1;
    }
    if (pthread_create(&n->flusher, NULL, flusher_main, n)) {
        snprintf(err, cap, "cannot start a thread");
        return -1;
    }
    n->flusher_started = 1;
    return 0;
}

void relay_nats_drain(relay_nats *n, relay_cluster *c)
{
    struct item *batch, *last = NULL;
    uint64_t lost[MAX_LOST];
    int n_lost, lost_all, more;
    uint32_t k = 0;

    pthread_mutex_lock(&n->mu);
    batch = n->head;
    for (struct item *it = batch; it && k < DRAIN_BUDGET; it = it->next, k++) {
        last = it;
        n->count--;
        n->bytes -= it->bytes;
    }
    if (last) {
        n->head = last->next;
        if (!n->head)
            n->tail = NULL;
        last->next = NULL;
    } else {
        batch = NULL;
    }
    n_lost = n->n_lost;
    memcpy(lost, n->lost, sizeof lost);
    lost_all = n->lost_all;
    n->n_lost = n->lost_all = 0;
    more = n->head != NULL;
    n->wake_pending = more;
    pthread_mutex_unlock(&n->mu);

    uint64_t freed = 0;
    while (batch) {
        struct item *it = batch;
        batch = it->next;
        switch (it->kind) {
        case IT_MSG:
            relay_cluster_message(c, it->sid, natsMsg_GetSubject(it->msg),
                                  (const uint8_t *)natsMsg_GetData(it->msg),
                                  (size_t)natsMsg_GetDataLength(it->msg), it->at_ms);
            natsMsg_Destroy(it->msg);
            freed++;
            break;
        case IT_CONNECTED: {
            char url[256] = "?";
            if (n->nc)
                natsConnection_GetConnectedUrl(n->nc, url, sizeof url);
            relay_log(RELAY_LOG_NOTICE, "cluster: connected to the broker %s", url);
            int64_t mp = n->nc ? natsConnection_GetMaxPayload(n->nc) : 0;
            if (mp > 0 && (uint64_t)mp < n->min_payload)
                relay_log(RELAY_LOG_WARN,
                          "cluster: the broker accepts messages of at most %lld bytes, less "
                          "than a largest frame needs (%zu): such frames will disconnect "
                          "their room (4003); raise max_payload in nats-server or lower "
                          "--max-frame",
                          (long long)mp, n->min_payload);
            relay_cluster_connected(c, it->at_ms);
            break;
        }
        case IT_DISCONNECTED:
            relay_log(RELAY_LOG_WARN,
                      "cluster: lost the broker; disconnecting every member (4003) and "
                      "refusing new ones until it is back");
            relay_cluster_disconnected(c);
            break;
        case IT_CLOSED:
            relay_cluster_disconnected(c);
            break;
        default: /* IT_FLUSHED */
            relay_cluster_flushed(c, it->marker, it->ok);
            break;
        }
        free(it);
    }
    if (freed) {
        pthread_mutex_lock(&n->mu);
        n->msgs_freed += freed;
        pthread_mutex_unlock(&n->mu);
    }
    if (lost_all)
        relay_cluster_lost(c, 0);
    for (int i = 0; i < n_lost && !lost_all; i++)
        relay_cluster_lost(c, lost[i]);
    if (lost_all || n_lost)
        relay_log(RELAY_LOG_WARN,
                  "cluster: fell behind the broker (messages dropped); disconnecting the "
                  "members of the rooms affected (4003)");
    relay_cluster_poll(c);
    if (more)
        lws_cancel_service(n->ctx);
}

static void free_subs(relay_nats *n)
{
    for (size_t i = 0; n->subs.buckets && i <= n->subs.mask; i++)
        while (n->subs.buckets[i]) {
            struct sub *rec = lws_container_of(n->subs.buckets[i], struct sub, node);
            relay_map_remove(&n->subs, &rec->node);
            natsSubscription_Destroy(rec->s);
            free(rec);
        }
}

void relay_nats_stop(relay_nats *n)
{
    if (n->stopped)
        return;
    n->stopped = 1;
    lws_sul_cancel(&n->defer_sul);
    pthread_mutex_lock(&n->mu);
    n->closing = 1;
    pthread_cond_broadcast(&n->cv);
    pthread_mutex_unlock(&n->mu);
    if (n->nc)
        natsConnection_Close(n->nc);
    if (n->flusher_started)
        pthread_join(n->flusher, NULL);
    n->flusher_started = 0;
    /* libnats wants every object destroyed before it lets its threads go */
    free_subs(n);
    natsConnection_Destroy(n->nc);
    n->nc = NULL;
    natsOptions_Destroy(n->opts);
    n->opts = NULL;
    /* messages not drained (callbacks still running destroy theirs: closing is set) */
    pthread_mutex_lock(&n->mu);
    while (n->head) {
        struct item *it = n->head;
        n->head = it->next;
        if (it->msg) {
            natsMsg_Destroy(it->msg);
            n->msgs_freed++;
        }
        free(it);
    }
    n->tail = NULL;
    n->count = n->bytes = 0;
    pthread_mutex_unlock(&n->mu);
    /* waits for libnats' threads: no callback runs after this */
    natsStatus st = nats_CloseAndWait(2000);
    if (st != NATS_OK)
        relay_log(RELAY_LOG_WARN, "cluster: the NATS client did not stop cleanly: %s",
                  natsStatus_GetText(st));
    /* every message libnats handed over was released (the tests read this line) */
    if (n->msgs_in != n->msgs_freed)
        relay_log(RELAY_LOG_ERROR, "cluster: %llu NATS messages received were not released",
                  (unsigned long long)(n->msgs_in - n->msgs_freed));
}

void relay_nats_free(relay_nats *n)
{
    if (!n)
        return;
    relay_nats_stop(n);
    relay_map_free(&n->subs);
    pthread_cond_destroy(&n->cv);
    pthread_mutex_destroy(&n->mu);
    free(n);
}

void relay_nats_get_stats(relay_nats *n, relay_nats_stats *out)
{
    pthread_mutex_lock(&n->mu);
    *out = n->st;
    out->queued = n->count;
    out->queued_bytes = n->bytes;
    pthread_mutex_unlock(&n->mu);
}
