#!/usr/bin/env bash
# Sets up, builds ember and generates text with the demo model.
set -euo pipefail
cd "$(dirname "$0")/.."
bash cmake/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target ember_cli
model=${EMBER_DEMO_MODEL:-../shared/models/shakespeare-19m-Q4_K_M.gguf}
./build/examples/ember/ember run -m "$model" -p "${1:-ROMEO:}" -n "${2:-64}" --temp 0
echo
