package io.memorystreamer.compat;

import static io.memorystreamer.compat.Judge.WAIT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.TransactionDescription;
import org.apache.kafka.clients.admin.TransactionListing;
import org.apache.kafka.clients.admin.TransactionState;
import org.apache.kafka.clients.admin.ListConsumerGroupOffsetsOptions;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

/**
 * Transactions: read_committed consumers see committed records and never aborted ones (and
 * stop at the last stable offset while a transaction is open); consume-transform-produce
 * with sendOffsetsToTransaction commits the group's offsets exactly with the transaction.
 */
class TransactionsTest {
    private static KafkaProducer<String, String> transactional(String id) {
        Properties p = Judge.producerProps();
        p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, id);
        p.put(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, 30000);
        KafkaProducer<String, String> producer = new KafkaProducer<>(p);
        producer.initTransactions();
        return producer;
    }

    private static KafkaConsumer<String, String> reader(String isolation, String group) {
        Properties p = Judge.consumerProps(group);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation);
        return new KafkaConsumer<>(p);
    }

    /** Reads {@code tps} from the beginning up to the consumer's end offsets (HW or LSO). */
    private static List<String> readAll(String isolation, List<TopicPartition> tps) {
        try (KafkaConsumer<String, String> c = reader(isolation, null)) {
            c.assign(tps);
            c.seekToBeginning(tps);
            Map<TopicPartition, Long> ends = c.endOffsets(tps);
            List<String> out = new ArrayList<>();
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (tps.stream().anyMatch(tp -> c.position(tp) < ends.get(tp))) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("did not reach " + ends + " in " + WAIT + ": " + out);
                }
                for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(100))) {
                    out.add(r.partition() + ":" + r.value());
                }
            }
            return out;
        }
    }

    private static void send(KafkaProducer<String, String> p, String topic, String tag, int n) {
        for (int i = 0; i < n; i++) {
            p.send(new ProducerRecord<>(topic, i % 2, "k" + i, tag + "-" + i));
        }
    }

    private static List<String> expected(String tag, int n) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add((i % 2) + ":" + tag + "-" + i);
        }
        return out;
    }

    private static List<String> sorted(List<String> l) {
        // Per-partition order is what Kafka promises: group by partition, keep order within.
        return l.stream().sorted((a, b) -> a.substring(0, 1).compareTo(b.substring(0, 1)))
            .collect(Collectors.toList());
    }

    @Test
    void readCommittedSeesCommittedNeverAborted() throws Exception {
        String topic = Judge.unique("txn-rc");
        try (Admin admin = Judge.admin()) {
            Judge.createTopic(admin, topic, 2);
        }
        List<TopicPartition> tps = List.of(new TopicPartition(topic, 0), new TopicPartition(topic, 1));
        try (KafkaProducer<String, String> p = transactional(Judge.unique("tx-rc"))) {
            p.beginTransaction();
            send(p, topic, "committed1", 10);
            p.commitTransaction();
            p.beginTransaction();
            send(p, topic, "aborted", 10);
            p.flush();
            p.abortTransaction();
            p.beginTransaction();
            send(p, topic, "committed2", 10);
            p.commitTransaction();

            List<String> want = new ArrayList<>(expected("committed1", 10));
            want.addAll(expected("committed2", 10));
            assertEquals(sorted(want), sorted(readAll("read_committed", tps)));

            List<String> all = new ArrayList<>(expected("committed1", 10));
            all.addAll(expected("aborted", 10));
            all.addAll(expected("committed2", 10));
            assertEquals(sorted(all), sorted(readAll("read_uncommitted", tps)));

            // An open transaction holds read_committed readers at the last stable offset.
            p.beginTransaction();
            send(p, topic, "open", 4);
            p.flush();
            try (KafkaConsumer<String, String> rc = reader("read_committed", null);
                 KafkaConsumer<String, String> ru = reader("read_uncommitted", null)) {
                Map<TopicPartition, Long> lso = rc.endOffsets(tps);
                Map<TopicPartition, Long> hw = ru.endOffsets(tps);
                for (TopicPartition tp : tps) {
                    // 15 records and 3 markers before the open transaction's first record.
                    assertEquals(18L, lso.get(tp), "LSO of " + tp);
                    assertEquals(20L, hw.get(tp), "high watermark of " + tp);
                }
            }
            assertEquals(sorted(want), sorted(readAll("read_committed", tps)));
            p.commitTransaction();
            want.addAll(expected("open", 4));
            assertEquals(sorted(want), sorted(readAll("read_committed", tps)));
            try (KafkaConsumer<String, String> rc = reader("read_committed", null)) {
                for (Map.Entry<TopicPartition, Long> e : rc.endOffsets(tps).entrySet()) {
                    assertEquals(21L, e.getValue(), "LSO after commit of " + e.getKey());
                }
            }
        }
    }

    /**
     * One consume-transform-produce transaction over what one poll returns; commits or aborts.
     * Returns the input offset the transaction's sendOffsetsToTransaction carried.
     */
    private static long transform(KafkaConsumer<String, String> in, KafkaProducer<String, String> p,
        String output, TopicPartition tp, boolean commit) {
        ConsumerRecords<String, String> batch = ConsumerRecords.empty();
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (batch.isEmpty()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("no input within " + WAIT);
            }
            batch = in.poll(Duration.ofMillis(200));
        }
        p.beginTransaction();
        long next = -1;
        for (ConsumerRecord<String, String> r : batch) {
            p.send(new ProducerRecord<>(output, 0, r.key(), r.value().toUpperCase()));
            next = r.offset() + 1;
        }
        p.sendOffsetsToTransaction(Map.of(tp, new OffsetAndMetadata(next)), in.groupMetadata());
        if (commit) {
            p.commitTransaction();
        } else {
            p.abortTransaction();
        }
        return next;
    }

    /**
     * The group's committed offset, asked with require_stable: Kafka writes the transaction's
     * markers after EndTxn returns, and answers UNSTABLE_OFFSET_COMMIT (the admin retries)
     * while a transactional offset commit is pending, so this is the settled value.
     */
    private static Long committed(Admin admin, String group, TopicPartition tp) {
        // 3.9's admin drops a partition answered UNSTABLE_OFFSET_COMMIT instead of retrying
        // (seen against Kafka 4.1): ask again until the partition has an answer.
        AtomicReference<OffsetAndMetadata> o = new AtomicReference<>();
        Judge.await("a settled committed offset of " + group, () -> {
            try {
                o.set(admin.listConsumerGroupOffsets(group,
                        new ListConsumerGroupOffsetsOptions().requireStable(true))
                    .partitionsToOffsetAndMetadata()
                    .get(WAIT.toSeconds(), TimeUnit.SECONDS).get(tp));
            } catch (Exception e) {
                throw new AssertionError(e);
            }
            return o.get() != null;
        });
        return o.get().offset();
    }

    @Test
    void sendOffsetsToTransactionCommitsWithTheTransaction() throws Exception {
        String input = Judge.unique("ctp-in");
        String output = Judge.unique("ctp-out");
        String group = Judge.unique("g-ctp");
        TopicPartition in = new TopicPartition(input, 0);
        TopicPartition out = new TopicPartition(output, 0);
        final int n = 20;
        try (Admin admin = Judge.admin()) {
            Judge.createTopic(admin, input, 1);
            Judge.createTopic(admin, output, 1);
            try (KafkaProducer<String, String> p = new KafkaProducer<>(Judge.producerProps())) {
                for (int i = 0; i < n; i++) {
                    p.send(new ProducerRecord<>(input, 0, "k" + i, "record-" + i));
                }
                p.flush();
            }

            Properties cp = Judge.consumerProps(group);
            cp.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
            cp.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 7);
            try (KafkaConsumer<String, String> c = new KafkaConsumer<>(cp);
                 KafkaProducer<String, String> p = transactional(Judge.unique("tx-ctp"))) {
                c.subscribe(List.of(input));

                long first = transform(c, p, output, in, true);
                assertTrue(first > 0 && first <= 7, "first batch ends at " + first);
                assertEquals(first, committed(admin, group, in), "committed with the transaction");

                long aborted = transform(c, p, output, in, false);
                assertTrue(aborted > first, "second batch ends at " + aborted);
                assertEquals(first, committed(admin, group, in), "an aborted transaction commits nothing");
                List<String> outSoFar = readAll("read_committed", List.of(out));
                assertEquals((int) first, outSoFar.size(), "output after the abort: " + outSoFar);

                // Resume from the committed offset, as an application does after an abort.
                c.seek(in, first);
                long done = first;
                while (done < n) {
                    done = transform(c, p, output, in, true);
                    assertEquals(done, committed(admin, group, in));
                }
                assertEquals(n, done);
            }
            List<String> want = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                want.add("0:RECORD-" + i);
            }
            assertEquals(want, readAll("read_committed", List.of(out)));
            assertEquals(Long.valueOf(n), committed(admin, group, in));
        }
    }

    @Test
    void transactionsSeenByTheAdmin() throws Exception {
        String topic = Judge.unique("txn-admin");
        String id = Judge.unique("tx-admin");
        TopicPartition tp = new TopicPartition(topic, 0);
        try (Admin admin = Judge.admin()) {
            Judge.createTopic(admin, topic, 1);
            KafkaProducer<String, String> p = transactional(id);
            try {
                p.beginTransaction();
                p.send(new ProducerRecord<>(topic, 0, "k", "v")).get(WAIT.toSeconds(), TimeUnit.SECONDS);

                TransactionListing listed = admin.listTransactions().all()
                    .get(WAIT.toSeconds(), TimeUnit.SECONDS).stream()
                    .filter(l -> l.transactionalId().equals(id)).findFirst().orElseThrow();
                assertEquals(TransactionState.ONGOING, listed.state());
                TransactionDescription d = admin.describeTransactions(List.of(id)).all()
                    .get(WAIT.toSeconds(), TimeUnit.SECONDS).get(id);
                assertEquals(TransactionState.ONGOING, d.state());
                assertEquals(1, d.coordinatorId());
                assertEquals(30000, d.transactionTimeoutMs());
                assertEquals(Set.of(tp), d.topicPartitions());
                var producers = admin.describeProducers(List.of(tp)).all()
                    .get(WAIT.toSeconds(), TimeUnit.SECONDS).get(tp).activeProducers();
                assertEquals(1, producers.size());
                assertEquals(listed.producerId(), producers.get(0).producerId());
                assertEquals(java.util.OptionalLong.of(0), producers.get(0).currentTransactionStartOffset());

                // Fencing aborts the open transaction; the old producer can no longer commit.
                admin.fenceProducers(List.of(id)).all().get(WAIT.toSeconds(), TimeUnit.SECONDS);
                Throwable fenced = org.junit.jupiter.api.Assertions.assertThrows(
                    org.apache.kafka.common.KafkaException.class, p::commitTransaction);
                assertTrue(fenced instanceof org.apache.kafka.common.errors.ProducerFencedException
                        || fenced.getCause() instanceof org.apache.kafka.common.errors.ProducerFencedException,
                    "expected ProducerFencedException, got " + fenced);
            } finally {
                p.close(Duration.ZERO);
            }
            Judge.await("the fenced transaction to end", () -> {
                try {
                    return admin.describeTransactions(List.of(id)).all()
                        .get(WAIT.toSeconds(), TimeUnit.SECONDS).get(id).state() == TransactionState.EMPTY;
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
            });
            assertEquals(List.of(), readAll("read_committed", List.of(tp)));
        }
    }
}
