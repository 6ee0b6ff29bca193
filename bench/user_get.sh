#!/usr/bin/env bash
# GET /v1/users/{id} served by the user entity, against a minimal Beast keep-alive
# server returning the same body; same io threads, same wrk settings, alternating
# runs (A B A B ...). Prints the medians and the ratios.
#
#   bench/user_get.sh [runs=3] [seconds=10] [connections=32]
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-3}"; secs="${2:-10}"; conns="${3:-32}"
source scripts/lib.sh
source bench/lib.sh
# The default build (RelWithDebInfo: -O2) serves both sides alike.
bench_build_node baseline_http_server
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

# Troupe: one node, memory store (the entity serves from its state once active).
build/nodes/troupe-node/troupe-node --http-host 127.0.0.1 --http-port 0 --log-level info \
  --jwt-secret "bench-secret-bench-secret-bench-secret" --actor-threads 1 2>"$work/node.log" &
pids+=($!)
node_pid=$!
for _ in $(seq 100); do grep -q "listening on" "$work/node.log" 2>/dev/null && break; sleep 0.1; done
node_port=$(grep -o 'listening on http://[^ ]*' "$work/node.log" | sed 's/.*://')
curl -sf -X POST "http://127.0.0.1:$node_port/v1/users" -H 'Content-Type: application/json' \
  -d '{"email":"bench@example.org","password":"bench-password","display_name":"Bench"}' >"$work/user.json"
id=$(sed 's/.*"id":"\([^"]*\)".*/\1/' "$work/user.json")
token=$(curl -sf -X POST "http://127.0.0.1:$node_port/v1/auth/login" -H 'Content-Type: application/json' \
  -d '{"email":"bench@example.org","password":"bench-password"}' | sed 's/.*"access_token":"\([^"]*\)".*/\1/')
curl -sf "http://127.0.0.1:$node_port/v1/users/$id" -H "Authorization: Bearer $token" >"$work/body.json"

# Baseline: the same bytes from the least possible server.
build/bench/baseline_http_server "$work/body.json" 1 >"$work/base.port" &
pids+=($!)
base_pid=$!
for _ in $(seq 50); do [ -s "$work/base.port" ] && break; sleep 0.1; done
base_port=$(cat "$work/base.port")

# CPU seconds a process has used (user + system), from /proc.
cpu_of() { awk -v t="$(getconf CLK_TCK)" '{printf "%.4f", ($14 + $15) / t}' "/proc/$1/stat"; }

run_wrk() { # port pid -> "rps p99_ms cpu_us_per_request"
  local before after
  before=$(cpu_of "$2")
  wrk -t1 -c"$conns" -d"${secs}s" --latency -H "Authorization: Bearer $token" \
    "http://127.0.0.1:$1/v1/users/$id" >"$work/wrk.out"
  after=$(cpu_of "$2")
  local rps p99 reqs
  rps=$(awk '/Requests\/sec/ {print $2}' "$work/wrk.out")
  reqs=$(awk '/requests in/ {print $1}' "$work/wrk.out")
  p99=$(bench_wrk_ms "$work/wrk.out" 99%)
  echo "$rps $p99 $(awk -v a="$before" -v b="$after" -v n="$reqs" 'BEGIN {printf "%.2f", (b - a) * 1e6 / n}')"
}

: >"$work/troupe"; : >"$work/base"
for r in $(seq "$runs"); do
  run_wrk "$base_port" "$base_pid" >>"$work/base"
  run_wrk "$node_port" "$node_pid" >>"$work/troupe"
  echo "run $r: baseline $(tail -1 "$work/base") | troupe $(tail -1 "$work/troupe")  (req/s p99-ms cpu-us/req)"
done
b_rps=$(cut -d' ' -f1 "$work/base" | bench_median); t_rps=$(cut -d' ' -f1 "$work/troupe" | bench_median)
b_p99=$(cut -d' ' -f2 "$work/base" | bench_median); t_p99=$(cut -d' ' -f2 "$work/troupe" | bench_median)
echo "median req/s: baseline $b_rps, troupe $t_rps -> ratio $(awk -v a="$t_rps" -v b="$b_rps" 'BEGIN {printf "%.2f", a/b}') (goal >= 0.85)"
echo "median p99:   baseline ${b_p99} ms, troupe ${t_p99} ms -> ratio $(awk -v a="$t_p99" -v b="$b_p99" 'BEGIN {printf "%.2f", a/b}') (goal <= 1.3)"
# CPU per request is what the servers themselves spend; it drifts far less than req/s
# when other work shares the machine.
b_cpu=$(cut -d' ' -f3 "$work/base" | bench_median); t_cpu=$(cut -d' ' -f3 "$work/troupe" | bench_median)
echo "median cpu:   baseline ${b_cpu} us/req, troupe ${t_cpu} us/req -> ratio $(awk -v a="$t_cpu" -v b="$b_cpu" 'BEGIN {printf "%.2f", a/b}')"
