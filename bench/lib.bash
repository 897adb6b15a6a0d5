# bench/lib.bash — shared by the HTTP benchmarks (sourced, not run): one generated catalog, servers
# on free loopback ports each with its own data dir, and cleanup.  Callers set `bin` and `tmp`.
export LARDER_JWT_SECRET=${LARDER_JWT_SECRET:-bench-secret-0123456789abcdef0123456789abcdef}
bench_data=build/bench-data
pids=()

# bench_start runs in a command substitution (a subshell), so servers are found by their pid files
bench_cleanup() {
    local p
    for p in "$tmp"/*.pid; do
        # a server a benchmark stopped itself is gone already: that is no failure
        if [ -f "$p" ]; then kill "$(cat "$p")" 2>/dev/null || true; fi
    done
    kill "${pids[@]}" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$tmp"
}

# The 50,000-SKU catalog with 3 stores, generated once.
bench_catalog() {
    [ -f "$bench_data/catalog.jsonl" ] ||
        "$bin" gen-catalog --skus 50000 --seed 1 --stores 3 --out "$bench_data" >/dev/null 2>&1
}

# bench_start NAME [ENV=VALUE...]: serves the catalog from a fresh data dir; prints the address.
bench_start() {
    local name=$1; shift
    bench_catalog
    env "$@" "$bin" serve --catalog "$bench_data/catalog.jsonl" --stock "$bench_data/stock.jsonl" \
        --data-dir "$tmp/$name" --listen 127.0.0.1:0 >"$tmp/$name.out" 2>"$tmp/$name.err" &
    echo $! >"$tmp/$name.pid"
    for _ in $(seq 1 300); do
        local addr
        addr=$(sed -n 's/.*listening on \(http:\/\/[0-9.:]*\).*/\1/p' "$tmp/$name.out" | head -n 1)
        if [ -n "$addr" ] && curl -sf "$addr/readyz" >/dev/null 2>&1; then
            echo "$addr"
            return 0
        fi
        sleep 0.1
    done
    echo "bench: server $name did not become ready" >&2
    cat "$tmp/$name.err" >&2
    return 1
}

# median of the numbers on stdin
bench_median() { sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

# wrk's and h2load's durations on stdin (850.00us, 1.12ms, 2.01s) as milliseconds
bench_ms() { awk '{v = $1 + 0; if ($1 ~ /us$/) v /= 1000; else if ($1 ~ /[0-9]s$/) v *= 1000; print v}'; }

# bench_checkout_lua OUT SKU N: a wrk script for N connections (run it with -tN -cN), each a
# customer who puts one unit of SKU in the cart and checks out (pickup, fake_ok), again and again,
# each checkout under a new Idempotency-Key; a script argument (after --) prefixes the keys, so
# runs against the same server do not replay each other's checkouts.
bench_checkout_lua() {
    local out=$1 sku=$2 n=$3 tokens="" i
    for i in $(seq 1 "$n"); do
        tokens="$tokens\"$("$bin" token --role customer --sub "usr-bench-$i")\","
    done
    cat >"$out" <<LUA
local tokens = {$tokens}
local counter = 1
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end
function init(args)
  n = 0
  prefix = args[1] or ""
  checkout = false -- what to send next; moves on only with an answer (wrk may build a request
                   -- it never sends)
  auth = "Bearer " .. tokens[id]
end
request = function()
  if not checkout then
    return wrk.format("PUT", "/v1/cart/items/$sku",
      {["Authorization"] = auth, ["Content-Type"] = "application/json"}, '{"quantity":1}')
  end
  return wrk.format("POST", "/v1/checkout",
    {["Authorization"] = auth, ["Content-Type"] = "application/json",
     ["Idempotency-Key"] = "bench-" .. prefix .. id .. "-" .. n},
    '{"fulfillment":{"type":"pickup"},"payment":{"provider":"fake","token":"fake_ok"}}')
end
response = function(status, headers, body)
  if status >= 300 then
    io.stderr:write("thread " .. id .. " request " .. n .. ": " .. status .. " " .. body .. "\n")
  end
  if checkout then n = n + 1 end
  checkout = not checkout
end
LUA
}

# bench_redis: redis-server under --appendonly yes --appendfsync always (an fsync before every
# reply batch) on a free loopback port, files in $tmp/redis, stopped with the benchmark; sets
# redis_port and redis_pid once it answers.
bench_redis() {
    redis_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    mkdir -p "$tmp/redis"
    redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$tmp/redis" --appendonly yes \
        --appendfsync always --save "" --daemonize no >"$tmp/redis.log" 2>&1 &
    redis_pid=$!
    pids+=("$redis_pid")
    for _ in $(seq 1 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.05; done
}

# bench_adjust_lua OUT SKU TOKEN [DELTA]: a wrk script of durable adjusts, POST
# /v1/stock/SKU/adjust {"delta":DELTA} (default 1).  A static request: a Lua request() function, which could spread the SKUs, costs
# wrk about a quarter of its rate on this 2-core machine, where wrk shares the cores with the
# server.
bench_adjust_lua() {
    cat >"$1" <<LUA
wrk.method = "POST"
wrk.path = "/v1/stock/$2/adjust"
wrk.body = '{"delta":${4:-1},"reason":"bench"}'
wrk.headers["Authorization"] = "Bearer $3"
wrk.headers["Content-Type"] = "application/json"
LUA
}
