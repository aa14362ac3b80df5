#!/usr/bin/env bash
# The project's one test command: installs what the tests need, builds, and runs every test
# (Swift unit and handler tests, then end-to-end tests against the real `herald` binary).
# Everything that exchanges SIP runs inside a network namespace that has only loopback, so no
# message can leave the machine whatever its Via or Request-URI names.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-test-deps.sh
swift build --build-tests

if [ "$(id -u)" -eq 0 ]; then netns=(unshare -n); else netns=(unshare -rn); fi
"${netns[@]}" bash -c '
    set -euo pipefail
    ip link set lo up
    swift test --skip-build
    python3 -m pytest -p no:benchmark -p no:cacheprovider tests/e2e -q
'
