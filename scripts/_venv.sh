# Sourced by the other scripts: make .venv with the given extras, quietly and idempotently.
# Usage: ensure_venv EXTRAS   (e.g. "local" or "dev")
ensure_venv() {
  local extras="$1" stamp
  if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv || { echo "error: 'python3 -m venv' failed; install Python 3.11+ with venv (Debian: apt-get install python3-venv)" >&2; exit 1; }
  fi
  stamp=".venv/.installed-$extras"
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e ".[$extras]"
    touch "$stamp"
  fi
}
