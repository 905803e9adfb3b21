//! Reads planned under the log's lock and performed without it, lookups of
//! the largest timestamp from the segments' tracked offset, and fsyncs taken
//! under the lock and performed without it.

mod common;

use std::sync::Mutex;

use common::plain as batch;
use memorystreamer_log::batch::{BatchHeader, Batches};
use memorystreamer_log::{FlushPlan, Log, LogConfig, MaxTimestampPlan, ReadPlan};
use proptest::prelude::*;

fn small_config() -> LogConfig {
    LogConfig {
        segment_bytes: 2048,
        index_interval_bytes: 256,
        index_max_bytes: 4096,
        ..LogConfig::default()
    }
}

fn append(log: &mut Log, b: &[u8]) -> i64 {
    let mut buf = b.to_vec();
    log.append(&mut buf, 0).expect("append").base_offset
}

/// Every batch header in the log, in offset order, read with plain reads.
fn headers(log: &Log) -> Vec<BatchHeader> {
    let mut out = Vec::new();
    let mut from = log.log_start_offset();
    while let Some(slice) = log.read(from).expect("read") {
        let bytes = slice.read_batches(1 << 20, true).expect("read batches");
        for item in Batches::new(&bytes) {
            let (h, _) = item.expect("batch");
            from = h.last_offset() + 1;
            out.push(h);
        }
    }
    out
}

/// What ListOffsets MAX_TIMESTAMP must find: the first batch holding the
/// largest timestamp.
fn brute_force_max(all: &[BatchHeader]) -> Option<i64> {
    let max = all.iter().map(|h| h.max_timestamp).max()?;
    all.iter()
        .find(|h| h.max_timestamp == max)
        .map(|h| h.base_offset)
}

/// What a timestamp lookup must find: the first batch with a max timestamp
/// at or past `ts`.
fn brute_force_at(all: &[BatchHeader], ts: i64) -> Option<i64> {
    all.iter()
        .find(|h| h.max_timestamp >= ts)
        .map(|h| h.base_offset)
}

fn check_lookups(log: &Log, probes: &[i64]) {
    let all = headers(log);
    let (h, bytes) = log
        .max_timestamp_batch()
        .expect("max")
        .expect("a batch with a timestamp");
    assert_eq!(Some(h.base_offset), brute_force_max(&all));
    assert_eq!(bytes.len(), h.total_len(), "exactly that batch's bytes");
    assert_eq!(BatchHeader::parse(&bytes).expect("header"), h);
    for ts in probes {
        let found = log
            .find_batch_by_timestamp(*ts)
            .expect("lookup")
            .map(|(h, _)| h.base_offset);
        assert_eq!(found, brute_force_at(&all, *ts), "timestamp {ts}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    /// However timestamps are ordered (ties included) and however often
    /// the log is reopened (sealed segments read back their time index, the
    /// active one is recovered), the tracked max-timestamp offset finds the
    /// batch a scan of the whole log would, and timestamp lookups agree
    /// with a scan.
    #[test]
    fn the_tracked_max_timestamp_offset_agrees_with_a_scan(
        batches in proptest::collection::vec((1i32..5, 1i64..400, 0usize..200), 1..80),
        reopen_every in 5usize..40,
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut log = Log::open(dir.path(), small_config()).expect("open");
        let probes = [0, 1, 50, 199, 200, 201, 399, 400];
        for (i, (count, ts, size)) in batches.iter().enumerate() {
            append(&mut log, &batch(*count, &vec![b'x'; *size], *ts));
            if (i + 1) % reopen_every == 0 {
                check_lookups(&log, &probes);
                drop(log);
                log = Log::open(dir.path(), small_config()).expect("reopen");
            }
        }
        check_lookups(&log, &probes);
        drop(log);
        let log = Log::open(dir.path(), small_config()).expect("reopen");
        check_lookups(&log, &probes);
    }
}

#[test]
fn the_max_timestamp_is_found_in_an_earlier_segment_with_the_first_of_equal_batches() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = Log::open(dir.path(), small_config()).expect("open");
    let mut bases = Vec::new();
    for ts in [10, 500, 20, 500, 30] {
        bases.push(append(&mut log, &batch(2, &[0u8; 300], ts)));
    }
    for _ in 0..20 {
        append(&mut log, &batch(1, &[0u8; 300], 40));
    }
    assert!(log.segment_count() > 2, "the log rolled");
    let (h, _) = log.max_timestamp_batch().expect("max").expect("found");
    assert_eq!(h.base_offset, bases[1], "the first batch holding 500");
    assert_eq!(h.max_timestamp, 500);
    drop(log);
    let log = Log::open(dir.path(), small_config()).expect("reopen");
    let (h, _) = log.max_timestamp_batch().expect("max").expect("found");
    assert_eq!(h.base_offset, bases[1]);
}

/// Plans borrow nothing from the log: they can outlive the lock guard and
/// move to another thread.
fn assert_detached<T: Send + 'static>(_: &T) {}

#[test]
fn a_plan_taken_under_the_lock_reads_after_it_while_the_log_moves_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = Mutex::new(Log::open(dir.path(), small_config()).expect("open"));
    let first = batch(3, b"first-batch-payload", 100);
    append(&mut log.lock().expect("lock"), &first);
    let plan: ReadPlan = log
        .lock()
        .expect("lock")
        .plan_read(1)
        .expect("in range")
        .expect("not at the end");
    let max: MaxTimestampPlan = log
        .lock()
        .expect("lock")
        .plan_max_timestamp()
        .expect("plan");
    assert_detached(&plan);
    assert_detached(&max);
    // The writer goes on: more batches, rolls, and retention takes the
    // planned segment out of the log and deletes its files.
    {
        let mut guard = log.lock().expect("lock");
        for _ in 0..30 {
            append(&mut guard, &batch(1, &[1u8; 300], 200));
        }
        assert!(guard.segment_count() > 2);
        let removed = guard.take_expired(None, Some(1), 0);
        removed.delete_files().expect("delete");
        assert!(guard.log_start_offset() > 0, "the first segment is gone");
    }
    let slice = plan
        .read_slice(|p| log.lock().expect("lock").plan_next(p))
        .expect("read")
        .expect("found");
    let bytes = slice.read_batches(1 << 20, true).expect("bytes");
    let got: Vec<BatchHeader> = Batches::new(&bytes).map(|b| b.expect("batch").0).collect();
    assert_eq!(
        got.len(),
        1,
        "the slice ends where the planned segment ended"
    );
    assert_eq!(got[0].base_offset, 0);
    assert_eq!(&bytes[8..], &first[8..]);
    let (h, _) = max.read_batch().expect("read").expect("found");
    assert_eq!((h.base_offset, h.max_timestamp), (0, 100));
}

#[test]
fn an_fsync_taken_under_the_lock_counts_only_what_was_appended_before_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = LogConfig {
        flush_messages: Some(3),
        ..LogConfig::default()
    };
    let log = Mutex::new(Log::open(dir.path(), config).expect("open"));
    let needed = |n: i32| {
        let mut b = batch(n, b"r", 1);
        log.lock()
            .expect("lock")
            .append(&mut b, 0)
            .expect("append")
            .flush_needed
    };
    assert!(!needed(1), "1 of 3 records");
    assert!(!needed(1), "2 of 3 records");
    assert!(needed(1), "flush.messages reached: the caller must flush");
    assert_eq!(log.lock().expect("lock").unflushed_messages(), 3);
    let plan: FlushPlan = log.lock().expect("lock").begin_flush();
    assert_detached(&plan);
    // An append while the fsync runs: the lock is free.
    assert!(needed(2), "5 unflushed until the fsync completes");
    plan.sync().expect("fsync without the lock");
    {
        let mut guard = log.lock().expect("lock");
        guard.complete_flush(&plan);
        assert_eq!(
            guard.unflushed_messages(),
            2,
            "records appended during the fsync stay unflushed"
        );
        // A second flush completing with an older plan moves nothing back.
        let newer = guard.begin_flush();
        newer.sync().expect("fsync");
        guard.complete_flush(&newer);
        assert_eq!(guard.unflushed_messages(), 0);
        guard.complete_flush(&plan);
        assert_eq!(guard.unflushed_messages(), 0);
    }
}
