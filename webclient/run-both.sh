#!/usr/bin/env bash
# run-both.sh NATIVE NODE WASM_JS [ARGS...]
# Runs a core test natively and its WebAssembly build under Node with the same arguments.
# Passes only if both exit 0 and print the same bytes on stdout. NATIVE "-" runs the wasm
# build alone (a test whose native twin has not landed yet).
set -u
native=$1 node=$2 js=$3
shift 3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ "$native" != - ]; then
    "$native" "$@" >"$tmp/native" 2>"$tmp/native.err"
    rc=$?
    cat "$tmp/native.err" >&2
    if [ $rc -ne 0 ]; then
        echo "FAIL: native run exited $rc:" >&2
        cat "$tmp/native" >&2
        exit 1
    fi
fi

if [ ! -f "$js" ]; then
    echo "FAIL: $js was not built (build the saltchat_wasm target)" >&2
    exit 1
fi
"$node" "$js" "$@" >"$tmp/wasm" 2>"$tmp/wasm.err"
rc=$?
cat "$tmp/wasm.err" >&2
if [ $rc -ne 0 ]; then
    echo "FAIL: WebAssembly run exited $rc:" >&2
    cat "$tmp/wasm" >&2
    exit 1
fi

if [ "$native" != - ] && ! cmp -s "$tmp/native" "$tmp/wasm"; then
    echo "FAIL: native and WebAssembly outputs differ:" >&2
    diff "$tmp/native" "$tmp/wasm" | head -40 >&2
    exit 1
fi
cat "$tmp/wasm"
[ "$native" != - ] && echo "(native and WebAssembly output identical: $(wc -c <"$tmp/wasm") bytes)"
exit 0
