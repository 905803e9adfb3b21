package io.memorystreamer.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.io.InputStream;
import java.util.Properties;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.junit.jupiter.api.Test;

/** The client on the classpath is the pinned one (needs no broker: setup.sh runs it). */
class ClientVersionTest {
    @Test
    void pinnedClientVersionIsOnTheClasspath() throws Exception {
        // kafka-clients' own version file (AppInfoParser moved packages in 4.x).
        Properties p = new Properties();
        try (InputStream in =
            KafkaProducer.class.getResourceAsStream("/kafka/kafka-version.properties")) {
            assertNotNull(in, "kafka/kafka-version.properties missing from kafka-clients");
            p.load(in);
        }
        assertEquals(System.getProperty("expected.kafka.version"), p.getProperty("version"));
    }
}
