#!/usr/bin/env bash
# Sets up, builds (Release, warnings as errors) and runs ember's whole default test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash cmake/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DEMBER_WERROR=ON >/dev/null
cmake --build build -j"$(nproc)"
ctest --test-dir build --output-on-failure -j"$(nproc)" -L unit
