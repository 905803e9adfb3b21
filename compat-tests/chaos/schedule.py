"""The fault schedule: a pure function of (seed, duration, faults, nodes, kinds).

The same arguments always give the same list of faults, so a failing seed can
be replayed. Faults never overlap: each one lives in its own slot of the run
and heals before the next begins, so at most one node is down, paused or cut
off at a time, except ``restart_all`` (every node at once, on purpose).

What a fault *targets* is fixed here (a node number) except
``isolate_leader_from_controller``, whose nodes are the ones that hold those
roles when it fires (read from the cluster then; the schedule fixes which
partition). This module does NOT apply anything: see ``runner`` and ``netns``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import List, Optional, Sequence

# Kind -> relative weight in the random choice.
WEIGHTS = {
    "kill9": 3,  # kill -9 a node, restart it after `duration`
    "pause": 2,  # SIGSTOP a node, SIGCONT after `duration`
    "isolate": 2,  # blackhole routes between a node and every other node
    "isolate_leader_from_controller": 2,  # cut one partition's leader from the active controller only
    "loss": 2,  # random packet loss on a node's link (both directions)
    "delay": 2,  # delay on a node's link (netem; a rate-limited link without netem)
    "restart_rolling": 1,  # SIGTERM + restart every node, one after the other
    "restart_all": 1,  # kill -9 every node, then start them all
}
FAULT_KINDS = tuple(WEIGHTS)
# Kinds scheduled only when named in ``kinds``: they are expected to lose data.
EXPLICIT_ONLY = {
    # kill -9 a node, delete its copy of the workload topic, restart it: with
    # replication factor 1 this must fail the run (the harness's own check).
    "wipe": 1,
}

# Longest time a single fault lasts before it heals.
MAX_FAULT_S = 20.0


@dataclass
class Fault:
    """One scheduled fault. ``at`` and ``duration`` are seconds from the start
    of the workload; ``node`` is 1-based (None for whole-cluster faults)."""

    kind: str
    at: float
    duration: float
    node: Optional[int] = None
    params: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return {"kind": self.kind, "at": self.at, "duration": self.duration, "node": self.node, **self.params}

    def describe(self) -> str:
        """One line for the log."""
        extra = " ".join(f"{k}={v}" for k, v in self.params.items())
        node = f" n{self.node}" if self.node else ""
        return f"t+{self.at:.1f}s {self.kind}{node} for {self.duration:.1f}s {extra}".rstrip()


def make_schedule(
    seed: int,
    duration: float,
    faults: int,
    nodes: int,
    kinds: Optional[Sequence[str]] = None,
    partitions: int = 3,
) -> List[Fault]:
    """``faults`` faults spread over ``duration`` seconds (a quiet warm-up
    before the first and a quiet tail after the last)."""
    rng = random.Random(seed)
    known = {**WEIGHTS, **EXPLICIT_ONLY}
    pool = [k for k in (kinds or FAULT_KINDS) if k in known]
    if not pool:
        raise ValueError(f"no known fault kind in {kinds!r}; known: {', '.join(known)}")
    weights = [known[k] for k in pool]
    warmup = min(10.0, duration * 0.1)
    tail = min(10.0, duration * 0.15)
    window = max(duration - warmup - tail, 1.0)
    slot = window / max(faults, 1)
    out: List[Fault] = []
    for i in range(faults):
        start = warmup + i * slot
        kind = rng.choices(pool, weights)[0]
        length = round(min(MAX_FAULT_S, rng.uniform(0.4, 0.7) * slot), 2)
        at = round(start + rng.uniform(0.0, 0.25) * slot, 2)
        node = rng.randint(1, nodes)
        params: dict = {}
        if kind == "loss":
            params["loss_pct"] = rng.choice([5, 10, 20, 30])
        elif kind == "delay":
            params["delay_ms"] = rng.choice([50, 100, 200, 400])
        elif kind == "isolate_leader_from_controller":
            params["partition"] = rng.randrange(partitions)
            node = None
        elif kind in ("restart_rolling", "restart_all"):
            node = None
        out.append(Fault(kind=kind, at=at, duration=max(length, 0.5), node=node, params=params))
    return out
