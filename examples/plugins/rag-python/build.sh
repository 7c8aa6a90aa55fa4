#!/usr/bin/env sh
# Build rag-python.wasm from app.py + policy.py (componentize-py, from PyPI).
set -eu
cd "$(dirname "$0")"
componentize-py -d wit/voxgate.wit -w rag-search componentize --stub-wasi app -o rag-python.wasm
