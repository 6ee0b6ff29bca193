#!/usr/bin/env bash
# Durable POST /v1/orders against the same happy-path order placed by a well-written
# monolith (bench/monolith_order.sql: pgbench -M prepared, one transaction of seven
# statements over its own copy of the tables), same client count, on one throwaway
# PostgreSQL with fsync and synchronous commit on. Alternating runs (A B A B ...); each
# side has the machine to itself (the node is stopped with SIGSTOP during the monolith's
# runs, and its sagas drain before the monolith's turn). Prints each run, then a table of
# medians: orders acknowledged per second, p50/p99, CPU per order of the node and of
# PostgreSQL, and for Troupe the sagas finished per second and the backlog at the end;
# then how long notifications took from created to sent.
#
#   bench/order_post.sh [runs=3] [seconds=10] [clients=8]
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-3}"; secs="${2:-10}"; clients="${3:-8}"
source scripts/lib.sh
source bench/lib.sh
bench_build_node

work=$(mktemp -d)
# Below the ephemeral range (where the clients' thousands of sockets could hold it) and free.
port=$((20000 + RANDOM % 12000))
while [ -n "$(ss -Htan "( sport = :$port )")" ]; do port=$((20000 + RANDOM % 12000)); done
node=""
cleanup() {
  if [ -n "$node" ]; then kill -CONT "$node" 2>/dev/null || true; kill "$node" 2>/dev/null || true; fi
  bench_postgres_stop "$work"
  rm -rf "$work"
}
trap cleanup EXIT

# Troupe's pool and pgbench's clients both fit, with room for psql.
bench_postgres_start "$work" "$port" -c max_connections=$((2 * clients + 20))
sql() { psql -qAtX -F ' ' -v ON_ERROR_STOP=1 -h "$work" -p "$port" -U postgres "$@"; }
createdb -h "$work" -p "$port" -U postgres monolith
for f in actors/order/schema/*.sql actors/notification/schema/*.sql bench/monolith_schema.sql; do
  sql -f "$f" monolith >/dev/null
done
mono_user=6d1f7c1e-1b9a-4f6e-9a35-0c2b8e4d5a10 # seeded by bench/monolith_schema.sql

build/nodes/troupe-node/troupe-node --http-host 127.0.0.1 --http-port 0 \
  --store postgres --database-url "postgresql://postgres@127.0.0.1:$port/troupe" \
  --db-pool-size "${TROUPE_BENCH_DB_POOL:-$clients}" --jwt-secret "bench-secret-bench-secret-bench-secret" \
  --admin-email admin@example.org --admin-password admin-password 2>"$work/node.log" \
  --log-level info &
node=$!
for _ in $(seq 100); do grep -aq "listening on" "$work/node.log" 2>/dev/null && break; sleep 0.1; done
base="http://127.0.0.1:$(grep -ao 'listening on http://[^ ]*' "$work/node.log" | sed 's/.*://')"
for _ in $(seq 100); do curl -sf "$base/readyz" >/dev/null && break; sleep 0.1; done
setup=$(bench_order_setup "$base")
read -r _ token <<<"$setup"
bench_order_lua "$work/post.lua" "$token"

us_per() { awk -v t="$1" -v n="$2" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.0f", t * 1e6 / hz / n}'; }
# p50 and p99 in ms of a list of latencies in µs.
p50_p99() { sort -g | awk '{a[NR]=$1} END {printf "%.2f %.2f", a[int(NR*0.5)]/1000, a[int(NR*0.99)]/1000}'; }
# Final and unfinished orders in Troupe's database (final: is_final in actors/order).
final="('confirmed', 'rejected', 'cancelled')"
counts() {
  sql troupe -c "SELECT count(*) FILTER (WHERE status IN $final),
    count(*) FILTER (WHERE status NOT IN $final) FROM orders"
}
# Waits up to 60 s for every order to be final and every notification sent, polling from
# one session (cheap for the PostgreSQL CPU it measures meanwhile).
drain() {
  sql troupe -c "DO \$\$ BEGIN FOR i IN 1..600 LOOP
    EXIT WHEN NOT EXISTS (SELECT 1 FROM orders WHERE status NOT IN $final)
      AND NOT EXISTS (SELECT 1 FROM notifications WHERE status = 'pending');
    PERFORM pg_sleep(0.1); END LOOP; END \$\$"
}

# One Troupe run: "orders/s p50 p99 node-us/order pg-us/order sagas-finished/s backlog drain-s".
# CPU counts until the backlog has drained (at most 60 s), so the saga's work is all in it.
run_troupe() {
  local n0 p0 f0 f1 backlog left t0 t1 drained orders
  kill -CONT "$node"; sleep 1 # the timers that fell due while it was stopped
  n0=$(bench_ticks "$node"); p0=$(bench_pg_ticks "$work"); read -r f0 _ < <(counts)
  wrk -t1 -c"$clients" -d"${secs}s" --latency -s "$work/post.lua" "$base/v1/orders" \
    -- "$r-$(date +%s%N)" >"$work/wrk.out"
  read -r f1 backlog < <(counts)
  grep -q "Non-2xx" "$work/wrk.out" && {
    echo "troupe answered errors:" >&2; cat "$work/wrk.out" >&2
    echo "the node's warnings and errors:" >&2; grep -aE '\[(warning|error|critical)\]' "$work/node.log" | tail -20 >&2
    exit 1
  }
  t0=$(date +%s%N); drain; t1=$(date +%s%N)
  read -r _ left < <(counts)
  drained=$(awk -v d=$((t1 - t0)) -v l="$left" 'BEGIN {if (l > 0) print ">60"; else printf "%.1f", d / 1e9}')
  orders=$(awk '/requests in/ {print $1}' "$work/wrk.out")
  echo "$(awk '/Requests\/sec/ {print $2}' "$work/wrk.out") $(bench_wrk_ms "$work/wrk.out" 50%) $(bench_wrk_ms "$work/wrk.out" 99%)" \
    "$(us_per $(($(bench_ticks "$node") - n0)) "$orders") $(us_per $(($(bench_pg_ticks "$work") - p0)) "$orders")" \
    "$(awk -v n=$((f1 - f0)) -v s="$secs" 'BEGIN {printf "%.0f", n / s}') $backlog $drained"
  kill -STOP "$node"
}

# One monolith run: "orders/s p50 p99 pgbench-us/order pg-us/order"; pgbench plays the
# monolith's application (its SQL client), so its own CPU stands for the node's.
run_monolith() {
  local p0 orders
  rm -f "$work"/pglog.*
  p0=$(bench_pg_ticks "$work")
  { TIMEFORMAT='%3U %3S'; time pgbench -n -M prepared -h 127.0.0.1 -p "$port" -U postgres \
      -c "$clients" -j 2 -T "$secs" -D user="$mono_user" -D run="$r" -D n=0 \
      -f bench/monolith_order.sql --log --log-prefix="$work/pglog" monolith >"$work/pgbench.out" 2>&1; } \
    2>"$work/time" || { echo "pgbench failed:" >&2; cat "$work/pgbench.out" >&2; exit 1; }
  sleep 0.3 # the postmaster reaps the backends that served pgbench
  orders=$(awk '/actually processed/ {print $NF}' "$work/pgbench.out")
  echo "$(awk '/^tps/ {printf "%.0f", $3}' "$work/pgbench.out") $(cat "$work"/pglog.* | awk '{print $3}' | p50_p99)" \
    "$(us_per "$(awk -v hz="$(getconf CLK_TCK)" '{printf "%.0f", ($1 + $2) * hz}' "$work/time")" "$orders")" \
    "$(us_per $(($(bench_pg_ticks "$work") - p0 - connect)) "$orders")"
}

kill -STOP "$node"
# What starting pgbench's connections costs PostgreSQL, taken off the monolith's CPU (the
# node's pool connects once, before the runs).
echo 'SELECT 1;' >"$work/connect.sql"
p0=$(bench_pg_ticks "$work")
pgbench -n -h 127.0.0.1 -p "$port" -U postgres -c "$clients" -j 2 -t 1 -f "$work/connect.sql" \
  monolith >/dev/null 2>&1
sleep 0.3
connect=$(($(bench_pg_ticks "$work") - p0))

: >"$work/troupe"; : >"$work/mono"
for r in $(seq "$runs"); do
  run_monolith >>"$work/mono"
  run_troupe >>"$work/troupe"
  echo "run $r: monolith $(tail -1 "$work/mono") | troupe $(tail -1 "$work/troupe")"
done
echo "(monolith: orders/s p50-ms p99-ms pgbench-us/order pg-us/order;" \
  "troupe: orders/s p50-ms p99-ms node-us/order pg-us/order sagas/s backlog drain-s)"

m() { cut -d' ' -f"$2" "$work/$1" | bench_median; }
row() { # label, troupe column, monolith value or column
  local t m_ ratio=""; t=$(m troupe "$2")
  if [[ "$3" == =* ]]; then m_=${3#=}; else m_=$(m mono "$3"); ratio=$(awk -v a="$t" -v b="$m_" 'BEGIN {printf "%.2f", a / b}'); fi
  printf '%-34s %10s %10s %8s\n' "$1" "$t" "$m_" "$ratio"
}
echo
printf '%-34s %10s %10s %8s\n' "median of $runs x ${secs}s, $clients clients" troupe monolith ratio
row "durable orders acknowledged/s" 1 1
row "latency p50 ms" 2 2
row "latency p99 ms" 3 3
row "CPU us/order: node (mono: pgbench)" 4 4
row "CPU us/order: PostgreSQL" 5 5
row "sagas finished/s during the run" 6 1
row "unfinished orders at the end" 7 "=0"
row "drain after the end s" 8 "=0"
echo "goal: orders/s ratio >= 1.5 at 64 clients, >= 1.2 at 8"
kill -CONT "$node"
# The notifications' lag: from the write that confirmed the order (and created its rows) to
# the write that marked them sent, over every notification of the bench.
sql troupe -c "SELECT round((percentile_cont(0.5) WITHIN GROUP (ORDER BY lag) * 1000)::numeric, 1),
    round((percentile_cont(0.99) WITHIN GROUP (ORDER BY lag) * 1000)::numeric, 1), count(*)
  FROM (SELECT extract(epoch FROM updated_at - created_at) AS lag FROM notifications
        WHERE status = 'sent') AS sent" |
  awk '{printf "notifications: created to sent p50 %s ms, p99 %s ms (%d sent)\n", $1, $2, $3}'
# Group commit at work: store writes per shared COMMIT over the whole bench.
curl -sf "$base/metrics" | awk '/^troupe_db_batch_size_sum/ {w=$2} /^troupe_db_batch_size_count/ {c=$2}
  END {if (c > 0) printf "store: %d writes in %d commits (%.2f per commit)\n", w, c, w/c}'
