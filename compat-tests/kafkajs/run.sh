#!/usr/bin/env bash
# run.sh scenarios <bootstrap> | security <spec.json> | produce <bootstrap> <topic> <codec> | consume <bootstrap> <topic> <count>
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
export KAFKAJS_NO_PARTITIONER_WARNING=1
exec timeout -k 5 230 node "$HERE/runner.mjs" "$@"
