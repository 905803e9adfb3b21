#!/usr/bin/env bash
# Stand-in for Apache Kafka's bin/kafka-run-class.sh: librdkafka's test
# suite runs Kafka's tools and its own Java helpers through $KAFKA_PATH/bin.
# The jars are Apache Kafka 4.1.2 from Maven Central
# (compat-tests/java/kafka-dist/fetch.sh puts them in libs/).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
[ -e "$here/libs/kafka-clients-4.1.2.jar" ] || {
  echo "$0: Kafka jars missing in $here/libs: run compat-tests/java/kafka-dist/fetch.sh" >&2
  exit 1
}
exec java ${KAFKA_OPTS:-} -Xmx256m -cp "${CLASSPATH:+$CLASSPATH:}$here/libs/*" "$@"
