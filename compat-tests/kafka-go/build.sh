#!/usr/bin/env bash
# Builds .build/runner from main.go unless it is newer than the sources (fast on reruns).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
B="$HERE/.build"
BIN="$B/runner"
if [ -x "$BIN" ] && [ "$BIN" -nt "$HERE/main.go" ] && [ "$BIN" -nt "$HERE/build.sh" ]; then exit 0; fi
mkdir -p "$B/cache" "$B/gopath"
cd "$HERE"
GO111MODULE=off GOPATH="/usr/share/gocode:$B/gopath" GOCACHE="$B/cache" GOFLAGS= CGO_ENABLED=1 \
  go build -o "$BIN.tmp" main.go >&2
mv "$BIN.tmp" "$BIN"
