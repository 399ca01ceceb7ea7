#!/usr/bin/env bash
# Installs what ember needs to build and test on Debian 12, skipping what is already present.
# Usage: bash cmake/setup.sh [--bindings] [--fuzz]
#   --bindings  adds the Python binding tools;  --fuzz  adds clang and libFuzzer's runtime
set -euo pipefail

pkgs=(build-essential cmake pkg-config libeigen3-dev libxsimd-dev libfmt-dev doctest-dev libbenchmark-dev nlohmann-json3-dev)
for arg in "$@"; do
  case "$arg" in
    --bindings)
      pkgs+=(python3 python3-venv python3-setuptools python3-wheel python3-pytest python3-numpy python3-jinja2 python3-jsonschema)
      # The Rust bindings need cargo; use the machine's toolchain when there is one.
      command -v cargo >/dev/null 2>&1 || [[ -x "$HOME/.cargo/bin/cargo" ]] || pkgs+=(cargo)
      ;;
    --fuzz) pkgs+=(clang libclang-rt-14-dev) ;;
    *) echo "setup.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "ember setup: installing ${missing[*]}" >&2
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
