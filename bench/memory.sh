#!/usr/bin/env bash
# What an idle entity costs in memory: one node on the memory store, with a long idle timeout
# so nothing passivates; the resident set (VmRSS) before and after activating `skus` new SKU
# entities (a PUT each) and then `users` user entities (a registration each: a password hash
# apiece makes them slower to create), divided by the activations the node reports
# (troupe_entities_active). Orders are not in it: an order leaves memory when its saga ends.
# Goal: under 2 KB per idle entity.
#
#   bench/memory.sh [skus=20000] [users=2000]
set -euo pipefail
cd "$(dirname "$0")/.."
skus="${1:-20000}"; users="${2:-2000}"
source scripts/lib.sh
source bench/lib.sh
bench_build_node
work=$(mktemp -d)
node=""
cleanup() { [ -z "$node" ] || kill "$node" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

port=$(bench_free_port)
build/nodes/troupe-node/troupe-node --http-host 127.0.0.1 --http-port "$port" --log-level warn \
  --jwt-secret "bench-secret-bench-secret-bench-secret" --entity-idle 3600 \
  --admin-email admin@example.org --admin-password admin-password 2>"$work/node.log" &
node=$!
base="http://127.0.0.1:$port"
for _ in $(seq 100); do curl -sf "$base/readyz" >/dev/null && break; sleep 0.1; done
admin=""
for _ in $(seq 50); do admin=$(bench_login "$base" admin@example.org admin-password || true); [ -n "$admin" ] && break; sleep 0.2; done

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$node/status"; }
active() { # kind
  curl -sf "$base/metrics" | awk -v k="troupe_entities_active{kind=\"$1\"}" '$1 == k {print $2}'
}
# Sends one request per line of stdin ("METHOD PATH BODY") over one kept-alive connection
# (a curl config of blocks joined by `next`); prints how many answered `$1`.
drive() {
  awk -v base="$base" -v auth="Authorization: Bearer $admin" '{
    body = $0; sub(/^[^ ]+ [^ ]+ /, "", body); gsub(/"/, "\\\"", body)
    if (NR > 1) print "next"
    printf "request = \"%s\"\nurl = \"%s%s\"\ndata = \"%s\"\n", $1, base, $2, body
    printf "header = \"Content-Type: application/json\"\nheader = \"%s\"\n", auth
    print "output = \"/dev/null\"\nwrite-out = \"%{http_code}\\n\"\nsilent"
  }' >"$work/requests.cfg"
  curl -K "$work/requests.cfg" | grep -c "^$1\$" || true
}
measure() { # kind count-expected before-kb -> line
  local now n
  sleep 1
  now=$(rss_kb); n=$(active "$1"); n=${n:-0}
  if [ "${n%.*}" -lt "$2" ]; then
    echo "bench: only $n $1 activations of $2" >&2; exit 1
  fi
  printf '%-6s %8s activations  %8s KB more resident  %6.2f KB each\n' "$1" "${n%.*}" \
    "$((now - $3))" "$(awk -v d="$((now - $3))" -v n="$n" 'BEGIN {print d / n}')"
}

sleep 1
before=$(rss_kb)
seq "$skus" | awk '{printf "PUT /v1/inventory/mem-%d {\"on_hand\": 5}\n", $1}' | drive 200 >/dev/null
measure sku "$skus" "$before"

before=$(rss_kb)
seq "$users" | awk '{printf "POST /v1/users {\"email\":\"mem%d@example.org\",\"password\":\"memory-password\",\"display_name\":\"Mem\"}\n", $1}' |
  drive 201 >/dev/null
measure user "$users" "$before"
echo "goal: under 2 KB per idle entity"
