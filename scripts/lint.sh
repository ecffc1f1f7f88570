#!/usr/bin/env bash
# ruff and pylint-odoo (OCA's rules) over the addon.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
say "ruff"
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
say "pylint-odoo"
"$VENV/bin/pylint" --rcfile="$ROOT/.pylintrc" --load-plugins=pylint_odoo --disable=missing-readme \
    "$ROOT"/*.py "$ROOT"/models "$ROOT"/cartona "$ROOT"/controllers "$ROOT"/tests
