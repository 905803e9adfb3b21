package io.memorystreamer.compat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * What every judge shares: the broker's address (from {@code -Dbootstrap}), unique names,
 * client configurations and bounded waits. Tests share one broker, so every topic, group and
 * transactional id is unique per test.
 */
final class Judge {
    /** Upper bound of any single wait in these tests. */
    static final Duration WAIT = Duration.ofSeconds(30);

    private Judge() {}

    /** The broker under test; fails with instructions when {@code -Dbootstrap} is missing. */
    static String bootstrap() {
        String b = System.getProperty("bootstrap");
        if (b == null || b.isBlank()) {
            throw new IllegalStateException(
                "no broker address: pass -Dbootstrap=HOST:PORT of a running MemoryStreamer broker "
                    + "(the driver test starts one: cargo test --release -p memorystreamer-compat-tests "
                    + "--test java_clients)");
        }
        return b;
    }

    /** Major version of the kafka-clients on the classpath (from its version file). */
    static int clientMajor() {
        java.util.Properties p = new java.util.Properties();
        try (java.io.InputStream in = org.apache.kafka.clients.producer.KafkaProducer.class
            .getResourceAsStream("/kafka/kafka-version.properties")) {
            p.load(in);
        } catch (java.io.IOException | NullPointerException e) {
            throw new AssertionError("kafka-clients has no readable kafka/kafka-version.properties", e);
        }
        return Integer.parseInt(p.getProperty("version").split("\\.")[0]);
    }

    /** {@code prefix-<8 hex>}. */
    static String unique(String prefix) {
        return prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
    }

    static Admin admin() {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap());
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 15000);
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 30000);
        return Admin.create(p);
    }

    /** The default producer (idempotent, acks=all) with string serdes. */
    static Properties producerProps() {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap());
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 30000);
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 15000);
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 30000);
        return p;
    }

    /** A consumer with string serdes, reading from the beginning, no auto commit. */
    static Properties consumerProps(String group) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap());
        if (group != null) {
            p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        }
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.REQUEST_TIMEOUT_MS_CONFIG, 15000);
        p.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 30000);
        return p;
    }

    /** Creates topics with one replica each and waits for the answer. */
    static void createTopic(Admin admin, String name, int partitions, Map<String, String> configs)
        throws Exception {
        NewTopic t = new NewTopic(name, partitions, (short) 1);
        if (configs != null) {
            t.configs(configs);
        }
        admin.createTopics(List.of(t)).all().get(30, TimeUnit.SECONDS);
        // Kafka answers CreateTopics before every broker knows the topic; wait until it is
        // described, as a Kafka user must.
        await("topic " + name + " to be described", () -> {
            try {
                admin.describeConfigs(List.of(new ConfigResource(ConfigResource.Type.TOPIC, name)))
                    .all().get(30, TimeUnit.SECONDS);
                return admin.describeTopics(List.of(name)).allTopicNames().get(30, TimeUnit.SECONDS)
                    .get(name).partitions().size() == partitions;
            } catch (java.util.concurrent.ExecutionException e) {
                return false;
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        });
    }

    static void createTopic(Admin admin, String name, int partitions) throws Exception {
        createTopic(admin, name, partitions, null);
    }

    /** Polls until {@code done} holds or {@link #WAIT} passes; fails with {@code what}. */
    static void await(String what, BooleanSupplier done) {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + WAIT + " waiting for " + what);
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted waiting for " + what, e);
            }
        }
    }

    /**
     * Polls an assigned consumer until it has read {@code n} records (fails after {@link #WAIT}
     * with what it had); returns them in the order read.
     */
    static <K, V> List<ConsumerRecord<K, V>> pollN(KafkaConsumer<K, V> c, int n) {
        List<ConsumerRecord<K, V>> out = new ArrayList<>();
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (out.size() < n) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("read " + out.size() + " of " + n + " records in " + WAIT);
            }
            for (ConsumerRecord<K, V> r : c.poll(Duration.ofMillis(200))) {
                out.add(r);
            }
        }
        return out;
    }
}
