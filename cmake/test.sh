#!/usr/bin/env bash
# Sets up, builds (Release, warnings as errors) and runs ember's whole default test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash cmake/setup.sh --bindings
# The C, Python and Rust binding tests are part of the suite: fail if their tools are missing.
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DEMBER_WERROR=ON -DEMBER_REQUIRE_BINDING_TESTS=ON >/dev/null
cmake --build build -j"$(nproc)"
ctest --test-dir build --output-on-failure -j"$(nproc)" -L unit
