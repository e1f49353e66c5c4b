#include <stdio.h>

#include "mls_treemath.h"
#include "mv.h"

/* Compares arr[i] (an integer or null) with got (MLS_NODE_NONE meaning null). */
static int check_entry(const mv_json *arr, const char *what, uint32_t i, uint32_t got,
                       mv_result *res)
{
    const mv_json *v = &arr->items[i];
    if (v->type == MV_J_NULL) {
        if (got != MLS_NODE_NONE)
            return mv_fail(res, "%s[%u]: want null, got %u", what, i, got);
        return MV_PASS;
    }
    if (v->type != MV_J_NUM || !v->is_u64)
        return mv_fail(res, "%s[%u]: not an integer or null", what, i);
    if (got == MLS_NODE_NONE || v->u64 != got)
        return mv_fail(res, "%s[%u]: want %llu, got %s%u", what, i,
                       (unsigned long long)v->u64, got == MLS_NODE_NONE ? "null " : "",
                       got == MLS_NODE_NONE ? 0 : got);
    return MV_PASS;
}

int mv_check_tree_math(const mv_json *tc, mv_result *res)
{
    uint64_t n_leaves, n_nodes, root;
    if (mv_json_u64(tc, "n_leaves", &n_leaves) || mv_json_u64(tc, "n_nodes", &n_nodes) ||
        mv_json_u64(tc, "root", &root))
        return mv_fail(res, "n_leaves, n_nodes or root missing");
    if (n_leaves == 0 || n_leaves > (1u << 31))
        return mv_fail(res, "n_leaves %llu out of range", (unsigned long long)n_leaves);
    uint32_t n = (uint32_t)n_leaves;
    if (mls_tm_node_width(n) != n_nodes)
        return mv_fail(res, "n_nodes: want %llu, got %u", (unsigned long long)n_nodes,
                       mls_tm_node_width(n));
    if (mls_tm_root(n) != root)
        return mv_fail(res, "root: want %llu, got %u", (unsigned long long)root,
                       mls_tm_root(n));
    static const char *const names[4] = { "left", "right", "parent", "sibling" };
    for (int k = 0; k < 4; k++) {
        const mv_json *arr = mv_json_arr(tc, names[k]);
        if (!arr || arr->n != n_nodes)
            return mv_fail(res, "%s: missing or not %llu entries", names[k],
                           (unsigned long long)n_nodes);
        for (uint32_t i = 0; i < (uint32_t)n_nodes; i++) {
            uint32_t got = k == 0   ? mls_tm_left(i)
                           : k == 1 ? mls_tm_right(i)
                           : k == 2 ? mls_tm_parent(i, n)
                                    : mls_tm_sibling(i, n);
            int rc = check_entry(arr, names[k], i, got, res);
            if (rc != MV_PASS)
                return rc;
        }
    }
    return MV_PASS;
}
