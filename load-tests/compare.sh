#!/usr/bin/env bash
# compare.sh - Fulcrum against HAProxy on the same 3 nginx backends, with wrk on loopback.
#
#   load-tests/compare.sh            (from the project root, after `mvn package`)
#
# Self-contained: installs haproxy, nginx-light and wrk from Debian if missing (as root), runs its own backends
# (GET / small body, GET /health "up", GET /big 1 MiB) on 9001-9003, HAProxy `mode tcp` on 8082, and Fulcrum with
# load-tests/bench.conf on 8092. Scenarios: keep-alive GET / and one new connection per request. Rounds alternate
# between the two balancers so machine noise hits both; medians are printed with the ratio Fulcrum/HAProxy.
# Env: DURATION (s per run, 5), ROUNDS (3), CONNS (64), WARMUP (s, 15; JIT warm-up for Fulcrum, discarded).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-5}; ROUNDS=${ROUNDS:-3}; CONNS=${CONNS:-64}; WARMUP=${WARMUP:-15}
JAR=target/fulcrum.jar
WORK=$(mktemp -d /tmp/fulcrum-bench.XXXXXX)
PIDS=()

[[ -f $JAR ]] || { echo "compare: $JAR missing; run: mvn -q package -DskipTests" >&2; exit 1; }
missing=()
for cmd in haproxy nginx wrk curl; do command -v $cmd >/dev/null || missing+=($cmd); done
if ((${#missing[@]})); then
  pkgs=(); for m in "${missing[@]}"; do [[ $m == nginx ]] && pkgs+=(nginx-light) || pkgs+=($m); done
  echo "compare: installing ${pkgs[*]}"
  [[ -e /usr/sbin/policy-rc.d ]] || { printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; }
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
fi

cleanup() { for pid in "${PIDS[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

port_open() { timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }
await_port() { for _ in $(seq 600); do port_open "$1" && return 0; sleep 0.1; done; echo "compare: nothing on $1" >&2; exit 1; }
start() { setsid "$@" > "$WORK/$(basename "$1").$RANDOM.log" 2>&1 & PIDS+=($!); }

# Backends: one nginx master per port, one worker each.
mkdir -p "$WORK/tmp"; chmod 755 "$WORK"; head -c 1048576 /dev/zero > "$WORK/big.bin"; chmod 644 "$WORK/big.bin"
for port in 9001 9002 9003; do
  port_open $port && { echo "compare: port $port is busy" >&2; exit 1; }
  cat > "$WORK/backend-$port.conf" <<CONF
worker_processes 1; pid $WORK/backend-$port.pid; error_log $WORK/backend-$port.err warn;
events { worker_connections 8192; }
http { access_log off; default_type text/plain; sendfile on; keepalive_requests 1000000;
  client_body_temp_path $WORK/tmp/b; proxy_temp_path $WORK/tmp/p; fastcgi_temp_path $WORK/tmp/f;
  uwsgi_temp_path $WORK/tmp/u; scgi_temp_path $WORK/tmp/s;
  server { listen 127.0.0.1:$port backlog=4096;
    location = /health { return 200 "up"; }
    location = /big { default_type application/octet-stream; alias $WORK/big.bin; }
    location / { return 200 "backend $port\n"; } } }
CONF
  start nginx -p "$WORK" -c "$WORK/backend-$port.conf" -g 'daemon off;'
done

cat > "$WORK/haproxy.cfg" <<CONF
global
  nbthread 1
  maxconn 8000
defaults
  mode tcp
  timeout connect 2s
  timeout client 60s
  timeout server 60s
listen l4
  bind 127.0.0.1:8082
  balance roundrobin
  server b1 127.0.0.1:9001 check inter 2s
  server b2 127.0.0.1:9002 check inter 2s
  server b3 127.0.0.1:9003 check inter 2s
CONF
start haproxy -f "$WORK/haproxy.cfg" -db
BACKENDS=127.0.0.1:9001,127.0.0.1:9002,127.0.0.1:9003 start java -jar "$JAR" --config load-tests/bench.conf
for port in 9001 9002 9003 8082 8092; do await_port $port; done

# Each target must balance over all three backends before it is measured.
for port in 8082 8092; do
  seen=$(for _ in 1 2 3 4 5 6; do curl -fsS --max-time 2 "http://127.0.0.1:$port/"; done | sort -u | wc -l)
  [[ $seen == 3 ]] || { echo "compare: target on $port reached $seen of 3 backends" >&2; exit 1; }
done

# One wrk run: prints "req/s p99ms errors".
run() {
  local port=$1 scenario=$2 secs=$3 extra=()
  [[ $scenario == close ]] && extra=(-H 'Connection: close')
  wrk -t1 -c"$CONNS" -d"${secs}s" --latency "${extra[@]}" "http://127.0.0.1:$port/" > "$WORK/wrk.out" 2>&1 || true
  awk '
    /Requests\/sec/ {rps=$2}
    /^ +99%/ {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; p99=v}
    /Socket errors/ {split($0,a,/[ ,]+/); for (i in a) if (a[i] ~ /^[0-9]+$/) err+=a[i]}
    /Non-2xx/ {err+=$NF}
    END {printf "%.0f %.2f %d\n", rps, p99, err}' "$WORK/wrk.out"
}
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

printf '%-10s %-9s %10s %8s %7s\n' scenario target req/s p99ms errors
for scenario in keepalive close; do
  run 8092 $scenario "$WARMUP" > /dev/null
  run 8082 $scenario 2 > /dev/null
  : > "$WORK/haproxy.$scenario"; : > "$WORK/fulcrum.$scenario"
  for round in $(seq "$ROUNDS"); do
    if ((round % 2)); then order="8082 8092"; else order="8092 8082"; fi
    for port in $order; do
      name=$([[ $port == 8082 ]] && echo haproxy || echo fulcrum)
      run $port $scenario "$DURATION" >> "$WORK/$name.$scenario"
    done
  done
  for name in haproxy fulcrum; do
    rps=$(cut -d' ' -f1 "$WORK/$name.$scenario" | median)
    p99=$(cut -d' ' -f2 "$WORK/$name.$scenario" | median)
    err=$(awk '{s+=$3} END {print s+0}' "$WORK/$name.$scenario")
    printf '%-10s %-9s %10.0f %8.2f %7d\n' $scenario $name "$rps" "$p99" "$err"
    eval "${name}_rps=$rps; ${name}_p99=$p99"
  done
  awk -v f="$fulcrum_rps" -v h="$haproxy_rps" -v fp="$fulcrum_p99" -v hp="$haproxy_p99" \
    'BEGIN {printf "%-10s ratio     req/s %.2f x HAProxy, p99 %.2f x HAProxy\n", "", f/h, fp/hp}' | sed "s/^ */$scenario /"
done
echo "compare: raw output in $WORK"
