#!/usr/bin/env bash
# Install ModOps into a virtualenv, fast: uv when it can be had, pip otherwise.
#
#   tools/install.sh VENV EXTRAS      e.g. tools/install.sh .venv '.[dev]'
#
# uv (from PyPI, bootstrapped into the venv with pip) resolves and installs in parallel and
# caches built wheels (vpdq has no wheel: it is compiled once, then reused); pip is the
# fallback whenever uv cannot be installed or fails. pip's own configuration (index URLs,
# find-links, constraints, certificate) is handed to uv, so both install the same packages
# from the same places. MODOPS_INSTALLER=pip forces pip. Every step prints what it does.
set -euo pipefail
venv=${1:-.venv}
target=${2:-.[dev]}
py="$venv/bin/python"
start=$(date +%s)

say() { printf 'install: %s\n' "$*"; }

test -x "$py" || { say "creating $venv"; "${PYTHON:-python3}" -m venv "$venv"; }

uv_args() {  # pip's configuration as uv options (one per line)
  "$py" -m pip config list 2>/dev/null | while IFS='=' read -r key value; do
    value=${value#\'}; value=${value%\'}
    case "${key##*.}" in
      index-url) printf -- '--index-url\n%s\n' "$value" ;;
      extra-index-url) for u in $value; do printf -- '--extra-index-url\n%s\n' "$u"; done ;;
      find-links) for u in $value; do printf -- '--find-links\n%s\n' "$u"; done ;;
      constraint) printf -- '--constraint\n%s\n' "$value" ;;
    esac
  done
}

with_uv() {
  if [ "${MODOPS_INSTALLER:-uv}" = pip ]; then return 1; fi
  test -x "$venv/bin/uv" || { say "bootstrapping uv with pip"; \
    "$py" -m pip install -q --disable-pip-version-check uv >/dev/null 2>&1 || return 1; }
  local cert; cert=$("$py" -m pip config get global.cert 2>/dev/null || true)
  mapfile -t extra < <(uv_args)
  say "uv pip install -e $target"
  SSL_CERT_FILE=${cert:-${SSL_CERT_FILE:-}} "$venv/bin/uv" pip install --python "$py" \
    "${extra[@]}" --index-strategy unsafe-best-match -e "$target"
}

if with_uv; then
  how=uv
else
  say "pip install -e $target (uv unavailable or failed)"
  "$py" -m pip install --disable-pip-version-check --progress-bar on -e "$target"
  how=pip
fi
say "done with $how in $(( $(date +%s) - start )) s"
