"""The workload of a chaos run, with confluent-kafka: creates the topic, runs
one idempotent ``acks=all`` producer writing ``"<partition>:<seq>"`` with a
sequence per partition (explicit partition, key = partition), one consumer
reading every partition throughout, and the final full read after healing.

It records, it does not judge: :mod:`chaos.checker` does. Runs as threads of
the runner, whose thread is already in the clients' namespace.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from typing import Dict, List, Optional, Tuple

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from chaos.checker import Read, Send


def client_logger(path: str) -> logging.Logger:
    """A logger writing librdkafka's log lines to ``path`` (not the terminal)."""
    lg = logging.getLogger(f"chaos.client.{path}")
    lg.propagate = False
    if not lg.handlers:
        h = logging.FileHandler(path)
        h.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        lg.addHandler(h)
    lg.setLevel(logging.INFO)
    return lg


def close_logger(lg: logging.Logger) -> None:
    """Closes the file of a :func:`client_logger`."""
    for h in list(lg.handlers):
        h.close()
        lg.removeHandler(h)


def create_topic(bootstrap: str, topic: str, partitions: int, rf: int, min_isr: int,
                 limit: float = 60.0, logger: Optional[logging.Logger] = None) -> Tuple[int, List[str]]:
    """Creates the topic with replication factor ``rf`` and ``min.insync.replicas``,
    stepping the factor down when the cluster refuses it; returns the factor
    used and the refusals. Retries transient failures until ``limit``."""
    admin = AdminClient({"bootstrap.servers": bootstrap, **({"logger": logger} if logger else {})})
    refusals: List[str] = []
    deadline = time.monotonic() + limit
    # A factor above the brokers registered so far would be refused for good:
    # wait (bounded) until every node is in the cluster's metadata.
    seen = wait_for_brokers(admin, rf, limit)
    if seen < rf:
        refusals.append(f"only {seen} brokers registered within {limit:.0f} s")
    want = rf
    while want >= 1:
        isr = min(min_isr, want)
        fut = admin.create_topics(
            [NewTopic(topic, partitions, want, config={"min.insync.replicas": str(isr)})],
            request_timeout=15,
        )[topic]
        try:
            fut.result(timeout=20)
            wait_for_leaders(admin, topic, partitions, max(deadline - time.monotonic(), 5))
            return want, refusals
        except KafkaException as e:
            err = e.args[0]
            if err.code() == KafkaError.TOPIC_ALREADY_EXISTS:
                return want, refusals
            if err.retriable() and time.monotonic() < deadline:
                time.sleep(0.5)
                continue
            refusals.append(f"RF={want}: {err.name()}: {err.str()}")
            want -= 1
        except Exception as e:  # noqa: BLE001 - a client-side timeout: try again while time remains
            if time.monotonic() >= deadline:
                raise
            refusals.append(f"RF={want}: {e!r} (retrying)")
            time.sleep(0.5)
    raise RuntimeError(f"the topic could not be created: {refusals}")


def wait_for_brokers(admin: AdminClient, n: int, limit: float) -> int:
    """Polls metadata until it lists at least ``n`` brokers; returns how many it last listed."""
    deadline = time.monotonic() + limit
    seen = 0
    while time.monotonic() < deadline:
        try:
            seen = len(admin.list_topics(timeout=5).brokers)
            if seen >= n:
                return seen
        except KafkaException:
            pass
        time.sleep(0.2)
    return seen


def wait_for_leaders(admin: AdminClient, topic: str, partitions: int, limit: float) -> None:
    """Polls metadata until every partition has a leader."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            md = admin.list_topics(topic, timeout=5).topics.get(topic)
            if md and md.error is None and len(md.partitions) == partitions and all(
                p.leader >= 0 for p in md.partitions.values()
            ):
                return
        except KafkaException:
            pass
        time.sleep(0.2)


def leaders(bootstrap: str, topic: str, logger: Optional[logging.Logger] = None) -> Dict[int, int]:
    """Partition -> leader node id, as Metadata says now (empty on failure)."""
    admin = AdminClient({"bootstrap.servers": bootstrap, **({"logger": logger} if logger else {})})
    try:
        md = admin.list_topics(topic, timeout=5).topics.get(topic)
    except KafkaException:
        return {}
    if md is None:
        return {}
    return {p: pm.leader for p, pm in md.partitions.items()}


def partition_state(bootstrap: str, topic: str, logger: Optional[logging.Logger] = None) -> Dict[int, dict]:
    """Partition -> leader, replicas and ISR, as Metadata says now (empty on failure)."""
    admin = AdminClient({"bootstrap.servers": bootstrap, **({"logger": logger} if logger else {})})
    try:
        md = admin.list_topics(topic, timeout=5).topics.get(topic)
    except KafkaException:
        return {}
    if md is None:
        return {}
    return {p: {"leader": pm.leader, "replicas": list(pm.replicas), "isr": list(pm.isrs)}
            for p, pm in md.partitions.items()}


class Workload:
    """Producer and live consumer threads plus the final read."""

    def __init__(self, bootstrap: str, topic: str, partitions: int, rate: float,
                 message_timeout_ms: int = 60000, logger: Optional[logging.Logger] = None):
        self.bootstrap = bootstrap
        self.logger = logger
        self.topic = topic
        self.partitions = partitions
        self.rate = rate
        self.message_timeout_ms = message_timeout_ms
        self.sends: Dict[int, List[Send]] = {p: [] for p in range(partitions)}
        self.live: List[Read] = []
        self.producer_errors: List[str] = []
        self.fatal_errors: List[str] = []
        self.produce_start = 0.0
        self.produce_end = 0.0
        self.unflushed = 0
        self._stop_producing = threading.Event()
        self._stop_consuming = threading.Event()
        self._threads: List[threading.Thread] = []

    def _new_producer(self) -> Producer:
        return Producer({
            "bootstrap.servers": self.bootstrap,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 5,
            "message.timeout.ms": self.message_timeout_ms,
            "request.timeout.ms": 10000,
            "retry.backoff.ms": 100,
            "error_cb": self._on_error,
            **({"logger": self.logger} if self.logger else {}),
        })

    def _on_error(self, err: KafkaError) -> None:
        if len(self.producer_errors) < 200:
            self.producer_errors.append(f"{time.monotonic():.3f} {err.name()}: {err.str()}")
        if err.fatal():
            self.fatal_errors.append(f"{err.name()}: {err.str()}")

    def start(self) -> None:
        """Starts producing and consuming."""
        self.produce_start = time.monotonic()
        for target in (self._produce, self._consume):
            t = threading.Thread(target=target, daemon=True)
            t.start()
            self._threads.append(t)

    def _produce(self) -> None:
        producer = self._new_producer()
        seq = [0] * self.partitions
        interval = 1.0 / self.rate if self.rate > 0 else 0.0
        next_at = time.monotonic()
        p = 0
        while not self._stop_producing.is_set():
            if self.fatal_errors and len(self.fatal_errors) > getattr(self, "_fatal_seen", 0):
                # An idempotent producer that hit a fatal error is unusable: start a new one.
                self._fatal_seen = len(self.fatal_errors)
                producer.flush(5)
                producer = self._new_producer()
            send = Send(seq=seq[p], sent_at=time.monotonic())
            try:
                producer.produce(self.topic, value=f"{p}:{seq[p]}".encode(), key=str(p).encode(), partition=p,
                                 on_delivery=self._delivery(send))
            except BufferError:
                producer.poll(0.1)
                continue
            except KafkaException as e:
                self._on_error(e.args[0])
                producer.poll(0.1)
                continue
            self.sends[p].append(send)
            seq[p] += 1
            p = (p + 1) % self.partitions
            producer.poll(0)
            next_at += interval
            delay = next_at - time.monotonic()
            if delay > 0:
                self._stop_producing.wait(delay)
            else:
                next_at = time.monotonic()
        self.produce_end = time.monotonic()
        self.unflushed = producer.flush(self.message_timeout_ms / 1000.0 + 10)

    @staticmethod
    def _delivery(send: Send):
        def cb(err, msg):
            if err is not None:
                send.error = f"{err.name()}: {err.str()}"
            else:
                send.acked_at = time.monotonic()
                send.offset = msg.offset()
        return cb

    def _consumer(self) -> Consumer:
        c = Consumer({
            "bootstrap.servers": self.bootstrap,
            "group.id": f"chaos-{uuid.uuid4()}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "enable.partition.eof": False,
            **({"logger": self.logger} if self.logger else {}),
        })
        c.assign([TopicPartition(self.topic, p, OFFSET_BEGINNING) for p in range(self.partitions)])
        return c

    def _consume(self) -> None:
        c = self._consumer()
        try:
            while not self._stop_consuming.is_set():
                for m in c.consume(500, timeout=0.5):
                    if m.error() is None:
                        self.live.append(Read(m.partition(), m.offset(), (m.value() or b"").decode("utf-8", "replace")))
        finally:
            c.close()

    def stop(self, limit: float) -> None:
        """Stops producing (waits for outstanding deliveries, bounded by the
        message timeout) and the live consumer."""
        self._stop_producing.set()
        self._threads[0].join(limit)
        self._stop_consuming.set()
        self._threads[1].join(30)

    def final_read(self, limit: float) -> Tuple[List[Read], Optional[str]]:
        """Reads every partition from the start to its high watermark; returns
        the records and None, or what was read and why it is incomplete."""
        deadline = time.monotonic() + limit
        c = self._consumer()
        try:
            high: Dict[int, int] = {}
            for p in range(self.partitions):
                while p not in high:
                    try:
                        high[p] = c.get_watermark_offsets(TopicPartition(self.topic, p), timeout=5)[1]
                    except KafkaException as e:
                        if time.monotonic() > deadline:
                            return [], f"no high watermark for partition {p}: {e}"
                        time.sleep(0.5)
            reads: List[Read] = []
            pos = {p: 0 for p in range(self.partitions)}
            while any(pos[p] < high[p] for p in pos):
                if time.monotonic() > deadline:
                    return reads, f"final read stopped at {pos} of {high}"
                for m in c.consume(1000, timeout=1.0):
                    if m.error() is None:
                        reads.append(Read(m.partition(), m.offset(), (m.value() or b"").decode("utf-8", "replace")))
                        pos[m.partition()] = max(pos[m.partition()], m.offset() + 1)
            return reads, None
        finally:
            c.close()
