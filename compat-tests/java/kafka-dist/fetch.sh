#!/usr/bin/env bash
# Copies Apache Kafka (broker + command-line tools, version pinned in
# pom.xml) and every dependency from Maven Central into lib/. Idempotent:
# does nothing when lib/ was made from this pom.xml. The new lib/ is built
# beside the old one and swapped in, so a running tool never sees it half made.
set -euo pipefail
cd "$(dirname "$0")"
stamp="$(sha256sum pom.xml | cut -d' ' -f1)"
if [ -f lib/.complete ] && [ "$(cat lib/.complete)" = "$stamp" ]; then
  exit 0
fi
version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' pom.xml)"
rm -rf lib.new
mvn -B -q dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory=lib.new
ls lib.new/kafka_2.13-"$version".jar lib.new/kafka-tools-"$version".jar >/dev/null
echo "$stamp" > lib.new/.complete
rm -rf lib.old
[ -d lib ] && mv lib lib.old
mv lib.new lib
rm -rf lib.old
echo "Apache Kafka $version jars in $(pwd)/lib ($(ls lib/*.jar | wc -l) files)"
