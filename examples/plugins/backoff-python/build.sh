#!/usr/bin/env sh
# Build backoff-python.wasm from app.py + policy.py (componentize-py, from PyPI).
set -eu
cd "$(dirname "$0")"
componentize-py -d wit/voxgate.wit -w backoff-policy componentize --stub-wasi app -o backoff-python.wasm
