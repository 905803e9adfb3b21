#!/usr/bin/env bash
# The cost of security (issue 16), in one run on one machine: three brokers
# from ONE binary (copied once, so a rebuild mid-run changes nothing), each
# on a free loopback port with a fresh data directory:
#   plaintext  PLAINTEXT listener, no authorizer;
#   sasl-acl   SASL_PLAINTEXT (PLAIN users admin, bench, intruder from the
#              listener's JAAS), StandardAuthorizer, super.users=User:admin
#              only, allow.everyone.if.no.acl.found=false; User:bench holds
#              exactly the ACLs the load needs plus 1000 unrelated bindings;
#   sasl-ssl   the same over SASL_SSL (sasl/tests/fixtures/tls/server.pem;
#              the load tool trusts ca.pem).
# Before measuring, the script checks on both secured brokers that a
# produce as User:intruder (a JAAS user without ACLs) fails with
# TOPIC_AUTHORIZATION_FAILED and one as User:bench succeeds; otherwise it
# exits non-zero (the comparison must not measure an open broker).
# Each scenario runs against the three in turn with the same load tool,
# which reads the broker's CPU from /proc/<pid>/stat (--broker-pid) from
# when its topic exists and its consumers are assigned until the last
# record is delivered and read (so client connections, with their SASL and
# TLS handshakes, count; topic creation does not); reported as user and
# system seconds per million records.
#
# Usage: benches/security.sh [records-per-run]   (default 1000000)
#   BINARY=<path> the broker (default target/release/memorystreamer);
#   ONLY=<text>   runs only the scenarios whose name contains <text>;
#   REPEAT=<n>    runs each scenario n times, order alternating
#                 plaintext,sasl-acl,sasl-ssl / sasl-ssl,sasl-acl,plaintext;
#   AUTHZ_NS=<ns> the cached authorize() decision of the bound column
#                 (default 50: criterion's authorizer/cached_decision_1000_acls).
# Needs the Python client of scripts/test.sh (compat-tests/.venv,
# confluent-kafka) to create the ACLs, and curl (request counts from each
# broker's /metrics). Prints markdown tables on stdout (progress on stderr).
set -euo pipefail
cd "$(dirname "$0")/.."
RECORDS=${1:-1000000}
BINARY=${BINARY:-target/release/memorystreamer}
PY=compat-tests/.venv/bin/python
TLS_DIR=$PWD/sasl/tests/fixtures/tls
command -v curl >/dev/null || { echo "curl is needed (request counts from the brokers' /metrics)" >&2; exit 2; }
[ -x "$BINARY" ] || { echo "not an executable: $BINARY (cargo build --release -p memorystreamer-broker)" >&2; exit 2; }
"$PY" -c 'import confluent_kafka' 2>/dev/null \
  || { echo "$PY with confluent-kafka is missing: run scripts/test.sh (or create the venv from compat-tests/requirements.txt)" >&2; exit 2; }
for f in server.pem ca.pem; do
  [ -r "$TLS_DIR/$f" ] || { echo "missing $TLS_DIR/$f (bash sasl/tests/fixtures/tls/gen.sh)" >&2; exit 2; }
done
pkg-config --exists openssl || { echo "the TLS load tool needs OpenSSL headers: apt-get install libssl-dev pkg-config" >&2; exit 2; }
cargo build --release -p memorystreamer-benches --features tls >/dev/null
BENCH=target/release/memorystreamer-bench
TICKS=$(getconf CLK_TCK)
TMP=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT
cp "$BINARY" "$TMP/memorystreamer"

ADMIN_PW=admin-secret BENCH_PW=bench-secret INTRUDER_PW=intruder-secret
jaas() {
  echo "org.apache.kafka.common.security.plain.PlainLoginModule required user_admin=\"$ADMIN_PW\" user_bench=\"$BENCH_PW\" user_intruder=\"$INTRUDER_PW\";"
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# Writes $TMP/<name>.properties for protocol PLAINTEXT, SASL_PLAINTEXT or SASL_SSL.
properties() { # name, protocol, port, metrics port
  local name=$1 proto=$2 port=$3 mport=$4 lower
  lower=$(echo "$proto" | tr '[:upper:]' '[:lower:]')
  {
    echo "listeners=$proto://127.0.0.1:$port"
    echo "log.dirs=$TMP/$name/data"
    echo "metrics.addr=127.0.0.1:$mport"
    if [ "$proto" != PLAINTEXT ]; then
      echo "sasl.enabled.mechanisms=PLAIN"
      echo "listener.name.$lower.plain.sasl.jaas.config=$(jaas)"
      echo "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer"
      echo "super.users=User:admin"
      echo "allow.everyone.if.no.acl.found=false"
    fi
    if [ "$proto" = SASL_SSL ]; then
      echo "ssl.keystore.type=PEM"
      echo "ssl.keystore.location=$TLS_DIR/server.pem"
    fi
  } >"$TMP/$name.properties"
}
# Runs in a subshell (process substitution): the caller records the pid.
start() { # name, protocol -> "pid port metrics-port"
  local port mport
  port=$(free_port)
  mport=$(free_port)
  properties "$1" "$2" "$port" "$mport"
  "$TMP/memorystreamer" --config "$TMP/$1.properties" >"$TMP/$1.log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 400); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && { echo "$pid $port $mport"; return; }
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  kill "$pid" 2>/dev/null || true
  echo "broker $1 did not start; its log:" >&2
  cat "$TMP/$1.log" >&2
  exit 1
}
read -r PID_PLAIN PORT_PLAIN METRICS_PLAIN < <(start plaintext PLAINTEXT)
PIDS+=("$PID_PLAIN")
read -r PID_ACL PORT_ACL METRICS_ACL < <(start sasl-acl SASL_PLAINTEXT)
PIDS+=("$PID_ACL")
read -r PID_SSL PORT_SSL METRICS_SSL < <(start sasl-ssl SASL_SSL)
PIDS+=("$PID_SSL")

# The ACLs, and the check that they are enforced (exits non-zero if not).
acls() { # bootstrap, protocol
  "$PY" - "$1" "$2" "$TLS_DIR/ca.pem" "$ADMIN_PW" "$BENCH_PW" "$INTRUDER_PW" <<'EOF'
import sys
from confluent_kafka import KafkaError, Producer
from confluent_kafka.admin import (AclBinding, AclBindingFilter, AclOperation, AclPermissionType,
                                   AdminClient, NewTopic, ResourcePatternType, ResourceType)

bootstrap, protocol, ca, admin_pw, bench_pw, intruder_pw = sys.argv[1:7]
def conf(user, password):
    c = {"bootstrap.servers": bootstrap, "security.protocol": protocol, "sasl.mechanisms": "PLAIN",
         "sasl.username": user, "sasl.password": password}
    if protocol == "SASL_SSL":
        c["ssl.ca.location"] = ca
    return c
T, G, TX, CL = ResourceType.TOPIC, ResourceType.GROUP, ResourceType.TRANSACTIONAL_ID, ResourceType.BROKER
LIT, PRE = ResourcePatternType.LITERAL, ResourcePatternType.PREFIXED
A, D = AclPermissionType.ALLOW, AclPermissionType.DENY
Op = AclOperation
def acl(rtype, name, pattern, principal, op, perm=A):
    return AclBinding(rtype, name, pattern, principal, "*", op, perm)

# What the load needs (memorystreamer-bench: CreateTopics, Produce, ListOffsets,
# Fetch with group.id memorystreamer-bench and assign(); no idempotence).
needed = [acl(T, "bench-", PRE, "User:bench", op) for op in (Op.WRITE, Op.DESCRIBE, Op.CREATE, Op.READ)]
needed.append(acl(G, "memorystreamer-bench", LIT, "User:bench", Op.READ))
# 1000 unrelated bindings: 50 other principals, literal and prefixed, some on
# prefixes of the bench topics (so lookups for them meet other principals' bindings).
ops = [Op.READ, Op.WRITE, Op.DESCRIBE, Op.CREATE, Op.ALTER, Op.DELETE]
other = []
for i in range(400):
    other.append(acl(T, f"orders-{i}", LIT, f"User:app-{i % 50}", ops[i % 6]))
for i in range(200):
    other.append(acl(T, f"svc-{i}-", PRE, f"User:app-{i % 50}", ops[i % 6], D if i % 10 == 0 else A))
for i in range(200):
    other.append(acl(G, f"group-{i}", LIT, f"User:app-{i % 50}", Op.READ))
for i in range(100):
    other.append(acl(G, f"team-{i}-", PRE, f"User:app-{i % 50}", Op.READ))
for i in range(50):
    other.append(acl(TX, f"txn-{i}", LIT, f"User:app-{i}", Op.WRITE))
for i in range(25):
    other.append(acl(CL, "kafka-cluster", LIT, f"User:app-{i}", [Op.DESCRIBE, Op.IDEMPOTENT_WRITE][i % 2]))
for i, prefix in enumerate(["b", "be", "ben", "benc", "bench"] * 5):
    other.append(acl(T, prefix, PRE, f"User:app-{i}", ops[i % 6], D if i % 4 == 0 else A))
assert len(other) == 1000

admin = AdminClient(conf("admin", admin_pw))
for binding, future in admin.create_acls(needed + other).items():
    future.result(60)
everything = AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, None, None,
                              AclOperation.ANY, AclPermissionType.ANY)
count = len(admin.describe_acls(everything).result(60))
if count != len(needed) + len(other):
    sys.exit(f"{bootstrap}: {count} ACLs listed, {len(needed) + len(other)} created")
for _, future in admin.create_topics([NewTopic("bench-acl-check", 1, 1)]).items():
    future.result(60)

def produce(user, password):
    p = Producer({**conf(user, password), "message.timeout.ms": 30000})
    errors = []
    p.produce("bench-acl-check", b"x", on_delivery=lambda err, msg: errors.append(err))
    if p.flush(60) != 0 or not errors:
        sys.exit(f"{bootstrap}: no delivery report for User:{user}")
    return errors[0]
err = produce("intruder", intruder_pw)
if err is None or err.code() != KafkaError.TOPIC_AUTHORIZATION_FAILED:
    sys.exit(f"{bootstrap} ({protocol}): User:intruder produced without ACLs: {err}")
err = produce("bench", bench_pw)
if err is not None:
    sys.exit(f"{bootstrap} ({protocol}): User:bench could not produce: {err}")
print(f"{protocol} broker: {count} ACLs; User:intruder refused (TOPIC_AUTHORIZATION_FAILED), "
      "User:bench allowed", file=sys.stderr)
EOF
}
acls "127.0.0.1:$PORT_ACL" SASL_PLAINTEXT
acls "127.0.0.1:$PORT_SSL" SASL_SSL

# Produce and Fetch requests the broker has handled (its /metrics counter).
requests() { # metrics port -> "produce fetch"
  curl -sf "http://127.0.0.1:$1/metrics" | awk '
    /^memorystreamer_requests_total\{api="Produce",/ { p += $NF }
    /^memorystreamer_requests_total\{api="Fetch",/ { f += $NF }
    END { printf "%d %d\n", p, f }'
}
SASL_X=(-X sasl.mechanism=PLAIN -X sasl.username=bench -X "sasl.password=$BENCH_PW")
rows=()
sums=()
REPEAT=${REPEAT:-1}
round=0
run() { # name, args...
  local name=$1; shift
  if [ -n "${ONLY:-}" ] && [[ "$name" != *"$ONLY"* ]]; then return; fi
  local r sides
  for r in $(seq 1 "$REPEAT"); do
  round=$((round+1))
  if [ $((round % 2)) = 1 ]; then sides="plaintext sasl-acl sasl-ssl"; else sides="sasl-ssl sasl-acl plaintext"; fi
  # A fresh topic per round, so no round reads another's records.
  local args=() prev=""
  for a in "$@"; do
    if [ "$prev" = --topic ]; then args+=("$a-r$r"); else args+=("$a"); fi
    prev=$a
  done
  for side in $sides; do
    local pid port mport client=()
    case $side in
      plaintext) pid=$PID_PLAIN; port=$PORT_PLAIN; mport=$METRICS_PLAIN ;;
      sasl-acl) pid=$PID_ACL; port=$PORT_ACL; mport=$METRICS_ACL
        client=(-X security.protocol=SASL_PLAINTEXT "${SASL_X[@]}") ;;
      sasl-ssl) pid=$PID_SSL; port=$PORT_SSL; mport=$METRICS_SSL
        client=(-X security.protocol=SASL_SSL "${SASL_X[@]}" -X "ssl.ca.location=$TLS_DIR/ca.pem") ;;
    esac
    local out p0 f0 p1 f1
    read -r p0 f0 < <(requests "$mport")
    out=$("$BENCH" --bootstrap "127.0.0.1:$port" --broker-pid "$pid" --kv "${client[@]}" "${args[@]}")
    read -r p1 f1 < <(requests "$mport")
    echo "$side $name: $out" >&2
    get() { echo "$out" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
    local n user sys
    n=$(get records)
    user=$(awk -v c="$(get broker_user_ticks)" -v t="$TICKS" -v n="$n" 'BEGIN{printf "%.3f", c/t/(n/1e6)}')
    sys=$(awk -v c="$(get broker_system_ticks)" -v t="$TICKS" -v n="$n" 'BEGIN{printf "%.3f", c/t/(n/1e6)}')
    rows+=("| $name | $side | $(get records_per_s) | $(get p50_ms) | $(get p99_ms) | $(get e2e_p50_ms) | $(get e2e_p99_ms) | $user | $sys | $((p1-p0)) | $((f1-f0)) |")
    sums+=("$name|$side|$(get records_per_s)|$user|$sys|$(((p1-p0)+(f1-f0)))|$n")
  done
  done
}

# A subset of benches/scenarios.sh, topics under the bench- prefix the ACLs grant.
run "100 B, acks=1, 1 partition(s), linger 5 ms" \
  --topic bench-t1 --records "$RECORDS" --record-size 100 --acks 1 --partitions 1 --linger-ms 5
run "100 B, acks=all, 8 partition(s), linger 5 ms" \
  --topic bench-t4 --records "$RECORDS" --record-size 100 --acks all --partitions 8 --linger-ms 5
run "1024 B, acks=1, 1 partition(s), linger 5 ms" \
  --topic bench-t5 --records $((RECORDS/4)) --record-size 1024 --acks 1 --partitions 1 --linger-ms 5
run "100 B, acks=all, linger 0, paced 10,000 records/s" \
  --topic bench-latency --records 50000 --record-size 100 --acks all --partitions 1 --linger-ms 0 --rate 10000
run "100 B, acks=all, linger 0, paced 10,000 records/s, 1 consumer" \
  --topic bench-latency-e2e --records 50000 --record-size 100 --acks all --partitions 1 --linger-ms 0 --rate 10000 --consumers 1

AUTHZ_NS=${AUTHZ_NS:-50}
echo "Generated by \`benches/security.sh $RECORDS\` (BINARY=$BINARY${ONLY:+, ONLY=$ONLY}, REPEAT=$REPEAT) on $(date -u +%Y-%m-%d)."
echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(free -g | awk '/Mem/{print $2}') GiB RAM."
echo
echo "| scenario | broker | records/s | produce p50 ms | produce p99 ms | end-to-end p50 ms | end-to-end p99 ms | broker user CPU s / 1M records | broker system CPU s / 1M records | Produce requests | Fetch requests |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
echo
echo "Means over the runs. CPU = user + system; \"vs plaintext\" is the change against the plaintext"
echo "broker in the same scenario. \"authorize() bound\" = (Produce + Fetch requests) x 1 cached"
echo "decision (one topic per request) x $AUTHZ_NS ns (AUTHZ_NS, criterion) / the broker's CPU:"
echo
echo "| scenario | broker | records/s | user CPU s / 1M | system CPU s / 1M | CPU vs plaintext | Produce + Fetch requests / 1M records | authorize() bound, % of broker CPU |"
echo "|---|---|---|---|---|---|---|---|"
printf '%s\n' "${sums[@]}" | awk -F'|' -v ns="$AUTHZ_NS" '
  !($1 in seen) { seen[$1] = 1; order[++k] = $1 }
  { key = $1 SUBSEP $2; n[key]++; rps[key] += $3; u[key] += $4; s[key] += $5; req[key] += $6; recs[key] += $7 }
  END {
    split("plaintext sasl-acl sasl-ssl", sides, " ")
    for (i = 1; i <= k; i++) {
      base = order[i] SUBSEP "plaintext"
      b = (n[base] ? (u[base] + s[base]) / n[base] : 0)
      for (j = 1; j <= 3; j++) {
        key = order[i] SUBSEP sides[j]
        if (!n[key]) continue
        c = (u[key] + s[key]) / n[key]
        d = (sides[j] == "plaintext") ? "" : (b > 0 ? sprintf("%+.1f %%", (c - b) / b * 100) : "n/a")
        perm = recs[key] ? req[key] / recs[key] * 1e6 : 0
        bound = (sides[j] == "plaintext") ? "" : (c > 0 ? sprintf("%.3f %%", perm * ns * 1e-9 / c * 100) : "n/a")
        printf "| %s | %s | %.0f | %.3f | %.3f | %s | %.0f | %s |\n", order[i], sides[j], rps[key] / n[key], u[key] / n[key], s[key] / n[key], d, perm, bound
      }
    }
  }'
