#!/bin/sh
# Create bench/.venv-crossbar with Crossbar.io, the peer router the benchmarks
# compare against. It lives in its own venv: Crossbar is never a hubsd dependency.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
venv="$here/.venv-crossbar"
if [ ! -x "$venv/bin/crossbar" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --upgrade pip
    # numpy<2: the bjdata wheel crossbar pulls in is built against NumPy 1.x.
    "$venv/bin/pip" install -q crossbar "numpy<2"
fi
"$venv/bin/crossbar" version
