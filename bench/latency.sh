#!/usr/bin/env bash
# What one request costs when nothing else runs: one client on one connection
# (wrk -t1 -c1), one node on the memory store, p50 and p99 in microseconds of
#
#   baseline  the same bytes as the entity GET from the minimal Beast server of
#             bench/user_get.sh (what an HTTP round trip costs here at all)
#   healthz   GET /healthz: Troupe's HTTP layer alone, no actor
#   get       GET /v1/inventory/{sku} through its entity (active, no cached copy)
#   put       PUT /v1/inventory/{sku} of that active SKU
#   activate  PUT of a new SKU on every request: an activation each
#
# Alternating runs (baseline healthz get put activate, again ...); prints each run, the
# medians, and what the entity adds: get and put over healthz, activate over put.
# Goal: the entity round trip (get - healthz) <= 60 us at p50, an activation <= 200 us.
#
#   bench/latency.sh [runs=3] [seconds=5]
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-3}"; secs="${2:-5}"
source scripts/lib.sh
source bench/lib.sh
bench_build_node baseline_http_server
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

# Warnings only: an access line per request would be most of what is measured.
port=$(bench_free_port)
build/nodes/troupe-node/troupe-node --http-host 127.0.0.1 --http-port "$port" --log-level warn \
  --jwt-secret "bench-secret-bench-secret-bench-secret" \
  --admin-email admin@example.org --admin-password admin-password 2>"$work/node.log" &
pids+=($!)
base="http://127.0.0.1:$port"
for _ in $(seq 100); do curl -sf "$base/readyz" >/dev/null && break; sleep 0.1; done
bench_order_setup "$base" >/dev/null # stocks sku-1 .. sku-8
admin=$(bench_login "$base" admin@example.org admin-password)
curl -sf "$base/v1/inventory/sku-1" -H "Authorization: Bearer $admin" >"$work/body.json"

build/bench/baseline_http_server "$work/body.json" 1 >"$work/base.port" &
pids+=($!)
for _ in $(seq 50); do [ -s "$work/base.port" ] && break; sleep 0.1; done
baseline="http://127.0.0.1:$(cat "$work/base.port")"

# PUT bodies; `activate` names a SKU no request used before.
cat >"$work/put.lua" <<EOF
wrk.method = "PUT"
wrk.body = '{"on_hand": 1000000000}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $admin"
EOF
cat "$work/put.lua" - >"$work/activate.lua" <<'EOF'
local n = 0
local prefix = ""
function init(args) prefix = args[1] end
function request()
  n = n + 1
  return wrk.format(nil, "/v1/inventory/lat-" .. prefix .. "-" .. n)
end
EOF

# Latency percentile $2 ("50%") of wrk's output $1, in microseconds.
wrk_us() {
  awk -v p="$2" '$1 == p {v = $2; f = v ~ /us$/ ? 1 : v ~ /ms$/ ? 1000 : 1e6; sub(/[um]?s$/, "", v)
    printf "%.0f", v * f}' "$1"
}
one() { # name url [wrk args...] -> "p50 p99"
  local name=$1 url=$2; shift 2
  wrk -t1 -c1 -d"${secs}s" --latency "$url" "$@" >"$work/$name.out"
  if ! grep -q "Requests/sec" "$work/$name.out" || grep -q "Non-2xx" "$work/$name.out"; then
    echo "bench: $name failed:" >&2; cat "$work/$name.out" >&2; exit 1
  fi
  echo "$(wrk_us "$work/$name.out" 50%) $(wrk_us "$work/$name.out" 99%)"
}
names=(baseline healthz get put activate)
for n in "${names[@]}"; do : >"$work/$n"; done
for r in $(seq "$runs"); do
  one baseline "$baseline/" >>"$work/baseline"
  one healthz "$base/healthz" >>"$work/healthz"
  one get "$base/v1/inventory/sku-1" -H "Authorization: Bearer $admin" >>"$work/get"
  one put "$base/v1/inventory/sku-2" -s "$work/put.lua" >>"$work/put"
  one activate "$base/" -s "$work/activate.lua" -- "$r-$(date +%s%N)" >>"$work/activate"
  line="run $r:"
  for n in "${names[@]}"; do line+=" $n $(tail -1 "$work/$n" | tr ' ' '/')"; done
  echo "$line  (p50/p99 us)"
done
declare -A p50 p99
printf '\nmedian of %d x %ss, one client          p50 us   p99 us\n' "$runs" "$secs"
for n in "${names[@]}"; do
  p50[$n]=$(cut -d' ' -f1 "$work/$n" | bench_median)
  p99[$n]=$(cut -d' ' -f2 "$work/$n" | bench_median)
  printf '%-40s %7s  %7s\n' "$n" "${p50[$n]}" "${p99[$n]}"
done
d() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.0f", a - b}'; }
echo "entity round trip (get - healthz) p50:  $(d "${p50[get]}" "${p50[healthz]}") us (goal <= 60)"
echo "write through the entity (put - healthz): $(d "${p50[put]}" "${p50[healthz]}") us"
echo "activation (activate - put) p50:        $(d "${p50[activate]}" "${p50[put]}") us (goal <= 200)"
echo "Troupe's HTTP layer (healthz - baseline): $(d "${p50[healthz]}" "${p50[baseline]}") us"
