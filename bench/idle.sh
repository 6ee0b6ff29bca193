#!/usr/bin/env bash
# What an idle node costs: CPU of each node of a three-node cluster on one throwaway
# PostgreSQL (mutual TLS, no traffic), and of PostgreSQL itself, over `seconds` after the
# cluster formed and settled; then a lone node on the memory store. Both scheduler policies
# (--actor-scheduler sharing, the default, and stealing), one after the other, each measured
# `runs` times; prints the medians as percent of one core.
# Goal: an idle node with PostgreSQL in a three-node cluster at most 1 % of a core.
#
#   bench/idle.sh [runs=2] [seconds=20]
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-2}"; secs="${2:-20}"
source scripts/lib.sh
source bench/lib.sh
bench_build_node

work=$(mktemp -d)
declare -A pid
cleanup() {
  for p in "${pid[@]}"; do kill "$p" 2>/dev/null || true; done
  bench_postgres_stop "$work"
  rm -rf "$work"
}
trap cleanup EXIT

pg_port=$(bench_free_port)
bench_postgres_start "$work" "$pg_port"
scripts/cluster-certs "$work/tls" n1 n2 n3 >/dev/null
declare -A http cport
for n in n1 n2 n3 solo; do http[$n]=$(bench_free_port); cport[$n]=$(bench_free_port); done

# Percent of one core that $1 ticks over the run are.
pct() { awk -v t="$1" -v s="$secs" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.2f", t * 100 / hz / s}'; }

start() { # name policy [extra flags...]
  local name=$1 policy=$2; shift 2
  build/nodes/troupe-node/troupe-node --node-name "$name" --http-host 127.0.0.1 \
    --http-port "${http[$name]}" --actor-scheduler "$policy" --log-level warn \
    --jwt-secret bench-jwt-secret-0123456789abcdef0123 "$@" >>"$work/$name.log" 2>&1 &
  pid[$name]=$!
}
cluster_flags() { # name
  echo --store postgres --database-url "postgresql://postgres@127.0.0.1:$pg_port/troupe" \
    --cluster-host 127.0.0.1 --advertise-host 127.0.0.1 --cluster-port "${cport[$1]}" \
    --seeds "127.0.0.1:${cport[n1]}" --cluster-secret bench-cluster-secret-0123 \
    --cluster-tls-cert "$work/tls/$1.pem" --cluster-tls-key "$work/tls/$1.key" \
    --cluster-tls-ca "$work/tls/ca.pem" --admin-token bench
}
await_ready() { # name
  for _ in $(seq 300); do curl -sf "http://127.0.0.1:${http[$1]}/readyz" >/dev/null && return 0; sleep 0.1; done
  echo "$1 did not become ready; its log:" >&2; cat "$work/$1.log" >&2; exit 1
}
stop() { for n in "$@"; do kill "${pid[$n]}"; wait "${pid[$n]}" 2>/dev/null || true; unset "pid[$n]"; done; }

# One run of policy $1: "n1% n2% n3% pg% solo%".
run() {
  local policy=$1 n t0 p0 out=""
  for n in n1 n2 n3; do start "$n" "$policy" $(cluster_flags "$n"); done
  for n in n1 n2 n3; do await_ready "$n"; done
  sleep 5 # the joins' own work, the first sweeps and the leases settle
  declare -A t0
  for n in n1 n2 n3; do t0[$n]=$(bench_ticks "${pid[$n]}"); done
  p0=$(bench_pg_ticks "$work")
  sleep "$secs"
  for n in n1 n2 n3; do out+="$(pct $(($(bench_ticks "${pid[$n]}") - t0[$n]))) "; done
  out+="$(pct $(($(bench_pg_ticks "$work") - p0))) "
  stop n1 n2 n3
  start solo "$policy" --store memory
  await_ready solo
  sleep 2
  t0[solo]=$(bench_ticks "${pid[solo]}")
  sleep "$secs"
  out+="$(pct $(($(bench_ticks "${pid[solo]}") - t0[solo])))"
  stop solo
  echo "$out"
}

for policy in sharing stealing; do
  : >"$work/$policy"
  for r in $(seq "$runs"); do
    run "$policy" >>"$work/$policy"
    echo "$policy run $r: $(tail -1 "$work/$policy")  (n1 n2 n3 postgres solo, % of a core)"
  done
done
m() { cut -d' ' -f"$2" "$work/$1" | bench_median; }
echo
printf '%-44s %9s %9s\n' "median of $runs x ${secs}s idle, % of one core" sharing stealing
for c in "1 cluster node n1 (PostgreSQL, TLS)" "2 cluster node n2" "3 cluster node n3" \
  "4 PostgreSQL serving the three" "5 lone node, memory store"; do
  printf '%-44s %9s %9s\n' "${c#* }" "$(m sharing "${c%% *}")" "$(m stealing "${c%% *}")"
done
echo "goal: an idle cluster node with PostgreSQL <= 1 % of a core"
