#!/bin/sh
# Installs the ember Python package the way the README says (a venv with Debian's packages,
# pip offline) and runs its pytest suite against it.
#
#   capi/python/run_tests.sh [WORK_DIR]      (default: build/python)
#
# Needs EMBER_LIBRARY (the path of libember.so) unless the library is installed system-wide,
# and EMBER_TEST_MODEL unless ../shared/models/stories260K.gguf sits beside the repository.
# PYTHON picks the interpreter (default: Debian's /usr/bin/python3, which has the apt-installed
# python3-venv, python3-pytest and python3-numpy).
set -eu
export PYTHONDONTWRITEBYTECODE=1  # keep the source tree clean
here=$(cd "$(dirname "$0")" && pwd)
work=${1:-$here/../../build/python}
if [ -z "${PYTHON:-}" ]; then
    if [ -x /usr/bin/python3 ]; then PYTHON=/usr/bin/python3; else PYTHON=python3; fi
fi
mkdir -p "$work"
work=$(cd "$work" && pwd)
rm -rf "$work/venv" "$work/src"
"$PYTHON" -m venv --system-site-packages "$work/venv"
# Build from a copy: pip would otherwise leave build/ and *.egg-info in the source tree.
mkdir -p "$work/src"
cp -R "$here/ember" "$here/pyproject.toml" "$here/README.md" "$work/src/"
"$work/venv/bin/python" -m pip install --quiet --no-index --no-build-isolation "$work/src"
cd "$work"  # import the installed package, not the source folder
"$work/venv/bin/python" -c 'import ember, sys; sys.stderr.write("testing %s with libember %s\n" % (ember.__file__, ember.version()))'
exec "$work/venv/bin/python" -m pytest -q -p no:cacheprovider "$here/tests"
