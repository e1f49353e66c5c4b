#!/usr/bin/env bash
# Fetches the C sources the WebAssembly build compiles with emcc (libsodium 1.0.18,
# libqrencode 4.1.1) from Debian's source packages, offline-friendly: only Debian's mirror.
# Called by scripts/deps.sh; webclient/sources.cmake checks every tarball's SHA-256.
#   webclient/deps-web.sh [DIR]     DIR defaults to ${XDG_CACHE_HOME:-~/.cache}/saltchat/sources
# As root it adds a deb-src entry for bookworm main when none exists (otherwise it prints the
# entry to add). Without it the CMake build falls back to upstream downloads when online.
set -euo pipefail

cache=${XDG_CACHE_HOME:-${HOME:-/root}/.cache}
dir=${1:-${SALTCHAT_WEB_SOURCES_DIR:-$cache/saltchat/sources}}
files=(libsodium_1.0.18.orig.tar.gz qrencode_4.1.1.orig.tar.bz2)
pkgs=(libsodium qrencode)

need=()
for i in "${!files[@]}"; do
    [ -s "$dir/${files[$i]}" ] || need+=("${pkgs[$i]}")
done
[ ${#need[@]} -eq 0 ] && exit 0

has_deb_src() {
    grep -rqsE '^(deb-src[[:space:]]|Types:.*deb-src)' /etc/apt/sources.list /etc/apt/sources.list.d/
}

if ! has_deb_src; then
    list=/etc/apt/sources.list.d/saltchat-deb-src.sources
    entry="Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"
    if [ "$(id -u)" -eq 0 ]; then
        printf '%s\n' "$entry" >"$list"
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        printf '%s\n' "$entry" | sudo -n tee "$list" >/dev/null
    else
        echo "web client: to fetch libsodium/libqrencode sources offline, as root create $list with:" >&2
        printf '%s\n' "$entry" >&2
        echo "then run: apt-get update   (or the build will try the upstream downloads)" >&2
        exit 0
    fi
    echo "web client: added $list; updating package lists" >&2
    if [ "$(id -u)" -eq 0 ]; then apt-get update -q >/dev/null; else sudo -n apt-get update -q >/dev/null; fi
fi

mkdir -p "$dir"
cd "$dir"
# --tar-only: the orig tarball is all we compile (and bookworm's qrencode debian.tar.xz
# is missing from some mirrors).
if ! apt-get source --download-only --tar-only "${need[@]}" >/dev/null 2>apt-source.log; then
    echo "web client: apt-get source failed (see $dir/apt-source.log); the build will try" \
         "the upstream downloads" >&2
fi
exit 0
