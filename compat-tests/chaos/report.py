"""Aggregates run summaries into the results table of ``docs/reliability.md``.

The table sits between ``<!-- chaos-results:begin -->`` and
``<!-- chaos-results:end -->``; writing replaces what is between the markers
(and adds the markers at the end of the file if they are missing). This
module does NOT run anything.
"""

from __future__ import annotations

import collections
import subprocess
from typing import List, Optional

BEGIN = "<!-- chaos-results:begin -->"
END = "<!-- chaos-results:end -->"


def percentile(values: List[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of ``values``; 0 when empty."""
    if not values:
        return 0.0
    s = sorted(values)
    rank = max(1, min(len(s), int(round(q / 100.0 * len(s) + 0.4999))))
    return s[rank - 1]


def git_head(path: str) -> str:
    """Short commit of the checkout at ``path`` ("?" if unknown)."""
    p = subprocess.run(["git", "-C", path, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return p.stdout.strip() or "?"


def table(runs: List[dict], command: str, commit: str, when: str, note: str = "") -> str:
    """Markdown for a list of run summaries."""
    n = len(runs)
    passed = sum(1 for r in runs if r.get("passed"))
    faults = sum(len(r.get("faults", [])) for r in runs)
    kinds = collections.Counter(f["kind"] for r in runs for f in r.get("faults", []))
    acked = sum(r.get("verdict", {}).get("acknowledged", 0) for r in runs)
    keys = ("lost", "duplicated", "reordered", "divergent", "foreign")
    anomalies = {k: sum(r.get("verdict", {}).get(k, 0) for r in runs) for k in keys}
    stalls = [r.get("verdict", {}).get("longest_stall_s", 0.0) for r in runs]
    rfs = sorted({r.get("rf") for r in runs if r.get("rf") is not None})
    incomplete = sum(1 for r in runs if r.get("final_read_error"))
    errors = sum(1 for r in runs if r.get("error"))
    lines = [
        f"Last run: {when}, commit `{commit}`" + (f" ({note})" if note else "") + f", command `{command}`.",
        "",
        "| runs | passed | replication factor | faults | records acknowledged | lost | duplicated | reordered "
        "| divergent | stall p50 | stall p99 |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        f"| {n} | {passed} | {', '.join(map(str, rfs)) or '?'} | {faults} | {acked} | {anomalies['lost']} "
        f"| {anomalies['duplicated']} | {anomalies['reordered']} | {anomalies['divergent']} "
        f"| {percentile(stalls, 50):.1f} s | {percentile(stalls, 99):.1f} s |",
        "",
        "Faults injected: " + (", ".join(f"{k} {v}" for k, v in sorted(kinds.items())) or "none") + ".",
    ]
    if any(r.get("rf_fallback") for r in runs):
        lines += ["", "**The topic was created with a lower replication factor than asked for (the broker "
                      "refused it): these runs do not test replication.**"]
    if incomplete or errors:
        lines += ["", f"Runs whose final read was incomplete: {incomplete}; runs that failed to run: {errors}."]
    net = sorted({m for r in runs for m in (r.get("net_method") or "").split(", ") if m})
    if net:
        lines += ["", "Loss/delay method: " + ", ".join(net) + "."]
    return "\n".join(lines)


def write_table(doc_path: str, body: str) -> None:
    """Replaces the text between the markers in ``doc_path`` with ``body``."""
    try:
        with open(doc_path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        text = ""
    block = f"{BEGIN}\n{body}\n{END}"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        text = head + block + tail
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    with open(doc_path, "w", encoding="utf-8") as f:
        f.write(text)


def summary_line(run: dict) -> str:
    """Compact one-line view of a run (the JSON line is printed separately)."""
    v: Optional[dict] = run.get("verdict")
    if not v:
        return f"seed {run['seed']}: ERROR {run.get('error')}"
    return (f"seed {run['seed']}: {'PASS' if run['passed'] else 'FAIL'} rf={run.get('rf')} "
            f"faults={len(run.get('faults', []))} acked={v['acknowledged']} lost={v['lost']} "
            f"dup={v['duplicated']} reord={v['reordered']} div={v['divergent']} stall={v['longest_stall_s']}s")
