#!/usr/bin/env bash
# Copies Apache Kafka (broker + command-line tools, version pinned in
# pom.xml) and every dependency from Maven Central into lib/. Idempotent:
# does nothing when lib/ matches the pinned version.
set -euo pipefail
cd "$(dirname "$0")"
version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' pom.xml)"
if [ -f lib/.complete ] && [ "$(cat lib/.complete)" = "$version" ]; then
  exit 0
fi
rm -rf lib
mvn -B -q dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory=lib
ls lib/kafka_2.13-"$version".jar lib/kafka-tools-"$version".jar >/dev/null
echo "$version" > lib/.complete
echo "Apache Kafka $version jars in $(pwd)/lib ($(ls lib/*.jar | wc -l) files)"
