//! A partition over a real log in a temporary directory: role changes, the
//! epoch stamped into batches, and the high watermark an append publishes.

use kafka_protocol::ResponseError;
use memorystreamer_log::batch::Batches;
use memorystreamer_log::records::build::{batch, Rec};
use memorystreamer_log::{Log, LogConfig};

use super::{AppendOutcome, Partition, PartitionSettings, Role};
use crate::error::BrokerError;
use crate::metrics::TopicMetrics;

fn open(dir: &std::path::Path, epoch: i32) -> Partition {
    let log = Log::open(dir, LogConfig::default()).expect("open log");
    Partition::new(
        "t".to_string(),
        uuid::Uuid::nil(),
        0,
        epoch,
        log,
        PartitionSettings {
            max_message_bytes: 1 << 20,
            compacted: false,
            log_append_time: false,
            compression: None,
            min_insync_replicas: 1,
        },
        TopicMetrics::new("t", false),
    )
}

fn records(values: &[&str]) -> Vec<u8> {
    let recs: Vec<Rec> = values
        .iter()
        .map(|v| Rec {
            key: Some(b"k".to_vec()),
            value: Some(v.as_bytes().to_vec()),
            timestamp: 1_000,
        })
        .collect();
    batch(&recs, 0, -1, -1)
}

/// (base offset, partition leader epoch) of every batch in the partition.
fn stored(p: &Partition) -> Vec<(i64, i32)> {
    let read = p.read(0, 1 << 20, true, false).expect("read");
    Batches::new(&read.records)
        .map(|b| {
            let (h, _) = b.expect("batch");
            (h.base_offset, h.partition_leader_epoch)
        })
        .collect()
}

#[test]
fn a_new_partition_is_a_leader_whose_high_watermark_follows_every_append() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = open(dir.path(), 5);
    assert_eq!(p.role(), Role::Leader);
    assert_eq!(p.leader_epoch(), 5);
    assert_eq!(p.high_watermark(), 0);
    for (i, n) in [2usize, 1, 3].into_iter().enumerate() {
        let values: Vec<String> = (0..n).map(|j| format!("v{i}-{j}")).collect();
        let values: Vec<&str> = values.iter().map(String::as_str).collect();
        let Ok(AppendOutcome::Appended(info, _)) = p.append(&records(&values)) else {
            panic!("append {i} failed");
        };
        assert_eq!(p.high_watermark(), info.last_offset + 1);
        assert_eq!(p.replica_state().log_end_offset(), info.last_offset + 1);
        assert_eq!(p.last_stable_offset(), p.high_watermark());
    }
    assert_eq!(p.high_watermark(), 6);
    assert_eq!(stored(&p), vec![(0, 5), (2, 5), (3, 5)]);
}

#[test]
fn become_leader_with_a_newer_epoch_stamps_it_into_the_next_batches() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = open(dir.path(), 0);
    p.append(&records(&["a"])).expect("append at epoch 0");
    p.become_leader(3, &[], &[]).expect("newer epoch");
    assert_eq!(p.leader_epoch(), 3);
    p.append(&records(&["b"])).expect("append at epoch 3");
    assert_eq!(stored(&p), vec![(0, 0), (1, 3)]);
    assert_eq!(p.high_watermark(), 2);
}

#[test]
fn a_stale_epoch_is_refused_with_fenced_leader_epoch_and_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = open(dir.path(), 4);
    for r in [p.become_leader(3, &[], &[]), p.become_follower(2, 9)] {
        let e = r.expect_err("stale epoch");
        assert!(matches!(
            e,
            BrokerError::FencedLeaderEpoch {
                current: 4,
                requested: _
            }
        ));
        assert_eq!(e.response_error(), ResponseError::FencedLeaderEpoch);
    }
    assert_eq!(p.role(), Role::Leader);
    assert_eq!(p.leader_epoch(), 4);
    p.append(&records(&["a"])).expect("still the leader");
    assert_eq!(stored(&p), vec![(0, 4)]);
}

#[test]
fn a_follower_refuses_produce_and_markers_with_not_leader_or_follower() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = open(dir.path(), 1);
    p.append(&records(&["a", "b"])).expect("append as leader");
    p.become_follower(2, 7).expect("follower");
    assert_eq!(p.role(), Role::Follower { leader: 7 });
    assert_eq!(p.leader_epoch(), 2);
    let e = p.append(&records(&["c"])).expect_err("follower refuses");
    assert!(matches!(e, BrokerError::NotLeaderOrFollower));
    assert_eq!(e.response_error(), ResponseError::NotLeaderOrFollower);
    let e = p
        .append_control(&records(&["marker"]))
        .expect_err("follower refuses markers");
    assert!(matches!(e, BrokerError::NotLeaderOrFollower));
    let e = p
        .delete_records(1)
        .expect_err("follower refuses DeleteRecords");
    assert!(matches!(e, BrokerError::NotLeaderOrFollower));
    assert_eq!(stored(&p), vec![(0, 1)], "nothing was written");
    assert_eq!(p.high_watermark(), 2);
    assert!(p.high_watermark() <= p.replica_state().log_end_offset());
    // Leader again with a newer epoch: produce works and is stamped with it.
    p.become_leader(3, &[], &[]).expect("leader again");
    p.append(&records(&["d"])).expect("append as leader");
    assert_eq!(stored(&p), vec![(0, 1), (2, 3)]);
    assert_eq!(p.high_watermark(), 3);
}

#[test]
fn with_a_follower_in_the_isr_the_high_watermark_waits_for_its_fetch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = open(dir.path(), 0);
    p.append(&records(&["a"])).expect("append");
    p.become_leader(1, &[2], &[])
        .expect("leader with a follower");
    p.append(&records(&["b", "c"])).expect("append");
    assert_eq!(p.replica_state().log_end_offset(), 3);
    assert_eq!(p.high_watermark(), 1, "the follower has not fetched yet");
    let read = p.read(0, 1 << 20, true, false).expect("read");
    assert_eq!(read.high_watermark, 1);
    assert_eq!(
        Batches::new(&read.records).count(),
        1,
        "consumers read below the high watermark only"
    );
}

#[test]
fn with_flush_messages_the_high_watermark_moves_once_the_fsync_is_done() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = Log::open(
        dir.path(),
        LogConfig {
            flush_messages: Some(2),
            ..LogConfig::default()
        },
    )
    .expect("open log");
    let p = Partition::new(
        "t".to_string(),
        uuid::Uuid::nil(),
        0,
        0,
        log,
        PartitionSettings {
            max_message_bytes: 1 << 20,
            compacted: false,
            log_append_time: false,
            compression: None,
            min_insync_replicas: 1,
        },
        TopicMetrics::new("t", false),
    );
    // One record: below flush.messages, published at once, not yet synced.
    p.append(&records(&["a"])).expect("append");
    assert_eq!(p.high_watermark(), 1);
    assert_eq!(p.lock().unflushed_messages(), 1);
    // The second reaches flush.messages: synced before append returns, and
    // the high watermark covers both.
    p.append(&records(&["b"])).expect("append");
    assert_eq!(p.lock().unflushed_messages(), 0);
    assert_eq!(p.high_watermark(), 2);
    assert_eq!(p.last_stable_offset(), 2);
    // A flush with nothing new changes nothing.
    p.flush().expect("flush");
    assert_eq!(p.high_watermark(), 2);
}
