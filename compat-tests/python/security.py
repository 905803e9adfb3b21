#!/usr/bin/env python3
"""Real Python clients over secured listeners (issue 16), driven by
`compat-tests/tests/security_clients.rs`, against one broker with four
listeners: SASL_SSL (SCRAM-SHA-512 and SCRAM-SHA-256), SSL with
`ssl.client.auth=required` (mTLS, the certificate's CN mapped to the
principal), SASL_PLAINTEXT (OAUTHBEARER, a signed JWT minted by the Rust
test) and PLAINTEXT, where User:ANONYMOUS is a super user. The authorizer
is on with `allow.everyone.if.no.acl.found=false`, so every client is
refused anything its principal has no ACL for.

The set-up (topics, SCRAM credentials, ACLs) is done by confluent-kafka's
AdminClient on the PLAINTEXT listener only; each judged client talks only to
the listener it bootstrapped on.

Scenario `roundtrips --client confluent|kafka-python`: for each of
SCRAM-SHA-512 and SCRAM-SHA-256 over SASL_SSL, OAUTHBEARER over
SASL_PLAINTEXT and mTLS over SSL, a producer writes records to a topic only
that principal may write and read, and a consumer group only that principal
may read gets them back, in order. An ACL names each principal exactly, so a
client authenticated as anyone else would be refused. With confluent-kafka,
a wrong SCRAM password and a token signed by another key (same `kid`) are
also refused with an authentication error.

Scenario `acls` (confluent-kafka): SCRAM users over SASL_SSL; a producer
without a WRITE ACL fails with TOPIC_AUTHORIZATION_FAILED, one with it
succeeds; a consumer with READ on the topic but not on its group fails with
GROUP_AUTHORIZATION_FAILED, then reads the record once READ on the group is
granted.

This is not a test of the SASL or TLS protocol details (broker/tests/sasl.rs
and the sasl crate's tests are).
"""
import argparse
import time
import uuid

import common
from common import fail
from consuming import consume

RECORDS = 5
WAIT = 30
SCRAM_USER = "scram-user"
SCRAM_PASSWORD = "scram-secret"


# ---------------------------------------------------------------- set-up

def acl(restype, name, principal, op):
    from confluent_kafka.admin import (AclBinding, AclPermissionType,
                                       ResourcePatternType)
    return AclBinding(restype, name, ResourcePatternType.LITERAL, principal, "*", op,
                      AclPermissionType.ALLOW)


def create_acls(admin, bindings):
    for _binding, f in admin.create_acls(bindings).items():
        f.result(timeout=WAIT)


def create_topics(admin, names):
    from confluent_kafka.admin import NewTopic
    futures = admin.create_topics([NewTopic(n, num_partitions=1, replication_factor=1)
                                   for n in names])
    for f in futures.values():
        f.result(timeout=WAIT)


def scram_users(admin, users, mechanism):
    """SCRAM credentials of `mechanism` for users [(name, password)]. One
    request per mechanism: as Kafka, the broker refuses a request altering
    one user twice (DUPLICATE_RESOURCE)."""
    from confluent_kafka.admin import (ScramCredentialInfo, ScramMechanism,
                                       UserScramCredentialUpsertion)
    info = ScramCredentialInfo(getattr(ScramMechanism, mechanism.replace("-", "_")), 4096)
    upserts = [UserScramCredentialUpsertion(name, info, password.encode())
               for name, password in users]
    for _user, f in admin.alter_user_scram_credentials(upserts).items():
        f.result(timeout=WAIT)


def grant_roundtrip(admin, principal, topic, group):
    """WRITE and READ on `topic` and READ on `group` for `principal` only."""
    from confluent_kafka.admin import AclOperation, ResourceType
    create_acls(admin, [
        acl(ResourceType.TOPIC, topic, principal, AclOperation.WRITE),
        acl(ResourceType.TOPIC, topic, principal, AclOperation.READ),
        acl(ResourceType.GROUP, group, principal, AclOperation.READ),
    ])


# ---------------------------------------------------------------- confluent-kafka

def confluent_security(args, how, user=SCRAM_USER, password=SCRAM_PASSWORD, token=None):
    """confluent-kafka settings for one way in: `scram-sha-512`,
    `scram-sha-256`, `oauthbearer` (the token in `token`, default
    --token) or `mtls`."""
    if how.startswith("scram"):
        return {"bootstrap.servers": args.scram, "security.protocol": "SASL_SSL",
                "sasl.mechanism": how.upper(), "sasl.username": user,
                "sasl.password": password, "ssl.ca.location": args.ca}
    if how == "oauthbearer":
        token = read_token(token or args.token)

        def oauth_cb(_config):
            # (token, expiry in seconds since the epoch, principal name)
            return token, time.time() + 3000, args.oauth_user

        return {"bootstrap.servers": args.oauth, "security.protocol": "SASL_PLAINTEXT",
                "sasl.mechanism": "OAUTHBEARER", "oauth_cb": oauth_cb}
    if how == "mtls":
        return {"bootstrap.servers": args.mtls, "security.protocol": "SSL",
                "ssl.ca.location": args.ca, "ssl.certificate.location": args.cert,
                "ssl.key.location": args.key}
    fail("unknown way in %s" % how)


def confluent_produce(conf, topic, values):
    """Produces `values`; returns the first delivery error (None when every
    record was acknowledged)."""
    from confluent_kafka import Producer
    p = Producer(dict(conf, **{"message.timeout.ms": 15000, "acks": "all"}))
    errors, acked = [], []

    def report(err, msg):
        (errors if err is not None else acked).append(err or msg.offset())

    for v in values:
        p.produce(topic, v, on_delivery=report)
    left = p.flush(WAIT)
    if left or len(errors) + len(acked) != len(values):
        fail("%d of %d delivery reports within %ds (a hang, not an error)"
             % (len(errors) + len(acked), len(values), WAIT))
    return errors[0] if errors else None


def confluent_roundtrip(args, how, topic, group):
    conf = confluent_security(args, how)
    values = [("%s-%d" % (how, i)).encode() for i in range(RECORDS)]
    err = confluent_produce(conf, topic, values)
    if err is not None:
        fail("%s: produce failed: %r" % (how, err))
    kind, got = consume(conf, topic, group, RECORDS, WAIT, commit=True)
    if kind != "records" or got != values:
        fail("%s: expected %r back, got %s %r" % (how, values, kind, got))


def confluent_refused(what, conf):
    """A login that must fail as an authentication error, reported through
    the error callback, not hang."""
    from confluent_kafka import KafkaError, Producer
    errors = []
    p = Producer(dict(conf, error_cb=errors.append))
    deadline = time.time() + WAIT
    while time.time() < deadline and not errors:
        p.poll(0.2)
    codes = [e.code() for e in errors]
    if KafkaError._AUTHENTICATION not in codes:
        fail("%s: expected _AUTHENTICATION, got %r" % (what, errors))
    print("%s refused: %s" % (what, errors[0].str()))


# ---------------------------------------------------------------- kafka-python

def kafka_python_security(args, how):
    if how.startswith("scram"):
        return {"bootstrap_servers": args.scram, "security_protocol": "SASL_SSL",
                "sasl_mechanism": how.upper(), "sasl_plain_username": SCRAM_USER,
                "sasl_plain_password": SCRAM_PASSWORD, "ssl_cafile": args.ca}
    if how == "oauthbearer":
        from kafka.net.sasl.oauth import AbstractTokenProvider
        token = read_token(args.token)

        class FileToken(AbstractTokenProvider):
            def token(self):
                return token

        return {"bootstrap_servers": args.oauth, "security_protocol": "SASL_PLAINTEXT",
                "sasl_mechanism": "OAUTHBEARER", "sasl_oauth_token_provider": FileToken()}
    if how == "mtls":
        return {"bootstrap_servers": args.mtls, "security_protocol": "SSL",
                "ssl_cafile": args.ca, "ssl_certfile": args.cert, "ssl_keyfile": args.key}
    fail("unknown way in %s" % how)


def kafka_python_roundtrip(args, how, topic, group):
    from kafka import KafkaConsumer, KafkaProducer
    conf = kafka_python_security(args, how)
    values = [("%s-%d" % (how, i)).encode() for i in range(RECORDS)]
    p = KafkaProducer(acks="all", request_timeout_ms=15000, max_block_ms=WAIT * 1000, **conf)
    try:
        for f in [p.send(topic, v) for v in values]:
            f.get(timeout=WAIT)
    finally:
        p.close(timeout=10)
    c = KafkaConsumer(topic, group_id=group, auto_offset_reset="earliest",
                      enable_auto_commit=False, **conf)
    got = []
    try:
        deadline = time.time() + WAIT
        while time.time() < deadline and len(got) < RECORDS:
            for records in c.poll(timeout_ms=500).values():
                got.extend(r.value for r in records)
        c.commit()
    finally:
        c.close()
    if got != values:
        fail("%s: expected %r back, got %r" % (how, values, got))


# ---------------------------------------------------------------- scenarios

def read_token(path):
    with open(path) as f:
        return f.read().strip()


def roundtrips(args):
    admin = common.admin(args.admin)
    ways = [
        ("scram-sha-512", "User:" + SCRAM_USER),
        ("scram-sha-256", "User:" + SCRAM_USER),
        ("oauthbearer", "User:" + args.oauth_user),
        ("mtls", args.mtls_principal),
    ]
    for mechanism in ("SCRAM-SHA-512", "SCRAM-SHA-256"):
        scram_users(admin, [(SCRAM_USER, SCRAM_PASSWORD)], mechanism)
    plan = []
    for how, principal in ways:
        topic = "%s-%s" % (args.topic, how)
        group = "g-%s-%s" % (how, uuid.uuid4().hex[:8])
        plan.append((how, principal, topic, group))
    create_topics(admin, [topic for _, _, topic, _ in plan])
    for how, principal, topic, group in plan:
        grant_roundtrip(admin, principal, topic, group)
    roundtrip = {"confluent": confluent_roundtrip,
                 "kafka-python": kafka_python_roundtrip}[args.client]
    for how, principal, topic, group in plan:
        roundtrip(args, how, topic, group)
        print("%s: %d records back as %s" % (how, RECORDS, principal))
    if args.client == "confluent":
        confluent_refused("scram-sha-512 wrong password",
                          confluent_security(args, "scram-sha-512", password="not-the-password"))
        confluent_refused("oauthbearer forged token",
                          confluent_security(args, "oauthbearer", token=args.forged_token))


def acls(args):
    from confluent_kafka import KafkaError
    from confluent_kafka.admin import AclOperation, ResourceType
    admin = common.admin(args.admin)
    topic = args.topic
    group = "g-acl-" + uuid.uuid4().hex[:8]
    password = "acl-secret"
    scram_users(admin, [(u, password) for u in ("nobody", "writer", "reader")], "SCRAM-SHA-512")
    create_topics(admin, [topic])
    create_acls(admin, [
        acl(ResourceType.TOPIC, topic, "User:writer", AclOperation.WRITE),
        acl(ResourceType.TOPIC, topic, "User:reader", AclOperation.READ),
    ])

    def conf(user):
        return confluent_security(args, "scram-sha-512", user=user, password=password)

    err = confluent_produce(conf("nobody"), topic, [b"v"])
    if err is None or err.code() != KafkaError.TOPIC_AUTHORIZATION_FAILED:
        fail("produce without WRITE: expected TOPIC_AUTHORIZATION_FAILED, got %r" % (err,))
    print("producer without WRITE denied: %s" % err.name())
    err = confluent_produce(conf("writer"), topic, [b"v"])
    if err is not None:
        fail("produce with WRITE: %r" % (err,))
    print("producer with WRITE: delivered")
    kind, what = consume(conf("reader"), topic, group, 1, WAIT, commit=True)
    if kind != "error" or what.code() != KafkaError.GROUP_AUTHORIZATION_FAILED:
        fail("consumer without READ on the group: expected GROUP_AUTHORIZATION_FAILED, "
             "got %s %r" % (kind, what))
    print("consumer without READ on the group denied: %s" % what.name())
    create_acls(admin, [acl(ResourceType.GROUP, group, "User:reader", AclOperation.READ)])
    kind, what = consume(conf("reader"), topic, group, 1, WAIT, commit=True)
    if kind != "records" or what != [b"v"]:
        fail("consumer with READ on the group: expected the record, got %s %r" % (kind, what))
    print("consumer with READ on the group: record back")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["roundtrips", "acls"])
    ap.add_argument("--client", choices=["confluent", "kafka-python"], default="confluent")
    ap.add_argument("--topic", required=True)
    ap.add_argument("--admin", required=True, help="PLAINTEXT listener (User:ANONYMOUS, super user)")
    ap.add_argument("--scram", required=True, help="SASL_SSL listener (SCRAM)")
    ap.add_argument("--oauth", help="SASL_PLAINTEXT listener (OAUTHBEARER)")
    ap.add_argument("--mtls", help="SSL listener (ssl.client.auth=required)")
    ap.add_argument("--ca", required=True, help="CA certificate (PEM) of the broker's certificate")
    ap.add_argument("--cert", help="client certificate (PEM) for mTLS")
    ap.add_argument("--key", help="client private key (PEM) for mTLS")
    ap.add_argument("--mtls-principal", help="the principal the mTLS certificate maps to")
    ap.add_argument("--token", help="file with the signed JWT for OAUTHBEARER")
    ap.add_argument("--forged-token", help="file with a JWT signed by a key the broker does not trust")
    ap.add_argument("--oauth-user", help="the JWT's sub claim")
    args = ap.parse_args()
    if args.cmd == "roundtrips":
        for needed in ("oauth", "mtls", "cert", "key", "mtls_principal", "token", "forged_token",
                       "oauth_user"):
            if getattr(args, needed) is None:
                fail("roundtrips needs --%s" % needed.replace("_", "-"))
        roundtrips(args)
    else:
        acls(args)


if __name__ == "__main__":
    main()
