#!/bin/sh
# What CI runs for the C API, the examples and the Python and Rust bindings. Works on a fresh
# Debian 12 machine: missing apt packages are installed when running as root; cargo is taken
# from PATH or ~/.cargo/bin, else Debian's cargo is installed (rust-version is 1.63).
#
#   capi/ci.sh [BUILD_DIR [TSAN_BUILD_DIR]]     (defaults: build, build-tsan)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
tsan=${2:-$root/build-tsan}
jobs=${EMBER_JOBS:-2}

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    missing=""
    for p in python3-venv python3-setuptools python3-wheel python3-pytest python3-numpy pkg-config; do
        dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
    done
    if ! command -v cargo >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/cargo" ]; then missing="$missing cargo"; fi
    if [ -n "$missing" ]; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing
    fi
fi

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DEMBER_WERROR=ON -DEMBER_REQUIRE_BINDING_TESTS=ON
cmake --build "$build" -j "$jobs"
ctest --test-dir "$build" -L capi --output-on-failure

# ThreadSanitizer: one model shared by four threads (and their thread pools), aborts from
# another thread. A reported race makes the program exit non-zero.
cmake -S "$root" -B "$tsan" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEMBER_TSAN=ON -DEMBER_BUILD_BENCH=OFF
cmake --build "$tsan" -j "$jobs" --target test_capi_threads test_capi_cancel
TSAN_OPTIONS="halt_on_error=1 ${TSAN_OPTIONS:-}" ctest --test-dir "$tsan" -R '^capi_(threads|cancel)$' --output-on-failure
