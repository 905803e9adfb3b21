"""The command line of the chaos harness (``python -m chaos``): for each seed,
builds the hosts, starts the cluster, runs the workload under the seed's fault
schedule, heals, reads everything back and judges it.

Prints the seed and schedule before each run, one JSON line per run (the
summary), the node logs' tails when a run fails, and exits non-zero when any
run failed (2 when the harness could not run at all, e.g. not root). See
``docs/reliability.md`` for the commands. This module does NOT decide what a
fault is (``schedule``) or what an anomaly is (``checker``).
"""

from __future__ import annotations

import argparse
import atexit
import datetime
import json
import os
import shlex
import shutil
import signal
import sys
import time
import traceback
from typing import List, Optional

from chaos import netns, report
from chaos.checker import check
from chaos.cluster import Cluster
from chaos.netns import NetError, Topology
from chaos.schedule import EXPLICIT_ONLY, FAULT_KINDS, Fault, make_schedule

WORKSPACE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_BROKER_OPTS = ["broker.session.timeout.ms=3000", "broker.heartbeat.interval.ms=500"]

_live: List[tuple] = []  # (Topology, Cluster or None) to tear down at exit
_root_ns_fd: Optional[int] = None


def log(msg: str) -> None:
    """A timestamped progress line on stderr."""
    print(f"[chaos {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _teardown(topo: Topology, cluster: Optional[Cluster]) -> None:
    if _root_ns_fd is not None:
        netns.enter_fd(_root_ns_fd)
    if cluster is not None:
        cluster.stop_all()
    topo.destroy()


def _teardown_all() -> None:
    while _live:
        topo, cluster = _live.pop()
        try:
            _teardown(topo, cluster)
        except Exception as e:  # noqa: BLE001 - best effort at exit
            print(f"chaos: teardown of {topo.prefix} failed: {e}", file=sys.stderr)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """The CLI."""
    p = argparse.ArgumentParser(prog="python -m chaos", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    g = p.add_mutually_exclusive_group()
    g.add_argument("--seed", type=int, help="run this one seed")
    g.add_argument("--seeds", type=int, help="run N seeds: --first-seed .. --first-seed+N-1")
    p.add_argument("--first-seed", type=int, default=1)
    p.add_argument("--duration", type=float, default=60.0, help="seconds of workload per run (default 60)")
    p.add_argument("--faults", type=int, default=5, help="faults per run (default 5)")
    p.add_argument("--kinds", default=",".join(FAULT_KINDS),
                   help=f"comma-separated fault kinds (default: all of {','.join(FAULT_KINDS)}; "
                        f"also, only when named: {','.join(EXPLICIT_ONLY)})")
    p.add_argument("--nodes", type=int, default=3)
    p.add_argument("--partitions", type=int, default=3)
    p.add_argument("--rf", type=int, default=3, help="replication factor asked for (default 3)")
    p.add_argument("--min-isr", type=int, default=2, help="min.insync.replicas (default 2)")
    p.add_argument("--require-rf", action="store_true",
                   help="fail a run whose topic got a lower replication factor than --rf")
    p.add_argument("--rate", type=float, default=200.0, help="records per second produced (default 200)")
    p.add_argument("--binary", default=os.environ.get("MEMORYSTREAMER_BIN",
                                                      os.path.join(WORKSPACE, "target/release/memorystreamer")))
    p.add_argument("--broker-opt", action="append", default=None, metavar="KEY=VALUE",
                   help=f"a broker -o override, repeatable (default: {' '.join(DEFAULT_BROKER_OPTS)})")
    p.add_argument("--run-root", default=None, help="where node data and logs go (default /tmp/ms-chaos-<pid>)")
    p.add_argument("--keep", action="store_true", help="keep run directories of passed runs too")
    p.add_argument("--out", help="write every run's summary to this JSON file")
    p.add_argument("--report", metavar="MARKDOWN", help="write the results table into this file (docs/reliability.md)")
    p.add_argument("--note", default="", help="added to the table's 'Last run' line (e.g. what the binary was built from)")
    return p.parse_args(argv)


def _sleep_until(t: float) -> None:
    d = t - time.monotonic()
    if d > 0:
        time.sleep(d)


def apply_fault(f: Fault, topo: Topology, cluster: Cluster, topic: str, logger=None) -> dict:
    """Applies one fault, keeps it for its duration, heals it; returns what happened."""
    from chaos.workload import leaders  # confluent-kafka only once a cluster runs

    rec = f.to_dict()
    start = time.monotonic()
    n = cluster.node(f.node) if f.node else None
    others = [i for i in range(1, topo.nodes + 1) if i != f.node]
    if f.kind == "kill9":
        n.kill9()
        time.sleep(f.duration)
        n.start()
        rec["ready"] = n.wait_ready(60)
    elif f.kind == "wipe":
        n.kill9()
        wiped = [d for d in sorted(os.listdir(n.data_dir)) if d.rsplit("-", 1)[0] == topic]
        for d in wiped:
            shutil.rmtree(os.path.join(n.data_dir, d), ignore_errors=True)
        rec["wiped"] = wiped
        time.sleep(f.duration)
        n.start()
        rec["ready"] = n.wait_ready(60)
    elif f.kind == "pause":
        n.pause()
        time.sleep(f.duration)
        n.resume()
    elif f.kind == "isolate":
        topo.isolate(f.node, others)
        time.sleep(f.duration)
        topo.heal_routes()
    elif f.kind == "isolate_leader_from_controller":
        controller = cluster.active_controller()
        lead = leaders(cluster.bootstrap, topic, logger)
        order = [f.params["partition"]] + sorted(p for p in lead if p != f.params["partition"])
        target = next((p for p in order if lead.get(p, -1) > 0 and lead.get(p) != controller), None)
        rec.update(controller=controller, leaders=lead)
        if controller is None or target is None:
            rec["skipped"] = "no partition leader other than the controller" if controller else "no active controller"
            time.sleep(f.duration)
        else:
            rec.update(cut_partition=target, node=lead[target])
            topo.cut(lead[target], controller)
            time.sleep(f.duration)
            topo.heal_routes()
    elif f.kind == "loss":
        rec["method"] = topo.loss(f.node, f.params["loss_pct"])
        time.sleep(f.duration)
        topo.clear_link(f.node)
    elif f.kind == "delay":
        rec["method"] = topo.delay(f.node, f.params["delay_ms"])
        time.sleep(f.duration)
        topo.clear_link(f.node)
    elif f.kind == "restart_rolling":
        clean = []
        for node in cluster.nodes:
            clean.append(node.terminate(30))
            node.start()
            node.wait_ready(60)
            wait_whole(cluster, topic, 60, logger)
        rec["clean_exits"] = clean
    elif f.kind == "restart_all":
        cluster.stop_all()
        time.sleep(min(f.duration, 5.0))
        rec["not_ready"] = cluster.start_all(90)
    else:
        raise ValueError(f"unknown fault kind {f.kind}")
    rec["took_s"] = round(time.monotonic() - start, 2)
    return rec


def wait_whole(cluster: Cluster, topic: str, limit: float, logger=None) -> bool:
    """Polls until the cluster is whole again: :meth:`Cluster.in_sync` (its
    ``/metrics``); in Metadata, every partition's ISR equal to its replicas;
    and every replica's own log end offset of the topic at least the highest
    any node had when the wait began (so a restarted, emptied or lagging
    replica has really caught up, whatever the ISR says). False when
    ``limit`` s pass first."""
    from chaos.workload import partition_state

    deadline = time.monotonic() + limit
    target: dict = {}
    for n in cluster.nodes:
        for p, leo in (n.log_end_offsets(topic) or {}).items():
            target[p] = max(target.get(p, 0.0), leo)
    while time.monotonic() < deadline:
        if cluster.in_sync():
            state = partition_state(cluster.bootstrap, topic, logger)
            if state and all(sorted(p["isr"]) == sorted(p["replicas"]) for p in state.values()):
                leos = {n.idx: n.log_end_offsets(topic) for n in cluster.nodes}
                if all(
                    (leos.get(r) or {}).get(int(p), -1.0) >= target.get(int(p), 0.0)
                    for p, st in state.items()
                    for r in st["replicas"]
                ) or not target:
                    return True
        time.sleep(0.2)
    return False


def run_one(seed: int, k: int, args: argparse.Namespace, run_root: str) -> dict:
    """One seed: hosts, cluster, workload under faults, heal, final read, verdict."""
    from chaos.workload import Workload, client_logger, close_logger, create_topic, partition_state

    kinds = [x for x in args.kinds.split(",") if x]
    schedule = make_schedule(seed, args.duration, args.faults, args.nodes, kinds, args.partitions)
    run_dir = os.path.join(run_root, f"seed-{seed}")
    os.makedirs(run_dir, exist_ok=True)
    log(f"seed {seed}: {len(schedule)} faults over {args.duration:.0f}s, run dir {run_dir}")
    for f in schedule:
        log(f"  planned {f.describe()}")
    topo = Topology(f"{os.getpid()}-{k}", args.nodes)
    opts = args.broker_opt if args.broker_opt is not None else DEFAULT_BROKER_OPTS
    extra = [x for o in opts for x in ("-o", o)]
    result: dict = {"seed": seed, "nodes": args.nodes, "partitions": args.partitions, "duration": args.duration,
                    "rf_asked": args.rf, "min_isr": args.min_isr, "run_dir": run_dir, "passed": False}
    cluster: Optional[Cluster] = None
    entry = [topo, None]
    _live.append(entry)  # type: ignore[arg-type]
    topic = f"chaos-{seed}"
    clog = client_logger(os.path.join(run_dir, "clients.log"))
    try:
        topo.create()
        netns.enter(topo.client)
        cluster = Cluster(topo, args.binary, run_dir, extra)
        entry[1] = cluster
        not_ready = cluster.start_all(90)
        if not_ready:
            raise RuntimeError(f"nodes {not_ready} did not listen within 90 s")
        if not cluster.wait_in_sync(60):
            log("the new cluster is not in sync (quorum leader, no fenced broker) within 60 s; going on")
        rf, refusals = create_topic(cluster.bootstrap, topic, args.partitions, args.rf, args.min_isr,
                                    logger=clog)
        result.update(rf=rf, rf_refusals=refusals, rf_fallback=rf < args.rf)
        if rf < args.rf:
            log(f"!!!!! RF FALLBACK: asked for replication factor {args.rf}, the cluster gave {rf} "
                f"({'; '.join(refusals)}). This run does NOT test replication. !!!!!")
            if args.require_rf:
                raise RuntimeError(f"--require-rf: the cluster refused replication factor {args.rf} "
                                   f"({'; '.join(refusals)})")
        result["partitions_at_start"] = partition_state(cluster.bootstrap, topic, clog)
        wl = Workload(cluster.bootstrap, topic, args.partitions, args.rate, logger=clog)
        wl.start()
        t0 = wl.produce_start
        applied = []
        try:
            for f in schedule:
                late = time.monotonic() - (t0 + f.at)
                _sleep_until(t0 + f.at)
                log(f"fault {f.describe()}" + (f" (late by {late:.1f}s)" if late > 0.5 else ""))
                rec = apply_fault(f, topo, cluster, topic, clog)
                # The next fault waits for the cluster to be whole again (every
                # node back in the quorum and the ISR), so one fault never
                # lands on a cluster still short of a node from the last one.
                t = time.monotonic()
                rec["in_sync"] = wait_whole(cluster, topic, 60, clog)
                rec["resync_s"] = round(time.monotonic() - t, 2)
                log(f"  healed after {rec['took_s']}s, " + (
                    f"in sync after {rec['resync_s']}s" if rec["in_sync"] else "NOT in sync within 60 s"))
                applied.append(rec)
            _sleep_until(t0 + args.duration)
        finally:
            result["faults"] = applied
            topo.heal_routes()
            for i in range(1, topo.nodes + 1):
                topo.clear_link(i)
            cluster.heal_processes()
        if cluster.start_all(90):
            log("some node did not come back after healing")
        wl.stop(limit=90)
        reads, read_error = wl.final_read(120)
        result["partitions_at_end"] = partition_state(cluster.bootstrap, topic, clog)
        v = check(wl.sends, reads, wl.live, wl.produce_start, wl.produce_end)
        methods = {r["method"] for r in applied if r.get("method")}
        result.update(
            verdict=v.to_dict(), final_read_error=read_error, unflushed=wl.unflushed,
            producer_fatal=wl.fatal_errors[:10], producer_errors=len(wl.producer_errors),
            net_method=", ".join(sorted(methods)) if methods else None,
        )
        result["passed"] = v.passed and read_error is None and not (args.require_rf and rf < args.rf)
    except Exception as e:  # noqa: BLE001 - a run that could not run is a failed run, reported
        result["error"] = f"{type(e).__name__}: {e}"
        traceback.print_exc()
    finally:
        try:
            _teardown(topo, cluster)
        finally:
            _live.remove(entry)
            close_logger(clog)
    if not result["passed"] and cluster is not None:
        for n in cluster.nodes:
            print(f"----- n{n.idx} log tail ({n.log_path}) -----\n{n.log_tail(30)}", file=sys.stderr)
    return result


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point; returns the exit code."""
    global _root_ns_fd
    args = parse_args(argv)
    if os.geteuid() != 0:
        print("chaos: must run as root (it creates network namespaces and runs tc)", file=sys.stderr)
        return 2
    if not os.path.exists(args.binary):
        print(f"chaos: broker binary not found at {args.binary} (--binary or MEMORYSTREAMER_BIN)", file=sys.stderr)
        return 2
    try:
        gone = netns.clean_stale()
    except (NetError, OSError) as e:
        print(f"chaos: cannot list network namespaces (iproute2 needed, as root): {e}", file=sys.stderr)
        return 2
    if gone:
        log(f"removed stale namespaces of dead runs: {', '.join(gone)}")
    _root_ns_fd = os.open("/proc/self/ns/net", os.O_RDONLY)
    atexit.register(_teardown_all)
    # Ctrl-C, SIGTERM and SIGHUP unwind through the teardowns (also when the
    # shell that started us in the background ignores SIGINT).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGHUP, lambda *_: sys.exit(129))
    seeds = [args.seed] if args.seed is not None else list(
        range(args.first_seed, args.first_seed + (args.seeds if args.seeds else 1)))
    run_root = args.run_root or f"/tmp/ms-chaos-{os.getpid()}"
    log(f"seeds {seeds[0]}..{seeds[-1]} ({len(seeds)} runs), binary {args.binary}, run root {run_root}")
    results = []
    for k, seed in enumerate(seeds):
        r = run_one(seed, k, args, run_root)
        results.append(r)
        print(json.dumps(r, sort_keys=True), flush=True)
        log(report.summary_line(r))
        if r["passed"] and not args.keep:
            shutil.rmtree(r["run_dir"], ignore_errors=True)
        if args.out:
            with open(args.out, "w", encoding="utf-8") as f:
                json.dump(results, f, indent=1, sort_keys=True)
    if args.report:
        command = "python -m chaos " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
        when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        report.write_table(args.report, report.table(results, command, report.git_head(WORKSPACE), when, args.note))
        log(f"results table written to {args.report}")
    failed = [r["seed"] for r in results if not r["passed"]]
    netns.enter_fd(_root_ns_fd)
    left = [n for n in netns.list_netns() if n.startswith(f"ms-{os.getpid()}-")]
    if left:
        log(f"FAILED TO CLEAN UP namespaces: {', '.join(left)}")
        return 1
    log(f"{len(results) - len(failed)}/{len(results)} runs passed" + (f"; failed seeds: {failed}" if failed else ""))
    return 1 if failed else 0
