/*
 * relay_ws2: the WebSocket side of protocol v2 (subprotocol saltchat.v2), the relay as
 * MLS delivery service (docs/RELAY.md "Protocol v2 delivery service"). One session per
 * connection on /room/<base64url(room_id)>: CHALLENGE first, then AUTH or CREATE, and
 * GET_GI, RESUME, SUBMIT, checked by relay_ds against the durable log relay_store.
 *
 * Writes are staged and made durable by one store transaction per loop turn (a zero-delay
 * timer after the turn's reads); ACCEPTED and the live LOG fan-out are sent only from
 * the flush's callback, once the entries are durable. A session reading the log (RESUME)
 * has a cursor into the durable log and is written to from the store when its socket
 * has room: a slow reader costs no relay memory, and one that falls behind retention
 * gets GONE. It is the relay's only WebSocket protocol (v1 is gone).
 *
 * Under --cluster (relay_v2c) the store is a replica of each room's JetStream log: the
 * validated SUBMITs of a turn go to JetStream as one batch per room, ACCEPTED once it
 * acknowledged them and the replica has them; the replica is written only from the log.
 */
#ifndef RELAY_WS2_H
#define RELAY_WS2_H

#include <stddef.h>
#include <stdint.h>

#include <libwebsockets.h>

#define RELAY_WS2_SUBPROTOCOL "saltchat.v2"

/* Bytes lws reads from a WebSocket connection per loop turn and hands over per callback
 * (rx_buffer_size, also lws' per-connection receive buffer, from relay_rxpool); longer
 * messages arrive in pieces and are reassembled. At 512 B every loop turn carried two
 * 256-byte frames per sender (docs/RELAY.md, Reassembly). */
#define RELAY_WS_RX_CHUNK (16u * 1024u)

struct relay;

/* Bytes of per-connection state (lws per_session_data_size). */
size_t relay_ws2_session_size(void);

/* 1 if id (NUL-terminated, what follows "/room/" in a request path) is the canonical
 * base64url (no padding) of a 16-byte room id, else 0. */
int relay_ws2_room_path_valid(const char *id);

/* The lws protocol callback for RELAY_WS2_SUBPROTOCOL. */
int relay_ws2_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                       size_t len);

/* Sets up the v2 state of r (r->store must be open). Returns 0, or -1 if out of memory. */
int relay_ws2_init(struct relay *r);

/* Frees what relay_ws2_init allocated (sessions are gone by then). */
void relay_ws2_free(struct relay *r);

/* Once a second: keepalive of v2 sessions, and a store flush for retention. */
void relay_ws2_tick(struct relay *r);

/* relay_rawrx found the client of a v2 wsi breaking RFC 6455: closes it with code. */
void relay_ws2_violation(struct lws *wsi, uint16_t code, const char *why);

/* Starts the graceful shutdown of every v2 connection: flush the store (ACCEPTED for what
 * is durable), deliver the queued replies, send ERROR SHUTDOWN and close with 1001. */
void relay_ws2_shutdown(struct relay *r);

/*
 * Under --cluster (relay_v2c): what the JetStream worker and watches report, on the loop
 * thread from relay_v2c_drain. opened: the room's record (NO_ROOM: none) and, with it, a
 * running watch of its log (base > 0: from the record's snapshot at seq base, for a new
 * replica of a log cut by retention; sync_seq: the log's last seq once the watch ran,
 * which the replica must reach before it answers RESUME or GET_GI; 0: unknown); created: this relay's CREATE won (OK), lost
 * (EXISTS) or failed; appended: of the batch after expect_last, the first `stored` are
 * in the log; entry: one log entry as JetStream holds it, for the replica; drained: the
 * end of a drain (flush the replica's writes).
 */
void relay_ws2_c_opened(struct relay *r, const uint8_t *room, int err, const uint8_t *meta,
                        size_t meta_len, void *watch, uint64_t base, uint64_t sync_seq);
void relay_ws2_c_created(struct relay *r, const uint8_t *room, int err, const uint8_t *meta,
                         size_t meta_len, void *watch);
void relay_ws2_c_appended(struct relay *r, const uint8_t *room, int err, size_t stored,
                          uint64_t expect_last);
void relay_ws2_c_entry(struct relay *r, const uint8_t *room, uint64_t seq, uint64_t time_ms,
                       unsigned flags, const uint8_t *body, size_t len);
void relay_ws2_c_drained(struct relay *r);

/* Number of open v2 connections. */
size_t relay_ws2_sessions(const struct relay *r);

#endif
