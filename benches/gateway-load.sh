#!/usr/bin/env bash
# Load figures for BENCHMARKS.md, gateway vs direct in one run: a standalone simulator, the
# release gateway in front of it (its own process, so the /proc figures are the gateway's
# alone), and `voxgate loadtest` with the given mode and options against both.
#
#   cargo build --release
#   benches/gateway-load.sh audio --sessions 200 --duration 20 --direct
#   benches/gateway-load.sh audio --sessions 600 --ramp 100 --duration 10 --direct
#   benches/gateway-load.sh load --sessions 100 --rate 1 --duration 20 --direct --latency-ms 100
#
# --latency-ms N (first option only) makes the simulator wait N ms before answering each event.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${VOXGATE:-target/release/voxgate}
mode=${1:?mode: load, stress, idle or audio}
shift
latency=0
if [[ "${1:-}" == "--latency-ms" ]]; then
  latency=$2
  shift 2
fi
sim_port=${SIM_PORT:-18080}
gateway_port=${GATEWAY_PORT:-18003}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
"$bin" simulate --port "$sim_port" >"$work/sim.log" 2>&1 &
UPSTREAM_URL="ws://127.0.0.1:$sim_port/v1/realtime" PORT=$gateway_port \
  PLUGIN_DIR="$work/plugins" KB_DIR=examples/kb RUST_LOG=warn \
  "$bin" serve >"$work/gateway.log" 2>&1 &
gateway=$!
for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:$gateway_port/health" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fs -X POST -H 'content-type: application/json' \
  -d "{\"latency_ms\": $latency}" "http://127.0.0.1:$sim_port/_sim/faults" >/dev/null
"$bin" loadtest voxgate-docs "$mode" --url "ws://127.0.0.1:$gateway_port" --path /v1/realtime \
  --sim-url "http://127.0.0.1:$sim_port" --gateway-pid "$gateway" "$@"
