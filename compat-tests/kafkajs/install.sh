#!/usr/bin/env bash
# kafkajs is a devDependency of the repo (2.2.4): usable when node_modules has it, else npm ci.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
have() { node -e 'process.exit(require("./node_modules/kafkajs/package.json").version === "2.2.4" ? 0 : 1)' 2>/dev/null; }
have && exit 0
npm ci
have
