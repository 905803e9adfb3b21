//! The transaction coordinator on the in-memory host (real partitions in a
//! temporary directory, producer ids from a counter, markers written
//! straight into the partitions): a committed transaction with an offset
//! commit sends its markers and replays after a restart; refusals carry
//! Kafka's codes. The same coordinator on the real broker is tested in
//! `crate::host`.

use std::path::Path;
use std::sync::Arc;

use super::state::{TxnError, TxnState};
use super::{TxnCoordinator, TXN_TOPIC};
use crate::coordinator::memory::{MemoryHost, SentMarker};
use crate::coordinator::OFFSETS_TOPIC;
use crate::error::BrokerError;
use crate::group::protocol::GroupConfig;
use crate::group::{CommitEntry, GroupCoordinator};

const PARTITIONS: i32 = 3;

fn open(dir: &Path) -> (Arc<MemoryHost>, TxnCoordinator) {
    let host = MemoryHost::open(
        dir,
        &[
            (OFFSETS_TOPIC, PARTITIONS),
            (TXN_TOPIC, PARTITIONS),
            ("t", 1),
        ],
        GroupCoordinator::new(GroupConfig::default(), PARTITIONS),
    )
    .expect("open host");
    host.groups.load(&host).expect("load groups");
    let txn = TxnCoordinator::new(PARTITIONS, 900_000, 604_800_000);
    txn.load(&host).expect("load transactions");
    (host, txn)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_sends_markers_settles_offsets_and_replays() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (host, txn) = open(dir.path());
    let (pid, epoch) = txn
        .init_producer_id(&host, "tx", 60_000, None)
        .await
        .expect("init");
    assert_eq!((pid, epoch), (1000, 0), "the id comes from the host");
    let offsets = (OFFSETS_TOPIC.to_string(), host.groups.partition_of("g"));
    txn.add_partitions(&host, "tx", pid, epoch, &[("t".into(), 0), offsets.clone()])
        .expect("add partitions");
    assert_eq!(txn.describe("tx").map(|m| m.state), Some(TxnState::Ongoing));
    let token = host
        .partition(&offsets.0, offsets.1)
        .expect("offsets partition")
        .begin_verification(pid);
    let entry = CommitEntry {
        topic: "t".into(),
        partition: 0,
        offset: 17,
        leader_epoch: -1,
        metadata: String::new(),
    };
    assert_eq!(
        host.groups
            .txn_commit(&host, "g", pid, epoch, "", None, -1, &[entry], token),
        vec![None]
    );
    assert!(
        host.groups.fetch_offsets("g", None).is_empty(),
        "pending until the marker"
    );

    txn.end_txn(&host, "tx", pid, epoch, true)
        .await
        .expect("end");
    assert_eq!(
        txn.describe("tx").map(|m| m.state),
        Some(TxnState::CompleteCommit)
    );
    assert_eq!(
        host.sent_markers(),
        vec![SentMarker {
            producer_id: pid,
            epoch,
            commit: true,
            partitions: [("t".to_string(), 0), offsets.clone()].into(),
        }]
    );
    let committed = host.groups.fetch_offsets("g", None);
    assert_eq!(committed.len(), 1);
    assert_eq!(committed[0].1.as_ref().map(|v| v.offset), Some(17));
    let t0 = host.partition("t", 0).expect("t-0");
    assert_eq!(t0.high_watermark(), 1, "the marker is the only record");
    assert_eq!(t0.last_stable_offset(), t0.high_watermark());
    drop((host, txn));

    let (host, txn) = open(dir.path());
    assert_eq!(
        txn.describe("tx")
            .map(|m| (m.producer_id, m.epoch, m.state)),
        Some((pid, epoch, TxnState::CompleteCommit))
    );
    let committed = host.groups.fetch_offsets("g", None);
    assert_eq!(committed[0].1.as_ref().map(|v| v.offset), Some(17));
    // Replayed state fences: the next instance bumps the epoch.
    let again = txn
        .init_producer_id(&host, "tx", 60_000, None)
        .await
        .expect("init again");
    assert_eq!(again, (pid, epoch + 1));
    assert!(matches!(
        txn.end_txn(&host, "tx", pid, epoch, false).await,
        Err(BrokerError::Txn(TxnError::ProducerFenced))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transactional_id_whose_state_partition_is_elsewhere_is_not_coordinated_here() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (host, txn) = open(dir.path());
    host.release(TXN_TOPIC, txn.partition_of("tx"));
    let err = txn
        .init_producer_id(&host, "tx", 60_000, None)
        .await
        .expect_err("not the coordinator");
    assert!(matches!(err, BrokerError::Txn(TxnError::NotCoordinator)));
    assert_eq!(err.code(), 16, "NOT_COORDINATOR");
    assert!(host.sent_markers().is_empty());
}
