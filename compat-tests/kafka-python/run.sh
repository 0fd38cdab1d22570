#!/usr/bin/env bash
# compat-tests runner for kafka-python 2.0.2 (Debian python3-kafka); see ../README.md.
#   run.sh scenarios <bootstrap> | security <spec.json> | produce <bootstrap> <topic> <codec> | consume <bootstrap> <topic> <count>
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# The Debian package is only on the system interpreter, not the pyenv python3 on PATH.
exec /usr/bin/python3 -u "$HERE/runner.py" "$@"
