package io.memorystreamer.compat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.RebalanceInProgressException;

/**
 * A group member on its own thread: subscribes, polls until stopped, and records every
 * record it reads and every rebalance callback its listener sees. The consumer is used only
 * on that thread; the test reads the recorded state.
 */
final class Member implements AutoCloseable {
    /** One listener callback: "revoked", "assigned" or "lost" with its partitions. */
    record Event(String kind, Set<Integer> partitions) {}

    final String name;
    final ConcurrentLinkedQueue<ConsumerRecord<String, String>> records = new ConcurrentLinkedQueue<>();
    final List<Event> events = new CopyOnWriteArrayList<>();
    /** The partitions owned now (after the last callback). */
    final AtomicReference<Set<Integer>> owned = new AtomicReference<>(Set.of());
    /** The group generation seen by the last poll. */
    final AtomicInteger generation = new AtomicInteger(-1);
    /** Number of polls completed (a heartbeat clock for the test). */
    final AtomicInteger polls = new AtomicInteger();
    final AtomicReference<Throwable> failure = new AtomicReference<>();
    private final Thread thread;
    private volatile boolean stop;

    Member(String name, String topic, Properties props) {
        this.name = name;
        this.thread = new Thread(() -> run(topic, props), "member-" + name);
        this.thread.setDaemon(true);
        this.thread.start();
    }

    private void run(String topic, Properties props) {
        try (KafkaConsumer<String, String> c = new KafkaConsumer<>(props)) {
            c.subscribe(List.of(topic), new ConsumerRebalanceListener() {
                @Override
                public void onPartitionsRevoked(Collection<TopicPartition> ps) {
                    events.add(new Event("revoked", ids(ps)));
                    Set<Integer> now = new HashSet<>(owned.get());
                    now.removeAll(ids(ps));
                    owned.set(Set.copyOf(now));
                }

                @Override
                public void onPartitionsAssigned(Collection<TopicPartition> ps) {
                    events.add(new Event("assigned", ids(ps)));
                    Set<Integer> now = new HashSet<>(owned.get());
                    now.addAll(ids(ps));
                    owned.set(Set.copyOf(now));
                }

                @Override
                public void onPartitionsLost(Collection<TopicPartition> ps) {
                    events.add(new Event("lost", ids(ps)));
                    owned.set(Set.of());
                }
            });
            while (!stop) {
                for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(100))) {
                    records.add(r);
                }
                if (!c.assignment().isEmpty()) {
                    try {
                        c.commitSync();
                    } catch (RebalanceInProgressException e) {
                        // Cooperative rebalances refuse commits until the next poll completes
                        // them (as on Kafka); the next loop commits.
                    }
                }
                generation.set(c.groupMetadata().generationId());
                polls.incrementAndGet();
            }
        } catch (Throwable t) {
            failure.set(t);
        }
    }

    private static Set<Integer> ids(Collection<TopicPartition> ps) {
        Set<Integer> out = new HashSet<>();
        for (TopicPartition p : ps) {
            out.add(p.partition());
        }
        return Set.copyOf(out);
    }

    /** Records read so far, as "partition/offset/value". */
    List<String> read() {
        List<String> out = new ArrayList<>();
        for (ConsumerRecord<String, String> r : records) {
            out.add(r.partition() + "/" + r.offset() + "/" + r.value());
        }
        return out;
    }

    /** Fails the test with this member's error, if its thread hit one. */
    void check() {
        Throwable t = failure.get();
        if (t != null) {
            throw new AssertionError("member " + name + " failed", t);
        }
    }

    /** Waits (bounded) for {@code n} more completed polls: at least that many heartbeat chances. */
    void awaitPolls(int n) {
        int target = polls.get() + n;
        Judge.await("member " + name + " to poll " + n + " more times", () -> {
            check();
            return polls.get() >= target;
        });
    }

    /** Stops polling and closes the consumer (a static member sends no LeaveGroup). */
    @Override
    public void close() {
        stop = true;
        try {
            thread.join(Judge.WAIT.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (thread.isAlive()) {
            throw new AssertionError("member " + name + " did not close within " + Judge.WAIT);
        }
    }
}
