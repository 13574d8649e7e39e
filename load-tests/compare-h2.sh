#!/usr/bin/env bash
# compare-h2.sh - HTTP/2 over TLS: Fulcrum against HAProxy and nginx on the same 3 nginx HTTP/1.1 backends, with
# h2load on loopback. Prepared, not yet run on a quiet machine (see README.md, "HTTP/2").
#
#   load-tests/compare-h2.sh         (from anywhere, after `mvn package`)
#
# Installs haproxy, nginx-light, nghttp2-client (h2load) and openssl from Debian if missing (as root); makes a
# self-signed certificate; runs on 127.0.0.1:
#   backends 9001-9003  nginx, 1 worker each (as compare.sh)
#   haproxy-h2 8443 (bind ssl alpn h2,http/1.1; http-reuse always), nginx-h2 8444 (listen ssl http2; upstream
#   keepalive), fulcrum-h2 8095 (load-tests/bench-h2.conf: http2.enabled on a TLS listener)
# Scenarios: multiplex (few connections, many streams each: -c MUX_CONNS -m MUX_STREAMS) and single (one stream per
# connection at a time: -c SINGLE_CONNS -m 1). Per scenario every target is warmed up, then ROUNDS measured runs
# rotate over the targets. Printed: median req/s, errors summed, and the median per-round ratio to HAProxy.
# The issue's bar: >= 0.8x HAProxy's req/s with no errors.
#
# Env: DURATION (s, 10), ROUNDS (3), WARMUP (s for Fulcrum, 15), PEER_WARMUP (2), MUX_CONNS (4), MUX_STREAMS (100),
# SINGLE_CONNS (64), SCENARIOS ("multiplex single"), JAVA_OPTS.
set -uo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10}; ROUNDS=${ROUNDS:-3}; WARMUP=${WARMUP:-15}; PEER_WARMUP=${PEER_WARMUP:-2}
MUX_CONNS=${MUX_CONNS:-4}; MUX_STREAMS=${MUX_STREAMS:-100}; SINGLE_CONNS=${SINGLE_CONNS:-64}
SCENARIOS=${SCENARIOS:-"multiplex single"}; JAVA_OPTS=${JAVA_OPTS:-}
JAR=target/fulcrum.jar
BACKEND_PORTS=(9001 9002 9003)

log() { printf '[%(%H:%M:%S)T] compare-h2: %s\n' -1 "$*" >&2; }
die() { log "$*"; exit 1; }
for s in $SCENARIOS; do [[ $s =~ ^(multiplex|single)$ ]] || die "unknown scenario '$s' (multiplex, single)"; done
[[ -f $JAR ]] || die "$JAR missing; run: mvn -q package -DskipTests"

pkgs=()
for cmd in haproxy h2load openssl curl; do command -v $cmd >/dev/null || pkgs+=($cmd); done
[[ " ${pkgs[*]} " == *" h2load "* ]] && pkgs=("${pkgs[@]/h2load/nghttp2-client}")
command -v nginx >/dev/null || pkgs+=(nginx-light)
if ((${#pkgs[@]})); then
  [[ $(id -u) == 0 ]] || die "not root: cannot install ${pkgs[*]}"
  log "installing ${pkgs[*]}"
  policy=0
  [[ -e /usr/sbin/policy-rc.d ]] || { printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; policy=1; }
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}"; } \
    > /dev/null 2>&1 || log "apt-get install ${pkgs[*]} failed"
  ((policy)) && rm -f /usr/sbin/policy-rc.d
fi
for cmd in haproxy nginx h2load openssl setsid; do command -v $cmd >/dev/null || die "$cmd is missing"; done

WORK=$(mktemp -d /tmp/fulcrum-bench-h2.XXXXXX); chmod 755 "$WORK"; mkdir -p "$WORK/raw" "$WORK/tmp"
declare -A PGID
start_group() { local name=$1; shift; setsid "$@" > "$WORK/$name.log" 2>&1 < /dev/null & PGID[$name]=$!; }
cleanup() {
  trap - EXIT INT TERM
  for name in "${!PGID[@]}"; do kill -TERM -- "-${PGID[$name]}" 2>/dev/null; done
  sleep 3
  for name in "${!PGID[@]}"; do kill -KILL -- "-${PGID[$name]}" 2>/dev/null; done
  wait 2>/dev/null; rm -rf "$WORK/tmp" "$WORK/journal"
}
trap cleanup EXIT; trap 'exit 130' INT TERM
port_open() { timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }
await_port() { local d=$((SECONDS + $3)); while ((SECONDS < d)); do port_open $1 && return 0; sleep 0.2; done; log "$2: port $1 not open"; return 1; }

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -keyout "$WORK/key.pem" -out "$WORK/cert.pem" -subj /CN=localhost \
  -addext subjectAltName=DNS:localhost,IP:127.0.0.1 2>/dev/null || die "openssl failed"
cat "$WORK/cert.pem" "$WORK/key.pem" > "$WORK/haproxy.pem"

for port in "${BACKEND_PORTS[@]}"; do
  port_open $port && die "port $port is busy"
  cat > "$WORK/backend-$port.conf" <<CONF
worker_processes 1; pid $WORK/backend-$port.pid; error_log $WORK/backend-$port.err warn;
events { worker_connections 8192; }
http { access_log off; default_type text/plain; keepalive_timeout 75s; keepalive_requests 1000000;
  client_body_temp_path $WORK/tmp/b; proxy_temp_path $WORK/tmp/p; fastcgi_temp_path $WORK/tmp/f;
  uwsgi_temp_path $WORK/tmp/u; scgi_temp_path $WORK/tmp/s;
  server { listen 127.0.0.1:$port backlog=4096; location = /health { return 200 "up"; }
    location / { return 200 "backend $port\n"; } } }
CONF
  start_group backend-$port nginx -p "$WORK" -c "$WORK/backend-$port.conf" -e "$WORK/backend-$port.err" -g 'daemon off;'
done
for port in "${BACKEND_PORTS[@]}"; do await_port $port backend-$port 10 || die "backend $port did not start"; done

cat > "$WORK/haproxy.cfg" <<CONF
global
  nbthread 1
  maxconn 8000
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  http-reuse always
frontend h2
  bind 127.0.0.1:8443 ssl crt $WORK/haproxy.pem alpn h2,http/1.1
  default_backend web
backend web
  balance roundrobin
$(i=0; for p in "${BACKEND_PORTS[@]}"; do i=$((i + 1)); echo "  server b$i 127.0.0.1:$p maxconn 64"; done)
CONF
start_group haproxy-h2 haproxy -db -f "$WORK/haproxy.cfg"
cat > "$WORK/nginx-h2.conf" <<CONF
worker_processes 1; pid $WORK/nginx-h2.pid; error_log $WORK/nginx-h2.err warn;
events { worker_connections 8192; }
# keepalive_requests: nginx closes a connection after 1000 requests (streams, for h2) by default, and h2load does not
# reconnect: its multiplex run then ended after 4 x 1000 requests
http { access_log off; keepalive_requests 1000000;
  client_body_temp_path $WORK/tmp/b2; proxy_temp_path $WORK/tmp/p2; fastcgi_temp_path $WORK/tmp/f2;
  uwsgi_temp_path $WORK/tmp/u2; scgi_temp_path $WORK/tmp/s2;
  upstream web { $(for p in "${BACKEND_PORTS[@]}"; do echo "server 127.0.0.1:$p;"; done) keepalive 64; }
  server { listen 127.0.0.1:8444 ssl http2; ssl_certificate $WORK/cert.pem; ssl_certificate_key $WORK/key.pem;
    http2_max_concurrent_streams 128;
    location / { proxy_pass http://web; proxy_http_version 1.1; proxy_set_header Connection ""; } } }
CONF
start_group nginx-h2 nginx -p "$WORK" -c "$WORK/nginx-h2.conf" -e "$WORK/nginx-h2.err" -g 'daemon off;'
start_group fulcrum-h2 env BACKENDS="$(IFS=,; echo "${BACKEND_PORTS[*]/#/127.0.0.1:}")" \
  BENCH_TLS_CERT="$WORK/cert.pem" BENCH_TLS_KEY="$WORK/key.pem" \
  java "-Dpekko-persistence-jdbc.shared-databases.fulcrum.db.url=jdbc:h2:file:$WORK/journal/fulcrum" $JAVA_OPTS \
  -jar "$JAR" --config load-tests/bench-h2.conf
declare -A PORT=([haproxy-h2]=8443 [nginx-h2]=8444 [fulcrum-h2]=8095)
TARGETS=()
for t in haproxy-h2 nginx-h2 fulcrum-h2; do
  await_port ${PORT[$t]} $t 60 || continue
  proto=$(curl -sk --http2 -o /dev/null -w '%{http_version}' "https://127.0.0.1:${PORT[$t]}/") || true
  [[ $proto == 2 ]] && TARGETS+=($t) || log "$t does not answer over h2 (got '$proto') - skipped"
done
((${#TARGETS[@]})) || die "no target"

h2load_run() { # TARGET SCENARIO SECONDS
  local args
  [[ $2 == multiplex ]] && args=(-c "$MUX_CONNS" -m "$MUX_STREAMS") || args=(-c "$SINGLE_CONNS" -m 1)
  timeout -k 5 $(($3 + 30)) h2load -t1 "${args[@]}" -D "$3" "https://127.0.0.1:${PORT[$1]}/"
}
echo "scenario,target,round,req_s,succeeded,failed,errored" > "$WORK/rows.csv"
for sc in $SCENARIOS; do
  for t in "${TARGETS[@]}"; do
    secs=$PEER_WARMUP; [[ $t == fulcrum-h2 ]] && secs=$WARMUP
    ((secs > 0)) && { log "$t $sc: warm-up ${secs}s"; h2load_run $t $sc $secs > /dev/null 2>&1; }
  done
  for r in $(seq "$ROUNDS"); do
    for t in "${TARGETS[@]}"; do
      raw="$WORK/raw/$sc-$t-$r.txt"
      h2load_run $t $sc "$DURATION" > "$raw" 2>&1
      rps=$(awk '/^finished in/ {gsub(",", ""); print $4}' "$raw")
      read -r ok failed errored < <(awk '/^requests:/ {print $8, $10, $12}' "$raw")
      echo "$sc,$t,$r,${rps:-0},${ok:-0},${failed:-0},${errored:-0}" >> "$WORK/rows.csv"
      log "$sc $t round $r: ${rps:-?} req/s, failed ${failed:-?}, errored ${errored:-?}"
    done
  done
done
# sorted by hand: Debian's default awk (mawk) has no asort
awk -F, 'function isort(a, m,   i, j, t) { for (i = 2; i <= m; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t } }
  NR > 1 { k = $1 SUBSEP $2; n[k]++; v[k, n[k]] = $4; err[k] += $6 + $7 }
  END {
    printf "%-10s %-11s %10s %7s\n", "scenario", "target", "req/s", "errors"
    for (k in n) {
      split(k, p, SUBSEP); m = n[k]; for (i = 1; i <= m; i++) a[i] = v[k, i]; isort(a, m)
      printf "%-10s %-11s %10.0f %7d\n", p[1], p[2], a[int((m + 1) / 2)], err[k]; delete a
    }
  }' "$WORK/rows.csv"
# per-round ratio to HAProxy of the same scenario, median over rounds
awk -F, 'function isort(a, m,   i, j, t) { for (i = 2; i <= m; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t } }
  NR > 1 { rps[$1, $2, $3] = $4; sc[$1] = 1; tg[$2] = 1; rounds = ($3 > rounds) ? $3 : rounds }
  END { for (s in sc) for (t in tg) { if (t == "haproxy-h2") continue; m = 0
      for (r = 1; r <= rounds; r++) if (rps[s, "haproxy-h2", r] > 0) x[++m] = rps[s, t, r] / rps[s, "haproxy-h2", r]
      if (m) { isort(x, m); printf "%s %s: %.2fx HAProxy (median of %d rounds)\n", s, t, x[int((m + 1) / 2)], m }; delete x } }' \
  "$WORK/rows.csv"
echo "raw h2load output and rows.csv: $WORK"
