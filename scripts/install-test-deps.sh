#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine with the Swift toolchain: what
# the build needs (scripts/install-build-deps.sh),
# iproute2 and util-linux (a loopback-only network namespace), openssl (test certificates),
# sip-tester (SIPp, a real SIP client in the end-to-end tests), and the Python packages of
# tests/e2e. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-build-deps.sh

missing=()
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
command -v unshare >/dev/null 2>&1 || missing+=(util-linux)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v python3 >/dev/null 2>&1 || missing+=(python3 python3-pip)
command -v sipp >/dev/null 2>&1 || missing+=(sip-tester)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "install-test-deps: need root to install: ${missing[*]}" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Debian's own python3 marks its packages externally managed (PEP 668): the test machine is
# ours, so pip may install next to them (older pips ignore the variable).
PIP_BREAK_SYSTEM_PACKAGES=1 python3 -m pip install --quiet --disable-pip-version-check -r tests/e2e/requirements.txt
