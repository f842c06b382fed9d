#!/usr/bin/env bash
# The stores the three-backend integration tests start on loopback (tests/backends/):
# the Oxigraph server comes with the test extras (PyPI `oxigraph`); Virtuoso is Debian's
# virtuoso-opensource, configured by deploy/virtuoso/virtuoso.ini. Nothing is started here.
set -euo pipefail
if ! command -v virtuoso-t >/dev/null 2>&1; then
    echo "setup: installing virtuoso-opensource (a backend of the integration tests)" >&2
    sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    # RUNLEVEL=1: the package's scripts do not start a system-wide Virtuoso of their own
    $sudo env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 \
        apt-get install -y -qq virtuoso-opensource >/dev/null
fi
