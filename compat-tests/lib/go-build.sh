#!/usr/bin/env bash
# Builds <client dir>/.build/runner from its main.go and the shared harness (lib/go) in GOPATH
# mode against Debian's /usr/share/gocode, offline; skipped when the binary is newer than all
# its sources.  Usage: go-build.sh <client dir>
set -euo pipefail
DIR="$(cd "$1" && pwd)"
LIB="$(cd "$(dirname "$0")" && pwd)"
B="$DIR/.build"
BIN="$B/runner"
HARNESS="$LIB/go/src/brookcompat/harness.go"
if [ -x "$BIN" ] && [ "$BIN" -nt "$DIR/main.go" ] && [ "$BIN" -nt "$HARNESS" ] && [ "$BIN" -nt "$0" ]; then exit 0; fi
mkdir -p "$B/cache"
cd "$DIR"
GO111MODULE=off GOPATH="/usr/share/gocode:$LIB/go" GOCACHE="$B/cache" GOFLAGS= CGO_ENABLED=1 \
  go build -o "$BIN.tmp" main.go >&2
mv "$BIN.tmp" "$BIN"
