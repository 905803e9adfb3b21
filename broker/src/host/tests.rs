//! The transaction coordinator with the real broker as its host (one node,
//! a temporary data directory, no network listener): commit with
//! transactional offsets, timeout aborts that fence, and a restart between
//! the commit decision and its markers.

use std::sync::Arc;
use std::time::{Duration, Instant};

use memorystreamer_log::records::build::{batch, Rec};

use crate::broker::{Broker, NewTopic};
use crate::config::{BrokerConfig, LogFormat};
use crate::error::BrokerError;
use crate::group::{CommitEntry, OFFSETS_TOPIC};
use crate::txn::state::{TxnError, TxnState};
use crate::txn::TXN_TOPIC;

async fn open(dir: &std::path::Path) -> Arc<Broker> {
    open_with(dir, &[]).await
}

async fn open_with(dir: &std::path::Path, extra: &[(&str, &str)]) -> Arc<Broker> {
    let mut p = std::collections::BTreeMap::new();
    for (k, v) in extra {
        p.insert(k.to_string(), v.to_string());
    }
    p.insert("log.dirs".to_string(), dir.display().to_string());
    p.insert(
        "listeners".to_string(),
        "PLAINTEXT://127.0.0.1:0".to_string(),
    );
    p.insert(
        "transaction.state.log.num.partitions".to_string(),
        "3".to_string(),
    );
    p.insert("offsets.topic.num.partitions".to_string(), "3".to_string());
    let config = BrokerConfig::from_properties(&p, LogFormat::Text).expect("config");
    Arc::new(Broker::open(config).await.expect("open"))
}

async fn close(broker: Arc<Broker>) {
    broker.quorum().shutdown().await;
    drop(broker);
}

/// A transactional batch of `pid`/`epoch` with `values`.
fn txn_batch(pid: i64, epoch: i16, seq: i32, values: &[&str]) -> Vec<u8> {
    let recs: Vec<Rec> = values
        .iter()
        .map(|v| Rec {
            key: Some(b"k".to_vec()),
            value: Some(v.as_bytes().to_vec()),
            timestamp: 1,
        })
        .collect();
    let mut b = batch(&recs, 0, pid, seq);
    let attrs = i16::from_be_bytes([b[21], b[22]]) | 0x10;
    b[21..23].copy_from_slice(&attrs.to_be_bytes());
    b[51..53].copy_from_slice(&epoch.to_be_bytes());
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    b
}

async fn setup(broker: &Arc<Broker>) {
    broker
        .create_topic(
            &NewTopic {
                name: "t".into(),
                partitions: 1,
                replication_factor: 1,
                assignments: None,
                configs: vec![],
            },
            false,
        )
        .await
        .expect("create topic");
    broker
        .txn_coordinator("tx", "PLAINTEXT")
        .await
        .expect("coordinator");
    assert!(broker.replicas.topic(TXN_TOPIC).is_some());
}

/// InitProducerId for "tx" (with `timeout_ms`), then AddPartitionsToTxn.
async fn begin(broker: &Arc<Broker>, timeout_ms: i32, partitions: &[(String, i32)]) -> (i64, i16) {
    let (pid, epoch) = broker
        .txn()
        .init_producer_id(broker, "tx", timeout_ms, None)
        .await
        .expect("init");
    broker
        .txn()
        .add_partitions(broker, "tx", pid, epoch, partitions)
        .expect("add partitions");
    (pid, epoch)
}

/// TxnOffsetCommit of `entry` for group "g", verified as the handler does.
fn txn_commit(
    broker: &Broker,
    pid: i64,
    epoch: i16,
    entry: CommitEntry,
) -> Vec<Option<crate::error::GroupError>> {
    let token = broker
        .local_partition(OFFSETS_TOPIC, broker.groups.partition_of("g"))
        .expect("offsets partition")
        .begin_verification(pid);
    broker
        .groups
        .txn_commit(broker, "g", pid, epoch, "", None, -1, &[entry], token)
}

/// Polls `done`, running the coordinator's timer work, until it holds.
async fn wait_for(broker: &Arc<Broker>, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        broker.txn().tick(broker);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_writes_markers_and_settles_transactional_offsets_across_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = open(dir.path()).await;
    setup(&broker).await;
    let coordinator = broker.txn();
    let offsets_partition = broker.groups.partition_of("g");
    let (pid, epoch) = begin(
        &broker,
        60_000,
        &[("t".into(), 0), (OFFSETS_TOPIC.into(), offsets_partition)],
    )
    .await;
    let part = broker.local_partition("t", 0).expect("partition");
    part.append(&txn_batch(pid, epoch, 0, &["a", "b"]))
        .expect("append");
    assert_eq!(
        part.last_stable_offset(),
        0,
        "open transaction holds the LSO"
    );
    let entry = CommitEntry {
        topic: "t".into(),
        partition: 0,
        offset: 2,
        leader_epoch: -1,
        metadata: "m".into(),
    };
    assert_eq!(txn_commit(&broker, pid, epoch, entry), vec![None]);
    assert!(broker
        .groups
        .pending_partitions("g")
        .contains(&("t".into(), 0)));
    assert!(broker.groups.fetch_offsets("g", None).is_empty());

    coordinator
        .end_txn(&broker, "tx", pid, epoch, true)
        .await
        .expect("commit");
    assert_eq!(
        coordinator.describe("tx").map(|m| m.state),
        Some(TxnState::CompleteCommit)
    );
    assert_eq!(part.last_stable_offset(), part.high_watermark());
    let read = part.read(0, 1 << 20, true, true).expect("read");
    assert!(!read.records.is_empty() && read.aborted.is_empty());
    assert!(broker.groups.pending_partitions("g").is_empty());
    let committed = broker.groups.fetch_offsets("g", None);
    assert_eq!(committed.len(), 1);
    assert_eq!(committed[0].1.as_ref().map(|v| v.offset), Some(2));
    // A retried EndTxn succeeds; an abort of the finished one does not.
    coordinator
        .end_txn(&broker, "tx", pid, epoch, true)
        .await
        .expect("retried commit");
    assert!(matches!(
        coordinator.end_txn(&broker, "tx", pid, epoch, false).await,
        Err(BrokerError::Txn(TxnError::InvalidTxnState))
    ));
    close(broker).await;

    // Everything is rebuilt from the logs: state, offsets, LSO.
    let broker = open(dir.path()).await;
    assert_eq!(
        broker
            .txn()
            .describe("tx")
            .map(|m| (m.state, m.producer_id)),
        Some((TxnState::CompleteCommit, pid))
    );
    let committed = broker.groups.fetch_offsets("g", None);
    assert_eq!(committed[0].1.as_ref().map(|v| v.offset), Some(2));
    let part = broker.local_partition("t", 0).expect("partition");
    assert_eq!(part.last_stable_offset(), part.high_watermark());
    close(broker).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_between_commit_decision_and_markers_finishes_the_commit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = open(dir.path()).await;
    setup(&broker).await;
    let coordinator = broker.txn();
    let (pid, epoch) = begin(&broker, 60_000, &[("t".into(), 0)]).await;
    let part = broker.local_partition("t", 0).expect("partition");
    part.append(&txn_batch(pid, epoch, 0, &["x"]))
        .expect("append");
    // The crash: PrepareCommit is durable, no marker was written.
    let mut meta = coordinator.describe("tx").expect("known");
    meta.state = TxnState::PrepareCommit;
    coordinator.persist(&broker, &meta).expect("persist");
    close(broker).await;

    let broker = open(dir.path()).await;
    assert_eq!(
        broker.txn().describe("tx").map(|m| m.state),
        Some(TxnState::PrepareCommit)
    );
    let part = broker.local_partition("t", 0).expect("partition");
    assert_eq!(part.last_stable_offset(), 0, "still undecided in the log");
    // The producer must wait while markers are pending.
    assert!(matches!(
        broker
            .txn()
            .add_partitions(&broker, "tx", pid, epoch, &[("t".into(), 0)]),
        Err(BrokerError::Txn(TxnError::ConcurrentTransactions))
    ));
    let b = Arc::clone(&broker);
    wait_for(&broker, "the commit to complete", move || {
        b.txn().describe("tx").map(|m| m.state) == Some(TxnState::CompleteCommit)
    })
    .await;
    assert_eq!(part.last_stable_offset(), part.high_watermark());
    let read = part.read(0, 1 << 20, true, true).expect("read");
    assert!(!read.records.is_empty(), "committed record visible");
    assert!(read.aborted.is_empty());
    close(broker).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_transactional_ids_expire_durably() {
    let dir = tempfile::tempdir().expect("tempdir");
    let props = [("transactional.id.expiration.ms", "1")];
    let broker = open_with(dir.path(), &props).await;
    setup(&broker).await;
    let (pid, _) = broker
        .txn()
        .init_producer_id(&broker, "tx", 60_000, None)
        .await
        .expect("init");
    let b = Arc::clone(&broker);
    wait_for(&broker, "the id to expire", move || {
        b.txn().describe("tx").is_none()
    })
    .await;
    close(broker).await;
    let broker = open_with(dir.path(), &props).await;
    assert!(broker.txn().describe("tx").is_none(), "tombstone replayed");
    let (again, epoch) = broker
        .txn()
        .init_producer_id(&broker, "tx", 60_000, None)
        .await
        .expect("init again");
    assert_ne!(again, pid, "a forgotten id gets a new producer id");
    assert_eq!(epoch, 0);
    close(broker).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timed_out_transaction_is_aborted_and_its_producer_fenced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = open(dir.path()).await;
    setup(&broker).await;
    let coordinator = broker.txn();
    assert!(matches!(
        coordinator
            .init_producer_id(&broker, "tx", 900_001, None)
            .await,
        Err(BrokerError::Txn(TxnError::InvalidTransactionTimeout))
    ));
    let (pid, epoch) = begin(&broker, 1, &[("t".into(), 0)]).await;
    let part = broker.local_partition("t", 0).expect("partition");
    part.append(&txn_batch(pid, epoch, 0, &["doomed"]))
        .expect("append");
    let b = Arc::clone(&broker);
    wait_for(&broker, "the timeout abort", move || {
        b.txn().describe("tx").map(|m| m.state) == Some(TxnState::CompleteAbort)
    })
    .await;
    let meta = coordinator.describe("tx").expect("known");
    assert_eq!(meta.epoch, epoch + 1, "the abort bumped the epoch");
    assert_eq!(part.last_stable_offset(), part.high_watermark());
    let read = part.read(0, 1 << 20, true, true).expect("read");
    assert_eq!(read.aborted.len(), 1, "the data is reported aborted");
    assert_eq!(read.aborted[0].producer_id, pid);
    // The old instance is fenced at the coordinator and at the partition.
    assert!(matches!(
        coordinator.end_txn(&broker, "tx", pid, epoch, true).await,
        Err(BrokerError::Txn(TxnError::ProducerFenced))
    ));
    assert!(part.append(&txn_batch(pid, epoch, 1, &["zombie"])).is_err());
    // ListTransactions / DescribeTransactions see it.
    let listed = coordinator.list(&["CompleteAbort".into()], &[], -1);
    assert_eq!(
        listed,
        vec![("tx".to_string(), pid, TxnState::CompleteAbort)]
    );
    close(broker).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_later_plain_commit_wins_over_a_pending_transactional_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = open(dir.path()).await;
    setup(&broker).await;
    let coordinator = broker.txn();
    let offsets_partition = broker.groups.partition_of("g");
    let (pid, epoch) = begin(
        &broker,
        60_000,
        &[(OFFSETS_TOPIC.into(), offsets_partition)],
    )
    .await;
    let at = |offset: i64| CommitEntry {
        topic: "t".into(),
        partition: 0,
        offset,
        leader_epoch: -1,
        metadata: String::new(),
    };
    assert_eq!(txn_commit(&broker, pid, epoch, at(5)), vec![None]);
    let r = broker.groups.commit(&broker, "g", "", None, -1, &[at(9)]);
    assert_eq!(r, vec![None]);
    coordinator
        .end_txn(&broker, "tx", pid, epoch, true)
        .await
        .expect("commit");
    let offset = |b: &Broker| {
        b.groups.fetch_offsets("g", None)[0]
            .1
            .as_ref()
            .map(|v| v.offset)
    };
    assert_eq!(offset(&broker), Some(9));
    close(broker).await;
    let broker = open(dir.path()).await;
    assert_eq!(offset(&broker), Some(9), "replay agrees");
    close(broker).await;
}
