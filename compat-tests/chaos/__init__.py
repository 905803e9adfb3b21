"""Chaos harness: a MemoryStreamer cluster on network namespaces, faults from a
seeded schedule, an idempotent acks=all workload and a checker that counts
acknowledged records lost, duplicated or reordered.

Modules:
  netns     -- the hosts: namespaces, veth pairs, a bridge, and the network faults
  cluster   -- broker processes in those namespaces (start, kill -9, stop, restart)
  schedule  -- the seeded fault schedule (pure: same seed, same schedule)
  workload  -- producer and consumers (confluent-kafka), recording what happened
  checker   -- pure verdict over a workload's records
  report    -- results JSON and the table in docs/reliability.md
  runner    -- the command line (``python -m chaos``)

It is NOT a benchmark and not a unit test of the broker: it judges the running
binary from the outside, as a client sees it. Needs root (namespaces, tc).
"""
