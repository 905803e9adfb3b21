#!/usr/bin/env python3
"""Real Kafka clients as judges of MemoryStreamer.

Subcommands produce records with one client and write a manifest (JSON
lines: partition, offset, key, value, headers, timestamp as acknowledged),
or consume with another client and compare what they read with the
manifest, partition by partition and offset by offset. Any difference is a
non-zero exit with a message saying what differed.

Values use only [A-Za-z0-9_-] so that kcat's text output can be compared too.
"""
import argparse
import json
import random
import shutil
import string
import subprocess
import sys
import time

ALPHABET = string.ascii_letters + string.digits + "_-"
CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def record(i, rng):
    key = None if i % 7 == 0 else "k%d" % (i % 97)
    value = "v%d-%s" % (i, "".join(rng.choice(ALPHABET) for _ in range(rng.randint(10, 200))))
    headers = [] if i % 3 == 0 else [["h1", "x%d" % i], ["trace", "t%d" % (i * 31 % 1000)]]
    ts = 1700000000000 + i if i % 2 == 0 else None
    return key, value, headers, ts


def load_manifest(path):
    by_partition = {}
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            by_partition.setdefault(r["p"], []).append(r)
    for p in by_partition:
        by_partition[p].sort(key=lambda r: r["o"])
    return by_partition


def append_manifest(path, rows):
    with open(path, "a") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")


def check_producer_order(rows):
    """Within one producer run, per-partition offsets follow produce order."""
    last = {}
    for r in rows:
        if r["o"] <= last.get(r["p"], -1):
            fail("partition %d: offset %d acknowledged after %d" % (r["p"], r["o"], last[r["p"]]))
        last[r["p"]] = r["o"]


def compare(manifest, got, who):
    """got: {partition: [row]} read by a consumer; rows must equal exactly."""
    for p, expected in manifest.items():
        actual = got.get(p, [])
        if len(actual) != len(expected):
            fail("%s: partition %d has %d records, expected %d" % (who, p, len(actual), len(expected)))
        for e, a in zip(expected, actual):
            for field in ("o", "k", "v", "h", "ts"):
                if e[field] != a[field]:
                    fail("%s: partition %d offset %d field %s: got %r expected %r"
                         % (who, p, e["o"], field, a[field], e[field]))
    # Offsets are dense: 0..n-1 in every partition (no compaction here).
    for p, rows in got.items():
        offs = [r["o"] for r in rows]
        if offs != list(range(len(offs))):
            fail("%s: partition %d offsets are not 0..%d" % (who, p, len(offs) - 1))
    print("%s: %d records match" % (who, sum(len(v) for v in manifest.values())))


# ---------------------------------------------------------------- confluent-kafka

def ck_create(args):
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": args.bootstrap})
    futures = admin.create_topics([NewTopic(args.topic, num_partitions=args.partitions, replication_factor=1)])
    for t, fut in futures.items():
        fut.result(timeout=30)
    md = admin.list_topics(timeout=30)
    if len(md.topics[args.topic].partitions) != args.partitions:
        fail("topic %s has %d partitions" % (args.topic, len(md.topics[args.topic].partitions)))
    # Creating it again must fail with TOPIC_ALREADY_EXISTS.
    again = admin.create_topics([NewTopic(args.topic, num_partitions=1, replication_factor=1)])
    try:
        again[args.topic].result(timeout=30)
        fail("second creation of %s succeeded" % args.topic)
    except Exception as e:  # KafkaException
        if "TOPIC_ALREADY_EXISTS" not in str(e) and "already exists" not in str(e):
            fail("unexpected error on duplicate create: %s" % e)
    print("created %s with %d partitions" % (args.topic, args.partitions))


def ck_produce(args):
    from confluent_kafka import Producer
    rng = random.Random(args.seed)
    partitions = args.partitions
    plan = [  # codec, acks, idempotence
        ("none", "1", False),
        ("gzip", "all", False),
        ("snappy", "all", True),
        ("lz4", "all", True),
        ("zstd", "1", False),
    ]
    wanted = args.codecs.split(",")
    plan = [x for x in plan if x[0] in wanted]
    i = args.start
    for codec, acks, idem in plan:
        rows = []
        errors = []

        def reporter(key, value, headers, _rows=rows, _errors=errors):
            # Content is what we sent; partition, offset and timestamp are
            # what the broker acknowledged.
            def on_delivery(err, msg):
                if err is not None:
                    _errors.append(str(err))
                    return
                _rows.append({"p": msg.partition(), "o": msg.offset(), "k": key, "v": value,
                              "h": headers, "ts": msg.timestamp()[1]})
            return on_delivery

        conf = {"bootstrap.servers": args.bootstrap, "compression.type": codec, "acks": acks,
                "enable.idempotence": idem, "linger.ms": 5, "batch.num.messages": 500}
        prod = Producer(conf)
        for _ in range(args.count):
            key, value, headers, ts = record(i, rng)
            kw = {"partition": i % partitions, "key": key.encode() if key else None, "value": value.encode(),
                  "headers": [(k, v.encode()) for k, v in headers],
                  "on_delivery": reporter(key, value, headers)}
            if ts is not None:
                kw["timestamp"] = ts
            while True:
                try:
                    prod.produce(args.topic, **kw)
                    break
                except BufferError:
                    prod.poll(0.1)
            prod.poll(0)
            i += 1
        left = prod.flush(60)
        if left:
            fail("%d messages not delivered (codec %s)" % (left, codec))
        if errors:
            fail("delivery errors with %s: %s" % (codec, errors[:3]))
        check_producer_order(rows)
        append_manifest(args.manifest, rows)
        print("confluent-kafka produced %d records with %s acks=%s idempotence=%s" % (len(rows), codec, acks, idem))


def ck_consume(args):
    from confluent_kafka import Consumer, TopicPartition
    manifest = load_manifest(args.manifest)
    c = Consumer({"bootstrap.servers": args.bootstrap, "group.id": "compat-assign-only",
                  "enable.auto.commit": False, "auto.offset.reset": "earliest",
                  "fetch.wait.max.ms": 100})
    c.assign([TopicPartition(args.topic, p, 0) for p in manifest])
    want = {p: len(rows) for p, rows in manifest.items()}
    got = {p: [] for p in manifest}
    deadline = time.time() + 120
    while any(len(got[p]) < want[p] for p in want):
        if time.time() > deadline:
            fail("confluent-kafka: timed out; have %s of %s" % ({p: len(v) for p, v in got.items()}, want))
        for m in c.consume(num_messages=1000, timeout=1.0):
            if m.error():
                fail("consumer error: %s" % m.error())
            got[m.partition()].append({
                "o": m.offset(), "k": m.key().decode() if m.key() is not None else None,
                "v": m.value().decode(), "h": [[k, v.decode()] for k, v in (m.headers() or [])],
                "ts": m.timestamp()[1]})
    # Nothing beyond the manifest: the high watermark is exactly its size.
    for p in manifest:
        lo, hi = c.get_watermark_offsets(TopicPartition(args.topic, p), timeout=30)
        if (lo, hi) != (0, want[p]):
            fail("partition %d watermarks (%d, %d), expected (0, %d)" % (p, lo, hi, want[p]))
    c.close()
    compare(manifest, got, "confluent-kafka consumer")


def ck_offsets_by_time(args):
    """ListOffsets by timestamp through librdkafka's offsets_for_times."""
    from confluent_kafka import Consumer, TopicPartition
    manifest = load_manifest(args.manifest)
    c = Consumer({"bootstrap.servers": args.bootstrap, "group.id": "compat-times"})
    for p, rows in manifest.items():
        for probe in rows[:: max(1, len(rows) // 20)]:
            ts = probe["ts"]
            expect = next(r["o"] for r in rows if r["ts"] >= ts)
            res = c.offsets_for_times([TopicPartition(args.topic, p, ts)], timeout=30)[0]
            if res.error or res.offset != expect:
                fail("offsets_for_times(p%d, %d) = %s/%s, expected %d" % (p, ts, res.offset, res.error, expect))
        later = max(r["ts"] for r in rows) + 1
        res = c.offsets_for_times([TopicPartition(args.topic, p, later)], timeout=30)[0]
        if res.offset not in (-1,):
            fail("a timestamp after every record must answer -1 (end), got %s" % res.offset)
    c.close()
    print("offsets_for_times matches the manifest")


def ck_acks0(args):
    from confluent_kafka import Producer, Consumer, TopicPartition
    p = Producer({"bootstrap.servers": args.bootstrap, "acks": "0", "linger.ms": 0})
    for i in range(args.count):
        p.produce(args.topic, value=("a0-%d" % i).encode(), partition=0)
    if p.flush(30):
        fail("acks=0 messages not sent")
    c = Consumer({"bootstrap.servers": args.bootstrap, "group.id": "compat-acks0"})
    c.assign([TopicPartition(args.topic, 0, 0)])
    seen = []
    deadline = time.time() + 60
    while len(seen) < args.count and time.time() < deadline:
        for m in c.consume(num_messages=500, timeout=0.5):
            if not m.error():
                seen.append(m.value().decode())
    c.close()
    if seen != ["a0-%d" % i for i in range(args.count)]:
        fail("acks=0: read %d records, first differences: %s" % (len(seen), seen[:3]))
    print("acks=0: %d records readable" % len(seen))


def admin_grow(args):
    """CreatePartitions through both admin clients; metadata follows."""
    from confluent_kafka.admin import AdminClient, NewPartitions
    from kafka.admin import KafkaAdminClient, NewPartitions as KpNewPartitions
    a = AdminClient({"bootstrap.servers": args.bootstrap})
    for _, f in a.create_partitions([NewPartitions(args.topic, args.partitions + 2)]).items():
        f.result(timeout=30)
    n = len(a.list_topics(args.topic, timeout=30).topics[args.topic].partitions)
    if n != args.partitions + 2:
        fail("confluent admin: %d partitions after growing to %d" % (n, args.partitions + 2))
    kp = KafkaAdminClient(bootstrap_servers=args.bootstrap)
    kp.create_partitions({args.topic: KpNewPartitions(total_count=args.partitions + 3)})
    kp.close()
    n = len(a.list_topics(args.topic, timeout=30).topics[args.topic].partitions)
    if n != args.partitions + 3:
        fail("kafka-python admin: %d partitions after growing to %d" % (n, args.partitions + 3))
    # Shrinking is refused with INVALID_PARTITIONS.
    try:
        for _, f in a.create_partitions([NewPartitions(args.topic, 1)]).items():
            f.result(timeout=30)
        fail("shrinking a topic succeeded")
    except Exception as e:
        if "INVALID_PARTITIONS" not in str(e):
            fail("unexpected error when shrinking: %s" % e)
    print("grew %s to %d partitions with both admin clients" % (args.topic, n))


def admin_configs(args):
    """DescribeConfigs / IncrementalAlterConfigs / AlterConfigs through both admin clients."""
    from confluent_kafka.admin import (AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource,
                                       ConfigSource)
    a = AdminClient({"bootstrap.servers": args.bootstrap})
    res = ConfigResource(ConfigResource.Type.TOPIC, args.topic)
    desc = a.describe_configs([res])[res].result(timeout=30)
    if desc["retention.ms"].value != "604800000" or not desc["retention.ms"].is_default:
        fail("retention.ms default not described: %r" % desc["retention.ms"])
    inc = ConfigResource(ConfigResource.Type.TOPIC, args.topic, incremental_configs=[
        ConfigEntry("retention.ms", "3600000", incremental_operation=AlterConfigOpType.SET),
        ConfigEntry("cleanup.policy", "compact", incremental_operation=AlterConfigOpType.APPEND)])
    a.incremental_alter_configs([inc])[inc].result(timeout=30)
    desc = a.describe_configs([res])[res].result(timeout=30)
    if desc["retention.ms"].value != "3600000" or desc["retention.ms"].source != ConfigSource.DYNAMIC_TOPIC_CONFIG.value:
        fail("incremental SET not visible: %r" % desc["retention.ms"])
    if desc["cleanup.policy"].value != "delete,compact":
        fail("APPEND not applied: %r" % desc["cleanup.policy"].value)
    bad = ConfigResource(ConfigResource.Type.TOPIC, args.topic, incremental_configs=[
        ConfigEntry("segment.bytes", "tiny", incremental_operation=AlterConfigOpType.SET)])
    try:
        a.incremental_alter_configs([bad])[bad].result(timeout=30)
        fail("invalid value accepted")
    except Exception as e:
        if "INVALID_CONFIG" not in str(e) and "segment.bytes" not in str(e):
            fail("unexpected error for an invalid value: %s" % e)
    from kafka.admin import KafkaAdminClient, ConfigResource as KpResource, ConfigResourceType
    kp = KafkaAdminClient(bootstrap_servers=args.bootstrap)
    # Legacy AlterConfigs (kafka-python defaults to the incremental API).
    kp.alter_configs([KpResource(ConfigResourceType.TOPIC, args.topic, configs={"retention.ms": "7200000"})],
                     incremental=False)
    described = kp.describe_configs([KpResource(ConfigResourceType.TOPIC, args.topic)])
    kp.close()
    text = str(described)
    if "7200000" not in text:
        fail("kafka-python does not see its change: %s" % text[:500])
    # kafka-python re-sends the other overrides with a legacy AlterConfigs
    # (which replaces them all), so they survive.
    desc = a.describe_configs([res])[res].result(timeout=30)
    if desc["cleanup.policy"].value != "delete,compact" or desc["retention.ms"].value != "7200000":
        fail("after AlterConfigs: cleanup.policy=%r retention.ms=%r"
             % (desc["cleanup.policy"].value, desc["retention.ms"].value))
    print("configs described and altered with both admin clients")


# ---------------------------------------------------------------- kafka-python

def kp_produce(args):
    from kafka import KafkaProducer
    rng = random.Random(args.seed)
    rows = []
    for codec in ["gzip", "snappy", "lz4", "zstd", None]:
        prod = KafkaProducer(bootstrap_servers=args.bootstrap, compression_type=codec, acks="all", linger_ms=5,
                             enable_idempotence=True)
        futures = []
        for _ in range(args.count):
            i = args.start
            args.start += 1
            key, value, headers, ts = record(i, rng)
            fut = prod.send(args.topic, key=key.encode() if key else None, value=value.encode(),
                            headers=[(k, v.encode()) for k, v in headers], partition=i % args.partitions,
                            timestamp_ms=ts)
            futures.append((fut, key, value, headers))
        prod.flush(60)
        for fut, key, value, headers in futures:
            md = fut.get(timeout=60)
            rows.append({"p": md.partition, "o": md.offset, "k": key, "v": value, "h": headers,
                         "ts": md.timestamp})
        prod.close()
    check_producer_order(rows)
    append_manifest(args.manifest, rows)
    print("kafka-python produced %d records" % len(rows))


def kp_consume(args):
    from kafka import KafkaConsumer, TopicPartition
    manifest = load_manifest(args.manifest)
    c = KafkaConsumer(bootstrap_servers=args.bootstrap, enable_auto_commit=False, group_id=None,
                      fetch_max_wait_ms=100, consumer_timeout_ms=1000)
    tps = [TopicPartition(args.topic, p) for p in manifest]
    c.assign(tps)
    c.seek_to_beginning(*tps)
    want = {p: len(rows) for p, rows in manifest.items()}
    got = {p: [] for p in manifest}
    deadline = time.time() + 120
    while any(len(got[p]) < want[p] for p in want):
        if time.time() > deadline:
            fail("kafka-python: timed out; have %s of %s" % ({p: len(v) for p, v in got.items()}, want))
        for tp, msgs in c.poll(timeout_ms=500, max_records=2000).items():
            for m in msgs:
                got[tp.partition].append({
                    "o": m.offset, "k": m.key.decode() if m.key is not None else None,
                    "v": m.value.decode(), "h": [[k, v.decode()] for k, v in m.headers], "ts": m.timestamp})
    ends = c.end_offsets(tps)
    for tp in tps:
        if ends[tp] != want[tp.partition]:
            fail("kafka-python end offset of %s is %d, expected %d" % (tp, ends[tp], want[tp.partition]))
    c.close()
    compare(manifest, got, "kafka-python consumer")


# ---------------------------------------------------------------- kcat

def kcat_consume(args):
    manifest = load_manifest(args.manifest)
    kcat = shutil.which("kcat") or shutil.which("kafkacat")
    if not kcat:
        fail("kcat not installed (apt-get install kcat); scripts/test.sh installs it")
    got = {}
    for p in manifest:
        out = subprocess.run([kcat, "-b", args.bootstrap, "-C", "-t", args.topic, "-p", str(p), "-o", "beginning",
                              "-e", "-q", "-f", "%o\t%K\t%k\t%s\t%T\t%h\n"],
                             capture_output=True, text=True, timeout=120)
        if out.returncode != 0:
            fail("kcat failed: %s" % out.stderr)
        rows = []
        for line in out.stdout.splitlines():
            o, klen, k, v, ts, h = line.split("\t")
            headers = [] if h in ("", "%h") else [x.split("=", 1) for x in h.split(",")]
            rows.append({"o": int(o), "k": None if klen == "-1" else k, "v": v, "h": headers, "ts": int(ts)})
        got[p] = rows
    compare(manifest, got, "kcat")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd")
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--manifest")
    ap.add_argument("--partitions", type=int, default=3)
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--codecs", default=",".join(CODECS))
    args = ap.parse_args()
    cmds = {"create": ck_create, "produce-confluent": ck_produce, "consume-confluent": ck_consume,
            "offsets-by-time": ck_offsets_by_time, "acks0": ck_acks0, "admin-grow": admin_grow, "admin-configs": admin_configs,
            "produce-kafka-python": kp_produce, "consume-kafka-python": kp_consume, "consume-kcat": kcat_consume}
    if args.cmd not in cmds:
        fail("unknown command %s" % args.cmd)
    cmds[args.cmd](args)


if __name__ == "__main__":
    main()
