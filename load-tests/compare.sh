#!/usr/bin/env bash
# compare.sh - Fulcrum against HAProxy and nginx on the same 3 nginx backends, with wrk on loopback.
#
#   load-tests/compare.sh            (from anywhere, after `mvn package`)
#
# Self-contained (needs nothing outside this repository): installs haproxy, nginx-light, libnginx-mod-stream, wrk and
# curl from Debian if missing (as root), and runs everything itself on 127.0.0.1:
#   backends 9001-9003  nginx, 1 worker each: GET / "backend 900N", GET /health "up", GET /big 1 MiB
#   L7  haproxy-l7 8081 (mode http, http-reuse always), nginx-l7 8083 (upstream keepalive + proxy_pass),
#       fulcrum-l7 8091
#   L4  haproxy-l4 8082 (mode tcp), nginx-l4 8084 (stream; skipped if the module is missing), fulcrum-l4 8092
#   TLS (only when SCENARIOS names a tls- scenario) haproxy-tls 8085 (bind ... ssl crt), nginx-tls 8086 (listen ... ssl),
#       fulcrum-tls 8094 (load-tests/bench-tls.conf: an HTTPS listener, nio engine, default provider): all three on
#       the same ECDSA P-256 certificate, made with openssl in the work dir; HTTP/1.1 to the backends
# Peers run with one thread/worker, as in ../shared/bench (whose peer settings are copied here). Fulcrum runs
# load-tests/bench.conf (HTTP 8091, TCP 8092, admin 8093). Each target must reach all 3 backends, answer /health with
# "up" and pass /big whole, else it is skipped. Scenarios: keepalive (GET /, -c CONNS), close (Connection: close: one
# new connection per request), big (GET /big, -c BIG_CONNS), crowd (GET /, -c CROWD_CONNS keep-alive clients at once:
# every target is set up for it: HAProxy with maxconn 8000 and, at L7, maxconn 64 per server with its queue, nginx
# with 8192 worker_connections, Fulcrum with its defaults: max-connections from the open-file limit, 64 connections
# per backend and a queue). TLS scenarios, run on the TLS targets only and not by default (add them to SCENARIOS):
# tls-keepalive (GET / over HTTPS keep-alive, -c CONNS) and tls-close (Connection: close over HTTPS: a new TCP
# connection and a full TLS handshake per request, -c CONNS; see nosession.so below for how resumption is kept out).
# Per scenario every target is warmed up (Fulcrum for
# WARMUP s, for its JIT), then ROUNDS measured runs rotate over the targets so machine noise hits all of them.
# Printed: medians of req/s, MB/s, p99, errors summed, CPU µs per request of the target's process group, and the
# medians of the per-round ratios to HAProxy of the same layer (TLS: haproxy-tls). Raw wrk output and results.csv
# stay in the work dir.
#
# Env: DURATION (s per measured run, 5), ROUNDS (3), CONNS (64, keepalive, close and the TLS scenarios), BIG_CONNS
# (8), CROWD_CONNS (4000; the open-file limit must hold them: ulimit -n), WARMUP (s of
# discarded load for Fulcrum per scenario and layer, 15), PEER_WARMUP (same for the peers, 2), SCENARIOS ("keepalive
# close big"; also crowd, tls-keepalive, tls-close), LAYERS ("l7 l4", plain scenarios only), JAVA_OPTS (extra JVM
# flags for Fulcrum), BACKEND_PORTS ("9001 9002 9003").
set -uo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-5}; ROUNDS=${ROUNDS:-3}; CONNS=${CONNS:-64}; BIG_CONNS=${BIG_CONNS:-8}; CROWD_CONNS=${CROWD_CONNS:-4000}
WARMUP=${WARMUP:-15}; PEER_WARMUP=${PEER_WARMUP:-2}
SCENARIOS=${SCENARIOS:-"keepalive close big"}; LAYERS=${LAYERS:-"l7 l4"}; JAVA_OPTS=${JAVA_OPTS:-}
JAR=target/fulcrum.jar
read -ra BACKEND_PORTS <<< "${BACKEND_PORTS:-9001 9002 9003}"
STREAM_MODULE=/usr/lib/nginx/modules/ngx_stream_module.so
CLK_TCK=$(getconf CLK_TCK)

log() { printf '[%(%H:%M:%S)T] compare: %s\n' -1 "$*" >&2; }
die() { log "$*"; exit 1; }

for v in DURATION ROUNDS CONNS BIG_CONNS CROWD_CONNS WARMUP PEER_WARMUP; do
  [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number, got '${!v}'"
done
((DURATION > 0 && ROUNDS > 0 && CONNS > 0 && BIG_CONNS > 0)) || die "DURATION, ROUNDS, CONNS and BIG_CONNS must be > 0"
for s in $SCENARIOS; do
  [[ $s =~ ^(keepalive|close|big|crowd|tls-keepalive|tls-close)$ ]] \
    || die "unknown scenario '$s' (keepalive, close, big, crowd, tls-keepalive, tls-close)"
done
# Plain scenarios run on the L7/L4 targets, tls- ones on the TLS targets; only the targets some scenario needs start.
PLAIN=0; TLS=0
for s in $SCENARIOS; do if [[ $s == tls-* ]]; then TLS=1; else PLAIN=1; fi; done
if [[ " $SCENARIOS " == *" crowd "* ]] && (($(ulimit -n) < CROWD_CONNS + 1000)); then
  ulimit -n $((CROWD_CONNS * 3)) 2>/dev/null || die "crowd needs an open-file limit above $((CROWD_CONNS + 1000)): ulimit -n"
fi
for l in $LAYERS; do [[ $l =~ ^(l7|l4)$ ]] || die "unknown layer '$l' (l7, l4)"; done
[[ -n ${SCENARIOS// } && -n ${LAYERS// } ]] || die "SCENARIOS and LAYERS must not be empty"
[[ -f $JAR ]] || die "$JAR missing; run: mvn -q package -DskipTests"

# ---------------------------------------------------------------------------------------------------- packages --
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
pkgs=()
for cmd in haproxy wrk curl; do command -v $cmd >/dev/null || pkgs+=($cmd); done
((TLS)) && ! command -v openssl >/dev/null && pkgs+=(openssl)
[[ " $SCENARIOS " == *" tls-close "* ]] && ! command -v gcc >/dev/null && pkgs+=(gcc libc6-dev)
command -v nginx >/dev/null || pkgs+=(nginx-light)
((PLAIN)) && [[ " $LAYERS " == *" l4 "* && ! -f $STREAM_MODULE ]] && ! have_pkg libnginx-mod-stream && pkgs+=(libnginx-mod-stream)
if ((${#pkgs[@]})); then
  if [[ $(id -u) == 0 ]]; then
    log "installing ${pkgs[*]}"
    # Keep apt from starting the system haproxy/nginx services: policy-rc.d "101 = forbidden", removed afterwards.
    policy=0
    [[ -e /usr/sbin/policy-rc.d ]] || { printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; policy=1; }
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}"; } \
      > /dev/null 2>&1 || log "apt-get install ${pkgs[*]} failed"
    ((policy)) && rm -f /usr/sbin/policy-rc.d
  else
    log "not root: cannot install ${pkgs[*]}"
  fi
fi
for cmd in haproxy nginx wrk curl setsid pgrep; do command -v $cmd >/dev/null || die "$cmd is missing"; done
((TLS)) && { command -v openssl >/dev/null || die "openssl is missing (TLS scenarios)"; }
[[ " $SCENARIOS " == *" tls-close "* ]] && { command -v gcc >/dev/null || die "gcc is missing (tls-close builds nosession.so)"; }

# --------------------------------------------------------------------------------------------------- processes --
WORK=$(mktemp -d /tmp/fulcrum-bench.XXXXXX); chmod 755 "$WORK"   # nginx workers (nobody) read big.bin from here
mkdir -p "$WORK/raw" "$WORK/tmp"
declare -A PGID   # process-group name -> pgid (setsid makes each started command its own group leader)

start_group() { # NAME CMD...
  local name=$1; shift
  setsid "$@" > "$WORK/$name.log" 2>&1 < /dev/null &
  PGID[$name]=$!
}

cleanup() {
  trap - EXIT INT TERM
  local name alive
  for name in "${!PGID[@]}"; do kill -TERM -- "-${PGID[$name]}" 2>/dev/null; done
  for _ in $(seq 100); do   # up to 10 s for graceful exits (Fulcrum drains), then KILL
    alive=0; for name in "${!PGID[@]}"; do kill -0 -- "-${PGID[$name]}" 2>/dev/null && alive=1; done
    ((alive)) || break; sleep 0.1
  done
  for name in "${!PGID[@]}"; do
    kill -KILL -- "-${PGID[$name]}" 2>/dev/null && log "$name did not exit within 10 s of TERM: killed"
  done
  wait 2>/dev/null
  rm -rf "$WORK/tmp" "$WORK/big.bin" "$WORK/journal"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_open() { timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

await_port() { # PORT GROUP SECONDS: until PORT accepts, while the group lives
  local deadline=$((SECONDS + $3))
  while ((SECONDS < deadline)); do
    port_open "$1" && return 0
    kill -0 "${PGID[$2]}" 2>/dev/null || { log "$2 exited; log: $(tail -3 "$WORK/$2.log" | tr '\n' ' ')"; return 1; }
    sleep 0.2
  done
  log "$2: port $1 not open after $3 s"; return 1
}

# utime+stime (clock ticks) of every live process of a group; /proc/PID/stat sums all threads of a process.
cpu_ticks() {
  local t=0 p rest
  for p in $(pgrep -g "$1"); do
    rest=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null) || continue
    set -- $rest
    t=$((t + ${12} + ${13}))
  done
  echo $t
}
host_cpu() { awk '/^cpu /{print $2+$3+$4+$5+$6+$7+$8+$9, $9}' /proc/stat; }   # "total steal" jiffies

# --------------------------------------------------------------------------------------------------------- TLS --
# One ECDSA P-256 certificate (SAN 127.0.0.1, so curl verifies it with --cacert) for every TLS target: HAProxy reads
# cert and key in one file, nginx and Fulcrum (BENCH_TLS_CERT / BENCH_TLS_KEY of bench-tls.conf) the PEM pair.
TLS_DIR=$WORK/tls
if ((TLS)); then
  mkdir -p "$TLS_DIR"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 7 -subj /CN=localhost \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$TLS_DIR/key.pem" -out "$TLS_DIR/cert.pem" \
    > "$TLS_DIR/openssl.log" 2>&1 || die "openssl could not make the certificate: $(tail -2 "$TLS_DIR/openssl.log")"
  cat "$TLS_DIR/cert.pem" "$TLS_DIR/key.pem" > "$TLS_DIR/combined.pem"
  chmod 644 "$TLS_DIR"/*.pem   # nginx workers run as nobody
fi
# tls-close must be a full handshake per request, but wrk resumes: on a reconnect it calls SSL_shutdown and SSL_clear,
# which keeps the connection's session (and with it a TLS 1.3 ticket), so the next SSL_connect offers it. Fulcrum
# issues tickets and cannot be told not to, so resumption is kept out on the client, the same for every target:
# nosession.so, preloaded into wrk for tls-close only, drops the session in SSL_clear (SSL_set_session(ssl, NULL)),
# so every connection starts without one and gets a full handshake (ECDHE and an ECDSA P-256 signature). The peers
# also have resumption off on their side (HAProxy no-tls-tickets and tune.ssl.cachesize 0, nginx ssl_session_cache
# off and ssl_session_tickets off), so they do not spend CPU on tickets or a session cache nobody uses; Fulcrum still
# issues its tickets, a cost counted against it.
NOSESSION=$WORK/nosession.so
if [[ " $SCENARIOS " == *" tls-close "* ]]; then
  cat > "$WORK/nosession.c" <<'C'
#define _GNU_SOURCE
#include <dlfcn.h>
typedef struct ssl_st SSL;
typedef struct ssl_session_st SSL_SESSION;
int SSL_clear(SSL *s) {
  static int (*real_clear)(SSL *);
  static int (*set_session)(SSL *, SSL_SESSION *);
  if (!real_clear) { real_clear = dlsym(RTLD_NEXT, "SSL_clear"); set_session = dlsym(RTLD_NEXT, "SSL_set_session"); }
  if (set_session) set_session(s, 0);
  return real_clear(s);
}
C
  gcc -shared -fPIC -O2 -o "$NOSESSION" "$WORK/nosession.c" -ldl > "$WORK/nosession.log" 2>&1 \
    || die "could not build nosession.so: $(tail -2 "$WORK/nosession.log")"
fi

# ---------------------------------------------------------------------------------------------------- backends --
for port in "${BACKEND_PORTS[@]}"; do port_open $port && die "port $port is busy: stop whatever listens there first"; done
head -c 1048576 /dev/zero > "$WORK/big.bin"; chmod 644 "$WORK/big.bin"
for port in "${BACKEND_PORTS[@]}"; do
  cat > "$WORK/backend-$port.conf" <<CONF
worker_processes 1; pid $WORK/backend-$port.pid; error_log $WORK/backend-$port.err warn;
events { worker_connections 8192; }
http { access_log off; default_type text/plain; sendfile on; tcp_nopush on; tcp_nodelay on;
  keepalive_timeout 75s; keepalive_requests 1000000;
  client_body_temp_path $WORK/tmp/b; proxy_temp_path $WORK/tmp/p; fastcgi_temp_path $WORK/tmp/f;
  uwsgi_temp_path $WORK/tmp/u; scgi_temp_path $WORK/tmp/s;
  server { listen 127.0.0.1:$port backlog=4096;
    location = /health { return 200 "up"; }
    location = /big { default_type application/octet-stream; alias $WORK/big.bin; }
    location / { return 200 "backend $port\n"; } } }
CONF
  start_group backend-$port nginx -p "$WORK" -c "$WORK/backend-$port.conf" -e "$WORK/backend-$port.err" -g 'daemon off;'
done
for port in "${BACKEND_PORTS[@]}"; do await_port $port backend-$port 10 || die "backend $port did not start"; done

# ----------------------------------------------------------------------------------------------------- targets --
backend_lines() { local i=0 p; for p in "${BACKEND_PORTS[@]}"; do i=$((i + 1)); printf '%s\n' "${1//@N@/$i}127.0.0.1:$p$2"; done; }

haproxy_cfg() { # l7|l4|tls PORT (tls: l7 behind an HTTPS frontend)
  local mode=http bind=""; [[ $1 == l4 ]] && mode=tcp
  [[ $1 == tls ]] && bind=" ssl crt $TLS_DIR/combined.pem alpn http/1.1 no-tls-tickets"
  printf 'global\n  maxconn 8000\n  nbthread 1\n'
  [[ $1 == tls ]] && printf '  tune.ssl.cachesize 0\n'
  printf 'defaults\n  mode %s\n  maxconn 8000\n' $mode
  printf '  timeout connect 2s\n  timeout client 30s\n  timeout server 30s\n'
  if [[ $1 != l4 ]]; then
    printf '  timeout http-keep-alive 30s\n  option http-keep-alive\n  http-reuse always\n'
    printf 'frontend fe\n  bind 127.0.0.1:%s%s\n  default_backend be\nbackend be\n  balance roundrobin\n' $2 "$bind"
    printf '  option httpchk GET /health\n'
  else
    printf 'listen l4\n  bind 127.0.0.1:%s\n  balance roundrobin\n' $2
  fi
  # L7: as Fulcrum's default, 64 connections per server and requests beyond them in its queue (timeout queue 5s)
  if [[ $1 != l4 ]]; then
    printf '  timeout queue 5s\n'
    backend_lines '  server s@N@ ' ' check inter 2s maxconn 64'
  else
    backend_lines '  server s@N@ ' ' check inter 2s'
  fi
}

nginx_cfg() { # l7|l4|tls PORT (tls: l7 behind an HTTPS server)
  local listen="" tls=""
  [[ $1 == l4 ]] && echo "load_module $STREAM_MODULE;"
  echo "worker_processes 1; pid $WORK/nginx-$1.pid; error_log $WORK/nginx-$1.err warn;"
  echo "events { worker_connections 8192; }"
  if [[ $1 == tls ]]; then
    listen=" ssl"
    tls="ssl_certificate $TLS_DIR/cert.pem; ssl_certificate_key $TLS_DIR/key.pem; ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache off; ssl_session_tickets off;"
  fi
  if [[ $1 != l4 ]]; then
    cat <<CONF
http { access_log off; keepalive_timeout 75s; keepalive_requests 1000000;
  client_body_temp_path $WORK/tmp/nb; proxy_temp_path $WORK/tmp/np; fastcgi_temp_path $WORK/tmp/nf;
  uwsgi_temp_path $WORK/tmp/nu; scgi_temp_path $WORK/tmp/ns;
  upstream be {
$(backend_lines '    server ' ';')
    keepalive 64; keepalive_requests 1000000; }
  server { listen 127.0.0.1:$2$listen backlog=4096;
    $tls
    location / { proxy_pass http://be; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_buffers 16 64k; proxy_max_temp_file_size 0; } } }
CONF
  else
    cat <<CONF
stream {
  upstream be {
$(backend_lines '    server ' ';')
  }
  server { listen 127.0.0.1:$2 backlog=4096; proxy_pass be; proxy_connect_timeout 2s; } }
CONF
  fi
}

sanity() { # TARGET PORT SCHEME: every backend within 2 requests each, /health "up", /big whole; retried for 20 s
  local deadline=$((SECONDS + 20)) want=${#BACKEND_PORTS[@]} seen health big url=$3://127.0.0.1:$2 k=()
  [[ $3 == https ]] && k=(--cacert "$TLS_DIR/cert.pem")   # and the certificate must verify
  while :; do
    seen=$(for _ in $(seq $((2 * want))); do curl -sS "${k[@]}" --max-time 2 "$url/"; echo; done 2>/dev/null \
      | grep '^backend ' | sort -u | wc -l)
    health=$(curl -sS "${k[@]}" --max-time 2 "$url/health" 2>/dev/null)
    big=$(curl -sS "${k[@]}" --max-time 5 -o /dev/null -w '%{size_download}' "$url/big" 2>/dev/null)
    [[ $seen == "$want" && $health == up && $big == 1048576 ]] && return 0
    ((SECONDS < deadline)) || break
    sleep 1
  done
  log "$1: sanity check failed (backends seen $seen of $want, /health '$health', /big $big bytes) - skipped"; return 1
}

declare -A PORT LAYER GROUP SCHEME
ACTIVE=()
add_target() { # NAME LAYER PORT GROUP
  local scheme=http; [[ $2 == TLS ]] && scheme=https
  sanity "$1" "$3" $scheme || return 0
  PORT[$1]=$3; LAYER[$1]=$2; GROUP[$1]=$4; SCHEME[$1]=$scheme; ACTIVE+=("$1")
}

start_peer() { # haproxy|nginx l7|l4|tls PORT
  local name=$1-$2
  port_open $3 && { log "$name: port $3 is busy - skipped"; return 1; }
  if [[ $1 == haproxy ]]; then
    haproxy_cfg $2 $3 > "$WORK/$name.cfg"
    start_group $name haproxy -db -f "$WORK/$name.cfg"
  else
    nginx_cfg $2 $3 > "$WORK/$name.conf"
    start_group $name nginx -p "$WORK" -c "$WORK/$name.conf" -e "$WORK/$name.err" -g 'daemon off;'
  fi
  await_port $3 $name 10
}

# With TLS scenarios Fulcrum runs bench-tls.conf: bench.conf plus the HTTPS listener on 8094 (plain runs keep bench.conf).
fulcrum_up=0 fulcrum_conf=load-tests/bench.conf fulcrum_ports="8091 8092 8093"
((TLS)) && fulcrum_conf=load-tests/bench-tls.conf fulcrum_ports="8091 8092 8093 8094"
busy=""; for p in $fulcrum_ports; do port_open $p && busy+=" $p"; done
if [[ -n $busy ]]; then
  log "fulcrum: port(s)$busy busy - skipped"
else
  # A fresh journal per run: a journaled pool would otherwise keep the backends of an earlier run.
  start_group fulcrum env BACKENDS="$(IFS=,; echo "${BACKEND_PORTS[*]/#/127.0.0.1:}")" \
    BENCH_TLS_CERT="$TLS_DIR/cert.pem" BENCH_TLS_KEY="$TLS_DIR/key.pem" \
    java "-Dpekko-persistence-jdbc.shared-databases.fulcrum.db.url=jdbc:h2:file:$WORK/journal/fulcrum" $JAVA_OPTS \
    -jar "$JAR" --config $fulcrum_conf
  fulcrum_up=1
  for p in $fulcrum_ports; do [[ $p == 8093 ]] || await_port $p fulcrum 60 || { fulcrum_up=0; break; }; done
fi

((PLAIN)) || LAYERS=""
for layer in $LAYERS; do
  if [[ $layer == l7 ]]; then
    start_peer haproxy l7 8081 && add_target haproxy-l7 L7 8081 haproxy-l7
    start_peer nginx l7 8083 && add_target nginx-l7 L7 8083 nginx-l7
    ((fulcrum_up)) && add_target fulcrum-l7 L7 8091 fulcrum
  else
    start_peer haproxy l4 8082 && add_target haproxy-l4 L4 8082 haproxy-l4
    if [[ -f $STREAM_MODULE ]]; then
      start_peer nginx l4 8084 && add_target nginx-l4 L4 8084 nginx-l4
    else
      log "nginx-l4: $STREAM_MODULE missing (package libnginx-mod-stream) - skipped"
    fi
    ((fulcrum_up)) && add_target fulcrum-l4 L4 8092 fulcrum
  fi
done
if ((TLS)); then
  start_peer haproxy tls 8085 && add_target haproxy-tls TLS 8085 haproxy-tls
  start_peer nginx tls 8086 && add_target nginx-tls TLS 8086 nginx-tls
  ((fulcrum_up)) && add_target fulcrum-tls TLS 8094 fulcrum
fi
((${#ACTIVE[@]})) || die "no target passed its sanity check"

# ------------------------------------------------------------------------------------------------- measurement --
cat > "$WORK/stats.lua" <<'LUA'
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WRKSTATS requests=%d bytes=%d duration_us=%d p99_us=%d sock_errors=%d non2xx=%d\n",
    summary.requests, summary.bytes, summary.duration, latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status))
end
LUA

scenario_args() { # SCENARIO -> S_PATH S_CONNS S_HDR S_ENV
  S_PATH=/; S_CONNS=$CONNS; S_HDR=(); S_ENV=()
  case $1 in
    close) S_HDR=(-H 'Connection: close') ;;
    big) S_PATH=/big; S_CONNS=$BIG_CONNS ;;
    crowd) S_CONNS=$CROWD_CONNS ;;
    tls-close) S_HDR=(-H 'Connection: close'); S_ENV=(LD_PRELOAD="$NOSESSION") ;;   # full handshakes: see nosession.so
  esac
}

in_scenario() { # TARGET SCENARIO: tls- scenarios run on the TLS targets, the others on L7 and L4
  if [[ $2 == tls-* ]]; then [[ ${LAYER[$1]} == TLS ]]; else [[ ${LAYER[$1]} != TLS ]]; fi
}

wrk_run() { # TARGET SECONDS [wrk args...]: bounded even if wrk hangs
  local t=$1 secs=$2; shift 2
  env "${S_ENV[@]}" timeout --foreground -k 5 $((secs + 30)) wrk -t1 -c"$S_CONNS" -d"${secs}s" "$@" "${S_HDR[@]}" \
    "${SCHEME[$t]}://127.0.0.1:${PORT[$t]}$S_PATH"
}

declare -A GONE
alive() { # TARGET: its process group still runs; else it is skipped from now on (said once)
  local g=${GROUP[$1]}
  kill -0 -- "-${PGID[$g]}" 2>/dev/null && return 0
  [[ -n ${GONE[$g]:-} ]] || log "$g exited (log: $(tail -3 "$WORK/$g.log" | tr '\n' ' ')) - its remaining runs are skipped"
  GONE[$g]=1; return 1
}

ROWS=$WORK/rows.txt; : > "$ROWS"
measure() { # TARGET SCENARIO ROUND
  local t=$1 sc=$2 r=$3 raw="$WORK/raw/$1-$2-r$3.txt" pgid=${PGID[${GROUP[$1]}]} c0 c1 h0 h1 line
  alive $t || return
  sleep 0.5
  c0=$(cpu_ticks $pgid); h0=$(host_cpu)
  wrk_run $t "$DURATION" -s "$WORK/stats.lua" > "$raw" 2>&1
  c1=$(cpu_ticks $pgid); h1=$(host_cpu)
  alive $t || return
  line=$(grep '^WRKSTATS' "$raw") || { log "$t/$sc round $r: wrk gave no result (see $raw)"; return; }
  line="target=$t layer=${LAYER[$t]} scenario=$sc round=$r ${line#WRKSTATS } cpu_ticks=$((c1 - c0)) \
$(awk -v a="$h0" -v b="$h1" 'BEGIN {split(a, x, " "); split(b, y, " "); t = y[1] - x[1]; printf "steal=%.1f", (t > 0 ? (y[2] - x[2]) / t * 100 : 0)}')"
  echo "$line" >> "$ROWS"
  log "$(awk -v tck="$CLK_TCK" '{for (i = 1; i <= NF; i++) {split($i, a, "="); v[a[1]] = a[2]}
    printf "%-11s %-13s r%d: %8.0f req/s  p99 %7.2f ms  errors %d  %6.1f us/req",
      v["target"], v["scenario"], v["round"], v["requests"] / v["duration_us"] * 1e6, v["p99_us"] / 1000,
      v["sock_errors"] + v["non2xx"], v["requests"] ? v["cpu_ticks"] / tck * 1e6 / v["requests"] : 0}' <<< "$line")"
}

{
  echo "date: $(date -u '+%F %T') UTC; $(nproc) CPUs; load average $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "$(haproxy -v 2>&1 | head -1 | cut -d' ' -f1-3); $(nginx -v 2>&1 | cut -d' ' -f3); $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2); $(java -version 2>&1 | head -1)"
  echo "DURATION=$DURATION ROUNDS=$ROUNDS CONNS=$CONNS BIG_CONNS=$BIG_CONNS WARMUP=$WARMUP PEER_WARMUP=$PEER_WARMUP JAVA_OPTS='$JAVA_OPTS'"
  echo "targets: ${ACTIVE[*]}; scenarios: $SCENARIOS"
  ((TLS)) && echo "TLS: $(openssl x509 -in "$TLS_DIR/cert.pem" -noout -text | grep -m1 'ASN1 OID' | tr -s ' ' | sed 's/^ //'), one certificate for all TLS targets$([[ " $SCENARIOS " == *" tls-close "* ]] && echo "; tls-close: wrk with nosession.so, full handshakes")"
} | tee "$WORK/meta.txt" >&2

for sc in $SCENARIOS; do
  scenario_args $sc
  targets=(); for t in "${ACTIVE[@]}"; do in_scenario $t $sc && targets+=("$t"); done
  n=${#targets[@]}
  ((n)) || { log "$sc: no target passed its sanity check - skipped"; continue; }
  for t in "${targets[@]}"; do
    secs=$PEER_WARMUP; [[ $t == fulcrum-* ]] && secs=$WARMUP
    ((secs > 0)) && alive $t && { log "$t $sc: warm-up ${secs}s"; wrk_run $t $secs > /dev/null 2>&1; }
  done
  for ((r = 1; r <= ROUNDS; r++)); do
    for ((i = 0; i < n; i++)); do measure "${targets[$(((i + r - 1) % n))]}" $sc $r; done
  done
done

# ------------------------------------------------------------------------------------------------------ report --
# Ratios are medians of per-round ratios to HAProxy of the same layer and scenario (both measured in the same round).
awk -v tck="$CLK_TCK" -v csv="$WORK/results.csv" '
  function median(s,   n, a, i, j, x) {
    n = split(s, a, " "); if (n == 0) return ""
    for (i = 2; i <= n; i++) { x = a[i] + 0; for (j = i - 1; j >= 1 && a[j] + 0 > x; j--) a[j + 1] = a[j]; a[j + 1] = x }
    return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  function ratio(s) { return s == "" ? "-" : sprintf("%.2f", median(s)) }
  {
    delete v; for (i = 1; i <= NF; i++) { split($i, a, "="); v[a[1]] = a[2] }
    k = v["scenario"] SUBSEP v["target"]
    if (!(k in seen)) { seen[k] = ++nk; key[nk] = k; tg[nk] = v["target"]; ly[nk] = v["layer"]; sn[nk] = v["scenario"] }
    s = v["duration_us"] / 1e6; rps = v["requests"] / s
    us = v["requests"] ? v["cpu_ticks"] / tck * 1e6 / v["requests"] : 0
    R[k] = R[k] " " rps; MB[k] = MB[k] " " v["bytes"] / v["duration_us"]; P99[k] = P99[k] " " v["p99_us"] / 1000
    US[k] = US[k] " " us; ERR[k] += v["sock_errors"] + v["non2xx"]; if (v["steal"] + 0 > ST[k] + 0) ST[k] = v["steal"]
    rr[k, v["round"]] = rps; pp[k, v["round"]] = v["p99_us"]; cc[k, v["round"]] = us; if (v["round"] > maxr) maxr = v["round"]
  }
  END {
    hdr = "%-13s %-5s %-11s %8s %7s %8s %6s %7s %6s %7s %7s %7s\n"
    printf hdr, "scenario", "layer", "target", "req/s", "MB/s", "p99ms", "errors", "us/req", "steal%", "rps/HAP", "p99/HAP", "cpu/HAP"
    print "scenario,layer,target,req_s,MB_s,p99_ms,errors,cpu_us_per_req,max_steal_pct,req_s_vs_haproxy,p99_vs_haproxy,cpu_per_req_vs_haproxy" > csv
    for (i = 1; i <= nk; i++) {
      k = key[i]; h = sn[i] SUBSEP (ly[i] == "L7" ? "haproxy-l7" : ly[i] == "L4" ? "haproxy-l4" : "haproxy-tls"); vr = vp = vc = ""
      for (r = 1; r <= maxr; r++)
        if (((k, r) in rr) && ((h, r) in rr)) {
          if (rr[h, r] > 0) vr = vr " " rr[k, r] / rr[h, r]
          if (pp[h, r] > 0) vp = vp " " pp[k, r] / pp[h, r]
          if (cc[h, r] > 0) vc = vc " " cc[k, r] / cc[h, r]
        }
      if (i > 1 && sn[i] != sn[i - 1]) print ""
      printf "%-13s %-5s %-11s %8.0f %7.0f %8.2f %6d %7.1f %6.1f %7s %7s %7s\n", sn[i], ly[i], tg[i], median(R[k]),
        median(MB[k]), median(P99[k]), ERR[k], median(US[k]), ST[k], ratio(vr), ratio(vp), ratio(vc)
      printf "%s,%s,%s,%.0f,%.1f,%.3f,%d,%.1f,%.1f,%s,%s,%s\n", sn[i], ly[i], tg[i], median(R[k]), median(MB[k]),
        median(P99[k]), ERR[k], median(US[k]), ST[k], ratio(vr), ratio(vp), ratio(vc) > csv
    }
  }' "$ROWS"
echo
echo "Medians over $ROUNDS rotated rounds of ${DURATION}s. MB = 10^6 bytes. us/req: CPU time (user+system) of the target's"
echo "processes per request. steal%: the most CPU the hypervisor took in a round (noise). x/HAP: medians of the"
echo "per-round ratios to HAProxy of the same layer (TLS: haproxy-tls). Raw wrk output, rows.txt and results.csv: $WORK"
