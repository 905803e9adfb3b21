package io.memorystreamer.compat;

import static io.memorystreamer.compat.Judge.WAIT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialAlteration;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.config.SaslConfigs;
import org.apache.kafka.common.config.SslConfigs;
import org.apache.kafka.common.errors.GroupAuthorizationException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

/**
 * The Java client over secured listeners (issue 16). Not part of the plain single-broker run
 * (the class name does not match surefire's patterns): {@code compat-tests/tests/security_clients.rs}
 * starts a broker with SASL_SSL (SCRAM), SSL (mTLS), SASL_PLAINTEXT (OAUTHBEARER) and PLAINTEXT
 * listeners and the authorizer on, then runs {@code -Dtest=SecurityScenario#<step>}.
 *
 * <p>Set-up (SCRAM credentials, topics, ACLs) goes through the Admin on the PLAINTEXT listener,
 * where User:ANONYMOUS is a super user; every other client talks only to its own listener.
 *
 * <p>Properties: {@code -Dadmin}, {@code -Dscram}, {@code -Doauth}, {@code -Dmtls} (listener
 * addresses), {@code -Dca} (PEM CA), {@code -Dcert} / {@code -Dkey} (PEM client certificate and
 * key), {@code -DmtlsPrincipal}, {@code -Dtoken} (a file holding a signed JWT),
 * {@code -DoauthUser} (its {@code sub}), {@code -Dtopic} (a prefix).
 */
class SecurityScenario {
    static final int RECORDS = 5;
    static final String SCRAM_USER = "scram-user";
    static final String SCRAM_PASSWORD = "scram-secret";

    private static String required(String key) {
        String v = System.getProperty(key);
        if (v == null || v.isBlank()) {
            throw new IllegalStateException("missing -D" + key + " (run by security_clients.rs)");
        }
        return v;
    }

    private static Admin admin() {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, required("admin"));
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 15000);
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 30000);
        return Admin.create(p);
    }

    /** SCRAM over TLS, the broker's certificate checked against the test CA (host name too). */
    private static Properties scram(String mechanism, String user, String password) {
        Properties p = new Properties();
        p.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, required("scram"));
        p.put(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, "SASL_SSL");
        p.put(SaslConfigs.SASL_MECHANISM, mechanism);
        p.put(SaslConfigs.SASL_JAAS_CONFIG, "org.apache.kafka.common.security.scram.ScramLoginModule "
            + "required username=\"" + user + "\" password=\"" + password + "\";");
        p.put(SslConfigs.SSL_TRUSTSTORE_TYPE_CONFIG, "PEM");
        p.put(SslConfigs.SSL_TRUSTSTORE_LOCATION_CONFIG, required("ca"));
        return p;
    }

    /**
     * OAUTHBEARER with Kafka's login callback handler reading the token from a file URL (its
     * FileJwtRetriever / FileTokenRetriever). Kafka 4 clients refuse any token endpoint URL not
     * listed in the system property {@code org.apache.kafka.sasl.oauthbearer.allowed.urls}.
     */
    private static Properties oauth() {
        String url = Path.of(required("token")).toUri().toString();
        System.setProperty("org.apache.kafka.sasl.oauthbearer.allowed.urls", url);
        Properties p = new Properties();
        p.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, required("oauth"));
        p.put(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, "SASL_PLAINTEXT");
        p.put(SaslConfigs.SASL_MECHANISM, "OAUTHBEARER");
        p.put(SaslConfigs.SASL_JAAS_CONFIG,
            "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required ;");
        p.put(SaslConfigs.SASL_LOGIN_CALLBACK_HANDLER_CLASS,
            "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler");
        p.put(SaslConfigs.SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL, url);
        return p;
    }

    /**
     * TLS with a client certificate. The key and chain are given inline
     * ({@code ssl.keystore.key}, {@code ssl.keystore.certificate.chain}): a PEM keystore file
     * must hold both, and the fixtures keep them in two files.
     */
    private static Properties mtls() throws Exception {
        Properties p = new Properties();
        p.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, required("mtls"));
        p.put(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, "SSL");
        p.put(SslConfigs.SSL_TRUSTSTORE_TYPE_CONFIG, "PEM");
        p.put(SslConfigs.SSL_TRUSTSTORE_LOCATION_CONFIG, required("ca"));
        p.put(SslConfigs.SSL_KEYSTORE_TYPE_CONFIG, "PEM");
        p.put(SslConfigs.SSL_KEYSTORE_CERTIFICATE_CHAIN_CONFIG, Files.readString(Path.of(required("cert"))));
        p.put(SslConfigs.SSL_KEYSTORE_KEY_CONFIG, Files.readString(Path.of(required("key"))));
        return p;
    }

    private static KafkaProducer<String, String> producer(Properties security) {
        Properties p = new Properties();
        p.putAll(security);
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 30000);
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 15000);
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 30000);
        return new KafkaProducer<>(p);
    }

    private static KafkaConsumer<String, String> consumer(Properties security, String group) {
        Properties p = new Properties();
        p.putAll(security);
        p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.REQUEST_TIMEOUT_MS_CONFIG, 15000);
        p.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 30000);
        return new KafkaConsumer<>(p);
    }

    private static AclBinding allow(ResourceType type, String name, String principal, AclOperation op) {
        return new AclBinding(new ResourcePattern(type, name, PatternType.LITERAL),
            new AccessControlEntry(principal, "*", op, AclPermissionType.ALLOW));
    }

    /**
     * SCRAM credentials for {@code users}, one request per mechanism: as Kafka, the broker refuses
     * a request altering one user twice (DUPLICATE_RESOURCE).
     */
    private static void scramUsers(Admin admin, String password, List<String> users,
        List<ScramMechanism> mechanisms) throws Exception {
        for (ScramMechanism m : mechanisms) {
            List<UserScramCredentialAlteration> upserts = new ArrayList<>();
            for (String user : users) {
                upserts.add(new UserScramCredentialUpsertion(user, new ScramCredentialInfo(m, 4096), password));
            }
            admin.alterUserScramCredentials(upserts).all().get(30, TimeUnit.SECONDS);
        }
    }

    private static void createTopics(Admin admin, List<String> names) throws Exception {
        List<NewTopic> topics = new ArrayList<>();
        for (String n : names) {
            topics.add(new NewTopic(n, 1, (short) 1));
        }
        admin.createTopics(topics).all().get(30, TimeUnit.SECONDS);
    }

    private static List<String> values(String prefix) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < RECORDS; i++) {
            out.add(prefix + "-" + i);
        }
        return out;
    }

    /** Produces {@code values}, each acknowledged; then a group reads them back in order. */
    private static void roundTrip(String how, Properties security, String topic, String group)
        throws Exception {
        List<String> sent = values(how);
        try (KafkaProducer<String, String> p = producer(security)) {
            List<Future<RecordMetadata>> acks = new ArrayList<>();
            for (String v : sent) {
                acks.add(p.send(new ProducerRecord<>(topic, v)));
            }
            for (Future<RecordMetadata> a : acks) {
                a.get(WAIT.toSeconds(), TimeUnit.SECONDS);
            }
        }
        try (KafkaConsumer<String, String> c = consumer(security, group)) {
            c.subscribe(List.of(topic));
            List<String> got = new ArrayList<>();
            for (ConsumerRecord<String, String> r : Judge.pollN(c, RECORDS)) {
                got.add(r.value());
            }
            assertEquals(sent, got, how + ": the records read back");
            c.commitSync(WAIT);
        }
    }

    @Test
    void roundTrips() throws Exception {
        String prefix = required("topic");
        String oauthPrincipal = "User:" + required("oauthUser");
        String mtlsPrincipal = required("mtlsPrincipal");
        String scramPrincipal = "User:" + SCRAM_USER;
        String[][] ways = {
            {"scram-sha-512", scramPrincipal},
            {"scram-sha-256", scramPrincipal},
            {"oauthbearer", oauthPrincipal},
            {"mtls", mtlsPrincipal},
        };
        String run = UUID.randomUUID().toString().substring(0, 8);
        try (Admin admin = admin()) {
            scramUsers(admin, SCRAM_PASSWORD, List.of(SCRAM_USER),
                List.of(ScramMechanism.SCRAM_SHA_512, ScramMechanism.SCRAM_SHA_256));
            List<String> topics = new ArrayList<>();
            List<AclBinding> acls = new ArrayList<>();
            for (String[] way : ways) {
                String topic = prefix + "-" + way[0];
                topics.add(topic);
                acls.add(allow(ResourceType.TOPIC, topic, way[1], AclOperation.WRITE));
                acls.add(allow(ResourceType.TOPIC, topic, way[1], AclOperation.READ));
                acls.add(allow(ResourceType.GROUP, "g-" + way[0] + "-" + run, way[1], AclOperation.READ));
            }
            createTopics(admin, topics);
            admin.createAcls(acls).all().get(30, TimeUnit.SECONDS);
        }
        for (String[] way : ways) {
            Properties security = switch (way[0]) {
                case "scram-sha-512" -> scram("SCRAM-SHA-512", SCRAM_USER, SCRAM_PASSWORD);
                case "scram-sha-256" -> scram("SCRAM-SHA-256", SCRAM_USER, SCRAM_PASSWORD);
                case "oauthbearer" -> oauth();
                default -> mtls();
            };
            roundTrip(way[0], security, prefix + "-" + way[0], "g-" + way[0] + "-" + run);
            System.out.println(way[0] + ": " + RECORDS + " records back as " + way[1]);
        }
    }

    @Test
    void acls() throws Exception {
        String topic = required("topic") + "-acl";
        String group = "g-acl-" + UUID.randomUUID().toString().substring(0, 8);
        String password = "acl-secret";
        try (Admin admin = admin()) {
            scramUsers(admin, password, List.of("nobody", "writer", "reader"),
                List.of(ScramMechanism.SCRAM_SHA_512));
            createTopics(admin, List.of(topic));
            admin.createAcls(List.of(
                allow(ResourceType.TOPIC, topic, "User:writer", AclOperation.WRITE),
                allow(ResourceType.TOPIC, topic, "User:reader", AclOperation.READ)))
                .all().get(30, TimeUnit.SECONDS);

            // Without idempotence, so the refusal is the topic's (an idempotent producer
            // without any WRITE is also refused IDEMPOTENT_WRITE on the cluster).
            Properties nobody = scram("SCRAM-SHA-512", "nobody", password);
            nobody.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, false);
            try (KafkaProducer<String, String> p = producer(nobody)) {
                ExecutionException e = assertThrows(ExecutionException.class,
                    () -> p.send(new ProducerRecord<>(topic, "v")).get(WAIT.toSeconds(), TimeUnit.SECONDS));
                assertInstanceOf(TopicAuthorizationException.class, e.getCause(), "produce without WRITE");
            }
            // Idempotent (the default): WRITE on the topic implies IDEMPOTENT_WRITE.
            try (KafkaProducer<String, String> p = producer(scram("SCRAM-SHA-512", "writer", password))) {
                p.send(new ProducerRecord<>(topic, "v")).get(WAIT.toSeconds(), TimeUnit.SECONDS);
            }
            Properties reader = scram("SCRAM-SHA-512", "reader", password);
            try (KafkaConsumer<String, String> c = consumer(reader, group)) {
                c.subscribe(List.of(topic));
                assertThrows(GroupAuthorizationException.class, () -> {
                    long deadline = System.nanoTime() + WAIT.toNanos();
                    while (System.nanoTime() < deadline) {
                        c.poll(Duration.ofMillis(200));
                    }
                }, "a group without READ");
            }
            admin.createAcls(List.of(allow(ResourceType.GROUP, group, "User:reader", AclOperation.READ)))
                .all().get(30, TimeUnit.SECONDS);
            try (KafkaConsumer<String, String> c = consumer(reader, group)) {
                c.subscribe(List.of(topic));
                assertEquals("v", Judge.pollN(c, 1).get(0).value(), "the record, once READ on the group");
            }
        }
        System.out.println("acls: refused without WRITE and without READ on the group, allowed with them");
    }
}
