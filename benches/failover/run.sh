#!/usr/bin/env bash
# Failover benchmark (issue 15): kills the leader of a partition of a
# three-node loopback cluster under an idempotent acks=all load, KILLS times
# per profile, and reports kill -> first acknowledged produce on the new
# leader (p50/p90/p99/max and every sample). See benches/failover/failover.py
# and docs/reliability.md ("Failover time").
#
# Usage: benches/failover/run.sh [profile ...]     (default: default fast)
#   KILLS=20 RATE=1000 BINARY=<broker binary> OUT=<dir>
# The broker binary is copied to $OUT first, so a rebuild during the run
# does not change it. Needs compat-tests/.venv (scripts/test.sh creates it).
set -euo pipefail
cd "$(dirname "$0")/../.."
KILLS=${KILLS:-20}
RATE=${RATE:-1000}
OUT=${OUT:-$(mktemp -d /tmp/failover-bench-results.XXXXXX)}
PY=${PYTHON:-compat-tests/.venv/bin/python}
if [ -z "${BINARY:-}" ]; then
  cargo build --release -p memorystreamer-broker --bin memorystreamer >/dev/null
  BINARY=target/release/memorystreamer
fi
mkdir -p "$OUT"
cp "$BINARY" "$OUT/memorystreamer"
profiles=("$@")
[ ${#profiles[@]} -eq 0 ] && profiles=(default fast)
status=0
for p in "${profiles[@]}"; do
  echo "== profile $p: $KILLS kills at $RATE records/s"
  "$PY" benches/failover/failover.py --binary "$OUT/memorystreamer" --profile "$p" \
    --kills "$KILLS" --rate "$RATE" --out "$OUT/$p.json" --md "$OUT/$p.md" || status=1
done
echo "results: $OUT"
cat "$OUT"/*.md 2>/dev/null || true
exit $status
