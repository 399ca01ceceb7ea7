#!/usr/bin/env bash
# Builds the GGUF fuzz target (clang, libFuzzer, ASan + UBSan) in build-fuzz/ and fuzzes for
# SECONDS (default 60). The seeds are generated fresh from the broken-file corpus and the
# valid samples (tests/broken_gguf.hpp); the growing corpus is kept in build-fuzz/fuzz/corpus
# and crashes land in build-fuzz/fuzz/artifacts (exit status non-zero).
#   tests/fuzz/run.sh [SECONDS] [extra libFuzzer flags, e.g. -jobs=2 -workers=2]
# Environment: EMBER_FUZZ_BUILD_DIR (default <repo>/build-fuzz), EMBER_FUZZ_JOBS (build, 2).
set -euo pipefail
secs="${1:-60}"
[ $# -gt 0 ] && shift
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${EMBER_FUZZ_BUILD_DIR:-$root/build-fuzz}"

mkdir -p "$build"
CC=clang CXX=clang++ cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEMBER_FUZZ=ON \
  -DEMBER_BUILD_EXAMPLES=OFF -DEMBER_BUILD_BENCH=OFF > "$build/configure.log" 2>&1 ||
  { cat "$build/configure.log"; exit 1; }
cmake --build "$build" -j"${EMBER_FUZZ_JOBS:-2}" --target fuzz_gguf ember_broken_gguf

work="$build/fuzz"
mkdir -p "$work/corpus" "$work/artifacts"
rm -rf "$work/seeds"
"$build/tests/ember_broken_gguf" "$work/seeds" > /dev/null

# -malloc_limit_mb: inputs are at most 128 KiB, so an allocation of 64 MiB means a size was
# taken from the file without being checked.
exec "$build/tests/fuzz/fuzz_gguf" -max_total_time="$secs" -max_len=131072 -timeout=10 \
  -rss_limit_mb=2048 -malloc_limit_mb=64 -dict="$root/tests/fuzz/gguf.dict" \
  -artifact_prefix="$work/artifacts/" -print_final_stats=1 "$@" "$work/corpus" "$work/seeds"
