#!/usr/bin/env bash
# Idempotent install of confluent-kafka-python 1.7.0 (Debian python3-confluent-kafka, linked
# against librdkafka 2.0.2) for the system interpreter /usr/bin/python3.
set -euo pipefail
PY=/usr/bin/python3
"$PY" -c 'import confluent_kafka' >/dev/null 2>&1 && exit 0
if [ "$(id -u)" != 0 ]; then SUDO=sudo; else SUDO=; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >&2 || true
$SUDO apt-get install -y -qq python3-confluent-kafka >&2
"$PY" -c 'import confluent_kafka' >/dev/null 2>&1 || { echo "python3-confluent-kafka not importable by $PY" >&2; exit 1; }
exit 0
