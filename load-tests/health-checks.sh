#!/usr/bin/env bash
# The CPU one node spends on active health checks (see load-tests/README.md, "Health checks"). Each run is its own JVM
# (so the process CPU is the node's, not Maven's) with the harness dev.fulcrum.loadtest.HealthCheckCpu from the test
# sources; not part of `mvn verify`.
#   load-tests/health-checks.sh                        # off (the idle node), tcp and http: 1000 backends, 60 s each
#   TYPES="tcp" SECONDS_=30 load-tests/health-checks.sh
#   REPO=/tmp/fulcrum-old load-tests/health-checks.sh  # another checkout (copy the harness's .java there first)
set -euo pipefail
REPO=${REPO:-$(cd "$(dirname "$0")/.." && pwd)}
TYPES=${TYPES:-"off tcp http"}
BACKENDS=${BACKENDS:-1000}
LIVE=${LIVE:-50}
INTERVAL_MS=${INTERVAL_MS:-2000}
SECONDS_=${SECONDS_:-60}
WARMUP=${WARMUP:-15}
cd "$REPO"
mvn -q test-compile dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=target/health-checks.cp
for type in $TYPES; do
  java -Xmx512m -cp "target/classes:target/test-classes:$(cat target/health-checks.cp)" dev.fulcrum.loadtest.HealthCheckCpu \
    "$type" "$BACKENDS" "$LIVE" "$INTERVAL_MS" "$SECONDS_" "$WARMUP" 2>&1 | grep '^RESULT' || echo "RESULT type=$type failed"
done
