#!/usr/bin/env bash
# compat-tests runner for confluent-kafka-python 1.7.0 (Debian python3-confluent-kafka, librdkafka 2.0.2); see ../README.md.
#   run.sh scenarios <bootstrap> | security <spec.json> | produce <bootstrap> <topic> <codec> | consume <bootstrap> <topic> <count>
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# The Debian package is only on the system interpreter, not the pyenv python3 on PATH.
exec /usr/bin/python3 -u "$HERE/runner.py" "$@"
