#!/usr/bin/env python3
"""Kafka ACLs judged by confluent-kafka (librdkafka) against a broker with
`authorizer.class.name` (StandardAuthorizer) and
`allow.everyone.if.no.acl.found=true`, over PLAINTEXT (User:ANONYMOUS).

Scenario `denied-then-allowed`: the admin client (allowed: no ACL names the
cluster yet) creates the topic, then ACLs that name the topic and the group
for User:bob only, plus ALL on the cluster for ANONYMOUS (so it stays an
admin). A producer must then fail with TOPIC_AUTHORIZATION_FAILED and a
consumer group with GROUP_AUTHORIZATION_FAILED, as clear errors within a
deadline, not hangs. After ACLs allowing ANONYMOUS WRITE/READ on the topic
and READ on the group, the same clients produce and consume.
"""
import argparse
import uuid

import common
from common import fail
from consuming import consume


def acl(restype, name, principal, op):
    from confluent_kafka.admin import (AclBinding, AclPermissionType,
                                       ResourcePatternType)
    return AclBinding(restype, name, ResourcePatternType.LITERAL, principal, "*", op,
                      AclPermissionType.ALLOW)


def create_acls(admin, bindings):
    for binding, f in admin.create_acls(bindings).items():
        f.result(timeout=30)


def produce_error(bootstrap, topic):
    """Produces one record; returns the delivery error (None on success)."""
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": bootstrap, "message.timeout.ms": 10000,
                  "acks": "all"})
    result = {}

    def report(err, _msg):
        result["err"] = err

    p.produce(topic, b"v", on_delivery=report)
    p.flush(30)
    if "err" not in result:
        fail("no delivery report within 30 s (a hang, not an error)")
    return result["err"]


def denied_then_allowed(args):
    from confluent_kafka import KafkaError
    from confluent_kafka.admin import AclOperation, NewTopic, ResourceType
    topic = args.topic
    group = "g-" + uuid.uuid4().hex[:8]
    admin = common.admin(args.bootstrap)
    admin.create_topics([NewTopic(topic, num_partitions=1,
                                  replication_factor=1)])[topic].result(timeout=30)
    create_acls(admin, [
        acl(ResourceType.BROKER, "kafka-cluster", "User:ANONYMOUS", AclOperation.ALL),
        acl(ResourceType.TOPIC, topic, "User:bob", AclOperation.ALL),
        acl(ResourceType.GROUP, group, "User:bob", AclOperation.ALL),
    ])

    err = produce_error(args.bootstrap, topic)
    if err is None or err.code() != KafkaError.TOPIC_AUTHORIZATION_FAILED:
        fail("produce without WRITE: expected TOPIC_AUTHORIZATION_FAILED, got %r" % (err,))
    print("producer denied: %s" % err.name())
    kind, what = consume({"bootstrap.servers": args.bootstrap}, topic, group, 1, 30)
    if kind != "error" or what.code() not in (KafkaError.GROUP_AUTHORIZATION_FAILED,
                                              KafkaError.TOPIC_AUTHORIZATION_FAILED):
        fail("consumer without READ: expected an authorization error, got %s %r" % (kind, what))
    print("consumer denied: %s" % what.name())

    create_acls(admin, [
        acl(ResourceType.TOPIC, topic, "User:ANONYMOUS", AclOperation.WRITE),
        acl(ResourceType.TOPIC, topic, "User:ANONYMOUS", AclOperation.READ),
        acl(ResourceType.GROUP, group, "User:ANONYMOUS", AclOperation.READ),
    ])
    # ACLs are metadata records: the create answers once committed.
    err = produce_error(args.bootstrap, topic)
    if err is not None:
        fail("produce with WRITE: %r" % (err,))
    kind, what = consume({"bootstrap.servers": args.bootstrap}, topic, group, 1, 30)
    if kind != "records" or what != [b"v"]:
        fail("consume with READ: expected the record, got %s %r" % (kind, what))
    print("allowed: produced and consumed")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd")
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--topic", required=True)
    args = ap.parse_args()
    cmds = {"denied-then-allowed": denied_then_allowed}
    if args.cmd not in cmds:
        fail("unknown command %s" % args.cmd)
    cmds[args.cmd](args)


if __name__ == "__main__":
    main()
