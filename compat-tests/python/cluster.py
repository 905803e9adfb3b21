#!/usr/bin/env python3
"""A three-node cluster judged by confluent-kafka: topics spread over the
nodes, produce and group-consume through one bootstrap node, the active
controller lost, new topics on the survivors, the dead node rejoining with
identical metadata everywhere.

Each subcommand is one step; the Rust test kills and restarts processes in
between. Waits poll with a deadline.
"""
import argparse
import time
import uuid

from common import admin, fail, wait_until


def wait_for(what, get, ok=lambda v: v is not None, timeout=60):
    """Polls get() until ok(value); returns that same value."""
    def check():
        v = get()
        return ok(v), v
    return wait_until(what, check, timeout)


def brokers(bootstrap):
    md = admin(bootstrap).list_topics(timeout=10)
    return sorted(md.brokers.keys()), md


def leaders(bootstrap, topic):
    md = admin(bootstrap).list_topics(topic=topic, timeout=10)
    t = md.topics.get(topic)
    if t is None or t.error is not None:
        return None
    return {p.id: p.leader for p in t.partitions.values()}


def controller(bootstrap):
    """The controller id a client is given: as in Kafka's KRaft mode, a live
    broker that forwards admin changes to the quorum leader."""
    return admin(bootstrap).describe_cluster().result(timeout=10).controller.id


def produce_consume(bootstrap, topic, n, group=True):
    """Produces n keyed records through `bootstrap`, then reads them all
    back through the same bootstrap: with a consumer group, or (group=False)
    by assigning every partition (a group's coordinator may be the dead
    node: `__consumer_offsets` has one copy, as with Kafka's
    offsets.topic.replication.factor=1)."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
    delivered = []
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "enable.idempotence": True})
    for i in range(n):
        p.produce(topic, key=b"k%d" % i, value=b"v%d" % i,
                  on_delivery=lambda e, m: delivered.append((e, m.partition())))
    if p.flush(60) != 0:
        fail("produce did not finish")
    errors = [e for e, _ in delivered if e is not None]
    if errors or len(delivered) != n:
        fail("produce errors: %r" % errors[:3])
    # Without a group (assigned partitions) nothing is committed: a commit
    # on close would wait for a coordinator that may be the dead node.
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "g-" + uuid.uuid4().hex,
                  "auto.offset.reset": "earliest", "enable.auto.commit": group})
    if group:
        c.subscribe([topic])
    else:
        parts = leaders(bootstrap, topic) or {}
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in parts])
    got = set()
    deadline = time.time() + 60
    while len(got) < n and time.time() < deadline:
        m = c.poll(0.5)
        if m is None or m.error():
            continue
        got.add(m.value())
    if group and len(got) == n:
        # The group's coordinator commits offsets of partitions other nodes
        # lead; every partition must be accepted.
        done = c.commit(asynchronous=False)
        bad = [(tp.partition, tp.error) for tp in done if tp.error is not None]
        if bad or len(done) != len(set(part for _, part in delivered)):
            fail("group commit failed for %r (committed %d partitions)" % (bad, len(done)))
    c.close()
    if len(got) != n:
        fail("group consumer read %d of %d records" % (len(got), n))
    return sorted({part for _, part in delivered})


def formed(args):
    from confluent_kafka.admin import NewTopic
    nodes = wait_for("three brokers in metadata", lambda: brokers(args.bootstrap)[0],
                     lambda v: v == [1, 2, 3])
    a = admin(args.bootstrap)
    a.create_topics([NewTopic("spread", num_partitions=6, replication_factor=1)])["spread"].result(timeout=30)
    ls = wait_for("leaders of spread", lambda: leaders(args.bootstrap, "spread"))
    per_node = {n: sorted(p for p, l in ls.items() if l == n) for n in nodes}
    if any(len(ps) != 2 for ps in per_node.values()):
        fail("6 partitions not spread 2-2-2 over the nodes: %r" % per_node)
    parts = produce_consume(args.bootstrap, "spread", 600)
    if parts != list(range(6)):
        fail("records did not reach every partition: %r" % parts)
    print("formed: 3 brokers, spread %r, 600 records through one bootstrap" % per_node)


def kill_with_admin(args):
    """Kills the quorum leader (pid given) under a warmed-up admin client and
    keeps using that client: no Metadata answer may name the dead node as
    controller, and a topic is created within the election and session
    timeouts (librdkafka used to wait > 60 s on a dead controller)."""
    import os
    import signal
    from confluent_kafka.admin import NewTopic
    dead = args.dead
    a = admin(args.bootstrap)
    md = a.list_topics(timeout=10)
    if sorted(md.brokers) != [1, 2, 3]:
        fail("not three brokers before the kill: %r" % sorted(md.brokers))
    os.kill(args.dead_pid, signal.SIGKILL)
    start = time.time()
    seen = set()
    while time.time() - start < 4:
        try:
            md = a.list_topics(timeout=5)
        except Exception:  # a request to the dead node fails; retried
            continue
        seen.add(md.controller_id)
        if md.controller_id == dead or md.controller_id not in md.brokers:
            fail("metadata named controller %d %.2fs after node %d died (brokers %r)"
                 % (md.controller_id, time.time() - start, dead, sorted(md.brokers)))
        time.sleep(0.05)
    a.create_topics([NewTopic("through-old-admin", num_partitions=2, replication_factor=1)])[
        "through-old-admin"].result(timeout=30)
    elapsed = time.time() - start
    if elapsed > 20:
        fail("the existing admin client created a topic %.1fs after the kill" % elapsed)
    print("killed %d: controllers seen %r, topic created through the old admin %.1fs after the kill"
          % (dead, sorted(seen), elapsed))


def after_kill(args):
    """Runs against a survivor after the controller was killed."""
    from confluent_kafka.admin import NewTopic
    dead = args.dead
    start = time.time()
    live = wait_for("the dead node to leave the metadata", lambda: brokers(args.bootstrap)[0],
                    lambda v: dead not in v)
    a = admin(args.bootstrap)
    a.create_topics([NewTopic("after-kill", num_partitions=4, replication_factor=1)])["after-kill"].result(timeout=30)
    elapsed = time.time() - start
    # Election plus broker.session.timeout.ms (3 s in the test) bound it.
    if elapsed > 20:
        fail("creating a topic took %.1fs after the controller died" % elapsed)
    ls = wait_for("leaders of after-kill", lambda: leaders(args.bootstrap, "after-kill"))
    if set(ls.values()) - set(live):
        fail("partitions placed on a dead broker: %r (live %r)" % (ls, live))
    produce_consume(args.bootstrap, "after-kill", 200, group=False)
    named = controller(args.bootstrap)
    if named == dead or named not in live:
        fail("controller %r is not a live broker (live %r)" % (named, live))
    print("after kill: topic created %.1fs after the kill was seen, leaders %r"
          % (elapsed, sorted(set(ls.values()))))


def rejoined(args):
    """Every node serves the same metadata once the dead node is back."""
    boots = args.all.split(",")
    for b in boots:
        wait_for("three brokers seen by %s" % b, lambda b=b: brokers(b)[0], lambda v: v == [1, 2, 3])

    def view(b):
        md = admin(b).list_topics(timeout=10)
        topics = {name: sorted((p.id, p.leader) for p in t.partitions.values())
                  for name, t in md.topics.items()}
        return topics
    wait_until("identical metadata on every node",
               lambda: (len({repr(view(b)) for b in boots}) == 1, [view(b) for b in boots]), 60)
    topics = view(boots[0])
    ctls = [controller(b) for b in boots]
    if "spread" not in topics or "after-kill" not in topics or any(c not in (1, 2, 3) for c in ctls):
        fail("topics or controller missing after rejoin: %r controllers %r" % (sorted(topics), ctls))
    # The rejoined node serves its partitions again.
    produce_consume(boots[0], "spread", 60)
    print("rejoined: %d topics identical on %d nodes" % (len(view(boots[0])), len(boots)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd")
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--topic", default="")
    ap.add_argument("--dead", type=int, default=0)
    ap.add_argument("--dead-pid", type=int, default=0)
    ap.add_argument("--all", default="")
    args = ap.parse_args()
    cmds = {"formed": formed, "kill-with-admin": kill_with_admin, "after-kill": after_kill,
            "rejoined": rejoined}
    if args.cmd not in cmds:
        fail("unknown command %s" % args.cmd)
    cmds[args.cmd](args)


if __name__ == "__main__":
    main()
