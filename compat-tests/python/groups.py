#!/usr/bin/env python3
"""Consumer groups judged by real clients.

Subcommands (each exits non-zero with a message on any difference):
  prepare         create a topic and produce --count records per partition
  balance         3 confluent-kafka consumers (--strategy range|cooperative-sticky)
                  split the partitions; one leaves, the others take over
  commit          consume --count records per partition, commit half-way
                  (with metadata), exit without closing cleanly
  resume          after a broker restart: committed offsets and metadata are
                  still there; a new member resumes exactly after them
  kafka-python    a kafka-python group consumer reads every record
  admin           the admin client lists and describes groups, reads offsets
                  (lag), and deletes an empty group
"""
import argparse
import sys
import threading
import time


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def base_conf(args, group):
    return {"bootstrap.servers": args.bootstrap, "group.id": group, "auto.offset.reset": "earliest",
            "session.timeout.ms": 6000, "heartbeat.interval.ms": 500, "enable.auto.commit": False,
            "topic.metadata.refresh.interval.ms": 2000}


def prepare(args):
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": args.bootstrap})
    for _, f in admin.create_topics([NewTopic(args.topic, num_partitions=args.partitions,
                                              replication_factor=1)]).items():
        f.result(timeout=30)
    p = Producer({"bootstrap.servers": args.bootstrap, "linger.ms": 5})
    for part in range(args.partitions):
        for i in range(args.count):
            p.produce(args.topic, key=b"k", value=("p%d-%d" % (part, i)).encode(), partition=part)
    if p.flush(60):
        fail("not all records delivered")
    print("prepared %s: %d partitions x %d records" % (args.topic, args.partitions, args.count))


class Member(threading.Thread):
    """A confluent-kafka group member polling in its own thread."""

    def __init__(self, args, name, strategy):
        super().__init__(daemon=True)
        from confluent_kafka import Consumer
        self.name = name
        self.lock = threading.Lock()
        self.assigned = set()
        self.seen = []
        self.stop = threading.Event()
        self.error = None
        conf = base_conf(args, args.group)
        conf["partition.assignment.strategy"] = strategy
        conf["client.id"] = name
        self.consumer = Consumer(conf)
        self.cooperative = strategy == "cooperative-sticky"
        self.consumer.subscribe([args.topic], on_assign=self.on_assign, on_revoke=self.on_revoke)

    def on_assign(self, consumer, parts):
        with self.lock:
            if self.cooperative:
                self.assigned |= {p.partition for p in parts}
            else:
                self.assigned = {p.partition for p in parts}

    def on_revoke(self, consumer, parts):
        with self.lock:
            self.assigned -= {p.partition for p in parts}

    def partitions(self):
        with self.lock:
            return set(self.assigned)

    def run(self):
        try:
            while not self.stop.is_set():
                m = self.consumer.poll(0.2)
                if m is None:
                    continue
                if m.error():
                    self.error = str(m.error())
                    continue
                with self.lock:
                    self.seen.append((m.partition(), m.offset()))
            self.consumer.close()
        except Exception as e:  # surfaced by the main thread
            self.error = repr(e)


def wait_until(what, cond, timeout=90):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.2)
    fail("timed out waiting for " + what)


def balance(args):
    members = [Member(args, "m%d" % i, args.strategy) for i in range(3)]
    for m in members:
        m.start()

    def split_evenly(ms, per):
        sets = [m.partitions() for m in ms]
        union = set().union(*sets)
        return (union == set(range(args.partitions)) and sum(len(s) for s in sets) == args.partitions
                and all(len(s) == per for s in sets))

    wait_until("3 members to share %d partitions" % args.partitions,
               lambda: split_evenly(members, args.partitions // 3))
    print("assignment:", [sorted(m.partitions()) for m in members])
    total = args.partitions * args.count
    wait_until("all records consumed", lambda: len({x for m in members for x in m.seen}) >= total)
    # With the split settled, new records are read by exactly the member
    # that owns their partition (earlier reads may predate a rebalance of
    # members that joined late on a slow machine).
    for m in members:
        with m.lock:
            m.seen = []
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": args.bootstrap, "linger.ms": 5})
    for part in range(args.partitions):
        for i in range(10):
            p.produce(args.topic, value=("late-%d-%d" % (part, i)).encode(), partition=part)
    if p.flush(60):
        fail("late records not delivered")
    wait_until("late records consumed", lambda: sum(len(m.seen) for m in members) >= args.partitions * 10)
    owners = {}
    for m in members:
        for part, _ in m.seen:
            owners.setdefault(part, set()).add(m.name)
        if {part for part, _ in m.seen} - m.partitions():
            fail("%s read partitions it does not own" % m.name)
    if len(owners) != args.partitions or any(len(o) != 1 for o in owners.values()):
        fail("each partition must be read by exactly one member: %s" % owners)
    # One member leaves; the other two take its partitions.
    leaving = members.pop()
    leaving.stop.set()
    leaving.join(30)
    wait_until("2 members to take over", lambda: split_evenly(members, args.partitions // 2))
    print("after leave:", [sorted(m.partitions()) for m in members])
    for m in members:
        m.stop.set()
    for m in members:
        m.join(30)
        if m.error and "_PARTITION_EOF" not in m.error:
            fail("%s: %s" % (m.name, m.error))
    print("balance with %s ok" % args.strategy)


def commit(args):
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer(base_conf(args, args.group))
    c.subscribe([args.topic])
    wanted = args.partitions * args.count
    got = 0
    deadline = time.time() + 90
    while got < wanted and time.time() < deadline:
        m = c.poll(0.5)
        if m is None or m.error():
            continue
        got += 1
    if got < wanted:
        fail("consumed %d of %d" % (got, wanted))
    # Commit half-way, so that resuming has records left to read.
    offsets = [TopicPartition(args.topic, p, args.count // 2, metadata="meta-%d" % p) for p in range(args.partitions)]
    res = c.commit(offsets=offsets, asynchronous=False)
    for tp in res:
        if tp.error:
            fail("commit error on %d: %s" % (tp.partition, tp.error))
    print("committed %d partitions at offset %d" % (args.partitions, args.count // 2))
    # Leave without close(): the broker is killed next anyway.


def resume(args):
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer(base_conf(args, args.group))
    committed = c.committed([TopicPartition(args.topic, p) for p in range(args.partitions)], timeout=30)
    for tp in committed:
        if tp.offset != args.count // 2:
            fail("partition %d committed offset %s, expected %d" % (tp.partition, tp.offset, args.count // 2))
        if tp.metadata != "meta-%d" % tp.partition:
            fail("partition %d metadata %r did not round-trip" % (tp.partition, tp.metadata))
    c.subscribe([args.topic])
    firsts = {}
    deadline = time.time() + 90
    while len(firsts) < args.partitions and time.time() < deadline:
        m = c.poll(0.5)
        if m is None or m.error():
            continue
        firsts.setdefault(m.partition(), m.offset())
    c.close()
    if firsts != {p: args.count // 2 for p in range(args.partitions)}:
        fail("resumed at %s, expected offset %d everywhere" % (firsts, args.count // 2))
    print("resumed after the committed offsets; metadata round-tripped")


def kafka_python(args):
    from kafka import KafkaConsumer, TopicPartition
    c = KafkaConsumer(args.topic, bootstrap_servers=args.bootstrap, group_id=args.group,
                      auto_offset_reset="earliest", enable_auto_commit=True, auto_commit_interval_ms=500,
                      session_timeout_ms=6000, heartbeat_interval_ms=500)
    ends = c.end_offsets([TopicPartition(args.topic, p) for p in range(args.partitions)])
    total = sum(ends.values())
    seen = set()
    deadline = time.time() + 90
    while len(seen) < total and time.time() < deadline:
        for tp, msgs in c.poll(timeout_ms=500).items():
            for m in msgs:
                seen.add((tp.partition, m.offset))
    c.commit()
    c.close()
    if len(seen) != total:
        fail("kafka-python group consumer read %d of %d" % (len(seen), total))
    print("kafka-python group consumer read every record (%d)" % total)


def admin(args):
    from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
    from confluent_kafka.admin import AdminClient
    a = AdminClient({"bootstrap.servers": args.bootstrap})
    listed = a.list_consumer_groups(request_timeout=30).result()
    ids = {g.group_id for g in listed.valid}
    if args.group not in ids:
        fail("group %s not listed (%s)" % (args.group, ids))
    desc = a.describe_consumer_groups([args.group], request_timeout=30)[args.group].result()
    print("described %s: state=%s members=%d" % (args.group, desc.state, len(desc.members)))
    req = ConsumerGroupTopicPartitions(args.group, [TopicPartition(args.topic, p) for p in range(args.partitions)])
    offs = a.list_consumer_group_offsets([req])[args.group].result()
    for tp in offs.topic_partitions:
        if tp.offset != args.count // 2:
            fail("admin sees offset %s for partition %d" % (tp.offset, tp.partition))
    res = a.delete_consumer_groups([args.group], request_timeout=30)
    res[args.group].result()
    listed = a.list_consumer_groups(request_timeout=30).result()
    if args.group in {g.group_id for g in listed.valid}:
        fail("deleted group still listed")
    print("admin list/describe/offsets/delete ok")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd")
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--group", default="g")
    ap.add_argument("--partitions", type=int, default=6)
    ap.add_argument("--count", type=int, default=100)
    ap.add_argument("--strategy", default="range")
    args = ap.parse_args()
    cmds = {"prepare": prepare, "balance": balance, "commit": commit, "resume": resume,
            "kafka-python": kafka_python, "admin": admin}
    if args.cmd not in cmds:
        fail("unknown command " + args.cmd)
    cmds[args.cmd](args)


if __name__ == "__main__":
    main()
