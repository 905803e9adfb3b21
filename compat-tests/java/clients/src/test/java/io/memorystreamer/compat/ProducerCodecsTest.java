package io.memorystreamer.compat;

import static io.memorystreamer.compat.Judge.WAIT;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The default producer (idempotence on, acks=all: nothing set but the codec) writes keyed
 * records with headers in every codec; a consumer reads every record back, in order per
 * partition, at the offsets the producer was given.
 */
class ProducerCodecsTest {
    private static final int PARTITIONS = 3;
    private static final int RECORDS = 300;

    /** What was sent and where it landed. */
    private record Sent(int partition, long offset, String key, String value, List<String> headers) {}

    private static List<String> headers(Iterable<Header> hs) {
        List<String> out = new ArrayList<>();
        for (Header h : hs) {
            out.add(h.key() + "=" + (h.value() == null ? "<null>"
                : new String(h.value(), StandardCharsets.UTF_8)));
        }
        return out;
    }

    @ParameterizedTest
    @ValueSource(strings = {"none", "gzip", "snappy", "lz4", "zstd"})
    void everyCodecRoundTrips(String codec) throws Exception {
        String topic = Judge.unique("codec-" + codec);
        try (Admin admin = Judge.admin()) {
            Judge.createTopic(admin, topic, PARTITIONS);
        }

        Properties pp = Judge.producerProps();
        pp.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, codec);
        pp.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        List<Future<RecordMetadata>> futures = new ArrayList<>();
        List<ProducerRecord<String, String>> records = new ArrayList<>();
        try (KafkaProducer<String, String> p = new KafkaProducer<>(pp)) {
            // The defaults this test is about.
            assertEquals(true, ProducerConfig.configDef().defaultValues().get("enable.idempotence"));
            assertEquals("all", ProducerConfig.configDef().defaultValues().get("acks"));
            for (int i = 0; i < RECORDS; i++) {
                RecordHeaders h = new RecordHeaders();
                h.add("seq", Integer.toString(i).getBytes(StandardCharsets.UTF_8));
                h.add("codec", codec.getBytes(StandardCharsets.UTF_8));
                if (i % 3 == 0) {
                    h.add("seq", "again".getBytes(StandardCharsets.UTF_8));
                    h.add("empty", null);
                }
                // Keys pick partitions; every 10th record has no key; values repeat to compress.
                String key = i % 10 == 9 ? null : "key-" + (i % 17);
                String value = "value-" + i + "-" + "abcdefgh".repeat(i % 20);
                ProducerRecord<String, String> r = new ProducerRecord<>(topic, null, key, value, h);
                records.add(r);
                futures.add(p.send(r));
            }
            p.flush();
        }

        Map<Integer, List<Sent>> sent = new TreeMap<>();
        for (int i = 0; i < RECORDS; i++) {
            RecordMetadata m = futures.get(i).get(WAIT.toSeconds(), TimeUnit.SECONDS);
            ProducerRecord<String, String> r = records.get(i);
            sent.computeIfAbsent(m.partition(), k -> new ArrayList<>())
                .add(new Sent(m.partition(), m.offset(), r.key(), r.value(), headers(r.headers())));
        }
        // Idempotent, one producer: each partition's offsets are 0..n-1 in send order.
        for (List<Sent> ps : sent.values()) {
            for (int i = 0; i < ps.size(); i++) {
                assertEquals(i, ps.get(i).offset(), "offsets of partition " + ps.get(0).partition());
            }
        }

        List<TopicPartition> tps = new ArrayList<>();
        for (int p = 0; p < PARTITIONS; p++) {
            tps.add(new TopicPartition(topic, p));
        }
        Map<Integer, List<Sent>> read = new TreeMap<>();
        try (KafkaConsumer<String, String> c = new KafkaConsumer<>(Judge.consumerProps(null))) {
            c.assign(tps);
            c.seekToBeginning(tps);
            for (ConsumerRecord<String, String> r : Judge.pollN(c, RECORDS)) {
                read.computeIfAbsent(r.partition(), k -> new ArrayList<>()).add(
                    new Sent(r.partition(), r.offset(), r.key(), r.value(), headers(r.headers())));
            }
            Map<TopicPartition, Long> ends = c.endOffsets(tps);
            for (TopicPartition tp : tps) {
                int n = sent.getOrDefault(tp.partition(), List.of()).size();
                assertEquals(n, ends.get(tp), "end offset of " + tp);
            }
        }
        assertEquals(sent, read);
        // Byte-exact values, whatever the codec did on the way.
        assertArrayEquals(
            sent.values().stream().flatMap(List::stream).map(Sent::value).toArray(),
            read.values().stream().flatMap(List::stream).map(Sent::value).toArray());
    }
}
