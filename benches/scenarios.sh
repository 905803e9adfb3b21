# The load scenarios of benches/run.sh and benches/compare.sh (sourced by
# both, so they always measure the same thing). `scenarios` calls the
# caller's `run NAME ARGS...` once per scenario; RECORDS is the caller's
# records-per-run.
scenarios() {
  n=0
  for size in 100 1024; do
    for acks in 1 all; do
      for parts in 1 8; do
        n=$((n+1))
        count=$RECORDS
        [ "$size" = 1024 ] && count=$((RECORDS/4))
        run "${size} B, acks=$acks, $parts partition(s), linger 5 ms" \
          --topic "t$n" --records "$count" --record-size "$size" --acks "$acks" --partitions "$parts" --linger-ms 5
      done
    done
  done
  run "100 B, acks=all, linger 0, paced 10,000 records/s" \
    --topic latency --records 50000 --record-size 100 --acks all --partitions 1 --linger-ms 0 --rate 10000
  run "100 B, acks=all, linger 0, paced 10,000 records/s, 1 consumer" \
    --topic latency-e2e --records 50000 --record-size 100 --acks all --partitions 1 --linger-ms 0 --rate 10000 --consumers 1
  run "100 B, acks=1, 8 partitions, 2 producers, 2 consumers" \
    --topic fanout --records "$RECORDS" --record-size 100 --acks 1 --partitions 8 --linger-ms 5 --producers 2 --consumers 2
}
