#!/usr/bin/env bash
# librdkafka's own integration test suite as a judge of the broker.
#
# The suite's source ships inside the rdkafka-sys crate that Cargo.lock pins
# (rdkafka 0.39 -> rdkafka-sys 4.10.0+2.12.1 = librdkafka 2.12.1). This script
# copies it (never touching the registry copy) to target/librdkafka-suite/,
# builds librdkafka and its test runner once, and runs the runner's broker
# tests against a MemoryStreamer started on a free loopback port with its data
# in a temporary directory.
#
#   scripts/librdkafka-suite.sh build        build (idempotent; the CI setup step)
#   scripts/librdkafka-suite.sh allow        run compat-tests/librdkafka/allow-list
#                                            (CI, a few minutes; fails if any fails)
#   scripts/librdkafka-suite.sh full         run allow-list + full-list: every test
#                                            known to pass (slower; not in CI)
#   scripts/librdkafka-suite.sh all          run every broker test of the suite and
#                                            print the table (slow; not in CI; the
#                                            failures are explained in compat-tests/FINDINGS.md)
#   scripts/librdkafka-suite.sh run 0012 0107:noautocreate 0081::AlterConfigs
#                                            run the named test numbers [in a
#                                            scenario] [only sub-tests matching]
#
# Each test number runs in its own test-runner process (`-p1 -L -K`: one
# test at a time, no broker-less tests, no tests librdkafka marks as known
# issues; not `-Q` quick mode, which skips every sub-test not marked quick
# and leaves many tests empty, unless SUITE_QUICK=1); SUITE_PARALLEL (default 2) processes at a
# time share one broker per test scenario ("default": topics auto-created with
# 4 partitions; "noautocreate": auto-creation off). The runner gets
# TEST_KAFKA_VERSION=4.1.0 (our ApiVersions follow Kafka 4.1) so version-gated
# tests run. `full` and `all` also give the tests that run Kafka's tools or its
# Java client a KAFKA_PATH (compat-tests/librdkafka/kafka-path: Kafka 4.1.2's
# jars from compat-tests/java/kafka-dist/fetch.sh behind stand-in scripts);
# `allow` does not, so CI needs no JVM for this suite.
#
# Output: one "RESULT <test> PASSED|FAILED|SKIPPED|TIMEOUT|EXIT <seconds>
# <scenario>" line per test, then for every failed number the tail of its
# runner output (all of it with SUITE_FULL_OUTPUT=1) and the broker log tail.
#
# Environment: SUITE_BOOTSTRAP=127.0.0.1:<port> (use a running broker, started
# with -o num.partitions=4, for the default scenario instead of starting one),
# MEMORYSTREAMER_BIN (broker binary, default target/release/memorystreamer),
# SUITE_PARALLEL, SUITE_QUICK, SUITE_TIMEOUT_MULTIPLIER (the runner's timeout
# multiplier, default 2), SUITE_TEST_LIMIT (seconds per test number),
# SUITE_KAFKA_PATH=0|1, SUITE_KEEP=1 (keep the run directory), TEST_DEBUG
# (librdkafka debug contexts), TEST_LEVEL.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
LISTS="$ROOT/compat-tests/librdkafka"
BUILD="$ROOT/target/librdkafka-suite"
# Broker version the runner assumes for its version gates: our ApiVersions
# ranges follow Apache Kafka 4.1.
KAFKA_VERSION_GATE="${SUITE_KAFKA_VERSION:-4.1.0}"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

sys_version() {
  awk '/^name = "rdkafka-sys"/ { getline; gsub(/"/, "", $3); print $3; exit }' "$ROOT/Cargo.lock"
}

# The registry copy of librdkafka for the version Cargo.lock pins; fetches
# the crate (no build) when the registry does not hold it yet.
source_dir() {
  local ver dir
  ver="$(sys_version)"
  [ -n "$ver" ] || { echo "rdkafka-sys not found in Cargo.lock" >&2; exit 1; }
  local reg="${CARGO_HOME:-$HOME/.cargo}/registry/src"
  dir="$(ls -d "$reg"/*/"rdkafka-sys-$ver"/librdkafka 2>/dev/null | head -1 || true)"
  if [ -z "$dir" ]; then
    (cd "$ROOT" && cargo fetch --locked >&2)
    dir="$(ls -d "$reg"/*/"rdkafka-sys-$ver"/librdkafka 2>/dev/null | head -1 || true)"
  fi
  [ -n "$dir" ] || { echo "librdkafka source of rdkafka-sys $ver not found under $reg" >&2; exit 1; }
  echo "$dir"
}

build() {
  local ver src stamp
  ver="$(sys_version)"
  # Bump RECIPE when the configure options or dependencies change.
  local recipe=2
  stamp="$BUILD/built-$ver-recipe$recipe"
  if [ -f "$stamp" ] && [ -x "$BUILD/librdkafka/tests/test-runner" ]; then
    echo "librdkafka suite $ver already built in $BUILD"
    return
  fi
  # Build dependencies from Debian: a C/C++ toolchain, zlib and zstd (codecs
  # the suite's compression tests use; lz4 and snappy are built in) and
  # RapidJSON (0053_stats checks the statistics JSON with it). No SSL,
  # SASL/GSSAPI or curl: the broker is plaintext only.
  local need=()
  command -v make >/dev/null 2>&1 || need+=(make)
  command -v gcc >/dev/null 2>&1 || need+=(gcc)
  command -v g++ >/dev/null 2>&1 || need+=(g++)
  command -v python3 >/dev/null 2>&1 || need+=(python3)
  dpkg -s zlib1g-dev >/dev/null 2>&1 || need+=(zlib1g-dev)
  dpkg -s libzstd-dev >/dev/null 2>&1 || need+=(libzstd-dev)
  dpkg -s rapidjson-dev >/dev/null 2>&1 || need+=(rapidjson-dev)
  if [ ${#need[@]} -gt 0 ]; then
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
  fi
  src="$(source_dir)"
  echo "== building librdkafka $ver and its test runner from $src into $BUILD"
  rm -rf "$BUILD/librdkafka" "$BUILD"/built-*
  mkdir -p "$BUILD"
  cp -a "$src" "$BUILD/librdkafka"
  chmod -R u+w "$BUILD/librdkafka"
  (
    cd "$BUILD/librdkafka"
    ./configure --no-download --disable-ssl --disable-gssapi --disable-curl \
      --enable-zlib --enable-zstd --disable-lz4-ext >"$BUILD/configure.log" 2>&1 ||
      { cat "$BUILD/configure.log"; exit 1; }
    make -j"$(nproc)" libs >"$BUILD/make-libs.log" 2>&1 || { tail -50 "$BUILD/make-libs.log"; exit 1; }
    make -j"$(nproc)" -C tests build >"$BUILD/make-tests.log" 2>&1 || { tail -50 "$BUILD/make-tests.log"; exit 1; }
  )
  touch "$stamp"
  echo "built $BUILD/librdkafka/tests/test-runner"
}

# Entries of a list file as "<job> <scenario>" lines. A list line is a test
# number, optionally the suite's test scenario (default "default") and
# optionally SUBTESTS=<substring> (run only the sub-tests whose name contains
# it); the job is "<number>" or "<number>@<substring>".
list_entries() {
  sed -e 's/#.*//' "$1" | awk 'NF {
    job = $1; scen = "default"
    for (i = 2; i <= NF; i++) {
      if ($i ~ /^SUBTESTS=/) job = $1 "@" substr($i, 10); else scen = $i
    }
    print job, scen
  }'
}

# Every broker test of the suite (test.c's table without TEST_F_LOCAL or
# TEST_F_MANUAL), as "<number> <name> <scenarios>" lines.
suite_tests() {
  # One entry per line (entries span lines), then drop local/manual ones.
  sed -n '/^struct test tests\[\]/,/^};/p' "$BUILD/librdkafka/tests/test.c" |
    tr '\n' ' ' | sed 's/_TEST(/\n/g' | grep '^[0-9]\{4\}_' |
    grep -v 'TEST_F_LOCAL\|TEST_F_MANUAL' |
    sed 's/^\(\([0-9]\{4\}\)_[A-Za-z0-9_]*\)\(.*scenario *= *"\([a-z0-9,]*\)"\)\{0,1\}.*/\2 \1 \4/' |
    awk '{ print $1, $2, (NF > 2 ? $3 : "default") }'
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

BROKER_PIDS=()
RUN_DIR=""
cleanup() {
  local pid
  for pid in "${BROKER_PIDS[@]}"; do
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [ -n "$RUN_DIR" ] && [ "${SUITE_KEEP:-0}" != 1 ]; then rm -rf "$RUN_DIR"; fi
}

# Starts a broker for scenario $1 with its data and log under $2; sets PORT.
start_broker() {
  local scenario="$1" dir="$2" autocreate=true
  local bin="${MEMORYSTREAMER_BIN:-$ROOT/target/release/memorystreamer}"
  [ -x "$bin" ] || { echo "broker binary $bin missing: cargo build --release -p memorystreamer-broker" >&2; exit 1; }
  [ "$scenario" = noautocreate ] && autocreate=false
  PORT="$(free_port)"
  local metrics
  metrics="$(free_port)"
  # The suite's scenarios (tests/scenarios/*.json): 4 partitions per
  # auto-created topic, auto-creation on except in "noautocreate". Their
  # replication factor 3 needs replication (not built yet).
  NO_COLOR=1 RUST_LOG="${BROKER_LOG:-info,openraft=warn}" "$bin" \
    --data-dir "$dir/data" \
    --listeners "PLAINTEXT://127.0.0.1:$PORT" \
    --metrics-addr "127.0.0.1:$metrics" \
    -o num.partitions=4 -o auto.create.topics.enable=$autocreate \
    >"$dir/broker.log" 2>&1 &
  BROKER_PIDS+=($!)
  local pid=$! deadline=$((SECONDS + 60))
  until (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "broker exited during start-up:" >&2
      cat "$dir/broker.log" >&2
      exit 1
    fi
    [ $SECONDS -lt $deadline ] || { echo "broker did not listen within 60s" >&2; exit 1; }
    sleep 0.1
  done
}

# Runs one job (a test number, or "<number>@<sub-test substring>") in its
# own runner process (a test that times out makes the runner kill its whole
# process, so jobs are isolated from each other) and writes "<name> <state>
# <seconds> <scenario>" lines to $PASS_DIR/<job>.result.
run_one() {
  local job="$1" limit="$2" tests_dir="$BUILD/librdkafka/tests"
  local num="${job%%@*}" subtests=""
  [ "$job" = "$num" ] || subtests="${job#*@}"
  local report="$PASS_DIR/$job.json" log="$PASS_DIR/$job.log" result="$PASS_DIR/$job.result" rc=0
  local scenario="${PASS_DIR##*/}${subtests:+:SUBTESTS=$subtests}" began=$SECONDS
  # The group's redirection also catches bash's own "Aborted" report.
  {
    (
      cd "$tests_dir"
      LD_LIBRARY_PATH="$tests_dir/../src:$tests_dir/../src-cpp" \
        RDKAFKA_TEST_CONF="$PASS_DIR/test.conf" TEST_REPORT="$report" \
        TEST_SCENARIO="${PASS_DIR##*/}" SUBTESTS="$subtests" TEST_KAFKA_VERSION="$KAFKA_VERSION_GATE" TESTS="$num" \
        RDKAFKA_GITVER="librdkafka-$LIBRDKAFKA_VERSION" TEST_LEVEL="${TEST_LEVEL:-2}" \
        timeout -k 10 "$limit" ./test-runner -p1 -L -K $RUNNER_ARGS
    )
  } >"$log" 2>&1 || rc=$?
  echo $((SECONDS - began)) >"$PASS_DIR/$job.secs"
  : >"$result"
  if [ -s "$report" ]; then
    # ... "name": "0012_produce_consume", "state": "PASSED", ..., "duration": 1.234, ...
    grep -o '"name": "[^"]*", "state": "[A-Z]*", "known_issue": [a-z]*, "extra": "[^"]*", "duration": [0-9.]*' "$report" |
      sed 's/"name": "\([^"]*\)", "state": "\([A-Z]*\)".*"duration": \([0-9.]*\)/\1 \2 \3s/' |
      awk -v n="$num" -v s="$scenario" 'index($1, n "_") == 1 && $2 != "DNS" { print $0, s }' >>"$result" || true
  fi
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    echo "$num TIMEOUT ${limit}s $scenario" >>"$result"
  elif [ "$rc" != 0 ] && ! grep -q ' FAILED\| RUNNING' "$result"; then
    # A non-zero exit without a failed test in the report (a crash, leaked
    # threads after the summary) still fails the number.
    echo "$num EXIT rc=$rc $scenario" >>"$result"
  fi
}

# Runs entries ("<number> <scenario>" lines on stdin), one broker per
# scenario, SUITE_PARALLEL runner processes at a time, each bounded by $1
# seconds; prints the table; returns non-zero when any number did not pass
# (a number passes when at least one of its tests passed and none failed).
run_tests() {
  local limit="$1" entries scenario nums job
  entries="$(cat)"
  build >/dev/null
  RUN_DIR="$(mktemp -d "${TMPDIR:-/tmp}/librdkafka-suite.XXXXXX")"
  trap cleanup EXIT
  LIBRDKAFKA_VERSION="$(sys_version)"
  RUNNER_ARGS=""
  [ "${SUITE_QUICK:-0}" = 1 ] && RUNNER_ARGS="-Q"
  RUNNER_ARGS="$RUNNER_ARGS ${SUITE_RUNNER_ARGS:-}"
  export -f run_one
  export BUILD KAFKA_VERSION_GATE LIBRDKAFKA_VERSION RUNNER_ARGS
  # Tests that run Kafka's tools (kafka-topics.sh) or its Java client get a
  # KAFKA_PATH of Apache Kafka 4.1.2 jars behind stand-in scripts.
  if [ "${SUITE_KAFKA_PATH:-0}" = 1 ]; then
    if [ -e "$LISTS/kafka-path/libs/kafka-clients-4.1.2.jar" ]; then
      export KAFKA_PATH="$LISTS/kafka-path"
    else
      echo "warning: no Kafka jars (compat-tests/java/kafka-dist/fetch.sh): tests that need KAFKA_PATH fail" >&2
    fi
  fi
  local start=$SECONDS total=0 failed=()
  for scenario in $(echo "$entries" | awk 'NF { print $2 }' | sort -u); do
    nums=($(echo "$entries" | awk -v s="$scenario" '$2 == s { print $1 }'))
    total=$((total + ${#nums[@]}))
    export PASS_DIR="$RUN_DIR/$scenario"
    mkdir -p "$PASS_DIR"
    if [ -n "${SUITE_BOOTSTRAP:-}" ] && [ "$scenario" = default ]; then
      # A broker started by the caller (the Rust driver test owns its process).
      PORT="${SUITE_BOOTSTRAP##*:}"
    else
      start_broker "$scenario" "$PASS_DIR"
    fi
    cat >"$PASS_DIR/test.conf" <<EOF
bootstrap.servers=127.0.0.1:$PORT
broker.address.family=v4
test.timeout.multiplier=${SUITE_TIMEOUT_MULTIPLIER:-2}
EOF
    export BROKERS="127.0.0.1:$PORT"
    echo "== librdkafka $LIBRDKAFKA_VERSION suite, scenario $scenario: ${#nums[@]} test numbers against $BROKERS, ${SUITE_PARALLEL:-2} at a time, runner args:$RUNNER_ARGS (run dir $RUN_DIR)"
    printf '%s\n' "${nums[@]}" |
      xargs -P "${SUITE_PARALLEL:-2}" -I{} bash -c 'run_one "$1" "$2"; echo "   ran $1 in $(cat "$PASS_DIR/$1.secs")s: $(grep -c " PASSED" "$PASS_DIR/$1.result") passed, $(grep -vc " PASSED\| SKIPPED" "$PASS_DIR/$1.result") failed"' _ {} "$limit"
  done
  echo "== results ($total test numbers, $((SECONDS - start))s)"
  while read -r job scenario; do
    [ -n "$job" ] || continue
    local res="$RUN_DIR/$scenario/$job.result"
    if [ ! -s "$res" ]; then
      echo "RESULT $job NOTRUN - $scenario"
      failed+=("$job/$scenario")
      continue
    fi
    sed 's/^/RESULT /' "$res"
    if grep -q ' FAILED\| RUNNING\| TIMEOUT\| EXIT' "$res" || ! grep -q ' PASSED' "$res"; then
      failed+=("$job/$scenario")
    fi
  done <<<"$entries"
  if [ ${#failed[@]} -gt 0 ]; then
    local f
    for f in "${failed[@]}"; do
      echo "== output of $f (a test failed, or none passed)"
      if [ "${SUITE_FULL_OUTPUT:-0}" = 1 ]; then
        cat "$RUN_DIR/${f#*/}/${f%/*}.log"
      else
        tail -n 80 "$RUN_DIR/${f#*/}/${f%/*}.log"
      fi
    done
    for scenario in "$RUN_DIR"/*/; do
      if [ -f "$scenario/broker.log" ]; then
        echo "== broker log tail ($(basename "$scenario"))"
        tail -n 60 "$scenario/broker.log"
      fi
    done
    echo "== FAILED (${#failed[@]} of $total): ${failed[*]}"
    return 1
  fi
  echo "== all $total test numbers passed"
}

case "${1:-}" in
  build) build ;;
  allow)
    list_entries "$LISTS/allow-list" | run_tests "${SUITE_TEST_LIMIT:-300}"
    ;;
  full)
    export SUITE_KAFKA_PATH="${SUITE_KAFKA_PATH:-1}"
    { list_entries "$LISTS/allow-list"; list_entries "$LISTS/full-list"; } | run_tests "${SUITE_TEST_LIMIT:-600}"
    ;;
  all)
    build
    export SUITE_KAFKA_PATH="${SUITE_KAFKA_PATH:-1}"
    rc=0
    # Each number once per scenario one of its tests runs in.
    suite_tests | awk '{ n = split($3, s, ","); for (i = 1; i <= n; i++) if (s[i] != "ak23") print $1, s[i] }' |
      sort -u | run_tests "${SUITE_TEST_LIMIT:-600}" || rc=$?
    echo "(failures are expected: compat-tests/FINDINGS.md says why each one fails)"
    exit $rc
    ;;
  run)
    shift
    [ $# -gt 0 ] || { echo "usage: $0 run <test number>[:<scenario>[:<sub-tests>]]..." >&2; exit 2; }
    printf '%s\n' "$@" | awk -F: '{ print $1 (NF > 2 ? "@" $3 : ""), (NF > 1 && $2 != "" ? $2 : "default") }' | run_tests "${SUITE_TEST_LIMIT:-600}"
    ;;
  *)
    echo "usage: $0 build|allow|full|all|run <test number>[:<scenario>[:<sub-tests>]]..." >&2
    exit 2
    ;;
esac
