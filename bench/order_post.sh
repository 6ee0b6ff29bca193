#!/usr/bin/env bash
# Durable POST /v1/orders per second against pgbench doing one comparable single-row
# INSERT per transaction, with the same client count, on one throwaway PostgreSQL with
# fsync and synchronous commit on. Alternating runs (A B A B ...); prints the medians
# and the ratio.
#
#   bench/order_post.sh [runs=3] [seconds=10] [clients=8]
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-3}"; secs="${2:-10}"; clients="${3:-8}"
source scripts/lib.sh
source bench/lib.sh
bench_build_node

work=$(mktemp -d)
port=$((40000 + RANDOM % 20000))
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  bench_postgres_stop "$work"
  rm -rf "$work"
}
trap cleanup EXIT

bench_postgres_start "$work" "$port" -c max_connections=100
createdb -h "$work" -p "$port" -U postgres pgbench

# The same shape of row an order insert writes.
psql -q -h "$work" -p "$port" -U postgres pgbench <<'SQL'
CREATE TABLE orders (id uuid PRIMARY KEY, user_id uuid NOT NULL, status text NOT NULL,
  items jsonb NOT NULL, payment_method text NOT NULL, payment_token text NOT NULL,
  idempotency_key text NOT NULL, request_hash text NOT NULL, version bigint NOT NULL,
  created_at timestamptz NOT NULL);
CREATE UNIQUE INDEX ON orders (user_id, idempotency_key);
SQL
cat >"$work/insert.sql" <<'SQL'
INSERT INTO orders VALUES (gen_random_uuid(), '11111111-1111-4111-8111-111111111111', 'pending',
  '[{"sku":"sku-1","quantity":1}]', 'sim', 'tok_ok', gen_random_uuid()::text,
  md5(random()::text), 1, now());
SQL

build/nodes/troupe-node/troupe-node --http-host 127.0.0.1 --http-port 0 \
  --store postgres --database-url "postgresql://postgres@127.0.0.1:$port/troupe" \
  --db-pool-size "$clients" --jwt-secret "bench-secret-bench-secret-bench-secret" \
  --admin-email admin@example.org --admin-password admin-password 2>"$work/node.log" \
  --log-level info &
pids+=($!)
for _ in $(seq 100); do grep -aq "listening on" "$work/node.log" 2>/dev/null && break; sleep 0.1; done
base="http://127.0.0.1:$(grep -ao 'listening on http://[^ ]*' "$work/node.log" | sed 's/.*://')"
for _ in $(seq 100); do curl -sf "$base/readyz" >/dev/null && break; sleep 0.1; done
setup=$(bench_order_setup "$base")
read -r _ token <<<"$setup"
bench_order_lua "$work/post.lua" "$token"

run_troupe() {
  wrk -t1 -c"$clients" -d"${secs}s" -s "$work/post.lua" "$base/v1/orders" -- "$(date +%s%N)" \
    >"$work/wrk.out"
  grep -q "Non-2xx" "$work/wrk.out" && { echo "troupe answered errors:" >&2; cat "$work/wrk.out" >&2; exit 1; }
  awk '/Requests\/sec/ {print $2}' "$work/wrk.out"
}
run_pgbench() {
  pgbench -n -h 127.0.0.1 -p "$port" -U postgres -c "$clients" -j 2 -T "$secs" -f "$work/insert.sql" \
    pgbench 2>/dev/null | awk '/^tps/ {print $3}'
}
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

: >"$work/troupe"; : >"$work/pgbench"
for r in $(seq "$runs"); do
  run_pgbench >>"$work/pgbench"
  run_troupe >>"$work/troupe"
  echo "run $r: pgbench $(tail -1 "$work/pgbench") tps | troupe $(tail -1 "$work/troupe") orders/s"
done
p=$(median <"$work/pgbench"); t=$(median <"$work/troupe")
echo "median: pgbench $p single-row inserts/s, troupe $t durable orders/s (${clients} clients)"
echo "ratio $(awk -v a="$t" -v b="$p" 'BEGIN {printf "%.2f", a/b}') (goal >= 1.5)"
# Group commit at work: store writes per shared COMMIT over the whole bench.
curl -sf "$base/metrics" | awk '/^troupe_db_batch_size_sum/ {w=$2} /^troupe_db_batch_size_count/ {c=$2}
  END {if (c > 0) printf "store: %d writes in %d commits (%.2f per commit)\n", w, c, w/c}'

