#!/usr/bin/env bash
# Install Label Studio from PyPI into a throwaway venv OUTSIDE the repository, for
# bench/peer.py (make bench-peer). Idempotent: an existing venv with the right version is kept.
#   LS_VENV=/tmp/modops-ls-venv  LS_VERSION=1.23.2  bench/peer_setup.sh
set -euo pipefail
LS_VENV="${LS_VENV:-/tmp/modops-ls-venv}"
LS_VERSION="${LS_VERSION:-1.23.2}"
PYTHON="${LS_PYTHON:-python3}"

if [ -x "$LS_VENV/bin/label-studio" ] && \
   [ "$("$LS_VENV/bin/python" -c "import importlib.metadata as m; print(m.version('label-studio'))" 2>/dev/null)" = "$LS_VERSION" ]; then
  echo "Label Studio $LS_VERSION already in $LS_VENV"
  exit 0
fi
echo "Installing Label Studio $LS_VERSION into $LS_VENV (a few minutes)"
rm -rf "$LS_VENV"
"$PYTHON" -m venv "$LS_VENV"
"$LS_VENV/bin/python" -m pip install -q --upgrade pip
# psycopg2-binary: Label Studio's PostgreSQL driver, for the PostgreSQL run
if ! "$LS_VENV/bin/python" -m pip install -q "label-studio==$LS_VERSION" psycopg2-binary; then
  echo "pip install label-studio==$LS_VERSION failed (see above); bench/peer.py will report it" >&2
  exit 1
fi
# (not `label-studio --version`: 1.23.2 goes on to start its server and never returns)
"$LS_VENV/bin/python" -c "import importlib.metadata as m; print('Label Studio', m.version('label-studio'))"
