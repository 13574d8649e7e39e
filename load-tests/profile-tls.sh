#!/usr/bin/env bash
# Where the CPU goes on the HTTPS keep-alive path: Fulcrum (target/fulcrum.jar, load-tests/bench-tls.conf, the
# embedded demo backends as the pool) under a short, bounded h2load run in HTTP/1.1 mode, recorded by JFR; prints the
# top frames of the event-loop threads (fulcrum-io-*) only, so the demo backends' own work does not count.
# Not a benchmark: run it on a quiet machine, and compare the shape, not the numbers.
#   SECONDS_LOAD=15 CONNECTIONS=50 ./load-tests/profile-tls.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_LOAD=${SECONDS_LOAD:-15}
CONNECTIONS=${CONNECTIONS:-50}
WORK=$(mktemp -d /tmp/fulcrum-profile-tls.XXXX)
openssl req -x509 -nodes -days 2 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -keyout "$WORK/key.pem" \
  -out "$WORK/cert.pem" -subj /CN=localhost -addext subjectAltName=DNS:localhost 2>/dev/null
cat > "$WORK/profile.conf" <<CONF
include "$(pwd)/load-tests/bench-tls.conf"
fulcrum.demo.backends = [{name = b1, port = 9001}, {name = b2, port = 9002}, {name = b3, port = 9003}]
fulcrum.access-log.enabled = false
pekko-persistence-jdbc.shared-databases.fulcrum.db.url = "jdbc:h2:file:$WORK/journal"
CONF
BENCH_TLS_CERT="$WORK/cert.pem" BENCH_TLS_KEY="$WORK/key.pem" java -XX:+FlightRecorder \
  -jar target/fulcrum.jar --config "$WORK/profile.conf" > "$WORK/fulcrum.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do curl -sk -o /dev/null https://127.0.0.1:8094/ && break; sleep 1; done
# warm-up (JIT), then the recording covers the load only
h2load --h1 -c "$CONNECTIONS" -D 5 https://127.0.0.1:8094/ > /dev/null
jcmd $PID JFR.start name=tls settings=profile > /dev/null
h2load --h1 -c "$CONNECTIONS" -D "$SECONDS_LOAD" https://127.0.0.1:8094/ | grep -E 'finished in|requests:|req/s'
jcmd $PID JFR.stop name=tls filename="$WORK/tls.jfr" > /dev/null
jfr print --events jdk.ExecutionSample "$WORK/tls.jfr" > "$WORK/samples.txt"
echo "top frames on the event loops (self time), of $(grep -c 'jdk.ExecutionSample' "$WORK/samples.txt") samples:"
awk '/sampledThread = "fulcrum-io/ {loop=1} /stackTrace = \[/ {if (loop) {getline; print $0}; loop=0}' "$WORK/samples.txt" \
  | sed 's/line:.*//' | sort | uniq -c | sort -rn | head -25
echo "(recording: $WORK/tls.jfr; open it in JDK Mission Control for the full call trees)"
