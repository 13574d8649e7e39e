#!/usr/bin/env bash
# What event subscriptions cost (issue 17), on one node with the embedded demo backends (conf/application.conf):
#   1. change -> event latency: 100 weight changes through the admin API, each timed from the PATCH until its
#      `pool-changed` arrives on GET /api/events (p50, p99, max);
#   2. the data plane with stalled subscribers: wrk keep-alive on the L7 listener (8080) alone, then with STALLED SSE
#      clients that never read and a pool change every 100 ms; the two req/s and their ratio (the bar: >= 0.95).
# Needs: mvn -q package -DskipTests; python3, wrk, curl (apt-get install wrk curl). Runs everything itself on
# 127.0.0.1 in a scratch directory and stops it on exit. Quote the ratio, not the absolute numbers (shared VM).
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
jar="$repo/target/fulcrum.jar"
DURATION="${DURATION:-15}"
STALLED="${STALLED:-20}"
work="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -- "-$p" 2>/dev/null || kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

cd "$work"
cp "$repo/conf/application.conf" app.conf
echo 'pekko-persistence-jdbc.shared-databases.fulcrum.db.url = "jdbc:h2:file:'"$work"'/journal"' >> app.conf
echo 'fulcrum.access-log.enabled = off' >> app.conf
setsid java -jar "$jar" --config app.conf > fulcrum.log 2>&1 &
pids+=($!)
for _ in $(seq 1 120); do curl -sf 127.0.0.1:8081/api/pools/web >/dev/null && break; sleep 1; done
curl -sf 127.0.0.1:8081/api/pools/web >/dev/null || { echo "fulcrum did not start"; tail -20 fulcrum.log; exit 1; }

echo "== 1. change -> event latency (100 changes)"
python3 - <<'PY'
import http.client, json, threading, time, urllib.request, queue
events = queue.Queue()
def follow():
    c = http.client.HTTPConnection("127.0.0.1", 8081)
    c.request("GET", "/api/events?kinds=pool-changed&pools=web", headers={"Accept": "text/event-stream"})
    r = c.getresponse()
    while True:
        line = r.fp.readline().decode()
        if line.startswith("data:"):
            events.put((time.monotonic(), json.loads(line[5:])))
        elif line.startswith(": subscribed"):
            events.put((time.monotonic(), None))
threading.Thread(target=follow, daemon=True).start()
events.get(timeout=10)
lat = []
for i in range(100):
    body = json.dumps({"weight": 2 + i % 2}).encode()
    req = urllib.request.Request("http://127.0.0.1:8081/api/pools/web/backends/127.0.0.1:9001", data=body, method="PATCH",
                                 headers={"Content-Type": "application/json"})
    t0 = time.monotonic()
    version = json.load(urllib.request.urlopen(req))["version"]
    while True:
        t, d = events.get(timeout=10)
        if d and d["version"] >= version:
            lat.append((t - t0) * 1000)
            break
lat.sort()
print("p50 %.0f ms  p99 %.0f ms  max %.0f ms" % (lat[49], lat[98], lat[99]))
PY

echo "== 2. keep-alive req/s alone, then with $STALLED stalled subscribers and a change every 100 ms"
wrk -t1 -c64 -d5s http://127.0.0.1:8080/ >/dev/null   # warm-up
alone="$(wrk -t1 -c64 -d"${DURATION}s" http://127.0.0.1:8080/ | awk '/Requests\/sec/ {print $2}')"
# clients that ask for every event and never read: their sockets fill (small receive buffers), the server's streams
# backpressure, and the hub buffers and then drops for them
setsid python3 - "$STALLED" <<'PY' &
import socket, sys, time
held = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", 8081))
    s.sendall(b"GET /api/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
    held.append(s)
time.sleep(3600)
PY
pids+=($!)
( while true; do
    for w in 2 3; do curl -s -XPATCH 127.0.0.1:8081/api/pools/web/backends/127.0.0.1:9002 -d "{\"weight\":$w}" >/dev/null; sleep 0.1; done
  done ) &
pids+=($!)
sleep 5
stalled="$(wrk -t1 -c64 -d"${DURATION}s" http://127.0.0.1:8080/ | awk '/Requests\/sec/ {print $2}')"
echo "alone: $alone req/s   with stalled subscribers: $stalled req/s   ratio: $(python3 -c "print(round($stalled/$alone, 3))")"
echo "drops: $(curl -s 127.0.0.1:8081/metrics | grep '^fulcrum_events_dropped_total')"
