"""The verdict of one run, computed from what the workload recorded.

Pure functions over plain data, no clients and no clock, so the unit tests in
``test_checker.py`` can feed it synthetic logs with injected anomalies.

Inputs:
  sends  -- per partition, a list of ``Send(seq, sent_at, acked_at, error)``: one per
            record handed to the producer. ``acked_at`` is set when its delivery
            report said success; ``error`` when it said failure.
  reads  -- the final full read: ``Read(partition, offset, value)`` for every record
            in the topic, value ``"<partition>:<seq>"``.
  live   -- records read by the consumers while faults ran (same shape); a live
            read whose offset later holds another value is a "divergent" read
            (a consumer saw data that the log then lost or replaced).

Anomalies (any one fails the run):
  lost       -- an acknowledged seq absent from the final read
  duplicated -- a seq present at two different offsets
  reordered  -- within a partition, seq order differs from offset order
  divergent  -- a live read contradicted by the final read, or a record read
                at another offset than its acknowledgement named
  foreign    -- a value that is not "<partition>:<seq>" of that partition

Stalls are reported, not judged: ``longest_stall_s`` is the longest time one
partition went without an acknowledgement while the producer was sending,
``longest_stall_any_s`` the longest time no partition got one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional


@dataclass
class Send:
    """One record handed to the producer."""

    seq: int
    sent_at: float
    acked_at: Optional[float] = None
    error: Optional[str] = None
    offset: Optional[int] = None


@dataclass
class Read:
    """One record read back."""

    partition: int
    offset: int
    value: str


@dataclass
class Verdict:
    """Counts and examples of each anomaly, plus the produce stall."""

    sent: int = 0
    acknowledged: int = 0
    failed: int = 0
    unacked_but_present: int = 0
    read: int = 0
    lost: int = 0
    duplicated: int = 0
    reordered: int = 0
    divergent: int = 0
    foreign: int = 0
    longest_stall_s: float = 0.0
    longest_stall_any_s: float = 0.0
    examples: List[str] = field(default_factory=list)

    @property
    def anomalies(self) -> int:
        """Every count that fails the run."""
        return self.lost + self.duplicated + self.reordered + self.divergent + self.foreign

    @property
    def passed(self) -> bool:
        """Zero anomalies."""
        return self.anomalies == 0

    def to_dict(self) -> dict:
        """JSON-ready form."""
        d = {k: v for k, v in self.__dict__.items() if k != "examples"}
        d["anomalies"] = self.anomalies
        d["passed"] = self.passed
        d["examples"] = self.examples[:20]
        return d


def parse_value(value: str) -> Optional[tuple]:
    """``"p:seq"`` -> ``(p, seq)``, else None."""
    try:
        p, s = value.split(":", 1)
        return int(p), int(s)
    except (ValueError, AttributeError):
        return None


def longest_stall(sends: Dict[int, List[Send]], produce_start: float, produce_end: float) -> float:
    """Longest time without a successful ack while the producer was sending:
    gaps between successive acks (of the partitions in ``sends``), from the
    start to the first ack, and from the last ack to the end of producing."""
    acks = sorted(s.acked_at for ss in sends.values() for s in ss if s.acked_at is not None)
    points = [produce_start] + [a for a in acks if produce_start <= a <= produce_end] + [produce_end]
    return max((b - a for a, b in zip(points, points[1:])), default=0.0)


def check(
    sends: Dict[int, List[Send]],
    reads: Iterable[Read],
    live: Iterable[Read] = (),
    produce_start: float = 0.0,
    produce_end: float = 0.0,
) -> Verdict:
    """Judges one run; see the module doc for the anomalies."""
    v = Verdict()
    ex = v.examples

    def note(msg: str) -> None:
        if len(ex) < 50:
            ex.append(msg)

    # Final read: per partition, offset -> seq, and seq -> offsets.
    at_offset: Dict[int, Dict[int, str]] = {}
    seq_offsets: Dict[int, Dict[int, List[int]]] = {}
    for r in reads:
        v.read += 1
        at_offset.setdefault(r.partition, {})[r.offset] = r.value
        parsed = parse_value(r.value)
        if parsed is None or parsed[0] != r.partition:
            v.foreign += 1
            note(f"foreign value {r.value!r} at {r.partition}@{r.offset}")
            continue
        seq_offsets.setdefault(r.partition, {}).setdefault(parsed[1], []).append(r.offset)

    for p, by_seq in seq_offsets.items():
        for seq, offs in by_seq.items():
            if len(set(offs)) > 1:
                v.duplicated += len(set(offs)) - 1
                note(f"duplicated {p}:{seq} at offsets {sorted(set(offs))}")
        # Offset order must be seq order.
        by_off = sorted((o, s) for s, offs in by_seq.items() for o in set(offs))
        prev = None
        for o, s in by_off:
            if prev is not None and s < prev[1]:
                v.reordered += 1
                note(f"reordered: {p}:{s} at offset {o} after {p}:{prev[1]} at offset {prev[0]}")
            prev = (o, s)

    for p, ss in sends.items():
        present = seq_offsets.get(p, {})
        for s in ss:
            v.sent += 1
            if s.acked_at is not None:
                v.acknowledged += 1
                if s.seq not in present:
                    v.lost += 1
                    note(f"lost: {p}:{s.seq} acknowledged at {s.acked_at:.3f}, never read")
                elif s.offset is not None and s.offset >= 0 and s.offset not in present[s.seq]:
                    v.divergent += 1
                    note(f"divergent: {p}:{s.seq} acknowledged at offset {s.offset}, read at {present[s.seq]}")
            else:
                if s.error is not None:
                    v.failed += 1
                if s.seq in present:
                    v.unacked_but_present += 1

    for r in live:
        final = at_offset.get(r.partition, {}).get(r.offset)
        if final != r.value:
            v.divergent += 1
            note(f"divergent: {r.value!r} read live at {r.partition}@{r.offset}, finally {final!r}")

    if produce_end > produce_start:
        # Per partition (a partition whose leader died stalls even while the
        # others are acknowledged), and over all partitions.
        v.longest_stall_s = round(
            max((longest_stall({p: ss}, produce_start, produce_end) for p, ss in sends.items()), default=0.0), 3
        )
        v.longest_stall_any_s = round(longest_stall(sends, produce_start, produce_end), 3)
    return v
