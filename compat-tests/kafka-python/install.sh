#!/usr/bin/env bash
# Idempotent install of kafka-python 2.0.2 (Debian python3-kafka) plus its codec modules,
# for the system interpreter /usr/bin/python3 (not the pyenv python3 on PATH).
set -euo pipefail
PY=/usr/bin/python3
check() { "$PY" -c 'import kafka, snappy, lz4.frame, zstandard' >/dev/null 2>&1; }
check && exit 0
if [ "$(id -u)" != 0 ]; then SUDO=sudo; else SUDO=; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >&2 || true
$SUDO apt-get install -y -qq python3-kafka python3-snappy python3-lz4 python3-zstandard >&2
"$PY" -c 'import kafka' >/dev/null 2>&1 || { echo "python3-kafka not importable by $PY" >&2; exit 1; }
exit 0
