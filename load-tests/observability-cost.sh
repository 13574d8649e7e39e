#!/usr/bin/env bash
# observability-cost.sh - what the metrics and the access log cost (issue 12: at most 1.10x the CPU per request of
# the same build with both off, L7 and L4 keep-alive). Runs load-tests/compare.sh twice, alternating, with Fulcrum's
# defaults (metrics and access log on) and with both off; both runs compare against HAProxy in the same run, so the
# ratio of the two "CPU µs/req vs HAProxy" medians is the cost. Needs a quiet machine; run after `mvn package`.
#
#   load-tests/observability-cost.sh          (env: PAIRS, default 2; the rest as compare.sh: DURATION, ROUNDS, ...)
set -euo pipefail
cd "$(dirname "$0")/.."
PAIRS=${PAIRS:-2}
export SCENARIOS=${SCENARIOS:-keepalive} LAYERS=${LAYERS:-"l7 l4"}
OUT=$(mktemp -d /tmp/fulcrum-observability-cost.XXXXXX)
for ((i = 1; i <= PAIRS; i++)); do
  JAVA_OPTS="" load-tests/compare.sh > "$OUT/on-$i.txt" 2>&1
  JAVA_OPTS="-Dfulcrum.metrics.enabled=off -Dfulcrum.access-log.enabled=off" load-tests/compare.sh > "$OUT/off-$i.txt" 2>&1
done
echo "results in $OUT (on-N: defaults, off-N: metrics and access log off)"
for f in "$OUT"/*.txt; do echo "== $(basename "$f")"; grep -i -E "fulcrum|vs haproxy|median" "$f" | tail -n 12 || true; done
