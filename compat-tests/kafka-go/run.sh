#!/usr/bin/env bash
# run.sh scenarios <bootstrap> | produce <bootstrap> <topic> <codec> | consume <bootstrap> <topic> <count>
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
# build.sh skips the build when the binary is newer than main.go and the shared harness.
if command -v go >/dev/null 2>&1; then bash "$HERE/build.sh"; fi
if [ ! -x "$HERE/.build/runner" ]; then
  # A missing client is a failure of the compat run (run.ts), not a skipped scenario.
  echo "kafka-go runner not built (go / golang-github-segmentio-kafka-go-dev missing; run install.sh)" >&2
  exit 3
fi
exec "$HERE/.build/runner" "$@"
