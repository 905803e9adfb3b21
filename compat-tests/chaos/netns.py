"""The hosts of a chaos run: one network namespace per broker plus one for the
clients, each joined by a veth pair to a bridge that lives in its own "switch"
namespace (the root namespace is never touched), and the network faults
applied to them.

Names are ``ms-<pid>-<k>-{sw,c,n1,n2,...}`` (runner pid, run number), so two
runs never collide, and namespaces left behind by a runner that died (its pid
gone) are removed by :func:`clean_stale`. Inside every namespace the link is
called ``eth0``; the switch side of node i's link is ``p<i>`` (``pc`` for
the clients). Node i has address ``10.77.0.<10+i>``, the clients ``10.77.0.100``.

Faults: isolation with blackhole routes on both sides (there is no
iptables/nft here), packet loss and delay with ``tc netem`` when the kernel
has it; without netem, loss is a classic-BPF classifier that drops a random
share of IPv4 packets (``cls_bpf`` direct action, ``ld rand``) and delay becomes a
rate-limited link (``tbf``), which delays by queueing: the result records
which one ran. This module does NOT start brokers (``cluster``) or decide
when faults happen (``schedule``, ``runner``).
"""

from __future__ import annotations

import ctypes
import os
import re
import signal
import subprocess
from typing import Iterable, List, Optional

SUBNET = "10.77.0"
CLIENT_IP = f"{SUBNET}.100"
_CLONE_NEWNET = 0x40000000
_STALE = re.compile(r"^ms-(\d+)-\d+-(sw|c|n\d+)$")


class NetError(RuntimeError):
    """An ``ip`` / ``tc`` command failed."""


def sh(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Runs a command (bounded), raising :class:`NetError` with its stderr on failure."""
    p = subprocess.run(list(args), capture_output=True, text=True, timeout=30)
    if check and p.returncode != 0:
        raise NetError(f"{' '.join(args)}: exit {p.returncode}: {p.stderr.strip()}")
    return p


def list_netns() -> List[str]:
    """Names of every network namespace ``ip netns`` knows."""
    out = sh("ip", "netns", "list").stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def delete_netns(name: str) -> None:
    """Kills every process still in namespace ``name`` and deletes it."""
    pids = sh("ip", "netns", "pids", name, check=False).stdout.split()
    for pid in pids:
        if pid == str(os.getpid()):
            continue
        try:
            os.kill(int(pid), signal.SIGCONT)
            os.kill(int(pid), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass
    sh("ip", "netns", "del", name, check=False)


def clean_stale() -> List[str]:
    """Deletes the namespaces of chaos runs whose runner is gone; returns their names."""
    gone = []
    for name in list_netns():
        m = _STALE.match(name)
        if m and not _pid_alive(int(m.group(1))):
            delete_netns(name)
            gone.append(name)
    return gone


def enter(name: str) -> None:
    """Moves the calling thread (call it before any other thread starts)
    into network namespace ``name``; sockets opened afterwards live there."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(f"/run/netns/{name}", os.O_RDONLY)
    try:
        if libc.setns(fd, _CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise NetError(f"setns({name}): {os.strerror(err)}")
    finally:
        os.close(fd)


def _drop_bytecode(loss_pct: float) -> str:
    """Classic BPF for cls_bpf direct action: drop (TC_ACT_SHOT = 2) when a
    random u32 is at most ``loss_pct`` % of 2^32, else pass (TC_ACT_OK = 0)."""
    threshold = min(int((2**32 - 1) * loss_pct / 100.0), 2**32 - 1)
    ld_rand = 0xFFFFF000 + 56  # SKF_AD_OFF + SKF_AD_RANDOM
    return f"4,32 0 0 {ld_rand},37 0 1 {threshold},6 0 0 0,6 0 0 2"


class Topology:
    """The namespaces and links of one run."""

    def __init__(self, run_tag: str, nodes: int):
        self.prefix = f"ms-{run_tag}"
        self.nodes = nodes
        self.switch = f"{self.prefix}-sw"
        self.client = f"{self.prefix}-c"
        self.created: List[str] = []
        self.netem: Optional[bool] = None
        self._routes: List[tuple] = []

    def node_ns(self, i: int) -> str:
        """Namespace of node ``i`` (1-based)."""
        return f"{self.prefix}-n{i}"

    @staticmethod
    def node_ip(i: int) -> str:
        """Address of node ``i`` (1-based)."""
        return f"{SUBNET}.{10 + i}"

    def _port(self, i: Optional[int]) -> str:
        return "pc" if i is None else f"p{i}"

    def create(self) -> None:
        """Builds the switch, the clients' host and one host per node."""
        sh("ip", "netns", "add", self.switch)
        self.created.append(self.switch)
        sh("ip", "-n", self.switch, "link", "set", "lo", "up")
        sh("ip", "-n", self.switch, "link", "add", "br0", "type", "bridge")
        sh("ip", "-n", self.switch, "link", "set", "br0", "up")
        hosts = [(self.client, None, CLIENT_IP)] + [
            (self.node_ns(i), i, self.node_ip(i)) for i in range(1, self.nodes + 1)
        ]
        for ns, i, ip in hosts:
            sh("ip", "netns", "add", ns)
            self.created.append(ns)
            port = self._port(i)
            sh("ip", "-n", self.switch, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns)
            sh("ip", "-n", self.switch, "link", "set", port, "master", "br0")
            sh("ip", "-n", self.switch, "link", "set", port, "up")
            sh("ip", "-n", ns, "addr", "add", f"{ip}/24", "dev", "eth0")
            sh("ip", "-n", ns, "link", "set", "eth0", "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")

    def destroy(self) -> None:
        """Deletes every namespace this run created (killing what runs in them)."""
        for ns in reversed(self.created):
            delete_netns(ns)
        self.created.clear()

    # ---- isolation -------------------------------------------------------

    def cut(self, a: int, b: int) -> None:
        """Blackhole routes between nodes ``a`` and ``b``, both directions."""
        for x, y in ((a, b), (b, a)):
            sh("ip", "-n", self.node_ns(x), "route", "add", "blackhole", f"{self.node_ip(y)}/32")
            self._routes.append((x, y))

    def isolate(self, node: int, others: Iterable[int]) -> None:
        """Cuts ``node`` from each of ``others`` (clients still reach it)."""
        for o in others:
            if o != node:
                self.cut(node, o)

    def heal_routes(self) -> None:
        """Removes every blackhole route added by :meth:`cut`."""
        for x, y in self._routes:
            sh("ip", "-n", self.node_ns(x), "route", "del", "blackhole", f"{self.node_ip(y)}/32", check=False)
        self._routes.clear()

    # ---- link quality ----------------------------------------------------

    def _links(self, node: int):
        """Both ends of node's link: (namespace, device); shaping egress on
        both shapes both directions."""
        return [(self.node_ns(node), "eth0"), (self.switch, self._port(node))]

    def has_netem(self) -> bool:
        """Whether the kernel offers netem (probed once on the clients' link)."""
        if self.netem is None:
            p = sh("ip", "netns", "exec", self.client, "tc", "qdisc", "add", "dev", "eth0", "root", "netem",
                   "delay", "1ms", check=False)
            self.netem = p.returncode == 0
            if self.netem:
                sh("ip", "netns", "exec", self.client, "tc", "qdisc", "del", "dev", "eth0", "root", check=False)
        return self.netem

    def loss(self, node: int, pct: float) -> str:
        """Random loss of ``pct`` % of packets each way on node's link; returns the method."""
        for ns, dev in self._links(node):
            if self.has_netem():
                sh("ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", dev, "root", "netem", "loss", f"{pct}%")
            else:
                sh("ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", dev, "clsact")
                # IPv4 only: ARP keeps working, as on a lossy link whose
                # neighbours are already known.
                sh("ip", "netns", "exec", ns, "tc", "filter", "add", "dev", dev, "egress", "protocol", "ip", "bpf", "da",
                   "bytecode", _drop_bytecode(pct))
        return "netem" if self.has_netem() else "cls_bpf random drop"

    def delay(self, node: int, ms: int) -> str:
        """``ms`` of delay each way on node's link (netem), or without netem a
        1 Mbit/s link whose queue delays by up to max(5*ms, 500) ms; returns the method."""
        for ns, dev in self._links(node):
            if self.has_netem():
                sh("ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", dev, "root", "netem", "delay",
                   f"{ms}ms", f"{max(ms // 5, 1)}ms")
            else:
                sh("ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", dev, "root", "tbf", "rate", "1mbit",
                   "burst", "32kb", "latency", f"{max(5 * ms, 500)}ms")
        return "netem" if self.has_netem() else "tbf 1mbit (no netem)"

    def clear_link(self, node: int) -> None:
        """Removes any shaping from node's link."""
        for ns, dev in self._links(node):
            sh("ip", "netns", "exec", ns, "tc", "qdisc", "del", "dev", dev, "root", check=False)
            sh("ip", "netns", "exec", ns, "tc", "qdisc", "del", "dev", dev, "clsact", check=False)


def enter_fd(fd: int) -> None:
    """Moves the calling thread into the network namespace open as ``fd``
    (e.g. the one it started in, from ``/proc/self/ns/net``)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, _CLONE_NEWNET) != 0:
        raise NetError(f"setns(fd {fd}): {os.strerror(ctypes.get_errno())}")
