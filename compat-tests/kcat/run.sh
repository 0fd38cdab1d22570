#!/usr/bin/env bash
# run.sh scenarios <bootstrap> | security <spec.json> | produce <bootstrap> <topic> <codec> | consume <bootstrap> <topic> <count>
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
command -v kcat >/dev/null || { echo "kcat not installed" >&2; exit 3; }
exec timeout -k 5 230 node "$HERE/runner.mjs" "$@"
