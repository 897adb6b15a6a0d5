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
