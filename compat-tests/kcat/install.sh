#!/usr/bin/env bash
# kcat from Debian (kcat 1.7.1, librdkafka 2.0.2 on bookworm).
set -euo pipefail
command -v kcat >/dev/null || (apt-get update && apt-get install -y kcat)
command -v kcat >/dev/null && command -v timeout >/dev/null
