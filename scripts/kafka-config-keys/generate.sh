#!/usr/bin/env bash
# Regenerates broker/src/config/kafka_keys.rs (Apache Kafka's broker
# configuration keys) from Kafka's own jars:
#
#   scripts/kafka-config-keys/generate.sh [KAFKA_VERSION]   # default 4.1.2
#
# Needs Java 17+ and Maven (fetches org.apache.kafka:kafka_2.13 and its
# dependencies from Maven Central into a temporary directory). After running
# it, regenerate docs/configuration.md with
#   UPDATE_DOCS=1 cargo test --release -p memorystreamer-broker --test broker_configs
set -euo pipefail
version="${1:-4.1.2}"
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cat > "$work/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>memorystreamer</groupId><artifactId>kafka-config-keys</artifactId><version>1</version>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$version</version>
    </dependency>
  </dependencies>
</project>
POM
(cd "$work" && mvn -q dependency:copy-dependencies -DoutputDirectory="$work/lib")
javac -cp "$work/lib/*" -d "$work/classes" "$here/DumpBrokerConfigKeys.java"
java -cp "$work/classes:$work/lib/*" DumpBrokerConfigKeys "$version" 2>/dev/null \
    > "$root/broker/src/config/kafka_keys.rs.tmp"
mv "$root/broker/src/config/kafka_keys.rs.tmp" "$root/broker/src/config/kafka_keys.rs"
rustfmt --edition 2021 "$root/broker/src/config/kafka_keys.rs"
echo "wrote broker/src/config/kafka_keys.rs from Kafka $version"
