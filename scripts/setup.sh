#!/usr/bin/env bash
# Set up everything whatworks needs on a fresh Debian machine: a Java runtime for the
# HermiT reasoner (tests), and a virtual environment with the package and its test tools.
set -euo pipefail
venv="${1:-.venv}"
if ! command -v java >/dev/null 2>&1; then
    echo "setup: installing a Java runtime (HermiT needs one)" >&2
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jre-headless >/dev/null
    else
        sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jre-headless >/dev/null
    fi
fi
python3 -m venv "$venv"
"$venv/bin/pip" install -q --upgrade pip
"$venv/bin/pip" install -q -e ".[test]"
