"""Broker processes of a chaos run, one per node namespace: start, readiness,
kill -9, SIGSTOP/SIGCONT, SIGTERM, and what their ``/metrics`` say.

Every node is a combined broker and metadata-quorum voter (as
``compat-tests/src/lib.rs::start_cluster``), listening on its namespace's
address: Kafka on 9092, the quorum on 9093, ``/metrics`` on 9644. Output goes
to ``<run dir>/n<i>.log`` (appended across restarts). The caller must be in
a namespace that reaches the nodes (the runner enters the clients' one).
This module does NOT touch the network (``netns``).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from typing import Dict, List, Optional

from chaos.netns import Topology

KAFKA_PORT = 9092
QUORUM_PORT = 9093
METRICS_PORT = 9644


class Node:
    """One broker process in its namespace."""

    def __init__(self, topo: Topology, idx: int, binary: str, run_dir: str, extra: List[str]):
        self.idx = idx
        self.ns = topo.node_ns(idx)
        self.ip = topo.node_ip(idx)
        self.binary = binary
        self.data_dir = os.path.join(run_dir, f"n{idx}-data")
        self.log_path = os.path.join(run_dir, f"n{idx}.log")
        voters = ",".join(f"{i}@{topo.node_ip(i)}:{QUORUM_PORT}" for i in range(1, topo.nodes + 1))
        self.args = [
            "--node-id", str(idx),
            "--data-dir", self.data_dir,
            "--listeners", f"PLAINTEXT://{self.ip}:{KAFKA_PORT}",
            "--advertised-listeners", f"PLAINTEXT://{self.ip}:{KAFKA_PORT}",
            "--metrics-addr", f"{self.ip}:{METRICS_PORT}",
            "--controller-listener", f"{self.ip}:{QUORUM_PORT}",
            "--controller-quorum-voters", voters,
        ] + extra
        self.proc: Optional[subprocess.Popen] = None
        self.paused = False

    @property
    def bootstrap(self) -> str:
        """``ip:9092``."""
        return f"{self.ip}:{KAFKA_PORT}"

    def start(self) -> None:
        """Starts the process (no wait; see :meth:`wait_ready`)."""
        if self.running():
            return
        with open(self.log_path, "ab") as log:
            log.write(f"\n===== chaos: start n{self.idx} at {time.time():.3f} =====\n".encode())
            log.flush()
            env = dict(os.environ, NO_COLOR="1", RUST_LOG=os.environ.get("BROKER_LOG", "info,openraft=warn"))
            env.pop("LD_LIBRARY_PATH", None)
            # `ip netns exec` execs the binary: the pid is the broker's.
            self.proc = subprocess.Popen(
                ["ip", "netns", "exec", self.ns, self.binary] + self.args,
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
            )
        self.paused = False

    def running(self) -> bool:
        """Whether the process is alive (stopped counts as alive)."""
        return self.proc is not None and self.proc.poll() is None

    def listening(self) -> bool:
        """Whether the Kafka port accepts a connection."""
        try:
            with socket.create_connection((self.ip, KAFKA_PORT), timeout=0.5):
                return True
        except OSError:
            return False

    def wait_ready(self, limit: float) -> bool:
        """Polls until the Kafka port accepts, the process dies, or ``limit`` s pass."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if not self.running():
                return False
            if self.listening():
                return True
            time.sleep(0.05)
        return False

    def kill9(self) -> None:
        """SIGKILL and reap."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
        self.paused = False

    def pause(self) -> None:
        """SIGSTOP."""
        if self.running():
            os.kill(self.proc.pid, signal.SIGSTOP)
            self.paused = True

    def resume(self) -> None:
        """SIGCONT."""
        if self.running():
            os.kill(self.proc.pid, signal.SIGCONT)
        self.paused = False

    def terminate(self, limit: float = 30.0) -> bool:
        """SIGTERM, wait up to ``limit`` s, then SIGKILL; returns whether it exited by itself."""
        if not self.running():
            return True
        self.resume()
        os.kill(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=limit)
            return True
        except subprocess.TimeoutExpired:
            self.kill9()
            return False

    def metrics(self) -> Optional[Dict[str, float]]:
        """Unlabelled samples of ``/metrics`` (name -> value), or None if unreachable."""
        if self.paused or not self.running():
            return None
        try:
            with urllib.request.urlopen(f"http://{self.ip}:{METRICS_PORT}/metrics", timeout=1.0) as r:
                body = r.read().decode("utf-8", "replace")
        except OSError:
            return None
        out: Dict[str, float] = {}
        for line in body.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            parts = line.split()
            if len(parts) >= 2 and "{" not in parts[0]:
                try:
                    out[parts[0]] = float(parts[-1])
                except ValueError:
                    pass
        return out

    def log_end_offsets(self, topic: str) -> Optional[Dict[int, float]]:
        """Partition -> ``memorystreamer_partition_log_end_offset`` of ``topic``
        on this node (its own copy, leader or follower), None if unreachable."""
        if self.paused or not self.running():
            return None
        try:
            with urllib.request.urlopen(f"http://{self.ip}:{METRICS_PORT}/metrics", timeout=1.0) as r:
                body = r.read().decode("utf-8", "replace")
        except OSError:
            return None
        out: Dict[int, float] = {}
        prefix = "memorystreamer_partition_log_end_offset{"
        for line in body.splitlines():
            if not line.startswith(prefix):
                continue
            labels, _, value = line[len(prefix):].partition("} ")
            kv = dict(part.split("=", 1) for part in labels.split(",") if "=" in part)
            if kv.get("topic", "").strip('"') == topic:
                try:
                    out[int(kv.get("partition", "").strip('"'))] = float(value)
                except ValueError:
                    pass
        return out

    def log_tail(self, n: int = 40) -> str:
        """The last ``n`` lines of the node's output."""
        try:
            with open(self.log_path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join(lines[-n:])


class Cluster:
    """All nodes of a run."""

    def __init__(self, topo: Topology, binary: str, run_dir: str, extra: List[str]):
        self.nodes = [Node(topo, i, binary, run_dir, extra) for i in range(1, topo.nodes + 1)]

    def node(self, idx: int) -> Node:
        """Node ``idx`` (1-based)."""
        return self.nodes[idx - 1]

    @property
    def bootstrap(self) -> str:
        """Every node's Kafka address."""
        return ",".join(n.bootstrap for n in self.nodes)

    def start_all(self, limit: float = 60.0) -> List[int]:
        """Starts every node, then waits for all; returns the nodes not ready in time."""
        for n in self.nodes:
            n.start()
        deadline = time.monotonic() + limit
        return [n.idx for n in self.nodes if not n.wait_ready(max(deadline - time.monotonic(), 0.1))]

    def active_controller(self, limit: float = 10.0) -> Optional[int]:
        """The node whose ``/metrics`` says ``memorystreamer_controller_active 1``
        (the metadata quorum leader), polled until exactly one says so."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            active = [n.idx for n in self.nodes if (n.metrics() or {}).get("memorystreamer_controller_active") == 1.0]
            if len(active) == 1:
                return active[0]
            time.sleep(0.1)
        return None

    def under_replicated(self) -> Optional[float]:
        """Sum of ``memorystreamer_under_replicated_partitions`` over reachable
        nodes, None when no node exports it."""
        vals = [m.get("memorystreamer_under_replicated_partitions") for m in (n.metrics() for n in self.nodes) if m]
        vals = [v for v in vals if v is not None]
        return sum(vals) if vals else None

    def in_sync(self) -> bool:
        """Whether every node answers ``/metrics``, knows a quorum leader
        (``memorystreamer_raft_leader_id`` > 0), none reports an under-replicated
        partition, and the active controller reports no fenced broker. Gauges a
        broker does not export are not waited for."""
        ms = [n.metrics() for n in self.nodes]
        if any(m is None for m in ms):
            return False
        for m in ms:
            if m.get("memorystreamer_raft_leader_id", 1.0) <= 0:
                return False
            if m.get("memorystreamer_under_replicated_partitions", 0.0) != 0:
                return False
        controllers = [m for m in ms if m.get("memorystreamer_controller_active") == 1.0]
        if len(controllers) != 1:
            return False
        return controllers[0].get("memorystreamer_fenced_brokers", 0.0) == 0

    def wait_in_sync(self, limit: float) -> bool:
        """Polls :meth:`in_sync` until true or ``limit`` s pass."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if self.in_sync():
                return True
            time.sleep(0.2)
        return False

    def heal_processes(self) -> None:
        """SIGCONT every paused node and start every dead one."""
        for n in self.nodes:
            if n.paused:
                n.resume()
            if not n.running():
                n.start()

    def stop_all(self) -> None:
        """kill -9 every node."""
        for n in self.nodes:
            n.resume()
            n.kill9()
