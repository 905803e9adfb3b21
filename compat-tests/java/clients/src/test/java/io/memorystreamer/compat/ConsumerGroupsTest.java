package io.memorystreamer.compat;

import static io.memorystreamer.compat.Judge.WAIT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.CooperativeStickyAssignor;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.RangeAssignor;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

/**
 * Classic consumer groups: two members share four partitions under the range (eager) and
 * cooperative-sticky (incremental) assignors and read every record exactly once; a static
 * member (group.instance.id) restarting inside session.timeout.ms causes no rebalance.
 */
class ConsumerGroupsTest {
    private static final int PARTITIONS = 4;

    private static Properties memberProps(String group, String assignor) {
        Properties p = Judge.consumerProps(group);
        p.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, assignor);
        p.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, 10000);
        p.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, 300);
        p.put(ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG, 30000);
        return p;
    }

    /** Sends {@code perPartition} records to every partition; returns "partition/offset/value". */
    private static Set<String> produce(String topic, int perPartition, String tag) throws Exception {
        Set<String> out = new TreeSet<>();
        try (KafkaProducer<String, String> p = new KafkaProducer<>(Judge.producerProps())) {
            for (int part = 0; part < PARTITIONS; part++) {
                for (int i = 0; i < perPartition; i++) {
                    String v = tag + "-" + part + "-" + i;
                    var m = p.send(new ProducerRecord<>(topic, part, "k" + i, v))
                        .get(WAIT.toSeconds(), TimeUnit.SECONDS);
                    out.add(m.partition() + "/" + m.offset() + "/" + v);
                }
            }
        }
        return out;
    }

    private static String topic(String prefix) throws Exception {
        String topic = Judge.unique(prefix);
        try (Admin admin = Judge.admin()) {
            Judge.createTopic(admin, topic, PARTITIONS);
        }
        return topic;
    }

    private static void awaitOwned(Member m, Set<Integer> expected) {
        Judge.await("member " + m.name + " to own " + expected + " (owns " + m.owned.get() + ")",
            () -> {
                m.check();
                return m.owned.get().equals(expected);
            });
    }

    private static void awaitSplit(Member a, Member b) {
        Judge.await("two members to own two partitions each (" + a.owned.get() + ", "
            + b.owned.get() + ")", () -> {
                a.check();
                b.check();
                Set<Integer> all = new HashSet<>(a.owned.get());
                all.addAll(b.owned.get());
                return a.owned.get().size() == 2 && b.owned.get().size() == 2 && all.size() == 4;
            });
    }

    /** Every record read exactly once, each by the member owning its partition. */
    private static void assertExactlyOnce(Set<String> expected, Member a, Member b) {
        Judge.await("both members to read " + expected.size() + " records", () -> {
            a.check();
            b.check();
            return a.records.size() + b.records.size() >= expected.size();
        });
        List<String> all = new ArrayList<>(a.read());
        all.addAll(b.read());
        assertEquals(expected.size(), all.size(), "duplicates: " + all);
        assertEquals(expected, new TreeSet<>(all));
        for (Member m : List.of(a, b)) {
            for (var r : m.records) {
                assertTrue(m.owned.get().contains(r.partition()),
                    m.name + " read partition " + r.partition() + " it does not own");
            }
        }
    }

    private static void assertCommitted(String group, String topic, int perPartition)
        throws Exception {
        try (Admin admin = Judge.admin()) {
            Judge.await("group " + group + " to commit every partition's end", () -> {
                try {
                    Map<TopicPartition, OffsetAndMetadata> c = admin.listConsumerGroupOffsets(group)
                        .partitionsToOffsetAndMetadata().get(WAIT.toSeconds(), TimeUnit.SECONDS);
                    for (int p = 0; p < PARTITIONS; p++) {
                        OffsetAndMetadata o = c.get(new TopicPartition(topic, p));
                        if (o == null || o.offset() != perPartition) {
                            return false;
                        }
                    }
                    return c.size() == PARTITIONS;
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
            });
        }
    }

    @Test
    void rangeAssignorSharesPartitionsEagerly() throws Exception {
        String topic = topic("range");
        String group = Judge.unique("g-range");
        Properties props = memberProps(group, RangeAssignor.class.getName());
        try (Member a = new Member("a", topic, props)) {
            awaitOwned(a, Set.of(0, 1, 2, 3));
            Member b = new Member("b", topic, props);
            Set<String> expected;
            try (b) {
                awaitSplit(a, b);
                // Eager: the first member gave everything back before the split.
                assertTrue(a.events.contains(new Member.Event("revoked", Set.of(0, 1, 2, 3))),
                    "a's callbacks: " + a.events);
                // Range over one topic: contiguous halves.
                Set<Set<Integer>> halves = Set.of(a.owned.get(), b.owned.get());
                assertEquals(Set.of(Set.of(0, 1), Set.of(2, 3)), halves);
                expected = produce(topic, 25, "range");
                assertExactlyOnce(expected, a, b);
                assertCommitted(group, topic, 25);
            }
            // b left (LeaveGroup): a takes every partition back and reads on from b's commits.
            awaitOwned(a, Set.of(0, 1, 2, 3));
            Set<String> later = produce(topic, 5, "after-leave");
            Judge.await("a to read the records sent after b left", () -> {
                a.check();
                return a.records.size() + b.records.size() >= expected.size() + later.size();
            });
            List<String> all = new ArrayList<>(a.read());
            all.addAll(b.read());
            Set<String> want = new TreeSet<>(expected);
            want.addAll(later);
            assertEquals(want.size(), all.size(), "duplicates after b left: " + all);
            assertEquals(want, new TreeSet<>(all));
            assertCommitted(group, topic, 30);
        }
    }

    @Test
    void cooperativeStickyMovesOnlyWhatChanges() throws Exception {
        String topic = topic("coop");
        String group = Judge.unique("g-coop");
        Properties props = memberProps(group, CooperativeStickyAssignor.class.getName());
        try (Member a = new Member("a", topic, props)) {
            awaitOwned(a, Set.of(0, 1, 2, 3));
            try (Member b = new Member("b", topic, props)) {
                awaitSplit(a, b);
                // Incremental: a revoked only the two partitions that moved to b, and b was
                // assigned exactly those.
                List<Member.Event> revokes = a.events.stream()
                    .filter(e -> e.kind().equals("revoked")).toList();
                assertEquals(1, revokes.size(), "a's callbacks: " + a.events);
                assertEquals(b.owned.get(), revokes.get(0).partitions());
                Set<String> expected = produce(topic, 25, "coop");
                assertExactlyOnce(expected, a, b);
                assertCommitted(group, topic, 25);
            }
        }
    }

    @Test
    void staticMemberRestartCausesNoRebalance() throws Exception {
        String topic = topic("static");
        String group = Judge.unique("g-static");
        Properties pa = memberProps(group, RangeAssignor.class.getName());
        pa.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, "instance-a");
        Properties pb = memberProps(group, RangeAssignor.class.getName());
        pb.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, "instance-b");

        try (Member a = new Member("a", topic, pa)) {
            awaitOwned(a, Set.of(0, 1, 2, 3));
            Set<Integer> bOwned;
            int generation;
            Set<String> first;
            try (Member b = new Member("b", topic, pb)) {
                awaitSplit(a, b);
                Judge.await("both members to see one generation", () ->
                    a.generation.get() > 0 && a.generation.get() == b.generation.get());
                generation = a.generation.get();
                bOwned = b.owned.get();
                first = produce(topic, 5, "before");
                assertExactlyOnce(first, a, b);
                // Closing a static member sends no LeaveGroup: the group keeps its slot.
            }
            int aEvents = a.events.size();

            try (Member b2 = new Member("b2", topic, pb)) {
                awaitOwned(b2, bOwned);
                Judge.await("the restarted member to report its generation",
                    () -> b2.generation.get() > 0);
                assertEquals(generation, b2.generation.get(),
                    "the restarted static member got a new generation: a rebalance happened");
                Set<String> second = produce(topic, 5, "after");
                Judge.await("both members to read the records sent after the restart", () -> {
                    a.check();
                    b2.check();
                    long n = a.records.stream().filter(r -> r.value().startsWith("after")).count()
                        + b2.records.size();
                    return n >= second.size();
                });
                // A rebalance would reach a within a few heartbeats: watch several more polls.
                a.awaitPolls(20);
                assertEquals(aEvents, a.events.size(),
                    "member a saw rebalance callbacks after the static restart: " + a.events);
                assertEquals(generation, a.generation.get());
                Set<String> afterRead = new TreeSet<>(b2.read());
                for (var r : a.records) {
                    if (r.value().startsWith("after")) {
                        afterRead.add(r.partition() + "/" + r.offset() + "/" + r.value());
                    }
                }
                assertEquals(second, afterRead);
            }
        }
    }
}
