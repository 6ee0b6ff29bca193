# Shared by the macro benchmarks. Source it after scripts/lib.sh, don't run it.

# Installs what the benchmarks need and builds troupe-node (the default build:
# RelWithDebInfo, -O2).
bench_build_node() { # [more targets...]
  troupe_install "${TROUPE_PACKAGES[@]}" wrk
  [ -f build/build.ninja ] || cmake -S . -B build -G Ninja >/dev/null
  cmake --build build --target troupe-node "$@" -- -j"$(nproc)" >/dev/null
}

bench_pg_bin=/usr/lib/postgresql/15/bin

# Starts a throwaway PostgreSQL in folder $1 on 127.0.0.1 port $2 (socket in $1), durable
# on purpose (fsync and synchronous_commit keep their defaults, on), with a database
# troupe; further arguments are server settings ("-c name=value").
bench_postgres_start() {
  local dir="$1" port="$2"
  shift 2
  chown postgres "$dir"
  runuser -u postgres -- "$bench_pg_bin/initdb" -D "$dir/data" -A trust -U postgres --no-locale >/dev/null
  runuser -u postgres -- "$bench_pg_bin/pg_ctl" -D "$dir/data" -l "$dir/pg.log" -w \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 $*" start >/dev/null
  createdb -h "$dir" -p "$port" -U postgres troupe
}

# A TCP port on 127.0.0.1 that is free now.
bench_free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# CPU ticks (user + system) of process $1, all its threads.
bench_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }

# CPU ticks of the PostgreSQL that bench_postgres_start started in folder $1: the postmaster
# with all the children it has reaped (a client's backends are gone when it ends), plus its
# live children.
bench_pg_ticks() {
  local pm; pm=$(head -1 "$1/data/postmaster.pid")
  { cat "/proc/$pm/stat"; for c in $(pgrep -P "$pm"); do cat "/proc/$c/stat" 2>/dev/null || true; done; } |
    sed 's/.*) //' | awk 'NR == 1 {t = $14 + $15} {t += $12 + $13} END {print t}'
}

# Stops what bench_postgres_start started in folder $1, if it runs.
bench_postgres_stop() {
  runuser -u postgres -- "$bench_pg_bin/pg_ctl" -D "$1/data" -m immediate stop >/dev/null 2>&1 || true
}

# The access token of email $2 / password $3 from the node at URL $1 (empty if refused).
bench_login() {
  curl -sf -X POST "$1/v1/auth/login" -H 'Content-Type: application/json' \
    -d "{\"email\":\"$2\",\"password\":\"$3\"}" | sed 's/.*"access_token":"\([^"]*\)".*/\1/'
}

# Through the node at URL $1 (started with --admin-email admin@example.org --admin-password
# admin-password): stocks sku-1..sku-8 without limit and registers bench@example.org.
# Prints the user's id and access token; fails if either is missing.
bench_order_setup() {
  local admin="" id token
  for _ in $(seq 50); do
    admin=$(bench_login "$1" admin@example.org admin-password || true)
    [ -n "$admin" ] && break
    sleep 0.2
  done
  for i in $(seq 8); do
    curl -sf -X PUT "$1/v1/inventory/sku-$i" -H "Authorization: Bearer $admin" \
      -H 'Content-Type: application/json' -d '{"on_hand": 1000000000}' >/dev/null
  done
  id=$(curl -s -X POST "$1/v1/users" -H 'Content-Type: application/json' \
    -d '{"email":"bench@example.org","password":"bench-password","display_name":"Bench"}' |
    sed -n 's/.*"id":"\([^"]*\)".*/\1/p')
  token=$(bench_login "$1" bench@example.org bench-password || true)
  if [ -z "$id" ] || [ -z "$token" ]; then
    echo "bench: could not stock the SKUs or register the bench user" >&2
    return 1
  fi
  echo "$id $token"
}

# Writes to file $1 a wrk script that posts one new, durable order per request with token
# $2: every request has its own Idempotency-Key, prefixed by wrk's first script argument.
# A thread stops at the first answer other than 201.
bench_order_lua() {
  cat >"$1" <<LUA
local n = 0
-- Unseeded, math.random repeats its numbers in every run, so each run would replay the keys
-- of the first (200, not 201) and stop; the prefix comes from the command line instead.
local prefix = "bench"
init = function(args) prefix = args[1] or prefix end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $2"
request = function()
  n = n + 1
  wrk.headers["Idempotency-Key"] = prefix .. "-" .. n
  local sku = "sku-" .. (n % 8 + 1)
  return wrk.format(nil, nil, nil,
    '{"items":[{"sku":"' .. sku .. '","quantity":1}],"payment":{"method":"sim","token":"tok_ok"}}')
end
response = function(status) if status ~= 201 then wrk.thread:stop() end end
LUA
}

# The median of the numbers on stdin, one a line.
bench_median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# Latency percentile $2 ("50%", "99%") in ms from file $1, an output of wrk --latency.
bench_wrk_ms() {
  awk -v p="$2" '$1 == p {v = $2; f = v ~ /us$/ ? 0.001 : v ~ /ms$/ ? 1 : 1000; sub(/[um]?s$/, "", v)
    printf "%.2f", v * f}' "$1"
}
