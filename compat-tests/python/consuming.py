"""The confluent-kafka consumer loop shared by the ACL scenarios
(authorization.py, security.py): subscribe with a group, poll until the
first error or enough records, fail on a hang. Not the clients' settings
(the callers pass them) nor what an answer means (the callers judge it)."""
import time

from common import fail


def consume(conf, topic, group, count, timeout, commit=False):
    """Subscribes to `topic` with `group` (settings `conf` plus the group's);
    returns ("error", KafkaError) for the first error, or ("records",
    [values]) once `count` records arrived (their offsets committed first
    when `commit`). Fails when neither happens within `timeout` seconds."""
    from confluent_kafka import Consumer, KafkaException
    c = Consumer(dict(conf, **{"group.id": group, "auto.offset.reset": "earliest",
                               "enable.auto.commit": False}))
    got = []
    try:
        c.subscribe([topic])
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                m = c.poll(0.5)
            except KafkaException as e:
                return "error", e.args[0]
            if m is None:
                continue
            if m.error():
                return "error", m.error()
            got.append(m.value())
            if len(got) == count:
                if commit:
                    c.commit(asynchronous=False)
                return "records", got
        fail("%d of %d records and no error within %ds (a hang)" % (len(got), count, timeout))
    finally:
        c.close()
