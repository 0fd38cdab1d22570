#!/usr/bin/env bash
# Builds .build/runner (see ../lib/go-build.sh).
exec bash "$(dirname "$0")/../lib/go-build.sh" "$(dirname "$0")"
