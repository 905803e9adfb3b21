package io.memorystreamer.compat;

import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Properties;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.UnsupportedVersionException;
import org.junit.jupiter.api.Test;

/**
 * group.protocol=consumer (KIP-848) is not built yet: the broker does not offer
 * ConsumerGroupHeartbeat in ApiVersions (as Kafka with
 * group.coordinator.rebalance.protocols=classic), so the Java consumer must fail at once with
 * an UnsupportedVersionException naming the protocol, never hang.
 */
class ConsumerGroupProtocolTest {
    @Test
    void kip848ConsumerFailsClearly() throws Exception {
        String topic = Judge.unique("kip848");
        try (Admin admin = Judge.admin()) {
            Judge.createTopic(admin, topic, 1);
        }
        Properties p = Judge.consumerProps(Judge.unique("g-kip848"));
        p.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, "consumer");
        KafkaException e = assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
            try (KafkaConsumer<String, String> c = new KafkaConsumer<>(p)) {
                c.subscribe(List.of(topic));
                return assertThrows(KafkaException.class, () -> {
                    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
                    while (System.nanoTime() < deadline) {
                        c.poll(Duration.ofMillis(200));
                    }
                }, "poll with group.protocol=consumer kept running without an error");
            }
        });
        UnsupportedVersionException u = assertInstanceOf(UnsupportedVersionException.class, e,
            "expected UnsupportedVersionException, got " + e);
        String msg = u.getMessage();
        System.out.println("group.protocol=consumer fails with: " + u);
        // 4.x: "The cluster does not support the new CONSUMER group protocol. Set
        // group.protocol=classic ..."; 3.9: "The node does not support CONSUMER_GROUP_HEARTBEAT".
        assertTrue(msg.contains("CONSUMER"), "the error names the group protocol: " + msg);
    }
}
