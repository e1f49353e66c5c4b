#!/usr/bin/env bash
# Compares two builds of the web client (e.g. -O3 and -Oz): module sizes (raw and gzip)
# and the crypto speed of wasm_bench under Node, interleaved runs, medians.
#   webclient/bench/compare-opt.sh BUILD_A BUILD_B [ROUNDS]
# Each BUILD is a top-level build dir (configure with -DSALTCHAT_WASM_OPT=-O3 / -Oz).
set -euo pipefail
a=$1 b=$2 rounds=${3:-5}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

opt() { sed -n 's/^SALTCHAT_WASM_OPT:STRING=//p' "$1/CMakeCache.txt"; }
for d in "$a" "$b"; do
    echo "== $(opt "$d") ($d)"
    for f in "$d"/www/saltchat-core.wasm "$d"/www/saltchat-core.js; do
        [ -f "$f" ] && printf '  %-20s %8d bytes, %8d gzipped\n' "$(basename "$f")" \
            "$(stat -c %s "$f")" "$(gzip -9 -c "$f" | wc -c)"
    done
done

for r in $(seq "$rounds"); do
    node "$a/webclient/wasm/wasm_bench.js" >"$tmp/a.$r"
    node "$b/webclient/wasm/wasm_bench.js" >"$tmp/b.$r"
done
echo "== wasm_bench: median over $rounds interleaved runs (ns/op), B/A ratio"
awk -v A="$(opt "$a")" -v B="$(opt "$b")" '
    FNR == 1 { side = (FILENAME ~ /\/a\./) ? "a" : "b" }
    { name = $0; sub(/ +[0-9]+ ns\/op$/, "", name); v[side, name, ++n[side, name]] = $(NF-1); names[name] = 1 }
    function med(side, name,   k, m, arr, i, j, t) {
        m = n[side, name]; for (i = 1; i <= m; i++) arr[i] = v[side, name, i]
        for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (arr[j] < arr[i]) { t = arr[i]; arr[i] = arr[j]; arr[j] = t }
        return arr[int((m + 1) / 2)]
    }
    END {
        printf "  %-18s %12s %12s %8s\n", "operation", A, B, "B/A"
        for (name in names) printf "  %-18s %12d %12d %8.2f\n", name, med("a", name), med("b", name), med("b", name) / med("a", name)
    }' "$tmp"/a.* "$tmp"/b.*
