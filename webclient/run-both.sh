#!/usr/bin/env bash
# run-both.sh NATIVE NODE WASM_JS [ARGS...]
# Runs a core test natively and its WebAssembly build under Node with the same arguments.
# Passes only if both exit 0 and print the same bytes on stdout. NATIVE "-" runs the wasm
# build alone (a test whose native twin has not landed yet). An argument @OUTDIR@ becomes
# a fresh directory for each run (a generator's output); the two directories must then
# hold identical files too.
set -u
native=$1 node=$2 js=$3
shift 3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/native-out" "$tmp/wasm-out"
outdir=0
native_args=() wasm_args=()
for a in "$@"; do
    if [ "$a" = @OUTDIR@ ]; then
        outdir=1
        native_args+=("$tmp/native-out")
        wasm_args+=("$tmp/wasm-out")
    else
        native_args+=("$a")
        wasm_args+=("$a")
    fi
done

if [ "$native" != - ]; then
    "$native" ${native_args[@]+"${native_args[@]}"} >"$tmp/native" 2>"$tmp/native.err"
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
"$node" "$js" ${wasm_args[@]+"${wasm_args[@]}"} >"$tmp/wasm" 2>"$tmp/wasm.err"
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
if [ "$native" != - ] && [ $outdir = 1 ]; then
    if [ -z "$(ls -A "$tmp/wasm-out")" ]; then
        echo "FAIL: the WebAssembly run wrote nothing into its output directory" >&2
        exit 1
    fi
    if ! diff -r "$tmp/native-out" "$tmp/wasm-out" >"$tmp/dirdiff"; then
        echo "FAIL: native and WebAssembly runs wrote different files:" >&2
        head -40 "$tmp/dirdiff" >&2
        exit 1
    fi
    echo "(native and WebAssembly wrote identical files: $(ls "$tmp/wasm-out" | wc -l) files," \
         "$(cat "$tmp"/wasm-out/* | wc -c) bytes)"
fi
cat "$tmp/wasm"
[ "$native" != - ] && echo "(native and WebAssembly output identical: $(wc -c <"$tmp/wasm") bytes)"
exit 0
