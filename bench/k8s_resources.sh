#!/usr/bin/env bash
# What one Troupe pod uses, for the requests and limits in k8s/: three nodes on loopback,
# configured as the manifests configure them (mutual TLS, PostgreSQL, two scheduler threads,
# JSON logs), a throwaway PostgreSQL with fsync on. Phases: idle, reads (GET /v1/users/{id}
# through every node), durable writes (POST /v1/orders through every node). For each phase,
# each node's CPU (millicores, from /proc/PID/stat) and resident memory (MiB, VmRSS at the
# end of the phase, and the peak VmHWM), and the requests per second all nodes served.
# Last, how long one node takes from SIGTERM to exit.
#
#   bench/k8s_resources.sh [seconds=20] [connections-per-node=16]
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-20}"; conns="${2:-16}"
source scripts/lib.sh
source bench/lib.sh
bench_build_node

work=$(mktemp -d)
declare -A pid
cleanup() {
  for p in "${pid[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pid[@]}"; do wait "$p" 2>/dev/null || true; done
  bench_postgres_stop "$work"
  rm -rf "$work"
}
trap cleanup EXIT

pg_port=$(bench_free_port)
bench_postgres_start "$work" "$pg_port"

scripts/cluster-certs "$work/tls" troupe >/dev/null
declare -A http cport
for n in n1 n2 n3; do http[$n]=$(bench_free_port); cport[$n]=$(bench_free_port); done
for n in n1 n2 n3; do
  # The manifests' settings (k8s/base/shared/kustomization.yaml), on loopback ports.
  TROUPE_STORE=postgres TROUPE_DATABASE_URL="postgresql://postgres@127.0.0.1:$pg_port/troupe" \
  TROUPE_LOG_FORMAT=json TROUPE_ACTOR_THREADS=2 TROUPE_DRAIN_TIMEOUT_MS=10000 \
  TROUPE_CLUSTER_TLS_CERT="$work/tls/troupe.pem" TROUPE_CLUSTER_TLS_KEY="$work/tls/troupe.key" \
  TROUPE_CLUSTER_TLS_CA="$work/tls/ca.pem" TROUPE_CLUSTER_SECRET=bench-cluster-secret-0123 \
  TROUPE_JWT_SECRET=bench-jwt-secret-0123456789abcdef0123 TROUPE_ADMIN_TOKEN=bench \
  TROUPE_ADMIN_EMAIL=admin@example.org TROUPE_ADMIN_PASSWORD=admin-password \
    build/nodes/troupe-node/troupe-node --node-name "$n" --http-host 127.0.0.1 \
    --http-port "${http[$n]}" --cluster-host 127.0.0.1 --advertise-host 127.0.0.1 \
    --cluster-port "${cport[$n]}" --seeds "127.0.0.1:${cport[n1]}" >"$work/$n.log" 2>&1 &
  pid[$n]=$!
done
for n in n1 n2 n3; do
  for _ in $(seq 300); do
    [ "$(curl -s -H 'Authorization: Bearer bench' "http://127.0.0.1:${http[$n]}/admin/cluster" |
      grep -o '"state":"up"' | wc -l)" -ge 3 ] && curl -sf "http://127.0.0.1:${http[$n]}/readyz" >/dev/null && break
    sleep 0.1
  done
done

url="http://127.0.0.1:${http[n1]}"
setup=$(bench_order_setup "$url")
read -r id token <<<"$setup"
bench_order_lua "$work/post.lua" "$token"

kib() { awk -v k="$2" '$1 == k":" {print $2}' "/proc/$1/status"; }
phase() { # name, then the command that loads node $n (or nothing for idle)
  local name="$1"; shift
  declare -A before
  for n in n1 n2 n3; do before[$n]=$(bench_ticks "${pid[$n]}"); done
  local t0; t0=$(date +%s%N)
  local loads=()
  if [ $# -gt 0 ]; then
    for n in n1 n2 n3; do "$@" "$n" >"$work/$name.$n.wrk" & loads+=($!); done
    for l in "${loads[@]}"; do wait "$l"; done
  else
    sleep "$secs"
  fi
  local elapsed; elapsed=$(( ($(date +%s%N) - t0) / 1000000 ))
  local rps=0 errors=0
  if [ $# -gt 0 ]; then
    rps=$(cat "$work/$name".n?.wrk | awk '/Requests\/sec/ {s += $2} END {printf "%.0f", s}')
    errors=$(cat "$work/$name".n?.wrk | awk '/Non-2xx/ {s += $NF} END {print s + 0}')
  fi
  for n in n1 n2 n3; do
    local used=$(( $(bench_ticks "${pid[$n]}") - before[$n] ))
    printf '%-6s %s  cpu %4d m  rss %5.1f MiB  peak %5.1f MiB  (%s req/s all nodes, %s non-2xx)\n' \
      "$name" "$n" "$(( used * 1000 * 1000 / $(getconf CLK_TCK) / elapsed ))" \
      "$(awk -v k="$(kib "${pid[$n]}" VmRSS)" 'BEGIN {print k / 1024}')" \
      "$(awk -v k="$(kib "${pid[$n]}" VmHWM)" 'BEGIN {print k / 1024}')" "$rps" "$errors"
  done
}
reads() { wrk -t1 -c"$conns" -d"${secs}s" -H "Authorization: Bearer $token" "http://127.0.0.1:${http[$1]}/v1/users/$id"; }
writes() { wrk -t1 -c"$conns" -d"${secs}s" -s "$work/post.lua" "http://127.0.0.1:${http[$1]}/v1/orders" -- "$1-$(date +%s%N)"; }

echo "machine: $(nproc) cores; three nodes, PostgreSQL and wrk share them; load average $(cut -d' ' -f1-3 /proc/loadavg)"
phase idle
phase reads reads
phase writes writes
phase settle # the outbox delivers the writes' notifications
phase idle

# What terminationGracePeriodSeconds must cover after the preStop hook: SIGTERM to exit,
# with the two others up to take over the leaving node's keys.
t0=$(date +%s%N)
kill -TERM "${pid[n3]}"
wait "${pid[n3]}" && rc=0 || rc=$?
unset 'pid[n3]'
echo "stop   n3  SIGTERM to exit $(( ($(date +%s%N) - t0) / 1000000 )) ms, exit code $rc" \
  "(the tree's stop $(grep -ao 'budget [0-9]* ms' "$work/n3.log"))"
