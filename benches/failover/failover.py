#!/usr/bin/env python3
"""Failover benchmark (issue 15): how long a partition is unwritable when its
leader dies under an idempotent acks=all load.

Starts a three-node cluster of the broker binary on loopback (every node a
combined broker and metadata-quorum voter, as compat-tests' start_cluster),
creates a topic with replication factor 3, min.insync.replicas=2 and one
partition per node, and runs one idempotent acks=all confluent-kafka
producer at a steady rate over every partition. Then, KILLS times:

  1. picks a victim node: alternately one that leads a partition of the topic
     but is NOT the active controller (the metadata-quorum leader, from
     /metrics `memorystreamer_controller_active`), and the active controller
     when it leads a partition (case "controller": a Raft election comes
     first);
  2. `kill -9`s it and measures, for every partition it led:
       ack_ms       kill -> first successful delivery report of a record
                     produced AFTER the kill (the number the issue asks for)
       metadata_ms  kill -> first Metadata answer naming another leader
     the sample of the kill is the slowest of its partitions;
  3. restarts it and waits until every ISR is full again.

At the end the producer drains and a consumer reads every partition from
the start: every acknowledged record must be there exactly once (no loss,
no duplicate). Writes every sample and p50/p90/p99/max as JSON (--out) and
a markdown table (--md); exits non-zero if the check fails.

Not measured here: controlled shutdown (SIGTERM), which moves leadership
before the process exits.
"""
import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

TOPIC = "failover-bench"

# Profiles: broker settings given to every node with `-o KEY=VALUE`, and
# the producer's settings on top of PRODUCER.
PROFILES = {
    # Kafka's defaults for the liveness settings (the Raft election timeout
    # is MemoryStreamer's default, 400 ms), librdkafka's defaults.
    "default": {
        "broker": {
            "broker.session.timeout.ms": "9000",
            "broker.heartbeat.interval.ms": "2000",
        },
        "client": {},
    },
    # The documented fast-failover profile (docs/reliability.md).
    "fast": {
        "broker": {
            "broker.session.timeout.ms": "250",
            "broker.heartbeat.interval.ms": "50",
            "controller.quorum.election.timeout.ms": "100",
        },
        # librdkafka notices a dead leader only on its once-a-second topic
        # scan (or a periodic refresh): refresh leaders every 100 ms.
        "client": {"topic.metadata.refresh.interval.ms": 100},
    },
}

# Producer settings for every profile (librdkafka 2.x): an idempotent
# acks=all producer, small linger, librdkafka's defaults otherwise (stated).
PRODUCER = {
    "enable.idempotence": True,
    "acks": "all",
    "linger.ms": 1,
    "message.timeout.ms": 120000,
    "topic.metadata.refresh.fast.interval.ms": 100,
    "retry.backoff.ms": 100,
    "retry.backoff.max.ms": 1000,
}

# Connection-refused errors while a node is down are expected: not logged.
QUIET = {"log_level": 2}


def log(msg):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def free_ports(n):
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def wait_for(what, check, timeout, interval=0.02):
    """Polls check() -> value until truthy or the deadline passes."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise RuntimeError("timed out after %ss waiting for %s (last: %r)" % (timeout, what, last))


class Node:
    def __init__(self, node_id, binary, workdir, port, metrics_port, ctl_port, voters, opts):
        self.node_id = node_id
        self.binary = binary
        self.port = port
        self.metrics_port = metrics_port
        self.dir = os.path.join(workdir, "n%d" % node_id)
        os.makedirs(self.dir, exist_ok=True)
        self.args = [
            binary,
            "--data-dir", os.path.join(self.dir, "data"),
            "--listeners", "PLAINTEXT://127.0.0.1:%d" % port,
            "--metrics-addr", "127.0.0.1:%d" % metrics_port,
            "--node-id", str(node_id),
            "--controller-listener", "127.0.0.1:%d" % ctl_port,
            "--controller-quorum-voters", voters,
        ]
        for k, v in opts.items():
            self.args += ["-o", "%s=%s" % (k, v)]
        self.proc = None

    def start(self):
        logf = open(os.path.join(self.dir, "broker.log"), "ab")
        env = dict(os.environ, NO_COLOR="1", RUST_LOG=os.environ.get("BROKER_LOG", "info,openraft=warn"))
        self.proc = subprocess.Popen(self.args, stdout=logf, stderr=logf, env=env)

    def listening(self):
        if self.proc.poll() is not None:
            raise RuntimeError("node %d exited (%s); log %s/broker.log"
                               % (self.node_id, self.proc.returncode, self.dir))
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
            return True
        except OSError:
            return False

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def controller_active(self):
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % self.metrics_port,
                                        timeout=1) as r:
                for line in r.read().decode().splitlines():
                    if line.startswith("memorystreamer_controller_active"):
                        return float(line.split()[-1]) == 1.0
        except OSError:
            return False
        return False


def partitions(admin):
    """{partition: (leader, replicas, isrs)} from Metadata, or None."""
    try:
        md = admin.list_topics(topic=TOPIC, timeout=2)
    except Exception:  # noqa: BLE001 - a failed Metadata is "not known yet"
        return None
    t = md.topics.get(TOPIC)
    if t is None or t.error is not None or not t.partitions:
        return None
    return {p.id: (p.leader, list(p.replicas), sorted(p.isrs)) for p in t.partitions.values()}


class Load:
    """One idempotent acks=all producer writing "<partition>:<seq>" at `rate`
    records/s round-robin over the partitions, from its own thread."""

    def __init__(self, bootstrap, nparts, rate, client):
        from confluent_kafka import Producer
        conf = dict(PRODUCER, **client)
        conf["bootstrap.servers"] = bootstrap
        conf.update(QUIET)
        if os.environ.get("FAILOVER_CLIENT_DEBUG"):
            conf["debug"] = os.environ["FAILOVER_CLIENT_DEBUG"]
            conf["log_level"] = 7
        self.p = Producer(conf)
        self.nparts = nparts
        self.rate = rate
        self.next = [0] * nparts
        self.acked = [set() for _ in range(nparts)]
        self.errors = []
        self.lock = threading.Lock()
        # Armed watches: partition -> (kill time, event, first ack time of
        # a record sent after the kill, or None).
        self.watch = {}
        self.stop_ev = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _delivered(self, err, msg, part, seq, sent):
        now = time.time()
        with self.lock:
            if err is not None:
                self.errors.append(str(err))
                return
            self.acked[part].add(seq)
            w = self.watch.get(part)
            if w is not None and sent > w[0] and w[2] is None:
                self.watch[part] = (w[0], w[1], now)
                w[1].set()

    def _run(self):
        interval = 1.0 / self.rate
        t_next = time.time()
        i = 0
        while not self.stop_ev.is_set():
            now = time.time()
            if now < t_next:
                self.p.poll(min(t_next - now, 0.005))
                continue
            part = i % self.nparts
            i += 1
            seq = self.next[part]
            self.next[part] += 1
            sent = time.time()
            value = ("%d:%d" % (part, seq)).encode()
            while True:
                try:
                    self.p.produce(TOPIC, value=value, partition=part,
                                   on_delivery=lambda e, m, p=part, s=seq, t=sent:
                                   self._delivered(e, m, p, s, t))
                    break
                except BufferError:
                    self.p.poll(0.01)
            self.p.poll(0)
            t_next += interval
            if t_next < time.time() - 1.0:  # fell behind: do not burst
                t_next = time.time()

    def start(self):
        self.thread.start()

    def arm(self, parts, t0):
        """Watches `parts` for their first ack of a record sent after t0."""
        evs = {}
        with self.lock:
            for p in parts:
                ev = threading.Event()
                self.watch[p] = (t0, ev, None)
                evs[p] = ev
        return evs

    def first_ack(self, part):
        with self.lock:
            w = self.watch.get(part)
            return None if w is None else w[2]

    def disarm(self):
        with self.lock:
            self.watch.clear()

    def finish(self):
        self.stop_ev.set()
        self.thread.join(30)
        left = self.p.flush(120)
        return left


def pct(values, q):
    s = sorted(values)
    if not s:
        return None
    # nearest-rank percentile
    k = max(0, min(len(s) - 1, int(-(-q * len(s) // 100)) - 1))
    return s[k]


def summary(values):
    return {
        "n": len(values),
        "p50": pct(values, 50), "p90": pct(values, 90),
        "p99": pct(values, 99), "max": max(values) if values else None,
    }


def preferred_leaders(admin, ps):
    """Asks for a preferred leader election (ElectLeaders) where a partition
    is not led by its first replica, and waits until it is. Returns False if
    the broker cannot do it (then leadership stays where failovers left it)."""
    from confluent_kafka import ElectionType, TopicPartition
    moved = [TopicPartition(TOPIC, p) for p, (l, r, _) in ps.items() if l != r[0]]
    if not moved:
        return True
    try:
        admin.elect_leaders(ElectionType.PREFERRED, moved).result(10)

        def back():
            now = partitions(admin)
            return bool(now) and all(l == r[0] for l, r, _ in now.values())
        wait_for("preferred leaders", back, 10, 0.05)
        return True
    except Exception as e:  # noqa: BLE001 - an old broker: go on without
        log("preferred leader election unavailable (%s): leadership is left where it is" % e)
        return False


def verify(bootstrap, load, nparts):
    """Reads every partition to its end; every acknowledged seq must be
    there exactly once. Returns (acked, lost, duplicated)."""
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({**QUIET, "bootstrap.servers": bootstrap, "group.id": "failover-verify-%d" % os.getpid(),
                  "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    ends = {}
    for p in range(nparts):
        _, hi = c.get_watermark_offsets(TopicPartition(TOPIC, p), timeout=10)
        ends[p] = hi
    c.assign([TopicPartition(TOPIC, p, 0) for p in range(nparts)])
    seen = [dict() for _ in range(nparts)]
    done = set(p for p in range(nparts) if ends[p] == 0)
    deadline = time.time() + 120
    while len(done) < nparts and time.time() < deadline:
        for m in c.consume(1000, 1.0):
            if m.error():
                continue
            part, seq = (int(x) for x in m.value().decode().split(":"))
            seen[part][seq] = seen[part].get(seq, 0) + 1
            if m.offset() + 1 >= ends[m.partition()]:
                done.add(m.partition())
    c.close()
    acked = sum(len(a) for a in load.acked)
    lost = sum(1 for p in range(nparts) for s in load.acked[p] if s not in seen[p])
    dup = sum(n - 1 for p in range(nparts) for n in seen[p].values() if n > 1)
    return acked, lost, dup, len(done) == nparts


def markdown(result):
    rows = ["| profile | case | kills | p50 | p90 | p99 | max |",
            "|---|---|---|---|---|---|---|"]
    for case in ("all", "leader only", "controller"):
        for what in ("ack_ms", "metadata_ms"):
            s = result["summary"][case][what]
            if not s["n"]:
                continue
            rows.append("| %s | %s, kill → %s | %d | %d ms | %d ms | %d ms | %d ms |" % (
                result["profile"], case,
                "first acks=all ack" if what == "ack_ms" else "Metadata names a new leader",
                s["n"], s["p50"], s["p90"], s["p99"], s["max"]))
    return "\n".join(rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", required=True)
    ap.add_argument("--profile", choices=sorted(PROFILES), default="fast")
    ap.add_argument("--broker-opt", action="append", default=[], metavar="KEY=VALUE",
                    help="extra/overriding broker setting for every node")
    ap.add_argument("--client-opt", action="append", default=[], metavar="KEY=VALUE",
                    help="extra/overriding producer setting (librdkafka)")
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--rate", type=int, default=1000, help="records/s over all partitions")
    ap.add_argument("--settle", type=float, default=1.0,
                    help="seconds of steady load after the ISR is full before the next kill")
    ap.add_argument("--out", help="JSON results file")
    ap.add_argument("--md", help="markdown table file")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args = ap.parse_args()

    from confluent_kafka.admin import AdminClient, NewTopic

    opts = dict(PROFILES[args.profile]["broker"])
    client = dict(PROFILES[args.profile]["client"])
    opts.setdefault("replica.lag.time.max.ms", "10000")
    for kv in args.broker_opt:
        k, v = kv.split("=", 1)
        opts[k] = v
    for kv in args.client_opt:
        k, v = kv.split("=", 1)
        client[k] = v
    workdir = tempfile.mkdtemp(prefix="failover-bench-")
    ports = free_ports(9)
    voters = ",".join("%d@127.0.0.1:%d" % (i + 1, ports[6 + i]) for i in range(3))
    nodes = [Node(i + 1, args.binary, workdir, ports[i], ports[3 + i], ports[6 + i], voters, opts)
             for i in range(3)]
    bootstrap = ",".join("127.0.0.1:%d" % n.port for n in nodes)
    log("profile %s: broker %s, client %s; work dir %s" % (args.profile, opts, client, workdir))
    ok = False
    seen_state = {}
    load_start = os.getloadavg()
    try:
        for n in nodes:
            n.start()
        for n in nodes:
            wait_for("node %d to listen" % n.node_id, n.listening, 60)
        admin = AdminClient(dict(QUIET, **{"bootstrap.servers": bootstrap}))
        wait_for("a controller", lambda: any(n.controller_active() for n in nodes), 30, 0.1)
        admin.create_topics([NewTopic(TOPIC, num_partitions=3, replication_factor=3,
                                      config={"min.insync.replicas": "2"})])[TOPIC].result(60)

        def full_isr():
            ps = partitions(admin)
            seen_state["partitions"] = ps
            return ps if ps and len(ps) == 3 and all(
                l > 0 and len(i) == 3 for l, _, i in ps.values()) else None
        wait_for("a full ISR", full_isr, 60, 0.1)
        load = Load(bootstrap, 3, args.rate, client)
        load.start()
        time.sleep(2.0)

        samples = []
        rebalance = True
        for k in range(args.kills):
            want_controller = k % 2 == 1
            ps = wait_for("a full ISR", full_isr, 120, 0.1)
            if rebalance:
                # Leadership back on the preferred replicas (one partition
                # per node), so that the controller leads one too.
                rebalance = preferred_leaders(admin, ps)
            time.sleep(args.settle)
            ps = wait_for("a full ISR", full_isr, 120, 0.1)
            ctl = [n.node_id for n in nodes if n.controller_active()]
            leaders = {}
            for p, (l, _, _) in ps.items():
                leaders.setdefault(l, []).append(p)
            if want_controller:
                cands = [c for c in ctl if c in leaders]
            else:
                cands = [l for l in sorted(leaders) if l not in ctl]
            if not cands:
                # e.g. the controller leads no partition: take the other case.
                want_controller = not want_controller
                cands = ([c for c in ctl if c in leaders] if want_controller
                         else [l for l in sorted(leaders) if l not in ctl])
            victim_id = cands[k // 2 % len(cands)] if cands else None
            if victim_id is None:
                raise RuntimeError("no victim among leaders %r (controller %r)" % (leaders, ctl))
            victim = nodes[victim_id - 1]
            parts = leaders[victim_id]
            # Metadata naming another leader, polled from a client of the
            # other nodes, connected before the kill.
            md_admin = AdminClient(dict(QUIET, **{"bootstrap.servers": ",".join(
                "127.0.0.1:%d" % n.port for n in nodes if n is not victim)}))
            partitions(md_admin)
            t0 = time.time()
            evs = load.arm(parts, t0)
            victim.kill9()
            md_at = {}
            deadline = t0 + 60
            while time.time() < deadline and (len(md_at) < len(parts)
                                               or not all(e.is_set() for e in evs.values())):
                if len(md_at) < len(parts):
                    now_ps = partitions(md_admin)
                    now = time.time()
                    for p in parts:
                        if p not in md_at and now_ps and now_ps.get(p, (-1,))[0] not in (-1, victim_id):
                            md_at[p] = now
                time.sleep(0.005)
            acks = {p: load.first_ack(p) for p in parts}
            load.disarm()
            if len(md_at) < len(parts) or any(a is None for a in acks.values()):
                raise RuntimeError("kill %d: partitions %r did not fail over within 60 s (metadata %r, acks %r)"
                                   % (k, parts, md_at, acks))
            s = {
                "kill": k, "victim": victim_id,
                "case": "controller" if victim_id in ctl else "leader only",
                "partitions": parts,
                "ack_ms": round(max(acks[p] - t0 for p in parts) * 1000),
                "metadata_ms": round(max(md_at[p] - t0 for p in parts) * 1000),
                "per_partition_ack_ms": {str(p): round((acks[p] - t0) * 1000) for p in parts},
            }
            samples.append(s)
            log("kill %d: node %d (%s, partitions %s): ack %d ms, metadata %d ms" % (
                k, victim_id, s["case"], parts, s["ack_ms"], s["metadata_ms"]))
            victim.start()
            wait_for("node %d to listen" % victim_id, victim.listening, 60)

        wait_for("a full ISR", full_isr, 120, 0.1)
        time.sleep(1.0)
        left = load.finish()
        acked, lost, dup, complete = verify(bootstrap, load, 3)
        ok = left == 0 and lost == 0 and dup == 0 and complete
        # Every kill fences its node once; more fences are false ones (a
        # live node that missed its session on a busy machine).
        fences = 0
        for n in nodes:
            with open(os.path.join(n.dir, "broker.log"), errors="replace") as f:
                fences += sum(1 for line in f if "broker liveness changed" in line
                              and "BrokerFenced" in line)
        result = {
            "profile": args.profile,
            "broker_settings": opts,
            "client_settings": dict(PRODUCER, **client),
            "rate": args.rate,
            "binary": args.binary,
            "time": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "kills": args.kills,
            "loadavg_start": load_start,
            "loadavg_end": os.getloadavg(),
            "cpus": os.cpu_count(),
            "samples": samples,
            "summary": {},
            "check": {"acked": acked, "lost": lost, "duplicated": dup, "read_complete": complete,
                      "undelivered_at_end": left, "delivery_errors": len(load.errors),
                      "fence_records": fences, "kills": len(samples),
                      "ok": ok},
        }
        for case in ("all", "leader only", "controller"):
            sel = [s for s in samples if case == "all" or s["case"] == case]
            result["summary"][case] = {w: summary([s[w] for s in sel])
                                       for w in ("ack_ms", "metadata_ms")}
        table = markdown(result)
        print(json.dumps(result["summary"], indent=1))
        print(table)
        log("check: %s" % result["check"])
        if args.out:
            with open(args.out, "w") as f:
                json.dump(result, f, indent=1)
        if args.md:
            with open(args.md, "w") as f:
                f.write(table + "\n")
    except Exception:
        log("last Metadata of %s: %r" % (TOPIC, seen_state.get("partitions")))
        raise
    finally:
        for n in nodes:
            n.stop()
        if not args.keep and ok:
            subprocess.run(["rm", "-rf", workdir])
        else:
            log("work dir kept: %s" % workdir)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
