#!/usr/bin/env sh
# Build {{file}}.wasm from app.py + policy.py (componentize-py, from PyPI).
set -eu
cd "$(dirname "$0")"
componentize-py -d wit/voxgate.wit -w {{world}} componentize --stub-wasi app -o {{file}}.wasm
