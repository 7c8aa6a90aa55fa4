#!/usr/bin/env bash
# How many idle sessions one gateway holds, and its memory per idle session.
# The simulator runs in its own process so the gateway's RSS is the gateway's alone.
# usage: benches/idle_capacity.sh [sessions]   (needs cargo build --release)
set -euo pipefail
cd "$(dirname "$0")/.."
sessions=${1:-9000}
dir=$(mktemp -d)
trap 'kill $sim $gateway 2>/dev/null || true; rm -rf "$dir"' EXIT
./target/release/voxgate simulate --port 18180 >/dev/null 2>&1 &
sim=$!
PORT=18181 UPSTREAM_URL=ws://127.0.0.1:18180/v1/realtime PLUGIN_DIR="$dir" RUST_LOG=warn \
  MAX_SESSIONS=100000 IDLE_TIMEOUT=0 ./target/release/voxgate >"$dir/gateway.log" 2>&1 &
gateway=$!
for _ in $(seq 50); do curl -sf localhost:18181/health >/dev/null && break; sleep 0.1; done
rss() { curl -s localhost:18181/health | python3 -c 'import json,sys; h=json.load(sys.stdin); print(h["memory_rss_bytes"], h["active_sessions"])'; }
read -r before _ < <(rss)
./target/release/voxgate loadtest voxgate-docs idle --url ws://127.0.0.1:18181 --path /v1/realtime \
  --sessions "$sessions" --duration 60 --json >"$dir/report.json" &
load=$!
peak=0; held=0
for _ in $(seq 55); do
  sleep 1
  read -r now active < <(rss)
  if (( active > held )); then held=$active; peak=$now; fi
done
wait $load || true
python3 - "$before" "$peak" "$held" "$dir/report.json" <<'PY'
import json, sys
before, peak, held = map(int, sys.argv[1:4])
report = json.loads(open(sys.argv[4]).read().strip().splitlines()[-1])
print(json.dumps({
    "sessions_held": held, "failed": report["failed"], "errors": report["errors"],
    "rss_before_mib": round(before / 2**20, 1), "rss_peak_mib": round(peak / 2**20, 1),
    "kib_per_idle_session": round((peak - before) / max(held, 1) / 1024, 1),
}))
PY
