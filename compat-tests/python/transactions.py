#!/usr/bin/env python3
"""Kafka transactions (KIP-98, KIP-447) judged by real clients.

Subcommands (each exits non-zero with `FAIL: ...` on any difference from
what Apache Kafka would do, and prints one success line):

  commit-abort-commit  a confluent-kafka transactional producer commits, aborts
                       and commits a transaction over 3 partitions;
                       read_committed sees exactly the committed records (in
                       order, once, positions past the control records),
                       read_uncommitted sees all of them
  open-txn-blocks      an open transaction holds the last stable offset: a
                       read_committed consumer sees neither its records nor a
                       later non-transactional record until it commits
  fence                a second producer with the same transactional.id fences
                       the first: the first's commit fails fatally, its
                       records stay hidden
  ctp-setup            input topic with --count records, empty output topic
  ctp-run              consume-transform-produce with
                       send_offsets_to_transaction; with --die-after K it
                       commits K transactions, then dies mid-transaction
  ctp-verify           every input record appears exactly once in the
                       committed output; the dead run's outputs are in the log
                       but hidden; the group's committed offsets are at the end
  kill9-begin          commit one transaction, leave a second one open
                       (flushed) and exit without ending it
  kill9-after          after a broker kill -9 and restart: the open
                       transaction's records are hidden; a new producer with the
                       same transactional.id aborts it and commits its own
  kafka-python-txn     kafka-python's transactional producer commits, aborts,
                       commits; judged by confluent-kafka and kafka-python
                       read_committed consumers

Waits poll with a deadline. The only fixed-length waits are the short
windows in which a read_committed consumer must NOT receive records (an
absence cannot be awaited).
"""
import argparse
import os
import threading
import time
import uuid

import common
from common import fail

WAIT = 60          # seconds for any single awaited condition
TXN_TIMEOUT = 60   # seconds for a transactional API call
QUIET = 3.0        # seconds a read_committed consumer must stay silent


def wait_until(what, check, timeout=WAIT):
    return common.wait_until(what, check, timeout)


# ------------------------------------------------------------------ helpers

def create_topic(args, topic, partitions):
    from confluent_kafka.admin import NewTopic
    fs = common.admin(args.bootstrap).create_topics(
        [NewTopic(topic, num_partitions=partitions, replication_factor=1)])
    try:
        fs[topic].result(timeout=30)
    except Exception as e:  # noqa: BLE001 - reported, not swallowed
        fail("creating topic %s: %r" % (topic, e))


def txn_producer(args, txn_id, **extra):
    from confluent_kafka import Producer
    conf = {"bootstrap.servers": args.bootstrap, "transactional.id": txn_id, "linger.ms": 5}
    conf.update(extra)
    return Producer(conf)


def kafka_call(what, fn, *a):
    """Runs a confluent-kafka transactional call; fails with the KafkaError's
    details if it raises."""
    from confluent_kafka import KafkaException
    try:
        return fn(*a)
    except KafkaException as e:
        err = e.args[0] if e.args else e
        fail("%s: %s" % (what, describe(err)))


def describe(err):
    try:
        return "%s (code %s, fatal=%s, retriable=%s, txn_requires_abort=%s)" % (
            err.str(), err.name(), err.fatal(), err.retriable(), err.txn_requires_abort())
    except AttributeError:
        return repr(err)


class Deliveries:
    """Delivery-report collector: offsets per value, errors."""

    def __init__(self):
        self.errors = []
        self.offsets = {}

    def __call__(self, err, msg):
        if err is not None:
            self.errors.append((msg.value(), err))
        else:
            self.offsets[msg.value().decode()] = (msg.partition(), msg.offset())

    def check(self, what):
        if self.errors:
            fail("%s: %d delivery errors, first: %r" % (what, len(self.errors), self.errors[:3]))


def produce_values(p, topic, values, partitions, deliveries):
    """values[i] goes to partition i % partitions with key k-<i>."""
    for i, v in enumerate(values):
        p.produce(topic, key=("k-%d" % i).encode(), value=v.encode(), partition=i % partitions,
                  on_delivery=deliveries)
        p.poll(0)


def flush(p, what):
    left = p.flush(WAIT)
    if left:
        fail("%s: %d records still undelivered after %ds" % (what, left, WAIT))


def transaction(p, topic, values, parts, what, end):
    """One transaction of `values` (see produce_values): begun, produced and
    flushed, so its records are in the log; then ended with end="commit" or
    "abort", or left open (end="open"). Returns the checked deliveries."""
    kafka_call("%s begin_transaction" % what, p.begin_transaction)
    d = Deliveries()
    produce_values(p, topic, values, parts, d)
    flush(p, what)
    d.check(what)
    if end == "commit":
        kafka_call("%s commit_transaction" % what, p.commit_transaction, TXN_TIMEOUT)
    elif end == "abort":
        kafka_call("%s abort_transaction" % what, p.abort_transaction, TXN_TIMEOUT)
    return d


def reader(args, isolation, group=None):
    from confluent_kafka import Consumer
    return Consumer({"bootstrap.servers": args.bootstrap,
                     "group.id": group or "txn-reader-" + uuid.uuid4().hex,
                     "enable.auto.commit": False, "auto.offset.reset": "earliest",
                     "isolation.level": isolation, "enable.partition.eof": False})


def end_offsets(consumer, topic, partitions):
    """ListOffsets(latest) with the consumer's isolation level: the high
    watermark for read_uncommitted, the last stable offset for
    read_committed."""
    from confluent_kafka import TopicPartition
    return [consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=30, cached=False)[1]
            for p in range(partitions)]


def settled_ends(args, topic, partitions):
    """Waits until no transaction is open on any partition (the last stable
    offset equals the high watermark, so every marker is written) and
    returns the high watermarks."""
    from confluent_kafka import KafkaException
    hw_c = reader(args, "read_uncommitted")
    lso_c = reader(args, "read_committed")

    def check():
        try:
            hw = end_offsets(hw_c, topic, partitions)
            lso = end_offsets(lso_c, topic, partitions)
        except KafkaException as e:
            return False, repr(e)
        return hw == lso, {"high watermarks": hw, "last stable offsets": lso}
    state = wait_until("%s: last stable offsets to reach the high watermarks" % topic, check)
    hw_c.close()
    lso_c.close()
    return state["high watermarks"]


def positions(consumer, topic, partitions):
    from confluent_kafka import TopicPartition
    return [tp.offset for tp in consumer.position([TopicPartition(topic, p) for p in range(partitions)])]


def take(consumer, records, timeout):
    """One poll; appends (offset, value) to records[partition]."""
    from confluent_kafka import KafkaError
    m = consumer.poll(timeout)
    if m is None:
        return False
    if m.error():
        if m.error().code() == KafkaError._PARTITION_EOF:
            return False
        fail("consumer error: %s" % describe(m.error()))
    records.setdefault(m.partition(), []).append(
        (m.offset(), m.value().decode() if m.value() is not None else None))
    return True


def read_until(consumer, topic, ends, what, records=None):
    """Polls until the consumer's position on every partition has reached
    ends[p]; returns {partition: [(offset, value)]}."""
    records = {} if records is None else records
    deadline = time.time() + WAIT
    while True:
        pos = positions(consumer, topic, len(ends))
        if all(e == 0 or p >= e for p, e in zip(pos, ends)):
            return records
        if time.time() > deadline:
            fail("%s: positions %s did not reach the end offsets %s within %ds; read so far: %s"
                 % (what, pos, ends, WAIT, summary(records)))
        take(consumer, records, 0.5)


def read_all(args, topic, ends, isolation):
    from confluent_kafka import OFFSET_BEGINNING, TopicPartition
    c = reader(args, isolation)
    c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(len(ends))])
    recs = read_until(c, topic, ends, "%s reader of %s" % (isolation, topic))
    c.close()
    return recs


def values_of(records):
    """{partition: [value]} in offset order (and checks offsets increase)."""
    out = {}
    for p, rs in records.items():
        offs = [o for o, _ in rs]
        if offs != sorted(set(offs)):
            fail("partition %d delivered offsets out of order or twice: %s" % (p, offs))
        out[p] = [v for _, v in rs]
    return out


def summary(records):
    return {p: (len(rs), rs[:3], rs[-3:]) for p, rs in sorted(records.items())}


def expect_values(what, got, want):
    """got, want: {partition: [value]}; exact, per-partition order."""
    parts = sorted(set(got) | set(want))
    for p in parts:
        g, w = got.get(p, []), want.get(p, [])
        if g != w:
            missing = [v for v in w if v not in g]
            extra = [v for v in g if v not in w]
            fail("%s: partition %d has %d records, expected %d; missing %s; unexpected %s; got %s"
                 % (what, p, len(g), len(w), missing[:5], extra[:5], g[:10]))


def split(values, partitions):
    """{p: values for partition p} for values produced with produce_values."""
    out = {p: [] for p in range(partitions)}
    for i, v in enumerate(values):
        out[i % partitions].append(v)
    return {p: vs for p, vs in out.items() if vs}


# ---------------------------------------------------------- commit/abort/commit

def commit_abort_commit(args):
    topic, parts, n = args.topic, args.partitions, args.count
    create_topic(args, topic, parts)
    p = txn_producer(args, args.txn_id or "cac-" + uuid.uuid4().hex)
    kafka_call("init_transactions", p.init_transactions, TXN_TIMEOUT)
    batches = {t: ["t%d-%d" % (t, i) for i in range(n)] for t in (1, 2, 3)}
    for t, values in batches.items():
        transaction(p, topic, values, parts, "txn %d" % t, "abort" if t == 2 else "commit")
    ends = settled_ends(args, topic, parts)
    per_part = split(list(range(n)), parts)
    # Each transaction leaves one control record on every partition it wrote.
    want_ends = [3 * (len(per_part[q]) + 1) if q in per_part else 0 for q in range(parts)]
    if ends != want_ends:
        fail("high watermarks %s, expected %s (records + one marker per transaction)" % (ends, want_ends))
    committed = values_of(read_all(args, topic, ends, "read_committed"))
    want = {q: split(batches[1], parts).get(q, []) + split(batches[3], parts).get(q, [])
            for q in range(parts)}
    expect_values("read_committed", committed, want)
    uncommitted = values_of(read_all(args, topic, ends, "read_uncommitted"))
    want_all = {q: sum((split(batches[t], parts).get(q, []) for t in (1, 2, 3)), [])
                for q in range(parts)}
    expect_values("read_uncommitted", uncommitted, want_all)
    print("read_committed: %d records, read_uncommitted: %d records, end offsets %s"
          % (sum(map(len, committed.values())), sum(map(len, uncommitted.values())), ends))
    print("commit-abort-commit ok")


# ---------------------------------------------------------- open txn blocks LSO

def open_txn_blocks(args):
    from confluent_kafka import OFFSET_BEGINNING, Producer, TopicPartition
    topic, k = args.topic, args.count
    create_topic(args, topic, 1)
    plain = Producer({"bootstrap.servers": args.bootstrap, "linger.ms": 0, "acks": "all"})
    pd = Deliveries()
    plain.produce(topic, value=b"before", partition=0, on_delivery=pd)
    flush(plain, "before")
    tp = txn_producer(args, args.txn_id or "open-" + uuid.uuid4().hex)
    kafka_call("init_transactions", tp.init_transactions, TXN_TIMEOUT)
    kafka_call("begin_transaction", tp.begin_transaction)
    td = Deliveries()
    open_values = ["open-%d" % i for i in range(k)]
    for v in open_values:
        tp.produce(topic, value=v.encode(), partition=0, on_delivery=td)
    flush(tp, "open transaction")
    td.check("open transaction")
    plain.produce(topic, value=b"after-open", partition=0, on_delivery=pd)
    flush(plain, "after-open")
    pd.check("non-transactional records")
    first_open = min(o for _, o in td.offsets.values())
    after_off = pd.offsets["after-open"][1]
    if not (pd.offsets["before"][1] < first_open and after_off > max(o for _, o in td.offsets.values())):
        fail("unexpected offsets: before %s, open %s, after %s" % (pd.offsets["before"], td.offsets, after_off))

    # ListOffsets: read_committed ends at the open transaction's first offset.
    hw_c, lso_c = reader(args, "read_uncommitted"), reader(args, "read_committed")
    hw, lso = end_offsets(hw_c, topic, 1)[0], end_offsets(lso_c, topic, 1)[0]
    if hw != after_off + 1:
        fail("high watermark %d, expected %d" % (hw, after_off + 1))
    if lso != first_open:
        fail("read_committed end offset (last stable offset) %d, expected %d: the open transaction's first offset"
             % (lso, first_open))

    # Everything is in the log: read_uncommitted sees it.
    unc = values_of(read_all(args, topic, [hw], "read_uncommitted")).get(0, [])
    if unc != ["before"] + open_values + ["after-open"]:
        fail("read_uncommitted saw %s" % unc)

    # read_committed stops at the last stable offset.
    c = reader(args, "read_committed")
    c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    recs = read_until(c, topic, [first_open], "read_committed up to the last stable offset")
    deadline = time.time() + QUIET
    while time.time() < deadline:
        take(c, recs, 0.2)
    seen = values_of(recs).get(0, [])
    if seen != ["before"]:
        fail("while the transaction is open read_committed saw %s, expected only ['before']" % seen)
    pos = positions(c, topic, 1)[0]
    if pos != first_open:
        fail("read_committed position %d while the transaction is open, expected %d" % (pos, first_open))
    print("open transaction holds read_committed at offset %d (high watermark %d)" % (lso, hw))

    kafka_call("commit_transaction", tp.commit_transaction, TXN_TIMEOUT)
    ends = settled_ends(args, topic, 1)
    if ends != [hw + 1]:
        fail("after commit the end offset is %s, expected %d (one commit marker)" % (ends, hw + 1))
    read_until(c, topic, ends, "read_committed after the commit", recs)
    c.close()
    seen = values_of(recs).get(0, [])
    want = ["before"] + open_values + ["after-open"]
    if seen != want:
        fail("after commit read_committed saw %s, expected %s" % (seen, want))
    print("open-txn-blocks ok")


# -------------------------------------------------------------------- fencing

def fence(args):
    from confluent_kafka import KafkaError, KafkaException
    topic, parts, n = args.topic, 2, args.count
    create_topic(args, topic, parts)
    txn_id = args.txn_id or "fence-" + uuid.uuid4().hex
    a = txn_producer(args, txn_id)
    kafka_call("A init_transactions", a.init_transactions, TXN_TIMEOUT)
    a_values = ["a-%d" % i for i in range(n)]
    transaction(a, topic, a_values, parts, "A", "open")

    b = txn_producer(args, txn_id)
    # Must abort A's open transaction and bump the epoch.
    kafka_call("B init_transactions", b.init_transactions, TXN_TIMEOUT)

    fenced = {KafkaError._FENCED, KafkaError.PRODUCER_FENCED, KafkaError.INVALID_PRODUCER_EPOCH}
    try:
        a.commit_transaction(TXN_TIMEOUT)
    except KafkaException as e:
        err = e.args[0]
        if not (err.fatal() or err.code() in fenced):
            fail("zombie A's commit failed, but not as fenced: %s" % describe(err))
        print("zombie commit refused: %s" % describe(err))
    else:
        fail("zombie producer A committed after B took over its transactional.id")

    b_values = ["b-%d" % i for i in range(n)]
    transaction(b, topic, b_values, parts, "B", "commit")
    ends = settled_ends(args, topic, parts)
    committed = values_of(read_all(args, topic, ends, "read_committed"))
    expect_values("read_committed after fencing", committed, split(b_values, parts))
    uncommitted = values_of(read_all(args, topic, ends, "read_uncommitted"))
    want_all = {q: split(a_values, parts).get(q, []) + split(b_values, parts).get(q, [])
                for q in range(parts)}
    expect_values("read_uncommitted after fencing", uncommitted, want_all)
    print("fence ok")


# ------------------------------------------------- consume-transform-produce

def ctp_setup(args):
    from confluent_kafka import Producer
    create_topic(args, args.topic, args.partitions)
    create_topic(args, args.output, args.partitions)
    p = Producer({"bootstrap.servers": args.bootstrap, "linger.ms": 5, "enable.idempotence": True})
    d = Deliveries()
    produce_values(p, args.topic, ["in-%d" % i for i in range(args.count)], args.partitions, d)
    flush(p, "input")
    d.check("input")
    print("ctp input %s: %d records over %d partitions; output %s created"
          % (args.topic, args.count, args.partitions, args.output))


def ctp_run(args):
    from confluent_kafka import Consumer, KafkaException, TopicPartition
    if not args.txn_id or not args.group:
        fail("ctp-run needs --txn-id and --group")
    parts = args.partitions
    probe = reader(args, "read_uncommitted")
    input_ends = end_offsets(probe, args.topic, parts)
    probe.close()
    if sum(input_ends) != args.count:
        fail("input %s holds %d records, expected %d" % (args.topic, sum(input_ends), args.count))

    # The producer first: init_transactions fences a previous incarnation and
    # aborts its open transaction (and its pending offsets) before the
    # consumer fetches the group's committed offsets.
    p = txn_producer(args, args.txn_id)
    kafka_call("init_transactions", p.init_transactions, TXN_TIMEOUT)
    c = Consumer({"bootstrap.servers": args.bootstrap, "group.id": args.group,
                  "isolation.level": "read_committed", "enable.auto.commit": False,
                  "auto.offset.reset": "earliest", "session.timeout.ms": 6000,
                  "heartbeat.interval.ms": 500, "max.poll.interval.ms": 30000})
    c.subscribe([args.topic])
    all_tps = [TopicPartition(args.topic, q) for q in range(parts)]
    commits = 0
    transformed = 0
    deadline = time.time() + 180

    def committed_offsets():
        """The group's committed input offsets, or the error reading them
        (OffsetFetch may report pending transactional offsets as unstable
        while markers are being written)."""
        try:
            return [tp.offset for tp in c.committed(all_tps, timeout=30)]
        except KafkaException as e:
            return repr(e)

    while True:
        if time.time() > deadline:
            fail("consume-transform-produce did not finish within 180s: %d transactions, %d records; "
                 "assignment %s; committed %s of %s"
                 % (commits, transformed, [tp.partition for tp in c.assignment()],
                    committed_offsets(), input_ends))
        msgs = c.consume(num_messages=args.batch, timeout=1.0)
        batch = []
        for m in msgs:
            if m.error():
                fail("consumer error: %s" % describe(m.error()))
            batch.append(m)
        if not batch:
            # Done when the group's committed offsets (written by the
            # transactions) are at the input's end. A partition finished by
            # an earlier run is never consumed here, so positions can't tell.
            if {tp.partition for tp in c.assignment()} == set(range(parts)) \
                    and committed_offsets() == input_ends:
                if args.die_after is not None:
                    fail("input exhausted after %d transactions, before dying mid-transaction" % commits)
                break
            continue
        dying = args.die_after is not None and commits >= args.die_after
        kafka_call("begin_transaction", p.begin_transaction)
        d = Deliveries()
        for m in batch:
            p.produce(args.output, key=m.key(), value=b"out-" + m.value(), partition=m.partition(),
                      on_delivery=d)
            p.poll(0)
        offsets = [tp for tp in c.position(c.assignment()) if tp.offset >= 0]
        if dying:
            flush(p, "the dying transaction")
            d.check("the dying transaction")
            kafka_call("send_offsets_to_transaction", p.send_offsets_to_transaction, offsets,
                       c.consumer_group_metadata(), TXN_TIMEOUT)
            print("ctp-run died mid-transaction after %d commits, %d outputs flushed and offsets %s sent"
                  % (commits, len(batch), [(tp.partition, tp.offset) for tp in offsets]), flush=True)
            os._exit(0)
        kafka_call("send_offsets_to_transaction", p.send_offsets_to_transaction, offsets,
                   c.consumer_group_metadata(), TXN_TIMEOUT)
        kafka_call("commit_transaction", p.commit_transaction, TXN_TIMEOUT)
        d.check("transaction %d" % commits)
        commits += 1
        transformed += len(batch)
    c.close()
    print("ctp-run ok: %d transactions, %d records transformed in this run" % (commits, transformed))


def ctp_verify(args):
    from confluent_kafka import TopicPartition
    if not args.group:
        fail("ctp-verify needs --group")
    parts, m = args.partitions, args.count
    ends = settled_ends(args, args.output, parts)
    committed = values_of(read_all(args, args.output, ends, "read_committed"))
    # Output partition = input partition; input partition q holds in-i for
    # i % parts == q, in order.
    want = {q: ["out-in-%d" % i for i in range(m) if i % parts == q] for q in range(parts)}
    expect_values("committed output", committed, want)
    uncommitted = values_of(read_all(args, args.output, ends, "read_uncommitted"))
    total = sum(map(len, uncommitted.values()))
    valid = {"out-in-%d" % i for i in range(m)}
    stray = [v for vs in uncommitted.values() for v in vs if v not in valid]
    if stray:
        fail("output holds records that are no transform of an input: %s" % stray[:5])
    if total <= m:
        fail("read_uncommitted sees %d output records: the dead run's aborted outputs are missing "
             "(expected more than %d)" % (total, m))
    g = reader(args, "read_committed", group=args.group)
    got = [tp.offset for tp in g.committed([TopicPartition(args.topic, q) for q in range(parts)], timeout=30)]
    g.close()
    probe = reader(args, "read_uncommitted")
    input_ends = end_offsets(probe, args.topic, parts)
    probe.close()
    if got != input_ends:
        fail("group %s committed offsets %s, expected the input's end %s" % (args.group, got, input_ends))
    print("ctp-verify ok: %d inputs transformed exactly once; %d aborted outputs hidden"
          % (m, total - m))


# ----------------------------------------------------------- kill -9 broker

def kill9_begin(args):
    if not args.txn_id:
        fail("kill9-begin needs --txn-id")
    topic, parts, n = args.topic, 3, args.count
    create_topic(args, topic, parts)
    # A long transaction timeout: the broker must not abort the open
    # transaction on its own before kill9-after runs.
    p = txn_producer(args, args.txn_id, **{"transaction.timeout.ms": 300000})
    kafka_call("init_transactions", p.init_transactions, TXN_TIMEOUT)
    transaction(p, topic, ["committed-%d" % i for i in range(n)], parts, "committed transaction",
                "commit")
    d = transaction(p, topic, ["open-%d" % i for i in range(n)], parts, "open transaction", "open")
    print("open txn flushed: %s" % sorted(d.offsets.values()), flush=True)
    os._exit(0)


def kill9_after(args):
    from confluent_kafka import OFFSET_BEGINNING, TopicPartition
    if not args.txn_id:
        fail("kill9-after needs --txn-id")
    topic, parts, n = args.topic, 3, args.count
    committed_values = ["committed-%d" % i for i in range(n)]
    open_values = ["open-%d" % i for i in range(n)]

    hw_c, lso_c = reader(args, "read_uncommitted"), reader(args, "read_committed")
    hw = wait_until("the restarted broker to answer ListOffsets",
                    lambda: try_ends(hw_c, topic, parts))
    lso = end_offsets(lso_c, topic, parts)
    hw_c.close()
    lso_c.close()
    # Per partition: committed records, a commit marker, the open records.
    per_part = {q: len(vs) for q, vs in split(committed_values, parts).items()}
    want_hw = [2 * per_part.get(q, 0) + 1 for q in range(parts)]
    if hw != want_hw:
        fail("after restart the high watermarks are %s, expected %s (committed + marker + open records)"
             % (hw, want_hw))
    still_open = [per_part.get(q, 0) + 1 for q in range(parts)]
    if lso != still_open:
        fail("after restart the last stable offsets are %s; with the transaction still open they "
             "must be %s (its first offsets)" % (lso, still_open))

    c = reader(args, "read_committed")
    c.assign([TopicPartition(topic, q, OFFSET_BEGINNING) for q in range(parts)])
    recs = read_until(c, topic, lso, "read_committed up to the last stable offsets")
    deadline = time.time() + QUIET
    while time.time() < deadline:
        take(c, recs, 0.2)
    c.close()
    expect_values("read_committed while the dangling transaction is open", values_of(recs),
                  split(committed_values, parts))

    p = txn_producer(args, args.txn_id)
    # Fences the dead producer and aborts its transaction.
    kafka_call("init_transactions after restart", p.init_transactions, TXN_TIMEOUT)
    after_values = ["after-%d" % i for i in range(n)]
    transaction(p, topic, after_values, parts, "after transaction", "commit")
    ends = settled_ends(args, topic, parts)
    committed = values_of(read_all(args, topic, ends, "read_committed"))
    want = {q: split(committed_values, parts).get(q, []) + split(after_values, parts).get(q, [])
            for q in range(parts)}
    expect_values("read_committed after the dangling transaction was aborted", committed, want)
    uncommitted = values_of(read_all(args, topic, ends, "read_uncommitted"))
    want_all = {q: sum((split(vs, parts).get(q, []) for vs in (committed_values, open_values, after_values)), [])
                for q in range(parts)}
    expect_values("read_uncommitted after restart", uncommitted, want_all)
    print("dangling transaction still open after restart (last stable offsets %s, high watermarks %s); "
          "aborted by init_transactions" % (lso, hw))
    print("kill9 ok")


def try_ends(consumer, topic, parts):
    from confluent_kafka import KafkaException
    try:
        return True, end_offsets(consumer, topic, parts)
    except KafkaException as e:
        return False, repr(e)


# ------------------------------------------------------------- kafka-python

def bounded(what, fn, timeout=WAIT):
    """Runs fn() on a thread (kafka-python's commit/abort wait without a
    limit); fails if it raises or outlasts timeout."""
    result = {}

    def run():
        try:
            result["value"] = fn()
        except BaseException as e:  # noqa: BLE001 - reported below
            result["error"] = e
    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(timeout)
    if t.is_alive():
        fail("%s did not finish within %ds" % (what, timeout))
    if "error" in result:
        fail("%s: %r" % (what, result["error"]))
    return result.get("value")


def kafka_python_txn(args):
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition
    topic, n = args.topic, args.count
    create_topic(args, topic, 1)
    p = KafkaProducer(bootstrap_servers=args.bootstrap,
                      transactional_id=args.txn_id or "kp-" + uuid.uuid4().hex,
                      max_block_ms=WAIT * 1000, request_timeout_ms=30000)
    bounded("kafka-python init_transactions", p.init_transactions, timeout=WAIT + 15)
    batches = [("kp1", True), ("kp2", False), ("kp3", True)]
    for label, commit in batches:
        p.begin_transaction()
        futures = [p.send(topic, key=b"k-%d" % i, value=("%s-%d" % (label, i)).encode(), partition=0)
                   for i in range(n)]
        bounded("kafka-python flush", lambda: p.flush(timeout=WAIT))
        for f in futures:
            bounded("kafka-python delivery", lambda: f.get(timeout=WAIT))
        if commit:
            bounded("kafka-python commit_transaction", p.commit_transaction)
        else:
            bounded("kafka-python abort_transaction", p.abort_transaction)
    bounded("kafka-python close", lambda: p.close(timeout=30))
    vals = {label: ["%s-%d" % (label, i) for i in range(n)] for label, _ in batches}
    ends = settled_ends(args, topic, 1)
    if ends != [3 * n + 3]:
        fail("end offset %s, expected %d (3 x %d records + 3 markers)" % (ends, 3 * n + 3, n))
    committed = values_of(read_all(args, topic, ends, "read_committed"))
    expect_values("confluent-kafka read_committed of kafka-python transactions", committed,
                  {0: vals["kp1"] + vals["kp3"]})
    uncommitted = values_of(read_all(args, topic, ends, "read_uncommitted"))
    expect_values("confluent-kafka read_uncommitted of kafka-python transactions", uncommitted,
                  {0: vals["kp1"] + vals["kp2"] + vals["kp3"]})

    # kafka-python's own read_committed consumer.
    c = KafkaConsumer(bootstrap_servers=args.bootstrap, isolation_level="read_committed",
                      enable_auto_commit=False, auto_offset_reset="earliest")
    tp = TopicPartition(topic, 0)
    c.assign([tp])
    c.seek_to_beginning(tp)
    lso = c.end_offsets([tp], timeout_ms=30000)[tp]
    if lso != ends[0]:
        fail("kafka-python read_committed end offset %d, expected %d" % (lso, ends[0]))
    got = []
    deadline = time.time() + WAIT
    while (c.position(tp, timeout_ms=30000) or 0) < ends[0]:
        if time.time() > deadline:
            fail("kafka-python read_committed position %s did not reach %d; read %s"
                 % (c.position(tp, timeout_ms=30000), ends[0], got))
        for recs in c.poll(timeout_ms=500).values():
            got.extend(r.value.decode() for r in recs)
    c.close()
    if got != vals["kp1"] + vals["kp3"]:
        fail("kafka-python read_committed saw %s" % got)
    print("kafka-python-txn ok")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd")
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--topic", required=True, help="the topic (ctp: the input topic)")
    ap.add_argument("--output", default=None, help="ctp: the output topic")
    ap.add_argument("--txn-id", default=None)
    ap.add_argument("--group", default=None)
    ap.add_argument("--count", type=int, default=None)
    ap.add_argument("--partitions", type=int, default=3)
    ap.add_argument("--batch", type=int, default=20, help="ctp-run: records per transaction at most")
    ap.add_argument("--die-after", type=int, default=None,
                    help="ctp-run: commit this many transactions, then die mid-transaction")
    args = ap.parse_args()
    cmds = {"commit-abort-commit": (commit_abort_commit, 30),
            "open-txn-blocks": (open_txn_blocks, 5),
            "fence": (fence, 10),
            "ctp-setup": (ctp_setup, 300),
            "ctp-run": (ctp_run, 300),
            "ctp-verify": (ctp_verify, 300),
            "kill9-begin": (kill9_begin, 12),
            "kill9-after": (kill9_after, 12),
            "kafka-python-txn": (kafka_python_txn, 10)}
    if args.cmd not in cmds:
        fail("unknown command " + args.cmd)
    fn, default_count = cmds[args.cmd]
    if args.count is None:
        args.count = default_count
    if args.cmd.startswith("ctp") and not args.output:
        fail("%s needs --output" % args.cmd)
    fn(args)


if __name__ == "__main__":
    main()
