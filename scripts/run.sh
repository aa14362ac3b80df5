#!/usr/bin/env bash
# The project's run command: installs what the build needs (jemalloc), then builds and runs
# `herald serve` in release mode with the given options (defaults: README, "Configuration").
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-build-deps.sh
exec swift run -c release herald serve "$@"
