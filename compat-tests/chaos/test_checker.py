"""Unit tests of the checker and the schedule on synthetic data: each injected
anomaly is counted, a clean log passes, and a seed always gives one schedule.

Run: ``cd compat-tests && python -m unittest chaos.test_checker`` (the cargo
test ``compat-tests/tests/chaos.rs`` runs it too).
"""

import unittest

import os
import tempfile

from chaos import report
from chaos.checker import Read, Send, check, longest_stall
from chaos.schedule import FAULT_KINDS, make_schedule


def clean_log(partitions=2, n=10):
    sends = {p: [Send(seq=s, sent_at=s, acked_at=s + 0.5) for s in range(n)] for p in range(partitions)}
    reads = [Read(p, s, f"{p}:{s}") for p in range(partitions) for s in range(n)]
    return sends, reads


class CheckerTest(unittest.TestCase):
    def test_clean_log_passes(self):
        sends, reads = clean_log()
        v = check(sends, reads, live=reads[:5], produce_start=0, produce_end=10)
        self.assertTrue(v.passed, v.to_dict())
        self.assertEqual(v.acknowledged, 20)
        self.assertEqual(v.read, 20)
        self.assertEqual(v.anomalies, 0)

    def test_lost_acked_record_is_counted(self):
        sends, reads = clean_log()
        reads = [r for r in reads if not (r.partition == 1 and r.value == "1:7")]
        v = check(sends, reads)
        self.assertEqual(v.lost, 1)
        self.assertFalse(v.passed)
        self.assertIn("lost: 1:7", v.examples[0])

    def test_unacked_record_missing_is_not_lost(self):
        sends, reads = clean_log()
        sends[0][3] = Send(seq=3, sent_at=3, acked_at=None, error="timed out")
        reads = [r for r in reads if r.value != "0:3"]
        # Offsets stay as they were: a gap in seqs is allowed, not a loss.
        v = check(sends, reads)
        self.assertTrue(v.passed, v.to_dict())
        self.assertEqual(v.failed, 1)

    def test_unacked_but_present_is_reported_not_failed(self):
        sends, reads = clean_log()
        sends[0][3] = Send(seq=3, sent_at=3, acked_at=None, error="timed out")
        v = check(sends, reads)
        self.assertTrue(v.passed)
        self.assertEqual(v.unacked_but_present, 1)

    def test_duplicate_at_another_offset_is_counted(self):
        sends, reads = clean_log()
        reads.append(Read(0, 10, "0:4"))
        v = check(sends, reads)
        self.assertEqual(v.duplicated, 1)
        self.assertFalse(v.passed)

    def test_reorder_is_counted(self):
        sends, reads = clean_log()
        # Swap seqs 5 and 6 of partition 1.
        reads = [
            Read(r.partition, r.offset, {"1:5": "1:6", "1:6": "1:5"}.get(r.value, r.value)) for r in reads
        ]
        v = check(sends, reads)
        self.assertEqual(v.reordered, 1)
        self.assertEqual(v.lost, 0)
        self.assertFalse(v.passed)

    def test_divergent_live_read_is_counted(self):
        sends, reads = clean_log()
        live = [Read(0, 3, "0:3"), Read(0, 12, "0:12")]  # offset 12 vanished
        v = check(sends, reads, live=live)
        self.assertEqual(v.divergent, 1)
        self.assertFalse(v.passed)

    def test_acked_offset_must_hold_the_record(self):
        sends, reads = clean_log()
        for s in sends[0]:
            s.offset = s.seq
        self.assertTrue(check(sends, reads).passed)
        sends[0][2].offset = 7
        v = check(sends, reads)
        self.assertEqual(v.divergent, 1)

    def test_foreign_value_is_counted(self):
        sends, reads = clean_log()
        reads.append(Read(0, 10, "1:99"))
        reads.append(Read(0, 11, "garbage"))
        v = check(sends, reads)
        self.assertEqual(v.foreign, 2)

    def test_longest_stall(self):
        sends = {0: [Send(0, 0, 1.0), Send(1, 1, 1.5), Send(2, 2, 6.0)], 1: [Send(0, 0, 2.0)]}
        self.assertAlmostEqual(longest_stall(sends, 0.0, 7.0), 4.0)
        # Nothing acked after 6.0 until the end at 20.0.
        self.assertAlmostEqual(longest_stall(sends, 0.0, 20.0), 14.0)

    def test_stall_is_per_partition(self):
        # Partition 1 is acked throughout; partition 0 waits 5 s in the middle.
        sends = {0: [Send(0, 0, 1.0), Send(1, 1, 6.0), Send(2, 6, 7.0)],
                 1: [Send(s, s, s + 0.5) for s in range(8)]}
        reads = [Read(0, s, f"0:{s}") for s in range(3)] + [Read(1, s, f"1:{s}") for s in range(8)]
        v = check(sends, reads, produce_start=0.0, produce_end=8.0)
        self.assertAlmostEqual(v.longest_stall_s, 5.0)
        self.assertAlmostEqual(v.longest_stall_any_s, 1.0)


class ScheduleTest(unittest.TestCase):
    def test_same_seed_same_schedule(self):
        a = make_schedule(seed=42, duration=120, faults=8, nodes=3)
        b = make_schedule(seed=42, duration=120, faults=8, nodes=3)
        self.assertEqual([f.to_dict() for f in a], [f.to_dict() for f in b])
        c = make_schedule(seed=43, duration=120, faults=8, nodes=3)
        self.assertNotEqual([f.to_dict() for f in a], [f.to_dict() for f in c])

    def test_faults_do_not_overlap_and_heal_in_time(self):
        for seed in range(200):
            fs = make_schedule(seed=seed, duration=90, faults=6, nodes=3)
            self.assertEqual(len(fs), 6)
            for f in fs:
                self.assertIn(f.kind, FAULT_KINDS)
                self.assertGreater(f.duration, 0)
                self.assertLessEqual(f.at + f.duration, 90)
                self.assertTrue(f.node is None or 1 <= f.node <= 3)
            for x, y in zip(fs, fs[1:]):
                self.assertLessEqual(x.at + x.duration, y.at, (seed, x, y))

    def test_explicit_only_kinds_are_never_in_the_default_mix(self):
        for seed in range(100):
            self.assertNotIn("wipe", [f.kind for f in make_schedule(seed, 60, 5, 3)])
        self.assertEqual({f.kind for f in make_schedule(1, 60, 3, 3, kinds=["wipe"])}, {"wipe"})

    def test_kinds_filter(self):
        fs = make_schedule(seed=1, duration=60, faults=5, nodes=3, kinds=["kill9"])
        self.assertTrue(all(f.kind == "kill9" for f in fs))


class ReportTest(unittest.TestCase):
    def test_percentile(self):
        self.assertEqual(report.percentile([], 50), 0.0)
        self.assertEqual(report.percentile([3.0, 1.0, 2.0], 50), 2.0)
        self.assertEqual(report.percentile([float(i) for i in range(1, 101)], 99), 99.0)

    def test_table_is_replaced_between_markers(self):
        run = {"seed": 1, "passed": True, "rf": 3, "faults": [{"kind": "kill9"}],
               "verdict": {"acknowledged": 10, "lost": 0, "longest_stall_s": 1.5}}
        with tempfile.TemporaryDirectory() as d:
            doc = os.path.join(d, "r.md")
            with open(doc, "w") as f:
                f.write(f"# Title\n\n{report.BEGIN}\nold\n{report.END}\n\n## After\n")
            report.write_table(doc, report.table([run], "cmd", "abc", "now"))
            report.write_table(doc, report.table([run, run], "cmd", "abc", "now"))
            text = open(doc).read()
        self.assertNotIn("old", text)
        self.assertEqual(text.count(report.BEGIN), 1)
        self.assertIn("| 2 | 2 | 3 | 2 | 20 | 0 |", text)
        self.assertTrue(text.endswith("## After\n"))


if __name__ == "__main__":
    unittest.main()
