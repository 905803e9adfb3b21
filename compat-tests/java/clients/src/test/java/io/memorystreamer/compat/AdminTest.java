package io.memorystreamer.compat;

import static io.memorystreamer.compat.Judge.WAIT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.CreateTopicsOptions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.ConsumerGroupListing;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.clients.admin.DescribeConfigsOptions;
import org.apache.kafka.clients.admin.ListOffsetsResult.ListOffsetsResultInfo;
import org.apache.kafka.clients.admin.LogDirDescription;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.admin.ReplicaInfo;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.GroupIdNotFoundException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The Admin client's everyday calls, with exact answers. */
class AdminTest {
    private static Admin admin;

    @BeforeAll
    static void open() {
        admin = Judge.admin();
    }

    @AfterAll
    static void close() {
        if (admin != null) {
            admin.close();
        }
    }

    private static <T> T get(KafkaFuture<T> f) throws Exception {
        return f.get(WAIT.toSeconds(), TimeUnit.SECONDS);
    }

    private static Throwable cause(KafkaFuture<?> f) {
        ExecutionException e = assertThrows(ExecutionException.class,
            () -> f.get(WAIT.toSeconds(), TimeUnit.SECONDS));
        return e.getCause();
    }

    private static int bootstrapPort() {
        String b = Judge.bootstrap();
        return Integer.parseInt(b.substring(b.lastIndexOf(':') + 1));
    }

    @Test
    void createDescribeDeleteTopics() throws Exception {
        String topic = Judge.unique("admin-topics");
        Judge.createTopic(admin, topic, 3, Map.of("retention.ms", "86400000"));

        assertTrue(get(admin.listTopics().names()).contains(topic));
        TopicDescription d = get(admin.describeTopics(List.of(topic)).allTopicNames()).get(topic);
        assertEquals(topic, d.name());
        assertFalse(d.isInternal());
        assertNotNull(d.topicId());
        assertEquals(3, d.partitions().size());
        for (int i = 0; i < 3; i++) {
            TopicPartitionInfo p = d.partitions().get(i);
            assertEquals(i, p.partition());
            assertEquals(1, p.leader().id());
            assertEquals(List.of(1), p.replicas().stream().map(Node::id).collect(Collectors.toList()));
            assertEquals(List.of(1), p.isr().stream().map(Node::id).collect(Collectors.toList()));
        }

        Throwable again = cause(admin.createTopics(
            List.of(new NewTopic(topic, 1, (short) 1))).all());
        assertInstanceOf(TopicExistsException.class, again);

        get(admin.deleteTopics(List.of(topic)).all());
        Judge.await("the deleted topic to leave listTopics", () -> {
            try {
                return !get(admin.listTopics().names()).contains(topic);
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        });
        assertInstanceOf(UnknownTopicOrPartitionException.class,
            cause(admin.describeTopics(List.of(topic)).allTopicNames()));
    }

    private static Map<String, ConfigEntry> topicConfig(String topic, boolean synonyms)
        throws Exception {
        ConfigResource r = new ConfigResource(ConfigResource.Type.TOPIC, topic);
        Config c = get(admin.describeConfigs(List.of(r),
            new DescribeConfigsOptions().includeSynonyms(synonyms)).all()).get(r);
        Map<String, ConfigEntry> m = new TreeMap<>();
        for (ConfigEntry e : c.entries()) {
            m.put(e.name(), e);
        }
        return m;
    }

    private static List<String> synonyms(ConfigEntry e) {
        List<String> out = new ArrayList<>();
        for (ConfigEntry.ConfigSynonym s : e.synonyms()) {
            out.add(s.source() + " " + s.name() + "=" + s.value());
        }
        return out;
    }

    @Test
    void describeAndAlterTopicConfigs() throws Exception {
        String topic = Judge.unique("admin-configs");
        Judge.createTopic(admin, topic, 1, Map.of("retention.ms", "86400000"));

        Map<String, ConfigEntry> c = topicConfig(topic, false);
        ConfigEntry retention = c.get("retention.ms");
        assertEquals("86400000", retention.value());
        assertEquals(ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG, retention.source());
        assertFalse(retention.isDefault());
        assertEquals(List.of(), retention.synonyms());
        ConfigEntry cleanup = c.get("cleanup.policy");
        assertEquals("delete", cleanup.value());
        assertEquals(ConfigEntry.ConfigSource.DEFAULT_CONFIG, cleanup.source());
        assertTrue(cleanup.isDefault());
        assertFalse(cleanup.isReadOnly());
        assertFalse(cleanup.isSensitive());
        assertEquals("1073741824", c.get("segment.bytes").value());
        assertEquals(ConfigEntry.ConfigSource.DEFAULT_CONFIG, c.get("segment.bytes").source());
        assertEquals("1048588", c.get("max.message.bytes").value());
        assertEquals("producer", c.get("compression.type").value());
        assertEquals("CreateTime", c.get("message.timestamp.type").value());
        assertEquals("1", c.get("min.insync.replicas").value());

        Map<String, ConfigEntry> s = topicConfig(topic, true);
        // Kafka 4.1 lists only the topic override here (its broker synonym log.retention.ms
        // has no default).
        assertEquals(List.of("DYNAMIC_TOPIC_CONFIG retention.ms=86400000"),
            synonyms(s.get("retention.ms")));
        assertEquals(List.of("DEFAULT_CONFIG log.cleanup.policy=delete"),
            synonyms(s.get("cleanup.policy")));
        assertEquals(List.of("DEFAULT_CONFIG message.max.bytes=1048588"),
            synonyms(s.get("max.message.bytes")));

        ConfigResource r = new ConfigResource(ConfigResource.Type.TOPIC, topic);
        Map<ConfigResource, Collection<AlterConfigOp>> ops = Map.of(r, List.of(
            new AlterConfigOp(new ConfigEntry("cleanup.policy", "compact"), AlterConfigOp.OpType.SET),
            new AlterConfigOp(new ConfigEntry("max.message.bytes", "2000000"), AlterConfigOp.OpType.SET),
            new AlterConfigOp(new ConfigEntry("retention.ms", null), AlterConfigOp.OpType.DELETE)));
        get(admin.incrementalAlterConfigs(ops).all());

        c = topicConfig(topic, false);
        assertEquals("compact", c.get("cleanup.policy").value());
        assertEquals(ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG, c.get("cleanup.policy").source());
        assertEquals("2000000", c.get("max.message.bytes").value());
        assertEquals(ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG,
            c.get("max.message.bytes").source());
        assertEquals("604800000", c.get("retention.ms").value());
        assertEquals(ConfigEntry.ConfigSource.DEFAULT_CONFIG, c.get("retention.ms").source());

        // APPEND to a list config keeps what is there.
        get(admin.incrementalAlterConfigs(Map.of(r, List.of(new AlterConfigOp(
            new ConfigEntry("cleanup.policy", "delete"), AlterConfigOp.OpType.APPEND)))).all());
        assertEquals("compact,delete", topicConfig(topic, false).get("cleanup.policy").value());

        // Bad values are refused and change nothing.
        Throwable bad = cause(admin.incrementalAlterConfigs(Map.of(r, List.of(new AlterConfigOp(
            new ConfigEntry("retention.ms", "not-a-number"), AlterConfigOp.OpType.SET)))).all());
        assertInstanceOf(org.apache.kafka.common.errors.InvalidConfigurationException.class, bad);
        assertEquals("604800000", topicConfig(topic, false).get("retention.ms").value());
    }

    @Test
    void describeBrokerConfigs() throws Exception {
        ConfigResource r = new ConfigResource(ConfigResource.Type.BROKER, "1");
        Config c = get(admin.describeConfigs(List.of(r),
            new DescribeConfigsOptions().includeSynonyms(true)).all()).get(r);
        ConfigEntry partitions = c.get("num.partitions");
        assertEquals("1", partitions.value());
        assertEquals(ConfigEntry.ConfigSource.DEFAULT_CONFIG, partitions.source());
        assertEquals(List.of("DEFAULT_CONFIG num.partitions=1"), synonyms(partitions));
        ConfigEntry rebalance = c.get("group.initial.rebalance.delay.ms");
        assertEquals("0", rebalance.value());
        assertEquals(ConfigEntry.ConfigSource.STATIC_BROKER_CONFIG, rebalance.source());
        assertEquals(List.of("STATIC_BROKER_CONFIG group.initial.rebalance.delay.ms=0",
                "DEFAULT_CONFIG group.initial.rebalance.delay.ms=3000"),
            synonyms(rebalance));
    }

    @Test
    void createPartitions() throws Exception {
        String topic = Judge.unique("admin-partitions");
        Judge.createTopic(admin, topic, 2);
        get(admin.createPartitions(Map.of(topic, NewPartitions.increaseTo(5))).all());
        TopicDescription d = get(admin.describeTopics(List.of(topic)).allTopicNames()).get(topic);
        assertEquals(List.of(0, 1, 2, 3, 4),
            d.partitions().stream().map(TopicPartitionInfo::partition).collect(Collectors.toList()));
        // Shrinking is refused.
        Throwable shrink = cause(admin.createPartitions(
            Map.of(topic, NewPartitions.increaseTo(3))).all());
        assertInstanceOf(org.apache.kafka.common.errors.InvalidPartitionsException.class, shrink);
    }

    /** Sends {@code values} to partition 0 of {@code topic} with the given timestamps. */
    private static void produce(String topic, long[] timestamps) throws Exception {
        try (KafkaProducer<String, String> p = new KafkaProducer<>(Judge.producerProps())) {
            for (int i = 0; i < timestamps.length; i++) {
                p.send(new ProducerRecord<>(topic, 0, timestamps[i], "k" + i, "v" + i))
                    .get(WAIT.toSeconds(), TimeUnit.SECONDS);
            }
        }
    }

    private static ListOffsetsResultInfo offsets(TopicPartition tp, OffsetSpec spec)
        throws Exception {
        return get(admin.listOffsets(Map.of(tp, spec)).partitionResult(tp));
    }

    @Test
    void listOffsetsAndDeleteRecords() throws Exception {
        String topic = Judge.unique("admin-offsets");
        Judge.createTopic(admin, topic, 1);
        TopicPartition tp = new TopicPartition(topic, 0);
        long base = System.currentTimeMillis() - 60_000;
        // Offsets 0..5; the largest timestamp is at offset 3.
        long[] ts = {base, base + 1000, base + 2000, base + 9000, base + 3000, base + 4000};
        produce(topic, ts);

        assertEquals(0, offsets(tp, OffsetSpec.earliest()).offset());
        assertEquals(6, offsets(tp, OffsetSpec.latest()).offset());
        ListOffsetsResultInfo byTime = offsets(tp, OffsetSpec.forTimestamp(base + 1500));
        assertEquals(2, byTime.offset());
        assertEquals(base + 2000, byTime.timestamp());
        ListOffsetsResultInfo exact = offsets(tp, OffsetSpec.forTimestamp(base + 3000));
        assertEquals(3, exact.offset(), "first offset whose timestamp is >= the target");
        assertEquals(base + 9000, exact.timestamp());
        ListOffsetsResultInfo max = offsets(tp, OffsetSpec.maxTimestamp());
        assertEquals(3, max.offset());
        assertEquals(base + 9000, max.timestamp());
        ListOffsetsResultInfo none = offsets(tp, OffsetSpec.forTimestamp(base + 10_000));
        assertEquals(-1, none.offset());

        long low = get(admin.deleteRecords(Map.of(tp, RecordsToDelete.beforeOffset(4)))
            .lowWatermarks().get(tp)).lowWatermark();
        assertEquals(4, low);
        assertEquals(4, offsets(tp, OffsetSpec.earliest()).offset());
        assertEquals(6, offsets(tp, OffsetSpec.latest()).offset());
        ListOffsetsResultInfo afterDelete = offsets(tp, OffsetSpec.forTimestamp(base));
        assertEquals(4, afterDelete.offset(), "deleted records are not found by timestamp");

        // A consumer starting from the beginning reads from the new log start.
        try (KafkaConsumer<String, String> c = new KafkaConsumer<>(Judge.consumerProps(null))) {
            c.assign(List.of(tp));
            c.seekToBeginning(List.of(tp));
            var read = Judge.pollN(c, 2);
            assertEquals(List.of(4L, 5L), read.stream().map(r -> r.offset()).collect(Collectors.toList()));
            assertEquals(List.of("v4", "v5"), read.stream().map(r -> r.value()).collect(Collectors.toList()));
        }
    }

    @Test
    void describeLogDirs() throws Exception {
        String topic = Judge.unique("admin-logdirs");
        Judge.createTopic(admin, topic, 2);
        produce(topic, new long[] {System.currentTimeMillis()});
        Map<String, LogDirDescription> dirs =
            get(admin.describeLogDirs(List.of(1)).allDescriptions()).get(1);
        assertEquals(1, dirs.size(), "one log dir: " + dirs.keySet());
        LogDirDescription dir = dirs.values().iterator().next();
        assertEquals(null, dir.error());
        ReplicaInfo p0 = dir.replicaInfos().get(new TopicPartition(topic, 0));
        ReplicaInfo p1 = dir.replicaInfos().get(new TopicPartition(topic, 1));
        assertNotNull(p0, "partition 0 listed");
        assertNotNull(p1, "partition 1 listed");
        assertTrue(p0.size() > 0, "partition 0 holds a batch: " + p0.size());
        assertEquals(0, p1.size());
        assertEquals(0, p0.offsetLag());
        assertFalse(p0.isFuture());
        assertTrue(dir.totalBytes().isPresent() && dir.usableBytes().isPresent());
        assertTrue(dir.usableBytes().getAsLong() <= dir.totalBytes().getAsLong());
    }

    @Test
    void describeCluster() throws Exception {
        DescribeClusterResult r = admin.describeCluster();
        Collection<Node> nodes = get(r.nodes());
        assertEquals(1, nodes.size());
        Node n = nodes.iterator().next();
        assertEquals(1, n.id());
        assertEquals("127.0.0.1", n.host());
        assertEquals(bootstrapPort(), n.port());
        assertEquals(1, get(r.controller()).id());
        String id = get(r.clusterId());
        assertNotNull(id);
        // Kafka's cluster ids are base64url UUIDs: 22 characters.
        assertTrue(id.matches("[A-Za-z0-9_-]{22}"), id);
        assertEquals(id, get(admin.describeCluster().clusterId()));
    }

    @Test
    void consumerGroupsAndTheirOffsets() throws Exception {
        String topic = Judge.unique("admin-groups");
        String group = Judge.unique("admin-group");
        Judge.createTopic(admin, topic, 2);
        TopicPartition p0 = new TopicPartition(topic, 0);
        TopicPartition p1 = new TopicPartition(topic, 1);
        produce(topic, new long[] {1L, 2L, 3L});

        // A subscribed member: the group is Stable with one member owning both partitions.
        try (KafkaConsumer<String, String> c = new KafkaConsumer<>(Judge.consumerProps(group))) {
            c.subscribe(List.of(topic));
            Judge.pollN(c, 3);
            c.commitSync(Map.of(p0, new OffsetAndMetadata(2, "m0"), p1, new OffsetAndMetadata(0)));

            ConsumerGroupDescription d =
                get(admin.describeConsumerGroups(List.of(group)).all()).get(group);
            assertEquals(group, d.groupId());
            assertEquals("Stable", d.state().toString());
            assertEquals("range", d.partitionAssignor());
            assertFalse(d.isSimpleConsumerGroup());
            assertEquals(1, d.members().size());
            MemberDescription m = d.members().iterator().next();
            assertEquals(Set.of(p0, p1), m.assignment().topicPartitions());
            assertEquals(c.groupMetadata().memberId(), m.consumerId());
            assertEquals(1, d.coordinator().id());

            // A group with a member cannot be deleted.
            Throwable busy = cause(admin.deleteConsumerGroups(List.of(group)).all());
            assertInstanceOf(org.apache.kafka.common.errors.GroupNotEmptyException.class, busy);
        }

        Map<String, ConsumerGroupListing> listed = new HashMap<>();
        for (ConsumerGroupListing l : get(admin.listConsumerGroups().all())) {
            listed.put(l.groupId(), l);
        }
        assertTrue(listed.containsKey(group), "listed: " + listed.keySet());
        assertFalse(listed.get(group).isSimpleConsumerGroup());

        Map<TopicPartition, OffsetAndMetadata> committed =
            get(admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata());
        assertEquals(2, committed.size());
        assertEquals(2, committed.get(p0).offset());
        assertEquals("m0", committed.get(p0).metadata());
        assertEquals(0, committed.get(p1).offset());

        ConsumerGroupDescription empty =
            get(admin.describeConsumerGroups(List.of(group)).all()).get(group);
        assertEquals("Empty", empty.state().toString());
        assertEquals(0, empty.members().size());

        get(admin.alterConsumerGroupOffsets(group,
            Map.of(p0, new OffsetAndMetadata(1), p1, new OffsetAndMetadata(3, "moved"))).all());
        committed = get(admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata());
        assertEquals(1, committed.get(p0).offset());
        assertEquals(3, committed.get(p1).offset());
        assertEquals("moved", committed.get(p1).metadata());

        get(admin.deleteConsumerGroups(List.of(group)).all());
        List<String> after = new ArrayList<>();
        for (ConsumerGroupListing l : get(admin.listConsumerGroups().all())) {
            after.add(l.groupId());
        }
        assertFalse(after.contains(group), "deleted group still listed");
        assertEquals(Map.of(),
            get(admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata()));
        Throwable gone = cause(admin.deleteConsumerGroups(List.of(group)).all());
        assertInstanceOf(GroupIdNotFoundException.class, gone);
    }

    @Test
    void refusedRequestsAnswerKafkasErrors() throws Exception {
        String topic = Judge.unique("admin-errors");
        Judge.createTopic(admin, topic, 1);
        assertInstanceOf(org.apache.kafka.common.errors.InvalidTopicException.class,
            cause(admin.createTopics(List.of(new NewTopic("bad name!", 1, (short) 1))).all()));
        assertInstanceOf(org.apache.kafka.common.errors.InvalidReplicationFactorException.class,
            cause(admin.createTopics(List.of(new NewTopic(topic + "-rf", 1, (short) 3))).all()));
        assertInstanceOf(org.apache.kafka.common.errors.InvalidConfigurationException.class,
            cause(admin.createTopics(List.of(new NewTopic(topic + "-cfg", 1, (short) 1)
                .configs(Map.of("cleanup.policy", "bogus")))).all()));
        assertInstanceOf(org.apache.kafka.common.errors.InvalidConfigurationException.class,
            cause(admin.createTopics(List.of(new NewTopic(topic + "-unknown", 1, (short) 1)
                .configs(Map.of("no.such.config", "1")))).all()));
        get(admin.createTopics(List.of(new NewTopic(topic + "-dry", 3, (short) 1)),
            new CreateTopicsOptions().validateOnly(true)).all());
        assertFalse(get(admin.listTopics().names()).contains(topic + "-dry"),
            "validateOnly created the topic");
        String missing = Judge.unique("no-such-topic");
        assertInstanceOf(UnknownTopicOrPartitionException.class,
            cause(admin.deleteTopics(List.of(missing)).all()));
        assertInstanceOf(UnknownTopicOrPartitionException.class,
            cause(admin.describeConfigs(List.of(
                new ConfigResource(ConfigResource.Type.TOPIC, missing))).all()));
        produce(topic, new long[] {System.currentTimeMillis()});
        assertInstanceOf(org.apache.kafka.common.errors.OffsetOutOfRangeException.class,
            cause(admin.deleteRecords(Map.of(new TopicPartition(topic, 0),
                RecordsToDelete.beforeOffset(10))).all()));
        String noGroup = Judge.unique("no-such-group");
        if (Judge.clientMajor() >= 4) {
            assertInstanceOf(GroupIdNotFoundException.class,
                cause(admin.describeConsumerGroups(List.of(noGroup)).all()));
        } else {
            // 3.9's admin turns GROUP_ID_NOT_FOUND into a Dead group with no members.
            ConsumerGroupDescription d =
                get(admin.describeConsumerGroups(List.of(noGroup)).all()).get(noGroup);
            assertEquals("Dead", d.state().toString());
            assertEquals(0, d.members().size());
        }
    }

    @Test
    void simpleGroupOffsets() throws Exception {
        String topic = Judge.unique("admin-simple");
        String group = Judge.unique("simple-group");
        Judge.createTopic(admin, topic, 2);
        TopicPartition p0 = new TopicPartition(topic, 0);
        TopicPartition p1 = new TopicPartition(topic, 1);
        // Offsets stored for a group that never had a member: a "simple" consumer group.
        get(admin.alterConsumerGroupOffsets(group,
            Map.of(p0, new OffsetAndMetadata(0), p1, new OffsetAndMetadata(0))).all());
        ConsumerGroupDescription d =
            get(admin.describeConsumerGroups(List.of(group)).all()).get(group);
        assertEquals("Empty", d.state().toString());
        assertEquals("", d.partitionAssignor());
        assertTrue(d.isSimpleConsumerGroup());
        assertEquals(0, d.members().size());
        ConsumerGroupListing listed = get(admin.listConsumerGroups().all()).stream()
            .filter(l -> l.groupId().equals(group)).findFirst().orElseThrow();
        assertTrue(listed.isSimpleConsumerGroup());

        get(admin.deleteConsumerGroupOffsets(group, Set.of(p0)).all());
        assertEquals(Map.of(p1, new OffsetAndMetadata(0)),
            get(admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata()));
    }
}
