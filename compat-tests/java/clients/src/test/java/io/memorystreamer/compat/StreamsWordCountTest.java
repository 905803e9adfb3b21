package io.memorystreamer.compat;

import static io.memorystreamer.compat.Judge.WAIT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.LongDeserializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StoreQueryParameters;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.QueryableStoreTypes;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;
import org.junit.jupiter.api.Test;

/**
 * Kafka Streams with exactly_once_v2: a word count that re-keys by word (a repartition
 * topic), counts into a state store (a compacted changelog topic) and writes the counts;
 * the output read with read_committed must equal the expected counts exactly, each word's
 * counts rising one by one with no repeat (no record counted twice).
 */
class StreamsWordCountTest {
    private static final String[] LINES = {
        "the quick brown fox", "jumps over the lazy dog", "the dog barks",
        "a fox and a dog", "quick quick quick", "lazy afternoon for the fox",
    };

    @Test
    void exactlyOnceWordCount() throws Exception {
        String app = Judge.unique("wordcount");
        String input = app + "-lines";
        String output = app + "-counts";
        Map<String, Long> expected = new TreeMap<>();
        for (String line : LINES) {
            for (String w : line.split(" ")) {
                expected.merge(w, 1L, Long::sum);
            }
        }

        try (Admin admin = Judge.admin()) {
            Judge.createTopic(admin, input, 2);
            Judge.createTopic(admin, output, 2);

            StreamsBuilder b = new StreamsBuilder();
            b.stream(input, Consumed.with(Serdes.String(), Serdes.String()))
                .flatMapValues(line -> Arrays.asList(line.split(" ")))
                .groupBy((k, word) -> word, Grouped.with("words", Serdes.String(), Serdes.String()))
                .count(Materialized.<String, Long, KeyValueStore<Bytes, byte[]>>as("word-counts"))
                .toStream()
                .to(output, Produced.with(Serdes.String(), Serdes.Long()));

            Path stateDir = Files.createTempDirectory("streams-state");
            Properties p = new Properties();
            p.put(StreamsConfig.APPLICATION_ID_CONFIG, app);
            p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, Judge.bootstrap());
            p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
            p.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
            p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 100);
            p.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, 1);
            p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 1);
            p.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");
            p.put(StreamsConfig.consumerPrefix(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG), 10000);
            p.put(StreamsConfig.consumerPrefix(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG), 300);

            AtomicReference<Throwable> failure = new AtomicReference<>();
            try (KafkaStreams streams = new KafkaStreams(b.build(), p)) {
                streams.setUncaughtExceptionHandler(e -> {
                    failure.set(e);
                    return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
                });
                streams.start();
                Judge.await("Kafka Streams to run (state " + streams.state() + ")", () -> {
                    if (failure.get() != null) {
                        throw new AssertionError("stream thread failed", failure.get());
                    }
                    return streams.state() == KafkaStreams.State.RUNNING;
                });

                try (KafkaProducer<String, String> prod = new KafkaProducer<>(Judge.producerProps())) {
                    for (int i = 0; i < LINES.length; i++) {
                        prod.send(new ProducerRecord<>(input, "line-" + i, LINES[i]))
                            .get(WAIT.toSeconds(), TimeUnit.SECONDS);
                    }
                }

                Map<String, List<Long>> seen = readCounts(output, expected, failure);
                for (Map.Entry<String, List<Long>> e : seen.entrySet()) {
                    List<Long> counts = e.getValue();
                    for (int i = 1; i < counts.size(); i++) {
                        assertTrue(counts.get(i) > counts.get(i - 1),
                            "counts of '" + e.getKey() + "' must rise: " + counts);
                    }
                }
                Map<String, Long> last = new TreeMap<>();
                seen.forEach((w, cs) -> last.put(w, cs.get(cs.size() - 1)));
                assertEquals(expected, last);

                // The state store holds the same counts.
                ReadOnlyKeyValueStore<String, Long> store = streams.store(
                    StoreQueryParameters.fromNameAndType("word-counts",
                        QueryableStoreTypes.<String, Long>keyValueStore()));
                Map<String, Long> stored = new TreeMap<>();
                try (KeyValueIterator<String, Long> it = store.all()) {
                    while (it.hasNext()) {
                        KeyValue<String, Long> kv = it.next();
                        stored.put(kv.key, kv.value);
                    }
                }
                assertEquals(expected, stored);
            }

            // The internal topics Streams created: the repartition topic and the compacted changelog.
            var names = admin.listTopics().names().get(WAIT.toSeconds(), TimeUnit.SECONDS);
            assertTrue(names.contains(app + "-words-repartition"), "topics: " + names);
            assertTrue(names.contains(app + "-word-counts-changelog"), "topics: " + names);
            ConfigResource changelog =
                new ConfigResource(ConfigResource.Type.TOPIC, app + "-word-counts-changelog");
            Config c = admin.describeConfigs(List.of(changelog)).all()
                .get(WAIT.toSeconds(), TimeUnit.SECONDS).get(changelog);
            assertEquals("compact", c.get("cleanup.policy").value());
            ConfigResource repartition =
                new ConfigResource(ConfigResource.Type.TOPIC, app + "-words-repartition");
            Config r = admin.describeConfigs(List.of(repartition)).all()
                .get(WAIT.toSeconds(), TimeUnit.SECONDS).get(repartition);
            assertEquals("delete", r.get("cleanup.policy").value());
            assertEquals("-1", r.get("retention.ms").value());
        }
    }

    /** Reads the output (read_committed) until every word's latest count is the expected one. */
    private static Map<String, List<Long>> readCounts(String output, Map<String, Long> expected,
        AtomicReference<Throwable> failure) {
        Properties cp = Judge.consumerProps(null);
        cp.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        cp.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        cp.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, LongDeserializer.class.getName());
        Map<String, List<Long>> seen = new TreeMap<>();
        Map<String, Long> last = new HashMap<>();
        try (KafkaConsumer<String, Long> c = new KafkaConsumer<>(cp)) {
            var tps = new ArrayList<org.apache.kafka.common.TopicPartition>();
            for (var info : c.partitionsFor(output)) {
                tps.add(new org.apache.kafka.common.TopicPartition(output, info.partition()));
            }
            c.assign(tps);
            c.seekToBeginning(tps);
            long deadline = System.nanoTime() + WAIT.multipliedBy(2).toNanos();
            while (!last.equals(expected)) {
                if (failure.get() != null) {
                    throw new AssertionError("stream thread failed", failure.get());
                }
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("counts read " + seen + ", expected " + expected);
                }
                for (ConsumerRecord<String, Long> rec : c.poll(Duration.ofMillis(200))) {
                    seen.computeIfAbsent(rec.key(), k -> new ArrayList<>()).add(rec.value());
                    last.put(rec.key(), rec.value());
                }
            }
            // Nothing more was committed after the expected counts: read to the end (LSO).
            Map<org.apache.kafka.common.TopicPartition, Long> ends = c.endOffsets(tps);
            while (tps.stream().anyMatch(tp -> c.position(tp) < ends.get(tp))) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("did not reach the output's end " + ends);
                }
                for (ConsumerRecord<String, Long> rec : c.poll(Duration.ofMillis(200))) {
                    seen.computeIfAbsent(rec.key(), k -> new ArrayList<>()).add(rec.value());
                    last.put(rec.key(), rec.value());
                }
            }
            assertEquals(expected, last, "the output's final counts");
        }
        return seen;
    }
}
