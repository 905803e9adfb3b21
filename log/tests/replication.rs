//! A follower's log: batches copied from a leader's log with
//! `append_as_follower` give the same bytes, producer state, transactions
//! and leader epochs (also after reopening); a divergent tail is cut with
//! `truncate_to` and stays cut across a restart; `truncate_fully_and_start_at`
//! restarts an empty log; the leader epoch checkpoint's format, rebuild and
//! OffsetsForLeaderEpoch answers.

mod common;

use std::fs;
use std::path::Path;

use common::{bases, batch, plain, read_all, transactional};
use memorystreamer_log::batch::Batches;
use memorystreamer_log::txn::marker_batch;
use memorystreamer_log::{ControlType, Log, LogConfig, LogError};
use proptest::prelude::*;

fn small_config() -> LogConfig {
    LogConfig {
        segment_bytes: 512,
        index_interval_bytes: 128,
        index_max_bytes: 4096,
        ..LogConfig::default()
    }
}

fn open(dir: &Path) -> Log {
    Log::open(dir, small_config()).expect("open")
}

fn lead(log: &mut Log, mut b: Vec<u8>, epoch: i32) -> i64 {
    log.append(&mut b, epoch)
        .expect("leader append")
        .base_offset
}

/// Copies the leader's batches from the follower's log end, in fetches of
/// at most `max_bytes` (which may end mid-batch, like a fetch response).
fn sync(leader: &Log, follower: &mut Log, max_bytes: usize) {
    loop {
        let from = follower.log_end_offset();
        if from >= leader.log_end_offset() {
            return;
        }
        let slice = leader.read(from).expect("read").expect("data");
        let whole = slice.read_batches(max_bytes, true).expect("batches");
        // Add a cut-off piece of the next batch, as a fetch response may.
        let mut fetched = whole.clone();
        let more = slice
            .read_batches(whole.len() + 4096, true)
            .expect("batches");
        fetched.extend_from_slice(&more[whole.len()..(whole.len() + 70).min(more.len())]);
        follower
            .append_as_follower(&fetched)
            .expect("follower append")
            .expect("a whole batch");
    }
}

fn sorted_producers(log: &Log) -> Vec<memorystreamer_log::ProducerInfo> {
    let mut p = log.producers();
    p.sort_by_key(|p| p.producer_id);
    p
}

/// Everything a replica must agree on.
fn assert_same(leader: &Log, follower: &Log) {
    assert_eq!(follower.log_end_offset(), leader.log_end_offset());
    assert_eq!(read_all(follower), read_all(leader), "bytes differ");
    assert_eq!(
        sorted_producers(follower),
        sorted_producers(leader),
        "producer state differs"
    );
    assert_eq!(follower.last_stable_offset(), leader.last_stable_offset());
    assert_eq!(follower.open_transactions(), leader.open_transactions());
    assert_eq!(
        follower.aborted_transactions(0, i64::MAX),
        leader.aborted_transactions(0, i64::MAX)
    );
    assert_eq!(follower.epoch_entries(), leader.epoch_entries());
}

/// A leader log with plain, idempotent and transactional batches, commits,
/// aborts, an open transaction and three leader epochs.
fn busy_leader(dir: &Path) -> Log {
    let mut log = open(dir);
    for i in 0..6 {
        lead(&mut log, plain(3, b"plain-record", 1_000 + i), 0);
    }
    for s in 0..4 {
        lead(&mut log, batch(2, b"idempotent", 2_000, 7, s * 2), 0);
    }
    lead(
        &mut log,
        transactional(batch(2, b"txn-a", 3_000, 9, 0), 0),
        2,
    );
    lead(
        &mut log,
        marker_batch(9, 0, ControlType::Abort, 1, 3_100),
        2,
    );
    lead(
        &mut log,
        transactional(batch(1, b"txn-b", 3_200, 9, 2), 0),
        2,
    );
    lead(
        &mut log,
        marker_batch(9, 0, ControlType::Commit, 1, 3_300),
        2,
    );
    for i in 0..5 {
        lead(&mut log, plain(2, b"more-records", 4_000 + i), 5);
    }
    lead(
        &mut log,
        transactional(batch(1, b"open", 5_000, 11, 0), 0),
        5,
    );
    log
}

#[test]
fn follower_copy_matches_leader_and_survives_reopen() {
    let ld = tempfile::tempdir().expect("tempdir");
    let fd = tempfile::tempdir().expect("tempdir");
    let leader = busy_leader(ld.path());
    assert!(leader.segment_count() > 2, "the test wants rolls");
    let mut follower = open(fd.path());
    sync(&leader, &mut follower, 300);
    assert_same(&leader, &follower);
    assert_eq!(leader.epoch_entries().len(), 3);
    assert!(!leader.aborted_transactions(0, i64::MAX).is_empty());
    assert_ne!(leader.last_stable_offset(), leader.log_end_offset());
    drop(leader);
    drop(follower);
    let leader = open(ld.path());
    let follower = open(fd.path());
    assert_same(&leader, &follower);
}

#[test]
fn follower_append_result_and_flush_accounting() {
    let ld = tempfile::tempdir().expect("tempdir");
    let fd = tempfile::tempdir().expect("tempdir");
    let mut leader = open(ld.path());
    lead(&mut leader, plain(3, b"x", 1), 4);
    lead(&mut leader, plain(2, b"y", 2), 4);
    let bytes = read_all(&leader);
    let mut follower = Log::open(
        fd.path(),
        LogConfig {
            flush_messages: Some(5),
            ..small_config()
        },
    )
    .expect("open");
    let info = follower
        .append_as_follower(&bytes)
        .expect("append")
        .expect("batches");
    assert_eq!((info.base_offset, info.last_offset), (0, 4));
    assert!(info.flush_needed, "5 records reach flush.messages");
    assert_eq!(follower.unflushed_messages(), 5);
    assert_eq!(follower.epoch_entries(), vec![(4, 0)]);
    assert_eq!(follower.latest_epoch(), Some(4));
}

#[test]
fn follower_refuses_out_of_order_batches_and_writes_nothing() {
    let ld = tempfile::tempdir().expect("tempdir");
    let fd = tempfile::tempdir().expect("tempdir");
    let mut leader = open(ld.path());
    for i in 0..3 {
        lead(&mut leader, plain(2, b"abc", i), 0);
    }
    let bytes = read_all(&leader);
    let batches: Vec<Vec<u8>> = Batches::new(&bytes)
        .map(|b| bytes[b.expect("batch").1].to_vec())
        .collect();
    let mut follower = open(fd.path());
    follower
        .append_as_follower(&batches[0])
        .expect("append")
        .expect("batch");
    // The same batch again: below the log end offset.
    let err = follower.append_as_follower(&batches[0]).expect_err("dup");
    assert!(matches!(
        err,
        LogError::OffsetOutOfOrder {
            expected_at_least: 2,
            got: 0
        }
    ));
    // Not increasing inside one fetch: nothing written, not even the first.
    let mut mixed = batches[2].clone();
    mixed.extend_from_slice(&batches[1]);
    assert!(matches!(
        follower.append_as_follower(&mixed),
        Err(LogError::OffsetOutOfOrder {
            expected_at_least: 6,
            got: 2
        })
    ));
    assert_eq!(follower.log_end_offset(), 2);
    // A damaged batch: CRC mismatch, nothing written.
    let mut bad = batches[1].clone();
    let last = bad.len() - 1;
    bad[last] ^= 0xff;
    assert!(matches!(
        follower.append_as_follower(&bad),
        Err(LogError::CrcMismatch { .. })
    ));
    // Only a partial batch: nothing to do.
    assert_eq!(
        follower
            .append_as_follower(&batches[1][..batches[1].len() - 1])
            .expect("partial"),
        None
    );
    assert_eq!(follower.append_as_follower(&[]).expect("empty"), None);
    assert_eq!(follower.log_end_offset(), 2);
    assert_eq!(bases(&read_all(&follower)), vec![0]);
}

#[test]
fn follower_accepts_gaps_and_producer_sequences_as_given() {
    let fd = tempfile::tempdir().expect("tempdir");
    let mut follower = open(fd.path());
    let mut feed = Vec::new();
    // Offsets 0-1, then 10-12, then 40 (a compacted leader): a sequence gap
    // the leader accepted is not refused either.
    for (base, count, seq) in [(0i64, 2, 0), (10, 3, 5), (40, 1, 30)] {
        let mut b = batch(count, b"gap", 1_000, 3, seq);
        memorystreamer_log::batch::assign_offset(&mut b, base, 1);
        feed.extend_from_slice(&b);
    }
    let info = follower
        .append_as_follower(&feed)
        .expect("append")
        .expect("batches");
    assert_eq!((info.base_offset, info.last_offset), (0, 40));
    assert_eq!(follower.log_end_offset(), 41);
    assert_eq!(follower.producers()[0].last_sequence, 30);
    drop(follower);
    let follower = open(fd.path());
    assert_eq!(follower.log_end_offset(), 41);
    assert_eq!(bases(&read_all(&follower)), vec![0, 10, 40]);
    assert_eq!(follower.epoch_entries(), vec![(1, 0)]);
}

#[test]
fn divergent_follower_truncates_to_the_leaders_epoch_end_and_matches() {
    let ld = tempfile::tempdir().expect("tempdir");
    let fd = tempfile::tempdir().expect("tempdir");
    let mut leader = open(ld.path());
    for i in 0..8 {
        lead(&mut leader, plain(2, b"common-prefix", i), 1);
    }
    let mut follower = open(fd.path());
    sync(&leader, &mut follower, 4096);
    // The follower was leader in epoch 2 and wrote records no one else has.
    for i in 0..6 {
        lead(
            &mut follower,
            batch(3, b"divergent", 50 + i, 4, i as i32 * 3),
            2,
        );
    }
    // Meanwhile the real leader of epoch 3 wrote others.
    for i in 0..4 {
        lead(&mut leader, plain(1, b"leader-epoch-3", 100 + i), 3);
    }
    let (epoch, end) = leader
        .end_offset_for_epoch(follower.latest_epoch().expect("epoch"))
        .expect("defined");
    assert_eq!((epoch, end), (1, 16), "epoch 2 is unknown to the leader");
    follower
        .truncate_to(end.min(follower.log_end_offset()))
        .expect("truncate");
    assert_eq!(follower.log_end_offset(), 16);
    assert!(follower.producers().is_empty(), "producer 4 came after 16");
    assert_eq!(follower.epoch_entries(), vec![(1, 0)]);
    sync(&leader, &mut follower, 4096);
    assert_same(&leader, &follower);
    drop(follower);
    assert_same(&leader, &open(fd.path()));
}

#[test]
fn truncation_is_durable_across_reopen() {
    let ld = tempfile::tempdir().expect("tempdir");
    let fd = tempfile::tempdir().expect("tempdir");
    let leader = busy_leader(ld.path());
    let mut follower = open(fd.path());
    sync(&leader, &mut follower, 500);
    let all = read_all(&follower);
    let cut_at = bases(&all)[9];
    follower.truncate_to(cut_at).expect("truncate");
    let kept = read_all(&follower);
    assert_eq!(follower.log_end_offset(), cut_at);
    assert_eq!(*bases(&kept).last().expect("batches"), bases(&all)[8]);
    let producers = sorted_producers(&follower);
    let entries = follower.epoch_entries();
    drop(follower);
    let follower = open(fd.path());
    assert_eq!(follower.log_end_offset(), cut_at, "tail resurrected");
    assert_eq!(read_all(&follower), kept);
    assert_eq!(sorted_producers(&follower), producers);
    assert_eq!(follower.epoch_entries(), entries);
    // No snapshot above the new end remains.
    for entry in fs::read_dir(fd.path()).expect("dir") {
        let name = entry.expect("entry").file_name();
        let name = name.to_string_lossy();
        if let Some(stem) = name.strip_suffix(".snapshot") {
            assert!(stem.parse::<i64>().expect("offset") <= cut_at, "{name}");
        }
    }
    // A snapshot past the end (a crash during a truncation) goes on open.
    drop(follower);
    let stale = fd.path().join(format!("{:020}.snapshot", cut_at + 1_000));
    fs::write(&stale, b"stale").expect("write");
    let follower = open(fd.path());
    assert!(!stale.exists());
    assert_eq!(follower.log_end_offset(), cut_at);
}

#[test]
fn truncate_inside_a_batch_cuts_before_it_and_past_the_end_is_a_no_op() {
    let fd = tempfile::tempdir().expect("tempdir");
    let mut log = open(fd.path());
    lead(&mut log, plain(4, b"r", 1), 0);
    lead(&mut log, plain(4, b"r", 2), 0);
    log.truncate_to(8).expect("no-op");
    log.truncate_to(100).expect("no-op");
    assert_eq!(log.log_end_offset(), 8);
    log.truncate_to(6).expect("truncate");
    assert_eq!(log.log_end_offset(), 4);
    lead(&mut log, plain(1, b"s", 3), 0);
    assert_eq!(bases(&read_all(&log)), vec![0, 4]);
    log.truncate_to(0).expect("truncate");
    assert_eq!(log.log_end_offset(), 0);
    assert!(read_all(&log).is_empty());
    assert_eq!(log.epoch_entries(), Vec::<(i32, i64)>::new());
}

#[test]
fn truncate_fully_starts_an_empty_log_at_the_offset() {
    let ld = tempfile::tempdir().expect("tempdir");
    let fd = tempfile::tempdir().expect("tempdir");
    let leader = busy_leader(ld.path());
    let mut follower = open(fd.path());
    sync(&leader, &mut follower, 4096);
    follower
        .truncate_fully_and_start_at(1_000)
        .expect("restart");
    assert_eq!(
        (follower.log_start_offset(), follower.log_end_offset()),
        (1_000, 1_000)
    );
    assert!(follower.producers().is_empty());
    assert!(follower.epoch_entries().is_empty());
    assert!(follower.aborted_transactions(0, i64::MAX).is_empty());
    assert_eq!(follower.last_stable_offset(), 1_000);
    assert_eq!(follower.segment_count(), 1);
    drop(follower);
    let mut follower = open(fd.path());
    assert_eq!(
        (follower.log_start_offset(), follower.log_end_offset()),
        (1_000, 1_000)
    );
    assert!(follower.epoch_entries().is_empty());
    let mut b = plain(2, b"after", 9);
    memorystreamer_log::batch::assign_offset(&mut b, 1_000, 7);
    follower
        .append_as_follower(&b)
        .expect("append")
        .expect("batch");
    assert_eq!(follower.log_end_offset(), 1_002);
    assert_eq!(follower.epoch_entries(), vec![(7, 1_000)]);
}

#[test]
fn epoch_checkpoint_file_is_kafkas_format_and_rebuilt_when_missing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("leader-epoch-checkpoint");
    let mut log = open(dir.path());
    lead(&mut log, plain(2, b"a", 1), 0);
    lead(&mut log, plain(3, b"b", 2), 0);
    lead(&mut log, plain(1, b"c", 3), 3);
    lead(&mut log, plain(1, b"d", 4), 3);
    lead(&mut log, plain(2, b"e", 5), 8);
    assert_eq!(
        fs::read_to_string(&path).expect("file"),
        "0\n3\n0 0\n3 5\n8 7\n"
    );
    assert_eq!(log.end_offset_for_epoch(0), Some((0, 5)));
    assert_eq!(log.end_offset_for_epoch(2), Some((0, 5)));
    assert_eq!(log.end_offset_for_epoch(3), Some((3, 7)));
    assert_eq!(log.end_offset_for_epoch(8), Some((8, 9)));
    assert_eq!(log.end_offset_for_epoch(9), None);
    assert_eq!(log.end_offset_for_epoch(-1), None);
    drop(log);
    // A log from before the cache: rebuilt from batch headers and stored.
    fs::remove_file(&path).expect("remove");
    let log = open(dir.path());
    assert_eq!(log.epoch_entries(), vec![(0, 0), (3, 5), (8, 7)]);
    assert!(path.exists());
    drop(log);
    // Entries at or past the log end (a crash before the batch landed) go.
    fs::write(&path, "0\n4\n0 0\n3 5\n8 7\n9 9\n").expect("write");
    let log = open(dir.path());
    assert_eq!(log.epoch_entries(), vec![(0, 0), (3, 5), (8, 7)]);
    assert_eq!(
        fs::read_to_string(&path).expect("file"),
        "0\n3\n0 0\n3 5\n8 7\n"
    );
    drop(log);
    // A damaged file is rebuilt too.
    fs::write(&path, "garbage").expect("write");
    assert_eq!(
        open(dir.path()).epoch_entries(),
        vec![(0, 0), (3, 5), (8, 7)]
    );
}

#[test]
fn a_new_leader_epoch_starts_at_the_log_end_before_any_append() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = open(dir.path());
    lead(&mut log, plain(2, b"a", 1), 1);
    log.assign_epoch_start(4);
    assert_eq!(log.epoch_entries(), vec![(1, 0), (4, 2)]);
    assert_eq!(log.end_offset_for_epoch(1), Some((1, 2)));
    assert_eq!(log.end_offset_for_epoch(4), Some((4, 2)));
    lead(&mut log, plain(2, b"b", 2), 4);
    assert_eq!(log.epoch_entries(), vec![(1, 0), (4, 2)]);
    assert_eq!(log.end_offset_for_epoch(4), Some((4, 4)));
}

#[test]
fn truncation_at_a_snapshot_clears_the_transaction_index_of_the_cut_tail() {
    // The follower's segment at 2 starts at a producer snapshot (a roll):
    // truncating to 2 must also empty that segment's `.txnindex`, else the
    // re-fetched ABORT marker is indexed twice and, once a later snapshot
    // covers the segment, reported twice.
    let (ld, fd) = (
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
    );
    let mut leader = open(ld.path());
    lead(&mut leader, plain(2, b"a", 1), 1);
    lead(&mut leader, transactional(batch(2, b"t", 2, 21, 0), 0), 1);
    lead(
        &mut leader,
        marker_batch(21, 0, ControlType::Abort, 0, 3),
        1,
    );
    lead(&mut leader, plain(2, b"b", 4), 1);
    let abort = leader.aborted_transactions(0, i64::MAX);
    assert_eq!(abort.len(), 1);
    assert_eq!((abort[0].first_offset, abort[0].last_offset), (2, 4));
    let all = read_all(&leader);
    let at = |o: i64| {
        Batches::new(&all)
            .map(|b| b.expect("batch"))
            .find(|(h, _)| h.base_offset == o)
            .map_or(all.len(), |(_, r)| r.start)
    };
    let (head, txn_part, tail) = (&all[..at(2)], &all[at(2)..at(5)], &all[at(5)..]);

    let mut follower = open(fd.path());
    follower.append_as_follower(head).expect("append");
    follower.roll().expect("roll: snapshot at 2");
    follower.append_as_follower(txn_part).expect("append");
    follower.truncate_to(2).expect("truncate");
    assert!(follower.aborted_transactions(0, i64::MAX).is_empty());
    assert!(
        memorystreamer_log::txn::read_index(fd.path(), 2)
            .expect("read")
            .is_empty(),
        "the cut marker's entry left the file"
    );
    follower.append_as_follower(txn_part).expect("re-fetch");
    assert_eq!(follower.aborted_transactions(0, i64::MAX), abort);
    assert_eq!(
        memorystreamer_log::txn::read_index(fd.path(), 2).expect("read"),
        abort
    );
    // A snapshot at 5 now covers the segment: its entries come from the file.
    follower.roll().expect("roll: snapshot at 5");
    follower.append_as_follower(tail).expect("append");
    follower.truncate_to(5).expect("truncate");
    assert_eq!(follower.aborted_transactions(0, i64::MAX), abort);
    drop(follower);
    let follower = open(fd.path());
    assert_eq!(
        follower.aborted_transactions(0, i64::MAX),
        abort,
        "after reopen"
    );
}

#[test]
fn truncating_at_the_log_end_drops_an_epoch_that_never_got_a_record() {
    // A replica led at epoch 4 without appending, then became a follower:
    // the leader answers its fetch with the end of epoch 1 = this log end.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = open(dir.path());
    lead(&mut log, plain(2, b"a", 1), 1);
    log.assign_epoch_start(4);
    assert_eq!(log.latest_epoch(), Some(4));
    log.truncate_to(2).expect("truncate at the log end");
    assert_eq!(log.epoch_entries(), vec![(1, 0)]);
    assert_eq!(log.latest_epoch(), Some(1), "the next fetch sends epoch 1");
    assert_eq!(log.log_end_offset(), 2, "no record was cut");
    drop(log);
    assert_eq!(open(dir.path()).epoch_entries(), vec![(1, 0)], "durable");
}

#[test]
fn start_truncation_moves_the_first_epoch_to_the_log_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = open(dir.path());
    for i in 0..4 {
        lead(&mut log, plain(2, b"a", i), 1);
    }
    for i in 0..4 {
        lead(&mut log, plain(2, b"b", i), 2);
    }
    let (start, removed) = log.delete_records_before(5).expect("delete");
    removed.delete_files().expect("files");
    assert_eq!(start, 5);
    assert_eq!(log.epoch_entries(), vec![(1, 5), (2, 8)]);
    let (_, removed) = log.delete_records_before(12).expect("delete");
    removed.delete_files().expect("files");
    assert_eq!(log.epoch_entries(), vec![(2, 12)]);
    drop(log);
    assert_eq!(open(dir.path()).epoch_entries(), vec![(2, 12)]);
}

/// One step of the property test.
#[derive(Debug, Clone)]
enum Op {
    /// The leader appends batches (in a new epoch when `bump`).
    Produce { batches: u8, bump: bool, txn: bool },
    /// The follower fetches at most this many bytes.
    Fetch(u16),
    /// The follower truncates to the start of its n-th batch from the end.
    Truncate(u8),
    /// The follower restarts.
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (1u8..4, any::<bool>(), any::<bool>()).prop_map(|(batches, bump, txn)| Op::Produce {
            batches,
            bump,
            txn
        }),
        (60u16..2_000).prop_map(Op::Fetch),
        (0u8..6).prop_map(Op::Truncate),
        Just(Op::Reopen),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Whatever the order of fetches, truncations and restarts, the
    /// follower equals a model: a fresh log fed the leader's batches below
    /// the follower's log end once.
    #[test]
    fn follower_equals_a_log_fed_once(ops in proptest::collection::vec(op(), 1..40)) {
        let ld = tempfile::tempdir().expect("tempdir");
        let fd = tempfile::tempdir().expect("tempdir");
        let mut leader = open(ld.path());
        let mut follower = open(fd.path());
        let mut epoch = 0;
        let (mut seq, mut txn_seq) = (0, 0);
        let mut txn_open = false;
        for op in ops {
            match op {
                Op::Produce { batches, bump, txn } => {
                    if bump {
                        epoch += 1;
                    }
                    for _ in 0..batches {
                        let b = if txn {
                            txn_open = true;
                            txn_seq += 2;
                            transactional(batch(2, b"txn-record", 10, 21, txn_seq - 2), 0)
                        } else {
                            seq += 2;
                            batch(2, b"idempotent-record", 10, 20, seq - 2)
                        };
                        lead(&mut leader, b, epoch);
                    }
                    if txn_open && !txn {
                        lead(&mut leader, marker_batch(21, 0, ControlType::Abort, 0, 11), epoch);
                        txn_open = false;
                    }
                }
                Op::Fetch(max) => {
                    let from = follower.log_end_offset();
                    if from < leader.log_end_offset() {
                        let slice = leader.read(from).expect("read").expect("data");
                        let bytes = slice.read_batches(usize::from(max), false).expect("read");
                        follower.append_as_follower(&bytes).expect("append");
                    }
                }
                Op::Truncate(back) => {
                    let b = bases(&read_all(&follower));
                    if let Some(at) = b.len().checked_sub(usize::from(back) + 1).map(|i| b[i]) {
                        follower.truncate_to(at).expect("truncate");
                        prop_assert_eq!(follower.log_end_offset(), at);
                    }
                }
                Op::Reopen => {
                    drop(follower);
                    follower = open(fd.path());
                }
            }
            let end = follower.log_end_offset();
            let md = tempfile::tempdir().expect("tempdir");
            let mut model = open(md.path());
            let mut upto = read_all(&leader);
            let keep = Batches::new(&upto)
                .map(|b| b.expect("batch"))
                .take_while(|(h, _)| h.last_offset() < end)
                .last()
                .map_or(0, |(_, r)| r.end);
            upto.truncate(keep);
            model.append_as_follower(&upto).expect("model");
            prop_assert_eq!(model.log_end_offset(), end);
            prop_assert_eq!(read_all(&follower), upto);
            prop_assert_eq!(sorted_producers(&follower), sorted_producers(&model));
            prop_assert_eq!(follower.last_stable_offset(), model.last_stable_offset());
            prop_assert_eq!(
                follower.aborted_transactions(0, i64::MAX),
                model.aborted_transactions(0, i64::MAX)
            );
            prop_assert_eq!(follower.epoch_entries(), model.epoch_entries());
        }
    }
}

#[test]
fn truncation_below_the_start_and_the_cleaner_checkpoint() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = open(dir.path());
    // 101-byte batches of two records: five per 512-byte segment, so
    // segments start at 0, 10, .., 50.
    for i in 0..30 {
        lead(&mut log, plain(2, b"twenty-byte-payload!", i), 1);
    }
    assert_eq!(log.segment_count(), 6);
    // A cleaner checkpoint past the point of truncation is cut back to the
    // active segment, so re-fetched records get compacted.
    fs::write(dir.path().join("cleaner-checkpoint"), "58 -1\n").expect("write");
    log.truncate_to(40).expect("truncate");
    assert_eq!(log.active_segment_base(), 40);
    let (clean, _) = memorystreamer_log::cleaner::read_checkpoint(dir.path());
    assert_eq!(clean, 40);
    // DeleteRecords moved the start inside a segment: truncating below it
    // brings the start down to the new end.
    let (start, removed) = log.delete_records_before(35).expect("delete");
    removed.delete_files().expect("files");
    assert_eq!((start, log.segment_count()), (35, 2));
    log.truncate_to(34).expect("truncate");
    assert_eq!((log.log_start_offset(), log.log_end_offset()), (34, 34));
    // As Kafka: the epoch moved to 35 by DeleteRecords starts past the
    // new end, so it goes (the log is empty).
    assert!(log.epoch_entries().is_empty());
    drop(log);
    let mut log = open(dir.path());
    assert_eq!((log.log_start_offset(), log.log_end_offset()), (34, 34));
    // Below the first segment: the log restarts empty there.
    log.truncate_to(20).expect("truncate");
    assert_eq!((log.log_start_offset(), log.log_end_offset()), (20, 20));
    assert_eq!(log.segment_count(), 1);
    assert!(log.epoch_entries().is_empty());
}
