#!/usr/bin/env bash
# Installs the C library Herald links besides the Swift toolchain and the packages
# Package.swift names: jemalloc, its allocator (Debian: libjemalloc-dev). Safe to run again.
set -euo pipefail
if [ -e /usr/include/jemalloc/jemalloc.h ] && ldconfig -p 2>/dev/null | grep -q 'libjemalloc\.so\b'; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "install-build-deps: need root to install libjemalloc-dev (apt-get install libjemalloc-dev)" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq libjemalloc-dev >/dev/null
