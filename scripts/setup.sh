#!/usr/bin/env bash
# Set up everything whatworks needs on a fresh Debian machine:
# - a Java runtime for the HermiT reasoner (ontology tests),
# - a virtual environment with the package and its test tools,
# - YASGUI from the npm registry (served by /sparql-editor from node_modules; no CDN), and
#   axe-core for the browser tests (a dev dependency),
# - Debian's chromium for the browser tests (Playwright never downloads a browser here).
set -euo pipefail
venv="${1:-.venv}"

apt_install() {  # apt_install PACKAGE REASON
    echo "setup: installing $1 ($2)" >&2
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null
}

command -v java >/dev/null 2>&1 || apt_install default-jre-headless "HermiT needs a Java runtime"

python3 -m venv "$venv"
"$venv/bin/pip" install -q --upgrade pip
"$venv/bin/pip" install -q -e ".[test]"

if command -v npm >/dev/null 2>&1; then
    npm ci --no-audit --no-fund --ignore-scripts --silent
else
    echo "setup: npm not found: /sparql-editor will say YASGUI is not installed" >&2
fi

[ -x /usr/bin/chromium ] || apt_install chromium "the browser tests drive it"
