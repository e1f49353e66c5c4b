/* cli_backoff: reconnect delays, exponential with jitter. */
#ifndef CLI_BACKOFF_H
#define CLI_BACKOFF_H

#include <stdint.h>

#define CLI_BACKOFF_BASE_MS 250u
#define CLI_BACKOFF_CAP_MS 30000u

/*
 * Returns the delay in ms before retry number attempt (1 for the first retry):
 * d = min(cap, base * 2^(attempt-1)), then "equal jitter": d/2 plus a uniform share
 * of d/2 chosen by rnd (any 32-bit value, e.g. randombytes_random()). Clients that
 * lost the same relay thus spread out instead of reconnecting in lockstep.
 */
uint32_t cli_backoff_delay_ms(uint32_t attempt, uint32_t base_ms, uint32_t cap_ms, uint32_t rnd);

#endif
