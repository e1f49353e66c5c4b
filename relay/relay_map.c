#include "relay_map.h"

#include <stdlib.h>

int relay_map_init(relay_map *m, unsigned log2_buckets)
{
    size_t n = (size_t)1 << log2_buckets;

    m->buckets = calloc(n, sizeof *m->buckets);
    if (!m->buckets)
        return -1;
    m->mask = n - 1;
    m->count = 0;
    return 0;
}

void relay_map_free(relay_map *m)
{
    free(m->buckets);
    m->buckets = NULL;
    m->mask = 0;
    m->count = 0;
}

relay_map_node *relay_map_find(const relay_map *m, uint64_t hash, relay_map_eq eq,
                               const void *key)
{
    for (relay_map_node *n = m->buckets[hash & m->mask]; n; n = n->next)
        if (n->hash == hash && eq(n, key))
            return n;
    return NULL;
}

static void grow(relay_map *m)
{
    size_t n = (m->mask + 1) * 2;
    relay_map_node **b = calloc(n, sizeof *b);

    if (!b)
        return; /* keep the longer chains; lookups stay correct */
    for (size_t i = 0; i <= m->mask; i++) {
        relay_map_node *node = m->buckets[i];
        while (node) {
            relay_map_node *next = node->next;
            relay_map_node **slot = &b[node->hash & (n - 1)];
            node->next = *slot;
            *slot = node;
            node = next;
        }
    }
    free(m->buckets);
    m->buckets = b;
    m->mask = n - 1;
}

void relay_map_insert(relay_map *m, relay_map_node *node, uint64_t hash)
{
    if (m->count > m->mask)
        grow(m);
    relay_map_node **slot = &m->buckets[hash & m->mask];
    node->hash = hash;
    node->next = *slot;
    *slot = node;
    m->count++;
}

void relay_map_remove(relay_map *m, relay_map_node *node)
{
    for (relay_map_node **p = &m->buckets[node->hash & m->mask]; *p; p = &(*p)->next) {
        if (*p == node) {
            *p = node->next;
            node->next = NULL;
            m->count--;
            return;
        }
    }
}
