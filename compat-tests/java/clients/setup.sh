#!/usr/bin/env bash
# Resolves every Maven dependency of the Java client judges (compat-tests/java/clients) for
# each pinned client line (profiles kafka-4 and kafka-3.9): the clients, Kafka Streams, JUnit,
# the Maven plugins and surefire's JUnit platform provider. Idempotent; afterwards
# `mvn -o` runs need nothing more from the network. Called by scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")"

command -v mvn >/dev/null || { echo "setup.sh: mvn not found (install Maven, e.g. apt-get install maven)" >&2; exit 1; }

for profile in kafka-4 kafka-3.9; do
    # ClientVersionTest needs no broker; running it resolves the compiler, surefire and its
    # JUnit platform provider, and proves the pinned client is the one on the classpath.
    mvn -B -q -P"$profile" test -Dtest=ClientVersionTest
done
# The same, offline: fails if anything is still missing from ~/.m2.
for profile in kafka-4 kafka-3.9; do
    mvn -B -q -o -P"$profile" test -Dtest=ClientVersionTest
done
echo "java client judges: dependencies resolved (profiles kafka-4, kafka-3.9)"
