#!/usr/bin/env bash
# Idempotent install of kafka-go 0.2.1 (Debian golang-github-segmentio-kafka-go-dev) and Go, then build
# the runner binary (GOPATH mode against Debian's /usr/share/gocode, offline) into .build/.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
SRC=/usr/share/gocode/src/github.com/segmentio/kafka-go
if ! command -v go >/dev/null 2>&1 || [ ! -d "$SRC" ]; then
  if [ "$(id -u)" != 0 ]; then SUDO=sudo; else SUDO=; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq >&2 || true
  $SUDO apt-get install -y -qq golang-go golang-github-segmentio-kafka-go-dev >&2
fi
exec bash "$HERE/build.sh"
