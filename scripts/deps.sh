#!/usr/bin/env bash
# Installs the Debian packages saltchat needs, only those missing.
#   scripts/deps.sh run    what `make run` needs (build the relay and the web client)
#   scripts/deps.sh test   everything the test suite needs as well
# As root it runs apt-get; otherwise it uses `sudo -n` if allowed; otherwise it prints
# the exact command to run and exits 1.
set -euo pipefail

profile=${1:-test}
run_pkgs=(build-essential cmake pkg-config clang lld libwebsockets-dev libsodium-dev libuv1-dev
          libnats-dev libedit-dev libqrencode-dev libsqlite3-dev emscripten node-acorn)
test_pkgs=(libclang-rt-14-dev python3 python3-websockets python3-nacl openssl chromium
           nats-server libnats-dev wrk gnuplot-nox hyperfine valgrind zbar-tools strace linux-perf)

case "$profile" in
run) pkgs=("${run_pkgs[@]}") ;;
test) pkgs=("${run_pkgs[@]}" "${test_pkgs[@]}") ;;
*) echo "usage: $0 run|test" >&2; exit 2 ;;
esac
# Node.js and npm: any node >= 18 on PATH will do; install Debian's only if there is none.
command -v node >/dev/null 2>&1 || pkgs+=(nodejs)
command -v npm >/dev/null 2>&1 || pkgs+=(npm)

# Web client (webclient/ owns this step): libsodium's and libqrencode's C sources for the
# Emscripten build, from Debian's source packages; it adds a deb-src entry when run as root.
"$(dirname "$0")/../webclient/deps-web.sh"

missing=()
for p in "${pkgs[@]}"; do
    st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [ "$st" = installed ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

cmd=(apt-get install -y --no-install-recommends "${missing[@]}")
if [ "$(id -u)" -eq 0 ]; then
    sudo=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
else
    echo "saltchat needs these Debian packages: ${missing[*]}" >&2
    echo "run as root:  apt-get update && ${cmd[*]}" >&2
    exit 1
fi
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q >/dev/null
"${sudo[@]}" "${cmd[@]}"
