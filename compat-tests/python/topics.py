#!/usr/bin/env python3
"""Topic administration, configs, retention and compaction judged by real
clients: confluent-kafka (librdkafka) and kafka-python, admin and data.

Each subcommand is one scenario against a running broker; any difference
from what Apache Kafka would do is a non-zero exit with a message. Waits
for background work (the log cleaner) poll with a deadline.
"""
import argparse
import time
import uuid

import common
from common import fail


def wait_until(what, check, timeout=120):
    return common.wait_until(what, check, timeout)


def admin(args):
    return common.admin(args.bootstrap)


def create(args, topic, partitions=1, config=None):
    from confluent_kafka.admin import NewTopic
    fs = admin(args).create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1,
                                             config=config or {})])
    fs[topic].result(timeout=30)


def alter(args, topic, **configs):
    """IncrementalAlterConfigs SET through confluent-kafka."""
    from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource
    res = ConfigResource(ConfigResource.Type.TOPIC, topic, incremental_configs=[
        ConfigEntry(k.replace("_", "."), str(v), incremental_operation=AlterConfigOpType.SET)
        for k, v in configs.items()])
    admin(args).incremental_alter_configs([res])[res].result(timeout=30)


def read_confluent(args, topic, partition=0, start=None):
    """Every record of a partition from `start` (default: the beginning) to
    the end: [(offset, key, value, (timestamp type, timestamp))]."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition
    c = Consumer({"bootstrap.servers": args.bootstrap, "group.id": "reader-" + uuid.uuid4().hex,
                  "enable.auto.commit": False, "enable.partition.eof": True,
                  "auto.offset.reset": "earliest"})
    c.assign([TopicPartition(topic, partition, OFFSET_BEGINNING if start is None else start)])
    out = []
    deadline = time.time() + 60
    while time.time() < deadline:
        m = c.poll(1.0)
        if m is None:
            continue
        if m.error():
            if m.error().code() == KafkaError._PARTITION_EOF:
                break
            fail("consumer error: %s" % m.error())
        out.append((m.offset(), m.key(), m.value(), m.timestamp()))
    else:
        fail("reading %s-%d did not reach the end" % (topic, partition))
    c.close()
    return out


def read_kafka_python(args, topic, partition=0):
    from kafka import KafkaConsumer, TopicPartition
    c = KafkaConsumer(bootstrap_servers=args.bootstrap, enable_auto_commit=False,
                      auto_offset_reset="earliest", consumer_timeout_ms=5000)
    tp = TopicPartition(topic, partition)
    c.assign([tp])
    c.seek_to_beginning(tp)
    end = c.end_offsets([tp])[tp]
    out = []
    deadline = time.time() + 60
    while c.position(tp) < end and time.time() < deadline:
        for recs in c.poll(timeout_ms=1000).values():
            out.extend((r.offset, r.key, r.value, (r.timestamp_type, r.timestamp)) for r in recs)
    if c.position(tp) < end:
        fail("kafka-python did not reach offset %d of %s-%d" % (end, topic, partition))
    c.close()
    return out


# ---------------------------------------------------------------- compaction

def compaction(args):
    """10 keys x 1000 updates (3 keys end in a tombstone) on a compacted
    topic; after cleaning a consumer from offset 0 sees exactly the newest
    record of each key at its original offset, then the tombstoned keys
    disappear once delete.retention.ms allows."""
    from confluent_kafka import KafkaError, Producer
    topic = args.topic
    create(args, topic, config={"cleanup.policy": "compact", "segment.bytes": "16384",
                                "min.cleanable.dirty.ratio": "0.01",
                                "delete.retention.ms": "86400000"})
    newest = {}
    errors = []

    def on_delivery(err, msg):
        if err:
            errors.append(err)
            return
        k = msg.key()
        if k not in newest or newest[k][0] < msg.offset():
            newest[k] = (msg.offset(), msg.value())

    p = Producer({"bootstrap.servers": args.bootstrap, "linger.ms": 5, "enable.idempotence": True,
                  "compression.type": "lz4"})
    for r in range(1000):
        for k in range(10):
            value = None if (r == 999 and k >= 7) else ("key%d-update%d" % (k, r)).encode()
            p.produce(topic, key=b"key%d" % k, value=value, partition=0, on_delivery=on_delivery)
        p.poll(0)
    if p.flush(60) != 0 or errors:
        fail("produce failed: %s" % errors[:3])
    # Records without a key are refused on a compacted topic.
    refused = []
    q = Producer({"bootstrap.servers": args.bootstrap, "retries": 0})
    q.produce(topic, value=b"no key", partition=0, on_delivery=lambda e, m: refused.append(e))
    q.flush(30)
    if not refused or refused[0] is None or refused[0].code() != KafkaError.INVALID_RECORD:
        fail("a keyless record on a compacted topic was not refused with INVALID_RECORD: %r" % refused)
    # Seal the segment holding the last updates: roll on the next append.
    # (The active segment is older than 1 ms: it was created during the updates.)
    alter(args, topic, segment_ms=1)
    p.produce(topic, key=b"sentinel", value=b"end", partition=0, on_delivery=on_delivery)
    if p.flush(30) != 0 or errors:
        fail("sentinel produce failed: %s" % errors[:3])
    expected = sorted((off, k, v) for k, (off, v) in newest.items())
    if len(expected) != 11:
        fail("expected 11 keys, delivery reports gave %d" % len(expected))

    def compacted():
        got = [(o, k, v) for (o, k, v, _) in read_confluent(args, topic)]
        return got == expected, (len(got), got[:3])
    wait_until("the cleaner to leave one record per key", compacted)
    tombstones = [k for (_, k, v) in expected if v is None]
    if sorted(tombstones) != [b"key7", b"key8", b"key9"]:
        fail("tombstones not kept within delete.retention.ms: %r" % tombstones)
    kp = [(o, k, v) for (o, k, v, _) in read_kafka_python(args, topic)]
    if kp != expected:
        fail("kafka-python reads the compacted log differently: %r" % kp[:5])
    # Tombstones go once delete.retention.ms has passed.
    alter(args, topic, delete_retention_ms=0)
    live = [e for e in expected if e[2] is not None]

    def tombstones_gone():
        got = [(o, k, v) for (o, k, v, _) in read_confluent(args, topic)]
        return got == live, got
    wait_until("tombstones to be removed", tombstones_gone)
    print("compaction: 10 keys x 1000 updates -> %d records, then %d without tombstones"
          % (len(expected), len(live)))


# ------------------------------------------------------- message.timestamp.type

def log_append_time(args):
    """LogAppendTime topics give records the broker's time; CreateTime
    topics keep the producer's."""
    from confluent_kafka import TIMESTAMP_CREATE_TIME, TIMESTAMP_LOG_APPEND_TIME, Producer
    lat, ct = args.topic, args.topic + "-create"
    create(args, lat, config={"message.timestamp.type": "LogAppendTime"})
    create(args, ct)
    delivered = []
    p = Producer({"bootstrap.servers": args.bootstrap, "linger.ms": 0})
    before = int(time.time() * 1000)
    for t in (lat, ct):
        for i in range(5):
            p.produce(t, key=b"k", value=b"v%d" % i, timestamp=1000 + i,
                      on_delivery=lambda e, m: delivered.append((e, m.topic(), m.timestamp())))
    if p.flush(30) != 0 or any(e for e, _, _ in delivered):
        fail("produce failed: %r" % delivered)
    after = int(time.time() * 1000) + 1
    for e, t, (tt, ts) in delivered:
        if t == lat and not (tt == TIMESTAMP_LOG_APPEND_TIME and before <= ts <= after):
            fail("delivery report of a LogAppendTime topic: %r" % ((tt, ts),))
    for (_, _, _, (tt, ts)) in read_confluent(args, lat):
        if tt != TIMESTAMP_LOG_APPEND_TIME or not before <= ts <= after:
            fail("confluent consumer: LogAppendTime record has %r, expected [%d, %d]" % ((tt, ts), before, after))
    for (_, _, _, (tt, ts)) in read_kafka_python(args, lat):
        if tt != 1 or not before <= ts <= after:
            fail("kafka-python consumer: LogAppendTime record has %r" % ((tt, ts),))
    got = [ts for (_, _, _, ts) in read_confluent(args, ct)]
    if got != [(TIMESTAMP_CREATE_TIME, 1000 + i) for i in range(5)]:
        fail("CreateTime timestamps changed: %r" % got)
    print("log append time: 5 records stamped by the broker, 5 kept their create time")


# ----------------------------------------------------------- compression.type

def compression_type(args):
    """A topic with compression.type=gzip stores producer batches gzipped
    (the test harness checks the segment bytes); consumers read them back."""
    from confluent_kafka import Producer
    create(args, args.topic, config={"compression.type": "gzip"})
    values = [("value-%d-" % i).encode() * 20 for i in range(200)]
    p = Producer({"bootstrap.servers": args.bootstrap, "compression.type": "none", "linger.ms": 5})
    for v in values:
        p.produce(args.topic, key=b"k", value=v, partition=0)
    if p.flush(30) != 0:
        fail("produce failed")
    for reader in (read_confluent, read_kafka_python):
        got = [v for (_, _, v, _) in reader(args, args.topic)]
        if got != values:
            fail("%s reads %d values, %d expected (or they differ)" % (reader.__name__, len(got), len(values)))
    # A codec the producer did not use, but a real one: lz4 batches into the gzip topic.
    from kafka import KafkaProducer
    kp = KafkaProducer(bootstrap_servers=args.bootstrap, compression_type="lz4")
    kp.send(args.topic, key=b"k", value=b"from kafka-python", partition=0).get(timeout=30)
    kp.close()
    got = [v for (_, _, v, _) in read_confluent(args, args.topic)]
    if got[-1] != b"from kafka-python" or len(got) != 201:
        fail("recompressed lz4 batch not read back: %r" % got[-1:])
    print("compression.type=gzip: 201 records stored recompressed and read back")


# ------------------------------------------------ DeleteRecords, log dirs, ...

def admin_records(args):
    """DeleteRecords through both admin clients, the log start offset seen by
    ListOffsets and consumers (OFFSET_OUT_OF_RANGE resets), DescribeLogDirs,
    DescribeTopicPartitions, CreateTopics validate_only and bad configs,
    DescribeConfigs synonyms and documentation, DeleteTopics by id."""
    from confluent_kafka import Consumer, Producer, TopicPartition
    from confluent_kafka.admin import ConfigResource, NewTopic, OffsetSpec
    from kafka import TopicPartition as KpTp
    from kafka.admin import ConfigResource as KpResource, ConfigResourceType, KafkaAdminClient
    topic = args.topic
    a = admin(args)
    create(args, topic, partitions=2)
    p = Producer({"bootstrap.servers": args.bootstrap, "linger.ms": 5})
    for part in (0, 1):
        for i in range(100):
            p.produce(topic, value=b"r%d" % i, partition=part)
    if p.flush(30) != 0:
        fail("produce failed")
    # DeleteRecords: confluent-kafka on partition 0, kafka-python on partition 1.
    fs = a.delete_records([TopicPartition(topic, 0, 40)])
    deleted = list(fs.values())[0].result(timeout=30)
    if deleted.low_watermark != 40:
        fail("confluent delete_records low watermark %r" % deleted.low_watermark)
    kp = KafkaAdminClient(bootstrap_servers=args.bootstrap)
    res = kp.delete_records({KpTp(topic, 1): 25})
    if list(res.values())[0]["low_watermark"] != 25:
        fail("kafka-python delete_records: %r" % res)
    # ListOffsets sees the new start; a fetch below it resets to it.
    lo = a.list_offsets({TopicPartition(topic, 0): OffsetSpec.earliest(),
                         TopicPartition(topic, 1): OffsetSpec.earliest()})
    starts = sorted((tp.partition, f.result(timeout=30).offset) for tp, f in lo.items())
    if starts != [(0, 40), (1, 25)]:
        fail("earliest offsets after DeleteRecords: %r" % starts)
    c = Consumer({"bootstrap.servers": args.bootstrap, "group.id": "g-" + uuid.uuid4().hex})
    lw, hw = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=30)
    c.close()
    if (lw, hw) != (40, 100):
        fail("watermarks of partition 0: %r" % ((lw, hw),))
    first = read_confluent(args, topic, 0, start=10)
    if not first or first[0][0] != 40 or len(first) != 60:
        fail("a fetch below the log start did not reset to offset 40: %r" % first[:1])
    # DescribeLogDirs (kafka-python; confluent-kafka's Python API has none).
    dirs = kp.describe_log_dirs()
    sizes = {(t["name"], pp["partition_index"]): pp["partition_size"]
             for d in dirs for ld in d["log_dirs"] for t in ld["topics"] for pp in t["partitions"]}
    if not sizes.get((topic, 0), 0) > 0 or not sizes.get((topic, 1), 0) > 0:
        fail("describe_log_dirs sizes: %r" % {k: v for k, v in sizes.items() if k[0] == topic})
    # DescribeTopicPartitions (KIP-966).
    dtp = kp.describe_topic_partitions([topic])
    parts = [pp["partition_index"] for t in dtp["topics"] for pp in t["partitions"]]
    if sorted(parts) != [0, 1]:
        fail("describe_topic_partitions: %r" % dtp)
    # CreateTopics validate_only creates nothing; bad configs are INVALID_CONFIG naming the key.
    vo = topic + "-validate-only"
    a.create_topics([NewTopic(vo, 3, 1, config={"retention.ms": "1000"})], validate_only=True)[vo].result(timeout=30)
    if vo in a.list_topics(timeout=30).topics:
        fail("validate_only created the topic")
    bad = topic + "-bad"
    try:
        a.create_topics([NewTopic(bad, 1, 1, config={"min.cleanable.dirty.ratio": "2"})])[bad].result(timeout=30)
        fail("a topic with min.cleanable.dirty.ratio=2 was created")
    except Exception as e:  # KafkaException carrying the broker's error
        if "INVALID_CONFIG" not in str(e) or "min.cleanable.dirty.ratio" not in str(e):
            fail("bad config error does not name the code and key: %s" % e)
    # DescribeConfigs with synonyms and documentation.
    res = ConfigResource(ConfigResource.Type.TOPIC, topic)
    desc = a.describe_configs([res])[res].result(timeout=30)
    for key in ("cleanup.policy", "delete.retention.ms", "min.cleanable.dirty.ratio",
                "message.timestamp.type", "compression.type", "max.compaction.lag.ms"):
        if key not in desc:
            fail("describe_configs lacks %s" % key)
    if desc["cleanup.policy"].value != "delete" or not desc["cleanup.policy"].is_default:
        fail("cleanup.policy: %r" % desc["cleanup.policy"])
    text = str(kp.describe_configs([KpResource(ConfigResourceType.TOPIC, topic)], include_synonyms=True,
                                   config_filter="all"))
    # cleanup.policy's default comes from log.cleanup.policy (Kafka names it as
    # the synonym; retention.ms, whose broker key has a null default, has none).
    if "'name': 'log.cleanup.policy'" not in text:
        fail("kafka-python describe_configs with synonyms lacks the broker synonym: %s" % text[:400])
    # Legacy AlterConfigs through confluent-kafka replaces the topic's overrides.
    legacy = ConfigResource(ConfigResource.Type.TOPIC, topic, set_config={"retention.ms": "7200000"})
    a.alter_configs([legacy])[legacy].result(timeout=30)
    desc = a.describe_configs([res])[res].result(timeout=30)
    if desc["retention.ms"].value != "7200000":
        fail("confluent alter_configs not applied: %r" % desc["retention.ms"].value)
    # ListOffsets by timestamp through kafka-python (the time index).
    from kafka import KafkaConsumer
    kc = KafkaConsumer(bootstrap_servers=args.bootstrap)
    found = kc.offsets_for_times({KpTp(topic, 0): 0})[KpTp(topic, 0)]
    kc.close()
    if found is None or found.offset != 40:
        fail("offsets_for_times(0) after DeleteRecords: %r (expected the log start, 40)" % (found,))
    # DeleteTopics by name through confluent-kafka.
    doomed = topic + "-doomed"
    create(args, doomed)
    a.delete_topics([doomed])[doomed].result(timeout=30)
    wait_until("the deleted topic to disappear",
               lambda: (doomed not in a.list_topics(timeout=30).topics, None), 30)
    # DeleteTopics by topic id (KIP-516) through kafka-python.
    topic_id = [t for t in kp.describe_topics([topic])][0]["topic_id"]
    kp.delete_topics([uuid.UUID(str(topic_id))])
    wait_until("the topic to disappear", lambda: (topic not in a.list_topics(timeout=30).topics, None), 30)
    kp.close()
    print("admin records: delete_records, log dirs, topic partitions, validate_only, configs, delete by id")


# ------------------------------------------------------ dynamic broker configs

def broker_configs(args):
    """Dynamic broker configs through both admin clients: a changed default
    reaches topics without overrides and takes effect (message.max.bytes),
    sources and synonyms follow Kafka's precedence, static keys refuse."""
    from confluent_kafka import KafkaError, Producer
    from confluent_kafka.admin import (AlterConfigOpType, ConfigEntry, ConfigResource, ConfigSource)
    from kafka.admin import ConfigResource as KpResource, ConfigResourceType, KafkaAdminClient
    a = admin(args)
    node = ConfigResource(ConfigResource.Type.BROKER, "1")

    def described(key):
        return a.describe_configs([node])[node].result(timeout=30)[key]

    # As in Kafka 4.1, log.retention.ms has no value until set (log.retention.hours
    # supplies the default: 168 hours).
    before = described("log.retention.ms")
    if before.is_read_only or before.value is not None:
        fail("log.retention.ms before: %r value %r" % (before, before.value))
    if described("log.retention.hours").value != "168":
        fail("log.retention.hours: %r" % described("log.retention.hours"))
    inc = ConfigResource(ConfigResource.Type.BROKER, "1", incremental_configs=[
        ConfigEntry("log.retention.ms", "3600000", incremental_operation=AlterConfigOpType.SET),
        ConfigEntry("log.cleanup.policy", "compact", incremental_operation=AlterConfigOpType.APPEND)])
    a.incremental_alter_configs([inc])[inc].result(timeout=30)
    after = described("log.retention.ms")
    if after.value != "3600000" or after.source != ConfigSource.DYNAMIC_BROKER_CONFIG.value:
        fail("dynamic log.retention.ms not described: %r source %r" % (after.value, after.source))
    if described("log.cleanup.policy").value != "delete,compact":
        fail("APPEND on log.cleanup.policy: %r" % described("log.cleanup.policy").value)
    # A new topic without overrides inherits the dynamic defaults.
    create(args, args.topic)
    res = ConfigResource(ConfigResource.Type.TOPIC, args.topic)
    desc = a.describe_configs([res])[res].result(timeout=30)
    if desc["retention.ms"].value != "3600000" or desc["retention.ms"].source != ConfigSource.DYNAMIC_BROKER_CONFIG.value:
        fail("topic retention.ms does not follow the dynamic default: %r source %r"
             % (desc["retention.ms"].value, desc["retention.ms"].source))
    # Static keys cannot change at run time (INVALID_REQUEST, as Kafka answers).
    bad = ConfigResource(ConfigResource.Type.BROKER, "1", incremental_configs=[
        ConfigEntry("num.partitions", "7", incremental_operation=AlterConfigOpType.SET)])
    try:
        a.incremental_alter_configs([bad])[bad].result(timeout=30)
        fail("num.partitions changed dynamically")
    except Exception as e:
        if "INVALID_REQUEST" not in str(e) or "num.partitions" not in str(e):
            fail("static key error does not name the code and key: %s" % e)
    # (The cluster-wide default, resource name "", is what kafka-configs
    # --entity-default sends; both Python clients refuse that name, so the
    # broker's wire tests cover it.)
    # kafka-python sets message.max.bytes on the broker; it takes effect at once.
    kp = KafkaAdminClient(bootstrap_servers=args.bootstrap)
    kp.alter_configs([KpResource(ConfigResourceType.BROKER, "1", configs={"message.max.bytes": "2000"})])
    text = str(kp.describe_configs([KpResource(ConfigResourceType.BROKER, "1")], include_synonyms=True,
                                   config_filter="all"))
    if "'message.max.bytes': {'value': '2000'" not in text or "DYNAMIC_BROKER_CONFIG" not in text:
        fail("kafka-python does not see dynamic sources: %s" % text[:300])
    errs = []
    p = Producer({"bootstrap.servers": args.bootstrap, "retries": 0, "linger.ms": 0})
    p.produce(args.topic, key=b"k", value=b"x" * 5000, on_delivery=lambda e, m: errs.append(e))
    p.flush(30)
    if not errs or errs[0] is None or errs[0].code() != KafkaError.MSG_SIZE_TOO_LARGE:
        fail("a 5000-byte record passed a dynamic message.max.bytes=2000: %r" % errs)
    undo = ConfigResource(ConfigResource.Type.BROKER, "1", incremental_configs=[
        ConfigEntry("message.max.bytes", None, incremental_operation=AlterConfigOpType.DELETE)])
    a.incremental_alter_configs([undo])[undo].result(timeout=30)
    errs.clear()
    p.produce(args.topic, key=b"k", value=b"x" * 5000, on_delivery=lambda e, m: errs.append(e))
    p.flush(30)
    if len(errs) != 1 or errs[0] is not None:
        fail("after deleting the dynamic config the record is refused: %r" % errs)
    kp.close()
    print("broker configs: dynamic values applied and inherited, static keys refused")


def broker_configs_after_restart(args):
    """The per-broker dynamic config survives a restart."""
    from confluent_kafka.admin import ConfigResource, ConfigSource
    node = ConfigResource(ConfigResource.Type.BROKER, "1")
    e = admin(args).describe_configs([node])[node].result(timeout=30)["log.retention.ms"]
    if e.value != "3600000" or e.source != ConfigSource.DYNAMIC_BROKER_CONFIG.value:
        fail("after restart log.retention.ms is %r (source %r)" % (e.value, e.source))
    print("broker configs survived the restart")


def flush_ms(args):
    """Produces to a topic with flush.ms=10 (the harness watches the flush
    histogram move: nothing else fsyncs this broker's logs)."""
    from confluent_kafka import Producer
    create(args, args.topic, config={"flush.ms": "10"})
    p = Producer({"bootstrap.servers": args.bootstrap, "linger.ms": 0})
    for i in range(10):
        p.produce(args.topic, key=b"k", value=b"v%d" % i)
    if p.flush(30) != 0:
        fail("produce failed")
    print("produced 10 records to a flush.ms=10 topic")


def record_errors(args):
    """librdkafka's 0011 test_message_single_partition_record_fail: 100
    messages in one batch to a compacted topic, every tenth without a key.
    The broker names the keyless ones (KIP-467), so exactly those fail with
    INVALID_RECORD and the others with _INVALID_DIFFERENT_RECORD."""
    from confluent_kafka import KafkaError, Producer
    create(args, args.topic, config={"cleanup.policy": "compact"})
    p = Producer({"bootstrap.servers": args.bootstrap, "linger.ms": 1000,
                  "batch.num.messages": 1000, "enable.idempotence": False, "retries": 0})
    reports = {}
    for i in range(100):
        key = None if i % 10 == 3 else b"k%d" % i
        p.produce(args.topic, key=key, value=b"v%d" % i, partition=0,
                  on_delivery=lambda e, m, i=i: reports.__setitem__(i, e))
    if p.flush(60) != 0 or len(reports) != 100:
        fail("not every message got a delivery report: %d" % len(reports))
    invalid = sorted(i for i, e in reports.items() if e is not None and e.code() == KafkaError.INVALID_RECORD)
    other = sorted(i for i, e in reports.items()
                   if e is not None and e.code() == KafkaError._INVALID_DIFFERENT_RECORD)
    if invalid != [i for i in range(100) if i % 10 == 3] or len(other) != 90:
        fail("expected the 10 keyless records INVALID_RECORD and 90 _INVALID_DIFFERENT_RECORD, got "
             "%r invalid, %d different, errors %r" % (invalid, len(other),
                                                     sorted({str(e) for e in reports.values()})[:3]))
    print("record errors: %d invalid, %d failed as different records" % (len(invalid), len(other)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd")
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--topic", required=True)
    args = ap.parse_args()
    cmds = {"compaction": compaction, "log-append-time": log_append_time,
            "compression-type": compression_type, "admin-records": admin_records,
            "broker-configs": broker_configs, "flush-ms": flush_ms, "broker-configs-after-restart": broker_configs_after_restart,
            "record-errors": record_errors}
    if args.cmd not in cmds:
        fail("unknown command %s" % args.cmd)
    cmds[args.cmd](args)


if __name__ == "__main__":
    main()
