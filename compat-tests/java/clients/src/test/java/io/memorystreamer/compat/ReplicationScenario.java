package io.memorystreamer.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.ElectionType;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.errors.ElectionNotNeededException;
import org.junit.jupiter.api.Test;

/**
 * Replication judged by the Java clients on a three-node cluster (issue 15). Not part of the
 * single-broker run (the class name does not match surefire's patterns): the driver
 * {@code compat-tests/tests/java_replication.rs} starts the cluster and runs one step at a time
 * with {@code -Dtest=ReplicationScenario#<step>}, restarting the nodes a step killed in between.
 *
 * <p>Properties: {@code -Dbootstrap} (every node), {@code -Dpids=1:pid,2:pid,3:pid},
 * {@code -Dtopic}, {@code -Dstate=<file>} (what a step leaves for the next one and for the
 * driver: {@code killed}, the node a step killed, and the acknowledged count).
 */
class ReplicationScenario {
    static final int PARTITIONS = 3;
    static final int RECORDS = 3000;
    static final Duration LONG = Duration.ofSeconds(90);

    private static String topic() {
        return required("topic");
    }

    private static String required(String key) {
        String v = System.getProperty(key);
        if (v == null || v.isBlank()) {
            throw new IllegalStateException("missing -D" + key + " (run by java_replication.rs)");
        }
        return v;
    }

    private static Properties loadState() throws IOException {
        Properties p = new Properties();
        Path path = Path.of(required("state"));
        if (Files.exists(path)) {
            try (Reader r = Files.newBufferedReader(path)) {
                p.load(r);
            }
        }
        return p;
    }

    private static void saveState(Properties p) throws IOException {
        try (Writer w = Files.newBufferedWriter(Path.of(required("state")))) {
            p.store(w, "ReplicationScenario");
        }
    }

    /** SIGKILLs node {@code id} (its pid from {@code -Dpids}). */
    private static void kill(int id) {
        long pid = -1;
        for (String pair : required("pids").split(",")) {
            String[] kv = pair.split(":");
            if (Integer.parseInt(kv[0]) == id) {
                pid = Long.parseLong(kv[1]);
            }
        }
        assertTrue(pid > 0, "no pid for node " + id + " in " + required("pids"));
        ProcessHandle h = ProcessHandle.of(pid)
            .orElseThrow(() -> new AssertionError("node process gone before the kill"));
        // SIGKILL; not awaited: the process is the driver's child and stays a zombie until the
        // driver reaps it when it restarts the node.
        assertTrue(h.destroyForcibly(), "SIGKILL node " + id);
    }

    static void await(String what, Duration limit, BooleanSupplier done) {
        long deadline = System.nanoTime() + limit.toNanos();
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + limit + " waiting for " + what);
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
    }

    private static Admin admin() {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, Judge.bootstrap());
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 10000);
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 30000);
        return Admin.create(p);
    }

    private static Map<Integer, TopicPartitionInfo> describe(Admin admin) {
        try {
            TopicDescription d = admin.describeTopics(List.of(topic())).allTopicNames()
                .get(30, TimeUnit.SECONDS).get(topic());
            Map<Integer, TopicPartitionInfo> out = new HashMap<>();
            for (TopicPartitionInfo p : d.partitions()) {
                out.put(p.partition(), p);
            }
            return out;
        } catch (Exception e) {
            return Map.of();
        }
    }

    private static boolean fullIsr(Admin admin) {
        Map<Integer, TopicPartitionInfo> parts = describe(admin);
        return parts.size() == PARTITIONS && parts.values().stream().allMatch(p ->
            p.replicas().size() == 3 && p.isr().size() == 3 && p.leader() != null);
    }

    private static KafkaConsumer<String, String> consumer(String group) {
        Properties p = Judge.consumerProps(group);
        p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 200);
        p.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, 10000);
        p.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, 1000);
        return new KafkaConsumer<>(p);
    }

    /** Values of partition {@code p}: "p:seq" for seq 0..count. */
    private static List<String> expected(int p, int count) {
        List<String> out = new ArrayList<>();
        for (int s = 0; s < count; s++) {
            out.add(p + ":" + s);
        }
        return out;
    }

    /**
     * Creates the topic (RF 3, min.insync.replicas 2), writes numbered records with an idempotent
     * acks=all producer, SIGKILLs the leader of partition 0 a third of the way through, and
     * reads every acknowledged record back exactly once, in order, through a consumer group.
     */
    @Test
    void failover() throws Exception {
        Properties state = loadState();
        try (Admin admin = admin()) {
            admin.createTopics(List.of(new NewTopic(topic(), PARTITIONS, (short) 3)
                .configs(Map.of("min.insync.replicas", "2")))).all().get(30, TimeUnit.SECONDS);
            await("3 replicas and ISR 3 per partition", LONG, () -> fullIsr(admin));
            Properties pp = Judge.producerProps();
            pp.put(ProducerConfig.ACKS_CONFIG, "all");
            pp.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
            pp.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 60000);
            pp.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 10000);
            pp.put(ProducerConfig.LINGER_MS_CONFIG, 5);
            int[] seq = new int[PARTITIONS];
            int killed = -1;
            try (KafkaProducer<String, String> producer = new KafkaProducer<>(pp)) {
                List<Future<RecordMetadata>> sent = new ArrayList<>();
                for (int i = 0; i < RECORDS; i++) {
                    int p = i % PARTITIONS;
                    sent.add(producer.send(new ProducerRecord<>(topic(), p, null, p + ":" + seq[p]++)));
                    if (i == RECORDS / 3) {
                        producer.flush();
                        TopicPartitionInfo p0 = describe(admin).get(0);
                        assertTrue(p0 != null && p0.leader() != null, "partition 0 has a leader");
                        killed = p0.leader().id();
                        kill(killed);
                    }
                    if (i % 100 == 99) {
                        // A steady load: at most 100 records in flight.
                        producer.flush();
                    }
                }
                producer.flush();
                for (Future<RecordMetadata> f : sent) {
                    // acks=all with two live replicas: every send is acknowledged.
                    f.get(60, TimeUnit.SECONDS);
                }
            }
            state.setProperty("killed", Integer.toString(killed));
            state.setProperty("per_partition", Integer.toString(RECORDS / PARTITIONS));
            saveState(state);
        }
        String group = Judge.unique("java-replication-read");
        Map<Integer, List<String>> read = readAll(group, RECORDS / PARTITIONS);
        for (int p = 0; p < PARTITIONS; p++) {
            assertEquals(expected(p, RECORDS / PARTITIONS), read.get(p),
                "partition " + p + ": every acknowledged record once, in order");
        }
    }

    /** Reads the topic through a new member of {@code group} until every partition has {@code per}. */
    private static Map<Integer, List<String>> readAll(String group, int per) {
        Map<Integer, List<String>> read = new HashMap<>();
        try (KafkaConsumer<String, String> c = consumer(group)) {
            c.subscribe(List.of(topic()));
            long deadline = System.nanoTime() + LONG.toNanos();
            while (read.values().stream().mapToInt(List::size).sum() < per * PARTITIONS) {
                assertTrue(System.nanoTime() < deadline, "timed out reading back: " + sizes(read));
                for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(500))) {
                    read.computeIfAbsent(r.partition(), k -> new ArrayList<>()).add(r.value());
                }
                c.commitSync();
            }
        }
        return read;
    }

    private static String sizes(Map<Integer, List<String>> read) {
        Map<Integer, Integer> s = new HashMap<>();
        read.forEach((k, v) -> s.put(k, v.size()));
        return s.toString();
    }

    /** The node killed earlier has restarted: it rejoins the ISR of every partition. */
    @Test
    void rejoin() {
        try (Admin admin = admin()) {
            await("ISR 3 on every partition after the restart", LONG, () -> fullIsr(admin));
        }
    }

    /**
     * Committed offsets survive the group coordinator: a member reads and commits part of the
     * topic, reads one more batch without committing, leaves; the coordinator is SIGKILLed; a new
     * member of the group starts exactly at the committed offsets (the uncommitted batch is read
     * again, nothing committed is, nothing is skipped) and reads to the end.
     */
    @Test
    void coordinatorFailover() throws Exception {
        Properties state = loadState();
        int per = Integer.parseInt(state.getProperty("per_partition"));
        String group = Judge.unique("java-replication-coord");
        Map<TopicPartition, Long> committed = new HashMap<>();
        Map<Integer, List<String>> before = new HashMap<>();
        try (KafkaConsumer<String, String> c = consumer(group)) {
            c.subscribe(List.of(topic()));
            long deadline = System.nanoTime() + LONG.toNanos();
            int total = 0;
            while (total < per * PARTITIONS / 2) {
                assertTrue(System.nanoTime() < deadline, "timed out reading the first half");
                for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(500))) {
                    before.computeIfAbsent(r.partition(), k -> new ArrayList<>()).add(r.value());
                    total++;
                }
                c.commitSync();
            }
            for (TopicPartition tp : c.assignment()) {
                committed.put(tp, c.position(tp));
            }
            // One batch read and not committed.
            int extra = 0;
            while (extra == 0) {
                assertTrue(System.nanoTime() < deadline, "timed out reading the uncommitted batch");
                extra = c.poll(Duration.ofMillis(500)).count();
            }
        }
        int coordinator;
        Map<TopicPartition, Long> beforeKill;
        try (Admin admin = admin()) {
            coordinator = admin.describeConsumerGroups(List.of(group)).describedGroups().get(group)
                .get(30, TimeUnit.SECONDS).coordinator().id();
            beforeKill = offsets(admin, group);
            assertEquals(committed, beforeKill, "the committed offsets as the coordinator reports them");
            kill(coordinator);
            state.setProperty("killed", Integer.toString(coordinator));
            saveState(state);
            // The group's new coordinator (a survivor) serves the same committed offsets.
            AtomicReference<Map<TopicPartition, Long>> after = new AtomicReference<>();
            await("committed offsets from the new coordinator", LONG, () -> {
                try {
                    after.set(offsets(admin, group));
                    return true;
                } catch (Exception e) {
                    return false;
                }
            });
            assertEquals(committed, after.get(), "committed offsets after the coordinator died");
        }
        // A new member resumes exactly at the committed offsets.
        Map<Integer, List<String>> rest = new HashMap<>();
        Map<Integer, Long> firstOffset = new HashMap<>();
        try (KafkaConsumer<String, String> c = consumer(group)) {
            c.subscribe(List.of(topic()));
            long deadline = System.nanoTime() + LONG.toNanos();
            long want = 0;
            for (int p = 0; p < PARTITIONS; p++) {
                want += per - committed.getOrDefault(new TopicPartition(topic(), p), 0L);
            }
            long got = 0;
            while (got < want) {
                assertTrue(System.nanoTime() < deadline, "timed out resuming: " + sizes(rest));
                for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(500))) {
                    firstOffset.putIfAbsent(r.partition(), r.offset());
                    rest.computeIfAbsent(r.partition(), k -> new ArrayList<>()).add(r.value());
                    got++;
                }
            }
            c.commitSync();
        }
        for (int p = 0; p < PARTITIONS; p++) {
            long at = committed.getOrDefault(new TopicPartition(topic(), p), 0L);
            List<String> whole = new ArrayList<>(before.getOrDefault(p, List.of()).subList(0, (int) at));
            whole.addAll(rest.getOrDefault(p, List.of()));
            if (at < per) {
                assertEquals(at, firstOffset.get(p), "partition " + p + " resumed at its committed offset");
            }
            assertEquals(expected(p, per), whole,
                "partition " + p + ": committed prefix + resumed records = every record once");
        }
    }

    private static Map<TopicPartition, Long> offsets(Admin admin, String group) throws Exception {
        Map<TopicPartition, OffsetAndMetadata> m = admin.listConsumerGroupOffsets(group)
            .partitionsToOffsetAndMetadata().get(10, TimeUnit.SECONDS);
        Map<TopicPartition, Long> out = new HashMap<>();
        m.forEach((tp, o) -> {
            if (o != null) {
                out.put(tp, o.offset());
            }
        });
        return out;
    }

    /**
     * After the restarts some partitions are not led by their preferred replica (the first
     * replica): {@code electLeaders(PREFERRED)} moves leadership back to it, and answers
     * ElectionNotNeeded for the partitions it already led.
     */
    @Test
    void electPreferred() throws Exception {
        try (Admin admin = admin()) {
            await("ISR 3 on every partition", LONG, () -> fullIsr(admin));
            Map<Integer, TopicPartitionInfo> parts = describe(admin);
            Set<TopicPartition> all = new HashSet<>();
            Set<TopicPartition> moved = new HashSet<>();
            for (TopicPartitionInfo p : parts.values()) {
                TopicPartition tp = new TopicPartition(topic(), p.partition());
                all.add(tp);
                if (p.leader().id() != p.replicas().get(0).id()) {
                    moved.add(tp);
                }
            }
            assertFalse(moved.isEmpty(), "a restart left a partition off its preferred leader: " + parts);
            Map<TopicPartition, Optional<Throwable>> res = admin.electLeaders(ElectionType.PREFERRED, all)
                .partitions().get(30, TimeUnit.SECONDS);
            assertEquals(all, res.keySet());
            for (TopicPartition tp : all) {
                if (moved.contains(tp)) {
                    assertTrue(res.get(tp).isEmpty(), tp + " elected: " + res.get(tp));
                } else {
                    assertInstanceOf(ElectionNotNeededException.class, res.get(tp).orElse(null),
                        tp + " already led by its preferred replica");
                }
            }
            await("every partition led by its preferred replica", LONG, () -> describe(admin).values()
                .stream().allMatch(p -> p.leader() != null && p.leader().id() == p.replicas().get(0).id()));
            // All partitions (null): ours need nothing now, so they are not in the answer.
            Map<TopicPartition, Optional<Throwable>> again = admin.electLeaders(ElectionType.PREFERRED, null)
                .partitions().get(30, TimeUnit.SECONDS);
            for (TopicPartition tp : all) {
                assertNull(again.get(tp), tp + " needs no election and is left out: " + again);
            }
        }
    }
}
