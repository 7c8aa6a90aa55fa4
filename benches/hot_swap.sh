#!/usr/bin/env bash
# 100 hot swaps of each plugin slot under 100 live sessions: sessions dropped? turns failed?
# Needs a release build (cargo build --release) and nothing else on port 18103.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(mktemp -d)
trap 'kill $gateway 2>/dev/null || true; rm -rf "$dir"' EXIT
PORT=18103 PLUGIN_DIR="$dir/slots" ADMIN_TOKEN=bench-admin-token RUST_LOG=warn ./target/release/voxgate &
gateway=$!
for _ in $(seq 50); do curl -sf localhost:18103/health >/dev/null && break; sleep 0.1; done
./target/release/voxgate loadtest voxgate-docs load --url ws://127.0.0.1:18103 --sessions 100 --duration 40 --rate 1 --json > "$dir/report.json" &
load=$!
sleep 3
a=target/plugins/backoff-exponential.wasm; b=target/plugins/backoff-decorrelated-jitter.wasm
c=target/plugins/rag-bm25.wasm; d=target/plugins/test-rag-fail.wasm
for i in $(seq 100); do
  if (( i % 2 )); then backoff=$b; rag=$d; else backoff=$a; rag=$c; fi
  # Atomic replacement, as a deployment would do it; the watcher picks each one up.
  cp "$backoff" "$dir/slots/.backoff.new" && mv "$dir/slots/.backoff.new" "$dir/slots/backoff.wasm"
  cp "$rag" "$dir/slots/.rag.new" && mv "$dir/slots/.rag.new" "$dir/slots/rag.wasm"
  sleep 0.3
done
wait $load || true
curl -s localhost:18103/health | python3 -c 'import json,sys; h=json.load(sys.stdin); p=h["plugins"]; print(json.dumps({"backoff_reloads": p["backoff"]["reloads"], "rag_reloads": p["rag"]["reloads"], "last_errors": [p["backoff"]["last_error"], p["rag"]["last_error"]], "ws_connections": h["metrics"]["counters"]["ws_connections"], "ws_disconnects": h["metrics"]["counters"]["ws_disconnects"]}))'
tail -1 "$dir/report.json" | python3 -c 'import json,sys; r=json.load(sys.stdin); print(json.dumps({k: r[k] for k in ("connections","succeeded","failed","turns","errors")}))'
