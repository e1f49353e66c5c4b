/*
 * relay_map: an intrusive chained hash table. Nodes live inside the caller's
 * objects (rooms, members); the table owns only its bucket array. Callers hash
 * their keys themselves (attacker-chosen keys need a keyed hash) and compare
 * them through a callback, so one table type serves every key type.
 */
#ifndef RELAY_MAP_H
#define RELAY_MAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct relay_map_node {
    struct relay_map_node *next;
    uint64_t hash;
} relay_map_node;

typedef struct relay_map {
    relay_map_node **buckets;
    size_t mask; /* bucket count - 1; the count is a power of two */
    size_t count;
} relay_map;

/* Returns nonzero if node holds key. */
typedef int (*relay_map_eq)(const relay_map_node *node, const void *key);

/* Prepares an empty table with 2^log2_buckets buckets. Returns 0, or -1 if out of memory. */
int relay_map_init(relay_map *m, unsigned log2_buckets);

/* Frees the bucket array. The nodes belong to the caller and are not touched. */
void relay_map_free(relay_map *m);

/* Returns the node with this hash for which eq(node, key) holds, or NULL. */
relay_map_node *relay_map_find(const relay_map *m, uint64_t hash, relay_map_eq eq,
                               const void *key);

/*
 * Inserts node under hash (the caller has checked that the key is absent). The
 * table doubles when it holds more nodes than buckets; if that allocation fails
 * the node is still inserted into the smaller table. Never fails.
 */
void relay_map_insert(relay_map *m, relay_map_node *node, uint64_t hash);

/* Unlinks node, which must be in the table. */
void relay_map_remove(relay_map *m, relay_map_node *node);

#endif
