#!/usr/bin/env bash
# CI for plugin authors' paths: builds the example plugins (Python, JavaScript), runs their unit
# tests, `voxgate plugin test`s them (which includes `plugin check`), and writes, builds and
# tests a fresh `voxgate plugin new` project for every world the examples do not cover (the
# examples must equal plugin new's output: with them every world is built in every language).
# Installs componentize-py (PyPI) and componentize-js (npm) when missing.
# Needs target/debug/voxgate (cargo build). Compiled artifacts go to target/plugin-artifacts,
# which tests/foreign_plugins.rs reuses.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
voxgate="${CARGO_TARGET_DIR:-$root/target}/debug/voxgate"
export PLUGIN_CACHE_DIR="$root/target/plugin-artifacts"
# An interpreter-carrying artifact is tens of MB: keep them all (the default bound, 256 MiB,
# evicted the examples' artifacts before the tests could reuse them).
export PLUGIN_CACHE_MAX_BYTES=$((4 << 30))
# A debug build's Cranelift takes ~40 s for an interpreter-carrying component on a loaded core.
export PLUGIN_COMPILE_TIMEOUT=600
# Calls of a started instance take 20–50 µs (debug), but CI shares 2 cores with cargo: a
# property must not fail on a scheduling hiccup beyond the 10 ms default deadline.
export BACKOFF_PLUGIN_DEADLINE=0.1
step() { printf '\n== %s (%s s)\n' "$1" "$SECONDS"; }

python3 -m pip show componentize-py >/dev/null 2>&1 || python3 -m pip install -q componentize-py==0.25.1
(cd examples/plugins/backoff-js && npm ci --no-audit --no-fund --loglevel=error)
export PATH="$root/examples/plugins/backoff-js/node_modules/.bin:$PATH"

step "the examples carry the project's WIT"
for wit in examples/plugins/*/wit/voxgate.wit; do
    cmp wit/voxgate.wit "$wit" || { echo "$wit differs from wit/voxgate.wit: copy it over" >&2; exit 1; }
done

step "the examples are what plugin new writes (only their build outputs added)"
regenerated="$(mktemp -d)"
for example in backoff-python:backoff:python backoff-js:backoff:js rag-python:rag:python; do
    IFS=: read -r name kind lang <<<"$example"
    "$voxgate" plugin new "$kind" --lang "$lang" "$regenerated/$name" >/dev/null
    diff -r -x node_modules -x package-lock.json -x '*.wasm' -x __pycache__ -x wit_world -x 'componentize_py_*' -x poll_loop.py \
        "$regenerated/$name" "examples/plugins/$name" \
        || { echo "examples/plugins/$name differs from plugin new's output: regenerate it" >&2; exit 1; }
done
rm -rf "$regenerated"

probe() { # file.wasm
    "$voxgate" plugin test "$1" --runs 200 | grep -v '^  wasi'
}

step "examples/plugins/backoff-python"
(cd examples/plugins/backoff-python && python3 -m unittest -q && ./build.sh)
probe examples/plugins/backoff-python/backoff-python.wasm
step "examples/plugins/rag-python"
(cd examples/plugins/rag-python && python3 -m unittest -q && ./build.sh)
probe examples/plugins/rag-python/rag-python.wasm
step "examples/plugins/backoff-js"
(cd examples/plugins/backoff-js && npm test --silent && npm run build --silent)
probe examples/plugins/backoff-js/backoff-js.wasm

# The examples above are plugin new's output for backoff in Python and JavaScript and rag in
# Python (checked above); here the other worlds, each written fresh.
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
new_project() { # kind lang
    step "plugin new $1 --lang $2"
    "$voxgate" plugin new "$1" --lang "$2" "$scratch/$2-$1"
    cd "$scratch/$2-$1"
    case "$2" in
        rust) CARGO_TARGET_DIR="$root/target/plugin-new" cargo test -q
              CARGO_TARGET_DIR="$root/target/plugin-new" cargo build -q --release --target wasm32-wasip2
              wasm="$root/target/plugin-new/wasm32-wasip2/release/rust_$1.wasm" ;;
        python) python3 -m unittest -q && ./build.sh
              wasm="$scratch/python-$1/python-$1.wasm" ;;
        js) ln -s "$root/examples/plugins/backoff-js/node_modules" node_modules
              npm test --silent && npm run build --silent
              wasm="$scratch/js-$1/js-$1.wasm" ;;
    esac
    cd "$root"
    probe "$wasm"
}
for kind in backoff rag routing; do new_project "$kind" rust; done
new_project routing python
new_project rag js
new_project routing js
step "plugin examples and templates: all passed"
