#!/usr/bin/env bash
# Set up everything whatworks needs on a fresh Debian machine:
# - a Java runtime for the HermiT reasoner (ontology tests),
# - a virtual environment with the package and its test tools,
# - YASGUI from the npm registry (served by /sparql-editor from node_modules; no CDN), and
#   axe-core for the browser tests (a dev dependency),
# - Debian's chromium for the browser tests (Playwright never downloads a browser here).
# One line a step on stderr; the installers are quiet unless they fail (then their output
# is shown and the set-up stops).
set -euo pipefail
venv="${1:-.venv}"

step() { echo "setup: $*" >&2; }

apt_install() {  # apt_install PACKAGE REASON
    step "installing $1 ($2; apt)"
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null
}

if command -v java >/dev/null 2>&1; then
    step "a Java runtime is installed (for the HermiT reasoner)"
else
    apt_install default-jre-headless "HermiT needs a Java runtime"
fi

step "creating the virtual environment $venv"
python3 -m venv "$venv"

step "installing whatworks and its test tools (pip)"
"$venv/bin/pip" install -q --upgrade pip
# setuptools tells of every editable install, on stderr, that a folder named like the
# package may shadow it: expected here (the package is this folder). Only that notice is
# silenced (a warnings filter on its text); errors and other warnings still show.
PYTHONWARNINGS="ignore:Editable installation" "$venv/bin/pip" install -q -e ".[test]"

if command -v npm >/dev/null 2>&1; then
    step "installing the browser-side packages (npm)"
    npm ci --no-audit --no-fund --ignore-scripts --silent
else
    step "npm not found: /sparql-editor will say YASGUI is not installed"
fi

if [ -x /usr/bin/chromium ]; then
    step "chromium is installed (for the browser tests)"
else
    apt_install chromium "the browser tests drive it"
fi
step "done: \`make run\` serves the evidence base, \`make test\` runs the tests"
