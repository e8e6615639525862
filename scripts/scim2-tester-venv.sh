#!/usr/bin/env bash
# Creates (once per machine and requirements file) the Python virtual environment that runs
# scim2-tester, the external SCIM conformance suite (test/conformance/scim2-tester.test.ts), and
# prints the path of its python on stdout. Everything else goes to stderr.
#
# The environment lives in ~/.cache/gatehouse (GATEHOUSE_CACHE_DIR overrides) under a name that
# includes a hash of scripts/scim2-tester/requirements.txt, so a changed pin builds a new one.
# Needs python3 (3.9 or later) with the venv module and access to PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."

requirements=scripts/scim2-tester/requirements.txt
python=${PYTHON:-python3}
if ! command -v "$python" >/dev/null 2>&1; then
  echo "scim2-tester-venv: $python not found; install Python 3.9+ (Debian: apt-get install python3 python3-venv)" >&2
  exit 3
fi
if ! "$python" -c 'import sys, venv; sys.exit(0 if sys.version_info >= (3, 9) else 1)' 2>/dev/null; then
  echo "scim2-tester-venv: $python is older than 3.9 or lacks the venv module" >&2
  exit 3
fi

cache=${GATEHOUSE_CACHE_DIR:-$HOME/.cache/gatehouse}
hash=$(sha256sum "$requirements" | cut -c1-12)
venv="$cache/scim2-tester-$hash"
if [ ! -x "$venv/bin/python" ] || [ ! -f "$venv/.complete" ]; then
  echo "scim2-tester-venv: creating $venv" >&2
  rm -rf "$venv"
  mkdir -p "$cache"
  "$python" -m venv "$venv" >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -r "$requirements" >&2
  "$venv/bin/python" -m pip check >&2
  "$venv/bin/python" -c 'import scim2_tester, scim2_client.engines.httpx2' >&2
  touch "$venv/.complete"
fi
echo "$venv/bin/python"
