#!/usr/bin/env bash
# side-by-side.sh - CPU per request of two Fulcrum configurations (or builds) running at once on their own ports,
# measured in interleaved rounds, so that the machine's drift between separate runs cancels out. L7 and L4 keep-alive
# (wrk -t1 -c64) through load-tests/bench.conf to the shared harness's nginx backends (../shared/bench/backends.sh
# start), CPU of each process from /proc/PID/stat. Default: the defaults against metrics and access log off (issue
# 12's bar: at most 1.10x).
#
#   load-tests/side-by-side.sh                                   (env: ROUNDS=8 SECS=5)
#   A_JAR=old.jar B_JAR=target/fulcrum.jar A_OPTS= B_OPTS= load-tests/side-by-side.sh    two builds, same settings
#   A_CONFIG=load-tests/bench-routes.conf B_OPTS= load-tests/side-by-side.sh             1000 routes against none
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-8}; SECS=${SECS:-5}
A_JAR=${A_JAR:-target/fulcrum.jar}; B_JAR=${B_JAR:-target/fulcrum.jar}
A_CONFIG=${A_CONFIG:-load-tests/bench.conf}; B_CONFIG=${B_CONFIG:-load-tests/bench.conf}
A_OPTS=${A_OPTS-}; B_OPTS=${B_OPTS--Dfulcrum.metrics.enabled=off -Dfulcrum.access-log.enabled=off}
OUT=$(mktemp -d /tmp/fulcrum-side-by-side.XXXXXX)
start() { # name jar http tcp admin opts config
  local d=$OUT/$1
  mkdir -p "$d"
  # shellcheck disable=SC2086
  java $6 -Dfulcrum.listeners.http.bench-http.bind=127.0.0.1:$3 -Dfulcrum.listeners.tcp.bench-tcp.bind=127.0.0.1:$4 \
    -Dfulcrum.admin.bind=127.0.0.1:$5 -Dpekko-persistence-jdbc.shared-databases.fulcrum.db.url=jdbc:h2:file:$d/j \
    -Dfulcrum.access-log.path=$d/access.log -jar "$2" --config "$7" > "$d/out.log" 2>&1 &
  echo $!
}
A=$(start a "$A_JAR" 8191 8192 8193 "$A_OPTS" "$A_CONFIG"); B=$(start b "$B_JAR" 8291 8292 8293 "$B_OPTS" "$B_CONFIG")
trap 'kill $A $B 2>/dev/null || true' EXIT
for p in 8191 8291; do
  for _ in $(seq 1 120); do curl -s -o /dev/null "http://127.0.0.1:$p/" && break; sleep 0.5; done
done
for p in 8191 8192 8291 8292; do wrk -t1 -c64 -d15s "http://127.0.0.1:$p/" > /dev/null; done
cpu() { awk '{print $14+$15}' "/proc/$1/stat"; }
echo "round target requests cpu_ticks us_per_req load" | tee "$OUT/rounds.txt"
for ((r = 1; r <= ROUNDS; r++)); do
  # the order turns each round: a round follows the other process's round of the same layer, whose access-log lines
  # the kernel may still be writing back, and neither should always be the one that pays for it
  order=("a $A 8191 l7" "b $B 8291 l7" "a $A 8192 l4" "b $B 8292 l4")
  ((r % 2 == 0)) && order=("b $B 8291 l7" "a $A 8191 l7" "b $B 8292 l4" "a $A 8192 l4")
  for spec in "${order[@]}"; do
    set -- $spec
    c0=$(cpu "$2"); n=$(wrk -t1 -c64 -d"${SECS}s" "http://127.0.0.1:$3/" | awk '/requests in/{print $1}'); c1=$(cpu "$2")
    echo "$r $1-$4 $n $((c1 - c0)) $(echo "($c1 - $c0) * 10000 / $n" | bc -l | cut -c1-6) $(cut -d' ' -f1 /proc/loadavg)"
  done
done | tee -a "$OUT/rounds.txt"
python3 - "$OUT/rounds.txt" <<'PY'
import collections, statistics, sys
d = collections.defaultdict(list)
for line in list(open(sys.argv[1]))[1:]:
    f = line.split()
    if len(f) >= 5 and f[2].isdigit():
        d[f[1]].append(float(f[4]))
for k in sorted(d):
    print(k, "median us/req %.2f" % statistics.median(d[k]), "rounds", " ".join("%.1f" % x for x in d[k]))
for layer in ("l7", "l4"):
    if d["a-" + layer] and d["b-" + layer]:
        print(layer, "a/b %.3f" % (statistics.median(d["a-" + layer]) / statistics.median(d["b-" + layer])))
PY
echo "rounds in $OUT/rounds.txt"
