#!/usr/bin/env python3
"""Replication judged by confluent-kafka on a three-node cluster: a topic
with replication.factor=3 and min.insync.replicas=2, an idempotent acks=all
producer writing a numbered sequence per partition, the leader of a
partition killed (SIGKILL) or stopped (SIGTERM, controlled shutdown) in the
middle, and every acknowledged record read back exactly once, in order.

Subcommands (the Rust test starts and restarts the processes):
  failover  --bootstrap B --topic T --pids "1:pid,2:pid,3:pid" --signal KILL|TERM
            creates T, produces, kills the leader of partition 0 after a
            while, keeps producing, verifies. Prints the killed node id.
  isr       --bootstrap B --topic T --size N   waits until every partition's
            ISR has N members.
  verify    --bootstrap B --topic T --expect N  reads T from the start and
            checks the numbered sequence of every partition is 0..count
            without gaps, duplicates or reordering, with N records in all.
Waits poll with a deadline.
"""
import argparse
import os
import signal
import threading
import time

from common import admin, fail, wait_until

PARTITIONS = 3


def topic_partitions(bootstrap, topic):
    """{partition: (leader, replicas, isrs)} from Metadata, or None."""
    md = admin(bootstrap).list_topics(topic=topic, timeout=10)
    t = md.topics.get(topic)
    if t is None or t.error is not None:
        return None
    return {p.id: (p.leader, list(p.replicas), list(p.isrs)) for p in t.partitions.values()}


def create(bootstrap, topic):
    from confluent_kafka.admin import NewTopic
    fut = admin(bootstrap).create_topics(
        [NewTopic(topic, num_partitions=PARTITIONS, replication_factor=3,
                  config={"min.insync.replicas": "2"})])[topic]
    fut.result(timeout=30)

    def ready():
        parts = topic_partitions(bootstrap, topic)
        ok = parts is not None and len(parts) == PARTITIONS and all(
            len(r) == 3 and len(i) == 3 and l >= 0 for l, r, i in parts.values())
        return ok, parts
    parts = wait_until("topic %s with 3 in-sync replicas" % topic, ready, 60)
    leaders = sorted({l for l, _, _ in parts.values()})
    print("created %s: leaders %s" % (topic, leaders))


class SequenceProducer:
    """An idempotent acks=all producer of "<partition>:<seq>" values; keeps
    what was acknowledged, per partition, and the longest gap between acks."""

    def __init__(self, bootstrap, topic):
        from confluent_kafka import Producer
        self.topic = topic
        self.p = Producer({
            "bootstrap.servers": bootstrap,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 2,
            "message.timeout.ms": 120000,
            "retry.backoff.ms": 50,
            "topic.metadata.refresh.interval.ms": 1000,
        })
        self.next = [0] * PARTITIONS
        self.acked = [[] for _ in range(PARTITIONS)]
        self.errors = []
        self.last_ack = time.time()
        self.longest_gap = 0.0
        self.lock = threading.Lock()

    def _delivered(self, err, msg):
        now = time.time()
        with self.lock:
            if err is not None:
                self.errors.append(str(err))
                return
            part, seq = msg.value().decode().split(":")
            self.acked[int(part)].append(int(seq))
            self.longest_gap = max(self.longest_gap, now - self.last_ack)
            self.last_ack = now

    def send(self, n):
        for _ in range(n):
            for part in range(PARTITIONS):
                value = "%d:%d" % (part, self.next[part])
                self.next[part] += 1
                while True:
                    try:
                        self.p.produce(self.topic, value=value.encode(), partition=part,
                                       on_delivery=self._delivered)
                        break
                    except BufferError:
                        self.p.poll(0.05)
            self.p.poll(0)

    def count(self):
        with self.lock:
            return sum(len(a) for a in self.acked)

    def flush(self):
        if self.p.flush(150) != 0:
            fail("producer did not drain; errors %r" % self.errors[:5])


def failover(args):
    create(args.bootstrap, args.topic)
    pids = dict(kv.split(":") for kv in args.pids.split(","))
    prod = SequenceProducer(args.bootstrap, args.topic)
    # Warm up: records acknowledged by three replicas before the fault.
    prod.send(300)
    prod.flush()
    before = prod.count()
    leader = topic_partitions(args.bootstrap, args.topic)[0][0]
    if str(leader) not in pids:
        fail("leader %r of partition 0 is not one of %r" % (leader, pids))
    sig = signal.SIGKILL if args.signal == "KILL" else signal.SIGTERM
    # Produce while the leader dies.
    stop = threading.Event()

    def background():
        while not stop.is_set():
            prod.send(20)
            time.sleep(0.005)
    t = threading.Thread(target=background)
    t.start()
    time.sleep(0.5)
    killed_at = time.time()
    os.kill(int(pids[str(leader)]), sig)
    print("signalled node %s (SIG%s) leading partition 0" % (leader, args.signal))

    def moved():
        parts = topic_partitions(args.bootstrap, args.topic)
        ok = parts is not None and all(l >= 0 and l != leader for l, _, _ in parts.values())
        return ok, parts
    parts = wait_until("leadership to move off node %s" % leader, moved, 60)
    moved_after = time.time() - killed_at
    # Keep producing for a while on the new leaders.
    time.sleep(2.0)
    stop.set()
    t.join(60)
    prod.send(100)
    prod.flush()
    if prod.errors:
        fail("acks=all idempotent produce failed across the failover: %r" % prod.errors[:5])
    after = prod.count()
    if after <= before:
        fail("nothing acknowledged after the fault")
    print("leaders after: %s" % {p: l for p, (l, _, _) in parts.items()})
    print("failover ok: killed %s, acked %d (%d after the fault), leadership moved in %.2fs, "
          "longest ack gap %.2fs" % (leader, after, after - before, moved_after, prod.longest_gap))
    verify_records(args.bootstrap, args.topic, prod.acked)
    print("KILLED=%s" % leader)


def read_all(bootstrap, topic):
    """Every value of the topic, per partition, in offset order."""
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "verify-%d" % time.time_ns(),
                  "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    ends = {}
    for part in range(PARTITIONS):
        lo, hi = c.get_watermark_offsets(TopicPartition(topic, part), timeout=10)
        ends[part] = hi
    c.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
    seen = {p: [] for p in range(PARTITIONS)}
    pos = {p: 0 for p in range(PARTITIONS)}
    deadline = time.time() + 120
    while any(pos[p] < ends[p] for p in range(PARTITIONS)):
        if time.time() > deadline:
            fail("reading back timed out at %r of %r" % (pos, ends))
        m = c.poll(1.0)
        if m is None:
            continue
        if m.error():
            fail("consume error %s" % m.error())
        part, seq = m.value().decode().split(":")
        seen[m.partition()].append((m.offset(), int(seq)))
        pos[m.partition()] = m.offset() + 1
    c.close()
    return seen


def verify_records(bootstrap, topic, acked):
    seen = read_all(bootstrap, topic)
    for part in range(PARTITIONS):
        seqs = [s for _, s in seen[part]]
        if len(set(seqs)) != len(seqs):
            dups = len(seqs) - len(set(seqs))
            fail("partition %d: %d duplicated records" % (part, dups))
        if seqs != sorted(seqs):
            fail("partition %d: records reordered" % part)
        lost = set(acked[part]) - set(seqs)
        if lost:
            fail("partition %d: %d acknowledged records lost, e.g. %r"
                 % (part, len(lost), sorted(lost)[:5]))
    total = sum(len(v) for v in seen.values())
    print("verified: %d records, every acknowledged one exactly once, in order" % total)
    return total


def isr(args):
    def full():
        parts = topic_partitions(args.bootstrap, args.topic)
        ok = parts is not None and all(len(i) == args.size for _, _, i in parts.values())
        return ok, parts
    parts = wait_until("ISR of %d on every partition" % args.size, full, 120)
    print("isr ok: %s" % {p: i for p, (_, _, i) in parts.items()})


def verify(args):
    seen = read_all(args.bootstrap, args.topic)
    for part in range(PARTITIONS):
        seqs = [s for _, s in seen[part]]
        if seqs != list(range(len(seqs))):
            fail("partition %d: not a gapless sequence: %r..." % (part, seqs[:10]))
    total = sum(len(v) for v in seen.values())
    if args.expect is not None and total != args.expect:
        fail("read %d records, expected %d" % (total, args.expect))
    print("verify ok: %d records" % total)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["failover", "isr", "verify"])
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--pids")
    ap.add_argument("--signal", default="KILL", choices=["KILL", "TERM"])
    ap.add_argument("--size", type=int, default=3)
    ap.add_argument("--expect", type=int)
    args = ap.parse_args()
    {"failover": failover, "isr": isr, "verify": verify}[args.cmd](args)


if __name__ == "__main__":
    main()
