#!/usr/bin/env bash
# Two cluster figures, on loopback:
#  1. GET /v1/inventory/{sku} through the node that owns the SKU (local) against the same through
#     the other node (one remote hop to the owner and back), alternating runs A B A B ...;
#     prints the medians and the ratio remote/local (goal >= 0.5).
#  2. Node-loss detection: kill -9 (and separately SIGSTOP) of one node of three, `trials`
#     times each; the time from the signal to the "-> down" line in a survivor's log, as a
#     distribution (goal p99 <= 1000 ms).
#
# The nodes share this machine's cores with wrk, so each gets one scheduler thread, as a
# pod with one core would (TROUPE_BENCH_ACTOR_THREADS overrides it; 0 = one per core).
# Nodes speak mutual TLS, as in production; TROUPE_BENCH_INSECURE=1 runs them on plain TCP
# to see what TLS costs.
#
#   bench/cluster.sh [runs=3] [seconds=5] [connections=16] [trials=20]
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-3}"; secs="${2:-5}"; conns="${3:-16}"; trials="${4:-20}"
source scripts/lib.sh
source bench/lib.sh
troupe_install "${TROUPE_PACKAGES[@]}" wrk
[ -f build/build.ninja ] || cmake -S . -B build -G Ninja >/dev/null
cmake --build build --target troupe-node -- -j"$(nproc)" >/dev/null

work=$(mktemp -d)
declare -A pid
cleanup() {
  for p in "${pid[@]}"; do kill -CONT "$p" 2>/dev/null || true; kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

secret=bench-cluster-secret-0123
scripts/cluster-certs "$work/tls" n1 n2 n3
transport() { # name
  if [ "${TROUPE_BENCH_INSECURE:-0}" = 1 ]; then echo --cluster-insecure; return; fi
  echo --cluster-tls-cert "$work/tls/$1.pem" --cluster-tls-key "$work/tls/$1.key" \
    --cluster-tls-ca "$work/tls/ca.pem"
}
declare -A http cport
for n in n1 n2 n3; do http[$n]=$(bench_free_port); cport[$n]=$(bench_free_port); done
start() { # name
  build/nodes/troupe-node/troupe-node --node-name "$1" --http-host 127.0.0.1 --http-port "${http[$1]}" \
    --cluster-host 127.0.0.1 --advertise-host 127.0.0.1 --cluster-port "${cport[$1]}" \
    --seeds "127.0.0.1:${cport[n1]}" --cluster-secret "$secret" $(transport "$1") --admin-token bench \
    --jwt-secret bench-jwt-secret-0123456789abcdef0123 --log-level info \
    --admin-email admin@example.org --admin-password admin-password \
    --actor-threads "${TROUPE_BENCH_ACTOR_THREADS:-1}" >>"$work/$1.log" 2>&1 &
  pid[$1]=$!
  disown "$!" # killing it is the point; no job notices
}
up_count() { # viewer
  curl -s -H 'Authorization: Bearer bench' "http://127.0.0.1:${http[$1]}/admin/cluster" |
    grep -o '"state":"up"' | wc -l
}
await_up() { # viewer count
  for _ in $(seq 500); do [ "$(up_count "$1")" -ge "$2" ] && return 0; sleep 0.02; done
  echo "cluster did not form" >&2; exit 1
}

# --- 1. remote vs local ------------------------------------------------------------------
start n1; start n2
await_up n1 2; await_up n2 2
# A SKU read goes to its entity every time (no node-local copy answers it), so both runs
# take the same path through the runtime's routing, but for the hop to the owner.
token=""
# With the memory store each node keeps what it owns, so log in where the admin landed.
for _ in $(seq 100); do
  for n in n1 n2; do
    token=$(curl -s -X POST "http://127.0.0.1:${http[$n]}/v1/auth/login" -H 'Content-Type: application/json' \
      -d '{"email":"admin@example.org","password":"admin-password"}' | sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
    [ -n "$token" ] && break 2
  done
  sleep 0.1
done
# Retried for up to 10 s: right after the cluster formed, ownership may still be settling (503).
for _ in $(seq 100); do
  curl -sf -X PUT "http://127.0.0.1:${http[n1]}/v1/inventory/apple" -H "Authorization: Bearer $token" \
    -H 'Content-Type: application/json' -d '{"on_hand": 10}' >/dev/null && break
  sleep 0.1
done
owner=n1; other=n2
act() { curl -s "http://127.0.0.1:${http[$1]}/metrics" | awk '/^troupe_entity_activations_total\{kind="sku"\}/ {print $2}'; }
[ "$(act n2)" = "1" ] && { owner=n2; other=n1; }
echo "SKU apple is owned by $owner; remote requests go through $other"
target=/v1/inventory/apple
run_wrk() { # node
  wrk -t1 -c"$conns" -d"${secs}s" -H "Authorization: Bearer $token" \
    "http://127.0.0.1:${http[$1]}$target" | awk '/Requests\/sec/ {print $2}'
}
: >"$work/local"; : >"$work/remote"
for r in $(seq "$runs"); do
  run_wrk "$owner" >>"$work/local"
  run_wrk "$other" >>"$work/remote"
  echo "run $r: local $(tail -1 "$work/local") req/s | remote $(tail -1 "$work/remote") req/s"
done
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
l=$(median <"$work/local"); rm_=$(median <"$work/remote")
echo "median: local $l req/s, remote $rm_ req/s (${conns} connections)"
echo "ratio remote/local $(awk -v a="$rm_" -v b="$l" 'BEGIN {printf "%.2f", a/b}') (goal >= 0.5)"

# --- 2. detection --------------------------------------------------------------------------
start n3
await_up n1 3
ms_of_line() { # "YYYY-MM-DD HH:MM:SS.mmm ..." -> epoch ms
  local d; d=$(cut -c1-23 <<<"$1"); echo $(( $(date -d "$d" +%s%N) / 1000000 ))
}
detect() { # signal
  local before t0 line
  before=$(grep -c "n3 ([0-9a-f]*) [a-z]* -> down" "$work/n1.log" || true)
  t0=$(( $(date +%s%N) / 1000000 ))
  kill -"$1" "${pid[n3]}"
  for _ in $(seq 400); do
    [ "$(grep -c "n3 ([0-9a-f]*) [a-z]* -> down" "$work/n1.log" || true)" -gt "$before" ] && break
    sleep 0.01
  done
  line=$(grep "n3 ([0-9a-f]*) [a-z]* -> down" "$work/n1.log" | tail -1)
  echo $(( $(ms_of_line "$line") - t0 ))
}
: >"$work/kill"; : >"$work/stop"
for t in $(seq "$trials"); do
  detect KILL >>"$work/kill"
  while kill -0 "${pid[n3]}" 2>/dev/null; do sleep 0.01; done
  start n3; await_up n1 3
  detect STOP >>"$work/stop"
  kill -CONT "${pid[n3]}"; await_up n1 3
done
dist() { # file label
  sort -g "$1" | awk -v label="$2" '
    function at(q) { i = int(NR * q + 0.999); if (i < 1) i = 1; if (i > NR) i = NR; return a[i] }
    {a[NR] = $1}
    END { printf "%s (ms, %d trials): min %d  p50 %d  p90 %d  p99 %d  max %d\n", label, NR,
          a[1], at(0.5), at(0.9), at(0.99), a[NR] }'
}
dist "$work/kill" "kill -9 detection"
dist "$work/stop" "SIGSTOP detection"
echo "(goal: p99 <= 1000 ms)"
