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

    private static Map<String, Long> count(String[] lines) {
        Map<String, Long> out = new TreeMap<>();
        for (String line : lines) {
            for (String w : line.split(" ")) {
                out.merge(w, 1L, Long::sum);
            }
        }
        return out;
    }

    /** Starts the word count (a fresh state directory) and waits until it runs. */
    private static KafkaStreams start(String app, String input, String output,
        AtomicReference<Throwable> failure) throws Exception {
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
        // Streams' members send no LeaveGroup on close: the second instance's join waits for
        // the first one's session to expire, so keep it at the broker's minimum.
        p.put(StreamsConfig.consumerPrefix(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG), 6000);
        p.put(StreamsConfig.consumerPrefix(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG), 300);

        KafkaStreams streams = new KafkaStreams(b.build(), p);
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
        return streams;
    }

    private static void send(String input, String[] lines, int from) throws Exception {
        try (KafkaProducer<String, String> prod = new KafkaProducer<>(Judge.producerProps())) {
            for (int i = 0; i < lines.length; i++) {
                prod.send(new ProducerRecord<>(input, "line-" + (from + i), lines[i]))
                    .get(WAIT.toSeconds(), TimeUnit.SECONDS);
            }
        }
    }

    /** Every word's counts in the output rise one step at a time; the last ones are expected. */
    private static void assertCounts(Map<String, List<Long>> seen, Map<String, Long> expected) {
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
    }

    /**
     * Half the lines, a clean stop, the state directory thrown away (the new instance restores
     * the store from the changelog, read_committed), the other half: the output and the store
     * hold exactly the counts of all lines.
     */
    @Test
    void exactlyOnceWordCount() throws Exception {
        String app = Judge.unique("wordcount");
        String input = app + "-lines";
        String output = app + "-counts";
        String[] firstHalf = Arrays.copyOfRange(LINES, 0, 3);
        String[] secondHalf = Arrays.copyOfRange(LINES, 3, LINES.length);
        Map<String, Long> expected = count(LINES);

        try (Admin admin = Judge.admin()) {
            Judge.createTopic(admin, input, 2);
            Judge.createTopic(admin, output, 2);

            AtomicReference<Throwable> failure = new AtomicReference<>();
            try (KafkaStreams streams = start(app, input, output, failure)) {
                send(input, firstHalf, 0);
                assertCounts(readCounts(output, count(firstHalf), failure), count(firstHalf));
            }

            try (KafkaStreams streams = start(app, input, output, failure)) {
                send(input, secondHalf, firstHalf.length);
                assertCounts(readCounts(output, expected, failure), expected);

                // The restored and updated state store holds the same counts.
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
